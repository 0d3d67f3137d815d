"""Faults found by trying issue 12's work as a new user and as an attacker, each a kind,
each with the test that would have caught it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from sheetcrm.i18n import in_locale, ngettext, using
from sheetcrm.report import CODES

from issue_codes import emitted_codes


def test_every_issue_code_sheetcrm_makes_has_a_name_in_each_language():
    """Kind: an issue code shown as is (`lead_identity`, `negative_price`, `unsafe_header`; then
    `workflow_bad_when`, `segment_bad_record` and some 40 more codes of workflows, segments,
    merges, conversions and cases) on a Spanish team's Validation tab and in `validate`'s lines,
    beside codes that are translated. The codes are found by following each issue's code back to
    its literals (tests/issue_codes.py), so a code added later without a name fails here."""
    named = {code for _, code in CODES}
    emitted, unexplained = emitted_codes()
    assert not unexplained, f"code arguments the scan cannot follow (teach tests/issue_codes.py): {unexplained}"
    missing = {code: where for code, where in emitted.items() if code not in named}
    assert not missing, f"issue codes with no name for people (report.CODES): {missing}"
    for code in emitted:
        spanish = in_locale("es", ("issue code", code))
        assert spanish != code, f"{code} has no Spanish name"


def test_the_scan_finds_codes_made_every_way():
    """The scan follows each way a code reaches an issue: a literal at the call, a constant, an
    f-string, a wrapper's parameter, a table of messages keyed by code, a rule's table."""
    emitted, _ = emitted_codes()
    for code in ("bad_email", "missing_tab", "too_long",          # literals, CellError
                 "close_before_created",                          # after a *starred argument
                 "history_row_unread", "merge_two_keeps",         # module constants
                 "workflow_bad_when", "segment_bad_record",       # wrappers looking up _MESSAGES[code]
                 "workflow_template_broken",                      # a code returned by a method, a key of _MESSAGES
                 "workflow_log_missing", "workflow_state_missing",  # an f-string over a table's keys
                 "conversion_no_name", "case_resolved_open",      # Problem(...), PROBLEMS[code]
                 "bad_percent",                                   # a tuple unpacked from a table
                 "lead_identity",                                 # PydanticCustomError
                 "unknown_sku"):                                  # validate's reference rules
        assert code in emitted, code
    assert len(emitted) > 100


def test_a_count_in_a_sentence_is_grouped_as_the_language_writes_it():
    """Kind: `{n}` of a plural message filled with the bare int, so `read 1027 rows` stood beside
    a table that says `1,027`, and Spanish read `1000000` where it writes `1.000.000`."""
    with using("en"):
        assert ngettext("wrote {n} cell to {workbook}", "wrote {n} cells to {workbook}", 1027,
                        workbook="crm.xlsx") == "wrote 1,027 cells to crm.xlsx"
        assert ngettext("{n} row", "{n} rows", 1) == "1 row"
    with using("es"):
        # Spanish plural edges: one (1), many (millions), other (0, 2...), each its own form.
        assert ngettext("{n} row", "{n} rows", 0) == "0 filas"
        assert ngettext("{n} row", "{n} rows", 1) == "1 fila"
        assert ngettext("{n} row", "{n} rows", 2) == "2 filas"
        assert ngettext("{n} row", "{n} rows", 1_000_000) == "1.000.000 filas"
        assert ngettext("{n} error", "{n} errors", 12345) == "12.345 errores"


def test_sync_prints_counts_the_way_its_tables_do(tmp_path):
    """The line above a table and the table agree on how a count is written (a sync of a
    workbook of more than a thousand rows)."""
    book = tmp_path / "big.xlsx"
    env = {**os.environ, "SHEETCRM_LANG": "en"}
    done = subprocess.run([sys.executable, "-m", "sheetcrm", "demo", "--workbook", str(book), "--rows", "600"],
                          capture_output=True, text=True, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    read = next(line for line in done.stdout.splitlines() if line.startswith("read "))
    assert read.startswith("read 3,") and " rows in 10 tabs" in read, read  # the 8 CRM tabs, Campaigns and Cases
    assert re.search(r"^Activities +1,202$", done.stdout, re.M), done.stdout  # two of them answer cases


def test_a_spanish_workbook_synced_without_a_locale_keeps_its_language(tmp_path):
    """Kind: with no `locale` in the config (none at all, or another folder's), a Spanish
    workbook's own tabs were rewritten in English: Validación got `Severity`, `Message`...
    and Panel its KPI names, flipping back with the next sync that had the config. The
    workbook's language (its tabs' titles) decides when the file does not."""
    (tmp_path / "es.toml").write_text('locale = "es"\n', encoding="utf-8")
    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    book = tmp_path / "es.xlsx"
    env = {**os.environ, "SHEETCRM_LANG": "en"}

    def run(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "sheetcrm", *args], capture_output=True, text=True, env=env,
                              cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run("demo", "--config", "es.toml", "--workbook", str(book), "--rows", "40")
    out = run("sync", "--config", "none.toml", "--workbook", str(book))
    # Not a cell rewritten in the other language; and said in the workbook's, as its messages are.
    assert "nada que cambiar" in out, out
    import openpyxl

    header = [c.value for c in openpyxl.load_workbook(book, read_only=True)["Validación"][1]]
    assert header[:2] == ["Gravedad", "Pestaña"], header


def test_a_demo_for_a_euro_team_is_in_euros_and_its_totals_need_no_rates(tmp_path):
    # Found trying it: a demo under `currency = "EUR"` made USD deals, so every total read
    # 0,00 € with all deals left out for a missing rate.
    import datetime as _dt

    from sheetcrm.config import Config as _Config
    from sheetcrm.starter import write_demo
    from sheetcrm.sync import sync as _sync
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    book = XlsxWorkbook(tmp_path / "demo.xlsx")
    today = _dt.date(2026, 11, 30)
    write_demo(book, rows=40, seed=5, today=today, locale="es", currency="EUR")
    outcome = _sync(book, _Config(locale="es", currency="EUR"), as_of=today)
    assert {o.currency for o in outcome.results.opportunities} == {"EUR"}
    assert outcome.results.kpis.team.open_pipeline > 0 and not outcome.results.kpis.missing_rates
