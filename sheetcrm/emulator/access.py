"""What the caller may change in a spreadsheet a person shared with it.

By default the emulator's account created every spreadsheet, so it owns them and may edit
anything, protected or not (as in the recordings: their account owned every spreadsheet).
A spreadsheet a person owns and shared (`Emulator.share`) answers as Google does:

- shared as Viewer or Commenter ("reader"): every write is 403 PERMISSION_DENIED, reads work;
- shared as Editor ("writer"): a request that changes a cell, or a protected range itself,
  inside a protected range the caller is not an editor of is refused whole with Google's 400
  (a warning-only protection only warns people in the UI: the API writes through it), and
  such a range reads back with ``requestingUserCanEdit: false``.
"""

from __future__ import annotations

from .errors import ApiError, invalid

ROLES = ("owner", "writer", "reader")
PROTECTED = ("You are trying to edit a protected cell or object. Please contact the spreadsheet owner to "
             "remove protection if you need to edit.")


def can_edit(owner: str | None, caller: str | None, protected_range: dict) -> bool:
    """Whether the caller may change what ``protected_range`` covers."""
    if owner is None or protected_range.get("warningOnly"):
        return True
    return caller in (protected_range.get("editors") or {}).get("users", [])


def check_write(role: str) -> None:
    """Raises Google's 403 for any write when the caller may only read."""
    if role == "reader":
        raise ApiError(403)


def locked(book) -> dict:
    """What the protected ranges the caller may not edit hold: {protectedRangeId: (rows,
    columns, cells relative to the range's corner)}; empty for a spreadsheet it owns."""
    if book.owner is None:
        return {}
    out = {}
    for sheet in book.sheets:
        for pr in sheet.protected_ranges:
            if can_edit(book.owner, book.caller, pr):
                continue
            sr, er, sc, ec = _box(pr.get("range") or {}, sheet)
            free = [_box(u, sheet) for u in pr.get("unprotectedRanges") or []]
            cells = tuple((r - sr, c - sc, cell) for r in sorted(sheet.cells) if sr <= r < er
                          for c, cell in sorted(sheet.cells[r].items()) if sc <= c < ec
                          and not any(a <= r < b and x <= c < y for a, b, x, y in free))
            out[pr["protectedRangeId"]] = (er - sr, ec - sc, cells)
    return out


def _box(rng: dict, sheet) -> tuple[int, int, int, int]:
    """A GridRange's (start_row, end_row, start_col, end_col); a missing end is the grid's edge."""
    return (rng.get("startRowIndex", 0), rng.get("endRowIndex", sheet.row_count),
            rng.get("startColumnIndex", 0), rng.get("endColumnIndex", sheet.column_count))


def check_unchanged(before: dict, after: dict) -> None:
    """Raises Google's 400 when something the caller may not edit changed."""
    if before and before != {k: v for k, v in after.items() if k in before}:
        raise invalid(PROTECTED)
