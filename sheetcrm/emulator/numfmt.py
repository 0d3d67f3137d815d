"""Number formats: turning a number (or date serial) into the text Sheets shows.

Only the pattern vocabulary that Sheets itself picks when it parses user input, plus the
common hand-written patterns (``0.00``, ``#,##0``, ``0%``, ``yyyy-mm-dd hh:mm``) is covered.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re

EPOCH = _dt.datetime(1899, 12, 30)
DATE_TYPES = ("DATE", "TIME", "DATE_TIME")


def general(x: float) -> str:
    """Sheets' automatic format: integers plainly, at most 10 decimals, scientific when huge."""
    if x == 0:
        return "0"
    ax = abs(x)
    if ax >= 1e15 or ax < 1e-10:
        mantissa, exp = f"{x:.5E}".split("E")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}E{exp[0]}{exp[1:].lstrip('0').zfill(2)}"
    if float(x).is_integer():
        return str(int(x))
    text = f"{round(x, 10):.10f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def serial_to_datetime(serial: float) -> _dt.datetime:
    return EPOCH + _dt.timedelta(days=serial)


def datetime_to_serial(value: _dt.datetime) -> float:
    delta = value - EPOCH
    serial = delta.days + delta.seconds / 86400
    return int(serial) if float(serial).is_integer() else serial


_DATE_TOKEN = re.compile(
    r"yyyy|yy|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|am/pm|AM/PM|a/p|\"[^\"]*\"|\\.|.",
    re.IGNORECASE,
)


def format_date(serial: float, pattern: str) -> str:
    # Round to the second first so 10:29:59.9999 prints as 10:30:00.
    moment = serial_to_datetime(round(serial * 86400) / 86400)
    return "".join([part(moment) for part in _date_parts(pattern)])


@functools.lru_cache(maxsize=256)
def _date_parts(pattern: str) -> tuple:
    """The pattern as one function per token, moment -> text. What a token means depends
    only on the pattern, and a large read formats many cells with few patterns."""
    tokens = _DATE_TOKEN.findall(pattern)
    twelve_hour = any(t.lower() in ("am/pm", "a/p") for t in tokens)
    parts = []
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low == "yyyy":
            parts.append(lambda m: f"{m.year:04d}")
        elif low == "yy":
            parts.append(lambda m: f"{m.year % 100:02d}")
        elif low in ("mmmm", "mmm"):
            parts.append(functools.partial(_dt.datetime.strftime, format="%B" if low == "mmmm" else "%b"))
        elif low in ("mm", "m"):
            # "m" is minutes right after an hour or right before seconds, else month.
            prev = next((t.lower() for t in reversed(tokens[:i]) if t.strip() and t not in ":"), "")
            nxt = next((t.lower() for t in tokens[i + 1 :] if t.strip() and t not in ":"), "")
            if prev.startswith("h") or nxt.startswith("s"):
                parts.append((lambda m: f"{m.minute:02d}") if low == "mm" else (lambda m: str(m.minute)))
            else:
                parts.append((lambda m: f"{m.month:02d}") if low == "mm" else (lambda m: str(m.month)))
        elif low == "dddd":
            parts.append(functools.partial(_dt.datetime.strftime, format="%A"))
        elif low == "ddd":
            parts.append(functools.partial(_dt.datetime.strftime, format="%a"))
        elif low in ("dd", "d"):
            parts.append((lambda m: f"{m.day:02d}") if low == "dd" else (lambda m: str(m.day)))
        elif low in ("hh", "h"):
            if twelve_hour:
                parts.append(
                    (lambda m: f"{m.hour % 12 or 12:02d}") if low == "hh" else (lambda m: str(m.hour % 12 or 12))
                )
            else:
                parts.append((lambda m: f"{m.hour:02d}") if low == "hh" else (lambda m: str(m.hour)))
        elif low in ("ss", "s"):
            parts.append((lambda m: f"{m.second:02d}") if low == "ss" else (lambda m: str(m.second)))
        elif low == "am/pm":
            parts.append(lambda m: "AM" if m.hour < 12 else "PM")
        elif low == "a/p":
            parts.append(lambda m: "A" if m.hour < 12 else "P")
        else:
            text = tok[1:-1] if tok.startswith('"') else tok[1:] if tok.startswith("\\") else tok
            parts.append(lambda m, text=text: text)
    return tuple(parts)


# A pattern's `.` and `,` are placeholders, shown as the spreadsheet's locale writes the decimal
# mark and the thousands separator ("Formatting is based on the spreadsheet's locale",
# ValueRenderOption): 1234.5 under #,##0.00 is "1.234,50" in an es_ES spreadsheet.
_DECIMAL_COMMA = str.maketrans(".,", ",.")


def format_number(x: float, pattern: str, decimal_comma: bool = False) -> str:
    """Patterns of the form prefix + ``#,##0.00`` / ``0%`` / ``0.00E+00`` + suffix."""
    if not pattern or pattern.lower() == "general":
        return _localized(general(x), decimal_comma)
    section = pattern.split(";")[0]
    if x < 0 and len(pattern.split(";")) > 1:
        section = pattern.split(";")[1]
        x = -x
    literal = re.sub(r'"([^"]*)"', lambda m: "\x00" * len(m.group(0)), section)
    m = re.search(r"[#0?][#0?,]*(\.[#0?]+)?(E[+-]0+)?%?", literal)
    if not m:
        return _localized(general(x), decimal_comma)
    core = section[m.start() : m.end()]
    prefix = _literal(section[: m.start()])
    suffix = _literal(section[m.end() :])
    # Every % outside quotes scales, wherever it stands, as in Sheets and Excel: the Spanish
    # `0.0" "%` shows 0.75 as "75.0 %", not "0.8 %" (a `\%` is shown as is and scales nothing).
    x *= 100 ** len(re.findall(r"(?<!\\)%", literal))
    decimals = len(m.group(1)) - 1 if m.group(1) else 0
    min_decimals = m.group(1).count("0") if m.group(1) else 0
    if m.group(2):
        text = f"{x:.{decimals}E}"
        mant, exp = text.split("E")
        text = f"{mant}E{exp[0]}{exp[1:].lstrip('0').zfill(len(m.group(2)) - 2)}"
    else:
        text = f"{abs(x):,.{decimals}f}" if "," in core else f"{abs(x):.{decimals}f}"
        if decimals > min_decimals:
            whole, frac = text.split(".")
            frac = frac.rstrip("0").ljust(min_decimals, "0")
            text = whole + ("." + frac if frac else "")
        int_part = text.split(".")[0]
        if int_part.replace(",", "") == "0" and not core.split(".")[0].replace(",", "").endswith("0"):
            text = text[len(int_part) :]
    sign = "-" if x < 0 and not m.group(2) and float(text.replace(",", "") or 0) != 0 else ""
    if core.endswith("%"):
        text += "%"
    # The minus sign leads, before a currency symbol: -$1,000.00.
    return sign + prefix + _localized(text, decimal_comma) + suffix


def _localized(number: str, decimal_comma: bool) -> str:
    """A number as written in en_US, in a decimal-comma locale (the text around it stays)."""
    return number.translate(_DECIMAL_COMMA) if decimal_comma else number


def _literal(part: str) -> str:
    """A pattern's text around the number as shown: quotes dropped, a `\\%` as its character,
    a `[$€-x-euro2]` currency block shown as its symbol."""
    part = re.sub(r"\[\$([^\]-]*)(?:-[^\]]*)?\]", r"\1", part)
    return re.sub(r'"([^"]*)"|\\(.)', lambda m: m.group(1) if m.group(1) is not None else m.group(2), part)


def render(x: float, number_format: dict | None, decimal_comma: bool = False) -> str:
    if not number_format:
        return _localized(general(x), decimal_comma)
    kind = number_format.get("type", "NUMBER")
    pattern = number_format.get("pattern", "")
    if kind in DATE_TYPES:
        default = {"DATE": "M/d/yyyy", "TIME": "h:mm:ss am/pm", "DATE_TIME": "M/d/yyyy H:mm:ss"}[kind]
        return format_date(x, pattern or default)
    if kind == "TEXT":
        return _localized(general(x), decimal_comma)
    if not pattern:
        pattern = {"PERCENT": "0.00%", "CURRENCY": '"$"#,##0.00', "SCIENTIFIC": "0.00E+00"}.get(kind, "")
    return format_number(x, pattern, decimal_comma)
