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

from sheetcrm.ids import highest_id
from sheetcrm.intake.forms import lead_columns
from sheetcrm.merging import merge, reused_ids
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.validate import read_crm


def run(ctx: SyncContext) -> StepResult:
    issues = reused_ids(ctx.snapshot, ctx.crm, ctx.locale)  # on the read: the rows it names stay where they are
    plan, snapshot, refused = merge(ctx.snapshot, ctx.crm, ctx.locale, ctx.as_of, ctx.config.duplicates,
                                    lead_columns(ctx.snapshot, ctx.config), base=ctx.config.currency)
    ctx.refused = {r.group: r for r in refused}  # the duplicates step says why, where it writes the rows
    if snapshot is not ctx.snapshot:
        # The rows a merge removes leave the tables the ids and conversion steps count the next
        # ID from: a merged record that held its tab's highest ID (the newest, typed by hand or
        # with `_sheetcrm` gone) had its ID handed out again to a new row, which the next sync
        # then removed as that merged record still in its tab. The mark keeps it counted.
        before = {t.spec.id_prefix: highest_id(t.rows, t.spec.id_prefix)
                  for t in ctx.crm.tables.values() if t.spec.id_prefix}
        ctx.snapshot = snapshot
        # In place: whoever holds the read (plan_sync, the outcome) sees the merged one.
        fresh = read_crm(snapshot, ctx.config, written=ctx.crm.written)
        for f in dataclasses.fields(fresh):
            setattr(ctx.crm, f.name, getattr(fresh, f.name))
        for table in ctx.crm.tables.values():
            prefix = table.spec.id_prefix
            if prefix and before.get(prefix, 0) > max(highest_id(table.rows, prefix), ctx.marks.get(prefix, 0)):
                ctx.marks[prefix] = before[prefix]
    return StepResult(plan=plan, issues=issues)
