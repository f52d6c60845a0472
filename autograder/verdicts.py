"""What the grader decides, as data: from the judge to every reader.

The judge (:mod:`autograder.judge`) returns a :class:`FunctionVerdict` per graded function and
writes no sentence. The store keeps the verdicts, ``--json`` prints them, and the class report,
Gradescope's ``results.json``, the gradebook writer and the command line read them. The words a
person reads are made from them at those edges only, by :mod:`autograder.feedback`; no module
reads another module's sentences back.

What a student controls (an exception's type and message, a returned object's type name, a
tracer's note, a line of their code) is a field here, never structure: it passes through
:func:`student_text` (capped, one line: every character that could end or start a line is shown
as its escape), so it cannot start a line of its own in any rendering.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing the verdicts costs no NumPy (the command line imports them first)
    import numpy as np

#: The version of the verdicts' stored form (autograder.store): a stored result of another version
#: is graded again, never read as this one.
VERSION = 2
#: Characters of a student's text kept in a verdict (an exception message, a type name...).
MAX_STUDENT_TEXT = 300


def student_text(text, cap: int = MAX_STUDENT_TEXT) -> str:
    """`text` as one value: its first `cap` characters, with every character that is not printable
    (newlines, carriage returns, tabs, line and paragraph separators, other control characters,
    lone surrogates) written as its escape (``\\n``, ``\\u2028``, ``\\ud800``): no reader that splits
    lines finds a line in it."""
    text = str(text)[:cap]
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for ch in text)


class Status(StrEnum):
    """How a graded function's process ended, as the sandbox's supervisor says it (the wire carries
    these strings: ``autograder/sandbox/server.py`` writes them, the runner reads them)."""

    OK = "ok"  # exited normally (after answering every case, or not: grading tells which)
    TIMEOUT = "timeout"
    CRASHED = "crashed"  # killed by a signal
    EXITED = "exited"  # ended early (sys.exit, os._exit, a cell that ended the process)
    LOST = "lost"  # the grader's worker was lost before it ran: an error for the submission
    KILLED = "killed"  # the worker was lost while it ran
    MISSING = "missing"  # the function is not defined after the cells ran
    CORRUPT = "corrupt"  # a malformed message: every claim it made is dropped
    FLOODED = "flooded"  # more messages than a function may write: likewise
    REFUSED = "refused"  # left helpers running or would not end: likewise
    RUNNING = "running"  # the grader's own mark while a function runs (never an end)
    CELL_EXIT = "cell-exit"  # the supervisor's: a notebook cell ended the process (retried without it)

    @classmethod
    def of(cls, text) -> Status | None:
        try:
            return cls(text)
        except ValueError:
            return None


#: Ends after which nothing the process said is believed.
UNTRUSTED_ENDS = frozenset({Status.CORRUPT, Status.FLOODED, Status.REFUSED})


# -- one call's outcome, decoded once --------------------------------------------------------------

@dataclass(frozen=True)
class CaseOutcome:
    """What one call did, decoded once from the wire (the runner decodes the sandbox's, grading the
    reference's): a returned value (arrays as NumPy arrays; anything that does not decode stands as
    a ``wire.Foreign``, judged wrong like any unreadable answer) or a raised exception."""

    kind: str  # "returned" or "raised"
    value: object = None
    exc_types: tuple[str, ...] = ()  # class names, most specific first
    message: str = ""
    forbidden: tuple[str, ...] = ()  # ready-made routines (and the tracer's notes) seen during the call
    digests: tuple | None = None  # of the array arguments after the call (the supervisor's, in the sandbox)

    @property
    def returned(self) -> bool:
        return self.kind == "returned"

    @property
    def raised(self) -> str:
        """The most specific exception class's name ("" when it returned)."""
        return self.exc_types[0] if self.exc_types else ""

    @classmethod
    def from_wire(cls, outcome) -> CaseOutcome:
        """The outcome of a call in its wire form (``sandbox.call_traced``), whatever the process that
        wrote it put in it: a malformed outcome is a malformed answer, never a grader error."""
        from autograder.sandbox import wire

        if not isinstance(outcome, dict):
            return cls("returned", wire.Foreign("malformed outcome"))
        forbidden = outcome.get("forbidden")
        forbidden = tuple(str(hit) for hit in forbidden) if isinstance(forbidden, list) else ()
        digests = outcome.get("digests")
        digests = tuple(_frozen(d) for d in digests) if isinstance(digests, list) else None
        if outcome.get("kind") == "raised":
            names = outcome.get("exc_types")
            names = tuple(str(n) for n in names) if isinstance(names, list) and names else ("Exception",)
            message = outcome.get("message")
            return cls("raised", None, names, message if isinstance(message, str) else str(message),
                       forbidden, digests)
        if outcome.get("kind") != "returned" or "value" not in outcome:
            return cls("returned", wire.Foreign("malformed outcome"), forbidden=forbidden, digests=digests)
        try:
            value = wire.decode(outcome["value"])
        except (ValueError, TypeError, RecursionError):
            value = wire.Foreign("malformed value")
        return cls("returned", value, forbidden=forbidden, digests=digests)


def _frozen(value):
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


# -- what feedback may say about a value ------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """One value as feedback may describe it: its kind, type, shape and dtype, and for scalars and
    short values the text it is shown as (never an array's elements)."""

    kind: str  # "array", "object" (sent by type name only), "numpy" (a NumPy scalar), "float", "other"
    type: str = ""  # the type's name (a student's class name for "object": student text)
    shape: tuple[int, ...] | None = None
    dtype: str = ""
    repr: str = ""  # a short repr ("other"), or the number ("numpy", "float")
    shown: str = ""  # the value as a person reads it: 3, (2, 3), 0.611254 (compare.shown)

    @classmethod
    def of(cls, value) -> Summary:
        import numpy as np

        from autograder import compare
        from autograder.sandbox import wire

        if isinstance(value, wire.Foreign):
            name = student_text(value.type_name)
            return cls("object", name, shown=name)
        if isinstance(value, np.ndarray):
            return cls("array", "ndarray", tuple(int(n) for n in value.shape), str(value.dtype))
        shown = student_text(compare.shown(value))
        if isinstance(value, np.generic):
            return cls("numpy", type(value).__name__, repr=compare.number(value), shown=shown)
        if isinstance(value, float):
            return cls("float", "float", repr=compare.number(value), shown=shown)
        text = repr(value)
        text = text if len(text) < 60 else text[:57] + "..."
        return cls("other", type(value).__name__, repr=student_text(text), shown=shown)


class FailureKind(StrEnum):
    """Why a case failed (the renderer's words are keyed by these)."""

    NO_RESULT = "no-result"  # no outcome: status, detail, seconds
    RAISED = "raised"  # raised where a value was expected: raised, message
    UNCHECKED = "unchecked"  # raised in a group that judges unchanged inputs: raised, message
    MUTATED = "mutated"  # an input array was modified in place
    WRONG_EXCEPTION = "wrong-exception"  # exception (the one expected, "" for any), raised, message
    NOT_RAISED = "not-raised"  # exception, actual
    NOT_ARRAY = "not-array"  # expected (its shape), actual
    SHAPE = "shape"  # expected, actual (their shapes)
    NOT_NUMBERS = "not-numbers"  # actual (its dtype)
    NOT_FLOAT = "not-float"  # actual (its dtype)
    DTYPE = "dtype"  # expected, actual (their dtypes)
    VALUES = "values"  # index, expected and actual (the values there), wrong of size
    NOT_INT = "not-int"  # expected, actual
    NOT_TUPLE = "not-tuple"  # expected, actual
    NOT_INTS = "not-ints"  # expected, actual, bad (the first element that is not an int)
    UNEQUAL = "unequal"  # expected, actual
    WAITING = "waiting"  # the group passed by doing nothing: reason ("untouched" or "refused")


#: Failures where both sides returned a value (so the case has a wrong value, for the table or picture).
WRONG_VALUES = frozenset({FailureKind.NOT_ARRAY, FailureKind.SHAPE, FailureKind.NOT_NUMBERS, FailureKind.NOT_FLOAT,
                          FailureKind.DTYPE, FailureKind.VALUES, FailureKind.NOT_INT, FailureKind.NOT_TUPLE,
                          FailureKind.NOT_INTS, FailureKind.UNEQUAL})


@dataclass(frozen=True)
class Failure:
    """The first failing case of a group, as data."""

    kind: FailureKind
    case: str = ""  # the case's label (the grader's words for its inputs); "" for a waiting group
    call: str = ""  # the call, e.g. "conv_output_size(7, 3, stride=2)" (arrays by shape)
    expected: Summary | None = None
    actual: Summary | None = None
    bad: Summary | None = None  # not-ints: the first element that is not an int
    index: tuple[int, ...] | None = None  # values: the first wrong element
    wrong: int = 0  # values: how many elements are wrong...
    size: int = 0  # ...of how many
    exception: str = ""  # the exception the case asks for ("" for any)
    raised: str = ""  # the exception the function raised (student text)
    message: str = ""  # its message (student text)
    status: Status | None = None  # no-result: how the process ended
    detail: str = ""  # no-result: what the supervisor saw
    seconds: float = 0.0  # no-result: the time limit
    reason: str = ""  # waiting: "untouched" or "refused"

    @property
    def wrong_value(self) -> bool:
        return self.kind in WRONG_VALUES


class GroupState(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WAITING = "waiting"  # passed on its own merits, held until the function returns right values


@dataclass
class GroupVerdict:
    title: str
    points: float
    earned: float
    visible: bool  # the notebook's visible examples (every student sees these inputs)
    state: GroupState
    failure: Failure | None = None
    #: the likely causes of the failure, most telling first (in memory: the verdict keeps the one ranked)
    diagnoses: list = field(default_factory=list, compare=False, repr=False)


@dataclass
class CheckVerdict:
    """The groups behind one nbgrader test cell."""

    cell: str
    points: float
    groups: list[GroupVerdict]

    @property
    def earned(self) -> float:
        return round(sum(group.earned for group in self.groups), 4)


@dataclass(frozen=True)
class Cause:
    """The one likely cause told to the student: a mistake's id and its words' parameters
    (autograder.feedback.causes has the words)."""

    id: str
    params: tuple = ()  # (name, value) pairs
    specific: bool = True
    visible: bool = False  # also diagnosed on a visible example (so it says nothing of hidden inputs)

    @property
    def arguments(self) -> dict:
        return dict(self.params)


class ProblemKind(StrEnum):
    MISSING = "missing"  # not defined after the cells ran: error_type, error_message of the first failing cell
    NOT_FROM_SCRATCH = "not-from-scratch"  # the tracer saw ready-made routines: routines
    POLICY = "policy"  # the static policy: violation
    NOT_GRADED = "not-graded"  # the submission could not be graded: reason


@dataclass(frozen=True)
class Violation:
    """What the static policy (autograder.sandbox.policy) found, naming the line."""

    rule: str  # "escape" (reaches into the interpreter or grader) or "ready-made" (a convolution)
    how: str  # the construct: module, path, private, name, attribute, call, descriptor, computed-name,
    #           replacing, import-from (escapes); uses, alias (ready-made)
    what: str  # the name as written (a module, a dotted path, an attribute, a function)
    cell: int
    line: int
    code: str  # the line's code (student text)
    real: str = ""  # alias: the ready-made routine the name stands for
    more: int = 0  # further escapes in top-level code


@dataclass(frozen=True)
class Problem:
    """A reason that overrides every case of a function."""

    kind: ProblemKind
    routines: tuple[str, ...] = ()
    violation: Violation | None = None
    error_type: str = ""
    error_message: str = ""
    reason: str = ""

    @property
    def ready_made(self) -> str | None:
        """The ready-made convolution(s) the function used, as named to the student (None if none)."""
        if self.kind == ProblemKind.NOT_FROM_SCRATCH:
            return ", ".join(self.routines)
        if self.kind == ProblemKind.POLICY and self.violation is not None and self.violation.rule == "ready-made":
            return self.violation.real or self.violation.what
        return None


@dataclass(frozen=True)
class NotRun:
    """A notebook cell the time budget left unrun (or stopped)."""

    cell: str  # its index
    code: str  # its first line (student text)


@dataclass(frozen=True)
class Evidence:
    """A wrong array answer, with what a picture of it needs (in memory only: never stored)."""

    label: str
    inputs: tuple
    expected: np.ndarray
    actual: object
    index: tuple[int, ...] | None  # the first wrong element (None when the shapes differ)


@dataclass
class FunctionVerdict:
    name: str
    checks: list[CheckVerdict]
    problem: Problem | None = None
    cause: Cause | None = None
    not_run: list[NotRun] = field(default_factory=list)
    not_run_more: int = 0  # unrun cells beyond those listed
    evidence: list[Evidence] = field(default_factory=list, compare=False, repr=False)

    @property
    def score(self) -> float:
        return round(sum(check.earned for check in self.checks), 4)

    @property
    def max_score(self) -> float:
        return round(sum(check.points for check in self.checks), 4)

    @property
    def groups(self) -> list[tuple[str, GroupVerdict]]:
        """(test cell, group) for every group, in order."""
        return [(check.cell, group) for check in self.checks for group in check.groups]

    # -- the stored and printed form (JSON) ------------------------------------------------------

    def to_dict(self) -> dict:
        """The JSON form: ``groups`` (each with its test cell), ``cause``, ``problem``, ``not_run``."""
        groups = [{"cell": cell, "title": g.title, "points": g.points, "earned": g.earned, "visible": g.visible,
                   "state": str(g.state), "failure": _plain(g.failure)} for cell, g in self.groups]
        cause = None if self.cause is None else {"id": self.cause.id, "params": dict(_plain(self.cause.params)),
                                                 "specific": self.cause.specific, "visible": self.cause.visible}
        return {"groups": groups, "cause": cause, "problem": _plain(self.problem),
                "not_run": [_plain(cell) for cell in self.not_run], "not_run_more": self.not_run_more}

    @classmethod
    def from_dict(cls, name: str, data: dict) -> FunctionVerdict:
        """The verdict in its JSON form; ValueError when it is not one (a damaged or foreign record)."""
        try:
            checks: list[CheckVerdict] = []
            for group in data["groups"]:
                verdict = GroupVerdict(str(group["title"]), float(group["points"]), float(group["earned"]),
                                       bool(group["visible"]), GroupState(group["state"]),
                                       _failure(group.get("failure")))
                if not checks or checks[-1].cell != group["cell"]:
                    checks.append(CheckVerdict(str(group["cell"]), 0.0, []))
                checks[-1].groups.append(verdict)
                checks[-1].points = round(checks[-1].points + verdict.points, 4)
            cause = data.get("cause")
            cause = None if cause is None else Cause(str(cause["id"]), _params(cause["params"]),
                                                     bool(cause["specific"]), bool(cause["visible"]))
            return cls(name, checks, _problem(data.get("problem")), cause,
                       [NotRun(str(c["cell"]), str(c["code"])) for c in data.get("not_run", [])],
                       int(data.get("not_run_more", 0)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a verdict of {name!r} ({type(exc).__name__}: {exc})") from None


def _plain(value):
    """A verdict's part as JSON data (enums as their strings, tuples as lists, None kept)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, StrEnum):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _tuple(value):
    return None if value is None else tuple(_tuple(v) if isinstance(v, list) else v for v in value)


def _params(value) -> tuple:
    """Cause parameters back from JSON: lists become tuples again (shapes, loop names)."""
    return tuple((str(k), _tuple(v) if isinstance(v, list) else v) for k, v in dict(value).items())


def _summary(data) -> Summary | None:
    if data is None:
        return None
    return Summary(str(data["kind"]), str(data["type"]), _tuple(data["shape"]), str(data["dtype"]),
                   str(data["repr"]), str(data["shown"]))


def _failure(data) -> Failure | None:
    if data is None:
        return None
    status = data.get("status")
    return Failure(FailureKind(data["kind"]), str(data["case"]), str(data["call"]), _summary(data["expected"]),
                   _summary(data["actual"]), _summary(data["bad"]), _tuple(data["index"]), int(data["wrong"]),
                   int(data["size"]), str(data["exception"]), str(data["raised"]), str(data["message"]),
                   None if status is None else Status(status), str(data["detail"]), float(data["seconds"]),
                   str(data["reason"]))


def _problem(data) -> Problem | None:
    if data is None:
        return None
    violation = data.get("violation")
    if violation is not None:
        violation = Violation(str(violation["rule"]), str(violation["how"]), str(violation["what"]),
                              int(violation["cell"]), int(violation["line"]), str(violation["code"]),
                              str(violation["real"]), int(violation["more"]))
    return Problem(ProblemKind(data["kind"]), tuple(str(r) for r in data["routines"]), violation,
                   str(data["error_type"]), str(data["error_message"]), str(data["reason"]))
