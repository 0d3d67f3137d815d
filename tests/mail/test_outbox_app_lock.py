"""The "same quote sent twice" story: a person has the workbook open in LibreOffice while
`outbox send` runs; the app's next save would put the row back to Approved and the next run
would send the quote again. With the app's lock file beside the workbook, nothing is sent."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import crm_tabs
from sheetcrm.cli import main
from sheetcrm.mail.outbox import read_outbox
from test_outbox_smtp import set_cell, xlsx_book


def test_outbox_send_refuses_while_the_workbook_is_open_in_libreoffice(tmp_path, server, monkeypatch):
    book = xlsx_book(tmp_path, crm_tabs())
    (tmp_path / "none.toml").write_text('currency = "EUR"\n')
    wb = ["--workbook", str(book.path), "--config", str(tmp_path / "none.toml")]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runner = CliRunner()
    assert runner.invoke(main, ["quote", "OPP-0001", "--queue", *wb]).exit_code == 0
    set_cell(book, "Status", "Approved")
    for key, value in {"HOST": "127.0.0.1", "PORT": str(server.port), "SECURITY": "none",
                       "FROM": "sales@example.com"}.items():
        monkeypatch.setenv(f"SHEETCRM_SMTP_{key}", value)

    lock = tmp_path / ".~lock.crm.xlsx#"
    lock.write_text(",Marta,laptop,30.11.2026 09:00,file:///home/marta/.config/libreoffice/4;", encoding="utf-8")
    before = book.path.read_bytes()
    result = runner.invoke(main, ["outbox", "send", *wb])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"sheetcrm: {book.path} is open in LibreOffice by Marta (.~lock.crm.xlsx#); close it there first, or pass "
        "--ignore-lock (the app's next save would undo what sheetcrm writes)")
    assert server.inbox.messages == [] and book.path.read_bytes() == before
    assert runner.invoke(main, ["sync", *wb]).exit_code == 2  # syncing is refused the same way

    lock.unlink()  # closed in the app: now it is sent, once
    result = runner.invoke(main, ["outbox", "send", *wb])
    assert result.exit_code == 0 and "OUT-0001: sent" in result.output
    assert len(server.inbox.messages) == 1
    assert [r.text("status") for r in read_outbox(book.read(), "en").rows] == ["Sent"]



def test_outbox_resend_waits_for_no_other_sheetcrm_command(tmp_path, monkeypatch):
    """It wrote without the workbook's lock, so it could race an `outbox send` mid-run."""
    from sheetcrm.lock import WorkbookLock

    book = xlsx_book(tmp_path, crm_tabs())
    (tmp_path / "none.toml").write_text('currency = "EUR"\n')
    wb = ["--workbook", str(book.path), "--config", str(tmp_path / "none.toml")]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runner = CliRunner()
    assert runner.invoke(main, ["quote", "OPP-0001", "--queue", *wb]).exit_code == 0
    set_cell(book, "Status", "Failed")
    before = book.path.read_bytes()
    with WorkbookLock(book, command="outbox send"):  # another command is writing the workbook
        result = runner.invoke(main, ["outbox", "resend", "OUT-0001", *wb])
    assert result.exit_code == 2, result.output
    assert book.path.read_bytes() == before
    assert runner.invoke(main, ["outbox", "resend", "OUT-0001", *wb]).exit_code == 0
    assert [r.text("status") for r in read_outbox(book.read(), "en").rows] == ["Approved"]
