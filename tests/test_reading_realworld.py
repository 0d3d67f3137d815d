"""Sheets shaped the way teams keep them: sheetcrm reads what the person sees, or says it cannot be sure.

Each realworld fixture is synced as an .xlsx copy and gives the values its README line says; each kind
(column conventions, percents, currencies inside amounts, formula errors, merged blocks, header rows,
side tables and totals, extreme numbers, where new columns go) also has inputs of its own here.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from sheetcrm.cli import main
from sheetcrm.config import Config
from sheetcrm.i18n import using
from sheetcrm.sync import plan_sync, sync
from sheetcrm.table import MAX_COLUMNS
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Grid, Snapshot
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.schema import TABS
from test_sync_xlsx import user_cells

FIXTURES = Path(__file__).parent / "fixtures" / "realworld"
AS_OF = dt.date(2026, 12, 15)
OPP_HEADER = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]
ACCOUNTS = [["ID", "Name"], ["ACC-0001", "Acme"]]


def copy_fixture(name: str, tmp_path: Path) -> XlsxWorkbook:
    path = tmp_path / name
    shutil.copyfile(FIXTURES / name, path)  # not the mode: the shared fixtures are read-only
    return XlsxWorkbook(path)


COMPUTED = {name for spec in TABS.values() for c in spec.computed for name in (c.header, c.header_es)}
_ABSENT = (None,)


def assert_only_sheetcrm_cells_changed(before, after, header_rows: dict[str, int] | None = None):
    """Every changed cell of the people's tabs is an ID written into an empty cell (or the ID header), or a
    cell of a computed column, whose header sits in the tab's header row (row 1 unless `header_rows` says)."""
    header_rows = header_rows or {}
    def column(tab, coord):
        letters = coord.rstrip("0123456789")
        return after.get((tab, f"{letters}{header_rows.get(tab, 1)}"), _ABSENT)[0]
    changed = {k for k in before.keys() | after.keys()
               if k[1] != "widths" and before.get(k, _ABSENT)[0] != after.get(k, _ABSENT)[0]
               or k in before and k in after and before[k] != after[k]}
    for tab, coord in changed:
        if column(tab, coord) in COMPUTED:
            continue
        old = before.get((tab, coord), _ABSENT)
        assert old[0] is None, f"{tab}!{coord} was {old} and changed to {after.get((tab, coord))}"
        new = after[(tab, coord)][0]
        assert isinstance(new, str) and (new == "ID" or "-" in new), (tab, coord, new)
    return changed


def synced(name: str, tmp_path: Path, config: Config | None = None, header_rows: dict[str, int] | None = None):
    """Sync a copy of a fixture; check that only sheetcrm's cells changed and a second sync writes nothing."""
    book = copy_fixture(name, tmp_path)
    before = user_cells(book.path)
    outcome = sync(book, config or Config(), as_of=AS_OF)
    assert_only_sheetcrm_cells_changed(before, user_cells(book.path), header_rows)
    assert not sync(book, config or Config(), as_of=AS_OF).plan
    return outcome, book


def opps(rows: list[list], config: Config | None = None, tab: str = "Opportunities", **facts):
    """read_crm over an Opportunities tab (header + rows) with the Grid facts a backend reports."""
    snapshot = Snapshot(tabs={"Accounts": Grid(ACCOUNTS), tab: Grid(rows, **facts)})
    return read_crm(snapshot, config or Config())


def issues(crm, code: str | None = None):
    # `left_out` is the tab's one summary of the rows with errors (tests/test_references.py).
    # A workbook without an Opportunities tab is also told so with the figures it makes (the Forecast).
    return [i for i in crm.report.issues if i.code not in ("missing_tab", "left_out") and (code is None or i.code == code)
            and not (i.code == "column_not_found" and i.value == "Opportunities")]


def amounts(crm) -> list:
    return [r.record.amount if r.record else None for r in crm.tables["opportunities"].rows]


def deal(amount, currency=None, close="2026-12-15", name="Deal"):
    return ["", name, "Acme", "Mia", "Proposal", amount, currency, close]


# --- the fixtures, end to end on .xlsx ----------------------------------------------------------


def test_eu_thousands_dot_under_the_default_locale(tmp_path):
    outcome, _ = synced("eu_thousands_dot_default_locale.xlsx", tmp_path, Config(currency="EUR"))
    assert [o.amount for o in outcome.results.opportunities] == [Decimal("1234.50"), 12500, 2000]
    assert {o.currency for o in outcome.results.opportunities} == {"EUR"}
    assert not issues(outcome.crm)  # the column proves its decimal comma: nothing to doubt
    team = outcome.results.kpis.team
    assert (team.open_pipeline, team.weighted_pipeline) == (Decimal("15734.50"), Decimal("7867.25"))


@pytest.mark.parametrize("config", [Config(), Config(currency="USD")])
def test_a_missing_rate_under_an_unset_base_currency_offers_setting_it(config):
    """Found at stop 39: a Spanish team whose amounts are all in euros, with no sheetcrm.toml,
    was told at each deal only to add EUR to the Rates tab, and following it saw its totals in
    dollars. While the file sets no currency the hint offers setting it too; a base the file
    sets is the team's choice, and the hint stays the rate."""
    snapshot = Snapshot(tabs={"Cuentas": Grid([["ID", "Nombre"], ["ACC-0001", "Acme"]]),
                              "Oportunidades": Grid([["ID", "Nombre", "Cuenta", "Etapa", "Importe"],
                                                     ["OPP-0001", "A", "Acme", "Propuesta", "12.500 €"]])})
    with using("es"):
        crm, results, _ = plan_sync(snapshot, config, AS_OF)
    [said] = [i for i in results.warnings if i.code == "missing_rate"]
    offered = 'pon currency = "EUR" en sheetcrm.toml (USD es la moneda base mientras el archivo no fije otra)'
    assert said.hint.startswith("Añade EUR a la pestaña Tipos de cambio con cuántos USD vale un EUR")
    assert (offered in said.hint) == ("currency" not in config.model_fields_set)


def test_amount_with_an_iso_code_is_in_that_currency(tmp_path):
    outcome, book = synced("amount_with_iso_code_prefix.xlsx", tmp_path)
    first, second = outcome.results.opportunities
    assert (first.amount, first.currency) == (10000, "JPY")
    assert (second.amount, second.currency) == (Decimal("10000.00"), "USD")
    team = outcome.results.kpis.team
    assert (team.open_pipeline, team.weighted_pipeline) == (Decimal("10067.00"), Decimal("5033.50"))
    # No Currency column was added: the currency is read, never written into the team's tab.
    assert openpyxl.load_workbook(book.path)["Opportunities"]["H1"].value == "Probability %"


def test_title_rows_above_the_header(tmp_path):
    title = openpyxl.load_workbook(FIXTURES / "title_rows_above_header.xlsx")["Accounts"]["A1"].value
    outcome, book = synced("title_rows_above_header.xlsx", tmp_path, header_rows={"Accounts": 3})
    ws = openpyxl.load_workbook(book.path)["Accounts"]
    assert [a.name for a in outcome.crm.records("accounts")] == ["Lumen Parts Ltd", "Orchid Dental"]
    assert [ws["F3"].value, ws["F4"].value, ws["F5"].value] == ["ID", "ACC-0001", "ACC-0002"]
    assert ws["A1"].value == title and all(ws.cell(r, c).value is None for r in (1, 2) for c in range(2, 8))
    assert not issues(outcome.crm)
    # The Status dropdown starts under the header: on the header it flagged "Status" itself as off its list.
    assert [str(v.sqref) for v in ws.data_validations.dataValidation] == ["E4:E1048576"]


def test_percent_formatted_probability(tmp_path):
    outcome, book = synced("percent_100_read_as_1.xlsx", tmp_path)
    assert [o.probability for o in outcome.results.opportunities] == [100, 50]
    assert [m.weighted_amount for m in outcome.results.metrics] == [10000, 5000]
    assert outcome.results.kpis.team.weighted_pipeline == 15000
    ws = openpyxl.load_workbook(book.path)["Opportunities"]
    assert [ws["J2"].value, ws["J3"].value] == [1, 0.5]  # Probability %, as fractions


def test_percent_formatted_cells_with_the_backend_fact():
    rows = [OPP_HEADER + ["Probability"], deal(10000) + [1], deal(10000) + [0.5]]
    crm = opps(rows, percent={(1, 8), (2, 8)})
    assert [r.record.probability for r in crm.tables["opportunities"].rows] == [100, 50]
    assert not issues(crm)  # the format says what the cell shows: nothing is ambiguous


def test_text_in_a_percent_formatted_cell_shows_its_text_and_is_read_so():
    # Excel and Sheets show text as typed whatever the cell's number format: "0.6" is 0.6,
    # not 60%, and with "0.25" beside it the column writes fractions: 60 and 25 points.
    rows = [OPP_HEADER + ["Probability"], deal(10000) + ["0.6"], deal(10000) + ["0.25"], deal(10000) + [0.3]]
    crm = opps(rows, percent={(1, 8), (2, 8), (3, 8)})
    assert [r.record.probability for r in crm.tables["opportunities"].rows] == [60, 25, 30]
    rows = [OPP_HEADER + ["Probability"], deal(10000) + ["5"], deal(10000) + ["40"]]
    crm = opps(rows, percent={(1, 8), (2, 8)})
    assert [r.record.probability for r in crm.tables["opportunities"].rows] == [5, 40] and not issues(crm)


def test_formula_errors_with_the_backend_fact():
    rows = [OPP_HEADER, deal(None), deal(8000, "USD", None), ["", "Deal", None, "Mia", "Proposal", 2000, "USD"]]
    crm = opps(rows, errors={(1, 5): "#N/A", (2, 7): "#VALUE!", (3, 2): "#REF!"},
               formulas={(1, 5), (2, 7), (3, 2)})
    found = {(i.where(), i.code, i.value) for i in issues(crm)}
    assert found == {("Opportunities!F2", "formula_error", "#N/A"), ("Opportunities!H3", "formula_error", "#VALUE!"),
                     ("Opportunities!C4", "formula_error", "#REF!")}
    assert all("empty" not in i.message and '"' in i.message for i in issues(crm))
    # A deal whose amount cannot be read is never counted as 0 in a total.
    _, results, _ = plan_sync(Snapshot(tabs={"Accounts": Grid(ACCOUNTS),
                                             "Opportunities": Grid(rows, errors={(1, 5): "#N/A"})}), Config(), AS_OF)
    assert not [o for o in results.opportunities if o.amount == 0]


@pytest.mark.parametrize("google", [False, True])
def test_a_totals_row_whose_sum_shows_an_error_is_not_a_record_on_either_backend(google):
    """Found at stop 39: a totals row whose =SUM showed an error (Err:502 saved by LibreOffice,
    #VALUE! on Google) was no record on .xlsx, which knows the cell is a formula, but a deal
    with errors on Google, whose values read has no formulas: an ID written into the totals
    row, required errors at it. An error is a formula's result on both."""
    rows = [["ID", *OPP_HEADER[1:]], ["OPP-0001", "A", "Acme", "Mia", "Proposal", 100, "USD", "2026-12-15"],
            ["TOTAL", None, None, None, None, "#VALUE!", None, None],
            [None, "Total Q4", None, None, None, "#N/A", None, None]]
    crm = opps(rows, errors={(2, 5): "#VALUE!", (3, 5): "#N/A"}, formulas=set() if google else {(2, 5), (3, 5)})
    assert [r.row for r in crm.tables["opportunities"].rows] == [2]
    assert not issues(crm)


def test_a_totals_row_typed_as_text_like_the_amounts_above_it_is_not_a_record():
    """Found at stop 39: a Spanish team typing its amounts with the euro sign ("12.500 €") types
    its subtotals so too; such a row ("Subtotal Norte" in Notes, "15.900 €" under Amount) was read
    as a deal: an ID written into it, errors at its empty cells. Text that reads as a number
    under a numeric column is a number there, as a typed number is."""
    rows = [OPP_HEADER + ["Notes"], deal(None) + [""], ["", "A", "Acme", "Mia", "Proposal", "12.500 €", "EUR"],
            ["", None, None, None, None, "15.900 €", None, None, "Subtotal Norte"],
            ["", "TOTAL", None, None, None, "1,234.50", "EUR", None],
            ["", "Total Solutions", "Acme", "Mia", "Proposal", "1.000 €", None, None]]
    crm = opps(rows)
    assert [r.row for r in crm.tables["opportunities"].rows] == [2, 3, 6]  # a deal named so stays one


# --- numbers by column --------------------------------------------------------------------------


def test_a_column_with_one_decimal_comma_reads_every_dot_as_thousands():
    crm = opps([OPP_HEADER, deal("25.000 €"), deal("12.500 €"), deal("25.000,00 €")])
    assert amounts(crm) == [25000, 12500, 25000]
    assert not issues(crm)


def test_an_ambiguous_amount_alone_is_read_as_thousands_and_reported_with_both_readings():
    crm = opps([OPP_HEADER, deal("7.250 €")])
    assert amounts(crm) == [7250]
    (warning,) = issues(crm)
    assert (warning.severity, warning.code, warning.where()) == ("warning", "ambiguous_number", "Opportunities!F2")
    assert warning.message == '"7.250 €" read as 7250; could be 7.25.'


def test_a_dollar_amount_with_comma_grouping_under_es_is_twelve_hundred():
    crm = opps([OPP_HEADER, deal("$1,200"), deal("$3,400")], Config(locale="es"))
    assert amounts(crm) == [1200, 3400]
    codes = [i.code for i in issues(crm)]
    # Against the configured locale, so both readings are shown; and "$" is said to be the base currency.
    assert codes.count("ambiguous_number") == 2 and codes.count("symbol_base") == 1
    assert crm.tables["opportunities"].rows[0].record.currency == "USD"


def test_mixed_decimal_conventions_are_an_error_on_the_minority():
    crm = opps([OPP_HEADER, deal("1.234,50"), deal("2.000,75"), deal("1,999.95")])
    assert amounts(crm)[:2] == [Decimal("1234.50"), Decimal("2000.75")]
    (error,) = issues(crm)
    assert (error.severity, error.code, error.where(), error.value) == (
        "error", "mixed_convention", "Opportunities!F4", "1,999.95")


def test_a_plain_number_column_keeps_its_locale_and_warns_on_the_ambiguous_cell():
    rows = [["Opportunity", "SKU", "Quantity"], ["Deal", "P1", "1.500"], ["Deal", "P1", "2"]]
    snapshot = Snapshot(tabs={"Quote Lines": Grid(rows), "Products": Grid([["SKU", "Name", "Unit Price"],
                                                                              ["P1", "W", 1]])})
    crm = read_crm(snapshot, Config())
    # (Its Opportunity names no deal, an error that leaves the line out: its cells still read.)
    assert crm.tables["quote_lines"].rows[0].target.quantity == Decimal("1.5")
    assert [i.message for i in issues(crm, "ambiguous_number")] == ['"1.500" read as 1.5; could be 1500.']


def test_a_column_whose_cells_prove_both_conventions_as_often_still_says_its_ambiguous_cells():
    # One "1,5" and one "2.5": a tie, which the tab's language breaks (en) only as a guess, so a
    # quantity "1.250" is 1.25 or 1250 (a quote 1000 times off), said, never read quietly.
    rows = [["Opportunity", "SKU", "Quantity"], ["Deal", "P1", "1,5"], ["Deal", "P1", "2.5"], ["Deal", "P1", "1.250"]]
    snapshot = Snapshot(tabs={"Quote Lines": Grid(rows), "Products": Grid([["SKU", "Name", "Unit Price"],
                                                                              ["P1", "W", 1]])})
    crm = read_crm(snapshot, Config())
    said = [(i.code, i.where()) for i in issues(crm) if i.column == "C"]
    assert said == [("mixed_convention", "Quote Lines!C2"), ("ambiguous_number", "Quote Lines!C4")]
    # The config's locale alone settles a tie: the same cells read then as it says, unsaid.
    crm = read_crm(snapshot, Config(locale="en"))
    assert crm.tables["quote_lines"].rows[2].target.quantity == Decimal("1.25")
    assert [i.code for i in issues(crm) if i.column == "C"] == ["mixed_convention"]


def test_whole_numbers_read_grouped_thousands():
    snapshot = Snapshot(tabs={"Accounts": Grid([["Name", "Employees"], ["A", "1.200"], ["B", "15.000"]])})
    crm = read_crm(snapshot, Config())
    assert [a.employees for a in crm.records("accounts")] == [1200, 15000]


# --- dates by column ----------------------------------------------------------------------------


SPANISH = ["ID", "Nombre", "Cuenta", "Propietario", "Etapa", "Importe", "Moneda", "Fecha de cierre"]


def test_a_spanish_headed_sheet_reads_day_first_and_says_it_could_be_the_other():
    crm = opps([SPANISH, deal(100, close="03/12/2026")], tab="Oportunidades")
    assert crm.records("opportunities")[0].close_date == dt.date(2026, 12, 3)
    (warning,) = issues(crm)
    assert warning.code == "ambiguous_date" and "2026-12-03" in warning.message and "2026-03-12" in warning.message


def test_one_unambiguous_date_settles_the_column():
    crm = opps([OPP_HEADER, deal(1, close="03/12/2026"), deal(1, close="25/11/2026")])
    assert [o.close_date for o in crm.records("opportunities")] == [dt.date(2026, 12, 3), dt.date(2026, 11, 25)]
    assert not issues(crm)


def test_a_weekday_settles_its_own_date_but_not_the_columns_order():
    # "Fri, 04/03/2026" is 3 April (4 March 2026 is a Wednesday), in either order; it was a bare
    # bad_date. Pasted from a calendar or mail tool it shows that tool's order, not the team's:
    # "05/04/2026" beside it stays said both ways, and a day-first column does not call it mixed.
    crm = opps([OPP_HEADER, deal(1, close="Fri, 04/03/2026"), deal(1, close="05/04/2026")])
    assert [o.close_date for o in crm.records("opportunities")] == [dt.date(2026, 4, 3), dt.date(2026, 5, 4)]
    assert [(i.code, i.where()) for i in issues(crm)] == [("ambiguous_date", "Opportunities!H3")]
    crm = opps([SPANISH, deal(1, close="miércoles 04/03/2026"), deal(1, close="25/11/2026")], tab="Oportunidades")
    assert [o.close_date for o in crm.records("opportunities")] == [dt.date(2026, 3, 4), dt.date(2026, 11, 25)]
    assert not issues(crm)
    # 3 December and 12 March 2026 are both Thursdays: the weekday says nothing, the doubt is said.
    crm = opps([OPP_HEADER, deal(1, close="Thu, 03/12/2026")])
    assert crm.records("opportunities")[0].close_date == dt.date(2026, 3, 12)
    (said,) = issues(crm)
    assert said.code == "ambiguous_date" and "2026-12-03" in said.message


def test_a_configured_locale_is_trusted_over_the_tab_language():
    crm = opps([SPANISH, deal(100, close="03/12/2026")], Config(locale="en"), tab="Oportunidades")
    assert crm.records("opportunities")[0].close_date == dt.date(2026, 3, 12)
    assert not issues(crm)


def test_a_cell_that_proves_the_other_convention_than_the_configs_leaves_the_columns_doubts_said():
    # One "0,925" (a decimal comma: no thousands group starts with 0) in a team that set "en":
    # the column reads as its cells show, but "1,200" is said, not silently 1.2.
    crm = opps([OPP_HEADER, deal("0,925", name="A"), deal("1,200", name="B")], Config(locale="en"))
    assert amounts(crm) == [Decimal("0.925"), Decimal("1.2")]
    (said,) = issues(crm)
    assert (said.code, said.where(), said.message) == ("ambiguous_number", "Opportunities!F3",
                                                        '"1,200" read as 1.2; could be 1200.')
    # Without a locale in the config, the cell's proof settles the column, as it always has.
    crm = opps([OPP_HEADER, deal("0,925", name="A"), deal("1,200", name="B")])
    assert amounts(crm) == [Decimal("0.925"), Decimal("1.2")]


@pytest.mark.parametrize("header", ["Total Amount", "Amount USD", "Importe total"])
def test_an_opportunities_tab_without_an_amount_column_says_so(header):
    rows = [["ID", "Name", "Account", "Owner", "Stage", header, "Close Date"], ["", "A", "Acme", "Mia", "Proposal", 500,
                                                                             "2026-12-15"]]
    crm = opps(rows)
    assert amounts(crm) == [None]
    (said,) = issues(crm)
    assert (said.severity, said.code, said.where()) == ("warning", "expected_column", "Opportunities!1")
    assert said.message.startswith('There is no column "Amount", so every row of this tab has it empty')
    assert f'"{header}"' in said.hint
    assert not issues(opps([OPP_HEADER, deal(500)]))


def test_a_missing_column_is_named_in_the_teams_language():
    rows = [["ID", "Nombre", "Cuenta", "Etapa", "Importe total"], ["", "A", "Acme", "Propuesta", 500]]
    with using("es"):
        (said,) = issues(opps(rows, Config(locale="es"), tab="Oportunidades"))
    assert (said.code, said.header) == ("expected_column", "Importe")
    assert said.message.startswith('No hay ninguna columna "Importe"') and '(o "Amount")' in said.hint


def test_a_declared_custom_field_the_tab_lacks_is_said_at_the_header():
    # Found by a tester: [tabs.opportunities.custom_fields] "Budgett" (the header is Budget) was
    # ignored without a word, so a rule or segment on it quietly matched nothing.
    config = Config.model_validate({"tabs": {"opportunities": {"custom_fields": {
        "Budgett": {"type": "number"}, "Region": {"type": "text"}}}}})
    crm = opps([[*OPP_HEADER, "Budget", "Region"], deal(500) + [100, "North"]], config)
    (said,) = issues(crm)
    assert (said.severity, said.code, said.where(), said.header) == (
        "warning", "custom_field_missing", "Opportunities!1", "Budgett")
    assert "[tabs.opportunities.custom_fields]" in said.message and '"Budget"' in said.hint
    spanish = config.model_copy(update={"locale": "es"})
    with using("es"):
        (said,) = issues(opps([[*OPP_HEADER, "Budget", "Region"], deal(500) + [100, "North"]], spanish))
    assert said.message.startswith('sheetcrm.toml declara la columna "Budgett"')
    # Named as the header is written, in any case or spacing, it is found: nothing said.
    fixed = Config.model_validate({"tabs": {"opportunities": {"custom_fields": {" budget ": {"type": "number"}}}}})
    assert not issues(opps([[*OPP_HEADER, "Budget"], deal(500) + [100]], fixed))


def test_a_missing_required_column_is_hinted_in_the_teams_language_first():
    # The hint's first header is the one the team would type: "Etapa" (or "Stage"), not the
    # other way round (the Spanish hint once swapped the names it was given already in order).
    rows = [["ID", "Nombre", "Cuenta", "Paso", "Importe"], ["", "A", "Acme", "Propuesta", 500]]
    with using("es"):
        said = [i for i in issues(opps(rows, Config(locale="es"), tab="Oportunidades")) if i.code == "missing_column"]
    assert [(i.header, i.hint) for i in said] == [("Etapa", 'Añade una columna con el encabezado "Etapa" (o "Stage").')]


def test_an_amount_whose_thousands_reading_its_column_proves_is_not_doubted_against_the_config():
    """"2.000" among "1.234,50" under locale "en": the column's cells prove the decimal comma,
    and money has no third decimal, so it is 2000; it was said as "could be 2", and an import
    left it empty for that."""
    crm = opps([OPP_HEADER, deal("1.234,50"), deal("2.000"), deal("500,25")], Config(locale="en"))
    assert amounts(crm) == [Decimal("1234.50"), 2000, Decimal("500.25")]
    assert not issues(crm)
    # A thousands reading the column's cells do not prove stays doubted ("1,200" among "0,925").
    crm = opps([OPP_HEADER, deal("0,925"), deal("1,200")], Config(locale="en"))
    assert [i.message for i in issues(crm)] == ['"1,200" read as 1.2; could be 1200.']


def test_mixed_date_orders_are_an_error_on_the_minority():
    crm = opps([OPP_HEADER, deal(1, close="13/02/2026"), deal(1, close="14/02/2026"), deal(1, close="02/15/2026")])
    (error,) = issues(crm)
    assert (error.code, error.where()) == ("mixed_convention", "Opportunities!H4")


# --- percents -----------------------------------------------------------------------------------


def probabilities(values, **facts):
    rows = [OPP_HEADER + ["Probability"]] + [deal(100) + [v] for v in values]
    crm = opps(rows, **facts)
    return [r.record.probability if r.record else None for r in crm.tables["opportunities"].rows], issues(crm)


def test_a_column_of_fractions_reads_each_as_a_percentage_and_doubts_a_bare_one():
    values, found = probabilities([0.2, "0.45", 1])
    assert values == [20, 45, 100]
    assert [(i.code, i.where()) for i in found] == [("ambiguous_percent", "Opportunities!I4")]
    assert found[0].message == '"1" read as 100 %; could be 1 %.'


def test_a_column_of_points_reads_them_as_points_and_doubts_the_small_ones():
    values, found = probabilities([20, "75%", 0.5])
    assert values == [20, 75, Decimal("0.5")]
    assert [i.message for i in found] == ['"0.5" read as 0.5 %; could be 50 %.']


@pytest.mark.parametrize("values, facts", [
    (["15%", "20%", 0.1], {}),
    ([0.15, 0.2, 0.1], {"percent": {(1, 8), (2, 8)}}),  # 15 % and 20 % as Excel keeps them
])
def test_a_plain_fraction_among_cells_that_show_their_percent_sign_is_doubted(values, facts):
    """A 0.1 typed plain among "15%" shows 0.1: it was read as 10 % with no word, though the
    person may well have meant 0.1 %; only plain numbers of its own say a column is fractions."""
    read, found = probabilities(values, **facts)
    assert read == [15, 20, 10]
    assert [(i.code, i.where(), i.message) for i in found] == [
        ("ambiguous_percent", "Opportunities!I4", '"0.1" read as 10 %; could be 0.1 %.')]
    assert found[0].hint.startswith("The column's other cells show a percent sign")
    # A column mostly of plain fractions writes them so: a "15%" there doubts none of them.
    read, found = probabilities([0.2, 0.5, 0.1, "15%"])
    assert read == [20, 50, 10, 15] and not found


def test_a_percent_formatted_one_among_points_is_one_hundred():
    values, found = probabilities([1, 20], percent={(1, 8)})
    assert values == [100, 20] and not found


# --- currencies inside amounts ------------------------------------------------------------------


@pytest.mark.parametrize("amount, value, code", [
    ("R$ 1.200,00", Decimal("1200.00"), "BRL"),
    ("US$ 5", 5, "USD"),
    ("£3", 3, "GBP"),
    ("10 000 CHF", 10000, "CHF"),
    ("mxn 2,500.50", Decimal("2500.50"), "MXN"),
])
def test_a_currency_in_the_amount_sets_a_blank_currency(amount, value, code):
    crm = opps([OPP_HEADER, deal(amount)])
    (o,) = crm.records("opportunities")
    assert (o.amount, o.currency) == (value, code)


def test_a_currency_in_the_amount_that_contradicts_the_currency_column_is_an_error():
    crm = opps([OPP_HEADER, deal("JPY 10,000", "EUR"), deal("EUR 50.00", "EUR")])
    (error,) = issues(crm)
    assert (error.code, error.where()) == ("currency_conflict", "Opportunities!F2")
    assert "JPY" in error.message and "EUR" in error.message
    assert crm.tables["opportunities"].rows[0].record is None


def test_an_ambiguous_symbol_follows_the_base_currency_or_says_what_it_guessed():
    crm = opps([OPP_HEADER, deal("$5"), deal("$7")], Config(currency="MXN"))
    assert {o.currency for o in crm.records("opportunities")} == {"MXN"}
    assert [i.code for i in issues(crm)] == ["symbol_base"]
    crm = opps([OPP_HEADER, deal("$5")], Config(currency="EUR"))
    assert crm.records("opportunities")[0].currency == "USD"
    assert [i.code for i in issues(crm)] == ["symbol_guess"]
    crm = opps([OPP_HEADER, deal("500 kr")], Config(currency="EUR"))
    assert [i.code for i in issues(crm)] == ["ambiguous_currency"]
    crm = opps([OPP_HEADER, deal("500 kr")], Config(currency="SEK"))
    assert crm.records("opportunities")[0].currency == "SEK"


def test_a_product_price_carries_its_currency():
    rows = [["SKU", "Name", "Unit Price"], ["P1", "Widget", "JPY 1,500"]]
    crm = read_crm(Snapshot(tabs={"Products": Grid(rows)}), Config())
    (product,) = crm.records("products")
    assert (product.unit_price, product.currency) == (1500, "JPY")


# --- formula errors, merged blocks, invisible characters ----------------------------------------


def test_a_formula_error_in_a_required_cell_is_a_formula_error_not_empty():
    crm = opps([OPP_HEADER, ["", "Deal", None, "Mia", "Proposal", 5]], errors={(1, 2): "#DIV/0!"})
    (error,) = issues(crm)
    assert (error.code, error.value, error.where()) == ("formula_error", "#DIV/0!", "Opportunities!C2")
    assert '"#DIV/0!"' in error.message


def test_a_formula_error_outside_the_crm_columns_is_not_read():
    crm = opps([OPP_HEADER + [None, "Notes"], deal(5) + [None, None]], errors={(1, 9): "#NAME?"})
    assert not issues(crm) and len(crm.records("opportunities")) == 1


def test_a_merged_account_belongs_to_every_row_it_spans():
    rows = [OPP_HEADER, deal(1, name="A"), ["", "B", None, "Mia", "Proposal", 2], ["", "C", None, "Mia", "Proposal", 3]]
    crm = opps(rows, merges=[(1, 2, 3, 2)])
    assert [o.account for o in crm.records("opportunities")] == ["Acme"] * 3
    assert not issues(crm)
    # Reading only: the rows' own cells stay as the sheet holds them.
    assert crm.tables["opportunities"].rows[1].cells[2] is None


def test_an_amount_merged_over_several_deals_is_read_for_each_and_said_to_count_that_many_times():
    rows = [OPP_HEADER, deal(90000, name="A"), deal(None, name="B"), deal(None, name="C"), deal(500, name="D")]
    crm = opps(rows, merges=[(1, 5, 3, 5)])  # F2:F4, the Amount column
    assert amounts(crm) == [90000, 90000, 90000, 500]  # as every merged block reads
    (said,) = issues(crm)
    assert (said.severity, said.code, said.row, said.column) == ("warning", "merged_number", 2, "F")
    assert said.message == "90,000 is merged over rows 2 to 4, so each of those 3 rows is read as 90,000, and " \
                           "totals count it 3 times."
    # Counted from the records it spans: a block reaching one deal and a blank row is that deal's own.
    crm = opps([OPP_HEADER, deal(700, name="A"), [None] * 8], merges=[(1, 5, 2, 5)])
    assert amounts(crm) == [700] and not issues(crm)
    # A Close Date (or a Probability) merged over deals says the same of each: no warning.
    rows = [OPP_HEADER, deal(1, name="A"), deal(2, name="B", close=None)]
    crm = opps(rows, merges=[(1, 7, 2, 7)])
    assert [o.close_date for o in crm.records("opportunities")] == [dt.date(2026, 12, 15)] * 2 and not issues(crm)


def test_a_year_or_a_day_typed_alone_in_a_date_column_is_said_and_still_read_as_its_serial():
    rows = [OPP_HEADER, deal(1, close=2026, name="Year"), deal(2, close=15, name="Day"),
            deal(3, close=46357, name="Serial"), deal(4, close=dt.datetime(1950, 1, 1), name="A date cell"),
            deal(5, close=dt.datetime(1905, 7, 18), name="A year typed into a date cell")]
    crm = opps(rows)
    assert [o.close_date for o in crm.records("opportunities")] == [
        dt.date(1905, 7, 18), dt.date(1900, 1, 14), dt.date(2026, 12, 1), dt.date(1950, 1, 1), dt.date(1905, 7, 18)]
    said = issues(crm)
    assert [(i.severity, i.code, i.row, i.column) for i in said] == [("warning", "number_as_date", 2, "H"),
                                                                      ("warning", "number_as_date", 3, "H"),
                                                                      ("warning", "early_date", 6, "H")]
    assert said[0].message == "2026 is a plain number, read as the date 1905-07-18 (the day a spreadsheet numbers 2026)."
    assert said[2].message.startswith("1905-07-18 is a date before 1950")


def test_enums_compare_after_normalisation_and_messages_show_invisible_characters():
    crm = opps([OPP_HEADER, ["", "A", "Acme", "Mia", "Pro\u200bposal\u00a0", 1], ["", "B", "Acme", "Mia", "Bogus\u00a0", 1]])
    assert crm.records("opportunities")[0].stage == "Proposal"
    (error,) = issues(crm)
    assert '"Bogus\\u00a0"' in error.message


# --- the table inside the tab -------------------------------------------------------------------


def test_a_side_table_and_a_totals_row_are_not_records(tmp_path):
    path = tmp_path / "side.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    rows = [
        ["Deals Q4 (do not sort)"],
        OPP_HEADER[1:] + [None, "By owner", "Sum"],
        ["A", "Acme", "Mia", "Proposal", 100, "USD", "2026-12-15", None, "Mia", "=SUM(E3:E4)"],
        ["B", "Acme", "Mia", "Proposal", 200, "USD", "2026-12-15", None, "Leo", 0],
        ["Total", None, None, None, "=SUM(E3:E4)", None, None, None, "Ana", 0],
        [None, None, None, None, None, None, None, None, "Ravi", 0],
    ]
    for r in rows:
        ws.append(r)
    accounts = wb.create_sheet("Accounts")
    for r in ACCOUNTS:
        accounts.append(r)
    wb.save(path)
    book = XlsxWorkbook(path)
    before = user_cells(path)
    outcome = sync(book, Config(), as_of=AS_OF)
    assert [o.name for o in outcome.crm.records("opportunities")] == ["A", "B"]
    assert [i for i in issues(outcome.crm) if i.tab == "Opportunities"] == []
    ws = openpyxl.load_workbook(path)["Opportunities"]
    # The ID column goes after the side table, in the header row; only the two deals get IDs.
    assert [ws.cell(r, 11).value for r in range(1, 7)] == [None, "ID", "OPP-0001", "OPP-0002", None, None]
    assert ws["E5"].value == "=SUM(E3:E4)" and ws["A1"].value == "Deals Q4 (do not sort)"
    changed = assert_only_sheetcrm_cells_changed(before, user_cells(path), {"Opportunities": 2})
    # A bare letter is a column's width: sheetcrm's computed columns get one (checked above).
    mine = {coord for tab, coord in changed if tab == "Opportunities" and coord[-1].isdigit()}
    assert {f"{c}2" for c in "KLMNOPQR"} | {"K3", "K4"} <= mine <= {f"{c}{r}" for c in "KLMNOPQR" for r in (2, 3, 4)}
    assert not sync(book, Config(), as_of=AS_OF).plan


def test_a_totals_row_whose_label_is_in_the_id_column_is_not_a_record(tmp_path):
    """Where `sheetcrm init` puts ID, column A, an Excel table's Total Row puts its label. A label
    of totals words alone there is a totals row, as under Name; an ID cell with other words
    ("SUM-0001") may be an ID: its row stays a record, and what is wrong with it is said."""
    path = tmp_path / "totals.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    for r in [["ID", *OPP_HEADER[1:]],
              ["OPP-0001", "A", "Acme", "Mia", "Proposal", 100, "USD", dt.date(2026, 12, 15)],
              ["OPP-0002", "B", "Acme", "Mia", "Proposal", 200, "USD", dt.date(2026, 12, 15)],
              ["Total", None, None, None, None, "=SUBTOTAL(109,F2:F3)", None, None],
              ["Grand total:", None, None, None, None, 300, "USD", None],
              ["SUM-0001", None, None, None, None, 300, None, None]]:
        ws.append(r)
    accounts = wb.create_sheet("Accounts")
    for r in ACCOUNTS:
        accounts.append(r)
    wb.save(path)
    book = XlsxWorkbook(path)
    outcome = sync(book, Config(), as_of=AS_OF)
    assert [o.id for o in outcome.crm.records("opportunities")] == ["OPP-0001", "OPP-0002"]
    assert {i.row for i in issues(outcome.crm) if i.tab == "Opportunities"} == {6}
    ws = openpyxl.load_workbook(path)["Opportunities"]
    assert [ws.cell(r, 1).value for r in range(4, 7)] == ["Total", "Grand total:", "SUM-0001"]
    assert ws["F4"].value == "=SUBTOTAL(109,F2:F3)" and ws["I4"].value is None  # no computed cell


@pytest.mark.parametrize("label, total", [(None, 300), ("Q4 deals", "=SUBTOTAL(109,Deals[Amount])"),
                                          ("Cierre", "=SUBTOTAL(109,Deals[Amount])")])
def test_an_excel_tables_total_row_is_not_a_record_whatever_its_label(tmp_path, label, total):
    """Found at stop 32: an Excel table's Total Row with no label, or a label of other words,
    was read as a deal: three false `required` errors, and the sync wrote OPP-0003 into the
    table's totals label cell. The table part says which rows are its totals
    (totalsRowCount); those are no records. The same row outside a table stays a record."""
    from openpyxl.worksheet.table import Table, TableColumn

    def book(path, table):
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Opportunities"
        header = ["ID", *OPP_HEADER[1:]]
        for r in [header, ["OPP-0001", "A", "Acme", "Mia", "Proposal", 100, "USD", dt.date(2026, 12, 15)],
                  ["OPP-0002", "B", "Acme", "Mia", "Proposal", 200, "USD", dt.date(2026, 12, 15)],
                  [label, None, None, None, None, total, None, None]]:
            ws.append(r)
        if table:
            t = Table(displayName="Deals", ref=f"A1:{chr(ord('A') + len(header) - 1)}4", totalsRowCount=1)
            t.tableColumns = [TableColumn(id=i + 1, name=h) for i, h in enumerate(header)]
            t.autoFilter = None
            ws.add_table(t)
        accounts = wb.create_sheet("Accounts")
        for r in ACCOUNTS:
            accounts.append(r)
        wb.save(path)
        return XlsxWorkbook(path)

    outcome = sync(book(tmp_path / "table.xlsx", True), Config(), as_of=AS_OF)
    assert [o.id for o in outcome.crm.records("opportunities")] == ["OPP-0001", "OPP-0002"]
    assert [i for i in issues(outcome.crm) if i.tab == "Opportunities"] == []
    ws = openpyxl.load_workbook(tmp_path / "table.xlsx")["Opportunities"]
    assert [c.value for c in ws[4]][:6] == [label, None, None, None, None, total]
    assert all(c.value is None for c in ws[4][8:])     # no computed cell on the totals row
    assert not sync(XlsxWorkbook(tmp_path / "table.xlsx"), Config(), as_of=AS_OF).plan
    # Outside a table the same row is a deal with empty required cells, said at the cells.
    plain = sync(book(tmp_path / "plain.xlsx", False), Config(), as_of=AS_OF)
    assert {i.row for i in issues(plain.crm) if i.tab == "Opportunities" and i.code == "required"} == {4}


def test_a_header_repeated_over_a_second_block_is_not_a_record():
    """Found at stop 39: a team keeping its closed deals in a second block under the open ones,
    with the header typed again over it, got that header row read as a deal: an ID written
    beside it and an error at each cell ("Etapa" is no stage). A row whose CRM cells say their
    own column's header is no record; the rows under it are read as any other."""
    header = ["Nombre", "Cuenta", "Etapa", "Importe", "Notas"]
    rows = [["ABIERTAS"], header, ["A", "Acme", "Propuesta", 1000], [], ["CERRADAS"],
            [" nombre", "CUENTA", "Etapa", "Importe", "Notas de cierre"], ["B", "Acme", "Ganada", 4000],
            ["Etapa", "Acme", "Nombre", 5], ["ID", None, "Etapa"]]
    snapshot = Snapshot(tabs={"Cuentas": Grid([["ID", "Nombre"], ["ACC-0001", "Acme"]]), "Oportunidades": Grid(rows)})
    crm, _, plan = plan_sync(snapshot, Config(), AS_OF)
    assert [(r.row, r.record and r.record.name) for r in crm.tables["opportunities"].rows] == [
        (3, "A"), (7, "B"), (8, None), (9, None)]  # rows of other words stay records ("CERRADAS": a heading)
    ids = {w.row: w.value for w in plan.writes if w.tab == "Oportunidades" and w.col == 6 and w.row > 2}
    assert ids == {3: "OPP-0001", 7: "OPP-0002", 8: "OPP-0003", 9: "OPP-0004"}
    assert not [i for i in crm.report.issues if i.tab == "Oportunidades" and i.row == 6]


def test_a_header_repeated_with_other_names_of_its_columns_is_not_a_record():
    """A second block's header typed with other names of the same columns ("Deal Name" and
    "Amount (USD)" over a block headed "Name" and "Amount"; "ID" in the ID column) was read as a
    deal whose ID is "ID", with an error at each cell and the left_out warning naming it. A row
    whose CRM cells each name their own column, by any of its names, is no record."""
    rows = [["ID", "Name", "Account", "Stage", "Amount"], ["OPP-0001", "A", "Acme", "Proposal", 1000], [],
            ["ID", "Deal Name", "Account", "Stage", "Amount (USD)"], ["OPP-0002", "B", "Acme", "Closed Won", 4000],
            ["Stage", "Acme", "Name", None, None]]
    snapshot = Snapshot(tabs={"Accounts": Grid([["ID", "Name"], ["ACC-0001", "Acme"]]), "Opportunities": Grid(rows)})
    crm = read_crm(snapshot, Config())
    assert [r.row for r in crm.tables["opportunities"].rows] == [2, 5, 6]  # other words under other columns: a record
    assert {i.row for i in crm.report.issues if i.tab == "Opportunities" and i.row} == {6}


def test_a_section_heading_merged_across_the_table_is_not_a_record():
    """Found at stop 39: a team's group heading ("ZONA NORTE" merged over the row) was read as
    a deal named so: an ID written beside it, required errors inside the merged block. One
    merged block of text over two or more CRM columns, with nothing else under them, is a
    heading; a deal whose Name is merged over Account still has its other cells, and is one."""
    header = ["Nombre", "Cuenta", "Etapa", "Importe", "Notas"]
    rows = [header, ["ZONA NORTE"], ["A", "Acme", "Propuesta", 1000], [], ["ZONA SUR"], ["B", "Acme", "Propuesta", 2000],
            ["C", None, "Propuesta", 5]]
    grid = Grid(rows, merges=[(1, 0, 1, 4), (4, 0, 4, 2), (6, 0, 6, 1)])
    snapshot = Snapshot(tabs={"Cuentas": Grid([["ID", "Nombre"], ["ACC-0001", "Acme"]]), "Oportunidades": grid})
    crm, _, plan = plan_sync(snapshot, Config(), AS_OF)
    assert [r.row for r in crm.tables["opportunities"].rows] == [3, 6, 7]
    assert {w.row for w in plan.writes if w.tab == "Oportunidades" and w.col == 6} == {1, 3, 6, 7}  # the IDs
    assert {i.where() for i in crm.report.issues if i.code == "required"} == {"Oportunidades!B7"}


def test_a_heading_alone_in_its_row_over_deals_is_said_and_gets_no_id():
    """Found at stop 39: a group heading typed in one cell ("ZONA NORTE") was read as a deal:
    an ID written into the team's table beside it, a required error at each empty cell. A lone
    text under the header or a blank row, with rows below it, is a heading, said once at its
    cell (a deal whose name was typed first learns to fill in the rest); a lone name after a
    deal, or with nothing below it, is still a deal with empty required cells, and an account
    with its Name alone (all an account needs) an account."""
    header = ["Nombre", "Cuenta", "Etapa", "Importe", "Notas"]
    rows = [header, ["ZONA NORTE"], ["A", "Acme", "Propuesta", 1000], [], [None, "Zona Sur"],
            ["B", "Acme", "Propuesta", 2000], ["C"], [], ["D"]]
    accounts = Grid([["ID", "Nombre", "Sector"], [None, "Acme"], ["ACC-0002", "Beta", "Retail"]])
    snapshot = Snapshot(tabs={"Cuentas": accounts, "Oportunidades": Grid(rows)})
    crm, _, plan = plan_sync(snapshot, Config(), AS_OF)
    assert [r.id for r in crm.tables["accounts"].rows] == ["ACC-0003", "ACC-0002"]
    assert [r.row for r in crm.tables["opportunities"].rows] == [3, 6, 7, 9]
    assert {w.row for w in plan.writes if w.tab == "Oportunidades" and w.col == 6} == {1, 3, 6, 7, 9}  # the IDs
    said = [(i.where(), i.code, i.value) for i in crm.report.issues if i.tab == "Oportunidades" and (i.row or 99) < 7]
    assert said == [("Oportunidades!A2", "heading_row", "ZONA NORTE"), ("Oportunidades!B5", "heading_row", "Zona Sur")]
    assert {i.where() for i in crm.report.issues if i.code == "required"} == {
        "Oportunidades!B7", "Oportunidades!C7", "Oportunidades!B9", "Oportunidades!C9"}


def test_another_table_below_the_deals_is_said_once_and_not_read_as_deals():
    """Found at stop 39: sales targets kept under the deals, below a blank row and under their
    own header, were read as deals: IDs written beside them, bad_enum and unknown_account
    errors. A row of labels below a blank row, one of them over a number below it in a CRM
    column of numbers, starts another table: said once at its row, and no row from there on
    is a record. Deals after a blank row with a blank Amount, or one typed as text, are deals."""
    header = ["Nombre", "Cuenta", "Etapa", "Importe", "Fecha de cierre"]
    rows = [header, ["A", "Acme", "Propuesta", 1000], [], ["C", "Acme", "Propuesta", None, "15/01/2027"],
            ["B", "Acme", "Propuesta", 2000], [], ["D", "Acme", "Negociación", "3.000 €", "15/01/2027"],
            ["E", "Acme", "Propuesta", 500], [], ["Objetivos", "Trimestre", "Etapa objetivo", "Importe"],
            ["Marta", "T1", "Ganada", 50000], ["Jorge", "T1", "Ganada", 30000]]
    snapshot = Snapshot(tabs={"Cuentas": Grid([["ID", "Nombre"], ["ACC-0001", "Acme"]]), "Oportunidades": Grid(rows)})
    crm, _, plan = plan_sync(snapshot, Config(), AS_OF)
    assert [r.row for r in crm.tables["opportunities"].rows] == [2, 4, 5, 7, 8]
    assert max(w.row for w in plan.writes if w.tab == "Oportunidades") == 8  # nothing written in the targets
    said = [(i.where(), i.code, i.value) for i in crm.report.issues if i.tab == "Oportunidades" and (i.row or 0) >= 9]
    assert said == [("Oportunidades!D10", "other_table", "Importe")]


def test_the_header_row_is_found_below_instructions():
    rows = [["Instructions: one deal per row"], ["Name", "Account", "Stage", "Amount"],
            ["A", "Acme", "Proposal", 10]]
    snapshot = Snapshot(tabs={"Accounts": Grid(ACCOUNTS), "Opportunities": Grid(rows)})
    _, _, plan = plan_sync(snapshot, Config(), AS_OF)
    writes = {(w.row, w.col): w.value for w in plan.writes if w.tab == "Opportunities"}
    assert writes[(2, 5)] == "ID" and writes[(3, 5)] == "OPP-0001"
    assert writes[(2, 6)] == "Probability %"
    assert all(row >= 2 for row, _ in writes)


def test_a_row_left_with_only_stale_computed_values_is_cleared_not_read():
    rows = [["ID", "Name", "Account", "Stage", "Amount", "Probability %"], ["OPP-0001", "A", "Acme", "Proposal", 10, 50],
            [None, None, None, None, None, 75]]
    # A workbook sheetcrm synced before (its marked Pipeline tab): the 75 is its own stale output.
    snapshot = Snapshot(tabs={"Accounts": Grid(ACCOUNTS), "Opportunities": Grid(rows),
                              "Pipeline": Grid([["Stage", "Count", "Amount", "Weighted"]])}, owned={"Pipeline"})
    crm, _, plan = plan_sync(snapshot, Config(), AS_OF)
    assert len(crm.tables["opportunities"].rows) == 1
    (clear,) = [w for w in plan.writes if w.tab == "Opportunities" and w.row == 3]
    assert (clear.col, clear.value, clear.expect) == (6, None, ((1, None), (6, 75)))


# --- where sheetcrm's columns go ----------------------------------------------------------------


def test_computed_columns_go_after_a_merged_header_block():
    rows = [["ID", "Name", "Account", "Stage", "Amount", "Notes"], ["OPP-0001", "A", "Acme", "Proposal", 10]]
    grid = Grid(rows, merges=[(0, 5, 0, 8)])  # "Notes" spans F1:I1
    crm, _, plan = plan_sync(Snapshot(tabs={"Accounts": Grid(ACCOUNTS), "Opportunities": grid}), Config(), AS_OF)
    headers = {w.col: w.value for w in plan.writes if w.tab == "Opportunities" and w.row == 1}
    assert min(headers) == 10 and headers[10] == "Probability %"
    assert all(w.col >= 10 for w in plan.writes if w.tab == "Opportunities")


def test_a_tab_using_the_last_column_gets_an_error_and_no_write(tmp_path):
    path = tmp_path / "wide.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    for r in [["Name", "Account", "Stage", "Amount"], ["A", "Acme", "Proposal", 10]]:
        ws.append(r)
    ws.cell(1, MAX_COLUMNS, "far note")
    accounts = wb.create_sheet("Accounts")
    for r in ACCOUNTS:
        accounts.append(r)
    wb.save(path)
    before = user_cells(path)
    outcome = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    (error,) = [i for i in outcome.crm.report.issues if i.code == "no_room"]
    assert (error.severity, error.tab, error.row) == ("error", "Opportunities", 1) and "XFD" in error.message
    assert "Opportunities" not in outcome.plan.cells_by_tab()
    assert {k: v for k, v in user_cells(path).items() if k[0] == "Opportunities"} == {
        k: v for k, v in before.items() if k[0] == "Opportunities"}


# --- extreme values -----------------------------------------------------------------------------


@pytest.mark.parametrize("amount, code", [
    (1e26, "out_of_range"), ("1000000000000000", "out_of_range"), (float("nan"), "bad_number"),
    (float("inf"), "bad_number"), ("12345678.123456789", "too_precise"),
])
def test_numbers_no_money_can_be_are_errors_on_their_cell(amount, code):
    crm = opps([OPP_HEADER, deal(amount)])
    assert [(i.code, i.where()) for i in issues(crm)] == [(code, "Opportunities!F2")]


def test_float_noise_from_a_formula_is_not_too_precise():
    crm = opps([OPP_HEADER, deal(0.1 + 0.2), deal(110.00000000000001)])
    assert amounts(crm) == [Decimal("0.3"), 110]
    assert not issues(crm)


def test_no_command_crashes_on_numbers_too_large_for_money(tmp_path, monkeypatch):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    tabs = {
        "Accounts": ACCOUNTS,
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Big", "Acme", "Proposal", 1e26, "2026-12-15"],
                          ["OPP-0002", "Won", "Acme", "Closed Won", 500, "2026-11-15"],
                          ["OPP-0003", "Large", "Acme", "Proposal", 999999999999999, "2026-12-15"]],
        "Products": [["SKU", "Name", "Unit Price"], ["P1", "W", 999999999999999], ["P2", "X", float("inf")]],
        "Quote Lines": [["Opportunity", "SKU", "Quantity"], ["OPP-0001", "P1", 1e26], ["OPP-0003", "P1", 999999999]],
        "Rates": [["Currency", "Rate"], ["EUR", 1e26], ["GBP", 999999999999]],
    }
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(tmp_path / "crm.xlsx")
    # `sync` through a real process (a traceback as a shell would see it); the other commands
    # through the same code in this process, where a crash is an exception other than an exit.
    done = subprocess.run([sys.executable, "-m", "sheetcrm", "sync", "--workbook", "crm.xlsx"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in done.stderr and "InvalidOperation" not in done.stderr + done.stdout, done
    assert done.returncode in (0, 1, 2), done.returncode
    monkeypatch.chdir(tmp_path)
    for command in (["kpis"], ["forecast"], ["score"], ["quote", "OPP-0001"], ["quote", "OPP-0003"], ["validate"]):
        ran = CliRunner().invoke(main, [*command, "--workbook", "crm.xlsx"])
        assert ran.exception is None or isinstance(ran.exception, SystemExit), (command, ran.exception)
        assert "InvalidOperation" not in ran.stderr + ran.stdout, command
        assert ran.exit_code in (0, 1, 2), (command, ran.exit_code)
        if command == ["quote", "OPP-0003"]:
            assert ran.exit_code == 1 and "too large for a quote" in ran.stdout + ran.stderr


# --- the same readings on Google, through the emulator ------------------------------------------


def test_title_rows_side_table_and_currency_in_amount_on_google(monkeypatch):
    from sheetcrm.emulator import Emulator
    from sheetcrm.workbook.credentials import connect
    from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook

    opportunities = [
        ["Q4 deals, one per row"],
        [],
        ["Name", "Account", "Stage", "Amount", "Close Date", None, "Owner summary"],
        ["A", "Acme", "Proposal", "JPY 10,000", "03/12/2026", None, "Mia: 2"],
        ["B", "Acme", "Proposal", "$1,200", "13/11/2026"],
        [None, None, None, None, None, None, "Leo: 0"],
    ]
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", {"Accounts": ACCOUNTS, "Opportunities": opportunities,
                                             "Rates": [["Currency", "Rate"], ["JPY", 0.0067]]})
        book = GoogleSheetsWorkbook(connect(None).client, key, "sheetcrm@project.iam.gserviceaccount.com")
        outcome = sync(book, Config(), as_of=AS_OF)
        first, second = outcome.results.opportunities
        assert (first.amount, first.currency, first.close_date) == (10000, "JPY", dt.date(2026, 12, 3))
        assert (second.amount, second.currency) == (1200, "USD")
        assert outcome.results.kpis.team.open_pipeline == Decimal("1267.00")
        rows = book.read().tabs["Opportunities"].rows
        assert rows[0] == ["Q4 deals, one per row"] and rows[2][7:9] == ["ID", "Probability %"]
        assert [r[7] if len(r) > 7 else None for r in rows[3:]] == ["OPP-0001", "OPP-0002", None]
        assert not sync(book, Config(), as_of=AS_OF).plan


def test_an_id_cell_under_a_merged_block_or_holding_a_formula_is_never_filled():
    rows = [["ID", "Name", "Account", "Stage"], ["", "A", "Acme", "Proposal"], ["", "B", "Acme", "Proposal"],
            ["", "C", "Acme", "Proposal"], [None, "D", "Acme", "Proposal"]]
    grid = Grid(rows, merges=[(1, 0, 2, 0)], formulas={(3, 0)}, errors={(3, 0): "#REF!"})
    _, _, plan = plan_sync(Snapshot(tabs={"Accounts": Grid(ACCOUNTS), "Opportunities": grid}), Config(), AS_OF)
    ids = {w.row: w.value for w in plan.writes if w.tab == "Opportunities" and w.col == 1}
    assert ids == {2: "OPP-0001", 5: "OPP-0002"}  # row 3 is under A2's merge, row 4 a formula


def test_custom_number_and_date_columns_are_read_by_column_too():
    from sheetcrm.config import CustomField, TabSettings

    config = Config(tabs={"leads": TabSettings(custom_fields={"Budget": CustomField(type="number"),
                                                              "Met": CustomField(type="date")})})
    rows = [["Last Name", "Budget", "Met"], ["Ng", "1.234,50", "13/02/2026"], ["Ruiz", "2.000", "03/02/2026"],
            ["Li", "#N/A", None]]
    crm = read_crm(Snapshot(tabs={"Leads": Grid(rows, errors={(3, 1): "#N/A"})}), config)
    leads = crm.tables["leads"].rows
    assert [r.record.custom["Budget"] for r in leads[:2]] == [Decimal("1234.50"), 2000]
    assert [r.record.custom["Met"] for r in leads[:2]] == [dt.date(2026, 2, 13), dt.date(2026, 2, 3)]
    assert [(i.code, i.where()) for i in issues(crm)] == [("formula_error", "Leads!B4")]


def test_an_amount_read_with_three_decimals_is_reported_even_in_a_settled_column():
    crm = opps([OPP_HEADER, deal("1,234.50"), deal("12.500")])
    assert amounts(crm) == [Decimal("1234.50"), Decimal("12.5")]
    assert [i.message for i in issues(crm)] == ['"12.500" read as 12.5; could be 12500.']


def test_a_tab_without_a_header_row_gets_no_column():
    rows = [["Pipeline notes for the team"], [], ["call Acme on Monday"]]
    snapshot = Snapshot(tabs={"Accounts": Grid(ACCOUNTS), "Opportunities": Grid(rows)})
    crm, _, plan = plan_sync(snapshot, Config(), AS_OF)
    assert not [w for w in plan.writes if w.tab == "Opportunities"]
    assert {i.code for i in crm.report.issues if i.tab == "Opportunities"} == {"missing_column"}


# --- what one column proves unsettles the config for the tab's other columns --------------------


def test_a_date_column_proving_day_first_unsettles_an_en_config_for_the_tabs_other_date_columns(tmp_path):
    """Created's 13/02/2026 proves day first in a team that set "en": Close Date, all
    ambiguous, was read month first silently (a 104-day cycle, a close_before_created nobody
    could check). Each of its cells is now said with both readings and a hint naming what
    unsettles it. It still reads month first, as the config says: how Created was typed is no
    proof of how Close Date was (this test once asserted day first, taken from Created)."""
    from books import xlsx
    header = ["ID", "Name", "Account", "Stage", "Amount", "Created", "Close Date"]
    path = xlsx(tmp_path / "d.xlsx", {"Accounts": ACCOUNTS, "Opportunities": [
        header, ["OPP-0001", "a", "Acme", "Closed Won", 1000, "13/02/2026", "02/03/2026"],
        ["OPP-0002", "b", "Acme", "Closed Won", 1000, "20/01/2026", "05/04/2026"],
        ["OPP-0003", "c", "Acme", "Proposal", 1000, "25/11/2026", "01/12/2026"]]})
    outcome = sync(XlsxWorkbook(path), Config(locale="en"), as_of=AS_OF)
    deals = outcome.crm.records("opportunities")
    assert [o.close_date for o in deals] == [dt.date(2026, 2, 3), dt.date(2026, 5, 4), dt.date(2026, 1, 12)]
    said = [(i.where(), i.code) for i in outcome.crm.report.issues if i.tab == "Opportunities"]
    assert said == [(f"Opportunities!G{r}", "ambiguous_date") for r in (2, 3, 4)] + [
        ("Opportunities!G2", "close_before_created")]
    first = next(i for i in outcome.crm.report.issues if i.where() == "Opportunities!G2")
    assert "2026-03-02" in first.message and "2026-02-03" in first.message
    assert "Another column of this tab writes dates day first" in first.hint and "set locale" not in first.hint
    # A tab whose columns prove nothing against the config stays settled by it, unsaid.
    path = xlsx(tmp_path / "e.xlsx", {"Accounts": ACCOUNTS, "Opportunities": [
        header, ["OPP-0001", "a", "Acme", "Closed Won", 1000, "01/02/2026", "02/03/2026"]]})
    outcome = sync(XlsxWorkbook(path), Config(locale="en"), as_of=AS_OF)
    assert outcome.crm.records("opportunities")[0].close_date == dt.date(2026, 2, 3)
    assert not [i for i in outcome.crm.report.issues if i.tab == "Opportunities"]


def test_a_number_column_proving_a_decimal_comma_unsettles_an_en_config_for_the_tabs_other_amounts(tmp_path):
    """Budget's 2.500,50 proves a decimal comma in a team that set "en": Actual Cost's 1,200
    was read as 1200 with nothing said. It is still said now, with both readings."""
    from books import xlsx
    path = xlsx(tmp_path / "n.xlsx", {"Accounts": ACCOUNTS, "Campaigns": [
        ["ID", "Name", "Budget", "Actual Cost"], ["CMP-0001", "Spring", "2.500,50", "1,200"]]})
    crm = read_crm(XlsxWorkbook(path).read(), Config(locale="en"))
    said = [(i.where(), i.code) for i in crm.report.issues if i.tab == "Campaigns"]
    assert said == [("Campaigns!D2", "ambiguous_number")]
    (campaign,) = crm.records("campaigns")
    assert campaign.budget == Decimal("2500.50")


def test_an_ambiguous_amount_is_said_when_the_tabs_other_column_proves_the_convention_its_shape_suggests(tmp_path):
    """Unit Price "19.995" alone in an English tab reads 19995 (money has no third decimal),
    said. A Quantity "1,5" on another line proves the decimal comma in the tab: the price still
    reads 19995, but the shape and the tab's proof agreeing settled it, unsaid, and a quote
    went out at 2 × $19,995.00. Rule 3 says each such cell with both readings, in both
    directions and with or without the config's locale."""
    from books import crm_tabs, xlsx
    for locale, (qty, price, read, said_as) in {
            None: ("1,5", "19.995", "19995", '"19.995" read as 19995; could be 19.995.'),
            "en": ("1,5", "19.995", "19995", '"19.995" read as 19995; could be 19.995.'),
            "es": ("1.5", "1,250", "1250", '"1,250" se lee como 1250; podría ser 1,25.')}.items():
        lines = [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                 ["OPP-0001", "P1", qty, "", ""], ["OPP-0001", "P2", 2, price, ""]]
        path = xlsx(tmp_path / f"q-{locale}.xlsx", crm_tabs(**{"Quote Lines": lines}))
        config = Config(locale=locale) if locale else Config()
        crm = read_crm(XlsxWorkbook(path).read(), config)
        said = [(i.where(), i.code, i.message) for i in crm.report.issues if i.tab == "Quote Lines"]
        assert said == [("Quote Lines!D3", "ambiguous_number", said_as)], locale
        assert [line.unit_price for line in crm.records("quote_lines")] == [None, Decimal(read)]



def test_a_number_column_reads_the_config_locale_whatever_another_column_proves(tmp_path, emu):
    """locale = "es", a Leads tab whose Fee is typed English style ("1,500.50") and whose
    Units holds "1.000": Units read 1 (Fee's decimal point taken for it) and its warning said
    to set locale in sheetcrm.toml, which is set. Units reads 1000 now, as the config says (its
    own cells prove nothing), said with both readings and a hint true under that config; the
    same on Google through the emulator."""
    from books import xlsx
    from sheetcrm.emulator import Emulator  # noqa: F401  (the emu fixture's type)
    from sheetcrm.workbook.target import open_workbook
    tabs = {"Leads": [["ID", "First Name", "Last Name", "Email", "Status", "Fee", "Units"],
                      ["LEAD-0001", "Ana", "Pérez", "ana@example.com", "New", "1,500.50", "1.000"],
                      ["LEAD-0002", "Bo", "Ruiz", "bo@example.com", "New", "20", "7"]]}
    key = emu.create_spreadsheet("CRM", tabs)
    books = {"xlsx": (XlsxWorkbook(xlsx(tmp_path / "l.xlsx", tabs)), Config(locale="es")),
             "google": (open_workbook(Config(locale="es", spreadsheet=key)), Config(locale="es", spreadsheet=key))}
    for name, (book, config) in books.items():
        with using("es"):
            crm = read_crm(book.read(), config)
        assert [lead.custom["Units"] for lead in crm.records("leads")] == [1000, 7], name
        assert [lead.custom["Fee"] for lead in crm.records("leads")] == [Decimal("1500.50"), 20], name
        (said,) = [i for i in crm.report.issues if i.tab == "Leads" and i.column]  # at a cell
        assert (said.where(), said.code) == ("Leads!G2", "ambiguous_number"), name
        assert said.message == '"1.000" se lee como 1000; podría ser 1.', name
        assert "locale en sheetcrm.toml" not in said.hint and "Otra columna de esta pestaña" in said.hint, name


def test_dates_written_with_dots_read_day_first_whatever_the_locale(tmp_path, emu):
    """A Close Date typed "03.12.2026" under locale "en" read 2026-03-12 unsaid (and with no
    locale, month first with an ambiguous_date warning): dots are day first in every convention
    that writes them. They read 3 December now, and prove the column's order, so its slash dates
    read day first too; a two-digit year still says where the year may stand. The same on
    Google, where the emulator keeps dotted text as text."""
    from books import xlsx
    from sheetcrm.workbook.target import open_workbook
    header = ["ID", "Name", "Account", "Stage", "Amount", "Close Date"]
    closes = ["03.12.2026", "05.01.2027", "04/02/2027", "03.12.26"]
    tabs = {"Accounts": ACCOUNTS, "Opportunities": [header] + [
        [f"OPP-000{i}", "a", "Acme", "Proposal", 1000, close] for i, close in enumerate(closes, 1)]}
    key = emu.create_spreadsheet("CRM", tabs)
    for config in (Config(), Config(locale="en"), Config(locale="es")):
        books = {"xlsx": (XlsxWorkbook(xlsx(tmp_path / "dots.xlsx", tabs)), config),
                 "google": (open_workbook(config.model_copy(update={"spreadsheet": key})),
                            config.model_copy(update={"spreadsheet": key}))}
        for name, (book, conf) in books.items():
            crm = read_crm(book.read(), conf)
            assert [o.close_date for o in crm.records("opportunities")] == [
                dt.date(2026, 12, 3), dt.date(2027, 1, 5), dt.date(2027, 2, 4), dt.date(2026, 12, 3)], (name, config)
            said = [(i.where(), i.code) for i in crm.report.issues if i.tab == "Opportunities" and i.column]
            expected = [("Opportunities!F5", "ambiguous_date")]
            if "locale" in config.model_fields_set and config.locale == "en":
                expected.insert(0, ("Opportunities!F4", "ambiguous_date"))  # the config says month first
            assert said == expected, (name, config)
            two_digit = next(i for i in crm.report.issues if i.where() == "Opportunities!F5")
            assert "2003-12-26" in two_digit.message and "2026-03-12" not in two_digit.message


def test_a_number_the_other_way_round_is_said_by_what_it_shows(tmp_path):
    """Under a column of "1.234,50" (locale "es"), "1,000,000" was a mixed_convention saying it
    "writes decimals with a period" (it has none), and the Indian "1,00,000", no thousands
    grouping of any locale, was one too. The first now says it separates thousands with a comma;
    the second is the bad_number its own read gives. The same the other way round in English."""
    from books import xlsx
    header = ["ID", "Name", "Account", "Stage", "Amount", "Close Date"]
    for locale, amounts, read, words in (
            ("es", ["1.234,50", "1,000,000", "1,00,000"], "1234.50",
             "separa los miles con una coma, pero esta columna escribe los decimales con ella"),
            ("en", ["1,234.50", "1.000.000", "1.00.000"], "1234.50",
             "separates thousands with a period, but this column writes decimals with it")):
        rows = [header] + [[f"OPP-000{i}", "a", "Acme", "Proposal", a, "2026-12-20"] for i, a in enumerate(amounts, 1)]
        path = xlsx(tmp_path / f"sep-{locale}.xlsx", {"Accounts": ACCOUNTS, "Opportunities": rows})
        crm = read_crm(XlsxWorkbook(path).read(), Config(locale=locale))
        assert [o.amount for o in crm.records("opportunities")] == [Decimal(read)]
        said = {i.where(): i for i in crm.report.issues if i.tab == "Opportunities" and i.column}
        assert {w: i.code for w, i in said.items()} == {"Opportunities!E3": "mixed_convention",
                                                        "Opportunities!E4": "bad_number"}, locale
        assert words in said["Opportunities!E3"].message, locale


@pytest.mark.parametrize("merged", [True, False])
def test_a_column_of_currency_codes_with_no_header_is_the_currency_column(tmp_path, merged):
    """Found at stop 44: an "Amount" header merged over two columns, the amount and its currency
    code beside it (1000 | EUR), as people lay out money, or the codes left with no header: the
    unnamed column was skipped and every amount read in the base currency, USD, with no word. A
    person reads 1000 EUR: the column is read as Currency, and said at its header."""
    wb = openpyxl.Workbook()
    wb.active.title = "Accounts"
    for row in ACCOUNTS:
        wb.active.append(row)
    ws = wb.create_sheet("Opportunities")
    ws.append(["ID", "Name", "Account", "Owner", "Stage", "Amount", None, "Close Date"])
    ws.append(["", "A", "Acme", "Mia", "Proposal", 1000, "EUR", "2026-12-20"])
    ws.append(["", "B", "Acme", "Mia", "Proposal", 2000, None, "2026-12-20"])
    ws.append(["", "C", "Acme", "Mia", "Proposal", 3000, "gbp", "2026-12-20"])
    if merged:
        ws.merge_cells("F1:G1")
    path = tmp_path / "crm.xlsx"
    wb.save(path)
    book = XlsxWorkbook(path)
    before = user_cells(path)
    outcome = sync(book, Config(), as_of=AS_OF)
    assert [(o.amount, o.currency) for o in outcome.results.opportunities] == [(1000, "EUR"), (2000, None),
                                                                               (3000, "GBP")]  # None: the base
    [said] = issues(outcome.crm, "currency_column_unheaded")
    assert (said.where(), said.severity) == ("Opportunities!G1", "warning")
    assert said.message.startswith("Column G has no header and holds only currencies (EUR and the like)")
    assert issues(outcome.crm, "missing_rate")  # EUR and GBP have no rate: said, never summed as dollars
    assert_only_sheetcrm_cells_changed(before, user_cells(path))
    assert openpyxl.load_workbook(path)["Opportunities"]["G1"].value is None  # the header stays the person's
    assert not sync(book, Config(), as_of=AS_OF).plan
    with using("es"):
        [said] = issues(read_crm(book.read(), Config(), "es"), "currency_column_unheaded")
        assert said.message.startswith("La columna G no tiene encabezado")


def test_a_column_of_currency_symbols_with_no_header_is_the_currency_column():
    rows = [OPP_HEADER[:6] + [None, "Close Date"], deal(1000, "€"), deal(2000, " £ ")]
    crm = opps(rows)
    assert [r.record.currency for r in crm.tables["opportunities"].rows] == ["EUR", "GBP"]
    [said] = issues(crm, "currency_column_unheaded")
    assert said.message.startswith("Column G has no header and holds only currencies (€ and the like)")


def test_a_column_with_no_header_and_more_than_currency_codes_stays_unread():
    for other in ("see notes", "kr", 5):
        rows = [OPP_HEADER[:6] + [None, "Close Date"], deal(1000, "EUR"), deal(2000, other)]
        crm = opps(rows)
        assert amounts(crm) == [1000, 2000] and not issues(crm, "currency_column_unheaded"), other
