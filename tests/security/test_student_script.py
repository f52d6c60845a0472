"""No script from students runs in the pages people open: the feedback page (`nbgrader
generate_feedback`), the formgrader's manual-grading view (the instructor's own Jupyter origin) and
the class report. A submission plants script in every place a student controls (the written answer,
an added markdown cell, raw HTML cells, cell attachments, exception messages, the student id); each
payload, if it ran, would add its name to `window.pwned`. The pages are opened in headless
Chromium, the `javascript:` links clicked, and nothing may have run, while the honest words the
student wrote beside the payloads are still on the page."""

from __future__ import annotations

import base64
import json
import secrets

import nbformat
import pytest

from autograder.gradebook import COURSE_ID, db_url
from tests.conftest import fixture_notebook, nbgrader, run_grader, submit
from tests.test_pages_in_browser import SHOTS, browser_page, start_jupyter, visible_text  # noqa: F401 - fixture

pytestmark = pytest.mark.slow

HONEST_ANSWER = "honest-answer-4b1e"
HONEST_ADDED = "honest-added-7d2a"
HONEST_RAW = "honest-raw-91c3"
HONEST_EXCEPTION = "honest-exception-8c2d"
HONEST_CELL_ERROR = "honest-cell-error-3f60"
HONEST_OUTPUT = "honest-output-0e57"
LINK_TEXT = "click-me-"  # every planted link's text starts with this


def mark(name: str, target: str = "window") -> str:
    """JavaScript that records that payload `name` ran (no spaces, no slashes, no double quotes)."""
    return f"({target}.pwned={target}.pwned||[]).push('{name}')"


def html_payloads(where: str) -> str:
    """Raw HTML a student can write in markdown: every classic way of running script."""
    return "\n\n".join([
        f"<script>{mark(where + '-script')}</script>",
        f'<img src="x" onerror="{mark(where + "-onerror")}">',
        f'<svg onload="{mark(where + "-svg")}"><circle r="4"></circle></svg>',
        f'<a href="javascript:{mark(where + "-a")}">{LINK_TEXT}{where}-a</a>',
        f'<iframe srcdoc="<script>{mark(where + "-iframe", "parent")}</script>"></iframe>',
        f'<details open ontoggle="{mark(where + "-details")}"><summary>s</summary>d</details>',
        f'<form action="javascript:{mark(where + "-form")}"><button id="{where}-submit">{LINK_TEXT}{where}-form'
        "</button></form>",
    ])


def markdown_payloads(where: str) -> str:
    """Payloads in markdown syntax: a `javascript:` link and a mermaid block closing its <pre>."""
    return "\n\n".join([
        f"[{LINK_TEXT}{where}-md](javascript:void({mark(where + '-md-link')}))",
        "```mermaid\n</pre><img src=x onerror=\"" + mark(where + "-mermaid") + "\">\n```",
    ])


def svg_attachment(where: str) -> str:
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="{mark(where + "-att-svg")}">'
           f"<script>{mark(where + '-att-script')}</script><rect width=\"40\" height=\"40\" fill=\"teal\"/></svg>")
    return base64.b64encode(svg.encode()).decode()


def attacking_notebook():
    """ps1, correct except where the payloads are: the written answer, an added markdown cell (with
    SVG and HTML attachments), two raw HTML cells, an exception message in conv1d and a failing
    cell in convolve2d."""
    nb = fixture_notebook("ps1", "correct-loops")
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "markdown" and cell.source.startswith("*Your answer:*"):
            cell.source = (f"*Your answer:* {HONEST_ANSWER}: flipping twice gives the kernel back, "
                           "so $a < b$ is **still** true.\n\n" + html_payloads("answer") + "\n\n" +
                           markdown_payloads("answer"))
        elif gid == "conv1d":
            cell.source = cell.source.replace(
                "def conv1d(signal, kernel, mode=\"full\"):\n",
                "def conv1d(signal, kernel, mode=\"full\"):\n"
                f"    raise ValueError(\"<img src=x onerror={mark('exception')}> {HONEST_EXCEPTION}\")\n", 1)
            assert HONEST_EXCEPTION in cell.source
        elif gid == "convolve2d":
            cell.source = (f"raise ValueError(\"<svg onload={mark('cell-error')}> {HONEST_CELL_ERROR}\")\n"
                           + cell.source)
    added = nbformat.v4.new_markdown_cell(
        f"A note of my own: {HONEST_ADDED}.\n\n![diagram](attachment:evil.svg)\n\n![page](attachment:page.html)\n\n"
        + html_payloads("added") + "\n\n" + markdown_payloads("added"))
    added["attachments"] = {
        "evil.svg": {"image/svg+xml": svg_attachment("added")},
        "page.html": {"text/html": base64.b64encode(f"<script>{mark('att-html')}</script>".encode()).decode()},
    }
    nb.cells.append(added)
    for key in ("format", "raw_mimetype"):
        nb.cells.append(nbformat.v4.new_raw_cell(f"<p>{HONEST_RAW}</p>\n" + html_payloads(f"raw-{key}"),
                                                 metadata={key: "text/html"}))
    return nb


HONEST = [HONEST_ANSWER, HONEST_ADDED, HONEST_RAW, HONEST_EXCEPTION, HONEST_CELL_ERROR, HONEST_OUTPUT]


def what_ran(page) -> list[str]:
    """Click every planted link and button, let handlers fire, and say which payloads ran."""
    page.wait_for_timeout(300)
    for link in page.get_by_text(LINK_TEXT, exact=False).all():
        if link.is_visible():
            link.click(timeout=2000, no_wait_after=True)
    page.wait_for_timeout(500)
    return page.evaluate("window.pwned || []")


def graded_class(course):
    """mallory graded by the real CLI; then, behind the grader's back, outputs planted in a test cell of
    the autograded notebook, which only nbconvert's own sanitizing (nbgrader_config.py) stops."""
    submit(course, "mallory", attacking_notebook())
    done = run_grader(course, "grade", "ps1")
    assert done.returncode == 0, done.stdout + done.stderr
    path = course / "autograded" / "mallory" / "ps1" / "convolution.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") ==
                "test_conv2d_visible")
    cell["outputs"] += [
        {"output_type": "display_data", "metadata": {}, "data": {
            "text/html": f'<b>{HONEST_OUTPUT}</b><img src=x onerror="{mark("output-html")}">', "text/plain": "x"}},
        {"output_type": "display_data", "metadata": {}, "data": {"application/javascript": mark("output-js")}},
        {"output_type": "display_data", "metadata": {}, "data": {
            "text/markdown": f'<img src=x onerror="{mark("output-markdown")}">'}},
    ]
    path.write_text(json.dumps(nb))


def test_the_feedback_page_runs_no_script_from_the_student(course, browser_page):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    graded_class(course)
    nbgrader(course, "generate_feedback", "ps1", "--force")
    page = browser_page
    page.goto((course / "feedback" / "mallory" / "ps1" / "convolution.html").as_uri())
    page.get_by_text(HONEST_ANSWER, exact=False).first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "feedback-mallory.png"))
    page.screenshot(path=str(SHOTS / "feedback-mallory-whole.png"), full_page=True)
    ran = what_ran(page)
    assert ran == [], "these payloads ran: " + ", ".join(ran)
    assert visible_text(page, HONEST) == []


def test_the_formgrader_runs_no_script_from_the_student(course, tmp_path, browser_page):  # noqa: F811
    from nbgrader.api import Gradebook

    SHOTS.mkdir(parents=True, exist_ok=True)
    graded_class(course)
    with Gradebook(db_url(course), COURSE_ID) as gb:
        submission_id = gb.find_submission_notebook("convolution", "ps1", "mallory").id
    token = secrets.token_hex(16)
    server, base = start_jupyter(course, tmp_path, token)
    try:
        page = browser_page
        page.goto(f"{base}/login")  # as the instructor: what a script could act with
        page.locator("#password_input").fill(token)
        page.locator("#password_input").press("Enter")
        page.wait_for_load_state("networkidle")
        assert page.goto(f"{base}/formgrader/submissions/{submission_id}/").status == 200
        page.wait_for_load_state("networkidle")
        page.get_by_text(HONEST_ANSWER, exact=False).first.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "formgrader-mallory.png"))
        ran = what_ran(page)
        assert ran == [], "these payloads ran: " + ", ".join(ran)
        assert visible_text(page, HONEST) == []
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_class_report_runs_no_script_from_student_ids_or_messages(course, browser_page):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    student = f"<img src=x onerror={mark('student-id')}>honest-id-2e9b"
    nb = fixture_notebook("ps1", "correct-loops")
    for cell in nb.cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "convolve2d":
            cell.source = (f"raise ValueError(\"<svg onload={mark('report-error')}> {HONEST_CELL_ERROR}\")\n"
                           + cell.source)
    submit(course, student, nb)
    # two notebooks, one named with a payload: an error message that names the files
    second = f"<svg onload={mark('file-name')}>.ipynb"
    submit(course, "twofiles", nb)
    submit(course, "twofiles", nb, name=second)
    done = run_grader(course, "grade", "ps1", "--json")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    results = {r["student"]: r for r in map(json.loads, done.stdout.splitlines())}
    assert student in results and results["twofiles"]["status"] == "error", results.keys()
    report = course / "ps1-report.html"
    made = run_grader(course, "report", "ps1", "--html", str(report))
    assert made.returncode == 0, made.stderr
    page = browser_page
    page.goto(report.as_uri())
    page.locator("#not-graded").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "report-payloads.png"), full_page=True)
    ran = what_ran(page)
    assert ran == [], "these payloads ran: " + ", ".join(ran)
    # the second line: a script that reached the page's DOM anyway does not run (its Content-Security-Policy)
    planted = page.evaluate("text => { const s = document.createElement('script'); s.textContent = text;"
                            " document.body.append(s); return window.pwned }", mark("dom-script"))
    assert planted is None
    # shown as the text it is (escaped), not as markup a browser acts on
    message = f"<svg onload={mark('report-error')}> {HONEST_CELL_ERROR}"
    assert visible_text(page, [student, message, second]) == []
