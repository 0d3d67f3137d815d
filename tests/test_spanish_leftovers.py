"""English left in what sheetcrm says to a Spanish team (found trying it, round 31): missing tabs
named by their English titles, jinja2's English syntax errors as the whole message, a segment
export in the engine's canonical words, and `run --once` promising a next try it never makes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import jinja2
import openpyxl
import pytest

from in_process import cli as in_process
from sheetcrm.config import Config
from sheetcrm.i18n import using
from sheetcrm.mail.sandbox import render_problem, syntax_problem
from sheetcrm.sync import sync
from sheetcrm.workbook.memory import MemoryWorkbook

AS_OF = dt.date(2026, 11, 30)
WORKFLOWS = ["ID", "Nombre", "Activa", "Registro", "Cuándo", "Si", "Entonces", "Asunto", "Vence (días)"]


def _cli(cwd, *args: str, lang: str = "en") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "SHEETCRM_LANG": lang,
           "XDG_CACHE_HOME": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_missing_tab_is_named_as_the_team_knows_it():
    book = MemoryWorkbook({"Cuentas": [["ID", "Nombre", "Estado"], ["ACC-0001", "Acme", "Cliente"]]})
    out = sync(book, Config.model_validate({"locale": "es"}), AS_OF)
    missing = {i.tab: i.message for i in out.crm.report.issues if i.code == "missing_tab"}
    assert missing["Contactos"] == 'No hay ninguna pestaña "Contactos".'
    assert {"Actividades", "Productos", "Líneas de presupuesto", "Oportunidades"} <= set(missing)
    assert not {"Contacts", "Activities", "Products", "Quote Lines"} & set(missing)

    english = sync(MemoryWorkbook({"Accounts": [["ID", "Name", "Status"], ["ACC-0001", "Acme", "Customer"]]}),
                   Config(), AS_OF)
    missing = {i.tab: i.message for i in english.crm.report.issues if i.code == "missing_tab"}
    assert missing["Quote Lines"] == 'There is no "Quote Lines" tab.'


def test_a_broken_subject_template_is_said_in_spanish_with_where_it_breaks():
    """jinja2's own words stay only as a quoted detail; the line (and the column, when jinja2's
    message lets it be found) is said in the team's language."""
    book = MemoryWorkbook({
        "Cuentas": [["ID", "Nombre", "Estado"], ["ACC-0001", "Acme", "Cliente"]],
        "Flujos de trabajo": [WORKFLOWS,
                              ["WF-0001", "a", "sí", "cuenta", "creado", None, "crear tarea", "Hola {{ Nombre", 1],
                              ["WF-0002", "b", "sí", "cuenta", "creado", None, "crear tarea",
                               "Hola {{ Nombre Apellido }}", 1]]})
    out = sync(book, Config.model_validate({"locale": "es"}), AS_OF)
    found = [i for i in out.crm.report.issues if i.code == "workflow_bad_template"]
    assert [i.where() for i in found] == ["Flujos de trabajo!H2", "Flujos de trabajo!H3"]
    assert found[0].message.startswith("La plantilla del Asunto no se puede leer: línea 1: la plantilla termina "
                                       "antes de cerrar un {{ … }} o un {% … %} (jinja2 dice: \"unexpected end")
    assert found[1].message.startswith("La plantilla del Asunto no se puede leer: línea 1, columna 16: ")
    for issue in found:
        before_detail = issue.message.split("(jinja2 dice:")[0]
        assert "unexpected" not in before_detail and "expected" not in before_detail
        assert issue.hint.startswith("Escribe texto con los campos entre llaves dobles")
    rows = book.tabs["Validación"]
    assert {r[6] for r in rows[1:] if r[1] == "Flujos de trabajo"} == {"flujo_plantilla_no_válida"}


@pytest.mark.parametrize(("source", "english", "spanish"), [
    ("Hola {{ Nombre", "line 1: the template ends before a {{ … }} or {% … %} is closed",
     "línea 1: la plantilla termina antes de cerrar un {{ … }} o un {% … %}"),
    ("a\nb {{ x ! }}", "line 2, column 8: ! cannot be used there", "línea 2, columna 8: ! no se puede usar ahí"),
    ("{% foo %}", "line 1: {% foo %} is not a tag templates know",
     "línea 1: {% foo %} no es una etiqueta de plantilla conocida"),
    ("{{ x }", "line 1: } is not expected there", "línea 1: } no se espera ahí"),
])
def test_a_template_syntax_error_says_where_and_what_in_the_team_language(source, english, spanish):
    with pytest.raises(jinja2.TemplateSyntaxError) as caught:
        jinja2.Environment().from_string(source)
    with using("en"):
        assert syntax_problem(caught.value).startswith(english + ' (jinja2: "')
    with using("es"):
        assert syntax_problem(caught.value).startswith(spanish + ' (jinja2 dice: "')


def _statuses(book, tab: str) -> dict[str, str]:
    rows = list(openpyxl.load_workbook(book, read_only=True)[tab].iter_rows(values_only=True))
    col = rows[0].index("Estado" if "Estado" in rows[0] else "Status")
    return {r[0]: r[col] for r in rows[1:] if r[0]}


@pytest.mark.parametrize("locale", ["es", "en"])
def test_a_segment_export_writes_the_status_the_sheet_holds(tmp_path, locale, monkeypatch):
    """Kind: the export's Status in the engine's canonical English (Customer, Contacted) for a
    Spanish team whose sheet says Cliente, Contactado; an English team's stays as it was."""
    accounts, leads = ("Cuentas", "Leads") if locale == "es" else ("Accounts", "Leads")
    (tmp_path / "sheetcrm.toml").write_text(
        f'locale = "{locale}"\n'
        '[segments.All]\nrecord = "accounts"\nwhen = "Employees >= 0"\n'
        '[segments.People]\nrecord = "leads"\nwhen = "Source != \\"zzz\\""\n', encoding="utf-8")
    done = _cli(tmp_path, "demo", "--workbook", "crm.xlsx", "--rows", "40")
    assert done.returncode == 0, done.stderr
    # The segment commands in this process (`in_process`), in `_cli`'s environment.
    monkeypatch.setenv("SHEETCRM_LANG", "en")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    for name, tab in (("All", accounts), ("People", leads)):
        held = _statuses(tmp_path / "crm.xlsx", tab)
        out = in_process("segment", name, "--workbook", "crm.xlsx", "--format", "csv-plain", cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        rows = list(csv.reader(io.StringIO(out.stdout)))
        assert len(rows) > 3
        exported = {r[0]: r[-1] for r in rows[1:]}
        assert exported == {i: held[i] for i in exported}, (exported, held)
        members = json.loads(in_process("segment", name, "--workbook", "crm.xlsx", "--format", "json",
                                        cwd=tmp_path).stdout)
        assert {m["id"]: m["status"] for m in members["members"]} == exported
    words = set(_statuses(tmp_path / "crm.xlsx", accounts).values())
    if locale == "es":
        assert "Cliente" in words and not {"Customer", "Churned", "Prospect"} & words
    else:
        assert "Customer" in words


def test_run_once_says_a_failure_without_promising_a_next_try(tmp_path):
    (tmp_path / "bad.xlsx").write_text("not a workbook", encoding="utf-8")
    (tmp_path / "sheetcrm.toml").write_text('workbook = "bad.xlsx"\n', encoding="utf-8")
    out = _cli(tmp_path, "run", "--once")
    # A workbook it cannot read: one clear line and exit 2, as `sync` says it.
    assert out.returncode == 2
    failed = [line for line in out.stderr.splitlines() if line.startswith("sheetcrm: ")]
    assert len(failed) == 1 and "not an .xlsx workbook" in failed[0], out.stderr
    assert "next try" not in out.stderr and "in a row" not in out.stderr, out.stderr
    (tmp_path / "sheetcrm.toml").write_text('workbook = "bad.xlsx"\nlocale = "es"\n', encoding="utf-8")
    out = _cli(tmp_path, "run", "--once")
    assert out.returncode == 2
    assert "no es un libro .xlsx" in out.stderr and "próximo intento" not in out.stderr, out.stderr


@pytest.mark.parametrize("source, english, spanish", [
    ("{{ Name }}", "the template uses Name, which has no value here",
     "la plantilla usa Name, que aquí no tiene valor"),
    ("{{ deal.Stagee.x }}", "the template uses deal.Stagee, but deal has no such field",
     "la plantilla usa deal.Stagee, pero deal no tiene ese campo"),
    ("{{ 1 / 0 }}", 'the template failed while it was filled in (Python: "ZeroDivisionError: division by zero")',
     'la plantilla falló al rellenarse (Python dice: "ZeroDivisionError: division by zero")'),
])
def test_a_template_that_fails_while_filled_in_says_why_in_the_team_language(source, english, spanish):
    """Not a syntax error: the template reads, and fails on the record's data. jinja2's and
    Python's own (English) words are only a quoted detail: the Spanish demo's Validation tab
    said "'Name' is undefined"."""
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(source)
    with pytest.raises(Exception) as caught:
        template.render(deal={})
    with using("en"):
        assert render_problem(caught.value, source).startswith(english)
    with using("es"):
        assert render_problem(caught.value, source).startswith(spanish)
        assert "dict object" not in render_problem(caught.value, source)


@pytest.mark.parametrize("locale", ["es", "en"])
def test_a_subject_names_a_field_by_the_sheets_header_whatever_the_teams_language(tmp_path, locale):
    """An English workbook (headers "Name", "Stage"; rules "Follow up on the proposal: {{ Name }}")
    synced with locale "es": each firing failed with "'Name' is undefined" and no task was made,
    since a template saw the fields only by their Spanish headers. A field is now also known by
    the sheet's own header and the standard one in each language."""
    from sheetcrm.starter import demo_config, write_demo
    from sheetcrm.sync import plan_sync
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    book = XlsxWorkbook(tmp_path / "demo.xlsx")
    data = write_demo(book, rows=40, seed=5, today=dt.date(2026, 11, 23))
    config = demo_config(Config(locale=locale), data)
    _, _, plan = plan_sync(book.read(), config, dt.date(2026, 11, 23))
    assert not [w.value for w in plan.writes if isinstance(w.value, str) and "is undefined" in w.value]
    tasks = [w.value for w in plan.writes if w.tab == "Tasks" and isinstance(w.value, str)
             and w.value.startswith(("Follow up on the proposal: ", "Revive ", "Chase the unanswered quote: "))]
    assert tasks and all("{{" not in t and "Name" not in t for t in tasks)
