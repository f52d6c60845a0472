"""The picture in a student's feedback: the first case their function got wrong, drawn.

Input, expected output, the student's output and their difference side by side, each at its true
size (every array element is the same number of screen pixels in every panel, so a valid-mode
shrink or a missing row shows), on a red-white-blue scale centred at 0 with a colour bar. The
expected and student panels share one scale so their colours compare; values that are not finite
(NaN, inf) are grey and named in a legend.

Drawn with NumPy (the array panels and colour bars, element by element) and Pillow (text, PNG),
in a few milliseconds: a grading run draws one picture per wrong function and never imports
matplotlib. Nothing is shown or written to disk.
"""

from __future__ import annotations

import base64
import io
import math
import threading
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # Pillow itself is imported when the first picture is drawn, not with the grader
    from PIL import Image, ImageFont

TARGET = 200  # screen pixels for the longest side of the largest panel
SMALLEST, LARGEST = 3, 24  # screen pixels per array element, whatever the arrays' size

# ColorBrewer's 11-class RdBu anchors from dark blue (the most negative value) through white (0)
# to dark red (the most positive); the scale interpolates linearly between them.
ANCHORS = ("#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
           "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")
LEVELS = 216  # colours on the scale; with the few below they fit one 256-colour PNG palette
NONFINITE = (150, 150, 150)  # mid grey: on neither side of the scale, nor its white middle
WHITE, INK, FRAME = (255, 255, 255), (34, 34, 34), (85, 85, 85)
INK_SHADES = 32  # text is anti-aliased from white to INK in this many steps

# The palette: the scale's LEVELS colours, then these, then the text's shades.
WHITE_AT, NONFINITE_AT, FRAME_AT, TEXT_AT = LEVELS, LEVELS + 1, LEVELS + 2, LEVELS + 3

# Layout in screen pixels.
MARGIN, COLUMN_GAP = 14, 24
CAPTION_SIZE, TITLE_SIZE, TICK_SIZE = 15, 13, 12
BAR_GAP, BAR_WIDTH, BAR_LEAST, TICK_LENGTH = 6, 12, 48, 3

# FreeType's faces are not safe to use from two threads at once, and the grader draws pictures in
# several: every use of a font (measuring, drawing text) holds this lock. Arrays and PNG encoding don't.
FONTS_IN_USE = threading.Lock()


def failure_png(label: str, inputs: tuple, expected, actual, index: tuple[int, ...] | None = None) -> bytes | None:
    """A PNG of a wrong array answer, or None when there is nothing to draw.

    Parameters
    ----------
    label : str
        The case's description, written above the panels.
    inputs : tuple
        The case's positional arguments; the first one, if it is an array, is drawn as the input.
    expected, actual : ndarray
        The reference's and the student's outputs (of 1 to 4 dimensions; a 3-D or 4-D result is
        drawn for the image and channel holding the first wrong value).
    index : tuple of int, optional
        The first wrong value, as the comparison found it (the verdict's ``Failure.index``); its
        leading indices choose the image and channel of a 3-D or 4-D result (the first ones
        without it, as when the shapes differ).
    """
    chosen = panels(inputs, expected, actual, index)
    if chosen is None:
        return None
    if chosen[-1].name != "yours - expected":
        label = f"{label} (the shapes differ)"
    return _render(label, chosen, layout(label, chosen))


def failure_png_base64(label: str, inputs: tuple, expected, actual, index: tuple[int, ...] | None = None) -> str | None:
    """:func:`failure_png` as base64 text, the form notebooks and JSON carry (``image/png``)."""
    png = failure_png(label, inputs, expected, actual, index)
    return None if png is None else base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class Panel:
    """One array drawn: its title, its 2-D plane and the half-range of its colour scale."""

    name: str
    data: np.ndarray  # 2-D float (a 1-D array is one row)
    peak: float  # the scale runs from -peak (dark blue) to +peak (dark red)
    line: bool = False  # drawn from a 1-D array

    @property
    def shape_text(self) -> str:
        rows, columns = self.data.shape
        return f"length {columns}" if self.line else f"{rows}x{columns}"


def panels(inputs: tuple, expected, actual, index: tuple[int, ...] | None = None) -> list[Panel] | None:
    """The panels to draw: input (when the first argument is an array of the result's rank),
    expected, yours and, when the shapes agree, yours - expected; None when there is nothing to draw."""
    if not (_numeric(expected) and _numeric(actual)) or expected.size == 0 or expected.ndim > 4:
        return None
    if actual.ndim != expected.ndim or actual.size == 0 or _far_larger(expected, actual):
        return None
    lead = _leading_index(expected, index)
    where, line = _where(lead), expected.ndim == 1
    drawn = []
    first = inputs[0] if inputs else None
    if _numeric(first) and first.ndim == expected.ndim and first.size:
        # The same image, and the same channel when the input has it (else its last one).
        chosen = tuple(min(i, n - 1) for i, n in zip(lead, first.shape, strict=False))
        source = _plane(first[chosen])
        drawn.append(Panel(f"input{_where(chosen)}", source, _limit(source), line))
    want, got = _plane(expected[lead]), _plane(actual[lead])
    shared = _limit(want, got)
    drawn.append(Panel(f"expected{where}", want, shared, line))
    drawn.append(Panel(f"your output{where}", got, shared, line))
    if want.shape == got.shape:
        with np.errstate(all="ignore"):
            difference = got - want
        drawn.append(Panel("yours - expected", difference, _limit(difference), line))
    return drawn


#: A wrong answer is drawn only when it is not far larger than the expected one: the student
#: controls its size, and a picture costs the grader memory and time per element.
LARGER_AT_MOST = 16


def _far_larger(expected: np.ndarray, actual: np.ndarray) -> bool:
    longest = max(max(expected.shape), 8)
    return max(actual.shape) > LARGER_AT_MOST * longest or actual.size > LARGER_AT_MOST * max(expected.size, 64)


def _where(lead: tuple[int, ...]) -> str:
    return "" if not lead else "[" + ", ".join(str(i) for i in lead) + "]"


def _numeric(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"


def _leading_index(expected: np.ndarray, index: tuple[int, ...] | None) -> tuple[int, ...]:
    """Indices of the leading axes (batch, channel) that select the 2-D plane to draw: those of the
    first wrong value, else the first plane."""
    extra = expected.ndim - 2
    if extra <= 0:
        return ()
    if index is not None and len(index) == expected.ndim:
        return tuple(int(i) for i in index[:extra])
    return (0,) * extra


def _plane(array: np.ndarray) -> np.ndarray:
    plane = np.asarray(array, dtype=float)
    return plane[None, :] if plane.ndim == 1 else plane


def _limit(*arrays: np.ndarray) -> float:
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    peak = max((float(f.max()) for f in finite if f.size), default=0.0)
    return peak if peak > 0 else 1.0


# The colour scale.

def _hex(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@cache
def scale_table() -> np.ndarray:
    """LEVELS x 3 uint8 colours from -peak to +peak, linear between the anchors."""
    anchors = np.array([_hex(c) for c in ANCHORS], dtype=float)
    where = np.linspace(0.0, 1.0, len(anchors))
    steps = np.linspace(0.0, 1.0, LEVELS)
    table = np.stack([np.interp(steps, where, anchors[:, channel]) for channel in range(3)], axis=1)
    return np.rint(table).astype(np.uint8)


@cache
def palette() -> bytes:
    """The PNG's colours, in the order of the *_AT indices."""
    shades = [np.rint(np.add(WHITE, np.subtract(INK, WHITE) * (k + 1) / INK_SHADES)) for k in range(INK_SHADES)]
    table = np.vstack([scale_table(), WHITE, NONFINITE, FRAME, *shades]).astype(np.uint8)
    assert len(table) <= 256, "a PNG palette holds 256 colours"
    return table.tobytes()


def levels(data: np.ndarray, peak: float) -> np.ndarray:
    """Every value's palette index (uint8, data's shape): the scale's colour, -peak dark blue,
    0 white, +peak dark red, the end colour beyond the range; NONFINITE_AT for NaN and inf."""
    finite = np.isfinite(data)
    with np.errstate(all="ignore"):
        where = (np.where(finite, data, 0.0) / peak + 1.0) / 2.0
    level = np.clip(where * LEVELS, 0, LEVELS - 1).astype(np.uint8)
    level[~finite] = NONFINITE_AT
    return level


def ticks(peak: float, room: int) -> list[float]:
    """Round values for a colour bar from -peak to +peak that is `room` pixels tall: 0 and
    multiples of a 1, 2 or 5 step, at most three a side and at least 20 pixels apart (when no
    step fits, the largest multiple of the step with fewest ticks and 0)."""
    per_side = max(1, min(3, room // 40))
    exponent = math.floor(math.log10(peak))
    fits = [(step, math.floor(peak / step * (1 + 1e-9)))
            for step in (m * 10.0 ** p for p in (exponent - 1, exponent) for m in (1, 2, 5))]
    for step, count in fits:
        if 1 <= count <= per_side:
            return [round(k * step, 12) for k in range(-count, count + 1)]
    step, count = min(((s, c) for s, c in fits if c >= 1), key=lambda fit: fit[1])
    return [round(-count * step, 12), 0.0, round(count * step, 12)]


def tick_text(value: float) -> str:
    return "0" if value == 0 else f"{value:.6g}"


# Layout and drawing.

@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


@dataclass(frozen=True)
class Place:
    """Where one panel goes: the array's top-left pixel, its pixels per element, its colour bar."""

    left: int
    top: int
    pixels: int  # screen pixels per array element, the same for every panel
    bar_left: int
    bar_height: int
    ticks: tuple[float, ...]


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    places: tuple[Place, ...]
    legend_top: int | None  # where the grey "not finite" legend goes, None when nothing is grey


def pixels_per_element(drawn: list[Panel]) -> int:
    longest = max(max(panel.data.shape) for panel in drawn)
    return int(np.clip(TARGET // longest, SMALLEST, LARGEST))


def layout(label: str, drawn: list[Panel]) -> Layout:
    """Every panel's place: side by side, tops aligned under their two-line titles, each colour
    bar right of its array with tick labels right of the bar."""
    with FONTS_IN_USE:
        return _layout(label, drawn)


def _layout(label: str, drawn: list[Panel]) -> Layout:
    pixels = pixels_per_element(drawn)
    title_font, tick_font = _font(TITLE_SIZE), _font(TICK_SIZE)
    top = MARGIN + CAPTION_SIZE + 10 + 2 * (TITLE_SIZE + 3) + 4
    places, x, bottom = [], MARGIN, top
    for panel in drawn:
        width, height = panel.data.shape[1] * pixels, panel.data.shape[0] * pixels
        title = max(title_font.getlength(panel.name), title_font.getlength(panel.shape_text))
        bar_height = max(height, BAR_LEAST)
        values = tuple(ticks(panel.peak, bar_height))
        labels = max(tick_font.getlength(tick_text(v)) for v in values)
        overhang = max(0, math.ceil((title - width) / 2))  # a title wider than its array
        left = x + overhang
        bar_left = left + width + BAR_GAP
        right = max(bar_left + BAR_WIDTH + TICK_LENGTH + 3 + math.ceil(labels), left + width + overhang)
        places.append(Place(left, top, pixels, bar_left, bar_height, values))
        x = right + COLUMN_GAP
        bottom = max(bottom, top + bar_height)
    bottom += TICK_SIZE // 2 + 4
    grey = any(not np.isfinite(panel.data).all() for panel in drawn)
    legend_top = bottom + 4 if grey else None
    if grey:
        bottom += 4 + TITLE_SIZE + 4
    width = max(x - COLUMN_GAP + MARGIN, MARGIN * 2 + math.ceil(_font(CAPTION_SIZE).getlength(label)))
    return Layout(width, bottom + MARGIN // 2, tuple(places), legend_top)


def _render(label: str, drawn: list[Panel], plan: Layout) -> bytes:
    """The PNG: arrays, bars and frames as palette indices in one NumPy canvas, the text drawn
    anti-aliased into a coverage layer and folded into the palette's ink shades."""
    from PIL import Image

    canvas = np.full((plan.height, plan.width), WHITE_AT, dtype=np.uint8)
    for panel, place in zip(drawn, plan.places, strict=True):
        rows, columns = panel.data.shape
        block = levels(panel.data, panel.peak).repeat(place.pixels, axis=0).repeat(place.pixels, axis=1)
        _frame(canvas, place.top, place.left, rows * place.pixels, columns * place.pixels)
        canvas[place.top:place.top + block.shape[0], place.left:place.left + block.shape[1]] = block
        # The bar: its top row is +peak, its bottom row -peak, each row the value at its middle.
        h = place.bar_height
        values = panel.peak * (1.0 - 2.0 * (np.arange(h) + 0.5) / h)
        _frame(canvas, place.top, place.bar_left, h, BAR_WIDTH)
        canvas[place.top:place.top + h, place.bar_left:place.bar_left + BAR_WIDTH] = levels(values, panel.peak)[:, None]
        end = place.bar_left + BAR_WIDTH
        for value in place.ticks:
            canvas[_tick_row(place, panel, value), end:end + TICK_LENGTH] = FRAME_AT
    if plan.legend_top is not None:  # the grey swatch its words explain
        top, side = plan.legend_top, TITLE_SIZE
        _frame(canvas, top + 1, MARGIN + 1, side - 2, side - 2)
        canvas[top + 1:top + side - 1, MARGIN + 1:MARGIN + side - 1] = NONFINITE_AT
    text = Image.new("L", (plan.width, plan.height), 0)
    with FONTS_IN_USE:
        _write(text, label, drawn, plan)
    coverage = np.asarray(text)
    inked = coverage > 0
    canvas[inked] = TEXT_AT + (coverage[inked].astype(np.uint16) * INK_SHADES - 1) // 255
    image = Image.fromarray(canvas)
    image.putpalette(palette())
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()


def _write(text: Image.Image, label: str, drawn: list[Panel], plan: Layout) -> None:
    """Every word of the picture, as coverage (255 ink, 0 none) on the layer `text`."""
    from PIL import ImageDraw

    draw = ImageDraw.Draw(text)
    draw.text((MARGIN, MARGIN), label, fill=255, font=_font(CAPTION_SIZE), anchor="lt",
              stroke_width=0.2, stroke_fill=255)  # the one font has no bold face: a thin outline
    title_font, tick_font = _font(TITLE_SIZE), _font(TICK_SIZE)
    for panel, place in zip(drawn, plan.places, strict=True):
        middle = place.left + panel.data.shape[1] * place.pixels / 2
        draw.text((middle, place.top - 5), panel.shape_text, fill=255, font=title_font, anchor="md")
        draw.text((middle, place.top - 8 - TITLE_SIZE), panel.name, fill=255, font=title_font, anchor="md")
        for value in place.ticks:
            draw.text((place.bar_left + BAR_WIDTH + TICK_LENGTH + 3, _tick_row(place, panel, value)),
                      tick_text(value), fill=255, font=tick_font, anchor="lm")
    if plan.legend_top is not None:
        draw.text((MARGIN + TITLE_SIZE + 6, plan.legend_top + TITLE_SIZE / 2), _legend_words(drawn), fill=255,
                  font=title_font, anchor="lm")


def _tick_row(place: Place, panel: Panel, value: float) -> int:
    return place.top + round((1.0 - value / panel.peak) / 2.0 * (place.bar_height - 1))


def _frame(canvas: np.ndarray, top: int, left: int, height: int, width: int) -> None:
    """A one-pixel line just outside the rectangle (the rectangle itself is drawn over it)."""
    canvas[top - 1:top + height + 1, left - 1:left + width + 1] = FRAME_AT


def _legend_words(drawn: list[Panel]) -> str:
    values = np.concatenate([panel.data.ravel() for panel in drawn])
    kinds = [name for name, present in (("NaN", np.isnan(values).any()), ("inf", np.isposinf(values).any()),
                                        ("-inf", np.isneginf(values).any())) if present]
    return f"grey: not a finite number ({', '.join(kinds)})"
