"""Stable record IDs: every row of an ID-bearing tab gets one, and no ID is ever handed out twice."""

from __future__ import annotations

import re
from typing import Any, Iterable

from sheetcrm import cells
from sheetcrm.owned import owned_title
from sheetcrm.schema import VALIDATION, id_pattern
from sheetcrm.table import Row, Table
from sheetcrm.workbook import CellValue, CellWrite, Grid, Snapshot, cell_key

# How many of a row's own cells identify it when its ID is filled in. Two is enough to tell
# a row from its neighbours after a concurrent sort, without pinning the write to cells
# that people edit all the time; a row whose two cells another row holds too is keyed by
# all its own cells (`_fingerprints`).
FINGERPRINT_CELLS = 2


def read_sequences(grid: Grid | None) -> dict[str, int]:
    """The high-water mark per prefix, from sheetcrm's own tab (Key, Value rows)."""
    marks: dict[str, int] = {}
    if grid is None:
        return marks
    for row in grid.rows[1:]:
        key = cells.parse_text(row[0]) if row else None
        try:
            value = cells.parse_integer(row[1]) if len(row) > 1 else None
        except cells.CellError:
            value = None  # a damaged mark is rebuilt from the IDs in the sheet
        if key and value is not None:
            marks[key] = value
    return marks


def recorded_marks(snapshot: Snapshot, tables: Iterable[Table], marks: dict[str, int]) -> dict[str, int]:
    """For the ID tabs whose prefix has no mark (the `_sheetcrm` tab, or its row, deleted or
    damaged): the highest number of an ID of that prefix in sheetcrm's own tabs
    (`Snapshot.owned`), each cell read whole as `highest_id` reads an ID, where it is above the
    tab's own IDs. Without the mark the rows' own IDs are not enough: a deleted row's ID lives
    on in the histories, Merged, the Accounts Overview, the Workflow Log, and handing it out
    again would give the new record the old one's history without a word. People's tabs are
    not read: a reference typed wrong ("OPP-9999") names no record sheetcrm ever saw. Read only
    while a mark is missing (the next write puts it back)."""
    missing = [t for t in tables if t.spec.id_prefix and t.spec.id_prefix not in marks]
    if not missing or not snapshot.owned:
        return {}
    wanted = {t.spec.id_prefix.upper(): t.spec.id_prefix for t in missing}  # type: ignore[union-attr]
    pattern = re.compile(rf"^({'|'.join(map(re.escape, wanted.values()))})-(\d+)$", re.IGNORECASE | re.MULTILINE)
    found: dict[str, int] = {}
    # The Validation tab quotes people's cells: a typo there is no record either.
    validation = owned_title(snapshot, VALIDATION)
    for title, grid in snapshot.tabs.items():
        if title not in snapshot.owned or title == validation:
            continue
        text = "\n".join(cells.canonical_text(v) for row in grid.rows for v in row if v.__class__ is str and "-" in v)
        for head, number in pattern.findall(text):
            prefix = wanted[head.upper()]
            found[prefix] = max(found.get(prefix, 0), int(number))
    return {p: found[p] for t in missing if found.get(p := t.spec.id_prefix, 0) > highest_id(t.rows, p)}  # type: ignore[arg-type]


def assign_ids(table: Table, marks: dict[str, int], header_text: str) -> list[CellWrite]:
    """Writes that give every row without an ID a new one. The table's rows and records take
    their new IDs at once, so everything computed later in the sync already uses them;
    `marks` moves forward in place; each fill's key is `_fingerprints`'."""
    prefix = table.spec.id_prefix
    assert prefix is not None
    counter = max(highest_id(table.rows, prefix), marks.get(prefix, 0))

    writes: list[CellWrite] = []
    header = table.header
    if header.full:
        return writes  # the tab has no room for sheetcrm's columns: reported, and nothing written
    id_col = header.fields.get("id")
    if id_col is None and "id" not in header.new:
        return writes  # no header row: no column is added
    if id_col is None:
        # No ID column yet: one goes in the header row, after everything the team uses
        # (table.py placed it), never over it.
        id_col = header.new["id"]
        writes.append(CellWrite(table.title, header.row, id_col + 1, header_text, expect=((id_col + 1, None),)))
        header.fields["id"] = id_col

    fresh = [row for row in table.rows if not (row.id is not None or row.id_fixed or blank_text_id(row))]
    keys = _fingerprints(table, fresh) if fresh else {}
    for row in fresh:
        key = keys[row.row]
        row.fingerprint = key
        counter += 1
        row.id, row.assigned = f"{prefix}-{counter:04d}", True
        if row.record is not None:
            row.record = row.record.model_copy(update={"id": row.id})
        if row.target is not None:
            row.target = row.target.model_copy(update={"id": row.id})
        writes.append(CellWrite(table.title, row.row, id_col + 1, row.id, expect=row_key(table, row)))
    marks[prefix] = counter
    return writes


def blank_text_id(row: Row) -> bool:
    """Whether the row's ID cell holds text that reads as no ID (a space, a zero-width space):
    no ID to read, but no empty cell either, so a fill guarded on an empty cell would never land
    (each sync handed out a number and dropped it, saying the row changed meanwhile). It is
    not filled; the read reports it (`id_blank_text`) for a person to clear."""
    return row.id is None and not row.id_fixed and row.raw_id.__class__ is str and row.raw_id != ""


def highest_id(rows: list[Row], prefix: str) -> int:
    """The highest number of the rows' IDs of the form PREFIX-digits (`id_pattern`, each read as
    `cells.canonical_text` reads it), 0 when none is.

    Every sync asks this of every ID (~50k at 10k leads), so the IDs are searched as one text,
    one per line: an ASCII ID that matches as it is has no white space, which canonical_text
    would leave as it is, so only the lines that do not match are read one by one."""
    ids = [row.id for row in rows if row.id]
    text = "\n".join(ids)
    if not text.isascii() or text.count("\n") != len(ids) - 1:  # an ID of another script, or with a line break
        return _highest(ids, id_pattern(prefix))
    head = re.escape(prefix)
    found = [int(n) for n in re.findall(rf"^{head}-(\d+)$", text, re.IGNORECASE | re.MULTILINE)]
    if len(found) < len(ids):
        others = re.findall(rf"^(?!{head}-\d+$).*$", text, re.IGNORECASE | re.MULTILINE)
        found.append(_highest(others, id_pattern(prefix)))
    return max(found, default=0)


def _highest(ids: list[str], pattern: re.Pattern[str]) -> int:
    numbers = (int(m.group(1)) for text in ids if (m := pattern.match(cells.canonical_text(text))))
    return max(numbers, default=0)


def row_key(table: Table, row: Row) -> tuple[tuple[int, CellValue], ...]:
    """What a write into this row expects to find there: its ID cell as read (a typed 4563 is
    the number 4563, not the text "4563", and backends compare cell values), or for a row whose ID this
    sync assigns, an empty ID cell and the row's own first cells under the tab's CRM columns
    (never a side table's cells, which may be formulas that change on their own); for a row
    this sync appends, every CRM cell of it empty, as its append expects."""
    id_col = table.header.fields["id"]
    if row.appended:
        # A row this sync appends: what `plan.append_writes` expects, every CRM cell still empty.
        return tuple((col + 1, None) for col in sorted({*table.header.fields.values(), *table.header.custom.values()}))
    if not row.assigned:
        return ((id_col + 1, row.raw_id),)
    return ((id_col + 1, None), *row.fingerprint)


def _own_columns(table: Table) -> list[int]:
    return sorted({*table.header.fields.values(), *table.header.custom.values()} - {table.header.fields["id"]})


def _cell(row: Row, col: int) -> Any:
    return row.cells[col] if col < len(row.cells) else None


def _fingerprints(table: Table, fresh: list[Row]) -> dict[int, tuple[tuple[int, CellValue], ...]]:
    """Per sheet row of `fresh` (the rows this sync gives an ID): what its fill expects besides
    the empty ID cell.

    The read-back after a Google write finds where a new ID landed by these cells, so no other
    row of the tab may hold them: two new rows alike in their first two cells (Last Name,
    Company) but not in their Status, swapped by a sort just before the batch, each read as its
    own record there, and the history logged one's Status under the other's ID; and a new ID
    that landed on a third row could not be taken back, since two fills expected the same
    cells. Such a row is keyed by every one of its own cells, empty ones too (an empty Status is
    no Status "New"). A row whose own cells are all another row's is keyed so too: the two
    are the same wherever each ID lands (no history can be the other's), and an ID landing on
    a row that had one is taken back as before (`landing`), so both get IDs (two accounts
    "Beta" in a tab of names only are two accounts)."""
    own = _own_columns(table)
    short: dict[int, tuple[tuple[int, Any], ...]] = {}
    for row in fresh:
        found: list[tuple[int, Any]] = []
        for col in own:
            value = _cell(row, col)
            if not cells.is_blank(value):
                found.append((col + 1, value))
                if len(found) == FINGERPRINT_CELLS:
                    break
        short[row.row] = tuple(found)
    # How many rows of the tab hold each short fingerprint: an index per set of columns, built
    # over every row once (a 10,000-row import hands out 10,000 IDs at once).
    held: dict[tuple[int, ...], dict[tuple, int]] = {}
    for cols in {tuple(c for c, _v in fp) for fp in short.values()}:
        count = held[cols] = {}
        for other in table.rows:
            values = tuple(cell_key(_cell(other, c - 1)) for c in cols)
            count[values] = count.get(values, 0) + 1
    out: dict[int, tuple[tuple[int, CellValue], ...]] = {}
    for row in fresh:
        fp = short[row.row]
        cols = tuple(c for c, _v in fp)
        if not fp or held[cols][tuple(cell_key(v) for _c, v in fp)] < 2:
            out[row.row] = fp
            continue
        out[row.row] = tuple((c + 1, _cell(row, c)) for c in own)
    return out


