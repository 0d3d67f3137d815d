"""Turn what sheetcrm wants a tab to hold into the fewest cell writes against what it holds now."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sheetcrm.ids import row_key
from sheetcrm.schema import OwnedTab, find_tab, owned_tab_names
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
    """Plan one of sheetcrm's own tabs: header row plus body, created when missing. Returns its title."""
    title = find_tab(list(snapshot.tabs), owned_tab_names(tab))
    if title is None:
        title = tab.display_title(locale)
        plan.new_tabs.append(title)
    plan.writes.extend(tab_writes(title, snapshot.tabs.get(title), [tab.display_headers(locale), *body]))
    return title


def computed_writes(table: Table, values_by_row: dict[int, dict[str, Any]], locale: str) -> list[CellWrite]:
    """Writes that bring sheetcrm's computed columns in a people's tab up to date.

    A missing column is added after everything already there, header first. Every write is
    keyed to its row (`ids.row_key`), and rows whose record is invalid have their stale
    values cleared rather than left to mislead.
    """
    header = table.header
    writes: list[CellWrite] = []
    used = max([header.width, *(len(r.cells) for r in table.rows), *(c + 1 for c in header.fields.values()),
                *(c + 1 for c in header.computed.values())])
    columns: dict[str, int] = {}
    for computed in table.spec.computed:
        col = header.computed.get(computed.key)
        if col is None:
            col = used
            used += 1
            header.computed[computed.key] = col
            writes.append(CellWrite(table.title, 1, col + 1, computed.display(locale), expect=((col + 1, None),)))
        columns[computed.key] = col
    for row in table.rows:
        wanted = values_by_row.get(row.row, {})
        for key, col in columns.items():
            value = cell_value(wanted.get(key))
            have = row.cells[col] if col < len(row.cells) else None
            if not same_value(value, have):
                writes.append(CellWrite(table.title, row.row, col + 1, value, expect=row_key(table, row)))
    return writes
