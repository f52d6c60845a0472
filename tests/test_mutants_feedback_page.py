"""The feedback page's formulas and grades (autograder.feedback.formulas, autograder.feedback.page),
line by line where tests/test_feedback_page.py looks for a part or needs a real `nbgrader
generate_feedback`: the exact MathML of a formula, what is left out of it, the renderer's choice
between MathML and TeX, and the metadata GetGradesForFeedback writes into each cell, read from a
real nbgrader gradebook on a sqlite file, in this process. Written to kill the mutants `make mutate`
left alive (README "Mutation testing")."""

from __future__ import annotations

import re
import warnings
import xml.etree.ElementTree as ElementTree

import nbformat
import pytest
from nbconvert.filters.markdown_mistune import MarkdownWithMath
from sqlalchemy.exc import SAWarning

from autograder.feedback import formulas
from autograder.feedback.page import FormulaRenderer, GetGradesForFeedback
from autograder.gradebook import nbgrader_side

BLOCK = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><semantics><mrow>'
INLINE = '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><semantics><mrow>'
TEXT_WITH_QUOTES = r"\text{it's " + '"x"}'
NBSP = "\u00a0"  # latex2mathml writes a space in \text{...} as &#x000A0;


def drawn(opening: str, body: str, tex: str) -> str:
    """A formula as mathml() writes it: its MathML body, and its TeX (as HTML text) as the annotation."""
    return f'{opening}{body}</mrow><annotation encoding="application/x-tex">{tex}</annotation></semantics></math>'


# -- formulas.mathml --------------------------------------------------------------------------------


SUM_BLOCK = "<mrow><munderover><mo>∑</mo><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></munderover><mi>x</mi></mrow>"
SUM = r"\sum_{a}^{b} x"
SUM_INLINE = "<mrow><msubsup><mo>∑</mo><mrow><mi>a</mi></mrow><mrow><mi>b</mi></mrow></msubsup><mi>x</mi></mrow>"


def test_a_sum_has_its_limits_below_and_above_only_in_a_displayed_formula():
    # latex2mathml is asked for the formula's own display: munderover in a block, msubsup inline
    assert formulas.mathml(SUM, display=True) == drawn(BLOCK, SUM_BLOCK, SUM)
    assert formulas.mathml(SUM, display=False) == drawn(INLINE, SUM_INLINE, SUM)


@pytest.mark.parametrize(
    ("tex", "display", "expected"),
    [
        # the TeX in the annotation is escaped text; quotes stay quotes
        (
            "k' < 1",
            False,
            drawn(INLINE, "<mrow><msup><mi>k</mi><mi>′</mi></msup><mo>&lt;</mo><mn>1</mn></mrow>", "k' &lt; 1"),
        ),
        # latex2mathml writes a bare & (<mi>&</mi>), which is not XML: read as &amp;
        ("a & b", False, drawn(INLINE, "<mrow><mi>a</mi><mi>&amp;</mi><mi>b</mi></mrow>", "a &amp; b")),
        ("xxx", True, drawn(BLOCK, "<mrow><mi>x</mi><mi>x</mi><mi>x</mi></mrow>", "xxx")),
        # TeX's escapes, which latex2mathml leaves in \text{...}, are undone there
        (
            r"\text{output\_padding \% \#1 \& \$}",
            False,
            drawn(
                INLINE,
                f"<mrow><mtext>output_padding{NBSP}%{NBSP}#1{NBSP}&amp;{NBSP}$</mtext></mrow>",
                r"\text{output\_padding \% \#1 \&amp; \$}",
            ),
        ),
        (r"\text{}", True, drawn(BLOCK, "<mrow><mtext></mtext></mrow>", r"\text{}")),
        # text is escaped as text: quotes stay quotes
        (
            TEXT_WITH_QUOTES,
            False,
            drawn(INLINE, f'<mrow><mtext>it\'s{NBSP}"x"</mtext></mrow>', TEXT_WITH_QUOTES),
        ),
        # an element latex2mathml copied out of \text{...} is left out, its content with it, the text
        # after it stays (escaped, quotes kept)
        (r"\text{a<i/>it's}", False, drawn(INLINE, "<mrow><mtext>ait's</mtext></mrow>", r"\text{a&lt;i/&gt;it's}")),
        (r"\text{<i/>b}", False, drawn(INLINE, "<mrow><mtext>b</mtext></mrow>", r"\text{&lt;i/&gt;b}")),
        # attributes that lay a formula out stay, each once, in latex2mathml's order; values escaped
        (
            r"\left( x \right)",
            True,
            drawn(
                BLOCK,
                '<mrow><mrow><mo stretchy="true" fence="true" form="prefix">(</mo><mi>x</mi>'
                '<mo stretchy="true" fence="true" form="postfix">)</mo></mrow></mrow>',
                r"\left( x \right)",
            ),
        ),
        (
            r'\color{a"b}{x}',
            False,
            drawn(
                INLINE, '<mrow><mstyle mathcolor="a&quot;b"><mrow><mi>x</mi></mrow></mstyle></mrow>', r'\color{a"b}{x}'
            ),
        ),
        # a link's href is left out, its element stays
        (r"\href{u}{x}", False, drawn(INLINE, "<mrow><mrow><mrow><mi>x</mi></mrow></mrow></mrow>", r"\href{u}{x}")),
    ],
)
def test_a_formula_is_written_again_exactly(tex, display, expected):
    assert formulas.mathml(tex, display=display) == expected


def test_an_empty_or_too_long_formula_is_not_drawn_and_the_longest_is():
    assert formulas.mathml("", display=True) is None
    assert formulas.mathml(" \n\t", display=False) is None
    assert formulas.mathml("x" * (formulas.MAX_TEX + 1), display=True) is None
    longest = "x" * formulas.MAX_TEX
    assert formulas.mathml(longest, display=True) == drawn(
        BLOCK, f"<mrow>{'<mi>x</mi>' * formulas.MAX_TEX}</mrow>", longest
    )


def test_a_formula_latex2mathml_cannot_convert_is_not_drawn():
    assert formulas.mathml(r"\frac{", display=False) is None


def test_a_tag_is_read_without_its_namespace():
    assert formulas._local("{http://www.w3.org/1998/Math/MathML}mi") == "mi"
    assert formulas._local("mi") == "mi"


def test_the_wrappers_own_elements_inside_a_formula_are_left_out_and_only_mtext_is_unescaped():
    """math, semantics and annotation are what mathml() wraps the formula in: one inside the formula
    is left out with its content (its tail stays), as a kept element's tail does. Only mtext holds
    TeX's escapes to undo."""
    element = ElementTree.fromstring(
        r"<mrow><math><mi>a</mi></math>1<semantics><mi>b</mi></semantics>2<annotation>c</annotation>3"
        r"<mi>\_</mi>4<ms>\#</ms><mtext>\_</mtext>&lt;5</mrow>"
    )
    assert formulas._safe(element) == r"<mrow>123<mi>\_</mi>4<ms>\#</ms><mtext>_</mtext>&lt;5</mrow>"


# -- FormulaRenderer: MathML, or the TeX when a formula cannot be drawn --------------------------------------


def markdown_html(source: str) -> str:
    return MarkdownWithMath(renderer=FormulaRenderer(escape=False)).render(source)


def test_display_and_inline_formulas_are_drawn_in_their_own_display():
    assert markdown_html(f"$${SUM}$$") == f"<p>{drawn(BLOCK, SUM_BLOCK, SUM)}</p>\n"
    assert markdown_html(f"${SUM}$") == f"<p>{drawn(INLINE, SUM_INLINE, SUM)}</p>\n"


def test_a_latex_environment_is_drawn_as_one_displayed_formula_with_its_whole_tex():
    expected = drawn(
        BLOCK,
        '<mrow><mtable displaystyle="true" rowspacing="3pt" columnspacing="0em 2em"><mtr>'
        '<mtd columnalign="right"><mi>y</mi></mtd><mtd columnalign="left"><mi></mi><mo>=</mo><mi>x</mi></mtd>'
        "<mtd><mtext>(1)</mtext></mtd></mtr></mtable></mrow>",
        r"\begin{align}y &amp;= x\end{align}",
    )
    assert markdown_html(r"\begin{align}y &= x\end{align}") == f"<p>{expected}</p>\n"


def test_a_formula_that_cannot_be_drawn_is_its_tex_as_nbconvert_writes_it():
    assert markdown_html(r"$$a<b \frac{$$") == "<p>$$a&lt;b \\frac{$$</p>\n"
    assert markdown_html(r"a $a<b \frac{$ b") == "<p>a $a&lt;b \\frac{$ b</p>\n"
    assert markdown_html(r"\begin{align}\frac{<b>\end{align}") == "<p>\\begin{align}\\frac{&lt;b&gt;\\end{align}</p>\n"


# -- GetGradesForFeedback, on a real gradebook -----------------------------------------------------------

# grade_id -> (cell type, nbgrader marks, max score in the gradebook, auto score, manual score)
CELLS = {
    "test_early": ("code", {"grade": True, "solution": False, "points": 1}, 1, None, None),
    "conv2d": ("code", {"grade": False, "solution": True}, None, None, None),
    "test_conv2d_visible": ("code", {"grade": True, "solution": False, "points": 0}, 0, 0.0, None),
    # the release said 6 points, the gradebook says 8: the page shows the gradebook's
    "test_conv2d_hidden": ("code", {"grade": True, "solution": False, "points": 6}, 8, 2.5, None),
    "why": ("markdown", {"grade": True, "solution": True, "points": 2}, 2, None, 1.5),
    "conv1d": ("code", {"grade": False, "solution": True}, None, None, None),
    "test_conv1d_hidden": ("code", {"grade": True, "solution": False, "points": 5}, 5, 1.0, 4.0),
    "written_flip": ("markdown", {"grade": False, "solution": False, "task": True, "points": 3}, 3, None, None),
}


@pytest.fixture
def db_url(tmp_path) -> str:
    """A gradebook with ps1's notebook `convolution`, the cells of CELLS, and ben's submission graded."""
    nbgrader_side.stamp_in_process()  # a new gradebook without the `alembic` command
    from nbgrader.api import Gradebook

    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(url) as gb:
        gb.add_assignment("ps1")
        gb.add_notebook("convolution", "ps1")
        for name, (kind, marks, max_score, _, _) in CELLS.items():
            if marks.get("task"):
                gb.update_or_create_task_cell(name, "convolution", "ps1", max_score=max_score, cell_type=kind)
                continue
            if marks["grade"]:
                gb.update_or_create_grade_cell(name, "convolution", "ps1", max_score=max_score, cell_type=kind)
            if marks["solution"]:
                gb.update_or_create_solution_cell(name, "convolution", "ps1")
        gb.add_student("ben")
        with warnings.catch_warnings():  # nbgrader's add_submission trips SQLAlchemy's autoflush warnings
            warnings.simplefilter("ignore", SAWarning)
            gb.add_submission("ps1", "ben")
        for name, (_, _, max_score, auto, manual) in CELLS.items():
            if max_score is not None:  # a graded cell (a solution cell alone has no grade)
                grade = gb.find_grade(name, "convolution", "ps1", "ben")
                grade.auto_score, grade.manual_score = auto, manual
        gb.db.commit()
    return url


def bens_notebook():
    cells = [nbformat.v4.new_markdown_cell("# Convolution")]  # no nbgrader marks
    for name, (kind, marks, _, _, _) in CELLS.items():
        cell = nbformat.v4.new_code_cell("pass") if kind == "code" else nbformat.v4.new_markdown_cell("Because.")
        cell.metadata["nbgrader"] = {"grade_id": name, "locked": False, "task": False, **marks}
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells)


def feedback(db_url: str, preprocessor: GetGradesForFeedback | None = None):
    resources = {"nbgrader": {"notebook": "convolution", "assignment": "ps1", "student": "ben", "db_url": db_url}}
    return (preprocessor or GetGradesForFeedback()).preprocess(bens_notebook(), resources)


def marks_shown(nb) -> dict:
    """grade_id -> (score, points, the page's autograder_feedback metadata) of every cell; each
    cell's anchor is checked and left out: one random prefix for the page, then the grade id."""
    prefixes = set()
    for cell in nb.cells:
        page = cell.metadata.get("autograder_feedback", {})
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id is not None:
            anchor = page.pop("anchor")
            assert anchor.endswith(f"-{grade_id}")
            prefixes.add(anchor.removesuffix(f"-{grade_id}"))
        else:
            assert "anchor" not in page
    assert len(prefixes) == 1 and re.fullmatch(r"autograder-[0-9a-f]{12}", prefixes.pop())
    return {
        cell.metadata.get("nbgrader", {}).get("grade_id", "(unmarked)"): (
            cell.metadata.get("nbgrader", {}).get("score", "-"),
            cell.metadata.get("nbgrader", {}).get("points", "-"),
            cell.metadata.get("autograder_feedback", "-"),
        )
        for cell in nb.cells
    }


EXPECTED = {
    "(unmarked)": ("-", "-", "-"),
    # a test cell above every solution cell checks no function; nobody has scored it: waiting
    "test_early": (0.0, 1.0, {"waiting": True, "function": None}),
    "conv2d": ("-", "-", {}),  # a solution cell: only its anchor (the target of a comment's link)
    "test_conv2d_visible": (0.0, 0.0, {"waiting": False, "function": "conv2d"}),
    "test_conv2d_hidden": (2.5, 8.0, {"waiting": False, "function": "conv2d"}),
    # an answer graded by hand (solution and grade): scored by a person, checks no function
    "why": (1.5, 2.0, {"waiting": False}),
    "conv1d": ("-", "-", {}),
    # a person's score over the grader's
    "test_conv1d_hidden": (4.0, 5.0, {"waiting": False, "function": "conv1d"}),
    # a written question nobody has graded: nbgrader says 0, the page says waiting
    "written_flip": (0.0, 3.0, {"waiting": True}),
}


def test_each_graded_cell_gets_its_score_points_waiting_and_the_function_it_checks(db_url):
    nb, resources = feedback(db_url)
    assert marks_shown(nb) == EXPECTED
    assert resources["nbgrader"]["score"] == 2.5 + 1.5 + 4.0 and resources["nbgrader"]["max_score"] == 19.0


def test_a_second_notebook_starts_above_every_solution_cell_again(db_url):
    preprocessor = GetGradesForFeedback()
    feedback(db_url, preprocessor)
    nb, _ = feedback(db_url, preprocessor)
    assert marks_shown(nb) == EXPECTED


def test_only_a_grade_nobody_has_given_waits(db_url):
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:  # the grader scored the early test, a person the written question
        gb.find_grade("test_early", "convolution", "ps1", "ben").auto_score = 1.0
        gb.find_grade("written_flip", "convolution", "ps1", "ben").manual_score = 0.0
        gb.db.commit()
    shown = marks_shown(feedback(db_url)[0])
    assert shown["test_early"] == (1.0, 1.0, {"waiting": False, "function": None})
    assert shown["written_flip"] == (0.0, 3.0, {"waiting": False})


# -- what a student's notebook cannot change on the page (attacks turned into tests) ---------------


def test_a_test_cell_moved_under_another_function_still_names_its_own(db_url):
    nb = bens_notebook()
    at = {cell.metadata.get("nbgrader", {}).get("grade_id"): i for i, cell in enumerate(nb.cells)}
    nb.cells[at["test_conv2d_hidden"]], nb.cells[at["test_conv1d_hidden"]] = (
        nb.cells[at["test_conv1d_hidden"]], nb.cells[at["test_conv2d_hidden"]])
    resources = {"nbgrader": {"notebook": "convolution", "assignment": "ps1", "student": "ben", "db_url": db_url}}
    nb, _ = GetGradesForFeedback().preprocess(nb, resources)
    shown = marks_shown(nb)
    assert shown["test_conv2d_hidden"] == (2.5, 8.0, {"waiting": False, "function": "conv2d"})
    assert shown["test_conv1d_hidden"] == (4.0, 5.0, {"waiting": False, "function": "conv1d"})


def test_an_assignment_the_course_does_not_know_names_no_function(db_url):
    from autograder.feedback.page import _function_of_test_cells

    assert _function_of_test_cells("ps9", bens_notebook()) == {}
    assert _function_of_test_cells("ps1", bens_notebook()) == {
        "test_conv2d_visible": "conv2d", "test_conv2d_hidden": "conv2d", "test_conv1d_hidden": "conv1d",
        "test_convolve2d_hidden": "convolve2d"}  # the course's cells, whether or not this notebook has them


@pytest.mark.parametrize("brought", ["x", ["waiting"], {"waiting": True, "function": "forged", "anchor": "top"}])
def test_what_a_notebook_brings_under_the_pages_own_field_is_dropped(db_url, brought):
    nb = bens_notebook()
    for cell in nb.cells:
        cell.metadata["autograder_feedback"] = brought
    resources = {"nbgrader": {"notebook": "convolution", "assignment": "ps1", "student": "ben", "db_url": db_url}}
    nb, _ = GetGradesForFeedback().preprocess(nb, resources)
    assert marks_shown(nb) == EXPECTED


def test_a_students_heading_cannot_take_over_a_contents_link(db_url):
    from autograder.feedback.page import FeedbackExporter

    nb = bens_notebook()
    nb.cells.insert(1, nbformat.v4.new_markdown_cell(
        '<h2 id="test_conv2d_hidden">Checks of conv2d: Score 8.0 / 8.0</h2>\n\n# test_conv1d_hidden'))
    resources = {"nbgrader": {"notebook": "convolution", "assignment": "ps1", "student": "ben", "db_url": db_url}}
    nb, resources = GetGradesForFeedback().preprocess(nb, resources)
    page = FeedbackExporter().from_notebook_node(nb, resources=resources)[0]
    toc = page[page.index('<div id="toc">'):page.index("</ol>")]
    links = re.findall(r'href="#([^"]+)"', toc)
    assert len(links) == 6 and all(re.fullmatch(r"autograder-[0-9a-f]{12}-[a-z0-9_]+", link) for link in links)
    for link in links:  # each link's target is one anchor of the page's, and no element's id
        assert page.count(f'name="{link}"') == 1 and f'id="{link}"' not in page
    assert 'id="test_conv2d_hidden"' in page  # the student's heading is there, as written


def test_an_answer_graded_by_hand_is_no_test_cell_whatever_its_name():
    from autograder.feedback.page import _function_of_test_cells

    answer = nbformat.v4.new_markdown_cell("Because.")
    answer.metadata["nbgrader"] = {"grade_id": "test_conv2d_explained", "grade": True, "solution": True, "points": 1}
    check = nbformat.v4.new_code_cell("pass")
    check.metadata["nbgrader"] = {"grade_id": "test_conv2d_extra", "grade": True, "solution": False, "points": 0}
    functions = _function_of_test_cells("ps1", nbformat.v4.new_notebook(cells=[answer, check]))
    assert functions["test_conv2d_extra"] == "conv2d" and "test_conv2d_explained" not in functions
