"""A live row under an ID the Merged tab holds (a record typed later under the merged ID, or a
merge undone by hand with its Merged row left): once removed as "the merged record still in its
tab" with nothing said, its cells copied nowhere, and every reference to its ID moved to the
survivor. Now it is removed only when its cells are still the Merged copy (a write that copied
but did not delete); otherwise it stays, its references stay, and its ID cell says why. On real
.xlsx files and on Google over the emulator."""

from __future__ import annotations

import datetime as dt

import openpyxl

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook import Plan
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import RetryPolicy
from sheetcrm.workbook.xlsx import XlsxWorkbook

from merge_crm import tabs
from test_merge import _newest_duplicate, _rows, _values
from test_merge_google import Book, _plain

AS_OF = dt.date(2026, 11, 23)
SEQUENCES = [["ACC", 5], ["CON", 4], ["OPP", 3], ["ACT", 4]]
STARK = ["ACC-0005", "Stark", "stark.com", "", "", "US", "bo", "Prospect", dt.datetime(2026, 11, 20)]
TONY = ["CON-0009", "ACC-0005", "Tony", "Stark", "tony@stark.com", "", "", "bo", dt.datetime(2026, 11, 20)]
# ACC-0005 as the merge copied it (Merged: Name=Initech Inc., ..., Created=2025-06-01).
INITECH = ["ACC-0005", "Initech Inc.", "initech.com", "", "", "US", "ana", "Prospect", dt.datetime(2025, 6, 1)]


def _merged_once(path) -> list:
    """The planted CRM with ACC-0005 merged into ACC-0004 by a first sync; the Merged tab's rows."""
    _newest_duplicate(path, SEQUENCES)
    assert sync(XlsxWorkbook(path), Config(), AS_OF).result.deleted == {"Accounts": 1}
    merged = _values(path)["Merged"][1:]
    assert [r[1:4] for r in merged] == [["ACC-0004", "Accounts", "ACC-0005"]]
    return merged


def _append(path, rows: dict[str, list]) -> None:
    wb = openpyxl.load_workbook(path)
    for tab, row in rows.items():
        wb[tab].append(row)
    wb.save(path)


def _warnings(outcome) -> list[tuple]:
    return [(i.tab, i.row, i.column, i.value, i.message, i.hint) for i in outcome.crm.report.issues
            if i.code == "merged_id_in_use"]


def test_xlsx_a_record_typed_under_a_merged_id_is_kept_warned_and_its_references_stay(tmp_path):
    path = tmp_path / "crm.xlsx"
    merged = _merged_once(path)
    _append(path, {"Accounts": STARK, "Contacts": TONY})
    outcome = sync(XlsxWorkbook(path), Config(), AS_OF)
    assert not outcome.plan.deletes and not outcome.plan.replacements
    values = _values(path)
    assert [c or "" for c in _rows(values["Accounts"])["ACC-0005"][:8]] == STARK[:8]
    assert _rows(values["Contacts"])["CON-0009"][1] == "ACC-0005"   # Tony is still Stark's
    assert values["Merged"][1:] == merged                         # the old copy alone, as it was
    row = next(n for n, r in enumerate(values["Accounts"], 1) if r[1] == "Stark")
    [(tab, at, col, value, message, hint)] = _warnings(outcome)
    assert (tab, at, col, value) == ("Accounts", row, "A", "ACC-0005")
    assert "merged into ACC-0004 on 2026-11-23" in message and "not moved to ACC-0004" in message
    assert "delete ACC-0005's row on the Merged tab" in hint
    # On the Validation tab, and the next sync has nothing to change.
    assert any("ACC-0005" in str(c) for r in values["Validation"] for c in r)
    again = sync(XlsxWorkbook(path), Config(), AS_OF)
    assert not again.plan and len(_warnings(again)) == 1


def test_xlsx_a_merged_row_left_in_its_tab_as_copied_is_still_removed(tmp_path):
    # A write that copied but did not remove: the row is still the Merged copy, so the merge is
    # finished (removed, its references moved), without a second copy and without a warning.
    path = tmp_path / "crm.xlsx"
    merged = _merged_once(path)
    _append(path, {"Accounts": INITECH, "Contacts": TONY})
    outcome = sync(XlsxWorkbook(path), Config(), AS_OF)
    assert outcome.result.deleted == {"Accounts": 1} and not _warnings(outcome)
    values = _values(path)
    assert "ACC-0005" not in _rows(values["Accounts"])
    assert _rows(values["Contacts"])["CON-0009"][1] == "ACC-0004"
    assert values["Merged"][1:] == merged


def test_xlsx_a_merge_undone_by_hand_with_its_merged_row_left_keeps_the_row(tmp_path):
    # The row put back and edited since (a new owner): not the copy, so not removed.
    path = tmp_path / "crm.xlsx"
    _merged_once(path)
    _append(path, {"Accounts": [*INITECH[:6], "bo", *INITECH[7:]]})
    outcome = sync(XlsxWorkbook(path), Config(), AS_OF)
    assert not outcome.plan.deletes and len(_warnings(outcome)) == 1
    assert _rows(_values(path)["Accounts"])["ACC-0005"][6] == "bo"


def _google(emu) -> tuple[str, object]:
    t = tabs()
    t["Accounts"].append(list(INITECH))
    t["Duplicates"] = [t["Duplicates"][0],
                       ["DUP-dddd0004", 0.95, "same domain", "Accounts", "ACC-0004", "Initech", "", "", "Initech",
                        dt.datetime(2025, 4, 2), "", "", ""],
                       ["DUP-dddd0004", 0.95, "same domain", "Accounts", "ACC-0005", "Initech Inc.", "", "",
                        "Initech Inc.", dt.datetime(2025, 6, 1), "", "x", ""]]
    t["_sheetcrm"] = [["Key", "Value"], *SEQUENCES]
    key = emu.create_spreadsheet("CRM", {k: _plain(v) for k, v in t.items()}, value_input="USER_ENTERED")
    first = Book(key).book
    first.read()
    first.write(Plan(mark_owned=["Duplicates", "_sheetcrm"]))
    assert sync(Book(key).book, Config(), AS_OF).result.deleted == {"Accounts": 1}
    client = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None)).client
    return key, client.open_by_key(key)


def test_google_a_record_typed_under_a_merged_id_is_kept_warned_and_its_references_stay(emu):
    key, sheet = _google(emu)
    merged = emu.values(key, "Merged")
    sheet.worksheet("Accounts").append_row(_plain([STARK])[0], value_input_option="USER_ENTERED")
    sheet.worksheet("Contacts").append_row(_plain([TONY])[0], value_input_option="USER_ENTERED")
    outcome = sync(Book(key).book, Config(), AS_OF)
    assert not outcome.plan.deletes and not outcome.plan.replacements
    accounts = {r[0]: r for r in sheet.worksheet("Accounts").get_all_values()[1:]}
    assert accounts["ACC-0005"][1] == "Stark"
    assert {r[0]: r for r in sheet.worksheet("Contacts").get_all_values()[1:]}["CON-0009"][1] == "ACC-0005"
    assert emu.values(key, "Merged") == merged
    [(tab, _row, col, value, message, _hint)] = _warnings(outcome)
    assert (tab, col, value) == ("Accounts", "A", "ACC-0005") and "on 2026-11-23" in message


def test_google_a_merged_row_left_in_its_tab_as_copied_is_still_removed(emu):
    # Typed back as the copy (its Created a date, which Google reads as a serial number).
    key, sheet = _google(emu)
    sheet.worksheet("Accounts").append_row(_plain([INITECH])[0], value_input_option="USER_ENTERED")
    sheet.worksheet("Contacts").append_row(_plain([TONY])[0], value_input_option="USER_ENTERED")
    outcome = sync(Book(key).book, Config(), AS_OF)
    assert outcome.result.deleted == {"Accounts": 1} and not _warnings(outcome)
    assert "ACC-0005" not in {r[0] for r in sheet.worksheet("Accounts").get_all_values()[1:]}
    assert {r[0]: r for r in sheet.worksheet("Contacts").get_all_values()[1:]}["CON-0009"][1] == "ACC-0004"
    assert len(emu.values(key, "Merged")) == 2


def test_xlsx_a_ticked_group_naming_a_reused_id_waits_on_the_tab_and_says_why(tmp_path):
    # Merging Stark (ACC-0005) would delete it without a copy: the Merged tab counts ACC-0005
    # as copied. The group was skipped without a word and the Duplicates tab rewritten without
    # it, the person's ticks gone.
    path = tmp_path / "crm.xlsx"
    _merged_once(path)
    _append(path, {"Accounts": STARK})
    wb = openpyxl.load_workbook(path)
    ws = wb["Duplicates"]
    ws.delete_rows(2, ws.max_row)
    for row in (["DUP-eeee0005", 0.9, "", "Accounts", "ACC-0004", "Initech", "", "", "", "", "x", "", ""],
                ["DUP-eeee0005", 0.9, "", "Accounts", "ACC-0005", "Stark", "", "", "", "", "", "x", ""]):
        ws.append(row)
    wb.save(path)
    outcome = sync(XlsxWorkbook(path), Config(), AS_OF)
    assert not outcome.plan.deletes
    said = [i for i in outcome.crm.report.issues if i.code == "merged_id_in_use" and i.tab == "Duplicates"]
    assert len(said) == 1 and "ACC-0005" in said[0].message and said[0].header == "Merge"
    dup = [r for r in _values(path)["Duplicates"][1:] if r and r[0] == "DUP-eeee0005"]
    assert [(r[4], r[10], r[11]) for r in dup] == [("ACC-0004", "x", None), ("ACC-0005", None, "x")]
