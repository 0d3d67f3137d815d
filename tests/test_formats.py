"""Formats in the sheet: number formats, widths, frozen bold headers and one-page-wide printing
of what sheetcrm writes, on real .xlsx files (and as LibreOffice shows and prints them) and on
Google through the emulator over HTTP; applied only where missing, a person's format kept."""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import re
import shutil
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.layout import number_format
from sheetcrm.render import fraction
from sheetcrm import show
from sheetcrm.starter import write_demo
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook
from test_gsheets import Traced
from test_xlsx_write import AS_SHOWN, libreoffice_shows, soffice
from books import xlsx

AS_OF = dt.date(2026, 11, 23)


def test_number_formats_follow_the_locale_and_the_currency():
    assert number_format("money", "USD", "en").pattern == '"$"#,##0.00'
    assert number_format("money", "EUR", "es").pattern == '#,##0.00"\xa0€"'
    assert number_format("money", "JPY", "en").pattern == '"¥"#,##0'  # no minor unit
    assert number_format("ratio", "USD", "en").pattern == "0.0%"
    assert number_format("ratio", "USD", "es") == number_format("ratio", "EUR", "es")
    assert number_format("text", "USD", "en") is None
    assert fraction(Decimal("63.15")) == Decimal("0.632") and fraction(None) is None


@pytest.fixture
def synced(tmp_path):
    book = XlsxWorkbook(tmp_path / "demo.xlsx")
    write_demo(book, rows=60, seed=3, today=AS_OF)
    # The demo's workflow rules act at its first two syncs; what they made shows at the third (as `sheetcrm demo` runs).
    for _n in range(3):
        sync(book, Config(), as_of=AS_OF)
    return book


def _column(ws, header: str) -> int:
    return [c.value for c in ws[1]].index(header) + 1


def test_xlsx_gets_the_formats_and_a_second_sync_writes_nothing(synced):
    wb = openpyxl.load_workbook(synced.path)
    pipeline, dashboard, opps = wb["Pipeline"], wb["Dashboard"], wb["Opportunities"]
    assert pipeline["C2"].number_format == '"$"#,##0.00' and pipeline["B2"].number_format == "#,##0"
    win = next(row for row in dashboard.iter_rows(min_row=2) if row[0].value == "Win rate")
    assert 0 < win[1].value < 1 and win[1].number_format == "0.0%"
    assert dashboard["B2"].number_format == "yyyy-mm-dd"  # the Date row
    prob = _column(opps, "Probability %")
    assert all(0 <= c.value <= 1 and c.number_format == "0.0%"
               for c in next(opps.iter_cols(min_col=prob, max_col=prob, min_row=2)) if c.value is not None)
    last = openpyxl.utils.get_column_letter(_column(opps, "Last Activity"))
    assert opps.column_dimensions[last].width >= 12  # a date is never "###"
    for ws in (dashboard, pipeline, wb["Forecast"], wb["Validation"]):
        assert ws.freeze_panes == "A2" and ws["A1"].font.b
        assert ws.page_setup.fitToWidth == 1 and ws.page_setup.fitToHeight == 0
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.orientation == "landscape"
        assert ws.print_title_rows == "$1:$1"
    before = synced.path.read_bytes()
    assert sync(synced, Config(), as_of=AS_OF).result is None
    assert synced.path.read_bytes() == before


def test_xlsx_a_persons_format_and_width_on_a_computed_column_survive(synced):
    wb = openpyxl.load_workbook(synced.path)
    opps = wb["Opportunities"]
    days = _column(opps, "Days in Stage")
    letter = openpyxl.utils.get_column_letter(days)
    for c in next(opps.iter_cols(min_col=days, max_col=days, min_row=2)):
        c.number_format = '0" d"'
    opps.column_dimensions[letter].width = 31
    others = {(ws.title, c.coordinate): (c.value, c.number_format) for ws in wb.worksheets
              for row in ws.iter_rows() for c in row if ws.title == "Accounts"}
    wb.save(synced.path)
    outcome = sync(synced, Config(), as_of=AS_OF + dt.timedelta(days=3))  # every Days in Stage moves
    assert outcome.result and outcome.result.written.get("Opportunities")
    wb = openpyxl.load_workbook(synced.path)
    opps = wb["Opportunities"]
    cells = [c for c in next(opps.iter_cols(min_col=days, max_col=days, min_row=2)) if c.value is not None]
    assert cells and all(c.number_format == '0" d"' for c in cells)
    assert opps.column_dimensions[letter].width == 31
    assert {(ws.title, c.coordinate): (c.value, c.number_format) for ws in wb.worksheets
            for row in ws.iter_rows() for c in row if ws.title == "Accounts"} == others


def test_xlsx_a_persons_built_in_format_on_a_computed_column_survives_a_new_value(tmp_path):
    """Found reviewing the Dashboard restyle: the patcher read a built-in number format (Excel's
    Number buttons: `#,##0` is built-in id 3) as the code it stands for, and `#,##0` is also
    sheetcrm's count code, so a person's Weighted Amount shown without decimals took sheetcrm's
    "#,##0.00" back as soon as its value changed (1,500 shown 1,500.00), the unchanged row kept
    the person's. On a people's tab a built-in format is the person's."""
    path = xlsx(tmp_path / "crm.xlsx", CHANGE_TABS)
    sync(XlsxWorkbook(path), Config(currency="USD"), as_of=AS_OF)
    wb = openpyxl.load_workbook(path)
    opps = wb["Opportunities"]
    weighted = _column(opps, "Weighted Amount")
    for row in (2, 3):
        opps.cell(row, weighted).number_format = "#,##0"
    opps["F3"] = 3000  # OPP-0002's Weighted Amount becomes 1,500
    wb.save(path)
    sync(XlsxWorkbook(path), Config(currency="USD"), as_of=AS_OF)
    opps = openpyxl.load_workbook(path)["Opportunities"]
    assert [(opps.cell(r, weighted).value, opps.cell(r, weighted).number_format) for r in (2, 3)] == \
        [(1000, "#,##0"), (1500, "#,##0")]


# -- LibreOffice: what a person sees and prints ------------------------------------------------

SUMMARIES = {"en": ("Dashboard", "Pipeline", "Forecast", "Validation"),
             "es": ("Panel", "Embudo", "Previsión", "Validación")}


def _demo(folder: Path, locale: str) -> Path:
    book = XlsxWorkbook(folder / f"{locale}.xlsx")  # LibreOffice names each tab's csv "<stem>-<tab>.csv"
    write_demo(book, rows=200, seed=7, today=AS_OF)
    sync(book, Config(locale=locale), as_of=AS_OF)
    return book.path


def _only(path: Path, tab: str, out: Path) -> Path:
    """The workbook with every other tab hidden (LibreOffice prints no hidden tab) and `tab` the
    active one. Only the workbook part's sheet states and active tab change: every other part is
    the bytes sheetcrm wrote (an openpyxl round trip per tab cost a second each, and printed
    openpyxl's rewrite of the file rather than sheetcrm's)."""
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/workbook.xml":
                data = _showing(data.decode("utf-8"), tab).encode("utf-8")
            target.writestr(info, data)
    return out


def _showing(workbook: str, tab: str) -> str:
    sheets = re.findall(r"<sheet\b[^>]*>", workbook)
    names = [html.unescape(re.search(r'\bname="([^"]*)"', s)[1]) for s in sheets]
    assert tab in names, (tab, names)
    for sheet, name in zip(sheets, names):
        state = f'state="{"visible" if name == tab else "hidden"}"'
        shown = (re.sub(r'\bstate="[^"]*"', state, sheet) if "state=" in sheet
                 else sheet.replace("<sheet ", f"<sheet {state} ", 1))
        workbook = workbook.replace(sheet, shown, 1)
    active = f'activeTab="{names.index(tab)}"'
    view = re.search(r"<workbookView\b[^>]*>", workbook)[0]
    return workbook.replace(view, re.sub(r'\bactiveTab="[^"]*"', active, view) if "activeTab=" in view
                            else view.replace("<workbookView", f"<workbookView {active}", 1), 1)


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict[str, tuple[Path, Path, dict[str, list[list[str]]]]]:
    """Per language: (its synced demo, the folder of its summary tabs' PDFs "<locale>-<tab>.pdf",
    every tab as LibreOffice shows it). Both languages at once: one LibreOffice start prints the
    eight tabs and one shows both workbooks (each start costs seconds of CPU; there were four).
    The tests only read these files."""
    folder = tmp_path_factory.mktemp("printed")
    demos = {locale: _demo(folder, locale) for locale in SUMMARIES}
    singles = [str(_only(path, tab, folder / f"{locale}-{tab}.xlsx"))
               for locale, path in demos.items() for tab in SUMMARIES[locale]]
    soffice(["--convert-to", "pdf", "--outdir", str(folder / "pdf"), *singles], folder)
    soffice(["--convert-to", AS_SHOWN, "--outdir", str(folder / "csv"), *map(str, demos.values())], folder)
    shown = {locale: {} for locale in demos}
    for f in (folder / "csv").glob("*.csv"):
        locale, tab = f.stem.split("-", 1)
        shown[locale][tab] = list(csv.reader(f.read_text(encoding="utf-8").splitlines()))
    return {locale: (path, folder / "pdf", shown[locale]) for locale, path in demos.items()}


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
@pytest.mark.parametrize("locale", ["en", "es"])
def test_libreoffice_prints_the_summary_tabs_one_page_wide_and_formatted(printed, locale):
    from pypdf import PdfReader

    path, pdfs, shown = printed[locale]
    wb = openpyxl.load_workbook(path)
    assert set(SUMMARIES[locale]) <= set(shown), sorted(shown)
    for tab in SUMMARIES[locale]:
        headers = [c.value for c in wb[tab][1] if c.value is not None]
        pages = [p.extract_text() for p in PdfReader(pdfs / f"{locale}-{tab}.pdf").pages]
        assert pages, tab
        for text in pages:
            # One page wide, the header row on every page: each page holds its first and last header.
            assert headers[0] in text and headers[-1] in text, (tab, text[:200])
            assert "###" not in text, tab
    pipeline, dashboard = shown[SUMMARIES[locale][1]], shown[SUMMARIES[locale][0]]
    # The separators are the app's locale's (LibreOffice here runs in en-US); the symbol and
    # its place are the workbook's locale's.
    number = r"[0-9]{1,3}([,.][0-9]{3})*[.,][0-9]{2}"
    money = rf"^\${number}$" if locale == "en" else rf"^{number}\sUS\$$"
    assert all(re.match(money, row[2]) for row in pipeline[1:] if row and row[2]), pipeline[:3]
    percent = r"^[0-9]+[.,][0-9]\s?%$"
    assert sum(bool(re.match(percent, row[1])) for row in dashboard[1:] if len(row) > 1) >= 3, dashboard[:6]
    assert not any("###" in cell for rows in shown.values() for row in rows for cell in row)


# -- Google --------------------------------------------------------------------------------------


def _batches(emu, since: int) -> list[list[dict]]:
    return [json.loads(r.request)["requests"] for r in emu.requests[since:] if r.path.endswith(":batchUpdate")]


def _format(emu, key: str, tab: str, row: int, col: int) -> dict | None:
    sheet = next(s for s in emu.service.book(key).sheets if s.title == tab)
    return ((sheet.cell(row, col) or {}).get("userEnteredFormat") or {}).get("numberFormat")


def test_google_formats_ride_in_the_one_batch_and_a_second_sync_writes_nothing(emu):
    key = emu.create_spreadsheet("CRM", {"Sheet1": []})
    t = Traced(key)
    write_demo(t.book, rows=40, seed=1, today=AS_OF)
    t.reset()
    since = len(emu.requests)
    sync(t.book, Config(), as_of=AS_OF)
    assert t.counts() == (5, 1)  # with the read of the rules under the first guides' dropdowns
    [batch] = _batches(emu, since)
    kinds = [k for r in batch for k in r]
    assert "repeatCell" in kinds and "updateDimensionProperties" in kinds
    assert _format(emu, key, "Pipeline", 1, 2) == {"type": "CURRENCY", "pattern": '"$"#,##0.00'}
    header = emu.values(key, "Opportunities")[0]
    prob = header.index("Probability %")
    assert _format(emu, key, "Opportunities", 1, prob) == {"type": "PERCENT", "pattern": "0.0%"}
    assert 0 <= emu.values(key, "Opportunities")[1][prob] <= 1
    marks = [m for m in emu.service.book(key).developer_metadata if m["metadataKey"] == "sheetcrm.format"]
    assert marks and all(m["location"]["locationType"] == "COLUMN" for m in marks)

    # The demo's workflow rules act at its first two syncs; what they made shows at the third (as `sheetcrm demo` runs).
    for _n in range(2):
        sync(t.book, Config(), as_of=AS_OF)
    t.reset()
    since = len(emu.requests)
    outcome = sync(t.book, Config(), as_of=AS_OF)
    assert outcome.result is None and t.counts() == (2, 0) and not _batches(emu, since)


def test_google_a_persons_format_on_a_computed_column_survives(emu):
    key = emu.create_spreadsheet("CRM", {"Sheet1": []})
    t = Traced(key)
    write_demo(t.book, rows=40, seed=1, today=AS_OF)
    sync(t.book, Config(), as_of=AS_OF)
    header = emu.values(key, "Opportunities")[0]
    days = header.index("Days in Stage")
    sheet = next(s for s in emu.service.book(key).sheets if s.title == "Opportunities")
    mine = {"type": "NUMBER", "pattern": '0" d"'}
    t.book.client.http_client.batch_update(key, {"requests": [{"repeatCell": {
        "range": {"sheetId": sheet.id, "startRowIndex": 1, "startColumnIndex": days, "endColumnIndex": days + 1},
        "cell": {"userEnteredFormat": {"numberFormat": mine}}, "fields": "userEnteredFormat.numberFormat"}}]})
    t.reset()
    since = len(emu.requests)
    outcome = sync(t.book, Config(), as_of=AS_OF + dt.timedelta(days=3))
    assert outcome.result and outcome.result.written.get("Opportunities")
    assert t.counts() == (4, 1)
    [batch] = _batches(emu, since)
    assert not [r for r in batch if "repeatCell" in r and r["repeatCell"]["range"].get("startColumnIndex") == days
                and r["repeatCell"]["range"]["sheetId"] == sheet.id]
    assert _format(emu, key, "Opportunities", 1, days) == mine



def test_google_a_persons_format_on_a_computed_column_before_the_first_sync_survives(emu):
    """A team's own Weighted Amount and Days in Stage columns, formatted before sheetcrm ever
    formatted them (a workbook brought from Excel, a column the team headed): .xlsx keeps
    those formats; Google set sheetcrm's over the whole column, as no mark said otherwise.
    Their formats are read with the first guide's rules, in the same request."""
    key = emu.create_spreadsheet("CRM", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Lumen"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Currency", "Close Date", "Weighted Amount",
                           "Days in Stage"],
                          ["OPP-0001", "A", "Lumen", "Negotiation", 10000, "USD", "2026-12-15"],
                          ["OPP-0002", "B", "Lumen", "Negotiation", 2500, "USD", "2026-12-15"]]},
        value_input="USER_ENTERED")
    sid = emu.sheet_id(key, "Opportunities")
    euros, days = {"type": "CURRENCY", "pattern": "[$€-407]#,##0.00"}, {"type": "NUMBER", "pattern": '0" d"'}
    emu.apply(key, [{"repeatCell": {
        "range": {"sheetId": sid, "startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": col, "endColumnIndex": col + 1},
        "cell": {"userEnteredFormat": {"numberFormat": mine}}, "fields": "userEnteredFormat.numberFormat"}}
        for col, mine in ((7, euros), (8, days))])
    t = Traced(key)
    sync(t.book, Config(), as_of=AS_OF)
    assert t.counts() == (5, 1)  # as without those formats: the rules read carries them
    assert (_format(emu, key, "Opportunities", 1, 7), _format(emu, key, "Opportunities", 1, 8)) == (euros, days)
    # The row the person left unformatted gets sheetcrm's, and the marks say so: no read again.
    assert _format(emu, key, "Opportunities", 2, 7) == {"type": "NUMBER", "pattern": "#,##0.00"}
    emu.set_values(key, "Opportunities!D3", [["Proposal"]])
    t.reset()
    assert sync(t.book, Config(), as_of=AS_OF).result.written.get("Opportunities")
    assert t.counts() == (4, 1)
    assert _format(emu, key, "Opportunities", 1, 7) == euros

def _demo_on_google(emu):
    key = emu.create_spreadsheet("CRM", {"Sheet1": []})
    t = Traced(key)
    write_demo(t.book, rows=40, seed=1, today=AS_OF)
    for _n in range(3):  # the demo's workflow rules act at its first two syncs
        sync(t.book, Config(), as_of=AS_OF)
    return key, t


@pytest.mark.parametrize("inherit_from_before", [True, False])
def test_google_a_row_inserted_under_the_header_shows_its_percent_and_date(emu, inherit_from_before):
    """Google gives a row a person inserts its neighbour's formats: under the header, inheriting
    from before (InsertDimensionRequest.inheritFromBefore), the header's, none of the column's. The
    column's format mark says its rows are formatted, so sheetcrm sent its values alone and
    that deal's Probability % showed 0.5, for good. A computed cell filled for the first time
    gets the column's format with its value where none would show another value; the
    request count stays."""
    key, t = _demo_on_google(emu)
    header = emu.values(key, "Opportunities")[0]
    account = emu.values(key, "Opportunities")[3][header.index("Account")]
    emu.insert_rows(key, "Opportunities", 1, inherit_from_before=inherit_from_before)
    typed = {"Name": "New deal", "Account": account, "Stage": "Proposal", "Amount": 5000, "Currency": "USD",
             "Close Date": "2026-12-20"}
    emu.set_values(key, "Opportunities!A2", [[typed.get(h, "") for h in header[:header.index("Close Date") + 1]]])
    t.reset()
    sync(t.book, Config(), as_of=AS_OF)
    assert t.counts() == (4, 1)
    row = emu.values(key, "Opportunities")[1]
    prob = header.index("Probability %")
    assert row[1] == "New deal" and row[prob] == 0.5
    assert _format(emu, key, "Opportunities", 1, prob) == {"type": "PERCENT", "pattern": "0.0%"}
    weighted = header.index("Weighted Amount")
    assert row[weighted] == 2500


def test_google_a_teams_date_format_on_last_activity_stays(emu):
    """A team's `dd/mm/yyyy` on Last Activity: each date sheetcrm wrote there came with
    `yyyy-mm-dd`, so the team's format was gone at every new activity (.xlsx keeps it,
    docs/formats.md). A cell that held a value keeps its format; a row a person inserts since
    (no format of the column's: the header's) still shows its date as a date, not 46348."""
    key, t = _demo_on_google(emu)
    header = emu.values(key, "Opportunities")[0]
    last = header.index("Last Activity")
    sid = emu.sheet_id(key, "Opportunities")
    theirs = {"type": "DATE", "pattern": "dd/mm/yyyy"}
    emu.apply(key, [{"repeatCell": {
        "range": {"sheetId": sid, "startRowIndex": 1, "startColumnIndex": last, "endColumnIndex": last + 1},
        "cell": {"userEnteredFormat": {"numberFormat": theirs}}, "fields": "userEnteredFormat.numberFormat"}}])
    opp, account, had = (emu.values(key, "Opportunities")[1][header.index(h)] for h in ("ID", "Account", "Last Activity"))
    assert isinstance(had, (int, float))
    emu.insert_rows(key, "Opportunities", 1, inherit_from_before=True)
    typed = {"ID": "OPP-0900", "Name": "New deal", "Account": account, "Stage": "Proposal", "Amount": 5000,
             "Currency": "USD", "Close Date": "2026-12-20"}
    emu.set_values(key, "Opportunities!A2", [[typed.get(h, "") for h in header[:header.index("Close Date") + 1]]])
    activities = emu.values(key, "Activities")
    at = len(activities) + 1
    emu.set_values(key, f"Activities!A{at}", [["", "2026-11-23", "Call", "Next steps", opp, "Ana", "Positive"],
                                             ["", "2026-11-22", "Call", "Intro", "OPP-0900", "Ana", "Positive"]])
    t.reset()
    sync(t.book, Config(), as_of=AS_OF + dt.timedelta(days=1))
    assert t.counts() == (4, 1)
    rows = emu.values(key, "Opportunities")
    assert rows[2][0] == opp and rows[2][last] == 46349 != had       # 2026-11-23, written over the old date
    assert _format(emu, key, "Opportunities", 2, last) == theirs
    assert rows[1][0] == "OPP-0900" and rows[1][last] == 46348      # 2026-11-22, in the inserted row
    assert _format(emu, key, "Opportunities", 1, last) == {"type": "DATE", "pattern": "yyyy-mm-dd"}


def test_google_a_teams_date_format_on_the_dashboards_date_stays(emu):
    """The Dashboard's Date is written again every day; each time it came with `yyyy-mm-dd`, so
    a team's `dd/mm/yyyy` there lasted one day on Google (.xlsx keeps it). A date over a cell
    that held one keeps the cell's format; a date in a row new to the tab still has sheetcrm's."""
    key, t = _demo_on_google(emu)
    dash = emu.values(key, "Dashboard")
    row = next(i for i, cells in enumerate(dash) if cells and cells[0] == "Date")
    theirs = {"type": "DATE", "pattern": "dd/mm/yyyy"}
    emu.apply(key, [{"repeatCell": {
        "range": {"sheetId": emu.sheet_id(key, "Dashboard"), "startRowIndex": row, "endRowIndex": row + 1,
                  "startColumnIndex": 1, "endColumnIndex": 2},
        "cell": {"userEnteredFormat": {"numberFormat": theirs}}, "fields": "userEnteredFormat.numberFormat"}}])
    was = emu.values(key, "Dashboard")[row][1]
    t.reset()
    sync(t.book, Config(), as_of=AS_OF + dt.timedelta(days=1))
    assert emu.values(key, "Dashboard")[row][1] == was + 1
    assert _format(emu, key, "Dashboard", row, 1) == theirs
    assert t.counts() == (4, 1)


@pytest.mark.parametrize("base, won, open_, shown", [
    # KWD has three decimals: 1000.005 × 50 % = 500.0025, half up to the fils
    ("KWD", 1234.567, 1000.005, (Decimal("1234.567"), Decimal("1000.005"), Decimal("500.003"))),
    ("JPY", 1234.5, 1001, (Decimal("1235"), Decimal("1001"), Decimal("501"))),  # none: to the yen, half up
])
def test_summary_tabs_round_money_to_the_base_currencys_own_unit(tmp_path, base, won, open_, shown):
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Closed Won", won, dt.date(2026, 3, 10), dt.date(2026, 1, 1)],
                          ["OPP-0002", "A2", "Acme", "Ana", "Proposal", open_, dt.date(2026, 3, 10),
                           dt.date(2026, 1, 1)]]})
    sync(XlsxWorkbook(path), Config(currency=base), as_of=dt.date(2026, 3, 15))
    wb = openpyxl.load_workbook(path)
    won_, open_pipeline, weighted = (float(v) for v in shown)
    dashboard = {row[0].value: row[1].value for row in wb["Dashboard"].iter_rows(min_row=2)}
    assert dashboard["Won revenue"] == won_ and dashboard["Open pipeline"] == open_pipeline
    assert dashboard["Weighted pipeline"] == weighted
    pipeline = {row[0].value: [c.value for c in row[2:4]] for row in wb["Pipeline"].iter_rows(min_row=2)}
    assert pipeline["Proposal"] == [open_pipeline, weighted] and pipeline["Closed Won"] == [won_, won_]
    team = [c.value for c in wb["Forecast"][2]]
    assert team[:7] == ["2026-03", "(all)", open_pipeline, weighted, won_, float(shown[0] + shown[1]), won_]
    overview = [c.value for c in wb["Accounts Overview"][2]]
    assert overview[5:7] == [open_pipeline, won_]
    opps = wb["Opportunities"]
    col = _column(opps, "Weighted Amount")
    assert [opps.cell(r, col).value for r in (2, 3)] == [won_, weighted]
    if base == "KWD":  # the deal's own column shows the fils too
        assert opps.cell(3, col).number_format == "#,##0.000"


def test_kpis_text_rounds_money_half_up_as_the_tabs_do():
    assert show.money(Decimal("500.0025"), "KWD") == "KWD500.003"  # babel alone: 500.002 (half even)
    assert show.money(Decimal("2.5"), "JPY") == "¥3"


# -- a base currency or language changed -----------------------------------------------------------

CHANGE_TABS = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
               "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                                 ["OPP-0001", "A1", "Acme", "Ana", "Closed Won", 1000, "2026-11-15", "2026-11-01"],
                                 ["OPP-0002", "A2", "Acme", "Ana", "Proposal", 2000, "2027-01-15", "2026-11-01"]]}
CHANGED_TABS = ("Dashboard", "Pipeline", "Forecast", "Accounts Overview")
MINE = '[$$-409]#,##0.00'  # a person's own currency format (Excel's, with a locale): never sheetcrm's


def _codes(path: Path, tabs=CHANGED_TABS) -> dict[str, dict[str, str]]:
    """Each number cell's format code, by tab and coordinate."""
    wb = openpyxl.load_workbook(path)
    return {t: {c.coordinate: c.number_format for row in wb[t].iter_rows(min_row=2) for c in row
                if isinstance(c.value, (int, float)) and not isinstance(c.value, bool)} for t in tabs}


def test_xlsx_a_new_base_currency_and_language_reformat_every_cell_sheetcrm_formatted(tmp_path):
    """Issue: with currency USD → EUR, three syncs later the Dashboard said Currency EUR and
    showed its won revenue, the Pipeline, Forecast and Accounts Overview in "$": a cell got the
    new format only while it showed General or a code of this sync's config. A code sheetcrm
    writes for any currency and language is its own; a person's format stays."""
    path = xlsx(tmp_path / "crm.xlsx", CHANGE_TABS)
    sync(XlsxWorkbook(path), Config(currency="USD"), as_of=AS_OF)
    dollars = _codes(path)
    assert dollars["Pipeline"] and '"$"#,##0.00' in dollars["Pipeline"].values()
    wb = openpyxl.load_workbook(path)
    mine = next(c for c, code in dollars["Pipeline"].items() if code == '"$"#,##0.00')
    wb["Pipeline"][mine].number_format = MINE
    wb.save(path)
    euro = '"€"#,##0.00'
    for n in range(1, 3):  # the Dashboard's Date is a write each day
        sync(XlsxWorkbook(path), Config(currency="EUR"), as_of=AS_OF + dt.timedelta(days=n))
    codes = _codes(path)
    assert codes["Pipeline"].pop(mine) == MINE  # the person's, kept
    shown = {code for tab in codes.values() for code in tab.values()}
    assert not [code for code in shown if "$" in code], codes
    assert euro in shown and all(euro in set(codes[t].values()) for t in ("Dashboard", "Pipeline", "Forecast"))
    # A language changed: the English percent and money codes become the Spanish ones, on the
    # summaries and on a people's tab's computed column (Probability %).
    sync(XlsxWorkbook(path), Config(currency="EUR", locale="es"), as_of=AS_OF + dt.timedelta(days=3))
    wb = openpyxl.load_workbook(path)
    tabs = [ws.title for ws in wb.worksheets if ws.title not in ("Accounts", "Opportunities", "_sheetcrm")]
    codes = _codes(path, tabs + ["Opportunities"])
    shown = {code for tab in codes.values() for code in tab.values()}
    assert "0.0%" not in shown and euro not in shown, codes
    assert '0.0"\xa0"%' in shown and '#,##0.00"\xa0€"' in shown
    assert MINE in shown


def _google_codes(emu, key: str, tabs) -> dict[str, dict[tuple[int, int], str | None]]:
    """Each number cell's format pattern on the emulator, by tab and 0-based (row, col)."""
    out = {}
    for tab in tabs:
        rows = emu.values(key, tab)
        out[tab] = {(r, c): (_format(emu, key, tab, r, c) or {}).get("pattern") for r, row in enumerate(rows) if r
                    for c, v in enumerate(row) if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return out


def test_google_a_new_base_currency_reformats_sheetcrms_cells_and_keeps_a_persons(emu):
    key = emu.create_spreadsheet("CRM", CHANGE_TABS)
    t = Traced(key)
    sync(t.book, Config(currency="USD"), as_of=AS_OF)
    dollars = _google_codes(emu, key, CHANGED_TABS)
    (row, col) = next(p for p, code in dollars["Pipeline"].items() if code == '"$"#,##0.00')
    sheet = next(s for s in emu.service.book(key).sheets if s.title == "Pipeline")
    mine = {"type": "CURRENCY", "pattern": MINE}
    t.book.client.http_client.batch_update(key, {"requests": [{"repeatCell": {
        "range": {"sheetId": sheet.id, "startRowIndex": row, "endRowIndex": row + 1, "startColumnIndex": col,
                  "endColumnIndex": col + 1},
        "cell": {"userEnteredFormat": {"numberFormat": mine}}, "fields": "userEnteredFormat.numberFormat"}}]})
    for n in range(1, 3):
        sync(t.book, Config(currency="EUR"), as_of=AS_OF + dt.timedelta(days=n))
    codes = _google_codes(emu, key, CHANGED_TABS)
    assert codes["Pipeline"].pop((row, col)) == MINE  # the person's, kept
    shown = {code for tab in codes.values() for code in tab.values()}
    assert not [code for code in shown if code and "$" in code], codes
    assert '"€"#,##0.00' in shown


def _new_stage(path_or_emu, key=None) -> None:
    """OPP-0002 moves to Negotiation: a Stage History row written under the new config."""
    if key is None:
        wb = openpyxl.load_workbook(path_or_emu)
        wb["Opportunities"]["E3"] = "Negotiation"
        wb.save(path_or_emu)
    else:
        path_or_emu.set_values(key, "Opportunities!E3", [["Negotiation"]])


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_xlsx_a_new_base_currency_keeps_stage_history_amounts_in_the_currency_of_their_day(tmp_path):
    """Issue: Stage History is a log, its rows kept as written, each Amount in the base
    currency of its day. After currency USD → EUR, a row written under USD (2,000.00 USD) was
    given the euro code, and LibreOffice showed "€2,000.00": a figure in the wrong currency,
    said nowhere. Now such a cell keeps the code it was written under; a row written under EUR
    gets the euro one."""
    path = xlsx(tmp_path / "crm.xlsx", CHANGE_TABS)
    sync(XlsxWorkbook(path), Config(currency="USD"), as_of=AS_OF)
    _new_stage(path)
    sync(XlsxWorkbook(path), Config(currency="EUR"), as_of=AS_OF + dt.timedelta(days=1))
    shown = libreoffice_shows(path)["Stage History"]
    amounts = {(row[0], row[2]): row[4] for row in shown[1:]}
    assert amounts == {("OPP-0001", "Closed Won"): "$1,000.00", ("OPP-0002", "Proposal"): "$2,000.00",
                       ("OPP-0002", "Negotiation"): "€2,000.00"}, shown


def test_xlsx_stage_history_amounts_keep_their_currency_after_a_person_inserts_a_column(tmp_path):
    """Issue: the kept Amount column was named by sheetcrm's position (5). With a column a person
    inserted in Stage History (a Note in B), Amount is F and E is Changed At: the dates were
    kept and every USD Amount took the euro code ("$1,000.00" shown "€1,000.00") when the base
    currency became EUR."""
    path = xlsx(tmp_path / "crm.xlsx", CHANGE_TABS)
    sync(XlsxWorkbook(path), Config(currency="USD"), as_of=AS_OF)
    wb = openpyxl.load_workbook(path)
    wb["Stage History"].insert_cols(2)
    wb["Stage History"]["B1"] = "Note"
    wb.save(path)
    _new_stage(path)
    sync(XlsxWorkbook(path), Config(currency="EUR"), as_of=AS_OF + dt.timedelta(days=1))
    ws = openpyxl.load_workbook(path)["Stage History"]
    assert [c.value for c in ws[1]] == ["Opportunity", "Note", "From", "To", "Changed At", "Amount"]
    codes = {(row[0].value, row[3].value): (row[4].number_format, row[5].number_format)
             for row in ws.iter_rows(min_row=2)}
    assert codes == {("OPP-0001", "Closed Won"): ("yyyy-mm-dd", '"$"#,##0.00'),
                     ("OPP-0002", "Proposal"): ("yyyy-mm-dd", '"$"#,##0.00'),
                     ("OPP-0002", "Negotiation"): ("yyyy-mm-dd", '"€"#,##0.00')}, codes


def test_google_a_new_base_currency_keeps_stage_history_amounts_in_the_currency_of_their_day(emu):
    key = emu.create_spreadsheet("CRM", CHANGE_TABS)
    t = Traced(key)
    sync(t.book, Config(currency="USD"), as_of=AS_OF)
    _new_stage(emu, key)
    for n in range(1, 3):
        sync(t.book, Config(currency="EUR"), as_of=AS_OF + dt.timedelta(days=n))
    rows = emu.values(key, "Stage History")
    codes = {(row[0], row[2]): (_format(emu, key, "Stage History", r, 4) or {}).get("pattern")
             for r, row in enumerate(rows) if r}
    assert codes == {("OPP-0001", "Closed Won"): '"$"#,##0.00', ("OPP-0002", "Proposal"): '"$"#,##0.00',
                     ("OPP-0002", "Negotiation"): '"€"#,##0.00'}, codes


KWD_DEAL = {"Accounts": [["ID", "Name"], ["ACC-0001", "Lumen"]],
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Currency", "Close Date"],
                              ["OPP-0001", "A", "Lumen", "Negotiation", 1000.005, "KWD", "2026-12-15"],
                              ["OPP-0002", "B", "Lumen", "Negotiation", 1000, "USD", "2026-12-15"]],
            "Rates": [["Currency", "Rate"], ["KWD", 3.25]]}


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_xlsx_weighted_amount_shows_every_decimal_of_a_deals_own_currency(tmp_path):
    """Issue: a KWD deal (three decimals) in a USD workbook: Weighted Amount 750.004 (1000.005 ×
    75 %, to the fils) under `#,##0.00` showed "750.00", four fils gone without a word. The
    column's decimals are now the finest of its deals' currencies and the base's."""
    path = xlsx(tmp_path / "crm.xlsx", KWD_DEAL)
    sync(XlsxWorkbook(path), Config(currency="USD"), as_of=AS_OF)
    shown = libreoffice_shows(path)["Opportunities"]
    col = shown[0].index("Weighted Amount")
    assert [row[col] for row in shown[1:]] == ["750.004", "750.000"], shown


def test_google_weighted_amount_shows_every_decimal_of_a_deals_own_currency(emu):
    key = emu.create_spreadsheet("CRM", KWD_DEAL, value_input="USER_ENTERED")
    sync(Traced(key).book, Config(currency="USD"), as_of=AS_OF)
    col = emu.values(key, "Opportunities")[0].index("Weighted Amount")
    assert _format(emu, key, "Opportunities", 1, col) == {"type": "NUMBER", "pattern": "#,##0.000"}


def _dashboard_shifts(tmp_path: Path, deals: list[list]) -> Path:
    """A workbook synced, then a deal in GBP (no rate) added: a Missing exchange rate row comes
    above the figures on the Dashboard, and every KPI row moves down one."""
    header = ["ID", "Name", "Account", "Stage", "Amount", "Currency", "Close Date", "Created"]
    path = xlsx(tmp_path / "crm.xlsx", {"Accounts": [["ID", "Name"], ["ACC-0001", "Lumen"]],
                                        "Opportunities": [header, *deals]})
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    wb = openpyxl.load_workbook(path)
    wb["Opportunities"].append(["OPP-0099", "E", "Lumen", "Proposal", 500, "GBP", dt.date(2026, 12, 15)])
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    return path


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_xlsx_a_dashboard_row_that_moves_shows_its_own_kind(tmp_path):
    """Issue: a Dashboard row moved onto a row of another kind kept that row's count format
    when it was `#,##0`, which openpyxl saves as a built-in id with no code in the file: the
    patch read it as no code of sheetcrm's, a person's, and kept it. Won revenue showed
    "5,500" (Google: "$5,500.00"); a Won revenue of 0 landing on a Won deals cell of 0 (not
    written: the same value) kept "#,##0" too."""
    won = [["OPP-0001", "A", "Lumen", "Negotiation", 1000, "USD", "2026-12-15", "2026-10-01"],
           ["OPP-0002", "B", "Lumen", "Closed Won", 3000, "USD", "2026-09-15", "2026-08-01"],
           ["OPP-0003", "C", "Lumen", "Closed Lost", 2000, "USD", "2026-10-15", "2026-08-01"],
           ["OPP-0004", "D", "Lumen", "Closed Won", 2500, "USD", "2026-09-20", "2026-08-01"]]
    shown = {row[0]: row[1] for row in libreoffice_shows(_dashboard_shifts(_sub(tmp_path, "won"), won))["Dashboard"]}
    assert (shown["Won revenue"], shown["Won deals"], shown["Average won deal"]) == ("$5,500.00", "2", "$2,750.00")
    path = _dashboard_shifts(tmp_path, won[:1])  # nothing won: 0 won deals, then 0 won revenue on that row
    rows = {r[0].value: r[1] for r in openpyxl.load_workbook(path)["Dashboard"].iter_rows(min_row=2)}
    assert rows["Won revenue"].value == 0 and rows["Won revenue"].number_format == '"$"#,##0.00'
    assert rows["Won deals"].number_format == rows["Lost deals"].number_format == "#,##0"


def _sub(tmp_path: Path, name: str) -> Path:
    (tmp_path / name).mkdir()
    return tmp_path / name


@pytest.mark.parametrize("theirs", ["0", "0.00", "#,##0"])
def test_xlsx_a_percentage_under_a_number_format_that_is_no_percentage_shows_as_one(tmp_path, theirs):
    """Probability 20 (20 %) gives a Probability % of 0.2, written into a cell a person had
    formatted `0` (a whole column formatted as numbers before the first sync): it showed 0, or
    0.20 under `0.00`, without a word. A format that is no percentage cannot show a percentage's
    fraction, so the cell gets the column's percent code (a date there gets a date format too);
    a person's own percentage format (`0.00%`) stays."""
    header = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Probability", "Probability %"]
    rows = [["OPP-0001", "A", "Acme", "Ana", "Proposal", 1000, "2026-12-01", 20, None],
            ["OPP-0002", "B", "Acme", "Ana", "Proposal", 1000, "2026-12-01", None, None]]
    path = xlsx(tmp_path / "p.xlsx", {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
                                      "Opportunities": [header, *rows]},
                formats={("Opportunities", "I2"): theirs, ("Opportunities", "I3"): "0.00%"})
    sync(XlsxWorkbook(path), Config(), dt.date(2026, 11, 1))
    ws = openpyxl.load_workbook(path)["Opportunities"]
    assert (ws["I2"].value, ws["I2"].number_format) == (0.2, "0.0%")
    assert (ws["I3"].value, ws["I3"].number_format) == (0.5, "0.00%")


def test_google_a_percentage_written_under_a_persons_number_format_shows_as_one(emu):
    """A person formatted the computed Probability % column `0.00` after a sync; the next sync
    wrote OPP-0001's new 0.3 under it and kept the format, so 30 % showed "0.30" with no word
    (.xlsx gave it the percent code: `hides_percent`). A percentage's fraction sheetcrm writes
    comes with the column's percent code unless the read saw a percent format on the cell; a
    cell sheetcrm does not write keeps its format. The request count stays."""
    header = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Probability"]
    key = emu.create_spreadsheet("CRM", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [header, ["OPP-0001", "A", "Acme", "Ana", "Proposal", 1000, "2026-12-01", 20],
                          ["OPP-0002", "B", "Acme", "Ana", "Proposal", 1000, "2026-12-01", ""]]},
        value_input="USER_ENTERED")
    t = Traced(key)
    sync(t.book, Config(), as_of=AS_OF)
    prob = emu.values(key, "Opportunities")[0].index("Probability %")
    theirs = {"type": "NUMBER", "pattern": "0.00"}
    emu.apply(key, [{"repeatCell": {
        "range": {"sheetId": emu.sheet_id(key, "Opportunities"), "startRowIndex": 1, "startColumnIndex": prob,
                  "endColumnIndex": prob + 1},
        "cell": {"userEnteredFormat": {"numberFormat": theirs}}, "fields": "userEnteredFormat.numberFormat"}}])
    emu.set_values(key, "Opportunities!H2", [[30]])
    t.reset()
    sync(t.book, Config(), as_of=AS_OF)
    assert t.counts() == (5, 1)
    assert [row[prob] for row in emu.values(key, "Opportunities")[1:3]] == [0.3, 0.5]
    assert _format(emu, key, "Opportunities", 1, prob) == {"type": "PERCENT", "pattern": "0.0%"}
    assert _format(emu, key, "Opportunities", 2, prob) == theirs  # not written: not touched
