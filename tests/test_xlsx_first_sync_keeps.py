"""The first sync of a team's .xlsx adds sheetcrm's tabs and charts by patching the package:
what openpyxl does not model (Excel 2010 extensions such as a dropdown drawn from another tab
and sparklines, pictures and shapes, custom XML parts) keeps its bytes. Measured loss before
this: all of those, dropped by openpyxl's load and save (/work/tmp/s31/xlsx/measure.py)."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.starter import write_demo
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan, WorkbookError, xlsx_patch
from sheetcrm.workbook.xlsx import XlsxWorkbook
from test_xlsx_write import _members, libreoffice_resave

AS_OF = dt.date(2026, 11, 23)
X14 = "http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"
XM = "http://schemas.microsoft.com/office/excel/2006/main"
VALIDATION = (f'<ext uri="{{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}}" xmlns:x14="{X14}">'
              f'<x14:dataValidations count="1" xmlns:xm="{XM}"><x14:dataValidation type="list" allowBlank="1" '
              f'showErrorMessage="1"><x14:formula1><xm:f>Accounts!$B$2:$B$30</xm:f></x14:formula1>'
              f'<xm:sqref>Z2:Z200</xm:sqref></x14:dataValidation></x14:dataValidations></ext>').encode()
SPARKLINE = (f'<ext uri="{{05C60535-1F16-4fd2-B633-F4F36F0B64E0}}" xmlns:x14="{X14}">'
             f'<x14:sparklineGroups xmlns:xm="{XM}"><x14:sparklineGroup displayEmptyCellsAs="gap">'
             f'<x14:colorSeries rgb="FF376092"/><x14:sparklines><x14:sparkline><xm:f>Accounts!C2:E2</xm:f>'
             f'<xm:sqref>Y2</xm:sqref></x14:sparkline></x14:sparklines></x14:sparklineGroup></x14:sparklineGroups>'
             f'</ext>').encode()
SHAPE = (b'<xdr:twoCellAnchor><xdr:from><xdr:col>20</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>'
         b'<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>24</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>6'
         b'</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:sp macro="" textlink=""><xdr:nvSpPr><xdr:cNvPr id="2" '
         b'name="TextBox 1"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr><xdr:spPr><a:prstGeom prst="rect"><a:avLst/>'
         b'</a:prstGeom></xdr:spPr><xdr:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>Call the big ones first</a:t>'
         b'</a:r></a:p></xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor>')
DRAWING = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xdr:wsDr xmlns:xdr="http://schemas.'
           b'openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/'
           b'drawingml/2006/main">' + SHAPE + b'</xdr:wsDr>')


def _ext(xml: bytes, ext: bytes) -> bytes:
    if b"</extLst>" in xml:
        return xml.replace(b"</extLst>", ext + b"</extLst>", 1)
    return xml.replace(b"</worksheet>", b"<extLst>" + ext + b"</extLst></worksheet>", 1)


def decorate(data: bytes) -> bytes:
    """A LibreOffice-saved package with what Excel 2010+ and document tools add, as they write
    it: an x14 list validation drawn from Accounts on Opportunities, a sparkline on Accounts,
    a text box on Campaigns (the tab sheetcrm adds its ROI chart to), a custom XML part."""
    changed = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = dict(xlsx_patch.sheet_parts(z))
        changed[parts["Opportunities"]] = _ext(z.read(parts["Opportunities"]), VALIDATION)
        changed[parts["Accounts"]] = _ext(z.read(parts["Accounts"]), SPARKLINE)
        campaigns = z.read(parts["Campaigns"])
        assert b"<drawing" not in campaigns and xlsx_patch.rels_name(parts["Campaigns"]) not in z.NameToInfo
        at = re.search(rb"<(legacyDrawing|tableParts|extLst)\b|</worksheet>", campaigns).start()
        changed[parts["Campaigns"]] = campaigns[:at] + (
            b'<drawing xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
            b'r:id="rIdTeam"/>') + campaigns[at:]
        changed[xlsx_patch.rels_name(parts["Campaigns"])] = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rIdTeam" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/drawing" Target="../drawings/team.xml"/></Relationships>')
        changed["xl/drawings/team.xml"] = DRAWING
        changed["customXml/item1.xml"] = b'<?xml version="1.0"?><crmMeta xmlns="urn:team"><owner>Sales</owner></crmMeta>'
        types = z.read("[Content_Types].xml")
        changed["[Content_Types].xml"] = types.replace(b"</Types>", (
            b'<Override PartName="/xl/drawings/team.xml" '
            b'ContentType="application/vnd.openxmlformats-officedocument.drawing+xml"/></Types>'))
    return xlsx_patch.rewrite_zip(data, changed)


@pytest.fixture(scope="module")
def team_xlsx(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("team")
    write_demo(XlsxWorkbook(folder / "team.xlsx"), rows=20, seed=1, today=AS_OF)
    saved = libreoffice_resave(folder / "team.xlsx")
    path = folder / "decorated.xlsx"
    path.write_bytes(decorate(saved.read_bytes()))
    return path


@pytest.fixture
def team(team_xlsx, tmp_path) -> XlsxWorkbook:
    shutil.copyfile(team_xlsx, tmp_path / "crm.xlsx")
    return XlsxWorkbook(tmp_path / "crm.xlsx")


def _ext_block(data: bytes, tab: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read(dict(xlsx_patch.sheet_parts(z))[tab])
    return re.search(rb"<extLst>.*</extLst>", xml, re.S)[0]


def test_the_first_sync_adds_tabs_and_charts_and_keeps_every_part_of_the_team(team):
    before = team.path.read_bytes()
    assert xlsx_patch.rebuild_would_lose(before)  # what openpyxl's load and save would drop
    outcome = sync(team, Config(), as_of=AS_OF)
    after = team.path.read_bytes()
    assert outcome.plan.new_tabs and outcome.result and not outcome.result.warnings

    old, new = _members(before), _members(after)
    assert set(old) <= set(new)
    # Parts a first sync has no reason to change keep their stored bytes; the team's drawing
    # keeps its shape, and the ROI chart is added after it.
    with zipfile.ZipFile(io.BytesIO(before)) as z:
        written = {p for t, p in xlsx_patch.sheet_parts(z)} | {"xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                                                                "[Content_Types].xml", "xl/styles.xml",
                                                                "xl/drawings/team.xml"}
    assert {n for n in old if n not in written and old[n] != new[n]} == set()
    assert old["customXml/item1.xml"] == new["customXml/item1.xml"]
    assert _ext_block(before, "Opportunities") == _ext_block(after, "Opportunities")
    assert _ext_block(before, "Accounts") == _ext_block(after, "Accounts")
    with zipfile.ZipFile(io.BytesIO(after)) as z:
        drawing = z.read("xl/drawings/team.xml")
        assert drawing.startswith(DRAWING[:DRAWING.rindex(b"</xdr:wsDr>")]) and SHAPE in drawing
        parts = dict(xlsx_patch.sheet_parts(z))
        assert xlsx_patch.chart_titles(z, parts["Campaigns"]) == {"Campaign ROI"}
        assert xlsx_patch.chart_titles(z, parts["Pipeline"]) == {"Amount / Stage"}
        assert z.testzip() is None

    # sheetcrm's tabs are written: its header bold and frozen, its values there to read.
    snapshot = XlsxWorkbook(team.path).read()
    assert {"Pipeline", "Forecast", "Dashboard", "Validation"} <= set(snapshot.tabs)
    assert len(snapshot.tabs["Pipeline"].rows) > 2
    assert {"Pipeline", "Dashboard"} <= snapshot.owned
    ws = openpyxl.load_workbook(team.path)["Pipeline"]
    assert ws["A1"].font.b and ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1"

    # A later sync patches as before and still keeps them; no chart is added twice.
    sync(team, Config(), as_of=AS_OF + dt.timedelta(days=3))
    again = team.path.read_bytes()
    assert _ext_block(before, "Opportunities") == _ext_block(again, "Opportunities")
    with zipfile.ZipFile(io.BytesIO(again)) as z:
        assert xlsx_patch.chart_titles(z, dict(xlsx_patch.sheet_parts(z))["Campaigns"]) == {"Campaign ROI"}
        assert SHAPE in z.read("xl/drawings/team.xml")


def test_libreoffice_still_shows_the_teams_dropdown_and_sheetcrms_charts(team):
    sync(team, Config(), as_of=AS_OF)
    shown = libreoffice_resave(team.path)
    wb = openpyxl.load_workbook(shown)
    rules = [(str(v.sqref), v.formula1) for v in wb["Opportunities"].data_validations.dataValidation]
    assert ("Z2:Z200", "Accounts!$B$2:$B$30") in rules
    assert [len(wb[t]._charts) for t in ("Pipeline", "Forecast", "Campaigns")] == [1, 1, 1]
    with zipfile.ZipFile(shown) as z:
        assert any(b"Call the big ones first" in z.read(n) for n in z.namelist() if n.startswith("xl/drawings/"))
        assert any(b"x14:sparkline" in z.read(p) for _, p in xlsx_patch.sheet_parts(z) if p)


def test_a_write_the_patch_cannot_make_is_refused_when_a_rebuild_would_lose_the_teams_things(team, monkeypatch):
    """Should the patch ever give up (here forced), the whole-workbook rebuild is not used on a
    package holding what openpyxl drops: nothing is written, and one line says why."""
    def refuse(*args, **kwargs):
        raise xlsx_patch.NeedsRebuild("forced")

    monkeypatch.setattr(xlsx_patch, "patch_sheet", refuse)
    before = team.path.read_bytes()
    team.read()
    with pytest.raises(WorkbookError, match=r"nothing written.*would lose its .*Excel 2010 features.*pictures and "
                                            r"shapes") as e:
        team.write(Plan(writes=[CellWrite("Opportunities", 2, 26, "Acme")]))
    assert "\n" not in str(e.value)
    assert team.path.read_bytes() == before


def test_a_chart_the_tabs_drawing_cannot_take_is_left_out_with_a_warning(team, monkeypatch):
    def refuse(*args, **kwargs):
        raise xlsx_patch.NeedsRebuild("forced")

    monkeypatch.setattr(xlsx_patch, "add_charts", refuse)
    before = team.path.read_bytes()
    outcome = sync(team, Config(), as_of=AS_OF)
    assert outcome.result.warnings and all("not added" in w for w in outcome.result.warnings)
    assert any("Campaign ROI" in w for w in outcome.result.warnings)
    assert _ext_block(before, "Opportunities") == _ext_block(team.path.read_bytes(), "Opportunities")
    assert "Pipeline" in XlsxWorkbook(team.path).read().tabs


def test_a_refused_rebuild_names_the_cell_that_blocks_it_where_the_losses_are_and_what_to_do(tmp_path):
    """Found attacking the writer: a formula a person filled down on sheetcrm's Dashboard
    (Dashboard!B2:B3, stored as a shared formula) in a workbook with a comment on Opportunities
    made the sync refuse with "nothing written: this write would need the whole workbook saved
    again, which would lose its comment boxes and legacy shapes": no word of which cell blocked
    it, where the comments are, or what to do (in either language). The line names the cell,
    the tab of what would be lost and the remedy, which works."""
    import subprocess
    import sys

    from openpyxl.comments import Comment

    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Name", "Account", "Stage", "Amount", "Close Date"])
    ws.append(["OPP-0001", "Big", "Acme", "Proposal", 1000, dt.date(2027, 1, 1)])
    ws.append(["OPP-0002", "Small", "Acme", "Qualification", 10, dt.date(2027, 1, 1)])
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 12, 1))
    wb = openpyxl.load_workbook(path)
    wb["Opportunities"]["B2"].comment = Comment("call first", "ana")
    wb.save(path)
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
        dashboard = dict(xlsx_patch.sheet_parts(z))["Dashboard"]
    plain = parts[dashboard]
    filled = re.sub(rb'<c r="B2"([^>]*)>.*?</c>', rb'<c r="B2"\1><f t="shared" ref="B2:B3" si="0">C2*0</f><v>0</v></c>',
                    plain)
    filled = re.sub(rb'<c r="B3"([^>]*)>.*?</c>', rb'<c r="B3"\1><f t="shared" si="0"/><v>0</v></c>', filled)

    def save(sheet: bytes) -> None:
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in {**parts, dashboard: sheet}.items():
                z.writestr(name, data)

    save(filled)
    before = path.read_bytes()
    (tmp_path / "es.toml").write_text('locale = "es"\n', encoding="utf-8")
    lines = {}
    for lang, extra in (("en", []), ("es", ["--config", str(tmp_path / "es.toml")])):
        out = subprocess.run([sys.executable, "-m", "sheetcrm", "sync", "--workbook", str(path), *extra],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert (out.returncode, out.stdout) == (2, "")
        lines[lang] = out.stderr.strip()
        assert "\n" not in lines[lang] and path.read_bytes() == before
    assert "nothing written: Dashboard!B2 holds a formula filled down from it" in lines["en"]
    assert "comment boxes and legacy shapes (on Opportunities)" in lines["en"]
    assert lines["en"].endswith("clear Dashboard!B2 and the cells its formula fills, then sync again")
    assert "no se escribió nada: Dashboard!B2 tiene una fórmula extendida" in lines["es"]
    assert "(en Opportunities)" in lines["es"] and "borra Dashboard!B2" in lines["es"]
    # The remedy it gives: with the formula cleared the sync writes, the comment kept.
    save(re.sub(rb'<c r="B([23])"([^>]*)>.*?</c>', rb'<c r="B\1"\2/>', filled))
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "sync", "--workbook", str(path)],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert openpyxl.load_workbook(path)["Opportunities"]["B2"].comment.text == "call first"


def test_a_refused_rebuild_blames_no_tab_for_the_workbooks_own_stylesheet(tmp_path):
    """Found reviewing the refusal fix: a workbook with no stylesheet (as some exporters write
    it) and a comment was refused with "the tab Forecast is stored in a way sheetcrm cannot change
    in place": Forecast was only the tab being written when the stylesheet had no cell format to
    add a date's to. The workbook's own parts blame no tab."""
    from openpyxl.comments import Comment

    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Name", "Account", "Stage", "Amount", "Close Date"])
    ws.append(["OPP-0001", "Big", "Acme", "Proposal", 1000, "2027-01-01"])
    ws["B2"].comment = Comment("call first", "ana")
    wb.save(path)
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        rels = re.sub(rb'<Relationship [^>]*styles\.xml"\s*/>', b"", z.read("xl/_rels/workbook.xml.rels"))
        types = re.sub(rb'<Override [^>]*styles\.xml"[^>]*/>', b"", z.read("[Content_Types].xml"))
    path.write_bytes(xlsx_patch.rewrite_zip(data, {"xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types},
                                            removed=["xl/styles.xml"]))
    before = path.read_bytes()
    with pytest.raises(WorkbookError) as e:
        sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 12, 1))
    assert "nothing written: the workbook is stored in a way sheetcrm cannot change in place" in str(e.value)
    assert "the tab" not in str(e.value) and "(on Opportunities)" in str(e.value)
    assert path.read_bytes() == before
