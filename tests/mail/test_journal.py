"""Exactly once even if the sheet is reverted (issue 10, item 3): the outbox's journal beside the
lock remembers what the SMTP server took, and overrules a sheet that forgot. A real aiosmtpd
server on loopback, .xlsx files and the Sheets emulator."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from conftest import Server, config, crm_tabs
from sheetcrm.cli import main
from sheetcrm.lock import lock_dir
from sheetcrm.mail.journal import Journal
from sheetcrm.mail.outbox import read_outbox, send_outbox
from sheetcrm.mail.smtp import SmtpSender
from sheetcrm.mail.templates import Templates
from test_outbox_smtp import Clock, make_book, outbox_rows, queued_and_approved, send, set_cell, xlsx_book  # noqa: F401


def revert_outbox(book, rows_before) -> None:
    """What an app's save does to the Outbox: every cell back to what the app had loaded."""
    from sheetcrm.workbook import CellWrite, Plan

    grid = book.read().tabs["Outbox"]
    width = max(len(grid.header), *(len(r) for r in rows_before))
    rows = rows_before + [[]] * (len(grid.rows) - len(rows_before))
    writes = [CellWrite("Outbox", r, c, (row[c - 1] if c - 1 < len(row) else None))
              for r, row in enumerate(rows, start=1) for c in range(1, width + 1)]
    book.write(Plan(writes=writes))


def test_a_reverted_outbox_row_is_not_sent_again_and_goes_back_to_sent(make_book, server):
    book = queued_and_approved(make_book)
    approved = [list(r) for r in book.read().tabs["Outbox"].rows]
    assert send(book, server).sent == ["OUT-0001"]
    [sent] = outbox_rows(book)
    activities = len(book.read().tabs["Activities"].rows)

    revert_outbox(book, approved)  # a spreadsheet app saves the copy it loaded before the send
    assert [r["status"] for r in outbox_rows(book)] == ["Approved"]
    report = send(book, server)
    assert report.sent == [] and report.restored == ["OUT-0001"]
    assert len(server.inbox.messages) == 1  # exactly one email, whatever the sheet said
    [row] = outbox_rows(book)
    assert (row["status"], row["message_id"], row["sent_at"]) == ("Sent", sent["message_id"], sent["sent_at"])
    assert row["error"].startswith(f"already sent as {sent['message_id']} at {sent['sent_at']}")
    assert "sheetcrm outbox resend OUT-0001" in row["error"] and "\n" not in row["error"]
    assert len(book.read().tabs["Activities"].rows) == activities  # its Email activity is still there
    assert not any(vars(send(book, server)).values())  # and then it is simply a Sent row


def test_an_app_save_over_the_xlsx_file_cannot_make_a_second_email(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    shutil.copy(book.path, tmp_path / "as-the-app-loaded-it.xlsx")
    assert send(book, server).sent == ["OUT-0001"]
    shutil.copy(tmp_path / "as-the-app-loaded-it.xlsx", book.path)  # the app's save: the whole file
    assert "ACT-0008" not in str(book.read().tabs["Activities"].rows)  # the revert took the activity too

    report = send(book, server)
    assert report.sent == [] and report.restored == ["OUT-0001"] and len(server.inbox.messages) == 1
    [row] = outbox_rows(book)
    assert row["status"] == "Sent" and row["message_id"] == server.inbox.messages[0]["Message-ID"]
    [activity] = [r for r in book.read().tabs["Activities"].rows[1:] if r[2] == "Email"]
    assert server.inbox.messages[0]["Message-ID"] in activity[6]  # recorded again, once


def test_the_same_version_queued_again_as_a_new_row_is_not_sent(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    assert send(book, server).sent == ["OUT-0001"]
    grid = book.read().tabs["Outbox"]
    revert_outbox(book, [grid.header])  # the revert removed the row: the tick queues the version again
    from sheetcrm.sync import sync
    from test_outbox_smtp import AS_OF
    sync(book, config(), as_of=AS_OF)
    [draft] = outbox_rows(book)
    assert (draft["id"], draft["status"]) == ("OUT-0002", "Draft")
    set_cell(book, "Status", "Approved")
    report = send(book, server)
    assert report.restored == ["OUT-0002"] and len(server.inbox.messages) == 1
    assert outbox_rows(book)[0]["status"] == "Sent"


def test_resend_is_the_one_way_to_send_a_version_again(tmp_path, server, monkeypatch):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    wb = ["--workbook", str(book.path), "--config", str(tmp_path / "c.toml")]
    for key, value in {"HOST": "127.0.0.1", "PORT": str(server.port), "SECURITY": "none",
                       "FROM": "sales@example.com"}.items():
        monkeypatch.setenv(f"SHEETCRM_SMTP_{key}", value)
    runner = CliRunner()
    assert "OUT-0001: sent" in runner.invoke(main, ["outbox", "send", *wb]).output
    set_cell(book, "Status", "Approved")  # a person's wish, or an app's revert: the sheet cannot tell
    result = runner.invoke(main, ["outbox", "send", *wb])
    assert result.exit_code == 0 and "OUT-0001: set back by the journal: already sent as" in result.output
    assert len(server.inbox.messages) == 1

    result = runner.invoke(main, ["outbox", "resend", "OUT-0001", *wb])
    assert result.exit_code == 0, result.output
    [row] = outbox_rows(book)
    assert (row["status"], row["message_id"], row["attempts"]) == ("Approved", "", "0")
    assert "OUT-0001: sent" in runner.invoke(main, ["outbox", "send", *wb]).output
    first, second = server.inbox.messages
    assert first["Message-ID"] != second["Message-ID"]  # a new email, asked for explicitly
    assert outbox_rows(book)[0]["message_id"] == second["Message-ID"]
    assert runner.invoke(main, ["outbox", "resend", "OUT-0099", *wb]).exit_code == 2


class DiesBeforeRecording:
    """The process dies after the server's 250 (and the journal's record), before write 2."""

    def __init__(self, inner):
        self.inner, self.path, self.writes = inner, inner.path, 0

    def read(self):
        return self.inner.read()

    def write(self, plan):
        self.writes += 1
        if self.writes == 2:
            raise KeyboardInterrupt("power cut")
        return self.inner.write(plan)


def test_a_crash_after_the_journal_saw_the_250_is_settled_without_a_person(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))

    with pytest.raises(KeyboardInterrupt):
        send(DiesBeforeRecording(book), server)
    assert outbox_rows(book)[0]["status"] == "Sending" and len(server.inbox.messages) == 1
    report = send(book, server)
    assert report.stuck == [] and report.restored == ["OUT-0001"] and len(server.inbox.messages) == 1
    [row] = outbox_rows(book)
    assert row["status"] == "Sent" and row["message_id"] == server.inbox.messages[0]["Message-ID"]
    assert "the run that sent it stopped before recording it" in row["error"]
    assert [r[2] for r in book.read().tabs["Activities"].rows[1:]].count("Email") == 1


def test_an_unknown_outcome_reverted_to_approved_waits_at_sending_for_a_person(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    approved = [list(r) for r in book.read().tabs["Outbox"].rows]
    s = server.settings()

    class CrashAfterSend(SmtpSender):
        def send(self, msg):
            super().send(msg)
            raise KeyboardInterrupt("power cut")  # before the journal hears the 250

    with pytest.raises(KeyboardInterrupt):
        send_outbox(book, config(), s, Templates(), lambda: CrashAfterSend(s), Clock(), lambda: "t")
    mid = server.inbox.messages[0]["Message-ID"]
    revert_outbox(book, approved)
    report = send(book, server)
    assert report.sent == [] and report.unknown == ["OUT-0001"] and len(server.inbox.messages) == 1
    [row] = outbox_rows(book)
    assert (row["status"], row["message_id"]) == ("Sending", mid)
    assert row["error"].startswith(f"may have been sent as {mid}") and "not sent again" in row["error"]
    assert [r.text("id") for r in send(book, server).stuck] == ["OUT-0001"]


def test_the_journal_lives_beside_the_lock_and_is_keyed_by_workbook_and_version(tmp_path, server, cache_home):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    send(book, server)
    [path] = lock_dir().glob("*.outbox.sqlite3")
    assert path.parent == cache_home / "sheetcrm" / "locks"
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT workbook, message_id, version, row_id, quote, state FROM sends").fetchall()
    [(workbook, mid, version, row_id, quote, state)] = rows
    assert workbook == f"file:{book.path.resolve()}" and (row_id, quote, state) == ("OUT-0001", "Q-2026-0001", "sent")
    assert mid == server.inbox.messages[0]["Message-ID"] and version == outbox_rows(book)[0]["version"]
    # Another workbook with the same quote has its own journal: nothing held there.
    other = tmp_path / "other"
    other.mkdir()
    with Journal.beside_lock(xlsx_book(other, crm_tabs())) as journal:
        assert journal.ledger().holding(version) is None


def test_a_journal_that_cannot_be_written_sends_nothing(tmp_path, server, cache_home):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    from sheetcrm.lock import WorkbookLock

    lock = WorkbookLock(book)  # the lock can be taken; the journal beside it cannot be opened
    lock.path.with_name(lock.path.stem + ".outbox.sqlite3").mkdir(parents=True)
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    env = {"SHEETCRM_SMTP_HOST": "127.0.0.1", "SHEETCRM_SMTP_PORT": str(server.port),
           "SHEETCRM_SMTP_SECURITY": "none", "SHEETCRM_SMTP_FROM": "sales@example.com"}
    result = CliRunner().invoke(main, ["outbox", "send", "--workbook", str(book.path), "--config",
                                       str(tmp_path / "c.toml")], env=env)
    assert result.exit_code == 2 and "cannot open the outbox journal" in result.output
    assert "Traceback" not in result.output and server.inbox.messages == []
    assert outbox_rows(book)[0]["status"] == "Approved"


def test_reverting_on_google_too(monkeypatch, server):
    from sheetcrm.emulator import Emulator
    from sheetcrm.workbook.credentials import connect
    from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy

    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", crm_tabs())
        book = GoogleSheetsWorkbook(connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None)).client, key)
        book = queued_and_approved(lambda tabs: book)
        before = [["" if v is None else v for v in r] for r in book.read().tabs["Outbox"].rows]
        assert send(book, server).sent == ["OUT-0001"]
        emu.set_values(key, "'Outbox'!A1", before, value_input="RAW")  # the revert, as Sheets' version history
        assert read_outbox(book.read(), "en").rows[0].text("status") == "Approved"
        assert send(book, server).restored == ["OUT-0001"]
        assert len(server.inbox.messages) == 1 and outbox_rows(book)[0]["status"] == "Sent"


def test_the_intent_survives_kill_9_while_the_server_takes_the_message(tmp_path, server):
    """A real `sheetcrm outbox send` process is killed (SIGKILL) while the server holds its
    message, before the 250: the journal's intent was on disk before MAIL FROM, so a sheet
    reverted to Approved never sends the quote again."""
    import os
    import signal
    import subprocess
    import sys

    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    approved = [list(r) for r in book.read().tabs["Outbox"].rows]
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    env = {**os.environ, "SHEETCRM_SMTP_HOST": "127.0.0.1", "SHEETCRM_SMTP_PORT": str(server.port),
           "SHEETCRM_SMTP_SECURITY": "none", "SHEETCRM_SMTP_FROM": "sales@example.com"}
    cmd = [sys.executable, "-m", "sheetcrm", "outbox", "send", "--workbook", str(book.path),
           "--config", str(tmp_path / "c.toml")]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    inbox = server.inbox

    async def kill_then_accept(srv, session, envelope):  # noqa: ANN001 - aiosmtpd's hook
        # Recorded before the kill: the test's own wait returns as soon as the process dies.
        inbox.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return "250 2.0.0 Queued"

    inbox.handle_DATA = kill_then_accept
    assert proc.wait(timeout=120) == -signal.SIGKILL
    assert len(inbox.envelopes) == 1  # the server took it; the process never heard the 250
    [row] = outbox_rows(book)
    assert row["status"] == "Sending"

    del inbox.handle_DATA  # back to the normal handler
    revert_outbox(book, approved)
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "outcome unknown" in result.stdout
    assert len(inbox.envelopes) == 1 and inbox.messages == []  # never sent again
    assert outbox_rows(book)[0]["status"] == "Sending" and outbox_rows(book)[0]["message_id"] == row["message_id"]


def _marks(book) -> dict:
    """The sequences' marks: the numbers handed out (not the count of syncs that wrote computed
    cells, `written.GENERATION`, which any sync writing them moves)."""
    from sheetcrm.written import GENERATION

    return {r[0]: r[1] for r in book.read().tabs["_sheetcrm"].rows[1:] if r[0] != GENERATION}


def test_a_version_the_journal_sent_is_never_queued_again_by_a_sync(make_book, server):
    # An older copy of the Outbox took the Sent row away; the tick is still there. The sync
    # (`sheetcrm run`'s, through the service) knows the journal's versions and queues nothing:
    # no second row showing one Message-ID, no quote number burned. A new version is queued.
    import logging

    from sheetcrm.service import Service
    from test_outbox_smtp import AS_OF

    book = queued_and_approved(make_book)
    assert send(book, server).sent == ["OUT-0001"]
    revert_outbox(book, [book.read().tabs["Outbox"].header])
    marks = _marks(book)
    service = Service(config(), book, logging.getLogger("test-journal"), today=lambda: AS_OF)
    service.sync()
    service.sync()
    assert outbox_rows(book) == [] and _marks(book) == marks
    assert not any(vars(send(book, server)).values()) and len(server.inbox.messages) == 1

    set_cell(book, "Quantity", 5, row=2, tab="Quote Lines")  # a new version: queued, with the next number
    service.sync()
    [draft] = outbox_rows(book)
    assert (draft["id"], draft["quote"], draft["status"]) == ("OUT-0002", "Q-2026-0002", "Draft")


def test_sheetcrm_sync_reads_the_journal_and_resend_lets_the_version_go_again(tmp_path, server, monkeypatch):
    # The command line's sync too. `outbox resend` releases the version: queued again only then.
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    wb = ["--workbook", str(book.path), "--config", str(tmp_path / "c.toml")]
    assert send(book, server).sent == ["OUT-0001"]
    sent = outbox_rows(book)
    revert_outbox(book, [book.read().tabs["Outbox"].header])
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["sync", "--as-of", "2026-11-23", *wb])
        assert result.exit_code == 0, result.output
    assert outbox_rows(book) == [] and _marks(book)["Q-2026"] == 1

    # Without the journal (another machine, or `resend` released it) the tick queues it again.
    with Journal.beside_lock(book) as journal:
        assert journal.release(sent[0]["version"]) == 1
    assert runner.invoke(main, ["sync", "--as-of", "2026-11-23", *wb]).exit_code == 0
    assert [(r["id"], r["quote"], r["version"]) for r in outbox_rows(book)] == [
        ("OUT-0002", "Q-2026-0002", sent[0]["version"])]


def test_with_no_outcome_column_a_crash_after_the_250_still_logs_the_email_activity_once(tmp_path, server):
    """An Activities tab with no Outcome column (where the Message-ID goes): the journal settled
    the row after a crash between the send and write 2, but took the activity as already there,
    so the sent quote was in no Last Activity. It is the activity about the deal with the quote's
    Subject; a revert of the Outbox alone then adds no second one."""
    tabs = crm_tabs(Activities=[["ID", "Date", "Type", "Subject", "Related", "Owner"],
                                ["ACT-0007", "2026-11-01", "Call", "Intro", "OPP-0001", "Marta"]])
    book = queued_and_approved(lambda t: xlsx_book(tmp_path, t), tabs)
    approved = [list(r) for r in book.read().tabs["Outbox"].rows]

    def emails():
        return [r[:5] for r in book.read().tabs["Activities"].rows[1:] if r[2] == "Email"]

    with pytest.raises(KeyboardInterrupt):
        send(DiesBeforeRecording(book), server)
    assert send(book, server).restored == ["OUT-0001"] and len(server.inbox.messages) == 1
    [email] = emails()
    assert (email[0], email[3], email[4]) == ("ACT-0008", "Quote Q-2026-0001 – Expansion", "OPP-0001")
    revert_outbox(book, approved)
    assert send(book, server).restored == ["OUT-0001"] and len(server.inbox.messages) == 1
    assert len(emails()) == 1


def test_with_no_outcome_column_the_quotes_email_activity_is_no_reply_to_a_follow_up(tmp_path, server):
    """A deal in a follow-up sequence whose quote went out: the sender's Email activity, with no
    Outcome column to hold its Message-ID, was taken for the customer's reply and stopped the
    sequence ("the record replied"). It is told by its deal and the quote's Subject; a person's
    Email about the deal the same day still is a reply."""
    import datetime as dt

    from sheetcrm.crm import follow_ups
    from sheetcrm.steps import STEPS, SyncContext, compute
    from sheetcrm.steps.workflows import world_of
    from sheetcrm.validate import read_crm
    from test_outbox_smtp import AS_OF

    tabs = crm_tabs(Activities=[["ID", "Date", "Type", "Subject", "Related", "Owner"],
                                ["ACT-0007", "2026-11-01", "Call", "Intro", "OPP-0001", "Marta"]])
    book = queued_and_approved(lambda t: xlsx_book(tmp_path, t), tabs)
    assert send(book, server).sent == ["OUT-0001"]

    def stop() -> str | None:
        snapshot, cfg = book.read(), config()
        ctx = SyncContext(snapshot, cfg, AS_OF, read_crm(snapshot, cfg))
        for step in STEPS[:STEPS.index(compute.run) + 1]:
            ctx.add(step(ctx))
        world = world_of(ctx)
        [deal] = [s for s in world.subjects["opportunity"] if s.id == "OPP-0001"]
        return follow_ups.stop_reason(deal, world, AS_OF - dt.timedelta(days=1), None, set())

    assert stop() is None
    from sheetcrm.workbook import CellWrite, Plan
    book.write(Plan(writes=[CellWrite("Activities", 4, c, v) for c, v in enumerate(
        ["ACT-0009", AS_OF.isoformat(), "Email", "Re: your quote", "OPP-0001"], start=1)]))
    assert stop() == "the record replied (ACT-0009 on Nov 23, 2026)"  # the team's way of writing a day
