"""Hidden cases, per assignment and graded function (one module per assignment).

Every nbgrader test cell in source/ has a :class:`Check` here with the same grade id: a list of
:class:`Group`s whose points add up to the cell's points. A group scores its points when every
case in it agrees with the reference solution. Cases are generated from a seed derived from the
assignment (and, optionally, the student), so hidden values need not be shared between students.
Expected outputs are never stored: they are computed from the reference solution at grading time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

import numpy as np

#: How a function's return value is compared with the reference's (see autograder.compare).
RESULT_KINDS = ("float-array", "array", "exact-array", "int", "int-tuple")


@dataclass(frozen=True)
class Case:
    label: str
    args: tuple
    kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    title: str
    points: float
    build: Callable[[np.random.Generator], list[Case]]
    check_inputs: bool = False  # also require that array arguments come back unchanged
    any_error: bool = False  # bad input the contract does not fix an exception type for
    #: the notebook's visible examples: the same inputs as the visible test cell, which every student
    #: sees, so a right answer here is no evidence that the function works (autograder.judge)
    visible: bool = False


@dataclass(frozen=True)
class Check:
    """The cases behind one nbgrader test cell."""

    cell: str
    groups: tuple[Group, ...]

    @property
    def points(self) -> float:
        return sum(group.points for group in self.groups)


@dataclass(frozen=True)
class FunctionCases:
    function: str
    result: str
    checks: tuple[Check, ...]

    def __post_init__(self):
        if self.result not in RESULT_KINDS:
            raise ValueError(f"{self.function}: unknown result kind {self.result!r}")


@dataclass(frozen=True)
class BuiltCase:
    """A case with everything needed to run and judge it."""

    check: str
    group: int
    case: Case


def for_assignment(assignment: str) -> dict[str, FunctionCases]:
    """The graded functions' cases of an assignment, keyed by function name."""
    module = import_module(f"autograder.cases.{assignment}")
    return {spec.function: spec for spec in module.FUNCTIONS}


def function_cells(assignment: str, functions: tuple[str, ...], test_cells: list[str]) -> dict[str, tuple[str, ...]]:
    """Which test cells check each graded function: the cells its cases are behind, then the other
    test cells named after it (``test_<function>_...``, the visible checks), in `test_cells`' order.
    Decided by the course, never by where a cell sits in a student's notebook."""
    specs = for_assignment(assignment)
    return {
        name: tuple(dict.fromkeys([*(check.cell for check in specs[name].checks),
                                   *(c for c in test_cells if c.startswith(f"test_{name}_"))]))
        for name in functions
    }


def seed(assignment: str, cell: str, group: int, student: str | None = None, secret: bytes = b"") -> int:
    """The seed of one group's cases: from the course's secret (course.course_secret), so that the
    public source alone does not give the hidden inputs."""
    text = f"{assignment}/{cell}/{group}/{student or ''}"
    return int.from_bytes(hashlib.sha256(secret + text.encode()).digest()[:8], "big")


def build(assignment: str, spec: FunctionCases, student: str | None = None,
          cells: tuple[str, ...] | None = None, secret: bytes = b"") -> list[BuiltCase]:
    """All cases of a function (or of the named test cells only), in a fixed order."""
    built = []
    for check in spec.checks:
        if cells is not None and check.cell not in cells:
            continue
        for index, group in enumerate(check.groups):
            rng = np.random.default_rng(seed(assignment, check.cell, index, student, secret))
            built.extend(BuiltCase(check.cell, index, case) for case in group.build(rng))
    return built


def asymmetric(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """A random kernel that differs from each of its flips and its transpose, where those exist."""
    while True:
        kernel = np.round(rng.normal(size=shape), 3)
        variants = []
        if shape[0] > 1:
            variants.append(kernel[::-1, :])
        if shape[1] > 1:
            variants.append(kernel[:, ::-1])
        if shape[0] > 1 and shape[1] > 1:
            variants.append(kernel[::-1, ::-1])
        if shape[0] == shape[1] > 1:
            variants.append(kernel.T)
        if all(not np.allclose(kernel, variant) for variant in variants):
            return kernel
