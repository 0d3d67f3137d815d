"""Workflow emails (docs/workflows.md): what the Outbox's sender needs to build one. Pure.

A workflow's Outbox row (a `send email` or `notify at once` firing) has no Quote; its Version
is "wf-" and a fingerprint of the firing's key (rule|record|event). The journal keys it
exactly like a quote version, so a firing's email goes out once, whatever the sheet says
later (mail/journal.py). The row is sent only when the Workflow Log holds the firing that made
it (Created Record = the row's ID, and the same fingerprint): a row a person typed in the
Outbox, or whose Version was edited, is never sent; nor is a follow-up step's email once its
sequence stopped (the Log holds the stop: the lead converted, the record replied...), whatever
its Status says (`stopped_note`).

The body is the rule's Template (a file of the templates folder, as quotes use: `welcome`
means `welcome.txt.j2`, and `welcome.html.j2` beside it, if any, is the HTML part; a follow-up
step's, the step's `template`, since the rule's Template names the sequence), rendered in
the sandbox with the record's fields as the Subject templates see them (`{{ Name }}`,
`{{ account.Name }}`), stages and statuses in the team's words ("Propuesta" in a Spanish
workbook, "Won" where the team writes Won: `record_words`, as the sync's Subjects and every
other cell sheetcrm writes), plus `rule` (id, name), `event` (the Log's words), `owner` (name,
email) and `locale`. A `notify at once` rule without a Template uses the built-in notify.txt.j2.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from sheetcrm.cells import canonical_text, match_key
from sheetcrm.config import Config
from sheetcrm.crm.follow_ups import enrollment_of, find, marks, reply, step_of
from sheetcrm.crm.spellings import lookup as owner_lookup
from sheetcrm.crm.words import CATEGORY, LEAD_STATUS, STAGE, most_used
from sheetcrm.crm.workflows import KINDS, LogEntry, Subject, template_context, template_files
from sheetcrm.engine import words_of
from sheetcrm.i18n import _, day_said
from sheetcrm.mail.templates import Templates
from sheetcrm.schema import OPTIONAL_TABS, TABS
from sheetcrm.table import Row, field_kinds
from sheetcrm.validate import Crm, row_label

PREFIX = "wf-"  # not for people: the Version of a workflow's Outbox row
NOTIFY_TEMPLATE = "notify"


def version_of(key: str, mark: str = "") -> str:
    """The Outbox Version of the email a firing queues: "wf-" + 12 hex of its key, and for a
    follow-up step's, of the step's `follow_ups.marks` too: the body is the step's template at
    send time, the step found by its number, so the sender must know it is still that step."""
    return PREFIX + hashlib.sha256((f"{key}#{mark}" if mark else key).encode("utf-8")).hexdigest()[:12]


def step_mark(config: Config, event: str, typed: bool = False) -> str:
    """The `follow_ups.marks` of the follow-up step whose Log event is `event`, as sheetcrm.toml
    says it now (`typed`: as marks were made before); "" for no step, or one no longer there."""
    found = step_of(event)
    sequence = config.follow_ups.get(find(config.follow_ups, found[0]) or "") if found else None
    if sequence is None or found is None or found[1] > len(sequence.steps):
        return ""
    return marks([sequence.steps[found[1] - 1]], typed)[0]


def queued_by(entry: LogEntry, version: str) -> bool:
    """Whether an Outbox row of this Version may be the one the Log's `entry` queued: its
    Version, or for a step any workflow Version (which step it was, `origin` checks)."""
    return version == version_of(entry.key) or (step_of(entry.event) is not None and version.startswith(PREFIX))


def is_workflow_row(quote: str, version: str) -> bool:
    """A row a workflow queued: no Quote, and a workflow Version (a row with neither is a
    person's, and never sent)."""
    return not quote and version.startswith(PREFIX)


@dataclass(frozen=True)
class Origin:
    """The firing that queued an Outbox row: its rule, record, the event in words, the template."""

    rule: str
    name: str
    record: str
    event: str
    template: str


def origin(crm: Crm, config: Config, row_id: str, version: str, today: dt.date | None = None,
           sent: Any = None) -> Origin | str:
    """The Workflow Log's firing that made Outbox row `row_id` with this Version, and the
    rule's Template now; or why the row cannot be sent (one line). With `today` and `sent` (the
    Outbox's `sent_ids` and `sent_quotes`), a follow-up step's email is not sent once its record
    replied in the sheet as read now, though no sync has journaled the stop yet."""
    assert crm.inputs is not None
    tabs = crm.inputs.workflows
    # IDs compared as every ID compares (`match_key`): a rule or record whose ID was retyped in
    # another case since the firing ("wf-0001", "opp-0002") is the one that queued the email.
    entry = next((e for e in tabs.log if e.created and match_key(e.created) == match_key(row_id)
                  and e.result == "done" and queued_by(e, version)), None)
    if entry is None:
        return _("the Workflow Log has no firing that queued {row}; a workflow email is sent only as queued",
                 row=row_id)
    name, template, found = "", None, False
    rule_key = match_key(entry.rule)
    for row in tabs.table.rows if tabs.table is not None else ():
        if row.id and match_key(row.id) == rule_key and row.record is not None:
            name, template, found = row.record.name or "", row.record.template, True
            break
    for rule in config.workflows.rules:
        if not found and match_key(rule.id) == rule_key:
            name, template, found = rule.name or "", rule.template, True
    if not found:
        return _("the rule {rule} that queued this email is no longer in the Workflows tab or sheetcrm.toml",
                 rule=entry.rule)
    stop = stop_of(tabs.log, entry)
    if stop is not None:
        return stopped_note(stop)
    step = step_of(entry.event)
    if step is not None:
        # A step's email is its step's template: the rule's Template names the sequence.
        sequence = config.follow_ups.get(find(config.follow_ups, step[0]) or "")
        if sequence is None or step[1] > len(sequence.steps) or not sequence.steps[step[1] - 1].template:
            return _("step {n} of the follow-up {name}, which queued this email, is no longer in sheetcrm.toml "
                     "with a template", n=step[1], name=step[0])
        # Queued before steps were marked: its Version is the key's alone, and the step unchecked.
        # Queued before steps read alike: its step's mark as typed.
        if version not in (version_of(entry.key), version_of(entry.key, step_mark(config, entry.event)),
                           version_of(entry.key, step_mark(config, entry.event, typed=True))):
            return _("step {n} of the follow-up {name} is not the step that queued this email: its day, action, "
                     "subject or template in sheetcrm.toml changed since (or the row's Version was edited), so it "
                     "is not sent. To write to {record} anyway, write a new email", n=step[1], name=step[0],
                     record=entry.record)
        template = sequence.steps[step[1] - 1].template
        if today is not None and (answer := _replied(crm, entry, today, sent)) is not None:
            return _("not sent: {record} replied ({activity} on {day}) after the follow-up {name} began, so its "
                     "emails are not sent. To write to {record} anyway, write a new email", record=entry.record,
                     activity=answer.shown or "?", day=day_said(answer.date), name=step[0])
    return Origin(entry.rule, name, entry.record, entry.said, template or NOTIFY_TEMPLATE)


def _replied(crm: Crm, entry: LogEntry, today: dt.date, sent: Any) -> Any | None:
    """The activity by which the record of step `entry` replied since its enrollment, as the
    sync's `follow_ups.stop_reason` tells a reply (a deal's contact's too), or None."""
    found = enrollment_of(entry.event)
    assert crm.inputs is not None and found is not None
    try:
        enrolled = dt.date.fromisoformat(found[1])
    except ValueError:
        return None
    about = {match_key(entry.record)}
    for row in crm.find("opportunities", entry.record):
        contacts = crm.find("contacts", getattr(row.target, "contact", None) or "") if row.target is not None else []
        if len(contacts) == 1 and contacts[0].id:
            about.add(match_key(contacts[0].id))
    own = frozenset(match_key(e.created) for e in crm.inputs.workflows.log if e.created)
    known = crm.inputs.workflows.state.known.get((entry.rule, entry.record, found[0]))
    return reply(about, [_Keyed(a) for a in crm.records("activities") if a.related], enrolled, today, own, sent,
                 known)


class _Keyed:
    """An activity with its IDs as IDs compare (`match_key`): a Related retyped in another case
    is still the record."""

    def __init__(self, a: Any) -> None:
        self.id, self.related = (match_key(a.id) if a.id else a.id), match_key(a.related)
        self.date, self.type, self.outcome, self.subject, self.shown = a.date, a.type, a.outcome, a.subject, a.id


def stop_of(log: Sequence[LogEntry], entry: LogEntry) -> LogEntry | None:
    """The Log's stop of the follow-up sequence enrollment whose step `entry` is (same rule,
    record, sequence and enrollment day; IDs compared as every ID compares), or None: the
    entry is no step, or its sequence has not stopped."""
    step = enrollment_of(entry.event)
    if step is None or step[2]:
        return None
    rule, record = match_key(entry.rule), match_key(entry.record)
    return next((e for e in log if e.result == "stopped" and enrollment_of(e.event) == (step[0], step[1], True)
                 and match_key(e.rule) == rule and match_key(e.record) == record), None)


def stopped_note(stop: LogEntry) -> str:
    """The Error of an Outbox row a stopped follow-up queued, in the team's language: why it is
    never sent (the stop's Details, as the Workflow Log says them)."""
    found = enrollment_of(stop.event)
    assert found is not None
    return _("not sent: the follow-up {name} of {record} stopped on {day} ({why}), so its emails are not sent. To "
             "write to {record} anyway, write a new email", name=found[0], record=stop.record,
             day=day_said(stop.day) if stop.day else "?", why=stop.details or stop.said or "?")


def record_words(crm: Crm, spelled: Mapping[str, Mapping[str, str]]) -> dict[tuple[str, str], dict[str, str]]:
    """(kind, field) -> canonical value -> the team's word (`World.words`): stages, lead statuses
    and forecast categories as every cell sheetcrm writes them (`spelled`: the engine's
    `words_of(...).spelled`, crm/words.py); any other choice (a task's or an account's Status)
    as the team's own column spells it most."""
    out: dict[tuple[str, str], dict[str, str]] = {
        ("opportunity", "stage"): dict(spelled.get(STAGE, {})), ("lead", "status"): dict(spelled.get(LEAD_STATUS, {})),
        ("opportunity", "category_override"): dict(spelled.get(CATEGORY, {}))}
    for kind, tab in KINDS.items():
        table = crm.tables.get(tab)
        for name, how in field_kinds(TABS.get(tab) or OPTIONAL_TABS[tab]).items():
            col = table.header.fields.get(name) if table else None
            if how != "enum" or (kind, name) in out or table is None or col is None:
                continue
            out[(kind, name)] = most_used((value, canonical_text(raw)) for r in table.rows
                                          if r.record is not None and isinstance(value := getattr(r.record, name), str)
                                          and col < len(r.cells) and isinstance(raw := r.cells[col], str))
    return out


def _labels(tab: str, locale: str) -> dict[str, str]:
    return {c.field: (c.header_es if locale == "es" else c.header) for c in (TABS.get(tab) or OPTIONAL_TABS[tab]).columns}


def field_aliases(crm: Crm, tab: str) -> dict[str, tuple[str, ...]]:
    """Each field of `tab` by its other names for a template (`template_context`, as
    `World.aliases[kind]`): the sheet's own header, and the standard ones in each language."""
    table = crm.tables.get(tab)
    sheet = {f: table.header.labels.get(c) for f, c in table.header.fields.items()} if table is not None else {}
    return {c.field: tuple(n for n in (sheet.get(c.field), c.header, c.header_es) if n)
            for c in (TABS.get(tab) or OPTIONAL_TABS[tab]).columns}


def _find(crm: Crm, record_id: str) -> tuple[str, Row] | None:
    """The record with this ID; else the one record whose ID it names as IDs compare
    (`match_key`: a Log written before the ID was retyped in another case still names it),
    None when none or several do (IDs that differ only in case: the duplicate-ID check's error,
    never guessed)."""
    tables = [(kind, table) for kind, tab in KINDS.items() if (table := crm.tables.get(tab)) is not None]
    for kind, table in tables:
        for row in table.rows:
            if row.id == record_id:
                return kind, row
    key = match_key(record_id)
    hits = [(kind, row) for kind, table in tables for row in table.rows if row.id and match_key(row.id) == key]
    return hits[0] if len(hits) == 1 else None


def _subject(kind: str, row: Row) -> Subject:
    record = row.record
    assert record is not None and row.id
    values: dict[str, Any] = dict(record.model_dump())
    values.update(record.custom)
    return Subject(kind, row.id, values, owner=values.get("owner"))


def email_context(crm: Crm, config: Config, found: Origin, locale: str) -> dict[str, Any] | str:
    """What the template sees (see the module docstring), or why the record cannot be written
    about (it is gone, or its row has errors)."""
    hit = _find(crm, found.record)
    if hit is None:
        return _("record {id} not found", id=found.record)
    kind, row = hit
    if row.record is None:
        return _("{row} has errors; fix them, then the email can be sent", row=row_label(row))
    subject = _subject(kind, row)
    labels: dict[str, dict[str, str]] = {kind: _labels(KINDS[kind], locale)}
    aliases = {kind: field_aliases(crm, KINDS[kind])}
    relations = {"opportunity": (("account", "accounts", "account"), ("contact", "contacts", "contact")),
                 "contact": (("account", "accounts", "account"),),
                 "account": (("contact", "contacts", "primary_contact"),)}.get(kind, ())
    for rel, tab, key in relations:
        text = subject.values.get(key)
        rows = crm.find(tab, text) if text else []
        if len(rows) == 1 and rows[0].record is not None and rows[0].id:
            subject.relate(rel, _subject(rel, rows[0]))
            labels[rel], aliases[rel] = _labels(tab, locale), field_aliases(crm, tab)
    if kind == "task" and (about := _find(crm, str(subject.values.get("related") or ""))) is not None:
        rel_kind, rel_row = about
        if rel_row.record is not None:
            subject.relate(rel_kind, _subject(rel_kind, rel_row))
            labels[rel_kind], aliases[rel_kind] = _labels(KINDS[rel_kind], locale), field_aliases(crm, KINDS[rel_kind])
    owner = subject.owner
    words = record_words(crm, words_of(crm, config).spelled)
    return {**template_context(subject, labels, words, aliases, locale), "locale": locale, "rule": {"id": found.rule, "name": found.name},
            "event": found.event, "owner": {"name": owner, "email": owner_lookup(config.owners, owner)}}


def render_email(templates: Templates, found: Origin, context: dict[str, Any]) -> tuple[str, str | None]:
    """The text part, and the HTML part when the templates folder has one. Raises TemplateError."""
    text_name, html_name = template_files(found.template)
    text = templates.render(text_name, context)
    html = templates.render(html_name, context) if html_name in templates.env.list_templates() else None
    return text, html
