"""Building a quote email: multipart/alternative text + HTML, the quote attached, headers checked.

The attachment is the quote as a standalone HTML document, not a PDF. WeasyPrint renders the
template's CSS faithfully but needs Pango and cairo from the system, which a `pip install`
cannot provide; xhtml2pdf is pure Python but supports too little CSS to keep the layout, so
the PDF would look worse than the email it comes with. An HTML file opens in any browser and
prints to PDF from there, exactly as designed.

Every header value is checked before it reaches the message: CR or LF anywhere is refused
(a Subject comes from a cell, and a cell can hold "Quote\\r\\nBcc: everyone@…"), and every
address must be a valid, ASCII-deliverable address.
"""

from __future__ import annotations

import datetime as dt
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses

from email_validator import EmailNotValidError, validate_email


class HeaderError(ValueError):
    """A header value that must not be sent."""


_LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]")


def check_header(name: str, value: str) -> str:
    if _LINE_BREAK.search(value):
        raise HeaderError(f"{name} contains a line break, which could inject headers: {value!r}")
    return value


def check_addresses(name: str, value: str) -> list[Address]:
    """Parse a header holding one or more addresses ("Ana <ana@x.com>, bo@y.org"), validating each."""
    check_header(name, value)
    pairs = getaddresses([value])
    if not pairs or any(not addr for _, addr in pairs):
        raise HeaderError(f"{name} holds no valid address: {value!r}")
    out = []
    for display, addr in pairs:
        if addr not in value:
            # getaddresses repairs some typos ("exa mple.com" becomes "example.com"); a quote
            # goes to the address as typed or nowhere.
            raise HeaderError(f"{name}: {value!r} is not a valid list of addresses")
        try:
            valid = validate_email(addr, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as e:
            raise HeaderError(f"{name}: {addr!r} is not a valid email address: {e}") from None
        local, _, domain = valid.normalized.rpartition("@")
        out.append(Address(display_name=display, username=local, domain=domain))
    return out


def message_id(token: str, domain: str) -> str:
    """A Message-ID made by sheetcrm before sending, so the row records it whatever happens next."""
    return f"<{token}@{domain}>"


def build_message(*, sender: str, to: str, subject: str, text: str, html: str, message_id: str,
                  date: dt.datetime, attachment_name: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = check_addresses("From", sender)
    msg["To"] = check_addresses("To", to)
    msg["Subject"] = check_header("Subject", subject)
    msg["Message-ID"] = check_header("Message-ID", message_id)
    msg["Date"] = format_datetime(date)
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    msg.add_attachment(html.encode("utf-8"), maintype="text", subtype="html",
                       filename=check_header("attachment name", attachment_name))
    return msg


def envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope (MAIL FROM, RCPT TO) of a built message."""
    sender = msg["From"].addresses[0].addr_spec
    return sender, [a.addr_spec for a in msg["To"].addresses]
