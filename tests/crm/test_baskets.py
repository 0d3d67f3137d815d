"""Association rules over baskets: support, confidence and lift against hand-computed values,
the thresholds, and what each basket is offered."""

from __future__ import annotations

from fractions import Fraction

import pytest
from pydantic import ValidationError

from sheetcrm.crm.baskets import BasketSettings, association_rules, index, suggest

# Five customers' baskets. By hand, N = 5; A in 4, B in 3, C in 2, D in 1.
#   A→B: both 3 → support 3/5, confidence 3/4, lift (3/4)/(3/5) = 5/4
#   B→A: support 3/5, confidence 3/3 = 1, lift 1/(4/5) = 5/4
#   A→C: both 2 → support 2/5, confidence 2/4 = 1/2, lift (1/2)/(2/5) = 5/4
#   C→A: confidence 2/2 = 1, lift 5/4
#   B→C: both 1; C→D, A→D, …: both 1
BASKETS = [frozenset("AB"), frozenset("ABC"), frozenset("AB"), frozenset("AC"), frozenset("D")]
LOOSE = BasketSettings(min_support=0, min_confidence=0, min_lift=0, min_baskets=1)


def _rules(settings: BasketSettings = LOOSE, baskets=BASKETS):
    return {(r.antecedent, r.consequent): r for r in association_rules(baskets, settings)}


def test_support_confidence_and_lift_are_the_hand_computed_fractions():
    rules = _rules()
    ab, ba, ac = rules["A", "B"], rules["B", "A"], rules["A", "C"]
    assert (ab.support, ab.confidence, ab.lift) == (Fraction(3, 5), Fraction(3, 4), Fraction(5, 4))
    assert (ba.support, ba.confidence, ba.lift) == (Fraction(3, 5), Fraction(1), Fraction(5, 4))
    assert (ac.support, ac.confidence, ac.lift) == (Fraction(2, 5), Fraction(1, 2), Fraction(5, 4))
    # B and C met once in five baskets: B in 3, C in 2 → lift (1/3)/(2/5) = 5/6 (less than chance).
    assert rules["B", "C"].lift == Fraction(5, 6) and rules["C", "B"].confidence == Fraction(1, 2)
    # D was bought alone: no pair, no rule.
    assert not any("D" in pair for pair in rules)


def test_each_threshold_keeps_only_the_rules_that_reach_it():
    assert set(_rules(BasketSettings(min_support=0, min_confidence=0, min_lift=0, min_baskets=3))) == {
        ("A", "B"), ("B", "A")}
    assert set(_rules(BasketSettings(min_support=0.5, min_confidence=0, min_lift=0, min_baskets=1))) == {
        ("A", "B"), ("B", "A")}
    assert set(_rules(BasketSettings(min_support=0, min_confidence=0.8, min_lift=0, min_baskets=1))) == {
        ("B", "A"), ("C", "A")}
    # lift ≥ 1 drops B↔C (5/6); exactly 5/4 passes at 1.25.
    assert set(_rules(BasketSettings(min_support=0, min_confidence=0, min_lift=1.25, min_baskets=1))) == {
        ("A", "B"), ("B", "A"), ("A", "C"), ("C", "A")}
    assert _rules(BasketSettings(min_support=0, min_confidence=0, min_lift=1.26, min_baskets=1)) == {}


def test_rules_are_ranked_by_lift_then_confidence():
    baskets = [frozenset("AB"), frozenset("AB"), frozenset("AC"), frozenset("AC"), frozenset("AC"), frozenset("C"),
               frozenset("E")]
    # N=7. A→B: conf 2/5, lift (2/5)/(2/7) = 7/5. A→C: conf 3/5, lift (3/5)/(4/7) = 21/20.
    ranked = [(r.antecedent, r.consequent) for r in association_rules(baskets, LOOSE)]
    assert ranked.index(("A", "B")) < ranked.index(("A", "C"))
    # B→A and C→A... B→A: conf 1, lift 7/5, ties A→B on lift and wins on confidence.
    assert ranked.index(("B", "A")) < ranked.index(("A", "B"))


def test_a_basket_is_offered_what_it_lacks_with_the_best_rule_for_each_product():
    by_antecedent = index(association_rules(BASKETS, LOOSE))
    offered = suggest(frozenset("A"), by_antecedent, limit=5)
    # Both A→B and A→C have lift 5/4; A→B has the higher confidence.
    assert [(r.antecedent, r.consequent) for r in offered] == [("A", "B"), ("A", "C")]
    # A basket holding everything its rules imply is offered nothing; the limit holds.
    assert suggest(frozenset("ABC"), by_antecedent, limit=5) == []
    assert len(suggest(frozenset("A"), by_antecedent, limit=1)) == 1
    # For C, a buyer of B and C is offered A by the stronger of B→A and C→A (both conf 1, lift 5/4):
    # the tie falls to the one seen in more baskets (B→A, 3 baskets).
    best = suggest(frozenset("BC"), by_antecedent, limit=5)
    assert [(r.antecedent, r.consequent) for r in best] == [("B", "A")]


def test_the_defaults_and_bad_settings():
    d = BasketSettings()
    assert (d.min_support, d.min_confidence, d.min_lift, d.min_baskets, d.max_suggestions) == (0.05, 0.5, 1.2, 2, 3)
    for bad in ({"min_confidence": 1.5}, {"min_support": -0.1}, {"min_baskets": 0}, {"min_lift": float("nan")},
                {"minimum": 1}):
        with pytest.raises(ValidationError):
            BasketSettings.model_validate(bad)


def test_empty_baskets_do_not_count_in_n():
    rules = _rules(baskets=[*BASKETS, frozenset(), frozenset()])
    assert rules["A", "B"].support == Fraction(3, 5)


def test_a_rule_exactly_at_a_threshold_reaches_it():
    # 40 baskets: A and B together in 2, A alone in 1, C in the other 37. By hand, A→B: support
    # 2/40 = 0.05 exactly (the default min_support), confidence 2/3, lift (2/3)/(2/40) = 40/3.
    # The float 0.05 is a hair above 1/20: compared with it, the rule was dropped and the account
    # holding A alone was offered nothing.
    baskets = [frozenset("AB")] * 2 + [frozenset("A")] + [frozenset("C")] * 37
    rules = _rules(BasketSettings(), baskets)
    assert rules["A", "B"].support == Fraction(1, 20)
    assert [r.consequent for r in suggest(frozenset("A"), index(rules.values()), 3)] == ["B"]
    # The same at min_support = min_confidence = 0.1 (a float a hair above 1/10): 4 of 40 hold A and B.
    tenth = [frozenset("AB")] * 4 + [frozenset("A")] * 36
    assert ("A", "B") in _rules(BasketSettings(min_support=0.1, min_confidence=0.1, min_lift=1), tenth)
