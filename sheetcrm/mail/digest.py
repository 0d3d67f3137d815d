"""The owners' morning digest: each owner's overdue tasks, rotting deals and best new leads.

Planning a digest is pure (`owner_digests`, from one sync's results); sending reuses the
quote delivery (`SmtpSender`). An owner gets a digest only when the config maps their name to
an address (`[owners]`), and at most one per day: the days already sent are remembered by the
caller (`sheetcrm run` keeps them beside its lock file), so a restart at 08:01 sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Callable, ContextManager, Iterable

from babel.dates import format_date

from sheetcrm.config import Config
from sheetcrm.engine import Results
from sheetcrm.i18n import in_locale
from sheetcrm.mail.message import check_addresses, check_header
from sheetcrm.mail.outbox import Transport
from sheetcrm.mail.templates import Templates
from sheetcrm.validate import Crm

BEST_LEADS = 5
NEW_LEAD_STATUSES = {"New", "Contacted"}


@dataclass(frozen=True)
class Digest:
    owner: str
    to: str
    subject: str
    text: str

    def message(self, sender: str, now: dt.datetime, message_id: str) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = check_addresses("From", sender)
        msg["To"] = check_addresses("To", self.to)
        msg["Subject"] = check_header("Subject", self.subject)
        msg["Message-ID"] = check_header("Message-ID", message_id)
        msg["Date"] = format_datetime(now)
        msg.set_content(self.text)
        return msg


def owner_digests(crm: Crm, results: Results, config: Config, templates: Templates) -> list[Digest]:
    as_of = results.as_of
    overdue: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in crm.records("tasks"):
        if task.owner and task.status != "Done" and task.due < as_of:
            overdue[task.owner].append({"id": task.id, "subject": task.subject, "due": task.due,
                                        "related": task.related})
    rotting: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for opp, m in zip(results.opportunities, results.metrics):
        if opp.owner and m.rotting:
            rotting[opp.owner].append({"id": opp.id, "name": opp.name, "stage": opp.stage,
                                       "days_in_stage": m.days_in_stage, "last_activity": m.last_activity})
    leads: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lead in crm.records("leads"):
        score = results.score(lead)
        if lead.owner and score and lead.status in NEW_LEAD_STATUSES:
            name = " ".join(p for p in (lead.first_name, lead.last_name) if p) or lead.email or ""
            leads[lead.owner].append({"id": lead.id, "name": name, "company": lead.company, "score": score.score,
                                      "grade": score.grade, "why": score.why})
    day = format_date(as_of, "medium", locale=config.locale)
    subject = in_locale(config.locale, "Your sheetcrm digest – {date}", date=day)
    out = []
    for owner, address in sorted(config.owners.items()):
        best = sorted(leads[owner], key=lambda lead: (-lead["score"], lead["id"]))[:BEST_LEADS]
        text = templates.render("digest.txt.j2", {
            "owner": owner, "as_of": as_of, "locale": config.locale, "overdue": sorted(overdue[owner],
                                                                                      key=lambda t: t["due"]),
            "rotting": rotting[owner], "leads": best})
        out.append(Digest(owner, address, subject, text))
    return out


def send_digests(digests: Iterable[Digest], sender: str, transport: Callable[[], ContextManager[Transport]],
                 now: dt.datetime, token: Callable[[], str], domain: str) -> dict[str, str]:
    """Send each digest; returns owner -> outcome kind ("sent", "transient", ...)."""
    outcomes: dict[str, str] = {}
    with transport() as smtp:
        for d in digests:
            outcome = smtp.send(d.message(sender, now, f"<{token()}@{domain}>"))
            outcomes[d.owner] = outcome.kind
    return outcomes
