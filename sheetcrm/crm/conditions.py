"""The textual conditions a team writes in the Workflows tab's If column (or `if = "..."`).

    Amount > 5000 and Stage in (Proposal, Negotiation)
    Importe > 5000 y Etapa en (Propuesta, Negociación)
    Status = Customer and Industry in [Retail, Food] and Employees >= 50
    account.Industry contains software or not "Deal size" is empty

A condition compares columns, custom ones included, of the record itself or of a related
record (`account.Industry`, `oportunidad.Importe`) with values, combined with and/or/not and
parentheses (not binds tighter than and, and tighter than or). A list after `in` goes in
parentheses or in square brackets, as a person writes it. Keywords are English or
Spanish whatever the locale, with case and accents folded; the locale only decides how
numbers and dates written as values read. The comparisons mean exactly what the scoring
rules' operators mean (`rules.py`: text folded by `normalize_key`, numbers as Decimal,
dates as dates), through the same helpers.

Money is compared in the team's base currency (`Money`, `parse_condition`'s `rates`, the Rates
tab the forecast converts with, crm/money.py): the record's amount at the rate of its currency,
and the value too, at the rate of the currency it names (`Amount > 5000 EUR`, `Importe > €5000`);
a bare number is in the base currency. A comparison one of whose sides cannot be put in the
base currency (no rate; a symbol such as "kr" that names several currencies) is neither true
nor false: the whole condition then does not hold unless the rest decides it (`or` with a true
side, `and` with a false one), and `Condition.verdict` says why, for the caller to report at
the cell. `not` of an undecided comparison is undecided, never true.

A value that could be read two ways (`1.000`: one thousand, or one; `03/04/2026`: 4 March
or 3 April) is refused with a ConditionError rather than read by the locale: a rule that
silently tests the wrong number is the worst outcome. So is a comparison that can never
hold (`Source < Referral`).

The grammar is lark's (LALR with a contextual lexer): a keyword is one only where the
grammar can take it, so `Active = no` compares with "no" while `Owner no está vacío`
negates. A keyword inside a column name needs quotes: `"Contact in charge" is empty`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from babel.lists import format_list

# lark is imported by the functions that parse a condition or read its tree, not here: the
# settings read at every command's start import this module, and a CRM without workflow rules
# or segments never parses one (tests/test_startup_imports.py).
from sheetcrm import columns as column_reading
from sheetcrm.cells import (CURRENCY_CODES, SYMBOL_CURRENCIES, CellError, bare_percent, currency_of, date_style, is_blank, normalize_key,
                            parse_amount, parse_bool, parse_date, parse_money, parse_percent, separator_style, show_number)
from sheetcrm.crm.money import Rates, rates_tab, to_base
from sheetcrm.crm.rules import HOLDS, TWO_WAYS, _Candidate, as_date, as_number, as_text, strip_accents
from sheetcrm.i18n import N_, _, current, ngettext

# The word before the dot -> the related record's canonical key. The tabs' other names
# (aliases.toml: Companies, Deals, Negocios...) are accepted too, folded like headers.
RELATIONS: dict[str, str] = {
    "account": "account", "cuenta": "account", "company": "account", "empresa": "account",
    "contact": "contact", "contacto": "contact", "person": "contact", "persona": "contact",
    "opportunity": "opportunity", "oportunidad": "opportunity", "deal": "opportunity",
    "negocio": "opportunity", "trato": "opportunity",
    "lead": "lead", "prospecto": "lead",
}

# The grammar runs on a copy of the text with accents stripped letter by letter (same
# length, so every position is one in the text as written); values and column names are
# sliced from the text as written.
_GRAMMAR = r"""
?start: disj
?disj: conj (OR conj)*
?conj: neg (AND neg)*
?neg: NOT neg                   -> negation
    | atom
?atom: LPAR disj RPAR
     | comparison
comparison: column COMPARE value  -> compare
          | column IN list        -> member
          | column NOT IN list    -> not_member
          | column CONTAINS value -> contains
          | column MATCHES value  -> matches
          | column IS EMPTY       -> empty
          | column IS NOT EMPTY   -> present
          | column NOT IS EMPTY   -> present
column: RELATION? name
name: WORD+ | STRING
value: STRING | WORD+
list: LPAR value (COMMA value)* RPAR
    | LSQB value (COMMA value)* RSQB

LPAR: "("
RPAR: ")"
LSQB: "["
RSQB: "]"
COMMA: /[,;]/
COMPARE: /==?|!=|<>|<=|>=|<|>|\u2260|\u2264|\u2265/
OR.2: /(?:or|o)\b/i
AND.2: /(?:and|y)\b/i
NOT.2: /(?:not|no)\b/i
IN.2: /(?:in|en)\b/i
CONTAINS.2: /(?:contains|contiene)\b/i
MATCHES.2: /(?:matches|coincide\s+con)\b/i
IS.2: /(?:is|esta|es)\b/i
EMPTY.2: /(?:empty|blank|vacio|vacia)\b/i
RELATION.3: /(?:__RELATIONS__)\./i
STRING: /"[^"]*"|'[^']*'|\u201c[^\u201d]*\u201d|\u2018[^\u2019]*\u2019|\u00ab[^\u00bb]*\u00bb/
// A run of anything but spaces, quotes, parentheses, brackets and operators; a comma only between
// digits ("1,5", "1,234"), so that "in (a, b)" and "in (a,b)" list two values.
WORD: /(?:[^\s()\[\]"'\u201c\u201d\u2018\u2019\u00ab\u00bb,;=<>!\u2260\u2264\u2265]|(?<=\d),(?=\d))(?:[^\s()\[\]"\u201c\u201d\u2018\u2019\u00ab\u00bb,;=<>!\u2260\u2264\u2265]|(?<=\d),(?=\d))*/
%ignore /\s+/
"""  # not for people: lark's grammar

_OPENING_QUOTES = "\"'\u201c\u2018\u00ab"
_ORDERING = {"<", "<=", ">", ">=", "\u2264", "\u2265"}
_OP_NAMES = {"==": "=", "<>": "!=", "\u2260": "!=", "\u2264": "<=", "\u2265": ">="}
# A bare value of digits and separators (with a sign, a currency, a percent sign) is a number
# or a mistake, never text (`_numberish`); three digit groups split by one of / - . are a date
# or a mistake.
_NUMBER_SHAPE = re.compile(r"[-+\u2212(]?\s*[0-9.,\s'\u2019]*[0-9][0-9.,\s'\u2019]*\s*\)?\s*%?")
_DATEISH = re.compile(r"[0-9]{1,4}([-/.])[0-9]{1,2}\1[0-9]{1,4}(?:[ t].*)?", re.IGNORECASE)


@cache
def _parser() -> Lark:
    from lark import Lark

    relations = "|".join(sorted(RELATIONS, key=len, reverse=True))
    return Lark(_GRAMMAR.replace("__RELATIONS__", relations), parser="lalr", lexer="contextual")


class ConditionError(ValueError):
    """A condition that cannot be read: `message` says what is wrong, `hint` how to fix it
    (with an example of a right condition), both in the current language; `position` is the
    0-based character offset in the condition's text where it went wrong."""

    def __init__(self, message: str, hint: str, position: int):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.position = position

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return (type(self), (self.message, self.hint, self.position))


class ColumnTypeError(ConditionError):
    """A condition that compares a column with a value of another type (a date column with
    `> 5`, a number column with `>= 2025-01-01`): it could never hold, so it is refused
    where it is written, as an unknown column is (`parse_condition`'s `types`)."""


Get = Callable[[str | None, str], Any]
Column = tuple[str | None, str]
# What a column holds, as `parse_condition`'s `types` says it (table.field_kinds, a custom
# column's declared or inferred type) -> the values it compares with.
_NUMERIC = frozenset({"number", "integer", "money", "percent"})
_DATES = frozenset({"date", "datetime"})
_HOLDS = HOLDS


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money as `get` gives it for a column that holds money (Amount, a Budget):
    `amount` as written in `currency` (an ISO code; None: the base currency, as crm/money.py's
    `to_base` reads a blank Currency). `unsure`: the symbol the cell was written with when it
    names several currencies and none can be told ("kr"), so `currency` means nothing. `at`:
    whatever the caller needs to find the cell again (the record), never compared."""

    amount: Decimal
    currency: str | None = None
    unsure: str | None = None
    at: Any = field(default=None, compare=False)

    def in_base(self, rates: Rates) -> Decimal | None:
        """The amount in `rates.base`; None when it cannot be put there (`Doubt` says why)."""
        return None if self.unsure is not None else to_base(self.amount, self.currency, rates)


@dataclass(frozen=True, slots=True)
class Text:
    """A cell of a column the read keeps as text (a team's own column fewer than 95 % of whose
    cells are numbers or dates, `columns.infer_kind`, or one the config declares text), as `get`
    gives it: `raw` as typed; `locale`, `sure` how its tab reads numbers and dates (the config's
    locale, `sure`, else the tab's language); `at` whatever the caller needs to find the cell
    again, never compared. Only a comparison with a number or a date sees it (the others see
    `raw`): it reads the cell as the read would (`columns.read_text`), and a cell that does not
    read so with certainty leaves the comparison undecided (`Doubt.problem`), never read by
    another locale's conventions nor compared quietly."""

    raw: Any
    locale: str = "en"
    sure: bool = False
    at: Any = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Doubt:
    """Why a comparison could not be decided for a record: the `column` compared and the
    record's `money`, whose currency has no rate (or is `Money.unsure`); or, `money` None, the
    condition's own value names a `currency` with no rate (said once, where the rule is read:
    `Condition.unpriced`); or `problem`, why a `Text` cell (`at` it) does not read as the
    number or date it is compared with."""

    column: Column
    money: Money | None
    currency: str | None
    problem: CellError | None = None
    at: Any = field(default=None, compare=False)


class Unsure:
    """A verdict that is neither true nor false: `doubts`, the comparisons that could not be
    decided. Falsy, so a caller that only asks "does it hold?" reads it as no."""

    __slots__ = ("doubts",)

    def __init__(self, doubts: tuple[Doubt, ...]):
        self.doubts = doubts

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"Unsure({self.doubts!r})"


Verdict = Any  # True, False or an Unsure


class _Node:
    def test(self, get: Get) -> Verdict:
        raise NotImplementedError

    def columns(self) -> Iterator[Column]:
        return iter(())


class _Always(_Node):
    def test(self, get: Get) -> Verdict:
        return True


_ALWAYS = _Always()


class _All(_Node):
    """Kleene's and: false if any part is false, else undecided if any is, else true."""

    def __init__(self, parts: list[_Node]):
        self.parts = parts

    def test(self, get: Get) -> Verdict:
        unsure = None
        for p in self.parts:  # a loop, not all(generator): tested for every record of a segment
            r = p.test(get)
            if r is False:
                return False
            if r is not True:
                unsure = r if unsure is None else Unsure(unsure.doubts + r.doubts)
        return True if unsure is None else unsure

    def columns(self) -> Iterator[Column]:
        for p in self.parts:
            yield from p.columns()


class _Any(_All):
    """Kleene's or: true if any part is true, else undecided if any is, else false."""

    def test(self, get: Get) -> Verdict:
        unsure = None
        for p in self.parts:
            r = p.test(get)
            if r is True:
                return True
            if r is not False:
                unsure = r if unsure is None else Unsure(unsure.doubts + r.doubts)
        return False if unsure is None else unsure


def _negate(r: Verdict) -> Verdict:
    return r if isinstance(r, Unsure) else not r


class _Not(_Node):
    def __init__(self, part: _Node):
        self.part = part

    def test(self, get: Get) -> Verdict:
        return _negate(self.part.test(get))

    def columns(self) -> Iterator[Column]:
        return self.part.columns()


class _Test(_Node):
    """One column's test. An empty cell (None, or only spaces) passes only `is empty`, `!=`
    and `not in` (`when_empty`), as a scoring rule never matches an empty cell: it is equal
    to nothing and neither less nor greater than anything. A `Money` cell reaches only a
    verdict that compares `money`; the others see its amount."""

    def __init__(self, column: Column, verdict: Callable[[Any], Verdict], when_empty: bool = False,
                 choices: bool = False, money: bool = False, text: bool = False):
        self.column = column
        self.verdict = verdict
        self.when_empty = when_empty
        self.choices = choices  # the verdict compares a Choice by what the words name
        self.money = money  # the verdict compares a Money in the base currency
        self.text = text  # the verdict reads a Text cell as a number or a date

    def test(self, get: Get) -> Verdict:
        value = get(*self.column)
        if type(value) is Text and not self.text:
            value = value.raw
        plain = value.value if isinstance(value, Choice) else value
        if is_blank(plain.raw if type(plain) is Text else plain):
            return self.when_empty
        if type(plain) is Money and not self.money:
            return self.verdict(plain.amount)
        return self.verdict(value if self.choices else plain)

    def columns(self) -> Iterator[Column]:
        yield self.column


@dataclass(frozen=True)
class Choice:
    """A cell of a column with a fixed set of values (a stage, a lead status), as `get` may
    give it: `value` the canonical value, `named(word)` the canonical value a normalized word
    names (an alias, the Spanish name) or None. `=`, `!=`, `in` and `not in` compare what the
    words name, so `Stage = Won` and `Etapa en (Ganada, Perdida)` hold for a Closed Won deal;
    the other operators read `value`."""

    value: Any
    named: Callable[[str], Any]


class References(dict[str, str]):
    """The words of a reference column whose cells keep what was typed (a contact's Account:
    "Initech" or "ACC-0001"): normalize_key(an ID or a name) -> the record's ID. A word names
    a cell's value when both name the same record, so `Account = Initech` holds for a contact
    whose cell says ACC-0001, as `Status = Cliente` does for a Customer; other operators
    (`contains`) read the cell as typed."""

    def choice(self, value: str) -> Choice:
        own = self.get(normalize_key(value))
        return Choice(value, lambda word: value if (named := self.get(word)) is not None and named == own else named)


def _equals(candidate: _Candidate, cell: Any) -> bool:
    if isinstance(cell, Choice):
        named = cell.named(candidate.text)
        return named == cell.value if named is not None else candidate.equals(cell.value)
    return candidate.equals(cell)


class _OneOf:
    """Whether a cell `_equals` any of the candidates (`in (a, b, c)`). A text cell is looked up
    among the candidates' folded texts at once; only the candidates that may also equal it
    another way (a number, a yes or no: `_Candidate.equals`) are then asked one by one. A
    `Text` cell (`column` it is of) is read as a number or a date only as `columns.read_text`
    reads it: one that reads two ways leaves it undecided."""

    def __init__(self, candidates: list[_Candidate], column: Column | None = None):
        self.candidates = candidates
        self.column = column
        self.texts = frozenset(c.text for c in candidates)
        self.others = [c for c in candidates if c.flag is not None or c.number is not None]
        # The numbers and dates written as such (a quoted "1.500" is text, compared as text).
        self.typed = {kind: [v for c in candidates if not isinstance(c.raw, str) and (v := getattr(c, kind)) is not None]
                      for kind in ("number", "date")}

    def __call__(self, cell: Any) -> Verdict:
        if type(cell) is str:  # as_text leaves it as it is: its folded text is the one compared
            return normalize_key(cell) in self.texts or any(c.equals(cell) for c in self.others)
        if type(cell) is Text:
            return self.text(cell)
        return any(_equals(c, cell) for c in self.candidates)

    def text(self, cell: Text) -> Verdict:
        if normalize_key(cell.raw) in self.texts or any(c.equals(cell.raw) for c in self.others if c.flag is not None):
            return True
        for kind, values in self.typed.items():
            if not values:
                continue
            read = column_reading.read_text(cell.raw, kind, cell.locale, cell.sure)
            if not isinstance(read, CellError):
                if read in values:
                    return True
            elif read.code in TWO_WAYS:  # it may be equal: neither true nor false
                return Unsure((Doubt(self.column, None, None, read, cell.at),))  # type: ignore[arg-type]
        return False


def _on_text(column: Column, kind: str, compare: Callable[[Any], bool]) -> Callable[[Text], Verdict]:
    """An ordering's verdict on a `Text` cell: `compare` of its reading as a `kind`, undecided
    when it has none (`columns.read_text`: it reads two ways, or is no number or date)."""

    def verdict(cell: Text) -> Verdict:
        read = column_reading.read_text(cell.raw, kind, cell.locale, cell.sure)
        if isinstance(read, CellError):
            return Unsure((Doubt(column, None, None, read, cell.at),))
        return compare(read)
    return verdict


@dataclass(frozen=True, slots=True)
class _Priced:
    """A number value written with a currency ("5000 EUR", "€5.000"): `amount` in `currency`
    (an ISO code), `written` as typed."""

    amount: Decimal
    currency: str
    written: str


class _InBase:
    """The verdict of a comparison on a `Money` cell, both sides in the base currency: `test`
    takes the cell's and each value's base amounts (a bare number is one already), and says
    whether they compare as the operator asks. Undecided (`Unsure`) when the cell cannot be put
    in the base currency, or when no value decided it and one of them could not."""

    def __init__(self, column: Column, values: list[Decimal | _Priced], rates: Rates,
                 test: Callable[[Decimal, list[Decimal]], bool], negate: bool = False):
        self.column, self.test, self.negate = column, test, negate
        self.bases: list[Decimal] = []
        self.unpriced: list[str] = []  # currencies of values with no rate: said where the rule is read
        for v in values:
            if isinstance(v, _Priced):
                base = to_base(v.amount, v.currency, rates)
                if base is None:
                    self.unpriced.append(v.currency)
                else:
                    self.bases.append(base)
            else:
                self.bases.append(v)
        self.rates = rates

    def __call__(self, cell: Money) -> Verdict:
        amount = cell.in_base(self.rates)
        if amount is None:
            return Unsure((Doubt(self.column, cell, cell.currency),))
        if self.test(amount, self.bases):
            return not self.negate
        if self.unpriced:
            return Unsure(tuple(Doubt(self.column, None, c) for c in self.unpriced))
        return self.negate


@dataclass(frozen=True)
class Condition:
    """A parsed condition; `text` as written. Build with `parse_condition`.

    `priced`: (column, value as written, its currency) of each value that names a currency, which
    only a money column can take: the caller refuses the others. `unpriced`: the currencies the
    values name that `rates` has no rate for (such a comparison is undecided on every record
    with an amount): the caller says so where the condition is written. `equated`: (column,
    value as written) of each text value `=`, `!=`, `in` and `not in` compare with, in order:
    the caller refuses a word that names none of the values a column of fixed values (a stage,
    a status) can hold, on which the rule would never hold, or always (`!=`)."""

    text: str
    _node: _Node = field(default=_ALWAYS, compare=False, repr=False)
    priced: tuple[tuple[Column, str, str], ...] = field(default=(), compare=False)
    unpriced: tuple[str, ...] = field(default=(), compare=False)
    equated: tuple[tuple[Column, str], ...] = field(default=(), compare=False)

    def columns(self) -> frozenset[Column]:
        """(relation key or None for the record itself, column name as written) of every
        column the condition reads: what the caller checks exists before any `test`."""
        return frozenset(self._node.columns())

    def test(self, get: Get) -> bool:
        """Whether the condition holds. `get(relation, column)` gives the typed cell (str,
        Decimal/int/float, date, bool, a `Money` for a column that holds money) or None for an
        empty one, for each pair `columns()` names; its KeyError (an unknown column)
        propagates. An undecided condition (`verdict`) does not hold."""
        return self._node.test(get) is True

    def verdict(self, get: Get) -> Verdict:
        """True, False, or an `Unsure` naming the money comparisons that left it undecided
        (the caller reports each `Doubt` at its cell, and treats the record as not matching)."""
        return self._node.test(get)


def parse_condition(text: str | None, locale: str, rates: Rates | None = None,
                    types: Callable[[Column], str | None] | None = None) -> Condition:
    """The condition in `text` ("Amount > 5000 and Stage = Proposal"); a blank text is a
    condition that always holds. `locale` ("en"/"es") reads numbers and dates written as
    values (cells.parse_number, parse_date). `rates`: the Rates tab and base currency
    (crm/money.py) a `Money` cell and a value naming a currency ("5000 EUR") are compared in;
    a bare number is in the base currency. Without `rates` there is no base currency: a `Money`
    cell compares by its amount alone, so a caller whose `get` gives one passes them. Raises
    ConditionError, also for a value in a symbol that names several currencies none of which
    is the base ("$" in a euro team, "kr").

    `types(column)`: what a column holds ("number", "integer", "money", "percent", "date",
    "datetime", "bool"; None: text, or not known), when the caller knows it. A value of
    another type (`Close Date > 5`, `Employees >= 2025-01-01`, `Active > 1`) is then a
    ColumnTypeError; a bare number compared with a percentage column is read as the column's
    cells are (`_Reader.percent`)."""
    from lark import UnexpectedInput

    if text is None or not text.strip():
        return Condition(text or "")
    # Letters only: "≠" decomposes to "=" and a combining stroke, the opposite of what it says.
    folded = "".join(f if c.isalpha() and len(f := strip_accents(c)) == 1 else c for c in text)
    try:
        tree = _parser().parse(folded)
    except UnexpectedInput as e:
        raise _syntax_error(text, e) from None
    reader = _Reader(text, locale, rates, types)
    node = reader.node(tree)
    return Condition(text, node, tuple(reader.priced), tuple(dict.fromkeys(reader.unpriced)), tuple(reader.equated))


def read_value(text: str, locale: str, shape: Callable[[str], str], percent: bool = False) -> Decimal | dt.date | None:
    """A bare value written outside a condition (a trigger's "Amount changes to 1.000") read as a
    condition's value is: a date, else a number, as `locale` writes them; `percent`: the column
    holds percentages, so a bare number is read as `_Reader.percent` reads it. None when the
    text is neither; ConditionError when it is wrong or reads two ways ("1.000", "03/04/2026").
    `shape(value)`: the whole text with `value` in its place, for the hints' examples."""
    text = " ".join(text.split())
    reader = _Reader(text, locale)
    found = reader.date(text, shape, 0)
    if found is not None:
        return found
    number = reader.number(text, shape, 0, ordering=True)
    if number is not None and percent and not text.endswith("%"):
        return reader.percent(number, text, shape, 0)
    return number


def read_flag(text: str) -> bool | None:
    """A yes / no written outside a condition (a trigger's "Active changes to sí") as a tick
    box cell reads: True, False, or None when it is neither."""
    try:
        return parse_bool(text)
    except CellError:
        return None


# --- what the callers say about money ---------------------------------------------------------

# The hint of a currency with no rate: crm/money.py's own words, one translation.
_ADD_RATE = N_("Add {currency} to the {rates} tab with how many {base} one {currency} is worth.")
_ONE_WAY = N_("Write the rate for {currency} on the {rates} tab so that it reads one way.")
_VALUE_DOUBTED = N_('The rate for {currency} on the {rates} tab may mean something else ({doubt}): this condition '
                    'compares amounts in {base}, so "{value}" cannot be put in {base} and the condition holds for no '
                    'record whose amount it would decide.')
_VALUE_NO_RATE = N_('No exchange rate for {currency}: this condition compares amounts in {base}, so "{value}" '
                    "cannot be put in {base} and the condition holds for no record whose amount it would decide.")


def doubt_said(doubt: Doubt, conditions: Sequence[str], column: str, rates: Rates | None
               ) -> tuple[str, str, str]:
    """(issue code, message, hint) of a record's `Doubt` (its `money` set), one for the cell
    however many conditions it left undecided: `missing_rate` for a currency with no rate,
    `ambiguous_currency` for a symbol of several; `conditions` name the rules and segments
    ("the condition of rule WF-0001"), `column` the header as the sheet has it; `rates` the Rates
    read (None only for a `problem`): a rate there that may mean something else (`Rates.doubt`)
    is said as that, not as no rate. A `Text` cell
    that does not read as the number or date compared (`doubt.problem`): the read's own code
    (ambiguous_number, bad_date…) and words, with the conditions it leaves undecided."""
    named = _listed(conditions)
    if doubt.problem is not None:
        message = ngettext("{problem} For {condition} it is neither true nor false, so it does not hold for this "
                           "record.",
                           "{problem} For {condition} it is neither true nor false, so they do not hold for this "
                           "record.", len(conditions), problem=doubt.problem.message, condition=named)
        return doubt.problem.code, message, _(column_reading.TEXT_HINT)
    money = doubt.money
    assert money is not None and rates is not None
    base = rates.base
    if money.unsure is not None:
        codes = ", ".join(SYMBOL_CURRENCIES.get(money.unsure, (money.unsure,)))
        message = ngettext('"{token}" could be {codes}: {condition} compares {column} in {base}, so it does not hold '
                           "for this record.",
                           '"{token}" could be {codes}: {condition} compare {column} in {base}, so they do not hold '
                           "for this record.", len(conditions),
                           token=money.unsure, codes=codes, condition=named, column=column, base=base)
        return "ambiguous_currency", message, _("Write the ISO code instead, like {codes}.", codes=codes)
    currency = money.currency or base
    if (rate_doubt := rates.doubt(currency)) is not None:
        message = ngettext("The rate for {currency} on the {rates} tab may mean something else ({doubt}): {condition} "
                           "compares {column} in {base}, so it does not hold for this record.",
                           "The rate for {currency} on the {rates} tab may mean something else ({doubt}): {condition} "
                           "compare {column} in {base}, so they do not hold for this record.", len(conditions),
                           currency=currency, rates=rates_tab(rates), doubt=rate_doubt.message.rstrip("."),
                           condition=named, column=column, base=base)
        return "missing_rate", message, _(_ONE_WAY, currency=currency, rates=rates_tab(rates))
    message = ngettext("No exchange rate for {currency}: {condition} compares {column} in {base}, so it does not "
                       "hold for this record.",
                       "No exchange rate for {currency}: {condition} compare {column} in {base}, so they do not "
                       "hold for this record.", len(conditions),
                       currency=currency, condition=named, column=column, base=base)
    return "missing_rate", message, _(_ADD_RATE, currency=currency, rates=rates_tab(rates), base=base)


def also_undecided(message: str, conditions: Sequence[str], base: str) -> str:
    """`message`, the warning already at a deal's Amount whose currency has no rate (crm/money.py:
    left out of totals), with the `conditions` it leaves undecided too: one line at the cell."""
    also = ngettext("It cannot be compared in {base} either, so {condition} does not hold for this record.",
                    "It cannot be compared in {base} either, so {condition} do not hold for this record.",
                    len(conditions), base=base, condition=_listed(conditions))
    return f"{message} {also}"


def _listed(items: Sequence[str]) -> str:
    """"a, b and c" as the current language lists them (babel)."""
    return format_list(list(items), locale=current()) if len(items) > 1 else "".join(items)


def unpriced_said(condition: Condition, rates: Rates) -> list[tuple[str, str, str]]:
    """(issue code, message, hint) for each currency the condition's values name that has no
    rate, or one that may mean something else (`Condition.unpriced`): a `missing_rate` warning
    where the condition is written."""
    written: dict[str, str] = {}
    for _column, value, currency in condition.priced:
        written.setdefault(currency, value)
    base, tab = rates.base, rates_tab(rates)
    out = []
    for c in condition.unpriced:
        if (doubt := rates.doubt(c)) is not None:
            out.append(("missing_rate", _(_VALUE_DOUBTED, currency=c, rates=tab, doubt=doubt.message.rstrip("."),
                                          base=base, value=written.get(c, c)),
                        _(_ONE_WAY, currency=c, rates=tab)))
        else:
            out.append(("missing_rate", _(_VALUE_NO_RATE, currency=c, base=base, value=written.get(c, c)),
                        _(_ADD_RATE, currency=c, rates=tab, base=base)))
    return out


def not_money_said(column: str, value: str) -> tuple[str, str]:
    """(problem, hint) of a value naming a currency compared with a column that holds no money:
    refused, as the read refuses "$50" under Discount % (cells.money_refused)."""
    return (_('{column} holds no money, but "{value}" names a currency', column=column, value=value),
            _("Write the number without a currency sign or code: only an amount of money has one."))


# --- from the tree to tests -------------------------------------------------------------


def _span(item: Tree | Token) -> tuple[int, int]:
    from lark import Token

    if isinstance(item, Token):
        return item.start_pos, item.end_pos  # type: ignore[return-value]
    tokens = [t for t in item.scan_values(lambda v: isinstance(v, Token))]
    return tokens[0].start_pos, tokens[-1].end_pos  # type: ignore[return-value]


class _Reader:
    """Turns the parse tree into tests, reading each value as the locale writes it."""

    def __init__(self, text: str, locale: str, rates: Rates | None = None,
                 types: Callable[[Column], str | None] | None = None):
        self.text = text
        self.locale = locale
        self.rates = rates
        self.types = types
        self.priced: list[tuple[Column, str, str]] = []  # Condition.priced
        self.unpriced: list[str] = []  # Condition.unpriced
        self.equated: list[tuple[Column, str]] = []  # Condition.equated

    def written(self, item: Tree | Token) -> str:
        start, end = _span(item)
        return " ".join(self.text[start:end].split())

    def node(self, tree: Tree | Token) -> _Node:
        from lark import Token, Tree

        kind = tree.data if isinstance(tree, Tree) else None
        if kind == "disj":
            return _Any([self.node(c) for c in tree.children if not isinstance(c, Token)])
        if kind == "conj":
            return _All([self.node(c) for c in tree.children if not isinstance(c, Token)])
        if kind == "negation":
            return _Not(self.node(tree.children[1]))
        if kind == "atom":  # ( disj )
            return self.node(tree.children[1])
        assert isinstance(tree, Tree), tree
        column_tree, op, *rest = tree.children
        column = self.column_at = self.column(column_tree)
        name = self.written(column_tree)
        if kind == "empty":
            return _Test(column, lambda v: False, when_empty=True)
        if kind == "present":
            return _Test(column, lambda v: True)
        if kind in ("member", "not_member"):
            values = rest[-1].children[1::2]
            literals = [self.value(v, name, "in") for v in values]
            for literal, value_tree in zip(literals, values):
                self.check_type(column, literal, "in", value_tree, name)
            self.equated.extend((column, x) for x in literals if isinstance(x, str))
            one_of = _OneOf([_Candidate(_plain(x)) for x in literals], column)  # type: ignore[arg-type]
            if kind == "member":
                return self.equality(column, literals, one_of, negate=False)
            return self.equality(column, literals, lambda v: _negate(one_of(v)), negate=True)
        value_tree = rest[0]
        if kind == "contains":
            needle = normalize_key(self.raw_text(value_tree))
            if not needle:
                raise self.error_at(value_tree, _('"{op}" needs some text to look for', op=op.value),
                                    _('For example: {column} contains urgent', column=name))
            return _Test(column, lambda v: needle in normalize_key(as_text(v)))
        if kind == "matches":
            source = self.raw_text(value_tree)
            try:
                pattern = re.compile(strip_accents(source), re.IGNORECASE)
            except re.error as e:
                raise ConditionError(_("{value} is not a valid regular expression: {error}",
                                       value=self.quoted(value_tree), error=e),
                                     _("For example: {column} matches \"^(re|fwd):\"", column=name),
                                     _span(value_tree)[0] + (e.pos or 0) + (1 if self.is_quoted(value_tree) else 0)
                                     ) from None
            return _Test(column, lambda v: pattern.search(strip_accents(as_text(v))) is not None)
        op_name = _OP_NAMES.get(op.value, op.value)
        literal = self.value(value_tree, name, op_name)
        self.check_type(column, literal, op_name, value_tree, name)
        if op_name in ("=", "!="):
            if isinstance(literal, str):
                self.equated.append((column, literal))
            equal = _OneOf([_Candidate(_plain(literal))], column)  # type: ignore[arg-type]  # one candidate: `_equals` it
            if op_name == "=":
                return self.equality(column, [literal], equal, negate=False)
            return self.equality(column, [literal], lambda v: _negate(equal(v)), negate=True)
        return self.ordering(column, op_name, literal, value_tree, name)

    def equality(self, column: Column, literals: list[Any], plain: Callable[[Any], bool], negate: bool) -> _Node:
        """`=` / `in` (`!=` / `not in` when `negate`): `plain` on any cell but a `Money`, which
        is compared in the base currency with the values that are numbers (no text equals an
        amount)."""
        numbers = [x for x in literals if isinstance(x, (Decimal, _Priced))]
        text = any(isinstance(x, (Decimal, _Priced, dt.date)) for x in literals)  # a Text cell may read as one
        if self.rates is None or not numbers:
            return _Test(column, plain, when_empty=negate, choices=True, text=text)
        money = self.in_base(column, numbers, lambda a, bases: a in bases, negate)
        return _Test(column, lambda v: money(v) if type(v) is Money else plain(v), when_empty=negate,
                     choices=True, money=True, text=text)

    def in_base(self, column: Column, numbers: list[Decimal | _Priced], test: Callable[[Decimal, list[Decimal]], bool],
                negate: bool = False) -> _InBase:
        assert self.rates is not None
        money = _InBase(column, numbers, self.rates, test, negate)
        self.unpriced.extend(money.unpriced)
        return money

    def ordering(self, column: Column, op: str, literal: Any, value_tree: Tree, name: str) -> _Node:
        priced = literal if isinstance(literal, _Priced) else None
        literal = _plain(literal)
        if isinstance(literal, dt.date):
            read: Callable[[Any], Any] = as_date
        elif isinstance(literal, Decimal):
            read = as_number
        else:
            raise self.error_at(value_tree,
                                _('"{op}" compares numbers or dates, and {value} is neither',
                                  op=op, value=self.quoted(value_tree)),
                                _("For example: {column} {op} 5000, or {column} {op} 2025-01-31",
                                  column=name, op=op))
        compare = {"<": lambda a: a < literal, "<=": lambda a: a <= literal,
                   ">": lambda a: a > literal, ">=": lambda a: a >= literal}[op]

        text = _on_text(column, "date" if read is as_date else "number", compare)

        def plain(v: Any) -> Verdict:
            if type(v) is Text:
                return text(v)
            return (cell := read(v)) is not None and compare(cell)
        if self.rates is None or read is not as_number:
            return _Test(column, plain, text=True)
        against = {"<": lambda a, b: a < b[0], "<=": lambda a, b: a <= b[0],
                   ">": lambda a, b: a > b[0], ">=": lambda a, b: a >= b[0]}[op]
        money = self.in_base(column, [priced or literal], lambda a, bases: bool(bases) and against(a, bases))
        return _Test(column, lambda v: money(v) if type(v) is Money else plain(v), money=True, text=True)

    def column(self, tree: Tree) -> Column:
        *relation, name = tree.children
        written = self.raw_text(name)
        if relation:
            return RELATIONS[normalize_key(relation[0].value[:-1])], written
        if not self.is_quoted(name):
            # "acount.Industry": a relation misspelt, which would read as an unknown column.
            first = name.children[0]
            prefix, dot, rest = first.value.partition(".")
            if dot and rest and prefix.isalpha() and normalize_key(prefix) not in RELATIONS:
                raise ConditionError(
                    _('"{word}" is not a related record; before the dot write account, contact, opportunity or '
                      'lead', word=self.text[first.start_pos:first.start_pos + len(prefix)]),
                    _('For example: account.Industry = Software; a column whose name has a dot goes in quotes: '
                      '"{column}" = 5', column=written),
                    first.start_pos)
        if not written:
            raise self.error_at(name, _("a column name cannot be empty"),
                                _("For example: Amount > 5000"))
        return None, written

    def raw_text(self, tree: Tree) -> str:
        """A value's or column's text: a quoted one exactly as typed between its quotes, a bare
        one with each run of spaces made one (as `normalize_key` would compare it anyway)."""
        if self.is_quoted(tree):
            start, end = _span(tree)
            return self.text[start + 1:end - 1]
        return self.written(tree)

    def is_quoted(self, tree: Tree) -> bool:
        from lark import Token

        first = tree.children[0]
        return isinstance(first, Token) and first.type == "STRING"

    def quoted(self, tree: Tree) -> str:
        return self.written(tree) if self.is_quoted(tree) else f'"{self.written(tree)}"'

    def error_at(self, tree: Tree, message: str, hint: str) -> ConditionError:
        return ConditionError(message, hint, _span(tree)[0])

    def value(self, tree: Tree, column: str, op: str) -> Decimal | _Priced | dt.date | str:
        """The typed value: a quoted value is text; a bare one is a date, a number (a `_Priced`
        when it names its currency) or a percentage when it reads as one in the locale, else
        text. `column` and `op` shape the examples of the hints."""
        text = self.raw_text(tree)
        at = _span(tree)[0]
        if self.is_quoted(tree):
            if not text.strip():
                raise ConditionError(
                    _("an empty value matches nothing: an empty cell is equal to no value"),
                    _("To test for an empty cell write: {column} is empty", column=column), at)
            return text
        # The hints show the whole comparison, the way it should be written.
        shape = (lambda v: f"{column} in ({v})") if op == "in" else (lambda v: f"{column} {op} {v}")
        found = self.date(text, shape, at)
        if found is None:
            found = self.number(text, shape, at, ordering=op in _ORDERING)
        if isinstance(found, Decimal) and not text.endswith("%") and self.type_of(self.column_at) == "percent":
            return self.percent(found, text, shape, at)
        if isinstance(found, Decimal) and not text.endswith("%"):
            currency = self.currency(text, found, shape, at)
            if currency is not None:
                self.priced.append((self.column_at, self.written(tree), currency))
                return _Priced(found, currency, self.written(tree))
        return text if found is None else found

    def type_of(self, column: Column) -> str | None:
        return self.types(column) if self.types is not None else None

    def percent(self, value: Decimal, text: str, shape: Callable[[str], str], at: int) -> Decimal:
        """A bare number compared with a percentage column, in percentage points as its cells
        are read (`cells.bare_percent`); exactly 1 is refused. "10%" is always 10 points."""
        points = bare_percent(value)
        if points is None:
            raise ConditionError(
                _('"{value}" compared with percentages is ambiguous: 1 % or 100 %', value=text),
                _("Write it with a percent sign: {example} (or {other})", example=shape("1%"), other=shape("100%")),
                at)
        return points

    def check_type(self, column: Column, literal: Any, op: str, tree: Tree, name: str) -> None:
        """ColumnTypeError when `literal` is of a type `column` never holds (`parse_condition`)."""
        kind = self.type_of(column)
        if kind is None:
            return
        literal = _plain(literal)
        if kind in _NUMERIC - {"percent"} and isinstance(literal, Decimal) and self.raw_text(tree).rstrip().endswith("%"):
            # Its cells are plain numbers: 10 % is 0.1 in a column of fractions (0.15 typed
            # unformatted), 10 in one of points; compared as 10 points with 0.15, it held for no
            # record and nothing said so.
            points = _plain(literal)
            fraction = show_number(points.scaleb(-2).normalize(), locale=self.locale)
            example = f"{name} {op} {fraction}"
            raise ColumnTypeError(
                _('"{column}" holds plain numbers, not percentages, and {value} is a percentage: whether its cells '
                  'write it as {fraction} or as {points} cannot be told', column=name, value=self.quoted(tree),
                  fraction=fraction, points=show_number(points.normalize(), locale=self.locale)),
                _('Compare it with a number written as its cells are ({example}), or format the column\'s cells as '
                  'percentages.', example=example), _span(tree)[0])
        if kind in _DATES and isinstance(literal, Decimal) or kind in _NUMERIC and isinstance(literal, dt.date) \
                or kind == "bool" and op in _ORDERING:
            other = _("a date") if isinstance(literal, dt.date) else _("a number")
            fit = "yes" if kind == "bool" else "2026-01-31" if kind in _DATES else "5000"
            example = f"{name} = yes" if kind == "bool" else f"{name} in ({fit})" if op == "in" else f"{name} {op} {fit}"
            hint = _("Compare it with a value of its type, e.g. {example}.", example=example)
            if kind in _NUMERIC and isinstance(literal, dt.date):
                hint += " " + _('If its cells are dates that show as numbers (46000), format them as dates or '
                                'declare the column\'s type in sheetcrm.toml: "{column}" = {{ type = "date" }}.',
                                column=name)
            raise ColumnTypeError(_('"{column}" holds {holds}, and {value} is {other}: "{op}" can never hold',
                                    column=name, holds=_(_HOLDS[kind]), value=self.quoted(tree), other=other, op=op),
                                  hint, _span(tree)[0])

    def currency(self, text: str, amount: Decimal, shape: Callable[[str], str], at: int) -> str | None:
        """The ISO code of the currency a number value names ("5000 EUR", "€5.000"), None for a
        bare number. A symbol of several currencies is the base currency when that is one of
        them ("$" in a dollar team, as the read takes it: cells.currency_of); otherwise a
        ConditionError, as for an ambiguous number: the comparison would be in a guessed
        currency."""
        token = None
        for loc in dict.fromkeys((self.locale, "en", "es")):
            try:
                token = parse_money(text, loc)[1]
                break
            except CellError:
                continue
        if token is None:
            return None
        base = self.rates.base if self.rates is not None else None
        code, ambiguous = currency_of(token, base)
        if code is not None and not (ambiguous and code != base):
            return code
        codes = SYMBOL_CURRENCIES.get(token, (token,))
        raise ConditionError(
            _('"{token}" is the currency of several countries ({codes}); a condition compares amounts in {base} '
              "and cannot tell which one this is", token=token, codes=", ".join(codes), base=base or "?"),
            _("Write the ISO code instead: {example}", example=shape(f"{show_number(amount, group=False, locale=self.locale)} {codes[0]}")),
            at)

    def date(self, text: str, shape: Callable[[str], str], at: int) -> dt.date | None:
        """A date written as a value, None when the text is no date; ConditionError for
        one that is wrong (31/02/2026) or ambiguous (03/04/2026)."""
        numeric = _DATEISH.fullmatch(text) is not None
        if not numeric and not (len(text.split()) > 1 and any(c.isdigit() for c in text)
                                and any(c.isalpha() for c in text)):
            return None
        try:
            found = parse_date(text, self.locale)
        except CellError as e:
            if not numeric:
                return None  # "Q3 2026", "Plan 2": text
            raise ConditionError(e.message, _("Write the date as year-month-day: {example}",
                                              example=shape("2026-03-15")), at) from None
        assert found is not None
        if date_style(text)[1]:
            second = parse_date(text, "es" if self.locale == "en" else "en")
            assert second is not None
            month_first, day_first = (found, second) if self.locale == "en" else (second, found)
            raise ConditionError(
                _('the date "{value}" is ambiguous: {month_first} if it is written month first, {day_first} if '
                  "day first", value=text, month_first=month_first.isoformat(),
                  day_first=day_first.isoformat()),
                _("Write the date as year-month-day: {example} (or {other})",
                  example=shape(found.isoformat()), other=second.isoformat()),
                at)
        return found

    def number(self, text: str, shape: Callable[[str], str], at: int, ordering: bool) -> Decimal | None:
        """A number (or percentage points) written as a value, None when the text is no
        number; ConditionError for one the locale cannot read or that reads two ways."""
        if not _numberish(text):
            return None
        percent = text.endswith("%")
        # Before reading it in the locale: "1,250%" is out of range read one way, but the
        # person should first hear that it reads two ways.
        self.refuse_ambiguous(text.removesuffix("%").strip(), "%" if percent else "", shape, at)
        try:
            # Any percentage: a team's own column may hold 150 % (a Probability never passes it).
            found = parse_percent(text, self.locale, bounded=False) if percent else parse_amount(text, self.locale)
        except CellError as e:
            example = shape(_unambiguous(Decimal("1234.5"), self.locale))
            hint = (_('Write numbers as locale "{locale}" does: {example}', locale=self.locale, example=example)
                    if ordering else
                    _('Write numbers as locale "{locale}" does: {example}; a text value goes in quotes: {text}',
                      locale=self.locale, example=example, text=shape(f'"{text}"')))
            raise ConditionError(e.message, hint, at) from None
        assert found is not None
        return found


    def refuse_ambiguous(self, text: str, sign: str, shape: Callable[[str], str], at: int) -> None:
        """ConditionError when `text` has a lone separator followed by exactly three digits
        ("1.000", "12,500 €"), which en and es read 1000 times apart (cells.separator_style)."""
        thousands_locale = separator_style(text)[1]
        if thousands_locale is None:
            return
        as_thousands = parse_amount(text, thousands_locale)
        as_decimal = parse_amount(text, "es" if thousands_locale == "en" else "en")
        assert as_thousands is not None and as_decimal is not None
        raise ConditionError(
            _('the number "{value}" is ambiguous: {thousands} if its separator groups thousands, {decimal} if '
              "it marks the decimals", value=text + sign, thousands=show_number(as_thousands, group=False),
              decimal=show_number(as_decimal, group=False)),
            _("Write it without a thousands separator: {example} (or {other})",
              example=shape(f"{as_thousands}{sign}"), other=shape(f"{_unambiguous(as_decimal, self.locale)}{sign}")),
            at)


def _unambiguous(value: Decimal, locale: str) -> str:
    """`value` written so that `locale` reads it and neither locale could read it otherwise:
    never a lone separator followed by exactly three digits (1 -> "1.0", 1.255 -> "1.2550")."""
    shown = show_number(value, group=False, locale=locale)
    mark = "," if locale == "es" else "."
    whole, _sep, fraction = shown.partition(mark)
    if not fraction:
        return f"{whole}{mark}0"
    return shown + "0" if len(fraction) == 3 else shown


def _numberish(text: str) -> bool:
    """Whether a bare value is written like a number (digits, separators, a sign, a currency
    sign or code, a percent sign): a number or a mistake, never text. "3M" and "Q3" are text."""
    body = text.strip()
    for token in sorted(SYMBOL_CURRENCIES, key=len, reverse=True):
        if body.startswith(token) or body.endswith(token):
            body = body.removeprefix(token) if body.startswith(token) else body.removesuffix(token)
            break
    else:
        head, tail = body[:3], body[-3:]
        if head.isalpha() and head.upper() in CURRENCY_CODES:
            body = body[3:]
        elif tail.isalpha() and tail.upper() in CURRENCY_CODES:
            body = body[:-3]
    return _NUMBER_SHAPE.fullmatch(body.strip()) is not None


def _plain(literal: Any) -> Any:
    """A value as a cell that holds no money compares with it: a `_Priced` as its number (the
    caller refuses a currency on such a column: `Condition.priced`)."""
    return literal.amount if isinstance(literal, _Priced) else literal


class _NotThis(Exception):
    """The value is not of the kind tried; try the next."""


def _decimal_mark(locale: str) -> str:
    return "," if locale == "es" else "."
# --- syntax errors --------------------------------------------------------------------------

# The example most hints give, in the current language.
_EXAMPLE = N_("Amount > 5000 and Stage in (Proposal, Negotiation)")


def _syntax_error(text: str, e: UnexpectedInput) -> ConditionError:
    """What a person reads for a condition the grammar cannot take: what was expected where,
    named after what came before it, in the current language."""
    from lark import Token, UnexpectedCharacters, UnexpectedToken

    parser = getattr(e, "interactive_parser", None)
    stack = list(parser.parser_state.value_stack) if parser is not None else []
    accepts = parser.accepts() if parser is not None else set()
    if isinstance(e, UnexpectedCharacters):
        at, found, end = e.pos_in_stream, text[e.pos_in_stream], False
        if found in _OPENING_QUOTES:
            return ConditionError(_("the quote opened here is not closed"),
                                  _('Close it with the same kind of quote: Industry = "Real Estate"'), at)
    else:
        assert isinstance(e, UnexpectedToken)
        end = e.token.type == "$END"
        at = len(text.rstrip()) if end else e.token.start_pos
        found = "" if end else text[e.token.start_pos:e.token.end_pos]
    before = ""
    if stack:
        start, stop = _span(stack[-1])
        before = " ".join(text[start:stop].split())

    if end and "RSQB" in accepts and "$END" not in accepts:
        opened = [item.start_pos for item in stack if isinstance(item, Token) and item.type == "LSQB"]
        return ConditionError(_('this "[" is not closed'),
                              _("Close the list: Industry in [Retail, Food]"), opened[-1] if opened else at)
    if end and "RPAR" in accepts and "$END" not in accepts:
        opened = [item.start_pos for item in stack if isinstance(item, Token) and item.type == "LPAR"]
        return ConditionError(_('this "(" is not closed'),
                              _("Close every parenthesis: (Stage = Proposal or Stage = Negotiation) and "
                                "Amount > 5000"), opened[-1] if opened else at)
    if "COMPARE" in accepts:
        message = (_('expected an operator after "{column}" (=, !=, <, >, in, contains, matches, is empty)',
                     column=before) if end else
                   _('expected an operator after "{column}" (=, !=, <, >, in, contains, matches, is empty), '
                     'not "{found}"', column=before, found=found))
        return ConditionError(message, _('For example: {example}, or Owner is empty; a column whose name holds '
                                         '"in", "and" or "not" goes in quotes: "Contact in charge" is empty',
                                         example=_(_EXAMPLE)), at)
    if "EMPTY" in accepts:
        return ConditionError(_('expected "empty" or "not empty" after "{word}"', word=before),
                              _("For example: Owner is empty, or Owner is not empty; to compare, write "
                                "Owner = Ana"), at)
    if accepts == {"IN", "IS"}:
        return ConditionError(_('expected "in" or "is empty" after "{word}"', word=before),
                              _("For example: Stage not in (Won, Lost), or Owner is not empty"), at)
    if "LPAR" in accepts and "WORD" not in accepts:
        return ConditionError(_('expected a list in parentheses after "{word}"', word=before),
                              _('For example: Stage in (Proposal, Negotiation); a column whose name holds "in" goes '
                                'in quotes: "Contact in charge" is empty'), at)
    if "RELATION" in accepts:
        if not stack:
            return ConditionError(_('a condition starts with a column name, not "{found}"', found=found),
                                  _("For example: {example}", example=_(_EXAMPLE)), at)
        return ConditionError(_('expected a condition after "{word}"', word=before),
                              _("For example: {example}", example=_(_EXAMPLE)), at)
    if accepts <= {"STRING", "WORD"}:
        if stack and isinstance(stack[-1], Token) and stack[-1].type == "RELATION":
            return ConditionError(_('expected a column name after "{word}"', word=before),
                                  _("For example: account.Industry = Software"), at)
        if found in (")", "]") and before in ("(", "["):
            return ConditionError(_("the list is empty"),
                                  _("For example: Stage in (Proposal, Negotiation)"), at)
        return ConditionError(_('expected a value after "{word}"', word=before),
                              _('For example: Amount > 5000, or Industry = "Real Estate"'), at)
    if found == "]":
        return ConditionError(_('this "]" closes no "["'),
                              _("Open the list you close: Industry in [Retail, Food]"), at)
    if found == ")":
        return ConditionError(_('this ")" closes no "("'),
                              _("Open every parenthesis you close: (Stage = Proposal or Stage = Negotiation) "
                                "and Amount > 5000"), at)
    if found in (",", ";"):
        return ConditionError(_('a "{found}" separates values only in a list after "in"', found=found),
                              _("For example: Stage in (Proposal, Negotiation); write dates as 2026-03-15"), at)
    return ConditionError(_('expected "and" or "or" after "{word}", not "{found}"', word=before, found=found),
                          _('Join two conditions with "and" or "or": {example}; a value with spaces may go in '
                            'quotes: Industry = "Real Estate"', example=_(_EXAMPLE)), at)
