"""sheetcrm's own tabs edited by a person between the sync's read and its batch on Google (a tick
typed, the tab sorted): the rewrite lands by position, with no expectation, so each row it
touches is written whole. A Merge tick, a Keep tick or a note never ends beside another
record's Group and ID (docs/concurrency.md). Over real gspread against the emulator.

Found attacking the Duplicates tab: a Merge tick typed on Globex's ACC-0001 row in the instant
before the batch stayed on that sheet row while the rewrite put a new group (LEAD-0005 and
LEAD-0004) there; the next sync merged LEAD-0004 into LEAD-0005, which nobody had ticked."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan

from test_duplicates_tab import ANA, AS_OF, GLOBEX, TABS, duplicates, google_book, group_key, row_of

JORGE = group_key(["LEAD-0004", "LEAD-0005"])
SERIAL = {k: [[(v - dt.date(1899, 12, 30)).days if isinstance(v, dt.date) else v for v in row] for row in rows]
          for k, rows in TABS.items()}
NEW_LEAD = ["LEAD-0005", "Jorge", "Vidal", "Acme", "jorge@acme.com", "", "New", 46000]


def _book(emu):
    key = emu.create_spreadsheet("CRM", SERIAL)
    book = google_book(key)
    sync(book, Config(), as_of=AS_OF)
    # A duplicate of Jorge arrives: its group is written above Globex's, whose rows move down.
    emu.set_values(key, "Leads!A6", [NEW_LEAD])
    return key, book


def _ticked(rows, col: int) -> list[tuple]:
    return [(r[0], r[4]) for r in rows[1:] if r[col - 1] not in (None, "", False)]


def _nothing_merged(emu, key) -> bool:
    ids = {t: {r[0] for r in emu.values(key, t)[1:]} for t in ("Leads", "Accounts", "Contacts")}
    return ids == {"Leads": {f"LEAD-000{n}" for n in range(1, 6)}, "Accounts": {"ACC-0001", "ACC-0002", "ACC-0003"},
                   "Contacts": {"CON-0001", "CON-0002"}}


def test_a_merge_tick_typed_in_the_instant_before_the_batch_never_lands_on_another_group(emu):
    key, book = _book(emu)
    at = row_of(duplicates(book), GLOBEX, "ACC-0001")
    emu.before_next(":batchUpdate", lambda e: e.set_cell(key, "Duplicates", f"L{at}", True))
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    assert rows[at - 1][0] == JORGE  # the rewrite put Jorge's group where the tick was typed
    # The tick typed in that instant is lost (the rewrite wins), never left on Jorge's group.
    assert _ticked(rows, 12) in ([], [(GLOBEX, "ACC-0001")])
    sync(book, Config(), as_of=AS_OF)
    assert _nothing_merged(emu, key)


EDITS = {"sort": lambda e, key: e.sort_rows(key, "Duplicates", 4, descending=True),
         "insert": lambda e, key: e.insert_rows(key, "Duplicates", 1),
         "delete": lambda e, key: e.delete_rows(key, "Duplicates", 1)}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_row_edit_of_the_duplicates_tab_before_the_batch_leaves_every_tick_with_its_group(emu, edit):
    key, book = _book(emu)
    rows = duplicates(book)
    # Ticks a person left before the sync: Keep on Ana's LEAD-0003, Not duplicates on Globex.
    emu.set_cell(key, "Duplicates", f"K{row_of(rows, ANA, 'LEAD-0003')}", True)
    emu.set_cell(key, "Duplicates", f"M{row_of(rows, GLOBEX, 'ACC-0002')}", True)
    # In the instant before the batch the person sorts the tab by ID (Z→A), or inserts or deletes
    # a row at its top.
    emu.before_next(":batchUpdate", lambda e: EDITS[edit](e, key))
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    assert set(_ticked(rows, 11)) <= {(ANA, "LEAD-0003")}
    assert set(_ticked(rows, 13)) <= {(GLOBEX, "ACC-0002")}
    # Every row is one record's: its cells are those the next sync writes for its (Group, ID).
    sync(book, Config(), as_of=AS_OF)
    fresh = {(r[0], r[4]): r[:10] for r in duplicates(book)[1:]}
    assert all(fresh.get((r[0], r[4])) == r[:10] for r in rows[1:] if r[0]), rows
    assert _nothing_merged(emu, key)


def _history_book(emu):
    from test_owned_their_columns import TABS as DEALS
    key = emu.create_spreadsheet("CRM", DEALS, value_input="USER_ENTERED")
    book = google_book(key)
    sync(book, Config(), as_of=dt.date(2027, 1, 10))
    for n, (cell, day) in enumerate((("E2", 11), ("E3", 12))):
        emu.set_cell(key, "Opportunities", cell, "Qualification")
        sync(book, Config(), as_of=dt.date(2027, 1, day))
    emu.set_cell(key, "Opportunities", "E4", "Negotiation")
    return key, book


def _history(emu, key) -> list[tuple]:
    return sorted(tuple(r[:4]) for r in emu.values(key, "Stage History")[1:] if r and r[0])


def test_a_row_inserted_in_a_history_tab_in_the_instant_before_the_batch_loses_no_history_row(emu):
    key, book = _history_book(emu)
    before = _history(emu, key)
    emu.before_next(":batchUpdate", lambda e: e.insert_rows(key, "Stage History", 1))
    sync(book, Config(), as_of=dt.date(2027, 1, 13))
    # Before, the new row was written where the insert had moved OPP-0002's Qualification row,
    # and the next sync recorded that change again, dated the 14th.
    after = _history(emu, key)
    assert after == sorted([*before, ("OPP-0003", "Prospecting", "Negotiation", 46400)])
    sync(book, Config(), as_of=dt.date(2027, 1, 14))
    assert _history(emu, key) == after


def test_a_history_batch_whose_answer_was_lost_adds_its_rows_once(emu):
    # A plan that moves no sequence mark (whose generation would tell a landed batch): its
    # retry after the lost answer must not open the rows a second time.
    key, book = _history_book(emu)
    rows = emu.values(key, "Stage History")
    new = ["OPP-0003", "Prospecting", "Negotiation", 46400, 3000]
    at = len(rows) + 1
    plan = Plan(writes=[CellWrite("Stage History", at, c, v) for c, v in enumerate(new, 1)],
                appended={"Stage History": (at, at)})
    emu.before_next(":batchUpdate", lambda e: e.drop_next(1, after_applying=True))
    book.read()
    book.write(plan)
    assert emu.values(key, "Stage History") == [*rows, new]
