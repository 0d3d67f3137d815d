"""An in-memory workbook with the same semantics as the real backends, for fast tests."""

from __future__ import annotations

import copy

from . import CellValue, CellWrite, Grid, Plan, Snapshot, WriteResult, drop_orphans, same_value, trim_rows


class MemoryWorkbook:
    """Tabs as lists of rows (row 0 is the sheet's row 1) plus the 0-based positions of
    formula cells per tab.

    A formula cell holds whatever value it was given; one written with `formula=True` holds
    its formula text, since nothing here evaluates formulas.
    `owned` names the tabs that carry sheetcrm's mark; a write marks `Plan.mark_owned`.
    """

    def __init__(
        self,
        tabs: dict[str, list[list[CellValue]]] | None = None,
        formulas: dict[str, set[tuple[int, int]]] | None = None,
        owned: set[str] | None = None,
    ) -> None:
        self.tabs: dict[str, list[list[CellValue]]] = copy.deepcopy(tabs or {})
        self.formulas: dict[str, set[tuple[int, int]]] = {t: set() for t in self.tabs}
        for tab, cells in (formulas or {}).items():
            self.formulas[tab] = set(cells)
        self.owned: set[str] = {t for t in (owned or ()) if t in self.tabs}
        # Lets a sync test assert that an empty plan wrote nothing.
        self.saves = 0

    def describe(self) -> str:
        return "memory"

    def exists(self) -> bool:
        return True

    def read(self) -> Snapshot:
        return Snapshot(
            tabs={
                tab: Grid(rows=trim_rows(copy.deepcopy(rows)), formulas=set(self.formulas[tab]))
                for tab, rows in self.tabs.items()
            },
            owned=set(self.owned),
        )

    def write(self, plan: Plan) -> WriteResult:
        result = WriteResult()
        if not plan:
            return result
        created = [tab for tab in dict.fromkeys(plan.new_tabs) if tab not in self.tabs]
        for tab in created:
            self.tabs[tab] = []
            self.formulas[tab] = set()
        # Every expectation is judged against the workbook as it was before this plan, the
        # way one batched update sees it; otherwise a plan that fills a key cell would trip
        # its own expectations on the same row.
        accepted = []
        for w in plan.writes:
            if self._acceptable(w):
                accepted.append(w)
            else:
                result.skipped.append(w)
        for w in drop_orphans(accepted, result.skipped):
            self._apply(w)
            result.written[w.tab] = result.written.get(w.tab, 0) + 1
        marking = {t for t in plan.mark_owned if t in self.tabs} - self.owned
        self.owned |= marking
        if created or accepted or marking:
            self.saves += 1
        return result

    def _cell(self, tab: str, row: int, col: int) -> CellValue:
        rows = self.tabs[tab]
        if row < len(rows) and col < len(rows[row]):
            return rows[row][col]
        return None

    def _acceptable(self, w: CellWrite) -> bool:
        if w.tab not in self.tabs:
            return False
        if w.expect and (w.row - 1, w.col - 1) in self.formulas[w.tab]:
            return False
        return all(same_value(self._cell(w.tab, w.row - 1, col - 1), expected) for col, expected in w.expect)

    def _apply(self, w: CellWrite) -> None:
        rows = self.tabs[w.tab]
        r, c = w.row - 1, w.col - 1
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        while len(row) <= c:
            row.append(None)
        if w.formula:
            row[c] = formula_text(w.value)
            self.formulas[w.tab].add((r, c))
        else:
            row[c] = w.value
            self.formulas[w.tab].discard((r, c))


def formula_text(value: CellValue) -> str:
    """The formula of a `formula=True` write, with the leading "=" a spreadsheet expects."""
    text = str(value)
    return text if text.startswith("=") else "=" + text
