"""The attack of test_containment.py on the path instructors click: `nbgrader autograde`, with and
without `--student ... --force`, and the formgrader's Autograde button. The submission reads the
solutions in source/ and writes outside its folder, from a cell and from conv2d; on each path it
is graded in the sandbox (autograder.nbgrader_autograde), where neither reaches anything. With the
course's one line switched off, nbgrader runs it in the student's kernel, and both succeed."""

from __future__ import annotations

import secrets

import pytest

from autograder import notebooks, sandbox
from tests.conftest import (
    SUBMISSIONS,
    build_submission,
    fixture_notebook,
    fixture_sections,
    make_course,
    nbgrader,
    submit,
)
from tests.test_gradebook import registered_gradebook
from tests.test_nbgrader_autograde import click_autograde, log_in
from tests.test_pages_in_browser import browser_page, start_jupyter  # noqa: F401 - the fixture

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not sandbox.bwrap_works(), reason="bubblewrap is not usable here: at the rlimits level the host's files are "
                                      "visible (see `python -m autograder doctor`)")]
CONTAINED = "raised ValueError: source/ unreadable: FileNotFoundError"
LEAKED = "raised ValueError: read source/: the solutions"


def attack(course, marker: str):
    """conv2d raises what the submission could read of source/; a cell and conv2d each try to plant
    a file in the course root, by its absolute path and by a path relative to the kernel's folder
    (autograded/<student>/<assignment>/ under nbgrader's execution)."""
    sections = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")
    source = str(course / "source" / "ps1" / "convolution.ipynb")
    plant = (f"for path in ({str(course / marker)!r}, '../../../{marker}-relative'):\n"
             "    try:\n"
             "        with open(path, 'w') as handle:\n"
             "            handle.write('planted')\n"
             "    except OSError:\n"
             "        pass\n")
    sections["before"] = (f"try:\n    with open({source!r}) as handle:\n"
                          "        SEEN = 'read source/: ' + ('BEGIN SOLUTION' in handle.read()) * 'the solutions'\n"
                          "except OSError as exc:\n    SEEN = 'source/ unreadable: ' + type(exc).__name__\n" + plant)
    sections["conv2d"] = ("def conv2d(image, kernel):\n" + "".join(f"    {line}\n" for line in plant.splitlines())
                          + "    raise ValueError(SEEN)")
    return build_submission("ps1", sections)


def attacked_course(tmp_path, sandboxed: bool = True):
    course = make_course(tmp_path / "course")
    registered_gradebook(course)
    if not sandboxed:
        config = course / "nbgrader_config.py"
        config.write_text(config.read_text().replace("c.Autograder.sandboxed_autograde = True",
                                                     "c.Autograder.sandboxed_autograde = False"))
    marker = f"planted-{secrets.token_hex(6)}"
    submit(course, "mallory", attack(course, marker))
    return course, marker


def shown(course, cell: str = "test_conv2d_hidden") -> str:
    """What nbgrader's autograded notebook shows under a test cell: the grader's display output, or
    what the hidden cell printed in the student's kernel."""
    nb = notebooks.read(course / "autograded" / "mallory" / "ps1" / "convolution.ipynb")
    (found,) = [c for c in nb.cells if notebooks.grade_id(c) == cell]
    return "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in found.outputs)


def score(course) -> float:
    from nbgrader.api import Gradebook

    from autograder.gradebook import COURSE_ID, db_url

    with Gradebook(db_url(course), COURSE_ID) as gb:
        return gb.find_submission("ps1", "mallory").score


def assert_contained(course, marker: str) -> None:
    assert CONTAINED in shown(course), shown(course)
    assert score(course) == 9  # conv2d raised; convolve2d and conv1d, written independently, are right
    assert not list(course.rglob(f"{marker}*")), "a file was planted outside the submission's folder"


def test_nbgrader_autograde_contains_the_attack(tmp_path):
    course, marker = attacked_course(tmp_path)
    nbgrader(course, "autograde", "ps1")
    assert_contained(course, marker)


def test_nbgrader_autograde_of_one_student_with_force_contains_the_attack(tmp_path):
    course, marker = attacked_course(tmp_path)
    honest = course / "submitted" / "mallory" / "ps1" / "convolution.ipynb"
    attacking = honest.read_bytes()
    submit(course, "mallory", fixture_notebook("ps1", "correct-loops"))
    nbgrader(course, "autograde", "ps1")
    assert score(course) == 17
    honest.write_bytes(attacking)
    nbgrader(course, "autograde", "ps1", "--student", "mallory", "--force")
    assert_contained(course, marker)


def test_the_formgrader_autograde_button_contains_the_attack(tmp_path, browser_page):  # noqa: F811
    course, marker = attacked_course(tmp_path)
    token = secrets.token_hex(16)
    server, base = start_jupyter(course, tmp_path, token)
    try:
        log_in(browser_page, base, token)
        browser_page.goto(f"{base}/formgrader/manage_submissions/ps1")
        browser_page.wait_for_load_state("networkidle")
        click_autograde(browser_page, "mallory")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert_contained(course, marker)


def test_with_the_line_switched_off_nbgrader_runs_the_attack_in_the_students_kernel(tmp_path):
    """What the course's one line (c.Autograder.sandboxed_autograde) keeps out: nbgrader's Execute
    runs the notebook in the instructor's account, where the attack reads and writes at will."""
    course, marker = attacked_course(tmp_path, sandboxed=False)
    nbgrader(course, "autograde", "ps1")
    assert LEAKED in shown(course), shown(course)
    assert (course / marker).exists() and (course / f"{marker}-relative").exists()
