"""Findings of helper `tryit`: main tried as a demanding new user and as an attacker (issues 9 and 10).

Each test reproduces one finding on real .xlsx files (openpyxl; LibreOffice only where noted) and states the
value a person sees. They FAIL on the commit they were written against; they are meant to pass once fixed.
Ranked by severity in the final report; the number in each test's name is that rank.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    # These tests assert English messages; outside a sync the environment's language speaks.
    monkeypatch.setenv("SHEETCRM_LANG", "en")


AS_OF = dt.date(2026, 12, 15)
ACCOUNTS = [["ID", "Name"], ["ACC-0001", "Acme"]]


def cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def read(path: Path, config: Config | None = None):
    return read_crm(XlsxWorkbook(path).read(), config or Config())


def issues_at(crm, where: str):
    return [i for i in crm.report.issues if i.where() == where]


# --- 1. A currency number format is ignored: the person sees ¥10,000, sheetcrm counts 10,000 USD -----------


def test_1_amount_formatted_as_yen_is_not_counted_as_base_currency(tmp_path):
    """Amount F2 holds the number 10000 with Excel's yen format `[$¥-411]#,##0`: the sheet shows `¥10,000`.
    There is no Currency column; the base currency is USD and Rates says JPY 0.0067. sheetcrm reads 10000 in
    the base currency, silently: the open pipeline is 10,000.00 USD instead of 67.00 (150x too big). A cell's
    currency format is the same kind as `JPY 10,000` typed as text (issue 9, "currency inside the amount")."""
    path = xlsx(tmp_path / "yen.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"],
                          ["", "Tokyo deal", "Acme", "Mia", "Proposal", 10000, "2026-12-20"]],
        "Rates": [["Currency", "Rate"], ["JPY", 0.0067], ["USD", 1]],
    }, formats={("Opportunities", "F2"): "[$¥-411]#,##0"})
    crm = read(path)
    (row,) = crm.tables["opportunities"].rows
    reported = issues_at(crm, "Opportunities!F2")
    assert (row.record is not None and row.record.currency == "JPY") or reported, (
        "¥10,000 read as 10000 USD with nothing reported")
    if row.record is not None and row.record.currency == "JPY":
        outcome = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
        assert outcome.results.kpis.team.open_pipeline == Decimal("67.00")


def test_1_amount_formatted_in_euros_under_a_usd_currency_cell_is_a_conflict(tmp_path):
    """F2 is 1234.5 formatted `#,##0.00 [$€-407]` (the sheet shows `1.234,50 €`) while its Currency cell says
    USD: the same conflict as `€ 1000` typed with Currency USD, which is reported as currency_conflict. Here
    nothing is reported and the deal counts 1,234.50 USD."""
    path = xlsx(tmp_path / "eur.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["", "Berlin deal", "Acme", "Mia", "Proposal", 1234.5, "USD", "2026-12-20"]],
    }, formats={("Opportunities", "F2"): "#,##0.00 [$€-407]"})
    crm = read(path)
    assert [i.code for i in issues_at(crm, "Opportunities!F2")] == ["currency_conflict"]


# --- 2. Totals rows with other labels become records: an ID and computed values are written into them ------


@pytest.mark.parametrize("label", ["Subtotal Q1", "Total pipeline", "Σ"])
def test_2_a_totals_row_is_not_a_record_whatever_its_label_says(tmp_path, label):
    """Rows 2-3 are deals; row 4 holds a label in Name and `=SUM(F2:F3)` in Amount, like `Total` (which is
    recognised). With these labels the row becomes a record: `required` errors, then sync writes OPP-0003 and
    computed values into the totals row (a row that is not a record must get no write)."""
    header = ["Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]
    path = xlsx(tmp_path / "totals.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": [header,
                          ["D1", "Acme", "Mia", "Proposal", 1000, "USD", "2026-12-20"],
                          ["D2", "Acme", "Mia", "Proposal", 2000, "USD", "2026-12-20"],
                          [label, None, None, None, "=SUM(E2:E3)", None, None]],
    })
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    ws = openpyxl.load_workbook(path)["Opportunities"]
    written = [c.value for c in ws[4][7:]]  # the ID column and the computed columns sheetcrm added after G
    assert all(v is None for v in written), f"row 4 ({label!r}) got {written}"


# --- 3. A two-digit-year date is read as 2001, silently ---------------------------------------------------


def test_3_a_two_digit_year_date_is_never_silently_in_2001(tmp_path):
    """Close Date `26-02-01` (a person writing YY-MM-DD means 1 Feb 2026) is read as 2001-02-26 with no
    warning, while `01/02/26` gets an ambiguous_date warning. A deal closing in 2001 drops out of the
    forecast's months without a word."""
    path = xlsx(tmp_path / "yy.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["", "D", "Acme", "Mia", "Proposal", 1000, "USD", "26-02-01"]],
    })
    crm = read(path)
    (row,) = crm.tables["opportunities"].rows
    assert (row.record is not None and row.record.close_date == dt.date(2026, 2, 1)) or issues_at(
        crm, "Opportunities!H2"), f"26-02-01 read as {row.record.close_date if row.record else None}, silently"


# --- 4. A contact with an error is "has no email" in the quote's message ------------------------------------


def test_4_quote_says_the_contact_has_errors_not_that_it_has_no_email(tmp_path):
    """CON-0001 has an Email but no Last Name (a required cell). `quote OPP-0001` says "its contact has no
    email address", which is false and sends the person looking in the wrong cell; issue 9 item 4 asks for
    "CON-0001 (row 2) has errors"."""
    xlsx(tmp_path / "crm.xlsx", {
        "Accounts": ACCOUNTS,
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                     ["CON-0001", "ACC-0001", "Olivia", None, "olivia@acme.example"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "Deal", "ACC-0001", "CON-0001", "Mia", "Proposal", 100, "USD",
                           "2026-12-20"]],
        "Products": [["SKU", "Name", "Unit Price", "Currency"], ["P1", "Widget", 100, "USD"]],
        "Quote Lines": [["Opportunity", "SKU", "Quantity"], ["OPP-0001", "P1", 1]],
    })
    done = cli("quote", "OPP-0001", "--out", "prev", "--workbook", "crm.xlsx", cwd=tmp_path)
    text = done.stdout + done.stderr
    assert done.returncode == 1
    assert "no email" not in text, text
    assert "CON-0001" in text and "error" in text, text


# --- 5. Swiss amounts are rejected ---------------------------------------------------------------------------


def test_5_swiss_apostrophe_grouping_is_read(tmp_path):
    """`CHF 1'234.50` (and with the typographic ’) is how Swiss teams write money; the brief lists it. Today
    every such cell is a bad_number error and the deals are left out of the pipeline."""
    rows = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"],
            ["", "A", "Acme", "Mia", "Proposal", "CHF 1'234.50", "2026-12-20"],
            ["", "B", "Acme", "Mia", "Proposal", "CHF 12\u2019000", "2026-12-20"]]
    crm = read(xlsx(tmp_path / "chf.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows}))
    got = [(r.record.amount, r.record.currency) if r.record else None for r in crm.tables["opportunities"].rows]
    assert got == [(Decimal("1234.50"), "CHF"), (Decimal("12000"), "CHF")]


# --- 6. A Spanish tab title does not make the tab Spanish, though the README says it does -------------------


def test_6_a_spanish_tab_title_reads_dates_day_first(tmp_path):
    """README, "Numbers and dates are read by column": rule 4, "the tab's language: Spanish headers or tab title
    mean es". A tab titled Oportunidades with English headers and no locale reads `01/02/2026` as 2 January
    (month first, with a warning), i.e. as `en`."""
    rows = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
            ["", "Trato", "Acme", "Mia", "Proposal", 1000, "EUR", "01/02/2026"]]
    crm = read(xlsx(tmp_path / "es.xlsx", {"Cuentas": ACCOUNTS, "Oportunidades": rows}))
    (row,) = crm.tables["opportunities"].rows
    assert row.record.close_date == dt.date(2026, 2, 1)


# --- 7. Small things a new user sees ----------------------------------------------------------------------------


def test_7_left_out_warning_has_a_correct_singular(tmp_path):
    """`1 opportunitie with errors is left out of ...`: removesuffix("s") on "Opportunities"."""
    rows = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
            ["", "D", "Acme", "Mia", "Proposal", "many", "USD", "2026-12-20"]]
    crm = read(xlsx(tmp_path / "one.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows}))
    (left_out,) = [i for i in crm.report.issues if i.code == "left_out"]
    assert "opportunitie " not in left_out.message and left_out.message.startswith("1 opportunity ")


def test_7_a_temp_file_of_an_interrupted_save_is_removed_by_the_next_command_even_read_only(tmp_path):
    """A `kill -9` of a sync during its save leaves `.w.xlsx.<random>.tmp` (reproduced on a 20k-row demo).
    Issue 10: "Temp files from an interrupted save are removed by the next command". `sync` removes it;
    `validate`, `kpis`, `forecast` do not (a person running only reports keeps the stray file for good)."""
    xlsx(tmp_path / "w.xlsx", {"Accounts": ACCOUNTS})
    stray = tmp_path / ".w.xlsx.1r5d_gk5.tmp"
    stray.write_bytes(b"PK\x03\x04 half a workbook")
    done = cli("validate", "--workbook", "w.xlsx", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert not stray.exists()


def test_7_init_refused_by_a_lock_writes_no_config(tmp_path):
    """With LibreOffice's `.~lock.team.xlsx#` beside the workbook, `init --workbook team.xlsx` prints
    "wrote sheetcrm.toml" and then refuses with exit 2: half an init."""
    xlsx(tmp_path / "team.xlsx", {"Accounts": ACCOUNTS})
    (tmp_path / ".~lock.team.xlsx#").write_text("x")
    done = cli("init", "--workbook", "team.xlsx", cwd=tmp_path)
    assert done.returncode == 2
    assert not (tmp_path / "sheetcrm.toml").exists(), done.stdout


def test_7_quote_messages_escape_control_characters_like_every_other_output(tmp_path):
    """README: control characters are printed as `\\u001b`-style escapes (one convention, commit 20c67b5).
    `quote`'s unsafe_header message prints Python's repr instead: `'Deal\\x1b]0;pwned\\x07'`."""
    xlsx(tmp_path / "crm.xlsx", {
        "Accounts": ACCOUNTS,
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                     ["CON-0001", "ACC-0001", "Olivia", "Navarro", "olivia@acme.example"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "Deal_x001B_]0;pwned_x0007_", "ACC-0001", "CON-0001", "Mia", "Proposal", 100,
                           "USD", "2026-12-20"]],
        "Products": [["SKU", "Name", "Unit Price", "Currency"], ["P1", "Widget", 100, "USD"]],
        "Quote Lines": [["Opportunity", "SKU", "Quantity"], ["OPP-0001", "P1", 1]],
    })
    done = cli("quote", "OPP-0001", "--out", "prev", "--workbook", "crm.xlsx", cwd=tmp_path)
    text = done.stdout + done.stderr
    assert "\x1b" not in text and "\x07" not in text  # holds today: nothing raw reaches the terminal
    assert "\\u001b" in text and "\\x1b" not in text, text


# --- 2, more of the kind: labels, currency codes, typed sums; and records that only look like totals -----------


@pytest.mark.parametrize("row", [
    ["Totales:", None, None, None, "=SUM(E2:E3)", "USD", None],         # a currency code beside the sum
    [None, None, None, None, 3000, "EUR", None, "Grand Total"],          # label outside the CRM columns, typed sum
    ["Suma del trimestre", None, None, None, 3000, None, None],          # Spanish, a typed number
    ["∑", None, None, None, "=SUM(E2:E3)", None, None],
    ["Total", None, None, None, None, None, None],                       # a bare label, nothing summed
])
def test_2_totals_rows_of_every_shape_are_not_records(tmp_path, row):
    header = ["Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]
    path = xlsx(tmp_path / "totals.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": [header, ["D1", "Acme", "Mia", "Proposal", 1000, "EUR", "2026-12-20"],
                          ["D2", "Acme", "Mia", "Proposal", 2000, "EUR", "2026-12-20"], row],
    })
    crm = read(path)
    assert [r.row for r in crm.tables["opportunities"].rows] == [2, 3]
    assert not [i for i in crm.report.issues if i.row == 4]
    before = [c.value for c in openpyxl.load_workbook(path)["Opportunities"][4]]
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    after = [c.value for c in openpyxl.load_workbook(path)["Opportunities"][4]]
    assert after[:len(before)] == before and all(v is None for v in after[len(before):])


@pytest.mark.parametrize("row", [
    ["Total Solutions renewal", "Acme", "Mia", "Proposal", 1000, "USD", "2026-12-20"],  # a deal named Total...
    ["Summit", None, None, None, 3000, None, None],                                     # not a totals word
    ["Total Solutions", None, None, None, None, None, None],                            # no sum beside it
])
def test_2_rows_that_only_look_like_totals_stay_records(tmp_path, row):
    header = ["Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]
    path = xlsx(tmp_path / "deal.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": [header, ["D1", "Acme", "Mia", "Proposal", 1000, "USD", "2026-12-20"], row],
    })
    assert [r.row for r in read(path).tables["opportunities"].rows] == [2, 3]


def test_2_totals_row_on_google_gets_no_id(monkeypatch):
    """On Google a formula arrives as its value (3000): the same rule, the same result."""
    from sheetcrm.emulator import Emulator
    from sheetcrm.workbook.target import open_workbook

    header = ["Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", {
            "Accounts": ACCOUNTS,
            "Opportunities": [header, ["D1", "Acme", "Mia", "Proposal", 1000, "USD", "2026-12-20"],
                              ["D2", "Acme", "Mia", "Proposal", 2000, "USD", "2026-12-20"],
                              ["Subtotal Q1", "", "", "", "=SUM(E2:E3)", "USD", ""]]}, value_input="USER_ENTERED")
        sync(open_workbook(Config(), spreadsheet=key), Config(), as_of=AS_OF)
        rows = emu.values(key, "Opportunities")
        assert rows[1][7] == "OPP-0001" and rows[2][7] == "OPP-0002"
        assert rows[3][:6] == ["Subtotal Q1", "", "", "", 3000, "USD"] and not any(rows[3][6:])


# --- 3, the kind: where a two-digit year stands is a column convention, never a silent guess ------------------


@pytest.mark.parametrize("cells_in, expected, warned", [
    (["26-02-01"], [dt.date(2001, 2, 26)], [0]),                     # both positions read it: warned
    (["26-02-01", "45-03-01"], [dt.date(2026, 2, 1), dt.date(2045, 3, 1)], []),  # a 45th day: year first
    # Dots are day first (aa061484): "03.15.24" has no 15th month, a bad_date, and proves nothing of
    # the year's place, so "26.02.01" reads year last with both readings said.
    (["26.02.01", "03.15.24"], [dt.date(2001, 2, 26), None], [0]),
    (["15/03/24", "28/02/25"], [dt.date(2024, 3, 15), dt.date(2025, 2, 28)], [0, 1]),
    (["13/02/2026", "05/06/24"], [dt.date(2026, 2, 13), dt.date(2024, 6, 5)], [1]),
])
def test_3_two_digit_years_are_read_by_the_column_and_reported(tmp_path, cells_in, expected, warned):
    rows = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]]
    rows += [["", f"D{i}", "Acme", "Mia", "Proposal", 1000, "USD", c] for i, c in enumerate(cells_in)]
    crm = read(xlsx(tmp_path / "yy.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows}))
    got = [r.record.close_date if r.record else None for r in crm.tables["opportunities"].rows]
    assert got == expected
    warnings = [i.row - 2 for i in crm.report.issues if i.column == "H" and i.code == "ambiguous_date"]
    assert warnings == warned
    for issue in crm.report.issues:
        if issue.column == "H" and issue.code == "ambiguous_date" and "two-digit" in issue.message:
            assert "could be" in issue.message


def test_4_a_quote_names_the_contacts_errors_and_an_unknown_contact_is_not_an_email_problem(tmp_path):
    """A contact with a bad Email cell (its only address) is "has errors" naming the Email; a Contact
    that names nobody is said so, not "has no email address"."""
    xlsx(tmp_path / "crm.xlsx", {
        "Accounts": ACCOUNTS,
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                     ["CON-0001", "ACC-0001", "Olivia", "Navarro", "olivia(at)acme"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "Deal", "ACC-0001", "CON-0001", "Mia", "Proposal", 100, "USD", "2026-12-20"],
                          ["OPP-0002", "Deal 2", "ACC-0001", "CON-0009", "Mia", "Proposal", 100, "USD",
                           "2026-12-20"]],
        "Products": [["SKU", "Name", "Unit Price", "Currency"], ["P1", "Widget", 100, "USD"]],
        "Quote Lines": [["Opportunity", "SKU", "Quantity"], ["OPP-0001", "P1", 1], ["OPP-0002", "P1", 1]],
    })
    done = cli("quote", "OPP-0001", "--out", "prev", "--workbook", "crm.xlsx", cwd=tmp_path)
    assert done.returncode == 1
    assert "CON-0001 (row 2) has errors: Contacts!E2 (Email):" in done.stdout + done.stderr
    done = cli("quote", "OPP-0002", "--out", "prev", "--workbook", "crm.xlsx", cwd=tmp_path)
    text = done.stdout + done.stderr
    # An unknown Contact is an error on the deal itself: the deal is left out, and says why.
    assert done.returncode == 1 and "no email" not in text
    assert "Opportunities!D3" in text and "unknown_contact" in text and "OPP-0002 (row 3) has errors" in text


@pytest.mark.parametrize("text, value", [
    ("1'234.50", Decimal("1234.50")), ("12\u2019000", Decimal("12000")), ("1'234'567.8 CHF", Decimal("1234567.8")),
    ("Fr. 1'000", None), ("-2'500", Decimal("-2500")), ("1\u02bc000", Decimal("1000")),
])
def test_5_apostrophes_group_thousands_and_never_mark_decimals(text, value):
    from sheetcrm import cells
    if value is None:  # "Fr." is no currency sheetcrm knows: an error, not a guess
        with pytest.raises(cells.CellError):
            cells.parse_amount(text)
        return
    assert cells.parse_amount(text, "en") == cells.parse_amount(text, "es") == value
    with pytest.raises(cells.CellError, match="apostrophe"):
        cells.parse_number("12'5")  # an apostrophe followed by one digit is no grouping and no decimal


@pytest.mark.parametrize("title, header, expected", [
    ("Oportunidades", ["ID", "Name", "Account", "Close Date", "Owner", "Stage", "Amount"], dt.date(2026, 2, 1)),
    ("Deals", ["ID", "Nombre", "Cuenta", "Fecha de cierre", "Propietario", "Etapa", "Importe"], dt.date(2026, 2, 1)),
    ("Opportunities", ["ID", "Name", "Account", "Close Date", "Owner", "Stage", "Amount"], dt.date(2026, 1, 2)),
])
def test_6_the_tab_language_comes_from_its_title_or_its_headers(tmp_path, title, header, expected):
    rows = [header, ["", "Trato", "Acme", "01/02/2026", "Mia", "Proposal", 1000]]
    crm = read(xlsx(tmp_path / "lang.xlsx", {"Accounts": ACCOUNTS, title: rows}))
    (row,) = crm.tables["opportunities"].rows
    assert row.record.close_date == expected
    # Nothing else in the column decides, so the reading is a warning with both dates.
    assert [i.code for i in crm.report.issues if i.column == "D"] == ["ambiguous_date"]


@pytest.mark.parametrize("locale, title, n, start", [
    ("en", "Opportunities", 2, "2 opportunities with errors in Opportunities are left out"),
    ("es", "Oportunidades", 1, "1 oportunidad con errores en Oportunidades queda fuera"),
    ("es", "Deals", 2, "2 oportunidades con errores en Deals quedan fuera"),
    ("en", "Leads", 1, "1 lead with errors in Leads is left out"),
])
def test_7_left_out_counts_in_the_locale_and_names_the_tab_as_titled(tmp_path, locale, title, n, start):
    if title == "Leads":
        rows = [["ID", "First Name", "Last Name", "Email", "Status", "Created"],
                ["", "Ana", "Ruiz", "not an email", "New", "2026-01-02"]]
    else:
        rows = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]] + [
            ["", f"D{i}", "Acme", "Mia", "Proposal", "many", "USD", "2026-12-20"] for i in range(n)]
    crm = read(xlsx(tmp_path / "lo.xlsx", {"Accounts": ACCOUNTS, title: rows}), Config(locale=locale))
    (left_out,) = [i for i in crm.report.issues if i.code == "left_out"]
    assert left_out.message.startswith(start), left_out.message


def test_7_read_only_commands_leave_temp_files_to_the_writer_holding_the_lock(tmp_path, monkeypatch):
    """While another sheetcrm command holds the workbook's lock (it may be mid-save), a read-only
    command neither waits nor touches its temp file; once the lock is free, `kpis` removes it."""
    from sheetcrm.lock import WorkbookLock

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = xlsx(tmp_path / "w.xlsx", {"Accounts": ACCOUNTS})
    stray = tmp_path / ".w.xlsx.abcd1234.tmp"
    stray.write_bytes(b"PK\x03\x04 being written")
    held = WorkbookLock(XlsxWorkbook(path), command="sync").acquire()
    try:
        for command in ("validate", "forecast"):
            done = cli(command, "--workbook", "w.xlsx", cwd=tmp_path)
            assert done.returncode in (0, 1), done.stderr
            assert stray.exists()
    finally:
        held.release()
    assert cli("kpis", "--workbook", "w.xlsx", cwd=tmp_path).returncode == 0
    assert not stray.exists()


# --- an error on a row leaves it out of every total, a reference error too -------------------------------------


def test_a_deal_whose_account_is_unknown_is_left_out_and_said_so(tmp_path):
    """README: "until that cell is fixed the row is left out of every total". An unknown Account is an
    error on the deal like a bad Amount, so the deal is not counted and the left_out warning names it;
    it stays a reference target (its quote says it has errors)."""
    rows = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
            ["OPP-0001", "Good", "Acme", "Mia", "Proposal", 1000, "USD", "2026-12-20"],
            ["OPP-0002", "Ghost", "Nobody Inc", "Mia", "Proposal", 5000, "USD", "2026-12-20"]]
    path = xlsx(tmp_path / "ref.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows})
    crm = read(path)
    assert [i.code for i in crm.report.issues if i.row == 3] == ["unknown_account"]
    (left_out,) = [i for i in crm.report.issues if i.code == "left_out"]
    assert "OPP-0002 (row 3)" in left_out.message
    assert [r.id for r in crm.records("opportunities")] == ["OPP-0001"]
    assert crm.find("opportunities", "OPP-0002")[0].target.amount == 5000
    outcome = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    assert outcome.results.kpis.team.open_pipeline == Decimal("1000.00")


# --- three-decimal currencies: "money has no third decimal" does not hold for KWD, BHD, OMR, JOD, TND, LYD ------


@pytest.mark.parametrize("cell, currency, config, expected, warned", [
    ("1.234 KWD", None, {}, (Decimal("1.234"), "KWD"), True),            # no locale: read 1.234, both readings
    ("1.234 KWD", None, {"locale": "en"}, (Decimal("1.234"), "KWD"), False),
    ("BHD 12.500", None, {"locale": "en"}, (Decimal("12.5"), "BHD"), False),
    ("2.750", "JOD", {"locale": "en"}, (Decimal("2.75"), "JOD"), False),  # the Currency cell says which
    ("1.234", None, {"locale": "en", "currency": "OMR"}, (Decimal("1.234"), None), False),  # the base does
    ("12.500", "USD", {"locale": "en"}, (Decimal("12500"), "USD"), True),  # two decimals: still thousands-first
])
def test_three_decimal_currencies_keep_their_third_decimal(tmp_path, cell, currency, config, expected, warned):
    from babel.numbers import get_currency_precision
    assert all(get_currency_precision(c) == 3 for c in ("KWD", "BHD", "OMR", "JOD", "TND", "LYD"))
    rows = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
            ["", "D", "Acme", "Mia", "Proposal", cell, currency, "2026-12-20"]]
    crm = read(xlsx(tmp_path / "kwd.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows}), Config(**config))
    (row,) = crm.tables["opportunities"].rows
    assert (row.record.amount, row.record.currency) == expected
    assert bool([i for i in crm.report.issues if i.column == "F" and i.code == "ambiguous_number"]) is warned


def test_a_deals_only_workbook_counts_its_deals_whatever_their_account_says():
    """Without an Accounts tab there is nothing an Account could fail to match: it is a label, no error."""
    from sheetcrm.workbook.memory import MemoryWorkbook

    rows = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
            ["OPP-0001", "A", "Acme", "Mia", "Proposal", 1000, "USD", "2026-12-20"]]
    crm = read_crm(MemoryWorkbook({"Opportunities": rows}).read(), Config())
    assert [r.account for r in crm.records("opportunities")] == ["Acme"]
    assert not [i for i in crm.report.issues if i.severity == "error"]
