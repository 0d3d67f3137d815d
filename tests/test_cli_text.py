"""Text output is for people: the team's language, numbers written its way, KPI labels rather
than keys, right plurals, aligned tables, and plain text when piped."""

from __future__ import annotations

import os
import subprocess
import sys

import openpyxl

NBSP = "\xa0"


def sheetcrm(*args: str, cwd, lang: str = "C.UTF-8") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "SHEETCRM_LANG")}
    env["LANG"] = lang
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def workbook(folder, bad_amounts: int = 0) -> None:
    """12 won, 7 lost (63.2 %), 12,345.50 won each... and `bad_amounts` amounts in words."""
    wb = openpyxl.Workbook()
    wb.active.title = "Accounts"
    wb.active.append(["ID", "Name"])
    wb.active.append(["ACC-0001", "Acme"])
    opps = wb.create_sheet("Opportunities")
    opps.append(["ID", "Name", "Account", "Stage", "Amount"])
    for n, stage in enumerate(["Closed Won"] * 12 + ["Closed Lost"] * 7, 1):
        opps.append([f"OPP-{n:04d}", f"Deal {n}", "Acme", stage, 1234.5])
    for n in range(bad_amounts):
        opps.append([f"OPP-{100 + n:04d}", "Bad", "Acme", "Proposal", "lots"])
    wb.save(folder / "crm.xlsx")


def test_kpis_in_english_and_in_spanish(tmp_path):
    workbook(tmp_path)
    english = sheetcrm("kpis", cwd=tmp_path)
    assert english.returncode == 0, english.stderr
    assert "Win rate" in english.stdout and "win_rate" not in english.stdout
    line = next(l for l in english.stdout.splitlines() if l.startswith("Win rate"))
    assert line.endswith("63.2%")
    assert "$14,814.00" in english.stdout  # 12 × 1,234.50
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\ncurrency = "EUR"\n', encoding="utf-8")
    spanish = sheetcrm("kpis", cwd=tmp_path)
    assert spanish.returncode == 0, spanish.stderr
    line = next(l for l in spanish.stdout.splitlines() if l.startswith("Tasa de éxito"))
    assert line.endswith(f"63,2{NBSP}%")
    assert f"14.814,00{NBSP}€" in spanish.stdout
    assert "\x1b" not in english.stdout + spanish.stdout  # piped: plain text


def test_tables_line_up(tmp_path):
    workbook(tmp_path)
    lines = sheetcrm("kpis", cwd=tmp_path).stdout.splitlines()
    table = lines[1:lines.index("")]
    # The values are right-aligned: every row of the first table ends in the same column.
    assert len({len(l) for l in table}) == 1, table
    assert all(l == l.rstrip() for l in lines)


def test_plurals_come_from_the_catalogue(tmp_path):
    workbook(tmp_path, bad_amounts=1)
    one = sheetcrm("validate", cwd=tmp_path)
    assert one.returncode == 1
    assert ", 1 error," in one.stdout.splitlines()[0] and "1 errors" not in one.stdout
    workbook(tmp_path, bad_amounts=2)
    two = sheetcrm("validate", cwd=tmp_path)
    assert ", 2 errors," in two.stdout.splitlines()[0]
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n', encoding="utf-8")
    spanish = sheetcrm("validate", cwd=tmp_path)
    assert ", 2 errores," in spanish.stdout.splitlines()[0]


def test_help_speaks_the_environment_language_and_shows_a_readable_date(tmp_path):
    english = sheetcrm("sync", "--help", cwd=tmp_path)
    assert "--as-of YYYY-MM-DD" in english.stdout and "%Y" not in english.stdout
    spanish = sheetcrm("sync", "--help", cwd=tmp_path, lang="es_ES.UTF-8")
    assert "--as-of AAAA-MM-DD" in spanish.stdout
    assert "La fecha de la sincronización" in spanish.stdout
    # --as-of's default is the team's today (team_time), not the machine's: said in either language.
    flat = " ".join(english.stdout.split()), " ".join(spanish.stdout.split())
    assert "(default: today in the team's time zone)" in flat[0]
    assert "(por defecto: hoy en la zona horaria del equipo)" in flat[1]
    kpis = " ".join(sheetcrm("kpis", "--help", cwd=tmp_path, lang="es_ES.UTF-8").stdout.split())
    assert "La fecha para la que calcular (por defecto: hoy en la zona horaria del equipo)" in kpis
    # click's own words too: its usage line, section titles and errors.
    assert spanish.stdout.startswith("Uso:") and "Opciones:" in spanish.stdout and "Options:" not in spanish.stdout
    wrong = sheetcrm("sync", "--nope", cwd=tmp_path, lang="es_ES.UTF-8")
    assert wrong.returncode == 2 and "No existe la opción '--nope'." in wrong.stderr


def test_a_config_error_speaks_before_the_config_is_known(tmp_path):
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\nnope = 1\n', encoding="utf-8")
    done = sheetcrm("kpis", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_clicks_words_about_a_bad_value_speak_the_environment_language_too():
    """A choice, a range or a date typed wrong was said in click's English inside a Spanish line
    ("Valor no válido para '--tab': 'deals' is not one of …"), the date with strptime's pattern
    ('%Y-%m-%d'), not the one --help shows. In process: the exit status and words, no subprocess."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    runner = CliRunner(env={"SHEETCRM_LANG": None, "LANGUAGE": "es", "LC_ALL": None, "LC_MESSAGES": None})
    said = {args[0]: runner.invoke(main, args) for args in (["kpis", "--as-of", "13/01/2026"],
                                                             ["forecast", "--months", "0"],
                                                             ["import", "x.csv", "--tab", "deals"])}
    assert all(done.exit_code == 2 for done in said.values())
    assert said["kpis"].stderr.endswith("Error: Valor no válido para '--as-of': 13/01/2026: no es una fecha "
                                        "escrita AAAA-MM-DD\n")
    assert said["forecast"].stderr.endswith("'--months': 0 no está en el intervalo 1<=x<=36.\n")
    assert said["import"].stderr.endswith("'--tab': 'deals' no es ninguno de 'leads', 'contacts', 'accounts', "
                                          "'opportunities'.\n")


def test_the_usage_line_speaks_the_help_language_too(tmp_path):
    """click writes "[OPTIONS]" and "COMMAND [ARGS]..." as literals: a Spanish help read
    "Uso: sheetcrm segment [OPTIONS] NAME" above "NAME es un segmento…". The group's words are
    rendered in process; a metavar is fixed at import, so segment's is seen in a subprocess."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    runner = CliRunner(env={"SHEETCRM_LANG": None, "LANGUAGE": "es", "LC_ALL": None, "LC_MESSAGES": None})
    outbox = runner.invoke(main, ["outbox", "--help"])
    assert outbox.exit_code == 0
    assert outbox.stdout.splitlines()[0].endswith("outbox [OPCIONES] COMANDO [ARGUMENTOS]...")
    assert runner.invoke(main, ["kpis", "--help"]).stdout.splitlines()[0].endswith("kpis [OPCIONES]")
    segment = sheetcrm("segment", "--help", cwd=tmp_path, lang="es_ES.UTF-8")
    assert segment.stdout.startswith("Uso: python -m sheetcrm segment [OPCIONES] NOMBRE\n")
    assert "NOMBRE es un segmento" in segment.stdout and "NAME" not in segment.stdout
    english = runner.invoke(main, ["outbox", "--help"], env={"LANGUAGE": "en"})
    assert english.stdout.splitlines()[0].endswith("outbox [OPTIONS] COMMAND [ARGS]...")


def test_an_options_value_is_named_in_the_help_language(tmp_path):
    """click names a value by its type's English name when the option gives none: a Spanish
    help read "--rows INTEGER RANGE", "--host TEXT". Fixed at import, so seen in a subprocess."""
    for command, options in (("demo", ("--rows ENTERO ACOTADO", "--seed ENTERO")),
                             ("emulator", ("--host TEXTO", "--port ENTERO ACOTADO"))):
        shown = sheetcrm(command, "--help", cwd=tmp_path, lang="es_ES.UTF-8")
        assert shown.returncode == 0 and all(o in shown.stdout for o in options), shown.stdout
        assert not {"INTEGER", "RANGE", "TEXT"} & set(shown.stdout.split()), shown.stdout
    english = sheetcrm("demo", "--help", cwd=tmp_path)
    assert "--rows INTEGER RANGE" in english.stdout and "--seed INTEGER" in english.stdout


def test_help_is_all_in_one_language_under_a_spanish_config(tmp_path, monkeypatch):
    """--help speaks the environment's language (its texts are translated when the CLI is
    imported), but click made its own "-h, --help" line while the command line was parsed, under
    the config's `locale`: an English help ended in "Muestra este mensaje y termina.". In process."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner(env={"SHEETCRM_LANG": "en", "LANGUAGE": None, "LC_ALL": None, "LC_MESSAGES": None})
    for args in (["--help"], ["kpis", "--help"], ["outbox", "--help"]):
        shown = runner.invoke(main, args)
        assert shown.exit_code == 0
        assert "Show this message and exit." in shown.stdout and "Muestra" not in shown.stdout, args
