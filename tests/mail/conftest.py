"""A real SMTP server on loopback (aiosmtpd), and small CRM workbooks for the quote flow."""

from __future__ import annotations

import datetime as dt
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from books import crm_tabs  # noqa: F401  (the quote flow's workbook; tests/test_references.py uses it too)
from sheetcrm.config import Config, SmtpSettings

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)


class Inbox:
    """The server's handler: keeps what it accepts, or answers `reply` (e.g. 451 / 550) to DATA."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reply: str | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.reply:
            return self.reply
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 2.0.0 Queued"


class Server:
    """An SMTP server on 127.0.0.1 that tests can stop and start again on the same port."""

    def __init__(self, password: str | None = None) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.inbox = Inbox()
        self.password = password
        self.controller: Controller | None = None

    def _auth(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"quotes" and auth_data.password == self.password.encode()
        return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535

    def start(self) -> None:
        extra = {}
        if self.password is not None:
            extra = {"authenticator": self._auth, "auth_require_tls": False}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **extra)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings(self, **overrides) -> SmtpSettings:
        return SmtpSettings.model_validate({"host": "127.0.0.1", "port": self.port, "security": "none",
                                            "from": "Sales <sales@example.com>", "timeout": 5, **overrides})


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """Locks and the outbox journal live under $XDG_CACHE_HOME: one per test, never ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def server():
    s = Server()
    s.start()
    yield s
    s.stop()


def config(**overrides) -> Config:
    return Config(currency="EUR", **overrides)
