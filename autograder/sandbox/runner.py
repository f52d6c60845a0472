"""Driving one sandboxed server: send a job, answer what it asks, survive its death.

A :class:`WorkerServer` pays the interpreter and NumPy start-up once and then grades many
submissions, one at a time. Each job gets a fresh random identity; every frame of the job carries
it, and a frame with another identity (a leftover of an earlier job) is dropped. The cases of a
function are sent only when the sandbox says that function's process has run the cells, and only
for that function. Whether a function started, ended, timed out or crashed comes from the
sandbox's supervisor, never from the process that ran student code.

If the server dies or stops answering, it is replaced and the job's unfinished functions are
retried once; the function that was running then scores 0 with the reason. A function that never
got to run is reported as ``lost``: grading turns that into an error for the submission, not a 0.
"""

from __future__ import annotations

import secrets
import select
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from autograder import sandbox
from autograder.sandbox import wire
from autograder.sandbox.launch import end_process_group
from autograder.verdicts import CaseOutcome, Status

MAX_SKIPPED_CELLS = 3
MAX_JOB_FRAMES = 200_000  # frames the grader reads for one job before giving up on the server


class ServerDied(Exception):
    """The worker server stopped answering (killed, crashed, or corrupt output)."""


@dataclass
class SubmissionRun:
    """What the sandbox reported for one submission."""

    cell_errors: list[dict] = field(default_factory=list)
    cells_done: bool = False
    current_cell: int | None = None
    skipped_cells: list[int] = field(default_factory=list)
    #: function -> case -> outcome, decoded once as it arrives (autograder.verdicts.CaseOutcome)
    outcomes: dict[str, dict[int, CaseOutcome]] = field(default_factory=dict)
    status: dict[str, tuple[Status, str]] = field(default_factory=dict)  # function -> (how it ended, detail)
    dropped: int = 0  # frames of other jobs that were ignored


#: answer(function being graded, sibling called, encoded args, encoded kwargs, seconds) -> outcome
Answer = Callable[[str, str, list, dict, float], dict]


class WorkerServer:
    def __init__(self, sandbox_level: str = "auto", spawned=None):
        """`spawned`: a (Launch, Popen) pair from sandbox.spawn_server, started earlier by the caller."""
        self.requested = sandbox_level
        self.process: subprocess.Popen | None = None
        self.launch = None
        self.spawned = spawned

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        spawned, self.spawned = self.spawned, None
        try:
            self.launch, self.process = spawned or sandbox.spawn_server(self.requested)
        except OSError as exc:
            level = sandbox.level(self.requested)
            raise ServerDied(f"the worker server could not be started ({level}): {exc}") from None
        hello = self._read(time.monotonic() + 60)
        if hello is None or hello.get("t") != "ready" or hello.get("protocol") != wire.PROTOCOL:
            self.stop()
            raise ServerDied(f"the worker server did not start ({self.launch.level}): {hello!r}")

    def stop(self) -> None:
        if self.spawned is not None:  # started for us, never used
            self.launch, self.process = self.spawned
            self.spawned = None
        if self.process is not None:
            end_process_group(self.process)
            self.process = None
        if self.launch is not None and self.launch.cleanup:
            shutil.rmtree(self.launch.cleanup, ignore_errors=True)
            self.launch = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def level(self) -> str:
        return self.launch.level if self.launch else sandbox.level(self.requested)

    # -- protocol -----------------------------------------------------------------------------
    def _read(self, deadline: float) -> dict | None:
        fd = self.process.stdout.fileno()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        try:
            return wire.read_frame(fd)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ServerDied(f"corrupt message from the worker server: {exc}") from None

    def _send(self, message: dict) -> None:
        try:
            wire.write_frame(self.process.stdin.fileno(), message)
        except OSError as exc:
            raise ServerDied(f"could not write to the worker server: {exc}") from None

    def _run_once(self, job: dict, cases: dict[str, list], run: SubmissionRun, answer: Answer | None) -> None:
        """Send one job; fill `run` until the server says the job is done. Raises ServerDied."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        job = dict(job, t="job", job=secrets.token_hex(16))
        self._send(job)
        seconds = {spec["name"]: float(spec.get("seconds", 10)) for spec in job["functions"]}
        order = [spec["name"] for spec in job["functions"]]
        deadline = time.monotonic() + job["deadline"] + 15
        running, started, frames = None, 0, 0
        while True:
            message = self._read(deadline)
            if message is None:
                raise ServerDied("the worker server stopped answering")
            if message.get("job") != job["job"]:
                run.dropped += 1
                continue
            frames += 1
            if frames > MAX_JOB_FRAMES:
                raise ServerDied("the worker server sent too many messages for one job")
            kind = message.get("t")
            if kind == "done":
                if running is not None:
                    raise ServerDied(f"the submission's supervisor was lost while {running} ran")
                return
            if kind == "cell" and isinstance(message.get("i"), int):
                run.current_cell = message["i"]
            elif kind == "skipped" and isinstance(message.get("cell"), int):
                run.skipped_cells.append(message["cell"])
            elif kind == "cells":
                run.cells_done = True
                run.cell_errors = [e for e in message.get("errors", []) if isinstance(e, dict)][:50]
            elif kind == "start" and started < len(order) and message.get("fn") == order[started]:
                running = order[started]
                started += 1
                run.outcomes.pop(running, None)
                run.status[running] = (Status.RUNNING, "")
            elif running is None or message.get("fn") != running:
                continue
            elif kind == "need":
                self._send({"t": "cases", "job": job["job"], "fn": running, "cases": cases[running]})
            elif kind == "case" and isinstance(message.get("i"), int) and isinstance(message.get("outcome"), dict):
                run.outcomes.setdefault(running, {})[message["i"]] = CaseOutcome.from_wire(message["outcome"])
            elif kind == "call":
                outcome = (answer(running, str(message.get("target")), message.get("args"), message.get("kwargs"),
                                  seconds[running]) if answer else
                           {"kind": "raised", "exc_types": ["RuntimeError"], "message": "no sibling calls here"})
                self._send({"t": "reply", "job": job["job"], "call": message.get("call"), "outcome": outcome})
            elif kind == "end":
                how = Status.of(message.get("status"))
                run.status[running] = ((how, str(message.get("detail", ""))) if how is not None else
                                       (Status.KILLED, f"the supervisor reported {str(message.get('status'))[:40]!r}"))
                running = None

    def run(self, job: dict, cases: dict[str, list], answer: Answer | None = None) -> SubmissionRun:
        """Run a job (cells, functions, limits: no cases; `cases[name]` are sent on request).
        `answer(...)` answers a graded function's calls along its declared edges."""
        skipped: list[int] = []
        for _ in range(MAX_SKIPPED_CELLS + 1):
            run = SubmissionRun(skipped_cells=list(skipped))
            lost = self._attempt(dict(job, skip=skipped), cases, run, answer)
            if not lost or run.cells_done or run.current_cell is None or run.current_cell in run.skipped_cells:
                break
            # The supervisor died while a notebook cell ran (it was killed from a cell): run the
            # notebook again without that cell, so only what it defines is lost.
            skipped = [*run.skipped_cells, run.current_cell]
        run.cell_errors = [{"cell": i, "type": "ProcessExit",
                            "message": "this cell ended the grading process and was skipped"}
                           for i in run.skipped_cells] + run.cell_errors
        pending = [spec for spec in job["functions"] if spec["name"] not in run.status]
        if pending:
            self._attempt(dict(job, functions=pending, skip=run.skipped_cells), cases, run, answer)
        for spec in job["functions"]:
            run.status.setdefault(spec["name"], (Status.LOST, "the grader's worker was lost before it ran"))
        return run

    def _attempt(self, job: dict, cases: dict[str, list], run: SubmissionRun, answer) -> bool:
        """One try; True when the server or the submission's supervisor was lost."""
        lost = False
        try:
            self._run_once(job, cases, run, answer)
            reason = "the submission's process died while it ran"
        except ServerDied as exc:
            reason = f"the grader's worker was lost while it ran ({exc})"
            lost = True
            self.stop()
        for name, (how, _) in list(run.status.items()):
            if how == Status.RUNNING:
                run.status[name] = (Status.KILLED, reason)
        return lost
