"""PLACEHOLDER for the If column's grammar (issue 14): the lead replaces this module with
w14cond's at merge. Same API, but only `Column op value` clauses joined by `and` (ops
= != < <= > >=, an optional relation prefix `account.Industry`), so the workflow engine and
its tests run. Blank text is always true.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from sheetcrm.cells import normalize_key

# relation -> the words people write before the dot, English and Spanish
RELATIONS: dict[str, tuple[str, ...]] = {
    "account": ("account", "cuenta"), "contact": ("contact", "contacto"),
    "opportunity": ("opportunity", "oportunidad", "deal"), "lead": ("lead",),
}
_RELATION = {normalize_key(w): rel for rel, words in RELATIONS.items() for w in words}
_CLAUSE = re.compile(r"\s*(?:(?P<rel>[^\W\d][\w]*)\.)?(?P<col>[^=!<>]+?)\s*(?P<op>!=|<=|>=|=|<|>)\s*(?P<val>.+?)\s*$")


class ConditionError(Exception):
    def __init__(self, message: str, hint: str = "", position: int = 0) -> None:
        super().__init__(message)
        self.message, self.hint, self.position = message, hint, position


@dataclass(frozen=True)
class Condition:
    clauses: tuple[tuple[str | None, str, str, str], ...] = ()

    def columns(self) -> frozenset[tuple[str | None, str]]:
        return frozenset((rel, col) for rel, col, _op, _val in self.clauses)

    def test(self, get: Callable[[str | None, str], Any]) -> bool:
        return all(_compare(get(rel, col), op, val) for rel, col, op, val in self.clauses)


def parse_condition(text: str | None, locale: str = "en") -> Condition:
    if text is None or not text.strip():
        return Condition()
    clauses = []
    position = 0
    for part in re.split(r"\s+(?:and|y)\s+", text.strip(), flags=re.IGNORECASE):
        m = _CLAUSE.match(part)
        if not m:
            raise ConditionError(f"cannot read {part!r}", "Write Column = value", position)  # not for people: placeholder
        rel = m["rel"]
        if rel is not None:
            if normalize_key(rel) not in _RELATION:
                raise ConditionError(f"unknown relation {rel!r}", "account., contact., opportunity., lead.", position)  # not for people: placeholder
            rel = _RELATION[normalize_key(rel)]
        clauses.append((rel, m["col"].strip(), m["op"], m["val"].strip().strip('"')))
        position += len(part) + 5
    return Condition(tuple(clauses))


def _compare(have: Any, op: str, text: str) -> bool:
    if have is None:
        return op == "!=" if text else op == "="
    want: Any = text
    if isinstance(have, bool):
        want, have = normalize_key(text) in ("yes", "true", "si", "1"), have
    elif isinstance(have, (int, float, Decimal)):
        try:
            want, have = Decimal(text.replace(",", ".")), Decimal(str(have))
        except InvalidOperation:
            return op == "!="
    elif isinstance(have, dt.date):
        try:
            want = dt.date.fromisoformat(text)
        except ValueError:
            return op == "!="
        have = have.date() if isinstance(have, dt.datetime) else have
    else:
        want, have = normalize_key(text), normalize_key(str(have))
    return {"=": have == want, "!=": have != want, "<": have < want, "<=": have <= want,
            ">": have > want, ">=": have >= want}[op]
