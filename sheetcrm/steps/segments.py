"""Segments: the team's named segments (`[segments.NAME]`, the Segments tab) over accounts,
contacts and leads; crm/segments.py decides, this step plans (docs/segments.md):

- the Segments column on Accounts, Contacts and Leads: each record's segments, by name, in
  alphabetical order, comma-separated; added the first time a segment of that record exists,
  every write keyed to its row's ID as the other computed columns';
- the Segment Summary tab: per segment its members, the accounts they reach, open pipeline,
  won revenue and churn.

Before `validation`, so a bad definition is on the Validation tab of the same sync. A row
whose ID this sync hands out is seen from the next sync, as the workflows see it.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sheetcrm.cells import canonical_text, normalize_key, quoted
from sheetcrm.crm.money import MissingRate, left_out_said, to_base
from sheetcrm.crm.segments import (KINDS, RELATIONS, TARGET_FIELDS, Deal, Definition, Reach, Segment,
                                   SegmentKpis,
                                   from_config, members, parse_segments, segment_kpis)
from sheetcrm.crm.stages import StageTable
from sheetcrm.crm.conditions import Condition, Unsure
from sheetcrm.crm.conditions import also_undecided
from sheetcrm.crm.workflows import Subject, World, note_doubts, undecided_issues, unnamed_word
from sheetcrm.i18n import _, ngettext
from sheetcrm.i18n import listed as listed_some
from sheetcrm.owned import owned_title
from sheetcrm.plan import owned_tab
from sheetcrm.render import fraction, money
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import SEGMENT_SUMMARY, TABS
from sheetcrm.steps.computed_columns import plan_computed
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.validate import amounts_unread, unread_columns
from sheetcrm.steps.workflows import world_of
from sheetcrm.table import Table, disown, field_kinds
from sheetcrm.workbook import CellWrite, Plan, same_value

COLUMN = "segments"  # the computed column's key (names.COMPUTED)


@dataclass
class Segmented:
    """What the step found: the sound segments (sorted by name), each one's members and KPIs."""

    segments: list[Segment] = field(default_factory=list)
    members: dict[str, list[Subject]] = field(default_factory=dict)   # segment name -> its members
    kpis: dict[str, SegmentKpis] = field(default_factory=dict)
    # (kind, ID) -> a member's choice cells (its Status) as the sheet holds them ("Cliente"),
    # which the export writes rather than the engine's canonical word ("Customer").
    held: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    # segment name -> the contacts left out of it because its condition reads their account and
    # that account's row has errors: "CON-0001 of ACC-0002 (row 3)", in the contacts' order.
    unread_accounts: dict[str, list[str]] = field(default_factory=dict)
    # segment name -> the contacts left out of it because its condition reads their account and
    # their Account cell names more than one: 'CON-0001 ("Acme")', in the contacts' order.
    ambiguous_accounts: dict[str, list[str]] = field(default_factory=dict)
    # normalize_key(name) -> the error that leaves a defined segment out (a condition that does
    # not parse...), so `sheetcrm segment NAME` says why rather than that there is no such segment.
    refused: dict[str, tuple[str, Issue]] = field(default_factory=dict)

    def find(self, name: str) -> Segment | None:
        """The segment called `name`, compared as `normalize_key` folds it ("retail customers")."""
        key = normalize_key(name)
        return next((s for s in self.segments if normalize_key(s.name) == key), None)

    def target_list(self, segment: Segment, locale: str) -> tuple[list[str], list[list[Any]], list[dict[str, Any]]]:
        """A segment's members for a mailing tool: (the headers in `locale`, one row per
        member, the same rows keyed by field name for JSON), in the tab's order. A choice (a
        Status) is the cell as the team wrote it (`held`), not the engine's canonical word."""
        spec = TABS[KINDS[segment.kind]]
        fields = TARGET_FIELDS[segment.kind]
        shown = {c.field: c.header_es if locale == "es" else c.header for c in spec.columns}
        rows = []
        for s in self.members.get(segment.name, []):
            held = self.held.get((s.kind, s.id), {})
            rows.append([held.get(f, v) if (v := s.values.get(f)) is not None else v for f in fields])
        return [shown[f] for f in fields], rows, [dict(zip(fields, row)) for row in rows]


def _unnamed(condition: Condition, kind: str, world: World) -> tuple[str, str] | None:
    """`parse_segments`' `unnamed`: a Stage's, a Status's, a Campaign's or an Account's word that
    names none of its values (`unnamed_word`)."""
    def related(relation: str | None) -> str | None:
        return kind if relation is None else relation if relation in RELATIONS[kind] else None
    found = unnamed_word(condition, kind, world, related)
    return None if found is None else (found[3], found[4])


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    crm = ctx.crm
    assert crm.inputs is not None and ctx.results is not None
    definitions = from_config(ctx.config.segments) + _tab_definitions(crm.inputs.segments)
    tables = {kind: crm.tables.get(tab) for kind, tab in KINDS.items()}
    columns_exist = any(t is not None and COLUMN in t.header.computed for t in tables.values())
    summary = owned_title(ctx.snapshot, SEGMENT_SUMMARY)
    found = Segmented()
    ctx.segments = found
    if not definitions and not columns_exist and summary is None:
        _say_undecided(ctx, part)
        return part  # no segments, and nothing of earlier ones to clear
    world = world_of(ctx)
    words = world.references
    found.segments, issues = parse_segments(
        definitions, world.names, world.labels, ctx.locale, world.rates, world.money, world.types,
        lambda condition, kind: _unnamed(condition, kind, world))

    def enum(kind: str, key: str) -> Mapping[str, str] | None:
        return words.get((kind, key)) or world.enum(kind, key)
    part.issues.extend(issues)
    found.refused = _refused(definitions, found.segments, issues)
    by_subject: dict[tuple[str, str], list[str]] = defaultdict(list)
    unread: dict[str, str] | None = None
    ambiguous: dict[str, str] | None = None
    for segment in found.segments:
        unsure: list[Unsure] = []
        subjects = world.subjects.get(segment.kind, [])
        if any(relation == "account" for relation, _column in segment.condition.columns()):
            # A contact whose account has errors would be judged as if the account's cells were
            # empty (`account.Status != Customer` holding for a customer's people): left out and said.
            unread = _unread_accounts(world) if unread is None else unread
            if held_back := [s for s in subjects if s.id in unread]:
                subjects = [s for s in subjects if s.id not in unread]
                found.unread_accounts[segment.name] = [unread[s.id] for s in held_back]
                part.issues.append(_unread_issue(segment, found.unread_accounts[segment.name]))
            # Nor can an account the Account cell does not name alone (two "Acme" rows): judged
            # as none, the people of two customers were listed under `account.Status != Customer`.
            ambiguous = _ambiguous_accounts(ctx, world) if ambiguous is None else ambiguous
            if held_back := [s for s in subjects if s.id in ambiguous]:
                subjects = [s for s in subjects if s.id not in ambiguous]
                found.ambiguous_accounts[segment.name] = [ambiguous[s.id] for s in held_back]
                part.issues.append(_ambiguous_issue(segment, found.ambiguous_accounts[segment.name]))
        found.members[segment.name] = members(segment, subjects, world.names, enum,
                                              world.money if world.rates is not None else None, unsure, world.texts)
        said = _('the condition of segment "{name}"', name=segment.name)
        for verdict in unsure:
            note_doubts(verdict, world, said)
        for s in found.members[segment.name]:
            by_subject[(s.kind, s.id)].append(segment.name)
    kinds = {s.kind for s in found.segments}
    named = _names_written(definitions, found, ctx, summary)
    for kind, table in tables.items():
        # A column the state holds as sheetcrm's stays so: a cell of other words in it is a
        # value typed over sheetcrm's, kept and reported at its cell (`_column_writes`).
        if table is not None and COLUMN in table.header.computed and COLUMN not in table.header.aside \
                and COLUMN not in crm.written.kept(table.spec.key):
            grid = ctx.snapshot.tabs[table.title]
            col, below = table.header.computed[COLUMN], table.header.row
            if not all(_segments_cell(row[col] if col < len(row) else None, named) for row in grid.rows[below:]):
                part.issues.append(disown(table, COLUMN, grid))
        if table is not None:
            part.plan.writes.extend(_column_writes(ctx, table, kind, by_subject, kind in kinds, part))
    found.kpis = _kpis(ctx, world, found)
    found.held = _held(tables, found)
    if definitions or summary is not None:
        base = ctx.config.currency
        body = [[s.name, TABS[KINDS[s.kind]].display_title(ctx.locale), k.members, k.accounts, money(k.pipeline, base),
                 money(k.won_revenue, base), k.churned, fraction(k.churn), s.condition.text]
                for s in found.segments for k in (found.kpis[s.name],)]
        # A blank figure says why below the rows, once per currency (as the Forecast tab does).
        unrated = {id(m.opportunity): m for k in found.kpis.values() for m in k.missing_rates}
        if said := left_out_said(list(unrated.values()), base):
            body += [[], *([line] for _currency, line in said)]
        owned_tab(part.plan, ctx.snapshot, SEGMENT_SUMMARY, ctx.locale, body)
    _say_undecided(ctx, part)
    return part


def _refused(definitions: list[Definition], segments: list[Segment], issues: list[Issue]
             ) -> dict[str, tuple[str, Issue]]:
    """`Segmented.refused`: each named definition no sound segment stands for, its name and the
    first error `parse_segments` reported at its row (or at its config key)."""
    sound = {normalize_key(s.name) for s in segments}
    out: dict[str, tuple[str, Issue]] = {}
    for d in definitions:
        name = " ".join((d.name or "").split())
        key = normalize_key(name)
        if not key or key in sound or key in out:
            continue
        places = {header for _letter, header in d.where.values()}
        said = next((i for i in issues if i.severity == "error" and i.tab == d.tab and i.row == d.row
                     and (d.row is not None or i.header in places)), None)
        if said is not None:
            out[key] = (name, said)
    return out


def _say_undecided(ctx: SyncContext, part: StepResult) -> None:
    """The cells (money, text read as a number or date) the workflows' and the segments'
    conditions could not compare, said once per
    cell (`World.undecided`), here, by the last step that reads the World. A deal's Amount whose
    currency has no rate carries the compute step's `missing_rate` warning already (left out of
    totals): that one line says the conditions too (`conditions.also_undecided`), not a second
    warning at the cell; past the report's cap it was counted, and is not counted again."""
    world = ctx.world
    if world is None or not world.undecided:
        return
    report = ctx.crm.report
    listed = {(i.tab, i.row, i.column): i for i in report.issues if i.code == "missing_rate"}
    for cell, said in zip(list(world.undecided), undecided_issues(world)):
        u = world.undecided[cell]
        money = u.doubt.money
        priced = money is not None and money.unsure is None and u.kind == "opportunity" and u.key == "amount"
        had = listed.get((u.tab, u.row, u.letter)) if priced else None
        if had is not None:
            assert world.rates is not None
            report.amend(had, dataclasses.replace(had, message=also_undecided(had.message, u.conditions,
                                                                              world.rates.base)))
        elif not (priced and report.partial):
            part.issues.append(said)


def _unread_accounts(world: World) -> dict[str, str]:
    """Contact ID -> "CON-0001 of ACC-0002 (row 3)" for each contact whose Account names one
    account row the World holds no record of, its cells having errors (`World.unjudged`)."""
    return {record: _("{id} of {account}", id=record, account=related["account"])
            for (kind, record), related in world.unjudged.items() if kind == "contact" and "account" in related}


def _ambiguous_accounts(ctx: SyncContext, world: World) -> dict[str, str]:
    """Contact ID -> 'CON-0001 ("Acme")' for each contact whose Account cell names more than one
    account (the read's `ambiguous_reference` warning at the cell), so it has no account in the
    World though its cell names one."""
    out: dict[str, str] = {}
    for s in world.subjects.get("contact", []):
        text = s.values.get("account")
        if text and "account" not in s.related and "account" not in world.unjudged.get((s.kind, s.id), {}) \
                and len(ctx.crm.find("accounts", text)) > 1:
            out[s.id] = f"{s.id} ({quoted(text)})"
    return out


def _ambiguous_issue(segment: Segment, listed: list[str]) -> Issue:
    d = segment.definition
    letter, header = d.where.get("conditions", (None, None))
    return Issue("warning", d.tab, d.row, letter, header, d.conditions, "segment_account_unread",
                 ngettext('{n} contact is left out of the segment "{name}" until its Account names one account: '
                          "the condition reads the account, and the contact's Account cell names more than one: "
                          "{listed}.",
                          '{n} contacts are left out of the segment "{name}" until their Account names one account: '
                          "the condition reads the account, and each contact's Account cell names more than one: "
                          "{listed}.", len(listed), name=segment.name, listed=listed_some(listed, 10)),
                 _("Write the ID of the account you mean in the contact's Account cell; the contact then joins the "
                   "segments its account's cells qualify it for."))


def _unread_issue(segment: Segment, listed: list[str]) -> Issue:
    d = segment.definition
    letter, header = d.where.get("conditions", (None, None))
    return Issue("warning", d.tab, d.row, letter, header, d.conditions, "segment_account_unread",
                 ngettext('{n} contact is left out of the segment "{name}" until its account is fixed: the '
                          "condition reads the account, whose row has errors: {listed}.",
                          '{n} contacts are left out of the segment "{name}" until their accounts are fixed: the '
                          "condition reads the account, whose row has errors: {listed}.", len(listed),
                          name=segment.name, listed=listed_some(listed, 10)),
                 _("Correct the account's cells the Validation tab shows; the contact then joins the segments "
                   "its account's cells qualify it for."))



def _held(tables: Mapping[str, Table | None], found: Segmented) -> dict[tuple[str, str], dict[str, str]]:
    """`Segmented.held`: each member's choice cells of the export (`TARGET_FIELDS`) as text the
    sheet holds, so a Spanish team's list says Cliente where its sheet does, never Customer."""
    wanted = {(s.kind, s.id) for group in found.members.values() for s in group}
    out: dict[tuple[str, str], dict[str, str]] = {}
    for kind, table in tables.items():
        if table is None or not any(k == kind for k, _ in wanted):
            continue
        kinds = field_kinds(TABS[KINDS[kind]])
        cols = {f: c for f in TARGET_FIELDS.get(kind, ()) if kinds.get(f) == "enum"
                and (c := table.header.fields.get(f)) is not None}
        for row in table.rows if cols else ():
            if row.id and (kind, row.id) in wanted:
                out[(kind, row.id)] = {f: canonical_text(raw) for f, c in cols.items()
                                       if c < len(row.cells) and isinstance(raw := row.cells[c], str) and raw.strip()}
    return out


def _tab_definitions(table: Table | None) -> list[Definition]:
    if table is None:
        return []
    header = table.header
    where = {f: (column_letter(c + 1), header.labels.get(c)) for f, c in header.fields.items()}
    return [Definition(row.record.name, row.record.record, row.record.conditions, table.title, row.row, where)
            for row in table.rows if row.record is not None]  # a row with bad cells: the read reports them


def _column_writes(ctx: SyncContext, table: Table, kind: str, by_subject: Mapping[tuple[str, str], list[str]],
                   wanted: bool, part: StepResult) -> list[CellWrite]:
    """The Segments column of one tab brought up to date: added when `wanted` (a segment of
    this kind exists) and missing; its cells written where they changed, each keyed to its row,
    but for a value a person typed over sheetcrm's (kept, and reported in `part`:
    `computed_columns.plan_computed`); cleared off rows that are no record any more."""
    header = table.header
    if header.full or "id" not in header.fields:
        return []
    col = header.computed.get(COLUMN)
    writes: list[CellWrite] = []
    if col is None:
        if not wanted or COLUMN not in header.new:
            return []  # no segment of this kind; or no room for the column (`no_room`)
        col = _new_column(table, ctx.plan)
        computed = next(c for c in table.spec.computed if c.key == COLUMN)
        writes.append(CellWrite(table.title, header.row, col + 1, header.computed_title(computed, ctx.locale),
                                expect=((col + 1, None),)))
        header.computed[COLUMN] = col  # the guides and formats steps see it as sheetcrm's
    by_row = {row.row: {COLUMN: ", ".join(by_subject.get((kind, row.id or ""), [])) or None}
              for row in table.rows if row.record is not None}
    # A row whose ID this sync hands out is seen from the next sync, once its ID has landed.
    writes.extend(plan_computed(ctx, table, by_row, part, [(COLUMN, col)], assigned=False))
    planned = {(w.row, w.col) for w in ctx.plan.writes if w.tab == table.title}
    id_col = header.fields["id"]
    for row in table.leftovers:
        have = row.cells[col] if col < len(row.cells) else None
        if not same_value(have, None) and (row.row, col + 1) not in planned:  # computed_writes may clear it
            writes.append(CellWrite(table.title, row.row, col + 1, None,
                                    expect=((id_col + 1, None), (col + 1, have))))
    return writes


def _names_written(definitions: list[Definition], found: Segmented, ctx: SyncContext, summary: str | None
                   ) -> frozenset[str]:
    """Every name a Segments cell sheetcrm wrote may hold: the segments' names now, and those
    of the last sync's Segment Summary (a segment renamed or removed since, still in stale cells)."""
    # A row with no Name yet (a segment being written) names nothing: `parse_segments` reports it.
    out = {normalize_key(d.name) for d in definitions if d.name} | {normalize_key(s.name) for s in found.segments}
    grid = ctx.snapshot.tabs.get(summary) if summary is not None else None
    for row in grid.rows[1:] if grid is not None else ():
        if row and isinstance(row[0], str):
            out.add(normalize_key(row[0]))
    return frozenset(out)


def _segments_cell(value: Any, named: frozenset[str]) -> bool:
    """Whether a Segments cell is empty or segment names joined by ", ", as sheetcrm writes it."""
    if value is None or isinstance(value, str) and not value.strip():
        return True
    return isinstance(value, str) and (normalize_key(value) in named or all(
        normalize_key(part) in named for part in value.split(", ")))


def _new_column(table: Table, plan: Plan) -> int:
    """Where a new Segments column goes (0-based): after the last used column, and after the
    columns the steps before this one add to the same header row this sync (`Header.new`
    reserves a place for every computed column a tab lacks, some of which no step may add)."""
    header = table.header
    start = min(header.new.values())
    claimed = [w.col - 1 for w in plan.writes if w.tab == table.title and w.row == header.row and w.col - 1 >= start]
    return max(claimed) + 1 if claimed else start


def _kpis(ctx: SyncContext, world: World, found: Segmented) -> dict[str, SegmentKpis]:
    """Each segment's KPIs (crm.segments.segment_kpis): the deals in the base currency, who
    reaches which account and deal."""
    crm, results = ctx.crm, ctx.results
    assert crm.inputs is not None and results is not None
    stages = StageTable.of(ctx.config.stages)
    rates = crm.inputs.rates
    accounts = {a.id: a for a in crm.records("accounts") if a.id}
    churned = frozenset(i for i, a in accounts.items() if a.status == "Churned")
    deals: dict[int, Deal] = {}
    by_account: dict[str, set[int]] = defaultdict(set)
    by_id: dict[str, int] = {}
    account_of: dict[str, str | None] = {}
    for o, m in zip(results.opportunities, results.metrics, strict=True):
        amount = to_base(o.amount, o.currency, rates)
        deals[o.row] = Deal(o.row, stages.kind(o.stage), amount, m.forecast_category != "Omitted",
                            MissingRate.of(o, rates) if o.amount is not None and amount is None else None)
        if o.id:
            by_id.setdefault(o.id, o.row)
        if o.account not in account_of:
            rows = crm.find("accounts", o.account)
            account_of[o.account] = rows[0].id if len(rows) == 1 else None  # ambiguous: the read reports it
        if (account := account_of[o.account]) is not None:
            by_account[account].add(o.row)
    converted = crm.inputs.conversions.converted_ids()

    def reach(s: Subject) -> Reach:
        if s.kind == "lead":
            link = converted.get(s.id)
            if link is None:
                return Reach()
            deal = by_id.get(link.opportunity or "")
            return Reach(frozenset({link.account} & accounts.keys()),
                         frozenset({deal}) if deal is not None else frozenset())
        account = s if s.kind == "account" else s.related.get("account")
        if account is None:
            return Reach()
        return Reach(frozenset({account.id}), frozenset(by_account.get(account.id, ())))

    read = not amounts_unread([*crm.tabs_not_found, *unread_columns(crm.tables)])
    return {seg.name: segment_kpis((reach(s) for s in found.members[seg.name]), deals, churned, read)
            for seg in found.segments}

