"""Where a Google write to rows known by their ID landed (the Outbox's writes), and how to
put a misplaced one right.

The Outbox's claim and outcome writes (docs/quotes.md) set several cells of a row that is
known by its ID, and carry `expect` ((id column, ID), (column, value), ...): the row's ID
and the cells that decide whether the write still applies (Status, Message-ID). The key
re-read (`gsheets._aim`) aims each write at the row holding them, but a sort of the tab, or
an older copy of it restored, between that re-read and the `batchUpdate` puts the cells on
another row: a claim's Sending and Message-ID, or an outcome's Sent, on a row that was never
sent. This module compares the rows read back after the write with what was meant. It is
pure: `gsheets` does the reading and the writing.

A row write (`RowWrite`: one row's cells, from the plan's writes that share a row) is

* **landed** when the row with its ID holds its values (wherever that row is now);
* **misplaced** onto another row (a *victim*) when a row with another ID, or none, holds all
  of its values, did not hold them before, and either sits where the write was addressed
  or holds a value the write made new (a fresh Message-ID or time, found nowhere in that
  column before): the victim's cells in the written columns are put back as the re-read
  before the first attempt saw them (by the victim's ID; else as the snapshot the plan was
  made from had them; else emptied: a row with no ID, or one restored from an older copy
  meanwhile, had nothing of sheetcrm's there that can be told);
* **re-aimed** when it did not land and the row with its ID still holds what the write
  expects (the guard, read in the read-back, after the victims' cells are put back);
* **missed** otherwise (a person changed the row meanwhile: their change wins), and
  reported as skipped, as a write dropped at the re-read is.

The repairs are written by position, right after the read-back, and read back in turn: a
repair is a row write too (a put-back is guarded by the misplaced values it undoes), so
the same check runs again, a bounded number of rounds (`gsheets.KEYED_ROUNDS`).

A write that ended before its read-back though a batch of it may have landed (its answer
lost, then Google gone) is checked *late*, by the next write's read-back (`check(late=True)`):
its victims are put back, and nothing of it is re-aimed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import CellValue, CellWrite, Snapshot, cell_key, same_value
from .landing import _blank, _cell, _is_formula

Columns = dict[tuple[str, int], list[Any]]  # (tab, 1-based column) -> its cells from row 1 down


def is_keyed(w: CellWrite) -> bool:
    """A write into a row known by its ID, guarded by more than the ID (the Outbox's shape).
    Disjoint from `landing.is_fill` (an empty ID expected) and `landing.is_computed` (the ID
    alone, or a blank one with a fingerprint)."""
    return (w.row > 1 and len(w.expect) > 1 and w.expect[0][0] != w.col
            and not _blank(w.expect[0][1]))


@dataclass
class RowWrite:
    """Cells of one row, meant for the row whose ID cell (`id_col`) holds `key` (None: a
    row with no ID, for a put-back), addressed at `rows` (one per attempt sent)."""

    tab: str
    id_col: int
    key: CellValue
    values: dict[int, tuple[CellValue, bool]]   # column -> (value, formula)
    guard: dict[int, CellValue]                 # what the row must hold to be re-aimed at
    rows: set[int] = field(default_factory=set)
    origins: tuple[tuple[str, int, int], ...] = ()   # the plan's writes it stands for
    # A plan's write was addressed by the re-read: a row where it was sent holding its cells
    # got them from it. A repair's cells (a row's earlier state) may be what a restored copy
    # put there anyway, so only cells that name their row tell where a repair went.
    by_address: bool = True

    def cells(self, row: int) -> list[CellWrite]:
        return [CellWrite(self.tab, row, col, value, formula=formula)
                for col, (value, formula) in sorted(self.values.items())]


def row_writes(pairs: list[tuple[CellWrite, CellWrite]]) -> dict[tuple, RowWrite]:
    """The keyed writes of one attempt, as (written write, plan's write) pairs, grouped into
    row writes by (tab, plan's row)."""
    out: dict[tuple, RowWrite] = {}
    for w, origin in pairs:
        if not is_keyed(origin):
            continue
        (id_col, key), *rest = origin.expect
        slot = (origin.tab, origin.row)
        group = out.get(slot)
        if group is None:
            group = out[slot] = RowWrite(origin.tab, id_col, key, {}, dict(rest))
        group.values[origin.col] = (origin.value, origin.formula)
        group.rows.add(w.row)
        group.origins += (origin.key,)
    return out


def columns_to_check(groups: list[RowWrite]) -> dict[str, set[int]]:
    """Per tab, the columns a re-read or read-back needs: ID, guard and written columns."""
    out: dict[str, set[int]] = {}
    for g in groups:
        out.setdefault(g.tab, set()).update({g.id_col, *g.guard, *g.values})
    return out


Settled = dict[tuple[str, Any], dict[int, CellValue]]  # (tab, row ID) -> cells of it that landed


@dataclass
class Check:
    repairs: list[RowWrite] = field(default_factory=list)   # put-backs and re-aims, to write now
    landed: set[tuple[str, int, int]] = field(default_factory=set)   # plan keys, as meant
    missed: set[tuple[str, int, int]] = field(default_factory=set)   # plan keys, not written
    settled: Settled = field(default_factory=dict)           # rows whose cells landed this round


def check(groups: list[RowWrite], prior: Columns, after: Columns, snapshot: Snapshot | None,
          settled: Settled | None = None, *, late: bool = False) -> Check:
    """One round: what `after` (the read-back, as values) shows of `groups`, and the repairs.

    `prior` is the state before anything of the plan was sent (the first attempt's re-read,
    rendered as FORMULA), in every round: what each row held, and who held which value, before
    any write of ours could have moved cells. `settled` holds the cells earlier rounds saw land
    on their own rows (a row hit later is put back to those), and `snapshot` (the read the plan
    was made from) covers rows the re-read did not see.

    `late`: the groups are an earlier write's that failed after a batch may have landed (its
    answer lost, then Google gone before the read-back): only their victims are put back. A
    write that did not land is not re-aimed (the job that meant it has ended), and nothing is
    reported landed or missed (those keys are another plan's)."""
    result = Check()
    by_tab: dict[str, list[RowWrite]] = {}
    for g in groups:
        by_tab.setdefault(g.tab, []).append(g)
    for tab, mine in by_tab.items():
        _Round(tab, mine, prior, after, snapshot, settled or {}).run(result, late)
    return result


class _Round:
    def __init__(self, tab: str, groups: list[RowWrite], prior: Columns, after: Columns,
                 snapshot: Snapshot | None, settled: Settled) -> None:
        self.tab, self.groups, self.settled = tab, groups, settled
        self.id_col = groups[0].id_col
        self.prior, self.after = prior, after
        self.grid = snapshot.tabs.get(tab) if snapshot else None
        self.height = max((len(v) for (t, _), v in after.items() if t == tab), default=0)
        self.prior_height = max((len(v) for (t, _), v in prior.items() if t == tab), default=0)
        self.view: dict[tuple[int, int], CellValue] = {}   # cells as they will be after the put-backs
        self.ids = {r: cell_key(_cell(after, tab, self.id_col, r)) for r in range(2, self.height + 1)}

    def _after(self, col: int, row: int) -> Any:
        if (row, col) in self.view:
            return self.view[(row, col)]
        return _cell(self.after, self.tab, col, row)

    def _targets(self, g: RowWrite) -> list[int]:
        """The rows `g` is meant for: those with its ID, or for a row without one, where it
        was addressed if that row still has none."""
        if g.key is None:
            return sorted(r for r in g.rows if self.ids.get(r) is None)
        return [r for r, k in self.ids.items() if k == cell_key(g.key)]

    def _holds(self, row: int, values: dict[int, Any], view: bool = False) -> bool:
        for col, want in values.items():
            have = self._after(col, row) if view else _cell(self.after, self.tab, col, row)
            if _is_formula(have) or _is_formula(want):
                continue  # a value read cannot be told from a formula's text; the others decide
            if not same_value(have, want):
                return False
        return True

    def run(self, result: Check, late: bool = False) -> None:
        plain = {id(g): {c: v for c, (v, _) in g.values.items()} for g in self.groups}
        fixes: dict[int, RowWrite] = {}   # row -> the repair written there
        # 1. Victims: rows holding another row's cells. Their cells go back first, so that a
        #    write meant for a victim is judged against the row as it will be.
        targets = {id(g): self._targets(g) for g in self.groups}
        state = sorted({c for g in self.groups for c in (*g.values, *g.guard)} - {self.id_col})
        for g in self.groups:
            telling = self._telling(g, plain[id(g)])
            for r in range(2, self.height + 1):
                if r in targets[id(g)] or r in fixes or not self._holds(r, plain[id(g)]):
                    continue
                if not (telling or g.by_address and r in g.rows) or self._legitimate(r, plain[id(g)]):
                    continue
                fixes[r] = RowWrite(self.tab, self.id_col, _value(self.after, self.tab, self.id_col, r),
                                    self._before(self.ids[r], list(g.values), state), dict(plain[id(g)]), {r},
                                    by_address=False)
                self.view.update({(r, c): v for c, (v, _) in fixes[r].values.items()})
        # 2. Each write: landed where meant, re-aimed at its row, or missed.
        for g in [] if late else self.groups:
            want = plain[id(g)]
            if any(r not in fixes and self._holds(r, want) for r in targets[id(g)]):
                result.landed.update(g.origins)
                if g.key is not None:
                    result.settled.setdefault((self.tab, cell_key(g.key)), {}).update(want)
                continue
            candidates = [r for r in targets[id(g)] if self._holds(r, g.guard, view=True)]
            if len(candidates) == 1:
                r = candidates[0]
                merged = dict(fixes[r].values) if r in fixes else {}
                merged.update(g.values)
                guard = fixes[r].guard if r in fixes else g.guard
                fixes[r] = RowWrite(self.tab, self.id_col, g.key, merged, guard, {r}, g.origins, by_address=False)
                result.landed.update(g.origins)
            else:
                result.missed.update(g.origins)
        result.repairs.extend(fixes[r] for r in sorted(fixes))

    def _telling(self, g: RowWrite, values: dict[int, Any]) -> bool:
        """Whether the write holds a value that no other row held in its column before: a
        fresh Message-ID or time, or the row's own Message-ID, which marks its cells wherever
        the row has moved since."""
        ids = self.prior.get((self.tab, self.id_col), [])
        for col, want in values.items():
            if _blank(want):
                continue
            column = self.prior.get((self.tab, col), [])
            if not any(same_value(v, want) and (g.key is None or r >= len(ids) or cell_key(ids[r]) != cell_key(g.key))
                       for r, v in enumerate(column) if r > 0):
                return True
        return False

    def _legitimate(self, r: int, values: dict[int, Any]) -> bool:
        """The row holds these values by right: another write of the round meant them for
        it, or it held them before."""
        key = self.ids[r]
        if any(cell_key(g.key) == key and {c: v for c, (v, _) in g.values.items()} == values for g in self.groups):
            return True
        if key is None:
            return False
        landed = self.settled.get((self.tab, key), {})
        if all(c in landed and same_value(landed[c], v) for c, v in values.items()):
            return True
        rows = [u for u in range(2, self.prior_height + 1) if cell_key(_cell(self.prior, self.tab, self.id_col, u)) == key]
        return len(rows) == 1 and all(same_value(_cell(self.prior, self.tab, c, rows[0]), v)
                                      for c, v in values.items())

    def _before(self, key: Any, cols: list[int], state: list[int]) -> dict[int, tuple[CellValue, bool]]:
        """What to put back on the row with ID `key` that a write into `cols` hit: all its
        `state` cells (every column the round's writes touch or check) as `prior` had them,
        one consistent earlier state, else as the snapshot had them; else `cols` emptied (a
        row without ID, or one neither saw: what it held there cannot be told)."""
        if key is not None:
            rows = [u for u in range(2, self.prior_height + 1)
                    if cell_key(_cell(self.prior, self.tab, self.id_col, u)) == key]
            known = [c for c in state if (self.tab, c) in self.prior]
            landed = self.settled.get((self.tab, key), {})
            if len(rows) == 1 and set(cols) <= set(known):
                return {c: (landed[c], False) if c in landed else _as_written(_cell(self.prior, self.tab, c, rows[0]))
                        for c in known}
            if self.grid is not None:
                found = [u for u, row in enumerate(self.grid.rows[1:], start=1)
                         if self.id_col - 1 < len(row) and cell_key(row[self.id_col - 1]) == key]
                if len(found) == 1:
                    return {c: (self.grid.cell(found[0], c - 1), (found[0], c - 1) in self.grid.formulas)
                            for c in state}
        return {c: (None, False) for c in cols}


def _as_written(v: Any) -> tuple[CellValue, bool]:
    return (v, True) if _is_formula(v) else (v, False)


def _value(cols: Columns, tab: str, col: int, row: int) -> CellValue:
    v = _cell(cols, tab, col, row)
    return None if _blank(v) else v








