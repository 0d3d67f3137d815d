"""Issue 16: a sync plans the same with and without the learned model's fit cache, and the
cache is used when the decided leads did not change (as `sheetcrm run` keeps it)."""

from __future__ import annotations

import datetime as dt

from books import xlsx_book

import sheetcrm.crm.learned as learned
from sheetcrm.config import Config
from sheetcrm.crm.learned import FitCache
from sheetcrm.demo import generate
from sheetcrm.sync import fits_path, plan_context, sync
from sheetcrm.workbook import Grid, Snapshot

AS_OF = dt.date(2026, 11, 23)


def test_a_sync_plans_every_cell_the_same_with_and_without_the_cache():
    demo = generate(rows=500, seed=3, today=AS_OF)
    snapshot = Snapshot({title: Grid(rows) for title, rows in demo.tabs.items()})
    plain = plan_context(snapshot, Config(), AS_OF)
    assert plain.results.scoring.method == "learned"
    cache = FitCache()
    first = plan_context(snapshot, Config(), AS_OF, fit_cache=cache)
    second = plan_context(snapshot, Config(), AS_OF, fit_cache=cache)
    assert (cache.misses, cache.hits) == (1, 1)
    for ctx in (first, second):
        assert ctx.plan == plain.plan and ctx.plan.writes  # every cell, tab, chart and guide
        assert ctx.results.scoring == plain.results.scoring


def test_a_sync_keeps_its_fit_beside_the_lock_and_the_next_one_uses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    demo = generate(rows=400, seed=3, today=AS_OF)
    book = xlsx_book(tmp_path / "crm.xlsx", demo.tabs)
    first = sync(book, Config(), AS_OF)
    assert first.results.scoring.method == "learned" and first.result is not None
    path = fits_path(book)
    assert path is not None and path.parent == tmp_path / "cache" / "sheetcrm" / "locks" and path.exists()
    kept = path.read_bytes()

    def no_fit(*args, **kwargs):
        raise AssertionError("the kept fit should have been used")

    monkeypatch.setattr(learned, "_choose", no_fit)
    again = sync(book, Config(), AS_OF)
    assert again.results.scoring == first.results.scoring  # the written scores, as the first sync computed them
    assert path.read_bytes() == kept  # no new fit, nothing rewritten
