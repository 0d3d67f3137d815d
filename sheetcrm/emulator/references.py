"""Formulas' references kept pointing where Sheets keeps them when the grid changes under them.

- Rows or columns inserted or deleted (`relocate_formulas`), on every tab, as Sheets rewrites
  them (and Excel and LibreOffice alike): a reference below (right of) rows (columns) inserted
  or deleted moves by their number, `$` or not; a range that spans them grows or shrinks; a
  reference whose every cell was deleted becomes `#REF!` (`=B5` with row 5 deleted reads
  `=#REF!`). A whole-column reference (`B:B`) is untouched by rows, a whole-row one (`2:5`) by
  columns. A sort leaves formulas as typed, as Sheets does; so does a move here, where Sheets
  moves references to the moved cells along (sheetcrm sends no moveDimension).
- A tab renamed (`retitle_formulas`): every reference to it names it by its new title, as
  Sheets does (`=Leads!B2` reads `=Prospects!B2`), so a person's formula keeps its value.
"""

from __future__ import annotations

from typing import Callable

from . import a1
from .model import Sheet, Spreadsheet
from .paste import CELL, REFERENCE

ROWS = "ROWS"


def _rewrite(book: Spreadsheet, change: Callable[[str, Sheet], str]) -> None:
    """Put `change(text, tab of the cell)` in place of every formula of `book` it changes."""
    for other in book.sheets:
        for r, row in list(other.cells.items()):
            for c, cell in list(row.items()):
                text = (cell.get("userEnteredValue") or {}).get("formulaValue")
                if text is not None and (moved := change(text, other)) != text:
                    other.put(r, c, {**cell, "userEnteredValue": {"formulaValue": moved}})


def retitle_formulas(book: Spreadsheet, old: str, sheet: Sheet) -> None:
    """After `sheet` was renamed from `old`: every reference to `old` names its new title."""
    new = a1.quote_title(sheet.title) + "!"

    def one(m) -> str:
        tab = m.group("tab")
        if m.group("str") or not tab or (a1.split_sheet(tab)[0] or "").lower() != old.lower():
            return m.group(0)
        return new + m.group("ref")[len(tab):]

    _rewrite(book, lambda text, _here: REFERENCE.sub(one, text))


def relocate_formulas(book: Spreadsheet, sheet: Sheet, dimension: str,
                       remap: Callable[[int, int], tuple[int, int] | None]) -> None:
    """Rewrite every formula of `book` whose references point into `sheet` by `remap` (of a
    reference's 0-based first and last row, or column: their new places, None for `#REF!`)."""
    _rewrite(book, lambda text, here: relocated(
        text, lambda tab: (here if tab is None else book.sheet_by_title(tab)) is sheet, dimension, remap))


def relocated(text: str, into: Callable[[str | None], bool], dimension: str,
              remap: Callable[[int, int], tuple[int, int] | None]) -> str:
    """Formula `text` with each reference that `into` says points into the changed tab (by its
    tab title, None when unqualified) moved by `remap` (see `_relocate_formulas`)."""

    def one(m) -> str:
        if m.group("str"):
            return m.group("str")
        whole, tab = m.group("ref"), m.group("tab")
        if not into(a1.split_sheet(tab)[0] if tab else None):
            return whole
        if m.group("cell1"):
            ends = [CELL.fullmatch(m.group("cell1")).groups(), CELL.fullmatch(m.group("cell2") or m.group("cell1")).groups()]
            at = 3 if dimension == ROWS else 1
            span = [int(e[3]) - 1 if dimension == ROWS else a1.column_index(e[1]) for e in ends]
        elif (m.group("row1") if dimension == ROWS else m.group("col1")):
            ends = [(g[:1] == "$" and "$" or "", g.lstrip("$")) for g in
                    ((m.group("row1"), m.group("row2")) if dimension == ROWS else (m.group("col1"), m.group("col2")))]
            span = [int(e[1]) - 1 if dimension == ROWS else a1.column_index(e[1]) for e in ends]
            at = 1
        else:
            return whole  # B:B under rows, 2:5 under columns
        lo, hi = min(span), max(span)
        landed = remap(lo, hi)
        if landed is None:
            return "#REF!"
        first, last = landed if span[0] <= span[1] else landed[::-1]
        parts = []
        for e, index in zip(ends, (first, last)):
            e = list(e)
            e[at] = str(index + 1) if dimension == ROWS else a1.column_letters(index)
            parts.append("".join(e))
        cells = parts[0] if m.group("cell1") and not m.group("cell2") else ":".join(parts)
        return (tab or "") + cells

    return REFERENCE.sub(one, text)
