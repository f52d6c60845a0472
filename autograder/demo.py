"""`make demo`: the whole nbgrader cycle on a built-in sample class, in a throwaway course.

The demo course (default demo/) gets a copy of nbgrader_config.py and source/, then: nbgrader
releases every assignment, a sample class hands in work (correct, a classic bug, partial, empty,
noisy, not from scratch), ``python -m autograder grade`` grades it into nbgrader's gradebook,
nbgrader renders feedback and exports grades.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from autograder import sample_class, schedule
from autograder.course import ASSIGNMENTS, CourseError
from autograder.course_paths import CoursePaths
from autograder.feedback.scores import format_table
from autograder.gradebook.nbgrader_side import run_nbgrader
from autograder.grading import Limits
from autograder.sandbox import doctor
from autograder.submissions import find


def make_course(root: Path, target: Path) -> Path:
    """A fresh course folder with this course's config and source notebooks."""
    target = target if target.is_absolute() else root / target
    if target.resolve() == root.resolve():
        raise CourseError("the demo folder must not be the course root itself")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    shutil.copy(root / "nbgrader_config.py", target / "nbgrader_config.py")
    shutil.copytree(root / "source", target / "source")
    return target


def run_demo(root: Path, target: Path) -> int:
    course = make_course(root, target)
    print(doctor(), end="\n\n")
    for name, assignment in ASSIGNMENTS.items():
        run_nbgrader(course, "generate_assignment", name, "--force")
        sample_class.write_class(course, assignment, sample_class.DEMO_CLASS)
        options = schedule.Options(force=True, limits=Limits(timeout=10))
        results = schedule.grade_class(course, assignment, find(course, assignment, []), options)
        print(f"== {name}: {assignment.notebook}.ipynb")
        for student, behaviour in sample_class.DEMO_CLASS.items():
            print(f"   {student}: {sample_class.describe(assignment, behaviour)}")
        print(format_table(results), end="\n\n")
        if name == "ps1":
            ben = next(r for r in results if r.student == "ben")
            print("ben's feedback on conv2d (also under the conv2d test cell of his feedback page, "
                  "feedback/ben/ps1/convolution.html):")
            print(ben.exercises[0].feedback, end="\n\n")
        sys.stdout.flush()
    for name in ASSIGNMENTS:
        run_nbgrader(course, "generate_feedback", name, "--force")
    csv = course / "grades.csv"
    run_nbgrader(course, "export", "--to", str(csv))
    paths = CoursePaths(course)
    feedback = sorted(paths.feedback_root.rglob("*.html"))
    print(f"gradebook:     {paths.gradebook}  (open with 'nbgrader formgrader' from {course})")
    print(f"feedback HTML: {paths.feedback_root}  ({len(feedback)} files, e.g. {feedback[0].relative_to(course)})")
    print(f"grades CSV:    {csv}")
    print("written questions are left for manual grading in the formgrader (scores shown as -/max).")
    from autograder.report import run_report

    for name, assignment in ASSIGNMENTS.items():
        run_report(course, assignment, course / f"report-{name}.html", course / f"report-{name}.csv")
    return 0
