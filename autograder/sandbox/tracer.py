"""The explanation of the from-scratch rule: which ready-made convolution a graded call used, named
as the student called it (``numpy.convolve``, ``scipy.signal.correlate2d``, ``torch.conv2d``).

The wall is elsewhere: inside the sandbox those routines do not exist (:mod:`.removal`,
:mod:`.environment`). This only names what was reached, so that the feedback can say why. It is the
interpreter's own C profiler (``_lsprof``, what :mod:`cProfile` uses): it sees every Python and
compiled function a call reaches, and it runs no Python code of ours while the student's code runs,
so there is no hook for that code to rewrite. What it reports inside the sandbox is a claim of a
process that ran student code (values are judged against the reference; this only explains).
Also used by the grader to run the reference (``trace=False``). Standard library and NumPy only.
"""

from __future__ import annotations

import _lsprof
import os
import re
import time

from autograder.sandbox import ready_made, removal
from autograder.sandbox.wire import digest, encode

_NUMPY_SOURCE = os.sep + os.path.join("numpy", "_core", "numeric.py")
_COMPILED = re.compile(r"<built-in method ([A-Za-z_][\w.]*)>")
#: Work the grader cannot follow (outside the sandbox, where these still exist): named only when
#: no ready-made routine is.
_UNCHECKED = {"sys.setprofile": "sys.setprofile", "sys.settrace": "sys.settrace",
              "_thread.start_new_thread": "a new thread", "_thread.start_joinable_thread": "a new thread",
              "posix.fork": "os.fork (another process)", "posix.posix_spawn": "another process",
              "posix.system": "os.system (another process)", "_posixsubprocess.fork_exec": "a subprocess"}
_real_time = time.perf_counter
_Profiler = _lsprof.Profiler


def _module_of(filename: str) -> str | None:
    """'.../site-packages/scipy/signal/_signaltools.py' -> 'scipy.signal._signaltools' (for the
    packages that hold ready-made convolutions, and ctypes/cffi), else None."""
    parts = filename.replace(os.sep, "/").split("/")
    for index, part in enumerate(parts):
        if part in ("scipy", "torch", "tensorflow", "keras", "jax", "cupy", "ctypes", "cffi"):
            dotted = ".".join([*parts[index:-1], parts[-1].removesuffix(".py")]).removesuffix(".__init__")
            return dotted
    return None


def _label(code) -> str | None:
    """The ready-made routine (or unchecked work) a profiler entry stands for, else None."""
    if isinstance(code, str):  # a compiled function: "<built-in method torch.conv2d>"
        match = _COMPILED.fullmatch(code)
        if not match:
            return None
        dotted = match.group(1)
        if dotted in _UNCHECKED:
            return f"{_UNCHECKED[dotted]} (the grader cannot check work done there)"
        module, _, name = dotted.rpartition(".")
        if module == ready_made.NUMPY_COMPILED_MODULE and name in ready_made.NUMPY_COMPILED:
            return f"numpy.{name} ({dotted})"
        return dotted if ready_made.is_convolution(dotted) and not module.startswith("numpy") else None
    if code is removal.STUB_CODE:
        return "numpy.correlate (removed from the sandbox)"
    if code.co_name == "<module>":
        return None  # importing is not using
    filename = code.co_filename
    if filename.endswith(_NUMPY_SOURCE) and code.co_name in ready_made.NUMPY_ROUTINES:
        return f"numpy.{code.co_name}"
    module = _module_of(filename)
    if module is None:
        return None
    if module.split(".")[0] in ("ctypes", "cffi"):
        return "ctypes/cffi (the grader cannot check foreign code)"
    return f"{module}.{code.co_name}" if ready_made.is_convolution(module) else None


def ready_made_calls(stats) -> list[str]:
    """The routines a profiled call reached directly (from code that is not itself a ready-made
    routine: np.convolve, not the correlate it runs), in a stable order, then unchecked work."""
    labels = {id(entry.code): _label(entry.code) for entry in stats}
    callers: dict[int, set] = {}
    for entry in stats:
        for sub in entry.calls or ():
            callers.setdefault(id(sub.code), set()).add(labels.get(id(entry.code)))
    direct = []
    for entry in stats:
        label = labels[id(entry.code)]
        if label and (id(entry.code) not in callers or None in callers[id(entry.code)]) and label not in direct:
            direct.append(label)
    routines = sorted(label for label in direct if "(the grader cannot" not in label)
    notes = sorted(label for label in direct if "(the grader cannot" in label)
    return (routines + notes)[:20]


def call_traced(function, args, kwargs, trace=True):
    """Call ``function(*args, **kwargs)`` and describe what happened as plain data.

    Returns a dict with ``kind`` ("returned" or "raised"), the encoded ``value`` or the exception's
    class names (``exc_types``, most specific first) and ``message``, the ``digests`` of the
    array arguments after the call (to detect in-place modification), the ready-made routines seen
    during the call (``forbidden``) and the wall ``seconds``.
    """
    profiler = _Profiler() if trace else None
    start = _real_time()
    try:
        if profiler is not None:
            profiler.enable(True, True)
        try:
            value = function(*args, **kwargs)
        finally:
            if profiler is not None:
                profiler.disable()
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
    outcome["forbidden"] = ready_made_calls(profiler.getstats()) if profiler is not None else []
    return outcome


def safe_str(exc):
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a student's exception may raise in __str__
        text = "<unprintable message>"
    return text if isinstance(text, str) else "<non-string message>"
