"""Issue 16: a sync plans the same with and without the learned model's fit cache, and the
cache is used when the decided leads did not change (as `sheetcrm run` keeps it)."""

from __future__ import annotations

import datetime as dt

from sheetcrm.config import Config
from sheetcrm.crm.learned import FitCache
from sheetcrm.demo import generate
from sheetcrm.sync import plan_context
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
