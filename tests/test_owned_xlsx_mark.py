"""The .xlsx backend keeps sheetcrm's marks (needs the backend's mark support)."""

from __future__ import annotations

import openpyxl

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

from test_owned import AS_OF, _team_workbook


def test_xlsx_marks_survive_a_save_by_another_program(tmp_path):
    path = tmp_path / "crm.xlsx"
    _team_workbook(path)
    book = XlsxWorkbook(path)
    sync(book, Config(), as_of=AS_OF)
    owned = book.read().owned
    assert {"Pipeline (sheetcrm)", "Validation", "Dashboard", "Stage History (sheetcrm)"} <= owned
    assert "Pipeline" not in owned and "Opportunities" not in owned
    # A person's program saves the file and someone retypes sheetcrm's header: only the mark
    # says the tab is sheetcrm's, and it is enough.
    wb = openpyxl.load_workbook(path)
    wb["Pipeline (sheetcrm)"]["A1"] = "Phase"
    wb.save(path)
    outcome = sync(book, Config(), as_of=AS_OF)
    assert outcome.plan.new_tabs == []
    assert book.read().tabs["Pipeline (sheetcrm)"].rows[0][0] == "Stage"
