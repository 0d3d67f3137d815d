"""Import another tool's export (CSV or .xlsx) into one of the CRM's tabs: new records are
appended with IDs, records already there are matched, bad rows are rejected with reasons.

    result = import_file(book, config, Path("hubspot-contacts.csv"), "contacts", dry_run=False)
    result.counts  # {"added": 900, "matched": 100, "rejected": 3}

The file is read as the sheet is (`table.parse_table`): its header row is found and mapped
through the same aliases (HubSpot, Pipedrive, Salesforce and Zoho headers among them, in
aliases.toml), each column's conventions (decimal comma, day first) are inferred from all its
cells, and each row is validated by the record model. A row with an error is rejected with
the issue's message; the file's own IDs ("Record ID") are not sheetcrm's and are not kept.

A sound row is matched against the tab's records and the rows added before it from the same
file by `crm.matching`, the one matcher of "is this record already here" (conversion and forms
use it too): leads and contacts by `Known` (the same email, else the same phone and a similar
name), accounts by `Known` (the same folded name with no domain that disagrees, else the same
domain and a similar name; a domain alone is two companies until a person merges them: a
reseller, a group's divisions), opportunities by `KnownDeals` (the same Name and Account,
exact after normalisation). A row that matches more than one record alike is rejected naming
them all: a link is made without asking anyone, so it is made only without doubt. A row that
matches nothing is new: it is appended below everything the tab holds (`plan.append_writes`,
IDs from the marks), and a near miss is left for the Duplicates tab to propose. Nothing
already in the workbook is ever overwritten. With `fill_blanks`, a matched record's empty
cells (never a formula, however empty it reads) take the file's values: each write is keyed
by the record's ID and expects the cell still empty, so a value typed meanwhile wins.

`plan_import` is pure; `import_file` reads the file and the workbook and writes the plan.
"""

from __future__ import annotations

import codecs
import collections
import csv
import dataclasses
import io
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sheetcrm import cells, columns
from sheetcrm.candidates import Candidate, Unread, candidates
from sheetcrm.config import Config
from sheetcrm.crm.duplicates import company_key
from sheetcrm.crm.matching import Known, KnownDeals
from sheetcrm.crm.words import LEAD_STATUS, STAGE
from sheetcrm.engine import words_of
from sheetcrm.i18n import N_, _
from sheetcrm.os_errors import os_problem
from sheetcrm.ids import id_pattern
from sheetcrm.plan import append_writes, cell_value, owned_tab
from sheetcrm.intake.forms import split_in_doubt, split_name
from sheetcrm.intake.text import problem
from sheetcrm.records import Account, Contact, Lead
from sheetcrm.report import Issue, Report, column_letter
from sheetcrm.owned import locate
from sheetcrm.schema import MERGED, SEQUENCES, TABS
from sheetcrm.table import Row, Table, field_kinds, find_header_row, map_header, parse_table, tab_locale
from sheetcrm.validate import parse_context, read_crm, references_of, row_label, team_config
from sheetcrm.workbook import (CellWrite, Grid, Plan, Snapshot, Workbook, WorkbookConflict, WorkbookError, WriteResult,
                               binary_office_problem, same_value)

TABS_IMPORTED = ("leads", "contacts", "accounts", "opportunities")
ENCODINGS = ("utf-8-sig", "cp1252")  # utf-8-sig reads plain UTF-8 too; Excel on Windows saves CSV as cp1252
Progress = Callable[[str, int, "int | None"], None]


class ImportFileError(WorkbookError):
    """A file that cannot be read as an export, or a tab that cannot take new rows: one line."""


@dataclass
class Outcome:
    """What became of one row of the file."""

    line: int                     # the file's row number (the header is 1)
    status: str                   # "added", "matched" or "rejected"
    id: str | None = None         # the new record's ID, or the matched record's
    reasons: list[str] = field(default_factory=list)  # why it was rejected
    filled: int = 0               # empty cells of the matched record filled (--fill-blanks)
    candidates: list[str] = field(default_factory=list)  # the records an ambiguous row matches alike
    # What was read with a doubt (an ambiguous date, a number's separator): the issues at the
    # row's cells, as sync reports them on the Validation tab
    warnings: list[Issue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "status": self.status, "id": self.id, "reasons": self.reasons,
                "filled": self.filled, "candidates": self.candidates,
                "warnings": [_warning(w) for w in self.warnings]}


@dataclass
class ImportResult:
    tab: str                                   # the workbook's tab title
    rows: list[Outcome] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)   # the file's headers the tab has no column for
    warnings: list[Issue] = field(default_factory=list)  # about the whole file (its header row)
    plan: Plan = field(default_factory=Plan)
    written: WriteResult | None = None         # None on a dry run or with nothing to write
    dry_run: bool = False

    @property
    def counts(self) -> dict[str, int]:
        out = {"added": 0, "matched": 0, "rejected": 0}
        for row in self.rows:
            out[row.status] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"tab": self.tab, "dry_run": self.dry_run, "counts": self.counts, "ignored_columns": self.ignored,
                "warnings": [_warning(w) for w in self.warnings],
                "cells_planned": len(self.plan.writes),
                "cells_written": self.written.total if self.written else 0,
                "skipped": len(self.written.skipped) if self.written else 0,
                "rows": [r.as_dict() for r in self.rows]}


def readable(path: Path) -> None:
    """Raises ImportFileError with one line when `path` cannot be opened for reading (missing,
    a folder, not this user's to read)."""
    try:
        with path.open("rb"):
            pass
    except OSError as e:
        raise ImportFileError(_("{file}: cannot read: {problem}", file=path, problem=os_problem(e))) from None


def read_export(path: Path) -> Grid:
    """The file as rows of cells: an .xlsx's first sheet (values, dates as dates), or a CSV
    split at its `delimiter` (comma, semicolon, tab, pipe), read as UTF-16 when it starts with
    UTF-16's byte order mark, else as UTF-8 (with or without BOM), else cp1252 (unless it may
    be Mac Roman: `_not_mac_roman`). Raises ImportFileError with one line."""
    try:
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _read_xlsx(path)
        data = path.read_bytes()
    except OSError as e:
        raise ImportFileError(_("{file}: cannot read: {problem}", file=path, problem=os_problem(e))) from None
    if binary := binary_office_problem(path, data, importing=True):
        raise ImportFileError(binary)
    # Excel's "Unicode Text" (and some tools' CSV) is UTF-16 with its byte order mark; read
    # as Windows-1252 it was a NUL between every letter and "no header row".
    for encoding in ("utf-16",) if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # cp1252 leaves only five bytes undefined; UTF-16 an unpaired surrogate
        raise ImportFileError(_("{file}: not UTF-8, UTF-16 or Windows-1252 text", file=path))
    if encoding == "cp1252":
        _one_encoding(path, data)
        _not_mac_roman(path, data)
    separator = delimiter(text)
    if (line := _unclosed_quote(text, separator)) is not None:
        raise ImportFileError(_("{file}: line {line} opens a quoted cell (\") that is never closed: read as CSV, "
                                "every line after it is one cell of that row; close the quotes (or remove the stray "
                                "one), then import again", file=path, line=line))
    rows = _swallowing_checked(path, text, separator)
    if (joined := _text_after_quote(text, separator)) is not None:
        line, end, shown = joined
        raise ImportFileError(_("{file}: the quoted cell that line {line} opens is closed on line {end} with text "
                                "right after its closing quote ({shown}): a stray quote (\") joined cells of the "
                                "file into one; remove the stray quote (or double a quote inside a cell: \"\"), "
                                "then import again", file=path, line=line, end=end, shown=cells.quoted(shown)))
    return Grid(rows=[[None if v == "" else v for v in r] for r in rows])


# What the reader's line count counts as a line's end (StringIO with newline="").
_LINE_BREAK = re.compile(r"\r\n|[\r\n]")


def _swallowing_checked(path: Path, text: str, separator: str) -> list[list[str]]:
    """The CSV's rows; raises ImportFileError with one line, naming where it opens and where it
    closes, when a quoted cell holds lines that read as rows of the file: a stray quote at a
    cell's start that a later stray quote closes makes every row between them one cell with
    line breaks (in a Notes or custom column it was imported as one record, the rows between
    lost, without a word). A note's own lines are told from rows by their separators: a line
    inside the cell (after its first) with as many as a row of the file has (the most common
    width, 3 cells or more: a two-column file's notes often hold one comma)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows, starts, end = [], [], 0
    for row in reader:
        rows.append(list(row))
        starts.append(end + 1)
        end = reader.line_num
    widths = collections.Counter(len(r) for r in rows)
    width = max(widths, key=lambda w: (widths[w], w), default=0)
    if width < 3:
        return rows
    for row, start in zip(rows, starts):
        line = start
        for cell in row:
            lines = _LINE_BREAK.split(cell)
            if len(lines) > 1 and any(part.count(separator) == width - 1 for part in lines[1:]):
                raise ImportFileError(_(
                    "{file}: the quoted cell that line {line} opens and line {end} closes holds lines that read as "
                    "rows of the file (as many cells as its rows): a stray quote (\") made the rows between one "
                    "cell; remove the stray quotes (or double a quote inside a cell: \"\"), then import again",
                    file=path, line=line, end=line + len(lines) - 1))
            line += len(lines) - 1
    return rows


# A quoted cell's text after its opening quote, up to its closing quote ("" inside is one quote).
_QUOTED = re.compile(r'[^"]*(?:""[^"]*)*"(?!")')


def _unclosed_quote(text: str, separator: str) -> int | None:
    """The line (1-based) where a quoted cell opens that the text never closes, or None.
    Python's csv reader, as Excel, takes everything after such a quote as one cell: the rest
    of the file's rows vanished into the Notes of one record, and the import said "1 added"."""
    opening = re.compile(rf'(?:^|(?<=[{re.escape(separator)}\r\n]))"')  # at a cell's start
    at = 0
    while (found := opening.search(text, at)) is not None:
        close = _QUOTED.match(text, found.end())
        if close is None:
            return text.count("\n", 0, found.start()) + 1
        at = close.end()
    return None


def _text_after_quote(text: str, separator: str) -> tuple[int, int, str] | None:
    """(the line a quoted cell opens on, the line its closing quote is on, the text right after
    that quote) for the first quoted cell whose closing quote the cell's separator or line end
    does not follow, or None. No writer of CSV puts text there; the CSV reader (as Excel) joins
    it to the cell, so a stray quote at a cell's start that a later stray quote closes
    (`"Ruiz,Acme,zed@acme.com,Big" deal`) made one cell of the cells (or rows) between: a
    Last Name "Ruiz,Acme,zed@acme.com,Big deal", Company and Email empty, imported without a word."""
    opening = re.compile(rf'(?:^|(?<=[{re.escape(separator)}\r\n]))"')  # at a cell's start
    at = 0
    while (found := opening.search(text, at)) is not None:
        close = _QUOTED.match(text, found.end())
        if close is None:
            return None  # never closed: `_unclosed_quote` says so
        at = close.end()
        if at < len(text) and text[at] not in (separator, "\r", "\n"):
            after = text[at:at + 200].split(separator, 1)[0].splitlines()[0]
            if after.strip():  # spaces before the separator are harmless
                return (text.count("\n", 0, found.start()) + 1, text.count("\n", 0, at) + 1, after)
    return None


# A letter of UTF-8 beyond ASCII: a lead byte and its continuation bytes.
_UTF8_LETTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def _one_encoding(path: Path, data: bytes) -> None:
    """Raise ImportFileError when a file that is not UTF-8 as a whole, so read as Windows-1252,
    is two encodings: lines of UTF-8 letters beside lines of Windows-1252 bytes (exports of two
    tools joined, a UTF-8 file added to in an older Excel). Read as Windows-1252, every UTF-8
    letter was imported as two ("Peña" as "PeÃ±a") with nothing said. Or UTF-16 without its
    byte order mark: a NUL beside every letter, read as no header row at all."""
    lines = data.split(b"\n")
    if lines and lines[0].count(b"\x00") * 3 > len(lines[0]):
        raise ImportFileError(_("{file}: UTF-16 text without its byte order mark (a NUL byte beside every "
                                "letter); save it again as UTF-8 (or as Excel's Unicode Text), then import again",
                                file=path))
    utf8 = cp1252 = None
    for number, line in enumerate(lines, 1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            cp1252 = cp1252 or (number, line[e.start:e.start + 1])
            continue
        if _UTF8_LETTER.search(line):
            utf8 = utf8 or (number, next(c for c in text if not c.isascii()))
        if utf8 and cp1252:
            byte = "0x" + cp1252[1].hex().upper()
            raise ImportFileError(_("{file}: two encodings in one file: line {utf8} is UTF-8 (\"{letter}\"), line "
                                    "{other} is not (byte {byte}); read as Windows-1252, \"{letter}\" would be "
                                    "imported as \"{wrong}\". Save the file again in one encoding (UTF-8), then "
                                    "import again", file=path, utf8=utf8[0], letter=utf8[1], other=cp1252[0],
                                    byte=byte,
                                    wrong=utf8[1].encode("utf-8").decode("cp1252", "replace")))


# A byte of 0x80-0x9F inside a word: punctuation or a rare letter in Windows-1252, an accented
# letter in Mac Roman, what Excel for Mac's "Comma Separated Values" is saved in (0x8E é, 0x96 ñ,
# 0x87 á, 0x92 í). 0x92 is also Windows-1252's apostrophe: before a capital ("O’Brien") or
# an English ending ("don’t") it is one.
_MAC_LETTER = re.compile(rb"[A-Za-z](?:[\x80-\x91\x93-\x9f][A-Za-z]|\x92(?!(?:s|t|d|m|re|ll|ve)\b)[a-z])")
_WORD_END = re.compile(rb"[\s,;|\"']")


def _not_mac_roman(path: Path, data: bytes) -> None:
    """Raise ImportFileError when a file that is not UTF-8 may as well be Mac Roman as
    Windows-1252 (`_MAC_LETTER`): read as Windows-1252, "José Peña" from Excel for Mac was
    imported as "JosŽ Pe–a", with nothing said."""
    found = _MAC_LETTER.search(data)
    if found is None:
        return
    start, end = found.start(), found.end()
    while start > 0 and not _WORD_END.match(data, start - 1):
        start -= 1
    while end < len(data) and not _WORD_END.match(data, end):
        end += 1
    word = data[start:end]
    raise ImportFileError(_("{file}: not UTF-8, and line {line} holds {windows} read as Windows-1252 or {mac} read "
                            "as Mac Roman (Excel for Mac's CSV); which one it is cannot be told. Save the file "
                            "again as CSV UTF-8, then import again", file=path, line=data.count(b"\n", 0, start) + 1,
                            windows=cells.quoted(word.decode("cp1252", "replace")),
                            mac=cells.quoted(word.decode("mac_roman"))))


DELIMITERS = ",;\t|"


def delimiter(text: str, sample: int = 50) -> str:
    """The character between the cells of CSV `text`: of comma, semicolon, tab and pipe, the one
    that, read as CSV reads (quotes and all: a quoted note may hold line breaks and any of
    them), splits the header into two or more cells and the most of the first `sample` records
    into as many cells as the header; ties to the one that makes more header cells, then to the
    earlier. When none splits the header: one that leaves no cell filled (a file of nothing but
    separators is empty), else a comma (a one-column file).

    Not `csv.Sniffer`: it counts characters per physical line, so a quoted line break, or the
    decimal commas of a ';' file from a Spanish Excel, made it answer ',' and read the header as
    one cell."""
    best, chosen, empty = (0, 0), ",", None
    for d in DELIMITERS:
        try:
            records = [r for r in itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=d), sample * 4)
                       if any(v.strip() for v in r)][:sample]
        except csv.Error:
            continue
        if not records:
            empty = empty or d
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        score = (sum(len(r) == width for r in records), width)
        if score > best:
            best, chosen = score, d
    return chosen if best[0] or empty is None else empty


def _read_xlsx(path: Path) -> Grid:
    """The first worksheet, read as sync reads a workbook (`XlsxWorkbook.read`): the same values
    and types, in memory that grows with its cells (openpyxl's read-only rows are padded to
    the sheet's dimension, so one formatted cell at XFD1048576 made 17 billion of them)."""
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    try:
        tabs = XlsxWorkbook(path).read().tabs
    except WorkbookError as e:
        raise ImportFileError(str(e)) from None
    return next(iter(tabs.values()), Grid())


def import_file(book: Workbook, config: Config, path: Path, tab: str, *, dry_run: bool = False,
                fill_blanks: bool = False, progress: Progress | None = None, attempts: int = 3) -> ImportResult:
    """Read `path`, plan its rows into the `tab` ("leads", "contacts", "accounts",
    "opportunities") of `book`, and write the plan unless `dry_run`. A workbook saved by
    someone else meanwhile is read and planned again, up to `attempts` times."""
    hook = progress or (lambda phase, done, total: None)
    hook("reading", 0, 1)
    grid = read_export(path)
    for attempt in range(1, attempts + 1):
        snapshot = book.read()
        hook("reading", 1, 1)
        result = plan_import(snapshot, config, tab, grid, path.name, fill_blanks=fill_blanks, progress=hook)
        result.dry_run = dry_run
        if dry_run or not result.plan:
            return result
        try:
            hook("writing", 0, 1)
            result.written = book.write(result.plan)
            hook("writing", 1, 1)
            return result
        except WorkbookConflict:
            if attempt == attempts:
                raise
    raise AssertionError("unreachable")


def plan_import(snapshot: Snapshot, config: Config, tab: str, grid: Grid, source: str, *, fill_blanks: bool = False,
                progress: Progress | None = None) -> ImportResult:
    """The plan and the outcome of every row (rules in the module docstring). Pure."""
    hook = progress or (lambda phase, done, total: None)
    hook("validating", 0, 1)
    # As a sync reads and writes it: in the workbook's language when the config sets none.
    config = team_config(snapshot, config)
    crm = read_crm(snapshot, config)
    table = crm.tables.get(tab)
    spec = TABS[tab]
    if table is None:
        raise ImportFileError(_('There is no "{tab}" tab.', tab=config.tab(tab).title or spec.display_title(config.locale)))
    if "id" not in table.header.fields:
        raise ImportFileError(_("The {tab} tab has no ID column yet: run `sheetcrm sync` once, then import.",
                                tab=table.title))
    if not any(not cells.is_blank(v) for r in grid.rows for v in r):
        raise ImportFileError(_("{file}: the file is empty; there is nothing to import", file=source))
    report = Report(limit=10 ** 9)
    # The file's cells are read as the tab's would be: a column's own cells first, then the
    # config's locale, then the language of the tab they go to (never the file's own headers,
    # which would make "03/04/2026" a day in March or in April by what the other columns say).
    language = tab_locale(spec, table.title, table.header) or config.reading_locale()
    at = find_header_row(spec, grid, config.tab(tab))
    # Before columns are added to the grid (`_whole_names`).
    beyond = _beyond_header(grid, at, Path(source).suffix.lower() not in (".xlsx", ".xlsm"))
    grid, unmapped = _hubspot_probability(grid, at) if tab == "opportunities" else (grid, {})
    grid, shared, shared_said = _shared_fields(spec, table, source, grid, config, at)
    grid, whole_name, split_said = _whole_names(spec, source, grid, config, at)
    grid = _header_currency(spec, source, grid, config, at)
    incoming = parse_table(spec, source, grid, config.tab(tab), parse_context(config), report, language=language)
    closed: dict[int, str] = {}
    read: set[int] = set()  # the file's columns read though they name no column of the tab
    if tab == "opportunities":
        rewritten, closed, read = _closed_deals(grid, incoming.header, config)
        if rewritten is not None:  # read again with each closed deal's stage (and day) written in
            grid, report = rewritten, Report(limit=10 ** 9)
            incoming = parse_table(spec, source, grid, config.tab(tab), parse_context(config), report,
                                   language=language)
    incoming.header.labels.update(unmapped)  # listed as the file has it
    hook("validating", 1, 1)
    if not incoming.header.fields:
        examples = ", ".join(c.header if config.locale == "en" else c.header_es for c in spec.columns[1:4])
        raise ImportFileError(_("{file}: no header row names a column of the {tab} tab (such as {examples}); the "
                                "first row must hold the column names", file=source, tab=table.title,
                                examples=examples))
    result = ImportResult(table.title)
    own = {*table.header.fields, *table.header.custom}
    result.ignored = [incoming.header.labels[c] for f, c in {**incoming.header.fields, **incoming.header.custom}.items()
                      if f not in own and column_letter(c + 1) not in whole_name and c not in read]
    reasons: dict[int, list[str]] = {}
    warnings: dict[int, list[Issue]] = {}
    stage = incoming.header.fields.get("stage")
    stage_letter = column_letter(stage + 1) if tab == "opportunities" and stage is not None else None
    status = incoming.header.fields.get("status")
    status_letter = column_letter(status + 1) if tab == "leads" and status is not None else None
    # An Account or Contact naming no record of its tab, or two: the row would be an error in the
    # tab at the next sync, left out of every figure. Said now, the row is not written.
    for issue in references_of(crm, tab, incoming):
        if issue.severity == "error" and issue.code in _REFERRED and (named := _REFERRED[issue.code])[0] in crm.tables:
            issue = dataclasses.replace(issue, hint=f"{issue.hint} {_(named[1], tab=crm.tables[named[0]].title)}")
        report.add(issue)
    for issue in report.issues:
        if issue.code == "duplicate_header" and issue.row == incoming.header.row and issue.column in shared:
            continue  # said as what it is: a second column of a field (`_shared_fields`)
        if issue.code in ("no_room", "computed_name_taken"):
            # The file is only read: sheetcrm adds no column to it, wherever its last cell is, and
            # its column under a computed column's name ("Next Step") is listed as left out.
            continue
        if issue.severity == "error":
            said = issue.message
            if issue.code == "bad_enum" or issue.code in _REFERRED:
                # Another CRM's word ("In Progress", "Proposal Made"): which words are read is what to do.
                said = f"{said} {issue.hint}"
                if issue.column == stage_letter:
                    said += _("; or, to read that word as one of your stages, add it to that stage's `aliases` "
                              "under [[stages]] in sheetcrm.toml")
                elif issue.column == status_letter:
                    said += _("; or, to read that word as one of these statuses, add it to that status's words "
                              "under [lead_statuses] in sheetcrm.toml")
            shown = whole_name.get(issue.column or "", issue.header)  # an added name cell is the whole name's
            reasons.setdefault(issue.row or 0, []).append(f"{shown}: {said}" if shown else said)
        else:
            warnings.setdefault(issue.row or 0, []).append(issue)
    for line, said in (*shared_said.items(), *split_said.items()):
        warnings.setdefault(line, []).extend(said)
    # A number merged over several rows is said at the block's first row, but is in doubt on
    # every row it spans (each one's, or their total?): written, each row held it plainly.
    for r0, c0, r1, _c1 in grid.merges:
        said = [i for i in warnings.get(r0 + 1, []) if i.code == "merged_number" and i.column == column_letter(c0 + 1)]
        for line in range(r0 + 2, r1 + 2) if said else ():
            warnings.setdefault(line, []).extend(said)
    result.warnings = warnings.get(incoming.header.row, []) + warnings.get(0, [])
    # Text no cell can take, or a line break in a one-line field: never written.
    labels = incoming.header.labels
    free = set(incoming.header.custom.values())
    for row in incoming.rows:
        for col in sorted({*incoming.header.fields.values(), *free}):
            value = row.cells[col] if col < len(row.cells) else None
            if (found := problem(value, free_text=col in free)) is not None:
                shown = whole_name.get(column_letter(col + 1), labels.get(col, ""))
                reasons.setdefault(row.row, []).append(f"{shown}: {found.message}")
    for line, said in beyond.items():
        reasons.setdefault(line, []).append(said)
    for line, why in closed.items():  # first: what to do about its stage comes before the stage's own error
        reasons[line] = [why, *reasons.get(line, [])]
    for line, col in _footer(grid, incoming.header.row).items():
        # A report's footer is no record, whatever else its one cell fails or passes.
        reasons[line] = [_("the file's last rows, below an empty row, hold one cell each ({column}: {shown}): a "
                           "report's footer (a total, a copyright or \"generated by\" line), not a record; if it is "
                           "one, delete the empty row above it and import again",
                           column=labels.get(col) or column_letter(col + 1),
                           shown=cells.quoted(grid.rows[line - 1][col]))]
    phone = incoming.header.fields.get("phone")
    for row in incoming.rows if phone is not None else ():
        value = row.cells[phone] if phone < len(row.cells) else None
        if isinstance(value, str) and _SHORTENED.fullmatch(value.strip()):
            reasons.setdefault(row.row, []).append(_(
                "{column}: {shown} is a number as Excel writes it in scientific notation, its last digits lost; "
                "export the file again with the column as text (or type its cells as Text in Excel), then import "
                "again", column=labels.get(phone, ""), shown=cells.quoted(value)))
    whole = reasons.get(incoming.header.row, [])  # a missing required column rejects every row
    accounts = crm.tables.get("accounts")
    # An account with a bad cell is still one a deal can name (a reference reads it too).
    account_targets = [r.target for r in accounts.rows if isinstance(r.target, Account)] if accounts else []
    known: Known | KnownDeals = (KnownDeals(account_targets) if tab == "opportunities" else
                                 Known(config.duplicates, account_targets))
    index = _Index(candidates(table, snapshot.tabs.get(table.title)), known)
    if tab != "opportunities":
        # A record merged away is its survivor still: the export that held it finds the survivor.
        for record, survivor in _merged(snapshot, config.locale, table):
            index.alias(record, survivor)
    words = words_of(crm, config)
    marks = dict(crm.inputs.sequences) if crm.inputs else {}
    prefix = spec.id_prefix
    assert prefix is not None
    pattern = id_pattern(prefix)
    highest = max((int(m.group(1)) for r in table.rows if r.id and (m := pattern.match(cells.canonical_text(r.id)))),
                  default=0)
    counter = max(highest, marks.get(prefix, 0))
    new_rows: list[dict[str, Any]] = []
    filled = _Filled(table, incoming, whole_name, source)
    money = [f for f, k in field_kinds(spec).items() if k == "money"]
    as_fractions = _fraction_fields(spec, table, snapshot.tabs.get(table.title))
    added: dict[str, dict[str, Any]] = {}  # new ID -> its row's values
    total = len(incoming.rows)
    for n, row in enumerate(incoming.rows, 1):
        if n % 500 == 0 or n == total:
            hook("computing", n, total)
        record = row.record
        if record is None or whole or row.row in reasons:
            result.rows.append(Outcome(row.row, "rejected", reasons=whole + reasons.get(row.row, []),
                                       warnings=warnings.get(row.row, [])))
            continue
        values = _values(tab, record, words)
        for name in as_fractions & values.keys():
            values[name] = cell_value(getattr(record, name).scaleb(-2))
        doubted = _doubted(warnings.get(row.row, []), incoming, spec)
        unsure = {k: values.pop(k) for k in [k for k in values if k in doubted]}
        if doubts := index.doubts(record):
            # It may be a row whose key cell cannot be read: neither linked to it nor added as its twin.
            result.rows.append(Outcome(row.row, "rejected", candidates=[_label(c.row) for c in doubts],
                                       reasons=[_unsure(c) for c in doubts], warnings=warnings.get(row.row, [])))
            continue
        matches = index.find(record)
        if not matches and (namesakes := index.namesakes(record)):
            # Nothing in the row can link it, and a record of that name at that company is
            # there already: the same row imported again, most likely. Never its twin.
            labels = [_label(r) for r in namesakes]
            result.rows.append(Outcome(row.row, "rejected", candidates=labels, reasons=[_(
                "it may be {records}: the same name at the same company, and the row has no email or phone to "
                "tell them apart; sheetcrm does not guess: add the email or phone to the row, then import again "
                "(or type the row in by hand if they are two people)", records=", ".join(labels))],
                warnings=warnings.get(row.row, [])))
            continue
        if len(matches) > 1:
            labels = [_label(c) for c in matches]
            result.rows.append(Outcome(row.row, "rejected", candidates=labels, reasons=[_(
                "it matches {records} alike; sheetcrm does not choose: tell them apart or merge them, "
                "then import again", records=", ".join(labels))], warnings=warnings.get(row.row, [])))
            continue
        foreign = _unwritable_currency(record, values, table, config.currency)
        if foreign is not None and (fill_blanks or not matches):
            # Written, its amount would be another currency's: not added, nor filled in.
            result.rows.append(Outcome(row.row, "rejected", reasons=[foreign], warnings=warnings.get(row.row, [])))
            continue
        if matches:
            found = matches[0]
            outcome = Outcome(row.row, "matched", found.id, warnings=warnings.get(row.row, []))
            if fill_blanks:
                if (said := _other_currency(values, found, added, table, incoming, row, money, config.currency,
                                            source)) is not None:
                    outcome.warnings = [*outcome.warnings, said]
                if found.assigned and found.id in added:  # added from an earlier row of the file
                    empty = {k for k in unsure if cells.is_blank(added[found.id].get(k))}
                    outcome.filled = filled.into_new(added[found.id], values, row, found, outcome)
                else:
                    formulas = snapshot.tabs[table.title].formulas
                    empty = {filled.field_of.get(w.col, "") for w in _fills(table, found, unsure, formulas)}
                    fills = _fills(table, found, values, formulas)
                    fills = filled.take(fills, row, found, outcome)
                    outcome.filled = len(fills)
                    result.plan.writes.extend(fills)
                outcome.warnings = _left_empty(outcome.warnings, doubted, empty, table, found.id or "", False)
            result.rows.append(outcome)
            continue
        counter += 1
        new_id = f"{prefix}-{counter:04d}"
        new_rows.append(values | {"id": new_id})
        added[new_id] = new_rows[-1]
        filled.added(row.row, new_rows[-1])
        index.add(record, Row(0, new_id, record, [], assigned=True))
        result.rows.append(Outcome(row.row, "added", new_id, warnings=_left_empty(
            warnings.get(row.row, []), doubted, set(unsure), table, new_id, True)))
    writes, _after = append_writes(table, snapshot.tabs[table.title], new_rows)
    result.plan.writes.extend(writes)
    if counter != marks.get(prefix, 0) and new_rows:
        marks[prefix] = counter
        owned_tab(result.plan, snapshot, SEQUENCES, config.locale, [[k, v] for k, v in marks.items()])
    return result


# A value read one way that could be another (a number's separator, a date's day/month order,
# a bare 1 under Probability, a currency symbol of several currencies, a number merged over
# several rows: each row's, or their total?) is never written: the next sync would read the
# number or date the import chose, and say nothing (the doubt baked into the sheet for ever
# after). Left empty, and said at the file's cell, as a conversion
# leaves a deal's Amount it doubts empty (`steps.conversion`).
DOUBTED = frozenset({"ambiguous_number", "ambiguous_date", "ambiguous_percent", "symbol_guess", "merged_number"})
_CURRENCY_DOUBTS = frozenset({"symbol_guess"})  # the amounts' currency is in doubt: no amount is written
LEFT_EMPTY = "import_left_empty"
_LEFT_EMPTY = (N_("{columns} left empty in {id}, since this cell cannot be read with confidence: {why}"),
               N_("{columns} of {id} not filled in, since this cell cannot be read with confidence: {why}"),
               N_("Type the value into {id} in the {tab} tab once you know which it is."))


def _doubted(issues: list[Issue], incoming: Table, spec: Any) -> dict[str, Issue]:
    """The fields of a row of the file that are not written (`DOUBTED`): field -> the warning
    that doubts it. A doubted currency holds back its row's amounts too: written alone, they
    would read as the base currency."""
    by_letter = {column_letter(c + 1): f for f, c in {**incoming.header.fields, **incoming.header.custom}.items()}
    out: dict[str, Issue] = {}
    for issue in issues:
        if issue.code not in DOUBTED or (name := by_letter.get(issue.column or "")) is None:
            continue
        out.setdefault(name, issue)
        if issue.code in _CURRENCY_DOUBTS:
            kinds = field_kinds(spec)
            for other in ("currency", *(f for f, k in kinds.items() if k == "money")):
                out.setdefault(other, issue)
    return out


def _left_empty(issues: list[Issue], doubted: dict[str, Issue], empty: set[str], table: Table, record: str,
                added: bool) -> list[Issue]:
    """`issues` (a row's warnings) with each one that held back a value of the cells `empty`
    (fields the write would have filled) made an `import_left_empty` warning naming the tab's
    columns left empty in `record` (`added`: a new row; else a matched one, not filled in),
    the doubt's own words kept; the others as they are."""
    labels = {f: table.header.labels.get(c) or f for f, c in {**table.header.fields, **table.header.custom}.items()}
    out = []
    for issue in issues:
        names = [labels[f] for f, why in doubted.items() if why is issue and f in empty and f in labels]
        if not names:
            out.append(issue)
            continue
        fmt = {"columns": ", ".join(names), "id": record, "why": issue.message, "tab": table.title}
        out.append(dataclasses.replace(issue, code=LEFT_EMPTY, message=_(_LEFT_EMPTY[0 if added else 1], **fmt),
                                       hint=f"{issue.hint} {_(_LEFT_EMPTY[2], **fmt)}"))
    return out


_SHARED = {
    "shared_field": (N_('The columns "{first}" and "{later}" both fill {field}: a row\'s {later} is imported only '
                        'where its {first} is empty.'),
                     N_("Where both are filled, {later} is left out, said at the row.")),
    "shared_field_left_out": (N_("{later} ({shown}) is not imported: the row's {first} fills {field}."),
                              N_("Type it in by hand where it belongs (a note, a column of your own).")),
}


# The tab a reference's code is about: a row naming a record that is not there yet is imported
# once that record is.
_REFERRED = {"unknown_account": ("accounts", N_("If it is a new account, import it into the {tab} tab first.")),
             "unknown_contact": ("contacts", N_("If it is a new contact, import it into the {tab} tab first."))}

# A phone number Excel showed as a number and saved in scientific notation ("3.46123E+11", in
# Spanish "3,46123E+11"): its last digits are gone. Written as it is, the Phone was neither the
# number nor empty, and nothing said so.
_SHORTENED = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE]\+?\d+")


# A person's whole name in one column: Pipedrive's "Person - Name", a list's "Name" or "Full Name"
# (as normalize_key has them). With no First or Last Name column beside it, the column was left
# out and every person imported with no name.
_WHOLE_NAMES = ("name", "full name", "person name", "lead name", "contact name", "nombre completo",  # not for people
                "nombre y apellidos", "persona nombre")  # not for people: headers other tools write
_SPLIT = (N_('"{whole}" is read as First Name {first} and Last Name {last}: a whole name is split at its first '
             'space.'),
          N_("If that is not where the name splits, correct the two cells in the tab."))


def _whole_names(spec: Any, source: str, grid: Grid, config: Config, at: int
                 ) -> tuple[Grid, dict[str, str], dict[int, list[Issue]]]:
    """A leads or contacts export whose only name column is a whole name ("Person - Name",
    "Full Name"): the grid with First Name and Last Name columns added after its last, each
    row's name split as a form's is (`forms.split_name`: at the first space, or its comma; one word is a Last
    Name); the letters of the whole name's column and of the two added -> the whole name's
    header (a problem at an added cell is said at the whole name); and a `name_split` warning
    at each name whose split may be elsewhere (`forms.split_in_doubt`: "Mary Ann Smith", not
    "Juan Pérez Gómez").
    Unchanged, {} and {} when the file has a First or Last Name column, or no such column."""
    if spec.key not in ("leads", "contacts"):
        return grid, {}, {}
    header = map_header(spec, source, grid, config.tab(spec.key), Report(limit=10 ** 9), at)
    if "first_name" in header.fields or "last_name" in header.fields:
        return grid, {}, {}
    col = next((c for c, text in sorted(header.labels.items()) if c not in header.fields.values()
                and cells.normalize_key(text) in _WHOLE_NAMES), None)
    if col is None:
        return grid, {}, {}
    width = max((len(r) for r in grid.rows), default=0)
    rows = [list(r) + [None] * (width - len(r)) for r in grid.rows]
    said: dict[int, list[Issue]] = {}
    for i, line in enumerate(rows):
        if i < at:
            line += [None, None]
            continue
        if i == at:
            line += [c.header for c in spec.columns if c.field in ("first_name", "last_name")]
            continue
        whole = cells.parse_text(line[col]) if isinstance(line[col], str) else None
        first, last = split_name(whole) if whole else (None, None)
        line += [first, last]
        if whole and split_in_doubt(whole):
            fmt = {"whole": whole, "first": cells.quoted(first), "last": cells.quoted(last)}
            said[i + 1] = [Issue("warning", source, i + 1, column_letter(col + 1), header.labels[col], line[col],
                                 "name_split", _(_SPLIT[0], **fmt), _(_SPLIT[1], **fmt))]
    letters = {column_letter(c + 1): header.labels[col] for c in (col, width, width + 1)}
    return dataclasses.replace(grid, rows=rows), letters, said


def _shared_fields(spec: Any, table: Table, source: str, grid: Grid, config: Config, at: int
                   ) -> tuple[Grid, dict[str, int], dict[int, list[Issue]]]:
    """A file with two columns of one field (HubSpot's "Phone Number" and "Mobile Phone
    Number", both Phone): the sheet reads the first only, so a person with only a mobile
    number was imported with no phone. Returns the grid with each row's empty cell of the
    first column filled from the later one; the later columns, by letter (-> 0-based column);
    and the warnings, sheet row -> issues: at the header row one per later column
    (`shared_field`), at a row whose two cells differ one saying the later is left out
    (`shared_field_left_out`). `at`: the header row, 0-based."""
    settings = config.tab(spec.key)
    header = map_header(spec, source, grid, settings, Report(limit=10 ** 9), at)
    row = grid.rows[at] if at < len(grid.rows) else []
    later: dict[int, tuple[int, str]] = {}
    for col in sorted(header.labels):
        if col in header.fields.values() or col in header.custom.values():
            continue
        alone = map_header(spec, source, Grid(rows=[[row[col]]]), settings, Report(limit=10 ** 9)).fields
        first = next((header.fields.get(f) for f in alone), None)
        if first is not None and first != col:
            later[col] = (first, next(iter(alone)))
    if not later:
        return grid, {}, {}
    said: dict[int, list[Issue]] = defaultdict(list)
    names = {f: table.header.labels.get(c) or f for f, c in table.header.fields.items()}
    rows = list(grid.rows)
    # What a cell's format says moves with its value (the currency of "€1,200", a percentage).
    facts = {"errors": dict(grid.errors), "percent": set(grid.percent), "currency": dict(grid.currency),
             "codes": dict(grid.codes), "date_formats": dict(grid.date_formats)}
    for col, (first, name) in later.items():
        fmt = {"first": header.labels[first], "later": header.labels[col], "field": names.get(name, name)}
        message, hint = _SHARED["shared_field"]
        said[at + 1].append(Issue("warning", source, at + 1, column_letter(col + 1), header.labels[col],
                                  header.labels[col], "shared_field", _(message, **fmt), _(hint, **fmt)))
        for i in range(at + 1, len(rows)):
            line = rows[i]
            value = line[col] if col < len(line) else None
            if cells.is_blank(value):
                continue
            have = line[first] if first < len(line) else None
            if cells.is_blank(have):
                line = [*line, *[None] * (first + 1 - len(line))]
                line[first] = value
                rows[i] = line
                for kept in facts.values():
                    if (i, col) in kept:
                        if isinstance(kept, dict):
                            kept[(i, first)] = kept[(i, col)]
                        else:
                            kept.add((i, first))
            elif cells.parse_text(str(have)) != cells.parse_text(str(value)):
                message, hint = _SHARED["shared_field_left_out"]
                said[i + 1].append(Issue("warning", source, i + 1, column_letter(col + 1), header.labels[col], value,
                                         "shared_field_left_out", _(message, shown=cells.quoted(value), **fmt),
                                         _(hint, **fmt)))
    return (dataclasses.replace(grid, rows=rows, **facts),  # type: ignore[arg-type]
            {column_letter(c + 1): c for c in later}, dict(said))


# HubSpot's "Deal probability" is its pipeline stage's probability, a 0-1 fraction, not a
# probability a person set on the deal; read as Probability (normalize_key makes it Pipedrive's
# "Deal - Probability", a person's 0-100 on the deal) it was an override of the stage's, which
# stayed when the deal moved on: a deal at HubSpot's 20 % weighted at 20 % in Negotiation.
_HUBSPOT_PROBABILITY = "deal probability"  # not for people: a header HubSpot writes
_LEFT_OUT = "HubSpot: "  # not for people: a prefix that makes the header name no column (aliases.toml has none such)


def _hubspot_probability(grid: Grid, header: int) -> tuple[Grid, dict[int, str]]:
    """`grid` with HubSpot's "Deal probability" header (as typed: no hyphen) renamed so that it
    names no column, and {column: the header as typed}, for the ignored list; as it was when
    its `header` row (0-based) has no such cell."""
    row = grid.rows[header] if header < len(grid.rows) else []
    found = {c: v for c, v in enumerate(row)
             if isinstance(v, str) and " ".join(cells.canonical_text(v).casefold().split()) == _HUBSPOT_PROBABILITY}
    if not found:
        return grid, {}
    rows = list(grid.rows)
    rows[header] = [_LEFT_OUT + v if c in found else v for c, v in enumerate(row)]
    return dataclasses.replace(grid, rows=rows), found


# Pipedrive keeps a won or lost deal in the pipeline stage it was in ("Negotiation") and says
# won or lost in its own column; read by its Stage alone, every closed deal was open pipeline.
_DEAL_STATUS = ("deal status", "trato estado")  # not for people: "Deal - Status", "Trato - Estado", normalized
_CLOSED = {"won": "won", "ganado": "won", "ganada": "won",  # not for people: values Pipedrive writes
           "lost": "lost", "perdido": "lost", "perdida": "lost"}  # not for people: values Pipedrive writes
_DELETED = ("deleted", "eliminado", "eliminada", "borrado", "borrada")  # not for people: values Pipedrive writes
# When a closed deal was closed, of the columns Pipedrive exports: its Close Date then, rather than
# the Expected close date the deal had while open.
_CLOSED_ON = {  # not for people: headers Pipedrive writes, normalized
    "won": ("deal deal closed on", "deal won time", "trato trato cerrado el", "trato hora de ganado"),  # not for people
    "lost": ("deal deal closed on", "deal lost time", "trato trato cerrado el", "trato hora de perdido")}  # not for people


def _closed_deals(grid: Grid, header: Any, config: Config) -> tuple[Grid | None, dict[int, str], set[int]]:
    """A deals export whose Status column ("Deal - Status": open, won, lost, deleted) says a
    deal is closed: the grid again with each won (lost) deal's Stage cell holding the config's
    won (lost) stage and its Close Date the day it closed ("Deal - Deal closed on", else "Won
    time" / "Lost time", when the file has one filled), or None when nothing changes; and the
    rows rejected, sheet row -> why: a deleted deal, and a closed one when the config has no
    stage, or several, of its kind (which one is for a person to say); and the columns read
    (0-based: Status and the closing times), which are not listed as left out."""
    names = {cells.normalize_key(text): col for col, text in header.labels.items() if isinstance(text, str)}
    status = next((names[k] for k in _DEAL_STATUS if k in names), None)
    stage, close = header.fields.get("stage"), header.fields.get("close_date")
    if status is None or stage is None:
        return None, {}, set()
    kinds = {kind: [s.name for s in config.stages if s.kind == kind] for kind in ("won", "lost")}
    rows = [list(r) for r in grid.rows]
    refused: dict[int, str] = {}
    changed = False
    for i in range(header.row, len(rows)):
        row = rows[i]
        said = cells.parse_text(row[status]) if status < len(row) and isinstance(row[status], str) else None
        key = cells.normalize_key(said) if said else None
        if key in _DELETED:
            refused[i + 1] = _("{column} says {shown}: a deal deleted in the CRM it comes from is not imported; "
                               "delete the row from the file, or change that cell, to import it",
                               column=header.labels[status], shown=cells.quoted(row[status]))
            continue
        kind = _CLOSED.get(key or "")
        if kind is None:
            continue
        if len(kinds[kind]) != 1:
            refused[i + 1] = _("{column} says {shown}, and the config has {count} stages of that kind ({stages}); "
                               "sheetcrm does not choose: write the deal's stage in the Stage column, then import "
                               "again", column=header.labels[status], shown=cells.quoted(row[status]),
                               count=len(kinds[kind]), stages=", ".join(kinds[kind]) or "—")
            continue
        row.extend([None] * (max(stage, close or 0) + 1 - len(row)))
        row[stage], changed = kinds[kind][0], True
        on = next((row[names[k]] for k in _CLOSED_ON[kind] if k in names and names[k] < len(row)
                   and not cells.is_blank(row[names[k]])), None)
        if close is not None and on is not None:
            # "2024-02-03 10:00:00" is a moment; the Close Date is its day.
            row[close] = on.split(" ")[0] if isinstance(on, str) else on
    used = {status, *(names[k] for kind in _CLOSED_ON.values() for k in kind if k in names)}
    return (dataclasses.replace(grid, rows=rows) if changed else None), refused, used


def _beyond_header(grid: Grid, header: int, csv_file: bool = True) -> dict[int, str]:
    """Sheet row -> why it is rejected, for each row below the `header` row (0-based) with a
    value right of the header's last name, under no column. A row of a CSV whose text held the
    separator unquoted ("Called, no answer") is split once too often, every cell after the
    split one column late and the last one dropped: imported, its Notes read "Called", its
    other cells in the wrong columns, and nothing said so."""
    names = grid.rows[header] if header < len(grid.rows) else []
    last = max((c for c, v in enumerate(names) if not cells.is_blank(v)), default=-1)
    out = {}
    for i in range(header + 1, len(grid.rows)) if last >= 0 else ():
        line = grid.rows[i]
        col = next((c for c in range(last + 1, len(line)) if not cells.is_blank(line[c])), None)
        if col is not None:
            said = dict(cell=column_letter(col + 1) + str(i + 1), shown=cells.quoted(line[col]),
                        column=cells.parse_text(names[last]))
            # A spreadsheet's cells are never split at a separator: there the cell is one of no column.
            out[i + 1] = _("{cell} holds {shown}, right of the header row's last column ({column}), under no column "
                           "name: the row has more cells than the header, so its cells may be split in the wrong "
                           "places (a value holding the file's separator without quotes); correct the row in the "
                           "file, then import again", **said) if csv_file else \
                _("{cell} holds {shown}, right of the header row's last column ({column}), under no column name, so "
                  "which field it is cannot be told; give its column a header or clear the cell in the file, then "
                  "import again", **said)
    return out


def _footer(grid: Grid, header: int) -> dict[int, int]:
    """The rows of a report's footer: sheet row (1-based) -> the 0-based column of its one
    filled cell. A report exported as CSV (Salesforce's "Export Details") ends, below an empty
    row, with lines of one cell each: "Grand Totals (3 records)", "Copyright (c) 2000-2024
    salesforce.com...", "Generated By: ...", the company's name. Read as records, each was a
    new account (its Name the first cell) or lead. The footer is the file's trailing rows that
    each hold at most one cell, from the first empty row among them on; none in a file whose
    header holds fewer than two cells (there every row holds one)."""
    filled = [[c for c, v in enumerate(r) if not cells.is_blank(v)] for r in grid.rows]
    if header < 1 or header > len(filled) or len(filled[header - 1]) < 2:
        return {}
    start = len(filled)
    while start > header and len(filled[start - 1]) <= 1:
        start -= 1
    blank = next((i for i in range(start, len(filled)) if not filled[i]), None)
    if blank is None:
        return {}
    return {i + 1: filled[i][0] for i in range(blank, len(filled)) if filled[i]}


def _warning(issue: Issue) -> dict[str, Any]:
    """A warning as --format json gives it: the file's column, the cell as written, why, what to do."""
    return {"code": issue.code, "column": issue.header, "value": issue.as_dict()["value"], "message": issue.message,
            "hint": issue.hint}


def _values(tab: str, record: Any, words: Any) -> dict[str, Any]:
    """A record's cells as sheetcrm writes them: typed values, stages and statuses in the team's
    words, the team's own columns as the file had them."""
    values = {k: cell_value(v) for k, v in record.model_dump().items() if v is not None and k != "id"}
    if tab == "leads" and "status" in values:
        values["status"] = words(LEAD_STATUS, values["status"])
    if tab == "opportunities":
        values["stage"] = words(STAGE, values["stage"])
    values.update({k: v for k, v in record.custom.items() if not cells.is_blank(v)})
    return values


def _header_currency(spec: Any, source: str, grid: Grid, config: Config, at: int) -> Grid:
    """`grid` with each amount of a money column whose header names its currency ("Amount
    (EUR)", "Importe (€)") carrying that currency when neither its cell nor its row's Currency
    cell names one: a number by its format's currency (`Grid.currency`), a text by the code
    written before it. The sheet reads such an amount in the base currency and says so at the
    header (`header_currency`) every sync; imported, it was written as a plain 1,200 in a tab
    whose header says nothing, read as 1,200 of the base currency from then on. The file says
    which currency it is in, as a lead's Budget (EUR) does for its conversion. `at`: the header
    row, 0-based. Unchanged when no money column's header names a currency other than the base
    one."""
    header = map_header(spec, source, grid, config.tab(spec.key), Report(limit=10 ** 9), at)
    kinds = field_kinds(spec)
    money = {col: code for f, col in header.fields.items() if kinds.get(f) == "money" and col in header.currencies
             and (code := _code(header.currencies[col], config.currency)) not in (None, config.currency)}
    if not money:
        return grid
    currency_col = header.fields.get("currency")
    rows, facts = [list(r) for r in grid.rows], dict(grid.currency)
    for i in range(at + 1, len(rows)):
        row = rows[i]
        if currency_col is not None and currency_col < len(row) and not cells.is_blank(row[currency_col]):
            continue  # the row's Currency cell says it
        for col, code in money.items():
            raw = row[col] if col < len(row) else None
            if isinstance(raw, str) and not cells.is_blank(raw):
                readable, named = _named_currency(raw, config.locale)
                if not readable:
                    continue  # the read says what is wrong with it
                if named is None:
                    row[col] = f"{code} {raw.strip()}"
            elif isinstance(raw, (int, float)) and not isinstance(raw, bool) and (i, col) not in facts:
                facts[(i, col)] = code
    return dataclasses.replace(grid, rows=rows, currency=facts)


def _fraction_fields(spec: Any, table: Table, grid: Grid | None) -> set[str]:
    """The percentage fields (Probability) whose column in the tab holds its plain numbers as
    fractions (0.2 for 20 %, `columns.are_fractions`): an imported 15 % goes there as 0.15. As
    15 it made the column one of points, and every 0.2 a person typed there read 0.2 %."""
    if grid is None:
        return set()
    out = set()
    for name, kind in field_kinds(spec).items():
        if kind != "percent" or (col := table.header.fields.get(name)) is None:
            continue
        raws = [grid.cell(r.row - 1, col) for r in table.rows]
        formatted = {i for i, r in enumerate(table.rows) if (r.row - 1, col) in grid.percent}
        if columns.are_fractions(columns.plain_percents(raws, formatted, table.header.locale).values()):
            out.add(name)
    return out


def _named_currency(raw: str, locale: str) -> tuple[bool, str | None]:
    """Whether a text amount reads as a number in some convention, and the currency token it
    names (None when none). Not in `locale` only: the column's own cells decide how it reads,
    and "500,25" under a Spanish "Importe (EUR)" is 500.25 EUR though the config says "en"."""
    for loc in dict.fromkeys((locale, "en", "es")):
        try:
            return True, cells.parse_money(raw, loc)[1]
        except cells.CellError:
            continue
    return False, None


def _code(token: str, base: str) -> str | None:
    try:
        return cells.parse_currency(token, base)
    except cells.CellError:
        return None


def _unwritable_currency(record: Any, values: dict[str, Any], table: Table, base: str) -> str | None:
    """Why a row's amount cannot be written into `table`, or None: it is in another currency
    than `base` (its Currency cell, or the currency its amount cell names: "EUR 900") and the
    tab has no Currency column, so the number alone would read as `base` (1,500 EUR counted as
    1,500 USD in the pipeline, with nothing to say so)."""
    currency = getattr(record, "currency", None)
    if values.get("amount") is None or not currency or currency == base or "currency" in table.header.fields:
        return None
    return _("its amount is in {currency}, and the {tab} tab has no Currency column: written alone, the number "
             "would read as {base}; add a Currency column to {tab}, then import again",
             currency=currency, tab=table.title, base=base)


_OTHER_CURRENCY = (N_("{columns} not filled in {record}: the file's amount is in {file}, but {record}'s amounts are "
                      "in {currency}; filled, one would be read in the other's currency."),
                   N_("If it belongs there, convert it to {currency} and type it into {record} by hand."))


def _other_currency(values: dict[str, Any], found: Row, added: dict[str, dict[str, Any]], table: Table,
                    incoming: Table, row: Row, money: list[str], base: str, source: str) -> Issue | None:
    """With `--fill-blanks`, a matched record's amounts and its Currency are one thing: a file
    row in another currency than the record's (its Currency cell, else `base`) fills neither.
    Filled, its 1,000 USD went into the empty Amount of a deal in EUR as 1,000 EUR, or its EUR
    went into the empty Currency of a deal whose 5,000 was in the base currency (making them
    5,000 EUR). Takes the money fields and "currency" out of `values` (what fills the record)
    and returns the `fill_currency_differs` warning at the file's amount cell, or None when
    the currencies agree, or nothing of them would be filled."""
    ours = values.get("currency") or base
    if found.assigned and found.id in added:  # a record added from an earlier row of the file
        there = added[found.id]
        theirs, amounts = there.get("currency"), [f for f in money if there.get(f) is not None]
    else:
        filled = {f for f, col in table.header.fields.items()
                  if col < len(found.cells) and not cells.is_blank(found.cells[col])}
        theirs = getattr(found.record or found.target, "currency", None) if "currency" in filled else None
        amounts = [f for f in money if f in filled]
    # Its amounts are in its Currency, else the base one; with none yet, the file's currency fits.
    if ours == (theirs or base) or theirs is None and not amounts:
        return None
    held = [f for f in (*money, "currency") if f in values and not (f in amounts or f == "currency" and theirs)]
    for name in (*money, "currency"):
        values.pop(name, None)
    if not held:
        return None
    fields = {**incoming.header.fields}
    col = next((fields[f] for f in (*money, "currency") if f in fields), None)
    labels = {f: table.header.labels.get(c) or f for f, c in table.header.fields.items()}
    fmt = {"columns": ", ".join(labels.get(f, f) for f in held), "record": found.id, "file": ours,
           "currency": theirs or base}
    raw = row.cells[col] if col is not None and col < len(row.cells) else None
    return Issue("warning", source, row.row, column_letter(col + 1) if col is not None else None,
                 incoming.header.labels.get(col) if col is not None else None, raw, "fill_currency_differs",
                 _(_OTHER_CURRENCY[0], **fmt), _(_OTHER_CURRENCY[1], **fmt))


def _fills(table: Table, row: Row, values: dict[str, Any], formulas: set[tuple[int, int]]) -> list[CellWrite]:
    """Writes of `values` into the matched row's empty cells, each keyed by the row's ID.
    `formulas`: the tab's formula cells, (row, col) 0-based (`Grid.formulas`). A formula is a
    person's cell however empty it reads (`=IF(A2="","",...)`, or no value stored by a program
    that does not calculate): never filled, so never reported filled."""
    if row.id is None or row.assigned or row.row == 0:
        return []  # no ID to key the writes by (added from this file, or not yet synced)
    id_col = table.header.fields["id"]
    columns = {**table.header.fields, **table.header.custom}
    out = []
    for key, value in values.items():
        col = columns.get(key)
        if col is None or col == id_col:
            continue
        have = row.cells[col] if col < len(row.cells) else None
        if (row.row - 1, col) in formulas:
            continue
        if cells.is_blank(have) and not (isinstance(value, str) and cells.is_blank(value)):
            out.append(CellWrite(table.title, row.row, col + 1, value,
                                 expect=((id_col + 1, row.raw_id), (col + 1, None))))
    return out


_FILL_TAKEN = (N_("{column} ({shown}) is not written into {record}: row {line} of the file, the same record, "
                  "fills that cell with {other}."),
               N_("Which one is right is for a person to say: if it is this one, type it into the tab by hand."))


class _Filled:
    """The cells `--fill-blanks` fills, and from which row of the file: two rows of one record
    (the person exported twice, with two phones) each found the cell empty, so both were
    planned and counted, and the later overwrote the earlier in the same write with nothing
    said; a row matching a record added from an earlier row of the file filled nothing. The
    first row fills a cell; a later one with another value is a `fill_taken` warning at its
    cell, and one with the same value fills nothing more."""

    def __init__(self, table: Table, incoming: Table, whole_name: dict[str, str], source: str) -> None:
        fields = {**table.header.fields, **table.header.custom}
        self.field_of = {col + 1: name for name, col in fields.items()}  # the tab's column (1-based) -> field
        self.incoming, self.whole_name, self.source = incoming, whole_name, source
        self.by: dict[tuple[str, str], tuple[int, Any]] = {}  # (record ID, field) -> (file line, value)

    def added(self, line: int, values: dict[str, Any]) -> None:
        """A new record's values, from the file's row `line`."""
        for name, value in values.items():
            self.by[(values["id"], name)] = (line, value)

    def take(self, fills: list[CellWrite], row: Row, found: Row, outcome: Outcome) -> list[CellWrite]:
        """`fills` (into `found`'s empty cells) less those an earlier row of the file fills."""
        return [w for w in fills if self._first(row, found, self.field_of.get(w.col, ""), w.value, outcome)]

    def into_new(self, new: dict[str, Any], values: dict[str, Any], row: Row, found: Row, outcome: Outcome) -> int:
        """`values` into the empty fields of `new`, the row added for `found`; how many."""
        count = 0
        columns = set(self.field_of.values())  # a field the tab has no column for is written nowhere
        for name, value in values.items():
            if name in columns and name != "id" and self._first(row, found, name, value, outcome):
                new[name] = value
                count += 1
        return count

    def _first(self, row: Row, found: Row, name: str, value: Any, outcome: Outcome) -> bool:
        earlier = self.by.setdefault((found.id or "", name), (row.row, value))
        if earlier[0] == row.row:
            return True
        if not same_value(earlier[1], value):
            header = self.incoming.header
            col = {**header.fields, **header.custom}.get(name)
            raw = row.cells[col] if col is not None and col < len(row.cells) else value
            letter = column_letter(col + 1) if col is not None else None
            shown = self.whole_name.get(letter or "", header.labels.get(col, "") if col is not None else "")
            fmt = {"column": shown, "shown": cells.quoted(raw), "record": found.id, "line": earlier[0],
                   "other": cells.quoted(earlier[1])}
            outcome.warnings = [*outcome.warnings, Issue(
                "warning", self.source, row.row, letter, shown or None, raw, "fill_taken",
                _(_FILL_TAKEN[0], **fmt), _(_FILL_TAKEN[1], **fmt))]
        return False


class _Index:
    """The tab's records (and the file's rows added so far) by what links a row to them:
    `crm.matching`'s `Known` for leads, contacts and accounts, its `KnownDeals` for
    opportunities. Every row of the tab is in it, those with a bad cell by what of them reads
    (`sheetcrm.candidates`), with the key cells they cannot read."""

    def __init__(self, rows: list[Candidate], known: Known | KnownDeals) -> None:
        self.known = known
        self.rows: dict[int, Row] = {}
        self.unsure: dict[int, Candidate] = {}
        self.named: dict[tuple[str, str], list[Row]] = defaultdict(list)
        for c in rows:
            if c.unread:
                self.unsure[id(c.row)] = c
                known.add(id(c.row), c.record, c.unread_fields)
                self._name(c.record, c.row)
            else:
                self.add(c.record, c.row)

    def add(self, record: Any, row: Row) -> None:
        self.rows[id(row)] = row
        self.known.add(id(row), record)
        self._name(record, row)

    def _person(self, record: Any) -> tuple[tuple[str, str], bool] | None:
        """A lead's or contact's (folded name, company key), and whether an email or a phone
        can link it; None for other records and for a person without a name."""
        if not isinstance(self.known, Known) or not isinstance(record, (Lead, Contact)):
            return None
        k = self.known.keys(record)
        if not k.name:
            return None
        # A contact's Account that names no account is still the company it says.
        company = k.company or company_key(record.account if isinstance(record, Contact) else None)
        return (k.name, company), bool(k.email or k.phone)

    def _name(self, record: Any, row: Row) -> None:
        if (person := self._person(record)) is not None:
            self.named[person[0]].append(row)

    def namesakes(self, record: Any) -> list[Row]:
        """The people of `record`'s name at its company, in the order added, when nothing in
        `record` (an email, a phone) can link it: its own re-import would be their twin. []
        otherwise, and for accounts and deals (their names link them)."""
        person = self._person(record)
        if person is None or person[1]:
            return []
        return list({id(r): r for r in self.named.get(person[0], ())}.values())

    def alias(self, record: Any, row: Row) -> None:
        """`record` (a row a merge removed, as the Merged tab keeps it) is `row`, its survivor."""
        if id(row) in self.rows:
            self.known.add(id(row), record)
            self._name(record, row)

    def find(self, record: Any) -> list[Row]:
        """The records `record` already is, the oldest first; more than one is ambiguous."""
        return [self.rows[n] for n in dict.fromkeys(self.known.find(record))]  # type: ignore[index]

    def doubts(self, record: Any) -> list[Candidate]:
        """The rows whose key cells cannot be read that `record` may be (`Known.doubts`)."""
        if not self.unsure:
            return []
        return [self.unsure[n] for n in self.known.doubts(record)]  # type: ignore[index]


# What a merged record is known by, of the cells the Merged tab keeps ("Email=ana@x.example").
_KEYS = {"leads": ("first_name", "last_name", "company", "email", "phone", "country"),
         "contacts": ("first_name", "last_name", "account", "email", "phone"),
         "accounts": ("name", "domain", "country")}
_RECORDS = {"leads": Lead, "contacts": Contact, "accounts": Account}


def _merged(snapshot: Snapshot, locale: str, table: Table) -> list[tuple[Any, Row]]:
    """The records a merge removed from `table` (the Merged tab's rows of that tab: Survivor,
    Tab, ID, then one "Header=Value" cell per filled cell), each with its survivor's row in
    `table`, a survivor merged in turn followed to its own; a row whose survivor is not in
    the tab is left out. Each record holds only what it is matched by (`_KEYS`), as text."""
    place = locate(snapshot, MERGED, locale)
    key = table.spec.key
    if not place.exists or key not in _KEYS:
        return []
    fields = {cells.normalize_key(c.header): c.field for c in table.spec.columns}
    fields |= {cells.normalize_key(c.header_es): c.field for c in table.spec.columns}
    fields |= {cells.normalize_key(table.header.labels[col]): f for f, col in table.header.fields.items()
               if col in table.header.labels}
    rows = {cells.match_key(r.id): r for r in table.rows if r.id}
    survivors: dict[str, str] = {}
    found: list[tuple[str, dict[str, str]]] = []
    title = cells.normalize_key(table.title)
    for line in snapshot.tabs[place.title].rows[1:]:
        text = [cells.canonical_text(v) if isinstance(v, str) else v for v in line]
        if len(text) < 4 or not isinstance(text[1], str) or not isinstance(text[3], str) \
                or not isinstance(text[2], str) or cells.normalize_key(text[2]) != title:
            continue
        survivors[cells.match_key(text[3])] = cells.match_key(text[1])
        values: dict[str, str] = {}
        for cell in text[4:]:
            if isinstance(cell, str) and "=" in cell:
                label, value = cell.split("=", 1)
                if (f := fields.get(cells.normalize_key(label))) in _KEYS[key] and value.strip():
                    values[f] = value.strip()
        found.append((text[3], values))
    out = []
    for merged, values in found:
        survivor, hops = survivors.get(cells.match_key(merged)), 0
        while survivor is not None and survivor not in rows and hops < len(survivors):
            survivor, hops = survivors.get(survivor), hops + 1
        if survivor in rows and values:
            out.append((_RECORDS[key].model_construct(**values), rows[survivor]))
    return out


def _unsure(c: Candidate) -> str:
    """Why a row that may be `c` is rejected: the cell, and what to do."""
    cell: Unread = c.unread[0]
    if cell.field == "id":
        return _("it may be {record}, but its ID {shown} ({cell}) is also on row {also}; sheetcrm does not guess: "
                 "give one of the two rows another ID, then import again", record=_label(c.row),
                 shown=cells.quoted(cell.value), cell=cell.cell, also=cell.also)
    return _("it may be {record}, but {cell} ({shown}) cannot be read; sheetcrm does not guess: fix that cell, "
             "then import again", record=_label(c.row), cell=cell.cell, shown=cells.quoted(cell.value))


def _label(row: Row) -> str:
    """A candidate as a person finds it: its ID (a row added from the file has one too), else
    its row."""
    return row.id or row_label(row)
