"""What nbgrader's gradebook holds for an assignment, read through nbgrader's own API, read-only.

The class report reads it beside the stored results: every student nbgrader knows (those who
handed nothing in too), the grades given by hand in the formgrader, and each submission's total
exactly as ``nbgrader export`` (nbgrader's ``CsvExportPlugin``) computes it: the submission's score,
less its late penalty, never below 0; 0 for a student without a submission.

The database is opened read-only (SQLite's ``mode=ro``): the report never creates a gradebook,
never adds the course to one, never writes a row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import Assignment
from autograder.course_paths import CoursePaths
from autograder.gradebook.nbgrader_side import COURSE_ID


@dataclass(frozen=True)
class Entry:
    """One student of the gradebook, for one assignment."""

    student: str
    submitted: bool
    grades: dict[str, float | None] = field(default_factory=dict)  # grade cell -> score (manual, else auto)
    awaiting: tuple[str, ...] = ()  # written questions (task or manually graded cells) still to grade by hand
    raw_score: float = 0.0  # nbgrader export's raw_score
    penalty: float = 0.0  # its late_submission_penalty
    max_score: float = 0.0
    seconds_late: float = 0.0
    timestamp: str | None = None  # the submission's time as the gradebook has it (None: unknown)

    @property
    def total(self) -> float:
        """nbgrader export's `score`: max(0, raw_score - late_submission_penalty)."""
        return max(0.0, self.raw_score - self.penalty)

    @property
    def late(self) -> bool | None:
        """Past the due date (and its extension), as nbgrader judges it; None when the submission's time
        is unknown (a submission collected by hand, without timestamp.txt)."""
        return None if self.timestamp is None else self.seconds_late > 0


@dataclass(frozen=True)
class Book:
    """The gradebook's view of an assignment: an entry per student, or why there is none."""

    entries: dict[str, Entry] = field(default_factory=dict)
    problem: str | None = None  # why the gradebook could not be read (None also when there is none)
    found: bool = False  # whether the course has a gradebook that knows the assignment


def read_only_url(path: Path) -> str:
    """SQLAlchemy's URL of an SQLite file opened read-only (no journal written, nothing created)."""
    return f"sqlite:///file:{os.path.realpath(path)}?mode=ro&uri=true"


def read_book(root: Path, assignment: Assignment, written: tuple[str, ...]) -> Book:
    """The gradebook's entries for `assignment`; `written` are its questions graded by hand."""
    path = CoursePaths(root).gradebook
    if not path.is_file():
        return Book()
    try:
        return _read(path, assignment, written)
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign gradebook: the report says so, from the store
        return Book(problem=f"{path.name} could not be read ({type(exc).__name__}: {str(exc)[:300]})")


def _read(path: Path, assignment: Assignment, written: tuple[str, ...]) -> Book:
    from nbgrader.api import Gradebook, MissingEntry

    entries = {}
    with Gradebook(read_only_url(path), COURSE_ID) as gb:
        try:
            known = gb.find_assignment(assignment.name)
        except MissingEntry:
            return Book()
        max_score = float(known.max_score)
        for student in gb.students:  # what export loops over
            try:
                submission = gb.find_submission(assignment.name, student.id)
            except MissingEntry:
                entries[student.id] = Entry(student.id, False, max_score=max_score)
                continue
            grades: dict[str, float | None] = {}
            awaiting = []
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    grades[grade.name] = None if grade.score is None else float(grade.score)
                    if grade.name in written and grade.needs_manual_grade:
                        awaiting.append(grade.name)
            entries[student.id] = Entry(
                student.id,
                True,
                grades,
                tuple(awaiting),
                float(submission.score),
                float(submission.late_submission_penalty or 0.0),
                max_score,
                float(submission.total_seconds_late),
                None if submission.timestamp is None else str(submission.timestamp),
            )
    return Book(entries, found=True)
