"""Which job runs next: the most overdue, ties to the least recently run; one job per
workbook at a time; failures back off alone and never take the last free worker."""

from __future__ import annotations

from sheetcrm.fleet.scheduler import Scheduler, Slot


def test_the_most_overdue_runs_first_and_ties_go_to_the_least_recently_run():
    s = Scheduler(workers=1)
    a = s.add(Slot("a", "sync", 60, due=10, last_run=5))
    b = s.add(Slot("b", "sync", 60, due=3))
    c = s.add(Slot("c", "sync", 60, due=10, last_run=1))
    assert s.next(now=20) is b
    assert s.next(now=20) is None  # the one worker is busy
    s.done(b, ok=True, now=21)
    assert s.next(now=21) is c      # due at 10 like a, but ran longer ago
    s.done(c, ok=True, now=22)
    assert s.next(now=22) is a
    assert [late for _, late in b.runs] == [17]


def test_no_workbook_starves_however_many_are_due():
    s = Scheduler(workers=2)
    slots = [s.add(Slot(f"w{i}", "sync", 10, due=0)) for i in range(50)]
    now, order = 0.0, []
    for _ in range(200):
        slot = s.next(now)
        if slot is None:
            now += 1
            continue
        order.append(slot.member)
        s.done(slot, ok=True, now=now)
    counts = {m: order.count(m) for m in {x.member for x in slots}}
    assert max(counts.values()) - min(counts.values()) <= 1


def test_one_job_per_workbook_at_a_time():
    s = Scheduler(workers=3)
    sync = s.add(Slot("a", "sync", 60, due=0))
    outbox = s.add(Slot("a", "outbox", 60, due=0))
    other = s.add(Slot("b", "sync", 60, due=1))
    assert s.next(5) is sync
    assert s.next(5) is other      # a's outbox waits for a's sync
    assert s.next(5) is None
    assert s.wake_at(5) is None    # only a finish can change that
    s.done(sync, ok=True, now=6)
    assert s.next(6) is outbox


def test_a_failure_backs_off_doubling_up_to_the_cap_and_success_resets_it():
    s = Scheduler(workers=1)
    slot = s.add(Slot("a", "sync", 60, due=0))
    delays = []
    for _ in range(7):
        s.next(slot.due)
        delays.append(s.done(slot, ok=False, now=slot.due, cap=1000))
    assert delays == [120, 240, 480, 960, 1000, 1000, 1000]
    s.next(slot.due)
    start = slot.due
    assert s.done(slot, ok=True, now=start + 5, cap=1000) == 55  # due a period after its start
    assert slot.failures == 0 and slot.due == start + 60


def test_failing_workbooks_leave_a_worker_for_the_healthy_ones():
    s = Scheduler(workers=2)
    dead = [s.add(Slot(f"dead{i}", "sync", 60, due=0, failures=3)) for i in range(3)]
    healthy = s.add(Slot("ok", "sync", 60, due=5))
    assert s.next(10) is dead[0]
    assert s.next(10) is healthy   # dead1 and dead2 are due earlier, but may not take the last worker
    s.done(healthy, ok=True, now=11)
    assert s.next(11) is None      # still only one worker for failures, and it is taken


def test_a_skipped_round_is_due_a_period_later_without_backoff():
    s = Scheduler(workers=1)
    slot = s.add(Slot("a", "sync", 60, due=0))
    s.next(0)
    s.skip(slot, now=1)
    assert slot.due == 61 and slot.failures == 0 and not slot.running


def test_a_workbook_failing_for_weeks_keeps_its_capped_backoff():
    """Past 1024 failures in a row (six weeks of hourly retries of a workbook that is gone) the
    doubling was 2**1024 seconds, no float: OverflowError in the worker, whose slot then stayed
    `running` and was never run again. The backoff stays at its cap."""
    s = Scheduler(workers=2)
    slot = s.add(Slot("gone", "sync", period=30.0, due=0.0, failures=1100))
    assert s.next(0.0) is slot
    assert s.done(slot, ok=False, now=5.0, cap=3600.0) == 3600.0
    assert not slot.running and slot.due == 3605.0 and slot.failures == 1101
