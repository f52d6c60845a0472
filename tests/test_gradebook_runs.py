"""The gradebook through the real command line: a regrade on a graded course that knows the
assignment imports none of nbgrader's stack, keeps a grade given by hand, and a run killed after
it reported results has those results in the gradebook."""

import json
import os
import signal
import subprocess
import sys

import nbformat
import pytest

from autograder import gradebook
from tests.conftest import fixture_notebook, run_grader, submit
from tests.test_gradebook import registered_gradebook

#: What a regrade must not import: nbgrader (its package import alone pulls in its server
#: extensions, apps and nbconvert), the ORM and migrations behind its API, and the traitlets
#: configuration system (nbformat itself brings in only traitlets' logger).
HEAVY = ("nbgrader", "sqlalchemy", "alembic", "nbconvert", "traitlets", "tornado", "jupyter_server", "nbformat",
         "jsonschema", "matplotlib")

PROBE = """
import atexit, json, runpy, sys

def report(path=sys.argv[1]):
    with open(path, "w") as handle:
        json.dump(sorted(sys.modules), handle)

atexit.register(report)
sys.argv = ["autograder", *sys.argv[2:]]
runpy.run_module("autograder", run_name="__main__", alter_sys=True)
"""


def grade_reporting_imports(course, tmp_path, *args) -> tuple[subprocess.CompletedProcess, set[str]]:
    """`python -m autograder ARGS` from the course root, and the modules it had imported at exit."""
    report = tmp_path / "modules.json"
    env = dict(os.environ)
    env.pop("AUTOGRADER_COURSE_ROOT", None)
    done = subprocess.run([sys.executable, "-c", PROBE, str(report), *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=300)
    return done, set(json.loads(report.read_text()))


def heavy(modules: set[str]) -> set[str]:
    return {m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)}


@pytest.mark.slow
def test_a_regrade_imports_no_nbgrader_and_keeps_the_grade_given_by_hand(course, tmp_path):
    from nbgrader.api import Gradebook

    registered_gradebook(course)
    submit(course, "ada", fixture_notebook("ps1", "correct-loops"))
    submit(course, "ben", fixture_notebook("ps1", "flipped-kernel"))
    first = run_grader(course, "grade", "ps1")
    assert first.returncode == 0, first.stderr
    with Gradebook(gradebook.db_url(course), gradebook.COURSE_ID) as gb:  # the formgrader's way
        grade = gb.find_grade("written_flip", "convolution", "ps1", "ben")
        grade.manual_score, grade.needs_manual_grade = 2.5, False
        gb.db.commit()

    done, modules = grade_reporting_imports(course, tmp_path, "grade", "ps1", "--force", "submitted/ben/ps1")
    assert done.returncode == 0, done.stderr
    assert "1 graded now" in done.stdout, done.stdout
    assert {"autograder.shadows.gradebook_rows", "sqlite3", "PIL.Image"} <= modules  # it did record, and draw
    assert heavy(modules) == set(), sorted(heavy(modules))
    ben = next(line for line in done.stdout.splitlines() if line.startswith("ben "))
    assert "2.5/3" in ben and "13.5/20" in ben, done.stdout  # flipped conv2d 2/8, 4/4, 5/5, and the 2.5
    with Gradebook(gradebook.db_url(course), gradebook.COURSE_ID) as gb:
        submission = gb.find_submission_notebook("convolution", "ps1", "ben")
        assert submission.score == 13.5 and not submission.needs_manual_grade
        assert gb.find_grade("test_conv2d_hidden", "convolution", "ps1", "ben").auto_score == 2.0


@pytest.mark.slow
def test_a_fresh_course_still_registers_through_nbgrader(course, tmp_path):
    submit(course, "ada", fixture_notebook("ps1", "correct-loops"))
    done, modules = grade_reporting_imports(course, tmp_path, "grade", "ps1")
    assert done.returncode == 0, done.stderr
    assert "nbgrader.api" in modules  # the probe sees nbgrader when it is used
    nb = nbformat.read(course / "autograded" / "ada" / "ps1" / "convolution.ipynb", as_version=4)
    assert any("conv2d: 8" in o.get("data", {}).get("text/plain", "") for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)


@pytest.mark.slow
def test_what_a_killed_run_reported_is_in_the_gradebook(course):
    from nbgrader.api import Gradebook

    registered_gradebook(course)
    students = {f"s{i:02d}": "correct-loops" if i % 3 else "flipped-kernel" for i in range(16)}
    for student, behaviour in students.items():
        nb = fixture_notebook("ps1", behaviour)
        nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(0.25)"))  # a kill lands mid-run
        submit(course, student, nb)
    process = subprocess.Popen([sys.executable, "-m", "autograder", "grade", "ps1", "--json", "--workers", "1"],
                               cwd=course, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               start_new_session=True)
    reported = []
    for line in process.stdout:
        reported.append(json.loads(line))
        if len(reported) == 3:
            os.killpg(process.pid, signal.SIGKILL)
            break
    reported += [json.loads(line) for line in process.stdout]  # printed before the kill
    process.wait()
    process.stdout.close()
    assert 3 <= len(reported) < len(students)
    with Gradebook(gradebook.db_url(course), gradebook.COURSE_ID) as gb:
        in_book = {s.student.id: s.score for s in gb.assignment_submissions("ps1")}
    for result in reported:
        assert in_book.get(result["student"]) == result["score"], result["student"]
