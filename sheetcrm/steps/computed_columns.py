"""sheetcrm's own columns in people's tabs: the opportunities' metrics and the leads' scores.

A value a person typed over one of these cells (a Score of "90" over sheetcrm's 72, "hot" in
Grade, a formula) is theirs: it is kept, never read as sheetcrm's, and reported at its cell on
every sync (`computed_cell_typed`) until the person clears it, when sheetcrm fills the cell
again. sheetcrm tells it from its own stale value by what it last wrote there (`written.py`,
kept in the memo beside the lock); without that state every computed cell is sheetcrm's, as
before. Each sync that writes computed cells moves the `_sheetcrm` generation in the same
write, so a state another writer has since made stale is not used.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.numbers import format_percent

from sheetcrm.cells import quoted, show_number
from sheetcrm.i18n import N_, _, current
from sheetcrm.layout import COMPUTED_KINDS
from sheetcrm.plan import computed_writes
from sheetcrm.render import RATIO, lead_columns, opportunity_columns
from sheetcrm.report import Issue, column_letter
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.table import Table
from sheetcrm.written import GENERATION, MEMO_NAME, Typed

CODE = "computed_cell_typed"
MESSAGE = N_('The column "{column}" is computed by sheetcrm, and this cell holds {value}, which sheetcrm did not '
             'write: it is kept as it is, and sheetcrm does not use it.')
FORMULA = N_('The column "{column}" is computed by sheetcrm, and this cell holds a formula (showing {value}): it is '
             'kept as it is, and sheetcrm does not use it.')
HINT = N_("sheetcrm computes {computed} here now. Clear the cell to let sheetcrm fill it again.")
HINT_NOTHING = N_("sheetcrm computes nothing here now. Clear the cell to let sheetcrm keep it up to date.")


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    crm, results, locale = ctx.crm, ctx.results, ctx.locale
    assert results is not None  # the compute step runs first
    written = crm.written
    if "opportunities" in crm.tables:
        shown = ctx.shown  # the forecast category in the team's words
        by_row = {o.row: opportunity_columns(m, locale, o.currency or results.currency)
                  for o, m in zip(shown.opportunities, shown.metrics)}
        part.plan.writes.extend(_writes(ctx, crm.tables["opportunities"], by_row, part))
    if "leads" in crm.tables:
        by_row = {lead.row: lead_columns(results.score(lead)) for lead in crm.records("leads")}
        part.plan.writes.extend(_writes(ctx, crm.tables["leads"], by_row, part))
    if part.plan.writes:
        # Said in the same write: a state made before it is one generation behind (written.recall).
        written.planned = ctx.marks[GENERATION] = (written.read or 0) + 1
    if ctx.memo is not None:
        ctx.memo.keep_state(MEMO_NAME, written.saved())
    return part


def _writes(ctx: SyncContext, table: Table, by_row: dict[int, dict[str, Any]], part: StepResult) -> list:
    grid = ctx.snapshot.tabs.get(table.title)
    writes = computed_writes(table, by_row, ctx.locale, ctx.crm.written, grid.formulas if grid is not None else ())
    part.issues.extend(_typed(table, cell) for cell in ctx.crm.written.typed.get(table.spec.key, ()))
    return writes


def _typed(table: Table, cell: Typed) -> Issue:
    """The warning at a cell typed over: what it holds, and what sheetcrm computes there now."""
    column = table.header.labels.get(cell.col) or cell.key
    value = quoted(cell.have if cell.have is not None else "")
    message = _(FORMULA if cell.formula else MESSAGE, column=column, value=value)
    kind = COMPUTED_KINDS.get(table.spec.key, {}).get(cell.key)
    hint = _(HINT_NOTHING) if cell.want is None else _(HINT, computed=_said(cell.want, kind))
    return Issue("warning", table.title, cell.row, column_letter(cell.col + 1), column, cell.have, CODE, message, hint)


def _said(value: Any, kind: str | None) -> str:
    """A computed value as a message states it, in the current language."""
    if isinstance(value, bool) or isinstance(value, str):
        return quoted(str(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if kind == RATIO:
        return format_percent(value, "#,##0.#%", locale=current())
    return show_number(value)
