"""Hidden cases for ps1 (convolution.ipynb): conv2d, convolve2d, conv1d."""

import numpy as np

from autograder.cases import Case, Check, FunctionCases, Group, asymmetric

CONTRACT_SIZES = ((8, 8), (12, 10), (10, 10), (12, 8))
SIZES_TITLE = "8x8, 12x10, 10x10 and 12x8 images with asymmetric 3x3 kernels"


def conv2d_visible(rng):
    # The same inputs as the notebook's visible checks (the grader compares with the reference).
    return [
        Case("6x6 arange with the 3x3 box", (np.arange(36).reshape(6, 6), np.full((3, 3), 1 / 9))),
        Case("5x7 ones with a 2x3 kernel of ones", (np.ones((5, 7)), np.ones((2, 3)))),
        Case("4x4 arange with [[1, 0], [0, -1]]",
             (np.arange(16).reshape(4, 4), np.array([[1, 0], [0, -1]]))),
        Case("a 4x4 kernel on a 3x3 image", (np.ones((3, 3)), np.ones((4, 4)))),
    ]


def contract_sizes(rng):
    return [
        Case(f"{h}x{w} float image, asymmetric 3x3 kernel",
             (np.round(rng.normal(size=(h, w)), 3), asymmetric(rng, (3, 3))))
        for h, w in CONTRACT_SIZES
    ]


def non_square_kernels(rng):
    shapes = (((7, 9), (2, 3)), ((9, 6), (3, 1)), ((5, 8), (1, 4)), ((10, 7), (5, 2)),
              ((4, 5), (4, 5)), ((6, 6), (1, 1)))
    return [
        Case(f"{image[0]}x{image[1]} image, {kernel[0]}x{kernel[1]} kernel",
             (np.round(rng.uniform(-1, 1, size=image), 3), asymmetric(rng, kernel)))
        for image, kernel in shapes
    ]


def integer_images(rng):
    bright = rng.integers(150, 256, size=(8, 8)).astype(np.uint8)
    return [
        Case("uint8 image (values 150-255) with an integer kernel: sums exceed 255",
             (bright, np.array([[2, 1, 0], [1, 3, 1], [0, 1, 2]]))),
        Case("uint8 image with a fractional kernel", (bright, np.full((2, 2), 0.3))),
        Case("int32 image with a kernel of thirds",
             (rng.integers(-50, 50, size=(12, 10)).astype(np.int32), np.full((3, 3), 1 / 3))),
        Case("int64 image with large values and an integer kernel",
             (rng.integers(10**6, 10**7, size=(10, 10)), np.array([[1, -2, 1], [0, 1, 0], [3, 0, -1]]))),
    ]


def conv2d_bad_input(rng):
    return [
        Case("1-D image", (np.ones(9), np.ones((3, 3)))),
        Case("3-D image", (np.ones((5, 5, 3)), np.ones((3, 3)))),
        Case("1-D kernel", (np.ones((5, 5)), np.ones(3))),
        Case("kernel taller than the image", (np.ones((3, 8)), np.ones((4, 2)))),
        Case("kernel wider than the image", (np.ones((8, 3)), np.ones((2, 4)))),
    ]


def unchanged_inputs(rng):
    image = rng.integers(0, 256, size=(10, 10)).astype(np.uint8)
    return [
        Case("uint8 image: inputs must come back unchanged", (image, asymmetric(rng, (3, 3)))),
        Case("float image and kernel: inputs must come back unchanged",
             (rng.normal(size=(12, 8)), asymmetric(rng, (2, 3)))),
    ]


def convolve2d_visible(rng):
    return [
        Case("4x4 arange with [[1, 0], [0, -1]]",
             (np.arange(16).reshape(4, 4), np.array([[1, 0], [0, -1]]))),
        Case("6x6 arange with the 3x3 box", (np.arange(36).reshape(6, 6), np.full((3, 3), 1 / 9))),
    ]


def convolve2d_mixed(rng):
    return [
        Case("9x7 float image, asymmetric 2x3 kernel", (rng.normal(size=(9, 7)), asymmetric(rng, (2, 3)))),
        Case("uint8 image, integer 3x3 kernel",
             (rng.integers(150, 256, size=(8, 9)).astype(np.uint8), np.array([[0, 1, 2], [3, 4, 5], [6, 7, 9]]))),
        Case("int32 image, 4x1 kernel", (rng.integers(-9, 9, size=(10, 6)).astype(np.int32),
                                         np.array([[1.0], [-2.0], [0.5], [3.0]]))),
    ]


def convolve2d_bad_input(rng):
    # Unlike scipy.signal.convolve2d, which swaps its inputs, a kernel larger along either axis is refused.
    return [
        Case("1-D image", (np.ones(9), np.ones((3, 3)))),
        Case("3-D image", (np.ones((4, 4, 2)), np.ones((3, 3)))),
        Case("kernel taller but narrower than the image", (np.ones((3, 8)), np.ones((4, 2)))),
        Case("kernel wider but shorter than the image", (np.ones((8, 3)), np.ones((2, 4)))),
    ]


def conv1d_visible(rng):
    signal, kernel = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 0.0, -1.0])
    return [
        Case("full mode", (signal, kernel)),
        Case("same mode", (signal, kernel, "same")),
        Case("valid mode", (signal, kernel, "valid")),
        Case("mode='circular'", (signal, kernel, "circular")),
    ]


def conv1d_modes(rng):
    cases = []
    for n, k in ((7, 1), (7, 2), (8, 3), (10, 4), (9, 5), (6, 6)):
        signal, kernel = np.round(rng.normal(size=n), 3), np.round(rng.normal(size=k), 3)
        for mode in ("full", "same", "valid"):
            cases.append(Case(f"signal of {n}, kernel of {k}, mode={mode!r}", (signal, kernel, mode)))
    return cases


def conv1d_swap(rng):
    cases = []
    for n, k in ((3, 7), (4, 6), (2, 5)):
        signal, kernel = np.round(rng.normal(size=n), 3), np.round(rng.normal(size=k), 3)
        for mode in ("full", "same", "valid"):
            cases.append(Case(f"kernel of {k} longer than signal of {n}, mode={mode!r}",
                              (signal, kernel, mode)))
    return cases


def conv1d_integers(rng):
    return [
        Case("integer signal and kernel, full", (rng.integers(-5, 6, size=9), np.array([1, -2, 3]))),
        Case("integer signal and kernel, same, even kernel",
             (rng.integers(-5, 6, size=8), np.array([2, -1, 0, 4]))),
    ]


def conv1d_bad_input(rng):
    return [
        Case("mode='wrap'", (np.ones(5), np.ones(2), "wrap")),
        Case("mode='FULL' (modes are lower case)", (np.ones(5), np.ones(2), "FULL")),
    ]


FUNCTIONS = (
    FunctionCases("conv2d", "float-array", (
        Check("test_conv2d_hidden", (
            Group("the notebook's visible examples", 2, conv2d_visible, visible=True),
            Group(SIZES_TITLE, 2, contract_sizes),
            Group("non-square kernels", 1, non_square_kernels),
            Group("integer and uint8 images (no truncation, no wrap-around)", 1, integer_images),
            Group("bad input raises ValueError", 1, conv2d_bad_input),
            Group("inputs are never modified", 1, unchanged_inputs, check_inputs=True),
        )),
    )),
    FunctionCases("convolve2d", "float-array", (
        Check("test_convolve2d_hidden", (
            Group("the notebook's visible examples", 1, convolve2d_visible, visible=True),
            Group(SIZES_TITLE, 1.5, contract_sizes),
            Group("non-square kernels and integer images", 1, convolve2d_mixed),
            Group("bad input (not 2-D, kernel larger along an axis) raises ValueError", 0.5,
                  convolve2d_bad_input),
        )),
    )),
    FunctionCases("conv1d", "array", (
        Check("test_conv1d_hidden", (
            Group("the notebook's visible examples", 1, conv1d_visible, visible=True),
            Group("odd and even kernels in every mode", 2, conv1d_modes),
            Group("a kernel longer than the signal (numpy swaps them)", 1, conv1d_swap),
            Group("integer inputs", 0.5, conv1d_integers),
            Group("an unknown mode raises ValueError", 0.5, conv1d_bad_input),
        )),
    )),
)
