"""The result of grading one notebook, in the contract's JSON shape.

Each graded function's exercise carries its verdict (autograder.verdicts) besides the contract's
``feedback`` text: in JSON, ``groups``, ``cause``, ``problem`` and ``not_run`` (null for a question
graded by hand). Readers that need to know what happened read those, never the text.

Points are floats everywhere in JSON (a result's and an exercise's ``score`` and ``max_score``, the
points per test cell, a group's ``points`` and ``earned``), whatever type the arithmetic left them:
``17.0``, never ``17``. Counts (``size``, ``wrong``, ``not_run_more``) stay integers.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from autograder.verdicts import FunctionVerdict

#: The keys of an exercise's verdict in JSON (FunctionVerdict.to_dict).
VERDICT_KEYS = ("groups", "cause", "problem", "not_run", "not_run_more")


def _points(value: float | None) -> float | None:
    """Points as JSON always writes them: a float (17.0, never 17), or null for points not given yet."""
    return None if value is None else float(value)


@dataclass
class Exercise:
    name: str
    score: float | None
    max_score: float
    feedback: str  # the student's text, made from the verdict (autograder.feedback.words)
    cells: dict[str, float | None] = field(default_factory=dict)  # nbgrader grade id -> points
    # The first wrong array answer drawn (autograder.feedback.pictures), base64 PNG; None when there is none.
    figure: str | None = None
    verdict: FunctionVerdict | None = None  # None for a question graded by hand

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "verdict"}
        data.update(
            score=_points(self.score),
            max_score=_points(self.max_score),
            cells={cell: _points(points) for cell, points in self.cells.items()},
        )
        verdict = self.verdict.to_dict() if self.verdict is not None else dict.fromkeys(VERDICT_KEYS)
        if verdict["groups"] is not None:
            verdict["groups"] = [
                {**group, "points": _points(group["points"]), "earned": _points(group["earned"])}
                for group in verdict["groups"]
            ]
        return {**data, **verdict}

    @classmethod
    def from_dict(cls, data: dict) -> Exercise:
        """ValueError when `data` is not an exercise of this version (a damaged or older record)."""
        try:
            plain = {key: data[key] for key in ("name", "score", "max_score", "feedback")}
            plain.update(cells=dict(data.get("cells", {})), figure=data.get("figure"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not an exercise ({type(exc).__name__}: {exc})") from None
        groups = data.get("groups")
        verdict = None if groups is None else FunctionVerdict.from_dict(str(plain["name"]), data)
        return cls(**plain, verdict=verdict)


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

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {
            **data,
            "score": _points(self.score),
            "max_score": _points(self.max_score),
            "exercises": [e.to_dict() for e in self.exercises],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict) -> NotebookResult:
        try:
            exercises = [Exercise.from_dict(e) for e in data.get("exercises", [])]
            return cls(**{**data, "exercises": exercises})
        except (TypeError, AttributeError) as exc:
            raise ValueError(f"not a result ({type(exc).__name__}: {exc})") from None
