"""Finding submissions: nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb, or paths."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

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
    return (
        f"cannot read the folder {folder} ({exc.strerror or exc}): make the submission readable by the grader "
        f"(chmod -R u+rX {top}) and grade again"
    )


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
        return [], (
            f"no notebook in {folder} itself, only in a sub-folder ({names}): the grader, like nbgrader, "
            f"grades only the notebooks directly in {folder}; move the notebook there and grade again"
        )
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
    return (
        f"{path.name} is the notebook of {owner} ({ASSIGNMENTS[owner].notebook}.ipynb), not of "
        f"{assignment.name}: hand in {assignment.notebook}.ipynb for {assignment.name}"
    )


def _match(found: list[Path], assignment: Assignment) -> list[tuple[Path, str | None]]:
    """Pick the notebook to grade among one submission folder's notebooks."""
    released = f"{assignment.notebook}.ipynb"
    owners = {p: assignment_of(p, assignment) for p in found}
    ours = [p for p in found if owners[p] == assignment.name]
    if len(ours) > 1:
        names = ", ".join(p.name for p in ours)
        return [
            (p, f"{len(ours)} notebooks of {assignment.name} in one submission ({names}); keep only the one to grade")
            for p in ours
        ]
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
    return [(p, f"{len(found)} notebooks and none is named {released}; rename the one to grade") for p in found]


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
        groups[folder], problems[folder] = (
            [],
            (f"{linked} is a link, not a folder: copy the submission itself into {folder} and grade again"),
        )
    elif isinstance(kind, OSError):
        groups[folder], problems[folder] = [], _unreadable(folder, kind, student)
    elif kind:
        groups[folder], problem = _notebooks_in(folder, nested=False)
        if problem:
            problems[folder] = problem
    elif os.path.lexists(folder):
        groups[folder], problems[folder] = (
            [],
            (f"{folder} is not a folder: put the student's notebook in a folder {folder} and grade again"),
        )


def _submissions(
    assignment: Assignment, groups: dict[Path, list[Path]], problems: dict[Path, str], root: Path
) -> list[Submission]:
    base, found = CoursePaths(root).submitted_root, []
    reference = _identity(assignment.source_path(root))
    for folder, candidates in groups.items():
        if folder in problems or not candidates:
            expected = folder / f"{assignment.notebook}.ipynb"
            found.append(
                _checked(
                    assignment,
                    Submission(
                        _student_of(expected, assignment, base),
                        expected,
                        problems.get(folder, f"no notebook in {folder}"),
                    ),
                    base,
                )
            )
            continue
        for path, problem in _match(sorted(set(candidates)), assignment):
            if problem is None and reference is not None and _identity(path) == reference:
                problem = (
                    f"{path} is the instructor's own notebook (the same file as "
                    f"{assignment.source_path(root)}): hand in your own notebook"
                )
            found.append(_checked(assignment, Submission(_student_of(path, assignment, base), path, problem), base))
    return found


def _checked(assignment: Assignment, submission: Submission, base: Path) -> Submission:
    """A submission whose name the gradebook cannot store (not UTF-8) cannot be graded: it gets a
    problem, and a name that can be shown and stored."""
    try:
        str(submission.path).encode("utf-8")
    except UnicodeEncodeError:
        shown = Path(os.fsencode(submission.path).decode("utf-8", "backslashreplace"))
        return Submission(
            _student_of(shown, assignment, base),
            shown,
            f"{shown}: the name is not UTF-8 text, which nbgrader's gradebook cannot store: rename "
            "the student's folder and notebook to UTF-8 names and grade again",
        )
    return submission


class Misplacement(StrEnum):
    """Why a notebook under submitted/ is not graded: it is not where nbgrader puts submissions."""

    WRONG_CASE = "wrong-case"  # submitted/hank/PS1/: an assignment's folder, in other letter case
    NO_ASSIGNMENT_FOLDER = "no-assignment-folder"  # submitted/ivy/convolution.ipynb
    NOT_AN_ASSIGNMENT = "not-an-assignment"  # submitted/bob/ps9/: no assignment of the course
    NESTED = "nested"  # submitted/carl/ps1/old/convolution.ipynb, beside carl's graded notebook
    NO_STUDENT_FOLDER = "no-student-folder"  # submitted/convolution.ipynb
    UNREADABLE = "unreadable"  # a folder that may hold notebooks and cannot be listed


@dataclass(frozen=True)
class Misplaced:
    """A notebook (or an unreadable folder) under submitted/ that `grade` does not grade."""

    student: str | None  # None when it is in no student's folder
    path: PurePosixPath  # relative to the course root
    why: Misplacement
    folder: str | None  # the folder at fault, as named (PS1, ps9); None when the notebook has none
    assignment: str | None  # whose notebook it most likely is; None when nothing tells
    destination: PurePosixPath | None  # where it would be graded, relative to the course root
    taken: bool = False  # the destination holds a notebook already (that one is graded)


def misplaced(root: Path, assignment: Assignment) -> list[Misplaced]:
    """The notebooks under submitted/ that a run grading `assignment` does not grade although they
    may be its work: those of this assignment, or of no assignment one can tell, outside
    submitted/<student>/<ASSIGNMENT>/ itself (a folder in another letter case, none, one that is no
    assignment, a sub-folder of a graded folder that has notebooks of its own, no student's folder).
    Checkpoints are no submissions; another assignment's are its own run's to name. Nothing here
    raises: what cannot be read is named (or, inside a graded folder, left alone)."""
    base = CoursePaths(root).submitted_root
    found: list[Misplaced] = []
    for entry in _listing(base) or []:
        if _is_notebook(entry):
            owner = _owner(Path(entry.path), None)
            found.append(
                Misplaced(None, _relative(root, entry.path), Misplacement.NO_STUDENT_FOLDER, None, owner, None)
            )
        elif _is_plain_folder(entry):
            found += _misplaced_of(root, Path(entry.path), assignment)
    return [m for m in found if m.assignment in (None, assignment.name)]


def _misplaced_of(root: Path, student: Path, assignment: Assignment) -> list[Misplaced]:
    entries = _listing(student)
    if entries is None:
        return []  # grading names the folder (it cannot look into it either)
    found = []
    for entry in entries:
        path = Path(entry.path)
        if _is_notebook(entry):
            found.append(_placed(root, student, path, Misplacement.NO_ASSIGNMENT_FOLDER, None, _owner(path, None)))
        elif not _is_plain_folder(entry):
            continue
        elif entry.name == assignment.name:
            own, problem = _notebooks_in(path, nested=False)
            if own and problem is None:  # without notebooks of its own, grading names the sub-folders
                deeper = sorted(set(_notebooks_in(path)[0]) - set(own))
                found += [
                    _placed(root, student, p, Misplacement.NESTED, entry.name, assignment.name, p.name) for p in deeper
                ]
        elif entry.name in ASSIGNMENTS:
            continue  # another assignment's folder: its run grades it
        else:
            hint = next((name for name in ASSIGNMENTS if name.lower() == entry.name.lower()), None)
            why = Misplacement.NOT_AN_ASSIGNMENT if hint is None else Misplacement.WRONG_CASE
            notebooks_found, problem = _notebooks_in(path)
            if problem is not None:
                found.append(_placed(root, student, path, Misplacement.UNREADABLE, entry.name, hint))
            found += [_placed(root, student, p, why, entry.name, _owner(p, hint)) for p in notebooks_found]
    return found


def _placed(
    root: Path,
    student: Path,
    path: Path,
    why: Misplacement,
    folder: str | None,
    owner: str | None,
    name: str | None = None,
) -> Misplaced:
    destination = None
    taken = False
    if owner is not None and why is not Misplacement.UNREADABLE:
        target = student / owner / (name or path.name)
        destination = _relative(root, target)
        taken = os.path.lexists(target)
    return Misplaced(student.name, _relative(root, path), why, folder, owner, destination, taken)


def _owner(path: Path, hint: str | None) -> str | None:
    """The assignment a misplaced notebook most likely belongs to: by its cells' grade ids, else its
    file name (the released notebook's, in any letter case), else the folder it is in (`hint`)."""
    ids = notebooks.carried_grade_ids(path) or set()
    for other in ASSIGNMENTS.values():
        if ids & set(other.functions):
            return other.name
    stem = path.name[: -len(".ipynb")].lower()
    for other in ASSIGNMENTS.values():
        if stem == other.notebook.lower():
            return other.name
    return hint


def _listing(folder: Path) -> list[os.DirEntry] | None:
    """A folder's entries, sorted by name, checkpoints aside; None when it cannot be listed."""
    try:
        with os.scandir(folder) as listing:
            return sorted((e for e in listing if e.name != ".ipynb_checkpoints"), key=lambda e: e.name)
    except OSError:
        return None


def _is_plain_folder(entry: os.DirEntry) -> bool:
    """A folder, not a link to one (a link decides nothing about whose work is where)."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _is_notebook(entry: os.DirEntry) -> bool:
    return entry.name.endswith(".ipynb") and not _is_plain_folder(entry)


def _relative(root: Path, path: str | Path) -> PurePosixPath:
    return PurePosixPath(Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix())
