"""A real nbgrader cycle in a temporary course, and agreement with python -m autograder grade."""

import csv
import json

import nbformat
import pytest

from autograder import notebooks, sample_class
from autograder.course import ASSIGNMENTS
from tests.conftest import json_lines, make_course, nbgrader, run_grader

HONEST = {"alice": "correct", "bob": "untouched", "carol": "bug", "dan": "partial", "eve": "noisy"}
# The exact totals of the sample class's partly right students (autograder.sample_class).
PARTLY_RIGHT = {"ps1": {"carol": 11, "dan": 8}, "ps2": {"carol": 12, "dan": 4}, "ps3": {"carol": 13, "dan": 6}}


def auto_points(root, assignment):
    nb = notebooks.read(assignment.source_path(root))
    return sum(c.points for c in notebooks.grade_cells(nb) if c.kind == "test")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_nbgrader_round_trip_and_both_graders_agree(root, tmp_path, name):
    from nbgrader.api import Gradebook

    from autograder.gradebook import COURSE_ID, db_url

    assignment = ASSIGNMENTS[name]
    course = make_course(tmp_path / "course")
    nbgrader(course, "generate_assignment", name, "--force")
    sample_class.write_class(course, assignment, HONEST)
    nbgrader(course, "autograde", name, "--force")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv") as handle:
        exported = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle)
                    if row["assignment"] == name}

    full = auto_points(root, assignment)
    assert exported["alice"] == exported["eve"] == full  # noisy but correct: stderr does not cost points
    assert exported["bob"] == 0
    assert {student: exported[student] for student in PARTLY_RIGHT[name]} == PARTLY_RIGHT[name]

    # every graded test cell fails on the released stubs
    with Gradebook(db_url(course), COURSE_ID) as gb:
        bob = gb.find_submission_notebook(assignment.notebook, name, "bob")
        test_grades = [g for g in bob.grades if g.cell_type == "code"]
        assert test_grades and all(g.score == 0 for g in test_grades)

    # the sandboxed grader gives every honest student the same total
    done = run_grader(course, "grade", name, "--json", "--no-gradebook")
    assert done.returncode == 0, done.stderr
    ours = {r["student"]: r["score"] for r in json_lines(done)}
    assert ours == exported

    # feedback shows no hidden-test source and no mark scheme
    nbgrader(course, "generate_feedback", name, "--force")
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(HONEST)
    for page in pages:
        html = page.read_text()
        for secret in ("BEGIN HIDDEN TESTS", "notebook_checks", "BEGIN MARK SCHEME", "BEGIN SOLUTION"):
            assert secret not in html, (page, secret)


@pytest.mark.slow
def test_zip_collect_then_grade(root, tmp_path):
    import zipfile

    assignment = ASSIGNMENTS["ps1"]
    course = make_course(tmp_path / "course")
    nbgrader(course, "generate_assignment", "ps1", "--force")
    archive = course / "downloaded" / "ps1" / "archive"
    archive.mkdir(parents=True)
    with zipfile.ZipFile(archive / "lms-export.zip", "w") as bundle:
        for student, behaviour in (("alice", "correct"), ("bob", "untouched")):
            text = nbformat.writes(sample_class.submission(course, assignment, behaviour))
            bundle.writestr(f"{student}_convolution.ipynb", text)
    nbgrader(course, "zip_collect", "ps1")
    assert (course / "submitted" / "alice" / "ps1" / "convolution.ipynb").is_file()
    done = run_grader(course, "grade", "ps1", "--json", "--no-gradebook")
    assert done.returncode == 0, done.stderr
    assert {r["student"]: r["score"] for r in json_lines(done)} == {"alice": auto_points(root, assignment), "bob": 0}


def colab_saved(nb) -> str:
    """`nb` as Google Colab saves a notebook: nbformat 4.0 (whose schema has no cell ids), each
    cell's id moved into its metadata, Colab's own metadata."""
    data = json.loads(nbformat.writes(nb))
    data["nbformat_minor"] = 0
    data["metadata"] = {"colab": {"provenance": [], "name": "convolution.ipynb"},
                        "kernelspec": {"name": "python3", "display_name": "Python 3"},
                        "language_info": {"name": "python"}}
    for cell in data["cells"]:
        cell["metadata"]["id"] = cell.pop("id")
        if cell["cell_type"] == "code":
            cell["metadata"]["colab"] = {"base_uri": "https://localhost:8080/"}
            cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ran in Colab\n"]}]
    return json.dumps(data, indent=2)


@pytest.mark.slow
def test_a_notebook_saved_by_colab_grades_into_a_valid_autograded_notebook(tmp_path):
    """A 4.0 notebook (what Colab saves) is graded, and its autograded copy, which needs cell ids,
    is a valid 4.5 notebook: nbgrader's generate_feedback reads it without complaint."""
    from tests.conftest import fixture_notebook, submit
    from tests.test_sanitize import drop

    course = make_course(tmp_path / "course")
    nb = fixture_notebook("ps1", "correct-loops")
    drop("test_conv1d_hidden")(nb)  # a deleted test cell comes back, and needs an id too
    text = colab_saved(nb)
    nbformat.validate(json.loads(text))  # a valid notebook of nbformat 4.0, as Colab wrote it
    path = submit(course, "colab", text)
    assert json.loads(path.read_text())["nbformat_minor"] == 0

    done = run_grader(course, "grade", "ps1", "--json")
    assert done.returncode == 0, done.stderr
    assert [(r["student"], r["status"], r["score"]) for r in json_lines(done)] == [("colab", "graded", 17.0)]
    autograded = course / "autograded" / "colab" / "ps1" / "convolution.ipynb"
    data = json.loads(autograded.read_text())
    nbformat.validate(data)
    assert (data["nbformat"], data["nbformat_minor"]) == (4, 5)
    assert "orig_nbformat_minor" not in data["metadata"]
    assert any("was missing from the submission" in "".join(c["source"]) for c in data["cells"])
    assert len({c["id"] for c in data["cells"]}) == len(data["cells"])

    feedback = nbgrader(course, "generate_feedback", "ps1", "--force")
    log = feedback.stdout + feedback.stderr
    assert "Notebook JSON is invalid" not in log and "is not valid" not in log, log[-3000:]
    assert (course / "feedback" / "colab" / "ps1" / "convolution.html").is_file()
