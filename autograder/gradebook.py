"""Recording results where nbgrader looks for them.

* Scores go into nbgrader's gradebook through nbgrader's own API (one auto score per test cell),
  so the formgrader, ``nbgrader generate_feedback``, ``release_feedback`` and ``export`` work on
  them. Writes are serialized with a lock file, so two graders on one course are safe.
* The autograded notebook (``autograded/<student>/<assignment>/``) is the student's submitted
  notebook, sanitized the way ``nbgrader autograde`` does it (outputs cleared, duplicated ids
  dropped, locked cells restored from the release by nbgrader's own preprocessors), with each
  graded test cell's output holding our feedback for that function. ``timestamp.txt`` comes along,
  and the submission's timestamp and late penalty are set as ``nbgrader autograde`` sets them.
* A submission that could not be graded (unreadable, another assignment's notebook, two
  notebooks) still gets its row: 0 points, and the reason on top of its feedback page.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import fcntl
import html
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from autograder.course import Assignment
from autograder.results import NotebookResult

COURSE_ID = "conv-from-scratch"


def _scripts_on_path() -> None:
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


def course_config(root: Path):
    """The course's nbgrader_config.py as a traitlets Config (late penalty, OverwriteCells, ...)."""
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()


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
        config = course_config(root)
        config.CourseDirectory.root = str(root)
        config.CourseDirectory.release_directory = release
        config.CourseDirectory.db_url = db_url(root)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        done = api.generate_assignment(assignment.name, force=True)
    if not done.get("success"):
        raise RuntimeError(f"nbgrader could not register {assignment.name} in the gradebook:\n"
                           f"{(done.get('error') or done.get('log') or '')[-2000:]}")


def submission_folder(root: Path, result: NotebookResult) -> Path:
    """submitted/<student>/<assignment>/ when the notebook is there, else the notebook's folder."""
    path = Path(result.path)
    folder = root / "submitted" / result.student / result.assignment
    with contextlib.suppress(ValueError):
        path.resolve().relative_to(folder.resolve())
        return folder
    return path.parent


def read_timestamp(folder: Path):
    """The submission time nbgrader's exchange wrote (timestamp.txt), as UTC, or None."""
    from nbgrader.utils import parse_utc

    try:
        text = (folder / "timestamp.txt").read_text().strip()
    except OSError:
        return None
    try:
        return parse_utc(text) if text else None
    except (ValueError, OverflowError):
        return None


def feedback_by_cell(result: NotebookResult) -> dict[str, str]:
    """The text shown under each graded test cell: a function's full feedback under its last
    test cell, a pointer to it under the others."""
    shown: dict[str, str] = {}
    for exercise in result.exercises:
        cells = list(exercise.cells.items())
        for index, (cell, points) in enumerate(cells):
            shown[cell] = (exercise.feedback if index == len(cells) - 1 else
                           f"{exercise.name}: {points or 0:g} point(s) for this cell; the details are under "
                           "its last test cell")
    return shown


def figures_by_cell(result: NotebookResult) -> dict[str, str]:
    """The picture of a function's first wrong array (base64 PNG), under its last test cell."""
    return {list(exercise.cells)[-1]: exercise.figure for exercise in result.exercises
            if exercise.figure and exercise.cells}


def figure_output(png_base64: str):
    import nbformat

    return nbformat.v4.new_output("display_data", data={
        "image/png": png_base64, "text/plain": "picture: input, expected, your output, difference"})


def feedback_output(text: str):
    """A display output that renders wrapped in nbgrader's HTML (and as plain text elsewhere)."""
    import nbformat

    page = ('<pre class="autograder-feedback" style="white-space: pre-wrap; word-break: break-word;">'
            f"{html.escape(text)}</pre>")
    return nbformat.v4.new_output("display_data", data={"text/plain": text, "text/html": page})


def carry_exchange_files(submitted: Path, notebook: Path, autograded: Path) -> None:
    """timestamp.txt and submission_secret.txt, as `nbgrader autograde` carries them over:
    generate_feedback copies them on, and release_feedback names the released file with them.

    A submission collected by hand has neither: it gets the notebook's modification time (lateness
    is not judged on it; the gradebook's timestamp stays empty) and a secret of its own, so that
    release_feedback still releases everyone else's (no student can fetch that one)."""
    for name in ("timestamp.txt", "submission_secret.txt"):
        if (submitted / name).is_file():
            shutil.copyfile(submitted / name, autograded / name)
        elif name == "timestamp.txt":
            try:
                seconds = notebook.stat().st_mtime
            except OSError:
                seconds = time.time()
            when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
            (autograded / name).write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        elif not (autograded / name).is_file():
            (autograded / name).write_text(secrets.token_hex(64))


class SourceCells:
    """The part of nbgrader's Gradebook that OverwriteCells reads (the release's cells of one
    notebook), loaded from the gradebook once per run instead of queried per cell."""

    def __init__(self, gradebook, assignment: Assignment):
        from nbgrader.api import MissingEntry

        self.missing = MissingEntry
        self.notebook = gradebook.find_notebook(assignment.notebook, assignment.name)
        self.source = {cell.name: cell for cell in self.notebook.source_cells}
        self.graded = {cell.name: cell for cell in [*self.notebook.grade_cells, *self.notebook.task_cells]}

    def find_notebook(self, notebook_id, assignment_id):
        return self.notebook

    def find_source_cell(self, name, notebook_id, assignment_id):
        if name not in self.source:
            raise self.missing(name)
        return self.source[name]

    def find_graded_cell(self, name, notebook_id, assignment_id):
        if name not in self.graded:
            raise self.missing(name)
        return self.graded[name]


class GradebookWriter:
    """One gradebook session for a grading run; each result is committed when it is recorded (so
    a killed run loses nothing), under a lock file shared with other graders of the course."""

    def __init__(self, root: Path, assignment: Assignment):
        self.root, self.assignment = root, assignment

    def __enter__(self):
        import nbformat
        from nbgrader.api import Gradebook
        from nbgrader.plugins import LateSubmissionPlugin

        self.release = nbformat.read(self.assignment.release_path(self.root), as_version=4)
        self.config = course_config(self.root)
        # Creating the database and registering the assignment race between two graders starting
        # at once on a fresh course: both happen under the course's gradebook lock.
        with locked(self.root):
            ensure_assignment(self.root, self.assignment)
            self.gradebook = Gradebook(db_url(self.root), COURSE_ID)
        source = self.gradebook.find_notebook(self.assignment.notebook, self.assignment.name)
        self.auto_cells = {c.name for c in source.grade_cells if c.cell_type == "code"} - \
            {c.name for c in source.solution_cells}
        self.late = LateSubmissionPlugin(config=self.config)
        self.source = SourceCells(self.gradebook, self.assignment)
        self.released_meta = {meta["grade_id"]: meta for cell in self.release.cells
                              if (meta := cell.metadata.get("nbgrader")) and "grade_id" in meta}
        return self

    def __exit__(self, *exc):
        self.gradebook.close()

    # -- what the gradebook holds ---------------------------------------------------------------

    def recorded(self) -> dict[str, dict[str, tuple[float | None, float | None]]]:
        """Per student, per grade cell: (auto score, manual score) as the gradebook has them."""
        found: dict[str, dict[str, tuple[float | None, float | None]]] = {}
        for submission in self.gradebook.assignment_submissions(self.assignment.name):
            cells = found.setdefault(submission.student_id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = (grade.auto_score, grade.manual_score)
        return found

    def expected_auto_scores(self, result: NotebookResult) -> dict[str, float]:
        if result.status != "graded":
            return dict.fromkeys(self.auto_cells, 0.0)
        scores = dict.fromkeys(self.auto_cells, 0.0)  # 0-point visible checks get 0, as in nbgrader
        for exercise in result.exercises:
            scores.update({cell: points or 0.0 for cell, points in exercise.cells.items()})
        return scores

    def is_recorded(self, result: NotebookResult, recorded: dict) -> bool:
        """Whether the gradebook and autograded/ already hold exactly this result."""
        cells = recorded.get(result.student)
        if cells is None or not self.autograded_path(result.student).is_file():
            return False
        return all(cells.get(cell, (None,))[0] == points for cell, points in self.expected_auto_scores(result).items())

    def autograded_path(self, student: str) -> Path:
        return self.root / "autograded" / student / self.assignment.name / f"{self.assignment.notebook}.ipynb"

    # -- writing --------------------------------------------------------------------------------

    def record(self, result: NotebookResult) -> None:
        self.record_many([result])

    def record_many(self, results: list[NotebookResult]) -> None:
        """Scores, timestamps and late penalties into the gradebook in one transaction, then the
        autograded notebooks beside. When this returns, all of them are committed."""
        from nbgrader.api import MissingEntry

        gb, name = self.gradebook, self.assignment.name
        folders = [submission_folder(self.root, result) for result in results]
        with locked(self.root), warnings.catch_warnings():
            # nbgrader's add_submission triggers a harmless SQLAlchemy "not in session" warning.
            warnings.simplefilter("ignore", category=Warning)
            for result, folder in zip(results, folders, strict=True):
                timestamp = read_timestamp(folder)
                try:
                    gb.find_student(result.student)
                except MissingEntry:
                    gb.add_student(result.student)
                try:
                    submission = gb.find_submission(name, result.student)
                    submission.timestamp = timestamp
                except MissingEntry:
                    submission = gb.add_submission(name, result.student, timestamp=timestamp)
                self._set_scores(submission, result)
            gb.db.commit()
        for result, folder in zip(results, folders, strict=True):
            self._write_autograded(result, folder)

    def _set_scores(self, submission, result: NotebookResult) -> None:
        notebook = self.gradebook.find_submission_notebook(self.assignment.notebook, self.assignment.name,
                                                           result.student)
        scores = self.expected_auto_scores(result)
        for grade in notebook.grades:
            if grade.name in scores:
                grade.auto_score = scores[grade.name]
                grade.needs_manual_grade = grade.manual_score is not None
            elif result.status != "graded":  # written answers of a submission we could not read
                grade.auto_score, grade.needs_manual_grade = 0.0, False
            else:  # a written answer: waits for a human unless one has graded it
                grade.auto_score = None
                grade.needs_manual_grade = grade.manual_score is None or grade.needs_manual_grade
        notebook.late_submission_penalty = None
        if submission.total_seconds_late > 0:
            self.gradebook.db.flush()
            self.gradebook.db.refresh(notebook)  # its score, with the grades just set
            notebook.late_submission_penalty = self._late_penalty(submission, notebook)

    def _late_penalty(self, submission, notebook) -> float | None:
        """nbgrader's AssignLatePenalties, with the plugin the course configured."""
        seconds = submission.total_seconds_late
        if not seconds or seconds <= 0:
            return None
        penalty = self.late.late_submission_penalty(submission.student_id, notebook.score, seconds)
        return None if penalty is None else min(max(penalty, 0.0), notebook.score)

    def _write_autograded(self, result: NotebookResult, folder: Path) -> Path:
        import nbformat
        from nbformat.v4 import nbjson

        out = None
        if result.status == "graded":
            try:
                out = self.sanitized(nbformat.read(result.path, as_version=4))
                self.attach_feedback(out, result)
            except Exception:  # noqa: BLE001 - graded, but nbgrader cannot restore it: show the release
                out = None
        if out is None:
            out = self.not_graded_notebook(result)
            self.attach_feedback(out, result)
        path = self.autograded_path(result.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".ipynb")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            # nbformat's own layout, without validating again what nbgrader's preprocessors produced
            stream.write(nbjson.writes(out) + "\n")
        os.replace(temporary, path)
        carry_exchange_files(folder, Path(result.path), path.parent)
        return path

    def sanitized(self, nb):
        """What `nbgrader autograde` makes of a submitted notebook before running it: outputs
        cleared, duplicated grade ids dropped, the kernelspec and every locked cell (and any
        deleted grade cell) restored from the release recorded in the gradebook, cell metadata
        checked (nbgrader's ClearOutput, DeduplicateIds, OverwriteCells, CheckCellMetadata)."""
        import nbformat
        from nbconvert.preprocessors import Preprocessor
        from nbformat.v4.nbbase import random_cell_id
        from nbgrader.nbgraderformat import MetadataValidator
        from nbgrader.preprocessors import ClearOutput, DeduplicateIds, OverwriteCells

        resources = {"nbgrader": {"notebook": self.assignment.notebook, "assignment": self.assignment.name,
                                  "db_url": db_url(self.root)}}
        nb, _ = ClearOutput(config=self.config).preprocess(nb, resources)
        nb, _ = DeduplicateIds(config=self.config).preprocess(nb, resources)
        nb.metadata["kernelspec"] = copy.deepcopy(self.release.metadata.get("kernelspec", {}))
        overwrite = OverwriteCells(config=self.config)
        # OverwriteCells.preprocess opens a connection per notebook and queries per cell: hand it
        # the release's cells, read from this run's gradebook once.
        overwrite.gradebook, overwrite.notebook_id, overwrite.assignment_id = (
            self.source, self.assignment.notebook, self.assignment.name)
        nb, _ = Preprocessor.preprocess(overwrite, nb, resources)
        # our feedback lives in the test cells: a student who deleted one gets it back
        nb, _ = overwrite.add_missing_grade_cells(nb, resources)
        nb, _ = overwrite.add_missing_task_cells(nb, resources)
        nb = nbformat.from_dict(nb)  # cells OverwriteCells added back hold plain dicts, and no id
        for cell in nb.cells:
            cell.setdefault("id", random_cell_id())
        # CheckCellMetadata, on the cells whose metadata is not the release's own (jsonschema costs
        # 5 ms a cell; the release's metadata was checked when it was generated)
        validator = MetadataValidator()
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader")
            if meta is not None and meta != self.released_meta.get(meta.get("grade_id")):
                validator.validate_cell(cell)
        return nb

    def not_graded_notebook(self, result: NotebookResult):
        """The release, headed by why the submission could not be graded."""
        import nbformat

        nb = copy.deepcopy(self.release)
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        reason = result.error or "the submitted notebook could not be read"
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(
            f"**Not graded: {html.escape(reason)}**\n\n"
            f"The grader could not use `{Path(result.path).name}`. Below is the released notebook "
            "(not your work); ask your instructor how to hand in again."))
        return nb

    def attach_feedback(self, nb, result: NotebookResult) -> None:
        from nbgrader import utils

        shown = feedback_by_cell(result)
        pictures = figures_by_cell(result)
        reason = f"not graded: {result.error}" if result.status != "graded" else None
        for cell in nb.cells:
            if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
                continue
            gid = cell.metadata["nbgrader"].get("grade_id")
            text = reason or shown.get(gid)
            if text is None and gid in self.auto_cells:
                text = "visible check: scored in the graded cells of this function"
            cell.outputs = [feedback_output(text)] if text else []
            if reason is None and gid in pictures:
                cell.outputs.append(figure_output(pictures[gid]))
            cell.execution_count = None
