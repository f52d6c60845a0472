"""Hidden cases for ps2 (shapes_and_padding.ipynb): sizes, shapes and padding."""

import numpy as np

from autograder.cases import Case, Check, FunctionCases, Group


def _kw(**kwargs):
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def size_grid(rng, count=24):
    """Random (n, k, stride, padding, dilation) combinations where the kernel fits."""
    cases = []
    while len(cases) < count:
        n, k = int(rng.integers(1, 41)), int(rng.integers(1, 8))
        s, p, d = int(rng.integers(1, 5)), int(rng.integers(0, 4)), int(rng.integers(1, 4))
        if d * (k - 1) + 1 <= n + 2 * p:
            cases.append(Case(f"n={n}, k={k}, {_kw(stride=s, padding=p, dilation=d)}", (n, k, s, p, d)))
    return cases


def conv_output_size_visible(rng):
    return [
        Case("n=7, k=3, stride=2", (7, 3), {"stride": 2}),
        Case("n=32, k=5, padding=2", (32, 5), {"padding": 2}),
        Case("n=10, k=3, dilation=2", (10, 3), {"dilation": 2}),
        Case("kernel longer than input", (4, 5)),
        Case("n given as a float", (7.0, 3)),
    ]


def conv_output_size_range_errors(rng):
    return [
        Case("n=0", (0, 3)), Case("k=0", (5, 0)), Case("stride=0", (5, 3), {"stride": 0}),
        Case("dilation=0", (5, 3), {"dilation": 0}), Case("padding=-1", (5, 3), {"padding": -1}),
        Case("dilated kernel (span 9) does not fit n=6, padding=1", (6, 5), {"dilation": 2, "padding": 1}),
    ]


def conv_output_size_type_errors(rng):
    return [
        Case("n=True", (True, 1)), Case("k=3.0", (8, 3.0)), Case("stride='2'", (8, 3), {"stride": "2"}),
        Case("padding=None", (8, 3), {"padding": None}), Case("dilation=1.5", (8, 3), {"dilation": 1.5}),
    ]


def shape_visible(rng):
    return [
        Case("(28, 20) with a (5, 3) kernel", ((28, 20), (5, 3))),
        Case("(28, 20), (3, 3), stride=(2, 1), padding=1", ((28, 20), (3, 3)), {"stride": (2, 1), "padding": 1}),
    ]


def shape_pairs(rng):
    cases = []
    for _ in range(8):
        h, w = int(rng.integers(9, 40)), int(rng.integers(9, 40))
        kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        kwargs = {"stride": (int(rng.integers(1, 4)), int(rng.integers(1, 4))),
                  "padding": (int(rng.integers(0, 3)), int(rng.integers(0, 3))),
                  "dilation": int(rng.integers(1, 3))}
        cases.append(Case(f"({h}, {w}), ({kh}, {kw}), {_kw(**kwargs)}", ((h, w), (kh, kw)), kwargs))
    return cases


def shape_errors(rng):
    return [
        Case("kernel too tall for the input", ((4, 30), (5, 3))),
        Case("negative padding on the width axis", ((10, 10), (3, 3)), {"padding": (1, -1)}),
        Case("float in the stride pair", ((10, 10), (3, 3)), {"stride": (1, 2.0)}),
    ]


def same_visible(rng):
    return [Case("n=8, k=3", (8, 3)), Case("n=8, k=4", (8, 4)), Case("n=7, k=3, stride=2", (7, 3), {"stride": 2})]


def same_grid(rng):
    cases = [Case("n=9, k=2", (9, 2)), Case("n=10, k=6", (10, 6)), Case("n=5, k=9", (5, 9)),
             Case("n=1, k=4, stride=3", (1, 4), {"stride": 3})]
    for _ in range(14):
        n, k = int(rng.integers(1, 33)), int(rng.integers(1, 8))
        kwargs = {"stride": int(rng.integers(1, 5)), "dilation": int(rng.integers(1, 4))}
        cases.append(Case(f"n={n}, k={k}, {_kw(**kwargs)}", (n, k), kwargs))
    return cases


def pad_visible(rng):
    image = np.arange(6, dtype=np.uint8).reshape(2, 3)
    return [Case("uint8 2x3 image, padding 1", (image, 1)),
            Case("uint8 2x3 image, padding ((0, 1), (2, 0))", (image, ((0, 1), (2, 0)))),
            Case("padding -1", (image, -1))]


def _padding(rng) -> tuple[int, int, int, int]:
    """Random sides (0 to 3 each, zeros included: `out[t:-b]` fails on b = 0), drawn again until
    something pads before the image and something after it, and the two axes are not both
    symmetric. Otherwise one case would be right for a classic mistake (padding one side only,
    one amount on both sides) or, all zeros, be the image itself, which doing nothing returns:
    whether such a function earned the points that wait for a right value would hang on the
    course's secret rather than on the work."""
    while True:
        top, bottom, left, right = (int(v) for v in rng.integers(0, 4, size=4))
        if top + left and bottom + right and not (top == bottom and left == right):
            return top, bottom, left, right


def pad_random(rng):
    cases = []
    for dtype in (np.float64, np.float32, np.int32, np.uint8, np.int64, np.bool_):
        h, w = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        image = (rng.integers(1, 100, size=(h, w))).astype(dtype)
        top, bottom, left, right = _padding(rng)
        cases.append(Case(f"{h}x{w} {np.dtype(dtype).name} image, (({top}, {bottom}), ({left}, {right}))",
                          (image, ((top, bottom), (left, right)))))
    cases.append(Case("3x4 int image, padding 2", (np.arange(12).reshape(3, 4), 2)))
    cases.append(Case("3x4 float image, padding 0", (np.ones((3, 4)), 0)))
    return cases


def pad_unchanged(rng):
    return [
        Case("4x5 uint8 image, ((2, 0), (1, 3)): inputs must come back unchanged",
             (rng.integers(0, 256, size=(4, 5)).astype(np.uint8), ((2, 0), (1, 3)))),
        Case("3x3 float image, padding 1: inputs must come back unchanged", (rng.normal(size=(3, 3)), 1)),
    ]


def pad_errors(rng):
    image = np.ones((3, 3))
    return [Case("padding ((1, 1), (0, -2))", (image, ((1, 1), (0, -2)))),
            Case("padding -3", (image, -3))]


def transposed_visible(rng):
    return [
        Case("n=4, k=3, stride=2, padding=1", (4, 3), {"stride": 2, "padding": 1}),
        Case("n=4, k=3, stride=2, padding=1, output_padding=1", (4, 3),
             {"stride": 2, "padding": 1, "output_padding": 1}),
        Case("output_padding equal to the stride", (4, 3), {"stride": 2, "output_padding": 2}),
    ]


def transposed_grid(rng):
    cases = []
    while len(cases) < 20:
        n, k = int(rng.integers(1, 20)), int(rng.integers(1, 7))
        s, d = int(rng.integers(1, 5)), int(rng.integers(1, 4))
        p, op = int(rng.integers(0, 3)), int(rng.integers(0, max(s, d)))
        if (n - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1:
            kwargs = {"stride": s, "padding": p, "output_padding": op, "dilation": d}
            cases.append(Case(f"n={n}, k={k}, {_kw(**kwargs)}", (n, k), kwargs))
    return cases


def transposed_errors(rng):
    return [
        Case("output_padding=3 with stride 2 and dilation 3", (5, 3),
             {"stride": 2, "output_padding": 3, "dilation": 3}),
        Case("output_padding=1 with stride 1", (5, 3), {"output_padding": 1}),
        Case("padding=-1", (5, 3), {"padding": -1}),
        Case("n=0", (0, 3)),
        Case("dilation=0", (5, 3), {"dilation": 0}),
    ]


FUNCTIONS = (
    FunctionCases("conv_output_size", "int", (
        Check("test_conv_output_size_hidden", (
            Group("the notebook's visible examples", 1, conv_output_size_visible, visible=True),
            Group("stride, padding and dilation combinations", 1, size_grid),
            Group("out-of-range arguments raise ValueError", 1, conv_output_size_range_errors),
            Group("non-integers (bools included) raise TypeError", 1, conv_output_size_type_errors),
        )),
    )),
    FunctionCases("conv_output_shape", "int-tuple", (
        Check("test_conv_output_shape_hidden", (
            Group("the notebook's visible examples", 1, shape_visible, visible=True),
            Group("pairs and ints on non-square inputs", 0.5, shape_pairs),
            Group("errors on one axis raise an exception", 0.5, shape_errors, any_error=True),
        )),
    )),
    FunctionCases("same_padding", "int-tuple", (
        Check("test_same_padding_hidden", (
            Group("the notebook's visible examples", 1, same_visible, visible=True),
            Group("odd and even kernels, strides and dilations", 2, same_grid),
        )),
    )),
    FunctionCases("zero_pad", "exact-array", (
        Check("test_zero_pad_hidden", (
            Group("the notebook's visible examples", 1, pad_visible, visible=True),
            Group("random shapes, dtypes and paddings", 1, pad_random),
            Group("inputs are never modified", 0.5, pad_unchanged, check_inputs=True),
            Group("bad padding raises ValueError", 0.5, pad_errors),
        )),
    )),
    FunctionCases("transposed_conv_output_size", "int", (
        Check("test_transposed_conv_output_size_hidden", (
            Group("the notebook's visible examples", 1, transposed_visible, visible=True),
            Group("stride, padding, output_padding and dilation combinations", 1, transposed_grid),
            Group("invalid arguments raise ValueError", 1, transposed_errors),
        )),
    )),
)
