"""Parse-and-validate cost of .xlsx workbooks of 1k, 10k and 100k leads.

For each size: the time just to load the file into a Snapshot (openpyxl, read-only), the
time to parse and validate that snapshot into records (the pure core), and peak memory of
each phase (tracemalloc) plus the process's peak RSS. Each size runs in its own process so
the memory figures do not leak into each other.

    python bench/bench_validate.py               # 1k, 10k, 100k
    python bench/bench_validate.py 1000 5000     # chosen sizes
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import openpyxl

from sheetcrm.config import Config
from sheetcrm.demo import generate
from sheetcrm.validate import read_crm
from sheetcrm.workbook.xlsx import XlsxWorkbook


def build(path: Path, leads: int) -> None:
    """A workbook of `leads` demo leads (with their planted bad rows), written streaming."""
    data = generate(rows=leads, seed=1)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Leads")
    for row in data.tabs["Leads"]:
        ws.append(row)
    wb.save(path)


def measure(leads: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"leads-{leads}.xlsx"
        build(path, leads)
        size = path.stat().st_size
        book = XlsxWorkbook(path)

        tracemalloc.start()
        t0 = time.perf_counter()
        snapshot = book.read()
        load_s = time.perf_counter() - t0
        load_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()

        t0 = time.perf_counter()
        crm = read_crm(snapshot, Config())
        validate_s = time.perf_counter() - t0
        validate_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

        # The same work without tracemalloc's overhead, for honest timings.
        t0 = time.perf_counter()
        book.read()
        load_s = min(load_s, time.perf_counter() - t0)
        t0 = time.perf_counter()
        read_crm(snapshot, Config())
        validate_s = min(validate_s, time.perf_counter() - t0)

    return {
        "leads": leads, "file_mb": round(size / 1e6, 2),
        "load_s": round(load_s, 3), "validate_s": round(validate_s, 3),
        "validate_us_per_row": round(validate_s / leads * 1e6, 1),
        "load_peak_mb": round(load_peak / 1e6, 1), "validate_peak_mb": round(validate_peak / 1e6, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "issues": crm.report.errors + crm.report.warnings,
    }


def main(sizes: list[int]) -> None:
    if len(sizes) == 1 and "--child" in sys.argv:
        print(json.dumps(measure(sizes[0])))
        return
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, str(n), "--child"], capture_output=True, text=True,
                             check=True)
        rows.append(json.loads(out.stdout))
    print(f"Python {platform.python_version()} on {platform.machine()}, {platform.processor() or 'cpu'}\n")
    print("| leads | file MB | load s | parse+validate s | µs/row | load peak MB | validate peak MB | max RSS MB |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['leads']:,} | {r['file_mb']} | {r['load_s']} | {r['validate_s']} | {r['validate_us_per_row']} "
              f"| {r['load_peak_mb']} | {r['validate_peak_mb']} | {r['max_rss_mb']} |")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:] if a.isdigit()]
    main(args or [1_000, 10_000, 100_000])
