"""Native charts on the Pipeline and Forecast tabs, and the campaign ROI chart on the Campaigns
tab when the workbook has one; added once, afterwards their cells change and, on sheetcrm's own
tabs, the rows they span (fewer forecast months, another number of stages) with each write."""

from __future__ import annotations

from sheetcrm.render import charts
from sheetcrm.schema import FORECAST, PIPELINE
from sheetcrm.steps.campaigns import roi_chart
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    assert ctx.results is not None  # the compute step runs first
    part.plan.charts.extend(charts(ctx.results, ctx.titles[PIPELINE.key], ctx.titles[FORECAST.key], ctx.locale))
    chart = roi_chart(ctx.crm.tables.get("campaigns"), ctx.locale)
    if chart is not None:
        part.plan.charts.append(chart)
    return part
