"""Turn what sheetcrm wants a tab to hold into the fewest cell writes against what it holds now."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sheetcrm.ids import row_key
from sheetcrm.owned import locate
from sheetcrm.schema import OwnedTab
from sheetcrm.table import Table
from sheetcrm.workbook import CellValue, CellWrite, Grid, Plan, Snapshot, same_value


def cell_value(v: Any) -> CellValue:
    """A computed value as a cell can hold it; Decimal becomes a float only at this edge."""
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def tab_writes(title: str, current: Grid | None, wanted: list[list[Any]]) -> list[CellWrite]:
    """Writes that make a sheetcrm-owned tab hold exactly `wanted`, clearing any leftovers."""
    writes: list[CellWrite] = []
    have_rows = current.rows if current else []
    for r in range(max(len(wanted), len(have_rows))):
        want_row = wanted[r] if r < len(wanted) else []
        have_row = have_rows[r] if r < len(have_rows) else []
        for c in range(max(len(want_row), len(have_row))):
            want = cell_value(want_row[c]) if c < len(want_row) else None
            have = have_row[c] if c < len(have_row) else None
            if not same_value(want, have):
                writes.append(CellWrite(title, r + 1, c + 1, want))
    return writes


def owned_tab(plan: Plan, snapshot: Snapshot, tab: OwnedTab, locale: str, body: list[list[Any]]) -> str:
    """Plan one of sheetcrm's own tabs: header row plus body, created when missing. Returns its title.

    The tab is the one `owned.locate` finds: never a team's tab of the same name. A new tab,
    or an adopted unmarked one that this plan writes, is marked as sheetcrm's in the same write."""
    place = locate(snapshot, tab, locale)
    title = place.title
    if not place.exists and title not in plan.new_tabs:
        plan.new_tabs.append(title)
    writes = tab_writes(title, snapshot.tabs.get(title), [tab.display_headers(locale), *body])
    plan.writes.extend(writes)
    if (not place.exists or (place.adopt and writes)) and title not in plan.mark_owned:
        plan.mark_owned.append(title)
    return title


def computed_writes(table: Table, values_by_row: dict[int, dict[str, Any]], locale: str) -> list[CellWrite]:
    """Writes that bring sheetcrm's computed columns in a people's tab up to date.

    A missing column goes where `table.py` placed it (after the last used column and every
    merged block), its header in the tab's header row. Every write is keyed to its row
    (`ids.row_key`); rows whose record is invalid, and rows that are no longer records, have
    their stale values cleared rather than left to mislead. A tab with no room for the
    columns (`Header.full`) gets no write at all.
    """
    header = table.header
    writes: list[CellWrite] = []
    if header.full or "id" not in header.fields:
        return writes
    columns: dict[str, int] = {}
    for computed in table.spec.computed:
        col = header.computed.get(computed.key)
        if col is None:
            col = header.new[computed.key]
            header.computed[computed.key] = col
            writes.append(CellWrite(table.title, header.row, col + 1, computed.display(locale),
                                    expect=((col + 1, None),)))
        columns[computed.key] = col
    for row in table.rows:
        wanted = values_by_row.get(row.row, {})
        for key, col in columns.items():
            value = cell_value(wanted.get(key))
            have = row.cells[col] if col < len(row.cells) else None
            if not same_value(value, have):
                writes.append(CellWrite(table.title, row.row, col + 1, value, expect=row_key(table, row)))
    id_col = header.fields["id"]
    for row in table.leftovers:
        # No record, no ID: the write holds only while the row still shows exactly these
        # stale values and no ID.
        stale = [(col + 1, row.cells[col]) for col in columns.values()
                 if col < len(row.cells) and not same_value(row.cells[col], None)]
        expect = ((id_col + 1, None), *stale)
        writes.extend(CellWrite(table.title, row.row, col, None, expect=expect) for col, _ in stale)
    return writes
