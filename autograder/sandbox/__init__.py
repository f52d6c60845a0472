"""Running student code: everything on both sides of the sandbox's wall.

Inside the sandbox (bind-mounted read-only into bubblewrap; standard library and NumPy only):

- :mod:`~autograder.sandbox.wire`: the wire protocol and value encoding, imported by both sides;
- :mod:`~autograder.sandbox.server`: the server and the per-submission supervisor;
- :mod:`~autograder.sandbox.child`: the process of one graded function (cells, then its cases);
- :mod:`~autograder.sandbox.tracer`: the profiler hook (the from-scratch rule's second line).

Outside (never visible in the sandbox):

- :mod:`~autograder.sandbox.launch`: the bubblewrap or rlimits command that starts a server;
- :mod:`~autograder.sandbox.policy`: the static policy, applied to the code before anything runs.

The grader drives a server with :mod:`autograder.runner`.
"""

import importlib

from autograder.sandbox.tracer import call_traced
from autograder.sandbox.wire import Foreign, decode, digest, encode

__all__ = ["Foreign", "call_traced", "decode", "digest", "encode"]


_SUBMODULES = frozenset({"wire", "tracer", "child", "server", "launch", "policy"})


def __getattr__(name):
    # The launch functions (level, doctor, NOT_CONTAINED, process_limit, ...) are loaded on first
    # use: the sandbox imports this package too, and the launch module is not mounted there.
    if name.startswith("__") or name in _SUBMODULES:
        raise AttributeError(name)
    try:
        launch = importlib.import_module("autograder.sandbox.launch")
        return getattr(launch, name)
    except (AttributeError, ImportError):
        raise AttributeError(f"module 'autograder.sandbox' has no attribute {name!r}") from None
