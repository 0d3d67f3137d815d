"""Rows a merge removes on Google, held until their removal is checked (docs/concurrency.md).

A merge removes a row by position (`deleteDimension`), aimed by the key re-read just before
the `batchUpdate`. A sort in the instant between the two would make the delete remove
whatever row then sits there. So in the same batch, before the deletes, each row to go is
copied whole (`copyPaste`, PASTE_NORMAL: values, formulas, formats, notes, validation) into
a hidden tab that is sheetcrm's own, one per people's tab, at the same row and columns: a
paste moves a formula's relative references by the offset, and an offset of zero moves
nothing. After the batch the holding tab's ID cells are read back (with the read-back the
write makes anyway, or alone): a held row whose ID is not one of the merged IDs aimed at
that tab was a person's row, and it is put back where it was removed; the merged row meant
to go is still in its tab, already copied to Merged, and the next sync removes it. Then the
holding tab is dropped, in the same batch as any restore.

A restore puts the tab back as it was just before the batch's deletes and then removes only
the rows that were meant to go: an empty row is inserted at the index of every removed row
(top first), the wrong ones are pasted back from the holding tab with no offset, and the
empty rows standing for the merged ones are removed again (bottom first). Google moves the
references of every other formula on each insert and delete, so they end as if only the
merged rows had been removed.

The holding tab says what it holds (developer metadata HOLD_KEY: the tab, the ID column,
the rows and the ID each was aimed at), so a hold left by an interrupted write (Google
stopped answering after the batch) is checked and dropped by the next write that finds it,
and nothing in it is lost meanwhile. This module is pure: `gsheets` reads and sends.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from . import CellValue, cell_key

HOLD_KEY = "sheetcrm.hold"
PREFIX = "_sheetcrm hold "  # not for people: a hidden tab that lives for one write


@dataclass(frozen=True)
class Hold:
    """One people's tab's removed rows, held in the hidden tab `title` (sheetId `sheet_id`)."""

    tab: str
    title: str
    sheet_id: int
    col: int                                   # the ID column, 1-based
    width: int                                 # columns copied, from A
    rows: tuple[tuple[int, CellValue], ...]    # (1-based row as aimed, the merged ID aimed at), top first
    made: int = 0                              # order among holds of one tab (time.time_ns)

    def describe(self) -> str:
        """The developer metadata value: what a later write needs to check this hold."""
        return json.dumps({"tab": self.tab, "col": self.col, "width": self.width, "made": self.made,
                           "rows": [[row, value] for row, value in self.rows]}, ensure_ascii=False, default=str)

    @classmethod
    def parse(cls, title: str, sheet_id: int, value: str) -> "Hold | None":
        try:
            data = json.loads(value)
            return cls(str(data["tab"]), title, sheet_id, int(data["col"]), int(data["width"]),
                       tuple((int(row), v) for row, v in data["rows"]), int(data.get("made", 0)))
        except (ValueError, KeyError, TypeError):
            return None


def _row_range(sheet_id: int, row: int, width: int) -> dict:
    return {"sheetId": sheet_id, "startRowIndex": row - 1, "endRowIndex": row,
            "startColumnIndex": 0, "endColumnIndex": width}


def open_requests(hold: Hold, owned_key: str, ids: Iterable[int]) -> list[dict]:
    """The hidden holding tab, marked as sheetcrm's own and with what it holds, and the copy
    of each row to go into it: to run just before the deletes, in the same batch."""
    mark, intent = ids
    out: list[dict] = [
        {"addSheet": {"properties": {
            "sheetId": hold.sheet_id, "title": hold.title, "hidden": True,
            "gridProperties": {"rowCount": max(row for row, _ in hold.rows), "columnCount": hold.width}}}},
        {"createDeveloperMetadata": {"developerMetadata": {
            "metadataId": mark, "metadataKey": owned_key, "metadataValue": hold.title,
            "location": {"sheetId": hold.sheet_id}, "visibility": "DOCUMENT"}}},
        {"createDeveloperMetadata": {"developerMetadata": {
            "metadataId": intent, "metadataKey": HOLD_KEY, "metadataValue": hold.describe(),
            "location": {"sheetId": hold.sheet_id}, "visibility": "DOCUMENT"}}}]
    return out


def copy_requests(hold: Hold, source_id: int) -> list[dict]:
    return [{"copyPaste": {"source": _row_range(source_id, row, hold.width),
                           "destination": _row_range(hold.sheet_id, row, hold.width),
                           "pasteType": "PASTE_NORMAL", "pasteOrientation": "NORMAL"}}
            for row, _ in hold.rows]


def misplaced(hold: Hold, held: list[Any]) -> set[int]:
    """The held rows that are no merged record aimed at this tab: `held` is the holding tab's
    ID column read back (row 1 first). A row holding the ID it was aimed at is right; so is
    one holding another ID of the same batch (two merged rows swapped by a sort), each ID
    counted once."""
    def at(row: int) -> Any:
        return held[row - 1] if row - 1 < len(held) else None

    left = Counter(cell_key(value) for _, value in hold.rows)
    right: set[int] = set()
    for pass_ in (0, 1):
        for row, value in hold.rows:
            got = cell_key(at(row))
            if row in right or got is None or left[got] <= 0 or (pass_ == 0 and got != cell_key(value)):
                continue
            right.add(row)
            left[got] -= 1
    return {row for row, _ in hold.rows} - right


def restore_requests(holds: list[Hold], wrong: dict[str, set[int]], source_ids: dict[str, int],
                     sizes: dict[str, int]) -> list[dict]:
    """Put the wrongly removed rows back and drop every holding tab. `holds` of one tab in the
    order they were made; `wrong` maps a holding tab's title to its rows to put back;
    `sizes` is each tab's row count now (an index past it is clamped: a hold left by an
    earlier write, whose tab has shrunk since)."""
    out: list[dict] = []
    for tab in dict.fromkeys(h.tab for h in holds):
        chain = sorted((h for h in holds if h.tab == tab), key=lambda h: h.made)
        if tab not in source_ids or not any(wrong.get(h.title) for h in chain):
            continue
        sheet_id, size = source_ids[tab], sizes[tab]
        spare: list[list[int]] = []  # [index now, 1 when it stands for a merged row] per inserted row
        # Undo the latest hold's deletes first: each hold's rows were aimed at the tab as the
        # holds after it found it.
        for hold in reversed(chain):
            for row, _ in sorted(hold.rows):
                at = min(row - 1, size)
                for entry in spare:
                    entry[0] += entry[0] >= at
                out.append({"insertDimension": {"range": {"sheetId": sheet_id, "dimension": "ROWS",
                                                          "startIndex": at, "endIndex": at + 1},
                                                "inheritFromBefore": False}})
                size += 1
                if row in wrong.get(hold.title, set()):
                    out.append({"copyPaste": {"source": _row_range(hold.sheet_id, row, hold.width),
                                              "destination": _row_range(sheet_id, at + 1, hold.width),
                                              "pasteType": "PASTE_NORMAL", "pasteOrientation": "NORMAL"}})
                else:
                    spare.append([at, 1])
        for at, _ in sorted(spare, reverse=True):
            out.append({"deleteDimension": {"range": {"sheetId": sheet_id, "dimension": "ROWS",
                                                      "startIndex": at, "endIndex": at + 1}}})
    # A hold with a row to put back whose tab is gone (deleted or renamed meanwhile) stays: the
    # row is still whole there, for a person to copy back.
    out.extend({"deleteSheet": {"sheetId": h.sheet_id}} for h in holds
               if h.tab in source_ids or not wrong.get(h.title))
    return out
