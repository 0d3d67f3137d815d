"""What only the .xlsx backend can get wrong: the file itself. The shared contract runs in
test_workbook_memory.py against this backend too."""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
import zipfile

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.formula import ArrayFormula

from sheetcrm.workbook import CellWrite, Plan, WorkbookError, xlsx_patch
from sheetcrm.workbook.xlsx import PLACEHOLDER_TAB, XlsxWorkbook


def _save(wb, path):
    wb.save(path)
    return XlsxWorkbook(path)


def _patch_sheet_xml(path, fn, member="xl/worksheets/sheet1.xml"):
    """Rewrite one part of the zip, as another spreadsheet app would have saved it."""
    with zipfile.ZipFile(path) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    parts[member] = fn(parts[member].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


@pytest.fixture
def rich_book(tmp_path):
    """A workbook a person has worked on: formulas, styles, widths, merges, validation, a
    defined name, another sheet and a chartsheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contacts"
    ws.append(["Name", "Value", "Double", "Since"])
    ws.append(["Ann", 10, "=B2*2", dt.date(2023, 5, 1)])
    ws.append(["Bob", 20, "=B3*2", dt.date(2023, 6, 1)])
    ws["A1"].font = Font(bold=True, color="FF0000")
    ws["B2"].fill = PatternFill("solid", fgColor="FFFF00")
    ws["B2"].number_format = "#,##0.00"
    ws["D2"].number_format = "dd/mm/yyyy"
    ws.column_dimensions["A"].width = 33
    ws.merge_cells("F1:G2")
    ws["F1"] = "merged"
    dv = DataValidation(type="list", formula1='"Lead,Won,Lost"')
    ws.add_data_validation(dv)
    dv.add("E2:E100")
    notes = wb.create_sheet("Notes")
    notes["A1"] = "keep me"
    wb.defined_names["Values"] = DefinedName("Values", attr_text="Contacts!$B$2:$B$3")
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=3), titles_from_data=True)
    wb.create_chartsheet("Chart").add_chart(chart)
    return _save(wb, tmp_path / "crm.xlsx")


def test_write_preserves_what_a_person_made(rich_book):
    plan = Plan(
        new_tabs=["Activity"],
        writes=[
            CellWrite("Contacts", 2, 5, "Won", expect=((1, "Ann"),)),
            CellWrite("Activity", 1, 1, "When"),
            CellWrite("Activity", 1, 2, "What"),
            CellWrite("Activity", 2, 1, "today"),
        ],
    )
    result = rich_book.write(plan)
    assert result.written == {"Contacts": 1, "Activity": 3}

    wb = openpyxl.load_workbook(rich_book.path)
    ws = wb["Contacts"]
    assert wb.sheetnames == ["Contacts", "Notes", "Chart", "Activity"]
    assert ws["E2"].value == "Won"
    assert ws["C2"].value == "=B2*2" and ws["C3"].value == "=B3*2"
    assert ws["A1"].font.bold and ws["A1"].font.color.rgb == "00FF0000"
    assert ws["B2"].fill.fgColor.rgb == "00FFFF00"
    assert ws["B2"].number_format == "#,##0.00" and ws["D2"].number_format == "dd/mm/yyyy"
    assert ws.column_dimensions["A"].width == 33
    assert [str(r) for r in ws.merged_cells.ranges] == ["F1:G2"] and ws["F1"].value == "merged"
    assert [str(dv.sqref) for dv in ws.data_validations.dataValidation] == ["E2:E100"]
    assert wb.defined_names["Values"].attr_text == "Contacts!$B$2:$B$3"
    assert wb["Notes"]["A1"].value == "keep me"
    assert len(wb.chartsheets) == 1
    activity = wb["Activity"]
    assert activity["A1"].font.bold and activity["B1"].font.bold and not activity["A2"].font.bold


def test_read_skips_chartsheets_and_keeps_tab_order(rich_book):
    snap = rich_book.read()
    assert list(snap.tabs) == ["Contacts", "Notes"]
    grid = snap.tabs["Contacts"]
    assert grid.formulas == {(1, 2), (2, 2)}
    # Never calculated by a spreadsheet app, so there is no value to report.
    assert grid.cell(1, 2) is None
    assert grid.rows[1][:2] == ["Ann", 10] and grid.cell(1, 3) == dt.date(2023, 5, 1)


def test_formula_cell_keeps_its_formula_when_a_write_targets_it(rich_book):
    write = CellWrite("Contacts", 2, 3, 0, expect=((1, "Ann"),))
    assert rich_book.write(Plan(writes=[write])).skipped == [write]
    assert openpyxl.load_workbook(rich_book.path)["Contacts"]["C2"].value == "=B2*2"


def test_write_into_the_hidden_part_of_a_merge_is_skipped(rich_book):
    write = CellWrite("Contacts", 2, 7, "x")
    assert rich_book.write(Plan(writes=[write])).skipped == [write]
    assert [str(r) for r in openpyxl.load_workbook(rich_book.path)["Contacts"].merged_cells.ranges] == ["F1:G2"]


def test_cached_formula_values_come_back(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "T"
    ws.append([21, "=A1*2", ArrayFormula("C1:C1", "=SUM(A1:A1)"), '=CONCAT("K-",A1)', "=A1+1"])
    book = _save(wb, tmp_path / "f.xlsx")
    # What Excel leaves behind after calculating: the last value next to each formula.
    _patch_sheet_xml(
        book.path,
        lambda xml: xml.replace("<f>A1*2</f><v />", "<f>A1*2</f><v>42</v>")
        .replace("SUM(A1:A1)</f><v />", "SUM(A1:A1)</f><v>21</v>")
        .replace('<c r="D1">', '<c r="D1" t="str">')
        .replace("A1)</f><v />", "A1)</f><v>K-21</v>"),
    )
    grid = book.read().tabs["T"]
    assert grid.rows == [[21, 42, 21, "K-21"]]
    assert grid.formulas == {(0, 1), (0, 2), (0, 3), (0, 4)}

    # Expectations on a formula cell compare with its calculated value, as read() saw it.
    good = CellWrite("T", 1, 6, "ok", expect=((4, "K-21"), (2, 42)))
    bad = CellWrite("T", 1, 7, "no", expect=((4, '=CONCAT("K-",A1)'),))
    result = book.write(Plan(writes=[good, bad]))
    assert result.written == {"T": 1} and result.skipped == [bad]
    assert openpyxl.load_workbook(book.path)["T"]["D1"].value == '=CONCAT("K-",A1)'


def test_text_is_stored_as_text(tmp_path):
    book = XlsxWorkbook(tmp_path / "t.xlsx")
    book.create()
    texts = ['=IMPORTXML("http://evil","//a")', "0042", "#N/A", "tab\x07bell"]
    book.write(Plan(new_tabs=["T"], writes=[CellWrite("T", r, 1, t) for r, t in enumerate(texts, 1)]))
    ws = openpyxl.load_workbook(book.path)["T"]
    assert [ws.cell(r, 1).data_type for r in range(1, 5)] == ["s"] * 4
    # xlsx cannot hold control characters, so they are dropped rather than failing the sync.
    assert [ws.cell(r, 1).value for r in range(1, 5)] == texts[:3] + ["tabbell"]
    assert "<f>" not in zipfile.ZipFile(book.path).read("xl/worksheets/sheet1.xml").decode()


def test_values_come_back_typed(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([1, 2.5, True, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 13, 5), dt.time(14, 30)])
    ws.append([dt.datetime(2024, 1, 1)])
    ws["A2"].number_format = "yyyy-mm-dd hh:mm"
    ws.append([dt.datetime(2024, 1, 1)])
    ws["A3"].number_format = "d mmm yyyy"
    rows = _save(wb, tmp_path / "v.xlsx").read().tabs["Sheet"].rows
    assert rows[0] == [1, 2.5, True, dt.date(2024, 2, 29), dt.datetime(2024, 2, 29, 13, 5), "14:30:00"]
    assert type(rows[0][0]) is int and type(rows[0][3]) is dt.date
    # A datetime at midnight reads as its date, whatever the format shows.
    assert type(rows[1][0]) is dt.date and type(rows[2][0]) is dt.date


def test_trims_trailing_empties_despite_styles_and_a_wrong_dimension(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b"])
    ws.append(["c"])
    ws["H20"].fill = PatternFill("solid", fgColor="00FF00")
    ws["D2"].font = Font(italic=True)
    book = _save(wb, tmp_path / "d.xlsx")
    _patch_sheet_xml(book.path, lambda xml: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1"', xml))
    assert book.read().tabs["Sheet"].rows == [["a", "b"], ["c"]]


def test_create_makes_an_empty_workbook_that_the_first_write_fills(tmp_path):
    book = XlsxWorkbook(tmp_path / "new.xlsx")
    assert not book.exists()
    book.create()
    assert book.exists() and book.read().tabs == {}
    with pytest.raises(WorkbookError, match="already exists"):
        book.create()
    book.write(Plan(new_tabs=["Contacts", "Deals"], writes=[CellWrite("Contacts", 1, 1, "Name")]))
    assert openpyxl.load_workbook(book.path).sheetnames == ["Contacts", "Deals"]
    assert list(book.read().tabs) == ["Contacts", "Deals"]


def test_create_on_a_folder_says_it_is_a_folder(tmp_path):
    """`sheetcrm init --workbook crm.xlsx` where crm.xlsx is a folder said "already exists",
    which sent a person looking for a file; every other command says it is a folder."""
    (tmp_path / "crm.xlsx").mkdir()
    with pytest.raises(WorkbookError) as e:
        XlsxWorkbook(tmp_path / "crm.xlsx").create()
    assert str(e.value) == f"{tmp_path / 'crm.xlsx'}: is a folder, not an .xlsx workbook"


def test_placeholder_a_person_typed_into_is_kept(tmp_path):
    book = XlsxWorkbook(tmp_path / "new.xlsx")
    book.create()
    book.write(Plan(writes=[CellWrite(PLACEHOLDER_TAB, 1, 1, "mine")]))
    book.write(Plan(new_tabs=["Contacts"]))
    assert list(book.read().tabs) == [PLACEHOLDER_TAB, "Contacts"]


def test_successful_save_leaves_no_temp_file_and_keeps_permissions(rich_book):
    os.chmod(rich_book.path, 0o640)
    rich_book.write(Plan(writes=[CellWrite("Notes", 2, 1, "x")]))
    assert sorted(os.listdir(rich_book.path.parent)) == ["crm.xlsx"]
    assert os.stat(rich_book.path).st_mode & 0o777 == 0o640


def test_failed_save_leaves_the_original_intact(rich_book, monkeypatch):
    before = rich_book.path.read_bytes()
    folder = rich_book.path.parent
    if os.geteuid() != 0:
        os.chmod(folder, 0o555)
    else:
        # Root ignores folder permissions; a full disk is the honest failure left.
        def disk_full(fd):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fsync", disk_full)
    try:
        with pytest.raises(WorkbookError, match=r"cannot write .*crm\.xlsx"):
            rich_book.write(Plan(writes=[CellWrite("Notes", 2, 1, "x")]))
    finally:
        os.chmod(folder, 0o755)
    assert rich_book.path.read_bytes() == before
    assert os.listdir(folder) == ["crm.xlsx"]


def test_read_only_file_is_not_replaced(rich_book):
    # The mode bits are read too: root passes os.access whatever they say (tested as root here).
    os.chmod(rich_book.path, 0o444)
    before = rich_book.path.read_bytes()
    with pytest.raises(WorkbookError, match="the workbook is read-only"):
        rich_book.write(Plan(writes=[CellWrite("Notes", 2, 1, "x")]))
    with pytest.raises(WorkbookError, match="the workbook is read-only"):
        rich_book._commit(before, None)  # every write path (create's save too) goes through it
    assert rich_book.path.read_bytes() == before


def test_plan_that_changes_nothing_leaves_the_file_alone(rich_book):
    os.utime(rich_book.path, ns=(1_000_000_000, 1_000_000_000))
    assert rich_book.write(Plan()).written == {}
    rich_book.write(Plan(writes=[CellWrite("Contacts", 2, 2, 1, expect=((1, "Zed"),))]))
    assert os.stat(rich_book.path).st_mtime_ns == 1_000_000_000


def test_missing_file_says_how_to_create_one(tmp_path):
    book = XlsxWorkbook(tmp_path / "nope.xlsx")
    assert book.describe() == str(tmp_path / "nope.xlsx")
    for action in (book.read, lambda: book.write(Plan(new_tabs=["T"]))):
        with pytest.raises(WorkbookError, match=r"nope\.xlsx: no such workbook; run `sheetcrm init --workbook .*nope\.xlsx`"):
            action()


@pytest.mark.parametrize(
    "content",
    [(b"name,email\nAnn,ann@x.com\n", r"not an \.xlsx workbook"),
     # A zip's first bytes and no end: a package cut short, as a save caught halfway leaves it.
     (b"PK\x03\x04 broken zip", r"looks half-saved")],
    ids=["csv-renamed", "broken-zip"],
)
def test_not_an_xlsx_is_a_clear_error(tmp_path, content):
    content, said = content
    path = tmp_path / "crm.xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookError, match=r"crm\.xlsx: " + said):
        XlsxWorkbook(path).read()


def test_zip_that_is_not_a_workbook_is_a_clear_error(tmp_path):
    path = tmp_path / "crm.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(WorkbookError, match=r"not an \.xlsx workbook"):
        XlsxWorkbook(path).write(Plan(new_tabs=["T"]))


def test_folder_is_a_clear_error(tmp_path):
    book = XlsxWorkbook(tmp_path)
    assert not book.exists()
    with pytest.raises(WorkbookError, match="is a folder"):
        book.read()


def test_tab_name_excel_refuses_is_a_clear_error(rich_book):
    before = rich_book.path.read_bytes()
    with pytest.raises(WorkbookError, match=r"cannot create tab 'Q1/Q2'"):
        rich_book.write(Plan(new_tabs=["Q1/Q2"]))
    assert rich_book.path.read_bytes() == before


def _table(ws, name: str, ref: str, totals: bool = False):
    from openpyxl.worksheet.table import Table, TableStyleInfo

    table = Table(displayName=name, ref=ref, totalsRowCount=1 if totals else None)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium9", showRowStripes=True)
    ws.add_table(table)


def test_rows_a_conversion_adds_below_an_excel_table_join_the_table(tmp_path):
    """A converted lead's account, contact and deal go below the tab's last row. When the tab is
    an Excel table they belong in it, as a row a person types there does (Excel grows the table
    then): outside it, `=SUM(Deals[Amount])` and the table's filters and sorts left the new deal
    out. A table with a Total Row keeps its range: a row below the totals is outside them."""
    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["CON-0001", "ACC-0001", "Ana", "Pérez", "ana@acme.com"], [None, "Total", None, None, None]],
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                              ["OPP-0001", "D1", "ACC-0001", "Proposal", 100, dt.date(2027, 1, 1)]],
            "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Amount", "Convert"],
                      ["LEAD-0001", "Bo", "Q", "Globex", "bo@globex.com", "Qualified", 500, "yes"]]}
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    _table(wb["Accounts"], "Accounts", "A1:B2")
    _table(wb["Contacts"], "People", "A1:E3", totals=True)
    _table(wb["Opportunities"], "Deals", "A1:F2")
    wb.create_sheet("Summary")["A1"] = "=SUM(Deals[Amount])"
    wb.save(tmp_path / "crm.xlsx")
    with zipfile.ZipFile(tmp_path / "crm.xlsx") as z:
        people = z.read("xl/tables/table2.xml")
    outcome = sync(XlsxWorkbook(tmp_path / "crm.xlsx"), Config(), as_of=dt.date(2026, 12, 1))
    after = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    assert after["Opportunities"]["B3"].value == "Globex – Bo Q" and after["Accounts"]["B3"].value == "Globex"
    deals, accounts = after["Opportunities"].tables["Deals"], after["Accounts"].tables["Accounts"]
    # Its computed columns, headed just right of the table, joined it too (below).
    last = openpyxl.utils.get_column_letter(after["Opportunities"].max_column)
    assert (deals.ref, deals.autoFilter.ref) == (f"A1:{last}3", f"A1:{last}3") and last > "F"
    assert [c.value for c in after["Accounts"][1]] == ["ID", "Name", "From Lead"]  # the new column in the table too
    assert (accounts.ref, accounts.autoFilter.ref) == ("A1:C3", "A1:C3")
    assert after["Contacts"]["C4"].value == "Bo"  # below the Total Row, and the table's rows as they were
    assert [c.value for c in after["Contacts"][1]][5] == "From Lead"  # a column joins it, as in Excel
    with zipfile.ZipFile(tmp_path / "crm.xlsx") as z:
        assert z.read("xl/tables/table2.xml") == people.replace(b'ref="A1:E3"', b'ref="A1:F3"').replace(
            b'count="5"', b'count="6"').replace(b"</tableColumns>", b'<tableColumn id="6" name="From Lead"/></tableColumns>')
    # ... which the sync says, naming the tab, the row and the table: its totals leave Bo out.
    assert outcome.result.warnings == [
        "Contacts: row 4 was added below the Total Row of the Excel table People, so the table's totals, filters and "
        "sorts leave it out; to take it in, insert a table row above the Total Row and move the row there"]


def _two_deals(first_stage: str = "Closed Won") -> tuple[openpyxl.Workbook, object]:
    """A workbook of two deals without IDs on Opportunities (A1:F3), and that tab."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Name", "Account", "Stage", "Amount", "Close Date"])
    ws.append([None, "Big", "Acme", first_stage, 1000, dt.date(2027, 1, 1)])
    ws.append([None, "Small", "Acme", "Qualification", 10, dt.date(2027, 1, 1)])
    return wb, ws


def test_computed_columns_written_beside_an_excel_table_join_the_table(tmp_path):
    """Found attacking the writer: a team's Opportunities formatted as an Excel table (Deals,
    A1:F3) got sheetcrm's computed columns headed just right of it, outside the table. Sorting
    the table by its header buttons then moved the team's cells and left Probability % and
    Weighted Amount where they were: each row showed another deal's figures, with nothing to say
    so. The columns join the table, as Excel takes in a column a person heads there, and keep
    their place through LibreOffice's save."""
    from test_xlsx_write import libreoffice_resave

    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    wb, ws = _two_deals()
    _table(ws, "Deals", "A1:F3")
    wb.save(tmp_path / "crm.xlsx")
    synced = libreoffice_resave(tmp_path / "crm.xlsx")
    sync(XlsxWorkbook(synced), Config(), as_of=dt.date(2026, 12, 1))
    after = openpyxl.load_workbook(synced)["Opportunities"]
    headers = [c.value for c in after[1]]
    assert headers[:8] == ["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Probability %", "Weighted Amount"]
    assert after["G2"].value == 1 and after["H3"].value == 2  # the deals were read: their figures written
    deals = after.tables["Deals"]
    last = openpyxl.utils.get_column_letter(len(headers))
    assert (deals.ref, deals.autoFilter.ref) == (f"A1:{last}3", f"A1:{last}3")
    assert [c.name for c in deals.tableColumns] == headers
    assert len({c.id for c in deals.tableColumns}) == len(headers)
    kept = openpyxl.load_workbook(libreoffice_resave(synced))["Opportunities"].tables["Deals"]
    assert (kept.ref, [c.name for c in kept.tableColumns]) == (f"A1:{last}3", headers)
    assert sync(XlsxWorkbook(synced), Config(), as_of=dt.date(2026, 12, 1)).result is None  # nothing to write


def test_the_filter_of_a_table_with_a_total_row_grows_with_its_columns(tmp_path):
    """Found reviewing the table fix: Excel writes a table's filter without its Total Row
    (table A1:F4, autoFilter A1:F3). The computed columns joined the table (A1:M4) but its filter
    grew only when it spanned the whole table, so it stayed A1:F3: no filter button on the new
    columns, and a filter that no longer matched the table's columns."""
    from openpyxl.worksheet.filters import AutoFilter
    from openpyxl.worksheet.table import Table

    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    wb, ws = _two_deals()
    ws.append([None, None, None, None, "=SUBTOTAL(109,Deals[Amount])", None])
    ws.add_table(Table(displayName="Deals", ref="A1:F4", totalsRowCount=1, autoFilter=AutoFilter(ref="A1:F3")))
    wb.save(tmp_path / "crm.xlsx")
    sync(XlsxWorkbook(tmp_path / "crm.xlsx"), Config(), as_of=dt.date(2026, 12, 1))
    deals = openpyxl.load_workbook(tmp_path / "crm.xlsx")["Opportunities"].tables["Deals"]
    last = openpyxl.utils.get_column_letter(len(deals.tableColumns))
    assert last > "F" and (deals.ref, deals.autoFilter.ref) == (f"A1:{last}4", f"A1:{last}3")


def test_computed_columns_an_earlier_sync_left_beside_an_excel_table_join_it_with_the_next_write(tmp_path):
    """A workbook synced before computed columns joined tables (or a table made over the
    team's columns alone, after the first sync) has them outside the table: the next write to
    the tab takes them in, the team's column past them staying out."""
    from test_xlsx_write import libreoffice_resave

    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    wb, ws = _two_deals("Proposal")
    wb.save(tmp_path / "crm.xlsx")
    sync(XlsxWorkbook(tmp_path / "crm.xlsx"), Config(), as_of=dt.date(2026, 12, 1))
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    headers = [c.value for c in wb["Opportunities"][1]]
    wb["Opportunities"].cell(1, len(headers) + 1, "Notes")  # the team's own column, after sheetcrm's
    wb["Opportunities"]["D2"] = "Negotiation"  # the deal moved on: its computed cells are written
    _table(wb["Opportunities"], "Deals", "A1:F3")
    wb.save(tmp_path / "crm.xlsx")
    synced = libreoffice_resave(tmp_path / "crm.xlsx")
    assert sync(XlsxWorkbook(synced), Config(), as_of=dt.date(2026, 12, 2)).result.written.get("Opportunities")
    deals = openpyxl.load_workbook(synced)["Opportunities"].tables["Deals"]
    last = openpyxl.utils.get_column_letter(len(headers))
    assert (deals.ref, [c.name for c in deals.tableColumns]) == (f"A1:{last}3", headers)


def _filters(path):
    """Each tab's own AutoFilter range and the range its hidden `_xlnm._FilterDatabase` names."""
    with zipfile.ZipFile(path) as z:
        book = z.read("xl/workbook.xml").decode()
        names = dict(re.findall(r'<definedName\b[^>]*?localSheetId="([0-9]+)"[^>]*?name="_xlnm._FilterDatabase"[^>]*>'
                                r'[^<]*!([^<]*)</definedName>', book))
        out = {}
        for i, (title, part) in enumerate(xlsx_patch.sheet_parts(z)):
            ref = re.search(r'<autoFilter\b[^>]*?ref="([^"]*)"', z.read(part).decode())
            if ref:
                out[title] = (ref[1], names.get(str(i)))
    return out


def test_computed_columns_and_added_rows_beside_a_sheets_autofilter_join_the_filter(tmp_path):
    """Found attacking the writer: a team's Opportunities with a filter set on the sheet (Data >
    AutoFilter, A1:F3, no table) got sheetcrm's computed columns just right of it, outside the
    filter (and its hidden _xlnm._FilterDatabase name, which LibreOffice reads the range from).
    Sorting through the filter's buttons sorted A:F alone and left Probability % and Weighted
    Amount where they were: each row showed another deal's figures, with nothing to say so. The
    filter grows as a table does, over sheetcrm's columns and the rows a conversion adds just
    below, never over the team's column past them, and keeps its range through LibreOffice."""
    from test_xlsx_write import libreoffice_resave

    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    wb, ws = _two_deals()
    ws.auto_filter.ref = "A1:F3"
    leads = wb.create_sheet("Leads")
    leads.append(["ID", "First Name", "Last Name", "Company", "Email", "Status", "Amount"])
    leads.append(["LEAD-0001", "Bo", "Q", "Globex", "bo@globex.com", "Qualified", 500])
    wb.save(tmp_path / "crm.xlsx")
    synced = libreoffice_resave(tmp_path / "crm.xlsx")  # LibreOffice adds the filter's hidden name
    assert _filters(synced)["Opportunities"] == ("A1:F3", "$A$1:$F$3")
    sync(XlsxWorkbook(synced), Config(), as_of=dt.date(2026, 12, 1))
    headers = [c.value for c in openpyxl.load_workbook(synced)["Opportunities"][1]]
    assert headers[6:8] == ["Probability %", "Weighted Amount"]
    last = openpyxl.utils.get_column_letter(len(headers))
    assert _filters(synced)["Opportunities"] == (f"A1:{last}3", f"$A$1:${last}$3")
    assert _filters(libreoffice_resave(synced))["Opportunities"] == (f"A1:{last}3", f"$A$1:${last}$3")
    assert sync(XlsxWorkbook(synced), Config(), as_of=dt.date(2026, 12, 1)).result is None  # nothing to write

    # A lead converts: its deal goes just below the filter, which takes it in; the team's Notes
    # column just right of the filter stays out, and so do sheetcrm's columns past it.
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["CON-0001", "ACC-0001", "Ana", "Pérez", "ana@acme.com"]],
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Notes"],
                              ["OPP-0001", "D1", "ACC-0001", "Proposal", 100, dt.date(2027, 1, 1), "call"]],
            "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Amount", "Convert"],
                      ["LEAD-0001", "Bo", "Q", "Globex", "bo@globex.com", "Qualified", 500, "yes"]]}
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb["Opportunities"].auto_filter.ref = "A1:F2"
    wb.save(tmp_path / "convert.xlsx")
    sync(XlsxWorkbook(tmp_path / "convert.xlsx"), Config(), as_of=dt.date(2026, 12, 1))
    after = openpyxl.load_workbook(tmp_path / "convert.xlsx")["Opportunities"]
    assert after["B3"].value == "Globex – Bo Q" and after["H1"].value == "Probability %"
    assert _filters(tmp_path / "convert.xlsx")["Opportunities"][0] == "A1:F3"  # (openpyxl writes no hidden name)


@pytest.mark.parametrize("sorted_rows", ["A1:F3", "A2:F3"])
def test_a_sort_the_filter_last_applied_grows_with_the_filter(tmp_path, sorted_rows):
    """Found reviewing the filter fix: the sort a filter last applied (its sortState, which Excel's
    Reapply sorts by) grew only when it named the data rows (A2:F3, as Excel writes it). A filter
    sorted by a script (openpyxl, pandas) names the header with them (A1:F3): the filter grew
    over the computed columns and its sort stayed on A:F, so Reapply sorted the team's cells alone
    and each row showed another deal's Probability % and Weighted Amount."""
    from sheetcrm.config import Config
    from sheetcrm.sync import sync

    wb, ws = _two_deals()
    ws.auto_filter.ref = "A1:F3"
    ws.auto_filter.add_sort_condition("E2:E3", descending=True)
    wb.save(tmp_path / "crm.xlsx")
    data = (tmp_path / "crm.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "crm.xlsx") as z:
        sheet = re.sub(rb'(<sortState\b[^>]*?ref=")[^"]*"', rb'\g<1>' + sorted_rows.encode() + b'"',
                       z.read("xl/worksheets/sheet1.xml"))
    (tmp_path / "crm.xlsx").write_bytes(xlsx_patch.rewrite_zip(data, {"xl/worksheets/sheet1.xml": sheet}))
    sync(XlsxWorkbook(tmp_path / "crm.xlsx"), Config(), as_of=dt.date(2026, 12, 1))
    last = openpyxl.utils.get_column_letter(openpyxl.load_workbook(tmp_path / "crm.xlsx")["Opportunities"].max_column)
    assert last > "F"
    with zipfile.ZipFile(tmp_path / "crm.xlsx") as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r'<autoFilter\b[^>]*ref="([^"]*)"', xml)[1] == f"A1:{last}3"
    assert re.search(r'<sortState\b[^>]*ref="([^"]*)"', xml)[1] == f"{sorted_rows[:2]}:{last}3", xml


def _with_calc_chain(path, cells):
    """The workbook at `path` with the calculation chain Excel saves beside formulas, naming
    `cells` of its first tab."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts["xl/calcChain.xml"] = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<calcChain xmlns="'
                                 b'http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                 + b"".join(b'<c r="%s" i="1"/>' % c.encode() for c in cells) + b"</calcChain>")
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdChain" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                             b'relationships/calcChain" Target="calcChain.xml"/></Relationships>')
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/calcChain.xml" ContentType="application/vnd.openxmlformats-'
                     b'officedocument.spreadsheetml.calcChain+xml"/></Types>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def _chain_fits(path) -> bool:
    """Excel's check on opening: every cell the calculation chain names holds a formula."""
    with zipfile.ZipFile(path) as z:
        if "xl/calcChain.xml" not in z.namelist():
            names = z.read("xl/_rels/workbook.xml.rels") + z.read("[Content_Types].xml")
            return b"calcChain" not in names  # gone with its relationship and content type
        chain = re.findall(rb'<c r="([A-Z]+[0-9]+)"', z.read("xl/calcChain.xml"))
    ws = openpyxl.load_workbook(path).worksheets[0]
    return all(ws[ref.decode()].data_type == "f" for ref in chain)


def test_a_write_that_takes_a_formula_from_a_cell_leaves_no_calculation_chain_excel_would_repair(tmp_path):
    """Found attacking the writer: Excel saves a calculation chain (xl/calcChain.xml) naming
    every formula cell, and on opening checks it: a cell it names that holds no formula is
    "unreadable content", and Excel asks to repair the file. Removing a merged duplicate's row
    moved the team's formulas up, leaving the chain naming the last row's cell, and a value
    written over a formula of sheetcrm's own tab did the same. The chain goes then (Excel
    builds it again); a write that takes no formula keeps it byte for byte."""
    from sheetcrm.workbook import RowDelete

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    ws.append(["ID", "Name", "Length"])
    for r, name in enumerate(["Acme", "Globex", "Initech"], 2):
        ws.append([f"ACC-000{r - 1}", name, f"=LEN(B{r})"])
    ws.append([None, "Umbrella"])
    book = _save(wb, tmp_path / "crm.xlsx")
    _with_calc_chain(book.path, ["C2", "C3", "C4"])
    chain = zipfile.ZipFile(book.path).read("xl/calcChain.xml")
    book.read()
    book.write(Plan(writes=[CellWrite("Accounts", 5, 1, "ACC-0004", expect=((1, None), (2, "Umbrella")))]))
    assert zipfile.ZipFile(book.path).read("xl/calcChain.xml") == chain  # no formula taken: kept
    book.read()
    book.write(Plan(deletes=[RowDelete("Accounts", 3, ((1, "ACC-0002"),))]))
    after = openpyxl.load_workbook(book.path)["Accounts"]
    assert [[c.value for c in row] for row in after.iter_rows(min_row=2)] == [
        ["ACC-0001", "Acme", "=LEN(B2)"], ["ACC-0003", "Initech", "=LEN(B3)"], ["ACC-0004", "Umbrella", None]]
    assert _chain_fits(book.path)
    # A value written over a formula (unguarded, as on sheetcrm's own tab) takes it too.
    _with_calc_chain(book.path, ["C2", "C3"])
    book = XlsxWorkbook(book.path)
    book.read()
    book.write(Plan(writes=[CellWrite("Accounts", 3, 3, 7)]))
    assert openpyxl.load_workbook(book.path)["Accounts"]["C3"].value == 7
    assert _chain_fits(book.path)


def test_a_row_a_table_grows_over_gets_its_calculated_columns_formulas(tmp_path):
    """Found by a tester: a team's calculated column (Commission, `=[@Amount]*0.1` filled down
    the table) stayed empty in the deal a conversion added to the table, so
    `=SUM(Deals[Commission])` left it out with nothing to say so. Excel fills the column's
    formula in a row a person adds; so does sheetcrm, its A1 references moved to the row."""
    from openpyxl.worksheet.table import TableFormula

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Amount", "Commission", "Double", "Note"])
    ws.append(["OPP-0001", 100, "=Deals[[#This Row],[Amount]]*0.1", "=B2*2", None])
    _table(ws, "Deals", "A1:E2")
    table = ws.tables["Deals"]
    table._initialise_columns()
    for column, name in zip(table.tableColumns, ["ID", "Amount", "Commission", "Double", "Note"]):
        column.name = name
    table.tableColumns[2].calculatedColumnFormula = TableFormula(attr_text="Deals[[#This Row],[Amount]]*0.1")
    table.tableColumns[3].calculatedColumnFormula = TableFormula(attr_text="B2*2")
    book = _save(wb, tmp_path / "crm.xlsx")
    book.read()
    empty = tuple((c, None) for c in range(1, 6))
    book.write(Plan(writes=[CellWrite("Opportunities", 3, 1, "OPP-0002", expect=empty),
                            CellWrite("Opportunities", 3, 2, 250, expect=empty),
                            CellWrite("Opportunities", 3, 4, 7, expect=empty)]))
    after = openpyxl.load_workbook(tmp_path / "crm.xlsx")["Opportunities"]
    assert after.tables["Deals"].ref == "A1:E3"
    # The write's own value stays; a column without a formula stays empty.
    assert [c.value for c in after[3]] == ["OPP-0002", 250, "=Deals[[#This Row],[Amount]]*0.1", 7, None]
    book.write(Plan(writes=[CellWrite("Opportunities", 4, 1, "OPP-0003", expect=empty)]))
    assert openpyxl.load_workbook(tmp_path / "crm.xlsx")["Opportunities"]["D4"].value == "=B4*2"


def test_a_record_added_into_an_empty_row_a_person_hid_is_shown(tmp_path):
    """Rows below the data hidden to tidy the sheet: a converted lead's account (a form's lead, a
    workflow's task) landed in one and stayed unseen, to be typed in again by hand. A hidden row
    that holds a record (filtered out) stays hidden when its ID is filled."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    ws.append(["ID", "Name"])
    ws.append([None, "Acme"])
    for row in range(2, 10):
        ws.row_dimensions[row].hidden = True
    book = _save(wb, tmp_path / "crm.xlsx")
    book.read()
    book.write(Plan(writes=[CellWrite("Accounts", 2, 1, "ACC-0001", expect=((1, None), (2, "Acme"))),
                            CellWrite("Accounts", 3, 1, "ACC-0002", expect=((1, None), (2, None))),
                            CellWrite("Accounts", 3, 2, "Globex", expect=((1, None), (2, None)))]))
    after = openpyxl.load_workbook(tmp_path / "crm.xlsx")["Accounts"]
    assert [c.value for c in after[3]] == ["ACC-0002", "Globex"]
    assert [after.row_dimensions[r].hidden for r in (2, 3, 4)] == [True, False, True]
