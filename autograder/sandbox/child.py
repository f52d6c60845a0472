"""The process of one graded function, forked by the submission's supervisor before any case
exists in the sandbox. Standard library and NumPy only.

It runs the notebook's cells afresh, says so, and only then receives its own function's cases
(never another function's) on a pipe the supervisor created for it. It holds no descriptor but
that pipe pair and its output file, and what it writes is a claim: the supervisor decides when the
function started and ended and how its process exited.
"""

from __future__ import annotations

import builtins
import importlib.abc
import importlib.util
import os
import resource
import signal
import sys
import types

from autograder.sandbox import tracer, wire

OUTPUT_CAP = 1024 * 1024  # bytes of stdout/stderr a submission may write (RLIMIT_FSIZE)
#: Libraries that do no work in the sandbox: importing them works, using them raises.
DISABLED = ("scipy", "torch", "tensorflow", "jax", "cupy")

# Private references, taken before any student code runs.
_BUILTINS = dict(vars(builtins))
_call_traced, _encode, _decode = tracer.call_traced, wire.encode, wire.decode
_write_frame, _read_frame, _exit = wire.write_frame, wire.read_frame, os._exit


def restore_builtins():
    """Undo a submission's changes to the builtins (isinstance = lambda *a: True, ...)."""
    current = vars(builtins)
    for name, value in _BUILTINS.items():
        if current.get(name) is not value:
            current[name] = value


class DisabledLibraryError(RuntimeError):
    """Raised when student code uses scipy, torch, tensorflow... inside the sandbox."""


class _Disabled:
    """Whatever a disabled library hands out: calling it (or anything reached from it) raises."""

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


class _DisabledImporter(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in DISABLED:
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return _DisabledModule(spec.name)

    def exec_module(self, module):
        module.__path__ = []


def disable_libraries():
    for name in [n for n in sys.modules if n.split(".")[0] in DISABLED]:
        del sys.modules[name]
    sys.meta_path.insert(0, _DisabledImporter())


_OWN_FILES = frozenset({tracer.__file__, wire.__file__, __file__, getattr(sys.modules.get("autograder.sandbox.server"),
                                                                        "__file__", "")})
_BLOCKED_EVENTS = frozenset({"gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
                             "sys._current_exceptions"})
_FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})


class SandboxRefusal(ValueError):
    """Raised when student code reaches for frames, the heap or raw descriptors at run time."""


def _audit(event, args):
    """The static policy's runtime second line: no frame of student code or of this runner, no
    heap walk, no file object over a raw descriptor. (Audit hooks cannot be removed.)"""
    if event in _BLOCKED_EVENTS:
        raise SandboxRefusal(f"{event} is not allowed in the grader's sandbox")
    if event == "sys._getframe":
        filename = args[0].f_code.co_filename
        if filename.startswith("<") or filename in _OWN_FILES:
            raise SandboxRefusal("sys._getframe is not allowed in the grader's sandbox")
    elif event == "object.__getattr__" and args[1] in _FRAME_ATTRIBUTES:
        raise SandboxRefusal(f".{args[1]} is not allowed in the grader's sandbox")
    elif event == "open" and isinstance(args[0], int) and args[0] > 2:
        raise SandboxRefusal("opening a raw descriptor is not allowed in the grader's sandbox")


def apply_limits(limits):
    """rlimits for the function's process and everything it starts."""
    if limits.get("memory_bytes"):
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    if limits.get("cpu_seconds"):
        seconds = int(limits["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_CAP, OUTPUT_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("processes") and os.getuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)


def die_with_parent():
    """If the supervisor dies, so do we (set after any uid change)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def detach(output_path, drop_to, keep):
    """Only the function's own pipes stay open; stdin empty, output into a capped file, and (when
    the server runs as root) no privileges: student code runs as `drop_to`."""
    os.setsid()
    low = 3
    # close_range between the kept ones: a few system calls, not a thousand
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 20)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sink = os.open(output_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    os.close(sink)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the cap fail instead of killing
    if drop_to is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(drop_to, drop_to, drop_to)
        os.setresuid(drop_to, drop_to, drop_to)
        if os.getuid() == 0 or os.geteuid() == 0:
            raise RuntimeError("could not drop root privileges")
    die_with_parent()


class CellTimeout(BaseException):
    """Raised in a cell that runs past its time limit (a BaseException so bare excepts miss it)."""


def _on_alarm(signum, frame):
    raise CellTimeout()


def exec_cells(cells, skip, namespace, cell_seconds, up, down):
    """Run the cells; before each, tell the supervisor and wait for its ack, so if the cell ends
    this process (or the supervisor) the grader knows which cell to skip on a retry."""
    errors = []
    signal.signal(signal.SIGALRM, _on_alarm)
    for index, source in enumerate(cells):
        if index in skip:
            continue
        _write_frame(up, {"t": "cell", "i": index})
        if _read_frame(down) is None:
            _exit(75)
        try:
            code = compile(source, f"<cell {index}>", "exec")
        except SyntaxError as exc:
            errors.append({"cell": index, "type": "SyntaxError", "message": str(exc)[:500]})
            continue
        signal.setitimer(signal.ITIMER_REAL, cell_seconds)
        try:
            exec(code, namespace)  # noqa: S102 - this is the point of the sandbox
        except CellTimeout:
            errors.append({"cell": index, "type": "Timeout",
                           "message": f"the cell ran longer than {cell_seconds:g} s"})
        except BaseException as exc:  # noqa: BLE001 - a cell that fails is reported, not fatal
            errors.append({"cell": index, "type": type(exc).__name__,
                           "message": tracer.safe_str(exc)[:500]})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return errors


#: Built-in exceptions a proxied reference call may raise in the student's process.
_PROXY_ERRORS = {"ValueError": ValueError, "TypeError": TypeError}


def _proxy(name, up, down):
    """Stand-in for a graded function this one may build on (a declared edge): the grader answers
    with the reference's result. The reference never enters the sandbox, only its answers do."""

    def call(*args, **kwargs):
        _write_frame(up, {"t": "call", "fn": name, "args": [_encode(a) for a in args],
                          "kwargs": {k: _encode(v) for k, v in kwargs.items()}})
        reply = _read_frame(down)
        if not reply or reply.get("t") != "reply":
            raise RuntimeError(f"the grader did not answer the call to {name}")
        outcome = reply["outcome"]
        if outcome["kind"] == "raised":
            error = _PROXY_ERRORS.get(outcome["exc_types"][0], RuntimeError)
            raise error(outcome["message"])
        return _decode(outcome["value"])

    call.__name__ = call.__qualname__ = name
    return call


def run(job, spec, down, up):
    """The body of the function's process, after `detach`. Never returns."""
    code = 0
    try:
        apply_limits(job.get("limits", {}))
        disable_libraries()
        sys.addaudithook(_audit)
        go = _read_frame(down)
        if not go or go.get("t") != "go":
            _exit(0)
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        errors = exec_cells(job["cells"], set(go.get("skip", [])), namespace, job.get("cell_seconds", 10), up, down)
        restore_builtins()
        _write_frame(up, {"t": "cells", "errors": errors[:50]})
        name = spec["name"]
        function = namespace.get(name)
        if not callable(function):
            _write_frame(up, {"t": "missing"})
            _exit(0)
        _write_frame(up, {"t": "ready"})
        given = _read_frame(down)
        if not given or given.get("t") != "cases":
            _exit(0)
        for sibling in spec.get("edges", []):
            namespace[sibling] = _proxy(sibling, up, down)
        for index, case in enumerate(given["cases"]):
            args = [_decode(a) for a in case["args"]]
            kwargs = {k: _decode(v) for k, v in case.get("kwargs", {}).items()}
            outcome = _call_traced(function, args, kwargs, trace=spec.get("trace", True))
            _write_frame(up, {"t": "case", "i": index, "outcome": outcome})
    except BaseException:  # noqa: BLE001 - the supervisor sees the exit status
        code = 70
    _exit(code)
