"""The instructor's class report: ``python -m autograder report ASSIGNMENT --html FILE --csv FILE``.

It reads, and never changes, the grader's stored results (``autograder.store``: the verdicts, the
latest per student whose submitted notebook still exists; the others are skipped and named) and
nbgrader's gradebook (``report.book``: every student nbgrader knows, hand grades, lateness, the
totals of ``nbgrader export``). Modules:

- ``stored``: the stored results read, and the ones skipped;
- ``book``: the gradebook, read-only through nbgrader's API;
- ``roster``: one row per student, the two joined;
- ``statistics``: the figures (difficulty, discrimination, mistakes, ...), from the verdicts;
- ``table`` (the CSV) and ``page`` (the self-contained HTML page): the words;
- ``course`` and ``course_page``: the course-wide report (every assignment, no assignment named).
"""

from __future__ import annotations

from pathlib import Path

from autograder.course import Assignment, CourseError
from autograder.report.book import Book, read_book
from autograder.report.page import CONTENT_SECURITY_POLICY, write_html
from autograder.report.roster import Layout, Standing, StudentRow, roster
from autograder.report.statistics import SMALL_CLASS, ClassReport, FunctionSummary, summarize
from autograder.report.stored import Skipped, Stored, load_results, load_stored
from autograder.report.table import cell_text, write_csv

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "SMALL_CLASS",
    "Book",
    "ClassReport",
    "FunctionSummary",
    "Layout",
    "Skipped",
    "Standing",
    "Stored",
    "StudentRow",
    "build",
    "cell_text",
    "load_results",
    "load_stored",
    "read_book",
    "run_course_report",
    "run_report",
    "summarize",
    "write_csv",
    "write_html",
]


def build(root: Path, assignment: Assignment) -> ClassReport:
    """The report of an assignment: the stored results joined with the gradebook."""
    stored = load_stored(root, assignment)
    layout = Layout.of(root, assignment)
    book = read_book(root, assignment, tuple(layout.written))
    students = roster(root, assignment, stored.results, book, layout, frozenset(s.student for s in stored.skipped))
    return ClassReport(assignment, stored.results, students, stored.skipped, book, layout)


def run_report(root: Path, assignment: Assignment | None, html_path: Path | None, csv_path: Path | None) -> int:
    """The class report of `assignment`, or the course-wide report when it is None."""
    if html_path is None and csv_path is None:
        raise CourseError("say what to write: --html FILE, --csv FILE or both")
    if assignment is None:
        return run_course_report(root, html_path, csv_path)
    report = build(root, assignment)
    if html_path is not None:
        write_html(report, html_path)
        print(f"class report: {html_path}")
    if csv_path is not None:
        write_csv(report, csv_path)
        print(f"scores per function: {csv_path}")
    for skipped in report.skipped:
        print(f"skipped the stored result of {skipped.student}: {skipped.path} is no longer there")
    if report.book.problem is not None:
        print(f"warning: {report.book.problem}; the report shows the stored results only")
    return 0


def run_course_report(root: Path, html_path: Path | None, csv_path: Path | None) -> int:
    """Every assignment's totals per student (autograder.report.course)."""
    from autograder.report.course import build_course, write_course_csv
    from autograder.report.course_page import write_course_html

    course = build_course(root)
    if html_path is not None:
        write_course_html(course, html_path)
        print(f"course report: {html_path}")
    if csv_path is not None:
        write_course_csv(course, csv_path)
        print(f"totals per assignment: {csv_path}")
    for report in course.reports:
        for skipped in report.skipped:
            print(
                f"skipped the stored result of {skipped.student} ({report.assignment.name}): {skipped.path} is no "
                "longer there"
            )
        if report.book.problem is not None:
            print(f"warning: {report.assignment.name}: {report.book.problem}; the report shows the stored results only")
    return 0
