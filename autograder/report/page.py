"""The class report's page: one self-contained HTML file (inline style, matplotlib figures embedded
as PNG, no script and a Content-Security-Policy that allows none, nothing fetched). Every text in
it, students' ids and messages included, is escaped; a link is a relative path to a file beside
(nbgrader's feedback pages), percent-encoded."""

from __future__ import annotations

import base64
import html
import io
import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from autograder.report.roster import Standing, StudentRow
from autograder.report.statistics import SMALL_CLASS, ClassReport


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def distribution_figure(report: ClassReport) -> str:
    """Small multiples: a histogram of the class's scores for each function (base64 PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    count = len(report.functions)
    columns = min(count, 3)
    rows = -(-count // columns)
    fig = Figure(figsize=(3.3 * columns, 2.5 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    for index, function in enumerate(report.functions):
        ax = fig.add_subplot(rows, columns, index + 1)
        scores = report.scores(function)
        top = max((m for _, _, m in scores), default=1.0)
        values = [s for _, s, _ in scores]
        edges = [i * 0.5 - 0.25 for i in range(int(top * 2) + 2)]
        ax.hist(values, bins=edges, color="#4c72b0", edgecolor="white")
        ax.set_title(f"{function} (of {top:g})", fontsize=9)
        ax.set_xlabel("points", fontsize=8)
        ax.set_ylabel("students", fontsize=8)
        ax.set_xlim(-0.5, top + 0.5)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=7)
    return _png(fig)


def difficulty_figure(rows: list[dict]) -> str:
    """Each group of checks as a point: share passed (x) against discrimination (y)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    functions = sorted({row["function"] for row in rows})
    markers = "osD^vP*Xh<>"
    for index, function in enumerate(functions):
        points = [row for row in rows if row["function"] == function and row["discrimination"] is not None]
        ax.scatter(
            [100 * p["passed"] for p in points],
            [100 * p["discrimination"] for p in points],
            marker=markers[index % len(markers)],
            label=function,
            alpha=0.8,
        )
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlim(-5, 105)
    ax.set_ylim(-105, 105)
    ax.set_xlabel("students who passed the group (%)", fontsize=8)
    ax.set_ylabel("top fifth minus bottom fifth (points of %)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _png(fig)


def escaped(value) -> str:
    return html.escape(str(value))


@dataclass(frozen=True)
class Link:
    """A table cell that links to another file: `href` is a relative path (percent-encoded here)."""

    text: str
    href: str


def _cell(value, numeric: bool) -> str:
    shown = (
        f'<a href="{escaped(urllib.parse.quote(value.href))}">{escaped(value.text)}</a>'
        if isinstance(value, Link)
        else escaped(value)
    )
    return f"<td class='num'>{shown}</td>" if numeric else f"<td>{shown}</td>"


def table(
    header: list[str], rows: list[list], empty: str, numeric: set[int] | None = None, table_id: str | None = None
) -> str:
    if not rows:
        return f"<p class='none'>{escaped(empty)}</p>"
    numeric = numeric or set()
    head = "".join(f"<th>{escaped(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(c, i in numeric) for i, c in enumerate(row)) + "</tr>" for row in rows)
    named = f" id='{table_id}'" if table_id else ""
    return f"<table{named}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
p.none { color: #666; font-style: italic; } img { max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
.warning { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }
td.wait { color: #8a5a00; font-style: italic; }
"""


#: The page runs no script at all, whatever a student id or message holds (every text is escaped too)
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

STANDING = {
    Standing.GRADED: "graded",
    Standing.ERROR: "could not be graded",
    Standing.NOT_HANDED_IN: "not handed in",
    Standing.NOT_STORED: "in the gradebook only (no stored result)",
    Standing.SKIPPED: "stored result skipped (notebook gone)",
}


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _student_row(report: ClassReport, row: StudentRow, folder: Path) -> list:
    cells: list = [row.student, *(_points(row.functions.get(f)) for f in report.functions)]
    for question in report.written:
        value = row.written.get(question)
        cells.append("to grade" if question in row.awaiting else _points(value))
    total = f"{row.total:g} of {row.max_score:g}"
    cells.append(f"{total} (late penalty {row.penalty:g})" if row.penalty else total)
    cells.append("" if row.late is None else ("late" if row.late else "on time"))
    cells.append(STANDING[row.standing])
    cells.append(Link("feedback", os.path.relpath(row.page, folder)) if row.page is not None else "")
    return cells


def _summary_line(report: ClassReport) -> str:
    graded = len(report.graded)
    errors = sum(row.standing is Standing.ERROR for row in report.students)
    waiting = sum(len(students) for students in report.awaiting().values())
    parts = [f"{len(report.students)} students", f"{graded} graded", f"{errors} could not be graded"]
    if report.book.found:
        parts += [
            f"{len(report.not_handed_in())} not handed in",
            f"{len(report.late())} late",
            f"{waiting} written answer(s) awaiting a hand grade",
        ]
    return ", ".join(parts) + "."


def _book_note(report: ClassReport) -> str:
    if report.book.problem is not None:
        return (
            f"<p class='warning' id='gradebook'>The gradebook could not be read: {escaped(report.book.problem)}. "
            "Scores are the grader's stored results; hand grades and lateness are not shown.</p>"
        )
    if not report.book.found:
        return (
            "<p class='warning' id='gradebook'>The gradebook does not know this assignment (graded with "
            "--no-gradebook, or no gradebook.db): scores are the grader's stored results; hand grades, "
            "lateness and who has not handed in are not shown.</p>"
        )
    return (
        "<p class='note' id='gradebook'>Scores, hand grades, lateness and totals are the gradebook's: the "
        "total is what <code>nbgrader export</code> writes (the score less any late penalty).</p>"
    )


def _small_class_note(report: ClassReport) -> str:
    size = max(1, round(len(report.graded) / 5))
    return (
        f"<p class='warning' id='small-class'>Only {len(report.graded)} students were graded (fewer than "
        f"{SMALL_CLASS}): the top and bottom fifths are {size} student(s) each, so one student moves a "
        "discrimination by 50 points or more. No discrimination is shown; the share who passed each group "
        "still is, though over so few students it says little.</p>"
    )


def write_html(report: ClassReport, path: Path) -> None:
    """The page. Every text in it, students' ids and messages included, is escaped (`escaped`)."""
    name = report.assignment.name
    folder = Path(os.path.abspath(path)).parent
    summary = []
    for function in report.functions:
        scores = report.scores(function)
        values = sorted(s for _, s, _ in scores)
        top = scores[0][2] if scores else 0
        if values:
            mean, median = (
                sum(values) / len(values),
                values[len(values) // 2]
                if len(values) % 2
                else (values[len(values) // 2 - 1] + values[len(values) // 2]) / 2,
            )
            full = sum(v == top for v in values)
            summary.append([function, f"{top:g}", f"{mean:.2f}", f"{median:g}", f"{full} of {len(values)}"])
    groups = report.group_statistics()
    small = report.small
    group_rows = [
        [
            g["function"],
            g["group"],
            f"{100 * g['passed']:.0f}%",
            "too few students"
            if small
            else "n/a"
            if g["discrimination"] is None
            else f"{100 * g['discrimination']:+.0f}",
            g["students"],
        ]
        for g in groups
    ]
    mistakes = [[f, c, len(s), ", ".join(s)] for f, c, s in report.mistakes()]
    ready = [[s, f, what] for s, f, what in report.ready_made()]
    failed = [[s, what, why] for s, what, why in report.not_graded()]
    points = report.layout.function_points
    written = report.layout.written
    student_header = [
        "student",
        *(f"{f} ({points[f]:g})" if f in points else f for f in report.functions),
        *(f"{q} ({written[q]:g}, by hand)" for q in report.written),
        "total",
        "late",
        "status",
        "feedback page",
    ]
    numeric = set(range(1, 1 + len(report.functions) + len(report.written) + 1))
    students = [_student_row(report, row, folder) for row in report.students]
    awaiting = [[q, len(who), ", ".join(who)] for q, who in report.awaiting().items()]
    absent = [[student] for student in report.not_handed_in()]
    skipped = [[s.student, s.path] for s in report.skipped]
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">",
        f"<title>Class report: {escaped(name)}</title><style>{STYLE}</style></head><body>",
        f"<h1 id='title'>Class report: {escaped(name)} ({escaped(report.assignment.notebook)}.ipynb)</h1>",
        f"<p id='summary'>{escaped(_summary_line(report))}</p>",
        _book_note(report),
        "<h2 id='students'>Students</h2>",
        table(student_header, students, "no students", numeric, "student-table"),
        "<h2 id='not-handed-in'>Not handed in</h2>",
        table(
            ["student"],
            absent,
            "everyone in the gradebook handed something in" if report.book.found else "unknown without the gradebook",
        ),
        "<h2 id='hand-grading'>Written answers awaiting a hand grade</h2>",
        table(
            ["question", "answers", "who"],
            awaiting,
            "every written answer has its hand grade" if report.book.found else "unknown without the gradebook",
            {1},
        ),
        "<h2 id='distribution'>Score distribution per function</h2>",
        table(["function", "points", "mean", "median", "full marks"], summary, "no graded submissions", {1, 2, 3}),
    ]
    if report.graded:
        parts.append(
            f"<img alt='histograms of scores per function' src='data:image/png;base64,{distribution_figure(report)}'>"
        )
    parts += [
        "<h2 id='groups'>Checks: difficulty and discrimination</h2>",
        "<p class='note'>Passed: the share of graded students who passed every case of the group. "
        "Discrimination: the pass rate among the top fifth of the class (by total score) minus the "
        "pass rate among the bottom fifth, in percentage points; near 0 the group does not separate "
        "strong from weak students, negative values deserve a look.</p>",
    ]
    if small:
        parts.append(_small_class_note(report))
    parts.append(
        table(
            ["function", "group of checks", "passed", "discrimination", "students"],
            group_rows,
            "no checks recorded",
            {2, 3, 4},
            "group-table",
        )
    )
    if not small and any(g["discrimination"] is not None for g in groups):
        parts.append(
            f"<img alt='difficulty against discrimination' src='data:image/png;base64,{difficulty_figure(groups)}'>"
        )
    parts += [
        "<h2 id='mistakes'>Classic mistakes</h2>",
        table(["function", "likely cause", "students", "who"], mistakes, "no classic mistake recognised", {2}),
        "<h2 id='ready-made'>Ready-made convolutions</h2>",
        table(["student", "function", "used"], ready, "nobody used a ready-made convolution"),
        "<h2 id='not-graded'>Could not be graded</h2>",
        table(["student", "notebook or function", "why"], failed, "every submission was graded"),
        "<h2 id='skipped'>Stored results skipped</h2>",
        "<p class='note'>Results the grader stored for notebooks that are no longer in submitted/ (deleted or "
        "renamed since): the report leaves them out.</p>"
        if skipped
        else "",
        table(["student", "notebook no longer there"], skipped, "none: every stored result's notebook is there"),
        "</body></html>",
    ]
    path.write_text("\n".join(part for part in parts if part), encoding="utf-8")
