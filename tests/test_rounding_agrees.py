"""One rounding rule, half up, wherever a figure is shown: the `kpis` command prints what the
Dashboard tab holds (a win rate of 6.25 % is 6.3 % on both, never 6.2 % on the terminal
because babel rounds half to even), and the helpers every text goes through agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from sheetcrm import show
from sheetcrm.cells import half_up
from sheetcrm.crm.rules import format_points
from sheetcrm.i18n import using
from test_cli_text import sheetcrm

AS_OF = "2027-02-01"


def _book(folder) -> None:
    """4 won deals of 10, 10, 10 and 11 days (cycle 10.25) and 60 lost: win rate 6.25 %."""
    wb = openpyxl.Workbook()
    wb.active.title = "Accounts"
    wb.active.append(["ID", "Name"])
    wb.active.append(["ACC-0001", "Acme"])
    opps = wb.create_sheet("Opportunities")
    opps.append(["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"])
    n = 0
    for cycle in (10, 10, 10, 11):
        n += 1
        opps.append([f"OPP-{n:04d}", f"W{n}", "Acme", "Ana", "Closed Won", 100,
                     dt.date(2027, 1, 1) + dt.timedelta(days=cycle), dt.date(2027, 1, 1)])
    for _ in range(60):
        n += 1
        opps.append([f"OPP-{n:04d}", f"L{n}", "Acme", "Ana", "Closed Lost", 100, dt.date(2027, 1, 20),
                     dt.date(2027, 1, 1)])
    wb.save(folder / "crm.xlsx")


def test_the_kpis_command_rounds_as_the_dashboard_does(tmp_path):
    _book(tmp_path)
    done = sheetcrm("sync", "--as-of", AS_OF, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    dashboard = {r[0]: r[1] for r in openpyxl.load_workbook(tmp_path / "crm.xlsx")["Dashboard"].iter_rows(
        min_row=2, values_only=True)}
    assert dashboard["Win rate"] == 0.063 and dashboard["Average sales cycle (days)"] == 10.3
    printed = sheetcrm("kpis", "--as-of", AS_OF, cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    lines = {line.split("  ")[0]: line.split()[-1] for line in printed.stdout.splitlines() if line.strip()}
    assert lines["Win rate"] == "6.3%"            # babel alone: 6.2%
    assert lines["Average sales cycle (days)"] == "10.3"   # babel alone: 10.2


def test_every_shown_figure_rounds_half_up():
    assert half_up(0.0625, 3) == Decimal("0.063") and half_up(Decimal("10.25"), 1) == Decimal("10.3")
    assert half_up(-0.25, 1) == Decimal("-0.3")  # away from zero, as the score
    with using("en"):
        assert show.percent(Decimal("0.0625")) == "6.3%"
        assert show.points(Decimal("6.25")) == "6.3%"
        assert show.number(Decimal("0.625"), 2) == "0.63"   # pipeline coverage 0.625×
        assert show.number(2.5) == "3" and show.number(10.25, 1) == "10.3"
        assert format_points(0.25) == "+0.3" and format_points(-0.25) == "-0.3"
        assert format_points(0.96) == "+1"
    with using("es"):
        assert show.percent(0.0625) == "6,3\xa0%"
        assert format_points(0.45) == "+0,5"


@pytest.mark.parametrize("locale, want", [("en", ("€0.00", "0.0%", "0")), ("es", ("0,00\xa0€", "0,0\xa0%", "0"))])
def test_a_value_that_rounds_to_zero_loses_its_minus_sign(locale, want):
    # Was "-€0.00", "-0.0%", "-0": a fall or a loss shown where the figure is nothing.
    with using(locale):
        got = (show.money(Decimal("-0.004"), "EUR"), show.percent(Decimal("-0.0004")), show.number(Decimal("-0.4")))
        assert got == want
        assert show.money(Decimal("-1.5"), "EUR") in ("-€1.50", "-1,50\xa0€")
