"""What each marketing campaign brought and what it cost, in the base currency (docs/campaigns.md).

    figures = campaign_figures(campaigns, leads, opportunities, stages, rates, conversions)
    figures.by_campaign["CMP-0001"].roi       # (won revenue − cost) ÷ cost, a fraction

Attribution, one rule per record, no guessing:

- a lead belongs to the campaign its Campaign cell names (by ID or exact name, resolved in
  the read; `validate._check_references`), and to none when the cell names none, or more
  than one;
- a deal belongs to the campaign its own Campaign cell names; a deal with an empty Campaign
  belongs to the campaign of the lead it was converted from (the lead's Converted
  Opportunity, else the deal's From Lead: sheetcrm's record of the conversion). A deal whose
  Campaign names no campaign belongs to none: the person named something, and sheetcrm does
  not override it with the lead's.

Cost is the campaign's Actual Cost in its Currency (blank: the base currency), never its
Budget: a budget is what a team meant to spend, and an ROI over it would look exact and be
wrong. With no Actual Cost, Cost per Lead, Cost per Won Deal and ROI stay empty.

    Won Revenue       = Σ Amount of the campaign's won deals, each × its currency's rate
    Cost per Lead     = cost ÷ Leads                 (empty when Leads = 0)
    Cost per Won Deal = cost ÷ Won Deals             (empty when Won Deals = 0)
    ROI               = (Won Revenue − cost) ÷ cost  (empty when cost = 0; Salesforce's
                        campaign ROI, "Total Value Won Opportunities − Actual Cost, ÷ Actual Cost")

A won deal's amount with no rate, or an Actual Cost with no rate, leaves every figure that
needs it empty and says so (`Missing`): never a total that quietly lacks the euros. Pure:
O(leads + deals + campaigns), no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from sheetcrm.cells import canonical_text
from sheetcrm.crm.conversion import Converted, is_converted
from sheetcrm.crm.money import Rates, to_base
from sheetcrm.crm.stages import StageTable
from sheetcrm.records import Campaign, Lead, Opportunity

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Missing:
    """A figure left empty for want of an exchange rate: the campaign, the currency with no
    rate, and what carries it (the campaign's own Actual Cost, or a won deal by its ID)."""

    campaign: Campaign
    currency: str
    deal: str | None = None   # the won deal's ID; None: the campaign's Actual Cost


@dataclass
class Figures:
    """One campaign's computed columns. Money in the base currency (unrounded Decimals); `roi`
    a fraction (1.5 is 150 %); None where the figure cannot be known."""

    leads: int = 0
    converted_leads: int = 0
    opportunities: int | None = 0   # None (and Won Deals): no deal is read at all
    won_deals: int | None = 0
    won_revenue: Decimal | None = _ZERO
    cost: Decimal | None = None
    cost_per_lead: Decimal | None = None
    cost_per_won_deal: Decimal | None = None
    roi: Decimal | None = None


@dataclass
class CampaignFigures:
    """Figures by campaign row (the sheet row of the Campaigns tab), and what lacks a rate."""

    by_row: dict[int, Figures] = field(default_factory=dict)
    missing: list[Missing] = field(default_factory=list)


def _key(text: str) -> str:
    # As the read compares a reference (validate.match_key), for callers that did not resolve.
    return canonical_text(text).casefold()


class Resolver:
    """Which campaign a Campaign cell names: by ID, else by name when one campaign has it.

    `unsound`: the rows with errors of the tab (their readable cells). They get no figures, but
    they are campaigns all the same: a name one of them shares is ambiguous (the read warns that
    the record counts for neither), and a cell naming one names no sound campaign."""

    def __init__(self, campaigns: Iterable[Campaign], unsound: Iterable[Campaign] = ()) -> None:
        self.ids: dict[str, Campaign] = {}
        names: dict[str, list[Campaign]] = {}
        for c in (*campaigns, *unsound):
            if c.id:
                self.ids.setdefault(_key(c.id), c)
            names.setdefault(_key(c.name), []).append(c)
        self.names = {k: cs[0] for k, cs in names.items() if len(cs) == 1}

    def __call__(self, text: str | None) -> Campaign | None:
        if not text:
            return None
        key = _key(text)
        return self.ids.get(key) or self.names.get(key)


def converted(lead: Lead, conversions: Mapping[str, Converted]) -> bool:
    """A lead is converted when sheetcrm converted it or its Status says so (as crm.kpis counts)."""
    return is_converted(lead.status, conversions.get(lead.id) if lead.id is not None else None)


def campaign_figures(campaigns: Iterable[Campaign], leads: Iterable[Lead], opportunities: Iterable[Opportunity],
                     stages: StageTable, rates: Rates, conversions: Mapping[str, Converted] = {},
                     from_lead: Mapping[str, str] = {}, unsound: Iterable[Campaign] = (),
                     unsound_leads: Iterable[Lead] = (), deals_read: bool = True,
                     amounts_read: bool = True) -> CampaignFigures:
    """Each campaign's figures (see the module docstring for every rule).

    conversions: lead ID -> its conversion record (`Conversions.converted_ids`);
    from_lead: lead ID -> the deal ID whose From Lead names it (`Conversions.from_lead`
    ["opportunities"]); unsound: the Campaigns tab's rows with errors, as `Resolver` reads them;
    unsound_leads: the Leads tab's rows with errors whose Campaign cell reads, which count for no
    campaign themselves but still name the campaign of the deal they were converted into.
    Campaigns without a row number share row 0; callers pass the read's.
    `deals_read` False: no deal is read at all (`validate.deals_unread`), so Opportunities, Won
    Deals, Won Revenue, Cost per Won Deal and ROI are None; `amounts_read` False: no deal's amount
    is (`validate.amounts_unread`), so Won Revenue and ROI are: a 0 there read as "nothing won",
    an ROI of -100 %."""
    campaigns = list(campaigns)
    resolve = Resolver(campaigns, unsound)
    figures = {id(c): Figures() if deals_read else Figures(opportunities=None, won_deals=None) for c in campaigns}
    lead_campaign: dict[str, Campaign | None] = {}   # deal ID -> the campaign of the lead it came from
    leads = list(leads)
    sound = {id(lead) for lead in leads}
    for lead in (*leads, *unsound_leads):
        campaign = resolve(lead.campaign)
        if campaign is not None and id(campaign) not in figures:
            campaign = None  # a row with errors: no figures until fixed
        if campaign is not None and id(lead) in sound:
            f = figures[id(campaign)]
            f.leads += 1
            f.converted_leads += converted(lead, conversions)
        if lead.id:
            link = conversions.get(lead.id)
            deal = link.opportunity if link and link.opportunity else from_lead.get(lead.id)
            if deal:
                lead_campaign.setdefault(deal, campaign)
    revenue_missing: dict[int, list[Missing]] = {}
    for deal in opportunities:
        campaign = resolve(deal.campaign) if deal.campaign else lead_campaign.get(deal.id or "")
        if campaign is None or id(campaign) not in figures:
            continue
        f = figures[id(campaign)]
        f.opportunities = (f.opportunities or 0) + 1
        if stages.kind(deal.stage) != "won":
            continue
        f.won_deals = (f.won_deals or 0) + 1
        amount = to_base(deal.amount, deal.currency, rates)
        if deal.amount is not None and amount is None:
            revenue_missing.setdefault(id(campaign), []).append(Missing(campaign, deal.currency or "", deal.id))
        elif amount is not None and f.won_revenue is not None:
            f.won_revenue += amount
    out = CampaignFigures()
    for c in campaigns:
        f = figures[id(c)]
        lacking = revenue_missing.get(id(c), [])
        if lacking or not amounts_read or not deals_read:
            f.won_revenue = None
            out.missing.extend(lacking)
        f.cost = to_base(c.actual_cost, c.currency, rates)
        if c.actual_cost is not None and f.cost is None:
            out.missing.append(Missing(c, c.currency or ""))
        if f.cost is not None:
            f.cost_per_lead = f.cost / f.leads if f.leads else None
            f.cost_per_won_deal = f.cost / f.won_deals if f.won_deals else None
            f.roi = (f.won_revenue - f.cost) / f.cost if f.cost and f.won_revenue is not None else None
        out.by_row[c.row] = f
    return out
