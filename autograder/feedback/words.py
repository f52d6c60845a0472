"""The words a student reads about one function: made here, from its verdict, and nowhere else.

::

    conv2d: 2 / 8
      [ok ] the notebook's visible examples (2/2)
      [FAIL] 8x8, 12x10, 10x10 and 12x8 images with asymmetric 3x3 kernels (0/2)
             8x8 float image with an asymmetric 3x3 kernel: values differ: first at index (0, 0), ...
      likely cause: flipped kernel: your output equals the result with the kernel flipped ...
      wrong values:                      (functions returning sizes: the failing calls)
        call   expected  returned
      not run: cell 3 (`import time`): the notebook's cells used up their time (...)

Every text a student controls (an exception message, a type name, a line of their code) arrives as
one field of the verdict, already made one line by :func:`autograder.verdicts.student_text`; it is
escaped again here, so not even a verdict read from a damaged store can start a line.
"""

from __future__ import annotations

from autograder.feedback import causes
from autograder.verdicts import (
    Failure,
    FailureKind,
    FunctionVerdict,
    GroupState,
    Problem,
    ProblemKind,
    Status,
    Summary,
    Violation,
    student_text,
)

MARKS = {GroupState.PASSED: "ok ", GroupState.FAILED: "FAIL", GroupState.WAITING: "wait"}
INDENT, DETAIL = "  ", " " * 9
WAITS = (
    "this group's points are given once the function also returns right values on hidden cases "
    "(the visible examples alone do not count)"
)
WAITING = {
    "untouched": f"the inputs came back unchanged; {WAITS}",
    "refused": f"bad input was refused as asked; {WAITS}",
}
#: A group that judges only unchanged inputs, on a case where the function raised: not a failure
#: to keep them (nothing says they were modified), a check that waits for a result.
UNCHECKED = (
    "so the inputs could not be checked (nothing says they were modified); this group's points are given "
    "once the function returns a result on this case and right values on hidden cases"
)
#: When Gradescope shows the details of a hidden case (gradescope.Settings.hidden_details).
WHEN = {
    "after_due_date": "shown after the due date",
    "after_published": "shown once grades are published",
    "hidden": "not shown",
}
WITHHELD = "details of this hidden case: {when}"
TABLE_ROWS = 6


def _one(text, cap: int = 10_000) -> str:
    return student_text(text, cap)


def _g(value: float) -> str:
    return f"{value:g}"


def text(verdict: FunctionVerdict, cells: bool = False, withhold: str | None = None) -> str:
    """The student's text. `cells`: name the test cells in the first line (the nbgrader hidden
    cell's own output). `withhold`: Gradescope's visibility of hidden details (a key of WHEN):
    every hidden group's failure, the cause unless a visible example shows it too, and the wrong
    values of hidden cases are replaced by a line saying when they are shown."""
    return "\n".join(lines(verdict, cells, withhold)[0])


def lines(verdict: FunctionVerdict, cells: bool = False, withhold: str | None = None) -> tuple[list[str], bool]:
    """The lines of :func:`text`, and whether anything was withheld."""
    if verdict.problem is not None and verdict.problem.kind == ProblemKind.NOT_GRADED:
        return [f"{verdict.name}: not graded: {_one(verdict.problem.reason)}"], False
    named = f" ({', '.join(check.cell for check in verdict.checks)})" if cells else ""
    out = [f"{verdict.name}{named}: {_g(verdict.score)} / {_g(verdict.max_score)}"]
    withheld = False
    if verdict.problem is not None:
        out.append(INDENT + problem_text(verdict.problem, verdict.name))
    for _, group in verdict.groups:
        out.append(f"{INDENT}[{mark(group)}] {group.title} ({_g(group.earned)}/{_g(group.points)})")
        if group.failure is None:
            continue
        if withhold is not None and not group.visible:
            out.append(DETAIL + WITHHELD.format(when=WHEN[withhold]))
            withheld = True
        else:
            out.append(DETAIL + failure_line(group.failure))
    if verdict.cause is not None:
        if withhold is None or verdict.cause.visible:
            out.append(f"{INDENT}likely cause: {causes.line(verdict.cause)}")
        else:
            withheld = True
    rows = table_rows(verdict)
    if withhold is not None:
        shown = [row for row in rows if row[3]]
        withheld = withheld or len(shown) < len(rows)
        rows = shown
    out.extend(table(rows))
    if verdict.not_run:
        out.append(INDENT + not_run_text(verdict))
    return out, withheld


def mark(group) -> str:
    """A group's mark: [ok ], [FAIL], or [wait] for points that wait (also where the function raised
    on a case that judges only its inputs: the judge holds that group as waiting)."""
    return MARKS[group.state]


def failure_line(failure: Failure) -> str:
    """A failing case's line: its label, then why."""
    why = failure_text(failure)
    return f"{_one(failure.case)}: {why}" if failure.case else why


def failure_text(failure: Failure) -> str:
    """Why a case failed, in words."""
    kind, e, a = failure.kind, failure.expected, failure.actual
    raised, message = _one(failure.raised), _one(failure.message)
    if kind == FailureKind.NO_RESULT:
        return no_result_text(failure)
    if kind == FailureKind.RAISED:
        return f"raised {raised}: {message}"
    if kind == FailureKind.UNCHECKED:
        return f"raised {raised}: {message}, {UNCHECKED}"
    if kind == FailureKind.MUTATED:
        return "an input array was modified in place"
    if kind == FailureKind.WAITING:
        return WAITING[failure.reason]
    want = failure.exception or "an exception"
    if kind == FailureKind.WRONG_EXCEPTION:
        return f"expected {want}, got {raised}: {message}"
    if kind == FailureKind.NOT_RAISED:
        return f"expected {want} to be raised, but it returned {describe(a)}"
    if kind == FailureKind.NOT_ARRAY:
        return f"expected a numpy array of shape {e.shape}, got {describe(a)}"
    if kind == FailureKind.SHAPE:
        return f"expected shape {e.shape}, got {a.shape}"
    if kind == FailureKind.NOT_NUMBERS:
        return f"expected numbers, got an array of dtype {a.dtype}"
    if kind == FailureKind.NOT_FLOAT:
        return f"expected a float array, got dtype {a.dtype} (integer results truncate fractions)"
    if kind == FailureKind.DTYPE:
        return f"expected dtype {e.dtype}, got {a.dtype}"
    if kind == FailureKind.VALUES:
        return (
            f"values differ: first at index {failure.index}, expected {e.shown}, got {_one(a.shown)} "
            f"({failure.wrong} of {failure.size} values wrong)"
        )
    if kind == FailureKind.NOT_INT:
        return f"expected a Python int ({e.shown}), got {describe(a)}"
    if kind == FailureKind.NOT_TUPLE:
        return f"expected a tuple of ints {e.shown}, got {describe(a)}"
    if kind == FailureKind.NOT_INTS:
        return f"expected a tuple of ints {e.shown}, got {_one(a.shown)} (contains {describe(failure.bad)})"
    if kind == FailureKind.UNEQUAL:
        return f"expected {e.shown}, got {_one(a.shown)}"
    raise ValueError(f"unknown failure {kind!r}")


def no_result_text(failure: Failure) -> str:
    how, detail = failure.status, _one(failure.detail)
    if how is None:
        return "no result"
    if how == Status.OK:
        return "no result: the process exited before answering (sys.exit or os._exit?)"
    if how == Status.TIMEOUT:
        return f"no result: {detail or 'time limit'} ({failure.seconds:g} s per function)"
    if how in (Status.CRASHED, Status.EXITED, Status.KILLED):
        return f"no result: {detail}"
    return f"no result: {detail or how}"


def describe(summary: Summary) -> str:
    """A short description of a value (never the reference's full output)."""
    if summary.kind == "object":
        return f"a {_one(summary.type)} object"
    if summary.kind == "array":
        return f"an array of shape {summary.shape} and dtype {summary.dtype}"
    if summary.kind == "numpy":
        return f"numpy.{summary.type} {summary.repr}"
    if summary.kind == "float":
        return f"float {summary.repr}"
    return f"{summary.type} {_one(summary.repr)}"


def problem_text(problem: Problem, name: str = "") -> str:
    """The reason that overrode every case of function `name`."""
    if problem.kind == ProblemKind.MISSING:
        if not problem.error_type:  # no cell failed
            return f"{name} is not defined: write it in its solution cell, keeping the name and signature"
        return (
            f"{name} is not defined; a cell failed before it could be defined "
            f"({_one(problem.error_type)}: {_one(problem.error_message)})"
        )
    if problem.kind == ProblemKind.NOT_FROM_SCRATCH:
        return (
            f"not from scratch: the call used {', '.join(_one(r) for r in problem.routines)}; this function "
            "earns no points (see the assignment's rules)"
        )
    if problem.kind == ProblemKind.POLICY:
        return violation_text(problem.violation)
    if problem.kind == ProblemKind.NOT_GRADED:
        return f"not graded: {_one(problem.reason)}"
    raise ValueError(f"unknown problem {problem.kind!r}")


#: What an escape hatch is called, per construct (Violation.how).
ESCAPES = {
    "module": "`{what}`",
    "path": "`{what}`",
    "name": "`{what}`",
    "attribute": "`.{what}`",
    "call": "`{what}()`",
    "private": "`{what}` (a private or dunder attribute of a module)",
    "descriptor": "`open()` of a descriptor number",
    "computed-name": "`{what}` with a computed attribute name",
    "replacing": "replacing `{what}` (a module's attribute)",
    "import-from": "importing from `{what}`",
}


def violation_text(violation: Violation) -> str:
    """The static policy's finding, naming the cell, the line and its code."""
    where = f"cell {violation.cell}, line {violation.line}: `{_one(violation.code, 80)}`"
    what = _one(violation.what)
    if violation.rule == "escape":
        more = f" (and {violation.more} more)" if violation.more else ""
        thing = ESCAPES[violation.how].format(what=what)
        return (
            f"not graded: {where}: {thing} is not allowed in a submission (it reaches into the interpreter or "
            f"the grader; see the assignment's rules){more}"
        )
    thing = f"`{what}` (= {_one(violation.real)})" if violation.how == "alias" else f"`{what}`"
    return (
        f"not from scratch: {where}: uses {thing}, a ready-made convolution; this function earns no points "
        "(see the assignment's rules)"
    )


def not_run_text(verdict: FunctionVerdict) -> str:
    named = [f"cell {_one(c.cell)} (`{_one(c.code)}`)" if c.code else f"cell {_one(c.cell)}" for c in verdict.not_run]
    more = f" and {verdict.not_run_more} more" if verdict.not_run_more else ""
    return (
        "not run: "
        + ", ".join(named)
        + more
        + ": the notebook's cells used up their time (all cells together get the same time, however many)"
    )


def table_rows(verdict: FunctionVerdict) -> list[tuple[str, str, str, bool]]:
    """For functions returning sizes (not arrays: the picture shows those): (call, expected,
    returned, visible) of each failing group's first wrong value, in order."""
    return [
        (_one(g.failure.call), g.failure.expected.shown, _one(g.failure.actual.shown, 300), g.visible)
        for _, g in verdict.groups
        if g.failure is not None
        and g.failure.wrong_value
        and g.failure.kind != FailureKind.VALUES
        and g.failure.expected.kind != "array"
    ]


def table(rows: list[tuple], limit: int = TABLE_ROWS) -> list[str]:
    """The wrong-values table: the failing calls with expected and returned values."""
    if not rows:
        return []
    body = [row[:3] for row in rows[:limit]]
    header = ("call", "expected", "returned")
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(3)]
    out = [f"{INDENT}wrong values:"]
    for row in [header, *body]:
        padded = (text.ljust(width) for text, width in zip(row, widths, strict=True))
        out.append(("    " + "  ".join(padded)).rstrip())
    if len(rows) > limit:
        out.append(f"    ... and {len(rows) - limit} more")
    return out
