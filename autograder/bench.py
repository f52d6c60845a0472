"""`make bench`: the five latency and scale figures, nbgrader autograde and python -m autograder
grade on the same notebooks, same machine, one run.

1. a fresh course, one submission (the first grading creates the gradebook): nbgrader / ours;
2. one student regraded (--force) in a graded class: ours / `python -c "import numpy"`;
3. a class of N (an honest mix: correct, noisy, classic bugs, partial, empty): nbgrader / ours,
   with every student's total compared;
4. a class of 25 N graded from scratch: nbgrader's cost per notebook (from 3) x 25 N / ours;
5. figure 3's class with `nbgrader autograde` itself: its own execution (Execute, a kernel per
   notebook) / the course's sandboxed step (autograder.nbgrader_autograde), totals compared.

Figures 1 and 3 measure nbgrader's own execution: their courses switch the sandboxed step off
(`c.Autograder.sandboxed_autograde = False`, the one line of nbgrader_config.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from autograder import gradebook, sample_class
from autograder.course import CourseError, get_assignment
from autograder.course_paths import CoursePaths
from autograder.demo import make_course
from autograder.gradebook.nbgrader_side import run_nbgrader

ASSIGNMENT = "ps1"


def _measure(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run a command in a fresh measuring process: wall seconds, peak RSS in MiB, stdout."""
    probe = ("import json,resource,subprocess,sys,time\n"
             "t=time.perf_counter(); p=subprocess.run(sys.argv[1:],capture_output=True,text=True)\n"
             "w=time.perf_counter()-t; r=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
             "sys.stdout.write(json.dumps({'wall':w,'rss':r,'rc':p.returncode,'out':p.stdout,'err':p.stderr[-3000:]}))")
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    done = subprocess.run([sys.executable, "-c", probe, *command], cwd=cwd, capture_output=True, text=True, env=env)
    data = json.loads(done.stdout)
    if data["rc"] not in (0, 1):
        raise CourseError(f"{' '.join(command)} failed ({data['rc']}):\n{data['err']}")
    return data["wall"], data["rss"] / 1024, data["out"]


def _nbgrader_totals(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(gradebook.db_url(course), gradebook.COURSE_ID) as gb:
        return {s.student.id: round(s.score, 4) for s in gb.assignment_submissions(ASSIGNMENT)}


def _fresh_course(root: Path, target: Path, students: dict[str, str]) -> Path:
    """A course with the committed release and a class handed in, and no gradebook yet."""
    course = make_course(root, target)
    shutil.copytree(root / "assignments", course / "assignments")
    sample_class.write_class(course, get_assignment(ASSIGNMENT), students)
    return course


def _sandboxed_autograde(course: Path, on: bool) -> None:
    """Switch the course's sandboxed `nbgrader autograde` step on or off (its one line)."""
    config = course / "nbgrader_config.py"
    line = "c.Autograder.sandboxed_autograde = "
    text = config.read_text()
    if f"{line}True" not in text and f"{line}False" not in text:
        raise CourseError(f"{config} has no line {line}True")
    config.write_text(text.replace(f"{line}{not on}", f"{line}{on}"))


def _grade(course: Path, *args: str) -> tuple[float, str]:
    wall, _, out = _measure([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, *args], course)
    return wall, out


def run_bench(root: Path, target: Path, size: int, large: int | None = None) -> int:
    """The five figures of the project's latency and scale goals, measured in one run."""
    assignment = get_assignment(ASSIGNMENT)
    large = large or 25 * size
    target = target if target.is_absolute() else root / target
    students = sample_class.mixed_class(size, assignment)
    print(f"{os.cpu_count()} cores; classes of {size} and {large} {ASSIGNMENT} submissions "
          f"({sum(b in ('correct', 'noisy') for b in students.values())} of the {size} correct, the rest buggy, "
          "partial or empty)")
    sys.stdout.flush()
    figures = []

    # 1. a fresh course, one submission: the first grading creates the gradebook
    first = dict(list(students.items())[:1])
    theirs = _fresh_course(root, target / "one-nbgrader", first)
    _sandboxed_autograde(theirs, False)  # nbgrader's own execution
    run_nbgrader(theirs, "generate_assignment", ASSIGNMENT, "--force")  # nbgrader autograde needs it first
    nb_one, _, _ = _measure([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT], theirs)
    ours_one, _ = _grade(_fresh_course(root, target / "one-ours", first))
    figures.append(("fresh course, one submission: nbgrader autograde / ours", nb_one, ours_one,
                    nb_one / ours_one, ">= 2x", nb_one / ours_one >= 2))

    # 3. a class: both graders, same notebooks, same totals
    course = make_course(root, target / "class")
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    sample_class.write_class(course, assignment, students)
    _sandboxed_autograde(course, False)  # nbgrader's own execution
    nb_wall, _, _ = _measure([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], course)
    nb_totals = _nbgrader_totals(course)
    # 5. the same class, nbgrader autograde with the course's sandboxed step (figure 3's gradebook regraded)
    _sandboxed_autograde(course, True)
    sandboxed_wall, _, _ = _measure([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], course)
    sandboxed_totals = _nbgrader_totals(course)
    ours_wall, out = _grade(course, "--json", "--force")
    ours = {r["student"]: round(r["score"], 4) for r in map(json.loads, out.splitlines())}
    mismatched = {s: (nb_totals.get(s), ours.get(s)) for s in students if nb_totals.get(s) != ours.get(s)}
    mismatched.update({s: (sandboxed_totals.get(s), ours.get(s)) for s in students
                       if sandboxed_totals.get(s) != ours.get(s)})

    # 2. one student regraded in the graded class, against the interpreter starting with NumPy
    numpy_wall, _, _ = _measure([sys.executable, "-c", "import numpy"], course)
    regrade, _ = _grade(course, "--force", str(CoursePaths(course).submitted(next(iter(students)), ASSIGNMENT)))
    figures.append((f"regrade one student (--force), class of {size}: ours / python -c 'import numpy'",
                    regrade, numpy_wall, regrade / numpy_wall, "<= 5x", regrade / numpy_wall <= 5))
    figures.append((f"class of {size}: nbgrader autograde / ours", nb_wall, ours_wall, nb_wall / ours_wall,
                    ">= 25x", nb_wall / ours_wall >= 25))

    # 4. a large class, graded from scratch (gradebook created), against nbgrader's cost per notebook
    big_wall, _ = _grade(_fresh_course(root, target / "large", sample_class.mixed_class(large, assignment)))
    projected = nb_wall / size * large
    figures.append((f"class of {large}: nbgrader's per-notebook cost x {large} / ours", projected, big_wall,
                    projected / big_wall, ">= 60x (then 100x)", projected / big_wall >= 60))

    figures.append((f"class of {size}: nbgrader autograde, its own execution / the sandboxed step", nb_wall,
                    sandboxed_wall, nb_wall / sandboxed_wall, ">= 1x", nb_wall / sandboxed_wall >= 1))

    print(f"{'figure':76}{'first (s)':>10}{'second (s)':>11}{'ratio':>8}  goal")
    for name, a, b, ratio, goal, met in figures:
        print(f"{name:76}{a:10.2f}{b:11.2f}{ratio:7.1f}x  {goal}{'' if met else '  (not met)'}")
    print(f"ours on the large class: {big_wall / large * 1000:.0f} ms a notebook, all included")
    print(f"throughput ratio (nbgrader wall / autograder wall, class of {size}): {nb_wall / ours_wall:.1f}x")
    print(f"identical totals: {len(students) - len(mismatched)}/{len(students)} (nbgrader's own execution, "
          "nbgrader with the sandboxed step, ours)")
    for student, (theirs_total, mine) in sorted(mismatched.items())[:10]:
        print(f"  {student} ({students[student]}): nbgrader {theirs_total}, autograder {mine}")
    return 0 if not mismatched else 1
