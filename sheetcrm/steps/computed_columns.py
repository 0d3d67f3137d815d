"""sheetcrm's own columns in people's tabs: the opportunities' metrics and the leads' scores;
and, for every step that writes computed columns of a people's tab (the Cases tab's Age and
SLA, the Campaigns tab's figures, the Workflows tab's Firings, the Segments column), how a
value typed over one of its cells is kept and told (`plan_computed`).

A value a person typed over one of these cells (a Score of "90" over sheetcrm's 72, "hot" in
Grade, "3" in a case's Age, a formula) is theirs: it is kept, never read as sheetcrm's, and
reported at its cell on every sync (`computed_cell_typed`) until the person clears it, when
sheetcrm fills the cell again. sheetcrm tells it from its own stale value by what it last wrote
there (`written.py`, kept beside the lock by `written_file`, by tab, column key and record ID);
without that state every computed cell is sheetcrm's, as before. Each sync that writes computed
cells moves the `_sheetcrm` generation in the same write, so a state another writer has since
made stale is not used. The state is kept for the next sync by the `sequences` step, after
every step that writes computed cells.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from babel.numbers import format_percent

from sheetcrm.cells import half_up, quoted, show_number
from sheetcrm.i18n import N_, _, current
from sheetcrm.layout import COMPUTED_KINDS
from sheetcrm.plan import computed_cells, computed_writes
from sheetcrm.render import RATIO, lead_columns, opportunity_columns
from sheetcrm.report import Issue, column_letter
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.table import Table
from sheetcrm.workbook import CellWrite
from sheetcrm.written import BOOK, GENERATION, MEMO_NAME, Typed

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
    if "opportunities" in crm.tables:
        shown = ctx.shown  # the forecast category in the team's words
        by_row = {o.row: opportunity_columns(m, locale, o.currency or results.currency)
                  for o, m in zip(shown.opportunities, shown.metrics)}
        part.plan.writes.extend(plan_computed(ctx, crm.tables["opportunities"], by_row, part))
    if "leads" in crm.tables:
        by_row = {lead.row: lead_columns(results.score(lead)) for lead in crm.records("leads")}
        part.plan.writes.extend(plan_computed(ctx, crm.tables["leads"], by_row, part))
    return part


def plan_computed(ctx: SyncContext, table: Table, by_row: dict[int, dict[str, Any]], part: StepResult,
                  columns: list[tuple[str, int]] | None = None, assigned: bool = True) -> list[CellWrite]:
    """The writes of `table`'s computed columns (`plan.computed_writes`; or, given `columns`
    ((key, 0-based column), a column one step keeps), only those cells: `plan.computed_cells`),
    `by_row` sheet row -> column key -> value. The step planning them gets a warning at each
    cell a person typed over (`computed_cell_typed`, in `part`), and a plan writing any cell
    moves the `_sheetcrm` generation (written.py). Every step writing computed cells of a
    people's tab plans them here, so each is remembered and checked the same way."""
    written = ctx.crm.written
    grid = ctx.snapshot.tabs.get(table.title)
    formulas = grid.formulas if grid is not None else ()
    said = len(written.typed.get(table.spec.key, ()))
    if columns is None:
        writes = computed_writes(table, by_row, ctx.locale, written, formulas)
    else:
        writes = computed_cells(table, columns, by_row, written, formulas, assigned)
    part.issues.extend(_typed(table, cell) for cell in written.typed.get(table.spec.key, ())[said:])
    if writes:
        # Said in the same write: a state made before it is one generation behind (written.recall).
        written.planned = ctx.marks[GENERATION] = (written.read or 0) + 1
        if ctx.book_id and BOOK not in ctx.marks:
            # Named in the same write as the generation: the state follows the file (written_file).
            ctx.marks[BOOK] = ctx.book_id
    return writes


def keep_written(ctx: SyncContext) -> None:
    """Keep what this sync wrote in computed cells for the next sync (the memo's state), once
    every step writing them has planned."""
    if ctx.memo is not None:
        ctx.memo.keep_state(MEMO_NAME, ctx.crm.written.saved())


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
        return format_percent(half_up(value, 3), "#,##0.#%", locale=current())
    return show_number(value)
