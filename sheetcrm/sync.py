"""A sync: one read, pure planning, one write.

    snapshot = book.read()
    crm, plan = plan_sync(snapshot, config, as_of)   # pure: no I/O, no clock
    book.write(plan)                                 # skipped when the plan is empty
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sheetcrm.config import Config
from sheetcrm.ids import assign_ids, read_sequences
from sheetcrm.plan import owned_tab
from sheetcrm.report import Issue
from sheetcrm.schema import SEQUENCES, VALIDATION, find_tab, owned_tab_names
from sheetcrm.validate import Crm, read_crm
from sheetcrm.workbook import Plan, Snapshot, Workbook, WriteResult


@dataclass
class SyncOutcome:
    crm: Crm
    plan: Plan
    result: WriteResult | None = None  # None when nothing was written (dry run or empty plan)
    dry_run: bool = False
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def cells_written(self) -> dict[str, int]:
        if self.result is None:
            return {}
        return dict(self.result.written)

    def as_dict(self) -> dict[str, Any]:
        written = self.cells_written
        return {
            "dry_run": self.dry_run,
            "valid": self.crm.report.valid,
            "new_tabs": list(self.plan.new_tabs),
            "planned": {"cells": self.plan.cells_by_tab(), "total": len(self.plan.writes)},
            "cells_written": {"tabs": written, "total": sum(written.values())},
            "skipped": len(self.result.skipped) if self.result else 0,
            "stats": self.crm.stats(),
            "issues": [i.as_dict() for i in self.crm.report.issues],
        }


def plan_sync(snapshot: Snapshot, config: Config, as_of: dt.date) -> tuple[Crm, Plan]:
    crm = read_crm(snapshot, config)
    plan = Plan()

    sequences_title = find_tab(list(snapshot.tabs), owned_tab_names(SEQUENCES))
    marks = read_sequences(snapshot.tabs.get(sequences_title) if sequences_title else None)
    before = dict(marks)
    for table in crm.tables.values():
        if table.spec.id_prefix:
            id_header = table.spec.id_column.header  # type: ignore[union-attr]
            plan.writes.extend(assign_ids(table, marks, id_header))

    owned_tab(plan, snapshot, VALIDATION, config.locale, [validation_row(i) for i in crm.report.issues])
    if marks != before:
        owned_tab(plan, snapshot, SEQUENCES, config.locale, [[k, v] for k, v in marks.items()])
    return crm, plan


def validation_row(issue: Issue) -> list[Any]:
    value = issue.as_dict()["value"]
    # Written as text: a value like "=IMPORTXML(...)" or "0042" must reach the tab as typed.
    return [issue.severity, issue.tab, issue.row, issue.column, issue.header,
            None if value is None else str(value), issue.code, issue.message, issue.hint]


def sync(book: Workbook, config: Config, as_of: dt.date | None = None, dry_run: bool = False) -> SyncOutcome:
    snapshot = book.read()
    crm, plan = plan_sync(snapshot, config, as_of or dt.date.today())
    outcome = SyncOutcome(crm, plan, dry_run=dry_run)
    if plan and not dry_run:
        outcome.result = book.write(plan)
    return outcome
