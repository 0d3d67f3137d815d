import datetime as dt
from decimal import Decimal

import pytest

from sheetcrm.config import Config
from sheetcrm.crm.conversion import Converted
from sheetcrm.crm.forecast import Quota
from sheetcrm.crm.kpis import DEFINITIONS, Conversion, compute_kpis
from sheetcrm.crm.money import Rates
from sheetcrm.crm.stages import StageTable, opportunity_metrics
from sheetcrm.records import Account, Activity, Lead, Opportunity, Task
from sheetcrm.validate import parse_context

CONFIG = Config()
CTX = parse_context(CONFIG)
STAGES = StageTable.of(CONFIG.stages)
RATES = Rates("USD", {"EUR": Decimal("1.10")})
# With the CHF deal's rate too: every money KPI whole again (RATES leaves those counting it blank).
ALL_RATES = Rates("USD", {"EUR": Decimal("1.10"), "CHF": Decimal("1.25")})
AS_OF = dt.date(2024, 5, 15)      # Q2: April to June; last quarter January to March
D = dt.date


def opp(stage, amount, owner, account, created=None, close=None, currency=None) -> Opportunity:
    return Opportunity.model_validate({"name": "Deal", "account": account, "stage": stage, "amount": amount,
                                       "owner": owner, "created": created, "close_date": close,
                                       "currency": currency}, context=CTX)


ACCOUNTS = [Account(id="ACC-1", name="Acme", status="Customer"), Account(id="ACC-2", name="Globex", status="Churned"),
            Account(id="ACC-3", name="Initech", status="Customer"), Account(id="ACC-4", name="Umbrella",
                                                                            status="Prospect")]
OPPS = [
    opp("Won", "1000", "Ana", "ACC-1", "2024-01-01", "2024-02-10"),                  # 40 days, last quarter
    opp("Won", "500", "Ana", "Acme", "2024-04-01", "2024-04-21", "EUR"),             # 550 USD, 20 days
    opp("Won", "2000", "Bo", "Initech", "2024-03-01", "2024-03-31", "CHF"),          # no rate; 30 days
    opp("Lost", "800", "Bo", "Globex"),
    opp("Negotiation", "1000", "Ana", "Initech", "2024-05-10", "2024-06-30"),        # 75 %, this quarter
    opp("Proposal", "400", "Bo", "Umbrella", "2024-01-01", "2024-09-01"),            # 50 %, next quarter; rotting
    opp("Prospecting", "100", "Bo", "Acme", None, "2024-03-01"),                     # 10 %, overdue
]
LEADS = [
    Lead(company="acme", source="Web", campaign="Spring", status="Converted", created=D(2024, 1, 5)),
    Lead(company="Acme", source="Web", campaign="Summer", status="Converted", created=D(2024, 2, 1)),
    Lead(company="Initech", source="Referral", campaign="Spring", status="Converted"),
    Lead(last_name="Diaz", source="Web", status="New"),
    Lead(company="Globex", campaign="Summer", status="Unqualified"),
]
ACTIVITIES = [Activity(date=d, owner="Ana") for d in (D(2024, 5, 15), D(2024, 5, 9), D(2024, 5, 8), D(2024, 4, 16),
                                                       D(2024, 4, 15), D(2024, 5, 16))] + [
    Activity(date=D(2024, 5, 10), owner="Bo"), Activity(date=D(2024, 5, 1))]
TASKS = [Task(due=D(2024, 5, 14), subject="a", owner="Ana", status="Open"),
         Task(due=D(2024, 5, 15), subject="b", owner="Ana", status="Open"),      # due today: not overdue
         Task(due=D(2024, 5, 1), subject="c", owner="Ana", status="Done"),
         Task(due=D(2024, 5, 1), subject="d", owner="Bo")]                        # blank status is open


def run(quotas=(), rates=RATES):
    metrics = opportunity_metrics(OPPS, STAGES, AS_OF)
    return compute_kpis(OPPS, metrics, STAGES, rates, AS_OF, leads=LEADS, accounts=ACCOUNTS,
                        activities=ACTIVITIES, tasks=TASKS, quotas=quotas)


def test_team_deal_kpis():
    t = run().team
    assert (t.won_count, t.lost_count, t.win_rate) == (3, 1, Decimal("75"))
    # The CHF deal has no rate: a sum without it would read as complete, so it is blank.
    assert (t.won_revenue, t.avg_won_amount) == (None, None)
    whole = run(rates=ALL_RATES).team
    assert whole.won_revenue == Decimal("4050.00")           # 1000 + 500 × 1.10 + 2000 × 1.25
    assert whole.avg_won_amount == Decimal("1350")
    assert t.avg_sales_cycle_days == Decimal("30")           # (40 + 20 + 30) / 3
    assert t.open_pipeline == Decimal("1500")                # 1000 + 400 + 100
    assert t.weighted_pipeline == Decimal("960")             # 750 + 200 + 10


def test_deal_kpis_per_owner():
    k = run().by_owner
    assert list(k) == ["Ana", "Bo"]
    ana, bo = k["Ana"], k["Bo"]
    assert (ana.won_count, ana.lost_count, ana.win_rate, ana.won_revenue, ana.avg_won_amount) == (
        2, 0, Decimal("100"), Decimal("1550.00"), Decimal("775"))
    assert (ana.avg_sales_cycle_days, ana.open_pipeline, ana.weighted_pipeline) == (
        Decimal("30"), Decimal("1000"), Decimal("750"))
    # Bo's one won deal is in CHF, which has no rate: blank, never "0 won".
    assert (bo.won_count, bo.lost_count, bo.win_rate, bo.won_revenue, bo.avg_won_amount) == (
        1, 1, Decimal("50"), None, None)
    assert (bo.avg_sales_cycle_days, bo.open_pipeline, bo.weighted_pipeline) == (
        Decimal("30"), Decimal("500"), Decimal("210"))


def test_pipeline_coverage_against_last_quarters_won_revenue_without_quotas():
    # January–March's won revenue holds the CHF deal, which has no rate: no ratio over a part of it.
    assert (run().pipeline_coverage, run().pipeline_coverage_basis) == (None, "missing_rate")
    k = run(rates=ALL_RATES)
    # Open closing by the end of June (1000 + overdue 100) ÷ won January-March (1000 + 2000 × 1.25).
    assert (k.pipeline_coverage, k.pipeline_coverage_basis) == (Decimal(1100) / Decimal(3500), "last_quarter_won")


def test_pipeline_coverage_against_the_quota_left_this_quarter():
    # Each owner a quota for every month of the quarter (0 for a month with none: quota_partial otherwise).
    quotas = [Quota("Ana", "2024-04", Decimal("1000")), Quota("Ana", "2024-05", Decimal("1000")),
              Quota("Ana", "2024-06", Decimal("0")), Quota("Bo", "2024-04", Decimal("0")),
              Quota("Bo", "2024-05", Decimal("0")), Quota("Bo", "2024-06", Decimal("500")),
              Quota("Bo", "2024-07", Decimal("9999"))]
    k = run(quotas)
    # 1100 ÷ (2500 − 550 won in April).
    assert k.pipeline_coverage_basis == "quota"
    assert k.to_json()["pipeline_coverage"] == pytest.approx(1100 / 1950, abs=1e-12)
    met = run([Quota("Ana", "2024-04", Decimal("200")), Quota("Ana", "2024-05", Decimal("200")),
               Quota("Ana", "2024-06", Decimal("100"))])
    assert (met.pipeline_coverage, met.pipeline_coverage_basis) == (None, "quota")   # quota already won


def test_pipeline_coverage_counts_quarters_from_the_fiscal_year_s_first_month():
    """A fiscal year starting in February has quarters Feb–Apr, May–Jul, Aug–Oct, Nov–Jan: on
    15 May this quarter is May–July, never the calendar's April–June."""
    metrics = opportunity_metrics(OPPS, STAGES, AS_OF)

    def fiscal(quotas=(), rates=RATES):
        return compute_kpis(OPPS, metrics, STAGES, rates, AS_OF, quotas=quotas, fiscal_year_start=2)

    assert fiscal().pipeline_coverage_basis == "missing_rate"  # February–April holds the CHF deal
    # Open closing by the end of July (1000 + overdue 100) ÷ won February–April (1000 + 2500 + 550).
    k = fiscal(rates=ALL_RATES)
    assert (k.pipeline_coverage, k.pipeline_coverage_basis) == (Decimal(1100) / Decimal(4050), "last_quarter_won")
    quotas = [Quota("Ana", "2024-04", Decimal("1000")), Quota("Ana", "2024-05", Decimal("1000")),
              Quota("Ana", "2024-06", Decimal("0")), Quota("Ana", "2024-07", Decimal("0")),
              Quota("Bo", "2024-05", Decimal("0")), Quota("Bo", "2024-06", Decimal("500")),
              Quota("Bo", "2024-07", Decimal("9999"))]
    # May–July's quota (1000 + 500 + 9999), none of it won yet: April's quota and April's win are last quarter's.
    assert fiscal(quotas).pipeline_coverage == Decimal(1100) / Decimal(11499)
    # Across the year's end: a fiscal year from November has 15 January in November–January.
    january = dt.date(2025, 1, 15)
    late = compute_kpis(OPPS, opportunity_metrics(OPPS, STAGES, january), STAGES, RATES, january,
                        quotas=[Quota("Ana", "2024-11", Decimal("100")), Quota("Ana", "2024-12", Decimal("100")),
                                Quota("Ana", "2025-01", Decimal("100")), Quota("Ana", "2025-02", Decimal("7"))],
                        fiscal_year_start=11)
    # Ana's open and overdue 1000 over her November–January quota (February's is the next quarter's);
    # Bo, with no quota, is not in it (his 400 + 100 over Ana's quota made it 5×) and is named.
    assert (late.pipeline_coverage, late.pipeline_coverage_basis) == (Decimal(1000) / Decimal(300), "quota")
    assert late.coverage_without_quota == ("Bo",)


def test_an_owner_whose_quota_covers_only_some_months_of_the_quarter_leaves_coverage_blank():
    """Bo's quota for every month of Q2 made the team's months whole, so Ana's June-only 3,000
    (June's, or her quarter's typed on one row) went unnoticed: her April win (550) was taken off
    it, coverage 1100 ÷ (3000 + 300 − 550) = 0.4×, with no word. Blank and said per owner, as a
    team's June-only quota is."""
    quotas = [Quota("Ana", "2024-06", Decimal("3000")), *(Quota("bo ", f"2024-0{m}", Decimal("100")) for m in (4, 5, 6))]
    k = run(quotas)
    assert (k.pipeline_coverage, k.pipeline_coverage_basis) == (None, "quota_partial")
    assert k.quota_partial_owners == ("Ana",)
    whole = run([*quotas, Quota("ANA", "2024-04", Decimal("0")), Quota("Ana", "2024-05", Decimal("0"))])
    assert (whole.pipeline_coverage, whole.pipeline_coverage_basis) == (Decimal(1100) / Decimal(2750), "quota")
    assert whole.quota_partial_owners == ()


def test_lead_conversion_by_source_and_campaign():
    k = run()
    assert k.lead_conversion_by_source == {"": Conversion(1, 0), "Referral": Conversion(1, 1),
                                           "Web": Conversion(3, 2)}
    assert k.lead_conversion_by_campaign == {"": Conversion(1, 0), "Spring": Conversion(2, 2),
                                             "Summer": Conversion(2, 1)}
    assert k.to_json()["lead_conversion_by_source"]["Web"] == {"leads": 3, "converted": 2,
                                                                "rate": pytest.approx(2 / 3, abs=1e-12)}


def test_won_revenue_per_campaign_goes_to_the_earliest_converted_lead_of_the_company():
    # Spring's accounts are Acme (1550) and Initech, whose won deal is in CHF with no rate: blank.
    assert run().won_revenue_by_campaign == {"Spring": None}
    assert run(rates=ALL_RATES).won_revenue_by_campaign == {"Spring": Decimal("4050.00")}


def test_missing_rates_counts_only_deals_an_amount_here_would_count():
    """"N deals are left out of these totals" is said of the KPIs' amounts: a lost deal's amount
    (in Lost deals, never in an amount) or an Omitted one's is in none with a rate or without."""
    opps = [opp("Won", "10", "Ana", "Acme", currency="CHF"), opp("Negotiation", "10", "Ana", "Acme", currency="CHF"),
            opp("Lost", "10", "Ana", "Acme", currency="CHF"), opp("Lost", "10", "Ana", "Acme", currency="CHF"),
            opp("Prospecting", "10", "Ana", "Acme", currency="CHF")]
    opps[4] = opps[4].model_copy(update={"id": "OPP-5"})
    metrics = opportunity_metrics(opps, STAGES, AS_OF, category_overrides={"OPP-5": "Omitted"})
    k = compute_kpis(opps, metrics, STAGES, RATES, AS_OF)
    assert [m.opportunity.stage for m in k.missing_rates] == ["Closed Won", "Negotiation"]
    assert (k.team.lost_count, k.to_json()["missing_rates"]) == (2, 2)


def test_activities_and_overdue_tasks_per_owner():
    k = run()
    # Ana: 15th and 9th are within 7 days; 8th and 16 April within 30; 15 April and the future are not.
    assert k.activities_by_owner == {"": (0, 1), "Ana": (2, 4), "Bo": (1, 1)}
    assert k.overdue_tasks_by_owner == {"Ana": 1, "Bo": 1}


def test_rotting_churn_and_lifetime_value():
    k = run()
    assert k.rotting_deals == 1            # the Proposal untouched since January
    assert k.churn_rate is not None and k.to_json()["churn_rate"] == pytest.approx(1 / 3, abs=1e-12)    # 1 ÷ (2 + 1)
    assert k.lifetime_value == {"Acme": Decimal("1550.00"), "Initech": None}  # Initech's won deal: CHF, no rate
    assert len(k.missing_rates) == 1


class D:
    """Equal to a JSON money string that holds exactly this amount, written any exact way."""

    def __init__(self, amount: str) -> None:
        self.amount = Decimal(amount)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and "e" not in other.lower() and Decimal(other) == self.amount

    def __repr__(self) -> str:
        return f"D({str(self.amount)!r})"


def test_to_json_shape():
    j = run().to_json()
    assert {k: j[k] for k in ("as_of", "currency", "win_rate", "won_revenue", "won_count", "lost_count",
                              "avg_won_amount", "avg_sales_cycle_days", "open_pipeline", "weighted_pipeline")} == {
        "as_of": "2024-05-15", "currency": "USD", "win_rate": 0.75, "won_revenue": None, "won_count": 3,
        "lost_count": 1, "avg_won_amount": None, "avg_sales_cycle_days": 30.0, "open_pipeline": D("1500"),
        "weighted_pipeline": D("960")}
    assert j["by_owner"]["Bo"] == {"win_rate": 0.5, "won_revenue": None, "won_count": 1, "lost_count": 1,
                                   "avg_won_amount": None, "avg_sales_cycle_days": 30.0,
                                   "open_pipeline": D("500"), "weighted_pipeline": D("210")}
    # Types a program can rely on: ratios and days are numbers, money strings that parse exactly.
    assert isinstance(j["win_rate"], float) and isinstance(j["avg_sales_cycle_days"], float)
    assert Decimal(j["weighted_pipeline"]) == Decimal("960")
    assert j["activities_by_owner"]["Ana"] == {"last_7_days": 2, "last_30_days": 4}
    assert j["lifetime_value"] == {"Acme": D("1550"), "Initech": None} and j["missing_rates"] == 1
    assert (j["pipeline_coverage"], j["pipeline_coverage_basis"]) == (None, "missing_rate")
    assert run(rates=ALL_RATES).to_json()["pipeline_coverage"] == pytest.approx(1100 / 3500, abs=1e-12)


def test_no_closed_deals_leaves_rates_undefined():
    k = compute_kpis([], [], STAGES, RATES, AS_OF)
    assert (k.team.win_rate, k.team.avg_won_amount, k.team.avg_sales_cycle_days, k.churn_rate) == (
        None, None, None, None)
    assert k.to_json()["win_rate"] is None and k.pipeline_coverage is None


def test_every_kpi_has_a_definition():
    keys = set(run().to_json()) - {"as_of", "currency", "by_owner", "pipeline_coverage_basis", "missing_rates",
                                   "pipeline_coverage_without_quota"}
    assert keys == set(DEFINITIONS) - {"activities_30d_by_owner"}
    assert all(d.endswith(".") and "\n" not in d for d in DEFINITIONS.values())


TWO_ACMES = [Account(id="ACC-0001", name="Acme", country="Spain"), Account(id="ACC-0002", name="Acme", country="USA"),
             Account(id="ACC-0003", name="Globex")]


def _two_acmes(opps, leads=()):
    return compute_kpis(opps, opportunity_metrics(opps, STAGES, AS_OF), STAGES, RATES, AS_OF, leads=leads,
                        accounts=TWO_ACMES)


def test_lifetime_value_is_per_account_id_and_tells_namesakes_apart():
    k = _two_acmes([opp("Won", "1000", "Ana", "ACC-0001"), opp("Won", "2000", "Bo", "ACC-0002"),
                    opp("Won", "300", "Bo", "acc-0002"), opp("Won", "500", "Bo", "Globex"),
                    opp("Won", "7", "Bo", "Acme")])   # a name two accounts share: no account's (read warned)
    assert k.lifetime_value == {"Acme (ACC-0001)": Decimal("1000"), "Acme (ACC-0002)": Decimal("2300"),
                                "Globex": Decimal("500")}
    assert k.team.won_revenue == Decimal("3807")      # the ambiguous deal is still won revenue


def test_a_company_two_accounts_share_credits_neither_and_is_reported():
    leads = [Lead(id="LEAD-1", company="ACME", campaign="Spring", status="Converted", created=dt.date(2024, 1, 1)),
             Lead(id="LEAD-2", company="globex", campaign="Fall", status="Converted", created=dt.date(2024, 1, 2))]
    opps = [opp("Won", "1000", "Ana", "ACC-0001"), opp("Won", "2000", "Bo", "ACC-0002"),
            opp("Won", "500", "Bo", "ACC-0003")]
    k = _two_acmes(opps, leads)
    assert k.won_revenue_by_campaign == {"Fall": Decimal("500")}
    assert k.ambiguous_companies == ((leads[0], ("ACC-0001", "ACC-0002")),)
    # A lead sheetcrm converted names its account by ID: no ambiguity.
    link = {"LEAD-1": Converted(row=2, lead="LEAD-1", account="ACC-0002", on=dt.date(2024, 1, 3))}
    k = compute_kpis(opps, opportunity_metrics(opps, STAGES, AS_OF), STAGES, RATES, AS_OF, leads=leads[:1],
                     accounts=TWO_ACMES, conversions=link)
    assert k.won_revenue_by_campaign == {"Spring": Decimal("2000")} and k.ambiguous_companies == ()


def test_without_an_accounts_tab_an_account_is_its_label_grouped_as_read():
    # Free text a person types groups as the read compares it (crm.spellings): "Acme" and "acme"
    # are one label, shown as the first of them (a tie), never two rows splitting its revenue.
    opps = [opp("Won", "1000", "Ana", "Acme"), opp("Won", "200", "Ana", "acme")]
    leads = [Lead(company="ACME", campaign="Spring", status="Converted")]
    k = compute_kpis(opps, opportunity_metrics(opps, STAGES, AS_OF), STAGES, RATES, AS_OF, leads=leads)
    assert k.lifetime_value == {"Acme": Decimal("1200")}
    assert k.won_revenue_by_campaign == {"Spring": Decimal("1200")}   # folded, as a Company has always matched


def test_in_spanish_the_leads_with_no_campaign_agree_with_campana_and_no_source_with_origen():
    # Campaña is feminine, Origen masculine: one "(ninguno)" for both read wrong under Campaña.
    from sheetcrm.crm.kpis import conversion_label
    from sheetcrm.i18n import using

    with using("es"):
        assert (conversion_label("", "campaign"), conversion_label("", "source")) == ("(ninguna)", "(ninguno)")
        assert conversion_label("Spring", "campaign") == "Spring"


def test_the_leads_with_no_campaign_are_under_an_empty_key_in_every_language_apart_from_a_campaign_called_none():
    """The key was the label "(none)" ("(ninguna)" in Spanish): a program reading the JSON found
    another key per language, and a campaign a team named "(none)" took in every lead with no
    campaign, its conversion rate silently wrong. As the deals with no Owner: the key "" (README)."""
    from sheetcrm.i18n import using

    leads = [Lead(last_name="A", campaign="(none)", status="Converted"), Lead(last_name="B", status="New"),
             Lead(last_name="C", source="(ninguno)", status="New")]
    for language in ("en", "es"):
        with using(language):
            k = compute_kpis([], [], STAGES, RATES, AS_OF, leads=leads)
        assert k.to_json()["lead_conversion_by_campaign"] == {
            "": {"leads": 2, "converted": 0, "rate": 0.0}, "(none)": {"leads": 1, "converted": 1, "rate": 1.0}}
        assert k.lead_conversion_by_source == {"": Conversion(2, 1), "(ninguno)": Conversion(1, 0)}
