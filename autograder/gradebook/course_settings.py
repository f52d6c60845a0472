"""The few settings of nbgrader_config.py that recording reads, without traitlets.

The file is run as traitlets runs it (`c = get_config()`, then `c.Section.option = value`), with a
stand-in config that only records assignments. Should the file do more than that (load a
subconfig, read options back in ways the stand-in cannot answer), traitlets' own loader reads it.
"""

from __future__ import annotations

from pathlib import Path


class _Section(dict):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in self:
            self[name] = _Section() if name[:1].isupper() else None
        return self[name]

    def __setattr__(self, name, value):
        self[name] = value


def load(root: Path) -> dict:
    """Section -> option -> value, as set in the course's nbgrader_config.py ({} without one)."""
    path = root / "nbgrader_config.py"
    if not path.is_file():
        return {}
    config = _Section()
    try:
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        exec(code, {"get_config": lambda: config, "__file__": str(path), "__name__": "__main__"})  # noqa: S102
    except Exception:  # noqa: BLE001 - not a plain config file: let traitlets read it
        from autograder.gradebook.nbgrader_side import course_config

        return {name: dict(section) for name, section in course_config(root).items() if hasattr(section, "items")}
    return {name: dict(section) for name, section in config.items() if isinstance(section, dict)}


def option(settings: dict, sections: tuple[str, ...], name: str, default):
    """The value of `name` in the last of `sections` that sets it (a subclass's section after its
    parents', as traitlets resolves a configurable's options), else `default`."""
    value = default
    for section in sections:
        if name in settings.get(section, {}):
            value = settings[section][name]
    return value
