"""sheetcrm.toml as a person writes it: every mistake is one line on stderr (file, key, problem), exit 2."""

from __future__ import annotations

import subprocess
import sys

import openpyxl
import pytest
from click.testing import CliRunner

from sheetcrm.cli import main
from sheetcrm.config import Config, load_config


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    # These tests assert English messages; outside a sync the environment's language speaks.
    monkeypatch.setenv("SHEETCRM_LANG", "en")


def run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("config")
    wb = openpyxl.Workbook()
    wb.active.title = "Accounts"
    wb.active.append(["ID", "Name"])
    wb.active.append(["ACC-0001", "Acme"])
    opps = wb.create_sheet("Opportunities")
    opps.append(["ID", "Name", "Account", "Stage", "Amount"])
    opps.append(["OPP-0001", "Deal", "Acme", "Proposal", 100])
    wb.save(path / "crm.xlsx")
    return path


MISTAKES = [
    # (file text, key the line must name, words the problem must contain)
    ('[tabs.opportunities]\ntitle = "Accounts"\n', "tabs.opportunities.title", "Accounts tab"),
    ('[tabs.opportunities]\ntitle = "Ventas"\n[tabs.leads]\ntitle = "ventas"\n', "tabs.leads.title",
     "also the title of opportunities"),
    ('[tabs.leads]\ntitle = "Dashboard"\n', "tabs.leads.title", "sheetcrm's Dashboard tab"),
    ('[tabs.opportunities]\nheaders = { "Amoont" = "Deal size" }\n', "tabs.opportunities.headers.Amoont",
     "unknown column"),
    ('[tabs.opportunities]\nheaders = { "Amount" = "Stage" }\n', "tabs.opportunities.headers.Amount",
     "Stage column"),
    ('[tabs.leads.custom_fields]\n"E-mail" = { type = "text" }\n', "tabs.leads.custom_fields.E-mail",
     "Email column"),
    ('[tabs.leads.custom_fields]\nTier = { type = "amount" }\n', "tabs.leads.custom_fields.Tier.type", "enum"),
    # One column (headers compare ignoring case): the later type was read, the other ignored with no word.
    ('[tabs.leads.custom_fields]\nBudget = { type = "number" }\nBUDGET = { type = "date" }\n',
     "tabs.leads.custom_fields.BUDGET", '"BUDGET" and "Budget" are one column'),
    ('[tabs.deals]\ntitle = "Deals"\n', "tabs", "unknown tab"),
    # One owner as Owner cells are matched: her digest went to one address and was held from the other.
    ('[owners]\n"Ana García" = "ana@example.com"\n"ana garcía" = "agarcia@example.com"\n', "owners.ana garcía",
     '"ana garcía" and "Ana García" are one owner'),
    ('locale = "fr"\n', "locale", "'en' or 'es'"),
    ('currency = "EURO"\n', "currency", "unknown currency"),
    ('locle = "es"\n', "locle", 'unknown key; did you mean "locale"?'),
    # A misspelt key is named with the one it is like, else beside the section's keys when few.
    ('[scoring]\nhalf_life_day = 3\n', "scoring.half_life_day", 'unknown key; did you mean "half_life_days"?'),
    ('[scoring]\nweights = 3\n', "scoring.weights",
     "unknown key; this section takes base, rules, engagement, engagement_cap, half_life_days, grades, learned"),
    # Both Meeting: the later one's points replaced the other's with no word.
    ('[scoring]\nengagement = { Meeting = 10, "Reunión" = 2 }\n', "scoring.engagement",
     '"Meeting" and "Reunión" are both the activity type Meeting'),
    ('[scoring.grades]\nE = 10\n', "scoring.grades.E", "unknown key; this section takes A, B, C"),
    ('[tabs.leads.custom_fields]\nTier = { values = ["Gold", "Silver"] }\n', "tabs.leads.custom_fields.Tier",
     '`values` are for an enum custom field, and this one is text; write type = "enum"'),
    # A key the table has is not offered for a misspelt one ("whn" beside "when").
    ('[[workflows]]\nname = "x"\nwhen = "lead created"\nthen = "send email"\nwhn = 3\n', "workflows.1.whn",
     'whn: unknown key (and 2 more problems, at workflows.1.id, workflows.1.record)'),
    ('[segments.big]\nrecord = "opportunity"\nwher = "Amount > 5"\n', "segments.big.wher",
     'unknown key; did you mean "when"? (and 1 more problem, at segments.big.when)'),
    # The other problems by their keys: "(and 1 more)" after a list of types read as one type more.
    ('[tabs.leads]\ncustom_fields = { Budget = { type = "numbr" }, Tier = { type = "txt" } }\n',
     "tabs.leads.custom_fields.Budget.type",
     "'email' or 'enum' (and 1 more problem, at tabs.leads.custom_fields.Tier.type)"),
    # Named under its section alone ("duplicates: unknown country code"), the key was left to guess.
    ('[duplicates]\ncountry = "Spain"\n', "duplicates.country", "unknown country code 'Spain'"),
    ('forecast_months = "6"\n', "forecast_months", "integer"),
    ('[smtp]\ntimeout = inf\n', "smtp.timeout", "finite"),
    ('[google]\nbackoff_seconds = nan\n', "google.backoff_seconds", "finite"),
    ('[google]\nmax_backoff_seconds = -2\n', "google.max_backoff_seconds", "greater than 0"),
    ('[google]\nbackoff_seconds = 30\nmax_backoff_seconds = 5\n', "google.max_backoff_seconds",
     "at least backoff_seconds"),
    ('[schedule]\nmax_backoff_seconds = 1e300\n', "schedule.max_backoff_seconds", "less than or equal"),
    ('[smtp]\nretry_seconds = 0\n', "smtp.retry_seconds", "greater than 0"),
    ('[scoring]\nhalf_life_days = -inf\n', "scoring.half_life_days", "finite"),
    ('[[stages]]\nname = "Won"\nprobability = 120\nkind = "won"\n', "stages.1.probability", "100"),
    ('[[stages]]\nname = "Open"\nprobability = -1\n', "stages.1.probability", "0"),
    # A won deal weighs its whole amount and a lost one nothing: a Closed Won at 50 would show a
    # won deal's Weighted Amount at half (and mirror it to the warehouse) with nothing said.
    ('[[stages]]\nname = "Open"\nprobability = 10\n[[stages]]\nname = "Won"\nprobability = 50\nkind = "won"\n',
     "stages.2.probability", 'stage "Won" is won, so its probability must be 100, not 50'),
    ('[[stages]]\nname = "Open"\nprobability = 10\n[[stages]]\nname = "Lost"\nprobability = 40\nkind = "lost"\n',
     "stages.2.probability", 'stage "Lost" is lost, so its probability must be 0, not 40'),
    ('locale = "en"\nlocale = "es"\n', "not valid TOML", "line 2"),
    # Both named, the spreadsheet won and the workbook was ignored with no word.
    ('workbook = "crm.xlsx"\nspreadsheet = "1AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"\n', "spreadsheet",
     'workbook = "crm.xlsx" names another workbook'),
    ('timezone = "America/Nowhere"\n', "timezone", "is not a time zone"),
    ('[cases]\ntimezone = "UTC+2"\n', "cases.timezone", "is not a time zone"),
    ('timezone = "America/New_York"\n[cases]\ntimezone = "Europe/Madrid"\n', "cases.timezone",
     "is not the team's time zone \"America/New_York\""),
]


@pytest.mark.parametrize("text,key,words", MISTAKES, ids=[m[1] + ":" + m[2] for m in MISTAKES])
def test_each_config_mistake_is_one_line_naming_file_and_key(folder, text, key, words, monkeypatch):
    (folder / "sheetcrm.toml").write_text(text, encoding="utf-8")
    if text == MISTAKES[0][0]:  # one through a real process: exit status and stderr as a shell sees them
        out = run("validate", cwd=folder)
        code, stdout, stderr = out.returncode, out.stdout, out.stderr
    else:  # the others through the same command in this process (a process each: 36 s of CPU)
        monkeypatch.chdir(folder)
        done = CliRunner().invoke(main, ["validate"])
        assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
        code, stdout, stderr = done.exit_code, done.stdout, done.stderr
    assert code == 2, stdout
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert f"sheetcrm.toml: {key}" in stderr and words in stderr, stderr


def test_a_config_link_whose_target_is_gone_is_one_line_not_the_defaults(tmp_path, monkeypatch):
    # ./sheetcrm.toml a link to a mount that is missing: taken for no file, the command ran on
    # the default locale, currency and stages, exit 0 or 1, with nothing said.
    wb = openpyxl.Workbook()
    wb.active.title = "Accounts"
    wb.active.append(["ID", "Name"])
    wb.save(tmp_path / "crm.xlsx")
    (tmp_path / "sheetcrm.toml").symlink_to(tmp_path / "mounted" / "sheetcrm.toml")
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["validate"])
    assert done.exit_code == 2, done.stdout
    assert done.stderr == f"sheetcrm: sheetcrm.toml: cannot read: it links to {tmp_path}/mounted/sheetcrm.toml, " \
                          "which does not exist\n", done.stderr


def test_a_bom_is_accepted(folder):
    (folder / "sheetcrm.toml").write_bytes('\ufefflocale = "es"\ncurrency = "EUR"\n'.encode("utf-8"))
    out = run("validate", cwd=folder)
    assert out.returncode == 0, out.stderr
    config = load_config(folder / "sheetcrm.toml")
    assert (config.locale, config.currency) == ("es", "EUR")


def test_a_header_override_may_name_the_column_in_spanish(tmp_path):
    (tmp_path / "sheetcrm.toml").write_text('[tabs.opportunities]\nheaders = { "Importe" = "Deal size" }\n')
    assert load_config(tmp_path / "sheetcrm.toml").tab("opportunities").headers == {"Amount": "Deal size"}


def test_the_example_config_loads():
    from sheetcrm.config import EXAMPLE, _non_finite

    import tomllib

    data = tomllib.loads(EXAMPLE)
    assert _non_finite(data) is None
    assert Config.model_validate(data, strict=True).currency == "USD"


def test_each_commented_out_setting_of_the_example_loads_once_uncommented():
    # A person uncomments the one line they need. `# templates = ...` sat under the active
    # [schedule], so uncommented it stopped every command: "schedule.templates: unknown key".
    import re
    import tomllib

    from sheetcrm.config import EXAMPLE

    lines = EXAMPLE.splitlines()
    tried = []
    for i, line in enumerate(lines):
        setting = re.fullmatch(r"# ([a-z_]+ = .+)", line)
        headers = [h for h in lines[:i] if re.fullmatch(r"(# )?\[.+\]", h)]
        if setting and not (headers and headers[-1].startswith("#")):  # its section is active, or none
            Config.model_validate(tomllib.loads("\n".join([*lines[:i], setting[1], *lines[i + 1:]])), strict=True)
            tried.append(setting[1].split()[0])
    assert "templates" in tried and "timezone" in tried, tried


@pytest.mark.parametrize("text,zone", [('timezone = "America/New_York"\n', "America/New_York"),
                                       ('[cases]\ntimezone = "America/New_York"\n', "America/New_York"),
                                       ('timezone = "Europe/Madrid"\n[cases]\ntimezone = "Europe/Madrid"\n',
                                        "Europe/Madrid"),
                                       ("", None)])
def test_the_team_time_zone_is_one_zone_for_the_day_and_the_case_clock(tmp_path, text, zone):
    # [cases] timezone is the older place of the top-level timezone: either sets the team's zone,
    # the sync's day's and the SLA clock's alike; with neither, the day is the machine's.
    from zoneinfo import ZoneInfo

    (tmp_path / "sheetcrm.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "sheetcrm.toml")
    assert config.zone_name() == zone
    assert config.cases.clock(config.zone_name()).zone == ZoneInfo(zone or "UTC")


STAGE = '[[stages]]\nname = "Open"\nprobability = 10\n'


@pytest.mark.parametrize("stage, words", [
    ('name = "Won"\nprobability = 100\nkind = "won"\nforecast_category = "Commit"\n', "must be Closed, not Commit"),
    ('name = "Lost"\nprobability = 0\nkind = "lost"\nforecast_category = "Pipeline"\n', "must be Omitted, not Pipeline"),
    ('name = "Signed"\nprobability = 90\nforecast_category = "Closed"\n', "any but Closed, not Closed"),
])
def test_a_stage_declaring_a_category_its_kind_rules_out_is_a_config_mistake(tmp_path, stage, words):
    # The engine forecasts a won deal as Closed and a lost one as Omitted whatever the stage says
    # (crm.stages.forecast_category); a declaration it would not obey must not load quietly.
    (tmp_path / "sheetcrm.toml").write_text(STAGE + "[[stages]]\n" + stage)
    with pytest.raises(Exception) as caught:
        load_config(tmp_path / "sheetcrm.toml")
    assert words in str(caught.value)


def test_a_won_or_lost_stage_needs_no_category():
    config = Config.model_validate({"stages": [{"name": "Open", "probability": 10},
                                               {"name": "Won", "probability": 100, "kind": "won"},
                                               {"name": "Lost", "probability": 0, "kind": "lost"}]})
    assert [s.kind for s in config.stages] == ["open", "won", "lost"]


def test_a_closed_stage_probability_mistake_speaks_spanish_too(folder, monkeypatch):
    # Before the config is read the environment's language speaks: a Spanish operator reads it in Spanish.
    monkeypatch.setenv("SHEETCRM_LANG", "es")
    (folder / "sheetcrm.toml").write_text('[[stages]]\nname = "Abierta"\nprobability = 10\n[[stages]]\n'
                                          'name = "Ganada"\nprobability = 50\nkind = "won"\n', encoding="utf-8")
    out = run("validate", cwd=folder)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "sheetcrm.toml: stages.2.probability:" in out.stderr, out.stderr
    assert "la etapa \"Ganada\" es won, así que su probabilidad debe ser 100, no 50" in out.stderr, out.stderr


def test_with_no_config_the_environments_language_is_the_teams_but_settles_no_reading(tmp_path, monkeypatch):
    """With no sheetcrm.toml, SHEETCRM_LANG=es spoke Spanish until the config loaded, then
    English (the default `locale` was "en"): `validate` said "There is no Accounts tab" and the
    demo wrote English tabs. The environment is the team's language where no file sets one
    (docs/i18n.md), but never how a cell reads: "12.500" in a tab whose words say no language
    still reads the English way (README, rule 6), said with its other reading; and a workbook
    whose titles are English is spoken of in English, every line, not in two languages. In process."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    wb = openpyxl.Workbook()
    wb.active.title = "Opportunities"  # one English title: the workbook speaks English whatever the environment
    wb.active.append(["ID", "Name", "Account", "Stage", "Amount"])
    wb.active.append(["OPP-0001", "Big", "Acme", "Prospecting", "12.500"])
    wb.save(tmp_path / "en.xlsx")
    wb.active.title = "Leads"  # a title both languages share says nothing: the environment speaks
    wb.save(tmp_path / "said.xlsx")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHEETCRM_LANG", "es")
    runner = CliRunner()
    config = load_config()
    assert (config.locale, "locale" in config.model_fields_set) == ("es", False)
    said = runner.invoke(main, ["validate", "--workbook", "said.xlsx"]).stdout
    assert 'No hay ninguna pestaña "Cuentas".' in said and "There is no" not in said
    english = runner.invoke(main, ["validate", "--workbook", "en.xlsx"]).stdout
    assert english.startswith(f"{tmp_path / 'en.xlsx'}: 1 row, 0 errors, 10 warnings\nSeverity")  # not one Spanish line
    assert 'There is no "Accounts" tab. (missing_tab)' in english
    assert '"12.500" read as 12500; could be 12.5' in english
    assert runner.invoke(main, ["sync", "--workbook", "en.xlsx", "--dry-run"]).stdout.startswith("read 1 row in 1 tab")
    assert config.reading_locale() == "en"
