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
