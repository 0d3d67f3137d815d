"""`sheetcrm run --fleet fleet.toml`: every workbook's jobs in one process.

    fleet = Fleet(load_fleet("fleet.toml"), logger)
    fleet.serve()        # until SIGINT/SIGTERM; fleet.run_once() runs every job once (cron)

Each workbook is a `Member`: its config, its workbook, sheetcrm's lock on it (taken without
waiting: a workbook held by another process is skipped this round and said so) and its
`service.Service`, whose jobs (sync, outbox, digest) and Sync Log rows work exactly as under
`sheetcrm run`. The fleet replaces only the timing: one `Scheduler` over every workbook's
jobs, a small pool of worker threads (the work is mostly waiting on HTTP; docs/scaling.md has
the measurements), and one `Budget` that every Google request passes before it is sent.

A workbook that fails (its config, its credentials, unreachable, locked by an app) backs off
alone: its jobs are due again after their period doubled per failure, up to a cap, and its
failures can hold at most all workers but one. Its log says so once per change of state
(failing, recovered), not at every retry.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import json
import logging
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from sheetcrm import team_time
from sheetcrm.config import Config, ConfigError, load_config
from sheetcrm.every import Every, parse_every
from sheetcrm.i18n import _, current, ngettext, using
from sheetcrm.lock import AlreadyRunning, WorkbookLock, remove_stale_temp_files
from sheetcrm.service import (CONFIG_CHANGED, FLEET_BROKEN, MEMBER_CONFIG_BROKEN, Job, JobResult, MachineClock,
                              RequestCounter, Service, file_bytes)
from sheetcrm.warehouse.settings import WarehouseError
from sheetcrm.workbook import Workbook, WorkbookError
from sheetcrm.workbook.target import open_workbook
from sheetcrm.os_errors import os_problem

from . import status
from .budget import Budget, Gate, gate_session
from .clock import Clock, RealClock
from .scheduler import Scheduler, Slot
from .settings import Entry, FleetSettings, load_fleet, member_name
from .status import write_state

# How soon the idle dispatcher notices a stop signal under the real clock (a handler only sets a flag).
REST_SLICE = 0.2  # seconds
EXPECTED = (ConfigError, WorkbookError, WarehouseError)  # a member's outage, said in one line


@dataclass
class LastRun:
    at: str               # when it started, ISO 8601 with the offset, as the machine's clock read it then
    outcome: str          # ok | error | skipped
    message: str = ""


@dataclass(eq=False)
class Member:
    """One workbook of the fleet, opened at its first job (and again after a failure to open)."""

    entry: Entry
    name: str
    logger: logging.Logger
    config: Config | None = None
    book: Workbook | None = None
    service: Service | None = None
    lock: WorkbookLock | None = None
    gate: Gate | None = None
    state: str = "waiting"
    last_sync: LastRun | None = None
    failures: int = 0  # syncs failed in a row (kept here: a --once run drops the slot that counts them)
    error: str = ""
    jobs: dict[str, Job] = field(default_factory=dict)


class _FleetTime(MachineClock):
    """A member's service on the fleet's clock: a job's day (the digest's, the sync's) and its
    Sync Log time are the fleet's moment, so a simulated day is one day for everything in it."""

    def __init__(self, fleet: "Fleet") -> None:
        self.fleet = fleet

    def elapsed(self) -> float:
        return self.fleet.clock.now()

    def wall(self) -> dt.datetime:
        return self.fleet.moment(self.fleet.clock.now()).astimezone(dt.timezone.utc)

    def sleep(self, seconds: float) -> None:
        self.fleet.clock.wait(self.fleet.abandon, seconds)


class _MemberLog(logging.Filter):
    """A member's log lines: its name before each, in the JSON fields too; a failure only when
    the job turns from healthy to failing (the service counts `failures` in a row); each job's
    outcome, not its phases."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.member = name

    def filter(self, record: logging.LogRecord) -> bool:
        fields = getattr(record, "fields", {})
        if fields.get("event") == "job_failed" and fields.get("failures", 1) > 1:
            return False
        if "step" in fields:  # a job's phases (reading, planning…): noise times hundreds of workbooks
            return False
        record.msg, record.args = _("{workbook}: {message}", workbook=self.member, message=record.getMessage()), ()
        record.fields = {**fields, "workbook": self.member}
        return True


# The member whose job runs in this thread: the library's own loggers (the warehouse mirror's,
# the written-cells file's) know no workbook, and in a fleet their line named none of a hundred.
_RUNNING: contextvars.ContextVar[str | None] = contextvars.ContextVar("sheetcrm_fleet_member", default=None)


class _Attributed(logging.Filter):
    """On the fleet's handlers: a line logged during a member's job by a logger other than the
    member's own gets the member's name, as its own lines do (`_MemberLog`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        member, fields = _RUNNING.get(), getattr(record, "fields", {})
        if member is not None and "workbook" not in fields:
            record.msg, record.args = _("{workbook}: {message}", workbook=member, message=record.getMessage()), ()
            record.fields = {**fields, "workbook": member}
        return True


class Fleet:
    def __init__(self, settings: FleetSettings, logger: logging.Logger, *, clock: Clock | None = None,
                 poll: float | None = REST_SLICE, write_state_file: bool = True, wall0: dt.datetime | None = None) -> None:
        self.settings = settings
        self.logger = logger
        self.clock = clock or RealClock()
        self.poll = poll
        self.write_state_file = write_state_file
        self.language = current()
        self.stopping = threading.Event()
        # Set only by a hard stop: a job waiting for tokens or between retries gives up. A plain
        # stop lets the jobs in flight finish, as `sheetcrm run` does.
        self.abandon = threading.Event()
        self._signalled = False
        self.wake = threading.Event()
        self.budget = Budget(settings.budget, self.clock, self.abandon)
        self.scheduler = Scheduler(settings.workers)
        self._lock = threading.Lock()
        self.t0 = self.clock.now()
        # The wall-clock moment (aware) of `t0`: the clock's seconds on from it are the fleet's wall
        # clock (`moment`), the real one's with RealClock, a simulated day's with VirtualClock.
        self.wall0 = (wall0 or dt.datetime.now()).astimezone()
        self.members: dict[str, Member] = {}
        for handler in logger.handlers:
            if not any(isinstance(f, _Attributed) for f in handler.filters):
                handler.addFilter(_Attributed())
        for i, entry in enumerate(settings.workbook):
            name = member_name(entry)
            child = logging.getLogger(f"{logger.name}.fleet.{i}")
            child.filters.clear()
            child.addFilter(_MemberLog(name))
            self.members[name] = Member(entry, name, child)
            every = entry.every_phrase
            self.scheduler.add(Slot(name, "sync", every.period if every else 300.0, self.t0))
        self.ok = True  # every job of run_once succeeded
        # A member run_once could not open for its config or its workbook (EXPECTED): what
        # `sheetcrm run --once` exits 2 for, a person's setting to fix, not a job that failed.
        self.unopened = False
        self.once = False  # run_once: every job now, once
        # The fleet file as read: a workbook added, removed or rescheduled while the fleet runs
        # applies at its restart, and the log says so once per change (members' configs: Service).
        self._file_read = file_bytes(settings.source)
        self._file_said = self._file_read

    # -- a member's life ----------------------------------------------------------------------

    def _open(self, member: Member) -> None:
        """Load the member's config, open its workbook behind the budget, take its lock, make its
        service; raises AlreadyRunning (held elsewhere) or a one-line error."""
        entry, s = member.entry, self.settings
        config = load_config(s.path(entry.config)) if entry.config else Config()
        counter = RequestCounter()
        workbook = s.path(entry.workbook)
        credentials = s.path(entry.credentials)
        book = open_workbook(config, str(workbook) if workbook else None, entry.spreadsheet,
                             str(credentials) if credentials else None, tracer=counter)
        client = getattr(book, "client", None)
        if client is not None:  # a Google workbook: its requests pass the budget, its pauses the fleet's clock
            member.gate = Gate(self.budget, self._user(config, credentials))
            gate_session(client.http_client.session, member.gate)
            client.http_client.policy.sleep = lambda seconds: self.clock.wait(self.abandon, seconds)
        lock = WorkbookLock(book, wait=0).acquire()
        try:
            if workbook is not None:
                remove_stale_temp_files(workbook)
            service = Service(config, book, member.logger, counter=counter, sync_every=entry.every_phrase,
                              clock=_FleetTime(self), broken=MEMBER_CONFIG_BROKEN)
        except BaseException:
            lock.release()
            raise
        member.config, member.book, member.lock, member.service = config, book, lock, service
        for job in member.service.jobs:
            member.jobs[job.name] = job
            job.work = self._watched(member, job.work)
        sync = member.jobs["sync"]
        with self._lock:
            slot = self._slot(member.name, "sync")
            slot.period = sync.every.period
            now = self.clock.now()
            for job in member.service.jobs[1:]:
                self.scheduler.add(Slot(member.name, job.name, job.every.period, self._first_due(job.every, now, config)))

    @staticmethod
    def _user(config: Config, credentials: Path | None) -> str:
        """Whose per-user quota a spreadsheet spends: the account its credentials file (found as
        `open_workbook` finds it) signs in as; "default" when none is named (the emulator).

        Google counts a user by account, not by file: copies of one service account's key in
        each client's folder (or two keys of it) were a bucket each, so the fleet sent that
        account 60 reads a minute per copy and Google answered the excess 429."""
        path = credentials
        if path is None and config.credentials:
            path = config.source.parent / config.credentials if config.source else Path(config.credentials)
        if path is None and os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
            path = Path(os.environ["GOOGLE_APPLICATION_CREDENTIALS"])
        if path is None:
            return "default"
        path = path.expanduser().resolve()
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = None  # opening the workbook says what is wrong with it
        if isinstance(info, dict):
            if info.get("type") == "service_account" and isinstance(info.get("client_email"), str):
                return "service_account:" + info["client_email"].strip().lower()  # not for people: a bucket's key
            if "installed" in info or "web" in info:  # every OAuth client file signs in as the one cached sign-in
                from sheetcrm.workbook.credentials import TOKEN_CACHE  # gspread's import: for Google workbooks only

                return f"oauth:{TOKEN_CACHE}"  # not for people: a bucket's key
            if info.get("type") == "authorized_user" and isinstance(info.get("refresh_token"), str):
                # The refresh token is the person's grant; only its digest is kept, never the secret.
                grant = hashlib.sha256(info["refresh_token"].encode()).hexdigest()[:16]
                return f"authorized_user:{grant}"  # not for people: a bucket's key
        return str(path)

    def _watched(self, member: Member, work: Any) -> Any:
        """The job's work, remembering its outcome's message for `fleet status`."""
        def run() -> JobResult:
            try:
                result = work()
            except Exception as e:
                member.error = str(e) or type(e).__name__
                raise
            member.error = result.message
            return result
        return run

    def _slot(self, member: str, job: str) -> Slot:
        return next(s for s in self.scheduler.slots if s.member == member and s.job == job)

    def _first_due(self, every: Every, now: float, config: Config) -> float:
        """An interval job is due at once; a job at set hours at its next hour, except under
        `--once`, which runs every job now (as `sheetcrm run --once`), never waiting for an hour."""
        return now if every.at is None or self.once else self._next_at(every, now, config)

    def _next_at(self, every: Every, now: float, config: Config) -> float:
        """A job at set hours ("every day at 08:00"): when (the clock's seconds) it is next due after
        `now`, its time of day on the wall clock of `config`'s team (`Every.next_at`)."""
        # The machine's clock itself when real: monotonic seconds do not count a suspend.
        wall = dt.datetime.now(dt.timezone.utc) if isinstance(self.clock, RealClock) else self.moment(now)
        due = every.next_at(wall, team_time.team_zone(config))
        return now + max(0.0, (due - wall).total_seconds())

    def moment(self, t: float) -> dt.datetime:
        """The aware wall-clock moment of the clock's second `t`, with the machine's offset at that
        moment (a fleet started in summer shows a winter time with the winter offset). The real
        clock's moments are counted back from the machine's clock now, so a clock set back or
        forward meanwhile (by hand, NTP, a suspend) is followed, not the one at the start."""
        if isinstance(self.clock, RealClock):
            return (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=self.clock.now() - t)).astimezone()
        return (self.wall0 + dt.timedelta(seconds=t - self.t0)).astimezone()

    # -- one job ---------------------------------------------------------------------------------

    def _work(self, slot: Slot, once: bool) -> None:
        """A worker thread: run `slot`'s job for its member, then schedule it again."""
        try:
            # The start on the wall clock, read now: counted back later from the monotonic clock,
            # it moved by any suspend meanwhile (which that clock does not count), and `fleet
            # status` showed a sync from before a night's suspend as run in the morning.
            started = self.wall(slot.last_run)
            with using(self.language):
                try:
                    ok, skipped = self._run(slot, once)
                except Exception as e:  # a bug: logged with its traceback; the slot backs off like a failure
                    self.logger.error(_("{workbook}: {message}", workbook=slot.member, message=str(e) or type(e).__name__),
                                      exc_info=e)
                    ok, skipped = False, False
            with self._lock:
                now = self.clock.now()
                member = self.members[slot.member]
                if slot.job == "sync":
                    member.last_sync = LastRun(started, "skipped" if skipped else "ok" if ok else "error",
                                               member.error)
                    if not skipped:
                        member.failures = 0 if ok else member.failures + 1
                if once:
                    slot.running = False
                    self.scheduler.slots.remove(slot)
                    self.ok = self.ok and ok and not skipped
                elif skipped:
                    self.scheduler.skip(slot, now)
                else:
                    cap = member.config.schedule.max_backoff_seconds if member.config else self.settings.max_backoff_seconds
                    job = member.jobs.get(slot.job)
                    # A failure retrying cannot fix (a digest refused for good, or its outcome unknown:
                    # the service counts it as no failure in a row) keeps the job's schedule, as under
                    # `sheetcrm run`; backed off, a daily digest ran again within the hour.
                    keeps = ok or (job is not None and not job.failures)
                    next_due = (self._next_at(job.every, now, member.config)
                                if keeps and job and job.every.at and member.config else None)
                    self.scheduler.done(slot, keeps, now, cap, next_due)
                self._save()
        finally:
            self.wake.set()
            self.clock.leave()

    def _run(self, slot: Slot, once: bool = False) -> tuple[bool, bool]:
        """(succeeded, skipped) of one run of the slot's job (`once`: of `--once`, no next try)."""
        member = self.members[slot.member]
        if member.service is None:
            try:
                self._open(member)
            except AlreadyRunning as e:
                member.error = str(e)
                if member.state != "locked":
                    self.logger.warning(_("{workbook}: skipped this round: {error}", workbook=member.name, error=e),
                                        extra={"fields": {"event": "skipped", "workbook": member.name}})
                member.state = "locked"
                return False, True
            except EXPECTED as e:
                self.unopened = self.unopened or once
                return self._failed(member, slot, str(e), None), False
            except Exception as e:  # a bug: its traceback is what gets it fixed
                return self._failed(member, slot, str(e) or type(e).__name__, e), False
            if member.state in ("failing", "locked"):
                self.logger.info(_("{workbook}: started", workbook=member.name),
                                 extra={"fields": {"event": "started", "workbook": member.name}})
        assert member.service is not None
        token = _RUNNING.set(member.name)
        try:
            job = member.jobs[slot.job]
            # The scheduled time this run is for (as `sheetcrm run`: Job.covers): the latest of the
            # job's times up to now, so a digest slept through is that day's, sent once.
            job.covers = (job.every.last_due(self.moment(slot.due), self.moment(self.clock.now()),
                                             team_time.team_zone(member.service.config))
                          if job.every.at is not None and not once and not slot.failures else None)
            ok = member.service.run_job(job, once=once) if not once or member.service.due_once(job) else True
        finally:
            _RUNNING.reset(token)
        if slot.job == "sync":
            member.state = "ok" if ok else "failing"
        return ok, False

    def _failed(self, member: Member, slot: Slot, message: str, bug: BaseException | None) -> bool:
        """A member that could not even be opened: said once when it starts failing."""
        member.error = message
        self._close(member)
        if member.state != "failing":
            # `--once` tries no more: "retried with backoff" would send the reader waiting for it.
            line = (_("{workbook}: cannot start: {error}", workbook=member.name, error=message) if self.once else
                    _("{workbook}: cannot start: {error}; retried with backoff", workbook=member.name, error=message))
            self.logger.error(line, exc_info=bug,
                              extra={"fields": {"event": "member_failed", "workbook": member.name}})
        member.state = "failing"
        return False

    def _close(self, member: Member) -> None:
        """Release the member's lock and forget its service; its sync slot stays (it opens the
        member again), its other jobs' slots go (opening adds them back)."""
        if member.lock is not None:
            member.lock.release()
        member.service = member.book = member.lock = member.gate = None
        member.jobs.clear()
        with self._lock:
            self.scheduler.slots = [s for s in self.scheduler.slots if s.member != member.name or s.job == "sync"]

    # -- the dispatcher ----------------------------------------------------------------------------

    def serve(self, until: float | None = None) -> None:
        """Run the jobs as they fall due until a stop (SIGINT/SIGTERM, `stop()`), or until the
        clock reads `until`; then let the jobs in flight finish and write the waiting Sync Log rows."""
        self._dispatch(once=False, until=until)

    def run_once(self) -> bool:
        """Every job of every workbook once (for cron); True when all succeeded."""
        self._dispatch(once=True, until=None)
        return self.ok

    def stop(self, hard: bool = False) -> None:
        """Stop after the jobs in flight; `hard`: they give up their waits for tokens and retries."""
        if hard:
            self.abandon.set()
        self.stopping.set()
        self.wake.set()

    def _dispatch(self, once: bool, until: float | None) -> None:
        self.once = once
        # Each count its own plural: "1 workers" ("1 hilos de trabajo") took the workbooks' number.
        workers = ngettext("{n} worker", "{n} workers", self.settings.workers)
        self.logger.info(ngettext("fleet: {n} workbook, {workers}", "fleet: {n} workbooks, {workers}",
                                  len(self.members), workers=workers),
                         extra={"fields": {"event": "fleet_started", "workbooks": len(self.members)}})
        if not once:
            self._wait_for_hours()
        # Held while the fleet runs, so `fleet status` tells a running fleet from a PID reused.
        held = status.hold(self.settings.state_path) if self.write_state_file else None
        try:
            self._serve_jobs(once, until)
        finally:
            status.let_go(held)

    def _wait_for_hours(self) -> None:
        """A sync at set hours ("every day at 02:30") of a member not run yet is first due at its
        hour, as under `sheetcrm run`: its slot was made due at once before its config (its
        schedule, its team's zone) was read, and every start of the fleet synced it then, at
        14:00 too. A config that cannot be read leaves the slot due: its first job says why."""
        now = self.clock.now()
        for member in self.members.values():
            slot = self._slot(member.name, "sync")
            if member.service is not None or slot.runs or slot.running:
                continue
            try:
                config = load_config(self.settings.path(member.entry.config)) if member.entry.config else Config()
            except EXPECTED:
                continue
            every = member.entry.every_phrase or parse_every(config.schedule.sync)
            if every.at is not None:
                slot.period, slot.due = every.period, self._next_at(every, now, config)

    def _serve_jobs(self, once: bool, until: float | None) -> None:
        # The handlers stay in place until the end: the jobs in flight and the Sync Log rows
        # written at exit can wait on a dead network, and a second signal meanwhile is the
        # stop at once promised. Put back before the pool's wait, the default handler killed
        # the fleet by the signal (-15), with no line.
        with self._signals():
            self._serve_jobs_handled(once, until)

    def _serve_jobs_handled(self, once: bool, until: float | None) -> None:
        with ThreadPoolExecutor(self.settings.workers, thread_name_prefix="fleet") as pool:
            while not self._stop_asked():
                with self._lock:
                    now = self.clock.now()
                    if until is not None and now >= until:
                        break
                    while (slot := self.scheduler.next(now)) is not None:
                        self.clock.join()  # counted before it starts, so virtual time waits for it
                        pool.submit(self._work, slot, once)
                    if once and not self.scheduler.slots:
                        break
                    wake = self.scheduler.wake_at(now)
                timeout = 60.0 if wake is None else max(0.0, wake - now)
                if until is not None:
                    timeout = min(timeout, until - now)
                if self.poll is not None:
                    timeout = min(timeout, self.poll)
                self.clock.wait(self.wake, timeout)
                self.wake.clear()
            # The pool's exit waits for the jobs in flight; their threads leave the clock as they end.
            self.clock.leave()
        self.clock.join()
        for member in self.members.values():
            if member.service is not None:  # the Sync Log rows still waiting, as `sheetcrm run` at exit
                member.service.flush_log()
        self._save()
        for member in self.members.values():
            self._close(member)

    def _stop_asked(self) -> bool:
        if self._signalled:
            self.stop()
        return self.stopping.is_set()

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM stop after the jobs in flight; a second one at once (exit 130).
        Only in the main thread (a test may serve a fleet from another)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum: int, _frame: Any) -> None:
            if self._signalled:
                # The jobs give up their waits for tokens and retries (the main thread never
                # waits on `abandon` while these handlers are in place, so setting it cannot deadlock).
                self.abandon.set()
                self.logger.warning(_("{signal}: stopping now, the jobs in flight cut short", signal=signal.Signals(signum).name),
                                    extra={"fields": {"event": "signal", "signal": signal.Signals(signum).name}})
                for handler in self.logger.handlers:
                    handler.flush()
                # At once: a SystemExit here still waited for the worker threads (the interpreter
                # joins a pool's threads at exit), a request in flight for its whole timeout and
                # each retry after it. Cut short as by a crash, which every write here survives:
                # an .xlsx is replaced whole, a Google batch lands whole, the queues and journals
                # are on disk before each step they record.
                os._exit(130)
            self.logger.info(_("{signal}: stopping after the jobs in flight", signal=signal.Signals(signum).name),
                             extra={"fields": {"event": "signal", "signal": signal.Signals(signum).name}})
            self._signalled = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- what `fleet status` reads ------------------------------------------------------------------

    def wall(self, t: float) -> str:
        return self.moment(t).isoformat(timespec="seconds")

    def state(self) -> dict[str, Any]:
        rows = []
        for member in self.members.values():
            sync = next((s for s in self.scheduler.slots if s.member == member.name and s.job == "sync"), None)
            last = member.last_sync
            rows.append({
                "name": member.name,
                "target": member.book.describe() if member.book is not None else
                (member.entry.spreadsheet or str(self.settings.path(member.entry.workbook))),
                "state": member.state,
                "last_sync": None if last is None else {"at": last.at, "outcome": last.outcome,
                                                        "message": last.message},
                "next_sync": None if sync is None or sync.running else self.wall(sync.due),
                "failures": member.failures,
                "requests_last_minute": member.gate.last_minute() if member.gate is not None else 0,
            })
        budget = self.settings.budget
        return {"pid": os.getpid(), "written_at": self.wall(self.clock.now()),
                "requests_last_minute": {"read": self.budget.used("read"), "write": self.budget.used("write")},
                "budget": {"read": budget.project_reads_per_minute, "write": budget.project_writes_per_minute},
                "workbooks": rows}

    def _file_changed(self) -> None:
        """Say, once per change, that the fleet file changed since the start (applied at a restart)."""
        source = self.settings.source
        now = file_bytes(source)
        if now != self._file_said and now != self._file_read:
            # An edit a restart refuses (a bad key, a TOML slip, the file deleted) said as "applies
            # once it is restarted" had the person restart into a fleet that exits 2, every
            # workbook unsynced: said so instead, with the line that restart would stop with.
            try:
                load_fleet(source)
                line, fails = _(CONFIG_CHANGED, file=source), False
            except ConfigError as e:
                line, fails = _(FLEET_BROKEN, file=source, problem=str(e)), True
            self.logger.warning(line, extra={"fields": {"event": "config_changed", "restart_fails": fails}})
        self._file_said = now

    def _save(self) -> None:
        if self.settings.source is not None:
            self._file_changed()
        if self.write_state_file:
            try:
                write_state(self.settings.state_path, self.state())
            except OSError as e:  # the status view is a convenience: its failure never stops the fleet
                self.logger.warning(_("cannot write the fleet state {file}: {error}", file=self.settings.state_path,
                                      error=os_problem(e)))
