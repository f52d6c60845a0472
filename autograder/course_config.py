"""The course's nbgrader_config.py, read in one place: the settings the grader reads itself
(`load`, `option`) and the same configuration handed to nbgrader's classes (`for_nbgrader`: its
API, its late penalty plugin, its preprocessors).

The file is run as traitlets runs it (`c = get_config()`, then `c.Section.option = value`), with a
stand-in config that only records assignments, so that reading a setting imports no traitlets (the
hidden cells of `nbgrader autograde` read one in every kernel). Should the file do more than that
(load a subconfig, read options back in ways the stand-in cannot answer), traitlets' own loader
reads it.
"""

from __future__ import annotations

from pathlib import Path

FILE = "nbgrader_config.py"


class _Section(dict):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self:
            self[name] = _Section() if name[:1].isupper() else None
        return self[name]

    def __setattr__(self, name, value):
        self[name] = value


def _recorded(root: Path) -> dict | None:
    """Section -> option -> value as the file sets them ({} without a file), None when the
    stand-in cannot run the file."""
    path = root / FILE
    if not path.is_file():
        return {}
    config = _Section()
    try:
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        exec(code, {"get_config": lambda: config, "__file__": str(path), "__name__": "__main__"})  # noqa: S102
    except Exception:  # noqa: BLE001 - not a plain config file: traitlets reads it
        return None
    return {name: dict(section) for name, section in config.items() if isinstance(section, dict)}


def _by_traitlets(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader(FILE, path=str(root)).load_config()


def load(root: Path) -> dict:
    """Section -> option -> value, as set in the course's nbgrader_config.py ({} without one)."""
    settings = _recorded(root)
    if settings is None:
        return {name: dict(section) for name, section in _by_traitlets(root).items() if hasattr(section, "items")}
    return settings


def option(settings: dict, sections: tuple[str, ...], name: str, default):
    """The value of `name` in the last of `sections` that sets it (a subclass's section after its
    parents', as traitlets resolves a configurable's options), else `default`."""
    value = default
    for section in sections:
        if name in settings.get(section, {}):
            value = settings[section][name]
    return value


def for_nbgrader(root: Path):
    """The course's configuration as a traitlets Config, for nbgrader's classes."""
    settings = _recorded(root)
    if settings is None:
        return _by_traitlets(root)
    from traitlets.config import Config

    return Config(settings)
