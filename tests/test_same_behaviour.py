"""The same syncs, the same cells, the same requests: a golden record of the demo's syncs.

`tests/fixtures/golden/demo_syncs.json` was captured from the code before the reshaping of
issue 11 (settings flowing down, steps, parse once, names in one place), which promised no
change in behaviour. Each scenario writes the demo CRM, syncs it (a first, changing sync),
edits it as a person would (a stage moved, a lead status changed, a new lead without an ID,
a bad cell, a Send Quote tick, a Rates and a Quotas tab), syncs again with a Sync Log row
waiting, and syncs again until it has nothing to do (SETTLING). For every sync the test compares the plan
(every write with its guards, new tabs, marks, charts, guides), the request counts on Google
(through the emulator, counted by the HTTP tracer), and every cell of every tab afterwards.

To capture the record again (only when a change of behaviour is intended and reviewed):
    PYTHONPATH=$PWD python tests/test_same_behaviour.py --capture
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sheetcrm.config import Config
from sheetcrm.emulator import Emulator
from sheetcrm.starter import demo_config, write_demo
from sheetcrm.sync import plan_sync
from sheetcrm.workbook import CellWrite, Plan, Workbook
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.target import header_tests
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.xlsx import XlsxWorkbook

GOLDEN = Path(__file__).parent / "fixtures" / "golden" / "demo_syncs.json"
AS_OF = dt.date(2026, 11, 23)
NEXT_DAY = AS_OF + dt.timedelta(days=1)
LOG_ROW = ["2026-11-24T08:00:00+00:00", "sync", 1.5, 120, 14, 37, 4, "ok", "12 errors, 2 warnings"]
SCENARIOS = (("xlsx", "en"), ("xlsx", "es"), ("google", "en"))
# Syncs after the edited one, the last of which has nothing to do. Two take in what the demo's
# workflow rules did at the edited sync (its owners and tasks show in scores and Next Steps at
# the next), and what they did at the first of them: the person's new lead, given its ID at
# the edited sync, is a new record there, and the round-robin gives it an owner.
SETTLING = 3


def enc(v: Any) -> Any:
    """A cell value as JSON, keeping its type (a date is not its ISO text)."""
    if isinstance(v, dt.datetime):
        return {"datetime": v.isoformat()}
    if isinstance(v, dt.date):
        return {"date": v.isoformat()}
    if isinstance(v, Decimal):
        return {"decimal": str(v)}
    if isinstance(v, (list, tuple)):
        return [enc(x) for x in v]
    return v


def plan_record(plan: Plan) -> dict[str, Any]:
    return {
        "new_tabs": list(plan.new_tabs),
        "mark_owned": list(plan.mark_owned),
        "writes": [[w.tab, w.row, w.col, enc(w.value), enc(w.expect), w.formula, enc(w.requires)]
                   for w in plan.writes],
        "charts": [[c.tab, c.title, c.kind, c.first_row, c.last_row, c.domain_col, list(c.series_cols), c.anchor_col]
                   for c in plan.charts],
        "guides": [[g.tab, enc(g.dropdowns), list(g.computed_cols)] for g in plan.guides],
    }


def book_record(book: Workbook) -> dict[str, Any]:
    snapshot = book.read()
    return {"owned": sorted(snapshot.owned), "tabs": {title: enc(grid.rows) for title, grid in snapshot.tabs.items()}}


def person_edits(book: Workbook) -> Plan:
    """What a person does between two syncs, found by header so it holds in en and es."""
    snapshot = book.read()
    plan = Plan()
    opps = snapshot.tabs["Opportunities"].rows
    head = opps[0]
    col = {h: i for i, h in enumerate(head)}
    lines = {r[0] for r in snapshot.tabs["Quote Lines"].rows[1:] if r}
    # Past the demo's planted problems (rows 2-7), on a deal with a contact to send to.
    tick = next(i for i, r in enumerate(opps[1:], 2)
                if i > 7 and r[col["Stage"]] == "Proposal" and r[0] in lines and r[col["Contact"]])
    moved = next(i for i, r in enumerate(opps[1:], 2) if r[col["Stage"]] == "Prospecting")
    euros = next(i for i, r in enumerate(opps[1:], 2) if r[col["Stage"]] == "Negotiation")
    send_col = len(head) + 1
    plan.writes += [CellWrite("Opportunities", 1, send_col, "Send Quote"),
                    CellWrite("Opportunities", tick, send_col, "yes"),
                    CellWrite("Opportunities", moved, col["Stage"] + 1, "Qualification"),
                    CellWrite("Opportunities", euros, col["Currency"] + 1, "EUR")]
    leads = snapshot.tabs["Leads"].rows
    lcol = {h: i for i, h in enumerate(leads[0])}
    new = len(leads) + 1
    plan.writes += [CellWrite("Leads", 2, lcol["Status"] + 1, "Converted"),
                    CellWrite("Leads", new, lcol["Last Name"] + 1, "Persona"),
                    CellWrite("Leads", new, lcol["Company"] + 1, "Nueva Empresa"),
                    CellWrite("Leads", new, lcol["Email"] + 1, "nueva@empresa.example"),
                    CellWrite("Leads", new, lcol["Status"] + 1, "New"),
                    CellWrite("Accounts", 3, 5, "lots")]
    plan.new_tabs += ["Rates", "Quotas"]
    for title, rows in (("Rates", [["Currency", "Rate"], ["EUR", 1.1], ["GBP", "abc"]]),
                        ("Quotas", [["Owner", "Month", "Quota"], ["Ana García", "2026-11", 50000],
                                    ["Luis Pérez", "2026-12-01", 40000], ["Nobody", "soon", 1]])):
        plan.writes += [CellWrite(title, r, c, v) for r, row in enumerate(rows, 1) for c, v in enumerate(row, 1)]
    return plan


class _Google:
    def __init__(self, emu: Emulator) -> None:
        self.trace: list[Any] = []
        key = emu.create_spreadsheet("CRM", {"Sheet1": []})
        conn = connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None), tracer=self.trace.append)
        self.book = GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com",
                                        **header_tests(Config()))  # as `sheetcrm` builds it (target.py)

    def counts(self) -> list[int]:
        reads = sum(1 for t in self.trace if t.kind == "read")
        return [reads, len(self.trace) - reads]


def run_scenario(backend: str, locale: str, tmp: Path) -> dict[str, Any]:
    config = Config(locale=locale)
    emu = None
    saved = os.environ.get("SHEETS_EMULATOR_HOST")
    if backend == "google":
        emu = Emulator()
        emu.__enter__()
    try:
        if emu is not None:
            os.environ["SHEETS_EMULATOR_HOST"] = emu.host
            google = _Google(emu)
            book: Workbook = google.book
        else:
            google = None
            book = XlsxWorkbook(tmp / f"demo-{locale}.xlsx")
        data = write_demo(book, rows=40, seed=5, today=AS_OF)
        config = demo_config(config, data)  # the demo's web form, read as `sheetcrm demo` reads it
        syncs = []
        for as_of, log_rows, edit in ((AS_OF, (), False), (NEXT_DAY, [LOG_ROW], True),
                                      *((NEXT_DAY, [LOG_ROW], False),) * SETTLING):
            if edit:
                book.write(person_edits(book))
            if google is not None:
                google.trace.clear()
            snapshot = book.read()
            _, _, plan = plan_sync(snapshot, config, as_of, log_rows=log_rows)
            if plan:
                book.write(plan)
            record: dict[str, Any] = {"plan": plan_record(plan)}
            if google is not None:
                record["requests"] = google.counts()  # before the read that records the cells
            record["after"] = book_record(book)
            syncs.append(record)
        return {"syncs": syncs}
    finally:
        if emu is not None:
            emu.__exit__(None, None, None)
            if saved is None:
                os.environ.pop("SHEETS_EMULATOR_HOST", None)
            else:
                os.environ["SHEETS_EMULATOR_HOST"] = saved


def _key(backend: str, locale: str) -> str:
    return f"{backend}-{locale}"


@pytest.fixture
def golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


@pytest.mark.parametrize("backend,locale", SCENARIOS)
def test_the_demo_syncs_write_what_they_wrote_before(backend, locale, golden, tmp_path):
    got = json.loads(json.dumps(run_scenario(backend, locale, tmp_path)))
    want = golden[_key(backend, locale)]
    assert len(got["syncs"]) == len(want["syncs"]) == 2 + SETTLING
    for n, (mine, theirs) in enumerate(zip(got["syncs"], want["syncs"]), 1):
        assert mine.get("requests") == theirs.get("requests"), f"sync {n}: request counts"
        for part in ("new_tabs", "mark_owned", "charts", "guides"):
            assert mine["plan"][part] == theirs["plan"][part], f"sync {n}: {part}"
        assert len(mine["plan"]["writes"]) == len(theirs["plan"]["writes"]), f"sync {n}: number of writes"
        for a, b in zip(mine["plan"]["writes"], theirs["plan"]["writes"]):
            assert a == b, f"sync {n}: write"
        assert mine["after"]["owned"] == theirs["after"]["owned"], f"sync {n}: owned tabs"
        assert list(mine["after"]["tabs"]) == list(theirs["after"]["tabs"]), f"sync {n}: tabs"
        for title, rows in theirs["after"]["tabs"].items():
            assert mine["after"]["tabs"][title] == rows, f"sync {n}: cells of {title}"
    # The record is not vacuous: the first two syncs write, the last writes nothing.
    assert want["syncs"][0]["plan"]["writes"] and want["syncs"][1]["plan"]["writes"]
    assert not want["syncs"][-1]["plan"]["writes"]


def capture() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        record = {_key(b, loc): run_scenario(b, loc, Path(tmp)) for b, loc in SCENARIOS}
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(json.dumps(record, ensure_ascii=False, indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__" and "--capture" in sys.argv:
    capture()
