"""A currency typed in a cell is read where it means something, and never dropped silently.

Only an amount may name its currency ("JPY 10,000"); "$50" under Discount % or "5 EUR" under
Employees is an error at its cell, not 50 % or 5. An ambiguous symbol typed in the Currency
column ("$", "¥") is read as it is inside an amount, and said on the cell.
"""

from __future__ import annotations

from decimal import Decimal

from books import xlsx
from sheetcrm.config import Config
from sheetcrm.validate import read_crm
from sheetcrm.workbook.xlsx import XlsxWorkbook

OPP_HEADER = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Probability", "Close Date"]


def _read(tmp_path, tabs, config=None):
    return read_crm(XlsxWorkbook(xlsx(tmp_path / "c.xlsx", tabs)).read(), config or Config())


def test_a_currency_in_a_column_that_holds_no_money_is_an_error_at_its_cell(tmp_path):
    crm = _read(tmp_path, {
        "Accounts": [["ID", "Name", "Employees"], ["ACC-0001", "Acme", "5 EUR"], ["ACC-0002", "Beta", 40]],
        "Opportunities": [OPP_HEADER,
                          ["OPP-0001", "A", "Acme", "Mia", "Proposal", "$1,200", "", "50 €", "2026-12-20"],
                          ["OPP-0002", "B", "Acme", "Mia", "Proposal", 700, "", "30", "2026-12-20"]],
        "Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "Licence", 100, "EUR", "21 €"]],
        "Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                        ["OPP-0002", "P1", "5 EUR", "", "$50"]],
    })
    found = {(i.tab, i.row, i.column): (i.severity, i.value, i.code) for i in crm.report.issues
             if i.severity == "error"}
    assert found == {
        ("Accounts", 2, "C"): ("error", "5 EUR", "bad_integer"),
        ("Opportunities", 2, "H"): ("error", "50 €", "bad_percent"),
        ("Products", 2, "E"): ("error", "21 €", "bad_percent"),
        ("Quote Lines", 2, "C"): ("error", "5 EUR", "bad_number"),
        ("Quote Lines", 2, "E"): ("error", "$50", "bad_percent"),
    }
    assert all("currency" in i.message and i.hint for i in crm.report.issues if i.severity == "error")
    # The rows are left out of every total, never counted with 5 employees or a 50 % probability.
    assert [a.name for a in crm.records("accounts")] == ["Beta"]
    assert [o.id for o in crm.records("opportunities")] == ["OPP-0002"]
    assert crm.records("quote_lines") == [] and crm.records("products") == []
    # The amount beside them keeps its currency: an amount may name one.
    [deal] = [r.target for r in crm.tables["opportunities"].rows if r.id == "OPP-0001"]
    assert (deal.amount, deal.currency) == (Decimal("1200"), "USD")


def test_a_number_formatted_as_money_in_a_column_that_holds_none_is_an_error_at_its_cell(tmp_path):
    """50 formatted "50,00 €" under Discount % shows fifty euros, not 50 % off; the same on
    Employees and Quantity (.xlsx reads every cell's number format; on Google only the columns
    asked about, see workbook/gsheets.py)."""
    path = xlsx(tmp_path / "f.xlsx", {
        "Accounts": [["ID", "Name", "Employees"], ["ACC-0001", "Acme", 5], ["ACC-0002", "Beta", 40]],
        "Opportunities": [OPP_HEADER, ["OPP-0001", "A", "Acme", "Mia", "Proposal", 700, "", 30, "2026-12-20"]],
        "Products": [["SKU", "Name", "Unit Price", "Currency"], ["P1", "Licence", 100, "EUR"]],
        "Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                        ["OPP-0001", "P1", 5, "", 50], ["OPP-0001", "P1", 1, "", 10]],
    }, formats={("Quote Lines", "E2"): '#,##0.00\\ "€"', ("Accounts", "C2"): '"$"#,##0',
                ("Quote Lines", "C2"): '[$€-2]\\ #,##0.00', ("Opportunities", "F2"): '[$€-2]\\ #,##0.00'})
    crm = read_crm(XlsxWorkbook(path).read(), Config(currency="EUR"))
    found = {(i.tab, i.row, i.column): (i.value, i.code) for i in crm.report.issues if i.severity == "error"}
    assert found == {("Accounts", 2, "C"): (5, "bad_integer"), ("Quote Lines", 2, "C"): (5, "bad_number"),
                     ("Quote Lines", 2, "E"): (50, "bad_percent")}
    discount = next(i for i in crm.report.issues if i.column == "E")
    assert discount.message == ('"50" (its number format shows EUR) is not a percentage: it names a currency ("EUR"), '
                                "and only an amount of money may.")
    assert [a.name for a in crm.records("accounts")] == ["Beta"]
    assert [line.discount for line in crm.records("quote_lines")] == [Decimal("10")]
    # An amount may show its currency by its format: the deal is in euros, no issue.
    assert [(o.amount, o.currency) for o in crm.records("opportunities")] == [(Decimal("700"), "EUR")]


def test_an_ambiguous_symbol_in_the_currency_column_is_said_on_each_cell(tmp_path):
    rows = [OPP_HEADER, ["OPP-0001", "A", "Acme", "Mia", "Proposal", 100, "$", "", "2026-12-20"],
            ["OPP-0002", "B", "Acme", "Mia", "Proposal", 200, "¥", "", "2026-12-20"],
            ["OPP-0003", "C", "Acme", "Mia", "Proposal", 300, "USD", "", "2026-12-20"]]
    crm = _read(tmp_path, {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]], "Opportunities": rows},
                Config(currency="EUR"))
    assert [o.currency for o in crm.records("opportunities")] == ["USD", "JPY", "USD"]
    said = [(i.severity, i.row, i.column, i.value, i.code) for i in crm.report.issues if i.column == "G"]
    assert said == [("warning", 2, "G", "$", "symbol_guess"), ("warning", 3, "G", "¥", "symbol_guess")]
    dollar = next(i for i in crm.report.issues if i.row == 2 and i.column == "G")
    assert "USD" in dollar.message and "CAD" in dollar.message and "USD" in dollar.hint


def test_a_dollar_in_the_currency_column_of_a_dollar_team_is_the_base_said_once(tmp_path):
    rows = [OPP_HEADER, *[[f"OPP-000{n}", "A", "Acme", "Mia", "Proposal", 100, "$", "", "2026-12-20"]
                          for n in (1, 2)]]
    crm = _read(tmp_path, {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]], "Opportunities": rows},
                Config(currency="CAD"))
    assert [o.currency for o in crm.records("opportunities")] == ["CAD", "CAD"]
    assert [(i.row, i.code) for i in crm.report.issues if i.column == "G"] == [(2, "symbol_base")]


def test_a_custom_column_the_config_types_as_money_reads_amounts_with_their_currency(tmp_path):
    tabs = {"Opportunities": [OPP_HEADER + ["Amount Paid"],
                              ["OPP-0001", "A", "Acme", "Mia", "Proposal", 100, "", "", "2026-12-20", "$500"],
                              ["OPP-0002", "B", "Acme", "Mia", "Proposal", 100, "", "", "2026-12-20", "1200 EUR"],
                              ["OPP-0003", "C", "Acme", "Mia", "Proposal", 100, "", "", "2026-12-20", 300]]}
    money = Config.model_validate({"tabs": {"opportunities": {"custom_fields": {"Amount Paid": {"type": "money"}}}}})
    crm = _read(tmp_path, tabs, money)
    assert [o.custom["Amount Paid"] for o in crm.records("opportunities")] == [500, 1200, 300]
    assert not [i for i in crm.report.issues if i.header == "Amount Paid"]
    # Typed as a plain number, the same cells naming a currency are errors at their cells.
    number = Config.model_validate({"tabs": {"opportunities": {"custom_fields": {"Amount Paid": {"type": "number"}}}}})
    crm = _read(tmp_path, tabs, number)
    assert [(i.row, i.code) for i in crm.report.issues if i.header == "Amount Paid"] == [(2, "bad_number"),
                                                                                          (3, "bad_number")]
