"""Quotes from ticks: every quote's bad lines are reported, and a ticked Send Quote queues a
Draft row in the Outbox, the mail queue (`sheetcrm.mail.outbox` sends it once approved).

Runs before the Validation step, so the lines' issues are on the tab of the same sync. The
quote numbers and Outbox row IDs it hands out move `ctx.marks`, so the sync's one `_sheetcrm`
write covers them.
"""

from __future__ import annotations

import dataclasses
import sys

from sheetcrm.mail.outbox import queue_ticked_quotes
from sheetcrm.report import Report
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    # The Outbox's planner reports into the Crm it is handed: a report of the step's own, uncapped,
    # so its issues come back as the step's, and join the sync's (capped) report in their order;
    # the read's issues name the errors of a row that holds a quote back (`known`).
    found = Report(limit=sys.maxsize)
    queue_ticked_quotes(part.plan, ctx.snapshot, dataclasses.replace(ctx.crm, report=found), ctx.config,
                        ctx.marks, ctx.as_of, ctx.sent_versions, known=ctx.crm.report.issues)
    part.issues.extend(found.issues)
    return part
