"""The SQL recipes of the README (PostgreSQL) and docs/warehouse.md (SQLite) run as written
against a mirrored demo, and answer something."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from sheetcrm.config import Config
from sheetcrm.starter import demo_config, write_demo
from sheetcrm.sync import sync
from sheetcrm.warehouse.settings import WarehouseSettings
from sheetcrm.workbook.xlsx import XlsxWorkbook
from test_warehouse_mirror import engine_of

ROOT = Path(__file__).resolve().parents[2]


def blocks(path: Path, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", path.read_text(encoding="utf-8"), flags=re.M | re.S)


def mirrored_demo(tmp_path, url: str):
    book = XlsxWorkbook(tmp_path / "demo.xlsx")
    data = write_demo(book, 60, 7, dt.date(2026, 11, 23))
    outcome = sync(book, demo_config(Config(warehouse=WarehouseSettings(url=url)), data), as_of=dt.date(2026, 11, 23))
    assert outcome.mirrored.outcome == "mirrored"
    return engine_of(url)


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_every_recipe_runs_and_answers(tmp_path, dialect, request):
    readme = blocks(ROOT / "README.md", "sql")
    assert len(readme) == 3  # pipeline by month, win rate by source, stage durations
    if dialect == "postgresql":
        url, recipes = request.getfixturevalue("postgres_url"), readme
    else:
        url, recipes = f"sqlite:///{tmp_path / 'w.db'}", [readme[1], *blocks(ROOT / "docs/warehouse.md", "sqlite")]
        assert len(recipes) == 3
    engine = mirrored_demo(tmp_path, url)
    with engine.connect() as c:
        for sql in recipes:
            rows = c.execute(text(sql)).all()
            assert rows and all(len(r) >= 3 for r in rows), sql


def test_the_sqlite_pipeline_recipe_totals_to_the_cent(tmp_path):
    """SQLite has no exact decimal: an amount is a REAL there, and the recipe's sum(amount) said
    1344.9999999999998 for deals of 1234.56, 99.99, 0.35 and 10.10."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Name", "Account", "Stage", "Amount", "Close Date"])
    for n, amount in enumerate([1234.56, 99.99, 0.35, 10.10], start=1):
        ws.append([f"OPP-000{n}", f"Deal {n}", "Acme", "Proposal", amount, dt.datetime(2027, 1, 15)])
    wb.save(tmp_path / "crm.xlsx")
    url = f"sqlite:///{tmp_path / 'w.db'}"
    config = Config(currency="EUR", warehouse=WarehouseSettings(url=url))
    assert sync(XlsxWorkbook(tmp_path / "crm.xlsx"), config, as_of=dt.date(2026, 11, 23)).mirrored.outcome == "mirrored"
    pipeline = blocks(ROOT / "docs/warehouse.md", "sqlite")[0]
    with engine_of(url).connect() as c:
        assert [tuple(r) for r in c.execute(text(pipeline))] == [("2027-01", "EUR", 4, 1345.0, 672.5)]
