"""Guides for people editing a tab (Google): dropdowns on the enum columns people type, and a
warning-only protection on the columns sheetcrm computes."""

from __future__ import annotations

from sheetcrm.config import Config
from sheetcrm.records import Record
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.validate import Crm
from sheetcrm.workbook import Guide


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    part.plan.guides.extend(guides(ctx.crm, ctx.config))
    return part


def guides(crm: Crm, config: Config) -> list[Guide]:
    out = []
    for table in crm.tables.values():
        dropdowns = []
        for column in table.spec.columns:
            values = _choices(table.spec.model, column.field, config)
            col = table.header.fields.get(column.field)
            if values and col is not None:
                dropdowns.append((col + 1, values))
        computed = tuple(sorted(c + 1 for c in table.header.computed.values()))
        if dropdowns or computed:
            out.append(Guide(table.title, tuple(dropdowns), computed))
    return out


def _choices(model: type[Record], field_name: str, config: Config) -> tuple[str, ...]:
    if field_name == "stage":
        return tuple(s.name for s in config.stages)
    info = model.model_fields[field_name]
    return next((meta.func.choices for meta in info.metadata if getattr(meta.func, "choices", ())), ())
