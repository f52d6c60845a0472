"""How student code is contained: the command that starts a worker server.

Two levels:

``bubblewrap``
    The server runs under ``bwrap``: its own pid, network, IPC and UTS namespaces (no network at
    all), a read-only view of the system and the Python installation only (no course tree, no
    ``source/``, no gradebook, no other submission; of the grader only the in-sandbox modules
    listed in INSIDE: no cases, no reference, no launch or policy code), a private
    ``/tmp``, a clean environment, and death with the grader. As root, bwrap keeps only
    CAP_SETUID/SETGID/KILL and every submission drops to an unprivileged uid before running, so
    rlimits on processes apply and student code holds no privilege.
    (Each graded function's process gets a uid of its own, so a fork bomb in one
    submission cannot exhaust the process limit of the others.)
``rlimits``
    Without bubblewrap: a separate process with rlimits, a scrubbed environment and a temporary
    working directory (and an unprivileged uid when grading as root). Student code can still read files the
    grading user can read, and can open network connections. A warning says so.

Both levels apply per submission: memory (RLIMIT_AS), CPU time, processes, file size and output
volume limits, and a kill of every process the submission started when it ends.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.course import CourseError
from autograder.sandbox import environment, seccomp

PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent  # the folder holding autograder/
#: The only grader modules the sandbox sees (standard library and NumPy only).
INSIDE = ("autograder/__init__.py", "autograder/sandbox/__init__.py", "autograder/sandbox/wire.py",
          "autograder/sandbox/tracer.py", "autograder/sandbox/child.py", "autograder/sandbox/server.py",
          "autograder/sandbox/removal.py", "autograder/sandbox/standins.py", "autograder/sandbox/ready_made.py")
SANDBOX_ROOT = environment.SANDBOX_ROOT
#: Bytes the sandbox's /tmp may hold (the private folders of the graded functions' processes).
SCRATCH_BYTES = 256 * 1024 * 1024


def _bootstrap(path: list[str]) -> str:
    """The server's first line: its ``sys.path`` is the standard library, NumPy and the in-sandbox
    modules only (the interpreter starts with ``-I -S``: no site-packages)."""
    return (f"import sys; sys.path[:] = {path!r}; "
            "from autograder.sandbox import removal; removal.refuse_foreign_imports(); "
            "from autograder.sandbox.server import main; sys.exit(main(sys.argv[1:]))")

NOT_CONTAINED = (
    "bubblewrap (bwrap) is not available: student code runs in separate processes that have no "
    "NumPy convolution, cannot load compiled code (no ctypes) and cannot start processes or threads, "
    "but it can READ any file this user can read (including source/ and the gradebook), IMPORT pure-Python "
    "packages installed here, open NETWORK connections, and write files outside its own folder. "
    "Install bubblewrap (Debian/Ubuntu: 'apt-get install bubblewrap'; Fedora: 'dnf install bubblewrap') to "
    "contain it."
)


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    level: str
    cleanup: str | None = None  # a temporary folder to remove when the server stops
    pass_fds: tuple[int, ...] = ()  # descriptors the launcher reads (the seccomp filter), closed once started


def _environment(home: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": home,
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AUTOGRADER_WORKDIR": home,
    }


@functools.lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """True when bubblewrap exists and can create the namespaces we ask for on this machine."""
    if shutil.which("bwrap") is None:
        return False
    try:
        probe = subprocess.run(
            ["bwrap", *(_system_binds()), "--proc", "/proc", "--dev", "/dev", "--unshare-all",
             "--die-with-parent", "/bin/true"],
            capture_output=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def level(requested: str = "auto") -> str:
    """The containment level in force: "bubblewrap" or "rlimits" ($AUTOGRADER_SANDBOX may choose
    for "auto")."""
    if requested == "auto":
        requested = os.environ.get("AUTOGRADER_SANDBOX", "auto")
        if requested not in ("auto", "bubblewrap", "rlimits"):
            raise CourseError(f"AUTOGRADER_SANDBOX must be auto, bubblewrap or rlimits, not {requested!r}")
    if requested == "rlimits":
        return "rlimits"
    if bwrap_works():
        return "bubblewrap"
    if requested == "bubblewrap":
        raise CourseError("--sandbox bubblewrap was requested but bwrap does not work here: " + NOT_CONTAINED)
    return "rlimits"


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib64", "lib32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def end_process_group(process: subprocess.Popen) -> None:
    """Kill a process started with start_new_session=True and everything it started, then reap it
    and close our ends of its pipes."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if process.poll() is None:  # not (yet) the leader of a group of its own: a fresh fork
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait()
    for stream in (process.stdin, process.stdout):
        if stream:
            stream.close()


def spawn_server(requested: str = "auto") -> tuple[Launch, subprocess.Popen]:
    """Start one worker server without waiting for it to be ready (see runner.WorkerServer)."""
    launch = server_launch(requested)
    try:
        process = subprocess.Popen(launch.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, env=launch.env, cwd=launch.cwd,
                                   start_new_session=True, pass_fds=launch.pass_fds)
    except OSError:
        if launch.cleanup:
            shutil.rmtree(launch.cleanup, ignore_errors=True)
        raise
    finally:
        for fd in launch.pass_fds:
            os.close(fd)
    return launch, process


def spawn_answerer(root: Path, assignment: str) -> subprocess.Popen:
    """Start the process that answers sibling calls with the reference (autograder.sibling_calls)."""
    return subprocess.Popen(
        [os.path.abspath(sys.executable), "-I", "-B", "-m", "autograder.sibling_calls", str(root), assignment],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)


@dataclass
class Warm:
    """Processes a grading run will need, started early so that their start-up overlaps the
    grader's own: the worker server (before the grader imports NumPy) and the sibling-call answerer
    (forked at the start of the run, autograder.sibling_calls.fork_answerer). Whoever uses one
    takes it; stop() ends the rest."""

    server: tuple[Launch, subprocess.Popen] | None = None
    answerer: subprocess.Popen | None = None  # or sibling_calls.Forked, which has Popen's handle

    def take_server(self) -> tuple[Launch, subprocess.Popen] | None:
        server, self.server = self.server, None
        return server

    def take_answerer(self) -> subprocess.Popen | None:
        answerer, self.answerer = self.answerer, None
        return answerer

    def stop(self) -> None:
        """End whatever nobody took."""
        if self.server is not None:
            launch, process = self.take_server()
            end_process_group(process)
            if launch.cleanup:
                shutil.rmtree(launch.cleanup, ignore_errors=True)
        if self.answerer is not None:
            end_process_group(self.take_answerer())


def warm_up(requested: str) -> Warm:
    """Start a worker server (the run forks its sibling-call answerer itself, once it has NumPy)."""
    return Warm(spawn_server(requested))


def server_launch(requested: str = "auto") -> Launch:
    """How to start one worker server at the requested level."""
    chosen = level(requested)
    python = environment.interpreter().executable  # the real binary, not a virtual environment's link
    root = os.geteuid() == 0
    if chosen == "bubblewrap":
        inside = [(str(PACKAGE_ROOT / name), f"{SANDBOX_ROOT}/{name}") for name in INSIDE]
        argv = ["bwrap", *environment.bwrap_mounts(inside), "--proc", "/proc", "--dev", "/dev",
                "--size", str(SCRATCH_BYTES), "--tmpfs", "/tmp", "--remount-ro", "/",
                "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--hostname", "sandbox", "--die-with-parent",
                "--new-session", "--clearenv", "--chdir", "/tmp"]
        env = _environment("/tmp")
        for key, value in env.items():
            argv += ["--setenv", key, value]
        if root:
            # to hand each function's process its own uid and folder, and to remove what it left
            argv += ["--cap-drop", "ALL", *(arg for cap in ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_CHOWN",
                                                             "CAP_DAC_OVERRIDE") for arg in ("--cap-add", cap))]
        argv += [python, "-I", "-S", "-B", "-c",
                 _bootstrap(environment.sandbox_path("bubblewrap", SANDBOX_ROOT)), "serve", "--pid-namespace"]
        if root:
            argv += ["--drop-privileges"]
        rules = seccomp.filter_fd()
        if rules is not None:
            argv[1:1] = ["--seccomp", str(rules)]
        return Launch(argv, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, "/", chosen,
                      pass_fds=(rules,) if rules is not None else ())
    home = tempfile.mkdtemp(prefix="autograder-worker-")
    os.chmod(home, 0o711)
    site = environment.numpy_only_site(home)
    argv = [python, "-I", "-S", "-B", "-c",
            _bootstrap(environment.sandbox_path("rlimits", str(PACKAGE_ROOT), site)), "serve"]
    if root and others_can_run_python():
        argv += ["--drop-privileges"]
    return Launch(argv, _environment(home), home, chosen, cleanup=home)


def others_can_run_python() -> bool:
    """Whether an unprivileged uid can reach the interpreter and packages (every parent folder o+x)."""
    for root in {sys.base_prefix, sys.prefix, os.path.realpath(sys.executable)}:
        path = Path(root)
        for folder in [path, *path.parents]:
            try:
                if folder.is_dir() and not os.stat(folder).st_mode & 0o001:
                    return False
            except OSError:
                return False
    return True


def process_limit() -> int:
    """RLIMIT_NPROC for a submission: what its uid already runs, plus room for honest code.
    As root every worker has a private uid that runs nothing else."""
    if os.geteuid() == 0:
        return 64
    uid = os.getuid()
    running = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    running += 1
            except OSError:
                continue
    return running + 64


def _guarantees(chosen: str, root: bool, own_uid: bool) -> list[tuple[bool, str]]:
    """What holds at this level, as (holds, what) pairs: the lines of `doctor`."""
    wrapped = chosen == "bubblewrap"
    return [
        (True, "NumPy's compiled convolutions are removed from every process (np.convolve/np.correlate raise)"),
        (environment.sealed_numpy_core() is not None,
         "their machine code is trap instructions in the sandbox's copy of NumPy's core (rewriting the process's "
         "memory finds no convolution)"),
        (True, "no compiled module can be loaded after start-up: no ctypes/cffi, no second copy of NumPy"),
        (True, "no new process, program or thread; no heap walk, trace hook or code object made of raw bytes"),
        (True, "one time budget for all of a notebook's cells; memory, CPU, file size and output limits"),
        (wrapped, "only the standard library (without ctypes) and NumPy on the file system: no SciPy, torch, "
                  "TensorFlow, no other Python package"),
        (wrapped, "no view of source/, the gradebook, the grader's cases or other submissions"),
        (wrapped, "no network; own pid, IPC and UTS namespaces; the grader cannot be seen or signalled"),
        (wrapped, "an empty private folder per graded function, in a size-limited /tmp, removed after it"),
        (wrapped and seccomp.available(), "the kernel refuses System V IPC, message queues, ptrace, new namespaces "
                                          "and mounts (seccomp): nothing outlives a process even for native code"),
        (own_uid, "each graded function's process runs as a uid of its own: it cannot write its own memory "
                  "(/proc/self/mem) or reach another process's files"
                  + ("" if root else " (needs the grader to run as root)")),
    ]


def doctor() -> str:
    """A report of the containment level in force and of which guarantees hold, for
    `python -m autograder doctor` (the rlimits level cannot hide the host's files)."""
    chosen = level()
    root = os.geteuid() == 0
    own_uid = root and (chosen == "bubblewrap" or others_can_run_python())
    lines = [f"sandbox level: {chosen}" + (f" ({shutil.which('bwrap')})" if chosen == "bubblewrap" else "")]
    lines += [f"  [{'holds' if holds else 'NOT HERE'}] {what}" for holds, what in _guarantees(chosen, root, own_uid)]
    if chosen != "bubblewrap":
        lines += ["  WARNING: " + NOT_CONTAINED]
    if not root:
        lines.append("  note: not root, so all workers share your uid's process limit")
    elif not own_uid:
        lines.append("  WARNING: grading as root and an unprivileged uid cannot reach this Python installation, so "
                     "without bubblewrap student code runs AS ROOT")
    return "\n".join(lines)
