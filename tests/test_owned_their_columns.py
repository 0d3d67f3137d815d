"""A column a person adds after sheetcrm's columns on one of its tabs is theirs: a sync never
clears it, and each of its cells stays with its row: a log's row (Stage History, Lead Status
History, the Validation tab's issues...) found by its content, a summary's by what names it
(the Pipeline's stage...). A row that leaves the tab leaves the person's cells below its rows.
On .xlsx and on Google (emulator).

Found by a tester: sort Stage History, add a "Note" column with ten notes, change a stage and
sync: the header and every note were cleared without a word (16 cells written)."""

from __future__ import annotations

import datetime as dt

import pytest

from books import xlsx_book
from sheetcrm.config import Config
from sheetcrm.schema import SYNC_LOG, SYNC_LOG_ROWS
from sheetcrm.steps.history import HISTORY_ROW_UNREAD
from sheetcrm.sync import plan_sync, sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.target import header_tests

D = dt.date
ACCOUNTS = [["ID", "Name"], ["ACC-0001", "Acme"]]
OPPORTUNITIES = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"]] + [
    [f"OPP-{n:04d}", f"Deal {n}", "Acme", "Ana", "Prospecting", 1000 * n, "2027-03-01"] for n in range(1, 5)]
LEADS = [["ID", "Last Name", "Company", "Status"], ["LEAD-0001", "Diaz", "Acme", "New"],
         ["LEAD-0002", "Ruiz", "Beta", "New"]]
TABS = {"Accounts": ACCOUNTS, "Opportunities": OPPORTUNITIES, "Leads": LEADS}


@pytest.fixture(params=["xlsx", "google"])
def book(request, tmp_path):
    if request.param == "xlsx":
        return xlsx_book(tmp_path / "crm.xlsx", TABS)
    emu = request.getfixturevalue("emu")
    key = emu.create_spreadsheet("CRM", TABS, value_input="USER_ENTERED")
    conn = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None))
    return GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com", **header_tests(Config()))


def _rows(book, title: str) -> list[list]:
    return [list(r) for r in book.read().tabs[title].rows]


def _set(book, tab: str, row: int, col: int, value) -> None:
    book.write(Plan(writes=[CellWrite(tab, row, col, value)]))


def _row_of(book, tab: str, text: str) -> int:
    return next(i for i, r in enumerate(_rows(book, tab), 1) if r and r[0] == text)


def _annotated(book, title: str, width: int, sort) -> dict[tuple, str]:
    """A person sorts the tab's rows and types a Note after its `width` columns on each:
    returns each row's first cells -> its note."""
    rows = _rows(book, title)
    body = sorted(([*r, *[None] * width][:width] for r in rows[1:]), key=sort)
    notes = {tuple(map(str, r[:3])): f"note {i}" for i, r in enumerate(body)}
    book.write(Plan(writes=[CellWrite(title, 1, width + 1, "Note"),
                            *(CellWrite(title, i, j, v) for i, r in enumerate(body, 2) for j, v in enumerate(r, 1)),
                            *(CellWrite(title, i, width + 1, notes[tuple(map(str, r[:3]))])
                              for i, r in enumerate(body, 2))]))
    return notes


def _notes(book, title: str, width: int) -> dict[tuple, str]:
    return {tuple(map(str, r[:3])): r[width] for r in _rows(book, title)[1:] if len(r) > width and r[width]}


def test_a_persons_column_on_the_history_tabs_stays_with_its_rows(book):
    sync(book, Config(), as_of=D(2027, 1, 4))
    _set(book, "Opportunities", 2, 5, "Qualification")
    _set(book, "Opportunities", 3, 5, "Proposal")
    _set(book, "Leads", 2, 4, "Contacted")
    sync(book, Config(), as_of=D(2027, 1, 11))
    stage_notes = _annotated(book, "Stage History", 5, sort=lambda r: str(r[0]), )
    lead_notes = _annotated(book, "Lead Status History", 4, sort=lambda r: (str(r[0]), str(r[2])))
    assert len(stage_notes) == 6 and len(lead_notes) == 3
    # A sorted tab keeps its order, and a new change is a row of its own below.
    _set(book, "Opportunities", _row_of(book, "Opportunities", "OPP-0004"), 5, "Negotiation")
    _set(book, "Leads", 3, 4, "Qualified")
    outcome = sync(book, Config(), as_of=D(2027, 1, 18))
    stage, lead = _rows(book, "Stage History"), _rows(book, "Lead Status History")
    assert stage[0][5] == "Note" and lead[0][4] == "Note"
    assert _notes(book, "Stage History", 5) == stage_notes
    assert _notes(book, "Lead Status History", 4) == lead_notes
    assert stage[-1][:3] == ["OPP-0004", "Prospecting", "Negotiation"] and lead[-1][:3] == ["LEAD-0002", "New",
                                                                                             "Qualified"]
    # Only the new rows were written, each whole: its cell in the person's Note column too (empty,
    # so nothing typed there in the write's window stays beside it); Lead Status History's fifth
    # column is not read as an Amount.
    assert outcome.result.written["Stage History"] == 6 and outcome.result.written["Lead Status History"] == 5
    assert not [i for i in outcome.crm.report.issues if i.code == HISTORY_ROW_UNREAD]
    # And a sync with nothing to change writes nothing.
    assert not sync(book, Config(), as_of=D(2027, 1, 18)).cells_written


def test_a_persons_column_on_a_summary_stays_with_what_names_its_row_and_is_never_cleared(book):
    # Row 5 has an unknown account: an issue on the Validation tab; row 4 an unknown stage.
    _set(book, "Opportunities", 5, 3, "Acmee")
    _set(book, "Opportunities", 4, 5, "Prospectin")
    sync(book, Config(), as_of=D(2027, 1, 4))
    pipeline = _rows(book, "Pipeline")
    at = next(i for i, r in enumerate(pipeline, 1) if r[0] == "Prospecting")
    _set(book, "Pipeline", 1, 5, "Comment")
    _set(book, "Pipeline", at, 5, "ask Ana")
    validation = _rows(book, "Validation")
    issue = next(i for i, r in enumerate(validation, 1) if r[2] == 5 and r[6] == "unknown_account")
    _set(book, "Validation", 1, 10, "Who")
    _set(book, "Validation", issue, 10, "Ben checks")
    # The stage is fixed (its issue leaves the tab, rows below move up), a deal moves to another
    # stage (the Pipeline's rows are rewritten), and the unknown account stays.
    _set(book, "Opportunities", 4, 5, "Prospecting")
    _set(book, "Opportunities", 2, 5, "Proposal")
    sync(book, Config(), as_of=D(2027, 1, 5))
    pipeline, validation = _rows(book, "Pipeline"), _rows(book, "Validation")
    assert pipeline[0][4] == "Comment" and validation[0][9] == "Who"
    assert [r[4] for r in pipeline[1:] if len(r) > 4 and r[4]] == ["ask Ana"]
    assert next(r for r in pipeline if len(r) > 4 and r[4] == "ask Ana")[0] == "Prospecting"
    noted = [r for r in validation if len(r) > 9 and r[9] == "Ben checks"]
    assert len(noted) == 1 and noted[0][2] == 5 and noted[0][6] == "unknown_account"
    # The account is fixed: the issue leaves the tab, and the person's cell stays below its rows.
    _set(book, "Opportunities", 5, 3, "Acme")
    sync(book, Config(), as_of=D(2027, 1, 6))
    validation = _rows(book, "Validation")
    assert [r[9] for r in validation[1:] if len(r) > 9 and r[9]] == ["Ben checks"]
    left = next(r for r in validation if len(r) > 9 and r[9] == "Ben checks")
    assert all(v in (None, "") for v in left[:9])


def _log_row(n: int) -> list:
    return [f"2026-11-23T08:{n // 60:02d}:{n % 60:02d}+00:00", "sync", 0.5, 10, 0, 1, 4, "ok", ""]


def test_a_persons_column_on_the_sync_log_stays_with_its_rows_and_one_let_go_stays_below():
    """The Sync Log keeps its newest SYNC_LOG_ROWS rows: a note beside a row it lets go stays,
    below the tab's rows; a note beside a row it keeps stays beside it. No row holding only a
    note is read as a row of the log."""
    header = list(SYNC_LOG.headers)
    old = [_log_row(n) for n in range(SYNC_LOG_ROWS)]
    book = MemoryWorkbook({"Leads": [["ID", "Last Name"], ["", "Adams"]],
                           "Sync Log": [[*header, "Why slow?"], [*old[0], "disk full"], *old[1:3],
                                        [*old[3], "Ana's import"], *old[4:]]}, owned={"Sync Log"})
    _, _, plan = plan_sync(book.read(), Config(), D(2026, 11, 23), [_log_row(SYNC_LOG_ROWS)])
    book.write(plan)
    tab = book.tabs["Sync Log"]
    assert tab[0][9] == "Why slow?"
    body = [r for r in tab[1:] if any(v not in (None, "") for v in r[:9])]
    assert len(body) == SYNC_LOG_ROWS and body[0][0] == _log_row(1)[0]
    # (The row moved, so it is written whole: its empty Error cell as an empty cell, None here.)
    assert [[None if v == "" else v for v in r[:9]] for r in tab[1:] if len(r) > 9 and r[9] == "Ana's import"] \
        == [[None if v == "" else v for v in _log_row(3)]]
    left = [r for r in tab[1:] if len(r) > 9 and r[9] == "disk full"]
    assert len(left) == 1 and all(v in (None, "") for v in left[0][:9])
    assert tab.index(left[0]) > max(tab.index(r) for r in body)
    # The next sync neither reads the note's row as a log row nor moves anything.
    _, _, plan = plan_sync(book.read(), Config(), D(2026, 11, 23), [_log_row(SYNC_LOG_ROWS)])
    book.write(plan)
    assert book.tabs["Sync Log"] == tab


def test_a_persons_formula_beside_a_row_that_moves_stays_a_formula():
    """A person's formula after sheetcrm's columns (`=G6&"!"` beside a Validation issue) was
    written back as its result on the row its issue moved to, and its formula cleared: a read
    gives a formula's result only. Its row of cells stays where it is; rows carried go around."""
    from sheetcrm.plan import with_their_columns
    from sheetcrm.workbook import Grid

    current = Grid(rows=[["Key", "Value", "Note", "Calc"], ["a", 1, "on a"], ["b", 2, "on b", "b!"], ["c", 3]],
                   formulas={(2, 3)})
    wanted = [["Key", "Value"], ["new", 0], ["a", 1], ["b", 2], ["c", 3]]  # a row above: a, b, c move down
    out = with_their_columns(current, wanted, 2)
    # b's cells (its formula's row) stay on sheet row 3, now beside "a"; a's note, which cannot
    # go there, goes below the rows, as one whose row is no longer written.
    assert out[2] == ["a", 1, "on b", "b!"]
    assert out[1] == ["new", 0] and out[3] == ["b", 2] and out[5] == [None, None, "on a"]
