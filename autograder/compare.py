"""Comparing what a student's function did with what the reference did, on one case.

Both sides are :class:`~autograder.verdicts.CaseOutcome`s, decoded once from the sandbox's wire
form (a caller holding the wire form may pass it as it is: it is decoded here). The comparison never
calls a method of a student's object. A failed comparison is a typed
:class:`~autograder.verdicts.Failure` (kind, expected and actual summaries, the first wrong index):
no sentence is made here (autograder.feedback makes them).

The tolerances of every comparison of values, here and in the diagnoses, are :data:`RTOL` and
:data:`ATOL` (the notebooks' visible checks use the same; tests/test_compare.py checks they agree).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from autograder.verdicts import CaseOutcome, Failure, FailureKind, Summary, student_text

RTOL = 1e-6
ATOL = 1e-9
#: The significant digits of a float shown to a person (compare.number), wherever it is shown.
DIGITS = 6


@dataclass(frozen=True)
class Verdict:
    passed: bool
    failure: Failure | None = None  # why it failed (without the case: the judge adds that)


def outcome_of(outcome) -> CaseOutcome:
    """`outcome` decoded (a CaseOutcome is returned as it is)."""
    return outcome if isinstance(outcome, CaseOutcome) else CaseOutcome.from_wire(outcome)


def compare(student, reference, result_kind: str, any_error: bool = False) -> Verdict:
    student, reference = outcome_of(student), outcome_of(reference)
    if not reference.returned:
        expected = reference.raised
        want = "" if any_error else expected
        if not student.returned:
            names = student.exc_types
            refused = any_error and "Exception" in names and "NotImplementedError" not in names
            if expected in names or refused:
                return Verdict(True)
            return Verdict(
                False,
                Failure(
                    FailureKind.WRONG_EXCEPTION,
                    exception=want,
                    raised=student_text(names[0]),
                    message=student_text(student.message, 200),
                ),
            )
        return Verdict(False, Failure(FailureKind.NOT_RAISED, exception=want, actual=Summary.of(student.value)))
    if not student.returned:
        return Verdict(
            False,
            Failure(
                FailureKind.RAISED, raised=student_text(student.raised), message=student_text(student.message, 300)
            ),
        )
    return compare_values(student.value, reference.value, result_kind)


def compare_values(actual, expected, result_kind: str) -> Verdict:
    if result_kind in ("float-array", "array", "exact-array"):
        return _compare_arrays(actual, expected, result_kind)
    if result_kind == "int":
        if type(actual) is not int:
            return _failed(FailureKind.NOT_INT, expected, actual)
        return _equal(actual, expected)
    if result_kind == "int-tuple":
        if type(actual) is not tuple:
            return _failed(FailureKind.NOT_TUPLE, expected, actual)
        bad = [item for item in actual if not _is_int(item)]
        if bad:
            return Verdict(
                False,
                Failure(
                    FailureKind.NOT_INTS,
                    expected=Summary.of(expected),
                    actual=Summary.of(actual),
                    bad=Summary.of(bad[0]),
                ),
            )
        return _equal(tuple(int(item) for item in actual), expected)
    raise ValueError(f"unknown result kind {result_kind!r}")


def _failed(kind: FailureKind, expected, actual, **more) -> Verdict:
    return Verdict(False, Failure(kind, expected=Summary.of(expected), actual=Summary.of(actual), **more))


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _equal(actual, expected) -> Verdict:
    if actual == expected:
        return Verdict(True)
    return _failed(FailureKind.UNEQUAL, expected, actual)


def shown(value, digits: int = DIGITS) -> str:
    """Numbers and tuples of numbers written plainly (no numpy reprs, no float noise): :func:`number`."""
    if isinstance(value, tuple):
        inner = ", ".join(shown(item, digits) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, int | float | complex | np.generic) and not isinstance(value, bool):
        return number(value, digits)
    return repr(value)


def _compare_arrays(actual, expected: np.ndarray, result_kind: str) -> Verdict:
    if not isinstance(actual, np.ndarray):
        return _failed(FailureKind.NOT_ARRAY, expected, actual)
    if actual.shape != expected.shape:
        return _failed(FailureKind.SHAPE, expected, actual)
    if actual.dtype.kind not in "biufc":
        return _failed(FailureKind.NOT_NUMBERS, expected, actual)
    if result_kind == "float-array" and actual.dtype.kind != "f":
        return _failed(FailureKind.NOT_FLOAT, expected, actual)
    if result_kind == "exact-array":
        if actual.dtype != expected.dtype:
            return _failed(FailureKind.DTYPE, expected, actual)
        close = (actual == expected) | (np.isnan(actual) & np.isnan(expected) if actual.dtype.kind in "fc" else False)
    else:
        with np.errstate(all="ignore"):
            close = np.isclose(
                actual.astype(np.complex128 if actual.dtype.kind == "c" else np.float64),
                expected,
                rtol=RTOL,
                atol=ATOL,
                equal_nan=True,
            )
    close = np.asarray(close, dtype=bool)
    if close.all():
        return Verdict(True)
    position = tuple(int(i) for i in np.argwhere(~close)[0])
    want, got = _apart(expected[position], actual[position])
    return Verdict(
        False,
        Failure(
            FailureKind.VALUES,
            expected=want,
            actual=got,
            index=position,
            wrong=int((~close).sum()),
            size=int(close.size),
        ),
    )


def _apart(expected, actual) -> tuple[Summary, Summary]:
    """The summaries of two numbers shown side by side, written so that they read apart."""
    texts = shown_apart(expected, actual)
    summaries = Summary.of(expected), Summary.of(actual)
    return tuple(
        dataclasses.replace(
            summary,
            shown=student_text(text),
            repr=student_text(text) if summary.kind in ("numpy", "float") else summary.repr,
        )
        for summary, text in zip(summaries, texts, strict=True)
    )


def number(value, digits: int = DIGITS) -> str:
    """A number as a person reads it, the one style of every value the feedback shows: an int as
    it is (3); a float with `digits` significant digits, never fewer than its integer part has,
    trailing zeros dropped but one decimal kept (0.611254, 2.46076, 9069596.0, 3.0), in scientific
    notation below 1e-4 and from 1e9 (1.0e-12, 2.5e+12); never a numpy repr (np.float64(...))."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | complex):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, complex):
        real, imag = number(value.real, digits), number(abs(value.imag), digits)
        return f"{real}{'+' if value.imag >= 0 else '-'}{imag}j"
    if value != value or value in (float("inf"), float("-inf")):
        return repr(value)
    if value == 0 or 1e-4 <= abs(value) < 1e9:
        whole = abs(value) >= 10**digits  # keep every digit of the integer part
        return np.format_float_positional(
            value, precision=0 if whole else digits, unique=True, trim="0", fractional=whole
        )
    return np.format_float_scientific(value, precision=digits - 1, unique=True, trim="0")


def shown_apart(expected, actual) -> tuple[str, str]:
    """Two values shown side by side (expected, got): in the one style, with the fewest more
    digits that tell them apart where they differ but would read the same (1.0 and 1.000002)."""
    for digits in range(DIGITS, 18):
        texts = shown(expected, digits), shown(actual, digits)
        if texts[0] != texts[1] or same_values(expected, actual):
            return texts
    return texts


def same_values(a, b) -> bool:
    """The equality of the diagnoses: same shape and numerically equal (within RTOL and ATOL),
    whatever the dtype."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape:
            return False
        if a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
            return False
        return bool(np.allclose(a.astype(float), b.astype(float), rtol=RTOL, atol=ATOL, equal_nan=True))
    from autograder.sandbox import wire

    if isinstance(a, wire.Foreign) or isinstance(b, wire.Foreign):
        return False
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False
