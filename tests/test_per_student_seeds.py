"""Per-student hidden inputs in `nbgrader autograde` (graded in the sandbox) and in `python -m autograder grade`.

A student who flips the kernel fails the seeded group "the contract's image sizes"; its feedback
line quotes a value computed from the drawn inputs, so it tells which inputs a student got.
"""

import re

import nbformat
import pytest

from autograder import notebook_checks, notebooks
from autograder.cases import ps1 as ps1_cases
from tests.conftest import fixture_notebook, json_lines, make_course, nbgrader, run_grader

SEEDED_GROUP = ps1_cases.SIZES_TITLE
FLIPPED = {"alice": "flipped-kernel", "bob": "flipped-kernel", "carol": "correct-loops"}


def seeded_failure(feedback: str) -> str:
    """The failure line under the seeded group (the first case that failed, with its values)."""
    lines = feedback.splitlines()
    (index,) = [i for i, line in enumerate(lines) if SEEDED_GROUP in line and "[FAIL]" in line]
    detail = lines[index + 1].strip()
    assert re.search(r"expected -?\d", detail), detail
    return detail


def hidden_cell_output(course, student: str, cell: str = "test_conv2d_hidden") -> str:
    """The feedback `nbgrader autograde` wrote under a test cell (the grader's, autograder.nbgrader_autograde)."""
    nb = notebooks.read(course / "autograded" / student / "ps1" / "convolution.ipynb")
    (found,) = [c for c in nb.cells if notebooks.grade_id(c) == cell]
    return found.outputs[0]["data"]["text/plain"]


def submit_class(course, students: dict[str, str]) -> None:
    for student, behaviour in students.items():
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True, exist_ok=True)
        nbformat.write(fixture_notebook("ps1", behaviour), folder / "convolution.ipynb")


def test_the_setting_and_the_student_folder(tmp_path):
    course = make_course(tmp_path / "course")
    assert notebook_checks.per_student_seeds(course) is False  # the course ships with it off
    with open(course / "nbgrader_config.py", "a") as handle:
        handle.write("\nc.Autograder.per_student_seeds = True\n")
    assert notebook_checks.per_student_seeds(course) is True
    folder = course / "autograded" / "alice" / "ps1"
    assert notebook_checks.autograded_student(folder, "ps1") == "alice"
    assert notebook_checks.autograded_student(course / "source" / "ps1", "ps1") is None
    assert notebook_checks.autograded_student(folder, "ps2") is None


@pytest.mark.slow
def test_nbgrader_autograde_draws_inputs_per_student_as_the_grade_command_does(tmp_path):
    from nbgrader.api import Gradebook

    from autograder.gradebook import COURSE_ID, db_url

    course = make_course(tmp_path / "course")
    with open(course / "nbgrader_config.py", "a") as handle:
        handle.write("\nc.Autograder.per_student_seeds = True\n")
    nbgrader(course, "generate_assignment", "ps1", "--force")
    submit_class(course, FLIPPED)
    nbgrader(course, "autograde", "ps1", "--force")

    alice = seeded_failure(hidden_cell_output(course, "alice"))
    bob = seeded_failure(hidden_cell_output(course, "bob"))
    assert alice != bob  # the same notebook, other inputs

    nbgrader(course, "autograde", "ps1", "--force", "--student", "alice")
    assert seeded_failure(hidden_cell_output(course, "alice")) == alice  # the same student, the same inputs

    with Gradebook(db_url(course), COURSE_ID) as gb:
        assert gb.find_submission("ps1", "carol").score == 17.0  # an honest student keeps full marks
        assert gb.find_submission("ps1", "alice").score == gb.find_submission("ps1", "bob").score

    # The sandboxed grader draws the same inputs for the same student id.
    done = run_grader(course, "grade", "ps1", "--per-student-seeds", "--json", "--no-gradebook")
    assert done.returncode == 0, done.stderr
    results = {r["student"]: r for r in json_lines(done)}
    conv2d = {student: next(e for e in r["exercises"] if e["name"] == "conv2d") for student, r in results.items()}
    assert seeded_failure(conv2d["alice"]["feedback"]) == alice
    assert seeded_failure(conv2d["bob"]["feedback"]) == bob
    assert results["carol"]["score"] == 17.0


@pytest.mark.slow
def test_grade_command_draws_inputs_per_student(course):
    submit_class(course, FLIPPED)
    first = run_grader(course, "grade", "ps1", "--per-student-seeds", "--json", "--no-gradebook")
    again = run_grader(course, "grade", "ps1", "--per-student-seeds", "--json", "--no-gradebook", "--force")
    shared = run_grader(course, "grade", "ps1", "--json", "--no-gradebook", "--force")
    runs = []
    for done in (first, again, shared):
        assert done.returncode == 0, done.stderr
        runs.append({r["student"]: r for r in json_lines(done)})

    def line(run, student):
        return seeded_failure(next(e for e in run[student]["exercises"] if e["name"] == "conv2d")["feedback"])

    assert line(runs[0], "alice") != line(runs[0], "bob")
    assert line(runs[0], "alice") == line(runs[1], "alice") and line(runs[0], "bob") == line(runs[1], "bob")
    assert line(runs[2], "alice") == line(runs[2], "bob")  # without the option everyone shares the inputs
    assert runs[0]["carol"]["score"] == runs[2]["carol"]["score"] == 17.0
    assert runs[0]["alice"]["score"] == runs[2]["alice"]["score"]  # a bug costs the same points


def test_the_grading_context_draws_each_students_inputs_only_when_asked(root):
    """In-process, without a sandbox: the inputs the sandboxed grader sends for a student."""
    import numpy as np

    from autograder import grading
    from autograder.course import get_assignment

    def inputs(ctx, student):
        return [np.asarray(item.case.args[0]).tobytes() for item in ctx.prepared(student).built["conv2d"]]

    seeded = grading.Context(root, get_assignment("ps1"), per_student_seeds=True)
    alice, bob = inputs(seeded, "alice"), inputs(seeded, "bob")
    assert alice != bob and alice == inputs(seeded, "alice")
    shared = grading.Context(root, get_assignment("ps1"))
    assert inputs(shared, "alice") == inputs(shared, "bob") != alice
    assert inputs(shared, "alice")[0] == alice[0]  # the notebook's visible examples are the same for all
