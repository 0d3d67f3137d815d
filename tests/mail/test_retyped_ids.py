"""An ID retyped in another case or with stray spaces ("opp-0001" over OPP-0001, "OPP-0001\u00a0")
names the same record everywhere the mail keeps state from one sync to the next: the quote's
version and its Outbox rows, the rows approved, the journal, a workflow email's firing, the
digest's events. Real .xlsx files, a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt

from conftest import NOW, config, crm_tabs
from sheetcrm.mail.digest import EventJournal, owner_digests, send_digests
from sheetcrm.mail.outbox import read_outbox, seal, send_outbox, templates_for
from sheetcrm.mail.smtp import SmtpSender
from sheetcrm.mail.templates import Templates
from sheetcrm.sync import plan_sync, sync
from sheetcrm.workbook import CellWrite, Plan
from test_outbox_smtp import xlsx_book as outbox_book
from test_workflow_mail import body, cfg, make, rule

AS_OF = NOW.date()


def xlsx_book(tmp_path, tabs):
    tmp_path.mkdir(parents=True, exist_ok=True)  # the tests keep a book per sub-folder
    return outbox_book(tmp_path, tabs)


def send(book, server):
    s = server.settings()
    tokens = iter(range(1000))
    return send_outbox(book, config(), s, Templates(), lambda: SmtpSender(s), lambda: NOW, lambda: f"t{next(tokens)}")


def outbox_rows(book) -> list[dict]:
    return [{k: r.text(k) for k in r.raw} for r in read_outbox(book.read(), "en").rows]


def set_cell(book, tab: str, header: str, row: int, value) -> None:
    """A person types over a cell."""
    grid = book.read().tabs[tab]
    col = [str(h) for h in grid.header].index(header) + 1
    book.write(Plan(writes=[CellWrite(tab, row, col, value)]))


def retype(book, deal_id: str, line_ids: tuple[str, str]) -> None:
    set_cell(book, "Opportunities", "ID", 2, deal_id)
    for row, text in enumerate(line_ids, start=2):
        set_cell(book, "Quote Lines", "Opportunity", row, text)


def approve_drafts(book) -> None:
    for n, r in enumerate(outbox_rows(book), start=2):
        if r["status"] == "Draft":
            set_cell(book, "Outbox", "Status", n, "Approved")


def quote_mark(book) -> int:
    return next(r[1] for r in book.read().tabs["_sheetcrm"].rows if r[0] == "Q-2026")


def test_a_deal_id_retyped_in_another_case_or_with_stray_spaces_is_the_same_quote_and_goes_out_once(tmp_path, server):
    """Was: "opp-0001" typed over OPP-0001 made the tick queue a second quote (Q-2026-0002, a
    new version), which a person approving the Drafts sent a second time."""
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, config(), as_of=AS_OF)
    approve_drafts(book)
    assert send(book, server).sent == ["OUT-0001"]
    for deal_id, lines in (("opp-0001", ("opp-0001", "OPP-0001\u00a0")), ("Opp-0001", ("  opp-0001 ", "oPP-0001"))):
        retype(book, deal_id, lines)
        sync(book, config(), as_of=AS_OF + dt.timedelta(days=1))
        assert [(r["id"], r["quote"], r["status"]) for r in outbox_rows(book)] == [("OUT-0001", "Q-2026-0001", "Sent")]
        assert quote_mark(book) == 1  # no quote number burnt
        approve_drafts(book)
        assert send(book, server).sent == []
    assert len(server.inbox.messages) == 1


def test_a_quote_approved_before_its_deal_id_was_retyped_is_sent_not_failed(tmp_path, server):
    """Was: Failed, "the quote changed since this row was queued", though nothing it charges or
    shows changed but the case of an ID."""
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, config(), as_of=AS_OF)
    approve_drafts(book)
    retype(book, "opp-0001", ("opp-0001", "Opp-0001"))
    report = send(book, server)
    assert (report.sent, report.failed) == (["OUT-0001"], [])
    [msg] = server.inbox.messages
    assert msg["Subject"] == "Quote Q-2026-0001 – Expansion"
    sync(book, config(), as_of=AS_OF)
    assert [(r["id"], r["status"]) for r in outbox_rows(book)] == [("OUT-0001", "Sent")]


# The version sheetcrm gave this quote (crm_tabs with the export's ID "Deal-17b") before IDs were
# compared as the read compares them: rows queued then carry it, and their Seals were made with it.
DEAL_17B_BEFORE = "fa72c5555f2f"


def _deal_17b(tmp_path, status):
    tabs = crm_tabs()
    tabs["Opportunities"][1][0] = "Deal-17b"
    for line in tabs["Quote Lines"][1:]:
        line[0] = "Deal-17b"
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Outbox", "Version", 2, DEAL_17B_BEFORE)
    set_cell(book, "Outbox", "Seal", 2, seal("OUT-0001", "Deal-17b", "Q-2026-0001", DEAL_17B_BEFORE))
    set_cell(book, "Outbox", "Status", 2, status)
    return book


def test_a_row_queued_before_for_an_export_id_not_in_capitals_is_still_its_quote_after_a_retype(tmp_path, server):
    book = _deal_17b(tmp_path, "Sent")
    retype(book, "DEAL-17B", ("deal-17b", "DEAL-17B"))
    sync(book, config(), as_of=AS_OF)
    assert [(r["id"], r["status"], r["version"]) for r in outbox_rows(book)] == [("OUT-0001", "Sent", DEAL_17B_BEFORE)]

    approved = _deal_17b(tmp_path / "approved", "Approved")
    retype(approved, "DEAL-17B", ("deal-17b", "DEAL-17B"))
    assert send(approved, server).sent == ["OUT-0001"]


def test_outbox_rows_whose_ids_differ_only_in_case_are_copies_and_none_is_sent(tmp_path, server):
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, config(), as_of=AS_OF)
    grid = book.read().tabs["Outbox"]
    book.write(Plan(writes=[CellWrite("Outbox", 3, c + 1, v) for c, v in enumerate(grid.rows[1]) if v is not None]))
    set_cell(book, "Outbox", "ID", 3, "out-0001")
    for row in (2, 3):
        set_cell(book, "Outbox", "Status", row, "Approved")
    report = send(book, server)
    assert report.sent == [] and server.inbox.messages == []
    assert all("rows 2, 3 of the Outbox all have the ID" in r["error"] for r in outbox_rows(book))


def test_a_workflow_email_whose_rule_and_record_ids_were_retyped_is_sent_as_queued(tmp_path, request, server):
    """Was: Failed, "the rule WF-0001 that queued this email is no longer in the Workflows tab"
    (then "record LEAD-0002 not found"), for an email a person had approved."""
    config_ = cfg(tmp_path)
    book = make("xlsx", tmp_path, request, [rule("WF-0001", "lead", "created", "send email", "Welcome {{ Company }}",
                                                 "welcome")])
    book.sync(0, config_)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config_)
    book.set("Outbox", 2, 6, "Approved")
    book.set("Workflows", 2, 1, "wf-0001")
    book.set("Leads", 3, 1, "lead-0002\u00a0")
    s = server.settings()
    now = dt.datetime(2026, 12, 3, 10, tzinfo=dt.timezone.utc)
    report = send_outbox(book.book, config_, s, templates_for(config_), lambda: SmtpSender(s), lambda: now,
                         lambda: "t1")
    assert (report.sent, report.failed) == (["OUT-0001"], []), report.details
    [msg] = server.inbox.messages
    assert body(msg) == "Hello Kim of Beta (lead-0002), from the rule WF-0001.\n"


def test_a_notify_event_reaches_the_owner_after_the_deal_and_rule_ids_were_retyped(tmp_path, request, server):
    """Was: the Log names OPP-0001 and WF-0001; the deal retyped "opp-0001" had no owner for the
    digest, so the event went to nobody, silently; the rule retyped lost its Assign To."""
    config_ = cfg(tmp_path, owners={"Sam": "sam@team.example", "Ana": "ana@team.example"})
    rules = [rule("WF-0001", "opportunity", "Stage changes to Closed Won", "notify", name="Won deal", assign="Ana")]
    book = make("xlsx", tmp_path, request, rules)
    book.sync(0, config_)
    book.set("Opportunities", 2, 6, "Closed Won")
    book.sync(1, config_)
    assert [e["Action"] for e in book.records("Workflow Log")] == ["notify"]
    book.set("Opportunities", 2, 1, "opp-0001")
    book.set("Workflows", 2, 1, "wf-0001")
    crm, results, _ = plan_sync(book.book.read(), config_, AS_OF + dt.timedelta(days=10))
    journal = EventJournal(tmp_path / "events.json")
    due = owner_digests(crm, results, config_, templates_for(config_), journal.told())
    s = server.settings()
    send_digests(due, "sales@example.com", lambda: SmtpSender(s), NOW, lambda: "d1", "example.com")
    said = {m["To"]: body(m) for m in server.inbox.messages}
    assert "Workflow events (1)" in said["ana@team.example"], said
    assert "Workflow events" not in said["sam@team.example"]
