"""What a command costs before it does anything: CPU seconds of whole `sheetcrm` processes, as
cron runs them, for one or more source trees, rounds alternating so that a busy machine slows
every variant alike; each figure also as a ratio to `python -c pass` measured in the same run.

Commands: `python -c pass`; `sheetcrm --help`; `validate` of the default demo (200 leads, scored
by the learned model, so it fits one: scikit-learn and LightGBM are imported); `validate` and a
no-op `sync` of a small demo (40 leads, too few decided ones to learn from: scored by rules).
Each tree writes its own demos (the same seed: the same workbooks). Bytecode is compiled before the clock (as an
installed package has it), into a cache of each tree's own.

    python bench/bench_startup.py                                   # this tree
    python bench/bench_startup.py --code /tmp/main --code .         # before and after

Make a tree of another commit with `git archive COMMIT | tar -x -C DIR`. CPU is the child's
user + system time (`RUSAGE_CHILDREN`); wall time on a shared machine follows the neighbours.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "sheetcrm --help": ["-m", "sheetcrm", "--help"],
    "validate (demo, learned)": ["-m", "sheetcrm", "validate", "--workbook", "demo.xlsx"],
    "validate (small demo, rules)": ["-m", "sheetcrm", "validate", "--workbook", "small.xlsx"],
    "sync no-op (small demo, rules)": ["-m", "sheetcrm", "sync", "--workbook", "small.xlsx", "--as-of", "2026-11-30"],
}


def _env(code: Path, tmp: Path, n: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return dict(env, PYTHONPATH=str(code), PYTHONPYCACHEPREFIX=str(tmp / f"pycache{n}"),
                XDG_CACHE_HOME=str(tmp / f"cache{n}"))


def cpu(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    """User + system CPU seconds of one process running `python ARGS`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # validate says 1 for the demo's planted errors
        raise SystemExit(f"{' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", action="append", type=Path, help="a sheetcrm source tree (repeatable)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    codes = [c.resolve() for c in (args.code or [Path(__file__).resolve().parent.parent])]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        work = {}
        for n, code in enumerate(codes):
            work[code] = tmp / f"variant{n}"
            work[code].mkdir()
        for n, code in enumerate(codes):
            # Each tree writes (and syncs) its own demos, the same for the same seed: a read-only
            # validate keeps no fit, so the learned model's is the one its demo's syncs kept.
            for book, rows in (("demo.xlsx", "200"), ("small.xlsx", "40")):
                subprocess.run([sys.executable, "-m", "sheetcrm", "demo", "--workbook", book, "--rows", rows],
                               cwd=work[code], env=_env(code, tmp, n), check=True, capture_output=True)
            for argv in COMMANDS.values():  # bytecode compiled
                cpu(argv, work[code], _env(code, tmp, n))
        best = {code: {label: float("inf") for label in COMMANDS} for code in codes}
        for _ in range(args.rounds):
            for n, code in enumerate(codes):
                for label, argv in COMMANDS.items():
                    best[code][label] = min(best[code][label], cpu(argv, work[code], _env(code, tmp, n)))
    print(f"best of {args.rounds} rounds, CPU seconds (user + system); × = ratio to `python -c pass`")
    print(f"{'command':34}" + "".join(f"{str(c)[-24:]:>26}" for c in codes))
    for label in COMMANDS:
        cells = [f"{best[c][label]:7.2f} s {best[c][label] / best[c]['python -c pass']:6.1f}×" for c in codes]
        print(f"{label:34}" + "".join(f"{cell:>26}" for cell in cells))


if __name__ == "__main__":
    main()
