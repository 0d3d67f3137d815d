"""What to offer next: pairwise association rules over what customers bought.

A *basket* is the set of products one account has bought (the SKUs of the quote lines of
its won deals). Over N baskets, for two products A and B (Agrawal, Imieliński & Swami, "Mining
association rules between sets of items in large databases", SIGMOD 1993; lift: Brin et al.,
"Dynamic itemset counting and implication rules for market basket data", SIGMOD 1997):

    support(A → B)    = baskets with A and B ÷ N
    confidence(A → B) = baskets with A and B ÷ baskets with A      (how often a buyer of A buys B)
    lift(A → B)       = confidence(A → B) ÷ (baskets with B ÷ N)   (> 1: A makes B likelier)

A rule is kept when it reaches every threshold of `BasketSettings` (support, confidence, lift,
and a least number of baskets, so that one customer's order is not a "rule"). An account is
offered the products its own basket implies and it has not bought, best rule first: by lift,
then confidence, then support.

Only one-to-one rules (A → B) are counted: a team's catalogue is tens of products and a basket
a handful, so counting every pair is O(Σ basket²), exact and fast at 50k deals; the rules read
as a sentence ("5 of 8 buyers of A also bought B"). Longer antecedents (Apriori's {A, B} → C)
would need far more baskets than a sales team has to reach any support. mlxtend has Apriori
and these measures, but pulls pandas into a pure core that has no use for it.

Few customers: a rule needs `min_baskets` accounts holding both products (2 by default: one
customer's order is no pattern), and no more than the thresholds. A significance test (Fisher's
exact test, as Webb recommends in "Discovering significant patterns", Machine Learning 68, 2007)
would reject every rule of the demo (one-sided p of 0.11 and 0.14 over its 7 customers) and
most of a small team's, and a product offered on a weak hint costs a salesperson little. What must not happen is two orders dressed up as a
finding: a share and a lift of small counts read as strong ("67% ..., 2.3× as often") when they
are 2 of 3 buyers. So a rule is said by its counts, numerator and denominator ("2 of 3 buyers of
A also bought B (of all customers, 2 of 7)": `overview.Suggestion.why`), as a percentage of few
cases is reported in statistics (Lang & Secic, "How to Report Statistics in Medicine", 2nd ed.,
2006: give the numerator and denominator of every percentage); the ranking alone uses the shares.

Values are exact fractions (`fractions.Fraction`), so ranks never depend on float rounding
and tests compare with hand-computed values exactly.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Mapping, Sequence

from pydantic import Field

from sheetcrm.settings import Section


class BasketSettings(Section):
    """[overview.suggestions]: the least a rule must show to be offered (defaults in docs/overview.md)."""

    enabled: bool = True
    # Share of all baskets holding both products.
    min_support: float = Field(default=0.05, ge=0, le=1, allow_inf_nan=False)
    # Share of the antecedent's buyers who also bought the consequent.
    min_confidence: float = Field(default=0.5, ge=0, le=1, allow_inf_nan=False)
    # How much likelier the antecedent makes the consequent than its overall share (1: no more).
    min_lift: float = Field(default=1.2, ge=0, allow_inf_nan=False)
    # Baskets holding both products: below this a "rule" is one or two customers' orders.
    min_baskets: int = Field(default=2, ge=1)
    # Products offered per account, best first.
    max_suggestions: int = Field(default=3, ge=0, le=20)


@dataclass(frozen=True)
class Rule:
    """A → B over `baskets` baskets: `both` hold A and B, `with_antecedent` hold A,
    `with_consequent` hold B."""

    antecedent: str
    consequent: str
    both: int
    with_antecedent: int
    with_consequent: int
    baskets: int

    @property
    def support(self) -> Fraction:
        return Fraction(self.both, self.baskets)

    @property
    def confidence(self) -> Fraction:
        return Fraction(self.both, self.with_antecedent)

    @property
    def lift(self) -> Fraction:
        return Fraction(self.both * self.baskets, self.with_antecedent * self.with_consequent)

    def rank(self) -> tuple:
        """Sort key, best first: lift, confidence, support, then names (a stable order)."""
        return (-self.lift, -self.confidence, -self.both, self.consequent, self.antecedent)


def association_rules(baskets: Iterable[frozenset[str]], settings: BasketSettings) -> list[Rule]:
    """Every rule A → B (A ≠ B) over `baskets` (sets of product keys; empty ones ignored) that
    reaches the thresholds of `settings`, best first (`Rule.rank`)."""
    items: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    n = 0
    for basket in baskets:
        if not basket:
            continue
        n += 1
        ordered = sorted(basket)
        items.update(ordered)
        pairs.update(itertools.combinations(ordered, 2))
    # The thresholds as the decimals written in the config: the float 0.05 is a hair above 1/20,
    # so a rule held by exactly 2 of 40 baskets failed the default support it reaches.
    support, confidence, lift = (_exact(v) for v in (settings.min_support, settings.min_confidence,
                                                       settings.min_lift))
    found: list[Rule] = []
    for (a, b), both in pairs.items():
        if both < settings.min_baskets:
            continue
        for x, y in ((a, b), (b, a)):
            rule = Rule(x, y, both, items[x], items[y], n)
            if rule.support >= support and rule.confidence >= confidence and rule.lift >= lift:
                found.append(rule)
    return sorted(found, key=Rule.rank)


def _exact(threshold: float) -> Fraction:
    """A threshold as the decimal it was written as (0.05 -> 1/20), not the binary float near it."""
    return Fraction(repr(threshold))


def suggest(basket: frozenset[str], by_antecedent: Mapping[str, Sequence[Rule]], limit: int) -> list[Rule]:
    """The products `basket` implies and does not hold, each with the best rule that implies
    it, best first, at most `limit`. `by_antecedent` is `index(association_rules(...))`."""
    best: dict[str, Rule] = {}
    for item in basket:
        for rule in by_antecedent.get(item, ()):
            if rule.consequent in basket:
                continue
            held = best.get(rule.consequent)
            if held is None or rule.rank() < held.rank():
                best[rule.consequent] = rule
    return sorted(best.values(), key=Rule.rank)[:limit]


def index(rules: Iterable[Rule]) -> dict[str, list[Rule]]:
    """Rules by antecedent."""
    out: dict[str, list[Rule]] = {}
    for rule in rules:
        out.setdefault(rule.antecedent, []).append(rule)
    return out
