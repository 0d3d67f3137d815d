"""The Accounts Overview: one row per account, the 360° view of a customer.

Per account: its contacts; its open deals in the pipeline (an Omitted one is out of it, as of
every pipeline figure: `stages.in_pipeline`) and their amount, and its won revenue (lifetime
value), both in the base currency (`money.to_base`; a sum one of whose amounts has no rate is
None, a blank cell, as the compute step's missing_rate warning at the deal says: "0.00 won"
for an account whose one won deal is in francs would read as nothing won); its last activity and next open task; its open and
urgent cases; a health score with its reasons; and the products to offer next (`baskets`).

What belongs to an account: a contact or deal whose Account names it (the read resolved the
reference to the account's ID or name); an activity or task whose Related is the account, one
of its contacts, one of its deals or one of its cases; a case whose Account names it. A name two accounts share
names neither: the read already warned that it is ambiguous, and nothing is guessed here.

**Health** (0–100), after the customer health scores of Gainsight (a weighted scorecard of
measures, each scored, summed to 0–100: https://support.gainsight.com/gainsight_nxt/04Scorecards)
and HubSpot (engagement recency and frequency, open support tickets:
https://blog.hubspot.com/service/customer-health-score). With the `[overview.health]` weights
(defaults in brackets):

    health = clamp₀¹⁰⁰( base                                          [30]
                      + recency_points × 0.5 ^ (days since last activity ÷ half_life_days)
                                                                      [40, 30 days; 0 with none]
                      + frequency_points × min(1, activities in the last frequency_days
                                                  ÷ frequency_target) [30, 90 days, 6]
                      + Σ open cases × case_points[priority]          [Urgent −25, High −10]
                      + max(−overdue_cap, overdue tasks × overdue_task_points)  [−5 each, −20 at most] )

rounded half up; a churned account (Status = Churned, es Perdido/Baja) is 0 whatever else.
Future-dated activities are plans, not engagement: they count for neither recency nor frequency.
Its Why names each part that moved it, largest first, as the lead score's does ("last activity
12 days ago +30; 1 open urgent case -25").

Pure: records and `as_of` in, rows out. O(accounts + contacts + deals + activities + tasks +
cases + quote lines), plus the basket rules (`baskets`).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Mapping, Protocol, Sequence

from babel.numbers import format_decimal
from pydantic import Field, field_validator

from sheetcrm.crm.accounts import Accounts
from sheetcrm.crm.baskets import BasketSettings, Rule, association_rules, index, suggest
from sheetcrm.crm.cases import resolved_before_opened
from sheetcrm.crm.money import Rates, plus, to_base
from sheetcrm.crm.rules import format_points, rank
from sheetcrm.crm.stages import StageTable, forecast_category, in_pipeline, is_open_task, is_plan
from sheetcrm.i18n import NC_, _, current, ngettext, pgettext, using
from sheetcrm.records import Account, Activity, Contact, Opportunity, Product, QuoteLine, Task
from sheetcrm.settings import Section

# A case's priorities and the statuses that close it, as the Cases tab's record names them.
PRIORITIES: dict[str, tuple[str, str]] = {
    "Low": NC_("case priority", "Low"), "Normal": NC_("case priority", "Normal"),
    "High": NC_("case priority", "High"), "Urgent": NC_("case priority", "Urgent"),
}
CLOSED_CASE = frozenset({"Resolved", "Closed"})
URGENT = "Urgent"
# The account Status that says a customer has left (records.Account: es Perdido, Baja, Churn).
CHURNED = "Churned"


class CaseLike(Protocol):
    """What the overview reads of a case (the Cases tab's record)."""

    @property
    def id(self) -> str | None: ...

    @property
    def account(self) -> str | None: ...

    @property
    def priority(self) -> str | None: ...

    @property
    def status(self) -> str | None: ...

    @property
    def opened(self) -> dt.datetime: ...

    @property
    def resolved(self) -> dt.datetime | None: ...


class HealthSettings(Section):
    """[overview.health]: the weights of the health score (the formula: module docstring)."""

    base: float = Field(default=30, ge=0, le=100, allow_inf_nan=False)
    recency_points: float = Field(default=40, ge=0, le=100, allow_inf_nan=False)
    half_life_days: float = Field(default=30, gt=0, le=3650, allow_inf_nan=False)
    frequency_points: float = Field(default=30, ge=0, le=100, allow_inf_nan=False)
    frequency_days: int = Field(default=90, ge=1, le=3650)
    frequency_target: int = Field(default=6, ge=1)
    # Points per open case of each priority (negative: a case takes health away).
    case_points: dict[str, float] = Field(default_factory=lambda: {"Urgent": -25, "High": -10})
    overdue_task_points: float = Field(default=-5, le=0, allow_inf_nan=False)
    # The most that overdue tasks take away in all.
    overdue_cap: float = Field(default=20, ge=0, allow_inf_nan=False)

    @field_validator("case_points")
    @classmethod
    def _priorities(cls, points: dict[str, float]) -> dict[str, float]:
        known = {p.casefold(): p for p in PRIORITIES}
        out: dict[str, float] = {}
        for name, value in points.items():
            priority = known.get(name.strip().casefold())
            if priority is None:
                raise ValueError(_("unknown case priority {name}; use {priorities}", name=repr(name),
                                   priorities=", ".join(PRIORITIES)))
            if not math.isfinite(value):
                raise ValueError(_("case points for {name} must be a finite number", name=name))
            out[priority] = value
        return out


class OverviewSettings(Section):
    """The [overview] section of sheetcrm.toml: the Accounts Overview tab."""

    enabled: bool = True
    health: HealthSettings = Field(default_factory=HealthSettings)
    suggestions: BasketSettings = Field(default_factory=BasketSettings)


@dataclass(frozen=True)
class Suggestion:
    """A product to offer, and the rule that says why."""

    product: str          # its name (else its SKU)
    rule: Rule
    because_of: str       # the antecedent's name (else its SKU)

    def why(self) -> str:
        """"2 of 3 buyers of Team licence also bought Training day (of all customers, 2 of 7)": the
        counts the rule rests on, never a share or a lift alone (`baskets`: few customers make
        "67%, 2.3× as often" out of two orders)."""
        language = current()
        rule = self.rule
        both, buyers, others, customers = (format_decimal(n, locale=language) for n in (
            rule.both, rule.with_antecedent, rule.with_consequent, rule.baskets))
        return _("{both} of {buyers} buyers of {a} also bought {b} (of all customers, {others} of {customers})",
                 both=both, buyers=buyers, a=self.because_of, b=self.product, others=others, customers=customers)


@dataclass(frozen=True, slots=True)
class AccountView:
    """One row of the Accounts Overview. Money in the base currency, None when a deal it would
    count has no exchange rate; `open_cases` and `urgent_cases` are None when the workbook has
    no Cases tab."""

    id: str
    name: str
    owner: str | None
    contacts: int
    open_deals: int | None  # None when no deal is read at all
    open_amount: Decimal | None
    won_revenue: Decimal | None
    last_activity: dt.date | None
    next_task_due: dt.date | None
    next_task: str | None
    open_cases: int | None
    urgent_cases: int | None
    health: int
    why: str
    suggestions: tuple[Suggestion, ...] = ()


@dataclass(slots=True)
class _Tally:
    contacts: int = 0
    open_deals: int | None = 0
    open_amount: Decimal | None = Decimal(0)
    won_revenue: Decimal | None = Decimal(0)
    last_activity: dt.date | None = None
    recent: int = 0
    next_task: Task | None = None
    overdue: int = 0
    cases: Counter = field(default_factory=Counter)  # open cases by priority (None: no priority)
    basket: set = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Health:
    score: int
    why: str


def health(settings: HealthSettings, as_of: dt.date, *, churned: bool, last_activity: dt.date | None,
           recent_activities: int, open_cases: Mapping[str | None, int], overdue_tasks: int) -> Health:
    """An account's health, 0–100, and its reasons (formula and sources: module docstring).
    `recent_activities` are those of the last `settings.frequency_days` days up to `as_of`;
    `open_cases` counts the open cases by priority."""
    if churned:
        return Health(0, _("churned account (Status)"))
    factors: list[tuple[str, float]] = []
    language = current()
    if last_activity is None:
        quiet = _label(language, "quiet", 0)
    else:
        quiet = None
        days = (as_of - last_activity).days
        factors.append((_label(language, "recency", days),
                        settings.recency_points * 0.5 ** (days / settings.half_life_days)))
    if recent_activities:
        share = min(1.0, recent_activities / settings.frequency_target)
        factors.append((_label(language, "frequency", recent_activities, settings.frequency_days),
                        settings.frequency_points * share))
    for priority, points in settings.case_points.items():
        n = open_cases.get(priority, 0)
        if n and points:
            factors.append((_label(language, "cases", n, priority), n * points))
    if overdue_tasks and settings.overdue_task_points:
        factors.append((_label(language, "overdue", overdue_tasks),
                        max(-settings.overdue_cap, overdue_tasks * settings.overdue_task_points)))
    total = settings.base + sum(points for _, points in factors)
    score = int(math.floor(min(100.0, max(0.0, total)) + 0.5))  # half up, as the lead score
    ranked = rank(factors)
    parts = [f"{label} {format_points(points, language)}" for label, points in ranked]
    if quiet:
        parts.insert(0, quiet)
    return Health(score, "; ".join(parts))


_DIGITS = re.compile(r"(\d+)")


def _natural(text: str) -> tuple:
    """"ACC-0010" after "ACC-0009", and "ACC-10" after "ACC-9": digit runs compare as numbers."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in _DIGITS.split(text))


@functools.lru_cache(maxsize=4096)
def _label(language: str, kind: str, n: int, extra: int | str | None = None) -> str:
    """A reason's words, in `language` (a key of the cache: accounts share a few hundred)."""
    with using(language):
        if kind == "quiet":
            return _("no activity yet")
        if kind == "recency":
            return _("last activity today") if n == 0 else ngettext(
                "last activity {n} day ago", "last activity {n} days ago", n)
        if kind == "frequency":
            return ngettext("{n} activity in {days} days", "{n} activities in {days} days", n, days=extra)
        if kind == "cases":
            return ngettext("{n} open {priority} case", "{n} open {priority} cases", n,
                            priority=pgettext(*PRIORITIES[extra]).lower())
        return ngettext("{n} overdue task", "{n} overdue tasks", n)


def overview(accounts: Sequence[Account], as_of: dt.date, stages: StageTable, rates: Rates,
             settings: OverviewSettings, *, contacts: Iterable[Contact] = (),
             opportunities: Iterable[Opportunity] = (), activities: Iterable[Activity] = (),
             tasks: Iterable[Task] = (), cases: Iterable[CaseLike] | None = None,
             quote_lines: Iterable[QuoteLine] = (), products: Iterable[Product] = (),
             amounts_read: bool = True, deals_read: bool = True) -> list[AccountView]:
    """One `AccountView` per account with an ID, in the order of their IDs (a person's sort of
    the Accounts tab moves no row of the overview). `cases` is None when
    the workbook has no Cases tab (the case columns are then empty, not 0); an activity or task
    related to a case counts for the case's account. Records are the read's sound ones, their
    references resolved (validate.py). `amounts_read` False: no deal's amount could be read
    (`validate.amounts_unread`), so Open Amount and Won Revenue are blank, not 0 for every account;
    `deals_read` False: no deal is read at all (`validate.deals_unread`), so Open Deals is blank too."""
    # A reference names an account by ID or by a name no other account has, compared as the
    # read compares it (crm.accounts): "Acme" names neither of "Acme" and "ACME".
    by = Accounts(accounts)
    of = by.one
    start = Decimal(0) if amounts_read else None
    tally: dict[str, _Tally] = {a.id: _Tally(open_deals=0 if deals_read else None, open_amount=start,
                                             won_revenue=start) for a in accounts if a.id}
    contacts, opportunities, cases = list(contacts), list(opportunities), None if cases is None else list(cases)
    # Activities and tasks relate by ID to the account, one of its contacts, deals or cases:
    # the rule a segment's and a workflow's account Last Activity follow too.
    owner_of = by.related(contacts, opportunities, cases or ())
    for c in contacts:
        account = of(c.account)
        if account is not None:
            tally[account].contacts += 1
    # A quote line names its deal by ID or by a name only one deal has (validate.py).
    deal_names = Counter(o.name for o in opportunities)
    deal_of: dict[str, str] = {}
    for o in opportunities:
        account = of(o.account)
        if account is None:
            continue
        t = tally[account]
        kind = stages.kind(o.stage)
        amount = to_base(o.amount, o.currency, rates)
        if amount is None and o.amount is None:
            amount = Decimal(0)  # no Amount yet: a deal that adds nothing; None below is a missing rate
        if kind == "open" and in_pipeline(stages.get(o.stage), forecast_category(stages.get(o.stage),
                                                                                  o.category_override)):
            # An Omitted deal is out of every pipeline figure (crm.stages.in_pipeline); the Pipeline tab names it.
            t.open_deals = (t.open_deals or 0) + 1
            t.open_amount = plus(t.open_amount, amount)
        elif kind == "won":
            t.won_revenue = plus(t.won_revenue, amount)
            if o.id:
                deal_of[o.id] = account
            if deal_names[o.name] == 1:
                deal_of[o.name] = account
    for case in cases or ():
        account = of(case.account)
        # Resolved before Opened is an error at the cell: the case is in no figure (docs/cases.md),
        # and the Dashboard's open cases leave it out; counted here, the account lost 25 health
        # for an urgent case the Dashboard did not count.
        if account is None or resolved_before_opened(case):
            continue
        if case.status not in CLOSED_CASE:
            tally[account].cases[case.priority] += 1
    frequency_from = as_of - dt.timedelta(days=settings.health.frequency_days)
    for a in activities:
        account = owner_of.get(a.related) if a.related else None
        if account is None or is_plan(a.date, as_of):
            continue
        t = tally[account]
        if t.last_activity is None or a.date > t.last_activity:
            t.last_activity = a.date
        if a.date > frequency_from:
            t.recent += 1
    for task in tasks:
        account = owner_of.get(task.related) if task.related else None
        if account is None or not is_open_task(task):
            continue
        t = tally[account]
        if t.next_task is None or task.due < t.next_task.due:
            t.next_task = task
        t.overdue += task.due < as_of
    names = {p.sku: p.name for p in products}
    for line in quote_lines:
        account = deal_of.get(line.opportunity)
        # A line of 0 units (an option the customer declined) or fewer (a blocked quote's typo,
        # docs/quotes.md) is no purchase: counted, its account was never offered the product and
        # the rules it made up were offered to others.
        if account is not None and line.quantity > 0 and (not names or line.sku in names):
            tally[account].basket.add(line.sku)
    offer = settings.suggestions
    baskets = {acc: frozenset(t.basket) for acc, t in tally.items()}
    by_antecedent = index(association_rules(baskets.values(), offer)) if offer.enabled else {}

    out: list[AccountView] = []
    for a in sorted((a for a in accounts if a.id), key=lambda a: _natural(a.id)):
        t = tally[a.id]
        h = health(settings.health, as_of, churned=a.status == CHURNED, last_activity=t.last_activity,
                   recent_activities=t.recent, open_cases=t.cases, overdue_tasks=t.overdue)
        offered = tuple(Suggestion(names.get(r.consequent, r.consequent), r, names.get(r.antecedent, r.antecedent))
                        for r in suggest(baskets[a.id], by_antecedent, offer.max_suggestions))
        task = t.next_task
        out.append(AccountView(
            id=a.id, name=a.name, owner=a.owner, contacts=t.contacts, open_deals=t.open_deals,
            open_amount=t.open_amount, won_revenue=t.won_revenue, last_activity=t.last_activity,
            next_task_due=task.due if task else None, next_task=task.subject if task else None,
            open_cases=None if cases is None else sum(t.cases.values()),
            urgent_cases=None if cases is None else t.cases[URGENT],
            health=h.score, why=h.why, suggestions=offered))
    return out
