"""`sheetcrm init` on a workbook the team already keeps: the sheetcrm.toml it writes must not
change how that workbook reads (README, "Numbers and dates are read by column": an active
`locale` settles every column the tabs leave open), and the tabs it adds speak the workbook's
language. When a sheetcrm.toml is there already, init keeps it and says which workbook it names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from books import xlsx

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2027-01-15"


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if k not in ("SHEETCRM_WAREHOUSE_URL", "LANGUAGE", "LC_ALL")}
    return {**clean, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache"), "LANG": "C.UTF-8",
            "SHEETCRM_LANG": "en"}


def sheetcrm(*args: str, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def spanish_team(path: Path) -> Path:
    # Day-first dates with no day above 12 (so the column proves nothing and the tab's language
    # decides, each cell said with both readings), and a closed stage typed as the team types it.
    return xlsx(path, {
        "Cuentas": [["Nombre", "Dominio"], ["Acme", "acme.es"], ["Bravo", "bravo.es"]],
        "Oportunidades": [["Nombre", "Cuenta", "Etapa", "Importe", "Fecha de cierre", "Creado"],
                          ["Trato 1", "Acme", "Propuesta", "1500", "03/04/2027", "02/01/2027"],
                          ["Trato 2", "Acme", "Negociación", "2500", "05/06/2027", "03/01/2027"],
                          ["Trato 3", "Bravo", "Cerrada ganada", "12.500", "04/01/2027", "01/12/2026"]],
    })


def reading(env, cwd, *flags: str) -> dict:
    """What the workbook reads as: every issue but the missing tabs init adds, the forecast and the KPIs."""
    out = {}
    for command, extra in (("validate", ()), ("forecast", ("--as-of", AS_OF, "--months", "12")),
                           ("kpis", ("--as-of", AS_OF))):
        done = sheetcrm(command, *flags, *extra, "--format", "json", env=env, cwd=cwd)
        assert done.returncode in (0, 1), done.stderr
        out[command] = json.loads(done.stdout)
    out["validate"]["issues"] = [i for i in out["validate"]["issues"] if i["code"] != "missing_tab"]
    out["validate"].pop("stats", None)  # counts the tabs read, which init adds
    out["validate"].pop("valid", None)
    out["validate"].pop("warnings", None)  # counts the missing tabs' warnings too
    return out


def test_init_on_a_spanish_workbook_changes_nothing_in_how_it_reads(tmp_path, env):
    spanish_team(tmp_path / "equipo.xlsx")
    before = reading(env, tmp_path, "--workbook", "equipo.xlsx")
    codes = [i["code"] for i in before["validate"]["issues"]]
    assert codes.count("ambiguous_date") >= 5, codes  # the test's premise

    done = sheetcrm("init", "--workbook", "equipo.xlsx", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    after = reading(env, tmp_path)  # no flag: the sheetcrm.toml init wrote names the workbook

    assert after == before
    config = (tmp_path / "sheetcrm.toml").read_text(encoding="utf-8")
    assert 'workbook = "equipo.xlsx"' in config
    assert '\n# locale = "es"\n' in config and '\n# currency = "USD"\n' in config
    assert "\nlocale =" not in config and "\ncurrency =" not in config
    # The tabs it added are the workbook's language, not English ones beside Cuentas.
    titles = openpyxl.load_workbook(tmp_path / "equipo.xlsx").sheetnames
    assert {"Contactos", "Actividades", "Tareas", "Productos"} <= set(titles), titles
    assert not {"Contacts", "Activities", "Tasks", "Products", "Accounts", "Opportunities"} & set(titles), titles


def test_init_on_a_new_workbook_still_writes_the_locale(tmp_path, env):
    # Nothing to read yet: the example's settings stay active, as before.
    done = sheetcrm("init", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = (tmp_path / "sheetcrm.toml").read_text(encoding="utf-8")
    assert '\nlocale = "en"\n' in config and '\ncurrency = "USD"\n' in config


def test_init_in_spanish_takes_the_currency_from_the_region_or_says_it_is_usd(tmp_path, env):
    # A Spanish team's new config read currency = "USD" unsaid: its pesos or euros were totalled
    # as dollars. The locale's region names the currency; without one, the file and init say USD.
    mexico = tmp_path / "mx"
    mexico.mkdir()
    done = sheetcrm("init", env={**env, "SHEETCRM_LANG": "es_MX.UTF-8"}, cwd=mexico)
    assert done.returncode == 0, done.stderr
    config = (mexico / "sheetcrm.toml").read_text(encoding="utf-8")
    assert '\ncurrency = "MXN"\n' in config and "la moneda de MX" in config
    assert "los resúmenes van en MXN" in done.stdout
    plain = tmp_path / "es"
    plain.mkdir()
    done = sheetcrm("init", env={**env, "SHEETCRM_LANG": "es"}, cwd=plain)
    assert done.returncode == 0, done.stderr
    config = (plain / "sheetcrm.toml").read_text(encoding="utf-8")
    assert '\ncurrency = "USD"\n' in config and "nada dijo tu moneda" in config
    assert "los resúmenes van en USD" in done.stdout


def test_init_takes_the_currency_from_the_locale_that_formats_money(tmp_path, env):
    # Was: the first of SHEETCRM_LANG, LANGUAGE, LC_ALL, LC_MESSAGES, LANG set decided, region or
    # not: LANGUAGE=es beside LANG=es_ES.UTF-8 (a Spanish desktop) wrote "your locale names no
    # region" and USD; LC_MONETARY=es_ES under an English LANG wrote "the currency of US".
    cases = [({"LANGUAGE": "es", "LANG": "es_ES.UTF-8", "SHEETCRM_LANG": ""}, "EUR", "la moneda de ES"),
             ({"LANG": "en_US.UTF-8", "LC_MONETARY": "es_ES.UTF-8"}, "EUR", "the currency of ES"),
             ({"SHEETCRM_LANG": "es", "LANG": "es_MX.UTF-8"}, "MXN", "la moneda de MX"),
             ({"LC_ALL": "C", "LANG": "es_ES.UTF-8"}, "USD", "no nombra ninguna región")]
    for n, (variables, currency, said) in enumerate(cases):
        folder = tmp_path / str(n)
        folder.mkdir()
        run_env = {k: v for k, v in {**env, "LC_MONETARY": "", "LC_MESSAGES": "", **variables}.items() if v}
        if "LC_ALL" in variables:
            run_env["SHEETCRM_LANG"] = "es"
        done = sheetcrm("init", env=run_env, cwd=folder)
        assert done.returncode == 0, done.stderr
        config = (folder / "sheetcrm.toml").read_text(encoding="utf-8")
        assert f'\ncurrency = "{currency}"\n' in config and said in config, (variables, config[:900])


def test_init_leaves_locale_unset_where_the_region_writes_otherwise(tmp_path, env):
    # A British team's init wrote locale = "en" active: its 03/04/2027 (3 April) then read as
    # 4 March with no word, every deal in the wrong forecast month. Where the environment's
    # region writes dates or numbers otherwise than the language's locale reads them (en_GB day
    # first; es_MX a decimal point), the file leaves locale unset, and such cells are said.
    britain = tmp_path / "gb"
    britain.mkdir()
    done = sheetcrm("init", env={**env, "SHEETCRM_LANG": "en_GB.UTF-8"}, cwd=britain)
    assert done.returncode == 0, done.stderr
    config = (britain / "sheetcrm.toml").read_text(encoding="utf-8")
    assert '\n# locale = "en"\n' in config and "\nlocale =" not in config, config
    assert "your locale en_GB writes dates and numbers as (3/12/2026, 1,234.5)" in config
    assert "locale left unset: en_GB" in done.stdout, done.stdout
    book = openpyxl.load_workbook(britain / "crm.xlsx")
    book["Accounts"].append([None, "Acme Ltd"])
    book["Opportunities"].append([None, "Renewal", "Acme Ltd", None, "Tom", "Proposal", "1500", None, None,
                                  "03/04/2027", "01/02/2027"])
    book.save(britain / "crm.xlsx")
    checked = sheetcrm("validate", "--format", "json", env={**env, "SHEETCRM_LANG": "en_GB.UTF-8"}, cwd=britain)
    issues = json.loads(checked.stdout)["issues"]
    said = {(i["header"], i["code"]) for i in issues}
    assert {("Close Date", "ambiguous_date"), ("Created", "ambiguous_date")} <= said, issues

    mexico = tmp_path / "mx"
    mexico.mkdir()
    done = sheetcrm("init", env={**env, "SHEETCRM_LANG": "es_MX.UTF-8"}, cwd=mexico)
    assert done.returncode == 0, done.stderr
    config = (mexico / "sheetcrm.toml").read_text(encoding="utf-8")
    assert '\n# locale = "es"\n' in config and "\nlocale =" not in config, config
    assert "tu locale es_MX escribe fechas y números así (3/12/2026, 1,234.5)" in config
    assert "locale sin fijar: es_MX" in done.stdout, done.stdout
    # Its tabs are Spanish all the same, so every command after it speaks Spanish.
    assert "Oportunidades" in openpyxl.load_workbook(mexico / "crm.xlsx").sheetnames
    assert "filas" in sheetcrm("validate", env={**env, "SHEETCRM_LANG": "es_MX.UTF-8"}, cwd=mexico).stdout

    spain = tmp_path / "es"
    spain.mkdir()
    done = sheetcrm("init", env={**env, "SHEETCRM_LANG": "es_ES.UTF-8"}, cwd=spain)
    assert '\nlocale = "es"\n' in (spain / "sheetcrm.toml").read_text(encoding="utf-8")
    assert "sin fijar" not in done.stdout


def test_init_heads_new_tabs_with_the_configs_headers_and_custom_fields(tmp_path, env):
    # The README's config example, then init: the Deals tab was headed Amount, not the team's
    # "Deal size", and Budget and Tier were custom_field_missing warnings on the workbook init
    # had just made.
    (tmp_path / "sheetcrm.toml").write_text(
        'workbook = "crm.xlsx"\nlocale = "es"\ncurrency = "EUR"\n\n[tabs.opportunities]\ntitle = "Deals"\n'
        'headers = { "Amount" = "Deal size" }\n\n[tabs.leads.custom_fields]\n"Budget" = { type = "money" }\n'
        '"Tier" = { type = "enum", values = ["Gold", "Silver", "Bronze"] }\n', encoding="utf-8")
    done = sheetcrm("init", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    book = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    deals = [c.value for c in book["Deals"][1]]
    assert "Deal size" in deals and "Importe" not in deals and "Amount" not in deals, deals
    leads = [c.value for c in book["Leads"][1]]
    assert leads[-2:] == ["Budget", "Tier"], leads
    checked = sheetcrm("validate", "--format", "json", env=env, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["issues"] == []


def test_the_example_stages_are_the_built_in_ones():
    # The example's [[stages]] are active: a stage word the built-in stages read ("Cerrada
    # ganada") must read the same once init wrote them.
    import tomllib

    from sheetcrm.config import DEFAULT_STAGES, EXAMPLE, Config

    written = Config.model_validate(tomllib.loads(EXAMPLE), strict=True).stages
    assert [s.model_dump() for s in written] == [s.model_dump() for s in DEFAULT_STAGES]


def test_init_with_another_workbook_says_the_kept_config_names_its_own(tmp_path, env):
    assert sheetcrm("init", env=env, cwd=tmp_path).returncode == 0
    done = sheetcrm("init", "--workbook", "team.xlsx", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("kept sheetcrm.toml as it is: it names crm.xlsx, so a command without --workbook or --spreadsheet "
            "works on that one, not on team.xlsx") in done.stdout, done.stdout
    assert 'workbook = "crm.xlsx"' in (tmp_path / "sheetcrm.toml").read_text(encoding="utf-8")
    # The workbook it names, however it is spelled: nothing to say.
    again = sheetcrm("init", "--workbook", "./crm.xlsx", env=env, cwd=tmp_path)
    assert again.returncode == 0 and "kept" not in again.stdout, again.stdout


def test_init_beside_a_config_naming_no_workbook_says_it_names_none(tmp_path, env):
    """A sheetcrm.toml of the team's with `locale` and no `workbook`: init --workbook team.xlsx
    said "kept sheetcrm.toml as it is: it names crm.xlsx", a line the file does not hold."""
    (tmp_path / "sheetcrm.toml").write_text('currency = "EUR"\n', encoding="utf-8")
    done = sheetcrm("init", "--workbook", "team.xlsx", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert ("kept sheetcrm.toml as it is: it names no workbook, so a command without --workbook or --spreadsheet "
            "works on crm.xlsx, not on team.xlsx") in done.stdout, done.stdout
    assert "it names crm.xlsx" not in done.stdout


def test_init_heads_an_empty_crm_tab_and_never_one_holding_anything(tmp_path, monkeypatch):
    """An Activities tab created and left empty: init added the other tabs and left it so, and
    validate failed `missing_column` for ever. A tab holding any cell is the team's."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    monkeypatch.chdir(tmp_path)
    xlsx(tmp_path / "crm.xlsx", {"Accounts": [["Name"], ["Acme"]], "Activities": [], "Tasks": [[None, None, "x"]]})
    done = CliRunner().invoke(main, ["init", "--workbook", "crm.xlsx"])
    assert done.exit_code == 0, done.output
    assert "crm.xlsx: wrote the header row into the empty tab Activities" in done.stdout, done.stdout
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    assert [c.value for c in wb["Activities"][1]][:3] == ["ID", "Date", "Type"]
    assert [[c.value for c in row] for row in wb["Tasks"].iter_rows()] == [[None, None, "x"]]
    done = CliRunner().invoke(main, ["validate", "--workbook", "crm.xlsx", "--format", "json"])
    assert not [i for i in json.loads(done.stdout)["issues"] if i["tab"] == "Activities"], done.stdout


def test_init_on_a_spanish_workbook_leaves_the_stages_to_the_teams_words(tmp_path, monkeypatch):
    """init wrote the built-in [[stages]] active, in English: once the team set locale = "es",
    the Pipeline and Stage History showed Prospecting and Closed Won, not Propuesta and Cerrada
    ganada as the team types them (a name the file sets is its own word)."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    monkeypatch.chdir(tmp_path)
    spanish_team(tmp_path / "equipo.xlsx")
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--workbook", "equipo.xlsx"]).exit_code == 0
    config = (tmp_path / "sheetcrm.toml").read_text(encoding="utf-8")
    assert "\n[[stages]]" not in config and "\n# [[stages]]\n# name = \"Prospecting\"" in config
    (tmp_path / "sheetcrm.toml").write_text(config.replace('\n# locale = "es"\n', '\nlocale = "es"\n'),
                                            encoding="utf-8")
    done = runner.invoke(main, ["sync", "--as-of", AS_OF])
    assert done.exit_code == 0, done.output
    wb = openpyxl.load_workbook(tmp_path / "equipo.xlsx")
    stages = [row[0] for row in wb["Embudo"].iter_rows(min_row=2, values_only=True)]
    assert {"Propuesta", "Negociación", "Cerrada ganada"} <= set(stages), stages
    logged = {row[2] for row in wb["Historial de etapas"].iter_rows(min_row=2, values_only=True)}
    assert logged == {"Propuesta", "Negociación", "Cerrada ganada"}, logged


def test_init_offers_the_currency_the_workbook_amounts_name(tmp_path):
    # A Spanish team's amounts say "€": the file init writes must not claim that nothing in the
    # workbook says its currency (left as USD, every total waits for an EUR rate), and offers EUR.
    from sheetcrm.config import Config
    from sheetcrm.starter import crm_language, example_config, existing_tabs, named_currencies
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    spanish_team(tmp_path / "equipo.xlsx")
    book = XlsxWorkbook(str(tmp_path / "equipo.xlsx"))
    snapshot = existing_tabs(book)
    assert named_currencies(snapshot, Config()) == []  # plain numbers name nothing
    xlsx(tmp_path / "euros.xlsx", {
        "Cuentas": [["Nombre"], ["Acme"]],
        "Oportunidades": [["Nombre", "Cuenta", "Etapa", "Importe", "Moneda"],
                          ["Trato 1", "Acme", "Propuesta", "5.000 €", None],
                          ["Trato 2", "Acme", "Propuesta", "1200", "USD"],
                          ["Trato 3", "Acme", "Propuesta", "1.200 €", None]],
    })
    snapshot = existing_tabs(XlsxWorkbook(str(tmp_path / "euros.xlsx")))
    assert named_currencies(snapshot, Config()) == ["EUR", "USD"]
    text = example_config("euros.xlsx", language=crm_language(snapshot, Config()),
                          currencies=named_currencies(snapshot, Config()))
    assert "nothing in the workbook says its currency" not in text
    assert "the workbook's amounts name EUR, USD" in text and '\n# currency = "EUR"\n' in text
    assert "\ncurrency =" not in text  # still commented out: init changes nothing in how it reads


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_example_budget_field_uncommented_keeps_a_budget_money(tmp_path, env, lang):
    # README: "A Budget (Presupuesto) column is money: its cells may name their currency (`8000
    # EUR`)". The sheetcrm.toml init writes offered `"Budget" = { type = "number" }`: a person who
    # uncommented it saw every budget naming its currency refused ("this column holds no money"),
    # and a converted lead's deal made without it.
    env = {**env, "SHEETCRM_LANG": lang}
    leads = "Leads"
    xlsx(tmp_path / "crm.xlsx", {leads: [["Last Name", "Company", "Email", "Budget"],
                                         ["Ruiz", "Acme", "ana@acme.com", "8000 EUR"]]})
    assert sheetcrm("init", env=env, cwd=tmp_path).returncode == 0
    toml = tmp_path / "sheetcrm.toml"
    lines = toml.read_text(encoding="utf-8").splitlines()
    at = lines.index("# [tabs.leads.custom_fields]")
    field = lines[at + 1]
    assert field.startswith('# "Budget" = '), field
    toml.write_text("\n".join([*lines[:at], lines[at][2:], field[2:]]) + "\n", encoding="utf-8")
    done = sheetcrm("validate", "--format", "json", env=env, cwd=tmp_path)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    assert [i for i in json.loads(done.stdout)["issues"] if i["header"] == "Budget"] == []


def clientes_team(path: Path) -> Path:
    # A small Spanish team's customers under a name of their own, headed as Accounts are, and
    # their deals naming them.
    return xlsx(path, {
        "Clientes": [["Nombre", "Dominio", "Sector", "País", "Propietario", "Estado", "Creado"],
                     ["Panadería López", "panaderialopez.es", "Alimentación", "España", "Lucía", "Cliente",
                      "03/04/2026"]],
        "Oportunidades": [["Nombre", "Cuenta", "Etapa", "Importe", "Fecha de cierre"],
                          ["Pan diario", "Panadería López", "Propuesta", "1.234,50 €", "03/04/2027"]],
    })


def test_init_adds_no_empty_tab_beside_the_team_tab_that_is_likely_it(tmp_path, env):
    """README: init, validate, sync. On a workbook whose customers are in "Clientes" (Accounts'
    headers), validate named it as very likely Cuentas, but init (run first, as the README says)
    added an empty Cuentas beside it: from then on nothing named Clientes, and every deal's
    Account was "no account" with the hint to type one's exact name, which it was. init now adds
    every other tab, says it did not add that one and how to map it, and validate still says so."""
    clientes_team(tmp_path / "equipo.xlsx")
    done = sheetcrm("init", "--workbook", "equipo.xlsx", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    tabs = openpyxl.load_workbook(tmp_path / "equipo.xlsx").sheetnames
    assert "Cuentas" not in tabs and "Contactos" in tabs and "Leads" in tabs
    line = next(x for x in done.stdout.splitlines() if "Cuentas" in x)
    assert '"Clientes"' in line and '[tabs.accounts] title = "Clientes"' in line
    assert "no se ha añadido la pestaña Cuentas" in line  # the workbook's language
    done = sheetcrm("validate", "--format", "json", env=env, cwd=tmp_path)
    said = [(i["tab"], i["value"]) for i in json.loads(done.stdout)["issues"] if i["code"] == "missing_tab"]
    assert said == [("Cuentas", "Clientes")]
    toml = tmp_path / "sheetcrm.toml"
    toml.write_text(toml.read_text(encoding="utf-8") + '\n[tabs.accounts]\ntitle = "Clientes"\n', encoding="utf-8")
    done = sheetcrm("validate", "--format", "json", env=env, cwd=tmp_path)
    codes = [i["code"] for i in json.loads(done.stdout)["issues"]]
    assert "missing_tab" not in codes and "unknown_account" not in codes


def test_a_tab_headed_as_one_crm_tab_is_not_said_to_be_another_too(tmp_path, env):
    """"Clientes", headed Nombre, Dominio, Sector, País, Propietario, Estado, Creado, names seven
    columns of Accounts and five of Leads: validate said it was "very likely" each of them, a
    hint false for one. It is said of the tab it names the most columns of alone."""
    clientes_team(tmp_path / "equipo.xlsx")
    done = sheetcrm("validate", "--workbook", "equipo.xlsx", "--format", "json", env=env, cwd=tmp_path)
    said = [(i["tab"], i["value"]) for i in json.loads(done.stdout)["issues"] if i["code"] == "missing_tab"]
    assert ("Cuentas", "Clientes") in said
    assert [tab for tab, like in said if like == "Clientes"] == ["Cuentas"]
    # As many columns of Contacts as of Leads: either may be it, so both say it (saying neither
    # would leave it unread without a word).
    xlsx(tmp_path / "personas.xlsx", {
        "Clientes": [["Nombre", "Apellido", "Empresa", "Correo", "Teléfono"], ["Ana", "Ruiz", "Acme", "ana@acme.es", "600"]],
        "Oportunidades": [["Nombre", "Cuenta", "Etapa"], ["Trato", "Acme", "Propuesta"]]})
    done = sheetcrm("validate", "--workbook", "personas.xlsx", "--format", "json", env=env, cwd=tmp_path)
    said = [(i["tab"], i["value"]) for i in json.loads(done.stdout)["issues"] if i["code"] == "missing_tab"]
    assert [tab for tab, like in said if like == "Clientes"] == ["Contactos", "Leads"]


@pytest.mark.parametrize("lang", ["C.UTF-8", None])
def test_init_in_an_environment_naming_no_language_leaves_locale_unset(tmp_path, env, lang):
    """LANG=C (a server's, a container's) or none: init wrote an active `locale = "en"`, which no
    one chose (English is only the fallback for the words), and that settled every date a column
    leaves open: a team's 03/04/2027 read 4 March, its deal in March's forecast, with no word.
    Left unset, each such date is said with both readings, as for a region that writes otherwise."""
    env = {k: v for k, v in env.items() if k not in ("SHEETCRM_LANG", "LANG", "LC_MESSAGES", "LC_MONETARY")}
    if lang is not None:
        env["LANG"] = lang
    done = sheetcrm("init", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "locale left unset: your environment's locale names neither English nor Spanish" in done.stdout
    toml = (tmp_path / "sheetcrm.toml").read_text(encoding="utf-8")
    assert '\n# locale = "en"\n' in toml and '\nlocale =' not in toml
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    wb["Accounts"].append([None, "Acme"])
    headers = [c.value for c in wb["Opportunities"][1]]
    row = dict.fromkeys(headers)
    row.update({"Name": "Deal 1", "Account": "Acme", "Stage": "Proposal", "Amount": 1500, "Close Date": "03/04/2027"})
    wb["Opportunities"].append([row[h] for h in headers])
    wb.save(tmp_path / "crm.xlsx")
    done = sheetcrm("validate", "--format", "json", env=env, cwd=tmp_path)
    said = [(i["code"], i["value"]) for i in json.loads(done.stdout)["issues"] if i["header"] == "Close Date"]
    assert said == [("ambiguous_date", "03/04/2027")], said


def test_init_in_an_environment_naming_english_still_sets_it(tmp_path, env):
    # en_US names English and a region that writes as "en" reads: the team chose it.
    env = {**{k: v for k, v in env.items() if k != "SHEETCRM_LANG"}, "LANG": "en_US.UTF-8"}
    done = sheetcrm("init", env=env, cwd=tmp_path)
    assert done.returncode == 0 and "locale left unset" not in done.stdout, done.stdout
    assert '\nlocale = "en"\n' in (tmp_path / "sheetcrm.toml").read_text(encoding="utf-8")
