"""Shadow of nbgrader's preprocessors (checked against nbgrader 0.9.6; see autograder.shadows):
what `nbgrader autograde` makes of a submitted notebook before it runs it, without importing
nbgrader: ClearOutput, DeduplicateIds, OverwriteCells (with add_missing_cells) and
CheckCellMetadata, step for step, against the release's cells read from the gradebook.
tests/test_sanitize.py holds this module to nbgrader's own preprocessors on tampered notebooks.

Where it differs from nbgrader's defaults, on purpose: deleted grade and task cells are always
added back from the release (nbgrader's OverwriteCells.add_missing_cells is False by default, and
is not read here), so that deleting a test cell changes nothing; `by_nbgrader`, used on another
version of nbgrader, sets it too.

A notebook nbgrader would refuse (its metadata cannot be validated, a locked cell cannot be
restored, a re-added cell has nowhere to go) raises, as nbgrader's preprocessors do.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field

from autograder import notebooks

#: ClearOutputPreprocessor.remove_metadata_fields and OverwriteCells.missing_cell_notification by default
REMOVED_METADATA = frozenset({"collapsed", "scrolled"})
MISSING_CELL_NOTE = ("This cell (id:{cell_id}) was missing from the submission. "
                     "It was added back by nbgrader.\n\n")
SCHEMA_VERSION = 3  # nbgrader's cell metadata schema (nbgrader/nbgraderformat/v3.json)


class MetadataError(ValueError):
    """nbgrader metadata that nbgrader's CheckCellMetadata rejects."""


@dataclass(frozen=True)
class SourceCell:
    name: str
    cell_type: str
    locked: bool
    source: str
    checksum: str | None


@dataclass(frozen=True)
class GradedCell:
    name: str
    max_score: float


@dataclass
class ReleaseCells:
    """The release of one notebook as the gradebook recorded it (nbgrader's Notebook), in the
    gradebook's own order."""

    source_cells: list[SourceCell] = field(default_factory=list)
    grade_cells: list[GradedCell] = field(default_factory=list)
    solution_cells: list[str] = field(default_factory=list)
    task_cells: list[GradedCell] = field(default_factory=list)

    def __post_init__(self):
        self.source = {cell.name: cell for cell in self.source_cells}
        # nbgrader's find_graded_cell looks for a grade cell first, then a task cell
        self.graded = {cell.name: cell for cell in [*self.task_cells, *self.grade_cells]}


# -- nbgrader.utils ---------------------------------------------------------------------------------

def is_grade(cell) -> bool:
    return "nbgrader" in cell.metadata and cell.metadata["nbgrader"].get("grade", False)


def is_solution(cell) -> bool:
    return "nbgrader" in cell.metadata and cell.metadata["nbgrader"].get("solution", False)


def is_locked(cell) -> bool:
    if "nbgrader" not in cell.metadata or is_solution(cell):
        return False
    return True if is_grade(cell) else cell.metadata["nbgrader"].get("locked", False)


def checksum(cell) -> str:
    """nbgrader's compute_checksum: the cell's source, type, roles, id and points."""
    digest = hashlib.md5()  # noqa: S324 - nbgrader's checksum, not a security measure
    meta = cell.metadata["nbgrader"]
    for part in (cell.source, cell.cell_type, str(is_grade(cell)), str(is_solution(cell)), str(is_locked(cell)),
                 meta["grade_id"]):
        digest.update(part.encode("utf-8"))
    if is_grade(cell):
        digest.update(str(float(meta["points"])).encode("utf-8"))
    return digest.hexdigest()


# -- the steps --------------------------------------------------------------------------------------

def clear_output(nb, removed_metadata=REMOVED_METADATA) -> None:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if "metadata" in cell:
                for name in removed_metadata:
                    cell.metadata.pop(name, None)


def deduplicate_ids(nb) -> None:
    """The last cell of a grade id keeps it; earlier ones lose their nbgrader metadata."""
    seen = set()
    for cell in reversed(nb.cells):
        if not (is_grade(cell) or is_solution(cell) or is_locked(cell)):
            continue
        grade_id = cell.metadata.nbgrader["grade_id"]
        if grade_id in seen:
            cell.metadata.nbgrader = {}
        else:
            seen.add(grade_id)


def _set_cell_type(cell, cell_type: str) -> None:
    from nbformat.v4.nbbase import validate

    if cell.cell_type == cell_type:
        return
    if cell_type == "code":
        cell.cell_type, cell.outputs, cell.execution_count = "code", [], None
        validate(cell, "code_cell")
    elif cell_type == "markdown":
        cell.cell_type = "markdown"
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
        validate(cell, "markdown_cell")


def overwrite_cell(cell, release: ReleaseCells) -> None:
    """OverwriteCells.preprocess_cell: type, locked flag, points and checksum from the release; a
    locked cell's source restored when it was edited; an id the release lacks dropped."""
    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", None)
    if grade_id is None:
        return
    source = release.source.get(grade_id)
    if source is None:
        del cell.metadata.nbgrader["grade_id"]
        return
    if cell.cell_type != source.cell_type:
        _set_cell_type(cell, source.cell_type)
    if is_locked(cell) != source.locked:
        cell.metadata.nbgrader["locked"] = source.locked
    if is_grade(cell):
        if grade_id not in release.graded:
            raise KeyError(f"no grade or task cell {grade_id!r} in the gradebook")
        points = float(release.graded[grade_id].max_score)
        if points != float(cell.metadata.nbgrader["points"]):
            cell.metadata.nbgrader["points"] = points
    cell.metadata.nbgrader["checksum"] = source.checksum
    if source.locked and checksum(cell) != source.checksum:
        cell.source = source.source
        if checksum(cell) != source.checksum:
            raise RuntimeError(f"Inconsistent checksums for cell {source.name}")


def _missing_cell(source: SourceCell, max_score: float, note: str, is_solution_cell=False, is_task_cell=False):
    """OverwriteCells.missing_cell_transform, with the metadata upgrade nbgrader then applies."""
    meta = {"grade": True, "grade_id": source.name, "locked": source.locked, "checksum": source.checksum,
            "cell_type": source.cell_type, "points": max_score, "solution": False}
    cell = {"cell_type": source.cell_type, "metadata": {"deletable": False, "editable": False, "nbgrader": meta},
            "source": note.format(cell_id=source.name) + source.source}
    if cell["cell_type"] == "code":
        cell["execution_count"], cell["outputs"] = None, []
        cell["source"] = "# " + cell["source"]
    if is_solution_cell:
        del cell["metadata"]["editable"]
        meta["solution"] = True
    elif is_task_cell:
        meta["grade"], meta["task"], meta["schema_version"] = False, True, SCHEMA_VERSION
    if not is_task_cell:  # MetadataValidator.upgrade_cell_metadata from schema 0 (a grade cell)
        points = meta["points"]
        meta["points"] = 0.0 if points == "" or float(points) < 0 else float(points)
        meta["schema_version"] = SCHEMA_VERSION
    return notebooks.as_node(cell)


def add_missing_grade_cells(nb, release: ReleaseCells, note: str) -> None:
    """A deleted grade cell comes back after the grade or solution cell that precedes it in the
    release (first in the notebook if it was the release's first cell)."""
    source_ids = [cell.name for cell in release.source_cells]
    solution_ids = set(release.solution_cells)
    positions = {}
    for index, cell in enumerate(nb.cells):
        # a cell whose id the release lacks lost it in overwrite_cell: nbgrader's own step fails on it
        # (KeyError) where this one leaves it to check_metadata, which says what is wrong
        if (is_grade(cell) or is_solution(cell)) and "grade_id" in cell.metadata.nbgrader:
            positions[cell.metadata.nbgrader["grade_id"]] = index
    added = 0
    for graded in release.grade_cells:
        if graded.name in positions:
            continue
        at = source_ids.index(graded.name)
        cell = _missing_cell(release.source_cells[at], graded.max_score, note,
                             is_solution_cell=graded.name in solution_ids)
        if at == 0:
            nb.cells.insert(0, cell)
            positions[graded.name] = 0
        else:
            previous = source_ids[at - 1]
            nb.cells.insert(positions[previous] + added + 1, cell)
            positions[graded.name] = positions[previous]
        added += 1


def add_missing_task_cells(nb, release: ReleaseCells, note: str) -> None:
    """A deleted task cell comes back at the end, in the release's order."""
    present = [cell["metadata"]["nbgrader"].get("grade_id") for cell in nb.cells if "nbgrader" in cell["metadata"]]
    source_ids = [cell.name for cell in release.source_cells]
    for task in release.task_cells:
        if task.name not in present:
            nb.cells.append(_missing_cell(release.source_cells[source_ids.index(task.name)], task.max_score, note,
                                          is_task_cell=True))


# -- CheckCellMetadata (nbgrader's MetadataValidator, schema v3) ------------------------------------

_ALLOWED = {"schema_version", "grade", "locked", "solution", "task", "grade_id", "points", "checksum", "cell_type"}
_GRADE_ID = re.compile(r"^[a-zA-Z0-9_\-]*$")


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _schema_problem(meta: dict) -> str | None:
    """What JSON schema v3 of nbgrader's cell metadata rejects (jsonschema, draft 4), else None."""
    if not isinstance(meta, dict):
        return "the nbgrader metadata is not an object"
    if extra := set(meta) - _ALLOWED:
        return f"unknown keys {sorted(extra)}"
    if missing := {"schema_version", "grade", "locked", "solution"} - set(meta):
        return f"missing keys {sorted(missing)}"
    version = meta["schema_version"]
    if not (isinstance(version, int) and not isinstance(version, bool)) or not 3 <= version <= 3:
        return "schema_version is not 3"
    for flag in ("grade", "locked", "solution", "task"):
        if flag in meta and not isinstance(meta[flag], bool):
            return f"{flag} is not a boolean"
    if "grade_id" in meta and not (isinstance(meta["grade_id"], str) and _GRADE_ID.search(meta["grade_id"])):
        return "grade_id is not made of letters, digits, _ and -"
    if "points" in meta and not (_is_number(meta["points"]) and not meta["points"] < 0):
        return "points is not a number >= 0"
    if "checksum" in meta and not (isinstance(meta["checksum"], str) and len(meta["checksum"]) == 32):
        return "checksum is not 32 characters"
    if "cell_type" in meta and meta["cell_type"] not in ("raw", "code", "markdown"):
        return "cell_type is not raw, code or markdown"
    return None


def _cell_problem(cell) -> str | None:
    meta = cell.metadata["nbgrader"]
    version = meta.get("schema_version", 0)
    if version < SCHEMA_VERSION:
        return f"Outdated schema version: {version} (expected {SCHEMA_VERSION})"
    if version > SCHEMA_VERSION:
        return f"Schema version is too new: {version} (expected {SCHEMA_VERSION})"
    if problem := _schema_problem(meta):
        return problem
    grade, solution, locked, task = meta["grade"], meta["solution"], meta["locked"], meta.get("task", False)
    if grade or solution or locked:
        if "grade_id" not in meta:
            return "nbgrader cell does not have a grade_id"
        if meta["grade_id"] == "":
            return "grade_id is empty"
    if grade and "points" not in meta:
        return f"nbgrader cell '{meta['grade_id']}' does not have points"
    if not task:
        if cell.cell_type == "markdown" and grade and not solution:
            return f"Markdown grade cell '{meta['grade_id']}' is not marked as a solution cell"
        if cell.cell_type == "markdown" and not grade and solution:
            return "Markdown solution cell is not marked as a grade cell"
    elif cell.cell_type != "markdown":
        return "Task cells have to be markdown"
    return None


def check_metadata(nb) -> None:
    """CheckCellMetadata: every cell's nbgrader metadata valid, no grade id twice."""
    for cell in nb.cells:
        if "nbgrader" in cell.metadata and (problem := _cell_problem(cell)):
            raise MetadataError(f"the nbgrader metadata may be corrupted: {problem}")
    ids = set()
    for cell in nb.cells:
        if "nbgrader" not in cell.metadata:
            continue
        meta = cell.metadata["nbgrader"]
        if not meta["grade"] and not meta["solution"] and not meta["locked"]:
            continue
        if meta["grade_id"] in ids:
            raise MetadataError(f"the nbgrader metadata may be corrupted: duplicate grade id {meta['grade_id']}")
        ids.add(meta["grade_id"])


# -- the steps in autograde's order --------------------------------------------------------------

def sanitized(nb, release: ReleaseCells, kernelspec: dict, removed_metadata=REMOVED_METADATA,
              missing_cell_note: str = MISSING_CELL_NOTE):
    """The notebook as `nbgrader autograde` grades it: outputs cleared, duplicated grade ids
    dropped, the release's kernelspec, every locked cell (and any deleted grade or task cell)
    restored from the release, metadata checked. Raises what nbgrader would raise. Cells added
    back have no id yet (autograder.notebooks.with_cell_ids gives them one)."""
    clear_output(nb, removed_metadata)
    deduplicate_ids(nb)
    nb.metadata["kernelspec"] = copy.deepcopy(kernelspec)
    for cell in nb.cells:
        overwrite_cell(cell, release)
    add_missing_grade_cells(nb, release, missing_cell_note)
    add_missing_task_cells(nb, release, missing_cell_note)
    # re-added cells are plain dicts
    nb["cells"] = [notebooks.as_node(cell) if type(cell) is dict else cell for cell in nb["cells"]]
    check_metadata(nb)
    return nb


# -- nbgrader itself, on a version this shadow was not checked against ------------------------------

def by_nbgrader(nb, db_url: str, assignment: str, notebook: str, kernelspec: dict, config):
    """What `sanitized` does, done by nbgrader's own preprocessors under the course's configuration
    (`config`, a traitlets Config), with the same deliberate difference: deleted cells are added
    back. Raises what they raise."""
    import nbformat
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells

    resources = {"nbgrader": {"notebook": notebook, "assignment": assignment, "db_url": db_url}}
    nb = nbformat.from_dict(nb)
    nb, _ = ClearOutput(config=config).preprocess(nb, resources)
    nb, _ = DeduplicateIds(config=config).preprocess(nb, resources)
    nb.metadata["kernelspec"] = copy.deepcopy(kernelspec)
    nb, _ = OverwriteCells(config=config, add_missing_cells=True).preprocess(nb, resources)
    nb, _ = CheckCellMetadata(config=config).preprocess(nbformat.from_dict(nb), resources)
    return nb
