"""A team's own column that carries the name of one of sheetcrm's computed columns (a Salesforce
export's Next Step, a Score typed by reps) is theirs: kept untouched, said once, and sheetcrm's
column goes beside it as "Next Step (sheetcrm)". A column sheetcrm wrote (this version or an
earlier one, however stale) stays sheetcrm's and keeps updating (`table._computed_columns`)."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm import table
from sheetcrm.config import Config
from sheetcrm.names import COMPUTED
from sheetcrm.sync import sync
from books import xlsx_book

AS_OF = dt.date(2026, 11, 23)


def _tabs(deal_header: list, deal_cells: list, lead_header: list | None = None, lead_cells: list | None = None):
    tabs = {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date", *deal_header],
                          ["OPP-0001", "Expansion", "ACC-0001", "Proposal", 1200, "2026-12-15", *deal_cells[0]],
                          ["OPP-0002", "Renewal", "ACC-0001", "Negotiation", 800, "2026-12-20", *deal_cells[1]]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Status"],
                  ["TSK-0001", "2026-12-02", "Send the quote", "OPP-0001", "Open"]],
    }
    if lead_header is not None:
        tabs["Leads"] = [["ID", "Last Name", "Company", "Status", *lead_header],
                         *[[f"LEAD-000{i}", "Doe", "Acme", "New", *cells] for i, cells in enumerate(lead_cells, 1)]]
    return tabs


def _sheet(path, title: str) -> list[list]:
    return [list(r) for r in openpyxl.load_workbook(path)[title].iter_rows(values_only=True)]


def test_a_teams_next_step_column_is_kept_and_sheetcrms_goes_beside_it(tmp_path):
    notes = [["call the CFO"], ["wait for legal"]]
    book = xlsx_book(tmp_path / "crm.xlsx", _tabs(["Next Step"], notes))
    first = sync(book, Config(), as_of=AS_OF)
    said = [(i.severity, i.tab, i.row, i.column, i.code) for i in first.crm.report.issues if i.code == "computed_name_taken"]
    assert said == [("warning", "Opportunities", 1, "G", "computed_name_taken")]
    [message] = [i.message for i in first.crm.report.issues if i.code == "computed_name_taken"]
    assert message == ('The column "Next Step" holds values sheetcrm did not write, so it is kept as your own column '
                       'and never written; sheetcrm writes its Next Step in the column "Next Step (sheetcrm)".')
    rows = _sheet(tmp_path / "crm.xlsx", "Opportunities")
    header = rows[0]
    assert header[6] == "Next Step" and header[-1] == "Next Step (sheetcrm)"
    assert [r[6] for r in rows[1:]] == ["call the CFO", "wait for legal"]  # the team's cells, untouched
    assert [r[-1] for r in rows[1:]] == ["2026-12-02 Send the quote", None]
    # The team's column is one of their own, read like any other; sheetcrm's has its own name.
    assert [o.custom["Next Step"] for o in first.crm.records("opportunities")] == ["call the CFO", "wait for legal"]
    again = sync(book, Config(), as_of=AS_OF)
    assert not again.plan
    assert [i.code for i in again.crm.report.issues if i.code == "computed_name_taken"] == ["computed_name_taken"]
    assert again.crm.tables["opportunities"].header.computed["next_step"] == len(header) - 1


def test_every_computed_name_typed_by_the_team_is_theirs(tmp_path):
    deal_header = ["Last Activity", "Rotting", "Weighted Amount", "Forecast Category"]
    deals = [["called Monday", "no", "see notes", "likely"], ["", "", "", ""]]
    lead_header = ["Score", "Grade", "Why"]
    leads = [["hot", "VIP", "met at the fair"], ["cold", "", ""]]
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs(deal_header, deals, lead_header, leads))
    first = sync(book, Config(), as_of=AS_OF)
    said = sorted((i.tab, i.header) for i in first.crm.report.issues if i.code == "computed_name_taken")
    assert said == sorted([("Opportunities", h) for h in deal_header] + [("Leads", h) for h in lead_header])
    opportunities, lead_rows = _sheet(path, "Opportunities"), _sheet(path, "Leads")
    assert [r[6:10] for r in opportunities[1:]] == [["called Monday", "no", "see notes", "likely"], [None] * 4]
    assert [r[4:7] for r in lead_rows[1:]] == [["hot", "VIP", "met at the fair"], ["cold", None, None]]
    assert {"Last Activity (sheetcrm)", "Weighted Amount (sheetcrm)", "Probability %"} <= set(opportunities[0])
    assert {"Score (sheetcrm)", "Grade (sheetcrm)", "Why (sheetcrm)"} <= set(lead_rows[0])
    assert not sync(book, Config(), as_of=AS_OF).plan


# A workbook an earlier version of sheetcrm wrote: its Sync Log, unmarked (tabs were not marked
# then), with exactly the headers sheetcrm writes there.
EARLIER_SYNC = {"Pipeline": [["Stage", "Count", "Amount", "Weighted"]]}


def test_columns_sheetcrm_wrote_stay_its_own_however_stale(tmp_path):
    """What an earlier sync wrote (stale now: the task changed, days went by) is sheetcrm's, and
    is brought up to date; an empty column of that name is taken too."""
    header = ["Days in Stage", "Last Activity", "Rotting", "Next Step", "Forecast Category", "Probability %"]
    stale = [[3, dt.datetime(2026, 1, 2), "yes", "2026-01-01 An old task", "Commit", 0.5],
             [12, None, "sí", None, "Mejor caso", 0.75]]
    path = tmp_path / "crm.xlsx"
    tabs = _tabs([*header, "Weighted Amount"], [[*stale[0], None], [*stale[1], None]])
    book = xlsx_book(path, {**tabs, **EARLIER_SYNC})
    first = sync(book, Config(), as_of=AS_OF)
    assert [i for i in first.crm.report.issues if i.code == "computed_name_taken"] == []
    rows = _sheet(path, "Opportunities")
    assert not any("(sheetcrm)" in str(h) for h in rows[0])
    assert [r[9] for r in rows[1:]] == ["2026-12-02 Send the quote", None]  # updated
    assert [r[12] for r in rows[1:]] == [600, 600]  # Weighted Amount, empty before, filled
    assert not sync(book, Config(), as_of=AS_OF).plan


def test_a_workbook_sheetcrm_never_wrote_has_no_column_of_sheetcrms(tmp_path):
    """Before sheetcrm's first write, a filled column under a computed name is the team's even
    when its cells look like sheetcrm's: reps' own typed Score, a Weighted Amount worked out by
    hand. Only an empty one is sheetcrm's to fill. After the first sync, each stays as it went."""
    deal_header = ["Weighted Amount", "Days in Stage", "Probability %"]
    deals = [[600, 4, None], [None, 9, None]]
    leads = [[80], [35]]
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs(deal_header, deals, ["Score"], leads))
    first = sync(book, Config(), as_of=AS_OF)
    said = sorted((i.tab, i.header) for i in first.crm.report.issues if i.code == "computed_name_taken")
    assert said == [("Leads", "Score"), ("Opportunities", "Days in Stage"), ("Opportunities", "Weighted Amount")]
    opportunities, lead_rows = _sheet(path, "Opportunities"), _sheet(path, "Leads")
    assert [r[6:9] for r in opportunities[1:]] == [[600, 4, 0.5], [None, 9, 0.75]]  # Probability % filled
    assert [r[4] for r in lead_rows[1:]] == [80, 35]
    assert {"Weighted Amount (sheetcrm)", "Days in Stage (sheetcrm)"} <= set(opportunities[0])
    assert "Score (sheetcrm)" in lead_rows[0]
    assert [o.custom["Weighted Amount"] for o in first.crm.records("opportunities")] == [600, None]
    again = sync(book, Config(), as_of=AS_OF)
    assert not again.plan
    assert sorted(i.header for i in again.crm.report.issues if i.code == "computed_name_taken") == [
        "Days in Stage", "Score", "Weighted Amount"]


def test_the_same_column_after_an_earlier_sync_is_sheetcrms(tmp_path):
    """The shape decides once sheetcrm has written the workbook: the numbers are its own stale output."""
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, {**_tabs(["Weighted Amount"], [[600], [None]], ["Score"], [[80], [35]]), **EARLIER_SYNC})
    first = sync(book, Config(), as_of=AS_OF)
    assert [i for i in first.crm.report.issues if i.code == "computed_name_taken"] == []
    assert [r[6] for r in _sheet(path, "Opportunities")[1:]] == [600, 600]


def test_a_formula_under_a_computed_name_is_the_teams(tmp_path):
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs(["Weighted Amount"], [["=E2*0.5"], ["=E3*0.75"]]))
    first = sync(book, Config(), as_of=AS_OF)
    assert [i.header for i in first.crm.report.issues if i.code == "computed_name_taken"] == ["Weighted Amount"]
    ws = openpyxl.load_workbook(path)["Opportunities"]
    assert (ws["G2"].value, ws["G3"].value) == ("=E2*0.5", "=E3*0.75")


@pytest.mark.parametrize("tab", list(COMPUTED))
def test_every_computed_column_says_what_sheetcrm_writes_in_it(tab):
    assert set(COMPUTED[tab]) <= set(table._SHAPES)
