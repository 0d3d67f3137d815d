"""Merging on Google, over real gspread against the emulator: references re-pointed with
findReplace (matchEntireCell) and merged rows removed with deleteDimension aimed by a re-read
of the ID column, in the one batchUpdate of the sync, with a sort between read and write."""

from __future__ import annotations

import datetime as dt
import json


from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook import Plan
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.target import header_tests

from merge_crm import tabs
from test_merge import _check_merged

AS_OF = dt.date(2026, 11, 23)
# Reads of a Google sync that writes into people's rows (docs/concurrency.md); the deletes' key
# columns ride along in the re-read that aims the writes, and the holding tabs' ID columns in
# the read-back after it, at no extra request. These syncs are the sheets' first, which also
# read the validation rules under their first dropdowns once (a team's own rule stays:
# workbook/gsheets.py, "Charts and guides"): 4 + 1.
READS = 5



def _plain(rows):
    return [[v.date().isoformat() if isinstance(v, dt.datetime) else v for v in r] for r in rows]


class Book:
    def __init__(self, key: str) -> None:
        self.trace = []
        conn = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None), tracer=self.trace.append)
        self.book = GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com",
                                        **header_tests(Config()))

    def counts(self) -> tuple[int, int]:
        reads = sum(1 for t in self.trace if t.kind == "read")
        return reads, len(self.trace) - reads


def _sheet(emu) -> str:
    key = emu.create_spreadsheet("CRM", {t: _plain(r) for t, r in tabs().items()}, value_input="USER_ENTERED")
    book = Book(key).book
    book.read()
    book.write(Plan(mark_owned=["Duplicates"]))
    return key


def _values(emu, key):
    return {t: emu.values(key, t) for t in ("Accounts", "Contacts", "Opportunities", "Activities", "Merged")}


def test_google_merge_with_a_sort_between_read_and_write(emu):
    key = _sheet(emu)
    traced = Book(key)
    book = traced.book
    real_write = book.write

    def sorted_meanwhile(plan):
        # A person sorts Accounts, Contacts and Opportunities descending by ID before the write.
        for tab in ("Accounts", "Contacts", "Opportunities"):
            emu.sort_rows(key, tab, 0, descending=True)
        return real_write(plan)

    book.write = sorted_meanwhile
    outcome = sync(book, Config(), AS_OF)
    assert outcome.result.deleted == {"Accounts": 1, "Contacts": 1}
    # The cells the findReplaces changed, as Google counts them (what the run's summary says).
    assert outcome.result.replaced == {"Contacts": 1, "Opportunities": 2, "Activities": 1}
    values = _values(emu, key)
    _check_merged(values)
    assert [r[0] for r in values["Accounts"][1:]] == ["ACC-0004", "ACC-0002", "ACC-0001"]
    # One batchUpdate for everything: fills, copies, findReplace, the holds and deleteDimension;
    # then one that drops the holding tabs, whose read-back rode along with the sync's own.
    batches = [json.loads(r.request)["requests"] for r in emu.requests if r.path.endswith(":batchUpdate")]
    last, drop = batches[-2], batches[-1]
    kinds = [next(iter(r)) for r in last]
    finds = [r["findReplace"] for r in last if "findReplace" in r]
    assert len(finds) == 4 and all(f["matchEntireCell"] and f["matchCase"] for f in finds)
    # Each row to go is copied whole into its tab's hidden holding tab, at its own row, just
    # before the deletes, which come last, bottom row first, after every write they could move.
    hidden = [r["addSheet"]["properties"] for r in last if "addSheet" in r and r["addSheet"]["properties"].get("hidden")]
    assert len(hidden) == 2 and kinds.count("copyPaste") == 2
    assert kinds[-2:] == ["deleteDimension", "deleteDimension"]
    copies = [r["copyPaste"] for r in last if "copyPaste" in r]
    assert all(c["pasteType"] == "PASTE_NORMAL" and c["source"]["startRowIndex"] == c["destination"]["startRowIndex"]
               for c in copies)
    assert [next(iter(r)) for r in drop] == ["deleteSheet", "deleteSheet"]
    reads, writes = traced.counts()
    assert (reads, writes) == (READS, 2)
    assert not [s.title for s in emu.service.book(key).sheets if s.title.startswith("_sheetcrm hold")]
    # A second sync reads and writes nothing.
    again = Book(key)
    assert not sync(again.book, Config(), AS_OF).plan
    assert again.counts()[1] == 0


def _digits(v):
    """A team's IDs of digits typed as text ('0003: the apostrophe keeps the zeros)."""
    if isinstance(v, str) and v[:4] in ("ACC-", "CON-"):
        return "'" + {"ACC-": "0", "CON-": "1"}[v[:4]] + v[5:]
    return v


def test_google_merge_keeps_a_reference_to_a_digits_id_text(emu):
    # Accounts 0001..0004 and Contacts 1001..1004 are text. A findReplace's replacement is
    # entered as typed, so "0003" -> "0001" made the number 1, which names no account: each
    # such cell is written as text by position instead, guarded by its row's ID, with a
    # sort of Contacts between the read and the write.
    key = emu.create_spreadsheet("CRM", {t: [[_digits(v) for v in r] for r in _plain(rows)]
                                         for t, rows in tabs().items()}, value_input="USER_ENTERED")
    first = Book(key).book
    first.read()
    first.write(Plan(mark_owned=["Duplicates"]))
    book = Book(key).book
    real_write = book.write

    def sorted_meanwhile(plan):
        emu.sort_rows(key, "Contacts", 0, descending=True)
        return real_write(plan)

    book.write = sorted_meanwhile
    outcome = sync(book, Config(), AS_OF)
    assert outcome.result.deleted == {"Accounts": 1, "Contacts": 1}
    contacts = {r[0]: r for r in emu.values(key, "Contacts")[1:]}
    assert set(contacts) == {"1004", "1002", "1001"} and contacts["1001"][1] == "0001"
    assert contacts["1002"][1] == "0002" and contacts["1004"][1] == "0004"
    opps = {r[0]: r[2:4] for r in emu.values(key, "Opportunities")[1:]}
    assert opps == {"OPP-0001": ["0001", "1001"], "OPP-0002": ["0002", "1002"], "OPP-0003": ["0001", "1001"]}
    assert emu.values(key, "Activities")[1][3] == "0001"
    # Said as references moved (Contacts' Account, Opportunities' Account and Contact,
    # Activities' Related), not as cells written.
    assert outcome.result.replaced == {"Contacts": 1, "Opportunities": 2, "Activities": 1}
    # Every reference names its record (no unknown_account, unknown_contact...): only the
    # digits IDs' own notes and the tabs this small CRM has not.
    again = sync(Book(key).book, Config(), AS_OF)
    assert {i.code for i in again.crm.report.issues} == {"missing_tab", "id_pattern"}


def test_google_a_survivors_empty_date_is_filled_as_a_date_not_its_serial(emu):
    # Google's values read gives a date as its serial number: filled as read, the survivor's
    # empty Created showed 45725 to the team instead of 2025-03-09.
    t = tabs()
    t["Accounts"][1][8] = ""  # ACC-0001, kept, has no Created; ACC-0003's is 2025-03-09
    t["Duplicates"][1][10] = "x"
    key = emu.create_spreadsheet("CRM", {k: _plain(v) for k, v in t.items()}, value_input="USER_ENTERED")
    first = Book(key).book
    first.read()
    first.write(Plan(mark_owned=["Duplicates"]))
    assert sync(Book(key).book, Config(), AS_OF).result.deleted == {"Accounts": 1, "Contacts": 1}
    conn = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None))
    shown = {r[0]: r for r in conn.client.open_by_key(key).worksheet("Accounts").get_all_values()[1:]}
    assert shown["ACC-0001"][8] == "2025-03-09"
    merged = emu.values(key, "Merged")[1:]
    assert "Created=2025-03-09" in next(r for r in merged if r[3] == "ACC-0003")
    assert not sync(Book(key).book, Config(), AS_OF).plan
