"""Answering a graded function's calls to a sibling it may build on, with the reference solution.

The arguments come from a process that ran student code, so the reference runs on them in a process
of its own (:func:`main`), under a memory limit and the caller's time limit, and never inside the
grader: a call that is too large or too slow costs the calling function, never stalls the grader
or reaches another function's results. The arguments stay encoded until that process decodes them
(``allow_pickle=False``).
"""

from __future__ import annotations

import resource
import select
import subprocess
import sys
import time
from pathlib import Path

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


def main(argv=None) -> int:
    from autograder import reference
    from autograder.course import get_assignment

    root, assignment = (sys.argv[1:] if argv is None else argv)[:2]
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    refs = reference.load(Path(root), get_assignment(assignment))
    out = sys.stdout.fileno()
    while True:
        request = wire.read_frame(0)
        if request is None:
            return 0
        wire.write_frame(out, {"t": "computing"})
        try:
            outcome = _answer(refs, request)
        except MemoryError:
            outcome = refusal("the reference ran out of memory on this call (arguments too large?)")
        wire.write_frame(out, {"outcome": outcome})


if __name__ == "__main__":
    sys.exit(main())
