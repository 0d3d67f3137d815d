"""Quote money: exact Decimal lines and totals, ROUND_HALF_UP to the currency's minor unit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from conftest import config, crm_tabs
from sheetcrm.mail.context import charges_of, find_opportunity
from sheetcrm.mail.outbox import Desk, plan_queue, prepare
from sheetcrm.mail.templates import Templates
from sheetcrm.mail.quotes import format_money, quote_number, round_money
from sheetcrm.sync import sync
from sheetcrm.workbook import Plan
from sheetcrm.workbook.memory import MemoryWorkbook

D = Decimal


def quote_of(locale="en", **tabs):
    desk = Desk.read(MemoryWorkbook(crm_tabs(**tabs)).read(), config(locale=locale))
    return desk.quote(find_opportunity(desk.crm, "OPP-0001"))


def lines(*rows):
    return [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"], *rows]


def test_discounts_and_taxes_per_line_add_up_to_the_totals():
    q = quote_of().quote
    p1, p2 = q.lines
    assert (p1.unit_price, p1.gross, p1.discount, p1.net, p1.tax) == (D("1000.50"), D("2001.00"), D("200.10"),
                                                                      D("1800.90"), D("378.19"))  # 378.189 up
    assert (p2.gross, p2.discount, p2.net, p2.tax) == (D("299.97"), D("0.00"), D("299.97"), D("30.00"))  # 29.997
    t = q.totals
    assert (t.subtotal, t.discount, t.net, t.tax, t.total) == (D("2300.97"), D("200.10"), D("2100.87"), D("408.19"),
                                                               D("2509.06"))
    assert [(b.rate_pct, b.base, b.tax) for b in t.taxes] == [(D(10), D("299.97"), D("30.00")),
                                                              (D(21), D("1800.90"), D("378.19"))]


def test_tax_is_charged_per_rate_on_that_rates_base_so_each_tax_row_adds_up(tmp_path):
    # Three €0.10 lines at 25% and two €0.10 lines at 5%: "Tax 25% on €0.30" is €0.075 → €0.08
    # (rounding each line's €0.025 up and summing charged €0.09), "Tax 5% on €0.20" is €0.01
    # (each line's €0.005 → €0.01 summed was €0.02). Total = net + Σ tax per rate.
    from books import xlsx_book
    tabs = crm_tabs(**{
        "Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["A", "Item A", 0.10, "EUR", "25%"],
                     ["B", "Item B", 0.10, "EUR", "5%"]],
        "Quote Lines": lines(*[["OPP-0001", "A", 1, "", ""]] * 3, *[["OPP-0001", "B", 1, "", ""]] * 2)})
    desk = Desk.read(xlsx_book(tmp_path / "q.xlsx", tabs).read(), config())
    result = desk.quote(find_opportunity(desk.crm, "OPP-0001"))
    t = result.quote.totals
    assert [(b.rate_pct, b.base, b.tax) for b in t.taxes] == [(D(5), D("0.20"), D("0.01")), (D(25), D("0.30"), D("0.08"))]
    assert (t.net, t.tax, t.total) == (D("0.50"), D("0.09"), D("0.59"))
    text = _render_text(desk, result)
    assert "Tax 25%: €0.08" in text and "Tax 5%: €0.01" in text and "€0.59" in text


def test_half_cents_round_up_not_to_even():
    # 10.05 at 50% off is 5.025: half-up gives 5.03 where banker's rounding would give 5.02;
    # its 10% tax, 0.503, rounds to 0.50; a 0.05 line at 10% tax is 0.005 of tax, which is 0.01.
    q = quote_of(**{"Quote Lines": lines(["OPP-0001", "P1", 1, 10.05, 50], ["OPP-0001", "P2", 1, 0.05, ""])},
                 Products=[["SKU", "Name", "Unit Price", "Tax Rate"], ["P1", "A", 1, 10], ["P2", "B", 1, 10]]).quote
    a, b = q.lines
    assert (a.net, a.discount, a.tax) == (D("5.03"), D("5.02"), D("0.50"))
    assert b.tax == D("0.01")
    assert q.totals.total == D("5.08") + D("0.51")
    assert round_money(D("2.675"), "EUR") == D("2.68")  # a float would say 2.67


def test_jpy_has_no_minor_unit():
    q = quote_of(Opportunities=[["ID", "Name", "Account", "Contact", "Stage", "Currency"],
                                ["OPP-0001", "Tokyo", "ACC-0001", "CON-0001", "Proposal", "JPY"]],
                 Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "Kit", 1234, "JPY", 10]],
                 **{"Quote Lines": lines(["OPP-0001", "P1", 1, "", 10])}).quote
    [line] = q.lines
    assert (line.net, line.tax) == (D(1111), D(111))  # 1110.6 → 1111, 111.1 → 111
    assert q.totals.total == D(1222)
    assert format_money(q.totals.total, "JPY", "en") == "¥1,222"


def test_mixed_currencies_convert_through_rates_and_overrides_are_in_the_quote_currency():
    # Base EUR; 1 USD is worth 0.9 EUR. A USD product on a EUR quote: 100 × 0.9 = 90.00.
    products = [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "US kit", 100, "USD", 0],
                ["P2", "Support", 33.333, "USD", 0]]
    q = quote_of(Products=products, Rates=[["Currency", "Rate"], ["USD", 0.9]],
                 **{"Quote Lines": lines(["OPP-0001", "P1", 1, "", ""], ["OPP-0001", "P2", 1, "", ""],
                                         ["OPP-0001", "P1", 1, 75, ""])}).quote
    assert [ln.unit_price for ln in q.lines] == [D("90.00"), D("30.00"), D("75")]  # 29.9997 → 30.00; override as typed
    assert q.currency == "EUR" and q.totals.total == D("195.00")


def test_a_product_currency_without_a_rate_blocks_that_quote_only():
    products = [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "UK kit", 100, "GBP", 20],
                ["P2", "Support", 10, "EUR", 0]]
    result = quote_of(Products=products)
    assert result.quote is None
    [issue] = result.problems
    assert (issue.tab, issue.row, issue.column, issue.code) == ("Quote Lines", 2, "B", "missing_rate")
    assert "GBP" in issue.message and "Rates" in issue.hint



def test_a_negative_product_price_blocks_the_quote_as_a_negative_line_price_does(tmp_path):
    # P1 at -1,000.50 in Products priced the line at -2,001.00 and queued a quote of -1,849.12
    # with no word; a line with its own Unit Price does not take the product's.
    from books import xlsx_book
    products = [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "Licence", -1000.5, "EUR", 21],
                ["P2", "Support", 99.99, "EUR", 10]]
    book = xlsx_book(tmp_path / "q.xlsx", crm_tabs(Products=products))
    sync(book, config(), as_of=dt.date(2026, 11, 23))
    tabs = book.read().tabs
    assert "Outbox" not in tabs
    found = [(r[1], r[2], r[3], r[6]) for r in tabs["Validation"].rows[1:] if r[6] == "negative_price"]
    assert found == [("Quote Lines", 2, "B", "negative_price")]
    [row] = [r for r in tabs["Validation"].rows[1:] if r[6] == "negative_price"]
    assert '"P1"' in row[7] and "-1,000.5" in row[7] and "OPP-0001" in row[7]
    priced = quote_of(Products=products, **{"Quote Lines": lines(["OPP-0001", "P1", 2, 10, ""])})
    assert priced.problems == [] and priced.quote.totals.net == D("20.00")
    from sheetcrm.i18n import using
    with using("es"):
        spanish = quote_of("es", Products=products)
    [issue] = [p for p in spanish.problems if p.code == "negative_price"]
    assert "-1.000,5" in issue.message and "negativo" in issue.message


def test_a_ticked_deal_whose_row_has_errors_says_at_its_tick_that_its_quote_waits(tmp_path):
    # An Amount "abc" (no quote shows it) left the row no record: the ticked quote was neither
    # queued nor said to wait, sync after sync. An unticked deal with errors says nothing more.
    from books import edit, xlsx_book
    tabs = crm_tabs()
    tabs["Opportunities"][1][6] = "abc"
    tabs["Opportunities"].append(["OPP-0002", "Other", "ACC-0001", "CON-0001", "Marta", "Nope", 10, "EUR", ""])
    book = xlsx_book(tmp_path / "q.xlsx", tabs)
    sync(book, config(), as_of=dt.date(2026, 11, 23))
    read = book.read().tabs
    assert "Outbox" not in read
    waits = [r for r in read["Validation"].rows[1:] if r[6] == "opportunity_errors"]
    assert [(r[0], r[1], r[2], r[3], r[5]) for r in waits] == [("error", "Opportunities", 2, "I", "yes")]
    assert "OPP-0001" in waits[0][7] and "Send Quote" in waits[0][7]
    # The errors that hold it, at their cells (the quotes step's own report had none to name).
    assert waits[0][7].endswith('while its row has errors: Opportunities!G2 (Amount): "abc" is not a number.')

    def fix(wb):
        wb["Opportunities"]["G2"] = 2500
    edit(book, fix)
    sync(book, config(), as_of=dt.date(2026, 11, 24))
    read = book.read().tabs
    assert [r[2] for r in read["Outbox"].rows[1:]] == ["OPP-0001"]
    assert not [r for r in read["Validation"].rows[1:] if r[6] == "opportunity_errors"]


def test_a_ticked_deal_with_errors_is_said_in_spanish(tmp_path):
    tabs = crm_tabs()
    tabs["Opportunities"][1][6] = "abc"
    book = MemoryWorkbook(tabs)
    sync(book, config(locale="es"), as_of=dt.date(2026, 11, 23))
    [row] = [r for r in book.tabs["Validación"][1:] if r[6] == "oportunidad_con_errores"]
    assert row[7] == ("El presupuesto de OPP-0001 no se pone en cola, aunque su Enviar presupuesto esté marcado, "
                      'mientras su fila tenga errores: Opportunities!G2 (Amount): "abc" no es un número.')


def test_a_sync_names_the_cells_of_the_contact_whose_errors_hold_a_quote(tmp_path):
    """Was: "its contact CON-0001 (row 2) has errors." and no more at a sync (the quotes step
    reports into a report of its own, where the contact's errors are not), though
    `sheetcrm quote` named them: the person had to find the contact's row to learn why."""
    from books import xlsx_book
    tabs = crm_tabs()
    tabs["Contacts"][1][4] = "ana@@example"
    book = xlsx_book(tmp_path / "q.xlsx", tabs)
    sync(book, config(), as_of=dt.date(2026, 11, 23))
    [row] = [r for r in book.read().tabs["Validation"].rows[1:] if r[6] == "contact_errors"]
    assert (row[1], row[2], row[3]) == ("Opportunities", 2, "D")
    assert row[7].startswith('The quote for OPP-0001 cannot be addressed: its contact CON-0001 (row 2) has errors: '
                             'Contacts!E2 (Email): "ana@@example" is not a valid email address.')
    spanish = MemoryWorkbook(tabs)
    sync(spanish, config(locale="es"), as_of=dt.date(2026, 11, 23))
    [row] = [r for r in spanish.tabs["Validación"][1:] if r[6] == "contacto_con_errores"]
    assert row[7].startswith("El presupuesto de OPP-0001 no se puede enviar: su contacto CON-0001 (fila 2) tiene "
                             'errores: Contacts!E2 (Email): "ana@@example" no es una dirección de correo válida.')


def test_a_quote_whose_currency_nothing_names_is_not_queued_in_the_default(tmp_path):
    # A Spanish team's plain numbers, no Currency on the deal or its products, and a
    # sheetcrm.toml with no currency (as init writes it for a workbook it finds): the quote
    # was queued in USD, "2.509,06 US$" for the team's euros, on a Draft that shows no amount.
    from books import xlsx_book
    from sheetcrm.config import Config
    tabs = crm_tabs(Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "Licence", 1000.5, "", 21],
                              ["P2", "Support", 99.99, "", 10]])
    tabs["Opportunities"][1][7] = ""
    book = xlsx_book(tmp_path / "q.xlsx", tabs)
    sync(book, Config(locale="es"), as_of=dt.date(2026, 11, 23))
    read = book.read().tabs
    assert "Bandeja de salida" not in read and "Outbox" not in read
    [row] = [r for r in read["Validación"].rows[1:] if r[6] == "moneda_de_presupuesto_sin_fijar"]
    assert (row[0], row[1], row[2], row[3]) == ("error", "Opportunities", 2, "H")
    assert "USD" in row[7] and "currency" in row[8]
    # Said by the team: the file's currency (even the default's own code), or a product's.
    for cfg in (Config(locale="es", currency="EUR"), Config(locale="es", currency="USD")):
        desk = Desk.read(book.read(), cfg)
        assert desk.quote(find_opportunity(desk.crm, "OPP-0001")).problems == []
    tabs["Products"][1][3] = "USD"
    desk = Desk.read(xlsx_book(tmp_path / "p.xlsx", tabs).read(), Config(locale="es"))
    assert desk.quote(find_opportunity(desk.crm, "OPP-0001")).quote.currency == "USD"


def test_a_deal_nobody_asked_a_quote_of_is_not_an_error_for_want_of_a_currency(tmp_path):
    """The same workbook with Send Quote not ticked: a single-currency team with no `currency` in
    sheetcrm.toml and Quote Lines for its deals got a quote_currency_unset error at every such deal's
    Currency cell ("the next sync queues the quote": no quote was asked for), and validate exit 1.
    Ticking it still blocks the quote and says so."""
    from books import xlsx_book
    from sheetcrm.config import Config
    tabs = crm_tabs(Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "Licence", 1000.5, "", 21],
                              ["P2", "Support", 99.99, "", 10]])
    tabs["Opportunities"][1][7] = ""
    tabs["Opportunities"][1][8] = ""
    book = xlsx_book(tmp_path / "q.xlsx", tabs)
    sync(book, Config(), as_of=dt.date(2026, 11, 23))
    assert [r for r in book.read().tabs["Validation"].rows[1:] if r[6] == "quote_currency_unset"] == []
    tabs["Opportunities"][1][8] = "yes"
    ticked = xlsx_book(tmp_path / "t.xlsx", tabs)
    sync(ticked, Config(), as_of=dt.date(2026, 11, 23))
    assert [r[2] for r in ticked.read().tabs["Validation"].rows[1:] if r[6] == "quote_currency_unset"] == [2]

def test_bad_lines_are_pinned_to_their_cells():
    result = quote_of(**{"Quote Lines": lines(["OPP-0001", "NOPE", 1, "", ""], ["OPP-0001", "P1", -2, "", ""],
                                              ["OPP-0001", "P2", 1, "", 150], ["OPP-0001", "P2", 1, "", 5])})
    assert result.quote is None
    # A discount over 100% fails the row's validation; the row blocks the quote with that very
    # error, out_of_range on E4 (and an unknown SKU is the validation's own unknown_sku on B2).
    assert sorted((i.row, i.column, i.code) for i in result.problems) == [
        (2, "B", "unknown_sku"), (3, "C", "negative_quantity"), (4, "E", "out_of_range")]



def test_a_bad_lines_numbers_are_said_the_way_the_team_writes_them(tmp_path):
    # A Spanish team's "-1,5" was said back as "La cantidad -1.5 es negativa." (-1.5 reads as
    # -15 in Spanish), and a price "-1234,5" as -1234.5.
    from books import xlsx_book
    from sheetcrm.config import Config
    tabs = crm_tabs(**{"Quote Lines": lines(["OPP-0001", "P1", "-1,5", "", ""], ["OPP-0001", "P2", 1, "-1234,5", ""],
                                            ["OPP-0001", "P2", "1000000000", "2000000,5", ""])})
    book = xlsx_book(tmp_path / "q.xlsx", tabs)
    sync(book, Config(locale="es", currency="EUR"), as_of=dt.date(2026, 11, 23))
    said = {r[6]: r[7] for r in book.read().tabs["Validación"].rows[1:] if r[1] == "Quote Lines"}
    assert said["cantidad_negativa"] == "La cantidad -1,5 es negativa."
    assert said["precio_negativo"] == "El precio unitario -1.234,5 es negativo."
    assert said["fuera_de_rango"].startswith("1.000.000.000 × 2.000.000,5 ")

def test_bad_lines_become_validation_issues_without_stopping_the_sync():
    tabs = crm_tabs(**{"Quote Lines": lines(["OPP-0001", "NOPE", 1, "", ""], ["OPP-0001", "P1", -2, "", ""])})
    tabs["Opportunities"].append(["OPP-0002", "Other", "ACC-0001", "CON-0001", "Marta", "Proposal", 10, "EUR", ""])
    tabs["Quote Lines"] += [["OPP-0002", "P2", 1, "", 101], ["OPP-0002", "P2", -1, "", ""]]
    book = MemoryWorkbook(tabs)
    outcome = sync(book, config(), as_of=dt.date(2026, 11, 23))
    codes = [(r[1], r[2], r[6]) for r in book.tabs["Validation"][1:]]
    assert ("Quote Lines", 2, "unknown_sku") in codes and codes.count(("Quote Lines", 2, "unknown_sku")) == 1
    assert ("Quote Lines", 3, "negative_quantity") in codes
    assert ("Quote Lines", 4, "out_of_range") in codes
    assert not [c for c in codes if c[2] == "invalid_quote_line"]  # said once, by validation
    assert ("Quote Lines", 5, "negative_quantity") in codes  # an unticked opportunity's lines are checked too
    assert "Outbox" not in book.tabs  # the ticked quote was blocked, so nothing was queued
    assert outcome.cells_written["Validation"] > 0


def test_locale_formatting():
    assert format_money(D("1234.56"), "EUR", "es") == "1.234,56\xa0€"
    assert format_money(D("1234.56"), "USD", "en") == "$1,234.56"
    assert format_money(D("1234.5"), "EUR", "es") == "1.234,50\xa0€"


def test_quote_number_is_stable_for_the_same_opportunity_and_version():
    assert quote_number(2026, 7) == "Q-2026-0007"
    book = MemoryWorkbook(crm_tabs())
    sync(book, config(), as_of=dt.date(2026, 11, 23))
    [row] = book.tabs["Outbox"][1:]
    assert row[9] == "Q-2026-0001"
    desk = Desk.read(book.read(), config())
    [again] = plan_queue(desk, [find_opportunity(desk.crm, "OPP-0001")], Plan(), "2026-11-24", 2026)
    assert (again.outcome, again.quote, again.row_id) == ("already", "Q-2026-0001", "OUT-0001")
    book.tabs["Quote Lines"][1][2] = 3  # a new version gets the next number
    desk = Desk.read(book.read(), config())
    [new] = plan_queue(desk, [find_opportunity(desk.crm, "OPP-0001")], Plan(), "2026-11-24", 2026)
    assert (new.outcome, new.quote, new.row_id) == ("queued", "Q-2026-0002", "OUT-0002")


# crm_tabs' quote for an export's deal ID (not in capitals), its figures typed with trailing
# zeros, and the version sheetcrm gave it while a version fingerprinted figures as typed ("2.0"
# another version than 2): rows queued then carry it.
TRAILING_ZEROS = {"Quote Lines": lines(["Deal-17b", "P1", "2.0", "1000.50", "10.00"], ["Deal-17b", "P2", 3, "", ""]),
                  "Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                               ["P1", "Licence", 1000.5, "EUR", 21], ["P2", "Support", 99.99, "EUR", "10.0"]]}
TYPED_BEFORE = "58d02e3ec116"


def test_figures_with_trailing_zeros_are_the_same_quote_and_a_row_queued_with_them_before_is_recognised():
    """Was: "1000.50" typed over 1000.5 (or "2.0" over 2, a number stored as text turned into
    a number) was a new version of a quote that charges and shows the same: its Approved row
    Failed ("the quote changed since this row was queued") and the tick queued the same
    document again with a new number, for a person to approve and send a second time."""
    tabs = crm_tabs(**{"Quote Lines": lines(["Deal-17b", "P1", 2, "", 10], ["Deal-17b", "P2", 3, "", ""])})
    tabs["Opportunities"][1][0] = "Deal-17b"
    book = MemoryWorkbook(tabs)
    sync(book, config(), as_of=dt.date(2026, 11, 23))
    [row] = book.tabs["Outbox"][1:]
    version = row[10]
    book.tabs.update(TRAILING_ZEROS)  # the same values, typed so: the same quote
    desk = Desk.read(book.read(), config())
    opp = find_opportunity(desk.crm, "Deal-17b")
    assert desk.version(desk.quote(opp)) == charges_of(version)  # after "~": its templates' text
    [again] = plan_queue(desk, [opp], Plan(), "2026-11-24", 2026, ticked=True)
    assert (again.outcome, again.quote) == ("already", "Q-2026-0001")

    # A row queued while figures counted as typed is that quote still: not queued again, and sent.
    book.tabs["Outbox"][1][10] = TYPED_BEFORE
    desk = Desk.read(book.read(), config())
    [again] = plan_queue(desk, [opp], Plan(), "2026-11-24", 2026, ticked=True)
    assert (again.outcome, again.quote) == ("already", "Q-2026-0001")
    [queued] = desk.outbox.rows
    prepared = prepare(desk, queued, Templates(), "sales@example.com", dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc),
                       "t0")
    assert prepared.error is None and prepared.message is not None


def _xlsx_quote(tmp_path, quote_lines, currency="EUR"):
    from books import xlsx_book
    tabs = crm_tabs(**{"Quote Lines": quote_lines})
    tabs["Opportunities"][1][7] = currency
    desk = Desk.read(xlsx_book(tmp_path / "q.xlsx", tabs).read(), config())
    return desk, desk.quote(find_opportunity(desk.crm, "OPP-0001"))


def test_a_unit_price_in_another_currency_than_the_quotes_is_a_conflict_that_blocks_the_quote(tmp_path):
    # OPP-0001 and its products are in EUR: "£4,000" is no 4,000 EUR, and "1000 USD" no 1,000 EUR.
    desk, result = _xlsx_quote(tmp_path, lines(["OPP-0001", "P1", 2, "£4,000", 10], ["OPP-0001", "P2", 3, "1000 USD", ""]))
    conflicts = [i for i in desk.crm.report.issues if i.code == "currency_conflict"]
    assert [(i.severity, i.tab, i.row, i.column, i.value) for i in conflicts] == [
        ("error", "Quote Lines", 2, "D", "£4,000"), ("error", "Quote Lines", 3, "D", "1000 USD")]
    assert "GBP" in conflicts[0].message and "EUR" in conflicts[0].message and "OPP-0001" in conflicts[0].message
    assert "EUR" in conflicts[0].hint
    assert result.quote is None  # never sent with £4,000 read as €4,000
    assert {(p.row, p.code) for p in result.problems} == {(2, "currency_conflict"), (3, "currency_conflict")}


def test_a_unit_price_in_the_quotes_currency_is_priced_as_written(tmp_path):
    desk, result = _xlsx_quote(tmp_path, lines(["OPP-0001", "P1", 2, "€900", 10], ["OPP-0001", "P2", 3, "50 EUR", ""]))
    assert not [i for i in desk.crm.report.issues if i.severity == "error"]
    assert [ln.unit_price for ln in result.quote.lines] == [D("900.00"), D("50.00")]
    # A quote in GBP takes "£4,000" as written.
    desk, result = _xlsx_quote(tmp_path, lines(["OPP-0001", "P1", 1, "£4,000", ""]), currency="GBP")
    assert not [i for i in desk.crm.report.issues if i.code == "currency_conflict"]


def test_a_discount_written_as_money_is_no_percentage_and_blocks_the_quote(tmp_path):
    # "$50" off is not 50 % off: the cell is an error, the line has errors, the quote waits for it.
    desk, result = _xlsx_quote(tmp_path, lines(["OPP-0001", "P1", 2, "", "$50"], ["OPP-0001", "P2", 3, "", "50 €"]))
    bad = [(i.severity, i.row, i.column, i.value, i.code) for i in desk.crm.report.issues if i.tab == "Quote Lines"]
    assert bad == [("warning", None, None, None, "left_out"),  # the tab's word on its lines with errors
                   ("error", 2, "E", "$50", "bad_percent"), ("error", 3, "E", "50 €", "bad_percent")]
    assert result.quote is None and {p.code for p in result.problems} == {"bad_percent"}


def _render_text(desk, result, locale="en"):
    from sheetcrm.mail.context import QuoteHeader, quote_context
    from sheetcrm.mail.templates import Templates
    ctx = quote_context(desk.crm, result, QuoteHeader("Q-2026-0001", dt.date(2026, 11, 23)), locale)
    return Templates().render("quote.txt.j2", ctx)


def test_a_unit_price_below_the_cent_is_used_and_shown_as_typed_and_only_line_amounts_are_rounded(tmp_path):
    # 10,000 SMS at 0.125 are 1,250.00 (the price rounded first gave 1,300.00), 50,000 GB at
    # 0.0149 are 745.00 (not 500.00), and a line's own 0.004 for 1,000 is 4.00 (not 0.00).
    from books import xlsx_book
    tabs = crm_tabs(**{
        "Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["SMS", "SMS", 0.125, "EUR", 0],
                     ["GB", "Storage GB-month", 0.0149, "EUR", 0], ["US", "US storage", 0.0149, "USD", 0]],
        "Rates": [["Currency", "Rate"], ["USD", 1.087]],
        "Quote Lines": lines(["OPP-0001", "SMS", 10000, "", ""], ["OPP-0001", "GB", 50000, "", ""],
                             ["OPP-0001", "SMS", 1000, 0.004, ""], ["OPP-0001", "US", 50000, "", ""])})
    desk = Desk.read(xlsx_book(tmp_path / "q.xlsx", tabs).read(), config())
    result = desk.quote(find_opportunity(desk.crm, "OPP-0001"))
    q = result.quote
    # A converted price keeps 4 significant digits: 0.0149 × 1.087 = 0.0161963 → 0.01620 (not 0.02).
    assert [ln.unit_price for ln in q.lines] == [D("0.125"), D("0.0149"), D("0.004"), D("0.01620")]
    assert [ln.net for ln in q.lines] == [D("1250.00"), D("745.00"), D("4.00"), D("810.00")]
    assert q.totals.net == D("2809.00")
    text = _render_text(desk, result)
    assert "10,000 × €0.125 = €1,250.00" in text and "50,000 × €0.0149 = €745.00" in text
    assert "1,000 × €0.004 = €4.00" in text and "50,000 × €0.0162 = €810.00" in text


def test_the_quote_shows_the_quantities_and_percentages_it_is_priced_with(tmp_path):
    # 1.3333 × 900 is 1,199.97: shown as 1.333 the document said 1,199.70's worth; a 12.345 %
    # discount was shown 12.34% (babel's half-even, rounding for display a value used in full).
    from books import xlsx_book
    tabs = crm_tabs(**{
        "Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["LIC", "Licence month", 900, "EUR", 0],
                     ["SVC", "Service", 1000, "EUR", 12.5]],
        "Quote Lines": lines(["OPP-0001", "LIC", 1.3333, "", ""], ["OPP-0001", "SVC", 1, "", 12.345])})
    desk = Desk.read(xlsx_book(tmp_path / "q.xlsx", tabs).read(), config())
    result = desk.quote(find_opportunity(desk.crm, "OPP-0001"))
    text = _render_text(desk, result)
    assert "1.3333 × €900.00 = €1,199.97" in text
    assert "1 × €1,000.00, discount 12.345% = €876.55" in text
    es = _render_text(desk, result, "es")
    assert "1,3333 × 900,00\xa0€" in es and "12,345\xa0%" in es  # the locale's own percent: "63,2 %" (README)
    assert "12,5\xa0%" in es  # the tax rate


def test_a_ticked_quote_blocked_by_a_product_row_with_errors_is_said_in_the_sync_and_by_the_command(tmp_path):
    # The line's SKU names a product whose Unit Price reads "abc": the reference is sound (a row
    # with a bad cell is still the record people refer to), so validation says only bad_number;
    # the quote said unknown_sku, which the sync dropped as validation's: nothing said it was blocked.
    from books import xlsx_book
    tabs = crm_tabs(**{"Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                                    ["P1", "Licence", "abc", "EUR", 21], ["P2", "Support", 10, "EUR", 0]]})
    book = xlsx_book(tmp_path / "q.xlsx", tabs)
    sync(book, config(), as_of=dt.date(2026, 11, 23))
    snapshot = book.read()
    rows = [r for r in snapshot.tabs["Validation"].rows[1:] if r and r[0] == "error"]
    found = [(r[1], r[2], r[3], r[6]) for r in rows]
    assert ("Products", 2, "C", "bad_number") in found
    assert ("Quote Lines", 2, "B", "product_errors") in found
    [said] = [r for r in rows if r[6] == "product_errors"]
    assert '"P1"' in said[7] and "row 2 of Products" in said[7] and "OPP-0001" in said[7]
    assert "Outbox" not in snapshot.tabs  # blocked: nothing queued
    # `sheetcrm quote` says the same, and names the product's own error at its cell.
    desk = Desk.read(snapshot, config())
    result = desk.quote(find_opportunity(desk.crm, "OPP-0001"))
    assert result.quote is None
    assert [(p.tab, p.row, p.column, p.code) for p in result.problems] == [
        ("Quote Lines", 2, "B", "product_errors"), ("Products", 2, "C", "bad_number")]
