"""A small formula evaluator so formula cells get the effective value Sheets would show.

Covers arithmetic, comparison, ``&``, cell and range references (also on other tabs) and the
functions in SUPPORTED, each as Google Sheets' function list (support.google.com/docs/table/25273)
defines it. A function Sheets has and the emulator does not evaluate (GOOGLE_FUNCTIONS) is an
``#ERROR!`` whose message says so, logged once as a warning: never a value Sheets would not
show, nor the ``#NAME?`` Sheets gives only for a name it does not know, as the emulator does.
Evaluation happens on read, so results follow later edits (TODAY and NOW on every read, in the
spreadsheet's time zone).

A number result also carries the number format Sheets computes for it (Sheets API reference,
CellData.effectiveFormat: "if the cell contains a formula, the computed number format"), by
Sheets' automatic formatting: a number read from a cell is a `Shown` carrying that cell's
format (None if it has none), and an operation passes on the format of the first number it reads
from a cell (`_arith_format`, `_aggregate`), the rule spreadsheets share (Microsoft documents it
for Excel: KB 214280, "the number format of the first cell in the range that the formula refers
to"). IF, IFERROR and IFNA pass their chosen value on with its format; other functions give a
plain number (`_plain`), and so does every case whose Google format is not known: no format
rather than a guessed one. The cassettes hold no formula reading a formatted cell, so this is a
model of Sheets, not a replay; README ("Trying the Google path without Google") lists the rule.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import logging
import math
import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal, InvalidOperation
from typing import Callable

from . import a1
from .numfmt import datetime_to_serial, general, serial_to_datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FormulaError:
    code: str  # "#DIV/0!", "#NAME?", ...
    kind: str  # ErrorValue.type in the API
    message: str


DIV0 = FormulaError("#DIV/0!", "DIVIDE_BY_ZERO", "Function DIVIDE parameter 2 cannot be zero.")
REF = FormulaError("#REF!", "REF", "Circular dependency detected.")
VALUE = FormulaError("#VALUE!", "VALUE", "A value in the formula is of the wrong type.")
PARSE = FormulaError("#ERROR!", "ERROR", "Formula parse error.")
NA = FormulaError("#N/A", "N_A", "Value not available.")
LOADING_TEXT = "Loading..."  # what Sheets shows, and its values read gives, for ErrorValue.type LOADING
# What a reference reads once every cell it named was deleted (the formula then reads `#REF!`).
GONE = FormulaError("#REF!", "REF", "Reference does not exist.")


def unresolved(title: str) -> FormulaError:
    """What a reference to a tab no longer there (or never) reads, as Sheets says it."""
    return FormulaError("#REF!", "REF", f"Unresolved sheet name '{title}'.")


def _name_error(name: str) -> FormulaError:
    if name not in GOOGLE_FUNCTIONS:
        return FormulaError("#NAME?", "NAME", f"Unknown function: '{name}'.")
    if name in OUTSIDE_DATA:
        # Google shows such a cell "Loading..." (ErrorValue.type LOADING) until the data comes;
        # the emulator fetches nothing, so it stays there: a state Google's cells are really in.
        return FormulaError(LOADING_TEXT, "LOADING", f"The emulator fetches no outside data for {name}().")
    if name not in _warned:
        _warned.add(name)
        log.warning("the emulator does not evaluate %s(); its cells show #ERROR! where Google Sheets shows a value",
                    name)
    return FormulaError("#ERROR!", "ERROR", f"The emulator does not evaluate {name}(); Google Sheets does.")


_warned: set[str] = set()


class Shown(float):
    """A number together with the number format Sheets shows it in when its cell has none of
    its own: a number read from a cell (with that cell's format, or None when it has none),
    what TODAY, NOW and DATE give (a date), and what an operation on such numbers gives.
    A plain float is a number that comes from no cell (a literal, COUNT...)."""

    number_format: dict | None

    def __new__(cls, value: float, number_format: dict | None):
        shown = super().__new__(cls, value)
        shown.number_format = number_format
        return shown


# The format Sheets gives a date function's result (its en_US defaults).
AUTO_FORMATS = {"DATE": {"type": "DATE", "pattern": "M/d/yyyy"},
                "DATE_TIME": {"type": "DATE_TIME", "pattern": "M/d/yyyy H:mm:ss"}}
DATED_TYPES = ("DATE", "TIME", "DATE_TIME")


def number_format(value) -> dict | None:
    """The number format Sheets computes for a formula whose result is `value` (None: none)."""
    return getattr(value, "number_format", None)


def _dated(value) -> bool:
    return (number_format(value) or {}).get("type") in DATED_TYPES


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"]|"")*")
  | (?P<func>[A-Za-z_][\w.]*)\s*\(
  | (?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)
  | (?P<err>\#REF!)
  | (?P<bool>TRUE|FALSE)\b
  | (?P<op><>|<=|>=|[-+*/^&=<>%(),:])
    )""",
    re.VERBOSE | re.IGNORECASE,
)

Resolver = Callable[[str | None, int, int], object]


class _Parser:
    def __init__(self, text: str, cell: Resolver, now: Callable[[], _dt.datetime] | None = None):
        self.tokens = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise ValueError("unparseable formula")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0
        self.cell = cell
        self.now = now or _dt.datetime.now

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise ValueError(f"expected {value}")
        self.i += 1
        return tok

    def parse(self):
        value = self.comparison()
        if self.i != len(self.tokens):
            raise ValueError("trailing tokens")
        return value

    def comparison(self):
        left = self.concat()
        while self.peek()[1] in ("=", "<>", "<", ">", "<=", ">="):
            op = self.take()[1]
            right = self.concat()
            left = _compare(op, scalar(left), scalar(right))
        return left

    def concat(self):
        left = self.additive()
        while self.peek()[1] == "&":
            self.take()
            right = self.additive()
            l, r = scalar(left), scalar(right)
            left = l if isinstance(l, FormulaError) else r if isinstance(r, FormulaError) else text(l) + text(r)
        return left

    def additive(self):
        left = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            left = _arith(op, left, self.term())
        return left

    def term(self):
        left = self.power()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            left = _arith(op, left, self.power())
        return left

    def power(self):
        left = self.unary()
        while self.peek()[1] == "^":
            self.take()
            left = _arith("^", left, self.unary())
        return left

    def unary(self):
        if self.peek()[1] in ("-", "+"):
            op = self.take()[1]
            value = self.unary()
            return _arith("*", -1.0, value) if op == "-" else _arith("+", 0.0, value)
        value = self.primary()
        while self.peek()[1] == "%":
            self.take()
            value = _arith("/", value, 100.0)
        return value

    def primary(self):
        kind, tok = self.take()
        if kind == "num":
            return float(tok)
        if kind == "str":
            return tok[1:-1].replace('""', '"')
        if kind == "bool":
            return tok.upper() == "TRUE"
        if kind == "ref":
            return self.reference(tok)
        if kind == "err":
            return GONE
        if kind == "func":
            args = []
            if self.peek()[1] != ")":
                args.append(self.comparison())
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.comparison())
            self.take(")")
            name = tok.upper()
            if name in ("TODAY", "NOW"):
                if args:
                    return _wrong_count(name)
                moment = datetime_to_serial(self.now().replace(tzinfo=None))
                if name == "TODAY":
                    return Shown(math.floor(moment), AUTO_FORMATS["DATE"])
                return Shown(moment, AUTO_FORMATS["DATE_TIME"])
            return call(name, args)
        if tok == "(":
            value = self.comparison()
            self.take(")")
            return value
        raise ValueError(f"unexpected {tok}")

    def reference(self, tok: str):
        title, cells = a1.split_sheet(tok) if "!" in tok else (None, tok)
        start_row, end_row, start_col, end_col = a1.parse_cells(cells.replace("$", ""), tok)
        if end_row - start_row == 1 and end_col - start_col == 1 and ":" not in cells:
            return self.cell(title, start_row, start_col)
        return [
            [self.cell(title, r, c) for c in range(start_col, end_col)] for r in range(start_row, end_row)
        ]


def scalar(value):
    if isinstance(value, list):
        return value[0][0] if value and value[0] else None
    return value


def number(value):
    value = scalar(value)
    if isinstance(value, FormulaError):
        return value
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return VALUE


def text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return general(value)
    return str(value)


def _arith(op: str, left, right):
    l, r = number(left), number(right)
    if isinstance(l, FormulaError):
        return l
    if isinstance(r, FormulaError):
        return r
    if op == "+":
        value = l + r
    elif op == "-":
        value = l - r
    elif op == "*":
        value = l * r
    elif op == "/":
        if r == 0:
            return DIV0
        value = l / r
    else:
        try:
            value = float(l**r)
        except (OverflowError, ZeroDivisionError, TypeError):
            return VALUE
    operands = [v for v in (scalar(left), scalar(right)) if isinstance(v, Shown)]
    if not operands:
        return value
    return Shown(value, _arith_format(op, operands))


def _arith_format(op: str, operands: list) -> dict | None:
    """The format Sheets gives `left op right`, from its operands that come from cells or
    date functions, in formula order: a date plus or minus days stays a date (its format), a
    date minus a date is a number of days; otherwise + - * / take the first such operand's
    format (none when that one has none: `=A1*B1` with A1 unformatted is unformatted even if
    B1 is currency). Unformatted where Google's choice is not known: ^, and * or / on a date."""
    dated = [v for v in operands if _dated(v)]
    if dated:
        return number_format(dated[0]) if op in "+-" and len(dated) == 1 else None
    return number_format(operands[0]) if op in "+-*/" else None


def _aggregate(value: float, args):
    """SUM, AVERAGE, MIN and MAX's `value` with the format of the first number of their
    arguments that comes from a cell (`=SUM(G2:G9)` shows G2's currency); unformatted when that
    number is a date or time (what Google shows for the sum or the latest of dates is not known)."""
    first = next((v for v in _flatten(args) if isinstance(v, Shown)), None)
    if first is None:
        return value
    return Shown(value, None if _dated(first) else number_format(first))


def _plain(value):
    """`value` without the format it came with: for a function whose result's format Google
    does not take from its arguments as far as is known (VLOOKUP, HYPERLINK)."""
    return float(value) if isinstance(value, Shown) else value


def _compare(op: str, l, r):
    if isinstance(l, FormulaError):
        return l
    if isinstance(r, FormulaError):
        return r
    # Sheets orders numbers before text before booleans, text without case; an empty cell is
    # the other side's empty value (0, "" or FALSE).
    if l is None:
        l = "" if isinstance(r, str) else False if isinstance(r, bool) else 0.0
    if r is None:
        r = "" if isinstance(l, str) else False if isinstance(l, bool) else 0.0
    lk, rk = _rank(l), _rank(r)
    if lk != rk:
        l, r = lk, rk
    elif lk == 1:
        l, r = l.lower(), r.lower()
    else:
        l, r = float(l), float(r)
    return {"=": l == r, "<>": l != r, "<": l < r, ">": l > r, "<=": l <= r, ">=": l >= r}[op]


def _rank(v) -> int:
    return 2 if isinstance(v, bool) else 1 if isinstance(v, str) else 0


def _flatten(args):
    for arg in args:
        if isinstance(arg, list):
            for row in arg:
                yield from row
        else:
            yield arg


def _numbers(args):
    out = []
    for v in _flatten(args):
        if isinstance(v, FormulaError):
            return v
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
    return out


def call(name: str, args: list):
    if name == "NA":
        return NA
    if name in ("SUM", "AVERAGE", "MIN", "MAX", "COUNT"):
        nums = _numbers(args)
        if isinstance(nums, FormulaError):
            return nums
        if name == "COUNT":
            return float(len(nums))
        if name == "AVERAGE" and not nums:
            return DIV0
        value = {"SUM": lambda: float(sum(nums)), "AVERAGE": lambda: sum(nums) / len(nums),
                 "MIN": lambda: min(nums) if nums else 0.0, "MAX": lambda: max(nums) if nums else 0.0}[name]()
        return _aggregate(value, args)
    if name == "COUNTA":
        return float(sum(1 for v in _flatten(args) if v not in (None, "")))
    if name == "IF":
        cond = scalar(args[0]) if args else False
        if isinstance(cond, FormulaError):
            return cond
        chosen = args[1] if cond and len(args) > 1 else (args[2] if len(args) > 2 else False)
        return scalar(chosen)
    if name in ("AND", "OR"):
        flags = [bool(number(v)) for v in _flatten(args) if v is not None]
        return all(flags) if name == "AND" else any(flags)
    if name == "NOT":
        return not bool(number(args[0]))
    if name in ("CONCATENATE", "CONCAT"):
        return "".join(text(v) for v in _flatten(args))
    if name in ("LEN", "UPPER", "LOWER", "TRIM"):
        s = scalar(args[0])
        if isinstance(s, FormulaError):
            return s
        s = text(s)
        # TRIM takes out spaces only (U+0020), never a no-break space or a tab.
        return {"LEN": lambda: float(len(s)), "UPPER": s.upper, "LOWER": s.lower,
                "TRIM": lambda: " ".join(w for w in s.split(" ") if w)}[name]()
    if name in ("ABS", "ROUND", "ROUNDUP", "ROUNDDOWN", "INT"):
        x = number(args[0])
        digits = number(args[1]) if len(args) > 1 else 0.0
        if isinstance(x, FormulaError):
            return x
        if isinstance(digits, FormulaError):
            return digits
        if name == "ABS":
            return abs(x)
        if name == "INT":
            return float(math.floor(x))
        # Half away from zero, on the decimal digits shown (2.5 -> 3, 1.005 -> 1.01 as typed):
        # Python's round() goes half to even on the binary value.
        mode = {"ROUND": ROUND_HALF_UP, "ROUNDUP": ROUND_UP, "ROUNDDOWN": ROUND_DOWN}[name]
        try:
            return float(Decimal(repr(x)).quantize(Decimal(1).scaleb(-int(digits)), rounding=mode))
        except InvalidOperation:  # more digits than the number has: nothing to round
            return x
    if name == "HYPERLINK":
        # Shows its label, or the address when there is none.
        if not 1 <= len(args) <= 2:
            return _wrong_count(name)
        shown = scalar(args[-1])
        return "" if shown is None else _plain(shown)
    if name in ("IFERROR", "IFNA"):
        value = scalar(args[0]) if args else None
        caught = isinstance(value, FormulaError) and (name == "IFERROR" or value.kind == "N_A")
        return (scalar(args[1]) if len(args) > 1 else "") if caught else value
    if name == "DATE":
        parts = [number(a) for a in args]
        if len(parts) != 3:
            return _wrong_count(name)
        bad = next((p for p in parts if isinstance(p, FormulaError)), None)
        if bad:
            return bad
        year, month, day = (int(p) for p in parts)
        year += 1900 if 0 <= year < 1900 else 0  # as Sheets reads a two-digit year
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1  # months roll over into years
        try:
            first = _dt.datetime(year, month, 1)
        except ValueError:
            return NUM
        return Shown(datetime_to_serial(first) + day - 1, AUTO_FORMATS["DATE"])
    if name in ("EDATE", "EOMONTH"):
        return _months_later(name, args)
    if name in ("YEAR", "MONTH", "DAY"):
        x = number(args[0]) if len(args) == 1 else _wrong_count(name)
        if isinstance(x, FormulaError):
            return x
        moment = serial_to_datetime(x)
        return float({"YEAR": moment.year, "MONTH": moment.month, "DAY": moment.day}[name])
    if name == "VLOOKUP":
        return _plain(_vlookup(args))
    if name == "ISBLANK":
        return scalar(args[0]) is None if len(args) == 1 else _wrong_count(name)
    return _name_error(name)


NUM = FormulaError("#NUM!", "NUM", "The result is not a valid number.")


def _months_later(name: str, args: list):
    """EDATE(start, months): the same day `months` later (the month's last day when it has
    fewer days); EOMONTH(start, months): the last day of the month `months` later. Both a date."""
    if len(args) != 2:
        return _wrong_count(name)
    start, months = number(args[0]), number(args[1])
    for v in (start, months):
        if isinstance(v, FormulaError):
            return v
    try:
        moment = serial_to_datetime(math.floor(start))
        year, month = divmod(moment.year * 12 + moment.month - 1 + int(months), 12)
        last = calendar.monthrange(year, month + 1)[1]
        day = _dt.datetime(year, month + 1, last if name == "EOMONTH" else min(moment.day, last))
    except (ValueError, OverflowError):
        return NUM
    return Shown(datetime_to_serial(day), AUTO_FORMATS["DATE"])


def _wrong_count(name: str) -> FormulaError:
    return FormulaError("#N/A", "N_A", f"Wrong number of arguments to {name}.")


def _vlookup(args: list):
    """VLOOKUP(key, range, index, [is_sorted]): the index-th column of the first row whose
    first cell equals the key (text without case), or with is_sorted (the default) of the last
    row whose first cell is not above it, the range's rows taken as sorted."""
    if not 3 <= len(args) <= 4 or not isinstance(args[1], list):
        return _wrong_count("VLOOKUP")
    key, index = scalar(args[0]), number(args[2])
    sort = scalar(args[3]) if len(args) > 3 else True
    for v in (key, index, sort):
        if isinstance(v, FormulaError):
            return v
    rows = args[1]
    if not rows or not 1 <= int(index) <= len(rows[0]):
        return FormulaError("#REF!", "REF", "VLOOKUP evaluates to an out of bounds range.")
    col = int(index) - 1
    if not bool(number(sort)):
        for row in rows:
            if row[0] is not None and _compare("=", row[0], key) is True:
                return row[col]
        return FormulaError("#N/A", "N_A", f"Did not find value '{text(key)}' in VLOOKUP evaluation.")
    found = None
    for row in rows:
        if row[0] is None or _rank(row[0]) != _rank(key):
            continue
        if _compare("<=", row[0], key) is True:
            found = row
        else:
            break
    if found is None:
        return FormulaError("#N/A", "N_A", f"Did not find value '{text(key)}' in VLOOKUP evaluation.")
    return found[col]


# What the emulator evaluates (besides operators and references).
SUPPORTED = frozenset({"ABS", "AND", "AVERAGE", "CONCAT", "CONCATENATE", "COUNT", "COUNTA", "DATE", "DAY",
                       "EDATE", "EOMONTH", "HYPERLINK", "IF", "IFERROR", "IFNA", "INT", "ISBLANK", "LEN", "LOWER",
                       "MAX", "MIN", "MONTH", "NA", "NOT", "NOW", "OR", "ROUND", "ROUNDDOWN", "ROUNDUP", "SUM",
                       "TODAY", "TRIM", "UPPER", "VLOOKUP", "YEAR"})
# Functions whose value Google fetches from outside the spreadsheet, showing "Loading..." meanwhile.
OUTSIDE_DATA = frozenset({"GOOGLEFINANCE", "IMPORTDATA", "IMPORTFEED", "IMPORTHTML", "IMPORTRANGE", "IMPORTXML"})
# Functions Google Sheets has (support.google.com/docs/table/25273), the common part of its
# list: one the emulator does not evaluate is said to be so, not taken for an unknown name.
GOOGLE_FUNCTIONS = SUPPORTED | frozenset("""
ACOS ACOSH ADDRESS ARRAYFORMULA ASIN ATAN ATAN2 AVERAGEA AVERAGEIF AVERAGEIFS CEILING CEILING.MATH CHAR CHOOSE
CLEAN CODE COLUMN COLUMNS CONVERT COS COUNTBLANK COUNTIF COUNTIFS COUNTUNIQUE DATEDIF DATEVALUE DAYS DAYS360
DECIMAL DEGREES DETECTLANGUAGE DOLLAR EDATE EOMONTH EVEN EXACT EXP FACT FALSE FILTER FIND FIXED FLATTEN FLOOR
FLOOR.MATH FORMULATEXT GOOGLEFINANCE GOOGLETRANSLATE HLOOKUP HOUR IFS IMAGE IMPORTDATA IMPORTFEED IMPORTHTML
IMPORTRANGE IMPORTXML INDEX INDIRECT ISDATE ISEMAIL ISERR ISERROR ISEVEN ISFORMULA ISLOGICAL ISNA ISNONTEXT
ISNUMBER ISODD ISOWEEKNUM ISREF ISTEXT ISURL JOIN LARGE LEFT LET LN LOG LOG10 LOOKUP MATCH MAXA MAXIFS MEDIAN
MID MINA MINIFS MINUTE MOD MODE MROUND N NETWORKDAYS ODD OFFSET PI POWER PRODUCT PROPER QUERY QUOTIENT RAND
RANDBETWEEN RANK REGEXEXTRACT REGEXMATCH REGEXREPLACE REPLACE REPT RIGHT ROW ROWS SEARCH SECOND SEQUENCE SIGN
SIN SMALL SORT SORTN SPARKLINE SPLIT SQRT STDEV SUBSTITUTE SUBTOTAL SUMIF SUMIFS SUMPRODUCT SWITCH T TAN TEXT
TEXTJOIN TIME TIMEVALUE TO_DATE TO_DOLLARS TO_PERCENT TO_TEXT TODAY TRANSPOSE TRUE TRUNC TYPE UNIQUE VALUE
VAR WEEKDAY WEEKNUM WORKDAY XLOOKUP XOR YEARFRAC
""".split())


def evaluate(formula: str, cell: Resolver, now: Callable[[], _dt.datetime] | None = None):
    """Evaluate ``=...``; returns a float (a `Shown` when Sheets computes a number format for
    it: `number_format`), str, bool, None or FormulaError. `now` gives the moment TODAY and NOW
    read (the spreadsheet's time zone)."""
    try:
        return scalar(_Parser(formula[1:], cell, now).parse())
    except (ValueError, IndexError, KeyError):
        return PARSE
