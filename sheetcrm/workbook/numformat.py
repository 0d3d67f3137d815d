"""What a cell's number format shows besides the number: a percentage, or a currency.

The same format code language serves .xlsx files (ECMA-376 Part 1 §18.8.31) and Google
Sheets (`NumberFormat.pattern`, documented at developers.google.com/sheets/api/guides/formats),
so both backends read codes here. Only the first section (the one positive numbers use) is
looked at, but for whether a number shows as a percentage, which is read from the section
that shows that number (`section_for`: 0.5 under `[>0.9]"Sure";0%` shows 50%).

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

import datetime as _dt
import locale
import re
from functools import lru_cache

from babel import Locale
from babel.numbers import get_territory_currencies

from sheetcrm.cells import CURRENCY_CODES, SEVERAL_CURRENCIES, SYMBOL_CURRENCIES

# The built-in number formats an xlsx style names by id alone (ECMA-376 Part 1 §18.8.30), and
# whether a code shows a date or time, both as openpyxl has them (tests/test_startup_imports.py
# compares them): kept here so that a sync's patch of the package never imports openpyxl and
# the numpy it brings (0.3 s of CPU).
BUILTIN_FORMATS = {
    0: 'General',
    1: '0',
    2: '0.00',
    3: '#,##0',
    4: '#,##0.00',
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: '0%',
    10: '0.00%',
    11: '0.00E+00',
    12: '# ?/?',
    13: '# ??/??',
    14: 'mm-dd-yy',
    15: 'd-mmm-yy',
    16: 'd-mmm',
    17: 'mmm-yy',
    18: 'h:mm AM/PM',  # not for people: a format code
    19: 'h:mm:ss AM/PM',  # not for people: a format code
    20: 'h:mm',
    21: 'h:mm:ss',
    22: 'm/d/yy h:mm',
    37: '#,##0_);(#,##0)',
    38: '#,##0_);[Red](#,##0)',
    39: '#,##0.00_);(#,##0.00)',
    40: '#,##0.00_);[Red](#,##0.00)',
    41: '_(* #,##0_);_(* \\(#,##0\\);_(* "-"_);_(@_)',
    42: '_("$"* #,##0_);_("$"* \\(#,##0\\);_("$"* "-"_);_(@_)',
    43: '_(* #,##0.00_);_(* \\(#,##0.00\\);_(* "-"??_);_(@_)',
    44: '_("$"* #,##0.00_)_("$"* \\(#,##0.00\\)_("$"* "-"??_)_(@_)',
    45: 'mm:ss',
    46: '[h]:mm:ss',
    47: 'mmss.0',
    48: '##0.0E+0',
    49: '@',
}
_NOT_DATE_PARTS = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')


def is_date_format(code: str | None) -> bool:
    """Whether `code`'s first section shows a date or time: a d, m, h, y or s outside quoted
    text, brackets (but [h], [m], [s]) and escapes."""
    if code is None:
        return False
    return re.search(r"(?<![_\\])[dmhysDMHYS]", _NOT_DATE_PARTS.sub("", code.split(";")[0])) is not None


# One-character symbols that may stand unquoted in a format code.
_BARE = frozenset(s for s in SYMBOL_CURRENCIES if len(s) == 1)
SEVERAL = SEVERAL_CURRENCIES  # between the currencies of a code that shows more than one


def is_percent_format(code: str, value: float | None = None) -> bool:
    """Whether a number format code shows a positive number (or `value`, through the section
    that shows it: `section_for`) as a percentage: a `%` in that section that is not quoted
    ("%"), escaped (\\%), a fill or space character (*% _%) or inside brackets ([Red], [$%-409])."""
    return any(kind == "%" for kind, _ in _tokens(code if value is None else section_for(code, value)))


def shows_percent(code: str, value) -> bool:
    """Whether a cell holding `value` under `code` shows it as a percentage: a number through
    the section that shows it, anything else as the first section would."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return is_percent_format(code, value if number else None)


def percent_depends(code: str) -> bool:
    """Whether a code shows some numbers as a percentage and others not (`[>0.9]"Sure";0%`,
    `0;0%`): which, only the cell's value tells (`is_percent_format(code, value)`)."""
    shown = {any(kind == "%" for kind, _ in _tokens(section)) for section in _sections(code)[:3]}
    return len(shown) > 1


_CONDITION = re.compile(r"\[\s*(<=|>=|<>|<|>|=)\s*(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)\s*\]")


def section_for(code: str, value: float) -> str:
    """The section of `code` that shows the number `value`, as Excel and LibreOffice choose it:
    the first whose condition it meets (`[>0.9]"Sure";0%` shows 0.5 by `0%`); without
    conditions, positive;negative;zero (a second section shows the negatives, a third zero)."""
    sections = _sections(code)[:3]  # a fourth section is for text
    conditions = [_condition(section) for section in sections]
    if any(c is not None for c in conditions[:2]):
        for section, condition in zip(sections, conditions):
            if condition is None or _meets(value, *condition):
                return section
        return sections[-1]
    if len(sections) >= 3 and value == 0:
        return sections[2]
    if len(sections) >= 2 and value < 0:
        return sections[1]
    return sections[0]


def _condition(section: str) -> tuple[str, float] | None:
    # A condition stands among the brackets at a section's start ([Red][>=100]).
    for block in re.match(r"^(?:\[[^\]]*\])*", section)[0].split("]"):
        m = _CONDITION.fullmatch(block + "]") if block else None
        if m:
            return m[1], float(m[2])
    return None


def _meets(value: float, op: str, bound: float) -> bool:
    return {"<": value < bound, ">": value > bound, "=": value == bound, "<=": value <= bound,
            ">=": value >= bound, "<>": value != bound}[op]


def _sections(code: str) -> list[str]:
    """A code's sections, split at each `;` outside quotes, brackets and escapes."""
    out, start, i, n = [], 0, 0, len(code)
    while i < n:
        ch = code[i]
        if ch in '"[':
            close = code.find('"' if ch == '"' else "]", i + 1)
            i = n if close < 0 else close + 1
            continue
        if ch in "\\_*":
            i += 2
            continue
        if ch == ";":
            out.append(code[start:i])
            start = i + 1
        i += 1
    out.append(code[start:])
    return out


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


# --- times of day and durations, as their format shows them ----------------------------------

# The parts of a time code: an elapsed count in brackets ([h], [mm], [ss]), h, m, s runs, AM/PM
# (A/P), fractions of a second after s (.0, .00), and the literal text between them.
_TIME_PART = re.compile(r'\[(h+|m+|s+)\]|(h+|m+|s+)|(AM/PM|A/P)|(\.0+)|"([^"]*)"|\\(.)|(.)', re.I)


def is_time_format(code: str) -> bool:
    """Whether a number format code shows a time of day or a duration, and no date: h, s or an
    elapsed count ([h], [m], [s]) in its first section, outside quotes and brackets other than
    the elapsed ones, and no day, month name or year."""
    section = _first_section(code)
    if not section:
        return False
    bare = re.sub(r'"[^"]*"|\\.|\[(?![hms]+\])[^\]]*\]', "", section, flags=re.I)
    return bool(re.search(r"[hs]|\[[hms]+\]", bare, re.I)) and not re.search(r"[dy]", bare, re.I)


def show_time(days: float, code: str) -> str | None:
    """A number of days (a spreadsheet's time: 0.0625 is 1:30; 1.5 is 36 hours) as the time
    code `code` shows it: `[h]:mm` 1.5 -> "36:00", `h:mm` 0.0625 -> "1:30", `[mm]:ss` 2.25 ->
    "3240:00", `h:mm AM/PM` 0.0625 -> "1:30 AM". None when the code is no time code
    (`is_time_format`) or the number is negative. The largest unit shown without brackets wraps
    as a clock does (`h:mm` shows 1.5 days as 12:00); fractions of a second are rounded to the
    code's decimals, and the rest to whole seconds, as spreadsheet apps do."""
    if days < 0 or not is_time_format(code):
        return None
    section = _first_section(code)
    parts = list(_TIME_PART.finditer(section))
    decimals = max((len(m[4]) - 1 for m in parts if m[4]), default=0)
    total = round(days * 86400 * 10 ** decimals)  # in units of the finest fraction shown
    whole, fraction = divmod(total, 10 ** decimals)
    twelve = any(m[3] for m in parts)
    # "m" right after an h or right before an s is minutes; elsewhere it would be a month.
    units = [m[1] or m[2] for m in parts]
    out: list[str] = []
    for i, m in enumerate(parts):
        if m[1] or m[2]:
            letters = (m[1] or m[2]).lower()
            unit = letters[0]
            elapsed = m[1] is not None
            if unit == "h":
                value = whole // 3600 if elapsed else (whole // 3600) % 24
                if twelve and not elapsed:
                    value = value % 12 or 12
            elif unit == "m":
                value = whole // 60 if elapsed else (whole // 60) % 60
                if not elapsed and not any((u or "").lower().startswith("h") for u in units[:i]) \
                        and not any((u or "").lower().startswith("s") for u in units[i + 1:]):
                    return None  # a month, not minutes: a date code
            else:
                value = whole if elapsed else whole % 60
            out.append(str(value).zfill(len(letters)))
        elif m[3]:
            am = (whole // 3600) % 24 < 12
            word = m[3]
            out.append(("AM" if am else "PM") if len(word) > 3 else ("A" if am else "P"))
            if word.islower():
                out[-1] = out[-1].lower()
        elif m[4]:
            out.append("." + str(fraction).zfill(decimals)[:len(m[4]) - 1])
        elif m[5] is not None:
            out.append(m[5])
        elif m[6] is not None:
            out.append(m[6])
        else:
            out.append(m[7])
    return "".join(out)


# --- dates and times: the moment a date-time code shows ------------------------------------


def moment_decimals(code: str) -> int | None:
    """The decimals of a second a date-time code shows (0 for `dd/mm/yyyy hh:mm` and
    `dd/mm/yyyy hh:mm:ss`, 2 for `hh:mm:ss.00`), or None when it shows no time of day
    (`dd/mm/yyyy`): see `shown_moment`."""
    bare = re.sub(r'"[^"]*"|\\.|\[(?![hms]+\])[^\]]*\]', "", _first_section(code))
    if not re.search(r"[hs]|am/pm|a/p", bare, re.I):
        return None
    fraction = re.search(r"s\.(0+)", bare, re.I)
    return min(len(fraction[1]), 3) if fraction else 0


def shown_moment(moment: _dt.datetime, decimals: int) -> _dt.datetime:
    """A date-time as a code showing its time to `decimals` of a second shows it: rounded to
    that, as Excel and LibreOffice round it before showing the day (46461.99999999, 23:59:59.999
    of 15 March, under `dd/mm/yyyy hh:mm:ss` shows 16/03/2027 00:00:00). Minutes and hours are
    not rounded (23:59:40 under `hh:mm` shows 23:59)."""
    unit = 10 ** (6 - decimals)
    rounded = (moment.microsecond + unit // 2) // unit * unit
    return moment.replace(microsecond=0) + _dt.timedelta(microseconds=rounded)


# --- whole numbers padded with zeros: postal codes, account numbers ---------------------------

# What a digits code may hold besides its "0" placeholders: quoted or escaped text, and these
# characters, which a code shows as they are (ECMA-376 §18.8.31 lists them as literals).
_DIGIT_LITERALS = frozenset(" -()/+:$")


@lru_cache(maxsize=256)  # a workbook has a handful of distinct codes
def is_digits_format(code: str) -> bool:
    """Whether a number format code pads a whole number with zeros (`show_digits`)."""
    return show_digits(0, code) is not None


def show_digits(number: int, code: str) -> str | None:
    """A whole number as a code of "0" placeholders and literal text shows it: 8001 under `00000` (Excel's Zip Code format) is
    "08001", 123456789 under `000-00-0000` "123-45-6789", 5551234567 under `(000) 000-0000`
    "(555) 123-4567", 7 under `"ES"00000` "ES00007". The digits fill the placeholders from the
    right, and a number longer than them shows its extra digits at the first one (1234567 under
    `00000` is "1234567"), as Excel and LibreOffice show it. None for any other code (one with
    `#`, `?`, a decimal point, thousands, a percent, an exponent, a condition or a date part,
    or fewer than three placeholders: `0`, `#,##0`, `0.00` show the number itself, and `00`
    is most often a month, a day or a minute, still a number), and for a negative number.
    12345 under `00000` is "12345": text too, as every cell of such a column of codes is."""
    if number < 0 or code.lstrip().startswith(("[<", "[>", "[=")):
        return None
    section = _first_section(code)
    parts: list[tuple[bool, str]] = []  # (a placeholder, the text)
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == "0":
            parts.append((True, "0"))
        elif ch == '"':
            close = section.find('"', i + 1)
            if close < 0:
                return None
            parts.append((False, section[i + 1:close]))
            i = close
        elif ch == "\\" and i + 1 < len(section):
            parts.append((False, section[i + 1]))
            i += 1
        elif ch in _DIGIT_LITERALS:
            parts.append((False, ch))
        else:
            return None
        i += 1
    places = sum(1 for placeholder, _ in parts if placeholder)
    if places < 3:
        return None
    digits = str(number).zfill(places)
    extra, digits = digits[:len(digits) - places], digits[len(digits) - places:]
    out, k = [], 0
    for placeholder, text in parts:
        if placeholder:
            out.append((extra if k == 0 else "") + digits[k])
            k += 1
        else:
            out.append(text)
    return "".join(out)


def _first_section(code: str) -> str:
    """The first section of a code (up to a `;` outside quotes), without a colour or condition
    in brackets at its start ([Red], [>=100])."""
    out, quoted, i = [], False, 0
    while i < len(code):
        ch = code[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "\\" and not quoted:
            out.append(code[i:i + 2])
            i += 2
            continue
        elif ch == ";" and not quoted:
            break
        out.append(ch)
        i += 1
    section = "".join(out)
    return re.sub(r"^(\[(?![hms]+\])[^\]]*\])+", "", section, flags=re.I)
