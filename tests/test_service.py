"""`sheetcrm run`: schedule phrases, the Sync Log riding along with syncs, and the real loop in
its own process against an emulator served from this test process, so the test can inject
503s, 429s and resets and play a person editing between requests."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from sheetcrm.config import Config
from sheetcrm.emulator import Emulator
from sheetcrm.emulator.errors import ApiError
from sheetcrm.schema import SYNC_LOG_ROWS
from sheetcrm.service import Every, parse_every
from sheetcrm.sync import plan_sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 23)
LEADS = [["ID", "Last Name", "Company", "Status"], ["", "Adams", "A Co", "New"]]


# -- schedule phrases ------------------------------------------------------------------------

@pytest.mark.parametrize("phrase, every", [
    ("every 5 minutes", Every(5, "minutes")),
    ("every 30s", Every(30, "seconds")),
    ("Every  1 Hour", Every(1, "hours")),
    ("every minute", Every(1, "minutes")),
    ("every day at 08:00", Every(1, "days", "08:00")),
    ("every day at 8:05", Every(1, "days", "08:05")),
    ("every monday at 09:30", Every(1, "monday", "09:30")),
    ("every monday at 9:30", Every(1, "monday", "09:30")),
    ("every day at 8:05:07", Every(1, "days", "08:05:07")),
    ("every 2 weeks", Every(2, "weeks")),
])
def test_schedule_phrases(phrase, every):
    assert parse_every(phrase) == every


@pytest.mark.parametrize("phrase", ["every fortnight", "5 minutes", "every 0 minutes", "every 5 minutes at 08:00",
                                    "every day at 25:00", "every 2 mondays", "",
                                    "every monday at 25:00", "every day at 08:00:60", "every sunday at 09:60"])
def test_bad_schedule_phrases_are_refused(phrase):
    with pytest.raises(ValueError):
        parse_every(phrase)


def test_backoff_base_is_the_period():
    assert parse_every("every 5 minutes").period == 300
    assert parse_every("every day at 08:00").period == 86400


MADRID = "Europe/Madrid"


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


@pytest.mark.parametrize("phrase, after, due", [
    # A server in UTC, a team in Madrid: 08:00 there is 07:00 UTC in winter, 06:00 in summer.
    ("every day at 08:00", "2026-12-02T06:59:00+00:00", "2026-12-02T08:00:00+01:00"),
    ("every day at 08:00", "2026-12-02T07:30:00+00:00", "2026-12-03T08:00:00+01:00"),  # 07:30 UTC is 08:30 there
    # Across the spring change (Sunday 29 March 2026, 02:00 -> 03:00) and the autumn one (25 October, 03:00 -> 02:00)
    ("every day at 08:00", "2026-03-28T12:00:00+00:00", "2026-03-29T08:00:00+02:00"),
    ("every day at 08:00", "2026-10-24T12:00:00+00:00", "2026-10-25T08:00:00+01:00"),
    ("every day at 02:30", "2026-03-28T12:00:00+00:00", "2026-03-29T03:30:00+02:00"),  # skipped: an hour later
    ("every day at 02:30", "2026-10-24T12:00:00+00:00", "2026-10-25T02:30:00+02:00"),  # repeated: the first
    ("every day at 02:30", "2026-10-25T00:30:00+00:00", "2026-10-26T02:30:00+01:00"),  # and only that one
    ("every sunday at 09:30", "2026-03-23T12:00:00+00:00", "2026-03-29T09:30:00+02:00"),
    ("every monday at 09:30", "2026-03-30T07:29:00+00:00", "2026-03-30T09:30:00+02:00"),
    ("every monday at 09:30", "2026-03-30T07:30:00+00:00", "2026-04-06T09:30:00+02:00"),
    ("every 2 days at 08:00", "2026-03-28T05:00:00+00:00", "2026-03-30T08:00:00+02:00"),  # the library's first day
    ("every week at 08:00", "2026-03-28T05:00:00+00:00", "2026-03-28T08:00:00+01:00"),  # the library refused its at()
    ("every week at 08:00", "2026-03-28T07:00:00+00:00", "2026-04-04T08:00:00+02:00"),
])
def test_a_time_of_day_is_on_the_teams_wall_clock(phrase, after, due):
    from zoneinfo import ZoneInfo

    found = parse_every(phrase).next_at(_at(after), ZoneInfo(MADRID))
    assert found == _at(due) and found.tzinfo == dt.timezone.utc



@pytest.mark.parametrize("after, due", [
    ("2026-03-28T12:00:00+00:00", "2026-03-29T03:30:00+02:00"),  # skipped by the spring change: an hour later
    ("2026-10-24T12:00:00+00:00", "2026-10-25T02:30:00+02:00"),  # repeated by the autumn one: the first
    ("2026-10-25T00:30:00+00:00", "2026-10-26T02:30:00+01:00"),  # and only that one
])
def test_a_time_of_day_on_the_machines_own_zone_moves_as_on_a_named_one(monkeypatch, after, due):
    """No timezone in the config: the machine's zone (Madrid here) gives the same moments as
    naming it. Its naive time put the 02:30 the spring change skips an hour early, at 01:30 CET
    (before the change, not after it as documented)."""
    monkeypatch.setenv("TZ", MADRID)
    time.tzset()
    try:
        assert parse_every("every day at 02:30").next_at(_at(after), None) == _at(due)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_the_service_waits_for_the_teams_0800_not_the_machines(tmp_path, monkeypatch):
    """`sheetcrm run` on any machine's zone: the digest is first due at the next 08:00 in Madrid,
    and after each run at the next, summer time or not, as an aware moment (never a naive
    machine-local time, which a DST change makes ambiguous)."""
    import logging
    from zoneinfo import ZoneInfo

    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    config = Config(timezone=MADRID, smtp={"host": "localhost", "from": "crm@example.com"},
                    owners={"Ana": "ana@example.com"})
    service = Service(config, book, logging.getLogger("test-team-clock"), log_queue=LogQueue(tmp_path / "q.jsonl"))
    digest = next(j for j in service.jobs if j.name == "digest")
    madrid = ZoneInfo(MADRID)
    for after, due in [("2026-03-28T07:30:00+00:00", dt.datetime(2026, 3, 29, 8, tzinfo=madrid)),
                       ("2026-03-29T06:00:00+00:00", dt.datetime(2026, 3, 30, 8, tzinfo=madrid)),
                       ("2026-10-25T07:00:00+00:00", dt.datetime(2026, 10, 26, 8, tzinfo=madrid))]:
        assert service.next_run(digest, _at(after)).astimezone() == due
    service.stopping.set()  # serve() schedules its jobs, finds the stop asked, and returns
    service.serve()
    assert digest.due_at == service.next_run(digest) and digest.due_at.tzinfo is not None
    assert digest.due_at.astimezone(madrid).time() == dt.time(8)


@pytest.mark.parametrize("jump", ["autumn change", "clock set back a day"])
def test_interval_jobs_keep_their_pace_when_the_wall_clock_goes_back(tmp_path, monkeypatch, jump):
    """A sync every second keeps running every second when the machine's wall clock goes back:
    the autumn DST change on a machine in Madrid (02:59:59 CEST is followed by 02:00:00 CET)
    or a clock set back a day (by hand, or NTP fixing a clock that ran ahead). Interval jobs
    and backoffs count elapsed seconds; due times read on the naive local clock stalled every
    job for the hour (the day) the clock went back: no sync, no quote sent, no Sync Log row."""
    import datetime as real_dt
    import logging

    from sheetcrm.service import JobResult, Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    service = Service(Config(), book, logging.getLogger("test-clock-back"), sync_every=parse_every("every 1 second"),
                      log_queue=LogQueue(tmp_path / "q.jsonl"))
    real = real_dt.datetime
    started = time.monotonic()
    if jump == "autumn change":
        monkeypatch.setenv("TZ", MADRID)
        time.tzset()
        base = real(2026, 10, 25, 0, 59, 58, tzinfo=real_dt.timezone.utc)  # 02:59:58 CEST, two seconds before

        def wall(tz):
            return (base + real_dt.timedelta(seconds=time.monotonic() - started)).astimezone(tz)
    else:
        def wall(tz):  # set back a day a second and a half in: between two runs
            return real.now(tz) - real_dt.timedelta(days=1 if time.monotonic() - started > 1.5 else 0)

    class Clock(real):
        @classmethod
        def now(cls, tz=None):
            moment = wall(tz)
            return moment if tz is not None else moment.replace(tzinfo=None)

    runs = []

    def sync() -> JobResult:
        runs.append(time.monotonic() - started)
        if len(runs) == 4:
            service.stopping.set()
        return JobResult()

    service.jobs[0].work = sync
    watchdog = threading.Timer(12, service.stopping.set)
    watchdog.start()
    monkeypatch.setattr(real_dt, "datetime", Clock)
    try:
        service.serve()
    finally:
        real_dt.datetime = real
        watchdog.cancel()
        if jump == "autumn change":
            monkeypatch.delenv("TZ")
            time.tzset()
    # Four runs before the 12-second watchdog: a loop waiting for the wall clock to catch up
    # (an hour, a day) makes one or two.
    assert len(runs) == 4, f"runs at {runs} s: the loop waited for the wall clock to catch up"


def test_a_digest_is_not_sent_again_when_the_clock_goes_back_a_day(tmp_path):
    """The ledger of digests sent keeps each owner's last day. After Wednesday's digest went out,
    a clock set back to Tuesday (NTP fixing a clock that ran ahead, a wrong date fixed by hand)
    sent Tuesday's digest a second time; a later day still gets its own."""
    from sheetcrm.service import DigestLedger

    ledger = DigestLedger(tmp_path / "digests.json")
    ledger.add(["Ana"], dt.date(2026, 12, 2))
    assert ledger.has("Ana", dt.date(2026, 12, 2)) and ledger.has("Ana", dt.date(2026, 12, 1))
    assert not ledger.has("Ana", dt.date(2026, 12, 3)) and not ledger.has("Leo", dt.date(2026, 12, 1))


def test_a_bad_phrase_is_one_config_line_naming_the_key(tmp_path):
    (tmp_path / "sheetcrm.toml").write_text('[schedule]\nsync = "every fortnight"\n')
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "run", "--once"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "schedule.sync" in out.stderr and "every fortnight" in out.stderr


def test_a_bad_every_flag_is_a_usage_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "run", "--every", "soon"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--every" in out.stderr


# -- the Sync Log in the plan ----------------------------------------------------------------

def log_row(n: int) -> list:
    return [f"2026-11-23T08:{n // 60:02d}:{n % 60:02d}+00:00", "sync", 0.5, 10, 0, 1, 4, "ok", ""]


def test_log_rows_ride_along_only_with_a_write():
    book = MemoryWorkbook({"Leads": LEADS})
    _, _, plan = plan_sync(book.read(), Config(), AS_OF, [log_row(1)])
    assert "Sync Log" in plan.new_tabs  # the plan wrote anyway (an ID), so the row rides along
    book.write(plan)
    _, _, plan = plan_sync(book.read(), Config(), AS_OF, [log_row(2)])
    assert not plan  # nothing else to write: the row waits rather than cost a request
    assert book.tabs["Sync Log"][1][:2] == log_row(1)[:2]


def test_sync_log_keeps_the_newest_rows_and_never_adds_a_row_twice():
    old = [log_row(n) for n in range(SYNC_LOG_ROWS)]
    book = MemoryWorkbook({"Leads": LEADS, "Sync Log": [["Time"], *old]}, owned={"Sync Log"})
    fresh = [log_row(SYNC_LOG_ROWS), log_row(SYNC_LOG_ROWS - 1)]  # the second is already there
    _, _, plan = plan_sync(book.read(), Config(), AS_OF, fresh)
    book.write(plan)
    body = book.tabs["Sync Log"][1:]
    assert len(body) == SYNC_LOG_ROWS
    assert body[0][0] == log_row(1)[0] and body[-1][0] == log_row(SYNC_LOG_ROWS)[0]


# -- the real loop, in a subprocess ----------------------------------------------------------

FAST = """
[google]
attempts = 3
backoff_seconds = 0.01
max_backoff_seconds = 0.05

[schedule]
sync = "every 1 second"
max_backoff_seconds = 2
"""


class Runner:
    """`sheetcrm run` in its own process; its JSON log lines arrive on a queue."""

    def __init__(self, tmp_path, emu: Emulator, key: str, *args: str, config: str = FAST) -> None:
        (tmp_path / "sheetcrm.toml").write_text(config)
        self.env = {**os.environ, "SHEETS_EMULATOR_HOST": emu.host, "XDG_CACHE_HOME": str(tmp_path / "cache")}
        self.cwd = tmp_path
        self.key = key
        self.proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "run", "--spreadsheet", key, "--log-format",
                                      "json", *args], cwd=tmp_path, env=self.env, stderr=subprocess.PIPE, text=True)
        self.events: list[dict] = []
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr:  # type: ignore[union-attr]
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, predicate, timeout: float = 30) -> dict:
        """The first event from now on that satisfies `predicate`; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                continue
            assert line is not None, f"sheetcrm run exited early ({self.proc.wait()}): {self.events[-5:]}"
            event = json.loads(line)  # every stderr line is a JSON object: nothing else leaks out
            self.events.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no such event within {timeout}s; last: {self.events[-5:]}")

    def syncs_done(self, timeout: float = 30) -> dict:
        return self.wait_for(lambda e: e.get("event") == "job_done" and e["job"] == "sync", timeout)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        while (line := self._lines.get(timeout=10)) is not None:
            self.events.append(json.loads(line))
        return code


@pytest.fixture
def emu():
    with Emulator() as emulator:
        yield emulator


def sync_log(emu: Emulator, key: str) -> list[list]:
    return emu.values(key, "Sync Log")[1:]


def add_lead(emu: Emulator, key: str, name: str) -> None:
    rows = emu.values(key, "Leads")
    emu.set_values(key, f"Leads!A{len(rows) + 1}", [["", name, f"{name} Co", "New"]])


def test_syncs_run_on_schedule_log_for_free_and_a_second_instance_is_refused(emu, tmp_path):
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    runner = Runner(tmp_path, emu, key)
    first = runner.syncs_done()
    assert first["cells_written"] > 0 and first["status"] == "ok"
    second = subprocess.run([sys.executable, "-m", "sheetcrm", "run", "--spreadsheet", key, "--once"],
                            cwd=tmp_path, env=runner.env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert f"PID {runner.proc.pid}" in second.stderr and second.stderr.count("\n") == 1
    for name in ("Baker", "Clark", "Davis"):
        add_lead(emu, key, name)
        runner.syncs_done(timeout=15)  # a 1-second schedule: each sync is due well within the deadline
    # The event just taken may be of a sync that read before the last lead was added (events wait
    # in a queue while the test works): the next syncs give it its ID, a few seconds at most.
    for _ in range(5):
        if all(r[0] for r in emu.values(key, "Leads")[1:]):
            break
        runner.syncs_done(timeout=15)
    runner.syncs_done(timeout=15)      # and one with nothing to change
    assert runner.stop() == 0
    done = [e for e in runner.events if e.get("event") == "job_done"]
    rows = sync_log(emu, key)
    assert len(rows) == len(done) and all(r[1] == "sync" and r[7] == "ok" for r in rows)
    # The Sync Log cost no request: a write only for syncs that had cells to write, plus one at exit.
    writes = [r for r in emu.requests if r.method == "POST" and r.path.endswith(":batchUpdate")]
    assert len(writes) == sum(1 for e in done if e["cells_written"]) + 1
    assert all(r[0] for r in emu.values(key, "Leads")[1:])


def test_a_burst_of_503s_and_429s_is_ridden_out_and_the_loop_recovers(emu, tmp_path):
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    runner = Runner(tmp_path, emu, key)
    runner.syncs_done()
    # Three attempts per request: the first sync after the burst runs out of attempts and fails,
    # the next one (backed off) finds the tail of the burst, retries past it and succeeds.
    emu.fail_next(2, 503)
    emu.drop_next(1)
    emu.fail_next(2, 429, retry_after=0)
    failed = runner.wait_for(lambda e: e.get("event") == "job_failed")
    assert failed["job"] == "sync" and "retries exhausted" in failed["detail"] and failed["retry_in"] == 2
    recovered = runner.wait_for(lambda e: e.get("event") == "recovered", timeout=20)
    assert recovered["failures"] == 1
    add_lead(emu, key, "Baker")
    runner.wait_for(lambda e: e.get("event") == "job_done" and e["cells_written"] > 0, timeout=15)
    assert runner.stop() == 0
    statuses = [r[7] for r in sync_log(emu, key)]
    assert "error" in statuses and statuses[-1] == "ok"
    assert all(r[0] for r in emu.values(key, "Leads")[1:])


def test_sigterm_lets_the_sync_in_flight_finish_then_exits_0(emu, tmp_path):
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    runner = Runner(tmp_path, emu, key)
    runner.syncs_done()
    add_lead(emu, key, "Baker")

    def terminate_mid_sync(e: Emulator) -> None:
        # Just before the next sync's first request: the signal lands while that sync waits
        # for the answer, and the answer comes after the signal.
        runner.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)

    emu.between_requests(terminate_mid_sync)
    assert runner.proc.wait(timeout=60) == 0
    runner.wait_for(lambda e: e.get("event") == "log_flushed", timeout=10)
    kinds = [e.get("event") for e in runner.events]
    assert kinds.index("signal") < len(kinds) - 1 - kinds[::-1].index("job_done")  # the sync finished after it
    baker = next(r for r in emu.values(key, "Leads") if r[1] == "Baker")
    assert baker[0].startswith("LEAD-")
    assert len(sync_log(emu, key)) == 2


def test_once_runs_the_sync_and_writes_its_log_row_for_cron(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    book = XlsxWorkbook(str(tmp_path / "crm.xlsx"))
    book.create()
    book.write(Plan(new_tabs=["Leads"], writes=[CellWrite("Leads", 1 + r, 1 + c, v)
                                                 for r, row in enumerate(LEADS) for c, v in enumerate(row)]))
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "sheetcrm", "run", "--once", "--workbook", "crm.xlsx"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "sync ok" in out.stderr and "Sync Log row at exit" in out.stderr
    rows = book.read().tabs["Sync Log"].rows
    assert [r[1] for r in rows[1:]] == ["sync", "sync"] and rows[1][5] > 0 and rows[2][5] == 0


# -- the Sync Log: alive while idle, and nothing lost to a crash -----------------------------

def batch_updates(emu: Emulator) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path.endswith(":batchUpdate"))


def test_idle_syncs_still_write_the_sync_log_every_log_interval(emu, tmp_path):
    # The log interval is shorter than the sync period, so every sync finds it due: each idle
    # sync writes the rows of the jobs before it. Rows are counted, never seconds.
    config = FAST.replace('sync = "every 1 second"', 'sync = "every 2 seconds"\nlog = "every 1 second"')
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    runner = Runner(tmp_path, emu, key, config=config)
    first = runner.syncs_done()
    assert first["cells_written"] > 0
    for done in range(2, 5):
        event = runner.syncs_done(timeout=20)
        assert event["cells_written"] == 0  # nothing to change: only the Sync Log is written
        # Each sync so far has its row in the tab, except the one that just ran (it rides
        # with the next write).
        assert len(sync_log(emu, key)) == done - 1
    assert runner.stop() == 0
    assert [r[7] for r in sync_log(emu, key)] == ["ok"] * 4


def test_the_default_log_interval_leaves_idle_syncs_without_a_write(emu, tmp_path):
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    runner = Runner(tmp_path, emu, key)
    runner.syncs_done()
    writes = batch_updates(emu)
    for _ in range(3):
        runner.syncs_done(timeout=15)
    assert batch_updates(emu) == writes  # 15 minutes have not passed: the rows wait
    assert runner.stop() == 0
    assert len(sync_log(emu, key)) == 4


def test_rows_queued_by_a_killed_run_are_written_after_the_restart(emu, tmp_path):
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    runner = Runner(tmp_path, emu, key)
    done = [runner.syncs_done() for _ in range(3)]
    queue_files = list((tmp_path / "cache" / "sheetcrm" / "locks").glob("*.synclog.jsonl"))
    assert len(queue_files) == 1
    runner.proc.send_signal(signal.SIGKILL)
    runner.proc.wait(timeout=30)
    with pytest.raises(ApiError):  # the killed run wrote none of its rows: there is no Sync Log yet
        sync_log(emu, key)
    queued = [json.loads(line) for line in queue_files[0].read_text().splitlines()]
    assert len(queued) >= len(done)  # a job in flight may have queued its row before the kill
    times = [row[0] for row in queued]

    again = Runner(tmp_path, emu, key)
    again.syncs_done()  # nothing to change, but rows a crash left behind are written at once
    rows = sync_log(emu, key)
    assert [r[0] for r in rows] == times and all(r[1] == "sync" and r[7] == "ok" for r in rows)
    # Written, so no longer queued: the file holds only the row of the sync that wrote them.
    waiting = [json.loads(line) for line in queue_files[0].read_text().splitlines()]
    assert len(waiting) == 1 and waiting[0][0] not in times
    assert again.stop() == 0
    final = sync_log(emu, key)
    restarted = sum(1 for e in again.events if e.get("event") == "job_done")
    assert [r[0] for r in final[:len(times)]] == times and len(final) == len(times) + restarted
    assert len({r[0] for r in final}) == len(final)  # no row twice


def test_a_row_queued_after_a_write_the_crash_cut_short_survives_the_next_restart(tmp_path):
    """A kill during a row's write leaves half a line at the end of the queue's file; that row
    never finished and is dropped. The next run's first row was appended onto that half line,
    one unreadable line: a second crash (or a restart before a write carried it) lost it,
    though `append` had said it was on disk."""
    from sheetcrm.synclog import LogQueue

    path = tmp_path / "q.jsonl"
    path.write_bytes(b'["2026-03-29T02:30:00.000+02:00", "sync", 0.5]\n["2026-03-29T02:35:00.000+02:00", "sy')
    queue = LogQueue(path)
    assert queue.rows == [["2026-03-29T02:30:00.000+02:00", "sync", 0.5]] and queue.failed is None
    queue.append(["2026-03-29T03:40:00.000+02:00", "sync", 0.7])
    assert LogQueue(path).rows == [["2026-03-29T02:30:00.000+02:00", "sync", 0.5],
                                   ["2026-03-29T03:40:00.000+02:00", "sync", 0.7]]


def test_a_failed_job_is_in_the_sync_log_at_once_and_so_is_the_recovery(emu, tmp_path):
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    runner = Runner(tmp_path, emu, key)
    runner.syncs_done()
    runner.syncs_done()
    emu.fail_next(3, 503)  # more than the 3 attempts of one request: the sync fails
    runner.wait_for(lambda e: e.get("event") == "job_failed")
    runner.wait_for(lambda e: e.get("event") == "recovered", timeout=20)
    flushed = runner.wait_for(lambda e: e.get("event") == "log_flushed", timeout=10)
    assert "recovery" in flushed["why"]
    statuses = [r[7] for r in sync_log(emu, key)]  # while the service still runs, idle
    assert statuses == ["ok", "ok", "error", "ok"]
    assert runner.stop() == 0


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_log_lines_escape_control_characters_from_cells(fmt):
    import io

    from sheetcrm import logs

    stream = io.StringIO()
    logger, _ = logs.setup(fmt, stream=stream)
    logger.info("OUT-\x1b[2J0001\x07 left at Sending \u202eevil\x9b", extra={"fields": {"id": "OUT-\x1b]0;x\x07"}})
    try:
        raise ValueError("boom")
    except ValueError as e:
        logger.error("failed", exc_info=e)
    out = stream.getvalue()
    assert not set("\x1b\x07\u202e\x9b") & set(out)
    if fmt == "json":
        first = json.loads(out.splitlines()[0])
        assert first["message"].startswith("OUT-\x1b[2J") and first["id"] == "OUT-\x1b]0;x\x07"
    else:
        assert "OUT-\\u001b[2J0001\\u0007" in out and "\\u202eevil\\u009b" in out
        assert "Traceback (most recent call last):\n" in out  # a traceback keeps its lines


def test_a_stop_signal_never_takes_a_lock_the_main_thread_may_hold(tmp_path):
    """A signal handler runs in the main thread between two bytecodes, possibly while that
    thread holds the stop Event's own lock inside `Event.wait`; a handler that set the Event
    then waited for itself forever (CI saw `sheetcrm run` never exit on SIGTERM). The handler
    only sets a flag, which the loop turns into the Event."""
    import logging
    import threading

    from sheetcrm.config import Config
    from sheetcrm.service import Service
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    service = Service(Config(), book, logging.getLogger("test-stop"))
    with service._signals():
        handler = signal.getsignal(signal.SIGTERM)
        done = threading.Event()

        def deliver() -> None:
            # As if the signal landed while the main thread held the Event's lock.
            with service.stopping._cond:
                handler(signal.SIGTERM, None)
            done.set()

        worker = threading.Thread(target=deliver, daemon=True)
        worker.start()
        assert done.wait(5), "the handler blocked on the stop Event's lock"
        assert service._stop_asked() and service.stopping.is_set()
        with pytest.raises(SystemExit) as second:  # a second signal stops at once
            handler(signal.SIGTERM, None)
        assert second.value.code == 130


def test_the_run_sync_line_says_the_rows_a_merge_removed_and_the_references_it_moved(tmp_path, monkeypatch):
    """Issue 14 (issue 13's leftover): `sheetcrm sync` says "removed 1 row from Contacts; re-pointed
    2 references in …"; `sheetcrm run`'s sync line (and its Sync Log row) now says it too."""
    import logging

    from books import xlsx_book
    from merge_crm import tabs
    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = xlsx_book(tmp_path / "crm.xlsx", tabs())
    book.read()
    book.write(Plan(mark_owned=["Duplicates"]))   # sheetcrm's own Duplicates tab, ticked by a person
    service = Service(Config(), book, logging.getLogger("test-merge-line"), log_queue=LogQueue(tmp_path / "q.jsonl"),
                      today=lambda: AS_OF)
    message = service.sync().message
    assert "removed 1 row from Accounts" in message and "removed 1 row from Contacts" in message, message
    assert "re-pointed" in message and "references in Opportunities" in message, message
    assert "removed" not in service.sync().message    # nothing merged the second time: nothing said


def test_the_sync_log_counts_every_issue_past_max_issues(tmp_path, monkeypatch):
    """The Sync Log's Issues (and the JSON `issues`) is every issue the sync found, as its
    Message's "3 errors, 9 warnings" says (the bad emails; the tabs missing, the Forecast saying
    the Opportunities tab is, and a row left out). It was the length of the list
    `[validation] max_issues` caps: a sheet with thousands of bad cells logged 1000, and here 1
    where there are 12."""
    import logging

    from books import xlsx_book
    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bad = [["ID", "Last Name", "Company", "Status", "Email"],
           *[["", name, "A Co", "New", "not an email"] for name in ("Adams", "Baker", "Clark")]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": bad})
    config = Config(validation={"max_issues": 1})
    service = Service(config, book, logging.getLogger("test-issues"), log_queue=LogQueue(tmp_path / "q.jsonl"),
                      today=lambda: AS_OF)
    assert service.run_job(service.jobs[0], once=True) and service.flush_log()
    header, row = book.read().tabs["Sync Log"].rows[:2]
    assert row[header.index("Message")] == "3 errors, 9 warnings"
    assert row[header.index("Issues")] == 12


def _run_behind_a_sync(tmp_path):
    """(the workbook, the lock a person's `sheetcrm sync` holds on it, a `sheetcrm run` started
    behind it with JSON logs): the service waits for that lock."""
    from books import xlsx
    from sheetcrm.lock import WorkbookLock

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    book = XlsxWorkbook(str(xlsx(tmp_path / "crm.xlsx", {"Leads": LEADS})))
    held = WorkbookLock(book, folder=tmp_path / "cache" / "sheetcrm" / "locks", command="sync").acquire()
    proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "run", "--workbook", "crm.xlsx", "--every", "1h",
                             "--log-format", "json"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    return book, held, proc


def test_the_service_waits_out_a_commands_write_and_says_so(tmp_path):
    """`sheetcrm run` started while a person's `sheetcrm sync` (an import, a slow Google sync)
    holds the workbook waits for it, says so once, and serves once it is done. It gave up after
    10 seconds with exit 2, which the systemd unit of docs/deployment.md does not restart: a
    restart that met a person's command left the workbook unsynced until someone noticed."""
    book, held, proc = _run_behind_a_sync(tmp_path)
    try:
        first = json.loads(proc.stderr.readline())  # type: ignore[union-attr]
        assert first["event"] == "waiting" and first["level"] == "warning"
        assert f"`sheetcrm sync`, PID {os.getpid()}" in first["message"] and "once it finishes" in first["message"]
        held.release()
        for line in proc.stderr:  # type: ignore[union-attr]
            if json.loads(line).get("event") == "job_done":
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        held.release()
        proc.kill()
    assert book.read().tabs["Leads"].rows[1][0] == "LEAD-0001"


def test_sigterm_while_the_service_waits_for_a_commands_lock_exits_0_with_a_line(tmp_path):
    """`sheetcrm run` waits for another command's lock as long as its write takes; a SIGTERM then
    (systemd stopping the unit) killed it by the signal, exit 143 with no line, where the README
    promises 0 on SIGTERM. Nothing was started, so it stops at once, saying so."""
    book, held, proc = _run_behind_a_sync(tmp_path)
    try:
        assert json.loads(proc.stderr.readline())["event"] == "waiting"  # type: ignore[union-attr]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        said = [json.loads(line) for line in proc.stderr]  # type: ignore[union-attr]
        assert [(e["event"], e["signal"]) for e in said] == [("signal", "SIGTERM")], said
        assert "before any job" in said[0]["message"]
    finally:
        held.release()
        proc.kill()
    assert book.read().tabs["Leads"].rows[1][0] is None  # no job ran


def test_a_config_edited_while_the_service_runs_is_said_in_every_job_until_a_restart(tmp_path, monkeypatch, caplog):
    """The service reads sheetcrm.toml once, at the start (its schedule, lock and caches come from
    it). A person who changed a stage's probability, an owner's address or the [smtp] settings
    while it ran saw nothing happen and no word of why: every sync went on with the old values.
    Now each job's line and Sync Log row say the file changed and that a restart applies it (the
    log's warning once per change), until the file is as read again."""
    import logging

    from books import xlsx_book
    from sheetcrm.config import load_config
    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caplog.set_level(logging.INFO, logger="test-config-edit")
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": LEADS})
    toml = tmp_path / "sheetcrm.toml"
    toml.write_text('workbook = "crm.xlsx"\n')
    service = Service(load_config(toml), book, logging.getLogger("test-config-edit"),
                      log_queue=LogQueue(tmp_path / "q.jsonl"), today=lambda: AS_OF)
    sync = service.jobs[0]
    assert service.run_job(sync) and "changed" not in service.pending.rows[-1][-1]
    toml.write_text('workbook = "crm.xlsx"\nlocale = "es"\n')
    assert service.run_job(sync) and service.run_job(sync)
    said = f"{toml} changed since this `sheetcrm run` started: the change applies once it is restarted"
    assert [row[-1].endswith(said) for row in service.pending.rows] == [False, True, True]
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [said]
    toml.write_text('workbook = "crm.xlsx"\n')  # as read at the start again
    assert service.run_job(sync) and "changed" not in service.pending.rows[-1][-1]


@pytest.mark.parametrize("edit", ["a bad phrase", "a TOML slip", "the file deleted"])
def test_a_config_edit_a_restart_would_stop_at_is_said_so_and_the_old_config_keeps_running(tmp_path, monkeypatch,
                                                                                           caplog, edit):
    """An edit that a restart would refuse (a typo, a deleted file) was said as "the change applies
    once it is restarted": the person restarted, `sheetcrm run` stopped with exit 2 (which the
    systemd unit does not restart) and the workbook went unsynced. Now the line says that a
    restart would stop, and why, while this service goes on with the config it started with."""
    import logging

    from books import xlsx_book
    from sheetcrm.config import load_config
    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caplog.set_level(logging.INFO, logger="test-config-broken")
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": LEADS})
    toml = tmp_path / "sheetcrm.toml"
    toml.write_text('workbook = "crm.xlsx"\n')
    service = Service(load_config(toml), book, logging.getLogger("test-config-broken"),
                      log_queue=LogQueue(tmp_path / "q.jsonl"), today=lambda: AS_OF)
    sync = service.jobs[0]
    if edit == "a bad phrase":
        toml.write_text('workbook = "crm.xlsx"\n[schedule]\nsync = "every fortnight"\n')
        why = "schedule.sync: cannot read 'every fortnight' as a schedule"
    elif edit == "a TOML slip":
        toml.write_text('workbook = "crm.xlsx\n')
        why = "not valid TOML"
    else:
        toml.unlink()
        why = "no such config file"
    assert service.run_job(sync) and service.run_job(sync)  # the syncs go on, on the config as started
    said = f"{toml} changed since this `sheetcrm run` started, and a restart would stop at it: {toml}: "
    rest = "; this service goes on with the config it started with until the file is fixed"
    for row in service.pending.rows:
        assert said in row[-1] and why in row[-1] and row[-1].endswith(rest) and "applies once" not in row[-1]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith(said), warnings
    toml.write_text('workbook = "crm.xlsx"\nlocale = "es"\n')  # fixed: a restart applies it now
    assert service.run_job(sync)
    assert service.pending.rows[-1][-1].endswith(
        f"{toml} changed since this `sheetcrm run` started: the change applies once it is restarted")


@pytest.mark.parametrize("locale, said", [
    ("en", "the workbook is no longer there (moved, renamed or deleted since sheetcrm read it); put it back"),
    ("es", "el libro ya no está ahí (movido, renombrado o borrado desde que sheetcrm lo leyó); vuelve a ponerlo"),
])
def test_a_workbook_moved_away_while_the_service_runs_is_said_gone_not_to_be_created(tmp_path, monkeypatch, locale,
                                                                                      said):
    """The .xlsx the service had been syncing was moved (renamed, deleted) while it ran: each
    failed sync said "no such workbook; run `sheetcrm init --workbook …` to create it", a new
    user's hint. Followed, the service synced an empty CRM while the team's workbook was
    elsewhere. Now it says the workbook is gone since it was read; put back, the next sync
    recovers."""
    import logging

    from books import xlsx_book
    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": LEADS})
    service = Service(Config(locale=locale), book, logging.getLogger("test-moved-away"),
                      log_queue=LogQueue(tmp_path / "q.jsonl"), today=lambda: AS_OF)
    sync = service.jobs[0]
    assert service.run_job(sync)
    (tmp_path / "crm.xlsx").rename(tmp_path / "elsewhere.xlsx")
    assert not service.run_job(sync)
    message = service.pending.rows[-1][-1]
    assert message.startswith(f"{tmp_path / 'crm.xlsx'}: {said}") and "init" not in message, message
    (tmp_path / "elsewhere.xlsx").rename(tmp_path / "crm.xlsx")
    assert service.run_job(sync)


@pytest.mark.parametrize("locale, one, line", [("en", "writing 1 cell", "sync: writing 16 cells"),
                                               ("es", "escribiendo 1 celda", "sync: escribiendo 16 celdas")])
def test_the_writing_step_says_its_count_in_the_counts_plural_form(tmp_path, monkeypatch, locale, one, line):
    """`sheetcrm run` logged "sync: writing 1 cells" (and "escribiendo 1 celdas"): the step's
    words take the count's plural form; its JSON `step` field stays English for programs. A sync
    writes one cell seldom now: a row of sheetcrm's tabs is written whole (the Accounts
    Overview's 16 cells for a name), and an ID or computed cell moves a `_sheetcrm` mark's row.
    So the service's line is checked at 16 and the same words at 1 in the catalogue."""
    import logging

    import openpyxl

    from books import xlsx_book
    from sheetcrm.i18n import using
    from sheetcrm.service import Service
    from sheetcrm.sync import sync
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = xlsx_book(tmp_path / "crm.xlsx", {"Accounts": [["ID", "Name"], ["", "Acme"]]})
    sync(book, Config(locale=locale), as_of=dt.date(2026, 11, 23))
    sheets = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    sheets["Accounts"]["B2"] = "Acme Inc"   # the Accounts Overview's one name cell follows it
    sheets.save(tmp_path / "crm.xlsx")
    said: list[tuple[str, dict]] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append((record.getMessage(), getattr(record, "fields", {})))

    logger = logging.getLogger(f"test-writing-step-{locale}")
    logger.addHandler(Lines())
    logger.propagate = False
    logger.setLevel(logging.INFO)
    with using(locale):   # as `sheetcrm run` speaks the config's locale
        Service(Config(locale=locale), book, logger, log_queue=LogQueue(tmp_path / "q.jsonl"),
                today=lambda: dt.date(2026, 11, 23)).sync()
    assert (line, {"job": "sync", "step": "writing 16 cells"}) in said, said
    from sheetcrm.i18n import ngettext
    with using(locale):
        assert ngettext("writing {n} cell", "writing {n} cells", 1) == one


def test_a_json_log_lines_moments_are_iso_8601():
    """A moment among a JSON log line's fields was written by str(): "2026-12-03 05:02:32+00:00",
    a space for ISO 8601's "T", which a log program's ISO parser refuses. In process."""
    import logging

    from sheetcrm.logs import JsonFormatter

    record = logging.LogRecord("sheetcrm.run", logging.WARNING, __file__, 1, "behind", None, None)
    record.fields = {"since": dt.datetime(2026, 12, 3, 5, 2, 32, tzinfo=dt.timezone.utc), "day": dt.date(2026, 12, 3)}
    line = json.loads(JsonFormatter().format(record))
    assert (line["since"], line["day"]) == ("2026-12-03T05:02:32+00:00", "2026-12-03")


# -- a cache folder that cannot be written, a signal during the exit's write ----------------

def test_a_sync_log_queue_that_cannot_be_written_never_stops_the_service(tmp_path, monkeypatch, caplog):
    """A full disk or a folder made read-only under ~/.cache: the job's Sync Log row could not
    be appended to the queue's file, and the OSError escaped run_job, ending `sheetcrm run` with
    a traceback. The row waits in memory, one warning per job says why, and once the folder can
    be written again the whole queue is on disk, the rows kept in memory included."""
    import logging

    from sheetcrm.service import JobResult, Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    folder = tmp_path / "locks"
    folder.write_text("a file where the folder should be")  # nothing can be written under it
    service = Service(Config(), book, logging.getLogger("test-queue-unkept"), log_queue=LogQueue(folder / "q.jsonl"))
    service.jobs[0].work = JobResult
    with caplog.at_level(logging.WARNING, "test-queue-unkept"):
        assert service.run_job(service.jobs[0]) is True
    said = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "log_queue_failed"]
    assert len(said) == 1 and "q.jsonl" in said[0].getMessage() and len(service.pending) == 1
    folder.unlink()
    folder.mkdir()
    assert service.run_job(service.jobs[0]) is True
    assert [row[1] for row in LogQueue(folder / "q.jsonl").rows] == ["sync", "sync"]


def test_a_lock_whose_lines_cannot_be_written_is_taken_all_the_same(tmp_path):
    """The PID and command in the lock file only name its holder. On a full disk their write
    failed and every writing command, `sheetcrm run` included, stopped with a traceback; the
    lock is held anyway and a second writer still finds it taken. (A file size limit of 0 makes
    the write fail as a full disk does, in this process only.)"""
    import resource

    from sheetcrm.lock import AlreadyRunning, WorkbookLock

    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    lock = WorkbookLock(book, folder=tmp_path)
    lock.path.touch()  # the file is there (a run before made it): only its lines are written
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    ignored = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG rather than the signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, limits[1]))
    try:
        lock.acquire()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, ignored)
    try:
        with pytest.raises(AlreadyRunning):
            WorkbookLock(book, folder=tmp_path, command="sync").acquire()
    finally:
        lock.release()


def test_a_second_signal_while_the_exit_writes_the_sync_log_exits_130(emu, tmp_path):
    """The first SIGTERM stops the loop; the Sync Log rows still waiting are then written, which
    on a dead network waits as long as any job. That write ran after the handlers were put back,
    so the second SIGTERM, meant to stop at once with 130, killed the process by the signal
    (-15) with no line."""
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    # A timeout, in case the signal reached the process while its main thread was not the one
    # reading: Python runs the handler once that thread is back in Python code.
    config = FAST.replace('"every 1 second"', '"every 1 hour"').replace("attempts = 3",
                                                                      "attempts = 3\ntimeout_seconds = 10")
    runner = Runner(tmp_path, emu, key, config=config)
    runner.syncs_done()  # its row waits (the default log interval): the exit writes it
    reached, release = threading.Event(), threading.Event()

    def stall(_emu):
        reached.set()
        release.wait(30)

    emu.between_requests(stall)
    try:
        runner.proc.send_signal(signal.SIGTERM)
        assert reached.wait(30), "the exit's Sync Log write never came"
        runner.proc.send_signal(signal.SIGTERM)
        assert runner.proc.wait(timeout=30) == 130
    finally:
        release.set()


def test_a_job_that_finds_google_unreachable_leaves_its_row_to_the_next_sync(emu, tmp_path, monkeypatch, caplog):
    """The outbox read the sheet while Google did not answer: its failure then tried to write
    the Sync Log at once, a second round of the same retries (of timeouts, on a silent network)
    and a second line for the same outage, at every failure. As for a sync, its row now waits,
    urgent, for the next sync."""
    import logging

    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue
    from sheetcrm.workbook.credentials import connect
    from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy

    monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    book = GoogleSheetsWorkbook(connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None)).client, key, None)
    config = Config(smtp={"host": "127.0.0.1", "from": "crm@example.com"})
    service = Service(config, book, logging.getLogger("test-unreachable"), log_queue=LogQueue(tmp_path / "q.jsonl"))
    outbox = next(j for j in service.jobs if j.name == "outbox")
    emu.fail_next(10, 503)
    asked = len(emu.requests)
    with caplog.at_level(logging.INFO, "test-unreachable"):
        assert service.run_job(outbox) is False
    events = [getattr(r, "fields", {}).get("event") for r in caplog.records]
    assert events == ["job_failed"] and len(emu.requests) - asked == 2  # the outbox's read, twice: no more
    assert service.log_urgent and len(service.pending) == 1
    emu.clear_faults()


def test_a_run_once_holds_the_lock_as_a_command_that_ends_not_as_the_service(tmp_path, monkeypatch):
    """`run --once` (cron's form) took the lock under the service's name: a `sheetcrm run` started
    meanwhile (a systemd restart, a move from cron) exited 2 at once, which the unit does not
    restart, and a person's `sheetcrm sync` was told to stop a service that was not there.
    Others now wait for it as for any command's write; the service itself is still refused."""
    import logging

    from sheetcrm.cli import run_lock
    from sheetcrm.lock import AlreadyRunning, WorkbookLock

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    logger = logging.getLogger("test-run-lock")
    for once, holder in ((True, "run --once"), (False, "run")):
        said: list[str] = []
        with run_lock(book, once, logger):
            with pytest.raises(AlreadyRunning) as held:  # another open file: flock refuses it in this process too
                WorkbookLock(book, command="sync", wait=0.1, waiting=said.append).acquire()
        assert held.value.holder == holder and held.value.pid == str(os.getpid())
        # A command that ends is waited for, and never called a service to stop; the service is not.
        assert (len(said), "stop it first" in str(held.value)) == ((1, False) if once else (0, True))


def test_an_exit_2_line_of_a_json_logging_run_is_json_too(tmp_path, monkeypatch):
    """With `--log-format json`, `run`'s one line when it cannot start (a missing workbook, a bad
    `--every`) was plain `sheetcrm: …` text in a stream of JSON lines, which a collector parsing
    JSON drops: the line saying why the service is not running. Text logs keep the plain line."""
    from in_process import cli

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    done = cli("run", "--once", "--log-format", "json", "--workbook", "nothere.xlsx", cwd=tmp_path)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert done.returncode == 2 and lines[-1]["event"] == "failed" and lines[-1]["level"] == "error", done.stderr
    assert "no such workbook" in lines[-1]["message"]
    done = cli("run", "--every", "3x", "--log-format", "json", "--workbook", "nothere.xlsx", cwd=tmp_path)
    assert done.returncode == 2 and json.loads(done.stderr.splitlines()[-1])["message"].startswith("--every: ")
    done = cli("run", "--once", "--workbook", "nothere.xlsx", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.splitlines()[-1].startswith("sheetcrm: "), done.stderr


def test_run_once_on_a_workbook_it_cannot_read_is_one_line_and_nothing_before_it(tmp_path, monkeypatch):
    """`run --once` on a missing or unreadable workbook printed "INFO    sync: reading" before its
    one line: bad input is one clear line on stderr, as every command says it. A workbook that
    is read still logs its steps."""
    from in_process import cli

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "garbage.xlsx").write_text("not a workbook")
    for name, said in (("nothere.xlsx", "no such workbook"), ("garbage.xlsx", "not an .xlsx workbook")):
        done = cli("run", "--once", "--workbook", name, cwd=tmp_path)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1 and said in done.stderr, done.stderr
        assert done.stderr.startswith("sheetcrm: ")
        done = cli("run", "--once", "--log-format", "json", "--workbook", name, cwd=tmp_path)
        assert done.returncode == 2 and [json.loads(line)["event"] for line in done.stderr.splitlines()] == ["failed"]
    XlsxWorkbook(tmp_path / "crm.xlsx").create()
    done = cli("run", "--once", "--workbook", "crm.xlsx", cwd=tmp_path)
    assert done.returncode == 0 and "sync: reading" in done.stderr.splitlines()[0], done.stderr


def test_jobs_due_together_run_in_their_configured_order(tmp_path, monkeypatch):
    """At the start every interval job is due at once; sorted by their waits, each read an
    instant after the one before, they ran digest, outbox, sync: the outbox sent and the digest
    summed a sheet the sync had not yet brought up to date."""
    import logging

    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    config = Config(smtp={"host": "127.0.0.1", "from": "crm@example.com"}, owners={"Ana": "ana@example.com"})
    service = Service(config, book, logging.getLogger("test-order"), log_queue=LogQueue(tmp_path / "q.jsonl"))
    assert [j.name for j in service.jobs] == ["sync", "outbox", "digest"]
    ticks = iter(range(10**6))  # a clock that moves between any two reads, as the real one may
    monkeypatch.setattr(service.clock, "elapsed", lambda: 1000.0 + next(ticks) * 1e-6)
    for job in service.jobs:
        job.due, job.due_at = 1000.0, None
    assert [j.name for j in service.due_order()] == ["sync", "outbox", "digest"]
    service.jobs[0].due = 2000.0  # the sync not due yet: the due ones first, still in order
    assert [j.name for j in service.due_order()] == ["outbox", "digest", "sync"]


def test_a_relative_xdg_cache_home_is_ignored_so_every_folder_shares_one_lock(tmp_path, monkeypatch):
    """`XDG_CACHE_HOME=cache` resolved against each command's working folder: a `sheetcrm sync`
    started in another folder than the service took another lock (and `outbox send` read
    another journal) and wrote beside it. The XDG spec says a relative path is to be ignored:
    the lock is then the one under ~/.cache, whichever folder a command starts in."""
    from sheetcrm.lock import AlreadyRunning, WorkbookLock

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "cache")
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    service = WorkbookLock(book, command="run").acquire()
    try:
        assert service.path.is_relative_to(tmp_path / "home" / ".cache" / "sheetcrm" / "locks")
        monkeypatch.chdir(tmp_path / "b")
        with pytest.raises(AlreadyRunning):
            WorkbookLock(book, command="sync").acquire()
    finally:
        service.release()
    assert not (tmp_path / "a" / "cache").exists() and not (tmp_path / "b" / "cache").exists()


class SleepingMachine:
    """The machine's clocks, virtual, for `service.time` and `team_time.time`: `sleep` moves
    them all; `suspend` moves the boot clock (Linux's CLOCK_BOOTTIME) but not the monotonic one,
    which stands still while the machine sleeps."""

    CLOCK_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", 7)

    def __init__(self) -> None:
        self.mono, self.boot = 1000.0, 5000.0

    def monotonic(self) -> float:
        return self.mono

    def clock_gettime(self, clock: int) -> float:
        assert clock == self.CLOCK_BOOTTIME
        return self.boot

    def sleep(self, seconds: float) -> None:
        self.mono += seconds
        self.boot += seconds

    def suspend(self, seconds: float) -> None:
        self.boot += seconds


def test_a_job_due_while_the_machine_slept_runs_on_waking_once(tmp_path, monkeypatch):
    """An hourly sync, the laptop asleep for eight hours half an hour after it: the sync runs as
    it wakes, once (not once per hour missed), and hourly from then. The schedule counted
    `time.monotonic`, which stands still in a suspend: after waking the sync waited the half
    hour the suspend had left of its interval, as if no time had passed."""
    import logging

    import sheetcrm.service as service_module
    from sheetcrm import team_time
    from sheetcrm.service import JobResult, Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    machine = SleepingMachine()
    monkeypatch.setattr(service_module, "time", machine)
    monkeypatch.setattr(team_time, "time", machine, raising=False)
    service = Service(Config(), book, logging.getLogger("test-suspend"), sync_every=parse_every("every 1 hour"),
                      log_queue=LogQueue(tmp_path / "q.jsonl"))
    start, runs, woke = machine.boot, [], []
    sleep = machine.sleep

    def sleep_then_suspend(seconds: float) -> None:
        sleep(seconds)
        if not woke and machine.boot - start >= 1800:
            machine.suspend(8 * 3600)
            woke.append(machine.boot - start)

    machine.sleep = sleep_then_suspend

    def sync() -> JobResult:
        runs.append(machine.boot - start)
        if len(runs) == 3:
            service.stopping.set()
        return JobResult()

    service.jobs[0].work = sync
    service.serve()
    [wake] = woke
    assert runs[0] == 0 and wake <= runs[1] < wake + 60, f"runs at {runs} s, woke at {wake} s"
    assert 3600 <= runs[2] - runs[1] < 3660  # hourly from the run on waking: one run for the night
