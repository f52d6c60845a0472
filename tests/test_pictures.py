"""The feedback picture: input, expected, the student's output and the difference, drawn at true size."""

import base64
import io

import numpy as np
from matplotlib.image import imread

from autograder import pictures


def decoded(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(io.BytesIO(png))


def test_every_element_is_the_same_square_in_every_panel():
    from scipy import ndimage

    image = np.zeros((6, 6))
    image[5, 5] = 5.0
    expected = np.zeros((4, 4))
    actual = expected.copy()
    actual[2, 1] = 3.0
    picture = decoded(pictures.failure_png("case", (image, np.ones((3, 3))), expected, actual))
    # Saturated red squares: the input's peak, the wrong element in "your output" and in the difference.
    red = (picture[..., 0] > 0.35) & (picture[..., 1] < 0.1) & (picture[..., 2] < 0.2)
    labels, count = ndimage.label(red)
    boxes = [(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in ndimage.find_objects(labels)]
    squares = [box for box in boxes if box[1] > 12]  # colour bars are 10 pixels wide
    side = min(pictures.TARGET // 6, 24)
    assert len(squares) == 3, boxes
    assert all(abs(h - side) <= 1 and abs(w - side) <= 1 for h, w in squares), squares


def test_the_picture_widens_with_the_arrays():
    small = pictures.failure_png("s", (np.ones((8, 8)),), np.zeros((6, 6)), np.ones((6, 6)))
    wide = pictures.failure_png("w", (np.ones((8, 30)),), np.zeros((6, 28)), np.ones((6, 28)))
    assert decoded(wide).shape[1] > decoded(small).shape[1]


def test_four_dimensional_results_show_the_plane_with_the_first_wrong_value():
    expected = np.zeros((2, 3, 4, 4))
    actual = expected.copy()
    actual[1, 2, 0, 0] = 1.0
    assert pictures._leading_index(expected, actual) == (1, 2)
    assert pictures.failure_png("4-D", (np.ones((2, 1, 5, 5)),), expected, actual) is not None


def test_nothing_to_draw_for_non_arrays_and_other_ranks():
    assert pictures.failure_png("x", (), 3, 4) is None
    assert pictures.failure_png("x", (), np.zeros((2, 2)), np.zeros(4)) is None
    assert pictures.failure_png("x", (), np.zeros((2, 2)), np.array(["a"])) is None


def test_base64_form_round_trips():
    text = pictures.failure_png_base64("b", (), np.zeros(5), np.ones(5))
    decoded(base64.b64decode(text))
