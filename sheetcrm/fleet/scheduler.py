"""Which job runs next: the most overdue one, ties to the least recently run. Pure: no I/O, no clock.

A slot is one job of one workbook (its sync, its outbox, its digest) with the time it is due,
in the fleet clock's seconds. `next` hands out the slot due longest ago whose workbook has no
job running, so every workbook's turn comes in the order its jobs fell due and none starves,
however many there are. A slot that failed is due again after its period doubled per failure
in a row, up to a cap (the same rule as `sheetcrm run`'s jobs), and only while another worker
stays free for the healthy slots: a dead workbook's retries (and the backend's pauses inside
them) can hold at most `workers - 1` workers, so they never delay the others' due jobs.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field

RUNS_KEPT = 256  # each slot's latest (start, lateness) pairs, for the simulation and the bench


@dataclass(eq=False)
class Slot:
    member: str
    job: str
    period: float            # seconds between runs: the base of the backoff
    due: float
    last_run: float = -math.inf
    failures: int = 0
    running: bool = False
    runs: collections.deque[tuple[float, float]] = field(
        default_factory=lambda: collections.deque(maxlen=RUNS_KEPT))  # (start, start - due) of each run


class Scheduler:
    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.slots: list[Slot] = []

    def add(self, slot: Slot) -> Slot:
        self.slots.append(slot)
        return slot

    def remove(self, member: str) -> None:
        self.slots = [s for s in self.slots if s.member != member]

    def running(self) -> list[Slot]:
        return [s for s in self.slots if s.running]

    def next(self, now: float) -> Slot | None:
        """The slot to start now, marked running; None when nothing may start."""
        running = self.running()
        if len(running) >= self.workers:
            return None
        busy = {s.member for s in running}
        failing_running = sum(1 for s in running if s.failures)
        failing_allowed = failing_running < max(1, self.workers - 1)
        ready = [s for s in self.slots if s.due <= now and s.member not in busy
                 and (failing_allowed or not s.failures)]
        if not ready:
            return None
        slot = min(ready, key=lambda s: (s.due, s.last_run))
        slot.running = True
        slot.runs.append((now, now - slot.due))
        slot.last_run = now
        return slot

    def done(self, slot: Slot, ok: bool, now: float, cap: float = math.inf, next_due: float | None = None) -> float:
        """Schedule `slot` again after a run that started at `slot.last_run` and ended `now`;
        returns the delay until it is due. A success is due `period` after its start (or at
        `next_due`, for jobs at set hours); a failure `period * 2**failures` after its end,
        at most `cap` seconds."""
        slot.running = False
        if ok:
            slot.failures = 0
            slot.due = next_due if next_due is not None else slot.last_run + slot.period
            return slot.due - now
        slot.failures += 1
        # The doubling stops long past any cap: a float period (a member never opened has the
        # default 300.0) times 2**1024 is no float, and a member failing hourly got there in six
        # weeks (the worker's OverflowError was lost, the slot stayed running: never run again).
        delay = min(cap, slot.period * 2 ** min(slot.failures, 32))
        slot.due = now + delay
        return delay

    def skip(self, slot: Slot, now: float) -> None:
        """The slot could not run this round for a reason that is not its failure (another
        process holds the workbook): due again one period later, no backoff."""
        slot.running = False
        slot.due = now + slot.period

    def wake_at(self, now: float) -> float | None:
        """When to look again, after `next` gave None at `now`: the earliest due time of a slot
        that could start then, or None when only a job finishing can change anything (the
        workers are all busy, or what is due waits for its workbook's job or a free worker)."""
        running = self.running()
        if len(running) >= self.workers:
            return None
        busy = {s.member for s in running}
        dues = [s.due for s in self.slots if not s.running and s.member not in busy]
        due = min(dues, default=None)
        return due if due is not None and due > now else None
