"""A time trigger's event on a record that was not in the sheet when its due day was evaluated
(a lead a form made today, one typed in late) fires once, at the sync that first sees the
record, unless it fell due before the rule was armed; a record that was there (adopted with the
workbook, its ID fill dropped, its date moved into the past) fires nothing for the evaluated
days (docs/workflows.md, "Time triggers and downtime"). On a real .xlsx file and on the Sheets
emulator, the days stepped one by one."""

from __future__ import annotations

import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workflow_tabs import LOG_FIELDS
from test_workflow_tabs_kept import STATE, _delete
from test_workflows import Book, _as_date, _log, _tabs, day


def _rule(when: str, due_days: int | None = None) -> list:
    return ["WF-0001", "Welcome call", "yes", "lead", when, "", "create task", "Call {{ Name }}", due_days, None, None,
            None]


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def _book(kind, tmp_path, request, tabs) -> Book:
    return Book(kind, tmp_path, request.getfixturevalue("emu") if kind == "google" else None, tabs)


def _keys(book: Book) -> list[str]:
    return [e["Key"] for e in _log(book)]


def test_a_lead_a_form_makes_fires_its_0_days_after_created_rule_once_also_after_the_state_is_deleted(
        kind, tmp_path, request):
    tabs = _tabs([_rule("0 days after Created", 1)])
    tabs["Form Responses 1"] = [["Timestamp", "Email Address", "Full Name", "Company"]]
    book = _book(kind, tmp_path, request, tabs)
    config = Config.model_validate({"forms": {"web": {"tab": "Form Responses 1", "fields": {
        "Email Address": "email", "Full Name": "name", "Company": "company"}}}})
    book.sync(0, config)
    book.append("Form Responses 1", ["2026-12-02 10:00:00", "hugo@lumen.example", "Hugo Navarro", "Lumen"])
    book.sync(1, config)     # the form makes LEAD-0002, dated today: a record of the next read
    assert _log(book) == [] and _as_date(book.records("Leads")[1]["Created"]) in (day(1), day(1).isoformat())
    book.sync(1, config)     # its due day, today, was evaluated without it: due now
    assert _keys(book) == ["WF-0001|LEAD-0002|from:created:2026-12-02"]
    (task,) = book.records("Tasks")
    assert (task["Subject"], task["Related"], _as_date(task["Due"])) == ("Call Navarro", "LEAD-0002", day(2))
    book.sync(1, config)
    book.sync(2, config)
    _delete(book, STATE)     # rebuilt from the Log: what the Log holds never fires again
    book.sync(2, config)
    book.sync(3, config)
    assert _keys(book) == ["WF-0001|LEAD-0002|from:created:2026-12-02"] and len(book.records("Tasks")) == 1


def test_a_lead_typed_in_late_fires_what_fell_due_since_the_rule_was_armed_and_a_date_moved_back_does_not(
        kind, tmp_path, request):
    tabs = _tabs([_rule("2 days after Created")])
    tabs["Leads"][1][6] = "2026-12-20"
    book = _book(kind, tmp_path, request, tabs)
    for n in range(0, 5):
        book.sync(n)
    book.set("Leads", 2, 7, "2026-12-02")   # LEAD-0001's Created moved back: due day 3, evaluated with it there
    book.append("Leads", [None, "Kim", "Beta", "k@beta.com", "New", None, "2026-12-01"])  # due day 2: after arming
    book.append("Leads", [None, "Old", "Gamma", "o@gamma.com", "New", None, "2026-11-25"])  # due before arming
    book.sync(5)   # their IDs are handed out
    book.sync(6)
    assert _keys(book) == ["WF-0001|LEAD-0002|from:created:2026-12-01"]
    (task,) = book.records("Tasks")
    assert (task["Subject"], task["Related"], _as_date(task["Due"])) == ("Call Kim", "LEAD-0002", day(2))
    book.sync(7)
    book.sync(8)
    assert _keys(book) == ["WF-0001|LEAD-0002|from:created:2026-12-01"]


def test_the_leads_of_a_workbook_adopted_without_ids_are_no_new_records_and_one_typed_since_is(tmp_path):
    tabs = _tabs([_rule("0 days after Created")])
    tabs["Leads"] = [tabs["Leads"][0], *([None, f"L{n}", f"C{n}", f"p{n}@c{n}.com", "New", None, created]
                                         for n, created in ((1, "2026-12-01"), (2, "2026-11-30")))]
    book = Book("xlsx", tmp_path, None, tabs)
    for n in (0, 1, 2):   # armed at day 0, when L1 fell due: it was there, waiting for its ID
        book.sync(n)
    assert _log(book) == [] and [r["ID"] for r in book.records("Leads")] == ["LEAD-0001", "LEAD-0002"]
    book.append("Leads", [None, "Kim", "Beta", "k@beta.com", "New", None, "2026-12-03"])
    for n in (2, 3, 4, 5):
        book.sync(n)
    assert _keys(book) == ["WF-0001|LEAD-0003|from:created:2026-12-03"]


def test_a_lead_whose_id_fill_was_dropped_at_adoption_is_no_new_record_to_a_time_rule():
    from sheetcrm.sync import plan_sync
    from sheetcrm.workbook.memory import MemoryWorkbook

    tabs = _tabs([_rule("0 days after Created")])
    tabs["Leads"] = [tabs["Leads"][0], *([None, f"L{n}", f"C{n}", f"p{n}@c{n}.com", "New", None, "2026-12-01"]
                                         for n in (1, 2, 3))]
    book = MemoryWorkbook(tabs)
    _crm, _results, plan = plan_sync(book.read(), Config(), day(0))
    leads = book.tabs["Leads"]
    leads[1], leads[2] = leads[2], leads[1]   # sorted meanwhile
    leads[3][0] = "LEAD-0100"                 # an ID typed meanwhile
    book.write(plan)
    assert [r[0] for r in book.tabs["Leads"][1:]] == [None, None, "LEAD-0100"]   # no fill landed
    book.tabs["Leads"].append([None, "Kim", "Beta", "k@beta.com", "New", None, "2026-12-01"])
    for n in (1, 2, 3):
        sync(book, Config(), day(n))
    key = LOG_FIELDS.index("key")
    assert [r[key] for r in book.tabs["Workflow Log"][1:]] == ["WF-0001|LEAD-0103|from:created:2026-12-01"]


def test_a_deleted_state_makes_no_record_new_so_an_event_evaluated_with_its_if_false_stays_unfired(tmp_path):
    # The State rebuilt from the Log knows no record: watching starts again, so none is "first
    # seen" (every lead would be, and each event since the rule was armed due again).
    rule = _rule("0 days after Created")
    rule[5] = "Status = Qualified"
    book = Book("xlsx", tmp_path, None, _tabs([rule]))
    book.sync(0)
    book.sync(1)
    # Typed (IDs and all) after day 1 was evaluated: first seen, and due, at its second sync.
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", None, "2026-12-02"])
    book.append("Leads", ["LEAD-0003", "Lee", "Kite", "l@kite.com", "Qualified", None, "2026-12-02"])
    book.sync(1)
    assert _keys(book) == ["WF-0001|LEAD-0003|from:created:2026-12-02"]
    book.set("Leads", 3, 5, "Qualified")   # LEAD-0002's If holds only after its due day was evaluated
    book.sync(2)
    _delete(book, STATE)
    book.sync(3)
    book.sync(4)
    assert _keys(book) == ["WF-0001|LEAD-0003|from:created:2026-12-02"]


def _rename(book: Book, old: str, new: str) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(book.path)
    wb[old].title = new
    wb.save(book.path)


def test_a_lead_unread_for_a_while_is_no_new_record_once_read_again(tmp_path):
    # A bad cell leaves its row out of the rules (said on the Validation tab), a renamed tab all
    # of them; neither is a new record once read again: LEAD-0001, there when the rules were
    # armed, is not "created", and its 0-day event, evaluated with its If false, stays unfired.
    rules = [["WF-0001", "New", "yes", "lead", "created", "", "notify", None, None, None, None, None],
             [*_rule("0 days after Created")[:5], "Status = Qualified", *_rule("0 days after Created")[6:]]]
    rules[1][0] = "WF-0002"
    tabs = _tabs(rules)
    tabs["Leads"][1][6] = "2026-12-01"
    book = Book("xlsx", tmp_path, None, tabs)
    book.sync(0)
    book.set("Leads", 2, 7, "the first")   # not a date: LEAD-0001 is left out
    out = book.sync(1)
    assert any(i.code == "bad_date" and i.row == 2 for i in out.crm.report.issues)
    book.set("Leads", 2, 7, "2026-12-01")
    book.set("Leads", 2, 5, "Qualified")
    book.sync(2)
    book.sync(3)
    _rename(book, "Leads", "Leads 2026")   # no Leads tab this sync
    book.sync(4)
    _rename(book, "Leads 2026", "Leads")
    book.sync(5)
    book.sync(6)
    assert _log(book) == []


def test_a_deal_deleted_and_typed_back_does_not_enter_its_stage_again():
    # OPP-0001 entered Proposal on day 1 (a task); on day 3 its row is gone (deleted by mistake),
    # on day 4 it is back, still in Proposal: it was not made in Proposal, so no second task.
    from sheetcrm.workbook.memory import MemoryWorkbook
    from test_workflows import RULES

    book = MemoryWorkbook(_tabs(RULES[:1]))
    sync(book, Config(), day(0))
    book.tabs["Opportunities"][1][5] = "Proposal"
    sync(book, Config(), day(1))
    row = book.tabs["Opportunities"].pop(1)
    sync(book, Config(), day(3))
    book.tabs["Opportunities"].insert(1, row)
    for n in (4, 5):
        sync(book, Config(), day(n))
    key = LOG_FIELDS.index("key")
    assert [r[key] for r in book.tabs["Workflow Log"][1:]] == ["WF-0001|OPP-0001|enters:Proposal@2026-12-02"]
    assert [r[0] for r in book.tabs["Tasks"][1:]] == ["TSK-0001"]
