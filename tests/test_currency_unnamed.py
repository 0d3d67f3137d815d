"""A money column most of whose amounts name one other currency: its bare amounts are read in
the base currency by rule, and that is said at the column, never applied quietly."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config
from sheetcrm.i18n import using
from sheetcrm.sync import sync
from test_workflows import Book

AS_OF = dt.date(2026, 12, 3)


def _tabs(amounts: list) -> dict[str, list[list]]:
    deals = [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"]]
    deals += [[f"OPP-{i:04d}", f"Deal {i}", "Acme", "Ana", "Proposal", amount, "2026-12-20"]
              for i, amount in enumerate(amounts, 1)]
    return {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]], "Opportunities": deals}


@pytest.mark.parametrize("kind", ["xlsx", "google"])
def test_a_bare_amount_among_amounts_in_another_currency_is_said_read_in_the_base(kind, tmp_path, emu):
    # Was: 980.5 beside "EUR 12500" and "EUR 3000" was 980.50 USD, the base currency, with no
    # word: a "€" left off reads as dollars in every figure once EUR has a rate.
    book = Book(kind, tmp_path, emu, _tabs(["EUR 12500", 980.5, "EUR 3000"]))
    outcome = sync(book.book, Config(), as_of=AS_OF)
    said = [i for i in outcome.crm.report.issues if i.code == "currency_unnamed"]
    assert [(i.tab, i.row, i.column) for i in said] == [("Opportunities", 3, "F")]
    assert "(1) are read in USD" in said[0].message and "2 of its amounts name EUR" in said[0].message
    assert "980.5 (row 3)" in said[0].message and 'currency = "EUR"' in said[0].hint


def test_it_is_said_in_spanish_with_the_number_as_the_team_writes_it(tmp_path, emu):
    book = Book("xlsx", tmp_path, emu, _tabs(["12.500,00 €", 980.5, "3.000,00 €", "1.000,00 €"]))
    with using("es"):
        outcome = sync(book.book, Config(locale="es"), as_of=AS_OF)
    [issue] = [i for i in outcome.crm.report.issues if i.code == "currency_unnamed"]
    assert issue.message.startswith("Los importes de esta columna que no nombran moneda (1) se leen en USD")
    assert "3 de sus importes nombran EUR; el primero es 980,5 (fila 3)" in issue.message


def test_a_column_mostly_in_the_base_with_a_few_other_currencies_is_left_alone(tmp_path, emu):
    # A team in dollars with one deal typed in euros: its bare amounts are dollars, as the rule says.
    book = Book("xlsx", tmp_path, emu, _tabs([1200, "EUR 500", 3000]))
    outcome = sync(book.book, Config(), as_of=AS_OF)
    assert not [i for i in outcome.crm.report.issues if i.code == "currency_unnamed"]
