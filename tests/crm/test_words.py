"""The words sheetcrm writes for configured values (crm/words.py), and the built-in rules in both languages."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.cells import enum_choices, normalize_key
from sheetcrm.crm.history import HistoryRow, record_changes, stage_win_rates
from sheetcrm.crm.scoring import ScoringSettings, rule_scores
from sheetcrm.crm.stages import DEFAULT_STAGES, StageTable
from sheetcrm.crm.words import CATEGORY, DEFAULTS, LEAD_STATUS, STAGE, team_words
from sheetcrm.i18n import using
from sheetcrm.records import LEAD_STATUSES, Lead, Opportunity

DAY1, DAY2 = dt.date(2026, 3, 1), dt.date(2026, 3, 2)
STAGES = [s.name for s in DEFAULT_STAGES]


def test_the_config_name_then_the_teams_most_used_spelling_then_the_default_in_the_teams_language():
    seen = {STAGE: [("Proposal", "propuesta"), ("Proposal", "Propuesta"), ("Proposal", "Propuesta"),
                    ("Closed Won", "Ganado"), ("Closed Won", "Cerrada ganada")]}
    words = team_words("es", {STAGE: STAGES}, seen)
    assert words(STAGE, "Proposal") == "Propuesta"           # most used
    assert words(STAGE, "Closed Won") == "Ganado"            # a tie: the first seen
    assert words(STAGE, "Negotiation") == "Negociación"      # not in the sheet: the Spanish default
    assert words(STAGE, "Mystery") == "Mystery"              # unknown keys are written as they are
    assert team_words("en", {STAGE: STAGES}, {})(STAGE, "Negotiation") == "Negotiation"
    explicit = team_words("es", {STAGE: STAGES}, seen, {STAGE: STAGES})
    assert explicit(STAGE, "Proposal") == "Proposal"        # the config file names it: that wins


@pytest.mark.parametrize("kind,choices", [
    (STAGE, enum_choices({s.name: s.aliases for s in DEFAULT_STAGES})),
    (LEAD_STATUS, enum_choices(LEAD_STATUSES)),
    (CATEGORY, enum_choices({"Pipeline": ["Embudo"], "Best Case": ["Mejor caso"], "Commit": ["Compromiso"],
                             "Closed": ["Cerrado"], "Omitted": ["Omitido", "Excluido"]})),
])
def test_every_default_word_reads_back_as_its_key(kind, choices):
    # The Category Override column's choices are declared on the record model; checked against it too.
    if kind == CATEGORY:
        annotation = Opportunity.model_fields["category_override"].metadata[0].func
        assert set(annotation.choices) == set(DEFAULTS[CATEGORY])
    for lang in ("en", "es"):
        words = team_words(lang, {kind: list(DEFAULTS[kind])}, {})
        for key in DEFAULTS[kind]:
            assert choices[normalize_key(words(kind, key))] == key, (lang, key, words(kind, key))
    assert team_words("es", {kind: list(DEFAULTS[kind])}, {}).spelled[kind] != {k: k for k in DEFAULTS[kind]}


def test_history_compares_keys_so_an_old_english_row_and_a_spanish_stage_are_the_same():
    words = team_words("es", {STAGE: STAGES}, {})
    old = [HistoryRow("OPP-1", None, "Proposal", DAY1, to_key="Proposal")]
    assert record_changes(old, {"OPP-1": ("Proposal", None)}, DAY2, words, STAGE) == []
    moved = record_changes(old, {"OPP-1": ("Closed Won", None)}, DAY2, words, STAGE)
    assert [(r.from_value, r.to_value, r.from_key, r.to_key) for r in moved] == [
        ("Propuesta", "Ganada", "Proposal", "Closed Won")]
    # Old English rows and new Spanish ones teach the same win rates.
    rates = {r.stage: (r.n, r.won) for r in stage_win_rates(old + moved, StageTable.of(DEFAULT_STAGES))}
    assert rates["Proposal"] == (1, 1)


def _lead(source: str, title: str = "Analyst") -> Lead:
    return Lead(id="LEAD-1", last_name="Ruiz", source=source, title=title, status="New")


@pytest.mark.parametrize("locale", ["en", "es"])
@pytest.mark.parametrize("english,spanish", [("Referral", "Referido"), ("Cold Call", "Llamada en frío"),
                                             ("Event", "Evento"), ("Ads", "Anuncios")])
def test_a_spanish_source_scores_exactly_like_the_english_one(locale, english, spanish):
    settings = ScoringSettings()
    with using(locale):
        (en_score, en_why), (es_score, es_why) = rule_scores([_lead(english), _lead(spanish)], [], settings, DAY1)
    assert es_score == en_score != rule_scores([_lead("Web")], [], settings, DAY1)[0][0]
    # The reason names the value as the team typed it, and the column in the sync's language.
    column = "Origen" if locale == "es" else "Source"
    assert f"{column} = {english}" in en_why and f"{column} = {spanish}" in es_why


@pytest.mark.parametrize("english,spanish", [("CEO", "Directora general"), ("Head of Sales", "Jefa de ventas"),
                                             ("Manager", "Gerente"), ("Intern", "Becaria")])
def test_spanish_titles_score_like_english_ones(english, spanish):
    settings = ScoringSettings()
    scores = [s for s, _ in rule_scores([_lead("Web", english), _lead("Web", spanish)], [], settings, DAY1)]
    assert scores[0] == scores[1] != rule_scores([_lead("Web", "Analyst")], [], settings, DAY1)[0][0]


def test_reasons_are_spanish_under_es():
    settings = ScoringSettings()
    with using("es"):
        (_, text), = rule_scores([_lead("Referido", "Directora")], [], settings, DAY1)
    # The title rules match whole words, each inflection listed: the reason names the one typed.
    assert text == "Origen = Referido +20; Cargo contiene Directora +15"


# Spain writes "No cualificado" where Latin America writes "No calificado" (and "Cualificado" beside
# "Calificado"), a Latin American pipeline "Cotización" for the quote Spain calls "Propuesta",
# HubSpot's Spanish "Cierre ganado": each is the same status or stage, never a bad value.
SPELLINGS = {"No calificado": "Unqualified", "No cualificado": "Unqualified", "No cualificada": "Unqualified",
             "No calificada": "Unqualified", "Cualificado": "Qualified", "Calificada": "Qualified"}
STAGE_SPELLINGS = {"Propuesta": "Proposal", "Cotización": "Proposal", "Cotizacion": "Proposal",
                   "Cierre ganado": "Closed Won", "Cerrado ganado": "Closed Won", "Cierre perdido": "Closed Lost",
                   "Cerrado perdido": "Closed Lost"}


def test_spain_and_latin_americas_spellings_are_one_status_and_one_stage_in_a_synced_sheet(tmp_path):
    from books import xlsx_book

    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    leads = [["ID", "Apellidos", "Estado"]] + [[f"LEAD-{i:04d}", f"L{i}", s] for i, s in enumerate(SPELLINGS, 1)]
    deals = [["ID", "Nombre", "Cuenta", "Etapa", "Importe"]] + [
        [f"OPP-{i:04d}", f"D{i}", "Acme", s, 100] for i, s in enumerate(STAGE_SPELLINGS, 1)]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": leads, "Oportunidades": deals,
                                             "Cuentas": [["ID", "Nombre"], ["ACC-0001", "Acme"]]})
    out = sync(book, Config(locale="es"), as_of=DAY1, dry_run=True, cache=False)
    assert [i for i in out.crm.report.issues if i.code == "bad_enum"] == []
    assert [lead.status for lead in out.crm.records("leads")] == list(SPELLINGS.values())
    assert [o.stage for o in out.crm.records("opportunities")] == list(STAGE_SPELLINGS.values())


def test_the_spellings_read_the_same_in_the_lead_status_history_and_a_condition():
    # The Lead Status History tab reads statuses by its own table; conditions (workflows,
    # segments) take the record's aliases (steps.workflows._choices): both from LEAD_STATUSES.
    from sheetcrm.inputs import _LEAD_STATUSES
    from sheetcrm.schema import TABS
    from sheetcrm.steps.workflows import _choices

    assert set(SPELLINGS) - {"Cualificado", "Calificada"} <= set(_choices(TABS["leads"])["Unqualified"])

    for typed, key in SPELLINGS.items():
        assert _LEAD_STATUSES[normalize_key(typed)] == key
        assert Lead(id="LEAD-1", last_name="Ruiz", status=typed).status == key
