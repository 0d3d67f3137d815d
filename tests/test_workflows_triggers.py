"""The pure core of workflows (crm/workflows.py): each remaining trigger kind at its edge, once,
with as_of stepped day by day; and `init`'s Workflows tab in English and Spanish."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sheetcrm.config import Config
from sheetcrm.crm.workflows import LogEntry, RuleRow, State, Subject, World, run
from sheetcrm.i18n import using
from sheetcrm.starter import init_workbook
from sheetcrm.sync import sync
from sheetcrm.workbook.memory import MemoryWorkbook

D0 = dt.date(2027, 1, 4)


def _world(day: dt.date, subjects: dict[str, list[Subject]], **extra) -> World:
    names = {"lead": {"score": "score", "owner": "owner"}, "opportunity": {"stage": "stage", "owner": "owner"},
             "contact": {"owner": "owner"}}
    return World(as_of=day, subjects=subjects, names=names, labels={k: dict(v) for k, v in names.items()},
                 enums={"stage": {"proposal": "Proposal"}}, stages=("Proposal",), **extra)


def _rule(rid: str, record: str, when: str, then: str = "notify") -> RuleRow:
    return RuleRow(rid, rid, True, record, when, "", then, tab="Workflows", row=2)


def _step(rows, worlds):
    """Runs the rules over each day's world in turn, carrying State and the Log as a sync would;
    returns each day's firing keys."""
    state, log, out = State(), [], []
    for world in worlds:
        outcome = run(rows, world, state, log, 3, "en")
        assert outcome.issues == []
        out.append([f.key for f in outcome.firings])
        log += [LogEntry(world.as_of, f.rule.id, f.subject.id, f.event, f.result, f.key) for f in outcome.firings]
        state = outcome.state
    return out


def day(n):
    return D0 + dt.timedelta(days=n)


def test_score_above_fires_when_the_score_crosses_the_threshold_once():
    scores = [40, 60, 80, 90, 60, 85]
    worlds = [_world(day(n), {"lead": [Subject("lead", "LEAD-0001", {"score": Decimal(s)})]})
              for n, s in enumerate(scores)]
    fired = _step([_rule("WF-1", "lead", "score above 70")], worlds)
    assert fired == [[], [], ["WF-1|LEAD-0001|score>70@2027-01-06"], [], [], ["WF-1|LEAD-0001|score>70@2027-01-09"]]
    fired = _step([_rule("WF-2", "lead", "puntuación por debajo de 70")], worlds)
    assert fired == [[], [], [], [], ["WF-2|LEAD-0001|score<70@2027-01-08"], []]


def test_a_score_threshold_with_decimals_is_told_as_the_team_writes_it():
    worlds = [_world(day(n), {"lead": [Subject("lead", "LEAD-0001", {"score": Decimal(s)})]})
              for n, s in enumerate([70, 71])]
    state, events = State(), []
    with using("es"):
        for world in worlds:
            outcome = run([_rule("WF-1", "lead", "puntuación supera 70,5")], world, state, [], 3, "es")
            state, events = outcome.state, events + [f.said for f in outcome.firings]
    assert events == ["la puntuación superó 70,5 (70 → 71)"]


def test_rotting_fires_on_the_day_the_deal_starts_rotting_and_after_downtime_once():
    start = day(3)

    def world(n):
        rotting = day(n) >= start
        return _world(day(n), {"opportunity": [Subject("opportunity", "OPP-0001", {
            "stage": "Proposal", "rotting": rotting, "rotting_start": start})]})
    fired = _step([_rule("WF-1", "opportunity", "rotting")], [world(n) for n in range(6)])
    assert fired == [[], [], [], ["WF-1|OPP-0001|rotting@2027-01-07"], [], []]
    fired = _step([_rule("WF-1", "opportunity", "estancada")], [world(0), world(5), world(6)])  # down days 1-4
    assert fired == [[], ["WF-1|OPP-0001|rotting@2027-01-07"], []]


def test_a_form_response_fires_once_per_response_from_the_armed_day():
    lead = Subject("lead", "LEAD-0001", {})
    forms = [("LEAD-0001", "ACT-0001", day(-5))]   # before the rule was armed: history
    worlds = [_world(day(0), {"lead": [lead]}, forms=forms),
              _world(day(1), {"lead": [lead]}, forms=[*forms, ("LEAD-0001", "ACT-0009", day(1))]),
              _world(day(2), {"lead": [lead]}, forms=[*forms, ("LEAD-0001", "ACT-0009", day(1))])]
    assert _step([_rule("WF-1", "lead", "form response")], worlds) == [[], ["WF-1|LEAD-0001|form:ACT-0009"], []]


def test_a_quote_unanswered_n_days_fires_on_its_day_unless_a_reply_came():
    def world(n, touched):  # touched: record ID -> the days of its activities
        from types import SimpleNamespace

        opp = Subject("opportunity", "OPP-0001", {})
        return _world(day(n), {"opportunity": [opp]}, quotes=[("OUT-0001", "OPP-0001", None, day(1))],
                      activities=[SimpleNamespace(id=None, related=rid, date=d, type="Email", outcome=None)
                                  for rid, days in touched.items() for d in days])
    rule = [_rule("WF-1", "opportunity", "quote unanswered 3 days")]
    assert _step(rule, [world(n, {}) for n in range(7)]) == [[], [], [], [], ["WF-1|OPP-0001|quote:OUT-0001"], [],
                                                            []]
    replied = {"OPP-0001": [day(1), day(3)]}  # the send's own activity, and a reply two days later
    assert _step(rule, [world(n, replied) for n in range(7)]) == [[]] * 7


def test_a_trigger_on_the_wrong_record_or_an_unknown_stage_is_an_issue_at_the_when_cell():
    world = _world(day(0), {})
    outcome = run([_rule("WF-1", "account", "rotting"), _rule("WF-2", "opportunity", "enters Nowhere")], world,
                  State(), [], 3, "en")
    assert [(i.code, i.row, i.value) for i in outcome.issues] == [("workflow_wrong_record", 2, "rotting"),
                                                                  ("workflow_unknown_stage", 2, "enters Nowhere")]


def test_a_case_rule_with_an_unknown_column_or_the_wrong_trigger_is_an_issue_not_a_crash():
    """A rule on cases names its records in the message ("cases") as every other kind does; a
    missing word once raised KeyError and stopped the whole sync."""
    world = _world(day(0), {})
    world.names["case"] = {"status": "status"}
    rows = [_rule("WF-1", "case", "Foo changes"), _rule("WF-2", "case", "rotting"),
            RuleRow("WF-3", "WF-3", True, "case", "created", "Bar = 1", "notify", tab="Workflows", row=4)]
    outcome = run(rows, world, State(), [], 3, "en")
    assert [(i.code, i.message) for i in outcome.issues] == [
        ("workflow_unknown_column", 'There is no column "Foo" for cases.'),
        ("workflow_wrong_record", 'The trigger "rotting" does not apply to cases.'),
        ("workflow_unknown_column", 'There is no column "Bar" for cases.')]
    with using("es"):
        outcome = run(rows[:1], world, State(), [], 3, "es")
    assert outcome.issues[0].message == 'No hay ninguna columna "Foo" para casos.'


@pytest.mark.parametrize("locale,title,when", [("en", "Workflows", "enters Proposal"),
                                               ("es", "Flujos de trabajo", "entra en Propuesta")])
def test_init_adds_the_workflows_tab_with_an_inactive_example(locale, title, when):
    book = MemoryWorkbook({})
    config = Config(locale=locale)
    init_workbook(book, config)
    rows = book.read().tabs[title].rows
    assert rows[1][4] == when and rows[1][2] == "no"
    outcome = sync(book, config, D0)
    assert outcome.workflows.outcome.rules == []    # inactive: nothing runs, no Workflow tabs appear
    assert not any("Workflow" in t or "flujo" in t.casefold() for t in outcome.plan.new_tabs)
    # Switched on, the Spanish rule reads as the English one does.
    book.tabs[title][1][2] = "sí" if locale == "es" else "yes"
    assert [r.id for r in sync(book, config, D0).workflows.outcome.rules] == ["WF-0001"]


def test_an_earlier_as_of_never_reopens_days_already_evaluated():
    """A sync run with --as-of in the past keeps the last evaluated day: an event handled on
    day 5 whose Log row was deleted since does not fire again on day 6 (the tester's case)."""
    start = day(3)
    rule = [_rule("WF-1", "opportunity", "rotting")]

    def world(n):
        return _world(day(n), {"opportunity": [Subject("opportunity", "OPP-0001", {
            "stage": "Proposal", "rotting": day(n) >= start, "rotting_start": start})]})
    state = State()
    first = run(rule, world(0), state, [], 3, "en")
    fired = run(rule, world(5), first.state, [], 3, "en")
    assert [f.key for f in fired.firings] == ["WF-1|OPP-0001|rotting@2027-01-07"]
    back = run(rule, world(1), fired.state, [], 3, "en")     # as_of goes backwards; the Log row is gone
    assert back.firings == [] and back.state.checked["WF-1"] == day(5)
    again = run(rule, world(6), back.state, [], 3, "en")
    assert again.firings == []


@pytest.mark.parametrize("when,field", [
    ("3 días después de la Fecha de cierre", "close_date"), ("3 días después del Creado", "created"),
    ("3 días después de el Creado", "created"), ("2 días antes de la fecha de cierre", "close_date"),
    ("3 days after the Close Date", "close_date"), ("La Etapa cambia a Proposal", "stage"),
    ("the Stage changes", "stage"),
    # A header that itself begins with an article is named as written, never read as another.
    ("1 día después de La Fecha", "la_fecha"), ("1 día después de Fecha", "fecha"),
    ("1 día después de la La Fecha", "la_fecha")])
def test_a_column_after_an_article_is_read_as_a_sentence_writes_it(when, field):
    """Was: "3 días después de la Fecha de cierre" refused, 'no column "la Fecha de cierre"'."""
    from sheetcrm.crm.workflows import parse_rules
    world = _world(day(0), {})
    world.names["opportunity"] |= {"fecha de cierre": "close_date", "close date": "close_date", "creado": "created",
                                   "etapa": "stage", "la fecha": "la_fecha", "fecha": "fecha"}
    world.dates["opportunity"] = frozenset({"close_date", "created", "la_fecha", "fecha"})
    rules, issues = parse_rules([_rule("WF-1", "opportunity", when)], world, "es")
    assert issues == [] and rules[0].trigger.field == field


def test_an_article_before_no_column_is_still_an_unknown_column():
    from sheetcrm.crm.workflows import parse_rules
    rules, issues = parse_rules([_rule("WF-1", "opportunity", "3 days after the Nowhere")], _world(day(0), {}), "en")
    assert rules == [] and [(i.code, i.message) for i in issues] == [
        ("workflow_unknown_column", 'There is no column "the Nowhere" for opportunities.')]
