"""Numbers whose number format shows them as a code: a postal code 8001 formatted `00000`
(Excel's Zip Code format) shows 08001, and is read as the text "08001" a person sees, never
as the number 8001 whose zero is gone.

Real .xlsx files made with openpyxl; what a person sees was checked with LibreOffice
(`soffice --convert-to csv` of the same codes: the expected texts below are its output)."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config
from sheetcrm.crm.conditions import parse_condition
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook.numformat import show_digits
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx


@pytest.mark.parametrize("code, shown", [
    # 8001, 1234567, 5551234567, 7, 0 as LibreOffice 7 shows them under each code
    ("00000", ["08001", "1234567", "5551234567", "00007", "00000"]),
    ("000-00-0000", ["000-00-8001", "001-23-4567", "5551-23-4567", "000-00-0007", "000-00-0000"]),
    ("(000) 000-0000", ["(000) 000-8001", "(000) 123-4567", "(555) 123-4567", "(000) 000-0007", "(000) 000-0000"]),
    ('"ES"00000', ["ES08001", "ES1234567", "ES5551234567", "ES00007", "ES00000"]),
    ("[Red]00000;-00000", ["08001", "1234567", "5551234567", "00007", "00000"]),
])
def test_a_code_of_zeros_shows_the_digits_as_libreoffice_does(code, shown):
    assert [show_digits(v, code) for v in (8001, 1234567, 5551234567, 7, 0)] == shown


@pytest.mark.parametrize("code", ["0", "00", "#,##0", "0.00", "0%", "0.00E+00", "#####", "[<=9999999]###-####",
                                  "yyyy", "General", "@"])
def test_other_codes_show_the_number_itself(code):
    assert show_digits(8001, code) is None


# The codes first: a row without an ID is known by its first two cells (`ids.row_key`).
HEAD = ["ID", "Postal Code", "Phone", "Last Name", "Status", "Visits"]
ROWS = [["LEAD-0001", 8001, 5551234567, "Puig", "New", 3],
        ["LEAD-0002", 28001, 5551234568, "Soler", "New", 4],
        [None, 8015, 5551234569, "Vidal", "New", 5]]


def _book(tmp_path):
    formats = {("Leads", f"{c}{r}"): code for r in (2, 3, 4) for c, code in (("C", "(000) 000-0000"),
                                                                              ("B", "00000"))}
    return xlsx(tmp_path / "codes.xlsx", {"Leads": [HEAD, *ROWS]}, formats=formats)


def test_a_number_formatted_as_a_postal_code_reads_as_the_code_a_person_sees(tmp_path):
    path = _book(tmp_path)
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    leads = crm.records("leads")
    assert [lead.custom["Postal Code"] for lead in leads] == ["08001", "28001", "08015"]
    assert [lead.phone for lead in leads] == ["(555) 123-4567", "(555) 123-4568", "(555) 123-4569"]
    assert [lead.custom["Visits"] for lead in leads] == [3, 4, 5]  # General: numbers still
    assert not [i for i in crm.report.issues if i.tab == "Leads"]
    barcelona = parse_condition('Postal Code matches "^08"', "en")
    assert [lead.last_name for lead in leads
            if barcelona.test(lambda _relation, _column, v=lead.custom["Postal Code"]: v)] == ["Puig", "Vidal"]


def test_a_row_with_such_a_code_gets_its_id_and_a_second_sync_writes_nothing(tmp_path):
    # The ID's write is guarded by its row's first cells as the file holds them (8015,
    # 5551234569), not as they show, so it lands.
    path = _book(tmp_path)
    sync(XlsxWorkbook(path), Config(), dt.date(2026, 12, 2))
    grid = XlsxWorkbook(path).read().tabs["Leads"]
    assert grid.rows[3][:5] == ["LEAD-0003", 8015, 5551234569, "Vidal", "New"]
    assert (grid.codes[(3, 1)], grid.codes[(3, 2)]) == ("08015", "(555) 123-4569")
    again = sync(XlsxWorkbook(path), Config(), dt.date(2026, 12, 2))
    assert again.result is None


def test_sheetcrms_own_cells_formatted_so_are_still_its_own(tmp_path):
    """Days in Stage formatted `000` shows 000, and is still the 0 sheetcrm wrote: not a value a
    person typed over it (which sheetcrm would keep and stop updating)."""
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Currency", "Close Date",
                               "Weighted Amount", "Days in Stage"],
                              ["OPP-0001", "x", "ACC-0001", "Proposal", 1000, "USD", "2027-01-15"]]}
    path = xlsx(tmp_path / "own.xlsx", tabs, formats={("Opportunities", "H2"): "000000",
                                                       ("Opportunities", "I2"): "000"})
    sync(XlsxWorkbook(path), Config(), dt.date(2026, 12, 2))
    again = sync(XlsxWorkbook(path), Config(), dt.date(2026, 12, 3))
    assert XlsxWorkbook(path).read().tabs["Opportunities"].codes == {(1, 7): "000500", (1, 8): "001"}
    assert not [i for i in again.crm.report.issues if i.code == "computed_cell_typed"]
    assert again.cells_written["Opportunities"] == 1  # Days in Stage, a day later


def test_google_reads_such_codes_where_its_formats_read_reaches(emu):
    """On Google the values read gives 8001; the pattern comes with the formats read a team's
    own column holding a number of the days 1950-2099 (28001) already pays, never another."""
    from test_cell_facts import Traced

    rows = [["ID", "Zip", "Name", "Status"], ["ACC-0001", 8001, "Acme", "Customer"],
            ["ACC-0002", 28001, "Beta", "Customer"], [None, 8015, "Gamma", "Customer"]]
    key = emu.create_spreadsheet("CRM", {"Accounts": rows})
    emu.apply(key, [{"repeatCell": {
        "range": {"sheetId": emu.sheet_id(key, "Accounts"), "startRowIndex": 1, "endRowIndex": 4,
                  "startColumnIndex": 1, "endColumnIndex": 2},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "NUMBER", "pattern": "00000"}}},
        "fields": "userEnteredFormat.numberFormat"}}])
    t = Traced(key, Config())
    snap = t.book.read()
    assert t.counts() == (3, 0)  # metadata, values, and the one formats read
    assert [r[1] for r in snap.tabs["Accounts"].rows[1:]] == [8001, 28001, 8015]  # as Google holds them
    crm = read_crm(snap, Config())
    assert [a.custom["Zip"] for a in crm.records("accounts")] == ["08001", "28001", "08015"]
    sync(t.book, Config(), dt.date(2026, 12, 2))  # the ID's guard compares 8015 and Gamma, as Google holds them
    assert [r[0] for r in Traced(key, Config()).book.read().tabs["Accounts"].rows[1:]] == [
        "ACC-0001", "ACC-0002", "ACC-0003"]
