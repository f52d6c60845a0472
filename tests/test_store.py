"""The result store: half-written files of a killed grader are swept, a live writer's are kept."""

import os
import subprocess
import sys

from autograder.course import get_assignment
from autograder.store import ResultStore, results_folder, stored_results
from tests.conftest import ROOT


def test_half_written_results_of_a_dead_grader_are_swept_and_never_read_as_results(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "source").symlink_to(ROOT / "source")
    assignment = get_assignment("ps1")
    folder = results_folder(course, assignment)
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = folder / f".tmp-{int(dead.stdout)}-abc.json"
    live = folder / f".tmp-{os.getpid()}-def.json"
    for path in (stale, live):
        path.write_text('{"result": {"student": "half-written')
    assert stored_results(course, assignment) == []  # temporary files are not results
    ResultStore(course, assignment)
    assert not stale.exists()
    assert live.exists()  # another grader (here: this process) may still be writing it
