"""A Google spreadsheet whose own locale (File > Settings) reads typed dates in another day/month
order than the team's: Google turns "03/04/2026" into a date before sheetcrm reads it, so a date
either order reads is said at its cell, never taken as Google read it. Real gspread over HTTP
against the emulator, which reads typed values in the spreadsheet's locale as Google does."""

from __future__ import annotations

import datetime as dt

from sheetcrm.config import Config
from sheetcrm.plan import CellWrite, Plan
from sheetcrm.sync import sync
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.target import header_tests

AS_OF = dt.date(2026, 3, 1)
CODES = ("date_order_differs", "spreadsheet_locale_differs")


def _sync(emu, spreadsheet_locale: str, team_locale: str | None, head: list[str], tab: str, typed: list[str]):
    """The deals of a sync of a spreadsheet in `spreadsheet_locale` where people typed `typed`
    under Close Date, as a team whose sheetcrm.toml sets `team_locale`; its issues of CODES;
    and the queries of the read requests the sync made."""
    key = emu.create_spreadsheet("CRM", {tab: [head]})
    conn = connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None))
    conn.client.http_client.batch_update(key, {"requests": [{"updateSpreadsheetProperties": {
        "properties": {"locale": spreadsheet_locale}, "fields": "locale"}}]})
    emu.set_values(key, f"{tab}!A2", [["", f"Deal {i}", "Acme", "Proposal", "1000", *([day] if isinstance(day, str) else day)]
                                      for i, day in enumerate(typed)])
    config = Config.model_validate({"locale": team_locale} if team_locale else {})
    since = len(emu.requests)
    out = sync(GoogleSheetsWorkbook(conn.client, key, None, **header_tests(config)), config, as_of=AS_OF)
    deals = {o.name: o.close_date for o in out.results.opportunities}
    issues = [i.as_dict() for i in out.crm.report.issues if i.code in CODES]
    return deals, issues, [str(r.query) for r in emu.requests[since:] if r.method == "GET"]


SPANISH = ["ID", "Nombre", "Cuenta", "Etapa", "Importe", "Fecha de cierre"]
ENGLISH = ["ID", "Name", "Account", "Stage", "Amount", "Close Date"]
TYPED = ["03/04/2026", "13/04/2026", "2026-04-03", "05/05/2026"]


def test_a_spanish_team_s_date_google_read_month_first_is_said_at_the_cell(emu):
    # Renovación, a team's own column, is typed by its cells (dates): the same there.
    renewal = ["03/04/2026", "2026-04-03", "15/04/2026", "2026-05-20"]
    deals, issues, _ = _sync(emu, "en_US", "es", SPANISH + ["Renovación"], "Oportunidades",
                             [[day, other] for day, other in zip(TYPED, renewal)])
    # 03/04/2026 became 4 March in Google: neither reading is taken, so the deal is left out
    # until someone looks. 13/04/2026 stayed text (no 13th month in en_US) and is read day first;
    # 2026-04-03, shown year first, and 05/05/2026, the same either way, are what they say.
    assert deals == {"Deal 1": dt.date(2026, 4, 13), "Deal 2": dt.date(2026, 4, 3), "Deal 3": dt.date(2026, 5, 5)}
    cell = next(i for i in issues if i["code"] == "date_order_differs")
    assert (cell["severity"], cell["tab"], cell["row"], cell["column"], cell["header"], cell["value"]) == (
        "error", "Oportunidades", 2, "F", "Fecha de cierre", "3/4/2026")
    assert "2026-03-04" in cell["message"] and "2026-04-03" in cell["message"] and "en_US" in cell["message"]
    assert "Archivo > Configuración" in cell["hint"] and "2026-12-03" in cell["hint"]  # in the team's language
    own = [(i["row"], i["column"], i["value"]) for i in issues if i["code"] == "date_order_differs" and i["column"] == "G"]
    assert own == [(2, "G", "3/4/2026")]  # 2026-04-03 typed year first is no doubt
    assert [i["code"] for i in issues].count("date_order_differs") == 2
    sheet = [i for i in issues if i["code"] == "spreadsheet_locale_differs"]
    assert len(sheet) == 1 and sheet[0]["tab"] == "Oportunidades" and sheet[0]["value"] == "en_US"


def test_an_english_team_s_date_google_read_day_first_is_said_at_the_cell(emu):
    """The reverse: in an es_ES spreadsheet an English team's 03/04/2026 (4 March) is 3 April."""
    deals, issues, _ = _sync(emu, "es_ES", "en", ENGLISH, "Opportunities", ["03/04/2026", "04/13/2026"])
    assert deals == {"Deal 1": dt.date(2026, 4, 13)}
    cell = next(i for i in issues if i["code"] == "date_order_differs")
    assert (cell["row"], cell["column"], cell["value"]) == (2, "F", "3/4/2026")
    assert "2026-04-03" in cell["message"] and "2026-03-04" in cell["message"] and "File > Settings" in cell["hint"]


def test_a_spreadsheet_in_the_team_s_locale_is_read_as_typed_with_no_extra_request(emu):
    deals, issues, urls = _sync(emu, "es_ES", "es", SPANISH, "Oportunidades", TYPED)
    assert deals == {"Deal 0": dt.date(2026, 4, 3), "Deal 1": dt.date(2026, 4, 13), "Deal 2": dt.date(2026, 4, 3),
                     "Deal 3": dt.date(2026, 5, 5)}
    assert issues == []
    # The date column's formats are read only where the orders differ, and then in the formats
    # read the Amount column (no Currency column) needed anyway: no request more.
    _, _, mismatched = _sync(emu, "en_US", "es", SPANISH, "Oportunidades", TYPED)
    assert len(mismatched) == len(urls)
    assert not any("F1:F5" in u for u in urls) and any("F1:F5" in u for u in mismatched)


def test_dates_no_one_typed_day_month_are_never_doubted(emu):
    """Only a date shown day/month as numbers, in a column whose order is known, can have been
    turned. A team in Spain with English headers and no locale in its config, on its es_ES
    spreadsheet: its dates are Google's own (nothing says the team orders them otherwise), so
    none is refused; and dates written as dates with a year-first format (as sheetcrm writes
    them) on an en_US spreadsheet under a Spanish config are what they say."""
    deals, issues, _ = _sync(emu, "es_ES", None, ENGLISH, "Opportunities", ["03/04/2026", "05/06/2026"])
    assert deals == {"Deal 0": dt.date(2026, 4, 3), "Deal 1": dt.date(2026, 6, 5)}
    assert [i for i in issues if i["code"] == "date_order_differs"] == []
    key = emu.create_spreadsheet("CRM", {"Oportunidades": [SPANISH]})
    conn = connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None))
    config = Config.model_validate({"locale": "es"})
    book = GoogleSheetsWorkbook(conn.client, key, None, **header_tests(config))
    book.write(Plan(writes=[CellWrite("Oportunidades", 2, c, v) for c, v in enumerate(
        ["", "Deal 0", "Acme", "Proposal", 1000, dt.date(2026, 3, 4)], start=1)]))
    out = sync(book, config, as_of=AS_OF)
    assert {o.name: o.close_date for o in out.results.opportunities} == {"Deal 0": dt.date(2026, 3, 4)}
    assert [i.code for i in out.crm.report.issues if i.code == "date_order_differs"] == []


def test_a_quota_month_google_read_in_the_other_order_is_said_at_the_cell(emu):
    """A Spanish team's Quotas Month 01/02/2026 (February) on an en_US spreadsheet is 2 January
    to Google: it counted as January's quota with nothing said. Now it is a date_order_differs
    error at the cell, as any date column's, and the quota counts in no month guessed; a month
    typed year first, or one Google kept as text (15/02/2026), is what it says."""
    key = emu.create_spreadsheet("CRM", {"Opportunities": [ENGLISH], "Quotas": [["Owner", "Month", "Quota"]]})
    conn = connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None))
    conn.client.http_client.batch_update(key, {"requests": [{"updateSpreadsheetProperties": {
        "properties": {"locale": "en_US"}, "fields": "locale"}}]})
    emu.set_values(key, "Opportunities!A2", [["", "Deal", "Acme", "Proposal", "1000", "2026-04-03"]])
    emu.set_values(key, "Quotas!A2", [["Ana", "01/02/2026", "5000"], ["Bob", "2026-03-01", "4000"],
                                      ["Cy", "15/02/2026", "3000"]])
    config = Config.model_validate({"locale": "es"})
    out = sync(GoogleSheetsWorkbook(conn.client, key, None, **header_tests(config)), config, as_of=AS_OF)
    assert [(q.owner, q.month) for q in out.crm.inputs.quotas] == [("Bob", "2026-03"), ("Cy", "2026-02")]
    assert [(u.owner, u.month) for u in out.crm.inputs.unread_quotas] == [("Ana", None)]  # no month guessed
    said = [(i.tab, i.row, i.column, i.value) for i in out.crm.report.issues if i.code == "date_order_differs"]
    assert said == [("Quotas", 2, "B", "1/2/2026")]


def test_spanish_tabs_on_an_en_us_spreadsheet_with_no_locale_in_the_config_are_said(emu):
    """Spanish titles and headers on an en_US spreadsheet, no `locale` in sheetcrm.toml: Google
    stored a typed "1.500" as 1.5 and "03/04/2026" as 4 March, and nothing was said (the check
    ran only when the config set a locale). The workbook's own language stands for the team's;
    in its own locale's spreadsheet nothing is said."""
    _, issues, _ = _sync(emu, "en_US", None, SPANISH, "Oportunidades", ["2026-04-03"])
    [sheet] = [i for i in issues if i["code"] == "spreadsheet_locale_differs"]
    assert (sheet["tab"], sheet["value"]) == ("Oportunidades", "en_US")
    assert "3/12/2026, 1.234,5" in sheet["message"] and "12/3/2026, 1,234.5" in sheet["message"]
    assert "Archivo > Configuración" in sheet["hint"]  # in the workbook's language
    _, same, _ = _sync(emu, "es_ES", None, SPANISH, "Oportunidades", ["2026-04-03"])
    assert same == []


def test_a_text_date_on_an_es_es_spreadsheet_is_not_settled_by_its_locale(emu):
    """A Leads tab (a title both languages share) on an es_ES spreadsheet, no locale in the
    config: "03/04/2027" stored as text (a Plain text cell, or pasted so) beside a date typed
    05/06/2026 that Google read day first. Google reads typed dates in its locale's order, so
    text is exactly what its parser did not read: the spreadsheet's locale says nothing of the
    order it was written in (a column is formatted as text mostly to stop Google turning dates
    written in another order). As an .xlsx's built-in date formats (shown in the reader's own
    order) prove nothing, the text is an ambiguous_date warning with both readings; the typed
    date is read as Google holds it; and no request more is made for it."""
    key = emu.create_spreadsheet("CRM", {"Leads": [["ID", "Company", "Email", "Created"]]})
    conn = connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None))
    conn.client.http_client.batch_update(key, {"requests": [{"updateSpreadsheetProperties": {
        "properties": {"locale": "es_ES"}, "fields": "locale"}}]})
    emu.set_values(key, "Leads!A2", [["", "Acme", "a@acme.com", "03/04/2027"]], value_input="RAW")
    emu.set_values(key, "Leads!A3", [["", "Beta", "b@beta.com", "05/06/2026"]])
    out = sync(GoogleSheetsWorkbook(conn.client, key, None, **header_tests(Config())), Config(), as_of=AS_OF)
    created = {lead.company: lead.created for lead in out.crm.tables["leads"].records}
    assert created["Beta"] == dt.date(2026, 6, 5)
    [said] = [i for i in out.crm.report.issues if i.code == "ambiguous_date"]
    assert (said.tab, said.row, said.column, said.value) == ("Leads", 2, "D", "03/04/2027")
    assert "2027-03-04" in said.message and "2027-04-03" in said.message
    assert created["Acme"] in (dt.date(2027, 3, 4), dt.date(2027, 4, 3))


def test_a_plain_number_in_a_turned_date_column_is_not_said_to_show_a_date_text(emu):
    """No locale in the config, an en_US spreadsheet, a Close Date column whose text date
    (13/04/2026, kept as text by Google) proves day first: the formats are not read, yet the
    plain number 46178.5 typed there got a date_order_differs message claiming the cell shows
    "6/5/2026", a text sheetcrm made up. It now names what it read: the number."""
    deals, issues, _ = _sync(emu, "en_US", None, ENGLISH, "Opportunities", ["13/04/2026", "46178.5"])
    assert deals == {"Deal 0": dt.date(2026, 4, 13)}
    [cell] = [i for i in issues if i["code"] == "date_order_differs"]
    assert (cell["row"], cell["column"], cell["value"]) == (3, "F", 46178.5)
    assert '"6/5/2026"' not in cell["message"] and "6/5/2026" not in str(cell["value"])
    assert cell["message"].startswith("This cell holds \"46178.5\", the date 2026-06-05 to Google")
    assert "2026-05-06" in cell["message"]
