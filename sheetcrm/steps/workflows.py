"""Workflows: the team's rules (the Workflows tab, `[[workflows.rules]]`) run over the read, each
firing exactly once (crm/workflows.py decides; this step plans). docs/workflows.md.

After `duplicates` and before `validation`, so a bad rule is on the Validation tab of the same
sync. What a firing does lands in the same plan (one write) as its Workflow Log row, and the
Log row `requires` the action's write: a concurrent edit that drops the action's row drops its
Log row too, and the next sync, seeing no key, fires again. The new rows take the next IDs of
the sequences (`ctx.marks`) and go below every row an earlier step appends to the same tab.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from sheetcrm import names
from sheetcrm.cells import add_days, canonical_text, enum_choices, match_key, normalize_key
from sheetcrm.crm.accounts import Accounts
from sheetcrm.crm.conditions import References
from sheetcrm.crm.conversion import is_converted
from sheetcrm.crm.follow_ups import enrollment_of, step_of
from sheetcrm.crm.stages import StageTable, is_open_task, is_plan
from sheetcrm.crm.workflows import (KINDS, NOT_A_CELL, Columns, Firing, LogEntry, Outcome, RecordValues, RuleRow, Subject, World,
                                    _issue as rule_issue, action_word, result_word, run as run_rules)
from sheetcrm.i18n import N_, _, in_locale, listed
from sheetcrm.crm.spellings import key as owner_key, lookup as owner_lookup
from sheetcrm.mail.digest import notified
from sheetcrm.ids import assign_ids, id_pattern
from sheetcrm.mail.outbox import read_outbox, sent_quotes, status_label
from sheetcrm.mail.workflow import (field_aliases, queued_by, record_words, step_mark, stop_of, stopped_note,
                                   version_of)
from sheetcrm.plan import append_writes, cell_value, owned_tab
from sheetcrm.crm.cases import CLOSED as CLOSED_CASES
from sheetcrm.records import CASE_PRIORITIES, Record
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import CASES, OPTIONAL_TABS, TABS, WORKFLOW_LOG, WORKFLOW_STATE, WORKFLOWS, budget_header
from sheetcrm.steps.computed_columns import plan_computed
from sheetcrm.steps.guides import checkboxes
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.table import Row, Table, field_kinds
from sheetcrm.validate import parse_context, row_label
from sheetcrm.workbook import CellValue, CellWrite, cell_key
from sheetcrm.workflow_tabs import LOG_FIELDS

Anchor = tuple[str, int, int]
_PREFIX = {"tasks": "TSK", "activities": "ACT"}
# The words written in new rows, as records.py reads them in each language.
_OPEN = {"en": "Open", "es": "Abierta"}  # not for people: a Task's Status value
_NOTE = {"en": "Note", "es": "Nota"}  # not for people: an Activity's Type value


@dataclass
class Fired:
    """What the workflows did this sync: the core's outcome, each firing's new record ID, and
    firings per rule as the Workflow Log will hold them (this sync's included)."""

    outcome: Outcome
    created: dict[int, str] = field(default_factory=dict)       # id(firing) -> the ID its action made
    counts: dict[str, int] = field(default_factory=dict)        # rule ID -> "done" firings, all time
    names: dict[str, str] = field(default_factory=dict)         # rule ID -> its Name

    def to_json(self) -> list[dict[str, Any]]:
        """Each firing of this sync, in order: what fired, on what, why, and what it did (the
        action's values unrounded, dates as ISO text)."""
        return [{"rule": f.rule.id, "name": f.rule.row.name, "record": f.subject.id, "kind": f.rule.kind,
                 "when": f.rule.row.when, "if": f.rule.row.condition or "", "event": f.event, "said": f.said,
                 "day": f.day.isoformat(), "action": f.rule.action, "result": f.result, "message": f.message,
                 "key": f.key, "created": self.created.get(id(f)),
                 "values": {k: v.isoformat() if isinstance(v, dt.date) else str(v) if v is not None else None
                            for k, v in f.values.items()}}
                for f in self.outcome.firings]


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    crm = ctx.crm
    assert crm.inputs is not None and ctx.results is not None
    tabs = crm.inputs.workflows
    table = tabs.table
    if table is None and not ctx.config.workflows.rules:
        return part
    rows: list[RuleRow] = []
    if table is not None and "id" in table.header.fields:
        part.plan.writes.extend(assign_ids(table, ctx.marks, WORKFLOWS.id_column.header))  # type: ignore[union-attr]
    if table is not None:
        rows.extend(_tab_rows(table))
    rows.extend(_config_rows(ctx))
    world = world_of(ctx)
    outcome = run_rules(rows, world, tabs.state, tabs.log, ctx.config.workflows.max_per_record, ctx.locale)
    part.issues.extend(outcome.issues)
    if tabs.lost is not None:
        part.issues.append(_lost(ctx, tabs.lost))
    # The rule an ID names is its first row's (`parse_rules`): a later duplicate lends it no name.
    fired = Fired(outcome, names={r.id: r.name or "" for r in reversed(rows) if r.id})
    anchors = _Writer(ctx, part, fired).actions()
    _withdraw_stopped(ctx, part, outcome)
    part.issues.extend(_unreached(ctx, rows, outcome))
    _log(ctx, part, fired, anchors)
    _state(ctx, part, outcome, fired, anchors)
    if table is not None:
        last: dict[str, dt.date] = {}
        for e in outcome.log:  # rule IDs spelt as the Workflows tab spells them now
            if e.result == "done" and e.day is not None and e.day > last.get(e.rule, dt.date.min):
                last[e.rule] = e.day
        for f in outcome.firings:
            if f.result == "done":
                last[f.rule.id] = ctx.as_of
        # A row that repeats an earlier row's ID shows nothing: the firings are the first row's.
        owner: dict[str, int] = {}
        for r in table.rows:
            if r.id:
                owner.setdefault(match_key(r.id), r.row)
        by_row = {r.row: {"firings": fired.counts.get(r.id or "") or None, "last_fired": last.get(r.id or "")}
                  if owner[match_key(r.id)] == r.row else {"firings": None, "last_fired": None}
                  for r in table.rows if r.id}
        part.plan.writes.extend(plan_computed(ctx, table, by_row, part))
    ctx.workflows = fired
    return part


_LOST = {
    "log": (N_("The {tab} tab is missing, but the {other} tab is here: sheetcrm starts a new {tab}. What "
               "the {other} shows as already seen or evaluated does not fire again; follow-ups that were "
               "running stop, and workflow emails still in the Outbox are not sent."),
            N_("Restore the {tab} tab from the spreadsheet's version history to keep its record of firings.")),
    "state": (N_("The {tab} tab is missing, but the {other} tab is here: sheetcrm rebuilt what it could "
                 "from the {other}. Nothing in the {other} fires again; changes made since the previous "
                 "sync are not seen as changes, and follow-ups that were running stop."),
              N_("Restore the {tab} tab from the spreadsheet's version history to keep what it remembered.")),
}


def _lost(ctx: SyncContext, lost: str) -> Issue:
    """A warning naming the Workflow Log or Workflow State tab a person deleted, and what
    sheetcrm does about it (workflow_tabs.py: which tab, and what was rebuilt)."""
    tab, other = (WORKFLOW_LOG, WORKFLOW_STATE) if lost == "log" else (WORKFLOW_STATE, WORKFLOW_LOG)
    title = tab.display_title(ctx.locale)
    names_ = {"tab": title, "other": other.display_title(ctx.locale)}
    message, hint = _LOST[lost]
    return Issue("warning", title, None, None, None, None, f"workflow_{lost}_missing", _(message, **names_),
                 _(hint, **names_))


def _tab_rows(table: Table) -> list[RuleRow]:
    header = table.header
    where = {f: (column_letter(c + 1), header.labels.get(c)) for f, c in header.fields.items()}
    out = []
    for row in table.rows:
        w = row.record
        if w is None:  # its bad cells are reported by the read; it keeps its ID (`RuleRow.broken`)
            if row.id:
                out.append(RuleRow(id=row.id, name=None, active=False, record=None, when=None, condition=None,
                                   then=None, tab=table.title, row=row.row, where=where, broken=True))
            continue
        out.append(RuleRow(
            id=row.id, name=w.name, active=bool(w.active), record=w.record, when=w.when, condition=w.condition,
            then=w.then, subject=w.subject, due_days=w.due_days, template=w.template,
            assign_to=tuple(p.strip() for p in (w.assign_to or "").split(",") if p.strip()), cap=w.cap,
            auto_approve=bool(w.auto_approve), tab=table.title, row=row.row, where=where, ready=not row.assigned))
    return out


def _config_rules_where() -> dict[str, tuple[str | None, str | None]]:
    keys = {"id": "id", "record": "record", "when": "when", "condition": "if", "then": "then", "subject": "subject",
            "assign_to": "assign_to", "template": "template", "auto_approve": "auto_approve"}
    return {f: (None, k) for f, k in keys.items()}


def _config_rows(ctx: SyncContext) -> list[RuleRow]:
    where = _config_rules_where()
    return [RuleRow(id=r.id, name=r.name, active=r.active, record=r.record, when=r.when, condition=r.condition,
                    then=r.then, subject=r.subject, due_days=r.due_days, template=r.template,
                    assign_to=tuple(r.assign_to), cap=r.cap, auto_approve=r.auto_approve, tab="sheetcrm.toml",
                    row=index, where=where)
            for index, r in enumerate(ctx.config.workflows.rules, 1)]


# -- what the rules see --------------------------------------------------------------------------

_COMPUTED = {  # kind -> Subject key -> (tab of names.COMPUTED, its key) for the header people read
    "opportunity": {"probability_pct": "probability_pct", "weighted_amount": "weighted_amount",
                    "days_in_stage": "days_in_stage", "last_activity": "last_activity", "rotting": "rotting"},
    "lead": {"score": "score", "grade": "grade"},
    "case": {"age": "age", "sla_due": "sla_due", "sla_breached": "sla_breached", "first_response": "first_response"},
}
_LAST_ACTIVITY = names.COMPUTED["opportunities"]["last_activity"]


def world_of(ctx: SyncContext) -> World:
    """The sync's World, built on first use (after the compute step: it reads the results) and
    then the same for every later step. It stays true because every step that changes the
    records (merge, forms, ids, conversion) runs before compute, and no step after it changes
    what the World reads (tests/test_steps_world.py)."""
    if ctx.world is None:
        ctx.world = build_world(ctx)
    return ctx.world


def reference_words(ctx: SyncContext) -> dict[tuple[str, str], Mapping[str, str]]:
    """`World.references`: (kind, field) -> normalize_key(a word) -> the value a cell naming it
    holds, for the columns that name another record, so that a workflow's If and a segment
    compare them as references, not as text. A lead's Campaign, with a Campaigns tab: the read
    writes the cell as its campaign's name (its ID when two campaigns share the name:
    `validate._form`), so `Campaign = CMP-0001` held for no lead of that campaign and
    `Campaign != CMP-0001` for every one. An Account (a contact's, a deal's, a case's), whose
    cell keeps the ID or the name as typed (`References`): `Account = Initech` left out every
    record whose cell says ACC-0001, or "initech " . A name two records share names itself: the
    cells that say it (warned as ambiguous)."""
    out: dict[tuple[str, str], Mapping[str, str]] = {}
    accounts = ctx.crm.tables.get("accounts")
    if accounts is not None:
        names: dict[str, list[tuple[str, str]]] = defaultdict(list)
        refs = References()
        for r in accounts.rows:
            if r.id:
                refs.setdefault(normalize_key(r.id), r.id)
            if r.target is not None and getattr(r.target, "name", None):
                names[normalize_key(r.target.name)].append((r.id or r.target.name, r.target.name))
        for key, named in names.items():
            refs.setdefault(key, named[0][0] if len(named) == 1 else named[0][1])  # a shared name names itself
        for kind in ("contact", "opportunity", "case"):
            out[(kind, "account")] = refs
    table = ctx.crm.tables.get("campaigns")
    if table is None:
        return out
    rows = [(r.id, r.target.name) for r in table.rows if r.target is not None and getattr(r.target, "name", None)]
    shared: dict[str, int] = defaultdict(int)
    for _id, name in rows:
        shared[normalize_key(name)] += 1
    words: dict[str, str] = {}
    for row_id, name in rows:
        alone = shared[normalize_key(name)] == 1
        words.setdefault(normalize_key(name), name)
        if row_id:
            words.setdefault(normalize_key(row_id), name if alone else row_id)
    out[("lead", "campaign")] = words
    return out


def build_world(ctx: SyncContext) -> World:
    """The records of every kind a rule may act on, with their computed values and relations."""
    crm, results, config, locale = ctx.crm, ctx.results, ctx.config, ctx.locale
    assert results is not None
    stages = StageTable.of(config.stages)
    last: dict[str, dt.date] = {}  # record ID -> the day of its last activity
    activities, forms = [], []
    for a in crm.records("activities"):  # one pass over the biggest tab (20k rows at 10k leads)
        if a.related:
            day = a.date
            # A future-dated activity is a plan, not a last activity (crm.stages.is_plan).
            if not is_plan(day, ctx.as_of) and ((seen := last.get(a.related)) is None or day > seen):
                last[a.related] = day
            activities.append(a)
            if a.type == "Form Submitted" and a.id:  # not for people: read as
                forms.append((a.related, a.id, day))
    # An account's Last Activity is the Accounts Overview's: its latest activity about the account
    # or one of its contacts, deals or cases (crm.accounts.Accounts.related), not only those that
    # name the account itself, which few teams log.
    last_of_account: dict[str, dt.date] = {}
    related = Accounts(crm.records("accounts")).related(crm.records("contacts"), crm.records("opportunities"),
                                                        crm.records("cases"))
    for record_id, account in related.items():
        if (day := last.get(record_id)) is not None and day > last_of_account.get(account, dt.date.min):
            last_of_account[account] = day
    w = World(as_of=ctx.as_of, subjects={}, names={}, labels={},
              internal=frozenset(v.strip().casefold() for v in config.owners.values()),
              owner_email=dict(config.owners), stages=tuple(s.name for s in config.stages),
              team_domains=frozenset(config.workflows.team_domains),
              sequences=config.follow_ups, templates=ctx.templates, activities=activities,
              intake=frozenset(ctx.intake), locale=ctx.locale)
    read_as = parse_context(config)
    # Each kind's Status by its own words: merged, a word two tabs give different values
    # ("Pendiente": a task's Open, a case's Pending) named the first tab's, so `Estado = Pendiente`
    # never held for a pending case. A lead's are the config's `[lead_statuses]` too, as the read
    # takes them: `Status = "Working - Contacted"` holds for the lead whose cell says so.
    w.kind_enums = {kind: {"status": enum_choices(_choices(spec))}
                    for kind, spec in (("account", TABS["accounts"]), ("task", TABS["tasks"]), ("case", CASES))}
    w.kind_enums["lead"] = {"status": dict(read_as.lead_statuses) or enum_choices(_choices(TABS["leads"]))}
    w.enums = {"stage": dict(read_as.stages), "priority": enum_choices(CASE_PRIORITIES)}
    w.words = _team_words(ctx)
    w.references = reference_words(ctx)
    w.rates = crm.inputs.rates if crm.inputs is not None else None
    cases = results.cases.by_row if results.cases is not None else {}
    metrics = {o.id: m for o, m in zip(results.opportunities, results.metrics) if o.id}
    by_id: dict[str, Subject] = {}
    for kind, tab in KINDS.items():
        spec, table = TABS.get(tab) or OPTIONAL_TABS[tab], crm.tables.get(tab)
        kinds = field_kinds(spec)
        names_, labels, dates = {}, {}, set()
        also = field_aliases(crm, tab)
        for c in spec.columns:
            for n in (c.header, c.header_es, *c.aliases):
                names_.setdefault(normalize_key(n), c.field)
            labels[c.field] = c.header_es if locale == "es" else c.header
            if kinds.get(c.field) == "date":
                dates.add(c.field)
        for key, computed in _COMPUTED.get(kind, {}).items():
            en, es = names.computed_name(tab, computed)
            names_[normalize_key(en)], names_[normalize_key(es)] = key, key
            labels[key] = es if locale == "es" else en
            also[key] = (en, es)
        if kind != "opportunity":  # a deal's own is computed; others count their activities
            names_[normalize_key(_LAST_ACTIVITY)] = names_[normalize_key(in_locale("es", _LAST_ACTIVITY))] = "last_activity"
            labels["last_activity"] = in_locale(locale, _LAST_ACTIVITY)
            also["last_activity"] = (in_locale("en", _LAST_ACTIVITY), in_locale("es", _LAST_ACTIVITY))
        dates.add("last_activity")
        typed = {normalize_key(n): c.type for n, c in config.tab(tab).custom_fields.items()}
        subjects = []
        computed = _computed_values(kind, ctx, stages, metrics, cases, last_of_account if kind == "account" else last)
        money, currencies = _money_columns(ctx, spec, table, kinds, typed)
        w.money[kind] = money
        if table is not None:
            header = table.header
            where = {f: (column_letter(c + 1), header.labels.get(c)) for f, c in header.fields.items()}
            where.update({name: (column_letter(c + 1), name) for name, c in header.custom.items()})
            w.places[kind] = (table.title, where)
        pending, unread = [], []
        if table is None:
            w.absent.add(kind)
        for row in table.rows if table else ():
            record = row.record
            if record is None and row.id and not row.appended:
                unread.append(row.id)  # its bad cells keep it from the rules, not from the sheet
            if record is None or not row.id or row.appended:
                continue  # a row a step appends this sync is a record of the next read, made after it
            values = record_values(record)
            more: dict[str, Any] = {}
            is_open = computed(row, record, more)
            for key, currency_of_row in currencies.items():
                more[key] = currency_of_row(row, record)
            values.compute(more)
            # Positional: keywords double the cost of the 27k Subjects at 10k leads.
            subject = Subject(kind, row.id, values, values.get("owner"), is_open, values.get("email"))
            subject.row = row.row
            if row.assigned:  # its ID is handed out by this sync: no rule sees it before the next,
                pending.append(subject)  # but it was there when the sync read the sheet
                continue
            subjects.append(subject)
            by_id[row.id] = subject
        types = {f: k for f, k in kinds.items() if k in _COMPARED_TYPES}
        types["last_activity"] = "date"
        texts: dict[str, tuple[str, bool]] = {}
        w.pending[kind] = pending
        if unread:
            w.unread[kind] = unread
        for header_text in (table.header.custom if table else {}):
            names_.setdefault(normalize_key(header_text), header_text)
            labels[header_text] = header_text
            # The type the read gave the column: the config's, or its cells' (columns.infer_kind).
            column_type = table.header.types.get(header_text, "text") if table else "text"
            if column_type in _COMPARED_TYPES:
                types.setdefault(header_text, column_type)
            elif column_type == "text":
                texts[header_text] = (table.header.locale, table.header.locale_set)  # type: ignore[union-attr]
            if column_type == "date":
                dates.add(header_text)
        w.subjects[kind], w.names[kind], w.labels[kind], w.dates[kind] = subjects, names_, labels, frozenset(dates)
        w.types[kind], w.texts[kind] = types, texts
        w.aliases[kind] = also
    _relate(ctx, w, by_id)
    w.forms = forms
    w.tabs = {tab: _columns(ctx, tab) for tab in ("tasks", "activities", *KINDS.values())}
    w.fingerprint = _fingerprints(ctx)
    w.cell = _typed_cells(ctx, w)
    outbox = read_outbox(ctx.snapshot, locale)
    w.sent_ids = frozenset(m for r in outbox.rows if (m := r.own_message_id))
    w.sent_quotes = frozenset((match_key(r.text("opportunity")), canonical_text(r.text("subject")))
                              for r in outbox.rows if r.own_message_id and r.text("quote"))
    for outbox_id, opp_text, sent in sent_quotes(outbox, ctx.config):
        found = crm.find("opportunities", opp_text)
        opp = by_id.get(found[0].id or "") if len(found) == 1 else None
        if opp is not None:
            contact = opp.related.get("contact")
            w.quotes.append((outbox_id, opp.id, contact.id if contact else None, sent))
    return w


# The column types a condition checks its values against (conditions.parse_condition's `types`).
_COMPARED_TYPES = frozenset({"number", "integer", "money", "percent", "date", "datetime", "bool"})


def _columns(ctx: SyncContext, tab: str) -> Columns:
    """What an action that writes to `tab` finds there (crm/workflows._waits)."""
    spec, table = TABS.get(tab) or OPTIONAL_TABS[tab], ctx.crm.tables.get(tab)
    other = "en" if ctx.locale == "es" else "es"
    headers = {c.field: (c.header_es if ctx.locale == "es" else c.header, c.header if other == "en" else c.header_es)
               for c in spec.columns}
    required = frozenset(c.field for c in spec.columns if c.required)
    if table is None:
        return Columns(spec.display_title(ctx.locale), None, required, headers=headers)
    return Columns(table.title, frozenset(table.header.fields), required, table.header.full, headers)


def _fingerprints(ctx: SyncContext) -> Callable[[Subject], str]:
    """`World.fingerprint`: a digest of a record's own cells as read (its tab, then every CRM and
    custom column but the ID and sheetcrm's computed ones), so the row is known again when its ID
    fill was dropped and it gets another ID, wherever a sort moved it."""
    rows: dict[str, dict[int, Row]] = {}

    def fingerprint(subject: Subject) -> str:
        tab = KINDS[subject.kind]
        table = ctx.crm.tables[tab]
        if tab not in rows:
            rows[tab] = {r.row: r for r in table.rows}
        row = rows[tab][subject.row]  # type: ignore[index]
        header = table.header
        id_col = header.fields.get("id")
        own = sorted({*header.fields.values(), *header.custom.values()} - {id_col})
        cells = tuple(cell_key(row.cells[c]) if c < len(row.cells) else None for c in own)
        return hashlib.blake2b(repr((tab, cells)).encode(), digest_size=8).hexdigest()
    return fingerprint


def _typed_cells(ctx: SyncContext, world: World) -> Callable[[Subject, str], Any]:
    """`World.cell`: the cell behind a record's field as the person typed it, for a field
    whose value the read makes of the whole column (its convention, a percentage's scale, a
    team's column's type); NOT_A_CELL for a stage or status (read cell by cell) and for what no
    cell holds (a score, a computed column)."""
    rows: dict[str, dict[int, Row]] = {}

    def cell(subject: Subject, key: str) -> Any:
        table = ctx.crm.tables.get(KINDS[subject.kind])
        if table is None or world.enum(subject.kind, key) is not None:
            return NOT_A_CELL
        column = table.header.fields.get(key, table.header.custom.get(key))
        if column is None:
            return NOT_A_CELL
        if table.title not in rows:
            rows[table.title] = {r.row: r for r in table.rows}
        row = rows[table.title].get(subject.row)  # type: ignore[arg-type]
        if row is None:
            return NOT_A_CELL
        return row.cells[column] if column < len(row.cells) else None
    return cell


_CUSTOM_CURRENCY = "\x00currency "  # + a header: a value key no header can take (a header holds no NUL)


def _money_columns(ctx: SyncContext, spec: Any, table: Table | None, kinds: dict[str, str], typed: dict[str, str]
                   ) -> tuple[dict[str, str | None], dict[str, Callable[[Row, Any], Any]]]:
    """`World.money` of one kind: its record fields read as money (the Currency field holds
    their currency: table.py carries there the one an amount's cell names) and the team's own
    columns that hold money (typed "money" in the config, or a Budget/Presupuesto column the
    config does not type otherwise, as steps/conversion.py reads one), with, for each of the
    latter, how to find a row's currency (`_custom_currency`) under its value key."""
    own_currency = "currency" if "currency" in spec.model.model_fields else None
    money: dict[str, str | None] = {f: own_currency for f, k in kinds.items() if k == "money"}
    currencies: dict[str, Callable[[Row, Any], Any]] = {}
    for name in (table.header.custom if table is not None else ()):
        budget = budget_header(name)[0]
        kind = typed.get(normalize_key(name))
        if kind == "money" or budget and kind in (None, "number", "money", "integer") \
                or kind is None and table.header.types.get(name) == "money":  # amounts by their cells
            key = money[name] = _CUSTOM_CURRENCY + name
            currencies[key] = _custom_currency(ctx.config.currency, name)
    return money, currencies


def _custom_currency(base: str, name: str) -> Callable[[Row, Any], Any]:
    """A row's currency for the team's money column `name`, as (ISO code or None for the base
    currency, the symbol when it names several currencies and none can be told): the one the
    read found its cell to name (`Record.priced`: in its text, "8000 EUR", by its number format,
    else in the header's brackets, "Budget (EUR)"), else the record's Currency, else the base
    currency."""

    def currency(row: Row, record: Any) -> tuple[str | None, str | None]:
        priced = (record.priced or {}).get(name)
        if priced is None or priced.currency is None and priced.symbol is None:
            return getattr(record, "currency", None), None
        code, symbol = priced.currency, priced.symbol
        return (None, symbol) if code is None or symbol is not None and code != base else (code, None)
    return currency


def _team_words(ctx: SyncContext) -> dict[tuple[str, str], dict[str, str]]:
    """`World.words`: the engine's words for stages, lead statuses and forecast categories, and
    every other choice as the team spells it (`mail.workflow.record_words`)."""
    assert ctx.results is not None
    return record_words(ctx.crm, ctx.results.words.spelled)


def _choices(spec: Any) -> dict[str, list[str]]:
    status = spec.model.model_fields["status"]
    validator = next(m for m in status.metadata if hasattr(getattr(m, "func", None), "choices"))
    # Every word of each value (Cliente for Customer), so `Estado = Cliente` holds for a Customer.
    return dict(validator.func.aliases) or {c: [] for c in validator.func.choices}


_EXCLUDED: dict[type, frozenset[str]] = {}  # record class -> its fields `model_dump` leaves out


def record_values(record: Record) -> RecordValues:
    """`record.model_dump()` then its custom columns (header text -> value), as a mapping to
    which the caller adds what it computes (`RecordValues.compute`). Records are flat and frozen
    (records.py: scalars only, no serializers), so their `__dict__` without the excluded fields
    (row, custom) is what `model_dump` returns, in the same order, at a tenth of its cost (27k
    records at 10k leads), and is shared, not copied (`RecordValues`)."""
    cls = type(record)
    excluded = _EXCLUDED.get(cls)
    if excluded is None:
        excluded = _EXCLUDED[cls] = frozenset(n for n, f in cls.model_fields.items() if f.exclude)
    return RecordValues(record.__dict__, excluded, record.custom)


def _computed_values(kind: str, ctx: SyncContext, stages: StageTable, metrics: dict[str, Any],
                     cases: dict[int, Any], last: dict[str, dt.date]) -> Callable[[Row, Any, dict[str, Any]], bool]:
    """What a record of `kind` shows a rule beyond its cells: `fill(row, record, values)` adds
    them to `values` in place (a deal's metrics and stage kind, a lead's score, grade and
    whether it converted, a case's SLA; every kind but a deal the day of its last activity,
    `last`: record ID -> that day) and says whether the record is open (what an owner's Cap
    counts: an open deal, a lead neither converted (`crm.conversion.is_converted`: sheetcrm's
    conversion leaves the Status as it was) nor unqualified, an open task or case)."""
    results, crm = ctx.results, ctx.crm
    assert results is not None and crm.inputs is not None

    if kind == "opportunity":
        def fill(row: Row, record: Any, values: dict[str, Any]) -> bool:
            if (m := metrics.get(row.id)) is not None:  # type: ignore[arg-type]
                values.update(probability_pct=m.probability, weighted_amount=m.weighted_amount,
                              days_in_stage=m.days_in_stage, last_activity=m.last_activity, rotting=m.rotting,
                              rotting_start=_rotting_start(stages, record.stage, m))
            stage_kind = values["stage_kind"] = stages.kind(record.stage)
            return stage_kind == "open"
    elif kind == "lead":
        links = crm.inputs.conversions.links

        def fill(row: Row, record: Any, values: dict[str, Any]) -> bool:
            score = results.score(record)
            converted = is_converted(record.status, links.get(row.row))
            values.update(score=score.score if score else None, grade=score.grade if score else None,
                          converted=converted)
            values["last_activity"] = last.get(row.id)  # type: ignore[arg-type]
            return not converted and record.status != "Unqualified"  # not for people: a canonical status
    elif kind == "case":
        def fill(row: Row, record: Any, values: dict[str, Any]) -> bool:
            if (c := cases.get(row.row)) is not None:
                values.update(age=c.age_days, sla_due=c.sla_due, sla_breached=c.breached,
                              first_response=c.first_response)
            values["last_activity"] = last.get(row.id)  # type: ignore[arg-type]
            return record.status not in CLOSED_CASES
    else:
        is_task = kind == "task"

        def fill(row: Row, record: Any, values: dict[str, Any]) -> bool:
            values["last_activity"] = last.get(row.id)  # type: ignore[arg-type]
            return is_open_task(record) if is_task else True
    return fill


def _open_cell(table: Table | None, locale: str) -> str | bool:
    """What a new task's Status cell holds: an empty box (FALSE) where the team ticks tasks off
    in a column of checkboxes (`guides.checkboxes`), so the word Open never lands in a checkbox;
    else Open in the team's language."""
    return False if table is not None and checkboxes(table, "status") else _OPEN[locale]


def _rotting_start(stages: StageTable, stage_name: str, m: Any) -> dt.date | None:
    """The first day the deal counts as rotting (crm/stages.py: more than rotting_days after its
    last sign of life)."""
    stage = stages.get(stage_name)
    alive = max((d for d in (m.stage_entered, m.last_activity) if d is not None), default=None)
    if stage is None or stage.rotting_days is None or alive is None:
        return None
    return add_days(alive, stage.rotting_days + 1)


def _relate(ctx: SyncContext, w: World, by_id: dict[str, Subject]) -> None:
    """Each subject's related records (`Subject.related`): a deal's and a case's account and
    contact, a contact's account, an account's primary contact, as their cells name them (one
    row, or none); a task's record and that record's relations. A cell naming one row the World
    holds no record of (its cells have errors) goes to `World.unjudged` instead: read as
    nothing, `account.Status != Customer` would hold for a customer's deal. A related record
    whose ID this sync hands out is read as it is (its cells are sound)."""
    crm = ctx.crm
    readable = {**by_id, **{s.id: s for pending in w.pending.values() for s in pending}}

    def finder(tab: str) -> Callable[[str | None], Subject | str | None]:
        known: dict[str, Subject | str | None] = {}  # many deals name one account: each text looked up once

        def one(text: str | None) -> Subject | str | None:
            """The record `text` names; the row's label when that row is no record; None."""
            if not text:
                return None
            if text not in known:
                found = crm.find(tab, text)
                target = readable.get(found[0].id or "") if len(found) == 1 else None
                known[text] = row_label(found[0]) if len(found) == 1 and target is None else target
            return known[text]
        return one

    def tie(s: Subject, relation: str, target: Subject | str | None) -> None:
        if isinstance(target, Subject):
            s.relate(relation, target)
        elif target is not None:
            w.unjudged.setdefault((s.kind, s.id), {})[relation] = target

    account, contact = finder("accounts"), finder("contacts")
    for kind in ("opportunity", "case"):
        for s in w.subjects.get(kind, []):
            tie(s, "account", account(s.values.get("account")))
            tie(s, "contact", contact(s.values.get("contact")))
    for s in w.subjects.get("contact", []):
        tie(s, "account", account(s.values.get("account")))
    for s in w.subjects.get("account", []):
        # An account's email goes to its Primary Contact (crm/workflows._recipient).
        tie(s, "contact", contact(s.values.get("primary_contact")))
    unread_kind = {record: kind for kind, ids in w.unread.items() for record in ids}
    for s in w.subjects.get("task", []):
        about = s.values.get("related") or ""
        target = readable.get(about)
        if target is not None:
            s.relate(target.kind, target)
            for relation, other in target.related.items():
                s.relate(relation, other, replace=False)
            for relation, label in w.unjudged.get((target.kind, target.id), {}).items():
                if relation not in s.related:
                    w.unjudged.setdefault((s.kind, s.id), {}).setdefault(relation, label)
        elif (kind := unread_kind.get(about)) is not None and len(rows := crm.find(KINDS[kind], about)) == 1:
            w.unjudged.setdefault((s.kind, s.id), {})[kind] = row_label(rows[0])


# -- the writes ----------------------------------------------------------------------------------

class _Writer:
    """Each firing's action as writes: new Tasks, Activities and Outbox rows with the next IDs,
    an Owner cell; returns id(firing) -> the write its Log row requires."""

    def __init__(self, ctx: SyncContext, part: StepResult, fired: Fired) -> None:
        self.ctx, self.part, self.fired = ctx, part, fired
        self.next_row: dict[str, int | None] = {}

    def actions(self) -> dict[int, Anchor]:
        anchors: dict[int, Anchor] = {}
        # A sequence's steps taken in one sync land in order or not at all: each step's action
        # `requires` the one before it, so a dropped step drops the steps after it (the State's
        # count requires the last), and the next sync takes them again, in order.
        last_step: dict[tuple[str, str, str], Anchor] = {}
        for f in self.fired.outcome.firings:
            if f.result != "done":
                continue
            anchor = getattr(self, f.rule.action)(f)
            if anchor is None:
                continue
            anchors[id(f)] = anchor
            if (step := step_of(f.event)) is not None:
                sequence = (f.rule.id, f.subject.id, step[0])
                if sequence in last_step:
                    self._tie(anchor, last_step[sequence])
                last_step[sequence] = anchor
        return anchors

    def _tie(self, anchor: Anchor, earlier: Anchor) -> None:
        """Make the write at `anchor` (an action's first write, which requires nothing) require `earlier`."""
        writes = self.part.plan.writes
        at = next(i for i, w in enumerate(writes) if w.key == anchor)
        writes[at] = dataclasses.replace(writes[at], requires=earlier)

    def _start(self, table: Table) -> int | None:
        """Below every row the plan already appends to the tab (forms, conversion)."""
        if table.title in self.next_row:
            return self.next_row[table.title]
        grid = self.ctx.snapshot.tabs[table.title]
        planned = max((w.row for w in (*self.ctx.plan.writes, *self.part.plan.writes) if w.tab == table.title),
                      default=0)
        return planned + 1 if planned >= len(grid.rows) else None

    def _append(self, f: Firing, tab: str, values: dict[str, Any]) -> Anchor | None:
        table = self.ctx.crm.tables.get(tab)
        if table is None or "id" not in table.header.fields or table.header.full:
            self._skip(f, _('There is no "{tab}" tab.', tab=(TABS.get(tab) or OPTIONAL_TABS[tab]).display_title(self.ctx.locale)))
            return None
        prefix = _PREFIX[tab]
        pattern = id_pattern(prefix)
        highest = max((int(m.group(1)) for r in table.rows if r.id and (m := pattern.match(r.id))), default=0)
        number = self.ctx.marks[prefix] = max(highest, self.ctx.marks.get(prefix, 0)) + 1
        new_id = f"{prefix}-{number:04d}"
        row = {"id": new_id, **{k: cell_value(v) for k, v in values.items() if v is not None}}
        writes, self.next_row[table.title] = append_writes(table, self.ctx.snapshot.tabs[table.title], [row],
                                                           start=self._start(table))
        self.part.plan.writes.extend(writes)
        self.fired.created[id(f)] = new_id
        return writes[0].key

    def _skip(self, f: Firing, message: str) -> None:
        f.result, f.message = "skipped", message

    def create_task(self, f: Firing) -> Anchor | None:
        table = self.ctx.crm.tables.get("tasks")
        return self._append(f, "tasks", {**f.values, "status": _open_cell(table, self.ctx.locale)})

    def log_activity(self, f: Firing) -> Anchor | None:
        return self._append(f, "activities", {**f.values, "type": _NOTE[self.ctx.locale]})

    def assign_owner(self, f: Firing) -> Anchor | None:
        table = self.ctx.crm.tables[KINDS[f.rule.kind]]
        header = table.header
        row = next((r for r in table.rows if r.id == f.subject.id), None)
        if row is None or "owner" not in header.fields:
            self._skip(f, _("The {tab} tab has no Owner column.", tab=table.title))
            return None
        col, id_col = header.fields["owner"], header.fields["id"]
        # Lands only while the row still holds the record's ID and its Owner is still empty.
        w = CellWrite(table.title, row.row, col + 1, f.values["owner"],
                      expect=((id_col + 1, _raw_id(row)), (col + 1, None)))
        self.part.plan.writes.append(w)
        return w.key

    def send_email(self, f: Firing) -> Anchor | None:
        outbox = read_outbox(self.ctx.snapshot, self.ctx.locale)
        title = outbox.title
        if outbox.title not in self.next_row:
            outbox.prepare(self.part.plan)
            planned = max((w.row for w in (*self.ctx.plan.writes, *self.part.plan.writes) if w.tab == title
                           and w.row > 1), default=0)
            self.next_row[title] = max(outbox.next_row, planned + 1)
        row_no = self.next_row[title]
        self.next_row[title] = row_no + 1  # type: ignore[operator]
        pattern = id_pattern("OUT")
        highest = max((int(m.group(1)) for r in outbox.rows if (m := pattern.match(r.text("id")))), default=0)
        number = self.ctx.marks["OUT"] = max(highest, self.ctx.marks.get("OUT", 0)) + 1
        new_id = f"OUT-{number:04d}"
        # A Draft for a person to approve, unless the rule auto-approves mail to the team itself
        # (the core decided: crm/workflows.py). The Version ties the row to this firing: the
        # sender sends it only as the Workflow Log shows it queued, and the journal once.
        status = "Approved" if f.auto_approve else "Draft"
        values = {"id": new_id, "created": self.ctx.as_of.isoformat(), "opportunity": f.subject.id,
                  "to": f.values["to"], "subject": f.values["subject"],
                  "status": status_label(status, self.ctx.locale),
                  "version": version_of(f.key, step_mark(self.ctx.config, f.event)), "attempts": 0}
        expect = tuple((outbox.columns[k], None) for k in values)
        writes = [CellWrite(title, row_no, outbox.columns[k], v, expect=expect) for k, v in values.items()]
        anchor = writes[0].key
        writes[1:] = [dataclasses.replace(w, requires=anchor) for w in writes[1:]]
        self.part.plan.writes.extend(writes)
        self.fired.created[id(f)] = new_id
        return anchor

    def notify(self, f: Firing) -> Anchor | None:
        return None  # the Log row is the notification: the owner's next digest lists it (mail/digest.py)

    def notify_now(self, f: Firing) -> Anchor | None:
        return self.send_email(f)  # an Outbox row to the owner, approved (internal)

    def start_sequence(self, f: Firing) -> Anchor | None:
        return None  # the enrollment is the Log row and the State's; its steps are firings of their own


def _unreached(ctx: SyncContext, rows: list[RuleRow], outcome: Outcome) -> list[Issue]:
    """A warning at each rule's Then for the notify firings of the Workflow Log (this sync's
    with them) that no digest can tell while they stand: no one to tell, or someone with no
    address under [owners]; one per rule and person, at every sync until the Owner, the Assign
    To or the address is there. Said only at the sync that fired them, it was gone from the
    Validation tab at the next, the notification still undelivered."""
    if not ctx.config.owners:
        return []  # no digest in use
    new = [LogEntry(ctx.as_of, f.rule.id, f.subject.id, f.event, "done", f.key, details=f.message, action="notify")
           for f in outcome.firings if f.result == "done" and f.rule.action == "notify"]
    at = {}
    for r in rows:
        if r.id:
            at.setdefault(match_key(r.id), r)
    groups: dict[tuple[str, str, str], tuple[RuleRow, str, list[str]]] = {}
    for entry, owner, read in notified(ctx.crm, ctx.config, [*outcome.log, *new]):
        row = at.get(match_key(entry.rule))
        if row is None or not read and not owner:
            continue  # a deleted rule has no cell to say it at; a record not read has no Owner to give
        if not owner:
            code, who = "workflow_notify_nobody", ""
        elif owner_lookup(ctx.config.owners, owner) is None:
            code, who = "workflow_notify_unaddressed", owner
        else:
            continue
        _row, _who, records = groups.setdefault((row.id or "", code, owner_key(who)), (row, who, []))
        if entry.record not in records:
            records.append(entry.record)
    return [rule_issue(row, "then", row.then, code, severity="warning", rule=row.id, owner=who,
                       record=listed(records, 5))
            for (_rule, code, _k), (row, who, records) in groups.items()]


def _withdraw_stopped(ctx: SyncContext, part: StepResult, outcome: Outcome) -> None:
    """The emails a follow-up queued and no one sent yet (Draft, Approved) when it stops this
    sync: Failed, their Error saying why, as the sender fails every row it must not send
    (mail/outbox.py), each guarded by the row's ID and Status as read, so a send claiming it
    meanwhile wins. The sender refuses them anyway (mail/workflow.py, `origin`), also one set
    back to Approved, or queued by an earlier version."""
    stops = [f for f in outcome.firings if f.result == "stopped" and (e := enrollment_of(f.event)) and e[2]]
    if not stops:
        return
    outbox = read_outbox(ctx.snapshot, ctx.locale)
    log = ctx.crm.inputs.workflows.log  # type: ignore[union-attr]  # as read: a version is of the key as written
    for f in stops:
        stop = LogEntry(ctx.as_of, f.rule.id, f.subject.id, f.event, "stopped", f.key, details=f.message)
        for e in log:
            if e.result != "done" or not e.created or stop_of((stop,), e) is None:
                continue
            for row in outbox.rows:
                if (match_key(row.text("id")) != match_key(e.created) or not queued_by(e, row.text("version"))
                        or row.status not in ("Draft", "Approved")):
                    continue
                expect = row.guard(outbox.columns, "status")
                values = {"status": status_label("Failed", ctx.locale), "error": stopped_note(stop)}
                part.plan.writes.extend(CellWrite(outbox.title, row.row, outbox.columns[k], v, expect=expect)
                                        for k, v in values.items())


def _raw_id(row: Row) -> CellValue:
    return row.raw_id if row.raw_id is not None else row.id


def _log(ctx: SyncContext, part: StepResult, fired: Fired, anchors: dict[int, Anchor]) -> None:
    tabs = ctx.crm.inputs.workflows  # type: ignore[union-attr]
    counted: set[str] = set()
    for e in fired.outcome.log:  # rule IDs spelt as the Workflows tab spells them now
        # A Log row a person copied is one firing still: its key says so.
        if e.result == "done" and e.key not in counted:
            counted.add(e.key)
            fired.counts[e.rule] = fired.counts.get(e.rule, 0) + 1
    new_rows: list[tuple[list[Any], Anchor | None]] = []
    for f in fired.outcome.firings:
        if f.result == "waiting":
            continue  # not journaled: it fires, and is logged, once its action can be carried out
        if f.result == "done":
            fired.counts[f.rule.id] = fired.counts.get(f.rule.id, 0) + 1
        # Event: what happened to the record; Details: what the action did, or why it did not;
        # Chain: the rules that led here, also for a stop (the loop it broke).
        cells = {"time": ctx.as_of, "rule": f.rule.id, "rule_name": f.rule.row.name or "", "record": f.subject.id,
                 "event": f.said, "action": action_word(f.rule.action, ctx.locale),
                 "result": result_word(f.result, ctx.locale), "details": f.message, "key": f.key,
                 "created": fired.created.get(id(f)) or "", "chain": " → ".join(f.chain) if f.result != "skipped" else ""}
        new_rows.append(([cells[name] for name in LOG_FIELDS], anchors.get(id(f))))
    if not new_rows and not tabs.log_rows and not fired.outcome.state.armed and tabs.lost != "log":
        return  # no rule runs: no Log yet. Otherwise it comes with the State, header alone at first
    body = [*tabs.log_rows, *(r for r, _a in new_rows)]
    first = len(part.plan.writes)
    owned_tab(part.plan, ctx.snapshot, WORKFLOW_LOG, ctx.locale, body)
    ties = {len(tabs.log_rows) + i + 2: a for i, (_r, a) in enumerate(new_rows) if a is not None}
    part.plan.writes[first:] = [dataclasses.replace(w, requires=ties[w.row]) if w.row in ties else w
                                for w in part.plan.writes[first:]]


def _state(ctx: SyncContext, part: StepResult, outcome: Outcome, fired: Fired, anchors: dict[int, Anchor]) -> None:
    """The Workflow State tab as it stands after this sync. A watched value whose edge fired an
    action here `requires` that action's write: if the action is dropped (a row typed where it
    was going), so is the new value, and the next sync sees the same edge again."""
    s = outcome.state
    body: list[list[Any]] = []
    body += [["armed", k, "", v] for k, v in sorted(s.armed.items())]
    body += [["checked", k, "", v] for k, v in sorted(s.checked.items())]
    # As text: the rows below shift as the State grows, and a number landing on a cell an
    # earlier sync wrote a date to keeps its date format on .xlsx (it would read back as a time).
    body += [["next", k, "", str(v)] for k, v in sorted(s.pointers.items())]
    body += [["watch", kind, key, v] for (kind, key), v in sorted(s.watched.items())]
    # In the order the State had them, new ones last: a person sorting a records tab (or a
    # conversion adding records of an earlier kind) moves no row, so it rewrites no cell.
    tabs = ctx.crm.inputs.workflows  # type: ignore[union-attr]
    before = {at: n for n, at in enumerate(tabs.state.seen)}
    body += [["seen", rid, key, v] for (rid, key), v in
             sorted(s.seen.items(), key=lambda kv: before.get(kv[0], len(before)))]
    typed_before = {at: n for n, at in enumerate(tabs.state.cells)}
    body += [["seen cell", rid, key, v] for (rid, key), v in  # not for people: a State kind
             sorted(s.cells.items(), key=lambda kv: typed_before.get(kv[0], len(typed_before)))]
    for (rule, record, name), (day, owner) in sorted(s.enrolled.items()):
        body += [["sequence", f"{rule}|{record}", name, day],
                 ["sequence owner", f"{rule}|{record}", name, owner or ""]]  # not for people: State kinds
        if (rule, record, name) in s.known:  # as text, the row there even with none
            body.append(["sequence before", f"{rule}|{record}", name,  # not for people: a State kind
                         " ".join(s.known[(rule, record, name)])])
    # Not for people: State kinds. A waiting firing by its key, its event in words, its day.
    body += [["waiting", f"{rule}|{record}|{event}", said, day]
             for (rule, record, event), (day, said) in sorted(s.waiting.items())]
    body += [["unjudged", f"{rule}|{record}|{event}", said, day]  # not for people: a State kind
             for (rule, record, event), (day, said) in sorted(s.unjudged.items())]
    body += [["pending", record, mark, day] for record, (mark, day) in sorted(s.pending.items())]
    body += [["intake", act, "", day] for act, day in s.intake.items()]  # not for people: a State kind
    # Last, so that one appearing moves no other row (its write may be dropped with its step's
    # action, below); as text, as `next`.
    for (rule, record, name), n in sorted(s.stepped.items()):
        if n and (rule, record, name) in s.enrolled:
            body.append(["sequence step", f"{rule}|{record}", name, str(n)])  # not for people: a State kind
            if taken := s.shapes.get((rule, record, name), [])[:n]:
                body.append(["sequence shape", f"{rule}|{record}", name, " ".join(taken)])  # not for people: ditto
    if not body and tabs.state == type(s)() and tabs.lost != "state":
        return
    ties: dict[tuple[str, str], Anchor] = {}
    steps: dict[tuple[str, str], Anchor] = {}  # ("rule|record", sequence) -> its last step's action this sync
    for f in outcome.firings:
        anchor = anchors.get(id(f))
        if anchor is not None:
            for key in (f.rule.trigger.field, "*"):
                if key:
                    ties.setdefault((f.subject.id, key), anchor)
            if (step := step_of(f.event)) is not None:
                steps[(f"{f.rule.id}|{f.subject.id}", step[0])] = anchor
    first = len(part.plan.writes)
    owned_tab(part.plan, ctx.snapshot, WORKFLOW_STATE, ctx.locale, body)
    if not ties:
        return  # no action this sync: no State row waits for one (20k rows to look at, at 10k leads)
    # A step counted as taken lands with the step's action, or the next sync offers it again.
    held = {"seen": ties, "seen cell": ties,  # not for people: State kinds
            "sequence step": steps, "sequence shape": steps}  # not for people: State kinds
    by_row = {index + 2: held[r[0]][(r[1], r[2])] for index, r in enumerate(body)
              if r[0] in held and (r[1], r[2]) in held[r[0]]}
    part.plan.writes[first:] = [dataclasses.replace(w, requires=by_row[w.row]) if w.row in by_row else w
                                for w in part.plan.writes[first:]]
