"""Draining the website form's queue into the workbook: one sync with the waiting submissions,
then each one the workbook now holds marked appended (`intake.queue`)."""

from __future__ import annotations

from sheetcrm.config import Config
from sheetcrm.intake.queue import WebBatch, WebQueue
from sheetcrm.sync import sync
from sheetcrm.workbook import Workbook


def drain(book: Workbook, config: Config, queue: WebQueue) -> int:
    """Sync `book` with the queue's waiting submissions; how many were marked appended. Raises
    what `sync` raises (WorkbookError: Google unreachable, a locked file): nothing is marked
    then, and every submission keeps waiting. The caller holds the workbook's lock."""
    batch = WebBatch(queue.waiting())
    if not batch.waiting:
        return 0
    outcome = sync(book, config, web=batch)
    done = batch.appended(outcome.result.skipped if outcome.result is not None else None)
    queue.mark(done)
    return len(done)
