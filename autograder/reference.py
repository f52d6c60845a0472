"""The reference solutions: the solution cells of the instructor's notebooks in source/.

There is no other copy of a solution. The grader executes the source notebook's setup and
solution cells in a fresh namespace and takes the graded functions from it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path

from autograder import notebooks
from autograder.course import Assignment, CourseError


def load(root: Path, assignment: Assignment) -> dict[str, Callable]:
    """The reference implementation of each graded function of `assignment`."""
    path = assignment.source_path(root)
    if not path.is_file():
        raise CourseError(f"reference notebook {path} is missing: the grader reads solutions there")
    return dict(_load(str(path), path.stat().st_mtime_ns, assignment.functions))


class Lazy(Mapping):
    """The reference functions, executed from source/ on first use only: a run whose expected
    outcomes come from the cache and whose students make no mistake never needs them."""

    def __init__(self, root: Path, assignment: Assignment):
        self.root, self.assignment = root, assignment
        self._loaded: dict[str, Callable] | None = None
        self._lock = threading.Lock()

    def _functions(self) -> dict[str, Callable]:
        with self._lock:
            if self._loaded is None:
                self._loaded = load(self.root, self.assignment)
            return self._loaded

    def __getitem__(self, name: str) -> Callable:
        return self._functions()[name]

    def __iter__(self):
        return iter(self.assignment.functions)

    def __len__(self) -> int:
        return len(self.assignment.functions)


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int, functions: tuple[str, ...]) -> tuple[tuple[str, Callable], ...]:
    nb = notebooks.read_trusted(Path(path))
    namespace: dict = {"__name__": f"reference_{Path(path).stem}"}
    for source in notebooks.setup_sources(nb):
        exec(compile(source, f"{path} (setup)", "exec"), namespace)  # noqa: S102
    solutions = notebooks.solution_sources(nb)
    for gid, sources in solutions.items():
        for source in sources:
            exec(compile(source, f"{path} ({gid})", "exec"), namespace)  # noqa: S102
    missing = [name for name in functions if not callable(namespace.get(name))]
    if missing:
        raise CourseError(f"{path} defines no solution for {', '.join(missing)}")
    return tuple((name, namespace[name]) for name in functions)
