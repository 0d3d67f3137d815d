"""Lead conversion, as Salesforce does it: a lead becomes an account (matched or new), a contact
(matched or new) and, when it says what the deal is, an opportunity. Pure: no I/O, no clock.

    settings = ConversionSettings(create_opportunity="when_amount", activities="keep")  # or "move", "copy"
    match = Matcher(accounts, contacts, duplicate_settings)   # who the lead already is (crm.matching)
    plan = convert(lead, match, settings, as_of, first_stage)   # -> Conversion | Problem

The step (`steps/conversion.py`) decides which leads convert, hands out the IDs, writes the
rows and links the lead; docs/leads.md, "Lead conversion", has the exactly-once argument.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Collection, Iterable, Literal

import phonenumbers
from pydantic import Field

from sheetcrm.crm.duplicates import DuplicateSettings, Entity, company_key, domain_of, entity, fold, similar
from sheetcrm.crm.matching import Known
from sheetcrm.i18n import N_
from sheetcrm.records import Account, Contact, Lead, Opportunity
from sheetcrm.settings import Section

CONVERTED = "Converted"  # the lead status that asks for a conversion (records.LEAD_STATUSES)


class ConversionSettings(Section):
    """The [conversion] section of sheetcrm.toml.

    create_opportunity: "always", "never", or "when_amount" (the lead has an Amount, a Budget
    cell filled in, or a Deal Name); close_days: the new opportunity's Close Date is the sync's
    day plus this many days; activities: what becomes of the lead's activities and tasks:
    "keep" (they stay on the lead), "move" (their Related moves from the lead's ID to the
    contact's; "repoint" is its older name, still read) or "copy" (each activity is copied
    to the contact, the lead keeping its own; tasks move, as work to do once)."""

    create_opportunity: Literal["always", "never", "when_amount"] = "when_amount"
    close_days: int = Field(default=30, ge=0, le=3650)
    activities: Literal["keep", "move", "repoint", "copy"] = "keep"

    @property
    def moves(self) -> bool:
        """Whether the lead's activities move to the contact ("move", or its older name "repoint")."""
        return self.activities in ("move", "repoint")


@dataclass(frozen=True)
class Converted:
    """A lead's record of its conversion, as its recorded columns hold it (read in the read).

    row: the lead's sheet row; account, contact, opportunity: the IDs it became (None when the
    cell is empty); on: the day it converted. `account` filled means converted: never again."""

    row: int
    lead: str | None
    account: str | None = None
    contact: str | None = None
    opportunity: str | None = None
    on: dt.date | None = None


@dataclass
class Conversions:
    """What the read found of earlier conversions: each lead's links by its sheet row, and the
    rows a conversion made, by tab ("accounts", "contacts", "opportunities") and the lead's ID
    they name in From Lead -> the row's ID (the first such row), and in `made` the IDs of
    every such row; `copied`: each activity ID a copy names in its Copied From -> that copy's
    ID (`activities = "copy"`)."""

    links: dict[int, Converted] = field(default_factory=dict)
    from_lead: dict[str, dict[str, str]] = field(default_factory=dict)
    made: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    copied: dict[str, str] = field(default_factory=dict)

    def converted_ids(self) -> dict[str, Converted]:
        """Lead ID -> its links, for the leads whose Converted Account is filled."""
        return {c.lead: c for c in self.links.values() if c.lead and c.account}


def is_converted(status: str | None, link: Converted | None) -> bool:
    """Whether a lead is converted, the one meaning every figure and rule uses: its Status is
    Converted (canonical), or a conversion recorded its Converted Account (`link`, the lead's
    row in `Conversions.links`). sheetcrm's own conversion leaves the Status as it was
    (Qualified), so the Status alone would count its converted leads as open."""
    return status == CONVERTED or (link is not None and bool(link.account))


# --- matching ---------------------------------------------------------------------------------


class Matcher:
    """The contact and the account a lead already is, by the one matcher (`crm.matching.Known`:
    the duplicate rules, held to a link's certainty):

    - a contact: the same email after normalisation; else the same phone and a similar name,
      neither having another email;
    - an account: the matched contact's account, when the lead's Company can be it (`Differs`
      when not); else the same company name (folded; no domain that disagrees); else the same
      domain (the lead's Website or email, never a free-mail one, as an account's Domain) with
      a similar name.

    A match must be unique: two accounts (or contacts) tied alike match nothing (a new one is
    not made either; the step reports the lead, naming them: `Ambiguous`), so a conversion
    never picks one at random. An account or contact comes with the key cells it cannot read
    (`(record, unread fields)`, `sheetcrm.candidates`; a bare record reads whole): one that
    may be the lead's is `Unsure`, and nothing is made either (a twin of a half-read row is
    as wrong as a link to it)."""

    def __init__(self, accounts: Iterable[Account | tuple[Account, Collection[str]]],
                 contacts: Iterable[Contact | tuple[Contact, Collection[str]]], settings: DuplicateSettings) -> None:
        pairs = [_pair(a) for a in accounts]
        self.accounts: dict[str, Account] = {}
        self._companies = Known(settings)
        self._people = Known(settings, [a for a, _ in pairs])
        self._contacts: dict[int, Contact] = {}
        self._unsure: dict[int, Account | Contact] = {}
        for account, unread in pairs:
            self.add_account(account, unread)
        for contact in contacts:
            self.add_contact(*_pair(contact))

    def add_account(self, account: Account, unread: Collection[str] = ()) -> None:
        if unread:
            self._unsure[id(account)] = account
            self._companies.add(id(account), account, unread)
            return
        if account.id is None:
            return
        self.accounts[account.id] = account
        self._companies.add(account.id, account)
        self._people.add_account(account)

    def add_contact(self, contact: Contact, unread: Collection[str] = ()) -> None:
        if unread:
            self._unsure[id(contact)] = contact
            self._people.add(id(contact), contact, unread)
            return
        if contact.id is None:
            return
        self._contacts[id(contact)] = contact
        self._people.add(id(contact), contact)

    def account_record(self, named: str) -> Account | None:
        """The account an Account cell names (its ID or its name), or None."""
        return self._people.account(named)

    def contact(self, lead: Lead) -> Contact | None | Ambiguous | Unsure:
        """The contact the lead is; None; Ambiguous (the contacts' IDs); or Unsure (contacts
        with key cells unread that it may be)."""
        if doubts := self._people.doubts(lead):
            return Unsure(tuple(self._unsure[n] for n in doubts))  # type: ignore[index]
        found: list[Contact] = [self._contacts[n] for n in self._people.find(lead)]  # type: ignore[index]
        if len(found) > 1:
            return Ambiguous(tuple(c.id or "" for c in found))
        return found[0] if found else None

    def account(self, lead: Lead, contact: Contact | None) -> str | None | Ambiguous | Unsure | Differs:
        """The ID of the lead's account; None; Ambiguous (the accounts' IDs); Unsure (accounts
        with key cells unread that it may be); or Differs (the matched contact's account is
        not the company the lead names)."""
        company = Entity("leads", lead.id or "", "company", lead.company or "", email=lead.email,
                         website=lead.website, country=lead.country)
        if contact is not None and contact.account:
            # The person is known, but the lead may say they are at another company now (a
            # Globex lead of Initech's contact): its deal under the contact's account would be
            # Initech's pipeline, silently. Only a Company that can be that account lets it be.
            theirs = self._people.account(contact.account)
            if lead.company and theirs is not None and not self._agrees(company, theirs):
                return Differs(contact.id or "", theirs.id or contact.account, theirs.name or "")
            return contact.account
        if doubts := self._companies.doubts(company):
            return Unsure(tuple(self._unsure[n] for n in doubts))  # type: ignore[index]
        found = [str(who) for who in self._companies.find(company)]
        if len(found) > 1:
            return Ambiguous(tuple(found))
        return found[0] if found else None

    def phone(self, lead: Lead, contact: Contact, account: Account | None) -> str | None:
        """The lead's Phone for `contact`, its new contact (holding the Phone as the lead typed
        it) at `account`: as typed, unless the contact, whose phone is read in its account's
        country, would read it as another number than the lead's own Country makes it (a Spanish
        lead's "612 345 678" at an account in the US); then in international form, the number
        the lead meant."""
        if not lead.phone:
            return lead.phone
        ours = self._people.keys(lead).phone
        if ours is None or ours == self._people.keys(entity(contact, account)).phone:
            return lead.phone
        return phonenumbers.format_number(phonenumbers.parse(ours), phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def _agrees(self, company: Entity, account: Account) -> bool:
        """Whether the lead's company can be `account`: they share a domain (the lead's Website
        or email, the account's Domain), or their names are similar with no domain that
        disagrees, as the duplicate rules compare companies."""
        ours, theirs = self._companies.keys(company), self._companies.keys(account)
        if ours.domains & theirs.domains:
            return True
        return (similar(ours.name, theirs.name) >= self._companies.settings.company_threshold
                and not (ours.domains and theirs.domains))


def names_account(company: str | None, account: Account, settings: DuplicateSettings) -> bool:
    """Whether a lead's Company names `account`: empty, its ID, or a name the duplicate rules
    call the same company (folded, legal words aside, `company_threshold` similar)."""
    if not company or not company.strip():
        return True
    if account.id and fold(company) == fold(account.id):
        return True
    return similar(company_key(company), company_key(account.name)) >= settings.company_threshold


def _pair(item: Any) -> tuple[Any, Collection[str]]:
    return item if isinstance(item, tuple) else (item, ())


@dataclass(frozen=True)
class Unsure:
    """Records whose key cells cannot be read (`Matcher`) that the lead may be: the records, as
    read, for the step to name their cells."""

    records: tuple[Account | Contact, ...]


@dataclass(frozen=True)
class Differs:
    """The lead's matched contact is at an account its Company cannot be: the contact's ID, the
    account's ID and its name."""

    contact: str
    account: str
    name: str


@dataclass(frozen=True)
class Ambiguous:
    """Several records match a lead alike: their IDs, in the order the matcher has them (the
    oldest first), for the report to name."""

    ids: tuple[str, ...]


# --- one lead's conversion ----------------------------------------------------------------------

# Why a lead asked to convert is not: Issue codes and their messages (translated where reported).
PROBLEMS: dict[str, tuple[str, str]] = {
    "conversion_no_company": (
        N_("This lead cannot be converted: it has no Company and no account matches its email or website."),
        N_("Fill in Company, then sync again.")),
    "conversion_no_name": (
        N_("This lead cannot be converted: a contact needs a Last Name."),
        N_("Fill in Last Name, then sync again.")),
    "conversion_ambiguous": (
        N_("This lead cannot be converted: several {what} match it ({ids})."),
        N_("Make the match unique (or tell the records apart), then sync again.")),
    "conversion_company_differs": (
        N_('This lead cannot be converted: it is the contact {contact}, who is at {account} ("{name}"), but its '
           'Company is "{company}".'),
        N_("If the person is now at {company}, change {contact}'s Account; if the lead's Company is wrong, correct "
           "it (or empty it to convert into {account}). Then sync again.")),
}
WHAT = {"accounts": N_("accounts"), "contacts": N_("contacts")}


@dataclass(frozen=True)
class Problem:
    code: str                 # a key of PROBLEMS
    what: str | None = None   # a key of WHAT, for conversion_ambiguous
    ids: tuple[str, ...] = ()  # the records that match alike, for conversion_ambiguous
    values: tuple[tuple[str, str], ...] = ()  # the message's other fields (conversion_company_differs)


@dataclass(frozen=True)
class Conversion:
    """What one lead becomes. `account`/`contact` are existing IDs (matched) or None; `new_*`
    are the records to create (their id still None: the step hands them out)."""

    account: str | None
    contact: str | None
    new_account: Account | None = None
    new_contact: Contact | None = None
    new_opportunity: Opportunity | None = None


@dataclass(frozen=True)
class DealAmount:
    """What a lead says its deal is worth, read as money from its Amount cell or, without one,
    its Budget/Presupuesto cell (steps/conversion.py reads either column as an opportunity's
    Amount is read: the currency its cell names, the "money has no third decimal" rule).

    amount, currency: the deal's (currency None: the lead's Currency, else the base); doubt:
    why the cell cannot be trusted (a message, as the sync reports it), and then amount and
    currency are None: a conversion never writes a deal's Amount from a value it doubts."""

    amount: Decimal | None
    currency: str | None = None
    doubt: str | None = None


def deal_amount(lead: Lead, told: DealAmount | None = None) -> DealAmount | None:
    """`told` (the lead's Amount or Budget read as money), else the lead's Amount and Currency as
    read; None when the lead names no amount."""
    if told is not None:
        return told
    return DealAmount(lead.amount, lead.currency) if lead.amount is not None else None


def wants_opportunity(lead: Lead, settings: ConversionSettings, told: DealAmount | None = None) -> bool:
    """Whether the conversion makes a deal. "when_amount": the lead names an amount (one the
    conversion doubts too: the lead says there is a deal, only not what it is worth) or a Deal Name."""
    if settings.create_opportunity == "when_amount":
        return deal_amount(lead, told) is not None or bool(lead.deal_name)
    return settings.create_opportunity == "always"


def lead_name(lead: Lead) -> str:
    return " ".join(p for p in (lead.first_name, lead.last_name) if p) or (lead.email or lead.company or "")


def convert(lead: Lead, match: Matcher, settings: ConversionSettings, as_of: dt.date, first_stage: str,
            told: DealAmount | None = None, *, found_account: str | None = None, found_contact: Contact | None = None,
            found_opportunity: str | None = None) -> Conversion | Problem | Unsure:
    """The account, contact and opportunity `lead` becomes on `as_of`.

    first_stage: the first open stage's name (canonical); told: see `deal_amount` (one with a
    doubt leaves the deal's Amount and Currency empty); found_*:
    what an earlier, interrupted conversion of this lead already made (used, never made again). New
    records carry the lead's fields (Account: Name = Company, Domain = Website, Country, Owner;
    Contact: names, Email, Phone (in international form when its account's country would
    read it as another number: `Matcher.phone`), Title, Owner; Opportunity: "<Company> – <name>" or the Deal
    Name, Amount, Currency, Close Date = as_of + close_days, Owner, Source, Campaign); each is
    Created on `as_of`. Unsure: a record whose key cells cannot be read may be the lead's
    contact or account, and nothing is planned."""
    contact = found_contact if found_contact is not None else match.contact(lead)
    if isinstance(contact, Unsure):
        return contact
    if isinstance(contact, Ambiguous):
        return Problem("conversion_ambiguous", "contacts", contact.ids)
    assert contact is None or isinstance(contact, Contact)
    account = found_account or match.account(lead, contact)
    if isinstance(account, Unsure):
        return account
    if isinstance(account, Ambiguous):
        return Problem("conversion_ambiguous", "accounts", account.ids)
    if isinstance(account, Differs):
        return Problem("conversion_company_differs", values=(("contact", account.contact), ("account", account.account),
                                                             ("name", account.name), ("company", lead.company or "")))
    new_account = new_contact = new_opportunity = None
    if account is None:
        if not lead.company:
            return Problem("conversion_no_company")
        new_account = Account.model_construct(name=lead.company, domain=domain_of(lead.website) or lead.website,
                                              country=lead.country, owner=lead.owner, created=as_of)
    if contact is None:
        if not lead.last_name:
            return Problem("conversion_no_name")
        new_contact = Contact.model_construct(account=account, first_name=lead.first_name, last_name=lead.last_name,
                                              email=lead.email, phone=lead.phone, title=lead.title, owner=lead.owner,
                                              created=as_of)
        at = new_account if account is None else match.account_record(account)
        new_contact = new_contact.model_copy(update={"phone": match.phone(lead, new_contact, at)})
    if found_opportunity is None and wants_opportunity(lead, settings, told):
        company = lead.company or (match.accounts[account].name if isinstance(account, str)
                                   and account in match.accounts else None)
        name = lead.deal_name or " – ".join(p for p in (company, lead_name(lead)) if p)
        worth = deal_amount(lead, told) or DealAmount(None, lead.currency)
        new_opportunity = Opportunity.model_construct(
            name=name, account=account, contact=contact.id if contact else None, owner=lead.owner, stage=first_stage,
            amount=worth.amount, currency=worth.currency or (lead.currency if worth.doubt is None else None),
            close_date=as_of + dt.timedelta(days=settings.close_days), created=as_of, source=lead.source,
            campaign=lead.campaign)
    return Conversion(account if isinstance(account, str) else None, contact.id if contact else None,
                      new_account, new_contact, new_opportunity)
