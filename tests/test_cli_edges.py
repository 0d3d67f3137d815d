"""Messages and exit statuses at the edges, in-process over real .xlsx files: click's usage
errors in the config's language, `init` writing the team's language, a half-saved workbook, a
database's error said in Spanish, a fleet's lines naming their workbook."""

from __future__ import annotations

import io
import logging
import os

import openpyxl
import pytest
from click.testing import CliRunner

from books import xlsx
from sheetcrm import i18n, logs, show
from sheetcrm.cli import main
from sheetcrm.config import ConfigError, load_config
from sheetcrm.fleet.clock import VirtualClock
from sheetcrm.fleet.runner import Fleet
from sheetcrm.fleet.settings import load_fleet
from sheetcrm.workbook import WorkbookError
from sheetcrm.workbook.xlsx import XlsxWorkbook

LEADS = [["ID", "Last Name", "Company", "Status"], ["", "Adams", "A Co", "New"]]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "SHEETCRM_WAREHOUSE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("SHEETCRM_LANG", "en")
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("args, says", [
    (("forecast", "--months", "99"), "Valor no válido para '--months': 99 no está en el intervalo"),
    (("demo", "--rows", "abc"), "Valor no válido para '--rows': 'abc' no es un número entero válido."),
    # Was "'2,5' no es un número válido": it is one; every number option of the CLI wants a whole one.
    (("demo", "--rows", "2,5"), "Valor no válido para '--rows': '2,5' no es un número entero válido."),
    (("import", "leads.csv"), "Falta una opción '--tab'. Elige entre:"),
    (("kpi",), "No existe el comando 'kpi'. ¿Querías decir 'kpis'?"),
    # Written as asked, but no such day: not "not a date written AAAA-MM-DD".
    (("kpis", "--as-of", "2026-02-30"), "'--as-of': 2026-02-30: ese día no existe"),
])
def test_a_usage_error_speaks_the_configs_language_not_the_environments(folder, args, says):
    (folder / "sheetcrm.toml").write_text('locale = "es"\n')
    done = invoke(*args)
    assert done.exit_code == 2, done.output
    assert says in done.stderr and "Uso:" in done.stderr, done.stderr
    if args[0] == "import":  # the argument's name too, translated at import in the environment's
        assert "[OPCIONES] ARCHIVO" in done.stderr, done.stderr


def test_init_for_a_spanish_team_writes_an_active_spanish_locale(folder, monkeypatch):
    monkeypatch.setenv("SHEETCRM_LANG", "es")
    done = invoke("init")
    assert done.exit_code == 0, done.output
    assert load_config().locale == "es"
    assert "Cuentas" in openpyxl.load_workbook(folder / "crm.xlsx").sheetnames
    assert "escrito sheetcrm.toml" in done.stdout, done.stdout


def test_a_half_saved_workbook_is_said_to_be_half_saved(folder):
    xlsx(folder / "crm.xlsx", {"Leads": LEADS})
    data = (folder / "crm.xlsx").read_bytes()
    (folder / "crm.xlsx").write_bytes(data[:len(data) // 2])
    os.utime(folder / "crm.xlsx", (0, 0))  # long ago: a save that stopped, not one in progress
    with pytest.raises(WorkbookError) as caught:
        XlsxWorkbook(str(folder / "crm.xlsx")).read()
    assert "looks half-saved" in str(caught.value) and "not an .xlsx" not in str(caught.value)


def test_serve_sync_every_past_a_day_is_a_config_error(folder):
    # 1e300 seconds overflowed the drain thread's wait: it died, and no post reached the workbook.
    (folder / "sheetcrm.toml").write_text("[serve]\nsync_every = 1e300\n")
    with pytest.raises(ConfigError, match="serve.sync_every"):
        load_config()


def test_score_on_a_tab_without_leads_says_so_rather_than_an_empty_table(folder):
    xlsx(folder / "crm.xlsx", {"Leads": LEADS[:1]})
    done = invoke("score")
    assert done.exit_code == 0, done.output
    assert done.stdout.rstrip().endswith("no leads to score") and "Grade" not in done.stdout, done.stdout


def test_a_band_of_percentages_is_written_the_readers_way():
    assert show.band(40, 50) == "40-50%"
    with i18n.using("es"):
        assert show.band(40, 50) == "40–50\xa0%"


def test_a_database_error_is_said_in_spanish_with_the_drivers_words(folder):
    from sheetcrm.warehouse import mirror
    from sheetcrm.warehouse.settings import WarehouseError, WarehouseSettings

    (folder / "crm.db").write_text("not a database")
    with i18n.using("es"), pytest.raises(WarehouseError) as caught:
        mirror.status(WarehouseSettings(url="sqlite:///crm.db"))
    assert str(caught.value) == ("almacén de datos sqlite:///crm.db: no se pueden leer las tablas "
                                 "(sqlite3: file is not a database)")


@pytest.fixture
def fleet_log(folder):
    """The fleet's log as `sheetcrm run --fleet` sets it up, into a string."""
    logger = logging.getLogger(logs.LOGGER)
    kept = logger.handlers[:], logger.propagate, logger.level
    stream = io.StringIO()
    logger, _console = logs.setup("text", stream)
    yield logger, stream
    logger.handlers[:], logger.propagate, logger.level = kept


def test_a_fleet_members_warehouse_line_names_its_workbook(folder, fleet_log):
    xlsx(folder / "a.xlsx", {"Leads": LEADS})
    (folder / "a.toml").write_text('[warehouse]\nurl = "sqlite:////proc/no/crm.db"\nattempts = 1\n')
    (folder / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\nconfig = "a.toml"\n')
    logger, stream = fleet_log
    Fleet(load_fleet(folder / "fleet.toml"), logger, clock=VirtualClock(), poll=None,
          write_state_file=False).run_once()
    said = [line for line in stream.getvalue().splitlines() if "not mirrored" in line and "sqlite" in line]
    assert said and all(" a: warehouse sqlite:" in line for line in said), stream.getvalue()
