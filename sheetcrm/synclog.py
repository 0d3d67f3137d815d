"""The Sync Log rows `sheetcrm run` has not written to the workbook yet, kept on disk.

Rows wait until a write can carry them (docs/service.md says when). So that a crash, a
`kill -9` or a power cut loses none, each row is appended to a file beside the lock
(`~/.cache/sheetcrm/locks/<workbook>.synclog.jsonl`, one JSON array per line) and fsynced before
the job that made it is reported done; rows leave the file only once a write has carried them.
The file has one writer: the `sheetcrm run` holding the workbook's lock.

A row written whose removal from the file was lost to a crash is handed again after the
restart; `steps.sync_log.plan_log` adds no row the tab already holds.

A file that cannot be written (a full disk, a folder made read-only) never stops the service:
the rows wait in memory, `failed` says why for the service to log, and the next write that
succeeds rewrites the whole queue, so the rows kept only in memory reach the disk then.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Callable, Sequence

from sheetcrm.schema import SYNC_LOG_ROWS
from sheetcrm.workbook import CellValue

Row = list[CellValue]


class LogQueue:
    """Rows in order, oldest first, at most SYNC_LOG_ROWS (older ones would be trimmed from the
    tab anyway)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Why the file no longer matches `rows` (it could not be read, or the last write to it
        # failed), else None.
        self.failed: OSError | None = None
        self.rows: list[Row] = self._load()
        if self._cut:
            # A write cut short left half a line: the next row appended continued it, one
            # unreadable line, and that row (on disk, as `append` promised) was lost at the
            # next start. The file is written again whole first.
            self._keep(self._rewrite)

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: Sequence[CellValue]) -> None:
        """Add a row, durably: it is on disk when this returns, unless `failed` says why not
        (it is then in memory only)."""
        self.rows.append(list(row))
        if len(self.rows) > SYNC_LOG_ROWS or self.failed is not None:
            del self.rows[:-SYNC_LOG_ROWS]
            self._keep(self._rewrite)
            return
        self._keep(lambda: self._append(row))

    def remove(self, written: Sequence[Sequence[CellValue]]) -> None:
        """Forget the rows a write carried (rows queued meanwhile stay). When the file cannot
        be rewritten (`failed`), it still holds them: handed again after a restart, they are
        not added twice (plan_log)."""
        done = [list(r) for r in written]
        kept = [r for r in self.rows if r not in done]
        if len(kept) != len(self.rows):
            self.rows = kept
            self._keep(self._rewrite)

    def _keep(self, write: Callable[[], None]) -> None:
        try:
            write()
        except OSError as e:
            self.failed = e
        else:
            self.failed = None

    def _append(self, row: Sequence[CellValue]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, _line(row))
            os.fsync(fd)
        finally:
            os.close(fd)

    def _rewrite(self) -> None:
        if not self.rows:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(b"".join(_line(r) for r in self.rows))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError:
            with contextlib.suppress(OSError):  # half a copy on a full disk would only take the space left
                tmp.unlink(missing_ok=True)
            raise

    def _load(self) -> list[Row]:
        self._cut = False
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as e:  # a folder that is none, or one this user may not read
            self.failed = e
            return []
        lines = data.splitlines()
        self._cut = bool(data) and not data.endswith(b"\n")
        rows = []
        for line in lines:
            try:
                row = json.loads(line)
            except ValueError:
                continue  # the last line of a write cut short by a crash: that row never finished
            if isinstance(row, list):
                rows.append(row)
        return rows[-SYNC_LOG_ROWS:]


def _line(row: Sequence[CellValue]) -> bytes:
    return (json.dumps(list(row), ensure_ascii=False, default=str) + "\n").encode()
