"""Naming the classic mistakes.

Each mistake is described by the *wrong* output it produces, computed from the reference solution
on modified inputs (a flipped kernel, a swapped padding, a dropped stride...). When a student's
wrong answer equals one of these, the feedback names the mistake in plain words. Nothing here
stores an expected output: it is all derived from the reference at grading time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.cases import Case
from autograder.compare import same_values


@dataclass(frozen=True)
class Diagnosis:
    """A likely cause of a wrong answer. `specific` causes (the answer equals what one named mistake
    produces) outrank generic ones (read off the output's shape alone)."""

    title: str
    advice: str
    specific: bool = True

    def __str__(self) -> str:
        return f"{self.title}: {self.advice}"


@dataclass(frozen=True)
class Mistake:
    title: str
    advice: str
    wrong_output: Callable[[dict[str, Callable], Case], object]


def _call(refs, name, case: Case, **changes):
    """Call the reference with some keyword arguments changed."""
    kwargs = dict(case.kwargs)
    kwargs.update(changes)
    return refs[name](*case.args, **kwargs)


def _kernel_variant(name, transform):
    def wrong(refs, case):
        image, kernel, *rest = case.args
        return refs[name](image, transform(np.asarray(kernel)), *rest, **case.kwargs)
    return wrong


def _integer_image(case: Case) -> bool:
    return np.asarray(case.args[0]).dtype.kind in "iu"


@dataclass(frozen=True)
class CutOff:
    """The exact result with its fractions cut off (and wrapped modulo `modulo`, stored as `dtype`),
    allowing for float rounding: a sum that lands on 6.9999999 instead of 7 is cut to 6, so each
    element may be cut from slightly below or slightly above the exact value."""

    exact: np.ndarray
    dtype: np.dtype | None = None
    modulo: int | None = None

    def _cut(self, values):
        cut = np.trunc(values)
        return np.mod(cut, self.modulo) if self.modulo else cut

    def differs_from_exact(self) -> bool:
        return self.dtype is not None or not np.array_equal(self._cut(self.exact), self.exact)

    def matches(self, actual) -> bool:
        if not isinstance(actual, np.ndarray) or actual.shape != self.exact.shape or actual.dtype.kind not in "biuf":
            return False
        if self.dtype is not None and actual.dtype != self.dtype:
            return False
        nudge = 1e-9 * np.maximum(1.0, np.abs(self.exact))
        values = actual.astype(float)
        return bool(np.all((values == self._cut(self.exact - nudge)) | (values == self._cut(self.exact + nudge))))


def _cast_to_input_dtype(name):
    def wrong(refs, case):
        if not _integer_image(case):
            return None
        dtype = np.asarray(case.args[0]).dtype
        modulo = 2 ** (8 * dtype.itemsize) if dtype.kind == "u" else None
        return CutOff(refs[name](*case.args, **case.kwargs), dtype, modulo)
    return wrong


def _wrapped_uint8(name):
    def wrong(refs, case):
        if np.asarray(case.args[0]).dtype != np.uint8:
            return None
        return CutOff(refs[name](*case.args, **case.kwargs), modulo=256)
    return wrong


def _truncated(name):
    def wrong(refs, case):
        return CutOff(refs[name](*case.args, **case.kwargs))
    return wrong


FLIP = ("flipped kernel",
        "your output equals the result with the kernel flipped on both axes, i.e. the mathematical "
        "convolution; {fn} must use kernel[a, b] as it is: out[i, j] = sum image[i+a, j+b] * kernel[a, b]")
NO_FLIP = ("kernel not flipped",
           "your output equals the cross-correlation (conv2d); convolution flips the kernel on both axes "
           "first (kernel[::-1, ::-1])")
ONE_AXIS = ("kernel flipped on one axis only",
            "your output matches a kernel flipped along a single axis; the flip, where there is one, is on both")
TRUNCATED = ("integer truncation",
             "your result equals the correct one with the fractions cut off: compute in floating point "
             "(e.g. image.astype(float)) and return a float array")
CAST = ("result stored in the image's integer dtype",
        "your values equal the correct ones converted to the image's integer dtype: compute and return "
        "the result as float, whatever the image's dtype")
WRAP = ("uint8 wrap-around",
        "your values equal the correct ones modulo 256: uint8 arithmetic wraps around above 255; convert "
        "the image to float (or int64) before multiplying")


def _image_mistakes(name: str, flipped: bool) -> tuple[Mistake, ...]:
    base = (Mistake(*NO_FLIP, _kernel_variant(name, lambda k: k[::-1, ::-1])) if flipped
            else Mistake(FLIP[0], FLIP[1].format(fn=name), _kernel_variant(name, lambda k: k[::-1, ::-1])))
    return (
        base,
        Mistake(*ONE_AXIS, _kernel_variant(name, lambda k: k[::-1, :])),
        Mistake(*ONE_AXIS, _kernel_variant(name, lambda k: k[:, ::-1])),
        Mistake("kernel transposed (height and width swapped)",
                "your output matches the kernel's transpose: kernel rows go with image rows, columns with columns",
                _kernel_variant(name, lambda k: k.T)),
        Mistake(*WRAP, _wrapped_uint8(name)),
        Mistake(*CAST, _cast_to_input_dtype(name)),
        Mistake(*TRUNCATED, _truncated(name)),
    )


def _conv1d_same_shifted(refs, case):
    signal, kernel, *rest = case.args
    mode = rest[0] if rest else case.kwargs.get("mode", "full")
    if mode != "same":
        return None
    a, v = np.asarray(signal), np.asarray(kernel)
    if v.size > a.size:
        a, v = v, a
    full = refs["conv1d"](a, v, "full")
    start = v.size // 2
    return full[start:start + a.size]


def _conv1d_mode_ignored(refs, case):
    signal, kernel, *rest = case.args
    mode = rest[0] if rest else case.kwargs.get("mode", "full")
    if mode == "full":
        return None
    return refs["conv1d"](signal, kernel, "full")


def _conv1d_no_swap(refs, case):
    signal, kernel, *rest = case.args
    mode = rest[0] if rest else case.kwargs.get("mode", "full")
    a, v = np.asarray(signal), np.asarray(kernel)
    if v.size <= a.size or mode == "full":
        return None
    full = refs["conv1d"](a, v, "full")
    if mode == "same":
        start = (v.size - 1) // 2
        return full[start:start + a.size]
    return full[v.size - 1:a.size]  # empty: the kernel never fits inside the signal


def _size_formula_variant(name, **overrides):
    def wrong(refs, case):
        return _call(refs, name, case, **overrides)
    return wrong


def _conv_output_size_ceil(refs, case):
    n, k, *rest = case.args
    stride = rest[0] if rest else case.kwargs.get("stride", 1)
    return refs["conv_output_size"](n + stride - 1, k, *rest, **case.kwargs)


def _conv_output_size_one_side(refs, case):
    n, k, *rest = case.args
    padding = rest[1] if len(rest) > 1 else case.kwargs.get("padding", 0)
    return refs["conv_output_size"](n - padding, k, *rest, **case.kwargs) if padding else None


def _swap_sides(refs, case):
    before, after = refs["same_padding"](*case.args, **case.kwargs)
    return (after, before)


def _pad_reordered(reorder):
    """zero_pad with the ((top, bottom), (left, right)) pairs rearranged by `reorder`."""
    def wrong(refs, case):
        image, padding = case.args
        if isinstance(padding, int):
            return None
        return refs["zero_pad"](image, reorder(*padding))
    return wrong


_pad_axes_swapped = _pad_reordered(lambda rows, cols: (cols, rows))
_pad_sides_swapped = _pad_reordered(lambda rows, cols: (rows[::-1], cols[::-1]))


def _pad_float(refs, case):
    return refs["zero_pad"](*case.args).astype(np.float64)


def _strided_same_before(refs, case):
    """'same' padding with the odd extra pixel before (top/left) instead of after."""
    kwargs = dict(case.kwargs)
    if kwargs.get("padding") != "same":
        return None
    image, kernel = (np.asarray(a) for a in case.args[:2])
    stride = kwargs.get("stride", 1)
    dilation = kwargs.get("dilation", 1)
    strides = stride if isinstance(stride, tuple) else (stride, stride)
    dilations = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    pads = []
    for n, k, s, d in zip(image.shape, kernel.shape, strides, dilations, strict=True):
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        pads.append((total - total // 2, total // 2))
    padded = np.pad(image.astype(float), pads)
    kwargs["padding"] = 0
    return refs["strided_conv2d"](padded, kernel, **kwargs)


def _strided_pad_one_side(refs, case):
    kwargs = dict(case.kwargs)
    padding = kwargs.get("padding", 0)
    if isinstance(padding, str) or padding in (0, (0, 0)):
        return None
    ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
    padded = np.pad(np.asarray(case.args[0], dtype=float), ((ph, 0), (pw, 0)))
    kwargs["padding"] = 0
    return refs["strided_conv2d"](padded, case.args[1], **kwargs)


def _bias_ignored(refs, case):
    if case.kwargs.get("bias") is None:
        return None
    kwargs = {k: v for k, v in case.kwargs.items() if k != "bias"}
    return refs["conv_forward"](*case.args, **kwargs)


def _bias_last_axis(refs, case):
    bias = case.kwargs.get("bias")
    if bias is None:
        return None
    kwargs = {k: v for k, v in case.kwargs.items() if k != "bias"}
    plain = refs["conv_forward"](*case.args, **kwargs)
    if plain.shape[-1] != len(bias):
        return None
    return plain + np.asarray(bias, dtype=float)


def _forward_flipped(refs, case):
    x, weight = case.args[:2]
    return refs["conv_forward"](x, np.asarray(weight)[:, :, ::-1, ::-1], **case.kwargs)


MISTAKES: dict[str, tuple[Mistake, ...]] = {
    "conv2d": _image_mistakes("conv2d", flipped=False),
    "convolve2d": _image_mistakes("convolve2d", flipped=True),
    "conv1d": (
        Mistake("mode ignored",
                "your output is the 'full' result although another mode was asked for: 'same' keeps "
                "max(n, k) values from the middle of full, 'valid' only the positions where the shorter "
                "input fits completely",
                _conv1d_mode_ignored),
        Mistake("'same' window off by one for even kernels",
                "for an even kernel numpy keeps full[(k - 1) // 2 : (k - 1) // 2 + n]; you started at k // 2",
                _conv1d_same_shifted),
        Mistake("no swap when the kernel is longer than the signal",
                "numpy.convolve swaps the two inputs when the kernel is longer, so 'same' has the longer "
                "length and 'valid' is never empty",
                _conv1d_no_swap),
        Mistake("kernel not flipped",
                "your output equals the correlation; convolution flips the kernel (kernel[::-1])",
                lambda refs, case: refs["conv1d"](np.asarray(case.args[0]), np.asarray(case.args[1])[::-1],
                                                  *case.args[2:], **case.kwargs)),
    ),
    "conv_output_size": (
        Mistake("ceiling instead of floor",
                "the last window must fit completely: use floor division (//), not ceil",
                _conv_output_size_ceil),
        Mistake("dilation ignored", "a dilated kernel covers d * (k - 1) + 1 pixels",
                _size_formula_variant("conv_output_size", dilation=1)),
        Mistake("stride ignored", "with stride s only every s-th window position is used: divide by s",
                _size_formula_variant("conv_output_size", stride=1)),
        Mistake("padding added on one side only", "padding p adds p zeros at *each* end: n + 2p",
                _conv_output_size_one_side),
    ),
    "conv_output_shape": (
        Mistake("height and width swapped", "return (H_out, W_out): rows first, then columns",
                lambda refs, case: tuple(reversed(refs["conv_output_shape"](*case.args, **case.kwargs)))),
    ),
    "same_padding": (
        Mistake("extra pixel on the wrong side",
                "when the total padding is odd, the extra pixel goes after (bottom/right): before = total // 2",
                _swap_sides),
        Mistake("stride ignored", "with stride s the output must have ceil(n / s) pixels, which changes the total",
                _size_formula_variant("same_padding", stride=1)),
        Mistake("dilation ignored", "a dilated kernel covers d * (k - 1) + 1 pixels",
                _size_formula_variant("same_padding", dilation=1)),
    ),
    "zero_pad": (
        Mistake("dtype not kept", "allocate the output with dtype=image.dtype (np.zeros defaults to float64)",
                _pad_float),
        Mistake("padding axes swapped",
                "the first pair pads rows (top, bottom), the second columns (left, right)", _pad_axes_swapped),
        Mistake("padding sides swapped", "each pair is (before, after): top then bottom, left then right",
                _pad_sides_swapped),
    ),
    "transposed_conv_output_size": (
        Mistake("output_padding ignored", "add output_padding to the size",
                _size_formula_variant("transposed_conv_output_size", output_padding=0)),
        Mistake("dilation ignored", "the kernel term is d * (k - 1)",
                _size_formula_variant("transposed_conv_output_size", dilation=1)),
    ),
    "strided_conv2d": (
        Mistake("stride ignored", "with stride s, output pixel i reads input rows starting at i * s",
                _size_formula_variant("strided_conv2d", stride=1)),
        Mistake("dilation ignored", "with dilation d, kernel tap a reads row i * s + a * d",
                _size_formula_variant("strided_conv2d", dilation=1)),
        Mistake("'same' extra pixel on the wrong side",
                "for an even kernel (or a stride) the odd extra padding pixel goes after (bottom/right)",
                _strided_same_before),
        Mistake("padding on one side only", "an int or (h, w) padding adds zeros on both sides of its axis",
                _strided_pad_one_side),
        Mistake(FLIP[0], FLIP[1].format(fn="strided_conv2d"),
                _kernel_variant("strided_conv2d", lambda k: k[::-1, ::-1])),
    ),
    "conv_forward": (
        Mistake("bias ignored", "add bias[o] to every pixel of output channel o", _bias_ignored),
        Mistake("bias added along the wrong axis",
                "bias has one value per output channel: broadcast it as bias[None, :, None, None]",
                _bias_last_axis),
        Mistake("flipped kernels", "conv_forward is a cross-correlation, like torch's conv2d: no flip",
                _forward_flipped),
        Mistake("stride ignored", "with stride s output pixel i reads rows from i * s",
                _size_formula_variant("conv_forward", stride=1)),
    ),
    "max_pool2d": (
        Mistake("stride defaults to 1", "when stride is None the windows do not overlap: stride = size",
                lambda refs, case: _call(refs, "max_pool2d", case, stride=1)
                if case.kwargs.get("stride") is None else None),
    ),
}


def _bias_repeated(refs, case: Case, actual, expected) -> Diagnosis | None:
    """conv_forward's bias added m times (m != 0, 1): name the loops whose count equals m."""
    bias = case.kwargs.get("bias")
    if bias is None or not isinstance(actual, np.ndarray) or actual.shape != np.shape(expected):
        return None
    kwargs = {k: v for k, v in case.kwargs.items() if k != "bias"}
    plain = refs["conv_forward"](*case.args, **kwargs)
    per_channel = np.broadcast_to(np.asarray(bias, dtype=float)[None, :, None, None], plain.shape)
    if not np.any(per_channel):
        return None
    residual = actual.astype(float) - plain
    times = float(np.sum(residual * per_channel) / np.sum(per_channel * per_channel))
    m = round(times)
    if m in (0, 1) or not np.allclose(residual, m * per_channel, rtol=1e-6, atol=1e-8):
        return None
    (n, c_in), (_, _, kh, kw) = np.shape(case.args[0])[:2], np.shape(case.args[1])
    loops = [("input channel", c_in), ("kernel row", kh), ("kernel column", kw), ("image in the batch", n)]
    if kh > 1 and kw > 1:
        loops.append(("kernel tap", kh * kw))
    if kh * kw > 1:
        loops.append(("input channel and kernel tap", c_in * kh * kw))
    matches = [f"once per {name}" for name, count in loops if count == m]
    how = " or ".join(matches) if matches else f"{m} times"
    return Diagnosis(f"bias added {how}",
                     f"it was added {m} times; add bias[o] once to every pixel of output channel o, after "
                     "the sums over input channels and kernel taps")


#: Mistakes recognised from the answer itself rather than by recomputing a wrong output.
DETECTORS: dict[str, tuple[Callable, ...]] = {"conv_forward": (_bias_repeated,)}


def diagnose(function: str, refs: dict[str, Callable], case: Case, actual, expected) -> list[Diagnosis]:
    """Likely causes of `actual` (a wrong answer), most telling first; [] if we do not know.

    A named mistake whose output equals the answer is specific evidence; the shape-only hints
    (off by one, float instead of int) are given only when no named mistake fits.
    """
    found: list[Diagnosis] = []
    for mistake in MISTAKES.get(function, ()):
        try:
            wrong = mistake.wrong_output(refs, case)
        except Exception:  # noqa: BLE001 - a variant may not apply to these inputs
            continue
        if isinstance(wrong, CutOff):
            if wrong.differs_from_exact() and wrong.matches(actual):
                _add(found, Diagnosis(mistake.title, mistake.advice))
            continue
        if wrong is None or _identical(wrong, expected):
            continue
        # A mistake that only changes the dtype must match the dtype too; others match on values.
        if _identical(actual, wrong) if same_values(wrong, expected) else same_values(actual, wrong):
            _add(found, Diagnosis(mistake.title, mistake.advice))
    for detector in DETECTORS.get(function, ()):
        try:
            diagnosis = detector(refs, case, actual, expected)
        except Exception:  # noqa: BLE001 - the answer may not fit the detector's assumptions
            diagnosis = None
        if diagnosis is not None:
            _add(found, diagnosis)
    if not found:
        found = [Diagnosis(*hint, specific=False) for hint in _shape_diagnoses(actual, expected)]
    return found


def _add(found: list[Diagnosis], diagnosis: Diagnosis) -> None:
    if all(str(d) != str(diagnosis) for d in found):
        found.append(diagnosis)


def best(candidates: list[list[Diagnosis]]) -> Diagnosis | None:
    """The one cause to tell a student, given the diagnoses of each failing group: specific before
    generic, then the one that explains the most failing groups, then the first seen."""
    counts: dict[str, int] = {}
    first: dict[str, tuple[int, Diagnosis]] = {}
    for group in candidates:
        for title in {diagnosis.title for diagnosis in group}:
            counts[title] = counts.get(title, 0) + 1
        for diagnosis in group:
            first.setdefault(diagnosis.title, (len(first), diagnosis))
    if not first:
        return None
    _, diagnosis = min(first.values(), key=lambda item: (not item[1].specific, -counts[item[1].title], item[0]))
    return diagnosis


def _identical(a, b) -> bool:
    """Equal values, and the same dtype for arrays (so dtype-only mistakes can be told apart)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype != b.dtype:
        return False
    return same_values(a, b)


def _shape_diagnoses(actual, expected) -> list[tuple[str, str]]:
    if not (isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)):
        if isinstance(actual, float) and isinstance(expected, int) and actual == expected:
            return [("float instead of int", "sizes are whole numbers; use // and return int(...)")]
        if isinstance(actual, int | np.integer) and isinstance(expected, int) and not isinstance(actual, bool):
            if type(actual) is not int and int(actual) == expected:
                return [("numpy integer instead of int",
                         f"return int(...) (got {type(actual).__name__})")]
            if abs(int(actual) - expected) == 1:
                return [("off by one", "count the window positions, floor((n + 2p - span) / s) + 1")]
        if isinstance(actual, tuple) and isinstance(expected, tuple) and any(
            isinstance(v, float) for v in actual
        ):
            return [("float instead of int", "sizes are whole numbers; use // and int(...)")]
        return []
    if actual.ndim != expected.ndim or actual.shape == expected.shape:
        return []
    if actual.shape == expected.shape[::-1] and actual.ndim == 2:
        return [("height and width swapped",
                 f"the output has shape (rows, columns) = {expected.shape}, yours is {actual.shape}")]
    differences = {a - e for a, e in zip(actual.shape, expected.shape, strict=True)}
    if differences <= {-1, 0, 1} and differences != {0}:
        return [("off-by-one output size",
                 f"expected {expected.shape}, got {actual.shape}; the valid output along an axis has "
                 "n - k + 1 positions (with stride: floor((n - span) / s) + 1)")]
    return []
