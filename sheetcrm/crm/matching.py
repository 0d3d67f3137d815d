"""Who a record already is: the duplicate rules (`crm.duplicates`), held to a link's certainty.

    known = Known(settings, accounts)          # settings: [duplicates]; accounts: for contacts' companies
    known.add(("contacts", "CON-0001"), contact)
    known.find(lead)                           # -> [("contacts", "CON-0001")], or [] for a stranger

One matcher for everything that links a record to one already there without asking anyone:
a web form's response (`intake.forms`), an import's row (`intake.importer`), a converted lead's
contact and account (`crm.conversion`). It normalises as the Duplicates tab does (the mailbox
an email reaches, phones in E.164, names folded, legal words out) and asks `score_pair` whether
the rules call the two a duplicate at all (score at or above `threshold`). A proposal on the
Duplicates tab is for a person to judge; a link is made silently, so a pair links only on a tie
that leaves no doubt, and a near miss makes a new record (which the Duplicates tab then proposes):

    people     the same email after normalisation                          (tie 2)
               the same phone and names the rules call similar, and no     (tie 1)
               other email on either side (two addresses are two people
               until a person merges them)
               similar names at one company, a phone alone: never a link
    companies  the same name, folded (case, accents, punctuation: "S.A."   (tie 2)
               is "SA"; legal words kept: "Acme Inc" is not "Acme
               Corp"), no domain that disagrees
               the same domain and names the rules call similar            (tie 1)
               a domain alone, similar names alone: never a link

`find` answers with the records of the strongest tie, in the order they were added (callers add
the oldest first, and a contact before a lead: the person as a customer); a caller that must not
choose (conversion, import) treats more than one as ambiguous.

A record added with key cells it cannot read (`add`'s `unread`: an email that is no email, a
name showing #N/A, an ID two rows share; `sheetcrm.candidates`) is never linked, and never
ignored either: `doubts` names it when it may be the record looked up, and the caller waits,
saying so, rather than link a half-read row or make its twin. It may be when, with each unread
key taken as the looked-up record's own, it would tie at least as strongly as `find`'s answer,
and something it does read already points at the record (the duplicate rules pair the two as
read, or they share an email or a phone; companies also a domain): a contact whose Email is
malformed but who has the lead's name at the lead's company may be the lead's contact; one with
another name is someone else.

Deals are not in the duplicate rules (nothing fuzzy tells two deals apart), so `KnownDeals`
links an opportunity only to one with the same Name and the same Account, exact after the
normalisation every reference gets (`validate.match_key`: case, spacing, curly quotes), the
Account read as a reference is (an account's ID, else its unique name: "ACC-0001" and "Acme
Corp" are one account). A deal's ID from another tool is not sheetcrm's, so it ties nothing.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Collection, Hashable, Iterable

from sheetcrm import cells
from sheetcrm.crm.duplicates import (DuplicateSettings, Entity, Keys, Recall, accounts_by_key, entity, firm_name, fold,
                                     keys_of, score_pair, similar)
from sheetcrm.records import Account, Contact, Lead, Opportunity

Record = Lead | Contact | Account | Entity


class Known:
    """The records known so far, blocked by what can tie them (email, phone, folded company
    name, domain), so a look-up compares only the few records that share a key."""

    def __init__(self, settings: DuplicateSettings, accounts: Iterable[Account] = (),
                 recall: Recall | None = None) -> None:
        """`recall`: the records' keys an earlier sync worked out (`duplicates.Recall`), reused
        where everything `keys_of` reads of a record is the same: parsing and validating every
        phone is most of the cost of knowing everyone, which a waiting form response pays
        each sync."""
        self.settings = settings
        self._recall = recall
        self._accounts = accounts_by_key(accounts)
        self._entries: list[tuple[Hashable, Keys]] = []
        self._blocks: dict[tuple[str, str, str], list[int]] = defaultdict(list)
        self._unsure: list[tuple[Hashable, Keys, frozenset[str]]] = []

    def add_account(self, account: Account) -> None:
        """An account a contact added from now on may name (a conversion's new account)."""
        for key, same in accounts_by_key([account]).items():
            self._accounts.setdefault(key, same)

    def account(self, named: str) -> Account | None:
        """The account a contact's Account cell names (its ID or its name, as `keys` reads it)."""
        return self._accounts.get(fold(named))

    def keys(self, record: Record) -> Keys:
        """The record as the rules compare it (a contact with its account's company)."""
        if not isinstance(record, Entity):
            named = record.account if isinstance(record, Contact) else None
            account = self._accounts.get(fold(named)) if named else None
            record = entity(record, account)
        if self._recall is not None:
            return self._recall.keys_of(record, self.settings.country)
        return keys_of(record, self.settings.country)

    def add(self, who: Hashable, record: Record, unread: Collection[str] = ()) -> None:
        """`record` known as `who`; `unread`: the fields of its key cells that cannot be read
        (`sheetcrm.candidates`), which make it a record `doubts` names, never one `find` links."""
        k = self.keys(record)
        if unread:
            self._unsure.append((who, k, frozenset(unread)))
            return
        n = len(self._entries)
        self._entries.append((who, k))
        for block in _blocks(k):
            self._blocks[block].append(n)

    def find(self, record: Record) -> list[Hashable]:
        """The records `record` already is (rules in the module docstring): those of the
        strongest tie, in the order added; [] when none."""
        return self._find(self.keys(record))[1]

    def doubts(self, record: Record) -> list[Hashable]:
        """The records added with unread key cells that `record` may be (module docstring), in
        the order added; [] when none (the usual case: `find`'s answer stands)."""
        if not self._unsure:
            return []
        k = self.keys(record)
        best = self._find(k)[0]
        return [who for who, theirs, unread in self._unsure if _points_at(k, theirs, self.settings)
                and tie(k, _as_if(theirs, k, unread), self.settings) >= max(best, 1)]

    def _find(self, k: Keys) -> tuple[int, list[Hashable]]:
        best, out = 0, []
        seen: set[int] = set()
        for block in _blocks(k):
            for n in self._blocks.get(block, ()):
                if n in seen:
                    continue
                seen.add(n)
                who, other = self._entries[n]
                strength = tie(k, other, self.settings)
                if strength > best:
                    best, out = strength, [(n, who)]
                elif strength and strength == best:
                    out.append((n, who))
        return best, [who for _, who in sorted(out, key=lambda p: p[0])]


# The Keys fields each record field's cell feeds (crm.duplicates.keys_of).
_FEEDS = {"email": ("email", "domains"), "phone": ("phone",), "first_name": ("name", "surname"),
          "last_name": ("name", "surname"), "name": ("name", "company"), "company": ("company",),
          "domain": ("domains",)}


def _as_if(theirs: Keys, k: Keys, unread: frozenset[str]) -> Keys:
    """`theirs` with each unread key cell saying what `k` says (the most it could agree)."""
    fed = {name for f in unread for name in _FEEDS.get(f, ())}
    update = {name: getattr(k, name) for name in fed}
    if "domains" in fed:
        update["domains"] = theirs.domains | k.domains
    return dataclasses.replace(theirs, **update) if update else theirs


def _points_at(k: Keys, theirs: Keys, settings: DuplicateSettings) -> bool:
    """Whether what `theirs` reads already points at `k`: the rules pair them, or they share an
    email or a phone, or (companies) a domain. A domain says which company a person is at, not
    who they are."""
    if k.entity.kind != theirs.entity.kind:
        return False
    return bool(score_pair(k, theirs, settings) is not None
                or k.email and k.email == theirs.email or k.phone and k.phone == theirs.phone
                or k.entity.kind == "company" and k.domains & theirs.domains)


def tie(x: Keys, y: Keys, settings: DuplicateSettings) -> int:
    """How surely two records of one kind are one: 2 (email; a company's name), 1 (phone with a
    similar name; a company's domain with a similar name), 0 (not surely: no link)."""
    if x.entity.kind != y.entity.kind:
        return 0
    pair = score_pair(x, y, settings)
    if pair is None or pair.score < settings.threshold:
        return 0
    if x.entity.kind == "company":
        if firm_name(x.entity.name) and firm_name(x.entity.name) == firm_name(y.entity.name) and not (
                x.domains and y.domains and not x.domains & y.domains):
            return 2
        return 1 if x.domains & y.domains and similar(x.name, y.name) >= settings.company_threshold else 0
    if x.email and x.email == y.email:
        return 2
    if (x.phone and x.phone == y.phone and similar(x.name, y.name) >= settings.name_threshold
            and not (x.email and y.email)):
        return 1
    return 0


def _blocks(k: Keys) -> list[tuple[str, str, str]]:
    kind = k.entity.kind
    out = []
    if k.email:
        out.append((kind, "email", k.email))
    if k.phone:
        out.append((kind, "phone", k.phone))
    if kind == "company":
        if name := firm_name(k.entity.name):
            out.append((kind, "name", name))
        out.extend((kind, "domain", d) for d in sorted(k.domains))
    return out


class KnownDeals:
    """The opportunities known so far by (Name, Account), exact after normalisation (module
    docstring): `add(who, deal)`, `find(deal) -> [who, ...]` in the order added, and `doubts`,
    as `Known`."""

    def __init__(self, accounts: Iterable[Account] = ()) -> None:
        self._ids: dict[str, str] = {}
        names: dict[str, set[str]] = defaultdict(set)
        for account in accounts:
            if account.id:
                self._ids.setdefault(match_key(account.id), account.id)
                if account.name:
                    names[match_key(account.name)].add(account.id)
        # A name two accounts share names neither: such a deal ties only by the same text.
        self._names = {k: next(iter(v)) for k, v in names.items() if len(v) == 1}
        self._deals: dict[tuple[str, str], list[Hashable]] = defaultdict(list)
        self._unsure: list[tuple[Hashable, str | None, str | None]] = []

    def _parts(self, deal: Opportunity) -> tuple[str | None, str | None]:
        name, account = match_key(deal.name or ""), match_key(deal.account or "")
        return name or None, (self._ids.get(account) or self._names.get(account) or account) if account else None

    def key(self, deal: Opportunity) -> tuple[str, str] | None:
        """(the name, the account as an ID when it names one account, else its text), both
        normalised; None when either is empty."""
        name, account = self._parts(deal)
        return (name, account) if name and account else None

    def add(self, who: Hashable, deal: Opportunity, unread: Collection[str] = ()) -> None:
        """`deal` known as `who`; `unread`: the fields of its key cells that cannot be read
        (`sheetcrm.candidates`: its Name, its Account, an ID another row has too), which make
        it a deal `doubts` names, never one `find` links."""
        if {"name", "account", "id"}.intersection(unread):
            name, account = self._parts(deal)
            self._unsure.append((who, None if "name" in unread else name, None if "account" in unread else account))
        elif (k := self.key(deal)) is not None:
            self._deals[k].append(who)

    def find(self, deal: Opportunity) -> list[Hashable]:
        k = self.key(deal)
        return list(self._deals.get(k, ())) if k is not None else []

    def doubts(self, deal: Opportunity) -> list[Hashable]:
        """The deals added with unread key cells that `deal` may be, in the order added: each
        key cell it reads agrees with `deal`'s, and it reads at least one (a row whose Name and
        Account both show errors points at no deal in particular)."""
        k = self.key(deal)
        if k is None:
            return []
        return [who for who, name, account in self._unsure
                if (name is not None or account is not None) and name in (None, k[0]) and account in (None, k[1])]


# `validate.match_key`, from cells (validate needs the config, which needs the conversion rules,
# which need this module).
match_key = cells.match_key
