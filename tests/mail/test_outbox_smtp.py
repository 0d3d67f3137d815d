"""The Outbox against a real SMTP server on loopback (aiosmtpd): exactly once, on .xlsx and Google."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from conftest import NOW, Server, config, crm_tabs
from sheetcrm.emulator import Emulator
from sheetcrm.mail.context import charges_of
from sheetcrm.mail.outbox import SetupError, read_outbox, send_outbox
from sheetcrm.mail.smtp import SmtpSender
from sheetcrm.mail.templates import Templates
from sheetcrm.plan import tab_writes
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = NOW.date()


def xlsx_book(tmp_path, tabs):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    plan = Plan(new_tabs=list(tabs))
    for title, rows in tabs.items():
        plan.writes.extend(tab_writes(title, None, rows))
    book.write(plan)
    return book


@pytest.fixture(params=["xlsx", "google"])
def make_book(request, tmp_path, monkeypatch):
    if request.param == "xlsx":
        yield lambda tabs: xlsx_book(tmp_path, tabs)
        return
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)

        def make(tabs):
            key = emu.create_spreadsheet("CRM", tabs)
            conn = connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None))
            return GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com")
        yield make


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def send(book, server: Server, clock: Clock | None = None, cfg=None, **settings):
    s = server.settings(**settings)
    tokens = iter(range(1000))
    return send_outbox(book, cfg or config(), s, Templates(), lambda: SmtpSender(s), clock or Clock(),
                       lambda: f"t{next(tokens)}")


def outbox_rows(book) -> list[dict]:
    return [{k: r.text(k) for k in r.raw} for r in read_outbox(book.read(), "en").rows]


def set_cell(book, header: str, value, row: int = 2, tab: str = "Outbox") -> None:
    """A person edits a cell (no guard: people are not compare-and-set)."""
    grid = book.read().tabs[tab]
    col = [str(h) for h in grid.header].index(header) + 1
    book.write(Plan(writes=[CellWrite(tab, row, col, value)]))


def queued_and_approved(make_book, tabs=None):
    book = make_book(tabs or crm_tabs())
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Status", "Approved")
    return book


def test_tick_queues_once_and_an_approved_quote_arrives_once(make_book, server):
    book = make_book(crm_tabs())
    sync(book, config(), as_of=AS_OF)
    sync(book, config(), as_of=AS_OF)  # the tick is still there: the same version is not queued twice
    [draft] = outbox_rows(book)
    assert (draft["id"], draft["status"], draft["opportunity"], draft["quote"]) == ("OUT-0001", "Draft", "OPP-0001",
                                                                                    "Q-2026-0001")
    assert draft["to"] == "Ana Pérez <ana@example.com>"
    assert send(book, server).sent == [] and server.inbox.messages == []  # a Draft is never sent

    set_cell(book, "Status", "Approved")
    report = send(book, server)
    assert report.sent == ["OUT-0001"]
    [msg] = server.inbox.messages
    assert server.inbox.envelopes == [("sales@example.com", ["ana@example.com"])]
    assert msg.get_content_type() == "multipart/mixed"
    assert msg["Subject"] == "Quote Q-2026-0001 – Expansion"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Total: €2,509.06" in text and "€2,509.06" in html and "€378.19" in html and "€30.00" in html
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == "Q-2026-0001.html"

    [row] = outbox_rows(book)
    assert (row["status"], row["message_id"], row["sent_at"], row["attempts"]) == (
        "Sent", msg["Message-ID"], "2026-11-23T09:00:00Z", "1")
    activities = book.read().tabs["Activities"].rows
    assert activities[-1][:5] == ["ACT-0008", activities[-1][1], "Email", "Quote Q-2026-0001 – Expansion", "OPP-0001"]
    assert "Q-2026-0001" in activities[-1][6] and msg["Message-ID"] in activities[-1][6]
    opportunities = book.read().tabs["Opportunities"]
    assert opportunities.rows[1][opportunities.header.index("Send Quote")] == "yes"  # the tick stays

    assert not any(vars(send(book, server)).values())  # a re-run sends nothing
    sync(book, config(), as_of=AS_OF)
    assert len(server.inbox.messages) == 1 and len(outbox_rows(book)) == 1
    assert ["ACT", 8] in [list(r[:2]) for r in book.read().tabs["_sheetcrm"].rows]


def test_server_down_keeps_the_row_and_it_is_sent_once_when_back(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    clock = Clock()
    server.stop()
    report = send(book, server, clock)
    assert report.retrying == ["OUT-0001"]
    [row] = outbox_rows(book)
    assert (row["status"], row["attempts"], row["next_try"]) == ("Approved", "1", "2026-11-23T09:01:00Z")
    assert "cannot reach 127.0.0.1" in row["error"] and "retrying after 2026-11-23T09:01:00Z" in row["error"]
    first_id = row["message_id"]

    server.start()
    assert not send(book, server, clock).sent  # not due yet: the backoff holds
    clock.advance(seconds=61)
    assert send(book, server, clock).sent == ["OUT-0001"]
    assert send(book, server, clock).sent == []
    [msg] = server.inbox.messages
    [row] = outbox_rows(book)
    assert row["status"] == "Sent" and row["attempts"] == "2" and row["error"] == ""
    assert msg["Message-ID"] == first_id  # the same Message-ID on every try


def test_4xx_is_retried_with_backoff_and_5xx_fails_with_the_reply(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    clock = Clock()
    server.inbox.reply = "451 4.3.0 Mailbox busy, try later"
    assert send(book, server, clock).retrying == ["OUT-0001"]
    clock.advance(seconds=61)
    assert send(book, server, clock).retrying == ["OUT-0001"]
    [row] = outbox_rows(book)
    assert row["status"] == "Approved" and row["attempts"] == "2" and "451 4.3.0 Mailbox busy" in row["error"]
    assert row["next_try"] == "2026-11-23T09:03:01Z"  # 60 s, then 120 s

    clock.advance(seconds=120)
    server.inbox.reply = "550 5.7.1 Relaying denied"
    assert send(book, server, clock).failed == ["OUT-0001"]
    [row] = outbox_rows(book)
    assert (row["status"], row["error"]) == ("Failed", "550 5.7.1 Relaying denied")
    server.inbox.reply = None
    clock.advance(hours=2)
    assert not send(book, server, clock).sent and server.inbox.messages == []


def test_transient_errors_give_up_after_max_attempts(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    server.inbox.reply = "421 4.7.0 Try again later"
    assert send(book, server, max_attempts=1).failed == ["OUT-0001"]
    [row] = outbox_rows(book)
    assert row["status"] == "Failed" and row["error"].startswith("gave up after 1 try: 421")


def test_a_crash_after_the_server_accepted_leaves_sending_and_is_never_resent(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    s = server.settings()

    class CrashAfterSend(SmtpSender):
        def send(self, msg):
            super().send(msg)
            raise KeyboardInterrupt("power cut")

    with pytest.raises(KeyboardInterrupt):
        send_outbox(book, config(), s, Templates(), lambda: CrashAfterSend(s), Clock(), lambda: "t")
    assert len(server.inbox.messages) == 1
    [row] = outbox_rows(book)
    assert row["status"] == "Sending" and row["message_id"] == server.inbox.messages[0]["Message-ID"]

    report = send(book, server)
    assert [r.text("id") for r in report.stuck] == ["OUT-0001"] and report.sent == []
    assert len(server.inbox.messages) == 1


def test_a_persons_concurrent_change_wins_over_the_claim(tmp_path, server):
    inner = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))

    class PersonEditsFirst:
        """Between sheetcrm's read and its claim, a person sets the row back to Draft."""

        def __init__(self, book):
            self.book, self.edited, self.path = book, False, book.path

        def read(self):
            return self.book.read()

        def write(self, plan):
            if not self.edited:
                self.edited = True
                set_cell(self.book, "Status", "Draft")
            return self.book.write(plan)

    report = send(PersonEditsFirst(inner), server)
    assert report.changed == ["OUT-0001"] and report.sent == []
    assert server.inbox.messages == []
    [row] = outbox_rows(inner)
    assert (row["status"], row["message_id"], row["attempts"]) == ("Draft", "", "0")


def copy_row(book, row: int, to_row: int, **cells) -> None:
    """A person copies an Outbox row to another row, changing some cells (by header)."""
    grid = book.read().tabs["Outbox"]
    header = [str(h) for h in grid.header]
    values = list(grid.rows[row - 1]) + [None] * (len(header) - len(grid.rows[row - 1]))
    for name, value in cells.items():
        values[header.index(name)] = value
    book.write(Plan(writes=[CellWrite("Outbox", to_row, c + 1, v) for c, v in enumerate(values) if v is not None]))


def test_a_copied_quote_row_is_never_sent_nor_marked_with_another_rows_message(make_book, server):
    """A Draft copied to a new row (to send the quote to the CFO, under a number of the
    person's own) was sent: Q-2026-0099 went out, a number sheetcrm never issued, and the real
    row, approved later, was set to Sent with the copy's Message-ID though Ana got nothing."""
    book = make_book(crm_tabs())
    sync(book, config(), as_of=AS_OF)
    assert outbox_rows(book)[0]["seal"].startswith("s1-")
    copy_row(book, 2, 3, ID="OUT-0002", To="cfo@elsewhere.example", Status="Approved", Quote="Q-2026-0099")
    report = send(book, server)
    assert report.failed == ["OUT-0002"] and server.inbox.messages == []
    assert "not a row sheetcrm queued" in report.details["OUT-0002"]

    set_cell(book, "Status", "Approved")
    assert send(book, server).sent == ["OUT-0001"]
    assert server.inbox.envelopes == [("sales@example.com", ["ana@example.com"])]
    first, copy = outbox_rows(book)
    assert (first["status"], copy["status"], copy["message_id"], copy["sent_at"]) == ("Sent", "Failed", "", "")

    # Copied again after the quote went out, the quote's own number kept: not set to Sent
    # with OUT-0001's message (the journal holds the version), refused as a copy.
    copy_row(book, 2, 4, ID="OUT-0003", To="cfo@elsewhere.example", Status="Approved", **{"Message-ID": None})
    report = send(book, server)
    assert report.failed == ["OUT-0003"] and report.restored == [] and len(server.inbox.messages) == 1
    assert outbox_rows(book)[2]["message_id"] == ""


def test_an_approved_row_with_no_quote_number_is_failed_saying_why_not_left_waiting(tmp_path, server):
    """A quote's row whose Quote was cleared (or a row a person typed, with an ID): never sent,
    as before, but it sat at Approved while `outbox send` listed it as "waiting until  (no
    error); `sheetcrm outbox send --now` sends it now", which it never did."""
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Status", "Approved")
    set_cell(book, "Quote", None)
    copy_row(book, 2, 3, ID="OUT-0002", Status="Approved", Quote=None, Version="mine", Seal="s1-mine")
    report = send(book, server)
    assert report.failed == ["OUT-0001", "OUT-0002"] and report.waiting == [] and server.inbox.messages == []
    assert all("neither a Quote number nor a workflow's Version" in report.details[r] for r in report.failed)
    assert [r["status"] for r in outbox_rows(book)] == ["Failed", "Failed"]


def test_rows_sharing_an_id_are_all_refused(make_book, server):
    book = make_book(crm_tabs())
    sync(book, config(), as_of=AS_OF)
    copy_row(book, 2, 3, To="cfo@elsewhere.example", Status="Approved")  # the same ID, OUT-0001
    set_cell(book, "Status", "Approved")
    report = send(book, server)
    assert report.failed == ["OUT-0001", "OUT-0001"] and server.inbox.messages == []
    assert all("rows 2, 3 of the Outbox all have the ID OUT-0001" in r["error"] for r in outbox_rows(book))


def test_a_quote_row_whose_quote_number_was_edited_is_not_sent(make_book, server):
    book = make_book(crm_tabs())
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Quote", "Q-2026-0002")
    set_cell(book, "Status", "Approved")
    assert send(book, server).failed == ["OUT-0001"] and server.inbox.messages == []


def test_header_injection_through_the_subject_cell_is_refused(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    set_cell(book, "Subject", "Quote\r\nBcc: everyone@example.com")
    assert send(book, server).failed == ["OUT-0001"]
    assert server.inbox.messages == []
    [row] = outbox_rows(book)
    assert row["status"] == "Failed" and "line break" in row["error"]


def test_a_line_break_in_the_opportunity_name_blocks_queueing(tmp_path):
    tabs = crm_tabs()
    tabs["Opportunities"][1][1] = "Expansion\nBcc: x@example.com"
    book = xlsx_book(tmp_path, tabs)
    outcome = sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    assert [i.code for i in outcome.crm.report.issues if i.tab == "Opportunities"] == ["unsafe_header"]


def test_a_quote_changed_after_approval_is_not_sent(tmp_path, server):
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    set_cell(book, "Quantity", 5, tab="Quote Lines")
    assert send(book, server).failed == ["OUT-0001"]
    assert server.inbox.messages == []
    assert "the quote changed since this row was queued" in outbox_rows(book)[0]["error"]
    sync(book, config(), as_of=AS_OF)  # the tick queues the new version
    assert [(r["id"], r["quote"], r["status"]) for r in outbox_rows(book)] == [
        ("OUT-0001", "Q-2026-0001", "Failed"), ("OUT-0002", "Q-2026-0002", "Draft")]


def _queued_before_tax_per_rate(tmp_path, status):
    """A quote queued by a sheetcrm that rounded tax per line: its row carries that version
    (and a Seal made with it), at `status`. Three €0.10 lines at 25%: then €0.39, now €0.38."""
    from sheetcrm.mail.outbox import Desk, seal
    from sheetcrm.mail.context import find_opportunity
    tabs = crm_tabs(**{"Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                                    ["A", "Item A", 0.10, "EUR", 25]],
                       "Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                                       *[["OPP-0001", "A", 1, "", ""]] * 3]})
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    desk = Desk.read(book.read(), config())
    result = desk.quote(find_opportunity(desk.crm, "OPP-0001"))
    before, now = desk.version(result, per_line=True), desk.version(result)
    assert before != now and result.quote.totals.total == D("0.38")
    set_cell(book, "Version", before)
    set_cell(book, "Seal", seal("OUT-0001", "OPP-0001", "Q-2026-0001", before))
    set_cell(book, "Status", status)
    return book, before, now


def test_a_quote_sent_while_tax_was_rounded_per_line_is_not_queued_again_by_its_tick(tmp_path, server):
    """Charging tax per rate changes the version of a quote whose total it changes; the tick
    left on a deal whose quote went out at the old version must not make a second quote."""
    from sheetcrm.mail.outbox import Desk, plan_queue
    from sheetcrm.mail.context import find_opportunity
    book, before, now = _queued_before_tax_per_rate(tmp_path, "Sent")
    sync(book, config(), as_of=AS_OF)
    assert [(r["id"], r["status"], r["version"]) for r in outbox_rows(book)] == [("OUT-0001", "Sent", before)]
    assert not any(vars(send(book, server)).values()) and server.inbox.messages == []
    # The journal alone (the row taken away by an older copy of the tab) holds it back too.
    desk = Desk.read(book.read(), config())
    desk.outbox.rows.clear()
    opp = find_opportunity(desk.crm, "OPP-0001")
    [held] = plan_queue(desk, [opp], Plan(), "2026-11-24", 2026, frozenset({before}), ticked=True)
    assert held.outcome == "already"
    # A person asking (`sheetcrm quote OPP-0001 --queue`) queues the current quote.
    desk = Desk.read(book.read(), config())
    [asked] = plan_queue(desk, [find_opportunity(desk.crm, "OPP-0001")], Plan(), "2026-11-24", 2026)
    assert (asked.outcome, asked.version) == ("queued", now)


def test_a_quote_approved_while_tax_was_rounded_per_line_fails_and_its_tick_queues_the_new_one(tmp_path, server):
    book, before, now = _queued_before_tax_per_rate(tmp_path, "Approved")
    assert send(book, server).failed == ["OUT-0001"]
    assert server.inbox.messages == []  # never a total other than the one approved
    assert f"version {before}, now {now}" in outbox_rows(book)[0]["error"]
    sync(book, config(), as_of=AS_OF)
    # A new row's Version carries its templates' text after "~" (docs/quotes.md): its quote's part.
    assert [(r["id"], r["status"], charges_of(r["version"])) for r in outbox_rows(book)] == [
        ("OUT-0001", "Failed", before), ("OUT-0002", "Draft", now)]


def test_a_contact_or_account_changed_after_approval_is_not_sent(tmp_path, server):
    # The deal's Contact changed from Ana to Bob after Ana's row was approved: the email went to
    # Ana (the To cell) saying "Hello Bob", with Bob's address in the attached quote.
    tabs = crm_tabs()
    tabs["Contacts"].append(["CON-0002", "ACC-0001", "Bob", "Stone", "bob@other.example"])
    book = queued_and_approved(lambda t: xlsx_book(tmp_path, t), tabs)
    set_cell(book, "Contact", "CON-0002", tab="Opportunities")
    assert send(book, server).failed == ["OUT-0001"] and server.inbox.messages == []
    assert "the quote changed since this row was queued" in outbox_rows(book)[0]["error"]
    sync(book, config(), as_of=AS_OF)  # the tick queues the quote for Bob, for a person to approve
    assert [(r["id"], r["to"], r["status"]) for r in outbox_rows(book)] == [
        ("OUT-0001", "Ana Pérez <ana@example.com>", "Failed"), ("OUT-0002", "Bob Stone <bob@other.example>", "Draft")]
    # The account's name the quote shows counts the same; a column no template shows does not.
    set_cell(book, "Status", "Approved", row=3)
    set_cell(book, "Name", "Acme Holdings", tab="Accounts")
    assert send(book, server).failed == ["OUT-0002"] and server.inbox.messages == []
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Status", "Approved", row=4)
    set_cell(book, "Stage", "Negotiation", tab="Opportunities")
    set_cell(book, "Country", "FR", tab="Accounts")
    assert send(book, server).sent == ["OUT-0003"]
    [msg] = server.inbox.messages
    assert msg["To"] == "Bob Stone <bob@other.example>"
    assert msg.get_body(("plain",)).get_content().startswith("Hello Bob,")
    assert "Acme Holdings" in msg.get_body(("html",)).get_content()


def test_a_wrong_password_is_a_setup_failure_that_never_shows_and_the_row_waits(tmp_path):
    server = Server(password="right-pw")
    server.start()
    try:
        book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
        with pytest.raises(SetupError) as failed:
            send(book, server, user="quotes", password="wrong-pw-123")
        line = str(failed.value)
        assert "refused the login (535" in line and "[smtp] user" in line and "PASSWORD" in line
        assert failed.value.report.held == ["OUT-0001"] and failed.value.report.retrying == []
        cells = [str(v) for grid in book.read().tabs.values() for r in grid.rows for v in r]
        assert not [c for c in cells if "wrong-pw-123" in c]
        [row] = outbox_rows(book)
        # Not the message's fault: it waits at Approved, due at once, with no try counted.
        assert (row["status"], row["next_try"], row["attempts"]) == ("Approved", "", "0")
        assert row["error"] == f"not sent: {line}"
        report = send(book, server, Clock(), user="quotes", password="right-pw")
        assert report.sent == ["OUT-0001"] and len(server.inbox.messages) == 1
    finally:
        server.stop()


def test_jpy_quote_in_spanish_arrives_with_spanish_amounts(tmp_path, server):
    tabs = crm_tabs(Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "Kit", 123456, "JPY", 10],
                              ["P2", "Extra", 1000, "EUR", 21]],
                    Rates=[["Currency", "Rate"], ["JPY", 0.0062]])
    tabs["Opportunities"][1][7] = "JPY"
    tabs["Quote Lines"] = [tabs["Quote Lines"][0], ["OPP-0001", "P1", 2, "", 10]]
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(locale="es"), as_of=AS_OF)
    set_cell(book, "Estado", "Aprobado", tab="Bandeja de salida")
    assert send(book, server, cfg=config(locale="es")).sent == ["OUT-0001"]
    [msg] = server.inbox.messages
    text = msg.get_body(("plain",)).get_content()
    # 2 × 123456 = 246912, 10% off = 222220.8 → 222221; its 10% tax 22222.1 → 22222; no yen fractions.
    assert "Total: 244.443\xa0JPY" in text and "IVA 10\xa0%: 22.222\xa0JPY" in text  # "63,2 %" (README)
    assert msg["Subject"] == "Presupuesto Q-2026-0001 – Expansion"


def test_a_sort_just_before_the_claim_lands_sends_nothing_twice(tmp_path, server, monkeypatch):
    # A person sorts the Outbox between the claim's re-read of its key column and its
    # batchUpdate, so the claim lands on another row: the read-back puts that row back and
    # re-aims the claim (docs/concurrency.md; more in test_outbox_window.py).
    tabs = crm_tabs()
    tabs["Opportunities"].append(["OPP-0002", "Renewal", "ACC-0001", "CON-0001", "Marta", "Proposal", 900, "EUR",
                                  "yes", ""])
    tabs["Quote Lines"].append(["OPP-0002", "P2", 1, "", ""])
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", tabs)
        book = GoogleSheetsWorkbook(connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None)).client, key)
        sync(book, config(), as_of=AS_OF)
        emu.set_values(key, "'Outbox'!F2", [["Approved"]], value_input="RAW")  # OUT-0001; OUT-0002 stays Draft

        def sort_in_the_window(e):
            last = e.requests[-1] if e.requests else None
            if last is not None and "FORMULA" in last.query.get("valueRenderOption", []):
                e.sort_rows(key, "Outbox", 0, descending=True)
            else:
                e.between_requests(sort_in_the_window)

        emu.between_requests(sort_in_the_window)
        first = send(book, server)
        assert first.sent == ["OUT-0001"] and first.changed == [] and len(server.inbox.messages) == 1
        assert {r["id"]: r["status"] for r in outbox_rows(book)} == {"OUT-0001": "Sent", "OUT-0002": "Draft"}
        assert not any(vars(send(book, server)).values()) and len(server.inbox.messages) == 1


@pytest.mark.parametrize("fault", ["line break in the name", "bad line", "no email"])
def test_a_blocked_ticked_quote_is_reported_once_without_writes_or_numbers(make_book, fault):
    # issue 10, item 12: a blocked quote used to take a quote number (and write _sheetcrm) at
    # every sync. Everything that blocks is now checked before the number is taken.
    tabs = crm_tabs()
    if fault == "line break in the name":
        tabs["Opportunities"][1][1] = "Expansion\nBcc: x@example.com"
    elif fault == "bad line":
        tabs["Quote Lines"].append(["OPP-0001", "P1", -2, "", ""])
    else:
        tabs["Contacts"][1][4] = ""
    book = make_book(tabs)
    first = sync(book, config(), as_of=AS_OF)
    blocked = [i for i in first.crm.report.issues if i.code in ("unsafe_header", "negative_quantity", "no_recipient")]
    assert len(blocked) == 1
    for _ in range(2):
        again = sync(book, config(), as_of=AS_OF)
        assert not again.plan.writes and again.result is None  # nothing written, the issue unchanged
    marks = {r[0]: r[1] for r in book.read().tabs["_sheetcrm"].rows[1:]}
    assert "Q-2026" not in marks and "Outbox" not in book.read().tabs
    validation = book.read().tabs["Validation"].rows
    message = validation[0].index("Message")
    assert [r[message] for r in validation].count(blocked[0].message) == 1

    # Fixed: the quote takes the first number, none was burnt meanwhile.
    if fault == "line break in the name":
        set_cell(book, "Name", "Expansion", tab="Opportunities")
    elif fault == "bad line":
        set_cell(book, "Quantity", 2, row=4, tab="Quote Lines")
    else:
        set_cell(book, "Email", "ana@example.com", tab="Contacts")
    sync(book, config(), as_of=AS_OF)
    assert [r["quote"] for r in outbox_rows(book)] == ["Q-2026-0001"]


def test_days_cut_from_utc_moments_are_the_team_days(tmp_path, server):
    # 03:00 UTC is 22:00 the day before in New York: the quote's date (Created, written in UTC
    # as `sheetcrm quote --queue` writes it), the Email activity's Date and the day a workflow
    # counts an unanswered quote from are the team's day, 2026-11-23, not UTC's 2026-11-24.
    from sheetcrm.mail.outbox import sent_quotes

    cfg = config(timezone="America/New_York")
    book = queued_and_approved(lambda tabs: xlsx_book(tmp_path, tabs))
    set_cell(book, "Created", "2026-11-24T03:00:00Z")
    clock = Clock()
    clock.now = dt.datetime(2026, 11, 24, 3, 0, tzinfo=dt.timezone.utc)
    assert send(book, server, clock, cfg).sent == ["OUT-0001"]
    [msg] = server.inbox.messages
    html = msg.get_body(("html",)).get_content()
    assert "Date: November 23, 2026" in html
    activity = book.read().tabs["Activities"].rows[-1]
    assert activity[2] == "Email" and activity[1] in (dt.datetime(2026, 11, 23), dt.date(2026, 11, 23))
    assert [day for _id, _opp, day in sent_quotes(read_outbox(book.read(), "en"), cfg)] == [dt.date(2026, 11, 23)]
    assert outbox_rows(book)[0]["sent_at"] == "2026-11-24T03:00:00Z"  # the moment itself stays in UTC


def test_an_approved_quote_whose_deal_row_was_copied_says_two_rows_have_its_id_not_not_found(make_book, server):
    """Was: "opportunity OPP-0001 not found" when a person copied the deal's row (both rows with
    OPP-0001, each a duplicate_id error): the deal is there, twice, and the Error sent the person
    looking for a missing one."""
    book = queued_and_approved(make_book)
    deal = book.read().tabs["Opportunities"].rows[1]
    book.write(Plan(writes=[CellWrite("Opportunities", 3, c + 1, v) for c, v in enumerate(deal)]))
    report = send(book, server)
    assert (report.sent, report.failed) == ([], ["OUT-0001"])
    assert report.details["OUT-0001"] == (
        "opportunity OPP-0001 names more than one row (OPP-0001 (row 2), OPP-0001 (row 3)), so which deal this "
        "quote is for cannot be told; give each row its own ID, then set Status to Approved again")
    [row] = outbox_rows(book)
    assert (row["status"], row["error"]) == ("Failed", report.details["OUT-0001"])
    assert server.inbox.messages == []

    set_cell(book, "Status", "Aprobado")
    report = send(book, server, cfg=config(locale="es"))
    assert report.details["OUT-0001"].startswith("la oportunidad OPP-0001 nombra más de una fila (OPP-0001 (fila 2), "
                                                 "OPP-0001 (fila 3))")
