"""Writing an .xlsx by patching its package: only the changed cells change.

An .xlsx is a zip of XML parts. A sync changes a few cells of a few tabs, so this module
rewrites only the sheet parts that hold written cells (and, when needed, `styles.xml` and
`workbook.xml`), and copies every other zip member byte for byte, compressed data included.
Within a changed sheet part only the written `<c>` elements are replaced or inserted; every
other cell, formulas and their cached values (`<v>`) included, keeps its exact bytes. So the
next reader (calamine, Excel, LibreOffice) sees every formula's last result, and a 13-cell
change to a 100k-row workbook costs one pass over the changed tabs instead of a full
openpyxl load and save.

The XML is handled with regular expressions over the raw bytes rather than a parser: the
parts are machine-written (SpreadsheetML, ECMA-376 Part 1 §18), the patch needs only
element boundaries and a few attributes, and a streaming scan of a 100 MB sheet part is a
fraction of a second where building a tree is tens of seconds and gigabytes. The patterns
name elements without a prefix; a package whose parts bind the main namespace to one
(`<x:worksheet>`, the OpenXML SDK) is patched as its unprefixed twin (`xlsx_prefix`). Whatever the
scan cannot patch safely (shared or array formula masters being overwritten, a package
without styles) raises `NeedsRebuild`, and the caller falls back to
a full rebuild, unless the package holds what that would lose (`rebuild_would_lose`).

New tabs and charts are added here too (`add_sheets`, `add_charts`): new parts, and entries
appended to workbook.xml, the relationships, [Content_Types].xml and a tab's drawing.

Text is written as inline strings (`t="inlineStr"`), so `sharedStrings.xml` is never
rewritten; numbers as `<v>`; booleans as `t="b"`; dates as serial numbers with a date
format (one `cellXfs` entry is added to `styles.xml` only when a cell needs it and none like it
is there already: a later sync uses it again).

The owned-tab mark is a sheet-scoped defined name, `sheetcrm_tab`, holding the text
"sheetcrm": Excel and LibreOffice keep sheet-scoped names through a save (LibreOffice drops
`hidden`, keeps the name) and they follow the tab through a rename or a move, since they
belong to the sheet, not to its title.
"""

from __future__ import annotations

import copy
import datetime as _dt
import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Collection, Iterable

from sheetcrm.i18n import N_, _
from sheetcrm.report import column_letter as letters_of

from . import CellValue, serial_number
from .numformat import BUILTIN_FORMATS, is_date_format, is_percent_format

MARK_NAME = "sheetcrm_tab"
MARK_VALUE = '"sheetcrm"'
DROPDOWN_MARK = "sheetcrm"
# Shown by the spreadsheet app when a person types a value not in the list; written in the
# language of the sync that writes the dropdown.
DROPDOWN_ERROR = N_("Not one of the listed values; sheetcrm reports it on the Validation tab.")
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"
# Built-in number formats that show a date or a time (ECMA-376 Part 1 §18.8.30, with the
# East Asian ones Excel also treats as dates).
BUILTIN_DATE_FORMATS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])


class NeedsRebuild(Exception):
    """The package holds something this patcher does not change safely; rebuild it whole.
    `tab` and `cell` say where, when one tab (and one cell of it) is to blame: a refused
    rebuild names them, so the person knows what to change. `book`: the cause is the
    workbook's own (its stylesheet), whichever tab was being written: no tab is named."""

    tab: str | None = None
    cell: str | None = None
    book: bool = False

    def __init__(self, reason: str, cell: str | None = None, book: bool = False) -> None:
        super().__init__(reason)
        if cell is not None:
            self.cell = cell
        self.book = book


# -- the package -----------------------------------------------------------------------------

SHEET_ELEMENT = re.compile(rb'<sheet\b([^>]*?)/?>')  # a tab's element in the workbook part
_REL = re.compile(rb'<Relationship\b([^>]*?)/?>')
_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*"([^"]*)"')


def attrs(raw: bytes) -> dict[bytes, bytes]:
    return {m[1]: m[2] for m in _ATTR.finditer(raw)}


def _part(base: str, target: str) -> str:
    """A relationship target as a zip member name (targets are relative to the source's folder)."""
    if target.startswith("/"):
        return target.lstrip("/")
    parts = base.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            parts = parts[:-1]
        elif piece not in (".", ""):
            parts.append(piece)
    return "/".join(parts)


def relationships(z: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: Id -> (Type, member name)."""
    folder, _, name = part.rpartition("/")
    rels_name = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    try:
        xml = z.read(rels_name)
    except KeyError:
        return {}
    out = {}
    for m in _REL.finditer(xml):
        a = attrs(m[1])
        if b"Id" in a and b"Target" in a and a.get(b"TargetMode") != b"External":
            out[a[b"Id"].decode()] = (a.get(b"Type", b"").decode(), _part(part, html.unescape(a[b"Target"].decode())))
    return out


def workbook_part(z: zipfile.ZipFile) -> str:
    for _type, target in relationships(z, "").values():
        if _type.endswith("/officeDocument"):
            return target
    return "xl/workbook.xml"


def sheet_parts(z: zipfile.ZipFile) -> list[tuple[str, str | None]]:
    """Every tab in tab order as (title, member name); None for a chartsheet or a missing part."""
    book = workbook_part(z)
    rels = relationships(z, book)
    out = []
    for m in SHEET_ELEMENT.finditer(z.read(book)):
        a = attrs(m[1])
        title = html.unescape(a.get(b"name", b"").decode())
        rid = next((v for k, v in a.items() if k.endswith(b":id") or k == b"id"), b"").decode()
        kind, target = rels.get(rid, ("", None))
        out.append((title, target if kind.endswith("/worksheet") and target in z.NameToInfo else None))
    return out


def rewrite_zip(data: bytes, changed: dict[str, bytes], removed: Iterable[str] = ()) -> bytes:
    """The package with `changed` members replaced (same name, order and compression method),
    those `changed` names that are not members added at the end, and `removed` ones left out;
    every other member is copied as its original bytes, compressed data included."""
    out = io.BytesIO()
    removed = set(removed)
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for info in zin.infolist():
            if info.filename in removed:
                continue
            if info.filename in changed:
                fresh = zipfile.ZipInfo(info.filename, date_time=info.date_time)
                fresh.external_attr = info.external_attr
                fresh.compress_type = zipfile.ZIP_DEFLATED if info.compress_type != zipfile.ZIP_STORED else zipfile.ZIP_STORED
                # Level 1: a changed 100 MB sheet part compresses ~4x faster than at the default
                # for a file a few percent larger; the next save by an app recompresses anyway.
                zout.writestr(fresh, changed[info.filename], compresslevel=1)
            else:
                _copy_raw(data, info, zout)
        for name in [n for n in changed if n not in zin.NameToInfo and n not in removed]:
            fresh = zipfile.ZipInfo(name, date_time=_dt.datetime.now().timetuple()[:6])
            fresh.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(fresh, changed[name])
    return out.getvalue()


def stored_at(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where member `info`'s stored (compressed) bytes begin in the package `data`: after its
    local header, whose name and extra field lengths may differ from the central directory's."""
    start = info.header_offset
    name_len = int.from_bytes(data[start + 26:start + 28], "little")
    extra_len = int.from_bytes(data[start + 28:start + 30], "little")
    return start + 30 + name_len + extra_len


def _copy_raw(data: bytes, info: zipfile.ZipInfo, zout: zipfile.ZipFile) -> None:
    # zipfile has no raw copy: write the member's local header and compressed bytes as they
    # are, and register the entry so `close()` writes its central directory record.
    start = info.header_offset
    end = stored_at(data, info) + info.compress_size
    if info.flag_bits & 0x08:  # a data descriptor follows, with or without its signature
        end += 16 if data[end:end + 4] == b"PK\x07\x08" else 12
        if info.file_size > 0xFFFFFFFF or info.compress_size > 0xFFFFFFFF:
            raise NeedsRebuild("zip64 data descriptor")  # not for people: an internal reason
    entry = copy.copy(info)
    entry.header_offset = zout.fp.tell()  # type: ignore[union-attr]
    zout.fp.write(data[start:end])  # type: ignore[union-attr]
    zout.filelist.append(entry)
    zout.NameToInfo[entry.filename] = entry
    zout.start_dir = zout.fp.tell()  # type: ignore[attr-defined,union-attr]


# -- cells -----------------------------------------------------------------------------------

_ROW = re.compile(rb'<row\b([^>]*?)(?:/>|>(.*?)</row>)', re.S)
_CELL = re.compile(rb'<c\b([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_REF = re.compile(rb'([A-Z]+)([0-9]+)')
_R_ATTR = re.compile(rb'\sr="[^"]*"')
_S_ATTR = re.compile(rb'\ss="([0-9]+)"')
_SPANS = re.compile(rb'\sspans="[^"]*"')
_XML_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")
# The control characters XML 1.0 cannot hold, as openpyxl's ILLEGAL_CHARACTERS_RE has them, and
# the A1 column conversions and title quoting as openpyxl's utils do them (columns 1-based, A
# to ZZZ, else ValueError): sheetcrm's own, so that reading a workbook (calamine's) or patching
# it never imports openpyxl and the numpy it brings, 0.3 s of CPU at every command's start
# (tests/test_startup_imports.py compares them with openpyxl's).
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")
_COLUMN = re.compile(r"[A-Za-z]{1,3}")
_LAST_LETTERS = 18_278  # ZZZ


def column_index(letters: str) -> int:
    """"A" -> 1, "aa" -> 27; ValueError for anything but one to three letters."""
    if not _COLUMN.fullmatch(letters):
        raise ValueError(f"{letters} is not a valid column name")  # not for people: a damaged package
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def quote_sheetname(title: str) -> str:
    """A tab's title as a formula names it: quoted, its quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def column_letter(col: int) -> str:
    """1 -> "A", 27 -> "AA" (`report.column_letter`); ValueError outside A to ZZZ."""
    if not 1 <= col <= _LAST_LETTERS:
        raise ValueError(f"Invalid column index {col}")  # not for people: a bug, never a cell
    return letters_of(col)


_MASTER = re.compile(rb'<f\b[^>]*\bref="')


@dataclass(frozen=True)
class CellSpec:
    """What one written cell becomes."""

    value: CellValue
    formula: bool = False
    # The number format code sheetcrm wants the cell to show a number or date with
    # (sheetcrm.layout); applied only where the cell shows General or another of sheetcrm's.
    fmt: str | None = None
    bold: bool = False  # the header of a tab this write adds


def xstring(value: str) -> str:
    """Text as a cell's XML must hold it to read back as `value` (ST_Xstring, ECMA-376 Part 1
    §22.9.2.19). xlsx cannot hold control characters at all: dropping them beats failing a
    sync over one pasted note. "_x0041_" in a cell reads as "A" unless its "_" is itself
    escaped. A carriage return must be `_x000D_`: XML reads a bare one as a line feed, so a
    person's "Acme\r\nLtd" copied to a cell came back "Acme\nLtd", and sheetcrm's own cell
    holding it was written again by every sync."""
    return _XML_ESCAPE.sub(r"_x005F_\1", ILLEGAL_CHARACTERS_RE.sub("", value)).replace("\r", "_x000D_")


def text_xml(value: str) -> bytes:
    return html.escape(xstring(value), quote=False).encode()


def _number(v: float | int | Decimal) -> bytes:
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v)).encode()
    return (repr(v) if isinstance(v, float) else str(v)).encode()


# Days from 1899-12-30 (the 1900 system's day 0, as Excel counts it) to 1904-01-01.
DAYS_1904 = 1462
_DATE1904 = re.compile(rb'<(?:\w+:)?workbookPr\b[^>]*\bdate1904\s*=\s*["\'](?:1|true)["\']')


def date1904(workbook_xml: bytes) -> bool:
    """Whether the workbook part says its dates count from 1904 (workbookPr date1904)."""
    return _DATE1904.search(workbook_xml) is not None


class Styles:
    """The cell formats of `styles.xml`, extended only when a date lands on a cell whose
    format does not show dates."""

    _XFS = re.compile(rb'<cellXfs\b[^>]*?(?:/>|>(.*?)</cellXfs>)', re.S)
    _XF = re.compile(rb'<xf\b[^>]*?(?:/>|>.*?</xf>)', re.S)
    _NUMFMTS = re.compile(rb'<numFmts\b[^>]*?(?:/>|>(.*?)</numFmts>)', re.S)
    _NUMFMT = re.compile(rb'<numFmt\b([^>]*?)/?>')

    def __init__(self, xml: bytes | None, ours: Iterable[str] = (), date1904: bool = False) -> None:
        self.xml = xml
        self.changed = False
        # The workbook counts days from 1904-01-01 (Mac Excel's date system, workbookPr
        # date1904; ECMA-376 Part 1 §18.2.28): a date's serial is 1462 days less than in the
        # 1900 system both readers report dates in.
        self.date1904 = date1904
        # The format codes sheetcrm sets: a cell showing one of them may be given another
        # (a Dashboard row whose kind changed); any other code is a person's and stays.
        self.ours = frozenset(ours)
        self._added: dict[tuple[int, str], int] = {}
        if xml is None:
            self.xfs: list[bytes] = []
            self.formats: dict[int, str] = {}
            return
        xfs = self._XFS.search(xml)
        self.xfs = self._XF.findall(xfs[1] or b"") if xfs else []
        fmts = self._NUMFMTS.search(xml)
        self.formats = {}
        for m in self._NUMFMT.finditer(fmts[1] or b"" if fmts else b""):
            a = attrs(m[1])
            if b"numFmtId" in a:
                self.formats[int(a[b"numFmtId"])] = html.unescape(a.get(b"formatCode", b"").decode())

    def _fmt_id(self, xf: int) -> int:
        if 0 <= xf < len(self.xfs):
            return int(attrs(self.xfs[xf]).get(b"numFmtId", b"0"))
        return 0

    def shows_date(self, xf: int) -> bool:
        fmt = self._fmt_id(xf)
        return fmt in BUILTIN_DATE_FORMATS or (fmt in self.formats and is_date_format(self.formats[fmt]))

    def _code_of(self, fmt: int) -> str | None:
        """The code of a number format id: the stylesheet's own, else a built-in one's. openpyxl
        saves `#,##0` (a count), `0.00` and `#,##0.00` as built-in ids 3, 2 and 4, with no code in
        the file: read as none, a Dashboard count cell never took the money code of the row
        that moved onto it (5,500 shown without its "$")."""
        return self.formats.get(fmt) or (BUILTIN_FORMATS.get(fmt) if fmt else None)

    def may_restyle(self, xf: int | None, code: str, owned: bool = True) -> bool:
        """Whether a cell of style `xf` may be given the number format `code`: it shows
        General, or another of sheetcrm's codes; never a format a person chose. On a people's
        tab (`owned` False) a built-in format is the person's: Excel's Number buttons give
        `#,##0` and `0.00` as built-in ids, so read as sheetcrm's count and seconds codes, a
        Weighted Amount a person showed without decimals took "#,##0.00" back when it changed."""
        fmt = 0 if xf is None else self._fmt_id(xf)
        if fmt == 0:
            return True
        have = self._code_of(fmt) if owned else self.formats.get(fmt)
        return have is not None and have != code and have in self.ours

    def hides_percent(self, xf: int | None, code: str) -> bool:
        """Whether a cell of style `xf`, given a percentage's fraction under the percent code
        `code`, would show another number: a format of a person's that is no percentage (`0`,
        `0.00`, `#,##0`) showed a Probability % of 20 % as "0" or "0.20", where a date
        there gets a date format (`cell_xml`), as Google's first fill does for both."""
        if xf is None or not is_percent_format(code):
            return False
        have = self._code_of(self._fmt_id(xf))
        return have is not None and not is_percent_format(have)

    def stale(self, wanted: set[str], builtin: bool = False) -> frozenset[int]:
        """The cell formats (indexes into cellXfs) showing one of sheetcrm's codes (`ours`)
        that is not in `wanted`: what a cell sheetcrm formatted under another base currency or
        language shows. Built-in ids only with `builtin` (no currency or language changes
        theirs, and a person's tab is full of them)."""
        known = {**({i: c for i, c in BUILTIN_FORMATS.items() if i} if builtin else {}), **self.formats}
        codes = {fmt for fmt, code in known.items() if code in self.ours and code not in wanted}
        return frozenset(i for i in range(len(self.xfs)) if self._fmt_id(i) in codes) if codes else frozenset()

    def code(self, xf: int) -> str | None:
        """The number format code a cell format shows (None: General)."""
        return self._code_of(self._fmt_id(xf))

    def date_style(self, base: int, code: str) -> int:
        """A cell format like `base` but showing `code`; added to the stylesheet once."""
        if (base, code) in self._added:
            return self._added[(base, code)]
        if self.xml is None or not self.xfs:
            raise NeedsRebuild("no cell formats to extend", book=True)  # not for people
        fmt = 0 if code == "General" else next((i for i, c in self.formats.items() if c == code), None)
        if fmt is None:
            fmt = max([163, *self.formats]) + 1
            self.formats[fmt] = code
            self._add_numfmt(fmt, code)
        xf = self.xfs[base] if 0 <= base < len(self.xfs) else self.xfs[0]
        xf = re.sub(rb'\s(numFmtId|applyNumberFormat)="[^"]*"', b"", xf)
        xf = xf.replace(b"<xf", f'<xf numFmtId="{fmt}" applyNumberFormat="1"'.encode(), 1)
        # The same format added by an earlier sync (or made by the app) is used again: a new
        # entry at every sync that writes a date or a number grew cellXfs by a few entries a
        # sync, towards Excel's limit of 64,000 cell formats, past which it drops formatting.
        same = self._same_xf(xf)
        if same is not None:
            self._added[(base, code)] = same
            return same
        self.xfs.append(xf)
        m = self._XFS.search(self.xml)
        assert m is not None
        inner = b"".join(self.xfs)
        self.xml = self.xml[:m.start()] + f'<cellXfs count="{len(self.xfs)}">'.encode() + inner + b"</cellXfs>" \
            + self.xml[m.end():]
        self.changed = True
        self._added[(base, code)] = len(self.xfs) - 1
        return len(self.xfs) - 1

    def _same_xf(self, xf: bytes) -> int | None:
        """The index of a cell format in cellXfs equal to `xf` (the same attributes in any
        order, the same children), or None."""
        def key(x: bytes) -> tuple[frozenset, bytes]:
            head = re.match(rb'<xf\b([^>]*?)(/?)>', x)
            assert head is not None
            a = attrs(head[1])
            # LibreOffice writes booleans as "true"/"false", Excel and sheetcrm as "1"/"0".
            a = {k: {b"true": b"1", b"false": b"0"}.get(v, v) for k, v in a.items()}
            return frozenset(a.items()), b"" if head[2] else re.sub(rb'</xf>$', b"", x[head.end():])
        want = key(xf)
        return next((i for i, have in enumerate(self.xfs) if key(have) == want), None)

    _FONTS = re.compile(rb'<fonts\b[^>]*?(?:/>|>(.*?)</fonts>)', re.S)
    _FONT = re.compile(rb'<font\b[^>]*?(?:/>|>.*?</font>)', re.S)

    def bold_style(self, base: int) -> int:
        """A cell format like `base` in a bold font; fonts and formats added once."""
        if (base, "<b>") in self._added:
            return self._added[(base, "<b>")]
        fonts = self._FONTS.search(self.xml or b"")
        if self.xml is None or not self.xfs or fonts is None:
            raise NeedsRebuild("no fonts to extend", book=True)  # not for people: an internal reason
        items = self._FONT.findall(fonts[1] or b"")
        xf = self.xfs[base] if 0 <= base < len(self.xfs) else self.xfs[0]
        font_id = int(attrs(xf).get(b"fontId", b"0"))
        font = items[font_id] if 0 <= font_id < len(items) else b"<font/>"
        if re.search(rb'<b\s*/>|<b\s+val="(1|true)"', font) is None:
            font = re.sub(rb'<b\b[^>]*/>', b"", font)
            font = re.sub(rb'^<font\b([^>]*?)\s*/>$', rb'<font\1></font>', font)
            font = re.sub(rb'^(<font\b[^>]*>)', rb'\1<b/>', font)
        items.append(font)
        head = re.sub(rb'\scount="[^"]*"', b"", re.match(rb'<fonts\b[^>]*?(?=/?>)', fonts[0])[0])
        self.xml = self.xml[:fonts.start()] + head + f' count="{len(items)}">'.encode() + b"".join(items) \
            + b"</fonts>" + self.xml[fonts.end():]
        xf = re.sub(rb'\s(fontId|applyFont)="[^"]*"', b"", xf)
        xf = xf.replace(b"<xf", f'<xf fontId="{len(items) - 1}" applyFont="1"'.encode(), 1)
        self.xfs.append(xf)
        m = self._XFS.search(self.xml)
        assert m is not None
        self.xml = self.xml[:m.start()] + f'<cellXfs count="{len(self.xfs)}">'.encode() + b"".join(self.xfs) \
            + b"</cellXfs>" + self.xml[m.end():]
        self.changed = True
        self._added[(base, "<b>")] = len(self.xfs) - 1
        return len(self.xfs) - 1

    def _add_numfmt(self, fmt: int, code: str) -> None:
        assert self.xml is not None
        entry = f'<numFmt numFmtId="{fmt}" formatCode="{html.escape(code)}"/>'.encode()
        m = self._NUMFMTS.search(self.xml)
        if m is None:  # numFmts comes first in a stylesheet
            head = re.search(rb'<styleSheet\b[^>]*>', self.xml)
            if head is None:
                raise NeedsRebuild("stylesheet without a root", book=True)  # not for people
            block = b'<numFmts count="1">' + entry + b"</numFmts>"
            self.xml = self.xml[:head.end()] + block + self.xml[head.end():]
            return
        inner = self._NUMFMT.findall(m[1] or b"")
        body = b"".join(f.group(0) for f in self._NUMFMT.finditer(m[1] or b"")) + entry
        self.xml = self.xml[:m.start()] + f'<numFmts count="{len(inner) + 1}">'.encode() + body + b"</numFmts>" \
            + self.xml[m.end():]


def cell_xml(ref: bytes, spec: CellSpec, old_attrs: bytes, styles: Styles, owned: bool = False) -> bytes | None:
    """The `<c>` element for a written cell; the old cell's format is kept. None: no element.

    `owned`: the cell is on one of sheetcrm's own tabs. There a number written into a cell that
    shows a date gets its format's General twin: its rows move (a Value column holding dates
    in some rows, numbers in others), and a kept date format would read 75 back as 1900-03-15.
    A people's cell always keeps its format."""
    m = _S_ATTR.search(old_attrs)
    style = int(m[1]) if m else None
    if spec.bold:
        style = styles.bold_style(style or 0)
    v = spec.value
    head = b'<c r="' + ref + b'"'
    if spec.formula:
        text = str(v)[1:] if str(v).startswith("=") else str(v)
        return head + _s(style) + b"><f>" + text_xml(text) + b"</f></c>"
    if v is None or v == "":
        return head + _s(style) + b"/>" if style is not None else None
    if isinstance(v, bool):
        return head + _s(style) + b' t="b"><v>' + (b"1" if v else b"0") + b"</v></c>"
    if spec.fmt is not None and isinstance(v, (int, float, Decimal, _dt.date)) \
            and (styles.may_restyle(style, spec.fmt, owned) or styles.hides_percent(style, spec.fmt)):
        style = styles.date_style(style or 0, spec.fmt)
    if isinstance(v, (int, float, Decimal)):
        if owned and style is not None and spec.fmt is None and styles.shows_date(style):
            style = styles.date_style(style, "General")
        return head + _s(style) + b"><v>" + _number(v) + b"</v></c>"
    if isinstance(v, _dt.date):
        if style is None or not styles.shows_date(style):
            timed = isinstance(v, _dt.datetime) and v.time() != _dt.time(0)
            style = styles.date_style(style or 0, DATETIME_FORMAT if timed else DATE_FORMAT)
        serial = serial_number(v) - (DAYS_1904 if styles.date1904 else 0)
        return head + _s(style) + b"><v>" + _number(serial) + b"</v></c>"
    return head + _s(style) + b' t="inlineStr"><is><t xml:space="preserve">' + text_xml(str(v)) + b"</t></is></c>"


def restyle_sheet(xml: bytes, blocks: dict[int, list[tuple[int, int | None, str]]], styles: Styles,
                  stale: frozenset[int]) -> bytes:
    """The sheet part with each number cell of `blocks` (column -> (first row, last row or
    None, code)) whose format is one of `stale` (`Styles.stale`) given the block's code, its
    font, fill and border kept; formulas and text as they are. One regular-expression pass to
    find whether any cell shows a stale format at all, a second over the cells when one does."""
    quick = re.compile(rb'\ss="(?:' + b"|".join(str(i).encode() for i in sorted(stale)) + rb')"')
    if not quick.search(xml):
        return xml
    out: list[bytes] = []
    pos = 0
    for cm in _CELL.finditer(xml):
        m = _S_ATTR.search(cm[1])
        if m is None or int(m[1]) not in stale:
            continue
        a = attrs(cm[1])
        ref = _REF.fullmatch(a.get(b"r", b""))
        if ref is None or a.get(b"t", b"n") != b"n" or (cm[2] and b"<f" in cm[2]):
            continue  # a cell with no reference, text, a boolean, an error or a formula: as it is
        col, row = column_index(ref[1].decode()), int(ref[2])
        code = next((c for first, last, c in blocks.get(col, ()) if first <= row and (last is None or row <= last)),
                    None)
        if code is None or styles.code(int(m[1])) == code:
            continue
        start = cm.start(1) + m.start()
        out += [xml[pos:start], f' s="{styles.date_style(int(m[1]), code)}"'.encode()]
        pos = cm.start(1) + m.end()
    return b"".join(out) + xml[pos:] if out else xml


def _s(style: int | None) -> bytes:
    return b"" if style is None else f' s="{style}"'.encode()


def _ref(row: int, col: int) -> bytes:
    return f"{column_letter(col)}{row}".encode()


@dataclass
class Bounds:
    rows: tuple[int, int] | None = None
    cols: tuple[int, int] | None = None

    def add(self, row: int, col: int) -> None:
        self.rows = (min(self.rows[0], row), max(self.rows[1], row)) if self.rows else (row, row)
        self.cols = (min(self.cols[0], col), max(self.cols[1], col)) if self.cols else (col, col)


def patch_sheet(xml: bytes, cells: dict[tuple[int, int], CellSpec], styles: Styles, owned: bool = False) -> bytes:
    """The sheet part with `cells` (1-based (row, col)) written and everything else as it was
    (`owned`: one of sheetcrm's own tabs, see `cell_xml`).

    Raises NeedsRebuild when a written cell is the master of a shared or array formula (its
    dependents would lose their formula)."""
    m = re.search(rb'<sheetData\s*/>|<sheetData\b[^>]*>', xml)
    if m is None:
        raise NeedsRebuild("no <sheetData>")
    by_row: dict[int, dict[int, CellSpec]] = {}
    for (r, c), spec in cells.items():
        by_row.setdefault(r, {})[c] = spec
    todo = sorted(by_row)
    bounds = Bounds()
    if m[0].endswith(b"/>"):
        start = end = m.end()
        opening, closing = b"<sheetData>", b"</sheetData>"
    else:
        start = m.end()
        end = xml.find(b"</sheetData>", start)
        if end < 0:
            raise NeedsRebuild("unterminated <sheetData>")
        opening, closing = m[0], b""
    out: list[bytes] = [xml[:m.start()], opening]
    pos, row_no, i = start, 0, 0
    if todo:
        for rm in _ROW.finditer(xml, start, end):
            a = attrs(rm[1])
            row_no = int(a[b"r"]) if b"r" in a else row_no + 1
            while i < len(todo) and todo[i] < row_no:
                out += [xml[pos:rm.start()], _new_row(todo[i], by_row[todo[i]], styles, bounds, owned)]
                pos, i = rm.start(), i + 1
            if i < len(todo) and todo[i] == row_no:
                out += [xml[pos:rm.start()], _patch_row(row_no, rm, by_row[row_no], styles, bounds, owned)]
                pos, i = rm.end(), i + 1
            if i == len(todo):
                break
    out.append(xml[pos:end])
    for r in todo[i:]:
        out.append(_new_row(r, by_row[r], styles, bounds, owned))
    out += [closing, xml[end:]]
    patched = b"".join(out)
    return _dimension(patched, bounds)


def _new_row(row: int, specs: dict[int, CellSpec], styles: Styles, bounds: Bounds, owned: bool = False) -> bytes:
    body = []
    for col in sorted(specs):
        cell = cell_xml(_ref(row, col), specs[col], b"", styles, owned)
        if cell is not None:
            body.append(cell)
            bounds.add(row, col)
    return f'<row r="{row}">'.encode() + b"".join(body) + b"</row>" if body else b""


def _patch_row(row: int, rm: re.Match, specs: dict[int, CellSpec], styles: Styles, bounds: Bounds,
               owned: bool = False) -> bytes:
    cells: list[tuple[int, bytes]] = []
    col = 0
    for cm in _CELL.finditer(rm[2] or b""):
        a = attrs(cm[1])
        ref = _REF.fullmatch(a.get(b"r", b""))
        col = column_index(ref[1].decode()) if ref else col + 1
        if col in specs:
            if cm[2] and _MASTER.search(cm[2]):
                raise NeedsRebuild("a shared or array formula's master cell is written",  # not for people
                                   cell=_ref(row, col).decode())
            cell = cell_xml(_ref(row, col), specs[col], cm[1], styles, owned)
        else:
            # Refs made explicit: a cell inserted before one without `r` would shift it.
            cell = cm[0] if ref else b'<c r="' + _ref(row, col) + b'"' + cm[0][2:]
        if cell is not None:
            cells.append((col, cell))
    have = {c for c, _ in cells}
    for col, spec in specs.items():
        if col not in have:
            cell = cell_xml(_ref(row, col), spec, b"", styles, owned)
            if cell is not None:
                cells.append((col, cell))
    cells.sort(key=lambda t: t[0])
    for col, cell in cells:
        if col in specs:
            bounds.add(row, col)
    # `spans` is only an optimisation hint, and may no longer hold.
    head = b"<row" + _SPANS.sub(b"", rm[1])
    if _HIDDEN.search(head) and not _HELD.search(rm[2] or b"") and any(
            spec.value not in (None, "") for spec in specs.values()):
        # An empty row a person hid (the rows below a table, hidden to tidy the sheet) that
        # now gets a record sheetcrm adds (a converted lead's account, a form's lead): shown,
        # or the new record would be there unseen, and typed in again by hand.
        head = _HIDDEN.sub(b"", head)
    if b' r="' not in head:
        head += f' r="{row}"'.encode()
    return head + b">" + b"".join(c for _, c in cells) + b"</row>"


_HIDDEN = re.compile(rb'\shidden="(?:1|true)"')
_HELD = re.compile(rb'<(?:v|is|f)\b')  # a cell holding a value, text or formula


_DIMENSION = re.compile(rb'<dimension\b[^>]*?\bref="([^"]*)"[^>]*?/>')


def _dimension(xml: bytes, bounds: Bounds) -> bytes:
    m = _DIMENSION.search(xml)
    if m is None or bounds.rows is None or bounds.cols is None:
        return xml
    refs = [_REF.fullmatch(p) for p in m[1].split(b":")]
    if not all(refs):
        return xml
    rows = [int(r[2]) for r in refs]  # type: ignore[index]
    cols = [column_index(r[1].decode()) for r in refs]  # type: ignore[index]
    r0, r1 = min(rows + [bounds.rows[0]]), max(rows + [bounds.rows[1]])
    c0, c1 = min(cols + [bounds.cols[0]]), max(cols + [bounds.cols[1]])
    ref = f"{column_letter(c0)}{r0}:{column_letter(c1)}{r1}".encode()
    if ref == m[1]:
        return xml
    return xml[:m.start(1)] + ref + xml[m.end(1):]


# -- column widths -----------------------------------------------------------------------------

_COLS = re.compile(rb'<cols>(.*?)</cols>|<cols\s*/>', re.S)
_COL = re.compile(rb'<col\b([^>]*?)/>')
_BEFORE_COLS = re.compile(rb'<sheetData\b')


def set_widths(xml: bytes, wanted: dict[int, tuple[float, bool]]) -> bytes | None:
    """The sheet part with column widths set: `wanted` maps a 1-based column to (width in
    characters, whether sheetcrm owns the tab). A column with a width of its own keeps it,
    unless the tab is sheetcrm's and the width is narrower. None when nothing changes.

    Widths live in `<cols>` before `<sheetData>` (ECMA-376 Part 1 §18.3.1.13), as ranges
    `min..max`; a range is split where one of its columns changes."""
    m = _COLS.search(xml)
    ranges: list[tuple[int, int, dict[bytes, bytes]]] = []
    for c in _COL.finditer(m[1] or b"" if m else b""):
        a = attrs(c[1])
        if b"min" in a and b"max" in a:
            ranges.append((int(a[b"min"]), int(a[b"max"]), a))
    changed = False
    for col, (chars, owned) in sorted(wanted.items()):
        at = next((i for i, (lo, hi, _) in enumerate(ranges) if lo <= col <= hi), None)
        if at is None:
            ranges.append((col, col, {b"min": b"%d" % col, b"max": b"%d" % col, b"width": _width(chars),
                                      b"customWidth": b"1"}))
            changed = True
            continue
        lo, hi, a = ranges[at]
        have = float(a.get(b"width", b"0") or 0)
        if have and not (owned and have < chars):
            continue
        pieces = [(lo, col - 1, dict(a))] if lo < col else []
        pieces.append((col, col, {**a, b"width": _width(chars), b"customWidth": b"1"}))
        if col < hi:
            pieces.append((col + 1, hi, dict(a)))
        ranges[at:at + 1] = pieces
        changed = True
    if not changed:
        return None
    ranges.sort(key=lambda t: t[0])
    body = b"".join(b"<col" + b"".join(b' %s="%s"' % (k, v) for k, v in
                                       {**a, b"min": b"%d" % lo, b"max": b"%d" % hi}.items()) + b"/>"
                    for lo, hi, a in ranges)
    block = b"<cols>" + body + b"</cols>"
    if m is not None:
        return xml[:m.start()] + block + xml[m.end():]
    data = _BEFORE_COLS.search(xml)
    if data is None:
        raise NeedsRebuild("no <sheetData>")
    return xml[:data.start()] + block + xml[data.start():]


def _width(chars: float) -> bytes:
    return (b"%.2f" % chars).rstrip(b"0").rstrip(b".")


# -- what a sheet part says about its cells ----------------------------------------------------

_MERGE = re.compile(rb'<mergeCell\b[^>]*?\bref="([A-Z]+)([0-9]+):([A-Z]+)([0-9]+)"')
_V_TEXT = re.compile(rb'<v>(.*?)</v>', re.S)
_IS = re.compile(rb'<is>(.*?)</is>', re.S)
_PHONETIC = re.compile(rb'<rPh\b.*?</rPh>', re.S)
_T_TEXT = re.compile(rb'<t\b[^>]*?(?:/>|>(.*?)</t>)', re.S)
_SI = re.compile(rb'<si>(.*?)</si>|<si/>', re.S)
_UNESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


@dataclass(frozen=True)
class RawCell:
    """A cell as its XML holds it: type attribute, <v> text, inline string, whether a formula."""

    t: bytes | None
    v: bytes | None
    inline: bytes | None
    formula: bool


def raw_cells(xml: bytes, wanted: set[tuple[int, int]]) -> dict[tuple[int, int], RawCell]:
    """The cells at `wanted` (1-based (row, col)) that exist in the sheet part."""
    rows = sorted({r for r, _ in wanted})
    out: dict[tuple[int, int], RawCell] = {}
    m = re.search(rb'<sheetData\b[^>]*>', xml)
    if not rows or m is None or m[0].endswith(b"/>"):
        return out
    end = xml.find(b"</sheetData>", m.end())
    row_no, i = 0, 0
    for rm in _ROW.finditer(xml, m.end(), end if end >= 0 else len(xml)):
        a = attrs(rm[1])
        row_no = int(a[b"r"]) if b"r" in a else row_no + 1
        while i < len(rows) and rows[i] < row_no:
            i += 1
        if i == len(rows):
            break
        if rows[i] != row_no:
            continue
        col = 0
        for cm in _CELL.finditer(rm[2] or b""):
            ca = attrs(cm[1])
            ref = _REF.fullmatch(ca.get(b"r", b""))
            col = column_index(ref[1].decode()) if ref else col + 1
            if (row_no, col) in wanted:
                body = cm[2] or b""
                v = _V_TEXT.search(body)
                inline = _IS.search(body)
                out[(row_no, col)] = RawCell(ca.get(b"t"), v[1] if v else None, inline[1] if inline else None,
                                             b"<f" in body)
    return out


def _text(raw: bytes) -> str:
    return _UNESCAPE.sub(lambda m: chr(int(m[1], 16)), html.unescape(raw.decode("utf-8")))


def rich_text(raw: bytes) -> str:
    """The text of an <si> or <is> body: its <t> runs, without phonetic guides."""
    return "".join(_text(t[1] or b"") for t in _T_TEXT.finditer(_PHONETIC.sub(b"", raw)))


class SharedStrings:
    """`sharedStrings.xml`, parsed only as far as the highest index asked for."""

    def __init__(self, xml: bytes | None) -> None:
        self._iter = _SI.finditer(xml or b"")
        self._items: list[str] = []

    def __getitem__(self, index: int) -> str | None:
        while len(self._items) <= index:
            m = next(self._iter, None)
            if m is None:
                return None
            self._items.append(rich_text(m[1] or b""))
        return self._items[index]


def decode(cell: RawCell | None, shared: Callable[[], SharedStrings]) -> CellValue:
    """A cell's value as calamine reports it, for the common cases: text, numbers (dates as
    their serial numbers, which compare equal), booleans. Anything else comes back as text."""
    if cell is None:
        return None
    if cell.t == b"inlineStr":
        return rich_text(cell.inline or b"") if cell.inline is not None else None
    if cell.v is None:
        return None
    if cell.t == b"s":
        return shared()[int(cell.v)] if cell.v.strip().isdigit() else None
    if cell.t == b"b":
        return cell.v.strip() == b"1"
    if cell.t in (None, b"n"):
        try:
            return float(cell.v)
        except ValueError:
            return _text(cell.v)
    return _text(cell.v)


def merged_hidden(xml: bytes) -> Callable[[int, int], bool]:
    """Whether a 1-based (row, col) is a hidden part of a merged block (not its first cell)."""
    blocks = [(int(m[2]), column_index(m[1].decode()), int(m[4]), column_index(m[3].decode()))
              for m in _MERGE.finditer(xml)] if b"<mergeCell" in xml else []

    def hidden(row: int, col: int) -> bool:
        return any(r0 <= row <= r1 and c0 <= col <= c1 and (row, col) != (r0, c0) for r0, c0, r1, c1 in blocks)

    return hidden


# -- cached values of formulas (for a package that went through openpyxl) -----------------------

_FORMULA_CELL = re.compile(rb'<c\b([^>]*?)>(\s*<f\b.*?)</c>', re.S)
_V = re.compile(rb'<v>(.*?)</v>|<v\s*/>', re.S)
_T_ATTR = re.compile(rb'\st="[^"]*"')


def cached_values(xml: bytes) -> dict[bytes, tuple[bytes | None, bytes]]:
    """ref -> (t attribute, <v> element) of every formula cell that holds a last result."""
    out = {}
    if b"<f" not in xml:
        return out
    for m in _FORMULA_CELL.finditer(xml):
        v = _V.search(m[2])
        if v is None or v[1] is None:
            continue
        a = attrs(m[1])
        if b"r" in a:
            out[a[b"r"]] = (a.get(b"t"), v[0])
    return out


def restore_cached_values(xml: bytes, cached: dict[bytes, tuple[bytes | None, bytes]], skip: set[bytes]) -> bytes:
    """Put the cached results back into formula cells that lost them (openpyxl writes a
    formula without its value); cells in `skip` were written by this plan and keep theirs."""
    if not cached or b"<f" not in xml:
        return xml

    def put(m: re.Match) -> bytes:
        a = attrs(m[1])
        ref = a.get(b"r")
        if ref is None or ref not in cached or ref in skip:
            return m[0]
        t, v = cached[ref]
        body = _V.sub(b"", m[2])
        head = _T_ATTR.sub(b"", m[1]) + (b' t="' + t + b'"' if t else b"")
        return b"<c" + head + b">" + body + v + b"</c>"

    return _FORMULA_CELL.sub(put, xml)


def restore_formula_values(original: bytes, saved: bytes, written: dict[str, set[bytes]]) -> bytes:
    """`saved` (a rebuild of `original`) with every formula cell's last result put back,
    matched by tab title and cell reference; cells `written` by the plan are left as saved."""
    with zipfile.ZipFile(io.BytesIO(original)) as z:
        cached = {title: cached_values(z.read(part)) for title, part in sheet_parts(z) if part}
    changed = {}
    with zipfile.ZipFile(io.BytesIO(saved)) as z:
        for title, part in sheet_parts(z):
            if part and cached.get(title):
                xml = z.read(part)
                fixed = restore_cached_values(xml, cached[title], written.get(title, set()))
                if fixed != xml:
                    changed[part] = fixed
    return rewrite_zip(saved, changed) if changed else saved


# -- dropdowns -------------------------------------------------------------------------------

_VALIDATIONS = re.compile(rb'<dataValidations\b[^>]*?(?:/>|>(.*?)</dataValidations>)', re.S)
_VALIDATION = re.compile(rb'<dataValidation\b([^>]*?)(?:/>|>(.*?)</dataValidation>)', re.S)
_FORMULA1 = re.compile(rb'<formula1>(.*?)</formula1>', re.S)
_X14_VALIDATIONS = re.compile(rb'<(\w+):dataValidations\b.*?</\1:dataValidations>', re.S)
_X14_SQREF = re.compile(rb'<(?:\w+:)?sqref>([^<]*)</(?:\w+:)?sqref>')
MAX_ROW, MAX_COLUMN = 1_048_576, 16_384  # an xlsx sheet's last row and column (XFD)
# Elements that follow <dataValidations> in a worksheet (ECMA-376 Part 1 §18.3.1.99).
_AFTER_VALIDATIONS = re.compile(rb'<(hyperlinks|printOptions|pageMargins|pageSetup|headerFooter|rowBreaks|colBreaks|'
                                rb'customProperties|cellWatches|ignoredErrors|smartTags|drawing|legacyDrawing|'
                                rb'legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|tableParts|'
                                rb'extLst)\b|</worksheet>')


def dropdown_xml(sqref: str, formula: str) -> bytes:
    # A warning, not a stop: sheetcrm also reads aliases and any capitalisation, and the
    # Validation tab reports what it cannot read.
    return (f'<dataValidation type="list" errorStyle="warning" allowBlank="1" showErrorMessage="1" '  # not for people
            f'errorTitle="{DROPDOWN_MARK}" error="{html.escape(_(DROPDOWN_ERROR))}" sqref="{sqref}">'
            f'<formula1>{html.escape(formula, quote=False)}</formula1></dataValidation>').encode()


def set_dropdowns(xml: bytes, wanted: list[tuple[str, str]]) -> bytes | None:
    """The sheet part with sheetcrm's dropdowns (errorTitle "sheetcrm") replaced by `wanted`,
    as (sqref, formula1), less the cells a validation of the team's covers (`leave_theirs`);
    the team's own validations stay. None when nothing changes."""
    m = _VALIDATIONS.search(xml)
    items = list(_VALIDATION.finditer(m[1] or b"")) if m else []
    ours = _ours(items)
    wanted = leave_theirs(wanted, _theirs(xml, items, ours))
    if _described(ours) == sorted(wanted):
        return None
    kept = [v[0] for v in items if v not in ours]
    fresh = [dropdown_xml(sqref, formula) for sqref, formula in wanted]
    body = kept + fresh
    block = (f'<dataValidations count="{len(body)}">'.encode()  # not for people: XML
             + b"".join(body) + b"</dataValidations>") if body else b""
    if m is not None:
        return xml[:m.start()] + block + xml[m.end():]
    if not block:
        return None
    sheet_data_end = max(xml.find(b"</sheetData>"), xml.find(b"<sheetData/>"), 0)
    after = _AFTER_VALIDATIONS.search(xml, sheet_data_end)
    if after is None:
        raise NeedsRebuild("no place for dataValidations")  # not for people: an internal reason
    return xml[:after.start()] + block + xml[after.start():]


def own_dropdowns(xml: bytes) -> list[tuple[str, str]]:
    """sheetcrm's dropdowns on a sheet part (or its part after `</sheetData>`), as sorted
    (sqref, formula1): what `set_dropdowns` compares the wanted ones with."""
    return found_dropdowns(xml)[0]


def found_dropdowns(xml: bytes) -> tuple[list[tuple[str, str]], list[str]]:
    """sheetcrm's dropdowns on a sheet part (or its tail), as `own_dropdowns` gives them, and
    the sqrefs of every other validation on it (the team's, `leave_theirs`)."""
    m = _VALIDATIONS.search(xml)
    items = list(_VALIDATION.finditer(m[1] or b"")) if m else []
    ours = _ours(items)
    return _described(ours), _theirs(xml, items, ours)


def _theirs(xml: bytes, items: list[re.Match], ours: list[re.Match]) -> list[str]:
    """The sqrefs of the validations that are not sheetcrm's: in <dataValidations>, and in the
    Excel 2010 extension (x14:dataValidations in extLst) that holds a list drawn from another
    tab."""
    out = [attrs(v[1]).get(b"sqref", b"").decode() for v in items if v not in ours]
    for block in _X14_VALIDATIONS.finditer(xml):
        out.extend(html.unescape(ref.decode()) for ref in _X14_SQREF.findall(block[0]))
    return [ref for ref in out if ref.strip()]


def leave_theirs(wanted: list[tuple[str, str]], theirs: list[str]) -> list[tuple[str, str]]:
    """`wanted` dropdowns (sqref of one column's rows, formula1) without the cells a team's
    validation covers (`theirs`, sqrefs): those keep the team's rule, since Excel reports a
    file whose validations overlap as damaged and repairs it by dropping them. A dropdown left
    no cell is left out; one that keeps some covers what is left, as a list of ranges."""
    if not theirs:
        return list(wanted)
    areas = [_area(ref) for refs in theirs for ref in refs.split()]
    out = []
    for sqref, formula in wanted:
        col, first, last = _area(sqref)[0], _area(sqref)[1], _area(sqref)[3]
        taken = sorted((top, bottom) for left, top, right, bottom in areas if left <= col <= right)
        spans, row = [], first
        for top, bottom in taken:
            if top > row:
                spans.append((row, min(top - 1, last)))
            row = max(row, bottom + 1)
            if row > last:
                break
        if row <= last:
            spans.append((row, last))
        letter = column_letter(col)
        refs = [f"{letter}{a}" if a == b else f"{letter}{a}:{letter}{b}" for a, b in spans if a <= b]
        if refs:
            out.append((" ".join(refs), formula))
    return out


def _area(ref: str) -> tuple[int, int, int, int]:
    """(first column, first row, last column, last row), 1-based, of an A1 range; a whole
    column or row reaches the sheet's edge, and a range that cannot be read covers the sheet."""
    from openpyxl.utils import range_boundaries

    try:
        left, top, right, bottom = range_boundaries(ref.replace("$", ""))
    except (ValueError, TypeError):
        return 1, 1, MAX_COLUMN, MAX_ROW  # unreadable: it may cover any cell, so it covers all
    return left or 1, top or 1, right or MAX_COLUMN, bottom or MAX_ROW


def _ours(items: list[re.Match]) -> list[re.Match]:
    return [v for v in items if attrs(v[1]).get(b"errorTitle") == DROPDOWN_MARK.encode()]


def _described(ours: list[re.Match]) -> list[tuple[str, str]]:
    return sorted((attrs(v[1]).get(b"sqref", b"").decode(), html.unescape(_formula1(v))) for v in ours)


def _formula1(v: re.Match) -> str:
    f = _FORMULA1.search(v[2] or b"")
    return f[1].decode() if f else ""


# -- charts ----------------------------------------------------------------------------------

_TITLE = re.compile(rb'<(?:\w+:)?title>(.*?)</(?:\w+:)?title>', re.S)
_TEXT_RUN = re.compile(rb'<(?:\w+:)?t>(.*?)</(?:\w+:)?t>', re.S)


def chart_titles(z: zipfile.ZipFile, sheet_part: str) -> set[str]:
    """The titles of the charts drawn on a sheet (a chart's first <title> is its own)."""
    titles = set()
    for kind, drawing in relationships(z, sheet_part).values():
        if not kind.endswith("/drawing") or drawing not in z.NameToInfo:
            continue
        for kind2, chart in relationships(z, drawing).values():
            if kind2.endswith("/chart") and chart in z.NameToInfo:
                m = _TITLE.search(z.read(chart))
                if m:
                    titles.add(html.unescape(b"".join(_TEXT_RUN.findall(m[1])).decode()))
    return titles


# A chart's data references: a <c:numRef>/<c:strRef> holding its formula (<c:f>) and,
# when an app saved it, the values that formula last gave (a cache).
_CHART_REF = re.compile(rb'<((?:\w+:)?)(numRef|strRef)>(.*?)</\1\2>', re.S)
_CHART_F = re.compile(rb'<((?:\w+:)?)f>(.*?)</\1f>', re.S)
_CELL_OR_COLUMN = re.compile(r"^\$?([A-Z]+)\$?([0-9]+)(?::\$?([A-Z]+)\$?([0-9]+))?$")


def fit_chart_ranges(data: bytes, wanted: dict[str, list[tuple[str, tuple[int, ...], int, int]]]) -> bytes | None:
    """The package with sheetcrm's charts following their rows, or None when every one already
    does. `wanted` maps a tab's title to (chart title, columns (categories first, then
    series, 1-based), first row, last row) for each chart sheetcrm draws there.

    A chart is taken as sheetcrm's only when it sits on one of sheetcrm's (marked) tabs or was
    drawn by sheetcrm on a team's tab (its drawing names it `DRAWN_NAME`, as `add_charts`
    does), its title is one of the tab's and every reference it holds is a cell of row first-1
    (a series' name) or a one-column block of those columns, all of them on that tab; anything
    else, a person's chart or one a person changed, keeps its bytes. Its blocks are then set to
    first..last rows, and the values they last gave (a cache Excel and LibreOffice rebuild on
    open) dropped."""
    if not wanted:
        return None
    pkg = Package(data)
    parts = sheet_parts(pkg.zip)
    marked = marked_indices(pkg.zip.read(workbook_part(pkg.zip)))
    for i, (tab, sheet) in enumerate(parts):
        if tab not in wanted or not sheet:
            continue
        specs = {title: (cols, first, last) for title, cols, first, last in wanted[tab] if last >= first}
        for kind, drawing in relationships(pkg.zip, sheet).values():
            if not kind.endswith("/drawing") or drawing not in pkg:
                continue
            # On a team's tab a chart of the same title and columns may be a person's own.
            drawn = None if i in marked else _drawn_charts(pkg.read(drawing))
            for rid, (kind2, chart) in relationships(pkg.zip, drawing).items():
                if not kind2.endswith("/chart") or chart not in pkg or (drawn is not None and rid not in drawn):
                    continue
                xml = pkg.read(chart)
                m = _TITLE.search(xml)
                title = html.unescape(b"".join(_TEXT_RUN.findall(m[1])).decode()) if m else None
                if title in specs:
                    fitted = _fit_chart(xml, tab, *specs[title])
                    if fitted is not None:
                        pkg.write(chart, fitted)
    return pkg.bytes() if pkg.changed else None


def _fit_chart(xml: bytes, tab: str, cols: tuple[int, ...], first: int, last: int) -> bytes | None:
    """One chart part with its blocks set to rows first..last; None when it is not sheetcrm's
    (see `fit_chart_ranges`) or already fits."""
    refs = list(_CHART_REF.finditer(xml))
    if len(refs) != len(_CHART_F.findall(xml)):
        return None  # a reference outside numRef/strRef (a multi-level one, say): not ours
    # Excel leaves the quotes out of a plain title; openpyxl always writes them.
    prefixes = {quote_sheetname(tab) + "!", tab + "!"}
    columns = {column_letter(c) for c in cols}
    blocks: list[tuple[re.Match, str]] = []
    for ref in refs:
        f = _CHART_F.search(ref[3])
        text = html.unescape(f[2].decode()).strip() if f else ""
        prefix = next((p for p in prefixes if text.startswith(p)), None)
        if prefix is None or not (cell := _CELL_OR_COLUMN.match(text[len(prefix):])):
            return None
        col, row, col2, _row2 = cell.groups()
        if col not in columns or (col2 is not None and col2 != col):
            return None
        if col2 is None:
            if int(row) != first - 1:
                return None
            continue
        blocks.append((ref, f"{prefix}${col}${first}:${col}${last}"))
    if {formula.rsplit("!", 1)[1].split("$")[1] for _, formula in blocks} != columns:
        return None
    out, at, changed = [], 0, False
    for ref, formula in blocks:
        f = _CHART_F.search(ref[3])
        if html.unescape(f[2].decode()).strip() == formula:
            continue
        ns = ref[1]
        out += [xml[at:ref.start()], b"<%s%s><%sf>%s</%sf></%s%s>" % (
            ns, ref[2], f[1], html.escape(formula, quote=False).encode(), f[1], ns, ref[2])]
        at, changed = ref.end(), True
    return b"".join([*out, xml[at:]]) if changed else None


# -- the owned-tab mark ------------------------------------------------------------------------

_DEFINED_NAMES = re.compile(rb'<definedNames\b[^>]*?(?:/>|>(.*?)</definedNames>)', re.S)
_DEFINED_NAME = re.compile(rb'<definedName\b([^>]*?)(?:/>|>(.*?)</definedName>)', re.S)
_AFTER_NAMES = re.compile(rb'<(calcPr|oleSize|customWorkbookViews|pivotCaches|smartTagPr|smartTagTypes|webPublishing|'
                          rb'fileRecoveryPr|webPublishObjects|extLst)\b|</workbook>')


def marked_indices(workbook_xml: bytes) -> set[int]:
    """0-based tab positions that carry sheetcrm's mark."""
    m = _DEFINED_NAMES.search(workbook_xml)
    out = set()
    for d in _DEFINED_NAME.finditer(m[1] or b"" if m else b""):
        a = attrs(d[1])
        if a.get(b"name", b"").lower() == MARK_NAME.encode() and a.get(b"localSheetId", b"").isdigit():
            out.add(int(a[b"localSheetId"]))
    return out


def marked_tabs(data: bytes) -> set[str]:
    """Titles of the tabs marked as sheetcrm's own in an .xlsx package."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        tabs = sheet_parts(z)
        marked = marked_indices(z.read(workbook_part(z)))
    return {tabs[i][0] for i in marked if i < len(tabs)}


def mark_tabs(workbook_xml: bytes, indices: Iterable[int]) -> bytes | None:
    """workbook.xml with the mark added on the tabs at `indices` (0-based); None if all had it."""
    missing = sorted(set(indices) - marked_indices(workbook_xml))
    if not missing:
        return None
    fresh = b"".join(f'<definedName name="{MARK_NAME}" localSheetId="{i}" hidden="1">'  # not for people: XML
                     f"{html.escape(MARK_VALUE)}</definedName>".encode() for i in missing)
    return _add_names(workbook_xml, fresh)


def hide_tabs(workbook_xml: bytes, titles: Iterable[str]) -> bytes | None:
    """workbook.xml with `state="hidden"` on the <sheet> of each of `titles`; None if all were
    hidden already (a "veryHidden" tab stays as it is)."""
    wanted, changed = set(titles), False

    def hide(m: re.Match) -> bytes:
        nonlocal changed
        a = attrs(m[1])
        if html.unescape(a.get(b"name", b"").decode()) not in wanted or a.get(b"state") in (b"hidden", b"veryHidden"):
            return m[0]
        changed = True
        raw = re.sub(rb'\sstate="[^"]*"', b"", m[1]).rstrip()
        return b"<sheet" + raw + b' state="hidden"' + (b"/>" if m[0].endswith(b"/>") else b">")

    out = SHEET_ELEMENT.sub(hide, workbook_xml)
    return out if changed else None


def _formula_refs(xml: bytes) -> set[bytes]:
    """The references of a sheet part's formula cells."""
    return {a[b"r"] for m in _FORMULA_CELL.finditer(xml) if b"r" in (a := attrs(m[1]))} if b"<f" in xml else set()


def drop_stale_calc_chain(before: bytes, after: bytes) -> bytes:
    """`after` (a write of `before`) without its calculation chain when the write took a formula
    from a cell the chain names: a value written over a formula of sheetcrm's own tab, rows
    removed under the team's formulas (`xlsx_rows`). Excel checks the chain (`calcChain.xml`,
    which Excel writes beside every workbook with formulas) on opening and finds such a cell
    "unreadable content": it asks to repair the file, then removes it itself. A chain is only
    the order of the last calculation, rebuilt by Excel when missing (and the write asks for a
    full one anyway, `recalc_on_load`), so it is left out, as Excel's own guidance says; a
    write that only added formulas or values keeps it byte for byte."""
    with zipfile.ZipFile(io.BytesIO(after)) as z:
        book = workbook_part(z)
        rels = relationships(z, book)
        rid, chain = next(((i, t) for i, (k, t) in rels.items() if k.endswith("/calcChain")), (None, None))
        if rid is None or chain not in z.NameToInfo:
            return after
        with zipfile.ZipFile(io.BytesIO(before)) as zb:
            old = {i.filename: i.CRC for i in zb.infolist()}
            stale = any(part in old and old[part] != z.getinfo(part).CRC
                        and _formula_refs(zb.read(part)) - _formula_refs(z.read(part))
                        for _, part in sheet_parts(z) if part)
        if not stale:
            return after
        rels_part = rels_name(book)
        rels_xml = re.sub(rb'<Relationship\b[^>]*\bId="' + re.escape(rid.encode()) + rb'"[^>]*/>', b"", z.read(rels_part))
        types = re.sub(rb'<Override\b[^>]*PartName="/' + re.escape(chain.encode()) + rb'"[^>]*/>', b"",
                       z.read(_CONTENT_TYPES))
    return rewrite_zip(after, {rels_part: rels_xml, _CONTENT_TYPES: types}, removed=[chain])


_CALC_PR = re.compile(rb'<calcPr\b([^>]*?)(/?)>')


def recalc_on_load(workbook_xml: bytes) -> bytes | None:
    """workbook.xml asking the app that opens it to recalculate every formula
    (`<calcPr fullCalcOnLoad="1">`, ECMA-376 Part 1, 18.2.2); None if it asks already. A
    patch writes values without recalculating: a team's formula reading a written cell keeps
    the result it had when an app last saved, and an app that trusts the stored results
    (Excel for a file of its own calculation engine, LibreOffice by default) would show that
    old total. openpyxl's writer, which the patch replaced, set the same flag on every save."""
    m = _CALC_PR.search(workbook_xml)
    if m is not None:
        a = attrs(m[1])
        if a.get(b"fullCalcOnLoad") in (b"1", b"true"):
            return None
        rest = re.sub(rb'\sfullCalcOnLoad="[^"]*"', b"", m[1]).rstrip()
        return workbook_xml[:m.start()] + b"<calcPr" + rest + b' fullCalcOnLoad="1"' + m[2] + b">" + \
            workbook_xml[m.end():]
    at = _AFTER_NAMES.search(workbook_xml)  # with no calcPr, the first element after where it goes
    if at is None:
        return None  # not a workbook part this patcher knows: left as it is
    return workbook_xml[:at.start()] + b'<calcPr fullCalcOnLoad="1"/>' + workbook_xml[at.start():]


# -- one patch -------------------------------------------------------------------------------

@dataclass
class Patch:
    """The changes to one package: cells by tab, sheetcrm's dropdowns by tab, marks by title."""

    cells: dict[str, dict[tuple[int, int], CellSpec]] = field(default_factory=dict)
    dropdowns: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    marks: set[str] = field(default_factory=set)
    # Column widths by tab, for the tabs whose cells the patch writes (see `set_widths`), and
    # the number format codes sheetcrm sets (`Styles.ours`).
    widths: dict[str, dict[int, tuple[float, bool]]] = field(default_factory=dict)
    ours: set[str] = field(default_factory=set)
    hide: set[str] = field(default_factory=set)   # titles of tabs to hide (`hide_tabs`)
    # The number formats the plan gives, by tab, column and block (first row, last row or None,
    # code): a cell there still showing another of sheetcrm's codes (`ours`: the base currency
    # or the language changed since) is given this one, written or not (`restyle_sheet`).
    restyle: dict[str, dict[int, list[tuple[int, int | None, str]]]] = field(default_factory=dict)
    # Filled by `apply`: (tab, table, first row, last row) of the rows written just below an
    # Excel table's Total Row, which the table does not take in (`grow_tables`).
    below_totals: list[tuple[str, str, int, int]] = field(default_factory=list)


def apply(data: bytes, patch: Patch, preloaded: dict[str, bytes] | None = None) -> bytes | None:
    """The package with the patch applied; None when it changes nothing. `preloaded` holds
    sheet parts the caller already decompressed, by member name."""
    changed: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        tabs = sheet_parts(z)
        parts = {title: part for title, part in tabs}
        styles_part = next((t for k, t in relationships(z, workbook_part(z)).values() if k.endswith("/styles")), None)
        styles = Styles(z.read(styles_part) if styles_part and styles_part in z.NameToInfo else None, patch.ours,
                        date1904(z.read(workbook_part(z))))
        marked = marked_indices(z.read(workbook_part(z)))
        owned = {title for i, (title, _) in enumerate(tabs) if i in marked} | patch.marks
        # Cell formats showing a code of sheetcrm's that no column wants now: a base currency
        # or language changed. Their cells are looked for on the tabs written anyway and on
        # sheetcrm's own (small, or written every sync: Sync Log), never by opening a large
        # people's tab for it; such a tab's computed cells get theirs with its next write.
        stale = styles.stale({code for blocks in patch.restyle.values() for col in blocks.values()
                              for _, _, code in col})
        swept = {t for t in patch.restyle if t in owned} if stale else set()
        # A tab of blocks of rows (the Dashboard's rows, the Forecast's months above its
        # calibration): a row whose kind changed keeps its cell when the value is the same (0
        # won deals, then 0 won revenue after a row above came), and with it the old kind's
        # code ("0" for money, "0.0%" for a count) while the code is still wanted elsewhere.
        # There every cell showing another of sheetcrm's codes than its block's gets its block's.
        blocked = {t for t in patch.restyle if t in owned and any(
            last is not None for col in patch.restyle[t].values() for _, last, _ in col)}
        every = styles.stale(set(), builtin=True) if blocked else frozenset()
        filters: list[tuple[int, tuple[int, int, int, int], tuple[int, int, int, int]]] = []
        for title in {*patch.cells, *patch.dropdowns, *swept, *blocked}:
            part = parts.get(title)
            if part is None:
                continue
            xml = original = (preloaded or {}).get(part) or z.read(part)
            try:
                if patch.cells.get(title):
                    xml = patch_sheet(xml, patch.cells[title], styles, title in owned)
                if title in blocked and every:
                    xml = restyle_sheet(xml, patch.restyle[title], styles, every)
                elif stale and patch.restyle.get(title):
                    xml = restyle_sheet(xml, patch.restyle[title], styles, stale)
                if title in patch.dropdowns:
                    xml = set_dropdowns(xml, patch.dropdowns[title]) or xml
            except NeedsRebuild as e:
                if not e.book:
                    e.tab = e.tab or title
                raise
            if patch.cells.get(title) and patch.widths.get(title):
                xml = set_widths(xml, patch.widths[title]) or xml
            if xml != original:
                changed[part] = xml
            if patch.cells.get(title):
                grown, below, formulas = grow_tables(z, part, original, patch.cells[title], patch.restyle.get(title, {}))
                changed.update(grown)
                if formulas:
                    changed[part] = patch_sheet(changed.get(part, xml), formulas, styles, title in owned)
                patch.below_totals.extend((title, *b) for b in below)
                grown_filter = grow_filter(z, part, original, changed.get(part, xml), patch.cells[title],
                                           patch.restyle.get(title, {}))
                if grown_filter is not None:
                    changed[part], old_range, new_range = grown_filter
                    filters.append((next(i for i, (t, _) in enumerate(tabs) if t == title), old_range, new_range))
        book = workbook_part(z)
        for index, old_range, new_range in filters:
            named = grow_filter_name(changed.get(book) or z.read(book), index, old_range, new_range)
            if named is not None:
                changed[book] = named
        if patch.marks:
            marked = mark_tabs(changed.get(book) or z.read(book),
                               [i for i, (title, _) in enumerate(tabs) if title in patch.marks])
            if marked is not None:
                changed[book] = marked
        if patch.hide:
            hidden = hide_tabs(changed.get(book) or z.read(book), patch.hide)
            if hidden is not None:
                changed[book] = hidden
        if any(part in changed for title, part in tabs if patch.cells.get(title)):
            recalc = recalc_on_load(changed.get(book) or z.read(book))
            if recalc is not None:
                changed[book] = recalc
        if styles.changed:
            assert styles_part is not None and styles.xml is not None
            changed[styles_part] = styles.xml
    if not changed:
        return None
    return rewrite_zip(data, changed)


# -- Excel tables ----------------------------------------------------------------------------

_TABLE_START = re.compile(rb'<(?:\w+:)?table\b([^>]*)>')
_AUTO_FILTER = re.compile(rb'(<(?:\w+:)?autoFilter\b[^>]*?\bref=")([^"]*)(")')
_RANGE = re.compile(r'\$?([A-Z]+)\$?([0-9]+):\$?([A-Z]+)\$?([0-9]+)')


def _bounds(ref: str) -> tuple[int, int, int, int] | None:
    """(first row, first col, last row, last col) of an "A1:G9" range, 1-based."""
    m = _RANGE.fullmatch(ref)
    if m is None:
        return None
    return int(m[2]), column_index(m[1]), int(m[4]), column_index(m[3])


def grow_tables(z: zipfile.ZipFile, part: str, original: bytes, cells: dict[tuple[int, int], CellSpec],
                ours: Collection[int] = ()
                ) -> tuple[dict[str, bytes], list[tuple[str, int, int]], dict[tuple[int, int], CellSpec]]:
    """The table parts of sheet `part` whose range grows over the rows this write fills just
    below it (member name -> new XML), the rows filled so just below a table's Total Row
    ((table name, first row, last row): its totals leave them out), and the formulas of the
    table's calculated columns for the rows it grows over ((row, col) -> formula cell; none
    where the write puts a value). A row sheetcrm adds to a tab formatted as an Excel
    table (a converted lead's account, contact, deal) belongs in the table, as a row a person
    types there does (Excel grows the table then): outside it, the team's formulas over the
    table (`=SUM(Deals[Amount])`), its filters, sorts and pivots would leave it out. A row
    grows the table only when it held nothing in the table's columns before and the write
    puts a value there; a table with a Total Row does not grow (a row below its totals is
    outside them in Excel too), nor one that would then overlap another table. A calculated
    column (`=[@Amount]*0.1` filled down the table) gets its formula in the new rows, as
    Excel fills it in a row a person adds: left empty, `=SUM(Deals[Commission])` would leave
    the new deal out, with nothing to say so. Likewise the columns this write heads just right
    of a table (sheetcrm's computed columns on a team's table) join it, as Excel takes in a
    column a person heads there: outside it, sorting the table by its header buttons moves the
    team's cells and leaves the computed ones where they were, so each row would show another
    deal's Probability % and Weighted Amount until the next sync. A column joins when this
    write heads it (its header cell held nothing before) or when it is one of `ours` (the
    columns sheetcrm writes on the tab, headed by an earlier sync that left it outside), and
    its name is no other column's in the table."""
    strings = next((t for k, t in relationships(z, workbook_part(z)).values() if k.endswith("/sharedStrings")), None)
    loaded: list[SharedStrings] = []

    def shared() -> SharedStrings:
        if not loaded:
            loaded.append(SharedStrings(z.read(strings) if strings in z.NameToInfo else None))
        return loaded[0]

    tables = {}
    for kind, target in relationships(z, part).values():
        if kind.endswith("/table") and target in z.NameToInfo:
            xml = z.read(target)
            m = _TABLE_START.search(xml)
            bounds = _bounds(attrs(m[1]).get(b"ref", b"").decode()) if m else None
            if m is not None and bounds is not None:
                tables[target] = (xml, m, bounds)
    out: dict[str, bytes] = {}
    below: list[tuple[str, int, int]] = []
    formulas: dict[tuple[int, int], CellSpec] = {}
    for target, (xml, m, (r0, c0, r1, c1)) in tables.items():
        last = _rows_below(original, cells, (r0, c0, r1, c1))
        if last > r1 and int(attrs(m[1]).get(b"totalsRowCount", b"0") or 0) > 0:
            below.append((html.unescape(attrs(m[1]).get(b"displayName", b"").decode()), r1 + 1, last))
            last = r1
        if any(other != target and b[0] <= last and r1 < b[2] and b[1] <= c1 and c0 <= b[3]
               for other, (_, _, b) in tables.items()):
            last = r1
        headers = _new_headers(xml[m.end():], original, cells, (r0, c0, last, c1), attrs(m[1]),
                               [b for other, (_, _, b) in tables.items() if other != target], ours, shared)
        if last == r1 and not headers:
            continue
        right = c1 + len(headers)
        old = attrs(m[1])[b"ref"]
        ref = f"{column_letter(c0)}{r0}:{column_letter(right)}{last}".encode()
        head = m[0].replace(b'ref="' + old + b'"', b'ref="' + ref + b'"', 1)
        body = xml[m.end():]
        # The table's filter spans it whole (LibreOffice) or without its Total Row (Excel): left
        # at the old columns beside a Total Row, the new columns had no filter button and the
        # filter no longer matched the table's columns.
        totals = int(attrs(m[1]).get(b"totalsRowCount", b"0") or 0)
        spans = {(r0, c0, r1, c1): ref, (r0, c0, r1 - totals, c1):
                 f"{column_letter(c0)}{r0}:{column_letter(right)}{last - totals}".encode()}
        body = _AUTO_FILTER.sub(lambda f: f[1] + spans.get(_bounds(f[2].decode()), f[2]) + f[3], body, count=1)
        if headers:
            body = _add_table_columns(body, headers)
        out[target] = xml[:m.start()] + head + body
        first = r0 + int(attrs(m[1]).get(b"headerRowCount", b"1") or 1)
        for i, col in enumerate(_TABLE_COLUMN.finditer(body)):
            calc = _CALCULATED.search(col[1] or b"")
            if calc is None or b"array" in attrs(calc[1]) and attrs(calc[1])[b"array"] in (b"1", b"true"):
                continue
            text = "=" + html.unescape(calc[2].decode())
            from openpyxl.formula.translate import Translator  # a calculated column grown: rare

            for r in range(r1 + 1, last + 1):
                if cells.get((r, c0 + i), CellSpec(None)).value in (None, ""):
                    # Written relative to the table's first row; A1 references move to the row.
                    at = f"{column_letter(c0 + i)}"
                    formulas[(r, c0 + i)] = CellSpec(Translator(text, origin=f"{at}{first}").translate_formula(f"{at}{r}"),
                                                     formula=True)
    return out, below, formulas


def _rows_below(original: bytes, cells: dict[tuple[int, int], CellSpec], bounds: tuple[int, int, int, int]) -> int:
    """The last row of a range grown over the rows this write fills just below it, each
    holding nothing in the range's columns before (`grow_tables`)."""
    r0, c0, r1, c1 = bounds
    filled = {r for (r, c), spec in cells.items() if r > r1 and c0 <= c <= c1 and spec.value not in (None, "")}
    last = r1
    while last + 1 in filled:
        last += 1
    if last > r1:
        held = raw_cells(original, {(r, c) for r in range(r1 + 1, last + 1) for c in range(c0, c1 + 1)})
        taken = [r for (r, _), cell in held.items()
                 if cell.formula or cell.v not in (None, b"") or cell.inline is not None]
        last = min(taken, default=last + 1) - 1  # up to the first row that held something
    return last


_SHEET_FILTER = re.compile(rb'<(?:\w+:)?autoFilter\b([^>]*?)\bref="([^"]*)"')
_SORT_STATE = re.compile(rb'(<(?:\w+:)?sortState\b[^>]*?\bref=")([^"]*)(")')


def grow_filter(z: zipfile.ZipFile, part: str, original: bytes, xml: bytes,
                cells: dict[tuple[int, int], CellSpec], ours: Collection[int] = ()
                ) -> tuple[bytes, tuple[int, int, int, int], tuple[int, int, int, int]] | None:
    """The sheet part `xml` (as this write leaves it) with its own AutoFilter (a filter set on
    the sheet, not a table's) grown as `grow_tables` grows a table: over the rows this write
    fills just below it and the columns of sheetcrm's it heads, or headed before, just right of
    it; with the filter's old and new (first row, first col, last row, last col). None when it
    does not grow. Sorting through the filter's buttons sorts its range alone: outside it, the
    computed columns would stay where they were while the team's cells moved, each row showing
    another deal's Probability % and Weighted Amount with nothing to say so. The filter never
    grows over a table or a column of the team's."""
    end = max(original.find(b"</sheetData>"), 0)
    m = _SHEET_FILTER.search(original, end)
    bounds = _bounds(m[2].decode()) if m else None
    if m is None or bounds is None:
        return None
    tables = []
    for kind, target in relationships(z, part).values():
        if kind.endswith("/table") and target in z.NameToInfo:
            t = _TABLE_START.search(z.read(target))
            b = _bounds(attrs(t[1]).get(b"ref", b"").decode()) if t else None
            if b is not None:
                tables.append(b)
    r0, c0, r1, c1 = bounds
    last = _rows_below(original, cells, bounds)
    if any(b[0] <= last and r1 < b[2] and b[1] <= c1 and c0 <= b[3] for b in tables):
        last = r1
    strings = next((t for k, t in relationships(z, workbook_part(z)).values() if k.endswith("/sharedStrings")), None)
    headers = _new_headers(b"", original, cells, (r0, c0, last, c1), {}, tables, ours,
                           lambda: SharedStrings(z.read(strings) if strings in z.NameToInfo else None))
    if last == r1 and not headers:
        return None
    grown = (r0, c0, last, c1 + len(headers))
    now = _SHEET_FILTER.search(xml, max(xml.find(b"</sheetData>"), 0))
    if now is None or _bounds(now[2].decode()) != bounds:
        return None
    ref = _a1(grown).encode()
    xml = xml[:now.start(2)] + ref + xml[now.end(2):]
    # The sort the filter last applied (Excel's Reapply) names its range: the data rows (Excel),
    # or the header with them (openpyxl, pandas). Either grows alike; left narrow, Reapply sorted
    # the team's columns alone and each row showed another deal's computed cells.
    sorts = {(r0 + 1, c0, r1, c1): (r0 + 1, c0, last, grown[3]), bounds: grown}
    xml = _SORT_STATE.sub(lambda s: s[1] + (_a1(sorts[b]).encode() if (b := _bounds(s[2].decode())) in sorts
                                            else s[2]) + s[3], xml)
    return xml, bounds, grown


def _a1(bounds: tuple[int, int, int, int]) -> str:
    r0, c0, r1, c1 = bounds
    return f"{column_letter(c0)}{r0}:{column_letter(c1)}{r1}"


_FILTER_NAME = re.compile(r"^(.*!)(\$?[A-Z]+\$?[0-9]+:\$?[A-Z]+\$?[0-9]+)$", re.S)


def grow_filter_name(workbook_xml: bytes, index: int, old: tuple[int, int, int, int],
                     new: tuple[int, int, int, int]) -> bytes | None:
    """workbook.xml with the hidden name of tab `index`'s AutoFilter (`_xlnm._FilterDatabase`,
    which Excel and LibreOffice read the filter's range from too) naming `new` where it named
    `old`; None when there is no such name."""
    def grow(m: re.Match) -> bytes:
        a = attrs(m[1])
        if a.get(b"name") != b"_xlnm._FilterDatabase" or a.get(b"localSheetId") != str(index).encode() or m[2] is None:
            return m[0]
        text = html.unescape(m[2].decode())
        f = _FILTER_NAME.match(text.strip())
        if f is None or _bounds(f[2]) != old:
            return m[0]
        r0, c0, r1, c1 = new
        text = f"{f[1]}${column_letter(c0)}${r0}:${column_letter(c1)}${r1}"
        return m[0][:m.start(2) - m.start()] + html.escape(text, quote=False).encode() + m[0][m.end(2) - m.start():]

    out = _DEFINED_NAME.sub(grow, workbook_xml)
    return None if out == workbook_xml else out


def _new_headers(body: bytes, original: bytes, cells: dict[tuple[int, int], CellSpec],
                 bounds: tuple[int, int, int, int], table: dict[bytes, bytes],
                 others: list[tuple[int, int, int, int]], ours: Collection[int],
                 shared: Callable[[], SharedStrings]) -> list[str]:
    """The names of sheetcrm's columns just right of a table (`grow_tables`), left to right:
    each headed by this write in the table's header row, whose cell held nothing before, or
    one of `ours` (the columns sheetcrm writes on the tab) already headed there, as a sync
    before tables took them in left them; named as no column of the table is (Excel's names
    are unique, in any case), and over no other table."""
    r0, c0, last, c1 = bounds
    if int(table.get(b"headerRowCount", b"1") or 1) < 1:
        return []
    names = {html.unescape(col[2].decode()).casefold() for col in _TABLE_COLUMN_NAME.finditer(body)}
    end = c1 + 1
    while end <= MAX_COLUMN and (isinstance(cells.get((r0, end), CellSpec(None)).value, str) or end in ours):
        end += 1
    held = raw_cells(original, {(r0, c) for c in range(c1 + 1, end)})
    out: list[str] = []
    for col in range(c1 + 1, end):
        cell = held.get((r0, col))
        had = cell is not None and (cell.formula or cell.v not in (None, b"") or cell.inline is not None)
        written = cells.get((r0, col), CellSpec(None)).value
        name = (written if not had else None) if (r0, col) in cells else (decode(cell, shared) if had else None)
        if not isinstance(name, str) or not name.strip() or name.casefold() in names or (cell is not None and cell.formula) \
                or any(b[0] <= last and r0 <= b[2] and b[1] <= col <= b[3] for b in others):
            break
        out.append(name)
        names.add(name.casefold())
    return out


def _add_table_columns(body: bytes, names: list[str]) -> bytes:
    """A table part's body (after its start tag) with a <tableColumn> appended for each name."""
    cols = _TABLE_COLUMNS.search(body)
    if cols is None:
        return body
    ids = [int(a[b"id"]) for c in _TABLE_COLUMN_START.finditer(body) if (a := attrs(c[1])).get(b"id", b"").isdigit()]
    prefix = cols[1]
    fresh = b"".join(b"<" + prefix + b'tableColumn id="' + str(max(ids, default=0) + i).encode() + b'" name="'
                     + html.escape(name).encode() + b'"/>' for i, name in enumerate(names, 1))
    start = _COUNT.sub(lambda c: c[1] + str(int(c[2]) + len(names)).encode() + c[3], cols[0], count=1)
    end = body.find(b"</" + prefix + b"tableColumns>", cols.end())
    if end < 0:
        return body
    return body[:cols.start()] + start + body[cols.end():end] + fresh + body[end:]


_TABLE_COLUMN = re.compile(rb'<(?:\w+:)?tableColumn\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?tableColumn>)', re.S)
_TABLE_COLUMN_START = re.compile(rb'<(?:\w+:)?tableColumn\b([^>]*?)/?>')
_TABLE_COLUMN_NAME = re.compile(rb'<(?:\w+:)?tableColumn\b[^>]*?\sname=(["\'])(.*?)\1')
_TABLE_COLUMNS = re.compile(rb'<((?:\w+:)?)tableColumns\b[^>]*>')
_COUNT = re.compile(rb'(\scount=")([0-9]+)(")')
_CALCULATED = re.compile(rb'<(?:\w+:)?calculatedColumnFormula\b([^>]*)>(.*?)</(?:\w+:)?calculatedColumnFormula>', re.S)


# -- new tabs and charts -----------------------------------------------------------------------

_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_REL_TYPE = _NS_R + "/"
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_CT_DRAWING = "application/vnd.openxmlformats-officedocument.drawing+xml"
_CT_CHART = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
_CONTENT_TYPES = "[Content_Types].xml"
_EMPTY_RELS = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' \
              b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"></Relationships>'
# Elements that follow <drawing> in a worksheet (ECMA-376 Part 1 §18.3.1.99).
_AFTER_DRAWING = re.compile(rb'<(legacyDrawing|legacyDrawingHF|drawingHF|picture|oleObjects|controls|webPublishItems|'
                            rb'tableParts|extLst)\b|</worksheet>')


def rels_name(part: str) -> str:
    folder, _, name = part.rpartition("/")
    return f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"


def _relative(source: str, target: str) -> str:
    """`target` (a member name) as a relationship target from `source`'s folder."""
    here, there = source.split("/")[:-1], target.split("/")
    common = 0
    while common < len(here) and common < len(there) - 1 and here[common] == there[common]:
        common += 1
    return "/".join([".."] * (len(here) - common) + there[common:])


class Package:
    """A package being changed in memory: members read as last changed, written by one
    `rewrite_zip` (`bytes()`); a member never changed keeps its bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        self.changed: dict[str, bytes] = {}
        self.removed: set[str] = set()

    def __contains__(self, name: str) -> bool:
        return name not in self.removed and (name in self.changed or name in self.zip.NameToInfo)

    def read(self, name: str) -> bytes:
        return self.changed[name] if name in self.changed else self.zip.read(name)

    def write(self, name: str, xml: bytes) -> None:
        self.changed[name] = xml
        self.removed.discard(name)

    def remove(self, name: str) -> None:
        self.changed.pop(name, None)
        self.removed.add(name)

    def free(self, pattern: str) -> str:
        """The first member name `pattern` (with {} for a number from 1) that is not taken,
        compared without case as zip readers on Windows do."""
        taken = {n.lower() for n in [*self.zip.NameToInfo, *self.changed] if n not in self.removed}
        n = 1
        while pattern.format(n).lower() in taken:
            n += 1
        return pattern.format(n)

    def relate(self, source: str, kind: str, target: str) -> str:
        """Add a relationship from `source` to member `target`; its new Id."""
        name = rels_name(source)
        xml = self.read(name) if name in self else _EMPTY_RELS
        ids = {attrs(m[1]).get(b"Id", b"").decode() for m in _REL.finditer(xml)}
        n = len(ids) + 1
        while f"rId{n}" in ids:
            n += 1
        rid = f"rId{n}"
        entry = (f'<Relationship Id="{rid}" Type="{_REL_TYPE}{kind}" '
                 f'Target="{html.escape(_relative(source, target))}"/>').encode()
        end = xml.rfind(b"</Relationships>")
        if end < 0:
            raise NeedsRebuild("relationships without an end")  # not for people: an internal reason
        self.write(name, xml[:end] + entry + xml[end:])
        return rid

    def content_type(self, part: str, kind: str) -> None:
        xml = self.read(_CONTENT_TYPES)
        end = xml.rfind(b"</Types>")
        if end < 0:
            raise NeedsRebuild("content types without an end")  # not for people: an internal reason
        entry = f'<Override PartName="/{html.escape(part)}" ContentType="{kind}"/>'.encode()
        self.write(_CONTENT_TYPES, xml[:end] + entry + xml[end:])

    def bytes(self) -> bytes:
        self.zip.close()
        if not self.changed and not self.removed:
            return self.data
        return rewrite_zip(self.data, self.changed, self.removed)


def new_sheet_xml(freeze: bool = False, fit_width: bool = False, narrow: bool = False) -> bytes:
    """An empty worksheet part for a tab sheetcrm adds: its header row frozen (`freeze`),
    printed landscape one page wide (`fit_width`), with narrow side margins beside a chart
    (`narrow`)."""
    side = "0.4" if narrow else "0.75"
    pane = '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' \
           '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>' if freeze else ""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'  # not for people: XML
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'xmlns:r="{_NS_R}">'
            + ('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if fit_width else "")
            + '<dimension ref="A1"/>'
            f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/><sheetData/>'
            f'<pageMargins left="{side}" right="{side}" top="1" bottom="1" header="0.5" footer="0.5"/>'
            + ('<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>' if fit_width else "")
            + '</worksheet>').encode()


def _blank(xml: bytes) -> bool:
    return re.search(rb'<(?:\w+:)?(?:v|is|f)\b', xml) is None


def add_sheets(data: bytes, sheets: list[tuple[str, bytes]], print_titles: Iterable[str] = (),
               drop: str | None = None) -> bytes:
    """The package with a tab added at the end for each (title, worksheet part), every other
    member as it was but workbook.xml, its relationships and [Content_Types].xml, which gain
    their entries. `print_titles`: new tabs whose header row prints on every page. `drop`: the
    title of a tab to remove when it holds nothing at all (the placeholder of an empty
    workbook sheetcrm created)."""
    pkg = Package(data)
    book = workbook_part(pkg.zip)
    book_xml = pkg.read(book)
    end = book_xml.find(b"</sheets>")
    first = SHEET_ELEMENT.search(book_xml)
    if end < 0 or first is None:
        raise NeedsRebuild("no <sheets>")  # not for people: an internal reason
    prefix = re.search(rb'xmlns:([\w.-]+)="' + re.escape(_NS_R.encode()) + b'"', book_xml[:first.start()])
    # The relationship's Id in the namespace the workbook part binds, else bound on the element.
    id_attr = f"{prefix[1].decode()}:id" if prefix else f'xmlns:r="{_NS_R}" r:id'
    ids = [int(a[b"sheetId"]) for m in SHEET_ELEMENT.finditer(book_xml)
           if (a := attrs(m[1])).get(b"sheetId", b"").isdigit()]
    next_id = max(ids, default=0) + 1
    folder = book.rpartition("/")[0]
    if drop is not None and sheets:
        _drop_sheet(pkg, book, drop)  # first, so that its part's name is free again
        book_xml = pkg.read(book)
        end = book_xml.find(b"</sheets>")
    fresh = []
    for title, xml in sheets:
        part = pkg.free(f"{folder}/worksheets/sheet{{}}.xml" if folder else "worksheets/sheet{}.xml")
        pkg.write(part, xml)
        pkg.content_type(part, _CT_SHEET)
        rid = pkg.relate(book, "worksheet", part)
        fresh.append(f'<sheet name="{html.escape(title)}" sheetId="{next_id}" {id_attr}="{rid}"/>'.encode())
        next_id += 1
    book_xml = book_xml[:end] + b"".join(fresh) + book_xml[end:]
    tabs = [html.unescape(attrs(m[1]).get(b"name", b"").decode()) for m in SHEET_ELEMENT.finditer(book_xml)]
    names = b"".join(f'<definedName name="_xlnm.Print_Titles" localSheetId="{tabs.index(t)}">'  # not for people
                     f"{html.escape(quote_sheetname(t), quote=False)}!$1:$1</definedName>".encode()
                     for t in print_titles if t in tabs)
    if names:
        book_xml = _add_names(book_xml, names)
    pkg.write(book, book_xml)
    return pkg.bytes()


def _add_names(workbook_xml: bytes, fresh: bytes) -> bytes:
    """workbook.xml with the <definedName> elements `fresh` added."""
    m = _DEFINED_NAMES.search(workbook_xml)
    if m is not None:
        body = (m[1] or b"") + fresh
        return workbook_xml[:m.start()] + b"<definedNames>" + body + b"</definedNames>" + workbook_xml[m.end():]
    after = _AFTER_NAMES.search(workbook_xml, max(workbook_xml.find(b"</sheets>"), 0))
    if after is None:
        raise NeedsRebuild("no place for definedNames")  # not for people: an internal reason
    return workbook_xml[:after.start()] + b"<definedNames>" + fresh + b"</definedNames>" + workbook_xml[after.start():]


def _drop_sheet(pkg: Package, book: str, title: str) -> None:
    """Remove the tab `title` if its part is blank and relates to nothing; the workbook's
    names scoped to a later tab move down one, as they do when an app deletes a tab."""
    book_xml = pkg.read(book)
    elements = list(SHEET_ELEMENT.finditer(book_xml))
    at = next((i for i, m in enumerate(elements)
               if html.unescape(attrs(m[1]).get(b"name", b"").decode()) == title), None)
    if at is None:
        return
    rid = next((v for k, v in attrs(elements[at][1]).items() if k.endswith(b":id")), b"").decode()
    kind, part = relationships(pkg.zip, book).get(rid, ("", None))
    if part is None or part not in pkg or rels_name(part) in pkg or not _blank(pkg.read(part)):
        return
    book_xml = book_xml[:elements[at].start()] + book_xml[elements[at].end():]

    def scoped(m: re.Match) -> bytes:
        a = attrs(m[1])
        sheet = a.get(b"localSheetId", b"")
        if not sheet.isdigit() or int(sheet) < at:
            return m[0]
        if int(sheet) == at:
            return b""
        return m[0].replace(b'localSheetId="' + sheet + b'"', f'localSheetId="{int(sheet) - 1}"'.encode(), 1)

    book_xml = _DEFINED_NAME.sub(scoped, book_xml)
    book_xml = re.sub(rb'<definedNames>\s*</definedNames>', b"", book_xml)
    book_xml = re.sub(rb'\s(activeTab|firstSheet)="[0-9]+"', b"", book_xml)
    pkg.write(book, book_xml)
    rels = pkg.read(rels_name(book))
    pkg.write(rels_name(book), re.sub(rb'<Relationship\b[^>]*\bId="' + re.escape(rid.encode()) + rb'"[^>]*/>', b"",
                                      rels))
    types = pkg.read(_CONTENT_TYPES)
    pkg.write(_CONTENT_TYPES, re.sub(rb'<Override\b[^>]*PartName="/' + re.escape(part.encode()) + rb'"[^>]*/>', b"",
                                     types))
    pkg.remove(part)


_ANCHOR = re.compile(rb'<((?:\w+:)?(?:oneCellAnchor|twoCellAnchor|absoluteAnchor))\b.*?</\1>', re.S)
_CNVPR_ID = re.compile(rb'(<(?:\w+:)?cNvPr\b[^>]*?\bid=")([0-9]+)(")')
_CHART_RID = re.compile(rb'(<(?:\w+:)?chart\b[^>]*?\b(?:\w+:)?id=")([^"]+)(")')
_DRAWING_REF = re.compile(rb'<(?:\w+:)?drawing\b([^>]*?)/>')
_CNVPR_NAME = re.compile(rb'(<(?:\w+:)?cNvPr\b[^>]*?\bname=")([^"]*)(")')
# The name sheetcrm gives each chart it draws (the drawing's cNvPr; Excel's Selection Pane shows
# it): on a team's tab, where the chart sits among the person's, it is how `fit_chart_ranges`
# knows the chart is sheetcrm's to move. A rebuild through openpyxl names charts anew ("Chart 1"),
# so a chart drawn on a team's tab before a rebuild stays where it was drawn.
DRAWN_NAME = "sheetcrm chart"  # not for people: a name sheetcrm finds its charts by


def _drawn_charts(drawing_xml: bytes) -> set[str]:
    """The relationship IDs of the charts in a drawing that sheetcrm drew (named `DRAWN_NAME`)."""
    out = set()
    for anchor in _ANCHOR.finditer(drawing_xml):
        name, rid = _CNVPR_NAME.search(anchor[0]), _CHART_RID.search(anchor[0])
        if name is not None and rid is not None and html.unescape(name[2].decode()) == DRAWN_NAME:
            out.add(rid[2].decode())
    return out


def add_charts(data: bytes, drawn: dict[str, bytes]) -> bytes:
    """The package with charts drawn by openpyxl moved in: `drawn` maps a tab's title to a
    scratch package (openpyxl's save of a workbook whose first tab has that title and holds
    the charts, so their references name the tab). Each chart part is added as it is; its
    anchors go into the tab's drawing, a new one or the one the tab has (whose pictures,
    shapes and charts stay as they are), each named `DRAWN_NAME`. Raises NeedsRebuild when a tab's drawing is not one
    this can extend."""
    pkg = Package(data)
    parts = dict(sheet_parts(pkg.zip))
    for title, scratch in drawn.items():
        sheet = parts.get(title)
        if sheet is None:
            raise NeedsRebuild("no such tab")  # not for people: an internal reason
        with zipfile.ZipFile(io.BytesIO(scratch)) as z:
            scratch_sheet = sheet_parts(z)[0][1]
            scratch_drawing = next(t for k, t in relationships(z, scratch_sheet).values() if k.endswith("/drawing"))
            scratch_rels = relationships(z, scratch_drawing)
            anchors = list(_ANCHOR.finditer(z.read(scratch_drawing)))
            charts = {rid: z.read(target) for rid, (k, target) in scratch_rels.items() if k.endswith("/chart")}
        sheet_xml = pkg.read(sheet)
        existing = [t for k, t in relationships_of(pkg, sheet).values() if k.endswith("/drawing")]
        if existing:
            drawing = existing[0]
            drawing_xml = pkg.read(drawing)
        else:
            drawing = pkg.free("xl/drawings/drawing{}.xml")
            drawing_xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                           b'<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
                           b'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"></xdr:wsDr>')
            pkg.content_type(drawing, _CT_DRAWING)
        close = re.search(rb'</(?:\w+:)?wsDr>\s*$', drawing_xml)
        if close is None:
            raise NeedsRebuild("a drawing without its end")  # not for people: an internal reason
        next_id = max([int(m[2]) for m in _CNVPR_ID.finditer(drawing_xml)], default=0) + 1
        fresh = []
        for anchor in anchors:
            xml = anchor[0]
            rid_m = _CHART_RID.search(xml)
            if rid_m is None or rid_m[2].decode() not in charts:
                raise NeedsRebuild("a scratch anchor without its chart")  # not for people: an internal reason
            chart = pkg.free("xl/charts/chart{}.xml")
            pkg.write(chart, charts[rid_m[2].decode()])
            pkg.content_type(chart, _CT_CHART)
            rid = pkg.relate(drawing, "chart", chart)
            xml = _CHART_RID.sub(lambda m: m[1] + rid.encode() + m[3], xml, count=1)
            xml = _CNVPR_ID.sub(lambda m: m[1] + str(next_id).encode() + m[3], xml, count=1)
            xml = _CNVPR_NAME.sub(lambda m: m[1] + DRAWN_NAME.encode() + m[3], xml, count=1)
            next_id += 1
            # The namespaces of openpyxl's drawing, declared on the anchor itself: it reads the
            # same inside a drawing whatever prefixes that drawing uses.
            name = anchor[1]
            xml = xml.replace(b"<" + name, b"<" + name + (
                b' xmlns="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing"'
                b' xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
                b' xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart"'
                b' xmlns:r="' + _NS_R.encode() + b'"'), 1)
            fresh.append(xml)
        pkg.write(drawing, drawing_xml[:close.start()] + b"".join(fresh) + drawing_xml[close.start():])
        if not existing:
            rid = pkg.relate(sheet, "drawing", drawing)
            if _DRAWING_REF.search(sheet_xml):
                raise NeedsRebuild("a drawing element without its part")  # not for people: an internal reason
            after = _AFTER_DRAWING.search(sheet_xml, max(sheet_xml.find(b"</sheetData>"), sheet_xml.find(b"<sheetData/>"), 0))
            if after is None:
                raise NeedsRebuild("no place for a drawing")  # not for people: an internal reason
            ref = f'<drawing xmlns:r="{_NS_R}" r:id="{rid}"/>'.encode()
            pkg.write(sheet, sheet_xml[:after.start()] + ref + sheet_xml[after.start():])
    return pkg.bytes()


def relationships_of(pkg: Package, part: str) -> dict[str, tuple[str, str]]:
    """`relationships` of a part of a package being changed."""
    name = rels_name(part)
    if name not in pkg:
        return {}
    out = {}
    for m in _REL.finditer(pkg.read(name)):
        a = attrs(m[1])
        if b"Id" in a and b"Target" in a and a.get(b"TargetMode") != b"External":
            out[a[b"Id"].decode()] = (a.get(b"Type", b"").decode(), _part(part, html.unescape(a[b"Target"].decode())))
    return out


# -- what a whole rebuild (openpyxl's load and save) would lose ---------------------------------

_LOST_PARTS = (
    (re.compile(r"(^|/)customXml/"), N_("custom XML parts")),
    (re.compile(r"vbaProject\.bin$"), N_("macros")),
    (re.compile(r"(^|/)(slicers|slicerCaches|timelines|timelineCaches)/"), N_("slicers and timelines")),
    (re.compile(r"(^|/)(ctrlProps|activeX)/"), N_("form controls")),
    (re.compile(r"(^|/)embeddings/"), N_("embedded objects")),
    (re.compile(r"(^|/)charts/chartEx"), N_("charts of the newer kinds")),
    (re.compile(r"\.vml$"), N_("comment boxes and legacy shapes")),
)
_EXT_LIST = re.compile(rb'<(?:\w+:)?extLst\b')
_SHAPES = re.compile(rb'<(?:\w+:)?(?:sp|pic|grpSp|cxnSp)\b')


def rebuild_would_lose(data: bytes) -> list[tuple[str, list[str]]]:
    """What in the package openpyxl's load and save would drop: each kind as a catalogue
    message (N_) with the titles of the tabs it is on ([] for what belongs to the workbook as
    a whole: macros, custom XML), so the person is told where; [] when nothing found.
    Conservative: a kind is named when its parts or elements are there, whether or not
    openpyxl might keep part of it."""
    found: dict[str, list[str]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        for pattern, kind in _LOST_PARTS:
            if any(pattern.search(n) for n in names):
                found.setdefault(kind, [])
        # Which tab each part hangs from: its sheet, or its sheet's drawing.
        owner: dict[str, str] = {}
        for title, part in sheet_parts(z):
            if not part:
                continue
            for _, target in relationships(z, part).values():
                owner.setdefault(target, title)
                for _, inner in relationships(z, target).values():
                    owner.setdefault(inner, title)
        for n in names:
            for pattern, kind in _LOST_PARTS:
                if pattern.search(n) and n in owner and owner[n] not in found[kind]:
                    found[kind].append(owner[n])
        # A sheet's extLst holds the team's things (the workbook's, at most settings such as
        # LibreOffice's formula syntax, which a rebuild may drop).
        ext = [title for title, p in sheet_parts(z) if p and p in z.NameToInfo and _EXT_LIST.search(z.read(p))]
        if ext:
            found[N_("Excel 2010 features (dropdowns from another tab, conditional formats, sparklines)")] = ext
        drawn = [n for n in names if n.startswith("xl/drawings/") and n.endswith(".xml") and _SHAPES.search(z.read(n))]
        if drawn:
            found[N_("pictures and shapes")] = list(dict.fromkeys(owner[n] for n in drawn if n in owner))
    return list(found.items())
