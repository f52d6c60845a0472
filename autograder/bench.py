"""`make bench`: nbgrader autograde against python -m autograder grade, same class, same machine.

Builds a class of N submissions (an honest mix: correct, noisy, classic bugs, partial, empty),
grades it with both in one run, checks that every student gets the same total, and prints wall
times, the ratio, submissions per second and the peak memory of each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from autograder import gradebook, sample_class
from autograder.course import CourseError, get_assignment
from autograder.demo import _nbgrader, make_course

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


def run_bench(root: Path, target: Path, size: int) -> int:
    assignment = get_assignment(ASSIGNMENT)
    course = make_course(root, target)
    _nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    students = sample_class.mixed_class(size, assignment)
    sample_class.write_class(course, assignment, students)
    print(f"class: {size} submissions of {ASSIGNMENT} on {os.cpu_count()} cores "
          f"({sum(b in ('correct', 'noisy') for b in students.values())} correct, the rest buggy, partial or empty)")
    sys.stdout.flush()

    nb_wall, nb_rss, _ = _measure([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--force"], course)
    nb_totals = _nbgrader_totals(course)
    ours_wall, ours_rss, out = _measure([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, "--json",
                                         "--force"], course)
    ours = {r["student"]: round(r["score"], 4) for r in map(json.loads, out.splitlines())}
    mismatched = {s: (nb_totals.get(s), ours.get(s)) for s in students if nb_totals.get(s) != ours.get(s)}

    print(f"{'':28}{'wall (s)':>10}{'subs/s':>10}{'peak RSS (MiB)':>16}")
    print(f"{'nbgrader autograde':28}{nb_wall:10.1f}{size / nb_wall:10.2f}{nb_rss:16.0f}")
    print(f"{'python -m autograder grade':28}{ours_wall:10.1f}{size / ours_wall:10.2f}{ours_rss:16.0f}")
    print(f"throughput ratio (nbgrader wall / autograder wall): {nb_wall / ours_wall:.1f}x")
    print(f"identical totals: {len(students) - len(mismatched)}/{len(students)}")
    for student, (theirs, mine) in sorted(mismatched.items())[:10]:
        print(f"  {student} ({students[student]}): nbgrader {theirs}, autograder {mine}")
    print("peak RSS is the largest single process (a Jupyter kernel, or a grading process).")

    return 0 if not mismatched else 1
