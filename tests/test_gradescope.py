"""`python -m autograder gradescope`: the bundle, and run_autograder in a container-like root.

Gradescope unpacks the bundle in $GRADESCOPE_ROOT/source, puts the student's files in
submission/ and submission_metadata.json next to them, runs run_autograder and reads
results/results.json. The tests lay out a temporary root the same way and run the real script.
"""

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder import gradescope, sandbox
from autograder.cases import ps1 as ps1_cases
from tests.conftest import ROOT, fixture_notebook, json_lines, make_course, run_grader

TEST_KEYS = {"name", "score", "max_score", "status", "output", "output_format", "visibility"}
FUNCTIONS = ["conv2d", "convolve2d", "conv1d"]
POINTS = {"conv2d": 8, "convolve2d": 4, "conv1d": 5}


def build(tmp_path_factory, *options) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "autograder.zip"
    done = run_grader(ROOT, "gradescope", "ps1", "--out", str(out), *options)
    assert done.returncode == 0, done.stderr
    assert out.is_file() and str(out) in done.stdout
    return out


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    return build(tmp_path_factory)


@pytest.fixture(scope="module")
def seeded_bundle(tmp_path_factory) -> Path:
    return build(tmp_path_factory, "--per-student-seeds")


def unpack(bundle: Path, root: Path) -> Path:
    """Gradescope's layout: the bundle's files (with their modes) in ROOT/source."""
    source = root / "source"
    with zipfile.ZipFile(bundle) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, source))
            mode = info.external_attr >> 16 & 0o777
            if mode:
                path.chmod(mode)
    return root


@pytest.fixture(scope="module")
def container(bundle, tmp_path_factory) -> Path:
    return unpack(bundle, tmp_path_factory.mktemp("gradescope"))


def run_autograder(root: Path, files: dict, user: dict | None = None, env: dict | None = None):
    """Put `files` (name -> notebook or text) in ROOT/submission/ and run ROOT/source/run_autograder
    with python3 from this virtual environment; returns (results.json, the finished process)."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / folder).mkdir()
    for name, content in files.items():
        path = root / "submission" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content)
        else:
            nbformat.write(content, path)
    metadata = root / "submission_metadata.json"
    metadata.unlink(missing_ok=True)
    if user is not None:
        metadata.write_text(json.dumps({"id": 1, "assignment": {"title": "ps1"}, "users": [user]}))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AUTOGRADER_", "PYTHON"))}
    environment.update({"GRADESCOPE_ROOT": str(root),
                        "PATH": os.path.dirname(sys.executable) + os.pathsep + environment["PATH"]})
    environment.update(env or {})
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text()), done


@pytest.fixture(scope="module")
def grade_command(tmp_path_factory) -> dict:
    """What `python -m autograder grade` says about the same notebooks (the nbgrader page's words)."""
    course = make_course(tmp_path_factory.mktemp("course") / "course")
    for student, behaviour in (("correct", "correct-loops"), ("flipped", "flipped-kernel")):
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(fixture_notebook("ps1", behaviour), folder / "convolution.ipynb")
    done = run_grader(course, "grade", "ps1", "--json", "--no-gradebook")
    assert done.returncode == 0, done.stderr
    return {r["student"]: r for r in json_lines(done)}


ANN = {"email": "ann@example.org", "id": 4711, "name": "Ann Example"}
BEN = {"email": "ben@example.org", "id": 4712, "name": "Ben Example"}


def test_bundle_holds_setup_run_and_the_course_files_only(bundle):
    with zipfile.ZipFile(bundle) as archive:
        infos = {info.filename: info for info in archive.infolist()}
        names = set(infos)
        for script in ("setup.sh", "run_autograder"):
            assert infos[script].external_attr >> 16 & 0o777 == 0o755, script
        requirements = archive.read("requirements.txt").decode().split()
        setup = archive.read("setup.sh").decode()
        settings = json.loads(archive.read("gradescope.json"))
    with open(ROOT / "pyproject.toml", "rb") as handle:
        assert requirements == tomllib.load(handle)["project"]["dependencies"]  # the pinned set
    assert all("==" in line for line in requirements)
    assert "-r \"$HERE/requirements.txt\"" in setup and "apt-get install -y -qq bubblewrap" in setup
    assert settings == {"assignment": "ps1", "hidden_details": "after_due_date", "per_student_seeds": False,
                        "timeout": 10.0, "memory_mb": 2048}
    assert {"nbgrader_config.py", "source/ps1/convolution.ipynb", "assignments/ps1/convolution.ipynb",
            "autograder/grading.py", "autograder/gradescope.py", "autograder/cases/ps1.py"} <= names
    assert ".autograder/secret" in names  # the course's hidden inputs are drawn from it
    for name in names - {".autograder/secret"}:  # no other assignment's files, tests, runtime state or junk
        assert not name.startswith(("tests/", "source/ps2", "assignments/ps2", "submitted/", "autograded/", ".")), name
        assert "__pycache__" not in name and not name.endswith(".pyc") and "gradebook.db" not in name, name


def test_scripts_are_valid_bash(container):
    for script in ("setup.sh", "run_autograder"):
        done = subprocess.run(["bash", "-n", str(container / "source" / script)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


@pytest.mark.slow
def test_correct_submission(container, grade_command):
    results, done = run_autograder(container, {"convolution.ipynb": fixture_notebook("ps1", "correct-loops")}, ANN)
    assert f"grader: {container / 'source' / 'autograder'}" in done.stdout  # the bundle's own package ran
    assert [t["name"] for t in results["tests"]] == FUNCTIONS
    expected = {e["name"]: e for e in grade_command["correct"]["exercises"]}
    for test in results["tests"]:
        assert set(test) == TEST_KEYS
        assert test["score"] == test["max_score"] == expected[test["name"]]["max_score"] == POINTS[test["name"]]
        assert test["status"] == "passed" and test["visibility"] == "visible" and test["output_format"] == "text"
        assert test["output"] == expected[test["name"]]["feedback"]  # the same words as the grade command
    assert results["score"] == 17.0 == grade_command["correct"]["score"]
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 1
    assert results["output_format"] == "text" and results["stdout_visibility"] == "hidden"
    assert results["output"].splitlines()[0] == "ps1: 17 / 17 points from the autograder (conv2d, convolve2d, conv1d)."
    assert "written_flip (3 points): graded by hand on Gradescope" in results["output"]
    assert results["extra_data"]["status"] == "graded"


@pytest.mark.slow
def test_buggy_submission_hides_hidden_case_details_until_the_due_date(container, grade_command):
    results, _ = run_autograder(container, {"convolution.ipynb": fixture_notebook("ps1", "flipped-kernel")}, ANN)
    tests = {t["name"]: t for t in results["tests"]}
    full = {e["name"]: e for e in grade_command["flipped"]["exercises"]}
    conv2d = tests["conv2d"]
    assert conv2d["score"] == full["conv2d"]["score"] < conv2d["max_score"] and conv2d["status"] == "failed"
    assert conv2d["visibility"] == "visible"  # the score is always shown
    lines = full["conv2d"]["feedback"].splitlines()
    (header,) = [i for i, line in enumerate(lines) if f"[FAIL] {ps1_cases.SIZES_TITLE}" in line]
    hidden_line = lines[header + 1]  # a hidden group's failing case, with its values
    assert "8x8 float image" in hidden_line and hidden_line not in conv2d["output"]
    assert "details of this hidden case: shown after the due date" in conv2d["output"]
    assert "4x4 arange with [[1, 0], [0, -1]]" in conv2d["output"]  # the visible example's failure stays
    details = tests["conv2d: hidden cases in detail"]
    assert details["visibility"] == "after_due_date" and details["score"] == details["max_score"] == 0
    assert details["output"] == full["conv2d"]["feedback"]
    assert tests["convolve2d"]["status"] == "passed" and "convolve2d: hidden cases in detail" not in tests
    assert results["score"] == grade_command["flipped"]["score"]
    assert sum(t["score"] for t in results["tests"]) == results["score"]


BROKEN = {
    "unreadable": ({"convolution.ipynb": '{"cells": [ this is not json'}, "not a readable notebook"),
    "none": ({"notes.txt": "I forgot"}, "no notebook was uploaded: upload convolution.ipynb"),
    "two": ({"a.ipynb": "{}", "b.ipynb": "{}"},
            "2 notebooks were uploaded (a.ipynb, b.ipynb) and none is named convolution.ipynb"),
    "other": ({"convolution.ipynb": "ps2"}, "is the notebook of ps2 (shapes_and_padding.ipynb), not of ps1"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_submissions_score_0_with_a_clear_message(container, case):
    files, message = BROKEN[case]
    files = {name: fixture_notebook("ps2", "correct") if text == "ps2" else text for name, text in files.items()}
    results, _ = run_autograder(container, files, ANN)
    assert message in results["output"]
    assert results["output"].startswith("Not graded: ")
    assert results["score"] == 0 and results["extra_data"]["status"] == "error"
    assert [t["name"] for t in results["tests"]] == FUNCTIONS
    for test in results["tests"]:
        assert set(test) == TEST_KEYS and test["score"] == 0 and test["status"] == "failed"
        assert test["max_score"] == POINTS[test["name"]] and test["output"].startswith(f"{test['name']}: not graded: ")


@pytest.mark.slow
@pytest.mark.parametrize("files, note", [
    ({"hw/convolution (1).ipynb": "correct"}, None),  # renamed, in a folder: the only notebook is graded
    ({"convolution.ipynb": "correct", "scratch.ipynb": "{}"}, "Also uploaded, not graded: scratch.ipynb."),
])
def test_the_released_name_or_the_only_notebook_is_graded(container, files, note):
    files = {name: fixture_notebook("ps1", "correct-loops") if text == "correct" else text
             for name, text in files.items()}
    results, _ = run_autograder(container, files, ANN)
    assert results["score"] == 17.0 and results["extra_data"]["status"] == "graded"
    assert (note in results["output"].splitlines()) if note else ("Also uploaded" not in results["output"])


@pytest.mark.slow
def test_rlimits_fallback_says_so_and_keeps_the_course_files_private(container):
    secret = container / "source" / "source" / "ps1" / "convolution.ipynb"
    nb = fixture_notebook("ps1", "correct-loops")
    # A student cell that spoils conv2d if it can read the reference notebook.
    nb.cells.append(nbformat.v4.new_code_cell(
        f"try:\n    open({str(secret)!r}).read()\n    conv2d = lambda image, kernel: 'leaked'\n"
        "except OSError:\n    pass"))
    results, done = run_autograder(container, {"convolution.ipynb": nb}, ANN, {"AUTOGRADER_SANDBOX": "rlimits"})
    assert "Graded with the rlimits sandbox" in results["output"]
    assert "sandbox: rlimits" in done.stdout and "warning: bubblewrap cannot run" in done.stdout
    assert results["extra_data"]["sandbox"] == "rlimits"
    for path in (secret, secret.parent, container / "source"):
        assert path.stat().st_mode & 0o077 == 0, path  # only the grader's uid may read the course files
    if os.geteuid() == 0 and sandbox.others_can_run_python():
        # As on Gradescope (root, a system Python): student code runs as another uid and cannot read them.
        assert results["score"] == 17.0, results["tests"][0]["output"]


@pytest.mark.slow
def test_per_student_inputs_from_submission_metadata(seeded_bundle, tmp_path):
    root = unpack(seeded_bundle, tmp_path / "gradescope")
    flipped = {"convolution.ipynb": fixture_notebook("ps1", "flipped-kernel")}

    def details(user):
        results, _ = run_autograder(root, flipped, user)
        assert results["extra_data"]["inputs"] == "per-student"
        return next(t for t in results["tests"] if t["name"] == "conv2d: hidden cases in detail")["output"]

    ann = details(ANN)
    assert details(ANN) == ann  # the same student, the same inputs
    assert details(BEN) != ann  # another student, other inputs
    assert details({**ANN, "name": "Ann Renamed", "email": "new@example.org"}) == ann  # keyed by Gradescope id
    results, _ = run_autograder(root, {"convolution.ipynb": fixture_notebook("ps1", "correct-loops")}, BEN)
    assert results["score"] == 17.0  # an honest student keeps full marks


def test_a_grader_that_cannot_start_still_writes_results(container, tmp_path):
    broken = tmp_path / "bin"
    broken.mkdir()
    (broken / "python3").write_text("#!/bin/sh\necho 'python3: broken on purpose' >&2\nexit 3\n")
    (broken / "python3").chmod(0o755)
    (container / "results").mkdir(exist_ok=True)
    (container / "results" / "results.json").unlink(missing_ok=True)
    environment = {**os.environ, "GRADESCOPE_ROOT": str(container), "PATH": f"{broken}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run([str(container / "source" / "run_autograder")], env=environment, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 3 and "broken on purpose" in done.stderr
    results = json.loads((container / "results" / "results.json").read_text())
    assert results["score"] == 0 and results["tests"] == []
    assert "The autograder could not run (a problem with the grader, not with your notebook)." in results["output"]


def test_withholding_keeps_the_visible_group_and_every_score_line():
    from autograder.feedback import text
    from autograder.results import Exercise
    from autograder.verdicts import (
        Cause,
        CheckVerdict,
        Failure,
        FailureKind,
        FunctionVerdict,
        GroupState,
        GroupVerdict,
        Summary,
    )

    def wrong(case, expected, got):
        return Failure(FailureKind.UNEQUAL, case, f"f({case})", Summary("other", "int", shown=expected),
                       Summary("other", "int", shown=got))

    groups = [GroupVerdict("visible examples", 1, 0, True, GroupState.FAILED, wrong("A", "1", "2")),
              GroupVerdict("hidden one", 1, 1, False, GroupState.PASSED),
              GroupVerdict("hidden two", 1, 0, False, GroupState.FAILED, wrong("B", "7", "8"))]
    verdict = FunctionVerdict("f", [CheckVerdict("test_f", 3, groups)], cause=Cause("size-off-by-one"))
    exercise = Exercise("f", 1.0, 3.0, text(verdict), verdict=verdict)
    output, withheld = gradescope.withheld_output(exercise, "after_published")
    assert withheld
    assert output.splitlines() == ["f: 1 / 3", "  [FAIL] visible examples (0/1)", "         A: expected 1, got 2",
                                   "  [ok ] hidden one (1/1)", "  [FAIL] hidden two (0/1)",
                                   "         details of this hidden case: shown once grades are published",
                                   "  wrong values:", "    call  expected  returned", "    f(A)  1         2"]
    # the cause is told once a visible example shows it too
    verdict.cause = Cause("size-off-by-one", visible=True)
    assert "  likely cause: off by one: count the window positions, floor((n + 2p - span) / s) + 1" in \
        gradescope.withheld_output(Exercise("f", 1.0, 3.0, "", verdict=verdict), "after_published")[0].splitlines()
    # without a verdict (nothing says which groups are hidden) only the score is shown
    assert gradescope.withheld_output(Exercise("f", 1.0, 3.0, text(verdict)), "after_due_date") == ("f: 1 / 3", True)
    passed = FunctionVerdict("f", [CheckVerdict("test_f", 3, [GroupVerdict("a", 3, 3, True, GroupState.PASSED)])])
    assert gradescope.withheld_output(Exercise("f", 3.0, 3.0, text(passed), verdict=passed), "after_due_date") == \
        ("f: 3 / 3\n  [ok ] a (3/3)", False)


def test_student_key_from_submission_metadata(tmp_path):
    path = tmp_path / "submission_metadata.json"
    path.write_text(json.dumps({"users": [BEN, ANN]}))
    assert gradescope.student_key(path) == ("4711+4712", "Ben Example, Ann Example")  # a group, in a stable order
    path.write_text("{not json")
    assert gradescope.student_key(path)[0] is None
    assert gradescope.student_key(tmp_path / "missing.json")[0] is None


def test_usage_errors(tmp_path):
    done = run_grader(ROOT, "gradescope", "ps9", "--out", str(tmp_path / "x.zip"))
    assert done.returncode == 2 and "unknown assignment 'ps9'" in done.stderr
    assert run_grader(ROOT, "gradescope", "ps1").returncode == 2  # --out is required
    assert not (tmp_path / "x.zip").exists()
