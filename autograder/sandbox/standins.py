"""Stand-ins for the libraries that are not in the sandbox (SciPy, torch, TensorFlow, Keras...):
importing them works, so an honest cell that imports SciPy to compare still runs; using anything
from them raises :class:`DisabledLibraryError`, which says so. Standard library only.

The stand-ins are a courtesy, not the wall: the real libraries are not on the sandbox's file
system (:mod:`autograder.sandbox.environment`), so removing the stand-ins gains nothing.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
import types

from autograder.sandbox.ready_made import ABSENT_LIBRARIES


class DisabledLibraryError(RuntimeError):
    """Raised when student code uses scipy, torch, tensorflow... inside the sandbox."""


class _Disabled:
    """Whatever a stand-in hands out: calling it (or anything reached from it) raises."""

    def __init__(self, path):
        self._path = path

    def __call__(self, *args, **kwargs):
        library = self._path.split(".")[0]
        raise DisabledLibraryError(f"{self._path}: {library} does no work inside the grader's sandbox; "
                                   "graded functions must compute with NumPy (see the assignment's rules)")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Disabled(f"{self._path}.{name}")

    def __repr__(self):
        return f"<{self._path} (disabled in the grader's sandbox)>"


class _DisabledModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Disabled(f"{self.__name__}.{name}")


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in ABSENT_LIBRARIES:
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return _DisabledModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def install() -> None:
    for name in [n for n in sys.modules if n.split(".")[0] in ABSENT_LIBRARIES]:
        del sys.modules[name]
    sys.meta_path.insert(0, _StandInFinder())
