"""Segments: named groups of accounts, contacts or leads that share attributes (docs/segments.md).

A segment is a name, the record it groups and a condition in the one grammar people already
write conditions in (`crm/conditions.py`, the workflows' If column), e.g.

    [segments."Retail customers"]
    record = "accounts"
    when = "Status = Customer and Industry in [Retail, Food] and Employees >= 50"

or a row of the Segments tab (Name, Record, Conditions). The condition reads the record's own
columns (custom ones and sheetcrm's computed ones included: a lead's Score and Grade, every
record's Last Activity); a contact's may also read its account's (`account.Industry`). A
lead's account is not known before it converts (its Company is text, not a link), so a lead's
condition reads the lead alone.

What each segment brings (`segment_kpis`), over the accounts and deals its members reach:

- an account reaches itself and every deal whose Account names it;
- a contact reaches its account, and so that account's deals;
- a lead reaches only what sheetcrm's conversion made of it (Converted Account, Converted
  Opportunity); a lead whose Status says Converted by hand reaches nothing, because guessing
  its account from its Company could credit the wrong one.

Each account and each deal counts once per segment, however many members reach it. Pipeline
is the base-currency amount of the open deals (those a forecast category of Omitted leaves
out, as the Dashboard does), won revenue that of the won deals; a deal without an amount or
without a rate is left out (the sync warns about the rate). Churn is churned accounts ÷
accounts reached, an account being churned when its Status says Churned.

Pure: no I/O. The step (steps/segments.py) hands in the records as `crm.workflows.Subject`s.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel.numbers import get_decimal_symbol
from pydantic import Field

from sheetcrm.cells import normalize_key
from sheetcrm.crm.conditions import (Choice, ColumnTypeError, Condition, ConditionError, References, Text, Unsure,
                                     not_money_said, parse_condition, unpriced_said)
from sheetcrm.crm.money import MissingRate, Rates, decimal_text, fraction, plus, ratio_points
from sheetcrm.crm.workflows import KIND_OF, Subject, money_of
from sheetcrm.i18n import N_, _
from sheetcrm.report import Issue
from sheetcrm.settings import Section
from sheetcrm.terminal import visible

# The records a segment may group: kind -> its tab's key.
KINDS: dict[str, str] = {"account": "accounts", "contact": "contacts", "lead": "leads"}
# The related records a kind's condition may read (`account.Industry` in a contact's).
RELATIONS: dict[str, frozenset[str]] = {"account": frozenset(), "contact": frozenset({"account"}),
                                        "lead": frozenset()}
CONFIG = "sheetcrm.toml"  # not for people: the file name, as an Issue's tab for the config's problems
_ZERO = Decimal(0)


class SegmentSettings(Section):
    """`[segments.NAME]`: `record` (accounts, contacts or leads, English or Spanish) and `when`
    (the condition). What they say is checked by the sync, which reports a problem at the key
    (`segments.NAME.when`) on the Validation tab, as it does a Segments tab's cell."""

    record: str = Field(min_length=1)
    when: str = Field(min_length=1)


@dataclass(frozen=True)
class Definition:
    """A segment as written: in the config (`tab` = "sheetcrm.toml", `row` None) or a row of
    the Segments tab. `where`: "name" / "record" / "conditions" -> (column letter, header) of
    the cell (or None and the config key) a problem is reported at."""

    name: str | None
    record: str | None
    conditions: str | None
    tab: str = CONFIG
    row: int | None = None
    where: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    name: str
    kind: str                 # a key of KINDS
    condition: Condition
    definition: Definition


def from_config(segments: Mapping[str, SegmentSettings]) -> list[Definition]:
    """The config's `[segments.NAME]` tables as definitions, in the file's order."""
    return [Definition(name, s.record, s.when, where={
        "name": (None, f"segments.{name}"), "record": (None, f"segments.{name}.record"),
        "conditions": (None, f"segments.{name}.when")}) for name, s in segments.items()]


_MESSAGES: dict[str, tuple[str, str]] = {
    "segment_no_name": (N_("this segment has no name"),
                        N_("Fill in its Name: it is what the Segments column and `sheetcrm segment` call it.")),
    "segment_bad_name": (N_('the segment name "{name}" holds a comma, which the Segments column uses between names'),
                         N_("Rename it without a comma, e.g. {example}.")),
    "segment_duplicate": (N_('the segment "{name}" is defined twice; this definition is left out'),
                          N_("The other is at {other}. Rename one of them, or remove one.")),
    "segment_bad_record": (N_('"{text}" is not a record a segment can group'),
                           N_("Write accounts, contacts or leads.")),
    "segment_no_conditions": (N_('the segment "{name}" has no conditions'),
                              N_("Write which records belong to it, e.g. Status = Customer and Industry in "
                                 "[Retail, Food] and Employees >= 50.")),
    "segment_bad_condition": (N_("the condition cannot be read: {problem}"), ""),  # the hint is the grammar's
    "segment_type_mismatch": (N_("the condition compares a column with a value of another type: {problem}"), ""),
    "segment_unknown_column": (N_('the {records} have no column "{column}"'),
                               N_("Name one of their columns, e.g. {examples}; a contact's condition may read its "
                                  "account's: account.Industry.")),
}
_RECORDS = {"account": N_("accounts"), "contact": N_("contacts"), "lead": N_("leads")}


def _issue(d: Definition, part: str, value: Any, code: str, hint: str | None = None, **fmt: Any) -> Issue:
    message, fixed = _MESSAGES[code]
    letter, header = d.where.get(part, (None, None))
    return Issue("error", d.tab, d.row, letter, header, value, code, _(message, **fmt),
                 hint if hint is not None else _(fixed, **fmt))


def _place(d: Definition) -> str:
    letter, header = d.where.get("name", (None, None))
    return f"{d.tab}!{letter or ''}{d.row}" if d.row is not None else header or d.tab


def parse_segments(definitions: Sequence[Definition], columns: Mapping[str, Mapping[str, str]],
                   labels: Mapping[str, Mapping[str, str]], locale: str, rates: Rates | None = None,
                   money: Mapping[str, Mapping[str, str | None]] | None = None,
                   types: Mapping[str, Mapping[str, str]] | None = None,
                   unnamed: Callable[[Condition, str], tuple[str, str] | None] | None = None
                   ) -> tuple[list[Segment], list[Issue]]:
    """The sound segments of `definitions` (the config's first, then the tab's), sorted by name
    as `normalize_key` folds it, and an error at the cell or config key of each problem; a
    definition with a problem is left out, the others hold.

    `columns[kind]`: normalize_key(a header in any language) -> the key a Subject's values use
    (`crm.workflows.World.names`); `labels[kind]`: key -> the header a person reads (for the
    hint's examples). A name given twice (folded) keeps its first definition.

    `rates`, `money`: as `crm.workflows.World`'s; a value naming a currency compared with a
    column that holds no money is an error, one in a currency with no rate a warning (the
    segment holds, with no record whose amount that comparison would decide).

    `types[kind]`: key -> what its column holds (`crm.workflows.World.types`); a value of
    another type is a `segment_type_mismatch` error (`conditions.ColumnTypeError`).

    `unnamed(condition, kind)`: (problem, hint) of a word the condition compares a Stage or a
    Status with that names none of its values (`crm.workflows.unnamed_word`), or None: a
    `segment_bad_condition` error, as `Status = Contactedd` would group no lead, and `!=` every
    one."""
    segments: list[Segment] = []
    issues: list[Issue] = []
    seen: dict[str, Definition] = {}
    for d in definitions:
        name = " ".join((d.name or "").split())
        if not name:
            if d.record or d.conditions:
                issues.append(_issue(d, "name", d.name, "segment_no_name"))
            continue
        if "," in name:
            issues.append(_issue(d, "name", d.name, "segment_bad_name", name=name,
                                 example=" ".join(name.replace(",", " ").split())))
            continue
        key = normalize_key(name)
        if key in seen:
            issues.append(_issue(d, "name", d.name, "segment_duplicate", name=name, other=_place(seen[key])))
            continue
        seen[key] = d
        kind = KIND_OF.get(normalize_key(d.record or ""))
        if kind not in KINDS:
            issues.append(_issue(d, "record", d.record, "segment_bad_record", text=d.record or ""))
            continue
        if not (d.conditions or "").strip():
            issues.append(_issue(d, "conditions", d.conditions, "segment_no_conditions", name=name))
            continue
        try:
            condition = parse_condition(d.conditions, locale, rates, _types_of(kind, columns, types or {}))
        except ColumnTypeError as e:
            issues.append(_issue(d, "conditions", d.conditions, "segment_type_mismatch", problem=e.message,
                                 hint=e.hint))
            continue
        except ConditionError as e:
            issues.append(_issue(d, "conditions", d.conditions, "segment_bad_condition", problem=e.message,
                                 hint=e.hint))
            continue
        unknown = _unknown_column(condition, kind, columns)
        if unknown is not None:
            relation, column = unknown
            target = relation if relation in RELATIONS[kind] else kind
            shown = f"{relation}.{column}" if relation else column
            issues.append(_issue(d, "conditions", d.conditions, "segment_unknown_column",
                                 records=_(_RECORDS.get(target, _RECORDS[kind])), column=shown,
                                 examples=", ".join(list(labels.get(target, {}).values())[:4])))
            continue
        not_money = next(((relation, column, value) for (relation, column), value, _c in condition.priced
                          if money is not None
                          and columns[relation or kind][normalize_key(column)] not in money.get(relation or kind, {})),
                         None)
        if not_money is not None:
            relation, column, value = not_money
            problem, hint = not_money_said(f"{relation}.{column}" if relation else column, value)
            issues.append(_issue(d, "conditions", d.conditions, "segment_bad_condition", problem=problem, hint=hint))
            continue
        said = unnamed(condition, kind) if unnamed is not None else None
        if said is not None:
            issues.append(_issue(d, "conditions", d.conditions, "segment_bad_condition", problem=said[0], hint=said[1]))
            continue
        if rates is not None:
            letter, header = d.where.get("conditions", (None, None))
            for code, message, hint in unpriced_said(condition, rates):
                issues.append(Issue("warning", d.tab, d.row, letter, header, d.conditions, code, message, hint))
        segments.append(Segment(name, kind, condition, d))
    segments.sort(key=lambda s: normalize_key(s.name))
    return segments, issues


def _types_of(kind: str, columns: Mapping[str, Mapping[str, str]], types: Mapping[str, Mapping[str, str]]
              ) -> Callable[[tuple[str | None, str]], str | None]:
    """`parse_condition`'s `types` for a condition on `kind` records (None for a column it
    cannot read: `_unknown_column` reports it)."""
    def of(column: tuple[str | None, str]) -> str | None:
        relation, name = column
        target = kind if relation is None else relation if relation in RELATIONS[kind] else None
        key = columns.get(target, {}).get(normalize_key(name)) if target is not None else None
        return types.get(target, {}).get(key) if key is not None else None  # type: ignore[arg-type]
    return of


def _unknown_column(condition: Condition, kind: str, columns: Mapping[str, Mapping[str, str]]
                    ) -> tuple[str | None, str] | None:
    for relation, column in sorted(condition.columns(), key=lambda c: (c[0] or "", c[1])):
        target = kind if relation is None else relation if relation in RELATIONS[kind] else None
        if target is None or normalize_key(column) not in columns.get(target, {}):
            return relation, column
    return None


def getter(subject: Subject, columns: Mapping[str, Mapping[str, str]],
           enum: Callable[[str, str], Mapping[str, str] | None],
           resolved: dict[tuple[str, str], tuple[str, Mapping[str, str] | None]] | None = None,
           money: Mapping[str, Mapping[str, str | None]] | None = None,
           texts: Mapping[str, Mapping[str, tuple[str, bool]]] | None = None) -> Callable[[str | None, str], Any]:
    """`Condition.test`'s `get` over a subject: its value (or its related record's) under the
    column a condition names; a value with a fixed set of words (a Status) as a `Choice`, so
    `Status = Cliente` holds for a Customer: `enum(kind, key)` gives its words
    (`crm.workflows.World.enum`), None for a field of free text. `parse_segments` checked every column exists.
    `resolved`: (kind, column as written) -> (field key, its words), shared by the getters of
    one pass so each column a condition names is looked up once, not once a subject. `money`:
    `crm.workflows.World.money`, a money column's value then given as a `conditions.Money`
    (give it with the `rates` the condition was parsed with). `texts`: `World.texts`, a cell of
    a column the read keeps as text then given as a `conditions.Text`."""
    found = {} if resolved is None else resolved

    def get(relation: str | None, column: str) -> Any:
        target = subject if relation is None else subject.related.get(relation)
        at = (subject.kind if relation is None else relation, column)
        place = found.get(at)
        if place is None:
            key = columns[at[0]][normalize_key(column)]
            place = found[at] = (key, enum(at[0], key))
        key, words = place
        value = None if target is None else target.values.get(key)
        if money is not None and target is not None and value is not None and key in (of := money.get(at[0], {})):
            return money_of(target, key, value, of[key])
        if texts is not None and value is not None and (read := texts.get(at[0], {}).get(key)) is not None:
            return Text(value, *read, at=(target, key))
        if isinstance(words, References) and isinstance(value, str):
            return words.choice(value)
        return Choice(value, words.get) if words is not None and value is not None else value
    return get


def members(segment: Segment, subjects: Iterable[Subject], columns: Mapping[str, Mapping[str, str]],
            enum: Callable[[str, str], Mapping[str, str] | None],
            money: Mapping[str, Mapping[str, str | None]] | None = None,
            unsure: list[Unsure] | None = None,
            texts: Mapping[str, Mapping[str, tuple[str, bool]]] | None = None) -> list[Subject]:
    """The subjects (of the segment's kind) its condition holds for, in their order. `money`:
    and `texts` as `getter`'s; each subject whose money or text comparisons left the condition
    undecided is no member, and its verdict goes to `unsure` for the caller to report at its
    cells."""
    resolved: dict[tuple[str, str], tuple[str, Mapping[str, str] | None]] = {}
    verdict = segment.condition.verdict
    out = []
    for s in subjects:
        v = verdict(getter(s, columns, enum, resolved, money, texts))
        if v is True:
            out.append(s)
        elif unsure is not None and isinstance(v, Unsure):
            unsure.append(v)
    return out


@dataclass(frozen=True, slots=True)
class Deal:
    """A deal as the KPIs see it: `key` unique per deal (its sheet row); `stage` "open", "won"
    or "lost" (crm.stages.StageTable.kind); `amount` in the base currency, None without an
    amount or a rate; `in_pipeline` False for an open deal forecast as Omitted; `unrated` its
    MissingRate when it has an amount that cannot be put in the base currency (no rate, or one
    that may mean something else): the sums that would count it are unknown, not short of it."""

    key: int
    stage: str
    amount: Decimal | None
    in_pipeline: bool = True
    unrated: MissingRate | None = None


@dataclass(frozen=True)
class Reach:
    """What one member reaches: account IDs and deal keys."""

    accounts: frozenset[str] = frozenset()
    deals: frozenset[int] = frozenset()


@dataclass(frozen=True)
class SegmentKpis:
    members: int
    accounts: int                  # distinct accounts the members reach
    pipeline: Decimal | None       # base currency: open deals' amounts; None: one has no rate
    won_revenue: Decimal | None    # base currency: won deals' amounts; None: one has no rate
    churned: int                   # of `accounts`, those whose Status says Churned
    churn: Decimal | None          # points: churned ÷ accounts; None when no account is reached
    missing_rates: tuple[MissingRate, ...] = ()  # the deals that left pipeline or won revenue None

    def to_json(self) -> dict[str, Any]:
        """The units of `kpis --format json`: money as plain decimal text (`str` wrote "0E-7" for
        a zero amount in a currency whose rate has seven decimals), churn an unrounded fraction."""
        return {"members": self.members, "accounts": self.accounts, "pipeline": decimal_text(self.pipeline),
                "won_revenue": decimal_text(self.won_revenue), "churned": self.churned,
                "churn": fraction(self.churned, self.accounts), "missing_rates": len(self.missing_rates)}


def segment_kpis(reaches: Iterable[Reach], deals: Mapping[int, Deal], churned: Collection[str],
                 amounts_read: bool = True) -> SegmentKpis:
    """A segment's KPIs from what each of its members reaches, one Reach per member (the module
    docstring defines them; an iterator, so a 100k-member segment's are never all held);
    `deals` by key, `churned` the IDs of the churned accounts. O(members + deals).
    `amounts_read` False: no deal's amount is read (`validate.amounts_unread`), so the pipeline
    and the won revenue are None, not a 0 that reads as "nothing open, nothing won"."""
    accounts: set[str] = set()
    keys: set[int] = set()
    members = 0
    for r in reaches:
        members += 1
        accounts |= r.accounts
        keys |= r.deals
    pipeline: Decimal | None = _ZERO if amounts_read else None
    won: Decimal | None = _ZERO if amounts_read else None
    missing: list[MissingRate] = []
    for key in sorted(keys):
        deal = deals.get(key)
        if deal is None or not (deal.stage == "won" or deal.stage == "open" and deal.in_pipeline):
            continue
        if deal.unrated is not None:
            missing.append(deal.unrated)
        elif deal.amount is None:  # no amount: counts nothing, as on the Dashboard
            continue
        if deal.stage == "won":
            won = plus(won, deal.amount)
        else:
            pipeline = plus(pipeline, deal.amount)
    lost = sum(1 for a in accounts if a in churned)
    return SegmentKpis(members, len(accounts), pipeline, won, lost, ratio_points(lost, len(accounts)), tuple(missing))


# -- the target list -----------------------------------------------------------------------------

# The columns of a target list, per kind: what a mailing tool needs of each member.
TARGET_FIELDS: dict[str, tuple[str, ...]] = {
    "account": ("id", "name", "domain", "industry", "country", "owner", "status"),
    "contact": ("id", "first_name", "last_name", "email", "phone", "title", "account", "owner"),
    "lead": ("id", "first_name", "last_name", "email", "phone", "company", "title", "owner", "status"),
}
# A cell a spreadsheet would run as a formula when the CSV is opened (OWASP's CSV injection):
# it goes out behind an apostrophe, which shows it as text.
_FORMULA_START = ("=", "+", "-", "@")
# What a formula needs to do harm is a function, a reference or a link (`=HYPERLINK(…)`,
# `=cmd|…`, `A1`): letters. A text of digits and phone punctuation alone calls and reads
# nothing, so these go out as they are. A negative whole number opens as that number in a
# spreadsheet too ("-5" stays -5); a phone ("+34 600 123 456") does not ("+1-555-0100" opens
# as -654, "+34600123456" loses its "+"), so in the spreadsheet's CSV it keeps the apostrophe,
# and only the tools' CSV hands it over untouched (a mailing tool would store "'+34…").
_NEGATIVE_NUMBER = re.compile(r"-[1-9][0-9]*")
_PHONE_LIKE = re.compile(r"[+-][0-9 ().\-/]*[0-9][0-9 ().\-/]*")


def safe_cell(value: Any, spreadsheet: bool = True) -> str:
    """A value as a CSV cell that runs nothing when opened: None -> "", control characters as
    visible escapes (`terminal.visible`: a tab or a carriage return cannot start a formula or
    drive a terminal) but for a line break inside the text, which the CSV quotes and a
    spreadsheet shows as one (a cell's Alt+Enter); a text starting with = + - @ -> "'" + text,
    but for a negative whole number ("-5") and, when not `spreadsheet` (a tool's CSV), a text of
    digits and phone punctuation ("+34 600 123 456"). Numbers and dates as plain text (a
    negative number is a number, not a formula)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    text = "\n".join(visible(line) for line in value.split("\n"))
    if text.startswith("\n"):  # only a break inside the text: a cell never starts on an empty line
        text = "\\u000a" + text[1:]
    if not text.startswith(_FORMULA_START) or _NEGATIVE_NUMBER.fullmatch(text) or (
            not spreadsheet and _PHONE_LIKE.fullmatch(text)):
        return text
    return "'" + text


def spreadsheet_delimiter(locale: str) -> str:
    """The separator a spreadsheet opening a CSV in `locale` (a babel locale: "en", "es") splits
    cells on: ";" where the decimal sign is a comma (Excel takes the list separator from the
    system's region, and a region with a decimal comma has ";"), else ","."""
    return ";" if get_decimal_symbol(locale) == "," else ","


def spreadsheet_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], locale: str) -> bytes:
    """The rows as a CSV file a spreadsheet opens as columns: UTF-8 behind a byte order mark (without
    it Excel reads the bytes in the system's code page: "Núñez" shows "NÃºÃ±ez") and cells separated
    as `spreadsheet_delimiter(locale)` says."""
    return ("\ufeff" + csv_text(header, rows, spreadsheet_delimiter(locale), spreadsheet=True)).encode("utf-8")


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",",
             spreadsheet: bool = False) -> str:
    """The rows as CSV (the csv module's quoting, \\r\\n line ends, cells separated by
    `delimiter`), every cell `safe_cell(value, spreadsheet)`: by default for a tool (csv-plain)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([safe_cell(h, spreadsheet) for h in header])
    writer.writerows([safe_cell(v, spreadsheet) for v in row] for row in rows)
    return out.getvalue()
