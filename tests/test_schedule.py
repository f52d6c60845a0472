"""Which submissions a run grades and which it serves from the store, with a stand-in for the
sandboxed grader that stamps each result with the run that produced it."""

import json
import os
from pathlib import Path

import pytest

from autograder import gradebook, grading, schedule
from autograder.course import get_assignment
from autograder.results import Exercise, NotebookResult
from autograder.store import ResultStore
from autograder.submissions import Submission
from tests.conftest import make_course

PS1 = get_assignment("ps1")


class StampingGrader:
    """Replaces schedule._local_results: grades by writing the run's stamp into the feedback (one
    submission a batch)."""

    def __init__(self):
        self.run = 0
        self.graded: list[tuple[int, str]] = []
        self.seen_options: list[schedule.Options] = []

    def __call__(self, root, assignment, todo, options):
        assert (root / "nbgrader_config.py").is_file() and assignment is PS1
        self.seen_options.append(options)
        for submission in todo:
            self.graded.append((self.run, submission.student))
            yield [(submission, NotebookResult(
                submission.student, assignment.name, "convolution", str(submission.path), "graded", None, 8.0,
                20.0, [Exercise("conv2d", 8.0, 8.0, f"conv2d: graded in run {self.run}",
                                {"test_conv2d_hidden": 8.0})]))]


@pytest.fixture
def setup(tmp_path, monkeypatch):
    root = make_course(tmp_path / "course")
    submissions = []
    for student in ("alice", "bob"):
        path = root / "submitted" / student / "ps1" / "convolution.ipynb"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"student": student}))
        submissions.append(Submission(student, path))
    grader = StampingGrader()
    monkeypatch.setattr(schedule, "_local_results", grader)
    monkeypatch.setattr(schedule, "_dask_results", lambda *args: pytest.fail("no scheduler was given"))

    def run(**options):
        grader.run += 1
        seen = []
        graded = schedule.grade_class(root, PS1, submissions, schedule.Options(**{"workers": 1, "gradebook": False,
                                                                                  **options}), seen.append)
        assert seen == list(graded)  # every result is announced as it comes
        return {r.student: r.exercises[0].feedback for r in graded}, graded

    return root, submissions, grader, run


def stamps(run: int, *students: str) -> dict[str, str]:
    return {student: f"conv2d: graded in run {run}" for student in students}


def test_a_rerun_serves_unchanged_submissions_from_the_store(setup):
    root, submissions, grader, run = setup
    first, graded = run()
    assert first == stamps(1, "alice", "bob") and (graded.fresh, graded.unchanged) == (2, 0)
    again, graded = run()
    assert again == stamps(1, "alice", "bob") and (graded.fresh, graded.unchanged) == (0, 2)
    assert grader.graded == [(1, "alice"), (1, "bob")]
    submissions[1].path.write_text(json.dumps({"student": "bob", "resubmitted": True}))
    changed, graded = run()
    assert changed == {**stamps(1, "alice"), **stamps(3, "bob")} and (graded.fresh, graded.unchanged) == (1, 1)


def test_force_regrades_and_never_reads_the_store(setup, monkeypatch):
    root, submissions, grader, run = setup
    run()
    monkeypatch.setattr(ResultStore, "load", lambda self, path: pytest.fail("--force read the store"))
    forced, graded = run(force=True)
    assert forced == stamps(2, "alice", "bob") and (graded.fresh, graded.unchanged) == (2, 0)
    monkeypatch.undo()
    # the store now holds the forced run's results (they replaced the old ones)
    assert run()[0] == stamps(2, "alice", "bob")


def test_force_ignores_a_planted_store_entry(setup):
    root, submissions, grader, run = setup
    run()
    for stored in (root / ".autograder" / "results" / "ps1").glob("*.json"):
        record = json.loads(stored.read_text())
        record["result"]["exercises"][0]["feedback"] = "PLANTED"
        stored.write_text(json.dumps(record))
    assert run()[0] == {"alice": "PLANTED", "bob": "PLANTED"}  # a rerun serves what the store holds...
    assert run(force=True)[0] == stamps(3, "alice", "bob")  # ...--force does not


@pytest.mark.parametrize("changed", [{"limits": grading.Limits(timeout=5.0)},
                                     {"limits": grading.Limits(memory_mb=512)},
                                     {"per_student_seeds": True}])
def test_other_limits_or_seeds_regrade(setup, changed):
    root, submissions, grader, run = setup
    run()
    assert run(**changed)[0] == stamps(2, "alice", "bob")
    assert run(**changed)[0] == stamps(2, "alice", "bob")  # and the new result is stored in turn
    assert grader.seen_options[-1].limits == changed.get("limits", grading.Limits())


def test_editing_the_reference_in_source_regrades(setup):
    root, submissions, grader, run = setup
    run()
    source = root / "source" / "ps1" / "convolution.ipynb"
    source.write_text(source.read_text().replace("### END SOLUTION", "    # edited\n    ### END SOLUTION", 1))
    assert run()[0] == stamps(2, "alice", "bob")


def test_a_stored_result_of_another_student_is_not_served(setup):
    root, submissions, grader, run = setup
    run()
    store = ResultStore(root, PS1, f"{grading.Limits().timeout}/"
                                                              f"{grading.Limits().memory_mb}/")
    alice = submissions[0].path
    stored = store.load(alice)
    assert stored is not None and stored.student == "alice"
    stored.student = "mallory"
    store.save(alice, stored)
    assert run()[0] == {**stamps(2, "alice"), **stamps(1, "bob")}


def test_the_scheduler_option_sends_the_work_to_dask(setup, monkeypatch):
    root, submissions, grader, run = setup
    sent = []

    def dask(root_, assignment, todo, options):
        sent.append((Path(root_), assignment, [s.student for s in todo], options.scheduler))
        return iter(())

    monkeypatch.setattr(schedule, "_dask_results", dask)
    run(scheduler="tcp://127.0.0.1:8786")
    assert sent == [(root, PS1, ["alice", "bob"], "tcp://127.0.0.1:8786")] and grader.graded == []


def test_results_reach_the_gradebook_and_a_lost_gradebook_is_rewritten_from_the_store(setup):
    from tests.test_gradebook import registered_gradebook

    root, submissions, grader, run = setup
    registered_gradebook(root)
    first, graded = run(gradebook=True)
    assert graded.rewritten == 0 and graded.hand_grades == {"alice": {}, "bob": {}}
    with gradebook.GradebookWriter(root, get_assignment("ps1")) as book:
        assert {student: cells["test_conv2d_hidden"] for student, cells in book.recorded().items()} == {
            "alice": (8.0, None), "bob": (8.0, None)}
    assert run(gradebook=True)[1].rewritten == 0  # the gradebook already has them
    (root / "gradebook.db").unlink()
    registered_gradebook(root)  # a fresh gradebook, as after `rm gradebook.db`
    again, graded = run(gradebook=True)
    assert again == first and (graded.fresh, graded.unchanged, graded.rewritten) == (0, 2, 2)
    with gradebook.GradebookWriter(root, get_assignment("ps1")) as book:
        assert {student: cells["test_conv2d_hidden"] for student, cells in book.recorded().items()} == {
            "alice": (8.0, None), "bob": (8.0, None)}


def test_workers_default_to_one_per_core():
    assert schedule.Options().workers == (os.cpu_count() or 1)
    assert schedule.Options(workers=3).workers == 3


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rsplit(")", 1)[1].split()[0] == "Z"  # ended, not yet reaped by its parent


@pytest.mark.slow
@pytest.mark.parametrize("alone", [True, False], ids=["forked", "spawned"])
def test_the_warm_server_and_answerer_are_used_and_nothing_outlives_the_run(tmp_path, monkeypatch, alone):
    """`grade` starts a worker server before its own imports, and the run forks the sibling-call
    answerer (a new interpreter when another thread exists): the run uses exactly those, with no
    second start-up, and ends them; a run with nothing to grade ends them too."""
    import threading

    from autograder import sandbox, sibling_calls
    from autograder.sandbox import launch
    from autograder.submissions import find
    from tests.conftest import fixture_notebook, submit

    root = make_course(tmp_path / "course")
    submit(root, "alice", fixture_notebook("ps1", "correct-einsum"))  # its convolve2d calls conv2d
    found = find(root, get_assignment("ps1"), [])
    started, answerers = [], []
    real_fork = sibling_calls.fork_answerer

    def fork_answerer(*args):
        answerers.append(real_fork(*args))
        return answerers[-1]

    monkeypatch.setattr(schedule, "fork_answerer", fork_answerer)
    if alone:
        monkeypatch.setattr(threading, "active_count", lambda: 1)  # pytest's own threads are idle here
    else:
        monkeypatch.setattr(threading, "active_count", lambda: 2)
    warm = sandbox.warm_up("auto")
    server_pid = warm.server[1].pid
    real_server = launch.spawn_server
    monkeypatch.setattr(launch, "spawn_server", lambda *a: started.append("server") or real_server(*a))
    monkeypatch.setattr(sibling_calls.ReferenceCalls, "_start", lambda self: started.append("answerer"))
    (result,) = schedule.grade_class(root, PS1, found, schedule.Options(workers=1, gradebook=False, warm=warm))
    assert result.status == "graded" and result.score == 17.0, result.error
    assert started == []  # the warm server ran it; the run's answerer answered convolve2d's calls
    (answerer,) = answerers
    assert isinstance(answerer, sibling_calls.Forked) == alone
    assert _gone(server_pid) and _gone(answerer.pid)

    idle = sandbox.warm_up("auto")
    pid = idle.server[1].pid
    (again,) = schedule.grade_class(root, PS1, found, schedule.Options(workers=1, gradebook=False, warm=idle))
    assert again.score == 17.0 and _gone(pid) and len(answerers) == 1  # served from the store: nothing started


def test_a_just_forked_answerer_is_ended_at_once(tmp_path, monkeypatch):
    """Ending the answerer right after the fork (nothing to grade) must not wait for it: it may
    not have made its own process group yet, so the group kill alone would miss it."""
    import threading

    from autograder import sibling_calls
    from autograder.sandbox.launch import end_process_group

    root = make_course(tmp_path / "course")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    for _ in range(20):
        answerer = sibling_calls.fork_answerer(root, "ps1")
        assert isinstance(answerer, sibling_calls.Forked)
        ender = threading.Thread(target=end_process_group, args=(answerer,), daemon=True)
        ender.start()
        ender.join(10)
        assert not ender.is_alive(), "end_process_group waited for an answerer it had not killed"
        assert _gone(answerer.pid)
