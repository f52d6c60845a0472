"""One bad file never stops a run (issue 16, "One bad file stops everyone").

Each test hands in, beside honest submissions, files that are broken in one way (deep or huge JSON,
wrong types, bytes that are not UTF-8, entries the grader cannot read, rows the gradebook refuses),
runs the real `python -m autograder grade` twice, and checks that every bad one is exactly its
student's error row while every honest one is graded with its exact total and recorded: in the
JSON output, the result store, nbgrader's gradebook.db and autograded/.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder import notebooks
from autograder.store import ResultStore
from tests.conftest import build_submission, fixture_notebook, fixture_sections, json_lines, run_grader, submit

HONEST_TOTAL = 17.0  # correct-loops: every autograded point of ps1; the written question waits for a human
MAX_TOTAL = 20.0
WHEN = "2026-03-01 12:30:00.000000 UTC"
RESUBMIT = "hand it in again as Jupyter saves it (File > Save), without editing its JSON by hand"
TIMESTAMP_FIX = ("the submission time is unknown (so lateness cannot be judged); restore the timestamp.txt nbgrader's "
                 "exchange wrote, or delete it to grade without a submission time, and grade again")
SECRET_FIX = ("nbgrader's release_feedback could not read it; restore the submission_secret.txt nbgrader's exchange "
              "wrote, or delete it (you then hand this student's feedback out yourself), and grade again")


def honest(course: Path, *students: str) -> None:
    for student in students:
        submit(course, student, fixture_notebook("ps1", "correct-loops"), timestamp=WHEN)


def notebook_path(course: Path, student: str, name: str = "convolution.ipynb") -> Path:
    folder = course / "submitted" / student / "ps1"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def as_json(nb) -> dict:
    return json.loads(nbformat.writes(nb))


def cell_number(data: dict, grade_id: str) -> int:
    """1-based position of the solution cell of `grade_id`."""
    return next(i for i, cell in enumerate(data["cells"], 1)
                if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id)


def solution_cell(data: dict, grade_id: str = "conv2d") -> dict:
    return data["cells"][cell_number(data, grade_id) - 1]


def gradebook_totals(course: Path) -> dict[str, float]:
    """Per student, the auto scores nbgrader's gradebook holds for ps1 (written answers excluded)."""
    with sqlite3.connect(course / "gradebook.db") as db:
        return dict(db.execute(
            "SELECT submitted_assignment.student_id, SUM(COALESCE(grade.auto_score, 0)) FROM grade "
            "JOIN submitted_notebook ON submitted_notebook.id = grade.notebook_id "
            "JOIN submitted_assignment ON submitted_assignment.id = submitted_notebook.assignment_id "
            "JOIN assignment ON assignment.id = submitted_assignment.assignment_id "
            "WHERE assignment.name = 'ps1' GROUP BY submitted_assignment.student_id").fetchall())


def stored(course: Path, path: str) -> dict:
    key = ResultStore.key(Path(path))
    return json.loads((course / ".autograder" / "results" / "ps1" / f"{key}.json").read_text())["result"]


def grade(course: Path, runner=run_grader, **kwargs) -> subprocess.CompletedProcess:
    return runner(course, "grade", "ps1", "--json", "--workers", "1", **kwargs)


def check_run(course: Path, done: subprocess.CompletedProcess, errors: dict[str, tuple[Path, str]],
              graded: dict[str, float]) -> dict[str, dict]:
    """The run graded and recorded `graded` (student -> total) and made exactly the error rows
    `errors` (student -> (path, reason)), and nothing else."""
    assert done.returncode == 1, done.stderr[-3000:]  # some could not be graded (CONTRACT)
    rows = {row["student"]: row for row in json_lines(done)}
    assert set(rows) == set(errors) | set(graded), done.stderr[-3000:]
    for student, (path, reason) in errors.items():
        row = rows[student]
        assert (row["status"], row["error"], row["score"], row["max_score"], row["path"]) == \
            ("error", reason, 0.0, MAX_TOTAL, str(path)), row["error"]
        assert all(e["score"] in (0.0, None) for e in row["exercises"])
    book = gradebook_totals(course)
    for student, total in graded.items():
        row = rows[student]
        assert (row["status"], row["error"], row["score"]) == ("graded", None, total), \
            (row["error"], [e["feedback"] for e in row["exercises"]])
        assert book[student] == total  # in nbgrader's gradebook
        kept = stored(course, row["path"])  # in the store
        assert (kept["status"], kept["score"]) == ("graded", total)
        assert (course / "autograded" / student / "ps1" / "convolution.ipynb").is_file()
    return rows


def check_twice(course: Path, errors: dict[str, tuple[Path, str]], graded: dict[str, float], runner=run_grader,
                **kwargs) -> None:
    """A first run, then a rerun of the same class: the same rows, nothing lost, the bad rows in
    the gradebook with 0 points."""
    first = check_run(course, grade(course, runner, **kwargs), errors, graded)
    book = gradebook_totals(course)
    assert all(book.get(student) == 0.0 for student in errors if student in book)
    again = grade(course, runner, **kwargs)
    second = check_run(course, again, errors, graded)
    assert {s: (r["status"], r["error"], r["score"]) for s, r in second.items()} == \
        {s: (r["status"], r["error"], r["score"]) for s, r in first.items()}
    assert f"{len(first)} notebook(s): 0 graded now, {len(first)} unchanged" in again.stderr, again.stderr[-2000:]


@pytest.mark.slow
def test_deep_json_is_its_students_error_row_and_never_stops_finding_submissions(course):
    honest(course, "alice", "bob")
    data = as_json(fixture_notebook("ps1", "correct-loops"))
    deepest = notebook_path(course, "deepest")  # too deep for Python's JSON parser: RecursionError
    deepest.write_text(json.dumps(data)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    deep = notebook_path(course, "deep")  # parsed, but deeper than anything reading a notebook should recurse
    value: object = "bottom"
    for _ in range(600):
        value = {"k": value}
    solution_cell(data)["metadata"]["x"] = value
    deep.write_text(json.dumps(data))
    why = f"not a readable notebook (its JSON nests deeper than 64 levels): {RESUBMIT}"
    check_twice(course, {"deepest": (deepest, f"{deepest}: {why}"), "deep": (deep, f"{deep}: {why}")},
                {"alice": HONEST_TOTAL, "bob": HONEST_TOTAL})


@pytest.mark.slow
def test_huge_json_is_refused_before_it_is_parsed(course):
    honest(course, "alice")
    big = notebook_path(course, "big")
    data = as_json(fixture_notebook("ps1", "correct-loops"))
    data["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "x" * 32_500_000})
    big.write_text(json.dumps(data))
    many = notebook_path(course, "many")
    data = as_json(fixture_notebook("ps1", "correct-loops"))
    solution_cell(data)["metadata"]["x"] = [[] for _ in range(1_000_001)]
    many.write_text(json.dumps(data))
    size = big.stat().st_size
    check_twice(course, {
        "big": (big, f"{big}: not a readable notebook ({size / 1e6:.1f} MB, more than the grader reads, 32.0 MB): "
                     "clear its outputs (Kernel > Restart Kernel and Clear Outputs of All Cells), save it and hand it "
                     "in again"),
        "many": (many, f"{many}: not a readable notebook (its JSON holds more than 1,000,000 objects and lists): "
                       f"{RESUBMIT}")}, {"alice": HONEST_TOTAL})


WRONG_TYPES = {
    # student: (what is changed in the conv2d solution cell's JSON, how the reason says it)
    "nbgrader-list": (lambda cell: cell["metadata"].update(nbgrader=["conv2d"]),
                      "its nbgrader metadata is a list, not an object"),
    "nbgrader-text": (lambda cell: cell["metadata"].update(nbgrader="nbgrader"),
                      "its nbgrader metadata is text, not an object"),
    "grade-id-int": (lambda cell: cell["metadata"]["nbgrader"].update(grade_id=5),
                     "its nbgrader grade_id is a number, not text"),
    "metadata-text": (lambda cell: cell.update(metadata="nbgrader"), "its metadata is text, not an object"),
    "source-number": (lambda cell: cell.update(source=5), "its source is a number, not text"),
    "source-lines": (lambda cell: cell.update(source=["def conv2d(image, kernel):\n", 5]),
                     "its source is a list holding a number, not text"),
    "no-cell-type": (lambda cell: cell.pop("cell_type"), "no cell_type"),
    "outputs-text": (lambda cell: cell.update(outputs="x"), "its outputs are text, not a list"),
    "output-lines": (lambda cell: cell.update(outputs=[{"output_type": "stream", "name": "stdout", "text": [1, 2]}]),
                     "output 1: its text is a list holding a number, not text"),
    "output-data": (lambda cell: cell.update(outputs=[{"output_type": "display_data", "metadata": {}, "data": []}]),
                    "output 1: its data is a list, not an object"),
    "attachments": (lambda cell: cell.update(attachments=["image.png"]),
                    "its attachments are not an object of objects"),
}


@pytest.mark.slow
def test_wrong_types_in_metadata_cells_and_outputs_are_each_their_students_error_row(course):
    honest(course, "alice")
    errors = {}
    for student, (change, reason) in WRONG_TYPES.items():
        data = as_json(fixture_notebook("ps1", "correct-loops"))
        number = cell_number(data, "conv2d")
        change(data["cells"][number - 1])
        path = notebook_path(course, student)
        path.write_text(json.dumps(data))
        errors[student] = (path, f"{path}: not a valid notebook (cell {number}: {reason}): {RESUBMIT}")
    data = as_json(fixture_notebook("ps1", "correct-loops"))
    data["metadata"] = ["kernelspec"]
    path = notebook_path(course, "notebook-metadata")
    path.write_text(json.dumps(data))
    errors["notebook-metadata"] = (path, f"{path}: not a valid notebook (its metadata is a list, not an object): "
                                         f"{RESUBMIT}")
    check_twice(course, errors, {"alice": HONEST_TOTAL})


@pytest.mark.slow
def test_bytes_that_are_not_utf8_in_any_submitted_file_are_their_students_error_row(course):
    honest(course, "alice")
    good = nbformat.writes(fixture_notebook("ps1", "correct-loops")).encode()
    latin = notebook_path(course, "latin1")
    latin.write_bytes(good.replace(b"import numpy", b"import \xe9 numpy", 1))
    position = good.index(b"import numpy") + len(b"import ")
    surrogate = notebook_path(course, "surrogate")  # valid JSON whose text is not valid Unicode
    data = json.loads(good)
    data["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "\ud800 broken"})
    surrogate.write_text(json.dumps(data))  # ensure_ascii: the file holds the escape \ud800
    timestamp = notebook_path(course, "timestamp")
    timestamp.write_bytes(good)
    (timestamp.parent / "timestamp.txt").write_bytes(b"\xff\xfe2026-03-01 12:30:00.000000 UTC")
    secret = notebook_path(course, "secret")
    secret.write_bytes(good)
    (secret.parent / "timestamp.txt").write_text(WHEN)
    (secret.parent / "submission_secret.txt").write_bytes(b"\x9f" * 128)
    named = Path(os.fsdecode(os.fsencode(course / "submitted") + b"/\xffnamed/ps1/convolution.ipynb"))
    named.parent.mkdir(parents=True)
    named.write_bytes(good)
    shown = course / "submitted" / "\\xffnamed" / "ps1" / "convolution.ipynb"
    check_twice(course, {
        "latin1": (latin, f"{latin}: not a readable notebook (its bytes are not UTF-8 text: byte 0xe9 at position "
                          f"{position}): {RESUBMIT}"),
        "surrogate": (surrogate, f"{surrogate}: not a readable notebook (it holds text that is not valid Unicode: an "
                                 f"unpaired surrogate '\\ud800'): {RESUBMIT}"),
        "timestamp": (timestamp, f"{timestamp.parent / 'timestamp.txt'}: not a readable timestamp.txt (its bytes are "
                                 f"not UTF-8 text: byte 0xff at position 0): {TIMESTAMP_FIX}"),
        "secret": (secret, f"{secret.parent / 'submission_secret.txt'}: not a readable submission_secret.txt (its "
                           f"bytes are not UTF-8 text: byte 0x9f at position 0): {SECRET_FIX}"),
        "\\xffnamed": (shown, f"{shown}: the name is not UTF-8 text, which nbgrader's gradebook cannot store: rename "
                              "the student's folder and notebook to UTF-8 names and grade again"),
    }, {"alice": HONEST_TOTAL})
    # what goes on to nbgrader's feedback commands is text they can read back
    for student in ("alice", "timestamp", "secret"):
        for name in ("timestamp.txt", "submission_secret.txt"):
            (course / "autograded" / student / "ps1" / name).read_text(encoding="utf-8")
    # restored, the same notebook is graded (the stored error row was for the broken file)
    (timestamp.parent / "timestamp.txt").write_text(WHEN)
    rows = {row["student"]: row for row in json_lines(grade(course))}
    assert (rows["timestamp"]["status"], rows["timestamp"]["score"]) == ("graded", HONEST_TOTAL)
    assert gradebook_totals(course)["timestamp"] == HONEST_TOTAL


@pytest.mark.slow
def test_exchange_files_nbgrader_could_not_read_back_are_their_students_error_row(course):
    """timestamp.txt that is UTF-8 but no time nbgrader reads (a zone naming a file outside the tz
    database makes dateutil raise a warning class, a huge offset OverflowError), an empty secret."""
    honest(course, "alice")
    good = nbformat.writes(fixture_notebook("ps1", "correct-loops"))
    errors = {}
    for student, name, text, condition in (
            ("zone-path", "timestamp.txt", "2026-03-01 12:30:00 ../../../etc/passwd",
             "'2026-03-01 12:30:00 ../../../etc/passwd' is not a time nbgrader reads"),
            ("zone-huge", "timestamp.txt", "2026-03-01 12:30:00 99999999999999999999",
             "'2026-03-01 12:30:00 99999999999999999999' is not a time nbgrader reads"),
            ("words", "timestamp.txt", "handed in on time, promise", "'handed in on time, promise' is not a time "
                                                                     "nbgrader reads"),
            ("no-secret", "submission_secret.txt", "", "it is empty")):
        path = notebook_path(course, student)
        path.write_text(good)
        (path.parent / name).write_text(text)
        fix = TIMESTAMP_FIX if name == "timestamp.txt" else SECRET_FIX
        errors[student] = (path, f"{path.parent / name}: not a readable {name} ({condition}): {fix}")
    check_twice(course, errors, {"alice": HONEST_TOTAL})
    # --no-gradebook (and Gradescope) never use these files: the notebooks are graded
    done = run_grader(course, "grade", "ps1", "--json", "--workers", "1", "--no-gradebook")
    assert {r["student"]: r["status"] for r in json_lines(done)} == dict.fromkeys([*errors, "alice"], "graded")


@pytest.mark.slow
def test_a_students_text_that_is_not_valid_unicode_is_recorded_escaped(course):
    """A graded function's exception message can carry a lone surrogate: it reaches the feedback,
    and every file the feedback goes to."""
    honest(course, "alice")
    sections = fixture_sections(Path(__file__).parent.parent / "submissions" / "ps1" / "submitted-correct-loops.py")
    sections["conv1d"] = 'def conv1d(signal, kernel, mode="full"):\n    raise ValueError("bad \\ud800 mode")'
    submit(course, "mallory", build_submission("ps1", sections), timestamp=WHEN)
    first = grade(course)
    assert first.returncode == 0, first.stderr[-3000:]
    rows = {row["student"]: row for row in json_lines(first)}
    mallory = rows["mallory"]
    assert (mallory["status"], mallory["score"]) == ("graded", 12.0), mallory["error"]
    (conv1d,) = [e for e in mallory["exercises"] if e["name"] == "conv1d"]
    assert "bad \\ud800 mode" in conv1d["feedback"] and "\ud800" not in conv1d["feedback"]
    assert gradebook_totals(course) == {"alice": HONEST_TOTAL, "mallory": 12.0}
    autograded = course / "autograded" / "mallory" / "ps1" / "convolution.ipynb"
    assert "bad \\\\ud800 mode" in autograded.read_text(encoding="utf-8")
    again = grade(course)
    assert again.returncode == 0, again.stderr[-3000:]
    assert {r["student"]: r["score"] for r in json_lines(again)} == {"alice": HONEST_TOTAL, "mallory": 12.0}


def without_dac_override(course: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real CLI, unable to bypass file permissions even as root (as an instructor grades)."""
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("needs setpriv to grade without CAP_DAC_OVERRIDE as root")
        caps = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]
    env = dict(os.environ)
    env.pop("AUTOGRADER_COURSE_ROOT", None)
    return subprocess.run([*prefix, sys.executable, "-m", "autograder", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_entries_the_grader_cannot_read_are_their_students_error_row(course):
    honest(course, "alice", "bob")
    pipe = notebook_path(course, "pipe")
    os.mkfifo(pipe)  # open() on it would wait forever for a writer
    dangling = notebook_path(course, "dangling")
    dangling.symlink_to(course / "nowhere.ipynb")
    folder = notebook_path(course, "folder")
    folder.mkdir()
    looping = notebook_path(course, "self-link")  # Path.resolve() raises RuntimeError on it
    looping.symlink_to(looping.name)
    good = nbformat.writes(fixture_notebook("ps1", "correct-loops"))
    closed = notebook_path(course, "closed-file")
    closed.write_text(good)
    closed.chmod(0)
    locked = notebook_path(course, "locked-folder")
    locked.write_text(good)
    locked.parent.chmod(0)
    hidden = notebook_path(course, "hidden-student")
    hidden.write_text(good)
    hidden.parent.parent.chmod(0)
    inner = notebook_path(course, "inner")
    inner.write_text(good)
    (inner.parent / "extra").mkdir()
    (inner.parent / "extra").chmod(0)
    stamp = notebook_path(course, "stamp-pipe")
    stamp.write_text(good)
    os.mkfifo(stamp.parent / "timestamp.txt")
    file_not_folder = course / "submitted" / "file-not-folder" / "ps1"
    file_not_folder.parent.mkdir(parents=True)
    file_not_folder.write_text(good)
    chmod = "make the submission readable by the grader (chmod -R u+rX {}) and grade again"
    try:
        check_twice(course, {
            "pipe": (pipe, f"{pipe}: not a readable notebook (a named pipe, not a file): hand in the notebook file "
                           "itself"),
            "dangling": (dangling, f"{dangling}: not a readable notebook (a link to nothing): hand in the notebook "
                                   "file itself"),
            "folder": (folder, f"{folder}: not a readable notebook (a folder, not a file): hand in the notebook file "
                               "itself"),
            "self-link": (looping, f"{looping}: not a readable notebook (a link that loops): hand in the notebook "
                                   "file itself"),
            "closed-file": (closed, f"{closed}: not a readable notebook (permission denied): make it readable by the "
                                    "grader (chmod -R u+rX on the submission folder) and grade again"),
            "locked-folder": (locked, f"cannot read the folder {locked.parent} (Permission denied): "
                                      + chmod.format(locked.parent)),
            "hidden-student": (hidden, f"cannot read the folder {hidden.parent} (Permission denied): "
                                       + chmod.format(hidden.parent.parent)),
            "stamp-pipe": (stamp, f"{stamp.parent / 'timestamp.txt'}: not a readable timestamp.txt (a named pipe, "
                                  f"not a file): {TIMESTAMP_FIX}"),
            "file-not-folder": (file_not_folder / "convolution.ipynb",
                                f"{file_not_folder} is not a folder: put the student's notebook in a folder "
                                f"{file_not_folder} and grade again"),
        # an unreadable sub-folder beside the notebook does not matter: only the folder's own notebooks are graded
        }, {"alice": HONEST_TOTAL, "bob": HONEST_TOTAL, "inner": HONEST_TOTAL}, runner=without_dac_override)
    finally:
        for path in (closed, locked.parent, hidden.parent.parent, inner.parent / "extra"):
            path.chmod(0o755)


@pytest.mark.slow
def test_a_row_the_gradebook_refuses_costs_no_other_result_its_rows(course):
    """Whatever makes recording one result fail (here the gradebook refuses a student, and
    autograded/ of another is blocked), that result is its student's error row, kept in the store;
    every other result of the batch is recorded; once the cause is gone the next run records it."""
    honest(course, "alice")
    assert grade(course).returncode == 0  # creates the gradebook
    with sqlite3.connect(course / "gradebook.db") as db:
        # fires after the result's first row (its student) was written: that row must go too
        db.execute("CREATE TRIGGER refuse BEFORE INSERT ON submitted_assignment WHEN NEW.student_id = 'refused' "
                   "BEGIN SELECT RAISE(ABORT, 'the gradebook refuses this student'); END")
    honest(course, "bob", "refused", "blocked", "carol")
    (course / "autograded" / "blocked").mkdir(parents=True)
    (course / "autograded" / "blocked" / "ps1").write_text("in the way")
    fix = "fix that and run the same command again, which records it"
    blocked = course / "autograded" / "blocked" / "ps1"
    errors = {
        "refused": (notebook_path(course, "refused"), "graded 17/20 and kept in .autograder/results/, but it could "
                    "not be recorded in gradebook.db (IntegrityError: the gradebook refuses this student): " + fix),
        "blocked": (notebook_path(course, "blocked"), "graded 17/20 and kept in .autograder/results/, but its "
                    f"autograded notebook could not be written (FileExistsError: [Errno 17] File exists: '{blocked}'; "
                    "its scores are in gradebook.db): " + fix),
    }
    graded = {"alice": HONEST_TOTAL, "bob": HONEST_TOTAL, "carol": HONEST_TOTAL}
    first = check_run(course, grade(course), errors, graded)
    with sqlite3.connect(course / "gradebook.db") as db:  # the refused result left no row behind
        assert ("refused",) not in db.execute("SELECT id FROM student").fetchall()
    assert stored(course, first["refused"]["path"])["status"] == "graded"  # nothing graded is lost
    second = check_run(course, grade(course), errors, graded)  # a rerun: the same
    assert {s: r["error"] for s, r in second.items()} == {s: r["error"] for s, r in first.items()}
    with sqlite3.connect(course / "gradebook.db") as db:
        db.execute("DROP TRIGGER refuse")
    blocked.unlink()
    done = grade(course)
    assert done.returncode == 0, done.stderr[-3000:]
    assert {r["student"]: (r["status"], r["score"]) for r in json_lines(done)} == \
        {s: ("graded", HONEST_TOTAL) for s in ("alice", "bob", "refused", "blocked", "carol")}
    assert gradebook_totals(course) == dict.fromkeys(("alice", "bob", "refused", "blocked", "carol"), HONEST_TOTAL)
    assert "2 stored result(s) were missing from the gradebook and written again" in done.stderr


def test_the_guarded_reader_never_opens_what_is_not_a_file(tmp_path):
    """The reader the store, the finder and the grader share: a named pipe is refused without
    blocking, a file larger than the limit without reading it."""
    os.mkfifo(tmp_path / "pipe.ipynb")
    with pytest.raises(notebooks.NotebookError, match="a named pipe, not a file"):
        notebooks.read_bytes(tmp_path / "pipe.ipynb")
    (tmp_path / "big.ipynb").write_bytes(b" " * 101)
    with pytest.raises(notebooks.NotebookError, match="more than the grader reads"):
        notebooks.read_bytes(tmp_path / "big.ipynb", limit=100)
    assert notebooks.carried_grade_ids(tmp_path / "pipe.ipynb") is None
