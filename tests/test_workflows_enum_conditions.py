"""w14test (tester) reproduction: an If on the Stage compares the stage's canonical English
name as plain text, so a stage named by one of its aliases (docs/workflows.md's own example
`Etapa en (Propuesta, Negociación)`, or `Stage = Won`) is silently never true."""

from __future__ import annotations

import dataclasses
import datetime as dt
from unittest.mock import ANY

import openpyxl
from books import xlsx
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

DAY0 = dt.date(2026, 12, 1)
WF = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)"]


@pytest.mark.parametrize("condition", ["Stage = Closed Won", "Stage = Won", "Stage in (Ganada, Lost)", "Stage = Negociación"])
def test_a_stage_condition_named_by_an_alias_is_true_for_that_stage(tmp_path, condition):
    target = {"Stage = Closed Won": "Closed Won", "Stage = Won": "Closed Won", "Stage in (Ganada, Lost)": "Closed Won",
              "Stage = Negociación": "Negotiation"}[condition]
    tabs = {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Ana"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "Big", "ACC-0001", "Ana", "Qualification", 5000, "2027-03-01", "2026-11-01"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, ["WF-0001", "On stage", "yes", "opportunity", "Stage changes", condition, "create task",
                           "Stage now {{ Stage }}", 1]],
    }
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    book = XlsxWorkbook(path)
    sync(book, Config(), DAY0)
    wb = openpyxl.load_workbook(path)
    wb["Opportunities"]["E2"] = target
    wb.save(path)
    sync(book, Config(), DAY0 + dt.timedelta(days=1))
    ws = openpyxl.load_workbook(path)["Tasks"]
    assert [r[0] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]] == ["TSK-0001"]


@pytest.mark.parametrize("condition, status, holds", [
    ("Estado = Cualificado", "Qualified", True), ("Status in (Nuevo, Contactado)", "Contacted", True),
    ("Status != Calificada", "Qualified", False), ("Estado no en (Convertido)", "New", True),
    ("Status = Qualified", "New", False), ("Status contains quali", "Qualified", True)])
def test_a_lead_status_condition_compares_what_its_words_name(condition, status, holds):
    from sheetcrm.cells import normalize_key
    from sheetcrm.crm.conditions import parse_condition
    from sheetcrm.crm.workflows import Subject, World, _getter
    from sheetcrm.records import LEAD_STATUSES
    enum = {normalize_key(w): k for k, words in LEAD_STATUSES.items() for w in (k, *words)}
    world = World(as_of=DAY0, subjects={}, names={"lead": {"status": "status", "estado": "status"}}, labels={},
                  enums={"status": enum})
    lead = Subject("lead", "LEAD-0001", {"status": status})
    assert parse_condition(condition, "en").test(_getter(lead, world)) is holds


def test_a_status_condition_reads_each_tabs_own_words_and_the_configs_lead_statuses(tmp_path):
    """A word two tabs give different values ("Pendiente": a task's Open, a case's Pending;
    "Cerrada": a task's Done, a case's Closed) names the case's value on a case rule, and a lead
    status word of `[lead_statuses]` names its status: merged into one list, `Estado = Pendiente`
    never held for a pending case, `Status != Cerrada` fired on a closed one, and `Status =
    "Working - Contacted"` never held for the lead whose cell says it."""
    tabs = {
        "Leads": [["ID", "First Name", "Last Name", "Status", "Owner", "Created"],
                  ["LEAD-0001", "Ann", "Bee", "Working - Contacted", "Ana", "2026-11-01"],
                  ["LEAD-0002", "Bob", "Cee", "New", "Ana", "2026-11-01"]],
        "Cases": [["ID", "Subject", "Priority", "Status", "Opened", "Resolved", "Owner"],
                  ["CASE-0001", "x", "Low", "Pendiente", "2026-11-01", None, "Ana"],
                  ["CASE-0002", "y", "Low", "Cerrada", "2026-11-01", "2026-11-02", "Ana"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, *([f"WF-000{n}", "r", "yes", record, "Owner changes", condition, "create task",
                             f"{n} {{{{ ID }}}}", 1] for n, (record, condition) in enumerate([
                                 ("lead", 'Status = "Working - Contacted"'), ("lead", "Estado en (Contactado)"),
                                 ("lead", "Status != Contacted"), ("case", "Estado = Pendiente"),
                                 ("case", "Status != Cerrada")], 1))],
    }
    config = Config.model_validate({"lead_statuses": {"Contacted": ["Working - Contacted"]}})
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    book = XlsxWorkbook(path)
    sync(book, config, DAY0)
    wb = openpyxl.load_workbook(path)
    for tab in ("Leads", "Cases"):
        owner = [c.column_letter for c in wb[tab][1] if c.value == "Owner"][0]
        wb[tab][f"{owner}2"] = wb[tab][f"{owner}3"] = "Bo"
    wb.save(path)
    sync(book, config, DAY0 + dt.timedelta(days=1))
    ws = openpyxl.load_workbook(path)["Tasks"]
    assert sorted(r[2] for r in ws.iter_rows(min_row=2, values_only=True) if r[0]) == [
        "1 LEAD-0001", "2 LEAD-0001", "3 LEAD-0002", "4 CASE-0001", "5 CASE-0001"]


@pytest.mark.parametrize("locale, record, condition, code, said", [
    ("en", "lead", 'Status = "Working - Contactd"', "workflow_bad_condition",
     ('The condition cannot be read: "Working - Contactd" is not a value of Status',
      "Write a value Status holds, e.g. New, Working - Contacted, Qualified, Unqualified, Converted.")),
    ("es", "lead", "Estado no en (Nuevo, Contactadoo)", "workflow_bad_condition",
     ('La condición no se puede leer: "Contactadoo" no es un valor de Estado',
      "Escribe un valor que tenga Estado, p. ej. Nuevo, Working - Contacted, Calificado, No calificado, Convertido.")),
    ("en", "opportunity", "Amount > 5 and Stage != Wonn", "workflow_unknown_stage",
     ('"Wonn" is not a stage.', "Use one of: Proposal, Closed Won.")),
    ("en", "case", "Status = Pending or Status = Closd", "workflow_bad_condition",
     ('The condition cannot be read: "Closd" is not a value of Estado',
      "Write a value Estado holds, e.g. New, Open, Pending, Resolved, Closed.")),
])
def test_a_word_that_names_no_stage_or_status_is_refused_at_the_if_cell(locale, record, condition, code, said):
    """`Status = Contactedd` would never hold and `Stage != Wonn` always would, silently: the
    rule is refused at its If cell, in the team's words, as a When naming no stage is."""
    from sheetcrm.cells import enum_choices
    from sheetcrm.crm.workflows import RuleRow, World, parse_rules
    from sheetcrm.i18n import using
    from sheetcrm.records import CASE_STATUSES, lead_status_choices
    names = {"lead": {"status": "status", "estado": "status"}, "opportunity": {"stage": "stage", "amount": "amount"},
             "case": {"status": "status", "estado": "status"}}
    labels = {"lead": {"status": "Estado" if locale == "es" else "Status"}, "opportunity": {"stage": "Stage"},
              "case": {"status": "Estado"}}
    spanish = {"New": "Nuevo", "Qualified": "Calificado", "Unqualified": "No calificado", "Converted": "Convertido"}
    words = {("lead", "status"): {"Contacted": "Working - Contacted", **(spanish if locale == "es" else {})}}
    world = World(as_of=DAY0, subjects={}, names=names, labels=labels, stages=("Proposal", "Closed Won"),
                  enums={"stage": enum_choices({"Proposal": [], "Closed Won": ["Won", "Ganada"]})},
                  kind_enums={"lead": {"status": lead_status_choices({"Contacted": ["Working - Contacted"]})},
                              "case": {"status": enum_choices(CASE_STATUSES)}}, words=words)
    row = RuleRow("WF-0001", "r", True, record, "created", condition, "create task", "x", tab="Workflows", row=2,
                  where={"condition": ("F", "If")})
    with using(locale):
        rules, issues = parse_rules([row], world, locale)
    assert rules == [] and [(i.column, i.header, i.value, i.code) for i in issues] == [("F", "If", condition, code)]
    assert (issues[0].message, issues[0].hint) == said
    # The same rule with the words right runs.
    right = condition.replace("Contactd", "Contacted").replace("Contactadoo", "Contactado").replace("Wonn", "Won")
    assert parse_rules([dataclasses.replace(row, condition=right.replace("Closd", "Closed"))], world, locale) == (
        [ANY], [])


def test_a_changes_to_trigger_reads_the_word_by_its_records_own_statuses():
    """"Estado cambia a Pendiente" on a case waited for a case turning Open (a task's Pendiente),
    and fired then; "Status changes to Working - Contacted" was refused though the config gives
    the word to Contacted."""
    from sheetcrm.cells import enum_choices
    from sheetcrm.crm.workflows import RuleRow, World, parse_rules
    from sheetcrm.records import CASE_STATUSES, lead_status_choices
    names = {kind: {"status": "status", "estado": "status"} for kind in ("lead", "case", "task")}
    world = World(as_of=DAY0, subjects={}, names=names, labels={k: {"status": "Status"} for k in names},
                  kind_enums={"lead": {"status": lead_status_choices({"Contacted": ["Working - Contacted"]})},
                              "task": {"status": {"pendiente": "Open", "cerrada": "Done"}},
                              "case": {"status": enum_choices(CASE_STATUSES)}})
    rows = [RuleRow(f"WF-000{n}", "r", True, record, when, "", "create task", "x", tab="Workflows", row=n + 1)
            for n, (record, when) in enumerate([("case", "Estado cambia a Pendiente"),
                                                ("case", "Status changes from Cerrada to Abierta"),
                                                ("lead", "Status changes to Working - Contacted")], 1)]
    rules, issues = parse_rules(rows, world, "en")
    assert issues == [] and [(r.trigger.from_, r.trigger.to) for r in rules] == [
        (None, "Pending"), ("Closed", "Open"), (None, "Contacted")]


def test_an_account_or_campaign_condition_compares_the_record_its_cell_names(tmp_path):
    """An If compared an Account or a Campaign as plain text: `Account = "Acme Corp"` did not
    fire for a contact whose Account cell says ACC-0001 (sheetcrm's conversion writes the ID),
    `Account = ACC-0001` not for one whose cell says "acme  corp", `Account != "Acme Corp"` fired
    on Acme's own contact, and `Campaign = CMP-0001` on no lead of that campaign (the read
    writes its name). Each now names the record, by its ID or its name however spelt; a word
    naming no account is refused at the If cell, as a stage's word that names none."""
    tabs = {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme Corp"], ["ACC-0002", "Initech"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"]],
        "Campaigns": [["ID", "Name"], ["CMP-0001", "Fall Push"]],
        "Leads": [["ID", "First Name", "Last Name", "Email", "Company", "Status", "Owner", "Campaign"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, *([f"WF-000{n}", "r", "yes", record, "created", condition, "create task", f"{n}", 1]
                            for n, (record, condition) in enumerate([
                                ("contact", 'Account = "Acme Corp"'), ("contact", "Account = acc-0001"),
                                ("contact", 'Account != "Acme Corp"'), ("opportunity", "Account in (acme corp)"),
                                ("lead", "Campaign = CMP-0001"), ("lead", 'Campaign != "fall push"'),
                                ("contact", "Account = Acme"),
                            ], 1))],
    }
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    book = XlsxWorkbook(path)
    first = sync(book, Config(), DAY0)
    refused = [(i.row, i.code, i.message) for i in first.crm.report.issues if i.tab == "Workflows"
               and i.severity == "error"]
    assert refused == [(8, "workflow_bad_condition", ANY)], refused
    assert '"Acme" is not a value of Account' in refused[0][2]
    wb = openpyxl.load_workbook(path)
    for row in (["CON-0001", "ACC-0001", "Ana", "P", "ana@x.com"], ["CON-0002", "acme  corp", "Bo", "Q", "bo@x.com"],
                ["CON-0003", "Initech", "Cy", "R", "cy@x.com"]):
        wb["Contacts"].append(row)
    for row in (["OPP-0001", "D1", "ACC-0001", "Ana", "Proposal", 100, "2027-01-20"],
                ["OPP-0002", "D2", "Initech", "Ana", "Proposal", 100, "2027-01-20"]):
        wb["Opportunities"].append(row)
    for row in (["LEAD-0001", "A", "B", "a@y.com", "X", "New", "Ana", "cmp-0001"],
                ["LEAD-0002", "C", "D", "c@y.com", "Y", "New", "Ana", "Fall Push"],
                ["LEAD-0003", "E", "F", "e@y.com", "Z", "New", "Ana", None]):
        wb["Leads"].append(row)
    wb.save(path)
    sync(book, Config(), DAY0 + dt.timedelta(days=1))
    tasks = list(openpyxl.load_workbook(path)["Tasks"].iter_rows(min_row=2, values_only=True))
    fired = sorted((t[2], t[3]) for t in tasks if t[0])
    assert fired == [("1", "CON-0001"), ("1", "CON-0002"), ("2", "CON-0001"), ("2", "CON-0002"),
                     ("3", "CON-0003"), ("4", "OPP-0001"), ("5", "LEAD-0001"), ("5", "LEAD-0002"),
                     ("6", "LEAD-0003")], fired


def test_an_events_day_is_written_as_the_teams_language_writes_a_day(tmp_path):
    """The Workflow Log's Event (and so the digest that tells it) said "3 días después de Fecha
    de cierre (2026-11-20)": an ISO day amid Spanish. Now "(20 nov 2026)"; "Nov 20, 2026" in English."""
    tabs = {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Ana"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "Big", "ACC-0001", "Ana", "Qualification", 5000, "2026-11-20", "2026-11-01"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, ["WF-0001", "After close", "yes", "opportunity", "3 days after Close Date", None,
                           "create task", "Chase {{ Name }}", 1]],
    }
    for locale, said in (("es", "3 días después de Fecha de cierre (20 nov 2026)"),
                         ("en", "3 days after Close Date (Nov 20, 2026)")):
        path = xlsx(tmp_path / f"{locale}.xlsx", tabs)
        book = XlsxWorkbook(path)
        sync(book, Config(locale=locale), dt.date(2026, 11, 10))
        outcome = sync(book, Config(locale=locale), dt.date(2026, 11, 23))
        assert [f.said for f in outcome.workflows.outcome.firings] == [said], locale


def test_a_changes_trigger_on_an_account_or_campaign_compares_the_record_its_cell_names(tmp_path):
    """Found by a tester: a When "Account changes" read the cell as typed, so a cell retyped from
    "Acme Corp" to ACC-0001 (the same account) fired it, and "Account changes to Acme Corp" did
    not fire when the cell became ACC-0001 from Initech (nor "Campaign changes to CMP-0001" for a
    lead moved into that campaign: the read writes its name), while the If compares the record
    the cell names. A word in From / To that names no account is refused at the When cell."""
    tabs = {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme Corp"], ["ACC-0002", "Initech"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                     ["CON-0001", "Acme Corp", "Ana", "P", "ana@x.com"], ["CON-0002", "Initech", "Bo", "Q", "bo@x.com"],
                     ["CON-0003", "ACC-0002", "Cy", "R", "cy@x.com"]],
        "Campaigns": [["ID", "Name"], ["CMP-0001", "Fall Push"], ["CMP-0002", "Spring"]],
        "Leads": [["ID", "First Name", "Last Name", "Email", "Company", "Status", "Owner", "Campaign"],
                  ["LEAD-0001", "A", "B", "a@y.com", "X", "New", "Ana", "Spring"],
                  ["LEAD-0002", "C", "D", "c@y.com", "Y", "New", "Ana", "Fall Push"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, *([f"WF-000{n}", "r", "yes", record, when, None, "create task", f"{n}", 1]
                            for n, (record, when) in enumerate([
                                ("contact", "Account changes"), ("contact", "Account changes to Acme Corp"),
                                ("contact", "Account changes from initech to acc-0001"),
                                ("lead", "Campaign changes to CMP-0001"), ("lead", "Campaign changes"),
                                ("contact", "Account changes to Acme"),
                            ], 1))],
    }
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    book = XlsxWorkbook(path)
    first = sync(book, Config(), DAY0)
    refused = [(i.row, i.code, i.message) for i in first.crm.report.issues if i.tab == "Workflows"
               and i.severity == "error"]
    assert refused == [(7, "workflow_bad_value", ANY)], refused
    assert '"Acme" is not a value of Account' in refused[0][2]
    wb = openpyxl.load_workbook(path)
    contacts, leads = wb["Contacts"], wb["Leads"]
    contacts["B2"] = "ACC-0001"  # the same account, retyped by its ID
    contacts["B3"] = "acc-0001"  # from Initech to Acme
    contacts["B4"] = "  initech "  # the same account, by its name
    leads["H2"] = "cmp-0001"  # from Spring to Fall Push
    leads["H3"] = "CMP-0001"  # the same campaign
    wb.save(path)
    sync(book, Config(), DAY0 + dt.timedelta(days=1))
    tasks = list(openpyxl.load_workbook(path)["Tasks"].iter_rows(min_row=2, values_only=True))
    fired = sorted((t[2], t[3]) for t in tasks if t[0])
    assert fired == [("1", "CON-0002"), ("2", "CON-0002"), ("3", "CON-0002"), ("4", "LEAD-0001"),
                     ("5", "LEAD-0001")], fired
