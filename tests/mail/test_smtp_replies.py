"""Replies aiosmtpd cannot give, from a scripted SMTP server on loopback, and addresses that
are not plain ASCII: each row of a run ends in a state that is true, never a traceback, never
a row stranded at Sending for a message that never left."""

from __future__ import annotations

import socket
import threading
from email.message import EmailMessage

import pytest
from click.testing import CliRunner

from conftest import Server, config
from sheetcrm.cli import main
from sheetcrm.config import ConfigError, SmtpSettings
from sheetcrm.mail.journal import Journal
from sheetcrm.mail.outbox import SetupError
from sheetcrm.mail.smtp import Outcome, SmtpSender, smtp_settings
from sheetcrm.sync import sync
from test_outbox_smtp import AS_OF, Clock, crm_tabs, outbox_rows, send, set_cell, xlsx_book


class Scripted:
    """An SMTP server on loopback answering from a script: `replies` maps a command (MAIL,
    RCPT, DATA, and END: the answer to the body) to its reply line, and a line ending in "|close" hangs up after it. Keeps the
    commands it heard and the bodies it took. The script may be changed between runs."""

    def __init__(self, replies: dict[str, str] | None = None) -> None:
        self.replies = replies or {}
        self.commands: list[str] = []
        self.bodies: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as f:
            def say(line: str) -> bool:
                conn.sendall(line.removesuffix("|close").encode() + b"\r\n")
                return not line.endswith("|close")

            say("220 scripted ESMTP")
            while line := f.readline():
                command = line.decode().strip()
                self.commands.append(command)
                verb = command.split(" ")[0].split(":")[0].upper()
                if verb == "EHLO":
                    say("250-scripted\r\n250 8BITMIME")
                elif verb == "QUIT":
                    say("221 bye")
                    return
                elif verb == "DATA":
                    reply = self.replies.get("DATA", "354 go on")
                    if not say(reply):
                        return
                    if reply.startswith("354"):
                        body = b"".join(iter(lambda: f.readline(), b".\r\n"))
                        self.bodies.append(body)
                        say(self.replies.get("END", "250 2.0.0 taken"))
                elif not say(self.replies.get(verb, "250 ok")):
                    return

    def close(self) -> None:
        self.sock.close()

    def settings(self, **overrides):
        return Server.settings(self, **overrides)  # the client settings the aiosmtpd tests use


def two_quotes(email: str = "ana@example.com") -> dict[str, list[list]]:
    """Two ticked quotes, OPP-0001 to `email` and OPP-0002 to bo@example.com."""
    tabs = crm_tabs()
    tabs["Contacts"].append(["CON-0002", "ACC-0001", "Bo", "Lind", "bo@example.com"])
    tabs["Contacts"][1][4] = email
    tabs["Opportunities"].append(["OPP-0002", "Renewal", "ACC-0001", "CON-0002", "Marta", "Proposal", 100, "EUR",
                                  "yes", ""])
    tabs["Quote Lines"].append(["OPP-0002", "P2", 1, "", ""])
    return tabs


def approved(tmp_path, tabs) -> object:
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    for row in (2, 3):
        set_cell(book, "Status", "Approved", row)
    return book


@pytest.fixture
def scripted():
    s = Scripted()
    yield s
    s.close()


def test_421_to_data_with_the_connection_closed_is_retried_and_strands_no_row(tmp_path, scripted):
    """The server answers DATA with 421 and hangs up: no body left, so each row goes back to
    Approved with a Next Try (README: 4xx is transient), the journal holds nothing, and the
    next run sends both once. It was a traceback from RSET, both rows left at Sending."""
    book = approved(tmp_path, two_quotes())
    scripted.replies = {"DATA": "421 4.3.2 Service shutting down|close"}
    clock = Clock()
    report = send(book, scripted, clock)
    assert report.retrying == ["OUT-0001", "OUT-0002"] and scripted.bodies == []
    rows = outbox_rows(book)
    assert [(r["status"], r["attempts"]) for r in rows] == [("Approved", "1"), ("Approved", "1")]
    assert all("421 4.3.2 Service shutting down" in r["error"] and r["next_try"] for r in rows)
    with Journal.beside_lock(book) as journal:
        assert journal.ledger().held_versions() == frozenset()

    scripted.replies = {}
    clock.advance(seconds=61)
    assert send(book, scripted, clock).sent == ["OUT-0001", "OUT-0002"]
    assert len(scripted.bodies) == 2


def test_an_answer_to_the_body_that_is_no_reply_code_is_unknown_never_retried(tmp_path, scripted):
    """The body was handed over and the answer is garbage: it may have been accepted, so the
    row stays at Sending for a person (it was treated as transient, to be sent again)."""
    book = approved(tmp_path, two_quotes())
    scripted.replies = {"END": "garbage"}
    report = send(book, scripted)
    assert report.unknown == ["OUT-0001", "OUT-0002"] and len(scripted.bodies) == 2
    rows = outbox_rows(book)
    assert [r["status"] for r in rows] == ["Sending", "Sending"]
    # What the server said, as it said it: smtplib's reading of it was -1 "age".
    assert 'the server answered the message with "garbage", which has no reply code.' in rows[0]["error"]
    # The Error says what sends it again: `outbox resend`. It said "or to Approved to resend",
    # which the journal (holding the intent) answers by putting the row back at Sending.
    assert "run sheetcrm outbox resend OUT-0001 to send it again" in rows[0]["error"]
    assert "Approved" not in rows[0]["error"]
    set_cell(book, "Status", "Approved")
    scripted.replies = {}
    report = send(book, scripted)
    assert report.sent == [] and len(scripted.bodies) == 2
    assert outbox_rows(book)[0]["status"] == "Sending"


def test_an_answer_to_the_body_with_a_code_but_no_reply_to_a_message_is_said_as_sent(scripted):
    # A code smtplib reads, but no answer to a message's end (250, 4xx, 5xx): shown as the line
    # the server sent, code and all, and unknown (the body left).
    scripted.replies = {"END": "199 odd"}
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "sales@example.com", "ana@example.com", "Quote"
    msg.set_content("Hello")
    with SmtpSender(scripted.settings()) as sender:
        outcome = sender.send(msg)
    assert outcome == Outcome("unknown", 'the server answered the message with "199 odd", which is no reply to a '
                                         'message (250, 4xx or 5xx)')


@pytest.mark.parametrize("reply, words", [
    ("530 5.7.0 Must issue a STARTTLS command first", ["takes mail only over TLS", "[smtp] security"]),
    ("530 5.7.0 Authentication required", ["takes mail only after a login", "[smtp] user"]),
])
def test_530_to_mail_from_is_a_setting_that_holds_every_row(tmp_path, scripted, reply, words):
    """530 (RFC 4954) is the server asking for TLS or a login first: the setting's fault, one
    line naming it, every row waits at Approved with no Next Try. It failed every row."""
    book = approved(tmp_path, two_quotes())
    scripted.replies = {"MAIL": reply}
    with pytest.raises(SetupError) as failed:
        send(book, scripted)
    line = str(failed.value)
    assert all(w in line for w in words) and reply in line and "\n" not in line
    assert failed.value.report.held == ["OUT-0001", "OUT-0002"] and failed.value.report.failed == []
    rows = outbox_rows(book)
    assert [(r["status"], r["next_try"], r["attempts"], r["error"]) for r in rows] == [
        ("Approved", "", "0", f"not sent: {line}")] * 2
    assert sum(c.upper().startswith("MAIL") for c in scripted.commands) == 1  # one refusal is enough

    scripted.replies = {}
    assert send(book, scripted).sent == ["OUT-0001", "OUT-0002"]


def test_a_contact_email_with_a_non_ascii_domain_is_sent_to_its_ascii_form(tmp_path, server):
    """ana@bücher.example: the envelope and the To header carry the IDNA form. It was a
    UnicodeEncodeError traceback from RCPT, both rows left at Sending for a person."""
    book = approved(tmp_path, two_quotes("ana@bücher.example"))
    assert outbox_rows(book)[0]["to"] == "Ana Pérez <ana@xn--bcher-kva.example>"
    set_cell(book, "To", "Ana Pérez <ana@bücher.example>")  # as a person may fix it, or an older queue wrote it
    report = send(book, server)
    assert report.sent == ["OUT-0001", "OUT-0002"]
    assert [rcpts for _sender, rcpts in server.inbox.envelopes] == [["ana@xn--bcher-kva.example"], ["bo@example.com"]]
    assert server.inbox.messages[0]["To"].addresses[0].addr_spec == "ana@xn--bcher-kva.example"


class Breaking:
    """A transport that fails as sheetcrm's own code could (a bug), on its first message."""

    def __init__(self) -> None:
        self.tried = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def send(self, msg):
        self.tried += 1
        raise RuntimeError("boom")


def test_a_transport_that_raises_strands_only_the_row_it_was_sending(tmp_path):
    from sheetcrm.mail.outbox import send_outbox
    from sheetcrm.mail.templates import Templates

    book = approved(tmp_path, two_quotes())
    transport = Breaking()
    settings = SmtpSettings.model_validate({"host": "127.0.0.1", "from": "Sales <sales@example.com>"})
    report = send_outbox(book, config(), settings, Templates(), lambda: transport, Clock(), lambda: "t1")
    assert transport.tried == 1 and report.unknown == ["OUT-0001"] and report.retrying == ["OUT-0002"]
    first, second = outbox_rows(book)
    assert first["status"] == "Sending" and "RuntimeError: boom" in first["error"]
    assert (second["status"], second["next_try"], second["attempts"]) == ("Approved", "", "0")
    assert "stopped at OUT-0001 before trying it" in second["error"]


@pytest.mark.parametrize("sender", ["sales.example.com", "Sales Team sales@example.com", "a@x.com, b@y.com"])
def test_a_mistyped_from_is_a_config_error(sender):
    with pytest.raises(ConfigError, match=r"smtp\.from: .*SHEETCRM_SMTP_FROM"):
        smtp_settings(SmtpSettings(host="mail.example.com"), {"SHEETCRM_SMTP_FROM": sender})


@pytest.mark.parametrize(("env", "said"), [
    ({"SHEETCRM_SMTP_PASSWORD": "contraseña-Ñ9"}, "smtp.password: has a character outside ASCII"),
    ({"SHEETCRM_SMTP_USER": "cotización"}, "smtp.user: has a character outside ASCII"),
    ({"SHEETCRM_SMTP_HOST": "mail..example.com"}, 'smtp.host: "mail..example.com" is not a host name'),
    ({"SHEETCRM_SMTP_HOST": "mail.example.com\r\n"}, 'smtp.host: "mail.example.com\\u000d\\u000a" is not'),
])
def test_a_login_or_host_smtplib_cannot_send_is_a_config_error_never_quoting_the_password(env, said):
    """smtplib raised UnicodeError mid-send for these: the quote was left at Sending (never
    retried) with an Error cell naming the password's first non-ASCII character and where it is."""
    with pytest.raises(ConfigError) as e:
        smtp_settings(SmtpSettings(host="mail.example.com", user="quotes", **{"from": "a@example.com"}), env)
    assert str(e.value).startswith(said) and "ñ" not in str(e.value).lower()


@pytest.mark.parametrize(("env", "said"), [
    ({"SHEETCRM_SMTP_PORT": "abc"}, "smtp.port: debe ser un número entero"),
    ({"SHEETCRM_SMTP_TIMEOUT": "-1"}, "smtp.timeout: debe ser mayor que 0"),
    ({"SHEETCRM_SMTP_SECURITY": "tls"}, "smtp.security: debe ser 'ssl', 'starttls' o 'none'"),
])
def test_a_bad_smtp_environment_variable_is_said_in_the_teams_language(env, said):
    """$SHEETCRM_SMTP_* are held to the [smtp] section's rules, and a bad one was said in
    pydantic's English ("Input should be a valid integer, unable to parse string…") inside a
    Spanish line; it is said as the same mistake in the file is."""
    from sheetcrm.i18n import using

    with using("es"), pytest.raises(ConfigError) as e:
        smtp_settings(SmtpSettings(host="mail.example.com", **{"from": "a@example.com"}), env)
    assert str(e.value).startswith(said) and "Input" not in str(e.value)


def test_a_from_with_a_non_ascii_domain_is_kept_in_its_ascii_form():
    settings = smtp_settings(SmtpSettings.model_validate({"host": "h", "from": "Sales <sales@bücher.example>"}), {})
    assert settings.from_ == "Sales <sales@xn--bcher-kva.example>"


def test_outbox_send_with_a_mistyped_from_exits_2_and_leaves_the_rows(tmp_path, server, monkeypatch):
    """A bad [smtp] from is said once, exit 2, rows untouched: it made every row Failed."""
    book = approved(tmp_path, two_quotes())
    before = outbox_rows(book)
    for key, value in {"HOST": "127.0.0.1", "PORT": str(server.port), "SECURITY": "none",
                       "FROM": "Sales <sales@bücher example>"}.items():
        monkeypatch.setenv(f"SHEETCRM_SMTP_{key}", value)
    result = CliRunner().invoke(main, ["outbox", "send", "--workbook", str(book.path)])
    assert result.exit_code == 2, result.output
    assert "smtp.from" in result.output and outbox_rows(book) == before and server.inbox.messages == []


def test_a_refused_body_ends_the_transaction_so_the_next_quote_is_not_refused_for_it(tmp_path, server):
    """aiosmtpd answers 500 when its handler fails on a body, and keeps the transaction open:
    the next MAIL FROM got "503 nested MAIL command", and a quote nothing was wrong with was
    Failed for the one before it. sheetcrm now resets (RSET) after any refusal of a body, as it
    does after a refused MAIL or RCPT."""
    taken = server.inbox.handle_DATA

    async def fails_once(srv, session, envelope):
        if not server.inbox.envelopes and not getattr(fails_once, "failed", False):
            fails_once.failed = True
            raise RuntimeError("spam filter crashed")
        return await taken(srv, session, envelope)

    server.inbox.handle_DATA = fails_once
    book = approved(tmp_path, two_quotes())
    report = send(book, server)
    assert report.failed == ["OUT-0001"] and report.details["OUT-0001"].startswith("500 ")
    assert report.sent == ["OUT-0002"] and server.inbox.envelopes == [("sales@example.com", ["bo@example.com"])]
