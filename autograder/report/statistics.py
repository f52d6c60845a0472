"""The class report's figures, from the verdicts (never the feedback text) and the roster.

- per graded function, the class's scores;
- per group of checks the share of students who passed it (difficulty) and how well it separates
  strong from weak students (discrimination: the pass rate in the top fifth of the class by total
  score minus the pass rate in the bottom fifth, as PrairieLearn reports it). Below `SMALL_CLASS`
  graded students the fifths are one or two students each: a discrimination can then only be one
  of a handful of values (a single student moves it by 50 or 100 points), so the report gives none;
- how many students made each classic mistake, and who; who used a ready-made convolution;
- who could not be graded, and why; who has not handed in; written answers awaiting a hand grade.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from autograder.course import Assignment
from autograder.feedback import causes, words
from autograder.report.book import Book
from autograder.report.roster import Layout, Standing, StudentRow, fill_from_result
from autograder.report.stored import Skipped
from autograder.results import NotebookResult
from autograder.verdicts import FailureKind, FunctionVerdict, GroupState

#: Fewer graded students than this and the top and bottom fifths are at most two students each
#: (round(n / 5) <= 2): the report then shows no discrimination, and says why.
SMALL_CLASS = 10


@dataclass
class FunctionSummary:
    """What the report needs from one function's verdict."""

    groups: list[tuple[str, bool]] = field(default_factory=list)  # (title, passed), decided groups only
    cause: str | None = None  # the likely cause's title
    ready_made: str | None = None  # the ready-made convolution(s) used
    problems: list[str] = field(default_factory=list)  # why it could not be judged (in the student's words)


def summarize(verdict: FunctionVerdict | None) -> FunctionSummary:
    """The report's view of a verdict. A group whose points wait (passed by doing nothing, so far)
    is neither passed nor failed: it is left out of the groups' statistics."""
    summary = FunctionSummary()
    if verdict is None:
        return summary
    summary.groups = [
        (g.title, g.state == GroupState.PASSED) for _, g in verdict.groups if g.state != GroupState.WAITING
    ]
    summary.cause = causes.title(verdict.cause) if verdict.cause is not None else None
    if verdict.problem is not None:
        summary.ready_made = verdict.problem.ready_made
        if summary.ready_made is None:
            summary.problems.append(words.problem_text(verdict.problem, verdict.name))
    for _, group in verdict.groups:
        if group.failure is not None and group.failure.kind == FailureKind.NO_RESULT:
            why = words.failure_text(group.failure)
            if why not in summary.problems:
                summary.problems.append(why)
    if verdict.not_run:
        summary.problems.append(words.not_run_text(verdict))
    return summary


@dataclass
class ClassReport:
    assignment: Assignment
    results: list[NotebookResult]
    students: list[StudentRow] | None = None  # the roster (None: made from the results alone)
    skipped: list[Skipped] = field(default_factory=list)
    book: Book = field(default_factory=Book)
    layout: Layout | None = None

    def __post_init__(self):
        self.functions = list(self.assignment.functions)
        self.graded = [r for r in self.results if r.status == "graded"]
        self.parsed = {
            (r.student, e.name): summarize(e.verdict)
            for r in self.graded
            for e in r.exercises
            if e.name in self.functions
        }
        if self.layout is None:
            names = {e.name for r in self.results for e in r.exercises} - set(self.functions)
            self.layout = Layout({name: () for name in self.functions}, dict.fromkeys(sorted(names), 0.0), {})
        if self.students is None:
            self.students = []
            for result in self.results:
                row = StudentRow(
                    result.student, Standing.GRADED if result.status == "graded" else Standing.ERROR, error=result.error
                )
                fill_from_result(row, result, self.layout)
                self.students.append(row)

    @property
    def written(self) -> list[str]:
        return list(self.layout.written)

    @property
    def small(self) -> bool:
        """Too few graded students for the fifths to mean much (`SMALL_CLASS`)."""
        return len(self.graded) < SMALL_CLASS

    def not_handed_in(self) -> list[str]:
        return [row.student for row in self.students if row.standing is Standing.NOT_HANDED_IN]

    def late(self) -> list[str]:
        return [row.student for row in self.students if row.late]

    def awaiting(self) -> dict[str, list[str]]:
        """Written question -> the students whose answer still waits for a hand grade."""
        found: dict[str, list[str]] = {q: [] for q in self.written}
        for row in self.students:
            for question in row.awaiting:
                found.setdefault(question, []).append(row.student)
        return {q: students for q, students in found.items() if students}

    def scores(self, function: str) -> list[tuple[str, float, float]]:
        return [
            (r.student, e.score or 0.0, e.max_score) for r in self.graded for e in r.exercises if e.name == function
        ]

    def quintiles(self) -> tuple[set[str], set[str]]:
        """Students in the top and bottom fifth by total score (at least one each)."""
        ranked = sorted(self.graded, key=lambda r: (r.score, r.student))
        size = max(1, round(len(ranked) / 5))
        return {r.student for r in ranked[-size:]}, {r.student for r in ranked[:size]}

    def group_statistics(self) -> list[dict]:
        """Per function and group of checks: difficulty (share passed) and discrimination."""
        top, bottom = self.quintiles()
        rows = []
        for function in self.functions:
            passes: dict[str, dict[str, bool]] = defaultdict(dict)
            for (student, name), parsed in self.parsed.items():
                if name == function:
                    for title, passed in parsed.groups:
                        passes[title][student] = passed
            for title, by_student in passes.items():
                rate = sum(by_student.values()) / len(by_student)
                high = [by_student[s] for s in top if s in by_student]
                low = [by_student[s] for s in bottom if s in by_student]
                discrimination = (sum(high) / len(high) - sum(low) / len(low)) if high and low else None
                rows.append(
                    {
                        "function": function,
                        "group": title,
                        "students": len(by_student),
                        "passed": rate,
                        "discrimination": discrimination,
                    }
                )
        return rows

    def mistakes(self) -> list[tuple[str, str, list[str]]]:
        """(function, classic mistake, students), most frequent first."""
        found: dict[tuple[str, str], list[str]] = defaultdict(list)
        for (student, function), parsed in sorted(self.parsed.items()):
            if parsed.cause and not parsed.ready_made:
                found[(function, parsed.cause)].append(student)
        return sorted(((f, c, s) for (f, c), s in found.items()), key=lambda item: (-len(item[2]), item[0], item[1]))

    def ready_made(self) -> list[tuple[str, str, str]]:
        """(student, function, routines) for every function handed to a ready-made convolution."""
        return [
            (student, function, parsed.ready_made)
            for (student, function), parsed in sorted(self.parsed.items())
            if parsed.ready_made
        ]

    def not_graded(self) -> list[tuple[str, str, str]]:
        """(student, what, why): notebooks that could not be graded and functions without a result."""
        rows = [
            (r.student, r.notebook or "notebook", r.error or "unknown error")
            for r in self.results
            if r.status != "graded"
        ]
        for (student, function), parsed in sorted(self.parsed.items()):
            rows.extend((student, function, problem) for problem in parsed.problems)
        return rows
