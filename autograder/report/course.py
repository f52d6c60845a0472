"""The course-wide report (``python -m autograder report --html FILE --csv FILE``, no assignment): a
row per student over every assignment, each cell the assignment's total as ``nbgrader export``
computes it (the stored result's where the gradebook lacks it), with lateness, the student's
standing and a link to the feedback page; and a row per assignment: how many handed in, were
graded, are late, wait for a hand grade. The per-assignment report (``report ps1``) has the rest."""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

from autograder.course import ASSIGNMENTS, Assignment, CourseError
from autograder.report.book import read_book
from autograder.report.roster import Layout, StudentRow, roster
from autograder.report.statistics import ClassReport
from autograder.report.stored import Stored, load_stored
from autograder.report.table import cell_text, number


@dataclass
class CourseReport:
    reports: list[ClassReport]  # one per assignment that has stored results or is in the gradebook

    @property
    def students(self) -> list[str]:
        return sorted({row.student for report in self.reports for row in report.students})

    def row(self, report: ClassReport, student: str) -> StudentRow | None:
        return next((row for row in report.students if row.student == student), None)

    def total(self, student: str) -> tuple[float, float]:
        """(sum of the assignments' totals, sum of their maximum scores) over the assignments shown."""
        rows = [(self.row(report, student), report) for report in self.reports]
        return (
            round(sum(row.total for row, _ in rows if row is not None), 4),
            round(sum(_max_score(report) for _, report in rows), 4),
        )


def _max_score(report: ClassReport) -> float:
    return max((row.max_score for row in report.students), default=0.0)


def assignment_report(root: Path, assignment: Assignment) -> ClassReport | None:
    """The assignment's report, from whatever there is (None when neither the store nor the
    gradebook has anything of it)."""
    try:
        stored = load_stored(root, assignment)
    except CourseError:
        stored = Stored()
    layout = Layout.of(root, assignment)
    book = read_book(root, assignment, tuple(layout.written))
    if not stored.results and not book.found:
        return None
    students = roster(root, assignment, stored.results, book, layout, frozenset(s.student for s in stored.skipped))
    return ClassReport(assignment, stored.results, students, stored.skipped, book, layout)


def build_course(root: Path) -> CourseReport:
    reports = [r for a in ASSIGNMENTS.values() if (r := assignment_report(root, a)) is not None]
    if not reports:
        raise CourseError(
            "no stored results and no gradebook for any assignment: grade first with "
            "'python -m autograder grade ASSIGNMENT'"
        )
    return CourseReport(reports)


def write_course_csv(course: CourseReport, path: Path) -> None:
    """A row per student: each assignment's total (export's), the course total and its maximum."""
    names = [report.assignment.name for report in course.reports]
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["student", *names, "total", "max_score"])
        for student in course.students:
            cells = []
            for report in course.reports:
                row = course.row(report, student)
                cells.append("" if row is None else number(row.total))
            total, top = course.total(student)
            writer.writerow([cell_text(student), *cells, number(total), number(top)])


def relative_page(row: StudentRow, html_path: Path) -> str | None:
    return None if row.page is None else os.path.relpath(row.page, Path(os.path.abspath(html_path)).parent)


__all__ = ["CourseReport", "assignment_report", "build_course", "relative_page", "write_course_csv"]
