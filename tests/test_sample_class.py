"""The built-in sample class: every behaviour builds, and its classic-bug edits still apply."""

import pytest

from autograder import notebooks, sample_class
from autograder.course import ASSIGNMENTS


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_every_behaviour_builds_from_the_current_reference(root, name):
    assignment = ASSIGNMENTS[name]
    release = notebooks.read(assignment.release_path(root))
    for behaviour in sample_class.behaviours(assignment):
        nb = sample_class.submission(root, assignment, behaviour)  # raises if an edit no longer applies
        solutions = notebooks.solution_sources(nb)
        assert set(solutions) == set(notebooks.solution_sources(release))
        for code in (s for sources in solutions.values() for s in sources):
            assert "BEGIN SOLUTION" not in code and "END SOLUTION" not in code
        assert sample_class.describe(assignment, behaviour)


def test_a_stale_edit_is_reported():
    with pytest.raises(ValueError, match="no longer applies"):
        sample_class.apply("def conv2d(image, kernel):\n    pass\n", sample_class.Edit("conv2d", "absent", "x"))
