"""The result store: a result is kept whole or not at all, and is served only for what was graded."""

import json
import os
import subprocess
import sys

import pytest

from autograder import store
from autograder.course import get_assignment
from autograder.results import Exercise, NotebookResult
from tests.conftest import ROOT, make_course

PS1 = get_assignment("ps1")


def result(student: str, marker: str) -> NotebookResult:
    return NotebookResult(student, "ps1", "convolution", f"submitted/{student}/ps1/convolution.ipynb", "graded",
                          None, 8.0, 20.0, [Exercise("conv2d", 8.0, 8.0, f"conv2d: 8 / 8 {marker}")])


@pytest.fixture
def course(tmp_path):
    root = make_course(tmp_path / "course")
    notebook = root / "submitted" / "alice" / "ps1" / "convolution.ipynb"
    notebook.parent.mkdir(parents=True)
    notebook.write_text('{"cells": []}')
    return root, notebook


def test_a_saved_result_comes_back_as_it_was(course):
    root, notebook = course
    saved = result("alice", "first")
    store.ResultStore(root, PS1, "10.0/2048/").save(notebook, saved)
    assert store.ResultStore(root, PS1, "10.0/2048/").load(notebook) == saved
    (stored,) = (root / ".autograder" / "results" / "ps1").iterdir()
    assert stored.name == f"{store.ResultStore.key(notebook)}.json"


@pytest.mark.parametrize("failing", ["json.dump", "os.replace", "os.fsync"])
def test_a_save_that_fails_half_way_keeps_the_old_result(course, monkeypatch, failing):
    root, notebook = course
    results = store.ResultStore(root, PS1)
    results.save(notebook, result("alice", "old"))
    module, name = failing.split(".")
    original = getattr(json if module == "json" else os, name)

    def half_then_fail(*args, **kwargs):
        if name == "dump":
            args[1].write('{"fingerprint": "')  # part of the new record reaches the disk first
            args[1].flush()
        elif name == "fsync":
            original(*args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(f"autograder.store.{failing}", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        results.save(notebook, result("alice", "new"))
    monkeypatch.undo()
    assert results.load(notebook) == result("alice", "old")
    assert [p.name for p in results.folder.iterdir()] == [f"{results.key(notebook)}.json"]  # no temporary left


def test_a_changed_notebook_limits_or_reference_is_not_served(course):
    root, notebook = course
    store.ResultStore(root, PS1, "10.0/2048/").save(notebook, result("alice", "old"))
    assert store.ResultStore(root, PS1, "10.0/2048/").load(notebook) is not None
    assert store.ResultStore(root, PS1, "5.0/2048/").load(notebook) is None
    assert store.ResultStore(root, PS1, "10.0/1024/").load(notebook) is None
    assert store.ResultStore(root, PS1, "10.0/2048/per-student").load(notebook) is None

    source = PS1.source_path(root)
    source.write_text(source.read_text().replace("### END SOLUTION", "    # edited\n    ### END SOLUTION", 1))
    assert store.ResultStore(root, PS1, "10.0/2048/").load(notebook) is None  # the reference changed

    store.ResultStore(root, PS1, "10.0/2048/").save(notebook, result("alice", "again"))
    notebook.write_text('{"cells": [], "metadata": {}}')
    assert store.ResultStore(root, PS1, "10.0/2048/").load(notebook) is None  # the student resubmitted


def test_the_grader_code_and_the_reference_are_part_of_the_fingerprint(tmp_path, monkeypatch):
    package = tmp_path / "package"
    (package / "cases").mkdir(parents=True)
    (package / "cases" / "ps1.py").write_text("POINTS = 8\n")
    source = tmp_path / "reference.ipynb"
    source.write_text("{}")
    monkeypatch.setattr(store, "PACKAGE", package)
    first = store.grader_fingerprint(str(source), 1)
    assert store.grader_fingerprint(str(source), 1) == first
    (package / "cases" / "ps1.py").write_text("POINTS = 9\n")  # a module in a subpackage changed
    second = store.grader_fingerprint(str(source), 2)
    assert second != first
    source.write_text("{} ")
    third = store.grader_fingerprint(str(source), 3)
    assert third not in (first, second)
    (package / "cases" / "ps1.py").rename(package / "cases" / "ps2.py")  # same bytes, another module
    assert store.grader_fingerprint(str(source), 4) not in (first, second, third)


def test_an_unreadable_or_foreign_record_is_not_served(course):
    root, notebook = course
    results = store.ResultStore(root, PS1)
    results.save(notebook, result("alice", "old"))
    path = results.folder / f"{results.key(notebook)}.json"
    path.write_text("{not json")
    assert results.load(notebook) is None
    path.write_text(json.dumps({"fingerprint": "someone else's", "result": json.loads(result("a", "x").to_json())}))
    assert results.load(notebook) is None
    os.remove(path)
    assert results.load(notebook) is None


def test_the_new_record_is_written_beside_the_old_one_then_renamed(course, monkeypatch):
    """The rename is atomic only within one filesystem: the temporary lives in the results folder."""
    root, notebook = course
    results = store.ResultStore(root, PS1)
    renamed = []
    real_replace = os.replace

    def replace(source, target):
        renamed.append((os.path.dirname(source), os.path.basename(source), target))
        real_replace(source, target)

    monkeypatch.setattr("autograder.store.os.replace", replace)
    results.save(notebook, result("alice", "new"))
    ((folder, name, target),) = renamed
    assert folder == str(results.folder) and name.startswith(".tmp-") and name.endswith(".json")
    assert target == results.folder / f"{results.key(notebook)}.json"


def test_a_vanished_notebook_has_a_fingerprint_and_no_stored_result(course):
    root, notebook = course
    results = store.ResultStore(root, PS1)
    results.save(notebook, result("alice", "old"))
    notebook.unlink()
    assert results.fingerprint(notebook) == results.fingerprint(notebook.with_name("other.ipynb"))
    assert results.load(notebook) is None


def test_half_written_results_of_a_dead_grader_are_swept_and_never_read_as_results(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "source").symlink_to(ROOT / "source")
    assignment = PS1
    folder = store.results_folder(course, assignment)
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = folder / f".tmp-{int(dead.stdout)}-abc.json"
    live = folder / f".tmp-{os.getpid()}-def.json"
    for path in (stale, live):
        path.write_text('{"result": {"student": "half-written')
    assert store.stored_results(course, assignment) == []  # temporary files are not results
    store.ResultStore(course, assignment)
    assert not stale.exists()
    assert live.exists()  # another grader (here: this process) may still be writing it


def test_a_verdict_comes_back_from_the_store_as_it_was(course, root):
    from autograder import feedback
    from tests.test_compare import judged

    store_root, notebook = course
    conv2d = judged(root, "ps1", "conv2d", lambda image, kernel: image[:-1, :-1])
    saved = result("alice", "verdict")
    saved.exercises[0] = Exercise("conv2d", conv2d.score, conv2d.max_score, feedback.text(conv2d), verdict=conv2d)
    store.ResultStore(store_root, PS1).save(notebook, saved)
    loaded = store.ResultStore(store_root, PS1).load(notebook)
    assert loaded == saved and loaded.exercises[0].verdict == conv2d
    assert feedback.text(loaded.exercises[0].verdict) == saved.exercises[0].feedback


@pytest.mark.parametrize("version", [None, 1, 3])
def test_a_result_of_another_version_is_graded_again_never_misread(course, version):
    """A record of another form of the verdicts (one stored before they were data: feedback text
    only) is not served to `grade`, which grades it again, and the class report refuses it."""
    from autograder import report
    from autograder.course import CourseError

    root, notebook = course
    results = store.ResultStore(root, PS1)
    results.save(notebook, result("alice", "old"))
    path = results.folder / f"{results.key(notebook)}.json"
    record = json.loads(path.read_text())
    assert record["version"] == store.VERSION == 2
    if version is None:
        del record["version"]
    else:
        record["version"] = version
    path.write_text(json.dumps(record))
    assert results.load(notebook) is None
    with pytest.raises(ValueError, match=f"another version of the grader \\(its verdicts in form {version}, not 2\\)"):
        store.stored_results(root, PS1)
    with pytest.raises(CourseError, match="grade again with 'python -m autograder grade ps1'"):
        report.load_results(root, PS1)
