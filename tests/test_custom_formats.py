"""A team's own columns (neither standard nor declared in sheetcrm.toml) are read as a person
sees them, on .xlsx and on Google alike: a date cell is a date, a percent-formatted 0.15 is
15 %, a duration formatted [h]:mm shows 36:00, never Python's "1 day, 12:00:00".

.xlsx: real files made with openpyxl. Google: gspread over HTTP against the emulator, formats
set with repeatCell as Google's UI sets them; the formats come with the one formats read a
percent or money column already pays, never with a read of their own beyond it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sheetcrm.config import Config
from sheetcrm.i18n import using
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook.numformat import is_time_format, show_time
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx, xlsx_book
from test_cell_facts import Traced

AS_OF = dt.date(2026, 12, 2)
HEAD = ["ID", "Name", "Status", "Renewal", "Margin"]
ROWS = [["ACC-0001", "Acme", "Customer", dt.date(2027, 3, 1), 0.15],
        ["ACC-0002", "Beta", "Customer", dt.date(2026, 6, 1), 0.05],
        ["ACC-0003", "Gamma", "Customer", dt.date(2027, 9, 1), 0.30]]
SEGMENTS = {"Late renewals": "Renewal > 2027-01-01", "High margin pts": "Margin > 10",
            "High margin pct": "Margin > 10%"}
CONFIG = Config.model_validate({"segments": {name: {"record": "accounts", "when": when}
                                             for name, when in SEGMENTS.items()}})


def _serial(d: dt.date) -> int:
    return (d - dt.date(1899, 12, 30)).days


def _custom(crm) -> list[dict]:
    return [r.record.custom for r in crm.tables["accounts"].rows]


EXPECTED = [{"Renewal": dt.date(2027, 3, 1), "Margin": Decimal(15)},
            {"Renewal": dt.date(2026, 6, 1), "Margin": Decimal(5)},
            {"Renewal": dt.date(2027, 9, 1), "Margin": Decimal(30)}]


def test_xlsx_a_percent_formatted_custom_column_is_a_column_of_percentages(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", {"Accounts": [HEAD, *ROWS]},
                {("Accounts", f"{c}{r}"): f for r in (2, 3, 4) for c, f in (("D", "dd/mm/yyyy"), ("E", "0%"))})
    crm = read_crm(XlsxWorkbook(path).read(), CONFIG)
    assert _custom(crm) == EXPECTED  # 0.15 shows 15 %: read as 15 %, not as the number 0.15
    assert not [i for i in crm.report.issues if i.tab == "Accounts"]
    outcome = sync(XlsxWorkbook(path), CONFIG, AS_OF)
    assert _cells(XlsxWorkbook(path)) == {"ACC-0001": {"Late renewals", "High margin pts", "High margin pct"},
                                          "ACC-0002": set(),
                                          "ACC-0003": {"Late renewals", "High margin pts", "High margin pct"}}
    assert not [i for i in outcome.crm.report.issues if i.code.startswith("segment")]


def _cells(book) -> dict[str, set[str]]:
    """Each account's Segments cell, as the names it lists."""
    rows = book.read().tabs["Accounts"].rows
    col = rows[0].index("Segments")
    return {r[0]: {n.strip() for n in (r[col] if col < len(r) and r[col] else "").split(",") if n.strip()}
            for r in rows[1:]}


def _google(emu, rows, formats, extra=None):
    key = emu.create_spreadsheet("CRM", {"Accounts": [HEAD] + [[_serial(v) if isinstance(v, dt.date) else v
                                                                for v in r] for r in rows], **(extra or {})})
    sid = emu.sheet_id(key, "Accounts")
    if formats:
        emu.apply(key, [{"repeatCell": {
            "range": {"sheetId": sid, "startRowIndex": 1, "endRowIndex": len(rows) + 1,
                      "startColumnIndex": col, "endColumnIndex": col + 1},
            "cell": {"userEnteredFormat": {"numberFormat": fmt}}, "fields": "userEnteredFormat.numberFormat"}}
            for col, fmt in formats])
    return key


DATE = {"type": "DATE", "pattern": "dd/mm/yyyy"}
PERCENT = {"type": "PERCENT", "pattern": "0%"}


def test_google_custom_dates_and_percentages_read_as_on_xlsx_in_one_formats_read(emu):
    """Google gives a date cell as its serial number (46447) and 15 % as 0.15: the formats,
    asked for in the one formats read, make them a date and a percentage, as the .xlsx read
    gives them; the segments on them hold for the same accounts."""
    key = _google(emu, ROWS, [(3, DATE), (4, PERCENT)])
    t = Traced(key, CONFIG)
    snap = t.book.read()
    assert t.counts() == (3, 0)  # metadata, values, and the one formats read
    grid = snap.tabs["Accounts"]
    assert [grid.cell(r, 3) for r in (1, 2, 3)] == [dt.date(2027, 3, 1), dt.date(2026, 6, 1), dt.date(2027, 9, 1)]
    assert grid.percent == {(1, 4), (2, 4), (3, 4)}
    crm = read_crm(snap, CONFIG)
    assert _custom(crm) == EXPECTED
    assert not [i for i in crm.report.issues if i.tab == "Accounts" or i.code.startswith("segment")]
    outcome = sync(t.book, CONFIG, AS_OF)
    assert not [i for i in outcome.crm.report.issues if i.code.startswith("segment")]
    assert _cells(Traced(key, CONFIG).book) == {
        "ACC-0001": {"Late renewals", "High margin pts", "High margin pct"}, "ACC-0002": set(),
        "ACC-0003": {"Late renewals", "High margin pts", "High margin pct"}}


# -- times of day and durations -----------------------------------------------------------------

TIMES = [(0.0625, "[h]:mm", "1:30"), (1.5, "[h]:mm", "36:00"), (0.0625, "h:mm", "1:30"),
         (0.5, "hh:mm:ss", "12:00:00"), (2.25, "[mm]:ss", "3240:00"), (0.0625, "h:mm AM/PM", "1:30 AM"),
         (0.75, "h:mm AM/PM", "6:00 PM"), (1.5, '[h]"h" mm"m"', "36h 00m")]


@pytest.mark.parametrize("days, code, shown", TIMES + [(1.5, "h:mm", "12:00")])  # a clock wraps at 24 h
def test_a_time_code_shows_a_number_of_days_as_a_spreadsheet_does(days, code, shown):
    assert is_time_format(code)
    assert show_time(days, code) == shown


@pytest.mark.parametrize("code", ["yyyy-mm-dd", "dd/mm/yyyy hh:mm", "0.00", "General", "mm", "0%", '"h"0'])
def test_codes_that_show_no_time_alone_are_not_time_codes(code):
    assert not is_time_format(code) and show_time(0.5, code) is None


def test_xlsx_durations_and_times_read_as_the_cell_shows_them_in_any_language(tmp_path):
    rows = [["ID", "Name", "Duration"]] + [[f"ACC-{i:04d}", f"{days} {code}", days]
                                          for i, (days, code, _) in enumerate(TIMES, 1)]
    path = xlsx(tmp_path / "t.xlsx", {"Accounts": rows},
                {("Accounts", f"C{r}"): code for r, (_, code, _) in enumerate(TIMES, 2)})
    grid = XlsxWorkbook(path).read().tabs["Accounts"]
    assert [grid.cell(r, 2) for r in range(1, len(TIMES) + 1)] == [shown for _, _, shown in TIMES]
    for language in ("en", "es"):
        with using(language):
            crm = read_crm(XlsxWorkbook(path).read(), Config(locale=language))
        assert [r.record.custom["Duration"] for r in crm.tables["accounts"].rows] == [s for _, _, s in TIMES]


def test_google_durations_and_times_read_as_the_cell_shows_them(emu):
    head = ["ID", "Name", "Duration"]
    rows = [[f"ACC-{i:04d}", code, days] for i, (days, code, _) in enumerate(TIMES, 1)]
    key = emu.create_spreadsheet("CRM", {"Accounts": [head, *rows]})
    sid = emu.sheet_id(key, "Accounts")
    emu.apply(key, [{"repeatCell": {
        "range": {"sheetId": sid, "startRowIndex": r, "endRowIndex": r + 1, "startColumnIndex": 2,
                  "endColumnIndex": 3},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "TIME", "pattern": code}}},
        "fields": "userEnteredFormat.numberFormat"}} for r, (_, code, _) in enumerate(TIMES, 1)])
    t = Traced(key, Config())
    grid = t.book.read().tabs["Accounts"]
    assert [grid.cell(r, 2) for r in range(1, len(TIMES) + 1)] == [shown for _, _, shown in TIMES]
    assert t.counts() == (3, 0)
