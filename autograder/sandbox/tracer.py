"""The from-scratch rule's second line: a profiler hook that sees every Python and C function a
graded call reaches, however the routine was imported, aliased or wrapped before the call.

It runs in the process of the function being graded, so what it reports is a claim of a process
that ran student code; the first line is :mod:`autograder.sandbox.policy`, which reads the code
before anything runs. Also used by the grader to run the reference (``trace=False``).
Standard library and NumPy only.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from autograder.sandbox.wire import digest, encode

#: Source folders whose code may not run inside a from-scratch function.
FORBIDDEN_PACKAGES = ("scipy.signal", "scipy.ndimage", "torch", "tensorflow", "jax", "cupy")
#: Python-level NumPy routines that already are a convolution.
FORBIDDEN_NUMPY = ("convolve", "correlate")

_PATH_MARKERS = tuple(
    os.sep + package.replace(".", os.sep) + os.sep for package in FORBIDDEN_PACKAGES
)
_NUMPY_SOURCE = os.sep + os.path.join("numpy", "_core", "numeric.py")
#: Foreign-function interfaces: code reached through them cannot be checked.
_FFI_MARKERS = (os.sep + "ctypes" + os.sep, os.sep + "cffi" + os.sep)
_setprofile = sys.setprofile
_getprofile = sys.getprofile
_real_time = time.perf_counter


def _c_forbidden():
    """C functions that are convolutions, keyed by id."""
    table = {}
    multiarray = sys.modules.get("numpy._core.multiarray")
    for name in ("correlate", "correlate2"):
        routine = getattr(multiarray, name, None)
        if routine is not None:
            table[id(routine)] = f"numpy.{name} (numpy._core.multiarray.{name})"
    return table


_C_FORBIDDEN = _c_forbidden()
_C_TAMPER = {
    id(sys.setprofile): "sys.setprofile",
    id(sys.settrace): "sys.settrace",
    id(threading.setprofile): "threading.setprofile",
    id(threading.settrace): "threading.settrace",
}
for _name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve", "system"):
    if hasattr(os, _name):
        _C_TAMPER[id(getattr(os, _name))] = f"os.{_name} (another process)"
try:
    import _posixsubprocess

    _C_TAMPER[id(_posixsubprocess.fork_exec)] = "a subprocess"
except ImportError:  # pragma: no cover - not on POSIX
    pass
try:
    import _thread

    _C_TAMPER[id(_thread.start_new_thread)] = "a new thread"
    if hasattr(_thread, "start_joinable_thread"):
        _C_TAMPER[id(_thread.start_joinable_thread)] = "a new thread"
except ImportError:  # pragma: no cover
    pass


def _forbidden_module(module):
    return bool(module) and any(
        module == package or module.startswith(package + ".") for package in FORBIDDEN_PACKAGES
    )


class Tracer:
    """Profiler hook recording ready-made convolutions and attempts to escape the hook."""

    def __init__(self):
        self.hits = []
        self._files = {}

    def _note(self, what):
        if what not in self.hits and len(self.hits) < 20:
            self.hits.append(what)

    def _forbidden_file(self, filename):
        verdict = self._files.get(filename)
        if verdict is None:
            verdict = any(marker in filename for marker in _PATH_MARKERS)
            self._files[filename] = verdict
        return verdict

    def _entered_from_outside(self, frame):
        """A call into a forbidden package made by other code (not its own import machinery)."""
        if frame.f_code.co_name == "<module>":
            return False  # importing is not using
        caller = frame.f_back
        if caller is None:
            return True
        name = caller.f_code.co_filename
        return not (self._forbidden_file(name) or name.startswith("<frozen importlib"))

    def __call__(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            filename = code.co_filename
            verdict = self._forbidden_file(filename)
            if verdict and self._entered_from_outside(frame):
                module = frame.f_globals.get("__name__", filename)
                self._note(f"{module}.{code.co_name}")
            elif filename.endswith(_NUMPY_SOURCE) and code.co_name in FORBIDDEN_NUMPY:
                self._note(f"numpy.{code.co_name}")
            elif any(marker in filename for marker in _FFI_MARKERS):
                self._note("ctypes/cffi (the grader cannot check foreign code)")
        elif event == "c_call":
            key = id(arg)
            if key in _C_FORBIDDEN:
                self._note(_C_FORBIDDEN[key])
            elif key in _C_TAMPER and frame.f_code is not _OWN_CODE:
                self._note(f"{_C_TAMPER[key]} (the grader cannot check work done there)")
            elif _forbidden_module(getattr(arg, "__module__", None)):
                self._note(f"{arg.__module__}.{getattr(arg, '__name__', '?')}")


def call_traced(function, args, kwargs, trace=True):
    """Call ``function(*args, **kwargs)`` and describe what happened as plain data.

    Returns a dict with ``kind`` ("returned" or "raised"), the encoded ``value`` or the exception's
    class names (``exc_types``, most specific first) and ``message``, the ``digests`` of the
    array arguments after the call (to detect in-place modification), the ready-made routines and
    hook escapes seen during the call (``forbidden``) and the wall ``seconds``.
    """
    tracer = Tracer() if trace else None
    start = _real_time()
    try:
        if tracer is not None:
            _setprofile(tracer)
        try:
            value = function(*args, **kwargs)
        finally:
            if tracer is not None:
                if _getprofile() is not tracer:
                    tracer._note("the profiler hook was replaced during the call")
                _setprofile(None)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are answers too
        outcome = {
            "kind": "raised",
            "exc_types": [cls.__name__ for cls in type(exc).__mro__][:8],
            "message": safe_str(exc)[:2000],
        }
    else:
        outcome = {"kind": "returned", "value": encode(value)}
    outcome["seconds"] = _real_time() - start
    outcome["digests"] = [digest(a) for a in args] + [digest(kwargs[k]) for k in sorted(kwargs)]
    outcome["forbidden"] = tracer.hits if tracer is not None else []
    return outcome


_OWN_CODE = call_traced.__code__


def safe_str(exc):
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a student's exception may raise in __str__
        text = "<unprintable message>"
    return text if isinstance(text, str) else "<non-string message>"
