"""Finding submissions: nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb, or paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from autograder import notebooks
from autograder.course import ASSIGNMENTS, Assignment, CourseError


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


def assignment_of(path: Path, assignment: Assignment) -> str | None:
    """Which assignment a notebook belongs to, by the grade ids of its nbgrader cells (a graded
    function's solution cell carries the function's name); None when it carries none we know."""
    ids = notebooks.carried_grade_ids(path)
    if not ids:
        return None
    if ids & set(assignment.functions):
        return assignment.name
    for other in ASSIGNMENTS.values():
        if ids & set(other.functions):
            return other.name
    return None


def _wrong(path: Path, owner: str, assignment: Assignment) -> str:
    return (f"{path.name} is the notebook of {owner} ({ASSIGNMENTS[owner].notebook}.ipynb), not of "
            f"{assignment.name}: hand in {assignment.notebook}.ipynb for {assignment.name}")


def _match(found: list[Path], assignment: Assignment) -> list[tuple[Path, str | None]]:
    """Pick the notebook to grade among one submission folder's notebooks."""
    released = f"{assignment.notebook}.ipynb"
    owners = {p: assignment_of(p, assignment) for p in found}
    ours = [p for p in found if owners[p] == assignment.name]
    if len(ours) > 1:
        names = ", ".join(p.name for p in ours)
        return [(p, f"{len(ours)} notebooks of {assignment.name} in one submission ({names}); keep only the "
                    "one to grade") for p in ours]
    if ours:
        return [(ours[0], None)]
    # no notebook carries this assignment's cells (pasted into a fresh notebook, unreadable, or another's)
    exact = [p for p in found if p.name == released]
    unknown = [p for p in found if owners[p] is None]
    if exact and owners[exact[0]] is None:
        return [(exact[0], None)]
    if len(unknown) == 1:
        return [(unknown[0], None)]  # renamed, e.g. "convolution (1).ipynb", or cells without metadata
    if not unknown:
        first = (exact or found)[0]
        return [(first, _wrong(first, owners[first], assignment))]
    return [(p, f"{len(found)} notebooks and none is named {released}; rename the one to grade")
            for p in found]


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
    for folder, candidates in groups.items():
        if not candidates:
            expected = folder / f"{assignment.notebook}.ipynb"
            found.append(Submission(_student_of(expected, assignment), expected, f"no notebook in {folder}"))
            continue
        for path, problem in _match(sorted(set(candidates)), assignment):
            found.append(Submission(_student_of(path, assignment), path, problem))
    return found
