"""The instructor's class report: ``python -m autograder report ASSIGNMENT --html FILE --csv FILE``.

Read-only use of the stored results (``.autograder/results/<assignment>/*.json``, written by
:mod:`autograder.store`): the latest result per student. The HTML page is one self-contained file
(inline style, matplotlib figures embedded as PNG, no script and a Content-Security-Policy that
allows none, nothing fetched) with

- the class's score distribution per graded function;
- per group of checks the share of students who passed it (difficulty) and how well it separates
  strong from weak students (discrimination: the pass rate in the top fifth of the class by total
  score minus the pass rate in the bottom fifth, as PrairieLearn reports it);
- how many students made each classic mistake, and who;
- who handed the work to a ready-made convolution;
- who could not be graded, and why.

The CSV has one row per student and a column per graded function.
"""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from autograder import store
from autograder.course import Assignment, CourseError
from autograder.feedback import causes, words
from autograder.results import NotebookResult
from autograder.verdicts import FailureKind, FunctionVerdict, GroupState


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
    summary.groups = [(g.title, g.state == GroupState.PASSED) for _, g in verdict.groups
                      if g.state != GroupState.WAITING]
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


def load_results(root: Path, assignment: Assignment) -> list[NotebookResult]:
    """The latest stored result of each student (read-only)."""
    folder = store.results_folder(root, assignment)
    latest: dict[str, tuple[float, NotebookResult]] = {}
    try:
        stored = store.stored_results(root, assignment)
        for _, stamp, data in stored:
            result = NotebookResult.from_dict(data)
            if result.student not in latest or stamp >= latest[result.student][0]:
                latest[result.student] = (stamp, result)
    except (ValueError, TypeError) as exc:
        raise CourseError(f"{exc}; grade again with 'python -m autograder grade {assignment.name}' (--force to "
                          "regrade everything)") from None
    if not latest:
        raise CourseError(f"no stored results for {assignment.name} under {folder}: grade first with "
                          f"'python -m autograder grade {assignment.name}'")
    return [latest[student][1] for student in sorted(latest)]


@dataclass
class ClassReport:
    assignment: Assignment
    results: list[NotebookResult]

    def __post_init__(self):
        self.functions = list(self.assignment.functions)
        self.graded = [r for r in self.results if r.status == "graded"]
        self.parsed = {(r.student, e.name): summarize(e.verdict)
                       for r in self.graded for e in r.exercises if e.name in self.functions}

    def scores(self, function: str) -> list[tuple[str, float, float]]:
        return [(r.student, e.score or 0.0, e.max_score) for r in self.graded for e in r.exercises
                if e.name == function]

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
                rows.append({"function": function, "group": title, "students": len(by_student),
                             "passed": rate, "discrimination": discrimination})
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
        return [(student, function, parsed.ready_made) for (student, function), parsed in sorted(self.parsed.items())
                if parsed.ready_made]

    def not_graded(self) -> list[tuple[str, str, str]]:
        """(student, what, why): notebooks that could not be graded and functions without a result."""
        rows = [(r.student, r.notebook or "notebook", r.error or "unknown error")
                for r in self.results if r.status != "graded"]
        for (student, function), parsed in sorted(self.parsed.items()):
            rows.extend((student, function, problem) for problem in parsed.problems)
        return rows


def cell_text(text: str) -> str:
    """Text a spreadsheet shows as text: a student id (a folder name the student may choose) that
    starts like a formula (=, +, -, @, tab, return) is prefixed with an apostrophe (OWASP)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def write_csv(report: ClassReport, path: Path) -> None:
    """One row per student: a column per graded function, then the total and the status."""
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["student", *report.functions, "total", "max_score", "status"])
        for result in report.results:
            scores = {e.name: e.score for e in result.exercises}
            row = [cell_text(result.student)]
            row += ["" if scores.get(name) is None else f"{scores[name]:g}" for name in report.functions]
            writer.writerow([*row, f"{result.score:g}", f"{result.max_score:g}", result.status])


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
        ax.scatter([100 * p["passed"] for p in points], [100 * p["discrimination"] for p in points],
                   marker=markers[index % len(markers)], label=function, alpha=0.8)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xlim(-5, 105)
    ax.set_ylim(-105, 105)
    ax.set_xlabel("students who passed the group (%)", fontsize=8)
    ax.set_ylabel("top fifth minus bottom fifth (points of %)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return _png(fig)


def _e(value) -> str:
    return html.escape(str(value))


def _table(header: list[str], rows: list[list], empty: str, numeric: set[int] | None = None) -> str:
    if not rows:
        return f"<p class='none'>{_e(empty)}</p>"
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td class='num'>{_e(c)}</td>" if i in numeric else f"<td>{_e(c)}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 64em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
p.none { color: #666; font-style: italic; } img { max-width: 100%; }
.note { color: #555; font-size: 0.9em; }
"""


#: The page runs no script at all, whatever a student id or message holds (every text is escaped too)
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def write_html(report: ClassReport, path: Path) -> None:
    """The page. Every text in it, students' ids and messages included, is escaped (`_e`)."""
    name = report.assignment.name
    summary = []
    for function in report.functions:
        scores = report.scores(function)
        values = sorted(s for _, s, _ in scores)
        top = scores[0][2] if scores else 0
        if values:
            mean, median = sum(values) / len(values), values[len(values) // 2] if len(values) % 2 else (
                values[len(values) // 2 - 1] + values[len(values) // 2]) / 2
            full = sum(v == top for v in values)
            summary.append([function, f"{top:g}", f"{mean:.2f}", f"{median:g}", f"{full} of {len(values)}"])
    groups = report.group_statistics()
    group_rows = [[g["function"], g["group"], f"{100 * g['passed']:.0f}%",
                   "n/a" if g["discrimination"] is None else f"{100 * g['discrimination']:+.0f}",
                   g["students"]] for g in groups]
    mistakes = [[f, c, len(s), ", ".join(s)] for f, c, s in report.mistakes()]
    ready = [[s, f, what] for s, f, what in report.ready_made()]
    failed = [[s, what, why] for s, what, why in report.not_graded()]
    parts = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">",
        f"<title>Class report: {_e(name)}</title><style>{STYLE}</style></head><body>",
        f"<h1 id='title'>Class report: {_e(name)} ({_e(report.assignment.notebook)}.ipynb)</h1>",
        f"<p>{len(report.results)} students, {len(report.graded)} graded, "
        f"{len(report.results) - len(report.graded)} could not be graded.</p>",
        "<h2 id='distribution'>Score distribution per function</h2>",
        _table(["function", "points", "mean", "median", "full marks"], summary, "no graded submissions",
               {1, 2, 3}),
    ]
    if report.graded:
        parts.append(f"<img alt='histograms of scores per function' src='data:image/png;base64,"
                     f"{distribution_figure(report)}'>")
    parts += [
        "<h2 id='groups'>Checks: difficulty and discrimination</h2>",
        "<p class='note'>Passed: the share of graded students who passed every case of the group. "
        "Discrimination: the pass rate among the top fifth of the class (by total score) minus the "
        "pass rate among the bottom fifth, in percentage points; near 0 the group does not separate "
        "strong from weak students, negative values deserve a look.</p>",
        _table(["function", "group of checks", "passed", "discrimination", "students"], group_rows,
               "no checks recorded", {2, 3, 4}),
    ]
    if any(g["discrimination"] is not None for g in groups):
        parts.append(f"<img alt='difficulty against discrimination' src='data:image/png;base64,"
                     f"{difficulty_figure(groups)}'>")
    parts += [
        "<h2 id='mistakes'>Classic mistakes</h2>",
        _table(["function", "likely cause", "students", "who"], mistakes, "no classic mistake recognised", {2}),
        "<h2 id='ready-made'>Ready-made convolutions</h2>",
        _table(["student", "function", "used"], ready, "nobody used a ready-made convolution"),
        "<h2 id='not-graded'>Could not be graded</h2>",
        _table(["student", "notebook or function", "why"], failed, "every submission was graded"),
        "</body></html>",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")


def run_report(root: Path, assignment: Assignment, html_path: Path | None, csv_path: Path | None) -> int:
    if html_path is None and csv_path is None:
        raise CourseError("say what to write: --html FILE, --csv FILE or both")
    report = ClassReport(assignment, load_results(root, assignment))
    if html_path is not None:
        write_html(report, html_path)
        print(f"class report: {html_path}")
    if csv_path is not None:
        write_csv(report, csv_path)
        print(f"scores per function: {csv_path}")
    return 0

