"""The Campaigns tab (issue 15) through a real sync, on a real .xlsx file and on the Sheets
emulator (gspread over HTTP): IDs handed out, each campaign's computed columns in the base
currency, a Campaign cell that names no campaign reported at its cell, the ROI chart drawn once,
no cell a person wrote changed, and a second sync that plans nothing. (tests/crm/test_campaigns.py
checks the formulas against hand-computed figures.)"""

from __future__ import annotations

import copy
import datetime as dt

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.memory import MemoryWorkbook
from test_workflows import Book

AS_OF = dt.date(2026, 11, 24)
CAMPAIGNS = ["ID", "Name", "Type", "Status", "Start", "End", "Budget", "Actual Cost", "Currency", "Owner", "Notes"]


def _tabs() -> dict[str, list[list]]:
    return {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Sam"], ["ACC-0002", "Globex", "Ana"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"]],
        # LEAD-0003's campaign is typed by ID in lower case; LEAD-0004's names no campaign.
        "Leads": [["ID", "Last Name", "Company", "Email", "Status", "Owner", "Campaign"],
                  ["LEAD-0001", "Ng", "Initech", "ng@initech.com", "Converted", "Sam", "Spring Webinar"],
                  ["LEAD-0002", "Li", "Hooli", "li@hooli.com", "New", "Sam", "spring webinar"],
                  ["LEAD-0003", "Bo", "Globex", "bo@globex.com", "Qualified", "Ana", "cmp-0002"],
                  ["LEAD-0004", "Oz", "Umbrella", "oz@umbrella.com", "New", "Ana", "Sprnig Webinar"]],
        # OPP-0002 is in EUR (a Rates row says 1.1); OPP-0003 names no campaign of its own.
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date",
                           "Campaign", "Notes"],
                          ["OPP-0001", "Big", "ACC-0001", "Sam", "Closed Won", 5000, "USD", "2026-11-10",
                           "Spring Webinar", "keep me"],
                          ["OPP-0002", "Euro", "ACC-0002", "Ana", "Closed Won", 1000, "EUR", "2026-11-12",
                           "CMP-0002", None],
                          ["OPP-0003", "Open", "ACC-0002", "Ana", "Qualification", 700, "USD", "2027-01-10",
                           None, None]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Rates": [["Currency", "Rate"], ["EUR", 1.1]],
        # The first campaign has no ID yet; the second's cost is in EUR.
        "Campaigns": [CAMPAIGNS,
                      [None, "Spring Webinar", "Webinar", "Completed", "2026-03-01", "2026-03-31", 3000, 2000,
                       "USD", "Sam", "paid off"],
                      ["CMP-0002", "Trade Show", "Event", "Completed", "2026-05-01", "2026-05-03", 9000, 10000,
                       "EUR", "Ana", None]],
    }


PEOPLE = ("Accounts", "Leads", "Opportunities", "Campaigns")


@pytest.fixture(params=["xlsx", "google"])
def book(request, tmp_path) -> Book:
    server = request.getfixturevalue("emu") if request.param == "google" else None
    return Book(request.param, tmp_path, server, _tabs())


def _by_name(book: Book) -> dict[str, dict]:
    return {r["Name"]: r for r in book.records("Campaigns")}


def test_campaigns_tab_computed_on_both_backends(book: Book) -> None:
    before = {tab: book.rows(tab) for tab in PEOPLE}
    outcome = book.sync(0, Config())
    assert outcome.plan.writes

    got = _by_name(book)
    spring, show = got["Spring Webinar"], got["Trade Show"]
    assert spring["ID"] == "CMP-0003"  # after the CMP-0002 the sheet already holds
    # Spring Webinar: leads 1, 2 (by name, any case); 1 converted; OPP-0001 won 5000 USD; cost 2000 USD.
    assert (spring["Leads"], spring["Converted Leads"], spring["Opportunities"], spring["Won Deals"]) == (2, 1, 1, 1)
    assert spring["Won Revenue"] == 5000
    assert spring["Cost per Lead"] == 1000
    assert spring["Cost per Won Deal"] == 2000
    assert spring["ROI"] == 1.5  # (5000 − 2000) ÷ 2000
    # Trade Show: LEAD-0003 (by ID); OPP-0002 won 1000 EUR = 1100 USD; cost 10000 EUR = 11000 USD.
    assert (show["Leads"], show["Converted Leads"], show["Opportunities"], show["Won Deals"]) == (1, 0, 1, 1)
    assert show["Won Revenue"] == 1100
    assert show["Cost per Lead"] == 11000
    assert show["ROI"] == -0.9  # (1100 − 11000) ÷ 11000 = −0.9

    issues = [i for i in outcome.crm.report.issues if i.code == "unknown_campaign"]
    assert [(i.tab, i.row, i.column, i.severity) for i in issues] == [("Leads", 5, "G", "warning")]
    assert '"Spring Webinar"' in issues[0].hint  # the campaign it was likely meant to be
    # A mistyped campaign is a warning: the lead is still scored.
    assert outcome.results.score(next(lead for lead in outcome.crm.records("leads") if lead.id == "LEAD-0004"))

    # Only empty ID cells and sheetcrm's columns were written: every cell a person typed reads the same.
    for tab, rows in before.items():
        after = book.rows(tab)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None and tab == "Campaigns" and c == 0:
                    continue
                assert _same(after[r][c], value), (tab, r + 1, c + 1)

    assert _charts(book) == ["Campaign ROI"]
    again = book.sync(0, Config())
    assert not again.plan.writes and again.result is None
    assert _charts(book) == ["Campaign ROI"]


def test_a_campaign_added_later_joins_the_roi_chart(book: Book) -> None:
    book.sync(0, Config())
    assert _roi_rows(book) == (2, 3)
    added = ["CMP-0009", "Autumn Fair", "Event", "Completed", "2026-09-01", "2026-09-02", 500, 400, "USD", "Sam"]
    if book.kind == "xlsx":
        # Typed as Excel or LibreOffice save it: the drawing and its chart's name as they were
        # (openpyxl's save would name every chart anew).
        book.book.read()
        book.book.write(Plan(writes=[CellWrite("Campaigns", 4, c, v) for c, v in enumerate(added, 1)]))
    else:
        # A person's copy of the chart, the same title and columns: theirs, never moved.
        [ours] = _google_charts(book)
        book.server.apply(book.key, [{"addChart": {"chart": {**copy.deepcopy(ours), "chartId": 777}}}])
        book.append("Campaigns", added)
    outcome = book.sync(0, Config())
    assert outcome.plan.writes  # its ID-less figures
    assert _roi_rows(book) == (2, 4)  # the chart reaches the new campaign
    if book.kind == "google":
        assert _roi_rows(book, chart_id=777) == (2, 3)
        assert _charts(book) == ["Campaign ROI", "Campaign ROI"]
    else:
        assert _charts(book) == ["Campaign ROI"]
    assert not book.sync(0, Config()).plan.writes


def _google_charts(book: Book) -> list[dict]:
    meta = book.traced.book.client.open_by_key(book.key).fetch_sheet_metadata()
    return next(s for s in meta["sheets"] if s["properties"]["title"] == "Campaigns").get("charts", [])


def _roi_rows(book: Book, chart_id: int | None = None) -> tuple[int, int]:
    """The first and last sheet rows the ROI chart's categories and values cover (on Google,
    of the chart `chart_id`, else of the only one)."""
    if book.kind == "xlsx":
        ws = openpyxl.load_workbook(book.path)["Campaigns"]
        [chart] = ws._charts
        refs = {s.cat.numRef.f if s.cat.numRef else s.cat.strRef.f for s in chart.series} | \
            {s.val.numRef.f for s in chart.series}
        spans = {tuple(int(part.strip("$").lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ$")) for part in r.split("!")[1].split(":"))
                 for r in refs}
        [span] = spans
        return span
    charts = _google_charts(book)
    [chart] = [c for c in charts if c["chartId"] == chart_id] if chart_id is not None else charts[:1]
    basic = chart["spec"]["basicChart"]
    sources = [b["sourceRange"]["sources"][0] for b in [d["domain"] for d in basic["domains"]] +
               [x["series"] for x in basic["series"]]]
    [span] = {(s.get("startRowIndex", 0) + 2, s["endRowIndex"]) for s in sources}  # from the header row down
    return span


def _same(read, typed) -> bool:
    if isinstance(typed, str) and len(typed) == 10 and typed[4] == "-":
        return read == typed or read == dt.date.fromisoformat(typed) or isinstance(read, (int, float, dt.date))
    return read == typed


def _charts(book: Book) -> list[str]:
    if book.kind == "xlsx":
        ws = openpyxl.load_workbook(book.path)["Campaigns"]
        return [c.title.tx.rich.p[0].r[0].t for c in ws._charts]
    meta = book.traced.book.client.open_by_key(book.key).fetch_sheet_metadata()
    sheet = next(s for s in meta["sheets"] if s["properties"]["title"] == "Campaigns")
    return [c["spec"]["title"] for c in sheet.get("charts", [])]


def _memory(tabs: dict[str, list[list]]) -> MemoryWorkbook:
    return MemoryWorkbook({t: [list(r) for r in rows] for t, rows in tabs.items()})


def test_without_a_campaigns_tab_campaign_stays_free_text() -> None:
    tabs = _tabs()
    del tabs["Campaigns"]
    outcome = sync(_memory(tabs), Config(), AS_OF)
    assert not [i for i in outcome.crm.report.issues if i.code == "unknown_campaign" or i.tab == "Campaigns"]
    kpis = outcome.results.kpis
    # Free text grouped as the read compares it (case and spaces do not matter), shown as the
    # first lead spells it (a tie); an ID or a misspelling is other text.
    assert set(kpis.lead_conversion_by_campaign) == {"Spring Webinar", "cmp-0002", "Sprnig Webinar"}
    assert kpis.lead_conversion_by_campaign["Spring Webinar"].leads == 2
    assert not outcome.plan.charts[2:]


def test_a_campaign_typed_by_id_or_in_another_case_groups_under_its_name() -> None:
    outcome = sync(_memory(_tabs()), Config(), AS_OF)
    kpis = outcome.results.kpis
    assert kpis.lead_conversion_by_campaign["Spring Webinar"].leads == 2
    assert kpis.lead_conversion_by_campaign["Trade Show"].leads == 1
    assert "Sprnig Webinar" in kpis.lead_conversion_by_campaign  # unknown: kept as typed, and reported


def test_a_missing_rate_leaves_the_figures_empty_and_says_so() -> None:
    tabs = _tabs()
    tabs["Rates"] = [["Currency", "Rate"]]  # no EUR
    book = _memory(tabs)
    outcome = sync(book, Config(), AS_OF)
    rows = book.read().tabs["Campaigns"].rows
    header = list(rows[0])
    show = dict(zip(header, [*rows[2], *[None] * len(header)]))
    assert show["Won Deals"] == 1
    for empty in ("Won Revenue", "Cost per Lead", "Cost per Won Deal", "ROI"):
        assert show[empty] in (None, ""), empty
    missing = [i for i in outcome.crm.report.issues if i.tab == "Campaigns" and i.code == "missing_rate"]
    assert sorted((i.row, i.header) for i in missing) == [(3, "Actual Cost"), (3, "Won Revenue")]
    assert all("EUR" in i.message and "EUR" in i.hint for i in missing)
    # Spring Webinar, all in dollars, is still computed.
    assert dict(zip(header, rows[1]))["ROI"] == 1.5


def test_an_ambiguous_campaign_name_is_attributed_to_neither() -> None:
    tabs = _tabs()
    tabs["Campaigns"].append(["CMP-0009", "Trade Show", "Event", None, None, None, None, 50, "USD", "Ana", None])
    tabs["Leads"].append(["LEAD-0005", "Yu", "Acme", "yu@acme.com", "New", "Ana", "Trade Show"])
    book = _memory(tabs)
    outcome = sync(book, Config(), AS_OF)
    ambiguous = [i for i in outcome.crm.report.issues if i.code == "ambiguous_reference" and i.tab == "Leads"]
    assert [(i.row, i.column) for i in ambiguous] == [(6, "G")]
    assert "CMP-0002" in ambiguous[0].message and "CMP-0009" in ambiguous[0].message
    rows = book.read().tabs["Campaigns"].rows
    leads = {r[0]: r[rows[0].index("Leads")] for r in rows[1:] if r[0]}
    assert leads["CMP-0002"] == 1 and leads["CMP-0009"] == 0  # LEAD-0003 by ID only


def test_a_negative_cost_budget_or_lead_amount_is_an_error_at_its_cell(tmp_path) -> None:
    """-100 spent with 500 won used to read Cost per Lead -100 and ROI -600 %, with no word. A
    negative Actual Cost or Budget is refused at its cell as a deal's Amount is, and the campaign
    gets no figures until it is fixed; a lead's Amount, the deal its conversion opens, likewise."""
    tabs = _tabs()
    tabs["Campaigns"][1][7] = -100          # Spring Webinar's Actual Cost
    tabs["Campaigns"][2][6] = "(9,000)"     # Trade Show's Budget, accounting's minus
    tabs["Leads"][0].append("Amount")
    tabs["Leads"][2].append(-50)
    book = Book("xlsx", tmp_path, None, tabs)
    outcome = book.sync(0, Config())
    found = sorted((i.tab, i.row, i.header, i.value, i.severity) for i in outcome.crm.report.issues
                   if i.code == "negative_amount")
    assert found == [("Campaigns", 2, "Actual Cost", -100, "error"), ("Campaigns", 3, "Budget", "(9,000)", "error"),
                     ("Leads", 3, "Amount", -50, "error")]
    got = _by_name(book)
    for name in ("Spring Webinar", "Trade Show"):
        assert all(got[name].get(k) is None for k in ("Leads", "Won Revenue", "Cost per Lead", "ROI")), name
    left_out = [i.message for i in outcome.crm.report.issues if i.code == "left_out" and i.tab == "Campaigns"]
    assert len(left_out) == 1 and "(row 2)" in left_out[0] and "(row 3)" in left_out[0]


def test_won_deals_lacking_a_rate_are_one_warning_per_currency_at_the_campaign(tmp_path) -> None:
    """Three won CHF deals of one campaign, no CHF rate: the Campaigns row had three warnings at
    its Won Revenue cell, one per deal, where the Dashboard says one per currency with a count.
    One per campaign and currency now, counting and naming its deals; another currency apart."""
    from books import xlsx
    from sheetcrm.i18n import using
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    def won(n: int, currency: str) -> list:
        return [f"OPP-000{n}", f"Deal {n}", "ACC-0001", "Sam", "Closed Won", 1000, currency, "2026-11-10", "CMP-0001"]

    tabs = _tabs()
    tabs["Opportunities"] = [tabs["Opportunities"][0][:9], won(1, "CHF"), won(2, "CHF"), won(3, "CHF"),
                             won(4, "GBP")]
    tabs["Campaigns"] = [CAMPAIGNS, ["CMP-0001", "Spring", "Webinar", "Completed", "2026-03-01", "2026-03-31",
                                     3000, 2000, "USD", "Sam", None]]
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    with using("en"):
        result = sync(XlsxWorkbook(path), Config(currency="USD"), AS_OF)
    said = [(i.row, i.value, i.message) for i in result.crm.report.issues if i.tab == "Campaigns"]
    assert said == [
        (2, "CHF", "No exchange rate for CHF: 3 won deals (OPP-0001, OPP-0002, OPP-0003) cannot be put in USD, so "
                   "Won Revenue and ROI are left empty."),
        (2, "GBP", "No exchange rate for GBP: the won deal OPP-0004 cannot be put in USD, so Won Revenue and ROI are "
                   "left empty.")]


def test_a_name_shared_with_a_campaign_with_errors_is_attributed_to_neither(tmp_path) -> None:
    """Two campaigns named Trade Show, the second with a negative cost: the read warned that the
    lead and the deal naming "Trade Show" count for neither, yet the sound one was credited with
    both (Leads 2, Won Revenue 6100 and an ROI that looked exact), since only sound rows were
    compared. A row with errors still holds its name: the cells name neither until they say which."""
    tabs = _tabs()
    tabs["Campaigns"].append(["CMP-0009", "trade  show", "Event", None, None, None, None, -50, "USD", "Ana", None])
    tabs["Leads"].append(["LEAD-0005", "Yu", "Acme", "yu@acme.com", "New", "Ana", "Trade Show"])
    tabs["Opportunities"].append(["OPP-0004", "Fair", "ACC-0002", "Ana", "Closed Won", 5000, "USD", "2026-11-12",
                                  "Trade Show", None])
    book = Book("xlsx", tmp_path, None, tabs)
    outcome = book.sync(0, Config())
    ambiguous = [(i.tab, i.row) for i in outcome.crm.report.issues if i.code == "ambiguous_reference"]
    assert ambiguous == [("Leads", 6), ("Opportunities", 5)]
    show = _by_name(book)["Trade Show"]  # LEAD-0003 and OPP-0002, by ID, alone
    assert (show["Leads"], show["Opportunities"], show["Won Deals"], show["Won Revenue"]) == (1, 1, 1, 1100)
    assert show["ROI"] == -0.9
    # The ID of the row with errors names that campaign alone: no figures, and none for the other.
    tabs["Leads"][-1][6] = "CMP-0009"
    tabs["Opportunities"][-1][8] = "CMP-0009"
    (tmp_path / "by_id").mkdir()
    book = Book("xlsx", tmp_path / "by_id", None, tabs)
    book.sync(0, Config())
    show = _by_name(book)["Trade Show"]
    assert (show["Leads"], show["Opportunities"], show["Won Revenue"]) == (1, 1, 1100)


def test_a_bad_cell_on_a_converted_lead_keeps_its_won_deal_in_its_campaign(tmp_path) -> None:
    """OPP-0003's Campaign is empty: it belongs to the campaign of the lead it came from (From
    Lead LEAD-0003, of the Trade Show). A person then typed "abc" in the lead's Amount: the lead
    rightly left the Leads count, but its sound won deal left the Trade Show's Opportunities and
    Won Revenue too, and the ROI read −100 % with nothing said of the deal. A lead's Campaign
    cell that reads still names its deal's campaign."""
    from books import edit

    tabs = _tabs()
    tabs["Leads"][0].append("Amount")
    tabs["Opportunities"][0][9] = "From Lead"
    tabs["Opportunities"][3][4] = "Closed Won"      # OPP-0003: 700 USD won, no Campaign of its own
    tabs["Opportunities"][3][9] = "LEAD-0003"
    book = Book("xlsx", tmp_path, None, tabs)
    book.sync(0, Config())
    book.sync(0, Config())   # From Lead typed by a person is sheetcrm's column once it wrote it
    before = _by_name(book)["Trade Show"]
    assert (before["Opportunities"], before["Won Revenue"]) == (2, 1800)   # 1000 EUR × 1.1 + 700 USD

    def bad_amount(wb):
        ws = wb["Leads"]
        ws.cell(4, [c.value for c in ws[1]].index("Amount") + 1).value = "abc"   # LEAD-0003's row
    edit(book.book, bad_amount)
    outcome = book.sync(0, Config())
    assert [(i.row, i.code) for i in outcome.crm.report.issues if i.tab == "Leads" and i.severity == "error"] == [
        (4, "bad_number")]
    show = _by_name(book)["Trade Show"]
    assert (show["Leads"], show["Opportunities"], show["Won Deals"], show["Won Revenue"]) == (0, 2, 2, 1800)
    assert show["ROI"] == round((1800 - 11000) / 11000, 3)


def test_with_no_deal_or_no_amount_read_the_deal_figures_are_blank_not_an_roi_of_minus_100(tmp_path) -> None:
    """Found by a tester: with no Opportunities tab a campaign that cost 2,000 read Opportunities 0,
    Won Deals 0, Won Revenue 0 and ROI -100 %, figures that look exact where nothing is known of
    its deals; with the tab but no Amount column, Won Revenue 0 and ROI -100 % beside its won
    deals. Those figures are blank now (the read's missing tab / column warning says why); the
    leads' figures and Cost per Lead, known, stay."""
    from books import xlsx
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    no_tab = _tabs()
    del no_tab["Opportunities"]
    no_amount = _tabs()
    no_amount["Opportunities"] = [[c for i, c in enumerate(r) if i != 5] for r in no_amount["Opportunities"]]
    for name, tabs, deals in (("no_tab", no_tab, (None, None, None)), ("no_amount", no_amount, (1, 1, 2000))):
        path = xlsx(tmp_path / f"{name}.xlsx", tabs)
        sync(XlsxWorkbook(path), Config(currency="USD"), AS_OF)
        rows = list(openpyxl.load_workbook(path)["Campaigns"].iter_rows(values_only=True))
        head = rows[0]
        spring = dict(zip(head, rows[1]))
        assert (spring["Leads"], spring["Cost per Lead"]) == (2, 1000), name
        assert (spring["Opportunities"], spring["Won Deals"], spring["Cost per Won Deal"]) == deals, name
        assert (spring["Won Revenue"], spring["ROI"]) == (None, None), (name, spring)


def test_with_no_deal_or_no_amount_read_the_campaigns_tab_says_why_its_figures_are_blank(tmp_path) -> None:
    """The deal figures were left blank with no Opportunities tab or no Amount column, but the
    Campaigns tab had no line of its own saying why (the Dashboard, the Forecast and the Accounts
    Overview each have theirs): the Validation tab now says it at the header of the first blank
    figure, in the team's language."""
    from books import xlsx
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    no_tab = _tabs()
    del no_tab["Opportunities"]
    no_amount = _tabs()
    no_amount["Opportunities"] = [[c for i, c in enumerate(r) if i != 5] for r in no_amount["Opportunities"]]
    for name, tabs, locale, want in (
            ("no_tab", no_tab, "en", ("N", "Opportunities", 'There is no "Opportunities" tab, so this tab\'s '
                                      "Opportunities, Won Deals, Won Revenue, Cost per Won Deal, ROI are left empty")),
            ("no_tab_es", no_tab, "es", ("N", "Oportunidades", 'No hay ninguna pestaña "Oportunidades", así que '
                                         "Oportunidades, Oportunidades ganadas, Ingresos ganados")),
            ("no_amount", no_amount, "en", ("P", "Won Revenue", 'No column "Amount" was found in Opportunities, so '
                                            "this tab's Won Revenue, ROI are left empty"))):
        path = xlsx(tmp_path / f"{name}.xlsx", tabs)
        sync(XlsxWorkbook(path), Config(currency="USD", locale=locale), AS_OF)
        wb = openpyxl.load_workbook(path)
        validation = wb["Validation" if locale == "en" else "Validación"]
        lines = [r for r in validation.iter_rows(values_only=True) if r[1] == "Campaigns"
                 and r[6] in ("column_not_found", "columna_no_encontrada")]
        assert len(lines) == 1, (name, lines)
        (line,) = lines
        assert (line[2], line[3], line[4]) == (1, *want[:2]), (name, line)
        assert line[7].startswith(want[2]), (name, line[7])
