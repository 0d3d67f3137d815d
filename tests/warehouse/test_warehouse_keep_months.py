"""`[warehouse] keep_months` (issue 17): the sheet keeps the last N months of Stage History, Lead
Status History and the Sync Log while the warehouse keeps every row (docs/warehouse.md).

Two twin workbooks live the same ten months of a sales team (deals moved, won and lost, leads
worked), synced on the same days: one with `keep_months = 3`, one keeping everything. Every
cell outside the history tabs must be the same in both after every sync (the calibrated
forecast, Days in Stage, the Dashboard, the people's own cells), a row may leave the sheet
only once the warehouse held it before the sync, each record's last row stays, the warehouse
holds every row, and an unreachable warehouse removes nothing. Against SQLite and a real
PostgreSQL (conftest.py), with real .xlsx files, and on the Google emulator.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine

from books import xlsx_book
from demo_runs import run_cli
from sheetcrm.config import Config
from sheetcrm.crm.history import latest
from sheetcrm.owned import owned_title
from sheetcrm.schema import FORECAST, LEAD_HISTORY, SEQUENCES, STAGE_HISTORY, SYNC_LOG, VALIDATION
from sheetcrm.steps.compute import CALIBRATION_PARTIAL
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm
from sheetcrm.warehouse.keep import ARCHIVED, cutoff, history_keys
from sheetcrm.warehouse.settings import WarehouseSettings
from sheetcrm.warehouse.tables import APPENDED
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.target import header_tests

MONTHS = 3
ACCOUNTS = [["ID", "Name", "Domain", "Industry", "Employees", "Country", "Owner", "Status", "Created"],
            ["ACC-0001", "Acme", "acme.com", "Software", 50, "US", "ana", "Customer", dt.datetime(2025, 1, 5)]]
OPPORTUNITIES = [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created",
                  "Notes"]] + [
    [f"OPP-{n:04d}", f"Deal {n}", "ACC-0001", "", "ana" if n % 2 else "bo", "Prospecting", 1000 * n, "USD",
     dt.datetime(2026, 12, n), dt.datetime(2025, 12, n), f"typed by a person {n}"] for n in range(1, 9)]
LEADS = [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Source", "Owner", "Created"]] + [
    [f"LEAD-{n:04d}", f"Ann{n}", "Lee", f"Co {n}", f"ann{n}@co{n}.com", "New", "Web", "ana", dt.datetime(2025, 12, n)]
    for n in range(1, 6)]

# (sync day, deals moved, leads moved): what the team did before each sync.
STORY = [
    (dt.date(2026, 1, 10), {}, {}),
    (dt.date(2026, 2, 10), {1: "Qualification", 2: "Qualification", 3: "Qualification"}, {1: "Contacted"}),
    (dt.date(2026, 3, 10), {1: "Proposal", 2: "Closed Lost", 4: "Qualification"}, {1: "Qualified", 2: "Contacted"}),
    (dt.date(2026, 4, 10), {1: "Closed Won", 3: "Proposal", 5: "Qualification"}, {2: "Unqualified"}),
    (dt.date(2026, 5, 10), {3: "Closed Won", 4: "Proposal", 6: "Qualification"}, {3: "Contacted"}),
    (dt.date(2026, 6, 10), {4: "Closed Lost", 5: "Proposal"}, {}),
    (dt.date(2026, 7, 10), {6: "Proposal", 7: "Qualification"}, {3: "Qualified"}),
    (dt.date(2026, 8, 10), {5: "Negotiation"}, {4: "Contacted"}),
    (dt.date(2026, 9, 10), {7: "Proposal"}, {}),
    (dt.date(2026, 10, 10), {5: "Closed Won", 8: "Qualification"}, {4: "Qualified"}),
    (dt.date(2026, 11, 10), {6: "Closed Lost"}, {5: "Contacted"}),
]
# sheetcrm's tabs whose rows keep_months lets go (or that count them): the only ones that differ.
TRIMMED_TABS = {STAGE_HISTORY.key, LEAD_HISTORY.key, SYNC_LOG.key, SEQUENCES.key}


def tabs() -> dict[str, list[list]]:
    return {"Accounts": [list(r) for r in ACCOUNTS], "Opportunities": [list(r) for r in OPPORTUNITIES],
            "Leads": [list(r) for r in LEADS]}


def engine_of(url: str) -> Engine:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def held(url: str, name: str) -> set[tuple]:
    """Every key the warehouse's appended table `name` holds."""
    table = APPENDED[name]
    engine = engine_of(url)
    try:
        with engine.connect() as c:
            return {tuple(r) for r in c.execute(select(*(col for col in table.primary_key)))}
    finally:
        engine.dispose()


def move(book, day_edits: dict[int, str], lead_edits: dict[int, str]) -> None:
    """What the person does before a sync: types a deal's Stage or a lead's Status."""
    snapshot = book.read()
    writes = []
    for tab, prefix, edits in (("Opportunities", "OPP", day_edits), ("Leads", "LEAD", lead_edits)):
        rows = snapshot.tabs[tab].rows
        for n, value in edits.items():
            row = next(i for i, r in enumerate(rows, 1) if r and r[0] == f"{prefix}-{n:04d}")
            writes.append(CellWrite(tab, row, 6, value))  # Stage, Status: the sixth column of both
    if writes:
        book.write(Plan(writes=writes))


def others(snapshot) -> dict[str, list]:
    """Every tab but those keep_months trims, as its cells."""
    skip = {owned_title(snapshot, t) for t in (STAGE_HISTORY, LEAD_HISTORY, SYNC_LOG, SEQUENCES)}
    return {title: [list(r) for r in grid.rows] for title, grid in snapshot.tabs.items() if title not in skip}


def histories(snapshot, config):
    crm = read_crm(snapshot, config)
    return crm.inputs.stage_history, crm.inputs.lead_history


def test_a_read_only_command_with_an_unreachable_warehouse_does_not_speak_of_this_sync(tmp_path):
    """validate, kpis and forecast with keep_months and a warehouse that cannot be read said
    "...; the sheet keeps its older history rows this sync": they sync nothing. They say what
    they lose: the stage calibration counts only the history the sheet holds."""
    from books import crm_tabs, xlsx

    xlsx(tmp_path / "crm.xlsx", crm_tabs())
    (tmp_path / "sheetcrm.toml").write_text(f'[warehouse]\nurl = "sqlite:///{tmp_path / "nowhere" / "wh.db"}"\n'
                                            "keep_months = 3\nattempts = 1\n", encoding="utf-8")
    for command in ("validate", "kpis", "forecast"):
        out = run_cli(command, "--workbook", "crm.xlsx", cwd=tmp_path)
        assert out.returncode in (0, 1) and "Traceback" not in out.stderr, (command, out.stderr)
        assert out.stderr.endswith("; the stage calibration counts only the history rows the sheet holds\n"), (
            command, out.stderr)
        assert out.stderr.count("\n") == 1 and "this sync" not in out.stderr, (command, out.stderr)


@pytest.mark.parametrize("locale", ["en", "es"])  # in Spanish the history's words are Spanish
def test_the_sheet_keeps_n_months_the_warehouse_every_row_and_every_number_stays(tmp_path, warehouse_url, locale):
    kept_url, full_url = warehouse_url, f"sqlite:///{tmp_path / 'full.db'}"
    kept_config = Config(locale=locale, warehouse=WarehouseSettings(url=kept_url, keep_months=MONTHS))
    full_config = Config(locale=locale, warehouse=WarehouseSettings(url=full_url))
    kept = xlsx_book(tmp_path / "kept.xlsx", tabs())
    full = xlsx_book(tmp_path / "full.xlsx", tabs())
    trimmed_ever = 0
    left = {"stage_history": 0, "lead_status_history": 0}
    for day, deals, leads in STORY:
        move(kept, deals, leads)
        move(full, deals, leads)
        before = {name: held(kept_url, name) if day != STORY[0][0] else set() for name in APPENDED}
        done = sync(kept, kept_config, as_of=day)
        sync(full, full_config, as_of=day)
        assert done.mirrored is not None and done.mirrored.outcome == "mirrored"
        assert not any(i.code == CALIBRATION_PARTIAL for i in done.crm.report.issues)
        k, f = kept.read(), full.read()
        # (3), (8): the calibrated forecast, Days in Stage, the Dashboard and every person's cell
        # are the same as without keep_months.
        assert others(k) == others(f), day
        (ks, kl), (fs, fl) = histories(k, kept_config), histories(f, full_config)
        for sheet, whole, name in ((ks, fs, "stage_history"), (kl, fl, "lead_status_history")):
            gone = set(history_keys(whole)) - set(history_keys(sheet))
            # (1): only rows older than N months that the warehouse held before this sync.
            assert gone <= before[name], (day, gone - before[name])
            assert all(key[1] < cutoff(day, MONTHS) for key in gone)
            # (2): each record's last row stays, whatever its age.
            assert latest(sheet) == latest(whole)
            # (6): the warehouse holds every row ever logged.
            assert held(kept_url, name) == set(history_keys(whole))
            trimmed_ever = max(trimmed_ever, len(gone))
            # The sync says what it took out of the sheet (JSON: "trimmed").
            assert done.as_dict()["trimmed"].get(name, 0) == len(gone) - left[name], (day, name)
            left[name] = len(gone)
        # What the sheet gave up is counted beside the sequences, for the calibration's check.
        crm = read_crm(k, kept_config)
        assert crm.inputs.sequences.get(ARCHIVED, 0) == len(set(history_keys(fs)) - set(history_keys(ks)))
    assert trimmed_ever >= 5, "the story must let rows go, or it proves nothing"
    # The calibration counted every closed deal, though their first rows left the sheet: all six
    # closed deals were in the first stage, three of them won.
    first_stage = next(r for r in k.tabs[owned_title(k, FORECAST)].rows if r and r[-1] == 6)
    assert first_stage[2] == 0.5
    assert all(r.from_value for r in ks if r.record_id in {"OPP-0001", "OPP-0002", "OPP-0003"})  # first rows gone
    assert max(r.changed_at for r in ks) >= STORY[-1][0]
    assert min(r.changed_at for r in ks) < cutoff(STORY[-1][0], MONTHS)  # old last rows stay

    # (8): what the person typed is as typed (beside being the same as in the twin).
    deals = k.tabs["Opportunities"].rows
    assert [r[:3] + r[4:5] + r[10:11] for r in deals[1:]] == [r[:3] + r[4:5] + r[10:11] for r in OPPORTUNITIES[1:]]
    assert [r[:4] for r in k.tabs["Accounts"].rows] == [r[:4] for r in ACCOUNTS]

    # (4): a second sync on the same day changes nothing, in the sheet or the warehouse.
    again = sync(kept, kept_config, as_of=STORY[-1][0])
    assert again.result is None and not again.plan
    assert again.mirrored.outcome == "unchanged"
    assert kept.read().tabs == k.tabs


def test_an_unreachable_warehouse_removes_nothing_and_says_the_calibration_is_partial(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    book = xlsx_book(tmp_path / "crm.xlsx", tabs())
    config = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    for day, deals, leads in STORY:
        move(book, deals, leads)
        sync(book, config, as_of=day)
    trimmed = read_crm(book.read(), config).inputs.sequences[ARCHIVED]
    assert trimmed > 0
    # The database is gone (a folder that does not exist): the sync goes on, nothing leaves the sheet.
    gone = Config(warehouse=WarehouseSettings(url=f"sqlite:///{tmp_path / 'nowhere' / 'wh.db'}", keep_months=MONTHS,
                                              attempts=1))
    before = book.read()
    move(book, {8: "Proposal"}, {5: "Qualified"})
    late = dt.date(2027, 3, 10)  # everything before December is older than 3 months now
    with caplog.at_level(logging.WARNING):
        outcome = sync(book, gone, as_of=late)
    assert outcome.result is not None  # (5): the sync succeeded and wrote
    assert outcome.mirrored.outcome == "failed"
    after = book.read()
    stage_before, lead_before = histories(before, config)
    stage_after, lead_after = histories(after, config)
    assert set(history_keys(stage_before)) <= set(history_keys(stage_after))
    assert set(history_keys(lead_before)) <= set(history_keys(lead_after))
    assert read_crm(after, config).inputs.sequences[ARCHIVED] == trimmed
    # The calibration could not read back the rows the sheet gave up: it says so, plainly.
    partial = [i for i in outcome.crm.report.issues if i.code == CALIBRATION_PARTIAL]
    assert len(partial) == 1 and partial[0].severity == "warning" and partial[0].value == trimmed
    assert "keeps its older history rows this sync" in caplog.text
    # So does the read-only forecast, as a person runs it.
    (tmp_path / "sheetcrm.toml").write_text(f'[warehouse]\nurl = "sqlite:///{tmp_path / "nowhere" / "wh.db"}"\n'
                                            f"keep_months = {MONTHS}\nattempts = 1\n", encoding="utf-8")
    out = run_cli("forecast", "--workbook", "crm.xlsx", "--as-of", late.isoformat(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "The stage calibration counts only the Stage History the sheet holds" in out.stdout
    # It syncs nothing: "this sync" was said of a command that keeps and removes nothing.
    assert "the stage calibration counts only the history rows the sheet holds" in out.stderr
    assert "this sync" not in out.stderr and "Traceback" not in out.stderr
    # And a program reading its JSON.
    out = run_cli("forecast", "--workbook", "crm.xlsx", "--as-of", late.isoformat(), "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["calibration_partial"] is True
    # Reachable again: the calibration is whole again and the rows that aged go.
    back = sync(book, config, as_of=late)
    assert not any(i.code == CALIBRATION_PARTIAL for i in back.crm.report.issues)
    (tmp_path / "sheetcrm.toml").write_text(f'[warehouse]\nurl = "{url}"\nkeep_months = {MONTHS}\n', encoding="utf-8")
    out = run_cli("forecast", "--workbook", "crm.xlsx", "--as-of", late.isoformat(), "--format", "json", cwd=tmp_path)
    assert json.loads(out.stdout)["calibration_partial"] is False
    assert read_crm(book.read(), config).inputs.sequences[ARCHIVED] > trimmed


def test_rows_leave_only_once_the_warehouse_holds_them(tmp_path):
    """keep_months turned on over a long history with an empty warehouse: the first sync mirrors
    and removes nothing; the next one removes what the first mirrored."""
    book = xlsx_book(tmp_path / "crm.xlsx", tabs())
    for day, deals, leads in STORY:
        move(book, deals, leads)
        sync(book, Config(), as_of=day)
    whole = histories(book.read(), Config())
    config = Config(warehouse=WarehouseSettings(url=f"sqlite:///{tmp_path / 'wh.db'}", keep_months=MONTHS))
    day = STORY[-1][0]
    first = sync(book, config, as_of=day)
    assert first.mirrored.outcome == "mirrored"
    assert histories(book.read(), config) == whole
    # The warehouse holds them now, but a sync with nothing else to write stays idle: the rows
    # leave with the next write (on Google, keep_months never costs a batchUpdate of its own).
    idle = sync(book, config, as_of=day)
    assert not idle.plan and idle.result is None and idle.trimmed == {}
    assert histories(book.read(), config) == whole
    move(book, {8: "Proposal"}, {})  # the next sync writes anyway
    # The next sync, as a person runs it: it says what now lives only in the warehouse.
    (tmp_path / "sheetcrm.toml").write_text(f'[warehouse]\nurl = "sqlite:///{tmp_path / "wh.db"}"\n'
                                            f"keep_months = {MONTHS}\n", encoding="utf-8")
    out = run_cli("sync", "--workbook", "crm.xlsx", "--as-of", day.isoformat(), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    stage, lead = histories(book.read(), config)
    gone = len(whole[0]) + 1 - len(stage) + len(whole[1]) - len(lead)
    assert len(stage) < len(whole[0]) + 1 and len(lead) < len(whole[1])
    assert f"keep_months: {gone} older rows of history or Sync Log now only in the warehouse" in out.stdout
    assert "warehouse: mirrored" in out.stdout


def test_rows_logged_before_an_id_was_retyped_leave_once_the_warehouse_holds_them(tmp_path):
    """The warehouse holds a deal's rows under the ID as its row spells it now ("opp-0001"
    retyped over OPP-0001); the sheet's older rows, still "OPP-0001", were looked for under
    that spelling, never found held, and never left the sheet. They leave, marked there."""
    config = Config(warehouse=WarehouseSettings(url=f"sqlite:///{tmp_path / 'wh.db'}"))
    book = xlsx_book(tmp_path / "crm.xlsx", {"Accounts": [list(r) for r in ACCOUNTS],
                                             "Opportunities": [list(r) for r in OPPORTUNITIES[:2]]})
    sync(book, config, as_of=dt.date(2026, 1, 10))
    book.write(Plan(writes=[CellWrite("Opportunities", 2, 1, "opp-0001"), CellWrite("Opportunities", 2, 6,
                                                                                     "Qualification")]))
    sync(book, config, as_of=dt.date(2026, 2, 10))
    config.warehouse.keep_months = MONTHS  # the next sync writes anyway: Days in Stage moves
    day = dt.date(2026, 11, 10)
    assert sync(book, config, as_of=day).mirrored.outcome == "mirrored"
    stage, _lead = histories(book.read(), config)
    assert [(h.record_id, h.to_value) for h in stage] == [("opp-0001", "Qualification")]  # the last row stays
    table = APPENDED["stage_history"]
    with engine_of(config.warehouse.url).connect() as c:
        assert c.execute(select(table.c.record_id, table.c.to_value, table.c.trimmed_on).order_by(table.c.changed_at)
                         ).all() == [("opp-0001", "Prospecting", day), ("opp-0001", "Qualification", None)]


def test_the_sync_log_keeps_n_months_once_the_warehouse_holds_them(tmp_path):
    from sheetcrm.sync import plan_context, plan_kept, read_archive

    rows = [["Time", "Job", "Duration (s)", "Rows Read", "Issues", "Cells Written", "Requests", "Status", "Message"]]
    rows += [[f"2026-{m:02d}-01T09:00:00.000+00:00", "sync", 1.5, 10, 0, 3, 2, "ok", ""] for m in range(1, 12)]
    book = xlsx_book(tmp_path / "crm.xlsx", {**tabs(), "Sync Log": rows})
    book.write(Plan(mark_owned=["Sync Log"]))
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    config = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    day = dt.date(2026, 11, 20)
    sync(book, config, as_of=day)  # mirrors the Sync Log: the warehouse held none of it before
    assert len(book.read().tabs["Sync Log"].rows) == 12
    assert len(held(url, "sync_log")) == 11
    move(book, {1: "Qualification"}, {})  # a plan that writes anyway: the old rows ride along
    archive = read_archive(config, book, day)
    ctx = plan_kept(lambda a: plan_context(book.read(), config, day, [["2026-11-20T10:00:00.000+00:00", "sync", 1, 10,
                                                                         0, 3, 2, "ok", ""]], archive=a),
                    archive, config)
    book.write(ctx.plan)
    times = [r[0] for r in book.read().tabs["Sync Log"].rows[1:]]
    # Older than 3 months on 2026-11-20: before August 1st.
    assert times == ["2026-08-01T09:00:00.000+00:00", "2026-09-01T09:00:00.000+00:00",
                     "2026-10-01T09:00:00.000+00:00", "2026-11-01T09:00:00.000+00:00",
                     "2026-11-20T10:00:00.000+00:00"]
    assert ctx.trimmed.log == 7
    assert len(held(url, "sync_log")) == 11  # the warehouse keeps every row


# -- on Google: the same story over real gspread against the emulator -----------------------------


class Counted:
    def __init__(self, key: str) -> None:
        self.trace: list = []
        conn = connect(None, policy=RetryPolicy(attempts=3, sleep=lambda s: None), tracer=self.trace.append)
        self.book = GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com",
                                        **header_tests(Config()))

    def counts(self) -> tuple[int, int]:
        reads = sum(1 for t in self.trace if t.kind == "read")
        return reads, len(self.trace) - reads


def _plain(rows):
    return [[v.date().isoformat() if isinstance(v, dt.datetime) else v for v in r] for r in rows]


def test_on_google_the_same_numbers_and_the_same_requests_per_sync(emu, tmp_path):
    keys = [emu.create_spreadsheet("CRM", {t: _plain(r) for t, r in tabs().items()}, value_input="USER_ENTERED")
            for _twin in range(2)]
    kept, full = Counted(keys[0]), Counted(keys[1])
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    kept_config = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    trimmed = 0
    for day, deals, leads in STORY:
        move(kept.book, deals, leads)
        move(full.book, deals, leads)
        kept.trace.clear()
        full.trace.clear()
        sync(kept.book, kept_config, as_of=day)
        sync(full.book, Config(), as_of=day)
        # (7): keep_months costs no request: its rows ride in the sync's one batchUpdate.
        assert kept.counts() == full.counts(), day
        k, f = kept.book.read(), full.book.read()
        assert others(k) == others(f), day
        trimmed = read_crm(k, kept_config).inputs.sequences.get(ARCHIVED, 0)
    assert trimmed >= 5
    # A month later, nothing edited: Days in Stage moved, so both write; the rows that aged
    # leave in that same batchUpdate.
    for twin in (kept, full):
        twin.trace.clear()
    later = sync(kept.book, kept_config, as_of=dt.date(2026, 12, 10))
    sync(full.book, Config(), as_of=dt.date(2026, 12, 10))
    assert later.trimmed and kept.counts() == full.counts()
    assert others(kept.book.read()) == others(full.book.read())
    # The same day again: nothing to do, and keep_months adds no request to an idle sync.
    for twin in (kept, full):
        twin.trace.clear()
    idle = sync(kept.book, kept_config, as_of=dt.date(2026, 12, 10))
    sync(full.book, Config(), as_of=dt.date(2026, 12, 10))
    assert not idle.plan and idle.trimmed == {}
    assert kept.counts() == full.counts() == (2, 0)


# -- the rules, one at a time --------------------------------------------------------------------

def test_older_than_n_months_is_before_the_first_of_the_month_n_months_back():
    assert cutoff(dt.date(2026, 11, 10), 3) == dt.date(2026, 8, 1)
    assert cutoff(dt.date(2026, 11, 30), 3) == dt.date(2026, 8, 1)  # a month at a time, not a day
    assert cutoff(dt.date(2026, 5, 31), 3) == dt.date(2026, 2, 1)
    assert cutoff(dt.date(2026, 2, 15), 14) == dt.date(2024, 12, 1)
    assert cutoff(dt.date(2026, 1, 1), 1) == dt.date(2025, 12, 1)


def test_the_same_change_twice_on_one_day_leaves_together_and_a_records_last_row_stays():
    from sheetcrm.crm.history import HistoryRow
    from sheetcrm.warehouse.keep import kept_history

    old = dt.date(2026, 1, 5)
    rows = [HistoryRow("OPP-1", None, "Prospecting", old), HistoryRow("OPP-1", "Prospecting", "Proposal", old),
            HistoryRow("OPP-1", "Proposal", "Prospecting", old), HistoryRow("OPP-1", "Prospecting", "Proposal", old),
            HistoryRow("OPP-2", None, "Prospecting", old), HistoryRow("OPP-2", "Prospecting", "Proposal", old),
            HistoryRow("OPP-1", "Proposal", "Closed Won", dt.date(2026, 2, 1))]
    keys = history_keys(rows)
    assert keys[3][-1] == 2  # the second Prospecting -> Proposal of the day
    # The warehouse holds all but the second Prospecting -> Proposal of OPP-1.
    kept, gone = kept_history(rows, {key: None for key in keys if key != keys[3]}, dt.date(2026, 3, 1))
    assert gone == [keys[0], keys[2], keys[4]]          # that change stays with its twin, OPP-2's last stays
    assert kept == [rows[1], rows[3], rows[5], rows[6]]
    assert history_keys(kept) == [keys[1], keys[3], keys[5], keys[6]]  # the kept rows' keys do not renumber


def test_a_last_day_whose_rows_do_not_chain_stays_whole_and_a_chained_one_keeps_its_end():
    """Keeping one row of a last day that does not chain would settle which came last silently;
    of a day that chains, the row that stays is the one it ends with, wherever the tab sorts it."""
    from sheetcrm.crm.history import HistoryRow, latest, unordered
    from sheetcrm.warehouse.keep import kept_history

    old = dt.date(2026, 1, 5)
    rows = [HistoryRow("OPP-1", "Prospecting", "Negotiation", old), HistoryRow("OPP-1", "Prospecting", "Proposal", old),
            HistoryRow("OPP-2", "Proposal", "Negotiation", old), HistoryRow("OPP-2", "Prospecting", "Proposal", old)]
    kept, gone = kept_history(rows, dict.fromkeys(history_keys(rows)), dt.date(2026, 3, 1))
    assert kept == [rows[0], rows[1], rows[2]] and gone == [history_keys(rows)[3]]
    assert [u.record_id for u in unordered(kept)] == ["OPP-1"] and latest(kept)["OPP-2"].to_key == "Negotiation"


def test_rows_that_tell_a_records_last_day_stay_with_it():
    """A last day that went round (Proposal and back) ends where the day before ended, and a last
    row with an empty From after a day that did not chain is a change, not a first sight: giving
    up the rows before them would make the log unordered, or Days in Stage count from Created."""
    from sheetcrm.crm.history import HistoryRow, record_changes, stage_entered, unordered
    from sheetcrm.warehouse.keep import kept_history

    old, new, later = dt.date(2026, 1, 5), dt.date(2026, 4, 1), dt.date(2026, 5, 1)
    rows = [HistoryRow("OPP-1", None, "Prospecting", old), HistoryRow("OPP-1", "Prospecting", "Proposal", new),
            HistoryRow("OPP-1", "Proposal", "Prospecting", new),
            HistoryRow("OPP-2", None, "Prospecting", old), HistoryRow("OPP-2", "Prospecting", "Proposal", old),
            HistoryRow("OPP-2", "Prospecting", "Negotiation", old), HistoryRow("OPP-2", None, "Closed Won", new),
            HistoryRow("OPP-3", None, "Prospecting", old), HistoryRow("OPP-3", "Prospecting", "Proposal", new)]
    kept, gone = kept_history(rows, dict.fromkeys(history_keys(rows)), dt.date(2026, 3, 1))
    assert unordered(kept) == []
    assert record_changes(kept, {"OPP-1": ("Closed Won", None)}, later)[0].from_value == "Prospecting"
    assert stage_entered(kept, {"OPP-2": dt.date(2025, 1, 1)})["OPP-2"] == new
    assert kept == rows[:7] + rows[8:] and gone == [history_keys(rows)[7]]  # OPP-3's first row leaves


def test_when_the_warehouse_cannot_mark_what_leaves_the_plan_removes_nothing(tmp_path, caplog):
    from sheetcrm.sync import plan_context, plan_kept, read_archive

    url = f"sqlite:///{tmp_path / 'wh.db'}"
    book = xlsx_book(tmp_path / "crm.xlsx", tabs())
    config = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    for day, deals, leads in STORY[:-1]:
        move(book, deals, leads)
        sync(book, config, as_of=day)
    day, deals, leads = STORY[-1]
    move(book, deals, leads)
    archive = read_archive(config, book, day)
    assert archive is not None and archive.stage_rows and archive.held["stage_history"]
    snapshot = book.read()
    would = plan_context(snapshot, config, day, archive=archive)
    assert would.trimmed.stage  # this sync would let rows go
    # The database is gone between the read and the mark: the rows stay in the sheet.
    gone = Config(warehouse=WarehouseSettings(url=f"sqlite:///{tmp_path / 'nowhere' / 'wh.db'}", keep_months=MONTHS))
    with caplog.at_level(logging.WARNING):
        ctx = plan_kept(lambda a: plan_context(snapshot, config, day, archive=a), archive, gone)
    assert not ctx.trimmed.stage and not ctx.trimmed.lead
    assert "keeps its older history rows this sync" in caplog.text
    # The calibration still counts what the sheet gave up earlier: the same forecast as the plan that trims.
    assert ctx.results.forecast.stage_calibration == would.results.forecast.stage_calibration
    assert not ctx.results.calibration_partial


def test_keep_months_without_a_warehouse_url_is_one_line_and_exit_2(tmp_path, monkeypatch):
    from sheetcrm.config import ConfigError, load_config

    monkeypatch.delenv("SHEETCRM_WAREHOUSE_URL", raising=False)
    path = tmp_path / "sheetcrm.toml"
    path.write_text("[warehouse]\nkeep_months = 6\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "warehouse.keep_months" in str(e.value) and "url" in str(e.value)
    xlsx_book(tmp_path / "crm.xlsx", tabs())
    out = run_cli("sync", "--workbook", "crm.xlsx", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "keep_months" in out.stderr
    path.write_text('[warehouse]\nurl = "sqlite:///wh.db"\nkeep_months = 0\n', encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)
    # A relative SQLite path is another file in each folder a command runs in: refused too.
    path.write_text('[warehouse]\nurl = "sqlite:///wh.db"\nkeep_months = 6\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "warehouse.keep_months" in str(e.value) and "absolute" in str(e.value)
    path.write_text(f'[warehouse]\nurl = "sqlite:///{tmp_path / "wh.db"}"\nkeep_months = 6\n', encoding="utf-8")
    assert load_config(path).warehouse.keep_months == 6
    monkeypatch.setenv("SHEETCRM_WAREHOUSE_URL", "sqlite:///elsewhere.db")
    path.write_text("[warehouse]\nkeep_months = 6\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_config(path)
    monkeypatch.setenv("SHEETCRM_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    assert load_config(path).warehouse.keep_months == 6


def test_sheetcrm_run_keeps_n_months_as_sync_does(tmp_path, monkeypatch):
    from sheetcrm.service import Service
    from sheetcrm.synclog import LogQueue

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    config = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    ran = xlsx_book(tmp_path / "ran.xlsx", tabs())
    synced = xlsx_book(tmp_path / "synced.xlsx", tabs())
    days = iter(STORY)
    today = {"day": STORY[0][0]}
    service = Service(config, ran, logging.getLogger("test-keep-months"), log_queue=LogQueue(tmp_path / "q.jsonl"),
                      today=lambda: today["day"])
    other = Config(warehouse=WarehouseSettings(url=f"sqlite:///{tmp_path / 'other.db'}", keep_months=MONTHS))
    for day, deals, leads in days:
        today["day"] = day
        move(ran, deals, leads)
        move(synced, deals, leads)
        service.sync()
        sync(synced, other, as_of=day)
        a, b = ran.read(), synced.read()
        assert histories(a, config) == histories(b, other), day
        assert others(a) == others(b), day
    assert read_crm(ran.read(), config).inputs.sequences[ARCHIVED] >= 5


def test_another_workbooks_warehouse_holds_nothing_for_this_one(tmp_path):
    """The history tables have no workbook column: a warehouse holds one workbook (its mark says
    which), so rows are trusted only under this workbook's mark."""
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    config = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    first = xlsx_book(tmp_path / "first.xlsx", tabs())
    second = xlsx_book(tmp_path / "second.xlsx", tabs())
    for day, deals, leads in STORY:
        move(first, deals, leads)
        sync(first, config, as_of=day)
    for day, deals, leads in STORY:  # the same story, the same history rows, the same keys
        move(second, deals, leads)
        done = sync(second, config, as_of=day)
        assert done.mirrored.outcome == "failed" and not done.trimmed  # refused: another workbook's
    stage, lead = histories(second.read(), config)
    assert read_crm(second.read(), config).inputs.sequences.get(ARCHIVED, 0) == 0
    full = {name: len(held(url, name)) for name in ("stage_history", "lead_status_history")}
    assert len(stage) == full["stage_history"] and len(lead) == full["lead_status_history"]  # it kept every row


def test_a_row_edited_after_it_was_mirrored_stays_in_the_sheet():
    # The warehouse appends a row once: an Amount a person corrected afterwards lives only in
    # the sheet, so the row stays there (and so does a Sync Log row whose cells differ from
    # the warehouse's copy, such as the second of two rows of one Time and Job).
    from decimal import Decimal

    from sheetcrm.crm.history import HistoryRow
    from sheetcrm.warehouse.keep import kept_history, kept_log, log_content, log_key

    old = dt.date(2026, 1, 5)
    rows = [HistoryRow("OPP-1", None, "Prospecting", old, Decimal("89750")),
            HistoryRow("OPP-2", None, "Prospecting", old, Decimal("424242")),
            HistoryRow("OPP-1", "Prospecting", "Closed Won", dt.date(2026, 6, 1), Decimal("89750")),
            HistoryRow("OPP-2", "Prospecting", "Closed Lost", dt.date(2026, 6, 1), Decimal("1000"))]
    keys = history_keys(rows)
    # As a database's NUMERIC gives them back; OPP-2's first row was mirrored at 89750.
    held = {keys[0]: Decimal("89750.0000000000"), keys[1]: Decimal("89750"), keys[2]: None, keys[3]: None}
    kept, gone = kept_history(rows, held, dt.date(2026, 3, 1), with_amount=True)
    assert gone == [keys[0]]
    assert kept == rows[1:]
    # Lead Status History has no Amount (the warehouse holds none): its key is all there is to compare.
    assert kept_history(rows, dict.fromkeys(keys), dt.date(2026, 3, 1))[1] == [keys[0], keys[1]]

    first = ["2026-01-05T09:00:00.000+00:00", "sync", 1.25, 900, 3, 12, 2, "ok", "dup A"]
    second = ["2026-01-05T09:00:00.000+00:00", "sync", 1.25, 900, 3, 12, 2, "failed", "dup B"]
    edited = ["2026-01-06T09:00:00.000+00:00", "sync", 0.5, 900, 0, 0, 1, "ok", "a note a person added"]
    held_log = {log_key(first): log_content(first),
                log_key(edited): log_content(["2026-01-06T09:00:00.000+00:00", "sync", 0.5, 900, 0, 0, 1, "ok"])}
    assert kept_log([first, second, edited], held_log, dt.date(2026, 3, 1)) == [second, edited]
    # Two identical rows: the warehouse holds one, so one stays.
    assert kept_log([first, list(first)], held_log, dt.date(2026, 3, 1)) == [first]
    # Numbers as the database gives them back are the sheet's numbers.
    as_stored = (Decimal("1.2500000000"), 900, 3, 12, 2, "ok", "dup A")
    assert kept_log([first], {log_key(first): as_stored}, dt.date(2026, 3, 1)) == []


def test_the_calibration_knows_a_sheet_row_under_either_spelling_of_its_id():
    # A row the warehouse marked given up, still in the sheet (the write that was to remove it
    # failed): held as "opp-0001" (the deal's ID now), the sheet's cell "OPP-0001". Compared
    # as the sheet spelled it, it was counted twice, or said to be an older copy's (`beyond`).
    from sheetcrm.cells import id_spelling
    from sheetcrm.crm.history import HistoryRow
    from sheetcrm.warehouse.keep import Archive, calibrated

    old = [HistoryRow("OPP-0001", None, "Prospecting", dt.date(2026, 1, 5)),
           HistoryRow("OPP-0001", "Prospecting", "Proposal", dt.date(2026, 6, 1))]
    spell = id_spelling(["opp-0001"])
    for held_as in ("opp-0001", "OPP-0001"):  # after the mirror renamed it, and before
        archive = Archive(stage_rows=(((held_as, dt.date(2026, 1, 5), "", "Prospecting", 1), None, 7),))
        kept = calibrated(old, old, archive, 0, 7, {}, spell)
        assert (kept.rows, kept.beyond) == (old, 0)


def test_a_workbook_made_anew_at_the_same_place_never_counts_the_old_ones_rows(tmp_path):
    # The warehouse knows a workbook by its path (or spreadsheet key): a demo made again, or a
    # file deleted and made anew, is another workbook there, whose archived rows are not its own.
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    keep = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, tabs())
    for day, deals, leads in STORY:
        move(book, deals, leads)
        sync(book, keep, as_of=day)
    assert read_crm(book.read(), keep).inputs.sequences[ARCHIVED] > 0
    # The second life: the same deal IDs, each lost at its first move. The first life's rows of
    # those deals, counted with them, would have them reach stages they never reached.
    lost, moved = [], set()
    for day, deals, leads in STORY:
        lost.append((day, {n: "Closed Lost" for n in deals if n not in moved}, leads))
        moved |= set(deals)
    path.unlink()
    book, full = xlsx_book(path, tabs()), xlsx_book(tmp_path / "full.xlsx", tabs())
    for day, deals, leads in lost:
        move(book, deals, leads)
        move(full, deals, leads)
        kept, whole = sync(book, keep, as_of=day), sync(full, Config(), as_of=day)
        assert kept.results.forecast.stage_calibration == whole.results.forecast.stage_calibration, day
        assert not kept.results.calibration_partial
    assert read_crm(book.read(), keep).inputs.sequences[ARCHIVED] > 0  # rows left in the second life too
    table = APPENDED["stage_history"]
    engine = engine_of(url)
    try:
        with engine.connect() as c:
            owners = {r[0] for r in c.execute(select(table.c.trimmed_by).where(table.c.trimmed_on.is_not(None)))}
    finally:
        engine.dispose()
    assert len(owners) == 2 and None not in owners  # each life's rows marked with its own workbook


def test_a_stage_renamed_in_the_sheet_without_an_alias_is_said_and_with_one_counts_as_before(tmp_path):
    # The warehouse's rows cannot be edited: after a find-and-replace of a stage's name in the
    # sheet, the rows that left still say the old name. Without an alias for it the calibration
    # cannot count them, and says so; with one it is the calibration of a sheet holding everything.
    from sheetcrm.steps.compute import CALIBRATION_UNKNOWN_STAGE

    url = f"sqlite:///{tmp_path / 'wh.db'}"
    keep = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    book, full = xlsx_book(tmp_path / "crm.xlsx", tabs()), xlsx_book(tmp_path / "full.xlsx", tabs())
    for day, deals, leads in STORY:
        for b, config in ((book, keep), (full, Config())):
            move(b, deals, leads)
            sync(b, config, as_of=day)
    for b in (book, full):
        snapshot = b.read()
        b.write(Plan(writes=[CellWrite(title, r, c, "Quote") for title in ("Opportunities", "Stage History")
                             for r, row in enumerate(snapshot.tabs[title].rows, 1) for c, v in enumerate(row, 1)
                             if v == "Proposal"]))

    def renamed(aliases: list[str], **more) -> Config:
        return Config(stages=[s.model_copy(update={"name": "Quote", "aliases": aliases}) if s.name == "Proposal"
                              else s for s in Config().stages], **more)

    day = dt.date(2026, 11, 20)
    outcome = sync(book, renamed([], warehouse=keep.warehouse), as_of=day, dry_run=True)
    said = [i for i in outcome.crm.report.issues if i.code == CALIBRATION_UNKNOWN_STAGE]
    assert len(said) == 1 and "Proposal" in said[0].value and said[0].severity == "warning"
    # The forecast command says it too, in text and in JSON.
    (tmp_path / "renamed.toml").write_text(
        f'[warehouse]\nurl = "{url}"\nkeep_months = {MONTHS}\n' + "".join(
            f'[[stages]]\nname = "{"Quote" if s.name == "Proposal" else s.name}"\nprobability = {s.probability}\n'
            + (f'kind = "{s.kind}"\n' if s.kind != "open" else "") for s in Config().stages), encoding="utf-8")
    text = run_cli("forecast", "--workbook", "crm.xlsx", "--config", "renamed.toml", "--as-of", day.isoformat(),
                   cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "Proposal" in text.stdout.split("\n\n")[-1] and "no longer has" in text.stdout
    out = run_cli("forecast", "--workbook", "crm.xlsx", "--config", "renamed.toml", "--as-of", day.isoformat(),
                  "--format", "json", cwd=tmp_path)
    assert json.loads(out.stdout)["calibration_unknown_stages"] == ["Proposal"]
    kept = sync(book, renamed(["Proposal"], warehouse=keep.warehouse), as_of=day, dry_run=True)
    whole = sync(full, renamed(["Proposal"]), as_of=day, dry_run=True)
    assert not any(i.code == CALIBRATION_UNKNOWN_STAGE for i in kept.crm.report.issues)
    assert kept.results.forecast.stage_calibration == whole.results.forecast.stage_calibration


def test_an_older_copy_of_the_workbook_restored_says_so_and_counts_the_sheet_alone(tmp_path):
    # A backup restored over the workbook has its archive:workbook mark but not the rows the
    # later copy gave up; which archived rows are its own cannot be told, so none is counted.
    import shutil

    from sheetcrm.steps.compute import CALIBRATION_OLDER_COPY

    url = f"sqlite:///{tmp_path / 'wh.db'}"
    keep = Config(warehouse=WarehouseSettings(url=url, keep_months=MONTHS))
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, tabs())
    backup = tmp_path / "backup.xlsx"
    # The later copy lives on past the backup: OPP-0007's move to Proposal (2026-09-10) is
    # logged after it, then leaves the sheet in March, OPP-0007 having moved on.
    later = [*STORY, (dt.date(2027, 3, 10), {7: "Closed Won", 8: "Proposal"}, {})]
    for day, deals, leads in later:
        move(book, deals, leads)
        outcome = sync(book, keep, as_of=day)
        if day == dt.date(2026, 8, 10):
            shutil.copy(path, backup)
    assert not any(i.code == CALIBRATION_OLDER_COPY for i in outcome.crm.report.issues)
    shutil.copy(backup, path)
    move(book, {2: "Qualification"}, {})
    restored = sync(book, keep, as_of=dt.date(2027, 3, 20), dry_run=True)
    said = [i for i in restored.crm.report.issues if i.code == CALIBRATION_OLDER_COPY]
    assert len(said) == 1 and said[0].value > 0 and said[0].severity == "warning"
    sheet_alone = sync(book, Config(), as_of=dt.date(2027, 3, 20), dry_run=True)
    assert restored.results.forecast.stage_calibration == sheet_alone.results.forecast.stage_calibration
    (tmp_path / "sheetcrm.toml").write_text(f'[warehouse]\nurl = "{url}"\nkeep_months = {MONTHS}\n', encoding="utf-8")
    out = run_cli("forecast", "--workbook", "crm.xlsx", "--as-of", "2027-03-20", "--format", "json", cwd=tmp_path)
    assert json.loads(out.stdout)["calibration_older_copy"] == said[0].value


def test_history_warnings_on_the_validation_tab_name_their_rows_after_the_trim(tmp_path):
    """The rows keep_months lets go move the rows below them up: the Validation tab says each
    history warning at the row that holds it once the trim is written, not where it was read."""
    book = xlsx_book(tmp_path / "crm.xlsx", tabs())
    for day, deals, leads in STORY:
        move(book, deals, leads)
        sync(book, Config(), as_of=day)
    config = Config(warehouse=WarehouseSettings(url=f"sqlite:///{tmp_path / 'wh.db'}", keep_months=MONTHS))
    day = STORY[-1][0]
    sync(book, config, as_of=day)  # mirrors every row; removes none
    snapshot = book.read()
    title = owned_title(snapshot, STAGE_HISTORY)
    end = len(snapshot.tabs[title].rows) + 1
    book.write(Plan(writes=[*(CellWrite(title, end, c, v) for c, v in
                              enumerate(["OPP-0008", "Qualification", "Proposal", day + dt.timedelta(days=3)], 1)),
                            *(CellWrite(title, end + 1, c, v) for c, v in enumerate(["OPP-0007", None, "Proposal",
                                                                                    "soon"], 1))]))
    outcome = sync(book, config, as_of=day)
    assert outcome.trimmed
    snapshot = book.read()
    rows = snapshot.tabs[title].rows
    said = [r for r in snapshot.tabs[owned_title(snapshot, VALIDATION)].rows[1:] if r[1] == title]
    assert sorted(r[6] for r in said) == ["history_after_sync", "history_row_unread"]
    for _, _, row, column, _, value, *_ in said:
        cell = rows[row - 1][ord(column) - ord("A")]
        assert str(cell.date() if isinstance(cell, dt.datetime) else cell) == value
