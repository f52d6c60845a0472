"""The shadows of nbformat and nbgrader (autograder.shadows) stand in for the libraries only on the
versions they were checked against; on any other, grading goes through the libraries themselves
and records the same gradebook rows and autograded notebooks."""

import importlib.metadata
import json
import re
import tomllib

import nbformat
import pytest

from autograder import schedule, shadows
from autograder.course import get_assignment
from autograder.grading import Limits
from autograder.shadows import gradebook_rows, notebook_format, sanitize, timestamps
from autograder.submissions import find
from tests.conftest import ROOT, fixture_notebook, make_course, submit
from tests.test_gradebook import registered_gradebook
from tests.test_gradebook_rows import DUE, LATE, ON_TIME, rows
from tests.test_sanitize import drop, edit

PS1 = get_assignment("ps1")


def test_the_versions_checked_are_the_versions_pinned_and_installed():
    """A new pin in pyproject.toml fails here until the shadows' tests ran on it and CHECKED says so."""
    pins = {}
    for requirement in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        if match := re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", requirement):
            pins[match.group(1)] = match.group(2)
    assert shadows.CHECKED == {name: pins[name] for name in shadows.CHECKED}
    for name in (*shadows.CHECKED, "jupyter_client", "jupyter-client", "nh3", "numpy"):
        assert shadows.installed(name) == importlib.metadata.version(name), name
    assert shadows.installed("no-such-distribution-3141") is None
    assert all(shadows.in_force(name) for name in shadows.CHECKED)


def hand_in(course) -> None:
    """An honest student on time, a buggy one late, one who deleted a hidden test cell and edited a
    locked one, one whose notebook Colab saved (nbformat 4.0, no cell ids)."""
    from nbgrader.api import Gradebook

    from autograder.gradebook import COURSE_ID, db_url

    registered_gradebook(course)
    with open(course / "nbgrader_config.py", "a") as config:
        config.write('\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(db_url(course), COURSE_ID) as gb:
        gb.update_or_create_assignment("ps1", duedate=DUE)
    submit(course, "ada", fixture_notebook("ps1", "correct-loops"), timestamp=ON_TIME)
    submit(course, "ben", fixture_notebook("ps1", "flipped-kernel"), timestamp=LATE)
    tampered = fixture_notebook("ps1", "correct-loops")
    drop("test_conv2d_hidden")(tampered)
    edit("intro")(tampered)
    submit(course, "cy", tampered)
    colab = json.loads(nbformat.writes(fixture_notebook("ps1", "correct-einsum")))
    colab["nbformat_minor"] = 0
    for cell in colab["cells"]:
        cell["metadata"]["id"] = cell.pop("id")
    submit(course, "dee", json.dumps(colab))


def grade(course) -> dict[str, float]:
    options = schedule.Options(workers=1, limits=Limits(timeout=10))
    return {r.student: r.score for r in schedule.grade_class(course, PS1, find(course, PS1, []), options)}


def autograded(course, student: str) -> dict:
    """The autograded notebook, valid for nbformat, with the ids of re-added cells (fresh) left out."""
    data = json.loads((course / "autograded" / student / "ps1" / "convolution.ipynb").read_text())
    nbformat.validate(data)
    for cell in data["cells"]:
        if "was missing from the submission" in "".join(cell["source"]):
            cell["id"] = "<fresh>"
    return data


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Object of type")  # nbgrader's add_submission, harmless
def test_on_other_versions_grading_goes_through_the_libraries(tmp_path, monkeypatch):
    shadowed, through_libraries = make_course(tmp_path / "shadowed"), make_course(tmp_path / "libraries")
    for course in (shadowed, through_libraries):
        hand_in(course)
    expected = {"ada": 17.0, "ben": 11.0, "cy": 17.0, "dee": 17.0}  # ben: a flipped kernel, conv2d 2/8
    assert grade(shadowed) == expected

    used = []
    monkeypatch.setattr(shadows, "installed", lambda name: "0.0.0+not-checked")
    for owner, name in ((gradebook_rows.SqliteRows, "__init__"), (sanitize, "sanitized"), (timestamps, "parse_utc"),
                        (notebook_format, "from_disk"), (notebook_format, "writes"), (notebook_format, "as_node"),
                        (notebook_format, "upgrade"), (notebook_format, "new_cell_id")):
        monkeypatch.setattr(owner, name, lambda *args, _name=name, **kwargs: used.append(_name) or 1 / 0)
    assert grade(through_libraries) == expected
    assert used == []

    ours, theirs = rows(shadowed / "gradebook.db"), rows(through_libraries / "gradebook.db")
    assert ours == theirs
    penalties = {student: penalty for student, _, _, penalty in theirs["submitted_notebook"]}
    assert penalties == {"ada": "NULL", "ben": "11.0", "cy": "NULL", "dee": "NULL"}  # late, "zero" takes all
    for student in expected:
        mine, nbgraders = autograded(shadowed, student), autograded(through_libraries, student)
        assert mine["nbformat_minor"] == nbgraders["nbformat_minor"] == 5
        if student == "dee":  # a 4.0 notebook upgraded: fresh ids for every cell, either way
            for data in (mine, nbgraders):
                assert len({cell.pop("id") for cell in data["cells"]}) == len(data["cells"])
        assert mine == nbgraders, student
        assert any("was missing from the submission" in "".join(c["source"]) for c in mine["cells"]) == \
            (student == "cy")
