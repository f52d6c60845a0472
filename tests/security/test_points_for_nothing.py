"""Points for nothing (issue 16, mechanism 8): groups a function passes by doing nothing (its inputs
come back unchanged, bad input is refused) pay only when the function also returns right values on
hidden cases: a constant that matches a visible example, a function that raises for everything,
echoes its input or knows only the visible examples earns none of them, and reads a line that does
not accuse it. Judged in this process (the sandbox adds nothing to this rule), with one end-to-end
check through the sandboxed grader."""

import nbformat
import numpy as np
import pytest

from autograder import cases, feedback, grading, judge, sandbox
from autograder.course import ASSIGNMENTS, FROM_SCRATCH, get_assignment
from autograder.feedback.words import failure_line
from autograder.sandbox.runner import WorkerServer
from autograder.submissions import Submission
from tests.conftest import SUBMISSIONS, build_submission, fixture_sections

FUNCTIONS = [(a, f) for a, assignment in ASSIGNMENTS.items() for f in assignment.functions]
WAITS = ("this group's points are given once the function also returns right values on hidden cases "
         "(the visible examples alone do not count)")
UNTOUCHED = f"the inputs came back unchanged; {WAITS}"
REFUSED = f"bad input was refused as asked; {WAITS}"
UNTOUCHED_TITLE = "inputs are never modified"


def judged(root, refs, assignment, name, function, student=None):
    spec = cases.for_assignment(assignment)[name]
    built = cases.build(assignment, spec, student)
    expected, digests = judge.reference_outcomes(refs[assignment], spec, built)
    outcomes = [sandbox.call_traced(function, tuple(judge.copy_value(a) for a in item.case.args),
                                    {k: judge.copy_value(v) for k, v in item.case.kwargs.items()},
                                    trace=name in FROM_SCRATCH) for item in built]
    return judge.judge(spec, built, outcomes, expected, refs[assignment], digests), spec, built, expected


def said(group) -> str:
    """The line under a group, as the feedback writes it ("" when it has none)."""
    return "" if group.failure is None else failure_line(group.failure)


def gated_titles(spec, built, expected):
    """Groups a function can pass by doing nothing: unchanged inputs, and groups of refusals only."""
    titles = set()
    for check in spec.checks:
        for index, group in enumerate(check.groups):
            kinds = [expected[i]["kind"] for i, item in enumerate(built)
                     if (item.check, item.group) == (check.cell, index)]
            if group.check_inputs or (kinds and set(kinds) == {"raised"}):
                titles.add(group.title)
    return titles


def assert_nothing_paid(result, spec, built, expected):
    """No gated group pays, and each one that passed on its own merits says so fairly."""
    gated = gated_titles(spec, built, expected)
    assert gated, spec.function
    lines = feedback.text(result).splitlines()
    for check in result.checks:
        for group in check.groups:
            if group.title not in gated:
                continue
            assert group.earned == 0, (group.title, feedback.text(result))
            if said(group) in (UNTOUCHED, REFUSED):
                # the point waits for right results; the line does not say the function failed it
                header = f"  [wait] {group.title} (0/{group.points:g})"
                assert lines[lines.index(header) + 1] == f"         {said(group)}", feedback.text(result)
                assert not any(line.startswith(f"  [FAIL] {group.title} ") for line in lines)


def visible_cases(spec, built, expected):
    visible = {(c.cell, i) for c in spec.checks for i, g in enumerate(c.groups) if g.visible}
    return [(item.case, expected[i]) for i, item in enumerate(built) if (item.check, item.group) in visible]


def hard_coded(spec, built, expected, otherwise):
    """Right on the visible examples (a table of their inputs and answers), `otherwise` elsewhere."""
    table = visible_cases(spec, built, expected)

    def same(a, b):
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            return np.shape(a) == np.shape(b) and np.array_equal(a, b)
        return type(a) is type(b) and a == b

    def function(*args, **kwargs):
        for case, outcome in table:
            if len(args) == len(case.args) and all(same(a, b) for a, b in zip(args, case.args, strict=True)) \
                    and kwargs.keys() == case.kwargs.keys() and all(same(kwargs[k], case.kwargs[k]) for k in kwargs):
                if outcome["kind"] == "raised":
                    raise {"TypeError": TypeError}.get(outcome["exc_types"][0], ValueError)("as in the example")
                return sandbox.decode(outcome["value"])
        return otherwise(*args, **kwargs)

    return function


def raise_value_error(*args, **kwargs):
    raise ValueError("not today")


@pytest.mark.parametrize(("assignment", "name"), FUNCTIONS)
def test_every_test_cell_names_its_visible_examples(assignment, name):
    """The first group of each test cell repeats the visible cell's inputs: flagged, not found by place."""
    for check in cases.for_assignment(assignment)[name].checks:
        assert [group.visible for group in check.groups] == [True] + [False] * (len(check.groups) - 1)
        assert check.groups[0].title == "the notebook's visible examples"


# the functions whose test cell has a group of unchanged inputs, and those with a group of refusals
UNTOUCHED_GROUPS = [(a, f) for a, f in FUNCTIONS
                    if any(g.check_inputs for c in cases.for_assignment(a)[f].checks for g in c.groups)]
REFUSAL_GROUPS = [(a, f) for a, f in FUNCTIONS if f not in ("same_padding", "max_pool2d", "strided_conv2d")]


@pytest.mark.parametrize(("assignment", "name"), UNTOUCHED_GROUPS)
def test_a_constant_that_matches_a_visible_example_earns_nothing_for_doing_nothing(root, refs, assignment, name):
    spec = cases.for_assignment(assignment)[name]
    built = cases.build(assignment, spec)
    expected, _ = judge.reference_outcomes(refs[assignment], spec, built)
    answer = next(outcome for _, outcome in visible_cases(spec, built, expected) if outcome["kind"] == "returned")
    constant = sandbox.decode(answer["value"])
    result, spec, built, expected = judged(root, refs, assignment, name, lambda *a, **k: constant)
    assert_nothing_paid(result, spec, built, expected)
    assert all(said(g) == UNTOUCHED for c in result.checks for g in c.groups if g.title == UNTOUCHED_TITLE)


@pytest.mark.parametrize(("assignment", "name"), REFUSAL_GROUPS)
def test_raising_value_error_for_everything_earns_nothing(root, refs, assignment, name):
    result, spec, built, expected = judged(root, refs, assignment, name, raise_value_error)
    assert_nothing_paid(result, spec, built, expected)
    assert any(said(g) == REFUSED for c in result.checks for g in c.groups)  # passed on its merits: waits


@pytest.mark.parametrize(("assignment", "name"), UNTOUCHED_GROUPS)
def test_returning_the_input_unchanged_earns_nothing(root, refs, assignment, name):
    result, spec, built, expected = judged(root, refs, assignment, name, lambda first, *a, **k: first)
    assert_nothing_paid(result, spec, built, expected)
    assert all(said(g) == UNTOUCHED for c in result.checks for g in c.groups if g.title == UNTOUCHED_TITLE)


def test_an_echo_is_no_right_value_even_when_a_hidden_case_asks_for_one(root, refs):
    """zero_pad with padding 0 is the image itself: a hidden case asks every student for no padding,
    so returning the image matches it; the inputs came back unchanged, yet that is no evidence of
    work. (The random paddings never draw ((0, 0), (0, 0)): tests/test_cases.py.)"""
    student = "s18"
    spec = cases.for_assignment("ps2")["zero_pad"]
    unpadded = [item.case.label for item in cases.build("ps2", spec, student)
                if item.group == 1 and item.case.args[1] in (0, ((0, 0), (0, 0)))]
    assert unpadded == ["3x4 float image, padding 0"]
    result, spec, built, expected = judged(root, refs, "ps2", "zero_pad", lambda image, padding: image, student)
    assert_nothing_paid(result, spec, built, expected)
    assert result.score == 0


@pytest.mark.parametrize(("otherwise", "assignment", "name"), [("raise", a, f) for a, f in REFUSAL_GROUPS] +
                         [("echo", a, f) for a, f in UNTOUCHED_GROUPS])
def test_knowing_only_the_visible_examples_earns_nothing_more(root, refs, assignment, name, otherwise):
    spec = cases.for_assignment(assignment)[name]
    built = cases.build(assignment, spec)
    expected, _ = judge.reference_outcomes(refs[assignment], spec, built)
    fallback = raise_value_error if otherwise == "raise" else (lambda first, *a, **k: first)
    result, spec, built, expected = judged(root, refs, assignment, name, hard_coded(spec, built, expected, fallback))
    visible = result.checks[0].groups[0]
    assert visible.earned == visible.points, feedback.text(result)  # the visible examples are public: they pay
    assert_nothing_paid(result, spec, built, expected)
    assert result.score == visible.points, feedback.text(result)


@pytest.mark.parametrize(("assignment", "name"), FUNCTIONS)
def test_the_reference_earns_every_point(root, refs, assignment, name):
    result, *_ = judged(root, refs, assignment, name, refs[assignment][name])
    assert result.score == result.max_score, feedback.text(result)
    assert "[wait]" not in feedback.text(result) and "[FAIL]" not in feedback.text(result)


def test_a_classic_mistake_right_on_some_hidden_cases_keeps_those_points(root, refs):
    """A flipped kernel is right on the hidden cases whose kernels are symmetric (and on a 1x1 one):
    it returns right values on hidden cases, so refusing bad input and leaving the inputs alone pay."""
    conv2d = refs["ps1"]["conv2d"]

    def flipped(image, kernel):
        return conv2d(image, np.asarray(kernel)[::-1, ::-1] if np.ndim(kernel) == 2 else kernel)

    result, *_ = judged(root, refs, "ps1", "conv2d", flipped)
    groups = {g.title: g.earned for c in result.checks for g in c.groups}
    assert groups["bad input raises ValueError"] == 1 and groups["inputs are never modified"] == 1
    assert result.score == 2, feedback.text(result)


def test_only_a_right_value_on_a_hidden_case_opens_the_gate(root, refs):
    """The rule, case by case: right on one hidden case of conv2d (and nothing else) opens the gate;
    right on the visible examples only does not."""
    conv2d = refs["ps1"]["conv2d"]
    spec = cases.for_assignment("ps1")["conv2d"]
    built = cases.build("ps1", spec)
    hidden = next(item.case for item in built if item.group == 2)  # a non-square kernel: a hidden group

    def once(image, kernel):
        if np.shape(image) == hidden.args[0].shape and np.array_equal(image, hidden.args[0]):
            return conv2d(image, kernel)
        if np.ndim(image) != 2 or np.ndim(kernel) != 2 or np.greater(np.shape(kernel), np.shape(image)).any():
            raise ValueError("bad input")
        return np.zeros((1, 1))

    result, *_ = judged(root, refs, "ps1", "conv2d", once)
    groups = {g.title: g.earned for c in result.checks for g in c.groups}
    assert groups == {"the notebook's visible examples": 0, cases.ps1.SIZES_TITLE: 0, "non-square kernels": 0,
                      "integer and uint8 images (no truncation, no wrap-around)": 0,
                      "bad input raises ValueError": 1, "inputs are never modified": 1}, feedback.text(result)


@pytest.mark.slow
def test_doing_nothing_earns_nothing_through_the_sandboxed_grader(tmp_path, root):
    """conv2d returns the answer of the first visible example whatever it is given; convolve2d
    raises ValueError for everything; conv1d knows the visible examples by heart."""
    sections = dict(fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py"))
    sections["conv2d"] = ("def conv2d(image, kernel):\n"  # the 6x6 arange under the 3x3 box
                          "    return np.array([[7.0, 8, 9, 10], [13, 14, 15, 16], [19, 20, 21, 22],\n"
                          "                     [25, 26, 27, 28]])\n")
    sections["convolve2d"] = "def convolve2d(image, kernel):\n    raise ValueError('not today')\n"
    sections["conv1d"] = (
        "def conv1d(signal, kernel, mode='full'):\n"
        "    if list(signal) == [1.0, 2.0, 3.0, 4.0] and list(kernel) == [1.0, 0.0, -1.0]:\n"
        "        answers = {'full': [1.0, 2, 2, 2, -3, -4], 'same': [2.0, 2, 2, -3], 'valid': [2.0, 2]}\n"
        "        if mode in answers:\n"
        "            return np.array(answers[mode])\n"
        "    raise ValueError('unknown')\n")
    path = tmp_path / "mallory.ipynb"
    nbformat.write(build_submission("ps1", sections), path)
    ctx = grading.Context(root, get_assignment("ps1"), grading.Limits(timeout=4, memory_mb=1024))
    with WorkerServer() as server:
        result = grading.grade(ctx, Submission("mallory", path), server)
    assert result.status == "graded", result.error
    graded = [e for e in result.exercises if e.score is not None]  # not the written question
    scores = {e.name: e.score for e in graded}
    feedback = {e.name: e.feedback.splitlines() for e in graded}
    assert scores == {"conv2d": 0, "convolve2d": 0, "conv1d": 1}, result.exercises
    assert "  [wait] inputs are never modified (0/1)" in feedback["conv2d"]
    assert f"         {UNTOUCHED}" in feedback["conv2d"]
    assert ["  [wait] bad input (not 2-D, kernel larger along an axis) raises ValueError (0/0.5)",
            f"         {REFUSED}"] == feedback["convolve2d"][-2:]
    assert "  [ok ] the notebook's visible examples (1/1)" in feedback["conv1d"]
    assert "  [wait] an unknown mode raises ValueError (0/0.5)" in feedback["conv1d"]
