"""Where the written-cells state (written.py) is kept between syncs: a small file of its own
beside the lock, apart from the parse memo, named by an identity the workbook carries, and
kept for as long as its workbook may come back.

The parse memo is a cache: pruned once no sync used it for a month (`parse_cache.prune`), and
named by the workbook's path. The state is not: losing it makes the next sync write over every
value a person typed over a computed cell, without a word. So it lives apart:

- **named by the workbook, not its place**: an .xlsx by the `_sheetcrm` mark `written.BOOK`,
  a number the shell draws (`new_id`) and the first sync writing computed cells writes with
  the generation it moves (no write of its own); a moved or renamed file, or one synced from
  another folder, keeps its mark and so finds its state. A Google spreadsheet by its key,
  which a move in Drive keeps (nothing is added to what a sync writes there). An .xlsx
  without the mark yet (synced before it was kept, or never written) by its resolved path,
  as before; the sync that draws its mark keeps the state under both.
- **one state per place**: a file holds the state of each place (resolved path) that synced
  the workbook, the `PLACES` last ones, so the syncs of a copy of the file (which carries the
  same mark) do not take the original's state away. A sync goes by its own place's state, else
  (a moved file) the latest one whose generation is the workbook's: the generation
  (`written.usable`) still tells a copy, or another writer, from the workbook the state was
  made of.
- **pruned only when its workbook is gone**: a file no sync used for `UNUSED_DAYS` (over a
  year, so a workbook synced yearly keeps it) whose every .xlsx is no longer at its place;
  a Google one after those days alone (looking would be a request).

Without any state (the first sync on another machine, a deleted cache folder) every computed
cell is sheetcrm's, as before this was kept, and nothing is said (docs/concurrency.md).
A file that cannot be read or written is no state: the sync goes on. One that cannot be written
(a full disk) is said, a warning line: the next sync would write over what was typed.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import secrets
import time
from pathlib import Path
from typing import Any, Mapping

from sheetcrm import cache_file
from sheetcrm.collector import paused_collector
from sheetcrm.i18n import N_, _
from sheetcrm.os_errors import os_problem
from sheetcrm.ids import read_sequences
from sheetcrm.lock import workbook_key
from sheetcrm.owned import owned_title
from sheetcrm.parse_cache import RowMemo, TabEntry
from sheetcrm.schema import SEQUENCES
from sheetcrm.workbook import Snapshot, Workbook
from sheetcrm.written import BOOK, GENERATION, MEMO_NAME, usable

SUFFIX = ".written"
VERSION = "sheetcrm-written-cells"  # the file's layout; the state inside says its own format (written.FORMAT)
UNUSED_DAYS = 400
PLACES = 4
_NAME = re.compile(r"[0-9a-f]{24}\.written")
# Under `sheetcrm run`'s logger: its log lines there, one "sheetcrm: …" line on stderr in a
# one-shot command (cli._OneLine).
LOG = logging.getLogger("sheetcrm.run.written")
NOT_KEPT = N_("cannot keep what this sync wrote in computed cells in {folder} ({problem}): until it can, a value a "
              "person types over a computed cell is written over by the next sync without a word; free space there, "
              "or set $XDG_CACHE_HOME to a folder this user may write in")


def new_id(book: Workbook) -> int:
    """A fresh number for the `written.BOOK` mark (as the warehouse's ARCHIVE_ID: the core
    draws nothing); 0 for a workbook that needs none (Google, named by its key)."""
    place = _place(book)
    return 0 if place is None or place.startswith("google:") else secrets.randbelow(2**31 - 1) + 1


def marks_of(snapshot: Snapshot) -> dict[str, int]:
    """The `_sheetcrm` marks of a read workbook (prefix or mark -> number)."""
    title = owned_title(snapshot, SEQUENCES)
    return read_sequences(snapshot.tabs[title] if title else None)


def recall(memo: RowMemo, folder: Path, book: Workbook, snapshot: Snapshot) -> None:
    """Put the state kept for `book` in `folder` into `memo` (`RowMemo.state` then gives it),
    in place of what the memo held (a memo file of an earlier sheetcrm, or the last sync of
    this process). Leaves the memo as it is when no file holds a state for this workbook's
    generation. Renews the time of the file it reads (`prune`)."""
    place = _place(book)
    if place is None:
        return
    marks = marks_of(snapshot)
    generation = marks.get(GENERATION)
    states: list[tuple[bytes, bytes]] = []
    for path in _paths(folder, book, marks):
        found = _read(path)
        states += [found[place]] if place in found else []
        states += [found[p] for p in reversed(found) if p != place]  # the latest first
    for n, (key, blob) in enumerate(states, 1):
        # The last one is not unpickled here: the read checks it anyway (`written.recall`),
        # and for most workbooks it is the only one (650 KB at 5,000 leads and 2,500 deals).
        if n == len(states) or usable(_state(blob), generation):
            memo.previous[MEMO_NAME] = TabEntry(key, blob)
            return


def keep(memo: RowMemo, folder: Path, book: Workbook, read: Mapping[str, int], planned: Mapping[str, int]) -> None:
    """Keep the state this sync left (`RowMemo.keep_state`) in `folder`, under the identity the
    workbook has as this plan leaves it (`planned` marks) and, when the plan names it anew, the
    one it had (`read` marks: the write may not land); the file named by its path goes once the
    workbook as read carries its mark. Then prune the folder. A file that cannot be written is
    left as it was, and said (a warning on `LOG`): without it the next sync takes every
    computed cell for its own and writes over a value a person typed there, so a person must
    hear of it while it can still be fixed (a full disk, a folder it may not write in)."""
    entry = memo.current.get(MEMO_NAME)
    place = _place(book)
    if entry is None or place is None:
        return
    try:
        part = pickle.dumps((entry.key, cache_file.read(entry.blob)), protocol=5)
    except (OSError, ValueError):
        return
    for path in dict.fromkeys(_paths(folder, book, planned)[:1] + _paths(folder, book, read)[:1]):
        found = cache_file.load(path, VERSION) or {}
        try:
            if place in found and cache_file.read(found[place]) == part:
                continue  # the same state: its time is renewed by the load
        except (OSError, ValueError):
            pass
        parts: dict[Any, bytes | cache_file.Stored] = {p: s for p, s in found.items() if p != place}
        parts[place] = part  # last: the latest
        failed = cache_file.unsaved(path, VERSION, dict(list(parts.items())[-PLACES:]))
        if failed is not None:
            LOG.warning(_(NOT_KEPT, folder=folder, problem=os_problem(failed)))
            break  # one line: the next path is in the same folder
    if read.get(BOOK) and not place.startswith("google:"):
        # Named in the workbook as read: the file named by its path (kept until the mark
        # landed) is read no more.
        try:
            os.unlink(state_path(folder, place))
        except OSError:
            pass
    prune(folder, time.time())


def prune(folder: Path, now: float, days: float = UNUSED_DAYS) -> list[Path]:
    """Remove the state files in `folder` no sync used for `days` days (their modification time,
    renewed by `recall` and `keep`; `now` in seconds since the epoch) whose workbook cannot be
    found: no .xlsx of theirs is at its place any more (a Google one: sheetcrm cannot look
    without a request). A damaged file goes too; one that cannot be removed stays. Returns the
    paths removed."""
    removed = []
    for entry in cache_file.unused(folder, _NAME, now, days):
        try:
            found = cache_file.load_any(Path(entry.path), renew=False)
            places = found[1] if found is not None else {}
            if any(isinstance(p, str) and p.startswith("file:") and Path(p[5:]).exists() for p in places):
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed
    for entry in entries:
        if not _NAME.fullmatch(entry.name):
            continue
        try:
            if now - entry.stat().st_mtime <= days * 86400:
                continue
            found = cache_file.load_any(Path(entry.path), renew=False)
            places = found[1] if found is not None else {}
            if any(isinstance(p, str) and p.startswith("file:") and Path(p[5:]).exists() for p in places):
                continue
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def state_path(folder: Path, identity: str) -> Path:
    """The file of the state named `identity` ("book:<mark>", "google:<key>", "file:<path>")."""
    return folder / (hashlib.sha256(identity.encode()).hexdigest()[:24] + SUFFIX)


def _paths(folder: Path, book: Workbook, marks: Mapping[str, int]) -> list[Path]:
    """The files that may hold the state of `book` with `marks`, the one to keep it in first:
    its mark's, then its path's (kept before the mark was drawn)."""
    place = _place(book)
    if place is None:
        return []
    mark = marks.get(BOOK)
    names = [f"book:{mark}"] if mark and not place.startswith("google:") else []
    return [state_path(folder, name) for name in [*names, place]]


def _place(book: Workbook) -> str | None:
    try:
        return workbook_key(book)
    except (AttributeError, TypeError):
        return None


def _read(path: Path) -> dict[str, tuple[bytes, bytes]]:
    """The states in the file at `path`: place -> (the memo's key of the state, its pickle),
    oldest first; empty when there is none or it is damaged."""
    found = cache_file.load(path, VERSION)
    states = {}
    for place, stored in (found or {}).items():
        try:
            with paused_collector():
                key, blob = pickle.loads(cache_file.read(stored))
        except Exception:  # noqa: BLE001 - a damaged part is no state
            continue
        if isinstance(place, str) and isinstance(key, bytes) and isinstance(blob, bytes):
            states[place] = (key, blob)
    return states


def _state(blob: bytes) -> Any:
    try:
        with paused_collector():
            return pickle.loads(blob)
    except Exception:  # noqa: BLE001 - a damaged state is no state
        return None
