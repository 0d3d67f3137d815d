"""Column widths (sheetcrm.layout.width) measured by runs of one kind are the widths the
cell-by-cell rule gives: text as its format shows it, numbers of a kind at their extremes."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from sheetcrm.layout import MAX_WIDTH, PADDING, _runs_of, shown, width
from sheetcrm.render import COUNT, DATE, DAYS, MONEY, MULTIPLE, RATIO, TEXT

KINDS = [MONEY, RATIO, COUNT, DAYS, MULTIPLE, DATE, TEXT, "amount", "seconds"]


def cell_by_cell(header, cells, currency, locale):
    """The rule as it was written before runs, a cell at a time: text as shown, numbers of one
    kind at their extremes."""
    longest = len(str(header or "")) + PADDING
    extremes = {}
    for value, kind in cells:
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            low_high = extremes.setdefault(kind, [value, value])
            if value < low_high[0]:
                low_high[0] = value
            elif value > low_high[1]:
                low_high[1] = value
        elif value is not None:
            longest = max(longest, len(shown(value, kind, currency, locale)) + PADDING)
    for kind, numbers in extremes.items():
        longest = max(longest, *(len(shown(v, kind, currency, locale)) + PADDING for v in numbers))
    return min(longest, MAX_WIDTH)


def kind_at(blocks, row):
    for first, last, kind in blocks:
        if first <= row and (last is None or row <= last):
            return kind
    return TEXT


def a_value(rng):
    return rng.choice([
        None, "", "x" * rng.randint(1, 70), True, False, rng.randint(-10**9, 10**9), rng.randint(0, 99),
        rng.uniform(-1e7, 1e7), rng.random(), Decimal(rng.randint(-10**6, 10**6)) / 100,
        dt.date(2026, rng.randint(1, 12), rng.randint(1, 28)), dt.datetime(2026, 5, 4, rng.randint(0, 23), 7),
        "Señor Ñandú" * rng.randint(0, 3)])


def test_runs_give_the_width_each_cell_would():
    rng = random.Random(16)
    for _ in range(400):
        values = [a_value(rng) for _ in range(rng.randint(0, 40))]
        blocks = [(first, rng.choice([None, first + rng.randint(-2, 15)]), rng.choice(KINDS))
                  for first in (rng.randint(0, 30) for _ in range(rng.randint(0, 4)))]
        currency, locale = rng.choice([("EUR", "es"), ("USD", "en"), ("MXN", "es_MX")])
        cells = [(v, kind_at(blocks, i + 2)) for i, v in enumerate(values)]
        expected = cell_by_cell("Header", cells, currency, locale)
        got = width("Header", _runs_of(values, blocks), currency, locale)
        assert got == expected, (values, blocks, currency, locale)


def test_every_row_is_in_exactly_one_run_of_the_first_block_naming_it():
    values = list(range(20))  # sheet rows 2..21
    runs = _runs_of(values, [(5, 9, MONEY), (8, None, RATIO), (1, 3, COUNT)])
    assert sorted(v for _kind, vs in runs for v in vs) == values
    kind_of = {v: kind for kind, vs in runs for v in vs}
    assert [kind_of[r - 2] for r in (2, 3, 4, 5, 9, 10, 21)] == [COUNT, COUNT, TEXT, MONEY, MONEY, RATIO, RATIO]


def test_a_number_is_measured_as_its_format_shows_it_and_text_by_its_length():
    assert width("A", [(MONEY, [1234567.5, None, 3])], "EUR", "es") == len("1.234.567,50 €") + PADDING
    assert width("A", [(TEXT, ["short", "a longer text", ""])], "EUR", "en") == len("a longer text") + PADDING
    assert width("A", [(TEXT, ["x" * 500])], "EUR", "en") == MAX_WIDTH


def test_a_write_measures_the_widths_of_the_tabs_it_changes_only():
    """A one-deal change writes that deal's row and the summaries: their columns are measured
    as if every tab were (the same widths), the other tabs' columns get width 0 (left alone,
    their cells and widths being what their last write left) and the same number formats."""
    import dataclasses

    from sheetcrm.config import Config
    from sheetcrm.layout import column_formats, written_tabs
    from sheetcrm.render import dashboard_body, forecast_body, kinds
    from sheetcrm.starter import demo_config, write_demo
    from sheetcrm.sync import plan_context, sync
    from sheetcrm.workbook import CellWrite, Plan, Replace
    from sheetcrm.workbook.memory import MemoryWorkbook

    today = dt.date(2026, 11, 23)
    book = MemoryWorkbook()
    config = demo_config(Config(), write_demo(book, rows=20, seed=5, today=today))
    for _ in range(4):
        if not sync(book, config, as_of=today, cache=False).plan:
            break
    deals = book.read().tabs["Opportunities"]
    amount, weighted = deals.header.index("Amount"), deals.header.index("Weighted Amount")
    row = next(r for r in range(1, len(deals.rows)) if isinstance(deals.cell(r, amount), int)
               and isinstance(deals.cell(r, weighted), (int, float)) and deals.cell(r, weighted) > 0)
    book.write(Plan(writes=[CellWrite("Opportunities", row + 1, amount + 1, deals.cell(row, amount) + 1000)]))

    snapshot = book.read()
    ctx = plan_context(snapshot, config, today)
    changed = written_tabs(ctx.plan)
    assert "Opportunities" in changed and "Stage History" not in changed
    everything = dataclasses.replace(ctx.plan, replacements=[Replace(t, 1, "\0", "\0") for t in snapshot.tabs])
    forecast = forecast_body(ctx.results, config.locale)
    month_rows = next((i for i, r in enumerate(forecast) if not r), len(forecast))
    measured, _ = column_formats(snapshot, everything, ctx.crm, kinds(dashboard_body(ctx.results, config.locale)),
                                 month_rows, ctx.results.currency, config.locale)
    got = ctx.plan.formats
    assert [(f.tab, f.col, f.rows) for f in got] == [(f.tab, f.col, f.rows) for f in measured]
    for mine, whole in zip(got, measured):
        assert mine.width == (whole.width if mine.tab in changed else 0), (mine.tab, mine.col)
    assert any(f.width for f in got if f.tab == "Opportunities")
    assert any(f.width for f in measured if f.tab == "Stage History")
