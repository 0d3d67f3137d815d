"""The Cases tab (issue 15) through a real sync, on a real .xlsx file and on the Sheets emulator
(gspread over HTTP): the computed columns against hand-counted SLA deadlines in business hours,
the Dashboard's case KPIs, problems reported at their cells, nothing else a person wrote
changed, a second sync that writes nothing, and a workflow rule on cases (an urgent case tells
the account's owner at once)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from sheetcrm.config import Config
from test_workflows import WF_HEADER, Book, _as_date, _log, _tabs, day

CASES = ["ID", "Account", "Contact", "Subject", "Priority", "Status", "Channel", "Opened", "Resolved", "Owner",
         "Notes"]
ROWS = [
    # Opened late on Friday 2026-11-27, answered Monday (the activity below), still open.
    ["CASE-0001", "Initech", "CON-0001", "Site down", "Urgent", "Open", "Phone", "2026-11-27 16:00", None, "Kim",
     "keep me"],
    # No ID yet; resolved within its SLA.
    [None, "ACC-0001", None, "Question", "Low", "Resolved", "Email", "2026-11-30 10:00", "2026-11-30 15:30", "Kim",
     None],
    # Resolved before it was opened: an error at its Resolved cell, no metrics.
    ["CASE-0007", "ACC-0001", None, "Typo", "High", "Closed", "Email", "2026-11-30 10:00", "2026-11-29 10:00", "Kim",
     None],
    # An account no one has.
    ["CASE-0008", "Nobody Inc", None, "Who?", "Normal", "New", "Chat", "2026-11-30 10:00", None, "Kim", None],
]
CONFIG = {"cases": {"business_hours": {"holidays": ["2026-12-25"]}}, "owners": {"Sam": "sam@example.com"}}


def _book(kind, tmp_path, request, rules=()) -> Book:
    tabs = _tabs(list(rules))
    tabs["Cases"] = [CASES, *ROWS]
    tabs["Activities"].append(["ACT-0002", "2026-11-30", "Call", "Called back", "CASE-0001"])
    server = request.getfixturevalue("emu") if kind == "google" else None
    return Book(kind, tmp_path, server, tabs)


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def _moment(v):
    """A date-time cell as read back: a datetime (.xlsx) or a serial number (Google)."""
    if isinstance(v, (int, float)):
        return dt.datetime(1899, 12, 30) + dt.timedelta(minutes=round(v * 1440))
    return v


def test_cases_sync_on_both_backends(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    config = Config.model_validate(CONFIG)
    before = {tab: book.rows(tab) for tab in ("Accounts", "Contacts", "Opportunities", "Activities", "Tasks")}
    typed = book.rows("Cases")
    outcome = book.sync(0, config)  # Tuesday 2026-12-01
    rows = book.records("Cases")
    assert [r["ID"] for r in rows] == ["CASE-0001", "CASE-0009", "CASE-0007", "CASE-0008"]
    urgent, low, bad, unknown = rows
    # Urgent: response 1h -> Friday 17:00 (answered Monday: late); resolution 4h -> Monday 12:00 (open: late).
    assert _moment(urgent["SLA Due"]) == dt.datetime(2026, 11, 30, 12, 0)
    assert urgent["SLA Breached"] == "yes" and urgent["Age (days)"] == 4
    assert _as_date(urgent["First Response"]) == dt.date(2026, 11, 30)
    # Low: resolution 5 business days (40h) from Monday 10:00 -> the next Monday 10:00; met.
    assert _moment(low["SLA Due"]) == dt.datetime(2026, 12, 7, 10, 0)
    assert low.get("SLA Breached") is None and low["Age (days)"] == 0 and low.get("First Response") is None
    assert bad.get("SLA Due") is None and bad.get("Age (days)") is None
    issues = {(i.code, i.row, i.column) for i in outcome.crm.report.issues if i.tab == "Cases"}
    # The case whose Account names nothing is an error, so it is left out of the SLA and said so.
    assert issues == {("case_resolved_before_opened", 4, "I"), ("unknown_account", 5, "B"), ("left_out", None, None)}
    # Every cell a person typed is as typed (the new ID aside); other tabs untouched.
    after = book.rows("Cases")
    for r, row in enumerate(typed[1:], 1):
        for c, value in enumerate(row):
            if (r, c) != (2, 0) and value is not None and c not in (7, 8):
                assert after[r][c] == value, (r, c)
            if c in (7, 8) and value is not None:
                assert after[r][c] == value or _moment(after[r][c]) == dt.datetime.fromisoformat(value)
    for tab, rows_before in before.items():  # their computed columns (Opportunities') aside
        assert [a[:len(b)] for a, b in zip(book.rows(tab), rows_before)] == rows_before, tab
    dashboard = {r["KPI"]: r["Value"] for r in book.records("Dashboard")}
    assert dashboard["Open cases, Urgent"] == 1 and dashboard["Open cases, Normal"] == 0  # its row has errors
    assert dashboard["Open cases, Low"] == 0
    assert dashboard["Average first response (days)"] == 3
    assert dashboard["Average resolution time (days)"] == pytest.approx(0.2)   # 5.5 h
    assert dashboard["SLA met"] == pytest.approx(0.5)                          # the urgent one late, the low one met
    assert dashboard["Cases, Initech"] == 2                                    # the two sound cases of ACC-0001
    # Nothing changed: the second sync writes nothing.
    again = book.sync(0, config)
    assert again.plan.writes == [] and again.result is None


def test_an_opened_or_resolved_after_the_sync_day_is_said_at_its_cell_and_kept_out_of_the_figures(
        kind, tmp_path, request):
    """A year typed wrong: an open case Opened 2027 showed Age 0 and never breached; a case
    Resolved a year ahead showed Age 365 and made the Dashboard's average resolution 365 days.
    Now each is a warning at its cell, its Age and verdict empty, and out of the averages."""
    book = _book(kind, tmp_path, request)
    book.append("Cases", ["CASE-0010", "ACC-0001", None, "Year typo", "Urgent", "Open", "Phone", "2027-11-20 09:00",
                          None, "Kim"])
    book.append("Cases", ["CASE-0011", "ACC-0001", None, "Resolved typo", "Low", "Resolved", "Email",
                          "2026-11-30 10:00", "2027-11-30 11:00", "Kim"])
    outcome = book.sync(0, Config.model_validate(CONFIG))  # Tuesday 2026-12-01
    said = {(i.code, i.row, i.column) for i in outcome.crm.report.issues if i.tab == "Cases"}
    assert {("case_opened_after_sync", 6, "H"), ("case_resolved_after_sync", 7, "I")} <= said
    message = next(i.message for i in outcome.crm.report.issues if i.code == "case_resolved_after_sync")
    assert "2027-11-30 11:00" in message and "2026-12-01" in message and "average resolution time" in message
    rows = {r["ID"]: r for r in book.records("Cases")}
    later, typo = rows["CASE-0010"], rows["CASE-0011"]
    assert later.get("Age (days)") is None and later.get("SLA Due") is None and later.get("SLA Breached") is None
    assert typo.get("Age (days)") is None and typo.get("SLA Breached") is None  # not 365
    assert _moment(typo["SLA Due"]) == dt.datetime(2026, 12, 7, 10, 0)        # from Opened, which is sound
    dashboard = {r["KPI"]: r["Value"] for r in book.records("Dashboard")}
    # As in test_cases_sync_on_both_backends: the two resolutions measured are the low one's 5.5 h.
    assert dashboard["Average resolution time (days)"] == pytest.approx(0.2)
    assert dashboard["SLA met"] == pytest.approx(0.5)
    assert dashboard["Open cases, Urgent"] == 2  # the later one is still an open case


def test_spanish_cases_tab_reads_and_writes_in_spanish(tmp_path, request):
    book = _book("xlsx", tmp_path, request)
    import openpyxl
    wb = openpyxl.load_workbook(book.path)
    ws = wb["Cases"]
    ws.title = "Incidencias"
    for c, header in enumerate(["ID", "Cuenta", "Contacto", "Asunto", "Prioridad", "Estado", "Canal", "Abierto",
                                "Resuelto", "Propietario"], 1):
        ws.cell(1, c).value = header
    ws.cell(2, 5).value, ws.cell(2, 6).value = "Urgente", "Abierto"
    wb.save(book.path)
    book.book = type(book.book)(book.path)
    book.sync(0, Config.model_validate({**CONFIG, "locale": "es"}))
    header = book.rows("Incidencias")[0]
    assert header[11:15] == ["Antigüedad (días)", "Vencimiento SLA", "SLA incumplido", "Primera respuesta"]
    assert book.rows("Incidencias")[1][13] == "sí"


def test_urgent_case_notifies_the_account_owner(kind, tmp_path, request):
    rule = ["WF-0001", "Urgent case", "yes", "case", "created", "Priority = Urgent", "notify at once", None, None,
            None, "account owner", None]
    book = _book(kind, tmp_path, request, [rule])
    config = Config.model_validate(CONFIG)
    book.sync(0, config)
    assert _log(book) == []  # armed today: the cases already there fire nothing
    book.append("Cases", [None, "Initech", None, "Checkout broken", "Urgent", "New", "Phone", "2026-12-01 08:00",
                          None, "Kim"])
    book.append("Cases", [None, "Initech", None, "Logo colour", "Low", "New", "Email", "2026-12-01 08:30", None,
                          "Kim"])
    first = book.sync(1, config)
    assert not [i for i in first.crm.report.issues if i.tab == "Workflows"]
    assert _log(book) == []  # a case is seen from the sync after its ID landed
    book.sync(2, config)
    log = _log(book)
    assert [(e["Rule"], e["Record"]) for e in log] == [("WF-0001", "CASE-0010")]
    outbox = book.records("Outbox")
    # To the account's owner (Sam), not the case's (Kim); approved at once since it stays in the team.
    assert [(r["To"], r["Status"]) for r in outbox] == [("sam@example.com", "Approved")]
    book.sync(3, config)
    assert len(_log(book)) == 1


# -- the sync's day is the team's, not the machine's -------------------------------------------

# A machine 14 hours ahead of UTC and a team 12 hours behind it: 26 hours apart, so the
# machine's date is a day or two past the team's at every moment (no clock to freeze).
MACHINE_ZONE, TEAM_ZONE = "Etc/GMT-14", "Etc/GMT+12"


def _cli(tmp_path, *args):
    env = {**os.environ, "TZ": MACHINE_ZONE, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("setting,command", [('timezone = "{zone}"\n', "sync"),
                                             ('[cases]\ntimezone = "{zone}"\n', "sync"),
                                             ('[cases]\ntimezone = "{zone}"\n', "run")],
                         ids=["timezone", "cases.timezone", "service"])
def test_the_sync_day_is_the_team_day_in_its_time_zone_not_the_machine_day(tmp_path, setting, command):
    # An urgent case opened at the start of the team's day: its response is due at 01:00, and
    # the sync measures an open case at the start of its day (docs/cases.md), so it is not late
    # and 0 days old. Measured on the machine's day (a day or two later) it was late, Age 1+.
    (tmp_path / "sheetcrm.toml").write_text(setting.format(zone=TEAM_ZONE), encoding="utf-8")
    for _attempt in range(2):  # a run across the team's midnight is run again
        day = dt.datetime.now(ZoneInfo(TEAM_ZONE)).date()
        wb = openpyxl.Workbook()
        wb.active.title = "Accounts"
        wb.active.append(["ID", "Name"])
        wb.active.append(["ACC-0001", "Acme"])
        cases = wb.create_sheet("Cases")
        cases.append(["ID", "Account", "Subject", "Priority", "Status", "Opened", "Resolved", "Owner"])
        cases.append(["CASE-0001", "Acme", "Down", "Urgent", "Open", f"{day.isoformat()} 00:00", None, "Ana"])
        wb.save(tmp_path / "crm.xlsx")
        # `run --once`: the service's sync (sheetcrm.service.Service), the day its own.
        out = _cli(tmp_path, command, "--workbook", "crm.xlsx", *(["--once"] if command == "run" else []))
        kpis = _cli(tmp_path, "kpis", "--workbook", "crm.xlsx", "--format", "json")
        if dt.datetime.now(ZoneInfo(TEAM_ZONE)).date() == day:
            break
    assert out.returncode == 0 and kpis.returncode == 0, out.stderr + kpis.stderr
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    header = [c.value for c in wb["Cases"][1]]
    row = dict(zip(header, (c.value for c in wb["Cases"][2])))
    assert row["SLA Breached"] is None and row["Age (days)"] == 0
    dashboard = {r[0]: r[1] for r in wb["Dashboard"].iter_rows(min_row=2, values_only=True)}
    assert _as_date(dashboard["Date"]) == day
    assert json.loads(kpis.stdout)["as_of"] == day.isoformat()


def test_an_unknown_team_time_zone_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "sheetcrm.toml").write_text('timezone = "America/Nowhere"\n', encoding="utf-8")
    out = _cli(tmp_path, "sync", "--workbook", "crm.xlsx")
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert 'timezone: "America/Nowhere" is not a time zone' in out.stderr


# -- a time written with its UTC offset is an instant, read on the team's clock ------------------

def test_a_time_with_its_utc_offset_is_read_in_the_team_zone(kind, tmp_path, request):
    # Madrid is UTC+1 in winter. 23:30Z on 30 Nov is 00:30 on 1 Dec there: Age 0 on 1 Dec, and an
    # urgent case's 4h resolution is due at 04:30 (read as Madrid's 23:30 it was Age 1, due 03:30).
    # 10:00+05:00 is 06:00 in Madrid and 09:30+01:00 is 09:30: resolved after it was opened (read
    # as written, 09:30 < 10:00, the case was dropped as resolved before opened). An activity
    # dated 23:30Z on 30 Nov answers CASE-0001 on 1 Dec, Madrid's day.
    tabs = _tabs([])
    tabs["Cases"] = [CASES,
                     ["CASE-0001", "ACC-0001", None, "Zulu", "Urgent", "Open", "Email", "2026-11-30T23:30:00Z", None,
                      "Kim", None],
                     ["CASE-0002", "ACC-0001", None, "Offset", "Urgent", "Resolved", "Email",
                      "2026-11-30T10:00:00+05:00", "2026-11-30T09:30:00+01:00", "Kim", None]]
    tabs["Activities"].append(["ACT-0002", "2026-11-30T23:30:00Z", "Call", "Called back", "CASE-0001"])
    book = Book(kind, tmp_path, request.getfixturevalue("emu") if kind == "google" else None, tabs)
    outcome = book.sync(0, Config.model_validate({"timezone": "Europe/Madrid"}))
    zulu, offset = book.records("Cases")
    assert zulu["Age (days)"] == 0 and _moment(zulu["SLA Due"]) == dt.datetime(2026, 12, 1, 4, 30)
    assert _as_date(zulu["First Response"]) == dt.date(2026, 12, 1)
    # Opened 06:00 Madrid: resolution due 10:00, met at 09:30; the response (due 07:00) was never given.
    assert offset["Age (days)"] == 0 and _moment(offset["SLA Due"]) == dt.datetime(2026, 11, 30, 10, 0)
    assert not [i for i in outcome.crm.report.issues if i.tab == "Cases"]


def test_a_reopened_case_is_not_answered_by_an_activity_before_it_was_opened(tmp_path):
    tabs = _tabs([])
    tabs["Cases"] = [CASES, ["CASE-0001", "ACC-0001", None, "Again", "Urgent", "Open", "Email", "2026-11-30 10:00",
                             None, "Kim", None]]
    tabs["Activities"].append(["ACT-0002", "2026-11-02", "Call", "First time round", "CASE-0001"])
    book = Book("xlsx", tmp_path, None, tabs)
    outcome = book.sync(1, Config.model_validate(CONFIG))  # Wednesday 2 Dec
    case, = book.records("Cases")
    # Unanswered: no First Response, and the response due Monday 11:00 is late.
    assert case.get("First Response") is None and case["SLA Breached"] == "yes"
    assert outcome.results.cases.summary.avg_first_response_days is None


def test_a_resolved_date_alone_on_the_opened_day_counts_that_day_and_says_so(tmp_path):
    tabs = _tabs([])
    tabs["Cases"] = [CASES, ["CASE-0001", "ACC-0001", None, "Same day", "Normal", "Resolved", "Email",
                             "2026-11-30 10:00", "2026-11-30", "Kim", None]]
    book = Book("xlsx", tmp_path, None, tabs)
    outcome = book.sync(0, Config.model_validate(CONFIG))
    case, = book.records("Cases")
    # Kept (not "resolved before opened"): closed that day, Age 0, its resolution time unmeasured.
    assert case["Age (days)"] == 0 and case.get("SLA Due") is not None
    assert outcome.results.cases.summary.avg_resolution_days is None
    issues = [(i.code, i.column, i.value) for i in outcome.crm.report.issues if i.tab == "Cases"]
    assert issues == [("case_resolved_no_time", "I", "2026-11-30")]  # the cell as typed, no 00:00


def test_a_resolved_date_alone_on_a_later_day_is_that_whole_day(tmp_path):
    """Read as 00:00, Resolved "2026-12-03" beside Opened Monday 10:00 (a Normal case, due Thursday
    10:00) showed SLA met though it may have been solved that afternoon, and put 2 days 23 h into
    the average resolution time, with no word."""
    tabs = _tabs([])
    tabs["Cases"] = [CASES,
                     ["CASE-0001", "ACC-0001", None, "Due that day", "Normal", "Resolved", "Email",
                      "2026-11-30 10:00", "2026-12-03", "Kim", None],
                     ["CASE-0002", "ACC-0001", None, "Both days", "Normal", "Closed", "Email",
                      "2026-11-30", "2026-12-01", "Kim", None]]
    tabs["Activities"] += [["ACT-0002", "2026-11-30", "Call", "Called back", "CASE-0001"],
                           ["ACT-0003", "2026-11-30", "Call", "Called back", "CASE-0002"]]
    book = Book("xlsx", tmp_path, None, tabs)
    outcome = book.sync(3, Config.model_validate(CONFIG))  # Friday 4 Dec
    due_that_day, both_days = book.records("Cases")
    # Whether it was solved by Thursday 10:00 is not known: no verdict, said at the cell.
    assert due_that_day["Age (days)"] == 3 and due_that_day.get("SLA Breached") is None
    assert _moment(due_that_day["SLA Due"]) == dt.datetime(2026, 12, 3, 10, 0)
    # Both dates alone: 1 calendar day, exact to the day, and met (due Wednesday 17:00, after Tuesday's
    # end): the only case in the average and in SLA met.
    assert both_days["Age (days)"] == 1 and both_days.get("SLA Breached") is None
    summary = outcome.results.cases.summary
    assert summary.avg_resolution_days == Decimal("1.0") and summary.sla_met == 100
    issues = [(i.code, i.row, i.column, i.value) for i in outcome.crm.report.issues if i.tab == "Cases"]
    assert issues == [("case_resolved_no_time", 2, "I", "2026-12-03"), ("case_resolved_day_sla", 2, "I", "2026-12-03")]
    said = next(i.message for i in outcome.crm.report.issues if i.code == "case_resolved_day_sla")
    assert "2026-12-03 10:00" in said


def test_an_opened_date_alone_is_that_whole_day_in_both_languages(tmp_path):
    """Read as 00:00, an urgent case typed as opened on 30 November (a date cell) and solved at 15:30 was
    late by both deadlines (01:00 and 04:00), counted 15.5 h of resolution and 0 % SLA met, with no word;
    opened at 15:00 it met both."""
    tabs = _tabs([])
    tabs["Cases"] = [CASES, ["CASE-0001", "ACC-0001", None, "Down", "Urgent", "Resolved", "Phone",
                             dt.datetime(2026, 11, 30), "2026-11-30 15:30", "Kim", None]]
    for locale, codes in (("en", ["case_opened_no_time", "case_opened_day_sla"]),
                          ("es", ["caso_abierto_sin_hora", "caso_abierto_sin_hora_sla"])):
        (tmp_path / locale).mkdir()
        book = Book("xlsx", tmp_path / locale, None, tabs)
        outcome = book.sync(0, Config.model_validate({"timezone": "Europe/Madrid", "locale": locale}))
        header, case = book.rows("Cases")
        case = dict(zip(header, case))
        age, due, breached = ("Age (days)", "SLA Due", "SLA Breached") if locale == "en" else \
            ("Antigüedad (días)", "Vencimiento SLA", "SLA incumplido")
        assert case[age] == 0 and case[due] == dt.datetime(2026, 11, 30, 4, 0) and case.get(breached) is None
        summary = outcome.results.cases.summary
        assert summary.sla_met is None and summary.avg_resolution_days is None
        issues = [i for i in outcome.crm.report.issues if i.tab == "Cases"]
        assert [(i.code, i.row, i.column) for i in issues] == [("case_opened_no_time", 2, "H"),
                                                                ("case_opened_day_sla", 2, "H")]
        said = [r for r in book.records("Validation" if locale == "en" else "Validación")
                if r.get("Tab" if locale == "en" else "Pestaña") in ("Cases", "Casos")]
        assert [next(v for v in r.values() if v in codes) for r in said] == codes
        assert "2026-11-30 04:00" in issues[1].message and "2026-11-30 19:30" in issues[1].message
        if locale == "es":
            assert issues[1].message.startswith("Abierto no tiene hora") and "Escribe la hora" in issues[1].hint


def test_a_follow_up_logged_after_the_case_was_resolved_is_not_its_first_response(tmp_path):
    """Solved in half an hour on Tuesday, a satisfaction call logged on Thursday was shown as its First
    Response and made the average first response 2.0 days."""
    tabs = _tabs([])
    tabs["Cases"] = [CASES, ["CASE-0001", "ACC-0001", None, "Down", "Urgent", "Resolved", "Phone",
                             "2026-12-01 10:00", "2026-12-01 10:30", "Kim", None]]
    tabs["Activities"].append(["ACT-0002", "2026-12-03", "Call", "How is it going?", "CASE-0001"])
    book = Book("xlsx", tmp_path, None, tabs)
    outcome = book.sync(3, Config.model_validate(CONFIG))  # Friday 4 Dec
    case, = book.records("Cases")
    assert case.get("First Response") is None and case.get("SLA Breached") is None
    assert outcome.results.cases.summary.avg_first_response_days is None
    assert outcome.results.cases.summary.sla_met == 100
