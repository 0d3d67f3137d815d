"""Prints the cassette match rate (per category, per file and in total) at the end of the run."""

from __future__ import annotations

import collections


def pytest_terminal_summary(terminalreporter):
    # Imported late: the results exist only once the replay tests have run.
    import test_cassettes

    results = test_cassettes.RESULTS
    if not results:
        return
    tr = terminalreporter
    tr.section("Google Sheets cassette replay")
    by_category: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for name, result in sorted(results.items()):
        by_category[name.split(".")[0]][0] += result.matched
        by_category[name.split(".")[0]][1] += len(result.in_scope)
        skipped = len(result.outcomes) - len(result.in_scope)
        note = f" ({skipped} out of scope)" if skipped else ""
        tr.write_line(f"{name:70s} {result.matched:4d}/{len(result.in_scope):<4d}{note}")
    for category, (ok, total) in sorted(by_category.items()):
        tr.write_line(f"{category:70s} {ok:4d}/{total:<4d} {100 * ok / max(total, 1):6.2f}%")
    ok = sum(r.matched for r in results.values())
    total = sum(len(r.in_scope) for r in results.values())
    skipped = sum(len(r.outcomes) - len(r.in_scope) for r in results.values())
    tr.write_line(f"TOTAL {ok}/{total} in-scope interactions match ({100 * ok / max(total, 1):.2f}%); "
                  f"{skipped} out of scope")
