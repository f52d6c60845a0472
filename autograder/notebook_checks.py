"""What the hidden test cells in source/ call when a kernel runs them.

``score(assignment, cell, function)`` runs the grader's own cases for one test cell against the
reference solution, prints the same feedback ``python -m autograder grade`` gives, and returns the
points earned: nbgrader takes a test cell's numeric result as its partial credit. So both graders
use one set of cases, one comparison and one scoring rule, and give honest students one score.

Where a kernel runs them: ``nbgrader autograde`` of a course that switched the sandboxed step off
(``c.Autograder.sandboxed_autograde = False``: nbgrader's Execute then runs each notebook in the
student's kernel), and ``nbgrader validate`` of a source notebook (the reference solutions pass
their own hidden tests). The course as shipped autogrades in the sandbox instead
(autograder.nbgrader_autograde), and no kernel runs these cells there.

This runs inside the student's kernel; it is not a sandbox. The static policy applies here too, to
the cells this kernel ran (its input history, test cells left out).

Per-student hidden inputs: with ``c.Autograder.per_student_seeds = True`` in the course's
``nbgrader_config.py``, the cases are drawn from the student's id, which ``nbgrader autograde``
reveals as the kernel's working folder ``autograded/<student>/<assignment>/`` (the same id, so the
same inputs, as ``python -m autograder grade --per-student-seeds``).
"""

from __future__ import annotations

import contextlib
import inspect
import io
from pathlib import Path

from autograder import cases, course_config, feedback, judge, notebooks, reference
from autograder.course import FROM_SCRATCH, SIBLING_EDGES, course_secret, find_course_root, get_assignment
from autograder.course_paths import AUTOGRADED
from autograder.feedback.notebook import PICTURE, PICTURE_ALT
from autograder.sandbox import call_traced, policy
from autograder.verdicts import CaseOutcome, Problem, ProblemKind, Violation


def spec_for_cell(assignment: str, cell: str) -> cases.FunctionCases:
    for spec in cases.for_assignment(assignment).values():
        if any(check.cell == cell for check in spec.checks):
            return spec
    raise KeyError(f"{assignment} has no test cell {cell!r} in autograder.cases.{assignment}")


def per_student_seeds(root: Path) -> bool:
    """Whether nbgrader_config.py switches per-student inputs on (``c.Autograder.per_student_seeds``)."""
    return bool(course_config.option(course_config.load(root), ("Autograder",), "per_student_seeds", False))


def autograded_student(folder: Path, assignment: str) -> str | None:
    """The student whose notebook nbgrader autogrades in `folder` (autograded/<student>/<assignment>/)."""
    parts = folder.resolve().parts
    if len(parts) >= 3 and parts[-3] == AUTOGRADED and parts[-1] == assignment:
        return parts[-2]
    return None


@contextlib.contextmanager
def _siblings_answered_by(refs: dict, name: str, function):
    """While `name` is judged, its calls to the functions it may build on (its declared edges)
    reach the reference, as in the sandboxed grader; other calls run the student's own code."""
    namespace = getattr(function, "__globals__", {})
    edges = [other for other in SIBLING_EDGES.get(name, ()) if other in refs]
    saved = {other: namespace[other] for other in edges if other in namespace}
    namespace.update({other: refs[other] for other in edges})
    try:
        yield
    finally:
        for other in edges:
            namespace.pop(other, None)
        namespace.update(saved)


def _kernel_cells(root, assignment) -> list[str]:
    """The code cells this kernel ran, without the course's own (locked, test) cells."""
    try:
        from IPython import get_ipython

        history = list(get_ipython().history_manager.input_hist_raw)
    except (ImportError, AttributeError):
        return []
    source = notebooks.read(assignment.source_path(root))
    course_cells = {c.source.strip() for c in source.cells if c.cell_type == "code"
                    and not notebooks.nbgrader(c).get("solution")}
    # the last entry is the cell running now: the hidden test cell calling score()
    return [notebooks.strip_magics(code) for code in history[:-1] if code.strip() not in course_cells]


def _violation(root, assignment, function) -> Violation | None:
    cells = _kernel_cells(root, assignment)
    if not cells:
        with contextlib.suppress(OSError, TypeError):
            cells = [inspect.getsource(function)]
    verdicts = policy.check(cells, assignment.functions, FROM_SCRATCH, SIBLING_EDGES)
    return verdicts.get(getattr(function, "__name__", ""))


def score(assignment: str, cell: str, function) -> float:
    """Points earned by `function` on test cell `cell`, printing the feedback."""
    spec = spec_for_cell(assignment, cell)
    root = find_course_root()
    refs = reference.load(root, get_assignment(assignment))
    violation = _violation(root, get_assignment(assignment), function)
    student = autograded_student(Path.cwd(), assignment) if per_student_seeds(root) else None
    built = cases.build(assignment, spec, student, cells=(cell,), secret=course_secret(root))
    expected, digests = judge.reference_outcomes(refs, spec, built)
    expected = [CaseOutcome.from_wire(outcome) for outcome in expected]
    outcomes = []
    sink = io.StringIO()
    with _siblings_answered_by(refs, spec.function, function):
        for item in built:
            args = tuple(judge.copy_value(a) for a in item.case.args)
            kwargs = {k: judge.copy_value(v) for k, v in item.case.kwargs.items()}
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                outcome = call_traced(function, args, kwargs, trace=spec.function in FROM_SCRATCH)
            outcomes.append(CaseOutcome.from_wire(outcome))
    problem = None if violation is None else Problem(ProblemKind.POLICY, violation=violation)
    verdict = judge.judge(spec, built, outcomes, expected, refs, digests, problem=problem)
    print(feedback.text(verdict, cells=True))
    _show_figure(feedback.picture(verdict))
    return float(verdict.checks[0].earned)


def _show_figure(figure: str | None) -> None:
    """The picture of the first wrong array, as this cell's image/png output (so nbgrader's
    feedback HTML and the formgrader show it)."""
    if figure is None:
        return
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # run outside IPython: the printed feedback is all there is
        return
    if get_ipython() is None:
        return
    display({"image/png": figure, "text/plain": PICTURE}, metadata={"image/png": {"alt": PICTURE_ALT}}, raw=True)
