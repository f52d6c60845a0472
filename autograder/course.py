"""The course layout and the contract's assignments (../shared/CONTRACT.md)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from autograder.course_paths import SECRET, CoursePaths

__all__ = ["ASSIGNMENTS", "FROM_SCRATCH", "SECRET", "SIBLING_EDGES", "Assignment", "CourseError", "course_secret",
           "find_course_root", "get_assignment"]


@dataclass(frozen=True)
class Assignment:
    name: str
    notebook: str  # file stem, e.g. "convolution"
    functions: tuple[str, ...]

    def source_path(self, root: Path) -> Path:
        return root / "source" / self.name / f"{self.notebook}.ipynb"

    def release_path(self, root: Path) -> Path:
        return root / "assignments" / self.name / f"{self.notebook}.ipynb"


ASSIGNMENTS: dict[str, Assignment] = {
    a.name: a
    for a in (
        Assignment("ps1", "convolution", ("conv2d", "convolve2d", "conv1d")),
        Assignment(
            "ps2",
            "shapes_and_padding",
            ("conv_output_size", "conv_output_shape", "same_padding", "zero_pad",
             "transposed_conv_output_size"),
        ),
        Assignment("ps3", "conv_layer", ("strided_conv2d", "conv_forward", "max_pool2d")),
    )
}

#: Functions that must not hand the work to a ready-made convolution.
FROM_SCRATCH = frozenset({"conv2d", "convolve2d", "conv1d", "strided_conv2d", "conv_forward"})

#: Which graded function may build on which (../shared/CONTRACT.md): while the first is judged, its
#: calls to the second are answered by the reference. Any other call runs the student's own code.
SIBLING_EDGES: dict[str, tuple[str, ...]] = {
    "convolve2d": ("conv2d",),
    "conv_output_shape": ("conv_output_size",),
    "conv_forward": ("strided_conv2d",),
}


class CourseError(Exception):
    """The course tree or a command's arguments are not usable; the message says how to fix it."""


def get_assignment(name: str) -> Assignment:
    try:
        return ASSIGNMENTS[name]
    except KeyError:
        known = ", ".join(sorted(ASSIGNMENTS))
        raise CourseError(f"unknown assignment {name!r}; this course has {known}") from None


def find_course_root(start: Path | None = None) -> Path:
    """The folder holding nbgrader_config.py: $AUTOGRADER_COURSE_ROOT, else start and its parents."""
    override = os.environ.get("AUTOGRADER_COURSE_ROOT")
    if override:
        return Path(override).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir():
            return folder
    raise CourseError(
        f"no course root above {here}: run from the folder holding nbgrader_config.py and source/"
    )


def course_secret(root: Path) -> bytes:
    """The course's secret (a runtime file, never committed), made (readable by its owner only) the
    first time it is needed: the hidden cases are drawn from it, so that nobody holding the grader's
    public source can compute them ahead of time. Every grader of the course (its Dask workers, its
    Gradescope bundle) must read the same one."""
    path = CoursePaths(root).secret
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    made = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another grader made it first (or it is damaged: say so)
        try:
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            raise CourseError(f"{path} is not a course secret (64 hex digits): remove it to make a new one "
                              "(the hidden inputs then change)") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(made + "\n")
    return bytes.fromhex(made)
