"""`nbgrader autograde` and the formgrader's Autograde button, graded in the sandbox.

nbgrader 0.9.6 makes its autograde verb of configurable steps (``converters/autograde.py``): its
exporter reads each submitted notebook, ``sanitize_preprocessors`` clean it and it is written to
autograded/; then it is read back and ``autograde_preprocessors`` run, the first of which,
``Execute``, runs every cell in a kernel in the student's folder, in the instructor's account. The
course's nbgrader_config.py swaps three steps for the ones here:

* :func:`pick_notebook` (``Autograde.pre_convert_hook``): nbgrader converts the released notebook's
  name in each student's folder, so that a renamed notebook or another assignment's is not skipped
  as "unknown" (failing that student with nbgrader's message) but graded, or refused, as
  ``python -m autograder grade`` does it;
* :class:`SubmissionExporter` (``Autograde.exporter_class``): reads the notebook the grader grades
  (:func:`autograder.submissions.find_student`) through the grader's guarded reader; one that
  cannot be graded is read as the release, so nbgrader's sanitizing never meets a broken file;
* :class:`GradeInSandbox`, in place of ``Execute``: grades the submission with
  :func:`autograder.grading.grade`, as ``python -m autograder grade`` does (same cases, static
  policy, limits, one sandboxed process per graded function, per-student seeds from
  ``c.Autograder.per_student_seeds``), and writes into each graded test cell the function's feedback,
  its picture and, as the cell's result, the points earned: nbgrader takes a test cell's numeric
  result as its partial credit (``nbgrader.utils.determine_grade``). A submission that cannot be
  graded becomes the release headed by the reason, with 0 and the reason in every test cell.

nbgrader's own steps then run unchanged: SaveAutoGrades records the points, AssignLatePenalties the
penalty, and generate_feedback, the formgrader and export read them. Student code never runs in
nbgrader's process (nor does the reference's, for sibling calls: it has a process of its own). One
worker server serves a process: started for its first notebook, reused by the next ones and by the
next runs (the formgrader's process runs one per click), stopped after :data:`IDLE_SECONDS` without
a notebook and when the process exits. Each result is also stored as ``grade`` stores it, so
``python -m autograder report`` and ``grade`` see it.
"""

from __future__ import annotations

import atexit
import dataclasses
import datetime
import os
import threading
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Float, Integer, Unicode

from autograder import gradebook, grading, sandbox, schedule, submissions
from autograder import notebooks as notebook_files
from autograder.course import ASSIGNMENTS, Assignment
from autograder.course_paths import CoursePaths
from autograder.feedback.notebook import (
    VISIBLE_CHECK,
    feedback_by_cell,
    feedback_output,
    figure_output,
    figures_by_cell,
)
from autograder.feedback.notebook import not_graded as not_graded_text
from autograder.results import NotebookResult
from autograder.sandbox.runner import WorkerServer
from autograder.shadows import notebook_schema
from autograder.store import ResultStore
from autograder.submissions import Submission

#: nbgrader's autograde steps with Execute replaced (nbgrader_config.py sets this list).
STEPS = [
    "autograder.nbgrader_autograde.GradeInSandbox",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
#: Seconds a worker server is kept after its last notebook (the formgrader's process lives on).
IDLE_SECONDS = 120.0


class NotGradable(Exception):
    """A notebook nbgrader asked to autograde that is none of the course's (autograder.course)."""


# -- which notebook nbgrader reads ------------------------------------------------------------


def pick_notebook(assignment: str, student: str, notebooks: list[str]) -> None:
    """nbgrader's pre_convert_hook, called with the list of one student's notebooks that nbgrader is
    about to convert: the list becomes the released notebook's name in that folder (whether or not
    the student's file has that name), which :class:`SubmissionExporter` then reads as the grader
    picks it. Folders of assignments the course does not have are left alone."""
    folders = {os.path.dirname(path) for path in notebooks}
    if len(folders) != 1:
        return
    folder = folders.pop()
    ours = ASSIGNMENTS.get(os.path.basename(folder))
    if ours is not None:
        notebooks[:] = [os.path.join(folder, f"{ours.notebook}.ipynb")]


def to_grade(root: Path, assignment: Assignment, student: str) -> list[Submission]:
    """What ``python -m autograder grade`` grades for this student: the notebook it grades first, then
    any others it reports (each with its problem, if it cannot be graded: two notebooks, another
    assignment's, unreadable exchange files, ...)."""
    found = submissions.find_student(root, assignment, student)
    folder = CoursePaths(root).submitted(student, assignment.name)
    found = found or [Submission(student, folder / f"{assignment.notebook}.ipynb", f"no notebook in {folder}")]
    found.sort(key=lambda submission: submission.problem is not None)
    return [dataclasses.replace(schedule.exchange_checked(root, assignment, submission), student=student)
            for submission in found]


def _course_root(configurable) -> Path:
    """The course root of the nbgrader run a step belongs to (nbgrader runs from it)."""
    owner = configurable
    while owner is not None:
        coursedir = getattr(owner, "coursedir", None)
        if coursedir is not None:
            return Path(coursedir.root)
        owner = getattr(owner, "parent", None)
    return Path.cwd()


class SubmissionExporter(NotebookExporter):
    """nbgrader's exporter for autograde: a submitted notebook is read as the grader reads it. When
    the grader could not grade it (unreadable, another assignment's, two notebooks...), nbgrader
    sanitizes the release instead; :class:`GradeInSandbox` then heads it with the reason. Notebooks
    outside submitted/ (nbgrader's second reading, of autograded/) are read as nbgrader reads them."""

    def from_filename(self, filename, resources=None, **kw):
        info = (resources or {}).get("nbgrader", {})
        assignment = ASSIGNMENTS.get(info.get("assignment"))
        root = _course_root(self)
        folder = CoursePaths(root).submitted(str(info.get("student")), str(info.get("assignment")))
        if assignment is None or os.path.realpath(os.path.dirname(filename)) != os.path.realpath(folder):
            return super().from_filename(filename, resources, **kw)
        submission = to_grade(root, assignment, info["student"])[0]
        path, nb = submission.path, None
        if not submission.problem:
            try:
                notebook_files.read(path)  # the grader's guarded reader: size, depth, types...
                nb = nbformat.read(path, as_version=4)
                # what nbgrader's steps validate after each step, as the grader's autograded notebook has
                # it: bad cell ids, tags and the like would fail them and lose the autograded folder
                notebook_files.with_cell_ids(nb)
                notebook_schema.made_valid(nb)
            except Exception:  # noqa: BLE001 - whatever is wrong, GradeInSandbox says it
                nb = None
        if nb is None:
            path = assignment.release_path(root)
            nb = nbformat.read(path, as_version=4)
        resources = resources if resources is not None else {}
        resources["metadata"] = {"name": Path(filename).stem, "path": os.path.dirname(filename),
                                 "modified_date": _modified(path)}
        return self.from_notebook_node(nb, resources, **kw)


def _modified(path: Path) -> str:
    """A file's modification date as nbconvert's exporters give it."""
    when = datetime.datetime.fromtimestamp(os.path.getmtime(path), tz=datetime.UTC)
    return when.strftime("%B %-d, %Y")


# -- grading -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a grading session depends on (one worker server and context per distinct value)."""

    root: Path
    assignment: str
    timeout: float
    memory_mb: int
    per_student_seeds: bool
    sandbox: str


class Session:
    """The grading context and the worker server of one assignment in this process."""

    def __init__(self, settings: Settings, fingerprint: tuple):
        self.settings, self.fingerprint = settings, fingerprint
        assignment = ASSIGNMENTS[settings.assignment]
        limits = grading.Limits(settings.timeout, settings.memory_mb, sandbox.process_limit())
        self.ctx = grading.Context(settings.root, assignment, limits, settings.per_student_seeds)
        seeds = "per-student" if settings.per_student_seeds else ""
        # the same store, under the same options, as `python -m autograder grade` with these limits
        self.store = ResultStore(settings.root, assignment, f"{limits.timeout}/{limits.memory_mb}/{seeds}")
        self.server: WorkerServer | None = None
        self.lock = threading.Lock()
        self.timer: threading.Timer | None = None

    def grade(self, student: str) -> NotebookResult:
        """Grade a student's submission in the sandbox and store the result, as `grade` does (and
        the error rows of the other notebooks it reports, such as a second one)."""
        first, *others = to_grade(self.settings.root, self.ctx.assignment, student)
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            if self.server is None:
                self.server = WorkerServer(self.settings.sandbox)
            level = self.server.level
            try:
                result = grading.grade(self.ctx, first, self.server)
            except Exception as exc:  # noqa: BLE001 - one submission never stops nbgrader's run
                result = grading.error_result(self.ctx, first, f"grader error: {type(exc).__name__}: {exc}")
            finally:
                self.timer = threading.Timer(IDLE_SECONDS, self.stop)
                self.timer.daemon = True
                self.timer.start()
        results = [(first, result)] + [(other, grading.error_result(self.ctx, other, other.problem, level))
                                       for other in others if other.problem]
        for submission, each in results:
            self.store.save(submission.path, schedule.valid_text(each), submission.problem)
        return schedule.valid_text(result)

    def stop(self) -> None:
        """End the worker server and the sibling-call answerers (started again when needed)."""
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
            if self.server is not None:
                self.server.stop()
                self.server = None
            self.ctx.close()


_sessions: dict[Settings, Session] = {}
_sessions_lock = threading.Lock()


def session(settings: Settings) -> Session:
    """This process's session for `settings`; a new one once source/ or the release changed."""
    assignment = ASSIGNMENTS[settings.assignment]
    fingerprint = tuple(_stat(path) for path in (assignment.source_path(settings.root),
                                                 assignment.release_path(settings.root)))
    with _sessions_lock:
        current = _sessions.get(settings)
        if current is not None and current.fingerprint != fingerprint:
            current.stop()
            current = None
        if current is None:
            current = _sessions[settings] = Session(settings, fingerprint)
        return current


def _stat(path: Path) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_mtime_ns, info.st_size


@atexit.register
def stop_all() -> None:
    """Stop every session's processes (at the process's exit)."""
    with _sessions_lock:
        for current in _sessions.values():
            current.stop()


class GradeInSandbox(NbGraderPreprocessor):
    """In place of nbgrader's Execute: grade the submission in the sandbox and write what
    nbgrader's SaveAutoGrades reads into each graded test cell (see the module's docstring)."""

    timeout = Float(10.0, help="seconds per graded function and per notebook cell "
                               "(python -m autograder grade --timeout)").tag(config=True)
    memory_mb = Integer(2048, help="MiB of memory per submission (grade --memory)").tag(config=True)
    sandbox = Unicode("auto", help="containment level: auto, bubblewrap or rlimits (grade --sandbox)").tag(config=True)

    def settings(self, assignment: Assignment) -> Settings:
        seeds = "Autograder" in self.config and bool(self.config.Autograder.get("per_student_seeds", False))
        return Settings(_course_root(self), assignment.name, self.timeout, self.memory_mb, seeds, self.sandbox)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        assignment = ASSIGNMENTS.get(info["assignment"])
        if assignment is None or info["notebook"] != assignment.notebook:
            raise NotGradable(f"{info['assignment']}/{info['notebook']}.ipynb is not a notebook of this course "
                              "(autograder/course.py): the grader has no cases for it")
        if sandbox.level(self.sandbox) != "bubblewrap":
            self.log.warning(sandbox.NOT_CONTAINED)
        grader = session(self.settings(assignment))
        result = grader.grade(info["student"])
        if result.status != "graded":
            self.log.warning("%s: not graded: %s", info["student"], result.error)
            headed = gradebook.not_graded_notebook(grader.ctx.release, result)  # what `grade` records for it
            nb.cells = [nbformat.from_dict(cell) for cell in headed.cells]
            nothing_by_hand(info)
        record(nb, result)
        return nb, resources


def nothing_by_hand(info: dict) -> None:
    """A submission that could not be graded leaves nothing to grade by hand: every grade 0, none
    waiting for a human, as nbgrader records a notebook that was not handed in (and `grade` records
    such a submission). SaveAutoGrades then scores the release's cells, 0 each; this reaches the
    task cells (written questions) too, which it leaves alone."""
    from nbgrader.api import Gradebook

    with Gradebook(info["db_url"]) as gb:
        notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
        for grade in notebook.grades:
            grade.auto_score, grade.needs_manual_grade = 0, False
        gb.db.commit()


def record(nb, result: NotebookResult) -> None:
    """Into each graded test cell of `nb`: the text ``python -m autograder grade`` gives for it (a
    function's feedback under its last test cell), the picture of its first wrong array, and the
    points earned as the cell's result. Every graded test cell gets its points from `result`, 0
    when it has none (never nbgrader's full credit for a cell without output)."""
    shown = feedback_by_cell(result)
    pictures = figures_by_cell(result)
    earned = {cell: points for e in result.exercises for cell, points in e.cells.items()}
    reason = not_graded_text(result.error) if result.status != "graded" else None
    for cell in nb.cells:
        meta = notebook_files.nbgrader(cell)
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        gid = notebook_files.grade_id(cell)
        outputs = [feedback_output(reason or shown.get(gid) or VISIBLE_CHECK)]
        if reason is None and gid in pictures:
            outputs.append(figure_output(pictures[gid]))
        most = float(meta.get("points", 0) or 0)
        if most > 0:
            points = min(max(float(earned.get(gid) or 0.0), 0.0), most)  # an error row has none
            outputs.append({"output_type": "execute_result", "execution_count": None, "metadata": {},
                            "data": {"text/plain": repr(points)}})  # exactly, as `grade` records it
        cell.outputs = [nbformat.from_dict(dict(output)) for output in outputs]
        cell.execution_count = None
