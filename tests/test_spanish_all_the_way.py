"""A Spanish team with `locale = "es"` reads no English from sheetcrm: not in any cell it
writes, not in any line it prints (issue 12).

The English words are the catalogue's own: every word of an English message that no Spanish
message uses (so `sheetcrm`, `init` or a config key, which the Spanish text keeps, are not
English words here). A word the team typed (a company, a custom value such as "Gold") is
theirs and may come back in what sheetcrm writes; everything else must be Spanish.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from english import english_only_words, words
from messy import write_messy
from sheetcrm.schema import WORKFLOW_STATE

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


AS_OF = dt.date(2026, 11, 30).isoformat()
_ID = re.compile(r"\b[A-Z]{2,5}-\d{4,}\b")
_KEY = re.compile(r"WF-\d+\|[^|]+\|")
COMMANDS = (("sync", "--as-of", AS_OF), ("sync", "--as-of", AS_OF), ("validate",), ("kpis", "--as-of", AS_OF),
            ("forecast", "--as-of", AS_OF), ("score", "--as-of", AS_OF), ("sync", "--dry-run", "--as-of", AS_OF))


def _messy(folder: Path) -> tuple[Path, Path, list[tuple[str, str]]]:
    book, config = write_messy(folder)
    return book, config, []


def _demo(folder: Path) -> tuple[Path, Path, list[tuple[str, str]]]:
    """sheetcrm's own Spanish demo: what `demo` prints is sheetcrm's too."""
    config = folder / "sheetcrm.toml"
    config.write_text('locale = "es"\ncurrency = "EUR"\n', encoding="utf-8")
    book = folder / "demo.xlsx"
    out = _run("demo", "--workbook", str(book), "--config", str(config), "--rows", "60", cwd=folder)
    assert out.returncode == 0, out.stderr
    return book, config, [("demo", line) for line in (out.stdout + out.stderr).splitlines()]


@pytest.mark.parametrize("make", [_messy, _demo], ids=["messy", "demo"])
def test_a_spanish_workbook_syncs_with_no_english_word_written_or_printed(tmp_path, english, make):
    book, config, printed = make(tmp_path)
    before = _cells(book)
    theirs = set().union(*(words(str(v)) for v in before.values()), words(config.read_text()),
                         *(words(tab) for tab, _ in before))
    if make is _demo:
        # The demo's cells are sheetcrm's words too, except the sample names a person would type.
        theirs = set().union(*(words(str(v)) for (tab, _), v in before.items() if not isinstance(v, str) or "@" in v))
    # The folder the workbook is in is the person's (pytest names it after this test: "..._syncs_0").
    theirs |= words(str(tmp_path))
    for args in COMMANDS:
        out = _run(*args, "--workbook", str(book), "--config", str(config), cwd=tmp_path)
        assert out.returncode in (0, 1), out.stderr
        printed += [(" ".join(args), line) for line in (out.stdout + out.stderr).splitlines()]
    after = _cells(book)
    # IDs (OUT-0001) and a Workflow Log's keys (WF-0001|LEAD-0059|created) are identities, not words;
    # the Workflow State tab is sheetcrm's bookkeeping (kinds, field keys, values as the engine sees them),
    # and so are the ID prefixes the _sheetcrm tab keys its marks by (CASE of CASE-0001).
    written = [(tab, coord, _ID.sub("", v)) for (tab, coord), v in after.items()
               if isinstance(v, str) and (make is _demo or before.get((tab, coord)) != v) and not _KEY.match(v)
               and tab != WORKFLOW_STATE.display_title("es") and not (tab == "_sheetcrm" and v.isupper())]
    assert written, "the sync wrote no text at all"
    english_cells = [(tab, coord, v, sorted(words(v) & english - theirs)) for tab, coord, v in written
                     if words(v) & english - theirs]
    # A printed ID (ACT-0003) is an identity too, not the English word "act".
    english_lines = [(cmd, line, sorted(words(_ID.sub("", line)) & english - theirs)) for cmd, line in printed
                     if words(_ID.sub("", line)) & english - theirs]
    assert english_cells == [], english_cells
    assert english_lines == [], english_lines
