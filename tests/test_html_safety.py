"""Student-authored HTML made inert (autograder.gradebook.html_safety, and its make_inert, which
applies it to the autograded notebook): honest answers are left byte for byte, anything that could
run is removed, judged on the HTML nbconvert's own renderer makes of the cell."""

import base64
import copy

import pytest

from autograder import notebooks
from autograder.course import ASSIGNMENTS
from autograder.gradebook import html_safety
from autograder.shadows import sanitize
from tests.conftest import ROOT, fixture_notebook

HONEST = {
    "stub": "*Your answer:*",
    "math": "*Your answer:* the flip maps $k[i, j]$ to $k[-i, -j]$, so for $a<b$ and $i < H - k_h$ it holds.",
    "display math": "$$\\sum_{a<m} x_{i+a} k_a$$ and \\begin{align} y &= x * k \\\\ &= k * x \\end{align}",
    "bold and lists": "**Bold**, _italic_, `code <b>`\n\n1. one\n2. two\n\n- [x] done\n- [ ] todo\n\n> quoted",
    "code block": "```python\ndef f(x):\n    return x < 2 and '<script>'\n```\n\n```\nplain <div>\n```",
    "table": "| kernel | output |\n|:--|--:|\n| box | same |\n| [[1, 0], [0, -1]] | flipped |",
    "images": "![my plot](plot.png \"title\") and <img src=\"fig.png\" width=\"300\" alt=\"fig\">",
    "inline html": "x<sub>i</sub>, 2<sup>n</sup>, a<br>b, <span style=\"color: red\">red</span>, "
                   "<font color=red>r</font>",
    "block html": "<div align=\"center\">\n\n**centred**\n\n</div>\n\n"
                  "<details><summary>Why</summary>Because.</details>",
    "raw table": "<table><tr><td>1</td><td>2</td></tr></table>",
    "comment": "text <!-- a note to myself --> more",
    "links": "See <https://numpy.org> and [the docs](https://numpy.org/doc/) or https://scipy.org, "
             "[section](#top), mailto: <mailto:me@example.org>",
    "entities and prose": "a &lt; b &amp; c &gt; d; the input data: a 3x3 kernel; javascript is not used",
    "heading": "## My answer\n\nIt flips.",
    "mermaid": "```mermaid\ngraph LR\n  A --> B\n```",
}

ATTACKS = {
    "script": "<script>pwned()</script>",
    "onerror": "<img src=x onerror=pwned()>",
    "svg onload": "<svg onload=pwned()><circle r=4></circle></svg>",
    "markdown link": "[click](javascript:pwned())",
    "link in capitals": "[click](JaVaScRiPt:pwned())",
    "link as entities": "[click](&#106;avascript:pwned())",
    "link with a colon entity": "[click](javascript&colon;pwned())",
    "double entities": "[click](&amp;#106;avascript:pwned())",
    "escaped colon": "[click](javascript\\:pwned())",
    "reference link": "[click][x]\n\n[x]: javascript:pwned()",
    "html link": "<a href=\"javascript:pwned()\">click</a>",
    "tab in the scheme": "<a href=\"java&#9;script:pwned()\">click</a>",
    "data link": "<a href=\"data:text/html,<script>pwned()</script>\">click</a>",
    "iframe srcdoc": "<iframe srcdoc=\"<script>parent.pwned()</script>\"></iframe>",
    "details ontoggle": "<details open ontoggle=pwned()><summary>s</summary></details>",
    "form action": "<form action=\"javascript:pwned()\"><button>go</button></form>",
    "style": "<style>body { display: none }</style>",
    "object": "<object data=\"javascript:pwned()\"></object>",
    "meta refresh": "<meta http-equiv=\"refresh\" content=\"0;url=javascript:pwned()\">",
    "base": "<base href=\"https://evil.example/\">",
    "mermaid closing its pre": "```mermaid\n</pre><img src=x onerror=pwned()>\n```",
    "noscript": "<noscript><p title=\"</noscript><img src=x onerror=pwned()>\"></noscript>",
    "cdata": "<![CDATA[><img src=x onerror=pwned()>]]>",
    "comment trick": "<!--><img src=x onerror=pwned()>-->",
    "math around html": "$x$ <img src=x onerror=pwned()> $y$",
    "input clobbering": "<input class=\"score\" id=\"written_flip\" type=\"text\">",
    "style position": "<div style=\"position: fixed; top: 0\">fake grade</div>",
}


def active(fragment: str) -> list[str]:
    """What in the HTML a browser would act on: elements and attributes outside the allowlist,
    event handlers, harmful URLs (as html_safety's own token reader sees them)."""
    found = []
    for kind, *rest in html_safety._tokens(fragment):
        if kind != "tag":
            continue
        tag, attrs = rest
        if tag not in html_safety.TAGS:
            found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or html_safety._scheme(value) in ("javascript", "vbscript") or (
                    name in ("href", "src") and html_safety._scheme(value) == "data" and tag != "img"):
                found.append(f"{tag}[{name}]")
            if (name == "style" and "position" in value) or (name == "class" and "score" in value) or (
                    name == "id" and tag not in ("h1", "h2", "h3", "h4", "h5", "h6")):
                found.append(f"{tag}[{name}]")
    return found


def misread(fragment: str) -> bool:
    """Comments and CDATA sections, which Python's HTML parser (behind `active`) does not read as a
    browser does: `<!-->` ends a comment in a browser, and CDATA is a comment up to the first `>`."""
    return "<!--" in fragment or "<![CDATA[" in fragment


@pytest.mark.parametrize("name", HONEST)
def test_an_honest_answer_is_left_byte_for_byte(name):
    source = f"honest-words\n\n{HONEST[name]}"
    assert html_safety.markdown_is_inert(source)
    nb = notebooks.as_node({"metadata": {}, "cells": [{"cell_type": "markdown", "metadata": {}, "source": source}]})
    before = notebooks.writes(nb)
    html_safety.make_inert(nb, sanitize.ReleaseCells())
    assert notebooks.writes(nb) == before


@pytest.mark.parametrize("name", ATTACKS)
def test_anything_that_could_run_is_removed_and_the_honest_words_stay(name):
    source = f"honest-words-5c1a and $a < b$\n\n{ATTACKS[name]}"
    before = html_safety.render_markdown(source)
    assert active(before) or misread(before), "the attack does nothing even before: a useless case"
    assert not html_safety.markdown_is_inert(source)
    inert = html_safety.inert_markdown(source)
    shown = html_safety.render_markdown(inert)
    assert active(shown) == [], shown
    assert not any(tag in shown for tag in ("<script", "<iframe", "<svg", "<style", "<form", "<object", "<meta",
                                            "<base", "<noscript", "<![CDATA[", "<!-->")), shown
    assert html_safety.is_inert(shown) and html_safety.markdown_is_inert(inert)
    assert "honest-words-5c1a" in shown and "$a &lt; b$" in shown
    assert html_safety.NOTE in shown


def test_the_cheap_test_lets_through_only_what_cannot_hold_script():
    assert not html_safety.may_be_active("*Your answer:* it flips: $k(-i)$, **both** axes & more")
    for source in ATTACKS.values():
        assert html_safety.may_be_active(source), source


@pytest.mark.parametrize("assignment", sorted(ASSIGNMENTS))
def test_the_course_text_itself_passes(assignment):
    """Every markdown cell of the release would be left alone even if it were a student's."""
    release = notebooks.read_trusted(ASSIGNMENTS[assignment].release_path(ROOT))
    for cell in release.cells:
        if cell.cell_type == "markdown":
            assert html_safety.markdown_is_inert(cell.source, cell.get("attachments")), cell.source[:200]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PNG = _b64(b"\x89PNG\r\n\x1a\n" + bytes(40))
CLEAN_SVG = _b64(b'<svg xmlns="http://www.w3.org/2000/svg"><use xlink:href="#m"/><rect width="4" height="4"/></svg>')


def test_attachments_keep_images_and_lose_what_could_run():
    honest = {"plot.png": {"image/png": PNG}, "plot.svg": {"image/svg+xml": CLEAN_SVG}}
    assert html_safety.inert_attachments(copy.deepcopy(honest)) is None
    attacks = {
        "onload.svg": {"image/svg+xml": _b64(b'<svg xmlns="http://www.w3.org/2000/svg" onload="pwned()"/>')},
        "script.svg": {"image/svg+xml": _b64(b"<svg><script>pwned()</script></svg>"), "image/png": PNG},
        "entity.svg": {"image/svg+xml": _b64(b"<svg><a href='&#106;avascript:pwned()'>x</a></svg>")},
        "page.html": {"text/html": _b64(b"<script>pwned()</script>")},
        "not base64": {"image/png": '" onerror="pwned()'},
        "not a bundle": "<script>",
    }
    out = html_safety.inert_attachments({**honest, **attacks})
    assert {name: out[name] for name in honest} == honest
    assert out["script.svg"] == {"image/png": PNG}
    for name in ("onload.svg", "entity.svg", "page.html", "not base64", "not a bundle"):
        assert out[name] == {"image/svg+xml": html_safety.PLACEHOLDER_SVG}, name


def test_raw_cells_are_cleaned_only_when_they_hold_something_that_runs():
    for source in ("\\LaTeX{} with a < b", "<b>bold</b> and <i>it</i>", "plain text"):
        assert html_safety.is_inert(source), source
    cleaned = html_safety.inert_raw("<p>honest-raw</p><script>pwned()</script><img src=x onerror=pwned()>")
    assert cleaned == html_safety.RAW_NOTE + '<p>honest-raw</p><img src="x">'


def attacked_notebook():
    """ps1 with a payload in the written answer, an added markdown cell, a raw cell, an attachment
    and widget state; and a student cell posing as a locked cell of the release."""
    nb = fixture_notebook("ps1", "correct-loops")
    answer = next(c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("*Your answer:*"))
    answer.source += " honest-answer <img src=x onerror=pwned()>"
    nb.cells.append(notebooks.as_node({"cell_type": "markdown", "metadata": {}, "source": "![a](attachment:a.svg)",
                                       "attachments": {"a.svg": {"image/svg+xml": _b64(b"<svg onload='pwned()'/>")}}}))
    nb.cells.append(notebooks.as_node({"cell_type": "raw", "metadata": {"format": "text/html"},
                                       "source": "<script>pwned()</script>"}))
    nb.cells.append(notebooks.as_node({"cell_type": "markdown", "source": "<script>pwned()</script>",
                                       "metadata": {"nbgrader": {"grade_id": "intro", "locked": True}}}))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_make_inert_changes_exactly_the_cells_that_could_run():
    from autograder.shadows.sanitize import ReleaseCells, SourceCell

    release_nb = notebooks.read_trusted(ASSIGNMENTS["ps1"].release_path(ROOT))
    release = ReleaseCells(source_cells=[
        SourceCell(notebooks.grade_id(c), c.cell_type, True, c.source, None) for c in release_nb.cells
        if notebooks.grade_id(c) and notebooks.nbgrader(c).get("locked")])
    nb = attacked_notebook()
    before = copy.deepcopy(nb)
    html_safety.make_inert(nb, release)
    changed = [i for i, (old, new) in enumerate(zip(before.cells, nb.cells, strict=True)) if old != new]
    answer = next(i for i, c in enumerate(before.cells) if "honest-answer" in c.source)
    assert changed == [answer, len(nb.cells) - 3, len(nb.cells) - 2, len(nb.cells) - 1]
    assert "widgets" not in nb.metadata
    for index in changed:
        cell = nb.cells[index]
        shown = (html_safety.render_markdown(cell.source, cell.get("attachments")) if cell.cell_type == "markdown"
                 else cell.source)
        assert active(shown) == [] and "<script" not in shown, shown
    assert "honest-answer" in nb.cells[answer].source
    assert nb.cells[-3].attachments["a.svg"] == {"image/svg+xml": html_safety.PLACEHOLDER_SVG}
