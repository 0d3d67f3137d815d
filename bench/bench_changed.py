"""A sync costs what changed (issue 16): a no-op and a one-row change against the full parse,
on .xlsx workbooks of the demo's shape, as ratios to reading the file in the same run.

For each size (its own process): the demo CRM (`demo.generate`, seed 1) is written with
openpyxl and synced until it settles (nothing left to write). Then, each timed:

- read: the .xlsx into a Snapshot (calamine), what any sync pays;
- no-op, no cache: `sync(..., cache=False)`: every row parsed and validated, as before the cache;
- no-op, cache: `sync(...)` with the parse memo of the previous sync beside the lock;
- one-row change, cache / no cache: one lead's Company changed (written through the .xlsx
  patcher, untimed), then a sync, which writes that lead's computed cells.

Times are CPU seconds of this process (`time.process_time`; the machine is shared, and wall
time follows the neighbours), the best of REPEATS. "rows parsed" is the cache's counter.

    python bench/bench_changed.py [ROWS ...]      # default: 10000 100000
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from sheetcrm.config import Config
from sheetcrm.demo import generate
from sheetcrm.starter import demo_config
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 23)
REPEATS = 2


def cpu(fn, *args, **kwargs):
    t0 = time.process_time()
    value = fn(*args, **kwargs)
    return value, time.process_time() - t0


def best(fn, *args, **kwargs):
    runs = [cpu(fn, *args, **kwargs) for _ in range(REPEATS)]
    return min(runs, key=lambda r: r[1])


def measure(rows: int) -> None:
    data = generate(rows=rows, seed=1, today=AS_OF)
    config = demo_config(Config(), data)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "crm.xlsx"
        cache = Path(tmp) / "cache"
        wb = openpyxl.Workbook(write_only=True)
        for title, table in data.tabs.items():
            ws = wb.create_sheet(title)
            for row in table:
                ws.append(row)
        wb.save(path)
        book = XlsxWorkbook(path)
        for _ in range(5):  # settle: IDs, form leads, workflows' tasks, sheetcrm's tabs
            if not sync(book, config, AS_OF, cache=False).plan:
                break
        snapshot, read_s = best(book.read)
        cells = sum(len(r) for g in snapshot.tabs.values() for r in g.rows)
        full, full_s = best(sync, book, config, AS_OF, cache=False)
        sync(book, config, AS_OF, cache=cache)  # warms the memo
        noop, noop_s = best(sync, book, config, AS_OF, cache=cache)
        assert not full.plan and not noop.plan

        leads = snapshot.tabs["Leads"]
        col = leads.rows[0].index("Company")

        def change(n: int) -> None:
            book.write(Plan(writes=[CellWrite("Leads", 2 + n, col + 1, f"Renamed Co {n}")]))

        def changed_sync(n: int, cached: bool):
            change(n)
            return cpu(sync, book, config, AS_OF, cache=cache if cached else False)

        one, one_s = min((changed_sync(n, True) for n in range(REPEATS)), key=lambda r: r[1])
        one_plain, one_plain_s = min((changed_sync(n + REPEATS, False) for n in range(REPEATS)), key=lambda r: r[1])
        print(f"| {rows:,} | {cells:,} | {read_s:.2f} | {full_s:.2f} ({full_s / read_s:.1f}×) "
              f"| {noop_s:.2f} ({noop_s / read_s:.1f}×) | {noop.memo.parsed} "
              f"| {one_s:.2f} ({one_s / read_s:.1f}×) | {one.memo.parsed} "
              f"| {one_plain_s:.2f} ({one_plain_s / read_s:.1f}×) | {one_s / noop_s:.2f} |", flush=True)


def main(sizes: list[int]) -> None:
    print("| leads | cells | read s | no-op, no cache | no-op, cache | rows parsed | one-row change, cache "
          "| rows parsed | one-row change, no cache | one-row / no-op (cache) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", flush=True)
    for rows in sizes:
        subprocess.run([sys.executable, __file__, "--one", str(rows)], check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        measure(int(sys.argv[2]))
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
