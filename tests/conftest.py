"""Shared fixtures: the real course, reference solutions, throwaway courses and submissions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import notebooks, reference
from autograder.course import ASSIGNMENTS, SECRET, course_secret, get_assignment
from autograder.gradebook import nbgrader_command

ROOT = Path(__file__).resolve().parent.parent
SUBMISSIONS = Path(__file__).parent / "submissions"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def refs():
    """Reference solutions of every assignment, loaded from source/ (never copied)."""
    return {name: reference.load(ROOT, assignment) for name, assignment in ASSIGNMENTS.items()}


def make_course(target: Path) -> Path:
    """A throwaway course: config, source/, the committed release and this course's secret (so its
    hidden inputs are this course's, and results compare across courses)."""
    target.mkdir(parents=True, exist_ok=True)
    course_secret(ROOT)
    (target / SECRET).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / SECRET, target / SECRET)
    shutil.copy(ROOT / "nbgrader_config.py", target)
    shutil.copytree(ROOT / "source", target / "source")
    shutil.copytree(ROOT / "assignments", target / "assignments")
    return target


@pytest.fixture
def course(tmp_path) -> Path:
    return make_course(tmp_path / "course")


def nbgrader(course_root: Path, *args: str) -> subprocess.CompletedProcess:
    done = nbgrader_command(course_root, *args)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done


def fixture_sections(path: Path) -> dict[str, str]:
    """`# %% name` sections of a fixture submission file. A first line `# base: BEHAVIOUR`
    starts from that fixture's sections and overrides only the ones this file has."""
    sections: dict[str, list[str]] = {}
    base: dict[str, str] = {}
    current = None
    for line in path.read_text().splitlines():
        if line.startswith("# base: "):
            base = fixture_sections(path.with_name(f"submitted-{line[8:].strip()}.py"))
        elif line.startswith("# %% "):
            current = line[5:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {**base, **{name: "\n".join(lines).strip("\n") for name, lines in sections.items()}}


def build_submission(assignment_name: str, sections: dict[str, str]):
    """The released notebook with solution cells replaced by `sections[grade_id]`; a section
    named "before" becomes a student cell above the first solution, "after" one at the end."""
    assignment = get_assignment(assignment_name)
    nb = notebooks.read(assignment.release_path(ROOT))
    first_solution = None
    for index, cell in enumerate(nb.cells):
        gid = notebooks.grade_id(cell)
        if gid in sections and notebooks.nbgrader(cell).get("solution"):
            cell.source = sections[gid]
            first_solution = index if first_solution is None else first_solution
    if "before" in sections:
        nb.cells.insert(first_solution or 0, nbformat.v4.new_code_cell(sections["before"]))
    if "after" in sections:
        nb.cells.append(nbformat.v4.new_code_cell(sections["after"]))
    return nb


def fixture_notebook(assignment_name: str, behaviour: str):
    return build_submission(assignment_name, fixture_sections(SUBMISSIONS / assignment_name /
                                                               f"submitted-{behaviour}.py"))


def run_grader(course_root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real `python -m autograder` in a subprocess, from the course root."""
    env = dict(os.environ)
    env.pop("AUTOGRADER_COURSE_ROOT", None)
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=course_root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def json_lines(done: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in done.stdout.splitlines()]


def scores(result: dict) -> dict[str, float | None]:
    return {e["name"]: e["score"] for e in result["exercises"]}


def max_scores(result: dict) -> dict[str, float]:
    return {e["name"]: e["max_score"] for e in result["exercises"]}


def submit(course: Path, student: str, nb, name: str = "convolution.ipynb", assignment: str = "ps1",
           timestamp: str | None = None) -> Path:
    """Hand in `nb` (a notebook, or raw text for a broken one) as submitted/<student>/<assignment>/<name>,
    with the exchange's timestamp.txt when `timestamp` is given."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(nb, str):
        path.write_text(nb)
    else:
        nbformat.write(nb, path)
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp)
    return path
