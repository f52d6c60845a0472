"""Command line: ``python -m autograder {grade,doctor,demo,bench,report,release}``.

``grade`` follows ../shared/CONTRACT.md: JSON Lines on stdout with ``--json`` (and nothing else on
stdout), exit 0 when every submission was graded, 1 when some could not be, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from autograder import sandbox
from autograder.course import ASSIGNMENTS, CourseError, find_course_root, get_assignment
from autograder.grading import Limits
from autograder.notebooks import NotebookError
from autograder.results import NotebookResult


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade submissions of an assignment")
    grade.add_argument("assignment", help=f"one of {', '.join(ASSIGNMENTS)}")
    grade.add_argument("paths", nargs="*", help="notebooks or folders (default: submitted/*/ASSIGNMENT/)")
    grade.add_argument("--json", action="store_true", help="print one JSON object per notebook (JSON Lines)")
    grade.add_argument("--workers", type=_positive(int), default=0, help="parallel workers (default: cores)")
    grade.add_argument("--timeout", type=_positive(float), default=10.0,
                       help="seconds allowed per graded function and per notebook cell (default 10)")
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument("--memory", type=_positive(int), default=2048, help="MiB of memory per submission")
    grade.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (e.g. tcp://host:8786)")
    grade.add_argument("--sandbox", choices=("auto", "bubblewrap", "rlimits"), default="auto",
                       help="containment level (default: bubblewrap when it works here)")
    grade.add_argument("--per-student-seeds", action="store_true",
                       help="draw hidden inputs per student so they cannot be shared")
    grade.add_argument("--no-gradebook", action="store_true",
                       help="do not write gradebook.db or autograded/ (results are still stored)")

    commands.add_parser("doctor", help="report the sandbox level in force")
    demo = commands.add_parser("demo", help="run the whole cycle on a built-in sample class")
    demo.add_argument("--dir", default="demo", help="where to build the demo course (default: demo/)")
    bench = commands.add_parser("bench", help="compare throughput with nbgrader autograde")
    bench.add_argument("-n", "--size", type=_positive(int), default=100, help="submissions (default 100)")
    bench.add_argument("--dir", default="bench", help="where to build the class (default: bench/)")
    report = commands.add_parser("report", help="the class report of an assignment (HTML page, CSV)")
    report.add_argument("assignment", help=f"one of {', '.join(ASSIGNMENTS)}")
    report.add_argument("--html", type=Path, metavar="FILE", help="write the self-contained HTML page here")
    report.add_argument("--csv", type=Path, metavar="FILE", help="write one row per student here")
    release = commands.add_parser("release", help="regenerate assignments/ from source/ with nbgrader")
    release.add_argument("assignments", nargs="*", help="default: all")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "grade":
            return _grade(args)
        if args.command == "doctor":
            print(sandbox.doctor())
            return 0
        if args.command == "demo":
            from autograder.demo import run_demo

            return run_demo(find_course_root(), Path(args.dir))
        if args.command == "bench":
            from autograder.bench import run_bench

            return run_bench(find_course_root(), Path(args.dir), args.size)
        if args.command == "report":
            from autograder.report import run_report

            return run_report(find_course_root(), get_assignment(args.assignment), args.html, args.csv)
        if args.command == "release":
            from autograder.demo import release

            return release(find_course_root(), args.assignments or list(ASSIGNMENTS))
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 2


def _grade(args) -> int:
    from autograder import schedule, submissions

    root = find_course_root()
    assignment = get_assignment(args.assignment)
    if sandbox.level(args.sandbox) != "bubblewrap":
        print("warning: " + sandbox.NOT_CONTAINED, file=sys.stderr)
    found = submissions.find(root, assignment, args.paths)
    if not found:
        print(f"nothing to grade: no submissions for {assignment.name}", file=sys.stderr)
        return 0
    options = schedule.Options(
        workers=args.workers, force=args.force, sandbox=args.sandbox, scheduler=args.scheduler,
        limits=Limits(timeout=args.timeout, memory_mb=args.memory, processes=sandbox.process_limit()),
        per_student_seeds=args.per_student_seeds, gradebook=not args.no_gradebook,
    )

    done: list[NotebookResult] = []

    def emit(result: NotebookResult) -> None:
        done.append(result)
        if args.json:
            print(result.to_json(), flush=True)

    try:
        results = schedule.grade_class(root, assignment.name, found, options, emit)
    except NotebookError as exc:
        raise CourseError(str(exc)) from None
    except KeyboardInterrupt:
        print(f"\ninterrupted: {len(done)} of {len(found)} notebooks graded and saved; run the same "
              "command again to grade the rest", file=sys.stderr)
        return 130
    if not args.json:
        print(format_table(results))
    return 0 if all(r.status == "graded" for r in results) else 1


def format_table(results: list[NotebookResult]) -> str:
    """A per-student, per-function score table."""
    if not results:
        return "no results"
    names = [e.name for e in results[0].exercises]
    header = ["student", *names, "total", "status"]
    rows = []
    for result in sorted(results, key=lambda r: (r.student, r.path)):
        scores = {e.name: e for e in result.exercises}
        cells = [result.student]
        for name in names:
            exercise = scores.get(name)
            if exercise is None:
                cells.append("")
            elif exercise.score is None:
                cells.append(f"-/{exercise.max_score:g}")
            else:
                cells.append(f"{exercise.score:g}/{exercise.max_score:g}")
        cells += [f"{result.score:g}/{result.max_score:g}", result.status if not result.error else
                  f"error: {result.error[:60]}"]
        rows.append(cells)
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
