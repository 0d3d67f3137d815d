"""Lead conversion (steps/conversion.py): a Converted status or a Convert tick makes one account,
one contact and one deal, linked from the lead, exactly once, on .xlsx and on Google (the
emulator over HTTP); matching existing records; Spanish; an interrupted or raced write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.crm.conversion import ConversionSettings, Converted
from sheetcrm.crm.kpis import compute_kpis
from sheetcrm.crm.money import Rates
from sheetcrm.crm.stages import StageTable
from sheetcrm.records import Lead
from sheetcrm.settings import ConfigError
from sheetcrm.sync import plan_sync, sync
from sheetcrm.workbook import Plan
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx, xlsx_book
from sheetcrm.report import column_letter as _col_letter
from test_gsheets import Traced

DAY1, DAY2 = dt.date(2026, 11, 23), dt.date(2026, 11, 24)


def _tabs():
    return {
        "Accounts": [["ID", "Name", "Domain", "Country", "Owner"], ["ACC-0001", "Initech", "initech.com", "US", "Sam"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email", "Phone", "Title", "Owner"],
                     ["CON-0001", "ACC-0001", "Bo", "Li", "bo@initech.com", None, None, "Sam"]],
        "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Title", "Source", "Campaign",
                   "Status", "Owner", "Created", "Amount", "Website", "Country", "Convert", None, "Notes"],
                  ["LEAD-0001", "Ana", "Ng", "Acme", "ana@acme.com", "555-1", "CTO", "Web", "Spring", "Qualified",
                   "Eva", "2026-11-03", 5000, "https://www.acme.com/", "ES", "yes", None, "call back"],
                  ["LEAD-0002", "Bo", "Li", "Initech", "BO@initech.com ", None, None, "Fair", None, "New", "Sam",
                   "2026-11-01", None, None, None, None, None, None]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Close Date", "Created",
                           "Source", "Campaign"]],
        "Activities": [["ID", "Date", "Type", "Related"], ["ACT-0001", "2026-11-02", "Call", "LEAD-0001"]],
    }


def _xlsx(tmp_path, tabs, formula=True):
    # A person's formula beside the lead: kept.
    return xlsx_book(tmp_path / "crm.xlsx", tabs, cells={("Leads", "Q2"): "=LEN(D2)"} if formula else None)


def _rows(book, tab):
    return [[None if v == "" else v for v in r] for r in book.read().tabs[tab].rows]


def _records(book, tab):
    rows = _rows(book, tab)
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]


def _as_date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, (int, float)):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(v))
    return v


@pytest.fixture(params=["xlsx", "google"])
def book(request, tmp_path):
    if request.param == "xlsx":
        return _xlsx(tmp_path, _tabs())
    server = request.getfixturevalue("emu")
    key = server.create_spreadsheet("CRM", _tabs())
    return Traced(key).book


def test_a_conversion_creates_and_links_one_account_contact_and_opportunity_once(book):
    before = {tab: _rows(book, tab) for tab in ("Accounts", "Contacts", "Leads", "Opportunities", "Activities")}
    sync(book, Config(), DAY1)

    accounts, contacts, deals = _records(book, "Accounts"), _records(book, "Contacts"), _records(book, "Opportunities")
    assert [a["ID"] for a in accounts] == ["ACC-0001", "ACC-0002"]
    assert {k: accounts[1][k] for k in ("Name", "Domain", "Country", "Owner", "From Lead")} == {
        "Name": "Acme", "Domain": "acme.com", "Country": "ES", "Owner": "Eva", "From Lead": "LEAD-0001"}
    assert [c["ID"] for c in contacts] == ["CON-0001", "CON-0002"]
    assert {k: contacts[1][k] for k in ("Account", "First Name", "Last Name", "Email", "Phone", "Title", "From Lead")} == {
        "Account": "ACC-0002", "First Name": "Ana", "Last Name": "Ng", "Email": "ana@acme.com", "Phone": "555-1",
        "Title": "CTO", "From Lead": "LEAD-0001"}
    assert len(deals) == 1
    deal = deals[0]
    assert {k: deal[k] for k in ("ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Source",
                                 "Campaign", "From Lead")} == {
        "ID": "OPP-0001", "Name": "Acme – Ana Ng", "Account": "ACC-0002", "Contact": "CON-0002", "Owner": "Eva",
        "Stage": "Prospecting", "Amount": 5000, "Source": "Web", "Campaign": "Spring", "From Lead": "LEAD-0001"}
    assert _as_date(deal["Close Date"]) == DAY1 + dt.timedelta(days=30) and _as_date(deal["Created"]) == DAY1
    assert deal["Probability %"] == pytest.approx(0.1)  # the new deal is computed in the same sync
    lead = _records(book, "Leads")[0]
    assert (lead["Converted Account"], lead["Converted Contact"], lead["Converted Opportunity"]) == (
        "ACC-0002", "CON-0002", "OPP-0001")
    assert _as_date(lead["Converted On"]) == DAY1
    # The lead that was not asked to convert is untouched; so is every cell a person wrote.
    assert _records(book, "Leads")[1].get("Converted Account") is None
    after = {tab: _rows(book, tab) for tab in before}
    for tab, rows in before.items():
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                assert after[tab][r][c] == value or (value is None and r == 0), (tab, r, c)
    if isinstance(book, XlsxWorkbook):
        assert openpyxl.load_workbook(book.path)["Leads"]["Q2"].value == "=LEN(D2)"

    # Once: the next sync, with nothing edited, writes nothing at all.
    second = sync(book, Config(), DAY1)
    assert second.result is None and not second.plan.writes
    assert len(_records(book, "Opportunities")) == 1 and len(_records(book, "Accounts")) == 2


def test_matching_an_existing_account_and_contact_creates_none():
    book = MemoryWorkbook(_tabs())
    sync(book, Config(), DAY1)  # LEAD-0002 is logged as New
    book.tabs["Leads"][2][9] = "Converted"  # ... and becomes Converted: a conversion
    sync(book, Config(), DAY2)
    assert len(_records(book, "Accounts")) == 2 and len(_records(book, "Contacts")) == 2  # LEAD-0001's only
    lead = _records(book, "Leads")[1]
    # Its email matches CON-0001 (case and spaces aside), whose account is ACC-0001; no deal is named.
    assert (lead["Converted Account"], lead["Converted Contact"], lead["Converted Opportunity"]) == (
        "ACC-0001", "CON-0001", None)
    assert lead["Converted On"] == DAY2
    assert not sync(book, Config(), DAY2).plan.writes


def test_a_lead_first_seen_converted_is_history_not_a_request():
    tabs = _tabs()
    tabs["Leads"][1][9], tabs["Leads"][1][15] = "Converted", None  # old data: converted before sheetcrm
    book = MemoryWorkbook(tabs)
    sync(book, Config(), DAY1)
    assert len(_records(book, "Accounts")) == 1 and len(_records(book, "Opportunities")) == 0


def test_a_spanish_workbook_converts_with_spanish_headers(tmp_path):
    tabs = {
        "Cuentas": [["ID", "Nombre", "País"]],
        "Contactos": [["ID", "Cuenta", "Nombre", "Apellido", "Correo"]],
        "Leads": [["ID", "Nombre", "Apellido", "Empresa", "Correo", "Estado", "Importe", "Convertir"],
                  ["LEAD-0001", "Ana", "Ng", "Acme", "ana@acme.es", "Calificado", "1.500,50", "sí"]],
        "Oportunidades": [["ID", "Nombre", "Cuenta", "Contacto", "Etapa", "Importe", "Fecha de cierre"],
                          ["OPP-0001", "Viejo", "Otra", None, "Propuesta", 10, "2026-12-01"]],
    }
    book = _xlsx(tmp_path, tabs, formula=False)
    config = Config(locale="es")
    sync(book, config, DAY1)
    assert _rows(book, "Cuentas")[0][-1] == "Lead de origen" and _rows(book, "Cuentas")[1][:2] == ["ACC-0001", "Acme"]
    deals = _records(book, "Oportunidades")
    assert deals[1]["Nombre"] == "Acme – Ana Ng" and deals[1]["Etapa"] == "Prospección"
    assert deals[1]["Importe"] == pytest.approx(1500.5) and deals[1]["Lead de origen"] == "LEAD-0001"
    lead = _records(book, "Leads")[0]
    assert (lead["Cuenta convertida"], lead["Contacto convertido"], lead["Oportunidad convertida"]) == (
        "ACC-0001", "CON-0001", "OPP-0002")
    assert not sync(book, config, DAY1).plan.writes


def _part(plan: Plan, tabs: set[str]) -> Plan:
    """The writes of `plan` to `tabs`, as if the rest did not land; the Validation tab always
    lands: a real write is one request, so a sync that wrote anything made its own tabs too
    (what tells a later sync that sheetcrm has written this workbook: owned.synced_before)."""
    tabs = tabs | {"Validation"}
    return Plan(new_tabs=[t for t in plan.new_tabs if t in tabs], writes=[w for w in plan.writes if w.tab in tabs],
                mark_owned=[t for t in plan.mark_owned if t in tabs])


@pytest.mark.parametrize("landed", [{"Accounts", "Contacts", "Opportunities", "_sheetcrm"}, {"Accounts"},
                                    {"Accounts", "Contacts"}])
def test_an_interrupted_conversion_completes_without_duplicates(landed):
    book = MemoryWorkbook(_tabs())
    _, _, plan = plan_sync(book.read(), Config(), DAY1)
    book.write(_part(plan, landed))  # the rows landed; the lead's links (and history) did not
    sync(book, Config(), DAY1)
    assert [a["ID"] for a in _records(book, "Accounts")] == ["ACC-0001", "ACC-0002"]
    assert len(_records(book, "Contacts")) == 2 and len(_records(book, "Opportunities")) == 1
    lead = _records(book, "Leads")[0]
    deal = _records(book, "Opportunities")[0]
    assert lead["Converted Account"] == "ACC-0002" and lead["Converted Opportunity"] == deal["ID"]
    assert deal["Account"] == "ACC-0002" and deal["Contact"] == lead["Converted Contact"]
    assert not sync(book, Config(), DAY1).plan.writes


def test_a_row_typed_meanwhile_is_never_overwritten_and_the_conversion_completes_next_sync():
    book = MemoryWorkbook(_tabs())
    _, _, plan = plan_sync(book.read(), Config(), DAY1)
    book.tabs["Contacts"].append([None, None, "Typed", "By Ana"])  # where the new contact would go
    result = book.write(plan)
    assert book.tabs["Contacts"][2][:4] == [None, None, "Typed", "By Ana"]
    skipped = {(w.tab, w.row) for w in result.skipped}
    # The contact was skipped, and with it the deal naming it and the lead's links naming both.
    assert ("Contacts", 3) in skipped and ("Opportunities", 2) in skipped and ("Leads", 2) in skipped
    assert _records(book, "Leads")[0].get("Converted Account") is None
    sync(book, Config(), DAY1)
    contacts = _records(book, "Contacts")
    assert [c["Last Name"] for c in contacts] == ["Li", "By Ana", "Ng"]  # below the typed row
    assert len(_records(book, "Accounts")) == 2 and len(_records(book, "Opportunities")) == 1
    lead = _records(book, "Leads")[0]
    assert lead["Converted Contact"] == contacts[2]["ID"] and lead["Converted Account"] == "ACC-0002"
    ids = [r["ID"] for tab in ("Accounts", "Contacts", "Opportunities") for r in _records(book, tab) if r["ID"]]
    assert len(ids) == len(set(ids))  # no ID handed out twice
    assert not sync(book, Config(), DAY1).plan.writes


def test_activities_are_repointed_to_the_contact_when_configured():
    book = MemoryWorkbook(_tabs())
    config = Config(conversion=ConversionSettings(activities="repoint"))
    sync(book, config, DAY1)
    assert book.tabs["Activities"][1][3] == "CON-0002"
    assert not sync(book, config, DAY1).plan.writes


def _with_tasks():
    """The usual tabs, the lead with two activities and a task, and a task of someone else."""
    tabs = _tabs()
    tabs["Activities"] = [["ID", "Date", "Type", "Subject", "Related", "Owner", "Outcome"],
                          ["ACT-0001", "2026-11-02", "Call", "Intro", "LEAD-0001", "Eva", "Positive"],
                          ["ACT-0002", "2026-11-05", "Meeting", "Demo", "LEAD-0001", "Eva", None],
                          ["ACT-0003", "2026-11-06", "Call", "Other", "LEAD-0002", "Sam", None]]
    tabs["Tasks"] = [["ID", "Due", "Subject", "Related", "Owner", "Status"],
                     ["TSK-0001", "2026-12-01", "Send proposal", "LEAD-0001", "Eva", "Open"],
                     ["TSK-0002", "2026-12-02", "Follow up", "LEAD-0002", "Sam", "Open"]]
    return tabs


@pytest.fixture(params=["xlsx", "google"])
def book_with_tasks(request, tmp_path):
    if request.param == "xlsx":
        return _xlsx(tmp_path, _with_tasks())
    server = request.getfixturevalue("emu")
    return Traced(server.create_spreadsheet("CRM", _with_tasks())).book


@pytest.mark.parametrize("word", ["move", "repoint"])
def test_move_repoints_activities_and_tasks_once(book_with_tasks, word):
    book = book_with_tasks
    config = Config(conversion=ConversionSettings(activities=word))
    sync(book, config, DAY1)
    assert [(a["ID"], a["Related"]) for a in _records(book, "Activities")] == [
        ("ACT-0001", "CON-0002"), ("ACT-0002", "CON-0002"), ("ACT-0003", "LEAD-0002")]
    assert [(t["ID"], t["Related"]) for t in _records(book, "Tasks")] == [
        ("TSK-0001", "CON-0002"), ("TSK-0002", "LEAD-0002")]
    assert not sync(book, config, DAY1).plan.writes


def test_copy_gives_the_contact_a_copy_of_each_activity_once_and_moves_the_tasks(book_with_tasks):
    book = book_with_tasks
    config = Config(conversion=ConversionSettings(activities="copy"))
    before = _rows(book, "Activities")
    sync(book, config, DAY1)
    rows = _rows(book, "Activities")
    head = rows[0]
    assert head[-1] == "Copied From"
    # The originals stay on the lead, every cell as it was; the copies are theirs cell for cell.
    assert [r[:len(before[0])] for r in rows[1:4]] == before[1:]
    assert all(v is None for r in rows[1:4] for v in r[len(before[0]):])
    copies = [dict(zip(head, r)) for r in rows[4:]]
    assert [(c["ID"], c["Related"], c["Copied From"]) for c in copies] == [
        ("ACT-0004", "CON-0002", "ACT-0001"), ("ACT-0005", "CON-0002", "ACT-0002")]
    for copy, original in zip(copies, before[1:3]):
        mine = {k: copy[k] for k in ("Date", "Type", "Subject", "Owner", "Outcome")}
        assert mine == {k: dict(zip(before[0], original)).get(k) for k in mine}
    assert [(t["ID"], t["Related"]) for t in _records(book, "Tasks")] == [
        ("TSK-0001", "CON-0002"), ("TSK-0002", "LEAD-0002")]
    # Once: a second sync writes nothing at all.
    second = sync(book, config, DAY1)
    assert second.result is None and not second.plan.writes
    # An activity logged on the lead afterwards is copied by the next sync, and only it.
    _append(book, "Activities", ["ACT-0006", "2026-11-25", "Email", "Pricing", "LEAD-0001", "Eva", None])
    sync(book, config, DAY2)
    copies = [(a["ID"], a["Copied From"]) for a in _records(book, "Activities") if a.get("Copied From")]
    assert copies == [("ACT-0004", "ACT-0001"), ("ACT-0005", "ACT-0002"), ("ACT-0007", "ACT-0006")]
    assert not sync(book, config, DAY2).plan.writes


def test_a_deleted_copy_is_copied_again_under_a_new_id_never_a_reused_one():
    book = MemoryWorkbook(_with_tasks())
    config = Config(conversion=ConversionSettings(activities="copy"))
    sync(book, config, DAY1)
    last = book.tabs["Activities"].pop()  # a person deletes the copy ACT-0005 (of ACT-0002)
    assert last[0] == "ACT-0005"
    sync(book, config, DAY1)
    copies = [(a["ID"], a["Copied From"]) for a in _records(book, "Activities") if a.get("Copied From")]
    assert copies == [("ACT-0004", "ACT-0001"), ("ACT-0006", "ACT-0002")]  # the sequence moved on


@pytest.mark.parametrize("landed", [
    {"Accounts", "Contacts", "Opportunities", "Activities", "Tasks", "_sheetcrm"},  # all but the lead's links
    {"Accounts", "Contacts", "Opportunities", "_sheetcrm"},                        # the rows, no copy
    {"Accounts", "Contacts", "Opportunities", "Activities"},                       # the copies, not the marks
])
def test_an_interrupted_copy_completes_with_each_activity_copied_once(landed):
    book = MemoryWorkbook(_with_tasks())
    config = Config(conversion=ConversionSettings(activities="copy"))
    _, _, plan = plan_sync(book.read(), config, DAY1)
    book.write(_part(plan, landed))
    sync(book, config, DAY1)
    activities = _records(book, "Activities")
    contact = _records(book, "Leads")[0]["Converted Contact"]
    copies = sorted((a["Copied From"], a["Related"]) for a in activities if a.get("Copied From"))
    assert copies == [("ACT-0001", contact), ("ACT-0002", contact)]
    ids = [a["ID"] for a in activities]
    assert len(ids) == len(set(ids))
    assert [t["Related"] for t in _records(book, "Tasks")] == [contact, "LEAD-0002"]
    assert not sync(book, config, DAY1).plan.writes


def test_copies_wait_for_their_contact_when_a_typed_row_stops_it():
    book = MemoryWorkbook(_with_tasks())
    config = Config(conversion=ConversionSettings(activities="copy"))
    _, _, plan = plan_sync(book.read(), config, DAY1)
    book.tabs["Contacts"].append([None, None, "Typed", "By Ana"])  # where the new contact would go
    result = book.write(plan)
    skipped = {(w.tab, w.row) for w in result.skipped}
    assert ("Contacts", 3) in skipped and ("Activities", 5) in skipped and ("Activities", 6) in skipped
    assert ("Tasks", 2) in skipped  # the task's move waited for the contact too
    assert not any(len(r) > 7 and r[7] for r in book.tabs["Activities"][1:])
    sync(book, config, DAY1)
    contact = _records(book, "Leads")[0]["Converted Contact"]
    assert contact == _records(book, "Contacts")[2]["ID"]
    copies = [(a["Copied From"], a["Related"]) for a in _records(book, "Activities") if a.get("Copied From")]
    assert copies == [("ACT-0001", contact), ("ACT-0002", contact)]
    assert [t["Related"] for t in _records(book, "Tasks")] == [contact, "LEAD-0002"]
    assert not sync(book, config, DAY1).plan.writes


def _append(book, tab, row):
    if isinstance(book, MemoryWorkbook):
        book.tabs[tab].append(row)
    elif isinstance(book, XlsxWorkbook):
        wb = openpyxl.load_workbook(book.path)
        wb[tab].append(row)
        wb.save(book.path)
    else:  # gspread over HTTP to the emulator, as a person's edit in the browser
        at = len(book.read().tabs[tab].rows) + 1
        book.client.open_by_key(book.key).worksheet(tab).update(values=[row], range_name=f"A{at}",
                                                                 value_input_option="USER_ENTERED")


def test_no_opportunity_without_an_amount_or_a_deal_name_unless_always():
    tabs = _tabs()
    tabs["Leads"][1][12] = None
    book = MemoryWorkbook(tabs)
    sync(book, Config(), DAY1)
    assert not _records(book, "Opportunities")
    book = MemoryWorkbook(tabs)
    sync(book, Config(conversion=ConversionSettings(create_opportunity="always")), DAY1)
    assert len(_records(book, "Opportunities")) == 1


def test_a_lead_without_a_company_or_a_match_is_reported_not_converted():
    tabs = _tabs()
    tabs["Leads"][1][3] = None
    tabs["Leads"][1][13] = None
    outcome = sync(MemoryWorkbook(tabs), Config(), DAY1)
    assert [i.row for i in outcome.crm.report.issues if i.code == "conversion_no_company"] == [2]


def test_conversion_kpis_use_the_links():
    leads = [Lead(id="L1", last_name="A", source="Web", status="Qualified", created=dt.date(2026, 11, 1)),
             Lead(id="L2", last_name="B", source="Web", status="New", created=dt.date(2026, 11, 1))]
    links = {"L1": Converted(2, "L1", "ACC-1", None, None, dt.date(2026, 11, 11))}
    kpis = compute_kpis([], [], StageTable.of(Config().stages), Rates("USD", {}), DAY1, leads=leads,
                        conversions=links)
    assert kpis.lead_conversion_by_source["Web"].converted == 1  # its Status never said Converted
    assert kpis.days_to_convert == Decimal(10)


def test_the_conversion_section_is_strict():
    assert _load('[conversion]\nclose_days = 14\nactivities = "repoint"\n').conversion.close_days == 14
    assert _load('[conversion]\nactivities = "copy"\n').conversion.activities == "copy"
    assert _load('[conversion]\nactivities = "move"\n').conversion.moves
    with pytest.raises(ConfigError, match="activities"):
        _load('[conversion]\nactivities = "clone"\n')
    with pytest.raises(ConfigError, match="create_opportunity"):
        _load('[conversion]\ncreate_opportunity = "sometimes"\n')


def _load(text):
    import tempfile
    from pathlib import Path

    from sheetcrm.config import load_config
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "sheetcrm.toml"
        path.write_text(text, encoding="utf-8")
        return load_config(path)


def test_an_ambiguous_conversion_names_the_records_that_match_alike():
    """Two accounts with the same name: the lead is not converted, and the warning says which two
    (issue 14: it said only "several accounts"), so a person knows what to merge or rename."""
    tabs = _tabs()
    tabs["Accounts"] += [["ACC-0002", "Acme", None, "ES", "Eva"], ["ACC-0003", "ACME", None, "ES", "Sam"]]
    tabs["Leads"][1][3], tabs["Leads"][1][13] = "Acme", None
    book = MemoryWorkbook(tabs)
    crm, _results, _plan = plan_sync(book.read(), Config(), DAY1)
    [issue] = [i for i in crm.report.issues if i.code == "conversion_ambiguous"]
    assert issue.value == "LEAD-0001"
    assert "ACC-0002, ACC-0003" in issue.message and "accounts" in issue.message
    crm, _results, _plan = plan_sync(book.read(), Config(locale="es"), DAY1)
    [issue] = [i for i in crm.report.issues if i.code == "conversion_ambiguous"]
    assert "ACC-0002, ACC-0003" in issue.message and "cuentas" in issue.message


@pytest.mark.parametrize("account, company", [("Café Ñandú S.A.", "CAFE NANDU SA "),
                                              ("Cafe Nandu SA", "Café Ñandú, S. A."),
                                              ("J.P. Holdings", "jp holdings")])
def test_an_account_spelled_with_or_without_the_dots_of_its_legal_form_is_the_one_converted_into(account, company):
    """"S.A." folded to "s a" and "SA" to "sa": punctuation alone, which the rule ignores, made
    "CAFE NANDU SA" another company than the account "Café Ñandú S.A.", and the conversion
    silently made a second account beside it. A legal word still tells two companies apart."""
    tabs = _tabs()
    tabs["Accounts"].append(["ACC-0002", account, None, "ES", "Eva"])
    tabs["Leads"][1][3:5], tabs["Leads"][1][13] = [company, "ana.ng@gmail.com"], None  # no domain to go by
    book = MemoryWorkbook(tabs)
    sync(book, Config(), DAY1)
    lead = _records(book, "Leads")[0]
    assert lead["Converted Account"] == "ACC-0002"
    assert [a["ID"] for a in _records(book, "Accounts")] == ["ACC-0001", "ACC-0002"]
    assert _records(book, "Contacts")[-1]["Account"] == "ACC-0002"


@pytest.mark.parametrize("account, company, into", [("Яндекс LLC", "Газпром LLC", "ACC-0003"),
                                                    ("ООО Ромашка", "ооо ромашка", "ACC-0002"),
                                                    ("Łódź Sp. z o.o.", "Lodz Sp. z o.o.", "ACC-0002")])
def test_a_company_named_in_another_script_is_matched_by_its_letters(tmp_path, account, company, into):
    """The name's folding kept only a-z and digits: "Яндекс LLC" and "Газпром LLC" were both
    "llc", and a lead of Газпром converted silently into Яндекс's account (and a lead of the
    account "ООО Ромашка" itself, folded to nothing, made a second one beside it)."""
    tabs = _tabs()
    tabs["Accounts"].append(["ACC-0002", account, None, None, "Eva"])
    tabs["Leads"][1][3:5], tabs["Leads"][1][13:15] = [company, "ana.ng@gmail.com"], [None, None]
    book = _xlsx(tmp_path, tabs)
    sync(book, Config(), DAY1)
    assert _records(book, "Leads")[0]["Converted Account"] == into
    assert [a["Name"] for a in _records(book, "Accounts")][1:] == [account] + ([company] if into == "ACC-0003" else [])
    assert _records(book, "Contacts")[-1]["Account"] == into


def test_a_lead_of_a_known_person_at_another_company_is_not_converted_into_their_old_account(tmp_path):
    """Bo Li, a contact of Initech, comes back as a lead of Globex (Globex's website, his own
    gmail): the conversion matched the contact by email and took the contact's account, so the
    deal "Globex – Bo Li" of 5,000 was Initech's pipeline, with the account Globex right there and
    nothing said. Now it waits with a warning naming both; the lead's Company agreeing with the
    contact's account (or empty) converts as before."""
    tabs = _tabs()
    tabs["Accounts"].append(["ACC-0002", "Globex", "globex.com", "US", "Sam"])
    tabs["Contacts"][1][4] = "bo.li@gmail.com"
    tabs["Leads"][2][3:5] = ["Globex", "bo.li@gmail.com"]
    tabs["Leads"][2][12:16] = [5000, "globex.com", None, "yes"]
    book = _xlsx(tmp_path, tabs)
    crm, _results, _plan = plan_sync(book.read(), Config(locale="es"), DAY1)
    [issue] = [i for i in crm.report.issues if i.code == "conversion_company_differs"]
    assert issue.message == ('Este lead no se puede convertir: es el contacto CON-0001, que está en ACC-0001 '
                             '("Initech"), pero su Empresa es "Globex".')
    outcome = sync(book, Config(), DAY1)
    [issue] = [i for i in outcome.crm.report.issues if i.code == "conversion_company_differs"]
    assert (issue.row, issue.value) == (3, "LEAD-0002")
    bo = _records(book, "Leads")[1]
    assert bo.get("Converted Account") is None
    assert [o["From Lead"] for o in _records(book, "Opportunities")] == ["LEAD-0001"]
    # The person moved: their contact's Account says so, and the lead converts into Globex.
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    wb["Contacts"]["B2"] = "ACC-0002"
    wb.save(tmp_path / "crm.xlsx")
    sync(XlsxWorkbook(tmp_path / "crm.xlsx"), Config(), DAY2)
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    bo = _records(book, "Leads")[1]
    assert (bo["Converted Account"], bo["Converted Contact"]) == ("ACC-0002", "CON-0001")
    assert _records(book, "Opportunities")[-1]["Account"] == "ACC-0002"


def test_a_new_contacts_phone_keeps_the_country_of_its_lead_when_its_account_is_elsewhere(tmp_path):
    """A contact's phone is read in its account's country (contacts have no Country of their
    own): a Spanish lead's "612 345 678" (Country España) converted into Initech, an account in
    the US, became a contact whose Phone read as a US number (none: it is not one), its Spanish
    number lost without a word. Now such a phone is written in international form; one that
    reads alike at its account is copied as typed."""
    tabs = _tabs()
    tabs["Leads"][1][3:6], tabs["Leads"][1][13:15] = ["Initech", "ana@initech.com", "612 345 678"], [None, "España"]
    tabs["Leads"].append(["LEAD-0003", "Al", "Ng", "Initech", "al@initech.com", "(415) 555-0199", None, None, None,
                          "Qualified", "Sam", "2026-11-01", None, None, "USA", "yes", None, None])
    book = _xlsx(tmp_path, tabs)
    sync(book, Config(), DAY1)
    phones = {c["From Lead"]: (c["Account"], c["Phone"]) for c in _records(book, "Contacts") if c.get("From Lead")}
    assert phones == {"LEAD-0001": ("ACC-0001", "+34 612 34 56 78"), "LEAD-0003": ("ACC-0001", "(415) 555-0199")}
    assert _records(book, "Leads")[0]["Phone"] == "612 345 678"  # the lead's cell is the person's


def test_another_legal_form_is_another_company_to_convert_into():
    tabs = _tabs()
    tabs["Accounts"].append(["ACC-0002", "Acme Inc.", None, "ES", "Eva"])
    tabs["Leads"][1][3:5], tabs["Leads"][1][13] = ["ACME CORP", "ana.ng@gmail.com"], None
    book = MemoryWorkbook(tabs)
    sync(book, Config(), DAY1)
    assert _records(book, "Leads")[0]["Converted Account"] == "ACC-0003"


def test_two_leads_of_one_person_ticked_in_one_sync_convert_into_one_contact():
    """The same person twice in Leads (two forms), both ticked: the first made the contact and
    its account, and the second, matching that new contact, waited with a warning that was
    false twice over ("row ? of Contacts is its contact, but its Account ("ACC-0002") does not
    name one account"). It converts in the same sync, into the same contact and account, its
    links landing only with the rows they name."""
    tabs = _tabs()
    tabs["Leads"].append(["LEAD-0003", "Ana", "Ng", "Acme", "ANA@acme.com", None, None, "Fair", None, "New", "Eva",
                          "2026-11-05", None, None, "ES", "x", None, None])
    # A colleague at the company the first made: a new contact of that new account.
    tabs["Leads"].append(["LEAD-0004", "Cy", "Po", "ACME", "cy@acme.com", None, None, "Fair", None, "New", "Eva",
                          "2026-11-05", None, None, "ES", "x", None, None])
    book = MemoryWorkbook(tabs)
    crm, _results, plan = plan_sync(book.read(), Config(), DAY1)
    assert not [i for i in crm.report.issues if i.code == "conversion_waits"]
    account_id = next(w for w in plan.writes if w.tab == "Accounts" and w.value == "ACC-0002")
    contact_id = next(w for w in plan.writes if w.tab == "Contacts" and w.value == "CON-0002")
    link = next(w for w in plan.writes if w.tab == "Leads" and w.row == 4 and w.value == "CON-0002")
    assert link.requires == contact_id.key
    colleague = next(w for w in plan.writes if w.tab == "Contacts" and w.value == "CON-0003")
    assert colleague.requires == account_id.key  # never a contact naming an account that did not land
    sync(book, Config(), DAY1)
    first, _second, again, other = _records(book, "Leads")
    assert (first["Converted Account"], first["Converted Contact"]) == ("ACC-0002", "CON-0002")
    assert (again["Converted Account"], again["Converted Contact"], again["Converted Opportunity"]) == (
        "ACC-0002", "CON-0002", None)
    assert (other["Converted Account"], other["Converted Contact"]) == ("ACC-0002", "CON-0003")
    assert len(_records(book, "Accounts")) == 2 and len(_records(book, "Contacts")) == 3
    assert not sync(book, Config(), DAY1).plan.writes


def test_one_converted_link_retyped_by_name_leaves_the_column_sheetcrms():
    """A person retyped one lead's Converted Account by the account's name. The column then held
    a cell not of an ID's shape, so the read gave the whole column up as the team's and put
    sheetcrm's beside it, empty: every lead's link went unread, and a lead whose deal a person
    had deleted (still converted, its link said missing) was converted again, a second deal.
    The retyped cell is the person's, kept; the column stays sheetcrm's."""
    tabs = _tabs()
    tabs["Accounts"][1][1] = "Initech Corp"
    tabs["Leads"][2][15] = "x"  # Bo converts into CON-0001 and its account
    book = MemoryWorkbook(tabs)
    sync(book, Config(), DAY1)
    leads = book.tabs["Leads"]
    col = leads[0].index("Converted Account")
    assert [r[col] for r in leads[1:3]] == ["ACC-0002", "ACC-0001"]
    leads[2][col] = "Initech Corp"
    opportunities = book.tabs["Opportunities"]
    assert opportunities[1][0] == "OPP-0001"
    del opportunities[1]  # Ana's deal, deleted by a person
    result = sync(book, Config(), DAY2)
    assert not _records(book, "Opportunities")
    assert "Converted Account (sheetcrm)" not in book.tabs["Leads"][0]
    assert book.tabs["Leads"][2][col] == "Initech Corp"
    codes = {(i.code, i.value) for i in result.crm.report.issues}
    assert ("converted_record_missing", "OPP-0001") in codes and ("computed_name_taken", "Converted Account") not in codes
    # The retyped cell is said to be a name, with the ID to type: not "not in Accounts (deleted?)".
    named = [(i.row, i.column, i.message, i.hint) for i in result.crm.report.issues
             if i.code == "converted_record_missing" and i.value == "Initech Corp"]
    assert named == [(3, _col_letter(col + 1), 'this cell holds "Initech Corp", the name of ACC-0001 in Accounts, not its ID: '
                      'the lead is converted, but its link names no record',
                      "type ACC-0001 in this cell: the Converted cells hold IDs")]


def _budget_book(tmp_path, budget, amount=None, currency=None, others=(2000, 3000)):
    """The lead LEAD-0001 asks to convert with `amount` in Amount and `budget` in a Budget column
    of the team's own (a Currency column beside it); the other leads' budgets are `others`."""
    tabs = _tabs()
    leads = tabs["Leads"]
    leads[0] = [*leads[0][:16], "Currency", "Notes", "Budget"]
    leads[1] = [*leads[1][:12], amount, *leads[1][13:16], currency, "call back", budget]
    leads[2] = [*leads[2][:16], None, None, others[0]]
    leads.append(["LEAD-0003", "Cy", "Po", "Globex", "cy@globex.com", None, None, "Web", None, "New", "Sam",
                  "2026-11-02", None, None, None, None, None, None, others[1]])
    tabs["Opportunities"][0].insert(7, "Currency")
    return _xlsx(tmp_path, tabs, formula=False)


@pytest.mark.parametrize("budget, amount, currency", [
    ("8000 EUR", 8000, "EUR"),       # the currency named in the cell is the deal's (it was dropped: USD)
    ("JPY 1.200.000", 1200000, "JPY"),
    (8000, 8000, None),              # a plain number: the lead's Currency, else the base
])
def test_a_budget_is_read_as_money_with_its_currency(tmp_path, budget, amount, currency):
    book = _budget_book(tmp_path, budget)
    outcome = sync(book, Config(), DAY1)
    [deal] = _records(book, "Opportunities")
    assert (deal["Amount"], deal["Currency"], deal["From Lead"]) == (amount, currency, "LEAD-0001")
    assert not [i for i in outcome.crm.report.issues if i.tab == "Leads" and i.row == 2]


@pytest.mark.parametrize("header, budget, amount, currency", [
    ("Budget:", "8000 EUR", 8000, "EUR"),      # a trailing ":" or "*", as headers are read
    ("Presupuesto*", 8000, 8000, None),
    ("Budget (EUR)", 8000, 8000, "EUR"),       # the header's currency, for a cell that names none
    ("Presupuesto (€)", 8000, 8000, "EUR"),
    ("Budget (EUR)", "JPY 9000", 9000, "JPY"),  # the cell's own currency first
])
def test_a_budget_header_is_read_as_headers_are_and_its_bracketed_currency_counts(tmp_path, header, budget, amount,
                                                                                  currency):
    book = _budget_book(tmp_path, budget)
    wb = openpyxl.load_workbook(book.path)
    wb["Leads"]["S1"] = header
    wb.save(book.path)
    outcome = sync(book, Config(), DAY1)
    [deal] = _records(book, "Opportunities")
    assert (deal["Amount"], deal["Currency"], deal["From Lead"]) == (amount, currency, "LEAD-0001")
    assert not [i for i in outcome.crm.report.issues if i.tab == "Leads" and i.row == 2]


def test_a_budget_the_config_types_as_text_is_no_amount(tmp_path):
    book = _budget_book(tmp_path, "Medium")
    config = Config.model_validate({"tabs": {"leads": {"custom_fields": {"Budget": {"type": "text"}}}}})
    outcome = sync(book, config, DAY1)
    assert not _records(book, "Opportunities")  # no Amount, no Deal Name: no deal, as before
    assert _records(book, "Leads")[0]["Converted Account"] == "ACC-0002"
    assert not [i for i in outcome.crm.report.issues if i.code == "conversion_amount_left_empty"]


@pytest.mark.parametrize("budget, amount, currency, locale, why", [
    # Read as 8000 with a warning (could be 8), as the read reads it: never the deal's.
    ("€8.000", None, None, None, '"€8.000" read as 8000; could be 8.'),
    # The config settles a decimal point, but money has no third decimal: 8 or 8000 is not known.
    ("8.000", None, None, "en", '"8.000" read as 8000; could be 8.'),
    # The cell says dollars, the lead's Currency euros.
    ("USD 8000", None, "EUR", None, '"USD 8000" names USD, but the lead\'s Currency is EUR.'),
    # "kr" is a krona or a krone: which, nothing says.
    ("kr 8000", None, None, None, '"kr 8000" could be in SEK, NOK, DKK, ISK.'),
    # The lead's own Amount, doubted as its Budget would be.
    (None, "8.000", None, "en", '"8.000" read as 8000; could be 8.'),
])
def test_a_doubtful_amount_or_budget_leaves_the_new_deals_amount_empty_and_says_so(
        tmp_path, budget, amount, currency, locale, why):
    book = _budget_book(tmp_path, budget, amount, currency)
    config = Config(locale=locale) if locale else Config()
    outcome = sync(book, config, DAY1)
    [deal] = _records(book, "Opportunities")  # the lead says there is a deal: it is made, its Amount left empty
    assert (deal["ID"], deal["Amount"], deal["Currency"], deal["From Lead"]) == ("OPP-0001", None, None, "LEAD-0001")
    assert _records(book, "Leads")[0]["Converted Opportunity"] == "OPP-0001"
    [issue] = [i for i in outcome.crm.report.issues if i.code == "conversion_amount_left_empty"]
    column = "S" if budget is not None else "M"
    assert (issue.severity, issue.tab, issue.row, issue.column) == ("warning", "Leads", 2, column)
    assert why in issue.message and "OPP-0001" in issue.message and "OPP-0001" in issue.hint
    # Converted once; the warning stays until the deal's Amount is filled in.
    again = sync(book, config, DAY1)
    assert [i.row for i in again.crm.report.issues if i.code == "conversion_amount_left_empty"] == [2]
    assert [d["ID"] for d in _records(book, "Opportunities")] == ["OPP-0001"]
    wb = openpyxl.load_workbook(book.path)
    wb["Opportunities"]["H2"], wb["Opportunities"]["I2"] = 8000, "EUR"
    wb.save(book.path)
    third = sync(book, config, DAY1)
    assert not [i for i in third.crm.report.issues if i.code == "conversion_amount_left_empty"]


def test_a_currency_symbol_of_several_currencies_is_not_copied_to_the_deal(tmp_path):
    """A lead's Currency "$" in a EUR team reads as USD with a symbol_guess warning at the lead;
    its deal was made 8,000 USD, a plain code that no later sync doubted. Its Amount and
    Currency are left empty and said, as for a doubted amount."""
    book = _budget_book(tmp_path, None, 8000, "$")
    outcome = sync(book, Config(currency="EUR"), DAY1)
    [deal] = _records(book, "Opportunities")
    assert (deal["Amount"], deal["Currency"], deal["From Lead"]) == (None, None, "LEAD-0001")
    [issue] = [i for i in outcome.crm.report.issues if i.code == "conversion_amount_left_empty"]
    assert (issue.tab, issue.row, issue.column) == ("Leads", 2, "M") and '"$" could be in USD' in issue.message


def test_a_budget_column_the_read_keeps_as_text_gives_no_amount_and_says_so(tmp_path):
    """Sizes more than amounts: the read keeps the Budget column as text, so its "8000" is no
    amount the conversion takes (it would be the one cell of the column read as money); the deal
    is made with its Amount empty and the lead's cell says why (Record.priced's doubt)."""
    book = _budget_book(tmp_path, "8000", others=("Medium", "Large"))
    outcome = sync(book, Config(), DAY1)
    [deal] = _records(book, "Opportunities")
    assert (deal["Amount"], deal["Currency"], deal["From Lead"]) == (None, None, "LEAD-0001")
    [issue] = [i for i in outcome.crm.report.issues if i.code == "conversion_amount_left_empty"]
    assert (issue.tab, issue.row, issue.column) == ("Leads", 2, "S") and "reads as text" in issue.message


def _retype(book: XlsxWorkbook, tab: str, cell: str, value) -> None:
    """A person retypes one cell of the .xlsx (an ID in another case)."""
    wb = openpyxl.load_workbook(book.path)
    wb[tab][cell] = value
    wb.save(book.path)


def test_an_activity_id_retyped_in_another_case_is_not_copied_again(tmp_path):
    """Copied From names an activity as IDs compare (`cells.match_key`): "act-0001" retyped over
    ACT-0001 is the activity its copy ACT-0004 names, not a new one to copy."""
    book = _xlsx(tmp_path, _with_tasks())
    config = Config(conversion=ConversionSettings(activities="copy"))
    sync(book, config, DAY1)
    _retype(book, "Activities", "A2", "act-0001")
    sync(book, config, DAY2)
    copies = [(a["ID"], a["Copied From"]) for a in _records(book, "Activities") if a.get("Copied From")]
    assert copies == [("ACT-0004", "ACT-0001"), ("ACT-0005", "ACT-0002")]


def test_a_lead_id_retyped_in_another_case_finds_the_rows_its_conversion_made(tmp_path):
    """From Lead names a lead as IDs compare: an interrupted conversion (its rows landed, the
    lead's links did not) of a lead whose ID is then retyped "lead-0001" is completed with the
    rows made, never a second account, contact and deal."""
    book = _xlsx(tmp_path, _tabs())
    _, _, plan = plan_sync(book.read(), Config(), DAY1)
    book.write(_part(plan, {"Accounts", "Contacts", "Opportunities", "_sheetcrm"}))
    _retype(book, "Leads", "A2", "lead-0001")
    sync(book, Config(), DAY2)
    assert [a["ID"] for a in _records(book, "Accounts")] == ["ACC-0001", "ACC-0002"]
    assert len(_records(book, "Contacts")) == 2 and len(_records(book, "Opportunities")) == 1
    lead = _records(book, "Leads")[0]
    assert (lead["ID"], lead["Converted Account"], lead["Converted Opportunity"]) == ("lead-0001", "ACC-0002",
                                                                                      "OPP-0001")


def test_a_converted_record_whose_id_is_retyped_in_another_case_is_not_gone(tmp_path):
    """A lead's Converted Account names the account as IDs compare: "acc-0002" retyped over
    ACC-0002 is still there (no converted_record_missing warning)."""
    book = _xlsx(tmp_path, _tabs())
    sync(book, Config(), DAY1)
    _retype(book, "Accounts", "A3", "acc-0002")
    outcome = sync(book, Config(), DAY2)
    assert not [i for i in outcome.crm.report.issues if i.code == "converted_record_missing"]
    assert len(_records(book, "Accounts")) == 2


# --- a Converted cell a person retyped ----------------------------------------------------
# The Converted columns are written once, into empty cells, then read as the record: a link a
# person retyped is kept and read as typed, never put back, and a link unlike the row the
# conversion made (its From Lead names the lead) is said at its cell on every sync.

def _converted(tmp_path):
    book = _xlsx(tmp_path, _tabs(), formula=False)
    sync(book, Config(), DAY1)
    assert not sync(book, Config(), DAY1).plan
    header = _rows(book, "Leads")[0]
    return book, {h: header.index(h) + 1 for h in header if h and h.startswith("Converted")}


def _set(book, cells: dict) -> None:
    wb = openpyxl.load_workbook(book.path)
    for (row, col), value in cells.items():
        wb["Leads"].cell(row, col).value = value
    wb.save(book.path)


def _unlike(outcome) -> list[tuple]:
    return [(i.tab, i.row, i.column, i.header, i.value) for i in outcome.crm.report.issues
            if i.code == "converted_link_differs"]


def test_a_retyped_converted_link_is_kept_read_and_said_every_sync(tmp_path):
    book, col = _converted(tmp_path)
    contact = openpyxl.utils.get_column_letter(col["Converted Contact"])
    _set(book, {(2, col["Converted Contact"]): "CON-0001"})  # Bo at Initech, not the contact it made
    for _ in range(2):
        outcome = sync(book, Config(), DAY2)
        assert _unlike(outcome) == [("Leads", 2, contact, "Converted Contact", "CON-0001")]
        assert not [w for w in outcome.plan.writes if w.tab == "Leads"]
        assert _records(book, "Leads")[0]["Converted Contact"] == "CON-0001"
        assert outcome.crm.inputs.conversions.links[2].contact == "CON-0001"  # read as typed
    # Typed back as the conversion made it: nothing to say.
    _set(book, {(2, col["Converted Contact"]): "CON-0002"})
    assert _unlike(sync(book, Config(), DAY2)) == []


def test_relinking_after_the_converted_account_is_cleared_keeps_the_cells_a_person_filled(tmp_path):
    """Converted Account cleared: the next sync links the rows that name the lead in From Lead
    again, into the empty cells only; a Converted Contact and a Converted On a person typed stay."""
    book, col = _converted(tmp_path)
    _set(book, {(2, col["Converted Account"]): None, (2, col["Converted Contact"]): "CON-0001",
                (2, col["Converted On"]): "2026-11-01"})
    outcome = sync(book, Config(), DAY2)
    lead = _records(book, "Leads")[0]
    assert (lead["Converted Account"], lead["Converted Contact"], lead["Converted Opportunity"],
            lead["Converted On"]) == ("ACC-0002", "CON-0001", "OPP-0001", "2026-11-01")
    letter = openpyxl.utils.get_column_letter(col["Converted Contact"])
    assert _unlike(outcome) == [("Leads", 2, letter, "Converted Contact", "CON-0001")]
    again = sync(book, Config(), DAY2)
    assert not [w for w in again.plan.writes if w.tab == "Leads"]
    assert _unlike(again) == [("Leads", 2, letter, "Converted Contact", "CON-0001")]
    # Both cleared: sheetcrm links what the conversion made again, without a word.
    _set(book, {(2, col["Converted Account"]): None, (2, col["Converted Contact"]): None})
    cleared = sync(book, Config(), DAY2)
    lead = _records(book, "Leads")[0]
    assert (lead["Converted Account"], lead["Converted Contact"]) == ("ACC-0002", "CON-0002")
    assert _unlike(cleared) == []


def test_a_lead_linked_with_no_contact_gets_every_converted_header(tmp_path):
    """A deal whose From Lead names a converted lead records the conversion on the lead with
    no contact: the Converted Contact column still gets its header, between Converted Account
    and Converted Opportunity, not a column with no header a person might type into."""
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name", "Domain"], ["ACC-0001", "Beta", "b.com"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"]],
        "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Created"],
                  ["LEAD-0001", "Bob", "B", "Beta", "b1@x.com", "Converted", dt.date(2026, 3, 2)]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Created", "From Lead"],
                          ["OPP-0001", "d2", "ACC-0001", "Closed Won", 2000, dt.date(2026, 4, 1),
                           dt.date(2026, 3, 3), "LEAD-0001"]],
    })
    for _ in range(2):
        sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 12, 1))
    leads = list(openpyxl.load_workbook(path)["Leads"].iter_rows(values_only=True))
    header = list(leads[0])
    at = header.index("Converted Account")
    assert header[at:at + 4] == ["Converted Account", "Converted Contact", "Converted Opportunity", "Converted On"]
    assert list(leads[1][at:at + 3]) == ["ACC-0001", None, "OPP-0001"]


@pytest.mark.parametrize("locale", ["en", "es"])
def test_a_company_the_conversion_did_not_use_is_said_at_the_leads_company_cell(tmp_path, locale):
    # Ana is a contact of Acmé S.A. (the same email, at its domain), so her lead converts into
    # that account, as documented; her lead's Company "Globex" was dropped without a word.
    es = locale == "es"
    tabs = {
        "Cuentas" if es else "Accounts": [["ID", "Nombre" if es else "Name", "Dominio" if es else "Domain"],
                                          ["ACC-0001", "Acmé S.A.", "acme.es"]],
        "Contactos" if es else "Contacts": [["ID", "Cuenta" if es else "Account", "Nombre" if es else "First Name",
                                             "Apellido" if es else "Last Name", "Correo" if es else "Email"],
                                            ["CON-0001", "ACC-0001", "Ana", "Ruiz", "ana@acme.es"]],
        "Leads": [["ID", "Nombre", "Apellido", "Empresa", "Correo", "Estado", "Convertir"] if es else
                  ["ID", "First Name", "Last Name", "Company", "Email", "Status", "Convert"],
                  ["LEAD-0001", "Ana", "Ruiz", "Globex", "ana@acme.es", "Calificado" if es else "Qualified",
                   "sí" if es else "yes"],
                  ["LEAD-0002", "Eva", "Gil", "ACME SA", "eva@acme.es", "Calificado" if es else "Qualified", ""]],
    }
    book = _xlsx(tmp_path, tabs, formula=False)
    config = Config(locale=locale)

    def said(outcome):
        return [(i.row, i.column, i.value, i.message, i.hint) for i in outcome.crm.report.issues
                if i.code == "conversion_company_not_used"]

    first = sync(book, config, DAY1)
    lead = _records(book, "Leads")[0]
    assert lead["Cuenta convertida" if es else "Converted Account"] == "ACC-0001"   # the rule stands
    assert lead["Empresa" if es else "Company"] == "Globex"                          # the cell is theirs
    [(row, col, value, message, hint)] = said(first)
    assert (row, col, value) == (2, "D", "Globex")
    assert "ACC-0001" in message and '"Globex"' in message and "Globex" in hint
    assert ("otra empresa" in message) if es else ("names another company" in message)
    # Said every sync while it holds, and nothing to write.
    again = sync(book, config, DAY1)
    assert not again.plan.writes and len(said(again)) == 1
    # A Company that names the account ("ACME SA" for Acmé S.A.) is said nowhere.
    wb = openpyxl.load_workbook(book.path)
    wb["Leads"]["G3"] = "sí" if es else "yes"
    wb.save(book.path)
    third = sync(XlsxWorkbook(book.path), config, DAY1)
    assert _records(book, "Leads")[1]["Cuenta convertida" if es else "Converted Account"] == "ACC-0001"
    assert [r[0] for r in said(third)] == [2]
