"""nbgrader's feedback page, the course's way (``nbgrader generate_feedback``, nbgrader_config.py).

- :class:`FeedbackExporter`: nbgrader's HTML exporter with the course's template
  (``templates/course_feedback``, which extends nbgrader's ``feedback`` template) and the formulas of
  markdown drawn as MathML when the page is made (:mod:`autograder.feedback.formulas`): the page loads
  nothing, so it reads the same from a student's disk without a network;
- :class:`GetGradesForFeedback`: nbgrader's ``GetGrades`` that also marks which grades exist yet, so
  the page says "not graded yet" for a written answer nobody has graded (nbgrader stores its score as
  0 until then), and which function each test cell checks, so the contents list names it.

nbgrader imports both by name, from ``c.GenerateFeedback`` in nbgrader_config.py.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import nbgrader
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbgrader.preprocessors import GetGrades
from traitlets import default, validate

from autograder.feedback import formulas

__all__ = [
    "BOOTSTRAP_CSS",
    "NBGRADER_TEMPLATES",
    "TEMPLATES",
    "FeedbackExporter",
    "FormulaRenderer",
    "GetGradesForFeedback",
]

#: The course's nbconvert templates (a folder per template, as nbconvert expects).
TEMPLATES = str(Path(__file__).resolve().parent / "templates")
_FORMGRADER = Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader"
#: nbgrader's own (its ``feedback`` template, which the course's extends).
NBGRADER_TEMPLATES = str(_FORMGRADER / "templates")
#: The stylesheet nbgrader's feedback page inlines (GenerateFeedback passes the same folder).
BOOTSTRAP_CSS = str(_FORMGRADER / "static" / "node_modules" / "bootstrap" / "dist" / "css")


class FormulaRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with each formula as MathML; one that cannot be drawn stays TeX."""

    def block_math(self, body: str) -> str:
        return formulas.mathml(body, display=True) or super().block_math(body)

    def inline_math(self, body: str) -> str:
        return formulas.mathml(body, display=False) or super().inline_math(body)

    def latex_environment(self, name: str, body: str) -> str:
        tex = f"\\begin{{{name}}}{body}\\end{{{name}}}"
        return formulas.mathml(tex, display=True) or super().latex_environment(name, body)


class FeedbackExporter(HTMLExporter):
    """The feedback page's exporter. nbgrader's GenerateFeedback passes its own template folders in
    the config; the course's come first, and nbgrader's stay reachable for the ``extends``."""

    @default("template_name")
    def _course_template(self) -> str:
        return "course_feedback"

    @default("extra_template_basedirs")
    def _course_basedirs(self) -> list[str]:
        return [TEMPLATES, NBGRADER_TEMPLATES]

    @validate("extra_template_basedirs")
    def _course_basedirs_first(self, proposal) -> list[str]:
        return [TEMPLATES, *(folder for folder in proposal["value"] if folder != TEMPLATES)]

    @default("extra_template_paths")
    def _nbgrader_paths(self) -> list[str]:
        return [BOOTSTRAP_CSS, NBGRADER_TEMPLATES]

    @validate("extra_template_paths")
    def _nbgrader_reachable(self, proposal) -> list[str]:
        return [*(folder for folder in proposal["value"] if folder != NBGRADER_TEMPLATES), NBGRADER_TEMPLATES]

    @pass_context
    def markdown2html(self, context, source):
        """HTMLExporter.markdown2html with the formulas drawn (the same renderer settings)."""
        cell = context.get("cell", {})
        renderer = FormulaRenderer(
            escape=False,
            attachments=cell.get("attachments", {}),
            embed_images=self.embed_images,
            path=context.get("resources", {}).get("metadata", {}).get("path", ""),
            anchor_link_text=self.anchor_link_text,
            exclude_anchor_links=self.exclude_anchor_links,
            **self.lexer_options,
        )
        return MarkdownWithMath(renderer=renderer).render(source)


class GetGradesForFeedback(GetGrades):
    """GetGrades, and what the page says of each graded cell in its ``autograder_feedback`` metadata:
    ``waiting``, True while the gradebook holds no score for it (neither the grader's nor a person's);
    for a test cell ``function``, the graded function it checks as the course defines it
    (``cases.function_cells``; None for a cell the course does not know), never from where the cell
    sits in the student's notebook; and ``anchor``, the cell's link target in the contents list, made
    with a new random prefix for each page so that no id a student writes into markdown can take
    the link over. The field is the page's own: whatever a notebook brings under that name is dropped."""

    def preprocess(self, nb, resources):
        self._functions = _function_of_test_cells(resources["nbgrader"]["assignment"], nb)
        self._prefix = f"autograder-{secrets.token_hex(6)}-"
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        cell.metadata.pop("autograder_feedback", None)
        marks = cell.metadata.get("nbgrader", {})
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if isinstance(marks.get("grade_id"), str):
            page = cell.metadata.setdefault("autograder_feedback", {})
            page["anchor"] = self._prefix + marks["grade_id"]
            if marks.get("grade") and not marks.get("solution"):
                page["function"] = self._functions.get(marks["grade_id"])
        return cell, resources

    def _get_score(self, cell, resources) -> None:
        grade = self.gradebook.find_grade(
            cell.metadata["nbgrader"]["grade_id"], self.notebook_id, self.assignment_id, self.student_id
        )
        cell.metadata.nbgrader["score"] = grade.score
        cell.metadata.nbgrader["points"] = grade.max_score
        waiting = grade.manual_score is None and grade.auto_score is None
        cell.metadata.setdefault("autograder_feedback", {})["waiting"] = waiting


def _function_of_test_cells(assignment: str, nb) -> dict[str, str]:
    """Test cell grade id -> the graded function it checks, for an assignment of the course."""
    from autograder import cases
    from autograder.course import ASSIGNMENTS

    if assignment not in ASSIGNMENTS:
        return {}
    test_cells = [
        marks["grade_id"]
        for cell in nb.cells
        if isinstance(marks := cell.get("metadata", {}).get("nbgrader"), dict)
        and marks.get("grade") and not marks.get("solution") and isinstance(marks.get("grade_id"), str)
    ]
    known = ASSIGNMENTS[assignment]
    return {cell: name for name, cells in cases.function_cells(assignment, known.functions, test_cells).items()
            for cell in cells}
