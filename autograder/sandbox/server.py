"""The server that runs inside the sandbox, and the supervisor of one submission.
Standard library and NumPy only; started as ``python -I -B -c <bootstrap> serve``.

Process tree (every box a separate process; only the leaves run student code)::

    server (started once per grading worker; pays interpreter + NumPy start-up once)
      └─ supervisor (one per submission: reads the job, relays, decides every status)
           └─ one process per graded function, forked before any case exists here: runs the
              cells afresh, then receives its own function's cases only

The server never reads a job: the supervisor does, so nothing of one submission stays in the
process the next one is forked from. The supervisor is not dumpable (a same-uid process cannot read
its memory or descriptors) and holds the only channel to the grader; a function's process holds
one pipe pair, created for it. What that process writes is a claim: values are judged against the
reference, and whether the function started, ended, timed out or crashed is decided here, from
its exit status and the supervisor's own clock.
"""

from __future__ import annotations

import mmap
import os
import secrets
import select
import signal
import sys
import time

import numpy as np

from autograder.sandbox import child, removal, wire

MAX_FRAMES = 20_000  # frames one function's process may write
MAX_BYTES = 16 * 1024 * 1024  # bytes one function's process may write
FUNCTION_FRAME = child.FUNCTION_FRAME  # bytes of one frame of a function's process (its own runner keeps under)
MAX_CALLS = 5_000  # sibling calls one function may make
SHARED_BYTES = 8 * 1024 * 1024  # the inputs of the cases whose unchanged inputs are judged
MAX_SKIPPED_CELLS = 3
GRADER_PATIENCE = 120  # seconds to wait for the grader's cases
#: Grading as root, each graded function's process runs as a uid of its own from this range (chosen
#: at random, so that no two processes of any submission share one).
PRIVATE_UIDS = range(1_500_000_000, 2_000_000_000)


class GraderGone(Exception):
    """The grader closed its end: nothing left to do."""


def _children_of(parents: set[int]) -> list[int]:
    """The living or unreaped children of `parents`, from the kernel's per-thread children lists
    (a handful of reads), or by scanning every process when the kernel has no such lists."""
    found = []
    for parent in parents:
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                fd = os.open(f"/proc/{parent}/task/{task}/children", os.O_RDONLY)
            except FileNotFoundError:
                return _scan_children(parents)  # kernel without CONFIG_PROC_CHILDREN
            except OSError:
                continue
            try:
                chunks = []
                while chunk := os.read(fd, 65536):
                    chunks.append(chunk)
            finally:
                os.close(fd)
            found += [int(pid) for pid in b"".join(chunks).split()]
    return found


def _scan_children(parents: set[int]) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) in parents:
            found.append(int(entry))
    return found


def _threads(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 1


def kill_children(spare=frozenset()):
    """Kill and reap every child of this process (orphans come back to us) except `spare`."""
    me = os.getpid()
    for _ in range(50):
        victims = [pid for pid in _children_of({me}) if pid not in spare]
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in victims:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def _exit_status(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        reason = {signal.SIGKILL: "killed (memory or CPU limit?)", signal.SIGXCPU: "CPU limit",
                  signal.SIGSEGV: "segmentation fault"}.get(sig, signal.Signals(sig).name)
        return "crashed", f"the process died: {reason}"
    code = os.WEXITSTATUS(status)
    if code != 0:
        return "exited", f"the process exited with status {code} (sys.exit or os._exit?)"
    return "ok", ""


class Function:
    """One graded function's process, seen from the supervisor."""

    def __init__(self, supervisor, spec):
        self.spec = spec
        self.name = spec["name"]
        token = secrets.token_hex(16)
        # An empty folder of its own, which no other process of any submission can see, and (as
        # root) a uid that nothing else uses: what it leaves is removed when it ends.
        self.uid = None if supervisor.drop_to is None else PRIVATE_UIDS.start + secrets.randbelow(len(PRIVATE_UIDS))
        self.scratch = os.path.join(supervisor.scratch_root, token)  # made when its turn comes
        self.output = os.path.join(supervisor.job_dir, f"output-{token}.txt")
        # Shared with the process: the inputs of the cases that judge whether it changes its inputs
        # live here, so the supervisor sees for itself what the function did to them.
        self.shared = mmap.mmap(-1, SHARED_BYTES)
        self.placed: dict[int, list] = {}  # case -> [(argument position, dtype, shape, offset, bytes) or None]
        self.used = 0  # bytes of the shared memory in use
        down_r, self.down = os.pipe()
        self.up, up_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(self.down)
                os.close(self.up)
                child.detach(self.output, self.uid, keep={down_r, up_w})
                child.run(supervisor.job, spec, supervisor.holders, self.scratch, self.shared, down_r, up_w)
            finally:
                os._exit(70)
        self.pid = pid
        supervisor.report_pid(pid)
        os.close(down_r)
        os.close(up_w)
        os.set_blocking(self.up, False)
        os.set_blocking(self.down, False)
        self.exit = None

    def batch(self, numbered: list, last: bool) -> dict:
        """A batch of (index, case) as the process receives it: each case with its index, and the
        arrays of each case marked "verify" copied into the shared memory and sent as a place in it."""
        given = []
        for index, case in numbered:
            if not isinstance(case, dict):
                case = {"args": [], "kwargs": {}}
            if not case.get("verify"):
                given.append({"i": index, "args": case.get("args", []), "kwargs": case.get("kwargs", {})})
                continue
            args, kwargs = case.get("args", []), case.get("kwargs", {})
            names = [*range(len(args)), *sorted(kwargs)]
            slots, shared_case = [], {"i": index, "args": list(args), "kwargs": dict(kwargs), "verify": True}
            used = self.used
            for position in names:
                encoded = args[position] if isinstance(position, int) else kwargs[position]
                try:
                    value = wire.decode(encoded)
                except (ValueError, TypeError, KeyError):
                    value = None
                if not isinstance(value, np.ndarray) or used + value.nbytes > SHARED_BYTES:
                    slots.append(None)
                    continue
                data = value.tobytes()
                self.shared[used:used + len(data)] = data
                place = {"__shared__": {"dtype": value.dtype.str, "shape": list(value.shape), "offset": used}}
                slots.append((position, value.dtype.str, value.shape, used, data))
                if isinstance(position, int):
                    shared_case["args"][position] = place
                else:
                    shared_case["kwargs"][position] = place
                used += len(data)
            self.used = used
            self.placed[index] = slots
            given.append(shared_case)
        return {"t": "cases", "cases": given, "last": last}

    def seen_digests(self, index: int) -> list | None:
        """The digests of case `index`'s inputs as they are now in the shared memory (what the
        function left of them), in the order the reference's digests are kept."""
        slots = self.placed.get(index)
        if slots is None:
            return None
        digests = []
        for slot in slots:
            if slot is None:
                digests.append(None)
                continue
            _, dtype, shape, offset, data = slot
            view = np.frombuffer(self.shared, dtype=dtype, count=len(data) // np.dtype(dtype).itemsize,
                                      offset=offset).reshape(shape)
            digests.append(wire.digest(view))
            del view
        return digests

    def make_scratch(self):
        """The process's private folder, made only when its turn comes (after the previous
        function's process and everything it left are gone)."""
        os.mkdir(self.scratch, 0o700)
        if self.uid is not None:
            os.chown(self.scratch, self.uid, self.uid)

    def send(self, message, deadline) -> bool:
        view = memoryview(wire.frame(message))
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            _, ready, _ = select.select([], [self.down], [], remaining)
            if not ready:
                continue
            try:
                view = view[os.write(self.down, view):]
            except BlockingIOError:
                continue
            except OSError:
                return False
        return True

    def kill(self):
        for target in (lambda: os.killpg(self.pid, signal.SIGKILL), lambda: os.kill(self.pid, signal.SIGKILL)):
            try:
                target()
            except (ProcessLookupError, PermissionError):
                pass

    def reap(self, deadline):
        """The exit status, waiting until `deadline` (then killing)."""
        if self.exit is not None:
            return self.exit
        try:
            watch = os.pidfd_open(self.pid)  # readable when the process ends: no polling
        except (AttributeError, OSError):
            watch = None
        try:
            while True:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self.exit = status
                    return status
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    _, self.exit = os.waitpid(self.pid, 0)
                    return self.exit
                if watch is not None:
                    select.select([watch], [], [], remaining)
                else:
                    time.sleep(0.002)
        finally:
            if watch is not None:
                os.close(watch)

    def close(self):
        """After the process ended: our pipe ends closed, its output file and its folder gone."""
        self.shared.close()
        for fd in (self.up, self.down):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.unlink(self.output)
        except OSError:
            pass
        remove_tree(self.scratch)


def _visible(case) -> bool:
    return isinstance(case, dict) and bool(case.get("visible"))


def _texts(value, count: int, length: int) -> list[str]:
    return [item[:length] for item in value[:count] if isinstance(item, str)] if isinstance(value, list) else []


def _outcome(raw) -> dict | None:
    """What a case outcome of a function's process may hold, with its text capped (the value is
    checked by the grader when it decodes it); None for anything that is not an outcome."""
    if not isinstance(raw, dict) or raw.get("kind") not in ("returned", "raised"):
        return None
    seconds = raw.get("seconds")
    outcome = {"kind": raw["kind"], "forbidden": _texts(raw.get("forbidden"), 20, 200),
               "seconds": float(seconds) if isinstance(seconds, int | float) and not isinstance(seconds, bool) else 0.0}
    if raw["kind"] == "returned":
        outcome["value"] = raw.get("value")
    else:
        message = raw.get("message")
        outcome["exc_types"] = _texts(raw.get("exc_types"), 8, 80) or ["Exception"]
        outcome["message"] = message[:2000] if isinstance(message, str) else ""
    return outcome


class Supervisor:
    """Runs one job: the functions in order, each in its own process; relays and decides."""

    def __init__(self, job, in_fd, out, job_dir, drop_to, holders, note=None):
        self.job, self.in_fd, self.out = job, in_fd, out
        self.id = job["job"]
        self.job_dir, self.drop_to, self.holders, self.note = job_dir, drop_to, holders, note
        self.scratch_root = os.path.join(job_dir, "scratch")
        os.makedirs(self.scratch_root, 0o711, exist_ok=True)
        self.skipped = [i for i in job.get("skip", []) if isinstance(i, int)]
        self.cells_reported = False
        self.calls = 0

    def report_pid(self, pid):
        """Tell the server a function's process exists, so it is killed whatever happens to us."""
        if self.note is not None:
            try:
                os.write(self.note, f"{pid}\n".encode())
            except OSError:
                pass

    def emit(self, message):
        wire.write_frame(self.out, {**message, "job": self.id})

    def from_grader(self, accept, deadline):
        """The next frame of this job that `accept`s; frames of other jobs or stale ones are dropped."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.in_fd], [], [], remaining)
            if not ready:
                continue
            message = wire.read_frame(self.in_fd)
            if message is None:
                raise GraderGone()
            if message.get("job") == self.id and accept(message):
                return message

    def run(self):
        functions = [spec for spec in self.job["functions"] if isinstance(spec, dict)]
        # Fork every function's process now, while no case has entered this process.
        pending = {spec["name"]: Function(self, spec) for spec in functions}
        for spec in functions:
            name = spec["name"]
            process = pending.pop(name)
            self.emit({"t": "start", "fn": name})
            while True:
                how, detail = self.run_function(process, {p.pid for p in pending.values()})
                if how != "cell-exit" or detail in self.skipped or len(self.skipped) >= MAX_SKIPPED_CELLS:
                    break
                # A cell ended the process: from now on every process runs the notebook without it.
                self.skipped.append(detail)
                self.emit({"t": "skipped", "cell": detail})
                process = Function(self, spec)
            if how == "cell-exit":
                how, detail = "exited", f"the process ended in cell {detail}"
            self.emit({"t": "end", "fn": name, "status": how, "detail": detail})

    def run_function(self, process, spare):
        """Drive one process to its end; the status is decided here, never reported by it."""
        job, spec = self.job, process.spec
        cell_seconds = float(job.get("cell_seconds", 10))
        # all the cells together have one budget, however many there are
        deadline = time.monotonic() + float(job.get("cells_budget", 3 * cell_seconds)) + 5
        phase, current_cell, missing, answered, expected = "cells", None, False, 0, 0
        frames, volume, verdict = 0, 0, None
        buffer = wire.FrameBuffer(max_frame=FUNCTION_FRAME)
        order, batches = [], []  # the order the cases go out in, in batches (the visible examples first)
        try:
            process.make_scratch()
            if not process.send({"t": "go", "skip": self.skipped}, deadline):
                verdict = ("crashed", "the process did not start")
            while verdict is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    verdict = ("timeout", "the notebook's cells ran past their time limit" if phase == "cells"
                               else "did not finish within its time limit")
                    break
                ready, _, _ = select.select([process.up], [], [], remaining)
                if not ready:
                    continue
                try:
                    chunk = os.read(process.up, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                volume += len(chunk)
                try:
                    messages = buffer.feed(chunk)
                except (ValueError, UnicodeDecodeError) as exc:
                    verdict = ("corrupt", f"the process wrote a malformed message ({str(exc)[:100]})")
                    break
                for message in messages:
                    frames += 1
                    if frames > MAX_FRAMES or volume > MAX_BYTES:
                        verdict = ("flooded", "the process wrote more messages than a function may")
                        break
                    kind = message.get("t")
                    if phase == "cells" and kind == "cell" and isinstance(message.get("i"), int):
                        current_cell = message["i"]
                        self.emit({"t": "cell", "i": current_cell})
                        if not process.send({"t": "ack"}, deadline):
                            verdict = ("timeout", "the process stopped reading")
                    elif phase == "cells" and kind == "cells":
                        phase = "defined"
                        if not self.cells_reported:
                            self.cells_reported = True
                            errors = message.get("errors")
                            self.emit({"t": "cells", "errors": errors if isinstance(errors, list) else []})
                    elif phase == "defined" and kind == "missing":
                        missing = True
                    elif phase == "defined" and kind == "ready":
                        verdict = self.check_alone(process, spare)
                        if verdict:
                            break
                        self.emit({"t": "need", "fn": process.name})
                        given = self.from_grader(lambda m: m.get("t") == "cases" and m.get("fn") == process.name,
                                                 time.monotonic() + GRADER_PATIENCE)
                        cases = given.get("cases") if given else None
                        if not isinstance(cases, list):
                            verdict = ("lost", "the grader did not send the cases")
                            break
                        expected = len(cases)
                        deadline = time.monotonic() + float(spec.get("seconds", 10))
                        phase = "cases"
                        # The visible examples' cases go first and alone: while their answers (and any
                        # message shown with them) are made, no hidden input is in the process.
                        batches = [[i for i, case in enumerate(cases) if _visible(case)],
                                   [i for i, case in enumerate(cases) if not _visible(case)]]
                        batches = [[(i, cases[i]) for i in batch] for batch in batches if batch]
                        order = [i for batch in batches for i, _ in batch]
                        if batches and not process.send(process.batch(batches.pop(0), last=not batches), deadline):
                            verdict = ("timeout", "the process stopped reading its cases")
                        del given, cases
                    elif phase == "cases" and kind == "case" and answered < len(order) \
                            and message.get("i") == order[answered] and _outcome(message.get("outcome")):
                        index = order[answered]
                        # only what an outcome may hold, capped; whether the inputs came back
                        # unchanged is seen here, never believed
                        outcome = {**_outcome(message["outcome"]), "digests": process.seen_digests(index)}
                        self.emit({"t": "case", "fn": process.name, "i": index, "outcome": outcome})
                        if index in process.placed and not process.send({"t": "checked"}, deadline):
                            verdict = ("timeout", "the process stopped reading")
                        answered += 1
                        if verdict is None and batches and answered == len(order) - sum(map(len, batches)) \
                                and not process.send(process.batch(batches.pop(0), last=not batches), deadline):
                            verdict = ("timeout", "the process stopped reading its cases")
                    elif phase == "cases" and kind == "call":
                        # the reference's time is the grader's, not the function's: bounded there
                        started = time.monotonic()
                        verdict = self.relay_call(process, message, deadline + GRADER_PATIENCE)
                        deadline += time.monotonic() - started
                    else:
                        verdict = ("corrupt", f"the process broke the grading protocol ({str(kind)[:40]!r} "
                                              f"while {phase})")
                    if verdict:
                        break
        finally:
            if verdict:
                process.kill()
            status = process.reap(max(deadline, time.monotonic()) + 1)
            process.close()
            kill_children(spare)
        if verdict:
            return verdict
        how, detail = _exit_status(status)
        if phase == "cells":
            return ("cell-exit", current_cell) if current_cell is not None else (how, detail or "ended early")
        if phase == "defined" and missing and how == "ok":
            return "missing", ""
        if how == "ok" and (phase != "cases" or answered < expected):
            return "exited", "the process ended before answering every case (sys.exit or os._exit?)"
        if how != "ok" and phase == "cases" and answered == expected:
            # the runner exits as soon as it sent the last answer: whoever wrote these did not
            return "refused", f"the process did not end after its last answer ({detail})"
        return how, detail

    def check_alone(self, process, spare):
        """Before the cases go out: nothing the cells started may still run (a helper process or
        thread could do the work out of the tracer's sight)."""
        strays = [pid for pid in _children_of({os.getpid(), process.pid}) if pid != process.pid and pid not in spare]
        if strays or _threads(process.pid) > 1:
            return ("refused", "a notebook cell left another process or thread running; graded functions "
                               "must do their own work in their own process")
        return None

    def relay_call(self, process, message, deadline):
        """A call along a declared edge goes to the grader; the reply goes back to this process only."""
        target = message.get("fn")
        self.calls += 1
        if target not in process.spec.get("edges", []) or self.calls > MAX_CALLS:
            outcome = {"kind": "raised", "exc_types": ["RuntimeError"],
                       "message": f"{target!r} cannot be called through the grader here"}
        else:
            self.emit({"t": "call", "fn": process.name, "call": self.calls, "target": target,
                       "args": message.get("args"), "kwargs": message.get("kwargs")})
            reply = self.from_grader(lambda m: m.get("t") == "reply" and m.get("call") == self.calls, deadline)
            if reply is None:
                return ("lost", f"the grader did not answer a call to {target}")
            outcome = reply.get("outcome")
        if not process.send({"t": "reply", "outcome": outcome}, deadline):
            return ("timeout", "the process stopped reading")
        return None


def supervise(in_fd, out, note, workdir, drop_to, holders) -> int:
    """The supervisor process of one job. Exit status 3: the grader closed its end."""
    while True:
        message = wire.read_frame(in_fd)
        if message is None:
            return 3
        if message.get("t") == "job" and isinstance(message.get("job"), str):
            break  # anything else is a leftover of an earlier job: dropped
    os.write(note, message["job"].encode("ascii", "replace")[:64] + b"\n")
    job_dir = os.path.join(workdir, f"job-{os.getpid()}")
    os.makedirs(job_dir, exist_ok=True)
    os.chmod(job_dir, 0o711)  # traversable after the uid drop, not listable
    try:
        Supervisor(message, in_fd, out, job_dir, drop_to, holders, note).run()
    except GraderGone:
        return 3
    kill_children()
    return 0


def _kill_groups(pids):
    """Kill the functions' processes a supervisor reported (each leads a process group)."""
    for pid in pids:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _read_all(fd) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def serve(in_fd=0, out_fd=1, own_pid_namespace=False, drop_to=None, holders=None):
    """The server loop: one supervisor per job; a `done` frame after each, whatever happened."""
    holders = holders if holders is not None else removal.Holders()
    out = os.dup(out_fd)
    os.dup2(os.open(os.devnull, os.O_WRONLY), out_fd)  # a stray print must not corrupt the stream
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    wire.write_frame(out, {"t": "ready", "protocol": wire.PROTOCOL, "pid": os.getpid()})
    workdir = os.environ.get("AUTOGRADER_WORKDIR") or "/tmp"
    while True:
        select.select([in_fd], [], [])
        note_r, note_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.close(note_r)
                code = supervise(in_fd, out, note_w, workdir, drop_to, holders)
            finally:
                os._exit(code)
        os.close(note_w)
        _, status = os.waitpid(pid, 0)
        lines = _read_all(note_r).decode("ascii", "replace").split("\n")
        os.close(note_r)
        job = lines[0] or None
        if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3:
            return
        if own_pid_namespace:
            try:
                os.kill(-1, signal.SIGKILL)  # in our own pid namespace, everything else is the job's
            except ProcessLookupError:
                pass
        _kill_groups([int(line) for line in lines[1:] if line.isdigit()])
        kill_children()
        remove_tree(os.path.join(workdir, f"job-{pid}"))
        how = "ok" if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 else "lost"
        wire.write_frame(out, {"t": "done", "job": job, "status": how})


def remove_tree(top):
    """Remove a folder whatever a student's process left in it (folders without permissions, deep
    nesting, many entries): every sub-folder is first moved up beside `top`, so no path grows and
    nothing is walked recursively. As root the sandbox may remove anything (CAP_DAC_OVERRIDE); as
    the files' owner, it gives itself the permissions back first."""
    parent = os.path.dirname(top)
    pending = [top]
    while pending:
        folder = pending.pop()
        try:
            os.chmod(folder, 0o700)
        except OSError:
            pass
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            moved = os.path.join(parent, f".remove-{secrets.token_hex(8)}")
                            os.rename(entry.path, moved)
                            pending.append(moved)
                        else:
                            os.unlink(entry.path)
                    except OSError:
                        pass
        except OSError:
            pass
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass
        except OSError:
            try:
                os.unlink(folder)  # not a folder after all
            except OSError:
                pass


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] != ["serve"]:
        print("usage: server serve [--pid-namespace] [--drop-privileges]", file=sys.stderr)
        return 2
    drop_to = "--drop-privileges" in argv or None
    # Paid once, inherited by every forked process: NumPy and the compiled standard library are
    # loaded, NumPy's compiled convolutions removed, and nothing compiled can be loaded after that.
    dynload = next((folder for folder in sys.path if folder.endswith("lib-dynload")), "")
    removal.preload(sorted(os.path.join(dynload, name) for name in (os.listdir(dynload) if dynload else ())))
    removal.remove_ready_made()
    removal.close_loaders()
    serve(own_pid_namespace="--pid-namespace" in argv, drop_to=drop_to, holders=removal.Holders())
    return 0
