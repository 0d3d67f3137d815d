"""Workflow emails and notifications (issue 14) end to end: rules in the Workflows tab queue
Outbox rows at sync, a real SMTP server on loopback (aiosmtpd) receives what `send_outbox`
sends, on real .xlsx files and on the Sheets emulator (gspread over HTTP)."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config
from sheetcrm.mail.digest import EventJournal, owner_digests, send_digests, workflow_events
from sheetcrm.mail.outbox import send_outbox, templates_for
from sheetcrm.mail.smtp import SmtpSender
from sheetcrm.sync import plan_sync
from test_workflows import PEOPLE_TABS, Book, _tabs, day

HEADER = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)", "Template", "Assign To",
          "Cap", "Auto Approve"]
WELCOME = "Hello {{ Last_Name }} of {{ Company }} ({{ ID }}), from the rule {{ rule.id }}.\n"


def rule(id_, record, when, then, subject=None, template=None, assign=None, auto=None, name="Rule"):
    return [id_, name, "yes", record, when, "", then, subject, None, template, assign, None, auto]


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def make(kind, tmp_path, request, rules) -> Book:
    tabs = _tabs([])
    tabs["Workflows"] = [HEADER, *rules]
    server = request.getfixturevalue("emu") if kind == "google" else None
    return Book(kind, tmp_path, server, tabs)


def cfg(tmp_path, **extra) -> Config:
    folder = tmp_path / "tpl"
    folder.mkdir(exist_ok=True)
    (folder / "welcome.txt.j2").write_text(WELCOME)
    (folder / "won.txt.j2").write_text("{{ Name }} is won; {{ contact.First_Name }} signs.\n")
    return Config(templates=str(folder), **{"owners": {"Sam": "sam@team.example"}, **extra})


def send(book: Book, server, config: Config, when: dt.date):
    s = server.settings()
    tokens = iter(range(1000))
    now = dt.datetime.combine(when, dt.time(10), tzinfo=dt.timezone.utc)
    return send_outbox(book.book, config, s, templates_for(config), lambda: SmtpSender(s), lambda: now,
                       lambda: f"t{next(tokens)}")


WIDTHS = {tab: len(rows[0]) for tab, rows in _tabs([]).items()} | {"Workflows": len(HEADER)}


def people(book: Book) -> dict[str, list[list]]:
    """The people's columns of the people's tabs (sheetcrm's computed columns, right of
    them, change with the day)."""
    return {tab: [(r + [None] * WIDTHS[tab])[:WIDTHS[tab]] for r in book.rows(tab)] for tab in PEOPLE_TABS}


def assert_kept(before: dict[str, list[list]], book: Book) -> None:
    """Every cell a person wrote is as it was, and nothing was added to their columns."""
    assert people(book) == before


def body(msg) -> str:
    return msg.get_content().replace("\r\n", "\n")


def outbox(book: Book) -> list[dict]:
    return book.records("Outbox")


def test_a_draft_is_never_sent_and_an_approved_one_once(kind, tmp_path, request, server):
    config = cfg(tmp_path)
    book = make(kind, tmp_path, request, [rule("WF-0001", "lead", "created", "send email", "Welcome {{ Company }}",
                                               "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    before = people(book)
    book.sync(1, config)
    assert_kept(before, book)
    rows = outbox(book)
    assert [(r["ID"], r["Opportunity"], r["To"], r["Subject"], r["Status"], r["Quote"]) for r in rows] == [
        ("OUT-0001", "LEAD-0002", "k@beta.com", "Welcome Beta", "Draft", None)]
    assert str(rows[0]["Version"]).startswith("wf-")

    # A Draft waits for a person, however many sends run.
    for n in (1, 2):
        send(book, server, config, day(n))
    assert server.inbox.messages == [] and outbox(book)[0]["Status"] == "Draft"

    book.set("Outbox", 2, 6, "Approved")   # a person approves it in the sheet
    before = people(book)
    report = send(book, server, config, day(2))
    assert report.sent == ["OUT-0001"]
    [msg] = server.inbox.messages
    assert (msg["To"], msg["Subject"]) == ("k@beta.com", "Welcome Beta")
    assert body(msg) == "Hello Kim of Beta (LEAD-0002), from the rule WF-0001.\n"
    assert server.inbox.envelopes[0][1] == ["k@beta.com"]
    row = outbox(book)[0]
    assert row["Status"] == "Sent" and row["Message-ID"] == msg["Message-ID"]
    assert_kept(before, book)   # no Email activity: the Workflow Log is the record of it

    # A second send sends nothing; nor does a sheet reverted to Approved (the journal holds it).
    assert send(book, server, config, day(2)).sent == []
    book.set("Outbox", 2, 6, "Approved")
    again = send(book, server, config, day(3))
    assert again.sent == [] and again.restored == ["OUT-0001"]
    assert len(server.inbox.messages) == 1 and outbox(book)[0]["Status"] == "Sent"
    # Nor does the next sync queue it again.
    book.sync(3, config)
    assert len(outbox(book)) == 1


def test_auto_approve_only_for_the_team(kind, tmp_path, request, server):
    config = cfg(tmp_path, workflows={"team_domains": ["initech.com"]})
    rules = [rule("WF-0001", "lead", "created", "send email", "Welcome {{ Company }}", "welcome", auto="yes"),
             rule("WF-0002", "opportunity", "enters Proposal", "send email", "{{ Name }}: proposal", "won",
                  auto="yes"),
             rule("WF-0003", "opportunity", "Stage changes to Closed Won", "notify at once", name="Won deal")]
    book = make(kind, tmp_path, request, rules)
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.set("Opportunities", 2, 6, "Proposal")
    before = people(book)
    book.sync(1, config)
    assert_kept(before, book)
    rows = {r["Opportunity"]: r for r in outbox(book)}
    # The deal's contact is at a team domain: approved at once.
    assert (rows["OPP-0001"]["To"], rows["OPP-0001"]["Status"]) == ("bo@initech.com", "Approved")
    # An outside address stays a Draft, and a warning at the rule's Auto Approve cell says why.
    assert (rows["LEAD-0002"]["To"], rows["LEAD-0002"]["Status"]) == ("k@beta.com", "Draft")
    warning = [r for r in book.records("Validation") if r["Code"] == "workflow_not_internal"]
    assert [(w["Tab"], w["Row"], w["Column"]) for w in warning] == [("Workflows", 2, "M")]
    assert "k@beta.com" in warning[0]["Message"]

    book.set("Opportunities", 2, 6, "Closed Won")
    book.sync(3, config)
    rows = {(r["Opportunity"], r["To"]): r for r in outbox(book)}
    notice = rows[("OPP-0001", "sam@team.example")]
    assert notice["Status"] == "Approved"   # to the owner: internal, approved at once
    assert notice["Subject"] == "Won deal: OPP-0001, Stage changed from Proposal to Closed Won"

    report = send(book, server, config, day(3))
    assert sorted(report.sent) == sorted([rows[("OPP-0001", "bo@initech.com")]["ID"], notice["ID"]])
    sent = {m["To"]: m for m in server.inbox.messages}
    assert set(sent) == {"bo@initech.com", "sam@team.example"}
    assert body(sent["bo@initech.com"]) == "Big is won; Bo signs.\n"
    assert body(sent["sam@team.example"]) == (
        "Hello Sam,\n\nThe rule WF-0003 Won deal fired on OPP-0001: Stage changed from Proposal to Closed Won.\n")
    assert send(book, server, config, day(4)).sent == [] and len(server.inbox.messages) == 2
    assert {r["Opportunity"]: r["Status"] for r in outbox(book)}["LEAD-0002"] == "Draft"


def test_a_header_injection_in_an_email_cell_is_refused_and_nothing_sent(kind, tmp_path, request, server):
    config = cfg(tmp_path)
    book = make(kind, tmp_path, request, [rule("WF-0001", "lead", "created", "send email", "Welcome", "welcome",
                                               auto="yes")])
    book.sync(0, config)
    evil = "k@beta.com\r\nBcc: all@evil.example"
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", evil, "New", "Sam", "2026-12-02"])
    before = people(book)
    for n in (1, 2, 3):
        book.sync(n, config)
    assert_kept(before, book)
    issues = [r for r in book.records("Validation") if r["Tab"] == "Leads" and r["Row"] == 3]
    assert [(i["Column"], i["Severity"]) for i in issues] == [("D", "error")]
    assert outbox(book) == [] and book.records("Workflow Log") == []
    send(book, server, config, day(3))
    assert server.inbox.messages == []


def test_a_person_typed_outbox_row_is_never_sent(kind, tmp_path, request, server):
    config = cfg(tmp_path)
    book = make(kind, tmp_path, request, [rule("WF-0001", "lead", "created", "send email", "Welcome", "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    # A second row copied by a person, with a forged Version and their own address: never sent.
    first = book.rows("Outbox")[1]
    book.append("Outbox", ["OUT-0099", *first[1:3], "eve@evil.example", "Hi", "Approved", None, None, None, None,
                           "wf-000000000000"])
    book.set("Outbox", 2, 6, "Approved")
    report = send(book, server, config, day(2))
    assert report.sent == ["OUT-0001"] and report.failed == ["OUT-0099"]
    assert [m["To"] for m in server.inbox.messages] == ["k@beta.com"]
    assert "Workflow Log" in report.details["OUT-0099"]


def test_notify_reaches_the_owners_digest_once(kind, tmp_path, request, server):
    config = cfg(tmp_path, owners={"Sam": "sam@team.example", "Ana": "ana@team.example"})
    rules = [rule("WF-0001", "opportunity", "Stage changes to Closed Won", "notify", name="Won deal")]
    book = make(kind, tmp_path, request, rules)
    book.sync(0, config)
    book.set("Opportunities", 2, 6, "Closed Won")
    book.sync(1, config)
    assert [e["Action"] for e in book.records("Workflow Log")] == ["notify"]
    journal = EventJournal(tmp_path / "events.json")
    s = server.settings()

    def digest(n: int) -> dict[str, str]:
        crm, results, _ = plan_sync(book.book.read(), config, day(n))
        due = owner_digests(crm, results, config, templates_for(config), journal.told())
        now = dt.datetime.combine(day(n), dt.time(8), tzinfo=dt.timezone.utc)
        outcomes = send_digests(due, "sales@example.com", lambda: SmtpSender(s), now, lambda: f"d{n}", "example.com")
        journal.add(k for d in due if outcomes[d.owner].kind == "sent" for k in d.events)
        return {m["To"]: body(m) for m in server.inbox.messages[-len(due):]}

    first = digest(2)
    assert "Workflow events (1)" in first["sam@team.example"]
    assert "OPP-0001: Stage changed from Qualification to Closed Won (WF-0001 Won deal)" in first["sam@team.example"]
    assert "Workflow events" not in first["ana@team.example"]   # not Ana's record
    second = digest(3)
    assert "Workflow events" not in second["sam@team.example"]


def test_the_core_refuses_a_line_break_in_an_address_and_approves_only_the_team():
    """The last gate before a header (the read refuses such an Email cell first): a record's
    address with a line break is never queued; Auto Approve approves only [owners] addresses
    and team domains."""
    from sheetcrm.crm.workflows import RuleRow, State, Subject, World, run

    def world(n: int, leads: list[Subject]) -> World:
        names = {"lead": {"owner": "owner"}}
        return World(as_of=day(n), subjects={"lead": leads}, names=names, labels={"lead": {}},
                     internal=frozenset({"sam@team.example"}), owner_email={"Sam": "sam@team.example"},
                     team_domains=frozenset({"initech.com"}))

    row = RuleRow("WF-1", "Hi", True, "lead", "created", "", "send email", subject="Hi", template="welcome",
                  auto_approve=True, tab="Workflows", row=2, where={"auto_approve": ("M", "Auto Approve")})
    first = run([row], world(0, []), State(), [], 3, "en")
    leads = [Subject("lead", "LEAD-1", {}, owner="Sam", email="a@b.com\r\nBcc: all@evil.example"),
             Subject("lead", "LEAD-2", {}, owner="Sam", email="bo@initech.com"),
             Subject("lead", "LEAD-3", {}, owner="Sam", email="kim@beta.com"),
             Subject("lead", "LEAD-4", {}, owner="Sam")]
    out = run([row], world(1, leads), first.state, [], 3, "en")
    got = {f.subject.id: (f.result, f.values.get("to"), f.auto_approve) for f in out.firings}
    assert got == {"LEAD-1": ("skipped", None, False), "LEAD-2": ("done", "bo@initech.com", True),
                   "LEAD-3": ("done", "kim@beta.com", False), "LEAD-4": ("done", "sam@team.example", True)}
    codes = [(i.code, i.column) for i in out.issues]
    assert codes == [("workflow_bad_recipient", None), ("workflow_not_internal", "M")]


def test_a_stopped_follow_ups_unsent_email_is_failed_and_never_sent(kind, tmp_path, request, server):
    # A follow-up's day-0 email waits as a Draft; the lead converts (another is disqualified)
    # before anyone approves it: the sync that stops the sequence fails the Draft, saying why,
    # and a person approving it afterwards sends nothing (the sender reads the stop in the Log).
    steps = [{"day": 0, "then": "send email", "template": "welcome", "subject": "Hello {{ Company }}"},
             {"day": 4, "then": "send email", "template": "welcome", "subject": "Still there?"}]
    config = cfg(tmp_path, follow_ups={"welcome": {"steps": steps}})
    book = make(kind, tmp_path, request, [rule("WF-0001", "lead", "created", "start sequence", None, "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.append("Leads", ["LEAD-0003", "Lu", "Gamma", "l@gamma.com", "New", "Sam", "2026-12-02"])
    book.append("Leads", ["LEAD-0004", "Mo", "Delta", "m@delta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    assert [(r["ID"], r["Opportunity"], r["Status"]) for r in outbox(book)] == [
        ("OUT-0001", "LEAD-0002", "Draft"), ("OUT-0002", "LEAD-0003", "Draft"), ("OUT-0003", "LEAD-0004", "Draft")]
    book.set("Outbox", 3, 6, "Approved")       # LEAD-0003's approved, not sent yet
    book.set("Leads", 3, 5, "Converted")       # LEAD-0002
    book.set("Leads", 4, 5, "Unqualified")     # LEAD-0003
    book.sync(2, config)
    rows = outbox(book)
    assert [(r["ID"], r["Status"]) for r in rows] == [("OUT-0001", "Failed"), ("OUT-0002", "Failed"),
                                                      ("OUT-0003", "Draft")]
    assert rows[0]["Error"].startswith("not sent: the follow-up welcome of LEAD-0002 stopped on Dec 3, 2026 "
                                       "(the lead was converted)")
    assert "(the lead was disqualified)" in rows[1]["Error"]

    book.set("Outbox", 2, 6, "Approved")       # a person approves the converted lead's email anyway
    book.set("Outbox", 4, 6, "Approved")
    report = send(book, server, config, day(2))
    assert report.sent == ["OUT-0003"] and report.failed == ["OUT-0001"]
    assert [m["To"] for m in server.inbox.messages] == ["m@delta.com"]
    assert "the lead was converted" in outbox(book)[0]["Error"] and outbox(book)[0]["Status"] == "Failed"


def test_an_owner_in_another_case_or_spacing_is_found_under_owners_as_round_robin_finds_her(kind, tmp_path, request,
                                                                                           server):
    # Was: "notify at once" to Assign To "SAM", and the owner fallback of "send email" for a lead
    # owned by " ana ", were skipped for want of an address, though [owners] has Sam and Ana
    # and round-robin counts "ana" as Ana; a notify for her record missed her digest.
    config = cfg(tmp_path, owners={"Sam": "sam@team.example", "Ana": "ana@team.example"})
    rules = [rule("WF-0001", "lead", "created", "send email", "Welcome", "welcome"),
             rule("WF-0002", "lead", "created", "notify at once", "New lead", assign="SAM"),
             rule("WF-0003", "lead", "created", "notify", name="New lead")]
    book = make(kind, tmp_path, request, rules)
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", None, "New", " ana ", "2026-12-02"])
    book.sync(1, config)
    assert [(r["Opportunity"], r["To"], r["Status"]) for r in outbox(book)] == [
        ("LEAD-0002", "ana@team.example", "Draft"), ("LEAD-0002", "sam@team.example", "Approved")]
    assert [e["Result"] for e in book.records("Workflow Log")] == ["done", "done", "done"]
    crm, results, _ = plan_sync(book.book.read(), config, day(2))
    digests = {d.owner: d for d in owner_digests(crm, results, config, templates_for(config))}
    assert digests["Ana"].events == ("WF-0003|LEAD-0002|created",) and digests["Sam"].events == ()


def test_an_owner_address_no_digest_can_go_to_fails_that_digest_only(server):
    """[owners] takes "zoé@team.example" (a valid address), which SMTP without SMTPUTF8 cannot
    carry: building Zoé's digest raised after Ana's had gone out, so Ana's outcome was lost and
    her digest went out again at every retry."""
    from sheetcrm.mail.digest import Digest
    s = server.settings()
    digests = [Digest("Ana", "ana@team.example", "Digest", "hi"), Digest("Zoé", "zoé@team.example", "Digest", "hi"),
               Digest("Bo", "bo@team.example", "Digest", "hi")]
    outcomes = send_digests(digests, "sales@example.com", lambda: SmtpSender(s), dt.datetime(2026, 11, 23, 8,
                            tzinfo=dt.timezone.utc), lambda: "d1", "example.com")
    assert {owner: out.kind for owner, out in outcomes.items()} == {"Ana": "sent", "Zoé": "permanent", "Bo": "sent"}
    assert "Internationalized characters before the @-sign are not supported" in outcomes["Zoé"].reply
    assert [to for _sender, [to] in server.inbox.envelopes] == ["ana@team.example", "bo@team.example"]


def test_each_follow_up_steps_email_is_written_from_that_steps_template(tmp_path, request, server):
    # The rule's Template names the sequence ("welcome", and a welcome.txt.j2 is there too):
    # the day-0 email is "intro" and the second step's "nudge", as the config says, never the
    # template the sequence's name happens to name.
    steps = [{"day": 0, "then": "send email", "template": "intro", "subject": "Hello {{ Company }}"},
             {"day": 0, "then": "send email", "template": "nudge", "subject": "Still there?"}]
    config = cfg(tmp_path, follow_ups={"welcome": {"steps": steps}})
    (tmp_path / "tpl" / "intro.txt.j2").write_text("Intro for {{ Company }}.\n")
    (tmp_path / "tpl" / "nudge.txt.j2").write_text("Nudge for {{ Company }}.\n")
    book = make("xlsx", tmp_path, request, [rule("WF-0001", "lead", "created", "start sequence", None, "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    book.set("Outbox", 2, 6, "Approved")
    book.set("Outbox", 3, 6, "Approved")
    assert send(book, server, config, day(1)).sent == ["OUT-0001", "OUT-0002"]
    assert [(m["Subject"], body(m)) for m in server.inbox.messages] == [
        ("Hello Beta", "Intro for Beta.\n"), ("Still there?", "Nudge for Beta.\n")]


def test_a_follow_up_steps_notify_reaches_the_owner_the_step_names(tmp_path, request):
    # Step 1 names Ana; step 2 names no one, so the lead's owner Sam is told, as the sync
    # planned it: never Bo, whom the start-sequence rule's own Assign To happens to name.
    steps = [{"day": 0, "then": "notify", "assign_to": "Ana"}, {"day": 0, "then": "notify"}]
    config = cfg(tmp_path, owners={"Sam": "sam@team.example", "Ana": "ana@team.example", "Bo": "bo@team.example"},
                 follow_ups={"welcome": {"steps": steps}})
    book = make("xlsx", tmp_path, request, [rule("WF-0001", "lead", "created", "start sequence", None, "welcome",
                                                 assign="Bo")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    crm, _results, _plan = plan_sync(book.book.read(), config, day(2))
    told = {owner: [e["key"].split("|")[2] for e in events] for owner, events in workflow_events(crm, config).items()}
    assert told == {"ana": ["seq:welcome:step 1@2026-12-02"], "sam": ["seq:welcome:step 2@2026-12-02"]}


def test_a_steps_notify_reaches_whom_it_named_after_the_steps_are_edited(tmp_path, request):
    """Was: the digest found a step's notify recipient by the step's number in sheetcrm.toml as
    it reads at digest time, so a step inserted before it told Bo, and the step removed told the
    lead's owner Sam, of the notification step 1 gave Ana. Now the Log row names whom the step
    told (Details), and the digest tells them whatever the steps read now."""
    owners = {"Sam": "sam@team.example", "Ana": "ana@team.example", "Bo": "bo@team.example"}
    steps = [{"day": 0, "then": "notify", "assign_to": "Ana"}, {"day": 2, "then": "notify"}]
    config = cfg(tmp_path, owners=owners, follow_ups={"welcome": {"steps": steps}})
    book = make("xlsx", tmp_path, request, [rule("WF-0001", "lead", "created", "start sequence", None, "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    crm, _results, _plan = plan_sync(book.book.read(), config, day(2))
    for edited in ([{"day": 0, "then": "notify", "assign_to": "Bo"}, *steps], steps[1:]):
        now = cfg(tmp_path, owners=owners, follow_ups={"welcome": {"steps": edited}})
        told = {owner: [e["key"].split("|")[2] for e in events] for owner, events in workflow_events(crm, now).items()}
        assert told == {"ana": ["seq:welcome:step 1@2026-12-02"]}


def test_a_step_email_whose_step_changed_in_the_config_since_it_was_queued_is_not_sent(tmp_path, request, server):
    """Was: a follow-up step's email takes its body from the step's template at send time, the
    step found by its number; a step inserted before it in sheetcrm.toml between the sync that
    queued the Draft and the send sent the "Hello Beta" email with another step's body, without
    a word. Now the row's Version carries the step as it was queued: changed, the row is Failed,
    saying why, and nothing is sent; a step left as it was (a later step added) still sends."""
    steps = [{"day": 0, "then": "send email", "template": "intro", "subject": "Hello {{ Company }}"}]
    config = cfg(tmp_path, follow_ups={"welcome": {"steps": steps}})
    (tmp_path / "tpl" / "intro.txt.j2").write_text("Intro for {{ Company }}.\n")
    (tmp_path / "tpl" / "pricing.txt.j2").write_text("Our prices, {{ Company }}.\n")
    book = make("xlsx", tmp_path, request, [rule("WF-0001", "lead", "created", "start sequence", None, "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.append("Leads", ["LEAD-0003", "Lu", "Gamma", "l@gamma.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    book.set("Outbox", 2, 6, "Approved")
    later = [*steps, {"day": 5, "then": "notify"}]      # a step added after it: OUT-0001's step is as it was
    assert send(book, server, cfg(tmp_path, follow_ups={"welcome": {"steps": later}}), day(1)).sent == ["OUT-0001"]
    book.set("Outbox", 3, 6, "Approved")
    inserted = [{"day": 0, "then": "send email", "template": "pricing", "subject": "Prices"}, *steps]
    report = send(book, server, cfg(tmp_path, follow_ups={"welcome": {"steps": inserted}}), day(1))
    assert report.sent == [] and report.failed == ["OUT-0002"]
    assert [(m["Subject"], body(m)) for m in server.inbox.messages] == [("Hello Beta", "Intro for Beta.\n")]
    assert outbox(book)[1]["Error"] == (
        "step 1 of the follow-up welcome is not the step that queued this email: its day, action, subject or template "
        "in sheetcrm.toml changed since (or the row's Version was edited), so it is not sent. To write to LEAD-0003 "
        "anyway, write a new email")


def test_a_follow_up_email_approved_is_not_sent_after_a_reply_typed_since_the_last_sync(kind, tmp_path, request,
                                                                                          server):
    """A follow-up step's email already Approved was sent by `outbox send` after the lead's reply
    was typed in Activities, when no sync ran in between (the sender knew only the stops the Log
    holds). The sender reads the replies in the read it already makes: none goes out after one;
    a Note is no reply, and the other lead's email still goes."""
    steps = [{"day": 0, "then": "send email", "template": "welcome", "subject": "Hello {{ Company }}"}]
    config = cfg(tmp_path, follow_ups={"welcome": {"steps": steps}})
    book = make(kind, tmp_path, request, [rule("WF-0001", "lead", "created", "start sequence", None, "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.append("Leads", ["LEAD-0003", "Lu", "Gamma", "l@gamma.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    book.set("Outbox", 2, 6, "Approved")
    book.set("Outbox", 3, 6, "Approved")
    book.append("Activities", ["ACT-0100", day(2).isoformat(), "Call", "called back", "lead-0002"])
    book.append("Activities", ["ACT-0101", day(2).isoformat(), "Note", "left a voicemail", "LEAD-0003"])
    report = send(book, server, config, day(2))
    assert report.sent == ["OUT-0002"] and report.failed == ["OUT-0001"]
    assert [m["To"] for m in server.inbox.messages] == ["l@gamma.com"]
    row = outbox(book)[0]
    assert row["Status"] == "Failed" and row["Error"].startswith(
        f"not sent: LEAD-0002 replied (ACT-0100 on {day(2).strftime('%b')} {day(2).day}, {day(2).year}) after the "
        "follow-up welcome began"), row["Error"]


def test_a_step_email_whose_step_was_only_respelled_in_the_config_is_sent(tmp_path, request, server):
    """Was: the step of a queued email was checked by its action, subject and template as typed:
    the same step written again in other words sheetcrm reads alike ("email" for "send email",
    "intro.txt.j2" for "intro", a subject's spaces) failed the approved email as "not the step
    that queued this email". Now it is sent, with the body of the step's template."""
    steps = [{"day": 0, "then": "send email", "template": "intro", "subject": "Hello {{ Company }}"}]
    config = cfg(tmp_path, follow_ups={"welcome": {"steps": steps}})
    (tmp_path / "tpl" / "intro.txt.j2").write_text("Intro for {{ Company }}.\n")
    book = make("xlsx", tmp_path, request, [rule("WF-0001", "lead", "created", "start sequence", None, "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    book.set("Outbox", 2, 6, "Approved")
    respelled = [{"day": 0, "then": "email", "template": "intro.txt.j2 ", "subject": " Hello  {{ Company }}"}]
    report = send(book, server, cfg(tmp_path, follow_ups={"welcome": {"steps": respelled}}), day(1))
    assert report.sent == ["OUT-0001"] and report.failed == [], outbox(book)
    assert [(m["Subject"], body(m)) for m in server.inbox.messages] == [("Hello Beta", "Intro for Beta.\n")]


def test_a_step_email_queued_before_steps_read_alike_is_sent(tmp_path, request, server):
    """Was: a step email queued and approved before steps compared as read carries the mark of
    its step as typed ("enviar correo", "intro.txt.j2"); after the upgrade it was Failed, "not
    the step that queued this email", with sheetcrm.toml untouched."""
    import hashlib

    from sheetcrm.cells import normalize_key
    from sheetcrm.mail.workflow import version_of
    steps = [{"day": 0, "then": "enviar correo", "template": "intro.txt.j2", "subject": "Hello {{ Company }}"}]
    config = cfg(tmp_path, follow_ups={"welcome": {"steps": steps}})
    (tmp_path / "tpl" / "intro.txt.j2").write_text("Intro for {{ Company }}.\n")
    book = make("xlsx", tmp_path, request, [rule("WF-0001", "lead", "created", "start sequence", None, "welcome")])
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    [key] = [r["Key"] for r in book.records("Workflow Log") if "step 1" in (r["Key"] or "")]
    typed = hashlib.blake2b(repr((0, normalize_key("enviar correo"), "Hello {{ Company }}", "intro.txt.j2")).encode(),
                            digest_size=4).hexdigest()  # the step's mark as sheetcrm made it then
    header = book.rows("Outbox")[0]
    book.set("Outbox", 2, header.index("Version") + 1, version_of(key, typed))
    book.set("Outbox", 2, 6, "Approved")
    report = send(book, server, config, day(1))
    assert report.sent == ["OUT-0001"] and report.failed == [], outbox(book)
