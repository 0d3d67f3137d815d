"""How the cells sheetcrm writes look: number formats and widths of its columns, and its tabs
bold-headed, frozen and printed one page wide (`sheetcrm.layout` declares them).

They ride along with a plan that writes anyway, and the backends apply each only where it is
missing: a cell or column a person formatted keeps its format (docs/formats.md)."""

from __future__ import annotations

from sheetcrm.layout import column_formats, own_codes
from sheetcrm.render import dashboard_body, forecast_body, kinds
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    if not ctx.plan:
        # Formats only ride along with a write, and this plan has none: measuring every
        # column of every tab of a quiet workbook (most of a no-op's rendering) would be thrown away.
        return part
    results = ctx.results
    assert results is not None  # the compute step runs first
    forecast = forecast_body(results, ctx.locale)
    month_rows = next((i for i, row in enumerate(forecast) if not row), len(forecast))
    formats, layouts = column_formats(ctx.snapshot, ctx.plan, ctx.crm, kinds(dashboard_body(results, ctx.locale)),
                                      month_rows, results.currency, ctx.locale)
    part.plan.formats.extend(formats)
    part.plan.layouts.extend(layouts)
    part.plan.own_formats = own_codes()
    return part
