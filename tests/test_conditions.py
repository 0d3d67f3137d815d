"""Workflow conditions (sheetcrm/crm/conditions.py): the grammar in English and Spanish, the
scoring rules' semantics, literals read by the locale, and errors that say what, how and where."""

from __future__ import annotations

import datetime as dt
import itertools
import pickle
from decimal import Decimal
from typing import Any

import pytest

from sheetcrm.crm.conditions import RELATIONS, Condition, ConditionError, parse_condition
from sheetcrm.crm.rules import CompiledRule, Rule
from sheetcrm.i18n import using

D = dt.date


def holds(text: str, cells: dict[Any, Any], locale: str = "en") -> bool:
    """Whether `text` holds for a record whose cells are {column: value} or {(relation, column): value}."""
    table = {k if isinstance(k, tuple) else (None, k): v for k, v in cells.items()}
    condition = parse_condition(text, locale)
    assert condition.columns() <= set(table), (condition.columns(), table)
    return condition.test(lambda relation, column: table[(relation, column)])


def error(text: str, locale: str = "en") -> ConditionError:
    with pytest.raises(ConditionError) as caught:
        parse_condition(text, locale)
    return caught.value


DEAL = {"Stage": "Proposal", "Amount": Decimal("6000"), "Close Date": D(2026, 3, 15), "Owner": "Ana",
        "Notes": "Called, asked for the Pro plan", "Active": True, "Region": None}


# --- every operator, in both languages ----------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Stage = Proposal", True), ("Stage = Negotiation", False),
    ("Stage == proposal", True),
    ("Stage != Proposal", False), ("Stage <> Negotiation", True), ("Stage ≠ Negotiation", True),
    ("Amount > 5000", True), ("Amount > 6000", False), ("Amount >= 6000", True), ("Amount ≥ 6001", False),
    ("Amount < 6000", False), ("Amount <= 6000", True), ("Amount ≤ 5999.99", False),
    ("Close Date < 2026-03-16", True), ("Close Date > 2026-03-15", False),
    ("Stage in (Negotiation, Proposal)", True), ("Stage in (Won,Lost)", False),
    ("Stage not in (Won, Lost)", True), ("Stage not in (Won, proposal)", False),
    ("Notes contains pro plan", True), ("Notes contains 'enterprise'", False),
    ("Notes matches 'ask(ed)? for'", True), ("Notes matches '^asked'", False),
    ("Region is empty", True), ("Owner is empty", False), ("Owner is blank", False),
    ("Owner is not empty", True), ("Region is not empty", False), ("Region not is empty", False),
    ("Active = yes", True), ("Active = no", False), ("Active = TRUE", True),
])
def test_every_operator_in_english(text, expected):
    assert holds(text, DEAL) is expected


@pytest.mark.parametrize("text, expected", [
    ("Stage = propuesta", False), ("Stage = Proposal", True),
    ("Amount > 5000 y Stage = Proposal", True), ("Amount > 7000 o Stage = Proposal", True),
    ("no Stage = Proposal", False),
    ("Stage en (Negotiation, Proposal)", True), ("Stage no en (Won, Lost)", True),
    ("Stage no en (Proposal)", False),
    ("Notes contiene «pro plan»", True), ("Notes CONTIENE Enterprise", False),
    ("Notes coincide con 'pro\\s+plan'", True), ("Notes coincide  con '^pro'", False),
    ("Region está vacío", True), ("Region esta vacia", True), ("Region ESTÁ VACÍA", True),
    ("Owner está vacío", False),
    ("Owner no está vacío", True), ("Region no está vacía", False), ("Owner está no vacío", True),
    ("Active = sí", True), ("Active = no", False), ("Active = verdadero", True),
    ("Close Date > 14 de marzo de 2026", True), ("Close Date > 15 de marzo de 2026", False),
    ("Amount > 5.000,50", True), ("Amount < 6.000,01", True),
])
def test_every_operator_in_spanish(text, expected):
    assert holds(text, DEAL, "es") is expected


def test_spanish_headers_and_accents_in_values_fold_like_the_rules():
    cells = {"Fecha de cierre": D(2026, 1, 31), "Origen": "Referído ", "Etapa": "  NEGOCIACIÓN"}
    assert holds("Origen = referido y Etapa = negociacion y Fecha de cierre <= 31/01/2026", cells, "es")
    assert holds("origen en (Web, REFERIDO)", {"origen": "Referido"}, "es")


# --- combining: precedence and parentheses ------------------------------------------------

@pytest.mark.parametrize("text, a, b, c, expected", [
    # and binds tighter than or: A or (B and C)
    ("A = 1 or B = 1 and C = 1", 1, 0, 0, True),
    ("A = 1 or B = 1 and C = 1", 0, 1, 0, False),
    ("(A = 1 or B = 1) and C = 1", 1, 0, 0, False),
    ("A = 1 o B = 1 y C = 1", 1, 0, 0, True),
    # not binds tighter than and: (not A) and B
    ("not A = 1 and B = 1", 0, 1, 0, True),
    ("not A = 1 and B = 1", 1, 1, 0, False),
    ("not (A = 1 and B = 1)", 1, 0, 0, True),
    ("no (A = 1 o B = 1)", 0, 0, 1, True),
    ("not not A = 1", 1, 0, 0, True),
    ("((A = 1) and ((B = 1 or C = 1)))", 1, 0, 1, True),
    ("A = 1 and B = 1 or C = 1", 0, 0, 1, True),
    ("A = 1 and (B = 1 or C = 1)", 0, 0, 1, False),
])
def test_precedence_and_parentheses(text, a, b, c, expected):
    assert holds(text, {"A": Decimal(a), "B": Decimal(b), "C": Decimal(c)}) is expected


def test_and_or_short_circuit_so_unread_columns_cost_nothing():
    read = []

    def get(relation, column):
        read.append(column)
        return Decimal(1)

    assert parse_condition("A = 1 or B = 1", "en").test(get)
    assert read == ["A"]


# --- columns: relations, several words, quotes -------------------------------------------

def test_relations_name_the_related_record_in_either_language():
    condition = parse_condition("account.Industry = Software and cuenta.País = España and opportunity.Amount > 5 "
                                "and oportunidad.Importe > 5 and contact.Title contains CEO and contacto.Cargo "
                                "is empty and lead.Source = Web and Stage = Proposal", "en")
    assert condition.columns() == {("account", "Industry"), ("account", "País"), ("opportunity", "Amount"),
                                   ("opportunity", "Importe"), ("contact", "Title"), ("contact", "Cargo"),
                                   ("lead", "Source"), (None, "Stage")}
    assert set(RELATIONS.values()) == {"account", "contact", "opportunity", "lead"}
    for word, key in RELATIONS.items():
        assert parse_condition(f"{word.upper()}.X = 1", "en").columns() == {(key, "X")}


def test_a_related_record_and_the_record_itself_are_different_cells():
    cells = {("account", "Industry"): "Retail", (None, "Industry"): "Software"}
    assert holds("account.Industry = retail and Industry = software", cells)
    assert not holds("cuenta.Industry = software", cells)


def test_multi_word_and_quoted_columns_are_named_as_written():
    condition = parse_condition('Close   Date > 2026-01-01 and "Deal size" = Big and “Contact in charge” is empty '
                                "and 'Número de empleados' >= 50 and account.\"Annual revenue\" > 1000000 and "
                                "Fecha de cierre < 2027-01-01", "es")
    assert condition.columns() == {(None, "Close Date"), (None, "Deal size"), (None, "Contact in charge"),
                                   (None, "Número de empleados"), ("account", "Annual revenue"),
                                   (None, "Fecha de cierre")}


def test_a_multi_word_bare_value_is_one_text_value():
    assert holds("Industry = Real   Estate and Stage = Closed Won", {"Industry": "real estate", "Stage": "Closed Won"})
    assert not holds("Industry = Real Estate", {"Industry": "Real Estate Agents"})


def test_the_column_a_get_does_not_know_raises_its_key_error():
    condition = parse_condition("Budget > 5", "en")
    with pytest.raises(KeyError):
        condition.test(lambda relation, column: {}[column])


def test_a_blank_condition_always_holds_and_reads_nothing():
    for text in (None, "", "   \n "):
        condition = parse_condition(text, "es")
        assert condition.test(lambda r, c: pytest.fail("read a cell")) is True
        assert condition.columns() == frozenset()
    assert isinstance(parse_condition(None, "en"), Condition)


# --- empty cells ---------------------------------------------------------------------------

@pytest.mark.parametrize("empty", [None, "", "   ", "\u00a0"])
def test_an_empty_cell_fails_every_comparison_but_is_empty_and_the_negative_ones(empty):
    failing = ["X = ''x''", "X = x", "X = 0", "X < 5", "X <= 5", "X > 5", "X >= 5", "X < 2026-01-01",
               "X in (a, b)", "X contains a", "X matches '.*'", "X matches '^$'", "X is not empty",
               "X no está vacío", "X = no", "X = FALSE"]
    passing = ["X is empty", "X está vacía", "X != x", "X != 0", "X not in (a, b)", "not X = x", "not X < 5"]
    for text in failing:
        if text == "X = ''x''":
            continue
        assert holds(text, {"X": empty}) is False, text
    for text in passing:
        assert holds(text, {"X": empty}) is True, text


def test_a_text_cell_compared_with_a_number_is_false_not_an_error():
    assert not holds("Budget > 5", {"Budget": "a lot"})
    assert not holds("Budget < 5", {"Budget": "a lot"})
    assert holds("Budget > 5", {"Budget": "12"})  # an untyped custom column's text, read as rules read it
    assert not holds("Close Date > 2026-01-01", {"Close Date": "soon"})
    assert not holds("Close Date > 2026-01-01", {"Close Date": Decimal(46100)})


# --- numbers and dates as the locale writes them ------------------------------------------

@pytest.mark.parametrize("locale, text, value, expected", [
    ("en", "Amount >= 1,234.50", Decimal("1234.5"), True),
    ("en", "Amount >= 1,234.51", Decimal("1234.5"), False),
    ("es", "Amount >= 1.234,50", Decimal("1234.5"), True),
    ("es", "Amount >= 1.234,51", Decimal("1234.5"), False),
    ("en", "Amount = 12.5", 12.5, True),
    ("es", "Amount = 12,5", 12.5, True),
    ("es", "Amount in (1,5, 2,5)", Decimal("2.5"), True),
    ("en", "Amount in (1.5, 2.5)", 2, False),
    ("en", "Amount > 1,000,000", Decimal("999999"), False),
    ("es", "Amount > 1.000.000", Decimal("1000001"), True),
    ("en", "Amount >= 5000 €", 5000, True),
    ("es", "Amount > -5", 0, True),
    ("en", "Probability >= 50%", Decimal("50"), True),
    ("es", "Probability >= 12,5 %", Decimal("12"), False),
    ("en", "Close Date = 03/15/2026", D(2026, 3, 15), True),
    ("es", "Close Date = 15/03/2026", D(2026, 3, 15), True),
    ("en", "Close Date = 2026-03-15", D(2026, 3, 15), True),
    ("es", "Close Date = 2026-03-15", dt.datetime(2026, 3, 15, 9, 30), True),
    ("en", "Close Date = Mar 15 2026", D(2026, 3, 15), True),
    ("es", "Close Date = 15 de marzo de 2026", D(2026, 3, 15), True),
    ("en", "Close Date = 05/05/2026", D(2026, 5, 5), True),
])
def test_numbers_and_dates_read_in_the_locale(locale, text, value, expected):
    column = "Close Date" if text.startswith("Close Date") else text.split(" ")[0]
    assert holds(text, {column: value}, locale) is expected


@pytest.mark.parametrize("text", ["Amount > 1.000", "Amount > 1,000", "Amount = 12.500 €", "Amount in (5, 1.250)",
                                  "Probability > 1,250%"])
@pytest.mark.parametrize("locale", ["en", "es"])
def test_an_ambiguous_number_is_refused_in_either_locale_never_guessed(text, locale):
    e = error(text, locale)
    literal = next(word for word in text.replace("(", " ").replace(")", " ").replace(", ", " ").split()
                   if any(c in word for c in ".,") and word[0].isdigit()).removesuffix("%")
    assert e.position == text.index(literal)
    assert "ambiguous" in e.message and literal in e.message
    thousands = literal.replace(".", "").replace(",", "")
    assert thousands in e.hint, e.hint


def test_the_ambiguous_number_hint_offers_both_unambiguous_spellings_that_parse():
    e = error("Amount > 1.000", "es")
    assert e.hint == "Write it without a thousands separator: Amount > 1000 (or Amount > 1,0)"
    assert parse_condition("Amount > 1000", "es") and parse_condition("Amount > 1,0", "es")
    e = error("Amount = 1.255", "en")
    assert e.hint.endswith("Amount = 1255 (or Amount = 1.2550)")
    assert holds("Amount = 1.2550", {"Amount": Decimal("1.255")}, "en")
    with using("es"):
        assert error("Amount > 1.000", "es").message == ('el número "1.000" es ambiguo: 1000 si su separador agrupa '
                                                         "los miles, 1 si marca los decimales")


@pytest.mark.parametrize("locale, text, other", [("en", "Close Date > 03/04/2026", "2026-04-03"),
                                                 ("es", "Close Date > 03/04/2026", "2026-03-04")])
def test_a_date_whose_day_and_month_could_swap_is_refused(locale, text, other):
    e = error(text, locale)
    assert e.position == text.index("03/04")
    assert "2026-03-04" in e.message and "2026-04-03" in e.message
    assert other in e.hint


@pytest.mark.parametrize("locale, text, where", [
    ("en", "Amount > 1,5", "1,5"), ("es", "Amount > 12.5", "12.5"), ("es", "Amount in (a, 6000.0)", "6000.0"),
    ("en", "Close Date > 15/03/2026", "15/03"), ("es", "Close Date > 03/15/2026", "03/15"),
    ("en", "Close Date > 2026-02-30", "2026"), ("en", "Amount > 1.2.3", "1.2"),
])
def test_a_number_or_date_the_locale_cannot_read_is_an_error_not_text(locale, text, where):
    e = error(text, locale)
    assert e.position == text.index(where)
    assert e.hint and e.message


def test_values_that_only_hold_digits_are_text():
    assert holds("Account = 3M and Quarter = Q3 2026 and Version = v2.1", {"Account": "3m", "Quarter": "q3 2026",
                                                                           "Version": "V2.1"})
    assert holds('Zip = "08001"', {"Zip": "08001"})


# --- errors: what, how, where ---------------------------------------------------------------

MALFORMED = [
    # text, position, in the message, in the hint
    ("Amount 5000", 11, 'expected an operator after "Amount 5000"', "Amount > 5000"),
    ("Amount >", 8, 'expected a value after ">"', "Amount > 5000"),
    ("(Stage = Won or Stage = Lost", 0, 'this "(" is not closed', "Close every parenthesis"),
    ("Stage = Won) and Amount > 5", 11, 'this ")" closes no "("', "Open every parenthesis"),
    ("Stage = Won and", 15, 'expected a condition after "and"', "Amount > 5000"),
    ("Stage in Won, Lost", 9, 'expected a list in parentheses after "in"', "Stage in (Proposal, Negotiation)"),
    ("Industry = 'Real Estate", 11, "the quote opened here is not closed", 'Industry = "Real Estate"'),
    ("Amount > 5000 Stage = Won", 20, 'expected "and" or "or" after "5000 Stage", not "="', 'with "and" or "or"'),
    ("= Won", 0, 'a condition starts with a column name, not "="', "Amount > 5000"),
    ("Stage in ()", 10, "the list is empty", "Stage in (Proposal, Negotiation)"),
    ("Owner is Ana", 9, 'expected "empty" or "not empty" after "is"', "Owner = Ana"),
    ("Stage not Won", 10, 'expected "in" or "is empty" after "not"', "Stage not in (Won, Lost)"),
    ("account. = 5", 9, 'expected a column name after "account."', "account.Industry = Software"),
    ("acount.Industry = Software", 0, '"acount" is not a related record', "account.Industry = Software"),
    ("Source < Referral", 9, '"<" compares numbers or dates, and "Referral" is neither', "Source < 5000"),
    ("Notes matches '(re|fwd'", 15, "is not a valid regular expression", "Notes matches"),
    ("Owner = ''", 8, "an empty value matches nothing", "Owner is empty"),
    ("Notes contains ''", 15, '"contains" needs some text', "Notes contains urgent"),
    ("Stage = Won, Lost", 11, 'a "," separates values only in a list', "Stage in (Proposal, Negotiation)"),
    ("Contact in charge is empty", 11, 'expected a list in parentheses after "in"', '"Contact in charge" is empty'),
    ("Amount ! 5", 7, 'expected an operator after "Amount"', "Amount > 5000"),
    ('"" = 5', 0, "a column name cannot be empty", "Amount > 5000"),
]


@pytest.mark.parametrize("text, position, message, hint", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_a_malformed_condition_says_what_how_and_where(text, position, message, hint):
    with using("en"):
        e = error(text)
    assert message in e.message
    assert hint in e.hint
    assert e.position == position, f"{text[:e.position]}⟨{text[e.position:]}"
    assert str(e) == e.message and isinstance(e, ValueError)


@pytest.mark.parametrize("text, position, message, hint", [
    ("Importe >", 9, 'se esperaba un valor después de ">"', "Importe > 5000"),
    ("Etapa en Ganada", 9, 'se esperaba una lista entre paréntesis después de "en"', "Etapa en (Propuesta"),
    ("Etapa = Ganada y", 16, 'se esperaba una condición después de "y"', "Importe > 5000 y Etapa en"),
    ("Importe 5000", 12, 'se esperaba un operador después de "Importe 5000"', "está vacío"),
    ("Propietario está Ana", 17, 'se esperaba "vacío" o "no vacío" después de "está"', "Propietario no está vacío"),
    ("Origen < Referido", 9, '"<" compara números o fechas', "Origen < 5000"),
])
def test_errors_speak_the_current_language_with_a_spanish_example(text, position, message, hint):
    with using("es"):
        e = error(text, "es")
    assert message in e.message and hint in e.hint and e.position == position, (e.message, e.hint, e.position)


def test_positions_count_characters_of_the_text_as_written_accents_included():
    text = "Región está vacía y Población >"
    assert error(text, "es").position == len(text)
    text = "Ñandú = 1 y (Región = Sur"
    assert error(text, "es").position == text.index("(")


def test_a_condition_error_survives_pickling_whole():
    e = error("Amount >")
    back = pickle.loads(pickle.dumps(e))
    assert (back.message, back.hint, back.position) == (e.message, e.hint, e.position)


# --- the same semantics as the scoring rules --------------------------------------------

TRICKY = ["Referral", "referral ", "  REFERRAL", "Referído", "referido", "Refer ral", "Refer  ral", "ﬁnance",
          "finance", "Acme\u00a0Corp", "Acme Corp", "acme-corp", "acme_corp", "São Paulo", "sao paulo", "Ñandú",
          "nandu", "Straße", "STRASSE", "O'Brien", "o’brien", "5", "5.0", "05", "yes", "Sí", "TRUE", "x",
          "2026-03-15", "İstanbul", "istanbul", "Zoë", "ZOE", "\u200bhidden", "hidden", "Café", "Cafe\u0301"]
CELLS = TRICKY + [Decimal("5"), 5, 5.0, True, False, D(2026, 3, 15), None]


def rule_matches(op: str, value: Any, cell: Any) -> bool:
    return CompiledRule(Rule(column="Col", op=op, value=value, points=1)).match(cell) is not None


def quote(value: str) -> str:
    return f'"{value}"' if '"' not in value else f"'{value}'"


@pytest.mark.parametrize("value", TRICKY)
def test_equals_agrees_with_the_scoring_rule_on_tricky_text(value):
    condition = parse_condition(f"Col = {quote(value)}", "en")
    for cell in CELLS:
        assert condition.test(lambda r, c: cell) is rule_matches("equals", value, cell), (value, cell)


@pytest.mark.parametrize("value", [v for v in TRICKY if v.strip() and not any(c in v for c in "'’\u200b")])
def test_contains_and_matches_agree_with_the_scoring_rules(value):
    contains = parse_condition(f"Col contains {quote(value)}", "en")
    for cell in CELLS:
        assert contains.test(lambda r, c: cell) is rule_matches("contains", value, cell), (value, cell)
    pattern = value.replace(".", "\\.")
    matches = parse_condition(f"Col matches {quote(pattern)}", "en")
    for cell in CELLS:
        assert matches.test(lambda r, c: cell) is rule_matches("regex", pattern, cell), (pattern, cell)


def test_bare_values_agree_with_rules_given_the_same_value():
    # A bare word is text, a bare number a number, a bare date a date: each agrees with a rule
    # whose TOML value has that type.
    for written, value in [("Referral", "Referral"), ("5", 5), ("2026-03-15", D(2026, 3, 15)), ("yes", "yes"),
                           ("Sao  Paulo", "Sao  Paulo")]:
        condition = parse_condition(f"Col = {written}", "en")
        for cell in CELLS:
            assert condition.test(lambda r, c: cell) is rule_matches("equals", value, cell), (written, cell)


def test_in_agrees_with_a_rule_of_values_and_not_in_is_its_negation_on_filled_cells():
    values = ["Referral", "Web site", "5"]
    condition = parse_condition("Col in (referral, 'WEB  SITE', 5)", "en")
    negated = parse_condition("Col not in (referral, 'WEB  SITE', 5)", "en")
    rule = CompiledRule(Rule(column="Col", op="in", values=values, points=1))
    for cell in CELLS:
        expected = rule.match(cell) is not None
        assert condition.test(lambda r, c: cell) is expected, cell
        assert negated.test(lambda r, c: cell) is (not expected if cell is not None else True), cell


def test_ranges_agree_with_the_scoring_rules_min_and_max():
    for cell, bound in itertools.product([Decimal("4.99"), 5, 5.0, "5", "5.01", "abc", True, D(2026, 1, 1), None],
                                         [5]):
        assert holds(f"Col >= {bound}", {"Col": cell}) is (
            CompiledRule(Rule(column="Col", op="range", min=bound, points=1)).match(cell) is not None), cell
        assert holds(f"Col <= {bound}", {"Col": cell}) is (
            CompiledRule(Rule(column="Col", op="range", max=bound, points=1)).match(cell) is not None), cell
    for cell in [D(2025, 12, 31), D(2026, 1, 1), dt.datetime(2026, 1, 1, 23), "2026-01-02", 5, None]:
        assert holds("Col >= 2026-01-01", {"Col": cell}) is (
            CompiledRule(Rule(column="Col", op="range", min=D(2026, 1, 1), points=1)).match(cell) is not None), cell


def test_a_condition_is_its_text():
    a, b = parse_condition("Stage = Won", "en"), parse_condition("Stage = Won", "es")
    assert a == b and a.text == "Stage = Won" and hash(a) == hash(b)


def test_any_text_parses_or_is_a_condition_error_pointing_inside_it():
    # A rule's cell may hold anything a person types: never a crash, always a place to point at.
    import random

    pieces = ["Amount", "Stage", "Close Date", "account.", "cuenta.", "acount.", "=", "!=", "<", ">=", "≠", "in",
              "en", "not", "no", "and", "y", "or", "o", "contains", "matches", "coincide con", "is", "está",
              "empty", "vacío", "(", ")", ",", ";", "'", '"', "“", "»", "5000", "1.000", "1,5", "03/04/2026",
              "2026-03-15", "Won", "!", "%", "€", "\u00a0", "\u200b", "\\", "[", "é", "ﬁ"]
    rng = random.Random(14)
    for _ in range(3000):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 9)))
        for locale in ("en", "es"):
            try:
                condition = parse_condition(text, locale)
            except ConditionError as e:
                assert 0 <= e.position <= len(text), (text, e.position)
                assert e.message and e.hint, text
                continue
            condition.test(lambda relation, column: None)
            condition.test(lambda relation, column: "Won")


def test_the_documented_examples_parse_and_say_the_same_in_both_languages():
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parent.parent / "docs" / "workflows.md").read_text(encoding="utf-8")
    section = doc.split("## Conditions (If)", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(.+)` \| `(.+)` \|$", section, re.MULTILINE)
    assert len(rows) >= 10
    for english, spanish in rows:
        en, es = parse_condition(english, "en"), parse_condition(spanish, "es")
        assert len(en.columns()) == len(es.columns()), (english, spanish)
        assert {r for r, _ in en.columns()} == {r for r, _ in es.columns()}, (english, spanish)
    for bad in re.findall(r"^    ((?:Amount|Importe) .+)$", section, re.MULTILINE):
        with pytest.raises(ConditionError):
            parse_condition(bad, "es")
