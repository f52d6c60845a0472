"""What still goes through nbgrader itself: creating a gradebook and registering an assignment
(a fresh course, run once, in the background while grading starts), the course's late penalty
plugin (only when a submission is late), and nbgrader's commands. Everything here imports nbgrader
lazily: a run on a course whose gradebook already knows the assignment never calls it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from autograder import course_config
from autograder.course import Assignment, CourseError
from autograder.course_paths import CoursePaths

COURSE_ID = "conv-from-scratch"


def db_url(root: Path) -> str:
    return CoursePaths(root).db_url


def nbgrader_command(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run an nbgrader command from the course root with this interpreter's nbgrader."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=root, env=env,
                          capture_output=True, text=True)


def run_nbgrader(root: Path, *args: str) -> None:
    """`nbgrader_command`, a CourseError with nbgrader's own words when it fails."""
    done = nbgrader_command(root, *args)
    if done.returncode != 0:
        raise CourseError(f"'nbgrader {' '.join(args)}' failed:\n{(done.stderr or done.stdout)[-3000:]}")


def _scripts_on_path() -> None:
    """nbgrader's Gradebook runs the `alembic` command: make this interpreter's scripts findable."""
    scripts = os.path.dirname(sys.executable)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def alembic_head() -> str:
    """The schema version nbgrader stamps a new gradebook with, read from nbgrader's own alembic
    scripts in this process (nbgrader itself spawns the `alembic heads` command for it)."""
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


def stamp_in_process() -> None:
    """Make nbgrader's Gradebook create a new database without a subprocess: same tables
    (SQLAlchemy's create_all, as before), same alembic_version row."""
    import nbgrader.api

    if getattr(nbgrader.api.get_alembic_version, "__module__", "") != __name__:
        head = alembic_head()

        def get_alembic_version() -> str:
            return head

        nbgrader.api.get_alembic_version = get_alembic_version


def ensure_assignment(root: Path, assignment: Assignment) -> None:
    """Make sure the gradebook knows the assignment's cells, as `nbgrader generate_assignment`
    records them: nbgrader's GenerateAssignment, run in this process through nbgrader's API,
    released into a throwaway folder (assignments/ is never touched). Call it holding `locked(root)`."""
    from nbgrader.api import Gradebook, MissingEntry

    _scripts_on_path()
    stamp_in_process()
    with Gradebook(db_url(root), COURSE_ID) as gb:
        try:
            gb.find_notebook(assignment.notebook, assignment.name)
            return
        except MissingEntry:
            pass
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    with tempfile.TemporaryDirectory() as release:
        config = course_config.for_nbgrader(root)
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.release_directory = release
        config.CourseDirectory.db_url = db_url(root)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        done = api.generate_assignment(assignment.name, force=True)
    if not done.get("success"):
        raise RuntimeError(f"nbgrader could not register {assignment.name} in the gradebook:\n"
                           f"{(done.get('error') or done.get('log') or '')[-2000:]}")


class LatePenalty:
    """The late penalty the course configured (nbgrader's AssignLatePenalties with its plugin,
    `c.AssignLatePenalties.plugin_class`, default LateSubmissionPlugin and its `penalty_method`),
    loaded the first time a submission is late."""

    def __init__(self, root: Path):
        self.root, self.plugin = root, None

    def __call__(self, student: str, score: float, seconds_late: float) -> float | None:
        if self.plugin is None:
            from nbgrader.preprocessors import AssignLatePenalties

            assigner = AssignLatePenalties(config=course_config.for_nbgrader(self.root))
            assigner.init_plugin()
            self.plugin = assigner.plugin_inst
        penalty = self.plugin.late_submission_penalty(student, score, seconds_late)
        # AssignLatePenalties._check_late_penalty: never below 0, never above the score
        return None if penalty is None else min(max(penalty, 0.0), score)
