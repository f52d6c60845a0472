"""Where a course's runtime files are, in one place (nbgrader's ``CourseDirectory`` for this course).

nbgrader's steps follow its layout, ``{root}/{step}/{student}/{assignment}/{notebook}.ipynb``:
``submitted/`` (what students handed in), ``autograded/`` (sanitized and graded, what the
formgrader shows), ``feedback/`` (nbgrader's ``generate_feedback``), beside nbgrader's gradebook,
``gradebook.db``. The grader's own state is under ``.autograder/``: the stored results, the
reference's outcomes, the course's secret, the gradebook lock. All of these are made by running the
course and are never committed (`RUNTIME`; tests/test_layout.py checks git tracks none of them).
``source/`` and ``assignments/`` (the release) are the committed course (autograder.course).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SUBMITTED, AUTOGRADED, FEEDBACK = "submitted", "autograded", "feedback"
GRADEBOOK = "gradebook.db"
STATE = ".autograder"
#: The course's secret, relative to its root (autograder.course.course_secret).
SECRET = Path(STATE) / "secret"
#: What running the course makes at its root.
RUNTIME = (SUBMITTED, AUTOGRADED, FEEDBACK, GRADEBOOK, STATE)


@dataclass(frozen=True)
class CoursePaths:
    """The runtime paths of the course at `root`."""

    root: Path

    def step(self, step: str, student: str, assignment: str) -> Path:
        """``{root}/{step}/{student}/{assignment}/``, as nbgrader's CourseDirectory.format_path."""
        return self.root / step / student / assignment

    @property
    def submitted_root(self) -> Path:
        return self.root / SUBMITTED

    def submitted(self, student: str, assignment: str) -> Path:
        return self.step(SUBMITTED, student, assignment)

    def autograded(self, student: str, assignment: str) -> Path:
        return self.step(AUTOGRADED, student, assignment)

    def feedback(self, student: str, assignment: str) -> Path:
        return self.step(FEEDBACK, student, assignment)

    @property
    def feedback_root(self) -> Path:
        return self.root / FEEDBACK

    @property
    def gradebook(self) -> Path:
        return self.root / GRADEBOOK

    @property
    def db_url(self) -> str:
        """The gradebook as nbgrader's ``CourseDirectory.db_url`` names it."""
        return f"sqlite:///{self.gradebook.resolve()}"

    @property
    def state(self) -> Path:
        """``.autograder/``: the grader's own files."""
        return self.root / STATE

    def results(self, assignment: str) -> Path:
        """The stored results of an assignment, one file per submission (autograder.store)."""
        return self.state / "results" / assignment

    def outcome_cache(self, assignment: str) -> Path:
        """The reference's outcomes on an assignment's hidden cases (autograder.outcome_cache)."""
        return self.state / "cache" / f"{assignment}.json"

    @property
    def secret(self) -> Path:
        return self.root / SECRET

    @property
    def gradebook_lock(self) -> Path:
        """The lock file under which graders of the course write the gradebook."""
        return self.state / "gradebook.lock"
