"""An operator's mistakes on the command line, as a real process: each is one line on stderr
naming what to fix, exit 2, never click's usage text, a traceback, or a flag silently ignored."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from books import crm_tabs, xlsx

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("SHEETCRM_WAREHOUSE_URL", "LANGUAGE", "LC_ALL", "SHEETS_EMULATOR_HOST",
                          "GOOGLE_APPLICATION_CREDENTIALS")}
    return {**clean, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache"), "LANG": "C.UTF-8",
            "SHEETCRM_LANG": "en"}


def sheetcrm(*args: str, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def one_line(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr and "Usage:" not in out.stderr, out.stderr
    assert out.stderr.startswith("sheetcrm: "), out.stderr
    return out.stderr


# -- an OAuth client file where no browser can sign in ------------------------------------

def test_an_oauth_client_file_on_a_machine_without_a_browser_says_what_to_do(tmp_path, env):
    secret = "GOCSPX-SECRETVALUE123"
    (tmp_path / "client.json").write_text(json.dumps({"installed": {
        "client_id": "x.apps.googleusercontent.com", "client_secret": secret,
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
        "redirect_uris": ["http://localhost"]}}))
    # A headless server: no display, no browser on the PATH, no token signed in before.
    headless = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}
    headless.update(HOME=str(tmp_path / "home"), PATH=os.path.dirname(sys.executable))
    out = sheetcrm("validate", "--spreadsheet", "1AbCdefGHIJ", "--credentials", "client.json", env=headless,
                   cwd=tmp_path)
    line = one_line(out)
    assert line.startswith("sheetcrm: client.json is an OAuth client file: signing in with it needs a web browser, "
                           "and this machine has none; run a sheetcrm command with it once on a machine with a browser "
                           "and copy "), line
    assert "authorized_user.json" in line and "service account" in line, line
    assert secret not in out.stdout + out.stderr


# -- intervals ------------------------------------------------------------------------------

def test_a_huge_interval_is_one_line_naming_the_flag_or_the_setting(tmp_path, env):
    xlsx(tmp_path / "crm.xlsx", crm_tabs())
    line = one_line(sheetcrm("run", "--every", "99999999h", env=env, cwd=tmp_path))
    assert line == "sheetcrm: --every: 'every 99999999h': at most a year between two runs (every 365 days)\n"
    # The whole phrase, as the flag's own message writes it, is the same interval (not "every every ...").
    line = one_line(sheetcrm("run", "--every", "every 99999999 hours", env=env, cwd=tmp_path))
    assert line == "sheetcrm: --every: 'every 99999999 hours': at most a year between two runs (every 365 days)\n"
    (tmp_path / "sheetcrm.toml").write_text('[schedule]\nsync = "every 99999999 hours"\n')
    line = one_line(sheetcrm("run", "--once", env=env, cwd=tmp_path))
    assert line.startswith("sheetcrm: sheetcrm.toml: schedule.sync: 'every 99999999 hours': at most a year"), line


@pytest.mark.parametrize("phrase", ["every monday at 25:00", "every day at 08:00:60"])
def test_a_time_of_day_no_clock_shows_is_one_line_and_exit_2(tmp_path, env, phrase):
    """A weekday's time was never checked, nor seconds: the config loaded, and `sheetcrm run`
    stopped with a ValueError traceback ("second must be in 0..59") as it scheduled the job."""
    xlsx(tmp_path / "crm.xlsx", crm_tabs())
    (tmp_path / "sheetcrm.toml").write_text(f'[schedule]\nsync = "{phrase}"\n')
    out = sheetcrm("run", env=env, cwd=tmp_path)
    line = one_line(out)
    at = phrase.rsplit(" ", 1)[1]
    assert line == f"sheetcrm: sheetcrm.toml: schedule.sync: {phrase!r}: {at} is not a time of day\n", line
    assert "Traceback" not in out.stderr


def test_a_year_is_the_longest_interval():
    from sheetcrm.every import parse_every

    assert parse_every("every 365 days").period == 365 * 86400
    assert parse_every("every 52 weeks").period == 52 * 7 * 86400
    for text in ("every 366 days", "every 53 weeks", "every 8761 hours"):
        with pytest.raises(ValueError, match="at most a year"):
            parse_every(text)


# -- a flag given an empty value -------------------------------------------------------------

def test_a_path_flag_given_an_empty_value_is_one_line_naming_the_flag(tmp_path, env):
    """`--workbook "$WB"` with WB unset was taken as no flag: validate and sync ran on ./crm.xlsx,
    another workbook than meant; `--config ""` said ".: cannot read: it is a folder". Reviewing
    that fix: `fleet status --fleet ""` still said "it is a folder", `quote --out ""` wrote the
    preview in the current folder and `emulator --data ""` failed on it."""
    xlsx(tmp_path / "crm.xlsx", crm_tabs())
    said = "is empty: give it a value, or leave the flag out for the default\n"
    for args in (["sync", "--workbook", ""], ["validate", "--config", ""], ["validate", "--credentials", " "],
                 ["validate", "--spreadsheet", ""], ["warehouse", "status", "--config", ""],
                 ["run", "--once", "--fleet", ""], ["fleet", "status", "--fleet", ""],
                 ["quote", "OPP-0001", "--out", ""], ["emulator", "--data", ""]):
        flag = next(a for a in args if a.startswith("--") and a != "--once")
        assert one_line(sheetcrm(*args, env=env, cwd=tmp_path)) == f"sheetcrm: {flag} {said}", args
    assert "Validation" not in openpyxl.load_workbook(tmp_path / "crm.xlsx").sheetnames  # sync wrote nothing
    es = one_line(sheetcrm("validate", "--config", "", env={**env, "SHEETCRM_LANG": "es"}, cwd=tmp_path))
    assert es == "sheetcrm: --config está vacío: dale un valor, o quita la opción para usar el valor por omisión\n"


# -- two workbooks named --------------------------------------------------------------------

@pytest.mark.parametrize("command", [["validate"], ["sync"], ["init"], ["kpis"], ["demo"],
                                     ["import", "leads.csv", "--tab", "leads"], ["run", "--once"]])
def test_workbook_and_spreadsheet_together_are_refused_and_nothing_is_written(tmp_path, env, command):
    book = xlsx(tmp_path / "y.xlsx", crm_tabs())
    (tmp_path / "leads.csv").write_text("Last Name,Email\nWebb,web1@example.org\n")
    before = book.read_bytes()
    out = sheetcrm(*command, "--workbook", "y.xlsx", "--spreadsheet", "1JWZsQLwgnWd_6rz85lKNsWLDs045IHiWLc",
                   env=env, cwd=tmp_path)
    assert one_line(out) == "sheetcrm: --workbook and --spreadsheet each name a workbook; give one of them\n"
    assert book.read_bytes() == before and not (tmp_path / "sheetcrm.toml").exists()


# -- paths that are folders, files that are not there ---------------------------------------

@pytest.mark.parametrize("args, says", [
    (["validate", "--spreadsheet", "1AbCdefGHIJ", "--credentials", "folder"], "sheetcrm: folder: cannot read: it is a folder\n"),
    (["validate", "--workbook", "folder.xlsx"], "is a folder, not an .xlsx workbook\n"),
    (["validate", "--config", "folder"], "sheetcrm: folder: cannot read: it is a folder\n"),
    (["import", "nofile.csv", "--tab", "leads"], "sheetcrm: nofile.csv: cannot read: no such file or folder\n"),
    (["import", "folder", "--tab", "leads"], "sheetcrm: folder: cannot read: it is a folder\n"),
])
def test_a_folder_or_a_missing_file_is_one_line_in_the_catalogues_words(tmp_path, env, args, says):
    xlsx(tmp_path / "crm.xlsx", crm_tabs())
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder.xlsx").mkdir()
    line = one_line(sheetcrm(*args, env=env, cwd=tmp_path))
    assert line.endswith(says), line


UNREADABLE = ROOT / "tests" / "fixtures" / "unreadable"


@pytest.mark.parametrize("command", [["validate", "--workbook", "crm.xlsx"], ["sync", "--workbook", "crm.xlsx"],
                                     ["import", "crm.xlsx", "--tab", "accounts", "--workbook", "team.xlsx"]])
@pytest.mark.parametrize("language, says", [
    ("en", "the workbook is protected with a password (encrypted), which sheetcrm cannot read; "),
    ("es", "el libro está protegido con contraseña (cifrado), y sheetcrm no puede leerlo; "),
])
def test_a_password_protected_xlsx_is_said_to_be_protected_not_to_be_no_xlsx(tmp_path, env, command, language, says):
    """It was "not an .xlsx workbook; save it from your spreadsheet app as an Excel workbook
    (.xlsx)": the reader, holding an .xlsx Excel opens, had no idea what to change."""
    (tmp_path / "crm.xlsx").write_bytes((UNREADABLE / "password_protected.xlsx").read_bytes())
    xlsx(tmp_path / "team.xlsx", crm_tabs())
    line = one_line(sheetcrm(*command, env={**env, "SHEETCRM_LANG": language}, cwd=tmp_path))
    assert says in line and ".xlsx workbook;" not in line, line
    assert "secret" not in line


@pytest.mark.parametrize("language, says", [
    ("en", "excel97_leads.xls: an Excel 97-2003 workbook (.xls) or another binary Office file, which sheetcrm does "
           "not read; save it from your spreadsheet app as an Excel workbook (.xlsx) or as CSV, then import again\n"),
    ("es", "excel97_leads.xls: es un libro de Excel 97-2003 (.xls) u otro archivo binario de Office, que sheetcrm no "
           "lee; guárdalo desde tu aplicación de hojas de cálculo como libro de Excel (.xlsx) o como CSV y vuelve a "
           "importar\n"),
])
def test_an_xls_to_import_is_said_to_be_an_xls_not_utf16_text(tmp_path, env, language, says):
    """A real .xls (LibreOffice's Excel 97-2003) was read as text and refused as "UTF-16 text
    without its byte order mark; save it again as UTF-8": a false hint."""
    (tmp_path / "excel97_leads.xls").write_bytes((UNREADABLE / "excel97_leads.xls").read_bytes())
    book = xlsx(tmp_path / "crm.xlsx", crm_tabs())
    before = book.read_bytes()
    line = one_line(sheetcrm("import", "excel97_leads.xls", "--tab", "leads", env={**env, "SHEETCRM_LANG": language},
                             cwd=tmp_path))
    assert line == f"sheetcrm: {says}", line
    assert book.read_bytes() == before


@pytest.mark.parametrize("file, text, args, says", [
    # A traceback ending in "ValueError: embedded null byte", exit 1.
    ("sheetcrm.toml", 'workbook = "crm\\u0000.xlsx"\n', ["validate"],
     "sheetcrm: sheetcrm.toml: workbook: holds a NUL character (\\u0000), which no setting can hold; remove it\n"),
    ("sheetcrm.toml", 'spreadsheet = "1Zl7W5tjfkOpLwO1K5uLseiCuJHOA_9zHViFLS5KveHv"\ncredentials = "key\\u0000.json"\n',
     ["sync"],
     "sheetcrm: sheetcrm.toml: credentials: holds a NUL character (\\u0000), which no setting can hold; remove it\n"),
    ("sheetcrm.toml", 'locale = "es"\ntemplates = "plantillas\\u0000"\n', ["validate"],
     "sheetcrm: sheetcrm.toml: templates: contiene un carácter NUL (\\u0000), que ningún ajuste puede contener; "
     "quítalo\n"),
    # "sheetcrm: fleet.toml: embedded null byte": Python's English, naming no key.
    ("fleet.toml", '[[workbook]]\nname = "a"\nworkbook = "a\\u0000.xlsx"\n',
     ["fleet", "status", "--fleet", "fleet.toml"],
     "sheetcrm: fleet.toml: workbook.1.workbook: holds a NUL character (\\u0000), which no setting can hold; "
     "remove it\n"),
])
def test_a_nul_in_a_config_or_fleet_file_is_one_line_naming_its_key(tmp_path, env, file, text, args, says):
    xlsx(tmp_path / "crm.xlsx", crm_tabs())
    (tmp_path / file).write_text(text, encoding="utf-8")
    assert one_line(sheetcrm(*args, env=env, cwd=tmp_path)) == says


def test_a_folder_for_the_config_is_said_in_spanish_too(tmp_path, env):
    (tmp_path / "carpeta").mkdir()
    line = one_line(sheetcrm("validate", "--config", "carpeta", env={**env, "SHEETCRM_LANG": "es"}, cwd=tmp_path))
    assert line == "sheetcrm: carpeta: no se puede leer: es una carpeta\n", line
