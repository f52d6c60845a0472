"""Running student code: everything on both sides of the sandbox's wall.

Inside the sandbox (bind-mounted read-only into bubblewrap; standard library and NumPy only):

- :mod:`~autograder.sandbox.wire`: the wire protocol and value encoding, imported by both sides;
- :mod:`~autograder.sandbox.server`: the server and the per-submission supervisor;
- :mod:`~autograder.sandbox.child`: the process of one graded function (cells, then its cases);
- :mod:`~autograder.sandbox.removal`: what the processes lose before student code runs (NumPy's
  compiled convolutions, loading compiled code, other processes and threads, heap walks...);
- :mod:`~autograder.sandbox.standins`: SciPy, torch, TensorFlow... that import and refuse to work;
- :mod:`~autograder.sandbox.ready_made`: the one definition of a ready-made convolution;
- :mod:`~autograder.sandbox.tracer`: names the ready-made routine a call reached (the explanation).

Outside (never visible in the sandbox):

- :mod:`~autograder.sandbox.environment`: the file system the sandbox sees (stdlib and NumPy only);
- :mod:`~autograder.sandbox.launch`: the bubblewrap or rlimits command that starts a server;
- :mod:`~autograder.sandbox.seccomp`: the system calls the kernel refuses to the whole sandbox;
- :mod:`~autograder.sandbox.policy`: the static policy, applied to the code before anything runs;
- :mod:`~autograder.sandbox.runner`: the grader's side of a server (send a job, answer, survive).
"""

import importlib

__all__ = ["Foreign", "call_traced", "decode", "digest", "encode"]

_SUBMODULES = frozenset({"wire", "tracer", "child", "server", "launch", "policy", "removal", "standins", "runner",
                         "ready_made", "environment", "seccomp"})
#: Names this package lends from its modules, loaded on first use: importing the package costs
#: nothing, so a grading run can start its sandbox before it imports NumPy itself.
_LENT = {"call_traced": "tracer", "Foreign": "wire", "decode": "wire", "digest": "wire", "encode": "wire"}


def __getattr__(name):
    # The launch functions (level, doctor, NOT_CONTAINED, process_limit, ...) are loaded on first
    # use too: the sandbox imports this package, and the launch module is not mounted there.
    if name.startswith("__") or name in _SUBMODULES:
        raise AttributeError(name)
    try:
        module = importlib.import_module(f"autograder.sandbox.{_LENT.get(name, 'launch')}")
        return getattr(module, name)
    except (AttributeError, ImportError):
        raise AttributeError(f"module 'autograder.sandbox' has no attribute {name!r}") from None
