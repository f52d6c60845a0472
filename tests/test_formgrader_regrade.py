"""A grade given by hand in the formgrader (headless Chromium typing it in) survives a regrade
that our sqlite3 writer records, and the formgrader shows it afterwards."""

import secrets

import pytest

from autograder.gradebook import COURSE_ID, db_url
from tests.conftest import json_lines, run_grader, submit
from tests.marked_class import bens_notebook
from tests.test_pages_in_browser import SHOTS, browser_page, start_jupyter  # noqa: F401 - the fixture


@pytest.mark.slow
def test_a_grade_typed_in_the_formgrader_survives_a_regrade(course, tmp_path, browser_page):  # noqa: F811
    from nbgrader.api import Gradebook

    SHOTS.mkdir(parents=True, exist_ok=True)
    submit(course, "ben", bens_notebook())
    first = run_grader(course, "grade", "ps1", "--json")
    assert first.returncode == 0, first.stderr
    (graded,) = json_lines(first)
    token = secrets.token_hex(16)
    server, base = start_jupyter(course, tmp_path, token)
    try:
        with Gradebook(db_url(course), COURSE_ID) as gb:
            submission_id = gb.find_submission_notebook("convolution", "ps1", "ben").id
        page = browser_page
        url = f"{base}/formgrader/submissions/{submission_id}/?token={token}"
        page.goto(f"{base}/login")  # log in with the token, as a person would: the API calls need the cookie
        page.locator("#password_input").fill(token)
        page.locator("#password_input").press("Enter")
        page.wait_for_load_state("networkidle")
        assert page.goto(url).status == 200
        page.wait_for_load_state("networkidle")
        score = page.locator("input.score#written_flip")
        score.fill("2.5")
        with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
            score.press("Tab")  # the formgrader saves on change
        assert saved.value.status == 200, saved.value.text()
        with Gradebook(db_url(course), COURSE_ID) as gb:
            assert gb.find_grade("written_flip", "convolution", "ps1", "ben").manual_score == 2.5

        again = run_grader(course, "grade", "ps1", "--force", "submitted/ben/ps1")
        assert again.returncode == 0, again.stderr
        ben = next(line for line in again.stdout.splitlines() if line.startswith("ben "))
        assert "2.5/3" in ben and f"{graded['score'] + 2.5:g}/20" in ben, again.stdout

        assert page.goto(url).status == 200
        page.wait_for_load_state("networkidle")
        assert page.locator("input.score#written_flip").input_value() == "2.5"
        page.locator("input.score#written_flip").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "formgrader-after-regrade.png"))
    finally:
        server.terminate()
        server.wait(timeout=30)
    with Gradebook(db_url(course), COURSE_ID) as gb:
        notebook = gb.find_submission_notebook("convolution", "ps1", "ben")
        assert notebook.score == graded["score"] + 2.5 and not notebook.needs_manual_grade
