from decimal import Decimal

from sheetcrm.config import Config
from sheetcrm.crm.money import (cents, missing_rate_issues, missing_rates, money_text, points_text,
                                ratio_points, to_base)
from sheetcrm.inputs import rates_from_rows
from sheetcrm.records import Opportunity
from sheetcrm.validate import parse_context

CTX = parse_context(Config())


def opp(row: int, amount: str | None, currency: str | None) -> Opportunity:
    return Opportunity.model_validate({"id": f"OPP-{row}", "name": "Deal", "account": "Acme", "stage": "Proposal",
                                       "amount": amount, "currency": currency}, context=CTX).model_copy(
        update={"row": row})


RATES = rates_from_rows("USD", [("EUR", "1.10"), ("£", 1.25), ("MXN", "0"), ("euros", "2"), ("JPY",),
                                ("CAD", "not a number")])


def test_rates_read_from_rows_skip_unreadable_and_non_positive():
    assert RATES.per_unit == {"EUR": Decimal("1.10"), "GBP": Decimal("1.25")}
    # USD 2 is the base currency's row: ignored, with a warning (test_rates_quotas_tabs), and it
    # says the tab's rates may be per another currency: none converts (as quotes take it).
    with_base = rates_from_rows("USD", [("EUR", "1.10"), ("USD", "2")])
    assert with_base.per_unit == {"EUR": Decimal("1.10")} and with_base.rate("USD") == 1
    assert to_base(Decimal("100"), "EUR", with_base) is None and to_base(Decimal("7"), "USD", with_base) == 7
    assert RATES.rate("EUR") == Decimal("1.10")
    assert RATES.rate("MXN") is None
    assert RATES.rate("CAD") is None


def test_base_currency_is_worth_one_whatever_the_tab_says():
    assert RATES.rate("USD") == 1
    assert RATES.rate(None) == 1


def test_rates_follow_the_locale():
    assert rates_from_rows("EUR", [("USD", "0,92")], locale="es").rate("USD") == Decimal("0.92")


def test_to_base_converts_with_the_rate():
    assert to_base(Decimal("100"), "EUR", RATES) == Decimal("110.00")
    assert to_base(Decimal("10.50"), "GBP", RATES) == Decimal("13.13")  # money in USD: to the cent, half up
    assert to_base(Decimal("7"), None, RATES) == Decimal("7")
    assert to_base(Decimal("7"), "USD", RATES) == Decimal("7")


def test_to_base_without_amount_or_rate_is_none():
    assert to_base(None, "EUR", RATES) is None
    assert to_base(Decimal("100"), "CHF", RATES) is None


def test_missing_rates_lists_only_amounts_that_cannot_be_converted():
    opps = [opp(2, "100", "EUR"), opp(3, "250", "CHF"), opp(4, None, "CHF"), opp(5, "9", None)]
    found = missing_rates(opps, RATES)
    assert [(m.opportunity.row, m.currency) for m in found] == [(3, "CHF")]


def test_missing_rate_issue_is_a_warning_on_the_row():
    [issue] = missing_rate_issues([opp(7, "250", "CHF"), opp(8, "1", "EUR")], RATES)
    assert (issue.severity, issue.code, issue.tab, issue.row, issue.column, issue.value) == (
        "warning", "missing_rate", "Opportunities", 7, None, "CHF")
    assert "250 CHF" in issue.message and "USD" in issue.message
    assert "Rates" in issue.hint


def test_cents_round_half_up():
    assert cents(Decimal("2.345")) == Decimal("2.35")
    assert cents(Decimal("2.344")) == Decimal("2.34")
    assert cents(Decimal("-2.345")) == Decimal("-2.35")
    assert money_text(Decimal("1234.5")) == "1234.50"
    assert money_text(Decimal("166.665")) == "166.67"
    assert money_text(None) is None


def test_ratio_points_and_their_text():
    assert ratio_points(2, 3) is not None and points_text(ratio_points(2, 3)) == "66.7"
    assert points_text(ratio_points(1, 8)) == "12.5"
    assert points_text(ratio_points(3, 16)) == "18.8"
    assert ratio_points(1, 0) is None
    assert points_text(None) is None
