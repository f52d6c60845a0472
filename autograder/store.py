"""Results on disk, one file per submission, so a grading run can be killed and resumed.

``.autograder/results/<assignment>/<key>.json`` holds the last result for a submission path,
with the fingerprint of what was graded: the notebook's bytes and the grader itself (its code and
the reference notebook). A rerun skips a submission whose fingerprint is unchanged. Files are
written to a temporary name and renamed, so a kill never leaves a half-written result.

Each record carries the version of the verdicts' form (``verdicts.VERSION``): a result stored in
another form is graded again by ``grade``, and refused by the readers (the class report), never
read as this one.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from autograder import notebooks
from autograder.course import Assignment
from autograder.course_paths import CoursePaths
from autograder.files import atomic_writer, stale_temporaries
from autograder.results import NotebookResult
from autograder.verdicts import VERSION

PACKAGE = Path(__file__).parent


@lru_cache(maxsize=8)
def grader_fingerprint(source_notebook: str, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(Path(source_notebook).read_bytes())
    return digest.hexdigest()


def results_folder(root: Path, assignment: Assignment) -> Path:
    return CoursePaths(root).results(assignment.name)


def stored_results(root: Path, assignment: Assignment) -> list[tuple[Path, float, dict]]:
    """Every stored result of an assignment, whatever it was graded with: (file, modification
    time, the result as a dict). Half-written temporary files are not results; a result stored in
    another version of the verdicts' form is a ValueError (it is graded again by the next run)."""
    found = []
    for path in sorted(results_folder(root, assignment).glob("[!.]*.json")):
        try:
            record = json.loads(path.read_text())
            version = record.get("version")
            result = record["result"]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"unreadable stored result {path}: {exc}") from None
        if version != VERSION:
            raise ValueError(f"stored result {path} was written by another version of the grader (its verdicts in "
                             f"form {version}, not {VERSION})")
        found.append((path, path.stat().st_mtime, result))
    return found


class ResultStore:
    def __init__(self, root: Path, assignment: Assignment, options: str = ""):
        self.folder = results_folder(root, assignment)
        source = assignment.source_path(root)
        self.grader = grader_fingerprint(str(source), source.stat().st_mtime_ns) + options
        self._sweep()

    def _sweep(self) -> None:
        """Remove half-written results left by a grader that was killed while saving (the
        temporary name carries the writer's pid; a live writer's files are left alone)."""
        for stale in stale_temporaries(self.folder, "*.json"):
            stale.unlink(missing_ok=True)

    @staticmethod
    def key(path: Path) -> str:
        # os.path.realpath: Path.resolve raises on a notebook that links to itself
        return hashlib.sha256(os.fsencode(os.path.realpath(path))).hexdigest()[:32]

    def fingerprint(self, path: Path, problem: str | None = None) -> str:
        """What was graded: the notebook's bytes (read as grading reads them: a file that cannot be
        read is fingerprinted by what it is, never opened if it is a pipe or device, never read past
        the grader's limit), the grader, and why the submission cannot be graded, if it cannot
        (a second notebook or a broken timestamp.txt beside an unchanged notebook changes it)."""
        try:
            content = notebooks.read_bytes(path)
        except notebooks.NotebookError:
            try:
                info = os.stat(path)
                content = f"\0unreadable {info.st_mode} {info.st_size} {info.st_mtime_ns}".encode()
            except OSError:
                content = b""
        why = (problem or "").encode("utf-8", "backslashreplace")
        return hashlib.sha256(content + self.grader.encode() + why).hexdigest()

    def load(self, path: Path, problem: str | None = None) -> NotebookResult | None:
        """The stored result for this submission, if it was graded as it is now."""
        try:
            data = json.loads((self.folder / f"{self.key(path)}.json").read_text())
            if data.get("version") != VERSION or data.get("fingerprint") != self.fingerprint(path, problem):
                return None
            return NotebookResult.from_dict(data["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # absent, of another version, or damaged: graded again

    def save(self, path: Path, result: NotebookResult, problem: str | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"version": VERSION, "fingerprint": self.fingerprint(path, problem), "result": result.to_dict()}
        with atomic_writer(self.folder / f"{self.key(path)}.json", durable=True) as out:
            json.dump(record, out)
