"""The words `grade` prints about the notebooks under submitted/ it does not grade
(autograder.submissions.misplaced): one line each, saying why and what to do."""

from __future__ import annotations

from autograder.course import ASSIGNMENTS, Assignment
from autograder.submissions import Misplaced, Misplacement

_KNOWN = ", ".join(ASSIGNMENTS)


def section(misplaced: list[Misplaced], assignment: Assignment) -> list[str]:
    """The lines naming every misplaced notebook, under a heading; [] when there is none."""
    if not misplaced:
        return []
    return [
        f"misplaced, not graded (graded are the notebooks in submitted/STUDENT/{assignment.name}/ only):",
        *(f"  {line(m)}" for m in misplaced),
    ]


def clause(misplaced: list[Misplaced]) -> str:
    """What the summary line adds: how many were not graded, where they are listed."""
    return f"; {len(misplaced)} misplaced, not graded (listed above)" if misplaced else ""


def line(m: Misplaced) -> str:
    return f"{m.student or '(no student)'}, {m.path}: {_why(m)}: {_fix(m)}"


def _why(m: Misplaced) -> str:
    if m.why is Misplacement.WRONG_CASE:
        return f"its folder {m.folder} is not {m.folder.lower()} (folder names are case-sensitive)"
    if m.why is Misplacement.NO_ASSIGNMENT_FOLDER:
        return "it is in no assignment's folder"
    if m.why is Misplacement.NOT_AN_ASSIGNMENT:
        return f"its folder {m.folder} is no assignment of this course ({_KNOWN})"
    if m.why is Misplacement.NESTED:
        return (
            f"it is in a sub-folder of submitted/{m.student}/{m.folder}/, whose own notebook is graded "
            "(only the notebooks directly in it are)"
        )
    if m.why is Misplacement.NO_STUDENT_FOLDER:
        return "it is in no student's folder"
    return "a folder that cannot be read, so the notebooks in it are unknown"


def _fix(m: Misplaced) -> str:
    if m.why is Misplacement.UNREADABLE:
        return f"make it readable by the grader (chmod -R u+rX {m.path}) and grade again"
    if m.why is Misplacement.NESTED:
        return (
            f"if it is the one to grade, move it to submitted/{m.student}/{m.folder}/ in place of the notebook "
            "there; otherwise delete it"
        )
    if m.destination is not None and m.taken:
        return f"{m.destination} is graded instead; if this one is the one to grade, move it there in its place"
    if m.destination is not None:
        return f"move it to {m.destination}"
    name = m.path.name
    if m.student is None:
        folder = m.assignment or "ASSIGNMENT"
        return f"move it to submitted/STUDENT/{folder}/{name}, STUDENT being the id of the student whose it is"
    return f"move it to submitted/{m.student}/ASSIGNMENT/{name}, ASSIGNMENT being the one it is for ({_KNOWN})"
