"""sheetcrm's own columns in people's tabs: the opportunities' metrics and the leads' scores."""

from __future__ import annotations

from sheetcrm.plan import computed_writes
from sheetcrm.render import lead_columns, opportunity_columns
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    crm, results, locale = ctx.crm, ctx.results, ctx.locale
    assert results is not None  # the compute step runs first
    if "opportunities" in crm.tables:
        shown = ctx.shown  # the forecast category in the team's words
        by_row = {o.row: opportunity_columns(m, locale, o.currency or results.currency)
                  for o, m in zip(shown.opportunities, shown.metrics)}
        part.plan.writes.extend(computed_writes(crm.tables["opportunities"], by_row, locale))
    if "leads" in crm.tables:
        by_row = {lead.row: lead_columns(results.score(lead)) for lead in crm.records("leads")}
        part.plan.writes.extend(computed_writes(crm.tables["leads"], by_row, locale))
    return part
