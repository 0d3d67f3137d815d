"""Value input and render options: what a written JSON value becomes in a cell, and what a
cell reads back as.

RAW stores values as given. USER_ENTERED parses text the way typing it into the Sheets UI
would: numbers, percentages, currency, dates and times, TRUE/FALSE, formulas, and a leading
apostrophe that forces text (and is not part of the value).
"""

from __future__ import annotations

import datetime as _dt
import re

from . import numfmt
from .errors import invalid

MAX_CELL_CHARS = 50_000

INPUT_OPTIONS = ("RAW", "USER_ENTERED")
RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATETIME_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")

# ErrorValue.type -> the code a cell shows.
ERROR_CODES = {
    "DIVIDE_BY_ZERO": "#DIV/0!",
    "NAME": "#NAME?",
    "REF": "#REF!",
    "VALUE": "#VALUE!",
    "N_A": "#N/A",
    "NUM": "#NUM!",
    "NULL_VALUE": "#NULL!",
    "ERROR": "#ERROR!",
    "LOADING": "Loading...",  # a formula whose outside data (IMPORTRANGE, GOOGLEFINANCE...) is not there yet
}

_NUMBER = re.compile(r"^([+-]?)(\$?)((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?(%?)$")
_ISO_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp][Mm]))?$")


def check_length(text: str) -> None:
    if len(text) > MAX_CELL_CHARS:
        raise invalid(
            f"Your input contains more than the maximum of {MAX_CELL_CHARS} characters in a single cell."
        )


# How people type under a spreadsheet's locale (its properties.locale): the languages whose
# countries write the day first (03/04/2026 is 3 April) and a decimal comma (1.234,5), as Sheets
# reads what they type. Other locales are read as en_US, the default: month first, decimal point.
DAY_FIRST_LANGUAGES = ("es", "fr", "de", "it", "pt", "nl", "ca")
DAY_FIRST_ENGLISH = ("en_GB", "en_AU", "en_IE", "en_NZ", "en_IN", "en_ZA")
DECIMAL_POINT = ("es_MX", "es_US")  # Spanish locales that write 1,234.5
_COMMA_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d*)?%?$|^[+-]?,\d+%?$")


_SWAP_SEPARATORS = str.maketrans(".,", ",.")


def conventions(locale: str) -> tuple[bool, bool]:
    """(day first, decimal comma) of what people type under a spreadsheet's ``locale``."""
    language = locale.split("_")[0]
    if locale == "es_US":
        return False, False
    day_first = language in DAY_FIRST_LANGUAGES or locale in DAY_FIRST_ENGLISH
    return day_first, language in DAY_FIRST_LANGUAGES and locale not in DECIMAL_POINT


def _date_cell(year, month, day, hh, mm, ss, iso: bool, day_first: bool = False) -> dict | None:
    try:
        moment = _dt.datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return None
    serial = numfmt.datetime_to_serial(moment)
    date_pattern = "yyyy-mm-dd" if iso else "d/M/yyyy" if day_first else "M/d/yyyy"
    if hh is None:
        fmt = {"type": "DATE", "pattern": date_pattern}
    else:
        fmt = {"type": "DATE_TIME", "pattern": date_pattern + (" H:mm:ss" if ss else " H:mm")}
    return {"userEnteredValue": {"numberValue": serial}, "userEnteredFormat": {"numberFormat": fmt}}


def _typed(text: str, locale: str = "en_US") -> dict:
    """Interpret text typed by a user (USER_ENTERED) under the spreadsheet's ``locale``."""
    day_first, decimal_comma = conventions(locale)
    if text.startswith("'"):
        return {"userEnteredValue": {"stringValue": text[1:]}}
    if text.startswith("=") and len(text) > 1:
        return {"userEnteredValue": {"formulaValue": text}}
    upper = text.strip().upper()
    if upper in ("TRUE", "FALSE"):
        return {"userEnteredValue": {"boolValue": upper == "TRUE"}}
    stripped = text.strip()
    if decimal_comma:
        # "1.234,5" is the en_US "1,234.5"; a text with a decimal point stays text there.
        if not _COMMA_NUMBER.match(stripped):
            m = None
        else:
            m = _NUMBER.match(stripped.translate(_SWAP_SEPARATORS))
    else:
        m = _NUMBER.match(stripped)
    if m:
        sign, currency, digits, exponent, percent = m.groups()
        value = float(sign + digits.replace(",", "") + (exponent or ""))
        if percent:
            value /= 100
        value = int(value) if value.is_integer() and abs(value) < 2**53 else value
        cell = {"userEnteredValue": {"numberValue": value}}
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        frac = "." + "0" * decimals if decimals else ""
        if percent:
            cell["userEnteredFormat"] = {"numberFormat": {"type": "PERCENT", "pattern": "0" + frac + "%"}}
        elif currency:
            cell["userEnteredFormat"] = {"numberFormat": {"type": "CURRENCY", "pattern": '"$"#,##0' + (frac or ".00")}}
        elif "," in digits:
            cell["userEnteredFormat"] = {"numberFormat": {"type": "NUMBER", "pattern": "#,##0" + frac}}
        return cell
    m = _ISO_DATE.match(stripped)
    if m:
        y, mo, d, hh, mm, ss = m.groups()
        cell = _date_cell(y, mo, d, hh, mm, ss, iso=True)
        if cell:
            return cell
    m = _US_DATE.match(stripped)
    if m:
        mo, d, y, hh, mm, ss = m.groups()
        if day_first:
            mo, d = d, mo
        cell = _date_cell(y, mo, d, hh, mm, ss, iso=False, day_first=day_first)
        if cell:
            return cell
    m = _TIME.match(stripped)
    if m:
        hh, mm, ss, half = m.groups()
        hour = int(hh)
        if half:
            hour = hour % 12 + (12 if half.lower() == "pm" else 0)
        if hour < 24 and int(mm) < 60 and int(ss or 0) < 60:
            serial = (hour * 3600 + int(mm) * 60 + int(ss or 0)) / 86400
            pattern = ("h:mm" + (":ss" if ss else "") + " am/pm") if half else ("H:mm" + (":ss" if ss else ""))
            return {
                "userEnteredValue": {"numberValue": serial},
                "userEnteredFormat": {"numberFormat": {"type": "TIME", "pattern": pattern}},
            }
    return {"userEnteredValue": {"stringValue": text}}


def parse_input(value, option: str, locale: str = "en_US", plain_text: bool = False) -> dict | None:
    """A JSON value from a ValueRange -> cell content.

    Returns None for JSON null (the API leaves such cells untouched) and ``{}`` for an
    empty string (the cell's value is cleared, its formatting kept). ``plain_text``: the
    cell is formatted Plain text (number format type TEXT), where what is typed stays the
    text typed ("0042", "=1+1", "3/4/2026"), as Format > Number > Plain text is for.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, (int, float)):
        return {"userEnteredValue": {"numberValue": value}}
    if isinstance(value, (list, dict)):
        raise invalid("Invalid values[0][0]: " + ("list_value" if isinstance(value, list) else "struct_value"))
    text = str(value)
    check_length(text)
    if text == "":
        return {}
    if option == "RAW":
        return {"userEnteredValue": {"stringValue": text}}
    if plain_text:
        # A leading apostrophe is taken as the usual mark of text, as elsewhere: whether Google
        # keeps it in a Plain text cell is not checked against Google (no recording has one).
        return {"userEnteredValue": {"stringValue": text[1:] if text.startswith("'") else text}}
    return _typed(text, locale)


def is_plain_text(cell: dict | None) -> bool:
    """Whether a cell is formatted Plain text (its own number format's type is TEXT)."""
    return (((cell or {}).get("userEnteredFormat") or {}).get("numberFormat") or {}).get("type") == "TEXT"


def json_number(x: float):
    """Sheets prints whole numbers without a decimal point."""
    if isinstance(x, float) and x.is_integer() and abs(x) < 2**53:
        return int(x)
    return x


def is_date_format(number_format: dict | None) -> bool:
    return bool(number_format) and number_format.get("type") in numfmt.DATE_TYPES


def formatted(effective: dict | None, number_format: dict | None, locale: str = "en_US") -> str | None:
    """effectiveValue -> formattedValue, as written under the spreadsheet's ``locale``."""
    if not effective:
        return None
    if "numberValue" in effective:
        return numfmt.render(float(effective["numberValue"]), number_format, conventions(locale)[1])
    if "stringValue" in effective:
        return effective["stringValue"]
    if "boolValue" in effective:
        return "TRUE" if effective["boolValue"] else "FALSE"
    if "errorValue" in effective:
        return ERROR_CODES.get(effective["errorValue"].get("type"), "#ERROR!")
    return None


class Computed(dict):
    """A formula's effective value with the number format Sheets computes for it, which it is
    shown in when its cell has no format of its own (`formula.Shown`); as JSON, just the value."""

    def __init__(self, value: dict, number_format: dict):
        super().__init__(value)
        self.number_format = number_format


def auto_format(effective: dict | None) -> dict | None:
    return getattr(effective, "number_format", None)


def render(cell: dict, effective: dict | None, value_option: str, datetime_option: str, locale: str = "en_US"):
    """What values.get returns for a stored cell whose effective value is ``effective``;
    "" for an empty cell. Formatting, the costly part of a large read, happens only where
    the answer is the formatted text, in the spreadsheet's ``locale``."""
    entered = cell.get("userEnteredValue") or {}
    if value_option == "FORMULA" and "formulaValue" in entered:
        return entered["formulaValue"]
    if not effective:
        return ""
    number_format = (cell.get("userEnteredFormat") or {}).get("numberFormat") or auto_format(effective)
    if value_option == "FORMATTED_VALUE":
        text = formatted(effective, number_format, locale)
        return "" if text is None else text
    if "numberValue" in effective:
        if datetime_option == "FORMATTED_STRING" and is_date_format(number_format):
            return formatted(effective, number_format, locale)
        return json_number(effective["numberValue"])
    if "boolValue" in effective:
        return effective["boolValue"]
    if "stringValue" in effective:
        return effective["stringValue"]
    if "errorValue" in effective:
        return formatted(effective, number_format)
    return ""
