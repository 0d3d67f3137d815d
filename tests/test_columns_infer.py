"""Issue 16 item 5: a custom column the config does not type is typed by its own cells
(`columns.infer_kind`, applied by `table.parse_table`), and its odd cells are reported."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sheetcrm.columns import infer_kind
from sheetcrm.config import Config
from sheetcrm.crm.conditions import parse_condition
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Grid, Snapshot
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx


def leads_tab(column: str, values: list, config: Config | None = None):
    """read_crm of a Leads tab with one custom column; (its leads' values, the report's issues of that column)."""
    rows = [["ID", "Last Name", "Status", column]]
    rows += [[f"LEAD-{i:03d}", "Doe", "New", v] for i, v in enumerate(values)]
    crm = read_crm(Snapshot({"Leads": Grid(rows)}), config or Config())
    issues = [i for i in crm.report.issues if i.header == column]
    return [lead.custom[column] for lead in crm.records("leads")], issues


def test_96_percent_numbers_make_a_number_column_and_the_rest_are_reported_at_their_cells():
    values = [str(1000 + i) for i in range(96)] + ["lots", "n/a", "ask Ana", "—"]
    read, issues = leads_tab("Budget", values)
    assert len(read) == 100  # no row is lost to a cell of the wrong kind
    assert read[:96] == [Decimal(1000 + i) for i in range(96)] and read[96:] == [None] * 4
    assert [(i.severity, i.tab, i.row, i.column, i.value, i.code) for i in issues] == [
        ("warning", "Leads", 98 + k, "D", v, "bad_number") for k, v in enumerate(["lots", "n/a", "ask Ana", "—"])]
    # A Budget is a column of amounts: read as money (its cells may name their currency).
    assert all(i.hint.startswith("Most of this column are amounts") for i in issues)
    read, issues = leads_tab("Visits", values)
    assert read[:96] == [Decimal(1000 + i) for i in range(96)] and len(issues) == 4
    assert all(i.hint.startswith("Most of this column are numbers") for i in issues)


def test_a_budget_typed_by_its_cells_is_money_whose_cells_may_name_their_currency():
    values = [str(1000 + i) for i in range(96)] + ["8000 EUR", "USD 1,200", "900", "700"]
    read, issues = leads_tab("Budget", values)
    assert read[96:] == [Decimal(8000), Decimal(1200), Decimal(900), Decimal(700)] and not issues
    # Any other column of numbers names no currency: such a cell is said, and left out.
    read, issues = leads_tab("Visits", values)
    assert read[96:] == [None, None, Decimal(900), Decimal(700)]
    assert [(i.value, i.code) for i in issues] == [("8000 EUR", "bad_number"), ("USD 1,200", "bad_number")]


def test_90_percent_numbers_stay_text_and_nothing_is_reported():
    values = [str(1000 + i) for i in range(90)] + ["lots"] * 10
    read, issues = leads_tab("Budget", values)
    assert read == values and issues == []


def test_numbers_in_the_teams_locale():
    values = ["1.234,5", "12,75", "3.000.000,00", "7"] * 25
    read, issues = leads_tab("Presupuesto", values, Config(locale="es"))
    assert read[:4] == [Decimal("1234.5"), Decimal("12.75"), Decimal("3000000.00"), Decimal("7")] and not issues
    # The column's own cells settle it without a locale, too.
    assert leads_tab("Presupuesto", values)[0][:2] == [Decimal("1234.5"), Decimal("12.75")]


def test_dates_and_yes_no_columns():
    dates, issues = leads_tab("First Contact", ["2026-01-15", "2026-02-01", dt.datetime(2026, 3, 2)] * 10)
    assert dates[:3] == [dt.date(2026, 1, 15), dt.date(2026, 2, 1), dt.date(2026, 3, 2)] and not issues
    yes_no, issues = leads_tab("VIP", ["Sí", "No", "sí", "no"] * 10)
    assert yes_no[:4] == [True, False, True, False] and not issues
    native, _ = leads_tab("Opted In", [True, False, "TRUE", "FALSE"] * 10)
    assert native[:4] == [True, False, True, False]
    # Counts of 0 and 1 are numbers, not yes/no.
    assert leads_tab("Visits", [0, 1, 1, 0] * 10)[0][:2] == [Decimal(0), Decimal(1)]


def test_a_declared_type_wins_over_the_cells():
    values = [str(1000 + i) for i in range(99)] + ["lots"]
    config = Config.model_validate({"tabs": {"leads": {"custom_fields": {"Budget": {"type": "text"}}}}})
    read, issues = leads_tab("Budget", values, config)
    assert read == values and issues == []
    # Declared a number, the odd cell is an error as before (the row is not a record).
    config = Config.model_validate({"tabs": {"leads": {"custom_fields": {"Budget": {"type": "number"}}}}})
    read, issues = leads_tab("Budget", values, config)
    assert len(read) == 99 and [(i.severity, i.value) for i in issues] == [("error", "lots")]


def test_conditions_compare_an_inferred_column_as_numbers():
    read, _ = leads_tab("Budget", ["1,200", "900", "15,000", "80"] * 5)
    condition = parse_condition("Budget > 1000", "en")
    assert [condition.test(lambda _relation, _column, v=v: v) for v in read[:4]] == [True, False, True, False]


@pytest.mark.parametrize("values, kind", [
    (["1", "2.5", 3, 4.0], "number"), (["2026-01-01", dt.date(2026, 1, 2)], "date"), (["Yes", "No", True], "bool"),
    (["Referral", "Web"], None), ([None, "", "  "], None), (["12", "x"], None)])
def test_infer_kind(values, kind):
    assert infer_kind(values) == kind


def test_codes_typed_as_text_keep_their_zeros_and_plus(tmp_path):
    """Postal codes and phone numbers typed as text are codes, not numbers: one "08001" among
    them keeps the whole column text (its other cells too), so conditions see them as typed."""
    zips = ["08001", "28001", "08015", "46001", "08020", "41001", "08036", "29001"] * 3
    phones = ["+34 600 123 456", "+34600123457", "600 123 458", "912 34 56 78"] * 6
    rows = [["ID", "Last Name", "Status", "Postal Code", "Switchboard", "Visits"]]
    rows += [[f"LEAD-{i:03d}", "Doe", "New", z, p, str(i)] for i, (z, p) in enumerate(zip(zips, phones))]
    path = xlsx(tmp_path / "codes.xlsx", {"Leads": rows},
                formats={("Leads", f"{c}{r}"): "@" for c in "DEF" for r in range(2, len(rows) + 1)})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    leads = crm.records("leads")
    assert [lead.custom["Postal Code"] for lead in leads] == zips
    assert [lead.custom["Switchboard"] for lead in leads] == phones
    assert [lead.custom["Visits"] for lead in leads] == [Decimal(i) for i in range(len(zips))]  # still numbers
    assert [i for i in crm.report.issues if i.header in ("Postal Code", "Switchboard")] == []
    barcelona = parse_condition('Postal Code matches "^08"', "en")
    assert sum(barcelona.test(lambda _relation, _column, v=lead.custom["Postal Code"]: v) for lead in leads) == 12


@pytest.mark.parametrize("values", [["08001", "28001"], ["007", "12"], ["+34 600 123 456", "1"], ["600 123 456", "7"]])
def test_a_code_keeps_a_column_from_being_numbers(values):
    assert infer_kind(values * 20) is None
    assert infer_kind(["+5", "-3", "0.5", "0", "1 234 567"]) == "number"  # signs, decimals, grouped thousands


def test_percentages_and_amounts_naming_their_currency_are_inferred_as_such():
    # "15%" is no number and "1.200 €" no plain one: the column was text, and a condition on it
    # matched nothing (attack2 fault 5). One "%" makes plain numbers beside it percentages.
    assert infer_kind(["15%", "5%", "20 %", 12]) == "percent"
    assert infer_kind(["1.200 €", "300 €", 2500]) == "money"
    assert infer_kind([15, 5, 20]) == "number"
    assert infer_kind(["15%", "5%", "n/d", "?"]) is None  # below 95 %: text
    assert infer_kind(["08001 €", "300 €"]) is None  # a code keeps the column text


def test_a_teams_own_percentages_may_be_above_100_or_below_0(tmp_path):
    """A growth of 150 % or a margin of -5 % is what the cell says: one such cell neither turns
    a short column into text (every cell then "is not a number" to a condition) nor is left
    out of it. A Probability stays 0 to 100 %."""
    assert infer_kind(["15%", "150%", "20%"]) == "percent"
    assert infer_kind(["15 %", "-5 %", "20 %"]) == "percent"
    read, issues = leads_tab("Growth", ["15%", "150%", "20%", "-5 %"])
    assert read == [Decimal(15), Decimal(150), Decimal(20), Decimal(-5)] and issues == []
    path = xlsx(tmp_path / "growth.xlsx", {"Leads": [["ID", "Last Name", "Status", "Growth"],
                                                     ["LEAD-001", "Doe", "New", 0.15],
                                                     ["LEAD-002", "Roe", "New", 1.5]]},
                formats={("Leads", "D2"): "0%", ("Leads", "D3"): "0%"})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    assert [lead.custom["Growth"] for lead in crm.records("leads")] == [Decimal(15), Decimal(150)]
    over = parse_condition("Growth > 100%", "en")
    assert [over.test(lambda _relation, _column, v=lead.custom["Growth"]: v) for lead in crm.records("leads")] \
        == [False, True]
    declared = Config.model_validate({"tabs": {"leads": {"custom_fields": {"Growth": {"type": "percent"}}}}})
    read, issues = leads_tab("Growth", ["150%", "-5%"], declared)
    assert read == [Decimal(150), Decimal(-5)] and issues == []
    rows = [["ID", "Name", "Account", "Stage", "Amount", "Probability"],
            ["OPP-0001", "Big", "Acme", "Proposal", 1000, "150%"]]
    crm = read_crm(Snapshot({"Opportunities": Grid(rows)}), Config())
    assert [(i.code, i.column) for i in crm.report.issues if i.tab == "Opportunities" and i.code != "left_out"] \
        == [("out_of_range", "F")]


def test_a_column_of_amounts_formatted_in_a_currency_is_money_in_that_currency(tmp_path):
    """1234.5 under `#,##0.00 "€"` shows 1.234,50 €: a Fee column of such cells is a column of
    euros, not of numbers each refused for naming a currency (every value lost)."""
    rows = [["ID", "Last Name", "Status", "Fee", "Visits"],
            ["LEAD-001", "Doe", "New", 1234.5, 3], ["LEAD-002", "Roe", "New", 99, 4]]
    path = xlsx(tmp_path / "fees.xlsx", {"Leads": rows},
                formats={("Leads", c): '#,##0.00 "€"' for c in ("D2", "D3")})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    leads = crm.records("leads")
    assert [lead.custom["Fee"] for lead in leads] == [Decimal("1234.5"), Decimal(99)]
    assert [lead.priced["Fee"].currency for lead in leads] == ["EUR", "EUR"]
    assert not [i for i in crm.report.issues if i.header == "Fee"]
    assert [lead.custom["Visits"] for lead in leads] == [Decimal(3), Decimal(4)]
    assert "Visits" not in leads[0].priced
