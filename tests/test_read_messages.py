"""Every message of the read side speaks the language it is asked for: the Validation issues
(cells, columns, tables, references), the config errors and the schedule phrases, in English
and in Spanish, from the catalogue."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from pydantic import ValidationError

from messy import write_messy
from sheetcrm import cells, columns, i18n
from sheetcrm.cells import CellError
from sheetcrm.config import Config, ConfigError, load_config
from sheetcrm.every import parse_every
from sheetcrm.owned import conflicts
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Grid, Snapshot
from sheetcrm.workbook.xlsx import XlsxWorkbook

# Words that would betray an English sentence inside a Spanish one.
ENGLISH = {"the", "cell", "row", "rows", "column", "columns", "must", "should", "number", "date", "is", "not",
           "write", "with", "and", "or", "of", "tab", "value", "fill", "there", "be", "more", "than",
           "read", "as", "it", "its", "unknown", "expected", "required", "key", "could", "at", "first"}
# What a message quotes is a value (a cell, a header, a file, a key, a config phrase), never translated.
QUOTED = re.compile(r'"[^"]*"|\'[^\']*\'|`[^`]*`|\S+\.toml|\S*[_./:@-]\S*')


def english_words(text: str) -> set[str]:
    return set(re.findall(r"[^\W\d_]+", QUOTED.sub(" ", text).lower())) & ENGLISH


def assert_spanish(en: str, es: str) -> None:
    assert es != en, es
    assert not english_words(es), (english_words(es), es)


# --- every Validation issue of two messy workbooks ----------------------------------------


def _messy_issues(tmp_path, language):
    tmp_path.mkdir()
    path, config = write_messy(tmp_path)
    return read_crm(XlsxWorkbook(path).read(), load_config(config), language).report.issues


ACCOUNTS = [["ID", "Name", "Employees", "Status"], ["ACC-0001", "Acme", 10, "Prospect"],
            ["ACC-0002", "Acme", "many", "Customer"], ["7", "Beta", "", ""], ["x1", "Gamma", "", ""],
            ["x2", "Delta", "", ""], ["x3", "Eps", "", ""], ["x4", "Zeta", "", ""]]
CONTACTS = [["ID", "Account", "First Name", "Last Name", "Email", "Email"],
            ["CON-0001", "Acme", "Ana", "Ruiz", "a@acme.example", ""],
            ["CON-0002", "Nobody", "Bo", "Diaz", "a@acme.example", ""],
            ["CON-0003", "ACC-0001", "Cy", "", "cy@@acme", ""]]
OPPORTUNITIES = [["ID", "Name", "Account", "Contact", "Stage", "Amount", "Currency", "Probability", "Close Date",
                  "Created", "Send Quote"],
                 ["OPP-0001", "A", "ACC-0001", "", "Proposal", "12.500", "", "0.5", "03/12/2026", "2026-02-30",
                  "maybe"],
                 ["OPP-0002", "B", "ACC-0001", "", "Proposal", "1,5", "", "150", "", "13/02/2026", ""],
                 ["OPP-0003", "C", "ACC-0001", "", "Proposal", "JPY 100", "EUR", "0.2", "", "14/02/2026", ""],
                 ["OPP-0004", "D", "ACC-0001", "", "Proposal", "kr 100", "", "1", "", "02/13/2026", ""],
                 ["OPP-0005", "E", "ACC-0001", "", "Guessing", "1e400x", "", "", "26-02-01", "", ""],
                 ["OPP-0005", "F", "ACC-0001", "", "Proposal", "$100", "", "", "2026-13-01", "", ""],
                 ["OPP-0007", "G", "ACC-0001", "", "Proposal", "10000000000000000", "", "", "9999999", "", ""],
                 ["OPP-0008", "H", "ACC-0001", "", "Proposal", "1.23456789012345678", "", "", "32 Foo 2026", "",
                  ""]]
QUOTE_LINES = [["Opportunity", "SKU", "Quantity"], ["OPP-0099", "NOPE", "2"], ["OPP-0001", "P1", "2,5.3"]]


def _zoo_issues(language):
    snapshot = Snapshot({"Accounts": Grid(ACCOUNTS), "Contacts": Grid(CONTACTS),
                         "Opportunities": Grid(OPPORTUNITIES, errors={(1, 4): "#N/A", (2, 4): "=1000*2"}),
                         "Products": Grid([["SKU", "Name", "Unit Price"], ["P1", "x", 1], ["P1", "y", 2]]),
                         "Quote Lines": Grid(QUOTE_LINES)})
    config = Config(currency="USD")
    return read_crm(snapshot, config, language).report.issues


def _pairs(issues_en, issues_es):
    assert [i.code for i in issues_en] == [i.code for i in issues_es]
    return list(zip(issues_en, issues_es))


@pytest.fixture(scope="module")
def zoo():
    return _pairs(_zoo_issues("en"), _zoo_issues("es"))


def test_the_zoo_covers_every_kind_of_read_message(zoo):
    codes = {en.code for en, _ in zoo}
    assert codes >= {"bad_enum", "bad_integer", "bad_number", "bad_bool", "bad_email", "bad_date", "out_of_range",
                     "too_precise", "formula_error", "formula_not_calculated", "currency_conflict", "ambiguous_currency", "symbol_base",
                     "mixed_convention", "ambiguous_number", "ambiguous_date", "ambiguous_percent", "duplicate_id",
                     "id_pattern", "duplicate_sku", "duplicate_email", "unknown_account", "ambiguous_reference",
                     "unknown_opportunity", "unknown_sku", "duplicate_header", "missing_tab", "left_out",
                     "required"}, codes


def test_every_zoo_issue_is_spanish_in_spanish_and_english_in_english(zoo):
    from sheetcrm.schema import TABS

    for en, es in zoo:
        # A missing tab is named as the team knows it: the title `sheetcrm init` gives it in their language.
        spanish_tab = next(s.title_es for s in TABS.values() if s.title == en.tab) if en.code == "missing_tab" else en.tab
        assert (spanish_tab, en.row, en.column, en.value) == (es.tab, es.row, es.column, es.value)
        assert_spanish(en.message, es.message)
        assert_spanish(en.hint, es.hint)
        assert english_words(en.message + " " + en.hint), en  # and the English one is English


def test_every_messy_issue_is_spanish_in_spanish(tmp_path):
    pairs = _pairs(_messy_issues(tmp_path / "en", "en"), _messy_issues(tmp_path / "es", "es"))
    assert len(pairs) > 20
    for en, es in pairs:
        assert_spanish(en.message, es.message)
        assert_spanish(en.hint, es.hint)


def test_plurals_come_from_the_catalogue(zoo):
    left_out = {en.tab: (en.message, es.message) for en, es in zoo if en.code == "left_out"}
    en, es = left_out["Opportunities"]
    assert re.match(r"\d+ opportunities with errors in Opportunities are left out", en), en
    assert re.match(r"\d+ oportunidades con errores en Opportunities quedan fuera", es), es
    en, es = left_out["Accounts"]  # every tab whose rows with errors are left out says so
    assert en.startswith("1 account with errors in Accounts is left out of the Dashboard"), en
    assert es.startswith("1 cuenta con errores en Accounts queda fuera del Panel"), es
    [(en_more, es_more)] = [(en.message, es.message) for en, es in zoo if en.code == "id_pattern" and en.row is None]
    assert en_more.startswith("2 more IDs do not look like ACC-0001 (rows 7 to 8)"), en_more
    assert es_more.startswith("2 ID más no tienen la forma de ACC-0001 (filas 7 a 8)"), es_more


def test_a_single_row_is_one_row_in_either_language():
    with i18n.using("en"):
        assert i18n.ngettext("{n} lead with errors in {tab} is left out of lead scoring until fixed: {listed}.",
                             "{n} leads with errors in {tab} are left out of lead scoring until fixed: {listed}.",
                             1, tab="Leads", listed="row 2").startswith("1 lead with errors in Leads is left out")
    from sheetcrm.schema import count_of
    assert (count_of(1, "quote_lines", "es"), count_of(3, "quote_lines", "es")) == (
        "1 línea de presupuesto", "3 líneas de presupuesto")
    assert (count_of(1, "opportunities", "en"), count_of(2, "opportunities", "en")) == (
        "1 opportunity", "2 opportunities")


# --- the cell parsers, one by one ---------------------------------------------------------

CELL_ERRORS = [
    lambda: cells.parse_number("abc"), lambda: cells.parse_number("(12"), lambda: cells.parse_number("-(12)"),
    lambda: cells.parse_number("EUR 12 USD"), lambda: cells.parse_number("12 QQQ"),
    lambda: cells.parse_number("1 234.5,6"), lambda: cells.parse_number("1.2.3,4.5"),
    lambda: cells.parse_number("12,34", "en"), lambda: cells.parse_number(10 ** 16),
    lambda: cells.parse_number("0.1234567890123456789"), lambda: cells.parse_integer("1.5"),
    lambda: cells.parse_percent("%"), lambda: cells.parse_percent("120"), lambda: cells.parse_date("soon"),
    lambda: cells.parse_date("2026-02-30"), lambda: cells.parse_date("13/02/2026", "en"),
    lambda: cells.parse_date("3 Foo 2026"), lambda: cells.parse_date(-5), lambda: cells.parse_date("2026-13-01"),
    lambda: cells.parse_bool("maybe"), lambda: cells.parse_email("ana"), lambda: cells.parse_email("a b@c.com"),
    lambda: cells.parse_email("@c.com"), lambda: cells.parse_email("a@b"), lambda: cells.parse_email(12),
    lambda: cells.parse_currency("Euros"),
]


def _error(call, language) -> CellError:
    with i18n.using(language):
        with pytest.raises(CellError) as caught:
            call()
    return caught.value


@pytest.mark.parametrize("index", range(len(CELL_ERRORS)))
def test_each_cell_error_speaks_the_current_language(index):
    en, es = _error(CELL_ERRORS[index], "en"), _error(CELL_ERRORS[index], "es")
    assert en.code == es.code and en.raw == es.raw
    assert_spanish(en.message, es.message)
    assert_spanish(en.hint, es.hint)


def test_an_impossible_date_says_why_in_words_of_the_language():
    assert "that month has only 28 days, not 30" in _error(lambda: cells.parse_date("2026-02-30"), "en").message
    assert "ese mes solo tiene 28 días, no 30" in _error(lambda: cells.parse_date("2026-02-30"), "es").message
    assert "there is no month 13" in _error(lambda: cells.parse_date("2026-13-01"), "en").message


def test_numbers_in_messages_follow_the_language():
    # sheetcrm's own numbers are written as the language writes them; the cell is quoted as typed.
    assert "(1 to 2,958,465)" in _error(lambda: cells.parse_date(-5), "en").message
    assert "(de 1 a 2.958.465)" in _error(lambda: cells.parse_date(-5), "es").message
    with i18n.using("es"):
        reading = columns.read_numbers(["12.500", "1.234,5"], "number", "es", False, cells.parse_number)
        assert not reading.findings
        reading = columns.read_numbers(["12.500"], "number", "en", False, cells.parse_number)
    [warning] = reading.findings
    assert warning.error.message == '"12.500" se lee como 12,5; podría ser 12500.'


def test_a_column_proving_its_order_against_the_configs_locale_says_so_in_its_hint():
    """Kind: a column whose own cells prove month first ("03/14/2026") in a team whose config
    says `es` read "05/07/2026" month first and hinted "Nothing else in this column shows
    whether dates are written day or month first… or set locale in sheetcrm.toml": both halves
    wrong, the column shows its order and the locale is set. The same for decimals."""
    dates = columns.read_dates(["03/14/2026", "05/07/2026"], "es", True)
    [found] = [f for f in dates.findings if f.error.code == "ambiguous_date"]
    assert "writes dates month first, as its other cells show" in found.error.hint, found.error.hint
    assert "Nothing else" not in found.error.hint and "set locale" not in found.error.hint
    numbers = columns.read_numbers(["2.5", "1,250", "3.75"], "number", "es", True, cells.parse_number)
    [found] = [f for f in numbers.findings if f.error.code == "ambiguous_number"]
    assert "writes decimals with a period, as its other cells show" in found.error.hint, found.error.hint
    # With no locale in the config, nothing is said against it: the column settles its order.
    assert not [f for f in columns.read_dates(["03/14/2026", "05/07/2026"], "es", False).findings]


def test_enum_hints_list_the_values_as_the_language_writes_them():
    from sheetcrm.records import Account

    for language, listed in (("en", "Prospect, Customer, Churned, Partner"), ("es", "Prospecto, Cliente, Perdido, Socio")):
        with i18n.using(language), pytest.raises(ValidationError) as caught:
            Account.model_validate({"name": "Acme", "status": "Weird"})
        assert caught.value.errors()[0]["ctx"]["hint"].endswith(listed)


def test_a_team_tab_with_sheetcrms_name_is_told_in_the_language():
    snapshot = Snapshot({"Pipeline": Grid([["Our", "own"], ["x", 1]])})
    with i18n.using("en"):
        [en] = conflicts(snapshot, "en")
    with i18n.using("es"):
        [es] = conflicts(snapshot, "en")
    assert_spanish(en.message, es.message)
    assert_spanish(en.hint, es.hint)


# --- config errors and schedule phrases ---------------------------------------------------

BAD_CONFIGS = [
    {"locale": "fr"}, {"forecast_months": 99}, {"forecast_months": 0}, {"forecast_months": "6"},
    {"locle": "es"}, {"validation": 5}, {"currency": "EURO"}, {"stages": []},
    {"stages": [{"probability": 10}]}, {"tabs": {"deals": {}}},
    {"tabs": {"leads": {"custom_fields": {"Tier": {"type": "enum"}}}}},
    {"tabs": {"leads": {"title": "Dashboard"}}}, {"tabs": {"opportunities": {"headers": {"Amoont": "x"}}}},
    {"tabs": {"opportunities": {"headers": {"Amount": "Stage"}}}},
    {"google": {"backoff_seconds": 30.0, "max_backoff_seconds": 5.0}},
    {"schedule": {"sync": "every 5 fortnights"}}, {"schedule": {"sync": "sometimes"}},
    {"schedule": {"sync": "every 2 hours at 08:00"}}, {"schedule": {"digest": "every day at 25:00"}},
    {"schedule": {"digest": "every 2 monday"}}, {"owners": {"Ana": "ana"}},
]


def _config_line(data, language):
    from sheetcrm.config import _one_line

    with i18n.using(language), pytest.raises(ValidationError) as caught:
        Config.model_validate(data, strict=True)
    with i18n.using(language):
        return _one_line(caught.value)


@pytest.mark.parametrize("data", BAD_CONFIGS, ids=[str(d) for d in BAD_CONFIGS])
def test_each_config_problem_names_the_same_key_in_either_language(data):
    en, es = _config_line(data, "en"), _config_line(data, "es")
    key = en.split(": ")[0]
    assert es.startswith(key + ": "), (en, es)
    assert_spanish(en, es)


def test_pydantics_bounds_are_phrased_by_the_catalogue_with_their_numbers():
    assert _config_line({"forecast_months": 99}, "en") == "forecast_months: must be less than or equal to 36"
    assert _config_line({"forecast_months": 99}, "es") == "forecast_months: debe ser menor o igual que 36"
    assert _config_line({"locale": "fr"}, "es") == "locale: debe ser 'en' o 'es'"
    assert _config_line({"locle": "es"}, "es") == 'locle: clave desconocida; ¿querías decir "locale"?'


@pytest.mark.parametrize("phrase", ["every 5 fortnights", "whenever", "every 0 minutes", "every 2 monday",
                                    "every 2 hours at 08:00", "every day at 24:00"])
def test_schedule_phrase_errors_speak_the_language(phrase):
    said = {}
    for language in ("en", "es"):
        with i18n.using(language), pytest.raises(ValueError) as caught:
            parse_every(phrase)
        said[language] = str(caught.value)
    assert repr(phrase) in said["es"]
    assert_spanish(said["en"], said["es"])


def test_a_config_file_error_uses_the_environments_language(tmp_path, monkeypatch):
    for var in ("SHEETCRM_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "sheetcrm.toml").write_text('[google]\nattempts = 50\nlocale = "es"\n')
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    with pytest.raises(ConfigError) as es:
        load_config(tmp_path / "sheetcrm.toml")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    with pytest.raises(ConfigError) as en:
        load_config(tmp_path / "sheetcrm.toml")
    assert str(en.value).endswith("sheetcrm.toml: google.attempts: must be less than or equal to 20 "
                                  "(and 1 more problem, at google.locale)")
    assert str(es.value).endswith("sheetcrm.toml: google.attempts: debe ser menor o igual que 20 "
                                  "(y 1 problema más, en google.locale)")
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\nlocale = "en"\n')
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    with pytest.raises(ConfigError) as toml:
        load_config(tmp_path / "sheetcrm.toml")
    assert "no es TOML válido: No se puede sobrescribir un valor (en la línea 2, columna 14)" in str(toml.value)


@pytest.mark.parametrize(("text", "said"), [
    ('locale = "es\n', "Carácter no permitido: '\\n' (en la línea 1, columna 13)"),  # a string left open
    ('[smtp]\nhost = "a"\n[smtp]\n', "No se puede declarar smtp dos veces (en la línea 3, columna 6)"),
    ('workbook = "C:\\Users\\crm.xlsx"\n', "Valor hexadecimal no válido"),  # a Windows path's \U
])
def test_tomls_explanations_that_name_a_character_or_a_key_are_in_spanish_too(tmp_path, monkeypatch, text, said):
    """Only tomllib's fixed sentences were in the catalogue: a string left open, a table
    declared twice or a Windows path said "Illegal character '\\n'", "Cannot declare ('smtp',)
    twice" (a Python tuple), "Invalid hex value" in English inside a Spanish line."""
    monkeypatch.setenv("SHEETCRM_LANG", "es")
    (tmp_path / "sheetcrm.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "sheetcrm.toml")
    assert f"sheetcrm.toml: no es TOML válido: {said}" in str(e.value)


def test_the_command_line_says_a_config_error_in_spanish_under_a_spanish_lang(tmp_path):
    (tmp_path / "sheetcrm.toml").write_text('forecast_months = 99\n')
    env = {k: v for k, v in os.environ.items() if k not in ("SHEETCRM_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES")}
    env["LANG"] = "es_ES.UTF-8"
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "validate"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 2, out.stdout
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert "sheetcrm.toml: forecast_months: debe ser menor o igual que 36" in out.stderr, out.stderr


def test_the_example_config_says_the_same_in_either_language():
    import tomllib

    from sheetcrm.config import EXAMPLE
    from sheetcrm.starter import example_config

    spanish = i18n.in_locale("es", EXAMPLE)
    assert spanish != EXAMPLE and "todos los ajustes son opcionales" in spanish
    assert tomllib.loads(spanish) == tomllib.loads(EXAMPLE)
    # Every line that is not a comment is the same: keys, values and commented-out settings.
    settings = [line.split("#")[0].rstrip() for line in EXAMPLE.splitlines()]
    assert [line.split("#")[0].rstrip() for line in spanish.splitlines()] == settings
    with i18n.using("es"):
        text = example_config(workbook="ventas.xlsx", credentials="sa.json")
    assert 'workbook = "ventas.xlsx"' in text and 'credentials = "sa.json"' in text and "Qué libro" in text


def test_an_unreadable_config_file_is_one_line_too(tmp_path):
    (tmp_path / "sheetcrm.toml").write_bytes(b"\xff\xfe not utf-8")
    with i18n.using("es"), pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "sheetcrm.toml")
    assert str(caught.value).endswith("sheetcrm.toml: no se puede leer: no es texto UTF-8 (byte 1)")


def test_a_fraction_written_for_points_is_said_with_the_percentage_written_the_spanish_way(tmp_path, monkeypatch):
    """"0.5 es un 0.5 %": the value is the file's (TOML writes a point), the percentage the
    language's, as every other number a Spanish line states."""
    monkeypatch.setenv("SHEETCRM_LANG", "es")
    (tmp_path / "sheetcrm.toml").write_text('[[stages]]\nname = "A"\nprobability = 0.5\n\n'
                                            '[[stages]]\nname = "B"\nprobability = 1\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path / "sheetcrm.toml")
    assert str(e.value).endswith("stages.1.probability: las probabilidades van en puntos: 0.5 es un 0,5 %; "
                                 "escribe 50 para un 50 %")
