"""A small formula evaluator so formula cells get the effective value Sheets would show.

Covers arithmetic, comparison, ``&``, cell and range references (also on other tabs) and a
handful of common functions. Anything else evaluates to ``#NAME?``, like an unknown
function on Sheets. Evaluation happens on read, so results follow later edits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from . import a1
from .numfmt import general


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


def _name_error(name: str) -> FormulaError:
    return FormulaError("#NAME?", "NAME", f"Unknown function: '{name}'.")


_TOKEN = re.compile(
    r"""\s*(?:
    (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<str>"(?:[^"]|"")*")
  | (?P<ref>(?:(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)
  | (?P<func>[A-Za-z_][\w.]*)\s*\(
  | (?P<bool>TRUE|FALSE)\b
  | (?P<op><>|<=|>=|[-+*/^&=<>%(),:])
    )""",
    re.VERBOSE | re.IGNORECASE,
)

Resolver = Callable[[str | None, int, int], object]


class _Parser:
    def __init__(self, text: str, cell: Resolver):
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
        if kind == "func":
            args = []
            if self.peek()[1] != ")":
                args.append(self.comparison())
                while self.peek()[1] == ",":
                    self.take()
                    args.append(self.comparison())
            self.take(")")
            return call(tok.upper(), args)
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
        return l + r
    if op == "-":
        return l - r
    if op == "*":
        return l * r
    if op == "/":
        return DIV0 if r == 0 else l / r
    try:
        return float(l**r)
    except (OverflowError, ZeroDivisionError, TypeError):
        return VALUE


def _compare(op: str, l, r):
    if isinstance(l, FormulaError):
        return l
    if isinstance(r, FormulaError):
        return r
    if isinstance(l, str) or isinstance(r, str):
        l, r = text(l).lower(), text(r).lower()
    else:
        l, r = number(l), number(r)
    return {"=": l == r, "<>": l != r, "<": l < r, ">": l > r, "<=": l <= r, ">=": l >= r}[op]


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
        if name == "SUM":
            return float(sum(nums))
        if name == "COUNT":
            return float(len(nums))
        if name == "AVERAGE":
            return DIV0 if not nums else sum(nums) / len(nums)
        return (min if name == "MIN" else max)(nums) if nums else 0.0
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
        s = text(scalar(args[0]))
        return {"LEN": lambda: float(len(s)), "UPPER": s.upper, "LOWER": s.lower, "TRIM": lambda: " ".join(s.split())}[name]()
    if name in ("ABS", "ROUND"):
        x = number(args[0])
        if isinstance(x, FormulaError):
            return x
        if name == "ABS":
            return abs(x)
        digits = int(number(args[1])) if len(args) > 1 else 0
        return float(round(x, digits))
    return _name_error(name)


def evaluate(formula: str, cell: Resolver):
    """Evaluate ``=...``; returns a float, str, bool, None or FormulaError."""
    try:
        return scalar(_Parser(formula[1:], cell).parse())
    except (ValueError, IndexError, KeyError):
        return PARSE
