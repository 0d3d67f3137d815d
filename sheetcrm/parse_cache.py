"""What the last sync read, so the next one reads again only what changed.

A `RowMemo` is a memo of `table.parse_table`, the costly part of a read, at two levels:

- **a tab**: its key is a digest of everything `parse_table` reads for it: every field of its
  Grid (cells, formulas, formula errors, percent and currency formats, merged blocks), the
  tab's settings, the parse context (locale, stages, base currency), its title, the language
  of the messages and the code that parses (`code_version`). A tab whose key is the one of the
  last sync is its table again (header, records, leftovers and the issues its parse reported,
  in order), not parsed at all.
- **a row** of a tab that changed: its key is a digest of exactly what validating the row
  reads (its cells as their columns read them, after the column-wide reading of numbers and
  dates, merged blocks and formula errors; its untyped custom cells), salted with the tab's
  header mapping, column contexts, title, language and code. Only rows whose key is new are
  validated; the column-wide reading runs over the whole changed tab as before.

A **result** of a costly pure computation over records (`RowMemo.result`: the lead scores,
the duplicate groups) is memoised the same way, keyed by a digest of everything it reads, so a
sync whose leads did not change does not score them again.

One part is **state**, not a memo (`state`, `keep_state`): what sheetcrm last wrote in its
computed cells (`written.Written`), so a value a person typed over one is told from sheetcrm's
own stale value. Without it a sync takes every computed cell as sheetcrm's, as before it was
kept; it is the one part of the memo a plan differs by. The memo carries it through a sync,
but its file does not keep it: `written_file` does, in a file of its own that a prune by age
does not take, named by the workbook rather than its path.

The sheet row number is in neither key of a row: a row moved by a sort or an insert is a hit,
and its record and issues get their new row number. Cross-row and cross-tab checks (unique
IDs, references, duplicate emails) run on every read, after `parse_table`.

The memo is a value: planning reads and fills it and does no I/O. `load` and `save` are the
shell's (`sync.sync`): one file beside sheetcrm's lock file (`lock.lock_dir`) per workbook
(`cache_file`), each tab's part kept as its own pickled bytes, read from the file only when
the sync uses it (so a plan holds one tab's bytes at a time, not the file's) and written back
as the same bytes when the tab did not change, written atomically (temp file, fsync, rename).
A missing, unreadable, corrupt or other-version file is an empty memo: a full
parse, never an error; of another version's file only the state is kept (a memo of a sheetcrm
before `written_file` holds it: losing it at the upgrade would overwrite the values people
typed over computed cells). A memo file no sync has loaded or saved for `UNUSED_DAYS` (a workbook
deleted, moved, or a demo in a temporary folder) is removed when another one is saved, with the
learned model's fits kept beside it and the temp files of saves a kill cut short, so the
cache folder does not grow with every workbook ever synced (a 100k-lead memo is about 150 MB).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import pickle
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable, TypeVar

import re
import time

import pydantic

from sheetcrm import cache_file
from sheetcrm.collector import paused_collector

FORMAT = 3  # bump when what an entry holds changes shape
SUFFIX = ".rows"
UNUSED_DAYS = 30
# memo_path's names, the grid memos beside them (workbook.xlsx_memo) and the learned model's fits
# (`sync.fits_path`): the caches of the folder, nothing else in it (a journal or a state is not one)
_MEMO_NAME = re.compile(r"[0-9a-f]{24}\.(rows|grids|fits\.json)")
# What a save killed mid-write leaves of them (cache_file.save's temp file, sync.keep_fits' part),
# as large as the cache (150 MB at 100k leads): no save takes a day, so one a day old is dead.
_LEFT_NAME = re.compile(r"[0-9a-f]{24}\.((rows|grids)\w+\.tmp|fits\.json\.part)")
LEFT_DAYS = 1
# The first part of the names of `RowMemo.keep_state`'s parts: kept across versions (`load`).
STATE = "state"
# A row's parse (table.Row): (record, target, issues, custom cells all readable, the fields
# whose cells cannot be read, what reads cell by cell when there is no target).
Entry = tuple[Any, Any, tuple[Any, ...], bool, frozenset[str], Any]


# The libraries whose answers a memo keeps besides sheetcrm's own: email-validator and babel
# (a cell's verdict and the words said of it), phonenumbers and rapidfuzz (the duplicates
# found), numpy, scikit-learn and LightGBM (the lead scores). An upgrade of one may change an
# answer, and a kept one would then differ from what the same sync works out afresh.
LIBRARIES = ("email-validator", "babel", "phonenumbers", "rapidfuzz", "numpy", "scikit-learn", "lightgbm")


@cache
def code_version() -> str:
    """A digest of every module, message catalogue and data file of the sheetcrm package and
    the versions of Python, pydantic and `LIBRARIES`: records are pickled pydantic models, and
    any change to the code that parses them, to the words of its messages or to a library
    whose answer is kept may change what a row reads as, so a cache made by other code is
    never used."""
    return _stamp(libraries())


def libraries() -> dict[str, str]:
    """The installed version of each of `LIBRARIES`, from the distributions' metadata
    (importing scikit-learn and LightGBM to ask would cost over a second)."""
    from importlib.metadata import version

    return {name: version(name) for name in LIBRARIES}


def _stamp(versions: dict[str, str]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{FORMAT}|{sys.version}|{pydantic.VERSION}|{sorted(versions.items())}".encode())
    package = Path(__file__).parent
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".mo", ".toml")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


# Worked out as the code is imported, not when a memo is first used: a process that imported
# this code and read the files after an upgrade on disk (the demo writes for minutes before its
# first sync) would stamp its memo with the new code's version.
code_version()


@dataclass(frozen=True)
class TabEntry:
    """One tab's part of the memo: the key of the tab as it was read, and its parse pickled
    (table.py decides what that holds)."""

    key: bytes
    blob: bytes | cache_file.Stored  # a loaded memo's parts are read when used


def _digest(value: Any, salt: bytes = b"") -> bytes | None:
    try:
        payload = pickle.dumps(value, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    return hashlib.blake2b(payload, digest_size=16, key=salt).digest()


T = TypeVar("T")


def value_digest(value: Any) -> bytes | None:
    """A digest of `value` that depends on its values only: pickled without pickle's memo, so
    two equal strings are written out twice whether or not they are one object (which objects
    are shared differs between a fresh parse and one read back from the memo). Records are
    given as their fields (`Record.__dict__`, in field order). None when it cannot be pickled."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=5)
    pickler.fast = True  # no memo: values, not identities (records hold no cycles)
    try:
        pickler.dump(value)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError, ValueError):
        return None
    return hashlib.blake2b(buffer.getbuffer(), digest_size=16).digest()


def fields_of(records: Any) -> list[tuple[str, dict[str, Any]]]:
    """Each record as its class name and its fields: what `value_digest` of records reads."""
    return [(type(r).__name__, r.__dict__) for r in records]


def grid_parts(grid: Any) -> tuple[Any, ...]:
    """Every field of a Grid (workbook.Grid), sets and dicts in sorted order, so that the same
    grid always pickles to the same bytes; a field added to Grid later is in the key too."""
    parts = []
    for f in dataclasses.fields(grid):
        value = getattr(grid, f.name)
        if isinstance(value, (set, frozenset)):
            value = sorted(value)
        elif isinstance(value, dict):
            value = sorted(value.items())
        parts.append((f.name, value))
    return tuple(parts)


@dataclass
class RowMemo:
    """Tab (key, title) -> TabEntry from the last sync (`previous`) and from this one
    (`current`, the next sync's memo). `parsed` counts rows validated by this sync, `reused`
    rows taken from the memo (a whole unchanged tab's, or one row's): a no-op sync parses 0
    rows, a one-row change 1."""

    version: str = field(default_factory=code_version)
    previous: dict[tuple[str, str], TabEntry] = field(default_factory=dict)
    current: dict[tuple[str, str], TabEntry] = field(default_factory=dict)
    parsed: int = 0
    reused: int = 0
    changed: bool = False  # a tab's part was made anew: there is something to save
    recalled: list[str] = field(default_factory=list)  # the results (`result`) taken from the memo

    def tab_key(self, grid: Any, *parts: Any) -> bytes | None:
        """A tab's key from its grid and what else its parse reads; None when a part cannot be
        pickled or ordered (then the tab is parsed, not memoised)."""
        try:
            return _digest((self.version, grid_parts(grid), parts))
        except TypeError:
            return None

    def salt(self, *parts: Any) -> bytes | None:
        """What a tab's row keys share: all that validating a row reads besides its own cells."""
        return _digest((self.version, parts))

    def row_key(self, salt: bytes, cells: Any) -> bytes | None:
        return _digest(cells, salt)

    def unchanged(self, name: tuple[str, str], key: bytes | None) -> Any | None:
        """The parse of tab `name` (unpickled afresh: callers may change what they get) when
        its key is the last sync's, else None."""
        entry = self.previous.get(name) or self.current.get(name)
        if key is None or entry is None or entry.key != key:
            return None
        try:
            with paused_collector():
                parse = pickle.loads(cache_file.read(entry.blob))
        except Exception:  # noqa: BLE001 - a damaged part is a parse of the tab
            return None
        self.current[name] = entry
        return parse

    def before(self, name: tuple[str, str]) -> Any | None:
        """The parse tab `name` had at the last sync, whatever its key (its rows may be
        reused), or None."""
        entry = self.previous.get(name) or self.current.get(name)
        if entry is None:
            return None
        try:
            with paused_collector():
                return pickle.loads(cache_file.read(entry.blob))
        except Exception:  # noqa: BLE001 - a damaged part is a parse of the tab
            return None

    def carry(self, name: tuple[str, str]) -> None:
        """Keep the last sync's part `name` for the next one, unread by this one (a table of
        parts that this sync had no need to look into)."""
        entry = self.previous.get(name)
        if entry is not None:
            self.current.setdefault(name, entry)

    def keep(self, name: tuple[str, str], key: bytes | None, parse: Any) -> None:
        """Remember this sync's parse of tab `name`, pickled now (before anyone changes it)."""
        if key is None:
            return
        try:
            blob = pickle.dumps(parse, protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError):
            return
        self.current[name] = TabEntry(key, blob)
        self.changed = True

    def result(self, name: str, inputs: Any, compute: Callable[[], T]) -> T:
        """`compute()`, or what it returned at the last sync when `inputs` digest (`value_digest`)
        to the same key: for a pure computation whose result depends on `inputs` alone (the
        caller puts in everything it reads, the language of its words included). Inputs that
        cannot be digested are computed, never guessed."""
        digest = value_digest((self.version, name, inputs))
        key = None if digest is None else b"result:" + digest
        found = self.unchanged(("result", name), key)
        if isinstance(found, tuple) and len(found) == 1:
            self.recalled.append(name)
            return found[0]
        value = compute()
        self.keep(("result", name), key, (value,))
        return value

    def state(self, name: tuple[str, str]) -> Any | None:
        """What the last sync kept under `name` with `keep_state` (whatever this code's reading
        of the workbook, and whatever version of sheetcrm kept it: the caller checks its
        shape), or None."""
        return self.before(name)

    def keep_state(self, name: tuple[str, str], value: Any) -> None:
        """Keep `value` under `name` (`(STATE, ...)`) for the next sync: state a sync leaves
        (`written.Written`), not a parse, so it is kept whatever its key, in a file of its own
        (`written_file`; `save` leaves it out of the memo's), and loaded from a memo of an
        earlier sheetcrm that kept it there (`load`), so plain data only (no class of
        sheetcrm's). The last sync's bytes are carried when it is the same value."""
        assert _is_state(name)
        digest = value_digest(value)
        key = None if digest is None else b"state:" + digest
        entry = self.previous.get(name)
        if key is not None and entry is not None and entry.key == key:
            self.carry(name)
        elif key is not None:
            changed = self.changed
            self.keep(name, key, value)
            self.changed = changed  # kept in its own file (written_file), not the memo's

    def forget(self) -> None:
        """Let go of the entries, and so of the memo file a loaded memo reads them from (kept
        open while a part of it is held, though a save has since renamed another file over
        it); the counts stay. A sync's outcome keeps its memo for the counts alone, so a caller
        that keeps outcomes keeps no file open."""
        self.previous, self.current = {}, {}

    def fresh(self) -> "RowMemo":
        """The memo for a next plan of the same process (a sync read again after a
        conflicting save, or the service's next sync): what this one used or made."""
        return RowMemo(self.version, dict(self.current))

    @property
    def worth_saving(self) -> bool:
        """Whether the memo to save differs from the one loaded: a tab was parsed anew, or the
        workbook lost a tab."""
        return self.changed or _parses(self.current) != _parses(self.previous)


def memo_path(folder: Path, workbook_key: str) -> Path:
    """The memo file of a workbook: beside its lock file, named by the same digest."""
    return folder / (hashlib.sha256(workbook_key.encode()).hexdigest()[:24] + SUFFIX)


def load(path: Path) -> RowMemo:
    """The memo saved at `path`, or an empty one when there is none or it cannot be used
    (unreadable, corrupt, another version of the code): the sync then parses every row."""
    memo = RowMemo()
    # Its time renewed by the load: a no-op sync saves nothing, and `prune` must not take it.
    found = cache_file.load_any(path)
    if found is None:
        return memo
    version, parts = found
    if not all(isinstance(n, tuple) and len(n) == 2 and isinstance(n[1], bytes) for n in parts):
        return memo
    if version != memo.version:
        # Another sheetcrm's parses are no use here, but its state is what sheetcrm wrote, not
        # a reading of it: dropped, a person's value typed over a computed cell would be taken
        # as sheetcrm's and overwritten by the first sync after an upgrade.
        parts = {n: blob for n, blob in parts.items() if _is_state(n[0])}
    memo.previous = {name: TabEntry(key, blob) for (name, key), blob in parts.items()}
    return memo


def _parses(entries: dict[tuple[str, str], TabEntry]) -> set[tuple[str, str]]:
    return {name for name in entries if not _is_state(name)}


def _is_state(name: Any) -> bool:
    return isinstance(name, tuple) and len(name) == 2 and name[0] == STATE


def save(path: Path, memo: RowMemo) -> bool:
    """Write what this sync used or made (`memo.current`) to `path` atomically
    (`cache_file.save`), then prune the folder. False when it cannot be written (a read-only
    cache folder): the next sync parses every row, which is slower, not wrong."""
    # The state has a file of its own (written_file), which a prune by age does not take.
    parts = {(name, e.key): e.blob for name, e in memo.current.items() if not _is_state(name)}
    if not cache_file.save(path, memo.version, parts):
        return False
    prune(path.parent, time.time())
    return True


def prune(folder: Path, now: float, days: float = UNUSED_DAYS) -> list[Path]:
    """Remove the memo files in `folder` that no sync has loaded or saved for `days` days
    (their modification time, which `load` and `save` renew; `now` in seconds since the epoch).
    Only files named as `memo_path` names them, the grid memos beside them
    (`workbook.xlsx_memo`) and the learned model's fits (`sync.fits_path`, renewed by
    `sync.read_fits`), and the temp files of their saves older than `LEFT_DAYS` (a save killed
    before its rename); one that cannot be removed stays. Returns the paths removed.
    Losing a memo only costs a full parse (or decode) of that workbook's next sync, and its fits
    a fit."""
    removed = []
    for entry in [*cache_file.unused(folder, _MEMO_NAME, now, days),
                  *cache_file.unused(folder, _LEFT_NAME, now, min(days, LEFT_DAYS))]:
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed
