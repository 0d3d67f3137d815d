"""Whether a person is already in the CRM: the one small rule web-to-lead and imports use.

    key = person_keys(email, phone)      # ("email", "ana@x.com") / ("phone", "34600111222")
    index = People(); index.add(("leads", "LEAD-0001"), email, phone); index.find(email, phone)

The rule is exact, on purpose, until the duplicates module (issue 13 item 3) brings fuzzier
ones; `People.find` is the one place to swap for it:

1. the email, trimmed and case-folded (`cells.canonical_text`), is the same;
2. else, when neither side can be told by email, the phone's digits are the same: every
   non-digit dropped, a leading international "00" read as "+" (E.164 without the plus), and
   at least 7 digits (shorter numbers are extensions, not people).

A person found by email is never found by phone as well: two people may share a switchboard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Hashable

from sheetcrm.cells import canonical_text

MIN_PHONE_DIGITS = 7
_NOT_DIGIT = re.compile(r"\D+")


def email_key(email: str | None) -> str | None:
    """The email as matching compares it, or None when there is none."""
    if not email:
        return None
    key = canonical_text(str(email)).strip().casefold()
    return key if "@" in key else None


def phone_key(phone: object) -> str | None:
    """The phone's digits ("+34 600 11-12-22" and "0034600111222" -> "34600111222"), or None
    when it has fewer than MIN_PHONE_DIGITS."""
    if phone is None or isinstance(phone, bool):
        return None
    text = str(phone).strip()
    if isinstance(phone, float) and phone.is_integer():
        text = str(int(phone))  # a phone typed as a number comes back as 34600111222.0
    digits = _NOT_DIGIT.sub("", text)
    if digits.startswith("00"):
        digits = digits[2:]
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


@dataclass
class People:
    """The people known so far, by email and by phone; each key names the first record added
    with it (records are added oldest first, so the original wins over a later copy)."""

    by_email: dict[str, Hashable] = field(default_factory=dict)
    by_phone: dict[str, Hashable] = field(default_factory=dict)
    emailed: set[Hashable] = field(default_factory=set)  # the records that have an email

    def add(self, who: Hashable, email: str | None, phone: object) -> None:
        if (e := email_key(email)) is not None:
            self.by_email.setdefault(e, who)
            self.emailed.add(who)
        if (p := phone_key(phone)) is not None:
            self.by_phone.setdefault(p, who)

    def find(self, email: str | None, phone: object) -> Hashable | None:
        """The record this person already is, or None (rules in the module docstring)."""
        e = email_key(email)
        if e is not None and e in self.by_email:
            return self.by_email[e]
        p = phone_key(phone)
        if p is None or p not in self.by_phone:
            return None
        if e is not None:
            # Found by phone only: still the same person unless the record has another email.
            who = self.by_phone[p]
            return None if who in self.emailed else who
        return self.by_phone[p]
