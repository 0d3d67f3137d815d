"""What a cell's number format shows besides the number: a percentage, or a currency.

The same format code language serves .xlsx files (ECMA-376 Part 1 §18.8.31) and Google
Sheets (`NumberFormat.pattern`, documented at developers.google.com/sheets/api/guides/formats),
so both backends read codes here. Only the first section (the one positive numbers use) is
looked at.

A currency shows in a code in four ways: a locale currency block `[$€-407]` (symbol, then
the Windows locale ID it belongs to), an ISO code block `[$EUR]`, quoted text `"£"#,##0` or
`#,##0 "USD"`, and a bare symbol `€#,##0` / `$#,##0`. `format_currency` gives the ISO code
when the code says which (an ISO code, a symbol with one meaning, or a symbol whose locale ID
names a country that uses one of its meanings: `[$$-409]` is USD, `[$¥-804]` CNY), else the
symbol as written (`"$"` alone), which readers resolve as they do a symbol typed in a cell.
"""

from __future__ import annotations

import locale
from functools import lru_cache

from babel.numbers import get_territory_currencies

from sheetcrm.cells import CURRENCY_CODES, SYMBOL_CURRENCIES

# One-character symbols that may stand unquoted in a format code.
_BARE = frozenset(s for s in SYMBOL_CURRENCIES if len(s) == 1)


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
    for kind, text in _tokens(code):
        if kind == "[":
            if not text.startswith("$"):
                continue  # [Red], [>=100], [h]
            symbol, _, lcid = text[1:].partition("-")
            found = _currency(symbol.strip(), _territory(lcid))
        elif kind in ('"', "\\", "c"):
            found = _currency(text.strip(), None) if kind == '"' or text in _BARE else None
        else:
            continue
        if found:
            return found
    return None


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
