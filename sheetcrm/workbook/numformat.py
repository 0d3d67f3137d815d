"""What a cell's number format shows besides the number: a percentage, or a currency.

The same format code language serves .xlsx files (ECMA-376 Part 1 §18.8.31) and Google
Sheets (`NumberFormat.pattern`, documented at developers.google.com/sheets/api/guides/formats),
so both backends read codes here. Only the first section (the one positive numbers use) is
looked at.

A currency shows in a code in four ways: a locale currency block `[$€-407]` (symbol, then
the Windows locale ID it belongs to), an ISO code block `[$EUR]`, quoted text `"£"#,##0` or
`#,##0 "USD"`, and a bare symbol `€#,##0` / `$#,##0`. Quoted text may say more than the
currency: `#,##0, "k€"` (thousands of euros), `#,##0 "EUR k"`, `#,##0.00 "euros"`; the
currency is found inside it as a symbol, an ISO code or a currency's name in English or
Spanish (CLDR's, through babel: "euros", "US dollars", "libras esterlinas"). `format_currency`
gives the ISO code when the code says which (an ISO code, a symbol with one meaning, or a
symbol whose locale ID names a country that uses one of its meanings: `[$$-409]` is USD,
`[$¥-804]` CNY), else the symbol as written (`"$"` alone), which readers resolve as they do a
symbol typed in a cell; a code that shows two different currencies gives them all, joined by
`SEVERAL` (`"€ / $"`: which one the amount is in cannot be told, and readers say so).
"""

from __future__ import annotations

import locale
import re
from functools import lru_cache

from babel import Locale
from babel.numbers import get_territory_currencies

from sheetcrm.cells import CURRENCY_CODES, SEVERAL_CURRENCIES, SYMBOL_CURRENCIES

# One-character symbols that may stand unquoted in a format code.
_BARE = frozenset(s for s in SYMBOL_CURRENCIES if len(s) == 1)
SEVERAL = SEVERAL_CURRENCIES  # between the currencies of a code that shows more than one


def is_percent_format(code: str) -> bool:
    """Whether a number format code shows a positive number as a percentage: a `%` in its
    first section that is not quoted ("%"), escaped (\\%), a fill or space character (*% _%)
    or inside brackets ([Red], [$%-409])."""
    return any(kind == "%" for kind, _ in _tokens(code))


@lru_cache(maxsize=1024)  # a workbook has a handful of distinct codes
def format_currency(code: str) -> str | None:
    """The currency a number format code shows: an ISO code ("JPY" for `[$¥-411]#,##0`,
    "EUR" for `#,##0.00 [$€-407]`, "GBP" for `"£"#,##0`), the symbol as written when the code
    does not say which currency it means ("$" for `$#,##0`, "¥" for `¥#,##0`), or None when it
    shows no currency."""
    found: list[str] = []
    for kind, text in _tokens(code):
        if kind == "[":
            if not text.startswith("$"):
                continue  # [Red], [>=100], [h]
            symbol, _, lcid = text[1:].partition("-")
            one = _currency(symbol.strip(), _territory(lcid))
            shown = [one] if one else []
        elif kind == '"':
            shown = _quoted_currencies(text)
        elif kind in ("\\", "c"):
            shown = [one] if text in _BARE and (one := _currency(text, None)) else []
        else:
            continue
        found.extend(c for c in shown if c not in found)
    # A symbol beside a code it may mean ("$" and USD) shows that one currency.
    found = [c for c in found if not set(SYMBOL_CURRENCIES.get(c, ())) & set(found)]
    return SEVERAL.join(found) if found else None


def _quoted_currencies(text: str) -> list[str]:
    """The currencies a quoted text of a format code shows: the whole text as a symbol or an
    ISO code ("£", "USD", "kr"), else each currency named inside it: a symbol among other
    characters ("k€", "€ k", "M€"), an ISO code as a word of its own ("EUR k"), a currency's
    name ("euros", "dólares estadounidenses"). A lone letter ("k", "M") names none."""
    whole = _currency(text.strip(), None)
    if whole:
        return [whole]
    found: list[str] = []
    for word in text.split():
        # A lower-case word is no ISO code ("all in" is not the lek's ALL).
        one = _currency(word, None) if word in SYMBOL_CURRENCIES or not word.isalpha() or word.isupper() else None
        if one:
            shown = [one]
        else:  # "k€", "CAD/EUR": its symbols ("US$" whole before "$"), its upper-case ISO codes
            shown = [next((c for c in (_currency(lead + symbol, None), _currency(symbol, None),
                                       _currency(symbol.strip(_BRACKETS), None)) if c), None)
                     for lead, symbol in _SYMBOLS.findall(word)]
            shown += [_currency(run, None) for run in _LETTERS.findall(word) if run.isupper() and len(run) == 3]
        found.extend(c for c in shown if c and c not in found)
    folded = f" {' '.join(_LETTERS.findall(text.casefold()))} "
    found.extend(c for name, c in _names().items() if f" {name} " in folded and c not in found)
    return found


_SYMBOLS = re.compile(r"([^\W\d_]*)([^\w\s]+)")  # a symbol and the letters before it ("US", "$")
_LETTERS = re.compile(r"[^\W\d_]+")
_BRACKETS = "()[]{}<>/,;:"  # around a symbol: "(€)", "€/"


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Currency names as CLDR writes them in English and Spanish, singular and plural, folded
    ("euro", "euros", "us dollars", "libras esterlinas") -> ISO code. A name two currencies
    share in CLDR is left out."""
    names: dict[str, set[str]] = {}
    for tag in ("en", "es"):
        data = Locale.parse(tag)
        plural = data._data["currency_names_plural"]
        for code, name in data.currencies.items():
            if code not in CURRENCY_CODES:
                continue
            for form in (name, *dict(plural.get(code, {})).values()):
                key = " ".join(_LETTERS.findall(form.casefold()))
                if key:
                    names.setdefault(key, set()).add(code)
    return {name: codes.pop() for name, codes in names.items() if len(codes) == 1}


def _tokens(code: str):
    """The first section of `code` as (kind, text): "[" a bracketed block's inside, '"' a
    quoted text, "\\" an escaped character, "%" a percent sign, "c" any other character
    (fill and spacing characters after * and _ are skipped)."""
    i, n = 0, len(code)
    while i < n:
        ch = code[i]
        if ch == ";":
            return
        if ch in '"[':
            close = code.find('"' if ch == '"' else "]", i + 1)
            end = n if close < 0 else close
            yield ch, code[i + 1:end]
            i = end + 1
            continue
        if ch == "\\":
            yield "\\", code[i + 1:i + 2]
            i += 2
            continue
        if ch in "_*":
            i += 2
            continue
        yield ("%" if ch == "%" else "c"), ch
        i += 1


def _territory(lcid: str) -> str | None:
    """The country of a Windows locale ID in hex ("411" -> "JP"), or None."""
    try:
        number = int(lcid, 16) & 0xFFFF  # the high bits are sort orders, not the country
    except ValueError:
        return None
    name = locale.windows_locale.get(number)
    return name.partition("_")[2] or None if name else None


def _currency(symbol: str, territory: str | None) -> str | None:
    if not symbol:
        return None
    if symbol.upper() in CURRENCY_CODES and symbol.isalpha() and len(symbol) == 3:
        return symbol.upper()
    used = get_territory_currencies(territory) if territory else []
    meanings = SYMBOL_CURRENCIES.get(symbol)
    if meanings is None:
        # A symbol sheetcrm does not know ("Fr." of [$Fr.-100C]): the locale's one currency.
        return used[0] if len(used) == 1 else None
    if len(meanings) == 1:
        return meanings[0]
    return next((c for c in used if c in meanings), symbol)
