"""The CRM engine: pure functions from typed records to computed columns, forecast and KPIs.

No I/O and no clock: the sync reads the tabs, passes `as_of`, and writes the results. The
order of a sync's computations:

    stages = StageTable.of(config.stages)
    rates, quotas, history_rows = inputs.rates, inputs.quotas, inputs.stage_history  # typed by the read
    new_rows = record_changes(history_rows, opportunity_states(opportunities, rates), as_of)
    history = history_rows + new_rows                      # append new_rows to Stage History
    related = RelatedIndex.build(activities, tasks, contacts, as_of=as_of)  # future-dated: plans
    created = {o.id: o.created for o in opportunities}      # Days in Stage of a stage never seen entered
    metrics = opportunity_metrics(opportunities, stages, as_of,
                                  stage_entered=stage_entered(history, created), related=related)
    fc = forecast(opportunities, metrics, stages, rates, as_of, quotas=quotas,
                  calibration=stage_win_rates(history, stages))
    kpis = compute_kpis(opportunities, metrics, stages, rates, as_of, leads=..., accounts=...,
                        activities=..., tasks=..., quotas=quotas)
    warnings = missing_rate_issues(opportunities, rates)
"""

from sheetcrm.crm.forecast import Forecast, MonthForecast, Quota, forecast
from sheetcrm.crm.history import (HistoryRow, StageConversion, StageWinRate, lead_states, opportunity_states,
                                  logged_before_created, record_changes, sales_cycles, stage_conversion,
                                  stage_entered, stage_win_rates)
from sheetcrm.crm.kpis import DEFINITIONS, Kpis, compute_kpis
from sheetcrm.crm.money import MissingRate, Rates, missing_rate_issues, missing_rates, to_base
from sheetcrm.crm.stages import OpportunityMetrics, RelatedIndex, StageTable, opportunity_metrics

__all__ = [
    "DEFINITIONS", "Forecast", "HistoryRow", "Kpis", "MissingRate", "MonthForecast", "OpportunityMetrics", "Quota",
    "Rates", "RelatedIndex", "StageConversion", "StageTable", "StageWinRate", "compute_kpis", "forecast",
    "lead_states", "missing_rate_issues", "missing_rates", "opportunity_metrics", "opportunity_states",
    "logged_before_created", "record_changes", "sales_cycles", "stage_conversion", "stage_entered", "stage_win_rates",
    "to_base",
]
