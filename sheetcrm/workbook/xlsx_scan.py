"""What an .xlsx sheet shows beyond the values calamine reads, from one scan of its XML.

Calamine gives each cell's last calculated value fast, but not which cells are formulas, not
the error a formula last computed (it reports "" for `#N/A`, the same as an empty cell), nor
that a formula has no saved result at all (`workbook.uncalculated`: "" again), not
the number format (a cell holding 1 formatted `0%` shows 100%; 10000 formatted `[$¥-411]#,##0`
shows ¥10,000) and not the merged blocks. `scan` finds them with regular expressions over the
raw sheet XML, at a fraction of a full XML parse, and only looks for what the file can hold:
no percent or currency format in the workbook's styles means no per-cell style scan (the
common case), and merged blocks sit in the short tail after the cell data.

Sources: ECMA-376 Part 1 §18.3.1.4 (c: attributes r, s, t="e" for an error), §18.3.1.55
(mergeCell ref), §18.8.10 (cellXfs: a cell's s is an index into it), §18.8.30-31 (numFmt;
built-in ids 9 "0%" and 10 "0.00%", 5-8 and 42, 44 the "$" currency formats). The XML is assumed to be what Excel, LibreOffice,
Google's export and openpyxl write: unprefixed element names and cells that carry their `r`
reference (accepting namespace prefixes would double the cost of the scan). A number format
that only conditional formatting applies (a dxf) is not looked at.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Collection, TypeVar

from sheetcrm.cells import shown_order

from . import uncalculated
from .xlsx_patch import attrs, column_index, found_dropdowns, relationships, sheet_parts
from .numformat import format_currency, is_digits_format, is_percent_format, is_time_format, moment_decimals, percent_depends  # noqa: F401  (is_percent_format: re-exported)

T = TypeVar("T")

Position = tuple[int, int]  # 0-based (row, col), as in Grid

# Built-in number formats that show a percentage (ECMA-376 §18.8.30).
BUILTIN_PERCENT = {9, 10}
# Built-in formats that show a currency symbol: "$" as ECMA-376 defines them (a spreadsheet app
# may show its own locale's symbol instead, which is why "$" stays a symbol to resolve).
BUILTIN_CURRENCY = {5: "$", 6: "$", 7: "$", 8: "$", 42: "$", 44: "$"}
# Built-in time and duration formats (ECMA-376 §18.8.30).
BUILTIN_TIME = {18: "h:mm AM/PM", 19: "h:mm:ss AM/PM",  # not for people: format codes
                20: "h:mm", 21: "h:mm:ss", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mm:ss.0"}


@dataclass
class SheetFacts:
    """One sheet's facts, at 0-based positions: see `Grid` for what each means."""

    formulas: set[Position] = field(default_factory=set)
    errors: dict[Position, str] = field(default_factory=dict)
    percent: set[Position] = field(default_factory=set)
    # The cells whose format shows some numbers as a percentage and others not
    # (`numformat.percent_depends`), with that format: the cell's value decides (`Grid.percent`).
    percent_codes: dict[Position, str] = field(default_factory=dict)
    currency: dict[Position, str] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    # sheetcrm's own dropdowns, as `xlsx_patch.own_dropdowns` gives them: a write that finds
    # them as it wants them need not open the sheet (not on the Grid: parsing never reads them).
    dropdowns: list[tuple[str, str]] = field(default_factory=list)
    # The sqrefs of the team's validations (`xlsx_patch.found_dropdowns`): where sheetcrm's leave off.
    theirs: list[str] = field(default_factory=list)
    # The rows of its Excel tables' Total Rows (ECMA-376 §18.5.1.2: a table's ref includes its
    # last totalsRowCount rows, which are its totals, not data).
    totals: set[int] = field(default_factory=set)
    # The cells whose own (custom) number format shows a date's day and month as numbers in
    # an order (`cells.shown_order`), with that format: `Grid.date_formats` of the date cells.
    date_formats: dict[Position, str] = field(default_factory=dict)
    # The cells whose format shows a time of day, with the decimals of a second it shows
    # (`numformat.moment_decimals`): a date-time there is the moment it shows (`shown_moment`).
    moments: dict[Position, int] = field(default_factory=dict)


_TABLE = re.compile(rb'<(?:\w+:)?table\b([^>]*)>')
_REF_ROW = re.compile(r'[A-Za-z]+\$?(\d+)$')
# A formula cell, with its formula's text (none in a shared formula's other cells) and its
# cached value, `<v>`, where there is one (ECMA-376 §18.3.1.40 f, §18.3.1.96 v).
_FORMULA_CELL = re.compile(rb'<c\b([^>]*)>\s*<f\b[^>]*?(?:/>|>([^<]*)</f>)\s*(?:<v\s*/>|<v>([^<]*)</v>)?')
_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
# Cell types whose empty <v> is a result: a formula that gives "" (="", an IF's empty branch).
_TEXT_TYPES = (b"str", b"inlineStr")
# An error cell's start tag (not self-closing) and its cached value.
_ERROR_CELL = re.compile(rb'<c\b([^>]*\bt="e"[^>]*)(?<!/)>(.*?)</c>', re.S)
_VALUE = re.compile(rb'<v>([^<]*)</v>')
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_STYLE = re.compile(rb'\bs="([0-9]+)"')
_REF_BEFORE_STYLE = re.compile(rb'<c r="([A-Z]+)([0-9]+)"$')
_MERGE = re.compile(rb'<mergeCell\b[^>]*?\bref="([A-Z]+)([0-9]+)(?::([A-Z]+)([0-9]+))?"')

_CELL_XFS = re.compile(rb'<cellXfs\b[^>]*>(.*?)</cellXfs>', re.S)
_XF = re.compile(rb'<xf\b([^>]*)>')
_NUM_FMT = re.compile(rb'<numFmt\b([^>]*)>')
_NUM_FMT_ID = re.compile(rb'\bnumFmtId="([0-9]+)"')
_FORMAT_CODE = re.compile(rb'\bformatCode="([^"]*)"')


def scan(data: bytes, only: Collection[str] | None = None) -> dict[str, SheetFacts]:
    """Every worksheet's facts by tab title, from the bytes of an .xlsx file; with `only`,
    those of the tabs it names.

    Raises zipfile.BadZipFile or KeyError for a file that is not an .xlsx workbook.
    """
    found: dict[str, SheetFacts] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        styles_xml = z.read("xl/styles.xml") if "xl/styles.xml" in names else b""
        styles = number_styles(styles_xml) if styles_xml else ({}, {})
        dates = date_order_styles(styles_xml) if styles_xml else {}
        moments = moment_styles(styles_xml) if styles_xml else {}
        # The same walk from workbook part to sheet parts as the writer's (relationship targets
        # relative or absolute, a workbook part not at xl/workbook.xml).
        for title, part in sheet_parts(z):
            if part is not None and (only is None or title in only):
                xml = z.read(part)
                found[title] = scan_sheet(xml, styles)
                if dates:
                    found[title].date_formats = {pos: dates[style]
                                                 for pos, style in _styled_cells(xml, set(dates)).items()}
                if moments:
                    found[title].moments = {pos: moments[style]
                                            for pos, style in _styled_cells(xml, set(moments)).items()}
                if b"<tablePart" in xml:
                    found[title].totals = _total_rows(z, part, names)
    return found


def _total_rows(z: zipfile.ZipFile, part: str, names: Collection[str]) -> set[int]:
    """The 0-based rows that the Total Rows of the sheet's tables take."""
    rows: set[int] = set()
    for kind, target in relationships(z, part).values():
        if not kind.endswith("/table") or target not in names:
            continue
        m = _TABLE.search(z.read(target))
        if m is None:
            continue
        table = attrs(m[1])
        count, ref = int(table.get(b"totalsRowCount", b"0") or 0), table.get(b"ref", b"").decode()
        last = _REF_ROW.search(ref.rpartition(":")[2] or ref)
        if count > 0 and last is not None:
            end = int(last[1]) - 1
            rows.update(range(max(end - count + 1, 1), end + 1))  # never the header row
    return rows


def scan_sheet(xml: bytes, styles: tuple[Collection[int], dict[int, str]] | Collection[int] = frozenset()
               ) -> SheetFacts:
    """The facts of one sheet's XML; `styles` are the cellXfs indexes that show a percentage
    and those that show a currency, with the currency each shows (see `number_styles`); a
    bare collection is the percent ones alone."""
    percent, currency = styles if isinstance(styles, tuple) else (styles, {})
    facts = SheetFacts()
    # Every formula but a what-if data table's has text, so a sheet without "</f>" has none
    # (and the cell regex, the costly part, is skipped; "<f" alone also matches <formula1>
    # of a dropdown).
    if b"</f>" in xml:
        for c in _FORMULA_CELL.finditer(xml):
            pos = _position(c[1])
            if pos is not None:
                facts.formulas.add(pos)
                if not c[3]:
                    kind = _TYPE.search(c[1])
                    if kind is None or kind[1] not in _TEXT_TYPES:
                        facts.errors[pos] = uncalculated(html.unescape(c[2].decode()) if c[2] else "")
    if b't="e"' in xml:
        for c in _ERROR_CELL.finditer(xml):
            pos, value = _position(c[1]), _VALUE.search(c[2])
            if pos is not None and value is not None and value[1].strip():
                facts.errors[pos] = html.unescape(value[1].decode()).strip()
    if percent or currency:
        for pos, style in _styled_cells(xml, {*percent, *currency}).items():
            if style in percent:
                if (code := percent.get(style) if isinstance(percent, dict) else None) is None:
                    facts.percent.add(pos)
                else:
                    facts.percent_codes[pos] = code
            else:
                facts.currency[pos] = currency[style]
    # mergeCells follows sheetData (ECMA-376 §18.3.1.99), so only the tail needs a look.
    end = xml.rfind(b"sheetData>")
    tail = xml[end:] if end >= 0 else xml
    if b"<dataValidation" in tail:
        facts.dropdowns, facts.theirs = found_dropdowns(tail)
    if b"mergeCell" in tail:
        for m in _MERGE.finditer(tail):
            first_row, first_col = int(m[2]) - 1, _col(m[1])
            last_row, last_col = (int(m[4]) - 1, _col(m[3])) if m[3] else (first_row, first_col)
            if (first_row, first_col) != (last_row, last_col):
                facts.merges.append((first_row, first_col, last_row, last_col))
    return facts


def _styled_cells(xml: bytes, styles: Collection[int]) -> dict[Position, int]:
    """The cells whose style is one of `styles`, with that style."""
    found: dict[Position, int] = {}
    columns: dict[bytes, int] = {}
    if 0 in styles:
        # The default style itself is one of them: every cell without an `s` has it.
        for c in re.finditer(rb'<c\b([^>]*)>', xml):
            style = _STYLE.search(c[1])
            index = int(style[1]) if style else 0
            if index in styles:
                pos = _position(c[1])
                if pos is not None:
                    found[pos] = index
        return found
    ids = b"|".join(str(s).encode() for s in sorted(styles))
    # Search for the style attribute itself, a plain literal that only the styled cells
    # hold, and read the reference just before it, where every writer puts it
    # (<c r="H2" s="3" ...>); a tag written otherwise is read whole. A regex over every
    # cell costs several times more on a large sheet.
    before = _REF_BEFORE_STYLE.search
    for at, index in [(m.start(), int(m[1])) for m in re.finditer(rb' s="(' + ids + rb')"', xml)]:
        ref = before(xml, at - 24 if at > 24 else 0, at)
        if ref is None:
            start = xml.rfind(b"<", 0, at)
            if not xml.startswith(b"<c ", start):
                continue  # a row's style, not a cell's
            ref = _REF.search(xml, start, xml.find(b">", at))
            if ref is None:
                continue
        letters = ref[1]
        col = columns.get(letters)
        if col is None:
            col = columns[letters] = _col(letters)
        found[(int(ref[2]) - 1, col)] = index
    return found


def percent_styles(styles_xml: bytes) -> set[int]:
    """Indexes into cellXfs (a cell's `s`) whose number format shows a percentage."""
    return set(number_styles(styles_xml)[0])


def number_styles(styles_xml: bytes) -> tuple[dict[int, str | None], dict[int, str]]:
    """Indexes into cellXfs (a cell's `s`) whose number format shows a percentage (to None), or
    shows some numbers as one (to its code: `numformat.percent_depends`), and those that show
    a currency with the currency each shows (`numformat.format_currency`)."""
    custom: dict[int, str] = {}
    for m in _NUM_FMT.finditer(styles_xml):
        fmt_id, code = _NUM_FMT_ID.search(m[1]), _FORMAT_CODE.search(m[1])
        if fmt_id and code:
            custom[int(fmt_id[1])] = html.unescape(code[1].decode())
    block = _CELL_XFS.search(styles_xml)
    if block is None:
        return set(), {}
    percent: dict[int, str | None] = {}
    currency = {}
    for index, xf in enumerate(_XF.finditer(block[1])):
        fmt_id = _NUM_FMT_ID.search(xf[1])
        number = int(fmt_id[1]) if fmt_id else 0
        code = custom.get(number)
        if code is not None and percent_depends(code):
            percent[index] = code
        elif (is_percent_format(code) if code is not None else number in BUILTIN_PERCENT):
            percent[index] = None
        elif (shown := format_currency(code) if code is not None else BUILTIN_CURRENCY.get(number)):
            currency[index] = shown
    return percent, currency


def moment_styles(styles_xml: bytes) -> dict[int, int]:
    """Indexes into cellXfs (a cell's `s`) whose number format shows a time of day, with the
    decimals of a second it shows (`numformat.moment_decimals`; the built-in 22, `m/d/yy h:mm`, 0)."""
    shown = {number: d for number, code in _custom_codes(styles_xml).items()
             if (d := moment_decimals(code)) is not None}
    shown.setdefault(22, 0)
    return _styles_showing(styles_xml, shown)


def date_order_styles(styles_xml: bytes) -> dict[int, str]:
    """Indexes into cellXfs (a cell's `s`) whose number format is a code the file spells out
    (`numFmt`) showing a date's day and month as numbers in one order (`cells.shown_order`:
    `dd/mm/yyyy`, `mm/dd/yyyy`), with that code. The built-in date formats (14-17, 22) are
    left out: an app shows them in its reader's own short-date order, which the file does not say."""
    return _custom_styles(styles_xml, lambda code: shown_order(code) is not None)


def time_codes(z: zipfile.ZipFile, part: str, cells: Collection[Position]) -> dict[Position, str]:
    """The time and duration number format codes (`numformat.is_time_format`: `[h]:mm`,
    `h:mm AM/PM`, the built-in ones by their ECMA-376 codes) of the given cells of the sheet
    `part`, by position; a cell whose format is another is left out."""
    if "xl/styles.xml" not in z.namelist():
        return {}
    styles = time_styles(z.read("xl/styles.xml"))
    if not styles:
        return {}
    return {pos: styles[style] for pos, style in _styled_cells(z.read(part), set(styles)).items() if pos in cells}


def time_styles(styles_xml: bytes) -> dict[int, str]:
    """Indexes into cellXfs (a cell's `s`) whose number format shows a time of day or a
    duration, with its code: a custom one (`numFmt`), or a built-in one as ECMA-376 §18.8.30
    writes it (18-21, 45-47)."""
    custom = {int(i[1]): html.unescape(c[1].decode()) for m in _NUM_FMT.finditer(styles_xml)
              if (i := _NUM_FMT_ID.search(m[1])) and (c := _FORMAT_CODE.search(m[1]))}
    block = _CELL_XFS.search(styles_xml)
    if block is None:
        return {}
    found = {}
    for index, xf in enumerate(_XF.finditer(block[1])):
        fmt_id = _NUM_FMT_ID.search(xf[1])
        number = int(fmt_id[1]) if fmt_id else 0
        code = custom.get(number, BUILTIN_TIME.get(number))
        if code is not None and is_time_format(code):
            found[index] = code
    return found


def digit_codes(z: zipfile.ZipFile, part: str) -> dict[Position, str]:
    """The cells of the sheet `part` whose number format pads a whole number with zeros
    (`numformat.show_digits`: `00000`, `000-00-0000`), with that code, by position; {} when
    no style of the workbook has such a format (the sheet's XML is then not read)."""
    if "xl/styles.xml" not in z.NameToInfo:
        return {}
    styles = digit_styles(z.read("xl/styles.xml"))
    if not styles:
        return {}
    return {pos: styles[style] for pos, style in _styled_cells(z.read(part), set(styles)).items()}


@lru_cache(maxsize=4)  # one workbook's styles, asked for by each of its sheets
def digit_styles(styles_xml: bytes) -> dict[int, str]:
    """Indexes into cellXfs (a cell's `s`) whose custom number format pads a whole number
    with zeros, with its code (no built-in format does)."""
    return _custom_styles(styles_xml, is_digits_format)


def _custom_styles(styles_xml: bytes, keep: Callable[[str], bool]) -> dict[int, str]:
    """Indexes into cellXfs (a cell's `s`) whose custom number format (`numFmt`) `keep`s, with
    its code; {} when none does (cellXfs is then not read)."""
    return _styles_showing(styles_xml, {number: code for number, code in _custom_codes(styles_xml).items()
                                        if keep(code)})


def _custom_codes(styles_xml: bytes) -> dict[int, str]:
    """The file's own number formats (`numFmt`): numFmtId -> format code."""
    return {int(i[1]): html.unescape(c[1].decode()) for m in _NUM_FMT.finditer(styles_xml)
            if (i := _NUM_FMT_ID.search(m[1])) and (c := _FORMAT_CODE.search(m[1]))}


def _styles_showing(styles_xml: bytes, by_format: dict[int, T]) -> dict[int, T]:
    """Indexes into cellXfs (a cell's `s`) whose numFmtId is in `by_format`, with its value
    there; {} when `by_format` is empty (cellXfs is then not read)."""
    block = _CELL_XFS.search(styles_xml) if by_format else None
    if block is None:
        return {}
    found = {}
    for index, xf in enumerate(_XF.finditer(block[1])):
        fmt_id = _NUM_FMT_ID.search(xf[1])
        if fmt_id and (value := by_format.get(int(fmt_id[1]))) is not None:
            found[index] = value
    return found


def _position(attrs: bytes) -> Position | None:
    ref = _REF.search(attrs)
    if ref is None:
        return None
    return int(ref[2]) - 1, _col(ref[1])


def _col(letters: bytes) -> int:
    return column_index(letters.decode()) - 1
