"""findReplace: find text in cells over a range, a sheet or all sheets, and replace it.

What is searched is what the Sheets UI's Find and replace searches: the text a cell shows
(a number as formatted, a boolean as TRUE/FALSE); a formula's text only with
``includeFormulas``, otherwise formula cells are skipped. The text after replacement is
entered as a person typing it would be, under the spreadsheet's locale (``values._typed``:
"42" becomes a number, "=A1" a formula; in a cell formatted Plain text it stays the text), and
the cell keeps its format. ``searchByRegex`` follows Java's syntax, whose
common subset Python shares; ``$1`` in the replacement names a group.

The reply is a FindReplaceResponse whose counts are omitted when zero, as proto JSON omits
them: occurrencesChanged counts matches (several in one cell count each), valuesChanged and
formulasChanged count cells, rowsChanged and sheetsChanged count distinct rows and sheets.
"""

from __future__ import annotations

import re

from . import grid, values
from .errors import invalid
from .model import Sheet, Spreadsheet


def find_replace(book: Spreadsheet, body: dict) -> dict:
    find = body.get("find")
    if not find:
        raise invalid("find must not be empty.")
    scopes = [k for k in ("range", "sheetId", "allSheets") if body.get(k) is not None and body.get(k) is not False]
    if len(scopes) != 1:
        raise invalid("Exactly one of range, sheetId or allSheets must be set.")
    pattern = _pattern(find, body)
    replacement = body.get("replacement") or ""
    if body.get("searchByRegex"):
        replacement = re.sub(r"\$(\d+)", r"\\g<\1>", replacement.replace("\\", "\\\\"))
    else:
        replacement = replacement.replace("\\", "\\\\")
    include_formulas = bool(body.get("includeFormulas"))

    counts = {"occurrencesChanged": 0, "valuesChanged": 0, "formulasChanged": 0}
    rows: set[tuple[int, int]] = set()
    sheets: set[int] = set()
    for sheet, sr, er, sc, ec in _boxes(book, body, scopes[0]):
        for r in sorted(r for r in sheet.cells if sr <= r < er):
            for c in sorted(c for c in sheet.cells[r] if sc <= c < ec):
                changed = _replace_cell(book, sheet, r, c, pattern, replacement, include_formulas)
                if changed is None:
                    continue
                kind, n = changed
                counts["occurrencesChanged"] += n
                counts[kind] += 1
                rows.add((sheet.id, r))
                sheets.add(sheet.id)
    counts["rowsChanged"] = len(rows)
    counts["sheetsChanged"] = len(sheets)
    return {k: v for k, v in counts.items() if v}


def _pattern(find: str, body: dict) -> re.Pattern:
    text = find if body.get("searchByRegex") else re.escape(find)
    if body.get("matchEntireCell"):
        text = rf"\A(?:{text})\Z"
    try:
        return re.compile(text, 0 if body.get("matchCase") else re.IGNORECASE)
    except re.error:
        raise invalid(f"Invalid regular expression: {find}") from None


def _boxes(book: Spreadsheet, body: dict, scope: str) -> list[tuple[Sheet, int, int, int, int]]:
    if scope == "range":
        return [grid.bounds(book, body["range"])]
    if scope == "sheetId":
        sheet = grid.sheet_of(book, body["sheetId"])
        return [(sheet, 0, sheet.row_count, 0, sheet.column_count)]
    return [(s, 0, s.row_count, 0, s.column_count) for s in book.sheets]


def _replace_cell(book: Spreadsheet, sheet: Sheet, r: int, c: int, pattern: re.Pattern, replacement: str,
                  include_formulas: bool) -> tuple[str, int] | None:
    cell = sheet.cell(r, c) or {}
    entered = cell.get("userEnteredValue")
    if not entered:
        return None
    locale = book.properties.get("locale") or "en_US"
    if "formulaValue" in entered:
        if not include_formulas:
            return None
        text, kind = entered["formulaValue"], "formulasChanged"
    else:
        number_format = (cell.get("userEnteredFormat") or {}).get("numberFormat")
        # Matched as shown, and the result typed back, both under the spreadsheet's locale.
        text, kind = values.formatted(entered, number_format, locale) or "", "valuesChanged"
    new_text, n = pattern.subn(replacement, text)
    if not n:
        return None
    values.check_length(new_text)
    typed = values.parse_input(new_text, "USER_ENTERED", locale, plain_text=values.is_plain_text(cell))
    new = {k: v for k, v in cell.items() if k != "userEnteredValue"}
    if typed:
        new["userEnteredValue"] = typed["userEnteredValue"]
        fmt = typed.get("userEnteredFormat")
        if fmt and not (new.get("userEnteredFormat") or {}).get("numberFormat"):
            new["userEnteredFormat"] = {**(new.get("userEnteredFormat") or {}), **fmt}
    sheet.put(r, c, new)
    return kind, n
