"""What sheetcrm last wrote in its computed cells of people's tabs, so a value a person typed
over one is told from sheetcrm's own stale value.

A computed cell (a lead's Score, a deal's Weighted Amount) holds either what sheetcrm wrote
there, maybe stale now (the inputs or the day changed), or what a person typed over it. Only
the first may be overwritten: cells people type are theirs. The cell alone cannot say which
("90" over a Score of 72 has sheetcrm's shape), so sheetcrm remembers, per tab, computed
column and record ID (never the sheet row: a sort between syncs moves records, not values),
the values it counts as its own in each cell: what it wrote there, and what it read there as
its own when that write was planned (the write may have been dropped or refused: a guarded
write on Google, a conflicting save of an .xlsx).

Where: carried by the parse memo (`parse_cache.RowMemo.state`) and kept in a file of its own
beside the lock, named by the workbook rather than its path (`written_file`, with `BOOK`), made by every
step writing computed cells of a people's tab (`steps.computed_columns.plan_computed`:
`plan.computed_cells`; the Leads' and Opportunities', the Cases', the Campaigns', the
Workflows' and the Segments column), kept once they all planned (the sequences step) and read
back before the next read (the read
keeps a column it holds as sheetcrm's even when a typed cell has another shape:
`table._computed_columns`). It is state, not a cache: kept across versions of sheetcrm (`FORMAT`
says which states this code reads), not pruned with the memo, and without it (the first sync,
another machine, a deleted cache) every computed cell is taken as sheetcrm's own, as before
this was kept, and nothing is reported.

A state made before another writer wrote the cells would call that writer's values typed: so
the `_sheetcrm` tab carries a generation (the mark `GENERATION`) that every sync writing
computed cells moves on in the same write, and a state is used only when the workbook's
generation is the one it read or the one it planned (`Written.trusted`). A sync of another
machine, or one run without the cache, moves it past both: the next sync here then has no
state. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sheetcrm.workbook import CellValue

# The `_sheetcrm` mark counting the syncs that wrote computed cells: a key in capitals like the
# ID prefixes beside it (no word a Spanish workbook would show in English), and no tab's prefix,
# so no ID sequence reads it.
GENERATION = "COMPUTED"
# The `_sheetcrm` mark naming an .xlsx workbook's state (`written_file`): a number drawn once, by
# the shell, and written with the first generation it moves; a moved or renamed file keeps it,
# and so finds its state. A copy keeps it too: the generation tells the two apart.
BOOK = "COMPUTED-ID"

# A tab's state: computed column key -> record ID -> the values sheetcrm counts as its own
# in that cell (one, or two while a write of a new one has not been read back yet).
Columns = dict[str, dict[str, tuple[CellValue, ...]]]

MEMO_NAME = ("state", "written")  # kept across versions of sheetcrm (parse_cache.STATE)
# Bump when what a state holds changes meaning or shape: a memo of another version keeps its state.
FORMAT = 1


@dataclass(frozen=True)
class Typed:
    """A computed cell holding what sheetcrm did not write there: kept, and reported."""

    row: int            # the sheet's row number
    col: int            # 0-based column
    key: str            # the computed column's key
    have: CellValue     # what the cell holds (a formula's last result)
    want: CellValue     # what sheetcrm computes there now
    formula: bool       # the cell holds a formula


@dataclass
class Written:
    """The state one sync read (`before`, by tab key: "leads", "opportunities") and the one it
    leaves (`after`), with the generations: `read` the one the state was made from (the
    workbook's when that sync read it), `planned` the one it leaves (one more when it wrote
    computed cells). `before` is empty when there is no state to go by."""

    before: dict[str, Columns] = field(default_factory=dict)
    after: dict[str, Columns] = field(default_factory=dict)
    read: int | None = None
    planned: int | None = None
    # The cells found typed over, by tab key (`plan.computed_writes` fills it; the step reports them).
    typed: dict[str, list[Typed]] = field(default_factory=dict)

    def tab(self, key: str) -> Columns | None:
        """The state of tab `key` to go by, or None (then every computed cell is sheetcrm's)."""
        return self.before.get(key)

    def kept(self, key: str) -> frozenset[str]:
        """The computed columns of tab `key` the state holds as sheetcrm's."""
        return frozenset(self.before.get(key, {}))

    def following(self) -> "Written":
        """The state the next sync goes by once this one's writes landed (a read of the
        workbook as this sync leaves it: the warehouse's)."""
        return Written(before=self.after, read=self.planned, planned=self.planned)

    def saved(self) -> tuple[str, int, int | None, int | None, dict[str, Columns]]:
        """What the memo keeps for the next sync: plain data, tagged with `FORMAT`."""
        return (MEMO_NAME[1], FORMAT, self.read, self.planned, self.after)


def recall(kept: Any, generation: int | None) -> Written:
    """The state a memo kept (`Written.saved`'s shape, or None), used only when the workbook's
    `generation` (the `_sheetcrm` mark, None when it has none) is the one that state was read
    from or planned: otherwise another writer wrote the computed cells since, and there is no
    state. Anything of another shape or format is no state (the memo keeps it across versions
    of sheetcrm: `parse_cache.load`)."""
    written = Written(read=generation, planned=generation)
    if usable(kept, generation):
        written.before = kept[4]
    return written


def usable(kept: Any, generation: int | None) -> bool:
    """Whether `recall` goes by the state `kept` in a workbook of `generation`: of `FORMAT`,
    of `Written.saved`'s shape, and read or planned at that generation."""
    try:
        name, form, read, planned, tabs = kept
    except (TypeError, ValueError):
        return False
    return (name, form) == (MEMO_NAME[1], FORMAT) and generation in (read, planned) and _columns_by_tab(tabs)


def _columns_by_tab(tabs: Any) -> bool:
    """Whether `tabs` has `Written.after`'s outer shape (tab key -> column key -> a dict); the
    rest is as `FORMAT` says (a sync reads every state, so it is not walked)."""
    return isinstance(tabs, dict) and all(
        isinstance(columns, dict) and all(isinstance(cells, dict) for cells in columns.values())
        for columns in tabs.values())
