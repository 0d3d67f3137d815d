"""The sync on real .xlsx files: ownership (nothing typed by people changes), idempotence, IDs."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from messy import write_messy
from sheetcrm.config import Config, load_config
from sheetcrm.schema import OPTIONAL_TABS, OWNED_TABS, TABS, WORKFLOWS
from sheetcrm.starter import write_demo
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 23)
OWNED = {t for tab in OWNED_TABS.values() for t in (tab.title, tab.title_es)}


def user_cells(path) -> dict[tuple[str, str], tuple]:
    """Every cell of every tab people own: value (formulas as text), format, font, fill."""
    wb = openpyxl.load_workbook(path)
    cells = {}
    for ws in wb.worksheets:
        if ws.title in OWNED:
            continue
        for row in ws.iter_rows():
            for c in row:
                cells[(ws.title, c.coordinate)] = (c.value, c.number_format, c.font.b, c.font.color and c.font.color.rgb,
                                                   c.fill.fgColor.rgb)
        # A column's width under its letter alone: sheetcrm may set the widths of its computed
        # columns, never another column's.
        for letter, d in ws.column_dimensions.items():
            cells[(ws.title, letter)] = (d.width,)
    return cells


COMPUTED = {name for spec in (*TABS.values(), WORKFLOWS, *OPTIONAL_TABS.values()) for c in spec.computed
            for name in (c.header, c.header_es)}


def assert_only_sheetcrm_cells_changed(before, after):
    """Every change is an ID written into an empty cell, or a cell of a computed column."""
    headers = {(tab, coord[:-1]): v[0] for (tab, coord), v in after.items() if coord[-1:] == "1" and coord[:-1].isalpha()}
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    for tab, coord in changed:
        column = headers.get((tab, coord.rstrip("0123456789")))
        if column in COMPUTED:
            continue
        old = before.get((tab, coord))
        assert old is None or old[0] is None, f"{tab}!{coord} was {old} and changed to {after.get((tab, coord))}"
        new_value = after[(tab, coord)][0]
        assert isinstance(new_value, str) and (new_value == "ID" or "-" in new_value), (tab, coord, new_value)
    return {(tab, coord) for tab, coord in changed if headers.get((tab, coord.rstrip("0123456789"))) not in COMPUTED}


@pytest.fixture
def demo_book(tmp_path):
    book = XlsxWorkbook(tmp_path / "demo.xlsx")
    write_demo(book, rows=60, seed=3, today=AS_OF)
    return book


def test_demo_sync_touches_only_empty_id_cells_and_its_own_tabs(demo_book):
    before = user_cells(demo_book.path)
    outcome = sync(demo_book, Config(), as_of=AS_OF)
    after = user_cells(demo_book.path)
    # The rows the conversion of the lead the demo ticks Convert made (asked for): each names
    # the lead in From Lead, and went into a row that was empty.
    heads = {(tab, coord[:-1]): v[0] for (tab, coord), v in after.items() if coord[-1:] == "1" and coord[:-1].isalpha()}
    row_of = lambda key: (key[0], key[1].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))  # noqa: E731
    made = {row_of(k) for k, v in after.items()
            if heads.get((k[0], k[1].rstrip("0123456789"))) == "From Lead" and row_of(k)[1] not in ("", "1") and v[0]}
    assert sorted(tab for tab, _ in made) == ["Accounts", "Contacts", "Opportunities"]
    # And the rows the demo's workflow rules made (asked for by the team's rules): tasks, each
    # an ID the Workflow Log names.
    by_rules = set(outcome.workflows.created.values())
    made |= {row_of(k) for k, v in after.items() if k[0] == "Tasks" and v[0] in by_rules}
    assert len(by_rules) >= 1 and len({r for r in made if r[0] == "Tasks"}) == len(by_rules)
    assert all(v[0] is None for k, v in before.items() if row_of(k) in made)
    before, after = ({k: v for k, v in cells.items() if row_of(k) not in made} for cells in (before, after))
    changed = assert_only_sheetcrm_cells_changed(before, after)
    assert len(changed) == 18  # IDs for the 3 newest rows of 6 ID-bearing tabs; the rest is computed columns
    assert outcome.cells_written["Validation"] > 0


def test_messy_sync_keeps_formulas_formats_custom_columns_and_blank_rows(tmp_path):
    path, config_file = write_messy(tmp_path)
    book = XlsxWorkbook(path)
    before = user_cells(path)
    outcome = sync(book, load_config(config_file), as_of=AS_OF)
    after = user_cells(path)
    changed = assert_only_sheetcrm_cells_changed(before, after)
    # Tareas had no ID column: one is added after the team's columns, header included.
    assert {("Tareas", "D1"), ("Tareas", "D2"), ("Tareas", "D3")} <= changed
    assert after[("Tareas", "D1")][0] == "ID"
    assert after[("Cuentas", "F4")][0] == "=10*5"
    assert after[("Notas del equipo", "B1")][0] == "=1+1"
    assert after[("Cuentas", "B2")][2] is True
    assert after[("Cuentas", "A3")][0] is None  # the blank row stays blank
    assert "Validación" in outcome.plan.new_tabs  # locale "es" names sheetcrm's own tabs in Spanish


def test_second_sync_writes_nothing(demo_book):
    sync(demo_book, Config(), as_of=AS_OF)
    # The demo's workflow rules act at the first two syncs (time rules on their arming day, edge
    # rules on the records the second sees first); what they made shows at the next: three
    # syncs, as `sheetcrm demo` runs.
    sync(demo_book, Config(), as_of=AS_OF)
    sync(demo_book, Config(), as_of=AS_OF)
    mtime = demo_book.path.stat().st_mtime_ns
    again = sync(demo_book, Config(), as_of=AS_OF)
    assert not again.plan and again.cells_written == {}
    assert demo_book.path.stat().st_mtime_ns == mtime


def test_messy_second_sync_writes_nothing(tmp_path):
    path, config_file = write_messy(tmp_path)
    config = load_config(config_file)
    sync(XlsxWorkbook(path), config, as_of=AS_OF)
    assert not sync(XlsxWorkbook(path), config, as_of=AS_OF).plan


def test_validation_tab_holds_one_row_per_issue(demo_book):
    outcome = sync(demo_book, Config(), as_of=AS_OF)
    ws = openpyxl.load_workbook(demo_book.path)["Validation"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:3] == ("Severity", "Tab", "Row")
    assert len(rows) - 1 == len(outcome.crm.report.issues)
    first = outcome.crm.report.issues[0]
    assert rows[1][:4] == (first.severity, first.tab, first.row, first.column)


def test_fixed_problems_leave_the_validation_tab(tmp_path):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    wb = openpyxl.load_workbook(book.path)
    ws = wb.create_sheet("Leads")
    ws.append(["ID", "Last Name", "Email"])
    ws.append(["LEAD-0001", "Ng", "not-an-email"])
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    assert any(r[6] == "bad_email" for r in openpyxl.load_workbook(book.path)["Validation"].iter_rows(values_only=True))
    wb = openpyxl.load_workbook(book.path)
    wb["Leads"]["C2"] = "ng@example.com"
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    codes = [r[6] for r in openpyxl.load_workbook(book.path)["Validation"].iter_rows(min_row=2, values_only=True)]
    # The tabs missing, and the Forecast saying that the Opportunities tab is (column_not_found).
    assert "bad_email" not in codes and all(c in (None, "missing_tab", "column_not_found") for c in codes)


def test_ids_are_never_reused_after_a_row_is_deleted(tmp_path):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    wb = openpyxl.load_workbook(book.path)
    ws = wb.create_sheet("Leads")
    for row in (["ID", "Last Name"], [None, "A"], [None, "B"]):
        ws.append(row)
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    wb = openpyxl.load_workbook(book.path)
    assert [wb["Leads"]["A2"].value, wb["Leads"]["A3"].value] == ["LEAD-0001", "LEAD-0002"]
    wb["Leads"].delete_rows(3)  # LEAD-0002, the highest, is deleted
    wb["Leads"].append([None, "C"])
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    assert openpyxl.load_workbook(book.path)["Leads"]["A3"].value == "LEAD-0003"


def test_a_deleted_rows_id_is_not_handed_out_again_when_the_marks_tab_is_deleted_too(tmp_path):
    # The visible _sheetcrm tab deleted as clutter: the rows' own IDs then say LEAD-0002 and
    # OPP-0002 are free, but the histories still hold the deleted rows' lives under those IDs,
    # and a new lead or deal given one inherited them ("Qualified -> New" on a lead never qualified).
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    for row in (["ID", "Last Name", "Status"], [None, "A", "New"], [None, "B", "New"]):
        wb["Leads"].append(row)
    ws = wb.create_sheet("Opportunities")
    for row in (["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                [None, "Big", "Acme", "Prospecting", 1000, "2026-12-15"],
                [None, "Small", "Acme", "Prospecting", 200, "2026-12-15"]):
        ws.append(row)
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    wb = openpyxl.load_workbook(path)
    wb["Leads"]["C3"] = "Qualified"
    wb["Opportunities"]["D3"] = "Qualification"
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF + dt.timedelta(days=1))
    wb = openpyxl.load_workbook(path)
    for title, new in (("Leads", [None, "C", "New"]),
                       ("Opportunities", [None, "Other", "Beta", "Prospecting", 5, "2026-12-20"])):
        wb[title].delete_rows(3)  # the highest ID's row
        wb[title].append(new)
    del wb["_sheetcrm"]
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF + dt.timedelta(days=2))
    wb = openpyxl.load_workbook(path)
    assert wb["Leads"]["A3"].value == "LEAD-0003" and wb["Opportunities"]["A3"].value == "OPP-0003"
    assert [r for r in wb["Lead Status History"].iter_rows(values_only=True) if r[0] == "LEAD-0003"] == \
        [("LEAD-0003", None, "New", dt.datetime(2026, 11, 25))]
    assert [r[:3] for r in wb["Stage History"].iter_rows(values_only=True) if r[0] == "OPP-0002"] == \
        [("OPP-0002", None, "Prospecting"), ("OPP-0002", "Prospecting", "Qualification")]
    marks = {k: v for k, v in wb["_sheetcrm"].iter_rows(min_row=2, values_only=True)}
    assert (marks["LEAD"], marks["OPP"]) == (3, 3)


def test_an_id_cell_whose_formula_shows_nothing_is_said_at_the_cell(tmp_path):
    from test_cell_facts import recalculated

    # The formula is never written over, so the row never gets an ID: it silently had no
    # history and could not be named, and nothing said why.
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    for row in (["ID", "Last Name", "Company", "Status"], ["LEAD-0001", "Baker", "B Co", "New"],
                ['=IF(C3="VIP","LEAD-0099","")', "Formula", "F Co", "New"]):
        wb["Leads"].append(row)
    wb.save(tmp_path / "crm.xlsx")
    path = recalculated(tmp_path / "crm.xlsx", tmp_path)  # the formula's empty result saved, as Excel saves it
    outcome = sync(XlsxWorkbook(path), Config(locale="es"), as_of=AS_OF)
    said = [(i.row, i.column, i.code) for i in outcome.crm.report.issues if i.tab == "Leads" and i.row]
    assert said == [(3, "A", "id_formula_empty")]
    # Said in the team's language, code and all, on the Validation tab.
    wb = openpyxl.load_workbook(path)
    row = next(r for r in wb["Validación"].iter_rows(min_row=2, values_only=True) if r[1] == "Leads" and r[2] == 3)
    assert row[6] == "id_fórmula_vacía" and row[7].startswith("La celda del ID contiene una fórmula")
    assert wb["Leads"]["A3"].value == '=IF(C3="VIP","LEAD-0099","")'


def test_an_id_cell_holding_an_error_value_with_no_formula_is_said_and_never_written_over(tmp_path):
    # A paste-as-values of a broken ID formula leaves `<c t="e"><v>#REF!</v></c>`: no formula,
    # so the fill took the cell for an empty one and wrote ACC-0002 over it, and the record's
    # real ID (and its history, its references) was lost without a word.
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Accounts"
    for row in (["ID", "Name", "Country"], ["ACC-0001", "Acme", "ES"], ["#REF!", "Pasted", "ES"],
                [None, "New", "ES"]):
        wb["Accounts"].append(row)
    wb.save(path)
    assert openpyxl.load_workbook(path)["Accounts"]["A3"].data_type == "e"
    first = sync(XlsxWorkbook(path), Config(locale="es"), as_of=AS_OF)
    said = [(i.row, i.column, i.code) for i in first.crm.report.issues if i.tab == "Accounts" and i.row]
    assert (3, "A", "id_error_value") in said and "id_blank_text" not in {c for _, _, c in said}
    ws = openpyxl.load_workbook(path)["Accounts"]
    assert (ws["A3"].value, ws["A3"].data_type) == ("#REF!", "e")
    assert ws["A4"].value == "ACC-0002"  # the empty cell below still gets the next ID
    row = next(r for r in openpyxl.load_workbook(path)["Validación"].iter_rows(min_row=2, values_only=True)
               if r[1] == "Accounts" and r[2] == 3 and r[6] == "id_valor_de_error")
    assert row[7].startswith("La celda del ID muestra un valor de error") and row[8].startswith("Vuelve a escribir")
    # The cell's own error names no formula: there is none to fix.
    error = next(i for i in first.crm.report.issues if i.code == "formula_error" and i.row == 3)
    assert error.message.startswith('Esta celda contiene el valor de error "#REF!" sin ninguna fórmula')
    assert error.hint == "Vuelve a escribir el valor de la celda."
    assert not sync(XlsxWorkbook(path), Config(locale="es"), as_of=AS_OF).plan


def test_ids_under_a_renamed_header_are_the_tabs_ids_and_get_no_second_id_column(tmp_path):
    # A person renamed the ID header "Lead #": sheetcrm added a new ID column and gave every
    # lead a second ID (LEAD-0003, LEAD-0004 beside LEAD-0001, LEAD-0002), so each lead's
    # history started over under the new one and references to the old ones broke. Read without
    # IDs instead, every lead would look gone and come back as new when the name is restored.
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    for row in (["ID", "Last Name", "Status"], [None, "A", "New"], [None, "B", "New"]):
        wb["Leads"].append(row)
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    wb = openpyxl.load_workbook(path)
    wb["Leads"]["A1"] = "Lead #"
    wb["Leads"]["C2"] = "Qualified"
    wb["Leads"].append([None, "C", "New"])
    wb.save(path)
    outcome = sync(XlsxWorkbook(path), Config(), as_of=AS_OF + dt.timedelta(days=1))
    said = [(i.row, i.column, i.code) for i in outcome.crm.report.issues if i.tab == "Leads"]
    assert said == [(1, "A", "id_column_renamed")]
    assert [lead.id for lead in outcome.crm.records("leads")] == ["LEAD-0001", "LEAD-0002", "LEAD-0003"]
    wb = openpyxl.load_workbook(path)
    assert "ID" not in [c.value for c in wb["Leads"][1]]
    assert [r[0] for r in wb["Leads"].iter_rows(min_row=2, values_only=True)] == ["LEAD-0001", "LEAD-0002",
                                                                                  "LEAD-0003"]
    history = list(wb["Lead Status History"].iter_rows(min_row=2, values_only=True))
    assert [r[:3] for r in history] == [("LEAD-0001", None, "New"), ("LEAD-0002", None, "New"),
                                        ("LEAD-0001", "New", "Qualified"), ("LEAD-0003", None, "New")]
    wb["Leads"]["A1"] = "ID"  # the name restored: the same leads, nothing to write
    wb.save(path)
    again = sync(XlsxWorkbook(path), Config(), as_of=AS_OF + dt.timedelta(days=1))
    assert not [i for i in again.crm.report.issues if i.tab == "Leads"]
    assert list(openpyxl.load_workbook(path)["Lead Status History"].iter_rows(min_row=2, values_only=True)) == history


def test_a_column_of_references_to_a_few_of_the_tabs_ids_is_not_read_as_its_ids(tmp_path):
    # Sparse references to the tab's own records ("Parent Deal") are no renamed ID column: the
    # tab gets its own ID column as before.
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    for row in (["Last Name", "Status", "Referred By"], ["A", "New", None], ["B", "New", "LEAD-0001"],
                ["C", "New", None], ["D", "New", None]):
        wb["Leads"].append(row)
    wb.save(path)
    outcome = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    assert not [i for i in outcome.crm.report.issues if i.code == "id_column_renamed"]
    wb = openpyxl.load_workbook(path)
    assert [c.value for c in wb["Leads"][1]][:4] == ["Last Name", "Status", "Referred By", "ID"]


def test_dry_run_plans_but_writes_nothing(demo_book):
    mtime = demo_book.path.stat().st_mtime_ns
    outcome = sync(demo_book, Config(), as_of=AS_OF, dry_run=True)
    assert outcome.plan.cells_by_tab()["Leads"] > 3  # 3 IDs, plus every lead's score columns
    assert outcome.cells_written == {}
    assert demo_book.path.stat().st_mtime_ns == mtime
