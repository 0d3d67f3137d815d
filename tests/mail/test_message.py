"""Message building: header injection refused, addresses validated, multipart structure."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config, SmtpSettings
from sheetcrm.mail.message import HeaderError, build_message, envelope
from sheetcrm.mail.smtp import smtp_settings

WHEN = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.timezone.utc)


def build(**overrides):
    args = dict(sender="Sales <sales@example.com>", to="Ana Pérez <ana@example.com>", subject="Quote Q-2026-0001",
                text="Hello", html="<p>Hello</p>", message_id="<OUT-0001.abc@example.com>", date=WHEN,
                attachment_name="Q-2026-0001.html")
    return build_message(**{**args, **overrides})


def test_multipart_alternative_with_the_quote_attached():
    msg = build()
    assert msg.get_content_type() == "multipart/mixed"
    alternative, attachment = msg.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_filename() == "Q-2026-0001.html" and attachment.get_content() == "<p>Hello</p>"
    assert envelope(msg) == ("sales@example.com", ["ana@example.com"])
    assert msg["Message-ID"] == "<OUT-0001.abc@example.com>"


@pytest.mark.parametrize("field, value", [
    ("subject", "Quote\r\nBcc: everyone@example.com"), ("subject", "Quote\nBcc: x@example.com"),
    ("subject", "Quote\rX"), ("to", "ana@example.com\nBcc: x@example.com"),
    ("sender", "sales@example.com\r\nBcc: x@example.com"), ("message_id", "<a@b>\nX: y"),
])
def test_line_breaks_in_any_header_are_refused(field, value):
    with pytest.raises(HeaderError, match="line break"):
        build(**{field: value})


@pytest.mark.parametrize("to", ["not-an-address", "ana@", "Ana <ana@exa mple.com>", "", "ñandú@example.com"])
def test_bad_recipients_are_refused(to):
    with pytest.raises(HeaderError):
        build(to=to)


@pytest.mark.parametrize("to", ["undisclosed: eve@evil.example;", "Team: ana@example.com, bo@example.com;",
                                "undisclosed-recipients:;"])
def test_an_address_group_in_to_is_refused_saying_so(to):
    # Was: "undisclosed: eve@evil.example;" sent to eve@evil.example, the To header rewritten
    # to the address alone.
    with pytest.raises(HeaderError, match='^To holds an address group, "(undisclosed|Team|undisclosed-recipients):"'):
        build(to=to)


def test_password_never_shows(monkeypatch):
    monkeypatch.setenv("SHEETCRM_SMTP_PASSWORD", "s3cret-pw")
    monkeypatch.setenv("SHEETCRM_SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SHEETCRM_SMTP_FROM", "sales@example.com")
    settings = smtp_settings(Config().smtp)
    assert settings.password.get_secret_value() == "s3cret-pw"
    assert "s3cret-pw" not in repr(settings) and "s3cret-pw" not in str(settings)
    assert "s3cret-pw" not in settings.model_dump_json()


def test_environment_wins_over_the_config(monkeypatch):
    config = Config(smtp=SmtpSettings.model_validate({"host": "a.example.com", "port": 25, "from": "a@example.com"}))
    monkeypatch.setenv("SHEETCRM_SMTP_PORT", "2525")
    s = smtp_settings(config.smtp)
    assert (s.host, s.port, s.from_) == ("a.example.com", 2525, "a@example.com")
    monkeypatch.setenv("SHEETCRM_SMTP_SECURITY", "tls-please")
    with pytest.raises(Exception, match="smtp.security"):
        smtp_settings(config.smtp)


def test_the_attached_quote_says_its_charset_so_accents_and_the_euro_sign_survive_on_the_wire():
    """The attachment is UTF-8 bytes; without a charset a mail reader takes text/html as
    US-ASCII, and "Pérez, 1.234,56 €" reached the customer as "P\ufffd\ufffdrez…" (or "PÃ©rez")
    in a template with no <meta charset>, as a team's may be."""
    from email import message_from_bytes, policy
    html = "<p>Pérez, 1.234,56 €</p>"
    wire = message_from_bytes(build(html=html).as_bytes(), policy=policy.default)
    _alternative, attachment = wire.iter_parts()
    assert attachment.get_content_charset() == "utf-8"
    assert attachment.get_content() == html
