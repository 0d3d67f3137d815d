"""GridRange handling shared by batch requests and metadata filters: resolving a GridRange
against its sheet and checking it against the grid, with Google's error texts."""

from __future__ import annotations

from . import a1
from .errors import invalid
from .model import Sheet, Spreadsheet


def sheet_of(book: Spreadsheet, sheet_id) -> Sheet:
    sheet = book.sheet_by_id(sheet_id or 0)
    if sheet is None:
        raise invalid(f"No grid with id: {sheet_id or 0}")
    return sheet


def bounds(book: Spreadsheet, rng: dict, *, must_fit: bool = True) -> tuple[Sheet, int, int, int, int]:
    """GridRange -> (sheet, start_row, end_row, start_col, end_col); missing ends mean
    "to the edge of the grid"."""
    sheet = sheet_of(book, rng.get("sheetId"))
    sr = rng.get("startRowIndex", 0)
    er = rng.get("endRowIndex", sheet.row_count)
    sc = rng.get("startColumnIndex", 0)
    ec = rng.get("endColumnIndex", sheet.column_count)
    if min(sr, er, sc, ec) < 0 or er < sr or ec < sc:
        raise invalid("Invalid range: start index must not exceed end index and indexes must be positive.")
    if must_fit and (er > sheet.row_count or ec > sheet.column_count):
        raise exceeds(sheet, sr, max(er, sr + 1), sc, max(ec, sc + 1))
    return sheet, sr, er, sc, ec


def exceeds(sheet: Sheet, sr: int, er: int, sc: int, ec: int):
    text = a1.format_range(sheet.title, sr, er, sc, ec)
    return invalid(
        f"Range ({text}) exceeds grid limits. Max rows: {sheet.row_count}, max columns: {sheet.column_count}"
    )


def public(rng: dict) -> dict:
    """GridRange as Google echoes it: sheetId 0 is omitted, explicit zero indexes are kept."""
    return {k: v for k, v in rng.items() if not (k == "sheetId" and v == 0)}


def dimension_bounds(book: Spreadsheet, rng: dict) -> tuple[Sheet, str, int, int]:
    sheet = sheet_of(book, rng.get("sheetId"))
    dimension = rng.get("dimension")
    if dimension not in ("ROWS", "COLUMNS"):
        raise invalid("Invalid dimension: must be ROWS or COLUMNS.")
    size = sheet.row_count if dimension == "ROWS" else sheet.column_count
    start = rng.get("startIndex", 0)
    end = rng.get("endIndex", size)
    if start < 0 or end < start:
        raise invalid("Invalid range: start index must not exceed end index and indexes must be positive.")
    return sheet, dimension, start, end
