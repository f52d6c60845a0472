"""Every word and picture made from the verdicts (autograder.verdicts), at the edges that show them.

- :mod:`~autograder.feedback.words`: a function's text as the student reads it (``--json``'s
  ``feedback``, the notebook, nbgrader's feedback page), and Gradescope's variant with the hidden
  cases' details withheld;
- :mod:`~autograder.feedback.causes`: the words of each likely cause, keyed by its id;
- :mod:`~autograder.feedback.pictures`: the picture of the first wrong array answer;
- :mod:`~autograder.feedback.notebook`: the outputs under the graded test cells of a notebook;
- :mod:`~autograder.feedback.scores`: the score table of ``python -m autograder grade``.

Nothing here is read back: the readers (class report, Gradescope, gradebook, command line) read
the verdicts.
"""

from __future__ import annotations

from autograder.feedback.words import describe, failure_text, problem_text, text
from autograder.verdicts import FunctionVerdict

__all__ = ["describe", "failure_text", "picture", "problem_text", "text"]


def picture(verdict: FunctionVerdict) -> str | None:
    """The picture of the function's first wrong array answer (base64 PNG), None when there is none."""
    evidence = next(iter(verdict.evidence), None)
    if evidence is None:
        return None
    from autograder.feedback import pictures  # Pillow only when a picture is drawn

    return pictures.failure_png_base64(f"{verdict.name}: {evidence.label}", evidence.inputs, evidence.expected,
                                       evidence.actual, evidence.index)
