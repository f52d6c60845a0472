"""Answering a graded function's calls to a sibling it may build on, with the reference solution.

The arguments come from a process that ran student code, so the reference runs on them in a process
of its own (:func:`main`), under a memory limit and the caller's time limit, and never inside the
grader: a call that is too large or too slow costs the calling function, never stalls the grader
or reaches another function's results. The arguments stay encoded until that process decodes them
(``allow_pickle=False``).

Limits, each checked before anything more expensive is done:

- **size**: no call larger than the caller's largest case, by :func:`count_elements` (every element
  of every argument, whatever its type, counted on the encoded form before anything is decoded; the
  cases are measured by the same function);
- **time**: each call the caller's time limit, and all the calls of one submission together
  :data:`BUDGET_TIMEOUTS` times it (:class:`Budget`);
- **reply**: an answer written as more than :data:`MAX_REPLY` bytes is refused.
"""

from __future__ import annotations

import os
import resource
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from autograder import reference
from autograder.course import get_assignment
from autograder.sandbox import wire
from autograder.sandbox.launch import end_process_group, spawn_answerer

MEMORY_BYTES = 2 * 1024 ** 3
MAX_REPLY = 800_000  # bytes of an encoded answer, as written
#: The reference's time answering one submission's calls (all of them together), in multiples of the
#: per-function timeout:
#: the sandbox's own CPU allowance for a job is its functions' timeouts plus three more
#: (grading.Limits.job_limits), and this keeps the grader's share for one submission of the same
#: order. An honest caller spends well under a hundredth of it (a few dozen calls of a few ms).
BUDGET_TIMEOUTS = 3
MAX_DEPTH = 16  # containers inside containers in one argument (the sandbox's encoder makes at most 5)
MAX_NAME = 64  # characters of a keyword or dict key
MAX_SCALAR_TEXT = 64  # characters of a float's or complex part's repr on the wire
MAX_TYPE_NAME = 256  # characters of the type name an unsendable object arrives as
MAX_DTYPE = 32  # characters of an array's dtype


def refusal(message: str) -> dict:
    return {"kind": "raised", "exc_types": ["RuntimeError"], "message": message}


def too_large(name: str, limit: int) -> dict:
    return refusal(f"call to {name} with more than {limit} values: larger than any case, too large to answer")


def budget_spent(name: str, budget: Budget) -> dict:
    return refusal(f"call to {name} not answered: the reference has used up its {budget.total:g} s for this "
                   "submission's calls to graded functions")


class Budget:
    """The reference's time answering one submission's sibling calls: its total and what is spent."""

    def __init__(self, total: float):
        self.total, self.spent = float(total), 0.0

    @property
    def left(self) -> float:
        return max(self.total - self.spent, 0.0)


def count_elements(args, kwargs, limit: int | None = None) -> int:
    """The number of values in an encoded call (wire.encode form), counted before anything is
    decoded: every element of an array (every character of a string array), every leaf of nested
    lists, tuples and dicts (an empty one counts 1), every character of a string, 1 for any other
    scalar or an object sent by type name only. The shape of the data is checked on the way (an
    array's bytes must fill its shape); anything malformed raises ValueError. With `limit`,
    counting stops as soon as the count exceeds it (so a huge argument costs no more than a small one).
    Used both for the cases (the largest one per function) and for the calls."""
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError("arguments are not a list and a dict")
    count = 0
    stack = [(iter(args), 0), (_values(kwargs), 0)]
    while stack:
        items, depth = stack[-1]
        item = next(items, _END)
        if item is _END:
            stack.pop()
            continue
        inner, size = _leaf(item)
        if inner is None:
            count += size
            if limit is not None and count > limit:
                return count
        elif depth >= MAX_DEPTH:
            raise ValueError("arguments nested too deeply")
        else:
            stack.append((inner, depth + 1))
    return count


_END = object()


def _values(mapping: dict):
    """The values of a dict, each once its key is known to be a name (checked as they come)."""
    for key, value in mapping.items():
        if type(key) is not str or len(key) > MAX_NAME:
            raise ValueError(f"a keyword or key that is not a string of at most {MAX_NAME} characters")
        yield value


def _leaf(item) -> tuple[Iterator | None, int]:
    """(the items of a container, 0) or (None, the number of values of a leaf)."""
    if item is None or type(item) in (bool, int, float):
        return None, 1
    if type(item) is str:
        return None, max(len(item), 1)
    if type(item) is not dict or len(item) != 1:
        raise ValueError("malformed value on the wire")
    ((tag, payload),) = item.items()
    if tag in ("__list__", "__tuple__"):
        if type(payload) is not list:
            raise ValueError(f"malformed {tag[2:-2]} on the wire")
        return (iter(payload), 0) if payload else (None, 1)
    if tag == "__dict__":
        if type(payload) is not dict:
            raise ValueError("malformed dict on the wire")
        return (_values(payload), 0) if payload else (None, 1)
    if tag in ("__ndarray__", "__npscalar__"):
        return None, _array_elements(payload)
    if tag == "__float__":
        parts = [payload]
    elif tag == "__complex__":
        parts = payload if type(payload) is list and len(payload) == 2 else [None]
    elif tag == "__object__":
        if type(payload) is not str or len(payload) > MAX_TYPE_NAME:
            raise ValueError("malformed object on the wire")
        return None, 1
    else:
        raise ValueError(f"unknown tag {str(tag)[:40]!r} on the wire")
    if not all(type(part) is str and len(part) <= MAX_SCALAR_TEXT for part in parts):
        raise ValueError("malformed number on the wire")
    return None, 1


def _array_elements(payload) -> int:
    """An array's number of values from its dtype and shape, once its bytes are known to fill them
    exactly (from the length of their base64 text: nothing is decoded)."""
    if type(payload) is not dict or set(payload) != {"dtype", "shape", "data"}:
        raise ValueError("malformed array on the wire")
    dtype, shape, data = payload["dtype"], payload["shape"], payload["data"]
    if type(dtype) is not str or len(dtype) > MAX_DTYPE or type(shape) is not list or type(data) is not str:
        raise ValueError("malformed array on the wire")
    if len(shape) > wire.MAX_DIMENSIONS or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError("malformed array shape on the wire")
    try:
        kind = np.dtype(dtype)
    except (TypeError, ValueError):
        raise ValueError(f"unknown array dtype {dtype!r} on the wire") from None
    if kind.kind not in wire.ARRAY_KINDS or kind.fields is not None or kind.subdtype is not None:
        raise ValueError(f"array dtype {dtype!r} is not allowed on the wire")
    size = 1
    for n in shape:
        size *= n
    if len(data) != 4 * -(-size * kind.itemsize // 3):
        raise ValueError("array bytes do not match its shape and dtype")
    characters = {"U": kind.itemsize // 4, "S": kind.itemsize}.get(kind.kind, 1)
    return max(size * max(characters, 1), 1)


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

    def call(self, name: str, args, kwargs, max_elements: int, seconds: float, budget: Budget | None = None) -> dict:
        """The reference's outcome for ``name(*args, **kwargs)`` (encoded, untrusted): refused
        before anything is sent when the call is larger than `max_elements` (:func:`count_elements`)
        or the submission's `budget` is spent; else at most `seconds` of the reference's time, and
        no more than the budget has left, which is charged with what the call took."""
        try:
            if count_elements(args, kwargs, limit=max_elements) > max_elements:
                return too_large(name, max_elements)
        except ValueError as exc:
            return refusal(f"unreadable call to {name}: {exc}")
        if budget is not None and budget.left <= 0:
            return budget_spent(name, budget)
        limit = seconds if budget is None else min(seconds, budget.left)
        if self.process is None or self.process.poll() is not None:
            self._start()
        deadline = time.monotonic() + seconds + 30  # start-up: interpreter, NumPy, the reference
        computing = None
        try:
            wire.write_frame(self.process.stdin.fileno(),
                             {"fn": name, "args": args, "kwargs": kwargs, "max_elements": max_elements})
            # the answering process says when it starts computing; from then on, the time limit
            ready, _, _ = select.select([self.process.stdout], [], [], max(deadline - time.monotonic(), 0))
            started = wire.read_frame(self.process.stdout.fileno()) if ready else None
            if started is not None and started.get("t") == "computing":
                computing = time.monotonic()
                ready, _, _ = select.select([self.process.stdout], [], [], limit)
                reply = wire.read_frame(self.process.stdout.fileno()) if ready else None
            else:
                reply = started
        except (OSError, ValueError):
            reply = None
        if budget is not None and computing is not None:
            # the time from "computing" to its answer: for the single-threaded reference at least
            # the CPU time it spent (decoding, computing, encoding), not the process's start-up
            budget.spent += time.monotonic() - computing
        if not isinstance(reply, dict) or "outcome" not in reply:
            self.stop()
            if budget is not None and budget.left <= 0:
                return budget_spent(name, budget)
            return refusal(f"the reference did not answer this call to {name} within {seconds:g} s "
                           "(arguments too large?)")
        return reply["outcome"]


def _answer(refs, request) -> dict:
    name = request.get("fn")
    if name not in refs:
        return refusal(f"{name!r} is not a graded function")
    limit = request.get("max_elements", 0)
    limit = limit if type(limit) is int else 0
    try:
        if count_elements(request.get("args"), request.get("kwargs"), limit=limit) > limit:
            return too_large(name, limit)
        values = [wire.decode(a) for a in request["args"]]
        named = {str(k): wire.decode(v) for k, v in request["kwargs"].items()}
    except Exception as exc:  # noqa: BLE001 - malformed data from the sandbox
        return refusal(f"unreadable call to {name}: {exc}")
    from autograder.sandbox.tracer import call_traced  # in the answering process only

    outcome = call_traced(refs[name], values, named, trace=False)
    outcome = {key: outcome[key] for key in ("kind", "value", "exc_types", "message") if key in outcome}
    if len(wire.frame({"outcome": outcome})) > MAX_REPLY:  # the bytes it would be written as
        return refusal(f"{name}'s result is too large")
    return outcome


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
