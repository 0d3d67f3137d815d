"""The parse memo's folder does not grow with every workbook ever synced: a memo no sync has
loaded or saved for `parse_cache.UNUSED_DAYS` is removed when a sync saves another, and one in
use, even by syncs that save nothing, stays."""

from __future__ import annotations

import datetime as dt
import os
import time

from sheetcrm import parse_cache
from sheetcrm.config import Config
from sheetcrm.lock import workbook_key
from sheetcrm.starter import demo_config, write_demo
from sheetcrm.sync import sync
from sheetcrm.workbook import xlsx_memo
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 23)
DAY = 86400


def _age(path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def _book(path):
    """A demo workbook and the config its own sync runs with."""
    book = XlsxWorkbook(path)
    data = write_demo(book, rows=20, seed=5, today=AS_OF)
    return book, demo_config(Config(), data)


def test_a_memo_unused_for_a_month_goes_when_another_is_saved_and_nothing_else_does(tmp_path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    gone = cache / ("a" * 24 + parse_cache.SUFFIX)  # a workbook deleted a month ago
    recent = cache / ("b" * 24 + parse_cache.SUFFIX)  # one synced four weeks ago
    others = [cache / ("c" * 24 + ".lock"), cache / "notes.rows", cache / ("d" * 24 + ".fits.json")]
    for path in (gone, recent, *others):
        path.write_bytes(b"x")
        _age(path, parse_cache.UNUSED_DAYS + 1)
    _age(recent, parse_cache.UNUSED_DAYS - 2)

    book, config = _book(tmp_path / "crm.xlsx")
    sync(book, config, as_of=AS_OF, cache=cache)  # a first sync: its memo is saved

    mine = parse_cache.memo_path(cache, workbook_key(book))
    assert mine.exists()
    assert not gone.exists()
    assert recent.exists() and all(p.exists() for p in others)


def test_a_memo_a_no_op_sync_loads_is_kept_though_it_saves_nothing(tmp_path) -> None:
    cache = tmp_path / "cache"
    book, config = _book(tmp_path / "crm.xlsx")
    for _ in range(4):  # until a sync plans nothing and saves no memo
        outcome = sync(book, config, as_of=AS_OF, cache=cache)
    assert not outcome.plan
    mine = parse_cache.memo_path(cache, workbook_key(book))
    _age(mine, parse_cache.UNUSED_DAYS + 5)

    quiet = sync(book, config, as_of=AS_OF, cache=cache)  # loads it, writes nothing, saves nothing
    assert not quiet.plan and quiet.memo is not None and quiet.memo.parsed == 0
    assert time.time() - mine.stat().st_mtime < DAY

    other, other_config = _book(tmp_path / "other.xlsx")
    sync(other, other_config, as_of=AS_OF, cache=cache)  # saves its own memo, which prunes
    assert mine.exists()
    # A month on, both are unused: both go, and only they.
    later = time.time() + (parse_cache.UNUSED_DAYS + 1) * DAY
    theirs = parse_cache.memo_path(cache, workbook_key(other))
    # Each with the grid memo of its .xlsx beside it (workbook.xlsx_memo).
    assert set(parse_cache.prune(cache, later)) == {mine, theirs, xlsx_memo.memo_path(mine),
                                                     xlsx_memo.memo_path(theirs)}


def test_a_folder_that_cannot_be_read_prunes_nothing(tmp_path) -> None:
    assert parse_cache.prune(tmp_path / "missing", time.time()) == []
