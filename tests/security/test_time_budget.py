"""A notebook of many slow cells cannot stall a shared worker: all of a notebook's cells together
get one time budget in each graded function's process (three times the per-cell limit), however
many cells there are, and the feedback names the cells that were not run."""

import re

import nbformat
import pytest

from autograder import grading
from autograder.course import get_assignment
from autograder.sandbox.runner import WorkerServer
from autograder.submissions import Submission
from tests.conftest import SUBMISSIONS, build_submission, fixture_sections

pytestmark = pytest.mark.slow
SLOW_CELLS, SLEEP, TIMEOUT = 60, 0.4, 1.0


def test_many_slow_cells_get_one_budget_and_are_named(tmp_path, root):
    nb = build_submission("ps1", fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py"))
    nb.cells += [nbformat.v4.new_code_cell(f"import time\ntime.sleep({SLEEP})  # slow cell {i}")
                 for i in range(SLOW_CELLS)]
    path = tmp_path / "mallory.ipynb"
    nbformat.write(nb, path)
    ctx = grading.Context(root, get_assignment("ps1"), grading.Limits(timeout=TIMEOUT, memory_mb=1024))
    try:
        with WorkerServer("auto") as server:
            result = grading.grade(ctx, Submission("mallory", path), server)
    finally:
        ctx.close()
    assert result.status == "graded", result.error
    # every function defined before the slow cells is graded in full
    assert {e.name: e.score for e in result.exercises if e.score is not None} == \
        {"conv2d": 8, "convolve2d": 4, "conv1d": 5}
    # the cells together had 3 s in each of the three processes, where running them all takes 24 s each
    assert result.seconds < SLOW_CELLS * SLEEP
    for exercise in result.exercises[:3]:
        line = exercise.feedback.splitlines()[-1]
        found = re.fullmatch(r"  not run: cell (\d+) \(`import time`\), cell \d+ \(`import time`\), .* and (\d+) more: "
                             r"the notebook's cells used up their time \(all cells together get the same time, "
                             r"however many\)", line)
        assert found, exercise.feedback
        # about 3 s / 0.4 s of them ran; the rest (at least 40 of 60) were named as not run
        assert int(found[2]) + 6 >= SLOW_CELLS - 20
