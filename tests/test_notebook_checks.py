"""The hidden test cells of source/, executed as nbgrader's kernel executes them: the cell prints
the grader's feedback for the student's function and its value is the points earned."""

import ast
import contextlib
import io

import numpy as np
import pytest

from autograder import notebooks
from autograder.course import get_assignment

MARKER = "student-marker-7f3a"


def hidden_cell(root, assignment: str, cell: str) -> str:
    nb = notebooks.read(get_assignment(assignment).source_path(root))
    (found,) = [c for c in nb.cells if notebooks.grade_id(c) == cell]
    return found.source


def run_cell(source: str, namespace: dict) -> tuple[str, object]:
    """Execute a cell like IPython does: statements, then the last expression's value."""
    tree = ast.parse(source)
    *body, last = tree.body
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(ast.Module(body, []), "<hidden cell>", "exec"), namespace)
        value = eval(compile(ast.Expression(last.value), "<hidden cell>", "eval"), namespace)
    return printed.getvalue(), value


@pytest.fixture
def in_course(root, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_COURSE_ROOT", str(root))


def test_the_hidden_cell_prints_the_feedback_and_returns_the_points(root, refs, in_course):
    reference = refs["ps1"]["conv2d"]

    def conv2d(image, kernel):
        if np.asarray(image).dtype == np.uint8:
            raise ValueError(MARKER)
        return reference(image, kernel)

    printed, points = run_cell(hidden_cell(root, "ps1", "test_conv2d_hidden"), {"conv2d": conv2d, "np": np})
    assert points == 6.0
    assert printed.splitlines() == [
        "conv2d (test_conv2d_hidden): 6 / 8",
        "  [ok ] the notebook's visible examples (2/2)",
        "  [ok ] 8x8, 12x10, 10x10 and 12x8 images with asymmetric 3x3 kernels (2/2)",
        "  [ok ] non-square kernels (1/1)",
        "  [FAIL] integer and uint8 images (no truncation, no wrap-around) (0/1)",
        "         uint8 image (values 150-255) with an integer kernel: sums exceed 255: raised ValueError: "
        f"{MARKER}",
        "  [ok ] bad input raises ValueError (1/1)",
        "  [wait] inputs are never modified (0/1)",
        f"         uint8 image: inputs must come back unchanged: raised ValueError: {MARKER}, so the inputs could "
        "not be checked (nothing says they were modified); this group's points are given once the function "
        "returns a result on this case and right values on hidden cases",
    ]


def test_a_right_function_gets_every_point_and_says_so(root, refs, in_course):
    printed, points = run_cell(hidden_cell(root, "ps3", "test_max_pool2d_hidden"),
                               {"max_pool2d": refs["ps3"]["max_pool2d"], "np": np})
    header, *groups = printed.splitlines()
    assert header == f"max_pool2d (test_max_pool2d_hidden): {points:g} / {points:g}" and points == 4.0
    assert groups and all(line.startswith("  [ok ] ") for line in groups)


def test_the_picture_in_the_students_notebook_has_its_alternative_text(monkeypatch):
    import IPython
    import IPython.display

    from autograder.feedback.notebook import PICTURE_ALT

    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda *args, **kwargs: shown.append((args, kwargs)))
    from autograder import notebook_checks

    notebook_checks._show_figure("cGljdHVyZQ==")
    assert shown == [(({"image/png": "cGljdHVyZQ==", "text/plain": notebook_checks.PICTURE},),
                      {"metadata": {"image/png": {"alt": PICTURE_ALT}}, "raw": True})]
