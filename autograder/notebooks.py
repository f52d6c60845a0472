"""Reading notebooks and picking out the cells that matter for grading."""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

# nbformat imports jsonschema, which builds ~40 grammars of the optional rfc3987_syntax package when
# imported (2.3 s of a 2.5 s nbformat import on the grading machine) for an "iri" string format that
# no notebook schema uses. The grader's process does without it.
sys.modules.setdefault("rfc3987_syntax", None)


class NotebookError(Exception):
    """A submitted file (a notebook, timestamp.txt, ...) that cannot be read or matched; the
    message says what is wrong and what to do, and is shown to the instructor and the student."""


#: What the grader reads of one submitted notebook at most: a notebook of a problem set is well
#: under 1 MB (more means outputs, cleared on grading anyway); beyond this it is not read at all.
MAX_NOTEBOOK_BYTES = 32_000_000
#: JSON objects and arrays in one notebook at most (counted on the bytes, before parsing): what
#: bounds the memory of parsing, whatever the file holds.
MAX_CONTAINERS = 1_000_000
#: How deep a notebook's JSON may nest (a notebook needs 6 levels, rich outputs a few more): checked
#: without recursion, so that nothing reading a notebook afterwards recurses deeper than this.
MAX_DEPTH = 64
RESUBMIT = "hand it in again as Jupyter saves it (File > Save), without editing its JSON by hand"
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")
_KINDS = ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISDIR, "a folder"))


def read_bytes(path: Path, limit: int = MAX_NOTEBOOK_BYTES, what: str = "notebook", fix: str | None = None) -> bytes:
    """The bytes of one file of a submission folder, or a NotebookError saying why not and what
    to do (`fix`, for a file other than a notebook): only a regular file (a named pipe, device or
    folder is never read, so it cannot block or stream forever), of at most `limit` bytes."""

    def refused(condition: str, action: str) -> NotebookError:
        return NotebookError(f"{path}: not a readable {what} ({condition}): {fix or action}")

    try:
        # O_NONBLOCK: opening a named pipe returns at once (it is refused below); no effect on files
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        if os.path.islink(path):
            raise refused("a link to nothing", f"hand in the {what} file itself") from None
        raise NotebookError(f"{path}: no such {what}") from None
    except PermissionError:
        raise NotebookError(f"{path}: not a readable {what} (permission denied): make it readable by the grader "
                            "(chmod -R u+rX on the submission folder) and grade again") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise refused("a link that loops", f"hand in the {what} file itself") from None
        raise refused(exc.strerror or str(exc), RESUBMIT) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise refused(f"{kind}, not a file", f"hand in the {what} file itself")
        too_big = ("clear its outputs (Kernel > Restart Kernel and Clear Outputs of All Cells), save it and hand "
                   "it in again")
        if info.st_size > limit:
            raise refused(f"{_megabytes(info.st_size)}, more than the grader reads, {_megabytes(limit)}", too_big)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while read
            raise refused(f"more than the grader reads, {_megabytes(limit)}", too_big)
        return b"".join(chunks)
    except OSError as exc:
        raise refused(exc.strerror or str(exc), RESUBMIT) from None
    finally:
        os.close(fd)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def utf8(data: bytes, path: Path, what: str = "notebook", fix: str = RESUBMIT) -> str:
    """Bytes of a submitted file as text; a NotebookError naming the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex()
        raise NotebookError(f"{path}: not a readable {what} (its bytes are not UTF-8 text: byte 0x{bad} at "
                            f"position {exc.start}): {fix}") from None


def load_json(path: Path):
    """A submitted notebook's JSON, whatever the file holds: a NotebookError when it is not a
    readable file (read_bytes), not UTF-8, not JSON, too big to parse safely, nested deeper than
    MAX_DEPTH or holding text that is not valid Unicode."""
    data = read_bytes(path)
    text = utf8(data, path)
    unreadable = f"{path}: not a readable notebook"
    # a container takes two bytes at least: a smaller file cannot hold too many
    if len(data) > 2 * MAX_CONTAINERS and data.count(b"{") + data.count(b"[") > MAX_CONTAINERS:
        raise NotebookError(f"{unreadable} (its JSON holds more than {MAX_CONTAINERS:,} objects and lists): "
                            f"{RESUBMIT}")
    try:
        value = json.loads(text)
    except RecursionError:
        raise NotebookError(f"{unreadable} (its JSON nests deeper than {MAX_DEPTH} levels): {RESUBMIT}") from None
    except MemoryError:
        raise NotebookError(f"{unreadable} (too large to parse): {RESUBMIT}") from None
    except ValueError as exc:
        raise NotebookError(f"{unreadable} (corrupt JSON: {exc}): {RESUBMIT}") from None
    if _deeper_than(value, MAX_DEPTH):
        raise NotebookError(f"{unreadable} (its JSON nests deeper than {MAX_DEPTH} levels): {RESUBMIT}")
    if b"\\u" in data and _SURROGATE_ESCAPE.search(data):  # a \uD800-\uDFFF escape: fine in a pair, not alone
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise NotebookError(f"{unreadable} (it holds text that is not valid Unicode: an unpaired surrogate "
                                f"{ascii(exc.object[exc.start])}): {RESUBMIT}") from None
    return value


def _deeper_than(value, limit: int) -> bool:
    """Whether JSON containers nest more than `limit` levels (level by level, without recursion)."""
    level = [value] if type(value) is dict or type(value) is list else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below = []
        for container in level:
            for child in container.values() if type(container) is dict else container:
                if type(child) is dict or type(child) is list:
                    below.append(child)
        level = below
    return False


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
    """Read a submitted notebook, turning every way it can be broken into a NotebookError: the
    file (load_json), then the shape of everything the grader and the gradebook use (`shape_problem`),
    so that nothing reading the notebook afterwards meets a type it does not expect.

    A version 4 notebook (what Jupyter has written since 2015) is read with plain json: the grader
    needs its cells, not nbformat's schema validation, and nbformat costs 0.1 s to import. An older
    notebook is upgraded by nbformat."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise NotebookError(f"{path}: not a notebook (the file holds JSON, but not a notebook object)")
    upgraded = data.get("nbformat") != 4
    if upgraded:
        data = _upgraded(path, data)
    if problem := shape_problem(data):
        raise NotebookError(f"{path}: not a valid notebook ({problem}): {RESUBMIT}")
    return as_node(data) if upgraded else from_disk(data)


def _upgraded(path: Path, data: dict):
    """A notebook of an older format (or none stated), converted to version 4 by nbformat."""
    import nbformat

    try:
        return nbformat.reads(json.dumps(data), as_version=4)
    except Exception as exc:  # nbformat raises several types for malformed content
        raise NotebookError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from None


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def _not_text(value) -> str | None:
    """What a notebook's multi-line text (a string, or a list of strings) is instead, else None."""
    if isinstance(value, str):
        return None
    if isinstance(value, list):
        wrong = next((line for line in value if not isinstance(line, str)), "")
        return None if isinstance(wrong, str) else f"a list holding {_kind(wrong)}"
    return _kind(value)


def shape_problem(nb: dict) -> str | None:
    """What is wrong with the shape of a version 4 notebook, as far as anything here reads it
    (nbformat's schema on those parts), else None."""
    if not isinstance(nb.get("metadata"), dict):
        return "no metadata" if "metadata" not in nb else f"its metadata is {_kind(nb['metadata'])}, not an object"
    cells = nb.get("cells")
    if not isinstance(cells, list):
        return "no list of cells"
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            return f"cell {number} is {_kind(cell)}, not an object"
        if problem := _cell_shape_problem(cell):
            return f"cell {number}: {problem}"
    return None


def _cell_shape_problem(cell: dict) -> str | None:
    if not isinstance(cell.get("cell_type"), str):
        return "no cell_type" if "cell_type" not in cell else f"its cell_type is {_kind(cell['cell_type'])}"
    if "source" not in cell:
        return "no source"
    if wrong := _not_text(cell["source"]):
        return f"its source is {wrong}, not text"
    metadata = cell.get("metadata")
    if not isinstance(metadata, dict):
        return "no metadata" if "metadata" not in cell else f"its metadata is {_kind(metadata)}, not an object"
    if "nbgrader" in metadata:
        meta = metadata["nbgrader"]
        if not isinstance(meta, dict):
            return f"its nbgrader metadata is {_kind(meta)}, not an object"
        if "grade_id" in meta and not isinstance(meta["grade_id"], str):
            return f"its nbgrader grade_id is {_kind(meta['grade_id'])}, not text"
    if "attachments" in cell:
        attachments = cell["attachments"]
        if not isinstance(attachments, dict) or not all(isinstance(b, dict) for b in attachments.values()):
            return "its attachments are not an object of objects"
    if cell["cell_type"] == "code" and "outputs" in cell:
        outputs = cell["outputs"]
        if not isinstance(outputs, list):
            return f"its outputs are {_kind(outputs)}, not a list"
        for index, output in enumerate(outputs, 1):
            if problem := _output_shape_problem(output):
                return f"output {index}: {problem}"
    return None


def _output_shape_problem(output) -> str | None:
    if not isinstance(output, dict):
        return f"{_kind(output)}, not an object"
    if not isinstance(output.get("output_type"), str):
        return "no output_type"
    if "text" in output and (wrong := _not_text(output["text"])):
        return f"its text is {wrong}, not text"
    if "data" in output and not isinstance(output["data"], dict):
        return f"its data is {_kind(output['data'])}, not an object"
    if "metadata" in output and not isinstance(output["metadata"], dict):
        return f"its metadata is {_kind(output['metadata'])}, not an object"
    return None


def nbgrader(cell) -> dict:
    metadata = cell.get("metadata", {})
    meta = metadata.get("nbgrader", {}) if isinstance(metadata, dict) else {}
    return meta if isinstance(meta, dict) else {}


def carried_grade_ids(path: Path) -> set[str] | None:
    """The nbgrader grade ids a notebook file's cells carry; None when it is not readable JSON
    with a list of cells (grading then says what is wrong with it)."""
    try:
        data = load_json(path)
    except NotebookError:
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
