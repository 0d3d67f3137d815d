"""Dates at the calendar's end (9999-12-31, Excel's last date, which people type for "never"):
counting days after them holds at the end instead of an OverflowError traceback that stopped
every command (sync, validate, kpis, score) of the workbook."""

from __future__ import annotations

import datetime as dt

import openpyxl
from books import xlsx

from sheetcrm.cells import add_days
from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

DAY0 = dt.date(2026, 12, 1)
WF = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)"]


def test_add_days_holds_at_the_calendars_ends():
    assert add_days(dt.date(2026, 12, 30), 3) == dt.date(2027, 1, 2)
    assert add_days(dt.date(2026, 12, 30), -3) == dt.date(2026, 12, 27)
    assert add_days(dt.date(9999, 12, 31), 1) == dt.date.max
    assert add_days(dt.date(9999, 12, 1), 45) == dt.date.max
    assert add_days(dt.date(1, 1, 2), -3) == dt.date.min
    assert add_days(dt.datetime(9999, 12, 31, 9, 0), 2) == dt.datetime.max


def test_a_sync_with_never_dates_runs_and_fires_nothing_for_them(tmp_path):
    tabs = {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Ana"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          # an activity dated 9999-12-31: a plan, so no last activity to rot from
                          ["OPP-0001", "Big", "ACC-0001", "Ana", "Proposal", 5000, "2027-03-01", "2026-11-01"],
                          # "3 days after Close Date" of 9999-12-31
                          ["OPP-0002", "Open-ended", "ACC-0001", "Ana", "Qualification", 700, dt.date(9999, 12, 31),
                           "2026-11-01"],
                          ["OPP-0003", "Due", "ACC-0001", "Ana", "Qualification", 900, "2026-11-30", "2026-11-01"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                       ["ACT-0001", dt.date(9999, 12, 31), "Call", "Someday", "OPP-0001"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, ["WF-0001", "After close", "yes", "opportunity", "3 days after Close Date", None,
                           "create task", "Check {{ Name }}", 3650],  # the most Due (days) a rule may have
                      ["WF-0002", "Rotting", "yes", "opportunity", "rotting", None, "create task",
                       "Revive {{ Name }}", 3650]],
    }
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    book = XlsxWorkbook(path)
    for n in range(4):  # OPP-0003's event is due on 2026-12-03
        sync(book, Config(), DAY0 + dt.timedelta(days=n))
    tasks = [r for r in openpyxl.load_workbook(path)["Tasks"].iter_rows(min_row=2, values_only=True) if any(r)]
    # Only OPP-0003's close date is 3 days past: the never-dates fire nothing, and nothing rots.
    assert [(t[1].date(), t[2], t[3]) for t in tasks] == [(dt.date(2026, 12, 3) + dt.timedelta(days=3650),
                                                           "Check Due", "OPP-0003")]
    ws = openpyxl.load_workbook(path)["Opportunities"]
    header = [c.value for c in ws[1]]
    last = header.index("Last Activity")
    # A day that has not come is a plan, not a last activity (crm.stages.is_plan): none shown.
    assert ws.cell(2, last + 1).value is None
