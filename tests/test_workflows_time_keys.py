"""A time event is keyed by the day it counts from (the record's date) and the trigger's field,
not by its due day: editing a rule's N ("3 days after" -> "8 days after") never re-fires what
fired; a changed date is a new event."""

from __future__ import annotations

import datetime as dt

import openpyxl
from books import xlsx

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.workflow_tabs import LOG_FIELDS

DAY0 = dt.date(2026, 12, 1)
WF = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)"]


def _edit(path, tab, cell, value):
    wb = openpyxl.load_workbook(path)
    wb[tab][cell] = value
    wb.save(path)


def _keys(path):
    ws = openpyxl.load_workbook(path)["Workflow Log"]
    key = LOG_FIELDS.index("key")
    return [r[key] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]


def test_editing_the_days_of_a_time_rule_never_refires_and_a_changed_date_is_a_new_event(tmp_path):
    tabs = {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Ana"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "Big", "ACC-0001", "Ana", "Proposal", 5000, "2026-11-30", "2026-11-01"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, ["WF-0001", "After close", "yes", "opportunity", "3 days after Close Date", None,
                           "create task", "Check {{ Name }}", 0]],
    }
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    book = XlsxWorkbook(path)
    for n in range(0, 3):
        sync(book, Config(), DAY0 + dt.timedelta(days=n))
    assert _keys(path) == ["WF-0001|OPP-0001|from:close_date:2026-11-30"]     # due 2026-12-03
    _edit(path, "Workflows", "E2", "8 days after Close Date")                   # now due 2026-12-08
    for n in range(3, 10):
        sync(book, Config(), DAY0 + dt.timedelta(days=n))
    assert _keys(path) == ["WF-0001|OPP-0001|from:close_date:2026-11-30"]
    _edit(path, "Opportunities", "G2", "2026-12-05")                            # a new date: due 2026-12-13
    for n in range(10, 14):
        sync(book, Config(), DAY0 + dt.timedelta(days=n))
    assert _keys(path) == ["WF-0001|OPP-0001|from:close_date:2026-11-30", "WF-0001|OPP-0001|from:close_date:2026-12-05"]
