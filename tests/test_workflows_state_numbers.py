"""w14test (tester) reproductions: the Workflow State's Value column on .xlsx.

The State keeps dates (armed, checked, watch, seen *) and numbers (seen score, seen Amount,
next) in one column. When the rows move (a record or rule added or gone), the xlsx patcher
writes a number into a cell whose style shows a date and keeps that style, so the next read
gives a date: score 75 comes back as 1900-03-15, and the edge is lost or misreported."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

DAY0 = dt.date(2026, 12, 1)
WF = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)", "Template", "Assign To", "Cap"]
LEADS = ["ID", "First Name", "Last Name", "Company", "Email", "Status", "Source", "Title", "Created"]


def _book(tmp_path, rules):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    tabs = {
        "Leads": [LEADS, ["LEAD-0001", "Lea", "One", "L1", "lea@l1corp.com", "New", None, None, "2026-11-01"]],
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Ana"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "Big", "ACC-0001", "Ana", "Qualification", 5000, "2027-03-01", "2026-11-01"],
                          ["OPP-0002", "Small", "ACC-0001", "Bo", "Qualification", 500, "2027-03-01", "2026-11-01"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, *rules],
    }
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    path = tmp_path / "crm.xlsx"
    wb.save(path)
    return path


def _edit(path, tab, row, header, value):
    wb = openpyxl.load_workbook(path)
    ws = wb[tab]
    col = [c.value for c in ws[1]].index(header) + 1
    ws.cell(row, col).value = value
    wb.save(path)


def _state(path):
    ws = openpyxl.load_workbook(path)["Workflow State"]
    return {(r[0], r[1], r[2]): r[3] for r in ws.iter_rows(min_row=2, values_only=True)}


def _log(path):
    wb = openpyxl.load_workbook(path)
    if "Workflow Log" not in wb.sheetnames:
        return []
    ws = wb["Workflow Log"]
    hdr = [c.value for c in ws[1]]
    return [dict(zip(hdr, r)) for r in ws.iter_rows(min_row=2, values_only=True) if any(r)]


def test_a_score_crossing_fires_after_new_leads_moved_the_state_rows(tmp_path):
    rules = [["WF-0001", "Hot", "yes", "lead", "score above 50", None, "create task", "Hot {{ Company }}", 1],
             ["WF-0002", "Assign", "yes", "lead", "created", None, "assign owner", None, None, None, "Ana, Bo"]]
    path = _book(tmp_path, rules)
    book = XlsxWorkbook(path)
    sync(book, Config(), DAY0)                       # armed; LEAD-0001 seen with its score
    for n, (first, row) in enumerate([("Leo", 3), ("Lia", 4)]):
        _edit(path, "Leads", row, "First Name", first)
        _edit(path, "Leads", row, "Last Name", "X")
        _edit(path, "Leads", row, "Company", f"C{n}")
        _edit(path, "Leads", row, "Status", "New")
    sync(book, Config(), DAY0 + dt.timedelta(days=1))  # the new leads get IDs
    sync(book, Config(), DAY0 + dt.timedelta(days=2))  # ... and are seen, assigned
    _edit(path, "Leads", 5, "First Name", "Lou")
    _edit(path, "Leads", 5, "Last Name", "Y")
    _edit(path, "Leads", 5, "Company", "C9")
    _edit(path, "Leads", 2, "Source", "Referral")     # LEAD-0001: 40 -> 75 (Referral +20, CEO +15)
    _edit(path, "Leads", 2, "Title", "CEO")
    for n in range(3, 7):
        sync(book, Config(), DAY0 + dt.timedelta(days=n))
    scores = {k[1]: v for k, v in _state(path).items() if k[0] == "seen" and k[2] == "score"}
    assert all(isinstance(v, (int, float)) for v in scores.values()), scores   # numbers, not 1900 dates
    hot = [e for e in _log(path) if e["Rule"] == "WF-0001" and e["Record"] == "LEAD-0001"]
    assert len(hot) == 1, _log(path)



# -- the patcher: a number written into a date-styled cell of sheetcrm's own tab -------------------

def _dated_book(tmp_path):
    """A workbook whose owned tab "Workflow Log" (marked by a first write) and people's tab
    "Notes" each hold a date in B2 (a date format on the cell)."""
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb["Notes"].append(["Name", "Value"])
    wb["Notes"].append(["a", dt.datetime(2026, 12, 1)])
    ws = wb.create_sheet("Workflow Log")
    ws.append(["Kind", "Value"])
    ws.append(["x", dt.datetime(2026, 12, 1)])
    path = tmp_path / "dated.xlsx"
    wb.save(path)
    return path


def _read_b2(path):
    wb = openpyxl.load_workbook(path)
    return wb["Workflow Log"]["B2"].value, wb["Notes"]["B2"].value, wb["Notes"]["B2"].number_format


@pytest.mark.parametrize("new_tab", [False, True], ids=["patched", "rebuilt"])
def test_a_number_written_on_an_owned_tab_reads_back_as_that_number_and_peoples_cells_keep_their_format(
        tmp_path, new_tab):
    from sheetcrm.workbook import CellWrite, Plan
    path = _dated_book(tmp_path)
    book = XlsxWorkbook(path)
    book.read()
    # The patcher for an existing tab; openpyxl's rebuild when the same write creates a tab.
    plan = Plan(new_tabs=["Other"] if new_tab else [], mark_owned=["Workflow Log"],
                writes=[CellWrite("Workflow Log", 2, 2, 75), CellWrite("Notes", 2, 2, 46000),
                        *([CellWrite("Other", 1, 1, "x")] if new_tab else [])])
    book.write(plan)
    own, people, people_format = _read_b2(path)
    assert own == 75 and not isinstance(own, dt.datetime)          # not 1900-03-15
    assert isinstance(people, dt.datetime)                         # a people's cell keeps its date format
    assert people_format != "General"
    # Once marked, a later write through the patcher keeps doing so.
    book.read()
    book.write(Plan(writes=[CellWrite("Workflow Log", 2, 2, 12.5)]))
    assert _read_b2(path)[0] == 12.5
