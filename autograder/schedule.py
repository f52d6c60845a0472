"""Grading a whole class: in parallel, resumable, locally or on a Dask cluster.

Locally, each of ``workers`` threads owns one worker server (a sandboxed process that pays the
start-up once and forks per submission). With ``scheduler``, the same per-submission task runs
on a dask.distributed cluster. Either way the results come back to this process, which alone
writes the result store, the gradebook and the autograded notebooks, one result at a time.
"""

from __future__ import annotations

import dataclasses
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from autograder import gradebook, grading
from autograder.course import SIBLING_EDGES, Assignment
from autograder.results import NotebookResult
from autograder.sandbox.launch import Warm
from autograder.sandbox.runner import WorkerServer
from autograder.sibling_calls import ReferenceCalls, fork_answerer
from autograder.store import ResultStore
from autograder.submissions import Submission


@dataclass
class Options:
    workers: int = 0  # 0: one per core
    force: bool = False
    sandbox: str = "auto"
    scheduler: str | None = None
    limits: grading.Limits = field(default_factory=grading.Limits)
    per_student_seeds: bool = False
    gradebook: bool = True
    warm: Warm | None = None  # processes started before this run's imports (sandbox.warm_up)

    def __post_init__(self):
        if self.workers <= 0:
            self.workers = os.cpu_count() or 1


@dataclass
class GradedClass:
    """The results of a run, in the order they were reported, and how each was obtained."""

    results: list[NotebookResult] = field(default_factory=list)
    fresh: int = 0  # graded in this run
    unchanged: int = 0  # served from the result store
    rewritten: int = 0  # stored results the gradebook lacked, written to it again
    hand_grades: dict[str, dict[str, float]] = field(default_factory=dict)  # student -> grade id -> manual score

    def __iter__(self) -> Iterator[NotebookResult]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def errors(self) -> int:
        return sum(r.status != "graded" for r in self.results)


def grade_class(root: Path, assignment: Assignment, submissions: list[Submission], options: Options,
                on_result: Callable[[NotebookResult], None] = lambda result: None) -> GradedClass:
    """Grade every submission exactly once (skipping unchanged ones unless forced), and record
    every result, graded or not, in the gradebook."""
    seeds = "per-student" if options.per_student_seeds else ""
    # What changes a result: the limits a student's code ran under, and how cases were drawn.
    store = ResultStore(root, assignment, f"{options.limits.timeout}/{options.limits.memory_mb}/{seeds}")
    results = GradedClass()
    cached, todo = [], []
    if options.gradebook:
        submissions = [exchange_checked(root, assignment, submission) for submission in submissions]
    for submission in submissions:
        stored = None if options.force else store.load(submission.path, submission.problem)
        if stored is not None and stored.student == submission.student:
            cached.append(stored)
        else:
            todo.append(submission)
    warm = options.warm or Warm()
    if todo and not options.scheduler and warm.answerer is None and \
            any(SIBLING_EDGES.get(name) for name in assignment.functions):
        # forked now, while this process has no other thread (the gradebook's opens next)
        warm.answerer = fork_answerer(root, assignment.name)
    options = dataclasses.replace(options, warm=warm)
    bar = _progress_bar(len(todo), assignment.name)
    # Start-up overlapped: the gradebook (nbgrader's import, creating the database, registering the
    # assignment) opens in a thread while the worker servers start and the first notebooks grade.
    opening = ThreadPoolExecutor(1, thread_name_prefix="gradebook") if options.gradebook else None
    book_ready = opening.submit(gradebook.GradebookWriter(root, assignment).__enter__) if opening else None
    try:
        source = (_dask_results(root, assignment, todo, options) if options.scheduler
                  else _local_results(root, assignment, todo, options))
    finally:
        warm.stop()  # what the run did not take (nothing to grade, or a Dask run)
    if opening is not None:
        opening.shutdown(wait=True)  # its thread ends with the opening
    book = book_ready.result() if book_ready is not None else None
    try:
        recorded = book.recorded() if book is not None else {}
        for result in cached:
            result = valid_text(result)
            # the store and the gradebook never disagree silently (a reset gradebook, a copied course)
            if book is not None and not book.is_recorded(result, recorded):
                problems = book.record_many([result])
                if problems:
                    result = not_recorded(result, problems[0])
                else:
                    results.rewritten += 1
            results.results.append(result)
            results.unchanged += 1
            on_result(result)
        try:
            # Whatever finished meanwhile is recorded together: one store file each, one gradebook
            # transaction. A result is reported only once it is in both; one the gradebook could not
            # take is reported as an error row saying why (it stays in the store, and the next run
            # writes it again), and costs no other result its rows.
            for batch in source:
                batch = [(submission, valid_text(result)) for submission, result in batch]
                for submission, result in batch:
                    store.save(submission.path, result, submission.problem)
                problems = book.record_many([result for _, result in batch]) if book is not None else {}
                for index, (_, result) in enumerate(batch):
                    if index in problems:
                        result = not_recorded(result, problems[index])
                    results.results.append(result)
                    results.fresh += 1
                    on_result(result)
                bar.update(len(batch))
        finally:
            bar.close()
        if book is not None:
            results.hand_grades = {student: {cell: manual for cell, (_, manual) in cells.items() if manual is not None}
                                   for student, cells in book.recorded().items()}
    finally:
        if book is not None:
            book.__exit__(None, None, None)
    return results


def exchange_checked(root: Path, assignment: Assignment, submission: Submission) -> Submission:
    """The submission, or, when nbgrader could not read back the exchange files that come with it
    into autograded/ and feedback/ (gradebook.exchange_problem: timestamp.txt not UTF-8 or not a
    time, an empty secret, ...), its error row's reason: for that student only, and only when
    recording in nbgrader's gradebook (Gradescope and --no-gradebook never use those files)."""
    if submission.problem:
        return submission
    folder = gradebook.folder_of(root, submission.student, assignment.name, submission.path)
    problem = gradebook.exchange_problem(folder)
    return dataclasses.replace(submission, problem=problem) if problem else submission


def not_recorded(result: NotebookResult, why: str) -> NotebookResult:
    """The error row of a result the gradebook could not take (`why`): scores 0 as every error row,
    the result itself kept in the store, so the next run records it once the cause is fixed."""
    if result.status == "graded":
        message = (f"graded {result.score:g}/{result.max_score:g} and kept in .autograder/results/, but {why}: "
                   "fix that and run the same command again, which records it")
    else:
        message = f"{result.error}; and {why}"
    exercises = [dataclasses.replace(e, score=None if e.score is None else 0.0) for e in result.exercises]
    return dataclasses.replace(result, status="error", error=message, score=0.0, exercises=exercises)


def _unicode(text):
    """Text that can be written as UTF-8: a lone surrogate (a student's exception message can carry
    one) is shown as its escape, \\udc80, instead of failing every file it goes to."""
    if text is None or text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def valid_text(result: NotebookResult) -> NotebookResult:
    """`result` with only valid Unicode in it, whatever a submission's code said: the store, the
    gradebook, autograded/ and the output all take it."""
    exercises = [dataclasses.replace(e, name=_unicode(e.name), feedback=_unicode(e.feedback),
                                     figure=_unicode(e.figure), cells={_unicode(k): v for k, v in e.cells.items()})
                 for e in result.exercises]
    return dataclasses.replace(result, student=_unicode(result.student), notebook=_unicode(result.notebook),
                               path=_unicode(result.path), error=_unicode(result.error),
                               sandbox=_unicode(result.sandbox), exercises=exercises)


class _NoBar:
    def update(self, count: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, assignment_name: str):
    """tqdm's bar on a terminal; nothing (and no import) otherwise."""
    if not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=f"grading {assignment_name}", unit="nb", file=sys.stderr, dynamic_ncols=True)


def _local_results(root: Path, assignment: Assignment, todo: list[Submission],
                   options: Options) -> Iterator[list[tuple[Submission, NotebookResult]]]:
    """Start grading at once (worker threads, one worker server each); the returned iterator
    yields what has finished, in batches."""
    if not todo:
        return iter(())
    warm = options.warm or Warm()
    ctx = grading.Context(root, assignment, options.limits, options.per_student_seeds)
    if (answerer := warm.take_answerer()) is not None:
        ctx.add_answerer(ReferenceCalls(root, assignment.name, answerer))
    ctx.prepared(todo[0].student)  # build cases and reference outcomes once, before the threads
    jobs: queue.Queue = queue.Queue()
    for submission in todo:
        jobs.put(submission)
    done: queue.Queue = queue.Queue()
    lock = threading.Lock()

    def work(server: WorkerServer):
        try:
            while True:
                try:
                    submission = jobs.get_nowait()
                except queue.Empty:
                    return
                try:
                    if options.per_student_seeds:
                        with lock:
                            ctx.prepared(submission.student)
                    result = grading.grade(ctx, submission, server)
                except Exception as exc:  # noqa: BLE001 - one submission never stops the batch
                    result = grading.error_result(ctx, submission, f"grader error: {type(exc).__name__}: {exc}")
                done.put((submission, result))
        finally:
            server.stop()
            done.put(None)

    threads = [threading.Thread(target=work, args=(WorkerServer(options.sandbox, warm.take_server()),), daemon=True)
               for _ in range(min(options.workers, len(todo)))]
    for thread in threads:
        thread.start()

    def batches():
        finished = 0
        try:
            while finished < len(threads):
                batch = []
                item = done.get()
                while True:
                    if item is None:
                        finished += 1
                    else:
                        batch.append(item)
                    try:
                        item = done.get_nowait()
                    except queue.Empty:
                        break
                if batch:
                    yield batch
        finally:
            ctx.close()  # the sibling-call answerers

    return batches()


# -- Dask ---------------------------------------------------------------------------------------

_per_thread = threading.local()


def grade_one(root: str, assignment: Assignment, student: str, path: str, problem: str | None,
              limits: grading.Limits, sandbox: str, per_student_seeds: bool) -> dict:
    """A self-contained grading task for a Dask worker: returns the result as plain data.

    Each worker thread keeps one worker server and one context between tasks."""
    key = (root, assignment, str(limits), sandbox, per_student_seeds)
    if getattr(_per_thread, "key", None) != key:
        if getattr(_per_thread, "server", None) is not None:
            _per_thread.server.stop()
        _per_thread.key = key
        _per_thread.ctx = grading.Context(Path(root), assignment, limits, per_student_seeds)
        _per_thread.server = WorkerServer(sandbox)
    submission = Submission(student, Path(path), problem)
    try:
        result = grading.grade(_per_thread.ctx, submission, _per_thread.server)
    except Exception as exc:  # noqa: BLE001
        result = grading.error_result(_per_thread.ctx, submission, f"grader error: {type(exc).__name__}: {exc}")
    return {"result": result.to_json()}


def _dask_results(root: Path, assignment: Assignment, todo: list[Submission], options: Options):
    import json

    from distributed import Client, as_completed

    with Client(options.scheduler, timeout="30s") as client:
        futures = {
            client.submit(grade_one, str(root), assignment, s.student, str(s.path), s.problem,
                          options.limits, options.sandbox, options.per_student_seeds, pure=False): s
            for s in todo
        }
        for future in as_completed(futures):
            submission = futures[future]
            try:
                data = json.loads(future.result()["result"])
                result = NotebookResult.from_dict(data)
            except Exception as exc:  # noqa: BLE001 - a lost task is reported, not fatal
                ctx = grading.Context(root, assignment, options.limits)
                result = grading.error_result(ctx, submission, f"dask task failed: {type(exc).__name__}: {exc}")
            yield [(submission, result)]
