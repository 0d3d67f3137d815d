"""A team's own column that carries the name of one of sheetcrm's computed columns (a Salesforce
export's Next Step, a Score typed by reps) is theirs: kept untouched, said once, and sheetcrm's
column goes beside it as "Next Step (sheetcrm)". A column sheetcrm wrote (this version or an
earlier one, however stale) stays sheetcrm's and keeps updating (`table._computed_columns`)."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm import cache_file, parse_cache, table
from sheetcrm.config import Config
from sheetcrm.names import COMPUTED
from sheetcrm.sync import sync
from sheetcrm.written import FORMAT, recall
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
# What every sync leaves: its Validation tab (the evidence that it ran) and its summaries.
EARLIER_SYNC = {"Pipeline": [["Stage", "Count", "Amount", "Weighted"]],
                "Validation": [["Severity", "Tab", "Row", "Column", "Header", "Value", "Code", "Message", "Hint"]]}


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


# --- a value a person typed over one of sheetcrm's computed cells --------------------------
# sheetcrm remembers what it wrote in each computed cell, by record ID and column (written.py,
# in the memo beside the lock): a cell holding anything else was typed by a person. It is kept,
# never read, and said at its cell on every sync until the person clears it.

TYPED = "computed_cell_typed"
LEADS = ([], [["Pérez"], ["Gómez"]])


def _book(path):
    """A synced workbook, every computed column in place and up to date (the next sync is a no-op)."""
    book = xlsx_book(path, _tabs([], [[], []], *LEADS))
    sync(book, Config(), as_of=AS_OF)
    assert not sync(book, Config(), as_of=AS_OF).plan
    return book


def _type(path, tab: str, cells: dict) -> None:
    """A person's edit, saved as an app saves the whole file."""
    wb = openpyxl.load_workbook(path)
    for ref, value in cells.items():
        wb[tab][ref] = value
    wb.save(path)


def _column(path, tab: str, header: str) -> str:
    ws = openpyxl.load_workbook(path)[tab]
    return next(c.column_letter for c in ws[1] if c.value == header)


def _typed(outcome) -> list[tuple]:
    return [(i.severity, i.tab, i.row, i.column, i.header, i.value) for i in outcome.crm.report.issues if i.code == TYPED]


def test_a_value_typed_over_a_computed_cell_is_kept_and_said_at_its_cell_every_sync(tmp_path):
    path = tmp_path / "crm.xlsx"
    book = _book(path)
    weighted, score, grade = (_column(path, "Opportunities", "Weighted Amount"), _column(path, "Leads", "Score"),
                              _column(path, "Leads", "Grade"))
    computed = openpyxl.load_workbook(path)["Opportunities"][f"{weighted}2"].value
    _type(path, "Opportunities", {f"{weighted}2": 9999})
    _type(path, "Leads", {f"{score}2": 90, f"{grade}3": "hot"})
    first = sync(book, Config(), as_of=AS_OF)
    expected = [("warning", "Opportunities", 2, weighted, "Weighted Amount", 9999),
                ("warning", "Leads", 2, score, "Score", 90), ("warning", "Leads", 3, grade, "Grade", "hot")]
    assert _typed(first) == expected
    [said] = [i for i in first.crm.report.issues if i.code == TYPED and i.tab == "Opportunities"]
    assert said.message == ('The column "Weighted Amount" is computed by sheetcrm, and this cell holds "9999", which '
                            'sheetcrm did not write: it is kept as it is, and sheetcrm does not use it.')
    assert said.hint == f"sheetcrm computes {computed:,} here now. Clear the cell to let sheetcrm fill it again."
    ws = openpyxl.load_workbook(path)
    assert ws["Opportunities"][f"{weighted}2"].value == 9999
    assert (ws["Leads"][f"{score}2"].value, ws["Leads"][f"{grade}3"].value) == (90, "hot")
    # "hot" is no grade sheetcrm writes, yet the column stays sheetcrm's: not given up to the team
    # (its stale grades then read as the leads' own field), and the typed value is no input.
    assert not any("(sheetcrm)" in str(c.value) for c in ws["Leads"][1])
    assert all("Grade" not in lead.custom for lead in first.crm.records("leads"))
    again = sync(book, Config(), as_of=AS_OF)
    assert not again.plan
    assert _typed(again) == expected
    # Cleared: sheetcrm's to fill again, without a word.
    _type(path, "Opportunities", {f"{weighted}2": None})
    cleared = sync(book, Config(), as_of=AS_OF)
    assert openpyxl.load_workbook(path)["Opportunities"][f"{weighted}2"].value == computed
    assert [t[1] for t in _typed(cleared)] == ["Leads", "Leads"]


def test_a_value_typed_into_a_computed_cell_of_a_new_row_is_kept_and_said(tmp_path):
    """A person adds a lead with their own Score and Grade, and a deal with a Weighted Amount
    of their own (one without an ID, one with an ID they typed): sheetcrm never wrote those
    cells, so they are the person's, as a value typed over a cell of a known record is. They
    used to be written over, since sheetcrm knew nothing of these records. A row copied from a
    known record (its ID cleared) holds that record's computed cells as sheetcrm wrote them:
    sheetcrm's, brought up to date without a word."""
    path = tmp_path / "crm.xlsx"
    book = _book(path)
    score, grade, why = (_column(path, "Leads", c) for c in ("Score", "Grade", "Why"))
    weighted, forecast = _column(path, "Opportunities", "Weighted Amount"), _column(path, "Opportunities", "Forecast Category")
    wb = openpyxl.load_workbook(path)
    leads, deals = wb["Leads"], wb["Opportunities"]
    copied = [c.value for c in leads[3]]
    leads.append([None, "Ruiz", "Initech", "New"])
    leads[f"{score}4"], leads[f"{grade}4"] = 90, "hot"
    leads.append([None, copied[1], None, *copied[3:]])  # a copy of LEAD-0002's row, its ID and Company cleared
    deals.append(["OPP-0042", "Pilot", "ACC-0001", "Qualification", 100, "2026-12-20"])
    deals[f"{weighted}4"] = 75
    wb.save(path)
    first = sync(book, Config(), as_of=AS_OF)
    assert _typed(first) == [("warning", "Opportunities", 4, weighted, "Weighted Amount", 75),
                             ("warning", "Leads", 4, score, "Score", 90), ("warning", "Leads", 4, grade, "Grade", "hot")]
    ws = openpyxl.load_workbook(path)
    assert (ws["Leads"][f"{score}4"].value, ws["Leads"][f"{grade}4"].value) == (90, "hot")
    assert ws["Leads"][f"{why}4"].value is not None  # its empty computed cells filled
    assert ws["Opportunities"][f"{weighted}4"].value == 75 and ws["Opportunities"][f"{forecast}4"].value == "Pipeline"
    assert ws["Leads"]["A5"].value == "LEAD-0004"
    assert ws["Leads"][f"{score}5"].value == copied[ord(score) - 65] - 5  # no Company: no "Company present +5"
    # The next sync knows these records now, and says the same; cleared, the cell is sheetcrm's.
    assert _typed(sync(book, Config(), as_of=AS_OF)) == _typed(first)
    _type(path, "Leads", {f"{score}4": None, f"{grade}4": None})
    sync(book, Config(), as_of=AS_OF)
    assert openpyxl.load_workbook(path)["Leads"][f"{grade}4"].value in ("A", "B", "C", "D")


def test_a_formula_typed_into_a_computed_cell_is_kept_and_said(tmp_path):
    """A formula is never sheetcrm's: it is not written over (as a formula in an ID cell is
    not filled), and the column stays sheetcrm's for its other cells."""
    path = tmp_path / "crm.xlsx"
    book = _book(path)
    weighted = _column(path, "Opportunities", "Weighted Amount")
    _type(path, "Opportunities", {f"{weighted}3": "=E3*0.5"})
    _type(path, "Opportunities", {"E2": 2000})  # the other deal's inputs change: its cell is updated
    outcome = sync(book, Config(), as_of=AS_OF)
    assert [(t[2], t[3]) for t in _typed(outcome)] == [(3, weighted)]
    ws = openpyxl.load_workbook(path)["Opportunities"]
    assert ws[f"{weighted}3"].value == "=E3*0.5"
    assert ws[f"{weighted}2"].value == 1000
    assert not any("(sheetcrm)" in str(c.value) for c in ws[1])


def test_a_sort_between_syncs_is_no_typing(tmp_path):
    path = tmp_path / "crm.xlsx"
    book = _book(path)
    wb = openpyxl.load_workbook(path)
    for title in ("Opportunities", "Leads"):
        ws = wb[title]
        rows = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
        for r, values in enumerate(reversed(rows), start=2):
            for c, value in enumerate(values, start=1):
                ws.cell(r, c).value = value  # ws.cell(r, c, None) would leave the cell as it was
    wb.save(path)
    outcome = sync(book, Config(), as_of=AS_OF)
    assert _typed(outcome) == []
    assert not [w for w in outcome.plan.writes if w.tab in ("Opportunities", "Leads")]


def test_a_stale_value_sheetcrm_wrote_is_brought_up_to_date_without_a_word(tmp_path):
    path = tmp_path / "crm.xlsx"
    book = _book(path)
    weighted, days = _column(path, "Opportunities", "Weighted Amount"), _column(path, "Opportunities", "Days in Stage")
    before = openpyxl.load_workbook(path)["Opportunities"][f"{days}2"].value
    _type(path, "Opportunities", {"E2": 2000})
    outcome = sync(book, Config(), as_of=AS_OF + dt.timedelta(days=3))
    assert _typed(outcome) == []
    ws = openpyxl.load_workbook(path)["Opportunities"]
    assert ws[f"{weighted}2"].value == 1000 and ws[f"{days}2"].value == before + 3


def test_without_what_sheetcrm_wrote_a_computed_cell_is_sheetcrms_as_before(tmp_path):
    """No state (the cache deleted, another machine, the first sync): written over, no word."""
    path = tmp_path / "crm.xlsx"
    book = _book(path)
    weighted = _column(path, "Opportunities", "Weighted Amount")
    computed = openpyxl.load_workbook(path)["Opportunities"][f"{weighted}2"].value
    _type(path, "Opportunities", {f"{weighted}2": 9999})
    outcome = sync(book, Config(), as_of=AS_OF, cache=tmp_path / "another machine")
    assert _typed(outcome) == []
    assert openpyxl.load_workbook(path)["Opportunities"][f"{weighted}2"].value == computed


def test_a_typed_value_outlives_an_upgrade_of_sheetcrm(tmp_path):
    """The memo of another version of sheetcrm is no parse, but what sheetcrm wrote is still
    what it wrote: the state is kept (its own file, `written_file`, which any version reads;
    a memo of a sheetcrm before it: `parse_cache.load`, tests/test_written_state_kept.py), so
    the first sync after an upgrade keeps the typed value and says so. It once took it as
    sheetcrm's and wrote over it."""
    path, folder = tmp_path / "crm.xlsx", tmp_path / "cache"
    book = xlsx_book(path, _tabs([], [[], []], *LEADS))
    sync(book, Config(), as_of=AS_OF, cache=folder)
    weighted = _column(path, "Opportunities", "Weighted Amount")
    _type(path, "Opportunities", {f"{weighted}2": 9999})
    assert [t[2:4] for t in _typed(sync(book, Config(), as_of=AS_OF, cache=folder))] == [(2, weighted)]
    (memo,) = folder.glob(f"*{parse_cache.SUFFIX}")
    cache_file.save(memo, "an older sheetcrm", cache_file.load(memo, parse_cache.code_version()))
    upgraded = sync(book, Config(), as_of=AS_OF, cache=folder)
    assert upgraded.memo.parsed > 0  # its parses were not used
    assert [t[2:4] for t in _typed(upgraded)] == [(2, weighted)]
    assert openpyxl.load_workbook(path)["Opportunities"][f"{weighted}2"].value == 9999


def test_a_state_of_another_format_is_no_state():
    tabs = {"opportunities": {"weighted_amount": {"OPP-0001": (600,)}}}
    assert recall(("written", FORMAT, 4, 5, tabs), 5).before == tabs
    for kept in (("written", FORMAT + 1, 4, 5, tabs), (4, 5, tabs), ("written", FORMAT, 4, 5, {"leads": [1]}),
                 ("written", FORMAT, 4, 5, {"leads": {"score": (1,)}}), None):
        assert recall(kept, 5).before == {}
    assert recall(("written", FORMAT, 4, 5, tabs), 6).before == {}  # another writer since


def test_a_state_another_writer_made_stale_is_not_used(tmp_path):
    """Another machine synced in between (its own cache): the values it wrote are not this
    machine's, yet sheetcrm's. The `_sheetcrm` generation it moved says so: no false alarm."""
    path = tmp_path / "crm.xlsx"
    book = _book(path)
    days = _column(path, "Opportunities", "Days in Stage")
    sync(book, Config(), as_of=AS_OF + dt.timedelta(days=1), cache=tmp_path / "another machine")
    outcome = sync(book, Config(), as_of=AS_OF + dt.timedelta(days=2))
    assert _typed(outcome) == []
    assert openpyxl.load_workbook(path)["Opportunities"][f"{days}2"].value is not None
    assert not sync(book, Config(), as_of=AS_OF + dt.timedelta(days=2)).plan


def test_a_typed_value_is_said_in_spanish(tmp_path):
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, _tabs([], [[], []], *LEADS))
    es = Config.model_validate({"locale": "es"})
    sync(book, es, as_of=AS_OF)
    score = _column(path, "Leads", "Puntuación")
    _type(path, "Leads", {f"{score}2": 90})
    [said] = [i for i in sync(book, es, as_of=AS_OF).crm.report.issues if i.code == TYPED]
    assert said.message == ('La columna "Puntuación" la calcula sheetcrm, y esta celda tiene "90", que sheetcrm no '
                            'escribió: se conserva tal cual, y sheetcrm no lo usa.')
    assert said.hint.startswith("sheetcrm calcula ahora ")
    assert said.hint.endswith(" aquí. Vacía la celda para que sheetcrm vuelva a rellenarla.")


def test_validate_reports_a_typed_over_cell_as_the_sync_does(tmp_path):
    """`sheetcrm validate` reports every issue a sync would: it reads the state the last sync
    left beside the lock (read-only), so a value typed over a computed cell is said there too."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    path = tmp_path / "crm.xlsx"
    _book(path)
    score = _column(path, "Leads", "Score")
    _type(path, "Leads", {f"{score}2": 90})
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["validate", "--workbook", str(path), "--format", "json"])
    typed = [i for i in __import__("json").loads(result.output)["issues"] if i["code"] == TYPED]
    assert [(i["tab"], i["row"], i["column"]) for i in typed] == [("Leads", 2, score)]
    assert path.read_bytes() == before  # read-only


# --- the same, in the computed columns other steps write ---------------------------------
# The Cases tab's Age and SLA (steps/cases.py), the Campaigns tab's figures (steps/campaigns.py),
# the Workflows tab's Firings (steps/workflows.py) and the Segments column (steps/segments.py)
# are written through the same `computed_columns.plan_computed`: a value typed over one is kept
# and said at its cell, on .xlsx and on Google alike, until the person clears it.

def _steps_tabs() -> dict[str, list[list]]:
    from test_cases_tab import CASES
    from test_campaigns_tab import CAMPAIGNS
    from test_workflows import _tabs as workflow_tabs

    rule = ["WF-0001", "Won", "yes", "opportunity", "Stage changes to Closed Won", "", "notify", None, None, None,
            None, None]
    tabs = workflow_tabs([rule])
    tabs["Cases"] = [CASES, ["CASE-0001", "ACC-0001", "CON-0001", "Site down", "Urgent", "Open", "Phone",
                             "2026-11-27 16:00", None, "Sam", None]]
    tabs["Campaigns"] = [CAMPAIGNS, ["CMP-0001", "Webinar", "Webinar", "Completed", "2026-03-01", "2026-03-31", 3000,
                                     2000, "USD", "Sam", None]]
    return tabs


STEPS_CONFIG = {"segments": {"Fresh": {"record": "leads", "when": "Status = New"}}}


@pytest.mark.parametrize(("kind", "tab", "header", "typed"), [
    ("xlsx", "Cases", "Age (days)", 99),
    ("xlsx", "Cases", "SLA Breached", "no"),
    ("xlsx", "Campaigns", "Leads", 42),
    ("xlsx", "Workflows", "Firings", 7),
    ("xlsx", "Leads", "Segments", "VIP"),
    ("google", "Cases", "Age (days)", 99),
    ("google", "Leads", "Segments", "VIP"),
])
def test_a_value_typed_over_a_cell_another_step_computes_is_kept_and_said(kind, tab, header, typed, tmp_path,
                                                                          request):
    from test_workflows import Book

    server = request.getfixturevalue("emu") if kind == "google" else None
    book = Book(kind, tmp_path, server, _steps_tabs())
    config = Config.model_validate(STEPS_CONFIG)
    book.sync(0, config)
    assert not book.sync(0, config).plan.writes
    col = book.rows(tab)[0].index(header) + 1
    letter = openpyxl.utils.get_column_letter(col)

    def cell():
        row = book.rows(tab)[1]
        return row[col - 1] if col <= len(row) else None

    computed = cell()
    book.set(tab, 2, col, typed)
    for _sync in range(2):  # kept, and said on every sync
        outcome = book.sync(0, config)
        assert [(i.tab, i.row, i.column, i.header, i.value) for i in outcome.crm.report.issues
                if i.code == TYPED] == [(tab, 2, letter, header, typed)]
        assert cell() == typed
    # Cleared: sheetcrm's to fill again, without a word.
    book.set(tab, 2, col, "" if kind == "google" else None)  # a null in Sheets' API changes nothing
    cleared = book.sync(0, config)
    assert _typed(cleared) == []
    assert cell() == computed
