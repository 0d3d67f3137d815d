"""The Sync Log tab: rows `sheetcrm run` keeps waiting ride along with a plan that writes anyway,
and cost a write of their own only when due (`ctx.log_now`: the `[schedule] log` interval is
up, or a row reports a failure or a recovery)."""

from __future__ import annotations

from typing import Sequence

from sheetcrm.owned import owned_title
from sheetcrm.plan import owned_tab
from sheetcrm.schema import SYNC_LOG, SYNC_LOG_ROWS
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.warehouse.keep import kept_log
from sheetcrm.workbook import CellValue, Plan, Snapshot, same_value


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    before, held = ctx.keep_before, ctx.archive.held.get("sync_log", {}) if ctx.archive else {}
    title = owned_title(ctx.snapshot, SYNC_LOG)
    rows = _rows(ctx.snapshot, title)
    kept = kept_log(rows, held, before) if before is not None else rows
    # Rows keep_months lets go ride along with a plan that writes anyway, like waiting rows.
    if (ctx.log_rows and (ctx.plan or ctx.log_now)) or (len(kept) < len(rows) and ctx.plan):
        plan_log(part.plan, ctx.snapshot, ctx.locale, ctx.log_rows, kept)
        ctx.trimmed.log = len(rows) - len(kept)
    return part


def plan_log(plan: Plan, snapshot: Snapshot, locale: str, log_rows: Sequence[Sequence[CellValue]],
             kept: Sequence[Sequence[CellValue]] | None = None) -> None:
    """Append `log_rows` to the Sync Log tab and keep its newest SYNC_LOG_ROWS rows. `kept`:
    the tab's rows to keep (default: all of them; `keep_months` lets older ones go).

    A row already in the tab is not added again: when a write's answer is lost after Google
    applied it, the caller cannot know, and hands the same rows to the next plan."""
    if kept is None:
        kept = _rows(snapshot, owned_title(snapshot, SYNC_LOG))
    fresh = [list(row) for row in log_rows if not any(_same_row(row, have) for have in kept)]
    owned_tab(plan, snapshot, SYNC_LOG, locale, [*kept, *fresh][-SYNC_LOG_ROWS:])


def _rows(snapshot: Snapshot, title: str | None) -> list[Sequence[CellValue]]:
    # Only sheetcrm's columns: the cells a person typed after them go with their rows
    # (`plan.with_their_columns`), and a row holding only those is none of the log's.
    width = len(SYNC_LOG.headers)
    rows = (row[:width] for row in (snapshot.tabs[title].rows[1:] if title else []))
    return [row for row in rows if any(v not in (None, "") for v in row)]


def _same_row(a: Sequence[CellValue], b: Sequence[CellValue]) -> bool:
    width = max(len(a), len(b))
    return all(same_value(a[i] if i < len(a) else None, b[i] if i < len(b) else None) for i in range(width))
