"""Native charts on the Pipeline and Forecast tabs, added once; afterwards only their cells change."""

from __future__ import annotations

from sheetcrm.render import charts
from sheetcrm.schema import FORECAST, PIPELINE
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    assert ctx.results is not None  # the compute step runs first
    part.plan.charts.extend(charts(ctx.results, ctx.titles[PIPELINE.key], ctx.titles[FORECAST.key], ctx.locale))
    return part
