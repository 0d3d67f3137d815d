"""Accounts as figures name them. Two accounts may share a name ("Acme" in Spain, "Acme" in the
USA), so a figure per account is summed under the account's ID, never its name, and shown by
its name with the ID beside it when another account has that name ("Acme (ACC-0001)").

    accounts = Accounts(records)       # the read's sound accounts
    accounts.one("Acme")               # -> "ACC-0001" when one account is called Acme; None when two are
    accounts.key("Acme")               # -> the same, but "Acme" itself when no account is called so
    accounts.label("ACC-0001")         # -> "Acme", or "Acme (ACC-0001)" when another account is an Acme too
    accounts.by_company("ACME, ")      # -> every account whose name a lead's Company matches
    accounts.related(contacts, deals, cases)   # -> {"CON-0001": "ACC-0001", ...}: whose each record is

A reference (a deal's Account) names an account by its ID, else by a name no other account
has, compared as the read compares references (`validate.match_key`; README: "a name two rows
share is reported as ambiguous, never guessed"). A lead's Company is matched to account names
folded further (`cells.normalize_key`: accents and punctuation too), as the KPIs match it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from sheetcrm.cells import normalize_key
from sheetcrm.crm.matching import match_key
from sheetcrm.i18n import _
from sheetcrm.records import Account, Contact, Opportunity


class Accounts:
    """The accounts with an ID, looked up by ID, by name and by a lead's Company."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self.names: dict[str, str] = {}                  # ID -> name
        self._ids: dict[str, str] = {}                   # match_key(ID) -> ID
        self._by_name: dict[str, list[str]] = defaultdict(list)     # match_key(name) -> IDs
        self._by_company: dict[str, list[str]] = defaultdict(list)  # normalize_key(name) -> IDs
        for a in accounts:
            if not a.id or a.id in self.names:
                continue  # a duplicate ID is an error on its row: that row is not among the sound ones
            self.names[a.id] = a.name
            self._ids.setdefault(match_key(a.id), a.id)
            if a.name:
                self._by_name[match_key(a.name)].append(a.id)
                self._by_company[normalize_key(a.name)].append(a.id)

    def named(self, reference: str | None) -> list[str]:
        """The IDs of the accounts `reference` names: its ID's, else those of every account with
        that name (two or more when accounts share it); [] for none."""
        if not reference:
            return []
        key = match_key(reference)
        found = self._ids.get(key)
        return [found] if found is not None else list(self._by_name.get(key, ()))

    def one(self, reference: str | None) -> str | None:
        """The ID of the one account `reference` names; None when it names none or several."""
        ids = self.named(reference)
        return ids[0] if len(ids) == 1 else None

    def key(self, reference: str | None) -> str | None:
        """What a figure of the account `reference` names is summed under: that account's ID;
        the reference itself when it names no account (a workbook without an Accounts tab, where
        Account is a plain label); None when it is empty or names several accounts (the read
        reported it as `ambiguous_reference`: it counts for none of them)."""
        ids = self.named(reference)
        if len(ids) > 1:
            return None
        return ids[0] if ids else reference or None

    def by_company(self, company: str | None) -> list[str]:
        """The IDs of the accounts whose name `company` matches, folded (`normalize_key`)."""
        return list(self._by_company.get(normalize_key(company), ())) if company else []

    def label(self, key: str) -> str:
        """How a figure under `key` (from `key`) is shown, in the current language: the account's
        name, "Name (ID)" when another account has the same name; a key that is no account's ID
        as it is."""
        name = self.names.get(key)
        if name is None:
            return key
        if len(self._by_name.get(match_key(name), ())) > 1:
            return _("{name} ({id})", name=name, id=key)
        return name

    def related(self, contacts: Iterable[Contact], opportunities: Iterable[Opportunity],
                cases: Iterable[Any] = ()) -> dict[str, str]:
        """Record ID -> the ID of the account it belongs to: each account itself, and each
        contact, deal and case (anything with `id` and `account`) whose Account names one account
        (`one`). What an activity or a task about one of them is about, for the account's Last
        Activity and next task: the Accounts Overview's, a segment's and a workflow's alike
        (before, a segment read an account's Last Activity only from activities naming the
        account itself, which few teams log, and called accounts quiet that the overview
        showed active). Records without an ID are left out; O(records)."""
        out = {i: i for i in self.names}
        for group in (contacts, opportunities, cases):
            for record in group:
                if record.id and (account := self.one(record.account)) is not None:
                    out.setdefault(record.id, account)
        return out
