"""Cost of a small write to a big .xlsx: 13 changed cells, old writer against the new one.

For each workbook (a `sheetcrm demo --rows N` file, made once and reused), each writer runs
in its own process: it reads the workbook (as a sync does), writes a plan of 13 cells (an
ID-guarded computed value on 10 leads and 3 opportunities, like a sync after a few edits),
and reports the write's wall time and the process's peak RSS. The old writer is the code at
`--baseline` (a git revision, default the commit before the patching writer), exported with
`git archive`, so both run in one session on one machine and the ratio is fair.

    python bench/bench_write.py /tmp/d10k.xlsx /tmp/d100k.xlsx
    python bench/bench_write.py --baseline 9925d24 /tmp/d10k.xlsx
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook

book = XlsxWorkbook(sys.argv[1])
t0 = time.perf_counter()
snap = book.read()
t_read = time.perf_counter() - t0
writes = []
for tab, count in (("Leads", 10), ("Opportunities", 3)):
    grid = snap.tabs[tab]
    col = len(grid.header) + 1  # a fresh column: every cell is a change
    for row in range(2, 2 + count):
        writes.append(CellWrite(tab, row, col, 1234.5 + row, expect=((1, grid.cell(row - 1, 0)),)))
t0 = time.perf_counter()
result = book.write(Plan(writes=writes))
t_write = time.perf_counter() - t0
print(json.dumps({"read_s": round(t_read, 2), "write_s": round(t_write, 2), "written": result.total,
                  "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))
"""


def run(code_dir: Path, workbook: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / workbook.name
        shutil.copy(workbook, copy)
        # cwd: `python -c` puts the working folder first on sys.path, ahead of PYTHONPATH.
        out = subprocess.run([sys.executable, "-c", CHILD, str(copy)], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(code_dir)}, cwd=tmp)
        return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("workbooks", nargs="+", type=Path)
    parser.add_argument("--baseline", default="9925d24", help="git revision of the old writer")
    args = parser.parse_args()
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as base:
        archive = subprocess.run(["git", "-C", str(repo), "archive", args.baseline, "sheetcrm"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", base], input=archive, check=True)
        print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
        for workbook in args.workbooks:
            size = workbook.stat().st_size / 1e6
            old = run(Path(base), workbook)
            new = run(repo, workbook)
            print(f"{workbook.name} ({size:.1f} MB): old {old}  new {new}  "
                  f"write {old['write_s'] / max(new['write_s'], 0.01):.0f}x faster, "
                  f"peak RSS {old['peak_rss_mb'] / max(new['peak_rss_mb'], 1):.1f}x lower")


if __name__ == "__main__":
    main()
