"""A late penalty plugin for the tests (nbgrader loads it by name from a course's nbgrader_config.py:
`c.AssignLatePenalties.plugin_class = "tests.late_plugins.RecordingPenalty"`). Not collected by pytest."""

from __future__ import annotations

from nbgrader.plugins import LateSubmissionPlugin


class RecordingPenalty(LateSubmissionPlugin):
    """Keeps each question it is asked; answers with `answers[student]` (None when not listed)."""

    calls: list = []
    answers: dict = {}

    def late_submission_penalty(self, student_id, score, total_seconds):
        RecordingPenalty.calls.append((student_id, score, total_seconds))
        return RecordingPenalty.answers.get(student_id)
