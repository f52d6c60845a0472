"""`nbgrader autograde` and the formgrader's Autograde button grade in the sandbox
(autograder.nbgrader_autograde): every fixture submission gets the totals and the feedback lines
`python -m autograder grade` gives it, and one that cannot be graded gets the same reason."""

from __future__ import annotations

import html
import re
import secrets
import shutil

import nbformat
import pytest
from nbgrader.utils import determine_grade

from autograder import notebooks
from autograder.nbgrader_autograde import STEPS, GradeInSandbox, pick_notebook, record
from autograder.results import Exercise, NotebookResult
from tests.conftest import (
    ROOT,
    SUBMISSIONS,
    build_submission,
    fixture_notebook,
    fixture_sections,
    json_lines,
    make_course,
    nbgrader,
    run_grader,
    submit,
)
from tests.marked_class import write_marked_class
from tests.test_gradebook import nbgrader_gradebook, registered_gradebook
from tests.test_pages_in_browser import SHOTS, browser_page, start_jupyter  # noqa: F401 - the fixture

TIMEOUT = 3  # seconds per function, for both graders (the infinite loop costs seconds, not tens)
#: The two ways the memory hog is stopped (test_grading.py): by the memory limit, or by the time
#: limit when its allocations are slow; either is the grader's line, and either may come first.
STOPPED = re.compile(r"raised MemoryError: Unable to allocate.*|no result: did not finish within its time.*")
CRASH = ("conv2d", "image, kernel"), ("convolve2d", "image, kernel"), ("conv1d", 'signal, kernel, mode="full"')


def release():
    return nbformat.read(ROOT / "assignments" / "ps1" / "convolution.ipynb", as_version=4)


def test_the_course_swaps_only_nbgraders_execute_step_and_one_line_switches_it_off(tmp_path):
    from nbgrader.converters import Autograde
    from nbgrader.preprocessors import Execute
    from traitlets.config.loader import PyFileConfigLoader
    from traitlets.utils.importstring import import_item

    default = Autograde.autograde_preprocessors.default()
    assert Execute in default
    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.Autograde.autograde_preprocessors == STEPS
    assert [import_item(step) for step in STEPS] == [GradeInSandbox if step is Execute else step for step in default]
    assert config.Autograde.exporter_class == "autograder.nbgrader_autograde.SubmissionExporter"
    assert config.Autograde.pre_convert_hook == "autograder.nbgrader_autograde.pick_notebook"

    text = (ROOT / "nbgrader_config.py").read_text()
    line = "c.Autograder.sandboxed_autograde = True\n"
    assert text.count(line) == 1
    (tmp_path / "nbgrader_config.py").write_text(text.replace(line, line.replace("True", "False")))
    off = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    assert not any(name in off.Autograde for name in ("autograde_preprocessors", "exporter_class", "pre_convert_hook"))


def graded(cells: dict[str, float], figure: str | None = None) -> NotebookResult:
    exercises = [Exercise("conv2d", sum(cells.values()), 8.0, "conv2d: marker-feedback-1c9e", cells, figure),
                 Exercise("written_flip", None, 3.0, "graded by hand")]
    return NotebookResult("ann", "ps1", "convolution", "submitted/ann/ps1/convolution.ipynb", "graded", None,
                          sum(cells.values()), 20.0, exercises)


def test_each_test_cell_scores_exactly_what_the_grader_gave_it():
    nb = release()
    record(nb, graded({"test_conv2d_visible": 0.0, "test_conv2d_hidden": 6.5}, figure="iVBORw0KGgo="))
    cells = {notebooks.grade_id(cell): cell for cell in nb.cells if notebooks.grade_id(cell)}
    assert determine_grade(cells["test_conv2d_hidden"]) == (6.5, 8.0)
    assert cells["test_conv2d_hidden"].outputs[0].data["text/plain"] == "conv2d: marker-feedback-1c9e"
    assert cells["test_conv2d_hidden"].outputs[1].data["image/png"] == "iVBORw0KGgo="
    assert determine_grade(cells["test_conv2d_visible"]) == (0.0, 0.0)
    # a test cell the result says nothing about earns nothing (nbgrader's default: full credit)
    assert determine_grade(cells["test_conv1d_hidden"]) == (0.0, 5.0)
    assert cells["test_conv1d_hidden"].outputs[0].data["text/plain"].startswith("visible check")
    assert nbformat.validate(nb) is None

    record(nb, graded({"test_conv2d_hidden": 8.000000001}))  # never more than the cell's points
    assert determine_grade(cells["test_conv2d_hidden"]) == (8.0, 8.0)
    failed = NotebookResult("ann", "ps1", "convolution", "x.ipynb", "error", "marker-reason-77d1", 0.0, 20.0, [])
    record(nb, failed)
    for gid in ("test_conv2d_hidden", "test_convolve2d_hidden", "test_conv1d_hidden"):
        assert determine_grade(cells[gid])[0] == 0
        assert cells[gid].outputs[0].data["text/plain"] == "not graded: marker-reason-77d1"


def test_nbgrader_converts_the_released_name_whatever_the_folder_holds(tmp_path):
    folder = str(tmp_path / "submitted" / "wes" / "ps1")
    listed = [f"{folder}/convolution (1).ipynb", f"{folder}/shapes_and_padding.ipynb"]
    pick_notebook(assignment="ps1", student="*", notebooks=listed)
    assert listed == [f"{folder}/convolution.ipynb"]
    other = [f"{tmp_path}/submitted/wes/ps9/mine.ipynb"]
    pick_notebook(assignment="ps9", student="*", notebooks=other)
    assert other == [f"{tmp_path}/submitted/wes/ps9/mine.ipynb"]


@pytest.mark.slow
def test_one_worker_server_serves_the_process_until_it_is_idle_and_source_changes_start_afresh(
        tmp_path, monkeypatch):
    import os
    import time

    from autograder import nbgrader_autograde

    course = make_course(tmp_path / "course")
    submit(course, "alice", fixture_notebook("ps1", "correct-loops"))
    submit(course, "bob", fixture_notebook("ps1", "flipped-kernel"))
    monkeypatch.setattr(nbgrader_autograde, "IDLE_SECONDS", 2.0)
    settings = nbgrader_autograde.Settings(course, "ps1", TIMEOUT, 1024, False, "auto")
    grader = nbgrader_autograde.session(settings)
    try:
        assert grader.grade("alice").score == 17
        process = grader.server.process
        assert grader.grade("bob").score == 11  # the next notebook, the same server
        assert nbgrader_autograde.session(settings) is grader and grader.server.process is process
        deadline = time.monotonic() + 30
        while grader.server is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert grader.server is None and process.poll() is not None  # stopped once idle
        assert grader.grade("alice").score == 17  # and started again when needed
        os.utime(course / "source" / "ps1" / "convolution.ipynb")
        fresh = nbgrader_autograde.session(settings)
        assert fresh is not grader and grader.server is None  # an edited reference: a new context
    finally:
        nbgrader_autograde.stop_all()
    assert all(each.server is None for each in nbgrader_autograde._sessions.values())


# -- the class, graded by each path ------------------------------------------------------------


def fixture_course(tmp_path):
    """A course (ps1 registered, both graders at TIMEOUT) handed in by every ps1 fixture submission
    (the student named by its behaviour), the marked class (wes hands in ps2's notebook, amb two
    notebooks, cor a corrupt one) and a student whose every graded function ends its process."""
    course = make_course(tmp_path / "course")
    registered_gradebook(course)
    with open(course / "nbgrader_config.py", "a") as handle:
        handle.write(f"\nc.GradeInSandbox.timeout = {TIMEOUT}\n")
    for path in sorted((SUBMISSIONS / "ps1").glob("submitted-*.py")):
        behaviour = path.stem.removeprefix("submitted-")
        submit(course, behaviour, fixture_notebook("ps1", behaviour))
    write_marked_class(course)
    sections = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")
    for name, signature in CRASH:
        sections[name] = f"import os\n\ndef {name}({signature}):\n    os._exit(3)"
    submit(course, "crashes", build_submission("ps1", sections))
    return course


def by_student(done) -> dict[str, dict]:
    """`grade --json`'s results by student (amb's two notebooks are two rows with one reason)."""
    assert done.returncode in (0, 1), done.stderr[-2000:]
    results = {}
    for result in json_lines(done):
        assert results.get(result["student"], result)["error"] == result["error"]
        results[result["student"]] = result
    return results


def lines(text: str, student: str) -> list[str]:
    """The feedback's lines; the memory hog's stopping line either way (STOPPED)."""
    return [STOPPED.sub("<stopped by a limit>", line.strip()) if student == "memory-hog" else line.strip()
            for line in text.splitlines() if line.strip()]


def assert_as_graded(course, expected: dict, log: str) -> None:
    """nbgrader's gradebook and autograded notebook hold for this student what `grade` gave."""
    from nbgrader.api import Gradebook

    from autograder.gradebook import COURSE_ID, db_url

    student = expected["student"]
    nb = notebooks.read(course / "autograded" / student / "ps1" / "convolution.ipynb")
    cells = {notebooks.grade_id(cell): cell for cell in nb.cells if notebooks.grade_id(cell)}
    with Gradebook(db_url(course), COURSE_ID) as gb:
        auto = {g.name: g.auto_score for g in gb.find_submission_notebook("convolution", "ps1", student).grades}
        total = gb.find_submission("ps1", student).score
        by_hand = gb.find_submission_notebook("convolution", "ps1", student).needs_manual_grade
    assert total == expected["score"], (student, total, expected["score"])
    assert by_hand == (expected["status"] == "graded"), student  # the written question, unless not graded
    if expected["status"] == "graded":
        for exercise in expected["exercises"]:
            if exercise["score"] is None:  # graded by hand: left to a human by both
                assert auto[exercise["name"]] is None, student
                continue
            assert sum(auto[cell] for cell in exercise["cells"]) == exercise["score"], (student, exercise["name"])
            shown = cells[list(exercise["cells"])[-1]].outputs[0]["data"]["text/plain"]
            assert lines(shown, student) == lines(exercise["feedback"], student), (student, exercise["name"])
    else:
        reason = expected["error"]
        assert html.escape(f"Not graded: {reason}") in nb.cells[0].source, student
        for gid, cell in cells.items():
            if gid.startswith("test_") and gid.endswith("_hidden"):
                assert cell.outputs[0]["data"]["text/plain"] == f"not graded: {reason}", (student, gid)
                assert auto[gid] == 0
        assert f"{student}: not graded: {reason}" in log, student


@pytest.mark.slow
def test_nbgrader_autograde_gives_every_fixture_what_the_grade_command_gives(tmp_path):
    course = fixture_course(tmp_path)
    ours = by_student(run_grader(course, "grade", "ps1", "--json", "--no-gradebook", "--timeout", str(TIMEOUT)))
    assert {"wes", "amb", "cor"} == {s for s, r in ours.items() if r["status"] == "error"}
    assert all(r["score"] == 0 and "no result" in r["exercises"][0]["feedback"] for s, r in ours.items()
               if s == "crashes")
    assert f"({TIMEOUT} s per function)" in ours["infinite-loop"]["exercises"][0]["feedback"]
    shutil.rmtree(course / ".autograder" / "results")  # what `grade` stored: nbgrader's run stores its own

    done = nbgrader(course, "autograde", "ps1")  # every student, each in the sandbox
    for expected in ours.values():
        assert_as_graded(course, expected, done.stderr)
    # each result is in the grader's store too: `grade` finds them all unchanged and recorded
    again = run_grader(course, "grade", "ps1", "--timeout", str(TIMEOUT))
    rows = len(ours) + 1  # amb's two notebooks
    assert f"{rows} notebook(s): 0 graded now, {rows} unchanged (from the store), 4 error(s)\n" in again.stdout, \
        again.stdout[-800:]

    # one student regraded with --force: a new notebook, graded again; the others are not touched
    others = {p: p.stat().st_mtime_ns for p in (course / "autograded").rglob("*.ipynb")
              if "correct-loops" not in str(p)}
    submit(course, "correct-loops", fixture_notebook("ps1", "flipped-kernel"))
    redone = nbgrader(course, "autograde", "ps1", "--student", "correct-loops", "--force")
    (now,) = by_student(run_grader(course, "grade", "ps1", "submitted/correct-loops/ps1", "--json", "--force",
                                   "--no-gradebook", "--timeout", str(TIMEOUT))).values()
    assert now["score"] == ours["flipped-kernel"]["score"] < ours["correct-loops"]["score"]
    assert_as_graded(course, now, redone.stderr)
    assert others == {p: p.stat().st_mtime_ns for p in others}


def log_in(page, base: str, token: str) -> None:
    page.goto(f"{base}/login")  # as a person would: the API calls need the cookie
    page.locator("#password_input").fill(token)
    page.locator("#password_input").press("Enter")
    page.wait_for_load_state("networkidle")


def click_autograde(page, student: str) -> str:
    """Click a student's Autograde button in the formgrader's Manage Submissions page; the log it shows."""
    row = page.locator("#main-table tr").filter(
        has=page.locator("td.student-id", has_text=re.compile(f"^{re.escape(student)}$")))
    with page.expect_response(lambda r: r.url.endswith(f"/{student}/autograde")) as response:
        row.locator("td.autograde a").click()
    assert response.value.status == 200
    modal = page.locator("#success-modal")
    modal.wait_for(state="visible")
    log = modal.locator("pre").first.inner_text()
    modal.locator(".modal-footer button").click()
    modal.wait_for(state="detached")
    return log


@pytest.mark.slow
def test_the_formgrader_autograde_button_gives_every_fixture_what_the_grade_command_gives(tmp_path, browser_page):  # noqa: F811
    from nbgrader.api import Gradebook

    from autograder.gradebook import COURSE_ID, db_url

    SHOTS.mkdir(parents=True, exist_ok=True)
    course = fixture_course(tmp_path)
    ours = by_student(run_grader(course, "grade", "ps1", "--json", "--no-gradebook", "--timeout", str(TIMEOUT)))
    shutil.rmtree(course / "autograded", ignore_errors=True)
    token = secrets.token_hex(16)
    server, base = start_jupyter(course, tmp_path, token)
    try:
        page = browser_page
        log_in(page, base, token)
        page.goto(f"{base}/formgrader/manage_submissions/ps1")
        page.wait_for_load_state("networkidle")
        statuses = page.locator("#main-table td.status")
        assert statuses.count() == len(ours) and set(statuses.all_inner_texts()) == {"needs autograding"}
        logs = {student: click_autograde(page, student) for student in sorted(ours)}
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SHOTS / "formgrader-autograded-class.png"), full_page=True)
        for student, expected in ours.items():
            assert_as_graded(course, expected, logs[student])
            row = page.locator("#main-table tr").filter(has=page.locator("td.student-id", has_text=re.compile(
                f"^{re.escape(student)}$")))
            assert row.locator("td.score").inner_text() == f"{expected['score']:g} / 20", student
            waits = "needs manual grading" if expected["status"] == "graded" else "graded"  # the written question
            assert row.locator("td.status").inner_text() == waits, student

        # the reason of a notebook that could not be graded, on top of its page in the formgrader
        with Gradebook(db_url(course), COURSE_ID) as gb:
            submission = gb.find_submission_notebook("convolution", "ps1", "cor").id
        page.goto(f"{base}/formgrader/submissions/{submission}/")
        page.wait_for_load_state("networkidle")
        reason = f"Not graded: {ours['cor']['error']}"
        assert page.get_by_text(reason, exact=False).first.is_visible()
        page.screenshot(path=str(SHOTS / "formgrader-not-graded.png"))
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
def test_nbgrader_autograde_grades_a_notebook_its_schema_would_refuse(tmp_path):
    course = make_course(tmp_path / "course")
    registered_gradebook(course)
    nb = fixture_notebook("ps1", "correct-loops")
    nb.cells[-1].id = "a" * 65  # longer than nbformat allows
    nb.cells[0].id = 'x"><img src=x onerror=alert(1)>'
    nb.cells[1].metadata["tags"] = "x"  # a string, not a list
    submit(course, "odd", nb)
    done = nbgrader(course, "autograde", "ps1", "--student", "odd")
    autograded = course / "autograded" / "odd" / "ps1" / "convolution.ipynb"
    out = nbformat.read(autograded, as_version=4)
    nbformat.validate(out)
    assert "onerror" not in autograded.read_text() and "Notebook is invalid" not in done.stderr
    auto = {c.metadata.nbgrader["grade_id"]: c.metadata.nbgrader for c in out.cells
            if c.metadata.get("nbgrader", {}).get("grade")}
    assert set(auto) >= {"test_conv2d_hidden", "test_convolve2d_hidden", "test_conv1d_hidden"}
    with nbgrader_gradebook(course) as gb:
        assert gb.find_submission_notebook("convolution", "ps1", "odd").score == 17.0
