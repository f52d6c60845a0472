"""Taking capabilities out of the sandbox's processes before any student code runs: what a process
does not contain, it cannot reach by any spelling. Standard library and NumPy only.

In the server, once (every process is forked from it):

- :func:`preload` imports NumPy and every compiled standard-library module the sandbox has;
- :func:`remove_ready_made` replaces NumPy's compiled convolutions (``correlate``, ``correlate2``:
  ``numpy.convolve``, ``numpy.correlate`` and everything built on them) with stubs that raise
  :class:`ReadyMadeError`, in every module and container that holds them, so that no reference to
  the compiled routines is left and they are freed;
- :func:`close_loaders` removes the machinery that loads compiled code (``_imp.create_dynamic``,
  ``create_builtin``...): no extension module, foreign-function interface or fresh copy of NumPy's
  routines can be loaded afterwards;
- :func:`find_holders` finds where the capabilities a graded function's process must lose are held.

In each graded function's process, before its cells run, :func:`seal` removes those capabilities
(new processes and programs, threads, heap walks, trace and profile hooks), makes imports compile
from source, and installs an audit hook that refuses new code objects built from raw bytes (the way
to corrupt the interpreter's memory from Python). The hook's logic holds only constants and the
interpreter holds its only reference, so nothing in the process can change or remove it.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

from autograder.sandbox import ready_made


class ReadyMadeError(RuntimeError):
    """Raised by a ready-made convolution inside the sandbox (it does no work there)."""


class SandboxRefusal(RuntimeError):
    """Raised when student code reaches for a capability the sandbox's processes do not have."""


#: Compiled standard-library modules the sandbox does not have (by name prefix): ctypes, CPython's
#: test helpers (raw memory access), sub-interpreters (a fresh interpreter state), other processes,
#: terminals and GUIs. Not mounted at the bubblewrap level; never loaded at either level.
EXCLUDED_EXTENSIONS = ("_ctypes", "_test", "_xx", "xx", "_multiprocessing", "_posixshmem",
                       "_tkinter", "_curses", "readline", "ossaudiodev", "nis", "spwd", "_crypt", "syslog",
                       "audioop", "_dbm", "_gdbm")
#: NumPy modules imported in the server (their compiled parts cannot be loaded later); NumPy's
#: pure-Python modules (numpy.ma, numpy.polynomial, numpy.testing...) still import when used.
NUMPY_MODULES = ("numpy", "numpy.fft", "numpy.linalg", "numpy.random", "numpy.lib.stride_tricks")
#: Pure-Python standard-library modules graded code uses often, imported once in the server.
STDLIB_MODULES = ("math", "cmath", "itertools", "functools", "collections", "operator", "random", "statistics",
                  "fractions", "decimal", "json", "dataclasses", "typing", "string", "re", "copy", "heapq",
                  "bisect", "array", "struct", "warnings", "numbers", "contextlib", "cProfile")
#: Compiled standard-library modules not loaded (so not available inside): costly to load and of no
#: use to a graded function (network, encryption, databases, XML, CJK codecs, terminals).
NOT_PRELOADED = ("_ssl", "_hashlib", "_sqlite3", "pyexpat", "_elementtree", "_asyncio", "_codecs_",
                 "_multibytecodec", "termios", "_uuid", "_lzma", "_bz2")


class _Refused:
    """Finder that keeps the server from importing a foreign-function interface or an excluded
    compiled module while it loads (NumPy imports ctypes when it can): at the rlimits level they
    are on the file system, and after :func:`close_loaders` nothing compiled can be loaded."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        top = fullname.split(".")[0]
        if top in ("ctypes", "cffi", "_cffi_backend") or top.startswith(EXCLUDED_EXTENSIONS):
            raise ImportError(f"{fullname} is not available inside the grader's sandbox")
        return None


def refuse_foreign_imports() -> None:
    """Before anything else is imported in the server (see launch's bootstrap)."""
    sys.meta_path.insert(0, _Refused())


def preload(extension_files: list[str] = ()) -> list[str]:
    """Import NumPy and the compiled modules of `extension_files` (paths in lib-dynload): after
    :func:`close_loaders` nothing compiled can be loaded. Returns the modules that failed to load."""
    failed = []
    builtin = [name for name in sys.builtin_module_names if not name.startswith(EXCLUDED_EXTENSIONS)]
    for name in (*builtin, *NUMPY_MODULES, *STDLIB_MODULES):
        try:
            importlib.import_module(name)
        except ImportError:
            failed.append(name)
    for path in extension_files:
        name = os.path.basename(path).split(".")[0]
        if name not in sys.modules and not name.startswith((*EXCLUDED_EXTENSIONS, *NOT_PRELOADED)):
            try:
                importlib.import_module(name)
            except ImportError:  # a module whose shared libraries the system lacks (e.g. _tkinter)
                failed.append(name)
    return failed


def _replace(originals: dict[int, object], stubs: dict[int, object]) -> None:
    """Put `stubs[id(x)]` wherever an object of `originals` is held (module dicts, other dicts,
    lists). Raises RuntimeError when one is held somewhere that cannot be edited."""
    for holder in gc.get_referrers(*originals.values()):
        if holder is originals:
            continue
        if isinstance(holder, dict):
            for key, value in list(holder.items()):
                if id(value) in originals and value is originals[id(value)]:
                    holder[key] = stubs[id(value)]
        elif isinstance(holder, list):
            for index, value in enumerate(holder):
                if id(value) in originals and value is originals[id(value)]:
                    holder[index] = stubs[id(value)]
        elif type(holder).__name__ == "frame":
            continue  # a caller of this function (its locals go with it)
        else:
            raise RuntimeError(f"cannot remove a ready-made routine held by a {type(holder).__name__}")


def ready_made_stub(dotted: str):
    """A stand-in for a ready-made convolution: calling it raises ReadyMadeError."""

    def removed(*args, **kwargs):
        raise ReadyMadeError(f"{dotted} does no work inside the grader's sandbox: graded functions compute "
                             "the convolution themselves with NumPy arithmetic (see the assignment's rules)")

    removed.__name__ = removed.__qualname__ = dotted.rsplit(".", 1)[-1]
    removed.__module__ = "numpy"
    return removed


#: The stubs' code object, by which the profiler recognises a call to a removed routine.
STUB_CODE = ready_made_stub("numpy.x").__code__


def remove_ready_made() -> list[str]:
    """Replace NumPy's compiled convolutions everywhere they are held; returns their names."""
    module = sys.modules.get(ready_made.NUMPY_COMPILED_MODULE)
    if module is None:
        return []
    names = [name for name in ready_made.NUMPY_COMPILED if callable(getattr(module, name, None))]
    originals = {id(getattr(module, name)): getattr(module, name) for name in names}
    public = {"correlate": "numpy.convolve", "correlate2": "numpy.correlate"}  # what calls each
    stubs = {key: ready_made_stub(public.get(routine.__name__, f"numpy.{routine.__name__}"))
             for key, routine in originals.items()}
    _replace(originals, stubs)
    originals.clear()
    return names


def close_loaders() -> None:
    """No compiled module can be created any more: built-in, extension or a second copy of one."""
    import _imp

    def refuse(*args, **kwargs):
        raise ImportError("compiled modules cannot be loaded inside the grader's sandbox (only the standard "
                          "library and NumPy, already loaded, are there)")

    loaders = [getattr(_imp, name) for name in ("create_dynamic", "create_builtin", "exec_dynamic", "exec_builtin")
               if hasattr(_imp, name)]
    originals = {id(loader): loader for loader in loaders}
    del loaders
    _replace(originals, {key: refuse for key in originals})
    originals.clear()


def _capabilities() -> dict[str, object]:
    """What a graded function's process loses: other processes and programs, threads, walks of the
    heap, and hooks that see (and can rewrite) other code's frames."""
    import _thread

    found: dict[str, object] = {}
    for name in ("fork", "forkpty", "execv", "execve", "fexecve", "posix_spawn", "posix_spawnp", "system",
                 "memfd_create"):
        if hasattr(os, name):
            found[f"os.{name}"] = getattr(os, name)
    fork_exec = getattr(sys.modules.get("_posixsubprocess"), "fork_exec", None)
    if fork_exec is not None:
        found["_posixsubprocess.fork_exec"] = fork_exec
    for name in ("start_new_thread", "start_new", "start_joinable_thread"):
        if hasattr(_thread, name):
            found[f"_thread.{name}"] = getattr(_thread, name)
    for name in ("get_objects", "get_referrers", "get_referents"):
        found[f"gc.{name}"] = getattr(gc, name)
    for name in ("settrace", "setprofile", "_current_frames", "_current_exceptions", "addaudithook"):
        if hasattr(sys, name):
            found[f"sys.{name}"] = getattr(sys, name)
    return found


class Holders:
    """Where the server holds the capabilities a graded function's process loses."""

    def __init__(self):
        capabilities = _capabilities()
        by_id = {id(value): name for name, value in capabilities.items()}
        originals = {id(value): value for value in capabilities.values()}
        self.places: list[tuple[object, object, str]] = []  # (dict or list, key or index, capability)
        for holder in gc.get_referrers(*originals.values()):
            if holder is originals or holder is capabilities:
                continue
            if isinstance(holder, dict):
                items = list(holder.items())
            elif isinstance(holder, list):
                items = list(enumerate(holder))
            else:
                continue
            for key, value in items:
                if id(value) in originals and value is originals[id(value)]:
                    self.places.append((holder, key, by_id[id(value)]))


def refusal_stub(what: str):
    def refused(*args, **kwargs):
        raise SandboxRefusal(f"{what} is not available inside the grader's sandbox: graded functions "
                             "compute in their own process, with the standard library and NumPy")

    refused.__name__ = refused.__qualname__ = what.rsplit(".", 1)[-1]
    return refused


def _audit_hook():
    """The hook refuses, with constant logic and no global, builtin or mutable state: code objects
    made from raw bytes (``CodeType(...)``, ``code.replace``, ``marshal``), new programs or
    processes, foreign-function interfaces and heap walks."""
    refused = frozenset({
        "code.__new__", "marshal.loads", "marshal.load", "os.exec", "os.fork", "os.forkpty", "os.posix_spawn",
        "os.spawn", "os.system", "subprocess.Popen", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata",
        "gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
        "sys._current_exceptions", "cpython.run_interactivehook", "_xxsubinterpreters.create",
    })
    error = SandboxRefusal

    def hook(event, args):
        if event in refused:
            raise error(f"{event} is not allowed inside the grader's sandbox")

    return hook


def seal(holders: Holders) -> None:
    """In a graded function's process, before its cells: install the audit hook, remove the
    capabilities, and compile imports from source (``marshal`` is refused)."""
    sys.addaudithook(_audit_hook())
    for holder, key, what in holders.places:
        holder[key] = refusal_stub(what)
    sys.dont_write_bytecode = True
    sys.pycache_prefix = "/nonexistent-pycache"  # .pyc files are never read: marshal is refused
