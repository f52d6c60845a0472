"""Attacks on the integrity of grading: points that were not earned, or other students' grades
changed. One test per mechanism that stops them. Each attack is written against the grader's
public source as a determined student would; where a runtime mechanism is tested, the static
policy is switched off so that the mechanism alone must hold (the policy is tested with it on)."""

import os
import subprocess
import sys

import nbformat
import pytest

from autograder import grading, sandbox
from autograder.course import get_assignment
from autograder.sandbox.runner import WorkerServer
from autograder.submissions import Submission
from tests.conftest import SUBMISSIONS, build_submission, fixture_sections, json_lines, make_course

pytestmark = pytest.mark.slow
BWRAP = pytest.mark.skipif(not sandbox.bwrap_works(),
                           reason="bubblewrap is not usable on this machine (see `python -m autograder doctor`)")
LEVELS = [pytest.param("bubblewrap", marks=BWRAP), "rlimits"]
HONEST = {"conv2d": 8, "convolve2d": 4, "conv1d": 5}


@pytest.fixture(params=LEVELS)
def server(request):
    with WorkerServer(request.param) as running:
        assert running.level == request.param
        yield running


def context(root, assignment="ps1", policy=True):
    ctx = grading.Context(root, get_assignment(assignment), grading.Limits(timeout=4, memory_mb=1024))
    ctx.static_policy = policy
    return ctx


def grade(tmp_path, ctx, server, sections, student="mallory", base="correct-loops"):
    path = tmp_path / f"{student}.ipynb"
    assignment = ctx.assignment.name
    merged = {**fixture_sections(SUBMISSIONS / assignment / f"submitted-{base}.py"), **sections}
    nbformat.write(build_submission(assignment, merged), path)
    result = grading.grade(ctx, Submission(student, path), server)
    assert result.status == "graded", result.error
    return result


def scores(result):
    return {e.name: e.score for e in result.exercises if e.score is not None}


def feedback(result, name):
    return next(e.feedback for e in result.exercises if e.name == name)


def at(source, code):
    """How the policy's message names the line of `source` holding `code`."""
    number = next(i for i, line in enumerate(source.splitlines(), 1) if code in line)
    return f"line {number}: `{code}"


ZEROS = "def conv2d(image, kernel):\n    return np.zeros((1, 1))\n"

# A from-scratch 2-D correlation the attacks use to compute the answers they forge.
SOLVE = """
def _solve(image, kernel):
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
        raise ValueError('bad input')
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.einsum('ijab,ab->ij', windows, kernel)
"""


def test_1_results_forged_from_a_cell_are_not_believed(tmp_path, root, server):
    """A cell finds the job and the output pipe in its callers' frames, computes conv2d's hidden
    cases itself and writes start/case/end messages before the real ones; conv2d returns zeros.
    Now no case exists in the process while cells run, and a message out of turn ends the process."""
    cell = SOLVE + """
import sys, os, json, struct
found, frame = None, sys._getframe()
while frame is not None:
    job = frame.f_locals.get('job')
    if isinstance(job, dict) and 'functions' in job:
        found = job
    frame = frame.f_back
worker = sys.modules['__main__']
messages = [{'t': 'start', 'fn': 'conv2d'}]
for spec in (found or {}).get('functions', []):
    if spec['name'] == 'conv2d' and 'cases' in spec:
        for i, case in enumerate(spec['cases']):
            args = [worker.decode(a) for a in case['args']]
            messages.append({'t': 'case', 'fn': 'conv2d', 'i': i, 'outcome': worker.call_traced(_solve, args, {})})
messages.append({'t': 'end', 'fn': 'conv2d', 'status': 'ok', 'detail': ''})
for fd in range(3, 64):
    for message in messages:
        data = json.dumps(message).encode()
        try:
            os.write(fd, struct.pack('>Q', len(data)) + data)
        except OSError:
            pass
"""
    result = grade(tmp_path, context(root, policy=False), server, {"before": cell, "conv2d": ZEROS})
    assert scores(result)["conv2d"] == 0, feedback(result, "conv2d")
    with_policy = grade(tmp_path, context(root), server, {"before": cell, "conv2d": ZEROS})
    assert scores(with_policy) == {name: 0 for name in HONEST}
    assert at(cell, "found, frame = None, sys._getframe()") in feedback(with_policy, "convolve2d")


def test_1_a_process_that_breaks_the_protocol_loses_every_claim(tmp_path, root, server):
    """conv2d answers its first cases honestly, then writes a message out of turn on every
    descriptor: the answers it gave before count no more than the rest."""
    conv2d = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")["conv2d"].replace(
        "def conv2d(image, kernel):", "calls = []\ndef conv2d(image, kernel):\n    calls.append(1)\n"
        "    if len(calls) == 12:\n        import os, json, struct\n"
        "        data = json.dumps({'t': 'case', 'i': 0, 'outcome': {}}).encode()\n"
        "        for fd in range(3, 64):\n            try:\n"
        "                os.write(fd, struct.pack('>Q', len(data)) + data)\n"
        "            except OSError:\n                pass", 1)
    result = grade(tmp_path, context(root, policy=False), server, {"conv2d": conv2d})
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}
    assert "broke the grading protocol" in feedback(result, "conv2d")


def test_2_a_stalled_submission_cannot_desynchronise_the_next_ones(tmp_path, root, server):
    """A cell ignores SIGALRM, writes sibling calls on every descriptor and stalls past the
    deadline, so that late replies reach the server between jobs. Grades of the students graded
    next on the same server must be their own."""
    cell = """
import base64, io, json, os, signal, struct, time
signal.signal(signal.SIGALRM, signal.SIG_IGN)
def send(message):
    data = json.dumps(message).encode()
    for fd in range(3, 64):
        try:
            os.write(fd, struct.pack('>Q', len(data)) + data)
        except OSError:
            pass
def array(shape):
    data = np.ones(shape)
    return {'__ndarray__': {'dtype': data.dtype.str, 'shape': list(shape),
                            'data': base64.b64encode(data.tobytes()).decode()}}
send({'t': 'start', 'fn': 'conv2d'})
time.sleep(28)  # until just before the grader gives up on this job
for _ in range(30):  # slow calls answered by the reference: the replies arrive after the job ended
    send({'t': 'call', 'fn': 'convolve2d', 'args': [array((300, 300)), array((150, 150))], 'kwargs': {}})
time.sleep(60)
"""
    ctx = context(root, policy=False)
    buggy_alone = scores(grade(tmp_path, ctx, server, {}, student="buggy-alone", base="flipped-kernel"))
    assert 0 < buggy_alone["conv2d"] < 8 and buggy_alone["conv1d"] == 5
    attacker = grade(tmp_path, ctx, server, {"before": cell})
    honest = grade(tmp_path, ctx, server, {}, student="honest")
    buggy = grade(tmp_path, ctx, server, {}, student="buggy", base="flipped-kernel")
    assert scores(honest) == HONEST
    assert scores(buggy) == buggy_alone
    # the messages it wrote out of turn end each of its processes: none of its claims count
    assert all(score == 0 for score in scores(attacker).values()), attacker.exercises


def test_3_patching_the_grader_in_the_process_is_refused_before_it_runs(tmp_path, root, server):
    """A cell rebinds the tracer of the process (`sys.modules['__main__'].call_traced`) to call
    without tracing, and conv2d uses scipy openly. The policy refuses the cell, naming its line;
    without the policy, scipy does no work inside the sandbox."""
    cell = """
import sys
_real = sys.modules['__main__'].call_traced
sys.modules['__main__'].call_traced = lambda f, args, kwargs, trace=True: _real(f, args, kwargs, trace=False)
"""
    conv2d = ("import scipy.signal\n"
              "def conv2d(image, kernel):\n"
              "    return scipy.signal.correlate2d(np.asarray(image, dtype=float), kernel, mode='valid')\n")
    result = grade(tmp_path, context(root), server, {"before": cell, "conv2d": conv2d})
    assert scores(result) == {name: 0 for name in HONEST}
    assert at(cell, "_real = sys.modules['__main__'].call_traced") in feedback(result, "conv1d")
    unchecked = grade(tmp_path, context(root, policy=False), server, {"conv2d": conv2d})
    assert scores(unchecked)["conv2d"] == 0 and "scipy does no work inside the grader's sandbox" in \
        feedback(unchecked, "conv2d")


def test_4_a_helper_process_started_by_a_cell_is_refused(tmp_path, root, server):
    """A cell forks a process that would compute correlations with numpy.correlate and serve them
    over a pipe; conv2d only writes and reads bytes. The function's process has no fork."""
    cell = """
import os, numpy as np
requests, answers = os.pipe(), os.pipe()
try:
    helper = os.fork()
except BaseException as exc:
    NO_HELPER = f'{type(exc).__name__}: {exc}'
    helper = 1
if helper == 0:
    while True:
        header = os.read(requests[0], 32).decode().split()
        h, w, kh, kw = map(int, header)
        data = b''
        while len(data) < 8 * (h * w + kh * kw):
            data += os.read(requests[0], 1 << 20)
        values = np.frombuffer(data, dtype=float)
        image, kernel = values[:h * w].reshape(h, w), values[h * w:].reshape(kh, kw)
        out = sum(np.array([np.correlate(image[i + a], kernel[a], 'valid') for i in range(h - kh + 1)])
                  for a in range(kh))
        os.write(answers[1], out.astype(float).tobytes())
"""
    conv2d = """
def conv2d(image, kernel):
    if 'NO_HELPER' in globals():
        raise RuntimeError(NO_HELPER)
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
        raise ValueError('bad input')
    (h, w), (kh, kw) = image.shape, kernel.shape
    os.write(requests[1], f'{h} {w} {kh} {kw}'.ljust(32).encode() + image.tobytes() + kernel.tobytes())
    size = 8 * (h - kh + 1) * (w - kw + 1)
    data = b''
    while len(data) < size:
        data += os.read(answers[0], size - len(data))
    return np.frombuffer(data, dtype=float).reshape(h - kh + 1, w - kw + 1)
"""
    result = grade(tmp_path, context(root, policy=False), server, {"before": cell, "conv2d": conv2d})
    assert scores(result)["conv2d"] == 0
    assert "SandboxRefusal: os.fork is not available inside the grader's sandbox" in feedback(result, "conv2d")
    with_policy = grade(tmp_path, context(root), server, {"before": cell, "conv2d": conv2d})
    assert at(cell, "requests, answers = os.pipe(), os.pipe()") in feedback(with_policy, "conv2d")
    assert scores(with_policy)["conv1d"] == 0


def test_5_hidden_inputs_cannot_be_read_and_precomputed_by_a_cell(tmp_path, root, server):
    """A cell collects every function's hidden inputs from the job in its callers' frames and
    precomputes the answers; conv2d only looks its inputs up. Now the cases reach a function's
    process only after the cells ran, and only that function's."""
    cell = SOLVE + """
import sys
answers = {}
try:
    frame = sys._getframe()
except ValueError:  # refused at run time by the function's process (the policy is off here)
    frame = None
while frame is not None:
    job = frame.f_locals.get('job')
    for spec in (job or {}).get('functions', []) if isinstance(job, dict) else []:
        for case in spec.get('cases', []):
            args = [sys.modules['__main__'].decode(a) for a in case['args']]
            try:
                answers[repr([np.asarray(a).tobytes() for a in args])] = _solve(*args)
            except Exception:
                pass
    frame = frame.f_back
"""
    conv2d = ("def conv2d(image, kernel):\n"
              "    key = repr([np.asarray(image).tobytes(), np.asarray(kernel).tobytes()])\n"
              "    if key not in answers:\n"
              "        raise ValueError('not precomputed')\n"
              "    return answers[key]\n")
    result = grade(tmp_path, context(root, policy=False), server, {"before": cell, "conv2d": conv2d})
    assert scores(result)["conv2d"] == 0
    assert "not precomputed" in feedback(result, "conv2d")
    assert scores(result)["convolve2d"] == 4 and scores(result)["conv1d"] == 5


def test_6_c_routines_reached_without_a_python_call_are_refused(tmp_path, root, server):
    """Ready-made C routines called from C (map, functools.partial) emit no profiler event; the
    policy refuses private module attributes in the code itself."""
    conv2d = ("import functools, scipy.signal\n"
              "def conv2d(image, kernel):\n"
              "    image = np.asarray(image, dtype=float)\n"
              "    flipped = kernel[::-1, ::-1]\n"
              "    return list(map(scipy.signal._sigtools._convolve2d, [image], [flipped], [1], [0], [0], [0]))[0]\n")
    conv1d = ("import functools\n"
              "def conv1d(signal, kernel, mode='full'):\n"
              "    return functools.partial(np._core.multiarray.correlate, signal, kernel[::-1], 2)()\n")
    result = grade(tmp_path, context(root), server, {"conv2d": conv2d, "conv1d": conv1d})
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 0}
    assert at(conv2d, "return list(map(scipy.signal._sigtools._convolve2d") in feedback(result, "conv2d")
    assert "`numpy._core.multiarray.correlate`" in feedback(result, "conv1d")


def test_7_forging_the_remaining_cases_then_exiting_earns_nothing(tmp_path, root, server):
    """conv2d finds the cases and the pipe in its callers' frames (a traceback hands them out),
    computes every case with NumPy's correlate (named by a string), writes the outcomes with an
    empty list of ready-made calls and leaves with os._exit(0). The policy refuses the reflection,
    naming the line; without it, the routine is not in the process, so nothing can be forged with it."""
    conv2d = """
import sys, os, json, struct
def _correlated(image, kernel):
    routine = getattr(np, 'correl' + 'ate')
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    return np.array([sum(routine(image[i + a], kernel[a], 'valid') for a in range(kernel.shape[0]))
                     for i in range(image.shape[0] - kernel.shape[0] + 1)])
def conv2d(image, kernel):
    try:
        raise LookupError
    except LookupError as exc:
        frame = exc.__traceback__.tb_frame
    while frame is not None:
        names = frame.f_locals
        given = names.get('given') if isinstance(names.get('given'), dict) else {}
        cases, fd = given.get('cases'), names.get('up')
        if cases and isinstance(fd, int):
            wire = sys.modules['autograder.sandbox.wire']
            for i, case in enumerate(cases):
                args = [wire.decode(a) for a in case['args']]
                value = _correlated(*args)
                outcome = {'kind': 'returned', 'value': wire.encode(value), 'forbidden': [], 'seconds': 0.0,
                           'digests': [wire.digest(a) for a in args]}
                data = json.dumps({'t': 'case', 'i': i, 'fn': 'conv2d', 'outcome': outcome}).encode()
                os.write(fd, struct.pack('>Q', len(data)) + data)
            os._exit(0)
        frame = frame.f_back
    return np.zeros((1, 1))
"""
    result = grade(tmp_path, context(root), server, {"conv2d": conv2d})
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}
    assert at(conv2d, "frame = exc.__traceback__.tb_frame") in feedback(result, "conv2d")
    unchecked = grade(tmp_path, context(root, policy=False), server, {"conv2d": conv2d})
    assert scores(unchecked) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}
    assert ("raised ReadyMadeError: numpy.correlate does no work inside the grader's sandbox"
            in feedback(unchecked, "conv2d")), feedback(unchecked, "conv2d")


def test_8_a_huge_sibling_call_cannot_stall_the_grader(tmp_path, root, server):
    """convolve2d hands conv2d (a declared edge, answered by the reference) an input far larger
    than any case; the answer is refused or bounded, outside the grader, and nothing of it reaches
    another function or the student graded next on the same server."""
    convolve2d = ("def convolve2d(image, kernel):\n"
                  "    conv2d(np.ones((300, 300)), np.ones((150, 150)))\n"
                  "    return conv2d(image, np.asarray(kernel)[::-1, ::-1])\n")
    ctx = context(root)
    result = grade(tmp_path, ctx, server, {"convolve2d": convolve2d})
    assert scores(result) == {"conv2d": 8, "convolve2d": 0, "conv1d": 5}
    assert "larger than any case, too large to answer" in feedback(result, "convolve2d")
    after = grade(tmp_path, ctx, server, {}, student="next")
    assert scores(after) == HONEST


def test_circular_delegation_earns_only_the_declared_edge(tmp_path, root, server):
    """conv2d delegates to convolve2d and convolve2d to conv2d; conv_output_size to
    conv_output_shape and back. Only the declared edge (convolve2d -> conv2d, conv_output_shape ->
    conv_output_size) is answered by the reference: the other direction runs the student's code."""
    flipped = "(image, np.asarray(kernel)[::-1, ::-1])\n"
    sections = {"conv2d": "def conv2d(image, kernel):\n    return convolve2d" + flipped,
                "convolve2d": "def convolve2d(image, kernel):\n    return conv2d" + flipped}
    result = grade(tmp_path, context(root), server, sections)
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}
    assert "RecursionError" in feedback(result, "conv2d")
    shapes = {"conv_output_size": ("def conv_output_size(n, k, stride=1, padding=0, dilation=1):\n"
                                   "    return conv_output_shape((n, n), (k, k), stride, padding, dilation)[0]\n")}
    ps2 = grade(tmp_path, context(root, "ps2"), server, shapes, base="correct")
    shape = next(e for e in ps2.exercises if e.name == "conv_output_shape")
    assert scores(ps2)["conv_output_size"] == 0 and shape.score == shape.max_score == 2, ps2.exercises


def test_a_relative_interpreter_path_grades(tmp_path):
    """`../.venv/bin/python -m autograder grade ...` from the course root."""
    course = make_course(tmp_path / "course")
    target = course / "submitted" / "alice" / "ps1"
    target.mkdir(parents=True)
    nbformat.write(build_submission("ps1", fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")),
                   target / "convolution.ipynb")
    python = os.path.relpath(os.path.abspath(sys.executable), course)
    assert python.startswith("..")
    env = {k: v for k, v in os.environ.items() if k != "AUTOGRADER_COURSE_ROOT"}
    done = subprocess.run([python, "-m", "autograder", "grade", "ps1", "--json", "--no-gradebook"], cwd=course,
                          env=env, capture_output=True, text=True, timeout=300)
    (result,) = json_lines(done)
    assert result["status"] == "graded" and result["score"] == 17, (result, done.stderr[-2000:])


@pytest.mark.parametrize("escape", [False, True])
def test_the_policy_applies_on_the_nbgrader_path_too(root, escape):
    """In the student's kernel (as `nbgrader autograde` runs it) the hidden cell's score() reads
    the cells the kernel ran: an escape hatch in a top-level cell costs the function its points."""
    from nbclient import NotebookClient

    conv2d = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")["conv2d"]
    cells = ["import numpy as np", "import sys\nlooked = sys.modules['numpy']" if escape else "looked = None",
             conv2d, "from autograder.notebook_checks import score\n"
                     "print('POINTS', score('ps1', 'test_conv2d_hidden', conv2d))"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root)}}).execute()
    printed = "".join(output.get("text", "") for output in nb.cells[-1].outputs)
    if escape:
        assert "POINTS 0.0" in printed and "line 2: `looked = sys.modules['numpy']`" in printed, printed
    else:
        assert "POINTS 8.0" in printed, printed
