"""Guides for people editing a tab (Google): dropdowns on the enum columns people type, and a
warning-only protection on the columns sheetcrm computes.

A dropdown lists each value as the team writes it: the word sheetcrm writes for a stage,
lead status or forecast category (`crm.words`), else the spelling the column uses most, else
the value's word in the workbook's language ("Propuesta", "Cliente" in a
Spanish workbook). Listing the English keys there flagged every cell a Spanish team typed as
"not one of the listed values"."""

from __future__ import annotations

from sheetcrm import cells
from sheetcrm.config import Config
from sheetcrm.crm.words import CATEGORY, LEAD_STATUS, STAGE, Words, most_used
from sheetcrm.records import Record
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.table import Table
from sheetcrm.validate import Crm
from sheetcrm.workbook import Guide

# The columns whose words `crm.words` decides (what sheetcrm itself writes there): (tab, field) -> kind.
_WORDS = {("opportunities", "stage"): STAGE, ("leads", "status"): LEAD_STATUS,
          ("opportunities", "category_override"): CATEGORY}


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    words = ctx.results.words if ctx.results is not None else Words()
    part.plan.guides.extend(guides(ctx.crm, ctx.config, words))
    return part


def guides(crm: Crm, config: Config, words: Words = Words()) -> list[Guide]:
    """One Guide per tab with an enum column or a computed one; `words` is the team's word for
    each stage, lead status and forecast category (`Results.words`)."""
    out = []
    for key, table in crm.tables.items():
        dropdowns = []
        for column in table.spec.columns:
            values = _choices(table.spec.model, column.field, config)
            col = table.header.fields.get(column.field)
            # A column of checkboxes (a task's Done) is read as the enum; a dropdown of its words
            # below the team's boxes would ask for "Open" where a box is meant.
            if values and col is not None and not checkboxes(table, column.field):
                dropdowns.append((col + 1, _shown(table, column.field, values, _WORDS.get((key, column.field)),
                                                  words, _spanish(table.spec.model, column.field, config))))
        computed = tuple(sorted(c + 1 for c in table.header.computed.values()))
        if dropdowns or computed:
            out.append(Guide(table.title, tuple(dropdowns), computed, table.header.row + 1))
    return out


def checkboxes(table: Table, field_name: str) -> bool:
    """Whether the team keeps `field_name` of `table` as checkboxes rather than words: only a
    task's Status may be (records.Task), and it is when a cell of it holds TRUE or FALSE (a
    checkbox), or, with no cell filled yet, its header is no Status (Done, Hecha)."""
    col = table.header.fields.get(field_name)
    if field_name != "status" or table.spec.key != "tasks" or col is None:
        return False
    held = [r.cells[col] for r in table.rows if col < len(r.cells) and not cells.is_blank(r.cells[col])]
    if held:
        return any(isinstance(v, bool) for v in held)
    label = cells.normalize_key(table.header.labels.get(col, ""))
    return "status" not in label and "estado" not in label


def _choices(model: type[Record], field_name: str, config: Config) -> tuple[str, ...]:
    if field_name == "stage":
        return tuple(s.name for s in config.stages)
    info = model.model_fields[field_name]
    return next((meta.func.choices for meta in info.metadata if getattr(meta.func, "choices", ())), ())


def _spanish(model: type[Record], field_name: str, config: Config) -> dict[str, str]:
    """value -> its Spanish word (an enum's first alias, as a Spanish message lists it), when the
    workbook's language is Spanish; else {}."""
    if config.locale != "es" or field_name == "stage":
        return {}
    aliases = next((meta.func.aliases for meta in model.model_fields[field_name].metadata
                    if getattr(meta.func, "aliases", None)), {})
    return {value: names[0] for value, names in aliases.items() if names}


def _shown(table: Table, field_name: str, values: tuple[str, ...], kind: str | None, words: Words,
           spanish: dict[str, str]) -> tuple[str, ...]:
    """Each of `values` as the team writes it: for a kind `crm.words` decides, its word (what
    sheetcrm writes there too); else the spelling the column uses most (a sound record's cell
    beside the value it was read as), else the workbook language's word."""
    if kind is not None:
        return tuple(dict.fromkeys(words(kind, v) or v for v in values))
    col = table.header.fields[field_name]
    typed = most_used((value, cells.canonical_text(raw)) for row in table.rows if row.record is not None
                      and (value := getattr(row.record, field_name, None)) and col < len(row.cells)
                      and isinstance(raw := row.cells[col], str))
    return tuple(dict.fromkeys(typed.get(v) or spanish.get(v, v) for v in values))
