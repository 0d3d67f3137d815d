"""A quote's money: priced lines and totals, exact to the currency's minor unit. Pure.

Every amount is a Decimal rounded ROUND_HALF_UP to the quote currency's minor unit (babel's
currency digits: 2 for EUR and USD, 0 for JPY; half up, as the euro's rounding rule says,
Council Regulation (EC) 1103/97 art. 5, never Decimal's default half-even, which bills 0.125
as 0.12) at the point where a person would see it, so
the document adds up: each line's gross and net are rounded, and the totals are sums of the
rounded line values; the tax is computed per rate, on that rate's base, and rounded once:

    gross    = quantity × unit price
    net      = quantity × unit price × (1 − discount %)     the line subtotal
    discount = gross − net
    subtotal = Σ gross;  discount total = Σ discount;  net total = Σ net
    base(r)  = Σ net of the lines at tax rate r             the product's Tax Rate
    tax(r)   = base(r) × r %, rounded                       the "Tax 21% on €…" row
    tax total = Σ tax(r);  grand total = net total + tax total

Tax per rate on the taxable amount per rate is what an invoice states (EU VAT Directive
2006/112/EC art. 226(8)-(10): the taxable amount per rate, the rate applied, the VAT amount
payable; Spain's RD 1619/2012 art. 6.1 (f)-(h) and 6.2: the base, the rate and the tax, the
base told apart per rate), and it keeps each row's own arithmetic true: three lines of €0.10
at 25% are "Tax 25% on €0.30: €0.08", where rounding each line's €0.025 would charge €0.09. A
line's own `tax` (net × rate, rounded) is its share, for a template that wants it; the lines
of one rate need not sum to that rate's tax.

The quote's currency is the opportunity's (blank: the base currency). A line's unit price is
its override, read as already in the quote currency, else the product's price; either is used
as typed, every decimal of it (SMS at 0.125, storage at 0.0149 a GB: rounding the price to the
cent before multiplying by 10,000 would charge 1,300 for 1,250). A product price converted
through the Rates tab is rounded to `PRICE_DIGITS` significant digits, never coarser than the
minor unit (`converted_price`): the document shows that price and the line is priced with it,
so quantity × shown price = the line, whatever the quantity. A line that cannot be priced (unknown SKU,
negative quantity or price, no exchange rate, or a row that failed validation, such as a
discount over 100%) blocks its quote, never the sync, with an Issue pinned to its cell. So does
a line whose Opportunity or SKU names more than one row (`Shared`): it is never given to one of
them at a guess; a line naming two deals is on neither quote, and blocks both. And so does a
cell the quote is priced from that the read only warned about (`doubts_of`: "19.995" read as
19995, could be 19.995; a Tax Rate 0.21 among 10s): a price sheetcrm is not sure of is never
sent on one tick.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Mapping

from babel.numbers import format_currency, format_decimal, format_percent, get_currency_precision

from sheetcrm import cells
from sheetcrm.cells import LIMIT
from sheetcrm.crm.money import WIDE, Rates
from sheetcrm.i18n import _
from sheetcrm.names import CRM_TABS
from sheetcrm.records import Opportunity, Product, QuoteLine
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import TABS, header_keys
from sheetcrm.table import Table
from sheetcrm.validate import match_key

_HUNDRED = Decimal(100)
# The significant digits a converted unit price keeps (docs/quotes.md): 0.0149 EUR is 0.01620
# USD, not 0.02 (a third more, on every unit); 1,234.5678 is 1,234.57, as a person writes it.
PRICE_DIGITS = 4
# Codes whose problem the validation of the Quote Lines tab already reports on the same cell.
ALREADY_VALIDATED = frozenset({"unknown_sku", "invalid_quote_line"})
# The fields of a Products row a line priced at its own Unit Price does not take from it.
_PRODUCT_PRICE_FIELDS = frozenset({"unit_price", "currency"})


@lru_cache(maxsize=64)  # babel's data never changes in a process; a sync rounds ~20k amounts in few currencies
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`: 0.01 for EUR, 1 for JPY."""
    return Decimal(1).scaleb(-get_currency_precision(currency))


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP, context=WIDE)


# Every figure a quote shows is shown with all its decimals (babel's decimal_quantization off,
# trailing zeros dropped), never rounded for display: a reader multiplies the shown quantity by
# the shown price and gets the shown line. Babel would round half-even besides (12.345 % shown
# 12.34 %), while the quote is priced with the full value.

def format_money(amount: Decimal, currency: str, locale: str) -> str:
    """"1.234,56 €" under es, "$1,234.56" under en: at least the currency's minor unit, and
    every further decimal the value has (a unit price of 0.125 is "€0.125"). Amounts sheetcrm
    computes are already rounded to the minor unit."""
    return format_currency(amount, currency, locale=locale, decimal_quantization=False)


def format_points(points: Decimal, locale: str) -> str:
    """Percentage points as the locale writes them, every decimal kept: "21%", "12.345%" (en),
    "12,5 %" (es)."""
    return format_percent(points / _HUNDRED, locale=locale, decimal_quantization=False)


def format_quantity(quantity: Decimal, locale: str) -> str:
    """"1.3333", "10,000" (en), "10.000" (es): every decimal kept."""
    return format_decimal(quantity, locale=locale, decimal_quantization=False)


def converted_price(price: Decimal, currency: str) -> Decimal:
    """A unit price converted into `currency`, rounded ROUND_HALF_UP to PRICE_DIGITS significant
    digits, or to the minor unit when that is finer: 0.0161963 → 0.01620, 29.9997 → 30.00,
    1234.5678 → 1234.57 (USD)."""
    if not price:
        return round_money(price, currency)
    exponent = min(price.adjusted() - PRICE_DIGITS + 1, minor_unit(currency).as_tuple().exponent)  # type: ignore[operator]
    return price.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP, context=WIDE)


@dataclass(frozen=True)
class PricedLine:
    row: int                 # the Quote Lines row it came from
    sku: str
    name: str
    quantity: Decimal
    unit_price: Decimal      # in the quote currency: as typed, or converted (`converted_price`)
    discount_pct: Decimal    # points
    tax_pct: Decimal         # points
    gross: Decimal
    discount: Decimal
    net: Decimal             # the line subtotal
    tax: Decimal             # net × tax rate, rounded: the line's share; the quote charges TaxBand.tax


@dataclass(frozen=True)
class TaxBand:
    rate_pct: Decimal
    base: Decimal            # Σ net of the lines at this rate
    tax: Decimal             # base × rate, rounded once (module docstring)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal
    taxes: tuple[TaxBand, ...]  # tax per rate, for the "VAT 21% on …" lines of a quote


@dataclass(frozen=True)
class Quote:
    opportunity: Opportunity
    currency: str
    lines: tuple[PricedLine, ...]
    totals: Totals

    @property
    def version(self) -> str:
        """A fingerprint of everything the quote charges. The version a row carries also covers
        what the quote shows (`context.quote_version`, made from this one): queueing is once
        per that version, and a row whose version no longer matches the sheet is never sent.
        The deal's ID counts as IDs compare (`version_id`): "opp-0002" retyped over OPP-0002 is
        the same quote, not a new version with a second number. The lines count as a set, not in
        the tab's order: a person sorting Quote Lines changes nothing the quote charges, and must
        neither fail a row already approved nor queue a second quote of the same lines."""
        return self._fingerprint(self.totals.total, sheet_order=False)

    @property
    def sheet_order_version(self) -> str:
        """The version as sheetcrm made it while the lines counted in the tab's order: a row
        queued then carries it, so such a row is still recognised while its lines are in that
        order (`outbox.Desk.earlier_versions`)."""
        return self._fingerprint(self.totals.total)

    @property
    def typed_version(self) -> str:
        """The version as sheetcrm made it before a figure counted as its value rather than as
        typed (`_plain`): a row queued then from a cell holding "1000.50" or "2.0" carries it,
        so such a row is still recognised (`outbox.prepare`, `outbox.plan_queue`). The same as
        `sheet_order_version` for every quote whose figures have no trailing zeros."""
        return self._fingerprint(self.totals.total, typed=True)

    def spelt_version(self, spelling: str) -> str:
        """The version as sheetcrm made it before IDs were compared as the read compares them
        (`version_id`), with the deal's ID spelt `spelling`: what a row queued then carries when
        the ID was not spelt in capitals (an export's "Deal-17b"), so such a row is still
        recognised (`outbox.Desk.versions`)."""
        return self._fingerprint(self.totals.total, spelling, typed=True)

    @property
    def per_line_version(self) -> str:
        """The version this quote had while sheetcrm rounded the tax per line and summed it
        (before it charged tax per rate): the same fingerprint over that total. A ticked deal
        whose quote went out at this version is not queued again for the rule's change alone
        (`outbox.plan_queue`)."""
        zero = round_money(Decimal(0), self.currency)
        return self._fingerprint(self.totals.net + sum((ln.tax for ln in self.lines), zero), typed=True)

    def _fingerprint(self, total: Decimal, spelling: str | None = None, typed: bool = False,
                     sheet_order: bool = True) -> str:
        """`typed`: each figure as the cell had it ("2.0"), as versions were made before `_plain`.
        `sheet_order`: the lines in the tab's order, as every version was made before `version`;
        otherwise in one order of their own (their fingerprinted values), whatever the tab's."""
        oid = version_id(self.opportunity.id) if spelling is None else spelling
        plain = (lambda d: d) if typed else _plain
        lines = [_counted(ln, plain) for ln in self.lines]
        if not sheet_order:
            lines.sort(key=lambda ln: json.dumps(ln, default=str))
        data = [oid, self.currency, total, lines]
        return hashlib.sha256(json.dumps(data, default=str).encode()).hexdigest()[:12]

    @property
    def counted_lines(self) -> tuple[PricedLine, ...]:
        """The lines in the order `version` counts them, their own, whatever the tab's."""
        return tuple(sorted(self.lines, key=lambda ln: json.dumps(_counted(ln, _plain), default=str)))


def _counted(ln: PricedLine, plain: Callable[[Decimal], Decimal]) -> tuple[Any, ...]:
    """What of a line a version fingerprints."""
    return ln.sku, ln.name, plain(ln.quantity), plain(ln.unit_price), plain(ln.discount_pct), plain(ln.tax_pct)


def _plain(figure: Decimal) -> Decimal:
    """A figure as its value, whatever trailing zeros its cell was typed with: 2 for "2.0", 1000.5
    for "1000.50", as the quote shows them (`format_quantity`, `format_money`). A version
    fingerprints the value, so retyping a cell the same value (a number stored as text turned
    into a number) is not a new quote, with a new number and a second email for the same
    document. Whole numbers keep their digits (10, never 1E+1), so versions made before are
    unchanged for every figure without trailing zeros."""
    value = figure.normalize(WIDE)
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


@dataclass
class QuoteResult:
    """A priced quote, or None with the problems that block it."""

    quote: Quote | None
    problems: list[Issue] = field(default_factory=list)


def version_id(text: str | None) -> str | None:
    """An ID as a quote version fingerprints it: the same for every spelling the read takes as
    that ID (`match_key`: case, non-breaking and zero-width spaces), in capitals, so an ID spelt
    as sheetcrm writes them ("OPP-0001", "17") is itself and the versions of its quotes are the
    ones sheetcrm made before it compared IDs so."""
    return match_key(text).upper() if text else text


def quote_number(year: int, n: int) -> str:
    return f"Q-{year}-{n:04d}"


# The rows a line's reference names, as the read resolves it (`validate.named_by`): a function
# of the field ("opportunity" or "sku") and the text -> (the tab's title, sheet row, how a
# message names the row) of each row it names, rows with errors included.
Named = Callable[[str, str], list[tuple[str, int, str]]]


@dataclass(frozen=True)
class Shared:
    """A line's reference that names more than one row: the line cannot say which it means."""

    field: str                 # "opportunity" or "sku"
    value: str                 # as the line has it
    tab: str                   # the title of the tab it names rows of
    rows: tuple[int, ...]      # the sheet rows it names (of Opportunities, or of Products)
    labels: tuple[str, ...]    # how a message names each: "OPP-0001 (row 2)", "row 4"


@dataclass
class QuoteLines:
    """The Quote Lines tab grouped by the opportunity each row names (ID or exact name), once
    per read: valid lines, the rows that failed validation, and the lines whose Opportunity or
    SKU names more than one row (`shared`, `shared_skus`)."""

    table: Table | None
    valid: dict[str, list[QuoteLine]] = field(default_factory=dict)
    invalid: dict[str, list[int]] = field(default_factory=dict)
    errors: dict[int, list[Issue]] = field(default_factory=dict)  # sheet row -> its errors, as validated
    key: Callable[[str], str] = match_key  # validate.match_key, or the read's memo of it
    # A line whose Opportunity names two deals or more is on no quote: deal sheet row -> those
    # lines (in sheet order) with what they name, so each deal it may mean is blocked.
    shared: dict[int, list[tuple[QuoteLine, Shared]]] = field(default_factory=dict)
    # Line sheet row -> its SKU, when that names two product rows or more (a SKU on two rows,
    # or a product name two products share): no price to take.
    shared_skus: dict[int, Shared] = field(default_factory=dict)
    # Line sheet row -> the warnings at its cells (`doubts_of`): each blocks the line's quote.
    doubts: dict[int, list[tuple[str, Issue]]] = field(default_factory=dict)

    @classmethod
    def group(cls, table: Table | None, issues: Iterable[Issue] = (), key: Callable[[str], str] = match_key,
              named: Named | None = None) -> "QuoteLines":
        """`issues`, the validation report's, let a blocked quote name each bad line's errors.
        `key` is `match_key`, or the read's memo of it (`Crm.keys.__getitem__`: every deal's
        ID and name is keyed there already). `named` tells the rows a line's Opportunity or
        SKU names (`Named`); without it every reference is taken to name one row."""
        out = cls(table, key=key)
        if table is None:
            return out
        issues = list(issues)
        for issue in issues:
            if issue.severity == "error" and issue.tab == table.title and issue.row is not None:
                out.errors.setdefault(issue.row, []).append(issue)
        out.doubts = doubts_of(table, issues)
        _doubt_unread_duplicates(table, issues, out.doubts)
        col = table.header.fields.get("opportunity")
        seen: dict[tuple[str, str], Shared | None] = {}  # most lines name the same few deals and products

        def shared(field_name: str, text: str) -> Shared | None:
            if named is None:
                return None
            if (field_name, text) not in seen:
                found = named(field_name, text)
                rows = {row: label for _tab, row, label in found}
                seen[field_name, text] = Shared(field_name, text, found[0][0], tuple(rows), tuple(rows.values())) \
                    if len(rows) > 1 else None
            return seen[field_name, text]

        for row in table.rows:
            if row.record is not None:
                line: QuoteLine = row.record  # type: ignore[assignment]
                deals = shared("opportunity", line.opportunity)
                if deals is not None:
                    # Never guessed: on none of the quotes it may mean, each blocked by it.
                    for deal_row in deals.rows:
                        out.shared.setdefault(deal_row, []).append((line, deals))
                    continue
                if (skus := shared("sku", line.sku)) is not None:
                    out.shared_skus[line.row] = skus
                out.valid.setdefault(line.opportunity, []).append(line)
            elif col is not None and col < len(row.cells) and (name := cells.parse_text(row.cells[col])):
                # Compared as validation compares references, so a line with errors that names
                # its deal loosely ("expansion\u00a0") still blocks that deal's quote.
                out.invalid.setdefault(key(name), []).append(row.row)
        return out

    def of(self, opportunity: Opportunity) -> tuple[list[QuoteLine], list[int]]:
        """The opportunity's valid lines (named by its ID or its name) and the rows of its lines
        with errors, each in sheet order."""
        oid, name = opportunity.id, opportunity.name
        keys = [k for k in (oid, name) if k] if oid != name else [oid] if oid else []
        valid = [ln for k in keys for ln in self.valid.get(k, ())]
        if len(valid) > 1:
            valid.sort(key=_row)
        if not self.invalid:  # most reads: no line with errors, no key to fold (every deal is asked)
            return valid, []
        loose = dict.fromkeys(self.key(k) for k in keys)
        return valid, sorted(r for k in loose for r in self.invalid.get(k, ()))

    def shared_of(self, opportunity: Opportunity) -> list[tuple[QuoteLine, Shared]]:
        """The lines whose Opportunity names this deal and another (`shared`), in sheet order."""
        return self.shared.get(opportunity.row, []) if self.shared else []


# Every name a column of Quote Lines is read under (its header, Spanish header and aliases).
_LINE_HEADERS = frozenset(cells.normalize_key(n) for c in TABS["quote_lines"].columns
                          for n in (c.header, c.header_es, *c.aliases))


def _doubt_unread_duplicates(table: Table, issues: Iterable[Issue],
                             doubts: dict[int, list[tuple[str, Issue]]]) -> None:
    """A column of Quote Lines whose header repeats one read before it ("Discount" after
    "Discount %", "Price" after "Unit Price") is not read (`duplicate_header`, at the header).
    A line with a value in it means something by it (€100 off, this price) that its quote
    does not charge: the cell is a doubt of the line (`doubts`, by sheet row), so its quote is
    blocked at that cell like any cell the read only warned about."""
    for issue in (*table.warnings, *issues):
        if issue.code != "duplicate_header" or issue.tab != table.title or not issue.column \
                or header_keys(issue.header or "")[1] not in _LINE_HEADERS:
            continue  # a team's own column said twice ("Notes"): neither is read for the quote
        col = _column_index(issue.column)
        for row in table.rows:
            raw = row.cells[col] if row.cells is not None and col < len(row.cells) else None
            if cells.is_blank(raw) or any(d.code == "duplicate_header" and d.column == issue.column
                                          for _f, d in doubts.get(row.row, ())):
                continue
            doubts.setdefault(row.row, []).append((issue.header or "", dataclasses.replace(
                issue, row=row.row, value=raw,
                message=_('{shown} is not read: its header, "{header}", names the same column as one before it, '
                          'and only the first is read.', shown=cells.quoted(raw), header=issue.header))))


def _column_index(letters: str) -> int:
    """0-based: "A" -> 0, "AB" -> 27."""
    n = 0
    for c in letters:
        n = n * 26 + ord(c) - 64
    return n - 1


def _row(line: QuoteLine) -> int:
    return line.row


def products_with_errors(table: Table | None, issues: Iterable[Issue]) -> dict[str, tuple[str, int, list[Issue]]]:
    """The Products rows with errors, by SKU as validation resolves a quote line's SKU to them
    (the SKU as that row has it): SKU -> (the tab's title, sheet row, its errors). Such a row is still a valid
    SKU reference (README: a row with a bad cell is still the record people refer to), but no
    product to price with."""
    out: dict[str, tuple[str, int, list[Issue]]] = {}
    if table is None:
        return out
    errors: dict[int, list[Issue]] = {}
    for issue in issues:
        if issue.severity == "error" and issue.tab == table.title and issue.row is not None:
            errors.setdefault(issue.row, []).append(issue)
    col = table.header.fields.get("sku")
    for row in table.rows:
        if row.record is not None or not row.has_errors:
            continue
        sku = row.target.sku if row.target is not None else (  # type: ignore[attr-defined]
            cells.parse_text(row.cells[col]) if col is not None and col < len(row.cells) else None)
        if sku and sku not in out:
            out[sku] = (table.title, row.row, errors.get(row.row, []))
    return out


# Warnings that leave no doubt about what a quote charges, so they block none (docs/quotes.md).
# `symbol_base`, a "$" read as the base currency (said once for its column): a price is in its
# quote's currency whatever mark it shows, and a mark naming another currency than the quote's
# is a `currency_conflict` error (validate.py), so "$500" on a quote in the base currency is
# priced exactly as 500 would be, and a Currency "$" (a deal's, a product's, a rate's) gives
# what a blank one gives. Blocking on it blocked the one line the note is pinned to and sent
# the next line's identical "$600".
NO_DOUBT = frozenset({"symbol_base"})


def doubts_of(table: Table | None, issues: Iterable[Issue]) -> dict[int, list[tuple[str, Issue]]]:
    """The warnings at the record fields' cells of `table` (Quote Lines, Products), by sheet
    row: row -> [(field name, warning)]: those its read kept (`Table.warnings`, past the
    report's cap too), then those of `issues` (the report's) made after it. A warning is a cell
    sheetcrm read one way while it may mean another ("19.995" read as 19995; could be 19.995)
    or had to take as something it does not say: a quote
    priced from it is not sure, so it is not sent (`price_quote`). Not a `symbol_base` note
    (`NO_DOUBT`)."""
    out: dict[int, list[tuple[str, Issue]]] = {}
    if table is None:
        return out
    fields = {column_letter(col + 1): name for name, col in table.header.fields.items()}
    seen = set()
    for issue in (*table.warnings, *issues):
        if issue.severity == "warning" and issue.code not in NO_DOUBT and issue.tab == table.title \
                and issue.row is not None and issue.column in fields and (key := (issue.row, issue.column, issue.code, issue.message)) not in seen:
            seen.add(key)
            out.setdefault(issue.row, []).append((fields[issue.column], issue))
    return out


def price_quote(opportunity: Opportunity, quote_lines: QuoteLines, products: Mapping[str, Product],
                rates: Rates, broken: Mapping[str, tuple[str, int, list[Issue]]] | None = None,
                unsure: Mapping[int, list[tuple[str, Issue]]] | None = None,
                deals_unsure: Mapping[int, list[tuple[str, Issue]]] | None = None) -> QuoteResult:
    """Price the opportunity's quote lines. `broken`: the Products rows with errors
    (`products_with_errors`); a line naming one blocks its quote with `product_errors`, which
    names that row (validation found the SKU reference sound, so nothing else says the quote is
    blocked), followed by that row's errors at their cells when `broken` knows them. A warning
    at a cell a line is priced from blocks its quote too (`unsure_quote_cell`): one at the
    line's own cell (`quote_lines.doubts`) is said again there as the error that blocks, one
    of its product's row (`unsure`: `doubts_of` the Products tab; its Unit Price and Currency
    only when the line has no Unit Price of its own) or of the Rates row its converted price
    goes through (`Rates.doubts`) at the line's SKU cell, naming it. So does a guess at the
    quote's currency on the deal's row (`deals_unsure`: `doubts_of` the Opportunities tab; a
    Currency "$" read as USD, could be CAD), said again at its cell (`_guessed_currency`)."""
    currency = opportunity.currency or rates.base
    table = quote_lines.table
    lines, invalid_rows = quote_lines.of(opportunity)
    result = QuoteResult(None)

    def problem(line_row: int, field_name: str | None, value: Any, code: str, message: str, hint: str) -> None:
        col = table.header.fields.get(field_name) if table is not None and field_name else None
        result.problems.append(Issue(
            "error", table.title if table is not None else CRM_TABS["quote_lines"], line_row,
            column_letter(col + 1) if col is not None else None,
            table.header.labels.get(col) if table is not None and col is not None else None,
            value, code, message, hint))

    for _field, doubt in (deals_unsure or {}).get(opportunity.row, ()):
        if _guessed_currency(_field, doubt):
            result.problems.append(dataclasses.replace(
                doubt, severity="error", code="unsure_quote_cell",
                message=_("The quote for {opportunity} is neither queued nor sent while this cell may mean "
                          "something else: {doubt}", opportunity=opportunity.id or opportunity.name, doubt=doubt.message)))
    for line, deals in quote_lines.shared_of(opportunity):
        problem(line.row, "opportunity", line.opportunity, "ambiguous_opportunity",
                _("{shown} names more than one opportunity: {rows}. The line is on none of their quotes, and each "
                  "of those quotes is blocked until it names one.", shown=cells.quoted(line.opportunity),
                  rows=", ".join(deals.labels)),
                _("Use the ID of the opportunity this line is for."))
    for row in invalid_rows:
        known = quote_lines.errors.get(row)
        if known:
            result.problems.extend(known)  # the line's own errors, at their cells
            continue
        problem(row, None, None, "invalid_quote_line",
                _("Quote line on row {row} has errors, so the quote for {opportunity} cannot be priced.", row=row,
                  opportunity=opportunity.id),
                _("Fix the row (see its other issues)."))
    priced: list[PricedLine] = []
    named: set[str] = set()
    for line in lines:
        skus = quote_lines.shared_skus.get(line.row)
        if skus is not None:
            # Never one of them at a guess (the first row's price, say): the line has no price.
            problem(line.row, "sku", line.sku, "ambiguous_product",
                    _("{shown} names more than one product (rows {rows} of {tab}), so the quote for {opportunity} "
                      "cannot be priced.", shown=cells.quoted(line.sku), rows=", ".join(map(str, skus.rows)),
                      tab=skus.tab, opportunity=opportunity.id or opportunity.name),
                    _("Give each product its own SKU, then use the SKU of the one this line is for."))
            continue
        product = products.get(line.sku)
        if product is None and broken and line.sku in broken:
            product_tab, product_row, errors = broken[line.sku]
            problem(line.row, "sku", line.sku, "product_errors",
                    _("The product {sku} (row {row} of {tab}) has errors, so the quote for {opportunity} cannot be "
                      "priced.", sku=cells.quoted(line.sku), row=product_row, tab=product_tab,
                      opportunity=opportunity.id or opportunity.name),
                    _("Fix that product's row (its errors are listed in the Validation tab)."))
            if line.sku not in named:  # the product's own errors, at their cells, once
                named.add(line.sku)
                result.problems.extend(errors)
            continue
        if product is None:
            problem(line.row, "sku", line.sku, "unknown_sku",
                    _('"{sku}" does not match any valid product.', sku=line.sku),
                    _("Use a SKU from the Products tab, and fix that product's row if it has errors."))
            continue
        ok = True
        for _field, doubt in quote_lines.doubts.get(line.row, ()):
            ok = False
            result.problems.append(dataclasses.replace(
                doubt, severity="error", code="unsure_quote_cell",
                message=_("The quote for {opportunity} is neither queued nor sent while this cell may mean "
                          "something else: {doubt}", opportunity=opportunity.id or opportunity.name, doubt=doubt.message)))
        for field_name, doubt in (unsure or {}).get(product.row, ()):
            if line.unit_price is not None and field_name in _PRODUCT_PRICE_FIELDS:
                continue  # the line's own price: this one is not used
            ok = False
            problem(line.row, "sku", line.sku, "unsure_quote_cell",
                    _("The product {sku} (row {row} of {tab}) has a cell that may mean something else, so the quote "
                      "for {opportunity} is neither queued nor sent: {cell} ({header}): {doubt}",
                      sku=cells.quoted(line.sku), row=product.row, tab=doubt.tab,
                      opportunity=opportunity.id or opportunity.name, cell=doubt.where(), header=doubt.header,
                      doubt=doubt.message),
                    doubt.hint)
        if line.quantity < 0:
            ok = False
            problem(line.row, "quantity", line.quantity, "negative_quantity",
                    _("The quantity {quantity} is negative.", quantity=cells.show_number(line.quantity)),
                    _("Use a quantity of 0 or more."))
        # A discount outside 0–100% never gets here: its cell fails validation, and the line
        # blocks the quote as an invalid row.
        discount = line.discount if line.discount is not None else Decimal(0)
        if line.unit_price is not None and line.unit_price < 0:
            ok = False
            problem(line.row, "unit_price", line.unit_price, "negative_price",
                    _("The unit price {price} is negative.", price=cells.show_number(line.unit_price)),
                    _("Use a price of 0 or more."))
        elif line.unit_price is None and product.unit_price < 0:
            # The price the line takes from its product is as much its price as one typed on the
            # line: a negative one made a quote whose total was below zero, queued with no word.
            ok = False
            problem(line.row, "sku", line.sku, "negative_price",
                    _("The product {sku} has a negative Unit Price, {price}, so the quote for {opportunity} cannot "
                      "be priced.", sku=cells.quoted(line.sku),
                      price=cells.show_number(product.unit_price), opportunity=opportunity.id or opportunity.name),
                    _("Set that product's Unit Price to 0 or more, or type this line's own Unit Price."))
        unit = line.unit_price
        if unit is None and (product.currency or rates.base) != currency:
            # The base's own row too: each rate is "per base", whichever two currencies it converts.
            for code in dict.fromkeys((product.currency or rates.base, currency, rates.base)):
                for doubt in rates.doubts.get(code, ()):
                    if doubt.code in NO_DOUBT:
                        continue
                    ok = False
                    problem(line.row, "sku", line.sku, "unsure_quote_cell",
                            _("{sku} is converted into {currency} through the rate of {code}, which may mean something "
                              "else, so the quote for {opportunity} is neither queued nor sent: {cell}: {doubt}",
                              sku=cells.quoted(line.sku), currency=currency, code=code,
                              opportunity=opportunity.id or opportunity.name, cell=doubt.where(), doubt=doubt.message),
                            doubt.hint)
        if unit is None:
            unit = _convert(product.unit_price, product.currency or rates.base, currency, rates)
            if unit is not None and (product.currency or rates.base) != currency:
                unit = converted_price(unit, currency)
            if unit is None:
                ok = False
                missing = product.currency if rates.rate(product.currency) is None else currency
                problem(line.row, "sku", line.sku, "missing_rate",
                        _("{sku} is priced in {source} but the quote is in {currency}, and there is no exchange rate "
                          "for {missing}.", sku=line.sku, source=product.currency or rates.base, currency=currency,
                          missing=missing),
                        _("Add {missing} to the Rates tab, or type this line's Unit Price in {currency}.",
                          missing=missing, currency=currency))
        if unit is not None:
            for problem_issue in _unread_cells(line, table, product, currency, rates.base,
                                               opportunity.id or opportunity.name):
                ok = False
                result.problems.append(problem_issue)
        if ok and abs(line.quantity * unit) >= LIMIT:  # type: ignore[operator]
            ok = False
            problem(line.row, "quantity", line.quantity, "out_of_range",
                    _("{quantity} × {price} is too large for a quote: sheetcrm handles amounts below 10^15.",
                      quantity=cells.show_number(line.quantity), price=cells.show_number(unit)),
                    _("Check the quantity and the unit price."))
        if not ok:
            continue
        priced.append(_price_line(line, product, unit, discount, currency))  # type: ignore[arg-type]

    totals = _totals(priced, currency)
    if priced and abs(totals.total) >= LIMIT:
        problem(priced[0].row, None, None, "out_of_range",
                _("The quote for {opportunity} adds up to more than 10^15, too large for a quote.",
                  opportunity=opportunity.id),
                _("Check the quantities and unit prices of its lines."))
    if result.problems:
        return result
    result.quote = Quote(opportunity, currency, tuple(priced), totals)
    return result


# A symbol guessed as one of its currencies ("$" read as USD, could be CAD), said on each cell.
# (`symbol_base`, read as the base currency, is what a blank Currency gives: `NO_DOUBT`.)
_CURRENCY_GUESSES = frozenset({"symbol_guess"})


def _guessed_currency(field_name: str, doubt: Issue) -> bool:
    """Whether a warning on a deal's row is a doubt about the quote's currency: at its Currency
    cell, or a symbol guessed in one of its amounts, which gives the Currency a blank cell leaves
    (the only way an amount's symbol comes to mean a currency without an error)."""
    return field_name == "currency" or doubt.code in _CURRENCY_GUESSES


# A line has no Tax Rate nor Currency of its own: it is taxed at its product's rate and priced in
# its quote's currency. A team that adds such a column to Quote Lines means something by it (10 %
# on this line, this price in GBP), and the quote charged otherwise with no word: the headers
# (every name the Products column goes by) whose cells must agree with what the line is priced at.
_UNREAD = {f: frozenset(cells.normalize_key(n) for c in TABS["products"].columns if c.field == f
                        for n in (c.header, c.header_es, *c.aliases)) for f in ("tax_rate", "currency")}


@lru_cache(maxsize=256)  # a tab's few headers, asked of every line
def _unread_field(header: str) -> str | None:
    key = header_keys(header)[1]
    return next((f for f, names in _UNREAD.items() if key in names), None)


def _as_rates(value: Any) -> set[Decimal]:
    """The rates, in points, a cell of a team's own Tax Rate column may mean: 10 or 0.1 for
    10 %, "10%" or "10 %" as text; none for anything else."""
    if isinstance(value, Decimal):
        return {value, value * 100}
    out = set()
    for locale in ("en", "es"):
        for scale in ("points", "fraction"):
            try:
                if (points := cells.parse_percent(value, locale, scale)) is not None:
                    out.add(points)
            except cells.CellError:
                pass
    return out


def _unread_cells(line: QuoteLine, table: Table | None, product: Product, currency: str, base: str,
                  opportunity: str | None) -> list[Issue]:
    """An `unread_line_cell` error at each cell of `line` under a column of the team's named as
    a Products Tax Rate or Currency (`_UNREAD`) that says other than what the line is priced
    with: a rate other than its product's (10 or 0.1 for 10 %), a currency other than its
    quote's. A blank cell, or one that agrees, says nothing."""
    if table is None or not table.header.custom:
        return []
    tax = product.tax_rate if product.tax_rate is not None else Decimal(0)
    out = []
    for header, col in table.header.custom.items():
        field_name = _unread_field(header)
        value = line.custom.get(header) if field_name else None
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if field_name == "tax_rate":
            if tax in _as_rates(value):
                continue
            message = _("{header} {value} on this line is not read: a quote line is taxed at its product's Tax "
                        "Rate, {rate} %, so the quote for {opportunity} is neither queued nor sent while they "
                        "differ.", header=header, value=cells.quoted(value), rate=cells.show_number(tax),
                        opportunity=opportunity)
            hint = _("Set the Tax Rate of {sku} in Products (a quote line has no rate of its own), or clear this "
                     "cell.", sku=cells.quoted(product.sku))
        else:
            try:
                named = cells.parse_currency(value, base) if isinstance(value, str) else None
            except cells.CellError:
                named = None
            if named == currency:
                continue
            message = _("{header} {value} on this line is not read: a quote line is priced in its quote's "
                        "currency, {currency}, so the quote for {opportunity} is neither queued nor sent while "
                        "they differ.", header=header, value=cells.quoted(value), currency=currency,
                        opportunity=opportunity)
            hint = _("Set the opportunity's Currency, or type the line's Unit Price in {currency} and clear this "
                     "cell.", currency=currency)
        out.append(Issue("error", table.title, line.row, column_letter(col + 1), header, value, "unread_line_cell",
                         message, hint))
    return out


def _convert(amount: Decimal, source: str, target: str, rates: Rates) -> Decimal | None:
    if source == target:
        return amount
    rate_from, rate_to = rates.rate(source), rates.rate(target)
    if rate_from is None or rate_to is None:
        return None
    return amount * rate_from / rate_to


def _price_line(line: QuoteLine, product: Product, unit: Decimal, discount: Decimal, currency: str) -> PricedLine:
    tax_pct = product.tax_rate if product.tax_rate is not None else Decimal(0)
    exact = line.quantity * unit
    gross = round_money(exact, currency)
    net = round_money(exact * (_HUNDRED - discount) / _HUNDRED, currency)
    tax = round_money(net * tax_pct / _HUNDRED, currency)
    return PricedLine(line.row, product.sku, product.name, line.quantity, unit, discount, tax_pct,
                      gross, gross - net, net, tax)


def _totals(lines: Iterable[PricedLine], currency: str) -> Totals:
    lines = list(lines)
    zero = round_money(Decimal(0), currency)
    if not lines:  # most deals have no quote: every sum is zero (a sync asks for every deal's)
        return Totals(zero, zero, zero, zero, zero + zero, ())
    subtotal = sum((ln.gross for ln in lines), zero)
    discount = sum((ln.discount for ln in lines), zero)
    net = sum((ln.net for ln in lines), zero)
    bases: dict[Decimal, Decimal] = {}
    for ln in lines:
        bases[ln.tax_pct] = bases.get(ln.tax_pct, zero) + ln.net
    taxes = tuple(TaxBand(rate, base, round_money(base * rate / _HUNDRED, currency))
                  for rate, base in sorted(bases.items()) if rate)
    tax = sum((band.tax for band in taxes), zero)
    return Totals(subtotal, discount, net, tax, net + tax, taxes)
