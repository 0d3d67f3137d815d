"""What a command imports: every `sheetcrm` command, cron's `validate`, `kpis` and `sync` among
them, pays for each module it imports before it does anything. scikit-learn, LightGBM, SciPy
and numpy are for the learned lead model, openpyxl for creating, rebuilding and charting a
workbook (a read is calamine's, a change a patch of the package), gspread and google-auth for
Google, SQLAlchemy and psycopg for the warehouse, aiosmtpd for the test mail server. A command
that needs none of them imports none: a top-level import of one of them anywhere on these
paths fails here, rather than slowing every command by a few tenths of a second unseen.

Counted in sys.modules of a fresh process (no clock): docs/benchmarks.md has the seconds."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

from books import crm_tabs, xlsx
from in_process import cli

# Needed by none of: importing the CLI, and a validate, kpis or sync of an .xlsx workbook whose
# leads are scored by rules, with a sync that changes cells but adds no tab or chart.
NOT_NEEDED = ("sklearn", "lightgbm", "scipy", "numpy", "pandas", "openpyxl", "gspread", "google.auth",
              "google.oauth2", "requests", "httpx", "sqlalchemy", "psycopg", "aiosmtpd")

_RUN = textwrap.dedent("""
    import json, sys
    from click.testing import CliRunner
    from sheetcrm.cli import main
    seen = {"import": sorted(sys.modules)}
    for args in json.loads(sys.argv[1]):
        done = CliRunner().invoke(main, args)
        assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
        seen[args[0] if args[0] not in seen else " ".join(args)] = {"modules": sorted(sys.modules), "exit": done.exit_code, "out": done.stdout}
    print(json.dumps(seen))
""")


def _loaded(modules: list[str]) -> list[str]:
    return [name for name in NOT_NEEDED if any(m == name or m.startswith(name + ".") for m in modules)]


def _run(*commands: list[str], cwd: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _RUN, json.dumps(commands)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _book(tmp_path: Path) -> Path:
    header = ["ID", "First Name", "Last Name", "Company", "Email", "Source", "Status", "Owner", "Created"]
    # Names no two alike: a block of many similar names is compared as one rapidfuzz matrix, a
    # numpy array (crm.duplicates), which is numpy needed.
    people = [("Ana", "Pérez"), ("Ben", "Carter"), ("Chloé", "Martin"), ("Diego", "Ruiz"), ("Eva", "Schmidt"),
              ("Farid", "Haddad"), ("Greta", "Olsen"), ("Hiro", "Tanaka"), ("Inés", "Moreno"), ("Jonas", "Berg"),
              ("Kofi", "Mensah"), ("Lena", "Novak")]
    leads = [header] + [[f"LEAD-{i:04d}", first, last, f"{last} GmbH", f"{first.lower()}@{last.lower()}.example",
                         "Web", ("New", "Converted", "Unqualified")[i % 3], "Marta", dt.date(2026, 10, i)]
                        for i, (first, last) in enumerate(people, 1)]
    return xlsx(tmp_path / "crm.xlsx", crm_tabs(Leads=leads))


def test_importing_the_cli_and_reading_an_xlsx_import_no_library_they_do_not_use(tmp_path):
    book = str(_book(tmp_path))
    seen = _run(["--help"], ["kpis", "--workbook", str(tmp_path / "missing.xlsx")], ["validate", "--workbook", book],
                ["kpis", "--workbook", book], ["score", "--workbook", book], cwd=tmp_path)
    missing = seen["kpis"]
    assert missing["exit"] == 2  # the missing workbook: one line, before any table
    seen["kpis"] = seen.pop(f"kpis --workbook {book}")
    assert seen["validate"]["exit"] in (0, 1) and seen["kpis"]["exit"] == 0 and seen["score"]["exit"] == 0
    assert "rules" in seen["score"]["out"] or "reglas" in seen["score"]["out"]  # too few decided leads to learn
    # jinja2 makes the workflows' Subjects and the quote emails, which a command that reads the
    # workbook looks at (mail.outbox); `--help` and a mistyped option do not. lark parses the
    # conditions of workflow rules and segments, which this CRM has none of.
    assert _loaded(seen["import"]) == [] and "jinja2" not in seen["import"]
    assert all("lark" not in seen[command]["modules"] for command in ("validate", "kpis", "score"))
    assert "lark" not in seen["import"]
    # rich draws tables and bars: --help and a command that fails at once draw neither
    # (validate, kpis and score print tables).
    assert _loaded(seen["--help"]["modules"]) == []
    assert not {"rich", "jinja2", "lark"} & set(seen["--help"]["modules"])
    assert "rich" not in missing["modules"]
    assert _loaded(seen["validate"]["modules"]) == []
    assert _loaded(seen["kpis"]["modules"]) == []
    assert _loaded(seen["score"]["modules"]) == []


def test_a_sync_scored_by_rules_imports_no_model_library_nor_openpyxl(tmp_path):
    book = _book(tmp_path)
    assert cli("sync", "--workbook", book, "--as-of", "2026-11-23").returncode == 0  # its tabs and charts made
    before = book.read_bytes()
    seen = _run(["sync", "--workbook", str(book), "--as-of", "2026-11-30"], cwd=tmp_path)
    assert seen["sync"]["exit"] == 0
    assert book.read_bytes() != before  # the week moved computed cells: a real write
    assert _loaded(seen["sync"]["modules"]) == []
    assert "lark" not in seen["sync"]["modules"]  # no workflow rule nor segment to parse
    after = book.read_bytes()
    again = _run(["sync", "--workbook", str(book), "--as-of", "2026-11-30"], cwd=tmp_path)["sync"]
    assert again["exit"] == 0 and book.read_bytes() == after  # nothing to change
    assert _loaded(again["modules"]) == [] and "rich" not in again["modules"]  # a no-op draws no table


def test_the_a1_columns_and_formats_sheetcrm_keeps_are_openpyxls():
    """What the read and the patch took over from openpyxl answers as openpyxl does."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
    from openpyxl.utils import column_index_from_string, get_column_letter, quote_sheetname

    from sheetcrm.workbook import numformat, xlsx_patch

    for col in range(1, 18_279):
        letters = get_column_letter(col)
        assert xlsx_patch.column_letter(col) == letters
        assert xlsx_patch.column_index(letters) == xlsx_patch.column_index(letters.lower()) == col
    for wrong in ("", "AAAA", "A1", "1", "É", " A", "A "):
        for index in (column_index_from_string, xlsx_patch.column_index):
            try:
                index(wrong)
            except ValueError:
                continue
            raise AssertionError(f"{index} took {wrong!r}")
    for wrong in (0, -1, 18_279):
        for letter in (get_column_letter, xlsx_patch.column_letter):
            try:
                letter(wrong)
            except ValueError:
                continue
            raise AssertionError(f"{letter} took {wrong!r}")
    for title in ("Leads", "Pipeline 2026", "Tom's deals", "''", "Año"):
        assert xlsx_patch.quote_sheetname(title) == quote_sheetname(title)
    assert xlsx_patch.ILLEGAL_CHARACTERS_RE.pattern == ILLEGAL_CHARACTERS_RE.pattern
    assert numformat.BUILTIN_FORMATS == BUILTIN_FORMATS
    codes = [*BUILTIN_FORMATS.values(), None, "", "[$-409]d/m/yyyy", '"day"0', "[h]:mm", "[mm]:ss", "[Red]0.00",
             "_d0", "\\d0", "yyyy-mm-dd;@", "0;d", "[$€-407]#,##0", '"Días" 0', "dd/mm/aaaa", "0.0 \"h\""]
    assert [numformat.is_date_format(c) for c in codes] == [is_date_format(c) for c in codes]
