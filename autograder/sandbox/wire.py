"""The wire protocol, imported by both sides: the grader and the in-sandbox server.

A frame is an 8-byte big-endian length and a UTF-8 JSON object. Values travel as tagged JSON;
an array as its dtype, shape and raw bytes (base64), read back with ``numpy.frombuffer``: never
pickled, and no dtype that holds Python objects. Standard library and NumPy only.

Every frame between the grader and the server carries the job's random identity (``job``); a frame
of another job is dropped by whoever reads it. Messages (``t``):

grader -> server
    ``job`` (cells, functions and limits, no cases), ``cases`` (one function's cases, sent when the
    server asks for them), ``reply`` (the reference's answer to a sibling call, by call number).
server -> grader
    ``ready`` (once, at start-up), ``cell`` (a process is about to run cell i), ``skipped`` (cell i
    ended the process and is skipped from now on), ``cells`` (cell errors), ``need`` (the function's
    process has run the cells: send its cases), ``case`` (an outcome: a claim, judged against the
    reference), ``call`` (a sibling call), ``end`` (the function's status, decided by the server from
    its process's exit) and ``done`` (the job is over; nothing of it follows).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import numpy as np

PROTOCOL = 3
MAX_FRAME = 64 * 1024 * 1024  # bytes in one message
MAX_ITEMS = 10_000  # items in a returned tuple or list
MAX_DIMENSIONS = 32  # NumPy's own limit is 64
#: dtype kinds an array on the wire may have (no objects, no structured records)
ARRAY_KINDS = "biufcSUmM"

# Private references, taken before any student code runs: patching json.dumps or os.write in a
# notebook cell must not change how the sandbox side reports.
_dumps, _loads, _write, _read, _pack, _unpack = json.dumps, json.loads, os.write, os.read, struct.pack, struct.unpack


def encode(value, depth=0):
    """Turn a value into JSON-compatible data without running any method of a foreign object."""
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return {"__float__": repr(value)}
    if kind is complex:
        return {"__complex__": [repr(value.real), repr(value.imag)]}
    if isinstance(value, np.ndarray):
        array = np.array(value, copy=True, order="C", subok=False)
        if array.dtype.kind not in ARRAY_KINDS or array.dtype.fields is not None:
            return {"__object__": f"ndarray of dtype {array.dtype}"}
        return {"__ndarray__": {"dtype": array.dtype.str, "shape": list(array.shape),
                                "data": base64.b64encode(array.tobytes()).decode("ascii")}}
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return {"__npscalar__": encode(np.asarray(value))["__ndarray__"]}
    if kind in (tuple, list) and depth < 4 and len(value) <= MAX_ITEMS:
        return {"__" + kind.__name__ + "__": [encode(item, depth + 1) for item in value]}
    if kind is dict and depth < 4 and all(type(k) is str for k in value):
        return {"__dict__": {k: encode(v, depth + 1) for k, v in value.items()}}
    # Anything else (a subclass with a lying __eq__, a generator, a student class...) is
    # described by its type's name only; the grader rejects it.
    return {"__object__": f"{kind.__module__}.{kind.__qualname__}"}


def decode(data):
    """Inverse of :func:`encode`. Arrays are loaded with ``allow_pickle=False``."""
    if isinstance(data, list):
        raise ValueError("bare list on the wire")
    if not isinstance(data, dict):
        return data
    ((tag, payload),) = data.items()
    if tag == "__float__":
        return float(payload)
    if tag == "__complex__":
        return complex(float(payload[0]), float(payload[1]))
    if tag == "__ndarray__":
        return _array(payload)
    if tag == "__npscalar__":
        return _array(payload)[()]
    if tag == "__tuple__":
        return tuple(decode(item) for item in payload)
    if tag == "__list__":
        return [decode(item) for item in payload]
    if tag == "__dict__":
        return {key: decode(value) for key, value in payload.items()}
    if tag == "__object__":
        return Foreign(str(payload))
    raise ValueError(f"unknown tag {tag!r} on the wire")


def _array(payload) -> np.ndarray:
    """An array from its dtype, shape and bytes; anything inconsistent is a ValueError."""
    if not isinstance(payload, dict) or set(payload) != {"dtype", "shape", "data"}:
        raise ValueError("malformed array on the wire")
    dtype, shape, data = payload["dtype"], payload["shape"], payload["data"]
    if not (isinstance(dtype, str) and isinstance(shape, list) and isinstance(data, str)):
        raise ValueError("malformed array on the wire")
    if len(shape) > MAX_DIMENSIONS or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError("malformed array shape on the wire")
    try:
        kind = np.dtype(dtype)
    except (TypeError, ValueError):
        raise ValueError(f"unknown array dtype {dtype[:40]!r} on the wire") from None
    if kind.kind not in ARRAY_KINDS or kind.fields is not None:
        raise ValueError(f"array dtype {dtype[:40]!r} is not allowed on the wire")
    raw = base64.b64decode(data, validate=True)
    count = 1
    for n in shape:
        count *= n
    if count * kind.itemsize != len(raw):
        raise ValueError("array bytes do not match its shape and dtype")
    return np.frombuffer(bytearray(raw), dtype=kind).reshape(tuple(shape))


class Foreign:
    """A returned object the sandbox would not serialize; only its type name survives."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name} object>"


def digest(value):
    """A content hash of an array argument, to detect inputs modified in place."""
    if not isinstance(value, np.ndarray):
        return None
    array = np.ascontiguousarray(value)
    return hashlib.sha256(str((array.dtype.str, array.shape)).encode() + array.tobytes()).hexdigest()


def frame(message) -> bytes:
    data = _dumps(message, allow_nan=True).encode("utf-8")
    return _pack(">Q", len(data)) + data


def write_frame(fd, message):
    write_bytes(fd, frame(message))


def write_bytes(fd, data: bytes):
    """Write a frame made by :func:`frame` (all of it)."""
    view = memoryview(data)
    while view:
        written = _write(fd, view)
        view = view[written:]


def _read_exact(fd, size):
    chunks, remaining = [], size
    while remaining:
        chunk = _read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


MAX_DEPTH = 32  # nesting of one message (the grader's own are under 16)


def parse(body: bytes) -> dict:
    """One frame's JSON object. Raises ValueError for anything else, including nesting deeper
    than MAX_DEPTH (which would make readers and writers of it recurse without bound)."""
    try:
        message = _loads(body.decode("utf-8"))
    except RecursionError:
        raise ValueError("message nests too deeply") from None
    if not isinstance(message, dict):
        raise ValueError("message is not a JSON object")
    pending = [(message, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"message nests deeper than {MAX_DEPTH} levels")
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return message


def read_frame(fd):
    """Read one message from a blocking descriptor; None at end of stream.
    Raises ValueError on a malformed frame."""
    header = _read_exact(fd, 8)
    if header is None:
        return None
    (size,) = _unpack(">Q", header)
    if size > MAX_FRAME:
        raise ValueError(f"message of {size} bytes exceeds the {MAX_FRAME}-byte limit")
    body = _read_exact(fd, size)
    if body is None:
        raise ValueError("stream ended inside a message")
    return parse(body)


class FrameBuffer:
    """Frames from a non-blocking descriptor that an untrusted process writes to: bytes are fed in
    as they come, so a half-written frame can never block the reader."""

    def __init__(self, max_frame=MAX_FRAME):
        self.data = bytearray()
        self.max_frame = max_frame

    def feed(self, chunk: bytes) -> list[dict]:
        """Append bytes; the complete frames they finish. Raises ValueError on a malformed frame."""
        self.data += chunk
        messages = []
        while len(self.data) >= 8:
            (size,) = _unpack(">Q", bytes(self.data[:8]))
            if size > self.max_frame:
                raise ValueError(f"message of {size} bytes exceeds the {self.max_frame}-byte limit")
            if len(self.data) < 8 + size:
                break
            body = bytes(self.data[8:8 + size])
            del self.data[:8 + size]
            messages.append(parse(body))
        return messages
