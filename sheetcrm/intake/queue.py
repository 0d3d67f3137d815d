"""The website form's queue: each submission `sheetcrm serve` accepted, on local disk, until a
sync has appended it to the workbook.

It lives beside the workbook's lock (`lock_dir()`, named like the lock, as the outbox journal
does), one row per submission:

    receipt    12 hex digits, the id the form was answered with; it is also the response key
               written into the Form Submitted activity's Subject ("[sheetcrm:<receipt>]")
    received   when the server accepted it (UTC, ISO 8601)
    fields     the Leads fields, as JSON (already validated)
    appended   NULL while waiting; the ID of the record it went to once the workbook has it
    refused    NULL, or why it was set aside: a submission no sync can write (a cell too long
               for the sheet, a write Google refuses) waits no more, so it never blocks the
               others; it stays here, with its reason, for a person to look at

and the MACs of the signed submissions stored (`signatures`), each with when it was seen, so
that a signed post sent again is refused (docs/leads.md, "Signing").

Storage is SQLite (standard library) in WAL mode with `synchronous = FULL`: `put` returns
only once the row is on disk, so the server answers 201 only for a submission a crash cannot
lose. A submission is marked appended only when the workbook holds its receipt (the write
landed, or the next sync found it there), so Google being down only makes it wait.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from sheetcrm.i18n import _
from sheetcrm.os_errors import os_problem
from sheetcrm.lock import WorkbookLock
from sheetcrm.workbook import Workbook, WorkbookError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    receipt  TEXT PRIMARY KEY,
    received TEXT NOT NULL,
    fields   TEXT NOT NULL,
    appended TEXT
);
CREATE INDEX IF NOT EXISTS waiting ON submissions (appended) WHERE appended IS NULL;
CREATE INDEX IF NOT EXISTS arrival ON submissions (received);
CREATE TABLE IF NOT EXISTS signatures (
    mac  TEXT PRIMARY KEY,
    seen REAL NOT NULL
);
"""  # not for people: SQL


# A post whose fields are those of a submission stored this long before is that submission again:
# the visitor clicked Send twice, or the browser sent the form again on a reload. Stored, it was
# a second Form Submitted activity, and a second run of every `form response` workflow rule (a
# second auto-reply email).
SAME_POST = dt.timedelta(minutes=10)


class SeenBefore(Exception):
    """A signed submission whose MAC the queue already holds: a replay."""


class QueueError(WorkbookError):
    """The queue cannot be opened or written (permissions, a full disk)."""


@dataclass(frozen=True)
class Submission:
    receipt: str
    received: dt.datetime          # UTC
    fields: dict[str, Any]         # Leads field -> text


class WebQueue:
    """The queue of one workbook; safe to share between threads. Raises QueueError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(_SCHEMA)
            # A queue made before submissions could be set aside gets the column.
            if "refused" not in {r[1] for r in self._db.execute("PRAGMA table_info(submissions)")}:
                self._db.execute("ALTER TABLE submissions ADD COLUMN refused TEXT")  # not for people: SQL
        except (sqlite3.Error, OSError) as e:
            raise QueueError(_("cannot open the web form queue {path}: {error}", path=path,
                                 error=os_problem(e))) from None

    @classmethod
    def beside_lock(cls, book: Workbook, folder: Path | None = None) -> "WebQueue":
        return cls(queue_path(book, folder))

    def put(self, fields: dict[str, Any], at: dt.datetime, mac: str | None = None,
            forget_before: float | None = None) -> str:
        """Store one submission durably; its receipt. With `mac` (a signed post's), the MAC is
        stored in the same transaction, and SeenBefore raised (nothing stored) when it is
        there already; MACs seen before `forget_before` (Unix seconds) are dropped first.
        A submission of the very same fields stored within SAME_POST before `at` is this one
        again: nothing is stored, and its receipt is the answer."""
        receipt = secrets.token_hex(6)
        at = at.astimezone(dt.timezone.utc)
        row = (receipt, at.isoformat(), json.dumps(fields, ensure_ascii=False))
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    if mac is not None:
                        if forget_before is not None:
                            self._db.execute("DELETE FROM signatures WHERE seen < ?", (forget_before,))  # not for people: SQL
                        if self._db.execute("SELECT 1 FROM signatures WHERE mac = ?", (mac,)).fetchone():  # not for people: SQL
                            raise SeenBefore(mac)
                        self._db.execute("INSERT INTO signatures (mac, seen) VALUES (?, ?)",  # not for people: SQL
                                         (mac, at.timestamp()))
                    earlier = self._same(fields, at)
                    if earlier is None:
                        self._db.execute("INSERT INTO submissions (receipt, received, fields) VALUES (?, ?, ?)", row)  # not for people: SQL
                    else:
                        receipt = earlier
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                raise QueueError(_("cannot write the web form queue {path}: {error}", path=self.path, error=e)) from None
        return receipt

    def _same(self, fields: dict[str, Any], at: dt.datetime) -> str | None:
        """The receipt of a submission of these very fields stored within SAME_POST before `at`
        (UTC), the latest; None when there is none. Inside put's transaction."""
        since = (at - SAME_POST - dt.timedelta(seconds=1)).isoformat()  # a bound for the index; compared below
        rows = self._db.execute("SELECT receipt, received, fields FROM submissions WHERE received >= ? "  # not for people
                                "ORDER BY received DESC", (since,)).fetchall()
        return next((r for r, t, f in rows
                     if at - SAME_POST <= dt.datetime.fromisoformat(t) <= at and json.loads(f) == fields), None)

    def waiting(self) -> list[Submission]:
        """The submissions not yet appended, oldest first."""
        rows = self._run("SELECT receipt, received, fields FROM submissions WHERE appended IS NULL "  # not for people
                         "AND refused IS NULL ORDER BY received, rowid", ())
        return [Submission(r, dt.datetime.fromisoformat(t), json.loads(f)) for r, t, f in rows]

    def set_aside(self, refused: Iterable[tuple[str, str]]) -> None:
        """Record (receipt, reason) pairs as set aside: they wait no more, and stay on disk."""
        pairs = [(reason, receipt) for receipt, reason in refused]
        if pairs:
            with self._lock:
                try:
                    self._db.executemany("UPDATE submissions SET refused = ? WHERE receipt = ? AND appended IS NULL",
                                         pairs)  # not for people: SQL
                except sqlite3.Error as e:
                    raise QueueError(_("cannot write the web form queue {path}: {error}", path=self.path,
                                       error=e)) from None

    def refused(self) -> list[tuple[str, dt.datetime, str]]:
        """The submissions set aside: (receipt, when received, why), oldest first."""
        rows = self._run("SELECT receipt, received, refused FROM submissions WHERE refused IS NOT NULL "  # not for people
                         "AND appended IS NULL ORDER BY received, rowid", ())
        return [(r, dt.datetime.fromisoformat(t), why) for r, t, why in rows]

    def mark(self, appended: Iterable[tuple[str, str]]) -> None:
        """Record (receipt, record ID) pairs as appended, in one transaction."""
        pairs = [(who, receipt) for receipt, who in appended]
        if not pairs:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany("UPDATE submissions SET appended = ? WHERE receipt = ? AND appended IS NULL",
                                     pairs)  # not for people: SQL
                self._db.execute("COMMIT")
            except sqlite3.Error as e:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise QueueError(_("cannot write the web form queue {path}: {error}", path=self.path, error=e)) from None

    def counts(self) -> tuple[int, int]:
        """(waiting, appended); the ones set aside are in neither (`refused`)."""
        sql = ("SELECT COUNT(*) - COUNT(appended) - COUNT(CASE WHEN appended IS NULL THEN refused END), "
               "COUNT(appended) FROM submissions")  # not for people: SQL
        row = self._run(sql, ())[0]
        return int(row[0]), int(row[1])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "WebQueue":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as e:
                raise QueueError(_("cannot use the web form queue {path}: {error}", path=self.path, error=e)) from None


@dataclass
class WebBatch:
    """One sync's share of the queue: the submissions waiting (read before the sync), and what
    the forms step made of them (it fills `placed` and `landed` on each plan)."""

    waiting: list[Submission]
    # (receipt, record ID, the keys of its writes): planned in this sync
    placed: list[tuple[str, str, list[tuple[str, int, int]]]] = field(default_factory=list)
    # (receipt, record ID): already in the workbook (a write that landed before the mark)
    landed: list[tuple[str, str]] = field(default_factory=list)
    # (receipt, why): submissions no sheet can take as they are (`intake.text`): set aside
    refused: list[tuple[str, str]] = field(default_factory=list)

    def appended(self, skipped: Iterable[Any] | None) -> list[tuple[str, str]]:
        """What to mark: the landed ones, and, when the plan was written (`skipped` are the
        writes the backend refused), each placed one none of whose writes was refused."""
        out = list(self.landed)
        if skipped is not None:
            refused = {(w.tab, w.row, w.col) for w in skipped}
            out += [(r, who) for r, who, keys in self.placed if not refused.intersection(keys)]
        return out


def queue_path(book: Workbook, folder: Path | None = None) -> Path:
    lock = WorkbookLock(book, folder)
    return lock.path.with_name(lock.path.stem + ".webforms.sqlite3")
