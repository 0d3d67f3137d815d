"""The compute step of a sync: records in, everything the CRM knows out. Pure; `as_of` is given.

It reads the optional input tabs (Rates, Quotas) and sheetcrm's own history tabs from the
snapshot, runs the engine in `sheetcrm.crm`, and returns one `Results` value that the
renderer turns into cells.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable

from sheetcrm import cells
from sheetcrm.config import Config
from sheetcrm.crm import (Forecast, HistoryRow, Kpis, OpportunityMetrics, Rates, RelatedIndex, StageTable,
                          compute_kpis, forecast, lead_states, missing_rate_issues, opportunity_metrics,
                          opportunity_states, quotas_from_rows, record_changes, stage_entered, stage_win_rates,
                          to_base)
from sheetcrm.crm.scoring import LeadScore, ScoringResult, score_leads
from sheetcrm.records import Lead, Opportunity
from sheetcrm.report import Issue
from sheetcrm.owned import owned_title
from sheetcrm.schema import (LEAD_HISTORY, OWNED_TABS, QUOTAS, RATES, STAGE_HISTORY, OwnedTab, find_tab,
                             owned_tab_names)
from sheetcrm.validate import Crm, parse_context
from sheetcrm.workbook import Grid, Snapshot


@dataclass(frozen=True)
class StageLine:
    """One row of the Pipeline tab: a stage's deals, in the base currency."""

    stage: str
    count: int
    amount: Decimal
    weighted: Decimal


@dataclass
class Results:
    as_of: dt.date
    currency: str
    opportunities: list[Opportunity]
    metrics: list[OpportunityMetrics]
    scoring: ScoringResult
    forecast: Forecast
    kpis: Kpis
    pipeline: list[StageLine]
    stage_history: list[HistoryRow]           # everything, old rows first, as the tab will hold it
    lead_history: list[HistoryRow]
    warnings: list[Issue] = field(default_factory=list)

    def score(self, lead: Lead) -> LeadScore | None:
        return self.scoring.scores.get(lead.id) if lead.id else None


def compute(crm: Crm, snapshot: Snapshot, config: Config, as_of: dt.date) -> Results:
    stages = StageTable.of(config.stages)
    opportunities: list[Opportunity] = crm.records("opportunities")
    leads: list[Lead] = crm.records("leads")
    activities = crm.records("activities")
    tasks = crm.records("tasks")

    rates = Rates.from_rows(config.currency, _input_rows(snapshot, RATES), config.locale)
    quotas = quotas_from_rows(_input_rows(snapshot, QUOTAS), config.locale)
    stage_names = parse_context(config).stages
    old_stages = read_history(_owned(snapshot, STAGE_HISTORY), config.locale, stage_names)
    old_leads = read_history(_owned(snapshot, LEAD_HISTORY), config.locale, None)
    stage_history = old_stages + record_changes(old_stages, opportunity_states(opportunities), as_of)
    lead_history = old_leads + record_changes(old_leads, lead_states(leads), as_of)

    related = RelatedIndex.build(activities, tasks, crm.records("contacts"))
    metrics = opportunity_metrics(opportunities, stages, as_of, stage_entered=stage_entered(stage_history),
                                  related=related, category_overrides=_category_overrides(opportunities))
    calibration = stage_win_rates(stage_history, stages)
    fc = forecast(opportunities, metrics, stages, rates, as_of, quotas=quotas, calibration=calibration,
                  months=config.forecast_months)
    kpis = compute_kpis(opportunities, metrics, stages, rates, as_of, leads=leads, accounts=crm.records("accounts"),
                        activities=activities, tasks=tasks, quotas=quotas)
    title = crm.tables["opportunities"].title if "opportunities" in crm.tables else "Opportunities"
    return Results(
        as_of=as_of, currency=config.currency, opportunities=opportunities, metrics=metrics,
        scoring=score_leads(leads, activities, config.scoring, as_of), forecast=fc, kpis=kpis,
        pipeline=_pipeline(opportunities, metrics, stages, rates), stage_history=stage_history,
        lead_history=lead_history, warnings=missing_rate_issues(opportunities, rates, tab=title),
    )


def read_history(grid: Grid | None, locale: str, names: dict[str, str] | None) -> list[HistoryRow]:
    """Rows of a history tab (record, from, to, changed at, amount). Stage names go through the
    configured aliases, so a renamed or Spanish stage still continues its own history."""
    rows: list[HistoryRow] = []
    if grid is None:
        return rows
    for raw in grid.rows[1:]:
        raw = list(raw) + [None] * (5 - len(raw))
        try:
            record = cells.parse_text(raw[0])
            to_value = _state(raw[2], names)
            changed = cells.parse_date(raw[3], locale)
            amount = cells.parse_number(raw[4], locale)
        except cells.CellError:
            continue  # a damaged line of history is skipped rather than failing every sync
        if record and to_value and changed:
            rows.append(HistoryRow(record, _state(raw[1], names), to_value, changed, amount))
    return rows


def _state(raw: Any, names: dict[str, str] | None) -> str | None:
    text = cells.parse_text(raw)
    if text is None or names is None:
        return text
    return names.get(cells.normalize_key(text), text)


def _owned(snapshot: Snapshot, tab: OwnedTab) -> Grid | None:
    # sheetcrm's own tabs by their mark (a team's "Stage History" is not history); input tabs
    # people make (Rates, Quotas) by name.
    title = owned_title(snapshot, tab) if tab.key in OWNED_TABS else find_tab(list(snapshot.tabs), owned_tab_names(tab))
    return snapshot.tabs.get(title) if title else None


def _input_rows(snapshot: Snapshot, tab: OwnedTab) -> list[list[Any]]:
    grid = _owned(snapshot, tab)
    return [list(r) for r in grid.rows[1:]] if grid else []


def _category_overrides(opportunities: Iterable[Opportunity]) -> dict[str, str]:
    return {o.id: o.category_override for o in opportunities if o.id and o.category_override}


def _pipeline(opportunities: list[Opportunity], metrics: list[OpportunityMetrics], stages: StageTable,
              rates: Rates) -> list[StageLine]:
    count: dict[str, int] = defaultdict(int)
    amount: dict[str, Decimal] = defaultdict(Decimal)
    weighted: dict[str, Decimal] = defaultdict(Decimal)
    for o, m in zip(opportunities, metrics):
        count[o.stage] += 1
        base = to_base(o.amount, o.currency, rates)
        if base is None:
            continue  # no amount, or no rate: reported as a missing_rate warning, never summed
        amount[o.stage] += base
        weighted[o.stage] += base * (m.probability or 0) / 100
    return [StageLine(s.name, count[s.name], amount[s.name], weighted[s.name]) for s in stages.stages]
