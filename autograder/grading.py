"""Grading one submission: notebook -> static policy -> cells run in the sandbox -> outcomes ->
judged against the reference."""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder import cases, feedback, judge, notebooks, outcome_cache, reference
from autograder.course import FROM_SCRATCH, SIBLING_EDGES, Assignment, course_secret
from autograder.results import Exercise, NotebookResult
from autograder.sandbox import encode, policy
from autograder.sandbox.runner import MAX_SKIPPED_CELLS, WorkerServer
from autograder.sibling_calls import BUDGET_TIMEOUTS, Budget, ReferenceCalls, count_elements, refusal
from autograder.submissions import Submission
from autograder.verdicts import (
    UNTRUSTED_ENDS,
    CaseOutcome,
    CheckVerdict,
    Failure,
    FailureKind,
    FunctionVerdict,
    GroupState,
    GroupVerdict,
    NotRun,
    Problem,
    ProblemKind,
    Status,
    student_text,
)

MAX_PROGRAM = 8_000_000  # characters of code in one notebook
MAX_NOT_RUN = 6  # unrun cells named in the feedback


@dataclass
class Limits:
    """Per-submission limits (see README, "Grading a class")."""

    timeout: float = 10.0  # seconds per graded function, and per notebook cell
    memory_mb: int = 2048
    processes: int = 64

    @property
    def cells_budget(self) -> float:
        """Seconds for all of a notebook's cells together, in each graded function's process
        (however many cells there are: a notebook of many slow cells cannot stall a worker)."""
        return 3 * self.timeout

    def job_limits(self, functions: int) -> dict:
        return {"memory_bytes": self.memory_mb * 1024 * 1024,
                "cpu_seconds": int(self.cells_budget + self.timeout) + 5,
                "processes": self.processes}


@dataclass
class Prepared:
    """The cases of every graded function and the reference's outcomes on them."""

    built: dict[str, list[cases.BuiltCase]]
    expected: dict[str, list[dict]]  # the reference's outcomes, in their wire form (as the cache keeps them)
    digests: dict[str, list[list]]
    encoded: dict[str, list[dict]]
    #: the reference's outcomes decoded, once for every submission judged against them
    reference: dict[str, list[CaseOutcome]] = field(default_factory=dict)

    def __post_init__(self):
        if not self.reference:
            self.reference = {name: [CaseOutcome.from_wire(o) for o in outcomes]
                              for name, outcomes in self.expected.items()}


@dataclass
class Context:
    """Everything that is the same for all submissions of an assignment in one run."""

    root: Path
    assignment: Assignment
    limits: Limits = field(default_factory=Limits)
    per_student_seeds: bool = False
    static_policy: bool = True  # off only in tests of the sandbox's own containment

    def __post_init__(self):
        self.refs = reference.Lazy(self.root, self.assignment)
        self.secret = course_secret(self.root)
        self.specs = cases.for_assignment(self.assignment.name)
        self.release = notebooks.read_trusted(self.assignment.release_path(self.root))
        self.manual = [c for c in notebooks.grade_cells(self.release) if c.kind != "test"]
        self._prepared: dict[str | None, Prepared] = {}
        self._largest_case: dict[str, int] = {}
        self._answerers: queue.SimpleQueue[ReferenceCalls] = queue.SimpleQueue()

    def siblings(self, name: str) -> list[str]:
        """The graded functions `name` may build on (its declared edges): while `name` is judged,
        calls to them get the reference's answer, so a bug in one costs points there only."""
        return [other for other in SIBLING_EDGES.get(name, ()) if other in self.assignment.functions]

    @property
    def answer(self) -> Callable[[str, str, list, dict, float], dict]:
        """What answers ONE submission's sibling calls (runner.Answer): each read of this property
        gives a fresh answerer with its own budget (grade() reads it once per submission).

        ``answer(caller, name, args, kwargs, seconds)`` is the reference's outcome for a call from
        `caller` to `name` made by student code: only along a declared edge, no larger than
        `caller`'s largest case (sibling_calls.count_elements, the same count as the cases'), within
        `seconds` and the submission's budget (sibling_calls.BUDGET_TIMEOUTS timeouts of the
        reference's time for all its calls), and in a process of its own (arguments are untrusted)."""
        budget = Budget(BUDGET_TIMEOUTS * self.limits.timeout)

        def answer(caller: str, name: str, args, kwargs, seconds: float) -> dict:
            if name not in self.siblings(caller):
                return refusal(f"{name!r} cannot be called through the grader from {caller}")
            try:
                answerer = self._answerers.get_nowait()
            except queue.Empty:
                answerer = ReferenceCalls(self.root, self.assignment.name)
            try:
                return answerer.call(name, args, kwargs, self.largest_case(caller), seconds, budget)
            finally:
                self._answerers.put(answerer)

        return answer

    def largest_case(self, name: str) -> int:
        """The number of values in `name`'s largest case (sibling_calls.count_elements), the most a
        call from `name` to a function it builds on may hold; 0 before its cases are prepared."""
        return self._largest_case.get(name, 0)

    def add_answerer(self, answerer: ReferenceCalls) -> None:
        """A sibling-call answerer started ahead of the run (its process start-up overlapped ours)."""
        self._answerers.put(answerer)

    def close(self) -> None:
        """Stop the processes that answer sibling calls (they also end with the grader)."""
        while True:
            try:
                self._answerers.get_nowait().stop()
            except queue.Empty:
                return

    def prepared(self, student: str) -> Prepared:
        key = student if self.per_student_seeds else None
        if key not in self._prepared:
            self._prepared[key] = self._prepare(key)
        return self._prepared[key]

    def _prepare(self, seed: str | None) -> Prepared:
        """Cases and the reference's outcomes; for the shared seed, from the cache when nothing
        they depend on changed (autograder.outcome_cache)."""
        functions = self.assignment.functions
        cached = under = None
        if seed is None:
            under = outcome_cache.key(self.root, self.assignment, seed)
            cached = outcome_cache.load(self.root, self.assignment, under)
        if cached is not None:
            built, expected, digests = cached
        else:
            built, expected, digests = {}, {}, {}
            for name in functions:
                built[name] = cases.build(self.assignment.name, self.specs[name], seed, secret=self.secret)
                expected[name], digests[name] = judge.reference_outcomes(self.refs, self.specs[name], built[name])
            if seed is None:
                outcome_cache.save(self.root, self.assignment, under, built, expected, digests)
        encoded = {}
        for name in functions:
            checks = {check.cell: check for check in self.specs[name].checks}
            # "verify": the case judges whether the inputs come back unchanged, which the sandbox's
            # supervisor sees for itself (the function's process only claims it)
            encoded[name] = [{"args": [encode(a) for a in item.case.args],
                              "kwargs": {k: encode(v) for k, v in item.case.kwargs.items()},
                              "verify": checks[item.check].groups[item.group].check_inputs,
                              "visible": checks[item.check].groups[item.group].visible} for item in built[name]]
            # measured as a call is (on the encoded form), so a case's own inputs pass in any form
            largest = max((count_elements(case["args"], case["kwargs"]) for case in encoded[name]), default=0)
            self._largest_case[name] = max(self._largest_case.get(name, 0), largest)
        return Prepared(built, expected, digests, encoded)


def error_result(ctx: Context, submission: Submission, message: str, level: str = "") -> NotebookResult:
    exercises = []
    for name in ctx.assignment.functions:
        verdict = not_graded(ctx.specs[name], message)
        exercises.append(Exercise(name, 0.0, verdict.max_score, feedback.text(verdict), verdict=verdict))
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
    # Read before anything runs: a violation costs the functions it touches, whatever the run says.
    violations = policy.check(program, ctx.assignment.functions, FROM_SCRATCH, SIBLING_EDGES) \
        if ctx.static_policy else {}
    prepared = ctx.prepared(submission.student)
    limits = ctx.limits
    functions = [{"name": name, "seconds": limits.timeout, "trace": name in FROM_SCRATCH,
                  "edges": ctx.siblings(name)} for name in ctx.assignment.functions]
    # the whole submission's wall-clock budget does not grow with its number of cells
    job = {"cells": program, "functions": functions, "cell_seconds": limits.timeout,
           "cells_budget": limits.cells_budget, "limits": limits.job_limits(len(functions)),
           "deadline": (limits.cells_budget + limits.timeout + 10) * (len(functions) + MAX_SKIPPED_CELLS)}
    run = server.run(job, prepared.encoded, ctx.answer)
    lost = [f"{name}: {detail}" for name, (how, detail) in run.status.items() if how == Status.LOST]
    if lost:
        return error_result(ctx, submission, "the grader's worker was lost; grade this notebook again "
                                             f"({'; '.join(lost)[:300]})", server.level)
    exercises = [_judge_function(ctx, prepared, name, run, violations.get(name), program)
                 for name in ctx.assignment.functions]
    exercises += [Exercise(cell.grade_id, None, cell.points, "graded by hand") for cell in ctx.manual]
    score = round(sum(e.score or 0.0 for e in exercises), 4)
    return NotebookResult(submission.student, ctx.assignment.name, submission.path.stem, str(submission.path),
                          "graded", None, score, _max(exercises), exercises, server.level,
                          round(time.monotonic() - start, 3))


def not_graded(spec: cases.FunctionCases, reason: str) -> FunctionVerdict:
    """The verdict of a function whose submission could not be graded: 0 in every group."""
    checks = [CheckVerdict(check.cell, check.points,
                           [GroupVerdict(g.title, g.points, 0.0, g.visible,
                                         GroupState.PASSED if g.points == 0 else GroupState.FAILED)
                            for g in check.groups]) for check in spec.checks]
    return FunctionVerdict(spec.function, checks, Problem(ProblemKind.NOT_GRADED, reason=student_text(reason, 10_000)))


def _judge_function(ctx: Context, prepared: Prepared, name: str, run, violation=None,
                    program: list[str] = ()) -> Exercise:
    spec = ctx.specs[name]
    built = prepared.built[name]
    how, detail = run.status.get(name, (Status.KILLED, "no result from the worker"))
    # A process that broke the protocol or left helpers running loses every claim it made.
    got = {} if how in UNTRUSTED_ENDS else run.outcomes.get(name, {})
    outcomes = [got.get(i) for i in range(len(built))]
    problem = None if violation is None else Problem(ProblemKind.POLICY, violation=violation)
    if problem is None and how == Status.MISSING:
        problem = _missing(run.cell_errors)
    missing = Failure(FailureKind.NO_RESULT, status=how, detail=student_text(detail), seconds=ctx.limits.timeout)
    verdict = judge.judge(spec, built, outcomes, prepared.reference[name], ctx.refs, prepared.digests[name],
                          problem=problem, missing=missing)
    verdict.not_run, verdict.not_run_more = unrun_cells(run.cell_errors, program)
    cells = {check.cell: check.earned for check in verdict.checks}
    return Exercise(name, verdict.score, verdict.max_score, feedback.text(verdict), cells, feedback.picture(verdict),
                    verdict)


def unrun_cells(errors: list[dict], program: list[str]) -> tuple[list[NotRun], int]:
    """The cells the time budget left unrun (or stopped), if any: the first few, and how many more."""
    late = [e.get("cell") for e in errors if e.get("type") in ("NotRun", "Stopped")]
    named = []
    for index in late[:MAX_NOT_RUN]:
        first = next((line.strip() for line in program[index].splitlines() if line.strip()), "") \
            if isinstance(index, int) and 0 <= index < len(program) else ""
        named.append(NotRun(student_text(index, 40), student_text(first, 40)))
    return named, max(len(late) - MAX_NOT_RUN, 0)


def _missing(errors: list[dict]) -> Problem:
    """The function is not defined: the first cell that failed, if one did."""
    if not errors:
        return Problem(ProblemKind.MISSING)
    first = errors[0]
    return Problem(ProblemKind.MISSING, error_type=student_text(first.get("type"), 100),
                   error_message=student_text(first.get("message"), 200))
