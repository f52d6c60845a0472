"""Whose work a submission is, and what is graded as it: a submission folder may hold links and
folders of the student's making (tarballs, git clones and rsync keep them). A link never decides
what is read or whose it is, and a folder inside a student's submission never names a student.
(Red team: a link to source/ scored the reference; a nested submitted/bob/ps1/ overwrote bob's grade.)"""

import os
import sqlite3

import pytest

from tests.conftest import fixture_notebook, json_lines, make_course, run_grader, submit

pytestmark = pytest.mark.slow


@pytest.fixture
def course(tmp_path):
    return make_course(tmp_path / "course")


def grade(course):
    done = run_grader(course, "grade", "ps1", "--json", "--workers", "1")
    return {r["student"]: r for r in json_lines(done)}, done


def gradebook_totals(course):
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute("SELECT student.id, SUM(grade.auto_score) FROM grade JOIN submitted_notebook ON "
                          "grade.notebook_id = submitted_notebook.id JOIN submitted_assignment ON "
                          "submitted_notebook.assignment_id = submitted_assignment.id JOIN student ON "
                          "submitted_assignment.student_id = student.id GROUP BY student.id").fetchall()
    return {student: total for student, total in rows}


def test_a_link_to_the_instructors_notebook_is_not_graded(course):
    folder = course / "submitted" / "mallory" / "ps1"
    folder.mkdir(parents=True)
    (folder / "convolution.ipynb").symlink_to(course / "source" / "ps1" / "convolution.ipynb")
    submit(course, "alice", fixture_notebook("ps1", "correct-loops"))
    results, done = grade(course)
    assert done.returncode == 1, done.stderr
    mallory = results["mallory"]
    assert mallory["status"] == "error" and mallory["score"] == 0
    assert mallory["error"] == (f"{folder / 'convolution.ipynb'}: not a readable notebook (a link, not a file): "
                                "hand in the notebook file itself")
    assert results["alice"]["score"] == 17.0


def test_a_hard_link_to_the_instructors_notebook_is_not_graded(course):
    folder = course / "submitted" / "mallory" / "ps1"
    folder.mkdir(parents=True)
    os.link(course / "source" / "ps1" / "convolution.ipynb", folder / "convolution.ipynb")
    results, _ = grade(course)
    assert results["mallory"]["status"] == "error" and results["mallory"]["score"] == 0
    assert "is the instructor's own notebook" in results["mallory"]["error"]


def test_a_linked_submission_folder_is_not_graded(course):
    (course / "submitted" / "mallory").mkdir(parents=True)
    (course / "submitted" / "mallory" / "ps1").symlink_to(course / "source" / "ps1")
    results, _ = grade(course)
    assert results["mallory"]["status"] == "error" and results["mallory"]["score"] == 0
    assert results["mallory"]["error"].endswith("is a link, not a folder: copy the submission itself into "
                                                f"{course / 'submitted' / 'mallory' / 'ps1'} and grade again")


def test_a_folder_inside_a_submission_names_no_student(course):
    """zed hands in a tree submitted/bob/ps1/ holding an empty notebook inside his own ps1 folder:
    it is zed's (and not graded: not in his ps1 folder itself); bob keeps his grade."""
    submit(course, "bob", fixture_notebook("ps1", "correct-loops"))
    inner = course / "submitted" / "zed" / "ps1" / "submitted" / "bob" / "ps1"
    inner.mkdir(parents=True)
    (inner / "convolution.ipynb").write_bytes((course / "assignments" / "ps1" / "convolution.ipynb").read_bytes())
    results, done = grade(course)
    assert results["bob"]["score"] == 17.0 and results["bob"]["status"] == "graded"
    assert results["zed"]["status"] == "error"
    assert results["zed"]["error"].startswith(f"no notebook in {course / 'submitted' / 'zed' / 'ps1'} itself, "
                                              "only in a sub-folder (submitted/bob/ps1/convolution.ipynb)")
    assert sorted(r["student"] for r in json_lines(done)) == ["bob", "zed"]
    assert gradebook_totals(course)["bob"] == 17.0
