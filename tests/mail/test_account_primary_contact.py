"""Accounts' optional Primary Contact (docs/workflows.md "send email"): a reference resolved
like the others (unknown → an error at the cell), the address a workflow email about the
account goes to (else, as before, the owner's), and re-pointed when the contact is merged."""

from __future__ import annotations

import datetime as dt

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.schema import TABS
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Grid, Snapshot
from merge_crm import tabs
from test_workflow_mail import body, make, outbox, rule, send
from test_workflows import day

TEMPLATE = "Dear {{ contact.First_Name }}, about {{ Name }} ({{ ID }}).\n"


def test_the_column_is_known_in_english_and_spanish():
    column = next(c for c in TABS["accounts"].columns if c.field == "primary_contact")
    assert (column.header, column.header_es) == ("Primary Contact", "Contacto principal")
    assert not column.required


def _crm(accounts: list[list]):
    tabs = {"Accounts": [["ID", "Name", "Owner", "Primary Contact"], *accounts],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["CON-0001", "ACC-0001", "Bo", "Li", "bo@initech.com"],
                         ["CON-0002", "ACC-0002", "Eva", "Sol", "eva@globex.com"]]}
    return read_crm(Snapshot({t: Grid(rows) for t, rows in tabs.items()}), Config())


def test_a_primary_contact_is_a_reference_resolved_like_the_others():
    crm = _crm([["ACC-0001", "Initech", "Sam", "Bo Li"], ["ACC-0002", "Globex", "Sam", "eva@globex.com"],
                ["ACC-0003", "Umbrella", "Sam", "Nobody Here"], ["ACC-0004", "Hooli", "Sam", None]])
    primary = {a.id: a.primary_contact for a in crm.records("accounts")}
    assert primary == {"ACC-0001": "Bo Li", "ACC-0002": "eva@globex.com", "ACC-0004": None}
    [issue] = [i for i in crm.report.issues if i.tab == "Accounts" and i.code != "left_out"]
    # An error leaves its account out of the figures, which the tab's left_out warning says.
    assert [i.message for i in crm.report.issues if i.code == "left_out"] == [
        "1 account with errors in Accounts is left out of the Dashboard, the Accounts Overview and segments until "
        "fixed: ACC-0003 (row 4)."]
    assert (issue.row, issue.column, issue.header, issue.code, issue.severity) == (
        4, "D", "Primary Contact", "unknown_contact", "error")
    assert "Nobody Here" in issue.message


def test_an_account_email_goes_to_its_primary_contact_else_its_owner(tmp_path, request, server):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "acc.txt.j2").write_text(TEMPLATE)
    (folder / "own.txt.j2").write_text("About {{ Name }}.\n")
    config = Config(templates=str(folder), owners={"Sam": "sam@team.example"})
    book = make("xlsx", tmp_path, request, [rule("WF-0001", "account", "created", "send email", "Hi {{ Name }}",
                                                 "acc"),
                                            rule("WF-0002", "account", "created", "send email", "Yo {{ Name }}",
                                                 "own")])
    book.set("Accounts", 1, 4, "Primary Contact")
    book.sync(0, config)
    book.append("Accounts", ["ACC-0002", "Globex", "Sam", "Bo Li"])   # by name, as a person types it
    book.append("Accounts", ["ACC-0003", "Hooli", "Sam", None])
    book.sync(1, config)
    to = {(r["Opportunity"], r["Subject"]): r["To"] for r in outbox(book)}
    assert to == {("ACC-0002", "Hi Globex"): "bo@initech.com", ("ACC-0002", "Yo Globex"): "bo@initech.com",
                  ("ACC-0003", "Hi Hooli"): "sam@team.example", ("ACC-0003", "Yo Hooli"): "sam@team.example"}
    first = next(n for n, r in enumerate(outbox(book), 2) if r["Subject"] == "Hi Globex")
    book.set("Outbox", first, 6, "Approved")
    send(book, server, config, day(2))
    [msg] = server.inbox.messages
    assert msg["To"] == "bo@initech.com" and body(msg) == "Dear Bo, about Globex (ACC-0002).\n"


def test_merging_contacts_repoints_the_primary_contact_and_fills_the_survivors():
    # merge_crm's ticks: CON-0003 merges into CON-0001, ACC-0003 into ACC-0001 (whose Primary
    # Contact is empty: filled from ACC-0003's, itself re-pointed to the surviving contact).
    data = tabs()
    primary = {"ACC-0002": "CON-0003", "ACC-0003": "CON-0003", "ACC-0004": "CON-0004"}
    data["Accounts"] = [[*data["Accounts"][0], "Primary Contact"],
                        *[[*r, primary.get(r[0])] for r in data["Accounts"][1:]]]
    book = MemoryWorkbook(data, owned={"Duplicates"})
    outcome = sync(book, Config(), dt.date(2026, 11, 23))
    assert outcome.result.deleted == {"Accounts": 1, "Contacts": 1}
    now = {r[0]: r[9] for r in book.tabs["Accounts"][1:] if r and r[0]}
    assert now == {"ACC-0001": "CON-0001", "ACC-0002": "CON-0001", "ACC-0004": "CON-0004"}
    assert not [i for i in outcome.crm.report.issues if i.code == "unknown_contact"]
