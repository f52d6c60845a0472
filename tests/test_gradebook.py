"""Recording results in nbgrader's gradebook and autograded/, in this process (no grading run):
per-cell scores, written answers left to a human, the reason of a submission that was not graded."""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder import gradebook
from autograder.course import get_assignment
from autograder.results import Exercise, NotebookResult
from tests.conftest import ROOT, fixture_notebook, make_course

PS1 = get_assignment("ps1")


def registered_gradebook(course: Path) -> None:
    """gradebook.db with ps1 registered: `nbgrader generate_assignment` runs once per version of the
    source notebook and is copied from a cache afterwards (a course copy starts from the same db)."""
    digest = hashlib.sha256(PS1.source_path(ROOT).read_bytes() + (ROOT / "nbgrader_config.py").read_bytes())
    cached = Path(tempfile.gettempdir()) / f"conv-course-test-gradebook-{digest.hexdigest()[:16]}.db"
    if not cached.exists():
        with gradebook.locked(course):
            gradebook.ensure_assignment(course, PS1)
        partial = cached.with_suffix(f".{os.getpid()}.part")
        shutil.copyfile(course / "gradebook.db", partial)
        os.replace(partial, cached)
    else:
        shutil.copyfile(cached, course / "gradebook.db")


@pytest.fixture
def course(tmp_path):
    root = make_course(tmp_path / "course")
    registered_gradebook(root)
    return root


def nbgrader_gradebook(course: Path):
    from nbgrader.api import Gradebook

    return Gradebook(gradebook.db_url(course), gradebook.COURSE_ID)


def submit(course: Path, student: str) -> Path:
    path = course / "submitted" / student / "ps1" / "convolution.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(fixture_notebook("ps1", "correct-loops"), path)
    return path


def graded(student: str, path: Path, conv2d: float = 6.0) -> NotebookResult:
    exercises = [Exercise("conv2d", conv2d, 8.0, f"conv2d: {conv2d:g} / 8 MARKER-{student}",
                          {"test_conv2d_hidden": conv2d}),
                 Exercise("convolve2d", 4.0, 4.0, "convolve2d: 4 / 4", {"test_convolve2d_hidden": 4.0}),
                 Exercise("conv1d", 2.5, 5.0, "conv1d: 2.5 / 5", {"test_conv1d_hidden": 2.5}),
                 Exercise("written_flip", None, 3.0, "graded by hand")]
    return NotebookResult(student, "ps1", "convolution", str(path), "graded", None, conv2d + 6.5, 20.0, exercises)


def outputs_by_cell(path: Path) -> dict[str, str]:
    nb = nbformat.read(path, as_version=4)
    return {cell.metadata.nbgrader["grade_id"]: "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
            for cell in nb.cells if cell.cell_type == "code" and "nbgrader" in cell.metadata
            and cell.metadata.nbgrader.get("grade")}


def test_scores_go_to_their_cells_and_written_answers_wait_for_a_human(course):
    result = graded("alice", submit(course, "alice"))
    with gradebook.GradebookWriter(course, PS1) as writer:
        assert not writer.is_recorded(result, writer.recorded())
        writer.record(result)
        recorded = writer.recorded()
        assert recorded["alice"] == {"test_conv2d_visible": (0.0, None), "test_conv2d_hidden": (6.0, None),
                                     "test_convolve2d_visible": (0.0, None), "test_convolve2d_hidden": (4.0, None),
                                     "test_conv1d_visible": (0.0, None), "test_conv1d_hidden": (2.5, None),
                                     "written_flip": (None, None)}
        assert writer.is_recorded(result, recorded)
        assert not writer.is_recorded(graded("alice", Path(result.path), conv2d=5.0), recorded)
    with nbgrader_gradebook(course) as gb:
        assert gb.find_grade("written_flip", "convolution", "ps1", "alice").needs_manual_grade
    shown = outputs_by_cell(course / "autograded" / "alice" / "ps1" / "convolution.ipynb")
    assert shown["test_conv2d_hidden"] == "conv2d: 6 / 8 MARKER-alice"
    assert shown["test_conv1d_hidden"] == "conv1d: 2.5 / 5"
    assert shown["test_conv2d_visible"] == "visible check: scored in the graded cells of this function"
    assert (course / "autograded" / "alice" / "ps1" / "timestamp.txt").is_file()


def test_a_grade_given_by_hand_survives_a_regrade(course):
    path = submit(course, "bea")
    with gradebook.GradebookWriter(course, PS1) as writer:
        writer.record(graded("bea", path))
        with nbgrader_gradebook(course) as gb:  # what the formgrader does with a grade given by hand
            grade = gb.find_grade("written_flip", "convolution", "ps1", "bea")
            grade.manual_score, grade.needs_manual_grade = 2.0, False
            gb.db.commit()
        writer.record(graded("bea", path, conv2d=8.0))
        assert writer.recorded()["bea"]["written_flip"] == (None, 2.0)
        assert writer.recorded()["bea"]["test_conv2d_hidden"] == (8.0, None)
    with nbgrader_gradebook(course) as gb:
        assert not gb.find_grade("written_flip", "convolution", "ps1", "bea").needs_manual_grade
        assert gb.find_submission("ps1", "bea").score == 8.0 + 4.0 + 2.5 + 2.0


def test_a_submission_that_was_not_graded_gets_zero_and_the_reason(course):
    path = submit(course, "cy")
    reason = "two notebooks of ps1 in submitted/cy/ps1: keep only the one to grade (REASON-cy)"
    exercises = [Exercise("conv2d", 0.0, 8.0, "not graded", {"test_conv2d_hidden": 0.0}),
                 Exercise("written_flip", None, 3.0, "graded by hand")]
    result = NotebookResult("cy", "ps1", "convolution", str(path), "error", reason, 0.0, 20.0, exercises)
    with gradebook.GradebookWriter(course, PS1) as writer:
        writer.record(result)
        assert set(writer.recorded()["cy"].values()) == {(0.0, None)}  # the written answer too
        assert writer.is_recorded(result, writer.recorded())
    autograded = course / "autograded" / "cy" / "ps1" / "convolution.ipynb"
    first = nbformat.read(autograded, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"<p><strong>Not graded: {reason}</strong></p>")
    assert set(outputs_by_cell(autograded).values()) - {""} == {f"not graded: {reason}"}


def test_the_reason_a_notebook_was_not_graded_is_text_never_markdown(course):
    """The reason names the student's file, and a file name can be `[x](javascript:...)` or hold a
    newline: in the heading it is escaped text in an HTML block, so it makes no link or heading."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    name = "[click me](javascript:alert(1))\n# Planted heading.ipynb"
    path = course / "submitted" / "cy" / "ps1" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    reason = f"{name} is not a notebook"
    result = NotebookResult("cy", "ps1", "convolution", str(path), "error", reason, 0.0, 20.0,
                            [Exercise("written_flip", None, 3.0, "graded by hand")])
    with gradebook.GradebookWriter(course, PS1) as writer:
        writer.record(result)
    first = nbformat.read(course / "autograded" / "cy" / "ps1" / "convolution.ipynb", as_version=4).cells[0]
    page = markdown2html_mistune(first.source)
    assert "<a " not in page and "<h1" not in page and "javascript:alert(1)" in page, page


def test_a_function_over_two_cells_shows_its_feedback_under_the_last():
    exercise = Exercise("f", 3.0, 5.0, "f: 3 / 5 details", {"test_f_a": 2.0, "test_f_b": 1.0}, figure="PNG")
    result = NotebookResult("s", "ps1", "n", "p", "graded", None, 3.0, 5.0, [exercise])
    assert gradebook.feedback_by_cell(result) == {
        "test_f_a": "f: 2 point(s) for this cell; the details are under its last test cell",
        "test_f_b": "f: 3 / 5 details"}
    assert gradebook.figures_by_cell(result) == {"test_f_b": "PNG"}


def test_the_submission_folder_and_its_timestamp(course, tmp_path):
    path = submit(course, "dan")
    result = graded("dan", path)
    assert gradebook.submission_folder(course, result) == course / "submitted" / "dan" / "ps1"
    elsewhere = graded("dan", tmp_path / "loose" / "convolution.ipynb")
    assert gradebook.submission_folder(course, elsewhere) == tmp_path / "loose"
    folder = path.parent
    assert gradebook.read_timestamp(folder) is None
    (folder / "timestamp.txt").write_text("2026-03-01 12:30:00.000000 UTC")
    assert gradebook.read_timestamp(folder).isoformat() == "2026-03-01T12:30:00"
    (folder / "timestamp.txt").write_text("not a time")
    assert gradebook.read_timestamp(folder) is None
