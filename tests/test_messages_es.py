"""The one-line messages people meet when a workbook cannot be used (a lock, an app holding the
file, Google refusing or not answering, credentials) and the service's lines, in the language
of the moment: the config's inside a command or a job, the environment's before the config is
read. Real files, the emulator over HTTP, `sheetcrm` in a subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading

import pytest

from sheetcrm import logs
from sheetcrm.config import Config
from sheetcrm.every import parse_every
from sheetcrm.i18n import using
from sheetcrm.lock import AlreadyRunning, AppLocked, WorkbookLock, refuse_if_open_in_app
from sheetcrm.service import Service, every_phrase
from sheetcrm.synclog import LogQueue
from sheetcrm.workbook import CellWrite, Plan, WorkbookError
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.xlsx import XlsxWorkbook

LEADS = [["ID", "Last Name", "Company", "Status"], ["", "Adams", "A Co", "New"]]
ACCOUNT = "sheetcrm@project.iam.gserviceaccount.com"



def leads_book(tmp_path) -> XlsxWorkbook:
    book = XlsxWorkbook(str(tmp_path / "crm.xlsx"))
    book.create()
    book.write(Plan(new_tabs=["Leads"], writes=[CellWrite("Leads", 1 + r, 1 + c, v)
                                                 for r, row in enumerate(LEADS) for c, v in enumerate(row)]))
    return book


def test_a_workbook_open_in_libreoffice_is_refused_in_the_current_language(tmp_path):
    path = leads_book(tmp_path).path
    (tmp_path / ".~lock.crm.xlsx#").write_text("Marta Gil,marta,host,30.11.2026 09:00,file:///x;")
    with using("es"), pytest.raises(AppLocked) as es:
        refuse_if_open_in_app(path)
    assert str(es.value) == (f"{path} está abierto en LibreOffice por Marta Gil (.~lock.crm.xlsx#); ciérralo allí "
                             "primero, o pasa --ignore-lock (el próximo guardado de la aplicación desharía lo que "
                             "escriba sheetcrm)")
    with using("en"), pytest.raises(AppLocked, match="is open in LibreOffice by Marta Gil"):
        refuse_if_open_in_app(path)


@pytest.mark.parametrize(("locale", "expected"), [
    ("es", "está abierto en LibreOffice por Marta Gil"), ("en", "is open in LibreOffice by Marta Gil")])
def test_sync_refuses_a_locked_workbook_in_one_line_of_the_configs_language(tmp_path, locale, expected):
    leads_book(tmp_path)
    (tmp_path / ".~lock.crm.xlsx#").write_text("Marta Gil,marta,host,30.11.2026 09:00,file:///x;")
    (tmp_path / "sheetcrm.toml").write_text(f'locale = "{locale}"\n')
    # The environment says the same, so the line is in that language before and after the config is read.
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "SHEETCRM_LANG": locale}
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "sync", "--workbook", "crm.xlsx"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert expected in out.stderr and "--ignore-lock" in out.stderr


def test_a_second_writer_is_told_who_holds_the_lock_in_spanish(tmp_path):
    book = leads_book(tmp_path)
    with WorkbookLock(book, folder=tmp_path / "locks"):
        with using("es"), pytest.raises(AlreadyRunning) as e:
            WorkbookLock(book, folder=tmp_path / "locks").acquire()
    assert f"ya lo atiende `sheetcrm run` (PID {os.getpid()}); detenlo primero" in str(e.value)


def google(key: str, attempts: int = 2) -> GoogleSheetsWorkbook:
    conn = connect(None, policy=RetryPolicy(attempts=attempts, sleep=lambda s: None))
    return GoogleSheetsWorkbook(conn.client, key, ACCOUNT)


def test_google_403_says_in_spanish_whom_to_share_with(emu):
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    emu.fail_next(1, status=403)
    with using("es"), pytest.raises(WorkbookError) as e:
        google(key).read()
    assert str(e.value) == (f"hoja de cálculo de Google {key}: permiso denegado; comparte la hoja de cálculo con "
                            f"{ACCOUNT} (como Editor)")
    emu.fail_next(1, status=403)
    with using("en"), pytest.raises(WorkbookError) as e:
        google(key).read()
    assert str(e.value) == f"Google spreadsheet {key}: permission denied; share the spreadsheet with {ACCOUNT} (as Editor)"


def test_google_404_and_exhausted_retries_in_spanish(emu):
    with using("es"), pytest.raises(WorkbookError, match="no se encuentra la hoja de cálculo; revisa el ID o la URL"):
        google("1" + "x" * 43).read()
    key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
    emu.fail_next(3, status=503)
    with using("es"), pytest.raises(WorkbookError) as e:
        google(key, attempts=3).read()
    assert str(e.value).startswith("Google Sheets no respondió: fallaron los 3 intentos de una petición de lectura "
                                   "(el último: HTTP 503")
    emu.fail_next(1, status=503)
    with using("en"), pytest.raises(WorkbookError) as e:
        google(key, attempts=1).read()
    assert "1 attempt of a read request failed" in str(e.value)  # one attempt, said as one


def test_missing_credentials_in_spanish_before_any_config(tmp_path, monkeypatch):
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("SHEETCRM_LANG", "es")
    with pytest.raises(WorkbookError, match="^no hay credenciales de Google: pasa --credentials ARCHIVO"):
        connect(None)
    with pytest.raises(WorkbookError, match="no existe ese archivo de credenciales"):
        connect(str(tmp_path / "nope.json"))


@pytest.mark.parametrize("locale", ["en", "es"])
def test_missing_credentials_names_a_heading_the_readme_has(monkeypatch, locale):
    import re
    from pathlib import Path

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("SHEETCRM_LANG", locale)
    with pytest.raises(WorkbookError) as e:
        connect(None)
    [section] = re.findall(r"'([^']+)'\)$", str(e.value))
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"\n## {section}\n" in readme


def test_schedule_phrases_in_words_of_either_language():
    with using("es"):
        assert every_phrase(parse_every("every 5 minutes")) == "cada 5 minutos"
        assert every_phrase(parse_every("every minute")) == "cada minuto"
        assert every_phrase(parse_every("every monday at 09:30")) == "cada lunes a las 09:30"
    with using("en"):
        assert every_phrase(parse_every("every 1 minutes")) == "every minute"
        assert every_phrase(parse_every("every 2 days at 08:00")) == "every 2 days at 08:00"


@pytest.mark.parametrize("locale", ["es", "en"])
def test_a_service_job_in_another_thread_speaks_the_configs_language(tmp_path, monkeypatch, locale):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = leads_book(tmp_path)
    stream = io.StringIO()
    logger, _console = logs.setup("text", stream=stream)
    service = Service(Config(locale=locale), book, logger, log_queue=LogQueue(tmp_path / "queue.jsonl"))
    other = "en" if locale == "es" else "es"
    done = []
    with using(other):  # the thread's caller speaks the other language; a new thread starts with none
        worker = threading.Thread(target=lambda: done.append(service.run_job(service.jobs[0])))
        worker.start()
        worker.join(60)
    assert done == [True]
    lines = stream.getvalue()
    row = service.pending.rows[-1]
    if locale == "es":
        assert "sync: leyendo" in lines and "sync correcto en" in lines and "1 fila leída" in lines
        assert row[7] == "correcto" and "errores" in row[8] and "read" not in lines
    else:
        assert "sync: reading" in lines and "sync ok in" in lines and "1 row read" in lines
        assert row[7] == "ok" and "errors" in row[8] and "leyendo" not in lines


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_text_log_line_names_its_level_in_the_readers_language_json_keeps_the_code(fmt):
    stream = io.StringIO()
    logger, _console = logs.setup(fmt, stream=stream)
    with using("es"):
        logger.warning("quedan 2 filas")
    line = stream.getvalue()
    if fmt == "text":
        assert " AVISO   quedan 2 filas" in line and "WARNING" not in line
    else:
        assert '"level": "warning"' in line and "AVISO" not in line
