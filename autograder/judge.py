"""Scoring one graded function: outcomes against the reference, points per nbgrader test cell.

Used by both the CLI grader and the nbgrader hidden cells. The judge returns a
:class:`~autograder.verdicts.FunctionVerdict` and writes no sentence: the words a student reads
are made from the verdict by :mod:`autograder.feedback`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from autograder import compare, diagnose, sandbox
from autograder.cases import BuiltCase, FunctionCases
from autograder.course import FROM_SCRATCH
from autograder.verdicts import (
    CaseOutcome,
    Cause,
    CheckVerdict,
    Evidence,
    Failure,
    FailureKind,
    FunctionVerdict,
    GroupState,
    GroupVerdict,
    Problem,
    ProblemKind,
    student_text,
)

#: What a case without an outcome (timeout, crash) failed with, when the caller does not say.
NO_RESULT = Failure(FailureKind.NO_RESULT)
MUTATED = diagnose.Diagnosis("mutated-input")


def judge(spec: FunctionCases, built: list[BuiltCase], student: list, reference: list,
          refs: dict[str, Callable], reference_digests: list[list], problem: Problem | None = None,
          missing: Failure = NO_RESULT) -> FunctionVerdict:
    """Score a function. `student[i]` is case i's outcome (a CaseOutcome, or its wire form), None
    when it produced none (timeout, crash: it fails as `missing` says); `reference[i]` likewise.

    A `problem` (function not defined, ready-made convolution used...) scores every cell 0.
    """
    student = [None if o is None else compare.outcome_of(o) for o in student]
    reference = [compare.outcome_of(o) for o in reference]
    if problem is None and spec.function in FROM_SCRATCH:
        used = _routines_called(student)
        if used:
            problem = Problem(ProblemKind.NOT_FROM_SCRATCH, tuple(used[:3]))
    by_group: dict[tuple[str, int], list[int]] = {}
    for index, item in enumerate(built):
        by_group.setdefault((item.check, item.group), []).append(index)
    checks, evidence = [], []
    for check in spec.checks:
        if not any(item.check == check.cell for item in built):
            continue
        groups, gated, works = [], [], False
        for group_index, group in enumerate(check.groups):
            result = GroupVerdict(group.title, group.points, 0.0 if problem else group.points, group.visible,
                                  GroupState.PASSED)
            indices = by_group.get((check.cell, group_index), [])
            for index in indices:
                failure, diagnoses = _judge_case(spec, built[index], student[index], reference[index], refs,
                                                 reference_digests[index], group, missing)
                if failure:
                    result.earned, result.failure, result.diagnoses = 0.0, failure, diagnoses
                    if not group.check_inputs:
                        evidence.extend(_wrong_array(built[index], student[index], reference[index], failure))
                    break
            if group.check_inputs:
                gated.append((result, "untouched"))
            elif indices and all(not reference[i].returned for i in indices):
                gated.append((result, "refused"))
            elif not group.visible:
                works = works or any(_right_value(spec, group, built[i], student[i], reference[i]) for i in indices)
            groups.append(result)
        # What a function passes by doing nothing (leaving the inputs alone, refusing bad input) pays
        # only once it also returns right values on hidden cases; the visible examples, which every
        # student sees and a constant can match, do not count. Until then the points wait.
        for result, why in gated:
            if result.earned and not works:
                result.earned, result.state = 0.0, GroupState.WAITING
                result.failure = Failure(FailureKind.WAITING, reason=why)
        for result in groups:
            if problem is None and result.failure is not None and result.failure.kind == FailureKind.UNCHECKED:
                result.state = GroupState.WAITING  # it raised where only its inputs are judged: not judged yet
            elif result.state != GroupState.WAITING and result.earned != result.points:
                result.state = GroupState.FAILED
        checks.append(CheckVerdict(check.cell, check.points, groups))
    return FunctionVerdict(spec.function, checks, problem, _cause(checks), evidence=evidence)


def _cause(checks: list[CheckVerdict]) -> Cause | None:
    """The one likely cause (diagnose.best over the failing groups), and whether a visible example
    shows it too."""
    groups = [group for check in checks for group in check.groups]
    best = diagnose.best([group.diagnoses for group in groups])
    if best is None:
        return None
    visible = any(group.visible and any(d.key == best.key for d in group.diagnoses) for group in groups)
    return Cause(best.id, best.params, best.specific, visible)


def _right_value(spec: FunctionCases, group, item: BuiltCase, outcome: CaseOutcome | None,
                 expected: CaseOutcome) -> bool:
    """Whether `outcome` is a right value on this case, one that doing nothing cannot produce: the
    reference returned it, the function returned it too, and it is not one of the case's own
    arguments (returning the image unchanged matches zero_pad with a padding of 0)."""
    if not expected.returned or outcome is None or not outcome.returned:
        return False
    if not compare.compare(outcome, expected, spec.result, any_error=group.any_error).passed:
        return False
    return not any(_same(expected.value, arg) for arg in [*item.case.args, *item.case.kwargs.values()])


def _same(value, arg) -> bool:
    try:
        a, b = np.asarray(value), np.asarray(arg)
        return a.dtype.kind not in "OSUV" and b.dtype.kind not in "OSUV" and a.shape == b.shape \
            and bool(np.array_equal(a, b))
    except (TypeError, ValueError):
        return False


def _judge_case(spec, item: BuiltCase, outcome: CaseOutcome | None, expected: CaseOutcome, refs, digests, group,
                missing: Failure) -> tuple[Failure | None, list]:
    label = item.case.label
    if outcome is None:
        return Failure(**{**_fields(missing), "case": label, "call": call_text(spec.function, item)}), []
    if group.check_inputs:
        # This group judges one thing: the caller's arrays come back unchanged. Wrong values cost
        # points in the other groups, never twice; a function that raised was not checked at all.
        if not outcome.returned:
            return Failure(FailureKind.UNCHECKED, label, raised=student_text(outcome.raised),
                           message=student_text(outcome.message, 200)), []
        if outcome.digests != _frozen(digests):
            return Failure(FailureKind.MUTATED, label), [MUTATED]
        return None, []
    verdict = compare.compare(outcome, expected, spec.result, any_error=group.any_error)
    if verdict.passed:
        return None, []
    diagnoses = []
    if outcome.returned and expected.returned:
        diagnoses = diagnose.diagnose(spec.function, refs, item.case, outcome.value, expected.value)
    failure = Failure(**{**_fields(verdict.failure), "case": label, "call": call_text(spec.function, item)})
    return failure, diagnoses


def _fields(failure: Failure) -> dict:
    return {name: getattr(failure, name) for name in Failure.__dataclass_fields__}


def _frozen(value):
    return tuple(_frozen(v) for v in value) if isinstance(value, list | tuple) else value


def call_text(function: str, item: BuiltCase) -> str:
    """The case's call, e.g. "conv_output_size(7, 3, stride=2)" (arrays by their shape)."""
    case = item.case
    words = [compare.shown(a) if not isinstance(a, np.ndarray) else f"<{a.shape} array>" for a in case.args]
    words += [f"{k}={compare.shown(v)}" for k, v in case.kwargs.items()]
    return f"{function}({', '.join(words)})"


def _wrong_array(item: BuiltCase, outcome: CaseOutcome | None, expected: CaseOutcome,
                 failure: Failure) -> list[Evidence]:
    """A wrong array answer, for the picture (not for raised or missing answers)."""
    if outcome is None or not failure.wrong_value or not isinstance(expected.value, np.ndarray):
        return []
    return [Evidence(item.case.label, item.case.args, expected.value, outcome.value, failure.index)]


def _routines_called(outcomes: list[CaseOutcome | None]) -> list[str]:
    """The ready-made routines a function called, as the student wrote them: the first routine hit
    of each call is the one called directly (later hits are its internals: np.convolve runs
    numpy.correlate), named without private modules (scipy.signal.correlate2d). The tracer's other
    notes (threads, ctypes...) are named only when no routine was seen."""
    routines, notes = [], []
    for outcome in outcomes:
        hits = [student_text(hit, 200) for hit in (outcome.forbidden if outcome is not None else ())]
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
    """Run the reference on every case: its outcomes (in their wire form, as the cache keeps them)
    and the digests of the untouched inputs."""
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
