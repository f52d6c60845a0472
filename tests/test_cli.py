"""`python -m autograder grade` per ../shared/CONTRACT.md, run for real in a subprocess."""

import copy
import csv
import html as htmllib
import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from autograder import notebooks, sample_class
from autograder.course import get_assignment
from tests.conftest import fixture_notebook, json_lines, nbgrader, run_grader, scores, submit

PS1 = get_assignment("ps1")
CONTRACT_KEYS = {"student", "assignment", "notebook", "path", "status", "error", "score", "max_score", "exercises"}


@pytest.mark.slow
def test_json_lines_exit_status_and_broken_notebooks(course, root):
    correct = fixture_notebook("ps1", "correct-loops")
    submit(course, "alice", correct)
    submit(course, "renamed", correct, name="convolution (1).ipynb")
    submit(course, "corrupt", '{"cells": [ this is not json')
    submit(course, "empty", "")
    submit(course, "two", correct, name="a.ipynb")
    submit(course, "two", correct, name="b.ipynb")
    no_metadata = copy.deepcopy(correct)  # cells pasted into a fresh notebook: no nbgrader metadata
    for cell in no_metadata.cells:
        cell.metadata = {}
    submit(course, "pasted", no_metadata)
    huge = copy.deepcopy(correct)
    huge.cells.append(nbformat.v4.new_code_cell("data = '" + "x" * 9_000_000 + "'"))
    submit(course, "huge", huge)

    done = run_grader(course, "grade", "ps1", "--json")  # the default limits: pasted cells run them all
    assert done.returncode == 1, done.stderr  # some notebooks could not be graded
    results = json_lines(done)  # stdout holds JSON Lines and nothing else
    by_student = {}
    for result in results:
        assert set(result) >= CONTRACT_KEYS
        assert {"name", "score", "max_score", "feedback"} <= set(result["exercises"][0])
        by_student.setdefault(result["student"], []).append(result)
    assert len(by_student["two"]) == 2 and all(r["status"] == "error" for r in by_student["two"])
    for student in ("alice", "renamed", "pasted"):
        (result,) = by_student[student]
        assert result["status"] == "graded" and result["error"] is None
        assert result["score"] == 17.0 and result["max_score"] == 20.0, [e["feedback"] for e in result["exercises"]]
        assert scores(result)["written_flip"] is None  # graded by hand
    assert by_student["renamed"][0]["notebook"] == "convolution (1)"
    for student in ("corrupt", "empty"):
        (result,) = by_student[student]
        assert result["status"] == "error" and result["score"] == 0
        assert "not a readable notebook" in result["error"]
    assert by_student["huge"][0]["status"] == "error" and "characters" in by_student["huge"][0]["error"]


def test_usage_errors_exit_2(course):
    done = run_grader(course, "grade")
    assert done.returncode == 2 and "required: ASSIGNMENT" in done.stderr and "PATH" not in done.stderr.split(":")[-1]
    for bad in ("nan", "inf", "-1", "soon"):
        done = run_grader(course, "grade", "ps1", "--timeout", bad)
        assert done.returncode == 2 and "--timeout" in done.stderr and bad in done.stderr, bad
        assert "Traceback" not in done.stderr
    assert "(default: 2048)" in run_grader(course, "grade", "--help").stdout
    done = run_grader(course, "grade", "ps9")
    assert done.returncode == 2 and "unknown assignment 'ps9'" in done.stderr
    done = run_grader(course, "grade", "ps1", "no/such/notebook.ipynb")
    assert done.returncode == 2 and "no such notebook" in done.stderr
    assert run_grader(course, "grade", "ps1", "--workers", "0").returncode == 2


def test_run_outside_a_course_says_where_to_run(tmp_path):
    done = run_grader(tmp_path, "grade", "ps1")
    assert done.returncode == 2 and "nbgrader_config.py" in done.stderr


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId")
def test_tampered_test_cells_change_nothing(course):
    base = fixture_notebook("ps1", "correct-loops")
    deleted = copy.deepcopy(base)
    deleted.cells = [c for c in deleted.cells if not (notebooks.nbgrader(c).get("grade")
                                                      and not notebooks.nbgrader(c).get("solution"))]
    edited = copy.deepcopy(base)
    duplicated = copy.deepcopy(base)
    for cell in list(edited.cells):
        if notebooks.grade_id(cell) == "test_conv2d_hidden":
            cell.source = "def conv2d(image, kernel):\n    return 'overwritten by a test cell'\nscore = 100"
            duplicated.cells.append(copy.deepcopy(cell))
            duplicated.cells.append(copy.deepcopy(cell))
    for name, nb in (("deleted", deleted), ("edited", edited), ("duplicated", duplicated)):
        submit(course, name, nb)
    done = run_grader(course, "grade", "ps1", "--json", "--timeout", "5")
    assert done.returncode == 0, done.stderr
    assert {r["student"]: r["score"] for r in json_lines(done)} == {"deleted": 17, "edited": 17, "duplicated": 17}
    # nbgrader's OverwriteCells puts the deleted and edited test cells back, with the grader's feedback
    for result in json_lines(done):
        autograded = nbformat.read(course / "autograded" / result["student"] / "ps1" / "convolution.ipynb", 4)
        (hidden,) = [c for c in autograded.cells if notebooks.grade_id(c) == "test_conv2d_hidden"]
        assert "overwritten by a test cell" not in hidden.source
        assert hidden.outputs[0]["data"]["text/plain"] == result["exercises"][0]["feedback"]


@pytest.mark.slow
def test_results_land_in_nbgraders_gradebook_feedback_and_export(course):
    sample_class.write_class(course, PS1, {"ada": "correct", "ben": "flipped-kernel", "dee": "untouched"})
    done = run_grader(course, "grade", "ps1", "--json")
    assert done.returncode == 0, done.stderr
    ours = {r["student"]: r["score"] for r in json_lines(done)}
    nbgrader(course, "generate_feedback", "ps1", "--force")
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv") as handle:
        exported = {row["student_id"]: float(row["raw_score"]) for row in csv.DictReader(handle)}
    assert exported == ours
    html = htmllib.unescape((course / "feedback" / "ben" / "ps1" / "convolution.html").read_text())
    (ben,) = [r for r in json_lines(done) if r["student"] == "ben"]
    for line in ben["exercises"][0]["feedback"].splitlines():  # the lines the grader printed for ben
        assert line.strip() in html, line
    for secret in ("BEGIN HIDDEN TESTS", "notebook_checks", "BEGIN MARK SCHEME", "BEGIN SOLUTION"):
        assert secret not in html
    # the written question waits for a human
    from nbgrader.api import Gradebook

    from autograder.gradebook import COURSE_ID, db_url

    with Gradebook(db_url(course), COURSE_ID) as gb:
        submission = gb.find_submission_notebook("convolution", "ps1", "ada")
        assert submission.needs_manual_grade  # the written question
        assert all(g.auto_score is not None for g in submission.grades if g.cell_type == "code")


@pytest.mark.slow
def test_rerun_skips_graded_work_unless_forced_or_changed(course):
    submit(course, "alice", fixture_notebook("ps1", "correct-loops"))
    path = submit(course, "bob", fixture_notebook("ps1", "flipped-kernel"))
    first = json_lines(run_grader(course, "grade", "ps1", "--json"))
    again = run_grader(course, "grade", "ps1", "--json")
    def by_student(results):
        return sorted(results, key=lambda r: r["student"])

    assert by_student(json_lines(again)) == by_student(first)  # served from the result store
    nbformat.write(fixture_notebook("ps1", "correct-loops"), path)  # bob resubmits
    changed = {r["student"]: r["score"] for r in json_lines(run_grader(course, "grade", "ps1", "--json"))}
    assert changed == {"alice": 17, "bob": 17}
    # Plant a marker in every stored result: a run that serves the store shows it, a regrade does not.
    for stored in (course / ".autograder" / "results" / "ps1").glob("*.json"):
        record = json.loads(stored.read_text())
        record["result"]["exercises"][0]["feedback"] = "PLANTED IN THE STORE"
        stored.write_text(json.dumps(record))

    def conv2d_feedback(done):
        assert done.returncode == 0, done.stderr
        return {r["student"]: r["exercises"][0]["feedback"] for r in json_lines(done)}

    assert set(conv2d_feedback(run_grader(course, "grade", "ps1", "--json")).values()) == {"PLANTED IN THE STORE"}
    for regrading in (["--force"], ["--timeout", "7"], ["--timeout", "7", "--memory", "1500"]):
        feedback = conv2d_feedback(run_grader(course, "grade", "ps1", "--json", *regrading))
        assert set(feedback) == {"alice", "bob"}, regrading
        assert all(text.startswith("conv2d: 8 / 8") for text in feedback.values()), (regrading, feedback)
        for stored in (course / ".autograder" / "results" / "ps1").glob("*.json"):
            record = json.loads(stored.read_text())
            record["result"]["exercises"][0]["feedback"] = "PLANTED IN THE STORE"
            stored.write_text(json.dumps(record))


@pytest.mark.slow
def test_killed_run_resumes_with_exactly_one_result_per_submission(course):
    students = {f"s{i:02d}": "correct" if i % 3 else "flipped-kernel" for i in range(24)}
    for student, behaviour in students.items():
        nb = fixture_notebook("ps1", "correct-loops" if behaviour == "correct" else behaviour)
        nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(0.25)"))  # a kill lands mid-run
        submit(course, student, nb)
    env = dict(os.environ)
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", "ps1", "--json", "--workers", "1"],
                               cwd=course, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    seen = []
    for line in process.stdout:
        seen.append(json.loads(line))
        if len(seen) == 5:
            process.send_signal(signal.SIGKILL)
            break
    process.wait()
    process.stdout.close()
    stored = list((course / ".autograder" / "results" / "ps1").glob("*.json"))
    assert 5 <= len(stored) < len(students)
    resumed = run_grader(course, "grade", "ps1", "--json")
    assert resumed.returncode == 0, resumed.stderr
    results = json_lines(resumed)
    assert sorted(r["student"] for r in results) == sorted(students)
    for result in results:
        expected = 17 if students[result["student"]] == "correct" else 11  # flipped conv2d: 2 of 8
        assert result["score"] == expected, result["student"]
    assert len(list((course / ".autograder" / "results" / "ps1").glob("*.json"))) == len(students)
    assert not list((course / ".autograder" / "results" / "ps1").glob(".tmp-*"))


@pytest.mark.slow
def test_dask_path_grades_identically_to_the_local_path(course):
    from distributed import Client, LocalCluster

    sample_class.write_class(course, PS1, {"ada": "correct", "ben": "flipped-kernel", "cy": "partial",
                                           "dee": "untouched", "fay": "not-from-scratch"})
    local = json_lines(run_grader(course, "grade", "ps1", "--json", "--no-gradebook"))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        time.sleep(0.5)
        done = run_grader(course, "grade", "ps1", "--json", "--force", "--no-gradebook",
                          "--scheduler", cluster.scheduler_address)
        with Client(cluster) as client:  # what each Dask worker process ran, from its own log
            ran = client.run(lambda dask_worker: sorted({str(entry[0]) for entry in dask_worker.state.log
                                                         if str(entry[0]).startswith("grade_one-")
                                                         and entry[1:3] == ("executing", "memory")}))
    assert done.returncode == 0, done.stderr
    assert sum(len(keys) for keys in ran.values()) == 5, ran  # each submission graded once, on the cluster
    dask = json_lines(done)

    def key(results):
        return {r["student"]: (r["score"], [(e["name"], e["score"], e["feedback"]) for e in r["exercises"]])
                for r in results}

    assert key(dask) == key(local)


@pytest.mark.slow
def test_two_graders_on_one_course_do_not_corrupt_it(course):
    students = {f"p{i:02d}": ("correct-loops" if i % 2 else "flipped-kernel") for i in range(12)}
    for student, behaviour in students.items():
        submit(course, student, fixture_notebook("ps1", behaviour))
    command = [sys.executable, "-m", "autograder", "grade", "ps1", "--json", "--workers", "1", "--force"]
    runs = [subprocess.Popen(command, cwd=course, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err[-2000:] for _, err in outputs]
    for out, _ in outputs:
        assert sorted(json.loads(line)["student"] for line in out.splitlines()) == sorted(students)
    nbgrader(course, "export", "--to", str(course / "grades.csv"))
    with open(course / "grades.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["assignment"] == "ps1"]
    assert sorted(row["student_id"] for row in rows) == sorted(students)  # one row each
    for row in rows:
        assert float(row["raw_score"]) == (17 if students[row["student_id"]] == "correct-loops" else 11)


@pytest.mark.slow
def test_ctrl_c_keeps_what_was_graded_and_says_how_to_resume(course):
    for i in range(10):
        nb = fixture_notebook("ps1", "correct-loops")
        nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(0.3)"))
        submit(course, f"c{i}", nb)
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", "ps1", "--json", "--workers", "1"],
                               cwd=course, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-2000:]
    assert "run the same command again" in err and "Traceback" not in err
    graded = 1 + len(out.splitlines())
    assert json.loads(first)["status"] == "graded"
    resumed = json_lines(run_grader(course, "grade", "ps1", "--json"))
    assert len(resumed) == 10 and all(r["score"] == 17 for r in resumed)
    assert graded < 10


@pytest.mark.slow
def test_options_may_come_before_paths_and_a_summary_line_closes_the_table(course):
    submit(course, "alice", fixture_notebook("ps1", "correct-loops"))
    submit(course, "bob", fixture_notebook("ps1", "flipped-kernel"))
    first = run_grader(course, "grade", "ps1", "--timeout", "5", "submitted/alice/ps1", "submitted/bob/ps1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == ("2 notebook(s): 2 graded now, 0 unchanged (from the store), "
                                                     "0 error(s)")
    again = run_grader(course, "grade", "ps1", "--force", "submitted/alice/ps1", "--timeout", "5")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().splitlines()[-1].startswith("1 notebook(s): 1 graded now, 0 unchanged")
    rest = run_grader(course, "grade", "ps1", "--timeout", "5")
    assert rest.stdout.strip().splitlines()[-1].startswith("2 notebook(s): 0 graded now, 2 unchanged")


@pytest.mark.slow
def test_the_table_shows_every_error_reason_in_full(course):
    long_name = "a-notebook-with-a-long-name-" + "x" * 80 + ".ipynb"
    submit(course, "wes", fixture_notebook("ps1", "correct-loops"), name=long_name)
    submit(course, "wes", fixture_notebook("ps1", "correct-loops"))
    done = run_grader(course, "grade", "ps1", "--no-gradebook")
    assert done.returncode == 1
    assert long_name in done.stdout and "keep only the one to grade" in done.stdout


@pytest.mark.slow
def test_json_exercises_carry_their_verdicts_beside_the_same_feedback(course):
    """The contract's fields, and per graded function its groups, cause and problem (README,
    "3. Grade"): the feedback is the text made from exactly that verdict."""
    from autograder import feedback
    from autograder.verdicts import FunctionVerdict

    submit(course, "bob", fixture_notebook("ps1", "flipped-kernel"))
    submit(course, "cy", fixture_notebook("ps1", "np-convolve"))
    done = run_grader(course, "grade", "ps1", "--json", "--no-gradebook")
    assert done.returncode == 0, done.stderr
    results = {r["student"]: {e["name"]: e for e in r["exercises"]} for r in json_lines(done)}
    for exercises in results.values():
        for name, exercise in exercises.items():
            assert {"name", "score", "max_score", "feedback", "groups", "cause", "problem"} <= set(exercise)
            if name == "written_flip":
                assert (exercise["groups"], exercise["cause"], exercise["problem"]) == (None, None, None)
                continue
            verdict = FunctionVerdict.from_dict(name, exercise)
            assert feedback.text(verdict) == exercise["feedback"]
            assert (verdict.score, verdict.max_score) == (exercise["score"], exercise["max_score"])
    conv2d = results["bob"]["conv2d"]
    assert conv2d["cause"] == {"id": "flipped-kernel", "params": {"function": "conv2d"}, "specific": True,
                               "visible": True}
    assert conv2d["problem"] is None and conv2d["score"] == 2
    first = conv2d["groups"][0]
    assert {k: first[k] for k in ("cell", "title", "points", "earned", "visible", "state")} == {
        "cell": "test_conv2d_hidden", "title": "the notebook's visible examples", "points": 2, "earned": 0,
        "visible": True, "state": "failed"}
    assert first["failure"]["kind"] == "values" and first["failure"]["case"] == "4x4 arange with [[1, 0], [0, -1]]"
    assert [g["visible"] for g in conv2d["groups"]] == [True] + [False] * (len(conv2d["groups"]) - 1)
    conv1d = results["cy"]["conv1d"]
    assert conv1d["score"] == 0 and conv1d["cause"] is None
    assert conv1d["problem"]["kind"] == "policy" and conv1d["problem"]["violation"]["what"] == "numpy.convolve"
    assert (conv1d["problem"]["violation"]["rule"], conv1d["problem"]["violation"]["line"]) == ("ready-made", 4)
