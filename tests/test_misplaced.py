"""Misplaced submissions are named (issue 19): every notebook under submitted/ that `grade` does not
grade although it may be the assignment's work is listed with why and what to do, in the table and
on stderr with --json, and the exit status is 1 (../shared/CONTRACT.md: some could not be graded).
Scores in the JSON stream are floats everywhere."""

import json
from pathlib import Path, PurePosixPath

import nbformat

from autograder import submissions
from autograder.course import get_assignment
from autograder.results import Exercise, NotebookResult
from tests.conftest import fixture_notebook, json_lines, run_grader, submit
from tests.security.test_bad_files import without_dac_override

PS1, PS2 = get_assignment("ps1"), get_assignment("ps2")
HEADING = "misplaced, not graded (graded are the notebooks in submitted/STUDENT/ps1/ only):"
SUMMARY = "2 notebook(s): 2 graded now, 0 unchanged (from the store), 0 error(s)"
KNOWN = "(ps1, ps2, ps3)"


def put(course: Path, relative: str, nb) -> Path:
    """`nb` (a notebook, or raw text) at submitted/`relative`, wherever that is."""
    path = course / "submitted" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)
    return path


def misplaced_class(course: Path) -> None:
    """Two students graded (anna; carl, whose folder also hides an older notebook) beside every way
    of being under submitted/ and not graded, and things that are no submissions at all."""
    ps1 = fixture_notebook("ps1", "correct-loops")
    submit(course, "anna", ps1)
    submit(course, "carl", ps1)
    put(course, "carl/ps1/old/convolution.ipynb", ps1)  # nested one level deeper
    put(course, "carl/ps1/.ipynb_checkpoints/convolution-checkpoint.ipynb", ps1)  # not a submission
    put(course, "hank/PS1/convolution.ipynb", ps1)  # the assignment's folder in the wrong case
    put(course, "ivy/convolution.ipynb", ps1)  # no assignment folder
    put(course, "bob/ps9/convolution.ipynb", ps1)  # a folder that is no assignment
    put(course, "bob/ps9/timestamp.txt", "2026-12-01 10:00:00")  # not a notebook
    put(course, "bob/ps9/notes.txt", "not a notebook either")
    put(course, "eve/notes/untitled.ipynb", "{}")  # nothing tells which assignment: every run names it
    put(course, "loose.ipynb", ps1)  # in no student's folder
    put(course, "dora/ps2/shapes_and_padding.ipynb", "{}")  # ps2's own folder: ps2's run grades it
    put(course, "fred/Ps2/shapes_and_padding.ipynb", "{}")  # ps2's, misplaced: ps2's run names it


MISPLACED_PS1 = [
    HEADING,
    f"  bob, submitted/bob/ps9/convolution.ipynb: its folder ps9 is no assignment of this course {KNOWN}: "
    "move it to submitted/bob/ps1/convolution.ipynb",
    "  carl, submitted/carl/ps1/old/convolution.ipynb: it is in a sub-folder of submitted/carl/ps1/, whose own "
    "notebook is graded (only the notebooks directly in it are): if it is the one to grade, move it to "
    "submitted/carl/ps1/ in place of the notebook there; otherwise delete it",
    f"  eve, submitted/eve/notes/untitled.ipynb: its folder notes is no assignment of this course {KNOWN}: move it "
    f"to submitted/eve/ASSIGNMENT/untitled.ipynb, ASSIGNMENT being the one it is for {KNOWN}",
    "  hank, submitted/hank/PS1/convolution.ipynb: its folder PS1 is not ps1 (folder names are case-sensitive): "
    "move it to submitted/hank/ps1/convolution.ipynb",
    "  ivy, submitted/ivy/convolution.ipynb: it is in no assignment's folder: move it to "
    "submitted/ivy/ps1/convolution.ipynb",
    "  (no student), submitted/loose.ipynb: it is in no student's folder: move it to "
    "submitted/STUDENT/ps1/loose.ipynb, STUDENT being the id of the student whose it is",
]


def test_the_table_names_every_misplaced_notebook_and_the_exit_status_is_1(course):
    misplaced_class(course)
    done = run_grader(course, "grade", "ps1", "--no-gradebook")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == [
        "student  conv2d  convolve2d  conv1d  written_flip  total  status",
        "-------  ------  ----------  ------  ------------  -----  ------",
        "anna     8/8     4/4         5/5     -/3           17/20  graded",
        "carl     8/8     4/4         5/5     -/3           17/20  graded",
    ]  # the misplaced notebooks stop nobody being graded
    assert lines[4:] == ["", *MISPLACED_PS1, f"{SUMMARY}; 6 misplaced, not graded (listed above)"]


def test_json_keeps_stdout_to_graded_notebooks_and_names_the_misplaced_on_stderr(course):
    misplaced_class(course)
    done = run_grader(course, "grade", "ps1", "--json", "--no-gradebook")
    assert done.returncode == 1, done.stderr
    assert sorted((r["student"], r["status"]) for r in json_lines(done)) == [("anna", "graded"), ("carl", "graded")]
    assert done.stderr.splitlines()[-8:] == [*MISPLACED_PS1, f"{SUMMARY}; 6 misplaced, not graded (listed above)"]


def test_another_assignments_run_names_its_own_and_those_of_no_assignment(course):
    misplaced_class(course)
    found = submissions.misplaced(course, PS2)
    assert found == [
        submissions.Misplaced(
            "eve",
            PurePosixPath("submitted/eve/notes/untitled.ipynb"),
            submissions.Misplacement.NOT_AN_ASSIGNMENT,
            "notes",
            None,
            None,
        ),
        submissions.Misplaced(
            "fred",
            PurePosixPath("submitted/fred/Ps2/shapes_and_padding.ipynb"),
            submissions.Misplacement.WRONG_CASE,
            "Ps2",
            "ps2",
            PurePosixPath("submitted/fred/ps2/shapes_and_padding.ipynb"),
        ),
    ]
    done = run_grader(course, "grade", "ps2", "--no-gradebook")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-4:] == [
        "misplaced, not graded (graded are the notebooks in submitted/STUDENT/ps2/ only):",
        f"  eve, submitted/eve/notes/untitled.ipynb: its folder notes is no assignment of this course {KNOWN}: move "
        f"it to submitted/eve/ASSIGNMENT/untitled.ipynb, ASSIGNMENT being the one it is for {KNOWN}",
        "  fred, submitted/fred/Ps2/shapes_and_padding.ipynb: its folder Ps2 is not ps2 (folder names are "
        "case-sensitive): move it to submitted/fred/ps2/shapes_and_padding.ipynb",
        "1 notebook(s): 1 graded now, 0 unchanged (from the store), 1 error(s); 2 misplaced, not graded (listed above)",
    ]


def test_only_misplaced_notebooks_is_not_nothing_to_grade(course):
    ps1 = fixture_notebook("ps1", "correct-loops")
    put(course, "hank/PS1/convolution.ipynb", ps1)
    put(course, "ivy/convolution (1).ipynb", ps1)  # its cells say whose it is, not its name
    put(course, "gus/Convolution.ipynb", "{}")  # no cells: its name says whose it is, in any letter case
    done = run_grader(course, "grade", "ps1", "--no-gradebook")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines()[-5:] == [
        HEADING,
        "  gus, submitted/gus/Convolution.ipynb: it is in no assignment's folder: move it to "
        "submitted/gus/ps1/Convolution.ipynb",
        "  hank, submitted/hank/PS1/convolution.ipynb: its folder PS1 is not ps1 (folder names are case-sensitive): "
        "move it to submitted/hank/ps1/convolution.ipynb",
        "  ivy, submitted/ivy/convolution (1).ipynb: it is in no assignment's folder: move it to "
        "submitted/ivy/ps1/convolution (1).ipynb",
        "nothing to grade: no submissions for ps1; 3 misplaced, not graded (listed above)",
    ]


def test_a_misplaced_copy_beside_the_graded_one_says_which_is_graded(course):
    ps1 = fixture_notebook("ps1", "correct-loops")
    submit(course, "hank", ps1)
    put(course, "hank/PS1/convolution.ipynb", ps1)
    put(course, "hank/convolution.ipynb", ps1)
    done = run_grader(course, "grade", "ps1", "--no-gradebook")
    assert done.returncode == 1
    assert done.stdout.splitlines()[-4:] == [
        HEADING,
        "  hank, submitted/hank/PS1/convolution.ipynb: its folder PS1 is not ps1 (folder names are case-sensitive): "
        "submitted/hank/ps1/convolution.ipynb is graded instead; if this one is the one to grade, move it there "
        "in its place",
        "  hank, submitted/hank/convolution.ipynb: it is in no assignment's folder: submitted/hank/ps1/convolution."
        "ipynb is graded instead; if this one is the one to grade, move it there in its place",
        "1 notebook(s): 1 graded now, 0 unchanged (from the store), 0 error(s); 2 misplaced, not graded (listed above)",
    ]


def test_what_is_no_submission_changes_nothing(course):
    """Checkpoints anywhere, files that are not notebooks, another assignment's folder, a link to a
    folder: nothing is named, the summary and the exit status are as before."""
    ps1 = fixture_notebook("ps1", "correct-loops")
    submit(course, "anna", ps1, timestamp="2026-12-01 10:00:00")
    put(course, "anna/.ipynb_checkpoints/convolution-checkpoint.ipynb", ps1)
    put(course, "anna/ps1/.ipynb_checkpoints/convolution-checkpoint.ipynb", ps1)
    put(course, "anna/PS1/.ipynb_checkpoints/convolution-checkpoint.ipynb", ps1)
    put(course, "anna/ps9/timestamp.txt", "2026-12-01 10:00:00")
    put(course, "anna/convolution.txt", "not a notebook")
    put(course, "anna/ps2/convolution.ipynb", ps1)  # ps2's folder: ps2's run says it is ps1's notebook
    (course / "submitted" / "anna" / "elsewhere").symlink_to(course / "source")  # not followed
    done = run_grader(course, "grade", "ps1", "--no-gradebook")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1] == "1 notebook(s): 1 graded now, 0 unchanged (from the store), 0 error(s)"
    assert "misplaced" not in done.stdout + done.stderr


def test_paths_say_what_to_grade_and_nothing_else_is_named(course):
    ps1 = fixture_notebook("ps1", "correct-loops")
    submit(course, "anna", ps1)
    put(course, "hank/PS1/convolution.ipynb", ps1)
    done = run_grader(course, "grade", "ps1", "submitted/anna/ps1", "--no-gradebook")
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1] == "1 notebook(s): 1 graded now, 0 unchanged (from the store), 0 error(s)"


def test_a_misplaced_folder_that_cannot_be_read_is_named(course):
    ps1 = fixture_notebook("ps1", "correct-loops")
    submit(course, "anna", ps1)
    locked = put(course, "hank/PS1/convolution.ipynb", ps1).parent
    inner = put(course, "anna/ps1/extra/convolution.ipynb", ps1).parent  # inside a graded folder: left alone
    locked.chmod(0)
    inner.chmod(0)
    try:
        done = without_dac_override(course, "grade", "ps1", "--no-gradebook")
    finally:
        locked.chmod(0o755)
        inner.chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines()[-3:] == [
        HEADING,
        "  hank, submitted/hank/PS1: a folder that cannot be read, so the notebooks in it are unknown: make it "
        "readable by the grader (chmod -R u+rX submitted/hank/PS1) and grade again",
        "1 notebook(s): 1 graded now, 0 unchanged (from the store), 0 error(s); 1 misplaced, not graded (listed above)",
    ]


def points(data, key=""):
    """Every (key, value) of a JSON value whose key names points."""
    if isinstance(data, dict):
        for name, value in data.items():
            yield from points(value, name)
    elif isinstance(data, list):
        for value in data:
            yield from points(value, key)
    elif key in ("score", "max_score", "points", "earned") or key.startswith("test_"):
        yield key, data


def test_json_scores_are_floats_everywhere_also_from_the_store(course):
    submit(course, "bob", fixture_notebook("ps1", "flipped-kernel"))
    submit(course, "zed", '{"cells": [ not json')
    first = run_grader(course, "grade", "ps1", "--json", "--no-gradebook")
    assert first.returncode == 1, first.stderr
    for result in json_lines(first):
        found = list(points(result))
        kinds = {key for key, _ in found}
        assert {"score", "max_score", "points", "earned"} | (
            {"test_conv2d_hidden"} if result["student"] == "bob" else set()
        ) <= kinds, kinds
        assert [(k, v) for k, v in found if type(v) is not float and not (k == "score" and v is None)] == []
    # a result stored with integers (as the grader stored them before) is served with floats
    for stored in (course / ".autograder" / "results" / "ps1").glob("*.json"):
        record = json.loads(stored.read_text())
        record["result"]["score"], record["result"]["max_score"] = 11, 20
        record["result"]["exercises"][0].update(score=2, max_score=8)
        stored.write_text(json.dumps(record))
    again = run_grader(course, "grade", "ps1", "--json", "--no-gradebook")
    lines = [line for line in again.stdout.splitlines() if '"student": "bob"' in line]
    assert '"score": 11.0, "max_score": 20.0' in lines[0]
    assert '"name": "conv2d", "score": 2.0, "max_score": 8.0' in lines[0]


def test_to_dict_writes_integer_points_as_floats():
    exercise = Exercise("conv2d", 2, 8, "text", {"test_conv2d": 2})
    manual = Exercise("written_flip", None, 3, "graded by hand")
    result = NotebookResult("s", "ps1", "convolution", "p", "graded", None, 2, 11, [exercise, manual])
    data = result.to_dict()
    assert [type(v).__name__ for v in (data["score"], data["max_score"])] == ["float", "float"]
    first, second = data["exercises"]
    assert [type(v).__name__ for v in (first["score"], first["max_score"], first["cells"]["test_conv2d"])] == [
        "float"
    ] * 3
    assert (second["score"], type(second["max_score"])) == (None, float)
