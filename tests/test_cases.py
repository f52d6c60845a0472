"""The hidden cases: one Check per nbgrader test cell, points that add up, seeds that behave."""

import numpy as np
import pytest

from autograder import cases, notebooks
from autograder.course import ASSIGNMENTS


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_every_test_cell_has_its_cases_and_the_same_points(root, name):
    nb = notebooks.read(ASSIGNMENTS[name].source_path(root))
    cells = {c.grade_id: c.points for c in notebooks.grade_cells(nb) if c.kind == "test" and c.points}
    specs = cases.for_assignment(name)
    assert set(specs) == set(ASSIGNMENTS[name].functions)
    registered = {check.cell: check.points for spec in specs.values() for check in spec.checks}
    assert registered == cells


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_hidden_cells_call_the_shared_checks(root, name):
    nb = notebooks.read(ASSIGNMENTS[name].source_path(root))
    for cell in nb.cells:
        gid = notebooks.grade_id(cell)
        if notebooks.nbgrader(cell).get("grade") and cell.cell_type == "code" and notebooks.nbgrader(cell)["points"]:
            assert f'score("{name}", "{gid}", ' in cell.source, gid
            assert cell.source.rstrip().endswith("### END HIDDEN TESTS")


def test_contract_sizes_and_asymmetric_kernels_are_covered():
    from autograder.cases.ps1 import SIZES_TITLE

    (contract,) = [g for spec in cases.for_assignment("ps1").values() for c in spec.checks for g in c.groups
                   if g.title == SIZES_TITLE][:1]
    built = contract.build(np.random.default_rng(0))
    assert [c.args[0].shape for c in built] == [(8, 8), (12, 10), (10, 10), (12, 8)]
    for case in built:
        kernel = case.args[1]
        assert kernel.shape == (3, 3)
        assert not np.allclose(kernel, kernel[::-1, ::-1]) and not np.allclose(kernel, kernel.T)


def test_seeds_are_stable_per_assignment_and_differ_per_student():
    spec = cases.for_assignment("ps1")["conv2d"]
    first = cases.build("ps1", spec)
    again = cases.build("ps1", spec)
    alice = cases.build("ps1", spec, student="alice")
    bob = cases.build("ps1", spec, student="bob")
    assert all(np.array_equal(a.case.args[0], b.case.args[0]) for a, b in zip(first, again, strict=True))
    hidden = [i for i, item in enumerate(alice) if item.group == 1]  # the contract's sizes, seeded
    assert any(not np.array_equal(alice[i].case.args[0], bob[i].case.args[0]) for i in hidden)
    assert [c.case.label for c in alice] == [c.case.label for c in bob]


def test_asymmetric_handles_thin_kernels():
    rng = np.random.default_rng(1)
    for shape in ((3, 1), (1, 4), (1, 1), (2, 2)):
        assert cases.asymmetric(rng, shape).shape == shape


def test_group_titles_speak_to_students():
    """Titles are printed in feedback: no internal words."""
    for name in ASSIGNMENTS:
        for spec in cases.for_assignment(name).values():
            for check in spec.checks:
                for group in check.groups:
                    assert "contract" not in group.title.lower(), group.title


@pytest.mark.parametrize(("assignment", "function", "label"), [
    ("ps1", "convolve2d", "kernel taller but narrower than the image"),
    ("ps1", "convolve2d", "kernel wider but shorter than the image"),
    ("ps3", "conv_forward", "weight with 1 input channel for a 3-channel x"),
])
def test_the_refusals_the_contract_fixes_are_graded(refs, assignment, function, label):
    spec = cases.for_assignment(assignment)[function]
    (item,) = [b for b in cases.build(assignment, spec) if b.case.label == label]
    with pytest.raises(ValueError):
        refs[assignment][function](*item.case.args, **item.case.kwargs)


def test_zero_pads_random_cases_are_wrong_for_the_classic_mistakes_whatever_the_seed():
    """A random padding of ((0, 0), (0, 0)) makes the right answer the image itself, which doing
    nothing also returns; one with nothing after the image (or before it) is right for a function
    that pads one side only, one symmetric on both axes for one that pads one amount on both sides.
    On such a draw those functions earned the points that wait for a right value: whether they did
    hung on the course's secret. Only the cases with a fixed label may be degenerate."""
    from autograder.cases import ps2

    fixed = {"3x4 float image, padding 0", "3x4 int image, padding 2"}
    for seed in range(3000):
        for case in ps2.pad_random(np.random.default_rng(seed)):
            if case.label in fixed:
                continue
            (top, bottom), (left, right) = case.args[1]
            assert top + left > 0 and bottom + right > 0, (seed, case.label)
            assert not (top == bottom and left == right), (seed, case.label)
