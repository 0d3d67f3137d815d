"""A sync: one read, pure planning, one write.

    snapshot = book.read()
    crm, results, plan = plan_sync(snapshot, config, as_of)   # pure: no I/O, no clock
    book.write(plan)                                 # skipped when the plan is empty
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Collection, Sequence

from sheetcrm.config import Config
from sheetcrm.engine import Results, compute
from sheetcrm.ids import assign_ids, read_sequences
from sheetcrm.mail.outbox import queue_ticked_quotes
from sheetcrm.plan import computed_writes, owned_tab
from sheetcrm.render import (charts, dashboard_body, forecast_body, history_body, lead_columns, opportunity_columns,
                             pipeline_body)
from sheetcrm.report import Issue
from sheetcrm.owned import TAB_NAME_TAKEN, adoptions, conflicts, owned_title
from sheetcrm.schema import (DASHBOARD, FORECAST, LEAD_HISTORY, PIPELINE, SEQUENCES, STAGE_HISTORY, SYNC_LOG,
                             SYNC_LOG_ROWS, TABS, VALIDATION)
from sheetcrm.validate import Crm, read_crm
from sheetcrm.crm import HistoryRow
from sheetcrm.workbook import (CellValue, CellWrite, Guide, Plan, Snapshot, Workbook, WorkbookConflict, WriteResult,
                               same_value)


@dataclass
class SyncOutcome:
    crm: Crm
    results: Results
    plan: Plan
    result: WriteResult | None = None  # None when nothing was written (dry run or empty plan)
    dry_run: bool = False

    @property
    def stepped_aside(self) -> list[tuple[str, str]]:
        """(team's tab, sheetcrm's tab) for each of sheetcrm's tabs this plan creates under another
        name because a team's tab has the usual one: what the command says, once."""
        return [(i.tab, i.value) for i in self.crm.report.issues
                if i.code == TAB_NAME_TAKEN and i.value in self.plan.new_tabs]

    @property
    def cells_written(self) -> dict[str, int]:
        if self.result is None:
            return {}
        return dict(self.result.written)

    def as_dict(self) -> dict[str, Any]:
        written = self.cells_written
        return {
            "dry_run": self.dry_run,
            "as_of": self.results.as_of.isoformat(),
            "valid": self.crm.report.valid,
            "new_tabs": list(self.plan.new_tabs),
            "planned": {"cells": self.plan.cells_by_tab(), "total": len(self.plan.writes)},
            "cells_written": {"tabs": written, "total": sum(written.values())},
            "skipped": len(self.result.skipped) if self.result else 0,
            "stats": self.crm.stats(),
            "scoring": {"method": self.results.scoring.method, "note": self.results.scoring.note},
            "issues": [i.as_dict() for i in self.crm.report.issues],
        }


def plan_sync(snapshot: Snapshot, config: Config, as_of: dt.date,
              log_rows: Sequence[Sequence[CellValue]] = (), log_now: bool = False, *,
              sent_versions: Collection[str] = ()) -> tuple[Crm, Results, Plan]:
    """`log_rows` are Sync Log rows waiting to be written (`sheetcrm run` keeps them); they
    ride along when the plan writes anyway, and cost a write of their own only with `log_now`
    (the service's `[schedule] log` interval is up, or a row reports a failure or a recovery).
    `sent_versions` are the quote versions the outbox journal holds (`Journal.versions_held`):
    a ticked quote of such a version is not queued again, even with no Outbox row left."""
    crm = read_crm(snapshot, config)
    plan = Plan()
    locale = config.locale
    # A team's tab holding one of sheetcrm's names is never written: said once, on Validation.
    for issue in conflicts(snapshot, locale):
        crm.report.add(issue)

    sequences_title = owned_title(snapshot, SEQUENCES)
    marks = read_sequences(snapshot.tabs.get(sequences_title) if sequences_title else None)
    before = dict(marks)
    id_fills: dict[Any, tuple[str, int, int]] = {}
    for table in crm.tables.values():
        if table.spec.id_prefix:
            id_header = table.spec.id_column.header  # type: ignore[union-attr]
            writes = assign_ids(table, marks, id_header)
            id_fills.update((w.value, w.key) for w in writes if w.row > 1)
            plan.writes.extend(writes)

    results = compute(crm, snapshot, config, as_of)
    for warning in results.warnings:
        crm.report.add(warning)

    if "opportunities" in crm.tables:
        by_row = {o.row: opportunity_columns(m, locale) for o, m in zip(results.opportunities, results.metrics)}
        plan.writes.extend(computed_writes(crm.tables["opportunities"], by_row, locale))
    if "leads" in crm.tables:
        by_row = {lead.row: lead_columns(results.score(lead)) for lead in crm.records("leads")}
        plan.writes.extend(computed_writes(crm.tables["leads"], by_row, locale))

    # Quotes: bad lines become issues before the Validation tab is planned; ticks become Drafts.
    queue_ticked_quotes(plan, snapshot, crm, config, marks, as_of, sent_versions)
    owned_tab(plan, snapshot, VALIDATION, locale, [validation_row(i) for i in crm.report.issues])
    pipeline_title = owned_tab(plan, snapshot, PIPELINE, locale, pipeline_body(results))
    forecast_title = owned_tab(plan, snapshot, FORECAST, locale, forecast_body(results, locale))
    owned_tab(plan, snapshot, DASHBOARD, locale, dashboard_body(results, locale))
    for tab, history, with_amount in ((STAGE_HISTORY, results.stage_history, True),
                                      (LEAD_HISTORY, results.lead_history, False)):
        first = len(plan.writes)
        owned_tab(plan, snapshot, tab, locale, history_body(history, with_amount))
        plan.writes[first:] = tie_to_ids(plan.writes[first:], history, id_fills)
    if marks != before:
        owned_tab(plan, snapshot, SEQUENCES, locale, [[k, v] for k, v in marks.items()])
    plan.charts.extend(charts(results, pipeline_title, forecast_title, locale))
    plan.guides.extend(guides(crm, config))
    if log_rows and (plan or log_now):
        plan_log(plan, snapshot, locale, log_rows)
    if plan:  # migration: sheetcrm's unmarked tabs of an earlier version get their mark for free
        plan.mark_owned.extend(t for t in adoptions(snapshot) if t not in plan.mark_owned)
    return crm, results, plan


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


def plan_log(plan: Plan, snapshot: Snapshot, locale: str, log_rows: Sequence[Sequence[CellValue]]) -> None:
    """Append `log_rows` to the Sync Log tab and keep its newest SYNC_LOG_ROWS rows.

    A row already in the tab is not added again: when a write's answer is lost after Google
    applied it, the caller cannot know, and hands the same rows to the next plan."""
    title = owned_title(snapshot, SYNC_LOG)
    kept = [row for row in (snapshot.tabs[title].rows[1:] if title else []) if any(v not in (None, "") for v in row)]
    fresh = [list(row) for row in log_rows if not any(_same_row(row, have) for have in kept)]
    owned_tab(plan, snapshot, SYNC_LOG, locale, (kept + fresh)[-SYNC_LOG_ROWS:])


def _same_row(a: Sequence[CellValue], b: Sequence[CellValue]) -> bool:
    width = max(len(a), len(b))
    return all(same_value(a[i] if i < len(a) else None, b[i] if i < len(b) else None) for i in range(width))


def validation_row(issue: Issue) -> list[Any]:
    value = issue.as_dict()["value"]
    # Written as text: a value like "=IMPORTXML(...)" or "0042" must reach the tab as typed.
    return [issue.severity, issue.tab, issue.row, issue.column, issue.header,
            None if value is None else str(value), issue.code, issue.message, issue.hint]


ATTEMPTS = 3  # reads and plans before a workbook that keeps changing is reported


def sync(book: Workbook, config: Config, as_of: dt.date | None = None, dry_run: bool = False,
         attempts: int = ATTEMPTS, *, sent_versions: Collection[str] = ()) -> SyncOutcome:
    """Read, plan, write. When the workbook was saved by someone else between the read and the
    write (WorkbookConflict), nothing was written: read and plan again from the new file, up
    to `attempts` times, then raise WorkbookConflict with one line for the user."""
    day = as_of or dt.date.today()
    for attempt in range(1, attempts + 1):
        snapshot = book.read()
        crm, results, plan = plan_sync(snapshot, config, day, sent_versions=sent_versions)
        outcome = SyncOutcome(crm, results, plan, dry_run=dry_run)
        if not plan or dry_run:
            return outcome
        try:
            outcome.result = book.write(plan)
            return outcome
        except WorkbookConflict as e:
            if attempt == attempts:
                raise WorkbookConflict(f"{e} ({attempts} attempts); run the sync again when it is saved") from None
    raise AssertionError("unreachable")


def guides(crm: Crm, config: Config) -> list[Guide]:
    """Dropdowns on the enum columns people type, and the computed columns to mark."""
    out = []
    for key, table in crm.tables.items():
        dropdowns = []
        for column in table.spec.columns:
            values = _choices(key, column.field, config)
            col = table.header.fields.get(column.field)
            if values and col is not None:
                dropdowns.append((col + 1, values))
        computed = tuple(sorted(c + 1 for c in table.header.computed.values()))
        if dropdowns or computed:
            out.append(Guide(table.title, tuple(dropdowns), computed))
    return out


def _choices(tab: str, field_name: str, config: Config) -> tuple[str, ...]:
    if field_name == "stage":
        return tuple(s.name for s in config.stages)
    info = TABS[tab].model.model_fields[field_name]
    return next((meta.func.choices for meta in info.metadata if getattr(meta.func, "choices", ())), ())
