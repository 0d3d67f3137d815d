"""The fleet in this process, on a virtual clock, over real .xlsx files: a broken member and a
held one are said once per change of state however many rounds they fail, back off (or wait a
period) alone, and the healthy member keeps its schedule to the second."""

from __future__ import annotations

import logging
import os

import pytest

from books import xlsx
from sheetcrm.fleet.clock import VirtualClock
from sheetcrm.fleet.runner import Fleet
from sheetcrm.fleet.settings import load_fleet
from sheetcrm.fleet.status import read_state
from sheetcrm.lock import WorkbookLock
from sheetcrm.workbook.xlsx import XlsxWorkbook

LEADS = [["ID", "Last Name", "Company", "Status"], ["", "Adams", "A Co", "New"]]


@pytest.fixture
def fleet_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name in ("good", "broken", "held"):
        xlsx(tmp_path / f"{name}.xlsx", {"Leads": LEADS})
    (tmp_path / "broken.toml").write_text('locale = "xx"\n')
    (tmp_path / "fleet.toml").write_text(
        'max_backoff_seconds = 600\n'
        '[[workbook]]\nworkbook = "good.xlsx"\nevery = "every 30 seconds"\n'
        '[[workbook]]\nworkbook = "broken.xlsx"\nconfig = "broken.toml"\nevery = "every 30 seconds"\n'
        '[[workbook]]\nworkbook = "held.xlsx"\nevery = "every 30 seconds"\n')
    return tmp_path


def lines(caplog, text):
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def test_failures_are_said_once_and_back_off_alone_while_the_healthy_member_keeps_time(fleet_file, caplog):
    caplog.set_level(logging.INFO, logger="sheetcrm.run")
    settings = load_fleet(fleet_file / "fleet.toml")
    clock = VirtualClock()
    fleet = Fleet(settings, logging.getLogger("sheetcrm.run"), clock=clock, poll=None)
    with WorkbookLock(XlsxWorkbook(str(fleet_file / "held.xlsx"))):
        fleet.serve(until=400)
    slots = {s.member: s for s in fleet.scheduler.slots if s.job == "sync"}
    good, broken, held = slots["good"], slots["broken"], slots["held"]
    # good: every 30 s from 0, never late
    assert [start for start, _ in good.runs] == [30.0 * i for i in range(14)]
    assert all(late == 0 for _, late in good.runs)
    # broken: tried at 0, then after 60, 120, 240 s (its period doubled per failure)
    assert [start for start, _ in broken.runs] == [0.0, 60.0, 180.0]
    assert broken.failures == 3 and broken.due == 420.0
    assert len(lines(caplog, "broken: cannot start")) == 1
    # held: tried every period, no backoff, said once
    assert [start for start, _ in held.runs] == [30.0 * i for i in range(14)]
    assert held.failures == 0
    assert len(lines(caplog, "held: skipped this round")) == 1
    state = {w["name"]: w for w in read_state(settings.state_path)["workbooks"]}
    assert (state["good"]["state"], state["broken"]["state"], state["held"]["state"]) == ("ok", "failing", "locked")
    assert state["broken"]["failures"] == 3 and "locale" in state["broken"]["last_sync"]["message"]

    # The config mended and the lock released: both start, said once each.
    (fleet_file / "broken.toml").write_text('locale = "en"\n')
    fleet.serve(until=900)
    assert len(lines(caplog, "broken: started")) == 1 and len(lines(caplog, "held: started")) == 1
    assert broken.failures == 0
    assert (fleet.members["broken"].state, fleet.members["held"].state) == ("ok", "ok")
    assert len(lines(caplog, "cannot start")) == 1 and len(lines(caplog, "skipped this round")) == 1


def test_a_user_is_a_credentials_file_as_open_workbook_finds_it(tmp_path, monkeypatch):
    from sheetcrm.config import Config

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    assert Fleet._user(Config(), tmp_path / "a.json") == str(tmp_path / "a.json")
    assert Fleet._user(Config(), None) == "default"
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "env.json"))
    assert Fleet._user(Config(), None) == str(tmp_path / "env.json")
    config = Config(credentials="keys/sa.json")
    config.source = tmp_path / "clients" / "sheetcrm.toml"
    assert Fleet._user(config, None) == str(tmp_path / "clients" / "keys" / "sa.json")


def test_a_job_at_set_hours_is_due_at_that_hour_on_the_teams_clock_across_dst(tmp_path):
    """A Madrid team's 08:00 digest on a server whose clock runs in UTC: due at 08:00 in Madrid,
    the morning the clocks go forward (18 hours after Saturday noon UTC, not 19 or 20) and the
    days after, and the morning they go back. The fleet's wall clock is a virtual one."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from sheetcrm.config import Config
    from sheetcrm.every import parse_every

    madrid, utc, hour = ZoneInfo("Europe/Madrid"), dt.timezone.utc, 3600.0
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    settings, team = load_fleet(tmp_path / "fleet.toml"), Config(timezone="Europe/Madrid")
    digest = parse_every("every day at 08:00")

    spring = Fleet(settings, logging.getLogger("test-dst"), clock=VirtualClock(), poll=None, write_state_file=False,
                   wall0=dt.datetime(2026, 3, 28, 12, 0, tzinfo=utc))  # Madrid moves to CEST on Sunday the 29th
    assert spring._first_due(parse_every("every 5 minutes"), 0.0, team) == 0.0
    first = spring._first_due(digest, 0.0, team)
    assert first == 18 * hour and spring.moment(first).astimezone(madrid) == dt.datetime(2026, 3, 29, 8, tzinfo=madrid)
    second = spring._next_at(digest, first, team)
    assert second - first == 24 * hour and spring.moment(second).astimezone(madrid).hour == 8

    autumn = Fleet(settings, logging.getLogger("test-dst"), clock=VirtualClock(), poll=None, write_state_file=False,
                   wall0=dt.datetime(2026, 10, 24, 7, 30, tzinfo=utc))  # 09:30 in Madrid; CET from Sunday the 25th
    first = autumn._first_due(digest, 0.0, team)
    assert autumn.moment(first) == dt.datetime(2026, 10, 25, 7, 0, tzinfo=utc)  # 08:00 CET
    assert first == 23.5 * hour  # 22.5 hours on the wall clock, plus the hour it repeats


def test_fleet_status_times_are_the_machines_clock_after_the_autumn_change(tmp_path, monkeypatch):
    """`fleet status` shows each time as the machine's clock read it. A fleet started in summer
    on a machine in Madrid wrote every later time with the summer offset, so after the autumn
    change its table (which shows the time without its offset) said 03:30 for a sync the clock
    saw at 02:30, an hour off for as long as the fleet ran."""
    import datetime as dt
    import time

    from sheetcrm.fleet.status import rows

    monkeypatch.setenv("TZ", "Europe/Madrid")
    time.tzset()
    try:
        (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
        fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("test-dst-status"), clock=VirtualClock(),
                      poll=None, write_state_file=False,
                      wall0=dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.timezone.utc))  # 02:30 CEST, the first time
        assert fleet.wall(fleet.t0) == "2026-10-25T02:30:00+02:00"
        later = fleet.t0 + 3600  # 01:30 UTC: the clock reads 02:30 again, now in CET
        assert fleet.wall(later) == "2026-10-25T02:30:00+01:00"
        fleet.scheduler.slots[0].due = later
        assert rows(fleet.state())[0][3] == "2026-10-25 02:30:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_fleet_times_follow_the_machines_clock_when_it_is_set_back(tmp_path, monkeypatch):
    """On the real clock, a fleet's times to come (next sync in `fleet status`) are counted
    from the machine's clock now: after the clock is set back a day (by hand, or NTP fixing a
    clock that ran ahead) they are the clock's, not the start's plus elapsed seconds."""
    import datetime as dt
    import types

    from sheetcrm.fleet import runner

    shift = dt.timedelta()

    class Clock(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime.now(tz) - shift

    monkeypatch.setattr(runner, "dt", types.SimpleNamespace(datetime=Clock, timedelta=dt.timedelta,
                                                             timezone=dt.timezone))
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("test-set-back"), write_state_file=False)
    shift = dt.timedelta(days=1)
    now = fleet.moment(fleet.clock.now())
    assert abs((now - (dt.datetime.now(dt.timezone.utc) - shift)).total_seconds()) < 5


def test_once_runs_a_job_at_set_hours_now_as_run_once_does(tmp_path, monkeypatch, caplog):
    """`sheetcrm run --fleet --once` (cron) runs every job of every workbook once and exits, as
    `sheetcrm run --once` does: a workbook with a daily digest ("every day at 08:00") had its
    digest due at the next 08:00, so the process waited until then (holding the workbook's lock,
    so every later cron tick skipped it: one sync a day)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caplog.set_level(logging.INFO, logger="sheetcrm.run")
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    # Nothing listens on port 9: the outbox finds nothing to send, the digest fails at once.
    # At 00:00, which has come round at any hour the test runs (a digest not yet due is not sent:
    # test_once_holds_a_digest_whose_time_has_not_come_round).
    (tmp_path / "a.toml").write_text('[smtp]\nhost = "127.0.0.1"\nport = 9\nfrom = "crm@example.com"\n'
                                     '[owners]\n"Ana" = "ana@example.com"\n[schedule]\ndigest = "every day at 00:00"\n')
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\nconfig = "a.toml"\n')
    fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("sheetcrm.run"), clock=VirtualClock(),
                  poll=None, write_state_file=False)
    fleet.run_once()
    assert fleet.clock.now() - fleet.t0 < 60, "--once waited for the digest's hour"
    assert lines(caplog, "a: sync ok") and lines(caplog, "a: outbox ok") and lines(caplog, "a: digest")


def test_once_holds_a_digest_whose_time_has_not_come_round(tmp_path, monkeypatch, caplog):
    """`sheetcrm run --fleet --once` from cron sent an "every monday at 08:00" digest on every
    day at the first tick, as `run --once` did: it is not due, said, and nothing is tried."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caplog.set_level(logging.INFO, logger="sheetcrm.run")
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    other = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[
        (dt.datetime.now(ZoneInfo("Europe/Madrid")).weekday() + 3) % 7]
    (tmp_path / "a.toml").write_text('timezone = "Europe/Madrid"\n[smtp]\nhost = "127.0.0.1"\nport = 9\n'
                                     'from = "crm@example.com"\n[owners]\n"Ana" = "ana@example.com"\n'
                                     f'[schedule]\ndigest = "every {other} at 00:00"\n')
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\nconfig = "a.toml"\n')
    fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("sheetcrm.run"), clock=VirtualClock(),
                  poll=None, write_state_file=False)
    assert fleet.run_once()  # port 9 refuses: a digest tried would have failed the run
    assert lines(caplog, f"digest not due yet: every {other.capitalize()} at 00:00")


def test_a_last_sync_keeps_its_time_across_a_suspend(tmp_path, monkeypatch):
    """`fleet status` shows a last sync at the time the machine's clock read when it ran. It was
    counted back from now on the monotonic clock, which stands still while the machine sleeps:
    after a two-hour suspend every sync from before it was shown two hours later than it ran
    (a workbook failing, or synced every few hours, looked synced just now)."""
    import datetime as dt
    import time

    from sheetcrm.fleet.clock import RealClock

    class Suspendable(RealClock):
        slept = 0.0  # seconds the machine slept: the wall clock counts them, the monotonic one does not

        def now(self) -> float:
            return time.monotonic() - self.slept

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    clock = Suspendable()
    fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("test-suspend"), clock=clock,
                  write_state_file=False)
    before = dt.datetime.now(dt.timezone.utc)
    assert fleet.run_once()
    after = dt.datetime.now(dt.timezone.utc)
    ran = fleet.state()["workbooks"][0]["last_sync"]["at"]
    # When it ran, bounded by the clock read on either side: no allowance for how long it took.
    assert before.replace(microsecond=0) <= dt.datetime.fromisoformat(ran) <= after
    clock.slept = 2 * 3600.0
    assert fleet.state()["workbooks"][0]["last_sync"]["at"] == ran


def test_a_digest_refused_for_good_keeps_its_daily_schedule(tmp_path, monkeypatch):
    """A failure retrying cannot fix (a digest the server refused for good, or one whose outcome
    is unknown) keeps the job's schedule, as under `sheetcrm run` (docs/service.md, "Failures").
    The fleet backed it off like an outage: the 08:00 digest ran again at 09:00."""
    import datetime as dt

    from sheetcrm.service import FinalError

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    (tmp_path / "a.toml").write_text('timezone = "UTC"\n[schedule]\noutbox = "every 7 days"\n'
                                     '[smtp]\nhost = "127.0.0.1"\nport = 9\nfrom = "crm@example.com"\n'
                                     '[owners]\n"Ana" = "ana@example.com"\n')
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\nconfig = "a.toml"\nevery = "every 2 hours"\n')
    fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("test-final"), clock=VirtualClock(),
                  poll=None, write_state_file=False, wall0=dt.datetime(2026, 12, 2, 7, 0, tzinfo=dt.timezone.utc))
    member = fleet.members["a"]
    fleet._open(member)
    tries = []

    def refused():
        tries.append(fleet.clock.now())
        raise FinalError("Ana's digest to ana@example.com was refused: 550 no such user")

    member.jobs["digest"].work = refused
    digest = fleet._slot("a", "digest")
    fleet.serve(until=5 * 3600.0)
    assert tries == [3600.0]  # 08:00, and not again at 09:00
    assert digest.due == 3600.0 + 24 * 3600 and digest.failures == 0


def test_status_tells_a_stopped_fleet_whatever_process_has_its_pid_now(tmp_path, monkeypatch):
    """`fleet status` says whether the fleet runs from the lock it holds beside its state file.
    It asked whether the state's PID was alive: after a crash or a reboot another process may
    have that PID, and a fleet in a container is PID 1, which on the host is always alive, so a
    fleet long stopped was shown running. Here the PID is this very (living) process's."""
    from sheetcrm.fleet.status import running

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\nevery = "every 30 seconds"\n')
    settings = load_fleet(tmp_path / "fleet.toml")
    fleet = Fleet(settings, logging.getLogger("test-running"), clock=VirtualClock(), poll=None)
    seen = []
    save = fleet._save
    fleet._save = lambda: (save(), seen.append(running(read_state(settings.state_path), settings.state_path)))
    fleet.serve(until=60)
    assert seen and all(seen)  # while it served
    state = read_state(settings.state_path)
    assert state["pid"] == os.getpid() and not running(state, settings.state_path)


def test_a_fleet_file_edited_while_the_fleet_runs_is_said_once_per_change(tmp_path, monkeypatch, caplog):
    """The fleet reads fleet.toml once: a workbook added (or removed, or rescheduled) while it
    runs was ignored without a word, a client's workbook left unsynced by a fleet that looked
    healthy. It is still applied at a restart, and now the log says so, once per change."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caplog.set_level(logging.INFO, logger="sheetcrm.run")
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    fleet_toml = tmp_path / "fleet.toml"
    fleet_toml.write_text('[[workbook]]\nworkbook = "a.xlsx"\nevery = "every 30 seconds"\n')
    fleet = Fleet(load_fleet(fleet_toml), logging.getLogger("sheetcrm.run"), clock=VirtualClock(), poll=None,
                  write_state_file=False)
    fleet.serve(until=60)
    fleet_toml.write_text(fleet_toml.read_text() + '[[workbook]]\nworkbook = "b.xlsx"\n')
    fleet.serve(until=150)
    said = f"{fleet_toml} changed since this `sheetcrm run` started: the change applies once it is restarted"
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [said]


def test_the_state_file_is_readable_as_a_plain_write_makes_it(fleet_file):
    """The state file was replaced atomically from mkstemp's temp file, so it had mkstemp's
    mode, 0600: an operator running `fleet status` as another user than the service's was
    refused. It has the mode a plain write gives (0666 less the umask), whatever the temp
    files the fleet replaced it with."""
    settings = load_fleet(fleet_file / "fleet.toml")
    before = os.umask(0o022)
    try:
        Fleet(settings, logging.getLogger("test-state-mode"), clock=VirtualClock(), poll=None).run_once()
    finally:
        os.umask(before)
    assert os.stat(settings.state_path).st_mode & 0o777 == 0o644
    assert [p.name for p in fleet_file.iterdir() if p.name.endswith(".tmp")] == []
    assert read_state(settings.state_path)["workbooks"]


def test_a_sync_at_set_hours_runs_at_its_hour_once_a_day_across_spring_forward_not_at_the_start(tmp_path,
                                                                                               monkeypatch):
    """"every day at 02:30" for a Madrid team, the fleet started on Saturday at 13:00 in Madrid:
    the sync runs on Sunday at 03:30 (02:30 does not exist that night), then at 02:30, once a
    day. Its slot was due at once before its config was read, so every start of the fleet
    synced it then as well (13:00 here), where `sheetcrm run` waits for the hour."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    xlsx(tmp_path / "night.xlsx", {"Leads": LEADS})
    (tmp_path / "night.toml").write_text('timezone = "Europe/Madrid"\n[schedule]\nsync = "every day at 02:30"\n')
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "night.xlsx"\nconfig = "night.toml"\n')
    fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("test-hours"), clock=VirtualClock(), poll=None,
                  wall0=dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.timezone.utc))
    fleet.serve(until=3 * 86400.0)
    madrid = ZoneInfo("Europe/Madrid")
    sync = next(s for s in fleet.scheduler.slots if s.job == "sync")
    assert [fleet.moment(start).astimezone(madrid).replace(tzinfo=None) for start, _ in sync.runs] == [
        dt.datetime(2026, 3, 29, 3, 30), dt.datetime(2026, 3, 30, 2, 30), dt.datetime(2026, 3, 31, 2, 30)]
    assert fleet.members["night"].state == "ok"


@pytest.mark.parametrize("edit, why", [
    ('[[workbook]]\nworkbook = "a.xlsx"\nevery = "every fortnight"\n', "workbook.1.every: cannot read 'every fortnight'"),
    ('[[workbook]]\nworkbook = "a.xlsx\n', "not valid TOML"),
    (None, "no such fleet file"),
])
def test_a_fleet_file_edit_a_restart_would_stop_at_is_said_so(tmp_path, monkeypatch, caplog, edit, why):
    """The fleet file edited into one a restart refuses (a bad value, a TOML slip, the file
    deleted) was said as "the change applies once it is restarted": the person restarted, the
    fleet exited 2 and every workbook in it went unsynced. As `sheetcrm run` says of its config
    since, the line now says a restart would stop at it, and why; the fleet goes on."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caplog.set_level(logging.INFO, logger="sheetcrm.run")
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    fleet_toml = tmp_path / "fleet.toml"
    fleet_toml.write_text('[[workbook]]\nworkbook = "a.xlsx"\nevery = "every 30 seconds"\n')
    fleet = Fleet(load_fleet(fleet_toml), logging.getLogger("sheetcrm.run"), clock=VirtualClock(), poll=None,
                  write_state_file=False)
    fleet.serve(until=60)
    if edit is None:
        fleet_toml.unlink()
    else:
        fleet_toml.write_text(edit)
    fleet.serve(until=150)
    [said] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert said.startswith(f"{fleet_toml} changed since this `sheetcrm run` started, and a restart would stop at it: "
                           f"{fleet_toml}: ") and why in said, said
    assert said.endswith("; this fleet goes on with the workbooks it started with until the file is fixed")
    assert fleet.members["a"].state == "ok"


def test_a_members_config_edit_its_restart_would_refuse_says_that_workbook_would_not_start(tmp_path, monkeypatch,
                                                                                          caplog):
    """A fleet member's config edited into one the member cannot start with: the service's line
    said "a restart would stop at it", but a restart of the fleet starts and leaves that one
    workbook out (`cannot start`, retried with backoff). The line says that now."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    caplog.set_level(logging.INFO, logger="sheetcrm.run")
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    (tmp_path / "a.toml").write_text('currency = "EUR"\n')
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\nconfig = "a.toml"\nevery = "every 30 seconds"\n')
    fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("sheetcrm.run"), clock=VirtualClock(), poll=None,
                  write_state_file=False)
    save = fleet._save

    def edited_after_the_first_sync() -> None:  # while the fleet runs: a second serve() is a restart
        save()
        (tmp_path / "a.toml").write_text('currency = "EUR"\nlocale = "xx"\n')

    fleet._save = edited_after_the_first_sync
    fleet.serve(until=100)
    [said] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert said.startswith(f"a: {tmp_path / 'a.toml'} changed since this `sheetcrm run` started, and after a restart "
                           f"this workbook would not start: {tmp_path / 'a.toml'}: locale"), said
    assert "a restart would stop at it" not in said
