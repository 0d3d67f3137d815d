"""The message catalogue is current, complete in Spanish, and what sheetcrm speaks."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sheetcrm import i18n, names

ROOT = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("catalogue", ROOT / "scripts" / "catalogue.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_catalogue_is_current_complete_and_compiled():
    # Extraction finds every marked string in the code; each must be in both .po files, every
    # Spanish entry translated (not fuzzy), and the shipped .mo files compiled from them.
    assert _tool().check() == []


def test_the_language_follows_the_context_not_a_global():
    with i18n.using("es"):
        assert i18n._("Validation") == "Validación"
        with i18n.using("en"):
            assert i18n._("Validation") == "Validation"
        assert i18n.current() == "es"
    assert i18n.in_locale("es_ES.UTF-8", "Pipeline") == "Embudo"
    assert i18n.every_locale("Forecast") == ("Forecast", "Previsión")


@pytest.mark.parametrize(("env", "expected"), [
    ({"LANG": "es_MX.UTF-8"}, "es"), ({"LANG": "en_US.UTF-8"}, "en"), ({"LANGUAGE": "es:en", "LANG": "C"}, "es"),
    ({"SHEETCRM_LANG": "en", "LANG": "es_ES"}, "en"), ({}, "en"),
])
def test_outside_a_sync_the_environment_chooses(monkeypatch, env, expected):
    for var in ("SHEETCRM_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert i18n.environment_locale() == expected


def test_sheetcrm_tab_names_come_from_the_catalogue():
    assert names.tab_title("pipeline", "es") == "Embudo"
    assert names.tab_headers("forecast", "es")[:3] == ("Mes", "Propietario", "Embudo")
    assert names.computed_name("leads", "score") == ("Score", "Puntuación")
    assert names.word("yes", "es") == "sí"


def test_no_text_for_people_bypasses_the_catalogue():
    # Every literal that reads as prose goes through the catalogue, or says on its line why it
    # is not for people (tests/prose.py). The emulator imitates Google, which speaks English.
    from prose import scan

    import sheetcrm

    assert scan(Path(sheetcrm.__file__).parent) == {}


def test_the_scan_sees_text_that_bypasses_the_catalogue(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('from sheetcrm.i18n import _\n'
                      'def f(n):\n'
                      '    """A docstring is fine."""\n'
                      '    ok = _("There is no {tab} tab.", tab="x")\n'
                      '    internal = "a log key"  # not for people: a key\n'
                      '    return f"{n} rows were left out"\n', encoding="utf-8")
    from prose import unmarked

    assert unmarked(module) == [(6, " rows were left out")]


def test_every_spanish_message_is_filled_with_exactly_its_sources_placeholders():
    # A translation that renames or adds a placeholder is a KeyError when it is filled; one that
    # drops a value hides it from the reader; another `!r` or spec writes another text.
    tool = _tool()
    with tool.po_path("es").open("rb") as f:
        catalog = tool.read_po(f, locale="es", domain=tool.DOMAIN)
    assert tool.placeholder_problems(catalog) == []


def test_the_placeholder_check_sees_each_way_a_translation_can_break():
    from babel.messages.catalog import Catalog

    tool = _tool()
    catalog = Catalog(locale="es", domain="sheetcrm")
    catalog.add("There is no {tab} tab.", 'No hay ninguna pestaña "{tab}".')               # right
    catalog.add("Row {row} of {tab}", "Fila {fila} de {tab}")                              # renamed
    catalog.add("{value!r} is not a date", "{value} no es una fecha")                      # !r lost
    catalog.add("Sent {n} emails", "Enviados {n} correos a {to}")                          # added
    catalog.add("Good morning, %(owner)s.", "Buenos días.")                                # dropped
    catalog.add(("{n} row of {tab}", "{n} rows of {tab}"),
                ("una fila de {tab}", "{n} de filas de {tab}", "{n} filas"))                # form 2 lacks {tab}
    catalog.add("Total: {total}}", "Total: {total}}")                                      # cannot be filled
    assert tool.placeholder_problems(catalog)[:5] == [
        "es: 'Row {row} of {tab}': form 0 'Fila {fila} de {tab}' lacks {row} has {fila}, which its source lacks",
        "es: '{value!r} is not a date': form 0 '{value} no es una fecha' lacks {value!r} has {value}, which its "
        "source lacks",
        "es: 'Sent {n} emails': form 0 'Enviados {n} correos a {to}' has {to}, which its source lacks",
        "es: 'Good morning, %(owner)s.': form 0 'Buenos días.' lacks %(owner)s",
        "es: '{n} row of {tab}': form 2 '{n} filas' lacks {tab}"]
    assert tool.placeholder_problems(catalog)[5].startswith("es: 'Total: {total}}': form 0 cannot be filled")
