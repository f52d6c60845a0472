"""The class report's CSV: one row per student (every student the gradebook or the store knows), a
column per graded function and per written question, then the totals as ``nbgrader export`` writes
them (``raw_score``, ``late_penalty``, ``total`` = export's ``score``, ``max_score``), whether the
submission was late, and the student's standing."""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.report.statistics import ClassReport


def cell_text(text: str) -> str:
    """Text a spreadsheet shows as text: a student id (a folder name the student may choose) that
    starts like a formula (=, +, -, @, tab, return) is prefixed with an apostrophe (OWASP)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def number(value: float | None) -> str:
    """A score as a spreadsheet reads it back exactly ("" when there is none)."""
    if value is None:
        return ""
    text = f"{value:.15g}"
    return text if float(text) == value else repr(float(value))


def header(report: ClassReport) -> list[str]:
    return [
        "student",
        *report.functions,
        *report.written,
        "raw_score",
        "late_penalty",
        "total",
        "max_score",
        "late",
        "status",
    ]


def write_csv(report: ClassReport, path: Path) -> None:
    """One row per student; a written question not yet graded by hand is empty (and counts 0 in the
    total, as in nbgrader's); `late` is yes, no, or empty when the gradebook does not know."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header(report))
        for row in report.students:
            late = "" if row.late is None else ("yes" if row.late else "no")
            writer.writerow(
                [
                    cell_text(row.student),
                    *(number(row.functions.get(f)) for f in report.functions),
                    *(number(row.written.get(q)) for q in report.written),
                    number(row.raw_score),
                    number(row.penalty),
                    number(row.total),
                    number(row.max_score),
                    late,
                    row.standing.value,
                ]
            )
