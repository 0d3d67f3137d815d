"""Draining the website form's queue into the workbook: one sync with the waiting submissions,
then each one the workbook now holds marked appended (`intake.queue`)."""

from __future__ import annotations

from sheetcrm.config import Config
from sheetcrm.intake.queue import QueueError, WebBatch, WebQueue
from sheetcrm.lock import AppLocked
from sheetcrm.sync import sync
from sheetcrm.workbook import Workbook, WorkbookConflict, WorkbookError
from sheetcrm.workbook.xlsx import ReadOnlyWorkbook


def drain(book: Workbook, config: Config, queue: WebQueue) -> int:
    """Sync `book` with the queue's waiting submissions; how many were marked appended.

    A submission no cell can take (`intake.text`: too long, control characters) is set aside
    by the forms step, with its reason. When the sync fails, a sync without the submissions
    tells why: it fails too (Google unreachable, a locked file) -> that error is raised,
    as it is at once when the workbook refuses every write (open in an app, read-only),
    nothing is marked and every submission keeps waiting; it succeeds -> a submission is the
    cause, so each is synced alone and the ones that still fail are set aside with the error,
    never blocking the others. The caller holds the workbook's lock."""
    batch = WebBatch(queue.waiting())
    if not batch.waiting:
        return 0
    try:
        return _sync(book, config, queue, batch)
    except (WorkbookConflict, AppLocked, ReadOnlyWorkbook):
        # The workbook refuses any write: no submission is the cause. (The sync without them
        # below could not tell: with nothing else to write, it writes nothing and succeeds.)
        raise
    except WorkbookError as failure:
        if isinstance(failure, QueueError):
            raise
        sync(book, config)  # raises when the workbook, not a submission, is the trouble
        done = 0
        for sub in batch.waiting:
            try:
                done += _sync(book, config, queue, WebBatch([sub]))
            except (WorkbookConflict, AppLocked, ReadOnlyWorkbook):
                raise
            except WorkbookError as e:
                if isinstance(e, QueueError):
                    raise
                queue.set_aside([(sub.receipt, str(e))])
        return done


def _sync(book: Workbook, config: Config, queue: WebQueue, batch: WebBatch) -> int:
    outcome = sync(book, config, web=batch)
    done = batch.appended(outcome.result.skipped if outcome.result is not None else None)
    queue.set_aside(batch.refused)
    queue.mark(done)
    return len(done)
