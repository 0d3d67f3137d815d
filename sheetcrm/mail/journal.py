"""The outbox's journal: which quote emails this machine handed to an SMTP server.

A sheet can forget. A spreadsheet app that had the workbook open saves its old copy over
sheetcrm's write and the Outbox row is back at Approved, or a person restores an old version.
The sheet then asks for a quote that already went out. The journal remembers instead. It lives
beside the workbook's lock (`lock_dir()`, named like the lock), one row per Message-ID, keyed
by the workbook and the quote version:

    intent     recorded, and on disk, before MAIL FROM: the message may be about to leave
    sent       the server answered 250 to the end of DATA
    not_sent   the server refused it, or it never left (4xx, 5xx, unreachable, a setting):
               the same Message-ID may be tried again

The owners' morning digests (`mail/digest.py`) are journaled the same way, each under the
version `digest_version(owner, day)` (never a quote's), with the Workflow Log keys it carries
(`carried`): a digest is sent at most once per owner and day, and one whose outcome is unknown
is told to a person (`untold_digests`) rather than sent again. `ledger` leaves them out.

An intent with no outcome means the process died, or the connection broke while the server
had the message: the outcome is unknown, so the quote is never sent again automatically (as
a row at Sending). A quote version is *held* while it has an intent or a sent record that
`sheetcrm outbox resend` has not released; a held version or Message-ID is never sent again,
whatever the sheet says.

Storage is SQLite (standard library): each state change is one transaction, and with
`synchronous = FULL` a commit returns only once it is on disk, so a crash right after it
cannot lose it. `begin` checks and records in one IMMEDIATE transaction, so two sheetcrm
processes cannot both take the same version.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from sheetcrm.i18n import _
from sheetcrm.os_errors import os_problem
from sheetcrm.lock import WorkbookLock
from sheetcrm.workbook import Workbook, WorkbookError

State = Literal["intent", "sent", "not_sent"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    workbook   TEXT NOT NULL,
    message_id TEXT NOT NULL,
    version    TEXT NOT NULL,
    row_id     TEXT NOT NULL,
    quote      TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('intent', 'sent', 'not_sent')),
    tried_at   TEXT NOT NULL,
    done_at    TEXT,
    reply      TEXT,
    released   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (workbook, message_id)
);
CREATE INDEX IF NOT EXISTS sends_version ON sends (workbook, version);
CREATE TABLE IF NOT EXISTS carried (
    workbook   TEXT NOT NULL,
    message_id TEXT NOT NULL,
    key        TEXT NOT NULL,
    PRIMARY KEY (workbook, message_id, key)
);
"""  # not for people: SQL
DIGEST = "digest:"  # not for people: the version prefix of a digest's entries
_COLUMNS = "message_id, version, row_id, quote, state, tried_at, done_at, reply, released"  # not for people: SQL


class JournalError(WorkbookError):
    """The journal cannot be opened or written (permissions, a full disk): nothing is sent."""


@dataclass(frozen=True)
class Entry:
    message_id: str
    version: str
    row_id: str
    quote: str
    state: State
    tried_at: str            # UTC, as the Outbox stamps times
    done_at: str | None      # when the outcome came; the Sent At of a sent quote
    reply: str | None
    released: bool

    @property
    def holds(self) -> bool:
        return self.state != "not_sent"


@dataclass(frozen=True)
class Ledger:
    """The journal's entries for one workbook, read once: what planning consults (pure)."""

    entries: tuple[Entry, ...] = ()

    def holding(self, version: str, message_id: str = "") -> Entry | None:
        """The entry that forbids sending this version or Message-ID, if any: a sent one
        first, then an intent (unknown outcome). A released entry holds its Message-ID only."""
        found = [e for e in self.entries if e.holds and (
            (message_id and e.message_id == message_id) or (e.version == version and not e.released))]
        return next((e for e in found if e.state == "sent"), None) or next(iter(found), None)

    def held_versions(self) -> frozenset[str]:
        """The quote versions that may not go out again (sent, or an unknown outcome), unless
        `sheetcrm outbox resend` released them: what a sync must not queue again."""
        return frozenset(e.version for e in self.entries if e.holds and not e.released)


def digest_version(owner: str, day: dt.date) -> str:
    """The journal's version of `owner`'s digest of `day` (`owner` as names compare)."""
    return f"{DIGEST}{day.isoformat()}:{owner}"


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Journal:
    """The journal of one workbook. Every method raises JournalError on a storage problem."""

    def __init__(self, path: Path, workbook: str) -> None:
        self.path, self.workbook = path, workbook
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE in `begin`).
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise JournalError(_("cannot open the outbox journal {path}: {error}", path=path,
                                 error=os_problem(e))) from None

    @classmethod
    def beside_lock(cls, book: Workbook, folder: Path | None = None) -> "Journal":
        """The journal of `book`, named like its lock file in `lock_dir()` (or `folder`)."""
        lock = WorkbookLock(book, folder)
        return cls(_beside(lock), lock.key)

    @classmethod
    def versions_held(cls, book: Workbook, folder: Path | None = None) -> frozenset[str]:
        """`Ledger.held_versions` of `book`'s journal, read once: what `plan_sync` takes as
        `sent_versions`. Empty when the workbook has no journal (nothing was ever sent from it
        on this machine); no journal file is made for asking. Raises JournalError."""
        if not _beside(WorkbookLock(book, folder)).exists():
            return frozenset()
        with cls.beside_lock(book, folder) as journal:
            return journal.ledger().held_versions()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ledger(self) -> Ledger:
        """The quotes' entries (the digests' are not the Outbox's to act on)."""
        rows = self._run(f"SELECT {_COLUMNS} FROM sends WHERE workbook = ? AND substr(version, 1, {len(DIGEST)}) "  # not for people
                         f"!= ? ORDER BY tried_at, rowid", (self.workbook, DIGEST)).fetchall()
        return Ledger(tuple(_entry(r) for r in rows))

    def told(self) -> frozenset[str]:
        """The Workflow Log keys carried by digests the server accepted."""
        rows = self._run("SELECT c.key FROM carried c JOIN sends s ON s.workbook = c.workbook AND s.message_id = "  # not for people
                         "c.message_id WHERE c.workbook = ? AND s.state = 'sent'", (self.workbook,)).fetchall()
        return frozenset(r[0] for r in rows)

    def untold_digests(self) -> list[Entry]:
        """The digests whose outcome is unknown (an intent) and no person was told yet (no
        reply): the process died between the intent and the server's answer."""
        rows = self._run(f"SELECT {_COLUMNS} FROM sends WHERE workbook = ? AND substr(version, 1, {len(DIGEST)}) = ? "  # not for people
                         "AND state = 'intent' AND reply IS NULL ORDER BY tried_at, rowid",
                         (self.workbook, DIGEST)).fetchall()
        return [_entry(r) for r in rows]

    def begin(self, message_id: str, version: str, row_id: str, quote: str, at: dt.datetime,
              carries: Iterable[str] = ()) -> Entry | None:
        """Record the intent to send, durably, unless the version or Message-ID is held, with
        the Workflow Log keys the message `carries` (a digest's). Returns None when the caller
        may send, else the entry that holds it."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM sends WHERE workbook = ? AND (version = ? OR "
                                    f"message_id = ?)", (self.workbook, version, message_id)).fetchall()
            held = Ledger(tuple(_entry(r) for r in rows)).holding(version, message_id)
            if held is None:
                self._db.execute(
                    "INSERT INTO sends (workbook, message_id, version, row_id, quote, state, tried_at) "
                    "VALUES (?, ?, ?, ?, ?, 'intent', ?) ON CONFLICT (workbook, message_id) DO UPDATE SET "
                    "state = 'intent', tried_at = excluded.tried_at, done_at = NULL, reply = NULL",
                    (self.workbook, message_id, version, row_id, quote, stamp(at)))
                self._db.executemany("INSERT OR IGNORE INTO carried (workbook, message_id, key) VALUES (?, ?, ?)",  # not for people
                                     [(self.workbook, message_id, k) for k in carries])
            self._db.execute("COMMIT")
            return held
        except sqlite3.Error as e:
            self._rollback()
            raise JournalError(_("cannot write the outbox journal {path}: {error}", path=self.path, error=e)) from None

    def finish(self, message_id: str, state: State, at: dt.datetime, reply: str) -> None:
        """Record the outcome of a message whose intent was recorded."""
        self._run("UPDATE sends SET state = ?, done_at = ?, reply = ? WHERE workbook = ? AND message_id = ?",  # not for people
                  (state, stamp(at), reply, self.workbook, message_id))

    def release(self, version: str) -> int:
        """Let this version be sent once more (`sheetcrm outbox resend`); how many entries it freed."""
        return self._run("UPDATE sends SET released = 1 WHERE workbook = ? AND version = ? AND released = 0",  # not for people
                         (self.workbook, version)).rowcount

    def _run(self, sql: str, args: tuple) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.Error as e:
            raise JournalError(_("cannot use the outbox journal {path}: {error}", path=self.path, error=e)) from None

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def _beside(lock: WorkbookLock) -> Path:
    return lock.path.with_name(lock.path.stem + ".outbox.sqlite3")


def _entry(row: tuple) -> Entry:
    *head, released = row
    return Entry(*head, released=bool(released))
