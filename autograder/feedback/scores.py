"""The score table `python -m autograder grade` prints (without ``--json``)."""

from __future__ import annotations

from collections.abc import Iterable

from autograder.results import NotebookResult


def format_table(results: Iterable[NotebookResult], hand_grades: dict[str, dict[str, float]] | None = None) -> str:
    """A per-student, per-function score table; questions graded by hand in the formgrader show
    their grade (and count in the total); reasons for errors follow the table in full."""
    results = list(results)
    if not results:
        return "no results"
    hand_grades = hand_grades or {}
    names = [e.name for e in results[0].exercises]
    header = ["student", *names, "total", "status"]
    rows, reasons = [], []
    for result in sorted(results, key=lambda r: (r.student, r.path)):
        scores = {e.name: e for e in result.exercises}
        by_hand = hand_grades.get(result.student, {}) if result.status == "graded" else {}
        total = result.score
        cells = [result.student]
        for name in names:
            exercise = scores.get(name)
            if exercise is None:
                cells.append("")
            elif exercise.score is None and name in by_hand:
                cells.append(f"{by_hand[name]:g}/{exercise.max_score:g}")
                total += by_hand[name]
            elif exercise.score is None:
                cells.append(f"-/{exercise.max_score:g}")
            else:
                cells.append(f"{exercise.score:g}/{exercise.max_score:g}")
        cells += [f"{round(total, 4):g}/{result.max_score:g}", "graded" if result.status == "graded" else
                  f"error ({len(reasons) + 1})"]
        if result.status != "graded":
            reasons.append(f"({len(reasons) + 1}) {result.student}, {result.path}: {result.error}")
        rows.append(cells)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if any(hand_grades.get(r.student) for r in results if r.status == "graded"):
        lines.append("(written questions show the grades given by hand in the formgrader)")
    if reasons:
        lines += ["", "not graded:", *(f"  {reason}" for reason in reasons)]
    return "\n".join(lines)
