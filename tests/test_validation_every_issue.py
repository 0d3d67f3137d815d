"""Every issue a sync reports reaches the Validation tab, at the row it names, whichever step
raised it: the history step's warnings too, although it plans after the summaries (docs/architecture.md)."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config
from sheetcrm.owned import owned_title
from sheetcrm.schema import STAGE_HISTORY, VALIDATION
from sheetcrm.starter import demo_config, write_demo
from sheetcrm.steps.history import HISTORY_AFTER_SYNC, HISTORY_ROW_UNREAD, HISTORY_UNKNOWN_FROM, HISTORY_UNORDERED
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook

DAY = dt.date(2026, 11, 23)


def on_the_tab(book) -> list[tuple]:
    snapshot = book.read()
    rows = snapshot.tabs[owned_title(snapshot, VALIDATION)].rows[1:]
    return sorted(((r[1], r[2], r[3], r[7]) for r in rows), key=repr)


def reported(outcome) -> list[tuple]:
    return sorted(((i.tab, i.row, i.column, i.message) for i in outcome.crm.report.issues), key=repr)


@pytest.mark.parametrize("locale", ["en", "es"])
def test_every_issue_of_every_step_is_on_the_validation_tab(tmp_path, locale):
    book = XlsxWorkbook(tmp_path / "demo.xlsx")
    config = demo_config(Config(locale=locale), write_demo(book, rows=20, seed=5, today=DAY, locale=locale))
    first = sync(book, config, as_of=DAY)
    assert on_the_tab(book) == reported(first)
    snapshot = book.read()
    history = owned_title(snapshot, STAGE_HISTORY)
    grid = snapshot.tabs[history]
    deals = [r for r in grid.rows[1:] if r and r[0]]
    (one, _, stage_one, *_), (two, *_) = deals[-1], next(r for r in deals if r[0] != deals[-1][0])
    stages = [s.name for s in config.stages]
    end = len(grid.rows) + 1
    typed = [
        # a stage since renamed: the deal's next change is logged from a word the config lacks
        [one, stage_one, "Old Stage", DAY],
        # a last day, ahead of the sync's, whose rows do not chain
        [two, stages[0], stages[1], DAY + dt.timedelta(days=7)],
        [two, stages[2], stages[3], DAY + dt.timedelta(days=7)],
        # a row that cannot be read
        ["OPP-9999", None, stages[0], "soon"],
    ]
    book.write(Plan(writes=[CellWrite(history, end + r, c + 1, v)
                            for r, row in enumerate(typed) for c, v in enumerate(row)]))
    outcome = sync(book, config, as_of=DAY + dt.timedelta(days=1))
    codes = {i.code for i in outcome.crm.report.issues}
    assert {HISTORY_AFTER_SYNC, HISTORY_UNORDERED, HISTORY_UNKNOWN_FROM, HISTORY_ROW_UNREAD} <= codes
    assert on_the_tab(book) == reported(outcome)
    # each history warning names the row that holds its value
    rows = book.read().tabs[history].rows
    for issue in outcome.crm.report.issues:
        if issue.tab == history and issue.value is not None:
            col = ord(issue.column) - ord("A")
            cell = rows[issue.row - 1][col]
            assert (cell.date() if isinstance(cell, dt.datetime) and not isinstance(issue.value, dt.datetime)
                    else cell) == issue.value, issue
