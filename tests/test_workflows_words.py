"""What the workflows say (issue 14, testers' wording faults), each kind with a test that fails on
the code before it: stages and statuses in the team's own words, the Workflow Log's shape (Event,
Result, Details, Chain) and a Log of the previous version still read after the upgrade, the owner
an assignment chose, kinds named without "a {kind}", and the Then hint listing every action.

Through real syncs on the in-memory backend (the words are the same on every backend; the
backends' writes are tests/test_workflows.py's), and on the pure core for the messages."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.cells import normalize_key
from sheetcrm.config import Config
from sheetcrm.crm.workflows import ACTION_LABELS, ACTION_OF, ACTIONS, RuleRow, State, World, run
from sheetcrm.i18n import in_locale, using
from sheetcrm.schema import WORKFLOW_LOG, WORKFLOW_STATE
from sheetcrm.sync import sync
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workflow_tabs import LOG_FIELDS, read_log

D0 = dt.date(2026, 12, 1)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


# -- 1. stages and statuses in the team's words ---------------------------------------------------

def _spanish_tabs(rules: list[list]) -> dict[str, list[list]]:
    return {
        "Cuentas": [["ID", "Nombre", "Propietario"], ["ACC-0001", "Initech", "Sam"]],
        "Leads": [["ID", "Apellido", "Empresa", "Estado", "Propietario"], ["LEAD-0001", "Ng", "Acme", "Nuevo", "Sam"]],
        "Oportunidades": [["ID", "Nombre", "Cuenta", "Propietario", "Etapa", "Importe", "Fecha de cierre", "Creado"],
                          ["OPP-0001", "Grande", "ACC-0001", "Sam", "Calificación", 5000, "2027-01-10", "2026-11-01"],
                          ["OPP-0002", "Otra", "ACC-0001", "Sam", "Propuesta", 100, "2027-01-10", "2026-11-01"]],
        "Actividades": [["ID", "Fecha", "Tipo", "Asunto", "Relacionado"]],
        "Tareas": [["ID", "Vencimiento", "Asunto", "Relacionado", "Propietario", "Estado"]],
        "Flujos de trabajo": [["ID", "Nombre", "Activa", "Registro", "Cuándo", "Si", "Entonces", "Asunto",
                               "Vence (días)"], *rules],
    }


def test_a_spanish_workbook_names_stages_and_statuses_in_its_own_words():
    """Was: "entró en Proposal", a task "Seguimiento: Grande (Proposal)" and "Estado cambió de New
    a Contacted" in a workbook whose every cell says Propuesta, Nuevo, Contactado."""
    rules = [["WF-0001", "Propuesta", "sí", "oportunidad", "entra en Propuesta", "", "crear tarea",
              "Seguimiento: {{ Nombre }} ({{ Etapa }})", 2],
             ["WF-0002", "Etapas", "sí", "oportunidad", "Etapa cambia", "", "registrar actividad",
              "{{ Nombre }}: ahora {{ Etapa }}", None],
             ["WF-0003", "Estados", "sí", "lead", "Estado cambia", "", "registrar actividad", "{{ Estado }}", None]]
    book = MemoryWorkbook(_spanish_tabs(rules))
    config = Config(locale="es")
    sync(book, config, day(0))
    book.tabs["Oportunidades"][1][4] = "Propuesta"
    book.tabs["Leads"][1][3] = "Contactado"
    sync(book, config, day(1))
    log = _log(book, "es")
    # Calificación: no cell holds it any more, so it is the locale's word for the default stage.
    assert [(e["Rule"], e["Event"]) for e in log] == [
        ("WF-0001", "entró en Propuesta"),
        ("WF-0002", "Etapa cambió de Calificación a Propuesta"),
        ("WF-0003", "Estado cambió de Nuevo a Contactado")]
    assert [r[2] for r in book.tabs["Tareas"][1:]] == ["Seguimiento: Grande (Propuesta)"]
    assert [r[3] for r in book.tabs["Actividades"][1:]] == ["Grande: ahora Propuesta", "Contactado"]
    # The keys keep the canonical stage: a team renaming its words never re-fires anything.
    assert log[0]["Key"] == "WF-0001|OPP-0001|enters:Proposal@2026-12-02"


@pytest.mark.parametrize("locale,subject", [("es", "Grande: 1500,5 el 10 de enero de 2027"),
                                            ("en", "Grande: 1500.5 el January 10, 2027")])
def test_a_subject_writes_numbers_and_dates_as_the_team_s_locale_does(locale, subject):
    """Was: "Llamar Hugo 1500.5" and "Cierre D2 2026-12-10" in a Spanish workbook whose every cell
    says 1500,5 and 10/12/2026: a Subject's number or date as the locale writes it (a date in the
    email templates' long form, never a day-first/month-first guess; a number ungrouped)."""
    rules = [["WF-0001", "Propuesta", "sí", "oportunidad", "entra en Propuesta", "", "crear tarea",
              "{{ Nombre }}: {{ Importe }} el {{ Fecha_de_cierre }}", 2]]
    book = MemoryWorkbook(_spanish_tabs(rules))
    book.tabs["Oportunidades"][1][5] = 1500.5
    config = Config(locale=locale)
    sync(book, config, day(0))
    book.tabs["Oportunidades"][1][4] = "Propuesta"
    sync(book, config, day(1))
    assert [r[2] for r in book.tabs["Tareas"][1:]] == [subject]


@pytest.mark.parametrize("locale,subject", [("es", "Grande: demo Sí, VIP No; sin VIP"),
                                            ("en", "Grande: demo Yes, VIP No; sin VIP")])
def test_a_subject_writes_a_yes_no_column_in_words_and_still_tests_it(locale, subject):
    """Was: "Grande: demo True, VIP False; VIP" in a workbook whose cells say Sí and No: a team's
    column of Sí/No is typed yes/no by its cells (columns.infer_kind), and a template showed
    Python's word for it; `{% if VIP %}` must still be false for a No."""
    rules = [["WF-0001", "Propuesta", "sí", "oportunidad", "entra en Propuesta", "", "crear tarea",
              "{{ Nombre }}: demo {{ Demo_Hecha }}, VIP {{ VIP }}; {% if VIP %}VIP{% else %}sin VIP{% endif %}"
              "{% if VIP == true %} (VIP){% endif %}", 2]]
    tabs = _spanish_tabs(rules)
    tabs["Oportunidades"] = [row + extra for row, extra in zip(tabs["Oportunidades"],
                                                               [["Demo Hecha", "VIP"], ["Sí", "No"], ["No", "sí"]])]
    book = MemoryWorkbook(tabs)
    config = Config(locale=locale)
    sync(book, config, day(0))
    book.tabs["Oportunidades"][1][4] = "Propuesta"
    sync(book, config, day(1))
    assert [r[2] for r in book.tabs["Tareas"][1:]] == [subject]


# -- 2. the Log's shape, and a Log of the previous version ------------------------------------------

LEADS = [["ID", "Last Name", "Company", "Status", "Owner", "Created"],
         ["LEAD-0001", "Ng", "Acme", "New", "Ana", "2026-11-20"],
         ["LEAD-0002", "Li", "Initech", "New", "Bo", "2026-11-20"]]


def _english_book(rules: list[list], **more: list[list]) -> MemoryWorkbook:
    return MemoryWorkbook({
        "Leads": [list(r) for r in LEADS],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Big", "Acme", "Sam", "Proposal", 5000, "2026-12-10"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Workflows": [["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)", "Template",
                       "Assign To", "Cap"], *rules], **more}, owned=set(more))


def _log(book: MemoryWorkbook, locale: str = "en") -> list[dict]:
    rows = book.tabs[WORKFLOW_LOG.display_title(locale)]
    assert rows[0] == list(WORKFLOW_LOG.display_headers(locale))
    width = len(WORKFLOW_LOG.headers)
    return [dict(zip(WORKFLOW_LOG.headers, [*r, *[""] * (width - len(r))])) for r in rows[1:]]


def test_an_assignment_names_the_owner_it_chose_and_a_skip_says_why_beside_its_event():
    """Was: a done assignment's row named nobody; a skipped one put "created: The rule … cap" in
    the Event cell. Now Event is what happened to the record, Details what the action did or why
    it did not, and Chain stays empty for what was not done (a log row is written whole, its
    empty cells as no value)."""
    rules = [["WF-0001", "Round robin", "yes", "lead", "created", "", "assign owner", None, None, None,
              "Ana, Bo", 2]]
    book = _english_book(rules)
    sync(book, Config(), day(0))
    book.tabs["Leads"] += [["LEAD-0003", "Kim", "Globex", "New", None, "2026-12-02"],
                           ["LEAD-0004", "Ray", "Hooli", "New", None, "2026-12-02"],
                           ["LEAD-0005", "Day", "Umbrella", "New", None, "2026-12-02"]]
    outcome = sync(book, Config(), day(1))
    log = _log(book)
    assert [(e["Record"], e["Event"], e["Result"], e["Details"], e["Chain"]) for e in log] == [
        ("LEAD-0003", "created", "done", "assigned to Ana (round-robin, 2 of Cap 2)", "WF-0001"),
        ("LEAD-0004", "created", "done", "assigned to Bo (round-robin, 2 of Cap 2)", "WF-0001"),
        ("LEAD-0005", "created", "skipped",
         "The rule WF-0001 could not assign LEAD-0005: every owner in Assign To is at their cap.", None)]
    assert [r[4] for r in book.tabs["Leads"][1:]] == ["Ana", "Bo", "Ana", "Bo", None]
    assert [f.message for f in outcome.workflows.outcome.firings][:1] == ["assigned to Ana (round-robin, 2 of Cap 2)"]


def test_an_assignment_without_a_cap_names_the_owner_in_spanish_too():
    rules = [["WF-0001", "Turnos", "sí", "lead", "creado", "", "asignar propietario", None, None, None, "Ana, Bo",
              None]]
    tabs = _spanish_tabs([])
    tabs["Flujos de trabajo"] = [[*tabs["Flujos de trabajo"][0], "Plantilla", "Asignar a", "Tope"], rules[0]]
    book = MemoryWorkbook(tabs)
    sync(book, Config(locale="es"), day(0))
    book.tabs["Leads"].append(["LEAD-0002", "Li", "Initech", "Nuevo", None])
    sync(book, Config(locale="es"), day(1))
    [entry] = _log(book, "es")
    assert (entry["Event"], entry["Result"], entry["Details"]) == ("creado", "hecho", "asignado a Ana (por turnos)")


OLD_HEADERS = {"en": ["Time", "Rule", "Rule Name", "Record", "Event", "Action", "Result", "Key", "Created Record",
                      "Chain"],
               "es": ["Hora", "Regla", "Nombre de la regla", "Registro", "Evento", "Acción", "Resultado", "Clave",
                      "Registro creado", "Cadena"]}


@pytest.mark.parametrize("locale", ["en", "es"])
def test_a_log_of_the_previous_version_is_read_by_its_headers_so_nothing_fires_twice(locale):
    """A Log written before the Details column (keys in the 8th column): after the upgrade its keys
    are still keys — the event it holds does not fire again, though the State (lost here) no
    longer says so — and the Log is rewritten in the new shape, every old cell kept."""
    title = WORKFLOW_LOG.display_title(locale)
    old_row = ["2026-12-08", "WF-0001", "Close reminder", "OPP-0001", "2 days before Close Date (2026-12-10)",
               "log activity", "done", "WF-0001|OPP-0001|from:close_date:2026-12-10", "ACT-0007", "WF-0001"]
    skipped = ["2026-12-08", "WF-0001", "Close reminder", "OPP-0002", "created: a reason", "log activity", "skipped",
               "WF-0001|OPP-0002|from:close_date:2026-12-10", None, None]
    state = [["Kind", "Key", "Field", "Value"], ["armed", "WF-0001", "", "2026-12-01"]]   # "checked" lost
    rules = [["WF-0001", "Close reminder", "yes", "opportunity", "2 days before Close Date", "", "log activity",
              "Closes soon: {{ Name }}", None, None, None, None]]
    book = _english_book(rules, **{title: [OLD_HEADERS[locale], old_row, skipped],
                                   WORKFLOW_STATE.display_title(locale): state})
    entries, rows = read_log(book.read().tabs[title], locale)
    assert [e.key for e in entries] == [old_row[7], skipped[7]]
    assert (entries[0].created, entries[0].chain, entries[0].said, entries[0].action) == (
        "ACT-0007", ("WF-0001",), old_row[4], "log_activity")
    outcome = sync(book, Config(locale=locale), day(7))   # the event's due day: it would fire without its key
    assert outcome.workflows.outcome.firings == [] and book.tabs["Activities"][1:] == []
    log = book.tabs[title]
    assert log[0] == list(WORKFLOW_LOG.display_headers(locale))
    details = LOG_FIELDS.index("details")
    for have, old in zip(log[1:], (old_row, skipped)):
        have = [*have, *[None] * (len(LOG_FIELDS) - len(have))]
        assert [v or None for v in have[:details] + have[details + 1:]] == [v or None for v in old]
        assert not have[details]
    assert read_log(book.read().tabs[title], locale)[0] == entries
    assert not sync(book, Config(locale=locale), day(7)).plan   # upgraded once; then nothing to write


# -- 3. messages ----------------------------------------------------------------------------------

def _world() -> World:
    names = {"lead": {"score": "score"}, "opportunity": {"stage": "stage", "amount": "amount"}}
    return World(as_of=D0, subjects={}, names=names, labels={k: dict(v) for k, v in names.items()},
                 enums={"stage": {"proposal": "Proposal"}}, stages=("Proposal",))


def _problems(locale: str, *rows: RuleRow):
    with using(locale):
        return {i.code: (i.message, i.hint) for i in run(list(rows), _world(), State(), [], 3, locale).issues}


def test_kinds_are_named_without_an_article_in_both_languages():
    """Was: "does not apply to a opportunity", "There is no column … for a opportunity", and in
    Spanish the gender guessed."""
    rows = (RuleRow("WF-1", "a", True, "opportunity", "score above 70", "", "notify", tab="Workflows", row=2),
            RuleRow("WF-2", "b", True, "opportunity", "Colour changes", "", "notify", tab="Workflows", row=3))
    en = _problems("en", *rows)
    assert en["workflow_wrong_record"] == ('The trigger "score above 70" does not apply to opportunities.',
                                           "Use it on a rule whose Record is lead.")
    assert en["workflow_unknown_column"][0] == 'There is no column "Colour" for opportunities.'
    es = _problems("es", *rows)
    assert "oportunidades" in es["workflow_wrong_record"][0] and "oportunidades" in es["workflow_unknown_column"][0]
    for message, hint in (*en.values(), *es.values()):
        assert " a opportunity" not in message + hint and " un oportunidad" not in message + hint


@pytest.mark.parametrize("locale", ["en", "es"])
def test_the_then_hint_lists_every_action_and_each_reads_back_as_that_action(locale):
    """Was: the hint left out "notify at once". It is now made from the Log's own action names,
    and each of them is what the parser reads, in both languages."""
    hint = _problems(locale, RuleRow("WF-1", "a", True, "lead", "created", "", "dance", tab="Workflows",
                                     row=2))["workflow_bad_then"][1]
    for action in ACTIONS:
        word = in_locale(locale, ACTION_LABELS[action])
        assert word in hint
        assert ACTION_OF[normalize_key(word)] == action
    assert ("notify at once" if locale == "en" else "notificar ya") in hint


def test_the_log_columns_are_the_logs_headers():
    assert len(LOG_FIELDS) == len(WORKFLOW_LOG.headers)
    assert dict(zip(LOG_FIELDS, WORKFLOW_LOG.headers))["key"] == "Key"


# -- 6. a "changes from/to" value read as the column holds it ----------------------------------------

def test_a_changes_to_value_is_read_as_its_column_and_one_no_cell_can_hold_is_an_issue(tmp_path):
    """Was: "Importe cambia a 1.000" fired for a deal going to 1 (the dot read as a decimal
    point) and never for 1000; "Fecha de cierre cambia a 24/12/2026" and "Estado cambia a
    Contactadoo" never fired, and nothing said why. Now numbers and dates are read as the If
    reads them (the ambiguous 1.000 refused, never guessed), and a value no cell could hold is
    an issue at the When cell; the rule does not run."""
    import openpyxl
    from books import xlsx_book

    from sheetcrm.workbook.xlsx import XlsxWorkbook

    rules = [["WF-0001", "Mil", "sí", "oportunidad", "Importe cambia a 1.000", "", "registrar actividad", "mil", None],
             ["WF-0002", "Diez mil", "sí", "oportunidad", "Importe cambia de 5000 a 10.000,5", "",
              "registrar actividad", "diez mil", None],
             ["WF-0003", "Fecha", "sí", "oportunidad", "Fecha de cierre cambia a 24/12/2026", "",
              "registrar actividad", "fecha", None],
             ["WF-0004", "Estado", "sí", "lead", "Estado cambia a Contactadoo", "", "registrar actividad", "estado",
              None],
             ["WF-0005", "Etapa", "sí", "oportunidad", "Etapa cambia a Propuestaa", "", "registrar actividad",
              "etapa", None]]
    book = xlsx_book(tmp_path / "crm.xlsx", _spanish_tabs(rules))
    config = Config(locale="es")
    with using("es"):
        first = sync(book, config, day(0))
    issues = [(i.row, i.column, i.code, i.message) for i in first.crm.report.issues
              if i.code.startswith("workflow")]
    assert issues == [
        (2, "E", "workflow_bad_value", 'No se puede leer el valor del disparador: el número "1.000" es ambiguo: 1000 '
                                       "si su separador agrupa los miles, 1 si marca los decimales"),
        (5, "E", "workflow_bad_value", 'No se puede leer el valor del disparador: "Contactadoo" no es un valor de '
                                       "Estado"),
        (6, "E", "workflow_unknown_stage", '"Propuestaa" no es una etapa.')]
    assert [r.id for r in first.workflows.outcome.rules] == ["WF-0002", "WF-0003"]
    # A person edits the deals: OPP-0001 to 10.000,5 closing on 24/12, OPP-0002 to 1.
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    wb["Oportunidades"]["F2"], wb["Oportunidades"]["G2"] = 10000.5, dt.datetime(2026, 12, 24)
    wb["Oportunidades"]["F3"] = 1
    wb.save(tmp_path / "crm.xlsx")
    with using("es"):
        sync(XlsxWorkbook(tmp_path / "crm.xlsx"), config, day(1))
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    log = [r for r in book.read().tabs["Registro de flujos"].rows[1:]]
    assert [(r[1], r[3]) for r in log] == [("WF-0002", "OPP-0001"), ("WF-0003", "OPP-0001")]


def test_a_negative_due_or_a_cap_of_0_on_the_workflows_tab_is_refused_at_its_cell_as_in_the_config(tmp_path):
    """Was: sheetcrm.toml refused `due_days = -2` and `cap = 0`, but the same values typed in the
    Workflows tab ran: a task due two days before the deal entered Proposal (overdue when
    written), and an assignment rule that skipped every lead, "every owner is at their cap"."""
    from books import xlsx_book

    rules = [["WF-0001", "Propuesta", "sí", "oportunidad", "entra en Propuesta", "", "crear tarea", "Seguir", -2],
             ["WF-0002", "Reparto", "sí", "lead", "creado", "", "asignar propietario", None, None, None, "Ana, Bo", 0],
             ["WF-0003", "Hoy", "sí", "oportunidad", "entra en Propuesta", "", "crear tarea", "Hoy", 0]]
    tabs = _spanish_tabs(rules)
    tabs["Flujos de trabajo"][0] += ["Plantilla", "Asignar a", "Tope"]
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    with using("es"):
        outcome = sync(book, Config(locale="es"), day(0))
    refused = [(i.row, i.header, i.value, i.code, i.message) for i in outcome.crm.report.issues
               if i.tab == "Flujos de trabajo" and i.code == "out_of_range"]
    assert refused == [
        (2, "Vence (días)", -2, "out_of_range", '"-2" no es un número de días válido para el vencimiento de una tarea: '
                                               "una tarea vence de 0 a 3650 días después del evento que la creó."),
        (3, "Tope", 0, "out_of_range", '"0" no es un tope válido: ningún propietario puede tener menos de 0 registros '
                                       "abiertos, así que nunca se asignaría a nadie.")]
    assert [r.id for r in outcome.workflows.outcome.rules] == ["WF-0003"]
