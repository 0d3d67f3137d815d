"""Learned lead scores at 10k and 100k decided leads: the fit of issue 16 against the old one.

The old model (an L2 logistic regression over binary features by pure-Python coordinate
descent, `sheetcrm/crm/learned.py` at `main` before issue 16) is loaded from git into the same
process, so both run on the same leads in one run. The leads carry the demo's columns (Source,
Campaign, Owner, Title, Email, Phone, Company) and two numeric custom columns, Budget and
Employees, with a known signal (additive, a bend in Budget, and two interactions); 10 % stay
open. Timed:

- old: fit + predict every lead (what `score_leads` did);
- new (cold): fit, i.e. 5-fold cross-validation of both candidates, the calibration and the
  final fit (cross-validation on at most `max_cv_rows` = 20k decided leads), + predict_all;
- new (cached): the same with the fit found in a `FitCache` (an unchanged history);
- each candidate alone (`model = "logistic"` / `"boosted"`).

Also the ROC AUC of each on a held-out 20 % (fitted on the other 80 %), as a check that the
time buys something.

    python bench/bench_scoring.py [ROWS ...]          # default: 10000 100000
    python bench/bench_scoring.py --demo [ROWS ...]   # the demo's leads (`sheetcrm demo --rows`),
                                                      # read from its workbook: no numeric columns
"""

from __future__ import annotations

import importlib.util
import math
import platform
import random
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from sheetcrm.config import Config
from sheetcrm.crm.learned import FitCache, LearnedSettings, fit, outcome
from sheetcrm.records import Lead
from sheetcrm.validate import parse_context

ROOT = Path(__file__).resolve().parent.parent
OLD_REF = "aef5eaf"  # main before issue 16


def old_learned():
    source = subprocess.run(["git", "show", f"{OLD_REF}:sheetcrm/crm/learned.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("old_learned", loader=None)
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_learned"] = module  # dataclasses look their module up
    exec(compile(source, "old_learned.py", "exec"), module.__dict__)
    return module


SOURCES = {"Referral": 1.5, "Partner": 0.8, "Event": 0.3, "Web": 0.0, "Ads": -0.8, "Cold Call": -1.5}
TITLES = {"CEO": 1.2, "VP Sales": 1.0, "Head of Operations": 0.6, "Director": 0.5, "Sales Manager": 0.0,
          "Analyst": -0.6, "Intern": -1.2}


def leads(n: int, seed: int = 1) -> list[Lead]:
    rng = random.Random(seed)
    ctx = parse_context(Config())
    out = []
    for i in range(n):
        source, title = rng.choice(list(SOURCES)), rng.choice(list(TITLES))
        budget = round(10 ** rng.uniform(2.5, 5.5), 2)
        employees = int(10 ** rng.uniform(0.5, 4))
        z = SOURCES[source] + TITLES[title] - 0.3 + 1.2 - 1.2 * (math.log10(budget) - 4) ** 2
        z += 1.5 if source == "Referral" and employees < 50 else 0
        z += 1.5 if source == "Ads" and employees >= 500 else 0
        status = rng.choice(["New", "Contacted"]) if rng.random() < 0.1 else (
            "Converted" if rng.random() < 1 / (1 + math.exp(-z)) else "Unqualified")
        out.append(Lead.model_validate({
            "id": f"LEAD-{i:06d}", "last_name": "Doe", "company": rng.choice(["Acme", None]), "source": source,
            "title": title, "campaign": f"Campaign {rng.randint(1, 50)}", "owner": f"Owner {rng.randint(1, 12)}",
            "status": status, "email": rng.choice(["ana@acme.example", "ana@gmail.com", None]),
            "phone": rng.choice(["+34 600 000 000", None]),
            "custom": {"Budget": Decimal(str(budget)), "Employees": Decimal(employees)}}, context=ctx))
    return out


def timed(fn):
    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0


def auc(labels, scores) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def demo_leads(n: int) -> list[Lead]:
    """The leads of `sheetcrm demo --rows n`, read as a sync reads them (what bench_engine times)."""
    import datetime as dt

    from sheetcrm.demo import generate
    from sheetcrm.validate import read_crm
    from sheetcrm.workbook import Grid, Snapshot

    demo = generate(rows=n, seed=7, today=dt.date(2026, 11, 23))
    return read_crm(Snapshot({t: Grid(r) for t, r in demo.tabs.items()}), Config()).records("leads")


def run(n: int, old, demo: bool = False) -> None:
    every = demo_leads(n) if demo else leads(n)
    decided = sum(outcome(lead) is not None for lead in every)
    print(f"\n{n:,} leads ({decided:,} decided)")

    def old_fit():
        model = old.fit(every, old.LearnedSettings())
        return [model.predict(lead).probability for lead in every]

    def new_fit(settings=LearnedSettings(), cache=None):
        model = fit(every, settings, cache)
        return model, model.predict_all(every)

    fit(every[:2000], LearnedSettings())  # imports and first-call costs out of the timing
    _p, t_old = timed(old_fit)
    cache = FitCache()
    (model, _p), t_new = timed(lambda: new_fit(cache=cache))
    _m, t_cached = timed(lambda: new_fit(cache=cache))
    _m, t_logistic = timed(lambda: new_fit(LearnedSettings(model="logistic")))
    _m, t_boosted = timed(lambda: new_fit(LearnedSettings(model="boosted")))
    print(f"| {decided:,} | {t_old:.2f} | {t_new:.2f} ({t_new / t_old:.1f}×) | {t_cached:.2f} "
          f"({t_cached / t_old:.2f}×) | {t_logistic:.2f} ({t_logistic / t_old:.1f}×) | {t_boosted:.2f} "
          f"({t_boosted / t_old:.1f}×) | {model.chosen} |")

    rng = random.Random(0)
    closed = [lead for lead in every if outcome(lead) is not None]
    rng.shuffle(closed)
    cut = len(closed) * 4 // 5
    train, test = closed[:cut], closed[cut:]
    labels = [outcome(lead) for lead in test]
    old_model = old.fit(train, old.LearnedSettings())
    new_model = fit(train, LearnedSettings())
    print(f"held-out ROC AUC: old {auc(labels, [old_model.predict(l).probability for l in test]):.3f}, "
          f"new {auc(labels, [p.probability for p in new_model.predict_all(test)]):.3f} "
          f"({new_model.chosen}; CV {', '.join(f'{c} {a:.3f}' for c, a in new_model.cv_auc.items())})")


def main() -> None:
    demo = "--demo" in sys.argv
    sizes = [int(a) for a in sys.argv[1:] if a != "--demo"] or [10_000, 100_000]
    print(f"{platform.machine()}, Python {platform.python_version()}, {' '.join(_versions())}")
    print("| decided leads | old s | new cold s (× old) | new cached s (× old) | logistic only s | boosted only s "
          "| chosen |")
    old = old_learned()
    for n in sizes:
        run(n, old, demo)


def _versions() -> list[str]:
    import lightgbm
    import numpy
    import sklearn

    return [f"numpy {numpy.__version__}", f"scikit-learn {sklearn.__version__}", f"lightgbm {lightgbm.__version__}"]


if __name__ == "__main__":
    main()
