"""What planning a no-op sync costs, before and after a change to the code (issue 16): the same
settled .xlsx workbook synced by two or more source trees, each in its own processes, rounds
alternating so that a busy machine slows every variant alike.

For each tree (`--code DIR`, a checkout or `git archive` of sheetcrm; default: this one):

- no-op: `sync()` of its own copy of the settled workbook (its own parse memo beside the lock,
  which the code's digest keys), CPU seconds of the process, the best of ROUNDS;
- the plan's hot spots, in one process, best of 3, the collector off (as a sync runs them):
  the owned tabs' diffs (`plan.tab_writes`, every call of one plan), the reference check
  (`validate._check_references` over the read), the conversion step, the workflows' World
  (`steps.workflows.build_world`) and the computed-columns step.

    python bench/bench_plan.py --rows 10000 --code /tmp/main --code .   # demo written and settled first
    python bench/bench_plan.py --workbook settled.xlsx --as-of 2026-11-30 --code /tmp/main --code .

Make a tree of another commit with `git archive COMMIT | tar -x -C DIR`. Times are CPU
(`time.process_time`); wall time on a shared machine follows the neighbours.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

AS_OF = dt.date.fromisoformat(os.environ.get("BENCH_AS_OF") or dt.date.today().isoformat())
SETTLE_SYNCS = 4


def _config():
    from sheetcrm.config import Config
    from sheetcrm.demo import demo_forms

    return Config().model_copy(update={"forms": demo_forms("en")})


def child_noop(path: str) -> dict:
    import time

    from sheetcrm.sync import sync
    from sheetcrm.workbook.target import open_workbook

    try:  # imported before the clock, as a running service has them
        import lightgbm  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        pass

    config = _config()
    book = open_workbook(config, workbook=path)
    t0 = time.process_time()
    outcome = sync(book, config, as_of=AS_OF)
    return {"cpu": time.process_time() - t0, "writes": len(outcome.plan.writes)}


def child_items(path: str) -> dict:
    import gc
    import time

    import sheetcrm.plan as plan
    import sheetcrm.validate as validate
    from sheetcrm.i18n import using
    from sheetcrm.steps import computed_columns, conversion
    from sheetcrm.steps import workflows as steps_workflows
    from sheetcrm.sync import plan_context
    from sheetcrm.workbook.target import open_workbook

    config = _config()
    snapshot = open_workbook(config, workbook=path).read()
    gc.disable()
    diffs = [0.0]
    tab_writes = plan.tab_writes

    def timed(*args, **kwargs):
        t0 = time.process_time()
        try:
            return tab_writes(*args, **kwargs)
        finally:
            diffs[0] += time.process_time() - t0

    plan.tab_writes = timed  # owned_tab looks it up in the module at each call
    ctx = plan_context(snapshot, config, AS_OF)

    def best(f, n: int = 3) -> float:
        times = []
        for _ in range(n):
            t0 = time.process_time()
            f()
            times.append(time.process_time() - t0)
        return min(times)

    out = {"owned tabs' diffs (plan.tab_writes)": diffs[0]}
    with using(ctx.config.locale):
        crm = validate.read_crm(snapshot, ctx.config)
        out["reference check (validate._check_references)"] = best(lambda: validate._check_references(crm))
        out["conversion step"] = best(lambda: conversion.run(ctx))
        out["workflows' World (build_world)"] = best(lambda: steps_workflows.build_world(ctx))
        out["computed-columns step"] = best(lambda: computed_columns.run(ctx))
    return out


def child_settle(path: str) -> dict:
    from sheetcrm.sync import sync
    from sheetcrm.workbook.target import open_workbook

    writes = []
    for _ in range(SETTLE_SYNCS):
        outcome = sync(open_workbook(_config(), workbook=path), _config(), as_of=AS_OF)
        writes.append(len(outcome.plan.writes))
        if not outcome.plan:
            return {"settle_writes": writes}
    raise SystemExit(f"still writing after {SETTLE_SYNCS} syncs: {writes}")


CHILDREN = {"noop": child_noop, "items": child_items, "settle": child_settle}


def run(kind: str, code: Path, path: Path) -> dict:
    # The parse memos and locks beside the workbooks, gone with them.
    env = dict(os.environ, PYTHONPATH=str(code), XDG_CACHE_HOME=str(path.parent / "cache"),
               BENCH_AS_OF=AS_OF.isoformat())
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], stdout=subprocess.PIPE, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", action="append", type=Path, help="a sheetcrm source tree (repeatable)")
    parser.add_argument("--rows", type=int, default=10000, help="leads of the demo to write and settle")
    parser.add_argument("--workbook", type=Path, help="a settled workbook instead of a new demo")
    parser.add_argument("--as-of", help="the day the workbook was settled on (default: today)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child[0]](args.child[1])))
        return
    global AS_OF
    AS_OF = dt.date.fromisoformat(args.as_of) if args.as_of else AS_OF
    here = Path(__file__).resolve().parent.parent
    codes = [c.resolve() for c in (args.code or [here])]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "settled.xlsx"
        if args.workbook:
            shutil.copy(args.workbook, base)
        else:
            env = dict(os.environ, PYTHONPATH=str(codes[0]), XDG_CACHE_HOME=str(Path(tmp) / "cache"))
            subprocess.run([sys.executable, "-m", "sheetcrm", "demo", "--rows", str(args.rows), "--workbook",
                            str(base)], env=env, cwd=tmp, stdout=subprocess.DEVNULL, check=True)
            run("settle", codes[0], base)
        books = {}
        for n, code in enumerate(codes):
            books[code] = Path(tmp) / f"variant{n}.xlsx"
            shutil.copy(base, books[code])
            warm = run("noop", code, books[code])  # its parse memo made, beside the lock
            assert warm["writes"] == 0, f"{code}: the settled workbook is not a no-op"
        noop: dict[Path, list[float]] = {code: [] for code in codes}
        for _ in range(args.rounds):
            for code in codes:
                noop[code].append(run("noop", code, books[code])["cpu"])
        items = {code: run("items", code, books[code]) for code in codes}
    names = [str(c) for c in codes]
    print("| CPU s | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(codes))
    print("| no-op sync (best of %d) | " % args.rounds + " | ".join(f"{min(noop[c]):.2f}" for c in codes) + " |")
    for key in items[codes[0]]:
        print(f"| {key} | " + " | ".join(f"{items[c][key]:.3f}" for c in codes) + " |")


if __name__ == "__main__":
    main()
