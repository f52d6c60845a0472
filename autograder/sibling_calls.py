"""Answering a graded function's calls to a sibling it may build on, with the reference solution.

The arguments come from a process that ran student code, so the reference runs on them in a process
of its own (:func:`main`), under a memory limit and the caller's time limit, and never inside the
grader: a call that is too large or too slow costs the calling function, never stalls the grader
or reaches another function's results. The arguments stay encoded until that process decodes them
(``allow_pickle=False``).
"""

from __future__ import annotations

import os
import resource
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

from autograder import reference
from autograder.course import get_assignment
from autograder.sandbox import wire
from autograder.sandbox.launch import end_process_group, spawn_answerer

MEMORY_BYTES = 2 * 1024 ** 3
MAX_REPLY = 800_000  # bytes of an encoded answer


def refusal(message: str) -> dict:
    return {"kind": "raised", "exc_types": ["RuntimeError"], "message": message}


class ReferenceCalls:
    """One answering process, started on first use and replaced after a call it did not finish."""

    def __init__(self, root: Path, assignment: str, process: subprocess.Popen | None = None):
        """`process`: one started earlier by launch.spawn_answerer (its start-up overlapped ours)."""
        self.root, self.assignment = root, assignment
        self.process = process

    def _start(self) -> None:
        self.process = spawn_answerer(self.root, self.assignment)

    def stop(self) -> None:
        if self.process is not None:
            end_process_group(self.process)
            self.process = None

    def call(self, name: str, args, kwargs, max_elements: int, seconds: float) -> dict:
        """The reference's outcome for ``name(*args, **kwargs)`` (encoded, untrusted)."""
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return refusal(f"unreadable call to {name}")
        if self.process is None or self.process.poll() is not None:
            self._start()
        deadline = time.monotonic() + seconds + 30  # start-up: interpreter, NumPy, the reference
        try:
            wire.write_frame(self.process.stdin.fileno(),
                             {"fn": name, "args": args, "kwargs": kwargs, "max_elements": max_elements})
            # the answering process says when it starts computing; from then on, the case's limit
            ready, _, _ = select.select([self.process.stdout], [], [], max(deadline - time.monotonic(), 0))
            started = wire.read_frame(self.process.stdout.fileno()) if ready else None
            if started is not None and started.get("t") == "computing":
                ready, _, _ = select.select([self.process.stdout], [], [], seconds)
                reply = wire.read_frame(self.process.stdout.fileno()) if ready else None
            else:
                reply = started
        except (OSError, ValueError):
            reply = None
        if not isinstance(reply, dict) or "outcome" not in reply:
            self.stop()
            return refusal(f"the reference did not answer this call to {name} within {seconds:g} s "
                           "(arguments too large?)")
        return reply["outcome"]


def _answer(refs, request) -> dict:
    name = request.get("fn")
    if name not in refs:
        return refusal(f"{name!r} is not a graded function")
    try:
        values = [wire.decode(a) for a in request["args"]]
        named = {str(k): wire.decode(v) for k, v in request["kwargs"].items()}
    except Exception as exc:  # noqa: BLE001 - malformed data from the sandbox
        return refusal(f"unreadable call: {exc}")
    size = sum(int(getattr(v, "size", 1)) for v in [*values, *named.values()])
    if size > request.get("max_elements", 0):
        return refusal(f"call to {name} with {size} values: larger than any case, too large to answer")
    outcome = wire_call(refs[name], values, named)
    if outcome["kind"] == "returned" and len(str(outcome["value"])) > MAX_REPLY:
        return refusal(f"{name}'s result is too large")
    return {key: outcome[key] for key in ("kind", "value", "exc_types", "message") if key in outcome}


def wire_call(function, args, kwargs) -> dict:
    from autograder.sandbox import call_traced

    return call_traced(function, args, kwargs, trace=False)


def serve(root: Path, assignment: str, in_fd: int = 0, out_fd: int = 1) -> int:
    """The answering loop: one request in, "computing", then the outcome out; until end of input."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    refs = reference.load(Path(root), get_assignment(assignment))
    while True:
        request = wire.read_frame(in_fd)
        if request is None:
            return 0
        wire.write_frame(out_fd, {"t": "computing"})
        try:
            outcome = _answer(refs, request)
        except MemoryError:
            outcome = refusal("the reference ran out of memory on this call (arguments too large?)")
        wire.write_frame(out_fd, {"outcome": outcome})


def main(argv=None) -> int:
    root, assignment = (sys.argv[1:] if argv is None else argv)[:2]
    return serve(Path(root), assignment)


class Forked:
    """An answering process forked from the grader, with the handle of a subprocess.Popen."""

    def __init__(self, pid: int, stdin_fd: int, stdout_fd: int):
        self.pid, self.returncode = pid, None
        self.stdin = os.fdopen(stdin_fd, "wb", buffering=0)
        self.stdout = os.fdopen(stdout_fd, "rb", buffering=0)

    def poll(self) -> int | None:
        if self.returncode is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode


def fork_answerer(root: Path, assignment: str):
    """An answering process forked from this one, which has already paid for the interpreter and
    NumPy: ready in milliseconds, where a new interpreter takes a tenth of a second and competes
    for the cores with the grader's own start-up. Forking is safe only while this process has no
    other thread; otherwise a new interpreter is started."""
    if threading.active_count() > 1:
        return spawn_answerer(root, assignment)
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.setsid()
            os.dup2(down_r, 0)
            os.dup2(up_w, 1)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 2)
            os.closerange(3, 1 << 20)  # nothing of the grader's: no gradebook, no sandbox pipes
            code = serve(root, assignment)
        finally:
            os._exit(code)
    os.close(down_r)
    os.close(up_w)
    return Forked(pid, down_w, up_r)


if __name__ == "__main__":
    sys.exit(main())
