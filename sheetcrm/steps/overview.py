"""The Accounts Overview tab: one row per account, its 360° view (crm/overview.py; docs/overview.md).

sheetcrm's own tab, rewritten whole at each sync in the order of the account IDs (so that a
person's sort of the Accounts tab rewrites nothing); people read it
(and may sort or filter a copy), their edits in it are replaced. The Cases tab is read when
the workbook has one: without it the case columns stay empty, not 0.
"""

from __future__ import annotations

from typing import Any

from sheetcrm.crm import StageTable
from sheetcrm.crm.overview import AccountView, overview
from sheetcrm.plan import owned_tab
from sheetcrm.render import money
from sheetcrm.schema import OVERVIEW
from sheetcrm.validate import amounts_unread, deals_unread, unread_columns
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    settings = ctx.config.overview
    if not settings.enabled or "accounts" not in ctx.crm.tables:
        return part
    assert ctx.crm.inputs is not None  # the read
    crm = ctx.crm
    unread = [*crm.tabs_not_found, *unread_columns(crm.tables)]
    views = overview(
        crm.records("accounts"), ctx.as_of, StageTable.of(ctx.config.stages), crm.inputs.rates, settings,
        contacts=crm.records("contacts"), opportunities=crm.records("opportunities"),
        activities=crm.records("activities"), tasks=crm.records("tasks"),
        cases=crm.records("cases") if "cases" in crm.tables else None,
        quote_lines=crm.records("quote_lines"), products=crm.records("products"),
        amounts_read=not amounts_unread(unread), deals_read=not deals_unread(unread))
    base = crm.inputs.rates.base
    ctx.titles[OVERVIEW.key] = owned_tab(part.plan, ctx.snapshot, OVERVIEW, ctx.locale, [_row(v, base) for v in views])
    return part


def _row(v: AccountView, base: str) -> list[Any]:
    """An account's row; its money in the base currency `base`, to that currency's smallest unit
    (blank where a deal of it has no rate)."""
    return [v.id, v.name, v.owner, v.contacts, v.open_deals, money(v.open_amount, base), money(v.won_revenue, base),
            v.last_activity,
            v.next_task_due, v.next_task, v.open_cases, v.urgent_cases, v.health, v.why,
            "; ".join(s.product for s in v.suggestions) or None, "; ".join(s.why() for s in v.suggestions) or None]
