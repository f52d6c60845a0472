"""The reference solutions (loaded from source/, never copied) against independent oracles."""

import math

import numpy as np
import pytest
import scipy.signal
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from autograder.course import get_assignment
from autograder.reference import load

torch.set_default_dtype(torch.float64)


def test_loads_every_graded_function_from_the_source_notebooks(root, refs):
    for name, functions in refs.items():
        assert set(functions) == set(get_assignment(name).functions)
        for function in functions.values():
            assert function.__code__.co_filename.startswith(str(root / "source"))


def test_a_missing_solution_is_reported(tmp_path, root):
    import shutil

    from autograder.course import CourseError

    shutil.copytree(root / "source", tmp_path / "source")
    path = tmp_path / "source" / "ps1" / "convolution.ipynb"
    path.write_text(path.read_text().replace("def conv1d(", "def conv1d_renamed("))
    with pytest.raises(CourseError, match="no solution for conv1d"):
        load(tmp_path, get_assignment("ps1"))


# -- ps1 --------------------------------------------------------------------------------------

SHAPES = [((8, 8), (3, 3)), ((12, 10), (3, 3)), ((10, 10), (3, 3)), ((12, 8), (3, 3)), ((7, 9), (2, 5)),
          ((5, 5), (5, 5)), ((6, 4), (1, 1)), ((9, 3), (4, 1))]


@pytest.mark.parametrize(("image_shape", "kernel_shape"), SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8])
def test_conv2d_matches_scipy_correlate2d(refs, image_shape, kernel_shape, dtype):
    rng = np.random.default_rng(0)
    image = (rng.uniform(0, 255, image_shape)).astype(dtype)
    kernel = rng.normal(size=kernel_shape)
    out = refs["ps1"]["conv2d"](image, kernel)
    assert out.dtype.kind == "f"
    assert_allclose(out, scipy.signal.correlate2d(image.astype(float), kernel, mode="valid"), rtol=1e-10, atol=1e-9)
    assert_allclose(refs["ps1"]["convolve2d"](image, kernel),
                    scipy.signal.convolve2d(image.astype(float), kernel, mode="valid"), rtol=1e-10, atol=1e-9)


def test_conv2d_does_not_wrap_uint8_and_keeps_inputs(refs):
    image = np.full((4, 4), 200, dtype=np.uint8)
    kernel = np.array([[2, 0], [0, 1]])
    before = image.copy()
    assert_array_equal(refs["ps1"]["conv2d"](image, kernel), np.full((3, 3), 600.0))
    assert_array_equal(image, before)


@pytest.mark.parametrize(("image", "kernel", "message"), [
    (np.ones(5), np.ones((2, 2)), "2-D"), (np.ones((3, 3, 3)), np.ones((2, 2)), "2-D"),
    (np.ones((3, 3)), np.ones(2), "2-D"), (np.ones((3, 3)), np.ones((4, 2)), "larger"),
])
def test_conv2d_rejects_bad_input(refs, image, kernel, message):
    with pytest.raises(ValueError, match=message):
        refs["ps1"]["conv2d"](image, kernel)


@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 12), st.integers(1, 12), st.integers(0, 2**32 - 1))
@settings(max_examples=60, deadline=None)
def test_conv2d_hypothesis_shapes(refs, h, w, kh, kw, seed):
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    if kh > h or kw > w:
        with pytest.raises(ValueError):
            refs["ps1"]["conv2d"](image, kernel)
        return
    assert_allclose(refs["ps1"]["conv2d"](image, kernel), scipy.signal.correlate2d(image, kernel, "valid"),
                    rtol=1e-9, atol=1e-9)


@given(st.integers(1, 15), st.integers(1, 15), st.sampled_from(["full", "same", "valid"]),
       st.sampled_from([np.float64, np.int64]), st.integers(0, 2**32 - 1))
@settings(max_examples=120, deadline=None)
def test_conv1d_matches_numpy_convolve(refs, n, k, mode, dtype, seed):
    rng = np.random.default_rng(seed)
    signal, kernel = (rng.normal(size=n) * 10).astype(dtype), (rng.normal(size=k) * 10).astype(dtype)
    out = refs["ps1"]["conv1d"](signal, kernel, mode)
    expected = np.convolve(signal, kernel, mode)
    assert out.shape == expected.shape
    assert_allclose(out, expected, rtol=1e-10, atol=1e-9)


def test_conv1d_rejects_unknown_mode(refs):
    with pytest.raises(ValueError, match="mode"):
        refs["ps1"]["conv1d"](np.ones(3), np.ones(2), "circular")


# -- ps2 --------------------------------------------------------------------------------------

@given(st.integers(1, 40), st.integers(1, 7), st.integers(1, 4), st.integers(0, 3), st.integers(1, 3))
@settings(max_examples=200, deadline=None)
def test_conv_output_size_matches_torch_conv2d(refs, n, k, s, p, d):
    size = refs["ps2"]["conv_output_size"]
    if d * (k - 1) + 1 > n + 2 * p:
        with pytest.raises(ValueError):
            size(n, k, s, p, d)
        return
    layer = torch.nn.Conv2d(1, 1, (k, 1), stride=(s, 1), padding=(p, 0), dilation=(d, 1), bias=False)
    expected = layer(torch.zeros(1, 1, n, 1)).shape[2]
    result = size(n, k, s, p, d)
    assert type(result) is int and result == expected
    assert refs["ps2"]["conv_output_shape"]((n, n + 1), (k, 1), (s, 1), (p, 0), (d, 1)) == (expected, n + 1)


@pytest.mark.parametrize("bad", [True, 3.0, "3", None, 2.5])
def test_conv_output_size_type_errors(refs, bad):
    with pytest.raises(TypeError):
        refs["ps2"]["conv_output_size"](bad, 3)
    with pytest.raises(TypeError):
        refs["ps2"]["conv_output_size"](10, 3, stride=bad)


@pytest.mark.parametrize("kwargs", [{"n": 0, "k": 1}, {"n": 5, "k": 0}, {"n": 5, "k": 3, "stride": 0},
                                    {"n": 5, "k": 3, "padding": -1}, {"n": 5, "k": 3, "dilation": 0},
                                    {"n": 5, "k": 3, "dilation": 3}])
def test_conv_output_size_range_errors(refs, kwargs):
    with pytest.raises(ValueError):
        refs["ps2"]["conv_output_size"](**kwargs)


@given(st.integers(1, 40), st.integers(1, 8), st.integers(1, 4), st.integers(1, 3))
@settings(max_examples=200, deadline=None)
def test_same_padding_matches_tensorflow_rule_and_torch_same(refs, n, k, s, d):
    before, after = refs["ps2"]["same_padding"](n, k, s, d)
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    assert (before, after) == (total // 2, total - total // 2)
    if s == 1:  # torch's padding="same" (stride 1 only) puts the extra pixel after, like TensorFlow
        layer = torch.nn.Conv2d(1, 1, (k, 1), padding="same", dilation=(d, 1), bias=False)
        with torch.no_grad():
            layer.weight.zero_()
            layer.weight[0, 0, 0, 0] = 1.0
        x = torch.arange(1.0, n + 1).reshape(1, 1, n, 1)
        with torch.no_grad():
            y = layer(x).flatten().numpy()
        padded = np.pad(np.arange(1.0, n + 1), (before, after))
        assert_allclose(y, padded[:n])


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3),
       st.integers(0, 3), st.sampled_from([np.uint8, np.int32, np.float32, np.float64, np.bool_]))
@settings(max_examples=100, deadline=None)
def test_zero_pad_matches_numpy_pad(refs, h, w, t, b, left, r, dtype):
    image = np.arange(1, h * w + 1).reshape(h, w).astype(dtype)
    padded = refs["ps2"]["zero_pad"](image, ((t, b), (left, r)))
    expected = np.pad(image, ((t, b), (left, r)), mode="constant")
    assert padded.dtype == image.dtype
    assert_array_equal(padded, expected)
    assert_array_equal(refs["ps2"]["zero_pad"](image, t), np.pad(image, t, mode="constant"))


def test_zero_pad_rejects_negative_padding(refs):
    with pytest.raises(ValueError, match="negative"):
        refs["ps2"]["zero_pad"](np.ones((2, 2)), ((0, 1), (-1, 0)))


@given(st.integers(1, 12), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2), st.integers(0, 3),
       st.integers(1, 3))
@settings(max_examples=200, deadline=None)
def test_transposed_size_matches_torch(refs, n, k, s, p, op, d):
    size = refs["ps2"]["transposed_conv_output_size"]
    expected = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if op >= max(s, d) or expected < 1:
        with pytest.raises(ValueError):
            size(n, k, s, p, op, d)
        return
    layer = torch.nn.ConvTranspose2d(1, 1, (k, 1), stride=(s, 1), padding=(p, 0), output_padding=(op, 0),
                                     dilation=(d, 1), bias=False)
    assert size(n, k, s, p, op, d) == layer(torch.zeros(1, 1, n, 1)).shape[2] == expected


# -- ps3 --------------------------------------------------------------------------------------

@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3),
       st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.integers(0, 2**32 - 1))
@settings(max_examples=150, deadline=None)
def test_strided_conv2d_matches_torch(refs, h, w, kh, kw, sh, sw, p, d, seed):
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    strided = refs["ps3"]["strided_conv2d"]
    if d * (kh - 1) + 1 > h + 2 * p or d * (kw - 1) + 1 > w + 2 * p:
        with pytest.raises(ValueError):
            strided(image, kernel, (sh, sw), p, d)
        return
    expected = torch.nn.functional.conv2d(torch.tensor(image)[None, None], torch.tensor(kernel)[None, None],
                                          stride=(sh, sw), padding=p, dilation=d)[0, 0].numpy()
    assert_allclose(strided(image, kernel, (sh, sw), p, d), expected, rtol=1e-9, atol=1e-9)


@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 5), st.integers(1, 5), st.integers(1, 3),
       st.integers(1, 2), st.integers(0, 2**32 - 1))
@settings(max_examples=150, deadline=None)
def test_strided_conv2d_same_padding_follows_the_rule(refs, h, w, kh, kw, s, d, seed):
    rng = np.random.default_rng(seed)
    image, kernel = rng.normal(size=(h, w)), rng.normal(size=(kh, kw))
    out = refs["ps3"]["strided_conv2d"](image, kernel, stride=s, padding="same", dilation=d)
    pads = [refs["ps2"]["same_padding"](n, k, s, d) for n, k in ((h, kh), (w, kw))]
    assert out.shape == (math.ceil(h / s), math.ceil(w / s))
    padded = torch.tensor(np.pad(image, pads))[None, None]
    expected = torch.nn.functional.conv2d(padded, torch.tensor(kernel)[None, None], stride=s, dilation=d)
    assert_allclose(out, expected[0, 0].numpy(), rtol=1e-9, atol=1e-9)
    if s == 1:
        same = torch.nn.functional.conv2d(torch.tensor(image)[None, None], torch.tensor(kernel)[None, None],
                                          padding="same", dilation=d)
        assert_allclose(out, same[0, 0].numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("stride", [1, 2, (1, 3)])
@pytest.mark.parametrize("padding", [0, 1, (2, 0)])
@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize(("n", "c_in", "c_out", "hw", "k"), [(2, 3, 4, (8, 8), (3, 3)), (1, 1, 2, (7, 9), (2, 4)),
                                                             (3, 2, 1, (5, 6), (5, 1))])
def test_conv_forward_matches_torch(refs, stride, padding, with_bias, n, c_in, c_out, hw, k):
    rng = np.random.default_rng(1)
    x, w = rng.normal(size=(n, c_in, *hw)), rng.normal(size=(c_out, c_in, *k))
    bias = rng.normal(size=c_out) if with_bias else None
    out = refs["ps3"]["conv_forward"](x, w, bias, stride, padding)
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w),
                                          None if bias is None else torch.tensor(bias), stride=stride,
                                          padding=padding).numpy()
    assert_allclose(out, expected, rtol=1e-9, atol=1e-9)


def test_conv_forward_rejects_channel_mismatch(refs):
    with pytest.raises(ValueError, match="channels"):
        refs["ps3"]["conv_forward"](np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3)))


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 10), st.integers(1, 10), st.integers(1, 4),
       st.integers(1, 4), st.one_of(st.none(), st.integers(1, 3)), st.sampled_from([np.float64, np.int32, np.uint8]),
       st.integers(0, 2**32 - 1))
@settings(max_examples=150, deadline=None)
def test_max_pool2d_matches_torch(refs, n, c, h, w, kh, kw, stride, dtype, seed):
    x = (np.random.default_rng(seed).normal(size=(n, c, h, w)) * 50).astype(dtype)
    pool = refs["ps3"]["max_pool2d"]
    if kh > h or kw > w:
        with pytest.raises(ValueError):
            pool(x, (kh, kw), stride)
        return
    out = pool(x, (kh, kw), stride)
    assert out.dtype == x.dtype
    expected = torch.nn.functional.max_pool2d(torch.tensor(x.astype(np.float64)), (kh, kw), stride)
    assert_array_equal(out.astype(np.float64), expected.numpy())
