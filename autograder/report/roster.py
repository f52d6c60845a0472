"""One row per student for the class report: the stored result (what the grader decided) joined with
the gradebook's entry (hand grades, lateness, the total ``nbgrader export`` computes).

Where the gradebook has the student's submission, its scores are the ones shown, as export shows
them (a grade changed by hand in the formgrader included); otherwise the stored result's. A student
the gradebook knows without a submission is a row too: not handed in, 0 points, as export has it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

from autograder import cases, notebooks
from autograder.course import Assignment
from autograder.course_paths import CoursePaths
from autograder.report.book import Book, Entry
from autograder.results import NotebookResult


class Standing(enum.Enum):
    GRADED = "graded"
    ERROR = "error"  # handed in, could not be graded
    NOT_HANDED_IN = "not handed in"  # in the gradebook, no submission
    NOT_STORED = "no stored result"  # in the gradebook, graded by nbgrader alone
    SKIPPED = "stored result skipped"  # in the gradebook; the stored result's notebook is gone


@dataclass(frozen=True)
class Layout:
    """Which gradebook cells make up each graded function, and the written questions (by hand)."""

    function_cells: dict[str, tuple[str, ...]]
    written: dict[str, float]  # question (grade id) -> points
    function_points: dict[str, float]

    @classmethod
    def of(cls, root: Path, assignment: Assignment) -> Layout:
        specs = cases.for_assignment(assignment.name)
        release = notebooks.read_trusted(assignment.release_path(root))
        graded = notebooks.grade_cells(release)
        test_cells = [c.grade_id for c in graded if c.kind == "test"]
        cells = cases.function_cells(assignment.name, assignment.functions, test_cells)
        points = {name: sum(check.points for check in specs[name].checks) for name in assignment.functions}
        return cls(cells, {c.grade_id: c.points for c in graded if c.kind != "test"}, points)


@dataclass
class StudentRow:
    student: str
    standing: Standing
    functions: dict[str, float | None] = field(default_factory=dict)
    written: dict[str, float | None] = field(default_factory=dict)  # None: not graded by hand (yet)
    awaiting: tuple[str, ...] = ()  # written questions the gradebook says still need a hand grade
    raw_score: float = 0.0
    penalty: float | None = None  # None: lateness unknown (no gradebook entry)
    total: float = 0.0  # as nbgrader export computes it (the stored score when the gradebook lacks it)
    max_score: float = 0.0
    late: bool | None = None  # None: unknown
    page: Path | None = None  # nbgrader's feedback page, when it exists
    error: str | None = None


def feedback_page(root: Path, assignment: Assignment, student: str) -> Path | None:
    """nbgrader's feedback/<student>/<assignment>/<notebook>.html, when generate_feedback made it."""
    path = CoursePaths(root).feedback(student, assignment.name) / f"{assignment.notebook}.html"
    return path if path.is_file() else None


def _from_entry(row: StudentRow, entry: Entry, layout: Layout) -> None:
    row.functions = {
        name: _sum([entry.grades.get(cell) for cell in cells if cell in entry.grades])
        for name, cells in layout.function_cells.items()
    }
    row.written = {q: None if q in entry.awaiting else entry.grades.get(q) for q in layout.written}
    row.awaiting = entry.awaiting
    row.raw_score, row.penalty, row.total = entry.raw_score, entry.penalty, entry.total
    row.max_score, row.late = entry.max_score, entry.late


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known), 4) if known else None


def fill_from_result(row: StudentRow, result: NotebookResult, layout: Layout) -> None:
    scores = {e.name: e.score for e in result.exercises}
    row.functions = {name: scores.get(name) for name in layout.function_cells}
    row.written = {q: scores.get(q) for q in layout.written}
    row.raw_score = row.total = result.score
    row.max_score = result.max_score


def roster(
    root: Path,
    assignment: Assignment,
    results: list[NotebookResult],
    book: Book,
    layout: Layout,
    skipped: frozenset[str] = frozenset(),
) -> list[StudentRow]:
    """Every student the store or the gradebook knows, by student id; `skipped`: the students whose
    stored result was skipped (autograder.report.stored)."""
    stored = {r.student: r for r in results}
    rows = []
    for student in sorted(set(stored) | set(book.entries)):
        result, entry = stored.get(student), book.entries.get(student)
        if result is not None:
            standing = Standing.GRADED if result.status == "graded" else Standing.ERROR
        elif not entry.submitted:
            standing = Standing.NOT_HANDED_IN
        else:
            standing = Standing.SKIPPED if student in skipped else Standing.NOT_STORED
        row = StudentRow(student, standing, error=None if result is None else result.error)
        if entry is not None and entry.submitted:
            _from_entry(row, entry, layout)
        elif result is not None:
            fill_from_result(row, result, layout)
        else:  # in the gradebook, nothing handed in: export's zero
            row.functions = dict.fromkeys(layout.function_cells)
            row.written = dict.fromkeys(layout.written)
            row.max_score, row.penalty = entry.max_score, 0.0
        if standing is not Standing.NOT_HANDED_IN:
            row.page = feedback_page(root, assignment, student)
        rows.append(row)
    return rows
