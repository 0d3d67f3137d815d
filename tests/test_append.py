"""New records appended to a people's tab (plan.append_writes): below everything the tab holds,
each row landing whole with its ID or not at all, never over a row a person typed meanwhile."""

from __future__ import annotations

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.plan import append_writes
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Plan, WorkbookConflict
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook


def _book(tmp_path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    for row in rows:
        ws.append(row)
    path = tmp_path / "crm.xlsx"
    wb.save(path)
    return XlsxWorkbook(path)


def _plan(book):
    snapshot = book.read()
    table = read_crm(snapshot, Config()).tables["accounts"]
    new = [{"id": "ACC-0003", "name": "Gamma", "country": "ES"}, {"id": "ACC-0004", "name": "Delta", "Tier": "Gold"}]
    writes, after = append_writes(table, snapshot.tabs["Accounts"], new)
    return Plan(writes=writes), after


def test_rows_go_below_everything_the_tab_holds_totals_and_notes_included(tmp_path):
    book = _book(tmp_path, [["ID", "Name", "Country", "Tier"], ["ACC-0001", "Acme", "ES", "Gold"],
                            ["ACC-0002", "Beta", "MX", None], [None, None, None, None],
                            ["Total", None, None, "=COUNTA(D2:D3)"], [None, None, None, None, "a note"]])
    plan, after = _plan(book)
    assert {w.row for w in plan.writes} == {7, 8} and after == 9
    book.write(plan)
    rows = book.read().tabs["Accounts"].rows
    assert rows[6][:3] == ["ACC-0003", "Gamma", "ES"] and rows[7][:4] == ["ACC-0004", "Delta", None, "Gold"]
    assert rows[4][0] == "Total" and rows[5][4] == "a note"  # the person's cells are where they were
    ws = openpyxl.load_workbook(book.path)["Accounts"]
    assert ws["D5"].value == "=COUNTA(D2:D3)"


def test_a_row_typed_meanwhile_is_never_written_over_and_its_new_record_waits():
    # The in-memory backend applies each write only while its row still holds what it expects
    # (as Google's does); an .xlsx saved meanwhile refuses the whole plan (WorkbookConflict).
    book = MemoryWorkbook({"Accounts": [["ID", "Name", "Country"], ["ACC-0001", "Acme", "ES"]]})
    plan, _ = _plan(book)
    book.tabs["Accounts"].append([None, "Typed by Ana", "PT"])  # where the first new record would go
    result = book.write(plan)
    rows = book.read().tabs["Accounts"].rows
    assert rows[2][:3] == [None, "Typed by Ana", "PT"]
    # The first new row was skipped whole (its ID and its cells); the second landed.
    assert {(w.row, w.col) for w in result.skipped} == {(3, 1), (3, 2), (3, 3)}
    assert rows[3][:2] == ["ACC-0004", "Delta"]


def test_an_xlsx_saved_meanwhile_gets_nothing_and_the_next_plan_goes_below(tmp_path):
    book = _book(tmp_path, [["ID", "Name", "Country"], ["ACC-0001", "Acme", "ES"]])
    plan, _ = _plan(book)
    wb = openpyxl.load_workbook(book.path)
    wb["Accounts"].append([None, "Typed by Ana", "PT"])
    wb.save(book.path)
    with pytest.raises(WorkbookConflict):
        book.write(plan)
    plan, _ = _plan(book)
    book.write(plan)
    rows = book.read().tabs["Accounts"].rows
    assert [r[:2] for r in rows[2:]] == [[None, "Typed by Ana"], ["ACC-0003", "Gamma"], ["ACC-0004", "Delta"]]
