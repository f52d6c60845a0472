"""Scoring one graded function: outcomes against the reference, points per nbgrader test cell,
and the feedback a student reads. Used by both the CLI grader and the nbgrader hidden cells."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from autograder import compare, diagnose, pictures, sandbox
from autograder.cases import BuiltCase, FunctionCases
from autograder.course import FROM_SCRATCH


@dataclass
class GroupResult:
    title: str
    points: float
    earned: float
    failure: str | None = None  # the first failing case and why (or why the points wait)
    diagnoses: list[diagnose.Diagnosis] = field(default_factory=list)
    waiting: bool = False  # passed on its own merits, held until the function returns right values


@dataclass
class FailedCase:
    """A failing case with everything a picture or a table of it needs (plain values only)."""

    label: str
    cell: str
    call: str  # e.g. "conv_output_size(7, 3, stride=2)"
    inputs: tuple
    expected: object
    actual: object


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
    failed: list[FailedCase] = field(default_factory=list)  # cases answered with a wrong value, in order

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
                mark = "wait" if group.waiting else "ok " if group.earned == group.points else "FAIL"
                lines.append(f"  [{mark}] {group.title} ({_fmt(group.earned)}/{_fmt(group.points)})")
                if group.failure:
                    lines.append(f"         {group.failure}")
        cause = diagnose.best([group.diagnoses for check in checks for group in check.groups])
        if cause is not None:
            lines.append(f"  likely cause: {cause}")
        lines.extend(self.table(checks))
        return "\n".join(lines)

    def table(self, checks: list[CheckResult] | None = None, rows: int = 6) -> list[str]:
        """For functions returning sizes: the failing calls with expected and returned values."""
        cells = {c.cell for c in (self.checks if checks is None else checks)}
        failed = [f for f in self.failed if f.cell in cells and not isinstance(f.expected, np.ndarray)]
        if not failed:
            return []
        body = [(f.call, compare.shown(f.expected), compare.shown(f.actual)) for f in failed[:rows]]
        header = ("call", "expected", "returned")
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(3)]
        lines = ["  wrong values:"]
        for row in [header, *body]:
            padded = (text.ljust(width) for text, width in zip(row, widths, strict=True))
            lines.append(("    " + "  ".join(padded)).rstrip())
        if len(failed) > rows:
            lines.append(f"    ... and {len(failed) - rows} more")
        return lines

    def first_array_failure(self) -> FailedCase | None:
        """The first case answered with a wrong array (what the feedback picture shows)."""
        return next((f for f in self.failed if isinstance(f.expected, np.ndarray)), None)

    def figure(self) -> str | None:
        """The feedback picture of the first wrong array, as base64 PNG (None if there is none)."""
        failed = self.first_array_failure()
        if failed is None:
            return None
        return pictures.failure_png_base64(f"{self.name}: {failed.label}", failed.inputs, failed.expected,
                                           failed.actual)


def _fmt(value: float) -> str:
    return f"{value:g}"


def judge(spec: FunctionCases, built: list[BuiltCase], student: list[dict | None],
          reference: list[dict], refs: dict[str, Callable], reference_digests: list[list],
          problem: str | None = None, missing_reason: str = "no result") -> FunctionResult:
    """Score a function. `student[i]` is None when case i produced no outcome (timeout, crash).

    A `problem` (function not defined, ready-made convolution used...) scores every cell 0.
    """
    if problem is None and spec.function in FROM_SCRATCH:
        used = _routines_called(student)
        if used:
            problem = ("not from scratch: the call used " + ", ".join(used[:3]) +
                       "; this function earns no points (see the assignment's rules)")
    by_group: dict[tuple[str, int], list[int]] = {}
    for index, item in enumerate(built):
        by_group.setdefault((item.check, item.group), []).append(index)
    checks, failed = [], []
    for check in spec.checks:
        if not any(item.check == check.cell for item in built):
            continue
        groups, gated, works = [], [], False
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
                    if not group.check_inputs:
                        failed.extend(_wrong_value(spec.function, built[index], student[index],
                                                   reference[index]))
                    break
            if group.check_inputs:
                gated.append((result, UNTOUCHED_WAITS))
            elif indices and all(reference[i]["kind"] == "raised" for i in indices):
                gated.append((result, REFUSED_WAITS))
            elif not group.visible:
                works = works or any(_right_value(spec, group, built[i], student[i], reference[i]) for i in indices)
            groups.append(result)
        # What a function passes by doing nothing (leaving the inputs alone, refusing bad input) pays
        # only once it also returns right values on hidden cases; the visible examples, which every
        # student sees and a constant can match, do not count. Until then the points wait.
        for result, why in gated:
            if result.earned and not works:
                result.earned, result.failure, result.waiting = 0.0, why, True
        checks.append(CheckResult(check.cell, check.points, groups))
    return FunctionResult(spec.function, checks, problem, failed)


WAITS = ("this group's points are given once the function also returns right values on hidden cases "
         "(the visible examples alone do not count)")
UNTOUCHED_WAITS = f"the inputs came back unchanged; {WAITS}"
REFUSED_WAITS = f"bad input was refused as asked; {WAITS}"


def _right_value(spec: FunctionCases, group, item: BuiltCase, outcome, expected) -> bool:
    """Whether `outcome` is a right value on this case, one that doing nothing cannot produce: the
    reference returned it, the function returned it too, and it is not one of the case's own
    arguments (returning the image unchanged matches zero_pad with a padding of 0)."""
    if expected["kind"] != "returned" or not isinstance(outcome, dict) or outcome.get("kind") != "returned" \
            or "value" not in outcome:
        return False
    if not compare.compare(outcome, expected, spec.result, any_error=group.any_error).passed:
        return False
    value = compare.value_of(expected)
    return not any(_same(value, arg) for arg in [*item.case.args, *item.case.kwargs.values()])


def _same(value, arg) -> bool:
    try:
        a, b = np.asarray(value), np.asarray(arg)
        return a.dtype.kind not in "OSUV" and b.dtype.kind not in "OSUV" and a.shape == b.shape \
            and bool(np.array_equal(a, b))
    except (TypeError, ValueError):
        return False


MUTATED = diagnose.Diagnosis("mutated input", "work on a copy (e.g. image = image.astype(float)) instead of "
                                              "changing the caller's array")


def _judge_case(spec, item: BuiltCase, outcome, expected, refs, digests, group, missing_reason):
    if outcome is None:
        return missing_reason, []
    if group.check_inputs:
        # This group judges one thing: the caller's arrays come back unchanged. Wrong values cost
        # points in the other groups, never twice; a function that raised was not checked at all.
        if outcome["kind"] == "raised":
            return (f"raised {outcome['exc_types'][0]}: {outcome['message'][:200]} (so whether the inputs "
                    "stay unchanged could not be checked)"), []
        if outcome.get("digests") != digests:
            return "an input array was modified in place", [MUTATED]
        return None, []
    verdict = compare.compare(outcome, expected, spec.result, any_error=group.any_error)
    if not verdict.passed:
        diagnoses = []
        if outcome["kind"] == "returned" and expected["kind"] == "returned":
            diagnoses = diagnose.diagnose(spec.function, refs, item.case, compare.value_of(outcome),
                                          compare.value_of(expected))
        return verdict.detail, diagnoses
    return None, []


def _wrong_value(function: str, item: BuiltCase, outcome, expected) -> list[FailedCase]:
    """The failing case as a FailedCase, when both sides returned a value (not for raised/missing)."""
    if not outcome or outcome["kind"] != "returned" or expected["kind"] != "returned":
        return []
    case = item.case
    words = [compare.shown(a) if not isinstance(a, np.ndarray) else f"<{a.shape} array>" for a in case.args]
    words += [f"{k}={compare.shown(v)}" for k, v in case.kwargs.items()]
    return [FailedCase(case.label, item.check, f"{function}({', '.join(words)})", case.args,
                       compare.value_of(expected), compare.value_of(outcome))]


def _routines_called(outcomes: list[dict | None]) -> list[str]:
    """The ready-made routines a function called, as the student wrote them: the first routine hit
    of each call is the one called directly (later hits are its internals: np.convolve runs
    numpy.correlate), named without private modules (scipy.signal.correlate2d). The tracer's other
    notes (threads, ctypes...) are named only when no routine was seen."""
    routines, notes = [], []
    for outcome in outcomes:
        hits = (outcome or {}).get("forbidden") or []
        named = [_routine(hit) for hit in hits if _routine(hit)]
        if named and named[0] not in routines:
            routines.append(named[0])
        notes.extend(hit for hit in hits if not _routine(hit) and hit not in notes)
    return routines or notes


def _routine(hit: str) -> str | None:
    """'scipy.signal._signaltools.correlate2d' -> 'scipy.signal.correlate2d'; None for a note."""
    dotted = hit.split(" (")[0]
    if not re.fullmatch(r"[A-Za-z_][\w.]*\.\w+", dotted) or dotted.startswith(("ctypes", "cffi", "os.")):
        return None
    return re.sub(r"\._\w+(?=\.)", "", dotted)


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
