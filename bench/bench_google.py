"""Google Sheets sync cost: sheetcrm against the two usual ways of writing gspread CRM code.

For a Leads tab of 1k, 10k and 100k rows (the demo's leads with their planted bad cells, and
every 100th lead typed in without an ID), on one Sheets API emulator over loopback HTTP:

    sheetcrm    a first sync (fills the missing IDs, writes the Validation and _sheetcrm
                tabs) and a second sync that finds nothing to do
    update_cell gspread as CRM scripts use it: open_by_key, worksheet(title) and
                get_all_records() per tab, add_worksheet for a new tab, then one
                update_cell per cell that sheetcrm's plan writes
    dataframe   gspread-dataframe: get_as_dataframe per tab, the same cells set in the
                frames, set_with_dataframe per changed tab (which rewrites the whole tab)

Each approach starts from its own fresh copy of the same spreadsheet, and all write exactly
the cells of sheetcrm's first plan. Requests and body bytes come from the emulator's request
log: "MB received" is the answers as JSON, "on the wire" as sent, gzipped as Google gzips them
for a client that asks (every client here does: requests asks by default); "emulator s" is the time the emulator spent answering, so
the rest of the wall time is the client's. update_cell runs at most SAMPLE calls or
SAMPLE_SECONDS, whichever ends first, and the remaining calls are extrapolated from the
measured mean, labelled as such.

Google allows 60 read and 60 write requests per minute per user, so the last column is the
least wall time that quota alone imposes: ceil(requests / 60) - 1 minutes for the busier kind,
since the first 60 of each kind go in the first minute.

    python bench/bench_google.py                 # 1k, 10k, 100k
    python bench/bench_google.py 1000 --cap 300  # chosen sizes, seconds allowed per size
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

import gspread
import pandas as pd
from google.auth.credentials import AnonymousCredentials
from gspread_dataframe import get_as_dataframe, set_with_dataframe

from sheetcrm.config import Config
from sheetcrm.demo import generate
from sheetcrm.emulator import Emulator
from sheetcrm.emulator.session import emulator_session
from sheetcrm.sync import sync
from sheetcrm.workbook import Plan
from sheetcrm.workbook.credentials import EMULATOR_ENV, connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy

AS_OF = dt.date(2026, 11, 23)
NEW_EVERY = 100           # one lead in this many has no ID yet
SAMPLE = 1_000            # update_cell calls measured at most
SAMPLE_SECONDS = 60.0     # ... and for at most this long
QUOTA_PER_MINUTE = 60     # Google's read and write quotas per minute per user


def leads(n: int) -> list[list]:
    rows = generate(rows=n, seed=1).tabs["Leads"]
    # ISO text typed as USER_ENTERED becomes a date, as when a person types it in Sheets.
    rows = [[v.isoformat() if hasattr(v, "year") else v for v in r] for r in rows]
    for r in rows[1::NEW_EVERY]:
        r[0] = ""
    return rows


@dataclass
class Cost:
    reads: int = 0
    writes: int = 0
    sent: int = 0
    received: int = 0
    wire: int = 0
    seconds: float = 0.0
    emulator_seconds: float = 0.0

    def __add__(self, other: "Cost") -> "Cost":
        return Cost(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def scaled(self, factor: float) -> "Cost":
        return Cost(*(a * factor for a in self.astuple()))

    def astuple(self) -> tuple:
        return (self.reads, self.writes, self.sent, self.received, self.wire, self.seconds, self.emulator_seconds)


class Meter:
    """Requests, bytes and time between start() and stop(), from the emulator's own log."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.busy = 0.0
        handle = emu.service.handle

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return handle(*args, **kwargs)
            finally:
                self.busy += time.perf_counter() - t0

        emu.service.handle = timed

    def start(self) -> None:
        self.mark, self.busy_mark, self.t0 = len(self.emu.requests), self.busy, time.perf_counter()

    def stop(self) -> Cost:
        seconds = time.perf_counter() - self.t0
        log = self.emu.requests[self.mark:]
        # The bodies are no longer needed once counted; 100k-row reads are tens of MB each.
        del self.emu.requests[self.mark:]
        reads = sum(1 for r in log if r.method == "GET")
        return Cost(reads, len(log) - reads, sum(len(r.request) for r in log), sum(len(r.response) for r in log),
                    sum(r.wire for r in log), seconds, self.busy - self.busy_mark)


def plain(value):
    """A plan value as gspread sends it: JSON has no None or dates."""
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "year") else value


def grid_of(plan: Plan, tab: str) -> list[list]:
    writes = [w for w in plan.writes if w.tab == tab]
    width = max(w.col for w in writes)
    rows = [[""] * width for _ in range(max(w.row for w in writes))]
    for w in writes:
        rows[w.row - 1][w.col - 1] = plain(w.value)
    return rows


def run_sheetcrm(emu: Emulator, meter: Meter, key: str) -> tuple[Cost, Cost, Plan, dict]:
    os.environ[EMULATOR_ENV] = emu.host
    conn = connect(None, policy=RetryPolicy(attempts=1))
    book = GoogleSheetsWorkbook(conn.client, key)
    phases = {"read": 0.0, "write": 0.0}

    class Timed:
        """The workbook with its read and write timed, so planning is the remainder."""

        def read(self):
            t0 = time.perf_counter()
            try:
                return book.read()
            finally:
                phases["read"] += time.perf_counter() - t0

        def write(self, plan):
            t0 = time.perf_counter()
            try:
                return book.write(plan)
            finally:
                phases["write"] += time.perf_counter() - t0

    meter.start()
    first = sync(Timed(), Config(), as_of=AS_OF)
    first_cost = meter.stop()
    phases["plan"] = first_cost.seconds - phases["read"] - phases["write"]
    meter.start()
    second = sync(book, Config(), as_of=AS_OF)
    second_cost = meter.stop()
    assert not second.plan, "the second sync should find nothing to do"
    return first_cost, second_cost, first.plan, phases


def gspread_client(emu: Emulator) -> gspread.Client:
    return gspread.Client(AnonymousCredentials(), session=emulator_session(emu.host))


def run_update_cell(emu: Emulator, meter: Meter, key: str, plan: Plan) -> tuple[Cost, int]:
    """Returns the cost, with the unmeasured update_cell calls extrapolated, and how many were measured."""
    meter.start()
    sh = gspread_client(emu).open_by_key(key)
    sheets = {}
    for title in dict.fromkeys(w.tab for w in plan.writes):
        if title in plan.new_tabs:
            grid = grid_of(plan, title)
            sheets[title] = sh.add_worksheet(title, rows=max(len(grid), 100), cols=max(len(grid[0]), 10))
        else:
            sheets[title] = sh.worksheet(title)
            sheets[title].get_all_records()
    setup = meter.stop()

    meter.start()
    measured = 0
    deadline = time.perf_counter() + SAMPLE_SECONDS
    for w in plan.writes[:SAMPLE]:
        sheets[w.tab].update_cell(w.row, w.col, plain(w.value))
        measured += 1
        if time.perf_counter() > deadline:
            break
    cells = meter.stop()
    return setup + cells.scaled(len(plan.writes) / measured), measured


def run_dataframe(emu: Emulator, meter: Meter, key: str, plan: Plan) -> Cost:
    meter.start()
    sh = gspread_client(emu).open_by_key(key)
    for title in dict.fromkeys(w.tab for w in plan.writes):
        if title in plan.new_tabs:
            grid = grid_of(plan, title)
            ws = sh.add_worksheet(title, rows=max(len(grid), 100), cols=max(len(grid[0]), 10))
            set_with_dataframe(ws, pd.DataFrame(grid[1:], columns=grid[0]))
            continue
        ws = sh.worksheet(title)
        df = get_as_dataframe(ws)
        writes = [w for w in plan.writes if w.tab == title]
        # sheetcrm adds its computed columns by writing their headings past the last column.
        for w in sorted((w for w in writes if w.row == 1), key=lambda w: w.col):
            df[w.value] = None
        by_col: dict[int, dict[int, object]] = {}
        for w in writes:
            if w.row > 1:
                # Frame row labels are sheet rows less the header, even after empty rows are dropped.
                by_col.setdefault(w.col, {})[w.row - 2] = plain(w.value)
        # A column at a time, as pandas code would: cell-by-cell .loc would time pandas, not the API.
        for col, cells in by_col.items():
            df.loc[list(cells), df.columns[col - 1]] = list(cells.values())
        set_with_dataframe(ws, df)
    return meter.stop()


def measure(n: int) -> dict:
    rows = leads(n)
    t0 = time.perf_counter()

    def progress(done: str) -> None:
        # On stderr, which the parent passes through: a size killed at its cap shows how far it got.
        print(f"  {n:,} rows: {done} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    with Emulator() as emu:
        meter = Meter(emu)

        def fresh() -> str:
            return emu.create_spreadsheet("CRM", {"Leads": rows}, value_input="USER_ENTERED")

        first, second, plan, phases = run_sheetcrm(emu, meter, fresh())
        progress("sheetcrm")
        per_cell, measured = run_update_cell(emu, meter, fresh(), plan)
        progress("update_cell")
        frames = run_dataframe(emu, meter, fresh(), plan)
        progress("gspread-dataframe")
    return {"rows": n, "cells": len(plan.writes), "by_tab": plan.cells_by_tab(), "phases": phases,
            "measured": measured, "costs": {"sheetcrm, first sync": first.astuple(),
                                            "sheetcrm, second sync (no-op)": second.astuple(),
                                            "gspread update_cell": per_cell.astuple(),
                                            "gspread-dataframe": frames.astuple()}}


def quota_minutes(cost: Cost) -> str:
    busiest = max(cost.reads, cost.writes)
    minutes = math.ceil(busiest / QUOTA_PER_MINUTE) - 1
    if minutes <= 0:
        return "none (fits in one minute)"
    return f"{minutes:,} min ({minutes / 60:.1f} h)" if minutes >= 120 else f"{minutes:,} min"


def table(results: list[dict]) -> str:
    out = ["| rows | approach | reads | writes | MB sent | MB received (on the wire) | wall s | emulator s "
           "| min wall time at Google's quota | note |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        for name, values in r["costs"].items():
            c = Cost(*values)
            note = ""
            if name == "gspread update_cell" and r["measured"] < r["cells"]:
                note = f"extrapolated from {r['measured']:,} measured update_cell requests"
            if name == "sheetcrm, first sync":
                p = r["phases"]
                note = f"read {p['read']:.2f} s, plan {p['plan']:.2f} s, write {p['write']:.2f} s"
            out.append(f"| {r['rows']:,} | {name} | {c.reads:,.0f} | {c.writes:,.0f} | {c.sent / 1e6:,.2f} "
                       f"| {c.received / 1e6:,.2f} ({c.wire / 1e6:,.2f}) | {c.seconds:,.1f} | {c.emulator_seconds:,.1f} "
                       f"| {quota_minutes(c)} | {note} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000, 100_000])
    parser.add_argument("--cap", type=float, default=900, help="seconds allowed per size (default 900)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.sizes[0])))
        return
    results = []
    for n in args.sizes:
        # A process per size: each is killed at its cap, and no size's memory weighs on the next.
        try:
            out = subprocess.run([sys.executable, __file__, str(n), "--child"], stdout=subprocess.PIPE, text=True,
                                 check=True, timeout=args.cap)
        except subprocess.TimeoutExpired:
            print(f"{n:,} rows: over the {args.cap:.0f} s cap, skipped", file=sys.stderr)
            continue
        except subprocess.CalledProcessError:
            print(f"{n:,} rows: failed, skipped", file=sys.stderr)
            continue
        results.append(json.loads(out.stdout))
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, {dt.date.today()}, "
          f"gspread {gspread.__version__}, pandas {pd.__version__}\n")
    for r in results:
        print(f"{r['rows']:,} rows: sheetcrm's plan writes {r['cells']:,} cells {r['by_tab']}")
    print()
    print(table(results))


if __name__ == "__main__":
    main()
