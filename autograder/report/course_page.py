"""The course-wide report's page: one self-contained HTML file as the class report's (`page`), a
row per student over every assignment and a row per assignment."""

from __future__ import annotations

from pathlib import Path

from autograder.report.course import CourseReport, relative_page
from autograder.report.page import CONTENT_SECURITY_POLICY, STANDING, STYLE, Link, escaped, table
from autograder.report.roster import Standing, StudentRow
from autograder.report.statistics import ClassReport


def _cell(row: StudentRow | None, html_path: Path) -> str | Link:
    if row is None:
        return "not in the gradebook"
    if row.standing is Standing.NOT_HANDED_IN:
        return STANDING[row.standing]
    words = [f"{row.total:g} of {row.max_score:g}"]
    if row.late:
        words.append("late")
    if row.standing is not Standing.GRADED:
        words.append(STANDING[row.standing])
    if row.awaiting:
        words.append(f"{len(row.awaiting)} to grade by hand")
    text = ", ".join(words)
    href = relative_page(row, html_path)
    return Link(text, href) if href is not None else text


def _assignment_row(report: ClassReport) -> list:
    graded = [row for row in report.students if row.standing is Standing.GRADED]
    totals = [row.total for row in report.students if row.standing is not Standing.NOT_HANDED_IN]
    mean = f"{sum(totals) / len(totals):.2f}" if totals else ""
    waiting = sum(len(row.awaiting) for row in report.students)
    known = report.book.found
    return [
        report.assignment.name,
        len(report.students),
        len(graded),
        sum(row.standing is Standing.ERROR for row in report.students),
        len(report.not_handed_in()) if known else "unknown",
        len(report.late()) if known else "unknown",
        waiting if known else "unknown",
        len(report.skipped),
        mean,
    ]


def write_course_html(course: CourseReport, path: Path) -> None:
    names = [report.assignment.name for report in course.reports]
    rows = []
    for student in course.students:
        total, top = course.total(student)
        rows.append(
            [student, *(_cell(course.row(report, student), path) for report in course.reports), f"{total:g} of {top:g}"]
        )
    without_book = [r.assignment.name for r in course.reports if not r.book.found]
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">",
        f"<title>Course report</title><style>{STYLE}</style></head><body>",
        "<h1 id='title'>Course report</h1>",
        f"<p id='summary'>{escaped(f'{len(course.students)} students over {len(names)} assignment(s): ')}"
        f"{escaped(', '.join(names))}. Each total is what <code>nbgrader export</code> writes (the score less any "
        "late penalty); a total links to the student's feedback page when nbgrader generated it. "
        "<code>python -m autograder report ASSIGNMENT</code> has each assignment's details.</p>",
    ]
    if without_book:
        parts.append(
            f"<p class='warning' id='gradebook'>The gradebook does not know {escaped(', '.join(without_book))}"
            ": those totals are the grader's stored results, without hand grades or lateness.</p>"
        )
    parts += [
        "<h2 id='assignments'>Assignments</h2>",
        table(
            [
                "assignment",
                "students",
                "graded",
                "could not be graded",
                "not handed in",
                "late",
                "written answers to grade",
                "stored results skipped",
                "mean total of those who handed in",
            ],
            [_assignment_row(report) for report in course.reports],
            "no assignments",
            set(range(1, 9)),
            "assignment-table",
        ),
        "<h2 id='students'>Students</h2>",
        table(["student", *names, "total"], rows, "no students", set(range(1, len(names) + 2)), "course-table"),
        "</body></html>",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")
