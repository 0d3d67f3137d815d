"""A currency shown by an amount's number format is the amount's currency, as if typed in the cell.

10000 formatted `[$¥-411]#,##0` shows ¥10,000: it is 10,000 JPY, never 10,000 in the base currency.
On .xlsx the format comes from the styles (xlsx_scan); on Google from the same single extra read that
finds percent formats, asked only for money columns whose rows name no currency.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.numformat import format_currency, is_percent_format
from sheetcrm.workbook.target import open_workbook
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx

AS_OF = dt.date(2026, 12, 15)
ACCOUNTS = [["ID", "Name"], ["ACC-0001", "Acme"]]
OPP_HEADER = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]


@pytest.mark.parametrize("code, currency", [
    ("[$¥-411]#,##0", "JPY"),            # Excel's Japanese yen: the locale ID says which ¥
    ("[$¥-804]#,##0.00", "CNY"),         # ... and here the Chinese yuan
    ("#,##0.00 [$€-407]", "EUR"),
    ("[$$-409]#,##0.00", "USD"),
    ("[$$-C0C]#,##0.00", "CAD"),         # fr-CA
    ("[$kr-41D] #,##0", "SEK"),
    ("[$Fr.-100C] #,##0.00", "CHF"),     # a symbol sheetcrm does not list: the locale's currency
    ("[$EUR] #,##0.00", "EUR"),
    ('"£"#,##0', "GBP"),
    ('#,##0.00 "USD"', "USD"),
    ("#,##0.00\\ \"€\"", "EUR"),
    ("€#,##0.00", "EUR"),
    ("₹ #,##0", "INR"),
    ("$#,##0", "$"),                     # which dollar: left to the reader, as "$" typed in a cell
    ('_("$"* #,##0.00_)', "$"),          # accounting
    ("¥#,##0", "¥"),
    ('"kr" #,##0', "kr"),
    ("#,##0.00", None), ("0%", None), ("General", None), ('0 "units"', None), ("[$-409]d-mmm-yy", None),
    ("[Red]#,##0", None), ("yyyy-mm-dd", None), ("#,##0;[Red]-\"€\"#,##0", None),  # only the first section
    # The currency inside a quoted text that says more: scaled amounts, names, codes as words.
    ('#,##0, "k€"', "EUR"), ('#,##0,,"M€"', "EUR"), ('#,##0 "€ k"', "EUR"), ('#,##0 "EUR k"', "EUR"),
    ('#,##0.00 "euros"', "EUR"), ('#,##0 "US dollars"', "USD"), ('#,##0 "libras esterlinas"', "GBP"),
    ('"£"#,##0" approx"', "GBP"), ('#,##0 "US$ k"', "USD"), ('#,##0 "(€)"', "EUR"), ('"$"#,##0 [$USD]', "USD"),
    ('#,##0 "k"', None), ('#,##0 "all in"', None), ('#,##0 "SKU"', None), ('0 "dollars"', None),  # no one currency
    # Two currencies in one code: both, for the reader to say it cannot tell which.
    ('#,##0 "€" "£"', "EUR|GBP"), ('0 "CAD/EUR"', "CAD|EUR"),
])
def test_the_currency_a_format_code_shows(code, currency):
    assert format_currency(code) == currency
    assert is_percent_format(code) is (code == "0%")


def test_xlsx_formats_set_a_blank_currency_and_conflict_with_another(tmp_path):
    rows = [OPP_HEADER,
            ["", "Pound deal", "Acme", "Mia", "Proposal", 300, "", "2026-12-20"],       # "£"#,##0, Currency blank
            ["", "Same", "Acme", "Mia", "Proposal", 400, "GBP", "2026-12-20"],         # "£" and GBP agree
            ["", "Clash", "Acme", "Mia", "Proposal", 500, "USD", "2026-12-20"],        # "£" but USD
            ["", "Euro", "Acme", "Mia", "Proposal", 600, None, "2026-12-20"],          # [$EUR]
            ["", "Plain", "Acme", "Mia", "Proposal", 700, None, "2026-12-20"]]         # no format: base
    path = xlsx(tmp_path / "f.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows},
                {("Opportunities", f"F{r}"): '"£"#,##0' for r in (2, 3, 4)} | {("Opportunities", "F5"): "[$EUR] 0"})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    got = [(r.record.amount, r.record.currency) if r.record else None for r in crm.tables["opportunities"].rows]
    assert got == [(300, "GBP"), (400, "GBP"), None, (600, "EUR"), (700, None)]
    (clash,) = [i for i in crm.report.issues if i.where() == "Opportunities!F4"]
    assert clash.code == "currency_conflict" and "GBP" in clash.message and "USD" in clash.message


def test_xlsx_currency_inside_quoted_text_counts_in_the_pipeline(tmp_path):
    """125,000 shown "125 k€", "0,1 M€", "125.000 euros"... is 125,000 EUR, converted through
    the Rates tab; a format that shows two currencies is an error at the cell unless the
    Currency cell says which of them."""
    formats = ['#,##0, "k€"', '#,##0,,"M€"', '#,##0 "€ k"', '#,##0 "EUR k"', '#,##0.00 "euros"',
               '#,##0 "€" "£"', '#,##0 "€" "£"']
    rows = [OPP_HEADER] + [["", f, "Acme", "Mia", "Proposal", 125000, "GBP" if i == 6 else None, "2026-12-20"]
                           for i, f in enumerate(formats)]
    path = xlsx(tmp_path / "k.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows,
                                      "Rates": [["Currency", "Rate"], ["EUR", 1.1], ["GBP", 1.3]]},
                {("Opportunities", f"F{r}"): f for r, f in enumerate(formats, start=2)})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    got = [(r.record.amount, r.record.currency) if r.record else None for r in crm.tables["opportunities"].rows]
    assert got == [(125000, "EUR")] * 5 + [None, (125000, "GBP")]
    (both,) = [i for i in crm.report.issues if i.column == "F"]
    assert (both.code, both.where()) == ("format_currencies", "Opportunities!F7")
    assert "EUR" in both.message and "GBP" in both.message
    outcome = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    assert outcome.results.kpis.team.open_pipeline == Decimal("850000.00")  # 5 × 137,500 + 162,500


def test_xlsx_dollar_format_is_the_base_dollar_said_once(tmp_path):
    """`$#,##0` is the base currency when the base is a dollar (one warning for the column), as
    "$500" typed would be; under a EUR base it is USD with a warning on each cell."""
    rows = [OPP_HEADER, ["", "A", "Acme", "Mia", "Proposal", 500, None, "2026-12-20"],
            ["", "B", "Acme", "Mia", "Proposal", 700, None, "2026-12-20"]]
    path = xlsx(tmp_path / "d.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows},
                {("Opportunities", "F2"): "$#,##0", ("Opportunities", "F3"): "$#,##0"})
    crm = read_crm(XlsxWorkbook(path).read(), Config(currency="CAD"))
    assert [r.record.currency for r in crm.tables["opportunities"].rows] == ["CAD", "CAD"]
    assert [i.code for i in crm.report.issues if i.column == "F"] == ["symbol_base"]
    crm = read_crm(XlsxWorkbook(path).read(), Config(currency="EUR"))
    assert [r.record.currency for r in crm.tables["opportunities"].rows] == ["USD", "USD"]
    assert [i.code for i in crm.report.issues if i.column == "F"] == ["symbol_guess", "symbol_guess"]


def test_product_unit_price_format_names_its_currency():
    book = MemoryWorkbook({"Products": [["SKU", "Name", "Unit Price", "Currency"], ["P1", "Widget", 2500, None]]},
                          currency={"Products": {(1, 2): "JPY"}})
    crm = read_crm(book.read(), Config())
    (product,) = crm.tables["products"].records
    assert (product.unit_price, product.currency) == (Decimal(2500), "JPY")


def test_xlsx_yen_format_through_a_sync_counts_converted(tmp_path):
    rows = [OPP_HEADER[:6] + ["Close Date"], ["", "Tokyo", "Acme", "Mia", "Proposal", 20000, "2026-12-20"],
            ["", "Local", "Acme", "Mia", "Proposal", 100, "2026-12-20"]]
    path = xlsx(tmp_path / "y.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows,
                                      "Rates": [["Currency", "Rate"], ["JPY", 0.005], ["USD", 1]]},
                {("Opportunities", "F2"): "[$¥-411]#,##0"})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    assert outcome.results.kpis.team.open_pipeline == Decimal("200.00")  # 100 + 20000 × 0.005


# --- Google ---------------------------------------------------------------------------------------



def currency_format(sheet_id: int, row: int, col: int, pattern: str) -> dict:
    return {"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": row, "endRowIndex": row + 1,
                  "startColumnIndex": col, "endColumnIndex": col + 1},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "CURRENCY", "pattern": pattern}}},
        "fields": "userEnteredFormat.numberFormat"}}


def traced(key: str):
    trace: list = []
    book = open_workbook(Config(), spreadsheet=key, tracer=trace.append)
    return book, lambda: (sum(t.kind == "read" for t in trace), sum(t.kind != "read" for t in trace)), trace


def test_google_currency_formats_in_the_one_extra_read(emu):
    """Amount has no Currency column: one read of the formats (types and patterns), as for
    percents, and the amounts take the currency their format shows. A person typing "$1,500" in
    Google leaves the number 1500 with a "$" format: it is read as the base dollar."""
    key = emu.create_spreadsheet("CRM", {
        "Accounts": ACCOUNTS,
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Probability"],
                          ["OPP-0001", "Tokyo", "Acme", "Mia", "Proposal", 10000, "2026-12-20", 0.5],
                          ["OPP-0002", "Berlin", "Acme", "Mia", "Proposal", 1234.5, "2026-12-20", ""],
                          ["OPP-0003", "Typed", "Acme", "Mia", "Proposal", "$1,500", "2026-12-20", ""]],
    }, value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Opportunities")
    emu.apply(key, [currency_format(sid, 1, 5, "[$¥-411]#,##0"), currency_format(sid, 2, 5, "#,##0.00 [$€-407]"),
                    {"repeatCell": {"range": {"sheetId": sid, "startRowIndex": 1, "endRowIndex": 2,
                                              "startColumnIndex": 7, "endColumnIndex": 8},
                                    "cell": {"userEnteredFormat": {"numberFormat": {"type": "PERCENT",
                                                                                    "pattern": "0%"}}},
                                    "fields": "userEnteredFormat.numberFormat"}}])
    book, counts, _ = traced(key)
    snap = book.read()
    grid = snap.tabs["Opportunities"]
    assert grid.currency == {(1, 5): "JPY", (2, 5): "EUR", (3, 5): "$"}
    assert grid.percent == {(1, 7)}
    assert counts() == (3, 0)  # metadata, values, and ONE formats read for both kinds
    crm = read_crm(snap, Config())
    got = [(r.record.amount, r.record.currency) for r in crm.tables["opportunities"].rows]
    assert got == [(10000, "JPY"), (Decimal("1234.5"), "EUR"), (1500, "USD")]


def test_google_currency_inside_quoted_text(emu):
    """The same reading of a format code on Google: "125 k€" is 125,000 EUR, and a code showing
    two currencies is an error at the cell."""
    key = emu.create_spreadsheet("CRM", {
        "Accounts": ACCOUNTS,
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Kilo", "Acme", "Mia", "Proposal", 125000, "2026-12-20"],
                          ["OPP-0002", "Both", "Acme", "Mia", "Proposal", 125000, "2026-12-20"]],
    }, value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Opportunities")
    emu.apply(key, [currency_format(sid, 1, 5, '#,##0, "k€"'), currency_format(sid, 2, 5, '#,##0 "€" "£"')])
    book, counts, _ = traced(key)
    crm = read_crm(book.read(), Config())
    assert [(r.record.amount, r.record.currency) if r.record else None
            for r in crm.tables["opportunities"].rows] == [(125000, "EUR"), None]
    assert [(i.code, i.where()) for i in crm.report.issues if i.column == "F"] == [
        ("format_currencies", "Opportunities!F3")]
    assert counts() == (3, 0)


def test_google_no_format_read_when_every_amount_names_its_currency(emu):
    """The demo's shape: a Currency cell on every row. The amounts' formats cannot change which
    currency they are in, so nothing more is read (two reads, as before)."""
    key = emu.create_spreadsheet("CRM", {
        "Accounts": ACCOUNTS,
        "Opportunities": [OPP_HEADER, ["OPP-0001", "A", "Acme", "Mia", "Proposal", 10000, "USD", "2026-12-20"]],
        "Products": [["SKU", "Name", "Unit Price", "Currency"], ["P1", "Widget", 100, "EUR"]],
        "Pipeline": [["Stage", "Count", "Amount"], ["Proposal", 1, 10000]],  # not sheetcrm's: a team tab
    }, value_input="USER_ENTERED")
    book, counts, _ = traced(key)
    book.read()
    # The team's own Pipeline tab has an Amount with no Currency: it is asked about (one read).
    assert counts() == (3, 0)
    crm = read_crm(book.read(), Config())
    assert [(r.amount, r.currency) for r in crm.tables["opportunities"].records] == [(10000, "USD")]


def test_google_sync_of_synced_workbook_with_currencies_reads_twice(emu):
    key = emu.create_spreadsheet("CRM", {
        "Accounts": ACCOUNTS,
        "Opportunities": [OPP_HEADER, ["", "A", "Acme", "Mia", "Proposal", 10000, "USD", "2026-12-20"]],
        "Products": [["SKU", "Name", "Unit Price", "Currency"], ["P1", "Widget", 100, "EUR"]],
    }, value_input="USER_ENTERED")
    book, counts, trace = traced(key)
    sync(book, Config(), as_of=AS_OF)
    trace.clear()
    assert not sync(book, Config(), as_of=AS_OF).plan
    assert counts() == (2, 0)  # sheetcrm's own tabs (Pipeline, Stage History...) hold base amounts: not asked


def test_google_quota_formatted_in_another_currency_is_said_not_read_as_base(emu):
    """A Quota of 5000 formatted "5.000 €" on a USD team counted as 5,000 USD with nothing said
    on Google (the .xlsx read sees the format): the Quota column's formats are asked about in
    the formats read, and the cell is a currency_conflict, the quota left out. A "$" format is
    the base dollar. Every Amount here names its Currency, so that read is the Quota's alone."""
    key = emu.create_spreadsheet("CRM", {
        "Accounts": ACCOUNTS,
        "Opportunities": [OPP_HEADER, ["OPP-0001", "A", "Acme", "Ana", "Proposal", 10000, "USD", "2026-12-20"]],
        "Quotas": [["Owner", "Month", "Quota"], ["Ana", "2026-12", 5000], ["Ana", "2027-01", 4000]],
    }, value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Quotas")
    emu.apply(key, [currency_format(sid, 1, 2, "#,##0 [$€-407]"), currency_format(sid, 2, 2, "$#,##0")])
    book, counts, _ = traced(key)
    crm = read_crm(book.read(), Config())
    assert counts() == (3, 0)  # metadata, values, and the formats read of the Quota column
    assert [(q.owner, q.month, q.amount) for q in crm.inputs.quotas] == [("Ana", "2027-01", 4000)]
    assert [(i.code, i.where()) for i in crm.report.issues if i.tab == "Quotas"] == [
        ("currency_conflict", "Quotas!C2")]


def test_google_quotas_currency_column_naming_another_currency_is_said_not_read_as_base(emu):
    """A Quotas tab "Owner, Month, Quota, Moneda" with 5000 / EUR on a USD team: the column was
    not read, so Ana's December quota was 5,000 USD and the team's 6,000, without a word. Now a
    currency_conflict at the Quota cell and the month's team quota blank (unread), never short."""
    key = emu.create_spreadsheet("CRM", {
        "Accounts": ACCOUNTS,
        "Opportunities": [OPP_HEADER, ["OPP-0001", "A", "Acme", "Ana", "Proposal", 10000, "USD", "2026-12-20"]],
        "Quotas": [["Owner", "Month", "Quota", "Moneda"], ["Ana", "2026-12", 5000, "EUR"],
                   ["Bo", "2026-12", 1000, "USD"], ["Bo", "2027-01", 2000, None]],
    }, value_input="USER_ENTERED")
    book, counts, _ = traced(key)
    crm = read_crm(book.read(), Config())
    assert [(q.owner, q.month, q.amount) for q in crm.inputs.quotas] == [("Bo", "2026-12", 1000),
                                                                         ("Bo", "2027-01", 2000)]
    assert [(i.code, i.where()) for i in crm.report.issues if i.tab == "Quotas" and i.severity == "error"] == [
        ("currency_conflict", "Quotas!C2")]
    outcome = sync(open_workbook(Config(), spreadsheet=key), Config(), as_of=AS_OF)
    december = outcome.results.forecast.months[0]
    assert (december.month, december.quota, december.quota_unread) == ("2026-12", None, True)


def test_google_quotas_owner_merged_over_their_months_is_theirs_in_each_row(emu):
    """Bo's name merged over his two months on Google: the second row read as a quota of
    nobody's (an error saying no owner, where the sheet shows Bo) and December short of it."""
    key = emu.create_spreadsheet("CRM", {
        "Accounts": ACCOUNTS,
        "Opportunities": [OPP_HEADER, ["OPP-0001", "A", "Acme", "Bo", "Proposal", 10000, "USD", "2026-12-20"]],
        "Quotas": [["Owner", "Month", "Quota"], ["Bo", "2026-11", 1000], [None, "2026-12", 2000]],
    }, value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Quotas")
    emu.apply(key, [{"mergeCells": {"mergeType": "MERGE_ALL", "range": {
        "sheetId": sid, "startRowIndex": 1, "endRowIndex": 3, "startColumnIndex": 0, "endColumnIndex": 1}}}])
    crm = read_crm(open_workbook(Config(), spreadsheet=key).read(), Config())
    assert [(q.owner, q.month, q.amount) for q in crm.inputs.quotas] == [("Bo", "2026-11", 1000),
                                                                         ("Bo", "2026-12", 2000)]
    assert not [i for i in crm.report.issues if i.tab == "Quotas"]
