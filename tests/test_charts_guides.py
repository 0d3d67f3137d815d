"""Charts and guides (dropdowns, computed-column protection) ride along with a sync's write:
added once, kept afterwards, never a reason to write on their own."""

from __future__ import annotations

import copy
import datetime as dt
import json

import openpyxl
import pytest
from openpyxl.chart import BarChart
from openpyxl.worksheet.datavalidation import DataValidation

from sheetcrm.config import DEFAULT_STAGES, Config, Stage
from sheetcrm.starter import write_demo
from sheetcrm.sync import plan_sync, sync
from sheetcrm.workbook import CellWrite, Chart, Guide, Plan
from sheetcrm.workbook.gsheets import COUNTER_KEY, PIN_KEY
from sheetcrm.workbook.xlsx import XlsxWorkbook
from test_gsheets import Traced, by_header, column_edit, deals_sheet

AS_OF = dt.date(2026, 11, 23)
LATER = AS_OF + dt.timedelta(days=40)  # moves days-in-stage, rotting and the forecast: a changing sync
CHARTS = {"Pipeline": ("Amount / Stage", 2), "Forecast": ("Forecast (all)", 5)}
STRUCTURE = {"addChart", "setDataValidation", "addProtectedRange", "deleteProtectedRange",
             "createDeveloperMetadata", "deleteDeveloperMetadata"}


def chart_title(chart) -> str:
    return "".join(run.t for p in chart.title.tx.rich.p for run in p.r or ())


def xlsx_charts(path) -> dict[str, list[tuple[str, int, str]]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [(chart_title(c), len(c.series), c.series[0].cat.numRef.f if c.series[0].cat.numRef
                        else c.series[0].cat.strRef.f) for c in ws._charts]
            for ws in wb.worksheets if ws._charts}


@pytest.fixture
def demo_xlsx(tmp_path):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    write_demo(book, rows=40, seed=1, today=AS_OF)
    return book


def test_xlsx_sync_adds_each_chart_once_and_later_syncs_keep_it(demo_xlsx):
    assert xlsx_charts(demo_xlsx.path) == {}
    sync(demo_xlsx, Config(), as_of=AS_OF)
    first = xlsx_charts(demo_xlsx.path)
    assert first == {"Pipeline": [("Amount / Stage", 2, "'Pipeline'!$A$2:$A$7")],
                     "Forecast": [("Forecast (all)", 5, "'Forecast'!$A$2:$A$7")],
                     "Campaigns": [("Campaign ROI", 1, "'Campaigns'!$B$2:$B$6")]}  # the demo's five campaigns
    wb = openpyxl.load_workbook(demo_xlsx.path)
    bars = wb["Pipeline"]._charts[0]
    assert isinstance(bars, BarChart)
    # Series named by the header row, values from the block under it.
    assert [s.tx.strRef.f for s in bars.series] == ["'Pipeline'!C1", "'Pipeline'!D1"]
    assert [s.val.numRef.f for s in bars.series] == ["'Pipeline'!$C$2:$C$7", "'Pipeline'!$D$2:$D$7"]

    assert sync(demo_xlsx, Config(), as_of=LATER).cells_written  # openpyxl loads and saves the file again
    assert xlsx_charts(demo_xlsx.path) == first


def test_xlsx_charts_alone_never_save_the_file(demo_xlsx):
    # The demo's workflow rules act over its first syncs (a task, then its deal's Next Step).
    for _n in range(4):
        if not sync(demo_xlsx, Config(), as_of=AS_OF).plan:
            break
    before = demo_xlsx.path.read_bytes()
    outcome = sync(demo_xlsx, Config(), as_of=AS_OF)
    assert outcome.plan.charts and outcome.plan.guides and not outcome.plan
    assert demo_xlsx.write(Plan(charts=[Chart("Accounts", "Extra", "line", 2, 5, 1, (2,), 8)])).total == 0
    assert demo_xlsx.path.read_bytes() == before
    assert "Accounts" not in xlsx_charts(demo_xlsx.path)


def test_xlsx_chart_over_an_empty_block_waits_for_rows(demo_xlsx):
    demo_xlsx.write(Plan(new_tabs=["Empty"], writes=[CellWrite("Empty", 1, 1, "Month")],
                         charts=[Chart("Empty", "Nothing yet", "line", 2, 1, 1, (2,), 4)]))
    assert "Empty" not in xlsx_charts(demo_xlsx.path)


def test_xlsx_dropdowns_replace_their_own_and_keep_the_teams(demo_xlsx):
    wb = openpyxl.load_workbook(demo_xlsx.path)
    own = DataValidation(type="whole", operator="between", formula1="0", formula2="100")
    own.add("A2:A50")
    wb["Opportunities"].add_data_validation(own)
    wb.save(demo_xlsx.path)

    sync(demo_xlsx, Config(), as_of=AS_OF)
    sync(demo_xlsx, Config(), as_of=LATER)
    ws = openpyxl.load_workbook(demo_xlsx.path)["Opportunities"]
    stage = next(c.column_letter for c in ws[1] if c.value == "Stage")
    found = [(str(v.sqref), v.type, v.formula1, v.errorStyle) for v in ws.data_validations.dataValidation]
    stages = ",".join(s.name for s in DEFAULT_STAGES)
    assert sorted(found) == sorted([("A2:A50", "whole", "0", None),
                                    (f"{stage}2:{stage}1048576", "list", f'"{stages}"', "warning")])


def test_xlsx_dropdowns_leave_the_cells_a_teams_rule_covers(demo_xlsx, tmp_path):
    """A team's own dropdown on part of Stage keeps those cells, at the first sync (openpyxl)
    and at a later one (the patch): sheetcrm's covers only the rest, since Excel reports
    overlapping validations as damaged content, and LibreOffice, opening such a file, dropped
    the team's rule for sheetcrm's."""
    from test_xlsx_write import libreoffice_resave

    wb = openpyxl.load_workbook(demo_xlsx.path)
    ws = wb["Opportunities"]
    stage = next(c.column_letter for c in ws[1] if c.value == "Stage")
    team = DataValidation(type="list", formula1='"Proposal,Negotiation"', showErrorMessage=True, error="Only ours")
    team.add(f"{stage}2:{stage}200")
    ws.add_data_validation(team)
    wb.save(demo_xlsx.path)

    def found(path) -> list[tuple[str, str]]:
        ws = openpyxl.load_workbook(path)["Opportunities"]
        return sorted((str(v.sqref), v.formula1) for v in ws.data_validations.dataValidation
                      if stage in str(v.sqref))

    stages = '"' + ",".join(s.name for s in DEFAULT_STAGES) + '"'
    wanted = [(f"{stage}201:{stage}1048576", stages), (f"{stage}2:{stage}200", '"Proposal,Negotiation"')]
    sync(demo_xlsx, Config(), as_of=AS_OF)
    assert found(demo_xlsx.path) == wanted
    assert sync(demo_xlsx, Config(), as_of=LATER).cells_written  # a patch of the sheet
    assert found(demo_xlsx.path) == wanted
    shown = openpyxl.load_workbook(libreoffice_resave(demo_xlsx.path))["Opportunities"]
    [rule] = [v for v in shown.data_validations.dataValidation if f"{stage}2" in v.sqref]
    assert rule.formula1 == '"Proposal,Negotiation"'


def test_dropdowns_list_the_values_as_a_spanish_team_writes_them():
    """Found at stop 39: a Spanish workbook's dropdowns listed the English keys (Proposal,
    Customer), so every stage or status the team typed ("Propuesta", "Cliente") was flagged by
    the app as not one of the listed values. Each value is listed as the team writes it: its
    column's own spelling ("Cualificación"), else the Spanish word; an English workbook keeps
    the English names."""
    from sheetcrm.workbook import Grid, Snapshot

    def dropdowns(accounts, deals, titles=("Cuentas", "Oportunidades")):
        snapshot = Snapshot(tabs={titles[0]: Grid(accounts), titles[1]: Grid(deals)})
        _, _, plan = plan_sync(snapshot, Config(), AS_OF)
        return {(g.tab, col): values for g in plan.guides for col, values in g.dropdowns}

    found = dropdowns([["ID", "Nombre", "Estado"], ["ACC-0001", "Acme", "Cliente"], ["ACC-0002", "Beta", "socio"]],
                      [["ID", "Nombre", "Cuenta", "Etapa", "Importe"],
                       ["OPP-0001", "A", "Acme", "Cualificación", 10]])
    assert found == {("Cuentas", 3): ("Prospecto", "Cliente", "Perdido", "socio"),
                     ("Oportunidades", 4): ("Prospección", "Cualificación", "Propuesta", "Negociación", "Ganada",
                                            "Perdida")}
    english = dropdowns([["ID", "Name", "Status"], ["ACC-0001", "Acme", "Customer"]],
                        [["ID", "Name", "Account", "Stage", "Amount"], ["OPP-0001", "A", "Acme", "Proposal", 10]],
                        ("Accounts", "Opportunities"))
    assert english[("Accounts", 3)] == ("Prospect", "Customer", "Churned", "Partner")
    assert english[("Opportunities", 4)] == tuple(s.name for s in DEFAULT_STAGES)


def test_leave_theirs_takes_out_every_kind_of_range():
    from sheetcrm.workbook import xlsx_patch

    wanted = [("D2:D1048576", '"A,B"'), ("E2:E1048576", '"C"'), ("F2:F1048576", '"D"')]
    assert xlsx_patch.leave_theirs(wanted, ["D5 D7:D9", "$B$1:$D$3", "E:E", "#REF!"]) == []
    assert xlsx_patch.leave_theirs(wanted, ["D5 D7:D9", "$B$1:$D$3", "E:E"]) == [
        ("D4 D6 D10:D1048576", '"A,B"'), ("F2:F1048576", '"D"')]
    assert xlsx_patch.leave_theirs(wanted, ["1:1", "A2:C9"]) == wanted
    # The Excel 2010 extension, where a list drawn from another tab lives, counts too.
    xml = (b'<worksheet><sheetData/><extLst><ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}">'
           b'<x14:dataValidations count="1"><x14:dataValidation type="list"><x14:formula1><xm:f>Lists!$A$1:$A$3'
           b'</xm:f></x14:formula1><xm:sqref>D2:D50</xm:sqref></x14:dataValidation></x14:dataValidations></ext>'
           b'</extLst></worksheet>')
    assert xlsx_patch.found_dropdowns(xml) == ([], ["D2:D50"])
    assert b'sqref="D51:D1048576"' in xlsx_patch.set_dropdowns(xml, wanted[:1])


def test_xlsx_dropdowns_a_person_removed_come_back_with_a_write_to_another_tab(demo_xlsx, tmp_path):
    """The write opens only tabs it writes or whose dropdowns the read found other than wanted
    (whether the read decoded the sheet or took it from the grid memo): one a person stripped
    gets them back though the write is elsewhere, and one left alone keeps its bytes."""
    import io
    import re
    import zipfile

    from sheetcrm.workbook import xlsx_patch

    def parts() -> dict[str, bytes]:
        with zipfile.ZipFile(demo_xlsx.path) as z:
            return {t: z.read(p) for t, p in xlsx_patch.sheet_parts(z) if p}

    def strip(tab: str) -> None:
        data = demo_xlsx.path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            part = dict(xlsx_patch.sheet_parts(z))[tab]
            xml = z.read(part)
        bare = re.sub(rb"<dataValidations\b.*?</dataValidations>", b"", xml, flags=re.S)
        assert bare != xml
        demo_xlsx.path.write_bytes(xlsx_patch.rewrite_zip(data, {part: bare}))

    def edit_a_deal() -> None:
        deals = demo_xlsx.read().tabs["Opportunities"]
        col = deals.header.index("Amount")
        row = next(r for r in range(1, len(deals.rows)) if isinstance(deals.cell(r, col), int))
        XlsxWorkbook(demo_xlsx.path).write(Plan(writes=[CellWrite("Opportunities", row + 1, col + 1,
                                                                  deals.cell(row, col) + 7)]))

    cache = tmp_path / "cache"
    for _ in range(4):
        if not sync(demo_xlsx, Config(), as_of=AS_OF, cache=cache).plan:
            break
    wanted = {t: xlsx_patch.own_dropdowns(x) for t, x in parts().items()}
    assert wanted["Leads"] and wanted["Tasks"]
    for memo in (cache, False):
        strip("Leads")
        edit_a_deal()
        before = parts()
        assert not xlsx_patch.own_dropdowns(before["Leads"])
        outcome = sync(demo_xlsx, Config(), as_of=AS_OF, cache=memo)
        assert "Leads" not in outcome.plan.cells_by_tab() and "Opportunities" in outcome.plan.cells_by_tab()
        after = parts()
        assert xlsx_patch.own_dropdowns(after["Leads"]) == wanted["Leads"]
        assert after["Tasks"] == before["Tasks"]  # not written, its dropdowns in place: untouched


# -- Google -----------------------------------------------------------------------------------


@pytest.fixture
def demo_google(emu):
    key = emu.create_spreadsheet("CRM", {"Sheet1": []})
    t = Traced(key)
    write_demo(t.book, rows=40, seed=1, today=AS_OF)
    t.reset()
    return key, t


def batch_kinds(emu, since: int) -> list[str]:
    """The kinds of the batches' requests since request `since`, but for the generation of the
    sequence marks that a write moving them carries (docs/concurrency.md, "Two syncs at once")
    and the column pins a write into a team's tab re-creates (its step 3)."""
    def key(body: dict) -> str | None:
        lookup = (body.get("dataFilter") or {}).get("developerMetadataLookup") or {}
        return (body.get("developerMetadata") or {}).get("metadataKey") or lookup.get("metadataKey")

    return [kind for r in emu.requests[since:] if r.path.endswith(":batchUpdate")
            for request in json.loads(r.request)["requests"] for kind, body in request.items()
            if key(body) not in (COUNTER_KEY, PIN_KEY)]


def stored(emu, key: str):
    return {s.title: s for s in emu.service.book(key).sheets}


def column_of(emu, key: str, tab: str, header: str) -> int:
    return emu.values(key, tab)[0].index(header)


def test_google_charts_are_added_once_in_the_sync_batch(emu, demo_google):
    key, t = demo_google
    since = len(emu.requests)
    sync(t.book, Config(), as_of=AS_OF)
    # With the read of the rules under the first guides' dropdowns, and the read-back of the
    # ID and computed cells written.
    assert t.counts() == (5, 1)
    assert batch_kinds(emu, since).count("addChart") == 3  # Pipeline, Forecast, Campaigns
    sheets = stored(emu, key)
    for tab, (title, n_series) in CHARTS.items():
        [chart] = sheets[tab].charts
        basic = chart["spec"]["basicChart"]
        assert (chart["spec"]["title"], len(basic["series"]), basic["chartType"]) == (title, n_series, "COLUMN")
        [domain] = basic["domains"][0]["domain"]["sourceRange"]["sources"]
        assert domain == {"sheetId": sheets[tab].id, "startRowIndex": 0, "endRowIndex": 7,
                          "startColumnIndex": 0, "endColumnIndex": 1}
        anchor = chart["position"]["overlayPosition"]["anchorCell"]
        assert anchor["sheetId"] == sheets[tab].id
        assert anchor["columnIndex"] < sheets[tab].column_count  # inside the grid, which has no spare columns
    # The tabs sheetcrm made are as wide as what they hold (or their chart's anchor): Google
    # counts every cell of a grid against its 10M-cell cap.
    made = {"Pipeline": 6, "Forecast": 11, "Stage History": 5, "Lead Status History": 4}
    assert {tab: sheets[tab].column_count for tab in made} == made
    assert all(sheets[tab].row_count >= 100 for tab in made)  # rows to type into below
    charts_before = {tab: sheets[tab].charts for tab in CHARTS}

    t.reset()
    since = len(emu.requests)
    assert sync(t.book, Config(), as_of=LATER).cells_written
    assert t.counts() == (4, 1)  # with the read-back of the ID and computed cells written
    kinds = batch_kinds(emu, since)
    assert kinds and not STRUCTURE & set(kinds)
    assert {tab: stored(emu, key)[tab].charts for tab in CHARTS} == charts_before

    # What the demo's workflow rules made at that sync shows at the next (a task's deal's Next Step).
    sync(t.book, Config(), as_of=LATER)
    t.reset()
    assert not sync(t.book, Config(), as_of=LATER).plan
    assert t.counts() == (2, 0)  # metadata (charts and guides included) + values, no write


def test_google_guides_set_dropdowns_and_warning_only_protection(emu, demo_google):
    key, t = demo_google
    outcome = sync(t.book, Config(), as_of=AS_OF)
    sheets = stored(emu, key)
    opportunities = sheets["Opportunities"]

    stage = column_of(emu, key, "Opportunities", "Stage")
    assert opportunities.cell(0, stage) is None or "dataValidation" not in opportunities.cell(0, stage)
    rules = [(opportunities.cell(r, stage) or {}).get("dataValidation") for r in range(1, opportunities.row_count)]
    assert rules == [{"condition": {"type": "ONE_OF_LIST",
                                    "values": [{"userEnteredValue": s.name} for s in DEFAULT_STAGES]},
                      "inputMessage": "sheetcrm: pick one of the listed values; another value is kept and "
                                      "reported on the Validation tab.",
                      "showCustomUi": True, "strict": False}] * (opportunities.row_count - 1)
    status = column_of(emu, key, "Leads", "Status")
    listed = sheets["Leads"].cell(5, status)["dataValidation"]["condition"]["values"]
    assert [v["userEnteredValue"] for v in listed] == ["New", "Contacted", "Qualified", "Unqualified", "Converted"]

    [guide] = [g for g in outcome.plan.guides if g.tab == "Opportunities"]
    [protection] = opportunities.protected_ranges
    assert protection["warningOnly"] is True
    assert protection["description"].startswith("sheetcrm: computed columns ")
    assert (protection["range"]["startColumnIndex"] + 1, protection["range"]["endColumnIndex"]) == \
        (min(guide.computed_cols), max(guide.computed_cols))
    # Accounts: dropdowns, and two computed columns side by side: From Lead, added by the demo's
    # conversion, and Segments (the demo's segments).
    [made] = sheets["Accounts"].protected_ranges
    lead_col = column_of(emu, key, "Accounts", "From Lead")
    assert column_of(emu, key, "Accounts", "Segments") == lead_col + 1
    assert (made["range"]["startColumnIndex"], made["range"]["endColumnIndex"]) == (lead_col, lead_col + 2)

    t.reset()
    since = len(emu.requests)
    assert sync(t.book, Config(), as_of=LATER).cells_written
    assert not STRUCTURE & set(batch_kinds(emu, since))
    assert stored(emu, key)["Opportunities"].protected_ranges == [protection]


def test_google_a_new_guide_version_replaces_only_sheetcrms_own(emu, demo_google):
    key, t = demo_google
    sync(t.book, Config(), as_of=AS_OF)
    opportunities = stored(emu, key)["Opportunities"].id
    emu.apply(key, [{"addProtectedRange": {"protectedRange": {
        "description": "finance owns column A", "range": {"sheetId": opportunities, "startColumnIndex": 0,
                                                           "endColumnIndex": 1}}}}])
    [old] = [p["description"] for p in stored(emu, key)["Opportunities"].protected_ranges
             if p["description"].startswith("sheetcrm")]

    config = Config(stages=[*DEFAULT_STAGES[:1], Stage(name="Discovery", probability=15), *DEFAULT_STAGES[1:]])
    assert sync(t.book, config, as_of=AS_OF).cells_written
    sheet = stored(emu, key)["Opportunities"]
    descriptions = sorted(p["description"] for p in sheet.protected_ranges)
    assert len(descriptions) == 2 and descriptions[0] == "finance owns column A"
    assert descriptions[1].startswith("sheetcrm: computed columns ") and descriptions[1] != old
    stage = column_of(emu, key, "Opportunities", "Stage")
    values = sheet.cell(1, stage)["dataValidation"]["condition"]["values"]
    assert values[1] == {"userEnteredValue": "Discovery"}
    marks = [m for m in emu.service.book(key).developer_metadata
             if m["location"].get("sheetId") == sheet.id and m["metadataKey"] == "sheetcrm.guide"]
    assert len(marks) == 1


def test_google_a_teams_own_rule_stays_and_sheetcrms_goes_around_it(emu):
    """A cell holds one rule: a team's strict dropdown (with its help text) on some Stage
    cells keeps them, at the first guide and at a new version; sheetcrm's goes on the other
    rows, and a new version replaces only sheetcrm's own, also one an earlier version set
    without help text."""
    rows = [["ID", "Name", "Account", "Stage", "Amount"], ["", "A", "Acme", "Proposal", 1000],
            ["", "B", "Acme", "Negotiation", 2000], ["", "C", "Acme", "Proposal", 3000]]
    key = emu.create_spreadsheet("CRM", {"Opportunities": rows, "Accounts": [["ID", "Name"], ["", "Acme"]]})
    sheet_id = stored(emu, key)["Opportunities"].id
    theirs = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "Proposal"},
                                                               {"userEnteredValue": "Negotiation"}]},
              "strict": True, "showCustomUi": True, "inputMessage": "Only the two stages our pipeline uses"}
    emu.apply(key, [{"setDataValidation": {"range": {"sheetId": sheet_id, "startRowIndex": 2, "endRowIndex": 3,
                                                     "startColumnIndex": 3, "endColumnIndex": 4}, "rule": theirs}}])
    t = Traced(key)

    def rules() -> list[tuple[str, ...] | None]:
        sheet = stored(emu, key)["Opportunities"]
        out = []
        for r in range(1, 6):
            rule = (sheet.cell(r, 3) or {}).get("dataValidation")
            out.append(rule if rule == theirs else rule and tuple(v["userEnteredValue"]
                                                                  for v in rule["condition"]["values"]))
        return out

    sync(t.book, Config(), as_of=AS_OF)
    six = tuple(s.name for s in DEFAULT_STAGES)
    assert rules() == [six, theirs, six, six, six]

    # A rule as earlier versions set it (no help text) is sheetcrm's, on a tab with its guide mark.
    legacy = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "Old"}]},
              "showCustomUi": True, "strict": False}
    emu.apply(key, [{"setDataValidation": {"range": {"sheetId": sheet_id, "startRowIndex": 4, "endRowIndex": 5,
                                                     "startColumnIndex": 3, "endColumnIndex": 4}, "rule": legacy}}])
    config = Config(stages=[*DEFAULT_STAGES[:1], Stage(name="Discovery", probability=15), *DEFAULT_STAGES[1:]])
    sync(t.book, config, as_of=LATER)
    seven = (six[0], "Discovery", *six[1:])
    assert rules() == [seven, theirs, seven, seven, seven]


def rules_by_header(emu, key: str, tab: str) -> dict[str, set]:
    """Each column's validation rules below the header, by its header: the listed values of
    each distinct rule (None for a cell without one)."""
    sheet = stored(emu, key)[tab]
    header = emu.values(key, tab)[0]
    out: dict[str, set] = {}
    for c in range(sheet.column_count):
        found = set()
        for r in range(1, sheet.row_count):
            rule = (sheet.cell(r, c) or {}).get("dataValidation")
            found.add(rule and tuple(v["userEnteredValue"] for v in rule["condition"]["values"]))
        out[header[c] if c < len(header) and header[c] else f"#{c}"] = found
    return out


def guide_marks(emu, key: str, tab: str) -> list:
    sheet_id = stored(emu, key)[tab].id
    return [m for m in emu.service.book(key).developer_metadata
            if m["location"].get("sheetId") == sheet_id and m["metadataKey"] == "sheetcrm.guide"]


@pytest.mark.parametrize("when", ["re-read", "window"])
def test_google_a_column_inserted_before_the_write_gets_no_dropdown_meant_for_another(emu, when):
    """Dropdowns and the computed columns' protection are set by column position, like the
    cells. A column a person inserts before Stage between the sync's read and its write (before
    the key re-read, or after it and before the read of the rules under the dropdowns) would
    have taken Stage's dropdown and moved the protection onto other columns: the header row
    read with those rules shows the edit, the guide is left for the next sync, and the sync
    says so; the next sync sets it under the right headers."""
    key = deals_sheet(emu)
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    [guide] = [g for g in plan.guides if g.tab == "Opportunities"]
    assert guide.dropdowns and guide.computed_cols

    def person(e):
        column_edit(e, key, "insert before Stage")

    if when == "window":
        emu.between_requests(lambda e: e.between_requests(person))   # after the key re-read
    else:
        emu.between_requests(person)                                 # before it
    t.reset()
    result = t.book.write(plan)
    # Key re-read, the rules under the dropdowns with the header row, the read-back; the batch
    # (and, in the window, the cells put back): no request added to find the edit.
    assert t.counts() == (3, 2 if when == "window" else 1)
    assert any(line.startswith("Opportunities: a column was inserted, deleted, moved or renamed since sheetcrm "
                               "read the sheet; its dropdowns") for line in result.warnings), result.warnings
    sheet = stored(emu, key)["Opportunities"]
    assert rules_by_header(emu, key, "Opportunities")["#3"] == {None}   # the person's new column
    assert all(found == {None} for found in rules_by_header(emu, key, "Opportunities").values())
    assert sheet.protected_ranges == [] and guide_marks(emu, key, "Opportunities") == []

    # The next syncs set the guide under the headers it is for, and leave the person's column alone.
    for _ in range(2):
        sync(t.book, Config(), as_of=AS_OF)
    found = rules_by_header(emu, key, "Opportunities")
    assert found["Stage"] == {tuple(s.name for s in DEFAULT_STAGES)}
    assert found["#3"] == {None} and found["Name"] == {None}
    header = emu.values(key, "Opportunities")[0]
    [protection] = stored(emu, key)["Opportunities"].protected_ranges
    protected = header[protection["range"]["startColumnIndex"]:protection["range"]["endColumnIndex"]]
    assert "Probability %" in protected and not {"Stage", "Amount", "Notes", ""} & set(protected)
    assert len(guide_marks(emu, key, "Opportunities")) == 1
    t.reset()
    since = len(emu.requests)
    assert not sync(t.book, Config(), as_of=AS_OF).plan
    # The guide in place: no read of its rules again (tabs, values, and the number formats of
    # Probability %, whose 0.5 may be a percent-formatted number: see "What cells show").
    assert [x.url.split("?")[0].rsplit("/", 1)[-1] for x in t.trace] == [key, "values:batchGet", key]
    assert not [r for r in emu.requests[since:] if "dataValidation" in str(r.query)]


def test_google_a_guide_whose_columns_did_not_move_is_set(emu):
    """The check costs no request of its own, and an edit right of the guide's columns (or a
    plan with no guarded write, hence no key re-read) leaves it to be set as planned."""
    key = emu.create_spreadsheet("CRM", {"Deals": [["Month", "Amount", "Stage", "Score"], ["2026-11", 5, "A", 1]]})
    t = Traced(key)
    t.book.read()
    plan = Plan(writes=[CellWrite("Deals", 3, 1, "2026-12")], guides=[Guide("Deals", ((3, ("A", "B")),), (4,))])
    sheet_id = stored(emu, key)["Deals"].id
    emu.between_requests(lambda e: e.apply(key, [{"insertDimension": {"range": {
        "sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 4, "endIndex": 5}}}]))
    t.reset()
    result = t.book.write(plan)
    assert t.counts() == (1, 1) and not result.warnings   # the read of the rules, the batch
    assert rules_by_header(emu, key, "Deals")["Stage"] == {("A", "B")}
    [protection] = stored(emu, key)["Deals"].protected_ranges
    assert (protection["range"]["startColumnIndex"], protection["range"]["endColumnIndex"]) == (3, 4)

    # The same plan's guide on a tab where a column went in before Stage: left, and said.
    key = emu.create_spreadsheet("CRM", {"Deals": [["Month", "Amount", "Stage", "Score"], ["2026-11", 5, "A", 1]]})
    t = Traced(key)
    t.book.read()
    sheet_id = stored(emu, key)["Deals"].id
    emu.between_requests(lambda e: e.apply(key, [{"insertDimension": {"range": {
        "sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}}}]))
    result = t.book.write(plan)
    assert [line.split(";")[0] for line in result.warnings] == [
        "Deals: a column was inserted, deleted, moved or renamed since sheetcrm read the sheet"]
    assert all(found == {None} for found in rules_by_header(emu, key, "Deals").values())
    assert stored(emu, key)["Deals"].protected_ranges == [] and guide_marks(emu, key, "Deals") == []


def test_google_dropdowns_start_under_a_header_below_title_rows(emu):
    """Found at stop 39: under a header in row 3 the dropdown went on from row 2, on the header
    "Stage" itself (shown off its list) and the blank row above. It starts under the header,
    and a guide set so before is taken off the rows down to the header."""
    key = emu.create_spreadsheet("CRM", {"Deals": [["Deals 2026"], [], ["Month", "Amount", "Stage"],
                                                   ["2026-11", 5, "A"], ["2026-12", 6, "B"]]})

    def ruled() -> list[int]:
        sheet = stored(emu, key)["Deals"]
        return [r for r in range(sheet.row_count) if (sheet.cell(r, 2) or {}).get("dataValidation")]

    t = Traced(key)
    t.book.read()
    t.book.write(Plan(writes=[CellWrite("Deals", 4, 1, "2026-10")], guides=[Guide("Deals", ((3, ("A", "B")),), ())],
                      header_rows={"Deals": 3}))
    rows = stored(emu, key)["Deals"].row_count
    assert ruled() == list(range(1, rows))  # a guide of the rows from the second down, as before
    t.book.read()
    t.book.write(Plan(writes=[CellWrite("Deals", 4, 1, "2026-09")],
                      guides=[Guide("Deals", ((3, ("A", "B")),), (), first_row=4)], header_rows={"Deals": 3}))
    assert ruled() == list(range(3, rows))


def test_google_a_removed_protection_is_not_forced_back(emu, demo_google):
    key, t = demo_google
    sync(t.book, Config(), as_of=AS_OF)
    [protection] = stored(emu, key)["Leads"].protected_ranges
    emu.apply(key, [{"deleteProtectedRange": {"protectedRangeId": protection["protectedRangeId"]}}])
    assert sync(t.book, Config(), as_of=LATER).cells_written
    assert stored(emu, key)["Leads"].protected_ranges == []


def test_google_a_lost_answer_retried_adds_no_second_chart_or_guide(emu):
    key = emu.create_spreadsheet("CRM", {"Deals": [["Month", "Amount", "Stage", "Score"], ["2026-11", 5, "A", 1]]})
    t = Traced(key)
    t.book.read()
    plan = Plan(writes=[CellWrite("Deals", 3, 1, "2026-12"), CellWrite("Deals", 3, 2, 7)],
                charts=[Chart("Deals", "Amount by month", "line", 2, 3, 1, (2,), 6)],
                guides=[Guide("Deals", ((3, ("A", "B")),), (4,))])
    # The batch's answer is lost: the request after the read of the rules under the dropdowns.
    emu.between_requests(lambda e: e.between_requests(lambda e: e.drop_next(1, after_applying=True)))
    assert t.book.write(plan).written == {"Deals": 2}
    # The retry re-reads the sheet first, finds the chart and guide in place, and adds neither again.
    assert [x.status for x in t.trace if x.kind == "write"] == [None, 200]
    sheet = stored(emu, key)["Deals"]
    assert [c["spec"]["title"] for c in sheet.charts] == ["Amount by month"]
    assert sheet.charts[0]["spec"]["basicChart"]["chartType"] == "LINE"
    assert len(sheet.protected_ranges) == 1
    assert emu.values(key, "Deals")[2] == ["2026-12", 7]


def test_google_chart_on_a_tab_created_in_the_same_batch(emu):
    key = emu.create_spreadsheet("CRM", {"Sheet1": []})
    t = Traced(key)
    t.book.read()
    rows = [["Month", "Amount"], ["2026-11", 5], ["2026-12", 7]]
    plan = Plan(new_tabs=["Trend"], writes=[CellWrite("Trend", r, c, v) for r, row in enumerate(rows, 1)
                                            for c, v in enumerate(row, 1)],
                charts=[Chart("Trend", "Amount by month", "line", 2, 3, 1, (2,), 4),
                        Chart("Trend", "Not yet", "line", 2, 1, 1, (2,), 8)])
    t.book.write(plan)
    sheet = stored(emu, key)["Trend"]
    assert [c["spec"]["title"] for c in sheet.charts] == ["Amount by month"]
    assert (sheet.row_count, sheet.column_count) == (100, 4)  # the chart's anchor, column D, inside the grid
    [series] = sheet.charts[0]["spec"]["basicChart"]["series"]
    assert series["series"]["sourceRange"]["sources"][0]["sheetId"] == sheet.id


# -- a chart drawn before follows its rows ------------------------------------------------------

FORECAST_CHART = "Forecast (all)"


def forecast_plan(months: int, *, rows_before: int = 0, extra: tuple[CellWrite, ...] = ()) -> Plan:
    """Forecast's team block of `months` rows (rows 2..months+1) and its chart; the rows a
    longer block had below it cleared, as a sync clears them."""
    writes = [CellWrite("Forecast", 1, c, h) for c, h in enumerate(["Month", "Won", "Commit"], 1)]
    writes += [CellWrite("Forecast", r, c, r * c) for r in range(2, months + 2) for c in (1, 2, 3)]
    writes += [CellWrite("Forecast", r, c, None) for r in range(months + 2, rows_before + 2) for c in (1, 2, 3)]
    new = [] if rows_before else ["Forecast"]  # a sync marks a tab it creates, once
    return Plan(new_tabs=new, mark_owned=new, writes=[*writes, *extra],
                charts=[Chart("Forecast", FORECAST_CHART, "column", 2, months + 1, 1, (2, 3), 5)])


def chart_refs(path, tab: str = "Forecast") -> dict[str, list[str]]:
    ws = openpyxl.load_workbook(path)[tab]
    return {chart_title(c): sorted({s.cat.numRef.f for s in c.series} | {s.val.numRef.f for s in c.series})
            for c in ws._charts}


def add_persons_chart(path) -> None:
    """A person's own chart on sheetcrm's Forecast tab, over the first block's rows."""
    from openpyxl.chart import Reference

    wb = openpyxl.load_workbook(path)
    ws = wb["Forecast"]
    mine = BarChart()
    mine.title = "Mine"
    mine.add_data(Reference(ws, min_col=2, max_col=3, min_row=1, max_row=7), titles_from_data=True)
    mine.set_categories(Reference(ws, min_col=1, min_row=2, max_row=7))
    ws.add_chart(mine, "H20")
    wb.save(path)


SIX = ["'Forecast'!$A$2:$A$7", "'Forecast'!$B$2:$B$7", "'Forecast'!$C$2:$C$7"]
THREE = ["'Forecast'!$A$2:$A$4", "'Forecast'!$B$2:$B$4", "'Forecast'!$C$2:$C$4"]


def test_xlsx_chart_follows_fewer_rows_and_a_persons_chart_is_kept(tmp_path):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    book.read()
    book.write(forecast_plan(6))
    add_persons_chart(book.path)
    assert chart_refs(book.path) == {FORECAST_CHART: SIX, "Mine": SIX}

    book.read()
    book.write(forecast_plan(3, rows_before=6))  # the patch path
    assert chart_refs(book.path) == {FORECAST_CHART: THREE, "Mine": SIX}

    # A write whose chart already fits leaves the chart part's bytes as they are.
    before = openpyxl_chart_parts(book.path)
    book.read()
    book.write(forecast_plan(3, rows_before=3, extra=(CellWrite("Forecast", 2, 2, 99),)))
    assert openpyxl_chart_parts(book.path) == before


def openpyxl_chart_parts(path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("xl/charts/")}


def test_xlsx_chart_follows_its_rows_when_the_workbook_is_rebuilt(tmp_path):
    import re
    import zipfile

    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    book.read()
    book.write(forecast_plan(6))
    # A filled-down (shared) formula in H2:H3, as Excel writes one: writing its master cell is
    # what the patcher leaves to a rebuild through openpyxl.
    with zipfile.ZipFile(book.path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    sheet = next(n for n, x in parts.items() if n.startswith("xl/worksheets/sheet") and b"Commit" in x)
    for r, f in ((2, b'<f t="shared" ref="H2:H3" si="0">B2*2</f>'), (3, b'<f t="shared" si="0"/>')):
        parts[sheet] = re.sub(rb'(<row\b[^>]*\br="%d"[^>]*>.*?)(</row>)' % r,
                              lambda m: m[1] + b'<c r="H%d">%s<v>0</v></c>' % (r, f) + m[2], parts[sheet], flags=re.S)
    assert parts[sheet].count(b'si="0"') == 2
    with zipfile.ZipFile(book.path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)

    book.read()
    book.write(forecast_plan(3, rows_before=6, extra=(CellWrite("Forecast", 2, 8, 5),)))
    assert openpyxl.load_workbook(book.path)["Forecast"]["H2"].value == 5  # rebuilt, not patched
    assert chart_refs(book.path) == {FORECAST_CHART: THREE}


def google_rows(chart: dict) -> list[tuple[int, int, int]]:
    basic = chart["spec"]["basicChart"]
    blocks = [d["domain"] for d in basic["domains"]] + [s["series"] for s in basic["series"]]
    return [(s.get("startRowIndex", 0), s["endRowIndex"], s["startColumnIndex"])
            for b in blocks for s in b["sourceRange"]["sources"]]


def test_google_chart_follows_fewer_rows_in_the_same_batch_and_a_persons_chart_is_kept(emu):
    key = emu.create_spreadsheet("CRM", {"Sheet1": []})
    t = Traced(key)
    t.book.read()
    t.book.write(forecast_plan(6))
    forecast = stored(emu, key)["Forecast"]
    [ours] = forecast.charts
    # A person's chart on sheetcrm's tab over the same block, the same title included but
    # another column: not sheetcrm's to move.
    mine = copy.deepcopy(ours)
    mine["chartId"] = 777
    mine["spec"]["basicChart"]["series"][1]["series"]["sourceRange"]["sources"][0].update(
        startColumnIndex=3, endColumnIndex=4)
    emu.apply(key, [{"addChart": {"chart": mine}}])
    six = [(0, 7, 0), (0, 7, 1), (0, 7, 2)]
    assert [google_rows(c) for c in stored(emu, key)["Forecast"].charts] == [six, [(0, 7, 0), (0, 7, 1), (0, 7, 3)]]

    t.book.read()
    t.reset()
    since = len(emu.requests)
    t.book.write(forecast_plan(3, rows_before=6))
    assert t.counts() == (0, 1)  # one batch, no request added: the update rides in it
    assert batch_kinds(emu, since).count("updateChartSpec") == 1
    ours_now, mine_now = stored(emu, key)["Forecast"].charts
    assert google_rows(ours_now) == [(0, 4, 0), (0, 4, 1), (0, 4, 2)]
    assert {k: v for k, v in ours_now["spec"].items() if k != "basicChart"} == \
        {k: v for k, v in ours["spec"].items() if k != "basicChart"}
    assert google_rows(mine_now) == [(0, 7, 0), (0, 7, 1), (0, 7, 3)]

    # Rows as they were: the chart already fits, nothing to update.
    t.book.read()
    since = len(emu.requests)
    t.book.write(forecast_plan(3, rows_before=3, extra=(CellWrite("Forecast", 2, 2, 99),)))
    assert "updateChartSpec" not in batch_kinds(emu, since)


def _rename_charts(path, name: str) -> None:
    """Every chart's name in the drawings (cNvPr), as a person's chart has its own."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    for part in [n for n in parts if n.startswith("xl/drawings/drawing")]:
        parts[part] = re.sub(rb'(<(?:\w+:)?cNvPr\b[^>]*?\bname=")[^"]*(")', rb"\g<1>" + name.encode() + rb"\2",
                             parts[part])
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for part, data in parts.items():
            z.writestr(part, data)


@pytest.mark.parametrize("drawn_by_sheetcrm", [True, False])
def test_xlsx_chart_on_a_tab_sheetcrm_does_not_own_follows_only_if_sheetcrm_drew_it(tmp_path, drawn_by_sheetcrm):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    book.read()
    first = forecast_plan(6)
    first.mark_owned = []  # a team's tab (as Campaigns is) where sheetcrm draws a chart
    book.write(first)
    if not drawn_by_sheetcrm:
        # The same title and columns, but a person's chart (or one drawn before sheetcrm named its own).
        _rename_charts(book.path, "Chart 1")
    book.read()
    book.write(forecast_plan(3, rows_before=6))
    assert chart_refs(book.path) == {FORECAST_CHART: THREE if drawn_by_sheetcrm else SIX}
