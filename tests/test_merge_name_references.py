"""A merge moves every reference to the survivor, whatever form names the merged record (s31 f02).

References may name a record by ID or by its exact name (a contact also by its full name or
email), as the read resolves them. A merge used to re-point only cells holding the merged ID,
so a deal whose Account named the merged account by name became `unknown_account` and left
the pipeline. Now every cell the read resolves to a merged record is re-pointed, in the person's
style: an ID gets the survivor's ID, a name the survivor's name (its email for an email) when
that names the survivor alone, else its ID. A cell that named the merged record among others,
and would name one other record alone once it is gone, keeps its group from merging, said at
the Merge cell. On real .xlsx files and on Google (the emulator, over real gspread), with every
other cell of the people's tabs unchanged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Plan
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook

from books import xlsx
from merge_crm import DUPLICATES_HEADER
from test_merge_google import Book, _plain

AS_OF = dt.date(2026, 12, 2)
D = dt.datetime


def _dup(group, tab, rid, name, merge=""):
    return [group, 0.9, "same domain", tab, rid, name, "", "", "", "", "", merge, ""]


def crm(accounts: bool = True, contacts: bool = False, shifting: bool = False) -> dict[str, list[list]]:
    tabs = {
        "Accounts": [
            ["ID", "Name", "Domain", "Owner", "Primary Contact", "Status", "Created"],
            ["ACC-0001", "Acme", "acme.com", "ana", "Robert Lee", "Customer", D(2025, 1, 1)],
            ["ACC-0002", "Acme Corporation", "acme.com", "ana", "", "Customer", D(2026, 1, 1)],
            ["ACC-0003", "Globex", "globex.com", "bo", "CON-0006", "Prospect", D(2025, 2, 1)],
        ],
        "Contacts": [
            ["ID", "Account", "First Name", "Last Name", "Email", "Created"],
            ["CON-0001", "Acme Corporation", "Al", "Smith", "al@acme.com", D(2025, 3, 1)],
            ["CON-0002", "  acme corporation ", "Di", "Ng", "di@acme.com", D(2025, 3, 2)],
            ["CON-0003", "acc-0002", "Ed", "Fox", "ed@acme.com", D(2025, 3, 3)],
            ["CON-0004", "Globex", "Flo", "Wu", "flo@globex.com", D(2025, 3, 4)],
            ["CON-0005", "Globex", "Bo", "Lee", "bo@globex.com", D(2025, 1, 1)],
            # Bo again, under another first name and the email typed another way.
            ["CON-0006", "Globex", "Robert", "Lee", "BO@globex.com", D(2026, 1, 1)],
            ["CON-0007", "Acme", "Cy", "Oh", "cy@acme.com", D(2025, 3, 5)],
        ],
        "Opportunities": [
            ["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created"],
            ["OPP-0001", "big", "Acme Corporation", "Al Smith", "ana", "Proposal", 5000, "USD", D(2027, 1, 31),
             D(2026, 11, 1)],
            ["OPP-0002", "won", "ACC-0002", "", "ana", "Closed Won", 700, "USD", D(2026, 3, 1), D(2026, 1, 1)],
            ["OPP-0003", "pilot", "Globex", "Robert Lee", "bo", "Qualification", 900, "USD", D(2027, 2, 1),
             D(2026, 11, 2)],
            ["OPP-0004", "trial", "Globex", "bo@globex.com", "bo", "Qualification", 300, "USD", D(2027, 2, 1),
             D(2026, 11, 3)],
            ["OPP-0005", "extra", "Acme", "CON-0006", "ana", "Proposal", 100, "USD", D(2027, 2, 1),
             D(2026, 11, 4)],
        ],
        "Activities": [
            ["ID", "Type", "Subject", "Related", "Date", "Owner"],
            ["ACT-0001", "Call", "Intro", "ACC-0002", D(2026, 6, 1), "ana"],
            ["ACT-0002", "Note", "Acme Corporation", "ACC-0001", D(2026, 6, 2), "ana"],
        ],
        "Duplicates": [DUPLICATES_HEADER],
    }
    if accounts:
        tabs["Duplicates"] += [_dup("DUP-a", "Accounts", "ACC-0001", "Acme"),
                               _dup("DUP-a", "Accounts", "ACC-0002", "Acme Corporation", "x")]
    if contacts:
        tabs["Duplicates"] += [_dup("DUP-c", "Contacts", "CON-0005", "Bo Lee"),
                               _dup("DUP-c", "Contacts", "CON-0006", "Robert Lee", "x")]
    if shifting:
        # Another account also called Acme Corporation (another company): "Acme Corporation"
        # names two accounts, and with ACC-0002 gone it would name this one alone.
        tabs["Accounts"].append(["ACC-0004", "Acme Corporation", "acme.co.uk", "cy", "", "Prospect", D(2025, 5, 1)])
    return tabs


# What the account merge changes in the people's tabs: (tab, ID, header) -> the new value.
ACCOUNT_MOVES = {
    ("Contacts", "CON-0001", "Account"): "Acme",      # by name: the survivor's name
    ("Contacts", "CON-0002", "Account"): "Acme",      # the name as a person reads it (case, spaces)
    ("Contacts", "CON-0003", "Account"): "ACC-0001",  # by ID, in any case: the survivor's ID
    ("Opportunities", "OPP-0001", "Account"): "Acme",
    ("Opportunities", "OPP-0002", "Account"): "ACC-0001",
    ("Activities", "ACT-0001", "Related"): "ACC-0001",
}


def _by_id(rows: list[list]) -> dict[str, dict[str, object]]:
    header = rows[0]
    return {r[0]: {h: (r[i] if i < len(r) else None) for i, h in enumerate(header) if h}
            for r in rows[1:] if r and r[0]}


def _check(before: dict[str, list[list]], after: dict[str, list[list]], moves: dict, gone: set[str]) -> None:
    """Every cell of the people's columns as it was, but the moves and the rows of `gone`."""
    for tab in ("Accounts", "Contacts", "Opportunities", "Activities"):
        old, new = _by_id(before[tab]), _by_id(after[tab])
        assert set(new) == set(old) - gone, tab
        for rid, cells in old.items():
            if rid in gone:
                continue
            for header, value in cells.items():
                want = moves.get((tab, rid, header), value)
                assert new[rid][header] == want, (tab, rid, header, new[rid][header], want)


def _values(path: Path) -> dict[str, list[list]]:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def _xlsx(path: Path, tabs: dict[str, list[list]]) -> Path:
    book = XlsxWorkbook(xlsx(path, tabs))
    book.read()
    book.write(Plan(mark_owned=["Duplicates"]))  # the Duplicates tab is sheetcrm's own
    return path


def test_xlsx_account_merge_moves_references_by_name_and_by_id(tmp_path):
    path = _xlsx(tmp_path / "crm.xlsx", crm())
    before = _values(path)
    dry = sync(XlsxWorkbook(path), Config(), AS_OF, dry_run=True)
    # The dry run counts every reference it moves, by name as well as by ID.
    assert dry.plan.replaced_by_tab() == {"Contacts": 3, "Opportunities": 2, "Activities": 1}
    assert _values(path) == before
    outcome = sync(XlsxWorkbook(path), Config(), AS_OF)
    assert outcome.result.deleted == {"Accounts": 1}
    assert dict(outcome.result.replaced) == {"Contacts": 3, "Opportunities": 2, "Activities": 1}
    after = _values(path)
    _check(before, after, ACCOUNT_MOVES, {"ACC-0002"})
    # The deal stays in the pipeline: nothing names an account that is gone.
    read = read_crm(XlsxWorkbook(path).read(), Config())
    assert not {i.code for i in read.report.issues} & {"unknown_account", "left_out"}
    # (Bo Lee's two rows share an email: that reference, not merged here, stays ambiguous.)
    assert {i.value for i in read.report.issues if i.code == "ambiguous_reference"} == {"bo@globex.com"}
    assert [o.id for o in read.records("opportunities")] == ["OPP-0001", "OPP-0002", "OPP-0003", "OPP-0004",
                                                             "OPP-0005"]
    # Once: a second sync has nothing left to merge or move.
    again = sync(XlsxWorkbook(path), Config(), AS_OF)
    assert not again.plan.replacements and not again.plan.deletes


def test_xlsx_contact_merge_keeps_the_style_and_writes_the_id_when_the_name_is_not_unique(tmp_path):
    tabs = crm(accounts=False, contacts=True)
    path = _xlsx(tmp_path / "crm.xlsx", tabs)
    before = _values(path)
    sync(XlsxWorkbook(path), Config(), AS_OF)
    moves = {
        # "Robert Lee" named CON-0006 by its full name: the survivor's, "Bo Lee", names it alone.
        ("Opportunities", "OPP-0003", "Contact"): "Bo Lee",
        ("Accounts", "ACC-0001", "Primary Contact"): "Bo Lee",
        ("Opportunities", "OPP-0005", "Contact"): "CON-0005",
        ("Accounts", "ACC-0003", "Primary Contact"): "CON-0005",
        # "bo@globex.com" named both (the email as a person reads it): it names the survivor
        # alone now, and stays as typed.
    }
    _check(before, _values(path), moves, {"CON-0006"})

    # With another Bo Lee (another company) the name would not say which: the ID is written.
    tabs["Contacts"].append(["CON-0008", "Acme", "Bo", "Lee", "bo.lee@acme.com", D(2025, 4, 1)])
    path = _xlsx(tmp_path / "other.xlsx", tabs)
    before = _values(path)
    sync(XlsxWorkbook(path), Config(), AS_OF)
    moves[("Opportunities", "OPP-0003", "Contact")] = moves[("Accounts", "ACC-0001", "Primary Contact")] = "CON-0005"
    _check(before, _values(path), moves, {"CON-0006"})


def test_a_reference_that_would_quietly_name_another_record_keeps_the_group_from_merging(tmp_path):
    path = _xlsx(tmp_path / "crm.xlsx", crm(shifting=True))
    before = _values(path)
    outcome = sync(XlsxWorkbook(path), Config(), AS_OF)
    after = _values(path)
    _check(before, after, {}, set())  # nothing merged, nothing moved
    issue = next(i for i in outcome.crm.report.issues if i.code == "merge_reference_shifts")
    assert issue.tab == "Duplicates" and issue.header == "Merge" and issue.value == "x"
    assert "ACC-0002, ACC-0004" in issue.message and "ACC-0004 alone" in issue.message
    assert "Contacts, row 2, Account" in issue.message
    # The tick stays where the person left it.
    dups = after["Duplicates"]
    merge = dups[0].index("Merge")
    assert [(r[4], r[merge]) for r in dups[1:] if r[0] == "DUP-a"] == [("ACC-0001", None), ("ACC-0002", "x")]


def test_memory_merges_both_kinds_in_one_sync():
    book = MemoryWorkbook(crm(contacts=True), owned={"Duplicates"})
    before = {t: [list(r) for r in rows] for t, rows in book.tabs.items()}
    sync(book, Config(), AS_OF)
    moves = {**ACCOUNT_MOVES, ("Opportunities", "OPP-0003", "Contact"): "Bo Lee",
             ("Accounts", "ACC-0001", "Primary Contact"): "Bo Lee", ("Opportunities", "OPP-0005", "Contact"): "CON-0005",
             ("Accounts", "ACC-0003", "Primary Contact"): "CON-0005"}
    _check(before, book.tabs, moves, {"ACC-0002", "CON-0006"})


def test_google_account_merge_moves_references_by_name(emu):
    key = emu.create_spreadsheet("CRM", {t: _plain(r) for t, r in crm(contacts=True).items()},
                                 value_input="USER_ENTERED")
    first = Book(key).book
    first.read()
    first.write(Plan(mark_owned=["Duplicates"]))
    tabs = ("Accounts", "Contacts", "Opportunities", "Activities")
    before = {t: emu.values(key, t) for t in tabs}
    outcome = sync(Book(key).book, Config(), AS_OF)
    assert outcome.result.deleted == {"Accounts": 1, "Contacts": 1}
    after = {t: emu.values(key, t) for t in tabs}
    moves = {**ACCOUNT_MOVES, ("Opportunities", "OPP-0003", "Contact"): "Bo Lee",
             ("Accounts", "ACC-0001", "Primary Contact"): "Bo Lee", ("Opportunities", "OPP-0005", "Contact"): "CON-0005",
             ("Accounts", "ACC-0003", "Primary Contact"): "CON-0005"}
    _check(before, after, moves, {"ACC-0002", "CON-0006"})
    assert not sync(Book(key).book, Config(), AS_OF).plan.replacements
