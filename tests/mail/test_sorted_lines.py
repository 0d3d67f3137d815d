"""A person sorting the Quote Lines tab changes nothing a quote charges: a row approved before
the sort is sent, and a tick left in place queues no second quote. Real .xlsx files and the
Google emulator, a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

from conftest import config, crm_tabs
from sheetcrm.mail.outbox import seal
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from test_outbox_smtp import AS_OF, make_book, outbox_rows, send, set_cell  # noqa: F401


def sort_lines(book, order: list[int]) -> None:
    """A person sorts Quote Lines: its data rows rewritten in `order` (indexes of the rows now)."""
    grid = book.read().tabs["Quote Lines"]
    width = len(grid.header)
    rows = [list(r) + [None] * (width - len(r)) for r in grid.rows[1:]]
    book.write(Plan(writes=[CellWrite("Quote Lines", n, col, rows[i][col - 1] if rows[i][col - 1] != "" else None)
                            for n, i in enumerate(order, start=2) for col in range(1, width + 1)]))


def quote_mark(book) -> int:
    return next(r[1] for r in book.read().tabs["_sheetcrm"].rows if r[0] == "Q-2026")


def test_sorting_quote_lines_neither_fails_an_approved_row_nor_queues_a_second_quote(make_book, server):
    """Was: the version fingerprinted the lines in the tab's order, so after a sort the Approved
    row failed ("the quote changed since this row was queued") and the tick queued OUT-0002 with
    Q-2026-0002, though every line, price and total was the same."""
    book = make_book(crm_tabs())
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Status", "Approved")
    sort_lines(book, [1, 0])  # Support (P2) above Licence (P1)
    assert [r[1] for r in book.read().tabs["Quote Lines"].rows[1:]] == ["P2", "P1"]
    sync(book, config(), as_of=AS_OF)
    assert [(r["id"], r["status"]) for r in outbox_rows(book)] == [("OUT-0001", "Approved")]
    assert quote_mark(book) == 1

    report = send(book, server)
    assert (report.sent, report.failed) == (["OUT-0001"], [])
    [msg] = server.inbox.messages
    text = msg.get_body(("plain",)).get_content()
    assert "Total: €2,509.06" in text
    # The lines as the tab lists them now: the same lines, prices and total the person approved.
    assert text.index("Support") < text.index("Licence")

    sort_lines(book, [1, 0])
    sync(book, config(), as_of=AS_OF)
    assert [(r["id"], r["status"]) for r in outbox_rows(book)] == [("OUT-0001", "Sent")]
    assert quote_mark(book) == 1
    assert send(book, server).sent == [] and len(server.inbox.messages) == 1


# The version sheetcrm gave crm_tabs' quote with its lines listed P2 then P1 while versions
# fingerprinted the lines in the tab's order: rows queued then carry it, sealed with it.
SUPPORT_FIRST_BEFORE = "3f2d82371988"


def test_a_row_queued_while_versions_followed_the_tabs_order_is_still_its_quote(make_book, server):
    tabs = crm_tabs()
    tabs["Quote Lines"] = [tabs["Quote Lines"][0], tabs["Quote Lines"][2], tabs["Quote Lines"][1]]
    book = make_book(tabs)
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Version", SUPPORT_FIRST_BEFORE)
    set_cell(book, "Seal", seal("OUT-0001", "OPP-0001", "Q-2026-0001", SUPPORT_FIRST_BEFORE))
    set_cell(book, "Status", "Approved")
    sync(book, config(), as_of=AS_OF)  # the tick is still there: the same quote, nothing queued
    assert [(r["id"], r["version"]) for r in outbox_rows(book)] == [("OUT-0001", SUPPORT_FIRST_BEFORE)]
    assert send(book, server).sent == ["OUT-0001"]
    sync(book, config(), as_of=AS_OF)
    assert [(r["id"], r["status"]) for r in outbox_rows(book)] == [("OUT-0001", "Sent")]
    assert len(server.inbox.messages) == 1


def test_a_changed_line_is_still_a_new_version_after_a_sort(make_book, server):
    """The version counts the lines as a set, not as nothing: a sort that also changes a
    quantity fails the approved row, as any change of what it charges does."""
    book = make_book(crm_tabs())
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Status", "Approved")
    sort_lines(book, [1, 0])
    set_cell(book, "Quantity", 4, row=2, tab="Quote Lines")
    report = send(book, server)
    assert (report.sent, report.failed) == ([], ["OUT-0001"])
    assert "the quote changed since this row was queued" in report.details["OUT-0001"]
