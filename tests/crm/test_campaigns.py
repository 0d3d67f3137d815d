"""Each campaign figure (crm/campaigns.py) against figures worked out by hand, with costs and
deals in three currencies, the attribution rules, and the figures a missing rate leaves empty."""

from decimal import Decimal

from sheetcrm.config import Config
from sheetcrm.crm.campaigns import campaign_figures
from sheetcrm.crm.conversion import Converted
from sheetcrm.crm.money import Rates
from sheetcrm.crm.stages import StageTable
from sheetcrm.records import Campaign, Lead, Opportunity
from sheetcrm.validate import parse_context

CONFIG = Config()
CTX = parse_context(CONFIG)
STAGES = StageTable.of(CONFIG.stages)
# One EUR is 1.10 USD, one GBP 1.25 USD; no rate for CHF.
RATES = Rates("USD", {"EUR": Decimal("1.10"), "GBP": Decimal("1.25")})


def campaign(row, cid, name, cost=None, currency=None) -> Campaign:
    return Campaign.model_validate({"id": cid, "name": name, "actual_cost": cost, "currency": currency,
                                    "budget": "99999"}, context=CTX).model_copy(update={"row": row})


def lead(lid, name, status="New") -> Lead:
    return Lead.model_validate({"id": lid, "last_name": "X", "campaign": name, "status": status}, context=CTX)


def deal(oid, stage, amount, currency=None, name=None) -> Opportunity:
    return Opportunity.model_validate({"id": oid, "name": oid, "account": "Acme", "stage": stage, "amount": amount,
                                       "currency": currency, "campaign": name}, context=CTX)


WEBINAR = campaign(2, "CMP-0001", "Webinar", "2000", "EUR")     # cost 2000 EUR = 2200 USD
SHOW = campaign(3, "CMP-0002", "Trade Show", "4000", "GBP")     # cost 4000 GBP = 5000 USD
MAILING = campaign(4, "CMP-0003", "Mailing")                    # no Actual Cost: Budget is never a cost

LEADS = [
    lead("LEAD-1", "Webinar", "Converted"),
    lead("LEAD-2", "webinar"),                 # another case: still the Webinar
    lead("LEAD-3", "CMP-0001", "Converted"),   # by ID
    lead("LEAD-4", "Trade Show"),
    lead("LEAD-5", "Mailing", "Converted"),    # converted by sheetcrm into OPP-6 (no Campaign of its own)
    lead("LEAD-6", "Nowhere"),                 # names no campaign
]
DEALS = [
    deal("OPP-1", "Closed Won", "1000", "EUR", "Webinar"),      # 1100 USD
    deal("OPP-2", "Closed Won", "3000", None, "CMP-0001"),      # 3000 USD (blank currency: the base)
    deal("OPP-3", "Closed Lost", "9000", None, "Webinar"),      # counts as a deal, not as won
    deal("OPP-4", "Closed Won", "2000", "GBP", "Trade Show"),   # 2500 USD
    deal("OPP-5", "Negotiation", "7000", None, "Trade Show"),
    deal("OPP-6", "Closed Won", "500", None),                   # LEAD-5's deal: the Mailing's
    deal("OPP-7", "Closed Won", "800", None),                   # no campaign, no lead
]
CONVERSIONS = {"LEAD-5": Converted(6, "LEAD-5", "ACC-9", None, "OPP-6")}


def test_figures_with_mixed_currencies_by_hand() -> None:
    got = campaign_figures([WEBINAR, SHOW, MAILING], LEADS, DEALS, STAGES, RATES, CONVERSIONS).by_row
    webinar, show, mailing = got[2], got[3], got[4]
    # Webinar: leads 1, 2, 3 (two converted by Status); deals 1, 2, 3; won 1, 2 = 1100 + 3000 = 4100 USD.
    assert (webinar.leads, webinar.converted_leads, webinar.opportunities, webinar.won_deals) == (3, 2, 3, 2)
    assert webinar.won_revenue == Decimal("4100")
    assert webinar.cost == Decimal("2200")
    assert webinar.cost_per_lead == Decimal("2200") / 3                     # 733.33…
    assert webinar.cost_per_won_deal == Decimal("1100")                     # 2200 ÷ 2
    assert webinar.roi == (Decimal("4100") - Decimal("2200")) / Decimal("2200")   # 0.8636…
    assert round(webinar.roi, 4) == Decimal("0.8636")
    # Trade Show: lead 4; deals 4, 5; won 4 = 2500 USD; cost 5000 USD: ROI = (2500 − 5000) ÷ 5000 = −0.5.
    assert (show.leads, show.converted_leads, show.opportunities, show.won_deals) == (1, 0, 2, 1)
    assert show.won_revenue == Decimal("2500")
    assert (show.cost_per_lead, show.cost_per_won_deal, show.roi) == (Decimal("5000"), Decimal("5000"),
                                                                     Decimal("-0.5"))
    # Mailing: lead 5, its converted deal 6 (500 USD); no Actual Cost: nothing that divides by a cost.
    assert (mailing.leads, mailing.converted_leads, mailing.opportunities, mailing.won_deals) == (1, 1, 1, 1)
    assert mailing.won_revenue == Decimal("500")
    assert (mailing.cost, mailing.cost_per_lead, mailing.cost_per_won_deal, mailing.roi) == (None,) * 4


def test_a_deal_with_its_own_campaign_is_not_reattributed_to_its_lead() -> None:
    converted = {"LEAD-4": Converted(5, "LEAD-4", "ACC-9", None, "OPP-1")}   # OPP-1 names the Webinar itself
    got = campaign_figures([WEBINAR, SHOW], [LEADS[3]], [DEALS[0]], STAGES, RATES, converted).by_row
    assert (got[2].opportunities, got[3].opportunities) == (1, 0)


def test_from_lead_links_a_deal_when_the_lead_row_lost_its_link() -> None:
    got = campaign_figures([MAILING], [LEADS[4]], [DEALS[5]], STAGES, RATES, {}, {"LEAD-5": "OPP-6"}).by_row
    assert (got[4].opportunities, got[4].won_revenue) == (1, Decimal("500"))


def test_a_missing_rate_empties_what_needs_it() -> None:
    swiss = campaign(5, "CMP-0004", "Zurich Fair", "1000", "CHF")
    chf_deal = deal("OPP-8", "Closed Won", "100", "CHF", "Webinar")
    out = campaign_figures([WEBINAR, swiss], [], [*DEALS[:2], chf_deal], STAGES, RATES)
    webinar, fair = out.by_row[2], out.by_row[5]
    assert webinar.won_deals == 3 and webinar.won_revenue is None and webinar.roi is None
    assert webinar.cost_per_won_deal == Decimal("2200") / 3   # needs only the cost
    assert fair.cost is None and fair.cost_per_lead is None and fair.roi is None
    assert sorted((m.campaign.id, m.currency, m.deal) for m in out.missing) == [
        ("CMP-0001", "CHF", "OPP-8"), ("CMP-0004", "CHF", None)]


def test_no_cost_of_zero_roi() -> None:
    free = campaign(6, "CMP-0005", "Word of mouth", "0")
    got = campaign_figures([free], [lead("L", "Word of mouth")], [deal("O", "Closed Won", "10", None,
                                                                        "Word of mouth")], STAGES, RATES).by_row[6]
    assert got.cost == 0 and got.cost_per_lead == 0 and got.roi is None   # a return on nothing is no ratio
