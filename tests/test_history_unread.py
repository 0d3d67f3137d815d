"""A history row a person damaged (a Changed At that is not a date, an empty one) is said at its
cell and kept as it is, never dropped by the rewrite of the tab: on .xlsx and on Google."""

from __future__ import annotations

import datetime as dt


from books import xlsx_book
from sheetcrm.config import Config
from sheetcrm.steps.history import HISTORY_ROW_UNREAD
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.target import header_tests

OPPORTUNITIES = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"]] + [
    [f"OPP-{n:04d}", f"Deal {n}", "Acme", "ana", "Prospecting", 1000 * n, "USD", "2026-12-20"] for n in range(1, 5)]
DAY = dt.date(2026, 11, 10)


def _stage(book, n: int, stage: str) -> None:
    rows = book.read().tabs["Opportunities"].rows
    row = next(i for i, r in enumerate(rows, 1) if r and r[0] == f"OPP-{n:04d}")
    book.write(Plan(writes=[CellWrite("Opportunities", row, 5, stage)]))


def _history(book) -> list[list]:
    return [list(r) for r in book.read().tabs["Stage History"].rows]


def damaged_then_synced(book) -> tuple[list, list, object]:
    """Two syncs log each deal's first row; a person then damages two rows; a deal moves and a
    sync writes the tab again. Returns (the rows as damaged, the rows after, the outcome)."""
    sync(book, Config(), as_of=DAY)
    _stage(book, 1, "Qualification")
    sync(book, Config(), as_of=DAY + dt.timedelta(days=1))
    rows = _history(book)
    at = {r[0]: i for i, r in enumerate(rows, 1) if r[2] == "Prospecting"}
    book.write(Plan(writes=[CellWrite("Stage History", at["OPP-0002"], 4, "garbage"),
                            CellWrite("Stage History", at["OPP-0003"], 4, None)]))
    damaged = _history(book)
    _stage(book, 4, "Proposal")
    outcome = sync(book, Config(), as_of=DAY + dt.timedelta(days=2))
    return damaged, _history(book), outcome


def check(damaged: list, after: list, outcome) -> None:
    bad = [r for r in damaged if r[0] in ("OPP-0002", "OPP-0003") and r[2] == "Prospecting"]
    assert len(bad) == 2
    assert outcome.result is not None  # the tab was written: OPP-0004's move is in it
    assert any(r[0] == "OPP-0004" and r[2] == "Proposal" for r in after)
    # Both damaged rows are still there, their cells as the person left them, after the rows
    # that can be read.
    tail = after[-2:]
    assert sorted(map(tuple, (r[:4] for r in tail)), key=str) == sorted(map(tuple, (r[:4] for r in bad)), key=str)
    issues = [i for i in outcome.crm.report.issues if i.code == HISTORY_ROW_UNREAD]
    assert sorted((i.row, i.column, i.value) for i in issues) == sorted(
        (len(after) - 1 + k, "D", r[3]) for k, r in enumerate(tail))
    assert all(i.tab == "Stage History" and i.severity == "warning" and i.header == "Changed At" for i in issues)
    assert any("empty" in i.message for i in issues) and any("garbage" in i.message for i in issues)


def test_a_damaged_history_row_is_said_and_kept_on_xlsx(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", {"Opportunities": OPPORTUNITIES})
    damaged, after, outcome = damaged_then_synced(book)
    check(damaged, after, outcome)
    # Said again, not moved again: the next sync has nothing to write.
    again = sync(book, Config(), as_of=DAY + dt.timedelta(days=2))
    assert not again.plan and _history(book) == after
    assert len([i for i in again.crm.report.issues if i.code == HISTORY_ROW_UNREAD]) == 2



def test_a_damaged_history_row_is_said_and_kept_on_google(emu):
    key = emu.create_spreadsheet("CRM", {"Opportunities": OPPORTUNITIES}, value_input="USER_ENTERED")
    conn = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None))
    book = GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com", **header_tests(Config()))
    check(*damaged_then_synced(book))


def test_equal_amounts_of_a_history_tab_are_read_once_and_each_as_its_own_cell_reads():
    """A deal's amount repeats on each of its stage changes: equal cells of one type share one
    Decimal; a whole number, a float and a text of the same amount are each read as alone."""
    from sheetcrm import cells
    from sheetcrm.inputs import read_history
    from sheetcrm.workbook import Grid

    day = dt.date(2026, 3, 1)
    amounts = [1000, 1000, 1000.0, 1000.5, "1,000.50", 1000.5, None]
    grid = Grid([["Opportunity", "From", "To", "Changed At", "Amount"]]
                + [[f"OPP-{i}", "Lead", "Won", day, a] for i, a in enumerate(amounts)])
    rows = read_history(grid, "en", None)
    assert [r.amount for r in rows] == [cells.parse_number(a, "en") for a in amounts]
    assert rows[0].amount is rows[1].amount and rows[3].amount is rows[5].amount
    assert rows[2].amount is not rows[0].amount and str(rows[0].amount) == str(cells.parse_number(1000, "en"))


def test_a_column_deleted_from_stage_history_on_google_is_said_and_the_rows_kept_as_they_show(emu):
    """Google hands Changed At back as serial numbers, so a plain number there cannot be refused:
    with From deleted, the day was read as the To stage and the amount as the day (1902). The tab
    is found wanting by its header row instead, and left as the person has it."""
    key = emu.create_spreadsheet("CRM", {"Opportunities": OPPORTUNITIES}, value_input="USER_ENTERED")
    conn = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None))
    book = GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com", **header_tests(Config()))
    sync(book, Config(), as_of=DAY)
    _stage(book, 1, "Qualification")
    sync(book, Config(), as_of=DAY + dt.timedelta(days=1))
    rng = {"sheetId": emu.sheet_id(key, "Stage History"), "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}
    emu.apply(key, [{"deleteDimension": {"range": rng}}])
    left = emu.values(key, "Stage History")
    assert left[0] == ["Opportunity", "To", "Changed At", "Amount"]
    shown = conn.client.open_by_key(key).worksheet("Stage History").get_all_values()  # as formatted
    assert shown[1][3] == "$1,000.00"
    _stage(book, 2, "Proposal")
    outcome = sync(book, Config(), as_of=DAY + dt.timedelta(days=2))
    issues = [i for i in outcome.crm.report.issues if i.tab == "Stage History" or i.code == "history_before_created"]
    assert [(i.code, i.row) for i in issues] == [("history_column_gone", 1)]
    assert emu.values(key, "Stage History") == left
    # Nor formatted by position: the amounts (now in D) showed as dates, 1000 as 1902-09-26.
    assert conn.client.open_by_key(key).worksheet("Stage History").get_all_values() == shown
    rows = book.read().tabs["Opportunities"].rows
    at = rows[0].index("Days in Stage")
    assert all(len(r) <= at or r[at] is None for r in rows[1:])


def test_a_damaged_lead_status_history_row_s_hint_asks_for_no_amount(tmp_path):
    """Lead Status History has no Amount column; its hint asked for "Amount a number"."""
    leads = [["ID", "Last Name", "Company", "Email", "Status"], ["LEAD-0001", "Diaz", "Acme", "ana@acme.com", "New"]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": leads})
    sync(book, Config(), as_of=DAY)
    book.write(Plan(writes=[CellWrite("Lead Status History", 2, 4, "garbage")]))
    for locale, amount in (("en", "Amount"), ("es", "Importe")):
        outcome = sync(book, Config(locale=locale), as_of=DAY, dry_run=True)
        [issue] = [i for i in outcome.crm.report.issues if i.code == HISTORY_ROW_UNREAD]
        assert issue.tab == "Lead Status History"
        assert amount not in issue.hint
