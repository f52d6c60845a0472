"""Reading notebooks and choosing the code the grader runs."""

import copy
import json
import re

import nbformat
import pytest

from autograder import notebooks
from autograder.course import get_assignment
from autograder.submissions import find
from tests.conftest import fixture_notebook


def test_program_is_setup_plus_solutions_plus_student_cells(root):
    release = notebooks.read(get_assignment("ps1").release_path(root))
    nb = fixture_notebook("ps1", "correct-noisy")
    program = notebooks.student_program(nb, release)
    assert program[0].strip() == "import numpy as np"
    assert any("starting my notebook" in code for code in program)  # the student's own cell
    assert not any("check_array(" in code for code in program)  # visible tests are not run
    assert not any("show_feature_maps" in code for code in program)  # nor plotting demos


def test_magics_are_removed():
    assert notebooks.strip_magics("%matplotlib inline\nx = 1\n!pip install foo") == (
        "pass  # IPython-only line removed\nx = 1\npass  # IPython-only line removed")
    assert notebooks.strip_magics("%%timeit\nx = 1") == ""


def test_unreadable_notebooks_raise_notebook_error(tmp_path):
    bad_cell = '{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [["not", "a", "cell"]]}'
    for name, text in (("corrupt.ipynb", "{nope"), ("empty.ipynb", ""), ("list.ipynb", "[1, 2]"),
                       ("cell.ipynb", bad_cell), ("nocells.ipynb", '{"nbformat": 4, "cells": 3}')):
        (tmp_path / name).write_text(text)
        with pytest.raises(notebooks.NotebookError, match="not a"):
            notebooks.read(tmp_path / name)
    with pytest.raises(notebooks.NotebookError, match="no such notebook"):
        notebooks.read(tmp_path / "missing.ipynb")


def test_older_notebook_formats_are_upgraded(tmp_path):
    """Version 4 notebooks are read with plain json; a version 3 one goes through nbformat's upgrade
    and grades the same."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("marker_3141 = 1\nprint(marker_3141)")])
    (tmp_path / "v3.ipynb").write_text(nbformat.writes(nbformat.convert(nb, 3), version=3))
    (tmp_path / "v4.ipynb").write_text(nbformat.writes(nb))
    old, new = notebooks.read(tmp_path / "v3.ipynb"), notebooks.read(tmp_path / "v4.ipynb")
    assert [c.source for c in old.cells] == [c.source for c in new.cells] == ["marker_3141 = 1\nprint(marker_3141)"]
    assert old.cells[0].cell_type == "code" and old.nbformat == 4


def _rich_notebook():
    """Every part of a notebook nbformat treats specially on disk."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 1\nb = 2\n", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="line one 2718\nline two\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": "x\ny", "text/html": "<b>\n</b>",
                                                     "image/svg+xml": "<svg>\n</svg>", "image/png": "iVBOR\nw0",
                                                     "application/json": {"k": ["v\n", "w"]},
                                                     "application/vnd.custom+json": ["a\n", "b"]}),
        nbformat.v4.new_output("execute_result", data={"text/plain": "3\n4"}, execution_count=1),
        nbformat.v4.new_output("error", ename="E", evalue="v", traceback=["t1", "t2"])]),
        nbformat.v4.new_markdown_cell("# title é\ntext", attachments={"p.png": {"image/png": "AAAA",
                                                                                  "text/plain": "one\ntwo"}}),
        nbformat.v4.new_raw_cell("raw\n")])
    nb.cells[0].metadata["trusted"] = True
    nb.metadata["signature"] = "sha256:abc"
    return nb


def test_a_notebook_reads_and_writes_as_nbformat_does(tmp_path, root):
    """Sources, stream text and rich outputs stored as lists of lines come back as one string each
    (JSON outputs stay structured, transient keys are dropped), exactly as nbformat.read gives them;
    and what we write is byte for byte what nbformat writes."""
    path = tmp_path / "outputs.ipynb"
    nbformat.write(_rich_notebook(), path)
    assert '"line one 2718\\n",' in path.read_text()  # stored as a list of lines
    ours, theirs = notebooks.read(path), nbformat.read(path, as_version=4)
    assert ours == theirs
    raw = json.loads(path.read_text())
    raw["cells"][0]["metadata"]["trusted"] = True  # what nbformat drops when it reads
    raw["metadata"]["orig_nbformat"] = 3
    path.write_text(json.dumps(raw))
    assert notebooks.read(path) == nbformat.read(path, as_version=4)
    for nb in [_rich_notebook(), *(nbformat.read(p, as_version=4) for p in sorted(root.glob("*/*/*.ipynb")))]:
        before = copy.deepcopy(nb)
        assert notebooks.writes(nb) == nbformat.writes(nb)
        assert nb == before  # writing changes nothing in memory
    assert all(len(notebooks.new_cell_id()) == 8 for _ in range(5))


def test_a_notebook_older_than_4_5_gets_cell_ids_as_nbformat_upgrades_it(tmp_path):
    """Colab saves nbformat 4.0, whose schema has no cell ids: giving its cells ids upgrades it to
    4.5 as nbformat.v4.upgrade does (fresh ids aside), and what we write is valid and nbformat's."""
    data = json.loads(nbformat.writes(_rich_notebook()))
    data["nbformat_minor"] = 0
    for cell in data["cells"]:
        del cell["id"]
    path = tmp_path / "colab.ipynb"
    path.write_text(json.dumps(data))
    ours, theirs = notebooks.read(path), nbformat.read(path, as_version=4)
    assert ours == theirs and ours.nbformat_minor == 0
    notebooks.with_cell_ids(ours)
    nbformat.v4.upgrade(theirs)
    ids = [cell.pop("id") for cell in ours.cells]
    assert [cell.pop("id") for cell in theirs.cells] != ids  # fresh ids, either way
    assert ours == theirs and ours.nbformat_minor == 5 and ours.metadata.orig_nbformat_minor == 0
    assert len(set(ids)) == len(ids) and all(re.fullmatch("[0-9a-f]{8}", i) for i in ids)
    for cell, cell_id in zip(theirs.cells, ids, strict=True):
        cell.id = cell_id
    for cell, cell_id in zip(ours.cells, ids, strict=True):
        cell.id = cell_id
    assert notebooks.writes(ours) == nbformat.writes(theirs)
    nbformat.validate(json.loads(notebooks.writes(ours)))
    # a 4.5 notebook keeps its ids; a cell added without one gets one
    ours.cells.append(notebooks.as_node({"cell_type": "markdown", "metadata": {}, "source": "added"}))
    notebooks.with_cell_ids(ours)
    assert [cell.id for cell in ours.cells[:-1]] == ids and re.fullmatch("[0-9a-f]{8}", ours.cells[-1].id)


def test_submission_discovery_and_matching(tmp_path):
    ps1 = get_assignment("ps1")
    nb = nbformat.v4.new_notebook()
    layout = {"alice": ["convolution.ipynb"], "bob": ["convolution (1).ipynb"],
              "carl": ["convolution.ipynb", "convolution-old.ipynb"], "dora": ["a.ipynb", "b.ipynb"]}
    for student, names in layout.items():
        folder = tmp_path / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        for name in names:
            nbformat.write(nb, folder / name)
    (tmp_path / "submitted" / "erin" / "ps1").mkdir(parents=True)
    found = find(tmp_path, ps1, [])
    by_student = {}
    for submission in found:
        by_student.setdefault(submission.student, []).append(submission)
    assert [s.path.name for s in by_student["alice"]] == ["convolution.ipynb"]
    assert by_student["bob"][0].problem is None
    assert [s.path.name for s in by_student["carl"]] == ["convolution.ipynb"]
    assert all(s.problem and "none is named convolution.ipynb" in s.problem for s in by_student["dora"])
    assert "no notebook" in by_student["erin"][0].problem
    explicit = find(tmp_path, ps1, [str(tmp_path / "submitted" / "dora" / "ps1" / "a.ipynb")])
    assert explicit[0].student == "dora" and explicit[0].problem is None
