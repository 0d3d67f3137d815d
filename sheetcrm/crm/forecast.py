"""The sales forecast: month by month, per owner and in total, in the base currency.

Month by month, by close date, over `months` months starting with as_of's month:

- pipeline: open deals' amounts (a deal in the Omitted category, by its stage or its Category
  Override, is left out, as on any forecast and every pipeline figure: `stages.in_pipeline`)
- weighted: open deals' amount × probability
- commit: open deals in the Commit category + deals won in the month
- best_case: open Best Case + open Commit + deals won in the month (cumulative, as Salesforce does)
- closed_won: deals won in the month
- quota, attainment: the Quotas tab's figure, and closed_won ÷ quota in points; the team's
  is over the owners with a quota for the month, the others' won apart (`won_without_quota`)

An open deal whose close date has passed (before as_of's month) is still open business: it
counts in the first month, as overdue, rather than vanishing. A deal with no close date
cannot be placed in a month: an open one (not Omitted) is left out of every month, a won one's
revenue is in no month though the Dashboard's won revenue counts it; both are listed in
`undated`, for the sync to say so (steps/compute.py) rather than let the totals be short
silently. A deal the window would count but whose currency has no exchange rate leaves every
figure of its month it would be in None (blank, for its owner and the team: never a sum short
of it) and is listed in `missing_rates` (a lost deal, or one outside the window, is in no
figure here with or without a rate, so it is not said to be left out).

Owners are grouped as people read them (`crm.spellings`): "Ana García" and "ana  garcía" are one
owner, shown under the spelling the cells use most, and a Quotas row is the quota of the deal
owner its Owner names in any such spelling.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from sheetcrm.crm.history import StageWinRate
from sheetcrm.crm.money import (MissingRate, Rates, money_said, decimal_text, fraction, plus, points_fraction,
                                ratio_points, to_base, weighted as weighted_amount)
from sheetcrm.crm.spellings import Spellings
from sheetcrm.crm.stages import OpportunityMetrics, StageTable
from sheetcrm.i18n import N_, _, month_said, ngettext
from sheetcrm.records import Opportunity

# The key a deal (activity, task) with no Owner is counted under in every by-owner mapping, and
# in their JSON: no person's name is empty, so a script can tell it from a person whatever the
# team's language (a translated "(sin propietario)" could be typed as a name). People read it
# as NO_OWNER in the sync's language (`owner_label`).
NO_OWNER_KEY = ""
NO_OWNER = N_("(no owner)")


def overdue_said(n: int) -> str:
    """What the `forecast` command and the Forecast tab say of the `n` (> 0) open deals whose
    Close Date is before the first month, counted in it (`Forecast.overdue`)."""
    return ngettext("{n} open deal with a past close date is counted in the first month",
                    "{n} open deals with a past close date are counted in the first month", n)


def without_quota_said(m: "MonthForecast", currency: str) -> str | None:
    """What the `forecast` command and the Forecast tab say of a team's month whose Closed won
    holds wins of owners with no quota for it (`MonthForecast.owners_without_quota`): its
    attainment is not Closed won ÷ Quota, and a reader dividing the two would be misled."""
    if not m.owners_without_quota:
        return None
    owners = [owner_label(o) for o in m.owners_without_quota]
    if m.won_without_quota is None:  # a deal of theirs has no rate: no amount to name (said with the rates)
        return ngettext("Team attainment for {month} is over the owners with a quota: what {owners} won with no "
                        "quota for the month is in Closed won, not in attainment.",
                        "Team attainment for {month} is over the owners with a quota: what {owners} won with no "
                        "quota for the month is in Closed won, not in attainment.", len(owners),
                        month=month_said(m.month), owners=", ".join(owners))
    return ngettext("Team attainment for {month} is over the owners with a quota: {owners} won {amount} with no "
                    "quota for the month, in Closed won but not in attainment.",
                    "Team attainment for {month} is over the owners with a quota: {owners} won {amount} with no "
                    "quota for the month, in Closed won but not in attainment.", len(owners),
                    month=month_said(m.month), owners=", ".join(owners),
                    amount=money_said(m.won_without_quota, currency))


def zero_quota_said(f: "Forecast") -> str | None:
    """What the `forecast` command and the Forecast tab say when a row's Quota is 0: its
    Attainment is blank, which beside a quota read alone would look like a quota not read."""
    rows = [*f.months, *(m for months in f.by_owner.values() for m in months)]
    if not any(m.quota == 0 for m in rows):
        return None
    return _("Attainment is blank where the quota is 0: no share of a quota of 0 can be shown.")


def owner_label(key: str) -> str:
    """A by-owner key as people read it: the owner's name, or "(no owner)" in the current language."""
    return key if key != NO_OWNER_KEY else _(NO_OWNER)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Quota:
    owner: str
    month: str          # "YYYY-MM"
    amount: Decimal     # base currency; the Quotas tab's rows, as `inputs.quotas_from_rows` reads them


@dataclass(frozen=True)
class UnreadQuota:
    """An owner's quota the Quotas tab gives but sheetcrm cannot use (a Month or Quota cell it
    cannot read, two rows for one month), as `inputs.quotas_from_rows` reports it. `month`
    ("YYYY-MM"): None when the Month cell cannot be read, so the quota may be any month's. The
    owner's quota, and the team's (the sum of its owners'), in that month are then unknown."""

    owner: str
    month: str | None


def quota_unknown(unread: Iterable[UnreadQuota], month: str) -> bool:
    """Whether any of `unread` may be a quota of `month`."""
    return any(u.month is None or u.month == month for u in unread)


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class MonthForecast:
    month: str
    # None: a deal the figure would count has no exchange rate (`Forecast.missing_rates`).
    pipeline: Decimal | None = _ZERO
    weighted: Decimal | None = _ZERO
    commit: Decimal | None = _ZERO
    best_case: Decimal | None = _ZERO
    closed_won: Decimal | None = _ZERO
    quota: Decimal | None = None
    attainment: Decimal | None = None   # points: 62.5 means 62.5 % of quota
    # A quota of this month's that cannot be read (UnreadQuota): quota and attainment are None,
    # never a sum short of it.
    quota_unread: bool = False
    # The team's month: what its owners with no quota for the month won (None: a deal of it has
    # no rate), and those owners (as shown; NO_OWNER_KEY for the deals with no Owner). Attainment
    # is the won of the owners with a quota ÷ their quota: a rep's wins with no quota set are in
    # no quota, and added to the others' they overstated the team (100 % where 30 % was won).
    won_without_quota: Decimal | None = _ZERO
    owners_without_quota: tuple[str, ...] = ()
    # Closed won of the owners whose quota `quota` is: what attainment divides (an owner's row:
    # closed_won). Summed apart, so a rate missing for a deal of an owner with no quota blanks
    # Closed won but not the attainment it is no part of.
    won_against_quota: Decimal | None = _ZERO

    def to_json(self) -> dict[str, Any]:
        """Money as exact decimal strings; attainment closed_won ÷ quota as an unrounded fraction."""
        return {"month": self.month, "pipeline": decimal_text(self.pipeline),
                "weighted": decimal_text(self.weighted), "commit": decimal_text(self.commit),
                "best_case": decimal_text(self.best_case), "closed_won": decimal_text(self.closed_won),
                "quota": decimal_text(self.quota),
                "attainment": fraction(self.won_against_quota, self.quota)
                if self.quota and self.won_against_quota is not None else None,
                "quota_unread": self.quota_unread,
                "won_without_quota": decimal_text(self.won_without_quota),
                "owners_without_quota": list(self.owners_without_quota)}


@dataclass(frozen=True)
class Undated:
    """A deal with an amount that the forecast places in no month: its Close Date is empty.
    `category`: an open deal's forecast category (the canonical key); None for a won deal."""

    opportunity: Opportunity
    category: str | None

    @property
    def won(self) -> bool:
        return self.category is None


@dataclass(frozen=True)
class Forecast:
    months: tuple[MonthForecast, ...]
    by_owner: Mapping[str, tuple[MonthForecast, ...]]
    stage_calibration: tuple[StageWinRate, ...] = ()
    # The deals a month would count (open in the pipeline, or won) whose currency has no rate.
    missing_rates: tuple[MissingRate, ...] = ()
    overdue: int = 0        # open deals dated before the first month, counted in it
    undated: tuple[Undated, ...] = ()  # deals with no close date, in no month (in input order)

    @property
    def undated_open(self) -> int:
        return sum(not u.won for u in self.undated)

    @property
    def undated_won(self) -> int:
        return sum(u.won for u in self.undated)

    def to_json(self) -> dict[str, Any]:
        """For programs (the README's "JSON output"): money in the base currency as exact decimal
        strings, ratios (attainment, a stage's configured probability and historical win rate)
        as unrounded fractions, counts as ints; null when undefined."""
        return {
            "months": [m.to_json() for m in self.months],
            "by_owner": {owner: [m.to_json() for m in months] for owner, months in self.by_owner.items()},
            "stage_calibration": [{"stage": c.stage, "configured": points_fraction(c.configured),
                                   "historical": fraction(c.won, c.n), "n": c.n}
                                  for c in self.stage_calibration],
            "undated_open": self.undated_open,
            "undated_won": self.undated_won,
            "overdue": self.overdue,
            "missing_rates": len(self.missing_rates),
        }


@dataclass
class _Sums:
    pipeline: Decimal | None = _ZERO
    weighted: Decimal | None = _ZERO
    commit: Decimal | None = _ZERO
    best_case: Decimal | None = _ZERO
    closed_won: Decimal | None = _ZERO


def month_keys(as_of: dt.date, months: int) -> list[str]:
    keys = []
    year, month = as_of.year, as_of.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return keys


def forecast(opportunities: Sequence[Opportunity], metrics: Sequence[OpportunityMetrics], stages: StageTable,
             rates: Rates, as_of: dt.date, *, quotas: Iterable[Quota] = (),
             calibration: Iterable[StageWinRate] = (), months: int = 6,
             owners: Spellings | None = None, unread_quotas: Iterable[UnreadQuota] = (),
             amounts_read: bool = True) -> Forecast:
    """The forecast for `months` months from as_of's month; `metrics` align with `opportunities`.

    `calibration` is `history.stage_win_rates(...)`, passed through for the report. `owners`:
    how each owner is shown (by default the spellings of the deals' then the quotas' Owner cells).
    `unread_quotas`: the quotas the Quotas tab gives but cannot be read; a month one of them may
    be in has no quota nor attainment for its owner nor the team (`MonthForecast.quota_unread`).
    `amounts_read` False: no deal's amount could be read (`validate.amounts_unread`): every
    month's money is None, a blank, not a 0 that reads as "nothing in the pipeline".
    """
    quotas, unread_quotas = list(quotas), list(unread_quotas)
    if owners is None:
        owners = Spellings([*(o.owner for o in opportunities), *(q.owner for q in quotas),
                            *(u.owner for u in unread_quotas)])
    keys = month_keys(as_of, months)
    first, window = keys[0], set(keys)
    empty = _Sums if amounts_read else (lambda: _Sums(None, None, None, None, None))
    total: dict[str, _Sums] = defaultdict(empty)
    by_person: dict[str, dict[str, _Sums]] = defaultdict(lambda: defaultdict(empty))
    overdue = 0
    undated: list[Undated] = []
    unconverted: list[MissingRate] = []

    for o, m in zip(opportunities, metrics, strict=True):
        kind = stages.kind(o.stage)
        if kind not in ("open", "won") or o.amount is None:
            continue
        category = m.forecast_category if kind == "open" else None
        if category == "Omitted":  # out of every pipeline figure, dated or not
            continue
        if o.close_date is None:
            undated.append(Undated(o, category))
            continue
        month = month_key(o.close_date)
        slipped = kind == "open" and month < first
        if slipped:
            month = first
        if month not in window:
            continue
        amount = to_base(o.amount, o.currency, rates)
        if amount is None:  # no rate: the figures it is in become unknown (None), never short of it
            unconverted.append(MissingRate.of(o, rates))
        # Counted once it is in the first month's figures: "counted in the first month" is said
        # of this count, so an Omitted deal, in no month, is not in it.
        overdue += slipped
        sums = (total[month], by_person[owners(o.owner) if o.owner else NO_OWNER_KEY][month])
        if kind == "won":
            for s in sums:
                s.closed_won = plus(s.closed_won, amount)
                s.commit = plus(s.commit, amount)
                s.best_case = plus(s.best_case, amount)
            continue
        weighted = weighted_amount(amount, m.probability, rates.base)
        for s in sums:
            s.pipeline = plus(s.pipeline, amount)
            s.weighted = plus(s.weighted, weighted)
            if category == "Commit":
                s.commit = plus(s.commit, amount)
            if category in ("Commit", "Best Case"):  # not for people: canonical category keys
                s.best_case = plus(s.best_case, amount)

    quota_by_owner: dict[str, dict[str, Decimal]] = defaultdict(dict)
    quota_total: dict[str, Decimal] = {}
    for q in quotas:
        if q.month in window:
            owner = owners(q.owner)
            quota_by_owner[owner][q.month] = quota_by_owner[owner].get(q.month, _ZERO) + q.amount
            quota_total[q.month] = quota_total.get(q.month, _ZERO) + q.amount

    unread_by_owner: dict[str, list[UnreadQuota]] = defaultdict(list)
    for u in unread_quotas:
        unread_by_owner[owners(u.owner)].append(u)

    def row(month: str, s: _Sums, quota: Decimal | None, unread: list[UnreadQuota],
            team: bool = False) -> MonthForecast:
        if quota_unknown(unread, month):  # a sum short of a quota is no quota: no attainment, never a wrong one
            return MonthForecast(month, s.pipeline, s.weighted, s.commit, s.best_case, s.closed_won, quota_unread=True,
                                 won_against_quota=None)
        won, apart, without = s.closed_won, _ZERO, {}
        if team and quota is not None:
            won = _ZERO if amounts_read else None
            for owner, sums in sorted(by_person.items()):
                got = sums[month].closed_won if month in sums else _ZERO
                if month in quota_by_owner.get(owner, {}):
                    won = plus(won, got)
                elif got != 0:
                    without[owner] = got
                    apart = plus(apart, got)
        return MonthForecast(month, s.pipeline, s.weighted, s.commit, s.best_case, s.closed_won, quota,
                             ratio_points(won, quota) if quota and won is not None else None,
                             won_without_quota=apart, owners_without_quota=tuple(without), won_against_quota=won)

    by_owner = {owner: tuple(row(k, by_person[owner].get(k, empty()), quota_by_owner.get(owner, {}).get(k),
                                 unread_by_owner.get(owner, []))
                             for k in keys)
                for owner in sorted(set(by_person) | set(quota_by_owner) | set(unread_by_owner))}
    return Forecast(
        months=tuple(row(k, total.get(k, empty()), quota_total.get(k), unread_quotas, team=True) for k in keys),
        by_owner=by_owner,
        stage_calibration=tuple(calibration),
        missing_rates=tuple(unconverted),
        overdue=overdue,
        undated=tuple(undated),
    )
