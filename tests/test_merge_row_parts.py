"""A merge removing a duplicate's row from an .xlsx moves every part of the file with its rows
(s35 rows): notes (comments part and their VML boxes), threaded comments, conditional formats'
and validations' formulas, charts (anchors and series), and shared formulas (Excel's
fill-down), in the merged tab and in the tabs that refer to it. Real .xlsx files built with
openpyxl, and raw XML where openpyxl cannot write the construct (shared formulas, threaded
comments), as Excel writes them; the merge is a sync as a person runs it.

The merge (merge_crm): Accounts row 4 (ACC-0003) and Contacts row 4 (CON-0003) are removed."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, TwoCellAnchor
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook import Plan, WorkbookError, xlsx_rows
from sheetcrm.workbook.xlsx import XlsxWorkbook

from books import xlsx
from merge_crm import tabs

AS_OF = dt.date(2026, 12, 2)


def _merged(path: Path) -> None:
    """Marks Duplicates as sheetcrm's (as the dupes step leaves it) and runs the merge."""
    book = XlsxWorkbook(path)
    book.read()
    book.write(Plan(mark_owned=["Duplicates"]))
    outcome = sync(XlsxWorkbook(path), Config(), AS_OF)
    assert outcome.result is not None and outcome.result.deleted == {"Accounts": 1, "Contacts": 1}


def _patch(path: Path, change) -> None:
    """Rewrites the package at `path`: `change(members)` edits the dict name -> bytes."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    change(members)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    path.write_bytes(buf.getvalue())


def _part(path: Path, tab: str, kind: str = "") -> tuple[str, str]:
    """(member name, text) of tab `tab`'s sheet part, or of its related part of `kind`."""
    with zipfile.ZipFile(path) as z:
        wb = openpyxl.load_workbook(path)
        name = f"xl/worksheets/sheet{wb.sheetnames.index(tab) + 1}.xml"
        if kind:
            rels = z.read(name.replace("worksheets/", "worksheets/_rels/") + ".rels").decode()
            target = re.search(rf'Type="[^"]*/{kind}" Target="([^"]+)"|Target="([^"]+)" Type="[^"]*/{kind}"', rels)
            t = (target[1] or target[2])
            name = t.lstrip("/") if t.startswith("/") else "xl/" + t.replace("../", "")
        return name, z.read(name).decode()


def test_notes_move_with_their_rows_and_a_removed_rows_note_goes_with_it(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", tabs())
    wb = openpyxl.load_workbook(path)
    con = wb["Contacts"]
    con["D3"].comment = Comment("Hal: CEO, call mornings", "ana")
    con["D4"].comment = Comment("the duplicate's own note", "ana")
    con["D5"].comment = Comment("Jo prefers email", "ana")
    wb.save(path)

    _merged(path)

    con = openpyxl.load_workbook(path)["Contacts"]
    notes = {c.coordinate: (con.cell(c.row, 4).value, c.comment.text) for row in con.iter_rows() for c in row if c.comment}
    # Each note stays beside its contact; the removed contact's note went with its row.
    assert notes == {"D3": ("Lee", "Hal: CEO, call mornings"), "D4": ("Kim", "Jo prefers email")}
    # The boxes that show the notes (legacy VML, rows 0-based) moved with them.
    _, vml = _part(path, "Contacts", "vmlDrawing")
    assert re.findall(r"<(?:\w+:)?Row>(\d+)</(?:\w+:)?Row>", vml) == ["2", "3"]


def test_threaded_comments_move_and_the_removed_rows_thread_goes(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", tabs())
    thread = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments">'
              '<threadedComment ref="E4" dT="2026-11-01T10:00:00.00" personId="{P1}" id="{T1}"><text>dup?</text>'
              '</threadedComment>'
              '<threadedComment ref="E4" dT="2026-11-01T11:00:00.00" personId="{P1}" id="{T2}" parentId="{T1}">'
              '<text>yes</text></threadedComment>'
              '<threadedComment ref="E5" dT="2026-11-02T10:00:00.00" personId="{P1}" id="{T3}"><text>Jo moved'
              '</text></threadedComment></ThreadedComments>')

    def add(members):
        name = "xl/worksheets/sheet2.xml"  # Contacts
        members["xl/threadedComments/threadedComment1.xml"] = thread.encode()
        members[name.replace("worksheets/", "worksheets/_rels/") + ".rels"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2017/10/relationships/threadedComment" '
            'Target="../threadedComments/threadedComment1.xml"/></Relationships>').encode()
    _patch(path, add)

    _merged(path)

    with zipfile.ZipFile(path) as z:
        after = z.read("xl/threadedComments/threadedComment1.xml").decode()
    assert re.findall(r'ref="(\w+)"[^>]*id="\{(T\d)\}"', after) == [("E4", "T3")]


def test_rules_formulas_move_with_the_rows_they_name(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", tabs())
    wb = openpyxl.load_workbook(path)
    con = wb["Contacts"]
    # Highlight a contact whose account is the one on row 5 (absolute): after the merge, row 4.
    con.conditional_formatting.add("B2:B5", FormulaRule(formula=["$B2=$B$5"], fill=PatternFill("solid", fgColor="FFFF00")))
    # Relative rows count from the top of the rule's range: they stay when the removed row is
    # inside it (same account as the next contact), they move with a range below it.
    con.conditional_formatting.add("B3:B5", FormulaRule(formula=["$B3=$B4"], fill=PatternFill("solid", fgColor="00FF00")))
    con.conditional_formatting.add("C5", FormulaRule(formula=['C5="Jo"'], fill=PatternFill("solid", fgColor="0000FF")))
    # A team tab's rule pointing into Contacts by an absolute row.
    wb.create_sheet("Team")["A1"] = "watch"
    wb["Team"].conditional_formatting.add("A1", FormulaRule(formula=["Contacts!$E$5<>\"\""],
                                                            fill=PatternFill("solid", fgColor="FF0000")))
    dv = DataValidation(type="list", formula1="$H$2:$H$5")
    con.add_data_validation(dv)
    dv.add("H2:H5")
    wb.save(path)

    _merged(path)

    wb = openpyxl.load_workbook(path)
    rules = {str(r.sqref): [x.formula for x in r.rules] for r in wb["Contacts"].conditional_formatting}
    assert rules == {"B2:B4": [["$B2=$B$4"]], "B3:B4": [["$B3=$B4"]], "C4": [['C4="Jo"']]}
    assert [x.formula for r in wb["Team"].conditional_formatting for x in r.rules] == [['Contacts!$E$4<>""']]
    assert [(str(d.sqref), d.formula1) for d in wb["Contacts"].data_validations.dataValidation] == [("H2:H4", "$H$2:$H$4")]


def test_a_chart_and_its_series_move_with_the_rows(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", tabs())
    wb = openpyxl.load_workbook(path)
    acc = wb["Accounts"]
    chart = BarChart()
    chart.add_data(Reference(acc, min_col=5, min_row=1, max_row=5), titles_from_data=True)
    # Moves and sizes with cells, rows 6 to 10 (0-based 5 and 9): below the removed row 4.
    chart.anchor = TwoCellAnchor(_from=AnchorMarker(col=10, row=5), to=AnchorMarker(col=15, row=9))
    acc.add_chart(chart)
    wb.save(path)

    _merged(path)

    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        _, drawing = _part(path, "Accounts", "drawing")
        series = next(x for n in names if n.startswith("xl/charts/chart") and "'Accounts'" in (x := z.read(n).decode()))
    assert re.findall(r"<(?:\w+:)?row>(\d+)</(?:\w+:)?row>", drawing) == ["4", "8"]
    assert re.findall(r"<(?:\w+:)?f>([^<]*)</(?:\w+:)?f>", series) == ["'Accounts'!E1", "'Accounts'!$E$2:$E$4"]


SHARED_MASTER = re.compile(r'<c r="([A-Z]+\d+)"[^>]*>(.*?)</c>', re.S)


def _share(path: Path, tab_part: str, column: str, rows: range, master_text: str) -> None:
    """Writes `column`'s cells of `rows` as one shared formula group with its master at the
    first row, as Excel writes a filled-down column (cached values kept)."""
    first, last = rows[0], rows[-1]

    def change(members):
        xml = members[tab_part].decode()

        def cell(m):
            r = int(re.match(r"[A-Z]+(\d+)", m[1])[1])
            if not m[1].startswith(column) or r not in rows:
                return m[0]
            f = (f'<f t="shared" ref="{column}{first}:{column}{last}" si="0">{master_text}</f>' if r == first
                 else '<f t="shared" si="0"/>')
            return re.sub(r"<f>.*?</f>", f, m[0])
        new = SHARED_MASTER.sub(cell, xml)
        assert new.count('t="shared"') == len(rows)
        members[tab_part] = new.encode()
    _patch(path, change)


def _cells(path: Path, tab: str, column: str) -> dict[str, tuple[str | None, str | None]]:
    """Column `column` of `tab` as cell -> (formula, cached value), from the sheet XML."""
    _, xml = _part(path, tab)
    out = {}
    for m in SHARED_MASTER.finditer(xml):
        if re.fullmatch(column + r"\d+", m[1]):
            f = re.search(r"<f\b[^>]*?(?:/>|>(.*?)</f>)", m[2])
            v = re.search(r"<v>(.*?)</v>", m[2])
            if f:
                out[m[1]] = (f[1] or f[0], v and v[1])
    return out


def test_a_shared_formula_whose_master_row_is_removed_keeps_every_cells_formula(tmp_path):
    t = tabs()
    for i, row in enumerate(t["Contacts"]):
        row.append("Full" if i == 0 else f'=C{i + 1}&" "&D{i + 1}')
    path = xlsx(tmp_path / "crm.xlsx", t)
    # Cached values as an app leaves them, then Contacts!J4:J5 filled down from J4 (CON-0003's row).
    _patch(path, lambda m: m.__setitem__("xl/worksheets/sheet2.xml", re.sub(
        rb'(<c r="J(\d)"[^>]*)>(<f>.*?</f>)<v\s*/?>(?:</v>)?', lambda c: c[1] + b' t="str">' + c[3] +
        b"<v>" + {2: b"Eve Ray", 3: b"Hal Lee", 4: b"Eve Ray", 5: b"Jo Kim"}[int(c[2])] + b"</v>",
        m["xl/worksheets/sheet2.xml"])))
    _share(path, "xl/worksheets/sheet2.xml", "J", range(4, 6), "C4&amp;&quot; &quot;&amp;D4")

    _merged(path)

    # Jo's row moved up to 4 with its own formula, as ordinary text, its cached value kept.
    assert _cells(path, "Contacts", "J") == {"J2": ('C2&amp;" "&amp;D2', "Eve Ray"), "J3": ('C3&amp;" "&amp;D3', "Hal Lee"),
                                             "J4": ('C4&amp;" "&amp;D4', "Jo Kim")}


def test_another_tabs_shared_formula_into_the_removed_rows_gets_ref_and_moves(tmp_path):
    t = tabs()
    for i, row in enumerate(t["Opportunities"]):
        row.append("Next contact's email" if i == 0 else f"=Contacts!E{i + 2}")
    path = xlsx(tmp_path / "crm.xlsx", t)
    # Opportunities!K2:K4 = Contacts!E3..E5, filled down from K2.
    _share(path, "xl/worksheets/sheet3.xml", "K", range(2, 5), "Contacts!E3")

    _merged(path)

    formulas = {c: f for c, (f, _) in _cells(path, "Opportunities", "K").items()}
    # E4 (CON-0003) is gone: its reference is #REF!, as Excel gives; E5 (Jo) is now E4.
    assert formulas == {"K2": "Contacts!E3", "K3": "#REF!", "K4": "Contacts!E4"}


def test_a_shared_formula_that_cannot_be_read_stops_the_removal_and_says_where(tmp_path):
    t = tabs()
    for i, row in enumerate(t["Contacts"]):
        row.append("Full" if i == 0 else f"=C{i + 1}")
    path = xlsx(tmp_path / "crm.xlsx", t)
    _share(path, "xl/worksheets/sheet2.xml", "J", range(3, 6), "C3&amp;&quot;")  # an unclosed text
    book = XlsxWorkbook(path)
    book.read()
    book.write(Plan(mark_owned=["Duplicates"]))
    before = path.read_bytes()

    with pytest.raises(WorkbookError, match=r"the filled-down formula at Contacts!J3 cannot be read"):
        sync(XlsxWorkbook(path), Config(), AS_OF)
    assert path.read_bytes() == before  # nothing half-done: the removal and its merge's writes wait


def test_a_pivot_tables_source_range_on_the_tab_shrinks_with_it(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", tabs())
    cache = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<pivotCacheDefinition xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" refreshOnLoad="1">'
             '<cacheSource type="worksheet"><worksheetSource ref="A1:I5" sheet="Contacts"/></cacheSource>'
             '</pivotCacheDefinition>')
    _patch(path, lambda m: m.__setitem__("xl/pivotCache/pivotCacheDefinition1.xml", cache.encode()))

    _merged(path)

    with zipfile.ZipFile(path) as z:
        assert '<worksheetSource ref="A1:I4" sheet="Contacts"/>' in z.read("xl/pivotCache/pivotCacheDefinition1.xml").decode()


def test_a_link_block_validation_and_selection_on_the_removed_row_leave_a_file_every_app_opens(tmp_path):
    """A removed row's link was left at `ref=""`, which openpyxl (so pandas) could not open at
    all and Excel repairs; a merged block or validation on the row alone left its list empty or
    miscounted, a block over it and one row more merged one cell with itself; a selection
    there was left selecting nothing."""
    path = xlsx(tmp_path / "crm.xlsx", tabs())
    wb = openpyxl.load_workbook(path)
    con = wb["Contacts"]
    con["E4"].hyperlink = "mailto:eve@acme.com"  # CON-0003, the row removed
    con["E5"].hyperlink = "mailto:jo@initech.com"
    con.merge_cells("K4:L4")
    con["K4"] = "the duplicate's own block"
    con.merge_cells("M4:M5")  # one cell once row 4 goes: Excel repairs a cell merged with itself
    dv = DataValidation(type="list", formula1='"a,b"')
    con.add_data_validation(dv)
    dv.add("K4")
    con.sheet_view.selection[0].activeCell = "E4"
    con.sheet_view.selection[0].sqref = "E4"
    wb.save(path)

    _merged(path)

    con = openpyxl.load_workbook(path)["Contacts"]  # IndexError: " is not a valid coordinate"
    assert {c.coordinate: c.hyperlink.target for row in con.iter_rows() for c in row if c.hyperlink} == {
        "E4": "mailto:jo@initech.com"}
    assert (con.sheet_view.selection[0].activeCell, con.sheet_view.selection[0].sqref) == ("E4", "E4")
    _, xml = _part(path, "Contacts")
    assert 'ref=""' not in xml
    assert "<mergeCells" not in xml
    lists = re.search(r'<dataValidations count="(\d+)">(.*?)</dataValidations>', xml)
    assert lists is None or int(lists[1]) == lists[2].count("<dataValidation ")


def test_a_sort_protected_ranges_ignored_errors_and_a_frozen_pane_move_with_the_removed_row():
    """Left as they were, a sort kept a range one row past its filter's (Excel repairs the file:
    "Removed Feature: AutoFilter"), a protected range or ignored error on the removed row alone
    moved onto the next record's row, and a frozen pane's first cell showed a row further down."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    for r in range(1, 7):
        ws.append([f"ACC-000{r}", f"name {r}", r])
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = "A1:C6"
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    sheet = members["xl/worksheets/sheet1.xml"].decode()
    sheet = re.sub(r'topLeftCell="A2"', 'topLeftCell="A5"', sheet, count=1)
    sheet = sheet.replace('<autoFilter ref="A1:C6" />', '<autoFilter ref="A1:C6"><sortState ref="A2:C6">'
                          '<sortCondition descending="1" ref="C2:C6"/></sortState></autoFilter>')
    sheet = sheet.replace('<autoFilter ref="A1:C6"><', '<protectedRanges><protectedRange sqref="B4" name="one"/>'
                          '<protectedRange sqref="B2:B6" name="all"/></protectedRanges><autoFilter ref="A1:C6"><')
    sheet = sheet.replace("</worksheet>", '<ignoredErrors><ignoredError sqref="C4" numberStoredAsText="1"/>'
                          '</ignoredErrors></worksheet>')
    assert sheet.count("sortState") == 2 and 'topLeftCell="A5"' in sheet and "ignoredErrors" in sheet, sheet
    members["xl/worksheets/sheet1.xml"] = sheet.encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)

    out = xlsx_rows.delete_rows(buf.getvalue(), {"Accounts": [4]})

    with zipfile.ZipFile(io.BytesIO(out)) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert '<autoFilter ref="A1:C5"><sortState ref="A2:C5"><sortCondition descending="1" ref="C2:C5"/>' in xml
    assert '<protectedRanges><protectedRange sqref="B2:B5" name="all"/></protectedRanges>' in xml
    assert "ignoredError" not in xml  # its list held only the removed row's: an empty list is invalid
    assert re.search(r'<pane [^>]*topLeftCell="A4"', xml), xml
    ws = openpyxl.load_workbook(io.BytesIO(out))["Accounts"]
    assert [c.value for c in ws["A"]] == ["ACC-0001", "ACC-0002", "ACC-0003", "ACC-0005", "ACC-0006"]
