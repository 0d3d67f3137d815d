"""Building a quote email: multipart/alternative text + HTML, the quote attached, headers checked.

The attachment is the quote as a standalone HTML document, not a PDF. WeasyPrint renders the
template's CSS faithfully but needs Pango and cairo from the system, which a `pip install`
cannot provide; xhtml2pdf is pure Python but supports too little CSS to keep the layout, so
the PDF would look worse than the email it comes with. An HTML file opens in any browser and
prints to PDF from there, exactly as designed.

Every header value is checked before it reaches the message: a line break or any other
control character is refused (a Subject comes from a cell, and a cell can hold
"Quote\\r\\nBcc: everyone@…"); every address must be a valid, ASCII-deliverable address, and
is written in its ASCII form (a domain in another script, "bücher.example", as IDNA,
"xn--bcher-kva.example"), since the SMTP session and the headers carry ASCII only. The
recipient is one mailbox: built from a contact's name and email with `Address(display_name=…,
addr_spec=…)`, so a name like "Eve <eve@evil.example>, Ana" stays a (quoted) display name, and
the Outbox's To cell must parse back to exactly one address. Neither, nor a Subject, may hold
an encoded word ("=?utf-8?q?…?="): the email would show it decoded, other text than the sheet's. A Message-ID cell must hold one
that sheetcrm made, and the attachment's file name is a plain one.
"""

from __future__ import annotations

import datetime as dt
import re
from email.headerregistry import Address
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime

from email_validator import EmailNotValidError, validate_email

# Values quoted in messages the way every other message quotes a cell: invisible and control
# characters as \uXXXX escapes (cells.visible), never Python's repr.
from sheetcrm.cells import email_reason, quoted
from sheetcrm.i18n import _, pgettext


class HeaderError(ValueError):
    """A header value that must not be sent."""


class EncodedWordError(HeaderError):
    """A name or To holding an encoded word ("=?utf-8?q?Bob?="), which would go out decoded."""


class AddressError(HeaderError):
    """An address no message can go to: not valid as the SMTP session carries it (ASCII before
    the @-sign, no SMTPUTF8). `address` as given, `reason` why, in the current language."""

    def __init__(self, message: str, address: str, reason: str) -> None:
        super().__init__(message)
        self.address, self.reason = address, reason


_LINE_BREAK = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Any other C0/C1 control character (NUL, BEL, ESC, DEL…): no header needs one, and some mail
# software treats them as separators or terminal escapes.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x9f]")
# What sheetcrm's own Message-IDs look like (`message_id`): a cell may hold nothing else.
_MESSAGE_ID = re.compile(r"<[A-Za-z0-9._-]{1,200}@[A-Za-z0-9.-]{1,253}>")
_FILE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,120}")
# RFC 2047's encoded word ("=?utf-8?q?Bob?="): a mail reader, and the message built from it,
# shows it decoded ("Bob"), so a name holding one would reach the customer as another name
# than the cell's, one the person who approved the row could not read (base64 can say anything).
_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def check_header(name: str, value: str) -> str:
    """`value` unchanged, or HeaderError when it holds a line break or another control character."""
    if _LINE_BREAK.search(value):
        raise HeaderError(_("{name} contains a line break, which could inject headers: {value}", name=name,
                             value=quoted(value)))
    if m := _CONTROL.search(value):
        char = f"U+{ord(m.group()):04X}"
        raise HeaderError(_("{name} contains the control character {char}: {value}", name=name, char=char,
                            value=quoted(value)))
    return value


def check_no_encoded_word(name: str, value: str) -> str:
    """`value` unchanged, or EncodedWordError when it holds an RFC 2047 encoded word, naming what
    a mail reader shows instead: the email would not show the text the sheet shows."""
    if _ENCODED_WORD.search(value):
        try:
            shown = str(policy.default.header_factory("Subject", value))
        except Exception:  # noqa: BLE001 - the parser's own failures: say the text as it is
            shown = value
        raise EncodedWordError(_("{name} holds {value}, which a mail program shows as {shown}: \"=?…?=\" is an "
                                 "encoded word, and the email would not show what the sheet shows",
                                 name=name, value=quoted(value), shown=quoted(shown)))
    return value


def check_message_id(value: str) -> str:
    """A Message-ID as sheetcrm makes them, "<token@domain>"; HeaderError for anything else."""
    check_header("Message-ID", value)
    if not _MESSAGE_ID.fullmatch(value):
        raise HeaderError(_("Message-ID {value} is not one sheetcrm made; clear the cell to get a new one",
                             value=quoted(value)))
    return value


def _valid_address(name: str, display: str, addr: str) -> Address:
    try:
        valid = validate_email(addr, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as e:
        reason = email_reason(str(e))
        raise AddressError(_("{name}: {value} is not a valid email address: {error}", name=name, value=quoted(addr),
                             error=reason), addr, reason) from None
    # The ASCII form (IDNA domain): what MAIL FROM / RCPT TO and a header can carry without
    # SMTPUTF8; the Unicode `normalized` form made smtplib fail mid-session.
    local, _at, domain = (valid.ascii_email or valid.normalized).rpartition("@")
    return Address(display_name=check_header(_("{name} display name", name=name), display), username=local,
                   domain=domain)


def mailbox(display_name: str | None, addr_spec: str, name: str = "To") -> Address:
    """One recipient built from its parts (a contact's name and email cells). The name is only
    ever a display name: "Eve <eve@evil.example>, Ana" is quoted, never parsed as addresses."""
    label = _("{name} display name", name=name)
    display = check_no_encoded_word(label, check_header(label, display_name or ""))
    return _valid_address(name, " ".join(display.split()), addr_spec)


def _parse(name: str, value: str, label: str | None = None) -> tuple[list[Address], bool]:
    """The addresses of a header as the standard library's mail reader sees them, and whether
    it found defects (a repaired typo, a stray word). `label` names it in messages (default `name`)."""
    label = label or name
    check_header(label, value)
    try:
        header = policy.default.header_factory(name, value)
        return list(header.addresses), bool(header.defects)
    except (IndexError, ValueError, TypeError):  # the parser fails on some inputs, e.g. "ana@"
        raise HeaderError(_("{name} holds no valid address: {value}", name=label, value=quoted(value))) from None


def check_mailbox(name: str, value: str, label: str | None = None) -> Address:
    """Exactly one address from a header-like cell (the Outbox's To), parsed as a mail reader
    would; a second address, a parsing defect or a repaired typo is refused, never guessed.
    `label` names it in messages (the cell's column, "Para"; default the header's `name`)."""
    label = label or name
    addresses, defects = _parse(name, value, label)
    # A group ("undisclosed: eve@example.com;") parses to the addresses inside it, and the To
    # sent would be them alone, not what the cell says: refused, with its own reason.
    groups = [g.display_name for g in policy.default.header_factory(name, value).groups if g.display_name is not None]
    if groups:
        raise HeaderError(_('{name} holds an address group, "{group}:" before its addresses and ";" after them, and a '
                            'group would go out with another To than the one typed: write the address alone: {value}',
                            name=label, group=groups[0], value=quoted(value)))
    if defects or len(addresses) != 1 or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        found = ", ".join(a.addr_spec for a in addresses if a.addr_spec) or _("none")
        raise HeaderError(_("{name} must hold exactly one valid address, found {found}: {value}", name=label,
                            found=found, value=quoted(value)))
    return _valid_address(label, addresses[0].display_name, addresses[0].addr_spec)


def check_addresses(name: str, value: str) -> list[Address]:
    """Parse a header holding one or more addresses ("Ana <ana@x.com>, bo@y.org"), validating
    each. Only for addresses from the config (From, the owners' digests); never for a cell."""
    addresses, defects = _parse(name, value)
    # An address the parser flags (non-ASCII before the @-sign) is named with its own reason
    # ("not supported" without SMTPUTF8), not only as a list that is not valid.
    checked = [_valid_address(name, a.display_name, a.addr_spec) for a in addresses if "@" in a.addr_spec]
    if defects or not addresses or any("@" not in a.addr_spec for a in addresses):
        raise HeaderError(_("{name} holds no valid list of addresses: {value}", name=name, value=quoted(value)))
    return checked


def message_id(token: str, domain: str) -> str:
    """A Message-ID made by sheetcrm before sending, so the row records it whatever happens next."""
    return f"<{token}@{domain}>"


def build_message(*, sender: str, to: str, subject: str, text: str, html: str | None, message_id: str,
                  date: dt.datetime, attachment_name: str | None = None) -> EmailMessage:
    """A message with a text part, an HTML alternative when `html` is given, and the HTML
    attached as a document when `attachment_name` is (a quote)."""
    msg = EmailMessage()
    msg["From"] = check_addresses("From", sender)
    # Named as the Outbox's columns are, in the team's language ("Para", "Asunto"): the reason
    # goes to a row's Error cell.
    label = pgettext("email", "To")
    msg["To"] = check_mailbox("To", check_no_encoded_word(label, check_header(label, to)), label)
    msg["Subject"] = check_no_encoded_word(_("Subject"), check_header(_("Subject"), subject))
    msg["Message-ID"] = check_message_id(message_id)
    msg["Date"] = format_datetime(date)
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
        if attachment_name is not None:
            # Bytes, so that it is a file and not a third alternative; the charset said, or a mail
            # reader takes text/html for US-ASCII and the euro sign arrives as mojibake.
            msg.add_attachment(html.encode("utf-8"), maintype="text", subtype="html",
                               filename=_check_file_name(attachment_name), params={"charset": "utf-8"})
    return msg


def _check_file_name(name: str) -> str:
    # A recipient's mail program may save the attachment under this name: only a plain one
    # (sheetcrm.mail.names.safe_stem makes them) is sent.
    if not _FILE_NAME.fullmatch(name):
        raise HeaderError(_("attachment name {value} is not a plain file name", value=quoted(name)))
    return name


def envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """The SMTP envelope (MAIL FROM, RCPT TO) of a built message."""
    sender = msg["From"].addresses[0].addr_spec
    return sender, [a.addr_spec for a in msg["To"].addresses]
