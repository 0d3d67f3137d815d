"""Merging the duplicates a person ticked: what one sync changes, planned from the read alone.

A person ticks Merge on a group of the Duplicates tab (read in the read: `inputs.read_duplicates`)
and Keep on the record that survives (`survivor`: by default the oldest, earliest Created, else
lowest ID number). `merge` plans, for each ticked group, over the records of the survivor's tab:

- the survivor's empty cells filled from the merged records, oldest first (only empty cells,
  never a formula; a filled reference passes through the merge, so it never names a record
  this very sync removes);
- every reference to a merged ID re-pointed to the survivor by content (`Replace`: on Google a
  `findReplace` with `matchEntireCell` over the column, on .xlsx writes keyed by the cell
  still holding the merged ID), in the columns that can name it: Contacts' Account,
  Opportunities' Account and Contact, Activities' and Tasks' Related, Quote Lines'
  Opportunity, the Outbox's Opportunity and the history tabs' record IDs;
- each merged row copied whole into sheetcrm's Merged tab (Merged At, Survivor, Tab, ID, then
  one "Header=Value" cell per non-empty cell of the row, in its column order), and removed
  from its tab (`RowDelete`, addressed by its ID) in the same write.

Exactly once, whatever is interrupted: the Merged tab and the rows still in the people's tabs
are the whole record. A merged ID already in Merged is never copied again; if its row is still
there (a write that copied but did not delete) the rest of the job is done; once it is gone
and no reference names it, the group plans nothing. Records of a group in another tab than the
survivor's (a lead beside a contact) are not merged: that is a conversion, not a merge.

Pure: no I/O, no clock (the day is the sync's `as_of`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sheetcrm.cells import normalize_key
from sheetcrm.inputs import DuplicatesTab
from sheetcrm.owned import locate
from sheetcrm.plan import owned_tab
from sheetcrm.report import column_letter
from sheetcrm.schema import LEAD_HISTORY, MERGED, OUTBOX, STAGE_HISTORY, OwnedTab
from sheetcrm.table import Row, Table, field_kinds
from sheetcrm.validate import Crm
from sheetcrm.workbook import SERIAL_EPOCH, CellValue, CellWrite, Grid, Plan, Replace, RowDelete, Snapshot

# Where a record of each tab can be named: (tab, record field) of the CRM tabs, and
# (sheetcrm's tab, 1-based column) of its own.
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "accounts": (("contacts", "account"), ("opportunities", "account"), ("activities", "related"),
                 ("tasks", "related")),
    "contacts": (("opportunities", "contact"), ("activities", "related"), ("tasks", "related")),
    "leads": (("activities", "related"), ("tasks", "related")),
    "opportunities": (("quote_lines", "opportunity"), ("activities", "related"), ("tasks", "related")),
}
OWNED_REFERENCES: dict[str, tuple[tuple[OwnedTab, int], ...]] = {
    "leads": ((LEAD_HISTORY, 1),),
    "opportunities": ((STAGE_HISTORY, 1), (OUTBOX, 3)),
}


def age(rid: str, created: Any) -> tuple:
    """A record's place when the oldest goes first: earliest Created (a date; none last), then
    the lowest ID number, then the ID itself."""
    digits = re.findall(r"\d+", rid)
    return (created is None, created.toordinal() if created is not None else 0,
            int(digits[-1]) if digits else float("inf"), rid)


def survivor(ids: list[str], kept: list[str], created: dict[str, Any]) -> str:
    """The record of a group that survives its merge: the one whose Keep is ticked; with none
    ticked, the oldest (`age`); with more than one ticked, the oldest of those (a record a
    person said to keep survives). `created`: ID -> Created, where known."""
    pool = [i for i in ids if i in kept] or list(ids)
    return min(pool, key=lambda i: age(i, created.get(i)))


@dataclass(frozen=True)
class Member:
    key: str            # the CRM tab's key ("leads")
    table: Table
    row: Row

    @property
    def id(self) -> str:
        return self.row.id or ""

    @property
    def created(self) -> Any:
        return getattr(self.row.record or self.row.target, "created", None)

    def age(self) -> tuple:
        return age(self.id, self.created)


@dataclass
class Merge:
    """One ticked group: the survivor and the records merged into it, oldest first."""

    group: str
    survivor: Member
    merged: list[Member] = field(default_factory=list)


@dataclass
class Ticked:
    group: str
    members: list[tuple[str, str, bool]] = field(default_factory=list)   # (tab title, ID, Keep ticked)
    merge: bool = False


def ticked_groups(tab: DuplicatesTab) -> list[Ticked]:
    """The groups of sheetcrm's Duplicates tab (as the read typed it) with a Merge tick on any
    of their rows, in tab order."""
    # Only sheetcrm's marked tab: a merge removes rows, so ticks on a look-alike never count.
    if not tab.marked or not tab.rows or not {"tab", "merge"} <= tab.rows[0].cells.keys():
        return []
    groups: dict[str, Ticked] = {}
    for row in tab.rows:
        ticked = groups.setdefault(row.group, Ticked(row.group))
        ticked.members.append((_text(row.cells["tab"]), row.id, row.keep))
        ticked.merge = ticked.merge or row.merge
    return [g for g in groups.values() if g.merge]


def merged_ids(snapshot: Snapshot, locale: str) -> set[str]:
    """The IDs the Merged tab holds: merges copied already (never copied twice)."""
    place = locate(snapshot, MERGED, locale)
    if not place.exists:
        return set()
    grid = snapshot.tabs[place.title]
    return {t for r in range(1, len(grid.rows)) if (t := _text(grid.cell(r, 3)))}


def plan_merges(snapshot: Snapshot, crm: Crm, locale: str) -> list[Merge]:
    """The merges the ticks ask for that are not done yet; a group naming a record that is
    gone or ambiguous, or one this plan already merges elsewhere, waits or is done."""
    done = merged_ids(snapshot, locale)
    taken: set[str] = set()
    out = []
    for ticked in ticked_groups(crm.inputs.duplicates if crm.inputs else DuplicatesTab()):
        found = [(m, keep) for tab, rid, keep in ticked.members if (m := _member(crm, tab, rid)) is not None]
        if not found:
            continue
        members = {m.id: m for m, _ in found}
        keep = members[survivor(list(members), [m.id for m, keep in found if keep],
                                {m.id: m.created for m, _ in found})]
        if keep.id in done or keep.id in taken:
            continue
        merged = sorted((m for m, _ in found if m.key == keep.key and m.id != keep.id
                         and m.id not in taken), key=Member.age)
        if merged:
            taken.update({keep.id, *(m.id for m in merged)})
            out.append(Merge(ticked.group, keep, merged))
    return out


def merge(snapshot: Snapshot, crm: Crm, locale: str, as_of: dt.date) -> tuple[Plan, Snapshot]:
    """The plan of every ticked merge, and the snapshot as the workbook will be once it is
    written (merged rows blank in place, so every row number of the read still holds until
    the deletes, which a backend applies last). Returns `snapshot` itself when there is
    nothing to merge."""
    plan = Plan()
    merges = plan_merges(snapshot, crm, locale)
    # References are re-pointed also for merges done earlier whose references remain (a
    # reference typed after the merge, or a write interrupted): harmless, found by content.
    done = merged_ids(snapshot, locale)
    survivors = {m.id: s.survivor.id for s in merges for m in s.merged}
    unfinished = _unfinished(snapshot, crm, locale, {r.id for s in merges for r in (s.survivor, *s.merged)})
    if not merges and not unfinished and not _lingering(snapshot, crm, locale, done):
        return plan, snapshot
    grids: dict[str, Grid] = {}

    def grid(title: str) -> Grid:
        if title not in grids:
            old = snapshot.tabs[title]
            grids[title] = dataclasses.replace(old, rows=[list(r) for r in old.rows], formulas=set(old.formulas),
                                               errors=dict(old.errors), percent=set(old.percent),
                                               currency=dict(old.currency))
        return grids[title]

    copies: list[list[CellValue]] = []
    for m in merges:
        _fill(plan, grid, m, survivors)
        for member in m.merged:
            if member.id not in done:
                copies.append(_copy(member, m.survivor.id, snapshot.tabs[member.table.title], as_of))
            _blank(grid(member.table.title), member.row.row - 1)
            id_col = member.table.header.fields["id"]
            plan.deletes.append(RowDelete(member.table.title, member.row.row, ((id_col + 1, member.row.raw_id),)))
    for member in unfinished:
        _blank(grid(member.table.title), member.row.row - 1)
        id_col = member.table.header.fields["id"]
        plan.deletes.append(RowDelete(member.table.title, member.row.row, ((id_col + 1, member.row.raw_id),)))
    # Earlier merges whose references linger: their IDs, re-pointed through the Merged tab.
    for rid, survivor in _earlier(snapshot, locale).items():
        survivors.setdefault(rid, survivor)
    for target, finds in _by_tab(crm, survivors).items():
        for title, col in _reference_columns(snapshot, crm, locale, target):
            _replace(plan, grid(title), title, col, finds)
    if copies:
        place = locate(snapshot, MERGED, locale)
        have = snapshot.tabs[place.title].rows[1:] if place.exists else []
        owned_tab(plan, snapshot, MERGED, locale, [*have, *copies])
    if not plan:
        return plan, snapshot
    return plan, dataclasses.replace(snapshot, tabs={t: grids.get(t, g) for t, g in snapshot.tabs.items()})


def _member(crm: Crm, tab: str, rid: str) -> Member | None:
    """The record `rid` of the tab titled `tab` (else of the tab its ID's prefix names), when
    exactly one row holds it."""
    candidates = [(k, t) for k, t in crm.tables.items() if normalize_key(t.title) == normalize_key(tab)]
    candidates = candidates or [(k, t) for k, t in crm.tables.items()
                                if t.spec.id_prefix and rid.upper().startswith(t.spec.id_prefix.upper() + "-")]
    for key, table in candidates:
        rows = [r for r in table.rows if r.id == rid and not r.assigned]
        if len(rows) == 1 and "id" in table.header.fields:
            return Member(key, table, rows[0])
    return None


def _fill(plan: Plan, grid, m: Merge, survivors: dict[str, str]) -> None:
    """The survivor's empty cells, from the merged rows oldest first (the people's columns
    only: never the ID, never sheetcrm's computed columns, never over or from a formula)."""
    table, row = m.survivor.table, m.survivor.row
    id_col = table.header.fields["id"]
    refs = {table.header.fields[f] for f in ("account", "contact", "related", "opportunity") if f in table.header.fields}
    columns = sorted({*table.header.fields.values(), *table.header.custom.values()} - {id_col})
    source = m.survivor.table.title
    for col in columns:
        if not _empty(_at(row, col)) or (row.row - 1, col) in grid(source).formulas:
            continue
        for donor in m.merged:
            value = _at(donor.row, col)
            if _empty(value) or (donor.row.row - 1, col) in grid(source).formulas:
                continue
            if col in refs and isinstance(value, str):
                value = survivors.get(value.strip(), value)
            plan.writes.append(CellWrite(source, row.row, col + 1, value,
                                         expect=((id_col + 1, row.raw_id), (col + 1, None))))
            _set(grid(source), row.row - 1, col, value)
            break


def _copy(member: Member, survivor: str, grid: Grid, as_of: dt.date) -> list[CellValue]:
    """The Merged tab's row for a merged record: every non-empty cell as "Header=Value"."""
    labels = member.table.header.labels
    kinds = field_kinds(member.table.spec)
    dates = {col for name, col in member.table.header.fields.items() if kinds.get(name) in ("date", "datetime")}
    cells: list[CellValue] = [as_of, survivor, member.table.title, member.id]
    raw = grid.rows[member.row.row - 1] if member.row.row - 1 < len(grid.rows) else []
    for col, value in enumerate(raw):
        if _empty(value):
            continue
        label = labels.get(col) or column_letter(col + 1)
        if col in dates and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = SERIAL_EPOCH + dt.timedelta(days=value)  # Google reads dates as serial numbers
        cells.append(f"{label}={_shown(value)}")
    return cells


def _replace(plan: Plan, grid: Grid, title: str, col: int, finds: dict[str, str]) -> None:
    """A Replace for each merged ID the column still names (by the whole cell), and the same
    change on the snapshot as it will be."""
    seen: set[str] = set()
    for r in range(1, len(grid.rows)):
        value = grid.cell(r, col - 1)
        if isinstance(value, str) and value in finds and (r, col - 1) not in grid.formulas:
            seen.add(value)
            _set(grid, r, col - 1, finds[value])
    plan.replacements.extend(Replace(title, col, find, finds[find]) for find in sorted(seen))


def _by_tab(crm: Crm, survivors: dict[str, str]) -> dict[str, dict[str, str]]:
    """Merged ID -> survivor ID, by the key of the tab the IDs belong to (by prefix)."""
    out: dict[str, dict[str, str]] = {}
    for key, table in crm.tables.items():
        prefix = (table.spec.id_prefix or "").upper() + "-"
        if key in REFERENCES or key in OWNED_REFERENCES:
            finds = {old: new for old, new in survivors.items() if prefix != "-" and old.upper().startswith(prefix)}
            if finds:
                out[key] = finds
    return out


def _reference_columns(snapshot: Snapshot, crm: Crm, locale: str, target: str) -> list[tuple[str, int]]:
    """(tab title, 1-based column) of every column that can name a record of `target`."""
    out = []
    for key, name in REFERENCES.get(target, ()):
        table = crm.tables.get(key)
        if table is not None and name in table.header.fields:
            out.append((table.title, table.header.fields[name] + 1))
    for tab, col in OWNED_REFERENCES.get(target, ()):
        place = locate(snapshot, tab, locale)
        if place.exists:
            out.append((place.title, col))
    return out


def _earlier(snapshot: Snapshot, locale: str) -> dict[str, str]:
    place = locate(snapshot, MERGED, locale)
    if not place.exists:
        return {}
    grid = snapshot.tabs[place.title]
    return {rid: survivor for r in range(1, len(grid.rows))
            if (rid := _text(grid.cell(r, 3))) and (survivor := _text(grid.cell(r, 1)))}


def _unfinished(snapshot: Snapshot, crm: Crm, locale: str, planned: set[str]) -> list[Member]:
    """Records sheetcrm's own Merged tab holds as merged whose row is still in their tab (a
    write that copied but did not remove it, or put back a row a concurrent sort had put in
    its place, docs/concurrency.md): removed again, without their tick, which the sync that
    copied them may have taken off the Duplicates tab. Undoing a merge by hand removes its
    Merged row first, so such a record is never removed."""
    place = locate(snapshot, MERGED, locale)
    if not place.exists or place.title not in snapshot.owned:
        return []
    grid = snapshot.tabs[place.title]
    out: list[Member] = []
    for r in range(1, len(grid.rows)):
        rid, tab = _text(grid.cell(r, 3)), _text(grid.cell(r, 2))
        if rid and tab and rid not in planned and (member := _member(crm, tab, rid)) is not None:
            planned.add(rid)
            out.append(member)
    return out


def _lingering(snapshot: Snapshot, crm: Crm, locale: str, done: set[str]) -> bool:
    """Whether a reference still names a record merged by an earlier sync."""
    if not done:
        return False
    earlier = _earlier(snapshot, locale)
    for target, finds in _by_tab(crm, earlier).items():
        for title, col in _reference_columns(snapshot, crm, locale, target):
            grid = snapshot.tabs[title]
            if any(grid.cell(r, col - 1) in finds for r in range(1, len(grid.rows))):
                return True
    return False


def _blank(grid: Grid, r: int) -> None:
    if r < len(grid.rows):
        grid.rows[r] = []
    grid.formulas = {p for p in grid.formulas if p[0] != r}
    grid.percent = {p for p in grid.percent if p[0] != r}
    grid.errors = {p: v for p, v in grid.errors.items() if p[0] != r}
    grid.currency = {p: v for p, v in grid.currency.items() if p[0] != r}


def _set(grid: Grid, r: int, c: int, value: Any) -> None:
    while len(grid.rows) <= r:
        grid.rows.append([])
    row = grid.rows[r]
    while len(row) <= c:
        row.append(None)
    row[c] = value


def _at(row: Row, col: int) -> Any:
    return row.cells[col] if col < len(row.cells) else None


def _empty(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _shown(v: Any) -> str:
    """A cell as text for the Merged tab: dates as ISO, whole numbers without ".0"."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
