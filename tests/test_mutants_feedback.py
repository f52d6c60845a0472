"""The renderers (autograder.feedback), line by line where a test elsewhere only looks for a part:
the score table of `python -m autograder grade`, the notebook's outputs, the failure words and the
wrong-values table. Written to kill the mutants `make mutate` left alive (README "Mutation testing").
"""

from __future__ import annotations

import base64

import numpy as np
import pytest

from autograder.feedback import scores
from autograder.results import Exercise, NotebookResult


def result(student, path, status, score, exercises, error=None) -> NotebookResult:
    return NotebookResult(student, "ps1", "ps1", path, status, error, score, 10, exercises)


def test_the_score_table_lines_up_every_student_and_explains_the_errors():
    # given out of order: the table sorts by student, then notebook path
    results = [
        result("zoe", "z.ipynb", "graded", 3.5, [Exercise("conv2d", 3.5, 8, ""), Exercise("why", None, 2, "")]),
        result(
            "ann",
            "b.ipynb",
            "error",
            0,
            [Exercise("conv2d", 0, 8, ""), Exercise("why", None, 2, "")],
            error="two notebooks",
        ),
        result("bob", "bob.ipynb", "graded", 5, [Exercise("conv2d", 5, 8, ""), Exercise("why", None, 2, "")]),
        result("ann", "a.ipynb", "graded", 8, [Exercise("conv2d", 8, 8, "")]),
    ]
    # zoe's written answer was graded by hand (it counts in her total, rounded to 4 places); ann's
    # hand grade shows nowhere: her graded notebook has no such question, the other was not graded
    table = scores.format_table(results, {"zoe": {"why": 1.23456}, "ann": {"why": 2}})
    assert table.split("\n") == [
        "student  conv2d  why        total      status",
        "-------  ------  ---------  ---------  ---------",
        "ann      8/8                8/10       graded",
        "ann      0/8     -/2        0/10       error (1)",
        "bob      5/8     -/2        5/10       graded",
        "zoe      3.5/8   1.23456/2  4.7346/10  graded",
        "(written questions show the grades given by hand in the formgrader)",
        "",
        "not graded:",
        "  (1) ann, b.ipynb: two notebooks",
    ]


def test_the_score_table_notes_hand_grades_only_when_a_graded_submission_has_them():
    results = [
        result("cy", "c.ipynb", "graded", 1, [Exercise("conv2d", 1, 8, "")]),
        result("bob", "b.ipynb", "error", 0, [], error="not a notebook"),
        result("ann", "a.ipynb", "error", 0, [], error="unreadable"),
    ]
    assert scores.format_table(results, {"ann": {"why": 1}}).split("\n") == [
        "student  conv2d  total  status",
        "-------  ------  -----  ---------",
        "ann              0/10   error (1)",
        "bob              0/10   error (2)",
        "cy       1/8     1/10   graded",
        "",
        "not graded:",
        "  (1) ann, a.ipynb: unreadable",
        "  (2) bob, b.ipynb: not a notebook",
    ]
    assert scores.format_table([]) == "no results"


# -- the notebook's outputs ---------------------------------------------------------------------------


def test_the_picture_and_the_feedback_are_display_outputs_of_their_own():
    from autograder.feedback import notebook

    figure = notebook.figure_output("iVBORw0KGgo=")
    assert set(figure) == {"output_type", "metadata", "data"} and figure["output_type"] == "display_data"
    assert figure["data"] == {"image/png": "iVBORw0KGgo=", "text/plain": notebook.PICTURE}
    assert figure["metadata"] == {"image/png": {"alt": notebook.PICTURE_ALT}}
    shown = notebook.feedback_output("conv2d: 1 / 2\n  <b>&")
    assert shown == {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/plain": "conv2d: 1 / 2\n  <b>&",
            "text/html": '<pre class="autograder-feedback" style="white-space: pre-wrap; word-break: break-word;">'
            "conv2d: 1 / 2\n  &lt;b&gt;&amp;</pre>",
        },
    }
    assert notebook.not_graded("two notebooks") == "not graded: two notebooks"


# -- the words of a verdict -----------------------------------------------------------------------------


def test_a_cause_with_repeated_bias_names_each_loop_and_lists_become_tuples():
    from autograder.feedback import causes
    from autograder.verdicts import Cause

    title, advice = causes.CAUSES["bias-repeated"]
    looped = Cause("bias-repeated", (("loops", ("input-channel", "mystery-loop")), ("times", 3)))
    how = "once per input channel or once per mystery-loop"
    assert causes.words(looped) == (title.format(how=how), advice.format(how=how, times=3))
    counted = Cause("bias-repeated", (("times", 4),))
    assert causes.title(counted) == title.format(how="4 times")
    title, advice = causes.CAUSES["output-transposed"]
    shapes = Cause("output-transposed", (("expected", [2, 3]), ("actual", [3, 2])))
    assert causes.line(shapes) == f"{title}: {advice.format(expected=(2, 3), actual=(3, 2))}"


def verdict_with_a_hidden_failure():
    from autograder.verdicts import CheckVerdict, Failure, FailureKind, FunctionVerdict, GroupState, GroupVerdict

    wrong = Failure(FailureKind.MUTATED, "8x8 image")
    groups = [
        GroupVerdict("visible", 1.0, 1.0, True, GroupState.PASSED),
        GroupVerdict("hidden", 1.0, 0.0, False, GroupState.FAILED, wrong),
    ]
    return FunctionVerdict("conv2d", [CheckVerdict("test_a", 1.0, groups[:1]), CheckVerdict("test_b", 1.0, groups[1:])])


def test_the_text_names_the_cells_and_withholds_only_when_asked():
    from autograder.feedback import words

    verdict = verdict_with_a_hidden_failure()
    plain, named = words.text(verdict).split("\n"), words.text(verdict, cells=True).split("\n")
    assert named[0] == plain[0].replace("conv2d:", "conv2d (test_a, test_b):", 1) and plain[1:] == named[1:]
    assert plain[-1] == words.DETAIL + "8x8 image: an input array was modified in place"
    withheld = words.text(verdict, withhold="hidden").split("\n")
    assert withheld == [*plain[:-1], words.DETAIL + words.WITHHELD.format(when=words.WHEN["hidden"])]


def test_a_verdict_not_graded_is_one_line_with_the_reason():
    from autograder.feedback import words
    from autograder.verdicts import FunctionVerdict, Problem, ProblemKind

    verdict = FunctionVerdict("conv2d", [], Problem(ProblemKind.NOT_GRADED, reason="two notebooks"))
    assert words.text(verdict) == "conv2d: not graded: two notebooks"
    missing = FunctionVerdict("conv2d", [], Problem(ProblemKind.MISSING))
    assert words.lines(missing)[0][1] == words.INDENT + words.problem_text(missing.problem, "conv2d")


def test_the_words_of_each_way_a_case_ends_without_a_result():
    from autograder.feedback import words
    from autograder.verdicts import Failure, FailureKind, Status

    def said(status, detail=""):
        return words.failure_text(Failure(FailureKind.NO_RESULT, status=status, detail=detail))

    assert said(Status.OK) == "no result: the process exited before answering (sys.exit or os._exit?)"
    assert said(Status.CRASHED) == "no result: " and said(Status.KILLED, "killed by SIGKILL") == (
        "no result: killed by SIGKILL"
    )
    assert said(Status.CORRUPT, "a malformed frame") == "no result: a malformed frame"
    assert said(Status.FLOODED) == "no result: flooded"
    assert words.failure_line(Failure(FailureKind.WAITING, reason="refused")) == words.WAITING["refused"]
    with pytest.raises(ValueError, match="unknown failure 'bogus'"):
        words.failure_text(Failure("bogus"))


def test_a_policy_finding_names_the_cell_the_line_and_the_code_cut_to_eighty_characters():
    from autograder.feedback import words
    from autograder.verdicts import Violation

    code = "from scipy.signal import convolve2d  # " + "x" * 80
    uses = words.violation_text(Violation("ready-made", "uses", "convolve2d", 2, 5, code))
    assert uses == (
        f"not from scratch: cell 2, line 5: `{code[:80]}`: uses `convolve2d`, a ready-made convolution; this "
        "function earns no points (see the assignment's rules)"
    )
    alias = words.violation_text(Violation("ready-made", "alias", "cv", 2, 5, "cv(a, b)", "scipy.signal.convolve2d"))
    assert "uses `cv` (= scipy.signal.convolve2d), a ready-made convolution" in alias


def test_unrun_cells_are_named_with_their_code_when_they_have_some():
    from autograder.feedback import words
    from autograder.verdicts import FunctionVerdict, NotRun

    verdict = FunctionVerdict("f", [], not_run=[NotRun("3", "import time"), NotRun("5", "")])
    assert words.not_run_text(verdict) == (
        "not run: cell 3 (`import time`), cell 5: the notebook's cells used up their time (all cells together get "
        "the same time, however many)"
    )


# -- the picture's words and its base64 form -----------------------------------------------------------------


def test_the_legend_names_each_kind_of_value_that_is_not_finite():
    from autograder.feedback import pictures

    every = pictures.Panel("yours", np.array([[np.nan, np.inf], [-np.inf, 1.0]]), 1.0)
    assert pictures._legend_words([every]) == "grey: not a finite number (NaN, inf, -inf)"
    apart = [pictures.Panel("a", np.array([[np.inf]]), 1.0), pictures.Panel("b", np.array([[-np.inf]]), 1.0)]
    assert pictures._legend_words(apart) == "grey: not a finite number (inf, -inf)"


def test_the_base64_picture_is_the_png_of_the_same_case_with_its_input():
    from autograder.feedback import pictures

    image, expected, actual = np.arange(16.0).reshape(4, 4), np.ones((2, 2)), np.zeros((2, 2))
    text = pictures.failure_png_base64("case", (image,), expected, actual, (0, 0))
    assert base64.b64decode(text) == pictures.failure_png("case", (image,), expected, actual, (0, 0))
    assert text != pictures.failure_png_base64("case", (), expected, actual, (0, 0))  # the input panel shows
    assert pictures.failure_png_base64("case", (), 3, 4) is None


@pytest.mark.parametrize(
    ("summary", "words"),
    [
        (("object", "Liar"), "a Liar object"),
        (("array", "ndarray", (2, 3), "float32"), "an array of shape (2, 3) and dtype float32"),
        (("numpy", "int64", None, "", "3"), "numpy.int64 3"),
        (("float", "float", None, "", "0.5"), "float 0.5"),
        (("other", "tuple", None, "", "(1, 2)"), "tuple (1, 2)"),
    ],
)
def test_a_value_is_described_by_its_kind(summary, words):
    from autograder.feedback.words import describe
    from autograder.verdicts import Summary

    assert describe(Summary(*summary)) == words


def test_the_problem_that_overrides_every_case_is_said_with_its_details():
    from autograder.feedback.words import problem_text, violation_text
    from autograder.verdicts import Problem, ProblemKind, Violation

    assert problem_text(Problem(ProblemKind.MISSING), "conv2d") == (
        "conv2d is not defined: write it in its solution cell, keeping the name and signature"
    )
    failed = Problem(ProblemKind.MISSING, error_type="NameError", error_message="name 'np' is not defined")
    assert problem_text(failed, "conv2d") == (
        "conv2d is not defined; a cell failed before it could be defined (NameError: name 'np' is not defined)"
    )
    used = Problem(ProblemKind.NOT_FROM_SCRATCH, ("numpy.convolve", "scipy.signal.convolve2d"))
    assert problem_text(used, "conv2d") == (
        "not from scratch: the call used numpy.convolve, scipy.signal.convolve2d; this function earns no points "
        "(see the assignment's rules)"
    )
    violation = Violation("escape", "module", "os", 1, 2, "import os")
    assert problem_text(Problem(ProblemKind.POLICY, violation=violation), "conv2d") == violation_text(violation)
    assert problem_text(Problem(ProblemKind.NOT_GRADED, reason="two notebooks")) == "not graded: two notebooks"
    with pytest.raises(ValueError, match="unknown problem 'odd'"):
        problem_text(Problem("odd"))


def summary(kind, shown="", **fields):
    from autograder.verdicts import Summary

    return Summary(kind, fields.pop("type", "int"), shown=shown, **fields)


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        (
            ("not-raised", {"actual": summary("other", repr="4")}),
            "expected an exception to be raised, but it returned int 4",
        ),
        (
            (
                "not-array",
                {"expected": summary("array", shape=(2, 2)), "actual": summary("float", type="float", repr="0.5")},
            ),
            "expected a numpy array of shape (2, 2), got float 0.5",
        ),
        (
            ("values", {"expected": summary("float", "1.5"), "actual": summary("float", "2.5"), "index": (0, 1)}),
            "values differ: first at index (0, 1), expected 1.5, got 2.5 (0 of 0 values wrong)",
        ),
        (
            ("not-int", {"expected": summary("other", "3"), "actual": summary("numpy", type="int64", repr="3")}),
            "expected a Python int (3), got numpy.int64 3",
        ),
        (
            (
                "not-tuple",
                {"expected": summary("other", "(2, 3)"), "actual": summary("other", type="list", repr="[2, 3]")},
            ),
            "expected a tuple of ints (2, 3), got list [2, 3]",
        ),
        (
            (
                "not-ints",
                {
                    "expected": summary("other", "(2, 3)"),
                    "actual": summary("other", "(2.0, 3)"),
                    "bad": summary("float", type="float", repr="2.0"),
                },
            ),
            "expected a tuple of ints (2, 3), got (2.0, 3) (contains float 2.0)",
        ),
    ],
)
def test_each_wrong_value_is_described_with_what_came_back(failure, words):
    from autograder.feedback.words import failure_text
    from autograder.verdicts import Failure, FailureKind

    kind, fields = failure
    assert failure_text(Failure(FailureKind(kind), **fields)) == words


def sizes_verdict(count: int, kind="unequal", expected_kind="other", shown="7", visible=False):
    from autograder.verdicts import CheckVerdict, Failure, FailureKind, FunctionVerdict, GroupState, GroupVerdict

    groups = [
        GroupVerdict(
            f"group {i}",
            1.0,
            0.0,
            visible,
            GroupState.FAILED,
            Failure(FailureKind(kind), f"n={i}", f"size({i})", summary(expected_kind, str(i)), summary("other", shown)),
        )
        for i in range(count)
    ]
    return FunctionVerdict("size", [CheckVerdict("test", float(count), groups)])


def test_the_wrong_values_table_holds_six_calls_and_counts_the_rest():
    from autograder.feedback import words

    six = words.table(words.table_rows(sizes_verdict(6)))
    assert six[0] == words.INDENT + "wrong values:" and len(six) == 8 and "more" not in six[-1]
    seven = words.table(words.table_rows(sizes_verdict(7)))
    assert seven[:8] == six and seven[8:] == ["    ... and 1 more"]
    long = words.table_rows(sizes_verdict(1, shown="9" * 400))
    assert long == [("size(0)", "0", "9" * 300, False)]  # even from a damaged store: one capped value
    assert words.table_rows(sizes_verdict(2, kind="shape", expected_kind="array")) == []  # arrays are drawn


def test_lines_say_whether_anything_was_withheld():
    from autograder.feedback import words
    from autograder.verdicts import Cause, FunctionVerdict, NotRun, Problem, ProblemKind

    hidden = sizes_verdict(1)
    assert words.lines(hidden)[1] is False
    assert words.lines(hidden, withhold="hidden")[1] is True
    assert words.lines(verdict_with_a_hidden_failure(), withhold="hidden")[1] is True  # a failure, no table row
    shown = sizes_verdict(1, visible=True)
    assert words.lines(shown, withhold="hidden")[1] is False
    shown.cause = Cause("size-off-by-one", visible=False)
    assert words.lines(shown, withhold="hidden")[1] is True  # the cause alone is withheld
    shown.cause = Cause("size-off-by-one", visible=True)
    assert words.lines(shown, withhold="hidden")[1] is False
    not_graded = FunctionVerdict("size", [], Problem(ProblemKind.NOT_GRADED, reason="x"))
    assert words.lines(not_graded, withhold="hidden") == (["size: not graded: x"], False)
    unrun = FunctionVerdict("size", [], not_run=[NotRun("2", "")])
    assert words.lines(unrun)[0][-1] == words.INDENT + words.not_run_text(unrun)


def test_no_picture_without_a_wrong_array_and_long_texts_are_capped():
    from autograder import feedback
    from autograder.feedback import words
    from autograder.verdicts import FunctionVerdict

    assert feedback.picture(FunctionVerdict("f", [])) is None
    assert words._one("x" * 20_000) == "x" * 10_000


#: Two pictures as they were looked at (and found right: every panel, colour bar, title, tick and the
#: legend in its place) when these tests were written, by the SHA-256 of their decoded RGB pixels.
#: Pillow and NumPy are pinned (pyproject.toml); a change of either that moves a pixel shows here,
#: and the pictures are looked at again (write them out with failure_png) before the digests change.
LOOKED_AT = {
    "grey values and titles wider than their arrays": (
        (185, 493),
        "f69d943d4b6587d9ead423d9a98c7093b42a19fd78318976e02d0dcc967597a6",
    ),
    "one-dimensional, under a caption wider than the panels": (
        (140, 619),
        "2994d17d05bae4eb7231f7f25917081737b8b8a31190268060d3076464322bad",
    ),
}


def looked_at_cases():
    image = np.arange(9.0).reshape(3, 3) - 4
    expected, actual = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([[1.0, np.nan], [np.inf, -np.inf]])
    yield "conv2d: 3x3 image with a 2x2 kernel", (image, np.ones((2, 2))), expected, actual, (0, 1)
    label = "conv1d: a signal of 5 values with a kernel of 3 and a label far longer than the panels are wide"
    yield label, (np.arange(5.0),), np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0]), None


def test_the_pictures_are_the_ones_looked_at():
    import hashlib
    import io

    from PIL import Image

    from autograder.feedback import pictures

    for (name, (shape, digest)), case in zip(LOOKED_AT.items(), looked_at_cases(), strict=True):
        pixels = np.asarray(Image.open(io.BytesIO(pictures.failure_png(*case))).convert("RGB"))
        assert (pixels.shape[:2], hashlib.sha256(pixels.tobytes()).hexdigest()) == (shape, digest), name


def test_the_layout_of_the_picture_looked_at():
    from autograder.feedback import pictures
    from autograder.feedback.pictures import Layout, Place

    label, inputs, expected, actual, index = next(looked_at_cases())
    plan = pictures.layout(label, pictures.panels(inputs, expected, actual, index))
    assert plan == Layout(
        493,
        185,
        (
            Place(14, 75, 24, 92, 72, (-4.0, 0.0, 4.0)),
            Place(147, 75, 24, 201, 48, (-2.0, 0.0, 2.0)),
            Place(265, 75, 24, 319, 48, (-2.0, 0.0, 2.0)),
            Place(397, 75, 24, 451, 48, (-1.0, 0.0, 1.0)),
        ),
        161,
    )


def test_a_test_cell_without_points_says_zero_and_the_details_are_under_the_last():
    from autograder.feedback import notebook
    from autograder.results import Exercise, NotebookResult

    exercise = Exercise("f", 1.0, 2.0, "f: 1 / 2", {"test_f_a": None, "test_f_b": 2.0})
    result = NotebookResult("s", "ps1", "n", "p", "graded", None, 1.0, 2.0, [exercise])
    assert notebook.feedback_by_cell(result) == {
        "test_f_a": notebook.OTHER_CELL.format(name="f", points=0),
        "test_f_b": "f: 1 / 2",
    }


def test_an_escape_names_how_many_more_only_when_there_are_more():
    from autograder.feedback.words import violation_text
    from autograder.verdicts import Violation

    one = violation_text(Violation("escape", "module", "os", 1, 2, "import os"))
    assert one.endswith("(it reaches into the interpreter or the grader; see the assignment's rules)")
    more = violation_text(Violation("escape", "module", "os", 1, 2, "import os", more=2))
    assert more == one + " (and 2 more)"
