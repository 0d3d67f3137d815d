"""sheetcrm's own tabs are recognised by their mark, not their title: a team's tab called
Pipeline (or Outbox, Stage History…) is never written or read as sheetcrm's; a tab written by a
sheetcrm from before the marks is adopted only when it is evidently sheetcrm's output."""

from __future__ import annotations

import copy
import datetime as dt
import subprocess
import sys

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.mail.outbox import read_outbox
from sheetcrm.owned import MAX_TITLE, TAB_NAME_TAKEN, free_title, locate, owned_title
from sheetcrm.schema import DASHBOARD, OUTBOX, PIPELINE, SYNC_LOG
from sheetcrm.sync import plan_sync, sync
from sheetcrm.workbook import Grid, Snapshot
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 23)
OPPS = [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
        ["OPP-0001", "Big deal", "Acme", "Proposal", 1000, "2026-12-15"],
        ["", "Small deal", "Acme", "Prospecting", 200, "2027-01-10"]]
# A team's own tab that happens to be called Pipeline: their numbers, their layout.
TEAM_PIPELINE = [["Quarter", "Target", "Notes"], ["Q1", 50000, "stretch"], ["Q2", 60000, None]]


def test_a_team_tab_named_pipeline_is_never_written_and_sheetcrm_steps_aside():
    book = MemoryWorkbook({"Opportunities": OPPS, "Pipeline": TEAM_PIPELINE})
    outcome = sync(book, Config(), as_of=AS_OF)
    assert book.tabs["Pipeline"] == TEAM_PIPELINE
    assert "Pipeline" not in book.owned
    assert "Pipeline (sheetcrm)" in outcome.plan.new_tabs and "Pipeline (sheetcrm)" in book.owned
    assert book.tabs["Pipeline (sheetcrm)"][0] == list(PIPELINE.headers)
    assert not any(w.tab == "Pipeline" for w in outcome.plan.writes)
    assert outcome.stepped_aside == [("Pipeline", "Pipeline (sheetcrm)")]
    # Said on the Validation tab, at the team's tab, naming where sheetcrm's went.
    warning = next(r for r in book.tabs["Validation"][1:] if r[6] == TAB_NAME_TAKEN)
    assert warning[:2] == ["warning", "Pipeline"] and "Pipeline (sheetcrm)" in warning[7]
    # The next sync finds its own tab by the mark, keeps out of the team's, and has nothing to do.
    again = sync(book, Config(), as_of=AS_OF)
    assert not again.plan and again.stepped_aside == []
    assert book.tabs["Pipeline"] == TEAM_PIPELINE


def test_a_tab_with_sheetcrm_headers_from_before_the_marks_is_adopted_and_marked():
    # What today's sheetcrm leaves: Pipeline with exactly its headers, and no mark anywhere.
    first = MemoryWorkbook({"Opportunities": OPPS})
    sync(first, Config(), as_of=AS_OF)
    old = copy.deepcopy(first.tabs)
    old["Opportunities"].append(["", "New deal", "Acme", "Proposal", 300, "2027-02-01"])
    book = MemoryWorkbook(old)  # no marks
    outcome = sync(book, Config(), as_of=AS_OF)
    assert outcome.plan.new_tabs == [] and outcome.stepped_aside == []
    for title in ("Pipeline", "Forecast", "Dashboard", "Validation", "Stage History", "_sheetcrm"):
        assert title in book.owned, title
    assert {r[0]: r[1] for r in book.tabs["Pipeline"][1:]}["Proposal"] == 2  # written in place
    assert not sync(book, Config(), as_of=AS_OF).plan


def test_adoption_rides_along_with_a_write_and_never_costs_one():
    first = MemoryWorkbook({"Opportunities": OPPS})
    sync(first, Config(), as_of=AS_OF)
    book = MemoryWorkbook(first.tabs)  # unmarked, and nothing changed since
    _, _, plan = plan_sync(book.read(), Config(), AS_OF)
    assert not plan  # still recognised by its headers; marked with the next write


@pytest.mark.parametrize("locale", ["en", "es"])
def test_a_spanish_or_english_header_is_evidence_too(locale):
    headers = PIPELINE.display_headers(locale)
    title = PIPELINE.display_title(locale)
    # `_sheetcrm` (Key, Value) is there: sheetcrm wrote this workbook before.
    snapshot = Snapshot({title: Grid([headers, ["Proposal", 1, 10, 5]]), "_sheetcrm": Grid([["Key", "Value"]])})
    assert locate(snapshot, PIPELINE, "en").adopt and owned_title(snapshot, PIPELINE) == title
    # One header more, or one renamed, and it is the team's.
    for changed in ([*headers, "Comment"], ["Phase", *headers[1:]]):
        snapshot = Snapshot({title: Grid([changed]), "_sheetcrm": Grid([["Key", "Value"]])})
        place = locate(snapshot, PIPELINE, locale)
        assert owned_title(snapshot, PIPELINE) is None and place.team_tab == title and place.title != title


def test_a_team_tab_with_sheetcrm_s_header_in_a_workbook_sheetcrm_never_wrote_is_the_teams(tmp_path):
    # The team's own summary, laid out as sheetcrm's happens to be (Stage, Count, Amount,
    # Weighted), with their formulas and a note: the first sync used to take it as an earlier
    # sheetcrm's output and write its figures over all of it. No `_sheetcrm` tab: never synced.
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    for row in OPPS:
        ws.append(row)
    for title, headers in (("Pipeline", PIPELINE.headers), ("Panel", DASHBOARD.headers_es)):
        team = wb.create_sheet(title)
        team.append(list(headers))
        team.append(["Proposal", "=COUNTIF(Opportunities!D:D,A2)", "=SUMIF(Opportunities!D:D,A2,Opportunities!E:E)"])
        team.append(["our own figures, do not touch"])
    wb.save(tmp_path / "crm.xlsx")
    before = {t: _cells(tmp_path / "crm.xlsx", t) for t in ("Pipeline", "Panel")}
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    outcome = sync(book, Config(), as_of=AS_OF)
    assert outcome.stepped_aside == [("Pipeline", "Pipeline (sheetcrm)")]
    for title, cells in before.items():
        assert _cells(tmp_path / "crm.xlsx", title) == cells, title
    snapshot = book.read()
    assert {"Pipeline", "Panel"}.isdisjoint(snapshot.owned)
    assert {"Pipeline (sheetcrm)", "Dashboard"} <= snapshot.owned
    assert not sync(book, Config(), as_of=AS_OF).plan


def test_a_marked_tab_is_sheetcrm_s_whatever_its_header_now_says():
    book = MemoryWorkbook({"Opportunities": OPPS, "Pipeline": [["Someone typed here"]]}, owned={"Pipeline"})
    sync(book, Config(), as_of=AS_OF)
    assert book.tabs["Pipeline"][0] == list(PIPELINE.headers) and "Pipeline (sheetcrm)" not in book.tabs


def test_a_team_stage_history_is_not_read_as_history():
    # Their tab has sheetcrm's name and an Opportunity column, but it is their notes.
    team = [["Opportunity", "From", "To", "Note"], ["OPP-0001", "Prospecting", "Closed Won", "hoped for"]]
    book = MemoryWorkbook({"Opportunities": OPPS, "Stage History": team})
    outcome = sync(book, Config(), as_of=AS_OF)
    assert book.tabs["Stage History"] == team
    ours = book.tabs["Stage History (sheetcrm)"]
    # OPP-0001 enters history at its current stage, as for a first sync: the team's row says nothing.
    assert [r[:3] for r in ours[1:] if r[0] == "OPP-0001"] == [["OPP-0001", None, "Proposal"]]
    assert all(h.to_value != "Closed Won" for h in outcome.results.stage_history)


def test_a_team_outbox_is_never_sent_from():
    team = [["ID", "To", "Status"], ["Q-1", "boss@example.com", "Approved"]]
    snapshot = Snapshot({"Outbox": Grid(team)})
    outbox = read_outbox(snapshot, "en")
    assert outbox.title == "Outbox (sheetcrm)" and not outbox.exists and outbox.rows == []
    # sheetcrm's own Outbox, even with a column people added after its own, is sheetcrm's.
    ours = Snapshot({"Outbox": Grid([[*OUTBOX.headers, "Notes"], ["OUT-0001", None, "OPP-0001"]]),
                     "_sheetcrm": Grid([["Key", "Value"], ["OUT", 1]])})
    outbox = read_outbox(ours, "en")
    assert outbox.title == "Outbox" and outbox.exists and outbox.adopt and len(outbox.rows) == 1


def test_free_names_avoid_every_tab_and_fit_excel():
    titles = ["Pipeline", "pipeline (SHEETCRM)", "Pipeline (sheetcrm 2)"]
    assert free_title(titles, "Pipeline") == "Pipeline (sheetcrm 3)"
    long = free_title(["Registro de sincronización"], "Registro de sincronización")
    assert len(long) <= MAX_TITLE and long.endswith("(sheetcrm)")
    # A marked tab under such a cut name is found again as sheetcrm's Sync Log.
    snapshot = Snapshot({"Registro de sincronización": Grid([["Hora"]]), long: Grid([["x"]])}, owned={long})
    assert owned_title(snapshot, SYNC_LOG) == long


def test_spanish_locale_steps_aside_in_spanish():
    book = MemoryWorkbook({"Oportunidades": OPPS, "Embudo": TEAM_PIPELINE})
    config = Config(locale="es")
    sync(book, config, as_of=AS_OF)
    assert book.tabs["Embudo"] == TEAM_PIPELINE and "Embudo (sheetcrm)" in book.owned


def test_a_team_tab_in_the_other_language_is_no_conflict():
    book = MemoryWorkbook({"Opportunities": OPPS, "Embudo": TEAM_PIPELINE})
    outcome = sync(book, Config(), as_of=AS_OF)
    assert book.tabs["Embudo"] == TEAM_PIPELINE and "Pipeline" in book.owned
    assert not any(i.code == TAB_NAME_TAKEN and i.tab == "Embudo" for i in outcome.crm.report.issues)


# -- .xlsx, through the command --------------------------------------------------------------

def _team_workbook(path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    for row in OPPS:
        ws.append(row)
    team = wb.create_sheet("Pipeline")
    for row in TEAM_PIPELINE:
        team.append(row)
    team["B4"] = "=SUM(B2:B3)"
    history = wb.create_sheet("Stage History")
    history.append(["Opportunity", "Note"])
    history.append(["OPP-0001", "call back"])
    wb.save(path)


def _cells(path, title) -> dict:
    ws = openpyxl.load_workbook(path)[title]
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row}


def test_xlsx_team_tabs_are_left_alone_and_the_command_says_so_once(tmp_path):
    _team_workbook(tmp_path / "crm.xlsx")
    before = {t: _cells(tmp_path / "crm.xlsx", t) for t in ("Pipeline", "Stage History")}
    run = [sys.executable, "-m", "sheetcrm", "sync", "--as-of", AS_OF.isoformat()]
    first = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "'Pipeline' is yours" in first.stdout and "'Pipeline (sheetcrm)'" in first.stdout
    assert "'Stage History' is yours" in first.stdout
    for title, cells in before.items():
        assert _cells(tmp_path / "crm.xlsx", title) == cells, title
    names = openpyxl.load_workbook(tmp_path / "crm.xlsx").sheetnames
    assert {"Pipeline (sheetcrm)", "Stage History (sheetcrm)"} <= set(names)
    second = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert "is yours" not in second.stdout and "nothing to change" in second.stdout
    for title, cells in before.items():
        assert _cells(tmp_path / "crm.xlsx", title) == cells, title


def test_google_team_tabs_are_left_alone_and_sheetcrm_steps_aside(monkeypatch):
    from sheetcrm.emulator import Emulator
    from sheetcrm.workbook.target import open_workbook

    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", {"Opportunities": OPPS, "Pipeline": TEAM_PIPELINE})
        config = Config(spreadsheet=key)
        book = open_workbook(config)
        first = sync(book, config, as_of=AS_OF)
        assert not first.result.skipped
        # The team's tab, untouched (Google leaves trailing empty cells out of its answer).
        assert emu.values(key, "Pipeline") == [["Quarter", "Target", "Notes"], ["Q1", 50000, "stretch"], ["Q2", 60000]]
        snapshot = book.read()
        assert "Pipeline (sheetcrm)" in snapshot.owned and "Pipeline" not in snapshot.owned
        assert snapshot.tabs["Pipeline (sheetcrm)"].rows[0][0] == "Stage"
        assert not sync(book, config, as_of=AS_OF).plan  # and it stays that way


def test_xlsx_a_history_tab_a_person_renamed_is_still_sheetcrm_s_history(tmp_path):
    # The mark follows the sheet through a rename; a new Stage History under the old name started
    # every deal's history afresh: Days in Stage 0 for deals in their stage for a week.
    path = tmp_path / "crm.xlsx"
    _team_workbook(path)
    wb = openpyxl.load_workbook(path)
    del wb["Pipeline"], wb["Stage History"]
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    wb = openpyxl.load_workbook(path)
    wb["Stage History"].title = "Deal log"
    wb["Deal log"]["F1"] = "Notes"  # a column of their own after sheetcrm's, as on any of its tabs
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF + dt.timedelta(days=7))
    wb = openpyxl.load_workbook(path)
    assert "Stage History" not in wb.sheetnames
    assert [r[:3] for r in wb["Deal log"].iter_rows(min_row=2, values_only=True)] == \
        [("OPP-0001", None, "Proposal"), ("OPP-0002", None, "Prospecting")]
    assert [r[9] for r in wb["Opportunities"].iter_rows(min_row=2, values_only=True)] == [7, 7]  # Days in Stage


def test_google_an_outbox_a_person_renamed_is_still_the_queue_no_quote_queued_twice(monkeypatch):
    from books import crm_tabs
    from sheetcrm.emulator import Emulator
    from sheetcrm.workbook.target import open_workbook

    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", crm_tabs())
        config = Config(spreadsheet=key)
        sync(open_workbook(config), config, as_of=AS_OF)
        assert [r[0] for r in emu.values(key, "Outbox")[1:]] == ["OUT-0001"]
        emu.apply(key, [{"updateSheetProperties": {"properties": {"sheetId": emu.sheet_id(key, "Outbox"),
                                                                  "title": "Quote emails"}, "fields": "title"}}])
        book = open_workbook(config)
        sync(book, config, as_of=AS_OF + dt.timedelta(days=1))
        # Send Quote is still ticked: a new Outbox would have queued the quote again (OUT-0002).
        assert "Outbox" not in book.read().tabs
        assert [r[0] for r in emu.values(key, "Quote emails")[1:]] == ["OUT-0001"]


def test_xlsx_a_summary_a_person_renamed_is_their_snapshot_and_a_new_one_is_made(tmp_path):
    path = tmp_path / "crm.xlsx"
    _team_workbook(path)
    wb = openpyxl.load_workbook(path)
    del wb["Pipeline"], wb["Stage History"]
    wb.save(path)
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    wb = openpyxl.load_workbook(path)
    wb["Pipeline"].title = "Pipeline November"
    wb["Opportunities"]["E2"] = 5000
    wb.save(path)
    before = _cells(path, "Pipeline November")
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    assert _cells(path, "Pipeline November") == before
    assert openpyxl.load_workbook(path)["Pipeline"]["A1"].value == "Stage"
