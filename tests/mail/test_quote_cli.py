"""The quote and outbox commands, end to end on an .xlsx file and a loopback SMTP server."""

from __future__ import annotations

from email import message_from_bytes, policy

from click.testing import CliRunner

from conftest import crm_tabs
from sheetcrm.cli import main
from sheetcrm.mail.outbox import read_outbox
from test_outbox_smtp import set_cell, xlsx_book


def test_preview_then_queue_then_send(tmp_path, server, monkeypatch):
    book = xlsx_book(tmp_path, crm_tabs())
    wb = ["--workbook", str(book.path), "--config", str(tmp_path / "none.toml")]
    (tmp_path / "none.toml").write_text('currency = "EUR"\n')
    before = book.path.read_bytes()
    runner = CliRunner()

    result = runner.invoke(main, ["quote", "OPP-0001", "--out", str(tmp_path / "out"), *wb])
    assert result.exit_code == 0, result.output
    assert book.path.read_bytes() == before  # a preview writes nothing to the workbook and sends nothing
    [eml] = (tmp_path / "out").glob("*.eml")
    assert eml.name.startswith("OPP-0001-") and eml.with_suffix(".html").exists()  # OPP-0001-<version>
    msg = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert msg["To"] == "Ana Pérez <ana@example.com>" and "€2,509.06" in msg.get_body(("plain",)).get_content()
    assert "€2,509.06" in eml.with_suffix(".html").read_text()
    assert server.inbox.messages == []

    assert "queued Q-2026-0001 as OUT-0001" in runner.invoke(main, ["quote", "OPP-0001", "--queue", *wb]).output
    assert "already in the Outbox as OUT-0001" in runner.invoke(main, ["quote", "OPP-0001", "--queue", *wb]).output
    set_cell(book, "Status", "Approved")

    for key, value in {"HOST": "127.0.0.1", "PORT": str(server.port), "SECURITY": "none",
                       "FROM": "sales@example.com", "USER": "", "PASSWORD": "never-printed"}.items():
        monkeypatch.setenv(f"SHEETCRM_SMTP_{key}", value)
    result = runner.invoke(main, ["outbox", "send", *wb])
    assert result.exit_code == 0 and "OUT-0001: sent" in result.output
    assert "never-printed" not in result.output
    assert runner.invoke(main, ["outbox", "send", *wb]).output.strip() == "nothing to send"
    assert len(server.inbox.messages) == 1
    assert [r.text("status") for r in read_outbox(book.read(), "en").rows] == ["Sent"]


def test_blocked_quote_and_missing_server_are_one_line_errors(tmp_path, monkeypatch):
    tabs = crm_tabs()
    tabs["Quote Lines"].append(["OPP-0001", "NOPE", 1, "", ""])
    book = xlsx_book(tmp_path, tabs)
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    wb = ["--workbook", str(book.path), "--config", str(tmp_path / "c.toml")]
    result = CliRunner().invoke(main, ["quote", "OPP-0001", "--queue", *wb])
    assert result.exit_code == 1 and "unknown_sku" in result.output and "Quote Lines!B4" in result.output
    monkeypatch.delenv("SHEETCRM_SMTP_HOST", raising=False)
    result = CliRunner().invoke(main, ["outbox", "send", *wb])
    assert result.exit_code == 2 and "no SMTP server" in result.output
