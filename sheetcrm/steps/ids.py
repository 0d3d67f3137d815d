"""Stable IDs: every row of an ID-bearing tab without one gets the next of its prefix.

The new IDs go straight onto the in-memory rows and records, so every later step already uses
them; `ctx.marks` moves forward, and `ctx.id_fills` says which write hands out which ID.
What the read said naming rows by their IDs (rows left out, the IDs a reference is offered)
is said again with the new ones, so the next sync does not rewrite it.
"""

from __future__ import annotations

from sheetcrm.ids import assign_ids
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.validate import restate_left_out, restate_references


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    handed = False
    for table in ctx.crm.tables.values():
        if table.spec.id_prefix:
            id_header = table.spec.id_column.header  # type: ignore[union-attr]
            writes = assign_ids(table, ctx.marks, id_header)
            ctx.id_fills.update((w.value, w.key) for w in writes if w.row > 1)
            part.plan.writes.extend(writes)
            handed = handed or any(r.assigned for r in table.rows)
            if any(r.assigned and r.has_errors for r in table.rows):
                restate_left_out(ctx.crm, table.spec.key)
    if handed:
        restate_references(ctx.crm)
    return part
