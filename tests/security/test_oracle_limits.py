"""The sibling-call oracle counts everything (issue 16, mechanism 5): while a function is judged,
its calls along a declared edge are answered by the reference, only for inputs no larger than the
caller's largest case (every element of every argument, whatever its type, counted before anything
is decoded or computed) and within a CPU budget per submission; its replies are capped on the bytes
they are written as."""

import time

import nbformat
import numpy as np
import pytest

from autograder import grading, sibling_calls
from autograder.course import get_assignment
from autograder.sandbox import encode
from autograder.sandbox.runner import WorkerServer
from autograder.submissions import Submission
from tests.conftest import SUBMISSIONS, build_submission, fixture_sections

LARGEST = 129  # convolve2d's largest case: a 12x10 image and a 3x3 kernel
TOO_LARGE = f"call to conv2d with more than {LARGEST} values: larger than any case, too large to answer"


def context(root, assignment="ps1", timeout=4.0):
    ctx = grading.Context(root, get_assignment(assignment), grading.Limits(timeout=timeout, memory_mb=1024))
    ctx.prepared("anyone")  # the cases, and with them the largest one per function
    return ctx


def spent(name, seconds):
    return (f"call to {name} not answered: the reference has used up its {seconds:g} s for this "
            "submission's calls to graded functions")


BIG = {  # 100 times convolve2d's largest case, in the shapes a list argument may take
    "nested list": [[1.0] * 114 for _ in range(114)],
    "tuple of tuples": tuple(tuple(range(114)) for _ in range(114)),
    "list of arrays": [np.ones(114) for _ in range(114)],
    "dict of lists": {"rows": [[1] * 114 for _ in range(114)]},
}


def test_every_element_of_every_argument_counts():
    count = sibling_calls.count_elements
    assert count([encode(np.ones((12, 10))), encode(np.ones((3, 3)))], {}) == LARGEST
    assert count([encode(np.ones((12, 10)).tolist()), encode(((1, 2, 3),) * 3)], {}) == LARGEST  # as lists
    assert count([encode([np.ones(4), np.ones((2, 3))])], {"mode": encode("same")}) == 4 + 6 + 4
    assert count([encode(7), encode(2.5), encode(None), encode(np.float32(1)), encode(1j)], {}) == 5
    assert count([encode({"a": [1, 2], "b": {"c": (3,)}})], {}) == 3
    assert count([encode([[], [], []]), encode(np.ones((0, 5)))], {}) == 4  # empty ones count too
    assert count([encode(object())], {}) == 1
    assert count([encode(np.array(["ab", "cde"]))], {}) == 6  # characters of a string array
    for name, value in BIG.items():
        assert count([encode(value)], {}) == 114 * 114, name


DEEP = 1
for _ in range(20):
    DEEP = {"__list__": [DEEP]}


@pytest.mark.parametrize("malformed", [
    [[1, 2]],  # a bare list
    [{"__ndarray__": {"dtype": "<f8", "shape": [1000, 1000], "data": ""}}],  # bytes do not fill the shape
    [{"__ndarray__": {"dtype": "|O", "shape": [1], "data": "AAAAAAAAAAA="}}],
    [{"__float__": "1" * 100}],
    [{"__list__": [1], "__tuple__": [2]}],
    [{"__what__": 1}],
    [{"__dict__": {"k" * 100: 1}}],
    [DEEP],  # deeper than anything the sandbox's encoder makes
])
def test_malformed_arguments_are_refused_without_decoding(malformed):
    with pytest.raises(ValueError):
        sibling_calls.count_elements(malformed, {})


def test_counting_stops_at_the_limit():
    """A list of a million items is not walked to its end: counting stops once it passed the limit,
    before the malformed item at the end is even seen."""
    args = [{"__list__": [1] * 1_000_000 + [{"__what__": 1}]}]
    start = time.perf_counter()
    assert sibling_calls.count_elements(args, {}, limit=LARGEST) > LARGEST
    assert time.perf_counter() - start < 0.05


@pytest.fixture
def never_started(monkeypatch):
    """The reference's process must not even start (nor be written to)."""

    def start(self):
        raise AssertionError("the reference was asked to answer")

    monkeypatch.setattr(sibling_calls.ReferenceCalls, "_start", start)


@pytest.mark.parametrize("shape", list(BIG))
def test_a_large_call_is_refused_before_the_reference_sees_it(root, never_started, shape):
    ctx = context(root)
    start = time.perf_counter()
    outcome = ctx.answer("convolve2d", "conv2d", [encode(BIG[shape]), encode(np.ones((3, 3)))], {}, 4.0)
    assert outcome == sibling_calls.refusal(TOO_LARGE)
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("times", [2, 10, 100])
def test_a_call_a_few_times_the_largest_case_is_refused_on_both_sides(root, never_started, times):
    """Not only the huge calls: one of two, ten or a hundred times the caller's largest case (a cap
    loosened a hundredfold would let the last through) is refused by the grader before the answering
    process sees it, and by that process before it decodes anything."""
    args = [encode(np.ones(times * LARGEST - 9)), encode(np.ones((3, 3)))]
    assert sibling_calls.count_elements(args, {}) == times * LARGEST
    assert context(root).answer("convolve2d", "conv2d", args, {}, 4.0) == sibling_calls.refusal(TOO_LARGE)

    def never(*args):
        raise AssertionError("computed")

    request = {"fn": "conv2d", "args": args, "kwargs": {}, "max_elements": LARGEST}
    assert sibling_calls._answer({"conv2d": never}, request) == sibling_calls.refusal(TOO_LARGE)


def test_the_largest_case_is_measured_the_same_way(root):
    """The largest case in list form is answered; one column more is refused."""
    ctx = context(root)
    try:
        image, kernel = np.arange(120.0).reshape(12, 10), np.ones((3, 3))
        answered = ctx.answer("convolve2d", "conv2d", [encode(image.tolist()), encode(kernel.tolist())], {}, 4.0)
        assert answered["kind"] == "returned", answered
        wider = np.arange(132.0).reshape(12, 11).tolist()
        assert ctx.answer("convolve2d", "conv2d", [encode(wider), encode(kernel.tolist())], {}, 4.0) \
            == sibling_calls.refusal(TOO_LARGE)
    finally:
        ctx.close()


def test_cases_of_pairs_are_measured_element_by_element(root):
    """conv_output_shape's largest case holds two shapes, a stride and a padding pair and a dilation:
    9 values, so a call to conv_output_size with 9 values is answered (here: refused by the
    reference itself, with its TypeError) and one with 10 is too large."""
    ctx = context(root, "ps2")
    try:
        answer = ctx.answer
        nine = answer("conv_output_shape", "conv_output_size", [encode(list(range(8))), encode(3)], {}, 4.0)
        assert nine["kind"] == "raised" and nine["exc_types"][0] == "TypeError", nine
        ten = answer("conv_output_shape", "conv_output_size", [encode(list(range(9))), encode(3)], {}, 4.0)
        assert ten == sibling_calls.refusal("call to conv_output_size with more than 9 values: larger than any "
                                            "case, too large to answer")
    finally:
        ctx.close()


def test_one_slow_call_cannot_overrun_the_budget(root):
    """A call allowed 20 s on its own is stopped when the submission's budget (1.5 s) runs out."""
    ctx = context(root, "ps3", timeout=0.5)
    args, kwargs = [encode(np.ones((2, 2))), encode(np.ones((1, 1)))], {"padding": encode(4000)}
    try:
        answer = ctx.answer
        answer("conv_forward", "strided_conv2d", [encode(np.ones((3, 3))), encode(np.ones((2, 2)))], {}, 20)
        start = time.monotonic()  # the answering process has started
        assert answer("conv_forward", "strided_conv2d", args, kwargs, 20) \
            == sibling_calls.refusal(spent("strided_conv2d", 1.5))
        assert time.monotonic() - start < 1.5 + 3  # the budget, then the process is stopped
    finally:
        ctx.close()


def test_many_small_calls_use_up_the_budget(root):
    """conv_forward asks strided_conv2d (its declared edge) for a 2x2 image padded by 1000 on each
    side, again and again: each call is small, each costs the reference a fraction of a second.
    Once the budget (3 timeouts per submission) is spent, every further call is refused at once."""
    ctx = context(root, "ps3", timeout=0.5)
    answer = ctx.answer  # one submission's answerer
    args, kwargs = [encode(np.ones((2, 2))), encode(np.ones((1, 1)))], {"padding": encode(500)}
    refused = sibling_calls.refusal(spent("strided_conv2d", 1.5))
    try:
        start, outcomes = time.monotonic(), []
        while time.monotonic() - start < 20 and refused not in outcomes:
            # each call may take 5 s on its own (more than the budget: only the budget ends them)
            outcomes.append(answer("conv_forward", "strided_conv2d", args, kwargs, 5))
        assert outcomes[-1] == refused, outcomes[-1]
        assert len(outcomes) > 2 and outcomes[0] == sibling_calls.refusal("strided_conv2d's result is too large")
        assert time.monotonic() - start < 1.5 + 6  # the budget; the process's start-up and the pipes are free
        again = time.monotonic()
        assert answer("conv_forward", "strided_conv2d", args, kwargs, 5) == outcomes[-1]
        assert time.monotonic() - again < 0.05
        # the budget is the submission's: the next submission's answerer starts afresh
        small = ctx.answer("conv_forward", "strided_conv2d", [encode(np.ones((3, 3))), encode(np.ones((2, 2)))],
                           {}, 0.5)
        assert small["kind"] == "returned", small
    finally:
        ctx.close()


def test_the_reply_cap_counts_the_bytes_written(root):
    """A reply of 300,000 characters that are written as 1.8 MB of JSON escapes is too large."""
    refs = {"conv2d": lambda image, kernel: "\u00e9" * 300_000}
    request = {"fn": "conv2d", "args": [encode(1), encode(2)], "kwargs": {}, "max_elements": 10}
    assert sibling_calls._answer(refs, request) == sibling_calls.refusal("conv2d's result is too large")
    refs = {"conv2d": lambda image, kernel: "e" * 300_000}
    assert sibling_calls._answer(refs, request)["kind"] == "returned"


def test_the_answering_process_counts_too(root):
    """The answering process checks the size again before it decodes anything."""
    request = {"fn": "conv2d", "args": [encode(BIG["nested list"]), encode(np.ones((3, 3)))], "kwargs": {},
               "max_elements": LARGEST}

    def never(*args):
        raise AssertionError("computed")

    assert sibling_calls._answer({"conv2d": never}, request) == sibling_calls.refusal(TOO_LARGE)


# -- through the sandboxed grader --------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    with WorkerServer() as running:
        yield running


def grade(tmp_path, root, server, assignment, sections, base, timeout=4.0):
    merged = {**fixture_sections(SUBMISSIONS / assignment / f"submitted-{base}.py"), **sections}
    path = tmp_path / "mallory.ipynb"
    nbformat.write(build_submission(assignment, merged), path)
    result = grading.grade(context(root, assignment, timeout), Submission("mallory", path), server)
    assert result.status == "graded", result.error
    graded = [e for e in result.exercises if e.score is not None]
    return {e.name: e.score for e in graded}, {e.name: e.feedback for e in graded}


SHAPES = {
    "nested list": "[[1.0] * 114 for _ in range(114)]",
    "tuple of tuples": "tuple(tuple(range(114)) for _ in range(114))",
    "list of arrays": "[np.ones(114) for _ in range(114)]",
}


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_student_cannot_have_the_reference_compute_a_large_list(tmp_path, root, server, shape):
    convolve2d = ("def convolve2d(image, kernel):\n"
                  f"    conv2d({SHAPES[shape]}, np.ones((3, 3)))\n"
                  "    return conv2d(image, np.asarray(kernel)[::-1, ::-1])\n")
    scores, feedback = grade(tmp_path, root, server, "ps1", {"convolve2d": convolve2d}, "correct-loops")
    assert scores == {"conv2d": 8, "convolve2d": 0, "conv1d": 5}
    assert f"raised RuntimeError: {TOO_LARGE}" in feedback["convolve2d"]


@pytest.mark.slow
@pytest.mark.parametrize("form", ["arrays", "lists"])
def test_an_honest_convolve2d_through_conv2d_keeps_full_marks(tmp_path, root, server, form):
    convert = ".tolist()" if form == "lists" else ""
    convolve2d = ("def convolve2d(image, kernel):\n"
                  f"    return conv2d(np.asarray(image){convert}, np.asarray(kernel)[::-1, ::-1]{convert})\n")
    scores, feedback = grade(tmp_path, root, server, "ps1", {"convolve2d": convolve2d}, "correct-loops")
    assert scores == {"conv2d": 8, "convolve2d": 4, "conv1d": 5}, feedback["convolve2d"]


@pytest.mark.slow
def test_a_student_cannot_spend_more_than_the_budget_in_small_calls(tmp_path, root, server):
    """conv_forward calls strided_conv2d on a 2x2 image padded by 1000, up to 150 times (each one
    costs the reference a third of a second; the result is too large to send back): the budget
    of three timeouts ends it, and the refusal reaches the feedback."""
    conv_forward = ("asked = []\n"
                    "def conv_forward(x, weight, bias=None, stride=1, padding=0):\n"
                    "    asked.append(1)\n"
                    "    if len(asked) > 1:\n"
                    "        return np.zeros((1, 1, 1, 1))\n"
                    "    for _ in range(150):\n"
                    "        try:\n"
                    "            strided_conv2d(np.ones((2, 2)), np.ones((1, 1)), padding=1000)\n"
                    "        except RuntimeError as exc:\n"
                    "            if 'used up' in str(exc):\n"
                    "                raise\n"
                    "    raise RuntimeError('never refused')\n")
    start = time.monotonic()
    scores, feedback = grade(tmp_path, root, server, "ps3", {"conv_forward": conv_forward}, "correct")
    assert f"raised RuntimeError: {spent('strided_conv2d', 12)}" in feedback["conv_forward"], feedback["conv_forward"]
    assert scores == {"strided_conv2d": 6, "conv_forward": 0, "max_pool2d": 4}
    assert time.monotonic() - start < 12 + 40  # the budget, and the grading of three functions
