"""A Spanish team with `locale = "es"` reads no English from sheetcrm: not in any cell it
writes, not in any line it prints (issue 12).

The English words are the catalogue's own: every word of an English message that no Spanish
message uses (so `sheetcrm`, `init` or a config key, which the Spanish text keeps, are not
English words here). A word the team typed (a company, a custom value such as "Gold") is
theirs and may come back in what sheetcrm writes; everything else must be Spanish.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from tests.english import english_only_words, words
from tests.messy import write_messy

def _cells(path: Path) -> dict[tuple[str, str], object]:
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.value is not None}


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


@pytest.fixture(scope="module")
def english() -> set[str]:
    words = english_only_words()
    assert {"stage", "the", "deals"} <= words  # the list is real: it holds what English text is made of
    return words


def test_a_spanish_workbook_syncs_with_no_english_word_written_or_printed(tmp_path, english):
    book, config = write_messy(tmp_path)
    before = _cells(book)
    theirs = set().union(*(words(str(v)) for v in before.values()), words(config.read_text()),
                         *(words(tab) for tab, _ in before))
    as_of = dt.date(2026, 11, 30).isoformat()
    printed = []
    for args in (("sync", "--as-of", as_of), ("sync", "--as-of", as_of), ("validate",), ("kpis", "--as-of", as_of),
                 ("forecast", "--as-of", as_of), ("sync", "--dry-run", "--as-of", as_of)):
        out = _run(*args, "--workbook", str(book), "--config", str(config), cwd=tmp_path)
        assert out.returncode in (0, 1), out.stderr
        printed += [(" ".join(args), line) for line in (out.stdout + out.stderr).splitlines()]
    after = _cells(book)
    written = [(tab, coord, v) for (tab, coord), v in after.items()
               if isinstance(v, str) and before.get((tab, coord)) != v]
    assert written, "the sync wrote no text at all"
    english_cells = [(tab, coord, v, sorted(words(v) & english - theirs)) for tab, coord, v in written
                     if words(v) & english - theirs]
    english_lines = [(cmd, line, sorted(words(line) & english - theirs)) for cmd, line in printed
                     if words(line) & english - theirs]
    assert english_cells == [], english_cells
    assert english_lines == [], english_lines
