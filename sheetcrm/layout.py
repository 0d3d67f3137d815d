"""How the cells sheetcrm writes look: number formats, column widths, and how its tabs print.

Declared once here, for every column sheetcrm writes: its summary tabs whole, and its
computed columns on people's tabs. A value's *kind* says how it shows:

    money     a currency format of the amount's currency, from the locale's CLDR pattern
              (babel): 1234.5 in EUR shows "€1,234.50" in English, "1.234,50 €" in Spanish
    ratio     a percent with one decimal: 0.632 shows "63.2%" ("63,2 %")
    count     a whole number with thousands separators
    days      one decimal (an average of days)
    multiple  two decimals and "×" (pipeline coverage)
    date      yyyy-mm-dd
    amount    two decimals (three when the base currency or a row's own currency has three, as
              KWD) with no currency, each value rounded to its own currency's unit: the Weighted Amount of a deal is
              in the deal's own currency, which its row's Currency cell names; a currency format per row
              would go stale the moment a person changed that cell, and sheetcrm never
              rewrites a format it set
    seconds   two decimals

Format codes always use "." and "," (the spreadsheet app shows its locale's separators) and
quote literal text, so the same code serves .xlsx and Google Sheets. Widths are in characters,
fit to the header and to the longest value as its format shows it, within MAX_WIDTH.

Pure: the plan and the snapshot in, `ColumnFormat`s and `TabLayout`s out (sheetcrm.workbook).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from functools import lru_cache
from itertools import zip_longest
from typing import Any, Iterable, Sequence

from babel import Locale
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision, \
    get_currency_symbol, list_currencies

from sheetcrm.i18n import LOCALES
from sheetcrm.inputs import history_columns
from sheetcrm.names import COMPUTED, tab_headers
from sheetcrm.owned import locate
from sheetcrm.render import COUNT, DATE, DAYS, MONEY, MULTIPLE, RATIO, TEXT
from sheetcrm.schema import (DASHBOARD, DUPLICATES, FORECAST, LEAD_HISTORY, OUTBOX, OVERVIEW, PIPELINE, SEGMENT_SUMMARY,
                             STAGE_HISTORY, SYNC_LOG, VALIDATION, WORKFLOW_LOG, OwnedTab)
from sheetcrm.workbook import CellValue, ColumnFormat, NumberFormat, Plan, Snapshot, TabLayout

AMOUNT, SECONDS, DATETIME = "amount", "seconds", "datetime"
MAX_WIDTH = 60      # characters: a long message wraps onto the next line of its page, not off it
PADDING = 2         # characters beside the longest text, and the bold header's extra width

# The kind of each column of sheetcrm's tabs that holds numbers (1-based), the rows below the
# header. The Forecast's and the Dashboard's are per block and per row (`_forecast`, `_dashboard`).
COLUMN_KINDS: dict[str, dict[int, str]] = {
    PIPELINE.key: {2: COUNT, 3: MONEY, 4: MONEY},
    STAGE_HISTORY.key: {4: DATE, 5: MONEY},
    LEAD_HISTORY.key: {4: DATE},
    SYNC_LOG.key: {3: SECONDS, 4: COUNT, 5: COUNT, 6: COUNT, 7: COUNT},
    VALIDATION.key: {3: COUNT},
    OUTBOX.key: {},
    DUPLICATES.key: {2: RATIO, 10: DATE},   # Score (a fraction: 0.95 shows 95.0 %), Created
    WORKFLOW_LOG.key: {1: DATE},
    # Members, Accounts, Open Pipeline, Won Revenue, Churned Accounts, Churn %
    SEGMENT_SUMMARY.key: {3: COUNT, 4: COUNT, 5: MONEY, 6: MONEY, 7: COUNT, 8: RATIO},
    # Contacts, Open Deals, Open Amount, Won Revenue, Last Activity, Next Task Due, Open and Urgent Cases, Health
    OVERVIEW.key: {4: COUNT, 5: COUNT, 6: MONEY, 7: MONEY, 8: DATE, 9: DATE, 11: COUNT, 12: COUNT, 13: COUNT},
}
# The columns of sheetcrm's logs whose money stays as written: each row's Amount is in the base
# currency of its day, so a new base currency is no reason to show an old row's figure in it
# (10,000 USD is not "10.000,00 €"). Only rows showing no format get today's code.
KEPT_COLUMNS: dict[str, frozenset[int]] = {STAGE_HISTORY.key: frozenset({5})}
# Tabs printed one page wide.
PRINTED = (DASHBOARD.key, PIPELINE.key, FORECAST.key, VALIDATION.key, STAGE_HISTORY.key, LEAD_HISTORY.key,
           SYNC_LOG.key, OVERVIEW.key)
# The kind of sheetcrm's computed columns on people's tabs (the others are text).
COMPUTED_KINDS: dict[str, dict[str, str]] = {
    "opportunities": {"probability_pct": RATIO, "weighted_amount": AMOUNT, "days_in_stage": COUNT,
                      "last_activity": DATE},
    "leads": {"score": COUNT, "conversion_pct": RATIO, "converted_on": DATE},
    "workflows": {"firings": COUNT, "last_fired": DATE},
    # Money in the base currency (crm/campaigns.py), so a currency format, unlike Weighted Amount.
    "campaigns": {"leads": COUNT, "converted_leads": COUNT, "opportunities": COUNT, "won_deals": COUNT,
                  "won_revenue": MONEY, "cost_per_lead": MONEY, "cost_per_won_deal": MONEY, "roi": RATIO},
    "cases": {"age": COUNT, "sla_due": DATETIME, "first_response": DATE},
}
assert all(set(kinds) <= set(COMPUTED[tab]) for tab, kinds in COMPUTED_KINDS.items())


@lru_cache(maxsize=64)
def number_format(kind: str, currency: str, locale: str) -> NumberFormat | None:
    """The number format of a kind (see the module docstring) in a locale; None for text.

    Money follows the locale's CLDR currency pattern ("¤#,##0.00" in en, "#,##0.00 ¤" in es)
    with the currency's own decimals (JPY has none) and its symbol in that locale, quoted."""
    if kind == MONEY:
        decimals = get_currency_precision(currency)
        pattern = Locale.parse(locale).currency_formats["standard"].pattern
        symbol = get_currency_symbol(currency, locale=locale)
        return NumberFormat("CURRENCY", _code(pattern, "#,##0" + ("." + "0" * decimals if decimals else ""),
                                              symbol))
    if kind == RATIO:
        return NumberFormat("PERCENT", _code(Locale.parse(locale).percent_formats[None].pattern, "0.0", ""))
    return {COUNT: NumberFormat("NUMBER", "#,##0"), DAYS: NumberFormat("NUMBER", "#,##0.0"),
            MULTIPLE: NumberFormat("NUMBER", '0.00"×"'), DATE: NumberFormat("DATE", "yyyy-mm-dd"),
            DATETIME: NumberFormat("DATE_TIME", "yyyy-mm-dd hh:mm"),  # not for people: a format pattern
            AMOUNT: NumberFormat("NUMBER", _amount(currency)), SECONDS: NumberFormat("NUMBER", "0.00")}.get(kind)


# The languages a config may name (config.Config.locale): the codes of each are sheetcrm's own.
LOCALES = ("en", "es")


@lru_cache(maxsize=1)
def own_codes() -> frozenset[str]:
    """Every format code `number_format` gives, for every currency babel knows and every
    language in LOCALES (some 620 codes, 15 ms once): what a cell shows when sheetcrm formatted
    it under any config. A cell showing one of these is given today's code when the base
    currency or the language changed ("$" amounts become "€" ones, `0.0%` becomes `0.0" "%`);
    any other code is a person's (docs/formats.md)."""
    kinds = (MONEY, RATIO, COUNT, DAYS, MULTIPLE, DATE, DATETIME, AMOUNT, SECONDS)
    return frozenset(f.pattern for kind in kinds for currency in list_currencies() for locale in LOCALES
                     if (f := number_format(kind, currency, locale)) is not None)


_NUMBER = re.compile(r"[#0,.]+")


def _amount(currency: str) -> str:
    """The AMOUNT format: two decimals, or the base currency's when it has more (KWD's three)."""
    return "#,##0." + "0" * max(2, get_currency_precision(currency))


def _finest(base: str, currencies: Iterable[str | None]) -> str:
    """Of the base currency and `currencies`, the one with the most decimals (KWD's three over
    USD's two); the base on a tie."""
    best, most = base, get_currency_precision(base)
    for c in set(currencies) - {None, base}:
        n = get_currency_precision(c)  # a code babel does not know has two
        if n > most:
            best, most = c, n
    return best


def _code(cldr: str, number: str, symbol: str) -> str:
    """A CLDR number pattern's first section as a format code: its number part replaced by
    `number`, ¤ by the quoted symbol, "%" kept, every other character quoted."""
    section = cldr.split(";")[0]
    out, literal = [], ""
    for i, piece in enumerate(_NUMBER.split(section)):
        if i:
            out.append(_quoted(literal))
            literal = ""
            out.append(number)
        for ch in piece:
            if ch == "%":
                out.append(_quoted(literal))
                literal = ""
                out.append("%")
            else:
                literal += symbol if ch == "¤" else ch
    out.append(_quoted(literal))
    return "".join(out)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', "") + '"' if text else ""


def shown(value: CellValue, kind: str, currency: str, locale: str) -> str:
    """A value as its cell shows it under `number_format(kind, ...)` (for widths)."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:16].replace("T", " ") if kind != DATE else "0000-00-00"
    number = Decimal(str(value)) if isinstance(value, (int, float, Decimal)) else None
    if number is None:
        return str(value)
    if kind == MONEY:
        return format_currency(number, currency, locale=locale)
    if kind == RATIO:
        pattern = _NUMBER.sub("#,##0.0", Locale.parse(locale).percent_formats[None].pattern, 1)
        return format_percent(number, pattern, locale=locale)
    if kind == DATE:
        return "0000-00-00"
    if kind == MULTIPLE:
        return format_decimal(number, "0.00", locale=locale) + "×"
    if kind in (AMOUNT, SECONDS):
        return format_decimal(number, _amount(currency) if kind == AMOUNT else "#,##0.00", locale=locale)
    if kind == DAYS:
        return format_decimal(number, "#,##0.0", locale=locale)
    return format_decimal(number, "#,##0", locale=locale) if kind == COUNT else str(value)


_NUMBERS = {int, float, Decimal}  # measured at their extremes (bool is its own type: shown as text)
_MEASURED = _NUMBERS | {str, dt.date}  # the types `width` measures a run at a time


def width(header: CellValue, runs: Iterable[tuple[str, Sequence[CellValue]]], currency: str, locale: str) -> int:
    """Characters a column needs for its header and its cells, within MAX_WIDTH; `runs` are
    (kind, values) pairs: the column's cells cut where their kind changes (`_runs_of`).

    Numbers of one kind are measured at their extremes only: a format's text grows with
    the magnitude, so a 100,000-row column costs two formatted values, not 100,000. A run of
    text alone is measured by `len` in C: a write's widths cost about a pass over the cells."""
    longest = len(str(header or "")) + PADDING
    extremes: dict[str, list[Any]] = {}  # kind -> [lowest, highest], over every run of the kind
    for kind, values in runs:
        types = set(map(type, values))
        types.discard(type(None))
        numbers: list[Any] = []
        if str in types:
            longest = max(longest, max(map(len, [v for v in values if type(v) is str])) + PADDING)
        if dt.date in types:  # "yyyy-mm-dd", or the date format's own ten characters
            longest = max(longest, 10 + PADDING)
        if types & _NUMBERS:
            numbers = [v for v in values if type(v) in _NUMBERS]
        if others := types - _MEASURED:  # bools, times, subclasses: one at a time, as shown
            for value in (v for v in values if type(v) in others):
                if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    numbers.append(value)
                else:
                    longest = max(longest, len(shown(value, kind, currency, locale)) + PADDING)
        if numbers:
            low, high = extremes.get(kind, (numbers[0], numbers[0]))
            extremes[kind] = [min(low, min(numbers)), max(high, max(numbers))]
    for kind, numbers in extremes.items():
        longest = max(longest, *(len(shown(v, kind, currency, locale)) + PADDING for v in numbers))
    return min(longest, MAX_WIDTH)


def column_formats(snapshot: Snapshot, plan: Plan, crm: Any, dashboard_kinds: list[str], forecast_rows: int,
                   currency: str, locale: str) -> tuple[list[ColumnFormat], list[TabLayout]]:
    """The formats and layouts of every column sheetcrm writes in this plan's workbook.

    `crm` is the read (`validate.Crm`: its tables say where the computed columns are),
    `dashboard_kinds` the kind of each Dashboard row's value (`render.kinds`),
    `forecast_rows` the number of month rows above the Forecast's calibration block, and
    `currency` the base currency every summary amount is in. Widths are measured for the
    tabs the plan changes (`written_tabs`); the others' columns get width 0 (left alone)."""
    formats: list[ColumnFormat] = []
    layouts: list[TabLayout] = []
    changed = written_tabs(plan)
    for tab in (PIPELINE, FORECAST, DASHBOARD, STAGE_HISTORY, LEAD_HISTORY, SYNC_LOG, VALIDATION, OUTBOX, DUPLICATES,
                WORKFLOW_LOG, SEGMENT_SUMMARY, OVERVIEW):
        title = locate(snapshot, tab, locale).title
        if title not in snapshot.tabs and title not in plan.new_tabs:
            continue
        measure = title in changed
        content = _content(snapshot, plan, title) if measure else snapshot.tabs[title].rows
        if tab is DASHBOARD:
            blocks = {2: _runs(dashboard_kinds, first_row=2)}
        elif tab is FORECAST:
            blocks = _forecast(forecast_rows)
        else:
            blocks = {col: [(2, None, kind)] for col, kind in COLUMN_KINDS[tab.key].items()}
        # sheetcrm's columns only: those a person added after them are theirs, format and width.
        last_col = min(max(map(len, content)) if content else 0, len(tab.headers))
        places: Sequence[int] = range(1, last_col + 1)
        # A history tab whose columns a person moved is written where its headers are
        # (`inputs.history_columns`): its formats go there too, not a date format on To and a
        # money one on Changed At.
        where = history_columns(snapshot.tabs.get(title), len(tab.headers),
                                [tab_headers(tab.key, lang) for lang in LOCALES]) \
            if tab in (STAGE_HISTORY, LEAD_HISTORY) else None
        if tab is DUPLICATES and crm.inputs is not None:
            where = crm.inputs.duplicates.where()  # as the duplicates step writes it
        kept = KEPT_COLUMNS.get(tab.key, frozenset())
        if where is not None:
            blocks = {where[col - 1] + 1: kinds for col, kinds in blocks.items()}
            places = [c + 1 for c in where]
            # Amount kept where it went: by sheetcrm's position the moved column there (Changed
            # At) was kept and the Amounts took today's currency code ("$1,000.00" became "€1,000.00").
            kept = frozenset(where[col - 1] + 1 for col in kept)
        if crm.inputs is not None and tab.key in crm.inputs.history_gone:
            # A column deleted (`inputs.history_gone`): the others slid into its place, and a
            # date format on what is now Amount showed 1000 as 1902-09-26. Not sheetcrm's to
            # format until the column is back, as it is not written.
            places = ()
        # The cells below the header, a tuple per column; only a tab this plan changes is measured.
        columns = list(zip_longest(*content[1:])) if measure else []
        for col in places:
            kinds = blocks.get(col, [])
            rows = tuple((first, last, f) for first, last, kind in kinds
                         if (f := number_format(kind, currency, locale)) is not None)
            wide = 0
            if measure:
                values = columns[col - 1] if col - 1 < len(columns) else ()
                header = content[0][col - 1] if col - 1 < len(content[0]) else None
                wide = width(header, _runs_of(values, kinds), currency, locale)
            formats.append(ColumnFormat(title, col, wide, rows, owned=True,
                                        kept=col in kept))
        layouts.append(TabLayout(title, fit_width=tab.key in PRINTED))
    rules = crm.inputs.workflows.table if crm.inputs is not None else None  # the Workflows tab: not a CRM tab
    for key, kinds_of in COMPUTED_KINDS.items():
        table = rules if key == "workflows" else crm.tables.get(key)
        if table is None or table.header.full or "id" not in table.header.fields:
            continue
        measure = table.title in changed
        planned = {(w.row, w.col): w.value for w in plan.writes if w.tab == table.title}
        columns = None
        for computed in table.spec.computed:
            col = table.header.computed.get(computed.key)
            if col is None:
                continue
            kind = kinds_of.get(computed.key, TEXT)
            # An AMOUNT column holds each row's figure in its own currency: its decimals are the
            # finest of them (a KWD deal's 750.004 under a USD base showed "750.00").
            unit = _finest(currency, (getattr(r, "currency", None) for r in table.records)) if kind == AMOUNT \
                else currency
            f = number_format(kind, unit, locale)
            rows = ((table.header.row + 1, None, f),) if f else ()
            if not measure:
                formats.append(ColumnFormat(table.title, col + 1, 0, rows))
                continue
            if columns is None:  # the rows turned into columns once, in C: a tab has several computed
                columns = list(zip_longest(*(row.cells for row in table.rows)))
            values = list(columns[col]) if col < len(columns) else [None] * len(table.rows)
            if written := {r: v for (r, c), v in planned.items() if c == col + 1}:
                values = [written.get(row.row, value) for row, value in zip(table.rows, values)]
            formats.append(ColumnFormat(table.title, col + 1,
                                        width(table.header.computed_title(computed, locale), [(kind, values)],
                                              unit, locale), rows))
    return formats, layouts


def written_tabs(plan: Plan) -> set[str]:
    """The tabs whose cells `plan` changes: written, created, re-pointed or with rows removed.
    A width is measured only for them: another tab's cells are the ones its last write left,
    and so is the width that write gave it."""
    return ({w.tab for w in plan.writes} | set(plan.new_tabs) | {r.tab for r in plan.replacements}
            | {d.tab for d in plan.deletes})


def _forecast(month_rows: int) -> dict[int, list[tuple[int, int | None, str]]]:
    """The Forecast's blocks: months (money, attainment), then the calibration block below
    a blank row and its own header row (configured and historical %, deals)."""
    last = month_rows + 1
    calibration = last + 3
    blocks: dict[int, list[tuple[int, int | None, str]]] = {col: [(2, last, MONEY)] for col in range(3, 9)}
    blocks[9] = [(2, last, RATIO)]
    blocks.setdefault(2, []).append((calibration, None, RATIO))
    blocks[3].append((calibration, None, RATIO))
    blocks[4].append((calibration, None, COUNT))
    return blocks


def _runs(kinds: list[str], first_row: int) -> list[tuple[int, int | None, str]]:
    """Consecutive rows of one kind as one block (first row, last row, kind); text left out."""
    out: list[tuple[int, int | None, str]] = []
    for r, kind in enumerate(kinds, first_row):
        if out and out[-1][2] == kind and out[-1][1] == r - 1:
            out[-1] = (out[-1][0], r, kind)
        elif kind != TEXT:
            out.append((r, r, kind))
    return out


def _runs_of(values: Sequence[CellValue], blocks: list[tuple[int, int | None, str]]) -> list[tuple[str, Sequence[CellValue]]]:
    """A column's cells from sheet row 2 down (`values`), cut into (kind, values) runs by its
    blocks (first row, last row or None, kind): the first block naming a row gives its kind,
    and rows no block names are text."""
    n = len(values)
    runs: list[tuple[str, Sequence[CellValue]]] = []
    taken: list[tuple[int, int]] = []  # index spans, half open, already given a kind
    for first, last, kind in blocks:
        span = (max(first - 2, 0), n if last is None else min(max(last - 1, 0), n))
        runs.extend((kind, values[a:b]) for a, b in _minus(span, taken))
        taken.append(span)
    runs.extend((TEXT, values[a:b]) for a, b in _minus((0, n), taken))
    return runs


def _minus(span: tuple[int, int], taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The parts of the half-open `span` outside every span of `taken`."""
    parts = [span] if span[0] < span[1] else []
    for low, high in taken:
        parts = [p for a, b in parts for p in ((a, min(b, low)), (max(a, high), b)) if p[0] < p[1]]
    return parts


def _content(snapshot: Snapshot, plan: Plan, title: str) -> list[list[CellValue]]:
    """A tab as it will be after the plan: the read's rows with the plan's writes on them."""
    grid = snapshot.tabs.get(title)
    rows = [list(r) for r in grid.rows] if grid else []
    for w in plan.writes:
        if w.tab != title:
            continue
        while len(rows) < w.row:
            rows.append([])
        row = rows[w.row - 1]
        while len(row) < w.col:
            row.append(None)
        row[w.col - 1] = w.value
    while rows and not any(v not in (None, "") for v in rows[-1]):
        rows.pop()
    return rows
