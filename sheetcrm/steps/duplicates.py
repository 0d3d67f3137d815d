"""The Duplicates tab: likely duplicates among Leads, Contacts and Accounts, for a person to act on.

One row per record of a group, a group's rows together (contract: docs of the Duplicates tab
shared with the merge step). The rules are `crm.duplicates`; this step reads the tab as the
people left it and writes it again:

- people's ticks (Keep, Merge, Not duplicates) are carried over by (Group, ID): a group is
  named by its members, so a tick stays on its group for as long as the group is the same;
  IDs compare as every reference does (the read spells the tab's as the records do now), so a
  member's ID retyped in another case renames the group (its key hashes the IDs as written)
  and the ticks follow it;
- a group with Not duplicates ticked on any row is suppressed: its rows stay, as read, at the
  bottom of the tab (the decision lives in the sheet; unticking it revives the group), and no
  pair of its records is proposed again;
- a group with Merge ticked (and not suppressed) is the merge step's, which runs before this
  one: the records it merged are gone from the read this step sees, so they are not proposed
  again and the group leaves the tab; a group the merge step refused (`ctx.refused`: an issue
  says why) keeps its rows as read, ticks included, in its place;
- a converted lead and the contact it became (its Converted Contact, the contact's From
  Lead) are one person on purpose: never proposed as a pair, nor in one group through a third
  record alike to both (a pair ruled out Not duplicates may be: the merge refuses such a
  group, `merging.RULED_OUT`).

The read types the tab (`inputs.read_duplicates`, on `ctx.crm.inputs.duplicates`); the merge
step reads the same.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from sheetcrm.crm.duplicates import (DuplicateSettings, Entity, EntityFields, Found, Recall, entity_fields,
                                     find_groups, group_key, libraries, reasons_text)
from sheetcrm import cells
from sheetcrm.i18n import N_, _, ngettext
from sheetcrm.merging import age
from sheetcrm.owned import locate
from sheetcrm.plan import owned_tab
from sheetcrm.inputs import DUPLICATE_KEYS as KEYS, TICKS, DuplicateRow
from sheetcrm.report import Issue
from sheetcrm.schema import DUPLICATES, TABS
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.validate import rows_listed


NOT_COMPARED = "duplicates_not_compared"
NOT_COMPARED_MESSAGE = N_("{n} records share the {what} {key}: too many to be one record's duplicates, so they "
                          "were not compared")
NOT_COMPARED_HINT = N_("nothing to do if the value is shared on purpose (a switchboard, a team mailbox); raise "
                       "[duplicates] max_block to compare them anyway")
COLUMN_GONE = "duplicates_column_gone"
COLUMN_GONE_MESSAGE = N_("Row 1 does not hold the {columns} column once under its header: was it deleted, copied or "
                         "its header retyped? The ticks under it cannot be read, so sheetcrm merges nothing and "
                         "leaves this tab as it is until it does.")
COLUMN_GONE_HINT = N_("Put the header back as sheetcrm wrote it, once (or undo the change): your rows and ticks are "
                      "kept as they are.")
# The memo's entry of the records' keys and the blocks' pairs (crm.duplicates.Recall).
RECALL = ("recall", "duplicates")
# The Recall is kept anew once more than 1 in this many of its entries had to be worked out.
_REKEEP = 100
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
    if tab.gone:
        # Rewritten by position, the ticks under a column the header no longer places (a
        # Not duplicates retyped "Not duplicates?") were written over and lost without a word.
        part.issues = [*said, _gone_issue(ctx, tab.gone)]
        return part
    rows = tab.rows
    by_group: dict[str, list[DuplicateRow]] = {}
    for row in rows:
        by_group.setdefault(row.group, []).append(row)
    suppressed = [g for g, members in by_group.items() if any(r.not_duplicates for r in members)]
    pairs = [frozenset(p) for g in suppressed for p in itertools.combinations({r.id for r in by_group[g]}, 2)]
    converted = _converted(ctx)
    # The merge step ran first and the read is the merged one: a merged record is gone from it.
    # The records as plain tuples (an Entity's fields): all the groups read of them, cheap to
    # digest; made entities only when the groups are worked out again.
    unread: list[Issue] = []
    records = entity_fields(*(_readable(ctx, key, unread) for key in ("leads", "contacts", "accounts")))
    compared = _unique(records)
    titles = {key: table.title for key, table in ctx.crm.tables.items()}
    shown = {tab: titles.get(tab, TABS[tab].display_title(ctx.locale)) for tab in ("leads", "contacts", "accounts")}
    # The groups' rows hold words (the reasons) in the team's language, and the tabs' titles.
    inputs = (compared, settings.model_dump(mode="json"), sorted(map(sorted, pairs)), sorted(map(sorted, converted)),
              ctx.locale, shown)
    if ctx.memo is not None:
        ctx.memo.carry(RECALL)  # for the next change, should the groups not be worked out this time
    found, proposed = ctx.remember("duplicate_groups", inputs,
                                   lambda: _found(ctx, compared, settings, pairs, converted, shown))
    # A group named as a suppressed one is the very records ruled out (the name is a digest of
    # its IDs), found again because a row of the ruling was deleted: it stays ruled out, at the
    # bottom, rather than proposed a second time beside it.
    proposed = [rows for rows in proposed if rows[0][0] not in suppressed]
    # A tick stays on its group: by the Group cell, or, for a group sheetcrm named by its IDs
    # as the tab writes them, by the name its IDs as the records spell them now make (the read
    # respells them: a member's ID retyped in another case renames the group).
    ticks = {(r.group, r.id): r for r in rows}
    for g, members in by_group.items():
        now = group_key({r.id for r in members})
        if now != g and group_key({str(r.cells.get("id")).strip() for r in members}) == g:
            for r in members:
                ticks.setdefault((now, r.id), r)
    # A refused group stays as the person left it (its issues name its cells), where it was proposed.
    refused = {g: [[r.cells.get(k) for k in KEYS] for r in by_group[g]]
               for g in by_group if g in ctx.refused and g not in suppressed}
    _keep_moved(found, by_group, suppressed, refused, ticks)
    body = _proposed(found, proposed, ticks, refused)
    proposed_keys = {rows[0][0] for rows in proposed}
    for g, kept in refused.items():
        if g not in proposed_keys:
            body.extend(kept)
    for g in suppressed:
        body.extend([r.cells.get(k) for k in KEYS] for r in by_group[g])
    # A column a person put among sheetcrm's (a Notes column, or two swapped) is read by its
    # header, so it is written there too: by position the header was written over theirs, a
    # second Not duplicates left beside it and their cells lost or left on rows of other groups.
    part.plan.ticked.append(owned_tab(part.plan, ctx.snapshot, DUPLICATES, ctx.locale, body, tab.where()))
    # An issue at a cell of the tab names the row it is written to, which a rewrite may move
    # (a group above it merged and left): found by its (Group, ID), so a second sync agrees.
    placed: dict[tuple[Any, Any], int] = {}
    for n, cells in enumerate(body, start=2):
        placed.setdefault((cells[0], cells[4]), n)
    # A row kept as read (refused, suppressed) is written with its ID as typed, not as respelt.
    read = {r.row: (r.group, r.id) if (r.group, r.id) in placed else (r.group, str(r.cells.get("id")).strip())
            for r in rows}
    part.issues = [dataclasses.replace(i, row=placed.get(read.get(i.row, (None, None)), i.row)) for i in said]
    part.issues.extend(unread)
    title = locate(ctx.snapshot, DUPLICATES, ctx.locale).title
    for what, key, n in found.skipped:
        part.issues.append(Issue("warning", title, None, None, None, key, NOT_COMPARED,
                                 _(NOT_COMPARED_MESSAGE, n=n, what=_(WHAT[what]), key=key), _(NOT_COMPARED_HINT)))
    return part


def _keep_moved(found: Found, by_group: dict[str, list[DuplicateRow]], suppressed: list[str],
                refused: dict[str, list[list[Any]]], ticks: dict[tuple[str, str], DuplicateRow]) -> None:
    """A Keep ticked on a record of a group that is no longer proposed as it was (a record
    joined it or left it: its name, a digest of its IDs, changed) goes to the group that record
    is in now, beside it. Keyed by the old name, it was dropped from the rewritten tab without a
    word, and a later Merge kept the oldest record instead of the one the person chose. Only
    Keep: a Merge carried so would merge a record the person never saw ticked (a Merge is acted
    on in its own sync anyway, or refused and left as read)."""
    now = {rid: group.key for group in found.groups for rid in group.ids}
    for g, members in by_group.items():
        if g in now.values() or g in suppressed or g in refused:
            continue
        for row in members:
            if row.keep and (key := now.get(row.id)) is not None and (key, row.id) not in ticks:
                ticks[(key, row.id)] = dataclasses.replace(row, group=key, cells={"keep": row.cells.get("keep")},
                                                           merge=False, not_duplicates=False)


def _gone_issue(ctx: SyncContext, gone: tuple[str, ...]) -> Issue:
    """The columns of the tab its header row does not place once (`DuplicatesTab.gone`), at row 1."""
    headers = DUPLICATES.display_headers(ctx.locale)
    missing = ", ".join(cells.quoted(headers[KEYS.index(key)]) for key in gone)
    return Issue("warning", locate(ctx.snapshot, DUPLICATES, ctx.locale).title, 1, None, None, None, COLUMN_GONE,
                 _(COLUMN_GONE_MESSAGE, columns=missing), _(COLUMN_GONE_HINT))


def _readable(ctx: SyncContext, key: str, said: list[Issue]) -> list[Any]:
    """The records of tab `key` the groups compare: each sound record, and of a row with errors
    what of it reads (`Row.target`, its unreadable cells empty). A bad cell the rules do not
    compare (Employees "many") must not hide a duplicate; left out, the pair vanished from the
    tab with no word. Safe, as a merge never acts on a row with errors: its tick is refused
    (merging.ROW_ERRORS). A row of which not even that reads (a required cell unreadable, a lead
    with no Last Name, Company or Email: validate's `Row.target` is None) is left out, and a
    `left_out` warning on its tab says so."""
    table = ctx.crm.tables.get(key)
    if table is None:
        return []
    if any(c.required and c.field not in table.header.fields for c in table.spec.columns):
        # Its `missing_column` error already says no row is read; listing the rows would name
        # them by the IDs this sync hands out, as if they held them (validate.left_out).
        return []
    out, unread = [], []
    for row in table.rows:
        record = row.record if row.record is not None else row.target
        if record is not None:
            out.append(record)
        elif row.id:  # a row with no ID is compared with nothing (entity_fields)
            unread.append(row)
    if unread:
        said.append(Issue("warning", table.title, None, None, None, None, "left_out",
                          ngettext("{n} row with errors in {tab} is left out of the duplicate check until fixed: "
                                   "{listed}.",
                                   "{n} rows with errors in {tab} are left out of the duplicate check until fixed: "
                                   "{listed}.", len(unread), tab=table.title, listed=rows_listed(unread)),
                          _("Fix the cells reported on those rows.")))
    return out


def _unique(records: list[EntityFields]) -> list[EntityFields]:
    """The records compared: of two rows with one ID (already a duplicate_id error), the last."""
    last = {fields[1]: n for n, fields in enumerate(records)}
    return [fields for n, fields in enumerate(records) if last[fields[1]] == n]


def _converted(ctx: SyncContext) -> list[frozenset[str]]:
    """(lead, contact) of each conversion, by the lead's Converted Contact (this sync's
    conversions included: the conversion step records them in the read) or the contact's From
    Lead: one person, never a duplicate pair."""
    assert ctx.crm.inputs is not None
    known = ctx.crm.inputs.conversions
    pairs = {frozenset((c.lead, c.contact)) for c in known.links.values() if c.lead and c.contact}
    pairs |= {frozenset((lead, contact)) for lead, contact in known.from_lead.get("contacts", {}).items()}
    return sorted(pairs, key=sorted)


def _found(ctx: SyncContext, compared: list[EntityFields], settings: DuplicateSettings,
           pairs: list[frozenset[str]], converted: list[frozenset[str]],
           shown: dict[str, str]) -> tuple[Found, list[list[list[Any]]]]:
    """The groups, and each group's rows as the tab shows them but the people's ticks: its
    members oldest first, each with its phone in E.164 where it reads as a number (else as
    typed). Records' keys and blocks' pairs an earlier sync worked out are reused
    (`duplicates.Recall`, kept in the memo beside the groups)."""
    recall = kept_recall(ctx)
    records = [Entity(*fields) for fields in compared]
    found = find_groups(records, settings, pairs, recall, apart=converted)
    by_id = {e.id: e for e in records}
    proposed = []
    for group in found.groups:
        key, reasons = group.key, reasons_text(group.reasons)
        rows = []
        for rid in sorted(group.ids, key=lambda i: age(i, by_id[i].created)):
            e = by_id[rid]
            phone = recall.by_id[rid].phone or e.phone  # as find_groups read it
            rows.append([key, group.score, reasons, shown[e.tab], rid, e.name, e.email, phone, e.company, e.created])
        proposed.append(rows)
    if ctx.memo is not None and recall.missed * _REKEEP > len(recall.keys) + len(recall.similar):
        # Kept anew only when much was missing: pickling every record's keys costs more than
        # working out again the few a change or two touched (the last ones stay carried).
        ctx.memo.keep(RECALL, b"recall", (libraries(), recall.keys, recall.similar))
    return found, proposed


def kept_recall(ctx: SyncContext) -> Recall:
    """The keys and blocks the last sync that worked out the groups kept, when worked out with
    the same libraries; else none. A fresh Recall each call: what one user fills in is its own."""
    kept = ctx.memo.before(RECALL) if ctx.memo is not None else None
    if isinstance(kept, tuple) and len(kept) == 3 and kept[0] == libraries():
        return Recall(kept[1], kept[2])
    return Recall()


def _proposed(found: Found, proposed: list[list[list[Any]]], ticks: dict[tuple[str, str], DuplicateRow],
              refused: dict[str, list[list[Any]]]) -> list[list[Any]]:
    """The tab's rows of the groups found: a refused group's as the person left them, the
    others' with the ticks a person left on them."""
    body: list[list[Any]] = []
    unticked = [None] * len(TICKS)
    for rows in proposed:
        key = rows[0][0]
        if key in refused:
            body.extend(refused[key])
            continue
        for row in rows:
            tick = ticks.get((key, row[4]))
            body.append(row + ([tick.cells.get(k) for k in TICKS] if tick else unticked))
    return body
