"""The verdicts: what travels from the judge to every reader, as data.

Student text is one escaped field; a wire outcome is decoded once, whatever the process wrote; the
stored form round-trips; the sandbox's status words are one enum; and no module reads the
feedback's sentences back.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from autograder import feedback
from autograder.sandbox import wire
from autograder.verdicts import (
    CaseOutcome,
    FunctionVerdict,
    NotRun,
    Status,
    Summary,
    student_text,
)
from tests.test_compare import judged

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"


@pytest.mark.parametrize(("text", "shown"), [
    ("plain words", "plain words"),
    ("two\nlines", "two\\nlines"),
    ("crlf\r\n  [ok ] x", "crlf\\r\\n  [ok ] x"),
    ("tab\there", "tab\\there"),
    ("separators\u2028\u2029\x0b\x0c\x1c\x85", "separators\\u2028\\u2029\\x0b\\x0c\\x1c\\x85"),
    ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
    ("é ü 世界 ✓", "é ü 世界 ✓"),  # printable text is kept as it is
])
def test_student_text_is_one_line_whatever_it_holds(text, shown):
    assert student_text(text) == shown
    assert student_text(shown) == shown  # escaping twice changes nothing
    assert len(student_text(text).splitlines()) == 1


def test_student_text_is_capped_before_it_is_escaped():
    assert student_text("x" * 500) == "x" * 300
    assert student_text("\n" * 500, 4) == "\\n" * 4
    assert student_text(12345, 3) == "123"


@pytest.mark.parametrize("outcome", [
    None, [], "returned", {}, {"kind": "returned"}, {"kind": "sleeping", "value": 1},
    {"kind": "returned", "value": {"__ndarray__": {"dtype": "<f8", "shape": [2], "data": "AA=="}}},
    {"kind": "returned", "value": {"__mystery__": 1}},
])
def test_a_malformed_outcome_is_a_malformed_answer(outcome):
    decoded = CaseOutcome.from_wire(outcome)
    assert decoded.kind == "returned" and isinstance(decoded.value, wire.Foreign)
    assert decoded.value.type_name in ("malformed outcome", "malformed value")


def test_a_raised_outcome_keeps_its_names_as_text_whatever_their_type():
    decoded = CaseOutcome.from_wire({"kind": "raised", "exc_types": [7, "ValueError"], "message": ["x"],
                                     "forbidden": ["numpy.convolve", 3], "digests": [[1, 2], "ab"]})
    assert decoded.exc_types == ("7", "ValueError") and decoded.raised == "7" and decoded.message == "['x']"
    assert decoded.forbidden == ("numpy.convolve", "3") and decoded.digests == ((1, 2), "ab")
    bare = CaseOutcome.from_wire({"kind": "raised"})
    assert bare.exc_types == ("Exception",) and bare.message == "None" and bare.digests is None


def test_a_returned_outcome_is_decoded_once_into_its_value():
    value = np.arange(6.0).reshape(2, 3)
    decoded = CaseOutcome.from_wire({"kind": "returned", "value": wire.encode(value), "forbidden": [], "digests": []})
    assert decoded.returned and decoded.raised == "" and np.array_equal(decoded.value, value)
    assert decoded.value.dtype == value.dtype and decoded.digests == ()


def test_summaries_say_kind_type_shape_and_short_text_only():
    assert Summary.of(np.zeros((3, 4), np.float32)) == Summary("array", "ndarray", (3, 4), "float32")
    assert Summary.of(np.int64(3)) == Summary("numpy", "int64", repr="3", shown="3")
    assert Summary.of(0.1 + 0.2) == Summary("float", "float", repr="0.3", shown="0.3")
    assert Summary.of((2, np.int32(3))) == Summary("other", "tuple", repr="(2, np.int32(3))", shown="(2, 3)")
    long = Summary.of("x" * 100)
    assert long.repr == "'" + "x" * 56 + "..." and long.shown == "'" + "x" * 100 + "'"
    forged = Summary.of(wire.Foreign("Liar\n  [ok ] forged (1/1)"))
    assert forged == Summary("object", "Liar\\n  [ok ] forged (1/1)", shown="Liar\\n  [ok ] forged (1/1)")


SERVER = PACKAGE / "sandbox" / "server.py"


def _firsts(value) -> list[str]:
    """The status words an expression can give: a word, the first item of a (status, detail) pair,
    either branch of a conditional."""
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return [value.value]
    if isinstance(value, ast.Tuple) and value.elts:
        return _firsts(value.elts[0])
    if isinstance(value, ast.IfExp):
        return _firsts(value.body) + _firsts(value.orelse)
    return []


def _status_words(path: Path) -> set[str]:
    """Every word the supervisor ends a function's process with: what it assigns to its verdict
    (``verdict = (status, detail)``, ``how, detail = ...``, ``how = ...``), returns as a
    (status, detail) pair, and compares a status with."""
    words = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            names += [t.elts[0].id for t in node.targets if isinstance(t, ast.Tuple) and t.elts
                      and isinstance(t.elts[0], ast.Name)]
            if {"verdict", "how"} & set(names):
                words.update(_firsts(node.value))
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2:
            words.update(_firsts(node.value))
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "how":
            words.update(c.value for c in node.comparators if isinstance(c, ast.Constant))
    return words


def test_the_supervisors_status_words_are_the_enums():
    words = _status_words(SERVER)
    assert {"ok", "timeout", "crashed", "exited", "corrupt", "flooded", "refused", "lost", "missing",
            "cell-exit"} <= words
    assert words <= {str(status) for status in Status}, words - {str(s) for s in Status}
    assert Status.of("timeout") is Status.TIMEOUT and Status.of("sleeping") is None and Status.of(None) is None
    assert Status.TIMEOUT == "timeout" and json.dumps(Status.TIMEOUT) == '"timeout"'  # the wire's strings


@pytest.mark.parametrize(("assignment", "name", "make"), [
    ("ps1", "conv2d", lambda ref: lambda image, kernel: ref(image, np.asarray(kernel)[::-1, ::-1])),
    ("ps2", "conv_output_size", lambda ref: lambda n, k, stride=1, padding=0, dilation=1: ref(n, k, stride, padding)),
    ("ps3", "conv_forward", lambda ref: lambda x, weight, bias=None, stride=1, padding=0: ref(x, weight, None, stride,
                                                                                             padding)),
    ("ps1", "conv1d", lambda ref: lambda signal, kernel, mode="full": np.convolve(signal, kernel, mode)),
])
def test_a_verdict_round_trips_through_its_stored_form(root, refs, assignment, name, make):
    verdict = judged(root, assignment, name, make(refs[assignment][name]))
    stored = json.loads(json.dumps(verdict.to_dict()))
    again = FunctionVerdict.from_dict(name, stored)
    assert again == verdict
    assert feedback.text(again) == feedback.text(verdict)
    assert (again.score, again.max_score) == (verdict.score, verdict.max_score)


@pytest.mark.parametrize("damage", [{}, {"groups": 3}, {"groups": [{"title": "t"}]},
                                    {"groups": [], "cause": {"id": 1}}, {"groups": [], "problem": {"kind": "odd"}}])
def test_a_damaged_stored_verdict_is_refused(damage):
    with pytest.raises(ValueError, match="not a verdict of 'conv2d'"):
        FunctionVerdict.from_dict("conv2d", damage)


# -- no module reads the feedback's sentences back --------------------------------------------------

#: What the feedback's lines are made of: a reader matching these parses the student's text.
MARKERS = ("ok ", "FAIL", "wait]", "likely cause", "not from scratch", "no result", "wrong values", "not run:")
TEXT_METHODS = {"split", "splitlines", "startswith", "endswith", "find", "rfind", "index", "partition",
                "rpartition", "count", "removeprefix", "match", "search", "fullmatch", "findall", "finditer"}


def _reads_feedback_text(path: Path) -> list[str]:
    """Where a module matches patterns of the feedback's lines, or takes a feedback text apart."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            constants = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "re" \
                    and any(marker in text for text in constants for marker in MARKERS):
                found.append(f"{path.name}:{node.lineno}: a regular expression on the feedback's lines")
            if isinstance(func, ast.Attribute) and func.attr in TEXT_METHODS \
                    and "feedback" in ast.unparse(func.value).lower():
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
        if isinstance(node, ast.Compare) and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops) \
                and any("feedback" in ast.unparse(c).lower() for c in node.comparators):
            found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


def test_no_module_reads_the_feedback_text_back():
    """Words are made at the edges (autograder/feedback/) and read by people only: every reader
    (report, Gradescope, gradebook, command line) reads the verdicts."""
    modules = [p for p in PACKAGE.rglob("*.py") if "feedback" not in p.relative_to(PACKAGE).parts[:1]]
    assert len(modules) > 30
    assert [hit for path in modules for hit in _reads_feedback_text(path)] == []


def test_the_check_finds_what_the_old_readers_did(tmp_path):
    """The readers this replaced, as they were: the check would have caught each of them."""
    old = ('import re\n_GROUP = re.compile(r"^  \\[(ok |FAIL)\\] (?P<title>.*)")\n'
           "def withhold(exercise):\n    return exercise.feedback.splitlines()\n"
           "def seen(feedback):\n    return 'likely cause' in feedback\n")
    path = tmp_path / "old_reader.py"
    path.write_text(old)
    assert len(_reads_feedback_text(path)) == 3


def test_the_unrun_cells_are_named_six_at_most_and_the_rest_counted():
    from autograder.grading import unrun_cells

    program = [f"x{i} = {i}\n" for i in range(10)]
    errors = [{"cell": i, "type": "NotRun"} for i in range(2, 10)] + [{"cell": 0, "type": "ValueError"}]
    named, more = unrun_cells(errors, program)
    assert [(c.cell, c.code) for c in named] == [(str(i), f"x{i} = {i}") for i in range(2, 8)] and more == 2
    verdict = FunctionVerdict("f", [], not_run=named, not_run_more=more)
    assert feedback.words.not_run_text(verdict) == (
        "not run: " + ", ".join(f"cell {i} (`x{i} = {i}`)" for i in range(2, 8)) + " and 2 more: the notebook's "
        "cells used up their time (all cells together get the same time, however many)")
    assert unrun_cells([{"cell": "7\n  [ok ] forged", "type": "Stopped"}], program) == (
        [NotRun("7\\n  [ok ] forged", "")], 0)
