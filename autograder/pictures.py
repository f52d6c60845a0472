"""The picture in a student's feedback: the first case their function got wrong, drawn.

Input, expected output, the student's output and their difference side by side, each at its true
size (every array element is the same number of screen pixels in every panel, so a valid-mode
shrink or a missing row shows), on a diverging colour scale centred at 0 with a colour bar. The
expected and student panels share one scale so their colours compare. Rendered with matplotlib's
Agg backend to PNG bytes; nothing is shown or written to disk.
"""

from __future__ import annotations

import base64
import io

import numpy as np

CMAP = "RdBu_r"  # red positive, blue negative, white 0
TARGET = 200  # screen pixels for the longest side of the largest panel
DPI = 100


def failure_png(label: str, inputs: tuple, expected, actual) -> bytes | None:
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
    """
    if not (_numeric(expected) and _numeric(actual)) or expected.size == 0 or expected.ndim > 4:
        return None
    if actual.ndim != expected.ndim or actual.size == 0:
        return None
    lead = _leading_index(expected, actual)
    where = "" if not lead else "[" + ", ".join(str(i) for i in lead) + "]"
    panels = []
    first = inputs[0] if inputs else None
    if _numeric(first) and first.ndim == expected.ndim and first.size:
        source = first[tuple(min(i, n - 1) for i, n in zip(lead, first.shape, strict=False))]
        panels.append((f"input{where}", _plane(source), None))
    want, got = _plane(expected[lead]), _plane(actual[lead])
    shared = _limit(want, got)
    panels.append((f"expected{where}", want, shared))
    panels.append((f"your output{where}", got, shared))
    if want.shape == got.shape:
        panels.append(("yours - expected", got - want, None))
    return _draw(label if want.shape == got.shape else f"{label} (the shapes differ)", panels)


def failure_png_base64(label: str, inputs: tuple, expected, actual) -> str | None:
    """:func:`failure_png` as base64 text, the form notebooks and JSON carry (``image/png``)."""
    png = failure_png(label, inputs, expected, actual)
    return None if png is None else base64.b64encode(png).decode("ascii")


def _numeric(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"


def _leading_index(expected: np.ndarray, actual: np.ndarray) -> tuple[int, ...]:
    """Indices of the leading axes (batch, channel) that select the 2-D plane to draw."""
    extra = expected.ndim - 2
    if extra <= 0:
        return ()
    if expected.shape == actual.shape:
        with np.errstate(all="ignore"):
            wrong = ~np.isclose(actual.astype(float), expected.astype(float), rtol=1e-6, atol=1e-9)
        if wrong.any():
            return tuple(int(i) for i in np.argwhere(wrong)[0][:extra])
    return (0,) * extra


def _plane(array: np.ndarray) -> np.ndarray:
    plane = np.asarray(array, dtype=float)
    return plane[None, :] if plane.ndim == 1 else plane


def _limit(*arrays: np.ndarray) -> float:
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    peak = max((float(f.max()) for f in finite if f.size), default=0.0)
    return peak if peak > 0 else 1.0


def _draw(label: str, panels: list[tuple[str, np.ndarray, float | None]]) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    longest = max(max(data.shape) for _, data, _ in panels)
    scale = int(np.clip(TARGET // longest, 3, 24))  # screen pixels per array element, all panels
    bar, ticks, gap, title, top, bottom = 10, 48, 18, 30, 26, 12
    widths = [max(data.shape[1] * scale, 60) for _, data, _ in panels]
    height = max(data.shape[0] * scale for _, data, _ in panels)
    total_w = sum(w + 6 + bar + ticks for w in widths) + gap * (len(panels) + 1)
    total_h = top + title + max(height, 60) + bottom
    fig = Figure(figsize=(total_w / DPI, total_h / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.text(gap / total_w, 1 - 8 / total_h, label, ha="left", va="top", fontsize=9, weight="bold")
    x = gap
    for (name, data, limit), width in zip(panels, widths, strict=True):
        h_px, w_px = data.shape[0] * scale, data.shape[1] * scale
        y0 = bottom + (max(height, 60) - h_px)  # panels aligned at the top
        ax = fig.add_axes((x / total_w, y0 / total_h, w_px / total_w, h_px / total_h))
        peak = _limit(data) if limit is None else limit
        image = ax.imshow(np.ma.masked_invalid(data), cmap=CMAP, vmin=-peak, vmax=peak,
                          interpolation="nearest", aspect="auto")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}\n{data.shape[0]}x{data.shape[1]}" if data.shape[0] > 1 else
                     f"{name}\nlength {data.shape[1]}", fontsize=8)
        cax = fig.add_axes(((x + width + 6) / total_w, y0 / total_h, bar / total_w,
                            max(h_px, 40) / total_h))
        fig.colorbar(image, cax=cax).ax.tick_params(labelsize=7)
        x += width + 6 + bar + ticks + gap
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=DPI)
    return out.getvalue()
