"""`python -m autograder release` (`make release`): regenerate assignments/ from source/ with
nbgrader, what instructors commit after editing source/."""

from __future__ import annotations

from pathlib import Path

from autograder.course import get_assignment
from autograder.gradebook.nbgrader_side import run_nbgrader


def release(root: Path, names: list[str]) -> int:
    """`nbgrader generate_assignment NAME --force` for each assignment named, from the course root."""
    for name in names:
        get_assignment(name)
        run_nbgrader(root, "generate_assignment", name, "--force")
        print(f"released {name} -> {root / 'assignments' / name}")
    return 0
