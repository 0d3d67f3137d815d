"""What a quote template sees: the records around an opportunity as plain dicts. Pure.

    account, contact, opportunity   every column of the record, plus `custom` (the team's own columns)
    owner                           {"name", "email"} (email when the Owner cell is an address)
    quote                           {"number", "date", "version", "currency"}
    lines, totals, taxes            Decimals; format them with the `money`, `percent` and `qty` filters
    custom                          the opportunity's own columns
    locale, currency                what the filters format with

Every key is always present (None when the sheet has nothing), so a template written with
StrictUndefined fails only on a real typo.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from email.headerregistry import Address
from typing import Any

from sheetcrm.mail.message import mailbox
from sheetcrm.mail.quotes import QuoteResult
from sheetcrm.records import Account, Contact, Opportunity, Record
from sheetcrm.table import Row
from sheetcrm.validate import Crm


def record_dict(record: Record | None, model: type[Record]) -> dict[str, Any]:
    fields = [name for name, info in model.model_fields.items() if info.title is not None]
    out: dict[str, Any] = {name: getattr(record, name, None) if record else None for name in fields}
    out["custom"] = dict(record.custom) if record else {}
    return out


def _one(crm: Crm, tab: str, key: str | None) -> Row | None:
    rows = crm.find(tab, key) if key else []
    return rows[0] if len(rows) == 1 else None


def find_account(crm: Crm, key: str | None) -> Account | None:
    """The account that `key` names (its ID or name, as `validate.match_key` compares them).
    An account with a bad cell is still found, that cell empty: it is only what a quote shows."""
    row = _one(crm, "accounts", key)
    return row.target if row else None  # type: ignore[return-value]


def find_contact(crm: Crm, key: str | None) -> Contact | None:
    """A contact by ID, full name or email: the three ways the Contact column may name one;
    like find_account, a contact with a bad cell is found with that cell empty."""
    row = _one(crm, "contacts", key)
    return row.target if row else None  # type: ignore[return-value]


def find_opportunity(crm: Crm, key: str) -> Opportunity | None:
    """The opportunity `key` names, only when its row has no errors: a quote is priced from it.
    `Crm.find` also finds one with errors, to say so."""
    row = _one(crm, "opportunities", key)
    return row.record if row else None  # type: ignore[return-value]


def recipient(contact: Contact | None) -> Address | None:
    """The contact as one mailbox, "Ana Pérez <ana@example.com>"; None without an email.
    Its name is only ever the display name (quoted when it looks like addresses); HeaderError
    when the name holds a line break or control character, or the email is not deliverable."""
    if contact is None or not contact.email:
        return None
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return mailbox(name, contact.email)


@dataclass(frozen=True)
class QuoteHeader:
    number: str
    date: dt.date


def quote_context(crm: Crm, result: QuoteResult, header: QuoteHeader, locale: str) -> dict[str, Any]:
    quote = result.quote
    assert quote is not None, "only a priced quote is rendered"
    opp = quote.opportunity
    owner = opp.owner
    account = record_dict(find_account(crm, opp.account), Account)
    account["name"] = account["name"] or opp.account  # an account typed by name only still has one
    return {
        "locale": locale,
        "currency": quote.currency,
        "quote": {"number": header.number, "date": header.date, "version": quote.version, "currency": quote.currency},
        "opportunity": record_dict(opp, Opportunity),
        "account": account,
        "contact": record_dict(find_contact(crm, opp.contact), Contact),
        "owner": {"name": owner, "email": owner if owner and "@" in owner else None},
        "lines": [asdict(line) for line in quote.lines],
        "totals": {k: v for k, v in asdict(quote.totals).items() if k != "taxes"},
        "taxes": [asdict(band) for band in quote.totals.taxes],
        "custom": dict(opp.custom),
    }
