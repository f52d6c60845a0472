"""Shadow of nbformat's schema for a version 4.5 notebook (nbformat/v4/nbformat.v4.5.schema.json,
checked against nbformat 5.11.1; see autograder.shadows): `made_valid` makes a notebook fit it, in
place, without importing nbformat or jsonschema.

Where it differs from nbformat, on purpose: nbformat refuses an invalid notebook (`validate`
raises, and so do `nbgrader generate_feedback` and `nbgrader autograde`); this repairs it, changing
only what does not fit and keeping everything else as the student wrote it:

* a cell id that is not 1 to 64 of ``[a-zA-Z0-9-_]``, or that an earlier cell already has, is
  replaced by a fresh one (nbformat's own repair of duplicates also renumbers the later cell);
* each metadata key the schema describes (the notebook's and each cell's, per cell type) whose
  value does not fit its schema is dropped; keys the schema does not describe are kept;
* a key the schema does not allow on the notebook or on a cell of its type is dropped (outputs on
  a markdown cell, attachments on a code cell, ...); an attachment that is not a mime bundle is
  dropped; a cell of a type nbformat does not know becomes a raw cell (its text shown as is).

What it does not look at: outputs and execution counts (the writer makes them: nbgrader's
ClearOutput, then the feedback), sources (autograder.notebooks.read has checked their shape), the
version numbers (autograder.notebooks.with_cell_ids makes a 4.5 notebook of it).

The schema as nbformat 5.11.1 has it, read literally: ``jupyter``'s ``source_hidden`` and
``outputs_hidden`` are written beside its ``properties``, not in them, so nbformat checks only that
``jupyter`` is an object; ``authors``' ``item`` is not ``items``, so only that ``authors`` is a
list; ``deletable`` and ``editable`` are not in it at all. Those are checked as nbformat checks
them, no more.
"""

from __future__ import annotations

import re

from autograder import notebooks

#: The keys a notebook and a cell of each type may have (the schema's additionalProperties: false)
NOTEBOOK_KEYS = ("metadata", "nbformat_minor", "nbformat", "cells")
CELL_KEYS = {
    "raw": ("id", "cell_type", "metadata", "attachments", "source"),
    "markdown": ("id", "cell_type", "metadata", "attachments", "source"),
    "code": ("id", "cell_type", "metadata", "source", "outputs", "execution_count"),
}
CELL_ID = re.compile(r"[a-zA-Z0-9-_]{1,64}")
MAX_CELL_ID = 64


# -- the schema's types, as JSON Schema (draft 4) reads them -----------------------------------------

def _string(value) -> bool:
    return isinstance(value, str)


def _object(value) -> bool:
    return isinstance(value, dict)


def _boolean(value) -> bool:
    return isinstance(value, bool)


def _matches(pattern: str, value) -> bool:
    """JSON Schema's pattern: a search, not a full match."""
    return isinstance(value, str) and re.search(pattern, value) is not None


def _with_strings(*names: str, required: tuple[str, ...] = ()):
    """An object whose `required` keys are there and whose `names` are strings when they are."""
    def fits(value) -> bool:
        return (_object(value) and all(name in value for name in required)
                and all(_string(value[name]) for name in names if name in value))
    return fits


def _metadata_name(value) -> bool:
    return _matches(r"^.+$", value)


def _metadata_tags(value) -> bool:
    if not isinstance(value, list) or not all(_matches(r"^[^,]+$", tag) for tag in value):
        return False
    return len(set(value)) == len(value)  # uniqueItems (every item is a string here)


def _scrolled(value) -> bool:
    return _boolean(value) or value == "auto"


def _execution(value) -> bool:
    """An object whose every key that ``^.*$`` finds (one without a line break inside it) holds a
    string: patternProperties, and the four named times are strings too."""
    if not _object(value):
        return False
    return all(_string(item) for key, item in value.items() if _matches(r"^.*$", key))


def _language_info(value) -> bool:
    return (_with_strings("name", "file_extension", "mimetype", "pygments_lexer", required=("name",))(value)
            and ("codemirror_mode" not in value or isinstance(value["codemirror_mode"], str | dict)))


def _orig_nbformat(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


#: Each metadata key the schema describes, and whether a value fits it
NOTEBOOK_METADATA = {
    "kernelspec": _with_strings("name", "display_name", required=("name", "display_name")),
    "language_info": _language_info,
    "orig_nbformat": _orig_nbformat,
    "title": _string,
    "authors": lambda value: isinstance(value, list),
}
_EVERY_CELL = {"jupyter": _object, "name": _metadata_name, "tags": _metadata_tags}
CELL_METADATA = {
    "raw": {**_EVERY_CELL, "format": _string},
    "markdown": dict(_EVERY_CELL),
    "code": {**_EVERY_CELL, "execution": _execution, "collapsed": _boolean, "scrolled": _scrolled},
}


def _mimebundle(value) -> bool:
    """A mime-type keyed object: each value a multi-line string, anything for a JSON type."""
    return _object(value) and all(
        _multiline(data) or _matches(r"^application/(.*\+)?json$", mimetype) for mimetype, data in value.items())


def _multiline(value) -> bool:
    return _string(value) or (isinstance(value, list) and all(_string(line) for line in value))


# -- the repair ---------------------------------------------------------------------------------------

def _drop_unfit(metadata: dict, schema: dict) -> None:
    for key in [key for key, fits in schema.items() if key in metadata and not fits(metadata[key])]:
        del metadata[key]


def _fresh_id(taken: set) -> str:
    while (new := notebooks.new_cell_id()) in taken:
        pass
    return new


def made_valid(nb):
    """`nb` (a version 4.5 notebook whose cells all have an id and a metadata object), changed in
    place so that nbformat's schema accepts it; returned."""
    for key in [key for key in nb if key not in NOTEBOOK_KEYS]:
        del nb[key]
    _drop_unfit(nb["metadata"], NOTEBOOK_METADATA)
    cells = nb["cells"]
    wrong = {index for index, cell in enumerate(cells)
             if not (_string(cell.get("id")) and CELL_ID.fullmatch(cell["id"]))}
    taken = {cell["id"] for index, cell in enumerate(cells) if index not in wrong}
    seen = set()
    for index, cell in enumerate(cells):
        if cell.get("cell_type") not in CELL_KEYS:
            cell["cell_type"] = "raw"
        for key in [key for key in cell if key not in CELL_KEYS[cell["cell_type"]]]:
            del cell[key]
        if index in wrong or cell["id"] in seen:
            cell["id"] = _fresh_id(taken)
            taken.add(cell["id"])
        seen.add(cell["id"])
        _drop_unfit(cell["metadata"], CELL_METADATA[cell["cell_type"]])
        if "attachments" in cell:
            if not _object(cell["attachments"]):
                del cell["attachments"]
            else:
                for name in [name for name, bundle in cell["attachments"].items() if not _mimebundle(bundle)]:
                    del cell["attachments"][name]
    return nb
