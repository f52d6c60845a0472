"""Reading notebooks and picking out the cells that matter for grading."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from autograder import shadows
from autograder.shadows import notebook_format

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
        # O_NOFOLLOW: a link is never read (it could lead anywhere, source/ included)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        if os.path.islink(path):
            raise refused("a link to nothing", f"hand in the {what} file itself") from None
        raise NotebookError(f"{path}: no such {what}") from None
    except PermissionError:
        raise NotebookError(f"{path}: not a readable {what} (permission denied): make it readable by the grader "
                            "(chmod -R u+rX on the submission folder) and grade again") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # a link (O_NOFOLLOW): to a file, to nothing, or looping
            try:
                os.stat(path)
                condition = "a link, not a file"
            except FileNotFoundError:
                condition = "a link to nothing"
            except OSError:
                condition = "a link that loops"
            raise refused(condition, f"hand in the {what} file itself") from None
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


# -- nbformat, or its shadow (autograder.shadows.notebook_format) on the version it was checked against

def _shadowed() -> bool:
    return shadows.in_force("nbformat")


def as_node(value):
    """Dicts (at any depth) with attribute access: nbformat.from_dict, a NotebookNode."""
    if _shadowed():
        return notebook_format.as_node(value)
    import nbformat

    return nbformat.from_dict(value)


def writes(nb) -> str:
    """nbformat.writes of a version 4 notebook (without the final newline nbformat.write adds);
    `nb` is not changed."""
    if _shadowed():
        return notebook_format.writes(nb)
    import nbformat

    return nbformat.writes(nb)


def new_cell_id() -> str:
    """A fresh cell id of the form nbformat makes (8 hex digits)."""
    if _shadowed():
        return notebook_format.new_cell_id()
    from nbformat.v4.nbbase import random_cell_id

    return random_cell_id()


def with_cell_ids(nb):
    """Every cell with an id, as a notebook of nbformat 4.5 has them. A notebook of 4.0 to 4.4
    (Colab saves 4.0), whose schema forbids cell ids, is first upgraded as nbformat upgrades it
    (nbformat.v4.upgrade: fresh ids for its cells, minor version 5); cells added to a 4.5 one
    (by nbgrader's OverwriteCells, or by hand) get one each."""
    minor = nb.get("nbformat_minor")
    if not isinstance(minor, int) or isinstance(minor, bool) or minor < notebook_format.NBFORMAT_MINOR:
        if _shadowed():
            notebook_format.upgrade(nb)
        else:
            import nbformat

            nb["nbformat_minor"] = minor if isinstance(minor, int) and not isinstance(minor, bool) else 0
            # from_minor is read from the notebook when falsy (4.0)
            nbformat.v4.upgrade(nb, from_version=4, from_minor=nb["nbformat_minor"])
    for cell in nb["cells"]:
        if "id" not in cell:
            cell["id"] = new_cell_id()
    return nb


def read_trusted(path: Path):
    """Read one of the course's own notebooks (source/, assignments/) with plain json: fast enough
    to run inside every kernel that nbgrader autograde starts (nbformat's reader on a version of
    nbformat the shadow was not checked against)."""
    if not _shadowed():
        import nbformat

        return nbformat.read(path, as_version=4)
    with open(path, encoding="utf-8") as handle:
        return notebook_format.from_disk(json.load(handle))


def read(path: Path):
    """Read a submitted notebook, turning every way it can be broken into a NotebookError: the
    file (load_json), then the shape of everything the grader and the gradebook use (`shape_problem`),
    so that nothing reading the notebook afterwards meets a type it does not expect.

    A version 4 notebook (what Jupyter has written since 2015) is read with plain json (by
    nbformat's shadow): the grader needs its cells, not nbformat's schema validation, and nbformat
    costs 0.1 s to import. An older notebook is upgraded by nbformat, and on a version of nbformat
    the shadow was not checked against nbformat reads every notebook."""
    data = load_json(path)
    if not isinstance(data, dict):
        raise NotebookError(f"{path}: not a notebook (the file holds JSON, but not a notebook object)")
    by_nbformat = data.get("nbformat") != 4
    if by_nbformat:
        data = _by_nbformat(path, data)
    if problem := shape_problem(data):
        raise NotebookError(f"{path}: not a valid notebook ({problem}): {RESUBMIT}")
    if by_nbformat:
        return data
    return notebook_format.from_disk(data) if _shadowed() else _by_nbformat(path, data)


def _by_nbformat(path: Path, data: dict):
    """A notebook read by nbformat (converted to version 4 if it is older, or states no version)."""
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
    # a locked cell of the release pasted without its metadata (into a fresh notebook) is still ours:
    # not run either (the setup cells already are)
    locked = {c.source.strip() for c in release.cells if c.get("cell_type") == "code" and nbgrader(c).get("locked")}
    for cell in submission.cells:
        if cell.get("cell_type") != "code" or not isinstance(cell.get("source"), str):
            continue
        gid = grade_id(cell)
        if gid is None or gid not in release_ids:
            if cell.source.strip() not in locked:
                program.append(strip_magics(cell.source))  # the student's own cell
        elif release_ids[gid].get("solution"):
            program.append(strip_magics(cell.source))
    return program
