"""Files written whole or not at all: the one way the grader writes a file that another process
(a rerun, a second grader, nbgrader, Gradescope) may read while it is written, or after a kill."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Temporary files are named ``.tmp-<pid>-...``: a reader skips names that start with a dot, and
#: `stale_temporaries` tells a dead writer's leftovers from a live writer's.
PREFIX = ".tmp-"


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "w", *, durable: bool = False, encoding: str | None = "utf-8"):
    """A file to write `path`'s new content to: it replaces `path` (``os.replace``, atomic within
    a file system) when the block ends, and is removed when the block raises, so a reader sees the
    old content or the new, never part of it. `durable`: flushed to disk before it replaces the
    old content (it survives a power cut); `mode` is "w" or "wb"."""
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', not {mode!r}")
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f"{PREFIX}{os.getpid()}-", suffix=path.suffix)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_atomically(path: Path, content: str | bytes, *, durable: bool = False) -> None:
    """`path` holds `content` (text as UTF-8), or, if this raises, what it held before."""
    with atomic_writer(path, "wb" if isinstance(content, bytes) else "w", durable=durable) as handle:
        handle.write(content)


def stale_temporaries(folder: Path, pattern: str = "*") -> list[Path]:
    """Temporary files under `folder` (matching ``PREFIX`` + `pattern`) whose writer is dead: a
    writer killed between creating and renaming one leaves it behind. A live writer's (or one
    whose liveness cannot be told) are not listed."""
    stale = []
    for path in folder.glob(PREFIX + pattern):
        try:
            os.kill(int(path.name[len(PREFIX):].split("-")[0]), 0)
        except ProcessLookupError:
            stale.append(path)
        except (ValueError, PermissionError, OverflowError):
            continue
    return stale
