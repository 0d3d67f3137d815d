"""Duplicate detection at 10k and 100k leads+contacts, as a ratio to the sync's read of the same workbook.

For each size: a demo workbook (Leads, Contacts, Accounts; the demo's planted and chance
duplicates included) written to .xlsx; then, in one process and one run, the time to load it
(calamine, `book.read()`), the time of the read (`validate.read_crm`: every cell typed), and
the time of detection (`crm.duplicates.entities` + `find_groups` over the read's records, with
the default settings and `country = "ES"` so every phone is parsed; the phone cache emptied
before each run, as in a sync's one detection). The ratios are what to
compare across machines: both are measured on the same machine in the same minute.

    python bench/bench_duplicates.py              # 10k, 100k
    python bench/bench_duplicates.py 1000 5000    # chosen sizes
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import openpyxl

from sheetcrm.config import Config
from sheetcrm.crm.duplicates import DuplicateSettings, entities, find_groups, phone_key
from sheetcrm.demo import generate
from sheetcrm.validate import read_crm
from sheetcrm.workbook.xlsx import XlsxWorkbook

TABS = ("Accounts", "Contacts", "Leads")


def build(path: Path, leads: int) -> None:
    data = generate(rows=leads, seed=1)
    wb = openpyxl.Workbook(write_only=True)
    for title in TABS:
        ws = wb.create_sheet(title)
        for row in data.tabs[title]:
            ws.append(row)
    wb.save(path)


def best(f, runs: int = 2):
    out, elapsed = None, float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        out = f()
        elapsed = min(elapsed, time.perf_counter() - t0)
    return out, elapsed


def measure(leads: int) -> dict:
    config = Config(duplicates=DuplicateSettings(country="ES"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"dupes-{leads}.xlsx"
        build(path, leads)
        book = XlsxWorkbook(path)
        snapshot, load_s = best(book.read)
        crm, read_s = best(lambda: read_crm(snapshot, config))
        people = len(crm.records("leads")) + len(crm.records("contacts"))

        def detect():
            # A sync detects once per process: no phone parsed by an earlier run counts.
            phone_key.cache_clear()
            records = entities(crm.records("leads"), crm.records("contacts"), crm.records("accounts"))
            return find_groups(records, config.duplicates)

        found, detect_s = best(detect)
    return {
        "leads": leads, "people": people, "accounts": len(crm.records("accounts")),
        "load_s": round(load_s, 3), "read_s": round(read_s, 3), "detect_s": round(detect_s, 3),
        "detect_per_read": round(detect_s / read_s, 3), "detect_per_load_and_read": round(detect_s / (load_s + read_s), 3),
        "us_per_record": round(detect_s / max(people, 1) * 1e6, 1),
        "groups": len(found.groups), "in_groups": sum(len(g.ids) for g in found.groups), "skipped": len(found.skipped),
    }


def main(sizes: list[int]) -> None:
    print(f"# {platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    print("| leads | leads+contacts | load s | read s | detect s | detect / read | detect / (load+read) "
          "| µs/record | groups | records in groups |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        # One process per size, so the larger one's memory does not slow the smaller one.
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        print(f"| {r['leads']:,} | {r['people']:,} | {r['load_s']} | {r['read_s']} | {r['detect_s']} "
              f"| {r['detect_per_read']} | {r['detect_per_load_and_read']} | {r['us_per_record']} "
              f"| {r['groups']:,} | {r['in_groups']:,} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
