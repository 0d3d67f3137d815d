"""The rows a sync already read: each row's parsed record and row-level issues, remembered by
what went into them, so the next sync validates only the rows whose cells changed.

A `RowMemo` is a memo of `table.parse_table`'s per-row work (the pydantic validation of the
row's cells and the team's typed custom columns), the costly part of a read. Its key is a
digest of exactly what that work reads: the row's cells as its columns read them (after the
column-wide reading of numbers and dates, merged blocks and formula errors), the row's
untyped custom cells, and a per-tab salt of the header mapping, the parse context (locale,
stages, base currency, each column's settled locale), the tab title, the language of the
messages and the code that parses (`code_version`). Everything else (which rows are records,
whole-column reading, cross-row and cross-tab checks) runs on every sync as before, so a hit
returns what a parse would have, and a key nothing matches is just a parse.

The sheet row number is not in the key: a row moved by a sort or an insert is still a hit,
and its record and issues get their new row number.

The memo is a value: planning reads and fills it and does no I/O. `load` and `save` are the
shell's (`sync.sync`): a pickle beside sheetcrm's lock file (`lock.lock_dir`), one per
workbook, written atomically (temp file, fsync, rename). A missing, unreadable, corrupt or
other-version file is an empty memo: a full parse, never an error.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pydantic

FORMAT = 1  # bump when what an entry holds changes shape
SUFFIX = ".rows"
# An entry: (record, target, issues, custom cells all readable) for one row (table.Row).
Entry = tuple[Any, Any, tuple[Any, ...], bool]


@cache
def code_version() -> str:
    """A digest of every module, message catalogue and data file of the sheetcrm package and
    the versions of Python and pydantic: records are pickled pydantic models, and any change
    to the code that parses them or to the words of its messages may change what a row reads
    as, so a cache made by other code is never used."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{FORMAT}|{sys.version}|{pydantic.VERSION}".encode())
    package = Path(__file__).parent
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".mo", ".toml")):
        digest.update(str(path.relative_to(package)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class RowMemo:
    """Row key -> Entry from the last sync (`previous`) and what this sync used or made
    (`current`, the next sync's memo). `parsed` counts rows validated by this sync, `reused`
    rows taken from the memo: a no-op sync parses 0 rows, a one-row change 1."""

    version: str = field(default_factory=code_version)
    previous: dict[bytes, Entry] = field(default_factory=dict)
    current: dict[bytes, Entry] = field(default_factory=dict)
    parsed: int = 0
    reused: int = 0

    def salt(self, *parts: Any) -> bytes | None:
        """What a tab's rows share in their keys; None when a part cannot be pickled (then
        the tab's rows are parsed, not memoised)."""
        try:
            return hashlib.blake2b(pickle.dumps((self.version, parts), protocol=5), digest_size=16).digest()
        except (pickle.PicklingError, TypeError, AttributeError):
            return None

    def key(self, salt: bytes, cells: Any) -> bytes | None:
        try:
            payload = pickle.dumps(cells, protocol=5)
        except (pickle.PicklingError, TypeError, AttributeError):
            return None
        return hashlib.blake2b(payload, digest_size=16, key=salt).digest()

    def get(self, key: bytes) -> Entry | None:
        entry = self.current.get(key) or self.previous.get(key)
        if entry is not None:
            self.current[key] = entry
            self.reused += 1
        return entry

    def put(self, key: bytes, entry: Entry) -> None:
        self.current[key] = entry
        self.parsed += 1

    def fresh(self) -> "RowMemo":
        """The memo for a next plan of the same process (a sync read again after a
        conflicting save, or the service's next sync): what this one used or made."""
        return RowMemo(self.version, dict(self.current))


def memo_path(folder: Path, workbook_key: str) -> Path:
    """The memo file of a workbook: beside its lock file, named by the same digest."""
    return folder / (hashlib.sha256(workbook_key.encode()).hexdigest()[:24] + SUFFIX)


def load(path: Path) -> RowMemo:
    """The memo saved at `path`, or an empty one when there is none or it cannot be used
    (unreadable, corrupt, another version of the code): the sync then parses every row."""
    memo = RowMemo()
    # Unpickling makes a few objects per row and no cycles; the collector would walk the
    # growing heap over and over (3x the time of the load itself at 50k rows).
    collecting = gc.isenabled()
    gc.disable()
    try:
        with open(path, "rb") as f:
            version, entries = pickle.load(f)
    except Exception:  # noqa: BLE001 - any damage to a cache file is a full parse, never an error
        return memo
    finally:
        if collecting:
            gc.enable()
    if version == memo.version and isinstance(entries, dict):
        memo.previous = entries
    return memo


def save(path: Path, memo: RowMemo) -> bool:
    """Write what this sync used or made (`memo.current`) to `path` atomically: a temp file
    beside it, fsynced, renamed over it. False when it cannot be written (a read-only cache
    folder): the next sync parses every row, which is slower, not wrong."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    except OSError:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump((memo.version, memo.current), f, protocol=5)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
        return True
    except Exception:  # noqa: BLE001 - a cache that cannot be saved only costs the next sync time
        try:
            os.unlink(temp)
        except OSError:
            pass
        return False
