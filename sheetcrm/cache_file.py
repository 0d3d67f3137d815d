"""sheetcrm's cache files beside its lock (the parse memo, the .xlsx grid memo): a version and
a value, pickled, written atomically, and worth nothing when missing or damaged.

A cache only saves time: a file that cannot be read, holds another version or was torn is
no cache at all (the caller works everything out again), never an error and never a value
of other code. Written to a temp file beside it, fsynced, renamed over it, so a reader sees
the old file or the new one, whole."""

from __future__ import annotations

import os
import pickle
import tempfile
from pathlib import Path
from typing import Any

from sheetcrm.collector import paused_collector


def load(path: Path, version: Any) -> Any | None:
    """The value saved at `path` with `version`, else None. A file that is used has its time
    renewed, so that pruning unused caches (`parse_cache.prune`) keeps it."""
    try:
        with open(path, "rb") as f, paused_collector():
            saved, value = pickle.load(f)
    except Exception:  # noqa: BLE001 - any damage to a cache file is no cache, never an error
        return None
    if saved != version:
        return None
    try:
        os.utime(path)
    except OSError:
        pass
    return value


def save(path: Path, version: Any, value: Any) -> bool:
    """Write (`version`, `value`) to `path` atomically; False when it cannot be written (a
    read-only cache folder): the next use works it out again, which is slower, not wrong."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump((version, value), f, protocol=5)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
        return True
    except Exception:  # noqa: BLE001 - a cache that cannot be saved only costs the next use time
        try:
            os.unlink(temp)
        except OSError:
            pass
        return False
