"""One `sheetcrm run` per workbook.

The lock is an flock on a file named after the workbook (its spreadsheet ID, or its absolute
path). The kernel drops an flock when its holder dies, however it dies, so a crash never
leaves a stale lock; the PID written into the file is only there to name the holder. The file
itself is never deleted: deleting it would let a second process lock a fresh file while the
first still holds the old one.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path

from sheetcrm.workbook import Workbook, WorkbookError


class AlreadyRunning(WorkbookError):
    """Another `sheetcrm run` holds the workbook's lock."""


def lock_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "sheetcrm" / "locks"


def workbook_key(book: Workbook) -> str:
    """What makes two targets the same workbook: a spreadsheet ID, else a resolved file path."""
    key = getattr(book, "key", None)
    if key:
        return f"google:{key}"
    return f"file:{Path(getattr(book, 'path')).expanduser().resolve()}"


class WorkbookLock:
    def __init__(self, book: Workbook, folder: Path | None = None) -> None:
        self.book = book
        self.key = workbook_key(book)
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:24]
        self.path = (folder or lock_dir()) / f"{digest}.lock"
        self._fd: int | None = None

    def acquire(self) -> "WorkbookLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace").split("\n", 1)[0].strip()
            os.close(fd)
            who = f"PID {holder}" if holder.isdigit() else "another process"
            raise AlreadyRunning(f"{self.book.describe()} is already served by `sheetcrm run` ({who}); "
                                 f"stop it first (lock: {self.path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n{self.key}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WorkbookLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
