"""Student-authored HTML made inert before the autograded notebook reaches a browser.

nbgrader's feedback page and the formgrader render the autograded notebook with nbconvert, whose
markdown renderer passes raw HTML and ``javascript:`` links through, and nbgrader's own templates
for markdown cells ignore ``HTMLExporter.sanitize_html``. A script in a written answer would run in
the student's feedback page and, in the formgrader, with the instructor's Jupyter session.

The rule: a cell is changed only when it could do something. A markdown cell is rendered with
nbconvert's own renderer (what the pages show), the HTML is cleaned with nh3 (the Ammonia
sanitizer) under an allowlist that covers what nbconvert's markdown makes and what honest answers
use (math, tables, images, code, ``<br>``, ``<sub>``), and the cell keeps its source byte for byte
when cleaning removed nothing. Otherwise its source becomes the cleaned HTML, headed by a note that
says so. Raw cells are cleaned the same way (nbconvert passes raw HTML through); attachments keep
only images, SVG only without script.
"""

from __future__ import annotations

import base64
import binascii
import functools
import html
import re
from html.parser import HTMLParser

import nh3

from autograder import notebooks

#: What a cleaned page may hold: Ammonia's default tags, the task-list checkbox mistune makes, <font>.
TAGS = frozenset(nh3.ALLOWED_TAGS | {"input", "font"})
ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "id", "style", "title", "align", "lang", "dir"},
    "img": {"src", "alt", "width", "height", "align"},
    "input": {"type", "disabled", "checked"},
    "font": {"color", "size", "face"},
    "ol": {"start", "type"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto", "data"})  # data: only for images (_attribute)
STYLE_PROPERTIES = frozenset({"color", "background-color", "text-align", "vertical-align", "font-weight",
                              "font-style", "text-decoration", "width", "height", "max-width"})
#: Class names that nbconvert's markdown makes (pygments' short token names, anchors, task lists,
#: mermaid) and the two this module sets. Others could borrow the page's own styles and handlers.
_CLASS = re.compile(r"[a-z]{1,3}[0-9]?|highlight|anchor-link|task-list-item(-checkbox)?|mermaid|jp-Mermaid|"
                    r"language-[A-Za-z0-9_+-]+|autograder-sanitized|autograder-note")
_IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml)[;,]", re.IGNORECASE)
IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")

NOTE = ("<p class=\"autograder-note\"><em>The grader removed HTML from this cell that could run in a browser "
        "(a script, an event handler or a link to JavaScript); the rest is shown as written.</em></p>")
RAW_NOTE = "[The grader removed HTML from this cell that could run in a browser.]\n"
PLACEHOLDER_SVG = base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="24"><text x="4" y="16" font-size="12">'
    b"image removed by the grader: it held script</text></svg>").decode("ascii")


def _attribute(tag: str, name: str, value: str) -> str | None:
    """nh3's per-attribute filter: classes from the list, ids only on headings (nbconvert's anchors),
    data: URLs only as image sources, checkboxes only."""
    if name == "class":
        kept = [token for token in value.split() if _CLASS.fullmatch(token)]
        return " ".join(kept) or None
    if name == "id":
        return value if tag in ("h1", "h2", "h3", "h4", "h5", "h6") else None
    if name in ("href", "src", "cite") and _scheme(value) == "data":
        return value if tag == "img" and name == "src" and _IMAGE_DATA.match(_url(value)) else None
    if tag == "input" and name == "type":
        return value if value.lower() == "checkbox" else None
    return value


def _url(value: str) -> str:
    """A URL as a browser reads it: tabs and newlines anywhere, and spaces or control characters
    around it, do not count."""
    return re.sub(r"[\t\n\r]", "", value).strip("".join(map(chr, range(33))))


def _scheme(value: str) -> str | None:
    match = re.match(r"([A-Za-z][A-Za-z0-9+.-]*):", _url(value))
    return match[1].lower() if match else None


def clean(fragment: str) -> str:
    """An HTML fragment with everything that could run removed (nh3, the allowlist above)."""
    return nh3.clean(fragment, tags=set(TAGS), attributes=ATTRIBUTES, attribute_filter=_attribute,
                     url_schemes=set(URL_SCHEMES), filter_style_properties=set(STYLE_PROPERTIES),
                     strip_comments=False, link_rel=None)


class _Tokens(HTMLParser):
    """Start tags (attributes sorted, values normalized), text, comments and declarations of a
    fragment. End tags are left out: a parser closing an element for the writer adds no behaviour."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        normalized = tuple(sorted((name, _value(name, value)) for name, value in attrs))
        if not (tag == "tbody" and not normalized):  # html5 parsers add <tbody> to a bare <table>
            self.tokens.append(("tag", tag, normalized))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        data = data.replace("\r\n", "\n").replace("\r", "\n")
        if self.tokens and self.tokens[-1][0] == "tag" and self.tokens[-1][1] in ("pre", "textarea", "listing"):
            data = data.removeprefix("\n")  # html5 drops the newline after <pre>
        if not data:
            return
        if self.tokens and self.tokens[-1][0] == "text":
            self.tokens[-1] = ("text", self.tokens[-1][1] + data)
        else:
            self.tokens.append(("text", data))

    def handle_comment(self, data):
        self.tokens.append(("comment", data))

    def handle_decl(self, decl):
        self.tokens.append(("decl", decl))

    def unknown_decl(self, data):
        self.tokens.append(("decl", data))

    def handle_pi(self, data):
        self.tokens.append(("pi", data))


def _value(name: str, value: str | None) -> str:
    value = value or ""
    return re.sub(r"\s+|;$", "", value) if name == "style" else value


def _tokens(fragment: str) -> list[tuple]:
    parser = _Tokens()
    parser.feed(fragment)
    parser.close()
    return parser.tokens


def is_inert(fragment: str) -> bool:
    """Whether cleaning `fragment` removes nothing (no tag, attribute, URL, text or comment)."""
    return _tokens(fragment) == _tokens(clean(fragment))


# -- markdown ---------------------------------------------------------------------------------------

_TAG_START = re.compile(r"<[A-Za-z/!?]")  # how raw HTML (or an autolink) starts in markdown
_HARMFUL_SCHEME = re.compile(r"(javascript|vbscript|data):")


def _decoded(text: str) -> str:
    """`text` as a browser could end up reading a URL in it: entities decoded (twice, as mistune's
    and the browser's decoding can stack), backslash escapes, spaces and control characters gone."""
    for _ in range(3):
        text = html.unescape(text)
    return re.sub(r"[\x00-\x20\\]", "", text).lower()


def may_be_active(source: str) -> bool:
    """A cheap test that no rendering of `source` as markdown can hold script: no raw HTML and no
    URL with a harmful scheme. When it says True, :func:`markdown_is_inert` decides. (Math needs
    nothing: nbconvert escapes it, and the pages load MathJax with its Safe extension, which refuses
    such links in \\href.)"""
    return bool(_TAG_START.search(source) or _HARMFUL_SCHEME.search(_decoded(source)))


class _Attachments(dict):
    """A cell's attachments for rendering; a reference to a missing one renders as an empty image
    (nbconvert would refuse the page) instead of failing the check."""

    def __contains__(self, name):
        return True

    def __missing__(self, name):
        return {"image/png": ""}


@functools.cache
def _markdown_classes():
    # nbconvert's own renderer, imported only for a cell that needs it (nbconvert costs ~1 s to import)
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    return IPythonRenderer, MarkdownWithMath


def render_markdown(source: str, attachments: dict | None = None) -> str:
    """The HTML nbconvert's HTMLExporter makes of a markdown cell (its markdown2html filter)."""
    renderer_class, markdown_class = _markdown_classes()
    renderer = renderer_class(escape=False, attachments=_Attachments(attachments or {}))
    return markdown_class(renderer=renderer).render(source)


def markdown_is_inert(source: str, attachments: dict | None = None) -> bool:
    if not may_be_active(source):
        return True
    return is_inert(render_markdown(source, attachments))


def inert_markdown(source: str, attachments: dict | None = None) -> str:
    """Markdown whose rendering is the cleaned rendering of `source`, headed by :data:`NOTE`: one
    line of HTML (newlines as character references), which markdown passes through untouched."""
    body = clean(render_markdown(source, attachments)).replace("\r", "").replace("\n", "&#10;")
    out = f'<div class="autograder-sanitized">{NOTE}{body}</div>'
    if not is_inert(render_markdown(out, attachments)):  # never expected: cleaning is idempotent
        out = f'<div class="autograder-sanitized">{NOTE}<pre>{html.escape(source)}</pre></div>'.replace("\n", "&#10;")
    return out


def inert_raw(source: str) -> str:
    """A raw cell's text with everything that could run removed (nbconvert passes raw HTML through,
    with most tags shown as text: the note is plain text)."""
    return RAW_NOTE + clean(source)


# -- attachments ------------------------------------------------------------------------------------

_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_ACTIVE_SVG = re.compile(r"<\s*script|\son[a-z]+\s*=|javascript:|<\s*foreignobject|<\s*iframe|<\s*embed|"
                         r"<\s*object|<\s*handler|<\s*listener", re.IGNORECASE)


def _image_data(mime: str, data) -> bool:
    """Whether `data` is a harmless image of type `mime` (base64, and an SVG without script)."""
    if mime not in IMAGE_MIMES or not isinstance(data, str) or not _BASE64.fullmatch(data):
        return False
    if mime != "image/svg+xml":
        return True
    try:
        text = base64.b64decode("".join(data.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return not _ACTIVE_SVG.search(_decoded_svg(text))


def _decoded_svg(text: str) -> str:
    for _ in range(3):
        text = html.unescape(text)
    return text


def inert_attachments(attachments) -> dict | None:
    """The attachments with only harmless images kept (an attachment left without any becomes a
    placeholder SVG, so that references to it still render), or None when nothing changed."""
    if not isinstance(attachments, dict):
        return {}
    changed = False
    out = {}
    for name, bundle in attachments.items():
        kept = {mime: data for mime, data in bundle.items() if _image_data(mime, data)} if isinstance(
            bundle, dict) else {}
        if not isinstance(bundle, dict) or len(kept) != len(bundle):
            changed = True
        out[name] = kept or {"image/svg+xml": PLACEHOLDER_SVG}
    return out if changed else None


# -- a whole notebook ------------------------------------------------------------------------------

def _is_release_text(cell, release) -> bool:
    """A locked cell of the release (a shadows.sanitize.ReleaseCells), as the release has it:
    course text, not the student's."""
    meta = cell["metadata"].get("nbgrader") if isinstance(cell.get("metadata"), dict) else None
    grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
    source = release.source.get(grade_id) if isinstance(grade_id, str) else None
    return (source is not None and source.locked and cell.cell_type == source.cell_type
            and cell.get("source") == source.source)


def make_inert(nb, release) -> None:
    """Markdown and raw cells (and their attachments) without anything that could run in the
    feedback page or the formgrader: a cell that holds nothing of the kind is left byte for byte.
    Widget state, which nbconvert's pages hand to a widget renderer, is dropped with the outputs
    it belonged to."""
    if isinstance(nb.get("metadata"), dict):
        nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.get("cell_type") not in ("markdown", "raw") or _is_release_text(cell, release):
            continue
        if not isinstance(cell.get("source"), str):
            cell["source"] = ""
        if "attachments" in cell:
            attachments = inert_attachments(cell["attachments"])
            if attachments is not None:
                cell["attachments"] = notebooks.as_node(attachments)
        if cell.cell_type == "markdown":
            if not markdown_is_inert(cell.source, cell.get("attachments")):
                cell.source = inert_markdown(cell.source, cell.get("attachments"))
        elif not is_inert(cell.source):
            cell.source = inert_raw(cell.source)
