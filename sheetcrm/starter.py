"""Starting a CRM workbook: the missing tabs with their headers, or a whole demo CRM."""

from __future__ import annotations

import datetime as dt

from sheetcrm import demo
from sheetcrm.config import Config
from sheetcrm.plan import tab_writes
from sheetcrm.schema import TABS, find_tab, tab_names
from sheetcrm.workbook import Plan, Snapshot, Workbook, WorkbookError, WriteResult


def plan_missing_tabs(snapshot: Snapshot, config: Config) -> Plan:
    """New tabs, with headers, for every CRM tab the workbook lacks. Existing tabs are not touched."""
    plan = Plan()
    titles = list(snapshot.tabs)
    for key, spec in TABS.items():
        settings = config.tab(key)
        if find_tab(titles, tab_names(spec, settings.title)) is not None:
            continue
        title = settings.title or spec.display_title(config.locale)
        plan.new_tabs.append(title)
        plan.writes.extend(tab_writes(title, None, [spec.headers(config.locale)]))
    return plan


def init_workbook(book: Workbook, config: Config) -> WriteResult:
    snapshot = book.read() if book.exists() else Snapshot()
    plan = plan_missing_tabs(snapshot, config)
    if not book.exists():
        book.create()
    return book.write(plan) if plan else WriteResult()


def write_demo(book: Workbook, rows: int, seed: int, today: dt.date) -> demo.DemoData:
    """Fill an empty workbook with the demo CRM. A workbook that already holds CRM tabs is refused."""
    if book.exists():
        present = [t for t in book.read().tabs if any(find_tab([t], tab_names(s, None)) for s in TABS.values())]
        if present:
            raise WorkbookError(f"{book.describe()} already holds CRM tabs ({', '.join(present)}); "
                                "the demo needs an empty workbook (pass --force to replace it)")
    else:
        book.create()
    data = demo.generate(rows=rows, seed=seed, today=today)
    plan = Plan(new_tabs=list(data.tabs))
    for title, table in data.tabs.items():
        plan.writes.extend(tab_writes(title, None, table))
    book.write(plan)
    return data
