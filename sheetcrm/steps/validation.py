"""The Validation tab: every issue the read and the steps found, one row each.

Its rows are planned after the last step that raises issues (`history`, whose row numbers
hold only once its rows kept_months lets go are known), while `place`, at the step's former
place, keeps where a new workbook gets the tab: among the tabs in the order it always had."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sheetcrm.owned import locate
from sheetcrm.plan import owned_tab
from sheetcrm.report import Issue, shown_code, shown_severity
from sheetcrm.schema import VALIDATION
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.workbook import Plan


def place(ctx: SyncContext) -> StepResult:
    part = StepResult()
    where = locate(ctx.snapshot, VALIDATION, ctx.locale)
    if not where.exists:
        part.plan.new_tabs.append(where.title)
        part.plan.mark_owned.append(where.title)
    return part


def run(ctx: SyncContext) -> StepResult:
    return StepResult(plan=tab_plan(ctx, ctx.crm.report.issues))


def tab_plan(ctx: SyncContext, issues: Iterable[Issue]) -> Plan:
    """The Validation tab as `issues` would have it."""
    plan = Plan()
    owned_tab(plan, ctx.snapshot, VALIDATION, ctx.locale, [validation_row(i) for i in issues])
    return plan


def validation_row(issue: Issue) -> list[Any]:
    # A date or time as people read it ("2026-01-01 10:30:00", as the message quotes it); the JSON
    # report's ISO 8601 form (`Issue.as_dict`) is for programs.
    value = issue.value if isinstance(issue.value, (dt.date, dt.time)) else issue.as_dict()["value"]
    # Written as text: a value like "=IMPORTXML(...)" or "0042" must reach the tab as typed.
    # Severity and code in the team's language; the code stays the key in the JSON report.
    return [shown_severity(issue.severity), issue.tab, issue.row, issue.column, issue.header,
            None if value is None else str(value), shown_code(issue.code), issue.message, issue.hint]
