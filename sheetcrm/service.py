"""`sheetcrm run`: the jobs on a schedule, unattended. docs/service.md describes the design.

    service = Service(config, book, logger)
    service.serve()          # until SIGINT/SIGTERM; or service.run_once() for cron

A job that fails is logged and retried later, its period doubling per failure up to
`[schedule] max_backoff_seconds`, while the other jobs keep their schedule. A malformed sheet
is not a failure: the sync reports it as issues and carries on.

Every job adds a row to the Sync Log tab. Rows wait in a file beside the lock (`synclog.py`,
so a crash loses none) and ride along with the next sync that writes anyway
(`plan_sync(..., log_rows=...)`). A sync writes them even when it has nothing else to write
once `[schedule] log` has passed since the tab was last written, and a failure or a recovery
is written at once, so the tab shows a person that the service is alive. Rows still waiting
when the process stops are written then, with one read and one write.

When `sheetcrm serve` keeps a website form's queue for this workbook (its file beside the
lock), every sync also appends the submissions waiting in it (`intake.queue`), as serve's
own drain does: serve's drain skips its rounds while this service holds the lock, so a team
running both never waits on it. Exactly once either way: a submission is marked appended only
after the write landed, and a sync finds a receipt already in the Activities before placing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from babel.dates import get_day_names
from babel.numbers import format_decimal

from sheetcrm import cells, team_time, written_file
from sheetcrm.config import Config, load_config
from sheetcrm.engine import Results
from sheetcrm.every import Every, parse_every
from sheetcrm.i18n import N_, Spoken, _, current, day_said, ngettext, pgettext, speaking, using
from sheetcrm.os_errors import os_problem
from sheetcrm.intake.queue import WebBatch, WebQueue, queue_path
from sheetcrm.lock import lock_dir, workbook_key
from sheetcrm.parse_cache import RowMemo
from sheetcrm.mail.digest import EventJournal, owner_digests, send_digests, unaddressed
from sheetcrm.mail.journal import DIGEST, Journal
from sheetcrm.mail.outbox import send_outbox, template_shelf, templates_for
from sheetcrm.mail.smtp import ENV_PREFIX, SmtpSender, SmtpSettings, smtp_settings
from sheetcrm.merging import what_merged
from sheetcrm.owned import locate
from sheetcrm.schema import SYNC_LOG
from sheetcrm.settings import ConfigError
from sheetcrm.steps.sync_log import plan_log
from sheetcrm.sync import (ATTEMPTS as SYNC_ATTEMPTS, mirror_sync, plan_context, plan_kept, plan_sync, read_archive,
                           read_fits)
from sheetcrm.synclog import LogQueue
from sheetcrm.validate import Crm, team_config
from sheetcrm.warehouse.behind import when
from sheetcrm.workbook import CellValue, Plan, Workbook, WorkbookConflict, WorkbookError, WorkbookUnreachable

# The config is read at the start only: the schedule, the lock and the caches were made from it.
CONFIG_CHANGED = N_("{file} changed since this `sheetcrm run` started: the change applies once it is restarted")
# An edit a restart would stop at (a typo, a deleted file): promising that a restart applies it
# took the service down (exit 2, which systemd does not restart) with the workbook unsynced.
CONFIG_BROKEN = N_("{file} changed since this `sheetcrm run` started, and a restart would stop at it: {problem}; "
                   "this service goes on with the config it started with until the file is fixed")
# The same edit to a fleet member's config: a restart of the fleet starts, and leaves this one
# workbook out (`cannot start`, retried with backoff); "a restart would stop at it" was false there.
MEMBER_CONFIG_BROKEN = N_("{file} changed since this `sheetcrm run` started, and after a restart this workbook would "
                          "not start: {problem}; it goes on with the config it started with until the file is fixed")
# The fleet file itself edited into one a restart refuses: the fleet would not start at all.
FLEET_BROKEN = N_("{file} changed since this `sheetcrm run` started, and a restart would stop at it: {problem}; "
                  "this fleet goes on with the workbooks it started with until the file is fixed")
# Why the Sync Log rows are written now: in the log line in words, in the JSON field as is.
# How soon the idle loop notices a stop signal (its handler only sets a flag).
REST_SLICE = 0.2  # seconds
AT_EXIT = N_("at exit")
# The queue's file could not be written (synclog.LogQueue.failed): said at each job until it can.
QUEUE_NOT_KEPT = N_("cannot keep the Sync Log rows waiting in {path} ({problem}): they wait in memory until a write "
                    "carries them to the Sync Log tab, and a crash before that loses them; free space there, or set "
                    "$XDG_CACHE_HOME to a folder this user may write in")
AFTER_RECOVERY = N_("now, after a recovery")
AFTER_FAILURE = N_("now, after a failure")
# A digest run this long after its time is said late: past what the loop's own pace explains
# (it looks at least once a minute, and a sync may run before it).
LATE = 15 * 60  # seconds

# -- jobs ------------------------------------------------------------------------------------

def digest_ledger_path(book: Workbook) -> Path:
    return lock_dir() / f"{hashlib.sha256(workbook_key(book).encode()).hexdigest()[:24]}.digests.json"


def log_queue_path(book: Workbook) -> Path:
    return lock_dir() / f"{hashlib.sha256(workbook_key(book).encode()).hexdigest()[:24]}.synclog.jsonl"


class DigestLedger:
    """owner -> the last day their digest was sent, in a small JSON file beside the lock."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _days(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def has(self, owner: str, day: dt.date) -> bool:
        """Whether `owner` had the digest of `day`, or of a later day: after the machine's clock
        is set back (by hand, NTP fixing a clock that ran ahead) a day already told is not sent again."""
        return self._days().get(owner, "") >= day.isoformat()  # ISO days sort as text

    def last_day(self) -> dt.date | None:
        """The latest day any owner's digest went out; None before the first."""
        days = [d for d in self._days().values() if isinstance(d, str)]
        try:
            return dt.date.fromisoformat(max(days)) if days else None
        except ValueError:
            return None

    def add(self, owners: list[str], day: dt.date) -> None:
        _replace(self.path, self._days() | {o: day.isoformat() for o in owners})

    def _refusals(self) -> dict[str, dict[str, str]]:
        try:
            return json.loads(self.path.with_suffix(".refused.json").read_text())
        except (OSError, ValueError):
            return {}

    def refusal(self, owner: str, day: dt.date, setting: str) -> str | None:
        """Why `owner`'s digest of `day` can never go out with `setting` (`digest_setting`), as
        recorded by `refuse`; None when it may be tried (another day, or the setting changed)."""
        found = self._refusals().get(owner)
        if isinstance(found, dict) and found.get("day") == day.isoformat() and found.get("setting") == setting:
            return str(found.get("reason", ""))
        return None

    def refuse(self, owner: str, day: dt.date, setting: str, reason: str) -> None:
        """Remember a permanent failure (5xx, an address SMTP cannot carry): not retried that day
        with that setting."""
        _replace(self.path.with_suffix(".refused.json"),
                 self._refusals() | {owner: {"day": day.isoformat(), "setting": setting, "reason": reason}})


def _replace(path: Path, data: Any) -> None:
    """Write `data` as JSON whole (os.replace: a crash leaves the old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False))
    os.replace(tmp, path)


def digest_setting(address: str, smtp: SmtpSettings) -> str:
    """A fingerprint of what a digest's permanent refusal depends on: the owner's address and
    the [smtp] settings. Changing either tries the digest again the same day."""
    parts = (address, smtp.from_, smtp.host, smtp.port, smtp.security, smtp.user)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


class FinalError(WorkbookError):
    """A job's failure that retrying cannot fix (a digest refused for good, one whose outcome is
    unknown): logged and in the Sync Log as a failure, but no backoff retry is scheduled."""


@dataclass
class JobResult:
    """What a job did, as the Sync Log shows it."""

    rows_read: int | None = None
    issues: int | None = None
    cells_written: int | None = None
    message: str = ""


@dataclass
class Job:
    name: str
    every: Every
    work: Callable[[], JobResult]
    failures: int = 0
    # When `serve` runs it next: `due` in monotonic seconds (an interval job, or any job's retry
    # after a failure), else `due_at`, an aware moment (a job at a time of day, read on the wall clock).
    due: float = 0.0
    due_at: dt.datetime | None = None
    # The scheduled moment (aware) the run in hand is for, given by its scheduler; None for an
    # interval job's run, a retry or `--once`. The digest's day is this moment's, not the day it
    # runs on: a 23:00 digest the machine slept through went out at 01:00 as the next day's, and
    # that day's own at 23:00 was then "already sent today".
    covers: dt.datetime | None = None


class MachineClock:
    """The service's time: `elapsed` for intervals and backoffs (`team_time.elapsed`: counts a
    suspend, never steps with the wall clock), `wall` for jobs at a time of day and the team's
    day (an aware UTC moment), `sleep` for the idle loop. A test gives its own, to play a
    suspend or a clock set back without waiting for one."""

    def elapsed(self) -> float:
        return team_time.elapsed()

    def wall(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Unreached(WorkbookError):
    """The workbook could not be read at all by the first job that tried (a missing file,
    Google unreachable, credentials refused): for `run --once`, the command's own failure."""


class RequestCounter:
    """The tracer handed to the Google backend: counts HTTP attempts, retries included."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, _trace: Any) -> None:
        self.count += 1


def _said(what: str | Callable[[], str], params: dict[str, Any], language: str | None = None) -> str:
    """A step's words (Steps.job) in `language`, else the current one."""
    with using(language or current()):
        return what() if callable(what) else _(what, **params)


class Steps:
    """The phases of one job: a rich progress bar on a terminal, plain log lines otherwise."""

    def __init__(self, logger: logging.Logger, console: Console | None) -> None:
        self.logger = logger
        self.console = console

    @contextmanager
    def job(self, name: str, total: int) -> Iterator[Callable[..., None]]:
        """`step(N_("planning"))`, or a callable for a count's plural form (`step(lambda:
        ngettext("writing {n} cell", "writing {n} cells", 3))`): the phase in words for people,
        in the current language; the JSON field `step` keeps the English, for programs."""
        if self.console is None:
            held: list[logging.LogRecord] = []

            def line(what: str | Callable[[], str], hold: bool = False, **params: Any) -> None:
                record = self.logger.makeRecord(
                    self.logger.name, logging.INFO, __file__, 0, _("{job}: {step}", job=name, step=_said(what, params)),
                    (), None, extra={"fields": {"job": name, "step": _said(what, params, "en")}})
                for earlier in held:
                    self.logger.handle(earlier)
                held[:] = [record] if hold else []
                if not hold:
                    self.logger.handle(record)

            try:
                yield line
            except Unreached:
                # A held line ("sync: reading") names a step of a workbook never reached: `run
                # --once` on a missing file says so in one line, not an INFO line before it.
                raise
            except BaseException:
                for earlier in held:
                    self.logger.handle(earlier)
                raise
            for earlier in held:
                self.logger.handle(earlier)
            return
        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console, transient=True) as progress:
            task = progress.add_task(name, total=total)
            started = False

            def step(what: str, hold: bool = False, **params: Any) -> None:
                nonlocal started
                progress.update(task, description=_("{job}: {step}", job=name, step=_said(what, params)),
                                advance=1 if started else 0)
                started = True

            yield step


class Service:
    def __init__(self, config: Config, book: Workbook, logger: logging.Logger, *, counter: RequestCounter | None = None,
                 console: Console | None = None, sync_every: Every | None = None,
                 today: Callable[[], dt.date] | None = None, log_queue: LogQueue | None = None,
                 clock: MachineClock | None = None, broken: str = CONFIG_BROKEN) -> None:
        self.config = config
        self.clock = clock or MachineClock()
        # The language its jobs speak, log and write their Sync Log rows in: the config's, else
        # the one the workbook's tab titles say once a job reads it (`validate.team_config`), kept
        # for the jobs after (threads do not share a context variable). Without it a server
        # with an English shell filled a Spanish workbook's Sync Log in English.
        self.spoken = Spoken(config.locale)
        self.reached = False  # a job read the workbook in this process (`Unreached`)
        self.book = book
        self.logger = logger
        self.counter = counter
        self.steps = Steps(logger, console)
        # The team's day on the service's clock, unless a test gives one.
        self.today = today or (lambda: team_time.day_of(self.config, self.clock.wall()))
        self.stopping = threading.Event()
        # What a signal handler may touch: a plain attribute. Setting the Event from the
        # handler can deadlock: the handler runs in the main thread, which may be inside
        # `Event.wait` holding the Event's own (non-reentrant) lock at that instant.
        self._signalled = False
        # Sync Log rows not yet written, on disk; rows left by a crashed run are written first thing.
        self.pending = log_queue if log_queue is not None else LogQueue(log_queue_path(book))
        # The learned lead model is refitted only when the decided leads change (issue 16);
        # it starts from the fit the last `sheetcrm sync` kept beside the lock.
        self.fit_cache = read_fits(book)
        self.log_every = parse_every(config.schedule.log).period
        self.logged_at = self.clock.elapsed()
        self.log_urgent = bool(self.pending)
        self.jobs = [Job("sync", sync_every or parse_every(config.schedule.sync), self.sync)]
        # Without an SMTP server there is nothing to send: those jobs are not scheduled at all,
        # rather than failing every minute. A half-set [smtp] is still a config error.
        mailing = bool(config.smtp.host or os.environ.get(f"{ENV_PREFIX}HOST"))
        self.smtp = smtp_settings(config.smtp) if mailing else None
        if self.smtp is not None:
            self.jobs.append(Job("outbox", parse_every(config.schedule.outbox), self.outbox))
            if config.owners:
                self.jobs.append(Job("digest", parse_every(config.schedule.digest), self.digest))
        # A mail job the config asks for (its [schedule] line, or [owners] for the digest) that is
        # not scheduled is said as the service starts: unsaid, the Approved quotes waited and no
        # digest came, with nothing in the log to tell why.
        asked = config.schedule.model_fields_set
        self.unscheduled: list[tuple[str, bool]] = []  # (job, whether for want of an SMTP server)
        if self.smtp is None:
            self.unscheduled += [(job, True) for job in ("outbox", "digest")
                                 if job in asked or (job == "digest" and config.owners)]
        elif "digest" in asked and not config.owners:
            self.unscheduled.append(("digest", False))
        self._web_queue: WebQueue | None = None
        # The rows the last sync validated, kept in memory between syncs (parse_cache): a quiet
        # sheet's sync validates no row again.
        self.memo = RowMemo()
        # The days each owner's digest already went out, so a restart never sends it twice.
        self.digests_sent = DigestLedger(digest_ledger_path(book))
        # The workflow events the digests already told (each in one digest only).
        self.digest_events = EventJournal.beside_lock(book)
        # The team's day of a digest run that failed for a passing reason, and until when its
        # backoff retry is still that day's digest (the next scheduled run): a retry past
        # midnight sends that day's digest to the owners it missed. Taking the new day sent the
        # new day's digest hours early, to the owners already served that evening too.
        self.digest_retry: tuple[dt.date, dt.datetime] | None = None
        # The config file as read: an edit made while the service runs is not applied, and every
        # job says so (`_config_stale`) rather than go on computing stages, owners, … unnoticed.
        self._config_read = file_bytes(config.source)
        self._config_said = self._config_read
        self._config_problem: str | None = None  # why a restart would stop at the file as it is now
        self._broken = broken  # how that is said: CONFIG_BROKEN, or a fleet member's MEMBER_CONFIG_BROKEN

    # -- the jobs --------------------------------------------------------------------------

    def web_queue(self) -> WebQueue | None:
        """`sheetcrm serve`'s queue for this workbook, once serve has made one (opened then,
        and kept open); None before, so a team without serve gets no file."""
        if self._web_queue is None and queue_path(self.book).exists():
            self._web_queue = WebQueue(queue_path(self.book))
        return self._web_queue

    def sync(self) -> JobResult:
        queue = self.web_queue()
        batch = None
        with self.steps.job("sync", total=3) as step:
            book_id = written_file.new_id(self.book)
            for attempt in range(1, SYNC_ATTEMPTS + 1):
                if attempt == 1:
                    # Held until the read answers, when no read has yet: a workbook that cannot
                    # be read at all is one line (`Unreached`), with no step before it.
                    step(N_("reading"), hold=not self.reached)
                else:
                    step(N_("reading again, attempt {attempt}"), attempt=attempt)
                read_at = dt.datetime.now(dt.timezone.utc)
                try:
                    snapshot = self.book.read()
                except WorkbookError as e:
                    if not self.reached:
                        raise Unreached(str(e)) from e
                    raise
                snapshot.read_at = read_at  # the mirror keeps the newest read's (warehouse.mirror.write)
                self.reached = True
                team_config(snapshot, self.config)  # the workbook's language, spoken from this line on
                # What sheetcrm last wrote in computed cells, kept beside the lock: a restart
                # (or a run that follows a `sheetcrm sync`) still tells a typed value from its own.
                written_file.recall(self.memo, lock_dir(), self.book, snapshot)
                step(N_("planning"))
                handed = list(self.pending.rows)
                # Read after the workbook: a submission stored meanwhile waits for the next sync.
                batch = WebBatch(queue.waiting()) if queue is not None else None
                if attempt == 1:
                    archive = read_archive(self.config, self.book, self.today())  # keep_months: before planning
                ctx = plan_kept(lambda held: plan_context(
                    snapshot, self.config, self.today(), handed, log_now=self._log_due(),
                    sent_versions=Journal.versions_held(self.book), web=batch, templates=template_shelf(self.config),
                    fit_cache=self.fit_cache, memo=self.memo, archive=held, book_id=book_id), archive, self.config)
                written_file.keep(self.memo, lock_dir(), self.book, ctx.marks_read, ctx.marks)
                self.memo = self.memo.fresh()
                crm, plan = ctx.crm, ctx.plan
                result = None
                if not plan:
                    break
                written = len(plan.writes)
                step(lambda: ngettext("writing {n} cell", "writing {n} cells", written))
                try:
                    result = self.book.write(plan)
                    break
                except WorkbookConflict as e:
                    # Saved by someone else after the read; nothing was written. As `sync()`:
                    # read and plan again from their file, a bounded number of times.
                    if attempt == SYNC_ATTEMPTS:
                        raise WorkbookConflict(ngettext("{error} ({n} attempt)", "{error} ({n} attempts)",
                                                        SYNC_ATTEMPTS, error=e)) from None
        # After the write, as `sync()` does: a failure is logged and caught up next time, never the job's.
        mirrored = mirror_sync(ctx, result, self.book)
        if result is not None and handed:  # a plan that writes carries the handed rows
            self._logged(handed)
        appended = 0
        if queue is not None and batch is not None:
            # Only now, the write returned: what landed (or was found landed) is marked.
            done = batch.appended(result.skipped if result is not None else None)
            queue.set_aside(batch.refused)
            queue.mark(done)
            appended = len(done)
        log_title = locate(snapshot, SYNC_LOG, ctx.config.locale).title
        report = crm.report
        written = sum(n for tab, n in (result.written if result else {}).items() if tab != log_title)
        message = ", ".join((ngettext("{n} error", "{n} errors", report.errors),
                             ngettext("{n} warning", "{n} warnings", report.warnings)))
        if result and result.skipped:
            message += "; " + ngettext("{n} cell skipped (its row changed meanwhile), planned again next sync",
                                       "{n} cells skipped (rows changed meanwhile), planned again next sync",
                                       len(result.skipped))
        if result and result.warnings:
            message += "; " + "; ".join(result.warnings)  # what a concurrent edit did (Google), as `sheetcrm sync` says
        if appended:
            message += "; " + ngettext("{n} website form submission appended", "{n} website form submissions appended",
                                       appended)
        if result is not None and (merged := what_merged(result.deleted, result.replaced)):
            message += "; " + merged  # a merge's rows removed and references moved, as `sheetcrm sync` says
        if mirrored is not None and mirrored.outcome in ("failed", "behind"):
            if mirrored.lasting:
                message += "; " + _("warehouse not mirrored until its problem is fixed (the log says which)")
            elif mirrored.behind is not None:  # a failure that recurs: for how long, not "next sync" again
                message += "; " + ngettext("warehouse not mirrored, {n} sync in a row since {since}",
                                           "warehouse not mirrored, {n} syncs in a row since {since}",
                                           mirrored.behind.syncs,
                                           since=when(mirrored.behind.since, team_time.team_zone(self.config)))
            else:
                message += "; " + _("warehouse not mirrored, caught up on the next sync")
        # Every issue, not the ones listed: `[validation] max_issues` caps the list, never the count.
        return JobResult(crm.stats()["rows"], report.errors + report.warnings, written, message)

    def outbox(self) -> JobResult:
        """Send the Approved quotes, exactly once (sheetcrm.mail.outbox has the protocol)."""
        smtp = self.smtp
        assert smtp is not None  # the job is only scheduled with a server
        report = send_outbox(self.book, self.config, smtp, templates_for(self.config), lambda: SmtpSender(smtp), clock=lambda: team_time.now(self.config),
                             token=lambda: secrets.token_hex(8))
        counts = (
            (report.sent, lambda n: ngettext("{n} sent", "{n} sent", n)),
            (report.retrying, lambda n: ngettext("{n} will retry", "{n} will retry", n)),
            (report.failed, lambda n: ngettext("{n} failed", "{n} failed", n)),
            (report.redrafted, lambda n: ngettext("{n} back to Draft: its templates changed since approval",
                                                  "{n} back to Draft: their templates changed since approval", n)),
            (report.unknown, lambda n: ngettext("{n} outcome unknown", "{n} outcomes unknown", n)),
            (report.changed, lambda n: ngettext("{n} changed meanwhile", "{n} changed meanwhile", n)),
            (report.restored, lambda n: ngettext("{n} set back by the journal", "{n} set back by the journal", n)))
        parts = [words(len(ids)) for ids, words in counts if ids]
        if report.stuck:
            # Never re-sent automatically: a person checks whether it arrived.
            parts.append(ngettext("{n} left at Sending for a person to check: {rows}",
                                  "{n} left at Sending for a person to check: {rows}", len(report.stuck),
                                  rows=", ".join(r.text("id") for r in report.stuck)))
        if report.unread:
            # Never taken as approval: the person who typed "Aproved" hears why nothing went out.
            parts.append(ngettext("{n} row not acted on, its Status is no Outbox Status: {cells}",
                                  "{n} rows not acted on, their Status is no Outbox Status: {cells}", len(report.unread),
                                  cells=", ".join(f"{i.where()} {cells.quoted(i.value)}" for i in report.unread)))
        return JobResult(message="; ".join(parts) or _("nothing to send"))

    def digest(self) -> JobResult:
        """Each owner's overdue tasks, rotting deals and best new leads, once a day, at most:
        journaled as the Outbox journals quotes (mail/journal.py), so a crash between the
        server's 250 and the record never sends it twice."""
        started = self.clock.wall()
        covers = next((j.covers for j in self.jobs if j.name == "digest"), None)
        retry, self.digest_retry = self.digest_retry, None
        lapsed = None
        if retry is not None and started >= retry[1] and retry[0] < self.today():
            # Retried past the next scheduled run, into another day: that day's digest is gone for
            # the owners it missed (today's tells today's work), which the job says, not drops.
            lapsed = retry[0]
        late = None
        if retry is None or started >= retry[1]:
            every = parse_every(self.config.schedule.digest)
            zone = team_time.team_zone(self.config)
            until = (every.next_at(covers or started, zone) if every.at is not None
                     else started + dt.timedelta(seconds=every.period))
            retry = (self.today() if covers is None else team_time.day_of(self.config, covers), until)
            if covers is not None and (started - covers).total_seconds() > LATE:
                late = covers.astimezone(zone)
        try:
            return self._digest_of(retry[0], lapsed, late)
        except WorkbookError as e:
            if not isinstance(e, FinalError):
                self.digest_retry = retry
            raise

    def _digest_of(self, today: dt.date, lapsed: dt.date | None = None, late: dt.datetime | None = None) -> JobResult:
        snapshot = self.book.read()
        crm, results, _plan = plan_sync(snapshot, self.config, today)
        config = team_config(snapshot, self.config)  # the digest's words: the workbook's language, as the sync's
        smtp = self.smtp
        assert smtp is not None
        domain = (smtp.from_ or "sheetcrm@localhost").rsplit("@", 1)[-1].strip(">")
        with Journal.beside_lock(self.book) as journal:
            now = self.clock.wall().astimezone(team_time.team_zone(self.config))
            return self._digest(journal, crm, results, smtp, domain, today, now, config,
                                lapsed, late)

    def _digest(self, journal: Journal, crm: Crm, results: Results, smtp: SmtpSettings, domain: str, today: dt.date,
                now: dt.datetime, config: Config, lapsed: dt.date | None = None,
                late: dt.datetime | None = None) -> JobResult:
        # Unknown outcomes left by a run that died sending: told once (marked so at the end,
        # once this run's message holds them), never sent again.
        untold = journal.untold_digests()
        unknown = [_("{owner}'s digest of {day} may have been sent as {mid} at {at}, but sheetcrm stopped before "
                     "the server's answer was recorded: it is not sent again; check whether it arrived",
                     owner=e.row_id, day=e.version.rsplit(":", 1)[0].removeprefix(DIGEST), mid=e.message_id,
                     at=e.tried_at) for e in untold]
        planned = owner_digests(crm, results, config, templates_for(self.config),
                                self.digest_events.told() | journal.told())
        missed = [d.owner for d in planned if not self.digests_sent.has(d.owner, lapsed)] if lapsed else []
        due = [d for d in planned if not self.digests_sent.has(d.owner, today)]
        refused = {d.owner: reason for d in due
                   if (reason := self.digests_sent.refusal(d.owner, today, digest_setting(d.to, smtp))) is not None}
        due = [d for d in due if d.owner not in refused]
        outcomes = send_digests(due, smtp.from_ or "", lambda: SmtpSender(smtp), now,
                                lambda: secrets.token_hex(8), domain, journal, today) if due else {}
        parts, final, retry, unsure = [], list(unknown), [], []
        for d in due:
            out = outcomes[d.owner]
            if out.kind == "sent" or (out.kind == "held" and out.entry is not None and out.entry.state == "sent"):
                # Recorded now, after the send: a crash before this line is settled by the journal.
                self.digest_events.add(d.events)
                self.digests_sent.add([d.owner], today)
                parts.append(d.owner if out.kind == "sent" else _(
                    "{owner} (sent at {at}; the run that sent it stopped before recording it)", owner=d.owner,
                    at=out.entry.done_at or out.entry.tried_at if out.entry else ""))
            elif out.kind == "held":  # an unknown outcome, told as a failure once (above, or by the run that had it)
                if out.entry is None or out.entry.message_id not in {e.message_id for e in untold}:
                    unsure.append(d.owner)
            elif out.kind == "unknown":
                final.append(_("{owner}'s digest may have been sent ({reply}): it is not sent again; check whether "
                               "it arrived", owner=d.owner, reply=out.reply))
            elif out.kind == "permanent":
                self.digests_sent.refuse(d.owner, today, digest_setting(d.to, smtp), out.reply)
                final.append(_("{owner}'s digest to {address} was refused: {reason}; not tried again until [owners] or "
                               "[smtp] changes, or tomorrow's digest", owner=d.owner, address=d.to, reason=out.reply))
            else:
                retry.append(_("{owner}: {reason}", owner=d.owner, reason=out.reply))
        said = [_("digest sent to {owners}", owners=", ".join(parts))] if parts else []
        if parts and late is not None:
            said.append(_("sent late: the digest of {day} was due at {time}", day=day_said(today),
                          time=late.strftime("%H:%M")))
        if missed:
            said.append(_("the digest of {day} never reached {owners}: its retries ran past the next digest, which "
                          "tells today's work instead", day=day_said(lapsed), owners=", ".join(missed)))
        said += [_("{owner}'s digest not sent today: {reason}", owner=o, reason=r) for o, r in sorted(refused.items())]
        if nobody := unaddressed(crm, results, config):
            said.append(_("no digest for {owners}: no address under [owners]", owners=", ".join(nobody)))
        if unsure:
            said.append(_("digest outcome unknown, not sent again: {owners}", owners=", ".join(unsure)))
        for e, note in zip(untold, unknown):
            journal.finish(e.message_id, "intent", now, note)
        if retry:
            raise WorkbookError("; ".join([_("digest not delivered to {owners}; retried with backoff",
                                             owners="; ".join(retry)), *final, *said]))
        if final:
            raise FinalError("; ".join([*final, *said]))
        return JobResult(message="; ".join(said) or _("digests already sent today"))

    def flush_log(self, why: str = AT_EXIT) -> bool:
        """Write the Sync Log rows still waiting, with one read and one write: at exit, and at
        once after a failure or a recovery. A row that cannot be written stays in the queue's
        file for the next write. True when nothing is left waiting. `why` is one of the N_
        phrases below (the log line translates it; the JSON field keeps it as it is)."""
        with speaking(self.spoken):
            return self._flush_log(why)

    def _flush_log(self, why: str) -> bool:
        rows = list(self.pending.rows)
        if not rows:
            return True
        try:
            snapshot = self.book.read()
            plan = Plan()
            plan_log(plan, snapshot, team_config(snapshot, self.config).locale, rows)
            self.book.write(plan)
        except Exception as e:  # the rows are in the log lines on stderr too, and stay queued
            self.logger.error(ngettext("could not write {n} Sync Log row {why}: {error}; it waits in {path}",
                                       "could not write {n} Sync Log rows {why}: {error}; they wait in {path}",
                                       len(rows), why=_(why), error=os_problem(e), path=self.pending.path),
                              exc_info=None if isinstance(e, WorkbookError) else e,
                              extra={"fields": {"event": "log_flush_failed", "rows": len(rows)}})
            return False
        self._logged(rows)
        self.logger.info(ngettext("wrote {n} pending Sync Log row {why} (one read, one write)",
                                  "wrote {n} pending Sync Log rows {why} (one read, one write)", len(rows), why=_(why)),
                         extra={"fields": {"event": "log_flushed", "rows": len(rows), "why": why}})
        return True

    def _config_stale(self) -> str | None:
        """A line saying the config file changed since the start (logged once per change, and
        said in every job's message until a restart), or None when it is as read."""
        source = self.config.source
        if source is None:
            return None
        now = file_bytes(source)
        if now == self._config_read:
            self._config_said = now
            return None
        new = now != self._config_said  # the warning once per change; the line in every job
        if new:
            self._config_said = now
            self._config_problem = restart_problem(source)
        line = (_(CONFIG_CHANGED, file=source) if self._config_problem is None else
                _(self._broken, file=source, problem=self._config_problem))
        if new:
            self.logger.warning(line, extra={"fields": {"event": "config_changed",
                                                        "restart_fails": self._config_problem is not None}})
        return line

    def _log_due(self) -> bool:
        """Whether queued rows must be written now, even by a sync with nothing else to write."""
        return self.log_urgent or self.clock.elapsed() - self.logged_at >= self.log_every

    def _logged(self, rows: list[list[CellValue]]) -> None:
        self.pending.remove(rows)
        self.logged_at = self.clock.elapsed()
        self.log_urgent = False

    # -- running them ----------------------------------------------------------------------

    def run_job(self, job: Job, once: bool = False, *, alone: bool = False) -> bool:
        """Run one job, log it, queue its Sync Log row. Never raises: a failure is a result.
        The job speaks the team's language (`self.spoken`), whatever thread runs it (a context variable
        does not follow a job into a new thread by itself). `once`: a run of `--once`, which
        makes no next try, so a failure promises none. `alone`: `sheetcrm run --once` on this
        one workbook, where a workbook that cannot be read at all (`Unreached`: a missing file,
        Google unreachable, credentials refused) is the command's failure, raised once its Sync
        Log row is queued: one line and exit 2, as every command says it, not a job's failure."""
        with speaking(self.spoken):
            return self._run_job(job, once, alone)

    def _run_job(self, job: Job, once: bool = False, alone: bool = False) -> bool:
        started = time.monotonic()
        # The Sync Log's Time: the team's wall clock, with its offset.
        at = self.clock.wall().astimezone(team_time.team_zone(self.config))
        before = self.counter.count if self.counter else 0
        error: BaseException | None = None
        try:
            result = job.work()
        except Exception as e:
            error, result = e, JobResult(message=str(e) or type(e).__name__)
        duration = round(time.monotonic() - started, 2)
        if (stale := self._config_stale()) is not None:
            result.message = "; ".join(part for part in (result.message, stale) if part)
        requests = self.counter.count - before if self.counter else None
        status = "error" if error else "ok"
        # The Sync Log's Status is read by people: in the team's language; the JSON keeps the code.
        shown = pgettext("sync log status", "error") if error else pgettext("sync log status", "ok")
        self.pending.append([at.isoformat(timespec="milliseconds"), job.name, duration, result.rows_read, result.issues,
                             result.cells_written, requests, shown, result.message])
        if (failed := self.pending.failed) is not None:  # a full disk, a read-only folder: never the job's failure
            self.logger.warning(_(QUEUE_NOT_KEPT, path=self.pending.path, problem=os_problem(failed)),
                                extra={"fields": {"event": "log_queue_failed"}})
        if alone and isinstance(error, Unreached):
            raise error
        recovered = error is None and job.failures > 0
        if error is not None or recovered:
            self.log_urgent = True
        fields = {"job": job.name, "status": status, "duration": duration, "rows_read": result.rows_read,
                  "issues": result.issues, "cells_written": result.cells_written, "requests": requests}
        if error is None:
            if job.failures:
                self.logger.info(ngettext("{job} recovered after {n} failed run", "{job} recovered after {n} failed runs",
                                          job.failures, job=job.name),
                                 extra={"fields": {**fields, "event": "recovered", "failures": job.failures}})
                job.failures = 0
            self.logger.info(_("{job} ok in {seconds} s: {summary}", job=job.name, seconds=_seconds(duration),
                               summary=_summary(result, requests)),
                             extra={"fields": {**fields, "event": "job_done", "detail": result.message}})
            if recovered:
                self.flush_log(AFTER_RECOVERY)
            return True
        job.failures += 1
        final = isinstance(error, FinalError)  # retrying cannot fix it: the job keeps its schedule
        delay = None if once or final else self._delay(job)
        # A WorkbookError is an expected outage (Google down, file locked) and says it all in
        # one line; anything else is a bug, and its traceback is what gets it fixed.
        if delay is None:  # --once: this run is the only try
            said = _("{job} failed: {message}", job=job.name, message=result.message)
        else:
            said = ngettext("{job} failed ({n} in a row): {message}; next try in {seconds} s",
                            "{job} failed ({n} in a row): {message}; next try in {seconds} s", job.failures,
                            job=job.name, message=result.message, seconds=_seconds(delay))
        self.logger.error(said, exc_info=None if isinstance(error, WorkbookError) else error,
                          extra={"fields": {**fields, "event": "job_failed", "detail": result.message,
                                            "failures": job.failures, "retry_in": delay}})
        # At once, so the tab shows the failure; but a sync that could not reach the workbook
        # leaves its row to the next sync, which is the retry anyway (urgent: it writes the row),
        # and so does any job that found Google silent or refusing sheetcrm: trying at once
        # spent a second round of timeouts and logged the same outage twice per failure.
        if final:
            job.failures = 0
        if not (isinstance(error, WorkbookUnreachable) or (job.name == "sync" and isinstance(error, WorkbookError))):
            self.flush_log(AFTER_FAILURE)
        return False

    def run_once(self) -> bool:
        """Every job once, in order, then the Sync Log rows: for cron. True when all succeeded;
        raises Unreached (its Sync Log row queued for the next run) when the workbook cannot be
        read at all."""
        with self._signals(), speaking(self.spoken):
            self._say_unscheduled()
            ok = True
            for job in self.jobs:
                if self._stop_asked():
                    break
                if self.due_once(job):
                    ok = self.run_job(job, once=True, alone=True) and ok
            self.flush_log()  # under the handlers too: see serve()
        return ok

    def _say_unscheduled(self) -> None:
        for job, smtp in self.unscheduled:
            line = (_("{job} is not scheduled: it needs an SMTP server ([smtp] host in the config, or ${env}HOST)",
                      job=job, env=ENV_PREFIX) if smtp else
                    _("{job} is not scheduled: [owners] in the config names no one to send it to", job=job))
            self.logger.warning(line, extra={"fields": {"event": "unscheduled", "job": job}})

    def due_once(self, job: Job) -> bool:
        """Whether a `--once` run (`run_once`, a fleet's) runs `job` now. From cron at every tick,
        the digest goes at its time, not at the first tick of the day (00:05 for an 08:00
        digest); the ledger keeps it to one a day after it. Not due is logged, not run.

        A digest whose time went by with no run (the machine asleep or off over it: cron ran no
        tick then) is due at the next tick, once, as the digest of the day it was due, when digests
        have gone out before it: after a night asleep over a 23:00 digest, the 01:00 tick sent
        nothing ("not due yet") and that day's digest never went out. A first run (an empty
        ledger) still waits for the time, as ever."""
        now, zone = self.clock.wall(), team_time.team_zone(self.config)
        job.covers = None
        if job.name != "digest" or job.every.come_round(now, zone):
            return True
        if job.every.at is not None:
            missed = job.every.last_due(job.every.next_at(now - dt.timedelta(days=8), zone), now, zone)
            sent = self.digests_sent.last_day()
            if missed <= now and sent is not None and sent < team_time.day_of(self.config, missed):
                job.covers = missed
                return True
        self.logger.info(_("{job} not due yet: {when}", job=job.name, when=every_phrase(job.every)),
                         extra={"fields": {"event": "not_due", "job": job.name}})
        return False

    def serve(self) -> None:
        """Run the jobs on their schedule until SIGINT or SIGTERM, then finish the job in flight.

        Intervals and backoffs count elapsed seconds (`team_time.elapsed`), never the wall clock:
        a clock that goes back (the autumn DST change on a machine in local time, a clock set
        back by hand or by NTP) would otherwise hold every job until it caught up again. Those
        seconds go on while the machine sleeps, so a job that fell due during a suspend runs on
        waking, once. Only a job at a time of day reads the wall clock, as an aware moment (`next_run`)."""
        with self._signals(), speaking(self.spoken):
            self._say_unscheduled()
            now = self.clock.elapsed()
            for job in self.jobs:
                # Interval jobs start right away; a job at a time of day waits for it.
                job.due, job.due_at = now, (None if job.every.at is None else self.next_run(job))
                self.logger.info(_("{job}: {when}", job=job.name, when=every_phrase(job.every)),
                                 extra={"fields": {"event": "scheduled", "job": job.name}})
            while not self._stop_asked():
                for job in self.due_order():
                    if self._stop_asked():
                        break
                    if self._wait(job) <= 0:
                        zone = team_time.team_zone(self.config)
                        job.covers = (None if job.due_at is None else
                                      job.every.last_due(job.due_at, self.clock.wall(), zone))
                        self.run_job(job)
                        if job.failures:  # the backoff, in elapsed seconds
                            job.due, job.due_at = self.clock.elapsed() + self._delay(job), None
                        elif job.every.at is not None:
                            job.due_at = self.next_run(job)
                        else:
                            job.due = self.clock.elapsed() + job.every.period
                # Capped, so a wall clock that jumps (suspend, NTP) is noticed within a minute.
                self._rest(min(max(min(self._wait(j) for j in self.jobs), 0.0), 60.0))
            self.logger.info(_("stopping: no job in flight"), extra={"fields": {"event": "stopping"}})
            # Still under the handlers: this write can wait on a dead network as long as a job,
            # and a second signal here is the exit 130 promised, where the default handler
            # killed the process with no line (SIGTERM) after the first one had asked to stop.
            self.flush_log()

    def due_order(self) -> list[Job]:
        """The jobs in the order to look at them: soonest due first, and the jobs already due in
        their configured order (sync, outbox, digest). Sorted by the wait alone, read an instant
        apart for each job, the jobs due together at the start ran in reverse: the digest and
        the outbox before the sync that brings the sheet up to date."""
        return sorted(self.jobs, key=lambda job: max(self._wait(job), 0.0))

    def _wait(self, job: Job) -> float:
        """Seconds until `job` is due (zero or less: due now)."""
        if job.due_at is not None:
            return (job.due_at - self.clock.wall()).total_seconds()
        return job.due - self.clock.elapsed()

    def next_run(self, job: Job, now: dt.datetime | None = None) -> dt.datetime:
        """When `job`, at a time of day, is next due after the aware moment `now` (default: now):
        its time on the team's wall clock (`Every.next_at`), as an aware UTC moment."""
        now = now or self.clock.wall()
        return job.every.next_at(now, team_time.team_zone(self.config))

    def _stop_asked(self) -> bool:
        if self._signalled:
            self.stopping.set()  # here, in the loop: never from the signal handler
        return self.stopping.is_set()

    def _rest(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking within REST_SLICE of a signal (a handler only sets a
        flag; see __init__)."""
        end = self.clock.elapsed() + seconds
        while not self._stop_asked() and (left := end - self.clock.elapsed()) > 0:
            self.clock.sleep(min(left, REST_SLICE))

    def _delay(self, job: Job) -> float:
        return min(self.config.schedule.max_backoff_seconds, job.every.period * 2 ** job.failures)

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM ask for a stop once the job in flight is done; a second one
        stops at once (exit 130), for a job stuck on a dead network."""
        def stop(signum: int, _frame: Any) -> None:
            if self._signalled:
                raise SystemExit(130)
            self.logger.info(_("{signal}: stopping after the job in flight", signal=signal.Signals(signum).name),
                             extra={"fields": {"event": "signal", "signal": signal.Signals(signum).name}})
            self._signalled = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def restart_problem(source: Path) -> str | None:
    """The one line a restart of `sheetcrm run` would stop with at the config file `source` as it
    is now (its TOML, its settings, a half-set [smtp]), or None when it would start."""
    try:
        config = load_config(source)
        if config.smtp.host or os.environ.get(f"{ENV_PREFIX}HOST"):
            smtp_settings(config.smtp)
    except ConfigError as e:
        return str(e)
    return None


def file_bytes(path: Path | None) -> bytes | None:
    """A file's bytes; None without a file, or one that cannot be read (deleted meanwhile)."""
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def _summary(result: JobResult, requests: int | None) -> str:
    parts = []
    if result.rows_read is not None:
        parts.append(ngettext("{n} row read", "{n} rows read", result.rows_read))
    if result.cells_written is not None:
        parts.append(ngettext("{n} cell written", "{n} cells written", result.cells_written))
    if requests is not None:
        parts.append(ngettext("{n} request", "{n} requests", requests))
    if result.message:
        parts.append(result.message)
    return ", ".join(parts)


def _seconds(value: float) -> str:
    """A duration in seconds as people of the current language write it: 1.5 / 1,5."""
    return format_decimal(cells.half_up(value, 2), "#,##0.##", locale=current())


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EVERY = {
    "seconds": lambda n: ngettext("every second", "every {n} seconds", n),
    "minutes": lambda n: ngettext("every minute", "every {n} minutes", n),
    "hours": lambda n: ngettext("every hour", "every {n} hours", n),
    "days": lambda n: ngettext("every day", "every {n} days", n),
    "weeks": lambda n: ngettext("every week", "every {n} weeks", n),
}


def every_phrase(every: Every) -> str:
    """A schedule in words of the current language: "every 5 minutes", "cada lunes a las 09:30"."""
    if every.unit in _WEEKDAYS:
        # Babel's day names (CLDR), Monday = 0.
        when = _("every {day}", day=get_day_names("wide", locale=current())[_WEEKDAYS.index(every.unit)])
    else:
        when = _EVERY.get(every.unit, lambda n: f"{n} {every.unit}")(every.interval)
    return _("{when} at {time}", when=when, time=every.at) if every.at else when
