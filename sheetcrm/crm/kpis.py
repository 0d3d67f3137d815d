"""The Dashboard's KPIs, each with the one-line definition the Dashboard shows beside it.

Deal KPIs cover every closed deal in the sheet (all time); money is in the base currency,
and a sum one of whose amounts has no exchange rate is None (`money.plus`: blank, never short
of it), the deal counted in `missing_rates` (a won deal's, or an open one's in the pipeline: a
lost deal's amount is in no KPI, with a rate or without). Counts (won deals, win rate) need no
rate and stay whole. Figures per
owner, source or campaign group the text as people read it (`crm.spellings`: "Referral",
"referral " and "REFERRAL" are one source, shown under the spelling most cells use); per-account
figures are summed by the account's ID and shown by its name, with the ID when two accounts
share it (`crm.accounts`), and an Account that names no account row (a workbook without an
Accounts tab) is grouped as read too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from sheetcrm.cells import normalize_key
from sheetcrm.crm.accounts import Accounts
from sheetcrm.crm.conversion import Converted, is_converted
from sheetcrm.crm.forecast import NO_OWNER_KEY, Quota, UnreadQuota, month_key, owner_label, quota_unknown
from sheetcrm.crm.money import (MissingRate, Rates, decimal_text, fraction, plus, points_fraction,
                                ratio_points, to_base, weighted as weighted_amount)
from sheetcrm.crm.spellings import Spellings
from sheetcrm.crm.stages import OpportunityMetrics, StageTable, is_open_task
from sheetcrm.i18n import N_, NC_, _, ngettext, pgettext
from sheetcrm.records import Account, Activity, Lead, Opportunity, Task

# The leads with no Source (no Campaign) are counted under the key "" in every language, as the
# deals with no Owner are (NO_OWNER_KEY): a label as key would change with the language for a
# program reading the JSON, and merge with a campaign a team named "(none)". Shown as NONE (a
# Source) or NO_CAMPAIGN, in the language of the screen or the Dashboard (`conversion_label`).
NO_VALUE_KEY = ""
NONE = N_("(none)")
# The same for a lead with no Campaign: its own entry, since Spanish agrees it with the noun
# ("Campaña": "(ninguna)"; "Origen": "(ninguno)").
NO_CAMPAIGN = NC_("no campaign", "(none)")
_ZERO = Decimal(0)

# Each KPI: (label, definition), both translated where they are shown (`_(label)`).
KPIS: dict[str, tuple[str, str]] = {
    "win_rate": (N_("Win rate"), N_("Deals won ÷ deals closed (won + lost); open deals do not count.")),
    "won_revenue": (N_("Won revenue"), N_("Total amount of all won deals.")),
    "won_count": (N_("Won deals"), N_("Number of won deals.")),
    "lost_count": (N_("Lost deals"), N_("Number of lost deals.")),
    "avg_won_amount": (N_("Average won deal"), N_("Won revenue ÷ number of won deals with an amount.")),
    "avg_sales_cycle_days": (N_("Average sales cycle (days)"),
                             N_("Average days from Created to Close Date over won deals with both dates; a deal whose "
                                "Close Date is before its Created is left out (the Validation tab lists it).")),
    "open_pipeline": (N_("Open pipeline"),
                      N_("Total amount of open deals, leaving out those in the Omitted forecast category (by their "
                         "stage or their Category Override).")),
    "weighted_pipeline": (N_("Weighted pipeline"),
                          N_("Open pipeline with each deal's amount multiplied by its probability.")),
    "pipeline_coverage": (N_("Pipeline coverage"),
                          N_("Open pipeline closing this quarter (overdue deals included) ÷ this quarter's quota "
                             "still to win; with no quota for the quarter, ÷ last quarter's won revenue.")),
    "lead_conversion_by_source": (N_("Lead conversion rate, source {name}"),
                                  N_("Converted leads ÷ all leads, for each Source; a lead is converted when "
                                     "sheetcrm converted it (Converted Account) or its Status says Converted.")),
    "lead_conversion_by_campaign": (N_("Lead conversion rate, campaign {name}"),
                                    N_("Converted leads ÷ all leads, for each Campaign; a lead is converted when "
                                       "sheetcrm converted it (Converted Account) or its Status says Converted.")),
    "days_to_convert": (N_("Average days to convert a lead"),
                        N_("Average days from a lead's Created to its Converted On, over leads sheetcrm converted.")),
    # Not the Campaigns tab's Won Revenue (crm/campaigns.py: the deals attributed to the campaign,
    # what its ROI divides): every won deal of the accounts the campaign's leads became, whatever
    # campaign brought each deal. Named apart so that neither is read as the other.
    "won_revenue_by_campaign": (N_("Won revenue from accounts of campaign {name}'s leads"),
                                N_("All won revenue of the accounts the campaign's leads converted into (a lead's "
                                   "Converted Account; else the one account whose name matches the Company of a lead "
                                   "whose Status says Converted, the earliest such lead if several), every deal of "
                                   "the account whatever its Campaign. Not the Campaigns tab's Won Revenue, which "
                                   "counts only the deals of the campaign.")),
    "activities_by_owner": (N_("Activities in the last 7 days, {name}"),
                            N_("Activities logged in the 7 and the 30 days up to today, per owner.")),
    "activities_30d_by_owner": (N_("Activities in the last 30 days, {name}"),
                                N_("Activities logged in the 7 and the 30 days up to today, per owner.")),
    "overdue_tasks_by_owner": (N_("Overdue tasks, {name}"), N_("Open tasks due before today, per owner.")),
    "rotting_deals": (N_("Rotting deals"),
                      N_("Open deals with no activity or stage change for longer than their stage allows.")),
    "churn_rate": (N_("Churn rate"), N_("Churned accounts ÷ (Customer + Churned accounts).")),
    "lifetime_value": (N_("Lifetime value, {name}"), N_("Total amount of each account's won deals.")),
}
DEFINITIONS: dict[str, str] = {key: definition for key, (_label, definition) in KPIS.items()}


@dataclass(frozen=True)
class DealKpis:
    """The deal KPIs of a team or of one owner."""

    win_rate: Decimal | None = None          # points
    # Money: None when a deal it would count has no exchange rate (`Kpis.missing_rates`).
    won_revenue: Decimal | None = _ZERO
    # Counts: None when no deal is read at all (`validate.deals_unread`).
    won_count: int | None = 0
    lost_count: int | None = 0
    avg_won_amount: Decimal | None = None
    avg_sales_cycle_days: Decimal | None = None
    open_pipeline: Decimal | None = _ZERO
    weighted_pipeline: Decimal | None = _ZERO

    def to_json(self) -> dict[str, Any]:
        """The units of `Kpis.to_json`; win_rate from the counts, exactly won ÷ (won + lost)."""
        closed = None if self.won_count is None or self.lost_count is None else self.won_count + self.lost_count
        return {"win_rate": fraction(self.won_count, closed) if closed is not None else None,
                "won_revenue": decimal_text(self.won_revenue),
                "won_count": self.won_count, "lost_count": self.lost_count,
                "avg_won_amount": decimal_text(self.avg_won_amount),
                "avg_sales_cycle_days": None if self.avg_sales_cycle_days is None
                else float(self.avg_sales_cycle_days),
                "open_pipeline": decimal_text(self.open_pipeline),
                "weighted_pipeline": decimal_text(self.weighted_pipeline)}


@dataclass(frozen=True)
class Conversion:
    leads: int
    converted: int

    @property
    def rate(self) -> Decimal | None:
        return ratio_points(self.converted, self.leads)

    def to_json(self) -> dict[str, Any]:
        return {"leads": self.leads, "converted": self.converted, "rate": fraction(self.converted, self.leads)}


@dataclass(frozen=True)
class Kpis:
    as_of: dt.date
    currency: str
    team: DealKpis
    by_owner: Mapping[str, DealKpis] = field(default_factory=dict)
    pipeline_coverage: Decimal | None = None         # a multiple: 3.2 means 3.2× what is left to win
    pipeline_coverage_basis: str | None = None       # "quota", "last_quarter_won", "quota_zero" (coverage None: the quarter's quota is 0), "quota_unread" (coverage None: a quota of the quarter cannot be read), "quota_partial" (coverage None: an owner's quota covers only some of the quarter's months) "missing_rate" (coverage None: a deal it would count has no exchange rate) or "amounts_unread" (coverage None: no deal's amount is read)
    # Basis "quota_partial": the owners (as `owners` shows them) whose quotas cover only some months of the quarter.
    quota_partial_owners: tuple[str, ...] = ()
    # Basis "quota": the owners (NO_OWNER_KEY: deals with no Owner) with deals open or won this
    # quarter but no quota for it, whose deals coverage leaves out (it is over the quotas' owners).
    coverage_without_quota: tuple[str, ...] = ()
    lead_conversion_by_source: Mapping[str, Conversion] = field(default_factory=dict)
    lead_conversion_by_campaign: Mapping[str, Conversion] = field(default_factory=dict)
    won_revenue_by_campaign: Mapping[str, Decimal | None] = field(default_factory=dict)
    days_to_convert: Decimal | None = None           # average over leads sheetcrm converted; None when none
    activities_by_owner: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # (7 days, 30 days)
    overdue_tasks_by_owner: Mapping[str, int] = field(default_factory=dict)
    rotting_deals: int | None = 0                    # None when no deal is read at all
    churn_rate: Decimal | None = None                # points
    # account (`Accounts.label`: its name, "Name (ID)" when another account has the name) -> won
    # revenue (None: a won deal of it has no exchange rate)
    lifetime_value: Mapping[str, Decimal | None] = field(default_factory=dict)
    missing_rates: tuple[MissingRate, ...] = ()
    # Converted leads whose Company names several accounts, credited to no campaign: (lead, the
    # accounts' IDs); the sync warns at each one's Company cell (engine.compute).
    ambiguous_companies: tuple[tuple[Lead, tuple[str, ...]], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """For programs (the README's "JSON output" lists every field): money in the base currency
        as exact decimal strings ("3400.75", every digit the Decimal holds), ratios as unrounded
        fractions (0.6315… for 63.15 %), pipeline_coverage as a multiple (1.1 = 110 % of what is
        left to win), days as numbers, counts as ints, dates ISO; null when undefined."""
        return {
            "as_of": self.as_of.isoformat(),
            "currency": self.currency,
            **self.team.to_json(),
            "by_owner": {owner: k.to_json() for owner, k in self.by_owner.items()},
            "pipeline_coverage": None if self.pipeline_coverage is None else float(self.pipeline_coverage),
            "pipeline_coverage_basis": self.pipeline_coverage_basis,
            "pipeline_coverage_without_quota": list(self.coverage_without_quota),
            "lead_conversion_by_source": {k: c.to_json() for k, c in self.lead_conversion_by_source.items()},
            "lead_conversion_by_campaign": {k: c.to_json() for k, c in self.lead_conversion_by_campaign.items()},
            "won_revenue_by_campaign": {k: decimal_text(v) for k, v in self.won_revenue_by_campaign.items()},
            "days_to_convert": None if self.days_to_convert is None else float(self.days_to_convert),
            "activities_by_owner": {k: {"last_7_days": a, "last_30_days": b}
                                    for k, (a, b) in self.activities_by_owner.items()},
            "overdue_tasks_by_owner": dict(self.overdue_tasks_by_owner),
            "rotting_deals": self.rotting_deals,
            "churn_rate": points_fraction(self.churn_rate),
            "lifetime_value": {k: decimal_text(v) for k, v in self.lifetime_value.items()},
            "missing_rates": len(self.missing_rates),
        }


@dataclass
class _DealSums:
    won_revenue: Decimal | None = _ZERO
    won_with_amount: int = 0
    won: int = 0
    lost: int = 0
    cycle_days: int = 0
    cycles: int = 0
    open_pipeline: Decimal | None = _ZERO
    weighted: Decimal | None = _ZERO

    def kpis(self) -> DealKpis:
        return DealKpis(
            win_rate=ratio_points(self.won, self.won + self.lost),
            won_revenue=self.won_revenue, won_count=self.won, lost_count=self.lost,
            avg_won_amount=self.won_revenue / self.won_with_amount
            if self.won_with_amount and self.won_revenue is not None else None,
            avg_sales_cycle_days=Decimal(self.cycle_days) / self.cycles if self.cycles else None,
            open_pipeline=self.open_pipeline, weighted_pipeline=self.weighted)


def compute_kpis(opportunities: Sequence[Opportunity], metrics: Sequence[OpportunityMetrics], stages: StageTable,
                 rates: Rates, as_of: dt.date, *, leads: Iterable[Lead] = (), accounts: Iterable[Account] = (),
                 activities: Iterable[Activity] = (), tasks: Iterable[Task] = (),
                 quotas: Iterable[Quota] = (), conversions: Mapping[str, Converted] = {},
                 owners: Spellings | None = None, unread_quotas: Iterable[UnreadQuota] = (),
                 fiscal_year_start: int = 1, amounts_read: bool = True, deals_read: bool = True) -> Kpis:
    """Every KPI in DEFINITIONS as of `as_of`; `metrics` align with `opportunities`. `owners`:
    how each owner is shown (by default the spellings of the deals', activities' and tasks'
    Owner cells, in that order).

    conversions: lead ID -> its conversion record (crm.conversion.Conversions.converted_ids);
    a lead with one is converted whatever its Status says, and its account is known, not
    guessed from its Company. `unread_quotas`: quotas the Quotas tab gives but cannot be read;
    one that may be this quarter's leaves pipeline coverage None (basis "quota_unread"), never
    computed over the rest of the team's quota. A quarter whose quotas cover only some of its
    months, for any owner, leaves it None too (basis "quota_partial", `Kpis.quota_partial_owners`
    naming them). `fiscal_year_start`: the month (1–12) the
    team's fiscal year starts, which the quarters of pipeline coverage count from.
    `amounts_read` False: no deal's amount could be read (`validate.amounts_unread`), so every
    money figure of the deals is None and pipeline coverage None (basis "amounts_unread"): a 0
    there would read as "nothing won, nothing open". `deals_read` False: no deal is read at all
    (`validate.deals_unread`), so the deal counts (won, lost, rotting) are None too."""
    accounts, activities, tasks = list(accounts), list(activities), list(tasks)
    if owners is None:
        owners = Spellings([*(o.owner for o in opportunities), *(a.owner for a in activities),
                            *(t.owner for t in tasks)])
    by_account = Accounts(accounts)
    quarter = _quarter(as_of, fiscal_year_start)
    last_quarter = _quarter(_quarter_start(as_of, fiscal_year_start) - dt.timedelta(days=1), fiscal_year_start)
    quarter_end = max(quarter)

    start = _ZERO if amounts_read else None
    sums_of = (lambda: _DealSums()) if amounts_read else (lambda: _DealSums(None, open_pipeline=None, weighted=None))
    team, by_person = sums_of(), defaultdict(sums_of)
    lifetime: dict[str, Decimal | None] = defaultdict(lambda: start)  # account key (`Accounts.key`: its ID) -> won
    # An Account that is no account's ID (a plain label, without an Accounts tab) groups as read.
    labels = Spellings(o.account for o in opportunities if o.account and by_account.one(o.account) is None)
    open_this_quarter: Decimal | None = start
    won_this_quarter: Decimal | None = start
    # The same per owner (as shown): a quota's coverage is over its owners' deals alone.
    open_by: dict[str, Decimal | None] = defaultdict(lambda: start)
    won_by: dict[str, Decimal | None] = defaultdict(lambda: start)
    won_last_quarter: Decimal | None = start
    unconverted: list[MissingRate] = []  # the deals an amount here would count, for want of a rate
    for o, m in zip(opportunities, metrics, strict=True):
        kind = stages.kind(o.stage)
        amount = to_base(o.amount, o.currency, rates)
        unpriced = amount is None and o.amount is not None  # it has an amount, not in the base currency
        if unpriced and (kind == "won" or (kind == "open" and m.forecast_category != "Omitted")):
            unconverted.append(MissingRate.of(o, rates))
        owner = owners(o.owner) if o.owner else NO_OWNER_KEY
        sums = (team, by_person[owner])
        month = month_key(o.close_date) if o.close_date else None
        if kind == "won":
            # A name two accounts share names neither (the read warned at the cell): no account's.
            account = by_account.key(o.account)
            if account is not None and account not in by_account.names:
                account = labels(account)
            if amount is not None or unpriced:
                if account is not None:
                    lifetime[account] = plus(lifetime[account], amount)
                if month in quarter:
                    won_this_quarter = plus(won_this_quarter, amount)
                    won_by[owner] = plus(won_by[owner], amount)
                if month in last_quarter:
                    won_last_quarter = plus(won_last_quarter, amount)
            cycle = (o.close_date - o.created).days if o.close_date and o.created else None
            for s in sums:
                s.won += 1
                if amount is not None or unpriced:
                    s.won_revenue = plus(s.won_revenue, amount)
                    s.won_with_amount += 1
                if cycle is not None and cycle >= 0:  # a close before creation is a typo, not a cycle
                    s.cycle_days += cycle
                    s.cycles += 1
        elif kind == "lost":
            for s in sums:
                s.lost += 1
        elif kind == "open" and m.forecast_category != "Omitted" and (amount is not None or unpriced):
            weighted = weighted_amount(amount, m.probability, rates.base)
            for s in sums:
                s.open_pipeline = plus(s.open_pipeline, amount)
                s.weighted = plus(s.weighted, weighted)
            if month is not None and month <= quarter_end:
                open_this_quarter = plus(open_this_quarter, amount)
                open_by[owner] = plus(open_by[owner], amount)

    unread = list(unread_quotas)
    partial: tuple[str, ...] = ()
    apart: tuple[str, ...] = ()
    if not amounts_read:
        quota_left, basis = None, "amounts_unread"
    elif any(quota_unknown(unread, month) for month in quarter):
        quota_left, basis = None, "quota_unread"
    else:
        quota_left, basis, partial = _coverage_denominator(quotas, quarter, won_this_quarter, won_last_quarter,
                                                           owners)
        if basis == "quota":
            # Over the owners with a quota alone: a rep with none has nothing left to win of it,
            # and their wins taken off the others' quota (their pipeline set against it)
            # overstated the team's coverage without a word. Named apart (`coverage_without_quota`).
            held = {owners(q.owner) for q in quotas if q.month in quarter}
            quota_left = sum((q.amount for q in quotas if q.month in quarter), _ZERO)
            open_this_quarter = start
            for owner in held:
                quota_left = plus(quota_left, None if won_by[owner] is None else -won_by[owner])
                open_this_quarter = plus(open_this_quarter, open_by[owner])
            apart = tuple(sorted(o for o in {*won_by, *open_by} - held if won_by[o] != 0 or open_by[o] != 0))
            if not any(q.amount for q in quotas if q.month in quarter):
                # A quota of 0 leaves nothing to win: "won already" would be false, a multiple undefined.
                quota_left, basis, apart = None, "quota_zero", ()
    if basis in ("quota", "last_quarter_won") and (quota_left is None
                                                   or open_this_quarter is None and quota_left > 0):
        # What is left to win, or what the pipeline is, lacks a deal's rate: no ratio, never one of a part.
        # A quota won already is no ratio with every rate: said as that ("quota"), not as the rate's doing.
        quota_left, basis = None, "missing_rate"
    coverage = (open_this_quarter / quota_left  # type: ignore[operator]
                if quota_left and quota_left > 0 and open_this_quarter is not None else None)

    leads = list(leads)
    sources = Spellings(lead.source for lead in leads)
    campaigns = Spellings(lead.campaign for lead in leads)
    by_campaign, ambiguous = _won_by_campaign(leads, lifetime, conversions, by_account, campaigns)
    return Kpis(
        as_of=as_of,
        currency=rates.base,
        team=team.kpis() if deals_read else dataclasses.replace(team.kpis(), won_count=None, lost_count=None),
        by_owner={owner: s.kpis() for owner, s in sorted(by_person.items())},
        pipeline_coverage=coverage,
        pipeline_coverage_basis=basis,
        quota_partial_owners=partial,
        coverage_without_quota=apart,
        lead_conversion_by_source=_conversion(leads, lambda lead: lead.source, sources, conversions),
        lead_conversion_by_campaign=_conversion(leads, lambda lead: lead.campaign, campaigns, conversions),
        won_revenue_by_campaign=by_campaign,
        days_to_convert=_days_to_convert(leads, conversions, as_of),
        activities_by_owner=_activities_by_owner(activities, as_of, owners),
        overdue_tasks_by_owner=_overdue_tasks(tasks, as_of, owners),
        rotting_deals=sum(m.rotting for m in metrics) if deals_read else None,
        churn_rate=_churn(accounts),
        lifetime_value=dict(sorted(((by_account.label(k), v) for k, v in lifetime.items()), key=lambda kv: kv[0])),
        missing_rates=tuple(unconverted),
        ambiguous_companies=ambiguous,
    )


def coverage_said(k: Kpis, quotas: str) -> str | None:
    """What pipeline coverage is over, or why it is blank, when the figure cannot say it (the
    `kpis` command and the Dashboard say it beside the figure); `quotas`: the Quotas tab's title.
    None for the quota's own multiple and for the bases said elsewhere (an unread quota, a missing
    rate, no amount read: their own lines and warnings)."""
    # 1.2× of a quota and of last quarter's revenue read alike, and a blank alike whether the
    # quota is won already or there is nothing to divide by.
    if k.pipeline_coverage_basis == "last_quarter_won":
        return _("Pipeline coverage is over last quarter's won revenue: the {tab} tab has no quota for this quarter",
                 tab=quotas)
    if k.pipeline_coverage_basis == "quota_zero":
        return _("Pipeline coverage is blank: this quarter's quota on the {tab} tab is 0, so there is nothing left "
                 "to win to cover", tab=quotas)
    if k.pipeline_coverage_basis == "quota" and k.coverage_without_quota:
        # Else the whole team's open pipeline, on the same tab, reads as what was divided.
        apart = ", ".join(owner_label(o) for o in k.coverage_without_quota)
        if k.pipeline_coverage is None:
            return ngettext("Pipeline coverage is blank: the owners with a quota this quarter have won it "
                            "already; {owners} has none, and their deals are not in coverage",
                            "Pipeline coverage is blank: the owners with a quota this quarter have won it "
                            "already; {owners} have none, and their deals are not in coverage",
                            len(k.coverage_without_quota), owners=apart)
        return ngettext("Pipeline coverage is over the owners with a quota this quarter: {owners} has none, and "
                        "their deals are not in it",
                        "Pipeline coverage is over the owners with a quota this quarter: {owners} have none, and "
                        "their deals are not in it", len(k.coverage_without_quota), owners=apart)
    if k.pipeline_coverage_basis == "quota" and k.pipeline_coverage is None:
        return _("Pipeline coverage is blank: this quarter's quota is won already")
    if k.pipeline_coverage_basis is None:
        return _("Pipeline coverage is blank: the {tab} tab has no quota for this quarter, and no deal was won last "
                 "quarter", tab=quotas)
    return None


def _quarter_start(day: dt.date, fiscal_year_start: int = 1) -> dt.date:
    """The first day of `day`'s quarter, quarters counted from the month `fiscal_year_start`
    (1–12): with 2, they start in February, May, August and November."""
    into_quarter = (day.month - fiscal_year_start) % 3
    month = (day.month - 1 - into_quarter) % 12 + 1
    return dt.date(day.year if month <= day.month else day.year - 1, month, 1)


def _quarter(day: dt.date, fiscal_year_start: int = 1) -> frozenset[str]:
    """The "YYYY-MM" months of `day`'s quarter (`_quarter_start`)."""
    start = _quarter_start(day, fiscal_year_start)
    keys = []
    for i in range(3):
        year, month = divmod(start.month - 1 + i, 12)
        keys.append(f"{start.year + year:04d}-{month + 1:02d}")
    return frozenset(keys)


def _coverage_denominator(quotas: Iterable[Quota], quarter: frozenset[str], won_this_quarter: Decimal | None,
                          won_last_quarter: Decimal | None, owners: Spellings
                          ) -> tuple[Decimal | None, str | None, tuple[str, ...]]:
    """(the quarter's quota still to win or last quarter's won revenue, its basis, the owners whose
    quotas cover only some of the quarter's months). The won revenue is None when a won deal
    of it has no rate: the denominator is then None on its basis."""
    in_quarter = [q for q in quotas if q.month in quarter]
    months: dict[str, set[str]] = defaultdict(set)
    for q in in_quarter:
        months[owners(q.owner)].add(q.month)
    # A quota for December alone may be December's or the quarter's typed on one row: over it,
    # October's and November's wins would be subtracted from a quota they were never in (or
    # the quarter's pipeline set against one month's quota). Blank and said, never guessed. Per
    # owner: another owner's quota for October and November makes the team's months whole, not
    # this owner's quota.
    partial = tuple(sorted(owner for owner, held in months.items() if held != quarter))
    if partial:
        return None, "quota_partial", partial
    if in_quarter:
        quota = sum((q.amount for q in in_quarter), _ZERO)
        return None if won_this_quarter is None else quota - won_this_quarter, "quota", ()
    if won_last_quarter is None or won_last_quarter > 0:
        return won_last_quarter, "last_quarter_won", ()
    return None, None, ()


def _converted(lead: Lead, conversions: Mapping[str, Converted]) -> bool:
    return is_converted(lead.status, conversions.get(lead.id) if lead.id else None)


def conversion_label(key: str, table: str) -> str:
    """How a key of `Kpis.lead_conversion_by_source` (`table` "source") or `_by_campaign`
    ("campaign") is shown to people: itself, or for NO_VALUE_KEY "(none)" in the current language."""
    if key != NO_VALUE_KEY:
        return key
    return pgettext(*NO_CAMPAIGN) if table == "campaign" else _(NONE)


def _conversion(leads: Iterable[Lead], key: Any, spellings: Spellings,
                conversions: Mapping[str, Converted]) -> dict[str, Conversion]:
    """Leads and converted leads per `key`'s value as `spellings` shows it; the leads with no
    value under NO_VALUE_KEY."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for lead in leads:
        text = key(lead)
        c = counts[(spellings(text) if text else NO_VALUE_KEY) or NO_VALUE_KEY]
        c[0] += 1
        c[1] += _converted(lead, conversions)
    return {k: Conversion(n, converted) for k, (n, converted) in sorted(counts.items())}


def _won_by_campaign(leads: Iterable[Lead], won: Mapping[str, Decimal | None], conversions: Mapping[str, Converted],
                     accounts: Accounts, campaigns: Spellings
                     ) -> tuple[dict[str, Decimal | None], tuple[tuple[Lead, tuple[str, ...]], ...]]:
    """Won revenue per campaign (shown as `campaigns` spells it), and the converted leads whose
    Company names several accounts. `won`: won revenue by account key (`Accounts.key`)."""
    # A lead sheetcrm converted names its account; for one only its Status says Converted, the
    # lead's Company is matched to the account's name. A Company two accounts' names match is
    # ambiguous: credited to neither, never guessed (README), and reported. Each account's
    # revenue is credited once, to its earliest converted lead.
    # Without an Accounts tab a deal's Account is a plain label: matched folded, as a Company is.
    won_by: dict[str, Decimal | None] = defaultdict(lambda: _ZERO)
    for key, amount in won.items():
        plain = key if key in accounts.names else _plain(key)
        won_by[plain] = plus(won_by[plain], amount)
    first: dict[str, tuple[dt.date, Lead]] = {}
    ambiguous: list[tuple[Lead, tuple[str, ...]]] = []
    for lead in leads:
        if not _converted(lead, conversions) or not lead.campaign:
            continue
        link = conversions.get(lead.id) if lead.id else None
        if link and link.account:
            account = accounts.key(link.account)
        else:
            ids = accounts.by_company(lead.company)
            if len(ids) > 1:
                ambiguous.append((lead, tuple(ids)))
                continue
            account = ids[0] if ids else lead.company
        if account is None:
            continue
        if account not in accounts.names:
            account = _plain(account)
        created = lead.created or dt.date.max
        if account not in first or created < first[account][0]:
            first[account] = (created, lead)
    revenue: dict[str, Decimal | None] = defaultdict(lambda: _ZERO)
    for account, (_, lead) in first.items():
        if account in won_by:
            campaign = campaigns(lead.campaign)  # type: ignore[arg-type]
            revenue[campaign] = plus(revenue[campaign], won_by[account])
    return dict(sorted(revenue.items())), tuple(ambiguous)


def _plain(label: str) -> str:
    # A plain label's key, folded; the NUL keeps it apart from every account's ID.
    return "\0" + normalize_key(label)


def _days_to_convert(leads: Iterable[Lead], conversions: Mapping[str, Converted], as_of: dt.date) -> Decimal | None:
    # A Converted On after the sync's day is a typo said at its cell (`converted_after_sync`):
    # counted, a year too late would add a year to the average.
    days = [(link.on - lead.created).days for lead in leads
            if lead.id and lead.created and (link := conversions.get(lead.id)) and link.on
            and lead.created <= link.on <= as_of]
    return Decimal(sum(days)) / len(days) if days else None


def _activities_by_owner(activities: Iterable[Activity], as_of: dt.date,
                         owners: Spellings) -> dict[str, tuple[int, int]]:
    week, month = as_of - dt.timedelta(days=6), as_of - dt.timedelta(days=29)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in activities:
        if month <= a.date <= as_of:
            c = counts[owners(a.owner) if a.owner else NO_OWNER_KEY]
            c[1] += 1
            c[0] += a.date >= week
    return {k: (a, b) for k, (a, b) in sorted(counts.items())}


def _overdue_tasks(tasks: Iterable[Task], as_of: dt.date, owners: Spellings) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for t in tasks:
        if is_open_task(t) and t.due < as_of:
            counts[owners(t.owner) if t.owner else NO_OWNER_KEY] += 1
    return dict(sorted(counts.items()))


def _churn(accounts: Iterable[Account]) -> Decimal | None:
    customers = churned = 0
    for a in accounts:
        customers += a.status == "Customer"
        churned += a.status == "Churned"
    return ratio_points(churned, customers + churned)
