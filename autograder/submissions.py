"""Finding submissions: nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb, or paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder.course import Assignment, CourseError


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    problem: str | None = None  # set when the notebook cannot be matched to the assignment


def _student_of(path: Path, assignment: Assignment) -> str:
    parts = path.resolve().parts
    if "submitted" in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index("submitted")
        if index + 1 < len(parts) - 1:
            return parts[index + 1]
    folder = path.parent
    if folder.name == assignment.name:
        folder = folder.parent
    return folder.name or "unknown"


def _notebooks_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _match(notebooks: list[Path], assignment: Assignment) -> list[tuple[Path, str | None]]:
    """Pick the notebook to grade among one submission folder's notebooks."""
    released = f"{assignment.notebook}.ipynb"
    exact = [p for p in notebooks if p.name == released]
    if exact:
        return [(exact[0], None)]
    if len(notebooks) == 1:
        return [(notebooks[0], None)]  # renamed, e.g. "convolution (1).ipynb": single-notebook assignment
    return [(p, f"{len(notebooks)} notebooks and none is named {released}; rename the one to grade")
            for p in notebooks]


def find(root: Path, assignment: Assignment, paths: list[str]) -> list[Submission]:
    """Every submission to grade: all of submitted/*/ASSIGNMENT/, or the given paths."""
    groups: dict[Path, list[Path]] = {}
    if not paths:
        base = root / "submitted"
        if not base.is_dir():
            raise CourseError(f"no submitted/ folder in {root}: collect submissions first, or pass paths")
        for student in sorted(p for p in base.iterdir() if p.is_dir()):
            folder = student / assignment.name
            if folder.is_dir():
                groups[folder] = _notebooks_in(folder)
    else:
        for raw in paths:
            path = Path(raw)
            if path.is_file():
                groups.setdefault(path, []).append(path)  # an explicit notebook is graded as given
            elif path.is_dir():
                for notebook in _notebooks_in(path):
                    groups.setdefault(notebook.parent, []).append(notebook)
            else:
                raise CourseError(f"{raw}: no such notebook or folder")
    found = []
    for folder, notebooks in groups.items():
        if not notebooks:
            expected = folder / f"{assignment.notebook}.ipynb"
            found.append(Submission(_student_of(expected, assignment), expected, f"no notebook in {folder}"))
            continue
        for path, problem in _match(sorted(set(notebooks)), assignment):
            found.append(Submission(_student_of(path, assignment), path, problem))
    return found
