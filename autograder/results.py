"""The result of grading one notebook, in the contract's JSON shape."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass
class Exercise:
    name: str
    score: float | None
    max_score: float
    feedback: str
    cells: dict[str, float | None] = field(default_factory=dict)  # nbgrader grade id -> points
    # The first wrong array answer drawn (autograder.pictures), base64 PNG; None when there is none.
    figure: str | None = None


@dataclass
class NotebookResult:
    student: str
    assignment: str
    notebook: str
    path: str
    status: str  # "graded" or "error"
    error: str | None
    score: float
    max_score: float
    exercises: list[Exercise] = field(default_factory=list)
    sandbox: str = ""
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict) -> NotebookResult:
        exercises = [Exercise(**e) for e in data.get("exercises", [])]
        return cls(**{**data, "exercises": exercises})
