"""Comparison with the reference, and the diagnoses of classic mistakes."""

import numpy as np
import pytest

from autograder import compare, sandbox
from autograder.cases import Case
from autograder.diagnose import diagnose


def outcome(value):
    return sandbox.call_traced(lambda: value, (), {}, trace=False)


def raised(exc):
    def fail():
        raise exc
    return sandbox.call_traced(fail, (), {}, trace=False)


@pytest.mark.parametrize(("actual", "kind", "passed", "message"), [
    (np.ones((2, 2)), "float-array", True, ""),
    (np.ones((2, 2)) + 1e-12, "float-array", True, ""),
    (np.ones((2, 2), dtype=np.float32) * np.float32(1 + 3e-7), "float-array", True, ""),
    (np.ones((2, 2)) * (1 + 3e-6), "float-array", False, "values differ"),
    (np.ones((2, 3)), "float-array", False, "expected shape (2, 2), got (2, 3)"),
    (np.ones((2, 2), dtype=int), "float-array", False, "expected a float array"),
    (np.ones((2, 2), dtype=int), "array", True, ""),
    ([[1.0, 1.0], [1.0, 1.0]], "float-array", False, "expected a numpy array"),
    (np.array([[1.0, 1.0], [1.0, 2.0]]), "float-array", False, "first at index (1, 1), expected 1.0, got 2.0"),
])
def test_array_comparison(actual, kind, passed, message):
    verdict = compare.compare(outcome(actual), outcome(np.ones((2, 2))), kind)
    assert verdict.passed is passed and message in verdict.detail


def test_exact_arrays_need_the_dtype():
    expected = outcome(np.zeros((2, 2), dtype=np.uint8))
    assert not compare.compare(outcome(np.zeros((2, 2))), expected, "exact-array").passed
    assert compare.compare(outcome(np.zeros((2, 2), dtype=np.uint8)), expected, "exact-array").passed


def test_ints_must_be_python_ints_and_tuples_tuples():
    assert compare.compare(outcome(3), outcome(3), "int").passed
    assert "Python int" in compare.compare(outcome(3.0), outcome(3), "int").detail
    assert not compare.compare(outcome(np.int64(3)), outcome(3), "int").passed
    assert not compare.compare(outcome(True), outcome(1), "int").passed
    assert compare.compare(outcome((np.int64(1), 2)), outcome((1, 2)), "int-tuple").passed
    assert not compare.compare(outcome([1, 2]), outcome((1, 2)), "int-tuple").passed


def test_exceptions():
    expected = raised(ValueError("bad"))
    assert compare.compare(raised(ValueError("x")), expected, "int").passed
    assert not compare.compare(raised(TypeError("x")), expected, "int").passed
    assert compare.compare(raised(TypeError("x")), expected, "int", any_error=True).passed
    assert not compare.compare(raised(NotImplementedError()), expected, "int", any_error=True).passed
    assert "expected ValueError to be raised" in compare.compare(outcome(1), expected, "int").detail
    assert "raised KeyError" in compare.compare(raised(KeyError("k")), outcome(1), "int").detail


def test_diagnoses_name_classic_mistakes(refs):
    ps1 = refs["ps1"]
    image = np.arange(20.0).reshape(4, 5)
    kernel = np.array([[1.0, 2.0], [0.0, -1.0]])
    case = Case("x", (image, kernel))
    expected = ps1["conv2d"](image, kernel)
    flipped = ps1["conv2d"](image, kernel[::-1, ::-1])
    assert any("flipped kernel" in d for d in diagnose("conv2d", ps1, case, flipped, expected))
    assert any("off-by-one" in d for d in diagnose("conv2d", ps1, case, expected[:-1, :-1], expected))
    assert diagnose("conv2d", ps1, case, expected + 1, expected) == []
    pads = refs["ps2"]
    same = Case("n=8, k=4", (8, 4))
    assert any("wrong side" in d for d in diagnose("same_padding", pads, same, (2, 1), (1, 2)))
    pad_case = Case("p", (np.ones((2, 2), dtype=np.uint8), 1))
    wrong_dtype = pads["zero_pad"](np.ones((2, 2), dtype=np.uint8), 1).astype(float)
    assert any("dtype not kept" in d for d in diagnose("zero_pad", pads, pad_case, wrong_dtype,
                                                          pads["zero_pad"](*pad_case.args)))
