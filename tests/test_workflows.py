"""Workflows (issue 14): rules in the Workflows tab fire exactly at their edge, once, on real
.xlsx files and on the Sheets emulator (gspread over HTTP), with the days stepped one by one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.workflow_tabs import LOG_FIELDS
from test_gsheets import Traced

DAY0 = dt.date(2026, 12, 1)
WF_HEADER = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)", "Template", "Assign To",
             "Cap"]
PEOPLE_TABS = ("Accounts", "Contacts", "Leads", "Opportunities", "Activities", "Tasks", "Workflows")


def day(n: int) -> dt.date:
    return DAY0 + dt.timedelta(days=n)


def _tabs(rules: list[list]) -> dict[str, list[list]]:
    return {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Sam"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email", "Owner"],
                     ["CON-0001", "ACC-0001", "Bo", "Li", "bo@initech.com", "Sam"]],
        "Leads": [["ID", "Last Name", "Company", "Email", "Status", "Owner", "Created"],
                  ["LEAD-0001", "Ng", "Acme", "ana@acme.com", "New", "Sam", "2026-11-20"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Close Date", "Created",
                           "Notes"],
                          ["OPP-0001", "Big", "ACC-0001", "CON-0001", "Sam", "Qualification", 5000, "2026-12-10",
                           "2026-11-01", "keep me"],
                          ["OPP-0002", "Small", "ACC-0001", "CON-0001", "Sam", "Qualification", 500, "2027-03-01",
                           "2026-11-01", None]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                       ["ACT-0001", "2026-11-30", "Call", "hi", "OPP-0001"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF_HEADER, *rules],
    }


RULES = [
    ["WF-0001", "Proposal follow-up", "yes", "opportunity", "enters Proposal", "Amount > 1000", "create task",
     "Follow up {{ Name }}", 3, None, None, None],
    ["WF-0002", "Round robin", "yes", "lead", "created", "", "assign owner", None, None, None, "Ana, Bo", None],
    ["WF-0003", "Close reminder", "yes", "opportunity", "2 days before Close Date", "", "log activity",
     "Closes soon: {{ Name }}", None, None, None, None],
    ["WF-0004", "Won", "yes", "opportunity", "Stage changes to Closed Won", "", "notify", None, None, None, None, None],
]


class Book:
    """One workbook on either backend, edited between syncs the way a person would."""

    def __init__(self, kind: str, tmp_path, emu_server, tabs: dict[str, list[list]]) -> None:
        self.kind = kind
        if kind == "xlsx":
            wb = openpyxl.Workbook()
            wb.remove(wb.active)
            for title, rows in tabs.items():
                ws = wb.create_sheet(title)
                for row in rows:
                    ws.append(row)
            wb["Opportunities"]["K1"] = "Formula"
            wb["Opportunities"]["K2"] = "=LEN(B2)"  # a person's formula: kept
            self.path = tmp_path / "crm.xlsx"
            wb.save(self.path)
            self.book = XlsxWorkbook(self.path)
        else:
            self.server = emu_server
            self.key = emu_server.create_spreadsheet("CRM", tabs)
            self.traced = Traced(self.key)
            self.book = self.traced.book

    def rows(self, tab: str) -> list[list]:
        grid = self.book.read().tabs.get(tab)
        return [[None if v == "" else v for v in r] for r in grid.rows] if grid else []

    def records(self, tab: str) -> list[dict]:
        rows = self.rows(tab)
        return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]

    def set(self, tab: str, row: int, col: int, value) -> None:
        """A person's edit of one cell (1-based)."""
        if self.kind == "xlsx":
            wb = openpyxl.load_workbook(self.path)
            wb[tab].cell(row, col).value = value
            wb.save(self.path)
        else:
            self.traced.book.client.open_by_key(self.key).worksheet(tab).update_cell(row, col, value)

    def append(self, tab: str, values: list) -> None:
        n = len(self.rows(tab)) + 1
        for c, v in enumerate(values, 1):
            if v is not None:
                self.set(tab, n, c, v)

    def sync(self, n: int, config: Config | None = None):
        return sync(self.book, config or Config(), day(n))


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def _book(kind, tmp_path, request, rules=RULES) -> Book:
    server = request.getfixturevalue("emu") if kind == "google" else None
    return Book(kind, tmp_path, server, _tabs(rules))


def _log(book: Book) -> list[dict]:
    return book.records("Workflow Log")


def _as_date(v):
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, (int, float)):
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(v))
    return v


def test_each_rule_fires_exactly_at_its_edge_once_day_by_day(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    before = {tab: book.rows(tab) for tab in PEOPLE_TABS}
    first = book.sync(0)
    # Armed today: nothing that already exists fires (no flood), nothing is due yet.
    assert _log(book) == [] and first.workflows.outcome.firings == []
    # Every cell a person wrote is as it was (sheetcrm's own columns aside).
    for tab, rows in before.items():
        after = book.rows(tab)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                assert after[r][c] == value, (tab, r, c)
    if kind == "xlsx":
        assert openpyxl.load_workbook(book.path)["Opportunities"]["K2"].value == "=LEN(B2)"

    book.set("Opportunities", 2, 6, "Proposal")   # OPP-0001 enters Proposal (Amount 5000 > 1000)
    book.set("Opportunities", 3, 6, "Proposal")   # OPP-0002 too, but its If is false (500)
    book.append("Leads", [None, "Kim", "Beta", "k@beta.com", "New", None, "2026-12-02"])
    book.sync(1)   # the new lead gets its ID today; it is a record from the next sync on
    assert [e["Key"] for e in _log(book)] == ["WF-0001|OPP-0001|enters:Proposal@2026-12-02"]
    task = book.records("Tasks")[0]
    assert (task["ID"], task["Subject"], _as_date(task["Due"]), task["Related"], task["Owner"], task["Status"]) == (
        "TSK-0001", "Follow up Big", day(4), "OPP-0001", "Sam", "Open")

    book.sync(2)
    keys = [e["Key"] for e in _log(book)]
    assert keys[1:] == ["WF-0002|LEAD-0002|created"]
    assert book.records("Leads")[1]["Owner"] == "Ana"
    for n in range(3, 7):
        book.sync(n)
        assert [e["Key"] for e in _log(book)] == keys, n  # nothing new until the Close Date reminder
    book.sync(7)   # 2026-12-08 = 2 days before the Close Date
    keys = [e["Key"] for e in _log(book)]
    assert keys[-1] == "WF-0003|OPP-0001|from:close_date:2026-12-10"
    activity = book.records("Activities")[-1]
    assert (activity["ID"], activity["Subject"], activity["Related"], activity["Type"]) == (
        "ACT-0002", "Closes soon: Big", "OPP-0001", "Note")
    book.set("Opportunities", 2, 6, "Closed Won")
    book.sync(8)
    assert [e["Key"] for e in _log(book)][-1] == "WF-0004|OPP-0001|changes:stage:Proposal>Closed Won@2026-12-09"
    for n in (8, 9, 10):
        book.sync(n)
    assert len(_log(book)) == 4 and len({e["Key"] for e in _log(book)}) == 4  # each once
    assert len(book.records("Tasks")) == 1 and len(book.records("Activities")) == 2
    rules = {r["ID"]: r for r in book.records("Workflows")}
    assert [rules[k].get("Firings") for k in ("WF-0001", "WF-0002", "WF-0003", "WF-0004")] == [1, 1, 1, 1]
    assert _as_date(rules["WF-0003"]["Last Fired"]) == day(7)
    dashboard = {r[0]: r[1] for r in book.rows("Dashboard")}
    assert dashboard["Workflow firings, WF-0001 Proposal follow-up"] == 1
    # A quiet day writes nothing at all.
    assert book.sync(10).result is None


def test_a_service_down_three_days_fires_each_missed_event_once(kind, tmp_path, request):
    rules = [["WF-0001", "Daily", "yes", "opportunity", "0 days after Close Date", "", "notify", None, None, None,
              None, None]]
    tabs = _tabs(rules)
    opps = tabs["Opportunities"]
    opps[1][7], opps[2][7] = "2026-12-03", "2026-12-04"   # due on days 2 and 3
    server = request.getfixturevalue("emu") if kind == "google" else None
    book = Book(kind, tmp_path, server, tabs)
    book.sync(0)
    book.sync(1)
    assert _log(book) == []
    book.sync(5)   # down on days 2, 3 and 4
    assert [e["Key"] for e in _log(book)] == ["WF-0001|OPP-0001|from:close_date:2026-12-03",
                                             "WF-0001|OPP-0002|from:close_date:2026-12-04"]
    book.sync(5)
    book.sync(6)
    assert len(_log(book)) == 2


def test_editing_a_rule_never_refires_and_inactive_time_is_not_caught_up(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    book.sync(0)
    book.set("Opportunities", 2, 6, "Proposal")
    book.sync(1)
    assert len(_log(book)) == 1
    book.set("Workflows", 2, 2, "Renamed")            # Name
    book.set("Workflows", 2, 8, "New text {{ ID }}")  # Subject
    book.sync(2)
    assert len(_log(book)) == 1 and len(book.records("Tasks")) == 1
    # Close reminder switched off over its due day, then on again: the day it was off stays off.
    book.set("Workflows", 4, 3, "no")
    book.sync(6)
    book.sync(7)
    book.set("Workflows", 4, 3, "yes")
    book.sync(9)
    assert not any(e["Rule"] == "WF-0003" for e in _log(book))


def test_a_self_triggering_pair_is_stopped_with_a_clear_message(kind, tmp_path, request):
    rules = [
        ["WF-0001", "Start", "yes", "opportunity", "enters Proposal", "", "create task", "Ping", 1, None, "Ana", None],
        ["WF-0002", "Ping", "yes", "task", "created", "Owner = Ana", "create task", "Pong", 1, None, "Bo", None],
        ["WF-0003", "Pong", "yes", "task", "created", "Owner = Bo", "create task", "Ping", 1, None, "Ana", None],
    ]
    book = _book(kind, tmp_path, request, rules)
    book.sync(0)
    book.set("Opportunities", 2, 6, "Proposal")
    outcomes = [book.sync(n) for n in range(1, 7)]
    tasks = book.records("Tasks")
    # Start makes TSK-0001 (Ana); Ping answers TSK-0002 (Bo); Pong TSK-0003 (Ana); Ping again would loop.
    assert [t["Subject"] for t in tasks] == ["Ping", "Pong", "Ping"]
    stopped = [e for e in _log(book) if e["Result"] == "stopped"]
    assert len(stopped) == 1 and stopped[0]["Rule"] == "WF-0002" and stopped[0]["Record"] == "TSK-0003"
    # The Event says what happened to the record; Details why it was stopped; Chain the loop (issue 14).
    assert stopped[0]["Event"] == "created" and stopped[0]["Chain"] == "WF-0001 → WF-0002 → WF-0003 → WF-0002"
    assert "same chain of rules" in stopped[0]["Details"] and "WF-0001 → WF-0002 → WF-0003 → WF-0002" in stopped[0]["Details"]
    warnings = [i for o in outcomes for i in o.crm.report.issues if i.code == "workflow_loop"]
    assert len(warnings) == 1 and warnings[0].tab == "Workflows" and warnings[0].row == 3
    assert [e["Created Record"] for e in _log(book) if e["Result"] == "done"] == ["TSK-0001", "TSK-0002", "TSK-0003"]


def test_a_rule_stops_after_max_firings_per_record(kind, tmp_path, request):
    rules = [["WF-0001", "Amount", "yes", "opportunity", "Amount changes", "", "notify", None, None, None, None, None]]
    book = _book(kind, tmp_path, request, rules)
    config = Config.model_validate({"workflows": {"max_per_record": 2}})
    book.sync(0, config)
    outcomes = []
    for n, amount in enumerate((6000, 7000, 8000, 9000), 1):
        book.set("Opportunities", 2, 7, amount)
        outcomes.append(book.sync(n, config))
    results = [(e["Result"], e["Key"].split("|")[2].split("@")[0]) for e in _log(book)]
    assert results == [("done", "changes:amount:5000>6000"), ("done", "changes:amount:6000>7000"),
                       ("stopped", "stopped")]
    assert any(i.code == "workflow_max_firings" for i in outcomes[-1].crm.report.issues)


def test_an_email_is_queued_as_a_draft_and_never_sent_without_a_person(kind, tmp_path, request):
    from sheetcrm.mail.outbox import due_rows, read_outbox

    rules = [["WF-0001", "Welcome", "yes", "lead", "created", "", "send email", "Welcome {{ Company }}", None,
              "welcome", None, None]]
    book = _book(kind, tmp_path, request, rules)
    # The rule's template exists (a sync checks it: tests/mail/test_workflow_template_checked.py).
    config = Config(templates=str(Path(__file__).parent / "fixtures" / "workflow-templates"))
    book.sync(0, config)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    out = book.records("Outbox")
    assert [(r["ID"], r["Opportunity"], r["To"], r["Subject"], r["Status"]) for r in out] == [
        ("OUT-0001", "LEAD-0002", "k@beta.com", "Welcome Beta", "Draft")]
    # A Draft is never due; approved by a person it is (tests/mail/test_workflow_mail.py sends it).
    when = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
    assert due_rows(read_outbox(book.book.read(), "en"), when) == []
    book.set("Outbox", 2, 6, "Approved")
    assert [r.text("id") for r in due_rows(read_outbox(book.book.read(), "en"), when)] == ["OUT-0001"]


def test_bad_rules_are_validation_issues_at_their_cells_and_the_others_run(kind, tmp_path, request):
    rules = [
        ["WF-0001", "Bad when", "yes", "opportunity", "whenever", "", "notify", None, None, None, None, None],
        ["WF-0002", "Bad column", "yes", "opportunity", "Colour changes", "", "notify", None, None, None, None, None],
        ["WF-0003", "Bad if", "yes", "opportunity", "created", "Nope > 3", "notify", None, None, None, None, None],
        ["WF-0004", "No subject", "yes", "opportunity", "created", "", "create task", None, None, None, None, None],
        ["WF-0005", "Bad then", "yes", "opportunity", "created", "", "dance", None, None, None, None, None],
        ["WF-0006", "Good", "yes", "opportunity", "created", "", "notify", None, None, None, None, None],
    ]
    book = _book(kind, tmp_path, request, rules)
    outcome = book.sync(0)
    found = {(i.row, i.column, i.code) for i in outcome.crm.report.issues if i.code.startswith("workflow")}
    assert found == {(2, "E", "workflow_bad_when"), (3, "E", "workflow_unknown_column"),
                     (4, "F", "workflow_unknown_column"), (5, "H", "workflow_missing_argument"),
                     (6, "G", "workflow_bad_then")}
    validation = book.records("Validation")
    assert {(r["Row"], r["Code"]) for r in validation if str(r["Code"]).startswith("workflow")} == {
        (2, "workflow_bad_when"), (3, "workflow_unknown_column"), (4, "workflow_unknown_column"),
        (5, "workflow_missing_argument"), (6, "workflow_bad_then")}
    book.append("Opportunities", ["OPP-0003", "New deal", "ACC-0001", None, "Sam", "Prospecting", 100])
    book.sync(1)
    assert [e["Rule"] for e in _log(book)] == ["WF-0006"]


def test_round_robin_respects_caps_and_never_overwrites_an_owner(kind, tmp_path, request):
    rules = [["WF-0001", "RR", "yes", "lead", "created", "", "assign owner", None, None, None, "Ana, Bo", 1]]
    book = _book(kind, tmp_path, request, rules)
    book.sync(0)
    for n in range(2, 6):
        book.append("Leads", [f"LEAD-000{n}", f"P{n}", f"C{n}", None, "New", "Sam" if n == 5 else None])
    book.sync(1)
    owners = [r.get("Owner") for r in book.records("Leads")]
    # Ana, then Bo; then both are at their cap of 1 open lead; LEAD-0005 had its owner already.
    assert owners == ["Sam", "Ana", "Bo", None, "Sam"]
    results = {e["Record"]: e["Result"] for e in _log(book)}
    assert results == {"LEAD-0002": "done", "LEAD-0003": "done", "LEAD-0004": "skipped", "LEAD-0005": "skipped"}


def test_round_robin_counts_an_owner_however_the_cells_spell_the_name(tmp_path, request):
    # LEAD-0001 is Ana Lee's, typed "ana  lee" (lower case, a doubled space): she is at her cap.
    rules = [["WF-0001", "RR", "yes", "lead", "created", "", "assign owner", None, None, None, "Ana Lee, Bo", 1]]
    book = _book("xlsx", tmp_path, request, rules)
    book.set("Leads", 2, 6, "ana  lee")
    book.sync(0)
    book.append("Leads", ["LEAD-0002", "P2", "C2", None, "New", None])
    book.sync(1)
    assert [r.get("Owner") for r in book.records("Leads")] == ["ana  lee", "Bo"]


def test_a_google_sync_with_firings_costs_a_fixed_number_of_requests(tmp_path, request):
    book = _book("google", tmp_path, request)
    book.sync(0)
    book.set("Opportunities", 2, 6, "Proposal")
    book.traced.reset()
    outcome = book.sync(1)
    assert len(outcome.workflows.outcome.firings) == 1
    # The sync's 4 reads, the read-back of a write into a people's tab (the new task's row,
    # docs/concurrency.md), and one batchUpdate holding the task, its Log row and the State.
    assert book.traced.counts() == (5, 1)
    book.sync(1)   # the deal's Next Step shows the new task: records are computed from the read after
    book.traced.reset()
    book.sync(1)
    # Nothing to do: the reads this workbook costs without any rule (metadata, values, the
    # number formats of its percent and money columns), and no write.
    assert book.traced.counts() == (3, 0)


def test_a_dropped_action_drops_its_log_row_and_its_edge_so_the_next_sync_fires_once():
    from sheetcrm.sync import plan_sync
    from sheetcrm.workbook.memory import MemoryWorkbook

    book = MemoryWorkbook(_tabs(RULES[:1]))
    sync(book, Config(), day(0))
    book.tabs["Opportunities"][1][5] = "Proposal"
    _crm, _results, plan = plan_sync(book.read(), Config(), day(1))
    book.tabs["Tasks"].append([None, "2026-12-09", "Typed by a person meanwhile", "OPP-0002", "Eva", "Open"])
    result = book.write(plan)
    assert any(w.tab == "Tasks" for w in result.skipped)
    assert "Workflow Log" not in book.tabs or len(book.tabs["Workflow Log"]) == 1   # no Log row without its task
    seen = [r for r in book.tabs["Workflow State"] if r[0] == "seen" and r[1] == "OPP-0001" and r[2] == "stage"]
    assert seen[0][3] == "Qualification"                                            # the edge is still to come
    sync(book, Config(), day(2))
    tasks = [r for r in book.tabs["Tasks"][1:] if r and r[2] == "Follow up Big"]
    typed = next(r for r in book.tabs["Tasks"][1:] if r[2] == "Typed by a person meanwhile")
    assert len(tasks) == 1 and tasks[0][0] not in (typed[0], "TSK-0001")   # never an ID handed out before
    assert book.tabs["Tasks"].index(tasks[0]) > book.tabs["Tasks"].index(typed)
    key = LOG_FIELDS.index("key")
    assert [r[key] for r in book.tabs["Workflow Log"][1:]] == ["WF-0001|OPP-0001|enters:Proposal@2026-12-03"]
    sync(book, Config(), day(3))
    assert len(book.tabs["Workflow Log"]) == 2


def test_an_id_retyped_in_another_case_is_the_same_record_to_every_rule(tmp_path, request):
    """IDs compare as references do (`cells.match_key`): "opp-0002" retyped over OPP-0002 is the
    same deal, so "created" does not fire again (no second task), its watched values carry on
    (a change is an edge, not a first sight), and its firings count towards max_per_record."""
    rules = [["WF-0001", "New deal", "yes", "opportunity", "created", "", "create task", "Call {{ Name }}", 1, None,
              None, None],
             ["WF-0002", "Amount", "yes", "opportunity", "Amount changes", "", "notify", None, None, None, None, None]]
    book = _book("xlsx", tmp_path, request, rules)
    config = Config.model_validate({"workflows": {"max_per_record": 1}})
    book.sync(0, config)
    book.append("Opportunities", [None, "Third", "ACC-0001", "CON-0001", "Sam", "Qualification", 100, "2027-01-01",
                                  "2026-12-01"])
    book.sync(1, config)          # OPP-0003 gets its ID
    book.sync(2, config)          # and is created for the rules
    book.set("Opportunities", 4, 7, 200)
    book.sync(3, config)          # WF-0002 fires once on it
    assert [e["Key"] for e in _log(book)] == ["WF-0001|OPP-0003|created",
                                             "WF-0002|OPP-0003|changes:amount:100>200@2026-12-04"]
    book.set("Opportunities", 4, 1, "opp-0003")
    book.sync(4, config)
    book.set("Opportunities", 4, 7, 300)
    book.sync(5, config)
    keys = [e["Key"] for e in _log(book)]
    assert keys[:2] == ["WF-0001|OPP-0003|created", "WF-0002|OPP-0003|changes:amount:100>200@2026-12-04"]
    assert keys[2:] == ["WF-0002|opp-0003|stopped"]     # its second firing: max_per_record is 1
    assert [t["Subject"] for t in book.records("Tasks")] == ["Call Third"]
    state = [r for r in book.rows("Workflow State") if r[0] == "seen" and r[2] == "amount"]
    assert sorted(r[1] for r in state) == ["OPP-0001", "OPP-0002", "opp-0003"]  # the ID as the row spells it now
    # A rule's ID retyped is the same rule: its firings still count (Firings, max_per_record).
    book.set("Workflows", 2, 1, "wf-0001")
    book.set("Workflows", 3, 1, "Wf-0002")
    book.set("Opportunities", 4, 7, 400)
    book.sync(6, config)
    assert [e["Key"] for e in _log(book)] == keys
    assert [(r["ID"], r["Firings"]) for r in book.records("Workflows")] == [("wf-0001", 1), ("Wf-0002", 1)]
    assert ["armed", "wf-0001"] in [r[:2] for r in book.rows("Workflow State")]


def test_a_conditions_value_of_another_type_than_its_column_is_reported_at_the_rule(tmp_path):
    # A date column compared with a number (and a number column with a date) could never hold:
    # reported where the If is written, the rule does not run (attack2 fault 6).
    from books import xlsx_book
    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    leads = [["ID", "First Name", "Last Name", "Company", "Status", "Demo", "Visits"],
             ["LEAD-0001", "Ana", "Ruiz", "Acme", "New", dt.date(2026, 1, 1), 46000],
             ["LEAD-0002", "Bo", "Li", "Initech", "New", dt.date(2026, 2, 1), 46001]]
    rules = [{"id": f"WF-000{i}", "record": "lead", "when": "created", "if": when, "then": "create task",
              "subject": "Call"} for i, when in enumerate(("Demo > 5", "Visits >= 2025-01-01", "Demo > 2025-06-01"), 1)]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": leads})
    out = sync(book, Config.model_validate({"workflows": {"rules": rules}}), dt.date(2026, 3, 1))
    said = [(i.tab, i.row, i.value, i.code) for i in out.crm.report.issues if i.code.startswith("workflow_")]
    assert said == [("sheetcrm.toml", 1, "Demo > 5", "workflow_type_mismatch"),
                    ("sheetcrm.toml", 2, "Visits >= 2025-01-01", "workflow_type_mismatch")]


# --- an action its tab cannot take whole waits (not logged), and fires once it can --------------

def _waiting(outcome) -> list:
    return [i for i in outcome.crm.report.issues if i.code == "workflow_waiting"]


def test_a_task_waits_while_the_tasks_tab_has_no_due_column_and_lands_with_its_due_once_fixed(kind, tmp_path,
                                                                                              request):
    # The Tasks tab's Due column is headed "Target" (no name sheetcrm knows; "Deadline" now is): no row of it is
    # read. A task written there would have no Due, and its firing, logged done, would never
    # get one: the firing waits, said once at the rule, and happens when the header is fixed.
    book = _book(kind, tmp_path, request, RULES[:1])
    book.set("Tasks", 1, 2, "Target")
    book.sync(0)
    book.set("Opportunities", 2, 6, "Proposal")
    for n in (1, 2):
        outcome = book.sync(n)
        assert _log(book) == [] and book.records("Tasks") == []
        (said,) = _waiting(outcome)
        assert (said.tab, said.row, said.column, said.severity) == ("Workflows", 2, "G", "warning")
        assert '"Due"' in said.message and "OPP-0001" in said.message
        assert said.hint.startswith('Add a column headed "Due" (or "Vencimiento") to the "Tasks" tab')
    book.set("Tasks", 1, 2, "Due")
    assert not _waiting(book.sync(3))
    assert [e["Key"] for e in _log(book)] == ["WF-0001|OPP-0001|enters:Proposal@2026-12-02"]
    (task,) = book.records("Tasks")
    assert (task["Subject"], _as_date(task["Due"]), task["Related"]) == ("Follow up Big", day(4), "OPP-0001")
    book.sync(4)
    assert len(_log(book)) == 1 and len(book.records("Tasks")) == 1   # once


def test_a_task_with_no_tasks_tab_and_an_owner_with_no_owner_column_wait_until_the_sheet_has_them(tmp_path, request):
    rules = [["WF-0001", "Call", "yes", "lead", "created", "", "create task", "Call {{ Company }}", 1, None, None, None],
             ["WF-0002", "RR", "yes", "lead", "created", "", "assign owner", None, None, None, "Ana, Bo", None]]
    tabs = _tabs(rules)
    del tabs["Tasks"]
    tabs["Leads"] = [["ID", "Last Name", "Company", "Email", "Status", "Created"],
                     ["LEAD-0001", "Ng", "Acme", "ana@acme.com", "New", "2026-11-20"]]
    book = Book("xlsx", tmp_path, None, tabs)
    book.sync(0)
    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "2026-12-01"])
    outcome = book.sync(1)
    assert _log(book) == []
    assert sorted((i.row, i.message.split(". ")[0]) for i in _waiting(outcome)) == [
        (2, 'There is no "Tasks" tab'), (3, 'The "Leads" tab has no column sheetcrm reads as "Owner"')]
    wb = openpyxl.load_workbook(book.path)
    wb.create_sheet("Tasks").append(["ID", "Due", "Subject", "Related", "Owner", "Status"])
    wb["Leads"].cell(1, wb["Leads"].max_column + 1).value = "Owner"   # after sheetcrm's own columns
    wb.save(book.path)
    assert not _waiting(book.sync(2))
    assert sorted(e["Key"] for e in _log(book)) == ["WF-0001|LEAD-0002|created", "WF-0002|LEAD-0002|created"]
    (task,) = book.records("Tasks")
    assert (task["Subject"], _as_date(task["Due"]), task["Related"]) == ("Call Beta", day(2), "LEAD-0002")
    assert [r.get("Owner") for r in book.records("Leads")] == [None, "Ana"]
    book.sync(3)
    assert len(_log(book)) == 2


# --- adoption: what is there when a rule is armed is "before" it, with its ID or not yet ----------

def test_a_workbook_adopted_without_ids_fires_nothing_for_what_was_there_when_its_rules_were_armed(kind, tmp_path,
                                                                                                  request):
    rules = [["WF-0001", "Proposal follow-up", "yes", "opportunity", "enters Proposal", "", "create task",
              "Follow up {{ Name }}", 3, None, None, None],
             ["WF-0002", "Round robin", "yes", "lead", "created", "Owner is empty", "assign owner", None, None, None,
              "Ana, Bo", None]]
    tabs = _tabs(rules)
    tabs["Leads"] = [tabs["Leads"][0], *([None, f"L{n}", f"C{n}", f"p{n}@c{n}.com", "New", None, "2026-06-01"]
                                         for n in (1, 2, 3))]
    tabs["Opportunities"][1][0] = tabs["Opportunities"][2][0] = None
    tabs["Opportunities"][1][5] = "Proposal"   # a deal already in Proposal
    book = Book(kind, tmp_path, request.getfixturevalue("emu") if kind == "google" else None, tabs)
    book.sync(0)   # the rules are armed, and every record gets its ID
    assert [r["ID"] for r in book.records("Leads")] == ["LEAD-0001", "LEAD-0002", "LEAD-0003"]
    book.sync(1)
    book.sync(2)
    assert _log(book) == [] and book.records("Tasks") == []
    assert [r.get("Owner") for r in book.records("Leads")] == [None, None, None]
    # A lead typed after the rules were armed is created for them: once, when its ID has landed.
    book.append("Leads", [None, "Kim", "Beta", "k@beta.com", "New", None, "2026-12-03"])
    book.sync(3)
    book.sync(4)
    book.sync(5)
    assert [e["Key"] for e in _log(book)] == ["WF-0002|LEAD-0004|created"]


def test_a_record_whose_id_fill_was_dropped_at_adoption_is_still_no_new_record():
    """The ID fills of the arming sync are dropped (on Google, a person sorts the rows, or types
    an ID, while it runs): the records get other IDs later, but are known again by their cells,
    so "created" does not fire for them; a lead typed since fires once."""
    from sheetcrm.sync import plan_sync
    from sheetcrm.workbook.memory import MemoryWorkbook

    rules = [["WF-0001", "Round robin", "yes", "lead", "created", "", "assign owner", None, None, None, "Ana", None]]
    tabs = _tabs(rules)
    tabs["Leads"] = [tabs["Leads"][0], *([None, f"L{n}", f"C{n}", f"p{n}@c{n}.com", "New", None, "2026-06-01"]
                                         for n in (1, 2, 3))]
    book = MemoryWorkbook(tabs)
    _crm, _results, plan = plan_sync(book.read(), Config(), day(0))
    leads = book.tabs["Leads"]
    leads[1], leads[2] = leads[2], leads[1]   # sorted meanwhile
    leads[3][0] = "LEAD-0100"                 # an ID typed meanwhile
    book.write(plan)
    assert [r[0] for r in book.tabs["Leads"][1:]] == [None, None, "LEAD-0100"]   # no fill landed
    book.tabs["Leads"].append([None, "Kim", "Beta", "k@beta.com", "New", None, "2026-12-02"])
    for n in (1, 2, 3):
        sync(book, Config(), day(n))
    key = LOG_FIELDS.index("key")
    assert [r[key] for r in book.tabs["Workflow Log"][1:]] == ["WF-0001|LEAD-0103|created"]
    assert [(r[1], r[5]) for r in book.tabs["Leads"][1:]] == [("L2", None), ("L1", None), ("L3", None),
                                                            ("Kim", "Ana")]


def test_round_robin_cap_does_not_count_a_lead_sheetcrm_converted(tmp_path, request):
    # sheetcrm's conversion leaves the Status as it was (Qualified) and fills the Converted
    # columns: the lead is converted, so it no longer counts towards Ana's Cap of 1 open lead.
    rules = [["WF-0001", "RR", "yes", "lead", "created", "Owner is empty", "assign owner", None, None, None,
              "Ana, Bo", 1]]
    tabs = _tabs(rules)
    tabs["Leads"] = [["ID", "Last Name", "Company", "Email", "Status", "Owner", "Created", "Convert"],
                     ["LEAD-0001", "Ng", "Acme", "ng@acme.com", "Qualified", "Ana", "2026-11-20", "yes"],
                     ["LEAD-0002", "Oz", "Kite", "oz@kite.com", "Contacted", "Bo", "2026-11-20", None]]
    book = Book("xlsx", tmp_path, None, tabs)
    book.sync(0)
    lead = book.records("Leads")[0]
    assert (lead["Status"], lead["Converted Account"]) == ("Qualified", "ACC-0002")
    book.append("Leads", ["LEAD-0003", "Ruiz", "Nimbus", "eva@nimbus.com", "New", None, "2026-12-02"])
    book.sync(1)
    assert [r.get("Owner") for r in book.records("Leads")] == ["Ana", "Bo", "Ana"]
    assert [(e["Record"], e["Result"], e["Details"]) for e in _log(book)] == [
        ("LEAD-0003", "done", "assigned to Ana (round-robin, 1 of Cap 1)")]


def test_a_rule_row_with_a_bad_cell_keeps_its_id_so_no_other_row_fires_under_it(tmp_path):
    """A row skipped for a bad cell (Due "three") still owns its ID: a second row with the same
    ID is a duplicate and does not run, else its firings would be logged under the ID and the
    first row, once fixed, would inherit them (never firing those events, its Firings counting
    them)."""
    rules = [["WF-0001", "Bad due", "yes", "opportunity", "created", "", "create task", "Call {{ Name }}", "three",
              None, None, None],
             ["wf-0001", "Good", "yes", "opportunity", "created", "", "notify", None, None, None, None, None]]
    book = Book("xlsx", tmp_path, None, _tabs(rules))
    found = {(i.row, i.column, i.code) for i in book.sync(0).crm.report.issues if i.row in (2, 3)}
    assert found == {(2, "I", "bad_integer"), (3, "A", "workflow_duplicate_id")}
    book.append("Opportunities", ["OPP-0003", "New deal", "ACC-0001", None, "Sam", "Prospecting", 100])
    book.sync(1)
    assert _log(book) == []
    assert [(r.get("Firings"), r.get("Last Fired")) for r in book.records("Workflows")] == [(None, None)] * 2


def test_sorting_a_records_tab_rewrites_no_workflow_state_cell():
    """The State's `seen` rows keep the order the State had them, new ones last: a person
    sorting the Leads tab moves no State row, so the sync after it writes no State cell (it
    rewrote one row per lead and watched field, same values in new places)."""
    from sheetcrm.sync import plan_sync
    from sheetcrm.workbook.memory import MemoryWorkbook

    rules = [["WF-0001", "New lead", "yes", "lead", "created", "", "notify", None, None, None, None, None],
             ["WF-0002", "Status", "yes", "lead", "Status changes", "", "notify", None, None, None, None, None]]
    tabs = _tabs(rules)
    tabs["Leads"] += [[f"LEAD-000{n}", f"L{n}", f"C{n}", f"p{n}@c{n}.com", "New", "Sam", "2026-11-20"]
                      for n in (2, 3, 4)]
    book = MemoryWorkbook(tabs)
    sync(book, Config(), day(0))
    state = [list(r) for r in book.tabs["Workflow State"]]
    book.tabs["Leads"][1:] = book.tabs["Leads"][:0:-1]   # sorted Z to A
    _crm, _results, plan = plan_sync(book.read(), Config(), day(0))
    assert [w for w in plan.writes if w.tab == "Workflow State"] == []
    book.tabs["Leads"].append(["LEAD-0005", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-01"])
    sync(book, Config(), day(1))
    after = book.tabs["Workflow State"]
    assert [r for r in after if r[0] == "seen"][:8] == [r for r in state if r[0] == "seen"]   # new ones last
    assert {r[1] for r in after if r[0] == "seen"} >= {"LEAD-0005"}


def test_two_assignment_rules_on_one_new_lead_give_it_one_owner_and_say_so():
    # A web lead matches both rules: the first gives it Ana; the second, in the same sync, finds
    # it assigned and is logged skipped. Both "done" once wrote Bo over Ana, the Log saying
    # Ana had it.
    from sheetcrm.workbook.memory import MemoryWorkbook

    rules = [["WF-0001", "Web leads", "yes", "lead", "created", "", "assign owner", None, None, None, "Ana", None],
             ["WF-0002", "All leads", "yes", "lead", "created", "", "assign owner", None, None, None, "Bo", None]]
    book = MemoryWorkbook(_tabs(rules))
    sync(book, Config(), day(0))
    book.tabs["Leads"].append(["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", None, "2026-12-02"])
    sync(book, Config(), day(1))
    assert book.tabs["Leads"][2][5] == "Ana"
    result, details = LOG_FIELDS.index("result"), LOG_FIELDS.index("details")
    assert [(r[1], r[result], r[details]) for r in book.tabs["Workflow Log"][1:]] == [
        ("WF-0001", "done", "assigned to Ana (round-robin)"),
        ("WF-0002", "skipped", "LEAD-0002 has an owner already: Ana, assigned by rule WF-0001 at this sync")]


def test_a_rule_reading_an_account_whose_row_has_errors_waits_for_it_and_judges_its_event_once_fixed(tmp_path):
    # Initech is a customer whose Employees is "abc": its row is no record. Its deals were judged
    # as if its cells were empty, so "account.Status != Customer" held and the "not a customer
    # yet" rule fired on a customer's deal, with no word. Now the deal's event waits, said at the
    # If; fixed, the account is judged by its cells (a customer: nothing fires, nothing waits).
    # A contact reading its account and a task reading its deal's account wait the same way;
    # Globex, a sound prospect, fires at once.
    rules = [["WF-0001", "Not a customer yet", "yes", "opportunity", "created", "account.Status != Customer",
              "log activity", "Intro {{ Name }}", None, None, None, None],
             ["WF-0002", "Contact of a prospect", "yes", "contact", "created", "account.Status = Prospect",
              "log activity", "Hi {{ Name }}", None, None, None, None],
             ["WF-0003", "Task on a prospect's deal", "yes", "task", "created", "account.Status != Customer",
              "log activity", "Task {{ Subject }}", None, None, None, None]]
    tabs = _tabs(rules)
    tabs["Accounts"] = [["ID", "Name", "Owner", "Status", "Employees"], ["ACC-0001", "Initech", "Sam", "Customer", "abc"],
                        ["ACC-0002", "Globex", "Ana", "Prospect", 10]]
    tabs["Contacts"].append(["CON-0002", "ACC-0002", "Cy", "Wu", "cy@globex.com", "Ana"])
    tabs["Opportunities"][2][2] = "ACC-0002"  # OPP-0002 is Globex's
    tabs["Tasks"].append(["TSK-0001", "2026-12-20", "Call", "OPP-0001", "Sam", "Open"])
    book = Book("xlsx", tmp_path, None, tabs)
    book.sync(0)  # the rules are armed: what is there is not "created"
    wb = openpyxl.load_workbook(book.path)  # the new rows, in one edit
    wb["Opportunities"].append(["OPP-0003", "New", "Initech", "CON-0001", "Sam", "Qualification", 100, "2027-01-10",
                                "2026-12-02"])
    wb["Opportunities"].append(["OPP-0004", "Other", "ACC-0002", "CON-0002", "Sam", "Qualification", 100,
                                "2027-01-10", "2026-12-02"])
    wb["Contacts"].append(["CON-0003", "ACC-0001", "Di", "Ho", "di@initech.com", "Sam"])
    wb["Tasks"].append(["TSK-0002", "2026-12-20", "Demo", "OPP-0003", "Sam", "Open"])
    # Hooli, a customer typed in without an ID (it gets one this sync), and its new deal: read as
    # the customer it is, not as nothing (which fired the rule too).
    wb["Accounts"].append([None, "Hooli", "Sam", "Customer", 5])
    wb["Opportunities"].append(["OPP-0005", "Hooli deal", "Hooli", None, "Sam", "Qualification", 100, "2027-01-10",
                                "2026-12-02"])
    wb.save(book.path)
    out = book.sync(1)
    fired = sorted((e["Rule"], e["Record"]) for e in _log(book))
    assert fired == [("WF-0001", "OPP-0004")]
    said = sorted((i.tab, i.row, i.column, i.message) for i in out.crm.report.issues
                  if i.code == "workflow_related_unread")
    assert said == [
        ("Workflows", 2, "F", "1 record waits for the rule WF-0001 until its related record is fixed: the condition "
                              "reads it, and its row has errors: OPP-0003: account ACC-0001 (row 2). Its events are "
                              "judged once the row is read."),
        ("Workflows", 3, "F", "1 record waits for the rule WF-0002 until its related record is fixed: the condition "
                              "reads it, and its row has errors: CON-0003: account ACC-0001 (row 2). Its events are "
                              "judged once the row is read."),
        ("Workflows", 4, "F", "1 record waits for the rule WF-0003 until its related record is fixed: the condition "
                              "reads it, and its row has errors: TSK-0002: account ACC-0001 (row 2). Its events are "
                              "judged once the row is read.")]
    out = book.sync(2)  # still broken: still waiting, said again, nothing fired
    assert sorted((e["Rule"], e["Record"]) for e in _log(book)) == fired
    assert len([i for i in out.crm.report.issues if i.code == "workflow_related_unread"]) == 3
    wb = openpyxl.load_workbook(book.path)  # the team corrects the row: Initech is a prospect after all
    wb["Accounts"]["D2"], wb["Accounts"]["E2"] = "Prospect", 40
    wb.save(book.path)
    out = book.sync(3)
    assert sorted((e["Rule"], e["Record"]) for e in _log(book)) == sorted(
        [*fired, ("WF-0001", "OPP-0003"), ("WF-0002", "CON-0003"), ("WF-0003", "TSK-0002")])
    assert not [i for i in out.crm.report.issues if i.code == "workflow_related_unread"]
    book.sync(4)  # each waiting event judged once
    assert len(_log(book)) == 4


def test_an_email_to_a_contact_whose_row_has_errors_waits_for_it_not_for_the_owner():
    # The deal's contact has a typo in its Email ("bo@initech"): the read leaves the contact out,
    # and the email about the deal fell back to the owner's [owners] address, its key spent, so
    # Bo never got it. It waits instead, said at the rule's Then, and goes to Bo once fixed.
    from sheetcrm.workbook.memory import MemoryWorkbook

    templates = str(Path(__file__).parent / "fixtures" / "workflow-templates")
    config = Config.model_validate({"templates": templates, "owners": {"Sam": "sam@example.com"}})
    rule = ["WF-0001", "Quote", "yes", "opportunity", "enters Proposal", "", "send email", "Hi {{ Name }}", None,
            "intro", None, None]
    tabs = _tabs([rule])
    tabs["Contacts"][1][4] = "bo@initech"
    book = MemoryWorkbook(tabs)
    sync(book, config, day(0))
    book.tabs["Opportunities"][1][5] = "Proposal"
    out = sync(book, config, day(1))
    assert "Outbox" not in book.tabs and len(book.tabs["Workflow Log"]) == 1
    said = [(i.tab, i.row, i.column, i.message) for i in out.crm.report.issues if i.code == "workflow_waiting"]
    assert said == [("Workflows", 2, "G", "The email goes to the contact CON-0001 (row 2), whose row has errors, so "
                     "its address cannot be read. So the rule WF-0001 cannot send email: its firings on OPP-0001 "
                     "wait (none is logged), and each happens once, when this is fixed.")]
    book.tabs["Contacts"][1][4] = "bo@initech.com"
    sync(book, config, day(2))
    sync(book, config, day(3))
    assert [(r[2], r[3]) for r in book.tabs["Outbox"][1:]] == [("OPP-0001", "bo@initech.com")]
    assert [r[LOG_FIELDS.index("key")] for r in book.tabs["Workflow Log"][1:]] == [
        "WF-0001|OPP-0001|enters:Proposal@2026-12-02"]


def test_a_log_row_a_person_copied_is_one_firing_in_firings_and_max_per_record():
    # A person copies a Workflow Log row (to keep a note beside it, say): one firing still, so
    # Firings says 1, and with max_per_record 2 the deal's next Amount change still fires.
    from sheetcrm.workbook.memory import MemoryWorkbook

    config = Config.model_validate({"workflows": {"max_per_record": 2}})
    rule = ["WF-0001", "Amount", "yes", "opportunity", "Amount changes", "", "notify", None, None, None, None, None]
    book = MemoryWorkbook(_tabs([rule]))
    sync(book, config, day(0))
    book.tabs["Opportunities"][1][6] = 6000
    sync(book, config, day(1))
    book.tabs["Workflow Log"].append(list(book.tabs["Workflow Log"][1]))
    sync(book, config, day(2))
    firings = book.tabs["Workflows"][0].index("Firings")
    assert book.tabs["Workflows"][1][firings] == 1
    book.tabs["Opportunities"][1][6] = 7000
    sync(book, config, day(3))
    key = LOG_FIELDS.index("key")
    assert [r[key] for r in book.tabs["Workflow Log"][1:]] == [
        "WF-0001|OPP-0001|changes:amount:5000>6000@2026-12-02", "WF-0001|OPP-0001|changes:amount:5000>6000@2026-12-02",
        "WF-0001|OPP-0001|changes:amount:6000>7000@2026-12-04"]
    assert book.tabs["Workflows"][1][firings] == 2


def test_a_column_read_otherwise_because_of_other_rows_is_no_change_of_its_untouched_cells(kind, tmp_path, request):
    # A percentage column whose plain numbers are fractions (0.2 is 20 %) reads them as points
    # once a row says "30"; a column of "10%" cells is text once a few words join it. The cells
    # nobody touched mean what they meant: "Probability changes" and "Discount changes" fired
    # for every deal, "changed from 20 to 0.2", "from 10 to 10%".
    rules = [["WF-0001", "P", "yes", "opportunity", "Probability changes", "", "notify", None, None, None, None, None],
             ["WF-0002", "D", "yes", "opportunity", "Discount changes", "", "notify", None, None, None, None, None]]
    tabs = _tabs(rules)
    opps = tabs["Opportunities"]
    opps[0] += ["Formula", "Probability", "Discount"]
    opps[1] += [None, 0.2, "10%"]
    opps[2] += [None, 0.5, "20%"]
    for n in range(3, 21):
        opps.append([f"OPP-{n:04d}", f"Deal {n}", "ACC-0001", "CON-0001", "Sam", "Qualification", 100, "2027-03-01",
                     "2026-11-01", None, None, 0.25, f"{n}%"])
    server = request.getfixturevalue("emu") if kind == "google" else None
    book = Book(kind, tmp_path, server, tabs)
    book.sync(0)
    for name in ("New", "Newer"):
        book.append("Opportunities", [None, name, "ACC-0001", "CON-0001", "Sam", "Qualification", 100, "2027-03-01",
                                      "2026-11-01", None, None, 30, "tbd"])
    book.sync(1)
    book.sync(2)
    assert _log(book) == []
    # A cell a person does change still fires, once, in the column as it reads now.
    book.set("Opportunities", 2, 12, 0.9)
    book.set("Opportunities", 2, 13, "15%")
    book.sync(3)
    book.sync(4)
    # (Google's emulator, as Sheets, takes a typed "15%" for 0.15 formatted as a percentage.)
    assert [(e["Key"], e["Event"]) for e in _log(book)] == [
        ("WF-0001|OPP-0001|changes:probability:0.2>0.9@2026-12-04", "Probability changed from 0.2 to 0.9"),
        *[(f"WF-0002|OPP-0001|changes:Discount:10%>{now}@2026-12-04", f"Discount changed from 10% to {now}")
          for now in ("15%" if kind == "xlsx" else "0.15",)]]


def test_a_percentage_compared_with_a_column_of_plain_numbers_is_reported_at_the_rule(tmp_path):
    # Discount holds 0.15 and 0.05 typed unformatted: "Discount > 10%" compared 10 points with
    # 0.15 and held for no lead, with nothing said. Which 10 % is meant (0.1 or 10) cannot be
    # told, so it is refused where it is written; a column of "15%" cells compares as before.
    from books import xlsx_book
    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    leads = [["ID", "First Name", "Last Name", "Company", "Status", "Discount", "Rebate"],
             ["LEAD-0001", "Ana", "Ruiz", "Acme", "New", 0.15, "15%"],
             ["LEAD-0002", "Bo", "Li", "Initech", "New", 0.05, "5%"]]
    rules = [{"id": f"WF-000{i}", "record": "lead", "when": "created", "if": when, "then": "create task",
              "subject": "Call"} for i, when in enumerate(("Discount > 10%", "Rebate > 10%"), 1)]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": leads})
    out = sync(book, Config.model_validate({"workflows": {"rules": rules}}), dt.date(2026, 3, 1))
    said = [i for i in out.crm.report.issues if i.code.startswith("workflow_")]
    assert [(i.row, i.value, i.code) for i in said] == [(1, "Discount > 10%", "workflow_type_mismatch")]
    assert "0.1 or as 10" in said[0].message and "Discount > 0.1" in said[0].hint
