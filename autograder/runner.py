"""Driving one worker server: send a job, read its messages, survive its death.

A :class:`WorkerServer` pays the interpreter and NumPy start-up once and then grades many
submissions, one at a time (the server forks a fresh process per submission). If a submission
kills the server, corrupts its messages or outlives every deadline, the server is replaced and
the job's unfinished functions are retried once in the new one; the function that was running
when it happened scores 0 with the reason.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from autograder import sandbox, worker

MAX_PROXY_CALLS = 5_000


def _refusal(message: str) -> dict:
    return {"kind": "raised", "exc_types": ["RuntimeError"], "message": message}


class ServerDied(Exception):
    """The worker server stopped answering (killed, crashed, or corrupt output)."""


MAX_SKIPPED_CELLS = 3
SKIPPED_CELL = "pass  # skipped by the grader: this cell ended the grading process"


@dataclass
class SubmissionRun:
    """What the worker reported for one submission."""

    cell_errors: list[dict] = field(default_factory=list)
    cells_done: bool = False
    current_cell: int | None = None
    skipped_cells: list[int] = field(default_factory=list)
    outcomes: dict[str, dict[int, dict]] = field(default_factory=dict)  # function -> case -> outcome
    status: dict[str, tuple[str, str]] = field(default_factory=dict)  # function -> (how, detail)


class WorkerServer:
    def __init__(self, sandbox_level: str = "auto"):
        self.requested = sandbox_level
        self.process: subprocess.Popen | None = None
        self.launch: sandbox.Launch | None = None

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self.launch = sandbox.server_launch(self.requested)
        self.process = subprocess.Popen(
            self.launch.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=self.launch.env, cwd=self.launch.cwd,
            start_new_session=True,
        )
        hello = self._read(time.monotonic() + 60)
        if hello is None or hello.get("t") != "ready":
            self.stop()
            raise ServerDied(f"the worker server did not start ({self.launch.level}): {hello!r}")

    def stop(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                if stream:
                    stream.close()
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
            return worker.read_frame(fd)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ServerDied(f"corrupt message from the worker server: {exc}") from None

    def _answer(self, job: dict, message: dict, running: str | None, answer, calls: int) -> None:
        """Reply to a proxied call from the function being graded (always reply, so it never hangs)."""
        proxies = next((spec.get("proxies", []) for spec in job["functions"] if spec["name"] == running), [])
        name = message.get("fn")
        if answer is None or name not in proxies:
            outcome = _refusal(f"{name!r} cannot be called through the grader here")
        elif calls > MAX_PROXY_CALLS:
            outcome = _refusal(f"more than {MAX_PROXY_CALLS} calls to other graded functions")
        else:
            args = message.get("args") if isinstance(message.get("args"), list) else []
            kwargs = message.get("kwargs") if isinstance(message.get("kwargs"), dict) else {}
            outcome = answer(name, args, kwargs)
        try:
            worker.write_frame(self.process.stdin.fileno(), {"t": "reply", "outcome": outcome})
        except OSError as exc:
            raise ServerDied(f"could not answer a call: {exc}") from None

    def _run_once(self, job: dict, run: SubmissionRun, answer=None) -> None:
        """Send one job; fill `run` until the server says done. Raises ServerDied."""
        if self.process is None or self.process.poll() is not None:
            self.start()
        try:
            worker.write_frame(self.process.stdin.fileno(), job)
        except (BrokenPipeError, OSError) as exc:
            raise ServerDied(f"could not send the job: {exc}") from None
        deadline = time.monotonic() + job["deadline"] + 15
        # Everything in the submission can write to this stream, so only the expected sequence is
        # believed: functions start in job order, once each, and only the running one may report.
        order = [spec["name"] for spec in job["functions"]]
        running, calls, started = None, 0, 0
        while True:
            message = self._read(deadline)
            if message is None:
                raise ServerDied("the worker server stopped answering")
            kind = message.get("t")
            if kind == "call":
                calls += 1
                self._answer(job, message, running, answer, calls)
            elif kind == "cell" and isinstance(message.get("i"), int):
                run.current_cell = message["i"]
            elif kind == "cells":
                run.cells_done = True
                run.cell_errors = [e for e in message.get("errors", []) if isinstance(e, dict)][:50]
            elif kind == "case" and running is not None and message.get("fn") == running:
                index = message.get("i")
                if isinstance(index, int) and isinstance(message.get("outcome"), dict):
                    run.outcomes.setdefault(running, {})[index] = message["outcome"]
            elif kind == "missing" and running is not None and message.get("fn") == running:
                run.status[running] = ("missing", "")
            elif kind == "end" and running is not None and message.get("fn") == running:
                if run.status.get(running, ("",))[0] != "missing":
                    run.status[running] = (str(message.get("status")), str(message.get("detail", "")))
                running = None
            elif kind == "start" and started < len(order) and message.get("fn") == order[started]:
                running = order[started]
                started += 1
                run.outcomes.pop(running, None)
                run.status[running] = ("running", "")
            elif kind == "corrupt":
                raise ServerDied(f"the submission wrote a corrupt message: {message.get('detail')}")
            elif kind == "done":
                if message.get("status") == "timeout":
                    for name, (how, _) in run.status.items():
                        if how == "running":
                            run.status[name] = ("timeout", "the submission ran out of time")
                return

    def run(self, job: dict, answer: Callable[[str, list, dict], dict] | None = None) -> SubmissionRun:
        """Run a job; functions that never started (the submission or the server died first) are
        retried once in a fresh process, and the one that was running is scored as killed.
        `answer(name, args, kwargs)` answers a graded function's calls to its siblings."""
        cells, skipped = list(job["cells"]), []
        for _ in range(MAX_SKIPPED_CELLS + 1):
            run = SubmissionRun(skipped_cells=skipped)
            self._attempt(dict(job, cells=cells), run, answer)
            if run.cells_done or run.current_cell is None or run.current_cell in skipped:
                break
            # The process died while a notebook cell ran (os._exit, killing its parent...): run the
            # notebook again without that cell, so only what it defines is lost.
            skipped.append(run.current_cell)
            cells[run.current_cell] = SKIPPED_CELL
        run.cell_errors = [{"cell": i, "type": "ProcessExit",
                            "message": "this cell ended the grading process and was skipped"}
                           for i in skipped] + run.cell_errors
        pending = [spec for spec in job["functions"] if spec["name"] not in run.status]
        if pending:
            self._attempt(dict(job, cells=cells, functions=pending), run, answer)
        for spec in job["functions"]:
            run.status.setdefault(spec["name"], ("killed", "the grader's worker was lost before it ran"))
        return run

    def _attempt(self, job: dict, run: SubmissionRun, answer) -> None:
        try:
            self._run_once(job, run, answer)
            reason = "the submission's process died while it ran"
        except ServerDied as exc:
            reason = f"the grader's worker was lost while it ran ({exc})"
            self.stop()
        for name, (how, _) in list(run.status.items()):
            if how == "running":
                run.status[name] = ("killed", reason)
