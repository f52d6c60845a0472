"""The feedback picture: input, expected, the student's output and the difference, drawn at true size.

The colours are checked pixel by pixel against matplotlib's own RdBu_r (the same ColorBrewer
anchors, an independent implementation of the scale) applied to values these tests compute from
the arrays themselves; the picture's layout only says where to look.
"""

import base64
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from autograder import compare
from autograder.feedback import pictures
from tests.conftest import fixture_notebook, submit

RDBU = colormaps["RdBu_r"].resampled(pictures.LEVELS)
FRAME = np.array(pictures.FRAME)
GREY = np.array(pictures.NONFINITE)


def decoded(png: bytes) -> np.ndarray:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def scale_colour(values, peak: float) -> np.ndarray:
    """RGB of `values` on a red (+peak) - white (0) - blue (-peak) scale, by matplotlib."""
    return np.asarray(RDBU((np.asarray(values, dtype=float) / peak + 1.0) / 2.0, bytes=True))[..., :3].astype(int)


def peak(*arrays) -> float:
    finite = np.concatenate([np.abs(np.ravel(a)[np.isfinite(np.ravel(a))]) for a in arrays])
    return float(finite.max()) if finite.size and finite.max() > 0 else 1.0


def first_wrong(expected, actual):
    """The first wrong value's index, as the comparison hands it to the verdict (None when the
    shapes differ)."""
    failure = compare.compare_values(actual, expected, "float-array").failure
    return None if failure is None else failure.index


def drawn(label, inputs, expected, actual):
    """The decoded picture and where its layout put each panel."""
    index = first_wrong(expected, actual)
    png = pictures.failure_png(label, inputs, expected, actual, index)
    plan = pictures.layout(label if expected.shape == actual.shape else f"{label} (the shapes differ)",
                           pictures.panels(inputs, expected, actual, index))
    picture = decoded(png)
    assert picture.shape[:2] == (plan.height, plan.width)
    return picture, plan.places


def element_colours(picture, place, shape) -> np.ndarray:
    """The pixel at the centre of every array element of the panel at `place`."""
    rows, columns = (1, shape[0]) if len(shape) == 1 else shape
    p = place.pixels
    ys = place.top + np.arange(rows) * p + p // 2
    xs = place.left + np.arange(columns) * p + p // 2
    return picture[np.ix_(ys, xs)]


def assert_framed(picture, place, shape):
    """A one-pixel frame lies just outside rows x columns squares of `pixels` each, and not inside."""
    rows, columns = (1, shape[0]) if len(shape) == 1 else shape
    top, left = place.top, place.left
    bottom, right = top + rows * place.pixels, left + columns * place.pixels
    for y, x in [(top - 1, left), (bottom, right - 1), (top, left - 1), (bottom - 1, right)]:
        assert (picture[y, x] == FRAME).all(), (y, x, picture[y, x])
    for y, x in [(top, left), (bottom - 1, right - 1)]:
        assert not (picture[y, x] == FRAME).all(), (y, x)


def assert_colours(found, values, scale_peak):
    want = scale_colour(values, scale_peak).reshape(found.shape)
    assert np.abs(found - want).max() <= 1, (found, want)


RNG = np.random.default_rng(7)
IMAGE = RNG.normal(size=(7, 9)) * 3
KERNEL = RNG.normal(size=(3, 3))
EXPECTED_2D = RNG.normal(size=(5, 7)) * 4
WRONG_2D = EXPECTED_2D + np.where(RNG.random((5, 7)) < 0.3, RNG.normal(size=(5, 7)), 0.0)
SIGNAL = np.linspace(-2, 3, 9)
X4 = RNG.normal(size=(2, 3, 6, 6))
EXPECTED_4D = RNG.normal(size=(2, 4, 4, 4))
WRONG_4D = EXPECTED_4D.copy()
WRONG_4D[1, 2, 3, 0] += 2.0  # the first wrong plane, the one drawn
WRONG_4D[1, 3, 0, 1] -= 1.0

CASES = {
    "2-D": ((IMAGE, KERNEL), EXPECTED_2D, WRONG_2D, (), ()),
    "1-D": ((SIGNAL, np.ones(3)), np.convolve(SIGNAL, [1, 2, 3]), np.convolve(SIGNAL, [3, 2, 1]), (), ()),
    "4-D": ((X4, RNG.normal(size=(4, 3, 3, 3))), EXPECTED_4D, WRONG_4D, (1, 2), (1, 2)),
    "shapes differ": ((IMAGE, KERNEL), EXPECTED_2D, RNG.normal(size=(7, 9)), (), ()),
    "transposed": ((IMAGE, KERNEL), EXPECTED_2D, EXPECTED_2D.T.copy(), (), ()),
}


@pytest.mark.parametrize("case", ["shapes differ", "transposed"])
def test_the_caption_says_when_the_shapes_differ(case):
    inputs, expected, actual, _, _ = CASES[case]
    chosen = pictures.panels(inputs, expected, actual)
    label = "conv2d: a case"
    assert [p.name for p in chosen] == ["input", "expected", "your output"]  # no difference panel
    shown = pictures._render(f"{label} (the shapes differ)", chosen, pictures.layout(f"{label} (the shapes differ)",
                                                                                     chosen))
    assert decoded(pictures.failure_png(label, inputs, expected, actual)).tolist() == decoded(shown).tolist()


@pytest.mark.parametrize("case", CASES)
def test_every_element_has_its_values_colour_in_every_panel(case):
    inputs, expected, actual, lead, input_lead = CASES[case]
    picture, places = drawn(case, inputs, expected, actual)
    want, got = expected[lead], actual[lead]
    arrays = [(inputs[0][input_lead], peak(inputs[0][input_lead])), (want, peak(want, got)), (got, peak(want, got))]
    if want.shape == got.shape:
        arrays.append((got - want, peak(got - want)))
    assert len(places) == len(arrays)
    longest = max(max(a.shape) for a, _ in arrays)
    for place, (values, scale_peak) in zip(places, arrays, strict=True):
        assert place.pixels == min(max(pictures.TARGET // longest, 3), 24)
        assert_framed(picture, place, values.shape)
        assert_colours(element_colours(picture, place, values.shape), values, scale_peak)


def test_expected_and_yours_share_one_scale():
    expected = np.full((3, 4), 2.0)
    actual = np.full((3, 4), 8.0)
    actual[1, 1] = 2.0
    picture, (want, got, diff) = drawn("shared", (), expected, actual)
    mine, theirs = element_colours(picture, got, actual.shape), element_colours(picture, want, expected.shape)
    assert (theirs[1, 1] == mine[1, 1]).all()  # equal values, equal colours
    assert_colours(theirs, expected, 8.0)  # 2 on a scale to 8: a light red, not the darkest
    assert np.abs(theirs[0, 0] - scale_colour(8.0, 8.0)).max() > 60


def test_the_difference_is_yours_minus_expected():
    expected = np.zeros((3, 3))
    actual = expected.copy()
    actual[0, 0], actual[2, 2] = 4.0, -1.0
    picture, (_, _, diff) = drawn("sign", (), expected, actual)
    colours = element_colours(picture, diff, (3, 3))
    red, _, blue = colours[0, 0]
    assert red > 90 and blue < 40  # yours above expected: dark red
    red, _, blue = colours[2, 2]
    assert blue > red + 30  # yours below expected: blue (a quarter of the scale)
    assert (colours[1, 1] > 240).all()  # equal: white


def test_values_that_are_not_finite_are_grey_and_named_in_a_legend():
    expected = np.arange(12.0).reshape(3, 4) - 5
    actual = expected.copy()
    actual[0, 1], actual[1, 2], actual[2, 3] = np.nan, np.inf, -np.inf
    picture, (want, got, diff) = drawn("nan", (), expected, actual)
    for place in (got, diff):
        colours = element_colours(picture, place, (3, 4))
        grey = (colours == GREY).all(axis=-1)
        assert grey.tolist() == np.isin(np.arange(12).reshape(3, 4), [1, 6, 11]).tolist()
    assert_colours(element_colours(picture, want, (3, 4)), expected, peak(expected))
    # Grey is no colour of the scale, so it cannot be read as a value.
    assert np.abs(scale_colour(np.linspace(-1, 1, 1001), 1.0) - GREY).sum(axis=-1).min() > 60
    # The legend's grey swatch, below the panels, only when something is grey.
    bottom = max(p.top + p.bar_height for p in (want, got, diff))
    assert (picture[bottom:] == GREY).all(axis=-1).sum() >= 50
    below_ticks = picture[bottom + pictures.TICK_SIZE:, pictures.MARGIN + pictures.TITLE_SIZE + 2:]
    assert (below_ticks < 100).all(axis=-1).sum() > 100  # and its words beside it
    finite_picture, _ = drawn("finite", (), expected, expected + 1)
    assert not (finite_picture == GREY).all(axis=-1).any()


def test_colour_bars_run_from_plus_to_minus_peak_with_ticks_at_round_values():
    expected = np.linspace(-3, 7, 24).reshape(4, 6)
    actual = expected * 0.5
    picture, places = drawn("bars", (), expected, actual)
    for place, scale_peak in zip(places, (7.0, 7.0, peak(actual - expected)), strict=True):
        h = place.bar_height
        middles = scale_peak * (1 - 2 * (np.arange(h) + 0.5) / h)
        column = picture[place.top:place.top + h, place.bar_left + pictures.BAR_WIDTH // 2]
        assert_colours(column, middles, scale_peak)
        assert place.ticks and 0.0 in place.ticks
        for value in place.ticks:
            y = place.top + round((1 - value / scale_peak) / 2 * (h - 1))
            assert (picture[y, place.bar_left + pictures.BAR_WIDTH + 1] == FRAME).all(), value


@pytest.mark.parametrize(("top", "room", "want"), [
    (7.0, 200, [-6, -4, -2, 0, 2, 4, 6]),
    (7.0, 48, [-5, 0, 5]),
    (4.9, 48, [-4, 0, 4]),
    (10.0, 200, [-10, -5, 0, 5, 10]),
    (1.9, 200, [-1.5, -1, -0.5, 0, 0.5, 1, 1.5]),
    (1.9, 48, [-1, 0, 1]),
    (1.9, 90, [-1, 0, 1]),
    (0.034, 200, [-0.03, -0.02, -0.01, 0, 0.01, 0.02, 0.03]),
    (1.0, 48, [-1, 0, 1]),
    (2500.0, 120, [-2000, -1000, 0, 1000, 2000]),
])
def test_ticks_are_round_symmetric_and_inside_the_bar(top, room, want):
    assert pictures.ticks(top, room) == pytest.approx(want)


def test_tick_labels_are_short():
    assert [pictures.tick_text(v) for v in (0.0, -0.5, 0.03, 2000.0, 1.5e-7)] == ["0", "-0.5", "0.03", "2000",
                                                                                   "1.5e-07"]


def test_every_element_is_the_same_square_in_every_panel():
    """Found without the layout: the saturated red squares are all the same size."""
    from scipy import ndimage

    image = np.zeros((6, 6))
    image[5, 5] = 5.0
    expected = np.zeros((4, 4))
    actual = expected.copy()
    actual[2, 1] = 3.0
    picture = decoded(pictures.failure_png("case", (image, np.ones((3, 3))), expected, actual))
    darkest = scale_colour(1.0, 1.0)
    labels, count = ndimage.label((np.abs(picture - darkest) <= 1).all(axis=-1))
    boxes = [(s[0].stop - s[0].start, s[1].stop - s[1].start) for s in ndimage.find_objects(labels)]
    squares = [box for box in boxes if box[1] > pictures.BAR_WIDTH]
    side = min(pictures.TARGET // 6, 24)
    assert len(squares) == 3, boxes
    assert all(box == (side, side) for box in squares), squares


def test_the_picture_widens_with_the_arrays():
    small = pictures.failure_png("s", (np.ones((8, 8)),), np.zeros((6, 6)), np.ones((6, 6)))
    wide = pictures.failure_png("w", (np.ones((8, 30)),), np.zeros((6, 28)), np.ones((6, 28)))
    assert decoded(wide).shape[1] > decoded(small).shape[1]


def test_four_dimensional_results_show_the_plane_with_the_first_wrong_value():
    expected = np.zeros((2, 3, 4, 4))
    expected[0, 0, 0, 0] = np.nan  # NaN where the answer has NaN too: right, as the comparison judges it
    actual = expected.copy()
    actual[1, 2, 0, 3] = 1.0
    index = first_wrong(expected, actual)
    assert index == (1, 2, 0, 3) and pictures._leading_index(expected, index) == (1, 2)
    assert [p.name for p in pictures.panels((np.ones((2, 1, 5, 5)),), expected, actual, index)] == [
        "input[1, 0]", "expected[1, 2]", "your output[1, 2]", "yours - expected"]
    # without the verdict's index (the shapes differ, say): the first plane
    assert [p.name for p in pictures.panels((), expected, actual)][:2] == ["expected[0, 0]", "your output[0, 0]"]


def test_panel_titles_give_the_shape():
    one, two = pictures.panels((), np.zeros(9), np.ones(9)), pictures.panels((), np.zeros((5, 7)), np.ones((5, 7)))
    assert {p.shape_text for p in one} == {"length 9"} and {p.shape_text for p in two} == {"5x7"}
    row = pictures.panels((np.zeros((1, 6)),), np.zeros((1, 4)), np.ones((1, 4)))
    assert [p.shape_text for p in row] == ["1x6", "1x4", "1x4", "1x4"]


def test_nothing_to_draw_for_non_arrays_and_other_ranks():
    assert pictures.failure_png("x", (), 3, 4) is None
    assert pictures.failure_png("x", (), np.zeros((2, 2)), np.zeros(4)) is None
    assert pictures.failure_png("x", (), np.zeros((2, 2)), np.array(["a"])) is None


def test_base64_form_round_trips():
    text = pictures.failure_png_base64("b", (), np.zeros(5), np.ones(5))
    assert decoded(base64.b64decode(text)).shape[1] > 5 * pictures.LARGEST


def test_pictures_drawn_in_many_threads_at_once_are_the_ones_drawn_alone():
    from concurrent.futures import ThreadPoolExecutor

    jobs = [(case, inputs, expected, actual) for case, (inputs, expected, actual, _, _) in CASES.items()] * 6
    alone = [pictures.failure_png(*job) for job in jobs]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda job: pictures.failure_png(*job), jobs))
    assert together == alone


def test_pillow_waits_for_the_first_picture():
    """A run where every answer is right never pays for importing Pillow."""
    look = ("import sys; from autograder.feedback import pictures; before = 'PIL' in sys.modules; "
            "pictures.failure_png('x', (), pictures.np.zeros(3), pictures.np.ones(3)); "
            "print(before, 'PIL' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", look], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["False", "True"], done.stderr


GRADE_AND_LOOK = """
import json, sys
import numpy as np
from autograder import cli
from autograder.feedback import pictures
assert pictures.failure_png("x", (), np.zeros((3, 3)), np.ones((3, 3)))
code = cli.main(["grade", "ps1", "--json", "--no-gradebook"])
print(json.dumps({"code": code, "matplotlib": sorted(m for m in sys.modules if m.split(".")[0] == "matplotlib")}))
"""


@pytest.mark.slow
def test_grading_a_failing_submission_never_imports_matplotlib(course):
    submit(course, "ben", fixture_notebook("ps1", "flipped-kernel"))
    done = subprocess.run([sys.executable, "-c", GRADE_AND_LOOK], cwd=course, capture_output=True, text=True,
                          timeout=300)
    *results, last = [json.loads(line) for line in done.stdout.splitlines()]
    assert last == {"code": 0, "matplotlib": []}, done.stderr[-3000:]
    (result,) = results
    figures = {e["name"]: e["figure"] for e in result["exercises"] if e["figure"]}
    assert "conv2d" in figures  # the flipped kernel's picture was drawn in this process
    decoded(base64.b64decode(figures["conv2d"]))


def test_an_answer_far_larger_than_expected_is_not_drawn():
    """The student decides how large a wrong answer is; drawing it costs memory and time per element
    (red team: a (1, 3000000) answer took the grader 5 GB and a minute). Past 16 times the expected
    extent it is not drawn; an answer a few elements off still is."""
    import time

    expected = np.arange(16.0).reshape(4, 4)
    start = time.perf_counter()
    assert pictures.failure_png("huge", (), expected, np.zeros((1, 3_000_000), np.uint8)) is None
    assert pictures.failure_png("long", (), expected, np.zeros((4, 129))) is None
    assert time.perf_counter() - start < 1.0
    assert pictures.failure_png("near", (), expected, np.zeros((5, 5))) is not None
