"""Each named mistake, made by a hand-written wrong function, is told by its own label and by no
other (judged in-process on every hidden case, as the nbgrader cells do)."""

import numpy as np
import pytest

from tests.test_compare import causes, judged


def conv1d_no_swap(ref):
    def conv1d(signal, kernel, mode="full"):
        full = ref(signal, kernel, "full")
        n, k = len(signal), len(kernel)
        if mode == "same":
            return full[(k - 1) // 2:(k - 1) // 2 + n]  # the signal's length, even when the kernel is longer
        if mode == "valid":
            return full[k - 1:n]
        return ref(signal, kernel, mode)
    return conv1d


def conv1d_same_from_half_k(ref):
    def conv1d(signal, kernel, mode="full"):
        if mode != "same":
            return ref(signal, kernel, mode)
        longer, shorter = (signal, kernel) if len(signal) >= len(kernel) else (kernel, signal)
        full = ref(longer, shorter, "full")
        return full[len(shorter) // 2:len(shorter) // 2 + len(longer)]
    return conv1d


def size_with_ceiling(ref):
    def conv_output_size(n, k, stride=1, padding=0, dilation=1):
        ref(n, k, stride, padding, dilation)  # the same errors for bad input
        return -(-(n + 2 * padding - dilation * (k - 1) - 1) // stride) + 1
    return conv_output_size


def size_padding_once(ref):
    def conv_output_size(n, k, stride=1, padding=0, dilation=1):
        ref(n, k, stride, padding, dilation)
        return (n + padding - dilation * (k - 1) - 1) // stride + 1
    return conv_output_size


def padding_extra_before(ref):
    def same_padding(n, k, stride=1, dilation=1):
        before, after = ref(n, k, stride, dilation)
        return max(before, after), min(before, after)
    return same_padding


def pad_to_float(ref):
    return lambda image, padding: np.asarray(ref(image, padding), dtype=np.float64)


def pad_axes_swapped(ref):
    def zero_pad(image, padding):
        if isinstance(padding, int):
            return ref(image, padding)
        rows, cols = padding
        return ref(image, (cols, rows))
    return zero_pad


def pad_sides_swapped(ref):
    def zero_pad(image, padding):
        if isinstance(padding, int):
            return ref(image, padding)
        (top, bottom), (left, right) = padding
        return ref(image, ((bottom, top), (right, left)))
    return zero_pad


def pool_stride_one(ref):
    return lambda x, size=2, stride=None: ref(x, size, 1 if stride is None else stride)


def transposed_without_output_padding(ref):
    def transposed_conv_output_size(n, k, stride=1, padding=0, output_padding=0, dilation=1):
        return ref(n, k, stride, padding, output_padding, dilation) - output_padding
    return transposed_conv_output_size


def forward_without_bias(ref):
    return lambda x, weight, bias=None, stride=1, padding=0: ref(x, weight, None, stride, padding)


def strided_extra_pixel_before(ref, same_padding):
    def strided_conv2d(image, kernel, stride=1, padding=0, dilation=1):
        if padding != "same":
            return ref(image, kernel, stride, padding, dilation)
        def pair(v):
            return v if isinstance(v, tuple) else (v, v)

        pads = [same_padding(n, k, s, d)[::-1] for n, k, s, d in
                zip(np.shape(image), np.shape(kernel), pair(stride), pair(dilation), strict=True)]
        return ref(np.pad(np.asarray(image, dtype=float), pads), kernel, stride, 0, dilation)
    return strided_conv2d


def strided_padding_before_only(ref):
    def strided_conv2d(image, kernel, stride=1, padding=0, dilation=1):
        if isinstance(padding, str) or padding in (0, (0, 0)):
            return ref(image, kernel, stride, padding, dilation)
        ph, pw = padding if isinstance(padding, tuple) else (padding, padding)
        return ref(np.pad(np.asarray(image, dtype=float), ((ph, 0), (pw, 0))), kernel, stride, 0, dilation)
    return strided_conv2d


def forward_flipping_kernels(ref):
    return lambda x, weight, bias=None, stride=1, padding=0: ref(x, np.asarray(weight)[:, :, ::-1, ::-1], bias,
                                                                 stride, padding)


def size_as_float(ref):
    return lambda n, k, stride=1, padding=0, dilation=1: float(ref(n, k, stride, padding, dilation))


def size_as_numpy_int(ref):
    return lambda n, k, stride=1, padding=0, dilation=1: np.int64(ref(n, k, stride, padding, dilation))


def size_plus_one(ref):
    return lambda n, k, stride=1, padding=0, dilation=1: ref(n, k, stride, padding, dilation) + 1


MISTAKES = [
    ("ps1", "conv1d", conv1d_no_swap, "no swap when the kernel is longer than the signal"),
    ("ps1", "conv1d", conv1d_same_from_half_k, "'same' window off by one for even kernels"),
    ("ps2", "conv_output_size", size_with_ceiling, "ceiling instead of floor"),
    ("ps2", "conv_output_size", size_padding_once, "padding added on one side only"),
    ("ps2", "same_padding", padding_extra_before, "extra pixel on the wrong side"),
    ("ps2", "zero_pad", pad_to_float, "dtype not kept"),
    ("ps2", "zero_pad", pad_axes_swapped, "padding axes swapped"),
    ("ps2", "zero_pad", pad_sides_swapped, "padding sides swapped"),
    ("ps2", "transposed_conv_output_size", transposed_without_output_padding, "output_padding ignored"),
    ("ps3", "max_pool2d", pool_stride_one, "stride defaults to 1"),
    ("ps3", "conv_forward", forward_without_bias, "bias ignored"),
    ("ps3", "conv_forward", forward_flipping_kernels, "flipped kernels"),
    ("ps3", "strided_conv2d", strided_padding_before_only, "padding on one side only"),
    ("ps2", "conv_output_size", size_as_float, "float instead of int"),
    ("ps2", "conv_output_size", size_as_numpy_int, "numpy integer instead of int"),
    ("ps2", "conv_output_size", size_plus_one, "off by one"),
]


@pytest.mark.parametrize(("assignment", "name", "make", "title"), MISTAKES,
                         ids=[m[2].__name__ for m in MISTAKES])
def test_a_named_mistake_gets_its_label(root, refs, assignment, name, make, title):
    result = judged(root, assignment, name, make(refs[assignment][name]))
    assert result.score < result.max_score
    (line,) = causes(result)
    assert line.startswith(f"likely cause: {title}: "), line


def test_the_same_extra_pixel_before_in_strided_conv2d(root, refs):
    student = strided_extra_pixel_before(refs["ps3"]["strided_conv2d"], refs["ps2"]["same_padding"])
    (line,) = causes(judged(root, "ps3", "strided_conv2d", student))
    assert line.startswith("likely cause: 'same' extra pixel on the wrong side: "), line
