"""Scoring one graded function: outcomes against the reference, points per nbgrader test cell,
and the feedback a student reads. Used by both the CLI grader and the nbgrader hidden cells."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from autograder import compare, diagnose, sandbox
from autograder.cases import BuiltCase, FunctionCases
from autograder.course import FROM_SCRATCH


@dataclass
class GroupResult:
    title: str
    points: float
    earned: float
    failure: str | None = None  # the first failing case and why
    diagnoses: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    cell: str
    points: float
    groups: list[GroupResult]

    @property
    def earned(self) -> float:
        return round(sum(group.earned for group in self.groups), 4)


@dataclass
class FunctionResult:
    name: str
    checks: list[CheckResult]
    problem: str | None = None  # a reason that overrides every case (missing, not from scratch...)

    @property
    def score(self) -> float:
        return round(sum(check.earned for check in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(check.points for check in self.checks), 4)

    def feedback(self, checks: list[CheckResult] | None = None) -> str:
        """What the student reads: a line per group of cases (of `checks`, default all)."""
        checks = self.checks if checks is None else checks
        earned, points = sum(c.earned for c in checks), sum(c.points for c in checks)
        cells = "" if checks is self.checks else f" ({', '.join(c.cell for c in checks)})"
        lines = [f"{self.name}{cells}: {_fmt(earned)} / {_fmt(points)}"]
        if self.problem:
            lines.append(f"  {self.problem}")
        for check in checks:
            for group in check.groups:
                mark = "ok " if group.earned == group.points else "FAIL"
                lines.append(f"  [{mark}] {group.title} ({_fmt(group.earned)}/{_fmt(group.points)})")
                if group.failure:
                    lines.append(f"         {group.failure}")
                lines.extend(f"         likely cause: {text}" for text in group.diagnoses)
        return "\n".join(lines)


def _fmt(value: float) -> str:
    return f"{value:g}"


def judge(spec: FunctionCases, built: list[BuiltCase], student: list[dict | None],
          reference: list[dict], refs: dict[str, Callable], reference_digests: list[list],
          problem: str | None = None, missing_reason: str = "no result") -> FunctionResult:
    """Score a function. `student[i]` is None when case i produced no outcome (timeout, crash).

    A `problem` (function not defined, ready-made convolution used...) scores every cell 0.
    """
    if problem is None and spec.function in FROM_SCRATCH:
        used = sorted({hit for outcome in student if outcome for hit in outcome.get("forbidden", [])})
        if used:
            problem = ("not from scratch: the call used " + ", ".join(used[:3]) +
                       "; this function earns no points (see the assignment's rules)")
    by_group: dict[tuple[str, int], list[int]] = {}
    for index, item in enumerate(built):
        by_group.setdefault((item.check, item.group), []).append(index)
    checks = []
    for check in spec.checks:
        if not any(item.check == check.cell for item in built):
            continue
        groups, refusals, works = [], [], False
        for group_index, group in enumerate(check.groups):
            result = GroupResult(group.title, group.points, 0.0 if problem else group.points)
            indices = by_group.get((check.cell, group_index), [])
            for index in indices:
                failure, diagnoses = _judge_case(spec, built[index], student[index], reference[index],
                                                 refs, reference_digests[index], group, missing_reason)
                if failure:
                    result.earned = 0.0
                    result.failure = f"{built[index].case.label}: {failure}"
                    result.diagnoses = diagnoses
                    break
                works = works or reference[index]["kind"] == "returned"
            if indices and all(reference[i]["kind"] == "raised" for i in indices):
                refusals.append(result)
            groups.append(result)
        # Refusing bad input earns points only from a function that also computes right answers
        # in the same test cell: "always raise ValueError" must not collect them.
        for result in refusals:
            if result.earned and not works:
                result.earned = 0.0
                result.failure = "refusing bad input counts only when the function also returns correct results"
        checks.append(CheckResult(check.cell, check.points, groups))
    return FunctionResult(spec.function, checks, problem)


def _judge_case(spec, item: BuiltCase, outcome, expected, refs, digests, group, missing_reason):
    if outcome is None:
        return missing_reason, []
    verdict = compare.compare(outcome, expected, spec.result, any_error=group.any_error)
    if not verdict.passed:
        diagnoses = []
        if outcome["kind"] == "returned" and expected["kind"] == "returned":
            diagnoses = diagnose.diagnose(spec.function, refs, item.case, compare.value_of(outcome),
                                          compare.value_of(expected))
        return verdict.detail, diagnoses
    if group.check_inputs and outcome.get("digests") != digests:
        return ("an input array was modified in place",
                ["mutated input: work on a copy (e.g. image = image.astype(float)) instead of "
                 "changing the caller's array"])
    return None, []


def reference_outcomes(refs: dict[str, Callable], spec: FunctionCases, built: list[BuiltCase]):
    """Run the reference on every case: its outcomes and the digests of the untouched inputs."""
    function = refs[spec.function]
    outcomes, digests = [], []
    for item in built:
        args, kwargs = item.case.args, item.case.kwargs
        digests.append([sandbox.digest(a) for a in args] + [sandbox.digest(kwargs[k]) for k in sorted(kwargs)])
        outcome = sandbox.call_traced(function, tuple(copy_value(a) for a in args),
                                     {k: copy_value(v) for k, v in kwargs.items()},
                                     trace=False)
        if outcome["kind"] == "raised" and outcome["exc_types"][0] not in ("ValueError", "TypeError"):
            raise RuntimeError(f"reference {spec.function} failed on {item.case.label}: "
                               f"{outcome['exc_types'][0]}: {outcome['message']}")
        outcomes.append(outcome)
    return outcomes, digests


def copy_value(value):
    """A fresh copy of an array argument, so no call can change the cases' own arrays."""
    return value.copy() if hasattr(value, "copy") and hasattr(value, "dtype") else value
