"""The stored results the class report reads (``autograder.store``): the latest result of each
student whose submitted notebook is still there. A result whose notebook is gone (deleted, renamed,
a student folder removed) describes nothing that exists now: it is skipped, and named."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from autograder import store
from autograder.course import Assignment, CourseError
from autograder.results import NotebookResult


@dataclass(frozen=True)
class Skipped:
    """A stored result the report left out: its submitted notebook no longer exists."""

    student: str
    path: str


@dataclass
class Stored:
    results: list[NotebookResult] = field(default_factory=list)  # one per student, by student
    skipped: list[Skipped] = field(default_factory=list)


def submission_exists(root: Path, result: NotebookResult) -> bool:
    path = Path(result.path)
    return os.path.lexists(path if path.is_absolute() else root / path)


def load_stored(root: Path, assignment: Assignment) -> Stored:
    """The latest stored result of each student among those whose notebook exists (read-only),
    and the stored results skipped because their notebook does not."""
    folder = store.results_folder(root, assignment)
    latest: dict[str, tuple[float, NotebookResult]] = {}
    skipped = []
    try:
        for _, stamp, data in store.stored_results(root, assignment):
            result = NotebookResult.from_dict(data)
            if not submission_exists(root, result):
                skipped.append(Skipped(result.student, result.path))
            elif result.student not in latest or stamp >= latest[result.student][0]:
                latest[result.student] = (stamp, result)
    except (ValueError, TypeError) as exc:
        raise CourseError(
            f"{exc}; grade again with 'python -m autograder grade {assignment.name}' (--force to regrade everything)"
        ) from None
    if not latest:
        gone = f" ({len(skipped)} stored result(s) skipped: their notebooks are gone)" if skipped else ""
        raise CourseError(
            f"no stored results for {assignment.name} under {folder}{gone}: grade first with "
            f"'python -m autograder grade {assignment.name}'"
        )
    skipped.sort(key=lambda s: (s.student, s.path))
    return Stored([latest[student][1] for student in sorted(latest)], skipped)


def load_results(root: Path, assignment: Assignment) -> list[NotebookResult]:
    """The latest stored result of each student whose notebook exists (see `load_stored`)."""
    return load_stored(root, assignment).results
