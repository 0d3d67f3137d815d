"""A new user's first steps, as the README has them, run as the sheetcrm command itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sheetcrm(*args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEETCRM_", "SHEETS_EMULATOR"))}
    env.update(SHEETCRM_LANG=lang, XDG_CACHE_HOME=str(cwd / ".cache"),
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_a_command_after_the_demo_names_the_demos_workbook_not_the_demo_again(tmp_path):
    """Kind: after `sheetcrm demo`, a command without --workbook (docs/segments.md's second and
    third examples) said "crm.xlsx: no such workbook; run `sheetcrm init` or `sheetcrm demo` to
    create one"; the demo never writes crm.xlsx, so running it again led back to the same line.
    The line now says where the demo is and how to name it, and following it works."""
    assert sheetcrm("demo", cwd=tmp_path).returncode == 0
    done = sheetcrm("kpis", cwd=tmp_path)
    demo = tmp_path / "demo-crm.xlsx"
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"sheetcrm: {tmp_path / 'crm.xlsx'}: no such workbook; the demo's is {demo}: add `--workbook {demo}` "
        f"to use it, or run `sheetcrm init --workbook {tmp_path / 'crm.xlsx'}` to create this one")
    assert sheetcrm("kpis", "--workbook", str(demo), cwd=tmp_path).returncode == 0
    es = sheetcrm("segment", "Hot referrals", "--format", "csv-plain", cwd=tmp_path, lang="es")
    assert es.returncode == 2 and es.stderr.strip() == (
        f"sheetcrm: {tmp_path / 'crm.xlsx'}: no existe ese libro; el de la demostración es {demo}: añade "
        f"`--workbook {demo}` para usarlo, o ejecuta `sheetcrm init --workbook {tmp_path / 'crm.xlsx'}` "
        "para crear este")


def test_a_missing_workbook_is_told_the_command_that_creates_that_very_file(tmp_path):
    """Kind: "run `sheetcrm init` or `sheetcrm demo`" for --workbook team.xlsx: a bare init makes
    the config's workbook (crm.xlsx), a bare demo demo-crm.xlsx, never team.xlsx."""
    done = sheetcrm("validate", "--workbook", "team book.xlsx", cwd=tmp_path)
    shown = f"'{tmp_path / 'team book.xlsx'}'"
    assert done.returncode == 2 and done.stderr.strip().endswith(
        f"no such workbook; run `sheetcrm init --workbook {shown}` to create it "
        f"(`sheetcrm demo --workbook {shown}` for a demo)"), done.stderr
    assert sheetcrm("init", "--workbook", "team book.xlsx", cwd=tmp_path).returncode == 0
    assert sheetcrm("validate", "--workbook", "team book.xlsx", cwd=tmp_path).returncode == 0


def test_the_spanish_starter_config_names_the_rates_tab_as_a_spanish_workbook_has_it(tmp_path):
    """Kind: English in Spanish output. The Spanish sheetcrm.toml that `init` writes told a team to
    add "una pestaña Rates (Currency, Rate = …)", where every Spanish hint names the tab Tipos de
    cambio; the Spanish names it gives now are ones a Spanish workbook is read by."""
    import openpyxl

    assert sheetcrm("init", cwd=tmp_path, lang="es").returncode == 0
    text = (tmp_path / "sheetcrm.toml").read_text(encoding="utf-8")
    assert "pestaña Tipos de cambio (Moneda, Tipo = valor de 1 unidad en esta moneda)" in text
    assert "Rates" not in text and "Currency" not in text
    book = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    book["Cuentas"].append(["", "Café Núñez"])
    book["Oportunidades"].append(["", "Máquina", "Café Núñez", "", "", "Propuesta", "1.000 €"])
    rates = book.create_sheet("Tipos de cambio")
    rates.append(["Moneda", "Tipo"])
    rates.append(["EUR", "1,10"])
    book.save(tmp_path / "crm.xlsx")
    done = sheetcrm("kpis", "--format", "json", cwd=tmp_path, lang="es")
    assert done.returncode == 0, done.stderr
    import json
    assert json.loads(done.stdout)["open_pipeline"] == "1100.00", done.stdout
