"""The parse memo's folder does not grow with every workbook ever synced: a memo (and the learned
model's fits beside it) no sync has loaded or saved for `parse_cache.UNUSED_DAYS` is removed when
a sync saves another, and one in use, even by syncs that save nothing, stays; so does the temp
file of a save a kill cut short, once a day old."""

from __future__ import annotations

import datetime as dt
import os
import time

from sheetcrm import parse_cache
from sheetcrm.config import Config
from sheetcrm.lock import workbook_key
from sheetcrm.starter import demo_config, write_demo
from sheetcrm.crm.learned import FitCache
from sheetcrm.sync import fits_path, sync
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
    gone_fits = cache / ("a" * 24 + ".fits.json")
    killed = [cache / ("e" * 24 + ".rowsk3_x9ab.tmp"), cache / ("e" * 24 + ".grids0qz_1w2e.tmp"),
              cache / ("e" * 24 + ".fits.json.part")]  # saves killed before their rename, two days ago
    saving = cache / ("f" * 24 + ".rowsq1w2e3r4.tmp")  # a save under way in another process
    others = [cache / ("c" * 24 + ".lock"), cache / "notes.rows", cache / ("c" * 24 + ".journal.json"),
              cache / ("c" * 24 + ".warehouse.json"), cache / "notes.tmp", saving]
    for path in (gone, recent, gone_fits, *killed, *others):
        path.write_bytes(b"x")
        _age(path, parse_cache.UNUSED_DAYS + 1)
    _age(recent, parse_cache.UNUSED_DAYS - 2)
    for path in killed:
        _age(path, 2)
    _age(saving, 0.01)

    book, config = _book(tmp_path / "crm.xlsx")
    sync(book, config, as_of=AS_OF, cache=cache)  # a first sync: its memo is saved

    mine = parse_cache.memo_path(cache, workbook_key(book))
    assert mine.exists()
    assert not gone.exists() and not gone_fits.exists() and not any(p.exists() for p in killed)
    assert recent.exists() and all(p.exists() for p in others)


def test_a_memo_a_no_op_sync_loads_is_kept_though_it_saves_nothing(tmp_path) -> None:
    cache = tmp_path / "cache"
    book, config = _book(tmp_path / "crm.xlsx")
    for _ in range(4):  # until a sync plans nothing and saves no memo
        outcome = sync(book, config, as_of=AS_OF, cache=cache)
    assert not outcome.plan
    mine = parse_cache.memo_path(cache, workbook_key(book))
    _age(mine, parse_cache.UNUSED_DAYS + 5)

    fits = fits_path(book)
    fits.parent.mkdir(parents=True, exist_ok=True)
    fits.write_text(FitCache().dumps(), encoding="utf-8")  # beside the lock, as the sync keeps them
    _age(fits, parse_cache.UNUSED_DAYS + 5)

    quiet = sync(book, config, as_of=AS_OF, cache=cache)  # loads it, writes nothing, saves nothing
    assert not quiet.plan and quiet.memo is not None and quiet.memo.parsed == 0
    assert time.time() - mine.stat().st_mtime < DAY
    assert time.time() - fits.stat().st_mtime < DAY  # read, so renewed: a prune keeps it

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
