"""Free text people type, grouped as people read it: one owner, source, campaign or label
however its cells spell it.

"Ana García", "ana garcía" and "Ana  García" (a doubled or non-breaking space) are one owner,
"Referral", "referral " and "REFERRAL" one lead source, as the README says names compare:
ignoring case, non-breaking, zero-width and doubled spaces and curly quotes
(`cells.canonical_text`); accents count ("Jose" and "José" may be two people). Every summary
that groups or matches such text (the forecast and the Quotas tab's rows, the KPIs by owner,
source and campaign, the workflows' round-robin) compares it by `key`, and shows each group
under one spelling (`Spellings`), so a quota typed "ANA GARCÍA" is Ana García's, never a fourth
owner at 0 %, and "referral" is never a second source beside "Referral".
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping, TypeVar

from sheetcrm.cells import canonical_text


def key(name: str) -> str:
    """What two spellings of one name share: "Ana\u00a0 García" and "ana garcía" -> "ana garcía"."""
    return canonical_text(name).casefold()


_T = TypeVar("_T")


def lookup(by_name: Mapping[str, _T], name: str | None) -> _T | None:
    """The value `by_name` holds for `name` as names compare (`key`): an Owner cell "ana " finds
    `[owners] Ana`. None when no name matches, or when several do and their values differ
    (`Ana` and `ANA` with two addresses: never guessed)."""
    if not name:
        return None
    if name in by_name:
        return by_name[name]
    wanted = key(name)
    values = [v for n, v in by_name.items() if key(n) == wanted]
    return values[0] if values and all(v == values[0] for v in values) else None


class Spellings:
    """The spelling each name is shown under: the one `names` (in sheet order) use most, with
    its spaces tidied; on a tie, the first of them in that order. A name never seen is shown
    tidied."""

    def __init__(self, names: Iterable[str | None] = ()) -> None:
        votes: dict[str, Counter[str]] = {}
        # Each spelling tidied once, not once per cell (an owner repeats down thousands of rows): the
        # spellings counted in first-seen order, so each group and its spellings are met in the
        # order the cells first show them, as when counted cell by cell.
        for name, count in Counter(name for name in names if name).items():
            tidy = canonical_text(name)
            votes.setdefault(tidy.casefold(), Counter())[tidy] += count  # Counter keeps first-seen order on ties
        self._shown = {k: c.most_common(1)[0][0] for k, c in votes.items()}
        self._memo: dict[str, str] = {}  # a name repeats down thousands of rows

    def __call__(self, name: str) -> str:
        shown = self._memo.get(name)
        if shown is None:
            tidy = canonical_text(name)
            shown = self._memo[name] = self._shown.get(tidy.casefold(), tidy)
        return shown

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and key(name) in self._shown
