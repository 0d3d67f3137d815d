"""Amounts in the base currency, and the amounts that cannot be put there.

A summary in the base currency must never add euros to dollars, nor quietly drop the
euros: a total one of whose amounts has no rate is no total (`plus` makes it None, a blank
cell), the amount's row gets a `missing_rate` warning, and the summary says once which
currency left how many deals out (`left_out_said`). A total short of a deal it could not
convert would read as the truth: an account whose only won deal is in francs would show
"0.00 won".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Iterable, Mapping, Sequence

from sheetcrm.cells import currency_decimals, show_number
from sheetcrm.i18n import N_, _, current, ngettext
from sheetcrm.names import CRM_TABS, tab_title
from sheetcrm.records import Opportunity
from sheetcrm.report import Issue

CENT = Decimal("0.01")
# Warnings at a Rates row that say how a cell was taken, not that its rate may be another
# ("$" read as the base currency): as `mail.quotes.NO_DOUBT`.
NOT_DOUBTS = frozenset({"symbol_base"})
# Rounding to the cent needs every digit of the result: Decimal's default 28 would raise
# InvalidOperation on sums of large (each valid, below 10^15) amounts times rates.
WIDE = Context(prec=80)
_TENTH = Decimal("0.1")
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


@dataclass(frozen=True)
class Rates:
    """How many base-currency units one unit of each currency is worth (the Rates tab, as
    `inputs.rates_from_rows` reads it)."""

    base: str
    per_unit: Mapping[str, Decimal] = field(default_factory=dict)
    # Currency -> the warnings at its row's cells (a rate "1,170" read as 1170; could be 1.17):
    # a quote converted through that rate is not sure (`quotes.price_quote`).
    doubts: Mapping[str, tuple[Issue, ...]] = field(default_factory=dict)
    # The Rates tab's title as the workbook has it ("Rates" in a Spanish team's book); None
    # without one (then named in the current language): a message names the tab people see.
    title: str | None = None

    def rate(self, currency: str | None) -> Decimal | None:
        # The base currency is worth exactly itself, whatever the tab says.
        if currency is None or currency == self.base:
            return Decimal(1)
        return self.per_unit.get(currency)

    def doubt(self, currency: str | None) -> Issue | None:
        """The warning that the Rates tab's rate for `currency` may mean something else ("1,170"
        read as 1170; could be 1.17), if any: such a rate converts nothing (`to_base`). The base's
        own row too (a rate other than 1 for it, ignored, says the tab's rates may be per another
        currency: `inputs._rates`): each rate is "per base", so every conversion is in doubt, as
        `quotes.price_quote` takes it."""
        if currency is None or currency == self.base:
            return None
        return next((i for code in (currency, self.base) for i in self.doubts.get(code, ())
                     if i.code not in NOT_DOUBTS), None)


def rates_tab(rates: Rates) -> str:
    """The Rates tab's name for a message: its title as the workbook has it, else the current
    language's (the tab the person is told to add)."""
    return rates.title or tab_title("rates", current())


def to_base(amount: Decimal | None, currency: str | None, rates: Rates) -> Decimal | None:
    """`amount` in the base currency; None when there is no amount or no rate for `currency`, or
    its rate may mean something else (`Rates.doubt`): 1,000 CHF through "1,170" read as 1170 put
    $1,170,000 in a forecast, with the doubt said only at the Rates cell.

    A blank currency means the base currency: that is how a single-currency team fills the sheet.

    A converted amount is money in the base currency, held to its smallest unit (`minor`, half
    up) as every cell shows it: 1000.55 EUR at 1.0837 is 1084.30 USD, not 1084.296035. Kept
    unrounded, two such deals shown as 1084.30 each summed to 2168.59, and a team total fell a
    cent short of the owners' rows beside it. An amount already in the base currency is the
    person's, kept as typed.
    """
    if amount is None or rates.doubt(currency) is not None:
        return None
    if currency is None or currency == rates.base:
        return amount
    rate = rates.rate(currency)
    return None if rate is None else minor(amount * rate, rates.base)


def weighted(amount: Decimal | None, probability: Decimal | None, base: str) -> Decimal | None:
    """A deal's base-currency `amount` × its `probability` (points; None counts 0), held to the
    base currency's smallest unit as `to_base` holds an amount: each deal's weighted amount is
    the money every weighted total adds up, so a stage's, an owner's and the team's totals
    agree with each other and with the deals' rows. None when the amount is None (no rate)."""
    if amount is None:
        return None
    return minor(amount * probability / _HUNDRED, base) if probability is not None else _ZERO


def plus(total: Decimal | None, amount: Decimal | None) -> Decimal | None:
    """`total` + `amount`, None once either is None: pass None for an amount that has no rate,
    and the sum is unknown rather than short of it."""
    return None if total is None or amount is None else total + amount


_ADD_RATE_OR_BASE = N_("Add {currency} to the {rates} tab with how many {base} one {currency} is worth; or, if "
                       "the workbook's amounts are in {currency}, set currency = \"{currency}\" in sheetcrm.toml "
                       "({base} is the base currency while the file sets none).")


@dataclass(frozen=True)
class MissingRate:
    """An opportunity whose amount cannot be put in the base currency; `doubt`: the warning at
    its currency's Rates row when there is a rate but it may mean something else, or at the base
    currency's own row (`at_base`: then that row is what to correct, its warning's hint says how)."""

    opportunity: Opportunity
    currency: str
    doubt: Issue | None = None
    rates_tab: str | None = None  # Rates.title
    at_base: bool = False

    @classmethod
    def of(cls, opportunity: Opportunity, rates: Rates) -> "MissingRate":
        doubt = rates.doubt(opportunity.currency)
        return cls(opportunity, opportunity.currency or rates.base, doubt, rates.title,
                   doubt is not None and doubt in rates.doubts.get(rates.base, ()))

    def issue(self, base: str, tab: str = CRM_TABS["opportunities"], column: str | None = None,
              header: str | None = None, base_unset: bool = False) -> Issue:
        """The warning at the deal's Amount cell (`column`, a letter, and its `header` when known),
        the amount written the way the current language writes numbers (1.234,56 under es).
        `base_unset`: the config file sets no `currency`, so the base is the default, and the
        hint offers setting it too: a team whose amounts are all in euros, told only to add a
        rate, got its totals in dollars."""
        o = self.opportunity
        rates = self.rates_tab or tab_title("rates", current())
        if self.doubt is not None:
            return Issue(
                "warning", tab, o.row, column, header, self.currency, "missing_rate",
                _("The rate for {currency} on the {rates} tab may mean something else ({doubt}): {amount} "
                  "{currency} is not put in {base}, so every total in {base} that would count it is left blank.",
                  currency=self.currency, rates=rates, doubt=self.doubt.message.rstrip("."),
                  amount=show_number(o.amount), base=base),  # type: ignore[arg-type]
                self.doubt.hint if self.at_base else
                _("Write the rate for {currency} on the {rates} tab so that it reads one way.",
                  currency=self.currency, rates=rates))
        hint = (_(_ADD_RATE_OR_BASE, currency=self.currency, rates=rates, base=base) if base_unset
                else _("Add {currency} to the {rates} tab with how many {base} one {currency} is worth.",
                       currency=self.currency, rates=rates, base=base))
        return Issue(
            "warning", tab, o.row, column, header, self.currency, "missing_rate",
            _("No exchange rate for {currency}: {amount} {currency} cannot be put in {base}, so every total in "
              "{base} that would count it is left blank.",
              currency=self.currency, amount=show_number(o.amount), base=base),  # type: ignore[arg-type]
            hint)


def money_said(amount: Decimal, currency: str) -> str:
    """`amount` in `currency` as the reader writes money, to the currency's minor unit, rounded
    half up as the summary tabs are (`minor`; babel's own rounding is half-even)."""
    from babel.numbers import format_currency

    rounded = minor(amount, currency)
    # A loss that rounds away is no loss: -0.004 is "0.00", not "-0.00" (babel keeps the sign).
    return format_currency(abs(rounded) if rounded == 0 else rounded, currency, locale=current())


def left_out_said(missing: Sequence[MissingRate], base: str) -> list[tuple[str, str]]:
    """(currency, what it says) for each currency of `missing`, in the order first met: how many
    deals it leaves out and that the figures counting them are blank, for the one place a
    summary says it (the Dashboard, the Forecast tab, the `kpis` and `forecast` commands)."""
    counts = Counter((m.currency, m.doubt is not None) for m in missing)
    rates = next((m.rates_tab for m in missing if m.rates_tab), None) or tab_title("rates", current())
    return [(currency, ngettext(
        "The rate for {currency} on the {rates} tab may mean something else: {n} deal in {currency} is not put "
        "in {base}, so the figures that would count it are blank.",
        "The rate for {currency} on the {rates} tab may mean something else: {n} deals in {currency} are not put "
        "in {base}, so the figures that would count them are blank.", n, currency=currency, rates=rates, base=base)
        if doubted else ngettext(
        "No exchange rate for {currency} on the {rates} tab: {n} deal in {currency} cannot be put in {base}, so "
        "the figures that would count it are blank.",
        "No exchange rate for {currency} on the {rates} tab: {n} deals in {currency} cannot be put in {base}, so "
        "the figures that would count them are blank.", n, currency=currency, rates=rates, base=base))
        for (currency, doubted), n in counts.items()]


def missing_rates(opportunities: Iterable[Opportunity], rates: Rates) -> list[MissingRate]:
    """The opportunities with an amount that `to_base` cannot convert, in input order."""
    return [MissingRate.of(o, rates) for o in opportunities
            if o.amount is not None and to_base(o.amount, o.currency, rates) is None]


def missing_rate_issues(opportunities: Iterable[Opportunity], rates: Rates,
                        tab: str = CRM_TABS["opportunities"], column: str | None = None,
                        header: str | None = None, base_unset: bool = False) -> list[Issue]:
    """`MissingRate.issue` of each deal `missing_rates` finds; `column`, `header`: the Amount
    cell's; `base_unset`: the config file sets no base currency."""
    return [m.issue(rates.base, tab, column, header, base_unset) for m in missing_rates(opportunities, rates)]


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP, context=WIDE)


def minor(amount: Decimal, currency: str | None) -> Decimal:
    """`amount` rounded half up to `currency`'s smallest unit (`cells.currency_decimals`: the
    cent of USD, the fils of KWD, the yen): 500.0025 KWD -> 500.003, 1234.5 JPY -> 1235. What
    summary cells hold, so a currency format with the currency's decimals shows every digit."""
    return amount.quantize(_unit(currency), rounding=ROUND_HALF_UP, context=WIDE)


@lru_cache(maxsize=64)
def _unit(currency: str | None) -> Decimal:
    return Decimal(1).scaleb(-currency_decimals(currency))


def money_text(amount: Decimal | None) -> str | None:
    """Money as JSON shows it: "1234.50", never a float."""
    return None if amount is None else str(cents(amount))


def decimal_text(amount: Decimal | None) -> str | None:
    """An exact amount as JSON shows it to programs: every digit the Decimal holds, in plain
    notation ("3400.75", "166.665", "1000"), never a float, never an exponent."""
    return None if amount is None else format(amount, "f")


def fraction(part: Decimal | int, whole: Decimal | int) -> float | None:
    """`part` ÷ `whole` as an unrounded fraction (0.6315… for 63.15 %), None when `whole` is 0:
    the unit of every ratio in JSON output. Computed from the two numbers, never from a
    rounded percentage, so it is within float precision of the true ratio."""
    if not whole:
        return None
    return float(Decimal(part) / Decimal(whole))


def points_fraction(points: Decimal | None) -> float | None:
    """Percentage points (unrounded, as `ratio_points` gives them) as a fraction: 62.5 -> 0.625."""
    return None if points is None else float(points / _HUNDRED)


def ratio_points(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """`part` ÷ `whole` in percentage points (0–100, the unit of every percent in sheetcrm)."""
    if not whole:
        return None
    return Decimal(part) * _HUNDRED / Decimal(whole)


def points_text(points: Decimal | None) -> str | None:
    """Percentage points as JSON shows them: "66.7", to a tenth of a point."""
    return None if points is None else str(points.quantize(_TENTH, rounding=ROUND_HALF_UP))
