"""A row with a bad cell is still the record it names when a lead converts, a file is imported or
a form response comes in (s34): an account "Acme Corp" whose Employees says "many" used to be
left out of the look-up, so a lead of Acme Corp made a second Acme Corp account, and a contact
whose Created could not be read a second contact. Now the row links (by what of it reads); and
one whose *key* cell cannot be read (an email that is no email), that may be the person, makes
the conversion, the import row or the response wait, said at a cell, rather than link to a
half-read row or make its twin."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.intake.importer import import_file
from sheetcrm.intake.queue import WebBatch, WebQueue
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

from books import xlsx
from test_gsheets import Traced

DAY1, DAY2 = dt.date(2026, 12, 2), dt.date(2026, 12, 3)
ACCOUNTS = [["ID", "Name", "Domain", "Employees"], ["ACC-0001", "Acme Corp", "acme.com", "many"]]
LEAD_HEADER = ["ID", "First Name", "Last Name", "Company", "Email", "Status", "Created", "Convert"]


def _tabs(contact_email="ana@acme.com", contact_created="2026-11-01"):
    return {
        "Accounts": [row[:] for row in ACCOUNTS],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email", "Created"],
                     ["CON-0001", "ACC-0001", "Ana", "Ng", contact_email, contact_created]],
        "Leads": [LEAD_HEADER, ["LEAD-0001", "Ana", "Ng", "Acme Corp", "ana@acme.com", "Qualified", "2026-11-20",
                                "yes"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Stage", "Amount", "Close Date"]],
    }


def _records(book, tab):
    rows = [[None if v == "" else v for v in r] for r in book.read().tabs[tab].rows]
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]


@pytest.fixture(params=["xlsx", "google"])
def backend(request, tmp_path):
    def make(tabs):
        if request.param == "xlsx":
            return XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
        server = request.getfixturevalue("emu")
        return Traced(server.create_spreadsheet("CRM", tabs)).book
    return make


def test_a_lead_converts_into_the_account_and_contact_whose_other_cells_are_bad(backend):
    # The account's Employees and the contact's Created cannot be read: both rows have errors.
    book = backend(_tabs(contact_created="the 31st of Smarch"))
    outcome = sync(book, Config(), DAY1)
    assert {(i.tab, i.row) for i in outcome.crm.report.issues if i.severity == "error"} == {
        ("Accounts", 2), ("Contacts", 2)}
    assert [a["ID"] for a in _records(book, "Accounts")] == ["ACC-0001"]  # no second Acme Corp
    assert [c["ID"] for c in _records(book, "Contacts")] == ["CON-0001"]  # no second Ana Ng
    lead = _records(book, "Leads")[0]
    assert (lead["Converted Account"], lead["Converted Contact"]) == ("ACC-0001", "CON-0001")
    assert not [i for i in outcome.crm.report.issues if i.code.startswith("conversion")]
    second = sync(book, Config(), DAY1)
    assert not second.plan.writes


def test_a_contact_whose_email_cannot_be_read_makes_the_conversion_wait_until_fixed(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", _tabs(contact_email="ana@@acme.com"))
    book = XlsxWorkbook(path)
    for _ in range(2):
        outcome = sync(book, Config(), DAY1)
        assert [c["ID"] for c in _records(book, "Contacts")] == ["CON-0001"]  # no twin of the half-read contact
        assert [a["ID"] for a in _records(book, "Accounts")] == ["ACC-0001"]
        assert "Converted Account" not in _records(book, "Leads")[0]
        issue = next(i for i in outcome.crm.report.issues if i.code == "conversion_waits")
        assert (issue.tab, issue.row, issue.column, issue.value) == ("Leads", 2, "H", "yes")
        assert 'row 2 of Contacts may be its contact, but its Email ("ana@@acme.com") cannot be read' in issue.message
    wb = openpyxl.load_workbook(path)
    wb["Contacts"]["E2"] = "ana@acme.com"
    wb.save(path)
    outcome = sync(book, Config(), DAY2)
    assert not [i for i in outcome.crm.report.issues if i.code == "conversion_waits"]
    lead = _records(book, "Leads")[0]
    assert (lead["Converted Account"], lead["Converted Contact"]) == ("ACC-0001", "CON-0001")


def test_a_contact_whose_email_cannot_be_read_but_is_someone_else_does_not_hold_the_lead(tmp_path):
    tabs = _tabs(contact_email="bo@@initech.com")
    tabs["Contacts"][1][2:4] = ["Bo", "Li"]
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    outcome = sync(book, Config(), DAY1)
    assert not [i for i in outcome.crm.report.issues if i.code == "conversion_waits"]
    lead = _records(book, "Leads")[0]
    assert (lead["Converted Account"], lead["Converted Contact"]) == ("ACC-0001", "CON-0002")


def test_an_account_whose_id_another_row_has_makes_the_conversion_wait(tmp_path):
    tabs = _tabs()
    tabs["Accounts"] = [["ID", "Name", "Domain"], ["ACC-0001", "Initech", "initech.com"],
                        ["ACC-0001", "Acme Corp", "acme.com"]]
    tabs["Contacts"] = [tabs["Contacts"][0]]
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    outcome = sync(book, Config(), DAY1)
    assert [a["Name"] for a in _records(book, "Accounts")] == ["Initech", "Acme Corp"]
    issue = next(i for i in outcome.crm.report.issues if i.code == "conversion_waits")
    assert 'row 3 of Accounts may be its account, but its ID "ACC-0001" is also on row 2' in issue.message


# --- import -------------------------------------------------------------------------------------


def test_an_import_matches_an_account_with_a_bad_cell_and_rejects_one_whose_id_two_rows_have(tmp_path):
    tabs = _tabs()
    tabs["Accounts"] += [["ACC-0002", "Initech", "initech.com", 40], ["ACC-0002", "Globex", "globex.com", 9]]
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    csv = tmp_path / "companies.csv"
    csv.write_text("Company Name,Website\nAcme Corp,https://acme.com\nGlobex,globex.com\nHooli,hooli.com\n",
                   encoding="utf-8")
    result = import_file(book, Config(), csv, "accounts")
    acme, globex, hooli = result.rows
    assert (acme.status, acme.id) == ("matched", "ACC-0001")  # its Employees "many" hides it no more
    assert globex.status == "rejected" and globex.candidates == ["ACC-0002"]
    assert 'its ID "ACC-0002" (Accounts!A4) is also on row 3' in globex.reasons[0]
    assert (hooli.status, hooli.id) == ("added", "ACC-0003")
    assert [a["Name"] for a in _records(book, "Accounts")] == ["Acme Corp", "Initech", "Globex", "Hooli"]


def test_an_imported_person_who_may_be_a_contact_whose_email_cannot_be_read_is_rejected_naming_the_cell(tmp_path):
    tabs = _tabs(contact_email="ana@@acme.com")
    tabs["Contacts"].append(["CON-0002", "ACC-0001", "Bo", "Li", "bo@acme.com", "the 31st of Smarch"])
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    csv = tmp_path / "people.csv"
    csv.write_text("First Name,Last Name,Email,Account\nAna,Ng,ana@acme.com,ACC-0001\nBo,Li,BO@acme.com,\n"
                   "Cy,Oh,cy@initech.com,\n", encoding="utf-8")
    result = import_file(book, Config(), csv, "contacts")
    ana, bo, cy = result.rows
    assert ana.status == "rejected" and ana.candidates == ["CON-0001"]
    assert 'Contacts!E2 ("ana@@acme.com") cannot be read' in ana.reasons[0]
    assert (bo.status, bo.id) == ("matched", "CON-0002")
    assert (cy.status, cy.id) == ("added", "CON-0003")
    assert [c["ID"] for c in _records(book, "Contacts")] == ["CON-0001", "CON-0002", "CON-0003"]


# --- forms and the website form -------------------------------------------------------------------

RESPONSES = "Form Responses 1"
FORMS = {"forms": {"web": {"tab": RESPONSES, "fields": {"Email Address": "email", "Your name": "name",
                                                         "Company": "company"}}}}


def _form_tabs():
    tabs = _tabs("ana@@acme.com")
    tabs["Contacts"].append(["CON-0002", "ACC-0001", "Bo", "Li", "bo@acme.com", "the 31st of Smarch"])
    tabs["Leads"] = [LEAD_HEADER]
    tabs["Activities"] = [["ID", "Date", "Type", "Subject", "Related"]]
    tabs[RESPONSES] = [["Timestamp", "Email Address", "Your name", "Company"],
                       [dt.datetime(2026, 12, 1, 9, 30), "ana@acme.com", "Ana Ng", "Acme Corp"],
                       [dt.datetime(2026, 12, 1, 9, 45), "bo@acme.com", "Bo Li", "Acme Corp"]]
    return tabs


def test_a_form_response_of_a_half_read_contact_links_or_waits_at_its_cell(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", _form_tabs())
    book = XlsxWorkbook(path)
    outcome = sync(book, Config(**FORMS), DAY1)
    # Bo Li's contact has a bad Created: still Bo Li. Ana Ng's has an email that is no email: she
    # may be that contact, so nothing is made of her response yet (no lead, no activity).
    assert _records(book, "Leads") == []
    assert [a["Related"] for a in _records(book, "Activities")] == ["CON-0002"]
    assert [r.get("Lead") for r in _records(book, RESPONSES)] == [None, "CON-0002"]
    issue = next(i for i in outcome.crm.report.issues if i.code == "form_ambiguous")
    assert (issue.tab, issue.row, issue.column, issue.value) == (RESPONSES, 2, "B", "ana@acme.com")
    assert 'may be CON-0001, but Contacts!E2 ("ana@@acme.com") cannot be read' in issue.message
    wb = openpyxl.load_workbook(path)
    wb["Contacts"]["E2"] = "ana@acme.com"
    wb.save(path)
    outcome = sync(book, Config(**FORMS), DAY2)
    assert not [i for i in outcome.crm.report.issues if i.code == "form_ambiguous"]
    assert [r.get("Lead") for r in _records(book, RESPONSES)] == ["CON-0001", "CON-0002"]
    assert _records(book, "Leads") == []


def test_a_website_submission_that_may_be_a_half_read_contact_waits_in_the_queue(tmp_path):
    tabs = _form_tabs()
    del tabs[RESPONSES]
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    queue = WebQueue(tmp_path / "web.sqlite3")
    for name, email in (("Ana Ng", "ana@acme.com"), ("Bo Li", "bo@acme.com")):
        queue.put({"email": email, "name": name, "company": "Acme Corp"},
                  dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc))
    batch = WebBatch(queue.waiting())
    outcome = sync(book, Config(), DAY1, web=batch)
    assert [who for _receipt, who, _keys in batch.placed] == ["CON-0002"]
    assert _records(book, "Leads") == []
    issue = next(i for i in outcome.crm.report.issues if i.code == "web_ambiguous")
    assert 'may be CON-0001, but Contacts!E2 ("ana@@acme.com") cannot be read' in issue.message


def test_a_lead_matching_an_account_whose_id_this_sync_hands_out_converts_on_the_next(tmp_path):
    # A person typed the Acme Corp row without an ID: the ids step gives it one in this sync, and
    # that write may not land (a row moved meanwhile), so nothing may name it yet.
    tabs = _tabs()
    tabs["Accounts"][1][0] = None
    tabs["Contacts"] = [tabs["Contacts"][0]]
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    sync(book, Config(), DAY1)
    assert [a["ID"] for a in _records(book, "Accounts")] == ["ACC-0001"]
    assert "Converted Account" not in _records(book, "Leads")[0] and _records(book, "Contacts") == []
    sync(book, Config(), DAY1)
    assert [a["ID"] for a in _records(book, "Accounts")] == ["ACC-0001"]
    lead = _records(book, "Leads")[0]
    assert (lead["Converted Account"], lead["Converted Contact"]) == ("ACC-0001", "CON-0001")


def test_a_matched_contact_whose_account_names_no_account_makes_the_conversion_wait(tmp_path):
    # The contact's Account names nothing (an unknown_account error on its row): it is still Ana
    # Ng, so no second contact; nor is a deal made naming an account that is not there.
    tabs = _tabs()
    tabs["Contacts"][1][1] = "Acme Crop"
    tabs["Leads"][1][3] = None
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    outcome = sync(book, Config(), DAY1)
    assert [c["ID"] for c in _records(book, "Contacts")] == ["CON-0001"]
    assert [a["ID"] for a in _records(book, "Accounts")] == ["ACC-0001"]
    assert "Converted Account" not in _records(book, "Leads")[0]
    issue = next(i for i in outcome.crm.report.issues if i.code == "conversion_waits")
    assert 'row 2 of Contacts is its contact, but its Account ("Acme Crop") does not name one account' in issue.message


def test_the_wait_is_said_in_spanish(tmp_path):
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", _tabs(contact_email="ana@@acme.com")))
    outcome = sync(book, Config(locale="es"), DAY1)
    issue = next(i for i in outcome.crm.report.issues if i.code == "conversion_waits")
    assert ('la fila 2 de Contacts puede ser su contacto, pero su Email ("ana@@acme.com") no se puede leer'
            in issue.message)
