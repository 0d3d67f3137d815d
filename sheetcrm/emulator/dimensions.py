"""Inserting, deleting and reordering rows or columns, carrying along everything anchored
to them: cells, row/column properties, protected ranges, merges, the basic filter and the
filter views (their ranges and the columns their criteria, filterSpecs and sortSpecs name),
charts' source ranges stay as specified, and developer metadata located on rows or columns.

Formulas' references into the tab follow their cells on insert and delete (`references`).
"""

from __future__ import annotations

import copy
from typing import Callable

from .model import Sheet, Spreadsheet
from .references import relocate_formulas

ROWS, COLUMNS = "ROWS", "COLUMNS"
_GRID_KEYS = {ROWS: ("startRowIndex", "endRowIndex"), COLUMNS: ("startColumnIndex", "endColumnIndex")}


def _shift_insert(index: int, at: int, n: int, is_end: bool) -> int:
    # A range's end that sits exactly at the insertion point does not grow.
    if (index > at) if is_end else (index >= at):
        return index + n
    return index


def _shift_delete(index: int, start: int, end: int) -> int:
    if index <= start:
        return index
    if index <= end:
        return start
    return index - (end - start)


def _grid_ranges(book: Spreadsheet, sheet: Sheet):
    for pr in sheet.protected_ranges:
        if "range" in pr:
            yield pr, pr["range"]
        for r in pr.get("unprotectedRanges", []):
            yield pr, r
    for merge in sheet.merges:
        yield merge, merge
    for flt in _filters(sheet):
        if "range" in flt:
            yield flt, flt["range"]


def _filters(sheet: Sheet) -> list[dict]:
    return [*([sheet.basic_filter] if sheet.basic_filter else []), *sheet.filter_views]


def _filter_columns(sheet: Sheet, remap: Callable[[int], int | None]) -> None:
    """The filters' (basic and views') per-column settings follow their columns (None: the
    column is gone, and its setting with it); they name sheet columns, not columns of the range."""
    for flt in _filters(sheet):
        _filter_columns_of(flt, remap)


def _filter_columns_of(flt: dict, remap: Callable[[int], int | None]) -> None:
    if "criteria" in flt:
        flt["criteria"] = {str(new): c for key, c in flt["criteria"].items()
                           if (new := remap(int(key))) is not None}
    for key, index in (("filterSpecs", "columnIndex"), ("sortSpecs", "dimensionIndex")):
        if key in flt:
            kept = []
            for spec in flt[key]:
                if index not in spec:
                    kept.append(spec)
                elif (new := remap(spec[index])) is not None:
                    kept.append({**spec, index: new})
            flt[key] = kept
    for key in ("criteria", "filterSpecs", "sortSpecs"):
        if key in flt and not flt[key]:
            del flt[key]  # Google echoes no empty map or list


def _metadata_ranges(book: Spreadsheet, sheet: Sheet, dimension: str):
    for meta in book.developer_metadata:
        rng = meta.get("location", {}).get("dimensionRange")
        if rng and rng.get("sheetId", 0) == sheet.id and rng.get("dimension") == dimension:
            yield meta, rng


def insert(book: Spreadsheet, sheet: Sheet, dimension: str, start: int, end: int,
           inherit_from_before: bool | None = None) -> None:
    """`inherit_from_before` is insertDimension's: the new rows (columns) take the formats of the
    one before them (True) or after them (False; none at the grid's end), as Google's do (its
    reference: "if row index 0 has red background ... the two new rows will be red"). None
    inherits nothing (an append's rows)."""
    n = end - start
    size = sheet.row_count if dimension == ROWS else sheet.column_count
    if dimension == ROWS:
        sheet.replace_cells({(r + n if r >= start else r): row for r, row in sheet.cells.items()})
        sheet.row_meta = {(r + n if r >= start else r): m for r, m in sheet.row_meta.items()}
        sheet.grid["rowCount"] = sheet.row_count + n
    else:
        sheet.replace_cells(
            {r: {(c + n if c >= start else c): cell for c, cell in row.items()} for r, row in sheet.cells.items()}
        )
        sheet.col_meta = {(c + n if c >= start else c): m for c, m in sheet.col_meta.items()}
        sheet.grid["columnCount"] = sheet.column_count + n
    lo, hi = _GRID_KEYS[dimension]
    for _, rng in _grid_ranges(book, sheet):
        # A start left out is 0 (Google echoes no zero), and moves as one: A1:F3 with a row
        # inserted above is A2:F4. A range open at both ends spans the dimension and stays.
        if lo in rng or hi in rng:
            first = _shift_insert(rng.get(lo, 0), start, n, False)
            if first or lo in rng:
                rng[lo] = first
        if hi in rng:
            rng[hi] = _shift_insert(rng[hi], start, n, True)
    if dimension == COLUMNS:
        _filter_columns(sheet, lambda c: c + n if c >= start else c)
    for _, rng in _metadata_ranges(book, sheet, dimension):
        rng["startIndex"] = _shift_insert(rng.get("startIndex", 0), start, n, False)
        rng["endIndex"] = _shift_insert(rng["endIndex"], start, n, True)
    relocate_formulas(book, sheet, dimension, lambda lo, hi: (lo + n if lo >= start else lo, hi + n if hi >= start else hi))
    if inherit_from_before is not None:
        source = start - 1 if inherit_from_before else (end if start < size else None)
        if source is not None:
            _inherit_formats(sheet, dimension, source, start, end)


def _inherit_formats(sheet: Sheet, dimension: str, source: int, start: int, end: int) -> None:
    """Give rows (columns) start..end-1 the cell formats of row (column) `source`: only the
    formats, never values, notes or validation rules."""
    if dimension == ROWS:
        formats = {c: cell["userEnteredFormat"] for c, cell in sheet.cells.get(source, {}).items()
                   if cell.get("userEnteredFormat")}
        for r in range(start, end):
            for c, fmt in formats.items():
                sheet.put(r, c, {**(sheet.cell(r, c) or {}), "userEnteredFormat": copy.deepcopy(fmt)})
    else:
        formats = {r: row[source]["userEnteredFormat"] for r, row in sheet.cells.items()
                   if source in row and row[source].get("userEnteredFormat")}
        for r, fmt in formats.items():
            for c in range(start, end):
                sheet.put(r, c, {**(sheet.cell(r, c) or {}), "userEnteredFormat": copy.deepcopy(fmt)})


def _deleted(start: int, end: int) -> Callable[[int, int], tuple[int, int] | None]:
    """Where the 0-based span lo..hi (inclusive) of a reference lands once [start, end) is
    deleted; None when all of it was deleted."""
    n = end - start

    def remap(lo: int, hi: int) -> tuple[int, int] | None:
        lo = lo if lo < start else start if lo < end else lo - n
        hi = hi if hi < start else start - 1 if hi < end else hi - n
        return (lo, hi) if lo <= hi else None

    return remap


def delete(book: Spreadsheet, sheet: Sheet, dimension: str, start: int, end: int) -> None:
    n = end - start
    if dimension == ROWS:
        sheet.replace_cells({(r - n if r >= end else r): row for r, row in sheet.cells.items() if not start <= r < end})
        sheet.row_meta = {(r - n if r >= end else r): m for r, m in sheet.row_meta.items() if not start <= r < end}
        sheet.grid["rowCount"] = sheet.row_count - n
    else:
        new_cells = {}
        for r, row in sheet.cells.items():
            kept = {(c - n if c >= end else c): cell for c, cell in row.items() if not start <= c < end}
            if kept:
                new_cells[r] = kept
        sheet.replace_cells(new_cells)
        sheet.col_meta = {(c - n if c >= end else c): m for c, m in sheet.col_meta.items() if not start <= c < end}
        sheet.grid["columnCount"] = sheet.column_count - n
    lo, hi = _GRID_KEYS[dimension]
    emptied = []
    for owner, rng in _grid_ranges(book, sheet):
        if lo in rng or hi in rng:
            rng[lo] = _shift_delete(rng.get(lo, 0), start, end)
            if hi in rng:
                rng[hi] = _shift_delete(rng[hi], start, end)
                if rng[hi] <= rng[lo]:
                    emptied.append(owner)
            if rng[lo] == 0:
                del rng[lo]
    sheet.protected_ranges = [p for p in sheet.protected_ranges if not any(p is e for e in emptied)]
    sheet.merges = [m for m in sheet.merges if not any(m is e for e in emptied)]
    if any(sheet.basic_filter is e for e in emptied):
        sheet.basic_filter = None
    sheet.filter_views = [v for v in sheet.filter_views if not any(v is e for e in emptied)]
    if dimension == COLUMNS:
        _filter_columns(sheet, lambda c: c if c < start else None if c < end else c - n)
    gone = []
    for meta, rng in _metadata_ranges(book, sheet, dimension):
        rng["startIndex"] = _shift_delete(rng.get("startIndex", 0), start, end)
        rng["endIndex"] = _shift_delete(rng["endIndex"], start, end)
        if rng["endIndex"] <= rng["startIndex"]:
            gone.append(meta)
    book.developer_metadata = [m for m in book.developer_metadata if not any(m is g for g in gone)]
    relocate_formulas(book, sheet, dimension, _deleted(start, end))


def move(book: Spreadsheet, sheet: Sheet, dimension: str, start: int, end: int, destination: int) -> None:
    """moveDimension: [start, end) goes before ``destination`` (an index in the old grid)."""
    size = sheet.row_count if dimension == ROWS else sheet.column_count
    order = list(range(size))
    block = order[start:end]
    rest = order[:start] + order[end:]
    at = destination if destination <= start else destination - (end - start)
    new_order = rest[:at] + block + rest[at:]
    permute(book, sheet, dimension, 0, size, new_order, 0, None)


def permute(
    book: Spreadsheet,
    sheet: Sheet,
    dimension: str,
    start: int,
    end: int,
    order: list[int],
    other_start: int,
    other_end: int | None,
) -> None:
    """Reorder rows (or columns) ``start..end``: new position ``start + i`` receives old
    position ``order[i]``. Only cells between ``other_start`` and ``other_end`` in the other
    dimension move (a sort of B:C leaves column A alone); metadata on whole rows moves."""
    if order == list(range(start, start + len(order))):
        return
    new_of_old = {old: start + i for i, old in enumerate(order)}
    old_cells = sheet.cells
    if dimension == ROWS:
        cells = dict(old_cells)
        for i, old in enumerate(order):
            r = start + i
            row = {c: v for c, v in old_cells.get(r, {}).items() if not _inside(c, other_start, other_end)}
            row.update({c: v for c, v in old_cells.get(old, {}).items() if _inside(c, other_start, other_end)})
            if row:
                cells[r] = row
            else:
                cells.pop(r, None)
    else:
        cells = {}
        for r, row in old_cells.items():
            moved = {new_of_old[c]: v for c, v in row.items() if start <= c < end and _inside(r, other_start, other_end)}
            kept = {c: v for c, v in row.items() if not (start <= c < end and _inside(r, other_start, other_end))}
            kept.update(moved)
            cells[r] = kept
    sheet.replace_cells(cells)
    for _, rng in _metadata_ranges(book, sheet, dimension):
        s = rng.get("startIndex", 0)
        if rng["endIndex"] - s == 1 and s in new_of_old:
            rng["startIndex"] = new_of_old[s]
            rng["endIndex"] = new_of_old[s] + 1


def _inside(i: int, lo: int, hi: int | None) -> bool:
    return i >= lo and (hi is None or i < hi)
