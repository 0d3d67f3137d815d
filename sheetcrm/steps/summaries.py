"""sheetcrm's summary tabs: Pipeline, Forecast and Dashboard, written whole at every sync."""

from __future__ import annotations

from sheetcrm.plan import owned_tab
from sheetcrm.render import dashboard_body, forecast_body, pipeline_body, workflow_rows
from sheetcrm.schema import DASHBOARD, FORECAST, PIPELINE
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    assert ctx.results is not None  # the compute step runs first
    results, locale = ctx.shown, ctx.locale  # stages as the team writes them
    assert ctx.crm.inputs is not None  # read_crm reads them
    dashboard = dashboard_body(results, locale, ctx.crm.inputs.quotas_title) + workflow_rows(ctx.workflows)
    for tab, body in ((PIPELINE, pipeline_body(results)), (FORECAST, forecast_body(results, locale)),
                      (DASHBOARD, dashboard)):
        ctx.titles[tab.key] = owned_tab(part.plan, ctx.snapshot, tab, locale, body)
    return part
