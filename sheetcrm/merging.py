"""Merging the duplicates a person ticked: what one sync changes, planned from the read alone.

A person ticks Merge on a group of the Duplicates tab (read in the read: `inputs.read_duplicates`)
and Keep on the record that survives (`survivor`: by default the oldest, earliest Created, else
lowest ID number). `merge` plans, for each ticked group, over the records of the survivor's tab:

- the survivor's empty cells filled from the merged records, oldest first (only empty cells,
  never a formula; a filled reference passes through the merge, so it never names a record
  this very sync removes);
- every reference to a merged record re-pointed to the survivor by content (`Replace`: on
  Google a `findReplace` with `matchEntireCell` over the column, or writes by position guarded
  by the row's ID where Google would type the new text as a number, a date or a yes/no, an ID
  of digits; on .xlsx writes keyed by the cell still holding the text), in the columns that can name it: Contacts' Account,
  Opportunities' Account and Contact, Cases' Account and Contact, Accounts' Primary Contact,
  Activities' and Tasks' Related, Quote Lines' Opportunity, the Outbox's Opportunity, Stage
  History's record IDs, a converted lead's Converted Account and Contact, and a form
  responses tab's Lead column (`people_cells`; a merged lead's Lead Status History stays its
  own). In the CRM tabs a cell moves whatever form the read
  resolves it by (`validate.named_by`: an ID in any case, an exact name, an email), keeping
  its style (`_named`); sheetcrm's own columns hold IDs;
- each merged row copied whole into sheetcrm's Merged tab (Merged At, Survivor, Tab, ID, then
  one "Header=Value" cell per non-empty cell of the row, in its column order), and removed
  from its tab (`RowDelete`, addressed by its ID) in the same write.

Exactly once, whatever is interrupted: the Merged tab and the rows still in the people's tabs
are the whole record. A merged ID already in Merged is never copied again; if its row is still
there (a write that copied but did not delete) the rest of the job is done; once it is gone
and no reference names it, the group plans nothing.

A converted lead's conversion goes with it whole: in a group of leads, the one converted
survives (`_converted`), so the survivor reads as converted and nothing converts it again.

A ticked group whose cells do not say one thing is refused, nothing of it merged, with an
issue at its cells (`plan_merges`): records the duplicate rules do not join as read now (the
tab is the person's to edit: an ID on it is never trusted to be the one proposed), Keep
ticked twice, leads beside contacts (a conversion, not a merge), Merge with Not duplicates, a
reference naming a merged record among others that would name one other alone once it is
gone (its meaning would change with nobody choosing), Keep on a lead that is not the group's
converted one, two leads converted into different records.

Pure: no I/O, no clock (the day is the sync's `as_of`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Collection

from sheetcrm.cells import match_key, normalize_key, parse_text
from sheetcrm.crm.conversion import CONVERTED
from sheetcrm.crm.duplicates import DuplicateSettings, Entity, entities, find_groups, fold
from sheetcrm.i18n import N_, _, ngettext
from sheetcrm.inputs import DUPLICATE_KEYS, DuplicateRow, DuplicatesTab
from sheetcrm.owned import locate
from sheetcrm.plan import owned_tab
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import DUPLICATES, MERGED, OUTBOX, STAGE_HISTORY, OwnedTab, budget_header
from sheetcrm.table import Row, Table, field_kinds
from sheetcrm.validate import Crm, name_forms, named_by
from sheetcrm.workbook import SERIAL_EPOCH, CellValue, CellWrite, Grid, Plan, Replace, RowDelete, Snapshot

# Where a record of each tab can be named: (tab, record field) of the CRM tabs, and
# (sheetcrm's tab, 1-based column) of its own.
# A converted lead's Converted Account and Contact (sheetcrm's recorded columns) are references
# too: the lead became that record, which is now the survivor. A row's From Lead is not: it
# names the lead a conversion made it from, which survives its merge (`_converted`).
REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "accounts": (("contacts", "account"), ("opportunities", "account"), ("cases", "account"),
                 ("activities", "related"), ("tasks", "related"), ("leads", "converted_account")),
    "contacts": (("opportunities", "contact"), ("cases", "contact"), ("activities", "related"),
                 ("tasks", "related"), ("leads", "converted_contact"), ("accounts", "primary_contact")),
    "leads": (("activities", "related"), ("tasks", "related")),
    "opportunities": (("quote_lines", "opportunity"), ("activities", "related"), ("tasks", "related")),
}
# Lead Status History is not one: its rows are the merged lead's own past ("New -> Converted"),
# and under the survivor's ID they would say the survivor had statuses it never had (and its
# next change would be logged from the merged lead's last status). They stay under the merged
# ID; the Merged tab names the survivor.
OWNED_REFERENCES: dict[str, tuple[tuple[OwnedTab, int], ...]] = {
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
    ticked, the oldest (`age`). `created`: ID -> Created, where known. (A group with Keep
    ticked twice is never merged: `plan_merges` refuses it; here the oldest of those.)"""
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
    # Columns of cells that only mean something together (`_together`) -> the one merged record
    # the survivor's empty ones are filled from (None: left empty).
    sources: dict[int, Member | None] = field(default_factory=dict)


def ticked_groups(tab: DuplicatesTab) -> dict[str, list[DuplicateRow]]:
    """The groups of sheetcrm's Duplicates tab (as the read typed it) with a Merge tick on any
    of their rows, in tab order: Group -> its rows."""
    # Only sheetcrm's marked tab: a merge removes rows, so ticks on a look-alike never count.
    if not tab.marked or not tab.rows or not {"tab", "merge"} <= tab.rows[0].cells.keys():
        return {}
    if tab.gone:
        # A Keep or Not duplicates the header no longer places would go unseen: the wrong
        # survivor kept, or a group a person ruled out merged. The duplicates step says so.
        return {}
    groups: dict[str, list[DuplicateRow]] = {}
    for row in tab.rows:
        groups.setdefault(row.group, []).append(row)
    return {g: rows for g, rows in groups.items() if any(r.merge for r in rows)}


def merged_ids(snapshot: Snapshot, locale: str) -> set[str]:
    """The IDs the Merged tab holds: merges copied already (never copied twice)."""
    place = locate(snapshot, MERGED, locale)
    if not place.exists:
        return set()
    grid = snapshot.tabs[place.title]
    return {t for r in range(1, len(grid.rows)) if (t := _text(grid.cell(r, 3)))}


# Why a ticked group is not merged: each an issue at the cells that asked (the group waits,
# its rows and ticks as the person left them, until the cells say one thing).
BOTH_TICKED = "merge_not_duplicates"
BOTH_TICKED_MESSAGE = N_("group {group} is ticked both Merge and Not duplicates: nothing of it is merged")
BOTH_TICKED_HINT = N_("untick one of the two")
TWO_KEEPS = "merge_two_keeps"
TWO_KEEPS_MESSAGE = N_("Keep is ticked on {n} records of group {group} ({ids}): nothing of it is merged")
TWO_KEEPS_HINT = N_("leave Keep ticked on the one record that survives")
ACROSS_TABS = "merge_across_tabs"
ACROSS_TABS_MESSAGE = N_("group {group} holds leads and contacts ({ids}): a lead is not merged into a contact, "
                         "so nothing of it is merged")
ACROSS_TABS_HINT = N_("tick Convert on {leads} in {tab}: a converted lead is linked to its contact; then untick "
                      "Merge here")
# Every lead of the group converted already: ticking Convert again, as the hint above says, does
# nothing, and the contact the lead became is never grouped with it, so the tab cannot merge them.
ACROSS_TABS_CONVERTED_HINT = N_("{leads} is converted already ({made}): untick Merge here; if {contacts} is the same "
                                "person, copy what it holds into the lead's contact and delete its row")
NOT_DUPLICATES = "merge_not_duplicates_now"
NOT_DUPLICATES_MESSAGE = N_("the records of group {group} ({ids}) are not duplicates by the rules as they read "
                            "now: nothing of it is merged")
NOT_DUPLICATES_HINT = N_("check the IDs on the group's rows (an edited ID names another record) and the records "
                         "themselves; untick Merge to leave them")
# A group suppressed (Not duplicates) rules its records' pairs out, but a record that joined
# later may bring them together again in a new group (CON-0001 and LEAD-0001 each alike to a
# new LEAD-0005): merged, two records a person said are not one would become one.
RULED_OUT = "merge_ruled_out"
RULED_OUT_MESSAGE = N_("group {group} holds {ids}, which group {other} marks Not duplicates: nothing of it is merged")
RULED_OUT_HINT = N_("untick Not duplicates on group {other} if they are one record after all, or untick Merge here")
# The duplicates step proposes a record with an unreadable cell by what of it reads
# (steps/duplicates._readable); merging it would fill the survivor from, or keep, a row read in
# part (its unreadable cell copied as typed, or its survivor chosen by a Created it cannot read).
ROW_ERRORS = "merge_row_errors"
ROW_ERRORS_HINT = N_("fix the cells the Validation tab reports on the records named; the merge goes ahead on the "
                     "next sync")
# A converted lead's conversion goes with it, whole: moved to another lead it would be read as
# that lead's (its Converted On against another Created, its campaign and source), and the
# lead's Convert tick carried to an unconverted survivor would convert the person again. So the
# survivor of a group holding a converted lead is that lead (`_converted`).
KEEP_UNCONVERTED = "merge_keep_not_converted"
CONVERTED_INTO = N_("converted into {records}")
STATUS_CONVERTED = N_("Status Converted")
TWO_CONVERSIONS = "merge_two_conversions"
TWO_CONVERSIONS_MESSAGE = N_("group {group} is not merged: its leads were converted into different records ({each}); "
                             "a merge would lose a conversion or leave one person converted twice")
TWO_CONVERSIONS_HINT = N_("untick Merge: each lead keeps its own conversion. To merge them, first undo all but one "
                          "conversion (clear its lead's Converted cells and delete the rows it made, or clear their "
                          "From Lead)")
SHIFTS = "merge_reference_shifts"
SHIFTS_MESSAGE = N_('group {group} is not merged: in {tab}, row {row}, {header} "{value}" names {ids}; once {merged} '
                    'is merged into {survivor} it would name {other} alone')
SHIFTS_HINT = N_("type in that cell the ID of the record it means; the merge goes ahead on the next sync")
# A lead's amounts (Amount, a Budget) are in its Currency, else the base currency: filled one
# by one, a merged lead's 5,000 EUR went into the survivor's empty Amount beside its Currency
# USD as 5,000 USD, and a merged lead's Currency EUR into the survivor's empty Currency made its
# 1,000 (in the base USD) 1,000 EUR, with nothing said (`_money_clash`).
CURRENCY_DIFFERS = "merge_currency_differs"
AMOUNT_CURRENCY_MESSAGE = N_('group {group} is not merged: {survivor} would take {column} "{value}" from {donor}, '
                             'where it is in {theirs}, but {survivor}\'s amounts are in {ours}: it would read as '
                             '{value} {ours}')
AMOUNT_CURRENCY_HINT = N_("type {survivor}'s {column} yourself, in {ours}, or tick Keep on {donor}; the merge goes "
                          "ahead on the next sync")
CURRENCY_AMOUNT_MESSAGE = N_('group {group} is not merged: {survivor} would take Currency "{theirs}" from {donor}, '
                             'but its {column} "{value}" is in {ours}: it would read as {value} {theirs}')
CURRENCY_AMOUNT_HINT = N_("type {ours} into {survivor}'s Currency, or tick Keep on {donor}; the merge goes ahead on "
                          "the next sync")
# Cells that only mean something together (`_together`): filled one by one, a survivor with
# Phone "612 345 678" and no Country took a merged lead's Country "México", and its phone was
# then read in Mexico (no longer a valid number); its Street stayed beside the other lead's City,
# Postal Code and Country, an address nobody typed. Such cells are taken from one merged record,
# and only when they agree with what the survivor has of them; otherwise the group is refused.
CELLS_APART = "merge_cells_apart"
PLACE_APART_MESSAGE = N_("group {group} is not merged: {survivor} would take {taken} from {donor} beside its own "
                         "{kept}, and they do not agree: a phone is read in its row's country and an address is one "
                         "place, so {survivor} would mix two records' cells")
NAME_APART_MESSAGE = N_("group {group} is not merged: {survivor} would take {taken} from {donor} beside its own "
                        "{kept}, and they do not agree: {survivor}'s name would mix two records' cells")
APART_HINT = N_("type {survivor}'s {columns} yourself; the merge goes ahead on the next sync")
APART_OR_KEEP_HINT = N_("type {survivor}'s {columns} yourself, or tick Keep on {donor}; the merge goes ahead on the "
                        "next sync")


@dataclass
class Refused:
    """A ticked group not merged, and the issues that say why, at the Duplicates tab's cells."""

    group: str
    issues: list[Issue] = field(default_factory=list)


def plan_merges(snapshot: Snapshot, crm: Crm, locale: str,
                settings: DuplicateSettings | None = None, base: str = "USD",
                reused: Collection[str] = ()) -> tuple[list[Merge], list[Refused]]:
    """The merges the ticks ask for that are not done yet, and the ticked groups refused.

    A group naming a record that is gone or ambiguous, or one this plan already merges
    elsewhere, waits or is done. A group is refused, nothing of it merged, when its cells do
    not say one thing: Merge and Not duplicates both ticked, Keep ticked twice, leads beside
    contacts (a conversion, not a merge), or records that the duplicate rules (`settings`,
    `crm.duplicates`), over the records as read now, do not join into one group: the tab is
    the person's to edit, so an ID it lists is never trusted to be the duplicate proposed.
    A group naming an ID a live row holds under a Merged row that is not its copy (`reused`)
    waits: the Merged tab counts that ID as copied already, so the row would leave uncopied."""
    settings = settings or DuplicateSettings()
    tab = crm.inputs.duplicates if crm.inputs else DuplicatesTab()
    done = merged_ids(snapshot, locale)
    taken: set[str] = set()
    out: list[Merge] = []
    refused: list[Refused] = []
    people: dict[str, Entity] | None = None
    ambiguous = _Ambiguous(crm)
    ruled: dict[frozenset[str], str] = {}  # a pair of IDs some group marks Not duplicates -> that group
    for r in tab.rows:
        if r.not_duplicates:
            ids = {m.id for m in tab.rows if m.group == r.group}
            ruled.update((frozenset(p), r.group) for p in itertools.combinations(sorted(ids), 2))
    for group, rows in ticked_groups(tab).items():
        found = [(m, r) for r in rows if (m := _member(crm, _text(r.cells["tab"]), r.id)) is not None]
        kept = [r for r in rows if r.keep]
        ids = ", ".join(dict.fromkeys(r.id for r in rows))
        if any(r.not_duplicates for r in rows):
            refused.append(Refused(group, [_issue(tab, locale, r, "merge", BOTH_TICKED,
                                                  _(BOTH_TICKED_MESSAGE, group=group), _(BOTH_TICKED_HINT))
                                           for r in rows if r.merge][:1]))
            continue
        if len(found) < 2:
            continue  # merged already (or its records are gone): nothing to do, nothing to say
        apart = next(((p, g) for p in itertools.combinations(sorted({m.id for m, _r in found}), 2)
                      if (g := ruled.get(frozenset(p))) is not None and g != group), None)
        if apart is not None:
            first = next(r for r in rows if r.merge)
            refused.append(Refused(group, [_issue(tab, locale, first, "merge", RULED_OUT,
                                                  _(RULED_OUT_MESSAGE, group=group, ids=", ".join(apart[0]),
                                                    other=apart[1]), _(RULED_OUT_HINT, other=apart[1]))]))
            continue
        if held := [m.id for m, _r in found if m.id in reused]:
            first = next(r for r in rows if r.merge)
            refused.append(Refused(group, [_issue(tab, locale, first, "merge", REUSED,
                                                  _(REUSED_GROUP_MESSAGE, group=group, ids=", ".join(held)),
                                                  _(REUSED_GROUP_HINT))]))
            continue
        if len(kept) > 1:
            refused.append(Refused(group, [_issue(tab, locale, r, "keep", TWO_KEEPS,
                                                  _(TWO_KEEPS_MESSAGE, n=len(kept), group=group,
                                                    ids=", ".join(k.id for k in kept)), _(TWO_KEEPS_HINT))
                                           for r in kept]))
            continue
        if len({m.key for m, _r in found}) > 1:
            leads = [m for m, _r in found if m.key == "leads"]
            first = next(r for r in rows if r.merge)
            made, _named = _conversions({m.id: m for m in leads}, crm)
            made.update({m.id: [] for m in leads if m.id not in made
                         and getattr(m.row.record, "status", None) == CONVERTED})
            if leads and all(m.id in made for m in leads):
                hint = _(ACROSS_TABS_CONVERTED_HINT, leads=", ".join(m.id for m in leads),
                         made=", ".join(dict.fromkeys(i for ids in made.values() for i in ids)) or _(STATUS_CONVERTED),
                         contacts=", ".join(m.id for m, _r in found if m.key != "leads"))
            else:
                hint = _(ACROSS_TABS_HINT, leads=", ".join(m.id for m in leads if m.id not in made),
                         tab=leads[0].table.title if leads else "")
            refused.append(Refused(group, [_issue(tab, locale, first, "merge", ACROSS_TABS,
                                                  _(ACROSS_TABS_MESSAGE, group=group, ids=ids), hint)]))
            continue
        broken = [m for m, _r in found if m.row.has_errors]
        if broken:
            first = next(r for r in rows if r.merge)
            listed = ", ".join(_("{id} (row {row}) of {tab}", id=m.id, row=m.row.row, tab=m.table.title)
                               for m in broken)
            refused.append(Refused(group, [_issue(tab, locale, first, "merge", ROW_ERRORS,
                                                  ngettext("group {group} is not merged: {rows} has cells "
                                                           "sheetcrm cannot read, and a merge acts only on records "
                                                           "read whole",
                                                           "group {group} is not merged: {rows} have cells "
                                                           "sheetcrm cannot read, and a merge acts only on records "
                                                           "read whole", len(broken), group=group, rows=listed),
                                                  _(ROW_ERRORS_HINT))]))
            continue
        if people is None:
            people = {e.id: e for e in entities(crm.records("leads"), crm.records("contacts"),
                                                crm.records("accounts"))}
        if not _still_one(people, [m.id for m, _r in found], settings):
            refused.append(Refused(group, [_issue(tab, locale, rows[0], "group", NOT_DUPLICATES,
                                                  _(NOT_DUPLICATES_MESSAGE, group=group, ids=ids),
                                                  _(NOT_DUPLICATES_HINT))]))
            continue
        members = {m.id: m for m, _r in found}
        pool = list(members)
        if found[0][0].key == "leads" and crm.inputs is not None:
            verdict = _converted(tab, locale, group, rows, members, crm)
            if isinstance(verdict, Refused):
                refused.append(verdict)
                continue
            pool = verdict
        keep = members[survivor(pool, [r.id for r in kept if r.id in members],
                                {m.id: m.created for m in members.values()})]
        if keep.id in done or keep.id in taken:
            continue
        merged = sorted((m for m in members.values() if m.id != keep.id and m.id not in taken), key=Member.age)
        if merged and (shift := _shifting(crm, keep, merged, ambiguous)) is not None:
            table, row, name, raw, named = shift
            left = next(n for n in named if (n[0], n[1]) not in {(m.key, m.row.row) for m in merged})
            col = table.header.fields[name]
            message = _(SHIFTS_MESSAGE, group=group, tab=table.title, row=row.row,
                        header=table.header.labels.get(col) or column_letter(col + 1), value=raw,
                        ids=", ".join(n[2] for n in named), merged=", ".join(m.id for m in merged),
                        survivor=keep.id, other=left[2])
            first = next(r for r in rows if r.merge)
            refused.append(Refused(group, [_issue(tab, locale, first, "merge", SHIFTS, message, _(SHIFTS_HINT))]))
            continue
        if merged and (clash := _money_clash(snapshot, keep, merged, base)) is not None:
            (message, said), (hint, how) = clash
            first = next(r for r in rows if r.merge)
            refused.append(Refused(group, [_issue(tab, locale, first, "merge", CURRENCY_DIFFERS,
                                                  _(message, group=group, **said), _(hint, **how))]))
            continue
        sources: dict[int, Member | None] = {}
        if merged and isinstance(apart := _together(snapshot, keep, merged, sources), tuple):
            (message, said), (hint, how) = apart
            first = next(r for r in rows if r.merge)
            refused.append(Refused(group, [_issue(tab, locale, first, "merge", CELLS_APART,
                                                  _(message, group=group, **said), _(hint, **how))]))
            continue
        if merged:
            taken.update({keep.id, *(m.id for m in merged)})
            out.append(Merge(group, keep, merged, sources))
    return out, refused


class _Ambiguous:
    """The reference cells of the CRM tabs that name more than one record, as the read
    resolves them (`validate.named_by`), worked out once when first asked: (the tab, the row,
    the field, the cell's text, each record named as (tab key, sheet row, ID))."""

    def __init__(self, crm: Crm) -> None:
        self.crm = crm
        self._found: list[tuple[Table, Row, str, str, list[tuple[str, int, str]]]] | None = None

    def __iter__(self):
        if self._found is None:
            self._found = []
            crm = self.crm
            for key, name in dict.fromkeys(pair for refs in REFERENCES.values() for pair in refs):
                table = crm.tables.get(key)
                col = None if table is None else table.header.fields.get(name)
                if table is None or col is None:
                    continue
                seen: set[str] = set()
                for row in table.rows:
                    raw = row.cells[col] if col < len(row.cells) else None
                    if not isinstance(raw, str) or raw in seen or not (text := parse_text(raw)):
                        continue
                    seen.add(raw)
                    named = list(dict.fromkeys((t, r.row, r.id or "") for t, _f, r, _b in
                                               named_by(crm, key, name, text)))
                    if len(named) > 1:
                        self._found.append((table, row, name, raw, named))
        return iter(self._found)


def _shifting(crm: Crm, keep: Member, merged: list[Member], ambiguous: _Ambiguous
              ) -> tuple[Table, Row, str, str, list[tuple[str, int, str]]] | None:
    """The first reference cell that names a merged record among others and, once they are
    gone, would name one other record alone, not the survivor: merging would change what it
    names without anyone choosing (it named two, and would quietly name the one that is not
    merged). None when there is none."""
    gone = {(m.key, m.row.row) for m in merged}
    for found in ambiguous:
        named = found[4]
        left = [n for n in named if (n[0], n[1]) not in gone]
        if len(left) < len(named) and len(left) == 1 and (left[0][0], left[0][1]) != (keep.key, keep.row.row):
            return found
    return None


def _money_clash(snapshot: Snapshot, keep: Member, merged: list[Member], base: str
                 ) -> tuple[tuple[str, dict[str, str]], tuple[str, dict[str, str]]] | None:
    """Whether filling the survivor's empty cells (`_fill`: each from the oldest merged record
    that has it) would put an amount beside a Currency it is not in: a merged record's amount
    (Amount, a Budget: in the currency its cell names, else its record's Currency, else `base`)
    into a survivor whose amounts are in another, or a merged record's Currency into the empty
    Currency of a survivor whose amounts it would change. None when none would; else the
    (message, fields) and (hint, fields) of the first, for `_` (the group's name left to fill)."""
    table, row = keep.table, keep.row
    fields = table.header.fields
    if "currency" not in fields:
        return None
    kinds = field_kinds(table.spec)
    money = {col: name for name, col in fields.items() if kinds.get(name) == "money"}
    money |= {col: name for name, col in table.header.custom.items()
              if table.header.types.get(name) == "money" or budget_header(name)[0]}
    if not money:
        return None
    formulas = snapshot.tabs[table.title].formulas

    def filled(member: Member, col: int) -> bool:
        return not _empty(_at(member.row, col)) and (member.row.row - 1, col) not in formulas

    def own(member: Member, name: str) -> str | None:  # the currency an amount's cell names itself
        priced = (getattr(member.row.record, "priced", None) or {}).get(name)
        return getattr(priced, "currency", None)

    def currency(member: Member) -> str | None:
        return getattr(member.row.record, "currency", None) if filled(member, fields["currency"]) else None

    ours = currency(keep)
    taken = None if ours is not None or (row.row - 1, fields["currency"]) in formulas else next(
        (m for m in merged if currency(m) is not None), None)
    after = currency(taken) if taken is not None else ours or base
    label = {col: table.header.labels.get(col) or name for col, name in money.items()}
    for col, name in money.items():
        if filled(keep, col):
            was = own(keep, name) or ours or base
            if taken is not None and (own(keep, name) or after) != was:
                return ((CURRENCY_AMOUNT_MESSAGE, dict(survivor=keep.id, donor=taken.id, theirs=after,
                                                       column=label[col], value=_shown(_at(row, col)), ours=was)),
                        (CURRENCY_AMOUNT_HINT, dict(survivor=keep.id, donor=taken.id, ours=was)))
            continue
        if (row.row - 1, col) in formulas:
            continue
        donor = next((m for m in merged if filled(m, col)), None)
        if donor is None:
            continue
        theirs = own(donor, name) or currency(donor) or base
        if (own(donor, name) or after) != theirs:
            return ((AMOUNT_CURRENCY_MESSAGE, dict(survivor=keep.id, donor=donor.id, column=label[col],
                                                   value=_shown(_at(donor.row, col)), theirs=theirs, ours=after)),
                    (AMOUNT_CURRENCY_HINT, dict(survivor=keep.id, donor=donor.id, column=label[col], ours=after)))
    return None


# The team's own columns of an address (headers folded as `crm.duplicates.fold` folds them):
# sheetcrm has no field for them, and a team names them its own way.
_ADDRESS = frozenset({
    "street", "street address", "address", "address 1", "address 2", "address line 1",  # not for people: recognised headers
    "address line 2", "calle", "direccion", "domicilio", "city", "town",  # not for people: recognised headers
    "ciudad", "localidad", "municipio", "poblacion", "postal code", "postcode",  # not for people: recognised headers
    "post code", "zip", "zip code", "zipcode", "codigo postal", "cp", "c p",  # not for people: recognised headers
    "state", "province", "region", "county", "state province", "estado",  # not for people: recognised headers
    "provincia", "departamento", "country", "pais"})  # not for people: recognised headers


def _together_columns(table: Table) -> list[tuple[str, frozenset[int]]]:
    """The columns of `table` whose cells only mean something together: ("place": the phone,
    read in the row's country, with the country and the address), ("name": first and last name)."""
    fields = table.header.fields
    place = {fields[f] for f in ("phone", "country") if f in fields}
    place |= {col for header, col in table.header.custom.items() if fold(header) in _ADDRESS}
    names = {fields[f] for f in ("first_name", "last_name") if f in fields}
    return [(kind, frozenset(cols)) for kind, cols in (("place", place), ("name", names)) if len(cols) > 1]


def _together(snapshot: Snapshot, keep: Member, merged: list[Member], sources: dict[int, Member | None]
              ) -> tuple[tuple[str, dict[str, str]], tuple[str, dict[str, str]]] | None:
    """Where the survivor's empty cells of each set of cells that only mean something together
    (`_together_columns`) are filled from, into `sources` (column -> merged record, or None):
    all from one merged record, the oldest that has any the survivor lacks, when the survivor
    has none of them; else from the oldest that agrees with every cell of them both have (the
    same phone, the same street: one place). None when so; else, when a merged record would
    fill them and none agrees, the (message, fields) and (hint, fields) that refuse the group.
    A phone with its country code ("+34 ...") does not depend on the Country beside it."""
    table, row = keep.table, keep.row
    formulas = snapshot.tabs[table.title].formulas
    phone = table.header.fields.get("phone")
    label = table.header.labels

    def cells(member: Member, cols: frozenset[int], own: bool) -> dict[int, Any]:
        out = {}
        for col in sorted(cols):
            value = _meant(snapshot.tabs[table.title], member.row.row - 1, col, _at(member.row, col), "en")
            if _empty(value) or (not own and (member.row.row - 1, col) in formulas):
                continue
            if own and col == phone and _text(value).startswith("+"):
                continue
            out[col] = value
        return out

    def listed(values: dict[int, Any]) -> str:
        return ", ".join(f'{label.get(c) or column_letter(c + 1)} "{_shown(v)}"' for c, v in values.items())

    for kind, cols in _together_columns(table):
        ours = cells(keep, cols, True)
        # The survivor's own cells (a formula too) are never filled over.
        empty = {c for c in cols if _empty(_at(row, c)) and (row.row - 1, c) not in formulas}
        adding = [(m, theirs) for m in merged if (theirs := cells(m, cols, False)).keys() & empty]
        if not adding:
            continue
        agreeing = adding if not ours else [
            (m, theirs) for m, theirs in adding
            if ours.keys() & theirs.keys() and all(_same(ours[c], theirs[c]) for c in ours.keys() & theirs.keys())]
        if agreeing:
            sources.update(dict.fromkeys(cols & empty, agreeing[0][0]))
            continue
        donor, theirs = adding[0]
        taken = {c: v for c, v in theirs.items() if c in empty}
        said = dict(survivor=keep.id, donor=donor.id, taken=listed(taken), kept=listed(ours))
        how = dict(survivor=keep.id, donor=donor.id,
                   columns=", ".join(label.get(c) or column_letter(c + 1) for c in taken))
        # Kept instead, the merged record has every one of these cells: nothing to mix.
        covers = ours.keys() <= {c for c in cols if not _empty(_at(donor.row, c))}
        return ((PLACE_APART_MESSAGE if kind == "place" else NAME_APART_MESSAGE, said),
                (APART_OR_KEEP_HINT if covers else APART_HINT, how))
    return None


def _same(a: Any, b: Any) -> bool:
    """Whether two cells say the same thing, spelling aside ("Calle Mayor, 1" and "calle mayor 1",
    "612 345 678" and "612345678")."""
    return fold(_shown(a)).replace(" ", "") == fold(_shown(b)).replace(" ", "")


def _still_one(people: dict[str, Entity], ids: list[str], settings: DuplicateSettings) -> bool:
    """Whether the duplicate rules join the records `ids` into one group, as they read now."""
    records = [people.get(i) for i in ids]
    if any(e is None for e in records):
        return False  # a row with errors is not compared by the rules: never merged unchecked
    groups = find_groups(records, settings).groups  # type: ignore[arg-type]
    return len(groups) == 1 and set(groups[0].ids) == set(ids)


def _conversions(members: dict[str, Member], crm: Crm) -> tuple[dict[str, list[str]], list[str]]:
    """Of the leads among `members` (ID -> Member): those converted by sheetcrm, each with the IDs
    its conversion became in tab order (its Converted cells, and the rows whose From Lead names
    it), and those that rows name in From Lead."""
    known = crm.inputs.conversions  # type: ignore[union-attr]
    made: dict[str, list[str]] = {}
    named: list[str] = []
    for rid, m in members.items():
        link = known.links.get(m.row.row)
        found = [link.account, link.contact, link.opportunity] if link is not None else []
        rows_made = sorted(i for by_lead in known.made.values() for i in by_lead.get(rid, ()))
        if ids := list(dict.fromkeys(i for i in [*found, *rows_made] if i)):
            made[rid] = ids
        if rows_made:
            named.append(rid)
    return made, named


def _converted(tab: DuplicatesTab, locale: str, group: str, rows: list[DuplicateRow], members: dict[str, Member],
               crm: Crm) -> list[str] | Refused:
    """The leads of a ticked group that may survive it, so that a conversion stays with its lead
    whole: those converted by sheetcrm (Converted Account, Contact or Opportunity filled, or rows
    whose From Lead names the lead: a conversion whose links did not land yet, which the next
    sync links), else those whose Status says Converted, else all. Refused, nothing merged, when
    two leads were converted into different records (one conversion would be lost, or the
    survivor would be converted twice), or when Keep is ticked on a lead that may not survive."""
    made, named = _conversions(members, crm)
    if len({frozenset(map(match_key, ids)) for ids in made.values()}) > 1:
        first = next(r for r in rows if r.merge)
        each = "; ".join(f"{rid}: {', '.join(ids)}" for rid, ids in made.items())
        return Refused(group, [_issue(tab, locale, first, "merge", TWO_CONVERSIONS,
                                      _(TWO_CONVERSIONS_MESSAGE, group=group, each=each), _(TWO_CONVERSIONS_HINT))])
    if made:
        # Two leads linked to the very same records are one conversion: the one its rows name
        # in From Lead survives, where they name one.
        pool = named or list(made)
        how = _(CONVERTED_INTO, records=", ".join(next(iter(made.values()))))
    else:
        pool = [rid for rid, m in members.items() if getattr(m.row.record, "status", None) == CONVERTED]
        how = _(STATUS_CONVERTED)
    if not pool:
        return list(members)
    wrong = [r for r in rows if r.keep and r.id in members and r.id not in pool]
    if wrong:
        leads = ", ".join(pool)
        return Refused(group, [_issue(tab, locale, r, "keep", KEEP_UNCONVERTED,
                                      ngettext("group {group} is not merged: Keep is ticked on {kept}, but the "
                                               "group's converted lead is {leads} ({how}); a merge never moves a "
                                               "conversion to another lead, so the converted lead must survive",
                                               "group {group} is not merged: Keep is ticked on {kept}, but the "
                                               "group's converted leads are {leads} ({how}); a merge never moves a "
                                               "conversion to another lead, so one of them must survive",
                                               len(pool), group=group, kept=r.id, leads=leads, how=how),
                                      ngettext("tick Keep on {leads} instead (its empty cells are filled from the "
                                               "others), or untick Merge",
                                               "tick Keep on one of {leads} instead (its empty cells are filled from "
                                               "the others), or untick Merge", len(pool), leads=leads))
                               for r in wrong])
    return pool


def _issue(tab: DuplicatesTab, locale: str, row: DuplicateRow, key: str, code: str, message: str,
           hint: str) -> Issue:
    """A warning at the cell of column `key` of the Duplicates tab's `row`, as read."""
    col = tab.columns.get(key)
    header = DUPLICATES.display_headers(locale)[DUPLICATE_KEYS.index(key)]
    return Issue("warning", tab.title, row.row, column_letter(col + 1) if col is not None else None, header,
                 row.cells.get(key), code, message, hint)


def merge(snapshot: Snapshot, crm: Crm, locale: str, as_of: dt.date,
          settings: DuplicateSettings | None = None,
          people_cells: tuple[tuple[str, int], ...] = (), base: str = "USD") -> tuple[Plan, Snapshot, list[Refused]]:
    """The plan of every ticked merge, the snapshot as the workbook will be once it is
    written (merged rows blank in place, so every row number of the read still holds until
    the deletes, which a backend applies last), and the ticked groups refused (`plan_merges`).
    `people_cells`: (tab title, 1-based column) of the columns sheetcrm writes into a team's
    tab that name a lead or a contact by ID (a form responses tab's Lead column,
    `intake.forms.lead_columns`), re-pointed as sheetcrm's own tabs' references are. `base`:
    the config's currency, that of an amount beside an empty Currency (`_money_clash`).
    Returns `snapshot` itself when there is nothing to merge."""
    plan = Plan()
    # A row under a merged ID that is not its copy stays, and so do the references to its ID.
    left, reused = _unfinished(snapshot, crm, locale, set())
    kept_ids = {r.member.id for r in reused}
    merges, refused = plan_merges(snapshot, crm, locale, settings, base, kept_ids)
    # References are re-pointed also for merges done earlier whose references remain (a
    # reference typed after the merge, or a write interrupted): harmless, found by content.
    done = merged_ids(snapshot, locale)
    survivors = {m.id: s.survivor.id for s in merges for m in s.merged}
    planned = {r.id for s in merges for r in (s.survivor, *s.merged)}
    unfinished = [m for m in left if m.id not in planned]
    if not merges and not unfinished and not _lingering(snapshot, crm, locale, done, people_cells, kept_ids):
        return plan, snapshot, refused
    grids: dict[str, Grid] = {}

    def grid(title: str) -> Grid:
        if title not in grids:
            old = snapshot.tabs[title]
            grids[title] = dataclasses.replace(old, rows=[list(r) for r in old.rows], formulas=set(old.formulas),
                                               errors=dict(old.errors), percent=set(old.percent),
                                               currency=dict(old.currency), codes=dict(old.codes))
        return grids[title]

    # Earlier merges whose references linger: their IDs, re-pointed through the Merged tab.
    earlier = _earlier(snapshot, locale, kept_ids)
    for rid, kept in earlier.items():
        survivors.setdefault(rid, kept)
    survivors = _followed(survivors)
    # Every reference cell the read resolves to a row this plan removes, whatever its form (the
    # ID in any case or spacing, a name, an email), re-pointed to the survivor (`_named`); and
    # a merged ID itself, by the whole cell, in every column that can name it.
    gone = {(m.key, m.row.row): (m, s.survivor) for s in merges for m in s.merged}
    for member in unfinished:
        if (kept := survivors.get(member.id)) and (row := _member(crm, member.table.title, kept)) is not None:
            gone[(member.key, member.row.row)] = (member, row)
    columns = _named(crm, gone)
    for target, finds in _by_tab(crm, survivors).items():
        for title, col in _reference_columns(snapshot, crm, locale, target, people_cells):
            column = columns.setdefault((title, col), {})
            for find, to in finds.items():
                column.setdefault(find, to)
    copies: list[list[CellValue]] = []
    for m in merges:
        _fill(plan, grid, m, survivors, columns)
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
    for (title, col), finds in columns.items():
        if finds:
            _replace(plan, grid(title), title, col, finds, _row_keys(crm, title))
    if copies:
        place = locate(snapshot, MERGED, locale)
        have = snapshot.tabs[place.title].rows[1:] if place.exists else []
        owned_tab(plan, snapshot, MERGED, locale, [*have, *copies])
    if not plan:
        return plan, snapshot, refused
    return plan, dataclasses.replace(snapshot, tabs={t: grids.get(t, g) for t, g in snapshot.tabs.items()}), refused


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


def _fill(plan: Plan, grid, m: Merge, survivors: dict[str, str],
          columns: dict[tuple[str, int], dict[str, str]]) -> None:
    """The survivor's empty cells, from the merged rows oldest first (the people's columns
    only: never the ID, never sheetcrm's computed columns, never over or from a formula). A
    reference filled in names the survivor of a record this sync removes (`columns`, `_named`)."""
    table, row = m.survivor.table, m.survivor.row
    id_col = table.header.fields["id"]
    refs = {table.header.fields[f] for f in ("account", "contact", "related", "opportunity", "primary_contact")
            if f in table.header.fields}
    source = m.survivor.table.title
    dates = _date_columns(table)
    for col in sorted({*table.header.fields.values(), *table.header.custom.values()} - {id_col}):
        if not _empty(_at(row, col)) or (row.row - 1, col) in grid(source).formulas:
            continue
        for donor in ([m.sources[col]] if m.sources[col] else []) if col in m.sources else m.merged:
            value = _at(donor.row, col)
            if _empty(value) or (donor.row.row - 1, col) in grid(source).formulas:
                continue
            if col in refs and isinstance(value, str):
                value = columns.get((source, col + 1), {}).get(value, survivors.get(value.strip(), value))
            value = _meant(grid(source), donor.row.row - 1, col, _dated(value, dates.get(col)),
                           table.header.locale)
            plan.writes.append(CellWrite(source, row.row, col + 1, value,
                                         expect=((id_col + 1, row.raw_id), (col + 1, None))))
            _set(grid(source), row.row - 1, col, value)
            break


def _meant(grid: Grid, r: int, c: int, value: Any, locale: str) -> Any:
    """A cell's value as what it means where its number format says part of that, as text the
    read takes alike without the format (a fill writes the value alone, never the format): the
    code a whole number's format pads with zeros ("08001", not 8001), a percentage (0.15 under
    0% is "15%", not 0.15), an amount under a currency's format (5000 under € is "5000 EUR", not
    5000 in the Currency beside it). The decimal mark is the tab's (`locale`)."""
    if (r, c) in grid.codes:
        return grid.codes[(r, c)]
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return value

    def number(d: Decimal) -> str:
        text = format(d.normalize(), "f")
        return text.replace(".", ",") if locale == "es" else text

    if (r, c) in grid.percent:
        return number(Decimal(repr(value)) * 100) + "%"
    if (r, c) in grid.currency:
        return f"{number(Decimal(repr(value)))} {grid.currency[(r, c)]}"
    return value


def _copy(member: Member, survivor: str, grid: Grid, as_of: dt.date) -> list[CellValue]:
    """The Merged tab's row for a merged record: every non-empty cell as "Header=Value"."""
    return [as_of, survivor, member.table.title, member.id, *_cells(member, grid)]


def _cells(member: Member, grid: Grid) -> list[CellValue]:
    """A row's non-empty cells as the Merged tab keeps them: "Header=Value", in column order."""
    labels = member.table.header.labels
    dates = _date_columns(member.table)
    cells: list[CellValue] = []
    raw = grid.rows[member.row.row - 1] if member.row.row - 1 < len(grid.rows) else []
    for col, value in enumerate(raw):
        if _empty(value):
            continue
        label = labels.get(col) or column_letter(col + 1)
        cells.append(f"{label}={_shown(_dated(value, dates.get(col)))}")
    return cells


def _date_columns(table: Table) -> dict[int, str]:
    """Column -> "date" or "datetime", for the table's date fields."""
    kinds = field_kinds(table.spec)
    return {col: kinds[name] for name, col in table.header.fields.items() if kinds.get(name) in ("date", "datetime")}


def _dated(value: Any, kind: str | None) -> Any:
    """A date field's cell as a date: Google reads dates as serial numbers, and a serial
    written as it was read shows as one (a survivor's Created filled as 45725, not 2025-03-09)."""
    if kind is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return value
    when = SERIAL_EPOCH + dt.timedelta(days=value)
    return when.date() if kind == "date" and when.time() == dt.time() else when


def _replace(plan: Plan, grid: Grid, title: str, col: int, finds: dict[str, str],
             keys: dict[int, tuple[tuple[int, CellValue], ...]]) -> None:
    """A Replace for each merged ID the column still names (by the whole cell), with the rows
    holding it and their keys (`keys`: sheet row -> its ID cell as a write expects it, from
    `_row_keys`), and the same change on the snapshot as it will be."""
    seen: dict[str, list[tuple[int, tuple[tuple[int, CellValue], ...]]]] = {}
    for r in range(1, len(grid.rows)):
        value = grid.cell(r, col - 1)
        if isinstance(value, str) and value in finds and (r, col - 1) not in grid.formulas:
            seen.setdefault(value, []).append((r + 1, keys.get(r + 1, ())))
            _set(grid, r, col - 1, finds[value])
    plan.replacements.extend(Replace(title, col, find, finds[find], len(seen[find]), tuple(seen[find]))
                             for find in sorted(seen))


def _row_keys(crm: Crm, title: str) -> dict[int, tuple[tuple[int, CellValue], ...]]:
    """Sheet row -> ((ID column, the ID cell as read),) for the records of the CRM tab titled
    `title` that the sheet names by an ID (none for another tab, or a row whose ID this sync
    hands out)."""
    for table in crm.tables.values():
        if table.title == title and "id" in table.header.fields:
            id_col = table.header.fields["id"] + 1
            return {row.row: ((id_col, row.raw_id),) for row in table.rows
                    if not row.assigned and not _empty(row.raw_id)}
    return {}


def _named(crm: Crm, gone: dict[tuple[str, int], tuple[Member, Member]]) -> dict[tuple[str, int], dict[str, str]]:
    """(tab title, 1-based column) -> {the cell's text: what it becomes} for every reference
    cell of the CRM tabs that the read resolves (`validate.named_by`, the read's own look-up:
    by ID, else by exact name or email, as a person reads them) to a row this plan removes
    (`gone`: (tab key, sheet row) -> (the merged record, its survivor)).

    The cell keeps its style: one that named the record by ID gets the survivor's ID; one that
    named it by name (or email) gets the survivor's name (or email), when that names the
    survivor alone once the merged rows are gone, else the survivor's ID, which always does.
    Found by the whole cell's text, as the ID references are: every cell holding that text
    resolves alike, since what a reference names depends on its text alone."""
    out: dict[tuple[str, int], dict[str, str]] = {}
    if not gone:
        return out
    pairs = dict.fromkeys(pair for refs in REFERENCES.values() for pair in refs)
    for key, name in pairs:
        table = crm.tables.get(key)
        col = None if table is None else table.header.fields.get(name)
        if table is None or col is None:
            continue
        finds: dict[str, str] = {}
        seen: set[str] = set()
        for row in table.rows:
            raw = row.cells[col] if col < len(row.cells) else None
            if not isinstance(raw, str) or raw in seen:
                continue
            seen.add(raw)
            text = parse_text(raw)
            hits = named_by(crm, key, name, text) if text else []
            removed = [h for h in hits if (h[0], h[2].row) in gone]
            if not removed:
                continue
            # What the cell names once the merged rows are gone: each of them is its survivor.
            after = {(gone[(h[0], h[2].row)][1].key, gone[(h[0], h[2].row)][1].row.row)
                     if (h[0], h[2].row) in gone else (h[0], h[2].row) for h in hits}
            if len(after) != 1:
                continue  # named other records too: the group waits (`_shifting`), or it stays ambiguous
            tab, form, _row, by_id = removed[0]
            merged, kept = gone[(tab, removed[0][2].row)]
            if len(removed) < len(hits):
                continue  # it named the survivor too ("Acme" for two Acmes): it names it alone now, as typed
            to = kept.id if by_id else _same_style(crm, key, name, tab, form, merged, kept, gone)
            if to != raw:
                finds[raw] = to
        if finds:
            out[(table.title, col + 1)] = finds
    return out


def _same_style(crm: Crm, key: str, name: str, tab: str, form: str, merged: Member, kept: Member,
                gone: dict[tuple[str, int], tuple[Member, Member]]) -> str:
    """What a reference that named `merged` by `form` (one of its names) becomes: the
    survivor's text of the same kind (its name for a name, its email for an email) when, with
    the merged rows gone, it names the survivor alone for the same column; else its ID."""
    theirs = name_forms(tab, merged.row.target)
    ours = name_forms(tab, kept.row.target)
    at = theirs.index(form) if form in theirs else None
    text = ours[at] if at is not None and at < len(ours) else None
    if text:
        left = [h for h in named_by(crm, key, name, text) if (h[0], h[2].row) not in gone]
        if len(left) == 1 and left[0][0] == kept.key and left[0][2].row == kept.row.row:
            return text
    return kept.id


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


def _reference_columns(snapshot: Snapshot, crm: Crm, locale: str, target: str,
                       people_cells: tuple[tuple[str, int], ...] = ()) -> list[tuple[str, int]]:
    """(tab title, 1-based column) of every column that can name a record of `target`
    (`people_cells`: those of the team's tabs that name a lead or a contact, `merge`)."""
    out = []
    for key, name in REFERENCES.get(target, ()):
        table = crm.tables.get(key)
        col = None if table is None else table.header.fields.get(name, table.header.computed.get(name))
        if table is not None and col is not None:
            out.append((table.title, col + 1))
    for tab, col in OWNED_REFERENCES.get(target, ()):
        place = locate(snapshot, tab, locale)
        if place.exists:
            out.append((place.title, col))
    if target in ("leads", "contacts"):
        out.extend(cell for cell in people_cells if cell[0] in snapshot.tabs)
    return out


def _followed(survivors: dict[str, str]) -> dict[str, str]:
    """Merged ID -> the record it lives on in now: a survivor merged in turn (by an earlier sync
    or this one) is followed to its own. A into B, then B into C: a reference to A typed later
    went to B, a record already gone, and read as unknown (its deal left out of the pipeline)
    until the next sync moved it on. A loop (a Merged tab edited by hand) ends where it
    started and moves nothing."""
    out = {}
    for rid, to in survivors.items():
        seen = {rid}
        while to in survivors and to not in seen:
            seen.add(to)
            to = survivors[to]
        if to != rid:
            out[rid] = to
    return out


def _earlier(snapshot: Snapshot, locale: str, reused: Any = ()) -> dict[str, str]:
    """Merged ID -> its survivor, from the Merged tab, but for the IDs `reused` (a live row
    holds them: `Reused`; a reference to one names that row, not the survivor)."""
    place = locate(snapshot, MERGED, locale)
    if not place.exists:
        return {}
    grid = snapshot.tabs[place.title]
    return {rid: survivor for r in range(1, len(grid.rows))
            if (rid := _text(grid.cell(r, 3))) and (survivor := _text(grid.cell(r, 1))) and rid not in reused}


def _unfinished(snapshot: Snapshot, crm: Crm, locale: str, planned: set[str]) -> tuple[list[Member], list[Reused]]:
    """Records sheetcrm's own Merged tab holds as merged whose row is still in their tab (a
    write that copied but did not remove it, or put back a row a concurrent sort had put in
    its place, docs/concurrency.md): removed again, without their tick, which the sync that
    copied them may have taken off the Duplicates tab. And the rows under such an ID that are
    not the copy (`Reused`): a record typed later under the merged ID, or a merge undone by
    hand with its Merged row left; kept, never removed."""
    place = locate(snapshot, MERGED, locale)
    if not place.exists or place.title not in snapshot.owned:
        return [], []
    grid = snapshot.tabs[place.title]
    earlier = _earlier(snapshot, locale)
    out: list[Member] = []
    reused: list[Reused] = []
    for r in range(1, len(grid.rows)):
        rid, tab = _text(grid.cell(r, 3)), _text(grid.cell(r, 2))
        if rid and tab and rid not in planned and (member := _member(crm, tab, rid)) is not None:
            planned.add(rid)
            if _is_copy(member, snapshot.tabs[member.table.title], grid.rows[r][4:], earlier):
                out.append(member)
            else:
                reused.append(Reused(member, _text(grid.cell(r, 1)), grid.cell(r, 0), place.title))
    return out, reused


@dataclass(frozen=True)
class Reused:
    """A row under an ID the Merged tab holds as merged whose cells are not that copy: the row,
    the survivor and Merged At of the Merged row, and the Merged tab's title."""

    member: Member
    survivor: str
    merged_at: Any
    merged: str


REUSED = "merged_id_in_use"
REUSED_MESSAGE = N_("{id} was merged into {survivor} on {date} (its copy is on the {merged} tab), but this row is "
                    "not that copy: it is kept, and references to {id} are not moved to {survivor}")
REUSED_HINT = N_("if this row is a record of its own, give it a new ID (and its references with it) or, if the "
                 "merge was undone, delete {id}'s row on the {merged} tab; if it is the merged record put back, "
                 "delete this row")


REUSED_GROUP_MESSAGE = N_("group {group} is not merged: the Merged tab holds {ids} as merged already, and the row "
                          "under that ID now is not its copy")
REUSED_GROUP_HINT = N_("see the warning at that row's ID cell; the merge goes ahead on the next sync once it is "
                       "resolved")


def reused_ids(snapshot: Snapshot, crm: Crm, locale: str) -> list[Issue]:
    """A warning at the ID cell of each row kept under an ID the Merged tab holds as merged
    (`_unfinished`): sheetcrm cannot tell whether it is a new record or the merged one, so it
    removes nothing and moves no reference, and says so."""
    out = []
    for found in _unfinished(snapshot, crm, locale, set())[1]:
        member = found.member
        col = member.table.header.fields["id"]
        date = found.merged_at
        date = _shown(_dated(date, "date")) if not isinstance(date, str) else date.strip()
        out.append(Issue("warning", member.table.title, member.row.row, column_letter(col + 1),
                         member.table.header.labels.get(col), member.row.raw_id, REUSED,
                         _(REUSED_MESSAGE, id=member.id, survivor=found.survivor, date=date, merged=found.merged),
                         _(REUSED_HINT, id=member.id, merged=found.merged)))
    return out


def _is_copy(member: Member, grid: Grid, copied: list[Any], earlier: dict[str, str]) -> bool:
    """Whether the row of `member` is still the one the Merged tab copied (`copied`: its cells
    from column E on), so that removing it loses nothing. sheetcrm's computed columns are left
    out (they are its own), and a reference the same write re-pointed to its survivor (a
    contact merged with its account) counts as the copy's."""
    skip = {f"{member.table.header.labels.get(col) or column_letter(col + 1)}="
            for col in member.table.header.computed.values()}

    def kept(cells: list[Any]) -> list[str]:
        return [t for v in cells if (t := _text(v)) and not any(t.startswith(s) for s in skip)]

    ours, theirs = kept(_cells(member, grid)), kept(copied)
    if len(ours) != len(theirs):
        return False
    for now, then in zip(ours, theirs):
        label, _eq, value = then.partition("=")
        if now != then and now != f"{label}={earlier.get(value, value)}":
            return False
    return True


def _lingering(snapshot: Snapshot, crm: Crm, locale: str, done: set[str],
               people_cells: tuple[tuple[str, int], ...] = (), reused: set[str] = frozenset()) -> bool:
    """Whether a reference still names a record merged by an earlier sync."""
    if not done:
        return False
    earlier = _earlier(snapshot, locale, reused)
    for target, finds in _by_tab(crm, earlier).items():
        for title, col in _reference_columns(snapshot, crm, locale, target, people_cells):
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
    grid.codes = {p: v for p, v in grid.codes.items() if p[0] != r}


def _set(grid: Grid, r: int, c: int, value: Any) -> None:
    while len(grid.rows) <= r:
        grid.rows.append([])
    row = grid.rows[r]
    while len(row) <= c:
        row.append(None)
    row[c] = value
    grid.codes.pop((r, c), None)  # the text the old value showed


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


def what_merged(removed: dict[str, int], moved: dict[str, int]) -> str:
    """What a merge did besides writing cells, per tab, as one phrase ("removed 1 row from
    Contacts; re-pointed 2 references in Activities"); "" when it did neither. `removed`: tab
    -> rows; `moved`: tab -> cells whose reference now names the survivor. `sheetcrm sync`
    prints it, `sheetcrm run`'s sync line ends with it."""
    parts = [ngettext("removed {n} row from {tab}", "removed {n} rows from {tab}", n, tab=tab)
             for tab, n in removed.items() if n]
    parts += [ngettext("re-pointed {n} reference in {tab}", "re-pointed {n} references in {tab}", n, tab=tab)
              for tab, n in moved.items() if n]
    return "; ".join(parts)
