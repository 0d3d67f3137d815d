"""A1 notation: parsing ranges the way Sheets reads them and printing them the way it answers.

A parsed range keeps unbounded ends as ``None`` because their meaning ("to the last row")
depends on the sheet's grid at the moment of the request, not at parse time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import invalid

# Sheets allows up to 18,278 columns (ZZZ); longer letter runs are titles, not columns.
MAX_COLUMN_LETTERS = 3

_CELL = re.compile(r"^\$?([A-Za-z]{0,3})\$?(\d*)$")
_SIMPLE_TITLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_LIKE = re.compile(r"^[A-Za-z]{1,3}\d+$")
_R1C1_LIKE = re.compile(r"^[Rr]\d*[Cc]\d*$")


def column_letters(index: int) -> str:
    """0-based column index -> letters (0 -> A, 26 -> AA)."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def quote_title(title: str) -> str:
    """Quote a sheet title only when Sheets would, i.e. when it is not a plain word or
    could be read as a cell reference."""
    if _SIMPLE_TITLE.match(title) and not _CELL_LIKE.match(title) and not _R1C1_LIKE.match(title):
        return title
    return "'" + title.replace("'", "''") + "'"


@dataclass(frozen=True)
class A1Range:
    """0-based, end-exclusive bounds; None means open-ended (resolved against the grid)."""

    sheet: str | None
    start_row: int | None = None
    end_row: int | None = None
    start_col: int | None = None
    end_col: int | None = None


def split_sheet(text: str) -> tuple[str | None, str | None]:
    """Split ``'My Tab'!A1:B2`` into (title, cells); either part may be None."""
    if text.startswith("'"):
        i = 1
        title = []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title.append("'")
                    i += 2
                    continue
                rest = text[i + 1 :]
                if rest == "":
                    return "".join(title), None
                if rest.startswith("!"):
                    return "".join(title), rest[1:]
                raise invalid(f"Unable to parse range: {text}")
            title.append(ch)
            i += 1
        raise invalid(f"Unable to parse range: {text}")
    if "!" in text:
        title, cells = text.rsplit("!", 1)
        return title, cells
    return None, text


def _parse_cell(part: str, original: str) -> tuple[int | None, int | None]:
    m = _CELL.match(part)
    if not m or (not m.group(1) and not m.group(2)):
        raise invalid(f"Unable to parse range: {original}")
    col = column_index(m.group(1)) if m.group(1) else None
    row = int(m.group(2)) - 1 if m.group(2) else None
    if row is not None and row < 0:
        raise invalid(f"Unable to parse range: {original}")
    return row, col


def looks_like_cells(text: str) -> bool:
    try:
        parse_cells(text, text)
    except Exception:
        return False
    return True


def parse_cells(cells: str, original: str) -> tuple[int | None, int | None, int | None, int | None]:
    """Return (start_row, end_row, start_col, end_col) for the part after ``!``."""
    parts = cells.split(":")
    if len(parts) == 1:
        row, col = _parse_cell(parts[0], original)
        if row is None or col is None:
            raise invalid(f"Unable to parse range: {original}")
        return row, row + 1, col, col + 1
    if len(parts) != 2:
        raise invalid(f"Unable to parse range: {original}")
    r1, c1 = _parse_cell(parts[0], original)
    r2, c2 = _parse_cell(parts[1], original)
    # "A:B" and "1:2" need both ends of the same kind; "A1:B" and "A2:2" are open-ended.
    if (r1 is None) != (r2 is None) and r1 is None:
        raise invalid(f"Unable to parse range: {original}")
    if (c1 is None) != (c2 is None) and c1 is None:
        raise invalid(f"Unable to parse range: {original}")
    if r1 is not None and r2 is not None and r2 < r1:
        r1, r2 = r2, r1
    if c1 is not None and c2 is not None and c2 < c1:
        c1, c2 = c2, c1
    start_row = r1 if r1 is not None else 0
    end_row = r2 + 1 if r2 is not None else None
    start_col = c1 if c1 is not None else 0
    end_col = c2 + 1 if c2 is not None else None
    return start_row, end_row, start_col, end_col


def parse(text: str, sheet_titles: frozenset[str] | set[str] = frozenset()) -> A1Range:
    """Parse an A1 range. A text without ``!`` is a sheet title when such a sheet exists
    or when it cannot be read as cells; otherwise it addresses the first sheet."""
    if text == "":
        raise invalid("Unable to parse range: ")
    title, cells = split_sheet(text)
    if title is not None and cells is None:
        return A1Range(title)
    if title is None:
        if text in sheet_titles or not looks_like_cells(text):
            return A1Range(text)
    if title == "":
        raise invalid(f"Unable to parse range: {text}")
    if cells == "":
        raise invalid(f"Unable to parse range: {text}")
    bounds = parse_cells(cells, text)
    return A1Range(title, *bounds)


def format_range(title: str, start_row: int, end_row: int, start_col: int, end_col: int) -> str:
    """Closed box -> ``Title!A1:B2`` (a 1x1 box prints as a single cell, as Sheets does)."""
    first = f"{column_letters(start_col)}{start_row + 1}"
    last = f"{column_letters(end_col - 1)}{end_row}"
    box = first if (end_row - start_row == 1 and end_col - start_col == 1) else f"{first}:{last}"
    return f"{quote_title(title)}!{box}"
