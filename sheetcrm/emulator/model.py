"""Spreadsheet state: sheets, their grids of cells, and the objects anchored to rows and
columns (protected ranges, merges, developer metadata) that must follow them when rows
or columns are inserted, deleted or sorted.

Cells are stored in the API's own CellData shape, holding only what the user entered
(``userEnteredValue``, ``userEnteredFormat``, ``note``, ``dataValidation``...). Effective and
formatted values are derived on read, so formulas always reflect the current grid.
A cell dict is never mutated in place, only replaced.

Every mutating request runs inside ``Spreadsheet.transaction``, which undoes all of it if
the request fails, at a cost that follows what the request changed rather than the size
of the spreadsheet:

- Cells are journaled. The first time a transaction replaces row ``r`` of a sheet's cell
  map, the row object that was there (or its absence) is remembered; a rebuilt map
  (rows inserted, deleted or reordered) remembers the whole previous map once. Rows of
  the committed state are never edited in place (a transaction's first write to a row
  copies it), so putting the remembered objects back restores the grid exactly.
- Everything else (properties, sheet order, protected ranges, merges, charts, filters,
  row/column properties, developer metadata, named ranges) is small next to the grid and
  edited in place all over the request handlers, so it is simply copied when the
  transaction starts and put back on failure.
"""

from __future__ import annotations

import copy
import datetime as _dt
from contextlib import contextmanager
from types import MappingProxyType
from typing import Iterator, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import a1, formula, values
from .errors import invalid
from .format import DEFAULT_FORMAT, DEFAULT_THEME

MAX_CELLS = 10_000_000
DEFAULT_ROWS = 1000
DEFAULT_COLUMNS = 26

# Keys of CellData that are stored; everything else is derived on read.
STORED_CELL_KEYS = ("userEnteredValue", "userEnteredFormat", "note", "dataValidation", "hyperlink", "textFormatRuns")


def now_rfc3339() -> str:
    moment = _dt.datetime.now(_dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Undo:
    """How to put a Sheet back as it was when its transaction began."""

    def __init__(self, sheet: "Sheet"):
        self.state = sheet._small_state()
        self.rows: dict[int, dict | None] = {}  # row index -> row object it held (None: no row)
        self.cells: dict | None = None  # the map as it was when a rebuilt one replaced it
        self.fresh: set[int] = set()  # rows copied by this transaction, so editable in place


class Sheet:
    def __init__(self, properties: dict):
        self.properties = properties
        self._cells: dict[int, dict[int, dict]] = {}
        self._undo: _Undo | None = None
        self.row_meta: dict[int, dict] = {}
        self.col_meta: dict[int, dict] = {}
        self.protected_ranges: list[dict] = []
        self.merges: list[dict] = []
        self.charts: list[dict] = []
        self.conditional_formats: list[dict] = []
        self.basic_filter: dict | None = None
        self.filter_views: list[dict] = []

    # -- identity and size -------------------------------------------------
    @property
    def id(self) -> int:
        return self.properties["sheetId"]

    @property
    def title(self) -> str:
        return self.properties["title"]

    @property
    def grid(self) -> dict:
        return self.properties.setdefault("gridProperties", {})

    @property
    def row_count(self) -> int:
        return self.grid.get("rowCount", 0)

    @property
    def column_count(self) -> int:
        return self.grid.get("columnCount", 0)

    def resize(self, rows: int | None = None, columns: int | None = None) -> None:
        """Shrinking drops whatever lies outside the new grid, as on Sheets. Nothing lies
        outside the grid before that, so keeping or growing a size costs nothing."""
        if rows is not None:
            if rows < self.row_count:
                for r in [r for r in self._cells if r >= rows]:
                    self._drop_row(r)
                self.row_meta = {r: m for r, m in self.row_meta.items() if r < rows}
            self.grid["rowCount"] = rows
        if columns is not None:
            if columns < self.column_count:
                for r, row in list(self._cells.items()):
                    outside = [c for c in row if c >= columns]
                    if outside:
                        row = self._own_row(r)
                        for c in outside:
                            del row[c]
                        if not row:
                            self._drop_row(r)
                self.col_meta = {c: m for c, m in self.col_meta.items() if c < columns}
            self.grid["columnCount"] = columns

    # -- cells ---------------------------------------------------------------
    @property
    def cells(self) -> Mapping[int, Mapping[int, dict]]:
        """Read-only: changes go through ``put`` and ``replace_cells``, which a transaction
        can undo."""
        return MappingProxyType(self._cells)

    def cell(self, r: int, c: int) -> dict | None:
        row = self._cells.get(r)
        return row.get(c) if row else None

    def put(self, r: int, c: int, cell: dict | None) -> None:
        cell = {k: v for k, v in (cell or {}).items() if k in STORED_CELL_KEYS and v not in (None, {}, "")}
        if cell:
            self._own_row(r)[c] = cell
        elif c in self._cells.get(r, ()):
            row = self._own_row(r)
            del row[c]
            if not row:
                self._drop_row(r)

    def replace_cells(self, cells: dict[int, dict[int, dict]]) -> None:
        """Install a rebuilt cell map, e.g. with rows shifted. Its rows may be shared with
        the map it replaces, so none of them may be edited in place any more."""
        undo = self._undo
        if undo is not None:
            if undo.cells is None:
                undo.cells = self._cells
            undo.fresh = set()
        self._cells = cells

    def _remember(self, r: int) -> None:
        undo = self._undo
        # Once the map was rebuilt, rollback drops the rebuilt one whole.
        if undo is not None and undo.cells is None and r not in undo.rows:
            undo.rows[r] = self._cells.get(r)

    def _drop_row(self, r: int) -> None:
        self._remember(r)
        del self._cells[r]

    def _own_row(self, r: int) -> dict:
        """Row ``r``, created if missing, as a dict this write may edit in place."""
        row = self._cells.get(r)
        undo = self._undo
        # A row of the committed state is what rollback puts back, so it is copied, not edited.
        if row is None or (undo is not None and r not in undo.fresh):
            self._remember(r)
            row = self._cells[r] = dict(row or {})
            if undo is not None:
                undo.fresh.add(r)
        return row

    def has_value(self, r: int, c: int) -> bool:
        cell = self.cell(r, c)
        return bool(cell and cell.get("userEnteredValue"))

    def clone(self) -> "Sheet":
        other = Sheet(copy.deepcopy(self.properties))
        other._cells = {r: dict(row) for r, row in self._cells.items()}
        other.row_meta = dict(self.row_meta)
        other.col_meta = dict(self.col_meta)
        other.protected_ranges = copy.deepcopy(self.protected_ranges)
        other.merges = copy.deepcopy(self.merges)
        other.charts = copy.deepcopy(self.charts)
        other.conditional_formats = copy.deepcopy(self.conditional_formats)
        other.basic_filter = copy.deepcopy(self.basic_filter)
        other.filter_views = copy.deepcopy(self.filter_views)
        return other

    # -- transactions ------------------------------------------------------------
    def _small_state(self) -> tuple:
        return (
            copy.deepcopy(self.properties),
            dict(self.row_meta),
            dict(self.col_meta),
            copy.deepcopy(self.protected_ranges),
            copy.deepcopy(self.merges),
            copy.deepcopy(self.charts),
            copy.deepcopy(self.conditional_formats),
            copy.deepcopy(self.basic_filter),
            copy.deepcopy(self.filter_views),
        )

    def begin(self) -> None:
        self._undo = _Undo(self)

    def end(self) -> None:
        self._undo = None

    def rollback(self) -> None:
        undo, self._undo = self._undo, None
        cells = undo.cells if undo.cells is not None else self._cells
        for r, row in undo.rows.items():
            if row is None:
                cells.pop(r, None)
            else:
                cells[r] = row
        self._cells = cells
        (self.properties, self.row_meta, self.col_meta, self.protected_ranges, self.merges, self.charts,
         self.conditional_formats, self.basic_filter, self.filter_views) = undo.state

    # -- persistence -----------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "properties": self.properties,
            "cells": {str(r): {str(c): cell for c, cell in row.items()} for r, row in self._cells.items()},
            "rowMeta": {str(k): v for k, v in self.row_meta.items()},
            "colMeta": {str(k): v for k, v in self.col_meta.items()},
            "protectedRanges": self.protected_ranges,
            "merges": self.merges,
            "charts": self.charts,
            "conditionalFormats": self.conditional_formats,
            "basicFilter": self.basic_filter,
            "filterViews": self.filter_views,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Sheet":
        sheet = cls(data["properties"])
        sheet._cells = {int(r): {int(c): cell for c, cell in row.items()} for r, row in data["cells"].items()}
        sheet.row_meta = {int(k): v for k, v in data.get("rowMeta", {}).items()}
        sheet.col_meta = {int(k): v for k, v in data.get("colMeta", {}).items()}
        sheet.protected_ranges = data.get("protectedRanges", [])
        sheet.merges = data.get("merges", [])
        sheet.charts = data.get("charts", [])
        sheet.conditional_formats = data.get("conditionalFormats", [])
        sheet.basic_filter = data.get("basicFilter")
        sheet.filter_views = data.get("filterViews", [])
        return sheet


class Spreadsheet:
    def __init__(self, spreadsheet_id: str, title: str):
        self.id = spreadsheet_id
        self.properties = {
            "title": title,
            "locale": "en_US",
            "autoRecalc": "ON_CHANGE",
            "timeZone": "Etc/GMT",
            "defaultFormat": copy.deepcopy(DEFAULT_FORMAT),
            "spreadsheetTheme": copy.deepcopy(DEFAULT_THEME),
        }
        self.sheets: list[Sheet] = []
        self.developer_metadata: list[dict] = []
        self.named_ranges: list[dict] = []
        # Who owns it and how it is shared with the caller (`access`): None, the caller's own.
        self.owner: str | None = None
        self.caller: str | None = None
        self.role = "owner"
        self.created = now_rfc3339()
        self.modified = self.created

    # -- sheets ----------------------------------------------------------------
    def add_sheet(self, properties: dict) -> Sheet:
        sheet = Sheet(properties)
        index = properties.get("index", len(self.sheets))
        self.sheets.insert(min(index, len(self.sheets)), sheet)
        self.reindex()
        return sheet

    def reindex(self) -> None:
        for i, sheet in enumerate(self.sheets):
            sheet.properties["index"] = i

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        return next((s for s in self.sheets if s.id == sheet_id), None)

    def sheet_by_title(self, title: str) -> Sheet | None:
        exact = next((s for s in self.sheets if s.title == title), None)
        if exact:
            return exact
        # Sheets matches tab names case-insensitively in ranges.
        return next((s for s in self.sheets if s.title.lower() == title.lower()), None)

    def total_cells(self) -> int:
        return sum(s.row_count * s.column_count for s in self.sheets)

    def check_cell_limit(self) -> None:
        if self.total_cells() > MAX_CELLS:
            raise invalid(
                f"This action would increase the number of cells in the workbook above the limit of {MAX_CELLS} cells."
            )

    # -- ranges ----------------------------------------------------------------
    def resolve(self, text: str, *, must_fit: bool = True) -> tuple[Sheet, int, int, int, int]:
        """A1 text -> (sheet, start_row, end_row, start_col, end_col), open ends filled in
        from the grid. With must_fit, a box reaching past the grid is Google's 400."""
        rng = a1.parse(text, {s.title for s in self.sheets})
        if rng.sheet is None:
            sheet = self.sheets[0]
        else:
            sheet = self.sheet_by_title(rng.sheet)
            if sheet is None:
                raise invalid(f"Unable to parse range: {text}")
        sr = rng.start_row or 0
        sc = rng.start_col or 0
        er = rng.end_row if rng.end_row is not None else max(sheet.row_count, sr + 1)
        ec = rng.end_col if rng.end_col is not None else max(sheet.column_count, sc + 1)
        if must_fit and (er > sheet.row_count or ec > sheet.column_count):
            raise invalid(
                f"Range ({text}) exceeds grid limits. Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
            )
        return sheet, sr, er, sc, ec

    # -- derived cell content ------------------------------------------------
    def effective(self, sheet: Sheet, r: int, c: int, visiting: frozenset = frozenset()) -> dict | None:
        cell = sheet.cell(r, c)
        entered = (cell or {}).get("userEnteredValue")
        if not entered:
            return None
        if "formulaValue" not in entered:
            return entered
        key = (sheet.id, r, c)
        if key in visiting:
            return {"errorValue": {"type": "REF", "message": formula.REF.message}}
        inner = visiting | {key}

        def lookup(title, row, col):
            target = sheet if title is None else self.sheet_by_title(title)
            if target is None:
                return formula.unresolved(title)
            found = self.effective(target, row, col, inner)
            value = _python_value(found)
            if isinstance(value, float):
                # A number read from a cell brings the cell's format along, for Sheets' automatic
                # formatting of the formula (formula.Shown).
                return formula.Shown(value, self.number_format(target.cell(row, col), found))
            return value

        result = formula.evaluate(entered["formulaValue"], lookup, self.now)
        if isinstance(result, formula.FormulaError):
            return {"errorValue": {"type": result.kind, "message": result.message}}
        if result is None:
            return None
        if isinstance(result, bool):
            return {"boolValue": result}
        if isinstance(result, float):
            value = {"numberValue": values.json_number(float(result))}
            computed = formula.number_format(result)
            return values.Computed(value, computed) if computed else value
        return {"stringValue": str(result)}

    @staticmethod
    def number_format(cell: dict | None, effective: dict | None) -> dict | None:
        """The number format a cell shows its value in: its own (userEnteredFormat), else the one
        Sheets computes for its formula's result (`values.Computed`), else None."""
        return ((cell or {}).get("userEnteredFormat") or {}).get("numberFormat") or values.auto_format(effective)

    def now(self) -> _dt.datetime:
        """The moment in the spreadsheet's time zone, as TODAY and NOW read it."""
        try:
            zone = ZoneInfo(self.properties.get("timeZone") or "Etc/GMT")
        except (ZoneInfoNotFoundError, ValueError):
            zone = _dt.timezone.utc
        return _dt.datetime.now(zone)

    def rendered_cell(self, sheet: Sheet, r: int, c: int) -> dict:
        """Full CellData for a cell, as spreadsheets.get with grid data shows it."""
        cell = dict(sheet.cell(r, c) or {})
        effective = self.effective(sheet, r, c)
        number_format = self.number_format(cell, effective)
        if effective is not None:
            cell["effectiveValue"] = dict(effective)
            text = values.formatted(effective, number_format, self.properties.get("locale") or "en_US")
            if text is not None:
                cell["formattedValue"] = text
        if cell.get("userEnteredValue") or cell.get("userEnteredFormat"):
            # "if the cell contains a formula, the computed number format" (CellData.effectiveFormat):
            # the one the formatted value above is shown in.
            shown = {"numberFormat": number_format} if number_format else {}
            cell["effectiveFormat"] = _merge(self.properties["defaultFormat"],
                                             _merge(cell.get("userEnteredFormat") or {}, shown))
        return cell

    @contextmanager
    def transaction(self) -> Iterator["Spreadsheet"]:
        """Changes made inside are all undone if it exits with an exception (see the
        module docstring for how)."""
        saved = (copy.deepcopy(self.properties), list(self.sheets), copy.deepcopy(self.developer_metadata),
                 copy.deepcopy(self.named_ranges))
        sheets = saved[1]
        for sheet in sheets:
            sheet.begin()
        try:
            yield self
        except BaseException:
            self.properties, self.sheets, self.developer_metadata, self.named_ranges = saved
            for sheet in sheets:
                sheet.rollback()
            raise
        for sheet in sheets:
            sheet.end()

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "properties": self.properties,
            "sheets": [s.to_json() for s in self.sheets],
            "developerMetadata": self.developer_metadata,
            "namedRanges": self.named_ranges,
            "created": self.created,
            "modified": self.modified,
            **({"owner": self.owner, "caller": self.caller, "role": self.role} if self.owner else {}),
        }

    @classmethod
    def from_json(cls, data: dict) -> "Spreadsheet":
        book = cls.__new__(cls)
        book.id = data["id"]
        book.properties = data["properties"]
        book.sheets = [Sheet.from_json(s) for s in data["sheets"]]
        book.developer_metadata = data.get("developerMetadata", [])
        book.named_ranges = data.get("namedRanges", [])
        book.owner, book.caller, book.role = data.get("owner"), data.get("caller"), data.get("role", "owner")
        book.created = data["created"]
        book.modified = data["modified"]
        return book


def _python_value(effective: dict | None):
    if not effective:
        return None
    if "numberValue" in effective:
        return float(effective["numberValue"])
    if "boolValue" in effective:
        return effective["boolValue"]
    if "stringValue" in effective:
        return effective["stringValue"]
    err = effective.get("errorValue", {})
    return formula.FormulaError(values.ERROR_CODES.get(err.get("type"), "#ERROR!"), err.get("type", "ERROR"), err.get("message", ""))


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out
