"""The feedback page that `nbgrader generate_feedback` makes with the course's exporter and template
(autograder/feedback/page.py, autograder/feedback/templates/course_feedback): formulas drawn as
MathML when the page is made, so the page reads the same from a copied folder without a network; the
contents list names the function of each test cell; a written answer nobody has graded says "not
graded yet" (a grade of 0 says 0); the picture has its alternative text.

The fast tests render in process; the slow one grades ben, makes the page with nbgrader, copies
ben's feedback folder elsewhere and opens it in headless Chromium with every request that is not
a file refused."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ElementTree

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import MarkdownWithMath

from autograder import notebooks
from autograder.feedback import formulas
from autograder.feedback.notebook import PICTURE_ALT
from autograder.feedback.page import FeedbackExporter, FormulaRenderer
from autograder.gradebook import COURSE_ID, db_url
from tests.conftest import ROOT, json_lines, nbgrader, run_grader, submit
from tests.marked_class import ANSWER_MARKER, bens_notebook
from tests.test_pages_in_browser import SHOTS, browser_page  # noqa: F401 - fixture

FORMULA_MARKER = "benformulamarker"
BENS_INLINE = r"k'[a, b] = k[-a, -b]"
BENS_DISPLAY = rf"\sum_{{a, b}} x_{{a b}}\, \text{{{FORMULA_MARKER}}}"
# formulas that try to carry a link or HTML into the page (latex2mathml makes both of what it is given)
LINK_FORMULA = r"\href{javascript:window.pwned=(window.pwned||[]).concat('href')}{\text{clickme}}"
HTML_FORMULA = r"\text{<img src=x onerror=window.pwned=(window.pwned||[]).concat('img')>}"


def markdown_html(source: str) -> str:
    return MarkdownWithMath(renderer=FormulaRenderer(escape=False)).render(source)


def tags_and_attributes(markup: str) -> tuple[set[str], set[str]]:
    tree = ElementTree.fromstring(markup)
    elements = list(tree.iter())
    return {e.tag.rsplit("}", 1)[-1] for e in elements}, {name for e in elements for name in e.attrib}


# -- formulas --------------------------------------------------------------------------------------


def test_a_formula_becomes_mathml_with_its_tex_kept_as_an_annotation():
    assert formulas.mathml(r"\frac{a}{b}", display=True) == (
        '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><semantics><mrow><mrow><mfrac>'
        "<mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></mfrac></mrow></mrow>"
        '<annotation encoding="application/x-tex">\\frac{a}{b}</annotation></semantics></math>'
    )
    inline = formulas.mathml("a<b", display=False)
    assert inline.startswith('<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">')
    assert "<mi>a</mi><mo>&lt;</mo><mi>b</mi>" in inline and ">a&lt;b</annotation>" in inline
    assert "<mi>a</mi><mi>&amp;</mi><mi>b</mi>" in formulas.mathml("a & b", display=False)  # latex2mathml: <mi>&</mi>
    # ps2's formula: latex2mathml leaves TeX's escapes in \text (output\_padding)
    assert "<mtext>output_padding</mtext>" in formulas.mathml(r"n + \text{output\_padding}", display=False)


def test_a_students_formula_carries_no_link_style_or_html():
    link = formulas.mathml(LINK_FORMULA, display=False)
    assert "<mtext>clickme</mtext>" in link
    tags, attributes = tags_and_attributes(link)
    assert tags <= formulas.ELEMENTS and attributes == {
        "display",
        "encoding",
    }  # latex2mathml wrote href="javascript:..."
    styled = formulas.mathml(r"\style{position: fixed; top: 0}{x} \color{red}{y}", display=False)
    tags, attributes = tags_and_attributes(styled)
    assert "style" not in attributes and "mathcolor" in attributes  # latex2mathml wrote style="position: ..."
    assert formulas.mathml(HTML_FORMULA, display=False) is None  # latex2mathml wrote a raw <img ...>
    framed = formulas.mathml(r"\text{a<iframe/>b}", display=False)  # latex2mathml wrote <mtext>a<iframe/>b</mtext>
    assert "<mtext>ab</mtext>" in framed and tags_and_attributes(framed)[0] <= formulas.ELEMENTS


def test_a_formula_that_cannot_be_drawn_stays_tex():
    assert formulas.mathml(r"\frac{", display=True) is None
    assert formulas.mathml("x" * (formulas.MAX_TEX + 1), display=True) is None
    assert formulas.mathml("x" * formulas.MAX_TEX, display=True) is not None
    page = markdown_html(r"broken $\frac{$, fine $x_{i}$ and $$y$$")
    assert page.startswith(r"<p>broken $\frac{$, fine <math ")
    assert page.count("<math ") == 2 and '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">' in page
    assert (
        markdown_html(f"${HTML_FORMULA}$")
        == "<p>$\\text{&lt;img src=x onerror=window.pwned=(window.pwned||[]).concat('img')&gt;}$</p>\n"
    )


def test_environments_and_both_delimiters_are_drawn():
    page = markdown_html("\\begin{align} y &= x \\\\ &= k \\end{align} and \\\\(a\\\\) and \\\\[b\\\\]")
    assert page.count("<math ") == 3 and "<mtable" in page and "$" not in page


# -- the page's words, rendered in process ------------------------------------------------------------


def graded_cell(kind: str, grade_id: str, points: float, score: float, waiting: bool, **marks):
    cell = nbformat.v4.new_code_cell("pass") if kind == "code" else nbformat.v4.new_markdown_cell("Why?")
    cell.metadata["nbgrader"] = {
        "grade_id": grade_id,
        "points": points,
        "score": score,
        "grade": True,
        "solution": False,
        "task": False,
        "locked": True,
        **marks,
    }
    cell.metadata["autograder_feedback"] = {"waiting": waiting}
    return cell


def small_page(waiting: bool, written_score: float) -> str:
    solution = nbformat.v4.new_code_cell("def conv2d(image, kernel):\n    return image")
    solution.metadata["nbgrader"] = {
        "grade_id": "conv2d",
        "grade": False,
        "solution": True,
        "task": False,
        "locked": False,
    }
    visible = graded_cell("code", "test_conv2d_visible", 0, 0, False)
    hidden = graded_cell("code", "test_conv2d_hidden", 8, 2.5, False)
    for cell in (visible, hidden):
        cell.metadata["autograder_feedback"]["function"] = "conv2d"
    task = graded_cell("markdown", "written_flip", 3, written_score, waiting, grade=False, task=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$$n_{out}$$"), solution, visible, hidden, task])
    resources = {
        "nbgrader": {"notebook": "convolution", "score": 2.5 + written_score, "max_score": 11, "late_penalty": 0}
    }
    return FeedbackExporter().from_notebook_node(nb, resources=resources)[0]


def contents(page: str) -> list[str]:
    toc = page[page.index('<div id="toc">') : page.index("</ol>")]
    return [re.sub(r"<[^>]+>", "", entry).strip() for entry in re.findall(r"<li>(.*?)</li>", toc, re.S)]


def test_the_contents_list_names_each_functions_cells_and_an_ungraded_answer_waits():
    page = small_page(waiting=True, written_score=0)
    assert contents(page) == [
        "conv2d: visible checks, no points",
        "conv2d (Score: 2.5 / 8.0)",
        "Written question written_flip (not graded yet, 3.0 points)",
    ]
    assert '<h4>convolution (Score: 2.5 / 11.0; <span class="not-graded">3.0 points not graded yet</span>)</h4>' in page
    assert "Checks of <code>conv2d</code>" in page and "mathjax" not in page.lower()


def test_a_written_answer_graded_zero_says_zero():
    page = small_page(waiting=False, written_score=0)
    assert contents(page)[-1] == "Written question written_flip (Score: 0.0 / 3.0)"
    assert "not graded yet" not in page and "<h4>convolution (Score: 2.5 / 11.0)</h4>" in page


# -- the page nbgrader makes, opened from a copy without a network ---------------------------------------


def bens_notebook_with_formulas():
    nb = bens_notebook()
    (answer,) = [c for c in nb.cells if ANSWER_MARKER in c.source]
    answer.source += (
        f" In symbols, ${BENS_INLINE}$, so $${BENS_DISPLAY}$$ Links: ${LINK_FORMULA}$ and ${HTML_FORMULA}$."
    )
    return nb


def release_formulas() -> list[str]:
    nb = notebooks.read(ROOT / "assignments" / "ps1" / "convolution.ipynb")
    return [tex for c in nb.cells if c.cell_type == "markdown" for tex in re.findall(r"\$\$(.+?)\$\$", c.source, re.S)]


def open_offline(page, path) -> list[str]:
    """Open the page with every request that is not a file refused; the refused addresses."""
    refused = []

    def only_files(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    page.route("**", only_files)
    page.goto(path.as_uri())
    page.wait_for_timeout(300)
    return refused


LIMITS = """() => {
  const op = document.querySelector('math munderover');
  const [sum, below, above] = [...op.children].map(e => e.getBoundingClientRect());
  return {below: below.top >= sum.bottom - 1, above: above.bottom <= sum.top + 1, tall: sum.height > 0};
}"""


@pytest.mark.slow
def test_the_page_reads_right_from_a_copy_of_the_folder_without_a_network(course, tmp_path, browser_page):  # noqa: F811
    from nbgrader.api import Gradebook

    SHOTS.mkdir(parents=True, exist_ok=True)
    submit(course, "ben", bens_notebook_with_formulas())
    done = run_grader(course, "grade", "ps1", "--json")
    assert done.returncode == 0, done.stderr
    (result,) = json_lines(done)
    made = nbgrader(course, "generate_feedback", "ps1", "--force")
    assert "Alternative text is missing" not in made.stderr
    handed_back = tmp_path / "handed-back"
    shutil.copytree(course / "feedback" / "ben" / "ps1", handed_back)
    page = browser_page

    assert open_offline(page, handed_back / "convolution.html") == []  # nbgrader's page asked a CDN for MathJax
    drawn = page.evaluate("[...document.querySelectorAll('math annotation')].map(a => a.textContent)")
    assert drawn == [*release_formulas(), BENS_INLINE, BENS_DISPLAY, LINK_FORMULA]
    assert page.evaluate(LIMITS) == {"below": True, "above": True, "tall": True}  # a sum with limits, laid out
    text = page.inner_text("body")
    assert "$$" not in text and f"${HTML_FORMULA}$" in text  # the formula carrying HTML is shown as TeX
    page.get_by_text("clickme").first.click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.pwned || []") == []

    def entry(name):
        (exercise,) = [e for e in result["exercises"] if e["name"] == name]
        return f"{name} (Score: {round(float(exercise['score']), 2)} / {round(float(exercise['max_score']), 2)})"

    functions = ["conv2d", "convolve2d", "conv1d"]
    expected = [line for name in functions for line in (f"{name}: visible checks, no points", entry(name))]
    assert page.locator("#toc li").all_inner_texts() == [
        *expected,
        "Written question written_flip (not graded yet, 3.0 points)",
    ]
    total = f"{round(float(result['score']), 2)} / {round(float(result['max_score']), 2)}"
    assert page.locator("h4").first.inner_text() == f"convolution (Score: {total}; 3.0 points not graded yet)"
    assert page.locator("img").evaluate_all("images => images.map(i => i.alt)") == [PICTURE_ALT]
    page.locator("#toc").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "feedback-page-contents.png"))
    page.locator("math[display=block]").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "feedback-page-formula.png"))
    page.get_by_text(FORMULA_MARKER).first.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "feedback-page-bens-formulas.png"))

    with Gradebook(db_url(course), COURSE_ID) as gb:  # graded by hand: 0 points is a grade, shown as one
        submission = gb.find_submission_notebook("convolution", "ps1", "ben")
        (written,) = [g for g in submission.grades if g.name == "written_flip"]
        written.manual_score, written.needs_manual_grade = 0.0, False
        gb.db.commit()
    nbgrader(course, "generate_feedback", "ps1", "--force")
    assert open_offline(page, course / "feedback" / "ben" / "ps1" / "convolution.html") == []
    assert page.locator("#toc li").last.inner_text() == "Written question written_flip (Score: 0.0 / 3.0)"
    assert page.locator("h4").first.inner_text() == f"convolution (Score: {total})"
    assert "not graded yet" not in page.inner_text("body")
