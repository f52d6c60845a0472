"""What a student sees in the released notebooks (issue 19, "The student's notebook").

The helpers of the visible checks (and ps1's plotting helper) are collapsed, so a notebook opens on
its first explanation; a failed visible check writes its numbers as the grader's feedback does and
its traceback ends at the check's line in the student's cell; the letter-H figure writes each kernel
weight in the colour that contrasts with its cell and has clean titles; the mark scheme's end
marker is a block of its own in the formgrader.

The fast tests run the release's own cells in this process; the slow ones open the release (and a
student's copy of it) in JupyterLab and the formgrader in headless Chromium, run it in a real kernel
and save screenshots to $AUTOGRADER_SCREENSHOTS (default /tmp/autograder-screenshots)."""

from __future__ import annotations

import io
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import compare, notebooks
from autograder.course import ASSIGNMENTS
from tests.conftest import (
    ROOT,
    SUBMISSIONS,
    build_submission,
    fixture_sections,
    json_lines,
    make_course,
    run_grader,
    submit,
)
from tests.test_pages_in_browser import SHOTS, chromium, start_jupyter

# The flags the project opens pages with (Playwright adds --headless too).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 900}
WCAG_AA = 4.5  # the contrast ratio WCAG asks of normal text

# A conv1d that correlates instead of convolving (no flip): its first full-mode value is -1, not 1.
CORRELATING_CONV1D = '''def conv1d(signal, kernel, mode="full"):
    signal, kernel = np.asarray(signal, dtype=float), np.asarray(kernel, dtype=float)
    k = len(kernel)
    padded = np.concatenate([np.zeros(k - 1), signal, np.zeros(k - 1)])
    return np.array([np.dot(padded[i:i + k], kernel) for i in range(len(signal) + k - 1)])'''
CHECK_LINE = 'check_array(conv1d(signal, kernel), [1, 2, 2, 2, -3, -4], "conv1d(full)",'
CHECK_MESSAGE = ("CheckFailed: conv1d(full): first difference at index (0,): expected 1.0, got -1.0 "
                 "(6 of 6 values differ)")
HELPER_LINES = ("raise CheckFailed", "raise AssertionError", "def check_array", "np.isclose(actual")


def release(name: str):
    return notebooks.read(ASSIGNMENTS[name].release_path(ROOT))


def cell(nb, grade_id: str):
    (found,) = [c for c in nb.cells if notebooks.grade_id(c) == grade_id]
    return found


def helpers(name: str) -> dict:
    """The release's check helpers, defined in a fresh namespace (as the student's kernel runs them)."""
    namespace = {"np": np}
    exec(cell(release(name), "check_helpers").source, namespace)  # noqa: S102 - our own release
    return namespace


def luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour in 0..1."""
    c = np.asarray(rgb, dtype=float)[..., :3]
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def contrast(a, b) -> float:
    darker, lighter = sorted((luminance(a), luminance(b)))
    return (lighter + 0.05) / (darker + 0.05)


def first_explanation(nb) -> str:
    """The heading of the first markdown cell after the introduction."""
    markdown = [c for c in nb.cells[1:] if c.cell_type == "markdown"]
    return markdown[0].source.splitlines()[0].lstrip("# ").strip()


# -- in this process: the release's own cells ------------------------------------------------------

@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_helpers_are_collapsed_and_nothing_else_stands_before_the_first_explanation(name):
    nb = release(name)
    first = next(i for i, c in enumerate(nb.cells) if i > 0 and c.cell_type == "markdown")
    between = nb.cells[1:first]
    assert [notebooks.grade_id(c) for c in between] == ["setup_imports", "check_helpers"]
    for gid in ("check_helpers", "plot_helpers"):
        if any(notebooks.grade_id(c) == gid for c in nb.cells):
            helper = cell(nb, gid)
            assert helper.metadata["jupyter"] == {"source_hidden": True}  # JupyterLab, VS Code
            assert helper.metadata["cellView"] == "form" and helper.source.startswith("# @title ")  # Colab


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_visible_checks_write_numbers_as_the_graders_feedback_does(name):
    shown = helpers(name)["shown"]
    values = [0, 7, -1, 3.0, -5.0, -0.0, 0.1 + 0.2, 0.6112539999999999, 2.460757619, 1e-7, 2.5e12, 123456789.123,
              np.float64(0.611254), np.float32(0.1), np.int64(-4), np.uint8(200), float("nan"), float("-inf"),
              (np.int64(2), 1), (3.0,), (), True, np.bool_(False), 1 + 2j, "text", None, [1, 2]]
    assert [shown(v) for v in values] == [compare.shown(v) for v in values]


@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_an_array_difference_is_written_in_the_arrays_common_type(name):
    found = helpers(name)
    check_array, failed = found["check_array"], found["CheckFailed"]
    assert issubclass(failed, AssertionError)
    with pytest.raises(failed) as mixed:  # int expected, float result: both written as floats
        check_array(np.array([-1.0, 2.0, 2.0]), [1, 2, 2], "conv1d(full)", meaning={-1.0: "marker-no-flip-41"})
    assert str(mixed.value) == ("conv1d(full): first difference at index (0,): expected 1.0, got -1.0 "
                                "(1 of 3 values differ); marker-no-flip-41")
    with pytest.raises(failed) as ints:  # ints on both sides: ints
        check_array(np.array([[[[4, 5], [2, 7]]]], dtype=np.uint8), [[[[4, 5], [3, 7]]]], "max_pool2d")
    assert "expected 3, got 2 (1 of 4 values differ)" in str(ints.value)
    with pytest.raises(failed, match=r"expected numbers, got an array of dtype <U1"):
        check_array(np.array(["a"]), [1], "x")
    with pytest.raises(failed, match=r"^x: expected 3 \(int\), got 3\.0 \(float\)$"):
        found["check_equal"](3.0, 3, "x")
    with pytest.raises(failed, match=r"^y: expected \(1, 2\) \(tuple\), got \[1, 2\] \(list\)$"):
        found["check_equal"]([1, 2], (1, 2), "y", meaning={(2, 1): "unhashable values have no meaning"})


def test_kernel_weights_are_written_in_the_colour_that_contrasts_with_their_cell(monkeypatch, refs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    monkeypatch.setattr(plt, "show", lambda: None)
    plt.close("all")
    nb = release("ps1")
    namespace = {"np": np, "conv2d": refs["ps1"]["conv2d"]}
    for gid in ("plot_helpers", "example_letter"):
        exec(cell(nb, gid).source, namespace)  # noqa: S102 - our own release
    (number,) = plt.get_fignums()
    figure = plt.figure(number)
    try:
        kernels = [ax for ax in figure.axes if ax.texts]
        assert [ax.get_title() for ax in kernels] == [
            f"kernel: {name}\n3x3, drawn 3x larger" for name in ("identity", "blur", "vertical line",
                                                                 "horizontal line", "Sobel")]
        written = []
        for ax in kernels:
            (image,) = ax.images
            for text in ax.texts:
                column, row = (int(round(v)) for v in text.get_position())
                value = image.get_array()[row, column]
                background = image.cmap(image.norm(value))
                ink = to_rgb(text.get_color())
                written.append((text.get_text(), ink, round(contrast(background, ink), 1)))
        assert len(written) == 5 * 9
        assert [w for w in written if w[2] < WCAG_AA] == []
        # white on the darkest blue and red (the Sobel kernel's -2 and 2), black on the light cells
        assert {(t, ink) for t, ink, _ in written} == {("0", (0, 0, 0)), ("-1", (0, 0, 0)), ("1", (0, 0, 0)),
                                                       ("1", (1, 1, 1)), ("0.11", (1, 1, 1)), ("2", (1, 1, 1)),
                                                       ("-2", (1, 1, 1))}
    finally:
        plt.close(figure)


def test_the_mark_scheme_markers_are_paragraphs_of_their_own():
    for assignment in ASSIGNMENTS.values():
        nb = notebooks.read(assignment.source_path(ROOT))
        task = next(c for c in nb.cells if notebooks.nbgrader(c).get("task"))
        lines = task.source.splitlines()
        for marker in ("=== BEGIN MARK SCHEME ===", "=== END MARK SCHEME ==="):
            at = lines.index(marker)
            assert lines[at - 1] == "" and (at + 1 == len(lines) or lines[at + 1] == ""), (assignment.name, marker)


# -- in JupyterLab and the formgrader, in headless Chromium ---------------------------------------

@dataclass
class Lab:
    course: Path
    base: str
    token: str
    browser: object

    def page(self, height: int = VIEWPORT["height"]):
        page = self.browser.new_page(viewport={**VIEWPORT, "height": height})
        page.set_default_timeout(60_000)
        return page

    def open_notebook(self, page, path: str, workspace: str):
        """`path` in a JupyterLab workspace of its own (no tabs restored from another test)."""
        page.goto(f"{self.base}/lab/workspaces/{workspace}/tree/{path}?reset&token={self.token}")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
        page.locator(".jp-MarkdownOutput h1").first.wait_for()  # the introduction is rendered


def lab_settings(home: Path) -> None:
    """The student's JupyterLab without its news prompt (it would cover part of the screenshots)."""
    folder = home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))


def students_copy():
    """ps1 as an honest student hands it in, with a conv1d that correlates instead of convolving."""
    sections = fixture_sections(SUBMISSIONS / "ps1" / "submitted-correct-loops.py")
    return build_submission("ps1", {**sections, "conv1d": CORRELATING_CONV1D})


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extras: make test")
    executable = chromium()
    tmp = tmp_path_factory.mktemp("student-lab")
    course = make_course(tmp / "course")
    (course / "lab").mkdir()
    nbformat.write(students_copy(), course / "lab" / "convolution.ipynb")
    lab_settings(tmp / "home")
    token = secrets.token_hex(16)
    server, base = start_jupyter(course, tmp, token)
    try:
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                yield Lab(course, base, token, browser)
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.xdist_group("student-lab")
@pytest.mark.parametrize("name", list(ASSIGNMENTS))
def test_the_notebook_opens_on_its_first_explanation(lab, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    nb = release(name)
    page = lab.page()
    try:
        lab.open_notebook(page, ASSIGNMENTS[name].release_path(ROOT).relative_to(ROOT).as_posix(), f"open-{name}")
        heading = page.locator(".jp-MarkdownOutput h2", has_text=first_explanation(nb)).first
        heading.wait_for()
        page.screenshot(path=str(SHOTS / f"student-{name}-opens.png"))
        box = heading.bounding_box()
        assert box is not None and box["y"] + box["height"] <= VIEWPORT["height"], box  # on the first screen
        # the helpers show as one collapsed line (their title), their code is not on the page
        placeholder = page.locator(".jp-InputPlaceholder", has_text="Helpers for the visible checks").first
        assert placeholder.is_visible()
        assert not page.get_by_text("def check_array(").first.is_visible()
        if name == "ps1":
            assert page.locator(".jp-InputPlaceholder", has_text="Plotting helper for the figure below").count() == 1
            assert not page.get_by_text("def show_feature_maps(").first.is_visible()
    finally:
        page.close()


def run_all_cells(page) -> None:
    """Run > Run All Cells, once the kernel is ready and the notebook has the focus."""
    kernel = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))
    kernel.first.wait_for(timeout=120_000)
    page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()


def weight_cells(png: bytes) -> list[tuple[str, float]]:
    """The kernel cells of the figure on the darkest colours of its scale (a square of the scale's end
    colour, three pixels of the input wide, with a weight written in it): for each, "red" or "blue"
    and the contrast between that colour and the pixel of the weight that differs most from it."""
    from matplotlib import colormaps
    from matplotlib.image import imread
    from scipy import ndimage

    pixels = imread(io.BytesIO(png))[..., :3]
    found = []
    for colour_name, end in (("blue", 0.0), ("red", 1.0)):
        colour = np.array(colormaps["RdBu_r"](end)[:3])
        same = np.abs(pixels - colour).max(axis=-1) < 0.03
        labels, _ = ndimage.label(same)
        for box in ndimage.find_objects(labels):
            height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
            written = ~same[box]
            if not (16 <= height <= 60 and abs(height - width) <= 3) or not 4 <= written.sum() <= 0.4 * written.size:
                continue  # not one kernel cell with a number in it (a map, a colour bar, a run of cells)
            inked = pixels[box][written]
            ink = inked[np.abs(inked - colour).sum(axis=-1).argmax()]
            found.append((colour_name, round(contrast(colour, ink), 1)))
    return found


@pytest.mark.slow
@pytest.mark.xdist_group("student-lab")
def test_a_students_run_shows_readable_weights_and_a_failed_check_ending_at_its_line(lab):
    """The student's copy run top to bottom in JupyterLab's kernel: the letter-H figure, then the
    failed conv1d check; then nbgrader's Validate button on the same notebook."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = lab.page(height=1500)  # the letter-H figure is 1181 pixels tall: all of it on the screen
    try:
        lab.open_notebook(page, "lab/convolution.ipynb", "student-run")
        run_all_cells(page)
        error = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").first
        error.wait_for(timeout=180_000)

        figure = page.locator(".jp-OutputArea-output img").first
        figure.scroll_into_view_if_needed()
        png = figure.screenshot(path=str(SHOTS / "student-letter-h.png"))
        cells = weight_cells(png)
        assert {colour for colour, _ in cells} == {"red", "blue"} and len(cells) >= 3, cells
        assert [c for c in cells if c[1] < WCAG_AA] == [], cells

        text = error.inner_text()
        error.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "student-check-traceback.png"))
        assert CHECK_LINE in text and CHECK_MESSAGE in text, text
        assert text.rstrip().endswith("convolution flips the kernel"), text  # the message is the last line
        assert [line for line in HELPER_LINES if line in text] == [], text
        # the one frame shown is the check cell's: "Cell In[n], line 3", no second frame
        assert len(re.findall(r"^Cell In\[\d+\], line \d+", text, flags=re.M)) == 1, text

        page.get_by_role("button", name="Validate").click()
        dialog = page.locator(".jp-Dialog-content")
        dialog.get_by_text("CheckFailed", exact=False).first.wait_for(timeout=180_000)
        report = dialog.inner_text()
        page.screenshot(path=str(SHOTS / "student-validate.png"))
        assert CHECK_MESSAGE in report and [line for line in HELPER_LINES if line in report] == [], report
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.xdist_group("student-lab")
def test_the_formgrader_shows_the_end_of_the_mark_scheme_as_a_block_of_its_own(lab):
    from nbgrader.api import Gradebook

    from autograder.gradebook import COURSE_ID, db_url

    SHOTS.mkdir(parents=True, exist_ok=True)
    page = lab.page()
    try:
        page.goto(f"{lab.base}/formgrader/?token={lab.token}")  # creates the gradebook, as on a fresh course
        page.wait_for_load_state("networkidle")
        submit(lab.course, "kim", students_copy())
        done = run_grader(lab.course, "grade", "ps1", "--json")
        assert done.returncode == 0, done.stderr
        assert [r["student"] for r in json_lines(done)] == ["kim"]
        with Gradebook(db_url(lab.course), COURSE_ID) as gb:
            submission_id = gb.find_submission_notebook("convolution", "ps1", "kim").id
        assert page.goto(f"{lab.base}/formgrader/submissions/{submission_id}/?token={lab.token}").status == 200
        page.wait_for_load_state("networkidle")
        end = page.locator("p", has_text=re.compile(r"^\s*=== END MARK SCHEME ===\s*$"))
        assert end.count() == 1 and end.is_visible()
        begin = page.locator("p", has_text=re.compile(r"^\s*=== BEGIN MARK SCHEME ===\s*$"))
        assert begin.count() == 1
        assert page.locator("li", has_text="END MARK SCHEME").count() == 0  # not run into the last point
        end.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "formgrader-mark-scheme.png"))
    finally:
        page.close()
