"""The Validation tab: every issue the read and the steps before this one found, one row each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sheetcrm.plan import owned_tab
from sheetcrm.report import Issue, shown_code, shown_severity
from sheetcrm.schema import VALIDATION
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    owned_tab(part.plan, ctx.snapshot, VALIDATION, ctx.locale, [validation_row(i) for i in ctx.crm.report.issues])
    return part


def validation_row(issue: Issue) -> list[Any]:
    # A date or time as people read it ("2026-01-01 10:30:00", as the message quotes it); the JSON
    # report's ISO 8601 form (`Issue.as_dict`) is for programs.
    value = issue.value if isinstance(issue.value, (dt.date, dt.time)) else issue.as_dict()["value"]
    # Written as text: a value like "=IMPORTXML(...)" or "0042" must reach the tab as typed.
    # Severity and code in the team's language; the code stays the key in the JSON report.
    return [shown_severity(issue.severity), issue.tab, issue.row, issue.column, issue.header,
            None if value is None else str(value), shown_code(issue.code), issue.message, issue.hint]
