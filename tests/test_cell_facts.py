"""What a cell shows beyond its value, as every backend reports it on the Grid: formula errors
(`errors`), percent number formats (`percent`) and merged blocks (`merges`).

.xlsx: real files, made with openpyxl and, where a cached formula result is needed, calculated
by LibreOffice (`soffice --headless --convert-to xlsx`), or patched at the XML for what no app
writes on purpose. Google: gspread over HTTP against the emulator. Positions are 0-based.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from libreoffice import soffice
from sheetcrm.config import Config, CustomField, TabSettings
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.target import open_workbook
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.workbook.xlsx_scan import is_percent_format, percent_styles

REALWORLD = Path(__file__).parent / "fixtures" / "realworld"
AS_OF = dt.date(2026, 12, 15)


# -- .xlsx -----------------------------------------------------------------------------------


def recalculated(path: Path, tmp_path: Path) -> Path:
    """The workbook as LibreOffice calculates and saves it: formulas carry cached results."""
    out = tmp_path / "calculated"
    soffice(["--convert-to", "xlsx", "--outdir", str(out), str(path)])
    return out / path.name


def patched(path: Path, sheet_part: str, edit) -> None:
    """Rewrite one part of an .xlsx file in place."""
    data = path.read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            dst.writestr(item, edit(body) if item.filename == sheet_part else body)
    path.write_bytes(out.getvalue())


def test_fixture_formula_errors_are_reported_with_their_text():
    grid = XlsxWorkbook(REALWORLD / "formula_error_cached_values.xlsx").read().tabs["Opportunities"]
    # Amount F2 #N/A, Close Date H3 #VALUE!, Account C4 #REF!
    assert grid.errors == {(1, 5): "#N/A", (2, 7): "#VALUE!", (3, 2): "#REF!"}
    assert grid.formulas == {(1, 5), (2, 7), (3, 2)}
    assert grid.cell(1, 5) is None and grid.cell(3, 2) is None
    assert grid.cell(2, 5) == 8000 and grid.cell(1, 7) == dt.date(2026, 12, 15)  # the cells around are untouched
    assert grid.percent == set() and grid.merges == []


def test_fixture_percent_cells_are_marked():
    grid = XlsxWorkbook(REALWORLD / "percent_100_read_as_1.xlsx").read().tabs["Opportunities"]
    assert grid.header[7] == "Probability"
    assert (grid.cell(1, 7), grid.cell(2, 7)) == (1, 0.5)  # the sheet shows 100% and 50%
    assert grid.percent == {(1, 7), (2, 7)}
    assert grid.errors == {}


def test_errors_computed_by_a_spreadsheet_app(tmp_path):
    """Formulas that fail, calculated and saved by LibreOffice: each error cell reads as None
    with the error it shows; the values beside them are untouched."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Amount", "Account", "Close Date", "Owner"])
    ws.append(["OPP-1", "=1/0", "=FOO(1)", "=NA()", "Dana"])
    ws.append(["OPP-2", '="a"+1', '=INDIRECT("Nowhere!A1")', 45000, "Lee"])
    ws.append(["OPP-3", "=2*21", "Acme", None, None])
    source = tmp_path / "errors.xlsx"
    wb.save(source)

    grid = XlsxWorkbook(recalculated(source, tmp_path)).read().tabs["Opportunities"]
    assert grid.errors == {(1, 1): "#DIV/0!", (1, 2): "#NAME?", (1, 3): "#N/A",
                           (2, 1): "#VALUE!", (2, 2): "#REF!"}
    assert all(grid.cell(r, c) is None for r, c in grid.errors)
    assert grid.formulas == {(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (3, 1)}
    assert grid.rows[3] == ["OPP-3", 42, "Acme"]  # a formula that worked reads as its value
    assert grid.cell(1, 4) == "Dana" and grid.cell(2, 3) == 45000


def test_error_constants_without_a_formula(tmp_path):
    """Values pasted from a failed lookup are error cells with no formula (t="e", no <f>)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    ws.append(["Last Name", "Employees", "Email"])
    ws.append(["Ng", 12, "ng@example.com"])
    ws.append(["Ito", 40, "ito@example.com"])
    path = tmp_path / "pasted.xlsx"
    wb.save(path)

    def to_errors(xml: bytes) -> bytes:
        xml = re.sub(rb'<c r="B2"( [^>]*)?><v>12</v></c>', b'<c r="B2" t="e"><v>#N/A</v></c>', xml)
        return re.sub(rb'<c r="B3"( [^>]*)?><v>40</v></c>', b'<c r="B3" t="e"><v>#DIV/0!</v></c>', xml)

    patched(path, "xl/worksheets/sheet1.xml", to_errors)
    grid = XlsxWorkbook(path).read().tabs["Leads"]
    assert grid.errors == {(1, 1): "#N/A", (2, 1): "#DIV/0!"}
    assert grid.formulas == set()
    assert grid.rows[1] == ["Ng", None, "ng@example.com"]


def test_percent_formats_builtin_custom_and_lookalikes(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Quote Lines"
    ws.append(["Product", "Discount %", "Tax Rate", "Quantity", "Note"])
    formats = {
        "B2": "0%",            # built-in 9
        "B3": "0.00%",         # built-in 10
        "B4": "0.0%",          # custom
        "B5": "[Red]0.0%;-0.0%",  # custom, colour first
        "C2": '0.00" %"',      # the % is quoted text: the number is not scaled
        "C3": "0\\%",          # escaped: literal
        "C4": "#,##0.00",
        "C5": "General",
        "D2": "0",
    }
    for row, values in enumerate([("A", 0.1, 21, 1, "x"), ("B", 0.25, 10, 2, "y"), ("C", 1, 4, 3, "z"),
                                  ("D", 0.075, 0.5, 4, "w")], start=2):
        ws.append(list(values))
    for ref, code in formats.items():
        ws[ref].number_format = code
    ws["E3"].number_format = "0%"  # text in a percent-formatted cell: marked, and still text
    path = tmp_path / "percent.xlsx"
    wb.save(path)

    grid = XlsxWorkbook(path).read().tabs["Quote Lines"]
    assert grid.percent == {(1, 1), (2, 1), (3, 1), (4, 1), (2, 4)}
    assert [grid.cell(r, 1) for r in range(1, 5)] == [0.1, 0.25, 1, 0.075]
    assert grid.cell(2, 4) == "y"


def test_no_percent_format_in_the_styles_means_no_cell_is_marked(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Amount", "Close Date"])
    ws.append([0.5, dt.date(2026, 1, 2)])
    ws["A2"].number_format = "#,##0.00"
    path = tmp_path / "plain.xlsx"
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        assert percent_styles(z.read("xl/styles.xml")) == set()
    assert XlsxWorkbook(path).read().tabs["Sheet"].percent == set()


def test_percent_cells_whatever_the_attribute_order_and_not_row_styles(tmp_path):
    """Writers put a cell's reference first; one that does not is still read, and a row's own
    style (<row s=...>) marks no cell."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Probability", "Amount"])
    ws.append([0.5, 10])
    ws.append([0.25, 20])
    ws["A2"].number_format = "0%"
    ws["A3"].number_format = "0%"
    path = tmp_path / "order.xlsx"
    wb.save(path)
    style = re.search(rb'<c r="A2" s="([0-9]+)"', zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml"))[1]

    def reorder(xml: bytes) -> bytes:
        xml = xml.replace(b'<c r="A3" s="' + style + b'"', b'<c s="' + style + b'" r="A3"')
        return xml.replace(b'<row r="2"', b'<row r="2" s="' + style + b'" customFormat="1"')

    patched(path, "xl/worksheets/sheet1.xml", reorder)
    assert b'<c s="' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    grid = XlsxWorkbook(path).read().tabs["Sheet"]
    assert grid.percent == {(1, 0), (2, 0)}
    assert grid.rows[1:] == [[0.5, 10], [0.25, 20]]


def test_default_style_showing_percent_marks_unstyled_cells(tmp_path):
    """When the workbook's default cell style (cellXfs 0) is a percent format, every cell
    without a style of its own shows a percentage."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Probability", "Amount"])
    ws.append([0.5, 10])
    ws["B2"].number_format = "#,##0"
    path = tmp_path / "default.xlsx"
    wb.save(path)

    def percent_default(xml: bytes) -> bytes:
        block = re.search(rb"<cellXfs\b.*?</cellXfs>", xml, re.S)[0]
        first = re.search(rb'<xf\b[^>]*?numFmtId="0"', block)[0]
        return xml.replace(block, block.replace(first, first.replace(b'numFmtId="0"', b'numFmtId="9"'), 1))

    patched(path, "xl/styles.xml", percent_default)
    grid = XlsxWorkbook(path).read().tabs["Sheet"]
    # The headers too (they are shown with that format); B2 has a style of its own.
    assert grid.percent == {(0, 0), (0, 1), (1, 0)}


@pytest.mark.parametrize("code, percent", [
    ("0%", True), ("0.0%", True), ("#,##0.00%", True), ("[Red]0%", True), ("0.0 %", True),
    ('0.0" %"', False), ("0\\%", False), ("0_%", False), ("0*%", False), ("[$%-409]0.00", False),
    ("0;0%", False), ("General", False), ("@", False), ("yyyy-mm-dd", False), ('"%"0', False),
])
def test_percent_format_codes(code, percent):
    assert is_percent_format(code) is percent


def test_merged_blocks_down_and_across(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["Name", "Account", "Amount", "Stage"])
    for i in range(2, 5):
        ws.append([f"Deal {i}", None, 1000 * i, None])
    ws["B2"] = "Lumen Parts Ltd"
    ws.merge_cells("B2:B4")   # one account over three deals
    ws["C6"] = "Totals"
    ws.merge_cells("C6:D6")   # across columns
    ws.merge_cells("A8:B9")   # a block of both
    path = tmp_path / "merged.xlsx"
    wb.save(path)

    grid = XlsxWorkbook(path).read().tabs["Opportunities"]
    assert sorted(grid.merges) == [(1, 1, 3, 1), (5, 2, 5, 3), (7, 0, 8, 1)]
    assert grid.cell(1, 1) == "Lumen Parts Ltd" and grid.cell(2, 1) is None  # the value sits in the first cell


def test_all_facts_together_through_libreoffice(tmp_path):
    """The same workbook as a person's spreadsheet app saves it (LibreOffice writes its own
    styles, number formats and merge records)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["Name", "Account", "Amount", "Probability"])
    ws.append(["Renewal", "Lumen", "=B2*2", 1])  # text times two
    ws.append(["Add-on", None, 5000, 0.5])
    ws.append(["Support", None, '=VLOOKUP("x",F1:G2,2,FALSE)', 0.125])
    ws["D2"].number_format = "0%"
    ws["D3"].number_format = "0%"
    ws["D4"].number_format = "0.0%"
    ws.merge_cells("B2:B4")
    source = tmp_path / "together.xlsx"
    wb.save(source)

    grid = XlsxWorkbook(recalculated(source, tmp_path)).read().tabs["Opportunities"]
    assert grid.errors == {(1, 2): "#VALUE!", (3, 2): "#N/A"}
    assert grid.percent == {(1, 3), (2, 3), (3, 3)}
    assert grid.merges == [(1, 1, 3, 1)]
    assert [grid.cell(r, 3) for r in (1, 2, 3)] == [1, 0.5, 0.125]


def test_big_style_table_only_the_percent_styles_mark_cells(tmp_path):
    """Many styles, a few of them percent: exactly the cells using those are marked."""
    wb = openpyxl.Workbook()
    ws = wb.active
    codes = ["0.00", "#,##0", "0%", "yyyy-mm-dd", "0.000%", "0.0", "@"]
    for r in range(1, 71):
        code = codes[r % len(codes)]
        ws.cell(r, 1, r / 100).number_format = code
        ws.cell(r, 2, r)
    path = tmp_path / "styles.xlsx"
    wb.save(path)
    grid = XlsxWorkbook(path).read().tabs["Sheet"]
    assert grid.percent == {(r - 1, 0) for r in range(1, 71) if "%" in codes[r % len(codes)]}


# -- memory ----------------------------------------------------------------------------------


def test_memory_backend_reports_what_it_was_given():
    book = MemoryWorkbook(
        {"Opportunities": [["ID", "Account", "Amount", "Probability"], ["OPP-1", "Lumen", "#N/A", 1],
                           ["", None, 10, 0.5]]},
        errors={"Opportunities": {(1, 2): "#N/A"}},
        percent={"Opportunities": {(1, 3), (2, 3)}},
        merges={"Opportunities": [(1, 1, 2, 1)]},
    )
    grid = book.read().tabs["Opportunities"]
    assert grid.errors == {(1, 2): "#N/A"} and grid.cell(1, 2) is None
    assert grid.percent == {(1, 3), (2, 3)}
    assert grid.merges == [(1, 1, 2, 1)]

    # A write replaces an error with its value; formats and merges stay, as in a spreadsheet.
    book.write(Plan(writes=[CellWrite("Opportunities", 2, 3, 12), CellWrite("Opportunities", 3, 1, "OPP-2")]))
    grid = book.read().tabs["Opportunities"]
    assert grid.errors == {} and grid.cell(1, 2) == 12
    assert grid.percent == {(1, 3), (2, 3)} and grid.merges == [(1, 1, 2, 1)]
    # The snapshot is a copy: changing it changes nothing in the book.
    grid.errors[(0, 0)] = "#REF!"
    grid.merges.append((5, 5, 6, 6))
    assert book.read().tabs["Opportunities"].errors == {}
    assert book.read().tabs["Opportunities"].merges == [(1, 1, 2, 1)]


def test_memory_expectations_see_an_error_cell_as_read():
    """A guarded write compares with what read() reported: None for an error cell."""
    book = MemoryWorkbook({"Leads": [["ID", "Last Name"], ["", "#N/A"]]}, errors={"Leads": {(1, 1): "#N/A"}})
    result = book.write(Plan(writes=[CellWrite("Leads", 2, 1, "LEAD-0001", expect=((2, None),))]))
    assert result.total == 1 and not result.skipped


# -- Google (gspread over HTTP to the emulator) ----------------------------------------------



class Traced:
    """A Google workbook and the trace of its requests; `config` builds it as the commands do
    (target.open_workbook, which names the percent columns), else it is built bare."""

    def __init__(self, key: str, config: Config | None = None) -> None:
        self.trace = []
        if config is not None:
            self.book = open_workbook(config, spreadsheet=key, tracer=self.trace.append)
        else:
            conn = connect(None, policy=RetryPolicy(sleep=lambda s: None), tracer=self.trace.append)
            self.book = GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com")

    def counts(self) -> tuple[int, int]:
        reads = sum(1 for t in self.trace if t.kind == "read")
        return reads, len(self.trace) - reads

    def reset(self) -> None:
        self.trace.clear()


def percent_format(sheet_id: int, row: int, col: int, pattern: str) -> dict:
    return {"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": row, "endRowIndex": row + 1,
                  "startColumnIndex": col, "endColumnIndex": col + 1},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "PERCENT", "pattern": pattern}}},
        "fields": "userEnteredFormat.numberFormat"}}


def merge(sheet_id: int, first_row: int, first_col: int, last_row: int, last_col: int) -> dict:
    return {"mergeCells": {"mergeType": "MERGE_ALL", "range": {
        "sheetId": sheet_id, "startRowIndex": first_row, "endRowIndex": last_row + 1,
        "startColumnIndex": first_col, "endColumnIndex": last_col + 1}}}


def test_google_formula_errors_in_two_reads(emu):
    key = emu.create_spreadsheet("CRM", {"Opportunities": [
        ["ID", "Amount", "Account", "Close Date", "Owner"],
        ["OPP-1", "=1/0", "=FOO(1)", "=NA()", "Dana"],
        ["OPP-2", '="a"+1', "=Nowhere!A1", 46371, "Lee"],
        ["OPP-3", "=2*21", "Acme", "", ""],
    ]}, value_input="USER_ENTERED")
    t = Traced(key)
    grid = t.book.read().tabs["Opportunities"]
    assert grid.errors == {(1, 1): "#DIV/0!", (1, 2): "#NAME?", (1, 3): "#N/A",
                           (2, 1): "#VALUE!", (2, 2): "#REF!"}
    assert grid.rows[3] == ["OPP-3", 42, "Acme"]
    assert t.counts() == (2, 0)  # errors come with the values: no extra read


def test_google_merges_ride_along_with_the_metadata(emu):
    key = emu.create_spreadsheet("CRM", {"Opportunities": [
        ["Name", "Account", "Amount", "Stage"],
        ["Deal 2", "Lumen Parts Ltd", 2000, ""], ["Deal 3", "", 3000, ""], ["Deal 4", "", 4000, ""],
        [], ["", "", "Totals", ""],
    ]})
    sid = emu.sheet_id(key, "Opportunities")
    emu.apply(key, [merge(sid, 1, 1, 3, 1), merge(sid, 5, 2, 5, 3), merge(sid, 7, 0, 8, 1)])
    t = Traced(key)
    grid = t.book.read().tabs["Opportunities"]
    assert sorted(grid.merges) == [(1, 1, 3, 1), (5, 2, 5, 3), (7, 0, 8, 1)]
    assert grid.cell(1, 1) == "Lumen Parts Ltd" and grid.cell(2, 1) is None
    assert t.counts() == (2, 0)


def test_google_percent_cells_cost_one_read_only_when_a_column_holds_a_fraction(emu):
    key = emu.create_spreadsheet("CRM", {
        "Opportunities": [["Name", "Stage", "Amount", "Probability"],
                          ["Renewal", "Negotiation", 10000, "100%"],   # typed as a person types it
                          ["Add-on", "Negotiation", 10000, "50%"],
                          ["Support", "Negotiation", 10000, 0.125],    # a number, formatted below
                          ["Extra", "Negotiation", 0.5, 75]],          # a fraction in Amount, no format
        "Accounts": [["Name", "Employees"], ["Lumen", 12]],
    }, value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Opportunities")
    emu.apply(key, [percent_format(sid, 3, 3, "0.0%"), percent_format(sid, 0, 0, "0%")])
    t = Traced(key)
    emu.requests.clear()
    snap = t.book.read()
    grid = snap.tabs["Opportunities"]
    assert [grid.cell(r, 3) for r in (1, 2, 3, 4)] == [1, 0.5, 0.125, 75]
    # Only the columns holding a fraction were asked about (D, and C for its 0.5): the header
    # cell A1 has a percent format but its column holds no fraction.
    assert grid.percent == {(1, 3), (2, 3), (3, 3)}
    assert snap.tabs["Accounts"].percent == set()
    assert t.counts() == (3, 0)
    [formats] = [r for r in emu.requests if "ranges" in r.query and "values" not in r.path]
    assert sorted(formats.query["ranges"]) == ["'Opportunities'!C1:C5", "'Opportunities'!D1:D5"]


def test_google_percent_fixture_and_sync_budget(emu):
    """percent_100_read_as_1 on Google: Probability cells 1 and 0.5 formatted 0%. A sync pays
    one more read than a workbook without fractions, never more."""
    header = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Probability", "Close Date"]
    key = emu.create_spreadsheet("CRM", {
        "Accounts": [["ID", "Name", "Status"], ["ACC-0001", "Lumen Parts Ltd", "Customer"]],
        "Opportunities": [header,
                          ["OPP-0001", "Lumen renewal", "Lumen Parts Ltd", "Dana", "Negotiation", 10000, "USD",
                           "100%", "2026-12-15"],
                          ["", "Lumen add-on", "Lumen Parts Ltd", "Dana", "Negotiation", 10000, "USD", "50%",
                           "2026-12-15"]],
    }, value_input="USER_ENTERED")
    t = Traced(key, Config())
    grid = t.book.read().tabs["Opportunities"]
    assert grid.percent == {(1, 7), (2, 7)}
    t.reset()
    first = sync(t.book, Config(), as_of=AS_OF)
    assert first.cells_written["Opportunities"] >= 1  # the missing ID, at least
    # metadata, values, formats; key re-read; the rules under the first guide's dropdowns (a
    # first sync's, once); one batchUpdate; the read-back of the IDs filled
    assert t.counts() == (6, 1)
    t.reset()
    assert sync(t.book, Config(), as_of=AS_OF).cells_written == {}
    assert t.counts() == (3, 0)


def test_google_and_xlsx_report_the_same_facts(emu, tmp_path):
    """One sheet, both backends: the same errors, percent cells and merges."""
    rows = [["ID", "Account", "Amount", "Probability"],
            ["OPP-1", "Lumen", "=1/0", 1], ["OPP-2", "", "=NA()", 0.5], ["OPP-3", "", 300, 0.25]]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    for row in rows:
        ws.append(row)
    for r in (2, 3, 4):
        ws.cell(r, 4).number_format = "0%"
    ws.merge_cells("B2:B4")
    source = tmp_path / "same.xlsx"
    wb.save(source)
    x = XlsxWorkbook(recalculated(source, tmp_path)).read().tabs["Opportunities"]

    key = emu.create_spreadsheet("CRM", {"Opportunities": rows}, value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Opportunities")
    emu.apply(key, [percent_format(sid, r, 3, "0%") for r in (1, 2, 3)] + [merge(sid, 1, 1, 3, 1)])
    g = Traced(key).book.read().tabs["Opportunities"]

    assert x.errors == g.errors == {(1, 2): "#DIV/0!", (2, 2): "#N/A"}
    assert x.percent == g.percent == {(1, 3), (2, 3), (3, 3)}
    assert x.merges == g.merges == [(1, 1, 3, 1)]


def test_google_percent_columns_by_header_even_at_100_percent(emu):
    """As the commands build it, the backend asks about the columns of percentages by their
    headers (aliases, renames and custom fields too), so a column showing only 100% is read
    as such; other columns with small numbers (exchange rates, a duration) cost nothing."""
    key = emu.create_spreadsheet("CRM", {
        "Oportunidades": [["Pipeline 2026"], [],
                          ["Nombre", "Etapa", "Importe", "Probabilidad"],
                          ["Renovación", "Negociación", 10000, "100%"]],
        "Deals": [["Name", "Chance of Win", "Fit %", "Notes"], ["A", "100%", "100%", 1]],
        "Rates": [["Currency", "Rate"], ["JPY", 0.0067], ["EUR", 1.08]],
        "Sync Log": [["Time", "Job", "Duration (s)"], ["2026-11-30T06:00:00", "sync", 0.42]],
    }, value_input="USER_ENTERED")
    config = Config(tabs={"opportunities": TabSettings(headers={"Probability": "Chance of Win"}),
                          "leads": TabSettings(custom_fields={"Fit %": CustomField(type="percent")})})
    t = Traced(key, config)
    emu.requests.clear()
    snap = t.book.read()
    assert snap.tabs["Oportunidades"].percent == {(3, 3)}
    assert snap.tabs["Deals"].percent == {(1, 1), (1, 2)}
    assert snap.tabs["Rates"].percent == set() and snap.tabs["Sync Log"].percent == set()
    assert t.counts() == (3, 0)
    [formats] = [r for r in emu.requests if "ranges" in r.query and "values" not in r.path]
    # Importe (Amount) holds a number and the tab has no Currency column: only a currency format
    # could name its currency, so its column rides along in the same read.
    assert sorted(formats.query["ranges"]) == ["'Deals'!B1:B2", "'Deals'!C1:C2", "'Oportunidades'!C1:C4",
                                               "'Oportunidades'!D1:D4"]


def number_format(sheet_id: int, row: int, col: int, kind: str, pattern: str) -> dict:
    return {"repeatCell": {
        "range": {"sheetId": sheet_id, "startRowIndex": row, "endRowIndex": row + 1,
                  "startColumnIndex": col, "endColumnIndex": col + 1},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": kind, "pattern": pattern}}},
        "fields": "userEnteredFormat.numberFormat"}}


@pytest.mark.parametrize("currency", [False, True])
def test_google_a_formats_read_made_anyway_asks_about_a_percent_column_of_whole_numbers(emu, currency):
    """A Probability of 20 formatted 0% shows 2,000 %, which .xlsx reports (out_of_range). A
    column of whole numbers asks for no formats read, so Google read it as 20 % even when the
    read was made anyway (here for Amount, its tab having no Currency column): now that read
    asks about it too. With a Currency column no read is made: the sync pays no request more.
    A team's own columns of whole numbers are not asked about (a code 8001 under 00000, a whole
    Fee under `#,##0 "€"`): every cell would cost bytes at each such sync (docs/formats.md)."""
    header = ["ID", "Name", "Account", "Stage", "Amount", "Probability", "Close Date"] + (["Currency"] if currency else [])
    cur = ["USD"] if currency else []
    key = emu.create_spreadsheet("CRM", {
        "Opportunities": [header, ["OPP-0001", "Renewal", "Lumen", "Negotiation", 10000, 20, "2026-12-15", *cur],
                          ["OPP-0002", "Add-on", "Lumen", "Negotiation", 5000, 50, "2026-12-15", *cur]],
        "Accounts": [["ID", "Name", "Postal Code", "Fee"], ["ACC-0001", "Lumen", 8001, 1200]],
    }, value_input="USER_ENTERED")
    emu.apply(key, [percent_format(emu.sheet_id(key, "Opportunities"), 1, 5, "0%"),
                    number_format(emu.sheet_id(key, "Accounts"), 1, 2, "NUMBER", "00000"),
                    number_format(emu.sheet_id(key, "Accounts"), 1, 3, "CURRENCY", '#,##0 "€"')])
    t = Traced(key, Config())
    snap = t.book.read()
    deals, accounts = snap.tabs["Opportunities"], snap.tabs["Accounts"]
    if currency:
        assert t.counts() == (2, 0)
        assert (deals.percent, accounts.codes, accounts.currency) == (set(), {}, {})
        return
    assert t.counts() == (3, 0)
    assert deals.percent == {(1, 5)}
    assert (accounts.codes, accounts.currency) == ({}, {})
    issues = [i.as_dict() for i in sync(t.book, Config(), as_of=dt.date(2026, 11, 23)).crm.report.issues]
    [wrong] = [i for i in issues if i["code"] == "out_of_range"]
    assert (wrong["tab"], wrong["row"], wrong["column"], wrong["value"]) == ("Opportunities", 2, "F", 20)
    assert wrong["message"].startswith("2,000 % is outside 0 to 100 percent")


def test_google_no_percent_read_for_points_rates_or_durations(emu):
    """Percentages kept as points, exchange rates below 1 and durations: two reads, as before.
    (Amounts name their currency in the Currency column, so no currency format is asked about.)"""
    key = emu.create_spreadsheet("CRM", {
        "Opportunities": [["Name", "Stage", "Amount", "Currency", "Probability"],
                          ["Renewal", "Proposal", 10000, "USD", 50], ["Add-on", "Proposal", 0.5, "EUR", 12.5]],
        "Rates": [["Currency", "Rate"], ["JPY", 0.0067]],
        "Sync Log": [["Time", "Job", "Duration (s)"], ["2026-11-30T06:00:00", "sync", 0.42]],
    }, value_input="USER_ENTERED")
    t = Traced(key, Config())
    snap = t.book.read()
    assert all(grid.percent == set() for grid in snap.tabs.values())
    assert t.counts() == (2, 0)
    # Built bare (no header names), any column holding a fraction is asked about.
    bare = Traced(key)
    bare.book.read()
    assert bare.counts() == (3, 0)


def test_google_formula_still_loading_is_no_value(emu):
    """A formula whose data Google fetches from outside (IMPORTRANGE, GOOGLEFINANCE...) shows
    "Loading..." until the data comes (ErrorValue.type LOADING), and the values read gives that
    text: read as a value, a deal named "Loading..." (or at that amount) would be counted. It
    is a formula error at its cell, with a hint to sync again rather than fix the formula."""
    key = emu.create_spreadsheet("CRM", {
        "Accounts": [["ID", "Name", "Status"], ["ACC-0001", "Lumen Parts Ltd", "Customer"]],
        "Opportunities": [
            ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
            ["OPP-0001", '=IMPORTRANGE("1AbC","Deals!A2")', "Lumen Parts Ltd", "Dana", "Negotiation", 100, "USD",
             "2026-12-15"],
            ["OPP-0002", "Renewal", "Lumen Parts Ltd", "Dana", "Negotiation", '=GOOGLEFINANCE("CURRENCY:EURUSD")',
             "USD", "2026-12-15"]]}, value_input="USER_ENTERED")
    t = Traced(key, Config())
    grid = t.book.read().tabs["Opportunities"]
    assert grid.errors == {(1, 1): "Loading...", (2, 5): "Loading..."}
    issues = [i for i in sync(t.book, Config(), as_of=AS_OF, dry_run=True).crm.report.issues
              if i.code == "formula_error"]
    assert [(i.row, i.column, i.value) for i in issues] == [(2, "B", "Loading..."), (3, "F", "Loading...")]
    assert all("Sync again" in i.hint and "Google Sheets had not yet fetched" in i.message for i in issues)


def test_google_unticked_checkboxes_alone_make_no_record(emu):
    """Insert ▸ Checkbox down a whole column fills every row with FALSE: a row holding only an
    unticked box is an empty row to the person looking at it, not a deal to number and report
    as missing its Name; nor does one beside a totals row make it a deal named "Total". A
    ticked box alone is something a person did, and stays a row to say."""
    header = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date", "Send Quote"]
    deal = ["Lumen Parts Ltd", "Dana", "Negotiation", 100, "USD", "2026-12-15", "FALSE"]
    key = emu.create_spreadsheet("CRM", {
        "Accounts": [["ID", "Name", "Status"], ["ACC-0001", "Lumen Parts Ltd", "Customer"]],
        "Opportunities": [header, ["OPP-0001", "A", *deal], ["", "B", *deal],
                          *[[""] * 8 + ["FALSE"]] * 3, ["Total", "", "", "", "", "=SUM(F2:F3)", "", "", "FALSE"],
                          [""] * 8 + ["TRUE"]]}, value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Opportunities")
    emu.apply(key, [{"setDataValidation": {"rule": {"condition": {"type": "BOOLEAN"}}, "range": {
        "sheetId": sid, "startRowIndex": 1, "endRowIndex": 8, "startColumnIndex": 8, "endColumnIndex": 9}}}])
    out = sync(Traced(key, Config()).book, Config(), as_of=AS_OF, dry_run=True)
    ids = [(w.row, w.value) for w in out.plan.writes if w.tab == "Opportunities" and w.col == 1 and w.row > 1]
    assert ids == [(3, "OPP-0002"), (8, "OPP-0003")]
    assert {i.row for i in out.crm.report.issues if i.tab == "Opportunities" and i.code in ("required", "id_pattern")
            } == {8}


def test_google_id_merged_over_two_deals_is_said(emu):
    """An ID merged down over the row below shows that ID on both rows, but only the first
    holds it: the second is read as a deal of its own with no ID, and gets none (its ID cell is
    hidden under the block). Said at the block, not left for the totals to show."""
    deal = ["Lumen Parts Ltd", "Dana", "Negotiation", 100, "USD", "2026-12-15"]
    key = emu.create_spreadsheet("CRM", {
        "Accounts": [["ID", "Name", "Status"], ["ACC-0001", "Lumen Parts Ltd", "Customer"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "A", *deal], ["", "B", *deal], ["OPP-0002", "C", *deal]]},
        value_input="USER_ENTERED")
    emu.apply(key, [merge(emu.sheet_id(key, "Opportunities"), 1, 0, 2, 0)])
    out = sync(Traced(key, Config()).book, Config(), as_of=AS_OF, dry_run=True)
    said = [i for i in out.crm.report.issues if i.code == "merged_id"]
    assert [(i.severity, i.row, i.column, i.value) for i in said] == [("warning", 2, "A", "OPP-0001")]
    assert "rows 2 to 3" in said[0].message


@pytest.mark.parametrize("code, value, percent", [
    ('[>0.9]"Sure";0%', 0.5, True), ('[>0.9]"Sure";0%', 0.95, False), ("0;0%", -0.5, True), ("0;0%", 0.5, False),
    ('0%;0%;"none"', 0, False), ("[Red][<0]0%;0", -1, True), ("[Red][<0]0%;0", 1, False),
    ('"a;b"0%', 1, True), ('[<0.5]0%;[>0.8]0.0%;0', 0.6, False), ('[<0.5]0%;[>0.8]0.0%;0', 0.9, True),
])
def test_percent_format_codes_by_the_section_that_shows_the_value(code, value, percent):
    assert is_percent_format(code, value) is percent


def test_a_conditional_format_marks_the_cells_its_percent_section_shows(tmp_path, emu):
    """0.5 under `[>0.9]"Sure";0%` shows 50%: only the first section was read, so it was a
    plain 0.5, read as 0.5 % among points with only a warning. The section that shows each
    value tells."""
    rows = [["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Probability"],
            ["OPP-0001", "A", "Acme", "Prospecting", 100, "2026-12-01", 0.5],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, "2026-12-01", 30],
            ["OPP-0003", "C", "Acme", "Prospecting", 100, "2026-12-01", 0.25],
            ["OPP-0004", "D", "Acme", "Prospecting", 100, "2026-12-01", 20]]
    code = '[>0.9]"Sure";0%'
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    for row in rows:
        ws.append(row)
    ws["G2"].number_format = ws["G4"].number_format = code
    path = tmp_path / "conditional.xlsx"
    wb.save(path)
    x = XlsxWorkbook(path).read()
    key = emu.create_spreadsheet("CRM", {"Opportunities": rows}, value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Opportunities")
    emu.apply(key, [number_format(sid, r, 6, "NUMBER", code) for r in (1, 3)])
    g = Traced(key, Config()).book.read()
    for snap in (x, g):
        assert snap.tabs["Opportunities"].percent == {(1, 6), (3, 6)}
        crm = read_crm(snap, Config())
        assert [o.probability for o in crm.records("opportunities")] == [50, 30, 25, 20]
        assert not [i for i in crm.report.issues if i.code == "ambiguous_percent"]
