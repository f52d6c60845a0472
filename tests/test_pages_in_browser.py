"""The two pages people read, opened in headless Chromium: a student's feedback page and the
formgrader's manual-grading view of a submission. Each must show the student's code, their
written answer and the grader's feedback lines (as `--json` printed them).

Chromium is Debian's package (`make` installs it as root); Playwright drives it through
`executable_path`, since its own browser download is not available."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.gradebook import COURSE_ID, db_url
from tests.conftest import json_lines, nbgrader, run_grader, submit
from tests.marked_class import ANSWER_MARKER, CODE_MARKER, bens_notebook, feedback_lines

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SHOTS = Path(os.environ.get("AUTOGRADER_SCREENSHOTS", "/tmp/autograder-screenshots"))


def chromium() -> str:
    """Debian's chromium, installed now when missing and we are root (as `make` does)."""
    found = shutil.which("chromium")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (["apt-get", "install", "-y", "-qq", "chromium"], ["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(command, capture_output=True, timeout=600)
            found = shutil.which("chromium")
            if found:
                break
    if found is None:
        pytest.skip("chromium is not installed and cannot be installed here (not root, or no apt-get): "
                    "install Debian's chromium package to run the page tests")
    return found


@pytest.fixture
def browser_page():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras: make test")
    executable = chromium()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1200, "height": 900})
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_jupyter(course: Path, tmp_path: Path, token: str) -> tuple[subprocess.Popen, str]:
    """A Jupyter server with the formgrader, started as `.venv/bin/jupyter server` would be:
    the environment's scripts directory is NOT on PATH (the course config must cope)."""
    port = free_port()
    scripts = os.path.dirname(sys.executable)
    env = {key: value for key, value in os.environ.items() if not key.startswith("JUPYTER")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != scripts)
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    env["HOME"] = str(tmp_path / "home")
    log = open(tmp_path / "jupyter.log", "w")  # noqa: SIM115 - closed with the server
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}"],
        cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            return server, base
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.5)
    server.terminate()
    raise AssertionError("the Jupyter server did not start:\n" + (tmp_path / "jupyter.log").read_text()[-3000:])


def visible_text(page, needles: list[str]) -> list[str]:
    """The needles that are not visible on the page."""
    return [needle for needle in needles if not page.get_by_text(needle, exact=False).first.is_visible()]


@pytest.mark.slow
def test_feedback_page_and_formgrader_show_the_students_work_and_the_graders_feedback(course, tmp_path,
                                                                                     browser_page):
    from nbgrader.api import Gradebook

    SHOTS.mkdir(parents=True, exist_ok=True)
    submit(course, "ben", bens_notebook())
    token = secrets.token_hex(16)
    server, base = start_jupyter(course, tmp_path, token)
    try:
        # first load of the formgrader on a fresh course: nbgrader creates the gradebook (alembic)
        failures = []
        browser_page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        response = browser_page.goto(f"{base}/formgrader/?token={token}")
        browser_page.wait_for_load_state("networkidle")
        log = (tmp_path / "jupyter.log").read_text()[-3000:]
        assert response.status == 200 and failures == [], (failures, log)
        assert (course / "gradebook.db").is_file(), log

        done = run_grader(course, "grade", "ps1", "--json")
        assert done.returncode == 0, done.stderr
        lines = feedback_lines(json_lines(done), "ben", "conv2d")
        needles = [CODE_MARKER, ANSWER_MARKER, lines[1], lines[-1]]

        nbgrader(course, "generate_feedback", "ps1", "--force")
        page = browser_page
        page.goto((course / "feedback" / "ben" / "ps1" / "convolution.html").as_uri())
        assert visible_text(page, needles) == []
        page.get_by_text(lines[1], exact=False).first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "feedback-ben.png"))

        with Gradebook(db_url(course), COURSE_ID) as gb:
            submission_id = gb.find_submission_notebook("convolution", "ps1", "ben").id
        response = page.goto(f"{base}/formgrader/submissions/{submission_id}/?token={token}")
        assert response.status == 200
        page.wait_for_load_state("networkidle")
        assert visible_text(page, needles) == []
        page.get_by_text(ANSWER_MARKER, exact=False).first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "formgrader-ben.png"))
    finally:
        server.terminate()
        server.wait(timeout=30)
