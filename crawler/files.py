"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A run killed at any moment leaves either the old file or the new one, never a mix; the
    temporary file is removed when the write fails (a full disk, say).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")  # TEMPORARY_GLOB
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


TEMPORARY_GLOB = ".tmp-*.part"


def remove_temporaries(folder: Path) -> int:
    """Delete what killed writers left behind (only call while holding the folder's lock)."""
    removed = 0
    if folder.is_dir():
        for leftover in folder.rglob(TEMPORARY_GLOB):
            leftover.unlink(missing_ok=True)
            removed += 1
    return removed


def read_bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return None
