"""Comparison with the reference, and the diagnoses of classic mistakes."""

import numpy as np
import pytest

from autograder import compare, feedback, sandbox
from autograder.cases import Case
from autograder.diagnose import diagnose
from autograder.feedback.causes import line, title
from autograder.verdicts import GroupState, Summary


def outcome(value):
    return sandbox.call_traced(lambda: value, (), {}, trace=False)


def words_of(verdict) -> str:
    """The words of a comparison's failure, as the feedback writes them ("" when it passed)."""
    return "" if verdict.passed else feedback.failure_text(verdict.failure)


def raised(exc):
    def fail():
        raise exc

    return sandbox.call_traced(fail, (), {}, trace=False)


@pytest.mark.parametrize(
    ("actual", "kind", "passed", "message"),
    [
        (np.ones((2, 2)), "float-array", True, ""),
        (np.ones((2, 2)) + 1e-12, "float-array", True, ""),
        (np.ones((2, 2), dtype=np.float32) * np.float32(1 + 3e-7), "float-array", True, ""),
        (np.ones((2, 2)) * (1 + 3e-6), "float-array", False, "values differ"),
        (np.ones((2, 3)), "float-array", False, "expected shape (2, 2), got (2, 3)"),
        (np.ones((2, 2), dtype=int), "float-array", False, "expected a float array"),
        (np.ones((2, 2), dtype=int), "array", True, ""),
        ([[1.0, 1.0], [1.0, 1.0]], "float-array", False, "expected a numpy array"),
        (np.array([[1.0, 1.0], [1.0, 2.0]]), "float-array", False, "first at index (1, 1), expected 1.0, got 2.0"),
    ],
)
def test_array_comparison(actual, kind, passed, message):
    verdict = compare.compare(outcome(actual), outcome(np.ones((2, 2))), kind)
    assert verdict.passed is passed
    assert words_of(verdict) == "" if passed else message in words_of(verdict)


def test_exact_arrays_need_the_dtype():
    expected = outcome(np.zeros((2, 2), dtype=np.uint8))
    assert not compare.compare(outcome(np.zeros((2, 2))), expected, "exact-array").passed
    assert compare.compare(outcome(np.zeros((2, 2), dtype=np.uint8)), expected, "exact-array").passed


def test_ints_must_be_python_ints_and_tuples_tuples():
    assert compare.compare(outcome(3), outcome(3), "int").passed
    assert "Python int" in words_of(compare.compare(outcome(3.0), outcome(3), "int"))
    assert not compare.compare(outcome(np.int64(3)), outcome(3), "int").passed
    assert not compare.compare(outcome(True), outcome(1), "int").passed
    assert compare.compare(outcome((np.int64(1), 2)), outcome((1, 2)), "int-tuple").passed
    assert not compare.compare(outcome([1, 2]), outcome((1, 2)), "int-tuple").passed


def test_exceptions():
    expected = raised(ValueError("bad"))
    assert compare.compare(raised(ValueError("x")), expected, "int").passed
    assert not compare.compare(raised(TypeError("x")), expected, "int").passed
    assert compare.compare(raised(TypeError("x")), expected, "int", any_error=True).passed
    assert not compare.compare(raised(NotImplementedError()), expected, "int", any_error=True).passed
    assert "expected ValueError to be raised" in words_of(compare.compare(outcome(1), expected, "int"))
    assert "raised KeyError" in words_of(compare.compare(raised(KeyError("k")), outcome(1), "int"))


def test_diagnoses_name_classic_mistakes(refs):
    ps1 = refs["ps1"]
    image = np.arange(20.0).reshape(4, 5) ** 2  # not linear: each kernel variant gives its own output
    kernel = np.array([[1.0, 2.0], [0.0, -1.0]])
    case = Case("x", (image, kernel))
    expected = ps1["conv2d"](image, kernel)
    flipped = ps1["conv2d"](image, kernel[::-1, ::-1])
    assert [title(d) for d in diagnose("conv2d", ps1, case, flipped, expected)] == ["flipped kernel"]
    (short,) = diagnose("conv2d", ps1, case, expected[:-1, :-1], expected)
    assert title(short) == "off-by-one output size" and not short.specific
    assert diagnose("conv2d", ps1, case, expected + 1, expected) == []
    pads = refs["ps2"]
    same = Case("n=8, k=4", (8, 4))
    assert any("wrong side" in line(d) for d in diagnose("same_padding", pads, same, (2, 1), (1, 2)))
    pad_case = Case("p", (np.ones((2, 2), dtype=np.uint8), 1))
    wrong_dtype = pads["zero_pad"](np.ones((2, 2), dtype=np.uint8), 1).astype(float)
    assert any(
        "dtype not kept" in line(d)
        for d in diagnose("zero_pad", pads, pad_case, wrong_dtype, pads["zero_pad"](*pad_case.args))
    )


# -- judging whole functions in-process: one likely cause, evidence-based labels ------------------


def judged(root, assignment, name, function):
    """Judge `function` on every hidden case of `name`, in this process (as the nbgrader cells do)."""
    from autograder import cases, judge, reference
    from autograder.course import FROM_SCRATCH, get_assignment

    refs = reference.load(root, get_assignment(assignment))
    spec = cases.for_assignment(assignment)[name]
    built = cases.build(assignment, spec)
    expected, digests = judge.reference_outcomes(refs, spec, built)
    outcomes = [
        sandbox.call_traced(
            function,
            tuple(judge.copy_value(a) for a in item.case.args),
            {k: judge.copy_value(v) for k, v in item.case.kwargs.items()},
            trace=name in FROM_SCRATCH,
        )
        for item in built
    ]
    return judge.judge(spec, built, outcomes, expected, refs, digests)


def causes(result) -> list[str]:
    return [text.strip() for text in feedback.text(result).splitlines() if text.strip().startswith("likely cause")]


def test_a_flipped_kernel_is_named_once(root, refs):
    conv2d = refs["ps1"]["conv2d"]
    result = judged(root, "ps1", "conv2d", lambda image, kernel: conv2d(image, np.asarray(kernel)[::-1, ::-1]))
    assert causes(result) == [f"likely cause: {line(d)}" for d in diagnose_titles(result, "flipped kernel")]
    assert sum(group.earned < group.points for check in result.checks for group in check.groups) >= 3


def diagnose_titles(result, wanted):
    from autograder.diagnose import best

    cause = best([g.diagnoses for c in result.checks for g in c.groups])
    assert cause is not None and title(cause) == wanted, cause
    return [cause]


def test_ignored_dilation_is_not_also_called_off_by_one(root, refs):
    strided = refs["ps3"]["strided_conv2d"]
    result = judged(
        root,
        "ps3",
        "strided_conv2d",
        lambda image, kernel, stride=1, padding=0, dilation=1: strided(image, kernel, stride, padding),
    )
    (line,) = causes(result)
    assert line.startswith("likely cause: dilation ignored:") and "off-by-one" not in feedback.text(result)


def test_conv1d_ignoring_mode_is_told_so(root, refs):
    conv1d = refs["ps1"]["conv1d"]

    def full_always(signal, kernel, mode="full"):
        if mode not in ("full", "same", "valid"):
            raise ValueError(mode)
        return conv1d(signal, kernel)

    (line,) = causes(judged(root, "ps1", "conv1d", full_always))
    assert line.startswith("likely cause: mode ignored:")


@pytest.mark.parametrize(
    ("times", "label"),
    [
        (lambda x, w: np.shape(w)[2] * np.shape(w)[3], "bias added once per kernel tap"),
        (lambda x, w: np.shape(x)[1], "bias added once per input channel"),
        (lambda x, w: 7, "bias added 7 times"),
    ],
)
def test_a_repeated_bias_names_the_loop_it_sits_in(root, refs, times, label):
    forward = refs["ps3"]["conv_forward"]

    def repeated(x, weight, bias=None, stride=1, padding=0):
        out = forward(x, weight, stride=stride, padding=padding)
        if bias is not None:
            out = out + times(x, weight) * np.asarray(bias, dtype=float)[None, :, None, None]
        return out

    (line,) = causes(judged(root, "ps3", "conv_forward", repeated))
    assert line.startswith(f"likely cause: {label}:"), line


def test_ready_made_routines_are_named_as_the_student_called_them(root):
    result = judged(root, "ps1", "conv1d", lambda s, k, mode="full": np.convolve(s, k, mode))
    assert result.score == 0
    problem = feedback.problem_text(result.problem)
    assert "the call used numpy.convolve;" in problem and "correlate" not in problem


def test_integer_dtype_advice_does_not_assume_zeros_like(root, refs):
    conv2d = refs["ps1"]["conv2d"]

    def cast(image, kernel):
        return conv2d(image, kernel).astype(np.asarray(image).dtype)

    (line,) = causes(judged(root, "ps1", "conv2d", cast))
    assert line.startswith("likely cause: result stored in the image's integer dtype:")
    assert "zeros_like" not in line


def test_the_unchanged_inputs_group_judges_only_mutation(root, refs):
    conv2d = refs["ps1"]["conv2d"]
    # Right on float images, wrong on uint8 ones (the first unchanged-inputs case is uint8).
    result = judged(
        root, "ps1", "conv2d", lambda image, kernel: conv2d(image, kernel) + float(np.asarray(image).dtype == np.uint8)
    )
    groups = {g.title: g for c in result.checks for g in c.groups}
    assert groups["inputs are never modified"].earned == groups["inputs are never modified"].points
    stub = judged(root, "ps1", "conv2d", lambda image, kernel: (_ for _ in ()).throw(NotImplementedError()))
    assert stub.score == 0


def _inputs_group(result) -> list[str]:
    lines = feedback.text(result).splitlines()
    (at,) = [i for i, text in enumerate(lines) if "inputs are never modified" in text]
    return lines[at : at + 2]


def test_a_function_that_modified_nothing_is_never_failed_on_the_inputs_group(root, refs):
    """Wrong values, inputs left alone: the point waits (issue 19: the line read [FAIL] and accused
    the student). Raising on the uint8 case (marker in the message) waits too, its own words; only a
    real modification fails."""
    conv2d = refs["ps1"]["conv2d"]
    wrong = judged(root, "ps1", "conv2d", lambda image, kernel: conv2d(image, kernel) + 1.0)
    assert _inputs_group(wrong) == [
        "  [wait] inputs are never modified (0/1)",
        "         the inputs came back unchanged; this group's points are given once the function also returns "
        "right values on hidden cases (the visible examples alone do not count)",
    ]

    def raises_on_uint8(image, kernel):
        if np.asarray(image).dtype == np.uint8:
            raise TypeError("marker-uint8-93")
        return conv2d(image, kernel) + 1.0

    raised = judged(root, "ps1", "conv2d", raises_on_uint8)
    # the state --json, the report and Gradescope read says the same as the mark
    assert [g.state for _, g in raised.groups if g.title == "inputs are never modified"] == [GroupState.WAITING]
    assert _inputs_group(raised) == [
        "  [wait] inputs are never modified (0/1)",
        "         uint8 image: inputs must come back unchanged: raised TypeError: marker-uint8-93, so the inputs "
        "could not be checked (nothing says they were modified); this group's points are given once the "
        "function returns a result on this case and right values on hidden cases",
    ]

    def mutates(image, kernel):
        out = conv2d(image, kernel)
        image[...] = 0
        return out

    modified = judged(root, "ps1", "conv2d", mutates)
    assert [g.state for _, g in modified.groups if g.title == "inputs are never modified"] == [GroupState.FAILED]
    assert _inputs_group(modified) == [
        "  [FAIL] inputs are never modified (0/1)",
        "         uint8 image: inputs must come back unchanged: an input array was modified in place",
    ]


def test_messages_round_numbers():
    verdict = compare.compare(outcome(np.array([0.6112539999999999])), outcome(np.array([0.25])), "float-array")
    assert "expected 0.25, got 0.611254 " in words_of(verdict)
    assert feedback.describe(Summary.of(np.float64(-5.0))) == "numpy.float64 -5.0"
    assert compare.number(0.1 + 0.2) == "0.3" and compare.number(1e-12) == "1.0e-12"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2.460757619, "2.46076"),
        (0.9636534416, "0.963653"),
        (0.351648, "0.351648"),
        (-0.5567491, "-0.556749"),
        (9069596.0, "9069596.0"),
        (123456789.123, "123456789.0"),
        (999999.7, "1000000.0"),
        (3.0, "3.0"),
        (-0.0, "-0.0"),
        (1e-12, "1.0e-12"),
        (0.000123456789, "0.000123457"),
        (2.5e12, "2.5e+12"),
        (1234567891.0, "1.23457e+09"),
        (np.float32(0.1), "0.1"),
        (np.float64(0.611254), "0.611254"),
        (7, "7"),
        (np.uint8(200), "200"),
        (1.23456789 - 2j, "1.23457-2.0j"),
        (True, "True"),
        (float("nan"), "nan"),
    ],
)
def test_every_value_is_written_in_one_style(value, text):
    """Six significant digits, all of the integer part, a float keeps one decimal (issue 19: the
    feedback showed 'expected 2.460757619, got 0.9636534416' beside 'expected 0.351648')."""
    assert compare.number(value) == text


def test_two_values_that_would_read_the_same_get_the_digits_that_tell_them_apart():
    failed = compare.compare(outcome(np.array([1.000002])), outcome(np.array([1.0])), "float-array").failure
    assert (failed.expected.shown, failed.actual.shown) == ("1.0", "1.000002")
    assert (failed.expected.repr, failed.actual.repr) == ("1.0", "1.000002")
    assert compare.shown_apart(0.351648, 0.3516485) == ("0.351648", "0.3516485")
    assert compare.shown_apart(2.460757619, 0.9636534416) == ("2.46076", "0.963653")
    assert compare.shown_apart((2, 3.0), (2, 3.0)) == ("(2, 3.0)", "(2, 3.0)")


def test_the_feedback_shows_no_value_with_more_than_six_significant_digits(root, refs):
    """Unrounded hidden inputs (convolve2d's 9x7 image) give values like 2.460757619: shown as 2.46076."""
    import re

    convolve2d = refs["ps1"]["convolve2d"]
    text = feedback.text(judged(root, "ps1", "convolve2d", lambda image, kernel: convolve2d(image, kernel) + 0.25))
    values = re.findall(r"(?:expected|got) (-?[0-9.]+)", text)
    assert len(values) == 6  # expected and got of the three groups that fail on values
    assert [v for v in values if len(v.replace("-", "").replace(".", "").strip("0")) > 6] == []


def test_size_functions_get_a_table_of_wrong_calls(root, refs):
    size = refs["ps2"]["conv_output_size"]
    result = judged(
        root, "ps2", "conv_output_size", lambda n, k, stride=1, padding=0, dilation=1: size(n, k, stride, padding, 1)
    )
    lines = feedback.text(result).splitlines()
    start = lines.index("  wrong values:")
    assert lines[start + 1].split() == ["call", "expected", "returned"]
    assert lines[start + 2].split() == ["conv_output_size(10,", "3,", "dilation=2)", "6", "8"]


def test_a_specific_cause_beats_a_more_frequent_generic_one():
    from autograder.diagnose import Diagnosis, best

    generic = Diagnosis("output-off-by-one", specific=False)
    flipped, bias = Diagnosis("flipped-kernel"), Diagnosis("bias-ignored")
    assert best([[generic], [generic], [flipped]]) is flipped
    assert best([[bias], [flipped], [flipped]]) is flipped  # then the one explaining most groups
    assert best([[], []]) is None

    # causes that differ in their title's parameters are counted apart: twice "7 times" wins over once "3 times"
    def times(m):
        return Diagnosis("bias-repeated", (("times", m), ("loops", ())))

    assert best([[times(3)], [times(7)], [times(7)]]) == times(7)


def test_cut_off_fractions_are_recognised_despite_float_rounding(refs):
    """A box blur summed window by window lands on 15.9999999 where the reference has 16.0: cut to an
    integer dtype it gives 15, which is still the same mistake."""
    ps1 = refs["ps1"]
    image, box = np.arange(36).reshape(6, 6), np.full((3, 3), 1 / 9)
    stored = np.zeros((4, 4), dtype=image.dtype)
    for i in range(4):
        for j in range(4):
            stored[i, j] = np.sum(image[i : i + 3, j : j + 3] * box)
    expected = ps1["conv2d"](image, box)
    assert not np.array_equal(stored, np.trunc(expected))  # rounding went both ways
    titles = [title(d) for d in diagnose("conv2d", ps1, Case("box", (image, box)), stored, expected)]
    assert titles[0] == "result stored in the image's integer dtype"


# -- what each comparison must refuse (one realistic regression per test) -------------------------


@pytest.mark.parametrize("kind", ["float-array", "array", "exact-array"])
def test_a_flattened_output_of_the_right_size_is_not_the_2d_result(kind):
    verdict = compare.compare(outcome(np.ones(4)), outcome(np.ones((2, 2))), kind)
    assert not verdict.passed and words_of(verdict) == "expected shape (2, 2), got (4,)"
    column = compare.compare(outcome(np.ones((4, 1))), outcome(np.ones((2, 2))), kind)
    assert not column.passed and words_of(column) == "expected shape (2, 2), got (4, 1)"


@pytest.mark.parametrize(
    ("given", "wanted"), [(np.float32, np.float64), (np.int32, np.int64), (np.int64, np.int32), (np.uint8, np.int8)]
)
def test_exact_arrays_refuse_another_size_of_the_same_kind(given, wanted):
    verdict = compare.compare(
        outcome(np.zeros((2, 2), dtype=given)), outcome(np.zeros((2, 2), dtype=wanted)), "exact-array"
    )
    assert not verdict.passed
    assert words_of(verdict) == f"expected dtype {np.dtype(wanted)}, got {np.dtype(given)}"


def test_exact_arrays_compare_every_value_and_nans_as_equal():
    expected = np.array([[1.0, np.nan], [3.0, 4.0]])
    assert compare.compare(outcome(expected.copy()), outcome(expected), "exact-array").passed
    off = expected.copy()
    off[1, 1] = 4.0 + 1e-12  # exact means exact: no tolerance
    verdict = compare.compare(outcome(off), outcome(expected), "exact-array")
    assert not verdict.passed
    assert "first at index (1, 1)" in words_of(verdict) and "(1 of 4 values wrong)" in words_of(verdict)


def test_int_tuples_refuse_floats_even_when_whole():
    verdict = compare.compare(outcome((2.0, 3.0)), outcome((2, 3)), "int-tuple")
    assert not verdict.passed
    assert words_of(verdict) == "expected a tuple of ints (2, 3), got (2.0, 3.0) (contains float 2.0)"
    assert not compare.compare(outcome((2, 3.0)), outcome((2, 3)), "int-tuple").passed
    assert not compare.compare(outcome((True, 3)), outcome((1, 3)), "int-tuple").passed
    assert not compare.compare(outcome((2, 4)), outcome((2, 3)), "int-tuple").passed
    assert compare.compare(outcome((np.int32(2), 3)), outcome((2, 3)), "int-tuple").passed


class Refused(ValueError):
    """A student's own error class, derived from the ValueError the contract asks for."""


def test_a_valueerror_subclass_counts_as_valueerror():
    expected = raised(ValueError("bad"))
    assert compare.compare(raised(Refused("kernel larger than image")), expected, "float-array").passed
    # but not the other way round: a plain ValueError where a subclass is expected is another error
    assert not compare.compare(raised(ValueError("x")), raised(Refused("y")), "float-array").passed
    verdict = compare.compare(raised(LookupError("x")), expected, "float-array")
    assert words_of(verdict) == "expected ValueError, got LookupError: x"


def test_a_returned_value_where_an_exception_is_expected_is_described():
    verdict = compare.compare(outcome(np.zeros((1, 1))), raised(ValueError("bad")), "float-array")
    assert words_of(verdict) == (
        "expected ValueError to be raised, but it returned an array of shape (1, 1) and dtype float64"
    )
    verdict = compare.compare(outcome(None), raised(ValueError("bad")), "float-array", any_error=True)
    assert words_of(verdict) == "expected an exception to be raised, but it returned NoneType None"


def test_integer_truncation_and_the_integer_dtype_cast_are_told_apart(root, refs):
    """Each label goes with its own mistake: a float result with the fractions cut off is "integer
    truncation"; a result converted to the image's integer dtype is the cast."""
    conv2d = refs["ps1"]["conv2d"]
    truncated = judged(root, "ps1", "conv2d", lambda image, kernel: np.trunc(conv2d(image, kernel)))
    (line,) = causes(truncated)
    assert line.startswith(
        "likely cause: integer truncation: your result equals the correct one with the fractions cut off"
    )
    assert "image's integer dtype" not in feedback.text(truncated) and "modulo 256" not in feedback.text(truncated)
    cast = judged(root, "ps1", "conv2d", lambda image, kernel: conv2d(image, kernel).astype(np.asarray(image).dtype))
    (line,) = causes(cast)
    assert line.startswith("likely cause: result stored in the image's integer dtype: your values equal")
    assert "integer truncation" not in feedback.text(cast)


@pytest.mark.parametrize(
    ("actual", "expected", "kind", "detail"),
    [
        (
            np.array([1, 2, 4]),
            np.array([1, 2, 3]),
            "exact-array",
            "values differ: first at index (2,), expected 3, got 4 (1 of 3 values wrong)",
        ),
        (
            np.array([1.0, np.nan]),
            np.array([1.0, 2.0]),
            "exact-array",
            "values differ: first at index (1,), expected 2.0, got nan (1 of 2 values wrong)",
        ),
        (
            np.array([1.0, 2.0]),
            np.array([1.0, np.nan]),
            "float-array",
            "values differ: first at index (1,), expected nan, got 2.0 (1 of 2 values wrong)",
        ),
        (
            np.array([1 + 2j]),
            np.array([1 + 3j]),
            "array",
            "values differ: first at index (0,), expected 1.0+3.0j, got 1.0+2.0j (1 of 1 values wrong)",
        ),
        (np.array(["a", "b"]), np.array([1.0, 2.0]), "float-array", "expected numbers, got an array of dtype <U1"),
        (
            np.array([1, 2], dtype=object),
            np.array([1.0, 2.0]),
            "array",  # never decoded: reported by type name
            "expected a numpy array of shape (2,), got a ndarray of dtype object object",
        ),
        (2.0, 2, "int", "expected a Python int (2), got float 2.0"),
        ([2, 3], (2, 3), "int-tuple", "expected a tuple of ints (2, 3), got list [2, 3]"),
        ((2, 4), (2, 3), "int-tuple", "expected (2, 3), got (2, 4)"),
    ],
)
def test_a_wrong_answer_fails_with_exactly_this_detail(actual, expected, kind, detail):
    verdict = compare.compare(outcome(actual), outcome(expected), kind)
    assert verdict.passed is False and words_of(verdict) == detail


@pytest.mark.parametrize(
    ("actual", "expected", "kind"),
    [
        (np.array([1.0, np.nan]), np.array([1.0, np.nan]), "float-array"),  # nan where the reference has nan
        (np.array([1e-12]), np.array([0.0]), "float-array"),  # absolute tolerance near zero
        (np.array([1 + 2j]), np.array([1 + 2j]), "array"),
        (np.array([3, 4]), np.array([3, 4]), "exact-array"),
    ],
)
def test_a_right_answer_passes(actual, expected, kind):
    verdict = compare.compare(outcome(actual), outcome(expected), kind)
    assert verdict.passed is True and words_of(verdict) == ""


def test_a_value_or_another_error_where_valueerror_is_required_fails():
    for student in (outcome(np.zeros((1, 1))), raised(TypeError("t"))):
        assert compare.compare(student, raised(ValueError("bad")), "float-array").passed is False
    assert compare.compare(raised(KeyError("k")), outcome(1), "int").passed is False
    with pytest.raises(ValueError, match="unknown result kind 'matrix'"):
        compare.compare_values(1, 1, "matrix")


def test_a_malformed_value_from_the_sandbox_is_a_wrong_answer_not_a_grader_error():
    """The process that ran student code may write any JSON: an array whose bytes do not fill its
    shape, an unknown tag, a tuple that is not a list. Each is judged wrong, with its reason."""
    reference = outcome(np.ones((2, 2)))
    bad_values = [
        {"__ndarray__": {"dtype": "<f8", "shape": [2, 2], "data": "AAAAAAAAAAA="}},
        {"__mystery__": 1},
        {"__tuple__": 5},
        {"__float__": {"x": 1}},
    ]
    for value in bad_values:
        verdict = compare.compare({"kind": "returned", "value": value}, reference, "float-array")
        assert not verdict.passed and "malformed value" in words_of(verdict), (value, verdict)


@pytest.mark.parametrize("folder", ["source", "assignments"])
def test_the_notebooks_visible_checks_use_the_graders_tolerances(root, folder):
    """The tolerances are the grader's (compare.RTOL, compare.ATOL, also the diagnoses'); the
    notebooks, which students run without the grader, repeat them in their check helpers."""
    import json
    import re

    from autograder.course import ASSIGNMENTS

    for assignment in ASSIGNMENTS.values():
        path = root / folder / assignment.name / f"{assignment.notebook}.ipynb"
        code = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
        (found,) = re.findall(r"^RTOL, ATOL = (\S+), (\S+)", code, re.MULTILINE)
        assert tuple(map(float, found)) == (compare.RTOL, compare.ATOL), path
