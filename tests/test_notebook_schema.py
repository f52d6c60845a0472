"""autograder.shadows.notebook_schema against nbformat's own validator (nbformat 5.11.1): whatever
a student's notebook holds that the v4.5 schema refuses, the autograded notebook is valid after the
repair, with the rest of the student's work as it was; a valid notebook is left byte for byte."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import warnings

import nbformat
import pytest

from autograder import notebooks
from autograder.course import get_assignment
from autograder.shadows import notebook_schema
from tests.conftest import ROOT, SUBMISSIONS, fixture_notebook
from tests.test_mutants_gradebook import writer_course  # noqa: F401 - fixture

PS1 = get_assignment("ps1")


def base():
    """The ps1 release, with a raw cell at the end (the release has none), as the writer holds it."""
    nb = notebooks.read(PS1.release_path(ROOT))
    nb.cells.append(notebooks.as_node({"id": "raw-cell", "cell_type": "raw", "metadata": {"format": "text/plain"},
                                       "source": "raw text"}))
    return nb


def first(nb, cell_type: str):
    return next(cell for cell in nb.cells if cell.cell_type == cell_type)


def plain(nb) -> dict:
    """The notebook as JSON, all of it (writing it would drop orig_nbformat: it is validated too)."""
    return json.loads(json.dumps(nb))


def library_accepts(nb) -> bool:
    """nbformat.validate on the written notebook; its silent repair of duplicate ids counts as a refusal."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            nbformat.validate(plain(nb))
        except (nbformat.ValidationError, Warning):
            return False
    return True


def assert_valid(nb) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nbformat.validate(plain(nb))


def metadata_of(nb, where: str) -> dict:
    return nb.metadata if where == "notebook" else first(nb, where).metadata


# -- each metadata key the schema describes ----------------------------------------------------------

EVERY_CELL_BAD = {
    "jupyter": ["x", 1, [], None, True],
    "name": ["", 1, None, [], "a\nb", "\n", {}],
    "tags": ["x", ["a,b"], ["a", "a"], [1], [""], {}, None, [["a"]], ",", 3],
}
EVERY_CELL_GOOD = {
    "jupyter": [{}, {"source_hidden": True}, {"outputs_hidden": False, "other": 1}],
    "name": ["a", "cell name", "a\n"],
    "tags": [[], ["a", "b"], ["a b", "raises-exception"]],
}
BAD = {
    "raw": {**EVERY_CELL_BAD, "format": [1, None, [], {}, True]},
    "markdown": EVERY_CELL_BAD,
    "code": {**EVERY_CELL_BAD,
             "collapsed": ["true", 1, 0, None, "false", [], {}],
             "scrolled": ["yes", 1, 0, None, [], "Auto", {}],
             "execution": ["x", {"iopub.status.busy": 1}, {"any": None}, {"shell.execute_reply": []}, [], 3]},
    "notebook": {
        "kernelspec": [{}, {"name": "x"}, "python", {"name": 1, "display_name": "x"}, None],
        "language_info": [{}, {"name": 1}, "python", {"name": "python", "codemirror_mode": 3},
                          {"name": "python", "mimetype": None}, {"name": "python", "pygments_lexer": []}, None],
        "orig_nbformat": [0, "4", 4.5, True, -1, None, []],
        "title": [3, None, [], {}, True],
        "authors": ["me", {}, None, 1],
    },
}
GOOD = {
    "raw": {**EVERY_CELL_GOOD, "format": ["text/latex", ""]},
    "markdown": EVERY_CELL_GOOD,
    "code": {**EVERY_CELL_GOOD,
             "collapsed": [True, False],
             "scrolled": [True, False, "auto"],
             "execution": [{}, {"iopub.status.busy": "2024-01-01T00:00:00Z"}, {"own": "text"}]},
    "notebook": {
        "kernelspec": [{"name": "python3", "display_name": "Python 3", "language": "python"}],
        "language_info": [{"name": "python"}, {"name": "python", "codemirror_mode": {"name": "ipython"},
                                               "file_extension": ".py", "version": 3}],
        "orig_nbformat": [1, 4],
        "title": ["A title", ""],
        "authors": [[], [{"name": "me"}], ["someone"]],
    },
}


def cases(table: dict):
    return [pytest.param(where, key, value, id=f"{where}-{key}-{value!r}")
            for where, keys in table.items() for key, values in keys.items() for value in values]


@pytest.mark.parametrize(("where", "key", "value"), cases(BAD))
def test_a_described_key_that_does_not_fit_is_dropped_and_nothing_else_changes(where, key, value):
    expected = base()
    metadata_of(expected, where).pop(key, None)
    metadata_of(expected, where)["kept"] = {"own": ["metadata"]}  # a key the schema does not describe
    nb = copy.deepcopy(expected)
    metadata_of(nb, where)[key] = value
    assert not library_accepts(nb)  # the premise: nbformat refuses it
    assert notebook_schema.made_valid(nb) is nb
    assert_valid(nb)
    assert nb == expected


@pytest.mark.parametrize(("where", "key", "value"), cases(GOOD))
def test_a_described_key_that_fits_is_kept(where, key, value):
    nb = base()
    metadata_of(nb, where)[key] = value
    assert library_accepts(nb)
    expected = copy.deepcopy(nb)
    assert notebook_schema.made_valid(nb) == expected


# -- cell ids -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell_id", ["a" * 65, 'x"><img src=x onerror=alert(1)>', "", "a b", "é", "a,b", 7, None,
                                     True, ["a"], "abc\n"])
def test_a_cell_id_that_does_not_fit_is_replaced_by_a_fresh_one(cell_id):
    nb = base()
    nb.cells[-2].id = cell_id
    others = [cell.id for index, cell in enumerate(nb.cells) if index != len(nb.cells) - 2]
    expected = copy.deepcopy(nb)
    notebook_schema.made_valid(nb)
    assert_valid(nb)
    fresh = nb.cells[-2].id
    assert isinstance(fresh, str) and len(fresh) == 8 and fresh not in others
    expected.cells[-2].id = fresh
    assert nb == expected


def test_a_cell_without_an_id_gets_one():
    nb = base()
    del nb.cells[0]["id"]
    notebook_schema.made_valid(nb)
    assert_valid(nb)


@pytest.mark.parametrize("cell_id", ["a" * 64, "A-b_9", "1"])
def test_a_cell_id_that_fits_is_kept(cell_id):
    nb = base()
    nb.cells[3].id = cell_id
    assert library_accepts(nb)
    expected = copy.deepcopy(nb)
    assert notebook_schema.made_valid(nb) == expected


def test_a_duplicate_id_is_kept_by_the_first_cell_and_replaced_in_the_later_ones():
    nb = base()
    ids = [cell.id for cell in nb.cells]
    nb.cells[4].id = nb.cells[6].id = ids[1]
    assert not library_accepts(nb)
    notebook_schema.made_valid(nb)
    assert_valid(nb)
    after = [cell.id for cell in nb.cells]
    assert after[:4] == ids[:4] and after[5] == ids[5] and after[7:] == ids[7:]
    assert len(set(after)) == len(after) and {after[4], after[6]}.isdisjoint(ids)


def test_a_fresh_id_is_never_one_a_cell_already_has(monkeypatch):
    nb = base()
    taken = nb.cells[0].id
    nb.cells[2].id = "bad id"
    answers = iter([taken, nb.cells[5].id, "c0ffee00"])
    monkeypatch.setattr(notebooks, "new_cell_id", lambda: next(answers))
    notebook_schema.made_valid(nb)
    assert nb.cells[2].id == "c0ffee00" and nb.cells[0].id == taken
    assert_valid(nb)


def test_two_fresh_ids_are_never_the_same(monkeypatch):
    nb = base()
    nb.cells[2].id, nb.cells[4].id = "bad id", ""
    answers = iter(["c0ffee00", "c0ffee00", "c0ffee01"])
    monkeypatch.setattr(notebooks, "new_cell_id", lambda: next(answers))
    notebook_schema.made_valid(nb)
    assert (nb.cells[2].id, nb.cells[4].id) == ("c0ffee00", "c0ffee01")
    assert_valid(nb)


# -- keys the schema does not allow, attachments, cell types ----------------------------------------

@pytest.mark.parametrize(("change", "undo"), [
    (lambda nb: nb.__setitem__("extra", 1), lambda nb: None),
    (lambda nb: first(nb, "code").__setitem__("extra", {"a": 1}), lambda nb: None),
    (lambda nb: first(nb, "markdown").__setitem__("outputs", []), lambda nb: None),
    (lambda nb: first(nb, "markdown").__setitem__("execution_count", 3), lambda nb: None),
    (lambda nb: first(nb, "raw").__setitem__("outputs", []), lambda nb: None),
    (lambda nb: first(nb, "code").__setitem__("attachments", {}), lambda nb: None),
    (lambda nb: first(nb, "markdown").__setitem__("attachments", "x"), lambda nb: None),
    (lambda nb: first(nb, "markdown").__setitem__("attachments", {"a.png": {"image/png": 1}, "b.png": "x"}),
     lambda nb: first(nb, "markdown").__setitem__("attachments", {})),
    (lambda nb: first(nb, "raw").__setitem__("attachments", {"a.png": {"image/png": "iVBO", "text/plain": [1]},
                                                             "b.png": {"image/png": ["iV", "BO"]}}),
     lambda nb: first(nb, "raw").__setitem__("attachments", {"b.png": {"image/png": ["iV", "BO"]}})),
], ids=["notebook", "code-cell", "markdown-outputs", "markdown-count", "raw-outputs", "code-attachments",
        "attachments-not-object", "attachment-not-bundle", "attachment-bad-mime-data"])
def test_a_key_the_schema_does_not_allow_is_dropped(change, undo):
    expected = base()
    undo(expected)
    nb = base()
    change(nb)
    assert not library_accepts(nb)
    notebook_schema.made_valid(nb)
    assert_valid(nb)
    assert nb == expected


def test_good_attachments_are_kept():
    nb = base()
    first(nb, "markdown").attachments = {"a.png": {"image/png": "iVBO"}, "b.json": {"application/json": {"x": [1]}},
                                        "c.txt": {"text/plain": ["a\n", "b"]}, "d": {}}
    assert library_accepts(nb)
    expected = copy.deepcopy(nb)
    assert notebook_schema.made_valid(nb) == expected


def test_a_cell_of_an_unknown_type_becomes_a_raw_cell_with_its_text():
    nb = base()
    nb.cells[3] = notebooks.as_node({"id": "old-heading", "cell_type": "heading", "level": 2,
                                     "metadata": {"tags": ["t"], "collapsed": "x"}, "source": ["# Old", " heading"]})
    notebook_schema.made_valid(nb)
    assert_valid(nb)
    assert nb.cells[3] == {"id": "old-heading", "cell_type": "raw", "metadata": {"tags": ["t"], "collapsed": "x"},
                           "source": ["# Old", " heading"]}


def test_what_the_attacker_handed_in_comes_out_valid_with_the_students_work():
    nb = base()
    sources = [cell.source for cell in nb.cells]
    nb.cells[-1].id = "a" * 65
    nb.cells[-2].id = 'x"><img src=x onerror=alert(1)>'
    nb.cells[-3].metadata.tags = "x"
    first(nb, "code").metadata.update(collapsed="no", scrolled="auto", jupyter=[], tags=["ok"])
    nb.metadata.update(language_info={"version": 3}, title=["t"], authors=[{"name": "me"}])
    notebook_schema.made_valid(nb)
    assert_valid(nb)
    assert [cell.source for cell in nb.cells] == sources
    assert first(nb, "code").metadata.scrolled == "auto" and first(nb, "code").metadata.tags == ["ok"]
    assert "collapsed" not in first(nb, "code").metadata and "jupyter" not in first(nb, "code").metadata
    assert "tags" not in nb.cells[-3].metadata
    assert nb.metadata.authors == [{"name": "me"}] and "title" not in nb.metadata
    assert "language_info" not in nb.metadata


# -- valid notebooks are left as they are ------------------------------------------------------------

def course_notebooks():
    return sorted([*ROOT.glob("source/*/*.ipynb"), *ROOT.glob("assignments/*/*.ipynb")])


def fixtures():
    return sorted((path.parent.name, path.stem.removeprefix("submitted-")) for path in SUBMISSIONS.glob("*/*.py"))


@pytest.mark.parametrize("path", course_notebooks(), ids=lambda path: str(path.relative_to(ROOT)))
def test_the_courses_notebooks_are_left_byte_for_byte(path):
    nb = notebooks.read(path)
    before = notebooks.writes(nb)
    assert library_accepts(nb)
    assert notebooks.writes(notebook_schema.made_valid(nb)) == before


@pytest.mark.parametrize(("assignment", "behaviour"), fixtures(), ids=lambda part: part)
def test_every_fixture_submission_is_left_byte_for_byte(assignment, behaviour):
    nb = notebooks.with_cell_ids(fixture_notebook(assignment, behaviour))
    before = notebooks.writes(nb)
    assert library_accepts(nb)
    assert notebooks.writes(notebook_schema.made_valid(nb)) == before


def test_there_are_notebooks_to_leave_alone():
    assert len(course_notebooks()) == 6 and len(fixtures()) >= 40


def test_the_repair_imports_neither_nbformat_nor_jsonschema():
    program = (
        "import json, sys\n"
        "from autograder import notebooks\n"
        "from autograder.shadows import notebook_schema, notebook_format\n"
        f"nb = notebook_format.from_disk(json.loads(open({str(PS1.release_path(ROOT))!r}).read()))\n"
        "nb.cells[0]['id'] = 'bad id'; nb.cells[1].metadata['tags'] = 'x'\n"
        "notebook_schema.made_valid(nb)\n"
        "assert nb.cells[0]['id'] != 'bad id' and 'tags' not in nb.cells[1].metadata\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('nbformat', 'jsonschema',"
        " 'fastjsonschema')))\n")
    done = subprocess.run([sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- the writer --------------------------------------------------------------------------------------

def attacked(path):
    """The three examples of the attack, on a submission on disk."""
    nb = nbformat.read(path, as_version=4)
    by_grade_id = {notebooks.grade_id(cell): cell for cell in nb.cells}
    nb.cells[-1].id = "a" * 65  # the student's answer to the written question
    by_grade_id["conv2d"].id = 'x"><img src=x onerror=alert(1)>'
    by_grade_id["conv1d"].metadata.tags = "x"
    path.write_text(json.dumps(nb))  # nbformat.write would refuse it
    return nb


@pytest.mark.parametrize("by", ["shadow", "nbgrader"])
@pytest.mark.filterwarnings("ignore:Object of type")  # nbgrader's add_submission, harmless
def test_the_autograded_notebook_of_an_invalid_submission_is_valid(writer_course, monkeypatch, by):  # noqa: F811
    from autograder import gradebook, shadows
    from tests.test_gradebook import graded, submit

    if by == "nbgrader":  # another nbgrader version: its own preprocessors and Gradebook, in this process
        monkeypatch.setattr(shadows, "in_force", lambda library: library != "nbgrader")
    path = submit(writer_course, "mallory")
    nb = attacked(path)
    with gradebook.GradebookWriter(writer_course, PS1) as writer:
        assert writer.record_many([graded("mallory", path)]) == {}
        autograded = writer.autograded_path("mallory")
    data = json.loads(autograded.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nbformat.validate(data)
    by_grade_id = {cell["metadata"].get("nbgrader", {}).get("grade_id"): cell for cell in data["cells"]}
    submitted = {notebooks.grade_id(cell): cell for cell in nb.cells}
    assert "tags" not in by_grade_id["conv1d"]["metadata"]
    for grade_id in ("conv2d", "conv1d"):  # the student's code, as handed in
        assert "".join(by_grade_id[grade_id]["source"]) == submitted[grade_id].source
    assert "".join(data["cells"][-1]["source"]) == nb.cells[-1].source and len(data["cells"][-1]["id"]) == 8
    assert "onerror" not in autograded.read_text()


@pytest.mark.slow
def test_nbgrader_generate_feedback_reads_the_autograded_notebook_of_an_invalid_submission(tmp_path):
    from tests.conftest import json_lines, make_course, nbgrader, run_grader
    from tests.conftest import submit as hand_in

    course = make_course(tmp_path / "course")
    path = hand_in(course, "mallory", fixture_notebook("ps1", "correct-loops"))
    attacked(path)
    done = run_grader(course, "grade", "ps1", "--json")
    assert done.returncode == 0, done.stderr
    assert [(r["student"], r["status"]) for r in json_lines(done)] == [("mallory", "graded")]
    nbgrader(course, "generate_feedback", "ps1", "--force")
    assert (course / "feedback" / "mallory" / "ps1" / "convolution.html").is_file()
