"""The owners' morning digest: each owner's overdue tasks, rotting deals, best new leads, and
the workflow events a `notify` rule gave them.

Planning a digest is pure (`owner_digests`, from one sync's results); sending reuses the
quote delivery (`SmtpSender`). An owner gets a digest only when the config maps their name to
an address (`[owners]`), and at most one per day: the days already sent are remembered by the
caller (`sheetcrm run` keeps them beside its lock file), so a restart at 08:01 sends nothing twice.
Each send is journaled in the Outbox's journal (`send_digests(..., journal=...)`, mail/journal.py),
so a crash between the server's 250 and that record sends nothing twice either.

Workflow events: each `notify` firing of the Workflow Log (Result done) goes to one owner (the
rule's first Assign To, a follow-up step's own `assign_to` as its Log row's Details names it, else the record's owner) in the
first digest sent to them after it, and never again. The digest knows what it already said by the events' Log keys, kept in its own
small journal beside the lock (`EventJournal`); a key is added only once the digest carrying
it was accepted by the server, so a digest that failed says its events again the next time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Callable, Collection, ContextManager, Iterable

from babel.dates import format_date

from sheetcrm.cells import canonical_text, match_key
from sheetcrm.config import Config
from sheetcrm.crm.follow_ups import find, step_of
from sheetcrm.crm.spellings import key as owner_key
from sheetcrm.crm.stages import is_open_task
from sheetcrm.crm.words import STAGE
from sheetcrm.crm.workflows import ACTION_LABELS, KINDS, LogEntry, is_account_owner
from sheetcrm.engine import Results
from sheetcrm.i18n import in_locale
from sheetcrm.lock import lock_dir, workbook_key
from sheetcrm.mail.journal import Entry, Journal, digest_version
from sheetcrm.mail.message import HeaderError, check_addresses, check_header
from sheetcrm.mail.outbox import Transport
from sheetcrm.mail.templates import Templates
from sheetcrm.validate import Crm
from sheetcrm.workbook import Workbook

BEST_LEADS = 5
NEW_LEAD_STATUSES = {"New", "Contacted"}


@dataclass(frozen=True)
class Digest:
    owner: str
    to: str
    subject: str
    text: str
    events: tuple[str, ...] = ()   # the Workflow Log keys of the events it tells: journaled once sent

    def message(self, sender: str, now: dt.datetime, message_id: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = check_addresses("From", sender)
        msg["To"] = check_addresses("To", self.to)
        msg["Subject"] = check_header("Subject", self.subject)
        msg["Message-ID"] = check_header("Message-ID", message_id)
        msg["Date"] = format_datetime(now)
        msg.set_content(self.text)
        return msg


def workflow_events(crm: Crm, config: Config, told: Collection[str] = ()) -> dict[str, list[dict[str, Any]]]:
    """owner (as names compare: `spellings.key`, "ana" for "Ana ") -> the `notify` firings of the Workflow Log not yet in `told` (Log keys), oldest
    first: {"key", "day", "rule", "name", "record", "event"}. The owner is the rule's first
    Assign To (a follow-up step's: the step's `assign_to` in sheetcrm.toml), else the record's
    Owner now; an event with neither goes to nobody."""
    assert crm.inputs is not None
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    entries = [e for e in crm.inputs.workflows.log if e.key not in told]
    for entry, owner, _read in notified(crm, config, entries):
        if owner:
            out[owner_key(owner)].append({"key": entry.key, "day": entry.day, "rule": entry.rule, "name": entry.name,
                                          "record": entry.record, "event": entry.said})
    return out


def notified(crm: Crm, config: Config, entries: Iterable[LogEntry]) -> list[tuple[LogEntry, str | None, bool]]:
    """(entry, whom its digest tells or None, whether its record is read) of each `notify`
    firing done among `entries` (Workflow Log rows): one answer for the digest, which tells
    them, and the sync, which says at the rule which of them no digest can tell."""
    assert crm.inputs is not None
    notes = [e for e in entries if e.result == "done" and e.action == "notify"]
    if not notes:
        return []
    tabs = crm.inputs.workflows
    # Rule and record IDs by `match_key`, as the Log's rows name them when they were written: a
    # deal (or rule) whose ID was retyped since ("opp-0002" over OPP-0002) keeps its events.
    assign: dict[str, str] = {}
    for row in tabs.table.rows if tabs.table is not None else ():
        if row.id and row.record is not None and row.record.assign_to:
            assign.setdefault(match_key(row.id), row.record.assign_to.split(",")[0].strip())
    for rule in config.workflows.rules:
        if rule.assign_to:
            assign.setdefault(match_key(rule.id), rule.assign_to[0])
    owners: dict[str, str | None] = {}
    account_owners: dict[str, str | None] = {}  # record -> its account's Owner (an Assign To of "account owner")
    for tab in KINDS.values():
        for r in crm.tables[tab].rows if tab in crm.tables else ():
            if r.id and r.target is not None:
                owners.setdefault(match_key(r.id), getattr(r.target, "owner", None))
                account = r.target if tab == "accounts" else None
                if tab != "accounts" and (text := getattr(r.target, "account", None)):
                    found = crm.find("accounts", text)
                    account = found[0].target if len(found) == 1 else None
                if account is not None:
                    account_owners.setdefault(match_key(r.id), getattr(account, "owner", None))
    out = []
    for entry in notes:
        # A follow-up step's notify goes to the step's Assign To: the rule's names nobody for it.
        step = step_of(entry.event)
        record = match_key(entry.record)
        owner: str | None
        if step and entry.details:
            # Whom the step told, as its sync named them (Details): the step's number may name
            # another step of sheetcrm.toml now.
            owner = entry.details
        else:
            # A step's Log row written before Details named the person: its step by number.
            named = _step_assignee(config, *step) if step else assign.get(match_key(entry.rule))
            owner = account_owners.get(record) if named and is_account_owner(named) else named
        out.append((entry, owner or owners.get(record), record in owners))
    return out


def _step_assignee(config: Config, name: str, n: int) -> str | None:
    """The first Assign To of step `n` (from 1) of the follow-up sequence `name`, as sheetcrm.toml
    says it now; None when it names none (the record's owner is told) or the step is gone."""
    sequence = config.follow_ups.get(find(config.follow_ups, name) or "")
    steps = sequence.steps if sequence is not None else []
    return steps[n - 1].assign_to[0] if n <= len(steps) and steps[n - 1].assign_to else None


def _work(crm: Crm, results: Results) -> tuple[dict[str, list[dict[str, Any]]], ...]:
    """Each owner's (as names compare) overdue tasks, rotting deals and new leads with a score."""
    as_of = results.as_of
    overdue: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in crm.records("tasks"):
        if task.owner and is_open_task(task) and task.due < as_of:
            overdue[owner_key(task.owner)].append({"owner": canonical_text(task.owner), "id": task.id,
                                                   "subject": task.subject, "due": task.due, "related": task.related})
    rotting: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for opp, m in zip(results.opportunities, results.metrics):
        if opp.owner and m.rotting:
            # The stage as the team's cells say it (crm.words): the record holds the engine's
            # key, "Proposal", which a Spanish digest printed as is.
            rotting[owner_key(opp.owner)].append({"owner": canonical_text(opp.owner), "id": opp.id,
                                                  "name": opp.name, "stage": results.words(STAGE, opp.stage),
                                                  "days_in_stage": m.days_in_stage, "last_activity": m.last_activity})
    leads: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lead in crm.records("leads"):
        score = results.score(lead)
        if lead.owner and score and lead.status in NEW_LEAD_STATUSES:
            name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email or ""
            leads[owner_key(lead.owner)].append({"owner": canonical_text(lead.owner), "id": lead.id, "name": name,
                                                 "company": lead.company, "score": score.score,
                                                 "grade": score.grade, "why": score.why})
    return overdue, rotting, leads


def unaddressed(crm: Crm, results: Results, config: Config) -> list[str]:
    """The owners with overdue tasks, rotting deals or best new leads whom no [owners] name
    matches (as names compare), as their cells spell them: their work reaches no digest, so
    the digest job says so ("Chloe" for [owners] Chloé) rather than drop it without a word."""
    addressed = {owner_key(o) for o in config.owners}
    spelled: dict[str, str] = {}
    for bucket in _work(crm, results):
        for k, items in bucket.items():
            if items and k not in addressed:
                spelled.setdefault(k, items[0]["owner"])
    return sorted(spelled.values())


def owner_digests(crm: Crm, results: Results, config: Config, templates: Templates,
                  told: Collection[str] = ()) -> list[Digest]:
    """One digest per owner under [owners]; `told`: the Workflow Log keys earlier digests
    already carried (`EventJournal.told`)."""
    as_of = results.as_of
    overdue, rotting, leads = _work(crm, results)
    day = format_date(as_of, "medium", locale=config.locale)
    subject = in_locale(config.locale, "Your sheetcrm digest – {date}", date=day)
    events = workflow_events(crm, config, told)
    out = []
    for owner, address in sorted(config.owners.items()):
        mine_key = owner_key(owner)  # "ana " in a cell is [owners] Ana, as round-robin counts her
        best = sorted(leads[mine_key], key=lambda lead: (-lead["score"], lead["id"]))[:BEST_LEADS]
        mine = events.get(mine_key, [])
        text = templates.render("digest.txt.j2", {
            "owner": owner, "as_of": as_of, "locale": config.locale, "overdue": sorted(overdue[mine_key],
                                                                                      key=lambda t: t["due"]),
            "rotting": rotting[mine_key], "leads": best, "events": mine})
        out.append(Digest(owner, address, subject, text, tuple(e["key"] for e in mine)))
    return out


class EventJournal:
    """The Workflow Log keys the digests already told, in a small JSON file beside the
    workbook's lock (a list; replaced whole with os.replace, so a crash leaves the old list)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def beside_lock(cls, book: Workbook) -> "EventJournal":
        digest = hashlib.sha256(workbook_key(book).encode()).hexdigest()[:24]
        return cls(lock_dir() / f"{digest}.digest-events.json")

    def told(self) -> frozenset[str]:
        try:
            return frozenset(json.loads(self.path.read_text()))
        except (OSError, ValueError, TypeError):
            return frozenset()

    def add(self, keys: Iterable[str]) -> None:
        keys = sorted(self.told() | set(keys))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(keys, ensure_ascii=False))
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class Sent:
    """What became of one digest: `kind` as `SmtpSender`'s outcomes ("sent", "transient",
    "permanent", "setup", "unknown"), or "held" when the journal already has this owner's
    digest of the day (sent, or an unknown outcome) and it was not sent again; `reply` the
    server's answer or why (in the current language); `entry` the journal's, when held."""

    kind: str
    reply: str = ""
    entry: Entry | None = None


def send_digests(digests: Iterable[Digest], sender: str, transport: Callable[[], ContextManager[Transport]],
                 now: dt.datetime, token: Callable[[], str], domain: str, journal: Journal | None = None,
                 day: dt.date | None = None) -> dict[str, Sent]:
    """Send each digest; returns owner -> `Sent`. Never raises for one digest: an owner's
    address no message can go to ([owners] takes "zoé@…", which SMTP without SMTPUTF8 cannot
    carry) is that owner's "permanent" failure, with the reason. Raised, it lost the outcomes
    of the digests already sent, so they went out again at every retry.

    With a `journal` (and the team's `day`), each digest is sent as the Outbox sends a quote:
    its intent, with the events it carries, on disk before MAIL FROM, its outcome after the
    server's answer; a digest the journal holds for that owner and day is not sent again.
    Raises JournalError when the journal cannot be written (nothing more is sent)."""
    outcomes: dict[str, Sent] = {}
    with transport() as smtp:
        for d in digests:
            mid = f"<{token()}@{domain}>"
            try:
                message = d.message(sender, now, mid)
            except HeaderError as e:
                outcomes[d.owner] = Sent("permanent", str(e))
                continue
            if journal is not None and day is not None:
                held = journal.begin(mid, digest_version(owner_key(d.owner), day), d.owner, "", now, carries=d.events)
                if held is not None:
                    outcomes[d.owner] = Sent("held", entry=held)
                    continue
            outcome = smtp.send(message)
            if journal is not None and day is not None:
                # An unknown outcome keeps its intent (never sent again), now told by this run.
                journal.finish(mid, "sent" if outcome.kind == "sent" else "intent" if outcome.kind == "unknown"
                               else "not_sent", now, outcome.reply)
            outcomes[d.owner] = Sent(outcome.kind, outcome.reply)
    return outcomes
