"""The words of each likely cause, keyed by the id the diagnosis gives it (autograder.diagnose).

Each entry is (title, advice); both may name the cause's parameters (``{function}``, ``{expected}``).
"""

from __future__ import annotations

from autograder.verdicts import Cause

DILATION = "a dilated kernel covers d * (k - 1) + 1 pixels"
FLOAT_SIZE = "sizes are whole numbers; use // and return int(...)"

CAUSES: dict[str, tuple[str, str]] = {
    # conv2d, convolve2d (and strided_conv2d's flip)
    "flipped-kernel": (
        "flipped kernel",
        "your output equals the result with the kernel flipped on both axes, i.e. the mathematical "
        "convolution; {function} must use kernel[a, b] as it is: out[i, j] = sum image[i+a, j+b] * "
        "kernel[a, b]",
    ),
    "kernel-not-flipped": (
        "kernel not flipped",
        "your output equals the cross-correlation (conv2d); convolution flips the kernel on both "
        "axes first (kernel[::-1, ::-1])",
    ),
    "kernel-flipped-one-axis": (
        "kernel flipped on one axis only",
        "your output matches a kernel flipped along a single axis; the flip, where there is one, is on both",
    ),
    "kernel-transposed": (
        "kernel transposed (height and width swapped)",
        "your output matches the kernel's transpose: kernel rows go with image rows, columns with columns",
    ),
    "integer-truncation": (
        "integer truncation",
        "your result equals the correct one with the fractions cut off: compute in floating point "
        "(e.g. image.astype(float)) and return a float array",
    ),
    "integer-dtype": (
        "result stored in the image's integer dtype",
        "your values equal the correct ones converted to the image's integer dtype: compute and return "
        "the result as float, whatever the image's dtype",
    ),
    "uint8-wrap": (
        "uint8 wrap-around",
        "your values equal the correct ones modulo 256: uint8 arithmetic wraps around above 255; convert "
        "the image to float (or int64) before multiplying",
    ),
    "same-size-output": (
        "output of the image's size ('same' instead of 'valid')",
        "your output is as large as the image, as if the image were zero-padded first; {function} "
        "is 'valid': no padding, one output per position where the whole kernel fits, so the "
        "shape is (H - kh + 1, W - kw + 1)",
    ),
    "full-output": (
        "'full' output instead of 'valid'",
        "your output is the 'full' result (the image zero-padded by k - 1 on every side); {function} "
        "is 'valid': one output per position where the whole kernel fits, (H - kh + 1, W - kw + 1)",
    ),
    "mutated-input": (
        "mutated input",
        "work on a copy (e.g. image = image.astype(float)) instead of changing the caller's array",
    ),
    # conv1d
    "conv1d-mode-ignored": (
        "mode ignored",
        "your output is the 'full' result although another mode was asked for: 'same' keeps "
        "max(n, k) values from the middle of full, 'valid' only the positions where the shorter "
        "input fits completely",
    ),
    "conv1d-same-shifted": (
        "'same' window off by one for even kernels",
        "for an even kernel numpy keeps full[(k - 1) // 2 : (k - 1) // 2 + n]; you started at k // 2",
    ),
    "conv1d-no-swap": (
        "no swap when the kernel is longer than the signal",
        "numpy.convolve swaps the two inputs when the kernel is longer, so 'same' has the longer "
        "length and 'valid' is never empty",
    ),
    "conv1d-not-flipped": (
        "kernel not flipped",
        "your output equals the correlation; convolution flips the kernel (kernel[::-1])",
    ),
    # sizes and padding
    "size-ceiling": (
        "ceiling instead of floor",
        "the last window must fit completely: use floor division (//), not ceil",
    ),
    "dilation-ignored": ("dilation ignored", DILATION),
    "size-stride-ignored": ("stride ignored", "with stride s only every s-th window position is used: divide by s"),
    "size-padding-one-side": ("padding added on one side only", "padding p adds p zeros at *each* end: n + 2p"),
    "shape-swapped": ("height and width swapped", "return (H_out, W_out): rows first, then columns"),
    "same-extra-pixel": (
        "extra pixel on the wrong side",
        "when the total padding is odd, the extra pixel goes after (bottom/right): before = total // 2",
    ),
    "same-stride-ignored": (
        "stride ignored",
        "with stride s the output must have ceil(n / s) pixels, which changes the total",
    ),
    "pad-dtype": ("dtype not kept", "allocate the output with dtype=image.dtype (np.zeros defaults to float64)"),
    "pad-axes-swapped": (
        "padding axes swapped",
        "the first pair pads rows (top, bottom), the second columns (left, right)",
    ),
    "pad-sides-swapped": ("padding sides swapped", "each pair is (before, after): top then bottom, left then right"),
    "pad-one-side": (
        "padding on one side only",
        "zeros go on both sides of each axis: ((top, bottom), (left, right)) puts top rows above the "
        "image and bottom rows below it, left columns before it and right columns after it; an int "
        "pads all four sides",
    ),
    "pad-same-both-sides": (
        "the same padding on both sides of an axis",
        "the two numbers of a pair may differ: top zeros above and bottom zeros below, left zeros "
        "before and right zeros after; use each number for its own side",
    ),
    "output-padding-ignored": ("output_padding ignored", "add output_padding to the size"),
    "transposed-dilation-ignored": ("dilation ignored", "the kernel term is d * (k - 1)"),
    # the convolution layer
    "strided-stride-ignored": ("stride ignored", "with stride s, output pixel i reads input rows starting at i * s"),
    "strided-dilation-ignored": ("dilation ignored", "with dilation d, kernel tap a reads row i * s + a * d"),
    "strided-same-extra-pixel": (
        "'same' extra pixel on the wrong side",
        "for an even kernel (or a stride) the odd extra padding pixel goes after (bottom/right)",
    ),
    "strided-pad-one-side": (
        "padding on one side only",
        "an int or (h, w) padding adds zeros on both sides of its axis",
    ),
    "bias-ignored": ("bias ignored", "add bias[o] to every pixel of output channel o"),
    "bias-wrong-axis": (
        "bias added along the wrong axis",
        "bias has one value per output channel: broadcast it as bias[None, :, None, None]",
    ),
    "bias-repeated": (
        "bias added {how}",
        "it was added {times} times; add bias[o] once to every pixel of output channel o, after the "
        "sums over input channels and kernel taps",
    ),
    "forward-flipped-kernels": ("flipped kernels", "conv_forward is a cross-correlation, like torch's conv2d: no flip"),
    "forward-stride-ignored": ("stride ignored", "with stride s output pixel i reads rows from i * s"),
    "pool-stride-default": ("stride defaults to 1", "when stride is None the windows do not overlap: stride = size"),
    "pool-window-one-size": (
        "one window size for both axes",
        "size=(h, w) is a window of h rows and w columns (the default stride is (h, w) too); "
        "only an int size means a square window",
    ),
    # read off the answer's type or shape alone
    "float-size": ("float instead of int", FLOAT_SIZE),
    "float-shape": ("float instead of int", "sizes are whole numbers; use // and int(...)"),
    "numpy-int": ("numpy integer instead of int", "return int(...) (got {type})"),
    "size-off-by-one": ("off by one", "count the window positions, floor((n + 2p - span) / s) + 1"),
    "output-transposed": (
        "height and width swapped",
        "the output has shape (rows, columns) = {expected}, yours is {actual}",
    ),
    "output-off-by-one": (
        "off-by-one output size",
        "expected {expected}, got {actual}; the valid output along an axis has n - k + 1 positions "
        "(with stride: floor((n - span) / s) + 1)",
    ),
}

#: The loops a repeated bias may sit in (bias-repeated's ``loops``).
LOOPS = {
    "input-channel": "input channel",
    "kernel-row": "kernel row",
    "kernel-column": "kernel column",
    "batch-image": "image in the batch",
    "kernel-tap": "kernel tap",
    "channel-and-tap": "input channel and kernel tap",
}


def _arguments(cause) -> dict:
    arguments = dict(cause.params)
    if cause.id == "bias-repeated":
        loops = [f"once per {LOOPS.get(loop, loop)}" for loop in arguments.get("loops", ())]
        arguments["how"] = " or ".join(loops) if loops else f"{arguments.get('times')} times"
    return {k: tuple(v) if isinstance(v, list) else v for k, v in arguments.items()}


def words(cause) -> tuple[str, str]:
    """(title, advice) of a cause (a verdicts.Cause or a diagnose.Diagnosis)."""
    title, advice = CAUSES[cause.id]
    arguments = _arguments(cause)
    return title.format(**arguments), advice.format(**arguments)


def title(cause: Cause) -> str:
    """The cause's name (what the class report counts students by)."""
    return CAUSES[cause.id][0].format(**_arguments(cause))


def line(cause) -> str:
    """'title: advice', as the feedback's "likely cause" line says it."""
    return ": ".join(words(cause))
