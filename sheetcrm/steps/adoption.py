"""Migration: sheetcrm's unmarked tabs of an earlier version get their mark, free, with a plan
that writes anyway (never a write of its own)."""

from __future__ import annotations

from sheetcrm.owned import adoptions
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    if ctx.plan:
        part.plan.mark_owned.extend(adoptions(ctx.snapshot))
    return part
