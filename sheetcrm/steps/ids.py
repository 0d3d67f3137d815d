"""Stable IDs: every row of an ID-bearing tab without one gets the next of its prefix.

The new IDs go straight onto the in-memory rows and records, so every later step already uses
them; `ctx.marks` moves forward, and `ctx.id_fills` says which write hands out which ID.
What the read said naming rows by their IDs (rows left out, the IDs a reference is offered)
is said again with the new ones, so the next sync does not rewrite it.
"""

from __future__ import annotations

from sheetcrm.i18n import _
from sheetcrm.ids import assign_ids, typed_id_column
from sheetcrm.report import Issue, column_letter
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.validate import restate_left_out, restate_references


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    handed = False
    for table in ctx.crm.tables.values():
        if table.spec.id_prefix:
            id_header = table.spec.id_column.header  # type: ignore[union-attr]
            col = typed_id_column(table) if "id" not in table.header.fields and "id" in table.header.new else None
            # A header that looks like ID is said so already (header_lookalike), with the same fix.
            if col is not None and table.header.lookalikes.get("id") != table.header.labels.get(col):
                label, example = table.header.labels.get(col), str(table.spec.id_prefix) + "-0001"
                part.issues.append(Issue(
                    "warning", table.title, table.header.row, column_letter(col + 1), label, label, "id_column_renamed",
                    _('The column "{header}" holds IDs like {example}, but sheetcrm reads a tab\'s IDs only under '
                      'the header "{name}": it adds no {name} column beside them, and reads this tab\'s rows without '
                      'an ID for now.', header=label, example=example, name=id_header),
                    _('If they are this tab\'s IDs, rename the header to "{name}"; if not, add an empty column headed '
                      '"{name}" and the next sync fills it.', name=id_header)))
            writes = assign_ids(table, ctx.marks, id_header)
            ctx.id_fills.update((w.value, w.key) for w in writes if w.row > 1)
            part.plan.writes.extend(writes)
            handed = handed or any(r.assigned for r in table.rows)
            if any(r.assigned and r.has_errors for r in table.rows):
                restate_left_out(ctx.crm, table.spec.key)
    if handed:
        restate_references(ctx.crm)
    return part
