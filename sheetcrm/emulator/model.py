"""Spreadsheet state: sheets, their grids of cells, and the objects anchored to rows and
columns (protected ranges, merges, developer metadata) that must follow them when rows
or columns are inserted, deleted or sorted.

Cells are stored in the API's own CellData shape, holding only what the user entered
(``userEnteredValue``, ``userEnteredFormat``, ``note``, ``dataValidation``...). Effective and
formatted values are derived on read, so formulas always reflect the current grid.
A cell dict is never mutated in place, only replaced; that makes ``clone`` cheap, which
is what lets every mutating request run on a copy and be committed atomically.
"""

from __future__ import annotations

import copy
import datetime as _dt

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


class Sheet:
    def __init__(self, properties: dict):
        self.properties = properties
        self.cells: dict[int, dict[int, dict]] = {}
        self.row_meta: dict[int, dict] = {}
        self.col_meta: dict[int, dict] = {}
        self.protected_ranges: list[dict] = []
        self.merges: list[dict] = []
        self.charts: list[dict] = []
        self.conditional_formats: list[dict] = []
        self.basic_filter: dict | None = None

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
        """Shrinking drops whatever lies outside the new grid, as on Sheets."""
        if rows is not None:
            self.grid["rowCount"] = rows
            for r in [r for r in self.cells if r >= rows]:
                del self.cells[r]
            self.row_meta = {r: m for r, m in self.row_meta.items() if r < rows}
        if columns is not None:
            self.grid["columnCount"] = columns
            for r, row in list(self.cells.items()):
                for c in [c for c in row if c >= columns]:
                    del row[c]
                if not row:
                    del self.cells[r]
            self.col_meta = {c: m for c, m in self.col_meta.items() if c < columns}

    # -- cells ---------------------------------------------------------------
    def cell(self, r: int, c: int) -> dict | None:
        row = self.cells.get(r)
        return row.get(c) if row else None

    def put(self, r: int, c: int, cell: dict | None) -> None:
        cell = {k: v for k, v in (cell or {}).items() if k in STORED_CELL_KEYS and v not in (None, {}, "")}
        if cell:
            self.cells.setdefault(r, {})[c] = cell
        elif r in self.cells:
            self.cells[r].pop(c, None)
            if not self.cells[r]:
                del self.cells[r]

    def has_value(self, r: int, c: int) -> bool:
        cell = self.cell(r, c)
        return bool(cell and cell.get("userEnteredValue"))

    def clone(self) -> "Sheet":
        other = Sheet(copy.deepcopy(self.properties))
        other.cells = {r: dict(row) for r, row in self.cells.items()}
        other.row_meta = dict(self.row_meta)
        other.col_meta = dict(self.col_meta)
        other.protected_ranges = copy.deepcopy(self.protected_ranges)
        other.merges = copy.deepcopy(self.merges)
        other.charts = copy.deepcopy(self.charts)
        other.conditional_formats = copy.deepcopy(self.conditional_formats)
        other.basic_filter = copy.deepcopy(self.basic_filter)
        return other

    # -- persistence -----------------------------------------------------------
    def to_json(self) -> dict:
        return {
            "properties": self.properties,
            "cells": {str(r): {str(c): cell for c, cell in row.items()} for r, row in self.cells.items()},
            "rowMeta": {str(k): v for k, v in self.row_meta.items()},
            "colMeta": {str(k): v for k, v in self.col_meta.items()},
            "protectedRanges": self.protected_ranges,
            "merges": self.merges,
            "charts": self.charts,
            "conditionalFormats": self.conditional_formats,
            "basicFilter": self.basic_filter,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Sheet":
        sheet = cls(data["properties"])
        sheet.cells = {int(r): {int(c): cell for c, cell in row.items()} for r, row in data["cells"].items()}
        sheet.row_meta = {int(k): v for k, v in data.get("rowMeta", {}).items()}
        sheet.col_meta = {int(k): v for k, v in data.get("colMeta", {}).items()}
        sheet.protected_ranges = data.get("protectedRanges", [])
        sheet.merges = data.get("merges", [])
        sheet.charts = data.get("charts", [])
        sheet.conditional_formats = data.get("conditionalFormats", [])
        sheet.basic_filter = data.get("basicFilter")
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
                return formula.REF
            return _python_value(self.effective(target, row, col, inner))

        result = formula.evaluate(entered["formulaValue"], lookup)
        if isinstance(result, formula.FormulaError):
            return {"errorValue": {"type": result.kind, "message": result.message}}
        if result is None:
            return None
        if isinstance(result, bool):
            return {"boolValue": result}
        if isinstance(result, float):
            return {"numberValue": values.json_number(result)}
        return {"stringValue": str(result)}

    def rendered_cell(self, sheet: Sheet, r: int, c: int, *, with_format: bool = True) -> dict:
        """Full CellData for a cell, as spreadsheets.get with grid data shows it. The values
        API needs no effectiveFormat, which costs most of the time on a large read."""
        cell = dict(sheet.cell(r, c) or {})
        effective = self.effective(sheet, r, c)
        if effective is not None:
            cell["effectiveValue"] = effective
            number_format = (cell.get("userEnteredFormat") or {}).get("numberFormat")
            text = values.formatted(effective, number_format)
            if text is not None:
                cell["formattedValue"] = text
        if with_format and (cell.get("userEnteredValue") or cell.get("userEnteredFormat")):
            cell["effectiveFormat"] = _merge(self.properties["defaultFormat"], cell.get("userEnteredFormat") or {})
        return cell

    def clone(self) -> "Spreadsheet":
        other = Spreadsheet.__new__(Spreadsheet)
        other.id = self.id
        other.properties = copy.deepcopy(self.properties)
        other.sheets = [s.clone() for s in self.sheets]
        other.developer_metadata = copy.deepcopy(self.developer_metadata)
        other.named_ranges = copy.deepcopy(self.named_ranges)
        other.created = self.created
        other.modified = self.modified
        return other

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "properties": self.properties,
            "sheets": [s.to_json() for s in self.sheets],
            "developerMetadata": self.developer_metadata,
            "namedRanges": self.named_ranges,
            "created": self.created,
            "modified": self.modified,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Spreadsheet":
        book = cls.__new__(cls)
        book.id = data["id"]
        book.properties = data["properties"]
        book.sheets = [Sheet.from_json(s) for s in data["sheets"]]
        book.developer_metadata = data.get("developerMetadata", [])
        book.named_ranges = data.get("namedRanges", [])
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
