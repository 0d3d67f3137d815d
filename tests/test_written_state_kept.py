"""What sheetcrm last wrote in its computed cells (written.py) is kept in a file of its own
(written_file.py): a value a person typed over a computed cell is still told from sheetcrm's
own after a month without a sync (the parse memo is pruned by then), after the .xlsx is moved
to another folder, and after a copy of it was synced. Each once lost the state, and the next
sync wrote over the typed value without a word."""

from __future__ import annotations

import os
import shutil
import time

import openpyxl
import pytest

from sheetcrm import parse_cache, written_file
from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.written import BOOK
from books import xlsx_book
from test_computed_columns_theirs import LEADS, TYPED, _column, _tabs, _type, _typed
from test_workflows import Book, _tabs as workflow_tabs, day


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    """A cache folder of the test's own: its files are aged by the test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "sheetcrm" / "locks"


def _age(folder, days: float) -> None:
    then = time.time() - days * 86400
    for path in folder.iterdir():
        os.utime(path, (then, then))


def _said(outcome) -> list[tuple]:
    return [(i.tab, i.row, i.column, i.value) for i in outcome.crm.report.issues if i.code == TYPED]


@pytest.mark.parametrize("kind", ["xlsx", "google"])
def test_a_typed_value_outlives_a_month_without_a_sync(kind, tmp_path, cache, request):
    server = request.getfixturevalue("emu") if kind == "google" else None
    book = Book(kind, tmp_path, server, workflow_tabs([]))
    book.sync(0)
    col = book.rows("Leads")[0].index("Score") + 1
    letter = openpyxl.utils.get_column_letter(col)
    book.set("Leads", 2, col, 90)
    assert _said(book.sync(1)) == [("Leads", 2, letter, 90)]
    memos = list(cache.glob(f"*{parse_cache.SUFFIX}"))
    assert memos
    _age(cache, parse_cache.UNUSED_DAYS + 1)
    # Another workbook's sync saves its memo, and prunes the unused ones: this workbook's goes.
    sync(xlsx_book(tmp_path / "other.xlsx", _tabs([], [[], []], *LEADS)), Config(), as_of=day(0))
    assert not any(m.exists() for m in memos)
    after = book.sync(parse_cache.UNUSED_DAYS + 2)
    assert _said(after) == [("Leads", 2, letter, 90)]
    assert book.rows("Leads")[1][col - 1] == 90


def test_a_typed_value_follows_its_xlsx_to_another_folder(tmp_path):
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs([], [[], []], *LEADS))
    sync(book, Config(), as_of=day(0))
    score = _column(path, "Leads", "Score")
    marks = {r[0].value: r[1].value for r in openpyxl.load_workbook(path)["_sheetcrm"].iter_rows(min_row=2)}
    assert marks[BOOK] > 0  # named with the first generation, in the same write
    _type(path, "Leads", {f"{score}2": 90})
    assert _said(sync(book, Config(), as_of=day(1))) == [("Leads", 2, score, 90)]
    moved = tmp_path / "elsewhere" / "renamed.xlsx"
    moved.parent.mkdir()
    path.rename(moved)
    outcome = sync(XlsxWorkbook(moved), Config(), as_of=day(2))
    assert _said(outcome) == [("Leads", 2, score, 90)]
    assert openpyxl.load_workbook(moved)["Leads"][f"{score}2"].value == 90


def test_a_copy_synced_on_its_own_leaves_the_originals_state(tmp_path):
    """A copy carries the workbook's mark: its syncs move its own generation, and the state
    of each place is kept apart, so the original still tells its typed value from sheetcrm's."""
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs([], [[], []], *LEADS))
    sync(book, Config(), as_of=day(0))
    score = _column(path, "Leads", "Score")
    _type(path, "Leads", {f"{score}2": 90})
    copy = tmp_path / "copy.xlsx"
    shutil.copy(path, copy)
    for n in (1, 2, 3):  # each a day on: the copy's computed cells and generation move
        assert _said(sync(XlsxWorkbook(copy), Config(), as_of=day(n))) == [("Leads", 2, score, 90)]
    outcome = sync(book, Config(), as_of=day(4))
    assert _said(outcome) == [("Leads", 2, score, 90)]
    assert openpyxl.load_workbook(path)["Leads"][f"{score}2"].value == 90


def test_a_state_file_goes_only_when_unused_for_long_and_its_workbook_is_gone(tmp_path, cache):
    path = tmp_path / "crm.xlsx"
    sync(xlsx_book(path, _tabs([], [[], []], *LEADS)), Config(), as_of=day(0))
    # Under its mark and, as the sync that drew the mark left it, under its path.
    states = sorted(cache.glob(f"*{written_file.SUFFIX}"))
    assert len(states) == 2
    now = time.time()
    _age(cache, written_file.UNUSED_DAYS + 1)
    assert written_file.prune(cache, now) == []  # its workbook is still there: kept, however old
    assert all(s.exists() for s in states)
    path.unlink()
    assert written_file.prune(cache, now, days=written_file.UNUSED_DAYS + 2) == []  # not that old
    assert sorted(written_file.prune(cache, now)) == states


def test_sheetcrm_run_restarted_still_tells_a_typed_value(tmp_path):
    """`sheetcrm run` kept the state in memory only: its first sync after a restart (or after a
    `sheetcrm sync`) had none, and wrote over a typed value. It reads and keeps the file too."""
    import logging

    from sheetcrm.service import Service

    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs([], [[], []], *LEADS))
    sync(book, Config(), as_of=day(0))
    score = _column(path, "Leads", "Score")
    _type(path, "Leads", {f"{score}2": 90})
    for n in (1, 2):  # two runs, each started afresh
        service = Service(Config(), XlsxWorkbook(path), logging.getLogger("test-restart"), today=lambda: day(n))
        service.sync()
        assert openpyxl.load_workbook(path)["Leads"][f"{score}2"].value == 90
    assert _said(sync(book, Config(), as_of=day(3))) == [("Leads", 2, score, 90)]


def test_a_state_an_earlier_sheetcrm_kept_in_the_memo_is_still_used(tmp_path, cache):
    """sheetcrm before its own file kept the state in the parse memo: the first sync after the
    upgrade goes by it (then keeps it in its file)."""
    from sheetcrm import cache_file
    from sheetcrm.written import MEMO_NAME

    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs([], [[], []], *LEADS))
    sync(book, Config(), as_of=day(0))
    score = _column(path, "Leads", "Score")
    _type(path, "Leads", {f"{score}2": 90})
    # As the earlier sheetcrm left it: the state a part of the memo, and no file of its own.
    states = list(cache.glob(f"*{written_file.SUFFIX}"))
    [(key, blob)] = written_file._read(states[0]).values()
    (memo,) = cache.glob(f"*{parse_cache.SUFFIX}")
    parts = dict(cache_file.load(memo, parse_cache.code_version()))
    parts[(MEMO_NAME, key)] = blob
    cache_file.save(memo, "an earlier sheetcrm", parts)
    for state in states:
        state.unlink()
    assert _said(sync(book, Config(), as_of=day(1))) == [("Leads", 2, score, 90)]
    assert openpyxl.load_workbook(path)["Leads"][f"{score}2"].value == 90
    assert list(cache.glob(f"*{written_file.SUFFIX}"))


def test_a_state_that_cannot_be_kept_is_said(tmp_path, cache, caplog):
    """A full disk or a cache folder this user may not write in: the sync went on and wrote its
    computed cells, but kept no state, so the next one took every computed cell for its own and
    wrote over a value a person typed there, nothing said at either sync. The sync that cannot
    keep it says so, once, naming the folder and the reason (a folder in the path is a file here:
    no mount or permission a test can rely on, and the same failure to write)."""
    cache.parent.parent.mkdir(parents=True)
    cache.parent.write_text("not a folder")
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs([], [[], []], *LEADS))
    with caplog.at_level("WARNING", logger="sheetcrm.run"):
        outcome = sync(book, Config(), as_of=day(0))
    assert outcome.cells_written  # the sync itself went on
    said = [r.getMessage() for r in caplog.records if r.name == written_file.LOG.name]
    assert said == [written_file.NOT_KEPT.format(folder=cache, problem="a part of the path is not a folder")]


def test_a_dry_run_keeps_no_state_and_says_nothing_about_keeping_one(tmp_path, cache, caplog):
    """`sync --dry-run` / `workflows --dry-run` with a cache it cannot write in said "cannot keep
    what this sync wrote in computed cells … written over by the next sync", though a dry run
    writes nothing. It keeps no state (the last real sync's is still the truth) and says nothing."""
    from in_process import cli

    path = tmp_path / "crm.xlsx"
    xlsx_book(path, _tabs([], [[], []], *LEADS))
    (tmp_path / "sheetcrm.toml").write_text('workbook = "crm.xlsx"\n')
    sync(XlsxWorkbook(path), Config(), as_of=day(0))
    states = {p: p.read_bytes() for p in cache.glob(f"*{written_file.SUFFIX}")}
    assert states
    score = _column(path, "Leads", "Score")
    _type(path, "Leads", {f"{score}2": 90})
    for command in (["sync", "--dry-run"], ["workflows", "--dry-run"]):
        done = cli(*command, cwd=tmp_path)
        assert done.returncode == 0 and "cannot keep" not in done.stderr
    assert {p: p.read_bytes() for p in cache.glob(f"*{written_file.SUFFIX}")} == states
    shutil.rmtree(cache.parent.parent)
    cache.parent.parent.mkdir(parents=True)
    cache.parent.write_text("not a folder")
    for command in (["sync", "--dry-run"], ["workflows", "--dry-run"]):
        done = cli(*command, cwd=tmp_path)
        assert done.returncode == 0 and done.stderr == "", done.stderr
