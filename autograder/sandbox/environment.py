"""The Python environment student code starts in: the standard library (without ``ctypes`` and the
other ways into native code) and NumPy, nothing else.

At the bubblewrap level this is the sandbox's whole file system, mounted read-only: the system's
shared libraries (with every Python installation under ``/usr`` hidden), the interpreter, the
standard library minus :data:`EXCLUDED_STDLIB` and :data:`EXCLUDED_EXTENSIONS`, NumPy, and the
grader's in-sandbox modules. SciPy, torch, TensorFlow, Keras... are not on it, so no spelling can
import them; stand-ins of those names (:mod:`autograder.sandbox.standins`) import and raise a
clear error when used. At the rlimits level the same ``sys.path`` is used, but the host's files
stay readable (see ``python -m autograder doctor``).
"""

from __future__ import annotations

import functools
import glob
import hashlib
import io
import os
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.sandbox import ready_made
from autograder.sandbox.removal import EXCLUDED_EXTENSIONS

#: Where the grader's own in-sandbox modules and NumPy appear inside bubblewrap.
SANDBOX_ROOT = "/grader"
SANDBOX_SITE = "/grader/site"
#: Standard-library entries (top level) the sandbox does not have: foreign-function interfaces,
#: the test suite (which holds C test helpers), GUI and packaging tools, any site-packages.
EXCLUDED_STDLIB = frozenset({
    "ctypes", "site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "turtle.py",
    "ensurepip", "lib2to3", "venv", "distutils", "pydoc_data", "config-3.11-x86_64-linux-gnu",
})
#: Packages of the grading environment that the sandbox has (NumPy and what its wheel bundles).
PACKAGES = ("numpy", "numpy.libs")


@dataclass(frozen=True)
class Interpreter:
    """The interpreter the sandbox runs, and the files it needs."""

    executable: str  # the real binary (not a virtual environment's symlink)
    libraries: tuple[str, ...]  # libpython, when the interpreter is linked against it
    stdlib: str  # the pure-Python standard library
    dynload: str  # compiled standard-library modules
    site: str  # the site-packages folder holding NumPy

    def stdlib_entries(self) -> list[str]:
        return [os.path.join(self.stdlib, name) for name in sorted(os.listdir(self.stdlib))
                if name not in EXCLUDED_STDLIB and os.path.join(self.stdlib, name) != self.dynload]

    def extensions(self) -> list[str]:
        """The compiled standard-library modules the sandbox keeps (file paths)."""
        if not os.path.isdir(self.dynload):
            return []
        return [os.path.join(self.dynload, name) for name in sorted(os.listdir(self.dynload))
                if not name.startswith(EXCLUDED_EXTENSIONS)]

    def packages(self) -> list[tuple[str, str]]:
        """(host path, name) of each package the sandbox has."""
        return [(os.path.join(self.site, name), name) for name in PACKAGES
                if os.path.exists(os.path.join(self.site, name))]


@functools.lru_cache(maxsize=1)
def interpreter() -> Interpreter:
    import numpy  # noqa: PLC0415 - only where NumPy is, not NumPy itself

    executable = os.path.realpath(sys.executable)
    base = sys.base_prefix
    libdir = sysconfig.get_config_var("LIBDIR") or os.path.join(base, "lib")
    libraries = tuple(sorted(path for path in glob.glob(os.path.join(libdir, "libpython*"))
                             if os.path.isfile(path)))
    stdlib = os.path.dirname(os.__file__)
    dynload = os.path.join(stdlib, "lib-dynload")
    if not os.path.isdir(dynload):  # e.g. Debian puts it elsewhere
        dynload = os.path.dirname(getattr(sys.modules.get("select"), "__file__", "") or dynload)
    site = str(Path(numpy.__file__).resolve().parent.parent)
    return Interpreter(executable, libraries, stdlib, dynload, site)


#: One trap instruction per machine (ELF e_machine): x86-64 ``int3``, AArch64 ``brk #0``.
TRAPS = {"EM_X86_64": b"\xcc", "EM_AARCH64": b"\x00\x00\x20\xd4"}


class SealError(RuntimeError):
    """NumPy's compiled core could not be copied with its convolution code trapped."""


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "conv-autograder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    except OSError:
        return Path(tempfile.gettempdir()) / f"conv-autograder-{os.getuid()}"


def trap_functions(data: bytearray, symbols: tuple[str, ...]) -> list[str]:
    """Overwrite the machine code of `symbols` in an ELF shared object (its bytes) with trap
    instructions; returns the symbols trapped. Raises SealError when a symbol is missing, when
    another function shares its bytes, or for a machine without a known trap."""
    from elftools.elf.elffile import ELFFile  # noqa: PLC0415 - only when a copy is made

    elf = ELFFile(io.BytesIO(bytes(data)))
    trap = TRAPS.get(elf["e_machine"])
    table = elf.get_section_by_name(".symtab") or elf.get_section_by_name(".dynsym")
    if trap is None or table is None:
        raise SealError(f"no trap instruction or no symbol table for {elf['e_machine']}")
    functions = [sym for sym in table.iter_symbols() if sym["st_info"]["type"] == "STT_FUNC" and sym["st_size"]]
    wanted = {sym.name: sym for sym in functions if sym.name in symbols}
    missing = sorted(set(symbols) - set(wanted))
    if missing:
        raise SealError(f"NumPy's core has no symbol {', '.join(missing)}")
    spans = [(sym["st_value"], sym["st_value"] + sym["st_size"]) for sym in wanted.values()]
    for sym in functions:  # nothing else may live in the bytes we overwrite (identical-code folding)
        if sym.name not in wanted and any(lo <= sym["st_value"] < hi for lo, hi in spans):
            raise SealError(f"{sym.name} shares code with a convolution routine")
    for sym in wanted.values():
        section = elf.get_section(sym["st_shndx"])
        start = sym["st_value"] - section["sh_addr"] + section["sh_offset"]
        size = sym["st_size"] - sym["st_size"] % len(trap)
        data[start:start + size] = trap * (size // len(trap))
    return sorted(wanted)


def sealed_numpy_core() -> tuple[str, str] | None:
    """(NumPy's compiled core, a copy of it whose convolution code is trap instructions), made
    once per NumPy build and cached; None when no such copy can be made here (doctor says so)."""
    core = sys.modules.get(ready_made.NUMPY_COMPILED_MODULE)
    if core is None:
        import importlib  # noqa: PLC0415

        core = importlib.import_module(ready_made.NUMPY_COMPILED_MODULE)
    original = os.path.realpath(core.__file__)
    return _sealed_copy(original)


@functools.lru_cache(maxsize=4)
def _sealed_copy(original: str) -> tuple[str, str] | None:
    facts = os.stat(original)
    key = hashlib.sha256(repr((original, facts.st_size, facts.st_mtime_ns, ready_made.NUMPY_COMPILED_CODE,
                               TRAPS)).encode()).hexdigest()[:20]
    target = _cache_dir() / f"numpy-core-{key}" / os.path.basename(original)
    if target.is_file():
        return original, str(target)
    try:
        data = bytearray(Path(original).read_bytes())
        trap_functions(data, ready_made.NUMPY_COMPILED_CODE)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{os.getpid()}.part")
        partial.write_bytes(data)
        os.chmod(partial, 0o555)
        os.replace(partial, target)
    except (OSError, SealError, ImportError):
        return None
    return original, str(target)


def hidden_pythons() -> list[str]:
    """Folders of other Python installations under /usr that the sandbox must not see (Debian's
    dist-packages holds ``_cffi_backend``, a foreign-function interface for the same Python ABI)."""
    patterns = ("/usr/lib/python*", "/usr/local/lib/python*", "/usr/lib/pypy*", "/usr/share/python*",
                "/usr/lib/*/python3*")
    return sorted({path for pattern in patterns for path in glob.glob(pattern) if os.path.isdir(path)})


def _parents(path: str, made: set[str]) -> list[str]:
    """bwrap arguments creating the traversable (0755) parent folders of `path`."""
    args: list[str] = []
    parts = Path(path).parts
    for depth in range(2, len(parts)):
        parent = str(Path(*parts[:depth]))
        if parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def library_dirs() -> list[str]:
    """The folders of the shared libraries the interpreter, its compiled modules and NumPy load: the
    system's multiarch library folder(s) and whatever this process has mapped (no /usr/bin, no
    /usr/share, no other software's bundled files)."""
    found: set[str] = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rsplit(None, 1)[-1]
                if path.startswith("/") and ".so" in os.path.basename(path):
                    found.add(os.path.dirname(os.path.realpath(path)))
    except OSError:
        pass
    multiarch = sysconfig.get_config_var("MULTIARCH")
    candidates = [f"{base}/{multiarch}" for base in ("/lib", "/usr/lib") if multiarch] + ["/lib64", "/usr/lib64"]
    found |= {os.path.realpath(path) for path in candidates if os.path.isdir(path)}
    python = interpreter()
    own = (python.stdlib, python.site, os.path.dirname(python.executable), *map(os.path.dirname, python.libraries))
    return sorted(path for path in found
                  if not any(path == top or path.startswith(top + os.sep) for top in own))


def bwrap_mounts(inside_modules: list[tuple[str, str]]) -> list[str]:
    """The bubblewrap arguments that make the sandbox's file system (read-only): the shared
    libraries, the interpreter, the kept standard library, NumPy and `inside_modules` ((host path,
    sandbox path) of the grader's in-sandbox modules), nothing else."""
    python = interpreter()
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
    libraries = library_dirs()
    made: set[str] = set()
    for folder in libraries:
        args += [*_parents(folder, made), "--ro-bind", folder, folder]
    for folder in hidden_pythons():
        if any(folder.startswith(top + os.sep) for top in libraries):
            args += ["--tmpfs", folder]
    for extra in ("/etc/ld.so.cache", "/usr/share/zoneinfo"):
        if os.path.exists(extra):
            args += [*_parents(extra, made), "--ro-bind", extra, extra]
    for path in (python.executable, *python.libraries):
        args += _parents(path, made)
        args += ["--ro-bind", path, path]
    args += _parents(python.stdlib + "/x", made)
    args += ["--perms", "0755", "--dir", python.stdlib]
    for path in python.stdlib_entries():
        args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", python.dynload]
    for path in python.extensions():
        args += ["--ro-bind", path, path]
    args += ["--perms", "0755", "--dir", SANDBOX_ROOT, "--perms", "0755", "--dir", SANDBOX_SITE]
    for host, name in python.packages():
        args += ["--ro-bind", host, f"{SANDBOX_SITE}/{name}"]
    sealed = sealed_numpy_core()
    if sealed is not None:
        original, copy = sealed
        inside = f"{SANDBOX_SITE}/numpy/" + os.path.relpath(original, os.path.join(python.site, "numpy"))
        args += ["--ro-bind", copy, inside]
    for host, inside in inside_modules:
        args += ["--ro-bind", host, inside]
    return args


def numpy_only_site(folder: str) -> str:
    """At the rlimits level: a folder holding only NumPy, as symbolic links (its compiled core
    linked to the sealed copy), for ``sys.path``."""
    site = os.path.join(folder, "site")
    os.makedirs(site, exist_ok=True)
    python = interpreter()
    sealed = sealed_numpy_core()
    for host, name in python.packages():
        if name != "numpy" or sealed is None:
            os.symlink(host, os.path.join(site, name))
            continue
        original, copy = sealed
        # a tree of links down to the folder of the core file, the core itself linked to the copy
        relative = os.path.relpath(original, host).split(os.sep)
        source, here = host, os.path.join(site, name)
        for part in relative[:-1]:
            os.makedirs(here)
            for entry in os.listdir(source):
                if entry != part:
                    os.symlink(os.path.join(source, entry), os.path.join(here, entry))
            source, here = os.path.join(source, part), os.path.join(here, part)
        os.makedirs(here)
        for entry in os.listdir(source):
            target = copy if entry == relative[-1] else os.path.join(source, entry)
            os.symlink(target, os.path.join(here, entry))
    return site


def sandbox_path(level: str, package_root: str, site: str | None = None) -> list[str]:
    """``sys.path`` of the sandbox's interpreter (started with ``-I -S``: no site-packages). At the
    rlimits level `site` is a :func:`numpy_only_site`."""
    python = interpreter()
    if level == "bubblewrap":
        return [python.stdlib, python.dynload, SANDBOX_SITE, SANDBOX_ROOT]
    return [python.stdlib, python.dynload, site or python.site, package_root]
