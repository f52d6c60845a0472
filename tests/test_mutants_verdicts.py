"""The verdicts' stored form, field by field: every field of every part of a verdict comes back
from JSON as it went in (written to kill the mutants `make mutate` left alive in
autograder/verdicts.py: README "Mutation testing")."""

from __future__ import annotations

import json

import pytest

from autograder import verdicts
from autograder.verdicts import (
    Cause,
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
    Summary,
    Violation,
)

#: Every field distinct from its default and from the others, so a field read from the wrong key,
#: dropped or replaced by a constant shows.
VIOLATION = Violation(
    "ready-made", "alias", "cv", 3, 12, "from scipy.signal import convolve2d as cv", "scipy.signal.convolve2d", 2
)
TIMED_OUT = Failure(
    FailureKind.NO_RESULT,
    "8x8 image",
    "conv2d(<(8, 8) array>, <(3, 3) array>)",
    status=Status.TIMEOUT,
    detail="time limit",
    seconds=2.5,
)
WRONG = Failure(
    FailureKind.NOT_INTS,
    "n=7",
    "conv_output_size(7, 3)",
    Summary("other", "tuple", None, "", "(5, 5)", "(5, 5)"),
    Summary("array", "ndarray", (2, 3), "float64"),
    Summary("float", "float", repr="5.0", shown="5.0"),
    (1, 2),
    4,
    6,
    "ValueError",
    "TypeError",
    "bad n",
    None,
    "",
    0.0,
    "",
)


def stored(verdict: FunctionVerdict) -> dict:
    return json.loads(json.dumps(verdict.to_dict()))


def every_field() -> FunctionVerdict:
    checks = [
        CheckVerdict(
            "test_a",
            0.75,
            [
                GroupVerdict("visible", 0.5, 0.0, True, GroupState.FAILED, TIMED_OUT),
                GroupVerdict("hidden", 0.25, 0.25, False, GroupState.PASSED),
            ],
        ),
        CheckVerdict(
            "test_b",
            2.0,
            [
                GroupVerdict(
                    "sizes", 2.0, 0.0, False, GroupState.WAITING, Failure(FailureKind.WAITING, reason="untouched")
                )
            ],
        ),
        CheckVerdict("test_c", 1.0, [GroupVerdict("tuples", 1.0, 0.0, False, GroupState.FAILED, WRONG)]),
    ]
    return FunctionVerdict(
        "conv2d",
        checks,
        Problem(
            ProblemKind.POLICY, ("numpy.convolve",), VIOLATION, "NameError", "name 'x' is not defined", "two notebooks"
        ),
        Cause("output-transposed", (("expected", (2, 3)), ("actual", ((3, 2), (1, 1)))), False, True),
        [NotRun("4", "import time"), NotRun("5", "")],
        7,
    )


def test_every_field_of_a_verdict_comes_back_from_its_stored_form():
    verdict = every_field()
    again = FunctionVerdict.from_dict("conv2d", stored(verdict))
    assert again == verdict
    assert again.problem.violation == VIOLATION and again.problem.error_message == "name 'x' is not defined"
    assert again.checks[0].groups[0].failure.status is Status.TIMEOUT
    assert again.checks[2].groups[0].failure.bad == Summary("float", "float", repr="5.0", shown="5.0")
    assert again.cause.params == (("expected", (2, 3)), ("actual", ((3, 2), (1, 1))))  # nested lists: tuples
    assert (again.not_run, again.not_run_more) == ([NotRun("4", "import time"), NotRun("5", "")], 7)
    assert [check.points for check in again.checks] == [0.75, 2.0, 1.0]  # its groups' points, summed


def test_the_stored_form_names_its_parts():
    data = stored(every_field())
    assert data["not_run"] == [{"cell": "4", "code": "import time"}, {"cell": "5", "code": ""}]
    assert data["not_run_more"] == 7
    assert data["cause"] == {
        "id": "output-transposed",
        "params": {"expected": [2, 3], "actual": [[3, 2], [1, 1]]},
        "specific": False,
        "visible": True,
    }
    assert data["groups"][0]["failure"]["status"] == "timeout" and data["groups"][1]["failure"] is None
    assert data["problem"]["violation"] == {
        "rule": "ready-made",
        "how": "alias",
        "what": "cv",
        "cell": 3,
        "line": 12,
        "code": "from scipy.signal import convolve2d as cv",
        "real": "scipy.signal.convolve2d",
        "more": 2,
    }
    assert verdicts._plain({"shape": (2, 3), "state": GroupState.WAITING}) == {"shape": [2, 3], "state": "waiting"}


def test_a_record_without_unrun_cells_has_none():
    data = stored(every_field())
    del data["not_run"], data["not_run_more"]
    again = FunctionVerdict.from_dict("conv2d", data)
    assert (again.not_run, again.not_run_more) == ([], 0)


def test_a_damaged_record_says_what_is_missing():
    with pytest.raises(ValueError) as raised:
        FunctionVerdict.from_dict("conv2d", {"cause": None})
    assert str(raised.value) == "not a verdict of 'conv2d' (KeyError: 'groups')"


def test_a_raised_outcome_without_names_is_an_exception_and_every_outcome_keeps_its_tracer_notes():
    from autograder.verdicts import CaseOutcome

    bare = CaseOutcome.from_wire({"kind": "raised", "exc_types": [], "message": "m"})
    assert (bare.kind, bare.exc_types, bare.message) == ("raised", ("Exception",), "m")
    odd = CaseOutcome.from_wire({"kind": "sleeping", "forbidden": ["numpy.convolve"], "digests": [[1, 2]]})
    assert (odd.kind, odd.value.type_name, odd.forbidden, odd.digests) == (
        "returned",
        "malformed outcome",
        ("numpy.convolve",),
        ((1, 2),),
    )
    value = CaseOutcome.from_wire({"kind": "returned", "value": 3, "forbidden": ["numpy.convolve"]})
    assert (value.value, value.forbidden, value.digests) == (3, ("numpy.convolve",), None)


def test_printable_characters_stay_as_they_are_beside_escaped_ones():
    from autograder.verdicts import student_text

    assert student_text("é\n世") == "é\\n世"


def test_a_repr_of_sixty_characters_is_cut_to_fifty_seven_and_an_ellipsis():
    from autograder.verdicts import Summary

    assert Summary.of("x" * 57).repr == "'" + "x" * 57 + "'"  # 59 characters: kept
    assert Summary.of("x" * 58).repr == "'" + "x" * 56 + "..."  # 60 characters: cut
