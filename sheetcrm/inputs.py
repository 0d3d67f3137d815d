"""The tabs beside the CRM's, read in the same pass as the CRM tabs: typed once, here.

- Rates (Currency, Rate) and Quotas (Owner, Month, Quota): input tabs people add, found by name;
- Stage History and Lead Status History: sheetcrm's own logs, found by their mark;
- `_sheetcrm`: the sequences' high-water marks (`ids.read_sequences`);
- the record of earlier lead conversions, in the CRM tabs' recorded columns (`read_conversions`).

Nothing after the read parses a cell: the engine and the steps get `Inputs`. A row that cannot
be read is left out, as it always was: a currency without a readable rate then surfaces as a
`missing_rate` warning on each of its amounts, which tells the reader more than the bad cell
would, and a damaged line of history is skipped rather than failing every sync.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from sheetcrm import cells
from sheetcrm.config import Config
from sheetcrm.crm.conversion import Conversions, Converted
from sheetcrm.crm.forecast import Quota, month_key
from sheetcrm.crm.history import HistoryRow
from sheetcrm.crm.money import Rates
from sheetcrm.ids import read_sequences
from sheetcrm.owned import owned_title
from sheetcrm.records import LEAD_STATUSES, ParseContext
from sheetcrm.schema import (LEAD_HISTORY, OWNED_TABS, QUOTAS, RATES, SEQUENCES, STAGE_HISTORY, OwnedTab, find_tab,
                             owned_tab_names)
from sheetcrm.workbook import Grid, Snapshot

_MONTH_RE = re.compile(r"(\d{4})-(\d{1,2})")
# Lead Status History's words -> the status they name, in either language.
_LEAD_STATUSES = cells.enum_choices(LEAD_STATUSES)


@dataclass
class Inputs:
    rates: Rates
    quotas: list[Quota] = field(default_factory=list)
    stage_history: list[HistoryRow] = field(default_factory=list)   # as the tab holds them, old rows first
    lead_history: list[HistoryRow] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)         # prefix -> the last number handed out
    conversions: Conversions = field(default_factory=Conversions)   # read_conversions


def read_inputs(snapshot: Snapshot, config: Config, context: ParseContext) -> Inputs:
    """Every side tab of `snapshot`; `context` is the CRM read's (locale, stage names)."""
    return Inputs(
        rates=rates_from_rows(config.currency, _rows(snapshot, RATES), config.locale),
        quotas=quotas_from_rows(_rows(snapshot, QUOTAS), config.locale),
        stage_history=read_history(_grid(snapshot, STAGE_HISTORY), config.locale, context.stages),
        lead_history=read_history(_grid(snapshot, LEAD_HISTORY), config.locale, _LEAD_STATUSES),
        sequences=read_sequences(_grid(snapshot, SEQUENCES)),
    )


def read_rates(snapshot: Snapshot, config: Config) -> Rates:
    """The Rates tab alone (the Outbox's sender reads no CRM tab but Opportunities' quotes)."""
    return rates_from_rows(config.currency, _rows(snapshot, RATES), config.locale)


def rates_from_rows(base: str, rows: Iterable[Sequence[Any]], locale: str = "en") -> Rates:
    """Rates from the Rates tab's (Currency, Rate) cells, header row excluded.

    A row that cannot be read, or a rate that is not positive, is skipped: its currency
    then has no rate, and every amount in it surfaces as a `missing_rate` warning,
    which says more to the reader than a bad cell would.
    """
    per_unit = {}
    for row in rows:
        if len(row) < 2:
            continue
        try:
            currency = cells.parse_currency(row[0])
            rate = cells.parse_number(row[1], locale)
        except cells.CellError:
            continue
        if currency and rate is not None and rate > 0:
            per_unit[currency] = rate
    return Rates(base, per_unit)


def quotas_from_rows(rows: Iterable[Sequence[Any]], locale: str = "en") -> list[Quota]:
    """Quotas from the Quotas tab's (Owner, Month, Quota) cells, header row excluded.

    Month is "YYYY-MM" or any date in the month. Rows that cannot be read are skipped.
    """
    quotas: list[Quota] = []
    for row in rows:
        if len(row) < 3:
            continue
        try:
            owner = cells.parse_text(row[0])
            month = _parse_month(row[1], locale)
            amount = cells.parse_number(row[2], locale)
        except cells.CellError:
            continue
        if owner and month and amount is not None:
            quotas.append(Quota(owner, month, amount))
    return quotas


def _parse_month(raw: Any, locale: str) -> str | None:
    if isinstance(raw, str) and (m := _MONTH_RE.fullmatch(raw.strip())) and 1 <= int(m[2]) <= 12:
        return f"{int(m[1]):04d}-{int(m[2]):02d}"
    day = cells.parse_date(raw, locale)
    return month_key(day) if day else None


def read_history(grid: Grid | None, locale: str, names: Mapping[str, str] | None) -> list[HistoryRow]:
    """Rows of a history tab (record, from, to, changed at, amount). Each row keeps its words as
    written; `names` (normalize_key(alias) -> canonical key) gives the keys they name, so a
    renamed or Spanish stage still continues its own history."""
    rows: list[HistoryRow] = []
    if grid is None:
        return rows
    for raw in grid.rows[1:]:
        raw = list(raw) + [None] * (5 - len(raw))
        try:
            record = cells.parse_text(raw[0])
            from_value = cells.parse_text(raw[1])
            to_value = cells.parse_text(raw[2])
            changed = cells.parse_date(raw[3], locale)
            amount = cells.parse_number(raw[4], locale)
        except cells.CellError:
            continue  # a damaged line of history is skipped rather than failing every sync
        if record and to_value and changed:
            rows.append(HistoryRow(record, from_value, to_value, changed, amount, to_key=_key(to_value, names),
                                   from_key=_key(from_value, names)))
    return rows


def _key(text: str | None, names: Mapping[str, str] | None) -> str | None:
    if text is None or names is None:
        return text
    return names.get(cells.normalize_key(text), text)


def _grid(snapshot: Snapshot, tab: OwnedTab) -> Grid | None:
    # sheetcrm's own tabs by their mark (a team's "Stage History" is not history); input tabs
    # people make (Rates, Quotas) by name.
    title = owned_title(snapshot, tab) if tab.key in OWNED_TABS else find_tab(list(snapshot.tabs), owned_tab_names(tab))
    return snapshot.tabs.get(title) if title else None


def _rows(snapshot: Snapshot, tab: OwnedTab) -> list[list[Any]]:
    grid = _grid(snapshot, tab)
    return [list(r) for r in grid.rows[1:]] if grid else []


def read_conversions(tables: Mapping[str, Any], locale: str) -> Conversions:
    """Earlier conversions, from sheetcrm's recorded columns (names.RECORDED): each lead row's
    Converted Account / Contact / Opportunity / On, and the rows of Accounts, Contacts and
    Opportunities whose From Lead names a lead. `tables` are the read's (`table.Table` by tab
    key). A Converted On that is not a date reads as None (the link still counts)."""
    found = Conversions()
    leads = tables.get("leads")
    if leads is not None:
        cols = leads.header.computed
        for row in [*leads.rows, *leads.leftovers]:
            def text(key: str) -> str | None:
                col = cols.get(key)
                raw = row.cells[col] if col is not None and col < len(row.cells) else None
                return cells.parse_text(raw)
            try:
                col = cols.get("converted_on")
                on = cells.parse_date(row.cells[col], locale) if col is not None and col < len(row.cells) else None
            except cells.CellError:
                on = None
            links = Converted(row.row, row.id, text("converted_account"), text("converted_contact"),
                              text("converted_opportunity"), on)
            if links.account or links.contact or links.opportunity or links.on:
                found.links[row.row] = links
    for key in ("accounts", "contacts", "opportunities"):
        table = tables.get(key)
        col = table.header.computed.get("lead") if table is not None else None
        if col is None:
            continue
        by_lead = found.from_lead.setdefault(key, {})
        for row in table.rows:
            lead = cells.parse_text(row.cells[col]) if col < len(row.cells) else None
            if lead and row.id:
                by_lead.setdefault(lead, row.id)
    return found
