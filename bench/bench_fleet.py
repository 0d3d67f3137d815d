"""Many workbooks, one service: the fleet against the Sheets emulator, in virtual time.

    python bench/bench_fleet.py                       # 200 workbooks, 10 virtual minutes, one dead
    python bench/bench_fleet.py --workbooks 20 --minutes 5 --dead 0

Each workbook is a small CRM in the emulator; the fleet syncs each every minute under
Google's default quotas (300 reads and 300 writes a minute per project, 60 per user: here
every workbook is the one emulator user), with the emulator enforcing the same per-minute
quota, so a request past the budget would come back 429. A dead workbook's every request is
answered 500 (Google's body) or cut (a TCP reset), by a fault injected in front of the
emulator's handler.

Time is the fleet's `VirtualClock`: it stands still while a job works and jumps when every
thread waits, so "lateness" (a sync's start minus the time it was due) is in the fleet's
seconds whatever the machine, and a 10-minute run takes the real seconds its syncs take.
Prints syncs per virtual minute, requests per minute against the budget, the worst lateness,
memory per workbook (RSS), and real seconds of work per sync (what bounds a real machine).
tests/fleet/test_simulation.py runs `simulate` at CI size; docs/scaling.md has the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from sheetcrm.emulator import Emulator
from sheetcrm.emulator.errors import ApiError
from sheetcrm.fleet.clock import VirtualClock
from sheetcrm.fleet.runner import Fleet
from sheetcrm.fleet.settings import load_fleet

LEADS = [["ID", "Last Name", "Company", "Status", "Email"],
         *[["", f"Person {i}", f"Company {i}", "New", f"p{i}@example.com"] for i in range(8)]]
ACCOUNTS = [["ID", "Account Name", "Industry"], *[["", f"Company {i}", "Retail"] for i in range(4)]]


@dataclass
class Figures:
    workbooks: int
    minutes: float
    syncs: int = 0
    ok: int = 0
    reads: int = 0
    writes: int = 0
    quota_429: int = 0
    dead_requests: int = 0
    dead_failures: int = 0
    dead_next_due: float = 0.0
    dead_runs: list[float] = field(default_factory=list)   # virtual start times of the dead workbook's syncs
    lateness: dict[str, list[float]] = field(default_factory=dict)  # healthy workbook -> each sync's lateness
    starts: dict[str, list[float]] = field(default_factory=dict)    # healthy workbook -> each sync's start
    real_seconds: float = 0.0
    cpu_seconds: float = 0.0       # this process's CPU: the fleet's and the emulator's answering it
    virtual_seconds: float = 0.0   # the run's virtual length, the final Sync Log writes included
    rss_per_workbook_kb: float = 0.0
    budget: dict[str, int] = field(default_factory=dict)
    budget_waited: float = 0.0  # seconds jobs waited for tokens: > 0 when the budget was binding
    states: dict[str, str] = field(default_factory=dict)

    def max_lateness(self, after: float = 0.0) -> float:
        return max((late for name in self.lateness for start, late in zip(self.starts[name], self.lateness[name])
                    if start >= after), default=0.0)


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class DeadInFront:
    """In front of the emulator's handler: every request for a dead spreadsheet fails as in an
    outage, alternately Google's 500 and a connection reset (TCP RST), and is counted."""

    def __init__(self, emu: Emulator, dead: set[str]) -> None:
        self.dead = dead
        self.answered = 0
        self._inner = emu._serve_one
        self._lock = threading.Lock()
        emu._serve_one = self._serve_one  # type: ignore[method-assign]

    def _serve_one(self, handler, body: bytes) -> None:  # type: ignore[no-untyped-def]
        if not any(key in handler.path for key in self.dead):
            return self._inner(handler, body)
        with self._lock:
            self.answered += 1
            drop = self.answered % 2 == 0
        if drop:
            handler.reset_connection()
        else:
            handler.reply(500, json.dumps(ApiError(500).body()).encode(), {})


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def simulate(workbooks: int = 20, minutes: float = 5, dead: int = 1, workers: int = 2, every: str = "every 1 minute",
             folder: Path | None = None, budget: dict[str, int] | None = None,
             quota: tuple[int, int] = (60, 60), users: int = 1) -> Figures:
    """Run a fleet of `workbooks` healthy spreadsheets (+ `dead` dead ones) for `minutes`
    virtual minutes; the fleet file's [budget] is `budget` (default: Google's quotas), the
    emulator answers 429 past `quota` (reads, writes) a minute (default: Google's per user).
    With `users` > 1 the workbooks are spread over that many credentials files (each a user
    with its own per-user buckets; the emulator ignores them, and then `quota` should be the
    project's)."""
    folder = folder or Path(tempfile.mkdtemp(prefix="fleet-"))
    budget = budget or {}
    clock = VirtualClock()
    figures = Figures(workbooks, minutes)
    with Emulator(read_quota=quota[0], write_quota=quota[1], clock=clock) as emu:
        keys = [emu.create_spreadsheet(f"Client {i}", {"Leads": LEADS, "Accounts": ACCOUNTS}) for i in range(workbooks)]
        dead_keys = [emu.create_spreadsheet(f"Dead {i}", {"Leads": LEADS}) for i in range(dead)]
        faults = DeadInFront(emu, set(dead_keys))
        lines = [f"workers = {workers}", f'state = "{folder / "state.json"}"', "[budget]",
                 *(f"{k} = {v}" for k, v in budget.items())]
        for i, key in enumerate(keys + dead_keys):
            name = f"client-{i:03d}" if i < workbooks else f"dead-{i - workbooks}"
            lines += ["[[workbook]]", f'name = "{name}"', f'spreadsheet = "{key}"', f'every = "{every}"']
            if users > 1:
                lines.append(f'credentials = "user-{i % users}.json"')
        (folder / "fleet.toml").write_text("\n".join(lines) + "\n")
        settings = load_fleet(folder / "fleet.toml")
        logger = logging.getLogger("sheetcrm.run")
        # The locks, Sync Log queues and journals in the run's own folder; every request to the emulator.
        with _environ(XDG_CACHE_HOME=str(folder / "cache"), SHEETS_EMULATOR_HOST=emu.host):
            rss = _rss_kb()
            fleet = Fleet(settings, logger, clock=clock, poll=None)
            started, cpu = time.perf_counter(), time.process_time()
            fleet.serve(until=minutes * 60)
            figures.real_seconds = time.perf_counter() - started
            figures.cpu_seconds = time.process_time() - cpu
            figures.virtual_seconds = clock.now()
            figures.rss_per_workbook_kb = (_rss_kb() - rss) / max(1, workbooks + dead)
        figures.budget_waited = fleet.budget.waited
        figures.dead_requests = faults.answered
        for record in emu.requests:
            figures.reads += record.method == "GET"
            figures.writes += record.method != "GET"
            figures.quota_429 += record.status == 429
        for slot in fleet.scheduler.slots:
            if slot.job != "sync":
                continue
            member = fleet.members[slot.member]
            starts = [start for start, _ in slot.runs]
            if slot.member.startswith("dead"):
                figures.dead_failures = slot.failures
                figures.dead_next_due = slot.due
                figures.dead_runs = starts
                continue
            figures.lateness[slot.member] = [late for _, late in slot.runs]
            figures.starts[slot.member] = starts
            figures.syncs += len(starts)
            figures.states[slot.member] = member.state
        figures.budget = {"reads": settings.budget.user_reads_per_minute, "writes": settings.budget.user_writes_per_minute}
    return figures


def throughput(workbooks: int, workers: int, folder: Path | None = None) -> float:
    """Real seconds for one steady round (every workbook synced once, nothing to write) on the
    real clock with `workers` threads, the budget out of the way: what the pool buys while the
    planning holds the GIL."""
    folder = folder or Path(tempfile.mkdtemp(prefix="fleet-throughput-"))
    with Emulator() as emu:
        keys = [emu.create_spreadsheet(f"Client {i}", {"Leads": LEADS, "Accounts": ACCOUNTS}) for i in range(workbooks)]
        lines = [f"workers = {workers}", f'state = "{folder / "state.json"}"', "[budget]",
                 "project_reads_per_minute = 1000000", "project_writes_per_minute = 1000000",
                 "user_reads_per_minute = 1000000", "user_writes_per_minute = 1000000"]
        for i, key in enumerate(keys):
            lines += ["[[workbook]]", f'name = "client-{i:03d}"', f'spreadsheet = "{key}"']
        (folder / "fleet.toml").write_text("\n".join(lines) + "\n")
        settings = load_fleet(folder / "fleet.toml")
        with _environ(XDG_CACHE_HOME=str(folder / "cache"), SHEETS_EMULATOR_HOST=emu.host):
            Fleet(settings, logging.getLogger("sheetcrm.run")).run_once()  # sets up every workbook's tabs
            started = time.perf_counter()
            Fleet(settings, logging.getLogger("sheetcrm.run")).run_once()
            return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workbooks", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=15)
    parser.add_argument("--dead", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--users", type=int, default=5, help="credentials files the workbooks are spread over")
    parser.add_argument("--every", default="every 5 minutes")
    parser.add_argument("--throughput", type=int, metavar="N",
                        help="instead: real seconds of one steady round of N workbooks with 1, 2 and 4 workers")
    args = parser.parse_args()
    logging.getLogger("sheetcrm.run").setLevel(logging.CRITICAL)
    if args.throughput:
        for workers in (1, 2, 4):
            seconds = throughput(args.throughput, workers)
            print(f"{args.throughput} workbooks, {workers} workers: {seconds:.1f} s for a round, "
                  f"{60 * args.throughput / seconds:.0f} syncs per minute, load average {os.getloadavg()[0]:.1f}")
        return
    # Google's quotas: each user's 60 a minute in the fleet's buckets, the project's 300 at the emulator.
    quota = (300, 300) if args.users > 1 else (60, 60)
    f = simulate(args.workbooks, args.minutes, args.dead, args.workers, args.every, quota=quota, users=args.users)
    minutes = f.virtual_seconds / 60
    print(f"{f.workbooks} workbooks (+{args.dead} dead) over {args.users} users, {args.every}, {args.workers} workers: "
          f"{minutes:.1f} virtual minutes in {f.real_seconds:.0f} real seconds, load average {os.getloadavg()[0]:.1f}")
    print(f"syncs: {f.syncs} ({f.syncs / minutes:.1f} per virtual minute); CPU per sync "
          f"{1000 * f.cpu_seconds / max(1, f.syncs):.0f} ms (the emulator's side included)")
    print(f"requests per virtual minute: {f.reads / minutes:.1f} reads, {f.writes / minutes:.1f} writes "
          f"(emulator quota {quota[0]} + {quota[1]}); 429 for quota: {f.quota_429}; "
          f"jobs waited {f.budget_waited:.0f} s in all for tokens")
    first_round = max((starts[0] for starts in f.starts.values() if starts), default=0.0)
    print(f"first round (every workbook's first sync, which sets up its tabs) done by {first_round:.0f} s; "
          f"max lateness {f.max_lateness():.0f} s overall, {f.max_lateness(after=first_round + 1):.1f} s after it")
    print(f"dead workbook: {f.dead_requests} requests, {f.dead_failures} failures in a row, "
          f"its syncs at {[round(t) for t in f.dead_runs]} s")
    print(f"memory: {f.rss_per_workbook_kb:.0f} KB RSS per workbook")


if __name__ == "__main__":
    sys.exit(main())
