"""Fixture submissions named by behaviour, graded by the sandboxed grader: every verdict right."""

import numpy as np
import pytest

from autograder import grading
from autograder.course import get_assignment
from autograder.sandbox.runner import WorkerServer
from autograder.submissions import Submission
from tests.conftest import SUBMISSIONS, fixture_notebook

FULL, ZERO = "full", "zero"
ALL_ZERO = {name: (ZERO, "not graded: cell") for name in ("conv2d", "convolve2d", "conv1d")}

# behaviour -> {function: (verdict, text that must appear in its feedback[, texts that must not])};
# unnamed functions: full. A verdict is FULL, ZERO or the exact number of points lost. The text is
# a line only the grader writes (never "", which every feedback contains), or a tuple of such lines.
EXPECTED = {
    "ps1": {
        "correct-loops": {},
        "correct-einsum": {},
        "correct-fft": {},
        "correct-noisy": {},
        "flipped-kernel": {"conv2d": (6, "likely cause: flipped kernel:")},
        "flipped-kernel-shared": {"conv2d": (6, "likely cause: flipped kernel:")},  # convolve2d calls it: still full
        "truncating": {"conv2d": (3, "likely cause: result stored in the image's integer dtype:",
                                  "integer truncation", "uint8 wrap-around")},
        "uint8-wrap": {"conv2d": (3, "likely cause: uint8 wrap-around:", "integer truncation", "integer dtype")},
        # never right, so no points for refusing bad input or for leaving the inputs alone
        "off-by-one": {"conv2d": (ZERO, "likely cause: off-by-one output size:")},
        "swapped-axes": {"conv2d": (6, "likely cause: kernel transposed (height and width swapped):")},
        "mutates-input": {"conv2d": (1, "modified in place")},
        "tall-kernel-empty": {"convolve2d": (0.5, "kernel taller but narrower than the image: expected ValueError")},
        "np-convolve": {"conv1d": (ZERO, "line 4: `return np.convolve(signal, kernel, mode)`: uses `numpy.convolve`",
                                   "correlate")},
        "mode-ignored": {"conv1d": (4, "likely cause: mode ignored:", "off-by-one")},
        "scipy-cast": {"conv2d": (ZERO, "uses `scipy.signal.correlate2d`, a ready-made convolution", "zeros_like")},
        "same-off-by-one": {"conv1d": (3, "likely cause: 'same' window off by one for even kernels:")},
        "not-from-scratch-aliased": {"conv2d": (ZERO, "scipy.signal"), "conv1d": (ZERO, "numpy.convolve")},
        "sys-exit": {"conv2d": (ZERO, "SystemExit")},
        "os-exit": {"conv2d": (ZERO, "os._exit")},
        "infinite-loop": {"conv2d": (ZERO, "time limit")},
        # stopped by the memory limit, or by the time limit when the allocations are slow (a loaded machine)
        "memory-hog": {"conv2d": (ZERO, ("6x6 arange with the 3x3 box: raised MemoryError: Unable to allocate",
                                         "6x6 arange with the 3x3 box: no result: did not finish within its time"))},
        "lying-result": {"conv2d": (ZERO, "1-D image: expected ValueError to be raised, but it returned a "
                                          "__main__.Liar object")},
        # escape hatches in top-level code: the static policy costs every function (the line named)
        "numpy-monkeypatch": {**ALL_ZERO, "conv2d": (ZERO, "line 2: `np.testing.assert_allclose = ")},
        "planted-module": {**ALL_ZERO, "conv2d": (ZERO, "`sys.modules`")},
        "kill-parent": {**ALL_ZERO, "conv2d": (ZERO, "`import signal`")},
        "crash-in-cell": {},
        "exit-in-cell": {**ALL_ZERO, "conv2d": (ZERO, "`os._exit(0)`")},
        # torch is a ready-made convolution too
        "torch-conv2d": {"conv2d": (ZERO, "line 8: `correlate = F.conv2d  # torch's conv2d is a cross-correlation, as "
                                          "asked`: uses `torch.nn.functional.conv2d`, a ready-made convolution")},
        "same-size-output": {"conv2d": (6, "likely cause: output of the image's size ('same' instead of 'valid'):")},
    },
    "ps2": {
        "correct": {},
        "extra-pixel-before": {"same_padding": (ZERO, "likely cause: extra pixel on the wrong side:")},
        "float-sizes": {"conv_output_size": (ZERO, "likely cause: float instead of int:")},
        "pad-float": {"zero_pad": (2, "likely cause: dtype not kept:")},
        "float-sizes-shared": {"conv_output_size": (ZERO, "likely cause: float instead of int:")},
        "pad-one-side": {"zero_pad": (ZERO, "likely cause: padding on one side only:")},
        "pad-same-both-sides": {"zero_pad": (2, "likely cause: the same padding on both sides of an axis:")},
    },
    "ps3": {
        "correct": {},
        "bias-per-input-channel": {"conv_forward": (3, "likely cause: bias added once per input channel:")},
        "bias-per-tap": {"conv_forward": (1, "likely cause: bias added once per kernel tap:", "input channel:")},
        "broadcast-weight": {"conv_forward": (0.5, "weight with 1 input channel for a 3-channel x: expected "
                                                   "ValueError")},
        "dilation-ignored": {"strided_conv2d": (4.5, "likely cause: dilation ignored:", "off-by-one")},
        "same-before": {"strided_conv2d": (3.5, "likely cause: 'same' extra pixel on the wrong side:")},
        # conv_forward is from scratch too (right values, through scipy)
        "scipy-conv-forward": {"conv_forward": (ZERO, "line 16: `total = sum(correlate2d(xp[n, c], weight[f, c], "
                                                      "mode=\"valid\") for c in range(C))`: uses `correlate2d` "
                                                      "(= scipy.signal.correlate2d), a ready-made convolution")},
        "pool-window-one-size": {"max_pool2d": (2, "likely cause: one window size for both axes:")},
    },
}

CASES = [(a, b) for a, table in EXPECTED.items() for b in table]

#: The sandbox's own containment, with the static policy off: what the process design alone keeps.
WITHOUT_POLICY = {
    "numpy-monkeypatch": {"conv2d": (ZERO, "expected shape")},
    # the planted module is not the one the grader reads with: the function's own answer is judged
    "planted-module": {"conv2d": (ZERO, "6x6 arange with the 3x3 box: expected shape (4, 4), got (1, 1)")},
    # its parent survives the kill: the function is graded on what it returned
    "kill-parent": {"conv2d": (ZERO, "6x6 arange with the 3x3 box: expected shape (4, 4), got (1, 1)")},
    "exit-in-cell": {"conv2d": (ZERO, "ended the grading process")},
    "os-exit": {"conv2d": (ZERO, "os._exit")},
    # second lines behind the policy: the tracer names the routine as the student called it, and
    # scipy does no work in the sandbox
    "np-convolve": {"conv1d": (ZERO, "the call used numpy.convolve;", "correlate")},
    "scipy-cast": {"conv2d": (ZERO, "raised DisabledLibraryError: scipy.signal.correlate2d: scipy does no work",
                              "zeros_like")},
    # torch does no work in the sandbox either
    "torch-conv2d": {"conv2d": (ZERO, "raised DisabledLibraryError: torch.from_numpy: torch does no work inside "
                                      "the grader's sandbox")},
}


def test_every_fixture_file_has_an_expectation():
    files = {(p.parent.name, p.stem.removeprefix("submitted-")) for p in SUBMISSIONS.rglob("submitted-*.py")}
    assert files == set(CASES)
    assert all(texts[0] and all(texts) for table in EXPECTED.values() for _, *texts in
               (entry for functions in table.values() for entry in functions.values()))


@pytest.fixture(scope="module")
def server():
    with WorkerServer() as running:
        yield running


@pytest.fixture(scope="module")
def contexts(root):
    made = {name: grading.Context(root, get_assignment(name), grading.Limits(timeout=3, memory_mb=1024))
            for name in EXPECTED}
    yield made
    for ctx in made.values():
        ctx.close()


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "behaviour"), CASES)
def test_verdicts(tmp_path, contexts, server, assignment, behaviour):
    check_verdicts(tmp_path, contexts[assignment], server, assignment, behaviour, EXPECTED[assignment][behaviour])


@pytest.mark.slow
@pytest.mark.parametrize("behaviour", sorted(WITHOUT_POLICY))
def test_verdicts_without_the_static_policy(tmp_path, root, server, behaviour):
    ctx = grading.Context(root, get_assignment("ps1"), grading.Limits(timeout=3, memory_mb=1024), static_policy=False)
    check_verdicts(tmp_path, ctx, server, "ps1", behaviour, WITHOUT_POLICY[behaviour])


def check_verdicts(tmp_path, ctx, server, assignment, behaviour, expectations):
    import nbformat

    path = tmp_path / "submitted" / behaviour / assignment / f"{get_assignment(assignment).notebook}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(fixture_notebook(assignment, behaviour), path)
    result = grading.grade(ctx, Submission(behaviour, path), server)
    assert result.status == "graded", result.error
    for exercise in result.exercises:
        if exercise.score is None:
            continue  # written question, graded by hand
        verdict, text, *absent = expectations.get(exercise.name, (FULL, None))
        label = f"{behaviour}/{exercise.name}: {exercise.score}/{exercise.max_score}\n{exercise.feedback}"
        if verdict == FULL:
            assert exercise.score == exercise.max_score, label
        elif verdict == ZERO:
            assert exercise.score == 0, label
        else:
            assert exercise.score == exercise.max_score - verdict, label
        if text is not None:  # a text, or a tuple of texts one of which must appear
            assert any(one in exercise.feedback for one in (text if isinstance(text, tuple) else (text,))), label
        assert all(word not in exercise.feedback for word in absent), label
        assert exercise.feedback.count("likely cause") <= 1, label  # one diagnosis per function
        assert "np.float64(" not in exercise.feedback, label
        if exercise.score == exercise.max_score:
            assert exercise.figure is None, label
    assert "BEGIN SOLUTION" not in str(result.exercises) and "def conv2d" not in str(result.exercises)


@pytest.mark.slow
def test_a_submission_cannot_see_the_reference_or_the_course(tmp_path, contexts, server, root):
    """Reading source/ from inside the sandbox fails; the attempt only costs the student."""
    import nbformat

    from tests.conftest import build_submission, fixture_sections

    sections = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")
    sections["before"] = (f"try:\n    SECRET = open({str(root / 'source/ps1/convolution.ipynb')!r}).read()\n"
                          f"except OSError as exc:\n    SECRET = repr(exc)\n")
    sections["conv2d"] = ("def conv2d(image, kernel):\n    raise ValueError(SECRET[:300])\n")
    path = tmp_path / "s.ipynb"
    nbformat.write(build_submission("ps1", sections), path)
    result = grading.grade(contexts["ps1"], Submission("spy", path), server)
    conv2d = result.exercises[0]
    if server.level == "bubblewrap":
        assert "No such file or directory" in conv2d.feedback
    assert "BEGIN SOLUTION" not in conv2d.feedback


def test_judging_does_not_trust_numpy_patched_in_the_grader_process():
    """Sanity: the comparison works on decoded plain data even with odd student values."""
    from autograder import compare, sandbox

    good = sandbox.call_traced(lambda: np.ones((2, 2)), (), {}, trace=False)
    bad = sandbox.call_traced(lambda: np.zeros((2, 2)).view(type("Sub", (np.ndarray,), {"__eq__": lambda s, o: True})),
                             (), {}, trace=False)
    assert compare.compare(good, good, "float-array").passed
    assert not compare.compare(bad, good, "float-array").passed


def test_a_lost_worker_is_an_error_for_the_submission_not_a_zero(tmp_path, contexts, monkeypatch):
    """A server that cannot start (a broken interpreter path, say) leaves nothing graded."""
    import nbformat

    from autograder.sandbox import launch

    monkeypatch.setattr(launch, "server_launch", lambda requested: launch.Launch(["/bin/false"], {}, "/", "rlimits"))
    path = tmp_path / "s.ipynb"
    nbformat.write(fixture_notebook("ps1", "correct-loops"), path)
    result = grading.grade(contexts["ps1"], Submission("alice", path), WorkerServer("rlimits"))
    assert result.status == "error" and "the grader's worker was lost" in result.error, result
