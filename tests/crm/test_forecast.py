import datetime as dt
from decimal import Decimal

import pytest

from sheetcrm.config import Config, Stage
from sheetcrm.crm.forecast import Quota, forecast, month_keys
from sheetcrm.crm.history import StageWinRate
from sheetcrm.crm.money import Rates
from sheetcrm.crm.stages import StageTable, opportunity_metrics
from sheetcrm.inputs import quotas_from_rows
from sheetcrm.records import Opportunity
from sheetcrm.validate import parse_context

CONFIG = Config()
CTX = parse_context(CONFIG)
STAGES = StageTable.of(CONFIG.stages)
RATES = Rates("USD", {"EUR": Decimal("1.10")})
AS_OF = dt.date(2024, 5, 15)


def opp(stage, amount, close, owner=None, **more) -> Opportunity:
    return Opportunity.model_validate({"name": "Deal", "account": "Acme", "stage": stage, "amount": amount,
                                       "close_date": close, "owner": owner, **more}, context=CTX)


OPPS = [
    opp("Negotiation", "1000", "2024-05-20", "Ana"),                                   # Commit, 75 %
    opp("Proposal", "2000", "2024-06-10", "Ana", currency="EUR", probability="40"),    # 2200 USD, Best Case
    opp("Prospecting", "500", "2024-04-02", "Bo"),                                    # overdue: counts in May
    opp("Won", "300", "2024-05-03", "Bo"),
    opp("Won", "999", "2024-04-30", "Ana"),                                           # before the window
    opp("Lost", "700", "2024-05-05", "Bo"),
    opp("Qualification", "400", "2024-05-30", "Ana", currency="CHF"),                 # no rate: May's pipeline blank
    opp("Negotiation", "100", None, "Bo"),                                            # undated: left out
    opp("Proposal", "50", "2024-08-01", "Bo"),                                        # after the window
    opp("Prospecting", "200", "2024-07-31"),                                          # no owner
    opp("Negotiation", None, "2024-05-20", "Bo"),                                     # no amount
]
QUOTAS = quotas_from_rows([("Ana", "2024-05", "1000"), ("Bo", "2024-05-01", 600), ("Bo", "2024-6", "500"),
                           ("Bo", "someday", "5"), ("", "2024-05", "5"), ("Ana", "2024-09", "7")])


def run(opps=OPPS, rates=RATES, **kw):
    metrics = opportunity_metrics(opps, STAGES, AS_OF)
    return forecast(opps, metrics, STAGES, rates, AS_OF, quotas=QUOTAS, months=3, **kw)


def test_month_keys_start_with_as_ofs_month_and_cross_years():
    assert month_keys(dt.date(2024, 11, 30), 3) == ["2024-11", "2024-12", "2025-01"]
    assert len(month_keys(AS_OF, 6)) == 6


def test_quotas_read_months_as_text_or_dates():
    assert QUOTAS == [Quota("Ana", "2024-05", Decimal("1000")), Quota("Bo", "2024-05", Decimal("600")),
                      Quota("Bo", "2024-06", Decimal("500")), Quota("Ana", "2024-09", Decimal("7"))]


def test_team_forecast_by_month():
    months = {m.month: m for m in run().months}
    may, june, july = months["2024-05"], months["2024-06"], months["2024-07"]
    # May: Negotiation 1000 (×75 %) + overdue Prospecting 500 (×10 %) + the CHF Qualification, which has
    # no rate: May's pipeline and weighted are blank, never 1500 and 800 that read as whole; 300 won.
    assert (may.pipeline, may.weighted, may.commit, may.best_case, may.closed_won) == (
        None, None, Decimal("1300"), Decimal("1300"), Decimal("300"))
    whole = run(rates=Rates("USD", {"EUR": Decimal("1.10"), "CHF": Decimal("1.25")})).months[0]
    assert (whole.pipeline, whole.weighted) == (Decimal("2000"), Decimal("900"))  # + 500, + 500 × 20 %
    # June: the EUR Proposal, 2000 × 1.10, weighted at its own 40 %.
    assert (june.pipeline, june.weighted, june.commit, june.best_case, june.closed_won) == (
        Decimal("2200"), Decimal("880"), Decimal("0"), Decimal("2200"), Decimal("0"))
    assert (july.pipeline, july.weighted, july.best_case) == (Decimal("200"), Decimal("20"), Decimal("0"))


def test_quota_and_attainment():
    months = {m.month: m for m in run().months}
    assert (months["2024-05"].quota, months["2024-05"].attainment) == (Decimal("1600"), Decimal("18.75"))
    assert (months["2024-06"].quota, months["2024-06"].attainment) == (Decimal("500"), Decimal("0"))
    assert (months["2024-07"].quota, months["2024-07"].attainment) == (None, None)


def test_forecast_per_owner():
    by_owner = run().by_owner
    assert list(by_owner) == ["", "Ana", "Bo"]  # "": no Owner (NO_OWNER_KEY)
    ana_may, ana_june, _ = by_owner["Ana"]
    # Ana's May holds the CHF deal with no rate: its pipeline is blank, its commit and won whole.
    assert (ana_may.pipeline, ana_may.weighted, ana_may.commit, ana_may.closed_won, ana_may.attainment) == (
        None, None, Decimal("1000"), Decimal("0"), Decimal("0"))
    assert (ana_june.pipeline, ana_june.best_case, ana_june.quota) == (Decimal("2200"), Decimal("2200"), None)
    bo_may, bo_june, _ = by_owner["Bo"]
    assert (bo_may.pipeline, bo_may.weighted, bo_may.commit, bo_may.best_case, bo_may.closed_won) == (
        Decimal("500"), Decimal("50"), Decimal("300"), Decimal("300"), Decimal("300"))
    assert (bo_may.quota, bo_may.attainment) == (Decimal("600"), Decimal("50"))
    assert (bo_june.pipeline, bo_june.quota) == (Decimal("0"), Decimal("500"))
    assert by_owner[""][2].pipeline == Decimal("200")


def test_overdue_undated_and_unconvertible_deals_are_accounted_for():
    f = run()
    assert (f.overdue, f.undated_open, f.undated_won) == (1, 1, 0)
    assert [(u.opportunity.amount, u.category) for u in f.undated] == [(Decimal("100"), "Commit")]
    assert [(m.opportunity.amount, m.currency) for m in f.missing_rates] == [(Decimal("400"), "CHF")]


def test_overdue_and_missing_rates_count_only_deals_the_forecast_would_count():
    """"N open deals with a past close date are counted in the first month" and "N deals in CHF
    cannot be put in USD" are said of the forecast: a slipped deal in the Omitted category is in
    no month, one with no rate blanks the first month's figures it is in, and a lost or
    out-of-window deal with no rate is in no figure."""
    opps = [opp("Prospecting", "500", "2024-04-02", "Bo"),                                   # counted in May
            opp("Prospecting", "500", "2024-03-01", "Bo", id="OPP-2"),                       # Omitted: in no month
            opp("Prospecting", "500", "2024-04-01", "Bo", currency="CHF"),                   # no rate
            opp("Lost", "700", "2024-05-05", "Bo", currency="CHF"),                          # in no figure anyway
            opp("Won", "700", "2023-05-05", "Bo", currency="CHF"),                           # before the window
            opp("Won", "800", "2024-05-05", "Bo", currency="CHF")]                           # May's, no rate
    metrics = opportunity_metrics(opps, STAGES, AS_OF, category_overrides={"OPP-2": "Omitted"})
    f = forecast(opps, metrics, STAGES, RATES, AS_OF, months=3)
    assert (f.months[0].pipeline, f.months[0].closed_won) == (None, None)
    assert f.overdue == 2
    assert [(m.opportunity.amount, m.opportunity.stage) for m in f.missing_rates] == [
        (Decimal("500"), "Prospecting"), (Decimal("800"), "Closed Won")]


def test_to_json_shape_and_formats():
    calibration = [StageWinRate("Proposal", Decimal("50"), Decimal("200") / 3, 3, 2)]
    j = run(calibration=calibration).to_json()
    assert set(j) == {"months", "by_owner", "stage_calibration", "undated_open", "undated_won", "overdue",
                      "missing_rates"}
    # A program is told why May's pipeline is null (the CHF deal) and what the first month holds from before it.
    assert (j["undated_open"], j["undated_won"], j["overdue"], j["missing_rates"]) == (1, 0, 1, 1)
    money = {k: v and Decimal(v) for k, v in j["months"][0].items()
             if k not in ("month", "attainment", "quota_unread", "owners_without_quota")}
    assert j["months"][0]["quota_unread"] is False and j["months"][0]["owners_without_quota"] == []
    assert money == {"pipeline": None, "weighted": None, "commit": Decimal("1300"),
                     "best_case": Decimal("1300"), "closed_won": Decimal("300"), "quota": Decimal("1600"),
                     "won_without_quota": Decimal("0")}
    assert j["months"][0] == {**j["months"][0], "month": "2024-05",
                              "attainment": pytest.approx(300 / 1600, abs=1e-12)}
    assert j["months"][2]["quota"] is None and j["months"][2]["attainment"] is None
    assert Decimal(j["by_owner"]["Bo"][1]["quota"]) == 500
    assert j["stage_calibration"] == [{"stage": "Proposal", "configured": 0.5,
                                      "historical": pytest.approx(2 / 3, abs=1e-12), "n": 3}]


def test_weighted_amounts_are_each_deal_s_to_the_cent_and_the_total_their_sum():
    # Each deal's weighted amount is money, to the cent half up, as its Weighted Amount cell
    # shows it (166.67 and 0.01): the month's total is their sum, 166.68. Summed before rounding
    # (166.665 + 0.005 = 166.67), it was a cent short of the two cells it totals, and a team's
    # total short of its owners' rows. (This test asserted that rounding once; changed with it.)
    opps = [opp("Proposal", "333.33", "2024-05-20"), opp("Proposal", "0.01", "2024-05-20")]
    f = run(opps)
    assert f.months[0].weighted == Decimal("166.68")
    assert Decimal(f.to_json()["months"][0]["weighted"]) == Decimal("166.68")
    assert Decimal(run(opps[:1]).to_json()["months"][0]["weighted"]) == Decimal("166.67")


def test_omitted_open_stages_stay_out_of_the_forecast():
    config = Config(stages=[Stage(name="On Hold", probability=5, forecast_category="Omitted"),
                            Stage(name="Verbal", probability=90, forecast_category="Commit"),
                            Stage(name="Won", probability=100, kind="won", forecast_category="Closed")])
    ctx = parse_context(config)
    opps = [Opportunity.model_validate({"name": "D", "account": "A", "stage": s, "amount": "100",
                                        "close_date": "2024-05-31"}, context=ctx) for s in ("On Hold", "Verbal")]
    stages = StageTable.of(config.stages)
    [may] = forecast(opps, opportunity_metrics(opps, stages, AS_OF), stages, RATES, AS_OF, months=1).months
    assert (may.pipeline, may.weighted, may.commit, may.best_case) == (
        Decimal("100"), Decimal("90"), Decimal("100"), Decimal("100"))


def test_undated_won_and_open_deals_are_listed_not_an_omitted_one():
    """A won deal with no Close Date is revenue in no month (the Dashboard counts it): listed,
    as the open ones are, for the sync to say so; an Omitted deal is in no forecast anyway."""
    config = Config(stages=[*CONFIG.stages, Stage(name="On Hold", probability=5, forecast_category="Omitted")])
    ctx = parse_context(config)
    opps = [Opportunity.model_validate({"name": "D", "account": "A", "stage": s, "amount": "100"}, context=ctx)
            for s in ("Negotiation", "Prospecting", "Closed Won", "On Hold", "Closed Lost")]
    stages = StageTable.of(config.stages)
    f = forecast(opps, opportunity_metrics(opps, stages, AS_OF), stages, RATES, AS_OF, months=1)
    assert [(u.opportunity.stage, u.category, u.won) for u in f.undated] == [
        ("Negotiation", "Commit", False), ("Prospecting", "Pipeline", False), ("Closed Won", None, True)]
    assert (f.undated_open, f.undated_won) == (2, 1)
