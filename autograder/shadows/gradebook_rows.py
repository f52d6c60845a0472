"""Shadow of nbgrader's Gradebook (checked against nbgrader 0.9.6; see autograder.shadows):
gradebook.db read and written with the standard library's sqlite3, in the schema of nbgrader 0.9.6
(nbgrader/api.py, alembic revision ALEMBIC_HEAD): the rows nbgrader's Gradebook.add_student and
add_submission create, the scores and penalties `nbgrader autograde` sets.
tests/test_gradebook_rows.py compares them with what nbgrader's API writes, table by table.

`SqliteRows` is the shadow; `NbgraderRows` does the same through nbgrader's API, on a version of
nbgrader the shadow was not checked against (`open_rows` picks one). Where the shadow differs on
purpose: a batch of results is one transaction with a savepoint per result (nbgrader's API commits
as it goes: there, each result is committed on its own), and a gradebook of another schema
revision is refused, never written.
"""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from autograder import shadows
from autograder.course import CourseError
from autograder.shadows import timestamps
from autograder.shadows.sanitize import GradedCell, ReleaseCells, SourceCell

#: The alembic revision of the schema this module writes (nbgrader 0.9.6's head).
ALEMBIC_HEAD = "e43177bfe90b"


class GradebookError(CourseError):
    """A gradebook this grader must not write to; the message says why and what to do."""


@dataclass
class Registered:
    """The assignment as the gradebook recorded it: ids, due date, and per notebook (by name)
    its id and cells; `release` is the notebook being graded."""

    assignment_id: str
    duedate: datetime.datetime | None
    notebooks: dict[str, str]  # name -> notebook id, in nbgrader's order (by name)
    cells: dict[str, dict[str, list[str]]]  # notebook id -> "grade"/"solution"/"task" -> base_cell ids
    notebook_id: str
    release: ReleaseCells
    auto_cells: set[str]  # code grade cells that are not solution cells: the tests we score
    assignment: str = ""  # the names, for nbgrader's API
    notebook: str = ""


@dataclass
class GradeRow:
    id: str
    name: str
    auto_score: float | None
    manual_score: float | None
    needs_manual_grade: bool


def open_rows(path: Path, db_url: str, course_id: str) -> SqliteRows | NbgraderRows:
    """The gradebook at `path` (`db_url` for nbgrader), through the shadow when it is in force,
    else through nbgrader's API."""
    return SqliteRows(path) if shadows.in_force("nbgrader") else NbgraderRows(path, db_url, course_id)


def _new_id() -> str:
    return uuid.uuid4().hex  # nbgrader.api.new_uuid


class SqliteRows:
    """The shadow: one sqlite3 connection that commits only when told (BEGIN IMMEDIATE ... COMMIT
    in `transaction`)."""

    def __init__(self, path: Path):
        self.path = path
        # opened in the background thread that schedule.py starts, then used by the grading thread only
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60, check_same_thread=False)

    def close(self) -> None:
        self.db.close()

    @property
    def in_transaction(self) -> bool:
        return self.db.in_transaction

    def schema_version(self) -> str | None:
        """The gradebook's alembic revision; None for a database nbgrader never created tables in."""
        tables = {name for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return None
        if "alembic_version" not in tables:
            return ""
        rows = self.db.execute("SELECT version_num FROM alembic_version").fetchall()
        return rows[0][0] if len(rows) == 1 else ""

    def check_schema(self) -> None:
        version, path = self.schema_version(), self.path
        if version is None or version == ALEMBIC_HEAD:
            return
        if version == "":
            raise GradebookError(f"{path} has no single alembic_version row, so its schema is unknown: it was not "
                                 "made by nbgrader. Move it away and grade again (a new gradebook is created and "
                                 "filled from the stored results), or repair it with nbgrader.")
        raise GradebookError(
            f"{path} has schema revision {version}, but this grader writes nbgrader 0.9.6's revision "
            f"{ALEMBIC_HEAD}; nothing was written. If the gradebook is older, run `nbgrader db upgrade` from the "
            "course root (back it up first); if it comes from a newer nbgrader, grade with the nbgrader version "
            "this course pins (pyproject.toml), or update autograder.shadows.gradebook_rows to that schema.")

    @contextlib.contextmanager
    def transaction(self):
        """Everything inside commits together, before the block is left, or not at all."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled back already (disk full, I/O error)
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @contextlib.contextmanager
    def savepoint(self, name: str = "one_result"):
        """Inside a transaction: everything inside is kept, or, when it raises, undone alone (the
        rest of the transaction stays)."""
        self.db.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:
                self.db.execute(f"ROLLBACK TO {name}")
                self.db.execute(f"RELEASE {name}")
            raise
        self.db.execute(f"RELEASE {name}")


    def registered(self, course_id: str, assignment: str, notebook: str) -> Registered | None:
        """The assignment and its notebook's release cells, or None when the gradebook lacks them."""
        db = self.db
        if self.schema_version() is None:
            return None
        if db.execute("SELECT 1 FROM course WHERE id = ?", (course_id,)).fetchone() is None:
            return None
        found = db.execute("SELECT id, duedate FROM assignment WHERE name = ?", (assignment,)).fetchone()
        if found is None:
            return None
        assignment_id, duedate = found
        notebooks = dict(db.execute("SELECT name, id FROM notebook WHERE assignment_id = ? ORDER BY name",
                                    (assignment_id,)).fetchall())
        if notebook not in notebooks:
            return None
        cells: dict[str, dict[str, list[str]]] = {nb: {"grade": [], "solution": [], "task": []}
                                                  for nb in notebooks.values()}
        kinds = {"GradeCell": "grade", "SolutionCell": "solution", "TaskCell": "task"}
        for nb_id, cell_id, kind in db.execute(
                "SELECT base_cell.notebook_id, base_cell.id, base_cell.type FROM base_cell JOIN notebook "
                "ON notebook.id = base_cell.notebook_id WHERE notebook.assignment_id = ? ORDER BY base_cell.rowid",
                (assignment_id,)):
            if kind in kinds:
                cells[nb_id][kinds[kind]].append(cell_id)
        notebook_id = notebooks[notebook]
        release = ReleaseCells(
            source_cells=[SourceCell(name, cell_type, bool(locked), source, checksum)
                          for name, cell_type, locked, source, checksum in db.execute(
                              "SELECT name, cell_type, locked, source, checksum FROM source_cell "
                              "WHERE notebook_id = ? ORDER BY rowid", (notebook_id,))],
            grade_cells=[GradedCell(name, score) for name, score in db.execute(
                "SELECT base_cell.name, grade_cells.max_score FROM base_cell JOIN grade_cells ON grade_cells.id = "
                "base_cell.id WHERE base_cell.notebook_id = ? ORDER BY base_cell.rowid", (notebook_id,))],
            solution_cells=[name for (name,) in db.execute(
                "SELECT base_cell.name FROM base_cell JOIN solution_cells ON solution_cells.id = base_cell.id "
                "WHERE base_cell.notebook_id = ? ORDER BY base_cell.rowid", (notebook_id,))],
            task_cells=[GradedCell(name, score) for name, score in db.execute(
                "SELECT base_cell.name, task_cells.max_score FROM base_cell JOIN task_cells ON task_cells.id = "
                "base_cell.id WHERE base_cell.notebook_id = ? ORDER BY base_cell.rowid", (notebook_id,))])
        code_grade_cells = {name for (name,) in db.execute(
            "SELECT base_cell.name FROM base_cell JOIN grade_cells ON grade_cells.id = base_cell.id WHERE "
            "base_cell.notebook_id = ? AND grade_cells.cell_type = 'code'", (notebook_id,))}
        auto_cells = code_grade_cells - set(release.solution_cells)
        return Registered(assignment_id, timestamps.from_db(duedate), notebooks, cells, notebook_id, release,
                          auto_cells, assignment, notebook)

    def recorded_grades(self, book: Registered) -> dict[str, dict[str, tuple]]:
        """Per student, per grade cell name: (auto score, manual score), in one query."""
        found: dict[str, dict[str, tuple]] = {}
        for student, name, auto, manual in self.db.execute(
                "SELECT submitted_assignment.student_id, base_cell.name, grade.auto_score, grade.manual_score "
                "FROM grade JOIN submitted_notebook ON submitted_notebook.id = grade.notebook_id "
                "JOIN submitted_assignment ON submitted_assignment.id = submitted_notebook.assignment_id "
                "JOIN base_cell ON base_cell.id = grade.cell_id WHERE submitted_assignment.assignment_id = ?",
                (book.assignment_id,)):
            found.setdefault(student, {})[name] = (auto, manual)
        for (student,) in self.db.execute("SELECT student_id FROM submitted_assignment WHERE assignment_id = ?",
                                          (book.assignment_id,)):
            found.setdefault(student, {})
        return found

    def submission(self, book: Registered, student: str, timestamp: datetime.datetime | None) -> str:
        """The student's submitted notebook of `book.notebook_id`, made as nbgrader's add_student and
        add_submission make it when missing (every notebook of the assignment, a grade row per grade
        and task cell, a comment row per solution and task cell); the submission time set. Returns
        the submitted notebook's id."""
        db = self.db
        db.execute("INSERT OR IGNORE INTO student (id) VALUES (?)", (student,))
        found = db.execute("SELECT id FROM submitted_assignment WHERE assignment_id = ? AND student_id = ?",
                           (book.assignment_id, student)).fetchone()
        if found is None:
            submission_id = _new_id()
            db.execute("INSERT INTO submitted_assignment (id, assignment_id, student_id, timestamp, extension) "
                       "VALUES (?, ?, ?, ?, NULL)",
                       (submission_id, book.assignment_id, student, timestamps.to_db(timestamp)))
        else:
            submission_id = found[0]
            db.execute("UPDATE submitted_assignment SET timestamp = ? WHERE id = ?", (timestamps.to_db(timestamp),
                                                                                     submission_id))
        # INSERT OR IGNORE on nbgrader's unique keys: a new submission gets its whole structure, an
        # older one the rows of cells released since
        for notebook_id in book.notebooks.values():
            db.execute("INSERT OR IGNORE INTO submitted_notebook (id, assignment_id, notebook_id, flagged, "
                       "late_submission_penalty) VALUES (?, ?, ?, 0, NULL)", (_new_id(), submission_id, notebook_id))
            (submitted_id,) = db.execute("SELECT id FROM submitted_notebook WHERE assignment_id = ? AND "
                                         "notebook_id = ?", (submission_id, notebook_id)).fetchone()
            cells = book.cells[notebook_id]
            db.executemany("INSERT OR IGNORE INTO grade (id, notebook_id, cell_id, auto_score, manual_score, "
                           "extra_credit, needs_manual_grade) VALUES (?, ?, ?, NULL, NULL, NULL, 1)",
                           [(_new_id(), submitted_id, cell) for cell in [*cells["grade"], *cells["task"]]])
            db.executemany("INSERT OR IGNORE INTO comment (id, notebook_id, cell_id, auto_comment, manual_comment) "
                           "VALUES (?, ?, ?, NULL, NULL)",
                           [(_new_id(), submitted_id, cell) for cell in [*cells["solution"], *cells["task"]]])
        (graded_id,) = db.execute("SELECT id FROM submitted_notebook WHERE assignment_id = ? AND notebook_id = ?",
                                  (submission_id, book.notebook_id)).fetchone()
        return graded_id

    def grades(self, submitted_notebook: str) -> list[GradeRow]:
        return [GradeRow(row_id, name, auto, manual, bool(needs)) for row_id, name, auto, manual, needs in
                self.db.execute("SELECT grade.id, base_cell.name, grade.auto_score, grade.manual_score, "
                                "grade.needs_manual_grade FROM grade JOIN base_cell ON base_cell.id = grade.cell_id "
                                "WHERE grade.notebook_id = ?", (submitted_notebook,))]

    def set_grades(self, rows: list[GradeRow]) -> None:
        self.db.executemany("UPDATE grade SET auto_score = ?, needs_manual_grade = ? WHERE id = ?",
                            [(row.auto_score, int(row.needs_manual_grade), row.id) for row in rows])

    def seconds_late(self, book: Registered, submitted_notebook: str) -> float:
        """SubmittedAssignment.total_seconds_late: past the due date plus any extension, else 0."""
        timestamp, extension = self.db.execute(
            "SELECT submitted_assignment.timestamp, submitted_assignment.extension FROM submitted_assignment JOIN "
            "submitted_notebook ON submitted_notebook.assignment_id = submitted_assignment.id "
            "WHERE submitted_notebook.id = ?",
            (submitted_notebook,)).fetchone()
        if timestamp is None or book.duedate is None:
            return 0
        due = book.duedate + (timestamps.interval_from_db(extension) or datetime.timedelta(0))
        return max(0, (timestamps.from_db(timestamp) - due).total_seconds())

    def notebook_score(self, submitted_notebook: str) -> float:
        """SubmittedNotebook.score: per grade the manual score if any, else the auto score (each plus
        its extra credit), summed."""
        (score,) = self.db.execute(
            "SELECT COALESCE(SUM(CASE WHEN manual_score IS NOT NULL THEN manual_score + COALESCE(extra_credit, 0.0) "
            "WHEN auto_score IS NOT NULL THEN auto_score + COALESCE(extra_credit, 0.0) ELSE 0.0 END), 0.0) "
            "FROM grade WHERE notebook_id = ?", (submitted_notebook,)).fetchone()
        return score

    def set_late_penalty(self, submitted_notebook: str, penalty: float | None) -> None:
        self.db.execute("UPDATE submitted_notebook SET late_submission_penalty = ? WHERE id = ?",
                        (penalty, submitted_notebook))


# -- nbgrader itself, on a version the shadow was not checked against -------------------------------

class NbgraderRows:
    """The same reads and writes through nbgrader's Gradebook (its ORM, its schema, its commits:
    `add_student` and `add_submission` commit as they go, so each result is committed on its own
    in `savepoint`, and `transaction` only commits what is left)."""

    def __init__(self, path: Path, db_url: str, course_id: str):
        from nbgrader.api import Gradebook

        self.path = path
        self.gb = Gradebook(db_url, course_id)

    def close(self) -> None:
        self.gb.close()

    @property
    def in_transaction(self) -> bool:
        return True  # a failed result is rolled back alone (savepoint)

    def check_schema(self) -> None:
        """nbgrader's Gradebook checks (and creates) its own schema."""

    @contextlib.contextmanager
    def transaction(self):
        try:
            yield
        except BaseException:
            self.gb.db.rollback()
            raise
        self.gb.db.commit()

    @contextlib.contextmanager
    def savepoint(self):
        try:
            yield
        except BaseException:
            self.gb.db.rollback()
            raise
        self.gb.db.commit()

    def _get(self, kind: str, row_id: str):
        import nbgrader.api

        return self.gb.db.get(getattr(nbgrader.api, kind), row_id)

    def registered(self, course_id: str, assignment: str, notebook: str) -> Registered | None:
        from nbgrader.api import MissingEntry

        self.gb.db.rollback()  # see what another connection (nbgrader's generate_assignment) committed
        try:
            source = self.gb.find_notebook(notebook, assignment)
        except MissingEntry:
            return None
        release = ReleaseCells(
            source_cells=[SourceCell(c.name, c.cell_type, bool(c.locked), c.source, c.checksum)
                          for c in source.source_cells],
            grade_cells=[GradedCell(c.name, c.max_score) for c in source.grade_cells],
            solution_cells=[c.name for c in source.solution_cells],
            task_cells=[GradedCell(c.name, c.max_score) for c in source.task_cells])
        released = sorted(source.assignment.notebooks, key=lambda nb: nb.name)
        cells = {nb.id: {"grade": [c.id for c in nb.grade_cells], "solution": [c.id for c in nb.solution_cells],
                         "task": [c.id for c in nb.task_cells]} for nb in released}
        auto_cells = {c.name for c in source.grade_cells if c.cell_type == "code"} - set(release.solution_cells)
        return Registered(source.assignment.id, source.assignment.duedate, {nb.name: nb.id for nb in released},
                          cells, source.id, release, auto_cells, assignment, notebook)

    def recorded_grades(self, book: Registered) -> dict[str, dict[str, tuple]]:
        found: dict[str, dict[str, tuple]] = {}
        for submission in self.gb.assignment_submissions(book.assignment):
            grades = found.setdefault(submission.student_id, {})
            for notebook in submission.notebooks:
                grades.update({grade.name: (grade.auto_score, grade.manual_score) for grade in notebook.grades})
        return found

    def submission(self, book: Registered, student: str, timestamp: datetime.datetime | None) -> str:
        from nbgrader.api import MissingEntry

        try:
            self.gb.find_student(student)
        except MissingEntry:
            self.gb.add_student(student)
        try:
            self.gb.find_submission(book.assignment, student).timestamp = timestamp
        except MissingEntry:
            self.gb.add_submission(book.assignment, student, timestamp=timestamp)
        return self.gb.find_submission_notebook(book.notebook, book.assignment, student).id

    def grades(self, submitted_notebook: str) -> list[GradeRow]:
        return [GradeRow(g.id, g.name, g.auto_score, g.manual_score, bool(g.needs_manual_grade))
                for g in self._get("SubmittedNotebook", submitted_notebook).grades]

    def set_grades(self, rows: list[GradeRow]) -> None:
        for row in rows:
            grade = self._get("Grade", row.id)
            grade.auto_score, grade.needs_manual_grade = row.auto_score, row.needs_manual_grade

    def _refreshed(self, submitted_notebook: str):
        """The submitted notebook with its computed columns (score, seconds late) read again."""
        notebook = self._get("SubmittedNotebook", submitted_notebook)
        self.gb.db.flush()
        self.gb.db.refresh(notebook)
        self.gb.db.refresh(notebook.assignment)
        return notebook

    def seconds_late(self, book: Registered, submitted_notebook: str) -> float:
        return max(0, self._refreshed(submitted_notebook).assignment.total_seconds_late or 0)

    def notebook_score(self, submitted_notebook: str) -> float:
        return self._refreshed(submitted_notebook).score

    def set_late_penalty(self, submitted_notebook: str, penalty: float | None) -> None:
        self._get("SubmittedNotebook", submitted_notebook).late_submission_penalty = penalty
