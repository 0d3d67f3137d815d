"""The Rates and Quotas tabs are read like the CRM tabs: each number and date column as a whole
(`columns.py`: "0,925" and "1,17" prove a decimal comma; "50.000" of money is fifty thousand),
and each cell that cannot be read, or only with a guess, reported at its cell."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal

import openpyxl
import pytest

from books import xlsx
from sheetcrm.config import Config
from sheetcrm.crm.forecast import Quota, UnreadQuota
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook.xlsx import XlsxWorkbook

ACCOUNTS = [["ID", "Name"], ["ACC-0001", "Acme"]]


def _read(tmp_path, rates, quotas, config):
    path = xlsx(tmp_path / "r.xlsx", {"Accounts": ACCOUNTS, "Rates": rates, "Quotas": quotas})
    crm = read_crm(XlsxWorkbook(path).read(), config)
    issues = [(i.severity, i.tab, i.row, i.column, i.value, i.code) for i in crm.report.issues
              if i.tab in ("Rates", "Quotas")]
    return crm, issues


def test_a_decimal_comma_rate_is_never_read_as_thousands(tmp_path):
    # A EUR team with no locale set, its tabs in English: the cells themselves show a decimal comma.
    crm, issues = _read(tmp_path, [["Currency", "Rate"], ["USD", "0,925"], ["GBP", "1,17"]],
                        [["Owner", "Month", "Quota"], ["Diego Ruiz", "2027-01", "50.000"]], Config(currency="EUR"))
    assert crm.inputs.rates.per_unit == {"USD": Decimal("0.925"), "GBP": Decimal("1.17")}
    assert crm.inputs.quotas == [Quota("Diego Ruiz", "2027-01", Decimal("50000"))]
    # Nothing else in the Quota column says which separator "50.000" has: read as money, and said.
    assert issues == [("warning", "Quotas", 2, "C", "50.000", "ambiguous_number")]


def test_rates_and_quotas_columns_are_found_by_their_headers(tmp_path):
    """A team's Quotas tab "Owner, Month, Last Year, Quota": the Last Year column was read as
    the quota, by position, with nothing said (900 for 1,000). Columns named by their headers
    are read from there, in any order (Spanish too), and a cell is said where it is."""
    crm, issues = _read(tmp_path, [["Moneda", "Nombre", "Tipo"], ["USD", "Dólar", "0.92"]],
                        [["Owner", "Month", "Last Year", "Quota"], ["Ana", "2027-01", 900, 1000],
                         ["Bo", "2027-01", 800, "abc"]], Config(currency="EUR", locale="en"))
    assert crm.inputs.rates.per_unit == {"USD": Decimal("0.92")}
    assert crm.inputs.quotas == [Quota("Ana", "2027-01", Decimal("1000"))]
    assert issues == [("error", "Quotas", 3, "D", "abc", "bad_number")]
    # Headers that do not name each column once: read by position, as before.
    crm, said = _read(tmp_path, [["Currency", "Rate"], ["USD", "0.92"]],
                      [["Rep", "Period", "Target"], ["Ana", "2027-01", 1000]], Config(currency="EUR", locale="en"))
    assert crm.inputs.quotas == [Quota("Ana", "2027-01", Decimal("1000"))] and said == []


def test_quotas_headers_naming_some_columns_say_once_they_are_read_by_position(tmp_path):
    """Quotas headed "Month, Owner, Target": read by position, each month said at its cell as
    no date, with nothing saying why. Said once, at the header row, naming the headers read and
    the order taken."""
    crm, issues = _read(tmp_path, [["Currency", "Rate"]],
                        [["Month", "Owner", "Target"], ["2027-01", "Ana", 1000], ["2027-02", "Bo", 900]],
                        Config(currency="EUR", locale="en"))
    assert crm.inputs.quotas == []
    assert [i for i in issues if i[3] is None] == [("warning", "Quotas", 1, None, None, "columns_by_position")]
    [said] = [i for i in crm.report.issues if i.code == "columns_by_position"]
    assert said.message == ('The header row names only some of this tab\'s columns ("Month", "Owner", "Target"), so '
                            'its columns are read by position, in this order: Owner, Month, Quota.')


def test_unreadable_rate_and_quota_cells_are_reported_at_their_cells(tmp_path):
    crm, issues = _read(tmp_path, [["Currency", "Rate"], ["USD", "0.92"], ["GBP", "abc"], ["MXN", 0], ["Euros", 2],
                                   ["CAD", "0.7 EUR"], ["$", 0.92]],
                        [["Owner", "Month", "Quota"], ["Ana", "soon", 5000], ["Bo", "2027-02", "$5,000"],
                         ["Cy", "03/15/2027", "6,000"], ["Di", "2027-04", "7000 EUR"]],
                        Config(currency="EUR", locale="en"))
    # "$" is USD here, said on its cell; the same rate as USD's row: one rate.
    assert crm.inputs.rates.per_unit == {"USD": Decimal("0.92")}
    assert crm.inputs.quotas == [Quota("Cy", "2027-03", Decimal("6000")), Quota("Di", "2027-04", Decimal("7000"))]
    assert issues == [
        ("error", "Rates", 3, "B", "abc", "bad_number"),
        ("error", "Rates", 4, "B", 0, "out_of_range"),
        ("error", "Rates", 5, "A", "Euros", "bad_currency"),
        ("error", "Rates", 6, "B", "0.7 EUR", "bad_number"),
        ("warning", "Rates", 7, "A", "$", "symbol_guess"),
        ("error", "Quotas", 2, "B", "soon", "bad_date"),
        ("error", "Quotas", 3, "C", "$5,000", "currency_conflict"),
    ]
    [month] = [i for i in crm.report.issues if i.tab == "Quotas" and i.column == "B"]
    assert "2027-01" in month.hint and month.header == "Month"


def test_a_spanish_quotas_tab_reads_day_first_and_decimal_comma(tmp_path):
    path = xlsx(tmp_path / "s.xlsx", {"Accounts": ACCOUNTS, "Cuotas": [["Propietario", "Mes", "Cuota"],
                                                                     ["Ana", "03/02/2027", "1.500,50"]]})
    crm = read_crm(XlsxWorkbook(path).read(), Config(currency="EUR"))
    assert crm.inputs.quotas == [Quota("Ana", "2027-02", Decimal("1500.50"))]


def test_a_currency_with_two_rates_has_none_and_both_rows_are_said(tmp_path):
    """Which of two rates holds is not sheetcrm's to guess (the last row's won before): EUR
    amounts are left out of summaries with the missing rate said, never converted at either."""
    crm, issues = _read(tmp_path, [["Currency", "Rate"], ["EUR", "1.08"], ["GBP", "1.27"], ["eur", "1.10"],
                                   ["GBP", "1.27"]],
                        [["Owner", "Month", "Quota"]], Config(currency="USD", locale="en"))
    assert crm.inputs.rates.per_unit == {"GBP": Decimal("1.27")}  # the same rate twice is one
    assert issues == [("error", "Rates", 2, "B", "1.08", "duplicate_rate"),
                      ("error", "Rates", 4, "B", "1.10", "duplicate_rate")]
    said = next(i for i in crm.report.issues if i.code == "duplicate_rate")
    assert said.message == ("EUR has more than one rate on this tab (rows 2, 4): sheetcrm cannot tell which holds, "
                            "so amounts in EUR are left out of summaries.")


def test_an_owner_with_two_quotas_for_a_month_has_none_and_both_rows_are_said(tmp_path):
    """Two rows for Ana in 2027-01 were added up (a quota pasted twice doubled, her attainment
    halved): now neither counts, and both are said. Other months and owners are untouched."""
    crm, issues = _read(tmp_path, [["Currency", "Rate"]],
                        [["Owner", "Month", "Quota"], ["Ana", "2027-01", 5000], ["Bo", "2027-01", 4000],
                         ["ana ", "2027-01", 5000], ["Ana", "2027-02", 6000]], Config(currency="USD", locale="en"))
    assert crm.inputs.quotas == [Quota("Bo", "2027-01", Decimal("4000")), Quota("Ana", "2027-02", Decimal("6000"))]
    assert issues == [("error", "Quotas", 2, "C", 5000, "duplicate_quota"),
                      ("error", "Quotas", 4, "C", 5000, "duplicate_quota")]


def _deals(*rows):
    return [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
            *[[f"OPP-{n:04d}", f"D{n}", "Acme", *row] for n, row in enumerate(rows, 1)]]


def test_owner_spellings_are_one_owner_in_the_forecast_kpis_and_quotas(tmp_path):
    # Case and a doubled space differ; the Quotas tab shouts the name: all one person.
    path = xlsx(tmp_path / "o.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana García", "Closed Won", 1000, dt.date(2026, 3, 10), dt.date(2026, 1, 1)],
                                ["ana garcía", "Closed Won", 2000, dt.date(2026, 3, 12), dt.date(2026, 1, 1)],
                                ["Ana  García", "Negotiation", 4000, dt.date(2026, 3, 20), dt.date(2026, 1, 1)]),
        "Activities": [["ID", "Date", "Type", "Subject", "Related", "Owner"],
                       ["ACT-0001", dt.date(2026, 3, 14), "Call", "Hi", "OPP-0003", "ANA GARCÍA"]],
        "Quotas": [["Owner", "Month", "Quota"], ["ANA GARCÍA", "2026-03", 10000]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    fc, kpis = outcome.results.forecast, outcome.results.kpis
    assert list(fc.by_owner) == ["Ana García"]  # the spelling the cells use most ("Ana  García" tidied counts)
    march = fc.by_owner["Ana García"][0]
    assert (march.closed_won, march.quota, march.attainment) == (3000, 10000, 30)
    assert list(kpis.by_owner) == ["Ana García"] and kpis.by_owner["Ana García"].won_revenue == 3000
    assert list(kpis.activities_by_owner) == ["Ana García"]
    assert not [i for i in outcome.crm.report.issues if i.tab == "Quotas"]
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(path)["Forecast"].iter_rows(min_row=2)]
    assert [r[1] for r in rows if r and r[0] == "2026-03"] == ["(all)", "Ana García"]


def test_a_quota_of_nobody_is_an_error_and_of_no_deal_owner_a_warning(tmp_path):
    path = xlsx(tmp_path / "q.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Closed Won", 3000, dt.date(2026, 3, 10), dt.date(2026, 1, 1)]),
        "Quotas": [["Owner", "Month", "Quota"], ["Ana", "2026-03", 10000], [None, "2026-03", 50000],
                   ["Team", "2026-03", 20000]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    said = [(i.severity, i.row, i.column, i.value, i.code) for i in outcome.crm.report.issues if i.tab == "Quotas"]
    assert said == [("error", 3, "A", None, "required"), ("warning", 4, "A", "Team", "unknown_owner")]
    # The owner-less row counts nowhere; Team's, a warning, still counts (a new rep's quota is real).
    assert outcome.results.forecast.months[0].quota == 30000


def test_a_rate_for_the_base_currency_other_than_1_is_ignored_and_said(tmp_path):
    crm, issues = _read(tmp_path, [["Currency", "Rate"], ["USD", 1.1], ["EUR", 1.08], ["USD", 1]],
                        [["Owner", "Month", "Quota"]], Config(currency="USD"))
    assert crm.inputs.rates.per_unit == {"EUR": Decimal("1.08"), "USD": Decimal("1")}
    assert crm.inputs.rates.rate("USD") == 1
    assert issues == [("warning", "Rates", 2, "B", 1.1, "out_of_range")]


def test_months_spelled_by_name_or_number_are_read_and_a_two_digit_year_is_refused(tmp_path):
    """Month name + four-digit year, MM/YYYY and YYYY/MM name one month; "Dec-26" may be
    December 2026 or the 26th of December of a year it does not say: refused at its cell."""
    spelled = ["12/2026", "Dec 2026", "December 2026", "2026/12", "dic 2026", "diciembre de 2026", "Dec. 2026"]
    crm, issues = _read(tmp_path, [["Currency", "Rate"]],
                        [["Owner", "Month", "Quota"], *[[f"O{n}", m, 1000] for n, m in enumerate(spelled)],
                         ["X", "Dec-26", 1000], ["Y", "dic-26", 1000]], Config(currency="USD", locale="en"))
    assert crm.inputs.quotas == [Quota(f"O{n}", "2026-12", Decimal(1000)) for n in range(len(spelled))]
    assert issues == [("error", "Quotas", 9, "B", "Dec-26", "ambiguous_date"),
                      ("error", "Quotas", 10, "B", "dic-26", "ambiguous_date")]
    said = next(i for i in crm.report.issues if i.value == "Dec-26")
    assert "2026-12" in said.message and "26" in said.message and "2026-12" in said.hint


def test_a_quota_that_cannot_be_read_leaves_the_team_with_no_quota_nor_attainment(tmp_path):
    """Seven owners won 1,000 each against 2,000; one quota row is readable. The team's
    quota was 2,000 and its attainment 350 %: now blank, with the reason at the Forecast and
    the Dashboard's coverage blank too; the readable owner keeps hers."""
    owners = "ABCDEFG"
    path = xlsx(tmp_path / "t.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(*[[o, "Closed Won", 1000, dt.date(2026, 12, 1), dt.date(2026, 11, 1)]
                                  for o in owners]),
        "Quotas": [["Owner", "Month", "Quota"], ["A", dt.date(2026, 12, 15), 2000],
                   *[[o, "soon", 2000] for o in owners[1:-1]], ["G", "2026-12", "2,000 EUR"]]})
    outcome = sync(XlsxWorkbook(path), Config(locale="en", forecast_months=2), as_of=dt.date(2026, 12, 2))
    fc = outcome.results.forecast
    team = fc.months[0]
    assert (team.closed_won, team.quota, team.attainment, team.quota_unread) == (7000, None, None, True)
    assert fc.to_json()["months"][0]["attainment"] is None and fc.to_json()["months"][0]["quota_unread"] is True
    a = fc.by_owner["A"][0]
    assert (a.quota, a.attainment, a.quota_unread) == (2000, 50, False)
    assert fc.by_owner["G"][0].quota_unread and not fc.by_owner["G"][1].quota_unread  # G's row is December's
    assert outcome.results.kpis.pipeline_coverage is None
    assert outcome.results.kpis.pipeline_coverage_basis == "quota_unread"
    said = [(i.tab, i.value, i.code) for i in outcome.crm.report.issues if i.code == "quota_unread"]
    assert said == [("Forecast", "2026-12, 2027-01", "quota_unread"), ("Dashboard", None, "quota_unread")]
    book = openpyxl.load_workbook(path)
    rows = [[c.value for c in r] for r in book["Forecast"].iter_rows(min_row=2)]
    first = next(r for r in rows if r and r[0] == "2026-12" and r[1] == "(all)")
    assert first[6:9] == [7000, None, None]
    validation = [[c.value for c in r] for r in book["Validation"].iter_rows()]
    assert any("quota_unread" in r and "Forecast" in r for r in validation)


def test_an_owner_s_quota_with_no_month_is_said_and_leaves_the_team_total_blank(tmp_path):
    crm, issues = _read(tmp_path, [["Currency", "Rate"]],
                        [["Owner", "Month", "Quota"], ["Ana", "2027-01", 5000], ["Bo", None, 4000]],
                        Config(currency="USD", locale="en"))
    assert issues == [("error", "Quotas", 3, "B", None, "required")]
    assert crm.inputs.unread_quotas == [UnreadQuota("Bo", None)]


def test_a_negative_quota_is_an_error_at_its_cell_and_the_month_has_no_quota(tmp_path):
    """A quota of -2,000 was read as one: attainment -50 % and a team quota short by it, with no
    word. Refused at its cell, as a deal's Amount below 0 is; the month's team total is blank."""
    crm, issues = _read(tmp_path, [["Currency", "Rate"]],
                        [["Owner", "Month", "Quota"], ["Ana", "2027-01", -2000], ["Bo", "2027-01", "(1,000)"],
                         ["Cy", "2027-01", 3000]], Config(currency="EUR", locale="en"))
    assert crm.inputs.quotas == [Quota("Cy", "2027-01", Decimal("3000"))]
    assert issues == [("error", "Quotas", 2, "C", -2000, "negative_amount"),
                      ("error", "Quotas", 3, "C", "(1,000)", "negative_amount")]
    assert crm.inputs.unread_quotas == [UnreadQuota("Ana", "2027-01"), UnreadQuota("Bo", "2027-01")]


def test_a_quota_for_only_some_months_of_the_quarter_leaves_coverage_blank_and_said(tmp_path):
    """Q4 2026 has a quota for December only (5,000); a deal won in November (2,000, a month with
    no quota) was taken off December's quota: coverage 3,000 ÷ 3,000 = 1.0×, where December's own
    quota gives 0.6× and a quarterly quota typed on December's row gives yet another figure.
    Blank, and said at the Dashboard and by `kpis` (text and JSON)."""
    path = xlsx(tmp_path / "p.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Closed Won", 2000, dt.date(2026, 11, 10), dt.date(2026, 10, 1)],
                                ["Ana", "Negotiation", 3000, dt.date(2026, 12, 20), dt.date(2026, 10, 1)]),
        "Quotas": [["Owner", "Month", "Quota"], ["Ana", "2026-12", 5000]]})
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    run = [sys.executable, "-m", "sheetcrm", "kpis", "--workbook", str(path), "--as-of", "2026-12-02"]
    as_json = json.loads(subprocess.run([*run, "--format", "json"], capture_output=True, text=True, env=env,
                                        timeout=120).stdout)
    assert (as_json["pipeline_coverage"], as_json["pipeline_coverage_basis"]) == (None, "quota_partial")
    text = subprocess.run(run, capture_output=True, text=True, env=env, timeout=120).stdout
    assert "the Quotas tab gives Ana a quota for only some months of this quarter" in text   # whose
    outcome = sync(XlsxWorkbook(path), Config(locale="en"), as_of=dt.date(2026, 12, 2))
    assert outcome.results.kpis.pipeline_coverage is None
    said = [(i.tab, i.code, i.value) for i in outcome.crm.report.issues if i.code.startswith("quota_")]
    assert said == [("Dashboard", "quota_partial", "Ana")]   # whose quota to complete


def test_a_quota_for_every_month_of_the_quarter_still_gives_coverage(tmp_path):
    # The same deals with October and November given a quota too: (3,000 + 5,000) - 2,000 won.
    path = xlsx(tmp_path / "f.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Closed Won", 2000, dt.date(2026, 11, 10), dt.date(2026, 10, 1)],
                                ["Ana", "Negotiation", 3000, dt.date(2026, 12, 20), dt.date(2026, 10, 1)]),
        "Quotas": [["Owner", "Month", "Quota"], ["Ana", "2026-10", 0], ["Ana", "2026-11", 3000],
                   ["Ana", "2026-12", 5000]]})
    kpis = sync(XlsxWorkbook(path), Config(locale="en"), as_of=dt.date(2026, 12, 2)).results.kpis
    assert (kpis.pipeline_coverage, kpis.pipeline_coverage_basis) == (Decimal("0.5"), "quota")


def test_deals_with_no_owner_are_under_a_fixed_json_key_and_named_in_the_teams_language_on_tabs(tmp_path):
    """JSON is for programs: the deals with no Owner are under "" in every language, never the
    translated "(sin propietario)", which a person could be named; the tabs say it in Spanish."""
    from sheetcrm.i18n import using
    from sheetcrm.render import forecast_body

    path = xlsx(tmp_path / "o.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Closed Won", 1000, dt.date(2026, 3, 10), dt.date(2026, 1, 1)],
                                [None, "Negotiation", 2000, dt.date(2026, 3, 20), dt.date(2026, 1, 1)],
                                ["(sin propietario)", "Negotiation", 4000, dt.date(2026, 3, 20), dt.date(2026, 1, 1)]),
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"],
                  ["TSK-0001", dt.date(2026, 3, 1), "Call", "OPP-0002", None, "Open"]]})
    results = sync(XlsxWorkbook(path), Config(locale="es"), as_of=dt.date(2026, 3, 15)).results
    kpis, fc = results.kpis.to_json(), results.forecast.to_json()
    assert set(kpis["by_owner"]) == set(fc["by_owner"]) == {"", "Ana", "(sin propietario)"}
    assert kpis["by_owner"][""]["open_pipeline"] == "2000" and fc["by_owner"][""][0]["pipeline"] == "2000"
    assert kpis["overdue_tasks_by_owner"] == {"": 1}
    with using("es"):
        owners = {row[1] for row in forecast_body(results, "es") if len(row) > 2 and row[0] == "2026-03"}
    assert owners == {"(todos)", "Ana", "(sin propietario)"} and "" not in owners  # the person and no Owner: one label


@pytest.mark.parametrize("locale, said", [
    ("en", "2 open deals with a past close date are counted in the first month"),
    ("es", "2 oportunidades abiertas con fecha de cierre pasada cuentan en el primer mes")])
def test_the_forecast_tab_says_the_slipped_deals_its_first_month_holds(tmp_path, locale, said):
    """Open deals dated before the first month are counted in it: the Forecast tab says so, as
    `sheetcrm forecast` does, else its first month looks larger than its deals' dates show."""
    from sheetcrm.schema import FORECAST

    path = xlsx(tmp_path / "o.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Negotiation", 1000, dt.date(2026, 1, 10), dt.date(2025, 12, 1)],
                                ["Ana", "Proposal", 2000, dt.date(2026, 2, 20), dt.date(2025, 12, 1)],
                                ["Ana", "Closed Won", 4000, dt.date(2026, 2, 20), dt.date(2025, 12, 1)],
                                ["Ana", "Proposal", 500, dt.date(2026, 3, 20), dt.date(2026, 1, 1)])})
    sync(XlsxWorkbook(path), Config(locale=locale), as_of=dt.date(2026, 3, 15))
    rows = [[c for c in row if c is not None] for row in
            openpyxl.load_workbook(path)[FORECAST.display_title(locale)].iter_rows(values_only=True)]
    assert [r for r in rows if r][-1] == [said]


def test_a_quota_of_an_owner_whose_only_deal_has_errors_is_not_said_to_own_no_deal(tmp_path):
    # Ana's one deal lacks its Account (required: no `target` is made of the row), Bob's has an
    # amount in words: both rows are left out until fixed, but both people own a deal, so the
    # Quotas rows are no typo and "owns no deal" would be false.
    path = xlsx(tmp_path / "q.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "D1", None, "Ana", "Proposal", 3000, dt.date(2026, 3, 10), dt.date(2026, 1, 1)],
                          ["OPP-0002", "D2", "Acme", "Bob", "Proposal", "lots", dt.date(2026, 3, 10),
                           dt.date(2026, 1, 1)]],
        "Quotas": [["Owner", "Month", "Quota"], ["ana", "2026-03", 10000], ["Bob", "2026-03", 10000],
                   ["Team", "2026-03", 20000]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    said = [(i.row, i.value, i.code) for i in outcome.crm.report.issues if i.tab == "Quotas"]
    assert said == [(4, "Team", "unknown_owner")]


@pytest.mark.parametrize("locale, said, coverage_said", [
    ("en", "Team attainment for Mar 2026 is over the owners with a quota: Bo won $7,000.00 with no quota for the "
           "month, in Closed won but not in attainment.",
     "Pipeline coverage is over the owners with a quota this quarter: Bo has none, and their deals are not in it."),
    ("es", "El cumplimiento del equipo en mar 2026 es el de los propietarios con cuota: Bo ganó 7.000,00\xa0US$ sin "
           "cuota para ese mes, que cuenta en lo ganado pero no en el cumplimiento.",
     "La cobertura del embudo es la de los propietarios con cuota este trimestre: Bo no tiene cuota, y sus "
     "oportunidades no cuentan en ella.")])
def test_an_owner_with_no_quota_is_not_in_the_team_s_attainment_nor_coverage_and_is_named(
        tmp_path, locale, said, coverage_said):
    """Ana has a quota of 10,000 a month for Q1 2026 and won 3,000 in March; Bo has no quota and
    won 7,000. The team's March showed 10,000 won of a 10,000 quota, attainment 100 %, where
    those with a quota won 30 %; coverage 13,000 ÷ (30,000 − 10,000) = 0.65×, Bo's pipeline and
    wins set against Ana's quota. Now attainment 3,000 ÷ 10,000 = 30 % and coverage Ana's
    4,000 ÷ (30,000 − 3,000) = 4/27, Bo named beside each, on the tabs and in JSON."""
    from sheetcrm.schema import DASHBOARD, FORECAST

    path = xlsx(tmp_path / "w.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Closed Won", 3000, dt.date(2026, 3, 10), dt.date(2026, 1, 1)],
                                ["Bo", "Closed Won", 7000, dt.date(2026, 3, 12), dt.date(2026, 1, 1)],
                                ["Ana", "Negotiation", 4000, dt.date(2026, 3, 20), dt.date(2026, 1, 1)],
                                ["Bo", "Negotiation", 9000, dt.date(2026, 3, 25), dt.date(2026, 1, 1)]),
        "Quotas": [["Owner", "Month", "Quota"], *[["Ana", f"2026-0{m}", 10000] for m in (1, 2, 3)]]})
    results = sync(XlsxWorkbook(path), Config(locale=locale, forecast_months=2), as_of=dt.date(2026, 3, 15)).results
    march = results.forecast.months[0]
    assert (march.closed_won, march.quota, march.attainment) == (10000, 10000, 30)
    assert (march.won_without_quota, march.owners_without_quota) == (7000, ("Bo",))
    as_json = results.forecast.to_json()["months"][0]
    assert as_json["attainment"] == pytest.approx(0.3) and as_json["won_without_quota"] == "7000"
    assert results.forecast.by_owner["Ana"][0].attainment == 30
    kpis = results.kpis
    assert (kpis.pipeline_coverage, kpis.pipeline_coverage_basis) == (Decimal(4000) / Decimal(27000), "quota")
    assert kpis.to_json()["pipeline_coverage_without_quota"] == ["Bo"]
    book = openpyxl.load_workbook(path)
    rows = [[c for c in row if c is not None] for row in
            book[FORECAST.display_title(locale)].iter_rows(values_only=True)]
    assert [said] in rows
    team = next(r for r in rows if r and r[0] == "2026-03")
    assert team[-3:] == [10000, 10000, pytest.approx(0.3)]
    dashboard = [[c.value for c in r] for r in book[DASHBOARD.display_title(locale)].iter_rows()]
    assert [r[1] for r in dashboard if isinstance(r[2], str) and r[2].endswith(coverage_said)] == [0.15]


@pytest.mark.parametrize("locale, zero, attainment_said, coverage_said", [
    ("en", 0, "Attainment is blank where the quota is 0: no share of a quota of 0 can be shown.",
     "Pipeline coverage is blank: this quarter's quota on the Quotas tab is 0, so there is nothing left to win to "
     "cover."),
    ("es", "0,00", "El cumplimiento queda en blanco donde la cuota es 0: no hay porcentaje de una cuota de 0.",
     "La cobertura del embudo queda en blanco: la cuota de este trimestre en la pestaña Quotas es 0, así que no "
     "queda nada por ganar que cubrir.")])
def test_a_quota_of_0_is_said_not_called_won_already(tmp_path, locale, zero, attainment_said, coverage_said):
    """Ana's quota is 0 for each month of Q1 2026 (typed 0, or "0,00"); nothing is won. The
    Dashboard said "this quarter's quota is won already" of a quota of 0 with nothing won, and
    the Forecast's blank attainment beside a Quota of 0 was said nowhere."""
    from sheetcrm.schema import DASHBOARD, FORECAST

    path = xlsx(tmp_path / "z.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Negotiation", 4000, dt.date(2026, 3, 20), dt.date(2026, 1, 1)]),
        "Quotas": [["Owner", "Month", "Quota"], *[["Ana", f"2026-0{m}", zero] for m in (1, 2, 3)]]})
    outcome = sync(XlsxWorkbook(path), Config(locale=locale, forecast_months=1), as_of=dt.date(2026, 3, 15))
    march = outcome.results.forecast.months[0]
    assert (march.closed_won, march.quota, march.attainment) == (0, 0, None)
    kpis = outcome.results.kpis
    assert (kpis.pipeline_coverage, kpis.pipeline_coverage_basis) == (None, "quota_zero")
    assert not [i for i in outcome.crm.report.issues if i.tab == "Quotas"]
    book = openpyxl.load_workbook(path)
    rows = [[c for c in row if c is not None] for row in
            book[FORECAST.display_title(locale)].iter_rows(values_only=True)]
    assert [attainment_said] in rows
    dashboard = [[c.value for c in r] for r in book[DASHBOARD.display_title(locale)].iter_rows()]
    assert [r[1] for r in dashboard if isinstance(r[2], str) and r[2].endswith(coverage_said)] == [None]


def test_a_quota_row_with_an_empty_quota_is_said_at_the_cell(tmp_path):
    # "Ana, 2026-03, (empty)" read as a quota set; it is none, and not 0: said where it is typed.
    crm, issues = _read(tmp_path, [["Currency", "Rate"]],
                        [["Owner", "Month", "Quota"], ["Ana", "2026-02", 1000], ["Ana", "2026-03", None]],
                        Config(currency="USD", locale="en"))
    assert crm.inputs.quotas == [Quota("Ana", "2026-02", Decimal(1000))] and crm.inputs.unread_quotas == []
    assert issues == [("warning", "Quotas", 3, "C", None, "required")]
    said = next(i for i in crm.report.issues if i.tab == "Quotas")
    assert "Ana" in said.message and "2026-03" in said.message and "0" in said.hint


def test_a_quota_in_another_currency_by_its_currency_column_is_refused_not_read_as_base(tmp_path):
    """"Owner, Month, Quota, Currency": Ana 5,000 EUR and Bo 1,000 USD on a USD team read as a
    team quota of 6,000 USD (attainment 50 % of 3,000 won), the Currency column unread. Now Ana's
    row is a currency_conflict at its Quota and March's team quota and attainment are blank."""
    path = xlsx(tmp_path / "c.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Closed Won", 3000, dt.date(2026, 3, 10), dt.date(2026, 1, 1)],
                                ["Bo", "Negotiation", 4000, dt.date(2026, 3, 20), dt.date(2026, 1, 1)]),
        "Quotas": [["Owner", "Month", "Quota", "Currency"], ["Ana", "2026-03", 5000, "EUR"],
                   ["Bo", "2026-03", 1000, "usd"], ["Bo", "2026-04", 1000, "dólares"]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    said = [(i.severity, i.row, i.column, i.value, i.code) for i in outcome.crm.report.issues if i.tab == "Quotas"]
    assert said == [("error", 2, "C", 5000, "currency_conflict"), ("error", 4, "D", "dólares", "bad_currency")]
    assert outcome.crm.inputs.quotas == [Quota("Bo", "2026-03", Decimal(1000))]
    march, april = outcome.results.forecast.months[:2]
    assert (march.quota, march.attainment, march.quota_unread) == (None, None, True)
    assert (april.quota, april.quota_unread) == (None, True)


def test_a_year_alone_in_a_month_cell_is_no_month(tmp_path):
    """Ana's Month typed 2026 (a yearly quota) was read, with a warning, as 18 July 1905: the quota
    counted in a month of 1905, every month shown short of it. Now an error at the cell and the
    quota in no month, so the team's months are blank, not short."""
    crm, issues = _read(tmp_path, [["Currency", "Rate"]],
                        [["Owner", "Month", "Quota"], ["Ana", 2026, 60000], ["Bo", "2026-03", 1000]],
                        Config(currency="USD", locale="en"))
    assert crm.inputs.quotas == [Quota("Bo", "2026-03", Decimal(1000))]
    assert crm.inputs.unread_quotas == [UnreadQuota("Ana", None)]
    assert issues == [("error", "Quotas", 2, "B", 2026, "number_as_date")]


def _merged_quotas(tmp_path, quota_merged: bool):
    """Ana's and Bo's quotas for Q1 2026, each Owner merged over their three months; with
    `quota_merged`, Ana's 30,000 merged over her three Quota cells too."""
    path = xlsx(tmp_path / "m.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": _deals(["Ana", "Closed Won", 3000, dt.date(2026, 3, 10), dt.date(2026, 1, 1)],
                                ["Bo", "Negotiation", 4000, dt.date(2026, 3, 20), dt.date(2026, 1, 1)]),
        "Quotas": [["Owner", "Month", "Quota"],
                   *[["Ana" if m == 1 else None, f"2026-0{m}", 30000 if quota_merged and m == 1 else
                      None if quota_merged else 10000] for m in (1, 2, 3)],
                   *[["Bo" if m == 1 else None, f"2026-0{m}", 5000] for m in (1, 2, 3)]]})
    wb = openpyxl.load_workbook(path)
    for block in ("A2:A4", "A5:A7", *(("C2:C4",) if quota_merged else ())):
        wb["Quotas"].merge_cells(block)
    wb.save(path)
    return sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))


def test_an_owner_merged_over_their_months_owns_each_row_s_quota(tmp_path):
    """Ana's name merged over her three rows (and Bo's over his) was read in the first row
    alone: the other rows were "a quota of nobody's" (errors saying no owner, where the sheet
    shows one) and the quarter "partial". Read as seen: March's team quota 10,000 + 5,000,
    attainment 3,000 ÷ 15,000 = 20 %, coverage Bo's 4,000 ÷ (45,000 − 3,000)."""
    outcome = _merged_quotas(tmp_path, quota_merged=False)
    assert not [i for i in outcome.crm.report.issues if i.tab == "Quotas"]
    march = outcome.results.forecast.months[0]
    assert (march.quota, march.attainment) == (15000, 20)
    assert outcome.results.kpis.pipeline_coverage == Decimal(4000) / Decimal(42000)


def test_a_quota_merged_over_several_months_is_refused_not_read_as_each_month_s(tmp_path):
    # 30,000 over Ana's three months: each month's, or the quarter's? Not guessed: said, months blank.
    outcome = _merged_quotas(tmp_path, quota_merged=True)
    said = [(i.severity, i.row, i.column, i.value, i.code) for i in outcome.crm.report.issues if i.tab == "Quotas"]
    assert said == [("error", 2, "C", 30000, "merged_number")]
    assert [(q.owner, q.month) for q in outcome.crm.inputs.quotas] == [("Bo", f"2026-0{m}") for m in (1, 2, 3)]
    march = outcome.results.forecast.months[0]
    assert (march.quota, march.attainment, march.quota_unread) == (None, None, True)


def test_a_rate_merged_over_two_currencies_is_neither_s(tmp_path):
    """1.1 merged over the EUR and GBP rows: read as each row's (the merged cells read as seen),
    GBP's deals would be converted at EUR's rate without a word. Refused at its cell: neither
    currency has a rate, so their deals are left out of the totals and said (missing_rate)."""
    path = xlsx(tmp_path / "r.xlsx", {"Accounts": ACCOUNTS, "Rates": [["Currency", "Rate"], ["EUR", 1.1], ["GBP", None],
                                                                      ["CHF", 1.2]]})
    wb = openpyxl.load_workbook(path)
    wb["Rates"].merge_cells("B2:B3")
    wb.save(path)
    crm = read_crm(XlsxWorkbook(path).read(), Config(currency="USD", locale="en"))
    assert crm.inputs.rates.per_unit == {"CHF": Decimal("1.2")}
    assert [(i.severity, i.row, i.column, i.value, i.code) for i in crm.report.issues if i.tab == "Rates"] == [
        ("error", 2, "B", 1.1, "merged_number")]


def test_a_missing_rate_of_an_owner_with_no_quota_leaves_the_team_s_attainment_whole(tmp_path):
    """Bo, with no quota, won 7,000 CHF with no CHF rate: March's Closed won is blank (it would
    count it), but attainment is Ana's 3,000 ÷ her 10,000 and needs no CHF: it was blank too,
    and the note said "Bo won — with no quota"."""
    from sheetcrm.schema import FORECAST

    path = xlsx(tmp_path / "chf.xlsx", {
        "Accounts": ACCOUNTS,
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "D1", "Acme", "Ana", "Closed Won", 3000, "USD", dt.date(2026, 3, 10)],
                          ["OPP-0002", "D2", "Acme", "Bo", "Closed Won", 7000, "CHF", dt.date(2026, 3, 12)]],
        "Quotas": [["Owner", "Month", "Quota"], ["Ana", "2026-03", 10000]]})
    fc = sync(XlsxWorkbook(path), Config(locale="en", forecast_months=1), as_of=dt.date(2026, 3, 15)).results.forecast
    march = fc.months[0]
    assert (march.closed_won, march.quota, march.attainment) == (None, 10000, 30)
    assert (march.won_without_quota, march.owners_without_quota) == (None, ("Bo",))
    assert fc.to_json()["months"][0]["attainment"] == pytest.approx(0.3)
    rows = [[c for c in row if c is not None] for row in
            openpyxl.load_workbook(path)[FORECAST.title].iter_rows(values_only=True)]
    assert ["Team attainment for Mar 2026 is over the owners with a quota: what Bo won with no quota for the month "
            "is in Closed won, not in attainment."] in rows
