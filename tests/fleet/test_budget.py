"""The shared request budget: never more than the quota in any window, waits on the fleet's
clock, a user's bucket apart from another's, and the requests gated at the transport."""

from __future__ import annotations

import random
import threading


from sheetcrm.emulator import Emulator
from sheetcrm.fleet.budget import Budget, Gate, GatedAdapter, TokenBucket, gate_session, kind
from sheetcrm.fleet.clock import VirtualClock
from sheetcrm.fleet.settings import BudgetSettings
from sheetcrm.emulator.session import emulator_session


def test_a_bucket_never_lets_more_than_its_limit_through_in_any_window():
    bucket, rng, now, spent = TokenBucket(10, 60.0), random.Random(3), 0.0, []
    for _ in range(500):
        now += rng.choice([0.0, 0.5, 3.0, 17.0])
        ready = bucket.ready_at(now)
        now = max(now, ready)
        bucket.spend(now)
        spent.append(now)
    for i, t in enumerate(spent):
        assert sum(1 for u in spent[i:] if u < t + 60.0) <= 10
    # and a burst of the whole limit goes at once
    fresh = TokenBucket(10, 60.0)
    for _ in range(10):
        assert fresh.ready_at(0.0) == 0.0
        fresh.spend(0.0)
    assert fresh.ready_at(0.0) == 60.0


def budget(clock, **limits):
    return Budget(BudgetSettings(window_seconds=60, **limits), clock)


def test_take_waits_on_the_fleet_clock_for_the_user_bucket_and_not_for_another_user():
    clock = VirtualClock()
    b = budget(clock, user_reads_per_minute=2, project_reads_per_minute=100)
    b.take("alice", "read")
    b.take("alice", "read")
    b.take("bob", "read")  # bob's own bucket: no wait
    assert clock.now() == 0.0
    b.take("alice", "read")  # alice's third waits for her first token to come back
    assert clock.now() == 60.0
    assert b.waited == 60.0


def test_the_project_bucket_is_shared_by_every_user():
    clock = VirtualClock()
    b = budget(clock, user_writes_per_minute=10, project_writes_per_minute=3)
    for user in ("a", "b", "c"):
        b.take(user, "write")
    b.take("d", "write")
    assert clock.now() == 60.0
    assert b.used("write") == 1 and b.used("read") == 0


def test_reads_and_writes_as_google_counts_them():
    assert kind("GET", "/v4/spreadsheets/abc/values:batchGet") == "read"
    assert kind("GET", "/v4/spreadsheets/abc") == "read"
    assert kind("POST", "/v4/spreadsheets/abc:batchUpdate") == "write"
    assert kind("POST", "/v4/spreadsheets/abc/values:batchUpdate") == "write"
    assert kind("POST", "/v4/spreadsheets/abc/values:batchGetByDataFilter") == "read"


def test_every_request_of_the_session_passes_the_gate_before_it_is_sent():
    clock = VirtualClock()
    b = budget(clock, user_reads_per_minute=2, user_writes_per_minute=5)
    with Emulator(read_quota=2, write_quota=5, clock=clock) as emu:
        key = emu.create_spreadsheet("CRM", {"Leads": [["ID"]]})
        session = emulator_session(emu.host)
        gate = Gate(b, "emulator")
        gate_session(session, gate)
        assert all(isinstance(a, GatedAdapter) for a in session.adapters.values())
        url = f"https://sheets.googleapis.com/v4/spreadsheets/{key}"
        for _ in range(3):  # the third read waits a minute (virtually) instead of meeting a 429
            assert session.get(url).status_code == 200
        assert clock.now() == 60.0
        assert gate.last_minute() == 1  # the two of the first minute are a minute old
        assert [r.status for r in emu.requests] == [200, 200, 200]


def test_a_hard_stop_ends_a_wait_for_tokens():
    clock = VirtualClock()
    b = budget(clock, user_reads_per_minute=1)
    b.take("a", "read")
    outcome = []

    def worker():
        try:
            b.take("a", "read")
            outcome.append("took")
        except Exception as e:
            outcome.append(type(e).__name__)
        finally:
            clock.leave()

    clock.join()
    t = threading.Thread(target=worker)
    t.start()
    b.stopping.set()
    t.join(5)
    assert outcome == ["Stopped"]
