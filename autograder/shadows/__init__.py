"""Hand-written stand-ins ("shadows") for parts of nbformat and nbgrader, each checked against one
version of its library, and the library itself on any other version.

Why they exist: importing nbformat costs about 0.1 s, nbgrader with SQLAlchemy more than grading a
notebook; a regrade pays neither (tests/test_gradebook_runs.py holds it to that). Why they are
safe: each is compared with its library by a test, on the version named here.

+-----------------+--------------------------------------+-----------------+------------------------------------------+
| module          | stands in for                        | checked against | deliberately differs                     |
+=================+======================================+=================+==========================================+
| notebook_format | nbformat: reads/writes of a version  | nbformat 5.11.1 | no schema validation when reading        |
|                 | 4 notebook (its layout on disk),     |                 | (autograder.notebooks' guarded reader    |
|                 | NotebookNode (from_dict), v4.upgrade |                 | checks what the grader reads)            |
|                 | of a 4.0-4.4 notebook,               |                 |                                          |
|                 | random_cell_id                       |                 |                                          |
+-----------------+--------------------------------------+-----------------+------------------------------------------+
| gradebook_rows  | nbgrader.api.Gradebook: the rows     | nbgrader 0.9.6  | sqlite3, no SQLAlchemy; one transaction  |
|                 | add_student and add_submission make, | (alembic        | per batch, a savepoint per result; a     |
|                 | auto scores, late penalties, the     | e43177bfe90b)   | gradebook of another schema revision is  |
|                 | release's cells as recorded          |                 | refused, never written                   |
+-----------------+--------------------------------------+-----------------+------------------------------------------+
| sanitize        | nbgrader's ClearOutput,              | nbgrader 0.9.6  | deleted grade and task cells are always  |
|                 | DeduplicateIds, OverwriteCells,      |                 | added back from the release (nbgrader's  |
|                 | CheckCellMetadata (what autograde    |                 | OverwriteCells.add_missing_cells is      |
|                 | does before it runs a notebook)      |                 | False by default; it is not read); a     |
|                 |                                      |                 | cell whose unknown id was dropped is     |
|                 |                                      |                 | skipped there (nbgrader's step raises a  |
|                 |                                      |                 | KeyError on it)                          |
+-----------------+--------------------------------------+-----------------+------------------------------------------+
| timestamps      | nbgrader.utils.parse_utc;            | nbgrader 0.9.6  | whatever dateutil raises on a student's  |
|                 | SQLAlchemy's DATETIME and Interval   |                 | timestamp.txt is a ValueError            |
|                 | columns on SQLite                    |                 |                                          |
+-----------------+--------------------------------------+-----------------+------------------------------------------+
| notebook_schema | nbformat.validate: the v4.5 schema's | nbformat 5.11.1 | repairs instead of refusing: a bad or    |
|                 | cell ids (unique), the metadata keys |                 | duplicate cell id is replaced, a         |
|                 | it describes (notebook and each cell |                 | described metadata key that does not fit |
|                 | type), the keys a notebook and a     |                 | is dropped, a key the schema forbids is  |
|                 | cell may have, attachments           |                 | dropped, an unknown cell type is raw;    |
|                 |                                      |                 | an id ending in a line break is replaced |
+-----------------+--------------------------------------+-----------------+------------------------------------------+

Tests: tests/test_notebooks.py (reading, writing and upgrading against nbformat),
tests/test_sanitize.py (against nbgrader's preprocessors on tampered notebooks),
tests/test_notebook_schema.py (repaired notebooks against nbformat.validate, valid ones unchanged),
tests/test_gradebook_rows.py (the rows against nbgrader's API, table by table; the times against
nbgrader's parse_utc), tests/test_shadows.py (another installed version: grading goes through the
libraries, with the same gradebook rows and autograded notebooks). To move to a new version of a
library: pin it, run those tests, fix what differs, and update `CHECKED`.

`in_force` decides, per library, from the version installed: the callers (``autograder.notebooks``,
``autograder.gradebook``) use a shadow only when it is in force and the library otherwise. A
version the shadows were not checked against never stops grading.
"""

from __future__ import annotations

import functools
import os
import re
import sys

#: The library versions the shadows were checked against (pyproject.toml pins these).
CHECKED = {"nbformat": "5.11.1", "nbgrader": "0.9.6"}


@functools.cache
def installed(distribution: str) -> str | None:
    """The installed version of `distribution`, None when it is not installed. Read from the
    names of the ``*.dist-info`` folders on ``sys.path`` (importlib.metadata, which costs more
    than the look-up, only when none is found)."""
    wanted = re.compile(rf"{re.escape(distribution.replace('-', '_'))}-([^-]+)\.dist-info", re.IGNORECASE)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if match := wanted.fullmatch(name):
                return match.group(1)
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def in_force(distribution: str) -> bool:
    """Whether the shadows of `distribution` ("nbformat" or "nbgrader") stand in for it: the
    installed version is the one they were checked against."""
    return installed(distribution) == CHECKED[distribution]
