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

import datetime as _dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from babel.dates import get_month_names
from babel.numbers import list_currencies
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

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


def _show(raw: RawCell) -> str:
    text = raw.strip(_STRIP) if isinstance(raw, str) else str(raw)
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 1] + "…"
    return f'"{text}"'


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
        number_hint='Use a number like 1234.50 or 1,234.50 (or 1.234,50 with locale "es")',
        date_hint='Use a date like 2024-03-15 or 03/15/2024 (month first), '
        'or set locale "es" if this sheet writes dates day first',
        percent_hint="Use a percentage from 0 to 100, like 75 or 12.5%",
    ),
    "es": _Locale(
        name="es",
        thousands=".",
        decimal=",",
        day_first=True,
        number_hint='Use a number like 1234,50 or 1.234,50 (or 1,234.50 with locale "en")',
        date_hint='Use a date like 2024-03-15 or 15/03/2024 (day first), '
        'or set locale "en" if this sheet writes dates month first',
        percent_hint="Use a percentage from 0 to 100, like 75 or 12,5 %",
    ),
}


def _locale(locale: str) -> _Locale:
    try:
        return _LOCALES[locale]
    except KeyError:
        raise ValueError(f"unsupported locale {locale!r}; use 'en' or 'es'") from None


# --- keys, blanks, text -------------------------------------------------------------------

_KEY_SEPARATORS = str.maketrans("_-", "  ")


def normalize_key(s: str) -> str:
    """Fold a header or alias so that spelling variants people type compare equal."""
    s = s.casefold()
    if not s.isascii():
        s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return " ".join(s.translate(_KEY_SEPARATORS).strip(_STRIP).split())


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
    s = unicodedata.normalize("NFKC", s).translate(_INVISIBLE).translate(_QUOTES)
    return " ".join(s.split())


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

_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY"}
_CURRENCY_CODES = frozenset(list_currencies())

_GROUP_SPACE = "[ \u00a0\u2009\u202f]"
_NUMBER_RE = re.compile(
    rf"""
    (?P<open>\()? \s*
    (?P<sign1>[-+\u2212])? \s*
    (?:(?P<cur1>[$€£¥]|[A-Za-z]{{3}}) \s*)?
    (?P<sign2>[-+\u2212])? \s*
    (?P<body>[0-9](?:[0-9.,]|{_GROUP_SPACE})*[0-9]|[0-9]|[.,][0-9]+)
    \s* (?P<cur2>[$€£¥]|[A-Za-z]{{3}})?
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
_SEP_NAMES = {",": "a comma", ".": "a period", " ": "a space"}
_ONE = Decimal(1)


def _float_decimal(f: float) -> Decimal:
    # repr gives the shortest text that round-trips, so 0.1 stays 0.1 rather than the
    # binary 0.1000000000000000055511151231257827021181583404541015625.
    return Decimal(int(f)) if f.is_integer() else Decimal(repr(f))


def _decimal_body(body: str, loc: _Locale) -> Decimal | str:
    """The digits-and-separators part of a number, or why it is not one."""
    spaced = _SPACE_RE.search(body) is not None
    if spaced:
        body = _SPACE_RE.sub(" ", body)
    dot, comma = body.rfind("."), body.rfind(",")
    if dot >= 0 and comma >= 0:
        if spaced:
            return "it mixes spaces, periods and commas"
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
        whole, _, frac = body.partition(dec)
        if not frac.isdigit():
            return f"{_SEP_NAMES[dec]} marks the decimals, so it may appear only once, before digits"
    else:
        whole, frac = body, ""
    if thousands:
        if not _GROUPED_RE[thousands].fullmatch(whole):
            return (
                f'under locale "{loc.name}" {_SEP_NAMES[thousands]} separates thousands, '
                "so it must be followed by groups of exactly 3 digits"
            )
        whole = whole.replace(thousands, "")
    return Decimal(f"{whole or '0'}.{frac}" if frac else whole)


def _number(
    raw: RawCell, loc: _Locale, code: str, noun: str, hint: str, text: str | None = None
) -> Decimal | None:
    """Shared by every numeric parser so they agree on what a number looks like.

    `text`, when given, is the part of the string `raw` to read as the number; messages
    still quote all of `raw`.
    """
    if raw is None:
        return None
    if isinstance(raw, (bool, _dt.date)):
        raise CellError(code, f"{_show(raw)} is not {noun}.", hint, raw)
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        if not math.isfinite(raw):
            raise CellError(code, f"{_show(raw)} is not {noun}.", hint, raw)
        return _float_decimal(raw)
    s = raw.strip(_STRIP) if text is None else text
    if not s:
        return None
    if _PLAIN_RE[loc.name].fullmatch(s):
        return Decimal(s.replace(",", "."))

    m = _NUMBER_RE.fullmatch(s)
    if m is None:
        raise CellError(code, f"{_show(raw)} is not {noun}.", hint, raw)
    open_, sign1, cur1, sign2, body, cur2, close = m.group(
        "open", "sign1", "cur1", "sign2", "body", "cur2", "close"
    )
    problem = None
    if bool(open_) != bool(close):
        problem = "its parentheses do not match"
    elif sign1 and sign2 or open_ and (sign1 or sign2):
        problem = "it has more than one sign (parentheses already mean negative)"
    elif cur1 and cur2:
        problem = "it names a currency twice"
    elif (cur := cur1 or cur2) and cur not in _SYMBOLS and cur.upper() not in _CURRENCY_CODES:
        problem = f'"{cur}" is not a currency'
    if problem:
        raise CellError(code, f"{_show(raw)} is not {noun}: {problem}.", hint, raw)

    value = _decimal_body(body, loc)
    if isinstance(value, str):
        raise CellError(code, f"{_show(raw)} is not {noun}: {value}.", hint, raw)
    sign = sign1 or sign2
    # Accounting format writes negatives in parentheses: (1,200) is -1200.
    if open_ or sign in ("-", "\u2212"):
        value = -value
    return value


def parse_number(raw: RawCell, locale: str = "en") -> Decimal | None:
    """A Decimal from a native number or from text like "1,234.50", "1.234,50 €", "(1,200)".

    With both '.' and ',' present the last one is decimal whatever the locale. With one
    kind only, the locale's thousands separator must be followed by groups of 3 digits
    and the other is decimal. Space-like thousands separators ("1 234,5") make the lone
    '.' or ',' decimal. A currency symbol or ISO code before or after is ignored.
    """
    loc = _locale(locale)
    return _number(raw, loc, "bad_number", "a number", loc.number_hint)


def parse_integer(raw: RawCell, locale: str = "en") -> int | None:
    loc = _locale(locale)
    hint = "Use a whole number like 12 (no decimals)"
    value = _number(raw, loc, "bad_integer", "a whole number", hint)
    if value is None:
        return None
    if value != value.to_integral_value():
        raise CellError("bad_integer", f"{_show(raw)} is not a whole number.", hint, raw)
    return int(value)


def parse_percent(raw: RawCell, locale: str = "en") -> Decimal | None:
    """Percentage points, 0 to 100.

    Text is always points: "75", "75%", "12,5 %" (es), and "0.75" is 0.75 points.
    A native float strictly between 0 and 1 is what a percent-formatted cell holds
    unformatted, so 0.75 is 75 points. Every other native number is points as is, which
    means a native 1 is 1 point: a cell showing "100%" read unformatted also gives 1, and
    nothing in the value tells the two apart.
    """
    loc = _locale(locale)
    if isinstance(raw, float) and 0 < raw < 1:
        points = _float_decimal(raw).scaleb(2)
        value = points.quantize(_ONE) if points == points.to_integral_value() else points
    else:
        text = None
        if isinstance(raw, str):
            text = raw.strip(_STRIP)
            if text.endswith("%"):
                text = text[:-1].rstrip(_STRIP)
                if not text:
                    raise CellError(
                        "bad_percent", f"{_show(raw)} is not a percentage.", loc.percent_hint, raw
                    )
        value = _number(raw, loc, "bad_percent", "a percentage", loc.percent_hint, text)
        if value is None:
            return None
    if not 0 <= value <= 100:
        raise CellError(
            "out_of_range",
            f"{_show(raw)} is outside 0 to 100 percent.",
            loc.percent_hint,
            raw,
        )
    return value


# --- dates --------------------------------------------------------------------------------

# Google Sheets' epoch. Excel shares it from serial 61 (1900-03-01) on; below that Excel
# counts a 29 Feb 1900 that never existed, so its serials 1..60 land a day later here.
_EPOCH = _dt.date(1899, 12, 30)
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
    # abbreviate septiembre.
    table["sept"] = 9
    table["set"] = 9
    return table


_MONTHS = _month_table()

_TIME = (
    r"(?:(?:t|\s+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})(?::[0-9]{2}(?:[.,][0-9]+)?)?"
    r"\s*(?:(?P<ampm>[ap])\.?\s?m\.?)?"
    r"(?:\s*(?:z|[+-][0-9]{2}(?::?[0-9]{2})?))?)?"
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


def _date_error(raw: RawCell, loc: _Locale, why: str = "") -> CellError:
    return CellError("bad_date", f"{_show(raw)} is not a date{why}.", loc.date_hint, raw)


def _make_date(raw: RawCell, loc: _Locale, year: int, month: int, day: int) -> _dt.date:
    try:
        return _dt.date(year, month, day)
    except ValueError as exc:
        raise _date_error(raw, loc, f": {exc}") from None


def _serial_date(raw: int | float, loc: _Locale) -> _dt.date:
    if not math.isfinite(raw) or not 1 <= raw < _MAX_SERIAL + 1:
        raise CellError(
            "out_of_range",
            f"{_show(raw)} is outside the date serial numbers a spreadsheet uses "
            f"(1 to {_MAX_SERIAL}).",
            loc.date_hint,
            raw,
        )
    return _EPOCH + _dt.timedelta(days=math.floor(raw))


def _numeric_date(raw: RawCell, loc: _Locale, m: re.Match[str]) -> _dt.date:
    a, b, year = int(m["a"]), int(m["b"]), _year(m["y"])
    day, month = (a, b) if loc.day_first else (b, a)
    try:
        return _dt.date(year, month, day)
    except ValueError as exc:
        problem = exc
    try:
        other = _dt.date(year, day, month)
    except ValueError:
        raise _date_error(raw, loc, f": {problem}") from None
    order = "day first (DD/MM/YYYY)" if loc.day_first else "month first (MM/DD/YYYY)"
    other_locale = "en" if loc.day_first else "es"
    raise CellError(
        "bad_date",
        f'{_show(raw)} is not a date under locale "{loc.name}", which reads dates {order}; '
        "it only makes sense the other way round.",
        f"Write it as {other.isoformat()}, or set locale \"{other_locale}\" if this sheet "
        "writes dates the other way round",
        raw,
    )


def parse_date(raw: RawCell, locale: str = "en") -> _dt.date | None:
    """A date from a native date, a serial number, or text.

    Text may be ISO ("2024-03-15", with an optional time), numeric in the locale's order
    ("03/15/2024" en, "15/03/2024" es; '/', '-' or '.'), or use an English or Spanish
    month name ("Mar 15, 2024", "15 de marzo de 2024"). Times are accepted and dropped.
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
        return _serial_date(raw, loc)

    s = raw.strip(_STRIP)
    if not s:
        return None
    folded = s.casefold()
    if (m := _YMD_RE.fullmatch(folded)) and _time_ok(m):
        return _make_date(raw, loc, int(m["y"]), int(m["a"]), int(m["b"]))
    if (m := _NUMERIC_DATE_RE.fullmatch(folded)) and _time_ok(m):
        return _numeric_date(raw, loc, m)
    key = normalize_key(s)
    m = _DAY_MONTH_RE.fullmatch(key) or _MONTH_DAY_RE.fullmatch(key)
    if m is None:
        raise _date_error(raw, loc)
    month = _MONTHS.get(m["m"])
    if month is None:
        raise _date_error(raw, loc, f': "{m["m"]}" is not a month name')
    return _make_date(raw, loc, _year(m["y"]), month, int(m["d"]))


# --- booleans, emails, enums, currencies --------------------------------------------------

_TRUE = frozenset({"true", "yes", "y", "si", "verdadero", "x", "✓", "✔", "☑", "1"})
_FALSE = frozenset({"false", "no", "n", "falso", "0"})
_BOOL_HINT = "Use TRUE or FALSE (also yes/no, sí/no, verdadero/falso, x, 1/0)"


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
    raise CellError("bad_bool", f"{_show(raw)} is not yes or no.", _BOOL_HINT, raw)


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
    hint = "Type one full address, like ana@example.com"
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise CellError("bad_email", f"{_show(raw)} is not an email address.", hint, raw)
    s = raw.strip(_STRIP)
    if not s:
        return None
    plain = _plain_email(s)
    if plain is not None:
        return plain
    try:
        return validate_email(s, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise CellError(
            "bad_email", f"{_show(raw)} is not a valid email address. {exc}", hint, raw
        ) from None


def enum_choices(canonical_to_aliases: Mapping[str, Iterable[str]]) -> dict[str, str]:
    """Build parse_enum's lookup: normalized alias (and canonical name) → canonical value."""
    choices: dict[str, str] = {}
    for canonical, aliases in canonical_to_aliases.items():
        for name in (canonical, *aliases):
            key = normalize_key(name)
            if choices.setdefault(key, canonical) != canonical:
                raise ValueError(
                    f"{name!r} is an alias of both {choices[key]!r} and {canonical!r}"
                )
    return choices


def parse_enum(raw: RawCell, choices: Mapping[str, str], what: str) -> str | None:
    """The canonical value whose alias matches `raw` after normalize_key."""
    text = parse_text(raw)
    if text is None:
        return None
    found = choices.get(normalize_key(text))
    if found is None:
        allowed = ", ".join(dict.fromkeys(choices.values()))
        raise CellError("bad_enum", f"{_show(raw)} is not a valid {what}.",
                        f"Use one of: {allowed}", raw)
    return found


def parse_currency(raw: RawCell) -> str | None:
    """An ISO 4217 code, from the code itself or from € $ £ ¥ ($ is taken as USD)."""
    hint = "Use a 3-letter ISO currency code like EUR, USD or MXN, or one of € $ £ ¥"
    if raw is None:
        return None
    if isinstance(raw, str):
        s = raw.strip(_STRIP)
        if not s:
            return None
        code = _SYMBOLS.get(s) or s.upper()
        if code in _CURRENCY_CODES:
            return code
    raise CellError("bad_currency", f"{_show(raw)} is not a currency.", hint, raw)
