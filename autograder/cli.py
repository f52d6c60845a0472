"""Command line: python -m autograder {grade,doctor,demo,bench,report,release,gradescope}.

``grade`` follows ../shared/CONTRACT.md: JSON Lines on stdout with ``--json`` (and nothing else on
stdout), exit 0 when every submission was graded, 1 when some could not be, 2 on a usage error.
A notebook under submitted/ that is not where nbgrader puts this assignment's submissions (a folder
``PS1`` for ``ps1``, none, ``ps9``, a sub-folder; autograder.submissions.misplaced) is a submission
that could not be graded: it is named, with what to do, before the summary line (on stderr with
``--json``: stdout keeps one object per graded notebook), and the exit status is 1.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from autograder import sandbox
from autograder.course import ASSIGNMENTS, CourseError, find_course_root, get_assignment
from autograder.notebooks import NotebookError
from autograder.results import NotebookResult

# Importing this module costs no NumPy: `grade` starts its sandbox before it imports the grader
# (autograder.schedule and what it needs), so the two start-ups overlap. Keep heavy imports local.


def _positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            expected = "a whole number" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


GRADE_USAGE = "python -m autograder grade ASSIGNMENT [PATH ...] [options]"


def add_grade_arguments(grade: argparse.ArgumentParser) -> None:
    grade.add_argument("assignment", metavar="ASSIGNMENT", help=f"one of {', '.join(ASSIGNMENTS)}")
    grade.add_argument(
        "paths",
        metavar="PATH",
        nargs="*",
        default=[],
        help="notebooks or folders to grade (default: every submitted/*/ASSIGNMENT/)",
    )
    grade.add_argument("--json", action="store_true", help="print one JSON object per notebook (JSON Lines)")
    grade.add_argument(
        "--workers", metavar="N", type=_positive(int), default=0, help="parallel workers (default: one per core)"
    )
    grade.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_positive(float),
        default=10.0,
        help="seconds allowed per graded function and per notebook cell (default: 10)",
    )
    grade.add_argument("--force", action="store_true", help="regrade submissions already graded")
    grade.add_argument(
        "--memory", metavar="MB", type=_positive(int), default=2048, help="MiB of memory per submission (default: 2048)"
    )
    grade.add_argument("--scheduler", metavar="ADDRESS", help="run on a Dask cluster (e.g. tcp://host:8786)")
    grade.add_argument(
        "--sandbox",
        choices=("auto", "bubblewrap", "rlimits"),
        default="auto",
        help="containment level (default: auto, bubblewrap when it works here)",
    )
    grade.add_argument(
        "--per-student-seeds", action="store_true", help="draw hidden inputs per student so they cannot be shared"
    )
    grade.add_argument(
        "--no-gradebook",
        action="store_true",
        help="do not write gradebook.db or autograded/ (results are still stored)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Grade the course's nbgrader submissions in a sandbox, against the reference solutions in source/.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser(
        "grade",
        help="grade submissions of an assignment",
        usage=GRADE_USAGE,
        description="Grade submissions; options may come before or after the paths.",
    )
    add_grade_arguments(grade)

    commands.add_parser("doctor", help="report the sandbox level in force")
    demo = commands.add_parser("demo", help="run the whole cycle on a built-in sample class")
    demo.add_argument("--dir", default="demo", help="where to build the demo course (default: demo/)")
    bench = commands.add_parser("bench", help="latency and scale figures against nbgrader autograde")
    bench.add_argument("-n", "--size", type=_positive(int), default=40, help="class size (default: 40)")
    bench.add_argument(
        "--large", type=_positive(int), default=0, help="size of the large class (default: 25 times the class size)"
    )
    bench.add_argument("--dir", default="bench", help="where to build the class (default: bench/)")
    report = commands.add_parser(
        "report", help="the class report of an assignment, or of the whole course without one (HTML page, CSV)"
    )
    report.add_argument("assignment", nargs="?", help=f"one of {', '.join(ASSIGNMENTS)}; without it, every assignment")
    report.add_argument("--html", type=Path, metavar="FILE", help="write the self-contained HTML page here")
    report.add_argument("--csv", type=Path, metavar="FILE", help="write one row per student here")
    release = commands.add_parser("release", help="regenerate assignments/ from source/ with nbgrader")
    release.add_argument("assignments", nargs="*", help="default: all")
    _add_gradescope_parser(commands)
    return parser


def parse(argv: list[str]) -> argparse.Namespace:
    parser = build_parser()
    if argv[:1] == ["grade"]:
        # options may come before the paths: `grade ps1 --force submitted/alice/ps1`
        grade = argparse.ArgumentParser(
            prog="python -m autograder grade", usage=GRADE_USAGE, description="Grade submissions of an assignment."
        )
        add_grade_arguments(grade)
        args = grade.parse_intermixed_args(argv[1:])
        args.command = "grade"
        return args
    return parser.parse_args(argv)


def _add_gradescope_parser(commands) -> None:
    from autograder.gradescope import VISIBILITIES

    gradescope = commands.add_parser("gradescope", help="build Gradescope's autograder bundle for an assignment")
    gradescope.add_argument("assignment", help=f"one of {', '.join(ASSIGNMENTS)}")
    gradescope.add_argument("--out", required=True, metavar="FILE.zip", help="where to write the bundle")
    gradescope.add_argument(
        "--hidden-details",
        choices=VISIBILITIES,
        default="after_due_date",
        help="when students see the details of failed hidden cases (scores are always visible; default after_due_date)",
    )
    gradescope.add_argument(
        "--per-student-seeds",
        action="store_true",
        help="draw hidden inputs per Gradescope user so they cannot be shared",
    )
    gradescope.add_argument(
        "--timeout",
        type=_positive(float),
        default=10.0,
        help="seconds allowed per graded function and per notebook cell (default 10)",
    )
    gradescope.add_argument("--memory", type=_positive(int), default=2048, help="MiB of memory per submission")


def _gradescope(args) -> int:
    from autograder.gradescope import Settings, build_bundle

    settings = Settings(args.assignment, args.hidden_details, args.per_student_seeds, args.timeout, args.memory)
    out = build_bundle(find_course_root(), settings, Path(args.out))
    print(f"wrote {out}: upload it as the autograder of a Gradescope programming assignment")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else list(argv))
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

            return run_bench(find_course_root(), Path(args.dir), args.size, args.large or None)
        if args.command == "gradescope":
            return _gradescope(args)
        if args.command == "report":
            from autograder.report import run_report

            assignment = None if args.assignment is None else get_assignment(args.assignment)
            return run_report(find_course_root(), assignment, args.html, args.csv)
        # "release": the parser accepts no other command
        from autograder.release import release

        return release(find_course_root(), args.assignments or list(ASSIGNMENTS))
    except CourseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _grade(args) -> int:
    root = find_course_root()
    assignment = get_assignment(args.assignment)
    if sandbox.level(args.sandbox) != "bubblewrap":
        print("warning: " + sandbox.NOT_CONTAINED, file=sys.stderr)
    warm = None if args.scheduler else sandbox.warm_up(args.sandbox)
    try:
        return _grade_with(args, root, assignment, warm)
    finally:
        if warm is not None:
            warm.stop()


def _grade_with(args, root, assignment, warm) -> int:
    from autograder import misplaced_words, schedule, submissions
    from autograder.grading import Limits

    found = submissions.find(root, assignment, args.paths)
    # the notebooks under submitted/ this run does not grade although they may be its work (not when
    # PATHs say what to grade)
    misplaced = [] if args.paths else submissions.misplaced(root, assignment)
    if not found:
        for line in misplaced_words.section(misplaced, assignment):
            print(line, file=sys.stderr)
        print(
            f"nothing to grade: no submissions for {assignment.name}{misplaced_words.clause(misplaced)}",
            file=sys.stderr,
        )
        return 1 if misplaced else 0
    options = schedule.Options(
        workers=args.workers,
        force=args.force,
        sandbox=args.sandbox,
        scheduler=args.scheduler,
        warm=warm,
        limits=Limits(timeout=args.timeout, memory_mb=args.memory, processes=sandbox.process_limit()),
        per_student_seeds=args.per_student_seeds,
        gradebook=not args.no_gradebook,
    )

    done: list[NotebookResult] = []

    def emit(result: NotebookResult) -> None:
        done.append(result)
        if args.json:
            print(result.to_json(), flush=True)

    try:
        results = schedule.grade_class(root, assignment, found, options, emit)
    except NotebookError as exc:
        raise CourseError(str(exc)) from None
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: {len(done)} of {len(found)} notebooks graded and saved; run the same "
            "command again to grade the rest",
            file=sys.stderr,
        )
        return 130
    summary = (
        f"{len(results)} notebook(s): {results.fresh} graded now, {results.unchanged} unchanged "
        f"(from the store), {results.errors} error(s)"
    )
    if results.rewritten:
        summary += f"; {results.rewritten} stored result(s) were missing from the gradebook and written again"
    summary += misplaced_words.clause(misplaced)
    if args.json:
        for line in [*misplaced_words.section(misplaced, assignment), summary]:
            print(line, file=sys.stderr)
    else:
        from autograder.feedback.scores import format_table

        table = format_table(results, results.hand_grades)
        listed = misplaced_words.section(misplaced, assignment)
        print("\n".join([table, *([""] + listed if listed else []), summary]))
    return 0 if all(r.status == "graded" for r in results) and not misplaced else 1
