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
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

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
    for host, inside in inside_modules:
        args += ["--ro-bind", host, inside]
    return args


def numpy_only_site(folder: str) -> str:
    """At the rlimits level: a folder holding only NumPy (symbolic links), for ``sys.path``."""
    site = os.path.join(folder, "site")
    os.makedirs(site, exist_ok=True)
    for host, name in interpreter().packages():
        os.symlink(host, os.path.join(site, name))
    return site


def sandbox_path(level: str, package_root: str, site: str | None = None) -> list[str]:
    """``sys.path`` of the sandbox's interpreter (started with ``-I -S``: no site-packages). At the
    rlimits level `site` is a :func:`numpy_only_site`."""
    python = interpreter()
    if level == "bubblewrap":
        return [python.stdlib, python.dynload, SANDBOX_SITE, SANDBOX_ROOT]
    return [python.stdlib, python.dynload, site or python.site, package_root]
