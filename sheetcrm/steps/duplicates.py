"""The Duplicates tab: likely duplicates among Leads, Contacts and Accounts, for a person to act on.

One row per record of a group, a group's rows together (contract: docs of the Duplicates tab
shared with the merge step). The rules are `crm.duplicates`; this step reads the tab as the
people left it and writes it again:

- people's ticks (Keep, Merge, Not duplicates) are carried over by (Group, ID): a group is
  named by its members, so a tick stays on its group for as long as the group is the same;
- a group with Not duplicates ticked on any row is suppressed: its rows stay, as read, at the
  bottom of the tab (the decision lives in the sheet; unticking it revives the group), and no
  pair of its records is proposed again;
- a group with Merge ticked (and not suppressed) is the merge step's, which runs before this
  one: the records it merged are gone from the read this step sees, so they are not proposed
  again and the group leaves the tab; a group the merge step refused (`ctx.refused`: an issue
  says why) keeps its rows as read, ticks included, in its place;
- a converted lead and the contact it became (its Converted Contact, the contact's From
  Lead) are one person on purpose: never proposed as a pair.

The read types the tab (`inputs.read_duplicates`, on `ctx.crm.inputs.duplicates`); the merge
step reads the same.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from sheetcrm.crm.duplicates import (DuplicateSettings, Entity, Found, entities, find_groups, phone_key, reasons_text,
                                     region_of)
from sheetcrm.i18n import N_, _
from sheetcrm.merging import age
from sheetcrm.owned import locate
from sheetcrm.parse_cache import fields_of
from sheetcrm.plan import owned_tab
from sheetcrm.inputs import DUPLICATE_KEYS as KEYS, TICKS, DuplicateRow
from sheetcrm.report import Issue
from sheetcrm.schema import DUPLICATES, TABS
from sheetcrm.steps.context import StepResult, SyncContext


NOT_COMPARED = "duplicates_not_compared"
NOT_COMPARED_MESSAGE = N_("{n} records share the {what} {key}: too many to be one record's duplicates, so they "
                          "were not compared")
NOT_COMPARED_HINT = N_("nothing to do if the value is shared on purpose (a switchboard, a team mailbox); raise "
                       "[duplicates] max_block to compare them anyway")
# What the shared key is, in the message above.
WHAT = {"email": N_("email"), "phone": N_("phone"), "domain": N_("domain"), "name": N_("name block")}


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    settings = ctx.config.duplicates
    assert ctx.crm.inputs is not None  # the read
    tab = ctx.crm.inputs.duplicates
    said = [*tab.issues, *(i for r in ctx.refused.values() for i in r.issues)]
    if not settings.enabled:
        part.issues = said  # the tab is not rewritten: its cells are where the read found them
        return part
    rows = tab.rows
    by_group: dict[str, list[DuplicateRow]] = {}
    for row in rows:
        by_group.setdefault(row.group, []).append(row)
    suppressed = [g for g, members in by_group.items() if any(r.not_duplicates for r in members)]
    pairs = [frozenset(p) for g in suppressed for p in itertools.combinations({r.id for r in by_group[g]}, 2)]
    pairs += _converted(ctx)
    # The merge step ran first and the read is the merged one: a merged record is gone from it.
    records = entities(ctx.crm.records("leads"), ctx.crm.records("contacts"), ctx.crm.records("accounts"))
    by_id = {e.id: e for e in records}
    compared = [e for e in records if _unique(e, by_id)]
    # Found holds words (its skipped blocks' what) in no language: the key needs none.
    found, phones = ctx.remember("duplicate_groups", (fields_of(compared), settings.model_dump(
        mode="json"), sorted(map(sorted, pairs))), lambda: _found(compared, settings, pairs))
    ticks = {(r.group, r.id): r for r in rows}
    # A refused group stays as the person left it (its issues name its cells), where it was proposed.
    refused = {g: [[r.cells.get(k) for k in KEYS] for r in by_group[g]]
               for g in by_group if g in ctx.refused and g not in suppressed}
    body = _proposed(ctx, found, by_id, ticks, refused, phones)
    for g, kept in refused.items():
        if g not in {group.key for group in found.groups}:
            body.extend(kept)
    for g in suppressed:
        body.extend([r.cells.get(k) for k in KEYS] for r in by_group[g])
    owned_tab(part.plan, ctx.snapshot, DUPLICATES, ctx.locale, body)
    # An issue at a cell of the tab names the row it is written to, which a rewrite may move
    # (a group above it merged and left): found by its (Group, ID), so a second sync agrees.
    placed: dict[tuple[Any, Any], int] = {}
    for n, cells in enumerate(body, start=2):
        placed.setdefault((cells[0], cells[4]), n)
    read = {r.row: (r.group, r.id) for r in rows}
    part.issues = [dataclasses.replace(i, row=placed.get(read.get(i.row, (None, None)), i.row)) for i in said]
    title = locate(ctx.snapshot, DUPLICATES, ctx.locale).title
    for what, key, n in found.skipped:
        part.issues.append(Issue("warning", title, None, None, None, key, NOT_COMPARED,
                                 _(NOT_COMPARED_MESSAGE, n=n, what=_(WHAT[what]), key=key), _(NOT_COMPARED_HINT)))
    return part


def _unique(entity: Entity, by_id: dict[str, Entity]) -> bool:
    # Two rows with one ID are already a duplicate_id error; neither is proposed until fixed.
    return by_id[entity.id] is entity


def _converted(ctx: SyncContext) -> list[frozenset[str]]:
    """(lead, contact) of each conversion, by the lead's Converted Contact (this sync's
    conversions included: the conversion step records them in the read) or the contact's From
    Lead: one person, never a duplicate pair."""
    assert ctx.crm.inputs is not None
    known = ctx.crm.inputs.conversions
    pairs = {frozenset((c.lead, c.contact)) for c in known.links.values() if c.lead and c.contact}
    pairs |= {frozenset((lead, contact)) for lead, contact in known.from_lead.get("contacts", {}).items()}
    return sorted(pairs, key=sorted)


def _found(records: list[Entity], settings: DuplicateSettings,
           pairs: list[frozenset[str]]) -> tuple[Found, dict[str, str | None]]:
    """The groups, and each member's phone as the tab shows it (E.164 where it reads as a
    number, else as typed): both cost a parse of every phone, so both are remembered."""
    found = find_groups(records, settings, pairs)
    by_id = {e.id: e for e in records}
    phones = {rid: phone_key(by_id[rid].phone, region_of(by_id[rid].country) or settings.country)
              or by_id[rid].phone for group in found.groups for rid in group.ids}
    return found, phones


def _proposed(ctx: SyncContext, found: Found, by_id: dict[str, Entity],
              ticks: dict[tuple[str, str], DuplicateRow], refused: dict[str, list[list[Any]]],
              phones: dict[str, str | None]) -> list[list[Any]]:
    body: list[list[Any]] = []
    titles = {key: table.title for key, table in ctx.crm.tables.items()}
    for group in found.groups:
        key, reasons = group.key, reasons_text(group.reasons)
        if key in refused:
            body.extend(refused[key])
            continue
        members = sorted(group.ids, key=lambda i: age(i, by_id[i].created))
        for rid in members:
            e = by_id[rid]
            tick = ticks.get((key, rid))
            phone = phones[rid]
            body.append([key, group.score, reasons, titles.get(e.tab, TABS[e.tab].display_title(ctx.locale)), rid,
                         e.name, e.email, phone, e.company, e.created,
                         *((tick.cells.get(k) if tick else None) for k in TICKS)])
    return body
