"""The workbook seam: the only place that knows where cells live.

A backend (.xlsx file, Google Sheets, in-memory grid) does two things for a sync:

    snapshot = book.read()      # every tab, one batched read
    result   = book.write(plan) # every change, one batched write (nothing when the plan is empty)

Everything between them is pure Python over these plain types.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Collection, Iterable, Protocol, Union

# What a cell holds as the backend reports it: the value a person sees, already typed
# when the backend knows the type (native numbers, dates, booleans), else text.
CellValue = Union[str, int, float, bool, _dt.datetime, _dt.date, None]


@dataclass
class Grid:
    """One tab as rows of cell values; row 0 is the sheet's row 1.

    Trailing empty cells and rows may be omitted, as Google omits them. Rows that hold nothing
    may be one shared empty list (an .xlsx tab with a cell far below its data: `xlsx_sparse`),
    so a row is replaced, never grown in place.
    `formulas` holds the (row, col) positions, 0-based, whose cell is a formula; sheetcrm
    never writes over them even when their value is empty.
    """

    rows: list[list[CellValue]] = field(default_factory=list)
    formulas: set[tuple[int, int]] = field(default_factory=set)
    # What the cell shows beyond its value, as the backend knows it (0-based positions):
    # `errors` holds a formula's error text ("#N/A", "#REF!"...) where its last result was an
    # error (the value in `rows` is then None; on Google it is that text, since Google's values
    # read cannot tell an error from text that reads the same); `percent` the cells whose
    # number format shows the number as a percentage (the value 1 shows as 100%); on Google
    # only in columns that hold a fraction (see gsheets.py); `currency` the cells whose number
    # format shows a currency, with that currency: an ISO code when the format says which
    # (`[$¥-411]#,##0` is "JPY", `"£"#,##0` "GBP"), else the symbol as shown ("$"), read as a
    # symbol typed in the cell would be (on Google only in money columns whose rows name no
    # currency; see gsheets.py); `merges` each merged block as
    # (first_row, first_col, last_row, last_col), inclusive, whose value sits in its first cell;
    # `errors` also holds, as `uncalculated` makes it ("=" and the formula), a formula that has
    # no saved result (.xlsx only: a file written by a program that does not calculate);
    # `totals` the rows (0-based) that an Excel table's Total Row takes (.xlsx only: a table
    # part's totalsRowCount), which are no records whatever they hold.
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    percent: set[tuple[int, int]] = field(default_factory=set)
    currency: dict[tuple[int, int], str] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    totals: set[int] = field(default_factory=set)
    # The text a whole number's format shows as a code, where that format pads it with zeros
    # (`numformat.show_digits`: 8001 under `00000` shows "08001"), by 0-based position. The
    # value in `rows` stays the number the file holds, which is what sheetcrm's own cells and
    # the writes' guards compare; a people's tab reads the code (`table.py`). .xlsx always; on
    # Google only in the columns the formats read asks about (see gsheets.py).
    codes: dict[tuple[int, int], str] = field(default_factory=dict)
    # The workbook counts dates from 1904-01-01 (.xlsx only: workbookPr date1904, Mac Excel's
    # date system): a plain number read as a date is a serial from there, not from 1899-12-30
    # (`cells.parse_date`). Date cells come as dates already, in either system.
    date1904: bool = False
    # The spreadsheet's own locale (Google only: properties.locale, "en_US"), which Google reads
    # what people type in: 03/04/2026 typed under en_US is stored as 4 March, a date, before
    # sheetcrm reads it. Set on every tab (`Snapshot.locale`) so a date column can tell a date
    # Google read in another day/month order than the team's (`columns.read_dates`).
    locale: str | None = None
    # The number-format pattern ("M/d/yyyy", "yyyy-mm-dd") of date cells whose format was read
    # (Google, where `locale` reads dates in another day/month order than the team's):
    # (0-based row, col) -> pattern. A date shown year first or with the month's name cannot
    # have been typed in the other order. On .xlsx, the date cells whose format the file spells
    # out with the day and the month as numbers (`dd/mm/yyyy`): the order the column shows.
    date_formats: dict[tuple[int, int], str] = field(default_factory=dict)

    def cell(self, row: int, col: int) -> CellValue:
        if row < len(self.rows):
            r = self.rows[row]
            if col < len(r):
                return r[col]
        return None

    @property
    def header(self) -> list[CellValue]:
        return self.rows[0] if self.rows else []


UNCALCULATED = "="  # how `errors` marks a formula without a saved result (see `uncalculated`)
# What a Google formula shows, in `errors` too, while the data it fetches from outside the
# spreadsheet (IMPORTRANGE, GOOGLEFINANCE...) is not there yet (ErrorValue.type LOADING).
LOADING = "Loading..."


def uncalculated(formula: str) -> str:
    """What `Grid.errors` hold for a formula cell that has no saved
    result, `formula` its text without the "=" ("" when the file does not say it: a shared
    formula's other cells): the formula as a person types it, "=1000*2". A file written by a
    program that does not calculate (openpyxl, pandas through openpyxl, many scripts) holds
    its formulas so; a spreadsheet app calculates them when it opens the file, but sheetcrm
    does not calculate, so the cell has no value to read, as one showing an error has none.
    No error text starts with "=" (they start with "#", or are LOADING), so the two never meet."""
    return UNCALCULATED + formula


@dataclass
class Snapshot:
    """Every tab of a workbook at the moment of one read, in the workbook's tab order."""

    tabs: dict[str, Grid] = field(default_factory=dict)
    # Titles of the tabs that carry sheetcrm's own mark (Google: developer metadata on the
    # sheet; .xlsx: a sheet-scoped defined name). Only these are sheetcrm's to write whole.
    owned: set[str] = field(default_factory=set)
    # Titles of the tabs a person does not see (Google: `hidden`; .xlsx: `state="hidden"`), so
    # a plan asks to hide only a tab that is not hidden yet.
    hidden: set[str] = field(default_factory=set)
    # The spreadsheet's own locale (Google: properties.locale, "en_US"; None for .xlsx, whose
    # dates are typed in the reader's Excel and arrive as dates): each Grid carries it too.
    locale: str | None = None
    # When the read began (UTC, this machine's clock), stamped by a sync's read: the warehouse
    # mirror keeps the newest read's, never one two syncs at once committed out of order.
    read_at: _dt.datetime | None = None


@dataclass(frozen=True)
class CellWrite:
    """Set one cell. `row` and `col` are the sheet's own 1-based numbers.

    `expect` maps 1-based columns of the same row to the value each held when the plan was
    made. A backend applies the write only while they all still hold; this is what keeps a
    concurrent insert, delete or sort from putting a value on another record. Writes to
    sheetcrm's own tabs carry no expectation.
    `formula` marks a value that sheetcrm owns as a formula; everything else is sent as text
    that the spreadsheet never parses.
    `requires` names another write of the same plan, as (tab, row, col): this one is applied
    only if that one is. A Stage History row of a record whose ID this sync hands out is
    tied to the ID's write, so history never names an ID that did not land.
    `held` (empty: not checked) lists what the target itself may hold for the write to apply:
    what the plan read there. A computed cell carries it, so a value a person types over it
    between the read and the write is left as typed (the next sync reports it,
    `computed_cell_typed`). Apart from `expect`, whose shape says what kind of write it is
    (`landing`, `keyed`); a write whose row moved is found by `expect` and then checked.
    """

    tab: str
    row: int
    col: int
    value: CellValue
    expect: tuple[tuple[int, CellValue], ...] = ()
    formula: bool = False
    requires: tuple[str, int, int] | None = None
    held: tuple[CellValue, ...] = ()

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.tab, self.row, self.col)


@dataclass(frozen=True)
class RowDelete:
    """Remove one row of a tab, rows below moving up (a merge, asked for by a person).

    `row` is the sheet's 1-based row as read; `expect` maps 1-based columns to the values the
    row held (its ID), as `CellWrite.expect` does. A backend deletes the row that holds them:
    this one while it still does, else the one row that now does (Google re-aims by a re-read
    of the key columns); none when no single row does. Deletes come after every cell write
    and replacement of the plan, bottom row first, so the plan's row numbers hold for those."""

    tab: str
    row: int
    expect: tuple[tuple[int, CellValue], ...]


@dataclass(frozen=True)
class Replace:
    """Every cell of column `col` (1-based) of `tab`, from row 2 down, holding exactly the text
    `find` (the whole cell, case included) becomes the text `replace`. Addressed by content,
    so a concurrent sort or insert cannot aim it at another record's cell; Google's
    `findReplace` with `matchEntireCell`. Formula cells are never touched."""

    tab: str
    col: int
    find: str
    replace: str
    # How many cells hold `find` as read: what a dry run says it re-points (a backend changes
    # whatever cells hold it when it writes).
    cells: int = field(default=1, compare=False)
    # The rows (1-based) that held `find` as read, each with what a write into that row
    # expects of it (its ID cell as read, as `CellWrite.expect`; empty for a row known by no
    # ID): for a backend that cannot replace by content without changing what the text is
    # (Google types a findReplace's replacement as a person would: "0003" becomes the number 3),
    # which then writes those cells by position, guarded.
    rows: tuple[tuple[int, tuple[tuple[int, CellValue], ...]], ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Chart:
    """A native chart over a block of a sheetcrm tab: rows first_row..last_row (1-based, the
    header is the row above), categories in domain_col, one series per series_cols column.
    Backends add it once, when the tab has no chart of that title; afterwards the cells
    under it change and, on sheetcrm's own tabs, the chart follows first_row..last_row with
    each write (one whose title, columns and tab are not these, a person's, is left alone)."""

    tab: str
    title: str
    kind: str  # "column" or "line"
    first_row: int
    last_row: int
    domain_col: int
    series_cols: tuple[int, ...]
    anchor_col: int


@dataclass(frozen=True)
class Guide:
    """Hints for people editing a tab (Google only): dropdowns on enum columns, and a
    warning-only protection on the columns sheetcrm computes, so people see they are computed."""

    tab: str
    dropdowns: tuple[tuple[int, tuple[str, ...]], ...]   # (column, allowed values)
    computed_cols: tuple[int, ...]
    # The row under the tab's header (1-based), where the dropdowns start: never on the header
    # itself or the title rows above it, which would show as values off the list.
    first_row: int = 2


@dataclass(frozen=True)
class NumberFormat:
    """How a cell shows its number: Google's NumberFormat type (NUMBER, PERCENT, CURRENCY,
    DATE) and a format code. Codes are the one language .xlsx (ECMA-376 Part 1 §18.8.31) and
    Sheets share, always with "." as the decimal point and "," as the thousands separator
    (the app shows its locale's); literal text is quoted ("€")."""

    type: str
    pattern: str


@dataclass(frozen=True)
class ColumnFormat:
    """How sheetcrm wants one column it writes to look: a width, and number formats for blocks
    of its rows. `rows` holds (first row, last row, format), 1-based and inclusive; a last row
    of None runs to the end of the column, rows added later included.

    Backends apply it only where nothing is set yet: a cell keeps a format of its own (a
    person's), a column of a people's tab a width of its own; on sheetcrm's own tabs a column
    narrower than `width` is widened. See docs/formats.md."""

    tab: str
    col: int                    # 1-based
    width: int                  # in characters; 0 leaves the width alone
    rows: tuple[tuple[int, int | None, NumberFormat], ...] = ()
    owned: bool = False         # a column of one of sheetcrm's own tabs
    # A log's column whose cells keep the figures they were written with (Stage History's
    # Amount, in the base currency of its row's day): a cell showing a format keeps it, even
    # one of sheetcrm's codes for another currency; only a cell showing none gets `rows`' code.
    kept: bool = False


@dataclass(frozen=True)
class TabLayout:
    """One of sheetcrm's tabs as people read and print it: row 1 bold and frozen and, with
    `fit_width`, printed one page wide, landscape, with the header row on every page."""

    tab: str
    fit_width: bool = False


@dataclass
class Plan:
    """All the changes one sync wants: tabs to create (with their headers) and cells to set.

    Charts, guides, column formats and tab layouts ride along with a write when it happens;
    on their own they are not a reason to write (a second sync with no edits writes nothing,
    and the formats arrive with the next write)."""

    new_tabs: list[str] = field(default_factory=list)
    writes: list[CellWrite] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    guides: list[Guide] = field(default_factory=list)
    # Tabs (new or existing) that the backend marks as sheetcrm's own in the same write, so
    # later reads list them in `Snapshot.owned`: a team's tab is never mistaken for one.
    mark_owned: list[str] = field(default_factory=list)
    formats: list[ColumnFormat] = field(default_factory=list)
    layouts: list[TabLayout] = field(default_factory=list)
    # Content-addressed replacements (applied after the cell writes) and row deletes (after
    # those, bottom row first): a merge's re-pointed references and removed rows.
    replacements: list[Replace] = field(default_factory=list)
    deletes: list[RowDelete] = field(default_factory=list)
    # Tabs (new or existing) the backend hides in the same write: sheetcrm's bookkeeping that
    # nobody needs to look at (the Workflow State). Like the formats, it rides along with a
    # write and is never a reason for one.
    hide: list[str] = field(default_factory=list)
    # Each people's tab's header row (1-based; a tab not named here has it in row 1): Google
    # checks it just before writing and after, so a column inserted, deleted or moved
    # meanwhile never gets cells meant for another (docs/concurrency.md). Never a reason to write.
    header_rows: dict[str, int] = field(default_factory=dict)
    # sheetcrm's own tabs that people tick in (the Duplicates' Keep, Merge, Not duplicates),
    # written by position: Google re-reads their header row with the key re-read and leaves
    # such a tab alone when a column moved since the read, so a tick never lands under
    # another header (a Not duplicates read back as a Merge). Never a reason to write.
    ticked: list[str] = field(default_factory=list)
    # Every number format code sheetcrm writes, for any base currency and either language
    # (`layout.own_codes`): a cell showing one of them took it from sheetcrm, and is given the
    # code `formats` wants now (a base currency or language changed since); any other is a
    # person's and stays. Like the formats, never a reason to write.
    own_formats: frozenset[str] = frozenset()
    # sheetcrm's tab of sequence marks (`_sheetcrm`) when the plan writes it, i.e. moves an ID,
    # quote or Outbox number forward: the write lands only if no other writer (another
    # machine's sync) wrote since the read the plan was made from, else it raises
    # WorkbookConflict and nothing lands, so two syncs never hand out one number
    # (docs/concurrency.md, "Two syncs at once"). Never a reason to write.
    counters: str | None = None
    # sheetcrm's tabs to which the plan only adds rows below every row the read found there
    # (a log's new rows): tab -> (first, last) sheet row written. Google opens those rows in
    # the batch, so a row a person inserts above in the instant before it moves down whole
    # instead of being written over (docs/concurrency.md). Never a reason to write.
    appended: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.new_tabs or self.writes or self.mark_owned or self.replacements or self.deletes)

    def cells_by_tab(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for w in self.writes:
            counts[w.tab] = counts.get(w.tab, 0) + 1
        return counts

    def deletes_by_tab(self) -> dict[str, int]:
        """Rows the plan removes, per tab."""
        counts: dict[str, int] = {}
        for d in self.deletes:
            counts[d.tab] = counts.get(d.tab, 0) + 1
        return counts

    def replaced_by_tab(self) -> dict[str, int]:
        """Cells the plan's replacements re-point, per tab (as read)."""
        counts: dict[str, int] = {}
        for r in self.replacements:
            counts[r.tab] = counts.get(r.tab, 0) + r.cells
        return counts


@dataclass
class WriteResult:
    """What a backend did with a plan: cells written, and writes skipped because the row
    changed under us (they are planned again by the next sync)."""

    written: dict[str, int] = field(default_factory=dict)
    skipped: list[CellWrite] = field(default_factory=list)
    # Cells changed by `Plan.replacements`, and rows removed by `Plan.deletes`, per tab.
    replaced: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    # Rows a concurrent sort put where a delete was aimed, removed and put back in the same
    # write (Google; the merged rows they stood for are removed by the next sync).
    restored: dict[str, int] = field(default_factory=dict)
    # Lines for the person running the sync: what a concurrent edit did to this write that the
    # counts above do not say (Google: cells put back after a column moved, computed values
    # that may sit on another row until the next sync).
    warnings: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.written.values())


def drop_orphans(applied: list[CellWrite], skipped: list[CellWrite]) -> list[CellWrite]:
    """The applied writes less those whose required write was skipped (moved to `skipped`), and
    so on down a chain: a write requiring a dropped write is dropped too."""
    gone = {w.key for w in skipped}
    kept = list(applied)
    while True:
        orphans = [w for w in kept if w.requires in gone]
        if not orphans:
            return kept
        skipped.extend(orphans)
        gone.update(w.key for w in orphans)
        dropped = {id(w) for w in orphans}
        kept = [w for w in kept if id(w) not in dropped]


def dependents(writes: Iterable[CellWrite], gone: Collection[tuple[str, int, int]]) -> set[tuple[str, int, int]]:
    """The keys of `writes` that require a write in `gone` (keys), or one of these, and so on
    down a chain: what a backend that found `gone` undone after sending takes back with them,
    as `drop_orphans` drops it before."""
    writes = list(writes)
    lost: set[tuple[str, int, int]] = set()
    while True:
        more = {w.key for w in writes if w.key not in lost and (w.requires in gone or w.requires in lost)}
        if not more:
            return lost
        lost |= more


def holds_target(w: CellWrite, now: CellValue) -> bool:
    """Whether the target cell, holding `now`, is still as `w` was planned on (`held`)."""
    return not w.held or any(same_value(now, h) for h in w.held)


class WorkbookError(Exception):
    """A workbook that cannot be opened, read or written: one clear line for the user."""


class WorkbookUnreachable(WorkbookError):
    """The workbook could not be reached at all: Google did not answer (retries exhausted) or
    would not sign sheetcrm in. Nothing else can be read or written there for now, so
    `sheetcrm run` leaves a failed job's Sync Log row to the next sync rather than try at once."""


# Every Office binary file (an Excel 97-2003 .xls, and an .xlsx saved with a password, whose
# package Office encrypts inside one) is a Compound File: these eight bytes first, and an
# encrypted package's stream named EncryptionInfo in its directory (UTF-16 names).
COMPOUND_FILE = bytes.fromhex("D0CF11E0A1B11AE1")
_ENCRYPTION_INFO = "EncryptionInfo".encode("utf-16-le")


def binary_office_problem(path: object, data: bytes, importing: bool = False) -> str | None:
    """Why `data` (the bytes of `path`) is a binary Office file sheetcrm cannot read, one line in
    the current language, or None when it is not one. A password-protected .xlsx was told "not
    an .xlsx workbook; save it as an Excel workbook (.xlsx)", which it already is; an .xls given
    to `import` was read as text and called "UTF-16 without its byte order mark"."""
    from sheetcrm.i18n import _

    if not data.startswith(COMPOUND_FILE):
        return None
    if _ENCRYPTION_INFO in data:
        return _("{path}: the workbook is protected with a password (encrypted), which sheetcrm cannot read; open it "
                 "in your spreadsheet app, remove the password (Excel: File > Info > Protect Workbook > Encrypt with "
                 "Password; LibreOffice: File > Save As without Save with password) and save it again", path=path)
    if importing:
        return _("{path}: an Excel 97-2003 workbook (.xls) or another binary Office file, which sheetcrm does not "
                 "read; save it from your spreadsheet app as an Excel workbook (.xlsx) or as CSV, then import again",
                 path=path)
    return _("{path}: an Excel 97-2003 workbook (.xls) or another binary Office file, not an .xlsx; save it from "
             "your spreadsheet app as an Excel workbook (.xlsx)", path=path)


def xlsx_name_problem(path: str) -> str | None:
    """Why `path` cannot name an .xlsx workbook (one line, in the current language), or None.
    An .xlsx file is a zip package: written under "crm.csv" or "crm" it would open in no app
    as what its name says, and a CSV read as a workbook is no workbook, so the name must end
    in .xlsx (any case)."""
    from pathlib import PurePath

    from sheetcrm.i18n import _

    if path.lower().endswith(".xlsx"):
        return None
    try:
        suggestion = str(PurePath(path).with_suffix(".xlsx"))
    except ValueError:  # a name with no stem ("", "folder/"): only the ending can be added
        suggestion = f"{path}.xlsx"
    # Another spreadsheet format renamed to .xlsx, as "name it X.xlsx" advised, opens in no app
    # (an .xlsm's package keeps its macro content type, which Excel refuses under .xlsx; sheetcrm
    # would go on writing it): such a file needs a copy saved as .xlsx.
    kind = PurePath(path).suffix.lower()
    if kind in (".xlsm", ".xltm"):
        return _("{path}: sheetcrm keeps the CRM in an Excel workbook (.xlsx) and does not write a macro-enabled "
                 "one, which renamed to .xlsx would not open in Excel; save a copy as Excel Workbook (.xlsx), such "
                 "as {suggestion}, and point sheetcrm at it (the macros stay in {path})",
                 path=path, suggestion=suggestion)
    if kind in (".xls", ".xlsb", ".ods", ".numbers"):
        return _("{path}: sheetcrm keeps the CRM in an Excel workbook (.xlsx) and does not write a {kind} file, which "
                 "renamed to .xlsx would not open; open it in its app, save a copy as Excel Workbook (.xlsx), such "
                 "as {suggestion}, and point sheetcrm at it", path=path, kind=kind, suggestion=suggestion)
    return _("{path}: a workbook's name ends in .xlsx (sheetcrm keeps the CRM in an Excel workbook); name it "
             "{suggestion}, or bring a CSV's rows in with `sheetcrm import`", path=path, suggestion=suggestion)


def xlsx_name(path: str | None) -> str | None:
    """`path` itself when it may name an .xlsx workbook (None stays None); a settings
    validator's check (`Config.workbook`, a fleet entry's): raises ValueError with
    `xlsx_name_problem`'s line otherwise."""
    wrong = None if path is None else xlsx_name_problem(path)
    if wrong is not None:
        raise ValueError(wrong)
    return path


class WorkbookConflict(WorkbookError):
    """The workbook changed between the read a plan was made from and its write; nothing was
    written. Read again, plan again, and try again."""


class Workbook(Protocol):
    """What every backend offers. `describe()` names the target for messages and locks."""

    def describe(self) -> str: ...

    def exists(self) -> bool: ...

    def create(self) -> None:
        """Make an empty workbook where none exists yet."""
        ...

    def read(self) -> Snapshot: ...

    def write(self, plan: Plan) -> WriteResult: ...


def same_value(a: CellValue, b: CellValue) -> bool:
    """Whether two cell values count as unchanged for compare-and-set.

    Empty text and an empty cell are the same, 5 and 5.0 are the same, and a date or
    datetime is the same as its serial number (Google reports dates as serial numbers and a
    date-formatted cell holds one); a boolean never equals a number, since a spreadsheet
    keeps them apart even though Python does not.
    """
    return _canonical(a) == _canonical(b)


def cell_key(v: CellValue) -> tuple[str, object] | None:
    """What `same_value` compares: None for an empty cell, else (kind, value) with numbers as
    floats and dates as serial numbers. Hashable, so cells can be matched through dicts."""
    return _canonical(v)


def _canonical(v: CellValue) -> tuple[str, object] | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return ("bool", v)
    if isinstance(v, (int, float, Decimal)):
        return ("number", float(v))
    if isinstance(v, _dt.date):
        return ("number", serial_number(v))
    return ("text", v)


SERIAL_EPOCH = _dt.datetime(1899, 12, 30)


def serial_number(v: _dt.date) -> float:
    """A date as Sheets and Excel count it: days since 1899-12-30, time as the fraction."""
    if not isinstance(v, _dt.datetime):
        v = _dt.datetime(v.year, v.month, v.day)
    return (v.replace(tzinfo=None) - SERIAL_EPOCH) / _dt.timedelta(days=1)


def blanks_to_none(row: list[CellValue]) -> None:
    """Every "" of `row` becomes None, in place: an empty cell as both readers give it. Python
    touches only the empty cells, which C-level scans (`in`, `index`) find."""
    if "" in row:
        c = row.index("")
        try:
            while True:
                row[c] = None
                c = row.index("", c + 1)
        except ValueError:
            pass


def share_text(rows: list[list[CellValue]]) -> None:
    """Equal text cells of one tab become one str object, and equal whole numbers one int, in
    place: each row stays the same list, its values unchanged.

    A reader makes a new object for every cell, but a CRM's text repeats: stages, owners,
    sources, countries, yes/no. At 10k leads the cells' text takes 40 MB as read and 13 MB
    shared, and a pickle of the grid (the .xlsx grid memo) keeps the sharing: its file halves
    and reads back 30% faster. A Google read gives whole numbers as int (197k cells at 10k
    leads, 4,025 distinct: 4 MB). Only exact str and int cells are looked up, and no str is
    equal to an int, so 1, 1.0, True and "1", of which the numbers are equal keys of a dict,
    never stand in for one another. Each row is filled from a list made of its values and let
    go at once (a row rebuilt as a new list is over-allocated: 16 MB at 10k leads on Google).
    Costs about 80 ns a cell."""
    canon: dict[str | int, str | int] = {}
    one = canon.setdefault
    for row in rows:
        row[:] = [one(v, v) if (kind := v.__class__) is str or kind is int else v for v in row]


def trim_rows(rows: list[list[CellValue]]) -> list[list[CellValue]]:
    """Drop trailing empty cells of each row and trailing empty rows, as Google does."""
    out: list[list[CellValue]] = []
    for row in rows:
        end = len(row)
        while end and (row[end - 1] is None or row[end - 1] == ""):
            end -= 1
        out.append(list(row[:end]))
    while out and not out[-1]:
        out.pop()
    return out
