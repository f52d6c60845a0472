"""Recording results where nbgrader looks for them.

* Scores go into nbgrader's gradebook through nbgrader's own API (one auto score per test cell),
  so the formgrader, ``nbgrader generate_feedback`` and ``nbgrader export`` work on them. Writes
  are serialized with a lock file, so parallel workers and two graders on one course are safe.
* An autograded notebook per submission (``autograded/<student>/<assignment>/``) carries our
  feedback in each test cell's output; it has the release's cells, never hidden tests.
"""

from __future__ import annotations

import contextlib
import copy
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

from autograder import notebooks
from autograder.course import Assignment
from autograder.results import NotebookResult

COURSE_ID = "conv-from-scratch"


def _nbgrader_on_path() -> None:
    """nbgrader's Gradebook runs the `alembic` command: make this interpreter's scripts findable."""
    scripts = os.path.dirname(sys.executable)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def db_url(root: Path) -> str:
    return f"sqlite:///{(root / 'gradebook.db').resolve()}"


@contextlib.contextmanager
def locked(root: Path):
    folder = root / ".autograder"
    folder.mkdir(exist_ok=True)
    with open(folder / "gradebook.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def nbgrader_command(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run an nbgrader command from the course root with this interpreter's nbgrader."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          capture_output=True, text=True)


def ensure_assignment(root: Path, assignment: Assignment) -> None:
    """Make sure the gradebook knows the assignment's cells (as `nbgrader generate_assignment`
    records them). Released into a throwaway folder, so assignments/ is never touched.
    Call it holding `locked(root)`."""
    from nbgrader.api import Gradebook, MissingEntry

    _nbgrader_on_path()
    with Gradebook(db_url(root), COURSE_ID) as gb:
        try:
            gb.find_notebook(assignment.notebook, assignment.name)
            return
        except MissingEntry:
            pass
    with tempfile.TemporaryDirectory() as release:
        done = nbgrader_command(root, "generate_assignment", assignment.name, "--force",
                                f"--CourseDirectory.release_directory={release}",
                                f"--db={db_url(root)}")
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader could not register {assignment.name} in the gradebook:\n{done.stderr[-2000:]}")


class GradebookWriter:
    """One gradebook session for a grading run; every result is committed as soon as it arrives
    (so a killed run loses nothing) under a lock file shared with other graders of the course."""

    def __init__(self, root: Path, assignment: Assignment):
        self.root, self.assignment = root, assignment
        self.release = notebooks.read_trusted(assignment.release_path(root))
        # 0-point test cells (the visible checks) get 0, as nbgrader autograde would record them
        self.unscored = [c.grade_id for c in notebooks.grade_cells(self.release) if c.kind == "test" and not c.points]

    def __enter__(self):
        from nbgrader.api import Gradebook

        # Creating the database and registering the assignment race between two graders starting
        # at once on a fresh course: both happen under the course's gradebook lock.
        with locked(self.root):
            ensure_assignment(self.root, self.assignment)
            self.gradebook = Gradebook(db_url(self.root), COURSE_ID)
        return self

    def __exit__(self, *exc):
        self.gradebook.close()

    def record(self, result: NotebookResult) -> None:
        """Auto scores into the gradebook, and the autograded notebook that feedback renders."""
        from nbgrader.api import MissingEntry

        gb, name = self.gradebook, self.assignment.name
        with locked(self.root), warnings.catch_warnings():
            # nbgrader's add_submission triggers a harmless SQLAlchemy "not in session" warning.
            warnings.simplefilter("ignore", category=Warning)
            gb.update_or_create_student(result.student)
            try:
                gb.find_submission(name, result.student)
            except MissingEntry:
                gb.add_submission(name, result.student)
            for exercise in result.exercises:
                for cell, points in exercise.cells.items():
                    gb.find_grade(cell, self.assignment.notebook, name, result.student).auto_score = points
            for cell in self.unscored:
                gb.find_grade(cell, self.assignment.notebook, name, result.student).auto_score = 0.0
            gb.db.commit()
        try:
            submitted = notebooks.read_trusted(Path(result.path))
        except (OSError, ValueError):
            submitted = None
        write_autograded(self.root, self.assignment, self.release, submitted, result)


def write_autograded(root: Path, assignment: Assignment, release, submission_nb,
                     result: NotebookResult) -> Path:
    """The notebook nbgrader's generate_feedback renders: release cells + the student's answers,
    with each test cell showing our feedback and its points."""
    released = {notebooks.grade_id(c): c for c in release.cells if notebooks.grade_id(c)}
    feedback = {}
    for exercise in result.exercises:
        cells = list(exercise.cells.items())
        for index, (cell, points) in enumerate(cells):
            text = (exercise.feedback if index == len(cells) - 1
                    else f"{exercise.name}: {points:g} point(s) for this cell; details in the last test cell")
            feedback[cell] = (text, points)
    answers: dict[str, object] = {}
    for cell in submission_nb.cells if submission_nb is not None else []:
        gid = notebooks.grade_id(cell)
        if gid in released and notebooks.nbgrader(released[gid]).get("solution") and gid not in answers:
            answers[gid] = cell.get("source", "")
    out = copy.deepcopy(release)
    for cell in out.cells:
        gid = notebooks.grade_id(cell)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if gid in answers:
            cell.source = answers[gid]
        if gid in feedback:
            text, points = feedback[gid]
            cell.outputs = [{"output_type": "stream", "name": "stdout", "text": text + "\n"},
                            {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                             "data": {"text/plain": f"{points:g}"}}]
    folder = root / "autograded" / result.student / assignment.name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment.notebook}.ipynb"
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
