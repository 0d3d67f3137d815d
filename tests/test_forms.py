"""Web-to-lead (issue 13, item 1): each response of a web form's tab becomes one lead, once,
on a real .xlsx file and on Google (gspread over HTTP to the emulator): with a sorted response
tab, an edited answer, a sync cut short, and a person who is already a lead or a contact."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm.config import Config, ConfigError, load_config
from sheetcrm.emulator import Emulator
from sheetcrm.intake.forms import FORM_SUBMITTED, KEY, plan_forms, response_key
from sheetcrm.intake.settings import LeadField
from sheetcrm.records import Lead
from sheetcrm.sync import plan_sync, sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Plan, same_value, serial_number
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.target import header_tests
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx

AS_OF = dt.date(2026, 11, 24)
T1, T2, T3, T4 = (dt.datetime(2026, 11, 23, h, 15, 2) for h in (9, 10, 11, 12))
RESPONSES = "Form Responses 1"
CONFIG = {"forms": {"web": {"tab": RESPONSES, "fields": {"Email Address": "email", "Your name": "name",
                                                          "Company": "company", "Phone number": "phone"}}}}


def _tabs(responses: list[list]) -> dict[str, list[list]]:
    return {
        "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Source", "Status", "Created"],
                  ["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", None, "Referral", "Contacted", "2026-01-05"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email", "Phone"],
                     ["CON-0001", None, "Carl", "Ode", "carl@old.com", "+34 600 111 222"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related", "Owner", "Outcome"],
                       ["ACT-0001", "2026-01-05", "Call", "Intro", "LEAD-0001", "Eve", None]],
        RESPONSES: [["Timestamp", "Email Address", "Your name", "Company", "Phone number"], *responses],
    }


class XlsxBook:
    def __init__(self, tmp_path, tabs):
        self.path = xlsx(tmp_path / "crm.xlsx", tabs)
        self.book = XlsxWorkbook(self.path)

    def rows(self, tab):
        return self.book.read().tabs[tab].rows

    def edit(self, change):
        wb = openpyxl.load_workbook(self.path)
        change(wb)
        wb.save(self.path)

    def append(self, tab, row):
        self.edit(lambda wb: wb[tab].append(row))

    def set(self, tab, row, col, value):
        self.edit(lambda wb: wb[tab].cell(row, col, value))

    def sort(self, tab, col, descending=False):
        def change(wb):
            ws = wb[tab]
            body = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
            body.sort(key=lambda r: r[col] or "", reverse=descending)
            for i, r in enumerate(body, 2):
                for j, v in enumerate(r, 1):
                    ws.cell(i, j).value = v
        self.edit(change)


def _google(value):
    return serial_number(value) if isinstance(value, dt.date) else value


class GoogleBook:
    def __init__(self, emu, tabs):
        self.emu = emu
        self.key = emu.create_spreadsheet("CRM", {t: [[_google(v) for v in r] for r in rows] for t, rows in tabs.items()})
        self.trace = []
        conn = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None), tracer=self.trace.append)
        self.book = GoogleSheetsWorkbook(conn.client, self.key, "sheetcrm@project.iam.gserviceaccount.com",
                                         **header_tests(Config()))

    def rows(self, tab):
        return [[None if v == "" else v for v in r] for r in self.emu.values(self.key, tab)]

    def append(self, tab, row):
        at = len(self.rows(tab)) + 1
        self.emu.set_values(self.key, f"'{tab}'!A{at}", [[_google(v) for v in row]], value_input="RAW")

    def set(self, tab, row, col, value):
        self.emu.set_values(self.key, f"'{tab}'!{chr(64 + col)}{row}", [[value]], value_input="RAW")

    def sort(self, tab, col, descending=False):
        self.emu.sort_rows(self.key, tab, col, descending=descending)

    def counts(self):
        reads = sum(1 for t in self.trace if t.kind == "read")
        return reads, len(self.trace) - reads


@pytest.fixture(params=["xlsx", "google"])
def make(request, tmp_path, monkeypatch):
    if request.param == "xlsx":
        yield lambda tabs: XlsxBook(tmp_path, tabs)
        return
    with Emulator() as emulator:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emulator.host)
        yield lambda tabs: GoogleBook(emulator, tabs)


def config(**changes) -> Config:
    data = {**CONFIG, **changes}
    return Config.model_validate(data)


def _leads(rows):
    return [r for r in rows[1:] if r and r[0]]


def _lead_cells(rows):
    if "Lead" not in rows[0]:
        return {r[2]: None for r in rows[1:]}
    col = rows[0].index("Lead")
    return {r[2]: (r[col] if col < len(r) else None) for r in rows[1:]}


def test_new_responses_become_leads_once(make):
    b = make(_tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None], [T2, "dee@delta.com", "Dee", "Delta", None]]))
    outcome = sync(b.book, config(), as_of=AS_OF)
    leads = _leads(b.rows("Leads"))
    assert [r[:5] for r in leads[1:]] == [["LEAD-0002", "Bob", "Stone", "Beta", "bob@beta.com"],
                                          ["LEAD-0003", None, "Dee", "Delta", "dee@delta.com"]]
    assert [r[6:8] for r in leads[1:]] == [["Web", "New"], ["Web", "New"]]
    assert all(same_value(r[8], T1.date()) for r in leads[1:2]) and same_value(leads[2][8], T2.date())
    assert _lead_cells(b.rows(RESPONSES)) == {"Bob Stone": "LEAD-0002", "Dee": "LEAD-0003"}
    acts = b.rows("Activities")[2:]
    assert [(r[0], r[2], r[4]) for r in acts] == [("ACT-0002", "Form Submitted", "LEAD-0002"),
                                                 ("ACT-0003", "Form Submitted", "LEAD-0003")]
    assert all(KEY.search(r[3]) for r in acts) and same_value(acts[0][1], T1.date())
    assert outcome.crm.report.issues == [] or all(i.tab != RESPONSES for i in outcome.crm.report.issues)
    sync(b.book, config(), as_of=AS_OF)  # the new leads' scores and history
    before = {t: b.rows(t) for t in ("Leads", "Activities", RESPONSES)}
    if isinstance(b, GoogleBook):
        b.trace.clear()
    again = sync(b.book, config(), as_of=AS_OF)
    assert not again.plan and {t: b.rows(t) for t in before} == before
    if isinstance(b, GoogleBook):
        assert b.counts() == (2, 0)  # the read and its check; nothing to write


def test_a_new_response_in_a_sorted_tab_is_the_only_new_lead(make):
    b = make(_tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None], [T2, "dee@delta.com", "Dee", "Delta", None]]))
    sync(b.book, config(), as_of=AS_OF)
    b.append(RESPONSES, [T3, "zoe@zeta.com", "Zoe Park", "Zeta", None])
    b.sort(RESPONSES, 2, descending=True)  # by name, Z→A: the handled rows moved
    sync(b.book, config(), as_of=AS_OF)
    names = [r[2] for r in _leads(b.rows("Leads"))]
    assert names == ["Ruiz", "Stone", "Dee", "Park"]
    assert _lead_cells(b.rows(RESPONSES)) == {"Zoe Park": "LEAD-0004", "Dee": "LEAD-0003", "Bob Stone": "LEAD-0002"}


def test_an_answer_edited_later_changes_nothing(make):
    b = make(_tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None]]))
    sync(b.book, config(), as_of=AS_OF)
    b.set(RESPONSES, 2, 2, "robert@beta.com")
    b.set(RESPONSES, 2, 3, "Robert Stone")
    sync(b.book, config(), as_of=AS_OF)
    assert [r[0] for r in _leads(b.rows("Leads"))] == ["LEAD-0001", "LEAD-0002"]
    assert len(b.rows("Activities")) == 3


@pytest.mark.parametrize("landed", ["lead and activity", "lead only"])
def test_a_sync_cut_short_never_makes_a_second_lead(make, landed):
    b = make(_tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None]]))
    _, _, plan = plan_sync(b.book.read(), config(), AS_OF)
    tabs = {"Leads"} if landed == "lead only" else {"Leads", "Activities"}
    # What got through before the cut: the new rows' writes, not the response's Lead cell.
    b.book.write(Plan(writes=[w for w in plan.writes if w.tab in tabs and w.row > 1]))
    assert [r[0] for r in _leads(b.rows("Leads"))] == ["LEAD-0001", "LEAD-0002"]
    assert _lead_cells(b.rows(RESPONSES)) == {"Bob Stone": None}
    sync(b.book, config(), as_of=AS_OF)
    assert [r[0] for r in _leads(b.rows("Leads"))] == ["LEAD-0001", "LEAD-0002"]
    assert _lead_cells(b.rows(RESPONSES)) == {"Bob Stone": "LEAD-0002"}
    acts = [r for r in b.rows("Activities")[1:] if r[2] == "Form Submitted"]
    assert [r[4] for r in acts] == ["LEAD-0002"]  # one activity, whichever sync wrote it


def test_a_person_already_there_gets_only_the_activity(make):
    b = make(_tabs([[T1, " ANA@acme.com", "Ana Ruiz", "Acme", None],          # the lead, by email
                    [T2, "carl@new.com", "Carl Ode", "Ode SL", "0034600111222"],  # another email: a new lead
                    [T3, None, "Carla Ode", "Ode SL", "+34 600-111-222"],      # the contact, by phone
                    [T4, "ana@acme.com", "Ana R.", "Acme", None]]))            # the lead again
    sync(b.book, config(), as_of=AS_OF)
    assert [r[0] for r in _leads(b.rows("Leads"))] == ["LEAD-0001", "LEAD-0002"]
    assert _lead_cells(b.rows(RESPONSES)) == {"Ana Ruiz": "LEAD-0001", "Carl Ode": "LEAD-0002",
                                              "Carla Ode": "CON-0001", "Ana R.": "LEAD-0001"}
    related = [r[4] for r in b.rows("Activities")[1:] if r[2] == "Form Submitted"]
    assert sorted(related) == ["CON-0001", "LEAD-0001", "LEAD-0001", "LEAD-0002"]
    assert b.rows("Leads")[1][:8] == ["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", None, "Referral",
                                      "Contacted"]  # the lead's own cells are untouched


def test_two_records_that_match_alike_link_to_neither(make):
    """Two contacts with one email (case aside): a response with that email is linked to
    neither (docs/leads.md, "Who is already here"): no lead, no activity, an empty Lead cell and
    a warning at its email cell naming both, until a person tells them apart. A contact and a
    lead with one email are not a tie: the contact is the person."""
    tabs = _tabs([[T1, "bob@acme.example", "R. Smith", "Acme", None],
                  [T2, "ana@acme.com", "Ana Ruiz", "Acme", None]])
    tabs["Contacts"] += [["CON-0002", None, "Bob", "Smith", "bob@acme.example", None],
                         ["CON-0003", None, "Roberta", "Smith", "BOB@acme.example", None],
                         ["CON-0004", None, "Ana", "Ruiz", "ana@acme.com", None]]
    b = make(tabs)
    outcome = sync(b.book, config(), as_of=AS_OF)
    assert _lead_cells(b.rows(RESPONSES)) == {"R. Smith": None, "Ana Ruiz": "CON-0004"}
    assert [r[0] for r in _leads(b.rows("Leads"))] == ["LEAD-0001"]
    assert [r[4] for r in b.rows("Activities")[1:] if r[2] == "Form Submitted"] == ["CON-0004"]
    [issue] = [i for i in outcome.crm.report.issues if i.code == "form_ambiguous"]
    assert (issue.severity, issue.tab, issue.row, issue.column, issue.header, issue.value) == (
        "warning", RESPONSES, 2, "B", "Email Address", "bob@acme.example")
    assert "CON-0002, CON-0003" in issue.message
    assert any("form_ambiguous" in str(r) for r in b.rows("Validation"))
    b.set("Contacts", 4, 5, "roberta@acme.example")  # told apart: the next sync links the response
    outcome = sync(b.book, config(), as_of=AS_OF)
    assert _lead_cells(b.rows(RESPONSES)) == {"R. Smith": "CON-0002", "Ana Ruiz": "CON-0004"}
    assert not [i for i in outcome.crm.report.issues if i.code == "form_ambiguous"]


def test_a_waiting_response_reuses_the_keys_an_earlier_sync_worked_out(make, tmp_path, monkeypatch):
    """A response that waits is looked up again at every sync, against every person in the
    CRM: their keys (every phone parsed and validated) come from the duplicates step's Recall
    the last sync kept, not worked out again; the answer is the same as without the cache."""
    from sheetcrm.crm import duplicates, matching

    tabs = _tabs([[T1, "bob@acme.example", "R. Smith", "Acme", "+34 600 111 222"]])
    tabs["Contacts"] += [["CON-0002", None, "Bob", "Smith", "bob@acme.example", "+34 600 111 333"],
                         ["CON-0003", None, "Roberta", "Smith", "BOB@acme.example", "600 111 444"]]
    b = make(tabs)
    cache = tmp_path / "memo"
    first = sync(b.book, config(), as_of=AS_OF, cache=cache)
    assert [i.code for i in first.crm.report.issues if i.code == "form_ambiguous"] == ["form_ambiguous"]
    worked_out = []
    for module in (duplicates, matching):
        real = module.keys_of
        monkeypatch.setattr(module, "keys_of", lambda e, region, real=real: worked_out.append(e.id) or real(e, region))
    again = sync(b.book, config(), as_of=AS_OF, cache=cache)
    assert worked_out == [""]  # the response's own person only: everyone in the CRM recalled
    plain = sync(b.book, config(), as_of=AS_OF, cache=False)
    assert sorted(set(worked_out)) == ["", "CON-0001", "CON-0002", "CON-0003", "LEAD-0001"]  # the control counts
    assert [i.as_dict() for i in again.crm.report.issues] == [i.as_dict() for i in plain.crm.report.issues]
    assert _lead_cells(b.rows(RESPONSES)) == {"R. Smith": None}


def test_spanish_form_and_workbook(make):
    tabs = {
        "Leads": [["ID", "Nombre", "Apellido", "Empresa", "Correo", "Teléfono", "Origen", "Estado", "Creado"],
                  ["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", None, "Referido", "Nuevo", "05/01/2026"]],
        "Actividades": [["ID", "Fecha", "Tipo", "Asunto", "Relacionado", "Propietario", "Resultado"]],
        "Respuestas de formulario 1": [["Marca temporal", "Dirección de correo electrónico", "Nombre y apellidos",
                                        "Empresa"], [T1, "luis@beta.es", "Luis García López", "Beta SA"],
                                       [T2, "no-es-correo", "Pepe", "Gamma"]],
    }
    b = make(tabs)
    cfg = Config.model_validate({"locale": "es", "forms": {"web": {
        "tab": "Respuestas de formulario 1", "source": "Formulario web",
        "fields": {"Dirección de correo electrónico": "email", "Nombre y apellidos": "name", "Empresa": "company"}}}})
    outcome = sync(b.book, cfg, as_of=AS_OF)
    new = _leads(b.rows("Leads"))[1]
    assert new[:8] == ["LEAD-0002", "Luis", "García López", "Beta SA", "luis@beta.es", None, "Formulario web", "Nuevo"]
    act = b.rows("Actividades")[1]
    assert act[2] == FORM_SUBMITTED["es"] == "Formulario enviado" and act[3].startswith("Respuesta del formulario (web)")
    bad = [i for i in outcome.crm.report.issues if i.tab == "Respuestas de formulario 1"]
    assert [(i.row, i.column, i.code) for i in bad] == [(3, "B", "bad_email")]
    assert "correo" in bad[0].message
    validation = b.rows("Validación")
    assert any("no-es-correo" in str(r) for r in validation)


def test_a_bad_answer_waits_at_its_cell_until_fixed(make):
    b = make(_tabs([[T1, "not-an-email", "Bob Stone", "Beta", None]]))
    outcome = sync(b.book, config(), as_of=AS_OF)
    assert [(i.tab, i.row, i.column, i.code) for i in outcome.crm.report.issues if i.tab == RESPONSES] == [
        (RESPONSES, 2, "B", "bad_email")]
    assert len(_leads(b.rows("Leads"))) == 1
    b.set(RESPONSES, 2, 2, "bob@beta.com")
    sync(b.book, config(), as_of=AS_OF)
    assert [r[4] for r in _leads(b.rows("Leads"))] == ["ana@acme.com", "bob@beta.com"]


def test_sort_between_read_and_write_on_google_puts_each_lead_cell_on_its_response(tmp_path, monkeypatch):
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        b = GoogleBook(emu, _tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None],
                                   [T2, "dee@delta.com", "Dee", "Delta", None],
                                   [T3, "zoe@zeta.com", "Zoe Park", "Zeta", None]]))
        snapshot = b.book.read()
        _, _, plan = plan_sync(snapshot, config(), AS_OF)
        emu.between_requests(lambda e: e.sort_rows(b.key, RESPONSES, 2, descending=True))
        b.book.write(plan)
        cells = _lead_cells(b.rows(RESPONSES))
        leads = {r[0]: r[4] for r in _leads(b.rows("Leads"))}
        emails = {r[2]: r[1] for r in b.rows(RESPONSES)[1:]}
        # Whatever landed sits on its own response; what did not is filled by the next sync.
        assert all(v is None or leads[v] == emails[k] for k, v in cells.items())
        sync(b.book, config(), as_of=AS_OF)
        cells = _lead_cells(b.rows(RESPONSES))
        leads = {r[0]: r[4] for r in _leads(b.rows("Leads"))}
        assert len(leads) == 4 and all(leads[cells[k]] == emails[k] for k in cells)


def test_the_lead_column_is_added_once_and_other_cells_stay(tmp_path):
    b = XlsxBook(tmp_path, _tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None, None, "my note"]]))
    sync(b.book, config(), as_of=AS_OF)
    rows = b.rows(RESPONSES)
    # The person's note in column G is never written over: the Lead column goes after it.
    assert rows[0][7] == "Lead" and rows[1][6] == "my note" and rows[1][7] == "LEAD-0002"
    assert rows[1][:5] == [T1, "bob@beta.com", "Bob Stone", "Beta", None]


def test_config_problems_are_one_line(tmp_path):
    for fields, expected in (({"Q": "nickname"}, "forms.web.fields.Q"), ({}, "forms.web.fields"),
                             ({"A": "email", "B": "email"}, "both fill email")):
        path = tmp_path / "sheetcrm.toml"
        body = ", ".join(f'"{k}" = "{v}"' for k, v in fields.items())
        path.write_text(f'[forms.web]\ntab = "R"\nfields = {{ {body} }}\n', encoding="utf-8")
        with pytest.raises(ConfigError, match=expected) as e:
            load_config(path)
        assert "\n" not in str(e.value)


def test_missing_tab_and_question_are_warnings_not_failures():
    from sheetcrm.workbook import Grid, Snapshot

    cfg = config(forms={"web": {"tab": "Nope", "fields": {"Email": "email"}},
                        "other": {"tab": RESPONSES, "fields": {"Your name": "name", "Shoe size": "title"}}})
    snapshot = Snapshot({t: Grid(rows=r) for t, r in _tabs([[T1, "x@y.com", "Bob Stone", "Beta", None]]).items()})
    crm = read_crm(snapshot, cfg)
    part = plan_forms(snapshot, crm, cfg, {})
    assert [i.code for i in part.issues] == ["form_tab_missing", "form_question_missing"]
    assert part.leads == 1


def test_response_key_is_the_same_for_a_date_and_its_serial_number():
    assert response_key("web", T1, ["a@b.c", "Bob"]) == response_key("web", serial_number(T1), ["a@b.c", "Bob", "x"])
    assert response_key("web", T1, ["a@b.c"]) != response_key("web", T2, ["a@b.c"])
    assert response_key("web", T1, ["a@b.c"]) != response_key("shop", T1, ["a@b.c"])


def test_form_fields_are_lead_fields():
    assert set(LeadField.__args__) - {"name"} <= set(Lead.model_fields)


def test_a_line_break_in_an_answer_is_reported_at_its_cell_and_never_written(make):
    """"Eve\\r\\nBcc: victim@x.example" as a name would split into First/Last Name with a header
    injection in it: an error at its cell, the characters shown, no lead, every sync until
    fixed; a text longer than a cell can hold (Google's cells take 50,000 characters, the
    workbook is kept under Excel's 32,767; an .xlsx cannot hold more) is the same."""
    b = make(_tabs([[T1, "eve@x.example", "Eve\r\nBcc: victim@x.example", "Evil", None],
                    [T2, "bob@beta.com", "Bob Stone", "Beta", None]]))
    google = isinstance(b, GoogleBook)
    if google:
        b.append(RESPONSES, [T3, "long@x.example", "Lon Long", "x" * 40_000, None])
    for _round in range(2):
        outcome = sync(b.book, config(), as_of=AS_OF)
        found = [(i.row, i.column, i.code) for i in outcome.crm.report.issues if i.tab == RESPONSES]
        assert found == [(2, "C", "control_character")] + ([(4, "D", "too_long")] if google else [])
        eve = next(i for i in outcome.crm.report.issues if i.code == "control_character")
        # .xlsx keeps a line break as \n (XML normalises \r\n); Google keeps \r\n: both shown.
        assert '\\u000aBcc: victim@x.example"' in eve.message and "line break" in eve.message
        assert [r[4] for r in _leads(b.rows("Leads"))] == ["ana@acme.com", "bob@beta.com"]


def test_validate_reports_what_sync_reports_for_form_responses(tmp_path):
    """`sheetcrm validate` runs the sync's steps without writing, so a bad email in a form
    response is reported by both, at the same cell (found by m13test: only sync said it)."""
    import json
    import os
    import subprocess
    import sys

    b = XlsxBook(tmp_path, _tabs([[T1, "not-an-email", "Bob Stone", "Beta", None]]))
    (tmp_path / "sheetcrm.toml").write_text(
        '[forms.web]\ntab = "Form Responses 1"\n'
        'fields = { "Email Address" = "email", "Your name" = "name", "Company" = "company" }\n', encoding="utf-8")
    before = b.path.read_bytes()

    def run(*args):
        env = {**os.environ, "LANG": "C"}
        return subprocess.run([sys.executable, "-m", "sheetcrm", *args, "--workbook", b.path.name, "--format", "json"],
                              cwd=tmp_path, capture_output=True, text=True, env=env)

    checked, planned = run("validate"), run("sync", "--dry-run")
    assert checked.returncode == 1 and planned.returncode == 0, (checked.stderr, planned.stderr)

    def cells(out):
        data = json.loads(out.stdout)
        issues = data["issues"] if "issues" in data else data["report"]["issues"]
        return sorted((i["tab"], i["row"], i["column"], i["code"]) for i in issues)

    assert (RESPONSES, 2, "B", "bad_email") in cells(checked)
    assert cells(checked) == cells(planned)
    assert b.path.read_bytes() == before


def test_a_typo_in_a_form_key_names_the_unknown_key(tmp_path):
    path = tmp_path / "sheetcrm.toml"
    path.write_text('[forms.web]\ntab = "R"\nfeilds = { "E" = "email" }\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "forms.web.feilds: unknown key" in str(e.value) and "\n" not in str(e.value)


def test_an_answer_the_leads_tab_has_no_column_for_is_said_not_left_out_quietly():
    """A form (or a website submission) filling a field the Leads tab has no column for: the
    lead was made without it and nothing said so (`append_writes` writes the tab's columns
    only); a website visitor's phone then reached no cell. A warning at the Leads header names
    the column to add, once per field; the lead is still made."""
    from sheetcrm.intake.queue import Submission, WebBatch
    from sheetcrm.workbook import Grid, Snapshot

    tabs = _tabs([[T1, "x@y.com", "Bob Stone", "Beta", "+34 600 999 888"]])
    tabs["Leads"] = [[v for i, v in enumerate(r) if i != 5] for r in tabs["Leads"]]  # no Phone column
    cfg = config(**CONFIG)
    snapshot = Snapshot({t: Grid(rows=r) for t, r in tabs.items()})
    web = WebBatch([Submission(f"{n:012x}", dt.datetime(2026, 11, 23, 9, tzinfo=dt.timezone.utc),
                               {"email": f"w{n}@z.example", "last_name": "Web", "phone": "+34 600 000 00" + str(n)})
                    for n in (1, 2)])
    part = plan_forms(snapshot, read_crm(snapshot, cfg), cfg, {}, web)
    said = [(i.code, i.tab, i.row, i.header) for i in part.issues]
    assert said == [("form_field_no_column", "Leads", 1, "Phone"), ("web_field_no_column", "Leads", 1, "Phone")]
    assert part.leads == 3 and len(web.placed) == 2


def test_a_text_time_reads_in_the_order_the_columns_own_text_times_prove():
    """Times another tool wrote as text: "13/12/2026 10:00:00" proves the column day first, so
    "03/12/2026" is 3 December. Read by the locale alone ("en"), it was 12 March, unsaid, and
    "13/12/2026" no time at all (form_bad_time): no lead."""
    from sheetcrm.workbook import Grid, Snapshot

    tabs = _tabs([["03/12/2026 10:22:01", "new@z.example", "New Person", "Z", None],
                  ["13/12/2026 10:00:00", "other@z.example", "Other Person", "Z", None]])
    cfg = config(**CONFIG)
    snapshot = Snapshot({t: Grid(rows=r) for t, r in tabs.items()})
    part = plan_forms(snapshot, read_crm(snapshot, cfg), cfg, {})
    assert not part.issues and part.leads == 2
    created = [w.value for w in part.writes if w.tab == "Leads" and w.col == 9]
    assert created == [dt.date(2026, 12, 3), dt.date(2026, 12, 13)]


def test_a_response_sent_twice_is_one_response(tmp_path):
    """Submit clicked twice (or the page reloaded) writes two responses of the very same answers
    seconds apart: within 10 minutes (queue.SAME_POST, the website form's rule) the second is
    the first again: its Lead cell names the first's record, and no second activity is made
    (it ran every `form response` workflow rule twice) nor, with no email, a second lead. The
    same answers later than that, or other answers, are a response of their own."""
    again = T1 + dt.timedelta(seconds=4)
    b = XlsxBook(tmp_path, _tabs([[again, None, "Eve Fox", "Fox SA", None],  # sorted newest first
                                  [T1, None, "Eve Fox", "Fox SA", None],
                                  [T1 + dt.timedelta(seconds=2), "bob@beta.com", "Bob Stone", "Beta", None],
                                  [T1 + dt.timedelta(seconds=3), "bob@beta.com", "Bob Stone", "Beta", None]]))
    sync(b.book, config(), as_of=AS_OF)
    assert [r[2:4] for r in _leads(b.rows("Leads"))[1:]] == [["Fox", "Fox SA"], ["Stone", "Beta"]]
    lead_col = b.rows(RESPONSES)[0].index("Lead")
    assert [r[lead_col] for r in b.rows(RESPONSES)[1:]] == ["LEAD-0002", "LEAD-0002", "LEAD-0003", "LEAD-0003"]
    assert sorted(r[4] for r in b.rows("Activities")[1:] if r[2] == "Form Submitted") == ["LEAD-0002", "LEAD-0003"]
    b.append(RESPONSES, [T1 + dt.timedelta(minutes=9), "bob@beta.com", "Bob Stone", "Beta", None])  # next sync
    b.append(RESPONSES, [T1 + dt.timedelta(minutes=30), None, "Eve Fox", "Fox SA", None])  # later: its own
    sync(b.book, config(), as_of=AS_OF)
    assert [r[lead_col] for r in b.rows(RESPONSES)[5:]] == ["LEAD-0003", "LEAD-0004"]
    assert sorted(r[4] for r in b.rows("Activities")[1:] if r[2] == "Form Submitted") == [
        "LEAD-0002", "LEAD-0003", "LEAD-0004"]


def test_a_blank_answer_to_the_source_question_keeps_the_forms_source(tmp_path):
    """A question mapped to `source` ("How did you hear of us?") left blank made a lead with no
    Source, counted under none in the KPIs, instead of the form's configured one; a website
    post with an empty `source` did the same."""
    from sheetcrm.intake.forms import web_lead_values

    tabs = _tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None, None],
                  [T2, "dee@delta.com", "Dee", "Delta", None, "Friend"]])
    tabs[RESPONSES][0].append("How did you hear of us?")
    b = XlsxBook(tmp_path, tabs)
    fields = {**CONFIG["forms"]["web"]["fields"], "How did you hear of us?": "source"}
    sync(b.book, config(forms={"web": {"tab": RESPONSES, "source": "Web form", "fields": fields}}), as_of=AS_OF)
    assert [r[6] for r in _leads(b.rows("Leads"))[1:]] == ["Web form", "Friend"]
    assert web_lead_values({"email": "a@b.com", "source": " "}, "Web", "New", None)["source"] == "Web"


def test_two_forms_over_one_tab_are_a_config_mistake(tmp_path):
    """Two [forms.<name>] sections naming one tab (its name spelled twice, "form responses 1")
    handled each response twice: two activities, and for a person with no email two leads, the
    second's ID over the first's in the Lead cell. The config stops with one line instead; the
    demo's own [forms.web] is not added beside a form of the team's over its tab."""
    from sheetcrm.demo import DemoData
    from sheetcrm.starter import demo_config

    fields = CONFIG["forms"]["web"]["fields"]
    (tmp_path / "sheetcrm.toml").write_text(
        '[forms.web]\ntab = "Form Responses 1"\nfields = { "Email Address" = "email" }\n'
        '[forms.landing]\ntab = "form responses 1"\nfields = { "Email Address" = "email" }\n')
    with pytest.raises(ConfigError, match=r'forms\.landing\.tab: the form web reads the tab "form responses 1"'):
        load_config(tmp_path / "sheetcrm.toml")
    team = config(forms={"landing": {"tab": RESPONSES, "fields": fields}})
    data = DemoData.__new__(DemoData)
    data.forms = config().forms
    assert list(demo_config(team, data).forms) == ["landing"]


def test_a_response_time_written_in_utc_is_the_teams_day(tmp_path):
    """A tool other than Google Forms (a Zapier step, a CSV pasted in) writes the time in UTC,
    "2026-11-30T23:30:00Z": that is 1 December in Madrid, and the lead was Created and its
    activity dated 30 November, the day written."""
    b = XlsxBook(tmp_path, _tabs([["2026-11-30T23:30:00Z", "bob@beta.com", "Bob Stone", "Beta", None]]))
    sync(b.book, config(timezone="Europe/Madrid"), as_of=dt.date(2026, 12, 1))
    assert same_value(_leads(b.rows("Leads"))[1][8], dt.date(2026, 12, 1))
    assert same_value(b.rows("Activities")[2][1], dt.date(2026, 12, 1))


@pytest.mark.parametrize("stamp", ["03/12/2026 10:22:01", "Thu, 03/12/2026 10:22:01"])
def test_a_text_time_in_either_order_waits_until_its_column_or_the_config_says_which(stamp):
    """"03/12/2026 10:22:01", written as text by another tool, alone in its column, with no
    locale in the config: the lead was made Created 12 March (the tabs' language guessed "en"),
    unsaid, though it may be 3 December. It now waits, said at the cell with both readings;
    with `locale` set it is made, read that way. A weekday both are (Thursday) says nothing."""
    from sheetcrm.workbook import Grid, Snapshot

    tabs = _tabs([[stamp, "new@z.example", "New Person", "Z", None],
                  ["2026-12-04 10:00:00", "other@z.example", "Other Person", "Z", None]])
    snapshot = Snapshot({t: Grid(rows=r) for t, r in tabs.items()})
    cfg = config(**CONFIG)
    part = plan_forms(snapshot, read_crm(snapshot, cfg), cfg, {})
    assert part.leads == 1 and [w.value for w in part.writes if w.tab == "Leads" and w.col == 9] == [
        dt.date(2026, 12, 4)]
    [issue] = part.issues
    assert (issue.code, issue.severity, issue.tab, issue.row, issue.column) == (
        "form_time_ambiguous", "error", RESPONSES, 2, "A")
    assert "2026-03-12" in issue.message and "2026-12-03" in issue.message and "locale" in issue.hint
    cfg = config(**CONFIG, locale="es")
    part = plan_forms(snapshot, read_crm(snapshot, cfg), cfg, {})
    assert not part.issues and [w.value for w in part.writes if w.tab == "Leads" and w.col == 9] == [
        dt.date(2026, 12, 3), dt.date(2026, 12, 4)]


def test_a_question_added_again_reads_each_response_in_the_column_it_answered(make):
    """A question deleted and added again in the form keeps its old column, and the new one has
    the same header. Read by the last column alone, Ana's email (answered in the older one) was
    lost: a second lead of a known person, with no email, nothing said. Each response now reads
    the column it answered; one answering both differently waits, an error at its later cell."""
    tabs = _tabs([[T1, "ana@acme.com", "Ana Ruiz", "Acme", None, None],
                  [T2, None, "Bob Stone", "Beta", None, "bob@beta.com"],
                  [T3, "cy@old.com", "Cy Dee", "Ceta", None, "cy@new.com"]])
    tabs[RESPONSES][0] = [*tabs[RESPONSES][0], "Email Address"]
    b = make(tabs)
    outcome = sync(b.book, config(), as_of=AS_OF)
    leads = _leads(b.rows("Leads"))
    assert [r[:5] for r in leads[1:]] == [["LEAD-0002", "Bob", "Stone", "Beta", "bob@beta.com"]]
    assert [(r[2], r[4]) for r in b.rows("Activities")[2:]] == [("Form Submitted", "LEAD-0001"),
                                                                ("Form Submitted", "LEAD-0002")]
    assert _lead_cells(b.rows(RESPONSES)) == {"Ana Ruiz": "LEAD-0001", "Bob Stone": "LEAD-0002", "Cy Dee": None}
    [said] = [i for i in outcome.crm.report.issues if i.code == "form_answers_differ"]
    assert (said.tab, said.row, said.column, said.value) == (RESPONSES, 4, "F", "cy@new.com")
    assert '"cy@old.com"' in said.message and '"cy@new.com"' in said.message


def test_a_whole_name_fills_the_parts_its_own_questions_left_blank(tmp_path):
    """A form asking a whole name and, optionally, a first name: with First name blank, "Bob
    Stone" made a lead with Last Name Stone and no First Name, nothing said (the whole name
    filled only the parts no question was mapped to). It fills the blank parts now, as for a
    website post; an answered First name is kept."""
    tabs = _tabs([])
    tabs[RESPONSES] = [["Timestamp", "First name", "Your name", "Email Address"],
                       [T1, None, "Bob Stone", "bob@beta.com"], [T2, "Robert", "Bob Stone", "rob@beta.com"]]
    b = XlsxBook(tmp_path, tabs)
    fields = {"First name": "first_name", "Your name": "name", "Email Address": "email"}
    sync(b.book, Config.model_validate({"forms": {"web": {"tab": RESPONSES, "fields": fields}}}), as_of=AS_OF)
    assert [r[1:5] for r in _leads(b.rows("Leads"))[1:]] == [["Bob", "Stone", None, "bob@beta.com"],
                                                            ["Robert", "Stone", None, "rob@beta.com"]]


@pytest.mark.parametrize("edit", ["insert", "type", "sort", "delete"])
def test_an_edit_in_the_instant_before_the_batch_never_has_a_new_lead_written_over_a_row(tmp_path, monkeypatch, edit):
    # The key re-read found row 3 of Leads and of Activities empty. In the instant before the
    # batch a person inserts a row above and types into it (Ana's row moves onto row 3), types
    # a row of their own into row 3, sorts the tab, or deletes Ana's row. The new lead's cells
    # used to replace every one of Ana's (ID, name, email, status) on an insert, and the
    # person's typed cells, with nothing said. Rows opened in the batch itself are empty
    # whatever happened before it.
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        b = GoogleBook(emu, _tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None]]))
        _, _, plan = plan_sync(b.book.read(), config(), AS_OF)
        seen: dict[str, list] = {}

        def person(e):
            for tab in ("Leads", "Activities"):
                sheet = e.sheet_id(b.key, tab)
                if edit in ("insert", "delete"):
                    what = "insertDimension" if edit == "insert" else "deleteDimension"
                    e.apply(b.key, [{what: {"range": {"sheetId": sheet, "dimension": "ROWS", "startIndex": 1,
                                                      "endIndex": 2}}}])
                if edit in ("insert", "type"):
                    e.set_values(b.key, f"'{tab}'!A{2 if edit == 'insert' else 3}",
                                 [[None, f"typed into {tab}"]], value_input="RAW")
                if edit == "sort":
                    e.sort_rows(b.key, tab, 2, descending=True)
                seen[tab] = [r for r in b.rows(tab) if any(v is not None for v in r)]

        emu.before_next(":batchUpdate", person)
        b.book.write(plan)
        for tab, new in (("Leads", ["LEAD-0002", "Bob", "Stone", "Beta", "bob@beta.com"]),
                         ("Activities", ["ACT-0002", 46349, "Form Submitted"])):
            rows = [r for r in b.rows(tab) if any(v is not None for v in r)]
            # Every row the person left is there whole, and the new record is one row more.
            assert [r[:5] for r in rows if r[:len(new)] != new] == [r[:5] for r in seen[tab]], tab
            assert [r[:len(new)] for r in rows].count(new) == 1 and len(rows) == len(seen[tab]) + 1, tab
