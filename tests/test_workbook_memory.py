"""MemoryWorkbook is the reference for the backend contract, so the contract tests live here
and run against every backend; backend-specific tests follow at the end."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.memory import MemoryWorkbook, same_value, trim_rows
from sheetcrm.workbook.xlsx import XlsxWorkbook


def _xlsx_book(path, tabs, formulas):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for tab, rows in tabs.items():
        ws = wb.create_sheet(tab)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                ws.cell(r, c).value = value
        for (r, c), text in formulas.get(tab, {}).items():
            ws.cell(r + 1, c + 1).value = text
    wb.save(path)
    return XlsxWorkbook(path)


@pytest.fixture(params=["memory", "xlsx"])
def make_book(request, tmp_path):
    """Build a backend holding `tabs`; `formulas` maps tab -> {(row, col) 0-based: formula}."""

    def make(tabs, formulas=None):
        formulas = formulas or {}
        if request.param == "memory":
            return MemoryWorkbook(tabs, {tab: set(cells) for tab, cells in formulas.items()})
        return _xlsx_book(tmp_path / "book.xlsx", tabs, formulas)

    return make


CONTACTS = [["Name", "Email", "Stage"], ["Ann", "ann@x.com", "Lead"], ["Bob", "bob@x.com", "Won"]]


def test_round_trip_keeps_types(make_book):
    book = make_book({"Contacts": CONTACTS})
    row = ["0042", 7, 2.5, True, dt.date(2024, 3, 1), dt.datetime(2024, 3, 1, 9, 30)]
    plan = Plan(
        new_tabs=["Log"],
        writes=[CellWrite("Log", 1, c, v) for c, v in enumerate(["a", "b", "c", "d", "e", "f"], 1)]
        + [CellWrite("Log", 2, c, v) for c, v in enumerate(row, 1)],
    )
    result = book.write(plan)
    snap = book.read()
    assert list(snap.tabs) == ["Contacts", "Log"]
    assert snap.tabs["Contacts"].rows == CONTACTS
    assert snap.tabs["Log"].rows == [["a", "b", "c", "d", "e", "f"], row]
    assert [type(v) for v in snap.tabs["Log"].rows[1]] == [str, int, float, bool, dt.date, dt.datetime]
    assert result.written == {"Log": 12} and result.skipped == []


def test_existing_tab_in_new_tabs_is_not_duplicated(make_book):
    book = make_book({"Contacts": CONTACTS})
    book.write(Plan(new_tabs=["Contacts", "Deals", "Deals"]))
    snap = book.read()
    assert list(snap.tabs) == ["Contacts", "Deals"]
    assert snap.tabs["Contacts"].rows == CONTACTS


def test_trailing_empty_cells_and_rows_are_trimmed(make_book):
    book = make_book({"T": [["a", None, "b", None, ""], [None, None], ["c"], [None], [""]]})
    assert book.read().tabs["T"].rows == [["a", None, "b"], [], ["c"]]


def test_write_is_skipped_when_its_row_changed(make_book):
    book = make_book({"Contacts": CONTACTS})
    # Planned when row 2 was Ann; someone sorted the sheet and Bob is there now.
    stale = CellWrite("Contacts", 3, 3, "Lost", expect=((1, "Ann"), (2, "ann@x.com")))
    fresh = CellWrite("Contacts", 2, 3, "Qualified", expect=((1, "Ann"), (2, "ann@x.com")))
    result = book.write(Plan(writes=[stale, fresh]))
    assert result.skipped == [stale]
    assert result.written == {"Contacts": 1}
    rows = book.read().tabs["Contacts"].rows
    assert rows[1][2] == "Qualified" and rows[2][2] == "Won"


@pytest.mark.parametrize(
    "held, expected, applies",
    [
        (None, "", True),
        ("", None, True),
        (5, 5.0, True),
        (dt.date(2024, 1, 2), dt.datetime(2024, 1, 2), True),
        (dt.datetime(2024, 1, 2, 8), dt.date(2024, 1, 2), False),
        (True, 1, False),
        ("5", 5, False),
    ],
)
def test_expectations_normalise_values(make_book, held, expected, applies):
    book = make_book({"T": [["key", "x"], [held, "old"]]})
    result = book.write(Plan(writes=[CellWrite("T", 2, 2, "new", expect=((1, expected),))]))
    assert (book.read().tabs["T"].cell(1, 1) == "new") is applies
    assert len(result.skipped) == (0 if applies else 1)


def test_expectations_are_judged_before_the_plan_applies(make_book):
    # Filling the key and a value of the same row in one plan: both expect the key empty.
    book = make_book({"T": [["id", "name"], [None, "Ann"]]})
    writes = [
        CellWrite("T", 2, 1, "C-1", expect=((1, None), (2, "Ann"))),
        CellWrite("T", 2, 3, "x", expect=((1, None), (2, "Ann"))),
    ]
    result = book.write(Plan(writes=writes))
    assert result.skipped == [] and result.written == {"T": 2}
    assert book.read().tabs["T"].rows[1] == ["C-1", "Ann", "x"]


def test_formula_cell_is_never_overwritten_in_a_user_tab(make_book):
    book = make_book({"T": [["a", "b"], [1, None]]}, {"T": {(1, 1): "=A2*2"}})
    assert book.read().tabs["T"].formulas == {(1, 1)}
    write = CellWrite("T", 2, 2, 99, expect=((1, 1),))
    result = book.write(Plan(writes=[write]))
    assert result.skipped == [write]
    assert book.read().tabs["T"].formulas == {(1, 1)}


def test_owned_tab_write_replaces_a_formula(make_book):
    book = make_book({"T": [["a", "b"], [1, None]]}, {"T": {(1, 1): "=A2*2"}})
    result = book.write(Plan(writes=[CellWrite("T", 2, 2, 99)]))
    grid = book.read().tabs["T"]
    assert result.written == {"T": 1}
    assert grid.formulas == set() and grid.cell(1, 1) == 99


def test_formula_write_is_reported_as_formula(make_book):
    book = make_book({"T": [["a"]]})
    book.write(Plan(writes=[CellWrite("T", 2, 1, "SUM(1,2)", formula=True)]))
    assert book.read().tabs["T"].formulas == {(1, 0)}


def test_text_that_looks_like_a_formula_stays_text(make_book):
    book = make_book({"T": [["a"]]})
    book.write(Plan(writes=[CellWrite("T", 2, 1, '=IMPORTXML("http://x","//a")'), CellWrite("T", 3, 1, "0042")]))
    grid = book.read().tabs["T"]
    assert grid.formulas == set()
    assert grid.rows == [["a"], ['=IMPORTXML("http://x","//a")'], ["0042"]]


def test_write_to_a_missing_tab_is_skipped(make_book):
    book = make_book({"T": [["a"]]})
    write = CellWrite("Gone", 1, 1, "x")
    result = book.write(Plan(writes=[write]))
    assert result.skipped == [write] and result.written == {}
    assert list(book.read().tabs) == ["T"]


def test_same_value_and_trim_rows():
    assert same_value(None, "") and same_value(3, 3.0)
    assert not same_value(False, 0) and not same_value("a", "A")
    assert trim_rows([[1, None], [None, ""], []]) == [[1]]


def test_memory_empty_or_fully_skipped_plan_does_not_save():
    book = MemoryWorkbook({"T": [["a"]]})
    book.write(Plan())
    book.write(Plan(writes=[CellWrite("T", 1, 1, "b", expect=((1, "zzz"),))]))
    assert book.saves == 0
    book.write(Plan(writes=[CellWrite("T", 1, 1, "b")]))
    assert book.saves == 1


def test_memory_read_is_a_snapshot_not_a_view():
    book = MemoryWorkbook({"T": [["a"]]})
    snap = book.read()
    book.write(Plan(writes=[CellWrite("T", 1, 1, "b")]))
    assert snap.tabs["T"].rows == [["a"]]
    assert book.tabs["T"] == [["b"]]


def test_memory_formula_write_keeps_its_text():
    book = MemoryWorkbook({"T": []})
    book.write(Plan(writes=[CellWrite("T", 1, 1, "A2+1", formula=True)]))
    assert book.tabs["T"] == [["=A2+1"]] and book.formulas["T"] == {(0, 0)}
