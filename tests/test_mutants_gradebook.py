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


# -- what a browser may run: html_safety ------------------------------------------------------------


@pytest.mark.parametrize(
    ("fragment", "cleaned"),
    [
        *[(f'<h{n} id="intro">T</h{n}>', f'<h{n} id="intro">T</h{n}>') for n in range(1, 7)],  # nbconvert's anchors
        ('<p id="intro">a</p>', "<p>a</p>"),
        ('<span class="k nonsense mermaid">x</span>', '<span class="k mermaid">x</span>'),
        ('<span class="nonsense">x</span>', "<span>x</span>"),
        ('<img src="data:image/png;base64,AAAA">', '<img src="data:image/png;base64,AAAA">'),
        ('<img src="data:text/html,x">', "<img>"),
        ('<q cite="data:text/html,x">q</q>', "<q>q</q>"),
        ('<a href="data:image/png;base64,AAAA">a</a>', "<a>a</a>"),
        ('<a href="ftp://example.org/x">f</a>', "<a>f</a>"),
        ('<a href="https://example.org/x">f</a>', '<a href="https://example.org/x">f</a>'),
        ('<input type="checkbox" checked disabled>', '<input type="checkbox" checked="" disabled="">'),
        ('<input type="text">', "<input>"),
        ('<ol type="a"><li>x</li></ol>', '<ol type="a"><li>x</li></ol>'),
    ],
)
def test_cleaning_keeps_exactly_the_attributes_the_allowlist_names(fragment, cleaned):
    from autograder.gradebook import html_safety

    assert html_safety.clean(fragment) == cleaned


@pytest.mark.parametrize(
    ("fragment", "inert"),
    [
        ("<p>a\r\nb</p>", True),  # line ends written either way are the same text
        ("<p>a\rb</p>", True),
        ("<pre>\ncode</pre>", True),  # the newline after <pre> is not part of it
        ("<!-- a note --><p>x</p>", True),
        ("<!DOCTYPE html>text", False),
        ("<?php x ?>text", False),
        ("<![CDATA[x]]>text", False),
        ("<p>x</p><script>alert(1)</script>", False),
    ],
)
def test_a_fragment_is_inert_when_cleaning_removes_nothing(fragment, inert):
    from autograder.gradebook import html_safety

    assert html_safety.is_inert(fragment) is inert


def test_a_missing_attachment_renders_as_an_empty_picture():
    from autograder.gradebook import html_safety

    assert html_safety.render_markdown("![pic](attachment:nothing.png)", {}) == (
        '<p><img src="data:image/png;base64," alt="pic" /></p>\n'
    )


def test_cleaned_markdown_is_one_line_of_html_with_its_attachments():
    from autograder.gradebook import html_safety

    out = html_safety.inert_markdown(
        "<script>x</script>\r\n\r\nfirst\n\nsecond ![p](attachment:a.png)", {"a.png": {"image/png": "iVBO"}}
    )
    assert out == (
        f'<div class="autograder-sanitized">{html_safety.NOTE}&#10;&#10;<p>first</p>&#10;'
        '<p>second <img src="data:image/png;base64,iVBO" alt="p"></p>&#10;</div>'
    )


SVG = "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciLz4="  # <svg xmlns="http://www.w3.org/2000/svg"/>


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        (SVG, True),
        (SVG[:20] + "\n" + SVG[20:], True),  # base64 wrapped over lines, as many tools write it
        ("abc", False),  # not base64 (its padding is wrong)
        (SVG + SVG, False),  # data after the padding: not one image
    ],
)
def test_an_svg_attachment_is_kept_only_when_it_is_one_svg_image(data, kept):
    from autograder.gradebook import html_safety

    out = html_safety.inert_attachments({"a.svg": {"image/svg+xml": data}})
    if kept:
        assert out is None  # nothing changed
    else:
        assert out == {"a.svg": {"image/svg+xml": html_safety.PLACEHOLDER_SVG}}


# -- the gradebook writer's own words -----------------------------------------------------------------


def test_a_submission_not_graded_shows_the_release_headed_by_the_reason():
    import nbformat

    from autograder import gradebook
    from autograder.results import NotebookResult

    release = nbformat.v4.new_notebook()
    release.cells = [nbformat.v4.new_markdown_cell("# Task"), nbformat.v4.new_code_cell("x = 1")]
    release.cells[1].outputs = [nbformat.v4.new_output("stream", text="1")]
    release.cells[1].execution_count = 4
    result = NotebookResult("ann", "ps1", "ps1", "sub/odd\nname.ipynb", "error", "bad\nfile <b>", 0, 10)
    nb = gradebook.not_graded_notebook(release, result)
    assert release.cells[1].outputs[0].text == "1" and release.cells[1].execution_count == 4  # a copy
    heading, task, code = nb.cells
    assert heading.cell_type == "markdown" and set(heading) == {"id", "cell_type", "metadata", "source"}
    assert heading.source == (
        "<p><strong>Not graded: bad\\nfile &lt;b&gt;</strong></p>\n<p>The grader could not use <code>odd\\nname.ipynb"
        "</code>. Below is the released notebook (not your work); ask your instructor how to hand in again.</p>"
    )
    assert task == release.cells[0] and "outputs" not in task
    assert (code.outputs, code.execution_count) == ([], None)
    unknown = NotebookResult("ann", "ps1", "ps1", "x.ipynb", "error", None, 0, 10)
    assert "Not graded: the submitted notebook could not be read</strong>" in (
        gradebook.not_graded_notebook(release, unknown).cells[0].source
    )


def test_an_unreadable_timestamp_is_the_submissions_problem(tmp_path):
    from autograder import gradebook

    (tmp_path / "timestamp.txt").write_text("yesterday")
    path = tmp_path / "timestamp.txt"
    assert gradebook.exchange_problem(tmp_path) == (
        f"{path}: not a readable timestamp.txt ('yesterday' is not a time nbgrader reads): "
        + gradebook._RESTORE["timestamp.txt"]
    )
    path.write_text("2026-03-01 12:30:00 UTC")
    assert gradebook.exchange_problem(tmp_path) is None


def test_exchange_files_go_on_byte_for_byte_or_are_made_as_nbgrader_would(tmp_path, monkeypatch):
    from autograder import gradebook

    submitted, autograded = tmp_path / "submitted", tmp_path / "autograded"
    submitted.mkdir(), autograded.mkdir()
    notebook = submitted / "ps1.ipynb"
    notebook.write_text("{}")
    stamp, secret = b"2026-03-01 12:30:00.000000 UTC\n", b"f" * 128
    (submitted / "timestamp.txt").write_bytes(stamp)
    (submitted / "submission_secret.txt").write_bytes(secret)
    gradebook.carry_exchange_files(submitted, notebook, autograded)
    assert (autograded / "timestamp.txt").read_bytes() == stamp
    assert (autograded / "submission_secret.txt").read_bytes() == secret

    # collected by hand: the notebook's time, and a secret of its own that a regrade keeps
    os.utime(notebook, (1767225600.25, 1767225600.25))
    again = tmp_path / "again"
    again.mkdir()
    (submitted / "timestamp.txt").write_text("yesterday")  # unreadable for nbgrader: as if missing
    (submitted / "submission_secret.txt").unlink()
    gradebook.carry_exchange_files(submitted, notebook, again)
    assert (again / "timestamp.txt").read_text() == "2026-01-01 00:00:00.250000 UTC"
    made = (again / "submission_secret.txt").read_text()
    assert len(made) == 128 and set(made) <= set("0123456789abcdef")
    gradebook.carry_exchange_files(submitted, notebook, again)
    assert (again / "submission_secret.txt").read_text() == made

    # and without the notebook: the time of grading
    monkeypatch.setattr(gradebook.time, "time", lambda: 1767225601.5)
    gone = tmp_path / "gone"
    gone.mkdir()
    gradebook.carry_exchange_files(submitted, submitted / "deleted.ipynb", gone)
    assert (gone / "timestamp.txt").read_text() == "2026-01-01 00:00:01.500000 UTC"


def test_an_exchange_file_is_read_back_only_when_nbgrader_could(tmp_path):
    from autograder import gradebook
    from autograder.notebooks import NotebookError

    assert gradebook.exchange_file(tmp_path, "timestamp.txt") is None
    secret = tmp_path / "submission_secret.txt"
    secret.write_bytes(b"s" * gradebook.MAX_EXCHANGE_FILE)
    assert gradebook.exchange_file(tmp_path, "submission_secret.txt") == b"s" * 65536
    secret.write_bytes(b"s" * (gradebook.MAX_EXCHANGE_FILE + 1))
    with pytest.raises(NotebookError, match="more than the grader reads"):
        gradebook.exchange_file(tmp_path, "submission_secret.txt")
    secret.write_bytes(b"")
    with pytest.raises(NotebookError) as raised:
        gradebook.exchange_file(tmp_path, "submission_secret.txt")
    assert str(raised.value) == (
        f"{secret}: not a readable submission_secret.txt (it is empty): " + gradebook._RESTORE["submission_secret.txt"]
    )
    stamp = tmp_path / "timestamp.txt"
    stamp.write_bytes(b"  \n")  # no time at all: nothing for nbgrader to misread
    assert gradebook.exchange_file(tmp_path, "timestamp.txt") == b"  \n"
    assert gradebook.read_timestamp(tmp_path) is None
    stamp.write_text(" 2026-03-01 12:30:00 UTC \n")
    assert str(gradebook.read_timestamp(tmp_path)) == "2026-03-01 12:30:00"
    stamp.write_bytes(b"\xff")
    assert gradebook.read_timestamp(tmp_path) is None


# -- the gradebook writer: autograded notebooks and the batch's bulkheads ---------------------------


@pytest.fixture
def writer_course(tmp_path):
    from tests.conftest import make_course
    from tests.test_gradebook import registered_gradebook

    root = make_course(tmp_path / "course")
    registered_gradebook(root)
    return root


def cells_by_id(path):
    import nbformat

    return {cell.metadata.get("nbgrader", {}).get("grade_id"): cell for cell in nbformat.read(path, as_version=4).cells}


def test_a_graded_notebook_is_the_students_with_each_functions_feedback_and_picture(writer_course):
    import nbformat

    from autograder import gradebook
    from autograder.feedback import notebook
    from tests.test_gradebook import PS1, graded, submit

    path = submit(writer_course, "eve")
    result = graded("eve", path)
    result.exercises[0].figure = "iVBORw0KGgo="
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        writer.record(result)
        autograded = writer.autograded_path("eve")
    cells = cells_by_id(autograded)
    submitted = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.read(path, as_version=4).cells}
    assert cells["conv2d"].source == submitted["conv2d"].source  # the student's code, not the release's
    hidden = cells["test_conv2d_hidden"]
    assert [o.data["text/plain"] for o in hidden.outputs] == [result.exercises[0].feedback, notebook.PICTURE]
    assert hidden.outputs[1].data["image/png"] == "iVBORw0KGgo="
    assert [o.data["text/plain"] for o in cells["test_conv2d_visible"].outputs] == [notebook.VISIBLE_CHECK]
    grade_cells = [c for c in cells.values() if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert len(grade_cells) == 6 and all(c.execution_count is None for c in grade_cells)


def test_a_graded_result_whose_notebook_cannot_be_read_shows_the_release_with_its_feedback(writer_course):
    import nbformat

    from autograder import gradebook
    from autograder.feedback import notebook
    from tests.test_gradebook import PS1, graded

    broken = writer_course / "submitted" / "fay" / "ps1" / "convolution.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    result = graded("fay", broken)
    result.exercises[0].figure = "iVBORw0KGgo="
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        writer.record(result)
        autograded = writer.autograded_path("fay")
    cells = cells_by_id(autograded)
    assert (
        nbformat.read(autograded, as_version=4)
        .cells[0]
        .source.startswith("<p><strong>Graded: your scores and feedback are below, but your notebook cannot be "
                           "shown here (it could not be read again).</strong></p>")
    )
    assert [o.data["text/plain"] for o in cells["test_conv2d_hidden"].outputs] == [
        result.exercises[0].feedback,
        notebook.PICTURE,
    ]


def test_recorded_means_in_the_gradebook_and_in_autograded(writer_course):
    from autograder import gradebook
    from tests.test_gradebook import PS1, graded, submit

    result = graded("gus", submit(writer_course, "gus"))
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        writer.record(result)
        recorded = writer.recorded()
        assert writer.is_recorded(result, recorded)
        assert not writer.is_recorded(result, {"gus": {}})  # the gradebook lacks its cells
        writer.autograded_path("gus").unlink()
        assert not writer.is_recorded(result, recorded)


def test_one_result_the_gradebook_refuses_costs_no_other_its_rows_or_notebook(writer_course, monkeypatch):
    from autograder import gradebook
    from tests.test_gradebook import PS1, graded, submit

    refused, kept = graded("hal", submit(writer_course, "hal")), graded("ida", submit(writer_course, "ida"))
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        own = writer._set_scores

        def set_scores(notebook, result):
            if result.student == "hal":
                raise RuntimeError("planted")
            own(notebook, result)

        monkeypatch.setattr(writer, "_set_scores", set_scores)
        problems = writer.record_many([refused, kept])
        assert problems == {0: "it could not be recorded in gradebook.db (RuntimeError: planted)"}
        assert writer.autograded_path("ida").is_file() and not writer.autograded_path("hal").exists()
        assert writer.recorded()["ida"]["test_conv2d_hidden"] == (6.0, None)


def test_a_notebook_that_cannot_be_written_is_reported_with_its_scores_kept(writer_course):
    from autograder import gradebook
    from tests.test_gradebook import PS1, graded, submit

    result = graded("jo", submit(writer_course, "jo"))
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        writer.autograded_path("jo").mkdir(parents=True)  # a folder where the notebook goes
        with pytest.raises(gradebook.GradebookError) as raised:
            writer.record(result)
        assert str(raised.value).startswith("jo: its autograded notebook could not be written (IsADirectoryError: ")
        assert str(raised.value).endswith("; its scores are in gradebook.db)")
        assert writer.recorded()["jo"]["test_conv2d_hidden"] == (6.0, None)


def test_a_written_answer_waits_for_a_human_again_once_the_submission_is_graded(writer_course):
    from autograder import gradebook
    from autograder.results import Exercise, NotebookResult
    from tests.test_gradebook import PS1, graded, nbgrader_gradebook, submit

    path = submit(writer_course, "kim")
    error = NotebookResult(
        "kim",
        "ps1",
        "convolution",
        str(path),
        "error",
        "unreadable",
        0.0,
        20.0,
        [Exercise("written_flip", None, 3.0, "graded by hand")],
    )
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        writer.record(error)
        with nbgrader_gradebook(writer_course) as gb:
            assert not gb.find_grade("written_flip", "convolution", "ps1", "kim").needs_manual_grade
        writer.record(graded("kim", path))
    with nbgrader_gradebook(writer_course) as gb:
        grade = gb.find_grade("written_flip", "convolution", "ps1", "kim")
        assert (grade.auto_score, grade.manual_score, grade.needs_manual_grade) == (None, None, True)


class RecordingAPI:
    """Stands in for nbgrader's NbGraderAPI: keeps what it was asked, answers with `answer`."""

    calls: list = []
    answer: dict = {"success": True}

    def __init__(self, coursedir, config):
        self.coursedir = coursedir
        RecordingAPI.calls.append(("api", coursedir.root, coursedir.release_directory, coursedir.db_url))

    def generate_assignment(self, name, force=False):
        release = self.coursedir.release_directory
        RecordingAPI.calls.append(("generate", name, force, os.path.isdir(release), os.listdir(release)))
        return RecordingAPI.answer


@pytest.fixture
def recording_api(monkeypatch):
    import nbgrader.api
    import nbgrader.apps.api

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", nbgrader.api.get_alembic_version)  # restored after
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    monkeypatch.setattr(nbgrader.apps.api, "NbGraderAPI", RecordingAPI)
    monkeypatch.setattr(RecordingAPI, "calls", [])
    monkeypatch.setattr(RecordingAPI, "answer", {"success": True})
    return RecordingAPI


def test_registering_an_assignment_asks_nbgrader_to_release_into_a_throwaway_folder(tmp_path, recording_api):
    from autograder.course import get_assignment
    from tests.conftest import make_course

    root = make_course(tmp_path / "course")
    nbgrader_side.ensure_assignment(root, get_assignment("ps1"))
    [(_, course_root, release, db), (_, name, force, existed, contents)] = recording_api.calls
    assert (course_root, db) == (str(root), nbgrader_side.db_url(root))
    assert (name, force, existed, contents) == ("ps1", True, True, [])
    assert not release.startswith(str(root)) and not os.path.exists(release)  # assignments/ is never written
    assert (root / "gradebook.db").is_file()  # the gradebook nbgrader would then fill


def test_registered_already_means_nbgrader_is_not_asked(tmp_path, recording_api):
    from autograder.course import get_assignment
    from tests.conftest import make_course
    from tests.test_gradebook import registered_gradebook

    root = make_course(tmp_path / "course")
    registered_gradebook(root)
    nbgrader_side.ensure_assignment(root, get_assignment("ps1"))
    assert recording_api.calls == []


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ({"success": False, "error": "HEAD" + "e" * 2000, "log": "unused"}, "e" * 2000),
        ({"success": False, "log": "only the log"}, "only the log"),
        ({"success": False}, ""),
        ({}, ""),
    ],
)
def test_nbgrader_refusing_to_register_is_an_error_with_the_end_of_its_words(tmp_path, recording_api, answer, said):
    from autograder.course import get_assignment
    from tests.conftest import make_course

    recording_api.answer = answer
    root = make_course(tmp_path / "course")
    with pytest.raises(RuntimeError) as raised:
        nbgrader_side.ensure_assignment(root, get_assignment("ps1"))
    assert str(raised.value) == "nbgrader could not register ps1 in the gradebook:\n" + said


def test_only_the_releases_own_locked_text_and_code_keep_what_could_run():
    from autograder import notebooks
    from autograder.gradebook import html_safety
    from autograder.shadows.sanitize import ReleaseCells, SourceCell

    script = "<script>course()</script>"
    release = ReleaseCells(
        source_cells=[
            SourceCell("demo", "markdown", True, script, None),
            SourceCell("open", "markdown", False, script, None),
        ]
    )

    def cell(cell_type, source, grade_id=None, **more):
        meta = {"nbgrader": {"grade_id": grade_id}} if grade_id else {}
        return notebooks.as_node({"cell_type": cell_type, "metadata": meta, "source": source, **more})

    nb = notebooks.as_node({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    nb.cells = [
        cell("markdown", script, "demo"),  # the release's locked text, as released: kept
        cell("markdown", "<script>student()</script>", "demo"),  # its id, another text: cleaned
        cell("raw", script, "demo"),  # its id and text in a raw cell: cleaned
        cell("markdown", script, "open"),  # not locked: the student's text
        cell("code", "x = '<script>'", outputs=[], execution_count=None),  # code is not rendered as HTML
        cell("markdown", ["<script>", "x()"]),  # not text at all
        cell("markdown", "<b onclick=x()>b</b> ![p](attachment:a.png)", attachments={"a.png": {"image/png": "iVBO"}}),
    ]
    html_safety.make_inert(nb, release)
    kept, other, raw, unlocked, code, odd, pictured = nb.cells
    assert kept.source == script and code.source == "x = '<script>'" and odd.source == ""
    assert other.source.startswith('<div class="autograder-sanitized">') and "student()" not in other.source
    assert raw.source == html_safety.RAW_NOTE and unlocked.source.startswith('<div class="autograder-sanitized">')
    assert 'src="data:image/png;base64,iVBO"' in pictured.source and "onclick" not in pictured.source


def test_an_exchange_file_nbgrader_could_not_read_is_named_with_what_to_do(tmp_path):
    from autograder import gradebook
    from autograder.notebooks import NotebookError

    stamp, secret = tmp_path / "timestamp.txt", tmp_path / "submission_secret.txt"
    restore_stamp, restore_secret = gradebook._RESTORE["timestamp.txt"], gradebook._RESTORE["submission_secret.txt"]
    stamp.write_bytes(b"\xff")
    with pytest.raises(NotebookError) as raised:
        gradebook.exchange_file(tmp_path, "timestamp.txt")
    assert str(raised.value) == (
        f"{stamp}: not a readable timestamp.txt (its bytes are not UTF-8 text: byte 0xff at position 0): "
        + restore_stamp
    )
    stamp.write_text("t" * 70)
    with pytest.raises(NotebookError) as raised:
        gradebook.exchange_file(tmp_path, "timestamp.txt")
    assert str(raised.value) == (
        f"{stamp}: not a readable timestamp.txt ({'t' * 60!r} is not a time nbgrader reads): " + restore_stamp
    )
    secret.write_bytes(b"s" * (gradebook.MAX_EXCHANGE_FILE + 1))
    with pytest.raises(NotebookError) as raised:
        gradebook.exchange_file(tmp_path, "submission_secret.txt")
    assert str(raised.value) == (
        f"{secret}: not a readable submission_secret.txt (0.1 MB, more than the grader reads, 0.1 MB): "
        + restore_secret
    )


# -- the writer's course: its options, a fresh gradebook, late penalties, another nbgrader --------


def _solution_cell_with(nb, marker: str, metadata: dict):
    """A code cell of the student's own after the first solution cell (no nbgrader metadata)."""
    from autograder import notebooks

    at = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells.insert(at + 1, notebooks.as_node({"id": "own-cell", "cell_type": "code", "metadata": metadata,
                                               "source": f"# {marker}", "outputs": [], "execution_count": 3}))


@pytest.mark.parametrize(
    ("config", "gone", "kept"),
    [
        ("", {"collapsed", "scrolled"}, {"marker_a", "marker_b"}),  # nbgrader's defaults
        ("c.ClearOutputPreprocessor.remove_metadata_fields = ['marker_a']\n", {"marker_a"},
         {"collapsed", "scrolled", "marker_b"}),
        ("c.ClearOutputPreprocessor.remove_metadata_fields = ['marker_a']\n"  # the subclass's section wins
         "c.ClearOutput.remove_metadata_fields = ['marker_b', 'scrolled']\n", {"marker_b", "scrolled"},
         {"collapsed", "marker_a"}),
    ],
)
@pytest.mark.parametrize("by", ["shadow", "nbgrader"])
def test_the_courses_clear_output_options_decide_which_cell_metadata_goes(writer_course, monkeypatch, config, gone,
                                                                           kept, by):
    import nbformat

    from autograder import gradebook, shadows
    from tests.test_gradebook import PS1, graded, submit

    if by == "nbgrader":  # another nbgrader version: its own preprocessors and Gradebook, in this process
        monkeypatch.setattr(shadows, "in_force", lambda library: library != "nbgrader")
    with open(writer_course / "nbgrader_config.py", "a") as handle:
        handle.write("\n" + config)
    path = submit(writer_course, "ola")
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = {"name": "student-kernel", "display_name": "Mine", "language": "python"}
    _solution_cell_with(nb, "MARKER-ola", {"collapsed": True, "scrolled": True, "marker_a": 1, "marker_b": 2})
    nbformat.write(nb, path)
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        assert writer.record_many([graded("ola", path)]) == {}
        out = nbformat.read(writer.autograded_path("ola"), as_version=4)
    own = next(c for c in out.cells if c.source == "# MARKER-ola")
    assert set(own.metadata) == kept and own.execution_count is None
    assert out.metadata.kernelspec == nbformat.read(PS1.release_path(writer_course), as_version=4).metadata.kernelspec
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        assert writer.recorded()["ola"]["test_conv2d_hidden"] == (6.0, None)


@pytest.mark.parametrize("by", ["shadow", "nbgrader"])
def test_a_deleted_test_cell_comes_back_with_the_courses_note(writer_course, monkeypatch, by):
    import nbformat

    from autograder import gradebook, shadows
    from tests.test_gradebook import PS1, graded, submit

    if by == "nbgrader":
        monkeypatch.setattr(shadows, "in_force", lambda library: library != "nbgrader")
    with open(writer_course / "nbgrader_config.py", "a") as handle:
        handle.write("\nc.OverwriteCells.missing_cell_notification = 'COURSE-NOTE {cell_id}: '\n")
    path = submit(writer_course, "pia")
    nb = nbformat.read(path, as_version=4)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_conv1d_visible"]
    nbformat.write(nb, path)
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        writer.record(graded("pia", path))
        back = cells_by_id(writer.autograded_path("pia"))["test_conv1d_visible"]
    released = cells_by_id(PS1.release_path(writer_course))["test_conv1d_visible"]
    assert back.source == "# COURSE-NOTE test_conv1d_visible: " + released.source  # a code cell: commented


def test_a_cell_the_student_added_stays_without_feedback(writer_course):
    import nbformat

    from autograder import gradebook
    from tests.test_gradebook import PS1, graded, submit

    path = submit(writer_course, "quin")
    nb = nbformat.read(path, as_version=4)
    _solution_cell_with(nb, "MARKER-quin", {})
    nbformat.write(nb, path)
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        writer.record(graded("quin", path))
        autograded = writer.autograded_path("quin")
    own = [c for c in nbformat.read(autograded, as_version=4).cells if c.source == "# MARKER-quin"]
    assert len(own) == 1 and own[0].outputs == []
    assert cells_by_id(autograded)["test_conv2d_hidden"].outputs[0].data["text/plain"] == "conv2d: 6 / 8 MARKER-quin"


def test_a_fresh_course_asks_nbgrader_to_register_once_and_a_registered_one_never(tmp_path, monkeypatch):
    from autograder import gradebook
    from tests.conftest import make_course
    from tests.test_gradebook import PS1, registered_gradebook

    registered_gradebook(make_course(tmp_path / "warm"))  # the cached gradebook exists before the stand-in
    asked = []

    def nbgrader_registers(root, assignment):
        asked.append((root, assignment.name, assignment.notebook))
        registered_gradebook(root)

    monkeypatch.setattr(gradebook, "ensure_assignment", nbgrader_registers)
    fresh = make_course(tmp_path / "fresh")
    with gradebook.GradebookWriter(fresh, PS1) as writer:
        assert writer.book.assignment == "ps1" and "test_conv2d_hidden" in writer.auto_cells
    assert asked == [(fresh, "ps1", "convolution")]
    with gradebook.GradebookWriter(fresh, PS1):
        pass
    assert asked == [(fresh, "ps1", "convolution")]  # registered now: nbgrader is not asked again


def test_nbgrader_registering_nothing_is_an_error_and_the_gradebook_is_let_go(tmp_path, monkeypatch):
    from autograder import gradebook
    from autograder.shadows import gradebook_rows
    from tests.conftest import make_course
    from tests.test_gradebook import PS1

    closed = []
    own_open = gradebook_rows.open_rows

    def open_rows(path, db_url, course_id):
        rows = own_open(path, db_url, course_id)
        own_close = rows.close
        rows.close = lambda: (closed.append(path), own_close())
        return rows

    monkeypatch.setattr(gradebook_rows, "open_rows", open_rows)
    monkeypatch.setattr(gradebook, "ensure_assignment", lambda root, assignment: None)
    root = make_course(tmp_path / "course")
    with pytest.raises(gradebook.GradebookError) as raised:
        gradebook.GradebookWriter(root, PS1).__enter__()
    assert str(raised.value) == f"{root / 'gradebook.db'} does not know ps1/convolution although nbgrader registered it"
    assert closed == [root / "gradebook.db"]


def test_a_late_submission_gets_the_penalty_the_courses_plugin_gives_within_its_score(writer_course, monkeypatch):
    from autograder import gradebook
    from tests.late_plugins import RecordingPenalty
    from tests.test_gradebook import PS1, graded, nbgrader_gradebook, submit

    monkeypatch.setattr(RecordingPenalty, "calls", [])
    monkeypatch.setattr(RecordingPenalty, "answers", {"lou": 2.5, "max": -1.0, "nia": 0.25, "oto": 99.0})
    with open(writer_course / "nbgrader_config.py", "a") as handle:
        handle.write("\nc.AssignLatePenalties.plugin_class = 'tests.late_plugins.RecordingPenalty'\n")
    with nbgrader_gradebook(writer_course) as gb:
        gb.update_or_create_assignment("ps1", duedate="2026-01-01 00:00:00")
    stamps = {"lou": "2026-01-01 00:00:00.500000 UTC", "max": "2026-01-01 00:00:03 UTC",
              "nia": "2026-01-01 00:01:00 UTC", "oto": "2026-01-01 01:00:00 UTC", "pat": "2026-01-02 00:00:00 UTC",
              "ron": "2025-12-31 23:59:59 UTC"}
    results = []
    for student, stamp in stamps.items():
        path = submit(writer_course, student)
        (path.parent / "timestamp.txt").write_text(stamp)
        results.append(graded(student, path))
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        assert writer.record_many(results) == {}
    assert RecordingPenalty.calls == [("lou", 12.5, 0.5), ("max", 12.5, 3.0), ("nia", 12.5, 60.0),
                                      ("oto", 12.5, 3600.0), ("pat", 12.5, 86400.0)]  # ron was on time
    with nbgrader_gradebook(writer_course) as gb:
        penalties = {s: gb.find_submission_notebook("convolution", "ps1", s).late_submission_penalty for s in stamps}
    assert penalties == {"lou": 2.5, "max": 0.0, "nia": 0.25, "oto": 12.5, "pat": None, "ron": None}


def test_a_submission_time_is_read_by_the_shadow_exactly_when_it_is_in_force(monkeypatch):
    from autograder import gradebook, shadows
    from autograder.shadows import timestamps

    monkeypatch.setattr(timestamps, "parse_utc", lambda text: ("shadow", text))
    monkeypatch.setattr(timestamps, "by_nbgrader", lambda text: ("nbgrader", text))
    assert gradebook.parse_utc("2026-01-01 00:00:00 UTC") == ("shadow", "2026-01-01 00:00:00 UTC")
    monkeypatch.setattr(shadows, "in_force", lambda library: library != "nbgrader")
    assert gradebook.parse_utc("2026-01-01 00:00:00 UTC") == ("nbgrader", "2026-01-01 00:00:00 UTC")


def test_a_submission_folder_that_is_a_file_is_named_with_what_to_do(tmp_path):
    from autograder import gradebook
    from autograder.notebooks import NotebookError

    folder = tmp_path / "not-a-folder"
    folder.write_text("")
    with pytest.raises(NotebookError) as raised:
        gradebook.exchange_file(folder, "timestamp.txt")
    assert str(raised.value) == (f"{folder / 'timestamp.txt'}: not a readable timestamp.txt (Not a directory): make "
                                 "the submission folder readable by the grader (chmod -R u+rX) and grade again")


def test_a_hand_collected_submissions_time_is_its_notebooks_in_utc_whatever_the_local_zone(tmp_path, monkeypatch):
    import time

    from autograder import gradebook

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        submitted, autograded = tmp_path / "submitted", tmp_path / "autograded"
        submitted.mkdir()
        autograded.mkdir()
        notebook = submitted / "convolution.ipynb"
        notebook.write_text("{}")
        os.utime(notebook, (1767225600.25, 1767225600.25))  # 2026-01-01 00:00:00.25 UTC
        gradebook.carry_exchange_files(submitted, notebook, autograded)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert (autograded / "timestamp.txt").read_text() == "2026-01-01 00:00:00.250000 UTC"
    assert len((autograded / "submission_secret.txt").read_text()) == 128


# -- html_safety: URLs as browsers read them, the inertness check's tokens, malformed cells ----------


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("\x00 \x1f java\tscr\nipt:x \x0b", "javascript:x"),  # control characters and spaces around; tabs inside
        ("Xhttp://a/!X", "Xhttp://a/!X"),  # printable characters stay
        ("!http://a/!", "!http://a/!"),  # "!" (33) is the first of them
        ("\r\nhttps://a/b c\x20", "https://a/b c"),  # a space inside stays
    ],
)
def test_a_url_is_read_as_a_browser_reads_it(written, read):
    from autograder.gradebook import html_safety

    assert html_safety._url(written) == read


def test_a_data_url_behind_control_characters_is_still_a_data_url():
    from autograder.gradebook import html_safety

    assert html_safety._attribute("a", "href", "\x01\x02data:text/html,<script>x()</script>") is None
    assert html_safety._attribute("img", "src", "\x1f data:image/png;base64,AAAA") == "\x1f data:image/png;base64,AAAA"
    assert html_safety.clean('<a href="&#1;&#2;data:text/html,x">a</a>') == "<a>a</a>"


@pytest.mark.parametrize(
    ("fragment", "tokens"),
    [
        ("<pre>\nab</pre>", [("tag", "pre", ()), ("text", "ab")]),  # html5 drops the newline after these three
        ("<textarea>\nab</textarea>", [("tag", "textarea", ()), ("text", "ab")]),
        ("<listing>\nab</listing>", [("tag", "listing", ()), ("text", "ab")]),
        ("<pre>\n</pre>", [("tag", "pre", ())]),  # and what is left is no text at all
        ("<p>\nab</p>", [("tag", "p", ()), ("text", "\nab")]),  # elsewhere it stays
        ("<p>a</b>c\r\nd\re</p>", [("tag", "p", ()), ("text", "ac\nd\ne")]),  # text across an end tag is one
        ("<input disabled>", [("tag", "input", (("disabled", ""),))]),  # an attribute without a value
        ('<p title=" a  b " style=" color : red ;">', [("tag", "p", (("style", "color:red"), ("title", " a  b ")))]),
    ],
)
def test_the_inertness_check_reads_text_and_attributes_as_a_browser_shows_them(fragment, tokens):
    from autograder.gradebook import html_safety

    assert html_safety._tokens(fragment) == tokens


def test_a_cell_whose_nbgrader_marks_are_malformed_is_the_students_text():
    from autograder import notebooks
    from autograder.gradebook import html_safety
    from autograder.shadows.sanitize import ReleaseCells, SourceCell

    script = "<script>course()</script>"
    release = ReleaseCells(source_cells=[SourceCell("demo", "markdown", True, script, None)])
    nb = notebooks.as_node({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    nb.cells = [
        notebooks.as_node({"cell_type": "markdown", "metadata": {"nbgrader": {"grade_id": ["demo"]}},
                           "source": script}),
        notebooks.as_node({"cell_type": "markdown", "metadata": {"nbgrader": "demo"}, "source": script}),
    ]
    nb.cells.append(notebooks.as_node({"cell_type": "markdown", "source": script}))
    nb.cells[-1]["metadata"] = ["demo"]
    html_safety.make_inert(nb, release)
    assert [cell.source.startswith('<div class="autograder-sanitized">') for cell in nb.cells] == [True, True, True]
    assert all("course()" not in cell.source for cell in nb.cells)


@pytest.mark.parametrize("by", ["shadow", "nbgrader"])
def test_a_graded_notebook_nbgrader_refuses_shows_its_scores_with_why_it_is_not_shown(writer_course, monkeypatch, by):
    import nbformat

    from autograder import gradebook, notebooks, shadows
    from tests.test_gradebook import PS1, graded, submit

    if by == "nbgrader":
        monkeypatch.setattr(shadows, "in_force", lambda library: library != "nbgrader")
    path = submit(writer_course, "rex")
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(notebooks.as_node({  # a test cell of the student's own: an id the release lacks
        "id": "forged", "cell_type": "code", "source": "# FORGED", "outputs": [], "execution_count": None,
        "metadata": {"nbgrader": {"grade": True, "solution": False, "locked": True, "grade_id": "test_<b>forged",
                                  "points": 100, "schema_version": 3}}}))
    nbformat.write(nb, path)
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        assert writer.record_many([graded("rex", path)]) == {}
        autograded = writer.autograded_path("rex")
        assert writer.recorded()["rex"]["test_conv2d_hidden"] == (6.0, None)
    out = nbformat.read(autograded, as_version=4)
    why = {"shadow": "nbgrader's checks refused it: the nbgrader metadata may be corrupted: nbgrader cell does not "
                     "have a grade_id",
           "nbgrader": "nbgrader's steps could not restore it (KeyError)"}[by]
    assert out.cells[0].source == (
        f"<p><strong>Graded: your scores and feedback are below, but your notebook cannot be shown here ({why})."
        "</strong></p>\n<p>Below is the released notebook (not your work), with the feedback under each test cell.</p>")
    assert "# FORGED" not in [c.source for c in out.cells]
    assert cells_by_id(autograded)["test_conv2d_hidden"].outputs[0].data["text/plain"] == "conv2d: 6 / 8 MARKER-rex"


def test_why_a_graded_notebook_is_not_shown_is_one_line_of_text_at_most_300_characters():
    from autograder import gradebook, notebooks

    release = notebooks.as_node({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    why = "cell 'a\n<b>x</b>' & " + "y" * 300
    heading = gradebook.graded_release_notebook(release, why).cells[0].source
    shown = heading[heading.index("here (") + 6:heading.index(").</strong>")]
    assert shown == "cell 'a\\n&lt;b&gt;x&lt;/b&gt;' &amp; " + "y" * (300 - 20) + "..."
    exact = gradebook.graded_release_notebook(release, "z" * 300).cells[0].source
    assert "(" + "z" * 300 + ")." in exact
