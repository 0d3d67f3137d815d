"""Every command speaks the team's language: the config's `locale`, else the one the workbook's
CRM tab titles say (`validate.team_config`, settled for the whole command by `i18n.settle`),
never the shell's when the two differ. In-process over small real .xlsx files; one real
process for `run --once`'s exit status."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import openpyxl
import pytest
from click.testing import CliRunner

from books import xlsx
from sheetcrm import i18n
from sheetcrm.cli import main
from sheetcrm.config import Config
from sheetcrm.mail.outbox import seal
from sheetcrm.service import Service
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook

SPANISH = {
    "Cuentas": [["ID", "Nombre"], ["ACC-0001", "Acme"]],
    "Oportunidades": [["ID", "Nombre", "Cuenta", "Etapa", "Importe"], ["OPP-0001", "Uno", "Acme", "Ganada", 1000],
                      ["OPP-0002", "Dos", "Acme", "Propuesta", 500]],
    "Leads": [["ID", "Apellido", "Empresa", "Estado"], ["LEAD-0001", "Ruiz", "A", "Nuevo"]],
}
OUTBOX = [["ID", "Creado", "Oportunidad", "Para", "Asunto", "Estado", "Message-ID", "Enviado el", "Error",
           "Presupuesto", "Versión", "Intentos", "Último intento", "Próximo intento", "Sello"],
          ["OUT-0001", "2026-11-26T10:12:00Z", "OPP-0001", "ana@example.com", "Presupuesto Q-2026-0001", "Enviado",
           "<q1@example.com>", "2026-11-26T10:12:00Z", "", "Q-2026-0001", "abc", 1, None, None,
           seal("OUT-0001", "OPP-0001", "Q-2026-0001", "abc")]]


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("SHEETCRM_LANG", "en")  # the shell's language; the workbook is Spanish
    return tmp_path


def invoke(*args: str):
    return CliRunner().invoke(main, [*args, "--workbook", "crm.xlsx"])


# Each command as a Spanish team meets it, and the English it said before (the shell's language).
SAID = [
    (("kpis",), "Indicadores a ", "KPIs as of"),
    (("forecast", "--months", "1"), "Previsión en USD", "Forecast in"),
    (("score",), "Puntuación", "Score"),
    (("segment", "X"), 'no hay ningún segmento "X"', "there is no segment"),
    # The hint names the tab the workbook has not got as `sheetcrm init` would add it, in Spanish.
    (("quote", "OPP-0002"), "Añade sus líneas a la pestaña Líneas de presupuesto.", "the quote cannot be sent"),
    (("outbox", "resend", "OUT-0009"), 'no hay ninguna fila "OUT-0009" en la Bandeja de salida', "no row"),
    (("import", "leads.csv", "--tab", "leads", "--dry-run"), "simulación, no se escribió nada", "dry run"),
]


def test_every_command_speaks_the_workbooks_language_not_the_shells(folder):
    """Kind: only validate, sync and workflows followed the workbook's language when the config
    sets none; kpis, forecast, score, segment, quote, outbox, import… printed in the shell's,
    so a Spanish team's workbook read in English on an English machine, and a command's
    Spanish issue messages (read in the workbook's language) sat in English lines."""
    xlsx(folder / "crm.xlsx", SPANISH)
    (folder / "leads.csv").write_text("Last Name,Company\nPérez,B\n", encoding="utf-8")
    for args, spanish, english in SAID:
        done = invoke(*args)
        out = done.stdout + done.stderr
        assert spanish in out and english not in out, (args, out)
    # And the other way round: an English workbook in a Spanish shell.
    xlsx(folder / "crm.xlsx", {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
                               "Opportunities": [["ID", "Name", "Account", "Stage", "Amount"],
                                                 ["OPP-0001", "One", "Acme", "Closed Won", 1000]]})
    os.environ["SHEETCRM_LANG"] = "es"
    done = invoke("kpis")
    assert done.stdout.startswith("KPIs as of ") and "Win rate" in done.stdout, done.stdout


def test_outbox_resend_writes_the_status_in_the_workbooks_language(folder):
    """Kind: `outbox resend` wrote "Approved" into a Spanish workbook's Estado column, run from
    an English shell (its words came from the environment, not from the workbook)."""
    book = XlsxWorkbook(xlsx(folder / "crm.xlsx", SPANISH))
    # The Outbox as sheetcrm makes it (found by its mark, not by its name), a quote sent.
    book.write(Plan(new_tabs=["Bandeja de salida"], mark_owned=["Bandeja de salida"],
                    writes=[CellWrite("Bandeja de salida", r, c, value) for r, row in enumerate(OUTBOX, 1)
                            for c, value in enumerate(row, 1)]))
    done = invoke("outbox", "resend", "OUT-0001")
    assert done.exit_code == 0 and "de vuelta a Aprobado" in done.stdout, done.output
    outbox = openpyxl.load_workbook(folder / "crm.xlsx")["Bandeja de salida"]
    assert outbox["F2"].value == "Aprobado"


def test_the_service_writes_a_spanish_workbooks_sync_log_in_spanish(folder):
    """Kind: `sheetcrm run` with an English shell made a Spanish workbook an English "Sync Log"
    tab (English headers, "ok", "0 errors"), which a run from a Spanish shell then headed in
    Spanish over the English rows."""
    xlsx(folder / "crm.xlsx", SPANISH)
    service = Service(Config(), XlsxWorkbook(folder / "crm.xlsx"), logging.getLogger("test_team_language"))
    assert service.run_once()
    log = openpyxl.load_workbook(folder / "crm.xlsx")["Registro de sincronización"]
    rows = list(log.iter_rows(values_only=True))
    assert rows[0][:2] == ("Hora", "Tarea") and rows[1][7] == "correcto", rows
    assert "Sync Log" not in openpyxl.load_workbook(folder / "crm.xlsx", read_only=True).sheetnames


def test_the_emulators_start_up_lines_speak_the_team_language(folder, monkeypatch):
    """Kind: `sheetcrm emulator` printed its three start-up lines in English whatever the language
    (the emulator imports nothing of sheetcrm, its catalogue included): the CLI says them."""
    import sheetcrm.emulator

    def serve(host, port, data, ready):  # Google's stand-in, told to say it is ready and stop
        ready("http://127.0.0.1:9", ["SID"], "127.0.0.1:9")

    monkeypatch.setattr(sheetcrm.emulator, "serve", serve)
    monkeypatch.setenv("SHEETCRM_LANG", "es")
    done = CliRunner().invoke(main, ["emulator"])
    assert done.stdout.splitlines() == ["Emulador de la API de Google Sheets escuchando en http://127.0.0.1:9",
                                        "  hoja de cálculo SID", "para usarlo: export SHEETS_EMULATOR_HOST=127.0.0.1:9"]


def test_settle_moves_only_the_language_of_a_command_that_speaks():
    with i18n.using("en"):
        i18n.settle("es")  # no command speaking: nothing changes
        assert i18n.current() == "en"
    with i18n.speaking(i18n.Spoken("en")) as spoken:
        with i18n.using("en"):
            i18n.settle("es")  # from inside the library's own `using`: the command's language moves
            assert i18n.current() == "en"
        assert i18n.current() == "es" and spoken.language == "es"
        with i18n.speaking_team("en"):  # a library call inside speaks (and settles) the command's
            assert i18n.current() == "es"


def test_run_once_on_a_workbook_it_cannot_reach_exits_2_with_one_line(tmp_path):
    """Kind: `run --once` on a missing workbook exited 1 (a job that failed) with two error lines
    (the sync's, then the Sync Log's that could not be written), where a workbook that cannot be
    opened is one line and exit 2, as for every command and for `run --fleet --once`."""
    env = {**os.environ, "SHEETCRM_LANG": "en", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "sheetcrm", "run", "--once", "--workbook", "gone.xlsx"],
                          cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if "gone.xlsx" in line]
    assert len(errors) == 1 and errors[0].startswith("sheetcrm: ") and errors[0].endswith(
        "gone.xlsx: no such workbook; run `sheetcrm init --workbook "
        f"{tmp_path / 'gone.xlsx'}` to create it (`sheetcrm demo --workbook {tmp_path / 'gone.xlsx'}` for a demo)"), \
        done.stderr
    assert "Traceback" not in done.stderr


def test_a_list_of_languages_gives_the_first_one_sheetcrm_speaks(monkeypatch):
    """Kind: LANGUAGE=fr:es (French, else Spanish, as gettext reads it) spoke English: only its
    first entry was looked at, and French is not a language sheetcrm speaks."""
    for var in ("SHEETCRM_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    monkeypatch.setenv("LANGUAGE", "fr:es")
    assert i18n.environment_locale() == "es"
    monkeypatch.setenv("LANGUAGE", "fr:de")
    assert i18n.environment_locale() == "en"
    monkeypatch.setenv("LANGUAGE", "en_GB:es")
    assert i18n.environment_locale() == "en"


def test_kpis_forecast_and_the_tabs_name_the_rates_and_quotas_tabs_by_their_titles(tmp_path):
    """A Spanish team whose side tabs are titled "Rates" and "Quotas": kpis and forecast said
    "la pestaña Tipos de cambio" and "la pestaña Cuotas", tabs the workbook has not got, while
    the Validation tab said "Quotas". Every line names the tab as the workbook titles it."""
    book = str(xlsx(tmp_path / "crm.xlsx", {
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "X", "Acme", "Marta", "Proposal", 100, "CHF", "2026-11-25"],
                          ["OPP-0002", "Y", "Acme", "Marta", "Closed Won", 100, "USD", "2026-11-05"]],
        "Rates": [["Currency", "Rate"], ["EUR", 1.1]],
        "Quotas": [["Owner", "Month", "Quota"], ["Marta", "2026-11", 10000], ["Marta", "pronto", 5]]}))
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n')
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(main, [*args, "--workbook", book, "--as-of", "2026-11-20",
                                    "--config", str(tmp_path / "sheetcrm.toml")])
        assert done.exit_code == 0, done.output
        return done.stdout

    rate = ("No hay tipo de cambio para CHF en la pestaña Rates: 1 oportunidad en CHF no se puede pasar a USD, así "
            "que las cifras que la contarían quedan en blanco.")
    kpis, forecast, sync = run("kpis").splitlines(), run("forecast").splitlines(), run("sync")
    assert rate in kpis and rate in forecast
    assert ("La cobertura del embudo queda en blanco: una cuota de este trimestre en la pestaña Quotas no se puede "
            "leer (sheetcrm validate muestra la celda)") in kpis
    assert any(x.startswith("La cuota y el cumplimiento quedan en blanco") and "la pestaña Quotas no" in x
               for x in forecast)
    wb = openpyxl.load_workbook(book)
    text = " ".join(str(c) for ws in wb for r in ws.iter_rows(values_only=True) for c in r if c)
    assert "Tipos de cambio" not in text + sync and "Cuotas" not in text + sync
    assert rate in text


@pytest.mark.parametrize("args, said", [
    (("validate",), "sheetcrm: sheetcrm.toml: no es TOML válido: Carácter no permitido: '\\n' (en la línea 4, "
                    "columna 24)\n"),
    (("kpiz",), "Error: No existe el comando 'kpiz'. ¿Querías decir 'kpis'?\n"),
])
def test_a_slip_further_down_a_spanish_config_is_said_in_spanish(tmp_path, args, said):
    """Kind: a config whose first line says `locale = "es"` and whose [smtp] password lost its
    closing quote was told off in English on a machine whose shell is English (a server's
    LANG=C.UTF-8): the file could not be parsed, so its locale was not heard at all."""
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\nworkbook = "crm.xlsx"\n[smtp]\npassword = "s3cr3t-Pa55\n',
                                            encoding="utf-8")
    env = {**{k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES")},
           "SHEETCRM_LANG": "en", "LANG": "C.UTF-8", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 2 and done.stderr.endswith(said), done.stderr
    assert "s3cr3t" not in done.stderr and "Traceback" not in done.stderr
