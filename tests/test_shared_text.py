"""Equal text cells of a tab are one str object (`workbook.share_text`): a CRM's text repeats
(stages, owners, sources), and sharing it is a third of a 10k-lead grid's memory. The values,
and their types, are exactly the ones read."""

from __future__ import annotations

import datetime as dt

import openpyxl

from sheetcrm.workbook import share_text
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.workbook import xlsx_memo


def _fresh(text: str) -> str:
    """An equal str that is another object, as a reader makes one for each cell."""
    return text.encode().decode()


def test_equal_texts_become_one_object_and_no_other_value_changes_type() -> None:
    rows = [["Stage", "Amount", "Won"],
            [_fresh("Proposal"), 1, True],
            [_fresh("Proposal"), 1.0, 1],
            [_fresh("Proposal"), True, "1"],
            [_fresh("Qualified"), None, _fresh("1")]]
    assert rows[1][0] is not rows[2][0]
    before = [[(type(v), v) for v in row] for row in rows]
    share_text(rows)
    assert [[(type(v), v) for v in row] for row in rows] == before
    assert rows[1][0] is rows[2][0] is rows[3][0]
    assert rows[3][2] is rows[4][2]  # "1" twice: shared, and still text beside 1, 1.0 and True
    assert rows[1][2] is True and rows[2][1].__class__ is float and rows[2][2].__class__ is int


def test_whole_numbers_are_shared_too_in_the_rows_as_they_are() -> None:
    """Equal ints are one object as well (a Google read gives whole numbers as int: 197k
    cells at 10k leads, 4,025 distinct), never standing in for an equal float, bool or text;
    the rows stay the same list objects (no over-allocated copy of each)."""
    big = 10 ** 6
    rows = [["Amount", "Won"], [big + 1 - 1, 1], [int(str(big)), 1.0], [big * 1.0, True], [str(big), 1]]
    assert rows[1][0] is not rows[2][0]
    lists = [id(row) for row in rows]
    before = [[(type(v), v) for v in row] for row in rows]
    share_text(rows)
    assert [id(row) for row in rows] == lists
    assert [[(type(v), v) for v in row] for row in rows] == before
    assert rows[1][0] is rows[2][0]
    assert rows[3][0].__class__ is float and rows[4][0].__class__ is str
    assert rows[2][1].__class__ is float and rows[3][1] is True and rows[4][1].__class__ is int


def test_an_xlsx_read_shares_each_tabs_equal_texts_with_and_without_the_grid_memo(tmp_path) -> None:
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Name", "Status", "Created", "Score"])
    for i in range(40):
        ws.append([f"Person {i}", ("New", "Working", "Qualified")[i % 3], dt.date(2026, 1, 1 + i % 28), i % 4])
    wb.save(path)
    expected = [[c.value for c in row] for row in openpyxl.load_workbook(path)["Leads"].iter_rows()]
    book = XlsxWorkbook(path)
    book.remember_grids(xlsx_memo.memo_path(tmp_path / "crm.rows"))
    for _ in range(2):  # decoded, then recalled from the memo
        rows = book.read().tabs["Leads"].rows
        statuses = {id(row[1]) for row in rows[1:]}
        assert len(statuses) == 3
        assert [row[1] for row in rows] == [row[1] for row in expected]
        assert [row[3] for row in rows[1:]] == [row[3] for row in expected[1:]]
        assert all(row[3].__class__ is int for row in rows[1:])
    assert book.grid_memo.decoded == []  # the second read was the memo's
