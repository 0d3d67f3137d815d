"""A person's save of the .xlsx while `outbox send` runs (found by bench/soak_xlsx.py): once the
emails have gone, their outcomes are recorded on the person's file in the same run."""

from __future__ import annotations

import os

import openpyxl
import pytest

from conftest import crm_tabs
from sheetcrm.workbook import WorkbookConflict
from sheetcrm.workbook.xlsx import XlsxWorkbook
from test_outbox_smtp import outbox_rows, queued_and_approved, send, xlsx_book


def app_saves(path, text: str) -> None:
    """A spreadsheet app's save: the whole file, a new file renamed over the old one."""
    wb = openpyxl.load_workbook(path)
    wb["Accounts"].cell(2, 5, text)
    tmp = path.with_name("app-save.xlsx")
    wb.save(tmp)
    os.replace(tmp, path)


class SavedAfterReads(XlsxWorkbook):
    """A workbook a person saves right after each of the reads numbered in `after`."""

    def __init__(self, path, after: set[int]) -> None:
        super().__init__(path)
        self.after, self.reads = after, 0

    def read(self):
        snapshot = super().read()
        self.reads += 1
        if self.reads in self.after:
            app_saves(self.path, f"typed after read {self.reads}")
        return snapshot


def approved(tmp_path):
    return queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs), crm_tabs())


def test_a_save_before_the_outcome_write_still_records_sent_in_the_same_run(tmp_path, server):
    path = approved(tmp_path).path
    # send_outbox reads three times: the desk, what the claim left, and the sheet for the outcomes.
    book = SavedAfterReads(path, after={3})
    report = send(book, server)
    assert book.reads == 4  # the outcome write met the person's save, and read and planned again
    assert len(server.inbox.messages) == 1 and report.sent == ["OUT-0001"]
    row = outbox_rows(XlsxWorkbook(path))[0]
    assert row["status"] == "Sent" and row["message_id"] == str(server.inbox.messages[0]["Message-ID"])
    assert XlsxWorkbook(path).read().tabs["Accounts"].cell(1, 4) == "typed after read 3"


def test_saves_before_every_outcome_write_are_reported_without_saying_nothing_was_sent(tmp_path, server):
    path = approved(tmp_path).path
    book = SavedAfterReads(path, after=set(range(3, 20)))
    with pytest.raises(WorkbookConflict, match=r"1 email was sent.*journal.*next run"):
        send(book, server)
    assert len(server.inbox.messages) == 1
    assert outbox_rows(XlsxWorkbook(path))[0]["status"] == "Sending"
    # The next run, with the person done saving, records it from the journal and sends nothing.
    report = send(XlsxWorkbook(path), server)
    assert len(server.inbox.messages) == 1 and report.restored == ["OUT-0001"]
    assert outbox_rows(XlsxWorkbook(path))[0]["status"] == "Sent"
