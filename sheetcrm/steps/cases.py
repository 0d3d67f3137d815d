"""The Cases tab's computed columns (Age, SLA Due, SLA Breached, First Response) and the
problems its rows show (Resolved before Opened, a closed case with no Resolved time).

The metrics are the compute step's (`Results.cases`, crm/cases.py); this step writes them,
each write keyed to its row's ID like every computed column, and a value a person typed over one
kept and reported at its cell (`computed_columns.plan_computed`).
"""

from __future__ import annotations

import datetime as dt

from sheetcrm.crm.cases import PROBLEMS, CaseInput, problems
from sheetcrm.i18n import _
from sheetcrm.render import case_columns
from sheetcrm.report import Issue, column_letter
from sheetcrm.steps.computed_columns import plan_computed
from sheetcrm.steps.context import StepResult, SyncContext


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    table = ctx.crm.tables.get("cases")
    if table is None or ctx.results is None or ctx.results.cases is None:
        return part
    locale = ctx.locale
    by_row = {row: case_columns(m, locale) for row, m in ctx.results.cases.by_row.items()}
    part.plan.writes.extend(plan_computed(ctx, table, by_row, part))
    status_col = table.header.fields.get("status")
    for row in table.rows:
        c = row.record
        if c is None:
            continue
        metrics = ctx.results.cases.by_row.get(row.row)
        for code in problems(CaseInput(c.id, c.account, c.priority, c.status, c.opened, c.resolved), ctx.as_of,
                             metrics):
            severity, field, message, hint = PROBLEMS[code]
            col = table.header.fields.get(field)
            shown = row.cells[status_col] if status_col is not None and status_col < len(row.cells) else c.status
            # The cell as typed: the value read ("2026-11-30 00:00:00") shows a time no one wrote.
            value = row.cells[col] if col is not None and col < len(row.cells) else getattr(c, field)
            part.issues.append(Issue(severity, table.title, row.row, column_letter(col + 1) if col is not None else None,
                                     table.header.labels.get(col) if col is not None else None,
                                     value, code,
                                     _(message, status=shown or "", day=_shown_time(getattr(c, field)),
                                       today=ctx.as_of.isoformat(),
                                       due=_shown_time(metrics.sla_due if metrics is not None else None),
                                       latest=_shown_time(metrics.latest_due if metrics is not None else None)),
                                     _(hint)))
    return part


def _shown_time(value: object) -> str:
    """Opened or Resolved as a message says it: "2027-11-20 09:00"."""
    return value.isoformat(" ", "minutes") if isinstance(value, dt.datetime) else str(value)
