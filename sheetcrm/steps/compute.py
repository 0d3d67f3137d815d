"""The engine over the records: histories, per-opportunity metrics, lead scores, forecast, KPIs.

Plans nothing itself: the steps after it turn `ctx.results` into cells. Its warnings (an
amount with no exchange rate) join the report before the Validation tab is planned.
"""

from __future__ import annotations

from sheetcrm.engine import compute
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    ctx.results = compute(ctx.crm, ctx.config, ctx.as_of, fit_cache=ctx.fit_cache, remember=ctx.remember)
    return StepResult(issues=list(ctx.results.warnings))
