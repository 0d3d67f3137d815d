"""Engine time for 100k leads, 50k opportunities and 200k activities, as a ratio to reading the cells.

The demo generator at --rows 100000 makes exactly that CRM (plus 25k accounts, 50k contacts,
50k tasks and its Stage History). The workbook is written once (streaming) and then timed:

- read: the .xlsx into a Snapshot (calamine), the I/O any sync pays;
- parse + validate: the snapshot into typed records and a report;
- engine: stage history, metrics, scores, forecast, KPIs (`engine.compute`);
- plan: computed columns and summary tabs rendered and diffed into cell writes.

    python bench/bench_engine.py [ROWS]
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from sheetcrm.config import Config
from sheetcrm.demo import generate
from sheetcrm.engine import compute
from sheetcrm.sync import plan_sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 23)


def timed(fn, *args):
    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0


def main(rows: int) -> None:
    data = generate(rows=rows, seed=1, today=AS_OF)
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


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
