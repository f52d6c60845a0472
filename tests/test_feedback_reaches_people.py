"""What the grader found reaches people through nbgrader's own commands: the autograded notebook,
generate_feedback, release_feedback through an exchange, export, and manual grading.

Every assertion looks for something only the student (markers in their code and answer) or the
grader (the exact feedback lines `--json` printed) produced, never text the release contains."""

import csv
import html
import json
import sys

import nbformat
import pytest

from autograder.gradebook import COURSE_ID, db_url
from tests.conftest import json_lines, nbgrader, run_grader
from tests.marked_class import ADDED_MARKER, ANSWER_MARKER, CODE_MARKER, dump, feedback_lines, write_marked_class

DUE = "2030-01-01 12:00:00 UTC"  # ben's timestamp is a day later; ada's is before


def exported(course) -> dict[str, dict]:
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle) if row["assignment"] == "ps1"}


@pytest.mark.slow
def test_student_work_and_feedback_reach_feedback_exchange_and_export(course, tmp_path):
    from nbgrader.api import Gradebook

    with open(course / "nbgrader_config.py", "a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    nbgrader(course, "db", "assignment", "add", "ps1", f"--duedate={DUE}")
    write_marked_class(course)

    done = run_grader(course, "grade", "ps1", "--json")
    assert done.returncode == 1, done.stderr  # three submissions could not be graded
    results = json_lines(done)
    by_student = {}
    for result in results:
        by_student.setdefault(result["student"], []).append(result)
    # ben: conv2d 2/8 (flipped kernel), convolve2d 4/4 (judged with the reference conv2d), conv1d 5/5
    assert by_student["ben"][0]["status"] == "graded" and by_student["ben"][0]["score"] == 11, dump(results)
    (wes,) = by_student["wes"]
    assert wes["status"] == "error" and "ps2" in wes["error"] and wes["score"] == 0, wes
    assert all(r["status"] == "error" and "2 notebooks of ps1" in r["error"] for r in by_student["amb"])
    assert by_student["cor"][0]["status"] == "error" and "not a readable notebook" in by_student["cor"][0]["error"]
    lines = feedback_lines(results, "ben", "conv2d")
    assert len(lines) > 3

    # the autograded notebook is ben's own, locked cells restored, feedback under the test cell
    nb = nbformat.read(course / "autograded" / "ben" / "ps1" / "convolution.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert CODE_MARKER in text and ANSWER_MARKER in text and ADDED_MARKER in text
    (hidden,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_conv2d_hidden"]
    shown = "".join(o["data"]["text/plain"] for o in hidden.outputs if "image/png" not in o["data"])
    assert shown.strip() == "\n".join(by_student["ben"][0]["exercises"][0]["feedback"].splitlines()).strip()
    assert all(o["output_type"] != "execute_result" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    # the picture of ben's first wrong array (the one --json carried) sits under the same cell
    figure = by_student["ben"][0]["exercises"][0]["figure"]
    assert figure and [o["data"]["image/png"] for o in hidden.outputs if "image/png" in o.get("data", {})] == [figure]
    assert (course / "autograded" / "ben" / "ps1" / "timestamp.txt").read_text().startswith("2030-01-02")

    # nbgrader's feedback page shows ben's code, his answer and the grader's lines; no hidden tests
    nbgrader(course, "generate_feedback", "ps1", "--force")
    page = html.unescape((course / "feedback" / "ben" / "ps1" / "convolution.html").read_text())
    for marker in (CODE_MARKER, ANSWER_MARKER, ADDED_MARKER):
        assert marker in page
    for line in lines:
        assert line in page, line
    assert f"data:image/png;base64,{figure}" in page.replace("\n", "")
    for secret in ("BEGIN HIDDEN TESTS", "notebook_checks", "BEGIN MARK SCHEME", "BEGIN SOLUTION"):
        assert secret not in page
    wes_page = html.unescape((course / "feedback" / "wes" / "ps1" / "convolution.html").read_text())
    assert wes["error"] in wes_page
    amb_page = html.unescape((course / "feedback" / "amb" / "ps1" / "convolution.html").read_text())
    assert by_student["amb"][0]["error"] in amb_page

    # release_feedback through an exchange
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    nbgrader(course, "release_feedback", "ps1", f"--Exchange.root={exchange}")
    released = list((exchange / COURSE_ID / "feedback").glob("*.html"))
    assert any(CODE_MARKER in p.read_text() and lines[-1] in html.unescape(p.read_text()) for p in released)

    # export: a row for every student, ben's timestamp and the late penalty the config asks for
    rows = exported(course)
    assert set(rows) == {"ben", "ada", "wes", "amb", "cor"}
    assert rows["ben"]["timestamp"].startswith("2030-01-02 09:30")
    bens = by_student["ben"][0]["score"]
    assert float(rows["ben"]["raw_score"]) == bens and float(rows["ben"]["late_submission_penalty"]) == bens
    assert float(rows["ben"]["score"]) == 0
    assert float(rows["ada"]["score"]) == 17 and float(rows["ada"]["late_submission_penalty"] or 0) == 0
    for student in ("wes", "amb", "cor"):
        assert float(rows[student]["raw_score"]) == 0

    # manual grading (what the formgrader does, through nbgrader's API) sees ben's answer and sticks
    with Gradebook(db_url(course), COURSE_ID) as gb:
        submission = gb.find_submission_notebook("convolution", "ps1", "ben")
        assert submission.needs_manual_grade
        (written,) = [g for g in submission.grades if g.name == "written_flip"]
        assert written.needs_manual_grade and written.auto_score is None
        assert all(not g.needs_manual_grade for g in submission.grades if g.name != "written_flip")
        written.manual_score, written.needs_manual_grade = 2.5, False
        gb.db.commit()
    table = run_grader(course, "grade", "ps1", "--force", "submitted/ben/ps1")
    ben_row = next(line for line in table.stdout.splitlines() if line.startswith("ben "))
    assert "2.5/3" in ben_row and f"{bens + 2.5:g}/20" in ben_row, table.stdout
    assert "1 graded now, 0 unchanged (from the store), 0 error(s)" in table.stdout
    assert float(exported(course)["ben"]["raw_score"]) == bens + 2.5


@pytest.mark.slow
def test_a_reset_gradebook_is_filled_again_from_the_store_without_force(course):
    write_marked_class(course)
    first = run_grader(course, "grade", "ps1", "--json")
    assert first.returncode == 1, first.stderr
    (course / "gradebook.db").unlink()
    for path in sorted((course / "autograded").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()

    again = run_grader(course, "grade", "ps1")
    assert "0 graded now, 6 unchanged (from the store)" in again.stdout, again.stdout
    assert "missing from the gradebook and written again" in again.stdout
    rows = exported(course)
    totals = {r["student"]: r["score"] for r in json_lines(first)}
    assert totals["ada"] == 17 and totals["ben"] == 11  # ben: conv2d 2/8 (a flipped kernel)
    assert {s: float(r["raw_score"]) for s, r in rows.items()} == totals
    nb = nbformat.read(course / "autograded" / "ben" / "ps1" / "convolution.ipynb", as_version=4)
    assert any(CODE_MARKER in c.source for c in nb.cells)

    quiet = run_grader(course, "grade", "ps1")  # now they agree: nothing to write
    assert "written again" not in quiet.stdout and "6 unchanged" in quiet.stdout
    assert json.dumps(rows) == json.dumps(exported(course))


@pytest.mark.slow
def test_a_student_fetches_feedback_on_their_own_work_through_the_exchange(course, tmp_path):
    from tests.marked_class import bens_notebook

    exchange, home = tmp_path / "exchange", tmp_path / "student"
    exchange.mkdir()
    home.mkdir()
    where = [f"--Exchange.root={exchange}", f"--Exchange.cache={tmp_path / 'cache'}"]
    nbgrader(course, "release_assignment", "ps1", "--force", *where)
    nbgrader(home, "fetch_assignment", "ps1", f"--course={COURSE_ID}", *where)
    fetched = home / "ps1" / "convolution.ipynb"
    ours = bens_notebook()  # the student's work, written into the notebook they fetched
    nb = nbformat.read(fetched, as_version=4)
    assert len(nb.cells) + 1 == len(ours.cells)
    nbformat.write(ours, fetched)
    nbgrader(home, "submit", "ps1", f"--course={COURSE_ID}", *where)
    nbgrader(course, "collect", "ps1", *where)
    (student,) = [p.name for p in (course / "submitted").iterdir()]
    assert (course / "submitted" / student / "ps1" / "submission_secret.txt").is_file()

    done = run_grader(course, "grade", "ps1", "--json")
    assert done.returncode == 0, done.stderr
    (graded,) = json_lines(done)
    lines = feedback_lines([graded], student, "conv2d")
    nbgrader(course, "generate_feedback", "ps1", "--force")
    nbgrader(course, "release_feedback", "ps1", *where)
    nbgrader(home, "fetch_feedback", "ps1", f"--course={COURSE_ID}", *where)
    (page,) = (home / "ps1" / "feedback").rglob("convolution.html")
    text = html.unescape(page.read_text())
    assert CODE_MARKER in text and ANSWER_MARKER in text
    assert all(line in text for line in lines)
    rows = exported(course)
    assert rows[student]["timestamp"] and float(rows[student]["raw_score"]) == graded["score"]


@pytest.mark.slow
def test_a_gradebook_created_in_process_is_the_one_nbgrader_would_create(course):
    import sqlite3
    import subprocess

    from nbgrader.dbutil import _temp_alembic_ini

    from autograder.course import get_assignment
    from autograder.gradebook import ensure_assignment, locked

    with _temp_alembic_ini(db_url(course)) as ini:  # what nbgrader asks the alembic command
        heads = subprocess.run([sys.executable, "-m", "alembic", "-c", ini, "heads"], capture_output=True,
                               text=True, check=True).stdout.split()[0]
    with locked(course):
        ensure_assignment(course, get_assignment("ps1"))
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(heads,)]
        cells = {name for (name,) in db.execute("SELECT base_cell.name FROM grade_cells JOIN base_cell "
                                                "ON grade_cells.id = base_cell.id")}
    assert {"test_conv2d_hidden", "test_conv1d_visible"} <= cells
    nbgrader(course, "db", "upgrade")  # nbgrader's own migration check accepts it
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
