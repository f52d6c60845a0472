"""Finding submissions: nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb, or paths."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from autograder import notebooks
from autograder.course import ASSIGNMENTS, Assignment, CourseError
from autograder.course_paths import SUBMITTED, CoursePaths


@dataclass(frozen=True)
class Submission:
    student: str
    path: Path
    problem: str | None = None  # set when the notebook cannot be matched to the assignment


def _student_of(path: Path, assignment: Assignment, base: Path | None = None) -> str:
    """Whose notebook `path` is: the first folder under the course's submitted/ (`base`), never a
    folder inside a student's own submission (which the student names: submitted/zed/ps1/submitted/
    bob/... is zed's); elsewhere, the folder holding the assignment's folder or the notebook."""
    here = Path(os.path.abspath(path))  # not resolved: a link must not decide whose work it is
    if base is not None:
        try:
            inside = here.relative_to(os.path.abspath(base)).parts
        except ValueError:
            inside = ()
        if len(inside) > 1:
            return inside[0]
    parts = here.parts
    if SUBMITTED in parts[:-1]:
        index = parts.index(SUBMITTED)
        if index + 1 < len(parts) - 1:
            return parts[index + 1]
    folder = path.parent
    if folder.name == assignment.name:
        folder = folder.parent
    return folder.name or "unknown"


def _unreadable(folder: Path, exc: OSError, top: Path) -> str:
    return (f"cannot read the folder {folder} ({exc.strerror or exc}): make the submission readable by the grader "
            f"(chmod -R u+rX {top}) and grade again")


def _notebooks_in(folder: Path, nested: bool = True) -> tuple[list[Path], str | None]:
    """The notebooks under a submission folder (anything named *.ipynb: one that is not a readable
    file is refused when read), checkpoints aside; and, when a folder in it cannot be read, why
    (what it holds is then unknown, so nothing of it is graded). With `nested` false, only the
    folder's own notebooks (nbgrader's layout), and a problem naming those in sub-folders when
    the folder has none of its own."""
    found, todo, deeper = [], [folder], []
    while todo:
        current = todo.pop()
        if not nested and current != folder:
            deeper += [p for p in _notebooks_in(current)[0]]
            continue
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError as exc:
            return [], _unreadable(current, exc, folder)
        for entry in entries:
            if entry.name == ".ipynb_checkpoints":
                continue
            if entry.name.endswith(".ipynb"):
                found.append(Path(entry.path))
            try:
                if entry.is_dir(follow_symlinks=False):  # as rglob: links to folders are not followed
                    todo.append(Path(entry.path))
            except OSError:
                continue
    if not found and deeper:
        names = ", ".join(p.relative_to(folder).as_posix() for p in sorted(deeper)[:3])
        return [], (f"no notebook in {folder} itself, only in a sub-folder ({names}): the grader, like nbgrader, "
                    f"grades only the notebooks directly in {folder}; move the notebook there and grade again")
    return sorted(found), None


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


def _is_folder(path: Path) -> bool | OSError:
    """Whether `path` is a folder; the error when it cannot even be looked at (a dangling link is
    not a folder)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except FileNotFoundError:
        return False
    except OSError as exc:
        return exc


def find(root: Path, assignment: Assignment, paths: list[str]) -> list[Submission]:
    """Every submission to grade: all of submitted/*/ASSIGNMENT/, or the given paths. Whatever a
    submission folder holds, it gives that student's submissions (with a problem when they cannot
    be graded), never an exception that stops the others."""
    groups: dict[Path, list[Path]] = {}
    problems: dict[Path, str] = {}
    if not paths:
        base = CoursePaths(root).submitted_root
        if not base.is_dir():
            raise CourseError(f"no submitted/ folder in {root}: collect submissions first, or pass paths")
        try:
            students = sorted(base.iterdir())
        except OSError as exc:
            raise CourseError(f"cannot read {base} ({exc.strerror or exc}): make it readable by the grader") from None
        for student in students:
            if _is_folder(student) is not True:
                continue  # not a student's folder (a file beside them)
            _student_folder(student, assignment, groups, problems)
    else:
        for raw in paths:
            path = Path(raw)
            kind = _is_folder(path)
            if kind is True:
                found, problem = _notebooks_in(path)
                if problem:
                    groups[path], problems[path] = [], problem
                for notebook in found:
                    groups.setdefault(notebook.parent, []).append(notebook)
            elif kind is False and not os.path.lexists(path):
                raise CourseError(f"{raw}: no such notebook or folder")
            else:  # an explicit notebook is graded as given (reading it says what is wrong with it)
                groups.setdefault(path, []).append(path)
    return _submissions(assignment, groups, problems, root)


def _identity(path: Path) -> tuple[int, int] | None:
    """The file behind a name, hard links included (a link to source/ is refused when read)."""
    try:
        facts = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return facts.st_dev, facts.st_ino


def find_student(root: Path, assignment: Assignment, student: str) -> list[Submission]:
    """What `find` gives for one student, submitted/<student>/<ASSIGNMENT>/ (nbgrader autograde grades
    one student at a time): the same notebook chosen, the same problems; [] without that folder."""
    groups: dict[Path, list[Path]] = {}
    problems: dict[Path, str] = {}
    _student_folder(CoursePaths(root).submitted_root / student, assignment, groups, problems)
    return _submissions(assignment, groups, problems, root)


def _student_folder(student: Path, assignment: Assignment, groups: dict, problems: dict) -> None:
    """The notebooks of one student's submitted/<student>/<ASSIGNMENT>/ into `groups`, and why they
    cannot be graded, if they cannot, into `problems`."""
    folder = student / assignment.name
    kind = _is_folder(folder)
    linked = next((part for part in (student, folder) if os.path.islink(part)), None)
    if linked is not None:  # a link decides nothing about whose work is where (it could lead to source/)
        groups[folder], problems[folder] = [], (f"{linked} is a link, not a folder: copy the submission itself into "
                                                f"{folder} and grade again")
    elif isinstance(kind, OSError):
        groups[folder], problems[folder] = [], _unreadable(folder, kind, student)
    elif kind:
        groups[folder], problem = _notebooks_in(folder, nested=False)
        if problem:
            problems[folder] = problem
    elif os.path.lexists(folder):
        groups[folder], problems[folder] = [], (f"{folder} is not a folder: put the student's notebook "
                                                f"in a folder {folder} and grade again")


def _submissions(assignment: Assignment, groups: dict[Path, list[Path]], problems: dict[Path, str],
                 root: Path) -> list[Submission]:
    base, found = CoursePaths(root).submitted_root, []
    reference = _identity(assignment.source_path(root))
    for folder, candidates in groups.items():
        if folder in problems or not candidates:
            expected = folder / f"{assignment.notebook}.ipynb"
            found.append(_checked(assignment, Submission(
                _student_of(expected, assignment, base), expected,
                problems.get(folder, f"no notebook in {folder}")), base))
            continue
        for path, problem in _match(sorted(set(candidates)), assignment):
            if problem is None and reference is not None and _identity(path) == reference:
                problem = (f"{path} is the instructor's own notebook (the same file as "
                           f"{assignment.source_path(root)}): hand in your own notebook")
            found.append(_checked(assignment, Submission(_student_of(path, assignment, base), path, problem), base))
    return found


def _checked(assignment: Assignment, submission: Submission, base: Path) -> Submission:
    """A submission whose name the gradebook cannot store (not UTF-8) cannot be graded: it gets a
    problem, and a name that can be shown and stored."""
    try:
        str(submission.path).encode("utf-8")
    except UnicodeEncodeError:
        shown = Path(os.fsencode(submission.path).decode("utf-8", "backslashreplace"))
        return Submission(_student_of(shown, assignment, base), shown,
                          f"{shown}: the name is not UTF-8 text, which nbgrader's gradebook cannot store: rename "
                          "the student's folder and notebook to UTF-8 names and grade again")
    return submission
