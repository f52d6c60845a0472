"""Hidden cases for ps3 (conv_layer.ipynb): strided_conv2d, conv_forward, max_pool2d."""

import numpy as np

from autograder.cases import Case, Check, FunctionCases, Group, asymmetric


def strided_visible(rng):
    image = np.arange(25, dtype=float).reshape(5, 5)
    return [
        Case("1x1 kernel with stride 2", (image, np.ones((1, 1))), {"stride": 2}),
        Case("3x3 ones with padding 1", (np.ones((3, 3)), np.ones((3, 3))), {"padding": 1}),
        Case("kernel [[1, -1]] with dilation 2", (image, np.array([[1.0, -1.0]])), {"dilation": 2}),
        Case("'same' with an even 4x4 kernel", (np.ones((6, 6)), np.ones((4, 4))), {"padding": "same"}),
    ]


def strides_and_paddings(rng):
    cases = []
    for (h, w), (kh, kw), stride, padding in (
        ((9, 11), (3, 3), 2, 0), ((12, 10), (3, 2), (2, 3), 1), ((8, 8), (2, 2), 3, (2, 0)),
        ((10, 7), (4, 3), (1, 2), (1, 2)), ((7, 7), (3, 3), 3, 2), ((6, 13), (1, 5), (2, 4), 0),
        ((8, 7), (3, 2), 1, 0),  # the defaults: plain valid cross-correlation
    ):
        cases.append(Case(f"{h}x{w} image, {kh}x{kw} kernel, stride={stride!r}, padding={padding!r}",
                          (np.round(rng.normal(size=(h, w)), 3), asymmetric(rng, (kh, kw))),
                          {"stride": stride, "padding": padding}))
    return cases


def dilations(rng):
    cases = []
    for (h, w), (kh, kw), dilation, stride in (
        ((10, 10), (3, 3), 2, 1), ((12, 9), (2, 3), (3, 2), 1), ((11, 11), (3, 2), 2, 2),
        ((9, 12), (3, 3), (1, 3), (2, 1)),
    ):
        cases.append(Case(f"{h}x{w} image, {kh}x{kw} kernel, dilation={dilation!r}, stride={stride!r}",
                          (np.round(rng.normal(size=(h, w)), 3), asymmetric(rng, (kh, kw))),
                          {"dilation": dilation, "stride": stride}))
    return cases


def same_and_valid(rng):
    cases = []
    for (h, w), (kh, kw), stride, dilation, padding in (
        ((8, 8), (3, 3), 1, 1, "same"), ((8, 9), (4, 2), 1, 1, "same"), ((9, 7), (3, 4), 2, 1, "same"),
        ((10, 10), (2, 2), 3, 1, "same"), ((9, 9), (3, 3), 1, 2, "same"), ((7, 8), (3, 2), 2, 1, "valid"),
        ((5, 5), (6, 6), 1, 1, "same"),
    ):
        cases.append(Case(f"{h}x{w} image, {kh}x{kw} kernel, padding={padding!r}, stride={stride}, "
                          f"dilation={dilation}",
                          (np.round(rng.normal(size=(h, w)), 3), asymmetric(rng, (kh, kw))),
                          {"padding": padding, "stride": stride, "dilation": dilation}))
    return cases


def forward_visible(rng):
    x = np.arange(2 * 3 * 4 * 4, dtype=float).reshape(2, 3, 4, 4)
    w = np.zeros((2, 3, 1, 1))
    w[0, :, 0, 0] = 1
    w[1, 1, 0, 0] = -1
    return [
        Case("1x1 filters summing and negating channels, bias [10, 0]", (x, w), {"bias": np.array([10.0, 0.0])}),
        Case("3x3 filters, stride 2, padding 1", (x, np.ones((5, 3, 3, 3))), {"stride": 2, "padding": 1}),
        Case("weight with 2 input channels for a 3-channel x", (x, np.ones((5, 2, 3, 3)))),
    ]


def forward_random(rng):
    cases = []
    for n, c_in, c_out, (h, w), (kh, kw) in (
        (2, 3, 4, (8, 8), (3, 3)), (1, 1, 2, (12, 10), (3, 3)), (3, 2, 1, (10, 10), (2, 3)),
        (2, 4, 3, (12, 8), (5, 1)),
    ):
        cases.append(Case(f"N={n}, C_in={c_in}, C_out={c_out}, {h}x{w} input, {kh}x{kw} kernels",
                          (np.round(rng.normal(size=(n, c_in, h, w)), 3),
                           np.round(rng.normal(size=(c_out, c_in, kh, kw)), 3))))
    return cases


def forward_stride_padding(rng):
    cases = []
    for stride, padding in ((2, 0), ((1, 2), 1), (3, (2, 1)), ((2, 2), (0, 3))):
        cases.append(Case(f"N=2, C_in=3, C_out=2, 9x10 input, 3x3 kernels, stride={stride!r}, "
                          f"padding={padding!r}",
                          (np.round(rng.normal(size=(2, 3, 9, 10)), 3),
                           np.round(rng.normal(size=(2, 3, 3, 3)), 3)),
                          {"stride": stride, "padding": padding}))
    return cases


def forward_bias(rng):
    # Channel counts, kernel sizes and batch sizes differ, so a bias added once per loop names its loop.
    return [
        Case("C_in=3, C_out=4, 2x2 kernels with a bias", (np.round(rng.normal(size=(2, 3, 6, 6)), 3),
                                                         np.round(rng.normal(size=(4, 3, 2, 2)), 3)),
             {"bias": np.array([1.5, -2.0, 0.25, 7.0])}),
        Case("C_in=2, C_out=3, 3x3 kernels with a bias and padding 1",
             (np.round(rng.normal(size=(1, 2, 5, 7)), 3), np.round(rng.normal(size=(3, 2, 3, 3)), 3)),
             {"bias": np.array([-1.0, 0.5, 3.0]), "padding": 1}),
    ]


def forward_bad_input(rng):
    x = np.ones((2, 3, 6, 6))
    return [
        Case("weight with 2 input channels for a 3-channel x", (x, np.ones((4, 2, 3, 3)))),
        Case("weight with 4 input channels for a 3-channel x", (x, np.ones((1, 4, 1, 1)))),
        # A weight with C_in = 1 must not broadcast over the 3 channels.
        Case("weight with 1 input channel for a 3-channel x", (x, np.arange(1.0, 10.0).reshape(1, 1, 3, 3))),
    ]


def strided_unchanged(rng):
    return [
        Case("9x8 float image, 3x2 kernel, stride 2, padding 1: inputs must come back unchanged",
             (np.round(rng.normal(size=(9, 8)), 3), asymmetric(rng, (3, 2))), {"stride": 2, "padding": 1}),
        Case("int32 image, 'same' padding: inputs must come back unchanged",
             (rng.integers(-9, 9, size=(7, 7)).astype(np.int32), asymmetric(rng, (3, 3))), {"padding": "same"}),
    ]


def forward_unchanged(rng):
    return [
        Case("N=2, C_in=3, C_out=2 with a bias, padding 1: inputs must come back unchanged",
             (np.round(rng.normal(size=(2, 3, 6, 5)), 3), np.round(rng.normal(size=(2, 3, 3, 3)), 3)),
             {"bias": np.array([0.5, -1.0]), "padding": 1}),
    ]


def pool_visible(rng):
    fm = np.array([[1, 3, 2, 0], [4, 2, 1, 5], [0, 1, 7, 2], [3, 2, 1, 1]])[None, None]
    return [
        Case("the 4x4 example", (fm,)),
        Case("a 5x5 map pooled 2x2 (floor)", (np.zeros((1, 2, 5, 5)),)),
        Case("the 4x4 example, size=3, stride=1", (fm,), {"size": 3, "stride": 1}),
    ]


def pool_windows(rng):
    cases = []
    for shape, size, stride in (
        ((2, 3, 8, 8), 2, None), ((1, 2, 9, 7), 3, None), ((2, 1, 10, 10), (2, 3), None),
        ((1, 3, 9, 9), 3, 2), ((2, 2, 7, 11), (3, 2), (1, 3)), ((1, 1, 6, 6), 1, 2),
    ):
        cases.append(Case(f"{shape} input, size={size!r}, stride={stride!r}",
                          (np.round(rng.normal(size=shape), 3),), {"size": size, "stride": stride}))
    return cases


def pool_dtypes(rng):
    return [
        Case("uint8 input", (rng.integers(0, 256, size=(2, 2, 6, 6)).astype(np.uint8),)),
        Case("int32 input with negative values", (rng.integers(-100, 0, size=(1, 3, 8, 8)).astype(np.int32),),
             {"size": 3, "stride": 2}),
        Case("float32 input, all negative", ((-rng.uniform(1, 2, size=(2, 1, 5, 6))).astype(np.float32),)),
    ]


FUNCTIONS = (
    FunctionCases("strided_conv2d", "float-array", (
        Check("test_strided_conv2d_hidden", (
            Group("the notebook's visible examples", 2, strided_visible, visible=True),
            Group("strides and paddings", 1, strides_and_paddings),
            Group("inputs are never modified", 0.5, strided_unchanged, check_inputs=True),
            Group("dilation", 1, dilations),
            # The contract fixes no error behaviour for strided_conv2d: bad input is not graded.
            Group("'same' and 'valid' padding, even kernels, stride > 1", 1.5, same_and_valid),
        )),
    )),
    FunctionCases("conv_forward", "float-array", (
        Check("test_conv_forward_hidden", (
            Group("the notebook's visible examples", 2, forward_visible, visible=True),
            Group("random batches and channel counts", 1, forward_random),
            Group("inputs are never modified", 0.5, forward_unchanged, check_inputs=True),
            Group("stride and padding", 1, forward_stride_padding),
            Group("bias per output channel", 1, forward_bias),
            Group("a channel mismatch (including a 1-channel weight) raises ValueError", 0.5,
                  forward_bad_input),
        )),
    )),
    # The contract asks for torch's values (torch has no integer pooling), not a dtype: "array".
    FunctionCases("max_pool2d", "array", (
        Check("test_max_pool2d_hidden", (
            Group("the notebook's visible examples", 1, pool_visible, visible=True),
            # The contract fixes no error behaviour for max_pool2d: bad input is not graded.
            Group("window sizes and strides", 2, pool_windows),
            Group("integer and float32 inputs, negative values", 1, pool_dtypes),
        )),
    )),
)
