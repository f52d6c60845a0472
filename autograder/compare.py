"""Comparing what a student's function did with what the reference did, on one case.

Both sides are *outcomes*: the plain-data dicts made by :func:`autograder.sandbox.call_traced`.
The comparison never calls a method of a student's object: values arrive already decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder import sandbox

RTOL = 1e-6  # the notebooks' visible checks use the same tolerances
ATOL = 1e-9


@dataclass(frozen=True)
class Verdict:
    passed: bool
    detail: str = ""


def value_of(outcome: dict):
    """The returned value; one that does not decode (malformed data from the sandbox) stands as a
    foreign object, so it is judged wrong like any other unreadable answer."""
    try:
        return sandbox.decode(outcome["value"])
    except (ValueError, TypeError):
        return sandbox.Foreign("malformed value")


def describe(value) -> str:
    """A short description of a value for feedback (never the reference's full output)."""
    if isinstance(value, sandbox.Foreign):
        return f"a {value.type_name} object"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, np.generic):
        return f"numpy.{type(value).__name__} {number(value)}"
    if isinstance(value, float):
        return f"float {number(value)}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) < 60 else text[:57] + '...'}"


def compare(student: dict, reference: dict, result_kind: str, any_error: bool = False) -> Verdict:
    if reference["kind"] == "raised":
        expected = reference["exc_types"][0]
        if student["kind"] == "raised":
            names = student["exc_types"]
            refused = any_error and "Exception" in names and "NotImplementedError" not in names
            if expected in names or refused:
                return Verdict(True)
            want = "an exception" if any_error else expected
            return Verdict(False, f"expected {want}, got {names[0]}: {student['message'][:200]}")
        want = "an exception" if any_error else expected
        return Verdict(False, f"expected {want} to be raised, but it returned "
                              f"{describe(value_of(student))}")
    if student["kind"] == "raised":
        return Verdict(False, f"raised {student['exc_types'][0]}: {student['message'][:300]}")
    return compare_values(value_of(student), value_of(reference), result_kind)


def compare_values(actual, expected, result_kind: str) -> Verdict:
    if result_kind in ("float-array", "array", "exact-array"):
        return _compare_arrays(actual, expected, result_kind)
    if result_kind == "int":
        if type(actual) is not int:
            return Verdict(False, f"expected a Python int ({shown(expected)}), got {describe(actual)}")
        return _equal(actual, expected)
    if result_kind == "int-tuple":
        if type(actual) is not tuple:
            return Verdict(False, f"expected a tuple of ints {expected!r}, got {describe(actual)}")
        bad = [item for item in actual if not _is_int(item)]
        if bad:
            return Verdict(False, f"expected a tuple of ints {shown(expected)}, got {shown(actual)} "
                                  f"(contains {describe(bad[0])})")
        return _equal(tuple(int(item) for item in actual), expected)
    raise ValueError(f"unknown result kind {result_kind!r}")


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _equal(actual, expected) -> Verdict:
    if actual == expected:
        return Verdict(True)
    return Verdict(False, f"expected {shown(expected)}, got {shown(actual)}")


def shown(value) -> str:
    """Numbers and tuples of numbers written plainly (no numpy reprs, no float noise)."""
    if isinstance(value, tuple):
        inner = ", ".join(shown(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, int | float | complex | np.generic) and not isinstance(value, bool):
        return number(value)
    return repr(value)


def _compare_arrays(actual, expected: np.ndarray, result_kind: str) -> Verdict:
    if not isinstance(actual, np.ndarray):
        return Verdict(False, f"expected a numpy array of shape {expected.shape}, got {describe(actual)}")
    if actual.shape != expected.shape:
        return Verdict(False, f"expected shape {expected.shape}, got {actual.shape}")
    if actual.dtype.kind not in "biufc":
        return Verdict(False, f"expected numbers, got an array of dtype {actual.dtype}")
    if result_kind == "float-array" and actual.dtype.kind != "f":
        return Verdict(False, f"expected a float array, got dtype {actual.dtype} "
                              "(integer results truncate fractions)")
    if result_kind == "exact-array":
        if actual.dtype != expected.dtype:
            return Verdict(False, f"expected dtype {expected.dtype}, got {actual.dtype}")
        close = (actual == expected) | (np.isnan(actual) & np.isnan(expected)
                                        if actual.dtype.kind in "fc" else False)
    else:
        with np.errstate(all="ignore"):
            close = np.isclose(actual.astype(np.complex128 if actual.dtype.kind == "c" else np.float64),
                               expected, rtol=RTOL, atol=ATOL, equal_nan=True)
    close = np.asarray(close, dtype=bool)
    if close.all():
        return Verdict(True)
    position = tuple(int(i) for i in np.argwhere(~close)[0])
    wrong = int((~close).sum())
    return Verdict(False, f"values differ: first at index {position}, expected {_num(expected[position])}, "
                          f"got {_num(actual[position])} ({wrong} of {close.size} values wrong)")


def number(value) -> str:
    """A number as a person reads it: 0.611254, not 0.6112539999999999 or np.float64(0.611...)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | complex):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, complex):
        return f"{number(value.real)}{'+' if value.imag >= 0 else '-'}{number(abs(value.imag))}j"
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    if value == 0 or 1e-4 <= abs(value) < 1e9:
        return np.format_float_positional(value, precision=10, unique=True, trim="0", fractional=False)
    return np.format_float_scientific(value, precision=4, unique=True, trim="0")


def _num(value) -> str:
    return number(value)


def same_values(a, b) -> bool:
    """Loose equality used by the diagnoses: same shape and numerically equal, whatever the dtype."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape:
            return False
        if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
            return False
        return bool(np.allclose(a.astype(float), b.astype(float), rtol=1e-6, atol=1e-8, equal_nan=True))
    if isinstance(a, sandbox.Foreign) or isinstance(b, sandbox.Foreign):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False
