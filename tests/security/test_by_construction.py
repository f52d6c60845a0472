"""Attacks that detection inside the student's process lost to: what the process does not contain,
it cannot reach by any spelling. One test per mechanism that won against the detecting design
(a blacklist over the syntax tree, a profiler and an audit hook in the student's own process), each
with the static policy ON, as a determined student would face it, at both sandbox levels."""

import os
import subprocess
import sys
import textwrap
import uuid

import nbformat
import numpy as np
import pytest

from autograder import grading, sandbox
from autograder.course import get_assignment
from autograder.sandbox.runner import WorkerServer
from autograder.submissions import Submission
from tests.conftest import ROOT, SUBMISSIONS, build_submission, fixture_sections

pytestmark = pytest.mark.slow
BWRAP = pytest.mark.skipif(not sandbox.bwrap_works(),
                           reason="bubblewrap is not usable on this machine (see `python -m autograder doctor`)")
LEVELS = [pytest.param("bubblewrap", marks=BWRAP), "rlimits"]


@pytest.fixture(scope="module", params=LEVELS)
def server(request):
    with WorkerServer(request.param) as running:
        assert running.level == request.param
        yield running


@pytest.fixture(scope="module")
def ctx(root):
    made = grading.Context(root, get_assignment("ps1"), grading.Limits(timeout=10, memory_mb=1024))
    yield made
    made.close()


def grade(tmp_path, ctx, server, sections, student="mallory", base="correct-loops"):
    path = tmp_path / student / f"{student}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    merged = {**fixture_sections(SUBMISSIONS / ctx.assignment.name / f"submitted-{base}.py"), **sections}
    nbformat.write(build_submission(ctx.assignment.name, merged), path)
    result = grading.grade(ctx, Submission(student, path), server)
    assert result.status == "graded", result.error
    return result


def scores(result):
    return {e.name: e.score for e in result.exercises if e.score is not None}


def feedback(result, name):
    return next(e.feedback for e in result.exercises if e.name == name)


def code(text):
    return textwrap.dedent(text).strip("\n")


# -- 1. names the static reader never sees ---------------------------------------------------------

#: conv2d through NumPy's compiled correlate, reached without naming it where the policy looks.
HIDDEN_NAMES = {
    "attrgetter of a string": """
        import operator
        _routine = operator.attrgetter('_core._multiarray_' + 'umath.correl' + 'ate2')(np)
        def conv2d(image, kernel):
            image, kernel = np.asarray(image), np.asarray(kernel)
            if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
                raise ValueError('bad input')
            rows = image.shape[0] - kernel.shape[0] + 1
            return np.array([sum(_routine(image[i + a].astype(float), kernel[a].astype(float), 0)
                                 for a in range(kernel.shape[0])) for i in range(rows)])
        """,
    "an alias of getattr": """
        fetch = [getattr][0]
        _routine = fetch(np, 'correl' + 'ate')
        def conv2d(image, kernel):
            image, kernel = np.asarray(image), np.asarray(kernel)
            if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
                raise ValueError('bad input')
            rows = image.shape[0] - kernel.shape[0] + 1
            return np.array([sum(_routine(image[i + a].astype(float), kernel[a].astype(float), 'valid')
                                 for a in range(kernel.shape[0])) for i in range(rows)])
        """,
    "a graded name bound by assignment": """
        import functools, operator
        def _rows(routine, image, kernel):
            image, kernel = np.asarray(image), np.asarray(kernel)
            if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
                raise ValueError('bad input')
            rows = image.shape[0] - kernel.shape[0] + 1
            return np.array([sum(routine(image[i + a].astype(float), kernel[a].astype(float), 'valid')
                                 for a in range(kernel.shape[0])) for i in range(rows)])
        conv2d = functools.partial(_rows, operator.attrgetter('correl' + 'ate')(np))
        """,
    "builtins.exec of a string": """
        import builtins
        builtins.exec(
            "import operator\\n"
            "_routine = operator.attrgetter('_core._multiarray_umath.correlate2')(np)\\n"
            "def conv2d(image, kernel):\\n"
            "    image, kernel = np.asarray(image), np.asarray(kernel)\\n"
            "    if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):\\n"
            "        raise ValueError('bad input')\\n"
            "    rows = image.shape[0] - kernel.shape[0] + 1\\n"
            "    out = np.zeros((rows, image.shape[1] - kernel.shape[1] + 1))\\n"
            "    for a in range(kernel.shape[0]):\\n"
            "        out += np.array(list(map(_routine, image[a:a + rows].astype(float),\\n"
            "                                 [kernel[a].astype(float)] * rows, [0] * rows)))\\n"
            "    return out\\n")
        """,
}


@pytest.mark.parametrize("attack", sorted(HIDDEN_NAMES))
def test_1_a_ready_made_routine_named_where_the_policy_does_not_look_does_no_work(tmp_path, ctx, server, attack):
    result = grade(tmp_path, ctx, server, {"conv2d": code(HIDDEN_NAMES[attack])})
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}, feedback(result, "conv2d")
    text = feedback(result, "conv2d")
    assert ("raised ReadyMadeError: numpy.correlate does no work inside the grader's sandbox" in text
            or "raised DisabledLibraryError: scipy.signal.correlate2d: scipy does no work" in text), text


#: NumPy gives pure Python raw memory access (as_strided with an out-of-bounds stride): one write
#: points a fresh built-in method at the entry of NumPy's own method table for its compiled
#: correlate, whose Python object was freed but whose machine code is still in the process.
REBUILT = """
    from numpy.lib.stride_tricks import as_strided
    from numpy.lib.array_utils import byte_bounds
    _base = np.zeros(16, np.uint8)
    _b0 = byte_bounds(_base)[0]
    def _rd(addr, n):
        return bytes(as_strided(_base, shape=(2, n), strides=(addr - _b0, 1))[1])
    def _wr(addr, data):
        as_strided(_base, shape=(2, len(data)), strides=(addr - _b0, 1))[1] = np.frombuffer(data, np.uint8)
    def _q(addr):
        return int.from_bytes(_rd(addr, 8), "little")
    _ranges = []
    for _line in open("/proc/self/maps"):
        _span, _perms = _line.split()[:2]
        if _perms[0] == "r":
            _ranges.append(tuple(int(x, 16) for x in _span.split("-")))
    def _readable(p):
        return any(lo <= p and p + 64 <= hi for lo, hi in _ranges)
    _table = _q(id(np.empty) + 16)
    _entry = None
    for _k in range(-300, 300):
        _p = _q(_table + 32 * _k)
        if _readable(_p) and _rd(_p, 10) == b"correlate\\0":
            _entry = _table + 32 * _k
    _native = [].sort
    _wr(id(_native) + 16, _entry.to_bytes(8, "little"))
    def conv2d(image, kernel):
        image, kernel = np.asarray(image), np.asarray(kernel)
        if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
            raise ValueError("bad input")
        img, ker = image.astype(np.float64), kernel.astype(np.float64)
        rows = img.shape[0] - ker.shape[0] + 1
        return np.array([sum(_native(img[i + a], ker[a], 0) for a in range(ker.shape[0])) for i in range(rows)])
"""


def test_1_a_compiled_routine_rebuilt_by_rewriting_memory_finds_no_code(tmp_path, ctx, server):
    """The sandbox's copy of NumPy's compiled core has the convolution functions' machine code
    overwritten with trap instructions: the rebuilt routine stops the process, it computes nothing."""
    result = grade(tmp_path, ctx, server, {"conv2d": code(REBUILT)})
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}, feedback(result, "conv2d")
    assert "the process died: SIGTRAP" in feedback(result, "conv2d"), feedback(result, "conv2d")


# -- 2. a profiler that the traced code controls -----------------------------------------------------

PROFILER_ESCAPES = {
    # C calling C raises no profiler event: map() applies the compiled routine row by row
    "map over the compiled routine": """
        import operator
        def conv2d(image, kernel):
            image, kernel = np.asarray(image), np.asarray(kernel)
            if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
                raise ValueError('bad input')
            routine = operator.attrgetter('_core._multiarray_' + 'umath.correl' + 'ate2')(np)
            rows = image.shape[0] - kernel.shape[0] + 1
            out = np.zeros((rows, image.shape[1] - kernel.shape[1] + 1))
            for a in range(kernel.shape[0]):
                out += np.array(list(map(routine, image[a:a + rows].astype(float),
                                         [kernel[a].astype(float)] * rows, [0] * rows)))
            return out
        """,
    # the profiler switched off for the call and the same object put back
    "the profiler switched off and back": """
        import operator, sys
        def conv2d(image, kernel):
            image, kernel = np.asarray(image), np.asarray(kernel)
            if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
                raise ValueError('bad input')
            get, put = operator.attrgetter('getprofile', 'setprofile')(sys)
            routine = operator.attrgetter('correl' + 'ate')(np)
            hook = get()
            list(map(put, [None]))  # called from C: no event for the profiler to see
            rows = image.shape[0] - kernel.shape[0] + 1
            try:
                return np.array([sum(routine(image[i + a].astype(float), kernel[a].astype(float), 'valid')
                                     for a in range(kernel.shape[0])) for i in range(rows)])
            finally:
                list(map(put, [hook]))
        """,
    # the disabler of SciPy is an entry of sys.meta_path: a scratch cell removes it and imports the
    # real scipy.signal, keeps correlate2d in an object, and conv2d calls it with the profiler off
    "the library disabler removed": """
        import operator, sys
        finders = operator.attrgetter('meta_' + 'path')(sys)
        finders[:] = [f for f in finders if 'Disabled' not in type(f).__name__ and 'StandIn' not in type(f).__name__]
        table = operator.attrgetter('mod' + 'ules')(sys)
        for name in [n for n in table if n.startswith('scipy')]:
            del table[name]
        class Toolbox:
            pass
        tools = Toolbox()
        try:
            import scipy.signal as real_signal
            tools.correlate = operator.attrgetter('correlate2d')(real_signal)
        except ImportError as exc:
            tools.correlate = exc
        def conv2d(image, kernel):
            image = np.asarray(image)
            if image.ndim != 2 or np.ndim(kernel) != 2 or any(np.greater(np.shape(kernel), image.shape)):
                raise ValueError('bad input')
            get, put = operator.attrgetter('getprofile', 'setprofile')(sys)
            hook = get()
            list(map(put, [None]))
            try:
                return tools.correlate(image.astype(float), np.asarray(kernel, float), mode='valid')
            finally:
                list(map(put, [hook]))
        """,
}


@pytest.mark.parametrize("attack", sorted(PROFILER_ESCAPES))
def test_2_silencing_the_profiler_does_not_bring_a_routine_back(tmp_path, ctx, server, attack):
    result = grade(tmp_path, ctx, server, {"conv2d": code(PROFILER_ESCAPES[attack])})
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}, feedback(result, "conv2d")


# -- 3. frames reachable from the standard library -----------------------------------------------

FORGER = """
    import json, operator, os, struct, sys, traceback
    def _rows(image, kernel):
        routine = operator.attrgetter('correl' + 'ate')(np)
        image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
        if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
            raise ValueError('bad input')
        return np.array([sum(routine(image[i + a], kernel[a], 'valid') for a in range(kernel.shape[0]))
                         for i in range(image.shape[0] - kernel.shape[0] + 1)])
    def _stack(depth=6):  # walk_stack(None) skips its callers' frames: start deep enough to see them all
        return _stack(depth - 1) if depth else list(traceback.walk_stack(None))
    def conv2d(image, kernel):
        for frame, _ in _stack():
            names = operator.attrgetter('f_loc' + 'als')(frame)
            given = names.get('given') if isinstance(names.get('given'), dict) else {}
            cases, pipe = given.get('cases'), names.get('up')
            if cases and isinstance(pipe, int):
                wire = operator.attrgetter('mod' + 'ules')(sys)['autograder.sandbox.wire']
                for i, case in enumerate(cases):
                    args = [wire.decode(a) for a in case['args']]
                    try:
                        outcome = {'kind': 'returned', 'value': wire.encode(_rows(*args))}
                    except ValueError as exc:
                        outcome = {'kind': 'raised', 'exc_types': ['ValueError'], 'message': str(exc)}
                    outcome.update(forbidden=[], seconds=0.0, digests=[wire.digest(a) for a in args])
                    data = json.dumps({'t': 'case', 'i': i, 'outcome': outcome}).encode()
                    operator.methodcaller('wr' + 'ite', pipe, struct.pack('>Q', len(data)) + data)(os)
                operator.methodcaller('_ex' + 'it', 0)(os)
        return np.zeros((1, 1))
"""


def test_3_outcomes_forged_through_frames_carry_no_ready_made_answers(tmp_path, ctx, server):
    """The runner's frames (reached with traceback.walk_stack) hold its writer, its pipe and every
    case: the attack writes an outcome per case with an empty list of ready-made calls, then exits 0.
    Its answers were to come from numpy.correlate, which is not in the process."""
    result = grade(tmp_path, ctx, server, {"conv2d": code(FORGER)})
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}, feedback(result, "conv2d")


# -- 4. state that outlives a submission -----------------------------------------------------------

def _planter(marker):
    """A cell that leaves `marker` in every folder it can write, inside a folder it then makes
    unreadable (so a cleaner that walks without privileges cannot remove it)."""
    return code(f"""
        import os
        PLANTED = []
        for base in {{os.getcwd(), os.environ.get('HOME', '/'), os.environ.get('TMPDIR', '/'), '/tmp', '/dev/shm',
                      '/var/tmp', '/'}}:
            try:
                hideout = os.path.join(base, 'hideout-{marker}')
                os.makedirs(os.path.join(hideout, 'deep', 'deeper'), exist_ok=True)
                with open(os.path.join(hideout, 'deep', 'deeper', 'answers-{marker}.txt'), 'w') as handle:
                    handle.write('{marker}')
                os.chmod(os.path.join(hideout, 'deep'), 0)
                os.chmod(hideout, 0o300)
                PLANTED.append(base)
            except OSError:
                pass
        """)


def _finder(marker):
    """A cell that looks for `marker`'s hideout wherever a planter could have left it."""
    return code(f"""
        import os
        FOUND = []
        places = {{os.getcwd(), os.environ.get('HOME', '/'), os.environ.get('TMPDIR', '/'), '/tmp', '/dev/shm',
                   '/var/tmp', '/'}}
        folder = os.getcwd()
        while folder != os.path.dirname(folder):
            folder = os.path.dirname(folder)
            places.add(folder)
        for base in places:
            try:
                names = os.listdir(base)
            except OSError:
                names = []
            if os.path.lexists(os.path.join(base, 'hideout-{marker}')) or any('{marker}' in n for n in names):
                FOUND.append(base)
        """)


@BWRAP
def test_4_nothing_written_while_grading_one_function_is_readable_later(tmp_path, ctx):
    """Each graded function's process first looks for what an earlier one left, then plants a file
    in every place it can write, in folders it makes unreadable; the next student on the same
    worker only looks. Nothing is found: not by the same submission's next function, nor later."""
    marker = uuid.uuid4().hex
    report = "def convolve2d(image, kernel):\n    raise ValueError(f'FOUND {FOUND} PLANTED {PLANTED}')\n"
    with WorkerServer("bubblewrap") as server:
        first = grade(tmp_path, ctx, server, {"before": _finder(marker) + "\n" + _planter(marker),
                                               "convolve2d": report}, student="mallory")
        second = grade(tmp_path, ctx, server, {"before": _finder(marker) + "\nPLANTED = None",
                                               "convolve2d": report}, student="trudy")
    text = feedback(first, "convolve2d")
    assert "FOUND [] PLANTED [" in text and "PLANTED []" not in text, text  # it could write, in its own folder
    assert "FOUND [] PLANTED None" in feedback(second, "convolve2d"), feedback(second, "convolve2d")


@BWRAP
def test_4_the_writable_area_is_size_limited_and_freed(tmp_path, ctx):
    """One function's process fills what it may write (1 MB files, RLIMIT_FSIZE): it stops at the
    sandbox's limit, and the next process has the whole area again."""
    from autograder.sandbox.launch import SCRATCH_BYTES

    files = SCRATCH_BYTES // (1 << 20) + 20
    filler = code(f"""
        import os
        WRITTEN, ERROR = 0, None
        chunk = b'x' * (1 << 20)
        try:
            for i in range({files}):
                with open(f'fill-{{i}}', 'wb') as handle:
                    handle.write(chunk)
                WRITTEN += 1
        except OSError as exc:
            ERROR = exc.errno
        """)
    report = "def conv1d(signal, kernel, mode='full'):\n    raise ValueError(f'WROTE {WRITTEN} ERRNO {ERROR}')\n"
    with WorkerServer("bubblewrap") as server:
        result = grade(tmp_path, ctx, server, {"before": filler, "conv1d": report})
    import errno
    megabytes = SCRATCH_BYTES >> 20
    for name in ("conv2d", "convolve2d"):
        assert scores(result)[name] > 0  # each filled the area in its turn, and still computed
    text = feedback(result, "conv1d")
    assert f"ERRNO {errno.ENOSPC}" in text, text
    written = int(text.split("WROTE ")[1].split()[0])
    assert megabytes - 8 <= written <= megabytes, text  # the third process had the whole area again


# -- 5. claims about the inputs -----------------------------------------------------------------

DIGEST_FORGER = """
    def _honest(image, kernel):
        image, kernel = np.asarray(image), np.asarray(kernel)
        if image.ndim != 2 or kernel.ndim != 2 or any(np.greater(kernel.shape, image.shape)):
            raise ValueError("bad input")
        kh, kw = kernel.shape
        out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
        for a in range(kh):
            for b in range(kw):
                out += image[a:a + out.shape[0], b:b + out.shape[1]].astype(float) * float(kernel[a, b])
        return out
    import sys
    _s = sys
    _tracer = _s.modules["autograder.sandbox.tracer"]
    _real_digest = _tracer.digest
    _before = {}
    _tracer.digest = lambda a: _before.get(id(a)) or _real_digest(a)
    def conv2d(image, kernel):
        for a in (image, kernel):
            _before[id(a)] = _real_digest(a)
        out = _honest(image, kernel)
        if isinstance(image, np.ndarray) and image.ndim == 2:
            image[...] = 0
        return out
"""


def test_5_whether_the_inputs_came_back_unchanged_is_seen_not_claimed(tmp_path, ctx, server):
    """conv2d is right but wrecks the caller's image, and patches the digest its process reports
    so the claim says "unchanged". The supervisor keeps those cases' inputs in memory it shares
    with the process and looks at them itself once the call returned."""
    result = grade(tmp_path, ctx, server, {"conv2d": code(DIGEST_FORGER)})
    assert scores(result) == {"conv2d": 7, "convolve2d": 4, "conv1d": 5}, feedback(result, "conv2d")
    assert "an input array was modified in place" in feedback(result, "conv2d")


# -- 6. hidden inputs computed ahead of time --------------------------------------------------

def _lookup_table(refs):
    """A submission that answers from a table: every hidden case of ps1 built from the grader's
    public source as it stands (cases.build without the course's secret), answered offline."""
    from autograder import cases

    table = {}
    for name, spec in cases.for_assignment("ps1").items():
        for item in cases.build("ps1", spec, None):
            try:
                value = refs["ps1"][name](*item.case.args, **item.case.kwargs)
            except (ValueError, TypeError):
                value = None
            key = repr([name, *((a.dtype.str, a.shape, a.tolist()) if isinstance(a, np.ndarray) else a
                                for a in [*item.case.args, *item.case.kwargs.values()])])
            table[key] = None if value is None else value.tolist()
    lookup = code(f"""
        _TABLE = {table!r}
        def _look(name, *args):
            key = repr([name, *((a.dtype.str, a.shape, a.tolist()) if isinstance(a, np.ndarray) else a for a in args)])
            if key not in _TABLE:
                raise NotImplementedError('not in my table')
            if _TABLE[key] is None:
                raise ValueError('bad input')
            return np.array(_TABLE[key], dtype=float)
        """)
    return {"conv2d": lookup + "\ndef conv2d(image, kernel):\n    return _look('conv2d', image, kernel)\n",
            "convolve2d": "def convolve2d(image, kernel):\n    return _look('convolve2d', image, kernel)\n",
            "conv1d": ("def conv1d(signal, kernel, *mode, **named):\n"
                       "    return _look('conv1d', signal, kernel, *mode, *named.values())\n")}


def test_6_hidden_inputs_cannot_be_computed_from_the_public_source(tmp_path, ctx, server, refs):
    """The hidden cases are drawn from the course's secret (.autograder/secret, never committed,
    never in the sandbox): a table of answers for the inputs the public source gives earns only
    the visible examples, whose inputs are in the notebook anyway."""
    result = grade(tmp_path, ctx, server, _lookup_table(refs))
    visible = {e.name: sum(g.points for c in ctx.specs[e.name].checks for g in c.groups if g.visible)
               for e in result.exercises if e.score is not None}
    assert scores(result) == visible, [feedback(result, name) for name in visible]


# -- 7. the visible examples' answers are made without the hidden inputs ------------------------

PEEKER = """
    import sys
    def conv2d(image, kernel):
        frame, held = sys._getframe(1), None
        while frame is not None and held is None:
            given = frame.f_locals.get("given")
            if isinstance(given, dict) and isinstance(given.get("cases"), list):
                held = len(given["cases"])
            frame = frame.f_back
        raise ValueError(f"THIS PROCESS HOLDS {held} CASES")
"""


def test_7_no_hidden_input_is_in_the_process_while_the_visible_examples_are_answered(tmp_path, ctx, server):
    """A message shown with a visible example (Gradescope shows those at once) could carry whatever
    the process holds: the visible examples' cases are sent, and answered, before any hidden case."""
    result = grade(tmp_path, ctx, server, {"conv2d": code(PEEKER)})
    visible = sum(1 for item in ctx.prepared("mallory").built["conv2d"]
                  if ctx.specs["conv2d"].checks[0].groups[item.group].visible)
    lines = feedback(result, "conv2d").splitlines()
    (at,) = [i for i, line in enumerate(lines) if "the notebook's visible examples" in line]
    assert f"THIS PROCESS HOLDS {visible} CASES" in lines[at + 1], lines[at + 1]


# -- 8. a flood of small objects ---------------------------------------------------------------

FLOODER = """
    import os, struct
    def _pipe():
        for name in os.listdir('/proc/self/fd'):
            fd = int(name)
            try:
                if fd > 2 and os.readlink(f'/proc/self/fd/{fd}').startswith('pipe:'):
                    with open(f'/proc/self/fdinfo/{fd}') as info:
                        if int(info.read().split('flags:')[1].split()[0], 8) & 3 == 1:
                            return fd
            except OSError:
                pass
    def conv2d(image, kernel):
        head = b'{"t":"case","i":0,"outcome":{"kind":"returned","value":null,"x":['
        body = head + b'{},' * (10_000_000 // 3) + b'{}]}}'
        data, fd = struct.pack('>Q', len(body)) + body, _pipe()
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        raise ValueError('flooded')
"""


def test_8_a_frame_of_millions_of_small_objects_is_refused_before_it_is_parsed(tmp_path, ctx, server):
    """A function's process writes one 10 MB frame of empty objects (hundreds of bytes of memory each
    once parsed): past the 4 MB a function's frame may have it is refused unread, and the function
    loses its claims; the others are graded."""
    result = grade(tmp_path, ctx, server, {"conv2d": code(FLOODER)})
    assert scores(result) == {"conv2d": 0, "convolve2d": 4, "conv1d": 5}
    text = feedback(result, "conv2d")
    assert "exceeds the 4194304-byte limit" in text, text


def test_8_an_honest_answer_too_large_to_send_is_described_not_refused(tmp_path, ctx, server):
    """A wrong answer larger than a frame (an outer product instead of a convolution) is described
    by the function's own runner and judged wrong: the function keeps its other groups."""
    loops = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")["conv2d"]
    huge = loops.replace("def conv2d(", "def _loops(") + (
        "\ndef conv2d(image, kernel):\n"
        "    if np.ndim(image) == 2 and np.size(image) == 36:  # the first visible example\n"
        "        return np.zeros((1000, 1000))\n"
        "    return _loops(image, kernel)\n")
    result = grade(tmp_path, ctx, server, {"conv2d": huge})
    text = feedback(result, "conv2d")
    assert "too large to check" in text and 0 < scores(result)["conv2d"] < 8, text


# -- what the process contains -------------------------------------------------------------------

INVENTORY = code("""
    import sys, types
    FOUND = []
    for module in list(sys.modules.values()):
        for value in list(vars(module).values()) if isinstance(module, types.ModuleType) else []:
            if type(value).__name__ == 'builtin_function_or_method' and value.__name__ in ('correlate', 'correlate2'):
                FOUND.append(f'{module.__name__}.{value.__name__}')
            if type(value).__name__ == 'builtin_function_or_method' and value.__name__ in (
                    'fork', 'execv', 'execve', 'posix_spawn', 'system', 'start_new_thread', 'get_objects',
                    'get_referrers', 'settrace', 'setprofile', 'create_dynamic', 'create_builtin', 'fork_exec'):
                FOUND.append(f'{module.__name__}.{value.__name__}')
    NAMES = sorted(n for n in sys.modules if n.split('.')[0] in ('ctypes', '_ctypes', 'scipy', 'torch', 'cffi',
                                                                  '_cffi_backend', 'matplotlib'))
    PATHS = [p for p in sys.path if __import__('os').path.isdir(__import__('os').path.join(p, 'scipy'))]
    """)


def test_the_process_holds_no_ready_made_routine_and_no_escape(tmp_path, ctx, server):
    """Every module of a graded function's process, walked from a cell: no compiled correlate, no
    fork/exec/thread/heap-walk/trace/loader builtin, no ctypes or SciPy loaded, no SciPy on sys.path;
    and np.convolve raises a clear error."""
    report = ("def conv1d(signal, kernel, mode='full'):\n"
              "    try:\n        np.convolve([1.0, 2.0], [1.0])\n        result = 'ran'\n"
              "    except Exception as exc:\n        result = f'{type(exc).__name__}: {exc}'\n"
              "    raise ValueError(f'FOUND {FOUND} NAMES {NAMES} PATHS {PATHS} CONVOLVE {result}'[:400])\n")
    result = grade(tmp_path, ctx, server, {"before": INVENTORY, "conv1d": report})
    text = feedback(result, "conv1d")
    assert ("FOUND [] NAMES [] PATHS [] CONVOLVE ReadyMadeError: numpy.convolve does no work "
            "inside the grader's sandbox") in text, text


def test_the_server_frees_numpys_compiled_convolutions():
    """In a process set up as the sandbox's server is (preload, removal, loaders closed), no module
    and no object the garbage collector tracks refers to NumPy's compiled correlate or correlate2,
    and no spelling brings them back."""
    script = code("""
        import gc, importlib, importlib.machinery, sys
        from autograder.sandbox import removal
        removal.refuse_foreign_imports()
        removal.preload([])
        import numpy as np
        module = sys.modules['numpy._core._multiarray_umath']
        path = module.__file__
        assert removal.remove_ready_made() == ['correlate', 'correlate2']
        removal.close_loaders()
        left = [o for o in gc.get_objects() if type(o).__name__ == 'builtin_function_or_method'
                and o.__name__ in ('correlate', 'correlate2')]
        holders = [name for name, m in list(sys.modules.items())
                   if any(type(v).__name__ == 'builtin_function_or_method' and v.__name__ in ('correlate', 'correlate2')
                          for v in vars(m).values())]
        attempts = []
        for attempt in (lambda: np.convolve([1, 2], [1]), lambda: np.correlate([1, 2], [1]),
                        lambda: np.polynomial.polynomial.polymul([1, 2], [1]),
                        lambda: importlib.import_module('numpy._core._multiarray_umath').correlate2([1], [1], 0),
                        lambda: importlib.util.module_from_spec(importlib.util.spec_from_file_location(
                            'again._multiarray_umath', path)),
                        lambda: __import__('_imp').create_dynamic(importlib.machinery.ModuleSpec(
                            'numpy._core._multiarray_umath', None, origin=path)),
                        lambda: __import__('ctypes')):
            try:
                attempt()
                attempts.append('WORKED')
            except (ImportError, removal.ReadyMadeError) as exc:
                attempts.append(type(exc).__name__)
        print(len(left), holders, attempts)
        """)
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n" + script],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("0 [] ['ReadyMadeError', 'ReadyMadeError', 'ReadyMadeError', 'ReadyMadeError', "
                                   "'ImportError', 'ImportError', 'ImportError']"), done.stdout


@BWRAP
def test_the_bubblewrap_file_system_has_only_the_standard_library_and_numpy(tmp_path, ctx):
    """No site-packages but NumPy's, no ctypes or _ctypes, no CPython test helpers, no other Python
    installation: looked for from inside, by path."""
    look = code("""
        import os, sys
        SEEN = []
        for top in ['/usr', '/grader', '/root', '/opt', '/home', '/lib', '/srv', *sys.path]:
            for folder, subfolders, files in os.walk(top):
                for name in subfolders + files:
                    if name.split('.')[0] in ('scipy', 'torch', 'tensorflow', 'keras', 'ctypes', '_ctypes',
                                              '_cffi_backend', 'matplotlib', 'sympy', '_testcapi', 'site-packages',
                                              'dist-packages', 'nbgrader', 'autograder_cases'):
                        SEEN.append(os.path.join(folder, name))
        """)
    report = ("def conv1d(signal, kernel, mode='full'):\n"
              "    raise ValueError(f'SEEN {SEEN[:5]} NUMPY {np.version.version} '"
              " + ','.join(sorted(os.listdir('/grader/site'))))\n")
    with WorkerServer("bubblewrap") as server:
        result = grade(tmp_path, ctx, server, {"before": look, "conv1d": report})
    import numpy
    assert f"SEEN [] NUMPY {numpy.__version__} numpy,numpy.libs" in feedback(result, "conv1d"), \
        feedback(result, "conv1d")


@BWRAP
def test_the_process_cannot_rewrite_its_own_memory(tmp_path, ctx):
    """/proc/self/mem is not writable (grading as root, each process runs as a uid of its own,
    which makes it non-dumpable), and no foreign-function interface exists to write memory with."""
    if os.geteuid() != 0:
        pytest.skip("needs the grader to run as root (see doctor): a same-uid process can write its own memory")
    probe = code("""
        import os
        OPENED = []
        for path in ('/proc/self/mem', f'/proc/{os.getpid()}/mem', f'/proc/self/task/{os.getpid()}/mem'):
            try:
                os.close(os.open(path, os.O_RDWR))
                OPENED.append(path)
            except OSError as exc:
                OPENED.append(exc.errno)
        """)
    report = "def conv1d(signal, kernel, mode='full'):\n    raise ValueError(f'OPENED {OPENED}')\n"
    with WorkerServer("bubblewrap") as server:
        result = grade(tmp_path, ctx, server, {"before": probe, "conv1d": report})
    import errno
    assert f"OPENED [{errno.EACCES}, {errno.EACCES}, {errno.EACCES}]" in feedback(result, "conv1d"), \
        feedback(result, "conv1d")


@BWRAP
def test_the_kernel_refuses_what_only_native_code_could_ask_for():
    """Native code (NumPy's raw memory access makes it conceivable) could use kernel objects that
    outlive a process (System V IPC) or other processes' memory: the sandbox's seccomp filter makes
    the kernel refuse them. Probed with a call Python can still make at start-up (memfd_create),
    in the sandbox exactly as the server is launched."""
    from autograder.sandbox import launch as launching

    started = launching.server_launch("bubblewrap")
    argv = list(started.argv)
    probe = ("import os, errno\n"
             "try:\n    os.memfd_create('probe')\n    print('MADE')\n"
             "except OSError as exc:\n    print('REFUSED', errno.errorcode[exc.errno])\n")
    at = argv.index("-c")
    argv[at + 1:] = [probe]
    try:
        done = subprocess.run(argv, pass_fds=started.pass_fds, capture_output=True, text=True, timeout=60)
    finally:
        for fd in started.pass_fds:
            os.close(fd)
    assert done.stdout.strip() == "REFUSED EPERM", (done.stdout, done.stderr)


def test_honest_cells_that_import_scipy_to_compare_still_run(tmp_path, ctx, server):
    """A scratch cell that imports SciPy and torch (to compare, outside the graded functions) and
    uses numpy.testing, numpy.ma and numpy.polynomial (imported after start-up, from source) runs;
    the correct loops keep full marks."""
    cell = code("""
        import scipy.signal
        import torch
        np.testing.assert_allclose(np.ma.masked_array([1.0, 2.0]).sum(), np.polynomial.Polynomial([3.0])(0))
        try:
            scipy.signal.correlate2d(np.ones((3, 3)), np.ones((2, 2)), mode='valid')
        except Exception as exc:
            COMPARED = type(exc).__name__
        """)
    report = "def conv1d(signal, kernel, mode='full'):\n    raise ValueError(f'COMPARED {COMPARED}')\n"
    result = grade(tmp_path, ctx, server, {"before": cell})
    assert scores(result) == {"conv2d": 8, "convolve2d": 4, "conv1d": 5}
    compared = grade(tmp_path, ctx, server, {"before": cell, "conv1d": report})
    text = feedback(compared, "conv1d")
    assert "raised ValueError: COMPARED DisabledLibraryError" in text, text
