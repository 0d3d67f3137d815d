"""Turn what sheetcrm wants a tab to hold into the fewest cell writes against what it holds now."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sheetcrm.schema import OwnedTab, find_tab, owned_tab_names
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


def owned_tab(plan: Plan, snapshot: Snapshot, tab: OwnedTab, locale: str, body: list[list[Any]]) -> None:
    """Plan one of sheetcrm's own tabs: header row plus body, created when missing."""
    title = find_tab(list(snapshot.tabs), owned_tab_names(tab))
    if title is None:
        title = tab.display_title(locale)
        plan.new_tabs.append(title)
    plan.writes.extend(tab_writes(title, snapshot.tabs.get(title), [tab.display_headers(locale), *body]))
