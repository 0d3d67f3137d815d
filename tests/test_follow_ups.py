"""Follow-up sequences (issue 14): a rule's "start sequence" enrolls a record in `[follow_ups.NAME]`,
whose steps fire on their days once each, in order, and stop when the record replies, converts,
is won or lost, or changes owner; on real .xlsx files and on the Sheets emulator, days stepped
one by one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
import subprocess
import sys

import pytest

from sheetcrm.config import Config
from sheetcrm.crm import follow_ups
from sheetcrm.crm.workflows import Subject, World
from sheetcrm.sync import sync
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.workflow_tabs import LOG_FIELDS
from test_workflows import Book, _as_date, _log, _tabs, day

KEY, DETAILS = LOG_FIELDS.index("key"), LOG_FIELDS.index("details")   # the Workflow Log's columns

RULE = ["WF-0001", "Welcome", "yes", "lead", "created", "", "start sequence", None, None, "welcome", None, None]
STEPS = [{"day": 0, "then": "send email", "template": "intro", "subject": "Hello {{ Company }}"},
         {"day": 3, "then": "create task", "subject": "Call {{ Company }}", "due_days": 1},
         {"day": 7, "then": "send email", "template": "nudge", "subject": "Still there, {{ Company }}?"}]
# The steps' email templates: a sync checks that a rule's template exists (docs/workflows.md).
TEMPLATES = str(Path(__file__).parent / "fixtures" / "workflow-templates")
CONFIG = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": STEPS}}})
SEQ = "WF-0001|{lead}|seq:welcome:{what}@{day}"


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def _book(kind, tmp_path, request, rules=(RULE,)) -> Book:
    server = request.getfixturevalue("emu") if kind == "google" else None
    return Book(kind, tmp_path, server, _tabs(list(rules)))


def _enrol(book: Book, leads: int = 1) -> None:
    """Day 0 arms the rule; day 1 sees LEAD-0002.. for the first time (created): enrolled on day 1."""
    book.sync(0, CONFIG)
    for n in range(2, 2 + leads):
        book.append("Leads", [f"LEAD-000{n}", f"P{n}", f"Co{n}", f"p{n}@co{n}.com", "New", "Sam", "2026-12-02"])
    book.sync(1, CONFIG)


def _keys(book: Book) -> list[str]:
    return [e["Key"] for e in _log(book)]


def test_steps_fire_on_their_days_once_each_in_order(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    _enrol(book)
    enrolled = day(1).isoformat()
    step = lambda n: SEQ.format(lead="LEAD-0002", what=f"step {n}", day=enrolled)  # noqa: E731
    assert _keys(book) == ["WF-0001|LEAD-0002|created", step(1)]   # day 0: enrolled and the first email
    fired_on = {}
    for n in range(2, 12):
        before = len(_log(book))
        book.sync(n, CONFIG)
        for e in _log(book)[before:]:
            fired_on[e["Key"]] = n
    assert fired_on == {step(2): 4, step(3): 8}                     # day 3 and day 7 after day 1
    assert [(e["Action"], e["Result"], e["Created Record"]) for e in _log(book)] == [
        ("start sequence", "done", None), ("send email", "done", "OUT-0001"), ("create task", "done", "TSK-0001"),
        ("send email", "done", "OUT-0002")]
    out = book.records("Outbox")
    assert [(r["ID"], r["Opportunity"], r["To"], r["Subject"], r["Status"]) for r in out] == [
        ("OUT-0001", "LEAD-0002", "p2@co2.com", "Hello Co2", "Draft"),
        ("OUT-0002", "LEAD-0002", "p2@co2.com", "Still there, Co2?", "Draft")]
    task = book.records("Tasks")[0]
    assert (task["Subject"], _as_date(task["Due"]), task["Related"], task["Owner"]) == ("Call Co2", day(5),
                                                                                      "LEAD-0002", "Sam")
    # The finished enrollment leaves the Workflow State; the rule counts its steps as firings.
    assert not [r for r in book.rows("Workflow State") if r and r[0] in ("sequence", "sequence owner")]
    assert {r["ID"]: r["Firings"] for r in book.records("Workflows")} == {"WF-0001": 4}
    assert book.sync(11, CONFIG).result is None                    # a second sync writes nothing


def test_a_reply_on_day_2_stops_the_day_3_and_day_7_steps(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    _enrol(book, leads=2)
    book.sync(2, CONFIG)
    # LEAD-0002 calls back on day 2 of its sequence; LEAD-0003 gets only a Note (the team's own).
    book.append("Activities", ["ACT-0002", "2026-12-04", "Call", "called back", "LEAD-0002"])
    book.append("Activities", ["ACT-0003", "2026-12-04", "Note", "left a voicemail", "LEAD-0003"])
    book.sync(3, CONFIG)
    stops = [e for e in _log(book) if e["Result"] == "stopped"]
    assert [(e["Record"], e["Key"], e["Event"], e["Details"]) for e in stops] == [
        ("LEAD-0002", SEQ.format(lead="LEAD-0002", what="stopped", day=day(1).isoformat()), "follow-up welcome",
         "the record replied (ACT-0002 on Dec 4, 2026)")]
    for n in range(4, 10):
        book.sync(n, CONFIG)
    done = {(e["Record"], e["Event"]) for e in _log(book) if e["Result"] == "done"}
    assert not any(r == "LEAD-0002" and "step 2" in ev or r == "LEAD-0002" and "step 3" in ev for r, ev in done)
    assert sum(r == "LEAD-0003" and "step" in ev for r, ev in done) == 3      # a Note is no reply
    assert len([e for e in _log(book) if e["Result"] == "stopped"]) == 1      # the stop is logged once


def test_conversion_loss_and_a_new_owner_stop_a_sequence(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    _enrol(book, leads=4)
    book.set("Leads", 3, 5, "Converted")      # LEAD-0002
    book.set("Leads", 4, 5, "Unqualified")    # LEAD-0003
    book.set("Leads", 5, 6, "Ana")            # LEAD-0004: Sam -> Ana
    book.sync(2, CONFIG)
    stops = {e["Record"]: (e["Event"], e["Details"]) for e in _log(book) if e["Result"] == "stopped"}
    assert stops == {"LEAD-0002": ("follow-up welcome", "the lead was converted"),
                     "LEAD-0003": ("follow-up welcome", "the lead was disqualified"),
                     "LEAD-0004": ("follow-up welcome", "the owner changed from Sam to Ana")}
    for n in range(3, 10):
        book.sync(n, CONFIG)
    steps = [e["Record"] for e in _log(book) if "step" in e["Key"]]
    assert steps == ["LEAD-0002", "LEAD-0003", "LEAD-0004", "LEAD-0005", "LEAD-0005", "LEAD-0005"]
    assert len([e for e in _log(book) if e["Result"] == "stopped"]) == 3


def test_after_downtime_missed_steps_fire_once_in_order_one_delay_apart(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    _enrol(book)                      # enrolled on day 1: steps due on days 1, 4 and 8
    book.sync(13, CONFIG)             # down from day 2 to day 12
    fired = [e for e in _log(book) if "step" in e["Key"]]
    assert [("step 2" in e["Key"], _as_date(e["Time"])) for e in fired] == [(False, day(1)), (True, day(13))]
    for n in (14, 15, 16):
        book.sync(n, CONFIG)
        assert len([e for e in _log(book) if "step" in e["Key"]]) == 2, n   # its 4 days after the task
    book.sync(17, CONFIG)
    fired = [e for e in _log(book) if "step" in e["Key"]]
    assert [_as_date(e["Time"]) for e in fired] == [day(1), day(13), day(17)] and "step 3" in fired[-1]["Key"]
    assert len(book.records("Outbox")) == 2 and len(book.records("Tasks")) == 1


def test_a_bad_sequence_name_is_an_issue_at_the_rule_template_cell(kind, tmp_path, request):
    bad = [*RULE[:9], "welcom", *RULE[10:]]
    book = _book(kind, tmp_path, request, rules=(bad,))
    outcome = book.sync(0, CONFIG)
    found = [(i.tab, i.row, i.column, i.code) for i in outcome.crm.report.issues if i.code.startswith("workflow")]
    assert found == [("Workflows", 2, "J", "workflow_unknown_sequence")]
    issue = next(i for i in outcome.crm.report.issues if i.code == "workflow_unknown_sequence")
    assert "welcom" in issue.message and "welcome" in issue.hint
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, CONFIG)
    assert _log(book) == []


# -- the core, record kinds and rules the workbook tests do not reach ---------------------------

def _world(subject: Subject, activities=(), sent=frozenset(), quotes=frozenset()) -> World:
    """`activities`: (ID, related ID, day, type, outcome[, subject]) of each, as the World holds
    them (the records, read by those fields)."""
    from types import SimpleNamespace

    return World(as_of=day(5), subjects={subject.kind: [subject]}, names={}, labels={},
                 activities=[SimpleNamespace(id=a[0], related=a[1], date=a[2], type=a[3], outcome=a[4],
                                             subject=a[5] if len(a) > 5 else None) for a in activities],
                 sent_ids=sent, sent_quotes=quotes)


def test_a_deal_stops_when_won_or_lost_and_a_contact_reply_counts_for_its_deal():
    contact = Subject("contact", "CON-0001", {})
    deal = Subject("opportunity", "OPP-0001", {"stage_kind": "open"}, owner="Sam", related={"contact": contact})
    assert follow_ups.stop_reason(deal, _world(deal), day(1), "Sam", set()) is None
    for kind_, words in (("won", "the deal was won"), ("lost", "the deal was lost")):
        deal.values["stage_kind"] = kind_
        assert follow_ups.stop_reason(deal, _world(deal), day(1), "Sam", set()) == words
    deal.values["stage_kind"] = "open"
    reply = ("ACT-0009", "CON-0001", day(3), "Email", "Re: hello")
    assert follow_ups.stop_reason(deal, _world(deal, [reply]), day(1), "Sam", set()).startswith("the record replied")
    # Not replies: on the enrollment day, in the future, made by a workflow, or the sender's own log.
    for act, own, sent in ((("ACT-0009", "CON-0001", day(1), "Email", None), set(), frozenset()),
                           (("ACT-0009", "CON-0001", day(6), "Call", None), set(), frozenset()),
                           (reply, {"ACT-0009"}, frozenset()),
                           (("ACT-0009", "OPP-0001", day(3), "Email", "Sent (<OUT-0001.x@crm>)"), set(),
                            frozenset({"<OUT-0001.x@crm>"}))):
        assert follow_ups.stop_reason(deal, _world(deal, [act], sent), day(1), "Sam", own) is None, act


def test_a_first_owner_is_no_change_of_owner_and_a_record_is_never_enrolled_twice():
    rules = [RULE, ["WF-0002", "RR", "yes", "lead", "created", "", "assign owner", None, None, None, "Ana", None],
             ["WF-0003", "Again", "yes", "lead", "Status changes", "", "start sequence", None, None, "Welcome", None,
              None]]
    book = MemoryWorkbook(_tabs(rules))
    sync(book, CONFIG, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", None, "2026-12-02"])
    sync(book, CONFIG, day(1))     # enrolled without an owner; round-robin gives it Ana
    book.tabs["Leads"][2][4] = "Contacted"
    sync(book, CONFIG, day(2))     # WF-0003 would start it again, while WF-0001's runs: skipped
    book.tabs["Leads"][2][4] = "New"
    sync(book, CONFIG, day(3))     # and again: skipped
    log = book.tabs["Workflow Log"][1:]
    assert not any(r[6] == "stopped" for r in log)
    again = [r for r in log if r[1] == "WF-0003" and "seq:" not in r[KEY]]
    # Was: WF-0003's first start ran a second copy of the sequence beside WF-0001's (each step
    # twice: two emails to the lead); a record is in a sequence once at a time now.
    assert [r[6] for r in again] == ["skipped", "skipped"]
    assert all("already in the follow-up welcome, started by the rule WF-0001" in r[DETAILS] for r in again)
    state = {(r[0], r[1]): r[3] for r in book.tabs["Workflow State"][1:] if r[0] and r[0].startswith("sequence")}
    assert state[("sequence owner", "WF-0001|LEAD-0002")] == "Ana"
    assert ("sequence", "WF-0003|LEAD-0002") not in state
    for n in range(4, 12):
        sync(book, CONFIG, day(n))
    steps = [r for r in book.tabs["Workflow Log"][1:] if "step" in r[KEY]]
    assert len(steps) == 3 and len({r[KEY] for r in steps}) == 3


BAD_STEPS = [
    ('[follow_ups.w]\nsteps = [{day = 0, then = "dance"}]\n', "follow_ups.w.steps.1.then", "dance"),
    ('[follow_ups.w]\nsteps = [{day = 0, then = "create task"}]\n', "follow_ups.w.steps.1.subject", "create task"),
    ('[follow_ups.w]\nsteps = [{day = 0, then = "send email"}]\n', "follow_ups.w.steps.1.template", "required"),
    ('[follow_ups.w]\nsteps = [{day = 3, then = "notify"}, {day = 1, then = "notify"}]\n', "follow_ups.w.steps",
     "3, 1"),
    ('[follow_ups.w]\nsteps = [{day = -1, then = "notify"}]\n', "follow_ups.w.steps.1.day", "0"),
    ('[follow_ups.w]\nsteps = [{day = 0, then = "notify", delay = 2}]\n', "follow_ups.w.steps.1.delay", "unknown"),
    ('[follow_ups.w]\nsteps = []\n', "follow_ups.w.steps", "1"),
]


@pytest.mark.parametrize("text,key,words", BAD_STEPS, ids=[b[1] + ":" + b[2] for b in BAD_STEPS])
def test_a_bad_step_in_the_config_is_one_line_and_exit_2(tmp_path, text, key, words):
    (tmp_path / "sheetcrm.toml").write_text(text, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "validate"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2, out.stdout
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert f"sheetcrm.toml: {key}" in out.stderr and words in out.stderr, out.stderr


def test_a_spanish_workbook_starts_and_stops_a_sequence_in_spanish():
    rule = [*RULE[:6], "iniciar secuencia", *RULE[7:9], "Welcome", *RULE[10:]]
    steps = [{"day": 0, "then": "enviar correo", "template": "intro", "subject": "Hola {{ Empresa }}"},
             {"day": 2, "then": "crear tarea", "subject": "Llamar a {{ Empresa }}"}]
    config = Config.model_validate({"locale": "es", "templates": TEMPLATES, "follow_ups": {"welcome": {"steps": steps}}})
    book = MemoryWorkbook(_tabs([rule]))
    sync(book, config, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "Kim", "Beta", "k@beta.com", "Nuevo", "Sam", "2026-12-02"])
    sync(book, config, day(1))
    book.tabs["Leads"][2][4] = "Convertido"
    sync(book, config, day(2))
    log = book.tabs["Registro de flujos"][1:] if "Registro de flujos" in book.tabs else book.tabs["Workflow Log"][1:]
    assert [(r[4], r[5], r[6], (r[DETAILS] if len(r) > DETAILS else None) or "") for r in log] == [
        ("creado", "iniciar secuencia", "hecho", ""),
        ("seguimiento welcome, paso 1 de 2 (día 0)", "enviar correo", "hecho", ""),
        ("seguimiento welcome", "iniciar secuencia", "detenido", "el lead se convirtió")]
    outbox = book.tabs.get("Bandeja de salida") or book.tabs["Outbox"]
    assert outbox[1][4] == "Hola Beta"


def test_every_steps_template_is_checked_when_the_rule_is_read():
    """Was: a step's missing template showed only on the day the step fired (its firing
    "skipped"); now the first sync warns at the rule's Template cell, naming the step, and the
    rule still runs (its sound steps fire)."""
    steps = [STEPS[0], STEPS[1], {**STEPS[2], "template": "nudge2"}]
    config = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": steps}}})
    book = MemoryWorkbook(_tabs([RULE]))
    outcome = sync(book, config, day(0))
    [issue] = [i for i in outcome.crm.report.issues if i.code.startswith("workflow")]
    assert (issue.severity, issue.tab, issue.row, issue.column, issue.value, issue.code) == (
        "warning", "Workflows", 2, "J", "welcome", "workflow_step_template")
    assert issue.message == ('Step 3 of the follow-up sequence "welcome" (day 7): There is no template nudge2.txt.j2 '
                             "for this rule's email.")
    assert "nudge2.txt.j2" in issue.hint and "nudge" in issue.hint   # where to put it, what the folder holds
    # The sound sequence warns about nothing; the rule runs either way.
    assert not [i for i in sync(MemoryWorkbook(_tabs([RULE])), CONFIG, day(0)).crm.report.issues
                if i.code.startswith("workflow")]
    book.tabs["Leads"].append(["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    sync(book, config, day(1))
    keys = [r[KEY] for r in book.tabs["Workflow Log"][1:]]
    assert keys == ["WF-0001|LEAD-0002|created", SEQ.format(lead="LEAD-0002", what="step 1", day=day(1).isoformat())]


def test_a_record_enrolled_again_the_day_its_sequence_stopped_is_told_skipped_not_done():
    # A deal enters the sequence, is won (stopped) and reopened, all on one day: the second
    # enrollment's steps would be keyed as the first's, spent, so it is "skipped", saying why,
    # never a "done" enrollment that takes no step.
    steps = [{"day": 0, "then": "notify"}, {"day": 2, "then": "create task", "subject": "Call {{ Name }}"}]
    config = Config.model_validate({"follow_ups": {"chase": {"steps": steps}}})
    rule = ["WF-0001", "Chase", "yes", "opportunity", "Stage changes", "", "start sequence", None, None, "chase",
            None, None]
    book = MemoryWorkbook(_tabs([rule]))
    sync(book, config, day(0))
    for stage in ("Proposal", "Closed Won", "Negotiation"):
        book.tabs["Opportunities"][1][5] = stage
        sync(book, config, day(1))
    last = book.tabs["Workflow Log"][-1]
    assert (last[KEY], last[LOG_FIELDS.index("result")]) == (
        "WF-0001|OPP-0001|changes:stage:Closed Won>Negotiation@2026-12-02", "skipped")
    assert last[DETAILS] == ("OPP-0001 was already in the follow-up chase today, and a follow-up starts at most "
                             "once a day for a record: not started again")


def test_a_step_whose_log_row_was_deleted_is_not_taken_again():
    # A person tidies the Workflow Log and deletes the day-0 email's row: the State still counts
    # the step as taken, so no second Draft is queued; the day-3 step comes on its day.
    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, CONFIG, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    sync(book, CONFIG, day(1))
    log = book.tabs["Workflow Log"]
    assert log[2][KEY] == SEQ.format(lead="LEAD-0002", what="step 1", day="2026-12-02")
    del log[2]
    for n in (2, 3, 4):
        sync(book, CONFIG, day(n))
    assert [r[KEY] for r in book.tabs["Workflow Log"][1:]] == [
        "WF-0001|LEAD-0002|created", SEQ.format(lead="LEAD-0002", what="step 2", day="2026-12-02")]
    assert [r[0] for r in book.tabs["Outbox"][1:]] == ["OUT-0001"]
    assert [(r[0], r[1]) for r in book.tabs["Tasks"][1:]] == [("TSK-0001", day(5))]   # fired day 4, due a day later


def test_a_step_whose_action_was_dropped_is_taken_at_the_next_sync():
    # A person types a row where the step's task was going while the sync runs: the task, its
    # Log row and the State's count of the steps taken are dropped together; the next sync
    # takes the step, once.
    from sheetcrm.sync import plan_sync

    config = Config.model_validate({"follow_ups": {"welcome": {"steps": [
        {"day": 0, "then": "create task", "subject": "Call {{ Company }}"}, {"day": 5, "then": "notify"}]}}})
    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, config, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    _crm, _results, plan = plan_sync(book.read(), config, day(1))
    book.tabs["Tasks"].append([None, None, "a person's own task"])   # typed meanwhile, where the task goes
    book.write(plan)
    assert [r[KEY] for r in book.tabs["Workflow Log"][1:]] == ["WF-0001|LEAD-0002|created"]
    assert [r[:3] for r in book.tabs["Workflow State"] if r and r[0] == "sequence step"] == []
    sync(book, config, day(2))
    assert [r[KEY] for r in book.tabs["Workflow Log"][1:]][-1] == SEQ.format(lead="LEAD-0002", what="step 1",
                                                                              day="2026-12-02")
    assert [r[1:] for r in book.tabs["Workflow State"] if r and r[0] == "sequence step"] == [
        ["WF-0001|LEAD-0002", "welcome", "1"]]
    sync(book, config, day(3))
    assert [r[2] for r in book.tabs["Tasks"][1:]] == ["a person's own task", "Call Co2"]


# Two day-0 steps: a task, then an email.
TASK_THEN_EMAIL = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": [
    {"day": 0, "then": "create task", "subject": "Call {{ Company }}"},
    {"day": 0, "then": "send email", "template": "intro", "subject": "Hello {{ Company }}"}]}}})


def _plan_day_1(book: Book, own_task_first: bool = False):
    """LEAD-0002 typed (and a person's own task, with no ID yet, if `own_task_first`); the plan
    of the day-1 sync, which takes both steps."""
    from sheetcrm.sync import plan_sync

    book.sync(0, TASK_THEN_EMAIL)
    book.append("Leads", ["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    if own_task_first:
        book.append("Tasks", [None, None, "a person's own task"])
    return plan_sync(book.book.read(), TASK_THEN_EMAIL, day(1))[2]


def _both_steps_came_next_sync_in_order(book: Book) -> None:
    assert _keys(book) == ["WF-0001|LEAD-0002|created"]   # no step journaled, none counted as taken
    assert book.records("Outbox") == []
    book.sync(2, TASK_THEN_EMAIL)
    assert _keys(book)[1:] == [SEQ.format(lead="LEAD-0002", what=f"step {n}", day="2026-12-02") for n in (1, 2)]
    assert [t["Subject"] for t in book.records("Tasks")] == ["a person's own task", "Call Co2"]
    assert [m["Subject"] for m in book.records("Outbox")] == ["Hello Co2"]


def test_a_dropped_step_drops_the_later_steps_of_its_sync_and_they_come_next_sync_in_order(kind, tmp_path, request):
    # A person types a row where the day-0 task goes while the sync runs: the task is dropped,
    # and so are the email after it and the State's count, also when the sequence ends there.
    book = _book(kind, tmp_path, request)
    plan = _plan_day_1(book)
    book.append("Tasks", [None, None, "a person's own task"])
    # On .xlsx a save meanwhile fails the whole write (WorkbookConflict, planned again): the
    # per-write guards alone stand when the plan is written by a book that did not read it.
    (XlsxWorkbook(book.path) if kind == "xlsx" else book.book).write(plan)
    _both_steps_came_next_sync_in_order(book)


def test_on_google_a_step_undone_after_the_batch_drops_the_later_steps_down_the_chain(emu, tmp_path):
    # A column inserted into Tasks between the re-read and the batch (its ID column read back
    # for the fill of a person's own task): the task's cells landed in the wrong columns and
    # are taken back after it; the email that requires the task, and what requires the email
    # (its Log row, the State's count), are taken back with it.
    book = Book("google", tmp_path, emu, _tabs([RULE]))
    plan = _plan_day_1(book, own_task_first=True)
    sheet = emu.sheet_id(book.key, "Tasks")
    emu.before_next(":batchUpdate", lambda e: e.apply(book.key, [{"insertDimension": {"range": {
        "sheetId": sheet, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}}}]))
    result = book.book.write(plan)
    assert {w.tab for w in result.skipped} >= {"Tasks", "Outbox", "Workflow Log", "Workflow State"}
    emu.apply(book.key, [{"deleteDimension": {"range": {"sheetId": sheet, "dimension": "COLUMNS", "startIndex": 0,
                                                        "endIndex": 1}}}])
    _both_steps_came_next_sync_in_order(book)


def test_a_sequence_that_ended_can_start_again_at_the_next_sync():
    # Its State rows are kept through the sync of its last step (dropped with that step's
    # write, they would lose the step): the next sync ends it before any rule fires.
    config = Config.model_validate({"follow_ups": {"welcome": {"steps": [{"day": 0, "then": "notify"}]}}})
    rule = ["WF-0003", "Again", "yes", "lead", "Status changes", "", "start sequence", None, None, "welcome", None, None]
    book = MemoryWorkbook(_tabs([rule]))
    sync(book, config, day(0))
    for n, status in ((1, "Contacted"), (2, "New")):
        book.tabs["Leads"][1][4] = status
        sync(book, config, day(n))
    starts = [r for r in book.tabs["Workflow Log"][1:] if "seq:" not in r[KEY]]
    assert [(r[6], r[DETAILS]) for r in starts] == [("done", None), ("done", None)]
    assert len([r for r in book.tabs["Workflow Log"][1:] if "step 1" in r[KEY]]) == 2


def test_two_sequences_a_template_cannot_tell_apart_are_refused_naming_both(tmp_path):
    # A rule's Template finds its sequence ignoring case and accents: with "Bienvenida" and
    # "bienvenída" both there, which one "bienvenida" starts would be a guess.
    from sheetcrm.config import load_config
    from sheetcrm.settings import ConfigError

    (tmp_path / "sheetcrm.toml").write_text('[follow_ups.Bienvenida]\nsteps = [{day = 0, then = "notify"}]\n'
                                            '[follow_ups."bienvenída"]\nsteps = [{day = 0, then = "notify"}]\n',
                                            encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "sheetcrm.toml")
    assert "follow_ups.bienvenída: is the same name as the follow-up Bienvenida" in str(e.value)


def test_a_step_that_waits_holds_back_the_steps_of_its_day_after_it():
    # Day 0: a call task, then an email. The Tasks tab has no Due column, so the task waits: the
    # email, written after it, waits with it, and both come once the column is there, in order.
    steps = [{"day": 0, "then": "create task", "subject": "Call {{ Company }}", "due_days": 1},
             {"day": 0, "then": "send email", "template": "intro", "subject": "Hello {{ Company }}"}]
    config = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": steps}}})
    tabs = _tabs([RULE])
    tabs["Tasks"] = [["ID", "Subject", "Related", "Owner", "Status"]]
    book = MemoryWorkbook(tabs)
    sync(book, config, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    sync(book, config, day(1))
    sync(book, config, day(2))
    assert [r[KEY] for r in book.tabs["Workflow Log"][1:]] == ["WF-0001|LEAD-0002|created"]
    assert len(book.tabs.get("Outbox", [None])) == 1                   # no email before its task
    book.tabs["Tasks"][0].append("Due")
    sync(book, config, day(3))
    step = lambda n: SEQ.format(lead="LEAD-0002", what=f"step {n}", day="2026-12-02")  # noqa: E731
    assert [r[KEY] for r in book.tabs["Workflow Log"][1:]] == ["WF-0001|LEAD-0002|created", step(1), step(2)]
    assert [r[0] for r in book.tabs["Outbox"][1:]] == ["OUT-0001"] and len(book.tabs["Tasks"]) == 2


def test_steps_inserted_among_those_taken_stop_the_sequence_saying_so_and_steps_added_after_them_follow():
    """Was: a step inserted in sheetcrm.toml before the steps a running sequence had taken
    shifted their numbers, so the call task (step 2, now step 3) was created a second time and
    the new step was never taken, without a word. Now the enrollment stops, its Log row saying
    why; a sequence whose taken steps are unchanged (a step added after them) carries on."""
    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, CONFIG, day(0))
    for n in (2, 3):
        book.tabs["Leads"].append([f"LEAD-000{n}", f"P{n}", f"Co{n}", f"p{n}@co{n}.com", "New", "Sam", "2026-12-02"])
    sync(book, CONFIG, day(1))
    for n in range(2, 6):
        sync(book, CONFIG, day(n))           # both leads took step 1 (email) and step 2 (call task)
    inserted = [STEPS[0], {"day": 1, "then": "log activity", "subject": "Note {{ Company }}"}, *STEPS[1:]]
    config = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": inserted}}})
    sync(book, config, day(6))
    log = book.tabs["Workflow Log"][1:]
    stops = [(r[KEY], r[DETAILS]) for r in log if r[6] == "stopped"]
    assert stops == [(SEQ.format(lead=lead, what="stopped", day="2026-12-02"),
                      "the steps of the follow-up welcome were changed in sheetcrm.toml after 2 of them were taken, so "
                      "which step comes next cannot be told: its remaining steps are not taken")
                     for lead in ("LEAD-0002", "LEAD-0003")]
    for n in range(7, 14):
        sync(book, config, day(n))
    assert [r[2] for r in book.tabs["Tasks"][1:]] == ["Call Co2", "Call Co3"]     # no call task twice
    assert len([r for r in book.tabs["Workflow Log"][1:] if "step" in r[KEY]]) == 4
    assert not [r for r in book.tabs["Workflow State"][1:] if r and (r[0] or "").startswith("sequence")]

    # A step added after those taken, or a later one changed: the sequence carries on.
    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, CONFIG, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    for n in range(1, 6):
        sync(book, CONFIG, day(n))
    appended = [*STEPS[:2], {**STEPS[2], "subject": "Any news, {{ Company }}?"}, {"day": 9, "then": "notify"}]
    config = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": appended}}})
    for n in range(6, 14):
        sync(book, config, day(n))
    log = book.tabs["Workflow Log"][1:]
    assert not [r for r in log if r[6] == "stopped"]
    assert [r[KEY] for r in log if "step" in r[KEY]] == [
        SEQ.format(lead="LEAD-0002", what=f"step {n}", day="2026-12-02") for n in (1, 2, 3, 4)]
    assert [r[4] for r in book.tabs["Outbox"][1:]] == ["Hello Co2", "Any news, Co2?"]


    # Edited while the rule was switched off: told once it runs again, not taken as it now reads.
    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, CONFIG, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    for n in range(1, 6):
        sync(book, CONFIG, day(n))
    config = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": inserted}}})
    book.tabs["Workflows"][1][2] = "no"
    sync(book, config, day(6))
    book.tabs["Workflows"][1][2] = "yes"
    for n in range(7, 14):
        sync(book, config, day(n))
    assert [r[6] for r in book.tabs["Workflow Log"][1:] if "seq:" in r[KEY]] == ["done", "done", "stopped"]
    assert [r[2] for r in book.tabs["Tasks"][1:]] == ["Call Co2"]


def test_a_notify_that_reaches_no_digest_is_said_at_the_rule(tmp_path):
    """Was: a notify firing for a record with no Owner, or for an owner with no address under
    [owners] (a follow-up step's Assign To "Zed"), was logged done and reached no digest, without
    a word. Now a warning at the rule's Then cell says who was not told and how to fix it; the
    firing stays done (the digest tells it once the owner or address is there)."""
    rules = [["WF-0001", "Tell", "yes", "lead", "created", "", "notify", None, None, None, None, None],
             ["WF-0002", "Seq", "yes", "lead", "created", "", "start sequence", None, None, "ping", None, None]]
    owners = {"Sam": "sam@team.example"}
    config = Config.model_validate({"owners": owners, "follow_ups": {"ping": {"steps": [
        {"day": 0, "then": "notify", "assign_to": "Zed"}]}}})
    book = Book("xlsx", tmp_path, None, _tabs(rules))
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", None, "2026-12-02"])   # no owner
    book.append("Leads", ["LEAD-0003", "P3", "Co3", "p3@co3.com", "New", " sam ", "2026-12-02"])  # Sam
    book.sync(1, config)
    assert [(e["Key"], e["Result"]) for e in _log(book)] == [
        ("WF-0001|LEAD-0002|created", "done"), ("WF-0001|LEAD-0003|created", "done"),
        ("WF-0002|LEAD-0002|created", "done"), ("WF-0002|LEAD-0003|created", "done"),
        ("WF-0002|LEAD-0002|seq:ping:step 1@2026-12-02", "done"), ("WF-0002|LEAD-0003|seq:ping:step 1@2026-12-02", "done")]
    said = [(v["Row"], v["Column"], v["Code"], v["Message"]) for v in book.records("Validation")
            if v["Code"].startswith("workflow_notify")]
    assert said == [
        (2, "G", "workflow_notify_nobody", "The rule WF-0001 notified nobody about LEAD-0002: the record has no Owner "
                                           "and the rule no Assign To (or the account it names has no Owner)."),
        (3, "G", "workflow_notify_unaddressed", "The rule WF-0002 notified Zed about LEAD-0002, LEAD-0003, but Zed "
                                                "has no address under [owners], so no digest tells them.")]
    # Said at every sync while no digest can tell them (was: at the firing's sync only, then
    # gone from the Validation tab, the notifications still undelivered), one line per rule and
    # person; gone once the record has an Owner, the person an address.
    book.sync(2, config)
    assert [(v["Row"], v["Column"], v["Code"], v["Message"]) for v in book.records("Validation")
            if v["Code"].startswith("workflow_notify")] == said
    book.set("Leads", 3, 6, "Sam")
    book.sync(3, config)
    assert [v["Code"] for v in book.records("Validation") if v["Code"].startswith("workflow_notify")] == [
        "workflow_notify_unaddressed"]
    owned = Config.model_validate({**config.model_dump(), "owners": {**owners, "zed": "zed@team.example"}})
    book.sync(4, owned)
    assert not [v for v in book.records("Validation") if v["Code"].startswith("workflow_notify")]
    # Sam, under [owners] as names compare, is told: no warning for WF-0001 on LEAD-0003. In
    # Spanish, the same in Spanish.
    es = Config.model_validate({"locale": "es", "owners": owners})
    spanish = MemoryWorkbook(_tabs(rules[:1]))
    sync(spanish, es, day(0))
    spanish.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "Nuevo", None, "2026-12-02"])
    issues = [i for i in sync(spanish, es, day(1)).crm.report.issues if i.code == "workflow_notify_nobody"]
    assert [i.message for i in issues] == ["La regla WF-0001 no avisó a nadie de LEAD-0002: el registro no tiene "
                                           "Propietario y la regla no tiene Asignar a (o la cuenta que nombra no tiene "
                                           "Propietario)."]


def test_an_owner_typed_again_with_a_curly_quote_is_no_change_of_owner(tmp_path):
    """Was: the owner at enrollment was compared with the Owner now ignoring only case and
    spaces, so "Dan O'Brien" typed again as "Dan O’Brien" (a phone's keyboard) stopped the
    sequence, "the owner changed from Dan O'Brien to Dan O’Brien", though round-robin, the
    forecast and the digest hold them one owner. Now compared as owners compare everywhere."""
    book = Book("xlsx", tmp_path, None, _tabs([RULE]))
    book.sync(0, CONFIG)
    book.append("Leads", ["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Dan O'Brien", "2026-12-02"])
    book.append("Leads", ["LEAD-0003", "P3", "Co3", "p3@co3.com", "New", "Dan O'Brien", "2026-12-02"])
    book.sync(1, CONFIG)
    book.set("Leads", 3, 6, "DAN  O’BRIEN")
    book.set("Leads", 4, 6, "Dana O'Brien")       # another person: that stops it
    for n in range(2, 9):
        book.sync(n, CONFIG)
    assert [(e["Record"], e["Details"]) for e in _log(book) if e["Result"] == "stopped"] == [
        ("LEAD-0003", "the owner changed from Dan O'Brien to Dana O'Brien")]
    assert [e["Key"] for e in _log(book) if e["Record"] == "LEAD-0002" and "step" in e["Key"]] == [
        SEQ.format(lead="LEAD-0002", what=f"step {n}", day="2026-12-02") for n in (1, 2, 3)]


def test_steps_respelled_in_sheetcrm_toml_are_the_same_steps_and_the_sequence_goes_on():
    """Was: a step was known by its action, subject and template as typed, so a team writing
    the steps it had taken again in other words sheetcrm reads as the same ("send email" as
    "enviar correo" or "email", the template "intro" as "intro.txt.j2", a subject's spaces)
    had every running sequence stopped, "the steps ... were changed ... which step comes next
    cannot be told", with nothing changed that sheetcrm does. Now steps compare as read."""
    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, CONFIG, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    for n in range(1, 6):
        sync(book, CONFIG, day(n))           # step 1 (email) and step 2 (call task) taken
    respelled = [{**STEPS[0], "then": "Enviar correo", "template": " intro.txt.j2", "subject": "Hello  {{ Company }} "},
                 {**STEPS[1], "then": "create_task", "subject": " Call {{ Company }}"}, STEPS[2]]
    config = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": respelled}}})
    for n in range(6, 14):
        sync(book, config, day(n))
    log = book.tabs["Workflow Log"][1:]
    assert [(r[KEY], r[DETAILS]) for r in log if r[6] == "stopped"] == []
    assert [r[KEY] for r in log if "step" in r[KEY]] == [
        SEQ.format(lead="LEAD-0002", what=f"step {n}", day="2026-12-02") for n in (1, 2, 3)]
    assert [r[4] for r in book.tabs["Outbox"][1:]] == ["Hello Co2", "Still there, Co2?"]


def test_a_sequence_running_since_before_steps_read_alike_goes_on_with_its_steps_as_typed():
    """Was: a team's steps typed "Enviar correo" and "intro.txt.j2": the State of a sequence
    running since before steps compared as read holds the digests of the steps as typed, so
    after the upgrade every such sequence stopped, "the steps of the follow-up welcome were
    changed in sheetcrm.toml after 2 of them were taken", with sheetcrm.toml untouched."""
    import hashlib
    from sheetcrm.cells import normalize_key
    from sheetcrm.crm.follow_ups import marks

    def before(steps):  # the digests as sheetcrm made them then: of each step as typed
        return [hashlib.blake2b(repr((s.day, normalize_key(s.then), s.subject or "", s.template or "")).encode(),
                                digest_size=4).hexdigest() for s in steps]
    typed = [{**STEPS[0], "then": "Enviar correo", "template": "intro.txt.j2"}, STEPS[1], STEPS[2]]
    config = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"welcome": {"steps": typed}}})
    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, config, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    for n in range(1, 6):
        sync(book, config, day(n))           # step 1 (email) and step 2 (call task) taken
    [shape] = [r for r in book.tabs["Workflow State"] if r[0] == "sequence shape"]
    steps = config.follow_ups["welcome"].steps
    assert before(steps[:2]) != marks(steps[:2])
    shape[3] = " ".join(before(steps[:2]))  # as the sheetcrm before wrote it
    for n in range(6, 14):
        sync(book, config, day(n))
    log = book.tabs["Workflow Log"][1:]
    assert [(r[KEY], r[DETAILS]) for r in log if r[6] == "stopped"] == []
    assert [r[KEY] for r in log if "step" in r[KEY]] == [
        SEQ.format(lead="LEAD-0002", what=f"step {n}", day="2026-12-02") for n in (1, 2, 3)]


def test_two_rules_starting_one_sequence_for_a_record_run_it_once_and_log_the_second_start(tmp_path):
    """Was: a lead enrolled by "created" and, days later, by "Status changes to New" ran the
    sequence twice side by side: two "Hello" emails, two call tasks, two nudges for one lead.
    Now a record is in a sequence once at a time, whichever rule started it: the second start is
    logged skipped, naming the rule whose enrollment runs; a rule deleted from the Workflows tab
    keeps no record from the sequence."""
    second = ["WF-0002", "Welcome new", "yes", "lead", "Status changes to New", "", "start sequence", None, None,
              "welcome", None, None]
    book = Book("xlsx", tmp_path, None, _tabs([RULE, second]))
    book.sync(0, CONFIG)
    book.append("Leads", ["LEAD-0002", "P2", "Co2", "p2@co2.com", "Contacted", "Sam", "2026-12-02"])
    book.sync(1, CONFIG)
    book.set("Leads", 3, 5, "New")
    for n in range(2, 10):
        book.sync(n, CONFIG)
    log = [(e["Key"], e["Result"], e["Details"]) for e in _log(book)]
    assert log == [
        ("WF-0001|LEAD-0002|created", "done", None),
        (SEQ.format(lead="LEAD-0002", what="step 1", day="2026-12-02"), "done", None),
        ("WF-0002|LEAD-0002|changes:status:Contacted>New@2026-12-03", "skipped",
         "LEAD-0002 is already in the follow-up welcome, started by the rule WF-0001: a record is never in the same "
         "follow-up twice at once, so it is not started again"),
        (SEQ.format(lead="LEAD-0002", what="step 2", day="2026-12-02"), "done", None),
        (SEQ.format(lead="LEAD-0002", what="step 3", day="2026-12-02"), "done", None)]
    assert [r["Subject"] for r in book.records("Outbox")] == ["Hello Co2", "Still there, Co2?"]
    assert [r["Subject"] for r in book.records("Tasks")] == ["Call Co2"]

    # WF-0001 deleted while its enrollment runs: WF-0002 may start the sequence for the lead.
    rows = [["LEAD-0003", "P3", "Co3", "p3@co3.com", "Contacted", "Sam", "2026-12-12"]]
    book.append("Leads", rows[0])
    book.sync(10, CONFIG)
    assert ("WF-0001|LEAD-0003|created", "done") in [(e["Key"], e["Result"]) for e in _log(book)]
    for column in (1, 2, 3, 4, 5, 7, 10):   # the row of WF-0001 emptied
        book.set("Workflows", 2, column, None)
    book.set("Leads", 4, 5, "New")
    book.sync(11, CONFIG)
    assert [(e["Key"], e["Result"]) for e in _log(book)][-2:] == [
        ("WF-0002|LEAD-0003|changes:status:Contacted>New@2026-12-12", "done"),
        ("WF-0002|LEAD-0003|seq:welcome:step 1@2026-12-12", "done")]


def test_a_reply_typed_on_the_enrollment_day_after_the_enrollment_stops_the_sequence(tmp_path):
    """Was: an activity dated the enrollment day never counted as a reply, so a lead enrolled
    in the morning sync who called back that afternoon (the Call logged dated that day) still
    got the call task and the nudge email. Now the enrollment keeps the activities of its day
    that were there when it was made (what made the rule fire): one typed since is a reply. An
    enrollment made before this was kept goes on as it did."""
    book = Book("xlsx", tmp_path, None, _tabs([RULE]))
    book.sync(0, CONFIG)
    book.append("Leads", ["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    book.append("Leads", ["LEAD-0003", "P3", "Co3", "p3@co3.com", "New", "Sam", "2026-12-02"])
    book.append("Activities", ["ACT-0002", "2026-12-02", "Call", "first call", "LEAD-0003"])  # before it
    book.sync(1, CONFIG)                    # both enrolled on 2026-12-02
    book.append("Activities", ["ACT-0003", "2026-12-02", "Call", "called back", "LEAD-0002"])  # that afternoon
    for n in range(2, 10):
        book.sync(n, CONFIG)
    log = [(e["Key"], e["Result"], e["Details"]) for e in _log(book) if "seq:" in e["Key"]]
    assert log == [
        (SEQ.format(lead="LEAD-0002", what="step 1", day="2026-12-02"), "done", None),
        (SEQ.format(lead="LEAD-0003", what="step 1", day="2026-12-02"), "done", None),
        (SEQ.format(lead="LEAD-0002", what="stopped", day="2026-12-02"), "stopped",
         "the record replied (ACT-0003 on Dec 2, 2026)"),
        (SEQ.format(lead="LEAD-0003", what="step 2", day="2026-12-02"), "done", None),
        (SEQ.format(lead="LEAD-0003", what="step 3", day="2026-12-02"), "done", None)]
    assert [r["Subject"] for r in book.records("Tasks")] == ["Call Co3"]

    # Enrolled before the day's activities were kept (no "sequence before" row): as before.
    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, CONFIG, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    sync(book, CONFIG, day(1))
    book.tabs["Workflow State"] = [r for r in book.tabs["Workflow State"] if r[0] != "sequence before"]
    book.tabs["Activities"].append(["ACT-0003", "2026-12-02", "Call", "called back", "LEAD-0002"])
    for n in range(2, 10):
        sync(book, CONFIG, day(n))
    assert [r[6] for r in book.tabs["Workflow Log"][1:] if "seq:" in r[KEY]] == ["done", "done", "done"]


def test_a_sequence_gone_from_the_config_is_said_at_the_rule_and_one_respelled_goes_on(tmp_path):
    """Was: a sequence renamed in sheetcrm.toml ("welcome" to "bienvenida") left the records
    half way through it waiting for good, none of their remaining steps taken, without a word;
    and one only respelled ("Welcome"), which a rule's Template finds the same, did too. Now the
    first is a warning at the rule's Template cell at every sync while it lasts, naming the
    records, and the second goes on."""
    book = Book("xlsx", tmp_path, None, _tabs([RULE]))
    book.sync(0, CONFIG)
    book.append("Leads", ["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    book.sync(1, CONFIG)
    renamed = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"bienvenida": {"steps": STEPS}}})
    book.set("Workflows", 2, 10, "bienvenida")
    for n in (2, 3):
        book.sync(n, renamed)
        assert [(v["Row"], v["Column"], v["Code"], v["Message"]) for v in book.records("Validation")
                if v["Code"] == "workflow_sequence_gone"] == [
            (2, "J", "workflow_sequence_gone", "The follow-up welcome is no longer in sheetcrm.toml, so the records "
                                               "the rule WF-0001 started in it wait, none of their remaining steps "
                                               "taken: LEAD-0002.")]
    book.set("Workflows", 2, 10, "welcome")
    for n in range(4, 10):
        book.sync(n, CONFIG)                # back: its steps are taken, and the warning goes
    assert [e["Key"] for e in _log(book) if "seq:" in e["Key"]] == [
        SEQ.format(lead="LEAD-0002", what=f"step {n}", day="2026-12-02") for n in (1, 2, 3)]
    assert not [v for v in book.records("Validation") if v["Code"] == "workflow_sequence_gone"]

    book = MemoryWorkbook(_tabs([RULE]))
    sync(book, CONFIG, day(0))
    book.tabs["Leads"].append(["LEAD-0002", "P2", "Co2", "p2@co2.com", "New", "Sam", "2026-12-02"])
    sync(book, CONFIG, day(1))
    cased = Config.model_validate({"templates": TEMPLATES, "follow_ups": {"Welcome": {"steps": STEPS}}})
    for n in range(2, 10):
        sync(book, cased, day(n))
    assert [r[KEY] for r in book.tabs["Workflow Log"][1:] if "seq:" in r[KEY]] == [
        SEQ.format(lead="LEAD-0002", what=f"step {n}", day="2026-12-02") for n in (1, 2, 3)]
