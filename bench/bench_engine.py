"""Engine time for 100k leads, 50k opportunities and 200k activities, as a ratio to reading the cells.

The demo generator at --rows 100000 makes exactly that CRM (plus 25k accounts, 50k contacts,
50k tasks, its Stage History and its three segments); the bench adds ROWS/2 cases on random
accounts and 50 campaigns that every lead and half the deals name (`scale_up`). The workbook
is written once (streaming) and then timed:

- read: the .xlsx into a Snapshot (calamine), the I/O any sync pays;
- parse + validate: the snapshot into typed records and a report;
- engine: stage history, metrics, scores, forecast, KPIs (`engine.compute`);
- plan: computed columns and summary tabs rendered and diffed into cell writes;
- each step of `steps.STEPS` in that same plan, timed on its own (cases, campaigns, segments
  and the overview among them: issue 15).

    python bench/bench_engine.py [ROWS]
"""

from __future__ import annotations

import datetime as dt
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from sheetcrm.config import Config
from sheetcrm.demo import generate
from sheetcrm.engine import case_results, compute
from sheetcrm.i18n import using
from sheetcrm.steps import STEPS, SyncContext
from sheetcrm.sync import plan_sync, run_steps
from sheetcrm.validate import read_crm, team_config
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 23)


def timed(fn, *args):
    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0


CASE_STEPS = ("cases", "campaigns", "segments", "overview")  # issue 15's steps, reported apart


def scale_up(tabs: dict[str, list[list]], rows: int, rng: random.Random) -> None:
    """The demo's Cases and Campaigns at scale, in place: rows // 2 cases (random accounts,
    priorities, statuses, opened in the last 90 days at working hours, the closed ones resolved
    within 10 days) and 50 campaigns, named by every lead and by half the deals."""
    accounts = [r[0] for r in tabs["Accounts"][1:] if r[0]]
    owners = sorted({r[6] for r in tabs["Accounts"][1:]})
    cases = tabs["Cases"][:1]
    for i in range(1, rows // 2 + 1):
        opened = dt.datetime.combine(AS_OF, dt.time(rng.randint(8, 17))) - dt.timedelta(days=rng.randint(0, 90))
        status = rng.choice(["New", "Open", "Pending", "Resolved", "Closed"])
        resolved = opened + dt.timedelta(hours=rng.randint(1, 240)) if status in ("Resolved", "Closed") else None
        resolved = resolved if resolved is None or resolved.date() <= AS_OF else opened
        cases.append([f"CASE-{i:05d}", rng.choice(accounts), "", "Login fails",
                      rng.choice(["Low", "Normal", "High", "Urgent"]), status, rng.choice(["Phone", "Email", "Chat"]),
                      opened, resolved, rng.choice(owners)])
    tabs["Cases"] = cases
    campaigns = tabs["Campaigns"]
    template = campaigns[1]
    for i in range(len(campaigns), 51):
        campaigns.append([f"CMP-{i:04d}", f"Campaign {i}", *template[2:6], 1000 * i, 900 * i, *template[8:]])
    names = [c[1] for c in campaigns[1:]]
    leads = tabs["Leads"]
    at = leads[0].index("Campaign")
    for lead in leads[1:]:
        lead[at] = rng.choice(names)
    deals = tabs["Opportunities"]
    at = deals[0].index("Campaign")
    for deal in deals[1:]:
        if len(deal) <= at:
            deal += [""] * (at + 1 - len(deal))
            deal[at] = rng.choice(names) if rng.random() < 0.5 else ""


def step_times(snapshot, config) -> dict[str, float]:
    """Seconds per step of one plan (as `sync.plan_context` runs them; its read untimed), by
    the step's module name."""
    config = team_config(snapshot, config)
    seconds: dict[str, float] = {}

    def timing(step):
        def run(ctx):
            t0 = time.perf_counter()
            part = step(ctx)
            seconds[step.__module__.rsplit(".", 1)[-1]] = time.perf_counter() - t0
            return part
        return run

    with using(config.locale):
        crm = read_crm(snapshot, config)
        ctx = SyncContext(snapshot, config, AS_OF, crm, marks=dict(crm.inputs.sequences))
        run_steps(ctx, [timing(step) for step in STEPS])
    return seconds


def main(rows: int) -> None:
    data = generate(rows=rows, seed=1, today=AS_OF)
    scale_up(data.tabs, rows, random.Random(1))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crm.xlsx"
        wb = openpyxl.Workbook(write_only=True)
        for title, table in data.tabs.items():
            ws = wb.create_sheet(title)
            for row in table:
                ws.append(row)
        wb.save(path)
        snapshot, read_s = timed(XlsxWorkbook(path).read)
    cells = sum(len(r) for g in snapshot.tabs.values() for r in g.rows)
    config = Config()
    crm, validate_s = timed(read_crm, snapshot, config)
    _, engine_s = timed(compute, crm, config, AS_OF)
    (_, _, plan), sync_s = timed(plan_sync, snapshot, config, AS_OF)
    plan_s = sync_s - validate_s - engine_s  # plan_sync repeats validate and compute, then renders and diffs
    counts = {k: len(t.rows) for k, t in crm.tables.items()}
    print(f"Python {platform.python_version()}, {platform.machine()}; {cells:,} cells; rows: {counts}")
    print(f"planned {len(plan.writes):,} cell writes in {len(plan.cells_by_tab())} tabs\n")
    print("| step | seconds | ratio to read |")
    print("|---|---:|---:|")
    for name, seconds in (("read .xlsx (calamine)", read_s), ("parse + validate", validate_s),
                          ("engine (history, metrics, scores, forecast, KPIs)", engine_s),
                          ("render + diff into a plan", plan_s)):
        print(f"| {name} | {seconds:.2f} | {seconds / read_s:.2f} |")
    steps = step_times(snapshot, config)
    print("\n| step of the plan | seconds | ratio to read |")
    print("|---|---:|---:|")
    for name, seconds in steps.items():
        mark = "**" if name in CASE_STEPS else ""
        print(f"| {mark}{name}{mark} | {seconds:.2f} | {seconds / read_s:.2f} |")
    # The cases' SLA clock runs inside compute (Results.cases); the cases step only renders it.
    _, cases_s = timed(case_results, crm, config, AS_OF)
    print(f"| **cases' metrics, within compute (`engine.case_results`)** | {cases_s:.2f} | {cases_s / read_s:.2f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
