"""Every failure is a failure (issue 10, item 12): a setting that stops every send fails the run
with one line naming the setting, exit 1, and the rows wait at Approved, due at once; rows that
wait for their Next Try are listed, and `outbox send --now` sends them. Real servers on loopback."""

from __future__ import annotations

import logging
import socket
import threading

import pytest
from click.testing import CliRunner

from conftest import Server, config
from sheetcrm.cli import main
from sheetcrm.mail.outbox import SetupError
from sheetcrm.service import Service
from test_outbox_smtp import Clock, outbox_rows, queued_and_approved, send, xlsx_book


class Greeter:
    """A TCP server on loopback that answers every connection with one SMTP greeting line and
    closes it: a server refusing service (554) or busy (421)."""

    def __init__(self, greeting: bytes) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.greeting = greeting
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.greeting)

    def close(self) -> None:
        self.sock.close()

    def settings(self, **overrides):
        return Server.settings(self, **overrides)  # the same client settings as for aiosmtpd


def book_for(tmp_path):
    return queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))


def waits_with(book, line: str) -> None:
    [row] = outbox_rows(book)
    assert (row["status"], row["next_try"], row["attempts"], row["error"]) == ("Approved", "", "0", f"not sent: {line}")


@pytest.mark.parametrize("settings, words", [
    ({"security": "starttls"}, ["does not offer STARTTLS", "[smtp] security"]),
    ({"security": "ssl"}, ["TLS handshake", "[smtp] security", "[smtp] port"]),
    ({"user": "quotes", "password": "pw-never-shown"}, ["offers no login", "[smtp] user"]),
])
def test_a_wrong_setting_fails_the_run_with_one_line_naming_it(tmp_path, server, settings, words):
    book = book_for(tmp_path)
    with pytest.raises(SetupError) as failed:
        send(book, server, **settings)
    line = str(failed.value)
    assert all(w in line for w in words) and "\n" not in line and "pw-never-shown" not in line
    assert f"127.0.0.1:{server.port}" in line
    assert failed.value.report.held == ["OUT-0001"] and server.inbox.messages == []
    waits_with(book, line)
    assert send(book, server).sent == ["OUT-0001"]  # fixed: sent at once, no backoff to wait out
    assert len(server.inbox.messages) == 1


def test_5xx_on_connect_is_a_setup_failure_and_4xx_is_transient(tmp_path):
    book = book_for(tmp_path)
    refusing, busy = Greeter(b"554 5.3.2 No service here\r\n"), Greeter(b"421 4.3.2 Busy, try later\r\n")
    try:
        with pytest.raises(SetupError, match=r"refused the session \(554 5.3.2 No service here\): check \[smtp\] host"):
            send(book, refusing)
        report = send(book, busy)
        assert report.retrying == ["OUT-0001"] and "421 4.3.2 Busy" in report.details["OUT-0001"]
    finally:
        refusing.close()
        busy.close()


def test_a_refused_port_is_retried_then_fails_naming_host_and_port(tmp_path, server):
    book = book_for(tmp_path)
    server.stop()
    clock = Clock()
    report = send(book, server, clock, max_attempts=2)
    assert report.retrying == ["OUT-0001"] and "check [smtp] host and port" in report.details["OUT-0001"]
    clock.advance(hours=1)
    report = send(book, server, clock, max_attempts=2)
    assert report.failed == ["OUT-0001"]
    [row] = outbox_rows(book)
    assert row["status"] == "Failed" and row["error"].startswith("gave up after 2 tries: cannot reach 127.0.0.1:")


def cli(tmp_path, book, monkeypatch, server, **env):
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    for key, value in {"HOST": "127.0.0.1", "PORT": str(server.port), "SECURITY": "none",
                       "FROM": "sales@example.com", **env}.items():
        monkeypatch.setenv(f"SHEETCRM_SMTP_{key}", value)
    return lambda *args: CliRunner().invoke(
        main, ["outbox", "send", *args, "--workbook", str(book.path), "--config", str(tmp_path / "c.toml")])


def test_the_command_exits_1_with_the_one_line_then_sends_once_fixed(tmp_path, server, monkeypatch):
    book = book_for(tmp_path)
    run = cli(tmp_path, book, monkeypatch, server, SECURITY="starttls")
    result = run()
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("sheetcrm: 127.0.0.1:") and "does not offer STARTTLS" in line
    assert "will retry" not in result.stdout and "OUT-0001: not sent" in result.stdout
    monkeypatch.setenv("SHEETCRM_SMTP_SECURITY", "none")
    result = run()
    assert result.exit_code == 0 and "OUT-0001: sent" in result.stdout and len(server.inbox.messages) == 1


def test_waiting_rows_are_listed_and_now_sends_them(tmp_path, server, monkeypatch):
    book = book_for(tmp_path)
    run = cli(tmp_path, book, monkeypatch, server)
    server.stop()
    assert "OUT-0001: will retry: cannot reach" in run().stdout
    server.start()
    result = run()
    [row] = outbox_rows(book)
    assert result.exit_code == 0 and "nothing to send" not in result.stdout
    assert f"OUT-0001: waiting until {row['next_try']}" in result.stdout and "--now" in result.stdout
    assert server.inbox.messages == []
    result = run("--now")
    assert result.exit_code == 0 and "OUT-0001: sent" in result.stdout and len(server.inbox.messages) == 1
    assert run().stdout.strip() == "nothing to send"


def test_the_service_counts_a_setup_failure_as_a_failed_job(tmp_path, server, caplog):
    book = book_for(tmp_path)
    service = Service(config(smtp=server.settings(security="starttls")), book, logging.getLogger("test-setup"))
    job = next(j for j in service.jobs if j.name == "outbox")
    with caplog.at_level(logging.ERROR, logger="test-setup"):
        assert service.run_job(job) is False
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "does not offer STARTTLS" in record.getMessage() and record.exc_info is None  # one line, no traceback
    [row] = outbox_rows(book)
    assert row["status"] == "Approved" and "does not offer STARTTLS" in row["error"] and server.inbox.messages == []
