"""A team's tab holding one of sheetcrm's names is never written: said once, on Validation."""

from __future__ import annotations

from sheetcrm.owned import conflicts
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    return StepResult(issues=conflicts(ctx.snapshot, ctx.locale))
