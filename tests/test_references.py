"""References as people type them: a record with a bad cell is still a record, IDs are whatever
the team typed (numbers from an import, another system's format), and names match as a person
reads them (non-breaking and zero-width spaces, doubled spaces, curly quotes, case)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner

from books import crm_tabs, xlsx_book
from sheetcrm.cli import main
from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Grid, Snapshot
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.xlsx import XlsxWorkbook

from books import xlsx  # noqa: E402


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    # These tests assert English messages; outside a sync the environment's language speaks.
    monkeypatch.setenv("SHEETCRM_LANG", "en")


AS_OF = dt.date(2026, 11, 23)


def snapshot(tabs: dict[str, list[list]]) -> Snapshot:
    return Snapshot({title: Grid(rows) for title, rows in tabs.items()})


def codes(crm, tab: str | None = None) -> set[tuple]:
    return {(i.tab, i.row, i.column, i.code) for i in crm.report.issues
            if tab in (None, i.tab) and i.code != "missing_tab"}


# -- a record with a bad cell ------------------------------------------------------------------

BAD_CELLS = {
    "Accounts": [["ID", "Name", "Employees"],
                 ["ACC-0001", "Acme Corp", 40],
                 ["ACC-0002", "Beta Ltd", "many"]],
    "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                 ["CON-0001", "ACC-0002", "Ana", "Pérez", "ana@beta.example"],
                 ["CON-0002", "Beta Ltd", "Luis", "Gil", "luis@beta.example"],
                 ["CON-0003", "Nobody Inc", "Eva", "Ruiz", "eva@x.example"]],
    "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                      ["OPP-0001", "Good deal", "Acme Corp", "Proposal", 1000, "2026-12-15"],
                      ["OPP-0005", "Beta renewal", "Beta Ltd", "Proposal", 5000, "2026-02-30"],
                      ["OPP-0006", "Beta upsell", "ACC-0002", "Proposal", "lots", "2026-12-20"]],
    "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                   ["ACT-0001", "2026-11-01", "Call", "Renewal", "OPP-0005"]],
}


def test_a_record_with_a_bad_cell_stays_a_reference_target():
    crm = read_crm(snapshot(BAD_CELLS), Config())
    found = codes(crm)
    assert ("Accounts", 3, "C", "bad_integer") in found
    # Its contacts and deals still find it, by ID and by name; only the truly unknown one is an error.
    assert {c for c in found if c[3].startswith("unknown")} == {("Contacts", 4, "B", "unknown_account")}
    assert [r.id for r in crm.find("accounts", "Beta Ltd")] == ["ACC-0002"]
    assert crm.find("accounts", "ACC-0002")[0].target.name == "Beta Ltd"
    # The activity on a deal with a bad Close Date is not "unknown_related".
    assert not any(c[0] == "Activities" for c in found)


def test_a_deal_with_an_unreadable_cell_is_left_out_of_the_totals_and_said_so(tmp_path):
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", BAD_CELLS))
    outcome = sync(book, Config(), as_of=AS_OF)
    issues = {i.code: i for i in outcome.crm.report.issues if i.tab == "Opportunities"}
    assert issues["bad_date"].row == 3 and issues["bad_number"].row == 4
    left_out = issues["left_out"]
    assert left_out.severity == "warning"
    assert "OPP-0005 (row 3)" in left_out.message and "OPP-0006 (row 4)" in left_out.message
    assert "pipeline, forecast and KPIs" in left_out.message
    # Never counted as 0 nor with a guessed value: the pipeline holds the one sound deal.
    [proposal] = [s for s in outcome.results.pipeline if s.stage == "Proposal"]
    assert (proposal.count, proposal.amount) == (1, Decimal(1000))
    assert [o.id for o in outcome.results.opportunities] == ["OPP-0001"]


def test_quote_on_an_opportunity_with_a_bad_cell_says_it_has_errors(tmp_path):
    tabs = crm_tabs()
    tabs["Opportunities"][0].append("Close Date")
    tabs["Opportunities"][1].append("2026-02-30")
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    result = CliRunner().invoke(main, ["quote", "OPP-0001", "--workbook", str(book.path),
                                       "--config", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "OPP-0001 (row 2) has errors" in result.output and "bad_date" in result.output
    assert "no opportunity" not in result.output and not (tmp_path / "out").exists()


def test_quote_finds_an_opportunity_by_a_numeric_id_and_a_name_typed_loosely(tmp_path):
    tabs = crm_tabs()
    tabs["Opportunities"][1][0] = 4563
    tabs["Quote Lines"] = [tabs["Quote Lines"][0], [4563, "P1", 2, "", 10], ["expansion\u00a0", "P2", 3, "", ""]]
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    wb = ["--workbook", str(book.path), "--config", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out")]
    for key in ("4563", "Expansion", "EXPANSION"):
        result = CliRunner().invoke(main, ["quote", key, *wb])
        assert result.exit_code == 0, result.output
        # Both lines found the deal: one by its numeric ID, one by its name with a trailing nbsp.
        assert "4563: preview of Q-2026-0001" in result.output
    [preview] = (tmp_path / "out").glob("4563-*.html")  # named by opportunity and quote version
    html = preview.read_text()
    assert "Licence" in html and "Support" in html


def test_a_quote_line_with_errors_that_names_its_deal_loosely_still_blocks_the_quote(tmp_path):
    tabs = crm_tabs()
    tabs["Quote Lines"].append(["opp-0001\u00a0", "P2", "two", "", ""])
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    result = CliRunner().invoke(main, ["quote", "OPP-0001", "--workbook", str(book.path),
                                       "--config", str(tmp_path / "c.toml"), "--out", str(tmp_path / "out")])
    # The line's own error, at its cell, blocks the quote.
    assert result.exit_code == 1 and "Quote Lines!C4" in result.output and "bad_number" in result.output


# -- names and duplicates as a person reads them -------------------------------------------------

def test_names_pasted_with_invisible_or_curly_characters_match_their_account():
    tabs = {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme Corp"], ["ACC-0002", "O'Brien & Sons"]],
        "Contacts": [["ID", "Account", "Last Name"],
                     ["CON-0001", "Acme\u00a0Corp", "A"],
                     ["CON-0002", "Acme  Corp", "B"],
                     ["CON-0003", "\u200bAcme Corp\u200b", "C"],
                     ["CON-0004", "ACME corp", "D"],
                     ["CON-0005", "O\u2019Brien & Sons", "E"],
                     ["CON-0006", "Acme Co", "F"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount"],
                          ["OPP-0001", "Deal", "acc-0002", "Proposal", 10]],
    }
    crm = read_crm(snapshot(tabs), Config())
    # The unknown account is an error on its contact, who is said to be left out (left_out).
    assert codes(crm) == {("Contacts", 7, "B", "unknown_account"), ("Contacts", None, None, "left_out")}
    # The engine matches exactly, so each reference now holds the text its target is known by.
    assert [c.account for c in crm.records("contacts")][:5] == ["Acme Corp"] * 4 + ["O'Brien & Sons"]
    assert crm.records("opportunities")[0].account == "ACC-0002"


def test_a_name_shared_by_two_accounts_is_ambiguous_not_guessed():
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"], ["ACC-0002", "ACME\u00a0"]],
            "Contacts": [["ID", "Account", "Last Name"], ["CON-0001", "acme", "A"], ["CON-0002", "ACC-0002", "B"]]}
    crm = read_crm(snapshot(tabs), Config())
    [issue] = [i for i in crm.report.issues if i.code != "missing_tab"]
    assert (issue.row, issue.code, issue.severity) == (2, "ambiguous_reference", "warning")
    assert "ACC-0001 (row 2)" in issue.message and "ACC-0002 (row 3)" in issue.message


def test_a_name_missing_only_its_accents_is_not_taken_but_offered_in_the_hint():
    # Two accounts may differ by an accent alone, so "Cafe Nunez" names neither: an error at the
    # cell, as before, whose hint now says which name was meant; a name nothing is like gets
    # the plain hint.
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Café Núñez"], ["ACC-0002", "Coca-Cola"]],
            "Contacts": [["ID", "Account", "Last Name"], ["CON-0001", "Cafe Nunez", "A"], ["CON-0002", "coca cola", "B"],
                         ["CON-0003", "Pepsi", "C"]]}
    crm = read_crm(snapshot(tabs), Config())
    hints = {i.row: i.hint for i in crm.report.issues if i.code == "unknown_account"}
    assert hints == {2: 'Use an account ID or the exact name of an account. Did you mean "Café Núñez"? A reference '
                        'must match its accents and hyphens too.',
                     3: 'Use an account ID or the exact name of an account. Did you mean "Coca-Cola"? A reference '
                        'must match its accents and hyphens too.',
                     4: "Use an account ID or the exact name of an account."}
    assert crm.records("contacts") == []


def test_a_related_typed_as_a_name_is_offered_the_id_not_the_name_it_already_is():
    # Related takes IDs only, so "Acme Corp" there names nothing even when spelled exactly; the
    # hint used to offer "Acme Corp" back ("Did you mean "Acme Corp"?"), a circle. It offers the
    # ID of the record so named, accents forgiven as in the names' hint.
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme Corp"], ["ACC-0002", "Café Núñez"]],
            "Activities": [["ID", "Date", "Related"], ["ACT-0001", "2026-11-20", "Acme Corp"],
                           ["ACT-0002", "2026-11-20", "cafe nunez"], ["ACT-0003", "2026-11-20", "Pepsi"]]}
    crm = read_crm(snapshot(tabs), Config())
    hints = {i.row: i.hint for i in crm.report.issues if i.code == "unknown_related"}
    plain = "Use the ID of a lead, contact, account or opportunity."
    assert hints == {2: plain + ' Did you mean "ACC-0001" (Acme Corp)? This column names a record by its ID, '
                                'not by its name.',
                     3: plain + ' Did you mean "ACC-0002" (Café Núñez)? This column names a record by its ID, '
                                'not by its name.',
                     4: plain}


def test_duplicates_compare_what_a_person_reads():
    tabs = {
        "Accounts": [["ID", "Name"], ["ACC-0001", "A"], ["acc-0001\u00a0", "B"]],
        "Leads": [["ID", "Last Name", "Email"], ["LEAD-0001", "X", "ana@example.com"],
                  ["LEAD-0002", "Y", "\u200bANA@Example.com"]],
        "Products": [["SKU", "Name", "Unit Price"], ["AB 1", "Widget", 10], ["ab\u00a01", "Widget 2", 12],
                     ["AB  1", "Bad price", "free"]],
    }
    found = codes(read_crm(snapshot(tabs), Config()))
    assert ("Accounts", 3, "A", "duplicate_id") in found
    assert ("Leads", 3, "C", "duplicate_email") in found
    # A product row with a bad price still holds its SKU.
    assert {c for c in found if c[3] == "duplicate_sku"} == {("Products", 3, "A", "duplicate_sku"),
                                                             ("Products", 4, "A", "duplicate_sku")}


# -- IDs as people type them ---------------------------------------------------------------------

TYPED_IDS = {
    "Accounts": [["ID", "Name"], [4563, "Acme"], ["X12", "Beta"]],
    "Contacts": [["ID", "Account", "Last Name"], ["CON-0001", 4563, "A"], ["CON-0002", "4563", "B"],
                 ["CON-0003", "x12", "C"]],
    "Opportunities": [["ID", "Name", "Account", "Stage", "Amount"],
                      [4563, "Imported", 4563, "Proposal", 1000],
                      ["OPP-17-B", "Other system", "X12", "Negotiation", 2000],
                      [None, "New one", "Acme", "Proposal", 500],
                      ["opp-0041", "Lowercase", "Acme", "Proposal", 10]],
}


def test_typed_ids_are_kept_matched_as_text_and_warned_once_each():
    crm = read_crm(snapshot(TYPED_IDS), Config())
    found = codes(crm)
    assert not any(c[3].startswith("unknown") for c in found)
    assert {c for c in found if c[3] == "id_pattern"} == {
        ("Accounts", 2, "A", "id_pattern"), ("Accounts", 3, "A", "id_pattern"),
        ("Opportunities", 2, "A", "id_pattern"), ("Opportunities", 3, "A", "id_pattern")}
    assert [r.id for r in crm.find("opportunities", "4563")] == ["4563"]


def test_many_ids_off_the_pattern_are_one_line_past_the_first_three():
    tabs = {"Accounts": [["ID", "Name"]] + [[1000 + i, f"A{i}"] for i in range(50)]}
    issues = [i for i in read_crm(snapshot(tabs), Config()).report.issues if i.code == "id_pattern"]
    assert [i.row for i in issues] == [None, 2, 3, 4]
    assert "47 more IDs" in issues[0].message and "rows 5 to 51" in issues[0].message


def _check_typed_ids_sync(book, first_counts=None, second_counts=None, counts=None):
    first = sync(book, Config(), as_of=AS_OF)
    assert first.result is not None and first.result.skipped == []
    # The new row gets the next ID after the highest of the pattern, whatever its case.
    ids = [r.id for r in first.crm.tables["opportunities"].rows]
    assert ids == ["4563", "OPP-17-B", "OPP-0042", "opp-0041"]
    second = sync(book, Config(), as_of=AS_OF)
    assert not second.plan and second.result is None
    return first


def test_typed_ids_never_skip_a_write_and_a_second_sync_writes_nothing_xlsx(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", TYPED_IDS)
    book = XlsxWorkbook(path)
    first = _check_typed_ids_sync(book)
    assert first.result.written["Opportunities"] > 3
    ws = openpyxl.load_workbook(path)["Opportunities"]
    # The typed IDs are still what the person typed, a number stays a number.
    assert [ws.cell(r, 1).value for r in range(2, 6)] == [4563, "OPP-17-B", "OPP-0042", "opp-0041"]
    assert ws.cell(1, 6).value == "Probability %" and ws.cell(2, 6).value == 0.5  # a fraction, shown as 50.0%



def test_typed_ids_never_skip_a_write_and_cost_no_extra_read_on_google(emu):
    key = emu.create_spreadsheet("CRM", TYPED_IDS)
    trace: list = []
    conn = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None), tracer=trace.append)
    book = GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com")

    def counts():
        reads = sum(1 for t in trace if t.kind == "read")
        return reads, len(trace) - reads

    first = sync(book, Config(), as_of=AS_OF)
    assert first.result.skipped == []
    # metadata + values, the key re-read, the rules under the first guides' dropdowns (a first
    # sync's, once), one batchUpdate, the read-back of where the computed cells landed
    # (docs/concurrency.md); no extra read for skipped writes
    assert counts() == (5, 1)
    trace.clear()
    assert not sync(book, Config(), as_of=AS_OF).plan
    # Built without header names, the backend asks for the number formats of every column
    # holding a fraction, sheetcrm's Probability % among them (one read); built as `sheetcrm`
    # builds it (target.header_tests) it does not (tests/test_formats.py: 2 reads).
    assert counts() == (3, 0)
    values = emu.values(key, "Opportunities")
    assert [row[0] for row in values[1:]] == [4563, "OPP-17-B", "OPP-0042", "opp-0041"]


@pytest.mark.parametrize("clash", [False, True])
def test_an_ambiguous_related_attaches_to_no_record(tmp_path, clash):
    """Numeric IDs from an export shared by two tabs: an activity whose Related is 501 names the
    contact 501 and the deal 501 alike. It is reported as ambiguous and counts for neither: the
    deal's Last Activity and the case's First Response ignore it (they took the date of any
    activity that shares the ID). Without the clash, the same activity still counts."""
    contacts = ["CON-0001", "CON-0002"] if not clash else [501, 777]
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         [contacts[0], "ACC-0001", "Ana", "Ruiz", "ana@acme.example"],
                         [contacts[1], "ACC-0001", "Eva", "Gil", "eva@acme.example"]],
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Created"],
                              [501, "Pilot", "ACC-0001", "Proposal", 1000, dt.datetime(2026, 12, 15),
                               dt.datetime(2026, 10, 1)]],
            "Cases": [["ID", "Account", "Subject", "Priority", "Status", "Opened"],
                      [777, "ACC-0001", "Site down", "Normal", "Open", dt.datetime(2026, 11, 16, 9, 0)]],
            "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                           ["ACT-0001", dt.datetime(2026, 11, 2), "Call", "Early call", "ACC-0001"],
                           ["ACT-0002", dt.datetime(2026, 11, 20), "Call", "About 501", 501],
                           ["ACT-0003", dt.datetime(2026, 11, 18), "Call", "About 777", 777]]}
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    outcome = sync(book, Config(), AS_OF)
    ambiguous = sorted((i.row, i.column) for i in outcome.crm.report.issues
                       if i.code == "ambiguous_reference" and i.tab == "Activities")
    assert ambiguous == ([(3, "E"), (4, "E")] if clash else [])
    wb = openpyxl.load_workbook(book.path)

    def cell(tab, header):
        ws = wb[tab]
        return ws.cell(2, [c.value for c in ws[1]].index(header) + 1).value

    assert cell("Opportunities", "Last Activity") == (None if clash else dt.datetime(2026, 11, 20))
    first = cell("Cases", "First Response")
    assert (first is None) if clash else (first is not None and first.date() == dt.date(2026, 11, 18))
    assert [r[4] for r in wb["Activities"].iter_rows(min_row=2, values_only=True)] == ["ACC-0001", 501, 777]


# Each CRM tab with one sound row and one with a bad cell that no figure reads as such (a count,
# a date): every tab whose rows with errors are left out says which, and of what (README).
EVERY_TAB = {
    "Accounts": [["ID", "Name", "Industry", "Employees", "Status"],
                 ["ACC-0001", "Acme", "Retail", 120, "Customer"],
                 ["ACC-0002", "Gamma", "Retail", "abc", "Churned"]],
    "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                 ["CON-0001", "ACC-0001", "Bo", "Li", "bo@acme.com"],
                 ["CON-0002", "ACC-0001", "Cy", "Wu", "cy@@acme"]],
    "Leads": [["ID", "First Name", "Last Name", "Email", "Status", "Created"],
              ["LEAD-0001", "Al", "Ng", "al@x.com", "New", "2026-01-02"],
              ["LEAD-0002", "Di", "Ko", "di@x.com", "New", "soon"]],
    "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                      ["OPP-0001", "Deal", "ACC-0001", "Proposal", 1000, "2026-12-01"],
                      ["OPP-0002", "Other", "ACC-0001", "Proposal", "lots", "2026-12-01"]],
    "Activities": [["ID", "Date", "Type", "Related"],
                   ["ACT-0001", "2026-11-01", "Call", "OPP-0001"],
                   ["ACT-0002", "yesterday-ish", "Call", "OPP-0001"]],
    "Tasks": [["ID", "Due", "Subject", "Related"],
              ["TSK-0001", "2026-12-01", "Call back", "OPP-0001"],
              ["TSK-0002", "someday", "Send deck", "OPP-0001"]],
    "Products": [["SKU", "Name", "Unit Price"], ["P-1", "Widget", 10], ["P-2", "Gadget", "ten"]],
    "Quote Lines": [["Opportunity", "SKU", "Quantity"], ["OPP-0001", "P-1", 2], ["OPP-0001", "P-1", "two"]],
    "Campaigns": [["ID", "Name", "Budget"], ["CMP-0001", "Spring", 500], ["CMP-0002", "Fall", "some"]],
    "Cases": [["ID", "Account", "Subject", "Opened"], ["CASE-0001", "ACC-0001", "Broken", "2026-11-01"],
              ["CASE-0002", "ACC-0001", "Slow", "last week"]],
    "Workflows": [["ID", "Name", "Active", "Record", "When", "Then", "Subject", "Cap"],
                  ["WF-0001", "Follow up", "yes", "opportunities", "created", "task", "Call", 3],
                  ["WF-0002", "Nudge", "yes", "opportunities", "created", "task", "Call", "many"]],
}
LEFT_OUT_OF = {
    "Accounts": ("ACC-0002 (row 3)", "Dashboard, the Accounts Overview and segments"),
    "Contacts": ("CON-0002 (row 3)", "Accounts Overview, segments, Last Activity and quotes"),
    "Leads": ("LEAD-0002 (row 3)", "lead scoring, conversion, the Dashboard, campaigns and segments"),
    "Opportunities": ("OPP-0002 (row 3)", "pipeline, forecast and KPIs, the Accounts Overview"),
    "Activities": ("ACT-0002 (row 3)", "Last Activity, rotting, First Response"),
    "Tasks": ("TSK-0002 (row 3)", "Next Step, overdue tasks on the Dashboard"),
    "Products": ("row 3", "quotes and the Accounts Overview"),
    "Quote Lines": ("row 3", "holds back its deal's quote"),
    "Campaigns": ("CMP-0002 (row 3)", "gets no figures"),
    "Cases": ("CASE-0002 (row 3)", "SLA, the Dashboard, the Accounts Overview and workflows"),
    "Workflows": ("WF-0002 (row 3)", "does not run"),
}


def test_every_tab_says_which_rows_with_errors_it_leaves_out_and_of_what(tmp_path):
    """An account whose Employees reads "abc" left the churn rate, the Accounts Overview and its
    segments with no word but the cell's own error; so did a contact with a bad Email, and any bad
    row of Activities, Tasks, Products, Quote Lines, Campaigns, Cases or Workflows. Each tab now has
    one `left_out` warning naming its rows and what they are out of, on .xlsx, in both languages."""
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", EVERY_TAB))
    outcome = sync(book, Config(), as_of=AS_OF)
    said = {i.tab: i for i in outcome.crm.report.issues if i.code == "left_out"}
    assert set(said) == set(LEFT_OUT_OF)
    for tab, (row, what) in LEFT_OUT_OF.items():
        assert said[tab].severity == "warning" and said[tab].row is None
        assert said[tab].message.startswith("1 ") and row in said[tab].message and what in said[tab].message, tab
    # The figures are what they were: the churn rate of the sound account alone (sound, and said).
    assert outcome.results.kpis.churn_rate == 0
    spanish = read_crm(book.read(), Config(locale="es"))
    said_es = {i.tab: i.message for i in spanish.report.issues if i.code == "left_out"}
    assert said_es["Accounts"] == ("1 cuenta con errores en Accounts queda fuera del Panel, del Resumen de cuentas y "
                                   "de los segmentos hasta que se corrija: ACC-0002 (fila 3).")
    assert said_es["Workflows"].startswith("1 regla de flujo de trabajo con errores en Workflows no se ejecuta")


def test_a_row_with_errors_given_its_id_by_the_sync_is_named_by_it_and_a_second_sync_writes_nothing(tmp_path):
    """The read names a row with errors and no ID "row 3"; the sync then hands it CON-0002. Said
    "row 3" on this sync and "CON-0002 (row 3)" on the next, the second sync rewrote the
    Validation tab for no change: the warning names the ID the sync handed out."""
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
            "Contacts": [["ID", "Account", "Last Name", "Email"], ["CON-0001", "ACC-0001", "Li", "bo@acme.com"],
                         [None, "ACC-0001", "Wu", "cy@@acme"]]}
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    first = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    [said] = [i.message for i in first.crm.report.issues if i.code == "left_out"]
    assert said.endswith("until fixed: CON-0002 (row 3)."), said
    assert not sync(XlsxWorkbook(path), Config(), as_of=AS_OF).plan


def test_a_hint_offering_an_id_the_sync_hands_out_names_it_at_once_and_a_second_sync_writes_nothing(tmp_path):
    """Accounts without IDs yet: the read offers an activity's Related typed as a name no ID,
    and names the two "Beta" rows "row 3, row 4"; the sync then hands out ACC-0001..3. Said so
    on this sync and with the IDs on the next, the second sync rewrote the Validation tab for
    no change: the issues name the IDs the sync handed out."""
    tabs = {"Accounts": [["ID", "Name"], [None, "Acme Corp"], [None, "Beta"], [None, "Beta"]],
            "Contacts": [["ID", "Account", "Last Name"], ["CON-0001", "Beta", "Li"]],
            "Activities": [["ID", "Date", "Related"], ["ACT-0001", "2026-11-20", "Acme Corp"]]}
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    first = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    said = {i.code: (i.message, i.hint) for i in first.crm.report.issues}
    assert 'Did you mean "ACC-0001" (Acme Corp)?' in said["unknown_related"][1], said["unknown_related"]
    assert "ACC-0002 (row 3), ACC-0003 (row 4)" in said["ambiguous_reference"][0], said["ambiguous_reference"]
    assert not sync(XlsxWorkbook(path), Config(), as_of=AS_OF).plan
