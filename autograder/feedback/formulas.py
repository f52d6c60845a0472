"""Formulas drawn when the feedback page is made: TeX to MathML, which browsers draw themselves.

nbgrader's feedback page leaves ``$$...$$`` for MathJax, which it loads from a CDN, so without a
network a student reads raw TeX. Here each formula becomes MathML (latex2mathml) in the page itself;
the page needs no script and no network, also when nbgrader's ``release_feedback`` hands out the HTML
file alone.

A formula may be a student's, so latex2mathml's output is never trusted: it is parsed and written
again with MathML's presentation elements and plain attributes only (no ``href``, no ``style``, no
event handlers), every text escaped. A formula that cannot be converted (or parsed back) gives None,
and the caller shows its TeX as text.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree

from latex2mathml.converter import convert

__all__ = ["ATTRIBUTES", "ELEMENTS", "MAX_TEX", "mathml"]

#: MathML's presentation elements (MathML Core), and semantics/annotation for the TeX source.
ELEMENTS = frozenset(
    {
        "math",
        "mrow",
        "mi",
        "mn",
        "mo",
        "ms",
        "mtext",
        "mspace",
        "msub",
        "msup",
        "msubsup",
        "mfrac",
        "msqrt",
        "mroot",
        "munder",
        "mover",
        "munderover",
        "mmultiscripts",
        "mprescripts",
        "none",
        "mtable",
        "mtr",
        "mtd",
        "mstyle",
        "mpadded",
        "mphantom",
        "menclose",
        "merror",
        "semantics",
        "annotation",
    }
)
#: Attributes that only change how a formula is laid out.
ATTRIBUTES = frozenset(
    {
        "display",
        "displaystyle",
        "scriptlevel",
        "mathvariant",
        "mathcolor",
        "mathbackground",
        "stretchy",
        "fence",
        "form",
        "separator",
        "symmetric",
        "largeop",
        "movablelimits",
        "accent",
        "accentunder",
        "lspace",
        "rspace",
        "minsize",
        "maxsize",
        "width",
        "height",
        "depth",
        "linethickness",
        "voffset",
        "columnalign",
        "rowalign",
        "columnspacing",
        "rowspacing",
        "columnlines",
        "rowlines",
        "frame",
        "framespacing",
        "columnspan",
        "rowspan",
        "notation",
        "encoding",
    }
)
#: Longer TeX is shown as text (a page is made for every student; a formula must not stall it).
MAX_TEX = 4000

_BARE_AMPERSAND = re.compile(r"&(?!#[0-9]+;|#x[0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
#: TeX's escaped characters, which latex2mathml leaves escaped in \text{...} (``output\_padding``).
_TEXT_ESCAPE = re.compile(r"\\([_%&$#{}])")


def mathml(tex: str, display: bool) -> str | None:
    """The formula as MathML (``display="block"`` or inline), its TeX kept as an annotation; None
    when it cannot be drawn."""
    if len(tex) > MAX_TEX or not tex.strip():
        return None
    try:
        converted = convert(tex, display="block" if display else "inline")
        tree = ElementTree.fromstring(_BARE_AMPERSAND.sub("&amp;", converted))
    except Exception:  # noqa: BLE001 - whatever latex2mathml does with a malformed formula, it shows as TeX
        return None
    if _local(tree.tag) != "math":
        return None
    body = "".join(_safe(child) for child in tree)
    annotation = f'<annotation encoding="application/x-tex">{html.escape(tex, quote=False)}</annotation>'
    display_attribute = "block" if display else "inline"
    return (
        f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="{display_attribute}">'
        f"<semantics><mrow>{body}</mrow>{annotation}</semantics></math>"
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _safe(element: ElementTree.Element) -> str:
    """The element written again, allowlisted: an element outside MathML's presentation set is left
    out with its content (its tail, text after it, stays)."""
    tail = html.escape(element.tail or "", quote=False)
    tag = _local(element.tag)
    if tag not in ELEMENTS or tag in ("math", "annotation", "semantics"):
        return tail
    attributes = "".join(
        f' {name}="{html.escape(value, quote=True)}"' for name, value in element.attrib.items() if name in ATTRIBUTES
    )
    text = _TEXT_ESCAPE.sub(r"\1", element.text or "") if tag == "mtext" else element.text or ""
    inner = html.escape(text, quote=False) + "".join(_safe(child) for child in element)
    return f"<{tag}{attributes}>{inner}</{tag}>{tail}"
