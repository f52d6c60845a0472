"""Gradescope: the autograder bundle, and the grading run inside Gradescope's container.

``python -m autograder gradescope ASSIGNMENT --out FILE.zip`` writes a zip with, at its root,
``setup.sh`` (run once by Gradescope when it builds the image: bubblewrap and the pinned
dependencies), ``run_autograder`` (run for every submission) and the course files the grader
reads: ``nbgrader_config.py``, ``source/<assignment>/``, ``assignments/<assignment>/``, the
``autograder`` package and ``gradescope.json`` (this bundle's settings). Gradescope unpacks it in
``/autograder/source``; students never see it.

Per submission, ``run_autograder`` calls :func:`run`, which grades the notebook in
``$GRADESCOPE_ROOT/submission/`` (default root ``/autograder``) with the same pipeline as
``python -m autograder grade`` (``schedule.grade_class`` -> ``grading.grade``) and turns the
resulting :class:`~autograder.results.NotebookResult` into ``results/results.json`` as
Gradescope's autograder specification describes it: one test per graded function.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder import sandbox
from autograder.course import SECRET, Assignment, CourseError, course_secret, get_assignment
from autograder.feedback import words
from autograder.files import atomic_writer, write_atomically
from autograder.results import Exercise, NotebookResult
from autograder.submissions import Submission

CONFIG = "gradescope.json"
#: Gradescope's visibility values (a test is shown always, after the due date, once grades are
#: published, or never).
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
PACKAGE = Path(__file__).resolve().parent
_WHEN = words.WHEN


@dataclass(frozen=True)
class Settings:
    """What the instructor chose when building the bundle (stored in gradescope.json)."""

    assignment: str
    hidden_details: str = "after_due_date"
    per_student_seeds: bool = False
    timeout: float = 10.0
    memory_mb: int = 2048

    def __post_init__(self):
        if self.hidden_details not in VISIBILITIES:
            raise CourseError(f"hidden details visibility must be one of {', '.join(VISIBILITIES)}, "
                              f"not {self.hidden_details!r}")


# -- the bundle ----------------------------------------------------------------------------------

SETUP_SH = r"""#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder image.
# It installs bubblewrap (the sandbox for student code) and, in a virtual environment at
# $GRADESCOPE_ROOT/venv, the pinned Python dependencies listed in requirements.txt.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${GRADESCOPE_ROOT:-/autograder}"
export DEBIAN_FRONTEND=noninteractive

apt-get update -qq || true
# Where bubblewrap cannot run in Gradescope's container, grading falls back to the rlimits
# sandbox and run_autograder says so in its output.
apt-get install -y -qq bubblewrap \
  || echo "warning: could not install bubblewrap; submissions will be graded with the rlimits sandbox"

# Python 3.11 or newer.
PYTHON=""
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 \
     && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    PYTHON="$(command -v "$candidate")"
    break
  fi
done
if [ -z "$PYTHON" ]; then
  apt-get install -y -qq python3.11 python3.11-venv
  PYTHON="$(command -v python3.11)"
fi
VERSION="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
"$PYTHON" -m venv "$ROOT/venv" 2>/dev/null || {
  apt-get install -y -qq "python$VERSION-venv"
  "$PYTHON" -m venv "$ROOT/venv"
}
"$ROOT/venv/bin/python3" -m pip install --quiet --upgrade pip
"$ROOT/venv/bin/python3" -m pip install --quiet -r "$HERE/requirements.txt"
# Student code runs as an unprivileged uid: it must be able to run this Python.
chmod -R o+rX "$ROOT/venv"
PYTHONPATH="$HERE" "$ROOT/venv/bin/python3" -c 'import autograder.grading'
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# Gradescope runs this for every submission. It grades the notebook in $GRADESCOPE_ROOT/submission/
# (default root /autograder) and writes $GRADESCOPE_ROOT/results/results.json.
set -u
ROOT="${GRADESCOPE_ROOT:-/autograder}"
SOURCE="$ROOT/source"
if [ -x "$ROOT/venv/bin/python3" ]; then
  PATH="$ROOT/venv/bin:$PATH"
fi
mkdir -p "$ROOT/results"
# The course files (reference solutions, cases) and the submission metadata stay private to the
# grader, also when bubblewrap cannot run and student code is contained by rlimits only.
chmod -R go-rwx "$SOURCE" 2>/dev/null || true
chmod go-rwx "$ROOT/submission_metadata.json" 2>/dev/null || true
cd "$SOURCE" || exit 1
PYTHONPATH="$SOURCE${PYTHONPATH:+:$PYTHONPATH}" python3 -m autograder.gradescope run "$ROOT"
status=$?
if [ ! -s "$ROOT/results/results.json" ]; then
  # The grader itself could not start (not a verdict on the submission): say so, never stay silent.
  MESSAGE="The autograder could not run (a problem with the grader, not with your notebook)."
  MESSAGE="$MESSAGE Your instructor can see the log; please tell them."
  printf '{"score": 0, "output": "%s", "output_format": "text", "tests": []}\n' "$MESSAGE" \
    > "$ROOT/results/results.json"
fi
exit $status
"""


def pinned_requirements(root: Path) -> list[str]:
    """The project's pinned runtime dependencies, from pyproject.toml."""
    import tomllib  # only when a bundle is built

    with open(root / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    unpinned = [dep for dep in project["dependencies"] if "==" not in dep]
    if unpinned:
        raise CourseError(f"pyproject.toml: pin every dependency for Gradescope (unpinned: {', '.join(unpinned)})")
    return list(project["dependencies"])


def _course_files(root: Path, assignment: Assignment):
    """(path in the bundle, file on disk) for everything the grader reads, the course's secret
    included (Gradescope then draws the same hidden inputs as this course)."""
    yield "nbgrader_config.py", root / "nbgrader_config.py"
    course_secret(root)
    yield SECRET.as_posix(), root / SECRET
    for top in ("source", "assignments"):
        folder = root / top / assignment.name
        if not folder.is_dir():
            raise CourseError(f"{folder} is missing: the Gradescope bundle needs {top}/{assignment.name}/")
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not _junk(path):
                yield path.relative_to(root).as_posix(), path
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and not _junk(path):
            yield f"autograder/{path.relative_to(PACKAGE).as_posix()}", path


def _junk(path: Path) -> bool:
    return any(part in ("__pycache__", ".ipynb_checkpoints") for part in path.parts) or path.suffix == ".pyc" \
        or path.name == ".DS_Store"


def build_bundle(root: Path, settings: Settings, out: Path) -> Path:
    """Write Gradescope's autograder zip for `settings.assignment` to `out`."""
    assignment = get_assignment(settings.assignment)
    if not assignment.source_path(root).is_file() or not assignment.release_path(root).is_file():
        raise CourseError(f"{assignment.name}: need {assignment.source_path(root)} and "
                          f"{assignment.release_path(root)} (run `make release` first)")
    requirements = "\n".join(pinned_requirements(root)) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_text(bundle, "setup.sh", SETUP_SH, executable=True)
        _add_text(bundle, "run_autograder", RUN_AUTOGRADER, executable=True)
        _add_text(bundle, "requirements.txt", requirements)
        _add_text(bundle, CONFIG, json.dumps(asdict(settings), indent=1) + "\n")
        for name, path in _course_files(root, assignment):
            bundle.write(path, name)
    return out


def _add_text(bundle: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    bundle.writestr(info, text)


# -- one submission, inside Gradescope's container -------------------------------------------------

def student_key(metadata_path: Path) -> tuple[str | None, str]:
    """The submitter(s) from submission_metadata.json: a stable key (Gradescope user ids, joined
    for a group) and a readable name; (None, reason) when the file is missing or unreadable."""
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
        users = metadata["users"]
        ids = sorted(str(user.get("id") or user.get("email")) for user in users)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return None, f"no usable {metadata_path.name} ({type(exc).__name__}: {exc})"
    if not ids or "None" in ids:
        return None, f"{metadata_path.name} names no user id"
    names = ", ".join(str(user.get("name") or user.get("email") or user.get("id")) for user in users)
    return "+".join(ids), names


def pick_submission(course: Path, assignment: Assignment, folder: Path, student: str) -> tuple[Submission, list[str]]:
    """The notebook to grade in Gradescope's submission folder (or a Submission carrying the problem)
    and notes about what else was uploaded."""
    from autograder import submissions

    released = f"{assignment.notebook}.ipynb"
    expected = folder / released
    if not folder.is_dir():
        return Submission(student, expected, f"no submission folder {folder}"), []
    found = submissions.find(course, assignment, [str(folder)])
    if not found:
        return Submission(student, expected, f"no notebook was uploaded: upload {released}"), []
    usable = [s for s in found if s.problem is None]
    if len(found) > 1 and not usable:
        names = ", ".join(sorted(s.path.relative_to(folder).as_posix() for s in found))
        return Submission(student, found[0].path,
                          f"{len(found)} notebooks were uploaded ({names}) and none is named {released}: "
                          f"upload only {released}"), []
    chosen = usable[0] if usable else found[0]  # one notebook: graded, or refused with its reason
    others = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.ipynb")
                    if p != chosen.path and ".ipynb_checkpoints" not in p.parts)
    notes = [f"Also uploaded, not graded: {', '.join(others)}."] if others else []
    return Submission(student, chosen.path, chosen.problem), notes


def withheld_output(exercise: Exercise, when: str) -> tuple[str, bool]:
    """The exercise's feedback with the details of every hidden group (its failing case and values,
    its wrong values, a likely cause no visible example shows) replaced by one line saying when
    they are shown; and whether anything was withheld. Decided by each group's visible flag in the
    verdict: without a verdict, only the score is shown."""
    if exercise.verdict is None:
        return f"{exercise.name}: {exercise.score or 0:g} / {exercise.max_score:g}", True
    shown, withheld = words.lines(exercise.verdict, withhold=when)
    return "\n".join(shown), withheld


def results_json(result: NotebookResult, settings: Settings, notes: list[str], seconds: float) -> dict:
    """Gradescope's results.json for one graded (or ungradable) notebook."""
    tests, details = [], []
    for exercise in result.exercises:
        if exercise.score is None:
            continue  # a written answer: Gradescope's manual grading
        status = "passed" if exercise.score == exercise.max_score else "failed"
        output = exercise.feedback
        withheld = False
        if settings.hidden_details != "visible" and result.status == "graded":
            output, withheld = withheld_output(exercise, settings.hidden_details)
        tests.append({"name": exercise.name, "score": exercise.score, "max_score": exercise.max_score,
                      "status": status, "output": output, "output_format": "text", "visibility": "visible"})
        if withheld:
            details.append({"name": f"{exercise.name}: hidden cases in detail", "score": 0.0, "max_score": 0.0,
                            "status": status, "output": exercise.feedback, "output_format": "text",
                            "visibility": settings.hidden_details})
    written = [e for e in result.exercises if e.score is None]
    lines = []
    if result.status == "graded":
        auto = sum(t["max_score"] for t in tests)
        lines.append(f"{result.assignment}: {result.score:g} / {auto:g} points from the autograder "
                     f"({', '.join(t['name'] for t in tests)}).")
    else:
        lines.append(f"Not graded: {result.error}")
        lines.append("Nothing was run: fix this and submit again.")
    lines += notes
    if written:
        points = sum(e.max_score for e in written)
        lines.append(f"Written question{'s' if len(written) > 1 else ''} "
                     f"{', '.join(e.name for e in written)} ({points:g} points): graded by hand on Gradescope, "
                     "not by the autograder.")
    if details:
        lines.append(f"Details of failed hidden cases: {_WHEN[settings.hidden_details]}.")
    return {
        "score": result.score,
        "execution_time": max(1, round(seconds)),
        "output": "\n".join(lines),
        "output_format": "text",
        "test_output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests + details,
        "extra_data": {"assignment": result.assignment, "status": result.status, "sandbox": result.sandbox,
                       "inputs": "per-student" if settings.per_student_seeds else "per-assignment"},
    }


def run(root: Path) -> int:
    """Grade $ROOT/submission/ and write $ROOT/results/results.json (always, whatever happens)."""
    start = time.monotonic()
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    try:
        payload = _grade(root, start)
        code = 0
    except Exception as exc:  # noqa: BLE001 - a grader failure is reported, never silence
        traceback.print_exc()
        payload = {"score": 0.0, "execution_time": max(1, round(time.monotonic() - start)),
                   "output": f"The autograder failed ({type(exc).__name__}): a problem with the grader, not a "
                             "verdict on your notebook. Your instructor can see the log; please tell them.",
                   "output_format": "text", "stdout_visibility": "hidden", "tests": []}
        code = 1
    write_atomically(results, json.dumps(payload, indent=1) + "\n")
    return code


def _grade(root: Path, start: float) -> dict:
    from autograder import grading, schedule

    course = root / "source"
    settings = Settings(**json.loads((course / CONFIG).read_text(encoding="utf-8")))
    assignment = get_assignment(settings.assignment)
    print(f"grader: {PACKAGE}")
    key, who = student_key(root / "submission_metadata.json")
    if settings.per_student_seeds and key is None:
        print(f"per-student inputs requested but {who}: using the assignment's inputs")
    student = key or "student"
    print(f"submission of {who if key else student} (key {student}); inputs: "
          f"{'per-student' if settings.per_student_seeds and key else 'per-assignment'}")
    level = sandbox.level("auto")
    print(f"sandbox: {level}")
    if level != "bubblewrap":
        print("warning: bubblewrap cannot run in this container, so grading falls back to the rlimits sandbox: "
              + sandbox.NOT_CONTAINED)
    submission, notes = pick_submission(course, assignment, root / "submission", student)
    options = schedule.Options(
        workers=1, force=True, gradebook=False, per_student_seeds=settings.per_student_seeds and key is not None,
        limits=grading.Limits(timeout=settings.timeout, memory_mb=settings.memory_mb,
                              processes=sandbox.process_limit()))
    (result,) = schedule.grade_class(course, assignment, [submission], options)
    print(f"{result.status}: {result.score:g}/{result.max_score:g}" + (f" ({result.error})" if result.error else ""))
    if level != "bubblewrap":
        notes = [*notes, "Graded with the rlimits sandbox (bubblewrap cannot run in this container)."]
    return results_json(result, settings, notes, time.monotonic() - start)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or args[0] != "run":
        print("usage: python -m autograder.gradescope run GRADESCOPE_ROOT", file=sys.stderr)
        return 2
    return run(Path(args[1]))


if __name__ == "__main__":
    sys.exit(main())
