"""A conversion waits, whole, while a tab it matches, makes or links rows in cannot be read or
take its row (s31 f05): nothing of it is written, and the lead's Convert cell says why and that
it converts once fixed. It used to append the account and contact, then a deal with no Stage
into an Opportunities tab whose Stage header was renamed (`missing_column`: none of its rows
is read), and mark the lead converted: the deal a `required` error, out of every total."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook

from books import xlsx

DAY1, DAY2 = dt.date(2026, 12, 2), dt.date(2026, 12, 3)
OPP_HEADER = ["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created"]


def _tabs(broken: str = "Opportunities"):
    tabs = {
        "Accounts": [["ID", "Name", "Status"], ["ACC-0001", "Zeta", "Customer"]],
        "Contacts": [["ID", "Account", "Last Name", "Email"], ["CON-0001", "Zeta", "Z", "z@zeta.example"]],
        "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Owner", "Created", "Amount",
                   "Convert"],
                  ["LEAD-0001", "A", "Buyer", "BuyCo", "a@buyco.example", "Qualified", "Ana", "2026-11-01", 5000,
                   "yes"]],
        "Opportunities": [OPP_HEADER,
                          ["OPP-0001", "old", "Zeta", None, "Ana", "Proposal", 100, "USD", "2027-01-01",
                           "2026-11-01"]],
    }
    if broken == "Opportunities":
        tabs["Opportunities"][0] = ["Phase" if h == "Stage" else h for h in OPP_HEADER]  # Stage renamed
    elif broken == "Accounts":
        tabs["Accounts"][0] = ["ID", "Naam", "Status"]  # Name renamed: no account is read
    return tabs


def _values(path):
    wb = openpyxl.load_workbook(path)
    return {t: [list(r) for r in wb[t].iter_rows(values_only=True)] for t in ("Accounts", "Contacts", "Leads",
                                                                               "Opportunities")}


@pytest.mark.parametrize("broken", ["Opportunities", "Accounts"])
def test_a_conversion_waits_whole_while_a_target_tab_is_unread_and_converts_once_fixed(tmp_path, broken):
    path = xlsx(tmp_path / "crm.xlsx", _tabs(broken))
    before = _values(path)
    for _ in range(2):  # a second sync does not half-convert either
        outcome = sync(XlsxWorkbook(path), Config(), DAY1)
        after = _values(path)
        # Nothing of the conversion is written: no account, contact or deal, no link on the lead.
        for tab in ("Accounts", "Contacts", "Opportunities"):
            width = len(before[tab][0])  # (sheetcrm's computed columns beside them aside)
            assert [r[:width] for r in after[tab] if any(v is not None for v in r[:width])] == before[tab], tab
        assert after["Leads"][1][:10] == before["Leads"][1][:10]
        assert not {"Converted Account", "Converted Opportunity"} & set(after["Leads"][0])
        issue = next(i for i in outcome.crm.report.issues if i.code == "conversion_waits")
        assert (issue.tab, issue.row, issue.column, issue.header, issue.value) == ("Leads", 2, "J", "Convert", "yes")
        column = "Stage" if broken == "Opportunities" else "Name"
        assert f'{broken} has no "{column}" column, so none of its rows is read' in issue.message
        assert "converts on the first sync after" in issue.message and broken in issue.hint
    # The person fixes the header: the lead converts, whole, and the deal has its Stage.
    wb = openpyxl.load_workbook(path)
    ws = wb[broken]
    ws.cell(1, 6 if broken == "Opportunities" else 2).value = "Stage" if broken == "Opportunities" else "Name"
    wb.save(path)
    outcome = sync(XlsxWorkbook(path), Config(), DAY2)
    assert not [i for i in outcome.crm.report.issues if i.code in ("conversion_waits", "required")]
    after = _values(path)
    deal = dict(zip(after["Opportunities"][0], after["Opportunities"][2]))
    assert deal["ID"] == "OPP-0002" and deal["Stage"] == "Prospecting" and deal["Amount"] == 5000
    lead = dict(zip(after["Leads"][0], after["Leads"][1]))
    assert (lead["Converted Account"], lead["Converted Contact"], lead["Converted Opportunity"]) == \
        ("ACC-0002", "CON-0002", "OPP-0002")


def test_a_conversion_waits_for_a_missing_opportunities_tab_rather_than_half_converting():
    tabs = _tabs(broken="")
    del tabs["Opportunities"]
    book = MemoryWorkbook(tabs)
    outcome = sync(book, Config(), DAY1)
    assert [r[0] for r in book.tabs["Accounts"][1:]] == ["ACC-0001"]
    assert [r[0] for r in book.tabs["Contacts"][1:]] == ["CON-0001"]
    issue = next(i for i in outcome.crm.report.issues if i.code == "conversion_waits")
    assert 'there is no "Opportunities" tab' in issue.message and issue.column == "J"


def test_spanish_message():
    tabs = _tabs()
    book = MemoryWorkbook(tabs)
    outcome = sync(book, Config(locale="es"), DAY1)
    issue = next(i for i in outcome.crm.report.issues if i.code == "conversion_waits")
    assert 'Opportunities no tiene la columna "Etapa"' in issue.message
