"""Files written whole or not at all (autograder.files): a reader sees the old content or the new."""

import os
import subprocess
import sys

import pytest

from autograder import files


def test_the_new_content_replaces_the_old_in_one_rename(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    path.write_text("old")
    renamed = []
    real_replace = os.replace

    def replace(source, target):
        renamed.append((os.path.dirname(source), os.path.basename(source), str(target), open(source).read()))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    files.write_atomically(path, "new é")
    ((folder, name, target, content),) = renamed
    assert folder == str(tmp_path) and name.startswith(f".tmp-{os.getpid()}-") and name.endswith(".json")
    assert (target, content) == (str(path), "new é")  # complete before the rename
    assert path.read_bytes() == "new é".encode() and sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]
    files.write_atomically(path, b"\x00bytes")
    assert path.read_bytes() == b"\x00bytes"


def test_a_write_that_fails_leaves_the_old_content_and_no_temporary(tmp_path):
    path = tmp_path / "bundle.zip"
    path.write_bytes(b"old bundle")
    with pytest.raises(RuntimeError, match="disk full"):
        with files.atomic_writer(path, "wb", durable=True) as handle:
            handle.write(b"half a new")
            raise RuntimeError("disk full")
    assert path.read_bytes() == b"old bundle" and [p.name for p in tmp_path.iterdir()] == ["bundle.zip"]
    with pytest.raises(ValueError, match="mode"):
        with files.atomic_writer(path, "a"):
            pass


def test_only_a_dead_writers_temporaries_are_stale(tmp_path):
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    stale, live = tmp_path / f".tmp-{dead}-abc.json", tmp_path / f".tmp-{os.getpid()}-def.json"
    odd, other = tmp_path / ".tmp-notapid-x.json", tmp_path / f".tmp-{dead}-abc.ipynb"
    for path in (stale, live, odd, other):
        path.write_text("half")
    assert files.stale_temporaries(tmp_path, "*.json") == [stale]
    assert sorted(files.stale_temporaries(tmp_path)) == sorted([stale, other])
