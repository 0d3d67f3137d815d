"""Money summed across currencies on the summary tabs and the `kpis` command: a figure one of
whose deals has no usable rate is blank, never a sum short of it, and the currency and how many
deals it leaves out are said once where the figures are read. Real .xlsx files, the CLI in
process."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import openpyxl

from books import xlsx
from in_process import cli

AS_OF = "2026-03-15"
D = dt.date


def _book(tmp_path, rates=None):
    tabs = {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"], ["ACC-0002", "Globex"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Closed Won", 1000, "USD", D(2026, 3, 10)],
                          ["OPP-0002", "G1", "Globex", "Bob", "Closed Won", 5000, "CHF", D(2026, 3, 12)],
                          ["OPP-0003", "A2", "Acme", "Ana", "Negotiation", 2000, "USD", D(2026, 3, 25)],
                          ["OPP-0004", "G2", "Globex", "Bob", "Negotiation", 3000, "CHF", D(2026, 3, 25)]]}
    if rates is not None:
        tabs["Rates"] = [["Currency", "Rate"], *rates]
    return xlsx(tmp_path / "crm.xlsx", tabs)


def _tab(path, title) -> list[tuple]:
    return [r for r in openpyxl.load_workbook(path)[title].iter_rows(values_only=True) if any(v is not None for v in r)]


def test_a_won_deal_with_no_rate_blanks_every_sum_it_is_in_and_is_said_once(tmp_path):
    """Globex's only won deal is 5,000 CHF, with no CHF rate: the Accounts Overview showed its Won
    Revenue 0.00 ("nothing won"), the Dashboard won revenue 1,000 and Bob's 0, the Forecast had no
    row for Bob at all: sums short of the francs, read as whole."""
    path = _book(tmp_path)
    assert cli("sync", "--workbook", path, "--as-of", AS_OF, cwd=tmp_path).returncode == 0
    overview = {r[0]: r for r in _tab(path, "Accounts Overview")}
    # Open Deals, Open Amount, Won Revenue
    assert overview["ACC-0002"][4:7] == (1, None, None)
    assert overview["ACC-0001"][4:7] == (1, 2000, 1000)
    dashboard = {r[0]: r[1:] for r in _tab(path, "Dashboard")}
    for label in ("Won revenue", "Average won deal", "Open pipeline", "Weighted pipeline", "Won revenue, Bob",
                  "Lifetime value, Globex"):
        assert dashboard[label][0] is None, label
    assert (dashboard["Won revenue, Ana"][0], dashboard["Won deals"][0]) == (1000, 2)
    said = dashboard["Missing exchange rate"]
    assert said[0] == "CHF" and "2 deals in CHF" in said[1] and "blank" in said[1]
    pipeline = {r[0]: r[1:] for r in _tab(path, "Pipeline")}
    assert pipeline["Closed Won"] == (2, None, None) and pipeline["Negotiation"] == (2, None, None)
    forecast = _tab(path, "Forecast")
    march = {r[1]: r[2:7] for r in forecast if r[0] == "2026-03"}
    assert march["Bob"] == (None,) * 5 and march["(all)"] == (None,) * 5
    assert march["Ana"] == (2000, 1500, 3000, 3000, 1000)
    assert sum("2 deals in CHF" in str(r[0]) for r in forecast) == 1
    # The kpis command agrees with the tabs, in text and in JSON.
    text = cli("kpis", "--workbook", path, "--as-of", AS_OF, cwd=tmp_path).stdout
    assert "$1,000.00" not in text.split("Owner")[0]  # the team's won revenue is no 1,000
    assert text.count("2 deals in CHF cannot be put in USD") == 1
    j = json.loads(cli("kpis", "--workbook", path, "--as-of", AS_OF, "--format", "json", cwd=tmp_path).stdout)
    assert (j["won_revenue"], j["open_pipeline"], j["by_owner"]["Bob"]["won_revenue"]) == (None, None, None)
    assert j["lifetime_value"] == {"Acme": "1000", "Globex": None} and j["missing_rates"] == 2


def test_with_the_rate_every_figure_is_whole_again(tmp_path):
    path = _book(tmp_path, rates=[["CHF", 1.1]])
    cli("sync", "--workbook", path, "--as-of", AS_OF, cwd=tmp_path)
    overview = {r[0]: r for r in _tab(path, "Accounts Overview")}
    assert overview["ACC-0002"][4:7] == (1, 3300, 5500)
    dashboard = {r[0]: r[1:] for r in _tab(path, "Dashboard")}
    assert dashboard["Won revenue"][0] == 6500 and "Missing exchange rate" not in dashboard


def test_the_missing_rate_is_said_in_spanish(tmp_path):
    path = _book(tmp_path)
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n')
    shutil.copy(path, tmp_path / "es.xlsx")
    cli("sync", "--workbook", tmp_path / "es.xlsx", "--as-of", AS_OF, cwd=tmp_path)
    dashboard = {r[0]: r[1:] for r in _tab(tmp_path / "es.xlsx", "Panel")}
    said = dashboard["Falta tipo de cambio"]
    assert said[0] == "CHF" and "2 oportunidades en CHF" in said[1] and "en blanco" in said[1]
    text = cli("kpis", "--workbook", tmp_path / "es.xlsx", "--as-of", AS_OF, cwd=tmp_path).stdout
    assert "2 oportunidades en CHF no se pueden pasar a USD" in text and "cannot" not in text


def test_a_rate_that_may_mean_something_else_converts_nothing(tmp_path):
    """Rates "CHF | 1,170" is read as 1170 with a warning at that cell only ("could be 1.17"):
    quotes refused the rate, but the forecast showed a 1,000 CHF deal as $1,170,000, and the
    Dashboard, the Accounts Overview and the Campaigns tab summed it too, with nothing said at
    the deal or the figure. Now it is a rate as missing: blank figures, said at the deal and once
    per currency, naming the doubt."""
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date", "Campaign"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Closed Won", 1000, "CHF", D(2026, 3, 10), "CMP-0001"],
                          ["OPP-0002", "A2", "Acme", "Ana", "Negotiation", 1000, "CHF", D(2026, 3, 25), None]],
        "Campaigns": [["ID", "Name", "Actual Cost"], ["CMP-0001", "Spring", 500]],
        "Rates": [["Currency", "Rate"], ["CHF", "1,170"]]})
    assert cli("sync", "--workbook", path, "--as-of", AS_OF, cwd=tmp_path).returncode == 0
    march = {r[1]: r[2:7] for r in _tab(path, "Forecast") if r[0] == "2026-03"}
    assert march["(all)"] == (None,) * 5
    assert {r[0]: r for r in _tab(path, "Accounts Overview")}["ACC-0001"][4:7] == (1, None, None)
    dashboard = {r[0]: r[1:] for r in _tab(path, "Dashboard")}
    assert (dashboard["Won revenue"][0], dashboard["Open pipeline"][0]) == (None, None)
    assert "may mean something else" in dashboard["Missing exchange rate"][1]
    campaigns = _tab(path, "Campaigns")
    won_revenue = campaigns[0].index("Won Revenue")
    assert campaigns[1][won_revenue] is None and campaigns[1][campaigns[0].index("ROI")] is None
    issues = json.loads(cli("validate", "--workbook", path, "--format", "json", cwd=tmp_path).stdout)["issues"]
    at_deals = [i for i in issues if i["tab"] == "Opportunities" and i["code"] == "missing_rate"]
    assert [i["row"] for i in at_deals] == [2, 3] and all("1,170" in i["message"] for i in at_deals)
    text = cli("forecast", "--workbook", path, "--as-of", AS_OF, cwd=tmp_path).stdout
    assert "$1,170,000" not in text and "2 deals in CHF are not put in USD" in text


def test_a_base_row_saying_the_rates_may_be_per_another_currency_converts_nothing(tmp_path):
    """Rates "USD | 0.92" beside "CHF | 1.1" (base USD): the USD row is ignored with a warning that
    the tab's rates may be per another currency, and quotes refuse every conversion through them;
    the Forecast and the Dashboard still summed a 1,000 CHF deal as $1,100. A doubt at the base's
    row is a doubt of every rate: the figures are blank and the deal's warning names it."""
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Closed Won", 1000, "CHF", D(2026, 3, 10)],
                          ["OPP-0002", "A2", "Acme", "Ana", "Negotiation", 1000, "USD", D(2026, 3, 25)]],
        "Rates": [["Currency", "Rate"], ["USD", 0.92], ["CHF", 1.1]]})
    assert cli("sync", "--workbook", path, "--as-of", AS_OF, cwd=tmp_path).returncode == 0
    march = {r[1]: r[2:7] for r in _tab(path, "Forecast") if r[0] == "2026-03"}
    # Pipeline and Weighted count only the USD deal; Commit, Best Case and Closed Won the CHF one too.
    assert march["(all)"] == (1000, 750, None, None, None)
    dashboard = {r[0]: r[1:] for r in _tab(path, "Dashboard")}
    assert dashboard["Won revenue"][0] is None and "may mean something else" in dashboard["Missing exchange rate"][1]
    issues = json.loads(cli("validate", "--workbook", path, "--format", "json", cwd=tmp_path).stdout)["issues"]
    at_deals = [i for i in issues if i["tab"] == "Opportunities" and i["code"] == "missing_rate"]
    assert [i["row"] for i in at_deals] == [2] and "0.92" in at_deals[0]["message"]
    assert "write 1" in at_deals[0]["hint"]  # the USD row is what to correct, not CHF's


def test_a_quota_won_already_is_said_so_though_the_pipeline_lacks_a_rate(tmp_path):
    """Ana's quarter quota (500) is won already ($1,000 won): coverage is blank for that, as it
    would be with every rate. An open deal in CHF with no rate made the basis "missing_rate", and
    the kpis command blamed the missing rate for the blank coverage."""
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "A1", "Acme", "Ana", "Closed Won", 1000, "USD", D(2026, 3, 10)],
                          ["OPP-0002", "A2", "Acme", "Ana", "Negotiation", 3000, "CHF", D(2026, 3, 25)]],
        "Quotas": [["Owner", "Month", "Quota"], ["Ana", "2026-01", 100], ["Ana", "2026-02", 100], ["Ana", "2026-03", 300]]})
    j = json.loads(cli("kpis", "--workbook", path, "--as-of", AS_OF, "--format", "json", cwd=tmp_path).stdout)
    assert (j["pipeline_coverage"], j["pipeline_coverage_basis"]) == (None, "quota")
    text = cli("kpis", "--workbook", path, "--as-of", AS_OF, cwd=tmp_path).stdout
    assert "this quarter's quota is won already" in text and "coverage is blank: a deal it would count" not in text


def test_a_rate_that_may_mean_something_else_scores_no_lead_either(tmp_path):
    """Rates "CHF | 1,170" (read 1170, could be 1.17): the summaries and the workflow conditions
    refuse it, but a scoring rule still converted through it: a lead of 10 CHF scored "Amount ≥
    5000 +30" as 11,700 with nothing said at the lead. Now the rule is undecided for it, said at
    its Amount cell as the doubted rate."""
    (tmp_path / "sheetcrm.toml").write_text(
        '[scoring]\nrules = [{ column = "Amount", op = "range", min = 5000, points = 30 }]\n')
    path = xlsx(tmp_path / "crm.xlsx", {
        "Leads": [["ID", "First Name", "Last Name", "Company", "Status", "Amount", "Currency"],
                  ["LEAD-0001", "Ana", "Ruiz", "Acme", "New", 10, "CHF"],
                  ["LEAD-0002", "Bo", "Li", "Globex", "New", 6000, "USD"]],
        "Rates": [["Currency", "Rate"], ["CHF", "1,170"]]})
    assert cli("sync", "--workbook", path, "--as-of", AS_OF, cwd=tmp_path).returncode == 0
    leads = _tab(path, "Leads")
    why = leads[0].index("Why")
    assert "Amount ≥ 5000" not in (leads[1][why] or "") and "Amount ≥ 5000 +30" in leads[2][why]
    said = [r for r in _tab(path, "Validation") if r[1] == "Leads" and r[2] == 2 and r[6] == "missing_rate"]
    assert len(said) == 1 and "may mean something else" in said[0][7], said
