"""A sync: one read, pure planning, one write.

    snapshot = book.read()
    crm, results, plan = plan_sync(snapshot, config, as_of)   # pure: no I/O, no clock
    book.write(plan)                                 # skipped when the plan is empty

`plan_sync` reads the records and runs the steps of `sheetcrm.steps` in their declared order;
each capability is one step (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Sequence

from sheetcrm import parse_cache, team_time, written_file
from sheetcrm.collector import paused_collector
from sheetcrm.config import Config
from sheetcrm.crm.learned import FitCache
from sheetcrm.crm.workflows import TemplateShelf
from sheetcrm.engine import Results
from sheetcrm.i18n import _, ngettext, using
from sheetcrm.ids import recorded_marks
from sheetcrm.intake.queue import WebBatch
from sheetcrm.mail.outbox import template_shelf
from sheetcrm.lock import lock_dir, workbook_key
from sheetcrm.owned import TAB_NAME_TAKEN
from sheetcrm.parse_cache import RowMemo
from sheetcrm.steps import STEPS, USES_WORLD, Step, SyncContext
from sheetcrm.validate import Crm, read_crm, team_config
from sheetcrm.warehouse import behind
from sheetcrm.warehouse.keep import Archive, cutoff
from sheetcrm.warehouse.settings import Mirrored, WarehouseError, WarehouseSettings
from sheetcrm.workbook import CellValue, Plan, Snapshot, Workbook, WorkbookConflict, WriteResult, xlsx_memo
from sheetcrm.workbook.xlsx import XlsxWorkbook


PHASES = ("reading", "validating", "computing", "writing")
ProgressHook = Callable[[str, int, "int | None"], None]
"""How a sync says how far it is, for a progress bar (the CLI's: sheetcrm.show): `hook(phase,
done, total)` with the phases of PHASES in that order (a sync that writes nothing has no
"writing"; one read again after a conflicting save starts over at "reading"). Each phase
reports done=0 when it starts and done=total when it ends; "computing" also reports each
step of `steps.STEPS` done. Phase names are identifiers, not words for people."""


def _no_progress(phase: str, done: int, total: int | None) -> None:
    pass


@dataclass
class SyncOutcome:
    crm: Crm
    results: Results
    plan: Plan
    result: WriteResult | None = None  # None when nothing was written (dry run or empty plan)
    dry_run: bool = False
    workflows: Any = None  # what the workflow rules fired (steps.workflows.Fired), None with no rules
    # The rows this sync validated (.parsed) and took from the parse cache (.reused); None without it.
    memo: RowMemo | None = None
    mirrored: Mirrored | None = None   # what the warehouse mirror did (warehouse.mirror.Mirrored), None with no [warehouse]
    # Rows `[warehouse] keep_months` took out of the sheet this sync, the warehouse holding them:
    # "stage_history", "lead_status_history", "sync_log" -> rows (planned, on a dry run).
    trimmed: dict[str, int] = dataclasses.field(default_factory=dict)

    @property
    def stepped_aside(self) -> list[tuple[str, str]]:
        """(team's tab, sheetcrm's tab) for each of sheetcrm's tabs this plan creates under another
        name because a team's tab has the usual one: what the command says, once."""
        return [(i.tab, i.value) for i in self.crm.report.issues
                if i.code == TAB_NAME_TAKEN and i.value in self.plan.new_tabs]

    @property
    def cells_written(self) -> dict[str, int]:
        if self.result is None:
            return {}
        return dict(self.result.written)

    def as_dict(self) -> dict[str, Any]:
        written = self.cells_written
        return {
            "dry_run": self.dry_run,
            "as_of": self.results.as_of.isoformat(),
            "valid": self.crm.report.valid,
            "new_tabs": list(self.plan.new_tabs),
            "planned": {"cells": self.plan.cells_by_tab(), "total": len(self.plan.writes),
                        "rows_removed": self.plan.deletes_by_tab(), "references_moved": self.plan.replaced_by_tab()},
            "cells_written": {"tabs": written, "total": sum(written.values())},
            "rows_removed": dict(self.result.deleted) if self.result else {},
            "references_moved": dict(self.result.replaced) if self.result else {},
            "skipped": len(self.result.skipped) if self.result else 0,
            "write_warnings": list(self.result.warnings) if self.result else [],
            "stats": self.crm.stats(),
            "scoring": {"method": self.results.scoring.method, "note": self.results.scoring.note},
            "issues": [i.as_dict() for i in self.crm.report.issues],
            "warehouse": _mirrored_dict(self.mirrored) if self.mirrored is not None else None,
            "trimmed": dict(self.trimmed),
        }


def _mirrored_dict(mirrored: Mirrored) -> dict[str, Any]:
    """`Mirrored` for `sync --format json`: `behind` as {"syncs", "since" (ISO, UTC)} or null."""
    out = dataclasses.asdict(mirrored)
    if mirrored.behind is not None:
        out["behind"] = {"syncs": mirrored.behind.syncs, "since": mirrored.behind.since.isoformat()}
    return out


def plan_sync(snapshot: Snapshot, config: Config, as_of: dt.date,
              log_rows: Sequence[Sequence[CellValue]] = (), log_now: bool = False, *,
              sent_versions: Collection[str] = (), progress: ProgressHook = _no_progress,
              web: WebBatch | None = None, templates: TemplateShelf | None = None,
              memo: RowMemo | None = None, archive: Archive | None = None) -> tuple[Crm, Results, Plan]:
    """The read (`validate.read_crm`), then every step of `sheetcrm.steps.STEPS` in its order.

    `log_rows` are Sync Log rows waiting to be written (`sheetcrm run` keeps them); they
    ride along when the plan writes anyway, and cost a write of their own only with `log_now`
    (the service's `[schedule] log` interval is up, or a row reports a failure or a recovery).
    `sent_versions` are the quote versions the outbox journal holds (`Journal.versions_held`):
    a ticked quote of such a version is not queued again, even with no Outbox row left.
    `templates` are the email templates a workflow rule may name (`mail.outbox.template_shelf`,
    read by the caller); without them a rule's Template is not checked at the sync.
    `progress` hears the "validating" and "computing" phases (ProgressHook). With no `locale`
    in the config file, the workbook's language decides what it writes (`validate.team_config`).
    `memo` (parse_cache.RowMemo): rows an earlier sync validated, reused where their cells are
    the same and filled with this read's; the plan is the same with or without it.
    `archive`: what the warehouse holds of the history the sheet gave up (`read_archive`), so
    the calibration counts it (`[warehouse] keep_months`)."""
    ctx = plan_context(snapshot, config, as_of, log_rows, log_now, sent_versions=sent_versions, progress=progress,
                       web=web, templates=templates, memo=memo, archive=archive)
    assert ctx.results is not None  # the compute step is one of STEPS
    return ctx.crm, ctx.results, ctx.plan


def plan_context(snapshot: Snapshot, config: Config, as_of: dt.date,
                 log_rows: Sequence[Sequence[CellValue]] = (), log_now: bool = False, *,
                 sent_versions: Collection[str] = (), progress: ProgressHook = _no_progress,
                 web: WebBatch | None = None, templates: TemplateShelf | None = None,
                 fit_cache: FitCache | None = None, memo: RowMemo | None = None,
                 archive: Archive | None = None, book_id: int = 0) -> SyncContext:
    """`plan_sync`, with everything the steps left on the context (what the workflows fired).
    `fit_cache`: learned-model fits a long-lived caller keeps between syncs (`sheetcrm run`);
    `memo`: the rows an earlier sync parsed (`parse_cache`), reused where their cells are the same;
    `archive`: what the warehouse holds of the history (`read_archive`), for `keep_months`;
    `book_id`: the number naming the workbook's written-cells state, should it need one
    (`written_file.new_id`; 0: none)."""
    config = team_config(snapshot, config)
    with using(config.locale), paused_collector():  # every issue, cell and word in the team's language
        progress("validating", 0, 1)
        crm = read_crm(snapshot, config, memo=memo)
        progress("validating", 1, 1)
        assert crm.inputs is not None
        ctx = SyncContext(snapshot, config, as_of, crm, log_rows=log_rows, log_now=log_now,
                          sent_versions=sent_versions, marks=dict(crm.inputs.sequences), web=web,
                          templates=templates, fit_cache=fit_cache, memo=memo, archive=archive,
                          book_id=book_id)
        # After the context took the marks as read, so the sequences step writes them back.
        ctx.marks.update(recorded_marks(snapshot, crm.tables.values(), ctx.marks))
        progress("computing", 0, len(STEPS))
        run_steps(ctx, STEPS, lambda done: progress("computing", done, len(STEPS)))
        ctx.plan.header_rows.update({table.title: table.header.row for table in crm.tables.values()})
    return ctx


def run_steps(ctx: SyncContext, steps: Sequence[Step], done: Callable[[int], None] | None = None) -> None:
    """Each step in order, its part joining the context before the next one runs; `done`
    hears how many steps are done after each. The World goes once no step left uses it
    (`steps.USES_WORLD`)."""
    last = max((n for n, step in enumerate(steps, 1) if step in USES_WORLD), default=0)
    for n, step in enumerate(steps, 1):
        ctx.add(step(ctx))
        if n == last:
            ctx.world = None
        if done is not None:
            done(n)


ATTEMPTS = 3  # reads and plans before a workbook that keeps changing is reported


def fits_path(book: Workbook) -> Path | None:
    """Where the learned model's fits of `book` are kept (`crm.learned.FitCache`), beside its
    lock; None for a workbook with no place (in memory)."""
    try:
        key = workbook_key(book)
    except AttributeError:
        return None
    return lock_dir() / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.fits.json"


def read_fits(book: Workbook) -> FitCache:
    """The fits an earlier sync kept; none (a fit to make) when missing or unreadable. Their
    file's time is renewed, so a prune of unused caches (`parse_cache.prune`) keeps the fits
    of a workbook whose syncs refit nothing."""
    path = fits_path(book)
    if path is None:
        return FitCache()
    try:
        fits = FitCache.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return FitCache()
    try:
        os.utime(path)
    except OSError:
        pass
    return fits


def keep_fits(book: Workbook, cache: FitCache) -> None:
    """Written whole and renamed into place; a failure only costs the next sync a fit."""
    path = fits_path(book)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_text(cache.dumps(), encoding="utf-8")
        os.replace(part, path)
    except OSError:
        pass


def sync(book: Workbook, config: Config, as_of: dt.date | None = None, dry_run: bool = False,
         attempts: int = ATTEMPTS, *, sent_versions: Collection[str] = (),
         progress: ProgressHook = _no_progress, web: WebBatch | None = None,
         fit_cache: FitCache | None = None, cache: Path | None | bool = True) -> SyncOutcome:
    """Read, plan, write. When the workbook was saved by someone else between the read and the
    write (WorkbookConflict), nothing was written: read and plan again from the new file, up
    to `attempts` times, then raise WorkbookConflict with one line for the user. `progress`
    hears each phase (ProgressHook). The workflow rules' email templates are read first
    (`template_shelf`), so a rule naming a missing or broken one is told at its cell.
    Without `fit_cache`, the learned model's fits are read from beside the lock and kept there
    when this sync made a new one (`read_fits`, `keep_fits`).

    `cache`: the tabs and rows the last sync of this workbook parsed (`parse_cache`) are read
    from the memo file beside its lock (True; or that file in the folder given), and what this
    sync parsed is saved there once it is planned, so only changed tabs are parsed and only
    their changed rows validated again; False reads and saves none. The outcome is the same
    either way."""
    day = as_of or team_time.today(config)
    templates = template_shelf(config)
    kept = fit_cache is None
    fits = read_fits(book) if fit_cache is None else fit_cache
    path = _memo_path(book, cache)
    memo = parse_cache.load(path) if path is not None else None
    if isinstance(book, XlsxWorkbook):
        book.remember_grids(xlsx_memo.memo_path(path) if path is not None else None)
    archive = read_archive(config, book, day)
    book_id = written_file.new_id(book)
    for attempt in range(1, attempts + 1):
        progress("reading", 0, 1)
        read_at = dt.datetime.now(dt.timezone.utc)
        with paused_collector():  # a million cells made and kept: no cycle to find among them
            snapshot = book.read()
        snapshot.read_at = read_at
        progress("reading", 1, 1)
        if path is not None and memo is not None:
            written_file.recall(memo, path.parent, book, snapshot)
        ctx = plan_kept(lambda held: plan_context(snapshot, config, day, sent_versions=sent_versions,
                                                  progress=progress, web=web, templates=templates,
                                                  fit_cache=fits, memo=memo, archive=held, book_id=book_id),
                        archive, config, dry_run)
        if kept and fits.misses:
            keep_fits(book, fits)
            fits.misses = 0
        assert ctx.results is not None  # the compute step is one of STEPS
        if path is not None and memo is not None:
            _save_memo(path, memo)
            if not dry_run:
                # A dry run writes no computed cell: the last real sync's state is still the
                # truth (and a cache it cannot write in is no news to a run that writes nothing).
                written_file.keep(memo, path.parent, book, ctx.marks_read, ctx.marks)
        plan = ctx.plan
        outcome = SyncOutcome(ctx.crm, ctx.results, plan, dry_run=dry_run, workflows=ctx.workflows, memo=memo,
                              trimmed=ctx.trimmed.counts())
        if not plan or dry_run:
            if not dry_run:
                outcome.mirrored = mirror_sync(ctx, None, book)
            return _finished(outcome)
        try:
            progress("writing", 0, 1)
            outcome.result = book.write(plan)
            progress("writing", 1, 1)
            outcome.mirrored = mirror_sync(ctx, outcome.result, book)
            return _finished(outcome)
        except WorkbookConflict as e:
            if attempt == attempts:
                if not isinstance(book, XlsxWorkbook):  # another sync wrote (Google): nothing to save
                    raise WorkbookConflict(ngettext("{error} ({n} attempt); run the sync again",
                                                    "{error} ({n} attempts); run the sync again",
                                                    attempts, error=e)) from None
                raise WorkbookConflict(ngettext("{error} ({n} attempt); run the sync again when it is saved",
                                                "{error} ({n} attempts); run the sync again when it is saved",
                                                attempts, error=e)) from None
            memo = memo.fresh() if memo is not None else None
    raise AssertionError("unreachable")


def _finished(outcome: SyncOutcome) -> SyncOutcome:
    """The outcome as `sync` returns it: its memo, kept for its counts, lets go of its entries
    (`RowMemo.forget`), so a caller that keeps outcomes keeps no memo file open."""
    if outcome.memo is not None:
        outcome.memo.forget()
    return outcome


def _memo_path(book: Workbook, cache: Path | None | bool) -> Path | None:
    """Where the parse memo of `book` lives (beside its lock file), None without a cache or for a
    workbook with no lasting identity (the in-memory one)."""
    if cache is False or cache is None:
        return None
    try:
        key = workbook_key(book)
    except (AttributeError, TypeError):
        return None
    return parse_cache.memo_path(lock_dir() if cache is True else Path(cache), key)


def last_memo(book: Workbook, snapshot: Snapshot) -> RowMemo | None:
    """The parse memo the last sync of `book` left beside its lock, with the state of what
    sheetcrm wrote in its computed cells (`written_file`) for the workbook as read in
    `snapshot`, to read and never save (`sheetcrm validate`): with it a check reports what a
    sync would, the cells a person typed over sheetcrm's computed ones included, and parses
    only what changed. None for a workbook with no place."""
    path = _memo_path(book, True)
    if path is None:
        return None
    memo = parse_cache.load(path)
    written_file.recall(memo, path.parent, book, snapshot)
    return memo


def _save_memo(path: Path, memo: RowMemo) -> None:
    """Saved once planned, whatever the write then does: an entry is keyed by the cells it was
    parsed from, not by what the workbook holds, so a failed or skipped write, a conflicting
    save or a dry run cannot make it wrong. A no-op that parsed no tab anew has nothing new to
    save."""
    if memo.worth_saving:
        parse_cache.save(path, memo)


# The mirror's lines go where `sheetcrm run` logs (sheetcrm.logs), else to stderr.
WAREHOUSE_LOG = logging.getLogger("sheetcrm.run.warehouse")


def read_archive(config: Config, book: Workbook, as_of: dt.date, syncing: bool = True) -> Archive | None:
    """Before planning, with `[warehouse] keep_months`: what the warehouse holds of the workbook's
    history and Sync Log (`warehouse.mirror.archive`), handed to the plan as data. None without
    keep_months, or when the warehouse cannot be read: logged as one line (URL masked), and then
    nothing leaves the sheet this sync. `syncing` False: a command that writes nothing (validate,
    kpis, forecast), whose line says what it loses instead, there being no "this sync". Never raises."""
    settings = config.warehouse
    if settings is None or settings.keep_months is None:
        return None
    with using(config.locale):
        try:
            from sheetcrm.warehouse.mirror import archive

            # The workbook's ARCHIVE_ID, should it need one: drawn here, the core draws nothing.
            return archive(settings, warehouse_source(book), cutoff(as_of, settings.keep_months),
                           new_id=secrets.randbelow(2**31 - 1) + 1)
        except Exception as e:  # the sync goes on keeping every row; the mirror says the rest
            detail = str(e) if isinstance(e, WarehouseError) else f"{type(e).__name__}: {e}"
            WAREHOUSE_LOG.warning(_("{problem}; the sheet keeps its older history rows this sync",
                                    problem=detail) if syncing else
                                  _("{problem}; the stage calibration counts only the history rows the sheet "
                                    "holds", problem=detail))
            return None


def plan_kept(plan: Callable[[Archive | None], SyncContext], archive: Archive | None, config: Config,
              dry_run: bool = False) -> SyncContext:
    """`plan(archive)`; when that plan removes history rows (`keep_months`), they are first marked
    in the warehouse as given up (`warehouse.mirror.mark_trimmed`), so the calibration finds them
    later; if that fails, `plan` again removing nothing (logged as one line). A dry run marks
    nothing. Never raises for the warehouse."""
    ctx = plan(archive)
    trimmed = ctx.trimmed
    if archive is None or dry_run or not (trimmed.stage or trimmed.lead) or config.warehouse is None:
        return ctx
    with using(config.locale):
        try:
            from sheetcrm.warehouse.mirror import mark_trimmed

            mark_trimmed(config.warehouse, trimmed, ctx.as_of)
            return ctx
        except Exception as e:
            detail = str(e) if isinstance(e, WarehouseError) else f"{type(e).__name__}: {e}"
            WAREHOUSE_LOG.warning(_("{problem}; the sheet keeps its older history rows this sync",
                                    problem=detail))
    return plan(archive.holding_nothing())


def warehouse_source(book: Workbook) -> str:
    """How the warehouse's mark names a workbook: a Google spreadsheet's key, an .xlsx file's
    absolute path (the same in every language, unlike `describe`)."""
    key = getattr(book, "key", None)
    if isinstance(key, str):
        return f"google:{key}"  # not for people: an identifier
    path = getattr(book, "path", None)
    return str(Path(path).resolve()) if path is not None else book.describe()


def mirror_sync(ctx: SyncContext, result: WriteResult | None, book: Workbook,
                now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc)) -> Mirrored | None:
    """After the write: the workbook as the sync left it, into the [warehouse] (sheetcrm.warehouse),
    in one transaction. None with no [warehouse]. Never raises: a failure is logged as one line
    (URL masked) and the next sync catches up; so is a write some of whose cells were skipped
    (rows changed meanwhile), since what it left is not what was planned. From the second
    failure in a row, the line (and `Mirrored.behind`) says how many and since when
    (`warehouse.behind`, a file beside the lock)."""
    settings = ctx.config.warehouse
    if settings is None:
        return None
    # How many mirrors failed in a row before this one: a failure that recurs says so.
    path, moment = behind.path_for(workbook_key(book)), now()
    mirrored = _mirror(ctx, result, book, settings, behind.read(path), moment)
    count = behind.after(path, mirrored.outcome, moment)
    if mirrored.outcome == "failed" and count is not None and count.syncs > 1:
        mirrored.behind = count
    return mirrored


def _mirror(ctx: SyncContext, result: WriteResult | None, book: Workbook, settings: WarehouseSettings,
            before: behind.Behind | None, now: dt.datetime) -> Mirrored:
    with using(ctx.config.locale):
        try:
            from sheetcrm.warehouse.mirror import behind_line, mirror
            from sheetcrm.warehouse.rows import batch_of
        except ImportError as e:
            line = _("the [warehouse] section needs the warehouse extra ({module} is missing): "
                     "pip install '.[warehouse]' in sheetcrm's folder (the clone it was installed from), or pip "
                     "install 'sheetcrm[warehouse]'", module=e.name or e)
            WAREHOUSE_LOG.warning(line)
            return Mirrored("failed", attempts=0, error=line, lasting=True)  # no later sync installs it
        if result is not None and result.skipped:
            WAREHOUSE_LOG.info(_("warehouse not mirrored: some cells were skipped (rows changed meanwhile); "
                                 "the next sync mirrors them"))
            return Mirrored("behind", attempts=0)
        try:
            batch = batch_of(ctx)
        except Exception as e:  # the workbook is written: whatever goes wrong here is the mirror's alone
            detail = f"{type(e).__name__}: {e}"
            line = (_("{problem}; not mirrored, caught up on the next sync", problem=detail) if before is None
                    else behind_line(detail, before.syncs + 1, before.since, team_time.team_zone(ctx.config)))
            WAREHOUSE_LOG.warning(line)
            return Mirrored("failed", attempts=0, error=line)
        for cell, length in batch.too_long:
            WAREHOUSE_LOG.warning(_("warehouse: {cell} is {length} characters long, too long for the database's key; "
                                    "that row is not mirrored until it is shortened", cell=cell, length=length))
        for cell in batch.nul:
            WAREHOUSE_LOG.warning(_("warehouse: {cell} holds a NUL character (an invisible control character), which "
                                    "PostgreSQL cannot store; that row is not mirrored until the character is deleted",
                                    cell=cell))
        return mirror(settings, batch, warehouse_source(book), ctx.as_of, now, behind=before,
                      zone=team_time.team_zone(ctx.config))
