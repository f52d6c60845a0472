"""The feedback's outputs in a notebook: what the graded test cells of an autograded notebook show
(and so nbgrader's feedback page and the formgrader).

A function's full feedback goes under its last test cell, with the picture of its first wrong array;
its other test cells say where the details are. The gradebook writer
(autograder.gradebook.GradebookWriter) and nbgrader's autograde preprocessor call these.
"""

from __future__ import annotations

import html

from autograder import notebooks
from autograder.results import NotebookResult

PICTURE = "picture: input, expected, your output, difference"
#: The picture's alternative text (the feedback page's img alt; nbconvert reads it from the output's metadata).
PICTURE_ALT = (
    "Your first wrong answer drawn as four heat maps, left to right: the input, the expected output, "
    "your output, and your output minus the expected one; the text above gives the case and the values"
)
VISIBLE_CHECK = "visible check: scored in the graded cells of this function"
OTHER_CELL = "{name}: {points:g} point(s) for this cell; the details are under its last test cell"


def not_graded(error: str | None) -> str:
    """What every graded cell of a submission that could not be graded says."""
    return f"not graded: {error}"


def feedback_by_cell(result: NotebookResult) -> dict[str, str]:
    """The text shown under each graded test cell: a function's full feedback under its last
    test cell, a pointer to it under the others."""
    shown: dict[str, str] = {}
    for exercise in result.exercises:
        cells = list(exercise.cells.items())
        for index, (cell, points) in enumerate(cells):
            shown[cell] = (exercise.feedback if index == len(cells) - 1 else
                           OTHER_CELL.format(name=exercise.name, points=points or 0))
    return shown


def figures_by_cell(result: NotebookResult) -> dict[str, str]:
    """The picture of a function's first wrong array (base64 PNG), under its last test cell."""
    return {list(exercise.cells)[-1]: exercise.figure for exercise in result.exercises
            if exercise.figure and exercise.cells}


def figure_output(png_base64: str):
    return notebooks.as_node(
        {
            "output_type": "display_data",
            "metadata": {"image/png": {"alt": PICTURE_ALT}},
            "data": {"image/png": png_base64, "text/plain": PICTURE},
        }
    )


def feedback_output(text: str):
    """A display output that renders wrapped in nbgrader's HTML (and as plain text elsewhere)."""
    page = ('<pre class="autograder-feedback" style="white-space: pre-wrap; word-break: break-word;">'
            f"{html.escape(text)}</pre>")
    return notebooks.as_node({"output_type": "display_data", "metadata": {},
                              "data": {"text/plain": text, "text/html": page}})
