"""Turn raw spreadsheet cells into typed values.

A raw cell is what a backend reports: text typed by a person, or a native value from
openpyxl or from Google's UNFORMATTED_VALUE reads (where dates arrive as serial numbers).
Every parser returns None for a blank cell and raises CellError for anything it cannot
read; nothing here does I/O.

Locale ("en" or "es") decides the two ambiguous things, which separator is decimal and
whether numeric dates are month first or day first. Where a value is impossible under the
locale but would read fine the other way ("1,5" in en, "15/03/2024" in en) it is an error
whose hint names the other locale, never a silent guess: a column that is half guessed is
worse than one that fails loudly on the first row.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import email.utils
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_skeleton, get_day_names, get_month_names
from babel.numbers import format_decimal, get_currency_precision, list_currencies
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from sheetcrm.i18n import N_, NC_, _, current, pgettext

RawCell = str | int | float | bool | _dt.datetime | _dt.date | None


class CellError(ValueError):
    """A cell that does not hold what its column needs.

    `code` is stable for programs, `message` names the value for people, `hint` says what
    to type instead.
    """

    def __init__(self, code: str, message: str, hint: str, raw: RawCell = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint
        self.raw = raw

    def __str__(self) -> str:
        return self.message

    # ValueError would pickle as cls(message); keep every field across processes.
    def __reduce__(self):
        return (type(self), (self.code, self.message, self.hint, self.raw))


# str.strip() already covers nbsp and the thin spaces; zero-width spaces and BOMs are not
# whitespace to Python but arrive in pasted cells all the same.
_STRIP = "".join(c for c in map(chr, range(0x3001)) if c.isspace()) + "\u200b\u2060\ufeff"

# Long cells (a paragraph pasted into a number column) would make error reports unreadable.
_SHOW_MAX = 80


def visible(text: str) -> str:
    """`text` with every character a person cannot see written as an escape: a non-breaking
    space becomes \\u00a0, a zero-width space \\u200b, a tab \\u0009, ESC \\u001b. The plain
    space stays, so "Acme\\u00a0Corp" and "Acme Corp" look different in a message."""
    if text.isascii() and text.isprintable():
        return text
    return "".join(c if c.isprintable() else
                   (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}") for c in text)


# A yes/no cell as a spreadsheet app shows it in the current language (TRUE, VERDADERO).
_SHOWN_TRUE, _SHOWN_FALSE = NC_("cell value", "TRUE"), NC_("cell value", "FALSE")


def quoted(raw: RawCell) -> str:
    """A cell's value quoted for a message, as typed: invisible characters made visible; a
    yes/no cell as a spreadsheet app shows it (TRUE, not Python's True)."""
    if isinstance(raw, bool):
        return f'"{pgettext(*(_SHOWN_TRUE if raw else _SHOWN_FALSE))}"'
    text = raw if isinstance(raw, str) else str(raw)
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 1] + "…"
    return f'"{visible(text)}"'


def half_up(value: Decimal | int | float, digits: int = 0) -> Decimal:
    """`value` rounded half up to `digits` decimals (6.25 -> 6.3 at one): the one rounding of
    every figure sheetcrm shows (tabs, terminal, messages), as its money is (`crm.money.minor`).
    Babel and Python's `round` go half to even (6.25 -> 6.2), so a figure is rounded here
    before they format it. A float is taken as its shortest repr (0.0625 is 0.0625, not the
    binary value just below it), as a person reads it."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value))
    return exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def show_number(value: Decimal | int | float, group: bool = True, locale: str | None = None) -> str:
    """A number sheetcrm states in a message, written the way the current language (or
    `locale`: a column's convention, for a number to type in it) writes numbers (babel, CLDR):
    2958465.5 -> "2,958,465.5" (en), "2.958.465,5" (es); without `group` "2958465.5" /
    "2958465,5", for messages about which separator a cell means. Every digit is kept."""
    return format_decimal(value, format=None if group else "0.###", locale=locale or current(),
                          decimal_quantization=False)


@dataclass(frozen=True)
class _Locale:
    name: str
    thousands: str
    decimal: str
    day_first: bool
    number_hint: str
    date_hint: str
    percent_hint: str


_LOCALES = {
    "en": _Locale(
        name="en",
        thousands=",",
        decimal=".",
        day_first=False,
        number_hint=N_('Use a number like 1234.50 or 1,234.50 (or 1.234,50 with locale "es")'),
        date_hint=N_('Use a date like 2024-03-15 or 03/15/2024 (month first), '
                     'or set locale "es" if this sheet writes dates day first'),
        percent_hint=N_("Use a percentage from 0 to 100, like 75 or 12.5%"),
    ),
    "es": _Locale(
        name="es",
        thousands=".",
        decimal=",",
        day_first=True,
        number_hint=N_('Use a number like 1234,50 or 1.234,50 (or 1,234.50 with locale "en")'),
        date_hint=N_('Use a date like 2024-03-15 or 15/03/2024 (day first), '
                     'or set locale "en" if this sheet writes dates month first'),
        percent_hint=N_("Use a percentage from 0 to 100, like 75 or 12,5 %"),
    ),
}


def _locale(locale: str) -> _Locale:
    try:
        return _LOCALES[locale]
    except KeyError:
        raise ValueError(f"unsupported locale {locale!r}; use 'en' or 'es'") from None  # not for people: a caller's bug


# --- keys, blanks, text -------------------------------------------------------------------

_KEY_SEPARATORS = str.maketrans("_-", "  ")


@lru_cache(maxsize=16384)  # enum cells repeat a handful of values down 100k rows
def normalize_key(s: str) -> str:
    """Fold a header, alias or enum value so that spelling variants people type compare equal:
    `canonical_text`, then case, accents, and "_" or "-" for a space."""
    s = canonical_text(s).casefold()
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return " ".join(s.translate(_KEY_SEPARATORS).split())


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
                         "\u00ab": '"', "\u00bb": '"'})
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))


def canonical_text(s: str) -> str:
    """Text as a person reads it, for comparing names, references, enum values and duplicates.

    NFKC (Unicode's compatibility normalisation: full-width letters, ligatures, the non-breaking
    space become their plain forms), zero-width characters and soft hyphens dropped, curly quotes
    made straight, every run of white space one space, trimmed. Case is kept: callers that ignore
    case fold it themselves.
    """
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s).translate(_INVISIBLE).translate(_QUOTES)
    return " ".join(s.split())


def match_key(text: str) -> str:
    """How IDs, names, emails and SKUs compare: as a person reads them (`canonical_text`:
    non-breaking and zero-width spaces, doubled spaces, curly quotes), ignoring case. The one
    rule for "the same ID": references, the unique-ID check, and every record carried from one
    sync to the next by its ID (Stage History, Lead Status History, the Workflow State and Log,
    From Lead and Copied From: `id_spelling`; quote versions and a deal's Outbox rows, workflow
    emails and the digest's events: sheetcrm.mail) use it."""
    return canonical_text(text).casefold()


def id_spelling(ids: Iterable[str]) -> Callable[[str], str]:
    """`spell(text)`: the one of `ids` that `text` names as IDs compare (`match_key`), as `ids`
    spell it; `text` itself when it is one of `ids` as it is, or names none of them, or several
    (IDs that differ only in case: the duplicate-ID check's error, never guessed). For what a
    sync reads back by ID (a log, a state, a From Lead cell) to name each record as its row
    spells it now. `ids` is read at the first call; only a text not found as it is costs a
    `match_key`."""
    now: set[str] | None = None
    by_key: dict[str, str | None] | None = None

    def spell(text: str) -> str:
        nonlocal now, by_key
        if now is None:
            now = set(ids)
        if text in now:
            return text
        if by_key is None:
            by_key = {}
            for i in now:
                k = match_key(i)
                by_key[k] = i if k not in by_key else None
        return by_key.get(match_key(text)) or text
    return spell


def is_blank(raw: RawCell) -> bool:
    if raw is None:
        return True
    return isinstance(raw, str) and not raw.strip(_STRIP)


def _float_text(f: float) -> str:
    if f.is_integer():
        return str(int(f))
    # Positional, so a long id or a tiny rate never turns into "1e-07".
    return format(Decimal(repr(f)), "f")


def parse_text(raw: RawCell) -> str | None:
    """Trimmed text; native values rendered the way a sheet shows them."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw.strip(_STRIP) or None
    if isinstance(raw, bool):
        return "TRUE" if raw else "FALSE"
    if isinstance(raw, float) and math.isfinite(raw):
        return _float_text(raw)
    if isinstance(raw, _dt.date):
        return raw.isoformat()
    return str(raw)


# --- numbers ------------------------------------------------------------------------------

# The symbols people write in amounts, and the currencies each may mean. A symbol with one
# meaning is read as that currency; an ambiguous one ($, ¥, kr) is read as the base currency
# when the base is one of its meanings, else as its first meaning (with a warning from the
# caller), and "kr" with no such base is not read at all. Kept as data: one place to add a symbol.
# Between the currencies of a number format that shows more than one (`#,##0 "€" "£"`;
# workbook/numformat.py): no currency symbol or code holds it.
SEVERAL_CURRENCIES = "|"
SYMBOL_CURRENCIES: dict[str, tuple[str, ...]] = {
    "€": ("EUR",), "£": ("GBP",), "US$": ("USD",), "U$S": ("USD",), "R$": ("BRL",), "C$": ("CAD",),
    "CA$": ("CAD",), "A$": ("AUD",), "AU$": ("AUD",), "NZ$": ("NZD",), "HK$": ("HKD",), "S$": ("SGD",),
    "MX$": ("MXN",), "₹": ("INR",), "₩": ("KRW",), "₽": ("RUB",), "₺": ("TRY",), "₪": ("ILS",),
    "₱": ("PHP",), "₫": ("VND",), "฿": ("THB",), "zł": ("PLN",), "Kč": ("CZK",), "Ft": ("HUF",),
    "$": ("USD", "MXN", "CAD", "AUD", "NZD", "ARS", "CLP", "COP", "UYU", "SGD", "HKD"),
    "¥": ("JPY", "CNY"),
    "kr": ("SEK", "NOK", "DKK", "ISK"), "kr.": ("DKK", "NOK", "SEK", "ISK"),
}
# The error of an ambiguous symbol with no usual meaning ("kr"): (message, hint), translated where said.
AMBIGUOUS_CURRENCY = (N_('{shown} names "{token}", which is the currency of several countries.'),
                      N_("Write the ISO code instead, like {codes}."))
# Ambiguous symbols that have no usual meaning to fall back on.
_NO_DEFAULT = frozenset({"kr", "kr."})
CURRENCY_CODES = frozenset(list_currencies())  # ISO 4217, as babel knows them
_CURRENCY_CODES = CURRENCY_CODES

# Thousands separators that can never be a decimal mark: spaces (French, Nordic; the no-break,
# figure, thin and narrow no-break spaces that tools and locales group with) and the
# apostrophes of Swiss amounts (1'234.50, 12’000).
_GROUP_SPACE = "[ \u00a0\u2007\u2009\u202f'\u2019\u02bc]"
_CURRENCY_TOKEN = "|".join(re.escape(t) for t in sorted(SYMBOL_CURRENCIES, key=len, reverse=True))
_NUMBER_RE = re.compile(
    rf"""
    (?P<open>\()? \s*
    (?P<sign1>[-+\u2212])? \s*
    (?:(?P<cur1>{_CURRENCY_TOKEN}|[A-Za-z]{{3}}) \s*)?
    (?P<sign2>[-+\u2212])? \s*
    (?P<body>[0-9](?:[0-9.,]|{_GROUP_SPACE})*[0-9]|[0-9]|[.,][0-9]+)
    \s* (?P<cur2>{_CURRENCY_TOKEN}|[A-Za-z]{{3}})?
    \s* (?P<close>\))?
    """,
    re.VERBOSE,
)
_SPACE_RE = re.compile(_GROUP_SPACE)
_GROUPED_RE = {
    sep: re.compile(rf"[0-9]{{1,3}}(?:{re.escape(sep)}[0-9]{{3}})*") for sep in (",", ".", " ")
}
# The shape most cells have; skips the general grammar entirely.
_PLAIN_RE = {
    "en": re.compile(r"-?[0-9]+(?:\.[0-9]+)?"),
    "es": re.compile(r"-?[0-9]+(?:,[0-9]+)?"),
}
_SEP_NAMES = {",": N_("a comma"), ".": N_("a period"), " ": N_("a space or an apostrophe")}
_ONE = Decimal(1)

# What a spreadsheet can hold exactly: 15 significant digits (Excel shows no more, and a
# float's 16th and 17th digits are noise). Anything at or above 10^15 is no amount, count or
# quantity a CRM can mean, and would overflow the money arithmetic downstream.
MAX_DIGITS = 15
LIMIT = Decimal(10) ** MAX_DIGITS


def _float_decimal(f: float) -> Decimal:
    # repr gives the shortest text that round-trips, so 0.1 stays 0.1 rather than the
    # binary 0.1000000000000000055511151231257827021181583404541015625; past 15 digits
    # (0.30000000000000004 from a formula) the rest is binary noise, rounded away as a
    # spreadsheet's display does.
    if f.is_integer():
        return Decimal(int(f))
    d = Decimal(repr(f))
    if len(d.as_tuple().digits) > MAX_DIGITS and abs(d) < LIMIT:
        d = d.quantize(_ONE.scaleb(d.adjusted() - MAX_DIGITS + 1))
        d = Decimal(int(d)) if d == d.to_integral_value() else d.normalize()
    return d


def _sane(value: Decimal, raw: RawCell, noun: str, hint: str) -> Decimal:
    """`value`, unless it is too large or too precise to be `noun` (an "out_of_range" or
    "too_precise" CellError)."""
    if abs(value) >= LIMIT:
        raise CellError("out_of_range",
                        _("{shown} is too large to be {noun}: sheetcrm reads numbers below 10^15.",
                          shown=quoted(raw), noun=_(noun)), _(hint), raw)
    if len(value.as_tuple().digits) > MAX_DIGITS and value != value.to_integral_value():
        raise CellError("too_precise",
                        _("{shown} has more than {digits} significant digits, more than a spreadsheet keeps, "
                          "so it cannot be {noun}.", shown=quoted(raw), digits=MAX_DIGITS, noun=_(noun)),
                        _(hint), raw)
    return value


def _decimal_body(body: str, loc: _Locale) -> Decimal | str:
    """The digits-and-separators part of a number, or why it is not one."""
    spaced = _SPACE_RE.search(body) is not None
    if spaced:
        body = _SPACE_RE.sub(" ", body)
    dot, comma = body.rfind("."), body.rfind(",")
    if dot >= 0 and comma >= 0:
        if spaced:
            return _("it mixes spaces, periods and commas")
        dec = "." if dot > comma else ","
        thousands = "," if dec == "." else "."
    elif dot >= 0 or comma >= 0:
        sep = "." if dot >= 0 else ","
        if spaced:
            # Spaces already group the thousands, so the lone separator can only be decimal.
            dec, thousands = sep, " "
        elif sep == loc.thousands:
            dec, thousands = None, sep
        else:
            dec, thousands = sep, None
    else:
        dec, thousands = None, " " if spaced else None

    if dec:
        whole, _point, frac = body.partition(dec)
        if not frac.isdigit():
            return _("{separator} marks the decimals, so it may appear only once, before digits",
                     separator=_(_SEP_NAMES[dec]))
    else:
        whole, frac = body, ""
    if thousands:
        if not _GROUPED_RE[thousands].fullmatch(whole):
            return _('under locale "{locale}" {separator} separates thousands, so it must be followed by '
                     "groups of exactly 3 digits", locale=loc.name, separator=_(_SEP_NAMES[thousands]))
        if whole[0] == "0" and thousands in whole:
            # "0,925" is no thousand of anything: a leading 0 group is never a thousands group,
            # so the separator can only be the decimal one, which this locale's is not.
            return _('under locale "{locale}" {separator} separates thousands, and a number with thousands '
                     "never begins with 0", locale=loc.name, separator=_(_SEP_NAMES[thousands]))
        whole = whole.replace(thousands, "")
    return Decimal(f"{whole or '0'}.{frac}" if frac else whole)


def _number_parts(
    raw: RawCell, loc: _Locale, code: str, noun: str, hint: str, text: str | None = None
) -> tuple[Decimal | None, str | None]:
    """The number in a cell and the currency token written beside it ("JPY", "R$"), if any.

    Shared by every numeric parser so they agree on what a number looks like. `text`, when
    given, is the part of the string `raw` to read as the number; messages still quote all
    of `raw`.
    """
    if raw is None:
        return None, None
    if isinstance(raw, (bool, _dt.date)):
        raise CellError(code, _not(raw, noun), _(hint), raw)
    if isinstance(raw, int):
        return _sane(Decimal(raw), raw, noun, hint), None
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise CellError(code, _not(raw, noun), _(hint), raw)
        return _sane(_float_decimal(raw), raw, noun, hint), None
    if not isinstance(raw, str):
        raise CellError(code, _not(raw, noun), _(hint), raw)
    s = raw.strip(_STRIP) if text is None else text
    if not s:
        return None, None
    if _PLAIN_RE[loc.name].fullmatch(s):
        return _sane(Decimal(s.replace(",", ".")), raw, noun, hint), None

    m = _NUMBER_RE.fullmatch(s)
    if m is None:
        raise CellError(code, _not(raw, noun), _(hint), raw)
    open_, sign1, cur1, sign2, body, cur2, close = m.group(
        "open", "sign1", "cur1", "sign2", "body", "cur2", "close"
    )
    problem = None
    if bool(open_) != bool(close):
        problem = _("its parentheses do not match")
    elif sign1 and sign2 or open_ and (sign1 or sign2):
        problem = _("it has more than one sign (parentheses already mean negative)")
    elif cur1 and cur2:
        problem = _("it names a currency twice")
    elif (cur := cur1 or cur2) and cur not in SYMBOL_CURRENCIES and cur.upper() not in _CURRENCY_CODES:
        problem = _('"{token}" is not a currency', token=cur)
    if problem:
        raise CellError(code, _not(raw, noun, problem), _(hint), raw)

    value = _decimal_body(body, loc)
    if isinstance(value, str):
        raise CellError(code, _not(raw, noun, value), _(hint), raw)
    sign = sign1 or sign2
    # Accounting format writes negatives in parentheses: (1,200) is -1200.
    if open_ or sign in ("-", "\u2212"):
        value = -value
    return _sane(value, raw, noun, hint), cur1 or cur2


def _not(raw: RawCell, noun: str, problem: str | None = None) -> str:
    """'"abc" is not a number.' (or '…: why.'), in the current language; `noun` is an N_ constant."""
    if problem is None:
        return _("{shown} is not {noun}.", shown=quoted(raw), noun=_(noun))
    return _("{shown} is not {noun}: {problem}.", shown=quoted(raw), noun=_(noun), problem=problem)


_A_NUMBER = N_("a number")
_A_WHOLE_NUMBER = N_("a whole number")
_A_PERCENTAGE = N_("a percentage")


def _number(
    raw: RawCell, loc: _Locale, code: str, noun: str, hint: str, text: str | None = None
) -> Decimal | None:
    """The number in a cell that holds no money: one written with a currency ("$50" under
    Discount %, "5 EUR" under Employees) is an error, never its number with the currency
    dropped (50 % off is not $50 off). Amounts are `parse_money`'s."""
    value, token = _number_parts(raw, loc, code, noun, hint, text)
    if token is not None:
        raise _money_refused(raw, token, code, noun)
    return value


def _money_refused(raw: RawCell, token: str, code: str, noun: str, shown: str | None = None) -> CellError:
    problem = _('it names a currency ("{token}"), and only an amount of money may', token=token)
    message = _not(raw, noun, problem) if shown is None else _("{shown} is not {noun}: {problem}.", shown=shown,
                                                               noun=_(noun), problem=problem)
    return CellError(code, message, _("Write {noun} without a currency sign or code: this column holds no money.",
                                      noun=_(noun)), raw)


# A column kind that holds no money -> (its issue code, what a cell of it is).
_NOT_MONEY = {"number": ("bad_number", _A_NUMBER), "integer": ("bad_integer", _A_WHOLE_NUMBER),
              "percent": ("bad_percent", _A_PERCENTAGE)}


def money_refused(raw: RawCell, token: str, kind: str, shown: str) -> CellError:
    """The error of a number in a column of `kind` ("number", "integer", "percent") that holds no
    money, whose number format shows a currency `token`: 50 formatted as "50,00 €" under
    Discount % is what a person reads as fifty euros, not 50 % off. `shown` is how a message
    names the cell ("50 (its number format shows €)")."""
    code, noun = _NOT_MONEY[kind]
    return _money_refused(raw, token, code, noun, shown)


# A column kind that holds no percentage -> (its issue code, what a cell of it is).
_NOT_PERCENT = {"money": ("bad_number", N_("an amount")), "number": ("bad_number", _A_NUMBER),
                "integer": ("bad_integer", _A_WHOLE_NUMBER)}


def percent_refused(raw: int | float, kind: str) -> CellError:
    """The error of a number in a column of `kind` ("money", "number", "integer") whose number
    format shows a percentage: "50%" typed into an Amount cell is kept by Excel and Google as 0.5
    formatted 0%, which shows 50 %, no amount; read as the number it was a deal of 0.50 with no
    word, while the same "50%" typed as text is an error."""
    code, noun = _NOT_PERCENT[kind]
    shown = show_number(Decimal(str(raw)).scaleb(2).normalize()) + " %"
    return CellError(code, _("{shown} is not {noun}: the cell holds {number}, which its percentage format shows "
                             "times 100.", shown=shown, noun=_(noun), number=show_number(raw, group=False)),
                     _("Write {noun} here without a percent sign, and give the cell a number format that shows no "
                       "percentage.", noun=_(noun)), raw)


def currency_of(token: str, base: str | None = None) -> tuple[str | None, bool]:
    """The ISO code a currency token in a cell stands for, and whether the token was ambiguous.

    "JPY", "jpy" -> ("JPY", False); "R$" -> ("BRL", False); "$" -> (base, True) when the base
    currency is a dollar, else ("USD", True); "kr" -> (base, True) for a krona/krone base,
    else (None, True): too ambiguous to read.
    """
    meanings = SYMBOL_CURRENCIES.get(token)
    if meanings is None:
        return token.upper(), False
    if len(meanings) == 1:
        return meanings[0], False
    if base in meanings:
        return base, True
    return (None if token in _NO_DEFAULT else meanings[0]), True


@lru_cache(maxsize=256)
def currency_decimals(code: str | None) -> int:
    """How many decimals amounts in `code` have (CLDR via babel: USD 2, JPY 0, KWD 3); 2 when
    unknown."""
    return get_currency_precision(code) if code in CURRENCY_CODES else 2


def parse_money(raw: RawCell, locale: str = "en") -> tuple[Decimal | None, str | None]:
    """An amount and the currency token written in its cell, if any: "JPY 10,000" ->
    (10000, "JPY"), "R$ 1.200,00" -> (1200.00, "R$"), "10 000 CHF" -> (10000, "CHF"),
    1500 -> (1500, None). `currency_of` turns the token into an ISO code."""
    loc = _locale(locale)
    return _number_parts(raw, loc, "bad_number", _A_NUMBER, loc.number_hint)


def money_token(raw: RawCell, locale: str, shown: str | None = None) -> str | None:
    """The currency token a money cell names: in its text (read in `locale`, else English,
    else Spanish, as a person may have pasted it: "8000 EUR", "€8.000"), else `shown`, the one
    its number format shows (a number cell's `Grid.currency`); None when neither names one."""
    if isinstance(raw, str):
        for loc in dict.fromkeys((locale, "en", "es")):
            try:
                return parse_money(raw, loc)[1]
            except CellError:
                continue
        return None
    return shown if isinstance(raw, (int, float)) else None


def parse_amount(raw: RawCell, locale: str = "en") -> Decimal | None:
    """The amount of `parse_money`, its currency token left to the caller (an amount column's
    currency is `table.py`'s to carry to the record, or to find in conflict)."""
    return parse_money(raw, locale)[0]


def separator_style(raw: RawCell) -> tuple[str | None, str | None]:
    """What a text number's separators say about the locale it was written in, as
    (proves, suggests).

    `proves` is the one locale that reads the text as written: "1.234,50", "12,5",
    "1.234.567" and "0,500" prove "es"; "1,234.50", "12.5", "1,234,567" prove "en".
    `suggests` is set for a lone separator followed by exactly three digits ("12.500",
    "1,200"), which either locale reads, 1000 times apart: it names the locale that reads the
    separator as thousands. Native numbers and text without separators give (None, None).
    """
    if not isinstance(raw, str):
        return None, None
    text = raw.strip(_STRIP).removesuffix("%").rstrip(_STRIP)
    m = _NUMBER_RE.fullmatch(text)
    if m is None:
        return None, None
    body = m["body"]
    dots, commas = body.count("."), body.count(",")
    if dots and commas:
        return ("en" if body.rfind(".") > body.rfind(",") else "es"), None
    if not (dots or commas):
        return None, None
    sep = "." if dots else ","
    decimal_locale, thousands_locale = ("en", "es") if sep == "." else ("es", "en")
    if _SPACE_RE.search(body):
        return decimal_locale, None
    if dots + commas > 1:
        # Only true thousands groups prove it: "1,00,000" (Indian grouping) reads in neither
        # locale, and its own read says why, not a convention it does not follow.
        return (thousands_locale if _GROUPED_RE[sep].fullmatch(body) else None), None
    whole, frac = body.split(sep)
    if len(frac) == 3 and 1 <= len(whole) <= 3 and whole[0] != "0":
        return None, thousands_locale
    return decimal_locale, None


def groups_only(raw: RawCell) -> bool:
    """Whether a text number's separators are all thousands groups of one kind ("1,000,000",
    "1.000.000"): it proves its convention by its thousands, having no decimals."""
    if not isinstance(raw, str) or (m := _NUMBER_RE.fullmatch(raw.strip(_STRIP).removesuffix("%").rstrip(_STRIP))) is None:
        return False
    body = m["body"]
    return ("." in body) != ("," in body) and body.count(".") + body.count(",") > 1


def date_style(raw: RawCell) -> tuple[str | None, bool]:
    """What a numeric text date says about its order, as (proves, ambiguous).

    "13/02/2026" proves "es" (day first), "02/13/2026" proves "en" (month first);
    "03/12/2026" is ambiguous; "05/05/2026", ISO dates, month names and native dates say
    nothing. A date written with dots ("03.12.2026") proves day first: no convention writes
    them month first.
    """
    if not isinstance(raw, str):
        return None, False
    folded = raw.strip(_STRIP).casefold()
    m = _NUMERIC_DATE_RE.fullmatch(folded)
    if (found := _weekday_numeric(folded)) is not None:
        # A weekday that settles the order reads the date whatever the column's order, and
        # proves nothing of it: calendars and mail tools write their own locale's order, not
        # the team's. One that both readings have leaves it as ambiguous as without it.
        weekday, m = found
        if sum(d.weekday() == weekday for d in _readings(m, True)) != 2:
            return None, False
    if m is None or not _time_ok(m):
        return None, False
    a, b = int(m["a"]), int(m["b"])
    if m["sep"] == ".":
        # Every convention that writes dates with dots writes them day first (de, es, ru, fi, cs…):
        # "03.12.2026" is 3 December, and shows its people write the day first.
        return ("es" if _day_first_date(m) is not None else None), False
    if a > 12 >= b:
        return "es", False
    if b > 12 >= a:
        return "en", False
    return None, a != b and a <= 12 and b <= 12


def year_first_date(raw: RawCell) -> _dt.date | None:
    """The year-first reading of a numeric text date with two-digit parts ("26-02-01" as
    2026-02-01, YY-MM-DD), when that reading is a date; None for anything else. Such a cell
    also reads year-last (26 Feb 2001): `columns.read_dates` decides between them."""
    if not isinstance(raw, str):
        return None
    m = _NUMERIC_DATE_RE.fullmatch(raw.strip(_STRIP).casefold())
    if m is None or len(m["a"]) != 2 or len(m["y"]) != 2 or not _time_ok(m):
        return None
    try:
        return _dt.date(_year(m["a"]), int(m["b"]), int(m["y"]))
    except ValueError:
        return None


def year_last_date(raw: RawCell, locale: str) -> _dt.date | None:
    """A numeric text date read with its year last in `locale`'s order, or None when that is
    no date."""
    try:
        return parse_date(raw, locale)
    except CellError:
        return None


@dataclass(frozen=True)
class Read:
    """A cell already read with its column's context (`columns.py`, `table.py`): the
    record validators take `value` as is. `raw` is the cell as typed, for messages."""

    value: object
    raw: RawCell


def parse_number(raw: RawCell, locale: str = "en") -> Decimal | None:
    """A Decimal from a native number or from text like "1,234.50", "1.234,50", "(1,200)".

    With both '.' and ',' present the last one is decimal whatever the locale. With one
    kind only, the locale's thousands separator must be followed by groups of 3 digits
    (the first not a lone 0: "0,925" is no thousands in "en") and the other is decimal.
    Space-like thousands separators ("1 234,5") make the lone '.' or ',' decimal. A currency
    symbol or ISO code before or after is an error: this is a number that is no amount of
    money (an amount's cell may name its currency: `parse_money`).
    """
    loc = _locale(locale)
    return _number(raw, loc, "bad_number", _A_NUMBER, loc.number_hint)


def parse_integer(raw: RawCell, locale: str = "en") -> int | None:
    loc = _locale(locale)
    hint = N_("Use a whole number like 12 (no decimals)")
    value = _number(raw, loc, "bad_integer", _A_WHOLE_NUMBER, hint)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise CellError("bad_integer", _not(raw, _A_WHOLE_NUMBER), _(hint), raw)
    return int(value)


def is_percent_text(raw: RawCell) -> bool:
    """Whether a cell is text that ends in "%", which always means percentage points."""
    return isinstance(raw, str) and raw.strip(_STRIP).endswith("%")


def bare_percent(value: Decimal) -> Decimal | None:
    """A number written without a percent sign to compare with percentage cells (a workflow's or
    segment's condition, a scoring rule), in the points those cells hold: below 1 a fraction,
    as a spreadsheet holds a percentage (0.1 is 10), 1 or more points (10 is 10). None for
    exactly 1, which could be 1 % or 100 %: each caller refuses it in its own words, where it
    was written. The one rule for both, so a rule and a condition never read 0.1 apart."""
    if value == 1:
        return None
    return value.scaleb(2).normalize() if 0 < abs(value) < 1 else value


def parse_percent(raw: RawCell, locale: str = "en", scale: str | None = None, bounded: bool = True) -> Decimal | None:
    """Percentage points, 0 to 100 (`bounded`: a probability, a discount, a tax rate), or any
    (not `bounded`: a team's own column, where a growth of 150 % or a margin of -5 % is what
    the cell says; an "out_of_range" CellError otherwise).

    Text ending in "%" is always points: "75%", "12,5 %" (es). A plain number (native, or
    text without "%") is read by `scale`: "fraction" multiplies it by 100 (0.75 is 75, 1 is
    100: what a percent-formatted cell holds, or a column written as fractions), "points"
    takes it as is (0.75 is 0.75). Without a scale, the single-cell rule: a native float
    strictly between 0 and 1 is a fraction and everything else is points, so a native 1 is
    1 point; `table.py` decides the scale from the cell's format and the whole column.
    """
    loc = _locale(locale)
    text = None
    percent_sign = False
    if isinstance(raw, str):
        text = raw.strip(_STRIP)
        if text.endswith("%"):
            percent_sign = True
            text = text[:-1].rstrip(_STRIP)
            if not text:
                raise CellError("bad_percent", _not(raw, _A_PERCENTAGE), _(loc.percent_hint), raw)
    value = _number(raw, loc, "bad_percent", _A_PERCENTAGE, loc.percent_hint, text)
    if value is None:
        return None
    fraction = scale == "fraction" if scale else isinstance(raw, float) and 0 < raw < 1
    if fraction and not percent_sign:
        value = value.scaleb(2)
        value = value.quantize(_ONE) if value == value.to_integral_value() else value.normalize()
    if bounded and not 0 <= value <= 100:
        raise CellError(
            "out_of_range",
            _("{shown} is outside 0 to 100 percent.", shown=quoted(raw)),
            _(loc.percent_hint),
            raw,
        )
    return value


# --- dates --------------------------------------------------------------------------------

# Google Sheets' epoch. Excel shares it from serial 61 (1900-03-01) on; below that Excel
# counts a 29 Feb 1900 that never existed, so its serials 1..60 land a day later here.
_EPOCH = _dt.date(1899, 12, 30)


def add_days(day: _dt.date, days: int) -> _dt.date:
    """`day` plus `days` (negative: before), held at the calendar's ends (0001-01-01 and
    9999-12-31, Excel's last date) instead of raising OverflowError: people type 9999-12-31 for
    "never", and what falls N days after it is due never, not a crash of the sync. A datetime
    stays a datetime."""
    try:
        return day + _dt.timedelta(days=days)
    except OverflowError:
        return type(day).max if days > 0 else type(day).min
_MAX_SERIAL = 2958465  # 9999-12-31


def _month_table() -> dict[str, int]:
    # Both languages under either locale: a month name is unambiguous, so a stray "March"
    # in an es sheet costs nothing to accept.
    table: dict[str, int] = {}
    for loc in ("en", "es"):
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, loc).items():
                    key = normalize_key(name).rstrip(".")
                    table[key] = number
                    table[key[:3]] = number
    # "Sept" is common in English; "set" is how Catalan and some Latin American sheets
    # abbreviate septiembre, and "setiembre" is how Peru, Uruguay and others write it (the
    # RAE accepts it; CLDR knows only "septiembre").
    table["sept"] = 9
    table["set"] = 9
    table["setiembre"] = 9
    return table


_MONTHS = _month_table()


def _weekday_table() -> dict[str, int]:
    # English and Spanish, full or abbreviated (Monday is 0, as date.weekday()), and the
    # shortenings people write beside CLDR's ("Tues", "Thurs").
    table: dict[str, int] = {}
    for loc in ("en", "es"):
        for width in ("wide", "abbreviated"):
            for number, name in get_day_names(width, "format", loc).items():
                table[normalize_key(name).rstrip(".")] = number
    table.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})
    return table


_WEEKDAYS = _weekday_table()
# A weekday before a date with a month's name: "Fri, 3 Apr 2026", "viernes, 3 de abril de 2026"
# (on `normalize_key`'s text).
_WEEKDAY_RE = re.compile(r"(?P<w>[a-z]+)\.?,?\s+(?P<rest>.+)")


def month_number(word: str) -> int | None:
    """The month (1-12) an English or Spanish month name or its abbreviation names ("Dec",
    "diciembre", "Sept."), whatever the case and accents; None for any other word."""
    return _MONTHS.get(normalize_key(word).rstrip("."))

_TIME = (
    r"(?:(?:t|\s+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::[0-9]{2}(?:[.,][0-9]+)?)?"
    r"\s*(?:(?P<ampm>[ap])\.?\s?m\.?)?"
    r"(?:\s*(?P<zone>z|[+-][0-9]{2}(?::?[0-9]{2})?))?)?"
)
_YMD_RE = re.compile(
    r"(?P<y>[0-9]{4})(?P<sep>[-/.])(?P<a>[0-9]{1,2})(?P=sep)(?P<b>[0-9]{1,2})" + _TIME
)
_NUMERIC_DATE_RE = re.compile(
    r"(?P<a>[0-9]{1,2})(?P<sep>[-/.])(?P<b>[0-9]{1,2})(?P=sep)(?P<y>[0-9]{4}|[0-9]{2})" + _TIME
)
_ORDINAL = r"(?:st|nd|rd|th|o)?"  # "o" is what normalize_key makes of "1º"
_DAY_MONTH_RE = re.compile(
    rf"(?P<d>[0-9]{{1,2}}){_ORDINAL}[ /.,]*(?:de )?(?P<m>[a-z]+)\.?[ /.,]*(?:del? )?"
    r"(?P<y>[0-9]{4}|[0-9]{2})"
)
_MONTH_DAY_RE = re.compile(
    rf"(?P<m>[a-z]+)\.?[ /.,]*(?P<d>[0-9]{{1,2}}){_ORDINAL}(?: de)?[ /.,]+"
    r"(?P<y>[0-9]{4}|[0-9]{2})"
)


# A weekday before a numeric date ("Wed, 04/03/2026", "miércoles 04/03/2026"), on folded text:
# the weekday says which way round the day and month are (`_weekday_numeric_date`).
_WEEKDAY_NUMERIC_RE = re.compile(r"(?P<w>[^\W\d_]+)\.?,?\s+(?P<rest>[0-9].*)")
# An email's date (RFC 5322 3.3, as mail tools export it: "Fri, 03 Apr 2026 10:00:00 +0000"), on
# folded text; `email.utils` reads it (`_email_moment`), this says which text is one.
_EMAIL_DATE_RE = re.compile(
    r"(?:(?P<w>[a-z]+),?\s+)?(?P<d>[0-9]{1,2})\s+(?P<m>[a-z]+)\s+(?P<y>[0-9]{4})\s+"
    r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?\s*(?:[+-][0-9]{4}|gmt|ut|utc|z)(?:\s*\([^()]*\))?"
)


def _weekday_numeric(folded: str) -> tuple[int, re.Match[str]] | None:
    """(weekday, the numeric date's match) of a weekday before a numeric date; None for other text."""
    w = _WEEKDAY_NUMERIC_RE.fullmatch(folded)
    if w is None:
        return None
    weekday = _WEEKDAYS.get(normalize_key(w["w"]).rstrip("."))
    m = _NUMERIC_DATE_RE.fullmatch(w["rest"])
    if weekday is None or m is None or not _time_ok(m):
        return None
    return weekday, m


def _day_first_date(m: re.Match[str]) -> _dt.date | None:
    """A numeric date's match read day first, or None when that is no date."""
    try:
        return _dt.date(_year(m["y"]), int(m["b"]), int(m["a"]))
    except ValueError:
        return None


def _readings(m: re.Match[str], day_first: bool) -> list[_dt.date]:
    """The dates a numeric date's match reads as, the given order's first; none, one or two."""
    a, b, year = int(m["a"]), int(m["b"]), _year(m["y"])
    out: list[_dt.date] = []
    for day, month in ((a, b), (b, a)) if day_first else ((b, a), (a, b)):
        try:
            out.append(_dt.date(year, month, day))
        except ValueError:
            pass
    return list(dict.fromkeys(out))


def _email_moment(s: str) -> _dt.datetime | None:
    """The instant an email's date names ("Fri, 03 Apr 2026 10:00:00 +0000"; `s` stripped), with
    its written offset ("-0000", a time in UTC whose place is unsaid, as UTC); None for other text
    or one that is no instant."""
    if _EMAIL_DATE_RE.fullmatch(s.casefold()) is None:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(s)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=_dt.timezone.utc)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _time_ok(m: re.Match[str]) -> bool:
    if m["hour"] is None:
        return True
    hour, minute = int(m["hour"]), int(m["minute"])
    max_hour = 12 if m["ampm"] else 23
    return hour <= max_hour and minute <= 59


def _date_error(raw: RawCell, loc: _Locale, why: str | None = None, hint: str | None = None) -> CellError:
    message = (_("{shown} is not a date.", shown=quoted(raw)) if why is None else
               _("{shown} is not a date: {problem}.", shown=quoted(raw), problem=why))
    return CellError("bad_date", message, hint or _(loc.date_hint), raw)


def _day_hint(year: int, month: int, day: int) -> str:
    """The hint for a date no day/month order makes (31/02/2025, 13/13/2027, year 0): the
    locale's hint ("set locale en if this sheet writes dates month first") is false there, so
    it says only what can help."""
    if not 1 <= month <= 12:
        return _("There is no month {month}: check the date, months run from 1 to 12", month=month)
    if not _dt.MINYEAR <= year <= _dt.MAXYEAR:
        return _("There is no year {year}: check the date, years run from {first} to {last}",
                 year=year, first=_dt.MINYEAR, last=_dt.MAXYEAR)
    last = calendar.monthrange(year, month)[1]
    named = format_skeleton("yMMMM", _dt.date(year, month, 1), locale=current())
    return _("{month} has no day {day}: type a day from 1 to {days}", month=named, day=day, days=last)


def _no_such_day(year: int, month: int, day: int) -> str:
    """Why (year, month, day) is no date, in the current language (what datetime says only in
    English)."""
    if not 1 <= month <= 12:
        return _("there is no month {month}", month=month)
    if not _dt.MINYEAR <= year <= _dt.MAXYEAR:
        return _("the year {year} is out of range", year=year)
    if day < 1:
        return _("there is no day {day}", day=day)
    last = calendar.monthrange(year, month)[1]
    return _("that month has only {days} days, not {day}", days=last, day=day)


def _make_date(raw: RawCell, loc: _Locale, year: int, month: int, day: int) -> _dt.date:
    try:
        return _dt.date(year, month, day)
    except ValueError:
        raise _date_error(raw, loc, _no_such_day(year, month, day), _day_hint(year, month, day)) from None


# Days from 1899-12-30 to 1904-01-01: a workbook in the 1904 date system (Mac Excel's,
# workbookPr date1904; ECMA-376 Part 1 §18.17.4.1) counts its serials from there.
DAYS_1904 = 1462


def _serial_date(raw: int | float, loc: _Locale, date1904: bool = False) -> _dt.date:
    if date1904 and math.isfinite(raw):
        raw += DAYS_1904
    if not math.isfinite(raw) or not 1 <= raw < _MAX_SERIAL + 1:
        raise CellError(
            "out_of_range",
            _("{shown} is outside the date serial numbers a spreadsheet uses (1 to {last}).",
              shown=quoted(raw), last=show_number(_MAX_SERIAL)),
            _(loc.date_hint),
            raw,
        )
    # To the millisecond first, as spreadsheet apps show a serial: 46461.9999999999 (a sum's
    # float error, 9 µs before midnight) shows 16/03/2027, not the 15th.
    return _EPOCH + _dt.timedelta(days=round(raw * 86_400_000) // 86_400_000)


def _numeric_date(raw: RawCell, loc: _Locale, m: re.Match[str]) -> _dt.date:
    a, b, year = int(m["a"]), int(m["b"]), _year(m["y"])
    if m["sep"] == ".":
        # Dots are written day first in every convention that writes them, whatever the locale:
        # "03.12.2026" read month first was a silent 3 December -> 12 March under "en".
        if (day := _day_first_date(m)) is not None:
            return day
        raise CellError("bad_date", _("{shown} is not a date: a date written with dots is day first (DD.MM.YYYY), "
                                      "and {problem}.", shown=quoted(raw), problem=_no_such_day(year, b, a)),
                        _day_hint(year, b, a) if 1 <= b <= 12
                        else _("Write it as year-month-day (2026-12-03), or day first with dots (03.12.2026)."), raw)
    day, month = (a, b) if loc.day_first else (b, a)
    try:
        return _dt.date(year, month, day)
    except ValueError:
        pass
    try:
        other = _dt.date(year, day, month)
    except ValueError:
        # No day either way round: explain the reading whose month exists ("31/04/2026" under
        # "en" is no 31 April, which is what it means, rather than "there is no month 31").
        month_ok = 1 <= month <= 12 or not 1 <= day <= 12
        why = _no_such_day(year, month, day) if month_ok else _no_such_day(year, day, month)
        hint = _day_hint(year, month, day) if month_ok else _day_hint(year, day, month)
        raise _date_error(raw, loc, why, hint) from None
    order = _DAY_FIRST if loc.day_first else _MONTH_FIRST
    other_locale = "en" if loc.day_first else "es"
    raise CellError(
        "bad_date",
        _('{shown} is not a date under locale "{locale}", which reads dates {order}; it only makes sense the '
          "other way round.", shown=quoted(raw), locale=loc.name, order=_(order)),
        _('Write it as {date}, or set locale "{other}" if this sheet writes dates the other way round',
          date=other.isoformat(), other=other_locale),
        raw,
    )


_DAY_FIRST = N_("day first (DD/MM/YYYY)")
_MONTH_FIRST = N_("month first (MM/DD/YYYY)")


@lru_cache(maxsize=64)
def typed_order(spreadsheet_locale: str | None) -> str | None:
    """The day/month order in which a spreadsheet app reads dates typed under its own locale
    (Google's properties.locale: "en_US", "es_ES", "en_GB"), as sheetcrm's locales name it:
    "en" (month first: 03/04/2026 is 4 March) or "es" (day first: 3 April), by the order of
    day and month in the locale's short date (CLDR, babel: en_US M/d/yy, en_GB dd/MM/y).
    None for None or a locale babel does not know: nothing is said about its dates."""
    if not spreadsheet_locale:
        return None
    try:
        pattern = Locale.parse(spreadsheet_locale.replace("-", "_")).date_formats["short"].pattern
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    day, month = pattern.find("d"), pattern.find("M")
    if day < 0 or month < 0:
        return None
    return "es" if day < month else "en"


@lru_cache(maxsize=64)
def typed_separator(spreadsheet_locale: str | None) -> str | None:
    """The decimal separator a spreadsheet app reads typed numbers with under its own locale,
    as sheetcrm's locales name it: "en" (1,234.5) or "es" (1.234,5), by the locale's decimal
    symbol (CLDR, babel). None for None or a locale babel does not know."""
    if not spreadsheet_locale:
        return None
    try:
        decimal = Locale.parse(spreadsheet_locale.replace("-", "_")).number_symbols["latn"]["decimal"]
    except (UnknownLocaleError, ValueError, TypeError, KeyError):
        return None
    return "es" if decimal == "," else "en" if decimal == "." else None


def shows_day_and_month(pattern: str) -> bool:
    """Whether a date's number-format pattern ("M/d/yyyy", "dd.MM.yy"; Google's or Excel's
    codes) shows its day and month both as numbers, and its year not first: such a date reads
    either way round ("3/4/2026"), unlike "yyyy-mm-dd" or "d mmm yyyy" (the month's name)."""
    text = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", pattern).lower()
    text = re.split(r"[hs]", text, maxsplit=1)[0]  # the date part: "m" after an hour is minutes
    tokens = re.findall(r"y+|m+|d+", text)
    days = [t for t in tokens if t[0] == "d" and len(t) <= 2]
    months = [t for t in tokens if t[0] == "m"]
    if not days or not months or any(len(t) > 2 for t in months):
        return False
    return not tokens[0].startswith("y")


def shown_order(pattern: str) -> str | None:
    """The day/month order a date's number-format pattern shows ("es" for `dd/mm/yyyy`, "en"
    for `mm/dd/yyyy`), or None when it shows no day and month as numbers (`shows_day_and_month`)."""
    if not shows_day_and_month(pattern):
        return None
    text = re.sub(r'"[^"]*"|\\.|\[[^\]]*\]', "", pattern).lower()
    first = next(t for t in re.findall(r"m+|d+", re.split(r"[hs]", text, maxsplit=1)[0]) if len(t) <= 2)
    return "es" if first[0] == "d" else "en"


def parse_date(raw: RawCell, locale: str = "en", date1904: bool = False) -> _dt.date | None:
    """A date from a native date, a serial number, or text.

    A serial number counts days from 1899-12-30 (Excel's 1900 date system, Google's), or from
    1904-01-01 with `date1904` (a workbook in the 1904 date system: `Grid.date1904`).

    Text may be ISO ("2024-03-15", with an optional time), numeric in the locale's order
    ("03/15/2024" en, "15/03/2024" es; '/' or '-'), or day first with dots in either locale
    ("15.03.2024", as every convention writing dots has it), or use an English or Spanish
    month name ("Mar 15, 2024", "15 de marzo de 2024"), after a weekday too ("Fri, 15 Mar 2024":
    one that is not the date's is a "bad_date" CellError), or be an email's (RFC 5322: "Fri, 15 Mar
    2024 10:00:00 +0000"). Before a numeric date a weekday picks the reading that is that weekday,
    in either locale ("Fri, 15/03/2024", "Fri, 03/15/2024"); one neither reading is, a "bad_date";
    one both are, the locale's reading. Times are accepted and dropped: the day
    is the day written, even after a UTC offset ("...T23:30:00Z"); `parse_day` gives the team's.
    Two-digit years below 70 are 20xx, the rest 19xx.
    """
    loc = _locale(locale)
    if raw is None:
        return None
    if isinstance(raw, _dt.datetime):
        return raw.date()
    if isinstance(raw, _dt.date):
        return raw
    if isinstance(raw, bool):
        raise _date_error(raw, loc)
    if isinstance(raw, (int, float)):
        return _serial_date(raw, loc, date1904)

    s = raw.strip(_STRIP)
    if not s:
        return None
    folded = s.casefold()
    if (m := _YMD_RE.fullmatch(folded)) and _time_ok(m):
        return _make_date(raw, loc, int(m["y"]), int(m["a"]), int(m["b"]))
    if (m := _NUMERIC_DATE_RE.fullmatch(folded)) and _time_ok(m):
        return _numeric_date(raw, loc, m)
    if (found := _weekday_numeric(folded)) is not None:
        return _weekday_numeric_date(raw, loc, *found)
    if (e := _EMAIL_DATE_RE.fullmatch(folded)) is not None and e["m"] in _MONTHS:
        day = _make_date(raw, loc, int(e["y"]), _MONTHS[e["m"]], int(e["d"]))  # says why it is no day
        moment = _email_moment(s)
        if moment is None or moment.date() != day:
            raise _date_error(raw, loc)
        if e["w"] is not None:
            weekday = _WEEKDAYS.get(e["w"])
            if weekday is None:
                raise _date_error(raw, loc)
            _check_weekday(raw, loc, day, weekday)
        return day
    key = normalize_key(s)
    m = _DAY_MONTH_RE.fullmatch(key) or _MONTH_DAY_RE.fullmatch(key)
    weekday = None
    if (m is None or m["m"] not in _MONTHS) and (w := _WEEKDAY_RE.fullmatch(key)) and w["w"] in _WEEKDAYS:
        # A date with its weekday, as calendars and emails write it: the weekday must be the date's.
        weekday, key = _WEEKDAYS[w["w"]], w["rest"]
        m = _DAY_MONTH_RE.fullmatch(key) or _MONTH_DAY_RE.fullmatch(key)
    if m is None:
        raise _date_error(raw, loc)
    month = _MONTHS.get(m["m"])
    if month is None:
        # Both languages' month names are read under either locale, so the locale's hint
        # ("set locale ...") could not help here.
        raise _date_error(raw, loc, _('"{word}" is not a month name', word=m["m"]),
                          _("Write the month's name in English or Spanish (March, marzo), or the date as "
                            "year-month-day (2026-12-03)"))
    day = _make_date(raw, loc, _year(m["y"]), month, int(m["d"]))
    if weekday is not None:
        _check_weekday(raw, loc, day, weekday)
    return day


def _check_weekday(raw: RawCell, loc: _Locale, day: _dt.date, weekday: int) -> None:
    if day.weekday() != weekday:
        names = get_day_names("wide", "format", current())
        raise _date_error(raw, loc, _("{date} is a {weekday}, not a {written}", date=day.isoformat(),
                                      weekday=names[day.weekday()], written=names[weekday]))


def _weekday_numeric_date(raw: RawCell, loc: _Locale, weekday: int, m: re.Match[str]) -> _dt.date:
    # The weekday says the order: "Wed, 04/03/2026" is 4 March (3 April 2026 is a Friday),
    # whatever the locale. When both readings are that weekday it says nothing, and the date
    # reads as one without it (`date_style` calls it ambiguous so).
    readings = _readings(m, loc.day_first or m["sep"] == ".")
    if not readings:
        return _numeric_date(raw, loc, m)  # no day either way round: its error says why
    matching = [d for d in readings if d.weekday() == weekday]
    if len(matching) == 1:
        return matching[0]
    if len(matching) == 2:
        return _numeric_date(raw, loc, m)
    if len(readings) == 1:
        _check_weekday(raw, loc, readings[0], weekday)
    names = get_day_names("wide", "format", current())
    one, other = readings
    raise _date_error(raw, loc, _("neither {one} ({one_weekday}) nor {other} ({other_weekday}) is a {written}",
                                  one=one.isoformat(), one_weekday=names[one.weekday()], other=other.isoformat(),
                                  other_weekday=names[other.weekday()], written=names[weekday]))


def _dated(folded: str) -> re.Match[str] | None:
    """The match of an ISO or numeric text date (after a weekday too), for its time."""
    found = _weekday_numeric(folded)
    return _YMD_RE.fullmatch(folded) or _NUMERIC_DATE_RE.fullmatch(folded) or (found and found[1])


def time_of(raw: RawCell) -> _dt.time:
    """The time of day a date cell holds, to the minute: a native datetime's, a serial
    number's fraction of a day, or the time written after an ISO or numeric date
    ("2026-11-23 14:05", "23/11/2026 2:05 pm"), or in an email's date; midnight when the cell shows none. Only the
    time: `parse_date` (or its column's reading) says which day, and whether the cell is one."""
    if isinstance(raw, _dt.datetime):
        return _dt.time(raw.hour, raw.minute)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and math.isfinite(raw):
        # From the millisecond the serial shows, as `parse_date` takes its day from it.
        minutes = round(round(raw * 86_400_000) % 86_400_000 / 60_000)
        return _dt.time(*divmod(min(minutes, 1439), 60))
    if isinstance(raw, str):
        if (moment := _email_moment(raw.strip(_STRIP))) is not None:
            return _dt.time(moment.hour, moment.minute)
        m = _dated(raw.strip(_STRIP).casefold())
        if m is not None and m["hour"] is not None and _time_ok(m):
            hour = int(m["hour"])
            if m["ampm"]:
                hour = hour % 12 + (12 if m["ampm"] == "p" else 0)
            return _dt.time(hour, int(m["minute"]))
    return _dt.time(0)


def offset_of(raw: RawCell) -> _dt.timezone | None:
    """The UTC offset written after a text date's time ("2026-11-30T23:30:00Z": UTC,
    "...10:00+05:00": +05:00); None when the cell names none (a wall-clock time)."""
    if not isinstance(raw, str):
        return None
    if (moment := _email_moment(raw.strip(_STRIP))) is not None:
        return _dt.timezone(moment.utcoffset() or _dt.timedelta(0))
    m = _dated(raw.strip(_STRIP).casefold())
    if m is None or m["zone"] is None or not _time_ok(m):
        return None
    zone = m["zone"]
    if zone == "z":
        return _dt.timezone.utc
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
    if minutes >= 24 * 60:
        return None
    return _dt.timezone(sign * _dt.timedelta(minutes=minutes))


def has_time(raw: RawCell) -> bool:
    """Whether a date cell shows a time of day: a text date with a time written after it, or a
    date-time cell or serial number off midnight. A date alone (or a date cell at 00:00) has none."""
    if isinstance(raw, str):
        if _email_moment(raw.strip(_STRIP)) is not None:
            return True
        m = _dated(raw.strip(_STRIP).casefold())
        return m is not None and m["hour"] is not None
    return time_of(raw) != _dt.time(0)


def team_moment(day: _dt.date, raw: RawCell, zone: str | None) -> _dt.datetime:
    """The wall-clock date and time in the team's zone (`zone`, an IANA name; None: the machine's
    local zone, as sheetcrm.team_time) of a cell read as `day` (its column settled the day)
    with `time_of(raw)`. A time written with its offset ("Z", "+05:00") is an instant: it is
    moved to the team's zone (2026-11-30T23:30:00Z is 2026-12-01 00:30 in Europe/Madrid);
    one without is already the team's wall-clock time."""
    moment = _dt.datetime.combine(day, time_of(raw))
    offset = offset_of(raw)
    if offset is None:
        return moment
    return moment.replace(tzinfo=offset).astimezone(ZoneInfo(zone) if zone else None).replace(tzinfo=None)


def parse_moment(raw: RawCell, locale: str = "en", zone: str | None = None) -> _dt.datetime | None:
    """A date and time of day, to the minute (`parse_date`'s day, `time_of`'s time), on the
    team's wall clock (`team_moment`: a written offset is converted to `zone`); a date alone is
    that day at midnight."""
    day = parse_date(raw, locale)
    return None if day is None else team_moment(day, raw, zone)


def parse_day(raw: RawCell, locale: str = "en", zone: str | None = None) -> _dt.date | None:
    """`parse_date`, where a time written with its offset ("2026-11-30T23:30:00Z") gives the
    day it is in the team's zone (`team_moment`), not the day written."""
    day = parse_date(raw, locale)
    return None if day is None else team_moment(day, raw, zone).date()


# --- booleans, emails, enums, currencies --------------------------------------------------

_TRUE = frozenset({"true", "yes", "y", "si", "verdadero", "x", "✓", "✔", "☑", "1"})
_FALSE = frozenset({"false", "no", "n", "falso", "0"})
_BOOL_HINT = N_("Use TRUE or FALSE (also yes/no, sí/no, verdadero/falso, x, 1/0)")


def parse_bool(raw: RawCell) -> bool | None:
    if raw is None:
        return None
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, (int, float)) and raw in (0, 1):
        return raw == 1
    if isinstance(raw, str):
        key = normalize_key(raw)
        if not key:
            return None
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
    raise CellError("bad_bool", _("{shown} is not yes or no.", shown=quoted(raw)), _(_BOOL_HINT), raw)


# Plain ASCII addresses, a strict subset of what email_validator accepts, are checked here:
# the validator's IDNA work costs ~60 µs a cell, most of a 100k-row tab's validation time.
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,63}))\Z"
)
_SPECIAL_TLDS = frozenset(d for d in SPECIAL_USE_DOMAIN_NAMES if "." not in d)


def _plain_email(s: str) -> str | None:
    m = _PLAIN_EMAIL.match(s)
    if (m is None or len(m["local"]) > 64 or len(s) > 254 or m["tld"].lower() in _SPECIAL_TLDS
            or any(len(label) > 63 for label in m["domain"].split("."))):
        return None
    return f"{m['local']}@{m['domain'].lower()}"


def parse_email(raw: RawCell) -> str | None:
    """The validator's normalized address (domain lowercased); syntax only, no DNS."""
    if raw is None:
        return None
    hint = _EMAIL_HINT
    if not isinstance(raw, str):
        raise CellError("bad_email", _("{shown} is not an email address.", shown=quoted(raw)), _(hint), raw)
    s = raw.strip(_STRIP)
    if not s:
        return None
    plain = _plain_email(s)
    if plain is not None:
        return plain
    try:
        return validate_email(s, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        several = [part for part in _SEPARATORS.split(s) if part]
        if len(several) > 1 and all("@" in part for part in several):
            # "ana@x.com, bo@y.com": the validator would blame a ',' after the @-sign; the cell
            # holds addresses, and which one is meant is not for sheetcrm to pick.
            raise CellError(
                "bad_email", _("{shown} holds {n} email addresses; an email cell holds one, and sheetcrm does not "
                               "pick one of them.", shown=quoted(raw), n=len(several)),
                _("Keep one address in this cell; put the other in another row or in a column of its own."), raw
            ) from None
        raise CellError(
            "bad_email", _("{shown} is not a valid email address. {reason}", shown=quoted(raw),
                           reason=email_reason(str(exc))), _(hint), raw
        ) from None


_EMAIL_HINT = N_("Type one full address, like ana@example.com")
# What people put between two addresses in one cell.
_SEPARATORS = re.compile(r"[,;\s]+")
# email_validator explains in English only. Its usual explanations are catalogue entries whose
# English text is the library's own, so they are found by that text and translated; the rest
# are said in English, and in another language replaced by a plain statement.
_EMAIL_REASONS = frozenset({
    N_("An email address must have an @-sign."),
    N_("There must be something before the @-sign."),
    N_("There must be something after the @-sign."),
    N_("An email address cannot have two periods in a row."),
    N_("The part after the @-sign is not valid. It should have a period."),
    N_("The part after the @-sign is not valid. It is not within a valid top-level domain."),
    N_("The part after the @-sign is a special-use or reserved name that cannot be used with email."),
    N_("There can't be anything after the email address."),
    N_("The email address contains an invalid character."),
    N_("An email address cannot have a period and a hyphen next to each other."),
    N_("A display name and angle brackets around the email address are not permitted here."),
})
# Explanations that end in the characters at fault (a value, shown as is).
_EMAIL_REASONS_WITH_CHARS = (
    N_("The email address contains invalid characters before the @-sign: {chars}"),
    N_("The part after the @-sign contains invalid characters: {chars}"),
    N_("The email address contains unsafe characters: {chars}"),
    # What a quote's recipient cannot have (mail/message.py: sent without SMTPUTF8).
    N_("Internationalized characters before the @-sign are not supported: {chars}"),
)


def email_reason(text: str) -> str:
    """email_validator's explanation in the current language."""
    if text in _EMAIL_REASONS:
        return _(text)
    for message in _EMAIL_REASONS_WITH_CHARS:
        prefix = message.partition("{chars}")[0]
        if text.startswith(prefix):
            return _(message, chars=text[len(prefix):])
    return text if current() == "en" else _("Its form is not that of an email address.")


def enum_choices(canonical_to_aliases: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Build parse_enum's lookup: normalized alias (and canonical name) → canonical value."""
    choices: dict[str, str] = {}
    for canonical, aliases in canonical_to_aliases.items():
        for name in (canonical, *aliases):
            key = normalize_key(name)
            if choices.setdefault(key, canonical) != canonical:
                raise ValueError(_("{name} is an alias of both {one} and {other}", name=quoted(name),
                                   one=quoted(choices[key]), other=quoted(canonical)))
    return choices


def parse_enum(raw: RawCell, choices: Mapping[str, str], what: str | Callable[[], str],
               allowed: Callable[[], Iterable[str]] | None = None) -> str | None:
    """The canonical value whose alias matches `raw` after normalize_key.

    An error names the column's `what` (text, or a function giving it in the current language)
    and lists `allowed()` (the values as the current language writes them), else the canonical
    values."""
    text = parse_text(raw)
    if text is None:
        return None
    found = choices.get(normalize_key(text))
    if found is None:
        values = allowed() if allowed is not None else choices.values()
        raise CellError("bad_enum", _("{shown} is not a valid {what}.", shown=quoted(raw),
                                      what=what() if callable(what) else what),
                        _("Use one of: {values}", values=", ".join(dict.fromkeys(values))), raw)
    return found


def is_currency(text: str) -> bool:
    """Whether `text` names a currency as `parse_currency` reads one (a header's bracketed
    note: "Amount (USD)", "Budget (€)")."""
    try:
        return parse_currency(text) is not None
    except CellError:
        return False


def parse_currency(raw: RawCell, base: str | None = None) -> str | None:
    """An ISO 4217 code, from the code itself or from a symbol (`SYMBOL_CURRENCIES`): an
    ambiguous symbol is `base` when that is one of its meanings, else its usual one ($ is
    USD, ¥ is JPY); "kr" ("Kr.") without a krona base is not read: an `ambiguous_currency`
    error naming its currencies (it was called "not a currency")."""
    if raw is None:
        return None
    if isinstance(raw, str):
        s = raw.strip(_STRIP)
        if not s:
            return None
        symbol = s if s in SYMBOL_CURRENCIES else s.lower() if s.lower() in _NO_DEFAULT else None
        code = currency_of(symbol, base)[0] if symbol is not None else s.upper()
        if code in _CURRENCY_CODES:
            return code
        if symbol is not None:  # "kr" is a currency, only not one sheetcrm can tell
            raise CellError("ambiguous_currency",
                            _('"{token}" is the currency of several countries.', token=s),
                            _(AMBIGUOUS_CURRENCY[1], codes=", ".join(SYMBOL_CURRENCIES[symbol])), raw)
    raise CellError("bad_currency", _("{shown} is not a currency.", shown=quoted(raw)),
                    _("Use a 3-letter ISO currency code like EUR, USD or MXN, or one of € $ £ ¥"), raw)
