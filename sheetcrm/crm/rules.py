"""Rule-based lead scoring: points for what a lead's columns hold, plus decayed engagement.

A rule names a column the way the team sees it ("Source", "Origen", or a custom header
like "Budget"), an operator and the points it adds (or takes away). Text comparisons fold
case, accents and spacing with `normalize_key`, because a sheet typed by several people
holds "Referral", "referral " and "Referído" for the same thing.

Every rule's outcome depends only on one cell, and cells repeat heavily across leads
(a handful of sources, a few dozen titles), so the rules on a column memoize their verdicts
per distinct cell value: 100k leads cost a dict lookup per column, not a regex per rule.

An `equals` or `in` rule with a number or a date on a text cell reads the cell as a workflow
condition does (`columns.read_text`, in the Leads tab's locale): a cell that reads two ways
("1.500": 1.5 or 1500; "03/04/2026") leaves the rule undecided, a `RuleDoubt` the caller says at
the cell; it adds no points, never by a guessed reading.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Literal

from babel.numbers import format_decimal, format_percent, get_decimal_symbol
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from sheetcrm import columns as column_reading
from sheetcrm.cells import (CellError, half_up, is_blank, money_token, normalize_key, parse_amount, parse_bool, parse_date,
                            bare_percent, parse_percent, quoted)
from sheetcrm.crm.money import Rates
from sheetcrm.i18n import N_, NC_, _, current, in_locale, ngettext
from sheetcrm.records import ACTIVITY_TYPES as TYPED, LEAD_STATUSES, Activity, Lead, lead_status_choices

Op = Literal["equals", "in", "contains", "regex", "range", "present", "absent"]
# bool before int: in pydantic's smart union an exact type wins, so TOML `true` stays a bool.
Scalar = bool | int | float | dt.date | str

ACTIVITY_TYPES = tuple(TYPED)

# How a tab reads the numbers and dates of its text cells: (its locale, whether the config sets
# it), as `columns.read_text` takes them. PLAIN: no tab known; a cell is read only when both
# locales read it the same, or only one reads it at all.
Reading = tuple[str, bool]
# A yes/no value in a reason, in words whatever the sheet or the config wrote (TRUE, Sí): No, Yes.
YES_NO = (NC_("a yes/no cell", "No"), NC_("a yes/no cell", "Yes"))
PLAIN: Reading = ("en", False)
# The errors of `columns.read_text` for a cell that may read as the value compared with.
TWO_WAYS = frozenset({"ambiguous_number", "ambiguous_date", "mixed_convention"})


def activity_type(name: str) -> str | None:
    """The canonical activity type for a name or any alias the Activities tab accepts ("Llamada")."""
    # Through the record model, so the aliases are declared in one place only.
    try:
        kind = Activity.model_validate({"date": dt.date.min, "type": name}).type
    except ValidationError:
        return None
    return kind if kind in ACTIVITY_TYPES else None


def _lead_columns() -> Mapping[str, str]:
    found: dict[str, str] = {}
    for name, info in Lead.model_fields.items():
        if info.title is None:
            continue
        aliases = (info.json_schema_extra or {}).get("aliases", ())  # type: ignore[union-attr]
        for header in (info.title, *aliases, name):
            found.setdefault(normalize_key(header), name)
    return MappingProxyType(found)


# normalize_key(header, alias or field name) -> Lead field; read-only, derived from the model.
LEAD_COLUMNS = _lead_columns()


def column_label(column: str, field: str | None) -> str:
    """How a reason names a rule's column: a standard Leads column named by its English header
    is named in the sync's language ("Source" -> "Origen"), the way the team's tab names it;
    any other name as the config wrote it."""
    if field is None or current() == "en":
        return column
    info = Lead.model_fields[field]
    if info.title is None or normalize_key(column) != normalize_key(info.title):
        return column
    aliases = (info.json_schema_extra or {}).get("aliases", ())  # type: ignore[union-attr]
    return aliases[0] if aliases else column  # aliases.toml gives the Spanish header first


def strip_accents(text: str) -> str:
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class Rule(BaseModel):
    """One scoring rule, e.g. {column = "Source", op = "equals", value = "Referral", points = 20}."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str = Field(min_length=1)
    op: Op
    value: Scalar | None = None
    values: list[Scalar] = []
    min: float | dt.date | None = None
    max: float | dt.date | None = None
    points: float
    # Overrides the generated Why text ("Source = Referral"), for rules whose meaning the
    # column and value do not convey ("Budget approved").
    label: str | None = None
    # contains only: a needle matches whole words of the cell, not inside a word, so "VP"
    # finds "VP Sales" but not "MVP Developer", "Head" not "Headhunter". Without it a needle
    # matches anywhere (a folded substring: "gmail" in "ana@gmail.com"), as teams' rules have.
    whole_words: bool = False

    _field: str | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _days(cls, data: Any) -> Any:
        # A rule compares days (a cell's time of day is not read), and TOML writes a date-time
        # 2026-03-01T00:00:00 unquoted: at midnight it is that day; with a time of day the day
        # it would compare is a guess, and pydantic would say "must be a number" of it.
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for key in ("value", "min", "max", "values"):
            given = out.get(key)
            many = isinstance(given, list)
            days = []
            for one in given if many else [given]:
                if isinstance(one, dt.datetime):
                    if one.time() != dt.time(0) or one.tzinfo is not None:
                        raise ValueError(_('rule on "{column}": {value} has a time of day, and a rule compares days; '
                                           'write the day alone ({day})', column=out.get("column"),
                                           value=one.isoformat(), day=one.date().isoformat()))
                    one = one.date()
                days.append(one)
            if any(isinstance(one, dt.datetime) for one in (given if many else [given])):
                out[key] = days if many else days[0]
        return out

    @field_validator("points")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(_("points must be a finite number"))
        return v

    @model_validator(mode="after")
    def _operands_fit_the_operator(self) -> "Rule":
        has_value, has_values, has_range = self.value is not None, bool(self.values), (
            self.min is not None or self.max is not None)
        where = dict(column=self.column, op=self.op)
        if self.whole_words and self.op != "contains":
            raise ValueError(_('rule on "{column}" ({op}): `whole_words` is for `contains` rules only', **where))
        if self.op == "equals":
            if not has_value or has_values or has_range:
                raise ValueError(_('rule on "{column}" ({op}) needs `value` (and no values/min/max)', **where))
        elif self.op == "in":
            if not has_values or has_value or has_range:
                raise ValueError(_('rule on "{column}" ({op}) needs a non-empty `values` list (and no '
                                   'value/min/max)', **where))
        elif self.op == "contains":
            needles = self.values or ([self.value] if has_value else [])
            if has_value == has_values or has_range or not all(
                    isinstance(n, str) and normalize_key(n) for n in needles):
                raise ValueError(_('rule on "{column}" ({op}) needs text in `value`, or a `values` list of texts '
                                   '(any may match)', **where))
        elif self.op == "regex":
            if not isinstance(self.value, str) or has_values or has_range:
                raise ValueError(_('rule on "{column}" ({op}) needs a regular expression in `value`', **where))
            try:
                re.compile(strip_accents(self.value), re.IGNORECASE)
            except re.error as e:
                raise ValueError(_('rule on "{column}" ({op}): invalid regular expression {value}: {error}',
                                   value=quoted(self.value), error=e, **where)) from None
        elif self.op == "range":
            if not has_range or has_value or has_values:
                raise ValueError(_('rule on "{column}" ({op}) needs `min`, `max` or both (and no value/values)',
                                   **where))
            if self.min is not None and self.max is not None:
                if isinstance(self.min, dt.date) != isinstance(self.max, dt.date):
                    raise ValueError(_('rule on "{column}" ({op}): min and max must both be numbers or both be '
                                       'dates', **where))
                if self.min > self.max:  # type: ignore[operator]
                    raise ValueError(_('rule on "{column}" ({op}): min {min} is greater than max {max}',
                                       min=self.min, max=self.max, **where))
        elif has_value or has_values or has_range:
            raise ValueError(_('rule on "{column}" ({op}) takes no value, values, min or max', **where))
        if self.op in ("equals", "in"):
            # "5000 EUR" would be compared as 5000 of the base currency, the one a money cell is
            # compared in: the currency it names would be dropped without a word.
            priced = next((v for v in self.values or [self.value] if isinstance(v, str) and money_token(v, "en")), None)
            if priced is not None:
                raise ValueError(_('rule on "{column}" ({op}): {value} names a currency, and a rule compares amounts '
                                   'in the base currency (`currency`); write the amount in it as a number, or use '
                                   'a `range`', value=quoted(priced), **where))
        return self

    def model_post_init(self, __context: Any) -> None:
        self._field = LEAD_COLUMNS.get(normalize_key(self.column))

    @property
    def lead_field(self) -> str | None:
        """The Lead field this rule reads, or None when the column is a custom one."""
        return self._field


def _lead_kinds() -> Mapping[str, str]:
    """Lead field -> the kind its cells are read as (records.py's validators; "text" without one)."""
    return MappingProxyType({name: next((k for meta in info.metadata
                                         if (k := getattr(getattr(meta, "func", None), "kind", None))), "text")
                             for name, info in Lead.model_fields.items()})


# normalize_key(word) -> lead status: the built-in words, English and Spanish.
_BUILT_IN_STATUSES = MappingProxyType(lead_status_choices({}))
# normalize_key(word) -> the built-in word as it is spelt ("cualificado" -> "Cualificado").
_STATUS_SPELLED = MappingProxyType({normalize_key(w): w for status, words in LEAD_STATUSES.items()
                                    for w in (status, *words)})

# What a column holds, by its type (table.field_kinds, a custom column's declared or inferred
# type), as a message names it ("is read as yes/no values").
HOLDS = {"number": N_("numbers"), "integer": N_("whole numbers"), "money": N_("amounts of money"),
         "percent": N_("percentages"), "date": N_("dates"), "datetime": N_("dates"), "bool": N_("yes/no values"),
         "text": N_("text")}
_RANGED = {"number": frozenset({"number", "integer", "money", "percent"}), "date": frozenset({"date", "datetime"})}
# The column types a rule's value of each type may equal a cell of.
_HELD = {**_RANGED, "bool": frozenset({"bool"})}


def check_columns(rules: Iterable[Rule], custom_fields: Iterable[str]) -> None:
    """Raise ValueError naming the first rule whose column is neither a Lead column nor declared,
    or a `range` rule whose bounds are of a type its column never holds.

    Custom columns must be declared (under [tabs.leads.custom_fields]) to be scored: a
    misspelt header would otherwise be a rule that silently never matches. So must their type
    be for a `range` rule (`custom_fields` a mapping of name -> its `type`): a range of numbers
    on a column declared text (the default) or of dates, or of dates on a number column, could
    only ever compare cells read by a guessed convention, or none (conditions.py refuses the
    same in a workflow's or segment's condition)."""
    declared = {normalize_key(name) for name in custom_fields}
    types = {normalize_key(name): getattr(kind, "type", "text") for name, kind in custom_fields.items()
             } if isinstance(custom_fields, Mapping) else {}
    lead_kinds = _lead_kinds()
    for i, rule in enumerate(rules, 1):
        if rule.lead_field is None and normalize_key(rule.column) not in declared:
            standard = ", ".join(sorted({info.title for info in Lead.model_fields.values() if info.title}))
            raise ValueError(_('rule {i}: unknown column "{column}"; use a Leads column ({standard}) or declare '
                               'it under [tabs.leads.custom_fields]', i=i, column=rule.column, standard=standard))
        kind = lead_kinds[rule.lead_field] if rule.lead_field else types.get(normalize_key(rule.column))
        if kind == "percent":
            # A percentage column's cells hold points and a bare figure below 1 is a fraction
            # (`in_points`): 1 could be either, 1 % or 100 %, written as a number or as text ("1").
            figures = [rule.min, rule.max] if rule.op == "range" else rule.values or [rule.value]
            if any(as_number(f) == 1 for f in figures if not isinstance(f, dt.date)):
                raise ValueError(_('rule {i} on "{column}": 1 compared with percentages is ambiguous, 1 % or 100 %; '
                                   'write 0.01 for 1 % or 100 for 100 %', i=i, column=rule.column))
        if rule.op in ("equals", "in") and kind is not None:
            # A value of a type the column never holds never equals one of its cells: the rule's
            # points would be lost on every lead without a word ("Trial = 1" on a yes/no column).
            for value in rule.values or [rule.value]:
                holds = ("date" if isinstance(value, dt.date) else "bool" if isinstance(value, bool)
                         else "number" if isinstance(value, (int, float)) else None)
                if holds is None or kind in _HELD[holds]:
                    continue
                if any(kind in kinds for kinds in _HELD.values()):
                    fit = "true" if kind == "bool" else "2026-01-31" if kind in _RANGED["date"] else "5000"
                    raise ValueError(_('rule {i} on "{column}" ({op}): {value} is {other}, and "{column}" is read as '
                                       '{kind}, so it never equals one of its cells; compare it with a value of its '
                                       'type ({example})', i=i, column=rule.column, op=rule.op,
                                       value=show_figure(value), other=_("a date") if holds == "date" else
                                       _("a yes/no value") if holds == "bool" else _("a number"), kind=_(HOLDS[kind]),
                                       example=f"value = {fit}" if rule.op == "equals" else f"values = [{fit}]"))
        if rule.op != "range" or kind is None:
            continue
        bounds = "date" if isinstance(rule.min if rule.min is not None else rule.max, dt.date) else "number"
        if kind not in _RANGED[bounds]:
            raise ValueError(_('rule {i} on "{column}" (range): its min and max are {bounds}, and "{column}" is '
                               'read as {kind}; declare its type under [tabs.leads.custom_fields] ({example}), or '
                               'give min and max of its type', i=i, column=rule.column,
                               bounds=_("dates") if bounds == "date" else _("numbers"), kind=_(HOLDS.get(kind, kind)),
                               example=f'"{rule.column}" = {{ type = "{bounds}" }}'))


def status_words(rules: Iterable[Rule], statuses: Mapping[str, str]) -> None:
    """Raise ValueError naming the first word an `equals` or `in` rule on the Status compares with
    that is no word of a lead status (`statuses`: normalize_key(word) -> status, the built-in
    words and the config's `[lead_statuses]`), or the first `contains` or `regex` rule on it that
    no such word matches: such a rule would never give its points."""
    for i, rule in enumerate(rules, 1):
        if rule.lead_field == "status" and rule.op in ("contains", "regex"):
            # One that no word of any status holds would never give its points either.
            for one in rule.values or [rule.value]:  # each text of a list, which any may match
                compiled = CompiledRule(rule.model_copy(update={"value": one, "values": []}), statuses=statuses)
                if not any(compiled.match(status) for status in set(statuses.values())):
                    raise ValueError(_('rule {i} on "{column}" ({op}): {value} is in no word of a lead status '
                                       '({statuses}, their Spanish words, those under [lead_statuses]), so it never '
                                       'gives its points', i=i, column=rule.column, op=rule.op, value=quoted(str(one)),
                                       statuses=", ".join(dict.fromkeys(statuses.values()))))
        if rule.lead_field != "status" or rule.op not in ("equals", "in"):
            continue
        for word in rule.values or [rule.value]:
            if normalize_key(as_text(word)) not in statuses:
                known = ", ".join(_status_word(s) for s in dict.fromkeys(statuses.values()))
                raise ValueError(_('rule {i} on "{column}": {value} is not a lead status; write one of {statuses} '
                                   '(or its Spanish word), or give it to one under [lead_statuses]', i=i,
                                   column=rule.column, value=quoted(as_text(word)), statuses=known))


def _status_word(status: str) -> str:
    """A lead status as the current language writes it ("Contacted"; "Contactado" under es): a
    Spanish team told to write one of New, Contacted… read words it never types."""
    spanish = LEAD_STATUSES.get(status) if current() == "es" else None
    return spanish[0] if spanish else status


def cell_value(lead: Lead, field: str | None, custom_key: str, header_keys: dict[str, str]) -> Any:
    """The value a rule or feature reads; `header_keys` memoizes normalize_key over custom headers."""
    if field is not None:
        return getattr(lead, field)
    for header, value in lead.custom.items():
        key = header_keys.get(header)
        if key is None:
            key = header_keys[header] = normalize_key(header)
        if key == custom_key:
            return value
    return None


def as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str):  # a rule compares the number of "$5,000" too
        return _one_reading(parse_amount, value)
    return None


def _one_reading(parse: Any, text: str) -> Any:
    """What `text` reads as in every locale that reads it, None when none does or two read it
    differently ("1.500": 1.5 or 1500; "03/04/2026"): a text cell here has no column to settle
    its convention (a condition reads one through `columns.read_text`, and says its doubts)."""
    found = set()
    for locale in ("en", "es"):
        try:
            value = parse(text, locale)
        except (CellError, InvalidOperation):
            continue
        if value is not None:
            found.add(value)
    return found.pop() if len(found) == 1 else None


def _amount(text: str, locale: str, sure: bool) -> Decimal | CellError | None:
    """The number of an amount written with its currency ("€5", "$5,000"): in the tab's locale
    when the config sets it, else the one reading both locales agree on or only one finds; two
    different ones are an "ambiguous_number" error; None when it is no amount."""
    if sure:
        try:
            return parse_amount(text, locale)
        except (CellError, InvalidOperation):
            return None
    found: dict[str, Decimal] = {}
    for one in ("en", "es"):
        try:
            value = parse_amount(text, one)
        except (CellError, InvalidOperation):
            continue
        if value is not None:
            found[one] = value
    if len(set(found.values())) > 1:
        return column_reading.ambiguous_number(text, found["en"], found["es"])
    return next(iter(found.values()), None)


def as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return _one_reading(parse_date, value)
    return None


def as_text(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return as_text(value)


def format_points(points: float, language: str | None = None) -> str:
    """"+20", "-10", "+0.4" ("+0,4" in Spanish): whole points, half away from zero like the score,
    unless below one, with the decimal sign of `language` (default: the current one; babel)."""
    if abs(points) >= 1 or points == 0:
        whole = math.floor(abs(points) + 0.5)
        return f"+{whole}" if points >= 0 else f"-{whole}"
    tenth = half_up(points, 1)  # half away from zero, as the whole points: 0.25 is "+0.3"
    if abs(tenth) >= 1:
        return "+1" if tenth > 0 else "-1"
    return _tenth(f"{tenth:+}", language or current())  # not for people: the tenth, written by babel


@functools.lru_cache(maxsize=128)
def _tenth(tenth: str, language: str) -> str:
    # A sub-point factor is one of some twenty tenths: babel's 40 µs is paid once for each, not
    # per lead (100,000 leads' Why columns). The tenth comes rounded (`format_points`).
    return format_decimal(Decimal(tenth), format="+0.0;-0.0", locale=language)


def show_figure(value: Any, language: str | None = None) -> str:
    """A value a reason names (`show`), a number with the decimal sign of `language` (default: the
    current one): "Budget ≥ 1.5" in English is "Budget ≥ 1,5" in Spanish. Not grouped, as a
    custom column's value in the learned model's reasons ("Budget = 12000"); a yes/no in words,
    as there ("Demo Done = Yes", "Demo Done = Sí")."""
    if isinstance(value, bool):
        return in_locale(language or current(), YES_NO[value])
    text = show(value)
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        sign = _decimal_sign(language or current())
        return text if sign == "." else text.replace(".", sign)
    return text


@functools.cache
def _decimal_sign(language: str) -> str:
    return get_decimal_symbol(language)


def show_figures(values: Iterable[Any], language: str | None = None) -> str:
    """Values a reason lists (`show_figure`), apart by ", ", or by "; " when one of them holds a
    decimal comma: "3000, 2500.5", in Spanish "3000; 2500,5", never "3000, 2500,5"."""
    shown = [show_figure(v, language) for v in values]
    return ("; " if any("," in one for one in shown) else ", ").join(shown)


class _Candidate:
    """One value a rule compares against, readied in each type a cell may hold."""

    __slots__ = ("raw", "text", "number", "date", "flag", "percent")

    def __init__(self, raw: Scalar, percent: bool = False):
        self.raw = raw
        self.text = normalize_key(as_text(raw))
        # On a percentage column, the points its cells hold: 0.15 and "15%" are 15 (`in_points`).
        self.percent = percent
        self.number = (_one_reading(lambda t, loc: parse_percent(t, loc, bounded=False), raw)
                       if percent and isinstance(raw, str) and raw.strip().endswith("%")
                       else in_points(as_number(raw)) if percent else as_number(raw))
        self.date = as_date(raw)
        try:
            self.flag = raw if isinstance(raw, bool) else parse_bool(raw) if isinstance(raw, str) else None
        except CellError:
            self.flag = None

    def shown(self) -> str:
        """The value as a reason names it: a percentage column's as a percentage ("15%")."""
        return show_percent(self.number) if self.percent and self.number is not None else show_figure(self.raw)

    def equals(self, cell: Any) -> bool:
        if isinstance(cell, bool):
            return self.flag is not None and cell == self.flag
        if isinstance(cell, (int, float, Decimal)):
            return self.number is not None and as_number(cell) == self.number
        if isinstance(cell, dt.date):
            return self.date is not None and as_date(cell) == self.date
        text = normalize_key(as_text(cell))
        if text == self.text:
            return True
        if self.flag is not None:
            try:
                return parse_bool(cell) == self.flag
            except CellError:
                return False
        # An untyped custom column carries "5" as text; the rule may say 5.
        return self.number is not None and as_number(cell) == self.number


class CompiledRule:
    """A rule with its operands readied once (folded needles, compiled regex) for many cells;
    `reading`: how the tab reads its text cells' numbers and dates; `statuses`: normalize_key(word)
    -> lead status, the words the read takes for a Status (`records.lead_status_choices`; None:
    the built-in ones)."""

    def __init__(self, rule: Rule, reading: Reading = PLAIN, statuses: Mapping[str, str] | None = None,
                 percent: bool = False):
        self.rule = rule
        self.reading = reading
        # A percentage column's cells hold points (15 for "15%"): a bare figure of the rule is read
        # as a workflow condition reads one (`in_points`), so "min = 0.1" is 10 %, not 0.1 %.
        self.percent = percent
        self._lo, self._hi = (in_points(rule.min), in_points(rule.max)) if percent else (rule.min, rule.max)
        self.field = rule.lead_field
        self.custom_key = normalize_key(rule.column)
        self.column = column_label(rule.column, self.field)
        self.points = rule.points
        op = rule.op
        if op in ("equals", "in"):
            self._candidates = [_Candidate(v, percent) for v in (rule.values or [rule.value])]  # type: ignore[list-item]
            if self.field == "status":
                # A lead's Status is the status the read understood ("Contactado", a [lead_statuses]
                # word: Contacted): the rule's word is compared as that status, and named as written.
                words = statuses or _BUILT_IN_STATUSES
                for c in self._candidates:
                    c.text = normalize_key(words.get(c.text, c.text))
            # The values a text cell may equal once read as a number or a date.
            self._typed = [(kind, found) for kind in ("number", "date")
                           if (found := [(c, v) for c in self._candidates if (v := getattr(c, kind)) is not None])]
        if op in ("contains", "regex") and self.field == "status":
            # A lead's Status holds the status the read understood, whichever of its words the
            # cell was typed in: the rule looks for its text in every word of that status (the
            # cell's own among them), so "Contactad" finds a Contacted lead typed "Contacted" too.
            # A regex's match is named as the word writes it ("Cualif"), a built-in one in its case.
            self._status_words: dict[str, list[str]] = {}
            for word, status in (statuses or _BUILT_IN_STATUSES).items():
                shown = _STATUS_SPELLED.get(word, word)
                self._status_words.setdefault(status, []).append(
                    normalize_key(shown) if op == "contains" else strip_accents(shown))
        if op == "contains":
            needles = rule.values or [rule.value]
            self._needles = [(normalize_key(str(n)), str(n)) for n in needles]
            # Whole words of the folded cell: no letter or digit on either side of the needle.
            self._words = [re.compile(rf"(?<!\w){re.escape(needle)}(?!\w)") for needle, _shown in self._needles
                           ] if rule.whole_words else None
        elif op == "regex":
            self._pattern = re.compile(strip_accents(str(rule.value)), re.IGNORECASE)

    def match(self, value: Any) -> str | None:
        """The Why text when the rule matches this cell value, else None (undecided too)."""
        found = self.verdict(value)
        return found if isinstance(found, str) else None

    def verdict(self, value: Any) -> str | CellError | None:
        """The Why text when the rule matches this cell value; None when it does not; the
        read's error when it cannot say (a text cell that reads two ways as the number or date
        an `equals` or `in` rule compares: `_text_equals`)."""
        rule, col = self.rule, self.column
        blank = is_blank(value)
        if rule.op == "present":
            return None if blank else rule.label or _("{column} present", column=col)
        if rule.op == "absent":
            return (rule.label or _("{column} empty", column=col)) if blank else None
        if blank:
            return None
        if rule.op in ("equals", "in"):
            if type(value) is str and self._typed:
                return self._text_equals(value)
            hit = next((c for c in self._candidates if c.equals(value)), None)
            return None if hit is None else rule.label or f"{col} = {hit.shown()}"
        if rule.op == "contains":
            texts = self._words_of(value) or [normalize_key(as_text(value))]
            if self._words is None:
                hit_needle = next((shown for needle, shown in self._needles if any(needle in t for t in texts)), None)
            else:
                hit_needle = next((shown for (_needle, shown), word in zip(self._needles, self._words)
                                   if any(word.search(t) for t in texts)), None)
            return None if hit_needle is None else rule.label or _("{column} contains {value}", column=col,
                                                                   value=hit_needle)
        if rule.op == "regex":
            texts = self._words_of(value) or [strip_accents(as_text(value))]
            found = next((m for t in texts if (m := self._pattern.search(t)) is not None), None)
            return None if found is None else rule.label or _("{column} matches {value}", column=col,
                                                              value=quoted(found.group(0)))
        return self._in_range(value)

    def _words_of(self, value: Any) -> list[str] | None:
        """The folded words of the status a Status cell holds (`__init__`); None off the Status."""
        if self.field != "status":
            return None
        return self._status_words.get(value)

    def _text_equals(self, text: str) -> str | CellError | None:
        """A text cell against values some of which are numbers or dates: equal as text or as a
        yes/no as `_Candidate.equals` has it, else read as each kind as a condition reads a text
        cell (`columns.read_text`, the tab's `reading`); one that reads two ways is undecided
        (its error) unless another value is equal."""
        label = self.rule.label
        folded = normalize_key(text)
        for c in self._candidates:
            if folded == c.text or (c.flag is not None and c.equals(text)):
                return label or f"{self.column} = {c.shown()}"
        doubt = None
        for kind, values in self._typed:
            read = column_reading.read_text(text, kind, *self.reading)
            if isinstance(read, CellError) and kind == "number" and read.code not in TWO_WAYS:
                read = _amount(text, *self.reading)  # "€5": an amount with its currency
            if isinstance(read, CellError):
                if read.code in TWO_WAYS:
                    doubt = doubt or read
                continue
            hit = next((c for c, v in values if read is not None and v == read), None)
            if hit is not None:
                return label or f"{self.column} = {hit.shown()}"
        return doubt

    def _in_range(self, value: Any) -> str | None:
        rule, col = self.rule, self.column
        lo, hi = self._lo, self._hi
        if isinstance(lo if lo is not None else hi, dt.date):
            cell: Any = as_date(value)
        else:
            number = as_number(value)
            cell = float(number) if number is not None else None
        if cell is None or (lo is not None and cell < lo) or (hi is not None and cell > hi):
            return None
        return rule.label or range_name(col, lo, hi, self.percent)


def rule_said(rule: Rule) -> str:
    """A rule as a warning about it names it ("Budget in (3000; 2500,5)", "Title contains VP"), its
    label if it has one, its operator and figures in the sync's language as its reason writes them."""
    col = rule.column
    if rule.label:
        return rule.label
    if rule.op == "equals":
        return f"{col} = {show_figure(rule.value)}"
    if rule.op == "in":
        return f"{col} in ({show_figures(rule.values)})"
    if rule.op == "range":
        return range_name(col, rule.min, rule.max)
    if rule.op == "contains":
        return _("{column} contains {value}", column=col, value=", ".join(str(v) for v in rule.values or [rule.value]))
    if rule.op == "regex":
        return _("{column} matches {value}", column=col, value=quoted(str(rule.value)))
    return _("{column} present", column=col) if rule.op == "present" else _("{column} empty", column=col)


def range_name(column: str, lo: Any, hi: Any, percent: bool = False) -> str:
    """A range rule as its reason names it: "Budget ≥ 1000", "Budget ≤ 5000", "Budget 1000–5000";
    `percent`: its bounds are percentage points, named as percentages ("Discount 10%–50%")."""
    shown = show_percent if percent else show_figure
    if lo is not None and hi is not None:
        return f"{column} {shown(lo)}–{shown(hi)}"
    return f"{column} ≥ {shown(lo)}" if lo is not None else f"{column} ≤ {shown(hi)}"


def in_points(value: Any) -> Any:
    """A bare figure compared with a percentage column, in the points its cells hold, as a workflow
    condition reads one (`cells.bare_percent`), of the same type (a float stays a float);
    exactly 1 is refused by `check_columns`. A date or None as it is."""
    number = as_number(value) if isinstance(value, (int, float, Decimal)) else None
    points = bare_percent(number) if number is not None else None
    if points is None:
        return value
    return float(points) if isinstance(value, float) else points


def show_percent(points: Any, language: str | None = None) -> str:
    """Percentage points as a reason names them: "15%", in Spanish "15 %" (CLDR's sign, babel)."""
    language = language or current()
    return show_figure(points, language) + _percent_sign(language)


@functools.cache
def _percent_sign(language: str) -> str:
    return format_percent(0, locale=language)[1:]  # babel's percentage of 0, less its 0


# A column's verdicts on one cell: the (Why text, points) of the rules that match it, and the
# (rule, read's error or the money cell's NoRate) of those it leaves undecided.
Verdicts = tuple[tuple[tuple[str, float], ...], tuple[tuple["CompiledRule", Any], ...]]


@dataclass(frozen=True)
class NoRate:
    """A money cell the rules cannot put in the base currency: its `amount` as read, the `currency`
    it is in (an ISO code; None: the base one) with no rate, or `unsure`, the symbol it was
    written with that names several currencies ("kr")."""

    amount: Decimal
    currency: str | None
    unsure: str | None = None


def in_base(lead: Lead, field: str | None, custom_key: str, amount: Any, rates: Rates,
            header_keys: dict[str, str]) -> Decimal | NoRate:
    """A money cell's `amount` in `rates.base`, as a workflow condition and the learned model read
    it: in the currency the cell names (`Record.priced`), else the lead's Currency, else the base
    one; `NoRate` when it cannot be put there."""
    priced = None
    for name, one in (lead.priced or {}).items():
        key = name if field is not None else header_keys.setdefault(name, normalize_key(name))
        if key == (field if field is not None else custom_key):
            priced = one
            break
    number = as_number(amount)
    if number is None:
        return amount  # not an amount (a text cell the read kept): compared as it is
    if priced is None or priced.currency is None and priced.symbol is None:
        code = lead.currency
    else:
        code = priced.currency
        if code is None or priced.symbol is not None and code != rates.base:
            return NoRate(number, code, priced.symbol)
    # A rate the Rates tab may mean otherwise ("1,170" read as 1170) converts nothing, as in every
    # summary and workflow condition (`money.to_base`): 10 CHF scored as 11,700 with no word.
    rate = rates.rate(code) if rates.doubt(code) is None else None
    return NoRate(number, code) if rate is None else number * rate


class _Column:
    """The rules that read one column, with their verdicts memoized per distinct cell value;
    `rates`: the column holds money, compared in `rates.base`."""

    def __init__(self, rules: list[CompiledRule], rates: Rates | None = None):
        self.rules = rules
        self.field = rules[0].field
        self.custom_key = rules[0].custom_key
        # Emails and phones are unique per lead: memoizing them would only grow a dict.
        self.presence_only = all(r.rule.op in ("present", "absent") for r in rules)
        self.rates = None if self.presence_only else rates
        self._memo: dict[Any, Verdicts] = {}

    def factors(self, lead: Lead, header_keys: dict[str, str]) -> Verdicts:
        value = cell_value(lead, self.field, self.custom_key, header_keys)
        if self.rates is not None and not is_blank(value):
            # "5000 MXN" is not 5000 of the base currency: a rule's bound is in the base currency.
            value = in_base(lead, self.field, self.custom_key, value, self.rates, header_keys)
            if isinstance(value, NoRate):
                return self._no_rate(value)
        key: Any = is_blank(value) if self.presence_only else (value.__class__, value)
        try:
            return self._memo[key]
        except KeyError:
            found = self._memo[key] = self._evaluate(value)
            return found
        except TypeError:  # an unhashable cell: custom values are open-ended
            return self._evaluate(value)

    def _no_rate(self, cell: NoRate) -> Verdicts:
        """A filled money cell with no amount in the base currency: present, and undecided for
        every rule that compares it."""
        present = [(r, r.verdict(cell.amount)) for r in self.rules if r.rule.op in ("present", "absent")]
        return (tuple((v, r.points) for r, v in present if isinstance(v, str)),
                tuple((r, cell) for r in self.rules if r.rule.op not in ("present", "absent")))

    def _evaluate(self, value: Any) -> Verdicts:
        verdicts = [(r, r.verdict(value)) for r in self.rules]
        return (tuple((v, r.points) for r, v in verdicts if isinstance(v, str)),
                tuple((r, v) for r, v in verdicts if isinstance(v, CellError)))


class RuleSet:
    """All rules compiled for one scoring run: per lead, the points and the ranked reasons.
    `reading`: how the Leads tab reads its text cells' numbers and dates, `statuses` the words it
    reads a Status by (CompiledRule); `money`: its own columns that hold money (by header), which
    with the Amount the rules compare in `rates.base` (None: as written, no rates known);
    `percent`: its own columns that hold percentages, whose rules' figures are read in points."""

    def __init__(self, rules: Iterable[Rule], reading: Reading = PLAIN, statuses: Mapping[str, str] | None = None,
                 money: Iterable[str] = (), rates: Rates | None = None, percent: Iterable[str] = ()):
        columns: dict[tuple[str | None, str], list[CompiledRule]] = {}
        percentages = {normalize_key(header) for header in percent}
        for rule in rules:
            compiled = CompiledRule(rule, reading, statuses,
                                    rule.lead_field is None and normalize_key(rule.column) in percentages)
            columns.setdefault((compiled.field, compiled.custom_key if compiled.field is None else ""), []).append(
                compiled)
        priced = {normalize_key(header) for header in money}
        self._columns = [_Column(group, rates if field == "amount" or field is None and key in priced else None)
                         for (field, key), group in columns.items()]
        self._header_keys: dict[str, str] = {}
        # Leads share combinations of matched rules, so the sum and the ranking are memoized too.
        self._combos: dict[tuple, tuple[float, tuple[tuple[str, float], ...]]] = {}

    def evaluate(self, lead: Lead) -> tuple[float, tuple[tuple[str, float], ...], tuple[RuleDoubt, ...]]:
        """(sum of points, matched factors ranked by absolute points, largest first, the rules
        the lead's cells left undecided: no points from them)."""
        header_keys = self._header_keys
        verdicts = [column.factors(lead, header_keys) for column in self._columns]
        parts = tuple(factors for factors, _doubts in verdicts)
        doubts = tuple(RuleDoubt(lead.row, lead.id, r.rule, r.field, problem)
                       for _factors, undecided in verdicts for r, problem in undecided)
        found = self._combos.get(parts)
        if found is None:
            factors = [f for part in parts for f in part]
            found = self._combos[parts] = (sum(p for _, p in factors), rank(factors))
        return (*found, doubts)


@dataclass(frozen=True)
class RuleDoubt:
    """A rule a lead's cell left undecided: the lead's sheet `row` and `lead_id`, the `rule`, the
    Lead `field` it reads (None: a custom column, `rule.column`) and the read's `problem`
    (ambiguous_number, ambiguous_date, mixed_convention) with the cell's raw value, or the money
    cell's `NoRate`."""

    row: int
    lead_id: str | None
    rule: Rule
    field: str | None
    problem: CellError | NoRate


class Engagement:
    """Decayed engagement points per lead ID, from one pass over the activities.

    Each activity is worth its type's points × 0.5^(age / half-life): a call made one
    half-life ago counts half. Future-dated activities are plans, not engagement, so they
    count for nothing until their day comes.
    """

    def __init__(self, activities: Iterable[Activity], points: Mapping[str, float], half_life_days: float,
                 as_of: dt.date, cap: float | None):
        self._cap = cap
        by_lead: dict[str, list[float]] = {}
        # Activities cluster on a few hundred distinct days; decay is computed once per day.
        decay: dict[dt.date, float] = {}
        for act in activities:
            related = act.related
            if related is None:
                continue
            base = points.get(act.type)  # type: ignore[arg-type]
            if not base:
                continue
            day = act.date
            factor = decay.get(day)
            if factor is None:
                age = (as_of - day).days
                factor = decay[day] = 0.0 if age < 0 else 0.5 ** (age / half_life_days)
            if not factor:
                continue
            acc = by_lead.get(related)
            if acc is None:
                by_lead[related] = [1, base * factor]
            else:
                acc[0] += 1
                acc[1] += base * factor
        self._by_lead = by_lead

    def factor(self, lead_id: str | None) -> tuple[str, float] | None:
        acc = self._by_lead.get(lead_id) if lead_id is not None else None
        if acc is None:
            return None
        count, total = acc
        if self._cap is not None:
            total = max(min(total, self._cap), -self._cap)
        return ngettext("{n} activity", "{n} activities", int(count)), total


def rank(factors: Iterable[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    """The factors that show as more than zero (`format_points`), by absolute size, largest first;
    ties keep their order (rules before engagement). Two activities months old add 0.01: a Why
    saying "2 activities +0.0" names a reason that gave nothing."""
    return tuple(sorted((f for f in factors if abs(f[1]) >= _SHOWN), key=lambda f: -abs(f[1])))


# The least points `format_points` shows as more than zero: 0.05 is "+0.1" (half up), 0.0499 "+0.0".
_SHOWN = 0.05


def why(factors: Iterable[tuple[str, float]], top: int = 3) -> str:
    """The largest factors by absolute size, in plain words: "Source = Referral +20; ..."."""
    return "; ".join(f"{label} {format_points(points)}" for label, points in rank(factors)[:top])
