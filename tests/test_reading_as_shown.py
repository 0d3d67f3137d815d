"""Cells whose meaning a person sees and an .xlsx file does not spell out: formulas saved
without a result (a file written by a script), the 1904 date system, and messages that name
what the cell shows (2000 %, TRUE) and why a date is none ("29/02/2025").

Real .xlsx files made with openpyxl (which saves formulas without results), calculated by
LibreOffice where a saved result is needed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from libreoffice import soffice
from sheetcrm import i18n
from sheetcrm.config import Config
from sheetcrm.validate import read_crm
from sheetcrm.workbook import xlsx_memo
from sheetcrm.workbook.target import open_workbook
from sheetcrm.workbook.xlsx import XlsxWorkbook

HEADER = ["ID", "Name", "Account", "Stage", "Amount", "Close Date"]
HINT = "Open the file in Excel or LibreOffice and save it, so the formulas' values are saved."


def book(path: Path, rows: list[list], epoch=None, formats: dict[str, str] | None = None) -> Path:
    wb = openpyxl.Workbook()
    if epoch is not None:
        wb.epoch = epoch
    accounts = wb.active
    accounts.title = "Accounts"
    accounts.append(["ID", "Name"])
    accounts.append(["ACC-0001", "Acme"])
    deals = wb.create_sheet("Opportunities")
    deals.append(HEADER[:len(rows[0])] if len(rows[0]) <= len(HEADER) else HEADER + ["Probability"])
    for row in rows:
        deals.append(row)
    for ref, code in (formats or {}).items():
        deals[ref].number_format = code
    wb.save(path)
    return path


def deal_issues(crm) -> list[tuple]:
    return [(i.severity, i.code, i.row, i.column, i.value) for i in crm.report.issues if i.tab == "Opportunities"
            and i.code != "left_out"]


def recalculated(path: Path, tmp_path: Path) -> Path:
    """The workbook as LibreOffice calculates and saves it: formulas carry saved results."""
    out = tmp_path / "calculated"
    soffice(["--convert-to", "xlsx", "--outdir", str(out), str(path)])
    return out / path.name


# --- formulas without a saved result ---------------------------------------------------------

SCRIPTED = [["OPP-0001", "typed", "Acme", "Prospecting", 1000, "2026-12-01"],
            ["OPP-0002", "formula", "Acme", "Prospecting", "=1000*2", "=DATE(2026,12,1)"],
            ["OPP-0003", "error", "Acme", "Prospecting", "=NA()", "2026-12-01"],
            ["OPP-0004", "=\"\"", "Acme", "=\"Prospecting\"", 500, "2026-12-01"]]


def test_a_formula_without_a_saved_result_is_said_at_its_cell_never_read_as_empty(tmp_path):
    path = book(tmp_path / "scripted.xlsx", SCRIPTED)
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    assert deal_issues(crm) == [
        ("error", "formula_not_calculated", 3, "E", "=1000*2"),
        ("error", "formula_not_calculated", 3, "F", "=DATE(2026,12,1)"),
        ("error", "formula_not_calculated", 4, "E", "=NA()"),
        ("error", "formula_not_calculated", 5, "B", '=""'),
        ("error", "formula_not_calculated", 5, "D", '="Prospecting"'),
    ]
    said = next(i for i in crm.report.issues if i.code == "formula_not_calculated")
    assert said.message.startswith('The formula "=1000*2" in this cell has no saved result') and said.hint == HINT
    # Unreadable, like a cell showing #N/A: the deal is left out (and said so), never counted at 0.
    assert [o.id for o in crm.records("opportunities")] == ["OPP-0001"]
    with i18n.using("es"):
        crm = read_crm(XlsxWorkbook(path).read(), Config(), "es")
    said = next(i for i in crm.report.issues if i.code == "formula_not_calculated")
    assert said.message.startswith('La fórmula "=1000*2" de esta celda no tiene ningún resultado guardado')


def test_validate_names_each_unread_formula_and_fails(tmp_path):
    path = book(tmp_path / "scripted.xlsx", SCRIPTED)
    run = subprocess.run([sys.executable, "-m", "sheetcrm", "validate", "--workbook", str(path), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    found = {(i["code"], i["tab"], i["row"], i["column"]) for i in json.loads(run.stdout)["issues"]}
    assert ("formula_not_calculated", "Opportunities", 4, "E") in found and run.returncode != 0


def test_formulas_a_spreadsheet_app_saved_are_read_by_their_results(tmp_path):
    """Once LibreOffice saved the file, every formula has its result: an empty text result
    (="") is empty, not unread; #N/A is a formula_error."""
    path = recalculated(book(tmp_path / "scripted.xlsx", SCRIPTED), tmp_path)
    snapshot = XlsxWorkbook(path).read()
    grid = snapshot.tabs["Opportunities"]
    assert grid.cell(4, 3) == "Prospecting" and (4, 3) not in grid.errors and (4, 1) not in grid.errors
    crm = read_crm(snapshot, Config())
    # ="" is read as empty: a Name left empty, said as any empty required cell.
    assert deal_issues(crm) == [("error", "formula_error", 4, "E", "#N/A"), ("error", "required", 5, "B", None)]
    deals = {o.id: o for o in crm.records("opportunities")}
    assert deals["OPP-0002"].amount == 2000 and deals["OPP-0002"].close_date == dt.date(2026, 12, 1)


def test_the_grid_memo_keeps_the_unread_formulas_until_the_file_is_saved_with_results(tmp_path):
    path = book(tmp_path / "scripted.xlsx", SCRIPTED)
    memo = tmp_path / "cache" / ("a" * 24 + xlsx_memo.SUFFIX)
    first = XlsxWorkbook(path)
    first.remember_grids(memo)
    first.read()
    again = XlsxWorkbook(path)
    again.remember_grids(memo)
    snapshot = again.read()
    assert again.grid_memo.decoded == []  # recalled, not decoded
    assert snapshot.tabs["Opportunities"].errors[(2, 4)] == "=1000*2"
    assert ("error", "formula_not_calculated", 3, "E", "=1000*2") in deal_issues(read_crm(snapshot, Config()))
    shutil.copyfile(recalculated(path, tmp_path), path)
    snapshot = again.read()
    assert again.grid_memo.decoded == ["Accounts", "Opportunities"]
    assert [i[1] for i in deal_issues(read_crm(snapshot, Config()))] == ["formula_error", "required"]


# --- the 1904 date system --------------------------------------------------------------------


def test_a_plain_number_under_a_date_column_counts_from_the_workbooks_own_epoch(tmp_path):
    rows = [["OPP-0001", "date cell", "Acme", "Prospecting", 100, dt.date(2026, 12, 1)],
            ["OPP-0002", "plain serial", "Acme", "Prospecting", 100, 44895]]
    mac = book(tmp_path / "mac.xlsx", rows, epoch=CALENDAR_MAC_1904, formats={"F2": "yyyy-mm-dd"})
    crm = read_crm(XlsxWorkbook(mac).read(), Config())
    assert [o.close_date for o in crm.records("opportunities")] == [dt.date(2026, 12, 1)] * 2
    assert not deal_issues(crm)
    # The same number in a 1900-system workbook is the day 1462 days earlier.
    pc = book(tmp_path / "pc.xlsx", rows, formats={"F2": "yyyy-mm-dd"})
    crm = read_crm(XlsxWorkbook(pc).read(), Config())
    assert [o.close_date for o in crm.records("opportunities")] == [dt.date(2026, 12, 1), dt.date(2022, 11, 30)]


def test_a_small_number_in_a_1904_date_column_is_said_with_its_1904_date(tmp_path):
    rows = [["OPP-0001", "a day alone", "Acme", "Prospecting", 100, 15]]
    crm = read_crm(XlsxWorkbook(book(tmp_path / "mac.xlsx", rows, epoch=CALENDAR_MAC_1904)).read(), Config())
    (said,) = [i for i in crm.report.issues if i.code == "number_as_date"]
    assert "read as the date 1904-01-16" in said.message
    assert crm.records("opportunities")[0].close_date == dt.date(1904, 1, 16)


# --- messages that name what the cell shows ----------------------------------------------------


def test_a_percent_formatted_number_out_of_range_is_named_as_it_shows(tmp_path):
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 100, "2026-12-01", 0.2],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, "2026-12-01", 20]]
    path = book(tmp_path / "pct.xlsx", rows, formats={"G2": "0%", "G3": "0%"})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    (said,) = deal_issues(crm)
    assert said[:4] == ("error", "out_of_range", 3, "G")
    message = next(i.message for i in crm.report.issues if i.code == "out_of_range")
    assert message.startswith("2,000 % is outside 0 to 100 percent (the cell holds 20,"), message


def test_a_percentage_typed_into_an_amount_is_no_amount(tmp_path):
    """"50%" typed into Amount is kept by Excel as 0.5 formatted 0%: it was read as a deal of 0.50
    with no word (the same "50%" typed as text is an error). The cell shows 50 %, so it is said."""
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 0.5, "2026-12-01"],
            ["OPP-0002", "B", "Acme", "Prospecting", 1200, "2026-12-01"],
            ["OPP-0003", "C", "Acme", "Prospecting", 300, "2026-12-01"]]
    path = book(tmp_path / "pct.xlsx", rows, formats={"E2": "0%", "E3": "0.00%"})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    assert [s[:4] for s in deal_issues(crm)] == [("error", "bad_number", 2, "E"), ("error", "bad_number", 3, "E")]
    assert [i.message for i in crm.report.issues if i.code == "bad_number"][0] == (
        "50 % is not an amount: the cell holds 0.5, which its percentage format shows times 100.")
    assert [o.amount for o in crm.records("opportunities")] == [300]


def test_a_yes_no_cell_under_a_number_column_is_named_as_the_app_shows_it(tmp_path):
    path = book(tmp_path / "bool.xlsx", [["OPP-0001", "A", "Acme", "Prospecting", True, "2026-12-01"]])
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    assert next(i.message for i in crm.report.issues if i.code == "bad_number") == '"TRUE" is not a number.'
    with i18n.using("es"):
        crm = read_crm(XlsxWorkbook(path).read(), Config(), "es")
        assert next(i.message for i in crm.report.issues if i.code == "bad_number").startswith('"VERDADERO"')


def test_a_day_that_exists_in_neither_order_is_no_date_not_another_convention(tmp_path):
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 100, "02/13/2026"],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, "29/02/2025"],
            ["OPP-0003", "C", "Acme", "Prospecting", 100, "13/02/2026"],
            ["OPP-0004", "D", "Acme", "Prospecting", 100, "02/14/2026"],
            ["OPP-0005", "E", "Acme", "Prospecting", 100, "02/15/2026"]]
    crm = read_crm(XlsxWorkbook(book(tmp_path / "d.xlsx", rows)).read(), Config())
    codes = {i.row: (i.code, i.message) for i in crm.report.issues if i.tab == "Opportunities" and i.row}
    assert codes[3] == ("bad_date", '"29/02/2025" is not a date: that month has only 28 days, not 29.')
    assert codes[4][0] == "mixed_convention"  # a real day, written the other way round


def test_a_day_its_month_does_not_have_is_hinted_as_such_not_as_another_order(tmp_path):
    # 31/02/2025 read day first or month first is no day; its hint said "set locale en if this
    # sheet writes dates month first", which would make it no date either.
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 100, "31/02/2025"],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, "2025-04-31"]]
    path = book(tmp_path / "d.xlsx", rows)
    config = Config(locale="es")
    with i18n.using("es"):
        crm = read_crm(XlsxWorkbook(path).read(), config, "es")
    hints = {i.row: i.hint for i in crm.report.issues if i.tab == "Opportunities" and i.code == "bad_date"}
    assert hints == {2: "febrero de 2025 no tiene día 31: escribe un día del 1 al 28",
                     3: "abril de 2025 no tiene día 31: escribe un día del 1 al 30"}
    crm = read_crm(XlsxWorkbook(path).read(), Config(locale="en"))
    hints = {i.row: i.hint for i in crm.report.issues if i.tab == "Opportunities" and i.code == "bad_date"}
    assert hints == {2: "February 2025 has no day 31: type a day from 1 to 28",
                     3: "April 2025 has no day 31: type a day from 1 to 30"}


def test_setiembre_is_september(tmp_path):
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 100, "5 setiembre 2026"],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, "5 de setiembre de 2026"]]
    crm = read_crm(XlsxWorkbook(book(tmp_path / "s.xlsx", rows)).read(), Config())
    assert [o.close_date for o in crm.records("opportunities")] == [dt.date(2026, 9, 5)] * 2
    assert not deal_issues(crm)


def test_a_text_date_among_date_cells_shown_day_first_is_read_day_first(tmp_path):
    """Found at stop 44: a Close Date column of date cells formatted dd/mm/yyyy (LibreOffice
    shows 15/03/2027, 20/05/2027) with one pasted text date "03/04/2027" was read as 4 March,
    with a warning whose hint said nothing in the column showed the order. The dates a person
    sees there are day first: a format the file spells out is a proof of its order, as a text
    "13/02/2026" is, on the file as written and as LibreOffice saves it again."""
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 100, dt.datetime(2027, 3, 15)],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, "03/04/2027"],
            ["OPP-0003", "C", "Acme", "Prospecting", 100, dt.datetime(2027, 5, 20)]]
    for code, day in (("dd/mm/yyyy", dt.date(2027, 4, 3)), ("mm/dd/yyyy", dt.date(2027, 3, 4))):
        path = book(tmp_path / f"{code[0]}.xlsx", rows, formats={"F2": code, "F3": code, "F4": code})
        for saved in (path, recalculated(path, tmp_path)):
            crm = read_crm(XlsxWorkbook(saved).read(), Config())
            assert [o.close_date for o in crm.records("opportunities")][1] == day, (code, saved)
            assert not deal_issues(crm), (code, saved)
    # A built-in date format shows the reader's own short date: it says nothing of the order.
    path = book(tmp_path / "builtin.xlsx", rows, formats={"F2": "mm-dd-yy", "F4": "mm-dd-yy"})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    assert [s[:4] for s in deal_issues(crm)] == [("warning", "ambiguous_date", 3, "F")]
    # A config whose locale says otherwise than the column shows: the cell is said, both ways.
    path = book(tmp_path / "set.xlsx", rows, formats={"F2": "dd/mm/yyyy", "F4": "dd/mm/yyyy"})
    crm = read_crm(XlsxWorkbook(path).read(), Config(locale="en"))
    (said,) = [i for i in crm.report.issues if i.code == "ambiguous_date"]
    assert said.message == '"03/04/2027" read as 2027-04-03 (day first); could be 2027-03-04.'
    assert said.hint.startswith("This column writes dates day first, as its other cells show")


def test_a_date_column_shown_day_first_unsettles_the_config_for_the_tabs_other_date_columns(tmp_path):
    """A column proves its order to the tab's other columns by the dates it shows too: with
    locale "en" set, a Created of text dates beside a Close Date shown dd/mm/yyyy is no longer
    settled by the config, so its "03/04/2027" is said with both readings (as it is beside a
    Close Date of typed "15/03/2027"), not read as 4 March unsaid."""
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 100, dt.datetime(2027, 3, 15), "03/04/2027"],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, dt.datetime(2027, 5, 20), "2027-01-10"]]
    wb = openpyxl.load_workbook(book(tmp_path / "b.xlsx", rows, formats={"F2": "dd/mm/yyyy", "F3": "dd/mm/yyyy"}))
    wb["Opportunities"]["G1"] = "Created"
    wb.save(tmp_path / "b.xlsx")
    crm = read_crm(XlsxWorkbook(tmp_path / "b.xlsx").read(), Config(locale="en"))
    assert [(i.code, i.row, i.column) for i in crm.report.issues if i.tab == "Opportunities"
            and i.code != "left_out"] == [("ambiguous_date", 2, "G")]


def test_a_date_time_a_breath_before_midnight_is_the_day_its_format_shows(tmp_path):
    """46461.99999999 is 23:59:59.999 on 15 March. Under `dd/mm/yyyy hh:mm:ss` Excel and
    LibreOffice round it to the second they show: 16/03/2027 00:00:00, and it was read as the
    15th without a word. Under a date alone, or with milliseconds shown, it shows the 15th."""
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 100, 46461.99999999],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, 46461.99999999],
            ["OPP-0003", "C", "Acme", "Prospecting", 100, 46461.99999999],
            ["OPP-0004", "D", "Acme", "Prospecting", 100, 46461.9999999999],  # a sum's float error
            ["OPP-0005", "E", "Acme", "Prospecting", 100, 46461.9999940]]  # 23:59:59.48
    path = book(tmp_path / "midnight.xlsx", rows, formats={
        "F2": "dd/mm/yyyy hh:mm:ss", "F3": "dd/mm/yyyy", "F4": "yyyy-mm-dd hh:mm:ss.000", "F5": "General",
        "F6": "dd/mm/yyyy hh:mm:ss"})
    crm = read_crm(XlsxWorkbook(path).read(), Config())
    assert [o.close_date for o in crm.records("opportunities")] == [
        dt.date(2027, 3, 16), dt.date(2027, 3, 15), dt.date(2027, 3, 15), dt.date(2027, 3, 16), dt.date(2027, 3, 15)]


def test_google_date_times_are_the_moment_their_pattern_shows(emu):
    from sheetcrm.cells import parse_date, time_of
    from sheetcrm.workbook import Grid
    from sheetcrm.workbook.gsheets import _show_dates_and_times

    grid = Grid(rows=[[46461.99999999, 46461.99999999, 46461.99999999, 46461.99999999]])
    _show_dates_and_times(grid, {(0, 0): ("DATE_TIME", "dd/mm/yyyy hh:mm:ss"), (0, 1): ("DATE", "dd/mm/yyyy"),
                                 (0, 2): ("DATE_TIME", "yyyy-mm-dd hh:mm:ss.000"), (0, 3): ("DATE_TIME", "")})
    assert [parse_date(v) for v in grid.rows[0]] == [dt.date(2027, 3, 16), dt.date(2027, 3, 15),
                                                     dt.date(2027, 3, 15), dt.date(2027, 3, 16)]
    # A serial read as a number (a CRM date column on Google) is the day its millisecond is in.
    key = emu.create_spreadsheet("CRM", {"Opportunities": [HEADER, ["OPP-0001", "A", "Acme", "Prospecting", 100,
                                                                    46461.9999999999]],
                                         "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]]})
    crm = read_crm(open_workbook(Config(), spreadsheet=key).read(), Config())
    assert [o.close_date for o in crm.records("opportunities")] == [dt.date(2027, 3, 16)]
    assert time_of(46461.9999999999) == dt.time(0, 0)  # midnight of that day, not 23:59


def test_a_date_no_order_makes_is_hinted_without_a_locale_that_cannot_help(tmp_path):
    # 13/13/2027 is no date day first nor month first; its hint said "set locale "es" if this
    # sheet writes dates day first", which would read it no better. So for a month 0 or 13
    # (numeric or ISO) and a year 0: the hint says only what can help, in either language.
    rows = [["OPP-0001", "A", "Acme", "Prospecting", 100, "13/13/2027"],
            ["OPP-0002", "B", "Acme", "Prospecting", 100, "2027-00-10"],
            ["OPP-0003", "C", "Acme", "Prospecting", 100, "01/01/0000"]]
    path = book(tmp_path / "d.xlsx", rows)
    for locale in ("en", "es"):
        with i18n.using("en"):
            crm = read_crm(XlsxWorkbook(path).read(), Config(locale=locale), "en")
        hints = {i.row: i.hint for i in crm.report.issues if i.tab == "Opportunities" and i.code == "bad_date"}
        assert hints == {2: "There is no month 13: check the date, months run from 1 to 12",
                         3: "There is no month 0: check the date, months run from 1 to 12",
                         4: "There is no year 0: check the date, years run from 1 to 9999"}
    with i18n.using("es"):
        crm = read_crm(XlsxWorkbook(path).read(), Config(locale="es"), "es")
    hints = {i.row: i.hint for i in crm.report.issues if i.tab == "Opportunities" and i.code == "bad_date"}
    assert hints[2] == "No existe el mes 13: revisa la fecha, los meses van del 1 al 12"
    assert all("locale" not in hint for hint in hints.values())
