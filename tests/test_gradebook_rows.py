"""The rows our sqlite3 writer puts in gradebook.db are the rows nbgrader's own API puts there for
the same results (add_student, add_submission, auto scores, a late penalty by the course's plugin,
a grade given by hand, an extension), compared table by table, generated ids and order aside."""

import shutil
import sqlite3
from pathlib import Path

import pytest

from autograder import course_config, gradebook
from autograder.results import Exercise, NotebookResult
from autograder.shadows import gradebook_rows
from tests.conftest import fixture_notebook, make_course
from tests.test_gradebook import PS1, registered_gradebook, submit

DUE = "2030-01-01 12:00:00 UTC"
ON_TIME, LATE = "2029-12-31 08:00:00.000000 UTC", "2030-01-02 09:30:00.250000 UTC"


def result(student: str, path: Path, conv2d: float, status: str = "graded") -> NotebookResult:
    exercises = [Exercise("conv2d", conv2d, 8.0, "f", {"test_conv2d_hidden": conv2d}),
                 Exercise("convolve2d", 4.0, 4.0, "f", {"test_convolve2d_hidden": 4.0}),
                 Exercise("conv1d", None, 5.0, "f", {"test_conv1d_hidden": None}),
                 Exercise("written_flip", None, 3.0, "by hand")]
    return NotebookResult(student, "ps1", "convolution", str(path), status,
                          None if status == "graded" else "NOT-GRADED-REASON", conv2d + 4.0, 20.0, exercises)


def nbgrader_record(root: Path, results: list[NotebookResult], auto_cells: set[str]) -> None:
    """What our writer does, done with nbgrader's API (the way this project recorded results before)."""
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.preprocessors import AssignLatePenalties
    from nbgrader.utils import parse_utc

    assigner = AssignLatePenalties(config=course_config.for_nbgrader(root))
    assigner.init_plugin()
    with Gradebook(gradebook.db_url(root), gradebook.COURSE_ID) as gb:
        for done in results:
            stamp = Path(done.path).parent / "timestamp.txt"
            timestamp = parse_utc(stamp.read_text().strip()) if stamp.is_file() else None
            try:
                gb.find_student(done.student)
            except MissingEntry:
                gb.add_student(done.student)
            try:
                submission = gb.find_submission("ps1", done.student)
                submission.timestamp = timestamp
            except MissingEntry:
                submission = gb.add_submission("ps1", done.student, timestamp=timestamp)
            notebook = gb.find_submission_notebook("convolution", "ps1", done.student)
            scores = dict.fromkeys(auto_cells, 0.0)
            if done.status == "graded":
                scores.update({c: p or 0.0 for e in done.exercises for c, p in e.cells.items()})
            for grade in notebook.grades:
                if grade.name in scores:
                    grade.auto_score, grade.needs_manual_grade = scores[grade.name], grade.manual_score is not None
                elif done.status != "graded":
                    grade.auto_score, grade.needs_manual_grade = 0.0, False
                else:
                    grade.auto_score = None
                    grade.needs_manual_grade = grade.manual_score is None or grade.needs_manual_grade
            notebook.late_submission_penalty = None
            if submission.total_seconds_late > 0:
                gb.db.flush()
                gb.db.refresh(notebook)
                penalty = assigner.plugin_inst.late_submission_penalty(done.student, notebook.score,
                                                                       submission.total_seconds_late)
                notebook.late_submission_penalty = None if penalty is None else min(max(penalty, 0), notebook.score)
            gb.db.commit()


def by_hand(root: Path, student: str, manual: float) -> None:
    """A grade given in the formgrader (which goes through nbgrader's API)."""
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(root), gradebook.COURSE_ID) as gb:
        grade = gb.find_grade("written_flip", "convolution", "ps1", student)
        grade.manual_score, grade.needs_manual_grade = manual, False
        gb.db.commit()


def extend(root: Path, student: str, days: int) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(root), gradebook.COURSE_ID) as gb:
        gb.grant_extension("ps1", student, days=days)


SUBMITTED = ("SELECT quote(submitted_assignment.student_id) || '/' || quote(submitted_assignment.assignment_id) "
             "FROM submitted_assignment")
TABLES = {  # generated ids replaced by what they stand for
    "submitted_assignment": "SELECT assignment_id, student_id, quote(timestamp), quote(extension) "
                            "FROM submitted_assignment",
    "submitted_notebook": "SELECT sa.student_id, sn.notebook_id, quote(sn.flagged), quote(sn.late_submission_penalty) "
                          "FROM submitted_notebook sn JOIN submitted_assignment sa ON sa.id = sn.assignment_id",
    "grade": "SELECT sa.student_id, sn.notebook_id, g.cell_id, quote(g.auto_score), quote(g.manual_score), "
             "quote(g.extra_credit), quote(g.needs_manual_grade) FROM grade g JOIN submitted_notebook sn ON "
             "sn.id = g.notebook_id JOIN submitted_assignment sa ON sa.id = sn.assignment_id",
    "comment": "SELECT sa.student_id, sn.notebook_id, c.cell_id, quote(c.auto_comment), quote(c.manual_comment) "
               "FROM comment c JOIN submitted_notebook sn ON sn.id = c.notebook_id JOIN submitted_assignment sa "
               "ON sa.id = sn.assignment_id",
}


def rows(path: Path) -> dict[str, list]:
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found = {}
        for table in tables:
            columns = [c[1] for c in db.execute(f"PRAGMA table_info({table})")]
            query = TABLES.get(table, f"SELECT {', '.join(f'quote({c})' for c in columns)} FROM {table}")
            found[table] = sorted(map(tuple, db.execute(query).fetchall()))
        for table in TABLES:  # the generated ids are nbgrader's kind: 32 hex digits, unique
            ids = [row_id for (row_id,) in db.execute(f"SELECT id FROM {table}")]
            assert len(set(ids)) == len(ids) and all(len(i) == 32 and int(i, 16) >= 0 for i in ids), table
    return found


@pytest.fixture
def two_courses(tmp_path):
    """Two copies of one course with ps1 registered and due: ours, and nbgrader's."""
    ours = make_course(tmp_path / "ours")
    registered_gradebook(ours)
    with open(ours / "nbgrader_config.py", "a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(ours), gradebook.COURSE_ID) as gb:
        gb.update_or_create_assignment("ps1", duedate=DUE)
    theirs = tmp_path / "theirs"
    shutil.copytree(ours, theirs)
    return ours, theirs


def hand_in(course: Path, student: str, timestamp: str | None) -> Path:
    path = submit(course, student)
    if timestamp:
        (path.parent / "timestamp.txt").write_text(timestamp)
    return path


@pytest.mark.filterwarnings("ignore:Object of type")  # nbgrader's add_submission, harmless
def test_our_rows_are_the_rows_nbgraders_api_makes(two_courses):
    ours, theirs = two_courses
    batches = [[("ada", ON_TIME, 6.0, "graded"), ("ben", LATE, 8.0, "graded"), ("cy", None, 0.0, "error"),
                ("dee", LATE, 3.0, "graded")],
               [("ada", ON_TIME, 7.5, "graded"), ("ben", LATE, 2.0, "graded"), ("dee", LATE, 3.0, "graded")]]
    paths = {}
    for course in (ours, theirs):
        paths[course] = {s: hand_in(course, s, t) for s, t, _, _ in batches[0]}
    with gradebook.GradebookWriter(ours, PS1) as writer:
        auto_cells = set(writer.auto_cells)
        writer.record_many([result(s, paths[ours][s], score, status) for s, _, score, status in batches[0]])
    nbgrader_record(theirs, [result(s, paths[theirs][s], score, status) for s, _, score, status in batches[0]],
                    auto_cells)
    first = rows(ours / "gradebook.db")
    assert first == rows(theirs / "gradebook.db")
    assert {row[0] for row in first["student"]} == {"'ada'", "'ben'", "'cy'", "'dee'"}
    penalties = {student: penalty for student, _, _, penalty in first["submitted_notebook"]}
    assert penalties == {"ada": "NULL", "ben": "12.0", "cy": "NULL", "dee": "7.0"}  # late: "zero" takes all

    for course in (ours, theirs):  # a grade by hand in the formgrader, an extension for ben, a regrade
        by_hand(course, "ada", 2.5)
        by_hand(course, "dee", 1.5)
        extend(course, "ben", days=2)
    with gradebook.GradebookWriter(ours, PS1) as writer:
        writer.record_many([result(s, paths[ours][s], score, status) for s, _, score, status in batches[1]])
    nbgrader_record(theirs, [result(s, paths[theirs][s], score, status) for s, _, score, status in batches[1]],
                    auto_cells)
    second = rows(ours / "gradebook.db")
    assert second == rows(theirs / "gradebook.db")
    assert second != first
    penalties = {student: penalty for student, _, _, penalty in second["submitted_notebook"]}
    assert penalties["ben"] == "NULL" and penalties["dee"] == "8.5"  # ben's extension; dee's grade by hand


def test_a_gradebook_of_another_schema_is_not_written(two_courses):
    ours, _ = two_courses
    path = hand_in(ours, "ada", None)
    with sqlite3.connect(ours / "gradebook.db") as db:
        db.execute("UPDATE alembic_version SET version_num = 'OLDSCHEMA123'")
    before = (ours / "gradebook.db").read_bytes()
    with pytest.raises(gradebook.GradebookError) as error:
        with gradebook.GradebookWriter(ours, PS1) as writer:
            writer.record(result("ada", path, 6.0))
    message = str(error.value)
    assert "OLDSCHEMA123" in message and gradebook_rows.ALEMBIC_HEAD in message and "nbgrader db upgrade" in message
    assert (ours / "gradebook.db").read_bytes() == before


def test_the_schema_we_write_is_the_one_this_nbgrader_creates():
    assert gradebook_rows.ALEMBIC_HEAD == gradebook.alembic_head()


@pytest.mark.parametrize("text", ["2026-03-01 12:30:00.000000 UTC", "2026-03-01 12:30:00 UTC", "2026-03-01 12:30:00",
                                  "2026-03-01T12:30:00+02:00", "2026-03-01 12:30:00.5 PST", "2026-03-01 12:30:00 -0500",
                                  "2026-03-01 12:30:00.000000 Europe/Paris", "March 1 2026 12:30", "2026-03-01"])
def test_timestamps_are_read_as_nbgrader_reads_them(text):
    from nbgrader.utils import parse_utc

    assert gradebook.parse_utc(text) == parse_utc(text)


def test_a_notebook_fixture_is_available():
    assert fixture_notebook("ps1", "correct-loops").cells
