"""The reference's outcomes on the hidden cases, kept across runs.

Building the cases and running the reference on them is the same work in every run until
something that decides them changes. The cache file (``.autograder/cache/<assignment>.json``)
holds the cases and outcomes with the key they were computed under: the bytes of the source
notebook, the grader's own code (cases, judge, wire format), NumPy's version and the seed. Any
change gives another key and the work is done again. Values are stored in the wire format
(JSON, arrays as dtype, shape and bytes): nothing in the file is executed or unpickled.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from autograder.cases import BuiltCase, Case
from autograder.course import Assignment, CourseError, course_secret
from autograder.course_paths import CoursePaths
from autograder.files import write_atomically
from autograder.sandbox import wire
from autograder.store import grader_fingerprint

VERSION = 1


def cache_path(root: Path, assignment: Assignment) -> Path:
    return CoursePaths(root).outcome_cache(assignment.name)


def key(root: Path, assignment: Assignment, seed: str | None) -> str:
    """What the cases and the reference's outcomes depend on."""
    source = assignment.source_path(root)
    try:
        mtime = source.stat().st_mtime_ns
    except OSError:
        raise CourseError(f"reference notebook {source} is missing: the grader reads solutions there") from None
    drawn_from = hashlib.sha256(course_secret(root)).hexdigest()  # the cases change with the secret
    text = f"{VERSION}/{grader_fingerprint(str(source), mtime)}/{np.__version__}/{seed or ''}/{drawn_from}"
    return hashlib.sha256(text.encode()).hexdigest()


def load(root: Path, assignment: Assignment, wanted: str):
    """(built, expected, digests) per function when the cache holds them under `wanted`, else None."""
    try:
        data = json.loads(cache_path(root, assignment).read_text())
        if data.get("key") != wanted:
            return None
        built, expected, digests = {}, {}, {}
        for name, entry in data["functions"].items():
            built[name] = [BuiltCase(item["check"], item["group"],
                                     Case(item["label"], wire.decode(item["args"]), wire.decode(item["kwargs"])))
                           for item in entry["cases"]]
            expected[name], digests[name] = entry["expected"], entry["digests"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # absent, from another version, or damaged: computed again
    if set(built) != set(assignment.functions):
        return None
    return built, expected, digests


def save(root: Path, assignment: Assignment, under: str, built, expected, digests) -> None:
    """Write the cache atomically (a reader never sees half a file); failing to write costs only time."""
    functions = {name: {"cases": [{"check": item.check, "group": item.group, "label": item.case.label,
                                   "args": wire.encode(tuple(item.case.args)),
                                   "kwargs": wire.encode(dict(item.case.kwargs))} for item in built[name]],
                        "expected": expected[name], "digests": digests[name]}
                 for name in built}
    path = cache_path(root, assignment)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps({"key": under, "functions": functions}))
    except OSError:
        pass
