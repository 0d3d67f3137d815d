"""The engine inside a sync: computed columns and summary tabs hold the same numbers as the
machine-readable output, and stage history survives sorts and inserts of the Opportunities tab."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal

import pytest

from sheetcrm.config import Config
from sheetcrm.crm.kpis import KPIS
from sheetcrm.crm.money import cents
from sheetcrm.starter import write_demo
from sheetcrm.sync import sync
from sheetcrm.workbook import same_value
from sheetcrm.workbook.memory import MemoryWorkbook
from books import edit, xlsx
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    book = XlsxWorkbook(tmp_path_factory.mktemp("engine") / "demo.xlsx")
    write_demo(book, rows=80, seed=11, today=AS_OF)
    outcome = sync(book, Config(), as_of=AS_OF)
    return book, outcome


def test_every_summary_tab_is_populated(demo):
    book, _ = demo
    tabs = book.read().tabs
    for title in ("Pipeline", "Forecast", "Dashboard", "Stage History", "Lead Status History", "Validation"):
        assert len(tabs[title].rows) > 2, title
    pipeline = tabs["Pipeline"].rows
    assert pipeline[0] == ["Stage", "Count", "Amount", "Weighted"]
    assert [r[0] for r in pipeline[1:]] == [s.name for s in Config().stages]


def test_kpis_json_holds_the_dashboard_numbers(demo):
    book, outcome = demo
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "kpis", "--workbook", str(book.path), "--as-of",
                          AS_OF.isoformat(), "--format", "json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    kpis = json.loads(out.stdout)
    dashboard = {r[0]: r[1] for r in book.read().tabs["Dashboard"].rows[1:]}
    # The Dashboard shows money to the cent; JSON holds every digit.
    for key in ("won_revenue", "avg_won_amount", "open_pipeline", "weighted_pipeline"):
        assert Decimal(str(dashboard[KPIS[key][0]])) == cents(Decimal(kpis[key])), key
    for key in ("won_count", "lost_count"):
        assert dashboard[KPIS[key][0]] == kpis[key], key
    assert kpis["won_count"] + kpis["lost_count"] > 0
    # Win rate = won ÷ (won + lost), from closed deals only: a fraction in JSON, unrounded.
    won = sum(1 for o in outcome.results.opportunities if o.stage == "Closed Won")
    lost = sum(1 for o in outcome.results.opportunities if o.stage == "Closed Lost")
    assert kpis["win_rate"] == pytest.approx(won / (won + lost), abs=1e-9)
    # The Dashboard holds it as a fraction, to a tenth of a percent (its cell shows "45.0%").
    assert Decimal(str(dashboard[KPIS["win_rate"][0]])) == (Decimal(won) / (won + lost)).quantize(Decimal("0.001"))


def test_forecast_json_holds_the_forecast_tab(demo):
    book, _ = demo
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "forecast", "--workbook", str(book.path), "--as-of",
                          AS_OF.isoformat(), "--format", "json"], capture_output=True, text=True, timeout=120)
    data = json.loads(out.stdout)
    assert [m["month"] for m in data["months"]] == ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03", "2027-04"]
    tab = book.read().tabs["Forecast"].rows
    for month, row in zip(data["months"], tab[1:7]):
        assert row[0] == month["month"] and row[1] == "(all)"
        assert Decimal(str(row[2])) == Decimal(month["pipeline"])
        assert Decimal(str(row[5])) == Decimal(month["best_case"])
        # Best Case is cumulative: it includes Commit.
        assert Decimal(month["best_case"]) >= Decimal(month["commit"])
    assert {c["stage"] for c in data["stage_calibration"]} == {"Prospecting", "Qualification", "Proposal",
                                                                 "Negotiation"}
    assert all(c["n"] > 0 for c in data["stage_calibration"])


def test_opportunity_computed_columns_agree_with_the_row(demo):
    book, _ = demo
    rows = book.read().tabs["Opportunities"].rows
    header = rows[0]
    col = {h: i for i, h in enumerate(header)}
    checked = 0
    for r in rows[1:]:
        r = r + [None] * (len(header) - len(r))
        if r[col["Stage"]] == "Proposal" and isinstance(r[col["Amount"]], (int, float)) and not r[col["Probability"]]:
            assert r[col["Probability %"]] == 0.5
            assert same_value(r[col["Weighted Amount"]], round(r[col["Amount"]] * 0.5, 2))
            assert r[col["Forecast Category"]] == "Best Case"
            checked += 1
    assert checked > 0


def _crm(opportunities: list[list]) -> MemoryWorkbook:
    return MemoryWorkbook({
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount"], *opportunities],
    })


def test_stage_history_records_real_changes_only_even_after_sorts_and_inserts():
    book = _crm([["OPP-0001", "A", "Acme", "Prospecting", 100], ["OPP-0002", "B", "Acme", "Proposal", 200]])
    sync(book, Config(), as_of=dt.date(2026, 1, 1))
    opps = book.tabs["Opportunities"]
    # People sort the tab, insert a row above, and move one deal on.
    header, a, b = opps[0], opps[1], opps[2]
    b[3] = "Negotiation"
    book.tabs["Opportunities"] = [header, ["", "C", "Acme", "Qualification", 300], b, a]
    sync(book, Config(), as_of=dt.date(2026, 1, 8))
    history = [r[:4] for r in book.tabs["Stage History"][1:]]
    assert history == [
        ["OPP-0001", None, "Prospecting", dt.date(2026, 1, 1)],
        ["OPP-0002", None, "Proposal", dt.date(2026, 1, 1)],
        ["OPP-0003", None, "Qualification", dt.date(2026, 1, 8)],
        ["OPP-0002", "Proposal", "Negotiation", dt.date(2026, 1, 8)],
    ]
    sync(book, Config(), as_of=dt.date(2026, 1, 9))
    assert len(book.tabs["Stage History"]) == 5  # nothing changed, nothing appended


def test_mixed_currencies_without_a_rate_warn_and_are_not_summed():
    book = _crm([["OPP-0001", "A", "Acme", "Proposal", 100], ["OPP-0002", "B", "Acme", "Proposal", 200]])
    book.tabs["Opportunities"][0].append("Currency")
    book.tabs["Opportunities"][2].append("EUR")
    outcome = sync(book, Config(), as_of=AS_OF)
    [warning] = [i for i in outcome.crm.report.issues if i.code == "missing_rate"]
    assert warning.severity == "warning" and warning.row == 3
    pipeline = {r[0]: r for r in book.tabs["Pipeline"][1:]}
    # The EUR deal is counted, and the Amount and Weighted it cannot be in are blank, never 100 short of it.
    assert pipeline["Proposal"][1:] == [2]
    book = MemoryWorkbook({**book.tabs, "Rates": [["Currency", "Rate"], ["EUR", 1.5]]})
    outcome = sync(book, Config(), as_of=AS_OF)
    assert not [i for i in outcome.crm.report.issues if i.code == "missing_rate"]
    assert {r[0]: r for r in book.tabs["Pipeline"][1:]}["Proposal"][1:] == [2, 400, 200]


def test_history_of_a_new_record_waits_for_its_id_to_land():
    book = _crm([["OPP-0001", "A", "Acme", "Prospecting", 100], ["", "B", "Acme", "Proposal", 200]])
    snapshot = book.read()
    from sheetcrm.sync import plan_sync

    _, _, plan = plan_sync(snapshot, Config(), dt.date(2026, 1, 1))
    # Someone deletes the new row between sheetcrm's read and its write.
    book.tabs["Opportunities"].pop(2)
    result = book.write(plan)
    assert ("Opportunities", 3, 1) in {w.key for w in result.skipped}
    history = book.tabs["Stage History"]
    assert [r[0] for r in history[1:] if r and r[0]] == ["OPP-0001"]  # no row for the ID that never landed
    sync(book, Config(), as_of=dt.date(2026, 1, 2))
    assert not sync(book, Config(), as_of=dt.date(2026, 1, 2)).plan


def test_missing_rate_is_said_at_the_amount_cell_in_the_teams_numbers(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Negotiation", 1234.56, "GBP", dt.date(2026, 3, 20)],
                          ["OPP-0002", "A2", "Acme", "Ana", "Negotiation", "1.234,5 CHF", None, dt.date(2026, 3, 20)]]})
    outcome = sync(XlsxWorkbook(path), Config(locale="es"), as_of=dt.date(2026, 3, 15))
    found = [i for i in outcome.crm.report.issues if i.code == "missing_rate"]
    assert [(i.row, i.column, i.header) for i in found] == [(2, "F", "Amount"), (3, "F", "Amount")]
    assert "1.234,56 GBP no se puede pasar" in found[0].message and "1.234,5 CHF no se puede" in found[1].message


def test_a_negative_deal_amount_is_an_error_at_its_cell_and_counts_nowhere(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Closed Won", 1000, dt.date(2026, 3, 10)],
                          ["OPP-0002", "A2", "Acme", "Ana", "Closed Won", -500, dt.date(2026, 3, 12)],
                          ["OPP-0003", "A3", "Acme", "Ben", "Negotiation", 2000, dt.date(2026, 3, 20)],
                          ["OPP-0004", "A4", "Acme", "Ben", "Negotiation", "(3,000)", dt.date(2026, 3, 20)]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    found = [(i.severity, i.row, i.column, i.value) for i in outcome.crm.report.issues if i.code == "negative_amount"]
    assert found == [("error", 3, "F", -500), ("error", 5, "F", "(3,000)")]
    team = outcome.results.kpis.team
    assert (team.won_revenue, team.won_count, team.open_pipeline) == (1000, 1, 2000)


def test_a_won_deal_closed_before_it_was_created_is_said_and_left_out_of_the_cycle(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Closed Won", 1000, dt.date(2026, 3, 10), dt.date(2026, 1, 1)],
                          ["OPP-0002", "A2", "Acme", "Ana", "Closed Won", 1000, dt.date(2026, 3, 12), dt.date(2026, 1, 1)],
                          ["OPP-0003", "A3", "Acme", "Ana", "Closed Won", 1000, dt.date(2026, 3, 2), dt.date(2026, 4, 1)]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 4, 15))
    found = [(i.severity, i.row, i.column, i.header) for i in outcome.crm.report.issues
             if i.code == "close_before_created"]
    assert found == [("warning", 4, "G", "Close Date")]
    team = outcome.results.kpis.team
    assert team.won_count == 3 and team.won_revenue == 3000 and team.avg_sales_cycle_days == 69  # (68 + 70) / 2
    assert "before its Created is left out" in KPIS["avg_sales_cycle_days"][1]


def test_a_future_dated_activity_is_a_plan_for_every_last_activity(tmp_path):
    """A meeting booked for June, seen on 2026-03-15, is no sign of life: the deal's Last
    Activity stays its last real one, it rots (Negotiation allows 7 days; 69 have passed), the
    Dashboard counts it, a lead's Last Activity in a condition and a case's First Response skip
    it too (crm.stages.is_plan)."""
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Leads": [["ID", "Last Name", "Company", "Status", "Created"], ["LEAD-0001", "Ng", "Zeta", "New", "2026-01-01"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Created"],
                          ["OPP-0001", "A1", "Acme", "Negotiation", 1000, "2026-04-10", "2026-01-01"],
                          ["OPP-0002", "A2", "Acme", "Negotiation", 1000, "2026-04-10", "2026-01-01"]],
        "Cases": [["ID", "Account", "Subject", "Priority", "Status", "Opened"],
                  ["CASE-0001", "ACC-0001", "Down", "Low", "Open", "2026-03-10 09:00"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                       ["ACT-0001", "2026-01-05", "Call", "call", "OPP-0001"],
                       ["ACT-0002", "2026-01-05", "Call", "call", "OPP-0002"],
                       ["ACT-0003", "2026-06-01", "Meeting", "planned", "OPP-0002"],
                       ["ACT-0004", "2026-01-05", "Call", "call", "LEAD-0001"],
                       ["ACT-0005", "2026-06-01", "Meeting", "planned", "LEAD-0001"],
                       ["ACT-0006", "2026-04-01", "Call", "planned", "CASE-0001"]],
        "Segments": [["Name", "Record", "Conditions"], ["Quiet", "leads", "Last Activity < 2026-02-01"]],
    })
    sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 1, 2))  # both deals enter Negotiation
    sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    tabs = XlsxWorkbook(path).read().tabs

    def column(tab: str, header: str) -> list:
        rows = tabs[tab].rows
        at = rows[0].index(header)
        return [r[at] if at < len(r) else None for r in rows[1:]]  # a row read ends at its last filled cell

    assert [same_value(v, dt.date(2026, 1, 5)) for v in column("Opportunities", "Last Activity")] == [True, True]
    assert column("Opportunities", "Rotting") == ["yes", "yes"]
    assert {r[0]: r[1] for r in tabs["Dashboard"].rows[1:]}[KPIS["rotting_deals"][0]] == 2
    assert column("Leads", "Segments") == ["Quiet"]
    assert column("Cases", "First Response") == [None]


def _undated_book(path, header: list, rows: list[list]):
    return xlsx(path, {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]], "Opportunities": [header, *rows]})


def test_deals_with_no_close_date_are_said_where_the_forecast_leaves_them_out(tmp_path):
    """The forecast places a deal with no Close Date in no month: a won one, an open Commit or
    Best Case one is a warning at its Close Date cell; the open Pipeline ones (early deals,
    often undated) one count at the Forecast tab; an Omitted one is in no forecast anyway."""
    header = ["ID", "Name", "Account", "Stage", "Amount", "Close Date"]
    path = _undated_book(tmp_path / "crm.xlsx", header, [
        ["OPP-0001", "A1", "Acme", "Negotiation", 1000, None],        # Commit
        ["OPP-0002", "A2", "Acme", "Negotiation", 2000, "2025-12-01"],  # overdue: in the first month
        ["OPP-0003", "A3", "Acme", "Closed Won", 4000, None],
        ["OPP-0004", "A4", "Acme", "Proposal", 500, None],            # Best Case
        ["OPP-0005", "A5", "Acme", "Prospecting", 300, None],         # Pipeline
        ["OPP-0006", "A6", "Acme", "Qualification", 300, None],       # Pipeline
        ["OPP-0007", "A7", "Acme", "Closed Lost", 300, None]])
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    said = [(i.severity, i.tab, i.row, i.column, i.value) for i in outcome.crm.report.issues
            if i.code == "no_close_date"]
    assert said == [("warning", "Opportunities", 2, "F", None), ("warning", "Opportunities", 4, "F", None),
                    ("warning", "Opportunities", 5, "F", None), ("warning", "Forecast", None, None, 2)]
    validation = XlsxWorkbook(path).read().tabs["Validation"].rows
    assert sum("no_close_date" in row for row in validation) == 4
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "forecast", "--workbook", str(path), "--as-of",
                          "2026-03-15", "--months", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-2:] == ["4 open deals have no close date and are left out",
                                            "1 won deal has no close date: its revenue is in no month"]


def test_won_and_committed_deals_with_no_amount_are_said_at_the_amount_cell(tmp_path):
    """A won deal with an empty Amount counts in Won deals and the win rate but adds nothing to
    won revenue, closed won or attainment: said at its cell, as an open Commit or Best Case one
    (the commit is short of it); an early Pipeline deal with no price yet, or a lost one, is not."""
    header = ["ID", "Name", "Account", "Stage", "Amount", "Close Date"]
    path = _undated_book(tmp_path / "crm.xlsx", header, [
        ["OPP-0001", "A1", "Acme", "Closed Won", None, "2026-03-01"],
        ["OPP-0002", "A2", "Acme", "Closed Won", 1000, "2026-03-02"],
        ["OPP-0003", "A3", "Acme", "Negotiation", None, "2026-03-20"],   # Commit
        ["OPP-0004", "A4", "Acme", "Proposal", None, "2026-03-20"],      # Best Case
        ["OPP-0005", "A5", "Acme", "Prospecting", None, "2026-03-20"],   # Pipeline
        ["OPP-0006", "A6", "Acme", "Closed Lost", None, "2026-03-01"]])
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    said = [(i.severity, i.tab, i.row, i.column, i.header) for i in outcome.crm.report.issues
            if i.code == "no_amount"]
    assert said == [("warning", "Opportunities", r, "E", "Amount") for r in (2, 4, 5)]
    messages = [i.message for i in outcome.crm.report.issues if i.code == "no_amount"]
    assert "won revenue" in messages[0] and "Commit" in messages[1] and "Best Case" in messages[2]
    # Counted as they read: two won deals, revenue of the one with an amount.
    assert (outcome.results.kpis.team.won_count, outcome.results.kpis.team.won_revenue) == (2, Decimal(1000))


def test_the_dashboard_s_quarter_follows_the_config_s_fiscal_year(tmp_path):
    """`fiscal_year_start = 2`: on 15 March the quarter is February–April, so a deal closing in
    April is this quarter's pipeline and one won in January last quarter's revenue."""
    path = _undated_book(tmp_path / "crm.xlsx", ["ID", "Name", "Account", "Stage", "Amount", "Close Date"], [
        ["OPP-0001", "A1", "Acme", "Negotiation", 3000, "2026-04-20"],
        ["OPP-0002", "A2", "Acme", "Closed Won", 1000, "2026-01-10"],
        ["OPP-0003", "A3", "Acme", "Closed Won", 5000, "2025-12-10"]])
    calendar = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15), dry_run=True).results.kpis
    # January–March: nothing closes by March, over October–December's 5000 won.
    assert (calendar.pipeline_coverage, calendar.pipeline_coverage_basis) == (Decimal(0), "last_quarter_won")
    fiscal = sync(XlsxWorkbook(path), Config(fiscal_year_start=2), as_of=dt.date(2026, 3, 15),
                  dry_run=True).results.kpis
    # February–April: 3000 closes in April, over November–January's 5000 + 1000 won.
    assert (fiscal.pipeline_coverage, fiscal.pipeline_coverage_basis) == (Decimal("0.5"), "last_quarter_won")


def test_with_no_close_date_column_each_kind_is_one_line_at_the_forecast(tmp_path):
    path = _undated_book(tmp_path / "crm.xlsx", ["ID", "Name", "Account", "Stage", "Amount"], [
        ["OPP-0001", "A1", "Acme", "Negotiation", 1000], ["OPP-0002", "A2", "Acme", "Closed Won", 4000],
        ["OPP-0003", "A3", "Acme", "Closed Won", 10]])
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    said = [(i.tab, i.row, i.value, i.message) for i in outcome.crm.report.issues if i.code == "no_close_date"]
    assert said == [
        ("Forecast", None, 1, "1 open deal has no Close Date, so the Forecast leaves its amount out of every month."),
        ("Forecast", None, 2, "2 won deals have no Close Date, so the Forecast counts their revenue in no month "
                              "(the Dashboard's won revenue counts it).")]


def test_the_default_title_rules_score_words_not_letters_inside_words(tmp_path):
    """Found by a tester: Intern inside International and Internal, VP inside MVP, Head inside
    Headhunter took or gave points (base 30; Director +15, Email +5, Company +5, Cold Call -10)."""
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Leads": [["ID", "Last Name", "Company", "Email", "Title", "Source", "Status"],
                  ["LEAD-0001", "Dos", None, "b@acme.com", "International Sales Director", "Web", "New"],
                  ["LEAD-0002", "Tres", "Acme", None, "Internal Auditor", "Web", "New"],
                  ["LEAD-0003", "Cuatro", None, None, "MVP Developer", "Web", "New"],
                  ["LEAD-0004", "Cinco", None, None, "Headhunter", "Cold call", "New"],
                  ["LEAD-0005", "Seis", None, None, "Directora de Ventas", "Web", "New"]]})
    sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 3, 15))
    rows = XlsxWorkbook(path).read().tabs["Leads"].rows
    score, grade = rows[0].index("Score"), rows[0].index("Grade")
    assert [(r[score], r[grade]) for r in rows[1:]] == [(50, "C"), (35, "D"), (30, "D"), (20, "D"), (45, "C")]


def test_a_pipeline_row_counts_the_deals_it_sums(tmp_path):
    # A deal whose currency has no rate is in its stage's Count, and blanks its Amount and Weighted
    # (its missing_rate warning names it): 160 would read as the stage's whole. A deal with no
    # Amount yet is a deal of the stage, adding 0.
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Rates": [["Currency", "Rate"], ["EUR", 1.5]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Proposal", 100, None],
                          ["OPP-0002", "A2", "Acme", "Ana", "Proposal", 200, "CHF"],
                          ["OPP-0003", "A3", "Acme", "Ana", "Proposal", 40, "EUR"],
                          ["OPP-0004", "A4", "Acme", "Ana", "Proposal", None, None],
                          ["OPP-0005", "A5", "Acme", "Ana", "Negotiation", 300, "CHF"]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    assert [i.row for i in outcome.crm.report.issues if i.code == "missing_rate"] == [3, 6]
    pipeline = {r[0]: r[1:] for r in XlsxWorkbook(path).read().tabs["Pipeline"].rows[1:]}
    assert pipeline["Proposal"] == [4]          # Amount and Weighted blank: OPP-0002 is in CHF
    assert pipeline["Negotiation"] == [1]
    assert pipeline["Prospecting"] == [0, 0, 0]
    edit(XlsxWorkbook(path), lambda wb: wb["Rates"].append(["CHF", 2]))
    sync(XlsxWorkbook(path), Config(), as_of=AS_OF)
    pipeline = {r[0]: r[1:] for r in XlsxWorkbook(path).read().tabs["Pipeline"].rows[1:]}
    # Proposal: 100 + 200 × 2 + 40 × 1.5 = 560 over four deals; weighted at 50 %: 280.
    assert (pipeline["Proposal"], pipeline["Negotiation"]) == ([4, 560, 280], [1, 600, 450])


def _two_acmes(tmp_path, locale):
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name", "Country"], ["ACC-0001", "Acme", "Spain"], ["ACC-0002", "Acme", "USA"],
                     ["ACC-0003", "Globex", "USA"]],
        "Leads": [["ID", "Last Name", "Company", "Campaign", "Status", "Created"],
                  ["LEAD-0001", "Lee", "Acme", "Spring", "Converted", dt.date(2026, 1, 1)],
                  ["LEAD-0002", "Kim", "globex", "Fall", "Converted", dt.date(2026, 1, 2)]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "es deal", "ACC-0001", "Ana", "Closed Won", 1000, dt.date(2026, 4, 10)],
                          ["OPP-0002", "us deal", "ACC-0002", "Ben", "Closed Won", 2000, dt.date(2026, 4, 10)],
                          ["OPP-0003", "gx deal", "Globex", "Ben", "Closed Won", 500, dt.date(2026, 4, 10)]],
        "Cases": [["ID", "Account", "Subject", "Priority", "Status", "Opened"],
                  ["CASE-0001", "ACC-0001", "a", "Low", "Open", "2026-05-01 10:00"],
                  ["CASE-0002", "ACC-0002", "b", "Low", "Open", "2026-05-01 10:00"],
                  ["CASE-0003", "acc-0002", "c", "Low", "Open", "2026-05-01 10:00"],
                  ["CASE-0004", "Globex", "d", "Low", "Open", "2026-05-01 10:00"]]})
    outcome = sync(XlsxWorkbook(path), Config(locale=locale), as_of=dt.date(2026, 5, 15))
    tabs = XlsxWorkbook(path).read().tabs
    dashboard = next(t for title, t in tabs.items() if title in ("Dashboard", "Panel", "Cuadro de mando"))
    return outcome, {r[0]: r[1] for r in dashboard.rows[1:] if r}


def test_two_accounts_of_one_name_are_two_accounts_on_the_dashboard(tmp_path):
    outcome, rows = _two_acmes(tmp_path, "en")
    k = outcome.results.kpis
    # By ID, never by name: 1000 and 2000, not one "Acme" of 3000; the ID shown only where names collide.
    assert k.lifetime_value == {"Acme (ACC-0001)": 1000, "Acme (ACC-0002)": 2000, "Globex": 500}
    assert (rows["Lifetime value, Acme (ACC-0001)"], rows["Lifetime value, Acme (ACC-0002)"],
            rows["Lifetime value, Globex"]) == (1000, 2000, 500)
    assert "Lifetime value, Acme" not in rows
    assert (rows["Cases, Acme (ACC-0002)"], rows["Cases, Acme (ACC-0001)"], rows["Cases, Globex"]) == (2, 1, 1)
    assert "Cases, Acme" not in rows
    # The Company "Acme" names two accounts: its campaign gets neither's revenue, and the cell says so.
    assert k.won_revenue_by_campaign == {"Fall": 500}
    assert "Won revenue from accounts of campaign Spring's leads" not in rows
    assert rows["Won revenue from accounts of campaign Fall's leads"] == 500
    [issue] = [i for i in outcome.crm.report.issues if i.code == "ambiguous_reference"]
    assert (issue.severity, issue.tab, issue.row, issue.column, issue.header, issue.value) == (
        "warning", "Leads", 2, "C", "Company", "Acme")
    assert issue.message == '"Acme" names more than one account: ACC-0001 (row 2), ACC-0002 (row 3).'
    assert "none of these accounts' won revenue" in issue.hint


def test_two_accounts_of_one_name_are_told_apart_in_spanish(tmp_path):
    outcome, rows = _two_acmes(tmp_path, "es")
    assert (rows["Valor de vida del cliente, Acme (ACC-0001)"], rows["Valor de vida del cliente, Acme (ACC-0002)"],
            rows["Casos, Acme (ACC-0002)"]) == (1000, 2000, 2)
    [issue] = [i for i in outcome.crm.report.issues if i.code == "ambiguous_reference"]
    assert issue.message == '"Acme" designa más de una cuenta: ACC-0001 (fila 2), ACC-0002 (fila 3).'
    assert "los ingresos ganados de ninguna de ellas" in issue.hint


def _budget_book(tmp_path, budgets: list) -> XlsxWorkbook:
    rows = [[f"LEAD-000{i}", name, f"{name} Co", "New", budget]
            for i, (name, budget) in enumerate(zip(["Adams", "Baker", "Clark", "Davis", "Evans"], budgets), 1)]
    return XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", {"Leads": [["ID", "Last Name", "Company", "Status", "Budget"],
                                                               *rows]}))


def _budget_rule(**more) -> Config:
    return Config.model_validate({**more, "tabs": {"leads": {"custom_fields": {"Budget": {}}}},  # text: no type
                                  "scoring": {"base": 0, "engagement": {}, "rules": [
                                      {"column": "Budget", "op": "in", "values": [1500, dt.date(2026, 3, 4)],
                                       "points": 20}]}})


def test_a_scoring_rule_says_at_the_cell_a_text_cell_it_cannot_read_for_sure(tmp_path):
    """An `in` rule with a number and a date on a text column: "1.500" is 1.5 or 1500 and
    "03/04/2026" 3 April or 4 March, so the rule is neither true nor false for those leads: no
    points, and a warning at each cell (the read's code), as a workflow condition says it. Cells
    that read one way score or not, quietly."""
    outcome = sync(_budget_book(tmp_path, ["1.500", "1500", "lots", "03/04/2026", "2026-03-04"]), _budget_rule(),
                   as_of=dt.date(2026, 3, 15))
    scores = {k: s.score for k, s in outcome.results.scoring.scores.items()}
    assert scores == {"LEAD-0001": 0, "LEAD-0002": 20, "LEAD-0003": 0, "LEAD-0004": 0, "LEAD-0005": 20}
    found = [(i.severity, i.tab, i.row, i.column, i.header, i.value, i.code) for i in outcome.crm.report.issues
             if i.tab == "Leads"]
    assert found == [("warning", "Leads", 2, "E", "Budget", "1.500", "ambiguous_number"),
                     ("warning", "Leads", 5, "E", "Budget", "03/04/2026", "ambiguous_date")]
    [first, _] = [i for i in outcome.crm.report.issues if i.tab == "Leads"]
    assert 'For the scoring rule "Budget in (1500, 2026-03-04)" it is neither true nor false' in first.message
    assert "declare the column's type" in first.hint


def test_a_money_scoring_rule_compares_in_the_base_currency_and_says_a_cell_it_cannot_put_there(tmp_path):
    """`Budget ≥ 1000` on a money column: "5000 MXN" (250 USD) is below it, "900 EUR" (1080 USD)
    above; "800 CHF" has no rate, so the rule is neither true nor false there, said at the cell."""
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", {
        "Leads": [["ID", "Last Name", "Status", "Budget"], ["LEAD-0001", "A", "New", "5000 MXN"],
                  ["LEAD-0002", "B", "New", "900 EUR"], ["LEAD-0003", "C", "New", "800 CHF"]],
        "Rates": [["Currency", "Rate"], ["MXN", 0.05], ["EUR", 1.2]]}))
    config = Config.model_validate({"tabs": {"leads": {"custom_fields": {"Budget": {"type": "money"}}}},
                                    "scoring": {"base": 0, "engagement": {}, "rules": [
                                        {"column": "Budget", "op": "range", "min": 1000, "points": 20}]}})
    outcome = sync(book, config, as_of=dt.date(2026, 3, 15))
    assert [s.score for s in outcome.results.scoring.scores.values()] == [0, 20, 0]
    [said] = [i for i in outcome.crm.report.issues if i.tab == "Leads"]
    assert (said.row, said.column, said.code, said.value) == (4, "D", "missing_rate", "800 CHF")  # not "800"
    assert 'No exchange rate for CHF: the scoring rule "Budget ≥ 1000" compares Budget in USD' in said.message


def test_a_scoring_rules_figures_in_its_warning_are_written_as_the_syncs_language_writes_them(tmp_path):
    """In Spanish "Importe in (3000; 2500,5)": it read "(3000, 2500.5)", an English decimal point in
    a Spanish line (and "2500,5" after ", " would read as two values)."""
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", {
        "Leads": [["ID", "Apellido", "Estado", "Importe", "Moneda"], ["LEAD-0001", "A", "Nuevo", 3000, "CHF"]]}))
    config = Config.model_validate({"locale": "es", "scoring": {"base": 0, "engagement": {}, "rules": [
        {"column": "Importe", "op": "in", "values": [3000, 2500.5], "points": 3}]}})
    outcome = sync(book, config, as_of=dt.date(2026, 3, 15))
    [said] = [i for i in outcome.crm.report.issues if i.tab == "Leads"]
    assert (said.code, said.value) == ("missing_rate", "3000 CHF")
    assert '"Importe in (3000; 2500,5)"' in said.message, said.message


def test_the_configs_locale_settles_a_scoring_rules_text_cell(tmp_path):
    """With `locale = "es"` set, "1.500" is 1500 and "04/03/2026" the 4th of March: the rule holds,
    nothing to say. Said in Spanish when it cannot (a cell written the English way)."""
    outcome = sync(_budget_book(tmp_path, ["1.500", "04/03/2026", "1,500.5"]), _budget_rule(locale="es"),
                   as_of=dt.date(2026, 3, 15))
    assert [s.score for s in outcome.results.scoring.scores.values()] == [20, 20, 0]
    [said] = [i for i in outcome.crm.report.issues if i.tab == "Leads"]
    assert (said.row, said.column, said.value) == (4, "E", "1,500.5")
    assert said.code == "mixed_convention" and 'la regla de puntuación "Budget in (1500, 2026-03-04)"' in said.message


def test_a_scoring_rule_on_a_column_the_leads_tab_has_not_got_is_said_at_its_header(tmp_path):
    """The team renamed Source to "Lead Origin": its rule on Source gave no lead its 20 points,
    every Referral lead scored 20 lower, and nothing said so. Now a warning at the Leads header
    names the column and the rules; the default rules, which no team wrote, say nothing."""
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", {
        "Leads": [["ID", "Last Name", "Lead Origin", "Status"], ["LEAD-0001", "A", "Referral", "New"]]}))
    config = Config.model_validate({"scoring": {"base": 0, "engagement": {}, "rules": [
        {"column": "Source", "op": "equals", "value": "Referral", "points": 20},
        {"column": "Origen", "op": "contains", "value": "Ref", "points": 2},
        {"column": "Status", "op": "equals", "value": "New", "points": 1}]}})
    outcome = sync(book, config, as_of=dt.date(2026, 3, 15))
    found = [(i.severity, i.tab, i.row, i.column, i.header, i.code) for i in outcome.crm.report.issues
             if i.tab == "Leads"]
    assert found == [("warning", "Leads", 1, None, "Source", "rule_column_missing")]
    [said] = [i for i in outcome.crm.report.issues if i.tab == "Leads"]
    assert said.message == ('There is no column "Source", so the scoring rules "Source = Referral", "Origen contains '
                            'Ref" give no lead their points.')
    assert 'head it "Source" (or "Origen")' in said.hint and '"Lead Origin"' in said.hint
    default = sync(XlsxWorkbook(xlsx(tmp_path / "other.xlsx", {
        "Leads": [["ID", "Last Name", "Lead Origin", "Status"], ["LEAD-0001", "A", "Referral", "New"]]})), Config(),
        as_of=dt.date(2026, 3, 15))
    assert not [i for i in default.crm.report.issues if i.code == "rule_column_missing"]


def test_a_scoring_rule_reads_its_figures_on_a_percentage_column_as_a_condition_does(tmp_path):
    """Discount holds percentages, read as points ("15%" is 15). A rule `min = 0.1, max = 0.5`
    (10 % to 50 %, as a workflow condition `Discount > 0.1` reads it) compared 15 with 0.5 and
    gave no lead its points, without a word; `value = 0.2` never equalled "20%". Now a bare figure
    below 1 is a fraction, as in a condition, and the Why names percentages; exactly 1 (1 % or
    100 %) stops the config."""
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", {
        "Leads": [["ID", "Last Name", "Status", "Discount"], ["LEAD-0001", "A", "New", "15%"],
                  ["LEAD-0002", "B", "New", "20 %"], ["LEAD-0003", "C", "New", "60%"],
                  ["LEAD-0004", "D", "New", 0.3]]}, formats={("Leads", "D5"): "0%"}))
    rules = [{"column": "Discount", "op": "range", "min": 0.1, "max": 0.5, "points": 20},
             {"column": "Discount", "op": "equals", "value": 0.2, "points": 3},
             {"column": "Discount", "op": "in", "values": ["60%", 70], "points": 1}]
    tabs = {"leads": {"custom_fields": {"Discount": {"type": "percent"}}}}
    config = Config.model_validate({"tabs": tabs, "scoring": {"base": 0, "engagement": {}, "rules": rules}})
    outcome = sync(book, config, as_of=dt.date(2026, 3, 15))
    found = {k: (s.score, s.why) for k, s in outcome.results.scoring.scores.items()}
    assert found == {"LEAD-0001": (20, "Discount 10%–50% +20"),
                     "LEAD-0002": (23, "Discount 10%–50% +20; Discount = 20% +3"),
                     "LEAD-0003": (1, "Discount = 60% +1"),
                     "LEAD-0004": (20, "Discount 10%–50% +20")}
    with pytest.raises(ValueError, match="1 compared with percentages is ambiguous, 1 % or 100 %"):
        Config.model_validate({"tabs": tabs, "scoring": {"rules": [
            {"column": "Discount", "op": "range", "max": 1, "points": 5}]}})


def test_a_scoring_rules_figure_written_as_text_reads_as_the_same_figure_on_a_percentage_column(tmp_path):
    """The rule's reading of a bare figure was its own copy of a condition's (`cells.bare_percent`),
    and applied only to numbers: `value = "0.2"` (a TOML string, as a condition writes it) was
    compared as 0.2 points and never equalled "20%", with no word; `value = "1"` (1 % or 100 %)
    passed the config check and was read as 1 %. A figure as text reads as the number does."""
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", {
        "Leads": [["ID", "Last Name", "Status", "Discount"], ["LEAD-0001", "A", "New", "20%"],
                  ["LEAD-0002", "B", "New", "5%"]]}))
    tabs = {"leads": {"custom_fields": {"Discount": {"type": "percent"}}}}
    rules = [{"column": "Discount", "op": "equals", "value": "0.2", "points": 3},
             {"column": "Discount", "op": "in", "values": ["0,5", "0.2"], "points": 1}]
    config = Config.model_validate({"tabs": tabs, "scoring": {"base": 0, "engagement": {}, "rules": rules}})
    outcome = sync(book, config, as_of=dt.date(2026, 3, 15))
    found = {k: (s.score, s.why) for k, s in outcome.results.scoring.scores.items()}
    assert found["LEAD-0001"][0] == 4 and found["LEAD-0002"][0] == 0, found
    for value in ("1", "1.0", 1.0):
        with pytest.raises(ValueError, match="1 compared with percentages is ambiguous, 1 % or 100 %"):
            Config.model_validate({"tabs": tabs, "scoring": {"rules": [
                {"column": "Discount", "op": "equals", "value": value, "points": 5}]}})
