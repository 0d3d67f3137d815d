"""Sheet content never chooses a file path, a recipient or a header (issue 10, items 9 and 10):
hostile cells against `sheetcrm quote --out`, the Outbox and a real SMTP server on loopback."""

from __future__ import annotations

import os
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import config, crm_tabs
from sheetcrm.cli import main
from sheetcrm.mail.message import HeaderError, check_mailbox, mailbox
from sheetcrm.mail.names import MAX_STEM, UnsafePath, confined, safe_stem
from sheetcrm.sync import sync
from test_outbox_smtp import AS_OF, outbox_rows, queued_and_approved, send, set_cell, xlsx_book

HOSTILE_NAMES = ["/some/dir/index", "../../x", "..", ".", "...", "a/../../b", "..\\..\\win", "C:\\Windows\\x",
                 "CON", "con.html", "LPT1", "nul.tar.gz", "COM¹", ".bashrc", "-rf", "x" * 5000, "\x00evil",
                 "semi;colon|pipe`tick`$(rm)", "ñandú/é", "\u202eexe.html", "trailing. ", "  ", ""]


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_a_safe_stem_is_a_plain_name_in_the_folder(tmp_path, hostile):
    stem = safe_stem(hostile)
    assert stem and len(stem) <= MAX_STEM + 1
    assert all(c.isascii() and (c.isalnum() or c in "._-") for c in stem)
    assert not stem.startswith(".") and not stem.endswith((".", " "))
    assert stem.split(".")[0].upper() not in {"CON", "PRN", "AUX", "NUL", "LPT1", "COM1"}
    assert confined(tmp_path, f"{stem}.eml").parent == tmp_path.resolve()


def test_known_values_keep_their_readable_form():
    assert safe_stem("Q-2026-0001") == "Q-2026-0001"
    assert safe_stem("/some/dir/index") == "some_dir_index"
    assert safe_stem("../../x") == "x"
    assert safe_stem("CON") == "_CON" and safe_stem("") == "quote"


@pytest.mark.parametrize("name", ["../x.eml", "/etc/x.eml", "a/b.eml", "..", "link.eml"])
def test_confined_refuses_paths_out_of_the_folder(tmp_path, name):
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "elsewhere.eml", tmp_path / "out" / "link.eml")  # planted, pointing out
    with pytest.raises(UnsafePath):
        confined(tmp_path / "out", name)


def cli_env(tmp_path, book):
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    return ["--workbook", str(book.path), "--config", str(tmp_path / "c.toml")]


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("quote_cell", ["/some/dir/index", "../../x", "../out2/../../y", "CON", ".hidden",
                                        "x/" * 300 + "deep"])
def test_a_hostile_quote_cell_never_chooses_where_the_preview_goes(tmp_path, quote_cell):
    work = tmp_path / "work"
    work.mkdir()
    book = xlsx_book(work, crm_tabs())
    sync(book, config(), as_of=AS_OF)  # the tick queues OUT-0001 ...
    set_cell(book, "Quote", quote_cell)  # ... and someone types a path into its Quote cell
    args = cli_env(work, book)
    before = files_under(tmp_path)
    out = work / "prev"
    result = CliRunner().invoke(main, ["quote", "OPP-0001", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    new = files_under(tmp_path) - before
    assert {p.parent for p in new} == {out} and len(new) == 2
    assert not Path("/some/dir/index.eml").exists()
    msg = message_from_bytes(next(p for p in new if p.suffix == ".eml").read_bytes(), policy=policy.default)
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == f"{safe_stem(quote_cell)}.html"  # the recipient gets a plain name too


def test_a_hostile_opportunity_id_never_chooses_a_path_either(tmp_path):
    tabs = crm_tabs()
    tabs["Opportunities"][1][0] = "../../OPP-1"
    tabs["Quote Lines"][1][0] = tabs["Quote Lines"][2][0] = "../../OPP-1"
    book = xlsx_book(tmp_path, tabs)
    args = cli_env(tmp_path, book)
    before = files_under(tmp_path)
    result = CliRunner().invoke(main, ["quote", "../../OPP-1", "--out", str(tmp_path / "prev"), *args])
    assert result.exit_code == 0, result.output
    new = files_under(tmp_path) - before
    assert {p.parent for p in new} == {tmp_path / "prev"}
    assert all(p.name.startswith("OPP-1-") for p in new)


def test_previews_of_two_opportunities_do_not_overwrite_each_other(tmp_path):
    tabs = crm_tabs()
    tabs["Opportunities"].append(["OPP-0002", "Renewal", "ACC-0001", "CON-0001", "Marta", "Proposal", 900, "EUR",
                                  "", ""])
    tabs["Quote Lines"].append(["OPP-0002", "P2", 1, "", ""])
    book = xlsx_book(tmp_path, tabs)
    out = tmp_path / "prev"
    for opp in ("OPP-0001", "OPP-0002"):
        result = CliRunner().invoke(main, ["quote", opp, "--out", str(out), *cli_env(tmp_path, book)])
        assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 4 and [n[:8] for n in names] == ["OPP-0001", "OPP-0001", "OPP-0002", "OPP-0002"]
    totals = {p.name[:8]: p.read_text() for p in out.glob("*.html")}
    assert "2,509.06" in totals["OPP-0001"] and "2,509.06" not in totals["OPP-0002"]


# -- recipients and headers -----------------------------------------------------------------------

def test_a_first_name_full_of_addresses_is_only_a_display_name(tmp_path, server):
    tabs = crm_tabs()
    tabs["Contacts"][1][2] = "Eve <eve@evil.example>, Ana"
    book = queued_and_approved(lambda t: xlsx_book(tmp_path, t), tabs)
    assert send(book, server).sent == ["OUT-0001"]
    # At the server: one envelope recipient, the contact's address.
    assert server.inbox.envelopes == [("sales@example.com", ["ana@example.com"])]
    [msg] = server.inbox.messages
    [to] = msg["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Eve <eve@evil.example>, Ana Pérez", "ana@example.com")
    assert "eve@evil.example" not in {a.addr_spec for h in ("To", "Cc", "Bcc") for a in (msg[h].addresses if msg[h]
                                                                                         else ())}


@pytest.mark.parametrize("to_cell", ["Eve <eve@evil.example>, Ana <ana@example.com>",
                                     "ana@example.com, eve@evil.example", "ana@example.com eve@evil.example",
                                     "Ana <ana@example.com>\r\nBcc: eve@evil.example", "Pérez, Ana <ana@example.com>",
                                     "ana@example.com\x00eve@evil.example", "", "undisclosed: eve@evil.example;"])
def test_a_to_cell_must_hold_exactly_one_address(tmp_path, server, to_cell):
    book = queued_and_approved(lambda t: xlsx_book(tmp_path, t))
    set_cell(book, "To", to_cell)
    assert send(book, server).failed == ["OUT-0001"]
    assert server.inbox.messages == [] and server.inbox.envelopes == []
    assert outbox_rows(book)[0]["status"] == "Failed"


def test_an_encoded_word_in_a_name_to_or_subject_is_never_sent_decoded(tmp_path, server):
    # A contact's name holding an RFC 2047 encoded word ("=?utf-8?b?Sm9zw6k=?=" for "José",
    # pasted from a raw header) was written to To as typed and went out decoded: the customer
    # got "José Ñúñez", a name neither the Contacts tab nor the approved To cell showed (and a
    # base64 word can say anything). The quote is blocked at the deal's Contact cell instead.
    tabs = crm_tabs()
    tabs["Contacts"][1][2:4] = ["=?utf-8?b?Sm9zw6k=?=", "Ñúñez"]
    tabs["Opportunities"][1][1] = "Renewal =?utf-8?b?RnJlZSBpUGhvbmU=?="  # the Subject: "Renewal Free iPhone"
    book = xlsx_book(tmp_path, tabs)
    outcome = sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    name, subject = [i for i in outcome.crm.report.issues if i.code == "unsafe_header"]
    assert (name.tab, name.row, name.header) == ("Opportunities", 2, "Contact")
    assert '"=?utf-8?b?Sm9zw6k=?= Ñúñez", which a mail program shows as "José Ñúñez"' in name.message
    assert (subject.tab, subject.row, subject.header) == ("Opportunities", 2, "Name")
    assert 'shows as "Renewal Free iPhone"' in subject.message
    assert "=?…?=" in name.hint and "=?…?=" in subject.hint
    # A To cell edited to hold one fails its row at send time: no message leaves.
    (tmp_path / "two").mkdir()
    book = queued_and_approved(lambda t: xlsx_book(tmp_path / "two", t))
    set_cell(book, "To", "=?utf-8?q?Eve_=3Ceve=40evil=2Eexample=3E?= <ana@example.com>")
    assert send(book, server).failed == ["OUT-0001"]
    assert server.inbox.messages == [] and server.inbox.envelopes == []
    [row] = outbox_rows(book)
    assert row["status"] == "Failed" and 'shows as "Eve <eve@evil.example> <ana@example.com>"' in row["error"]
    # So does a Subject cell edited to hold one.
    set_cell(book, "To", "Ana Pérez <ana@example.com>")
    set_cell(book, "Subject", "Quote =?utf-8?b?RnJlZSBpUGhvbmU=?=")
    set_cell(book, "Status", "Approved")
    assert send(book, server).failed == ["OUT-0001"] and server.inbox.messages == []
    assert 'shows as "Quote Free iPhone"' in outbox_rows(book)[0]["error"]


@pytest.fixture
def google(monkeypatch):
    """Books on the Sheets emulator: unlike an .xlsx file (its writer drops them), a Google
    cell can hold control characters."""
    from sheetcrm.emulator import Emulator
    from sheetcrm.workbook.credentials import connect
    from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy

    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)

        def make(tabs):
            key = emu.create_spreadsheet("CRM", tabs)
            return GoogleSheetsWorkbook(connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None)).client,
                                        key)
        yield make


@pytest.mark.parametrize("first_name", ["Ana\x1b[2J", "Ana\x07", "Ana\rBcc: eve@evil.example", "Ana\u2028X",
                                        "Ana\x00", "Ana\x85X"])
def test_control_characters_in_a_contact_name_block_the_quote_at_its_cell(google, first_name):
    tabs = crm_tabs()
    tabs["Contacts"][1][2] = first_name
    book = google(tabs)
    assert book.read().tabs["Contacts"].rows[1][2] == first_name
    for _ in range(2):  # blocked, and the second sync writes nothing: no burnt quote number
        outcome = sync(book, config(), as_of=AS_OF)
    assert not outcome.plan.writes
    assert "Outbox" not in book.read().tabs
    [issue] = [i for i in outcome.crm.report.issues if i.code == "unsafe_header"]
    assert (issue.tab, issue.row, issue.header) == ("Opportunities", 2, "Contact")


@pytest.mark.parametrize("column, value", [
    ("Subject", "Quote\x00\x1b]0;pwned\x07"), ("Subject", "Quote\u2029Bcc: eve@evil.example"),
    ("Subject", "Quote\x7f"), ("Message-ID", "<OUT-0001.x@y>\nBcc: eve@evil.example"),
    ("Message-ID", "<OUT-0001.a@b> <c@d>"), ("Message-ID", "<OUT-0001.not-an-id"),
])
def test_every_sheet_derived_header_is_checked_at_send_time(google, server, column, value):
    # (A Message-ID cell is used at all only when it looks made for its row: below.)
    book = queued_and_approved(google)
    set_cell(book, column, value)
    assert send(book, server).failed == ["OUT-0001"] and server.inbox.messages == []
    [row] = outbox_rows(book)
    assert row["status"] == "Failed" and column in row["error"]


@pytest.mark.parametrize("value", ["<x@y>\nBcc: eve@evil.example", "<a@b> <c@d>", "not-an-id",
                                   "<OUT-0002.t0@example.com>"])
def test_a_message_id_cell_not_made_for_its_row_is_never_used(google, server, value):
    # Not sheetcrm's for this row (`<OUT-0001.…>`): the row gets a Message-ID made for it,
    # and nothing of the cell reaches the message or its envelope.
    book = queued_and_approved(google)
    set_cell(book, "Message-ID", value)
    assert send(book, server).sent == ["OUT-0001"]
    [msg] = server.inbox.messages
    assert msg["Message-ID"].startswith("<OUT-0001.") and server.inbox.envelopes[0][1] == ["ana@example.com"]
    assert "evil" not in msg.as_string() and "<c@d>" not in msg.as_string()
    assert outbox_rows(book)[0]["message_id"] == msg["Message-ID"]


def test_an_edited_quote_cell_is_never_sent_nor_named_as_a_path(google, server):
    # The Quote number is sheetcrm's (sealed with the row): an edited one is refused outright,
    # and the attachment's name would come only through safe_stem anyway.
    from sheetcrm.mail.names import safe_stem

    book = queued_and_approved(google)
    set_cell(book, "Quote", "../../Q\x1b[31m")
    report = send(book, server)
    assert report.failed == ["OUT-0001"] and server.inbox.messages == []
    assert "Seal does not match" in report.details["OUT-0001"]
    assert safe_stem("../../Q\x1b[31m") == "Q_31m"


def test_an_address_no_quote_can_go_to_is_said_as_that_at_the_contacts_email_cell(tmp_path):
    """"josé@example.com" is a valid address in the Contacts tab, but a quote goes out without
    SMTPUTF8: the quote is blocked saying why, naming the contact's Email cell, in the team's
    language: not as a line break to remove, nor in the validator's English."""
    tabs = crm_tabs()
    tabs["Contacts"][1][4] = "josé@example.com"
    book = xlsx_book(tmp_path, tabs)
    for locale, reason in (("en", "Internationalized characters before the @-sign are not supported: 'é'."),
                           ("es", "No se admiten caracteres internacionales antes de la arroba: 'é'.")):
        outcome = sync(book, config(locale=locale), as_of=AS_OF)
        [issue] = [i for i in outcome.crm.report.issues if i.tab == "Opportunities"]
        assert (issue.code, issue.row, issue.header, issue.value) == ("bad_email", 2, "Contact", "CON-0001")
        assert '"josé@example.com" (Contacts!E2)' in issue.message and issue.message.endswith(reason)
        assert "line break" not in issue.hint and "salto de línea" not in issue.hint
    assert outbox_rows(book) == []
