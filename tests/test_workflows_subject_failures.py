"""w14test (tester) reproductions: a Subject template that raises something other than a
jinja2.TemplateError (the sandbox's OverflowError for a big range, a ZeroDivisionError) is a
traceback that stops the whole sync, not a "skipped" firing with a warning at its cell."""

from __future__ import annotations

import datetime as dt

import openpyxl
from books import xlsx
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

DAY0 = dt.date(2026, 12, 1)
WF = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)"]


def _book(tmp_path, subject):
    tabs = {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Ana"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "Big", "ACC-0001", "Ana", "Qualification", 5000, "2027-03-01", "2026-11-01"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, ["WF-0001", "Bad", "yes", "opportunity", "enters Proposal", None, "create task", subject, 1],
                      ["WF-0002", "Good", "yes", "opportunity", "enters Proposal", None, "create task",
                       "Follow up {{ Name }}", 1]],
    }
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    return path


def _fire(tmp_path, subject):
    path = _book(tmp_path, subject)
    book = XlsxWorkbook(path)
    sync(book, Config(), DAY0)
    wb = openpyxl.load_workbook(path)
    wb["Opportunities"]["E2"] = "Proposal"
    wb.save(path)
    outcome = sync(book, Config(), DAY0 + dt.timedelta(days=1))
    return path, outcome


@pytest.mark.parametrize("subject", ["{% for i in range(1000000000) %}x{% endfor %}", "{{ 1 / 0 }}",
                                     "{{ Name | int + 'a' }}",
                                     "{{ 'x' * 1000000000 }}", "{{ Name * 100000000 }}", "{{ 10 ** 100000000 }}",
                                     "{% for i in range(99999) %}xy{% endfor %}",
                                     # short to print, but built 4 million characters (20000 x 20000 took
                                     # 850 MB) / placeholder Latin, 2 s a call at lipsum(30000): neither refused
                                     "{{ range(2000)|map('center', 2000)|join|length }}",
                                     "{% for i in range(3000) %}{{ ('x' * 3000)|replace('x', 'y')|length }}{% endfor %}",
                                     "{{ lipsum(3)|length }}"])
def test_a_subject_that_fails_at_render_skips_its_firing_and_the_other_rules_run(tmp_path, subject):
    path, _ = _fire(tmp_path, subject)    # raised OverflowError / ZeroDivisionError / TypeError out of sync()
    ws = openpyxl.load_workbook(path)["Tasks"]
    subjects = [r[2] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]
    assert subjects == ["Follow up Big"]

    log = openpyxl.load_workbook(path)["Workflow Log"]
    results = {(r[1], r[6]) for r in log.iter_rows(min_row=2, values_only=True) if r[0]}
    assert results == {("WF-0001", "skipped"), ("WF-0002", "done")}
    validation = openpyxl.load_workbook(path)["Validation"]
    warned = [r for r in validation.iter_rows(values_only=True) if "workflow_render_failed" in r]
    assert warned and all(subject in r for r in warned)   # at the rule's Subject cell, with its text
