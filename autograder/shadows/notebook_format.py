"""Shadow of nbformat (checked against nbformat 5.11.1; see autograder.shadows): a version 4
notebook as nbformat's reader gives it and as its writer puts it on disk, NotebookNode's attribute
access, the v4 upgrade of a 4.0-4.4 notebook, fresh cell ids. Nothing here imports nbformat.
tests/test_notebooks.py compares each with nbformat itself.

Use it through ``autograder.notebooks`` (``read``, ``writes``, ``as_node``, ``new_cell_id``,
``with_cell_ids``), which falls back to nbformat on any other version.
"""

from __future__ import annotations

import json
import secrets

#: nbformat.v4.nbbase.nbformat_minor: the minor version nbformat writes, the first with cell ids.
NBFORMAT_MINOR = 5


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


def upgrade(nb) -> None:
    """nbformat.v4.upgrade of a 4.0-4.4 notebook (Colab saves 4.0): every cell gets a fresh id,
    the notebook becomes 4.5 and its metadata remembers the minor version it had (a transient key,
    which `writes` drops). A notebook with no minor version is taken as 4.0."""
    minor = nb.get("nbformat_minor")
    minor = minor if isinstance(minor, int) and not isinstance(minor, bool) else 0
    if minor == NBFORMAT_MINOR:
        return
    if minor < NBFORMAT_MINOR:
        for cell in nb["cells"]:
            cell["id"] = new_cell_id()
    nb["metadata"]["orig_nbformat_minor"] = minor
    nb["nbformat_minor"] = NBFORMAT_MINOR
