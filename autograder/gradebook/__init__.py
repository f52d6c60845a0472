"""Recording results where nbgrader looks for them.

* Scores go into nbgrader's gradebook (gradebook.db), one auto score per test cell, in the rows
  nbgrader's own API would make (``autograder.shadows.gradebook_rows``: sqlite3 in nbgrader 0.9.6's
  schema, checked against the gradebook's alembic revision; nbgrader's API on another version of
  nbgrader), so the formgrader, ``nbgrader generate_feedback``,
  ``release_feedback`` and ``export`` work on them. A batch of results commits in one transaction
  under a lock file shared with other graders of the course, before ``record_many`` returns.
* Only a fresh course goes through nbgrader (``nbgrader_side``): creating the gradebook and
  registering the assignment, in the background while grading starts; and a late submission
  loads the course's late penalty plugin. A regrade imports neither nbgrader nor SQLAlchemy.
* The autograded notebook (``autograded/<student>/<assignment>/``) is the student's submitted
  notebook, sanitized as ``nbgrader autograde`` does it (``autograder.shadows.sanitize``, or
  nbgrader's preprocessors on another version: outputs cleared, duplicated ids dropped, locked
  cells restored from the release, deleted ones added back; then ``html_safety.make_inert``), with
  each graded test cell's output holding our feedback for that function. ``timestamp.txt`` comes
  along, and the submission's timestamp and late penalty are set as ``nbgrader autograde`` sets
  them.
* A submission that could not be graded (unreadable, another assignment's notebook, two
  notebooks) still gets its row: 0 points, and the reason on top of its feedback page.
* One result never costs the others theirs: each result's rows are written under a savepoint of
  the batch's transaction and its autograded notebook on its own; `record_many` says which could
  not be recorded and why, and commits all the others.
* timestamp.txt and submission_secret.txt are read as nbgrader's commands read them back
  (`exchange_file`): one that is not UTF-8 text (or not a time, or an empty secret) would stop
  `nbgrader release_feedback` for the whole class, so it is reported (`exchange_problem`, an error
  row for that student) and never carried into autograded/.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import html
import os
import secrets
import time
from pathlib import Path

from autograder import course_config, notebooks, shadows
from autograder.course import Assignment
from autograder.course_paths import CoursePaths
from autograder.feedback.notebook import (
    VISIBLE_CHECK,
    feedback_by_cell,
    feedback_output,
    figure_output,
    figures_by_cell,
    not_graded,
)
from autograder.files import write_atomically
from autograder.gradebook import html_safety
from autograder.gradebook.nbgrader_side import (
    COURSE_ID,
    LatePenalty,
    alembic_head,
    db_url,
    ensure_assignment,
    nbgrader_command,
)
from autograder.notebooks import NotebookError
from autograder.results import NotebookResult
from autograder.shadows import gradebook_rows, notebook_schema, sanitize, timestamps
from autograder.shadows.gradebook_rows import ALEMBIC_HEAD, GradebookError

__all__ = ["ALEMBIC_HEAD", "COURSE_ID", "EXCHANGE_FILES", "GradebookError", "GradebookWriter", "alembic_head",
           "db_url", "ensure_assignment", "exchange_file", "exchange_problem", "feedback_by_cell",
           "feedback_output", "figure_output", "figures_by_cell", "folder_of", "locked", "nbgrader_command",
           "not_graded_notebook", "read_timestamp", "submission_folder"]

#: The files of nbgrader's exchange that come with a submission (and go on to autograded/, feedback/).
EXCHANGE_FILES = ("timestamp.txt", "submission_secret.txt")
MAX_EXCHANGE_FILE = 64 * 1024  # bytes; nbgrader writes about 30 (a time) and 128 (a secret)
_RESTORE = {
    "timestamp.txt": "the submission time is unknown (so lateness cannot be judged); restore the timestamp.txt "
                     "nbgrader's exchange wrote, or delete it to grade without a submission time, and grade again",
    "submission_secret.txt": "nbgrader's release_feedback could not read it; restore the submission_secret.txt "
                             "nbgrader's exchange wrote, or delete it (you then hand this student's feedback out "
                             "yourself), and grade again",
}


@contextlib.contextmanager
def locked(root: Path):
    lock = CoursePaths(root).gradebook_lock
    lock.parent.mkdir(exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def submission_folder(root: Path, result: NotebookResult) -> Path:
    """submitted/<student>/<assignment>/ when the notebook is there, else the notebook's folder."""
    return folder_of(root, result.student, result.assignment, Path(result.path))


def folder_of(root: Path, student: str, assignment: str, path: Path) -> Path:
    """The submission folder of a notebook (see `submission_folder`)."""
    folder = CoursePaths(root).submitted(student, assignment)
    with contextlib.suppress(ValueError):
        # os.path.realpath: Path.resolve raises on a link to itself
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
        return folder
    return path.parent


def parse_utc(text: str):
    """nbgrader.utils.parse_utc (its shadow, or nbgrader's own): a naive datetime in UTC, or
    ValueError."""
    return timestamps.parse_utc(text) if shadows.in_force("nbgrader") else timestamps.by_nbgrader(text)


def exchange_file(folder: Path, name: str) -> bytes | None:
    """The bytes of timestamp.txt or submission_secret.txt in a submission folder, when nbgrader's
    commands can read them back: a small regular file of UTF-8 text, a time nbgrader parses (or
    nothing), a secret that is not empty. None when the folder has no such file; a NotebookError
    saying what is wrong and what to do otherwise."""
    path = folder / name
    try:
        os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise NotebookError(f"{path}: not a readable {name} ({exc.strerror or exc}): make the submission folder "
                            "readable by the grader (chmod -R u+rX) and grade again") from None
    data = notebooks.read_bytes(path, MAX_EXCHANGE_FILE, name, _RESTORE[name])
    text = notebooks.utf8(data, path, name, _RESTORE[name])
    if name == "timestamp.txt" and text.strip():
        try:
            parse_utc(text.strip())
        except ValueError:
            raise NotebookError(f"{path}: not a readable {name} ({text.strip()[:60]!r} is not a time nbgrader "
                                f"reads): {_RESTORE[name]}") from None
    if name == "submission_secret.txt" and not text:
        raise NotebookError(f"{path}: not a readable {name} (it is empty): {_RESTORE[name]}")
    return data


def exchange_problem(folder: Path) -> str | None:
    """Why the exchange files of a submission folder cannot be used (see `exchange_file`), else None."""
    for name in EXCHANGE_FILES:
        try:
            exchange_file(folder, name)
        except NotebookError as exc:
            return str(exc)
    return None


def read_timestamp(folder: Path):
    """The submission time nbgrader's exchange wrote (timestamp.txt), as naive UTC, or None (also
    when it cannot be read: `exchange_problem` reports that)."""
    try:
        data = exchange_file(folder, "timestamp.txt")
    except NotebookError:
        return None
    text = data.decode("utf-8").strip() if data else ""
    return parse_utc(text) if text else None


def carry_exchange_files(submitted: Path, notebook: Path, autograded: Path) -> None:
    """timestamp.txt and submission_secret.txt, as `nbgrader autograde` carries them over:
    generate_feedback copies them on, and release_feedback names the released file with them.

    A submission collected by hand has neither: it gets the notebook's modification time (lateness
    is not judged on it; the gradebook's timestamp stays empty) and a secret of its own, so that
    release_feedback still releases everyone else's (no student can fetch that one). A file that
    nbgrader could not read back (`exchange_file`) is treated as missing: its submission is an
    error row that says so, and release_feedback still works for the whole class."""
    for name in EXCHANGE_FILES:
        try:
            data = exchange_file(submitted, name)
        except NotebookError:
            data = None
        if data is not None:
            (autograded / name).write_bytes(data)
        elif name == "timestamp.txt":
            try:
                seconds = notebook.stat().st_mtime
            except OSError:
                seconds = time.time()
            when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
            (autograded / name).write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
        elif not (autograded / name).is_file():
            (autograded / name).write_text(secrets.token_hex(64))


class GradebookWriter:
    """One gradebook session for a grading run. `record_many` commits a batch in one transaction
    (so a killed run loses nothing it reported), under a lock file shared with other graders."""

    def __init__(self, root: Path, assignment: Assignment):
        self.root, self.assignment = root, assignment
        self.path = CoursePaths(root).gradebook

    def __enter__(self):
        self.release = notebooks.read(self.assignment.release_path(self.root))
        settings = course_config.load(self.root)
        self.removed_metadata = course_config.option(
            settings, ("ClearOutputPreprocessor", "ClearOutput"), "remove_metadata_fields", sanitize.REMOVED_METADATA)
        self.missing_cell_note = course_config.option(
            settings, ("OverwriteCells",), "missing_cell_notification", sanitize.MISSING_CELL_NOTE)
        # Creating the database and registering the assignment race between two graders starting
        # at once on a fresh course: both happen under the course's gradebook lock.
        with locked(self.root):
            self.rows = gradebook_rows.open_rows(self.path, db_url(self.root), COURSE_ID)
            try:
                self.rows.check_schema()
                book = self.rows.registered(COURSE_ID, self.assignment.name, self.assignment.notebook)
                if book is None:  # a fresh course: nbgrader creates and registers, once
                    ensure_assignment(self.root, self.assignment)
                    self.rows.check_schema()
                    book = self.rows.registered(COURSE_ID, self.assignment.name, self.assignment.notebook)
                if book is None:
                    raise GradebookError(f"{self.path} does not know {self.assignment.name}/"
                                         f"{self.assignment.notebook} although nbgrader registered it")
            except BaseException:
                self.rows.close()
                raise
        self.book = book
        self.auto_cells = book.auto_cells
        self.late = LatePenalty(self.root)
        return self

    def __exit__(self, *exc):
        self.rows.close()

    # -- what the gradebook holds ---------------------------------------------------------------

    def recorded(self) -> dict[str, dict[str, tuple[float | None, float | None]]]:
        """Per student, per grade cell: (auto score, manual score) as the gradebook has them."""
        return self.rows.recorded_grades(self.book)

    def expected_auto_scores(self, result: NotebookResult) -> dict[str, float]:
        scores = dict.fromkeys(self.auto_cells, 0.0)  # 0-point visible checks get 0, as in nbgrader
        if result.status != "graded":
            return scores
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
        return CoursePaths(self.root).autograded(student, self.assignment.name) / f"{self.assignment.notebook}.ipynb"

    # -- writing --------------------------------------------------------------------------------

    def record(self, result: NotebookResult) -> None:
        """One result; a GradebookError says why when it could not be recorded."""
        if problems := self.record_many([result]):
            raise GradebookError(f"{result.student}: {problems[0]}")

    def record_many(self, results: list[NotebookResult]) -> dict[int, str]:
        """Scores, timestamps and late penalties into the gradebook in one transaction, then the
        autograded notebooks beside. When this returns, all of them are committed, except those it
        returns: by index in `results`, why that one could not be recorded. A result's own rows
        are written under a savepoint, so one the gradebook refuses leaves them as they were and
        costs no other result its rows."""
        problems: dict[int, str] = {}
        folders = [submission_folder(self.root, result) for result in results]
        with locked(self.root), self.rows.transaction():
            for index, (result, folder) in enumerate(zip(results, folders, strict=True)):
                try:
                    with self.rows.savepoint():
                        notebook = self.rows.submission(self.book, result.student, read_timestamp(folder))
                        self._set_scores(notebook, result)
                except Exception as exc:  # noqa: BLE001 - the batch's bulkhead: this result's rows only
                    if not self.rows.in_transaction:
                        raise  # SQLite ended the whole transaction (disk full, I/O error): nothing is recorded
                    problems[index] = f"it could not be recorded in {self.path.name} ({type(exc).__name__}: {exc})"
        for index, (result, folder) in enumerate(zip(results, folders, strict=True)):
            if index in problems:
                continue
            try:
                self._write_autograded(result, folder)
            except Exception as exc:  # noqa: BLE001 - the bulkhead: this result's files only
                problems[index] = (f"its autograded notebook could not be written ({type(exc).__name__}: {exc}; "
                                   f"its scores are in {self.path.name})")
        return problems

    def _set_scores(self, notebook: str, result: NotebookResult) -> None:
        scores = self.expected_auto_scores(result)
        rows = self.rows.grades(notebook)
        for grade in rows:
            if grade.name in scores:
                grade.auto_score = scores[grade.name]
                grade.needs_manual_grade = grade.manual_score is not None
            elif result.status != "graded":  # written answers of a submission we could not read
                grade.auto_score, grade.needs_manual_grade = 0.0, False
            else:  # a written answer: waits for a human unless one has graded it
                grade.auto_score = None
                grade.needs_manual_grade = grade.manual_score is None or grade.needs_manual_grade
        self.rows.set_grades(rows)
        penalty = None
        seconds = self.rows.seconds_late(self.book, notebook)
        if seconds > 0:  # nbgrader's AssignLatePenalties, with the plugin the course configured
            penalty = self.late(result.student, self.rows.notebook_score(notebook), seconds)
        self.rows.set_late_penalty(notebook, penalty)

    def _write_autograded(self, result: NotebookResult, folder: Path) -> Path:
        text = unshown = None
        if result.status == "graded":
            try:
                out = self.sanitized(notebooks.read(Path(result.path)))
                self.attach_feedback(out, result)
                text = notebooks.writes(out)
            except NotebookError:  # graded from what was read before, unreadable now
                unshown = "it could not be read again"
            except sanitize.MetadataError as exc:
                unshown = f"nbgrader's checks refused it: {exc}"
            except Exception as exc:  # noqa: BLE001 - graded, but nbgrader could not restore it: show the release
                unshown = f"nbgrader's steps could not restore it ({type(exc).__name__})"
        if text is None:
            out = (self.not_graded_notebook(result) if unshown is None
                   else graded_release_notebook(self.release, unshown))
            self.attach_feedback(out, result)
            text = notebooks.writes(out)
        path = self.autograded_path(result.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        # nbformat's own layout (autograder.notebooks.writes), without validating again
        write_atomically(path, text + "\n")
        carry_exchange_files(folder, Path(result.path), path.parent)
        return path

    def sanitized(self, nb):
        """What `nbgrader autograde` makes of a submitted notebook before running it (nbgrader's
        ClearOutput, DeduplicateIds, OverwriteCells, CheckCellMetadata: their shadow, or nbgrader's
        own on a version the shadow was not checked against), with the release's kernelspec, an
        id for every cell (a notebook older than nbformat 4.5 upgraded to it), the student's
        markdown made inert, and whatever nbformat's schema would refuse repaired
        (``autograder.shadows.notebook_schema``)."""
        kernelspec = self.release.metadata.get("kernelspec", {})
        if shadows.in_force("nbgrader"):
            nb = sanitize.sanitized(nb, self.book.release, kernelspec, self.removed_metadata, self.missing_cell_note)
        else:
            nb = sanitize.by_nbgrader(nb, db_url(self.root), self.assignment.name, self.assignment.notebook,
                                      kernelspec, course_config.for_nbgrader(self.root))
        notebooks.with_cell_ids(nb)
        html_safety.make_inert(nb, self.book.release)
        return notebook_schema.made_valid(nb)  # written without validating: nbformat's schema must accept it

    def not_graded_notebook(self, result: NotebookResult):
        """The release, headed by why the submission could not be graded."""
        return not_graded_notebook(self.release, result)

    def attach_feedback(self, nb, result: NotebookResult) -> None:
        shown = feedback_by_cell(result)
        pictures = figures_by_cell(result)
        reason = not_graded(result.error) if result.status != "graded" else None
        for cell in nb.cells:
            if cell.cell_type != "code" or not sanitize.is_grade(cell) or sanitize.is_solution(cell):
                continue
            gid = cell.metadata["nbgrader"].get("grade_id")
            text = reason or shown.get(gid)
            if text is None and gid in self.auto_cells:
                text = VISIBLE_CHECK
            cell.outputs = [feedback_output(text)] if text else []
            if reason is None and gid in pictures:
                cell.outputs.append(figure_output(pictures[gid]))
            cell.execution_count = None


def _headed(release, heading: str):
    """A copy of the release without outputs, with `heading` (HTML) as its first cell."""
    import copy

    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.cells.insert(0, notebooks.as_node({"id": notebooks.new_cell_id(), "cell_type": "markdown",
                                          "metadata": {}, "source": heading}))
    return nb


def _as_text(text: str, limit: int = 300) -> str:
    """What the student controls (a file name, a reason naming their cells), as HTML text on one line."""
    text = text if len(text) <= limit else text[:limit] + "..."
    return html.escape(text, quote=False).replace("\n", "\\n")


def graded_release_notebook(release, why: str):
    """The release with a graded result's feedback, for a notebook the grader graded but nbgrader's
    steps could not restore for the formgrader and the feedback page (`why`: what they said)."""
    heading = (f"<p><strong>Graded: your scores and feedback are below, but your notebook cannot be shown "
               f"here ({_as_text(why)}).</strong></p>\n<p>Below is the released notebook (not your work), with the "
               "feedback under each test cell.</p>")
    return _headed(release, heading)


def not_graded_notebook(release, result: NotebookResult):
    """The release, headed by why the submission could not be graded (what `nbgrader autograde`
    records for it too: autograder.nbgrader_autograde)."""
    reason = result.error or "the submitted notebook could not be read"
    # An HTML block, so that what the student controls (a file name, in the reason) is text,
    # never markdown: no link, emphasis or line of its own.
    shown = html.escape(f"Not graded: {reason}").replace("\n", "\\n")
    name = html.escape(Path(result.path).name).replace("\n", "\\n")
    heading = (f"<p><strong>{shown}</strong></p>\n<p>The grader could not use <code>{name}</code>. Below is "
               "the released notebook (not your work); ask your instructor how to hand in again.</p>")
    return _headed(release, heading)
