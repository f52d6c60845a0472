"""Naming the classic mistakes.

Each mistake is described by the *wrong* output it produces, computed from the reference solution
on modified inputs (a flipped kernel, a swapped padding, a dropped stride...). When a student's
wrong answer equals one of these, the verdict names the mistake by its id (and the parameters of
its words); autograder.feedback.causes holds the words. Nothing here stores an expected output: it
is all derived from the reference at grading time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autograder.cases import Case
from autograder.compare import ATOL, RTOL, same_values

#: The parameters that make a cause another mistake (its title names them), not only other advice:
#: "bias added once per input channel" and "bias added 7 times" are two causes.
TITLE_PARAMS = frozenset({"times", "loops"})


@dataclass(frozen=True)
class Diagnosis:
    """A likely cause of a wrong answer: the mistake's id and its words' parameters ((name, value)
    pairs). `specific` causes (the answer equals what one named mistake produces) outrank generic
    ones (read off the output's shape alone)."""

    id: str
    params: tuple = ()
    specific: bool = True

    @property
    def key(self) -> tuple:
        """What tells one cause from another (for counting and ranking)."""
        return (self.id, *((k, v) for k, v in self.params if k in TITLE_PARAMS))


@dataclass(frozen=True)
class Mistake:
    id: str
    wrong_output: Callable[[dict[str, Callable], Case], object]
    params: tuple = ()


@dataclass(frozen=True)
class AnyOf:
    """The wrong outputs of one mistake that can be made in several ways (one-sided padding on
    either side, a window size taken from either entry): the answer matches if it equals any."""

    outputs: tuple


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


def _image_mistakes(name: str, flipped: bool) -> tuple[Mistake, ...]:
    base = (
        Mistake("kernel-not-flipped", _kernel_variant(name, lambda k: k[::-1, ::-1]))
        if flipped
        else Mistake("flipped-kernel", _kernel_variant(name, lambda k: k[::-1, ::-1]), (("function", name),))
    )
    return (
        base,
        Mistake("kernel-flipped-one-axis", _kernel_variant(name, lambda k: k[::-1, :])),
        Mistake("kernel-flipped-one-axis", _kernel_variant(name, lambda k: k[:, ::-1])),
        Mistake("kernel-transposed", _kernel_variant(name, lambda k: k.T)),
        Mistake("uint8-wrap", _wrapped_uint8(name)),
        Mistake("integer-dtype", _cast_to_input_dtype(name)),
        Mistake("integer-truncation", _truncated(name)),
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
    return full[start : start + a.size]


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
        return full[start : start + a.size]
    return full[v.size - 1 : a.size]  # empty: the kernel never fits inside the signal


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


def _pad_pairs(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """zero_pad's padding argument as ((top, bottom), (left, right))."""
    if isinstance(padding, int | np.integer):
        return (int(padding), int(padding)), (int(padding), int(padding))
    (top, bottom), (left, right) = padding
    return (int(top), int(bottom)), (int(left), int(right))


def _one_side(pair, numbers) -> set[tuple[int, int]]:
    """An axis padded on one side only: its before or its after amount, or both together."""
    before, after = pair
    return {(before, 0), (0, after), (before + after, 0), (0, before + after)}


def _same_both_sides(pair, numbers) -> set[tuple[int, int]]:
    """An axis padded by one amount on both sides: one of the padding's numbers, half the axis's
    total (rounded down or up), or all of it."""
    total = sum(pair)
    return {(m, m) for m in (*numbers, total // 2, -(-total // 2), total)}


def _pad_variants(per_axis):
    """zero_pad with each axis padded as `per_axis` says (or right), at least one axis wrongly."""

    def wrong(refs, case):
        image, padding = case.args
        rows, cols = _pad_pairs(padding)
        numbers = (*rows, *cols)
        outputs = [
            refs["zero_pad"](image, (r, c))
            for r in {rows} | per_axis(rows, numbers)
            for c in {cols} | per_axis(cols, numbers)
            if (r, c) != (rows, cols)
        ]
        return AnyOf(tuple(outputs))

    return wrong


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


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, tuple | list) else (value, value)


def _pool_one_size(refs, case):
    """max_pool2d whose window uses one of size's two entries for both axes; its stride (size when
    it defaults) either right or also one entry for both axes."""
    size, stride = case.kwargs.get("size", 2), case.kwargs.get("stride")
    kh, kw = _pair(size)
    if kh == kw:
        return None
    given = (kh, kw) if stride is None else _pair(stride)
    outputs = []
    for k in (kh, kw):
        for s in {given} | {(s, s) for s in given}:
            try:
                outputs.append(refs["max_pool2d"](*case.args, size=(k, k), stride=s))
            except ValueError:  # the window does not fit this input
                continue
    return AnyOf(tuple(outputs))


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
        Mistake("conv1d-mode-ignored", _conv1d_mode_ignored),
        Mistake("conv1d-same-shifted", _conv1d_same_shifted),
        Mistake("conv1d-no-swap", _conv1d_no_swap),
        Mistake(
            "conv1d-not-flipped",
            lambda refs, case: refs["conv1d"](
                np.asarray(case.args[0]), np.asarray(case.args[1])[::-1], *case.args[2:], **case.kwargs
            ),
        ),
    ),
    "conv_output_size": (
        Mistake("size-ceiling", _conv_output_size_ceil),
        Mistake("dilation-ignored", _size_formula_variant("conv_output_size", dilation=1)),
        Mistake("size-stride-ignored", _size_formula_variant("conv_output_size", stride=1)),
        Mistake("size-padding-one-side", _conv_output_size_one_side),
    ),
    "conv_output_shape": (
        Mistake(
            "shape-swapped", lambda refs, case: tuple(reversed(refs["conv_output_shape"](*case.args, **case.kwargs)))
        ),
    ),
    "same_padding": (
        Mistake("same-extra-pixel", _swap_sides),
        Mistake("same-stride-ignored", _size_formula_variant("same_padding", stride=1)),
        Mistake("dilation-ignored", _size_formula_variant("same_padding", dilation=1)),
    ),
    "zero_pad": (
        Mistake("pad-dtype", _pad_float),
        Mistake("pad-axes-swapped", _pad_axes_swapped),
        Mistake("pad-sides-swapped", _pad_sides_swapped),
        Mistake("pad-one-side", _pad_variants(_one_side)),
        Mistake("pad-same-both-sides", _pad_variants(_same_both_sides)),
    ),
    "transposed_conv_output_size": (
        Mistake("output-padding-ignored", _size_formula_variant("transposed_conv_output_size", output_padding=0)),
        Mistake("transposed-dilation-ignored", _size_formula_variant("transposed_conv_output_size", dilation=1)),
    ),
    "strided_conv2d": (
        Mistake("strided-stride-ignored", _size_formula_variant("strided_conv2d", stride=1)),
        Mistake("strided-dilation-ignored", _size_formula_variant("strided_conv2d", dilation=1)),
        Mistake("strided-same-extra-pixel", _strided_same_before),
        Mistake("strided-pad-one-side", _strided_pad_one_side),
        Mistake(
            "flipped-kernel",
            _kernel_variant("strided_conv2d", lambda k: k[::-1, ::-1]),
            (("function", "strided_conv2d"),),
        ),
    ),
    "conv_forward": (
        Mistake("bias-ignored", _bias_ignored),
        Mistake("bias-wrong-axis", _bias_last_axis),
        Mistake("forward-flipped-kernels", _forward_flipped),
        Mistake("forward-stride-ignored", _size_formula_variant("conv_forward", stride=1)),
    ),
    "max_pool2d": (
        Mistake(
            "pool-stride-default",
            lambda refs, case: _call(refs, "max_pool2d", case, stride=1) if case.kwargs.get("stride") is None else None,
        ),
        Mistake("pool-window-one-size", _pool_one_size),
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
    if m in (0, 1) or not np.allclose(residual, m * per_channel, rtol=RTOL, atol=ATOL):
        return None
    (n, c_in), (_, _, kh, kw) = np.shape(case.args[0])[:2], np.shape(case.args[1])
    loops = [("input-channel", c_in), ("kernel-row", kh), ("kernel-column", kw), ("batch-image", n)]
    if kh > 1 and kw > 1:
        loops.append(("kernel-tap", kh * kw))
    if kh * kw > 1:
        loops.append(("channel-and-tap", c_in * kh * kw))
    return Diagnosis("bias-repeated", (("times", m), ("loops", tuple(name for name, count in loops if count == m))))


def _padded_output(name):
    """conv2d / convolve2d answered larger than 'valid': name it when the answer is the image's
    size ('same') or the 'full' size and its values are those of the image zero-padded (split
    between the two sides of each axis in any way), or the 'valid' values placed in a zero array
    of that size; an answer of the image's size whose values fit neither is still named, as a hint
    read off its shape."""

    def detect(refs, case: Case, actual, expected) -> Diagnosis | None:
        image, kernel = (np.asarray(a) for a in case.args[:2])
        if (
            not (isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray))
            or actual.ndim != 2
            or image.ndim != 2
            or kernel.ndim != 2
            or actual.dtype.kind not in "biuf"
        ):
            return None
        totals = tuple(a - e for a, e in zip(actual.shape, expected.shape, strict=True))
        full = tuple(2 * (k - 1) for k in kernel.shape)
        if min(totals) < 0 or totals == (0, 0) or any(t > f for t, f in zip(totals, full, strict=True)):
            return None
        params = (("function", name),)
        padded = any(
            same_values(actual, refs[name](np.pad(image.astype(float), pads), kernel)) for pads in _splits(totals)
        )
        placed = any(_placed(actual, expected, at) for at in np.ndindex(totals[0] + 1, totals[1] + 1))
        if totals == full and (padded or placed):
            return Diagnosis("full-output", params)
        if actual.shape == image.shape or padded or placed:
            return Diagnosis("same-size-output", params, specific=padded or placed)
        return None

    return detect


def _splits(totals: tuple[int, int]):
    """Every way of padding each axis by its total: ((top, bottom), (left, right))."""
    rows, cols = totals
    for top in range(rows + 1):
        for left in range(cols + 1):
            yield (top, rows - top), (left, cols - left)


def _placed(actual: np.ndarray, expected: np.ndarray, at: tuple[int, int]) -> bool:
    """`actual` is `expected` placed at `at` in an array of zeros."""
    (i, j), (h, w) = at, expected.shape
    rest = actual.astype(float)
    if not same_values(rest[i : i + h, j : j + w], expected.astype(float)):
        return False
    rest[i : i + h, j : j + w] = 0
    return not np.any(rest)


#: Mistakes recognised from the answer itself rather than by recomputing a wrong output.
DETECTORS: dict[str, tuple[Callable, ...]] = {
    "conv_forward": (_bias_repeated,),
    "conv2d": (_padded_output("conv2d"),),
    "convolve2d": (_padded_output("convolve2d"),),
}


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
        if any(_made(one, actual, expected) for one in (wrong.outputs if isinstance(wrong, AnyOf) else (wrong,))):
            _add(found, Diagnosis(mistake.id, mistake.params))
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


def _made(wrong, actual, expected) -> bool:
    """Whether `actual` is what a mistake whose wrong output is `wrong` gives (and differs from right)."""
    if isinstance(wrong, CutOff):
        return wrong.differs_from_exact() and wrong.matches(actual)
    if wrong is None or _identical(wrong, expected):
        return False
    # A mistake that only changes the dtype must match the dtype too; others match on values.
    return _identical(actual, wrong) if same_values(wrong, expected) else same_values(actual, wrong)


def _add(found: list[Diagnosis], diagnosis: Diagnosis) -> None:
    if diagnosis not in found:
        found.append(diagnosis)


def best(candidates: list[list[Diagnosis]]) -> Diagnosis | None:
    """The one cause to tell a student, given the diagnoses of each failing group: specific before
    generic, then the one that explains the most failing groups, then the first seen."""
    counts: dict[tuple, int] = {}
    first: dict[tuple, tuple[int, Diagnosis]] = {}
    for group in candidates:
        for key in {diagnosis.key for diagnosis in group}:
            counts[key] = counts.get(key, 0) + 1
        for diagnosis in group:
            first.setdefault(diagnosis.key, (len(first), diagnosis))
    if not first:
        return None
    _, diagnosis = min(first.values(), key=lambda item: (not item[1].specific, -counts[item[1].key], item[0]))
    return diagnosis


def _identical(a, b) -> bool:
    """Equal values, and the same dtype for arrays (so dtype-only mistakes can be told apart)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype != b.dtype:
        return False
    return same_values(a, b)


def _shape_diagnoses(actual, expected) -> list[tuple[str, tuple]]:
    """Generic causes read off the answer's type or shape: (id, parameters)."""
    if not (isinstance(actual, np.ndarray) and isinstance(expected, np.ndarray)):
        if isinstance(actual, float) and isinstance(expected, int) and actual == expected:
            return [("float-size", ())]
        if isinstance(actual, int | np.integer) and isinstance(expected, int) and not isinstance(actual, bool):
            if type(actual) is not int and int(actual) == expected:
                return [("numpy-int", (("type", type(actual).__name__),))]
            if abs(int(actual) - expected) == 1:
                return [("size-off-by-one", ())]
        if isinstance(actual, tuple) and isinstance(expected, tuple) and any(isinstance(v, float) for v in actual):
            return [("float-shape", ())]
        return []
    if actual.ndim != expected.ndim or actual.shape == expected.shape:
        return []
    shapes = (("expected", tuple(expected.shape)), ("actual", tuple(actual.shape)))
    if actual.shape == expected.shape[::-1] and actual.ndim == 2:
        return [("output-transposed", shapes)]
    differences = {a - e for a, e in zip(actual.shape, expected.shape, strict=True)}
    if differences <= {-1, 0, 1} and differences != {0}:
        return [("output-off-by-one", shapes)]
    return []
