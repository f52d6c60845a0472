"""Grading one submission: notebook -> cells -> worker -> outcomes -> judged against the reference."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import cases, judge, notebooks, reference, worker
from autograder.course import FROM_SCRATCH, Assignment
from autograder.results import Exercise, NotebookResult
from autograder.runner import WorkerServer
from autograder.submissions import Submission

MAX_PROGRAM = 8_000_000  # characters of code in one notebook
MAX_PROXY_ELEMENTS = 4_000_000  # values in one sibling call answered by the reference
MAX_PROXY_REPLY = 800_000  # bytes of an encoded answer (the reply pipe holds 1 MiB)


@dataclass
class Limits:
    """Per-submission limits (see README, "Grading a class")."""

    timeout: float = 10.0  # seconds per graded function, and per notebook cell
    memory_mb: int = 2048
    processes: int = 64

    def job_limits(self, functions: int) -> dict:
        return {"memory_bytes": self.memory_mb * 1024 * 1024,
                "cpu_seconds": int(self.timeout * (functions + 3)) + 5,
                "processes": self.processes}


@dataclass
class Prepared:
    """The cases of every graded function and the reference's outcomes on them."""

    built: dict[str, list[cases.BuiltCase]]
    expected: dict[str, list[dict]]
    digests: dict[str, list[list]]
    encoded: dict[str, list[dict]]


@dataclass
class Context:
    """Everything that is the same for all submissions of an assignment in one run."""

    root: Path
    assignment: Assignment
    limits: Limits = field(default_factory=Limits)
    per_student_seeds: bool = False

    def __post_init__(self):
        self.refs = reference.load(self.root, self.assignment)
        self.specs = cases.for_assignment(self.assignment.name)
        self.release = notebooks.read(self.assignment.release_path(self.root))
        self.manual = [c for c in notebooks.grade_cells(self.release) if c.kind != "test"]
        self._prepared: dict[str | None, Prepared] = {}

    def siblings(self, name: str) -> list[str]:
        """The other graded functions: while `name` is judged, calls to them get the reference's
        answer, so a bug (or a gap) in one function never costs points in another."""
        return [other for other in self.assignment.functions if other != name]

    def answer(self, name: str, args: list, kwargs: dict) -> dict:
        """The reference's outcome for a sibling call made by student code (untrusted input)."""
        try:
            values = [worker.decode(a) for a in args]
            named = {str(k): worker.decode(v) for k, v in kwargs.items()}
        except Exception as exc:  # noqa: BLE001 - malformed data from the sandbox
            return {"kind": "raised", "exc_types": ["RuntimeError"], "message": f"unreadable call: {exc}"}
        size = sum(getattr(v, "size", 1) for v in [*values, *named.values()])
        if size > MAX_PROXY_ELEMENTS:
            return {"kind": "raised", "exc_types": ["RuntimeError"],
                    "message": f"call to {name} with {size} values: too large to answer"}
        outcome = worker.call_traced(self.refs[name], values, named, trace=False)
        if outcome["kind"] == "returned" and len(str(outcome["value"])) > MAX_PROXY_REPLY:
            return {"kind": "raised", "exc_types": ["RuntimeError"], "message": f"{name}'s result is too large"}
        return {key: outcome[key] for key in ("kind", "value", "exc_types", "message") if key in outcome}

    def prepared(self, student: str) -> Prepared:
        key = student if self.per_student_seeds else None
        if key not in self._prepared:
            built, expected, digests, encoded = {}, {}, {}, {}
            for name in self.assignment.functions:
                spec = self.specs[name]
                built[name] = cases.build(self.assignment.name, spec, key)
                expected[name], digests[name] = judge.reference_outcomes(self.refs, spec, built[name])
                encoded[name] = [{"args": [worker.encode(a) for a in item.case.args],
                                  "kwargs": {k: worker.encode(v) for k, v in item.case.kwargs.items()}}
                                 for item in built[name]]
            self._prepared[key] = Prepared(built, expected, digests, encoded)
        return self._prepared[key]


def error_result(ctx: Context, submission: Submission, message: str, level: str = "") -> NotebookResult:
    exercises = [Exercise(name, 0.0, sum(check.points for check in ctx.specs[name].checks),
                          f"{name}: not graded: {message}") for name in ctx.assignment.functions]
    exercises += [Exercise(cell.grade_id, None, cell.points, "graded by hand") for cell in ctx.manual]
    return NotebookResult(submission.student, ctx.assignment.name, submission.path.stem, str(submission.path),
                          "error", message, 0.0, _max(exercises), exercises, level)


def _max(exercises) -> float:
    return round(sum(e.max_score for e in exercises), 4)


def grade(ctx: Context, submission: Submission, server: WorkerServer) -> NotebookResult:
    start = time.monotonic()
    if submission.problem:
        return error_result(ctx, submission, submission.problem, server.level)
    try:
        nb = notebooks.read(submission.path)
    except notebooks.NotebookError as exc:
        return error_result(ctx, submission, str(exc), server.level)
    program = notebooks.student_program(nb, ctx.release)
    size = sum(len(code) for code in program)
    if size > MAX_PROGRAM:
        return error_result(ctx, submission, f"the notebook's code cells hold {size} characters (more than "
                                             f"{MAX_PROGRAM}): remove pasted data or outputs from code cells",
                            server.level)
    prepared = ctx.prepared(submission.student)
    limits = ctx.limits
    functions = [{"name": name, "cases": prepared.encoded[name], "seconds": limits.timeout,
                  "trace": name in FROM_SCRATCH, "proxies": ctx.siblings(name)} for name in ctx.assignment.functions]
    job = {"cells": program, "functions": functions, "cell_seconds": limits.timeout,
           "limits": limits.job_limits(len(functions)),
           "deadline": limits.timeout * (len(program) + len(functions)) + 5}
    run = server.run(job, ctx.answer)
    exercises = [_judge_function(ctx, prepared, name, run) for name in ctx.assignment.functions]
    exercises += [Exercise(cell.grade_id, None, cell.points, "graded by hand") for cell in ctx.manual]
    score = round(sum(e.score or 0.0 for e in exercises), 4)
    return NotebookResult(submission.student, ctx.assignment.name, submission.path.stem, str(submission.path),
                          "graded", None, score, _max(exercises), exercises, server.level,
                          round(time.monotonic() - start, 3))


def _judge_function(ctx: Context, prepared: Prepared, name: str, run) -> Exercise:
    spec = ctx.specs[name]
    built = prepared.built[name]
    got = run.outcomes.get(name, {})
    outcomes = [got.get(i) for i in range(len(built))]
    how, detail = run.status.get(name, ("killed", "no result from the worker"))
    problem = None
    if how == "missing":
        problem = f"{name} is not defined" + _cell_hint(run.cell_errors)
    missing_reason = {"ok": "no result: the process exited before answering (sys.exit or os._exit?)",
                      "timeout": f"no result: {detail or 'time limit'} ({ctx.limits.timeout:g} s per function)",
                      "crashed": f"no result: {detail}", "exited": f"no result: {detail}",
                      "killed": f"no result: {detail}"}.get(how, f"no result ({how})")
    result = judge.judge(spec, built, outcomes, prepared.expected[name], ctx.refs, prepared.digests[name],
                         problem=problem, missing_reason=missing_reason)
    cells = {check.cell: check.earned for check in result.checks}
    return Exercise(name, result.score, result.max_score, result.feedback(), cells, result.figure())


def _cell_hint(errors: list[dict]) -> str:
    if not errors:
        return ": write it in its solution cell, keeping the name and signature"
    first = errors[0]
    return (f"; a cell failed before it could be defined ({first.get('type')}: "
            f"{str(first.get('message'))[:200]})")
