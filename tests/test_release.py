"""source/ validates, assignments/ is exactly what nbgrader makes from it, and leaks nothing."""

import filecmp
import json
import re
import shutil

import pytest

from autograder import notebooks
from autograder.course import ASSIGNMENTS
from tests.conftest import make_course, nbgrader, run_grader

LEAKS = re.compile(r"BEGIN SOLUTION|END SOLUTION|BEGIN HIDDEN TESTS|END HIDDEN TESTS|BEGIN MARK SCHEME|"
                   r"END MARK SCHEME|autograder|notebook_checks")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_nbgrader_validate_passes_on_source(root, name):
    done = nbgrader(root, "validate", str(ASSIGNMENTS[name].source_path(root)))
    assert "Success! Your notebook passes all the tests." in done.stdout, done.stdout[-2000:]


@pytest.mark.slow
def test_validate_tells_a_student_with_stubs_that_checks_fail(root, tmp_path):
    """The visible checks are 0-point test cells, so nbgrader's Validate button reports them."""
    import subprocess
    import sys

    notebook = tmp_path / "convolution.ipynb"
    shutil.copy(ASSIGNMENTS["ps1"].release_path(root), notebook)
    done = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(notebook)], cwd=tmp_path,
                          capture_output=True, text=True)
    assert "VALIDATION FAILED" in done.stdout and "NotImplementedError" in done.stdout, done.stdout[-1500:]


@pytest.mark.slow
def test_assignments_folder_is_what_nbgrader_generates_now(root, tmp_path):
    """`make release` (python -m autograder release, nbgrader's generate_assignment) makes exactly
    the committed assignments/."""
    course = make_course(tmp_path / "course")
    shutil.rmtree(course / "assignments")
    done = run_grader(course, "release")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"released {name} -> {course / 'assignments' / name}" for name in ASSIGNMENTS]
    unknown = run_grader(course, "release", "ps9")
    assert unknown.returncode == 2 and "unknown assignment 'ps9'" in unknown.stderr
    comparison = filecmp.dircmp(root / "assignments", course / "assignments")
    stale = []

    def walk(cmp, prefix=""):
        stale.extend(prefix + f for f in cmp.diff_files + cmp.left_only + cmp.right_only)
        for sub, child in cmp.subdirs.items():
            walk(child, f"{prefix}{sub}/")

    walk(comparison)
    assert not stale, f"assignments/ is stale or hand-edited: {stale}; run 'make release' and commit"


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_release_leaks_no_solution_hidden_test_or_mark_scheme(root, name):
    path = ASSIGNMENTS[name].release_path(root)
    text = path.read_text()
    assert not LEAKS.search(text), LEAKS.search(text).group(0)
    nb = notebooks.read(path)
    source = notebooks.read(ASSIGNMENTS[name].source_path(root))
    solution_lines = {line.strip() for sources in notebooks.solution_sources(source).values() for s in sources
                      for line in s.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0].splitlines()
                      if len(line.strip()) > 12}
    released_lines = {line.strip() for cell in nb.cells for line in cell.source.splitlines()}
    assert not solution_lines & released_lines, sorted(solution_lines & released_lines)[:3]
    for cell in nb.cells:
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
    stubs = [c for c in nb.cells if notebooks.nbgrader(c).get("solution") and c.cell_type == "code"]
    assert stubs and all('raise NotImplementedError("write this function")' in c.source for c in stubs)
    assert not list(path.parent.glob(".ipynb_checkpoints")) and not list(path.parent.glob("__pycache__"))


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_every_function_has_visible_and_hidden_test_cells_and_a_written_question(root, name):
    nb = notebooks.read(ASSIGNMENTS[name].source_path(root))
    cells = {c.grade_id: c for c in notebooks.grade_cells(nb)}
    visible = {notebooks.grade_id(c): c for c in nb.cells if notebooks.grade_id(c)}
    for function in ASSIGNMENTS[name].functions:
        # visible checks: locked 0-point test cells (so nbgrader's Validate reports them), real
        # asserts a student can read; all points are in the hidden cell, whose cases repeat them
        check = visible[f"test_{function}_visible"]
        assert notebooks.nbgrader(check).get("locked") and cells[f"test_{function}_visible"].points == 0
        assert "check_" in check.source and "BEGIN HIDDEN TESTS" not in check.source
        assert cells[f"test_{function}_hidden"].kind == "test"
        assert f"def {function}(" in notebooks.solution_sources(nb)[function][0]
    assert [c.kind for c in cells.values()].count("task") == 1
    task = next(c for c in nb.cells if notebooks.nbgrader(c).get("task"))
    assert "BEGIN MARK SCHEME" in task.source


def test_notebooks_are_valid_nbformat(root):
    import nbformat

    for assignment in ASSIGNMENTS.values():
        for path in (assignment.source_path(root), assignment.release_path(root)):
            nbformat.validate(nbformat.read(path, as_version=4))
            assert json.loads(path.read_text())["metadata"]["kernelspec"]["name"] == "python3"


def _helpers(root, name: str) -> dict:
    """The visible-check helpers of a released notebook, defined in a fresh namespace."""
    import numpy as np

    nb = notebooks.read(ASSIGNMENTS[name].release_path(root))
    (cell,) = [c for c in nb.cells if notebooks.grade_id(c) == "check_helpers"]
    namespace = {"np": np}
    exec(cell.source, namespace)  # noqa: S102 - our own release, read from disk
    return namespace


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_visible_check_messages_show_plain_numbers_and_explain_classic_values(root, name):
    import numpy as np

    helpers = _helpers(root, name)
    with pytest.raises(AssertionError) as wrong:
        helpers["check_array"](np.full((3, 3), 5.0), np.full((3, 3), -5.0), "conv2d(4x4 arange, ...)",
                               meaning={5.0: "marker-flip-7731"})
    assert "expected -5.0, got 5.0 (9 of 9 values differ); marker-flip-7731" in str(wrong.value)
    with pytest.raises(AssertionError) as noisy:
        helpers["check_array"](np.array([0.1 + 0.2]), np.array([0.25]), "x")
    assert "expected 0.25, got 0.3 " in str(noisy.value) and "np.float64" not in str(noisy.value)
    with pytest.raises(AssertionError) as pair:
        helpers["check_equal"]((np.int64(2), 1), (1, 2), "same_padding(8, 4)", meaning={(2, 1): "marker-side-19"})
    assert str(pair.value) == "same_padding(8, 4): expected (1, 2) (tuple), got (2, 1) (tuple); marker-side-19"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_released_notebook_run_as_handed_out(root, tmp_path, name):
    """Run top to bottom with the stubs: hidden-test placeholders print nothing (no Out[ ]), and a
    picture that needs a student's function prints what to do instead of drawing empty axes."""
    import nbclient
    import nbformat

    path = ASSIGNMENTS[name].release_path(root)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}},
                            kernel_name="python3").execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        gid = notebooks.grade_id(cell)
        if gid.endswith("_hidden"):
            assert cell.outputs == [], (gid, cell.outputs)
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if "then run this cell again" in text:
            assert not any("image/png" in o.get("data", {}) for o in cell.outputs), gid
    waiting = [notebooks.grade_id(c) for c in nb.cells if c.cell_type == "code" and any(
        "then run this cell again" in o.get("text", "") for o in c.outputs)]
    assert waiting == {"ps1": ["example_letter"], "ps2": [], "ps3": ["example_channels_picture"]}[name]
