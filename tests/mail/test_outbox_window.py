"""The Outbox's writes on Google when the tab moves under them (docs/concurrency.md): a sort,
or an older copy of the tab restored, between the key re-read of the claim or the outcome and
its batchUpdate puts the cells on another row. Each write is read back; cells on another row
are put back as that row had them, the write is re-aimed at its own row, and nothing is sent
that the sheet does not show as this run's claim. Through the emulator over HTTP, with a real
SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import pytest

from conftest import config, crm_tabs
from sheetcrm.emulator import Emulator
from sheetcrm.sync import sync
from sheetcrm.workbook import WorkbookError
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.target import header_tests
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from test_outbox_smtp import AS_OF, Clock, send

OUTBOX = ["ID", "Created", "Opportunity", "To", "Subject", "Status", "Message-ID", "Sent At", "Error", "Quote",
          "Version", "Attempts", "Last Try", "Next Try"]


def two_quotes() -> dict:
    tabs = crm_tabs()
    tabs["Opportunities"].append(["OPP-0002", "Renewal", "ACC-0001", "CON-0001", "Marta", "Proposal", 900, "EUR",
                                  "yes", ""])
    tabs["Quote Lines"].append(["OPP-0002", "P2", 1, "", ""])
    return tabs


@pytest.fixture
def sheet(monkeypatch):
    """A Google sheet with two Drafts queued by a sync: OUT-0001 (OPP-0001), OUT-0002 (OPP-0002)."""
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", two_quotes())
        book = GoogleSheetsWorkbook(connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None)).client, key,
                                    **header_tests(config()))  # as `sheetcrm` builds it (target.py)
        sync(book, config(), as_of=AS_OF)
        assert [r[0] for r in emu.values(key, "Outbox")[1:]] == ["OUT-0001", "OUT-0002"]
        yield emu, key, book


def rows_by_id(emu, key) -> dict[str, dict]:
    header, *body = emu.values(key, "Outbox")
    return {r[0]: dict(zip(header, r + [""] * (len(header) - len(r)))) for r in body if r and r[0]}


def in_window(emu, nth: int, edit) -> None:
    """Run `edit` just before the request that follows the `nth` key re-read (FORMULA) of the
    run: 1 is the claim's batchUpdate, 2 the outcome's."""
    seen = [0]

    def hook(e):
        last = e.requests[-1] if e.requests else None
        if last is not None and "FORMULA" in last.query.get("valueRenderOption", []):
            seen[0] += 1
            if seen[0] == nth:
                edit()
                return
        e.between_requests(hook)

    emu.between_requests(hook)


def test_a_plain_send_costs_two_read_backs_more(sheet, server):
    # One email: read (2), claim (re-read, write, read-back), check the claim (2), read (2),
    # outcome (re-read, write, read-back). The read-backs are the only requests added.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")
    since = len(emu.requests)
    assert send(book, server).sent == ["OUT-0001"]
    kinds = [("read" if r.method == "GET" else "write") for r in emu.requests[since:]]
    assert (kinds.count("read"), kinds.count("write")) == (10, 2)


def test_a_sort_in_the_claims_window_is_put_right_and_the_quote_goes_out_once(sheet, server):
    # Sorted between the claim's re-read and its write: the claim meant for OUT-0001 (row 2)
    # lands on OUT-0002, a Draft. Read back: OUT-0002 is put back as it was, and the claim is
    # written again on OUT-0001's row, which the check of the claim then sees; it is sent.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")
    draft = rows_by_id(emu, key)["OUT-0002"]
    in_window(emu, 1, lambda: emu.sort_rows(key, "Outbox", 0, descending=True))
    since = len(emu.requests)
    report = send(book, server)
    assert report.sent == ["OUT-0001"] and report.changed == []
    [msg] = server.inbox.messages
    assert msg["Message-ID"].startswith("<OUT-0001.") and "Q-2026-0001" in msg["Subject"]
    rows = rows_by_id(emu, key)
    assert rows["OUT-0002"] == draft  # every cell of the Draft as it was
    assert (rows["OUT-0001"]["Status"], rows["OUT-0001"]["Message-ID"]) == ("Sent", msg["Message-ID"])
    # The plain send's 12, and the repair: one batchUpdate, one read-back of it.
    kinds = [("read" if r.method == "GET" else "write") for r in emu.requests[since:]]
    assert (kinds.count("read"), kinds.count("write")) == (11, 3)
    assert not any(vars(send(book, server)).values()) and len(server.inbox.messages) == 1


def test_a_sort_in_the_outcomes_window_never_marks_another_row_sent(sheet, server):
    # The outcome (Sent, Sent At, the Message-ID) meant for OUT-0001 lands on OUT-0002, an
    # Approved row waiting for its Next Try, whose email has not gone out. It must not stay
    # Sent: every cell of it is put back, OUT-0001 gets its Sent, and OUT-0002 goes out once,
    # at its time, under its own Message-ID.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")
    emu.set_values(key, "'Outbox'!F3", [["Approved"]], value_input="RAW")
    emu.set_values(key, "'Outbox'!N3", [["2026-11-23T11:00:00Z"]], value_input="RAW")
    waiting = rows_by_id(emu, key)["OUT-0002"]
    in_window(emu, 2, lambda: emu.sort_rows(key, "Outbox", 0, descending=True))
    clock = Clock()
    assert send(book, server, clock).sent == ["OUT-0001"]
    rows = rows_by_id(emu, key)
    [msg] = server.inbox.messages
    assert (rows["OUT-0001"]["Status"], rows["OUT-0001"]["Message-ID"]) == ("Sent", msg["Message-ID"])
    assert rows["OUT-0002"] == waiting
    activities = [r for r in emu.values(key, "Activities")[1:] if r[2] == "Email"]
    assert len(activities) == 1 and msg["Message-ID"] in activities[0][6]

    clock.advance(hours=3)
    assert send(book, server, clock).sent == ["OUT-0002"]
    first, second = server.inbox.messages
    assert second["Message-ID"].startswith("<OUT-0002.") and "Q-2026-0002" in second["Subject"]
    assert rows_by_id(emu, key)["OUT-0002"]["Message-ID"] == second["Message-ID"]


def test_an_older_copy_restored_in_the_claims_window_leaves_no_claim_on_a_blank_row(sheet, server):
    # The Outbox as an older copy had it (OUT-0002 only, then an empty row) is restored while
    # OUT-0001 sits on row 3: its claim lands on the empty row. The row is emptied again, and
    # OUT-0001, which the copy took away, is not sent.
    emu, key, book = sheet
    emu.sort_rows(key, "Outbox", 0, descending=True)
    emu.set_values(key, "'Outbox'!F3", [["Approved"]], value_input="RAW")
    header, older = emu.values(key, "Outbox")[:2]
    older = older + [""] * (len(header) - len(older))
    in_window(emu, 1, lambda: emu.set_values(key, "'Outbox'!A2", [older, [""] * len(header)], value_input="RAW"))
    report = send(book, server)
    assert report.sent == [] and report.changed == ["OUT-0001"] and server.inbox.messages == []
    while older and older[-1] == "":
        older.pop()  # the emulator's values() trims trailing empty cells
    assert emu.values(key, "Outbox")[1:] == [older]  # no Sending, Message-ID or Attempts on row 3


def test_a_claim_misplaced_by_a_write_that_never_learned_it_landed_is_put_back_by_the_next_write(sheet, server):
    # As above, but the claim's answer is lost after it landed on the blank row, and Google
    # then answers nothing until the run gives up: no read-back could see the row. The next
    # write on the book (here the next sync's) reads the claim's rows back with its own and
    # empties the blank row; nothing was sent. (The soak found Sent rows with no ID this way.)
    emu, key, book = sheet
    emu.sort_rows(key, "Outbox", 0, descending=True)
    emu.set_values(key, "'Outbox'!F3", [["Approved"]], value_input="RAW")
    header, older = emu.values(key, "Outbox")[:2]
    older = older + [""] * (len(header) - len(older))

    def restore_then_go_away():
        emu.set_values(key, "'Outbox'!A2", [older, [""] * len(header)], value_input="RAW")
        emu.drop_next(1, after_applying=True)
        emu.between_requests(lambda e: e.fail_next(20, 503))  # from the request after the claim's

    in_window(emu, 1, restore_then_go_away)
    with pytest.raises(WorkbookError, match="did not answer"):
        send(book, server)
    assert emu.values(key, "Outbox")[2][5] == "Sending"  # the claim sits on the blank row
    emu.clear_faults()
    sync(book, config(), as_of=AS_OF)
    assert server.inbox.messages == []
    while older and older[-1] == "":
        older.pop()
    # Row 3 is blank again; the sync queued OPP-0001's quote anew below it (the copy took
    # OUT-0001 away before anything was sent).
    first, blank, queued = emu.values(key, "Outbox")[1:]
    assert (first[:len(older)], blank) == (older, [])
    assert queued[0] == "OUT-0003" and queued[5] == "Draft"


def test_a_message_id_of_another_row_is_never_sent_under(sheet, server):
    # A Message-ID cell holding another row's (as a misplaced write left it before this was
    # fixed, or pasted): the row gets a Message-ID of its own, made for it.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F3:G3", [["Approved", "<OUT-0001.t9@example.com>"]], value_input="RAW")
    assert send(book, server).sent == ["OUT-0002"]
    [msg] = server.inbox.messages
    assert msg["Message-ID"].startswith("<OUT-0002.")
    assert rows_by_id(emu, key)["OUT-0002"]["Message-ID"] == msg["Message-ID"]


def test_the_journal_never_marks_a_row_sent_by_another_rows_message_id(sheet, server):
    # OUT-0001 went out. OUT-0002 shows OUT-0001's Message-ID at Approved: the journal holds
    # that Message-ID, but for OUT-0001's quote; OUT-0002's quote never went out, so it is
    # sent (once, under its own Message-ID) rather than set to Sent.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")
    assert send(book, server).sent == ["OUT-0001"]
    first = server.inbox.messages[0]["Message-ID"]
    emu.set_values(key, "'Outbox'!F3:G3", [["Approved", first]], value_input="RAW")
    report = send(book, server)
    assert report.restored == [] and report.sent == ["OUT-0002"]
    assert server.inbox.messages[1]["Message-ID"].startswith("<OUT-0002.")
    assert rows_by_id(emu, key)["OUT-0002"]["Status"] == "Sent"


def test_a_row_left_with_no_status_is_set_to_sent_when_the_journal_sent_its_quote(sheet, server):
    # What the read-back leaves when a write hit a row whose earlier cells cannot be told (a
    # row an older copy brought back in the window): an empty Status. The journal decides.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")
    assert send(book, server).sent == ["OUT-0001"]
    sent = rows_by_id(emu, key)["OUT-0001"]
    emu.set_values(key, "'Outbox'!F2:I2", [["", "", "", ""]], value_input="RAW")
    emu.set_values(key, "'Outbox'!F3:G3", [["", ""]], value_input="RAW")  # OUT-0002: never sent
    report = send(book, server)
    assert report.restored == ["OUT-0001"] and len(server.inbox.messages) == 1
    rows = rows_by_id(emu, key)
    assert (rows["OUT-0001"]["Status"], rows["OUT-0001"]["Message-ID"]) == ("Sent", sent["Message-ID"])
    assert "though the sheet showed no Status" in rows["OUT-0001"]["Error"]
    assert rows["OUT-0002"]["Status"] == ""  # nothing says what it was: left for a person


def test_another_quotes_message_left_on_a_row_is_taken_off_by_the_next_send(sheet, server):
    # The read-back could not run (Google stopped answering after a batch that landed on the
    # wrong row): OUT-0002 shows Sent with OUT-0001's message. The journal knows that message
    # is OUT-0001's quote and OUT-0002's never went out: the next send says so at the row.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")
    assert send(book, server).sent == ["OUT-0001"]
    first = rows_by_id(emu, key)["OUT-0001"]
    emu.set_values(key, "'Outbox'!F3:H3", [["Sent", first["Message-ID"], first["Sent At"]]], value_input="RAW")
    report = send(book, server)
    assert report.restored == ["OUT-0002"] and len(server.inbox.messages) == 1
    row = rows_by_id(emu, key)["OUT-0002"]
    assert (row["Status"], row["Message-ID"], row["Sent At"]) == ("Failed", "", "")
    assert row["Error"].startswith(f"showed Sent with {first['Message-ID']}, the message of OUT-0001's quote")
    assert rows_by_id(emu, key)["OUT-0001"] == first

    emu.set_values(key, "'Outbox'!F3", [["Approved"]], value_input="RAW")  # as the note says
    assert send(book, server).sent == ["OUT-0002"]
    assert server.inbox.messages[1]["Message-ID"].startswith("<OUT-0002.")


def test_a_blank_row_left_showing_another_quotes_message_is_emptied_by_the_next_send(sheet, server):
    # After a one-shot command: an older copy made row 4 blank in the window, the claim's
    # answer was lost, then Google stopped answering before the read-back. Row 4 shows Sent
    # with OUT-0001's message and no ID. The journal knows that message is OUT-0001's quote;
    # nothing was ever sent from row 4, so its cells (all sheetcrm's) are emptied again.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")
    assert send(book, server).sent == ["OUT-0001"]
    first = rows_by_id(emu, key)["OUT-0001"]
    emu.set_values(key, "'Outbox'!F4:H4", [["Sent", first["Message-ID"], first["Sent At"]]], value_input="RAW")
    emu.set_values(key, "'Outbox'!L4", [[1]], value_input="RAW")  # the claim's Attempts too
    report = send(book, server)
    assert report.restored == ["row 4"] and report.sent == [] and len(server.inbox.messages) == 1
    assert report.details["row 4"].startswith(f"showed Sent with {first['Message-ID']}, the message of "
                                              "OUT-0001's quote (sheetcrm's journal), on a row with no ID")
    rows = emu.values(key, "Outbox")
    assert len(rows) == 3 or not any(rows[3])  # Google drops a trailing empty row from its answer
    assert rows_by_id(emu, key)["OUT-0001"] == first
    assert not any(vars(send(book, server)).values())  # and then there is nothing left to say


def test_a_row_with_no_id_that_a_person_typed_into_is_left_alone(sheet, server):
    # The same message, but the row also holds a person's words (a To): not only sheetcrm's
    # cells, so nothing says the whole row is what a misplaced write left. It is never sent.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")
    assert send(book, server).sent == ["OUT-0001"]
    first = rows_by_id(emu, key)["OUT-0001"]
    emu.set_values(key, "'Outbox'!D4:G4", [["ana@example.com", "", "Sent", first["Message-ID"]]], value_input="RAW")
    report = send(book, server)
    assert report.restored == [] and len(server.inbox.messages) == 1
    assert emu.values(key, "Outbox")[3][3:7] == ["ana@example.com", "", "Sent", first["Message-ID"]]


def test_a_row_inserted_in_the_instant_before_a_new_drafts_batch_loses_no_outbox_row(sheet):
    # OUT-0002 is Sent. A third deal's Send Quote is ticked: the sync queues OUT-0003 into
    # row 4, which the key re-read found empty. In the instant before the batch a person
    # inserts a row at the top of the Outbox, so OUT-0002 moves onto row 4. The Draft's cells
    # used to replace OUT-0002's ID, quote, version and status, leaving its Message-ID and Sent
    # At beside them: OUT-0002 gone, and a Draft showing another quote's message.
    emu, key, book = sheet
    emu.set_values(key, "'Outbox'!F3:H3", [["Sent", "<OUT-0002.x@example.com>", "2026-11-23 09:00"]],
                   value_input="RAW")
    emu.set_values(key, "'Opportunities'!A4:J4", [["OPP-0003", "Extra", "ACC-0001", "CON-0001", "Marta", "Proposal",
                                                   500, "EUR", "yes", ""]], value_input="RAW")
    emu.set_values(key, "'Quote Lines'!A4:E4", [["OPP-0003", "P1", 2, "", ""]], value_input="RAW")
    before = rows_by_id(emu, key)
    sheet_id = emu.sheet_id(key, "Outbox")
    emu.before_next(":batchUpdate", lambda e: e.apply(key, [{"insertDimension": {"range": {
        "sheetId": sheet_id, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}}]))
    sync(book, config(), as_of=AS_OF)
    rows = rows_by_id(emu, key)
    assert {i: rows[i] for i in before} == before  # every cell of both rows as they were
    assert rows["OUT-0003"]["Opportunity"] == "OPP-0003" and rows["OUT-0003"]["Status"] == "Draft"
    assert rows["OUT-0003"]["Message-ID"] == ""


@pytest.mark.parametrize("nth", [1, 2])
@pytest.mark.parametrize("edit", ["insert", "delete"])
def test_a_row_inserted_or_deleted_above_in_the_claims_or_outcomes_window_marks_no_other_row(sheet, server, edit,
                                                                                              nth):
    # A person's row without an ID (row 2) above OUT-0001 (row 3, Approved) and OUT-0002 (row 4,
    # a Draft). Between the claim's (1) or the outcome's (2) key re-read and its batch the
    # person inserts a blank row at the top (the write aimed at row 3 lands on their row) or
    # deletes their row (it lands on OUT-0002).
    emu, key, book = sheet
    emu.apply(key, [{"insertDimension": {"range": {"sheetId": emu.sheet_id(key, "Outbox"), "dimension": "ROWS",
                                                    "startIndex": 1, "endIndex": 2}}}])
    emu.set_values(key, "'Outbox'!A2:B2", [["", "a person's row"]], value_input="RAW")
    emu.set_values(key, "'Outbox'!F3", [["Approved"]], value_input="RAW")
    draft = rows_by_id(emu, key)["OUT-0002"]
    what = "insertDimension" if edit == "insert" else "deleteDimension"
    in_window(emu, nth, lambda: emu.apply(key, [{what: {"range": {
        "sheetId": emu.sheet_id(key, "Outbox"), "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}}]))
    report = send(book, server)
    assert report.sent == ["OUT-0001"] and len(server.inbox.messages) == 1
    rows = rows_by_id(emu, key)
    assert rows["OUT-0002"] == draft
    assert (rows["OUT-0001"]["Status"], rows["OUT-0001"]["Message-ID"]) == ("Sent", server.inbox.messages[0]["Message-ID"])
    # No row without an ID holds anything sheetcrm writes.
    header, *body = emu.values(key, "Outbox")
    assert all(not any(r[1:]) or r[1] == "a person's row" and not any(r[2:]) for r in body if r and not r[0]), body
    assert not any(vars(send(book, server)).values()) and len(server.inbox.messages) == 1
