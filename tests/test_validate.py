"""Validation on a messy real .xlsx: every planted problem at the right tab, row and column."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from messy import EXPECTED, write_messy
from sheetcrm.config import Config, TabSettings, load_config
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Grid, Snapshot
from sheetcrm.workbook.xlsx import XlsxWorkbook


@pytest.fixture
def messy(tmp_path):
    path, config = write_messy(tmp_path)
    return read_crm(XlsxWorkbook(path).read(), load_config(config))


def test_every_planted_problem_is_reported_where_it_sits(messy):
    found = {(i.tab, i.row, i.column, i.code) for i in messy.report.issues}
    assert found == EXPECTED
    assert messy.report.errors == len([e for e in EXPECTED if e[3] not in ("duplicate_email", "left_out")])
    assert not messy.report.partial


def test_each_issue_carries_header_value_message_and_hint(messy):
    by_place = {(i.tab, i.row, i.column): i for i in messy.report.issues}
    stage = by_place[("Oportunidades", 3, "A")]
    assert (stage.severity, stage.header, stage.value) == ("error", "Etapa", "Cerrando")
    # The hint offers the stages in the team's words: the messy config sets no stages, so the catalogue's.
    assert "Cerrando" in stage.message and "Ganada" in stage.hint
    dup = by_place[("Contactos", 4, "A")]
    assert dup.severity == "warning" and "fila 2" in dup.message  # locale = "es": messages in Spanish
    assert all(i.hint for i in messy.report.issues)


def test_spanish_headers_numbers_dates_and_custom_fields_are_read(messy):
    [won] = [o for o in messy.records("opportunities") if o.id == "OPP-0001"]
    assert won.stage == "Closed Won"
    assert won.amount == Decimal("1234.50")
    assert won.close_date == dt.date(2026, 4, 1)  # day first under "es"
    [lead] = messy.records("leads")
    assert lead.created == dt.date(2026, 3, 15)
    assert lead.custom == {"Presupuesto": Decimal("1500.00")}
    [ana] = [c for c in messy.records("contacts") if c.id == "CON-0001"]
    assert ana.custom == {"Notas": "vip"}  # an untyped team column, carried as typed
    # ACT-0004's Related names nothing (an error: the row is left out), but its date still reads.
    [serial] = [r.target for r in messy.tables["activities"].rows if r.id == "ACT-0004"]
    assert serial.date == dt.date(2026, 3, 2)


def test_tabs_are_matched_by_spanish_names(messy):
    assert {k: t.title for k, t in messy.tables.items()} == {
        "accounts": "Cuentas", "contacts": "Contactos", "leads": "Clientes potenciales",
        "opportunities": "Oportunidades", "activities": "Actividades", "tasks": "Tareas",
        "products": "Productos", "quote_lines": "Líneas de presupuesto"}


def _snapshot(**tabs):
    return Snapshot({title: Grid(rows) for title, rows in tabs.items()})


def test_missing_required_column_is_one_issue_and_no_rows_are_read():
    crm = read_crm(_snapshot(Products=[["SKU", "Unit Price"], ["P1", 3], ["P2", 4]]), Config())
    [issue] = [i for i in crm.report.issues if i.tab == "Products"]
    assert (issue.code, issue.row, issue.header) == ("missing_column", 1, "Name")
    assert crm.records("products") == []


def test_missing_tabs_are_warnings_that_point_to_init():
    crm = read_crm(_snapshot(Leads=[["Last Name"], ["Ng"]]), Config())
    missing = {i.tab for i in crm.report.issues if i.code == "missing_tab"}
    assert "Accounts" in missing and "Leads" not in missing
    assert crm.report.valid
    assert all("sheetcrm init" in i.hint for i in crm.report.issues)


def test_duplicate_headers_warn_and_the_first_column_wins():
    crm = read_crm(_snapshot(Leads=[["Last Name", "Apellidos"], ["Ng", "Other"]]), Config())
    [dup] = [i for i in crm.report.issues if i.code == "duplicate_header"]
    assert (dup.row, dup.column) == (1, "B")
    assert crm.records("leads")[0].last_name == "Ng"


def test_configured_header_and_tab_names():
    config = Config(tabs={"opportunities": TabSettings(title="Deals 2026", headers={"Amount": "Deal size"})})
    rows = [["Name", "Account", "Stage", "Deal size"], ["X", "Acme", "Proposal", "2,500"]]
    crm = read_crm(_snapshot(**{"Deals 2026": rows, "Accounts": [["Name"], ["Acme"]]}), config)
    [opp] = crm.records("opportunities")
    assert opp.amount == Decimal("2500")


def test_report_is_capped_and_marked_partial_with_exact_counts():
    config = Config.model_validate({"validation": {"max_issues": 5}})
    rows = [["Last Name", "Email"]] + [[f"N{i}", "bad"] for i in range(12)]
    crm = read_crm(_snapshot(Leads=rows), config)
    assert len(crm.report.issues) == 5 and crm.report.partial
    assert crm.report.errors == 12


def test_blank_rows_are_spacing_not_records():
    crm = read_crm(_snapshot(Leads=[["Last Name"], ["A"], [], ["", "  "], ["B"]]), Config())
    assert [(r.row, r.record.last_name) for r in crm.tables["leads"].rows] == [(2, "A"), (5, "B")]
