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
    # The ID's write is guarded by its row's cells as read ("08015", "(555) 123-4569"), which
    # the file holds as 8015 and 5551234569: the guard reads them as the read does, so it lands.
    path = _book(tmp_path)
    sync(XlsxWorkbook(path), Config(), dt.date(2026, 12, 2))
    grid = XlsxWorkbook(path).read().tabs["Leads"]
    assert grid.rows[3][:5] == ["LEAD-0003", "08015", "(555) 123-4569", "Vidal", "New"]
    again = sync(XlsxWorkbook(path), Config(), dt.date(2026, 12, 2))
    assert again.result is None
