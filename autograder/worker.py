"""The process that runs student code. Standard library and NumPy only.

This file is the only part of the grader that is visible inside the sandbox: it is bind-mounted
read-only and started as ``python -I worker.py serve``. It never sees a reference solution, a
hidden expected output or the gradebook; it receives cell sources and case *inputs*, and answers
with plain data (JSON and ``.npy`` bytes, decoded by the grader with ``allow_pickle=False``).

Process tree for one submission (every box is a separate process)::

    server (forked once, pays interpreter + NumPy start-up once; never runs student code)
      └─ submission: executes the notebook's cells, then for each graded function
           └─ function: calls it on every case and streams one message per case

A crash, ``os._exit``, a timeout or a memory error in one function's process leaves the other
functions' results intact. When a submission ends the server kills every process it left behind.

The module is also imported by the grading process (for :func:`call_traced`, the wire encoding and
the list of ready-made convolutions) and by :mod:`autograder.notebook_checks` in nbgrader's kernel.
"""

from __future__ import annotations

import base64
import builtins
import hashlib
import io
import json
import os
import resource
import select
import signal
import struct
import sys
import threading
import time
import traceback

import numpy as np

PROTOCOL = 1
MAX_FRAME = 64 * 1024 * 1024  # bytes in one message
MAX_ITEMS = 10_000  # items in a returned tuple or list
OUTPUT_CAP = 1024 * 1024  # bytes of stdout/stderr a submission may write (RLIMIT_FSIZE)

# ---------------------------------------------------------------------------------------------
# Wire format: 8-byte big-endian length, then a UTF-8 JSON document. Arrays travel as .npy bytes.
# ---------------------------------------------------------------------------------------------


def encode(value, depth=0):
    """Turn a value into JSON-compatible data without running any method of a foreign object."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return {"__float__": repr(value)}
    if kind is complex:
        return {"__complex__": [repr(value.real), repr(value.imag)]}
    if isinstance(value, np.ndarray):
        array = np.array(value, copy=True, subok=False)
        if array.dtype.hasobject:
            return {"__object__": f"ndarray of dtype {array.dtype}"}
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return {"__ndarray__": base64.b64encode(buffer.getvalue()).decode("ascii")}
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return {"__npscalar__": encode(np.asarray(value))["__ndarray__"]}
    if kind in (tuple, list) and depth < 4 and len(value) <= MAX_ITEMS:
        return {"__" + kind.__name__ + "__": [encode(item, depth + 1) for item in value]}
    if kind is dict and depth < 4 and all(type(k) is str for k in value):
        return {"__dict__": {k: encode(v, depth + 1) for k, v in value.items()}}
    # Anything else (a subclass with a lying __eq__, a generator, a student class...) is
    # described by its type's name only; the grader rejects it.
    return {"__object__": f"{kind.__module__}.{kind.__qualname__}"}


def decode(data):
    """Inverse of :func:`encode`. Arrays are loaded with ``allow_pickle=False``."""
    if isinstance(data, list):
        raise ValueError("bare list on the wire")
    if not isinstance(data, dict):
        return data
    ((tag, payload),) = data.items()
    if tag == "__float__":
        return float(payload)
    if tag == "__complex__":
        return complex(float(payload[0]), float(payload[1]))
    if tag == "__ndarray__":
        return np.load(io.BytesIO(base64.b64decode(payload)), allow_pickle=False)
    if tag == "__npscalar__":
        return np.load(io.BytesIO(base64.b64decode(payload)), allow_pickle=False)[()]
    if tag == "__tuple__":
        return tuple(decode(item) for item in payload)
    if tag == "__list__":
        return [decode(item) for item in payload]
    if tag == "__dict__":
        return {key: decode(value) for key, value in payload.items()}
    if tag == "__object__":
        return Foreign(str(payload))
    raise ValueError(f"unknown tag {tag!r} on the wire")


class Foreign:
    """A returned object the worker would not serialize; only its type name survives."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} object>"


# Private references, taken before any student code runs: patching json.dumps, os.write or a
# builtin in a notebook cell must not break the worker's own reporting.
_dumps, _write, _pack = json.dumps, os.write, struct.pack
_BUILTINS = dict(vars(builtins))


def restore_builtins():
    """Undo a submission's changes to the builtins (isinstance = lambda *a: True, ...)."""
    current = vars(builtins)
    for name, value in _BUILTINS.items():
        if current.get(name) is not value:
            current[name] = value


def write_frame(fd, message):
    data = _dumps(message, allow_nan=True).encode("utf-8")
    frame = _pack(">Q", len(data)) + data
    view = memoryview(frame)
    while view:
        written = _write(fd, view)
        view = view[written:]


def read_exact(fd, size):
    chunks, remaining = [], size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(fd):
    """Read one message; None at end of stream. Raises ValueError on a malformed frame."""
    header = read_exact(fd, 8)
    if header is None:
        return None
    (size,) = struct.unpack(">Q", header)
    if size > MAX_FRAME:
        raise ValueError(f"message of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    body = read_exact(fd, size)
    if body is None:
        raise ValueError("stream ended inside a message")
    message = json.loads(body.decode("utf-8"))
    if not isinstance(message, dict):
        raise ValueError("message is not a JSON object")
    return message


def digest(value):
    """A content hash of an array argument, to detect inputs modified in place."""
    if not isinstance(value, np.ndarray):
        return None
    array = np.ascontiguousarray(value)
    return hashlib.sha256(str((array.dtype.str, array.shape)).encode() + array.tobytes()).hexdigest()


# ---------------------------------------------------------------------------------------------
# The from-scratch rule: a profiler hook sees every Python and C function a graded call reaches,
# however the routine was imported, aliased or wrapped before the call.
# ---------------------------------------------------------------------------------------------

#: Source folders whose code may not run inside a from-scratch function.
FORBIDDEN_PACKAGES = ("scipy.signal", "scipy.ndimage", "torch", "tensorflow", "jax", "cupy")
#: Python-level NumPy routines that already are a convolution.
FORBIDDEN_NUMPY = ("convolve", "correlate")

_PATH_MARKERS = tuple(
    os.sep + package.replace(".", os.sep) + os.sep for package in FORBIDDEN_PACKAGES
)
_NUMPY_SOURCE = os.sep + os.path.join("numpy", "_core", "numeric.py")
#: Foreign-function interfaces: code reached through them cannot be checked.
_FFI_MARKERS = (os.sep + "ctypes" + os.sep, os.sep + "cffi" + os.sep)
_setprofile = sys.setprofile
_getprofile = sys.getprofile
_real_time = time.perf_counter


def _c_forbidden():
    """C functions that are convolutions, keyed by id."""
    table = {}
    multiarray = sys.modules.get("numpy._core.multiarray")
    for name in ("correlate", "correlate2"):
        routine = getattr(multiarray, name, None)
        if routine is not None:
            table[id(routine)] = f"numpy.{name} (numpy._core.multiarray.{name})"
    return table


_C_FORBIDDEN = _c_forbidden()
_C_TAMPER = {
    id(sys.setprofile): "sys.setprofile",
    id(sys.settrace): "sys.settrace",
    id(threading.setprofile): "threading.setprofile",
    id(threading.settrace): "threading.settrace",
}
for _name in ("fork", "forkpty", "posix_spawn", "posix_spawnp", "execv", "execve", "system"):
    if hasattr(os, _name):
        _C_TAMPER[id(getattr(os, _name))] = f"os.{_name} (another process)"
try:
    import _posixsubprocess

    _C_TAMPER[id(_posixsubprocess.fork_exec)] = "a subprocess"
except ImportError:  # pragma: no cover - not on POSIX
    pass
try:
    import _thread

    _C_TAMPER[id(_thread.start_new_thread)] = "a new thread"
    if hasattr(_thread, "start_joinable_thread"):
        _C_TAMPER[id(_thread.start_joinable_thread)] = "a new thread"
except ImportError:  # pragma: no cover
    pass


def _forbidden_module(module):
    return bool(module) and any(
        module == package or module.startswith(package + ".") for package in FORBIDDEN_PACKAGES
    )


class Tracer:
    """Profiler hook recording ready-made convolutions and attempts to escape the hook."""

    def __init__(self):
        self.hits = []
        self._files = {}

    def _note(self, what):
        if what not in self.hits and len(self.hits) < 20:
            self.hits.append(what)

    def _forbidden_file(self, filename):
        verdict = self._files.get(filename)
        if verdict is None:
            verdict = any(marker in filename for marker in _PATH_MARKERS)
            self._files[filename] = verdict
        return verdict

    def _entered_from_outside(self, frame):
        """A call into a forbidden package made by other code (not its own import machinery)."""
        if frame.f_code.co_name == "<module>":
            return False  # importing is not using
        caller = frame.f_back
        if caller is None:
            return True
        name = caller.f_code.co_filename
        return not (self._forbidden_file(name) or name.startswith("<frozen importlib"))

    def __call__(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            filename = code.co_filename
            verdict = self._forbidden_file(filename)
            if verdict and self._entered_from_outside(frame):
                module = frame.f_globals.get("__name__", filename)
                self._note(f"{module}.{code.co_name}")
            elif filename.endswith(_NUMPY_SOURCE) and code.co_name in FORBIDDEN_NUMPY:
                self._note(f"numpy.{code.co_name}")
            elif any(marker in filename for marker in _FFI_MARKERS):
                self._note("ctypes/cffi (the grader cannot check foreign code)")
        elif event == "c_call":
            key = id(arg)
            if key in _C_FORBIDDEN:
                self._note(_C_FORBIDDEN[key])
            elif key in _C_TAMPER and frame.f_code is not _OWN_CODE:
                self._note(f"{_C_TAMPER[key]} (the grader cannot check work done there)")
            elif _forbidden_module(getattr(arg, "__module__", None)):
                self._note(f"{arg.__module__}.{getattr(arg, '__name__', '?')}")


def call_traced(function, args, kwargs, trace=True):
    """Call ``function(*args, **kwargs)`` and describe what happened as plain data.

    Returns a dict with ``kind`` ("returned" or "raised"), the encoded ``value`` or the exception's
    class names (``exc_types``, most specific first) and ``message``, the ``digests`` of the
    array arguments after the call (to detect in-place modification), the ready-made routines and
    hook escapes seen during the call (``forbidden``) and the wall ``seconds``.
    """
    tracer = Tracer() if trace else None
    start = _real_time()
    try:
        if tracer is not None:
            _setprofile(tracer)
        try:
            value = function(*args, **kwargs)
        finally:
            if tracer is not None:
                if _getprofile() is not tracer:
                    tracer._note("the profiler hook was replaced during the call")
                _setprofile(None)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are answers too
        outcome = {
            "kind": "raised",
            "exc_types": [cls.__name__ for cls in type(exc).__mro__][:8],
            "message": _safe_str(exc)[:2000],
        }
    else:
        outcome = {"kind": "returned", "value": encode(value)}
    outcome["seconds"] = _real_time() - start
    outcome["digests"] = [digest(a) for a in args] + [digest(kwargs[k]) for k in sorted(kwargs)]
    outcome["forbidden"] = tracer.hits if tracer is not None else []
    return outcome


_OWN_CODE = call_traced.__code__


def _safe_str(exc):
    try:
        text = str(exc)
    except BaseException:  # noqa: BLE001 - a student's exception may raise in __str__
        text = "<unprintable message>"
    return text if isinstance(text, str) else "<non-string message>"


# ---------------------------------------------------------------------------------------------
# Running a submission
# ---------------------------------------------------------------------------------------------


def _apply_limits(limits):
    """rlimits for a submission process and everything it starts."""
    if limits.get("memory_bytes"):
        resource.setrlimit(resource.RLIMIT_AS, (limits["memory_bytes"],) * 2)
    if limits.get("cpu_seconds"):
        seconds = int(limits["cpu_seconds"])
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_CAP, OUTPUT_CAP))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if limits.get("processes") and os.getuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)


class CellTimeout(BaseException):
    """Raised in a cell that runs past its time limit (a BaseException so bare excepts miss it)."""


def _on_alarm(signum, frame):
    raise CellTimeout()


def _exec_cells(cells, namespace, cell_seconds, out_fd=None, ack_fd=None):
    errors = []
    signal.signal(signal.SIGALRM, _on_alarm)
    for index, source in enumerate(cells):
        if out_fd is not None and ack_fd is not None:
            # Announce the cell and wait until the server has passed that on: if the cell kills
            # this process or the server, the grader knows which cell to skip when it retries.
            write_frame(out_fd, {"t": "cell", "i": index})
            if read_frame(ack_fd) is None:
                os._exit(75)
        try:
            code = compile(source, f"<cell {index}>", "exec")
        except SyntaxError as exc:
            errors.append({"cell": index, "type": "SyntaxError", "message": str(exc)[:500]})
            continue
        signal.setitimer(signal.ITIMER_REAL, cell_seconds)
        try:
            exec(code, namespace)  # noqa: S102 - this is the point of the worker
        except CellTimeout:
            errors.append({"cell": index, "type": "Timeout",
                           "message": f"the cell ran longer than {cell_seconds:g} s"})
        except BaseException as exc:  # noqa: BLE001 - a cell that fails is reported, not fatal
            errors.append({"cell": index, "type": type(exc).__name__,
                           "message": _safe_str(exc)[:500]})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return errors


#: Built-in exceptions a proxied reference call may raise in the student's process.
_PROXY_ERRORS = {"ValueError": ValueError, "TypeError": TypeError}


def _proxy(name, out_fd, reply_fd):
    """Stand-in for another graded function: the grader answers with the reference's result, so
    a function is judged on its own even when it calls a (buggy or missing) sibling. The reference
    itself never enters this process; only its answers to these calls do."""

    def call(*args, **kwargs):
        write_frame(out_fd, {"t": "call", "fn": name, "args": [encode(a) for a in args],
                             "kwargs": {k: encode(v) for k, v in kwargs.items()}})
        reply = read_frame(reply_fd)
        if not reply or reply.get("t") != "reply":
            raise RuntimeError(f"the grader did not answer the call to {name}")
        outcome = reply["outcome"]
        if outcome["kind"] == "raised":
            error = _PROXY_ERRORS.get(outcome["exc_types"][0], RuntimeError)
            raise error(outcome["message"])
        return decode(outcome["value"])

    call.__name__ = call.__qualname__ = name
    return call


def _run_function(spec, namespace, out_fd, reply_fd=None):
    """In the function's own process: call it on every case, one message per case."""
    name = spec["name"]
    function = namespace.get(name)
    if reply_fd is not None:
        for sibling in spec.get("proxies", []):
            namespace[sibling] = _proxy(sibling, out_fd, reply_fd)
    if not callable(function):
        write_frame(out_fd, {"t": "missing", "fn": name})
        return
    for index, case in enumerate(spec["cases"]):
        args = [decode(a) for a in case["args"]]
        kwargs = {k: decode(v) for k, v in case.get("kwargs", {}).items()}
        outcome = call_traced(function, args, kwargs, trace=spec.get("trace", True))
        write_frame(out_fd, {"t": "case", "fn": name, "i": index, "outcome": outcome})


def _wait(pid, deadline):
    """Wait for a child until `deadline`; kill it then. Returns (how, detail)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "timeout", "did not finish within its time limit"
        time.sleep(0.002)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        reason = {signal.SIGKILL: "killed (memory or CPU limit?)", signal.SIGXCPU: "CPU limit",
                  signal.SIGSEGV: "segmentation fault"}.get(sig, signal.Signals(sig).name)
        return "crashed", f"the process died: {reason}"
    code = os.WEXITSTATUS(status)
    if code != 0:
        return "exited", f"the process exited with status {code} (sys.exit or os._exit?)"
    return "ok", ""


def _run_submission(job, out_fd, reply_fd=None):
    """In the submission's process: execute cells, then each function in its own child."""
    _apply_limits(job.get("limits", {}))
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    errors = _exec_cells(job["cells"], namespace, job.get("cell_seconds", 10), out_fd, reply_fd)
    restore_builtins()
    write_frame(out_fd, {"t": "cells", "errors": errors})
    for spec in job["functions"]:
        write_frame(out_fd, {"t": "start", "fn": spec["name"]})
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _die_with_parent()
                _run_function(spec, namespace, out_fd, reply_fd)
            except BaseException:  # noqa: BLE001
                code = 70
                traceback.print_exc()
            finally:
                os._exit(code)
        how, detail = _wait(pid, time.monotonic() + spec.get("seconds", 10))
        write_frame(out_fd, {"t": "end", "fn": spec["name"], "status": how, "detail": detail})


def _kill_leftovers(own_pid_namespace):
    """Kill every process this server's submissions left behind."""
    if own_pid_namespace:
        # In a private pid namespace everything except us (and bwrap's init) is the submission's.
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            pass
    me = os.getpid()
    for _ in range(50):
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as handle:
                    stat = handle.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == me:
                children.append(int(entry))
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _relay(read_fd, deadline, out, in_fd=None, reply_fd=None):
    """Forward the submission's messages until it closes its pipe or the deadline passes, and
    the grader's replies (to proxied calls) back down to the submission."""
    watched = [read_fd] + ([in_fd] if in_fd is not None else [])
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "timeout"
        ready, _, _ = select.select(watched, [], [], min(remaining, 1.0))
        if not ready:
            continue
        if in_fd in ready:
            reply = read_frame(in_fd)
            if reply is None:
                return "grader gone"
            try:
                write_frame(reply_fd, reply)
            except OSError:
                pass  # the function's process is gone or not listening: its problem
            if read_fd not in ready:
                continue
        try:
            message = read_frame(read_fd)
        except (ValueError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            write_frame(out, {"t": "corrupt", "detail": str(exc)[:300]})
            return "corrupt"
        if message is None:
            return "ok"
        write_frame(out, message)
        if message.get("t") == "cell" and reply_fd is not None:
            try:
                write_frame(reply_fd, {"t": "ack"})
            except OSError:
                pass


def _grow_pipe(fd):
    """Room for a whole reply in the pipe, and never block the server on a student who stops reading."""
    try:
        import fcntl

        fcntl.fcntl(fd, 1031, 1 << 20)  # F_SETPIPE_SZ
        os.set_blocking(fd, False)
    except OSError:
        pass


def _prepare_child(job_dir, drop_to):
    """Detach a submission from the server's channels: stdin empty, output into a capped file,
    and (when the server runs as root) no privileges: student code runs as `drop_to`."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    sink = os.open(os.path.join(job_dir, "output.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(sink, 1)
    os.dup2(sink, 2)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the cap fail instead of killing
    if drop_to is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(drop_to, drop_to, drop_to)
        os.setresuid(drop_to, drop_to, drop_to)
        if os.getuid() == 0 or os.geteuid() == 0:
            raise RuntimeError("could not drop root privileges")
    _die_with_parent()


def _die_with_parent():
    """If the process above us dies (a killed server), so do we (set after any uid change)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def serve(in_fd=0, out_fd=1, own_pid_namespace=False, drop_to=None):
    """The server loop: one job in, a stream of messages out, per submission."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans come back to us
    except (OSError, AttributeError):
        pass
    out = os.dup(out_fd)
    os.dup2(os.open(os.devnull, os.O_WRONLY), out_fd)  # a stray print must not corrupt the stream
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    write_frame(out, {"t": "ready", "protocol": PROTOCOL, "pid": os.getpid()})
    workdir = os.environ.get("AUTOGRADER_WORKDIR") or "/tmp"
    while True:
        job = read_frame(in_fd)
        if job is None:
            return
        job_dir = os.path.join(workdir, f"job-{os.getpid()}")
        os.makedirs(job_dir, exist_ok=True)
        os.chmod(job_dir, 0o777)  # private to this server (its own /tmp), writable after the drop
        read_end, write_end = os.pipe()
        reply_read, reply_write = os.pipe()
        _grow_pipe(reply_write)
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            os.close(reply_write)
            os.close(out)
            os.close(in_fd)
            code = 0
            try:
                os.chdir(job_dir)
                _prepare_child(job_dir, drop_to)
                _run_submission(job, write_end, reply_read)
            except BaseException:  # noqa: BLE001
                code = 70
            finally:
                os._exit(code)
        os.close(write_end)
        os.close(reply_read)
        how = _relay(read_end, time.monotonic() + job.get("deadline", 120), out, in_fd, reply_write)
        os.close(read_end)
        os.close(reply_write)
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        _kill_leftovers(own_pid_namespace)
        output = ""
        try:
            with open(os.path.join(job_dir, "output.txt"), "rb") as handle:
                output = handle.read(4000).decode("utf-8", "replace")
        except OSError:
            pass
        _clear(job_dir)
        write_frame(out, {"t": "done", "status": how, "output": output})


def _clear(folder):
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            try:
                os.unlink(os.path.join(root, name))
            except OSError:
                pass
        for name in dirs:
            try:
                os.rmdir(os.path.join(root, name))
            except OSError:
                pass


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["serve"]:
        print("usage: worker.py serve [--pid-namespace] [--drop-to UID]", file=sys.stderr)
        return 2
    drop_to = int(argv[argv.index("--drop-to") + 1]) if "--drop-to" in argv else None
    # Warm the interpreter once: forked submissions inherit it.
    import numpy.fft  # noqa: F401
    import numpy.lib.stride_tricks  # noqa: F401

    serve(own_pid_namespace="--pid-namespace" in argv, drop_to=drop_to)
    return 0


if __name__ == "__main__":
    sys.exit(main())
