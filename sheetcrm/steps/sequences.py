"""The `_sheetcrm` tab: each sequence's high-water mark, written when a step moved one, so an
ID, a quote number or an Outbox row ID is never handed out twice, even after its row is deleted."""

from __future__ import annotations

from sheetcrm.plan import owned_tab
from sheetcrm.schema import SEQUENCES
from sheetcrm.steps.computed_columns import keep_written
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    # After every step writing computed cells: what they wrote, and the generation it is of.
    keep_written(ctx)
    if ctx.marks != ctx.marks_read:
        owned_tab(part.plan, ctx.snapshot, SEQUENCES, ctx.locale, [[k, v] for k, v in ctx.marks.items()])
    return part
