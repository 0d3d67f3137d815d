"""What the last read of an .xlsx file decoded, so the next read decodes only the sheets that changed.

Decoding is most of an .xlsx read (at 10k leads, 0.9 of a no-op sync's 2.3 s of CPU:
calamine's parse of each sheet's XML, `_grid`'s typing of the cells and `xlsx_scan`'s look for
formulas and formats), and a sync mostly reads a file that changed in one sheet or none:
sheetcrm's own writes patch only the sheets they write (`xlsx_patch`), and a person's edit
in a spreadsheet app is often followed by syncs that change nothing.

A worksheet's Grid is a function of the bytes of the package it was decoded from: its own
sheet part, and the parts every sheet reads through (shared strings, styles and their number
formats, the workbook part with its date system, their relationships). So each sheet's key is
a digest of its own part's stored bytes (compressed, as they are in the file: hashing them
costs ~4 ms for a 5.6 MB file, where inflating them would cost as much as parsing) together
with every other member of the package that is not a worksheet part, the versions of the
code (`parse_cache.code_version`) and of calamine, and this module's `FORMAT`. Any change
anywhere outside the worksheets (an app's save rewrites them all anyway) decodes every sheet
again; a change to one sheet's part decodes that sheet. A key that matches means the same
bytes through the same code: the same Grid, never a guess.

The memo is one pickle per workbook beside the parse memo (`parse_cache.memo_path`, suffix
`.grids`), holding the last read's sheets only (each as what the read made of it, pickled: its
Grid and sheetcrm's own dropdowns on it), written atomically
when a read decoded a sheet anew. A missing, unreadable, corrupt or other-version file is an
empty memo: every sheet is decoded, never an error.
"""

from __future__ import annotations

import hashlib
import pickle
import zipfile
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from sheetcrm import cache_file
from sheetcrm.collector import paused_collector

FORMAT = 1  # bump when what an entry holds changes shape
SUFFIX = ".grids"


@cache
def _version() -> bytes:
    from sheetcrm.parse_cache import code_version

    return f"{FORMAT}|{code_version()}|{metadata.version('python-calamine')}".encode()


def _stored(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """A member's bytes as stored in the package (after its local header), not inflated."""
    start = info.header_offset
    name_len = int.from_bytes(data[start + 26:start + 28], "little")
    extra_len = int.from_bytes(data[start + 28:start + 30], "little")
    begin = start + 30 + name_len + extra_len
    return memoryview(data)[begin:begin + info.compress_size]


def sheet_keys(data: bytes, z: zipfile.ZipFile, parts: list[tuple[str, str | None]]) -> dict[str, bytes]:
    """Each worksheet's key (16 bytes) by tab title, for the package `data` opened as `z` with
    its tabs' (title, part) from `xlsx_patch.sheet_parts`. A tab without a part has no key."""
    sheets = {part for _title, part in parts if part}
    common = hashlib.blake2b(_version(), digest_size=16)
    for info in z.infolist():
        if info.filename not in sheets:
            common.update(b"%s|%d|%d|%d|" % (info.filename.encode(), info.CRC, info.file_size, info.compress_type))
            common.update(_stored(data, info))
    keys = {}
    for title, part in parts:
        if part:
            info = z.getinfo(part)
            digest = common.copy()
            digest.update(b"|sheet|%s|%d|%d|%d|" % (part.encode(), info.CRC, info.file_size, info.compress_type))
            digest.update(_stored(data, info))
            keys[title] = digest.digest()
    return keys


@dataclass
class GridMemo:
    """Sheet key -> what a read made of the sheet (pickled): what the last read decoded
    (`previous`, loaded from `path` when a read starts) and what this read used or made
    (`current`, saved by `finish`). `decoded` names the sheets the last read decoded (tests and benchmarks
    count them)."""

    path: Path | None = None
    previous: dict[bytes, bytes] | None = None
    current: dict[bytes, bytes] = field(default_factory=dict)
    decoded: list[str] = field(default_factory=list)

    def start(self) -> None:
        """Begin a read: the last read's entries (from the file, unless kept in memory) are what
        can be recalled."""
        if self.previous is None:
            self.previous = load(self.path) if self.path is not None else {}
        elif self.current:
            self.previous = self.current
        self.current = {}
        self.decoded = []

    def recall(self, key: bytes | None) -> Any | None:
        """What was made of the bytes of `key` (unpickled afresh: the caller may change it), or
        None."""
        blob = None if key is None or self.previous is None else self.previous.get(key)
        if blob is None:
            return None
        try:
            with paused_collector():
                made = pickle.loads(blob)
        except Exception:  # noqa: BLE001 - a damaged entry is a sheet to decode
            return None
        self.current[key] = blob
        return made

    def keep(self, title: str, key: bytes | None, made: Any) -> None:
        """Remember what was just made of tab `title`'s bytes, pickled now (before anyone changes it)."""
        self.decoded.append(title)
        if key is not None:
            self.current[key] = pickle.dumps(made, protocol=5)

    def finish(self) -> bool:
        """End a read: write this read's entries to `path` when they differ from the last read's,
        then let go of them (the file holds them, and the plan that follows needs the memory
        more: 125 MB at 100k leads); the next read loads them again. False when nothing was
        written (nothing new, or it cannot be written: the next read decodes again). Without a
        path the entries stay in memory for the next read."""
        if self.path is None:
            return False
        saved = self.current.keys() != (self.previous or {}).keys() and save(self.path, self.current)
        self.previous, self.current = None, {}
        return saved


def memo_path(rows_memo: Path) -> Path:
    """The grid memo of the workbook whose parse memo is `rows_memo` (beside it)."""
    return rows_memo.with_suffix(SUFFIX)


def load(path: Path) -> dict[bytes, bytes]:
    """The entries saved at `path`, or none when there is no usable file."""
    entries = cache_file.load(path, _version())
    if not isinstance(entries, dict) or not all(isinstance(k, bytes) and isinstance(v, bytes)
                                                for k, v in entries.items()):
        return {}
    return entries


def save(path: Path, entries: dict[bytes, bytes]) -> bool:
    """Write `entries` to `path` atomically (`cache_file.save`)."""
    return cache_file.save(path, _version(), entries)
