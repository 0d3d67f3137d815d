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
