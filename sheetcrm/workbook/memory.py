"""An in-memory workbook with the same semantics as the real backends, for fast tests."""

from __future__ import annotations

import copy

from . import (CellValue, CellWrite, Grid, Plan, Replace, RowDelete, Snapshot, WriteResult, drop_orphans, holds_target,
               same_value, trim_rows)


class MemoryWorkbook:
    """Tabs as lists of rows (row 0 is the sheet's row 1) plus, per tab and at 0-based
    positions, what the cells show beyond their values, as `Grid` describes: formula cells,
    error results ({(row, col): "#N/A"}), percent-formatted cells, currency-formatted cells
    ({(row, col): "JPY"}), merged blocks ((first_row, first_col, last_row, last_col),
    inclusive) and the codes zero-padded numbers show ({(row, col): "08001"}; a value written
    there drops its code, since nothing here formats it).

    A formula cell holds whatever value it was given; one written with `formula=True` holds
    its formula text, since nothing here evaluates formulas. An error cell reads as None with
    its error text, as the real backends report it, until a write replaces it; a cell keeps
    its percent format and merges stay, as a value written into a spreadsheet leaves them.
    `owned` names the tabs that carry sheetcrm's mark; a write marks `Plan.mark_owned`.
    """

    def __init__(
        self,
        tabs: dict[str, list[list[CellValue]]] | None = None,
        formulas: dict[str, set[tuple[int, int]]] | None = None,
        owned: set[str] | None = None,
        errors: dict[str, dict[tuple[int, int], str]] | None = None,
        percent: dict[str, set[tuple[int, int]]] | None = None,
        merges: dict[str, list[tuple[int, int, int, int]]] | None = None,
        currency: dict[str, dict[tuple[int, int], str]] | None = None,
        date1904: bool = False,
        codes: dict[str, dict[tuple[int, int], str]] | None = None,
    ) -> None:
        self.tabs: dict[str, list[list[CellValue]]] = copy.deepcopy(tabs or {})
        self.formulas: dict[str, set[tuple[int, int]]] = {t: set(c) for t, c in (formulas or {}).items()}
        self.errors: dict[str, dict[tuple[int, int], str]] = {t: dict(e) for t, e in (errors or {}).items()}
        self.percent: dict[str, set[tuple[int, int]]] = {t: set(c) for t, c in (percent or {}).items()}
        self.merges: dict[str, list[tuple[int, int, int, int]]] = {t: list(m) for t, m in (merges or {}).items()}
        self.currency: dict[str, dict[tuple[int, int], str]] = {t: dict(c) for t, c in (currency or {}).items()}
        self.codes: dict[str, dict[tuple[int, int], str]] = {t: dict(c) for t, c in (codes or {}).items()}
        for tab in self.tabs:
            self.formulas.setdefault(tab, set())
        self.owned: set[str] = {t for t in (owned or ()) if t in self.tabs}
        self.date1904 = date1904  # the workbook's date system (`Grid.date1904`), on every tab
        self.hidden: set[str] = set()  # tabs a write hid (`Plan.hide`)
        # Lets a sync test assert that an empty plan wrote nothing.
        self.saves = 0

    def describe(self) -> str:
        return "memory"

    def exists(self) -> bool:
        return True

    def read(self) -> Snapshot:
        return Snapshot(tabs={tab: self._grid(tab) for tab in self.tabs}, owned=set(self.owned),
                        hidden=set(self.hidden))

    def _grid(self, tab: str) -> Grid:
        errors = dict(self.errors.get(tab, {}))
        rows = copy.deepcopy(self.tabs[tab])
        for r, c in errors:
            if r < len(rows) and c < len(rows[r]):
                rows[r][c] = None
        return Grid(rows=trim_rows(rows), formulas=set(self.formulas[tab]), errors=errors,
                    percent=set(self.percent.get(tab, ())), currency=dict(self.currency.get(tab, {})),
                    merges=list(self.merges.get(tab, ())), date1904=self.date1904,
                    codes=dict(self.codes.get(tab, {})))

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
        # Deletes are aimed before anything moves: at the row that holds what they expect.
        doomed = {(d.tab, r) for d in plan.deletes if (r := self._locate(d)) is not None}
        for w in drop_orphans(accepted, result.skipped):
            self._apply(w)
            result.written[w.tab] = result.written.get(w.tab, 0) + 1
        for rep in plan.replacements:
            self._replace(rep, result)
        for tab, r in sorted(doomed, key=lambda d: -d[1]):
            self._delete(tab, r)
            result.deleted[tab] = result.deleted.get(tab, 0) + 1
        marking = {t for t in plan.mark_owned if t in self.tabs} - self.owned
        self.owned |= marking
        if created or accepted or marking or doomed or result.replaced:
            self.saves += 1
            self.hidden |= {t for t in plan.hide if t in self.tabs}  # rides along with a write
        return result

    def _cell(self, tab: str, row: int, col: int) -> CellValue:
        if (row, col) in self.errors.get(tab, {}):
            return None  # as read() reported it when the plan was made
        rows = self.tabs[tab]
        if row < len(rows) and col < len(rows[row]):
            return rows[row][col]
        return None

    def _acceptable(self, w: CellWrite) -> bool:
        if w.tab not in self.tabs:
            return False
        if w.expect and (w.row - 1, w.col - 1) in self.formulas[w.tab]:
            return False
        if not holds_target(w, self._cell(w.tab, w.row - 1, w.col - 1)):
            return False
        return all(same_value(self._cell(w.tab, w.row - 1, col - 1), expected) for col, expected in w.expect)

    def _holds(self, tab: str, r: int, expect: tuple[tuple[int, CellValue], ...]) -> bool:
        return all(same_value(self._cell(tab, r, col - 1), v) for col, v in expect)

    def _locate(self, d: RowDelete) -> int | None:
        """The 0-based row `d` deletes: its own while it holds `expect`, else the one that does."""
        if d.tab not in self.tabs or not d.expect:
            return None
        if self._holds(d.tab, d.row - 1, d.expect):
            return d.row - 1
        rows = [r for r in range(1, len(self.tabs[d.tab])) if self._holds(d.tab, r, d.expect)]
        return rows[0] if len(rows) == 1 else None

    def _replace(self, rep: Replace, result: WriteResult) -> None:
        if rep.tab not in self.tabs:
            return
        c = rep.col - 1
        for r, row in enumerate(self.tabs[rep.tab]):
            if r and c < len(row) and (r, c) not in self.formulas[rep.tab] and row[c] == rep.find:
                row[c] = rep.replace
                result.replaced[rep.tab] = result.replaced.get(rep.tab, 0) + 1

    def _delete(self, tab: str, r: int) -> None:
        """Row r (0-based) goes; the cells facts of the rows below move up with them."""
        del self.tabs[tab][r]

        def moved(cells):
            return {(rr - (rr > r), cc) for rr, cc in cells if rr != r}

        def moved_map(cells):
            return {(rr - (rr > r), cc): v for (rr, cc), v in cells.items() if rr != r}

        self.formulas[tab] = moved(self.formulas[tab])
        if tab in self.percent:
            self.percent[tab] = moved(self.percent[tab])
        if tab in self.errors:
            self.errors[tab] = moved_map(self.errors[tab])
        if tab in self.currency:
            self.currency[tab] = moved_map(self.currency[tab])
        if tab in self.codes:
            self.codes[tab] = moved_map(self.codes[tab])
        if tab in self.merges:
            self.merges[tab] = [(a - (a > r), b, c - (c >= r), d) for a, b, c, d in self.merges[tab]
                                if not a == c == r]

    def _apply(self, w: CellWrite) -> None:
        rows = self.tabs[w.tab]
        r, c = w.row - 1, w.col - 1
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        while len(row) <= c:
            row.append(None)
        self.errors.get(w.tab, {}).pop((r, c), None)
        self.codes.get(w.tab, {}).pop((r, c), None)
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
