"""Google's 10M-cell cap: a sync whose write would take the spreadsheet past it stops before
sending anything, with one line that says how many cells it needs and for which tabs, in the
team's language; once the team makes room, the next sync writes. (Google refuses the whole
batch past the cap, so without the check the sync would fail on every run with Google's
English words and no hint.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from sheetcrm.emulator.model import MAX_CELLS as EMULATOR_CAP
from sheetcrm.workbook.gsheets import MAX_CELLS

NEW_LEADS = 150


def sheetcrm(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=180)


def everything(emu, key: str) -> dict[str, list[list]]:
    book = emu.service.book(key)
    return {sheet.title: emu.values(key, sheet.title) for sheet in book.sheets}


def batch_updates(emu) -> int:
    return sum(1 for r in emu.requests if r.method == "POST" and r.path.endswith(":batchUpdate"))


@pytest.fixture
def nearly_full(emu, tmp_path):
    """A 60-lead demo on the emulator with 150 new leads typed into Leads, and a team's archive
    tab filling the spreadsheet to 10 cells below the cap: the next sync's Lead Status History
    needs a row for each new lead, past the rows its grid has."""
    key = emu.create_spreadsheet("full")
    made = sheetcrm("demo", "--rows", "60", "--spreadsheet", key, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert sheetcrm("sync", "--spreadsheet", key, cwd=tmp_path).returncode == 0
    leads = emu.values(key, "Leads")
    width = len(leads[0])
    rows = [[""] * width for _ in range(NEW_LEADS)]
    for i, row in enumerate(rows):
        row[leads[0].index("First Name")], row[leads[0].index("Last Name")] = f"Nora{i}", "Quint"
        row[leads[0].index("Status")], row[leads[0].index("Created")] = "New", "2026-11-02"
    emu.set_values(key, f"Leads!A{len(leads) + 1}", rows)
    free = MAX_CELLS - emu.service.book(key).total_cells() - 10
    emu.apply(key, [{"addSheet": {"properties": {"title": "Archive", "gridProperties": {
        "rowCount": free // 10, "columnCount": 10}}}}])
    return key


def history_growth(emu, key: str) -> int:
    """The cells the Lead Status History's grid grows by when each new lead gets its row: the
    batch opens a row for each (`insertDimension`, so that a row a person inserts meanwhile
    moves down whole instead of being written over), whatever empty rows the grid has below."""
    sheet = emu.service.book(key).sheet_by_title("Lead Status History")
    return NEW_LEADS * sheet.column_count


def test_the_caps_agree():
    assert MAX_CELLS == EMULATOR_CAP == 10_000_000


def test_a_sync_past_the_cap_writes_nothing_and_says_what_it_needs(emu, nearly_full, tmp_path):
    key = nearly_full
    before, writes, cells = everything(emu, key), batch_updates(emu), emu.service.book(key).total_cells()
    grows = history_growth(emu, key)
    assert cells + grows > MAX_CELLS
    failed = sheetcrm("sync", "--spreadsheet", key, cwd=tmp_path)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    assert f"this sync needs {grows:,} more cells (Lead Status History +{grows:,})" in failed.stderr
    assert f"Google allows 10,000,000 cells in a spreadsheet and it has {cells:,}" in failed.stderr
    assert "nothing was written" in failed.stderr
    # Stopped before the batch: not one request that writes, and every cell as it was.
    assert batch_updates(emu) == writes
    assert everything(emu, key) == before

    # The team makes room (the archive loses enough rows): the same sync now writes, and the new
    # leads get their IDs.
    archive = emu.sheet_id(key, "Archive")
    rows = emu.service.book(key).sheet_by_id(archive).row_count
    emu.apply(key, [{"updateSheetProperties": {"properties": {"sheetId": archive, "gridProperties": {
        "rowCount": rows - grows // 10 - 1}}, "fields": "gridProperties.rowCount"}}])
    done = sheetcrm("sync", "--spreadsheet", key, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    leads = emu.values(key, "Leads")
    ids = [row[0] for row in leads[1:] if "Nora" in str(row)]
    assert len(ids) == NEW_LEADS and all(str(i).startswith("LEAD-") for i in ids)
    assert emu.service.book(key).total_cells() <= MAX_CELLS


def test_the_cap_is_said_in_the_teams_language(emu, nearly_full, tmp_path):
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n', encoding="utf-8")
    cells, grows = emu.service.book(nearly_full).total_cells(), history_growth(emu, nearly_full)
    failed = sheetcrm("sync", "--spreadsheet", nearly_full, cwd=tmp_path)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1
    assert f"esta sincronización necesita {grows:,} celdas más".replace(",", ".") in failed.stderr
    assert f"Google permite 10.000.000 celdas en una hoja de cálculo y tiene {cells:,}".replace(",", ".") \
        in failed.stderr
    assert "no se ha escrito nada" in failed.stderr
