"""Workflows (issue 14) under the scheduled service (sheetcrm/service.py): a service that runs on
day 1, is stopped, and is started again on day 4 fires each event that fell due on days 2, 3
and 4 exactly once, each with its own due day; on a real .xlsx file and on the Sheets emulator.
The service's day is its injected `today` (never a real day waited out)."""

from __future__ import annotations

import logging

import pytest

from sheetcrm.config import Config
from sheetcrm.service import Service
from sheetcrm.synclog import LogQueue
from test_workflows import PEOPLE_TABS, Book, _as_date, _log, _tabs, day

RULE = ["WF-0001", "Due chaser", "yes", "opportunity", "0 days after Close Date", "", "create task",
        "Chase {{ Name }}", 1, None, None, None]


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def _service(book: Book, n: int, queue: LogQueue) -> Service:
    """A fresh service process, as `sheetcrm run` starts one, whose day is day n."""
    return Service(Config(), book.book, logging.getLogger("test-workflows-service"), today=lambda: day(n),
                   log_queue=queue)


def test_a_service_stopped_three_days_fires_each_missed_event_once_on_restart(kind, tmp_path, request,
                                                                              monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))   # the digest ledgers beside the lock
    tabs = _tabs([RULE])
    opps = tabs["Opportunities"]
    opps[1][7], opps[2][7] = "2026-12-03", "2026-12-04"              # due on days 2 and 3
    opps.append(["OPP-0003", "Third", "ACC-0001", "CON-0001", "Sam", "Proposal", 800, "2026-12-05", "2026-11-01",
                 None])                                              # due on day 4
    opps.append(["OPP-0004", "Later", "ACC-0001", "CON-0001", "Sam", "Proposal", 900, "2026-12-06", "2026-11-01",
                 None])                                              # due on day 5: not yet
    server = request.getfixturevalue("emu") if kind == "google" else None
    book = Book(kind, tmp_path, server, tabs)
    queue = LogQueue(tmp_path / "synclog.jsonl")
    before = {tab: book.rows(tab) for tab in PEOPLE_TABS}

    assert _service(book, 0, queue).run_once()    # arms the rule
    assert _service(book, 1, queue).run_once()    # day 1: nothing due; then stopped for days 2, 3
    assert _log(book) == []
    assert _service(book, 4, queue).run_once()    # restarted on day 4
    log = _log(book)
    assert [e["Key"] for e in log] == ["WF-0001|OPP-0001|from:close_date:2026-12-03",
                                       "WF-0001|OPP-0002|from:close_date:2026-12-04",
                                       "WF-0001|OPP-0003|from:close_date:2026-12-05"]
    assert [e["Result"] for e in log] == ["done"] * 3
    # Each task counts its Due from its own event's day, not from the day the service came back.
    tasks = book.records("Tasks")
    assert [(t["Subject"], t["Related"], _as_date(t["Due"])) for t in tasks] == [
        ("Chase Big", "OPP-0001", day(3)), ("Chase Small", "OPP-0002", day(4)), ("Chase Third", "OPP-0003", day(5))]

    # Started again the same day, and then on day 5: only day 5's event is new.
    assert _service(book, 4, queue).run_once()
    assert len(_log(book)) == 3
    assert _service(book, 5, queue).run_once()
    keys = [e["Key"] for e in _log(book)]
    assert keys[3:] == ["WF-0001|OPP-0004|from:close_date:2026-12-06"] and len(set(keys)) == len(keys) == 4
    assert len(book.records("Tasks")) == 4
    # The service logged each run; people's cells are as they were.
    assert len(book.records("Sync Log")) == 5 and not queue.rows
    for tab, rows in before.items():
        after = book.rows(tab)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, str) and len(value) == 10 and value[4] == "-":
                    assert _as_date(after[r][c]) in (value, day(0).fromisoformat(value)), (tab, r, c)
                else:
                    assert after[r][c] == value, (tab, r, c)
