"""Every realworld fixture on Google, through the emulator over HTTP: the same sheet (values as
typed, percent formats, formulas whose last result is an error, merged blocks) gives the values
its README line says, exactly as the .xlsx copy does (tests/test_reading_realworld.py), and a
second sync writes nothing.

A fixture is mirrored from what the .xlsx backend reports of it: its values, and for each fact a
request a person's edit would make on Google: a percent number format, a merge, or a formula that
fails the same way (Google keeps no cached results, so the formula must really fail).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from sheetcrm.config import Config
from sheetcrm.emulator import Emulator
from sheetcrm.report import column_letter
from sheetcrm.sync import sync
from sheetcrm.workbook.target import open_workbook
from sheetcrm.workbook.xlsx import XlsxWorkbook

FIXTURES = Path(__file__).parent / "fixtures" / "realworld"
AS_OF = dt.date(2026, 12, 15)
# A formula that fails on Google with each error a fixture's cells show.
FAILING = {"#N/A": "=NA()", "#VALUE!": '="a"+1', "#REF!": "=Nowhere!A1", "#DIV/0!": "=1/0", "#NAME?": "=FOO(1)"}


def _cell(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def mirror(emu: Emulator, fixture: str) -> str:
    """A spreadsheet in the emulator holding what the fixture's .xlsx holds; returns its key."""
    snapshot = XlsxWorkbook(FIXTURES / fixture).read()
    # Values as the file holds them (text stays text: RAW), then each failing formula typed in.
    key = emu.create_spreadsheet("CRM", {title: [[_cell(v) for v in row] for row in grid.rows]
                                         for title, grid in snapshot.tabs.items()})
    for title, grid in snapshot.tabs.items():
        for (r, c), error in grid.errors.items():
            emu.set_values(key, f"'{title}'!{column_letter(c + 1)}{r + 1}", [[FAILING[error]]])
    requests = []
    for title, grid in snapshot.tabs.items():
        sid = emu.sheet_id(key, title)
        requests += [{"repeatCell": {
            "range": {"sheetId": sid, "startRowIndex": r, "endRowIndex": r + 1, "startColumnIndex": c,
                      "endColumnIndex": c + 1},
            "cell": {"userEnteredFormat": {"numberFormat": {"type": "PERCENT", "pattern": "0%"}}},
            "fields": "userEnteredFormat.numberFormat"}} for r, c in sorted(grid.percent)]
        requests += [{"mergeCells": {"mergeType": "MERGE_ALL", "range": {
            "sheetId": sid, "startRowIndex": r0, "endRowIndex": r1 + 1, "startColumnIndex": c0,
            "endColumnIndex": c1 + 1}}} for r0, c0, r1, c1 in grid.merges]
    if requests:
        emu.apply(key, requests)
    return key



def synced(emu: Emulator, fixture: str, config: Config | None = None):
    config = (config or Config()).model_copy(update={"spreadsheet": mirror(emu, fixture)})
    book = open_workbook(config)
    outcome = sync(book, config, as_of=AS_OF)
    assert not sync(book, config, as_of=AS_OF).plan, "a second sync writes nothing"
    return outcome, book


def cell_issues(outcome):
    return [i for i in outcome.crm.report.issues if i.code not in ("missing_tab", "left_out")
            and not (i.code == "column_not_found" and i.value == "Opportunities")]  # said with the Forecast too


def test_eu_thousands_dot_on_google(emu):
    outcome, _ = synced(emu, "eu_thousands_dot_default_locale.xlsx", Config(currency="EUR"))
    assert [o.amount for o in outcome.results.opportunities] == [Decimal("1234.50"), 12500, 2000]
    team = outcome.results.kpis.team
    assert (team.open_pipeline, team.weighted_pipeline) == (Decimal("15734.50"), Decimal("7867.25"))
    assert not cell_issues(outcome)


def test_amount_with_an_iso_code_on_google(emu):
    outcome, _ = synced(emu, "amount_with_iso_code_prefix.xlsx")
    first, second = outcome.results.opportunities
    assert (first.amount, first.currency, second.amount, second.currency) == (10000, "JPY", 10000, "USD")
    team = outcome.results.kpis.team
    assert (team.open_pipeline, team.weighted_pipeline) == (Decimal("10067.00"), Decimal("5033.50"))


def test_percent_formatted_probability_on_google(emu):
    outcome, _ = synced(emu, "percent_100_read_as_1.xlsx")
    assert [o.probability for o in outcome.results.opportunities] == [100, 50]
    assert [m.weighted_amount for m in outcome.results.metrics] == [10000, 5000]
    assert outcome.results.kpis.team.weighted_pipeline == 15000
    assert not cell_issues(outcome)  # the format says 100%: nothing to doubt


def test_formula_errors_on_google(emu):
    outcome, _ = synced(emu, "formula_error_cached_values.xlsx")
    found = {(i.where(), i.code, i.value) for i in cell_issues(outcome) if i.severity == "error"}
    assert found == {("Opportunities!F2", "formula_error", "#N/A"), ("Opportunities!H3", "formula_error", "#VALUE!"),
                     ("Opportunities!C4", "formula_error", "#REF!")}
    assert not any("empty" in i.message for i in cell_issues(outcome))
    assert not [o for o in outcome.results.opportunities if o.amount == 0]


def test_a_deal_named_by_a_link_is_in_the_pipeline_on_google(emu):
    """=HYPERLINK(url, label) shows its label on Google, so the deal is named by it (the
    emulator evaluated it to #NAME?, and the deal was left out as a formula_error)."""
    key = emu.create_spreadsheet("CRM", {
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                          ["", "Deal A", "Acme", "Proposal", 1000, "2026-12-20"]],
        "Accounts": [["ID", "Name"], ["", "Acme"]]})
    emu.set_values(key, "Opportunities!B2", [['=HYPERLINK("http://x.com/a","Deal A")']])
    config = Config(spreadsheet=key)
    outcome = sync(open_workbook(config), config, as_of=AS_OF)
    assert [o.name for o in outcome.results.opportunities] == ["Deal A"]
    assert not [i for i in cell_issues(outcome) if i.severity == "error"]


def test_title_rows_above_the_header_on_google(emu):
    outcome, book = synced(emu, "title_rows_above_header.xlsx")
    assert [a.name for a in outcome.crm.records("accounts")] == ["Lumen Parts Ltd", "Orchid Dental"]
    rows = book.read().tabs["Accounts"].rows
    title = XlsxWorkbook(FIXTURES / "title_rows_above_header.xlsx").read().tabs["Accounts"].rows[0]
    assert rows[0] == title and rows[1] == []  # rows above the header are never written
    id_col = rows[2].index("ID")
    assert [rows[3][id_col], rows[4][id_col]] == ["ACC-0001", "ACC-0002"]
    assert not cell_issues(outcome)
    # The Status dropdown starts under the header row, never on the header or the title above it.
    [sheet] = [s for s in emu.service.book(book.key).sheets if s.title == "Accounts"]
    status = rows[2].index("Status")
    ruled = [r for r in range(sheet.row_count) if (sheet.cell(r, status) or {}).get("dataValidation")]
    assert ruled == list(range(3, sheet.row_count))


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.xlsx")))
def test_google_and_xlsx_read_every_fixture_the_same(emu, tmp_path, fixture):
    """Whatever a fixture holds, both backends give the same records, computed values and issues."""
    import shutil

    config = Config(currency="EUR") if fixture.startswith("eu_") else Config()
    shutil.copyfile(FIXTURES / fixture, tmp_path / fixture)
    on_file = sync(XlsxWorkbook(tmp_path / fixture), config, as_of=AS_OF)
    on_google, _ = synced(emu, fixture, config)
    for key in on_file.crm.tables:
        assert ([r.model_dump() for r in on_file.crm.records(key)]
                == [r.model_dump() for r in on_google.crm.records(key)]), key
    assert ([(o.id, o.amount, o.currency, o.probability) for o in on_file.results.opportunities]
            == [(o.id, o.amount, o.currency, o.probability) for o in on_google.results.opportunities])
    assert ({(i.where(), i.code) for i in on_file.crm.report.issues}
            == {(i.where(), i.code) for i in on_google.crm.report.issues})


def test_a_formula_shows_the_format_of_the_cell_it_reads_on_google(emu):
    """A Probability `=I2` reading a 25% cell and an Amount `=G2` reading a euro amount: Google
    gives each formula cell the computed number format of the cell it reads (CellData.effectiveFormat),
    so sheetcrm reads 25 % and euros there as in the cells they copy (the emulator gave them no
    format: 0.25 read as an ambiguous 0.25 %, the amount in the base currency)."""
    key = emu.create_spreadsheet("CRM", {
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Currency", "Close Date", "Probability"],
                          ["", "Deal A", "Acme", "Proposal", 6500, "", "2026-12-20", "25%"],
                          ["", "Deal B", "Acme", "Proposal", "=E2", "", "2026-12-20", "=H2"]],
        "Accounts": [["ID", "Name"], ["", "Acme"]],
        "Rates": [["Currency", "Rate"], ["EUR", 2]]}, value_input="USER_ENTERED")
    emu.apply(key, [{"repeatCell": {
        "range": {"sheetId": emu.sheet_id(key, "Opportunities"), "startRowIndex": 1, "endRowIndex": 2,
                  "startColumnIndex": 4, "endColumnIndex": 5},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "CURRENCY", "pattern": "[$€-x-euro2] #,##0.00"}}},
        "fields": "userEnteredFormat.numberFormat"}}])
    config = Config(spreadsheet=key)
    outcome = sync(open_workbook(config), config, as_of=AS_OF)
    assert [(o.name, o.amount, o.currency, o.probability) for o in outcome.results.opportunities] == [
        ("Deal A", 6500, "EUR", 25), ("Deal B", 6500, "EUR", 25)]
    assert outcome.results.kpis.team.open_pipeline == 26000  # both at 2 USD a euro
    assert not [i for i in cell_issues(outcome) if i.code in ("ambiguous_percent", "missing_rate")]
