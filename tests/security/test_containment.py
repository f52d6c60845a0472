"""Attacks on the grader itself. Each one targets conv2d; each test asserts the attack is contained
and that convolve2d and conv1d (written independently) are still graded right."""

import os
import re
import secrets
import socket
import threading
import uuid

import nbformat
import pytest

from autograder import grading, sandbox
from autograder.course import get_assignment
from autograder.sandbox.runner import WorkerServer
from autograder.sandbox.server import PRIVATE_UIDS
from autograder.submissions import Submission
from tests.conftest import SUBMISSIONS, build_submission, fixture_sections

pytestmark = pytest.mark.slow
BWRAP = pytest.mark.skipif(not sandbox.bwrap_works(),
                           reason="bubblewrap is not usable on this machine (see `python -m autograder doctor`)")
LEVELS = [pytest.param("bubblewrap", marks=BWRAP), "rlimits"]


@pytest.fixture(scope="module")
def context(root):
    """The sandbox must contain what it runs on its own: these attacks run with the static policy
    off (it would refuse most of them before they run; see test_integrity.py)."""
    ctx = grading.Context(root, get_assignment("ps1"), grading.Limits(timeout=4, memory_mb=1024, processes=64),
                          static_policy=False)
    yield ctx
    ctx.close()


def grade_attack(tmp_path, context, level, before="", conv2d_body="return np.zeros((1, 1))", others_intact=True):
    sections = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")
    if before:
        sections["before"] = before
    sections["conv2d"] = "def conv2d(image, kernel):\n" + "\n".join("    " + line for line in conv2d_body.splitlines())
    path = tmp_path / "attack.ipynb"
    nbformat.write(build_submission("ps1", sections), path)
    with WorkerServer(level) as server:
        result = grading.grade(context, Submission("mallory", path), server)
        assert server.level == level
    scores = {e.name: e.score for e in result.exercises}
    assert result.status == "graded"
    if others_intact:
        assert scores["convolve2d"] == 4 and scores["conv1d"] == 5, result.exercises
    return result


#: A right conv2d (valid cross-correlation, float result, ValueError on bad input), for attacks
#: whose 0 must come from the defence alone.
CORRECT_CONV2D = """image = np.asarray(image, dtype=float)
kernel = np.asarray(kernel, dtype=float)
if image.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
    raise ValueError('bad input')
windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
return np.einsum('ijab,ab->ij', windows, kernel)"""


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as handle:
                    if marker.encode() in handle.read():
                        found.append(int(entry))
            except OSError:
                continue
    return found


@BWRAP
def test_cannot_read_solutions_gradebook_or_other_submissions(tmp_path, context, root):
    secret = tmp_path / "submitted" / "victim" / "ps1" / "convolution.ipynb"
    secret.parent.mkdir(parents=True)
    secret.write_text("victim's work")
    gradebook = tmp_path / "gradebook.db"  # a course's gradebook, readable by the grading user
    gradebook.write_bytes(b"SQLite format 3\x00 grades of every student")
    targets = [root / "source" / "ps1" / "convolution.ipynb", root / "nbgrader_config.py",
               root / "autograder" / "cases" / "ps1.py", secret, gradebook, "/etc/passwd"]
    assert all(os.access(target, os.R_OK) for target in targets)  # each one there to be read
    body = ("seen = []\n"
            f"for path in {[str(t) for t in targets]!r}:\n"
            "    try:\n"
            "        seen.append(path + ': ' + open(path).read(40))\n"
            "    except OSError as exc:\n"
            "        pass\n"
            "raise ValueError('SEEN ' + repr(seen))")
    result = grade_attack(tmp_path, context, "bubblewrap", conv2d_body=body)
    feedback = result.exercises[0].feedback
    assert "SEEN []" in feedback, feedback
    assert result.exercises[0].score == 0  # always raising ValueError earns no "bad input" points


@pytest.mark.parametrize("level", [pytest.param("bubblewrap", marks=BWRAP)])
def test_cannot_write_into_the_course_tree_or_gradebook(tmp_path, context, root, level):
    marker = tmp_path / f"planted-{uuid.uuid4().hex}"
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_bytes(b"SQLite format 3\x00 grades")
    body = ("import os\n"
            f"for path in [{str(marker)!r}, {str(gradebook)!r}, {str(root / 'source' / 'x.py')!r}]:\n"
            "    try:\n"
            "        with open(path, 'a') as handle:\n"
            "            handle.write('pwned')\n"
            "    except OSError:\n"
            "        pass\n"
            "return np.zeros((1, 1))")
    result = grade_attack(tmp_path, context, level, conv2d_body=body)
    assert not marker.exists() and not (root / "source" / "x.py").exists()
    assert gradebook.read_bytes() == b"SQLite format 3\x00 grades"
    assert result.exercises[0].score == 0


@BWRAP
def test_no_network(tmp_path, context):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(8)
    port = listener.getsockname()[1]
    connections = []

    def accept():
        try:
            connections.append(listener.accept())
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    body = ("import socket\n"
            f"socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'exfiltrate')\n"
            "return np.zeros((1, 1))")
    result = grade_attack(tmp_path, context, "bubblewrap", conv2d_body=body)
    listener.close()
    thread.join()
    assert connections == []
    assert "raised" in result.exercises[0].feedback and result.exercises[0].score == 0


@pytest.mark.parametrize("level", LEVELS)
def test_no_process_outlives_grading(tmp_path, context, level):
    """A graded function's process has no way to start another process or program: fork, exec,
    posix_spawn, system and subprocess are not in it (removed, not watched), so nothing can linger."""
    marker = f"lingering-{uuid.uuid4().hex}"
    before = ("import os, sys\n"
              "TRIED, MESSAGES = [], []\n"
              "def attempt(label, start):\n"
              "    try:\n"
              "        start()\n"
              "        TRIED.append(f'{label} STARTED')\n"
              "    except BaseException as exc:\n"
              "        TRIED.append(f'{label}:{type(exc).__name__}')\n"
              "        MESSAGES.append(str(exc))\n"
              f"attempt('popen', lambda: __import__('subprocess').Popen(['/bin/sh', '-c', 'sleep 300 # {marker}']))\n"
              "attempt('fork', os.fork)\n"
              f"attempt('spawn', lambda: os.posix_spawn('/bin/sh', ['/bin/sh', '-c', 'sleep 301 # {marker}'], {{}}))\n"
              f"attempt('system', lambda: os.system('sleep 302 # {marker} &'))\n"
              f"attempt('exec', lambda: os.execv('/bin/sh', ['/bin/sh', '-c', 'sleep 303 # {marker}']))\n")
    body = "raise ValueError(' '.join(TRIED) + ' | ' + MESSAGES[1])"
    result = grade_attack(tmp_path, context, level, before=before, conv2d_body=body)
    assert processes_with(marker) == []
    feedback = result.exercises[0].feedback
    assert ("popen:SandboxRefusal fork:SandboxRefusal spawn:SandboxRefusal system:SandboxRefusal exec:SandboxRefusal"
            " | os.fork is not available inside the grader's sandbox") in feedback, feedback


@BWRAP
def test_the_grader_is_out_of_reach(tmp_path, context):
    """Inside bubblewrap the grading process is in another pid namespace: nothing above the server
    can be seen or signalled."""
    body = ("import os, signal\n"
            "hit = []\n"
            "for pid in range(1, 4096):\n"
            "    try:\n"
            "        cmd = open(f'/proc/{pid}/cmdline', 'rb').read()\n"
            "    except OSError:\n"
            "        continue\n"
            "    if b'pytest' in cmd or b'autograder grade' in cmd:\n"
            "        hit.append(pid)\n"
            "        os.kill(pid, signal.SIGKILL)\n"
            "raise ValueError(f'VISIBLE {hit}')")
    result = grade_attack(tmp_path, context, "bubblewrap", conv2d_body=body)
    assert "VISIBLE []" in result.exercises[0].feedback


@BWRAP
def test_files_written_to_tmp_stay_in_the_sandbox(tmp_path, context):
    marker = f"/tmp/left-behind-{uuid.uuid4().hex}"
    body = f"open({marker!r}, 'w').write('x')\nreturn np.zeros((1, 1))"
    grade_attack(tmp_path, context, "bubblewrap", conv2d_body=body)
    assert not os.path.exists(marker)


@pytest.mark.parametrize("level", LEVELS)
def test_output_flood_is_capped(tmp_path, context, level):
    """conv2d is right but writes 16 MB: past the output cap a write fails, so only the cap costs
    it its points (and the feedback says which error it got)."""
    body = ("import sys\nchunk = 'x' * 1_000_000\n"
            "for _ in range(8):\n"
            "    print(chunk)\n    print(chunk, file=sys.stderr)\n"
            + CORRECT_CONV2D)
    result = grade_attack(tmp_path, context, level, before="print('y' * 5_000_000)", conv2d_body=body)
    conv2d = result.exercises[0]
    assert conv2d.score == 0 and "raised OSError: [Errno 27] File too large" in conv2d.feedback, conv2d.feedback


def test_the_attacks_conv2d_is_otherwise_correct(tmp_path, context):
    """The attacks below compute conv2d right, so a 0 comes from the defence alone."""
    result = grade_attack(tmp_path, context, "rlimits", conv2d_body="print('a few words')\n" + CORRECT_CONV2D)
    assert result.exercises[0].score == 8, result.exercises[0].feedback


@pytest.mark.parametrize("level", LEVELS)
def test_fork_bomb_is_limited(tmp_path, context, level):
    """A fork bomb cannot start: the function's process has no fork (and still runs under the
    process limit it was given, RLIMIT_NPROC = the context's 64, for what else might create one)."""
    body = ("import os, resource\n"
            "children, error = 0, None\n"
            "try:\n"
            "    while children < 200:\n"
            "        if os.fork() == 0:\n"
            "            import time; time.sleep(60); os._exit(0)\n"
            "        children += 1\n"
            "except BaseException as exc:\n"
            "    error = type(exc).__name__\n"
            "raise ValueError(f'FORKED {children} ERROR {error} NPROC {resource.getrlimit(resource.RLIMIT_NPROC)}')")
    result = grade_attack(tmp_path, context, level, conv2d_body=body)
    found = re.search(r"FORKED (\d+) ERROR (\w+) NPROC \((\d+), (\d+)\)", result.exercises[0].feedback)
    assert found, result.exercises[0].feedback
    children, error, soft, hard = int(found[1]), found[2], int(found[3]), int(found[4])
    assert (children, error) == (0, "SandboxRefusal")
    if level == "rlimits" and os.geteuid() == 0 and not sandbox.others_can_run_python():
        return  # student code runs as root here, where no RLIMIT_NPROC is set (root ignores it)
    assert (soft, hard) == (context.limits.processes, context.limits.processes) == (64, 64)


@pytest.mark.parametrize("level", LEVELS)
def test_killing_the_server(tmp_path, context, level):
    """conv2d is right but first SIGKILLs its parent, the submission's supervisor. Running under
    an unprivileged uid of its own the signal is refused and conv2d earns full marks; sharing the
    supervisor's uid (the rlimits fallback as root here, or grading as a normal user) the kill
    costs only this function, with the reason. (In the rlimits fallback student code could also
    signal the grader itself; doctor says so.)"""
    body = ("import os, signal\n"
            "try:\n"
            "    os.kill(os.getppid(), signal.SIGKILL)\n"
            "except OSError:\n"
            "    pass\n"
            + CORRECT_CONV2D)
    result = grade_attack(tmp_path, context, level, conv2d_body=body)
    conv2d = result.exercises[0]
    if os.geteuid() == 0 and (level == "bubblewrap" or sandbox.others_can_run_python()):
        assert conv2d.score == 8, conv2d.feedback
    else:
        assert conv2d.score == 0 and "no result: the grader's worker was lost while it ran (the submission's " \
            "supervisor was lost while conv2d ran)" in conv2d.feedback, conv2d.feedback


@pytest.mark.parametrize("level", LEVELS)
def test_memory_hog_is_stopped(tmp_path, context, level):
    """1 GB of address space (RLIMIT_AS) runs out long before the 4 s time limit: a MemoryError."""
    body = "hog = []\nwhile True:\n    hog.append(bytearray(100_000_000))"
    result = grade_attack(tmp_path, context, level, conv2d_body=body)
    conv2d = result.exercises[0]
    # the first case ends in a MemoryError (later ones may run out of the function's time)
    assert conv2d.score == 0 and "6x6 arange with the 3x3 box: raised MemoryError" in conv2d.feedback, conv2d.feedback


@pytest.mark.parametrize("level", LEVELS)
def test_student_code_runs_unprivileged_when_grading_as_root(tmp_path, context, level):
    if os.geteuid() != 0:
        pytest.skip("only meaningful when the grader runs as root")
    if level == "rlimits" and not sandbox.others_can_run_python():
        pytest.skip("an unprivileged uid cannot reach this Python installation; doctor warns about it")
    body = "import os\nraise ValueError(f'UID={os.getuid()} EUID={os.geteuid()}')"
    result = grade_attack(tmp_path, context, level, conv2d_body=body)
    uid = int(result.exercises[0].feedback.split("UID=")[1].split()[0])
    assert uid in PRIVATE_UIDS and f"EUID={uid}" in result.exercises[0].feedback


def test_doctor_names_the_level_in_force():
    report = sandbox.doctor()
    assert report.startswith(f"sandbox level: {sandbox.level()}")
    if sandbox.level() == "rlimits":
        assert "WARNING" in report and "NETWORK" in report


def test_doctor_says_which_guarantees_hold_without_bubblewrap(monkeypatch):
    """The rlimits level cannot hide the host's files: doctor says what still holds there (the
    removals inside each process) and what needs bubblewrap."""
    monkeypatch.setenv("AUTOGRADER_SANDBOX", "rlimits")
    lines = sandbox.doctor().splitlines()
    assert lines[0] == "sandbox level: rlimits"
    assert "  [holds] NumPy's compiled convolutions are removed from every process (np.convolve/np.correlate raise)" \
        in lines
    assert ("  [NOT HERE] only the standard library (without ctypes) and NumPy on the file system: no SciPy, torch, "
            "TensorFlow, no other Python package") in lines
    assert "  [NOT HERE] no view of source/, the gradebook, the grader's cases or other submissions" in lines
    if sandbox.bwrap_works():
        monkeypatch.setenv("AUTOGRADER_SANDBOX", "bubblewrap")
        wrapped = sandbox.doctor().splitlines()
        assert [line for line in wrapped if "NOT HERE" in line and "uid of its own" not in line] == [], wrapped


@BWRAP
def test_the_sibling_proxy_never_answers_for_the_function_being_graded(tmp_path, context):
    """convolve2d rewrites its conv2d proxy (its one declared edge) so it asks for convolve2d
    itself: the sandbox's supervisor refuses a call off the declared edges."""
    sections = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")
    sections["convolve2d"] = ("def convolve2d(image, kernel):\n"
                              "    proxy = globals()['conv2d']\n"
                              "    cells = dict(zip(proxy.__code__.co_freevars, proxy.__closure__))\n"
                              "    cells['name'].cell_contents = 'convolve2d'\n"
                              "    return proxy(image, kernel[::-1, ::-1])\n")
    path = tmp_path / "proxy.ipynb"
    nbformat.write(build_submission("ps1", sections), path)
    with WorkerServer("bubblewrap") as server:
        result = grading.grade(context, Submission("mallory", path), server)
    scores = {e.name: e.score for e in result.exercises}
    assert scores["conv2d"] == 8 and scores["convolve2d"] == 0 and scores["conv1d"] == 5
    assert "'convolve2d' cannot be called through the grader here" in result.exercises[1].feedback


@pytest.mark.parametrize("level", LEVELS)
def test_a_later_function_cannot_rewrite_an_earlier_ones_results(tmp_path, context, level):
    """conv1d runs last; it writes protocol messages claiming conv2d's cases (with zeros) to every
    open descriptor. The grader only believes the function that is running."""
    sections = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")
    sections["conv1d"] = (
        "def conv1d(signal, kernel, mode='full'):\n"
        "    import json, os, struct\n"
        "    fake = {'kind': 'returned', 'value': None, 'digests': [], 'forbidden': [], 'seconds': 0}\n"
        "    for fd in range(3, 64):\n"
        "        for message in ({'t': 'end', 'fn': 'conv1d', 'status': 'ok', 'detail': ''},\n"
        "                        {'t': 'start', 'fn': 'conv2d'},\n"
        "                        *({'t': 'case', 'fn': 'conv2d', 'i': i, 'outcome': fake} for i in range(40))):\n"
        "            data = json.dumps(message).encode()\n"
        "            try:\n"
        "                os.write(fd, struct.pack('>Q', len(data)) + data)\n"
        "            except OSError:\n"
        "                pass\n"
        "    return np.zeros(1)\n")
    path = tmp_path / "forger.ipynb"
    nbformat.write(build_submission("ps1", sections), path)
    with WorkerServer(level) as server:
        result = grading.grade(context, Submission("forger", path), server)
    scores = {e.name: e.score for e in result.exercises}
    assert scores["conv2d"] == 8 and scores["convolve2d"] == 4 and scores["conv1d"] == 0, result.exercises


@pytest.mark.parametrize("level", LEVELS)
def test_student_code_does_not_get_the_graders_environment(tmp_path, context, level, monkeypatch):
    """A variable only the grader's environment holds is not visible to student code, in os.environ
    or in the output it prints."""
    name, value = f"AUTOGRADER_TEST_SECRET_{secrets.token_hex(6).upper()}", secrets.token_hex(16)
    monkeypatch.setenv(name, value)
    body = ("import os\n"
            "print(dict(os.environ))\n"
            "raise ValueError('ENVIRONMENT ' + ' '.join(f'{k}={v}' for k, v in os.environ.items() "
            "if k.startswith('AUTOGRADER_TEST_SECRET') or k == 'PATH'))")
    result = grade_attack(tmp_path, context, level, conv2d_body=body)
    conv2d = result.exercises[0].feedback
    assert "raised ValueError: ENVIRONMENT PATH=/usr/bin:/bin" in conv2d, conv2d  # the code ran and reported
    assert name not in conv2d and value not in str(result)


@pytest.mark.parametrize("level", LEVELS)
def test_grading_without_bubblewrap_warns_that_nothing_is_contained(course, level):
    """`grade --sandbox rlimits` prints the warning line on stderr; under bubblewrap there is none."""
    from tests.conftest import run_grader

    (course / "submitted").mkdir()
    done = run_grader(course, "grade", "ps1", "--sandbox", level)
    assert done.returncode == 0 and "nothing to grade" in done.stderr, done.stderr
    warning = "warning: " + sandbox.NOT_CONTAINED
    if level == "rlimits":
        assert warning in done.stderr.splitlines(), done.stderr
        for words in ("can READ any file this user can read", "open NETWORK connections", "apt-get install bubblewrap"):
            assert words in warning
    else:
        assert sandbox.NOT_CONTAINED not in done.stderr and "warning" not in done.stderr, done.stderr
