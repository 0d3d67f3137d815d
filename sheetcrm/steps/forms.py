"""Web-to-lead: each new response of a configured web form (`[forms.<name>]`) becomes one lead
with a Form Submitted activity, or only the activity when the person is already a lead or a
contact; the response's Lead cell says which record it went to (`intake.forms`). The website
form's submissions waiting in `sheetcrm serve`'s queue (`ctx.web`) become leads the same way.

It runs before `ids`, so the IDs it hands out come from the marks first and the ids step
continues after them; its issues reach the Validation tab of the same sync. The new rows are
writes, not records of this read: the engine computes with them from the next sync on.
"""

from __future__ import annotations

from sheetcrm.intake.forms import plan_forms
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.steps.duplicates import kept_recall


def run(ctx: SyncContext) -> StepResult:
    # The people's keys the duplicates step kept: a response that waits (ambiguous, a twin
    # unsure) would otherwise parse every phone in the CRM again at every sync.
    part = plan_forms(ctx.snapshot, ctx.crm, ctx.config, ctx.marks, ctx.web, recall=lambda: kept_recall(ctx))
    result = StepResult(issues=part.issues)
    result.plan.writes.extend(part.writes)
    ctx.intake.extend(part.intake)
    return result
