"""w14test (tester) reproduction: an If on the Stage compares the stage's canonical English
name as plain text, so a stage named by one of its aliases (docs/workflows.md's own example
`Etapa en (Propuesta, Negociación)`, or `Stage = Won`) is silently never true."""

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


@pytest.mark.parametrize("condition", ["Stage = Closed Won", "Stage = Won", "Stage in (Ganada, Lost)", "Stage = Negociación"])
def test_a_stage_condition_named_by_an_alias_is_true_for_that_stage(tmp_path, condition):
    target = {"Stage = Closed Won": "Closed Won", "Stage = Won": "Closed Won", "Stage in (Ganada, Lost)": "Closed Won",
              "Stage = Negociación": "Negotiation"}[condition]
    tabs = {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Ana"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "Big", "ACC-0001", "Ana", "Qualification", 5000, "2027-03-01", "2026-11-01"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, ["WF-0001", "On stage", "yes", "opportunity", "Stage changes", condition, "create task",
                           "Stage now {{ Stage }}", 1]],
    }
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    book = XlsxWorkbook(path)
    sync(book, Config(), DAY0)
    wb = openpyxl.load_workbook(path)
    wb["Opportunities"]["E2"] = target
    wb.save(path)
    sync(book, Config(), DAY0 + dt.timedelta(days=1))
    ws = openpyxl.load_workbook(path)["Tasks"]
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]] == ["TSK-0001"]


@pytest.mark.parametrize("condition, status, holds", [
    ("Estado = Cualificado", "Qualified", True), ("Status in (Nuevo, Contactado)", "Contacted", True),
    ("Status != Calificada", "Qualified", False), ("Estado no en (Convertido)", "New", True),
    ("Status = Qualified", "New", False), ("Status contains quali", "Qualified", True)])
def test_a_lead_status_condition_compares_what_its_words_name(condition, status, holds):
    from sheetcrm.cells import normalize_key
    from sheetcrm.crm.conditions import parse_condition
    from sheetcrm.crm.workflows import Subject, World, _getter
    from sheetcrm.records import LEAD_STATUSES
    enum = {normalize_key(w): k for k, words in LEAD_STATUSES.items() for w in (k, *words)}
    world = World(as_of=DAY0, subjects={}, names={"lead": {"status": "status", "estado": "status"}}, labels={},
                  enums={"status": enum})
    lead = Subject("lead", "LEAD-0001", {"status": status})
    assert parse_condition(condition, "en").test(_getter(lead, world)) is holds
