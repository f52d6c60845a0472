"""A small ps1 class whose submissions carry markers only the student wrote, for the tests that
follow results into nbgrader's feedback, exchange, export and formgrader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from autograder import notebooks
from tests.conftest import ROOT, fixture_notebook, submit

CODE_MARKER = "ben_code_marker_5e1f"  # a comment in ben's conv2d
ANSWER_MARKER = "ben-answer-marker-93c2"  # ben's written answer
ADDED_MARKER = "ben-added-cell-marker-7d04"  # a cell ben added at the end
LATE = "2030-01-02 09:30:00.000000 UTC"  # ben's timestamp.txt (after the due date the tests set)


def bens_notebook():
    """A flipped kernel in conv2d, a written answer and an added cell, all marked."""
    nb = fixture_notebook("ps1", "flipped-kernel")
    for cell in nb.cells:
        if notebooks.grade_id(cell) == "conv2d":
            cell.source = cell.source.replace("def conv2d(image, kernel):",
                                              f"def conv2d(image, kernel):\n    # {CODE_MARKER}", 1)
            assert CODE_MARKER in cell.source
        elif cell.cell_type == "markdown" and cell.source.startswith("*Your answer:*"):
            cell.source = f"{ANSWER_MARKER}: flipping the kernel twice gives back the same kernel."
    assert any(ANSWER_MARKER in c.source for c in nb.cells), "the release has no answer cell to write in"
    nb.cells.append(nbformat.v4.new_markdown_cell(f"A note of my own: {ADDED_MARKER}"))
    return nb


def write_marked_class(course: Path) -> None:
    """ben (marked, late), ada (correct), wes (ps2's notebook), amb (two ps1 notebooks), cor (corrupt)."""
    submit(course, "ben", bens_notebook(), timestamp=LATE)
    correct = fixture_notebook("ps1", "correct-loops")
    submit(course, "ada", correct, timestamp="2030-01-01 08:00:00.000000 UTC")
    folder = course / "submitted" / "wes" / "ps1"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "assignments" / "ps2" / "shapes_and_padding.ipynb", folder)
    submit(course, "amb", correct)
    submit(course, "amb", correct, name="convolution (1).ipynb")
    submit(course, "cor", '{"cells": [ this is not json')


def feedback_lines(results: list[dict], student: str, function: str) -> list[str]:
    """The non-empty lines of the feedback `--json` printed for one student's function."""
    (result,) = [r for r in results if r["student"] == student]
    (exercise,) = [e for e in result["exercises"] if e["name"] == function]
    return [line.strip() for line in exercise["feedback"].splitlines() if line.strip()]


def dump(results: list[dict]) -> str:
    return json.dumps(results, indent=1)[:3000]
