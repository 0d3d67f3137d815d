"""The compute step of a sync: records in, everything the CRM knows out. Pure; `as_of` is given.

It takes the read (`validate.read_crm`: the CRM tabs' records, and the Rates, Quotas and
history tabs already typed in `crm.inputs`), runs the engine in `sheetcrm.crm` with the
settings values it needs, and returns one `Results` value that the renderer turns into cells.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable

from sheetcrm import names
from sheetcrm.config import Config
from sheetcrm.crm import (Forecast, HistoryRow, Kpis, OpportunityMetrics, Rates, RelatedIndex, StageTable,
                          compute_kpis, forecast, lead_states, missing_rate_issues, opportunity_metrics,
                          opportunity_states, record_changes, stage_entered, stage_win_rates, to_base)
from sheetcrm.crm.scoring import LeadScore, ScoringResult, score_leads
from sheetcrm.records import Lead, Opportunity
from sheetcrm.report import Issue
from sheetcrm.validate import Crm


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


def compute(crm: Crm, config: Config, as_of: dt.date) -> Results:
    """Everything the engine knows of `crm` (a `validate.read_crm` result) on `as_of`."""
    assert crm.inputs is not None  # read_crm reads them
    stages = StageTable.of(config.stages)
    opportunities: list[Opportunity] = crm.records("opportunities")
    leads: list[Lead] = crm.records("leads")
    activities = crm.records("activities")
    tasks = crm.records("tasks")

    rates, quotas = crm.inputs.rates, crm.inputs.quotas
    old_stages, old_leads = crm.inputs.stage_history, crm.inputs.lead_history
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
    title = crm.tables["opportunities"].title if "opportunities" in crm.tables else names.CRM_TABS["opportunities"]
    return Results(
        as_of=as_of, currency=config.currency, opportunities=opportunities, metrics=metrics,
        scoring=score_leads(leads, activities, config.scoring, as_of), forecast=fc, kpis=kpis,
        pipeline=_pipeline(opportunities, metrics, stages, rates), stage_history=stage_history,
        lead_history=lead_history, warnings=missing_rate_issues(opportunities, rates, tab=title),
    )


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
