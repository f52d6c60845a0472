"""What the gradebook package hands to nbgrader, exactly: the command line and environment of an
nbgrader command, the scripts folder on PATH, the in-process alembic stamp (written to kill the
mutants `make mutate` left alive in autograder/gradebook/: README "Mutation testing").

nbgrader's own commands are not started here (the slow tests do that): `subprocess.run` is
replaced by a recorder, so what is asserted is what our code asks for."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from autograder.course import CourseError
from autograder.gradebook import nbgrader_side
from autograder.shadows.gradebook_rows import ALEMBIC_HEAD


class Recorder:
    """Stands in for subprocess.run: keeps each call, answers with `returncode`, `stdout`, `stderr`."""

    def __init__(self, returncode=0, stdout="", stderr=""):
        self.calls, self.answer = [], (returncode, stdout, stderr)

    def __call__(self, command, **options):
        self.calls.append((command, options))
        returncode, stdout, stderr = self.answer
        return subprocess.CompletedProcess(command, returncode, stdout, stderr)


@pytest.fixture
def recorder(monkeypatch):
    recorded = Recorder()
    monkeypatch.setattr(subprocess, "run", recorded)
    return recorded


def test_an_nbgrader_command_runs_this_interpreters_nbgrader_from_the_course_root(recorder, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "/marker/bin")
    monkeypatch.setenv("MARKER_VARIABLE", "kept")
    done = nbgrader_side.nbgrader_command(tmp_path, "db", "student", "list")
    assert done.returncode == 0
    [(command, options)] = recorder.calls
    assert command == [sys.executable, "-m", "nbgrader", "db", "student", "list"]
    scripts = os.path.dirname(sys.executable)
    assert options == {
        "cwd": tmp_path,
        "env": {**os.environ, "PATH": f"{scripts}{os.pathsep}/marker/bin"},
        "capture_output": True,
        "text": True,
    }
    assert os.environ["PATH"] == "/marker/bin"  # the grader's own environment is left alone


def test_an_nbgrader_command_without_a_path_finds_this_interpreters_scripts(recorder, monkeypatch, tmp_path):
    monkeypatch.delenv("PATH")
    nbgrader_side.nbgrader_command(tmp_path, "--version")
    assert recorder.calls[0][1]["env"]["PATH"] == os.path.dirname(sys.executable) + os.pathsep


def test_a_failing_nbgrader_command_is_a_course_error_with_the_end_of_its_words(monkeypatch, tmp_path):
    monkeypatch.setattr(subprocess, "run", Recorder(0, "fine", "warnings only"))
    assert nbgrader_side.run_nbgrader(tmp_path, "db", "upgrade") is None
    for code in (1, 2):
        monkeypatch.setattr(subprocess, "run", Recorder(code, "", "HEAD" + "e" * 3000))
        with pytest.raises(CourseError) as raised:
            nbgrader_side.run_nbgrader(tmp_path, "db", "upgrade")
        assert str(raised.value) == "'nbgrader db upgrade' failed:\n" + "e" * 3000
    recorded = Recorder(1, "only stdout said why", "")
    monkeypatch.setattr(subprocess, "run", recorded)
    with pytest.raises(CourseError) as raised:
        nbgrader_side.run_nbgrader(tmp_path, "export")
    assert str(raised.value) == "'nbgrader export' failed:\nonly stdout said why"
    assert recorded.calls[0][0][-1] == "export" and recorded.calls[0][1]["cwd"] == tmp_path


def test_this_interpreters_scripts_go_on_path_once(monkeypatch):
    monkeypatch.setattr(sys, "executable", "/venv/bin/python")
    monkeypatch.setenv("PATH", f"/usr/bin{os.pathsep}/venv/bin/extra")
    nbgrader_side._scripts_on_path()
    assert os.environ["PATH"] == f"/venv/bin{os.pathsep}/usr/bin{os.pathsep}/venv/bin/extra"
    nbgrader_side._scripts_on_path()  # already there: not added twice
    assert os.environ["PATH"] == f"/venv/bin{os.pathsep}/usr/bin{os.pathsep}/venv/bin/extra"
    monkeypatch.setenv("PATH", f"/usr/bin{os.pathsep}/venv/bin")  # there, but not first: left as it is
    nbgrader_side._scripts_on_path()
    assert os.environ["PATH"] == f"/usr/bin{os.pathsep}/venv/bin"
    monkeypatch.delenv("PATH")
    nbgrader_side._scripts_on_path()
    assert os.environ["PATH"] == f"/venv/bin{os.pathsep}"


def test_the_alembic_stamp_is_read_in_this_process_once(monkeypatch):
    import nbgrader.api

    def spawns_alembic() -> str:  # what nbgrader's own does: start the `alembic heads` command
        raise AssertionError("alembic was started")

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", spawns_alembic)
    nbgrader_side.stamp_in_process()
    ours = nbgrader.api.get_alembic_version
    assert ours is not spawns_alembic and ours() == ALEMBIC_HEAD == nbgrader_side.alembic_head()
    assert ours.__module__ == nbgrader_side.__name__
    nbgrader_side.stamp_in_process()  # already ours: kept
    assert nbgrader.api.get_alembic_version is ours
