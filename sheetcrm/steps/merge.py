"""Merges a person ticked on the Duplicates tab (`sheetcrm.merging`), first of all the steps.

The merge changes the read itself: merged rows leave, references move to the survivor, its
empty cells fill. So it runs before every other step, and the records are read again from the
snapshot as the workbook will be once the plan is written: IDs, computed columns, histories
and the Validation tab are planned for the merged CRM, and the next sync finds nothing left
to do. The merged rows stay in place (blank) in that snapshot, so every row number a later
step plans with still holds when the backend applies the deletes, last.
"""

from __future__ import annotations

import dataclasses

from sheetcrm.intake.forms import lead_columns
from sheetcrm.merging import merge
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.validate import read_crm


def run(ctx: SyncContext) -> StepResult:
    plan, snapshot, refused = merge(ctx.snapshot, ctx.crm, ctx.locale, ctx.as_of, ctx.config.duplicates,
                                    lead_columns(ctx.snapshot, ctx.config), base=ctx.config.currency)
    ctx.refused = {r.group: r for r in refused}  # the duplicates step says why, where it writes the rows
    if snapshot is not ctx.snapshot:
        ctx.snapshot = snapshot
        # In place: whoever holds the read (plan_sync, the outcome) sees the merged one.
        fresh = read_crm(snapshot, ctx.config, written=ctx.crm.written)
        for f in dataclasses.fields(fresh):
            setattr(ctx.crm, f.name, getattr(fresh, f.name))
    return StepResult(plan=plan)
