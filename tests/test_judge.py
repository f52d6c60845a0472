"""The judge: outcomes against the reference's, points per group and test cell, the first failing
case of each group as data, the one ranked cause, and the ready-made routines a function used.

Judged in this process on a small function of our own (`double`, where every outcome is easy to
predict) and on the course's conv2d.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder import cases, feedback, judge, sandbox
from autograder.cases import Case, Check, FunctionCases, Group
from autograder.verdicts import (
    CaseOutcome,
    Failure,
    FailureKind,
    GroupState,
    Problem,
    ProblemKind,
    Status,
    Summary,
)
from tests.test_compare import judged


def double(n):
    if type(n) is not int:
        raise TypeError("n must be an int")
    return 2 * n


def numbers(*values):
    return lambda rng: [Case(f"n={v!r}", (v,)) for v in values]


SPEC = FunctionCases("double", "int", (
    Check("test_double_hidden", (
        Group("the notebook's visible examples", 1, numbers(1), visible=True),
        Group("small numbers", 2, numbers(2, 3, 4)),
        Group("refuses what is not an int", 1, numbers("x", 2.0)),
    )),
    Check("test_double_more", (
        Group("large numbers", 1, numbers(10**6)),
    )),
))
BUILT = cases.build("ps1", SPEC)


def outcomes(function):
    return [sandbox.call_traced(function, item.case.args, item.case.kwargs, trace=False) for item in BUILT]


def verdict_of(function, **options):
    expected, digests = judge.reference_outcomes({"double": double}, SPEC, BUILT)
    return judge.judge(SPEC, BUILT, outcomes(function), expected, {"double": double}, digests, **options)


def states(verdict):
    return [(group.title, group.state, group.earned) for _, group in verdict.groups]


def test_a_right_function_earns_every_group_in_every_cell():
    verdict = verdict_of(double)
    assert [check.cell for check in verdict.checks] == ["test_double_hidden", "test_double_more"]
    assert [(c.points, c.earned) for c in verdict.checks] == [(4, 4), (1, 1)]
    assert (verdict.score, verdict.max_score) == (5, 5)
    assert all(group.failure is None and group.state == GroupState.PASSED for _, group in verdict.groups)
    assert (verdict.problem, verdict.cause, verdict.evidence) == (None, None, [])


def test_a_group_pays_only_when_all_its_cases_pass_and_keeps_its_first_failure():
    verdict = verdict_of(lambda n: double(n) + (n == 3))  # wrong on n=3 only, by one
    assert states(verdict) == [("the notebook's visible examples", GroupState.PASSED, 1),
                               ("small numbers", GroupState.FAILED, 0),
                               ("refuses what is not an int", GroupState.PASSED, 1),
                               ("large numbers", GroupState.PASSED, 1)]
    failure = verdict.checks[0].groups[1].failure
    assert failure == Failure(FailureKind.UNEQUAL, "n=3", "double(3)", Summary("other", "int", repr="6", shown="6"),
                              Summary("other", "int", repr="7", shown="7"))
    assert verdict.cause.id == "size-off-by-one" and not verdict.cause.specific and not verdict.cause.visible
    assert verdict.score == 3
    assert feedback.words.table_rows(verdict) == [("double(3)", "6", "7", False)]


def test_refusing_bad_input_pays_only_once_a_hidden_value_is_right():
    refuses_all = verdict_of(lambda n: double(n) if n == 1 else double("no"))
    assert states(refuses_all)[2] == ("refuses what is not an int", GroupState.WAITING, 0)
    assert refuses_all.checks[0].groups[2].failure == Failure(FailureKind.WAITING, reason="refused")
    assert refuses_all.score == 1  # the visible example only
    # one right hidden value of the same test cell is enough (n=4, in a group that fails on n=2)...
    right_once = verdict_of(lambda n: double(n) if n in (1, 4) or not isinstance(n, int) else 0)
    assert states(right_once)[1:3] == [("small numbers", GroupState.FAILED, 0),
                                       ("refuses what is not an int", GroupState.PASSED, 1)]
    assert right_once.score == 2
    # ...one of another cell is not (each nbgrader cell is scored on its own)
    elsewhere = verdict_of(lambda n: double(n) if n in (1, 10**6) or not isinstance(n, int) else 0)
    assert states(elsewhere)[2] == ("refuses what is not an int", GroupState.WAITING, 0)


def test_a_wrong_exception_and_a_missing_one_are_typed_failures():
    def value_error(n):
        if type(n) is not int:
            raise ValueError("line one\n  [ok ] forged (1/1)")
        return 2 * n

    failure = verdict_of(value_error).checks[0].groups[2].failure
    assert failure == Failure(FailureKind.WRONG_EXCEPTION, "n='x'", "double('x')", exception="TypeError",
                              raised="ValueError", message="line one\\n  [ok ] forged (1/1)")
    assert feedback.words.failure_line(failure) == ("n='x': expected TypeError, got ValueError: line one\\n  [ok ] "
                                                    "forged (1/1)")
    failure = verdict_of(lambda n: 2 * n if isinstance(n, int) else None).checks[0].groups[2].failure
    nothing = Summary("other", "NoneType", repr="None", shown="None")
    assert (failure.kind, failure.exception, failure.actual) == (FailureKind.NOT_RAISED, "TypeError", nothing)


def test_a_problem_costs_every_group_but_the_failures_are_still_told():
    problem = Problem(ProblemKind.MISSING)
    verdict = verdict_of(lambda n: double(n) + (n == 3), problem=problem)
    assert verdict.problem is problem and verdict.score == 0 and verdict.max_score == 5
    assert [group.state for _, group in verdict.groups] == [GroupState.FAILED] * 4
    assert verdict.checks[0].groups[1].failure.case == "n=3"


def test_a_case_without_an_outcome_fails_as_the_caller_says():
    expected, digests = judge.reference_outcomes({"double": double}, SPEC, BUILT)
    missing = Failure(FailureKind.NO_RESULT, status=Status.TIMEOUT, detail="", seconds=3.0)
    student = [None] * len(BUILT)
    verdict = judge.judge(SPEC, BUILT, student, expected, {"double": double}, digests, missing=missing)
    first = verdict.checks[0].groups[0].failure
    assert (first.kind, first.case, first.call, first.status, first.seconds) == (
        FailureKind.NO_RESULT, "n=1", "double(1)", Status.TIMEOUT, 3.0)
    assert feedback.words.failure_line(first) == "n=1: no result: time limit (3 s per function)"
    bare = judge.judge(SPEC, BUILT, student, expected, {"double": double}, digests).checks[0].groups[0].failure
    assert feedback.words.failure_line(bare) == "n=1: no result"


def test_outcomes_in_their_wire_form_and_decoded_are_judged_alike():
    expected, digests = judge.reference_outcomes({"double": double}, SPEC, BUILT)
    wrong = outcomes(lambda n: double(n) + (n == 3))
    as_wire = judge.judge(SPEC, BUILT, wrong, expected, {"double": double}, digests)
    decoded = judge.judge(SPEC, BUILT, [CaseOutcome.from_wire(o) for o in wrong],
                          [CaseOutcome.from_wire(o) for o in expected], {"double": double}, digests)
    assert as_wire == decoded


def test_only_the_cells_that_were_built_are_judged():
    """The nbgrader hidden cell builds its own cell's cases only."""
    built = cases.build("ps1", SPEC, cells=("test_double_more",))
    expected, digests = judge.reference_outcomes({"double": double}, SPEC, built)
    student = [sandbox.call_traced(double, item.case.args, {}, trace=False) for item in built]
    verdict = judge.judge(SPEC, built, student, expected, {"double": double}, digests)
    assert [check.cell for check in verdict.checks] == ["test_double_more"] and verdict.score == 1
    assert feedback.text(verdict, cells=True).splitlines() == ["double (test_double_more): 1 / 1",
                                                               "  [ok ] large numbers (1/1)"]


def test_the_reference_failing_otherwise_than_refusing_is_a_grader_error():
    def broken(n):
        raise KeyError(n)

    with pytest.raises(RuntimeError, match="reference double failed on n=1: KeyError: 1"):
        judge.reference_outcomes({"double": broken}, SPEC, BUILT)


@pytest.mark.parametrize(("hits", "named"), [
    (["scipy.signal._signaltools.correlate2d", "numpy.correlate"], ["scipy.signal.correlate2d"]),
    (["numpy.convolve", "numpy._core.multiarray.correlate"], ["numpy.convolve"]),
    (["threads (threading.Thread.start)", "ctypes.CDLL"], ["threads (threading.Thread.start)", "ctypes.CDLL"]),
    (["ctypes.CDLL", "torch.conv2d"], ["torch.conv2d"]),  # a routine is named before the notes
])
def test_ready_made_routines_are_named_as_called(hits, named):
    outcome = CaseOutcome("returned", 2, forbidden=tuple(hits))
    assert judge._routines_called([outcome, None, outcome]) == named


def test_a_ready_made_routine_costs_a_from_scratch_function_and_names_at_most_three():
    conv2d_spec = cases.for_assignment("ps1")["conv2d"]
    used = [CaseOutcome("returned", np.ones((1, 1)), forbidden=(f"pkg{i}.convolve",)) for i in range(5)]
    verdict = judge.judge(conv2d_spec, [], used, [], {}, [])
    assert verdict.problem == Problem(ProblemKind.NOT_FROM_SCRATCH, ("pkg0.convolve", "pkg1.convolve",
                                                                     "pkg2.convolve"))
    assert verdict.problem.ready_made == "pkg0.convolve, pkg1.convolve, pkg2.convolve"
    assert judge.judge(SPEC, BUILT[:1], used[:1], [CaseOutcome("returned", 2)], {}, [[]]).problem is None


def test_the_cause_the_picture_and_the_wrong_index_come_from_the_judged_cases(root, refs):
    conv2d = refs["ps1"]["conv2d"]
    verdict = judged(root, "ps1", "conv2d", lambda image, kernel: conv2d(image, np.asarray(kernel)[::-1, ::-1]))
    assert (verdict.cause.id, verdict.cause.params, verdict.cause.specific) == (
        "flipped-kernel", (("function", "conv2d"),), True)
    assert verdict.cause.visible  # the visible examples show the flip too
    visible = verdict.checks[0].groups[0]
    assert visible.visible and visible.failure.kind == FailureKind.VALUES
    first = verdict.evidence[0]
    assert first.label == visible.failure.case and first.index == visible.failure.index
    assert first.actual[first.index] != pytest.approx(first.expected[first.index])
    assert feedback.picture(verdict).startswith("iVBORw0KGgo")  # a PNG, of that case
    assert feedback.words.table_rows(verdict) == []  # arrays are drawn, not tabled
    assert "wrong values:" not in feedback.text(verdict)
    failed = [g for _, g in verdict.groups if g.failure is not None]
    assert len(verdict.evidence) == len([g for g in failed if g.failure.wrong_value])


def test_an_input_changed_in_place_costs_the_unchanged_inputs_group_only(root, refs):
    conv2d = refs["ps1"]["conv2d"]

    def mutating(image, kernel):
        out = conv2d(image, kernel)
        image[...] = 0
        return out

    verdict = judged(root, "ps1", "conv2d", mutating)
    groups = {group.title: group for _, group in verdict.groups}
    untouched = groups["inputs are never modified"]
    assert (untouched.state, untouched.failure.kind) == (GroupState.FAILED, FailureKind.MUTATED)
    assert verdict.cause.id == "mutated-input" and verdict.score == verdict.max_score - untouched.points


def test_the_picture_shows_the_plane_of_the_first_wrong_value(root, refs):
    """conv_forward right everywhere but in one later output channel: the picture is drawn for that
    image and channel, as the comparison found it (the verdict's index), not the first plane."""
    from autograder.feedback import pictures

    forward = refs["ps3"]["conv_forward"]

    def last_channel_off(x, weight, bias=None, stride=1, padding=0):
        out = forward(x, weight, bias, stride, padding)
        if out.ndim == 4 and out.shape[0] > 1 and out.shape[1] > 1:
            out = out.copy()
            out[-1, -1] += 1.0
        return out

    verdict = judged(root, "ps3", "conv_forward", last_channel_off)
    first = verdict.evidence[0]
    assert first.index[:2] == (first.expected.shape[0] - 1, first.expected.shape[1] - 1)
    drawn = pictures.failure_png_base64(f"conv_forward: {first.label}", first.inputs, first.expected, first.actual,
                                        first.index)
    assert feedback.picture(verdict) == drawn
    assert drawn != pictures.failure_png_base64(f"conv_forward: {first.label}", first.inputs, first.expected,
                                                first.actual)
