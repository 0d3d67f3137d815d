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
bytes through the same code: the same Grid, never a guess. That holds only where the keys'
map of tabs to parts is calamine's too (`plain`); any other package is decoded whole.

The memo is one pickle per workbook beside the parse memo (`parse_cache.memo_path`, suffix
`.grids`), holding the last read's sheets only (each as what the read made of it, pickled:
its Grid, and sheetcrm's own dropdowns on it with the sqrefs of the team's validations), written atomically when a read decoded a sheet
anew. A missing, unreadable, corrupt or other-version file is an empty memo: every sheet is
decoded, never an error.
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
from sheetcrm.parse_cache import code_version
from sheetcrm.workbook import xlsx_patch

FORMAT = 2  # bump when what an entry holds changes shape
SUFFIX = ".grids"


@cache
def _version() -> bytes:
    return f"{FORMAT}|{code_version()}|{metadata.version('python-calamine')}".encode()


def _stored(data: bytes, info: zipfile.ZipInfo) -> memoryview:
    """A member's bytes as stored in the package, not inflated."""
    begin = xlsx_patch.stored_at(data, info)
    return memoryview(data)[begin:begin + info.compress_size]


def sheet_keys(data: bytes, z: zipfile.ZipFile, parts: list[tuple[str, str | None]],
               names: list[str]) -> dict[str, bytes]:
    """Each worksheet's key (16 bytes) by tab title, for the package `data` opened as `z` with
    its tabs' (title, part) from `xlsx_patch.sheet_parts` and calamine's names of its tabs in
    order (`names`). A tab without a part has no key; no tab has one (every sheet is decoded)
    unless `plain(...)` holds."""
    if not plain(z, parts, names):
        return {}
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


def plain(z: zipfile.ZipFile, parts: list[tuple[str, str | None]], names: list[str]) -> bool:
    """Whether the package maps its tabs to sheet parts the one way both readers of it see:
    the memo's keys follow `xlsx_patch.sheet_parts` (regular expressions over the workbook
    part), calamine its own XML parser, and a tab keyed by another tab's part, or a part every
    sheet reads left out of the shared digest, would be a wrong read. Every file Excel,
    LibreOffice, Google, openpyxl or sheetcrm writes is plain; a package that is not (found by
    an attack on purpose: a `<sheet>` inside an XML comment, two tabs of one title, a second id
    attribute, a title whose character reference the two read differently, a second workbook
    part, a worksheet relationship aimed at the styles) is decoded whole on every read.

    Plain means: the titles are unique and are calamine's names, in order; the workbook part
    is `xl/workbook.xml` (the one calamine reads, whatever the package's relationships say),
    without comments; each `<sheet>` has one id attribute; the sheet parts are distinct and
    none is the workbook part, a relationships part, the content types or the target of any
    other relationship of the workbook."""
    titles = [title for title, _part in parts]
    if titles != names or len(set(titles)) != len(titles):
        return False
    book = xlsx_patch.workbook_part(z)
    if book != "xl/workbook.xml":
        return False
    xml = z.read(book)
    if b"<!--" in xml:
        return False
    for m in xlsx_patch.SHEET_ELEMENT.finditer(xml):
        if sum(1 for k in xlsx_patch.attrs(m[1]) if k == b"id" or k.endswith(b":id")) != 1:
            return False
    sheets = [part for _title, part in parts if part]
    others = {target for kind, target in xlsx_patch.relationships(z, book).values() if not kind.endswith("/worksheet")}
    return len(set(sheets)) == len(sheets) and not any(
        part in others or part == book or part.endswith(".rels") or part == "[Content_Types].xml" for part in sheets)


@dataclass
class GridMemo:
    """Sheet key -> what a read made of the sheet (pickled): what the last read decoded
    (`previous`, loaded from `path` when a read starts) and what this read used or made
    (`current`, saved by `finish`). `decoded` names the sheets the last read decoded (tests
    and benchmarks count them)."""

    path: Path | None = None
    previous: dict[bytes, bytes | cache_file.Stored] | None = None  # a loaded file's parts are read when used
    current: dict[bytes, bytes | cache_file.Stored] = field(default_factory=dict)
    decoded: list[str] = field(default_factory=list)
    changed: bool = False  # this read made an entry anew

    def start(self) -> None:
        """Begin a read: the last read's entries (from the file, unless kept in memory) are what
        can be recalled."""
        if self.previous is None:
            self.previous = load(self.path) if self.path is not None else {}
        elif self.current:
            self.previous = self.current
        self.current = {}
        self.decoded = []
        self.changed = False

    def recall(self, key: bytes | None) -> Any | None:
        """What was made of the bytes of `key` (unpickled afresh: the caller may change it), or
        None."""
        blob = None if key is None or self.previous is None else self.previous.get(key)
        if blob is None:
            return None
        try:
            with paused_collector():
                made = pickle.loads(cache_file.read(blob))
        except Exception:  # noqa: BLE001 - a damaged entry is a sheet to decode
            return None
        self.current[key] = blob
        return made

    def keep(self, title: str, key: bytes | None, made: Any) -> None:
        """Remember what was just made of tab `title`'s bytes, pickled now (before anyone changes it)."""
        self.decoded.append(title)
        if key is not None:
            self.current[key] = pickle.dumps(made, protocol=5)
            self.changed = True

    def finish(self) -> bool:
        """End a read: write this read's entries to `path` when they differ from the last read's,
        then let go of them (the file holds them, and the plan that follows needs the memory
        more: 125 MB at 100k leads); the next read loads them again. False when nothing was
        written (nothing new, or it cannot be written: the next read decodes again). Without a
        path the entries stay in memory for the next read."""
        if self.path is None:
            return False
        # A sheet decoded with a key is new, or its entry was damaged: either way, worth saving.
        saved = (self.changed or self.current.keys() != (self.previous or {}).keys()) and save(self.path, self.current)
        self.previous, self.current, self.changed = None, {}, False
        return saved


def memo_path(rows_memo: Path) -> Path:
    """The grid memo of the workbook whose parse memo is `rows_memo` (beside it)."""
    return rows_memo.with_suffix(SUFFIX)


def load(path: Path) -> dict[bytes, bytes | cache_file.Stored]:
    """The entries saved at `path` (unread: `cache_file.Stored`), or none when there is no
    usable file."""
    entries = cache_file.load(path, _version())
    if entries is None or not all(isinstance(k, bytes) for k in entries):
        return {}
    return dict(entries)


def save(path: Path, entries: dict[bytes, bytes | cache_file.Stored]) -> bool:
    """Write `entries` to `path` atomically (`cache_file.save`)."""
    return cache_file.save(path, _version(), entries)
