"""sheetcrm's cache files beside its lock (the parse memo, the .xlsx grid memo): a version and
named parts of bytes, written atomically, read part by part, and worth nothing when missing or
damaged.

A cache only saves time: a file that cannot be read, holds another version or was torn is
no cache at all (the caller works everything out again), never an error and never a value
of other code. Written to a temp file beside it, fsynced, renamed over it, so a reader sees
the old file or the new one, whole.

A part is read only when it is asked for (`Stored.read`), from the file as it was when loaded:
its descriptor stays open while a part of it is held, so a save that renames a new file over
the path does not change what the old parts read. A sync unpickles its tabs one at a time, so
it holds one tab's bytes at a time instead of the whole file (17 MB at 10k leads, 156 MB at
100k) for as long as it plans. The layout, after the parts' bytes one after another:
a pickle of (version, [(name, offset, size, crc), ...]), its offset (8 bytes, little-endian),
its CRC-32 (4 bytes) and `MAGIC`, so a file is known to be of this layout from its last 28
bytes. Every part and the index carry a CRC-32 (zlib's, 3 ms for 17 MB), checked on each read:
a flipped bit on the disk is no cache (that part, or the whole file), never a wrong value
(a pickle that still loads after a flip can hold another value: a memo without the check once
wrote a rule's "Owner = Diego Ruiz" as "Owner 9 Diego Ruiz")."""

from __future__ import annotations

import os
import pickle
import re
import tempfile
import weakref
import zlib
from pathlib import Path
from typing import Any, Iterator, Mapping

from sheetcrm.collector import paused_collector

MAGIC = b"sheetcrm-parts\x00\x02"
_TAIL = 8 + 4 + len(MAGIC)


class _Descriptor:
    """An open cache file, closed once no part of it is held."""

    __slots__ = ("fd", "__weakref__")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        weakref.finalize(self, os.close, fd)


class Stored:
    """A part of a loaded cache file, not yet read."""

    __slots__ = ("_file", "offset", "size", "crc")

    def __init__(self, file: _Descriptor, offset: int, size: int, crc: int) -> None:
        self._file, self.offset, self.size, self.crc = file, offset, size, crc

    def read(self) -> bytes:
        """The part's bytes. Raises OSError when the file cannot be read, ValueError when it
        holds fewer bytes than it said (a file truncated in place) or other bytes than were
        saved (their CRC-32 differs)."""
        data = os.pread(self._file.fd, self.size, self.offset)
        if len(data) != self.size or zlib.crc32(data) != self.crc:
            raise ValueError("a cache part other than saved")  # not for people: caught by callers
        return data


def read(part: bytes | Stored) -> bytes:
    """The bytes of a part, whether made by this process or loaded (`Stored.read`'s errors)."""
    return part.read() if isinstance(part, Stored) else part


def load(path: Path, version: Any) -> dict[Any, Stored] | None:
    """The parts saved at `path` with `version`, by name, unread; else None. A file that is used
    has its time renewed, so that pruning unused caches (`parse_cache.prune`) keeps it."""
    found = load_any(path)
    if found is None or found[0] != version:
        return None
    return found[1]


def load_any(path: Path, renew: bool = True) -> tuple[Any, dict[Any, Stored]] | None:
    """The version the file at `path` was saved with and its parts, by name, unread; None when
    there is no such file or it is damaged. For a caller that keeps some parts across
    versions (`parse_cache.load`); its time is renewed as `load`'s, unless `renew` is False
    (a prune looking into it)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    file = _Descriptor(fd)
    try:
        size = os.fstat(fd).st_size
        tail = os.pread(fd, _TAIL, size - _TAIL) if size >= _TAIL else b""
        if len(tail) != _TAIL or tail[12:] != MAGIC:
            return None
        index_at = int.from_bytes(tail[:8], "little")
        if not 0 <= index_at <= size - _TAIL:
            return None
        packed = os.pread(fd, size - _TAIL - index_at, index_at)
        if zlib.crc32(packed) != int.from_bytes(tail[8:12], "little"):
            return None
        with paused_collector():
            saved, index = pickle.loads(packed)
        parts = {}
        for name, offset, length, crc in index:
            if not (isinstance(offset, int) and isinstance(length, int) and isinstance(crc, int) and 0 <= offset
                    and 0 <= length and offset + length <= index_at):
                return None
            parts[name] = Stored(file, offset, length, crc)
    except Exception:  # noqa: BLE001 - any damage to a cache file is no cache, never an error
        return None
    try:
        if renew:
            os.utime(path)
    except OSError:
        pass
    return saved, parts


def save(path: Path, version: Any, parts: Mapping[Any, bytes | Stored]) -> bool:
    """Write `parts` (by name: bytes, or parts of a loaded file, copied one at a time) and
    `version` to `path` atomically. A loaded part that can no longer be read is left out (the
    next use works it out again). False when the file cannot be written (a read-only cache
    folder): the next use works everything out again, which is slower, not wrong."""
    return unsaved(path, version, parts) is None


def unsaved(path: Path, version: Any, parts: Mapping[Any, bytes | Stored]) -> Exception | None:
    """`save`, saying why the file could not be written (a full disk, a folder it may not
    write in), or None when it was: for a file whose loss someone must hear of."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    except OSError as e:
        return e
    try:
        with os.fdopen(fd, "wb") as f:
            index, at = [], 0
            for name, part in parts.items():
                try:
                    data = read(part)
                except (OSError, ValueError):
                    continue
                f.write(data)
                index.append((name, at, len(data), zlib.crc32(data)))
                at += len(data)
            packed = pickle.dumps((version, index), protocol=5)
            f.write(packed)
            f.write(at.to_bytes(8, "little") + zlib.crc32(packed).to_bytes(4, "little") + MAGIC)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
        return None
    except Exception as e:  # noqa: BLE001 - a cache that cannot be saved only costs the next use time
        try:
            os.unlink(temp)
        except OSError:
            pass
        return e


def unused(folder: Path, name: "re.Pattern[str]", now: float, days: float) -> Iterator[os.DirEntry[str]]:
    """The files in `folder` whose name `name` matches whole and that no one has loaded or saved
    for more than `days` days (their modification time, which `load_any` and `save` renew;
    `now` in seconds since the epoch): what a prune may remove, by its own rule. A folder or
    file that cannot be looked at yields nothing."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if not name.fullmatch(entry.name):
            continue
        try:
            if now - entry.stat().st_mtime > days * 86400:
                yield entry
        except OSError:
            continue
