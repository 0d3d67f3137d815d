"""Workflows (issue 14): the score, rotting, form response and quote unanswered triggers through a
real sync, on a real .xlsx file and on the Sheets emulator (gspread over HTTP), the days stepped
one by one: each fires on its edge day, once; the syncs after it add nothing; and no cell a
person wrote changes. (tests/test_workflows_triggers.py has the same triggers on the pure core.)"""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config
from test_workflows import PEOPLE_TABS, Book, _as_date, _log, _tabs, day

OUTBOX = ["ID", "Created", "Opportunity", "To", "Subject", "Status", "Message-ID", "Sent At", "Error", "Quote",
          "Version", "Attempts", "Last Try", "Next Try"]
# Scores that do not drift by the day: no engagement points (they decay daily), one rule.
SCORING = {"base": 30, "engagement": {}, "rules": [{"column": "Source", "op": "equals", "value": "Referral",
                                                    "points": 50}]}


def _rule(when: str, record: str) -> list:
    return ["WF-0001", when, "yes", record, when, "", "notify", None, None, None, None, None]


def _config(**extra) -> Config:
    return Config.model_validate({"scoring": SCORING, **extra})


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def _book(kind, tmp_path, request, rule: list, outbox: list[list] | None = None) -> Book:
    tabs = _tabs([rule])
    tabs["Leads"][0].append("Source")
    tabs["Leads"][1].append("Web")
    if outbox is not None:
        tabs["Outbox"] = [OUTBOX, *outbox]
    server = request.getfixturevalue("emu") if kind == "google" else None
    return Book(kind, tmp_path, server, tabs)


def _step(book: Book, days: range, config: Config, edits: dict) -> tuple[dict[int, list[str]], dict]:
    """Syncs day by day, making each day's edits (tab, row, col, value) just before its sync;
    returns the Log keys each day's sync added, and the people's tabs as they should read
    now: as first written, with only the edited cells changed."""
    expected = {tab: book.rows(tab) for tab in PEOPLE_TABS}
    fired: dict[int, list[str]] = {}
    for n in days:
        for tab, row, col, value in edits.get(n, ()):
            book.set(tab, row, col, value)
            rows = expected[tab]
            while len(rows) < row:
                rows.append([])
            rows[row - 1] += [None] * (col - len(rows[row - 1]))
            rows[row - 1][col - 1] = value
        before = len(_log(book))
        book.sync(n, config)
        fired[n] = [e["Key"] for e in _log(book)[before:]]
    return fired, expected


def _unchanged(book: Book, expected: dict) -> None:
    """Every cell a person wrote reads as it should (sheetcrm's own columns, beyond, aside)."""
    for tab, rows in expected.items():
        after = book.rows(tab)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                assert _same(after[r][c], value), (tab, r + 1, c + 1)


def _same(read, typed) -> bool:
    """A date a person typed reads back as a date (a serial number on Google: USER_ENTERED)."""
    if isinstance(typed, str) and len(typed) == 10 and typed[4] == "-":
        return _as_date(read) in (typed, dt.date.fromisoformat(typed))
    return read == typed


def _only(fired: dict[int, list[str]], edge: int, keys: list[str]) -> None:
    assert fired[edge] == keys
    assert all(v == [] for n, v in fired.items() if n != edge), fired


def test_score_above_fires_on_the_sync_that_sees_the_score_cross(kind, tmp_path, request):
    book = _book(kind, tmp_path, request, _rule("score above 70", "lead"))
    # Day 2: Source becomes Referral, 30 -> 80; day 5: back to Web, 80 -> 30 (a crossing down).
    fired, expected = _step(book, range(0, 8), _config(), {2: [("Leads", 2, 8, "Referral")],
                                                           5: [("Leads", 2, 8, "Web")]})
    _only(fired, 2, ["WF-0001|LEAD-0001|score>70@2026-12-03"])
    assert book.records("Leads")[0]["Score"] == 30
    _unchanged(book, expected)
    assert [e["Result"] for e in _log(book)] == ["done"]


def test_score_below_fires_on_the_crossing_down_only(kind, tmp_path, request):
    book = _book(kind, tmp_path, request, _rule("puntuación por debajo de 70", "lead"))
    book.set("Leads", 2, 8, "Referral")   # 80 from the start: below 70 is not true yet
    fired, expected = _step(book, range(0, 6), _config(), {3: [("Leads", 2, 8, "Web")]})
    _only(fired, 3, ["WF-0001|LEAD-0001|score<70@2026-12-04"])
    _unchanged(book, expected)


def test_rotting_fires_on_the_day_the_deal_starts_rotting(kind, tmp_path, request):
    stages = [s.model_dump() for s in Config().stages]
    for s in stages:
        if s["name"] == "Qualification":
            s["rotting_days"] = 2
    # OPP-0001 hears from its contact on day 1: its last sign of life, so it rots on day 4.
    # OPP-0002, created 2026-11-01 and only ever seen in its stage, has shown no sign of life
    # since Created: it rots from before the rule's first sync, an edge no sync saw, so nothing
    # fires for it (it counted from the day sheetcrm first saw it, and fired on day 3).
    activity = [("Activities", 3, c, v) for c, v in enumerate(["ACT-0002", "2026-12-02", "Call", "news", "OPP-0001"], 1)]
    book = _book(kind, tmp_path, request, _rule("rotting", "opportunity"))
    fired, expected = _step(book, range(0, 8), _config(stages=stages), {1: activity})
    assert {n: v for n, v in fired.items() if v} == {4: ["WF-0001|OPP-0001|rotting@2026-12-05"]}
    _unchanged(book, expected)


def test_a_form_response_fires_once_on_the_sync_that_sees_it(kind, tmp_path, request):
    book = _book(kind, tmp_path, request, _rule("form response", "lead"))
    form = [("Activities", 3, c, v) for c, v in
            enumerate(["ACT-0002", "2026-12-04", "Form Submitted", "Website form", "LEAD-0001"], 1)]
    fired, expected = _step(book, range(0, 7), _config(), {3: form})
    _only(fired, 3, ["WF-0001|LEAD-0001|form:ACT-0002"])
    _unchanged(book, expected)


def test_a_quote_unanswered_fires_on_its_day_and_a_reply_stops_it(kind, tmp_path, request):
    sent = [["OUT-0001", "2026-12-01", "OPP-0001", "bo@initech.com", "Quote Q-1", "Sent", "<q1@initech>",
             "2026-12-02T10:00:00+00:00", None, "Q-1", "v1", 1, None, None],
            ["OUT-0002", "2026-12-01", "OPP-0002", "bo@initech.com", "Quote Q-2", "Sent", "<q2@initech>",
             "2026-12-02T10:00:00+00:00", None, "Q-2", "v1", 1, None, None]]
    book = _book(kind, tmp_path, request, _rule("quote unanswered 3 days", "opportunity"), outbox=sent)
    # Both quotes were sent on day 1; OPP-0002's contact answers on day 3, within the 3 days.
    reply = [("Activities", 3, c, v) for c, v in enumerate(["ACT-0002", "2026-12-04", "Email", "Re: Q-2", "OPP-0002"],
                                                           1)]
    fired, expected = _step(book, range(0, 8), _config(), {3: reply})
    _only(fired, 4, ["WF-0001|OPP-0001|quote:OUT-0001"])   # day 1 + 3 days
    _unchanged(book, expected)
    assert [r["Status"] for r in book.records("Outbox")] == ["Sent", "Sent"]


def test_a_response_the_forms_step_takes_in_fires_its_rule_once_at_the_next_sync(kind, tmp_path, request):
    # s34: the forms step's Form Submitted activity, dated the response's day, is a record of
    # the next read only, when that day has been evaluated already: the rule never fired.
    rule = ["WF-0001", "Answer", "yes", "lead", "form response", "", "create task", "Answer {{ Name }}", 1, None,
            None, None]
    tabs = _tabs([rule])
    tabs["Form Responses 1"] = [["Timestamp", "Email Address", "Full Name", "Company"]]
    server = request.getfixturevalue("emu") if kind == "google" else None
    book = Book(kind, tmp_path, server, tabs)
    config = _config(forms={"web": {"tab": "Form Responses 1", "fields": {
        "Email Address": "email", "Full Name": "name", "Company": "company"}}})
    book.sync(0, config)
    # Day 1: a response from LEAD-0001's address (an activity on it) and one from a new person.
    book.append("Form Responses 1", ["2026-12-02 10:00:00", "ana@acme.com", "Ana Ng", "Acme"])
    book.append("Form Responses 1", ["2026-12-02 11:00:00", "hugo@lumen.example", "Hugo Navarro", "Lumen"])
    fired = []
    for n in (1, 2, 2, 3):  # day 2 twice: a response taken in by its first sync is seen by its second
        before = len(_log(book))
        book.sync(n, config)
        fired.append([e["Key"] for e in _log(book)[before:]])
        if n == 1:
            book.append("Form Responses 1", ["2026-12-03 09:00:00", "zoe@kite.example", "Zoe Lee", "Kite"])
    assert fired == [[], ["WF-0001|LEAD-0001|form:ACT-0002", "WF-0001|LEAD-0002|form:ACT-0003"],
                     ["WF-0001|LEAD-0003|form:ACT-0004"], []]
    tasks = [(t["Subject"], t["Related"], _as_date(t["Due"])) for t in book.records("Tasks")]
    assert tasks == [("Answer Ng", "LEAD-0001", day(2)), ("Answer Navarro", "LEAD-0002", day(2)),
                     ("Answer Lee", "LEAD-0003", day(3))]  # no First Name column; Due: the response's day + 1
    for n in range(4, 6):
        book.sync(n, config)
    assert len(_log(book)) == 3
