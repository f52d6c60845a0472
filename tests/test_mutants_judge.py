"""The judge's small decisions, each on inputs made for it: how a call is written, which routine a
tracer hit names, when a returned value counts as right, what a group that judges unchanged inputs
records, and what the reference is run on (written to kill the mutants `make mutate` left alive in
autograder/judge.py: README "Mutation testing")."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import judge, sandbox
from autograder.cases import BuiltCase, Case, Check, FunctionCases, Group
from autograder.verdicts import CaseOutcome, Failure, FailureKind, GroupState


def cases(*built: Case):
    return lambda rng: list(built)


def judged(spec: FunctionCases, reference, student):
    built = [
        BuiltCase(check.cell, index, case)
        for check in spec.checks
        for index, group in enumerate(check.groups)
        for case in group.build(None)
    ]
    expected, digests = judge.reference_outcomes({spec.function: reference}, spec, built)
    outcomes = [
        sandbox.call_traced(
            student, tuple(judge.copy_value(a) for a in item.case.args), dict(item.case.kwargs), trace=False
        )
        for item in built
    ]
    return judge.judge(spec, built, outcomes, expected, {spec.function: reference}, digests)


def test_a_call_is_written_with_arrays_by_shape_and_keywords_as_given():
    item = BuiltCase("cell", 0, Case("label", (np.zeros((2, 3)), 7, 0.5), {"stride": 2, "padding": (1, 1)}))
    assert judge.call_text("conv", item) == "conv(<(2, 3) array>, 7, 0.5, stride=2, padding=(1, 1))"
    assert judge.call_text("f", BuiltCase("cell", 0, Case("label", ()))) == "f()"


@pytest.mark.parametrize(
    ("hit", "named"),
    [
        ("scipy.signal._signaltools.correlate2d", "scipy.signal.correlate2d"),
        ("numpy._core._multiarray_umath.correlate", "numpy.correlate"),
        ("numpy.convolve (called 3 times)", "numpy.convolve"),
        ("torch.nn.functional.conv2d", "torch.nn.functional.conv2d"),
        ("pkg._private", "pkg._private"),  # a private last name is the routine itself
        ("osmosis.convolve", "osmosis.convolve"),
        ("ctypes.CDLL", None),
        ("cffi.FFI", None),
        ("os.system", None),
        ("threads (threading.Thread.start)", None),
        ("convolve", None),  # no module: a note
        ("9lives.convolve", None),
        ("PIL.ImageFilter.Kernel", "PIL.ImageFilter.Kernel"),
        ("numpy.fft used in a thread", None),  # words after a dotted name: a note
    ],
)
def test_a_tracer_hit_names_a_routine_or_is_a_note(hit, named):
    assert judge._routine(hit) == named


def test_the_routines_and_notes_are_kept_to_two_hundred_characters_each_once():
    long_note = "n" * 300
    outcomes = [
        CaseOutcome("returned", 1, forbidden=(long_note, "threads")),
        CaseOutcome("returned", 1, forbidden=("threads", long_note)),
    ]
    assert judge._routines_called(outcomes) == ["n" * 200, "threads"]


@pytest.mark.parametrize(
    ("value", "arg", "same"),
    [
        (np.ones(2), [1.0, 1.0], True),
        (0, 0, True),
        (np.ones(2, np.uint8), np.ones(2, np.uint8), True),
        (np.ones(2), np.ones(3), False),
        (np.ones((1, 2)), np.ones(2), False),
        ("ab", "ab", False),  # text is never "the argument returned"
        (b"ab", b"ab", False),
        (np.array([None]), np.array([None]), False),
        (np.ones(2), "ab", False),
        (np.ones(2), [[1.0], [1.0, 2.0]], False),  # ragged: not an array at all
    ],
)
def test_a_value_is_the_same_as_an_argument_only_as_numbers_of_one_shape(value, arg, same):
    assert judge._same(value, arg) is same


def test_frozen_digests_are_tuples_all_the_way_down():
    assert judge._frozen([1, [2, [3, "x"]], (4, [5])]) == (1, (2, (3, "x")), (4, (5,)))


REFUSES = Group("refuses what is not a number", 1, cases(Case("n='x'", ("x",))))


def doubled(n):
    if not isinstance(n, int):
        raise TypeError("n must be an int")
    return 2 * n


def test_returning_an_argument_unchanged_is_no_evidence_that_the_function_works():
    """doubled(0) is 0, the argument itself: that hidden value being right does not release the
    points of refusing bad input; doubled(5) does."""
    zero = FunctionCases(
        "doubled",
        "int",
        (
            Check(
                "test",
                (REFUSES, Group("hidden", 1, cases(Case("n=0", (0,))))),
            ),
        ),
    )
    five = FunctionCases(
        "doubled",
        "int",
        (
            Check(
                "test",
                (REFUSES, Group("hidden", 1, cases(Case("n=5", (5,))))),
            ),
        ),
    )
    waiting = judged(zero, doubled, doubled).checks[0].groups[0]
    assert (waiting.state, waiting.earned, waiting.failure) == (
        GroupState.WAITING,
        0.0,
        Failure(FailureKind.WAITING, reason="refused"),
    )
    passed = judged(five, doubled, doubled).checks[0].groups[0]
    assert (passed.state, passed.earned, passed.failure) == (GroupState.PASSED, 1, None)


def negated(a):
    return -np.asarray(a, dtype=float)


ARRAY = Case("2x2 image", (np.arange(4.0).reshape(2, 2),))
UNTOUCHED = FunctionCases(
    "negated",
    "float-array",
    (
        Check(
            "test",
            (
                Group("inputs are never modified", 1, cases(ARRAY), check_inputs=True),
                Group("values", 2, cases(ARRAY)),
            ),
        ),
    ),
)


def test_a_function_that_raises_is_not_checked_for_unchanged_inputs():
    def raises(a):
        raise ValueError("m" * 250)

    verdict = judged(UNTOUCHED, negated, raises)
    assert verdict.checks[0].groups[0].failure == Failure(
        FailureKind.UNCHECKED, "2x2 image", raised="ValueError", message="m" * 200
    )
    assert verdict.checks[0].groups[1].failure.kind == FailureKind.RAISED
    assert verdict.evidence == [] and verdict.score == 0


def test_a_function_that_changes_its_input_fails_the_unchanged_inputs_group_and_is_told_why():
    def zeroes_input(a):
        out = negated(a)
        a[...] = 0
        return out

    verdict = judged(UNTOUCHED, negated, zeroes_input)
    untouched, values = verdict.checks[0].groups
    assert untouched.failure == Failure(FailureKind.MUTATED, "2x2 image") and untouched.earned == 0.0
    assert (values.state, values.earned) == (GroupState.PASSED, 2)
    assert verdict.cause.id == "mutated-input" and verdict.evidence == []
    assert ARRAY.args[0].tolist() == [[0.0, 1.0], [2.0, 3.0]]  # the case's own array: every call had a copy


def test_unchanged_inputs_pay_once_the_values_are_right():
    verdict = judged(UNTOUCHED, negated, lambda a: np.zeros((2, 2)))
    untouched, values = verdict.checks[0].groups
    assert (untouched.state, untouched.failure) == (
        GroupState.WAITING,
        Failure(FailureKind.WAITING, reason="untouched"),
    )
    assert values.state == GroupState.FAILED and values.failure.kind == FailureKind.VALUES
    assert [(e.label, e.inputs) for e in verdict.evidence] == [("2x2 image", ARRAY.args)]
    right = judged(UNTOUCHED, negated, negated)
    assert [g.state for g in right.checks[0].groups] == [GroupState.PASSED, GroupState.PASSED] and right.score == 3


def test_the_reference_runs_on_copies_and_the_digests_follow_the_keywords_by_name():
    first, second, third = np.ones(2), np.full(3, 2.0), np.full(4, 3.0)
    case = Case("keywords", (first,), {"zeta": second, "alpha": third})
    spec = FunctionCases("scrub", "float-array", (Check("test", (Group("g", 1, cases(case)),)),))

    def scrub(a, zeta, alpha):
        a[...], zeta[...], alpha[...] = 0, 0, 0
        return a

    outcomes, digests = judge.reference_outcomes({"scrub": scrub}, spec, [BuiltCase("test", 0, case)])
    assert digests == [[sandbox.digest(first), sandbox.digest(third), sandbox.digest(second)]]
    assert (first.tolist(), second.tolist(), third.tolist()) == ([1.0, 1.0], [2.0] * 3, [3.0] * 4)
    assert outcomes[0]["kind"] == "returned"


def test_a_reference_refusing_bad_input_is_an_outcome_not_an_error():
    spec = FunctionCases("doubled", "int", (Check("test", (REFUSES,)),))
    outcomes, _ = judge.reference_outcomes({"doubled": doubled}, spec, [BuiltCase("test", 0, Case("n='x'", ("x",)))])
    assert (outcomes[0]["kind"], outcomes[0]["exc_types"][0]) == ("raised", "TypeError")

    def value_error(n):
        raise ValueError("no")

    outcomes, _ = judge.reference_outcomes({"doubled": value_error}, spec, [BuiltCase("test", 0, Case("n=1", (1,)))])
    assert outcomes[0]["exc_types"][0] == "ValueError"


def test_only_arrays_are_copied_for_a_call():
    listed = [1, 2]
    assert judge.copy_value(listed) is listed
    array = np.ones(2)
    copied = judge.copy_value(array)
    assert copied is not array and copied.tolist() == [1.0, 1.0]


def test_the_reference_is_not_traced():
    """The tracer's hits are the student's: the reference may use numpy.convolve (and is not slowed by
    the tracer)."""
    case = Case("n=3", (np.ones(3), np.ones(2)))
    spec = FunctionCases("conv1d", "float-array", (Check("test", (Group("g", 1, cases(case)),)),))
    outcomes, _ = judge.reference_outcomes({"conv1d": np.convolve}, spec, [BuiltCase("test", 0, case)])
    assert outcomes[0]["kind"] == "returned" and outcomes[0]["forbidden"] == []
    traced = sandbox.call_traced(np.convolve, case.args, {})
    assert traced["forbidden"] == ["numpy.convolve"]  # what tracing it would have recorded


def test_any_exception_passes_where_the_contract_names_none_and_a_raise_has_no_diagnosis():
    def refuses_with_value_error(n):
        if not isinstance(n, int):
            raise ValueError("not a number")
        return 2 * n

    any_error = Group("refuses bad input somehow", 1, cases(Case("n='x'", ("x",))), any_error=True)
    hidden = Group("hidden", 1, cases(Case("n=5", (5,))))
    spec = FunctionCases("doubled", "int", (Check("test", (any_error, hidden)),))
    verdict = judged(spec, doubled, refuses_with_value_error)
    assert [(g.state, g.earned) for g in verdict.checks[0].groups] == [(GroupState.PASSED, 1), (GroupState.PASSED, 1)]
    strict = FunctionCases("doubled", "int", (Check("test", (REFUSES, hidden)),))
    failed = judged(strict, doubled, refuses_with_value_error).checks[0].groups[0]
    assert (failed.state, failed.failure.kind, failed.failure.raised) == (
        GroupState.FAILED,
        FailureKind.WRONG_EXCEPTION,
        "ValueError",
    )
    raising = judged(FunctionCases("doubled", "int", (Check("test", (hidden,)),)), doubled, lambda n: 1 / 0)
    assert raising.checks[0].groups[0].failure.kind == FailureKind.RAISED
    assert (raising.checks[0].groups[0].diagnoses, raising.cause) == ([], None)
