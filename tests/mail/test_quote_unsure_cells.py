"""Cells a quote cannot be sure of are said at the cell and never guessed: a Quote Lines row
whose Opportunity or SKU names more than one row, and an Outbox Status that is no Status word.
On real .xlsx files (and Google's API through the emulator), sending against aiosmtpd on loopback."""

from __future__ import annotations

from click.testing import CliRunner

from conftest import config, crm_tabs
from sheetcrm.cli import main
from sheetcrm.config import Config
from sheetcrm.mail.context import find_opportunity
from sheetcrm.mail.outbox import Desk
from sheetcrm.sync import sync
from test_outbox_smtp import AS_OF, make_book, outbox_rows, send, set_cell, xlsx_book  # noqa: F401


def _validation(book, code):
    tab = book.read().tabs["Validation"]
    return [r for r in tab.rows[1:] if r and r[6] == code]


def _two_renewals(**more):
    """Two ticked deals named "Renewal", for two accounts' contacts; the line on row 3 says only
    "Renewal"."""
    tabs = crm_tabs(**more)
    tabs["Contacts"].append(["CON-0002", "ACC-0001", "Bob", "Smith", "bob@example.com"])
    deal = tabs["Opportunities"][1]
    tabs["Opportunities"][1:] = [["OPP-0001", "Renewal", *deal[2:]],
                                 ["OPP-0002", "Renewal", deal[2], "CON-0002", *deal[4:]]]
    tabs["Quote Lines"][1:] = [["OPP-0001", "P2", 1, "", ""], ["Renewal", "P2", 5, "", ""],
                               ["OPP-0002", "P2", 2, "", ""]]
    return tabs


def test_a_line_naming_a_deal_two_deals_share_is_on_no_quote_and_blocks_each(make_book):
    # Was: the line went on both quotes (OPP-0001 at 6 × €99.99 instead of 1 ×, OPP-0002 at 7 ×),
    # both queued, with only an ambiguous_reference warning in the Validation tab.
    book = make_book(_two_renewals())
    sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs  # neither quote is queued
    [said] = _validation(book, "ambiguous_opportunity")  # one issue, though it blocks two quotes
    assert (said[0], said[1], said[2], said[3], said[5]) == ("error", "Quote Lines", 3, "A", "Renewal")
    assert "OPP-0001 (row 2)" in said[7] and "OPP-0002 (row 3)" in said[7] and "none of their quotes" in said[7]
    desk = Desk.read(book.read(), config())
    for deal in ("OPP-0001", "OPP-0002"):
        result = desk.quote(find_opportunity(desk.crm, deal))
        assert result.quote is None
        assert [(p.row, p.column, p.code) for p in result.problems] == [(3, "A", "ambiguous_opportunity")]

    # Named by its ID, the line is on that quote only, and both quotes go out as priced.
    set_cell(book, "Opportunity", "OPP-0002", row=3, tab="Quote Lines")
    sync(book, config(), as_of=AS_OF)
    assert _validation(book, "ambiguous_opportunity") == []
    desk = Desk.read(book.read(), config())
    totals = {deal: [(ln.quantity, ln.net) for ln in desk.quote(find_opportunity(desk.crm, deal)).quote.lines]
              for deal in ("OPP-0001", "OPP-0002")}
    assert {k: [(int(q), str(n)) for q, n in v] for k, v in totals.items()} == {
        "OPP-0001": [(1, "99.99")], "OPP-0002": [(5, "499.95"), (2, "199.98")]}
    assert sorted(r["opportunity"] for r in outbox_rows(book)) == ["OPP-0001", "OPP-0002"]


def test_a_sku_on_two_product_rows_prices_no_line_and_the_quote_is_blocked_at_the_lines_sku(make_book, server):
    # Was: duplicate_sku on the second row only, and the quote queued at the first row's price.
    tabs = crm_tabs(Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                              ["P1", "Licence", 1000.5, "EUR", 21], ["P2", "Support", 100, "EUR", 10],
                              ["P2", "Support plus", 200, "EUR", 10]])
    book = make_book(tabs)
    sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    [said] = _validation(book, "ambiguous_product")
    assert (said[0], said[1], said[2], said[3], said[5]) == ("error", "Quote Lines", 3, "B", "P2")
    assert "rows 3, 4 of Products" in said[7] and "OPP-0001" in said[7]
    assert [(r[1], r[2]) for r in _validation(book, "duplicate_sku")] == [("Products", 4)]  # as before
    assert send(book, server).sent == [] and server.inbox.messages == []


def test_skus_that_differ_only_in_case_or_spacing_are_one_sku_on_two_rows(tmp_path):
    # "P2" and "p2\u00a0" are the same SKU as the read compares references (duplicate_sku says so):
    # the line "P2" was priced at the row spelt exactly "P2", at a guess.
    tabs = crm_tabs(Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                              ["P1", "Licence", 1000.5, "EUR", 21], ["p2\u00a0", "Support plus", 200, "EUR", 10],
                              ["P2", "Support", 100, "EUR", 10]])
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    [said] = _validation(book, "ambiguous_product")
    assert (said[0], said[2], said[3], said[5]) == ("error", 3, "B", "P2")
    assert "rows 3, 4 of Products" in said[7]
    desk = Desk.read(book.read(), config())
    assert [p.code for p in desk.quote(find_opportunity(desk.crm, "OPP-0001")).problems] == ["ambiguous_product"]


def test_an_outbox_status_that_is_no_status_word_is_said_by_the_sync_and_the_send_and_never_approves(
        tmp_path, server, monkeypatch):
    # Was: "Aproved" and "Approved ✓" were read as no Status at all: `outbox send` said "nothing
    # to send" with exit 0, and no sync said anything.
    tabs = crm_tabs()
    tabs["Contacts"].append(["CON-0002", "ACC-0001", "Bob", "Smith", "bob@example.com"])
    tabs["Opportunities"].append(["OPP-0002", "Renewal", "ACC-0001", "CON-0002", "Marta", "Proposal", 10, "EUR",
                                  "yes", ""])
    tabs["Quote Lines"].append(["OPP-0002", "P2", 1, "", ""])
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Status", "Aproved", row=2)
    set_cell(book, "Status", "Approved \u2713\u00a0", row=3)
    (tmp_path / "c.toml").write_text('currency = "EUR"\n')
    wb = ["--workbook", str(book.path), "--config", str(tmp_path / "c.toml")]
    for key, value in {"HOST": "127.0.0.1", "PORT": str(server.port), "SECURITY": "none",
                       "FROM": "sales@example.com", "USER": ""}.items():
        monkeypatch.setenv(f"SHEETCRM_SMTP_{key}", value)

    result = CliRunner().invoke(main, ["outbox", "send", *wb])
    assert result.exit_code == 1 and "nothing to send" not in result.output
    first, second = result.stderr.splitlines()
    assert first.startswith('sheetcrm: Outbox!F2: "Aproved" is not an Outbox Status') and "not sent" in first
    assert "Did you mean Approved? The Status is one of: Draft, Approved, Sending, Sent, Failed." in first
    assert second.startswith('sheetcrm: Outbox!F3: "Approved \u2713\\u00a0" is not an Outbox Status')
    assert server.inbox.messages == []
    assert [r["status"] for r in outbox_rows(book)] == ["Aproved", "Approved \u2713"]  # left as typed

    sync(book, config(), as_of=AS_OF)
    said = _validation(book, "unknown_status")
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in said] == [
        ("error", "Outbox", 2, "F", "Status", "Aproved"), ("error", "Outbox", 3, "F", "Status", "Approved \u2713\u00a0")]
    assert all("Did you mean Approved?" in r[8] for r in said)

    # A Spanish team hears it in Spanish, the word it meant among its own.
    set_cell(book, "Status", "Aprovado", row=2)
    sync(book, config(locale="es"), as_of=AS_OF)
    # (sheetcrm's tabs keep the titles they were made with: the Validation tab is still "Validation")
    [es] = [r for r in book.read().tabs["Validation"].rows[1:] if r and r[2] == 2 and r[1] == "Outbox"]
    assert es[7].startswith('"Aprovado" no es un Estado de la Bandeja de salida')
    assert es[8] == "¿Querías decir Aprobado? El Estado es uno de: Borrador, Aprobado, Enviando, Enviado, Fallido."

    set_cell(book, "Status", "approved", row=2)  # any case is a Status word: sent, and nothing said
    assert send(book, server).sent == ["OUT-0001"] and len(server.inbox.messages) == 1


def _blocks(book, code="unsure_quote_cell"):
    return [(r[0], r[1], r[2], r[3], r[5]) for r in _validation(book, code)]


def test_a_price_the_read_only_warned_about_blocks_its_quote_at_the_cell(make_book, server):
    # Was: Unit Price "19.995" read as 19995 with an ambiguous_number warning, and the quote
    # queued as a Draft at 2 × €19,995.00: one tick from an email 1,000× off.
    tabs = crm_tabs(**{"Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                                       ["OPP-0001", "P1", 2, "", 10], ["OPP-0001", "P2", 2, "19.995", ""]]})
    book = make_book(tabs)
    sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    assert _blocks(book) == [("error", "Quote Lines", 3, "D", "19.995")]
    [said] = _validation(book, "unsure_quote_cell")
    assert said[7] == ('The quote for OPP-0001 is neither queued nor sent while this cell may mean something else: '
                       '"19.995" read as 19995; could be 19.995.')
    assert [(r[0], r[2], r[3]) for r in _validation(book, "ambiguous_number")] == [("warning", 3, "D")]  # as before
    desk = Desk.read(book.read(), config())
    result = desk.quote(find_opportunity(desk.crm, "OPP-0001"))
    assert result.quote is None and [(p.where(), p.code) for p in result.problems] == [
        ("Quote Lines!D3", "unsure_quote_cell")]
    assert send(book, server).sent == [] and server.inbox.messages == []

    # Written so it reads one way, the quote is queued at the next sync.
    set_cell(book, "Unit Price", 19.995, row=3, tab="Quote Lines")
    sync(book, config(), as_of=AS_OF)
    assert _blocks(book) == []
    assert [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0001"]


def test_a_product_cell_the_read_only_warned_about_blocks_the_quotes_that_price_from_it(tmp_path):
    # Tax Rate 0.21 among 10s reads 0.21 % (could be 21 %): the quote charged €0.21 of tax on
    # €100 with only a warning at the Products cell. A line with its own Unit Price does not take
    # the product's, so that cell's doubt does not block it (its Tax Rate's would).
    tabs = crm_tabs(Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                              ["P1", "Licence", 100, "EUR", 0.21], ["P2", "Support", "1.250", "EUR", 10],
                              ["P3", "Cable", 5, "EUR", 10]],
                    **{"Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                                       ["OPP-0001", "P1", 1, "", ""], ["OPP-0002", "P2", 1, 50, ""],
                                       ["OPP-0003", "P2", 1, "", ""]]})
    tabs["Opportunities"] += [["OPP-0002", "Two", "ACC-0001", "CON-0001", "Marta", "Proposal", 50, "EUR", "yes", ""],
                              ["OPP-0003", "Three", "ACC-0001", "CON-0001", "Marta", "Proposal", 50, "EUR", "yes", ""]]
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    assert [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0002"]
    assert _blocks(book) == [("error", "Quote Lines", 2, "B", "P1"), ("error", "Quote Lines", 4, "B", "P2")]
    first, second = _validation(book, "unsure_quote_cell")
    assert first[7] == ('The product "P1" (row 2 of Products) has a cell that may mean something else, so the quote for '
                        'OPP-0001 is neither queued nor sent: Products!E2 (Tax Rate): "0.21" read as 0.21 %; could be '
                        '21 %.')
    assert "Products!C3 (Unit Price)" in second[7] and "OPP-0003" in second[7]


def test_an_approved_quote_whose_line_became_unsure_fails_its_row_naming_the_cell(make_book, server):
    book = make_book(crm_tabs())
    sync(book, config(), as_of=AS_OF)
    set_cell(book, "Status", "Approved")
    set_cell(book, "Quantity", "1.500", row=3, tab="Quote Lines")  # 1500 or 1.5
    report = send(book, server)
    assert report.sent == [] and server.inbox.messages == []
    [row] = outbox_rows(book)
    assert row["status"] == "Failed"
    assert "Quote Lines!C3" in row["error"] and '"1.500" read as' in row["error"]


def test_a_doubt_past_the_reports_cap_still_blocks_the_quote(tmp_path):
    # The Validation tab lists at most [validation] max_issues; the quote's doubt must not hang on it.
    tabs = crm_tabs(**{"Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                                       ["OPP-0001", "P1", 2, "", 10], ["OPP-0001", "P2", 2, "19.995", ""]]})
    tabs["Contacts"] += [[f"CON-1{i:03d}", "ACC-0001", "X", "Y", "not-an-email"] for i in range(5)]
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(validation={"max_issues": 2}), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    desk = Desk.read(book.read(), config(validation={"max_issues": 2}))
    assert desk.crm.report.partial
    assert [p.code for p in desk.quote(find_opportunity(desk.crm, "OPP-0001")).problems] == ["unsure_quote_cell"]


def test_a_rate_the_read_only_warned_about_blocks_the_quotes_converted_through_it(tmp_path):
    # Rates "1,170" for USD reads 1170 (could be 1.17): a EUR product on a USD quote was priced
    # 1,000x off with only a warning at the Rates cell.
    tabs = crm_tabs(Rates=[["Currency", "Rate"], ["USD", "1,170"]])
    tabs["Opportunities"][1][7] = "USD"
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    assert _blocks(book) == [("error", "Quote Lines", 2, "B", "P1"), ("error", "Quote Lines", 3, "B", "P2")]
    first = _validation(book, "unsure_quote_cell")[0]
    assert first[7] == ('"P1" is converted into USD through the rate of USD, which may mean something else, so the '
                        'quote for OPP-0001 is neither queued nor sent: Rates!B2: "1,170" read as 1170; could be 1.17.')
    set_cell(book, "Rate", 1.17, row=2, tab="Rates")
    sync(book, config(), as_of=AS_OF)
    assert _blocks(book) == [] and [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0001"]



def test_a_rate_for_the_base_other_than_1_blocks_the_quotes_converted_through_the_tab(tmp_path):
    # Base EUR; Rates says EUR 1.1 and USD 0.9: rates per some other currency, it seems. The EUR
    # row was ignored with a warning and a USD product on a EUR quote was converted at 0.9 (90.00
    # where 0.9 / 1.1 gives 81.82), queued with no word. Every conversion waits for the tab.
    tabs = crm_tabs(Rates=[["Currency", "Rate"], ["EUR", 1.1], ["USD", 0.9]])
    tabs["Products"][1][3] = "USD"
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    assert _blocks(book) == [("error", "Quote Lines", 2, "B", "P1")]  # P2 is in EUR: no conversion
    assert _validation(book, "unsure_quote_cell")[0][7] == (
        '"P1" is converted into EUR through the rate of EUR, which may mean something else, so the quote for '
        'OPP-0001 is neither queued nor sent: Rates!B2: "1.1" is no rate for EUR, the base currency: one EUR is '
        'worth 1 EUR, so this row is ignored.')
    set_cell(book, "Rate", 1, row=2, tab="Rates")
    sync(book, config(), as_of=AS_OF)
    assert _blocks(book) == [] and [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0001"]

def test_a_deal_currency_that_is_a_guess_blocks_its_quote_at_the_cell(tmp_path):
    # Currency "¥" reads JPY (could be CNY), "$2,500" under a blank Currency reads USD (could be
    # CAD): each quote was priced in that currency, converted from the EUR products, and queued
    # with only a warning at the deal's cell.
    tabs = crm_tabs(Rates=[["Currency", "Rate"], ["JPY", 0.0061], ["USD", 0.92]])
    deal = tabs["Opportunities"][1]
    tabs["Opportunities"][1:] = [[*deal[:7], "¥", *deal[8:]],
                                 ["OPP-0002", "Two", *deal[2:6], "$2,500", "", *deal[8:]],
                                 ["OPP-0003", "Three", *deal[2:6], 2500, "USD", *deal[8:]]]
    tabs["Quote Lines"] += [["OPP-0002", "P2", 1, "", ""], ["OPP-0003", "P2", 1, "", ""]]
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    assert [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0003"]
    first, second = _validation(book, "unsure_quote_cell")
    assert (first[0], first[1], first[2], first[3], first[5]) == ("error", "Opportunities", 2, "H", "¥")
    assert first[7] == ('The quote for OPP-0001 is neither queued nor sent while this cell may mean something else: '
                        '"¥" read as JPY; "¥" could also be CNY….')
    assert (second[1], second[2], second[3], second[5]) == ("Opportunities", 3, "G", "$2,500")


def test_a_dollar_read_as_the_base_currency_blocks_no_line_and_names_no_other_currency(tmp_path):
    # Was: "$" under Unit Price, read as USD (the base) and said once for its column at D2,
    # blocked OPP-0001's "$500" while OPP-0002's identical "$600" was queued. A line's price is in
    # its quote's currency whatever mark it shows, so "$500" on a USD quote charges what 500
    # would; so does a product whose Currency is "$". A "$" on a quote in another currency is
    # still an error at its cell.
    tabs = crm_tabs(Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                              ["P1", "Licence", 100, "$", 21], ["P2", "Support", 10, "$", 10]],
                    **{"Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                                       ["OPP-0001", "P1", 1, "$500", ""], ["OPP-0002", "P1", 1, "$600", ""],
                                       ["OPP-0002", "P2", 1, "", ""], ["OPP-0003", "P1", 1, "$700", ""]]})
    deal = tabs["Opportunities"][1]
    tabs["Opportunities"][1:] = [[*deal[:7], "USD", *deal[8:]], ["OPP-0002", "Two", *deal[2:7], "USD", *deal[8:]],
                                 ["OPP-0003", "Three", *deal[2:7], "EUR", *deal[8:]]]
    book = xlsx_book(tmp_path, tabs)
    sync(book, Config(currency="USD"), as_of=AS_OF)
    assert [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0001", "OPP-0002"]
    assert _validation(book, "unsure_quote_cell") == []
    assert [(r[1], r[2], r[3]) for r in _validation(book, "symbol_base")] == [("Products", 2, "D"),
                                                                               ("Quote Lines", 2, "D")]
    [conflict] = _validation(book, "currency_conflict")
    assert (conflict[1], conflict[2], conflict[3], conflict[5]) == ("Quote Lines", 5, "D", "$700")
    desk = Desk.read(book.read(), Config(currency="USD"))
    quotes = [desk.quote(find_opportunity(desk.crm, d)).quote for d in ("OPP-0001", "OPP-0002")]
    assert [(q.currency, str(q.totals.net)) for q in quotes] == [("USD", "500.00"), ("USD", "610.00")]


def test_a_blank_tax_rate_among_taxed_products_blocks_the_quotes_that_price_from_it(tmp_path):
    # A Tax Rate left blank read as 0 % with no word: Support (among 21 % products) went out on a
    # quote with no tax at all, the total short by its 10 %, and the Validation tab said nothing.
    tabs = crm_tabs(Products=[["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                              ["P1", "Licence", 1000.5, "EUR", 21], ["P2", "Support", 99.99, "EUR", None]])
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    [said] = _validation(book, "blank_tax_rate")
    assert (said[0], said[1], said[2], said[3], said[4]) == ("warning", "Products", 3, "E", "Tax Rate")
    assert said[7] == ('The Tax Rate of "P2" is blank, which reads as 0 % (no tax), while other products have one '
                       '(P1: 21 %): it may have been forgotten.')
    assert _blocks(book) == [("error", "Quote Lines", 3, "B", "P2")]
    assert "Products!E3 (Tax Rate)" in _validation(book, "unsure_quote_cell")[0][7]
    # Written 0 %, it is a product with no tax, and the quote goes out without it.
    set_cell(book, "Tax Rate", 0, row=3, tab="Products")
    sync(book, config(), as_of=AS_OF)
    assert _validation(book, "blank_tax_rate") == [] and _blocks(book) == []
    desk = Desk.read(book.read(), config())
    quote = desk.quote(find_opportunity(desk.crm, "OPP-0001")).quote
    assert [(b.rate_pct, str(b.base)) for b in quote.totals.taxes] == [(21, "1800.90")]
    assert [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0001"]
    # A team that charges no tax leaves the column blank: with no product taxed, nothing to doubt.
    set_cell(book, "Tax Rate", "", row=2, tab="Products")
    set_cell(book, "Tax Rate", "", row=3, tab="Products")
    sync(book, config(), as_of=AS_OF)
    assert _validation(book, "blank_tax_rate") == [] and _blocks(book) == []
    assert [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0001", "OPP-0001"]  # the untaxed version


def test_a_column_of_quote_lines_sheetcrm_does_not_read_blocks_the_quote_where_a_line_says_otherwise(tmp_path):
    # A line has no Tax Rate nor Currency of its own: a team's "Tax Rate" 10 on a line of a 21 %
    # product, or "Currency" GBP beside a Unit Price of 4,000 on a quote in EUR, was ignored with
    # no word, and the quote charged 21 % and €4,000. "Discount" names the Discount % column too,
    # so a second column headed so is not read: the line's €100 off was dropped with only a
    # warning at the header, and the quote charged the full price.
    lines = [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %", "Tax Rate", "Currency", "Discount",
              "Notes", "Notes"],  # a team's own column twice: neither is read for the quote, so nothing is lost
             ["OPP-0001", "P1", 2, "", 10, 10, "", "", "", "rush"], ["OPP-0001", "P2", 3, 4000, "", "", "GBP", 100],
             ["OPP-0001", "P2", 1, "", "", 0.1, "eur", ""],  # agree: 10 % as a fraction, the quote's currency,
             ["OPP-0001", "P1", 1, "", "", "21 %", "€", ""]]  # 21 % as text, its symbol
    book = xlsx_book(tmp_path, crm_tabs(**{"Quote Lines": lines}))
    sync(book, config(), as_of=AS_OF)
    assert "Outbox" not in book.read().tabs
    assert _blocks(book, "unread_line_cell") == [("error", "Quote Lines", 2, "F", "10"),
                                                 ("error", "Quote Lines", 3, "G", "GBP")]
    first, second = _validation(book, "unread_line_cell")
    assert first[7] == ('Tax Rate "10" on this line is not read: a quote line is taxed at its product\'s Tax Rate, '
                        '21 %, so the quote for OPP-0001 is neither queued nor sent while they differ.')
    assert "priced in its quote's currency, EUR" in second[7]
    assert _blocks(book) == [("error", "Quote Lines", 3, "H", "100")]
    assert _validation(book, "unsure_quote_cell")[0][7] == (
        'The quote for OPP-0001 is neither queued nor sent while this cell may mean something else: "100" is not '
        'read: its header, "Discount", names the same column as one before it, and only the first is read.')
    set_cell(book, "Tax Rate", 21, row=2, tab="Quote Lines")
    set_cell(book, "Currency", "", row=3, tab="Quote Lines")
    set_cell(book, "Discount", "", row=3, tab="Quote Lines")
    sync(book, config(), as_of=AS_OF)
    assert _blocks(book, "unread_line_cell") == [] and _blocks(book) == []
    assert [r["opportunity"] for r in outbox_rows(book)] == ["OPP-0001"]
