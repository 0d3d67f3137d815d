"""Stage History and Lead Status History: the rows the engine logged, old and new, as the tabs hold them.

A history row of a record whose ID this sync hands out requires that ID's write, so history
never names an ID that did not land (`ctx.id_fills`, from the ids step).

With `[warehouse] keep_months` and the warehouse read before planning (`ctx.archive`), rows
older than that the warehouse already holds leave the tabs, each record's last row staying
(`warehouse.keep.kept_history`); what leaves is on `ctx.trimmed`, and the Stage History rows
given up are counted in the `_sheetcrm` mark `keep.ARCHIVED` (moved in `ctx.marks`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sheetcrm.crm import HistoryRow
from sheetcrm.plan import owned_tab
from sheetcrm.render import history_body
from sheetcrm.schema import LEAD_HISTORY, STAGE_HISTORY
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.warehouse.keep import ARCHIVED, kept_history
from sheetcrm.workbook import CellWrite


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    results = ctx.results
    assert results is not None  # the compute step runs first
    before = ctx.keep_before
    for tab, history, with_amount in ((STAGE_HISTORY, results.stage_history, True),
                                      (LEAD_HISTORY, results.lead_history, False)):
        if before is not None and ctx.archive is not None:
            name = "stage_history" if tab is STAGE_HISTORY else "lead_status_history"
            history, gone = kept_history(history, ctx.archive.held.get(name, frozenset()), before)
            if tab is STAGE_HISTORY:
                ctx.trimmed.stage = gone
                if gone:
                    ctx.marks[ARCHIVED] = ctx.marks.get(ARCHIVED, 0) + len(gone)
            else:
                ctx.trimmed.lead = gone
        first = len(part.plan.writes)
        owned_tab(part.plan, ctx.snapshot, tab, ctx.locale, history_body(history, with_amount))
        part.plan.writes[first:] = tie_to_ids(part.plan.writes[first:], history, ctx.id_fills)
    return part


def tie_to_ids(writes: list[CellWrite], history: list[HistoryRow],
               id_fills: dict[Any, tuple[str, int, int]]) -> list[CellWrite]:
    """History cells of a record whose ID this sync hands out require that ID's write: if a
    concurrent edit drops the ID, its history waits for the ID the next sync gives."""
    out = []
    for w in writes:
        index = w.row - 2  # the tab's row 2 holds history[0]
        fill = id_fills.get(history[index].record_id) if 0 <= index < len(history) else None
        out.append(dataclasses.replace(w, requires=fill) if fill else w)
    return out
