"""Reading notebooks and picking out the cells that matter for grading."""

from __future__ import annotations

import json
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

# nbformat imports jsonschema, which builds ~40 grammars of the optional rfc3987_syntax package when
# imported (2.3 s of a 2.5 s nbformat import on the grading machine) for an "iri" string format that
# no notebook schema uses. The grader's process does without it.
sys.modules.setdefault("rfc3987_syntax", None)


class NotebookError(Exception):
    """A notebook that cannot be read or matched; the message is shown to the instructor."""


@dataclass(frozen=True)
class GradeCell:
    grade_id: str
    points: float
    kind: str  # "test" (autograded), "manual" (answer graded by hand) or "task"


class Node(dict):
    """A dict with attribute access, like nbformat's NotebookNode (without importing nbformat)."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value


def as_node(value):
    """Dicts (at any depth) as :class:`Node`, like nbformat.from_dict."""
    if isinstance(value, dict):
        return Node((k, as_node(v)) for k, v in value.items())
    if isinstance(value, list):
        return [as_node(v) for v in value]
    return value


def from_disk(data: dict) -> Node:
    """A version 4 notebook as nbformat's reader gives it: attribute access, multi-line text
    joined (sources, stream text, non-JSON output and attachment data) and transient keys dropped.
    Cells that are not JSON objects are left for the caller to refuse."""
    nb = as_node(data)
    metadata = nb.get("metadata")
    if isinstance(metadata, dict):
        for key in TRANSIENT_METADATA:
            metadata.pop(key, None)
    for cell in nb.get("cells") or []:
        if not isinstance(cell, dict):
            continue
        if isinstance(cell.get("metadata"), dict):
            cell["metadata"].pop("trusted", None)
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
        for attachment in (cell.get("attachments") or {}).values():
            if isinstance(attachment, dict):
                _rejoin(attachment)
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs") or []:
            if not isinstance(output, dict):
                continue
            if output.get("output_type") in ("execute_result", "display_data"):
                if isinstance(output.get("data"), dict):
                    _rejoin(output["data"])
            elif output.get("output_type") and isinstance(output.get("text"), list):
                output["text"] = "".join(output["text"])
    return nb


#: Notebook metadata nbformat drops when it reads or writes a file.
TRANSIENT_METADATA = ("orig_nbformat", "orig_nbformat_minor", "signature")
#: Non-text MIME types whose data nbformat stores as lists of lines.
_SPLIT_MIMES = ("image/svg+xml", "application/javascript")


def _json_mime(mime: str) -> bool:
    return mime == "application/json" or (mime.startswith("application/") and mime.endswith("+json"))


def _rejoin(bundle: dict) -> None:
    for mime, value in list(bundle.items()):
        if not _json_mime(mime) and isinstance(value, list) and all(isinstance(line, str) for line in value):
            bundle[mime] = "".join(value)


def writes(nb) -> str:
    """A version 4 notebook as nbformat writes it to disk (sorted keys, one-space indent, long text
    split into lines, transient keys dropped): the same bytes, without importing nbformat. `nb` is
    not changed (only the containers on the way to a changed value are copied)."""
    out = dict(nb)
    out["metadata"] = {k: v for k, v in nb.get("metadata", {}).items() if k not in TRANSIENT_METADATA}
    cells = []
    for cell in nb["cells"]:
        cell = dict(cell)
        if isinstance(cell.get("metadata"), dict) and "trusted" in cell["metadata"]:
            cell["metadata"] = {k: v for k, v in cell["metadata"].items() if k != "trusted"}
        if isinstance(cell.get("source"), str):
            cell["source"] = cell["source"].splitlines(True)
        if cell.get("attachments"):
            cell["attachments"] = {name: _split(bundle) for name, bundle in cell["attachments"].items()}
        if cell.get("cell_type") == "code" and "outputs" in cell:
            cell["outputs"] = [_split_output(output) for output in cell["outputs"]]
        cells.append(cell)
    out["cells"] = cells
    return json.dumps(out, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False)


def _split_output(output: dict) -> dict:
    if output.get("output_type") in ("execute_result", "display_data") and "data" in output:
        return {**output, "data": _split(output["data"])}
    if output.get("output_type") == "stream" and isinstance(output.get("text"), str):
        return {**output, "text": output["text"].splitlines(True)}
    return output


def _split(bundle: dict) -> dict:
    return {mime: value.splitlines(True) if isinstance(value, str) and (mime.startswith("text/") or
                                                                          mime in _SPLIT_MIMES) else value
            for mime, value in bundle.items()}


def new_cell_id() -> str:
    """A fresh cell id of the form nbformat makes (8 hex digits)."""
    return secrets.token_hex(4)


def read_trusted(path: Path) -> Node:
    """Read one of the course's own notebooks (source/, assignments/) with plain json: fast enough
    to run inside every kernel that nbgrader autograde starts."""
    with open(path, encoding="utf-8") as handle:
        return from_disk(json.load(handle))


def read(path: Path):
    """Read a submitted notebook, turning every way it can be broken into a NotebookError.

    A version 4 notebook (what Jupyter has written since 2015) is read with plain json: the grader
    needs its cells, not nbformat's schema validation, and nbformat costs 0.1 s to import. An older
    notebook is upgraded by nbformat."""
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
    except FileNotFoundError:
        raise NotebookError(f"{path}: no such notebook") from None
    except IsADirectoryError:
        raise NotebookError(f"{path}: not a readable notebook (a folder)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{path}: not a readable notebook (corrupt JSON: {exc})") from None
    except OSError as exc:
        raise NotebookError(f"{path}: not a readable notebook ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise NotebookError(f"{path}: not a notebook (the file holds JSON, but not a notebook object)")
    if data.get("nbformat") != 4:
        return _upgraded(path, data)
    cells = data.get("cells")
    if not isinstance(cells, list):
        raise NotebookError(f"{path}: not a notebook (no list of cells)")
    if not all(isinstance(cell, dict) for cell in cells):
        raise NotebookError(f"{path}: not a readable notebook (a cell is not a JSON object)")
    return from_disk(data)


def _upgraded(path: Path, data: dict):
    """A notebook of an older format (or none stated), converted to version 4 by nbformat."""
    import nbformat

    try:
        nb = nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat raises several types for malformed content
        raise NotebookError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from None
    if not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path}: not a notebook (no list of cells)")
    return as_node(nb)


def nbgrader(cell) -> dict:
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def carried_grade_ids(path: Path) -> set[str] | None:
    """The nbgrader grade ids a notebook file's cells carry; None when it is not readable JSON
    with a list of cells (grading then says what is wrong with it)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return None
    return {gid for cell in cells if isinstance(cell, dict) and (gid := grade_id(cell))}


def grade_id(cell) -> str | None:
    value = nbgrader(cell).get("grade_id")
    return value if isinstance(value, str) else None


def grade_cells(nb) -> list[GradeCell]:
    """The cells that carry points, in notebook order."""
    cells = []
    for cell in nb.cells:
        meta = nbgrader(cell)
        if meta.get("task"):
            cells.append(GradeCell(meta["grade_id"], float(meta["points"]), "task"))
        elif meta.get("grade"):
            kind = "manual" if meta.get("solution") else "test"
            cells.append(GradeCell(meta["grade_id"], float(meta["points"]), kind))
    return cells


def solution_sources(nb) -> dict[str, list[str]]:
    """Code of every solution cell, by grade id (a duplicated id keeps all copies, in order)."""
    found: dict[str, list[str]] = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader(cell).get("solution") and grade_id(cell):
            found.setdefault(grade_id(cell), []).append(cell.source)
    return found


def setup_sources(nb) -> list[str]:
    """Locked cells tagged "setup" (imports): taken from the release, never from the student."""
    return [
        cell.source
        for cell in nb.cells
        if cell.cell_type == "code" and "setup" in cell.get("metadata", {}).get("tags", [])
    ]


def strip_magics(source: str) -> str:
    """Drop IPython-only lines (%magics, !shell) so the code runs in a plain interpreter."""
    if source.lstrip().startswith("%%"):
        return ""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            line = line[: len(line) - len(stripped)] + "pass  # IPython-only line removed"
        lines.append(line)
    return "\n".join(lines)


def student_program(submission, release) -> list[str]:
    """The code the grader runs for a submission, in order.

    The release's setup cells first; then, in the student's order, the student's solution cells
    (matched by grade id) and any code cells the student added. Locked cells of the release
    (demos, plots, visible tests) are not run: they grade nothing, and a student may have edited
    them.
    """
    release_ids = {grade_id(c): nbgrader(c) for c in release.cells if grade_id(c)}
    program = [strip_magics(s) for s in setup_sources(release)]
    for cell in submission.cells:
        if cell.get("cell_type") != "code" or not isinstance(cell.get("source"), str):
            continue
        gid = grade_id(cell)
        if gid is None or gid not in release_ids:
            program.append(strip_magics(cell.source))  # the student's own cell
        elif release_ids[gid].get("solution"):
            program.append(strip_magics(cell.source))
    return program
