"""Three classic mistakes named by the one ranked cause (issue 19): a conv2d whose output keeps the
image's size ('same'), a zero_pad that pads one side only or one amount on both sides of an axis, a
max_pool2d whose window uses one size for both axes. Each is written here in several ways (the
diagnosis recomputes the mistake's outputs, it does not know one implementation), judged on every
hidden case in-process; the fixtures in tests/submissions/ go through the sandboxed grader."""

import nbformat
import numpy as np
import pytest

from autograder import grading
from autograder.cases import Case
from autograder.course import get_assignment
from autograder.diagnose import diagnose
from autograder.sandbox.runner import WorkerServer
from autograder.submissions import Submission
from tests.conftest import fixture_notebook
from tests.test_compare import causes, judged

SAME_SIZE = (
    "likely cause: output of the image's size ('same' instead of 'valid'): your output is as large as "
    "the image, as if the image were zero-padded first; {function} is 'valid': no padding, one output per "
    "position where the whole kernel fits, so the shape is (H - kh + 1, W - kw + 1)"
)
FULL = (
    "likely cause: 'full' output instead of 'valid': your output is the 'full' result (the image zero-padded "
    "by k - 1 on every side); conv2d is 'valid': one output per position where the whole kernel fits, "
    "(H - kh + 1, W - kw + 1)"
)
ONE_SIDE = (
    "likely cause: padding on one side only: zeros go on both sides of each axis: ((top, bottom), (left, "
    "right)) puts top rows above the image and bottom rows below it, left columns before it and right "
    "columns after it; an int pads all four sides"
)
BOTH_SIDES = (
    "likely cause: the same padding on both sides of an axis: the two numbers of a pair may differ: top "
    "zeros above and bottom zeros below, left zeros before and right zeros after; use each number for "
    "its own side"
)
ONE_WINDOW = (
    "likely cause: one window size for both axes: size=(h, w) is a window of h rows and w columns (the "
    "default stride is (h, w) too); only an int size means a square window"
)


def _valid_checks(image, kernel):
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    if image.ndim != 2 or kernel.ndim != 2 or kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        raise ValueError("bad shapes")
    return image, kernel


def _slide(padded, kernel, shape):
    out = np.empty(shape)
    kh, kw = kernel.shape
    for i in range(shape[0]):
        for j in range(shape[1]):
            out[i, j] = np.sum(padded[i : i + kh, j : j + kw] * kernel)
    return out


# -- conv2d: 'same' by three paddings, and the valid values left in an image-sized array ----------


def same_pytorch_split(image, kernel):
    """Total k - 1 per axis, the odd pixel after (PyTorch's and TensorFlow's 'same')."""
    image, kernel = _valid_checks(image, kernel)
    (kh, kw) = kernel.shape
    return _slide(np.pad(image, (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2))), kernel, image.shape)


def same_half_kernel_both_sides(image, kernel):
    """k // 2 zeros on every side: the image's size for odd kernels, one more for even ones."""
    image, kernel = _valid_checks(image, kernel)
    kh, kw = kernel.shape
    padded = np.pad(image, kh // 2 if kh == kw else ((kh // 2, kh // 2), (kw // 2, kw // 2)))
    return _slide(padded, kernel, (padded.shape[0] - kh + 1, padded.shape[1] - kw + 1))


def same_by_cropping_full(image, kernel):
    """The full correlation, cropped to the image's size around its centre (odd pixel before)."""
    image, kernel = _valid_checks(image, kernel)
    kh, kw = kernel.shape
    full = _slide(
        np.pad(image, ((kh - 1, kh - 1), (kw - 1, kw - 1))), kernel, (image.shape[0] + kh - 1, image.shape[1] + kw - 1)
    )
    top, left = kh // 2, kw // 2
    return full[top : top + image.shape[0], left : left + image.shape[1]]


def valid_values_in_zeros_like(image, kernel):
    """out = np.zeros_like(image), filled only where the kernel fits."""
    image, kernel = _valid_checks(image, kernel)
    kh, kw = kernel.shape
    out = np.zeros_like(image)
    out[: image.shape[0] - kh + 1, : image.shape[1] - kw + 1] = _slide(
        image, kernel, (image.shape[0] - kh + 1, image.shape[1] - kw + 1)
    )
    return out


@pytest.mark.parametrize(
    "student",
    [same_pytorch_split, same_half_kernel_both_sides, same_by_cropping_full, valid_values_in_zeros_like],
    ids=lambda f: f.__name__,
)
def test_a_same_size_conv2d_is_named(root, student):
    result = judged(root, "ps1", "conv2d", student)
    assert (result.cause.id, result.cause.specific) == ("same-size-output", True)
    assert causes(result) == [SAME_SIZE.format(function="conv2d")]


def test_a_same_size_convolve2d_is_named_with_its_own_name(root, refs):
    convolve2d = refs["ps1"]["convolve2d"]

    def student(image, kernel):
        kh, kw = np.shape(kernel)
        padded = np.pad(np.asarray(image, dtype=float), ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2)))
        return convolve2d(padded, kernel)

    result = judged(root, "ps1", "convolve2d", student)
    assert result.cause.id == "same-size-output"
    assert causes(result) == [SAME_SIZE.format(function="convolve2d")]


def test_a_full_size_conv2d_is_named_full_not_same(root):
    def student(image, kernel):
        image, kernel = _valid_checks(image, kernel)
        kh, kw = kernel.shape
        return _slide(
            np.pad(image, ((kh - 1, kh - 1), (kw - 1, kw - 1))),
            kernel,
            (image.shape[0] + kh - 1, image.shape[1] + kw - 1),
        )

    result = judged(root, "ps1", "conv2d", student)
    assert result.cause.id == "full-output"
    assert causes(result) == [FULL]


def test_an_image_sized_output_of_other_values_is_a_shape_hint_not_off_by_one(root, refs):
    """Image-sized, but not what any padding gives (one added to every value): named by its shape
    alone, also where a 2x2 kernel makes it one row and one column too many (not called off by one)."""

    def student(image, kernel):
        return same_pytorch_split(image, kernel) + 1.0

    result = judged(root, "ps1", "conv2d", student)
    assert (result.cause.id, result.cause.specific) == ("same-size-output", False)
    assert causes(result) == [SAME_SIZE.format(function="conv2d")]


def test_a_right_conv2d_and_a_flipped_one_get_no_same_size_cause(root, refs):
    conv2d = refs["ps1"]["conv2d"]
    assert judged(root, "ps1", "conv2d", conv2d).cause is None
    flipped = judged(root, "ps1", "conv2d", lambda image, kernel: conv2d(image, np.asarray(kernel)[::-1, ::-1]))
    assert flipped.cause.id == "flipped-kernel"
    assert all(
        d.id not in ("same-size-output", "full-output") for c in flipped.checks for g in c.groups for d in g.diagnoses
    )


# -- zero_pad: one side only (either side, or all of it on one), one amount on both sides ---------


def _pairs(padding):
    return ((padding, padding), (padding, padding)) if isinstance(padding, int) else padding


def _checked(image, padding):
    (t, b), (le, r) = _pairs(padding)
    if min(t, b, le, r) < 0:
        raise ValueError("negative padding")
    return np.asarray(image), (t, b), (le, r)


def pad_before_only(image, padding):
    image, (t, _), (le, _) = _checked(image, padding)
    out = np.zeros((image.shape[0] + t, image.shape[1] + le), dtype=image.dtype)
    out[t:, le:] = image
    return out


def pad_after_only(image, padding):
    image, (_, b), (_, r) = _checked(image, padding)
    return np.pad(image, ((0, b), (0, r)))


def pad_all_before(image, padding):
    """The right size, the image in the bottom-right corner."""
    image, (t, b), (le, r) = _checked(image, padding)
    out = np.zeros((image.shape[0] + t + b, image.shape[1] + le + r), dtype=image.dtype)
    out[t + b :, le + r :] = image
    return out


def pad_second_number_twice(image, padding):
    image, (_, b), (_, r) = _checked(image, padding)
    out = np.zeros((image.shape[0] + 2 * b, image.shape[1] + 2 * r), dtype=image.dtype)
    out[b : b + image.shape[0], r : r + image.shape[1]] = image
    return out


def pad_mean_both_sides(image, padding):
    """Half the axis's total on each side."""
    image, (t, b), (le, r) = _checked(image, padding)
    return np.pad(image, (((t + b) // 2,) * 2, ((le + r) // 2,) * 2))


def pad_top_for_everything(image, padding):
    image, (t, _), _ = _checked(image, padding)
    return np.pad(image, t)


@pytest.mark.parametrize(
    ("student", "cause", "line"),
    [
        (pad_before_only, "pad-one-side", ONE_SIDE),
        (pad_after_only, "pad-one-side", ONE_SIDE),
        (pad_all_before, "pad-one-side", ONE_SIDE),
        (pad_second_number_twice, "pad-same-both-sides", BOTH_SIDES),
        (pad_mean_both_sides, "pad-same-both-sides", BOTH_SIDES),
        (pad_top_for_everything, "pad-same-both-sides", BOTH_SIDES),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_a_lopsided_zero_pad_is_named(root, student, cause, line):
    result = judged(root, "ps2", "zero_pad", student)
    assert result.cause.id == cause
    assert causes(result) == [line]


@pytest.mark.parametrize("rows", [2, 3, 5])
def test_half_or_all_of_an_axis_total_on_both_sides_is_the_same_padding_on_both_sides(refs, rows):
    """((1, 4), (0, 0)) padded by 2, 3 or 5 on both sides of the rows: none of the padding's numbers."""
    zero_pad = refs["ps2"]["zero_pad"]
    image = np.arange(1, 7, dtype=np.int32).reshape(2, 3)
    case = Case("2x3 int32 image, ((1, 4), (0, 0))", (image, ((1, 4), (0, 0))))
    answer = np.pad(image, ((rows, rows), (0, 0)))
    assert [d.id for d in diagnose("zero_pad", refs["ps2"], case, answer, zero_pad(*case.args))] == [
        "pad-same-both-sides"
    ]


def test_the_older_padding_mistakes_keep_their_own_names(root, refs):
    """Swapped sides and swapped axes are not read as one-sided or same-both-sides padding."""
    zero_pad = refs["ps2"]["zero_pad"]

    def sides(image, padding):
        (t, b), (le, r) = _pairs(padding)
        return zero_pad(image, ((b, t), (r, le)))

    def axes(image, padding):
        rows, cols = _pairs(padding)
        return zero_pad(image, (cols, rows))

    assert judged(root, "ps2", "zero_pad", sides).cause.id == "pad-sides-swapped"
    assert judged(root, "ps2", "zero_pad", axes).cause.id == "pad-axes-swapped"
    assert judged(root, "ps2", "zero_pad", zero_pad).cause is None


# -- max_pool2d: the window from size's first or second entry ---------------------------------------


def _pair(v):
    return tuple(v) if isinstance(v, tuple | list) else (v, v)


def window_from_first(x, size=2, stride=None, *, ref=None):
    k = _pair(size)[0]
    return ref(x, (k, k), size if stride is None else stride)


def window_from_second_stride_too(x, size=2, stride=None, *, ref=None):
    k = _pair(size)[1]
    return ref(x, (k, k), (k, k) if stride is None else (_pair(stride)[1],) * 2)


def window_from_larger(x, size=2, stride=None, *, ref=None):
    k = max(_pair(size))
    return ref(x, k, size if stride is None else stride)


def window_from_first_stride_from_second(x, size=2, stride=None, *, ref=None):
    """Each pair read by another entry: the window from size[0], the stride (size by default) from [1]."""
    step = _pair(size if stride is None else stride)[1]
    return ref(x, _pair(size)[0], step)


@pytest.mark.parametrize(
    "student",
    [window_from_first, window_from_second_stride_too, window_from_larger, window_from_first_stride_from_second],
    ids=lambda f: f.__name__,
)
def test_a_square_pooling_window_is_named(root, refs, student):
    ref = refs["ps3"]["max_pool2d"]
    result = judged(root, "ps3", "max_pool2d", lambda x, size=2, stride=None: student(x, size, stride, ref=ref))
    assert result.cause.id == "pool-window-one-size"
    assert causes(result) == [ONE_WINDOW]


def test_a_stride_of_one_is_still_its_own_cause(root, refs):
    ref = refs["ps3"]["max_pool2d"]
    result = judged(
        root, "ps3", "max_pool2d", lambda x, size=2, stride=None: ref(x, size, 1 if stride is None else stride)
    )
    assert result.cause.id == "pool-stride-default"
    assert judged(root, "ps3", "max_pool2d", ref).cause is None


# -- the fixtures, graded by the sandboxed grader ---------------------------------------------------

FIXTURES = [
    ("ps1", "same-size-output", "conv2d", "same-size-output", SAME_SIZE.format(function="conv2d")),
    ("ps2", "pad-one-side", "zero_pad", "pad-one-side", ONE_SIDE),
    ("ps2", "pad-same-both-sides", "zero_pad", "pad-same-both-sides", BOTH_SIDES),
    ("ps3", "pool-window-one-size", "max_pool2d", "pool-window-one-size", ONE_WINDOW),
]


@pytest.fixture(scope="module")
def server():
    with WorkerServer() as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize(
    ("assignment", "behaviour", "function", "cause", "line"), FIXTURES, ids=[f[1] for f in FIXTURES]
)
def test_the_fixture_gets_the_one_cause(tmp_path, root, server, assignment, behaviour, function, cause, line):
    path = tmp_path / "submitted" / behaviour / assignment / f"{get_assignment(assignment).notebook}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(fixture_notebook(assignment, behaviour), path)
    ctx = grading.Context(root, get_assignment(assignment), grading.Limits(timeout=3, memory_mb=1024))
    try:
        result = grading.grade(ctx, Submission(behaviour, path), server)
    finally:
        ctx.close()
    exercises = {e.name: e for e in result.exercises if e.score is not None}
    wrong = exercises.pop(function)
    assert wrong.verdict.cause.id == cause
    assert [text.strip() for text in wrong.feedback.splitlines() if "likely cause" in text] == [line]
    assert {name: e.score for name, e in exercises.items()} == {name: e.max_score for name, e in exercises.items()}
