"""The process of one graded function, forked by the submission's supervisor before any case
exists in the sandbox. Standard library and NumPy only.

Before its cells run it loses what it must not have (:func:`autograder.sandbox.removal.seal`:
no new processes, programs or threads, no heap walks, no trace hooks, no code objects made of raw
bytes; NumPy's compiled convolutions are already gone in the server it was forked from). It runs as
a uid of its own (when the sandbox runs as root), in an empty private folder that is removed when
it ends. It runs the notebook's cells afresh within one time budget for all of them, says so, and
only then receives its own function's cases (never another function's) on a pipe the supervisor
created for it. What it writes is a claim: the supervisor decides when the function started and
ended and how its process exited.
"""

from __future__ import annotations

import builtins
import os
import resource
import signal
import time

import numpy as _np

from autograder.sandbox import removal, standins, tracer, wire

OUTPUT_CAP = 1024 * 1024  # bytes of stdout/stderr a function's process may write, and of any file (RLIMIT_FSIZE)
FUNCTION_FRAME = 4 * 1024 * 1024  # bytes of one frame this process may write (its supervisor refuses more)

# Private references, taken before any student code runs.
_BUILTINS = dict(vars(builtins))
_call_traced, _encode, _decode = tracer.call_traced, wire.encode, wire.decode
_write_frame, _read_frame, _exit, _monotonic = wire.write_frame, wire.read_frame, os._exit, time.monotonic
_frame, _write_bytes = wire.frame, wire.write_bytes


def _send_outcome(up, index, outcome):
    """A case's outcome; an answer too large to send is described instead (it is wrong anyway: the
    cases' answers are small)."""
    data = _frame({"t": "case", "i": index, "outcome": outcome})
    if len(data) > FUNCTION_FRAME:
        outcome = {**outcome, "value": {"__object__": f"an answer of {len(data)} bytes, too large to check"}}
        data = _frame({"t": "case", "i": index, "outcome": outcome})
    _write_bytes(up, data)


def restore_builtins():
    """Undo a submission's changes to the builtins (isinstance = lambda *a: True, ...)."""
    current = vars(builtins)
    for name, value in _BUILTINS.items():
        if current.get(name) is not value:
            current[name] = value


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


def detach(output_path, uid, keep):
    """Only the function's own pipes stay open; stdin empty, output into a capped file, and (when
    the server runs as root) no privileges: student code runs as `uid`, which nothing else uses."""
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
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # also makes the process non-dumpable: no /proc/self/mem
        if os.getuid() == 0 or os.geteuid() == 0:
            raise RuntimeError("could not drop root privileges")


class CellTimeout(BaseException):
    """Raised in a cell that runs past its time limit (a BaseException so bare excepts miss it)."""


def _on_alarm(signum, frame):
    raise CellTimeout()


def exec_cells(cells, skip, namespace, cell_seconds, budget, up, down):
    """Run the cells; before each, tell the supervisor and wait for its ack, so if the cell ends
    this process (or the supervisor) the grader knows which cell to skip on a retry. All cells
    together get `budget` seconds, however many there are: the cells left when it is spent are not
    run (and reported so)."""
    errors = []
    signal.signal(signal.SIGALRM, _on_alarm)
    ends = _monotonic() + budget
    for index, source in enumerate(cells):
        if index in skip:
            continue
        remaining = ends - _monotonic()
        if remaining <= 0.01:
            errors.append({"cell": index, "type": "NotRun",
                           "message": f"not run: the notebook's cells used up their {budget:g} s"})
            continue
        _write_frame(up, {"t": "cell", "i": index})
        if _read_frame(down) is None:
            _exit(75)
        try:
            code = compile(source, f"<cell {index}>", "exec")
        except SyntaxError as exc:
            errors.append({"cell": index, "type": "SyntaxError", "message": str(exc)[:500]})
            continue
        limit = min(cell_seconds, remaining)
        signal.setitimer(signal.ITIMER_REAL, limit)
        try:
            exec(code, namespace)  # noqa: S102 - this is the point of the sandbox
        except CellTimeout:
            if limit == cell_seconds:
                errors.append({"cell": index, "type": "Timeout", "message": f"the cell ran longer than {limit:g} s"})
            else:
                errors.append({"cell": index, "type": "Stopped",
                               "message": f"stopped: the notebook's cells used up their {budget:g} s"})
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


def enter(scratch):
    """Work in the private folder the supervisor made for this process (empty; removed after)."""
    os.chdir(scratch)
    for key in ("HOME", "TMPDIR", "AUTOGRADER_WORKDIR"):
        os.environ[key] = scratch


def _argument(encoded, shared):
    """A case's argument: decoded from the wire, or a view of the shared memory the supervisor
    placed it in (for the cases that judge whether the inputs come back unchanged)."""
    place = encoded.get("__shared__") if isinstance(encoded, dict) else None
    if place is None:
        return _decode(encoded)
    dtype = _np.dtype(place["dtype"])
    count = 1
    for extent in place["shape"]:
        count *= extent
    return _np.frombuffer(shared, dtype=dtype, count=count, offset=place["offset"]).reshape(place["shape"])


def run(job, spec, holders, scratch, shared, down, up):
    """The body of the function's process, after `detach`. Never returns."""
    code = 0
    try:
        apply_limits(job.get("limits", {}))
        standins.install()
        removal.seal(holders)
        go = _read_frame(down)
        if not go or go.get("t") != "go":
            _exit(0)
        enter(scratch)
        namespace = {"__name__": "__main__", "__builtins__": builtins}
        cell_seconds = float(job.get("cell_seconds", 10))
        errors = exec_cells(job["cells"], set(go.get("skip", [])), namespace, cell_seconds,
                            float(job.get("cells_budget", 3 * cell_seconds)), up, down)
        restore_builtins()
        _write_frame(up, {"t": "cells", "errors": errors[:50]})
        name = spec["name"]
        function = namespace.get(name)
        if not callable(function):
            _write_frame(up, {"t": "missing"})
            _exit(0)
        _write_frame(up, {"t": "ready"})
        for sibling in spec.get("edges", []):
            namespace[sibling] = _proxy(sibling, up, down)
        while True:  # the cases come in batches: the visible examples' first
            given = _read_frame(down)
            if not given or given.get("t") != "cases":
                _exit(0)
            for case in given["cases"]:
                args = [_argument(a, shared) for a in case["args"]]
                kwargs = {k: _argument(v, shared) for k, v in case.get("kwargs", {}).items()}
                outcome = _call_traced(function, args, kwargs, trace=spec.get("trace", True))
                _send_outcome(up, case["i"], outcome)
                if case.get("verify") and _read_frame(down) is None:  # the supervisor looked at the inputs
                    _exit(0)
            if given.get("last", True):
                break
            del given, case, args, kwargs
    except BaseException:  # noqa: BLE001 - the supervisor sees the exit status
        code = 70
    _exit(code)
