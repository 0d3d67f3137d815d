"""Calamine's rows into a Grid (issue 16: no per-cell Python work where none is needed): the
rule per cell is unchanged, and this test holds the in-place, by-column conversion to it."""

from __future__ import annotations

import copy
import datetime as dt
import random

from sheetcrm.workbook.xlsx import _grid

EXACT = float(2 ** 53)


def _by_the_rule(rows):
    """The rule one cell at a time: "" is empty, a whole float (within 2**53) an int, a time
    or duration its text; trailing empty cells and rows dropped."""
    out = []
    for row in rows:
        cells = []
        for v in row:
            if v == "":
                v = None
            elif type(v) is float and v.is_integer() and -EXACT < v < EXACT:
                v = int(v)
            elif isinstance(v, (dt.time, dt.timedelta)):
                v = str(v)
            cells.append(v)
        while cells and cells[-1] is None:
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


def _typed(rows):
    return [[(type(v), repr(v)) for v in row] for row in rows]


def test_every_cell_reads_as_the_rule_says_ragged_rows_included():
    rng = random.Random(16)
    pool = ["", "", "Ann", " ", "0042", 1.0, 2.5, -0.0, 0.0, 2.0 ** 60, 2.0 ** 53 - 1, float("nan"), float("inf"),
            True, False, dt.time(14, 30), dt.timedelta(hours=5), dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 3, 4)]
    for _ in range(500):
        rows = [[rng.choice(pool) for _ in range(rng.randint(0, 9))] for _ in range(rng.randint(0, 14))]
        assert _typed(_grid(copy.deepcopy(rows)).rows) == _typed(_by_the_rule(rows))


def test_a_tab_like_calamines_reads_in_place():
    rows = [["ID", "Amount", "Won", "Call at", "Note", ""],
            ["OPP-1", 1500.0, True, dt.time(9, 0), "", ""],
            ["OPP-2", 1500.25, False, "", "=late", ""],
            ["", "", "", "", "", ""]]
    grid = _grid(rows)
    assert grid.rows is rows
    assert grid.rows == [["ID", "Amount", "Won", "Call at", "Note"], ["OPP-1", 1500, True, "09:00:00"],
                         ["OPP-2", 1500.25, False, None, "=late"]]
    assert type(grid.rows[1][1]) is int and type(grid.rows[2][1]) is float and grid.rows[1][2] is True
