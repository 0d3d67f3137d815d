"""Issue 16: a sync plans the same with and without the learned model's fit cache, and the
cache is used when the decided leads did not change (as `sheetcrm run` keeps it)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

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


def test_a_sync_whose_scores_are_kept_never_imports_lightgbm(tmp_path):
    """A fit read back from the cache is LightGBM's model text until it predicts: a sync whose
    lead scores are the last sync's (the engine's "lead_scores" memo) reads it without importing
    LightGBM and the scikit-learn and SciPy it brings (0.8 s of CPU, most of a small CRM's no-op)."""
    demo = generate(rows=300, seed=3, today=AS_OF)
    path = tmp_path / "crm.xlsx"
    xlsx_book(path, demo.tabs)
    cache = tmp_path / "cache"
    script = f"""
import datetime as dt, sys
from sheetcrm.config import Config
from sheetcrm.crm.scoring import ScoringSettings
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook
config = Config(scoring=ScoringSettings(learned={{"model": "boosted"}}))
outcome = sync(XlsxWorkbook(sys.argv[1]), config, dt.date({AS_OF.year}, {AS_OF.month}, {AS_OF.day}))
print(len(outcome.plan.writes), "lightgbm" in sys.modules, "sklearn" in sys.modules)
"""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    runs = []
    while not runs or runs[-1].stdout.split()[0] != "0":  # until a no-op: the demo settles in a few syncs
        assert len(runs) < 5, [r.stdout for r in runs]
        runs.append(subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True,
                                   env=env, timeout=300))
        assert runs[-1].returncode == 0, runs[-1].stderr[-2000:]
    (fits,) = (cache / "sheetcrm" / "locks").glob("*.fits.json")
    assert '"booster"' in fits.read_text(encoding="utf-8")  # the kept fit is LightGBM's
    assert runs[0].stdout.split()[1:] == ["True", "True"]  # the first sync fitted
    assert runs[-1].stdout.split()[1:] == ["False", "False"]
