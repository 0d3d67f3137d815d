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
import hashlib
import json
from dataclasses import asdict, dataclass, replace
from email.headerregistry import Address
from typing import Any

from sheetcrm.cells import match_key
from sheetcrm.i18n import pgettext
from sheetcrm.mail.message import mailbox
from sheetcrm.mail.quotes import Quote, QuoteResult, version_id
from sheetcrm.mail.templates import Templates
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
    return mailbox(name, contact.email, pgettext("email", "To"))  # named as the Outbox's column, "Para" in Spanish


@dataclass(frozen=True)
class QuoteHeader:
    number: str
    date: dt.date


# What a quote shows beyond what it charges: who it is for and from, and the deal's columns.
# The charges (lines, totals, taxes, currency) are Quote.version's; the quote's own header
# (number, date) is its Outbox row's Quote and Created cells, which the person approved.
PARTIES = frozenset({"opportunity", "account", "contact", "owner", "custom"})
QUOTE_TEMPLATES = ("quote.txt.j2", "quote.html.j2")
# A quote row's Version is its `quote_version`, then TEXT and the fingerprint of the email its
# templates rendered when it was queued (`text_mark` of `mark_context`): a template edited after
# a person approved the row, or words of the catalogue the templates use worded otherwise by an
# upgrade, would otherwise send words they never saw. The email as rendered, not the templates'
# files: a comment, line endings or an upgrade that changes no word of it is the email approved.
# Rendered from what the version counts, so only the words can make it differ.
# Queueing compares the first part only (an edited template queues no new quote); sending
# compares both. A row queued before the text counted has no TEXT part: what its text was
# cannot be told, and it is sent as before.
TEXT = "~"


def text_mark(text: str, html: str) -> str:
    """The fingerprint of a quote email's text and HTML parts, as rendered (`mark_context`)."""
    return hashlib.sha256(f"{text}\0{html}".encode("utf-8", "surrogatepass")).hexdigest()[:8]


# The number and date a quote's email is rendered with for its `text_mark`. The row's own are
# not in it: they are the row's cells (its Seal guards the number), and a version the journal
# holds as sent must be known as sent when the tick queues it again under a new number.
MARK_HEADER = QuoteHeader("Q-0000-0000", dt.date(2000, 1, 1))


def mark_context(crm: Crm, result: QuoteResult, locale: str, version: str) -> dict[str, Any]:
    """`quote_context` as the version counts what the email shows, for its `text_mark`: the
    lines in the version's order and the IDs in its spelling (`_fold_ids`), with MARK_HEADER.
    Rendered from the sheet as it is, a sort of Quote Lines or an ID retyped in lower case (the
    same quote, sent as the tab lists it now) made the email approved look like new words."""
    quote = result.quote
    assert quote is not None, "only a priced quote is rendered"
    counted = replace(result, quote=replace(quote, lines=quote.counted_lines))
    context = quote_context(crm, counted, MARK_HEADER, locale, version)
    _fold_ids(context)
    return context


def with_text(version: str, mark: str) -> str:
    return f"{version}{TEXT}{mark}"


def charges_of(version: str) -> str:
    """The `quote_version` part of a row's Version."""
    return version.partition(TEXT)[0]


def text_of(version: str) -> str | None:
    """The text's fingerprint a row's Version carries; None for a row queued before it did."""
    _head, sep, mark = version.partition(TEXT)
    return mark if sep else None


def parties(crm: Crm, quote: Quote) -> dict[str, Any]:
    """The PARTIES of a quote's context, from the sheet as it is."""
    opp = quote.opportunity
    owner = opp.owner
    account = record_dict(find_account(crm, opp.account), Account)
    account["name"] = account["name"] or opp.account  # an account typed by name only still has one
    return {
        "opportunity": record_dict(opp, Opportunity),
        "account": account,
        "contact": record_dict(find_contact(crm, opp.contact), Contact),
        "owner": {"name": owner, "email": owner if owner and "@" in owner else None},
        "custom": dict(opp.custom),
    }


def quote_version(crm: Crm, quote: Quote, templates: Templates, charges: str | None = None,
                  spelling: str | None = None) -> str:
    """The version a person approves: a fingerprint of what the quote charges (Quote.version)
    and of everything else its templates show (`Templates.reads` of PARTIES: the contact's
    name and email, the account, the deal's name, the owner, any column a team's template
    shows; all of PARTIES when that cannot be told). A row is sent only while its version
    matches the sheet (docs/quotes.md), so a changed contact or account fails the row rather
    than send "Hello Bob" and Bob's address to Ana; a deal's Stage, which no built-in template
    shows, changes nothing. `charges` stands for `quote.version` when given (`Quote.per_line_version`).

    The records' IDs, and a cell that names one of them by its ID (the deal's Account,
    Contact), count as IDs compare (`quotes.version_id`): an ID retyped in another case or
    with a stray space is the same quote, not a new version (a second number, a second email).
    `spelling`: the version as made before that (`Quote.spelt_version`), the deal's ID spelt so."""
    if spelling is not None:
        quote = replace(quote, opportunity=quote.opportunity.model_copy(update={"id": spelling}))
    shown = parties(crm, quote)
    if spelling is None:
        _fold_ids(shown)
    reads = templates.reads(QUOTE_TEMPLATES, PARTIES)
    if reads is None:
        reads = frozenset((root, None) for root in PARTIES)
    seen = []
    for root, key in sorted(reads, key=lambda r: (r[0], r[1] or "")):
        part = shown[root]
        # A key that is no field of the record (`contact.items()`): the whole record shows.
        seen.append([root, key, part[key]] if key is not None and key in part else [root, None, part])
    data = [charges or (quote.version if spelling is None else quote.spelt_version(spelling)), seen]
    return hashlib.sha256(json.dumps(data, default=str, sort_keys=True).encode()).hexdigest()[:12]


def _fold_ids(shown: dict[str, Any]) -> None:
    """Each record's ID in `shown`, and each cell naming one of them by ID, as `version_id`
    spells it (in place: `parties` makes new dicts)."""
    records = [shown[root] for root in ("opportunity", "account", "contact")]
    ids = {match_key(part["id"]) for part in records if isinstance(part.get("id"), str) and part["id"]}
    if not ids:
        return
    for part in records:
        for key, value in part.items():
            if isinstance(value, str) and value and match_key(value) in ids:
                part[key] = version_id(value)


def quote_context(crm: Crm, result: QuoteResult, header: QuoteHeader, locale: str,
                  version: str | None = None) -> dict[str, Any]:
    """What the quote templates see; `version` is the row's (`quote_version`), else the charges'."""
    quote = result.quote
    assert quote is not None, "only a priced quote is rendered"
    return {
        "locale": locale,
        "currency": quote.currency,
        "quote": {"number": header.number, "date": header.date, "version": version or quote.version,
                  "currency": quote.currency},
        **parties(crm, quote),
        "lines": [asdict(line) for line in quote.lines],
        "totals": {k: v for k, v in asdict(quote.totals).items() if k != "taxes"},
        "taxes": [asdict(band) for band in quote.totals.taxes],
    }
