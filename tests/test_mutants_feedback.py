"""The renderers (autograder.feedback), line by line where a test elsewhere only looks for a part:
the score table of `python -m autograder grade`, the notebook's outputs, the failure words and the
wrong-values table. Written to kill the mutants `make mutate` left alive (README "Mutation testing").
"""

from __future__ import annotations

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
