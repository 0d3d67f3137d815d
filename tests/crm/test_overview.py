"""The Accounts Overview's engine: the health formula against hand-computed values, its Why,
what belongs to an account, money in the base currency, cases read through their protocol
(stub cases here: the Cases tab is another part's), and the suggested products."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from pydantic import ValidationError

from sheetcrm.config import Config
from sheetcrm.crm import Rates, StageTable
from sheetcrm.crm.overview import HealthSettings, OverviewSettings, health, overview
from sheetcrm.i18n import using
from sheetcrm.records import Account, Activity, Contact, Opportunity, Product, QuoteLine, Task
from sheetcrm.validate import parse_context

CTX = parse_context(Config())
AS_OF = dt.date(2026, 6, 30)
STAGES = StageTable.of(Config().stages)
DEFAULT = HealthSettings()


def ago(days: int) -> dt.date:
    return AS_OF - dt.timedelta(days=days)


def make(model, **fields):
    return model.model_validate(fields, context=CTX)


@dataclass(frozen=True)
class Case:
    """A case as the overview reads one (crm.overview.CaseLike)."""

    account: str | None
    priority: str | None
    status: str | None
    id: str | None = None
    opened: dt.datetime = dt.datetime(2026, 11, 2, 10, 0)
    resolved: dt.datetime | None = None


def test_health_is_the_documented_sum_of_its_parts():
    # 30 base + 40 × 0.5^(30/30) = 20 + 30 × 3/6 = 15 − 25 (urgent) − 10 (high) − 2 × 5 (overdue) = 20
    h = health(DEFAULT, AS_OF, churned=False, last_activity=ago(30), recent_activities=3,
               open_cases={"Urgent": 1, "High": 1, "Low": 4}, overdue_tasks=2)
    assert h.score == 20
    # Largest first, as the lead score's Why; ties keep their order (cases before tasks).
    assert h.why == ("1 open urgent case -25; last activity 30 days ago +20; 3 activities in 90 days +15; "
                     "1 open high case -10; 2 overdue tasks -10")


def test_recency_halves_every_half_life_and_frequency_saturates_at_its_target():
    quiet = health(DEFAULT, AS_OF, churned=False, last_activity=ago(60), recent_activities=0, open_cases={},
                   overdue_tasks=0)
    assert quiet.score == 40 and quiet.why == "last activity 60 days ago +10"   # 30 + 40 × 1/4
    busy = health(DEFAULT, AS_OF, churned=False, last_activity=AS_OF, recent_activities=25, open_cases={},
                  overdue_tasks=0)
    assert busy.score == 100 and busy.why == "last activity today +40; 25 activities in 90 days +30"


def test_overdue_tasks_take_away_at_most_the_cap_and_the_score_stays_in_0_100():
    h = health(DEFAULT, AS_OF, churned=False, last_activity=None, recent_activities=0, open_cases={},
               overdue_tasks=9)
    assert h.score == 10 and h.why == "no activity yet; 9 overdue tasks -20"       # 30 − min(45, 20)
    low = health(DEFAULT, AS_OF, churned=False, last_activity=None, recent_activities=0, open_cases={"Urgent": 3},
                 overdue_tasks=0)
    assert low.score == 0


def test_a_churned_account_is_zero_whatever_else():
    h = health(DEFAULT, AS_OF, churned=True, last_activity=AS_OF, recent_activities=20, open_cases={},
               overdue_tasks=0)
    assert (h.score, h.why) == (0, "churned account (Status)")


def test_half_a_point_rounds_up_and_weights_come_from_the_settings():
    s = HealthSettings(base=10.5, case_points={"normal": -1})
    assert health(s, AS_OF, churned=False, last_activity=None, recent_activities=0, open_cases={},
                  overdue_tasks=0).score == 11
    assert s.case_points == {"Normal": -1}
    h = health(s, AS_OF, churned=False, last_activity=None, recent_activities=0, open_cases={"Normal": 2, "Urgent": 1},
               overdue_tasks=0)
    assert h.score == 9 and "urgent" not in h.why   # 10.5 − 2; urgent cases weigh nothing here


def test_bad_health_settings_are_refused():
    for bad in ({"case_points": {"Critical": -30}}, {"half_life_days": 0}, {"overdue_task_points": 5},
                {"weights": 1}):
        with pytest.raises(ValidationError):
            HealthSettings.model_validate(bad)
    with pytest.raises(ValidationError):
        Config.model_validate({"overview": {"health": {"base": 120}}})
    config = Config.model_validate({"overview": {"health": {"base": 50}, "suggestions": {"min_lift": 2}}})
    assert config.overview.health.base == 50 and config.overview.suggestions.min_lift == 2


def test_the_why_speaks_spanish():
    with using("es"):
        h = health(DEFAULT, AS_OF, churned=False, last_activity=ago(1), recent_activities=1,
                   open_cases={"Urgent": 2}, overdue_tasks=1)
    assert h.why == ("2 casos abiertos de prioridad urgente -50; última actividad hace 1 día +39; "
                     "1 actividad en 90 días +5; 1 tarea vencida -5")



def test_the_why_writes_a_fraction_of_a_point_as_spanish_does():
    # Six half-lives after the last activity, recency is worth 40 × 0.5⁶ = 0.625 points.
    with using("es"):
        h = health(DEFAULT, AS_OF, churned=False, last_activity=ago(180), recent_activities=0, open_cases={},
                   overdue_tasks=0)
    assert h.why == "última actividad hace 180 días +0,6"


ACCOUNTS = [make(Account, id="ACC-0001", name="Acme", status="Customer"),
            make(Account, id="ACC-0002", name="Beta", status="Churned"),
            make(Account, id="ACC-0003", name="Dup"), make(Account, id="ACC-0004", name="Dup"),
            make(Account, name="No ID yet")]
CONTACTS = [make(Contact, id="CON-0001", account="Acme", last_name="Li"),
            make(Contact, id="CON-0002", account="ACC-0001", last_name="Ng"),
            make(Contact, id="CON-0003", account="Dup", last_name="Ox")]     # two accounts have that name
OPPORTUNITIES = [
    make(Opportunity, id="OPP-0001", name="One", account="ACC-0001", stage="Proposal", amount=1000),
    make(Opportunity, id="OPP-0002", name="Two", account="Acme", stage="Prospecting", amount=100, currency="EUR"),
    make(Opportunity, id="OPP-0003", name="Three", account="ACC-0001", stage="Closed Won", amount=500,
         currency="GBP"),                                                        # no GBP rate: left out
    make(Opportunity, id="OPP-0004", name="Four", account="ACC-0001", stage="Closed Won", amount=2000),
    make(Opportunity, id="OPP-0005", name="Five", account="ACC-0001", stage="Closed Lost", amount=9000),
    make(Opportunity, id="OPP-0006", name="Six", account="Dup", stage="Closed Won", amount=7000),
    make(Opportunity, id="OPP-0007", name="Seven", account="ACC-0002", stage="Closed Won", amount=300),
]
ACTIVITIES = [make(Activity, date=ago(10), related="CON-0001"), make(Activity, date=ago(100), related="OPP-0001"),
              make(Activity, date=AS_OF + dt.timedelta(days=3), related="ACC-0001"),   # a plan, not engagement
              make(Activity, date=ago(1), related="CON-0003"),
              make(Activity, date=ago(20), related="CASE-0001")]          # about one of Acme's cases
TASKS = [make(Task, due=ago(3), subject="Chase", related="OPP-0001", status="Open"),
         make(Task, due=ago(9), subject="Done already", related="ACC-0001", status="Done"),
         make(Task, due=AS_OF + dt.timedelta(days=5), subject="Visit", related="CON-0002")]
CASES = [Case("ACC-0001", "Urgent", "Open", "CASE-0001"), Case("Acme", "High", "New"), Case("ACC-0001", "Urgent", "Closed"),
         Case("Beta", "Low", "Pending"), Case("Dup", "Urgent", "Open")]
RATES = Rates("USD", {"EUR": Decimal("1.1")})


def _views(cases=CASES, **kw):
    return {v.id: v for v in overview(ACCOUNTS, AS_OF, STAGES, RATES, OverviewSettings(), contacts=CONTACTS,
                                      opportunities=OPPORTUNITIES, activities=ACTIVITIES, tasks=TASKS, cases=cases,
                                      **kw)}


def test_what_belongs_to_an_account_and_its_money_in_the_base_currency():
    views = _views()
    assert list(views) == ["ACC-0001", "ACC-0002", "ACC-0003", "ACC-0004"]   # the row without an ID waits
    acme = views["ACC-0001"]
    assert (acme.name, acme.contacts, acme.open_deals) == ("Acme", 2, 2)
    assert acme.open_amount == Decimal("1110.0")          # 1000 + 100 EUR × 1.1
    assert acme.won_revenue is None                       # the GBP deal has no rate: blank, never 2000 short of it
    assert acme.last_activity == ago(10)                  # the future one is a plan
    assert (acme.next_task_due, acme.next_task) == (ago(3), "Chase")
    assert (acme.open_cases, acme.urgent_cases) == (2, 1)
    # 30 + 40 × 0.5^(10/30) (31.75) + 30 × 2/6 (10: a contact's and a case's) − 25 − 10 − 5 (overdue) = 31.75 → 32
    assert acme.health == 32
    # A name two accounts share names neither: nothing is guessed.
    for dup in ("ACC-0003", "ACC-0004"):
        v = views[dup]
        assert (v.contacts, v.won_revenue, v.last_activity, v.open_cases) == (0, 0, None, 0)
    beta = views["ACC-0002"]
    assert (beta.health, beta.won_revenue, beta.open_cases, beta.urgent_cases) == (0, Decimal(300), 1, 0)


def test_an_open_deal_with_no_rate_counts_and_blanks_the_open_amount_as_on_the_pipeline_tab():
    """A JPY deal with no rate is an open deal (a count needs no rate), and the Open Amount,
    which cannot hold it, is blank: 1000 would read as all this account has open. The Pipeline
    tab counts and blanks it the same way (README, Pipeline). A deal with no Amount yet counts,
    adding nothing."""
    deals = [make(Opportunity, id="OPP-0001", name="One", account="ACC-0001", stage="Proposal", amount=1000),
             make(Opportunity, id="OPP-0002", name="Two", account="ACC-0001", stage="Proposal", amount=500,
                  currency="JPY"),
             make(Opportunity, id="OPP-0003", name="Three", account="ACC-0001", stage="Prospecting")]
    acme = {v.id: v for v in overview(ACCOUNTS, AS_OF, STAGES, RATES, OverviewSettings(),
                                      opportunities=deals)}["ACC-0001"]
    assert (acme.open_deals, acme.open_amount) == (3, None)
    priced = {v.id: v for v in overview(ACCOUNTS, AS_OF, STAGES, Rates("USD", {"JPY": Decimal("0.0065")}),
                                        OverviewSettings(), opportunities=deals)}["ACC-0001"]
    assert (priced.open_deals, priced.open_amount) == (3, Decimal("1003.25"))


def test_a_case_resolved_before_it_was_opened_is_in_no_figure():
    """Resolved before Opened is an error at the cell and the case is left out of every figure
    (docs/cases.md): the Dashboard counted no open urgent case while this tab counted one and
    took 25 from the account's health for it."""
    typo = Case("ACC-0001", "Urgent", "Open", "CASE-0009", resolved=dt.datetime(2026, 11, 1, 10, 0))
    acme = _views(cases=[*CASES, typo])["ACC-0001"]
    assert (acme.open_cases, acme.urgent_cases, acme.health) == (2, 1, 32)  # as without it


def test_without_a_cases_tab_the_case_columns_are_empty_not_zero():
    acme = _views(cases=None)["ACC-0001"]
    assert (acme.open_cases, acme.urgent_cases) == (None, None)
    # 30 + 31.75 + 5 − 5 = 61.75 → 62 (the activity about a case belongs to no one)
    assert acme.health == 62


def test_suggested_products_come_from_the_won_deals_quote_lines():
    accounts = [make(Account, id=f"ACC-{i:04d}", name=f"Co {i}") for i in range(1, 6)]
    baskets = {1: "AB", 2: "AB", 3: "AB", 4: "A", 5: "C"}
    deals, lines = [], []
    for i, skus in baskets.items():
        deals.append(make(Opportunity, id=f"OPP-{i:04d}", name=f"Deal {i}", account=f"ACC-{i:04d}",
                          stage="Closed Won", amount=10))
        lines += [make(QuoteLine, opportunity=f"Deal {i}" if i == 1 else f"OPP-{i:04d}", sku=s, quantity=1)
                  for s in skus]
    # An open deal's lines are no purchase; an unknown SKU is never offered.
    deals.append(make(Opportunity, id="OPP-0009", name="Open", account="ACC-0005", stage="Proposal", amount=1))
    lines += [make(QuoteLine, opportunity="OPP-0009", sku="A", quantity=1),
              make(QuoteLine, opportunity="OPP-0004", sku="ZZZ", quantity=1)]
    products = [make(Product, sku=s, name=f"Widget {s}", unit_price=1) for s in "ABC"]
    views = {v.id: v for v in overview(accounts, AS_OF, STAGES, RATES, OverviewSettings(), opportunities=deals,
                                       quote_lines=lines, products=products)}
    offered = views["ACC-0004"].suggestions
    # N = 5 baskets; A in 4, B in 3, both 3: A→B confidence 3/4, lift (3/4)/(3/5) = 1.25 ≥ 1.2.
    assert [s.product for s in offered] == ["Widget B"]
    # Said in the counts it rests on, not "75% ... (1.3× as often)": 3 buyers of 4 are few.
    assert offered[0].why() == "3 of 4 buyers of Widget A also bought Widget B (of all customers, 3 of 5)"
    with using("es"):
        assert offered[0].why() == ("3 de 4 compradores de Widget A también compraron Widget B "
                                    "(de todos los clientes, 3 de 5)")
    assert all(not views[f"ACC-{i:04d}"].suggestions for i in (1, 2, 3, 5))
    off = OverviewSettings.model_validate({"suggestions": {"enabled": False}})
    assert not any(v.suggestions for v in overview(accounts, AS_OF, STAGES, RATES, off, opportunities=deals,
                                                   quote_lines=lines, products=products))


def test_a_quote_line_of_no_units_is_no_purchase():
    """A won deal's line of 0 units (an option declined) or a negative quantity bought nothing:
    counted, ACC-0003 and ACC-0004 "had" B, were never offered it, and A → B read as 4 of 4."""
    accounts = [make(Account, id=f"ACC-{i:04d}", name=f"Co {i}") for i in range(1, 6)]
    lines = {1: {"A": 1, "B": 1}, 2: {"A": 1, "B": 2}, 3: {"A": 1, "B": 0}, 4: {"A": 1, "B": -1}, 5: {"C": 1}}
    deals = [make(Opportunity, id=f"OPP-{i:04d}", name=f"Deal {i}", account=f"ACC-{i:04d}", stage="Closed Won",
                  amount=10) for i in lines]
    quote_lines = [make(QuoteLine, opportunity=f"OPP-{i:04d}", sku=sku, quantity=n)
                   for i, skus in lines.items() for sku, n in skus.items()]
    products = [make(Product, sku=s, name=f"Widget {s}", unit_price=1) for s in "ABC"]
    views = {v.id: v for v in overview(accounts, AS_OF, STAGES, RATES, OverviewSettings(), opportunities=deals,
                                       quote_lines=quote_lines, products=products)}
    # B bought by 2 of the 4 buyers of A, and by 2 of all 5 customers: lift (2/4)/(2/5) = 1.25.
    for account in ("ACC-0003", "ACC-0004"):
        assert [s.why() for s in views[account].suggestions] == [
            "2 of 4 buyers of Widget A also bought Widget B (of all customers, 2 of 5)"]
    assert not views["ACC-0001"].suggestions and not views["ACC-0002"].suggestions


def test_rows_follow_the_account_ids_not_the_tabs_order():
    # A person's sort of the Accounts tab must not move (and so rewrite) the overview's rows.
    shuffled = [make(Account, id=i, name=f"Co {i}") for i in ("ACC-0010", "ACC-0002", "ACC-9", "ACC-0001")]
    views = overview(shuffled, AS_OF, STAGES, RATES, OverviewSettings())
    assert [v.id for v in views] == ["ACC-0001", "ACC-0002", "ACC-9", "ACC-0010"]
    assert [v.id for v in overview(shuffled[::-1], AS_OF, STAGES, RATES, OverviewSettings())] == [v.id for v in views]
