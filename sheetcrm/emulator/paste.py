"""copyPaste: a block of cells copied onto another place, as Sheets' Edit > Paste (special) does.

Google's reference (CopyPasteRequest, PasteType, PasteOrientation):

- ``source`` is a GridRange that must lie inside its grid; ``destination`` a GridRange whose
  start is where the paste begins. When the destination spans a multiple of the source's
  height or width, the source repeats to fill it; when it is smaller, the whole source is
  still pasted, beyond the destination's end.
- ``pasteType`` (default PASTE_NORMAL): PASTE_NORMAL pastes values, formulas, formats and
  merges (and, as a paste in the app does, notes, data validation and links);
  PASTE_NO_BORDERS the same without borders; PASTE_VALUES the values only, formulas as their
  results, without formats or merges; PASTE_FORMAT the format and data validation only;
  PASTE_FORMULA the formulas (and plain values) only; PASTE_DATA_VALIDATION the data
  validation only; PASTE_CONDITIONAL_FORMATTING the conditional format rules only.
- ``pasteOrientation`` NORMAL (default) or TRANSPOSE (rows become columns).
- A formula's relative references move by the offset between a cell and where it lands (a
  ``$`` keeps its part fixed); one pushed off the top or the left becomes ``#REF!``.

The pasted area must fit the destination's grid, as every write here; it is read from the
source before anything is written, so overlapping ranges paste what the source held.
"""

from __future__ import annotations

import copy
import re

from . import a1, grid, values
from .errors import invalid
from .model import Spreadsheet

PASTE_TYPES = ("PASTE_NORMAL", "PASTE_VALUES", "PASTE_FORMAT", "PASTE_NO_BORDERS", "PASTE_FORMULA",
               "PASTE_DATA_VALIDATION", "PASTE_CONDITIONAL_FORMATTING")
ORIENTATIONS = ("NORMAL", "TRANSPOSE")
MAX_ROWS = 10_000_000  # a reference below this is off the sheet either way
MAX_COLUMNS = 18_278   # ZZZ

# A string literal (left alone), or a reference: a cell, or a range of cells, columns or rows,
# optionally on another tab. Not a reference when part of a longer name or a function call.
REFERENCE = re.compile(
    r"""(?P<str>"(?:[^"]|"")*")
      | (?<![\w.$])(?P<ref>
          (?P<tab>(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?
          (?: (?P<cell1>\$?[A-Za-z]{1,3}\$?\d+)(?::(?P<cell2>\$?[A-Za-z]{1,3}\$?\d+))?
            | (?P<col1>\$?[A-Za-z]{1,3}):(?P<col2>\$?[A-Za-z]{1,3})
            | (?P<row1>\$?\d+):(?P<row2>\$?\d+) )
        )(?![\w(!])""",
    re.VERBOSE,
)
CELL = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)(\d+)")


class _Off(Exception):
    """A reference moved off the sheet."""


def shift_formula(text: str, rows: int, cols: int) -> str:
    """A formula as it reads pasted `rows` down and `cols` right (negative: up, left)."""
    if not rows and not cols:
        return text

    def one(m: re.Match) -> str:
        if m.group("str"):
            return m.group("str")
        tab = m.group("tab") or ""
        try:
            if m.group("cell1"):
                parts = [_cell(m.group("cell1"), rows, cols)]
                if m.group("cell2"):
                    parts.append(_cell(m.group("cell2"), rows, cols))
            elif m.group("col1"):
                parts = [_column(m.group("col1"), cols), _column(m.group("col2"), cols)]
            else:
                parts = [_row(m.group("row1"), rows), _row(m.group("row2"), rows)]
        except _Off:
            return "#REF!"
        return tab + ":".join(parts)

    return REFERENCE.sub(one, text)


def _cell(text: str, rows: int, cols: int) -> str:
    fixed_col, letters, fixed_row, digits = CELL.fullmatch(text).groups()
    return _column(fixed_col + letters, cols) + _row(fixed_row + digits, rows)


def _column(text: str, cols: int) -> str:
    if text.startswith("$"):
        return text
    index = a1.column_index(text) + cols
    if not 0 <= index < MAX_COLUMNS:
        raise _Off
    return a1.column_letters(index)


def _row(text: str, rows: int) -> str:
    if text.startswith("$"):
        return text
    number = int(text) + rows
    if not 1 <= number <= MAX_ROWS:
        raise _Off
    return str(number)


def _choice(body: dict, name: str, snake: str, kind: str, allowed: tuple[str, ...]) -> str:
    value = body.get(name) or allowed[0]
    if value not in allowed:
        raise invalid(f"Invalid value at '{snake}' (type.googleapis.com/google.apps.sheets.v4.{kind}), \"{value}\"")
    return value


def _pasted(book: Spreadsheet, cell: dict | None, source: tuple, kind: str, rows: int, cols: int) -> dict:
    """What of a source cell a paste of `kind` carries, its formula moved by (rows, cols)."""
    cell = copy.deepcopy(cell or {})
    entered = cell.get("userEnteredValue") or {}
    if "formulaValue" in entered:
        if kind == "PASTE_VALUES":
            result = book.effective(*source) or {}
            cell["userEnteredValue"] = {k: v for k, v in result.items() if k != "errorValue"} or None
        else:
            cell["userEnteredValue"] = {"formulaValue": shift_formula(entered["formulaValue"], rows, cols)}
    if kind in ("PASTE_NORMAL", "PASTE_NO_BORDERS"):
        if kind == "PASTE_NO_BORDERS" and isinstance(cell.get("userEnteredFormat"), dict):
            cell["userEnteredFormat"].pop("borders", None)
        return cell
    if kind in ("PASTE_VALUES", "PASTE_FORMULA"):
        return {"userEnteredValue": cell.get("userEnteredValue")}
    if kind == "PASTE_FORMAT":
        return {k: cell.get(k) for k in ("userEnteredFormat", "dataValidation")}
    return {"dataValidation": cell.get("dataValidation")}  # PASTE_DATA_VALIDATION


# What each paste type replaces in a destination cell; everything else there stays.
_REPLACED = {
    "PASTE_NORMAL": ("userEnteredValue", "userEnteredFormat", "note", "dataValidation", "hyperlink", "textFormatRuns"),
    "PASTE_NO_BORDERS": ("userEnteredValue", "note", "dataValidation", "hyperlink", "textFormatRuns"),
    "PASTE_VALUES": ("userEnteredValue", "textFormatRuns", "hyperlink"),
    "PASTE_FORMULA": ("userEnteredValue", "textFormatRuns", "hyperlink"),
    "PASTE_FORMAT": ("userEnteredFormat", "dataValidation"),
    "PASTE_DATA_VALIDATION": ("dataValidation",),
}


def copy_paste(book: Spreadsheet, body: dict) -> None:
    kind = _choice(body, "pasteType", "paste_type", "PasteType", PASTE_TYPES)
    orientation = _choice(body, "pasteOrientation", "paste_orientation", "PasteOrientation", ORIENTATIONS)
    src, sr, er, sc, ec = grid.bounds(book, body.get("source") or {})
    if er == sr or ec == sc:
        raise invalid("Source range must not be empty.")
    target = body.get("destination") or {}
    dst = grid.sheet_of(book, target.get("sheetId"))
    dr, dc = target.get("startRowIndex", 0), target.get("startColumnIndex", 0)
    if dr < 0 or dc < 0:
        raise invalid("Invalid range: start index must not exceed end index and indexes must be positive.")
    transpose = orientation == "TRANSPOSE"
    height, width = (ec - sc, er - sr) if transpose else (er - sr, ec - sc)
    want_rows = target.get("endRowIndex", dr + height) - dr
    want_cols = target.get("endColumnIndex", dc + width) - dc
    # The source repeats only where the destination spans a whole multiple of it.
    rows_out = want_rows if want_rows > height and want_rows % height == 0 else height
    cols_out = want_cols if want_cols > width and want_cols % width == 0 else width
    if dr + rows_out > dst.row_count or dc + cols_out > dst.column_count:
        raise grid.exceeds(dst, dr, dr + rows_out, dc, dc + cols_out)
    if kind == "PASTE_CONDITIONAL_FORMATTING":
        _paste_rules(book, src, (sr, er, sc, ec), dst, (dr, dr + rows_out, dc, dc + cols_out))
        return
    pasted = {}
    for i in range(rows_out):
        for j in range(cols_out):
            a, b = i % height, j % width
            r, c = (sr + b, sc + a) if transpose else (sr + a, sc + b)
            cell = _pasted(book, src.cell(r, c), (src, r, c), kind, dr + i - r, dc + j - c)
            pasted[(dr + i, dc + j)] = cell
    for (r, c), cell in pasted.items():
        for text in ((cell.get("userEnteredValue") or {}).get("formulaValue"), cell.get("note")):
            if isinstance(text, str):
                values.check_length(text)
        kept = {k: v for k, v in (dst.cell(r, c) or {}).items() if k not in _REPLACED[kind]}
        dst.put(r, c, {**kept, **{k: v for k, v in cell.items() if k in _REPLACED[kind]}})
    if kind in ("PASTE_NORMAL", "PASTE_NO_BORDERS") and not transpose:
        _paste_merges(src, (sr, er, sc, ec), dst, (dr, dr + rows_out, dc, dc + cols_out))


def _paste_merges(src, box: tuple, dst, out: tuple) -> None:
    """Merges wholly inside the source come along (once per repeat); merges the paste overlaps
    in the destination are undone first, as a paste over them does."""
    sr, er, sc, ec = box
    dr, der, dc, dec = out
    dst.merges = [m for m in dst.merges if not (m["startRowIndex"] < der and dr < m["endRowIndex"]
                                                 and m.get("startColumnIndex", 0) < dec and dc < m["endColumnIndex"])]
    inside = [m for m in src.merges if sr <= m["startRowIndex"] and m["endRowIndex"] <= er
              and sc <= m.get("startColumnIndex", 0) and m["endColumnIndex"] <= ec]
    for top in range(dr, der, er - sr):
        for left in range(dc, dec, ec - sc):
            for m in inside:
                dst.merges.append({"sheetId": dst.id,
                                   "startRowIndex": m["startRowIndex"] - sr + top,
                                   "endRowIndex": m["endRowIndex"] - sr + top,
                                   "startColumnIndex": m.get("startColumnIndex", 0) - sc + left,
                                   "endColumnIndex": m["endColumnIndex"] - sc + left})


def _paste_rules(book, src, box: tuple, dst, out: tuple) -> None:
    """Conditional format rules whose ranges cover source cells, added for the pasted block."""
    sr, er, sc, ec = box
    dr, der, dc, dec = out
    for rule in list(src.conditional_formats):
        covered = [rng for rng in rule.get("ranges", [])
                   if rng.get("startRowIndex", 0) < er and sr < rng.get("endRowIndex", src.row_count)
                   and rng.get("startColumnIndex", 0) < ec and sc < rng.get("endColumnIndex", src.column_count)]
        if covered:
            added = copy.deepcopy(rule)
            added["ranges"] = [{"sheetId": dst.id, "startRowIndex": dr, "endRowIndex": der,
                                "startColumnIndex": dc, "endColumnIndex": dec}]
            dst.conditional_formats.append(added)
