"""Likely duplicates among the CRM's people (Leads and Contacts together) and among its Accounts.

    people, companies = entities(leads, contacts, accounts)
    groups = find_groups([*people, *companies], DuplicateSettings(), suppressed=set())
    # -> [Group(ids=("CON-0004", "LEAD-0012"), score=1.0, reasons=(Reason(...), ...)), ...]

Pure: records in, groups out. What counts as the same:

- **Email**, normalised (`email_key`): case and surrounding spaces never matter; for the
  providers that deliver "ana+news@" to "ana@" the +tag is dropped (`PLUS_PROVIDERS`), and for
  Gmail, which ignores dots in the local part, the dots too ("Dots don't matter in Gmail
  addresses", support.google.com/mail/answer/7436150; googlemail.com is gmail.com). Other
  domains keep both: a company's server may treat "a.b@" and "ab@" as two people.
- **Phone**, in E.164 (`phone_key`, Google's libphonenumber via `phonenumbers`): a number
  written with its country code ("+34 612 345 678", "0034 612...") is read as written; one
  without is read in the row's country (an account's Country, a contact's account's, a
  lead's Country, as a name in English or Spanish, a usual short form such as "USA", "UK" or
  "EE. UU.", or an ISO code), else, when that Country is empty, the `[duplicates] country`.
  With neither, with a Country that names no country known, or when the number is not a valid
  number of that country, the phone is left out: a number is never guessed.
- **Names**, compared by `rapidfuzz`'s token_sort_ratio (word order and case do not matter)
  on text without accents, punctuation or legal suffixes ("Acme, S.L." is "acme"; letters of
  any script kept: "Яндекс" is a name, never nothing; "Ł" and "Ø" read as "L" and "O"), against
  `name_threshold` (people) and `company_threshold` (companies), in percent. Names whose
  numbers differ are never similar ("Unit 3" is not "Unit 13").
- **Domains**: a person's company domain is their email's, an account's its Domain (website
  written any way); free-mail domains (`FREE_MAIL`) never say which company someone is at.

Pairs and their score (0..1), per kind; a pair at or above `threshold` (default 0.8) is a
duplicate, and groups are the connected pairs (a group's score is the weakest of the pairs
that joined it: two records already in one group are not scored again):

    people     same email                                 0.95 (1.0 with similar names)
               same phone and similar names               0.90 (0.95 at the same company)
               similar names at the same company          0.80 + 0.10 x how similar past the threshold
               same phone alone                           not a pair (a switchboard, a family)
    accounts   same domain and similar names              0.95
               same domain alone                          not a pair (divisions of one group)
               similar names, no domain that disagrees    0.80 + 0.10 x how similar past the threshold
               similar names, different domains           not a pair (two companies, one name)

"Same company" for people: the same non-free email domain, or company names that are similar
(a contact's company is its account's name and domain). People's similar names alone never
make a pair: "Ana García" is many people. A lead is compared with contacts and leads, never
with an account: a lead's company that already is an account is lead conversion's business.

Blocking keeps the work near-linear: only records sharing a key are compared. Exact keys:
the normalised email and the E.164 phone. Fuzzy names are compared only
within a block of records sharing a company key (the domain, or the first three letters of
the normalised company name; for accounts, those are the blocks) and, for people, the first three letters of the normalised last
name. A misspelling within those first three letters is missed; the price of never comparing
everyone with everyone. A block larger than `max_block` records (say 5,000 leads all written
with info@ one company) is not compared at all and is returned in `Found.skipped`, for the
caller to report: so many records are a shared key, not one person.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Literal, Sequence

import phonenumbers
from pydantic import Field, field_validator
from rapidfuzz import fuzz, process

from sheetcrm.i18n import N_, _
from sheetcrm.records import Account, Contact, Lead
from sheetcrm.settings import Section

Kind = Literal["person", "company"]


class DuplicateSettings(Section):
    """The [duplicates] section of sheetcrm.toml."""

    enabled: bool = True
    # A pair at or above this score (0..1) is proposed.
    threshold: float = Field(default=0.8, ge=0.5, le=1.0)
    # Percent similarity (rapidfuzz token_sort_ratio) at which two names are "similar".
    name_threshold: float = Field(default=90, ge=50, le=100)
    company_threshold: float = Field(default=90, ge=50, le=100)
    # ISO 3166 code of the country a phone without a country code is read in, when its row
    # names none ("ES", "MX", "US"); none: such phones are left out.
    country: str | None = None
    # A block of more records than this is not compared (see the module docstring).
    max_block: int = Field(default=200, ge=2, le=100_000)

    # A field's validator, not the model's: the error then names the key (duplicates.country).
    @field_validator("country")
    @classmethod
    def _known_country(cls, country: str | None) -> str | None:
        if country is not None:
            code = country.strip().upper()
            if code not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(_("unknown country code {code}; use a two-letter ISO code such as ES, MX or US",
                                   code=repr(country)))
            return code
        return country


# -- normalisation -------------------------------------------------------------------------

# Providers that deliver local+tag@ to local@ (plus-addressing): Google's Gmail; Microsoft's
# Outlook.com (hotmail, live, msn); Apple's iCloud; Fastmail; Proton. Sources: each
# provider's help pages on "plus addressing" / "subaddressing" (RFC 5233); Yahoo uses "-"
# for its disposable addresses and is left out, as are company servers.
PLUS_PROVIDERS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com", "icloud.com", "me.com",
    "mac.com", "fastmail.com", "fastmail.fm", "protonmail.com", "proton.me", "pm.me",
})
# Providers whose local part ignores dots (Gmail only; googlemail.com is the same mailbox).
DOTLESS_PROVIDERS = frozenset({"gmail.com", "googlemail.com"})
SAME_PROVIDER = {"googlemail.com": "gmail.com"}

# Free-mail domains: an address there says nothing about a person's company. The big
# providers' own domains and their country variants, as in the free-mail lists CRMs ship
# (HubSpot's "free email domains" list is the usual reference).
FREE_MAIL = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "outlook.es", "hotmail.com", "hotmail.es", "hotmail.co.uk",
    "hotmail.fr", "hotmail.it", "hotmail.de", "live.com", "live.com.mx", "live.co.uk", "live.fr", "msn.com",
    "yahoo.com", "yahoo.es", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.com.mx", "yahoo.com.ar",
    "yahoo.com.br", "ymail.com", "rocketmail.com", "aol.com", "icloud.com", "me.com", "mac.com", "gmx.com",
    "gmx.de", "gmx.net", "gmx.es", "web.de", "mail.com", "protonmail.com", "proton.me", "pm.me", "tutanota.com",
    "zoho.com", "yandex.com", "yandex.ru", "mail.ru", "qq.com", "163.com", "126.com", "fastmail.com",
    "fastmail.fm", "hey.com", "terra.es", "telefonica.net", "movistar.es", "orange.fr", "free.fr", "laposte.net",
    "wanadoo.fr", "libero.it", "btinternet.com", "comcast.net", "verizon.net", "att.net", "sbcglobal.net",
    "prodigy.net.mx", "uol.com.br", "bol.com.br", "outlook.com.ar", "hotmail.com.ar", "hotmail.com.mx",
})

# Words that say what kind of company, not which: dropped before names compare.
LEGAL_WORDS = frozenset({
    "inc", "incorporated", "llc", "ltd", "limited", "corp", "corporation", "co", "company", "plc", "gmbh", "ag",
    "bv", "nv", "sa", "sl", "slu", "sau", "sas", "sarl", "srl", "spa", "sc", "sco", "cv", "de", "rl", "the",
    "group", "grupo", "holding", "holdings", "sociedad", "limitada", "anonima",
})
# Punctuation and spaces, never letters: a name in Cyrillic, Greek, Arabic or CJK is its letters,
# not nothing ("Яндекс LLC" kept as "llc" alone was "Газпром LLC"'s company, and a lead of one
# converted into the other's account).
_NOT_WORD = re.compile(r"[\W_]+")
# Latin letters that NFKD leaves whole, as their plain letters: accents never count, and a stroke
# or a ligature is one ("Łódź" is "lodz", "Ørsted" "orsted", "Æon" "aeon").
_PLAIN_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ı": "i", "æ": "ae", "œ": "oe",
                                "þ": "th", "ð": "d"})
_NUMBER = re.compile(r"\d+")
# "S.L." folds to "s l": single letters in a row are one abbreviation, joined ("sl").
_SINGLE_LETTERS = re.compile(r"\b(\w) (?=\w\b)")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def fold(text: str | None) -> str:
    """Lower case, no accents, punctuation as spaces, single spaces: "  José-Luis Ñú " ->
    "jose luis nu"."""
    if not text:
        return ""
    if text.isascii():
        # Most names: ASCII is its own NFKD form, has no combining marks and casefolds to lower().
        plain = text.lower()
    else:
        decomposed = unicodedata.normalize("NFKD", text.casefold())
        plain = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_PLAIN_LETTERS)
    return " ".join(_NOT_WORD.split(plain)).strip()


def firm_name(name: str | None) -> str:
    """A company name folded, its abbreviations' letters joined, legal words kept: "Café Ñandú,
    S.A." and "CAFE NANDU SA " -> "cafe nandu sa" ("S.A." folds to "s a", which punctuation
    alone must not tell from "SA"); "Acme Inc" stays apart from "Acme Corp"."""
    return _SINGLE_LETTERS.sub(r"\1", fold(name))


def company_key(name: str | None) -> str:
    """A company name as compared: folded, legal words out ("Acme, S.L." and "ACME Inc." ->
    "acme"); the folded name when it is nothing but legal words."""
    folded = fold(name)
    words = firm_name(name).split()
    kept = [w for w in words if w not in LEGAL_WORDS]
    return " ".join(kept) if kept else folded


def email_key(email: str | None) -> str | None:
    """The mailbox an address reaches: "  Ana.Lopez+crm@GoogleMail.com " -> "analopez@gmail.com";
    None for an empty value or one without a single @."""
    if not email:
        return None
    address = email.strip().casefold()
    if address.count("@") != 1:
        return None
    local, domain = address.split("@")
    domain = SAME_PROVIDER.get(domain, domain)
    if not local or not domain:
        return None
    if domain in PLUS_PROVIDERS and "+" in local:
        local = local.split("+", 1)[0]
    if domain in DOTLESS_PROVIDERS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def domain_of(text: str | None) -> str | None:
    """A company's domain from a website or an email address, any way written: "https://www.
    Acme.com/about" and "ana@acme.com" -> "acme.com"; None for a free-mail domain or nothing."""
    if not text:
        return None
    value = text.strip().casefold()
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    value = _SCHEME.sub("", value).split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip(".")
    if value.startswith("www."):
        value = value[4:]
    if "." not in value or " " in value:
        return None
    value = SAME_PROVIDER.get(value, value)
    return None if value in FREE_MAIL else value


# The short forms people type for a country that CLDR names only in full ("United States",
# "Estados Unidos"): folded, so "U.S.A.", "EE. UU." and "EEUU" are each one entry.
_COUNTRY_ALIASES = {
    "usa": "US", "u s a": "US", "u s": "US", "eeuu": "US", "ee uu": "US", "uk": "GB", "u k": "GB",  # not for people: keys
    "great britain": "GB", "gran bretana": "GB", "england": "GB", "inglaterra": "GB", "scotland": "GB",  # not for people: keys
    "escocia": "GB", "wales": "GB", "gales": "GB", "holland": "NL", "holanda": "NL", "uae": "AE", "eau": "AE",
}


@lru_cache(maxsize=None)
def _territories() -> dict[str, str]:
    """Country names in English and Spanish (CLDR, through babel), their usual short forms and
    ISO codes -> ISO code."""
    from babel import Locale

    out = {code.casefold(): code for code in phonenumbers.SUPPORTED_REGIONS}
    for language in ("en", "es"):
        for code, name in Locale.parse(language).territories.items():
            if code in phonenumbers.SUPPORTED_REGIONS:
                out.setdefault(fold(name), code)
    for alias, code in _COUNTRY_ALIASES.items():
        out.setdefault(alias, code)
    return out


def region_of(country: str | None) -> str | None:
    """The ISO code of a country cell ("ES", "Spain", "España", "méxico"), or None when unknown."""
    if not country:
        return None
    text = country.strip()
    return _territories().get(text.casefold()) or _territories().get(fold(text))


# No region's valid numbers are shorter than 4 digits (the least of libphonenumber's
# `general_desc.possible_length` over SUPPORTED_REGIONS), so text with fewer digits (letters
# count: vanity numbers) is never a number and skips the parse. "n/a", "-", "0".
_MIN_PHONE_LENGTH = 4
# Each distinct (raw phone, region) is parsed once: parsing and validating is most of the
# detection's cost per record (a +1 number is checked against every NANPA region), and the
# same number recurs across a workbook. 1M entries: every phone of a 500k-row workbook.
@lru_cache(maxsize=1 << 20)
def phone_key(phone: str | None, region: str | None) -> str | None:
    """The number in E.164 ("+34612345678"), read in `region` when it has no country code;
    None when it is empty, not a valid number, or has no country code and no region."""
    if not phone or not phone.strip():
        return None
    text = phone.strip()
    if sum(c.isalnum() for c in text) < _MIN_PHONE_LENGTH:
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- the records, as compared --------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Entity:
    """One record as the duplicate rules see it. `tab` is the CRM tab key ("leads"...)."""

    tab: str
    id: str
    kind: Kind
    name: str                         # display name: a person's full name, an account's name
    email: str | None = None          # a company's only as a lead matched as its company (crm.matching)
    phone: str | None = None          # as typed
    company: str | None = None        # a person's company (a contact's: its account's name)
    website: str | None = None        # an account's Domain; a contact's account's
    country: str | None = None        # as typed: a name or an ISO code
    created: Any = None               # a date, or None
    last_name: str | None = None


@dataclass(frozen=True, slots=True)
class Keys:
    """A record's values as the rules compare them (`keys_of`)."""

    entity: Entity
    email: str | None
    phone: str | None
    name: str                          # folded full name (people) or company key (accounts)
    surname: str
    company: str
    domains: frozenset[str]


def keys_of(entity: Entity, default_region: str | None) -> Keys:
    """The entity's keys; a phone without a country code is read in its country, else, when its
    Country is empty, `default_region`."""
    # A Country that names no country sheetcrm knows still says the row is somewhere: reading
    # its phone in the default region would be a guess ("EEUU" in a Mexican team's sheet made
    # "(415) 555-0199" +52 415..., shown so on the Duplicates tab and never the +1 contact's).
    region = region_of(entity.country) if entity.country and entity.country.strip() else default_region
    if entity.kind == "company":
        name = company = company_key(entity.name)
        domains = {domain_of(entity.website), domain_of(entity.email)}  # an account has no email; a lead has
    else:
        name, company = fold(entity.name), company_key(entity.company)
        domains = {domain_of(entity.email), domain_of(entity.website)}
    domains.discard(None)
    surname = fold(entity.last_name) or (name.split()[-1] if name else "")
    return Keys(entity, email_key(entity.email), phone_key(entity.phone, region), name, surname, company,
                frozenset(domains))  # type: ignore[arg-type]


def entities(leads: Iterable[Lead], contacts: Iterable[Contact], accounts: Iterable[Account]) -> list[Entity]:
    """The records with an ID, as compared: leads and contacts as people, accounts as companies.
    A contact's company, website and country are its account's (by ID, else by name)."""
    return [Entity(*fields) for fields in entity_fields(leads, contacts, accounts)]


# An Entity's fields in their order, as a plain tuple: `entity_fields`.
EntityFields = tuple[str, str, Kind, str, "str | None", "str | None", "str | None", "str | None", "str | None", Any,
                     "str | None"]


def entity_fields(leads: Iterable[Lead], contacts: Iterable[Contact],
                  accounts: Iterable[Account]) -> list[EntityFields]:
    """`entities`, each as the tuple of its fields (`Entity(*fields)` is the entity): cheaper to
    make and to digest when only some of them are wanted as entities."""
    accounts = [a for a in accounts]
    by_key = accounts_by_key(accounts)
    out: list[EntityFields] = [_lead_fields(lead) for lead in leads if lead.id]
    out += [_contact_fields(contact, by_key.get(fold(contact.account)) if contact.account else None)
            for contact in contacts if contact.id]
    out += [_account_fields(account) for account in accounts if account.id]
    return out


def _lead_fields(lead: Lead) -> EntityFields:
    return ("leads", lead.id or "", "person", _full_name(lead.first_name, lead.last_name), lead.email, lead.phone,
            lead.company, None, lead.country or _custom_country(lead.custom), lead.created, lead.last_name)


def _account_fields(account: Account) -> EntityFields:
    return ("accounts", account.id or "", "company", account.name, None, None, account.name, account.domain,
            account.country, account.created, None)


def _contact_fields(contact: Contact, account: Account | None) -> EntityFields:
    return ("contacts", contact.id or "", "person", _full_name(contact.first_name, contact.last_name),
            contact.email, contact.phone, account.name if account else None, account.domain if account else None,
            account.country if account else None, contact.created, contact.last_name)


def accounts_by_key(accounts: Iterable[Account]) -> dict[str, Account]:
    """What a contact's Account cell can say -> the account: its ID or its name, folded (the first such)."""
    by_key: dict[str, Account] = {}
    for a in accounts:
        for text in (a.id, a.name):
            if text:
                by_key.setdefault(fold(text), a)
    return by_key


def entity(record: Lead | Contact | Account, account: Account | None = None) -> Entity:
    """One record as the rules see it; a contact with its `account` (company, website, country)."""
    if isinstance(record, Lead):
        return Entity(*_lead_fields(record))
    if isinstance(record, Contact):
        return Entity(*_contact_fields(record, account))
    return Entity(*_account_fields(record))


def _full_name(first: str | None, last: str | None) -> str:
    first, last = first.strip() if first else "", last.strip() if last else ""
    return f"{first} {last}" if first and last else first or last


def _custom_country(custom: dict[str, Any]) -> str | None:
    for name, value in custom.items():
        if isinstance(value, str) and _names_country(name):
            return value
    return None


@lru_cache(maxsize=1024)
def _names_country(header: str) -> bool:
    # A tab's few custom headers recur on every row: each folded once, not once a row.
    return fold(header) in ("country", "pais")


# -- pairs and groups ----------------------------------------------------------------------

@dataclass(frozen=True)
class Reason:
    """Why two records look alike: a catalogue message and its values ("company name {pct}%
    similar, same domain"); `text()` says it in the current language."""

    message: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self) -> str:
        return _(self.message, **dict(self.values))


SAME_EMAIL = N_("same email")
SAME_EMAIL_NORMALISED = N_("same email after normalisation")
SAME_PHONE = N_("same phone")
SIMILAR_NAME = N_("name {pct}% similar")
SAME_NAME = N_("same name")
SAME_COMPANY_DOMAIN = N_("same company domain")
SIMILAR_COMPANY = N_("company name {pct}% similar")
SIMILAR_COMPANY_SAME_DOMAIN = N_("company name {pct}% similar, same domain")
SAME_COMPANY_SAME_DOMAIN = N_("same company name, same domain")


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    score: float
    reasons: tuple[Reason, ...]


@dataclass(frozen=True)
class Group:
    """Records that are likely one: IDs sorted, score 0..1 (the weakest of the pairs that
    joined it), reasons (those pairs', strongest first, each once)."""

    ids: tuple[str, ...]
    score: float
    reasons: tuple[Reason, ...]

    @property
    def key(self) -> str:
        return group_key(self.ids)


@dataclass
class Found:
    groups: list[Group]
    # Blocks not compared for being larger than max_block: (what the key is, the key, size).
    skipped: list[tuple[str, str, int]] = field(default_factory=list)
    # Pairs scored: deterministic for given records, the measure of the work done.
    compared: int = 0


def group_key(ids: Iterable[str]) -> str:
    """A group's stable name: "DUP-" + the first 8 hex digits of the SHA-1 of its sorted IDs
    joined by "+" (docs: the Duplicates tab contract)."""
    return "DUP-" + hashlib.sha1("+".join(sorted(ids)).encode("utf-8")).hexdigest()[:8]


def similar(a: str, b: str) -> float:
    """Percent similarity of two folded names; 0 when their numbers differ ("Unit 3" and
    "Unit 13", "Globex 2" and "Globex" are other companies however alike the letters)."""
    if not a or not b or _NUMBER.findall(a) != _NUMBER.findall(b):
        return 0.0
    return fuzz.token_sort_ratio(a, b)


def _pct(sim: float) -> int:
    return int(sim)  # floor: "89% similar" never rounds up past the threshold it missed


def _lift(sim: float, threshold: float) -> float:
    return 0.8 + 0.1 * ((sim - threshold) / (100 - threshold) if threshold < 100 else 1.0)


def score_pair(x: Keys, y: Keys, settings: DuplicateSettings) -> Pair | None:
    """The score and reasons of two records of one kind, or None when nothing ties them."""
    a, b = x.entity, y.entity
    if a.kind == "company":
        return _company_pair(x, y, settings)
    reasons: list[Reason] = []
    sim = similar(x.name, y.name)
    names = sim >= settings.name_threshold
    same_domain = bool(x.domains & y.domains)
    company_sim = similar(x.company, y.company)
    same_org = same_domain or company_sim >= settings.company_threshold
    score = 0.0
    if x.email and x.email == y.email:
        exact = (a.email or "").strip().casefold() == (b.email or "").strip().casefold()
        reasons.append(Reason(SAME_EMAIL if exact else SAME_EMAIL_NORMALISED))
        score = 1.0 if names else 0.95
    if x.phone and x.phone == y.phone:
        reasons.append(Reason(SAME_PHONE))
        if names:
            score = max(score, 0.95 if same_org else 0.9)
    if names and same_org:
        score = max(score, _lift(sim, settings.name_threshold))
    if names:
        reasons.append(Reason(SAME_NAME) if sim >= 100 else Reason(SIMILAR_NAME, (("pct", _pct(sim)),)))
    if names and same_org and not (x.email and x.email == y.email):
        if same_domain:
            reasons.append(Reason(SAME_COMPANY_DOMAIN))
        else:
            reasons.append(Reason(SIMILAR_COMPANY, (("pct", _pct(company_sim)),)))
    if score == 0.0:
        return None
    return Pair(*sorted((a.id, b.id)), round(score, 4), tuple(reasons))


def _company_pair(x: Keys, y: Keys, settings: DuplicateSettings) -> Pair | None:
    sim = similar(x.name, y.name)
    names = sim >= settings.company_threshold
    same_domain = bool(x.domains & y.domains)
    disagree = bool(x.domains and y.domains and not same_domain)
    if same_domain and names:
        score = 0.95
        reason = (Reason(SAME_COMPANY_SAME_DOMAIN) if sim >= 100 else
                  Reason(SIMILAR_COMPANY_SAME_DOMAIN, (("pct", _pct(sim)),)))
    elif names and not disagree:
        score = _lift(sim, settings.company_threshold)
        reason = Reason(SIMILAR_COMPANY, (("pct", _pct(sim)),))
    else:
        return None
    return Pair(*sorted((x.entity.id, y.entity.id)), round(score, 4), (reason,))


_SMALL_BLOCK = 3  # names; see _similar_pairs


def _similar_pairs(names: list[str], cutoff: float) -> Iterable[tuple[int, int]]:
    """The (r, c), r < c, of `names` at least `cutoff` percent similar with the same numbers
    (a superset of the pairs `similar` passes). rapidfuzz compares them all at once in C++;
    only pairs past the cutoff come back to Python. Most blocks are two or three names, where
    setting up the matrix costs more than the few comparisons: those are scored one by one, by
    the same scorer and cutoff."""
    if len(names) <= _SMALL_BLOCK:
        for r in range(len(names)):
            for c in range(r + 1, len(names)):
                if (fuzz.token_sort_ratio(names[r], names[c], score_cutoff=cutoff)
                        and _NUMBER.findall(names[r]) == _NUMBER.findall(names[c])):
                    yield r, c
        return
    matrix = process.cdist(names, names, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff, workers=1)
    rows, cols = matrix.nonzero()
    for r, c in zip(rows.tolist(), cols.tolist()):
        if r < c and _NUMBER.findall(names[r]) == _NUMBER.findall(names[c]):
            yield r, c


@dataclass
class Recall:
    """What `find_pairs` worked out from one record alone or one block alone, kept from one run
    for the next, so that after a change to a few records only their keys and their blocks are
    worked out again: a record's keys (`keys_of`) by everything `keys_of` reads of it and the
    default region; a block's similar pairs (`_similar_pairs`, blocks of more than
    `_SMALL_BLOCK` names) by its names, in order, and the cutoff. Both are pure functions of
    those and of the libraries' data (`libraries()`, which the keeper compares): what is found
    here is what computing it gives. `keys` and `similar` are filled with what this run used
    (the earlier run's entries no record or block uses any more are left behind); `by_id`
    holds this run's keys by record ID; `missed` counts what was not found and worked out."""

    keys_before: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    similar_before: dict[tuple[tuple[str, ...], float], list[tuple[int, int]]] = field(default_factory=dict)
    keys: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    similar: dict[tuple[tuple[str, ...], float], list[tuple[int, int]]] = field(default_factory=dict)
    by_id: dict[str, Keys] = field(default_factory=dict)
    missed: int = 0

    def keys_of(self, entity: Entity, default_region: str | None) -> Keys:
        read = (entity.kind, entity.name, entity.email, entity.phone, entity.company, entity.website,
                entity.country, entity.last_name, default_region)
        parts = self.keys_before.get(read)
        if parts is None:
            k = keys_of(entity, default_region)
            parts = (k.email, k.phone, k.name, k.surname, k.company, k.domains)
            self.missed += 1
        self.keys[read] = parts
        keys = self.by_id[entity.id] = Keys(entity, *parts)
        return keys

    def similar_pairs(self, names: list[str], cutoff: float) -> Iterable[tuple[int, int]]:
        if len(names) <= _SMALL_BLOCK:
            return _similar_pairs(names, cutoff)  # cheaper to compare than to look up
        read = (tuple(names), cutoff)
        pairs = self.similar_before.get(read)
        if pairs is None:
            pairs = list(_similar_pairs(names, cutoff))
            self.missed += 1
        self.similar[read] = pairs
        return pairs


def libraries() -> tuple[str, ...]:
    """The versions of the libraries whose data `Recall`'s entries depend on: phonenumbers'
    metadata (phones), babel's country names (a row's region), rapidfuzz's scorer (names)."""
    import babel
    import rapidfuzz

    return (phonenumbers.__version__, babel.__version__, rapidfuzz.__version__)


# The order find_pairs takes records in: by tab, then ID.
_TAB_ORDER = {"leads": 0, "contacts": 1, "accounts": 2}


def find_pairs(records: Sequence[Entity], settings: DuplicateSettings,
               suppressed: Iterable[frozenset[str]] = (),
               recall: Recall | None = None,
               apart: Iterable[frozenset[str]] = ()) -> tuple[list[Pair], list[tuple[str, str, int]], int]:
    """The pairs at or above the threshold that join `records` into groups (blocked; see the
    module docstring), never a suppressed one (pairs of IDs a person said are not
    duplicates: each may still be joined through a third record alike to both, a group the
    merge refuses, `merging.RULED_OUT`) nor an `apart` one (pairs that are one record by
    design, a converted lead and its contact: never in one group, so a third record alike to
    both joins the one met first, by tab and ID: the lead); the blocks too large to compare; and
    how many pairs were scored. A pair
    whose records an earlier pair already joined is not scored: the groups are exactly those
    of scoring every blocked pair, at a cost near-linear in the records. `recall`: the keys and
    blocks an earlier run worked out, reused where their inputs are the same, and filled in."""
    # Taken by tab and ID, never by row: which pairs join first decides a group's score (the
    # weakest that joined it) and, of two records kept apart, which one a third joins; in row
    # order a sort of a tab changed both.
    records = sorted(records, key=lambda e: (_TAB_ORDER.get(e.tab, len(_TAB_ORDER)), e.id))
    if recall is None:
        keys = [keys_of(e, settings.country) for e in records]
        similar_pairs = _similar_pairs
    else:
        keys = [recall.keys_of(e, settings.country) for e in records]
        similar_pairs = recall.similar_pairs
    exact: dict[tuple[str, str], list[int]] = defaultdict(list)
    fuzzy: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        kind = k.entity.kind
        if k.email:
            exact[(kind + ":email", k.email)].append(i)
        if k.phone:
            exact[(kind + ":phone", k.phone)].append(i)
        if not k.name:
            continue
        if kind == "company":
            # Accounts pair only on similar names, so a shared domain is a block of names to compare.
            # Sorted, as every set below: a set of text iterates in an order Python's hash seed
            # picks, and the blocks' order decides which pairs join a group first, so its score.
            for block in sorted({("company", "n", k.name[:3])} | {("company", "d", d) for d in k.domains}):
                fuzzy[block].append(i)
        else:
            orgs = {("d", d) for d in k.domains} | ({("c", k.company[:3])} if k.company else set())
            for org in sorted(orgs):
                fuzzy[("person", *org, k.surname[:3])].append(i)
    blocked = set(map(frozenset, suppressed))
    index = {k.entity.id: i for i, k in enumerate(keys)}
    apart_of: dict[int, list[int]] = defaultdict(list)
    for pair in map(tuple, apart):
        if len(pair) == 2 and pair[0] in index and pair[1] in index:
            a, b = index[pair[0]], index[pair[1]]
            apart_of[a].append(b)
            apart_of[b].append(a)
            blocked.add(frozenset(pair))
    seen: set[tuple[int, int]] = set()
    pairs: list[Pair] = []
    skipped: list[tuple[str, str, int]] = []
    # Records already joined (by any path of pairs at or above the threshold): a candidate
    # pair inside one group cannot change which groups there are, so it is not scored. A
    # block of k records that all match then costs k - 1 scores (a star from its first
    # record), not k(k - 1)/2: near-linear however large the blocks.
    parent = list(range(len(keys)))
    compared = 0

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    # The records with an apart partner, by their group's root: few, so checked one by one.
    marked: dict[int, list[int]] = {i: [i] for i in apart_of}

    def kept_apart(i: int, j: int) -> bool:
        ri, rj = root(i), root(j)
        return any(root(p) == rj for m in marked.get(ri, ()) for p in apart_of[m])

    def consider(i: int, j: int) -> None:
        nonlocal compared
        if i > j:
            i, j = j, i
        ri, rj = root(i), root(j)
        if ri == rj or (i, j) in seen:
            return
        seen.add((i, j))
        if frozenset((keys[i].entity.id, keys[j].entity.id)) in blocked or kept_apart(i, j):
            return
        compared += 1
        pair = score_pair(keys[i], keys[j], settings)
        if pair is not None and pair.score >= settings.threshold:
            pairs.append(pair)
            parent[max(ri, rj)] = min(ri, rj)
            if ri in marked or rj in marked:
                marked[min(ri, rj)] = [*marked.pop(ri, ()), *marked.pop(rj, ())]

    for (what, key), members in exact.items():
        if len(members) < 2:
            continue  # most emails and phones are one record's: nothing to compare
        if len(members) > settings.max_block:
            skipped.append((what.split(":")[1], key, len(members)))
            continue
        if what.endswith(":email") and settings.threshold <= 0.95:
            # One email is a pair whatever else (0.95) but a pair ruled out: the block is
            # joined whole by its other pairs. Joined as a star from its first row, a record
            # whose pair with that first was ruled out joined nothing, and a sort of the tab
            # changed the group proposed (and its name, its ticks with it). `parts`: the block's
            # records taken so far, by the group each is in (mostly one: one score per record).
            parts: list[list[int]] = []
            for j in members:
                joined, rest = [j], []
                for part in parts:
                    for i in part:
                        if root(i) == root(j) or kept_apart(i, j):
                            break
                        if frozenset((keys[i].entity.id, keys[j].entity.id)) not in blocked:
                            consider(i, j)
                            break
                    if root(part[0]) == root(j):
                        joined.extend(part)
                    else:
                        rest.append(part)
                parts = [*rest, joined]
            continue
        # Otherwise a pair here needs similar names (a shared phone alone is a switchboard),
        # or, on a phone, the same email too (its own block may have been too large).
        for r, c in similar_pairs([keys[i].name for i in members], settings.name_threshold):
            consider(members[r], members[c])
        if what.endswith(":phone"):
            same_email: dict[str, list[int]] = defaultdict(list)
            for i in members:
                if keys[i].email:
                    same_email[keys[i].email].append(i)
            for group in same_email.values():
                for n, i in enumerate(group):
                    for j in group[n + 1:]:
                        consider(i, j)
    for block, members in fuzzy.items():
        if len(members) < 2:
            continue
        if len(members) > settings.max_block:
            skipped.append(("domain" if block[1] == "d" else "name", block[-1] if block[1] == "d" else
                            " ".join(block[1:]), len(members)))
            continue
        cutoff = settings.company_threshold if block[0] == "company" else settings.name_threshold
        for r, c in similar_pairs([keys[i].name for i in members], cutoff):
            consider(members[r], members[c])
    return pairs, skipped, compared


def find_groups(records: Sequence[Entity], settings: DuplicateSettings,
                suppressed: Iterable[frozenset[str]] = (), recall: Recall | None = None,
                apart: Iterable[frozenset[str]] = ()) -> Found:
    """The groups of likely duplicates: records joined by pairs at or above the threshold
    (connected components), each with the score of the weakest pair that joined it and those
    pairs' reasons (`find_pairs` scores the pairs that join, not every pair in a group);
    ordered by score, highest first, then by key. IDs must be unique across `records`.
    `recall`: as `find_pairs`'s; the groups are the same with or without it."""
    pairs, skipped, compared = find_pairs(records, settings, suppressed, recall, apart)
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        ra, rb = root(p.a), root(p.b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[str]] = defaultdict(list)
    for x in list(parent):
        members[root(x)].append(x)
    edges: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        edges[root(p.a)].append(p)
    groups = []
    for r, ids in members.items():
        ps = sorted(edges[r], key=lambda p: -p.score)
        reasons: list[Reason] = []
        for p in ps:
            reasons.extend(x for x in p.reasons if x not in reasons)
        groups.append(Group(tuple(sorted(ids)), min(p.score for p in ps), tuple(reasons)))
    groups.sort(key=lambda g: (-g.score, g.key))
    return Found(groups, skipped, compared)


def reasons_text(reasons: Iterable[Reason]) -> str:
    """"same email after normalisation; company name 94% similar, same domain", in the current
    language."""
    return "; ".join(r.text() for r in reasons)
