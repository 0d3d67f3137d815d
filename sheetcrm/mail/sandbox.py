"""The one sandbox every template a person writes runs in: a workflow's Subject cell
(crm/workflows.py) and the email bodies rendered at send time, quotes and workflow emails
alike (mail/templates.py). A templates folder and a Workflows tab are configuration anyone
with access can change, and a template is a program: it must not read Python internals, nor
take the machine's memory or time, nor crash the sync or `outbox send` that renders it.

The policy, on jinja2's ImmutableSandboxedEnvironment (no `''.__class__`, no mutating the
data it is handed; its `range()` stops at jinja2.sandbox.MAX_RANGE items), with `limit`
characters (a Subject: what a cell holds; a body: MAX_BODY):

* **sizes**: `*` and `+` refuse a string or list longer than `limit` before building it,
  `**` refuses a result longer than Python prints (4000 digits); `~` refuses a result past
  `limit`; a number past `limit` given to a call or a filter (`'x'.ljust(10**9)`,
  `'x'|center(10**9)`) and a width past it in a `%` or `format` spec are refused;
* **output**: every `{{ }}` counts towards `limit` characters per render, inside a macro or a
  `{% set %}` block too, and so does the text the render yields;
* **work**: what a filter, a call or an operator builds on the way counts too, at most WORK
  times `limit` per render, shown or not: `range(20000)|map('center', 20000)|join|length`
  prints 9 characters but built 400 million (850 MB), and a loop of calls that each stay
  under `limit` adds up the same way. `lipsum` is no global: one call builds up to `n`
  paragraphs of placeholder Latin, 2 seconds and 13 million characters at n=30,000, that no
  email needs;
* **blanks**: a blank cell (None) shows as nothing, in `{{ }}`, in `~` and through a filter of
  text (`|title`): a customer never reads "Dear None" (mail/templates.py does the same for the
  words' `%(name)s`);
* **time**: each loop iteration and each call (a macro, a method, `_()`) is a step, and a
  render takes at most STEPS; nested loops (`range(100000)` in `range(100000)`) and a macro
  that calls itself twice stop there; deeper recursion than Python allows stops as a
  RecursionError.

A refused template raises SandboxLimit (a jinja2 SecurityError); `render` turns a
RecursionError or a MemoryError into one too, so callers catch jinja2's own errors only.
The design follows jinja2's documented hooks: `intercepted_binops`/`call_binop` for the
operators, `call` for calls, `finalize` for output, and `code_generator_class` to count loop
iterations and check `~`.
"""

from __future__ import annotations

import contextvars
import functools
import math
import re
from dataclasses import dataclass
from typing import Any, Callable

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from sheetcrm.i18n import _

MAX_BODY = 1_000_000  # characters of an email body: a quote of thousands of lines fits, a runaway loop does not
STEPS = 200_000       # loop iterations and calls in one render: a quote of 2,000 lines needs a tenth of it
WORK = 10             # characters built by filters, calls and operators in one render, times `limit`
_POWER_DIGITS = 4000  # Python prints an int of up to 4300 digits; a larger one is an error anyway

# A `%` conversion's width or precision: "%-10.3f" -> 10, 3.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\d*)(?:\.(\d*))?")
# A `{...}` replacement field's numbers ("{:>20}", "{0:.3}").
_FORMAT_SPEC = re.compile(r"\{[^{}]*?:[^{}]*\}")


# jinja2's filters of text: a blank cell (None) given to one is "" (`Sandbox.blank`).
_TEXT_FILTERS = frozenset({"capitalize", "center", "e", "escape", "forceescape", "indent", "lower", "replace",
                           "string", "striptags", "title", "trim", "truncate", "upper", "urlencode", "urlize",
                           "wordcount", "wordwrap"})


class SandboxLimit(SecurityError):
    """A template refused by the sandbox's policy (size, output, steps, recursion)."""


@dataclass
class _Budget:
    steps: int = 0
    chars: int = 0
    built: int = 0


_BUDGET: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar("sheetcrm_template_budget", default=None)


def _budget() -> _Budget:
    # Outside `render` (jinja2 finalizes a constant `{{ 'Hi' }}` once, when it compiles the
    # template) nothing is counted.
    return _BUDGET.get() or _Budget()


class _Counted(CodeGenerator):
    """The code jinja2 compiles a template to, with every `{% for %}` iterable counted step by
    step and every `~` checked for size (jinja2's `code_generator_class` hook)."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        counted = nodes.Call(nodes.EnvironmentAttribute("counted"), [node.iter], [], None, None, lineno=node.lineno)
        super().visit_For(nodes.For(node.target, counted, node.body, node.else_, node.test, node.recursive,
                                    lineno=node.lineno), frame)

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # jinja2's own, each operand through `blank` (str() would write None as "None"), the
        # result through `sized`.
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"  # not for people: the code jinja2 compiles
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"environment.sized({join}((")
        for arg in node.nodes:
            self.write("environment.blank(")
            self.visit(arg, frame)
            self.write("), ")
        self.write(")))")


def _items(value: Any) -> Any:
    """What a join is given, with a length: a lazy one (`map`, a generator) as a list."""
    return value if hasattr(value, "__len__") or isinstance(value, jinja2.Undefined) else list(value)


class Sandbox(ImmutableSandboxedEnvironment):
    """jinja2's immutable sandbox with sheetcrm's policy (the module docstring), for output
    of at most `limit` characters. `render(template, context)` is the way to render."""

    code_generator_class = _Counted
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, limit: int, **options: Any) -> None:
        self.limit = limit
        super().__init__(finalize=self._output, **options)
        self.globals.pop("lipsum", None)
        self.filters = {name: self._guard(f, name in _TEXT_FILTERS) for name, f in self.filters.items()}

    def too_long(self) -> SandboxLimit:
        return SandboxLimit(_("longer than {n} characters", n=self.limit))

    def _big(self, n: Any) -> bool:
        return isinstance(n, int) and not isinstance(n, bool) and abs(n) > self.limit

    def _check_spec(self, text: Any, specs: re.Pattern[str]) -> None:
        if isinstance(text, str) and any(len(d) > 6 and self._big(int(d)) for m in specs.finditer(text)
                                         for d in (re.findall(r"\d+", m.group(0)))):
            raise SandboxLimit(_("a width of more than {n} characters", n=self.limit))

    def _check_args(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        for value in (*args, *kwargs.values()):
            if self._big(value):
                raise SandboxLimit(_("a number larger than {n} given to a function", n=self.limit))

    def _check_product(self, name: str, text: Any, args: tuple[Any, ...]) -> None:
        """Refuse before it runs a text operation whose result is one input's size times the
        other's, each within the limit (`('\\t' * 32767).expandtabs(32767)` is 1 GB at once,
        counted only once built): `text.expandtabs(n)`, `text.replace(old, new)`,
        `sep.join(items)`, `text|indent(n)`, by the size they would build."""
        size = 0
        if name == "expandtabs" and isinstance(text, str) and args and isinstance(args[0], int):
            size = text.count("\t") * args[0]
        elif name in ("replace", "do_replace") and isinstance(text, str) and len(args) >= 2 \
                and isinstance(args[0], str) and isinstance(args[1], str):
            size = (text.count(args[0]) if args[0] else len(text) + 1) * len(args[1])
        elif name == "join" and isinstance(text, str) and args and hasattr(args[0], "__len__"):
            size = len(text) * len(args[0])
        elif name == "do_indent" and isinstance(text, str) and args and isinstance(args[0], int):
            size = (text.count("\n") + 1) * args[0]
        if size > WORK * self.limit:
            raise SandboxLimit(_("more than {n} characters built by its filters and calls", n=WORK * self.limit))

    def _step(self) -> None:
        budget = _budget()
        budget.steps += 1
        if budget.steps > STEPS:
            raise SandboxLimit(_("more than {n} steps (loops or calls); is a loop nested in a loop?", n=STEPS))

    def _built(self, value: Any) -> Any:
        """`value`, a filter's, call's or operator's result, counted towards the render's WORK
        (a text by its characters, a list or a dict by its items; a lazy one by what its items
        build when taken)."""
        if isinstance(value, (str, list, tuple, dict)):
            budget = _budget()
            budget.built += len(value)
            if budget.built > WORK * self.limit:
                raise SandboxLimit(_("more than {n} characters built by its filters and calls", n=WORK * self.limit))
        return value

    @staticmethod
    def blank(value: Any) -> Any:
        """What a value shows as: a blank cell (None) as nothing, never "None"."""
        return "" if value is None else value

    def _output(self, value: Any) -> Any:
        value = self.blank(value)
        budget = _budget()
        budget.chars += len(str(value))
        if budget.chars > self.limit:
            raise self.too_long()
        return value

    def _guard(self, f: Callable[..., Any], text: bool = False) -> Callable[..., Any]:
        """`f` with its arguments checked for size; `text`: a filter of text, given a blank cell
        (None) as "" (jinja2 makes it "None" first: `contact.title|title` was "None")."""
        if f.__name__ == "do_format":
            @functools.wraps(f)
            def checked_format(value: Any, *args: Any, **kwargs: Any) -> Any:
                self._check_spec(value, _PERCENT_SPEC)
                self._check_args(args, kwargs)
                return self._built(f(value, *args, **kwargs))
            return checked_format

        @functools.wraps(f)  # keeps jinja2's pass_context / pass_eval_context marks
        def checked(*args: Any, **kwargs: Any) -> Any:
            # a filter's own arguments come after the context (if any) and the value
            at = 1 if hasattr(f, "jinja_pass_arg") else 0
            self._check_args(args[at + 1:], kwargs)
            if f.__name__ == "do_join" and len(args) > at:
                # the items a join is given, as a list (jinja2 makes one anyway): counted before joined
                args = (*args[:at], _items(args[at]), *args[at + 1:])
                self._check_product("join", kwargs.get("d", args[at + 1] if len(args) > at + 1 else ""), args[at:at + 1])
            elif len(args) > at:
                self._check_product(f.__name__, args[at], args[at + 1:])
            if text and len(args) > at and args[at] is None:
                args = (*args[:at], "", *args[at + 1:])
            return self._built(f(*args, **kwargs))
        return checked

    def counted(self, iterable: Any) -> Any:
        for item in iterable:
            self._step()
            yield item

    def sized(self, text: Any) -> Any:
        if len(text) > self.limit:
            raise self.too_long()
        return text

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        __self._step()
        __self._check_args(args, kwargs)
        name, text = getattr(__obj, "__name__", ""), getattr(__obj, "__self__", None)
        if name == "join" and isinstance(text, str) and args:
            args = (_items(args[0]), *args[1:])
        __self._check_product(name, text, args)
        return __self._built(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            self._check_spec(value.__self__, _FORMAT_SPEC)
        return wrapped

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        sequences = (str, list, tuple)
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, sequences) and isinstance(n, int) and len(seq) * n > self.limit:
                    raise SandboxLimit(_("a repetition longer than {n} characters", n=self.limit))
        elif operator == "+":
            if isinstance(left, sequences) and isinstance(right, sequences) and len(left) + len(right) > self.limit:
                raise self.too_long()
        elif operator == "**":
            if (isinstance(left, (int, float)) and isinstance(right, (int, float)) and abs(left) > 1
                    and abs(right) * math.log10(abs(left)) > _POWER_DIGITS):
                raise SandboxLimit(_("a power too large for a cell"))
        elif operator == "%" and isinstance(left, str):
            self._check_spec(left, _PERCENT_SPEC)
            self._check_args(right if isinstance(right, tuple) else (right,), {})
        return self._built(super().call_binop(context, operator, left, right))

    def render(self, template: jinja2.Template, context: dict[str, Any]) -> str:
        """`template` rendered with `context`, within the policy; raises jinja2.TemplateError
        (SandboxLimit for a refused one) and whatever a filter raises (TypeError, …)."""
        token = _BUDGET.set(_Budget())
        try:
            out: list[str] = []
            length = 0
            for chunk in template.generate(context):
                length += len(chunk)
                if length > self.limit:
                    raise self.too_long()
                out.append(chunk)
            return "".join(out)
        except RecursionError:
            raise SandboxLimit(_("a macro or loop that calls itself too deeply")) from None
        except MemoryError:
            raise SandboxLimit(_("more memory than a template may take")) from None
        finally:
            _BUDGET.reset(token)


# jinja2's syntax errors, in English whatever the team speaks: what each says, in sheetcrm's words.
_UNEXPECTED_CHAR = re.compile(r"unexpected char (['\"])(.+?)\1 at (\d+)")
_GOT = re.compile(r"got '([^']+)'$")
_UNKNOWN_TAG = re.compile(r"unknown tag '([^']+)'")
_UNEXPECTED = re.compile(r"^unexpected '([^']+)'$")
_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"^'([^']+)' has no attribute '([^']+)'$")


def syntax_problem(e: jinja2.TemplateSyntaxError) -> str:
    """Where a template cannot be read and why, in the current language, with jinja2's own
    (English) words only as a quoted detail: 'line 1: the template ends before a {{ … }} or
    {% … %} is closed (jinja2: "unexpected end of template, expected 'end of print statement'")'.
    The column is given when jinja2's message lets it be found in the line."""
    detail = (e.message or "").strip().rstrip(".")
    line = e.lineno or 1
    text = (e.source or "").splitlines()[line - 1] if e.source and line <= len(e.source.splitlines()) else None
    column: int | None = None
    what = _("the template cannot be read")
    if detail.lower().startswith("unexpected end of template"):  # not for people: jinja2's message, matched
        what = _("the template ends before a {field} or {tag} is closed", field="{{ … }}", tag="{% … %}")
    elif found := _UNEXPECTED_CHAR.search(detail):
        what = _("{char} cannot be used there", char=found.group(2))
        offset = int(found.group(3))
        if e.source is not None and offset <= len(e.source):
            column = offset - (e.source.rfind("\n", 0, offset) + 1) + 1
    elif found := _UNKNOWN_TAG.search(detail):
        what = _("{tag} is not a tag templates know", tag="{% " + found.group(1) + " %}")
    elif found := _UNEXPECTED.match(detail):
        what = _("{char} is not expected there", char=found.group(1))
    elif detail.startswith("expected token"):  # not for people: jinja2's message, matched
        what = _("a {field} or {tag} holds something it cannot read", field="{{ … }}", tag="{% … %}")
        got = _GOT.search(detail)
        if got and text is not None and text.count(got.group(1)) == 1:
            column = text.index(got.group(1)) + 1
    where = (_("line {line}, column {column}", line=line, column=column) if column is not None
             else _("line {line}", line=line))
    return _('{where}: {what} (jinja2: "{detail}")', where=where, what=what, detail=detail) if detail \
        else _("{where}: {what}", where=where, what=what)


class FilterError(Exception):
    """A template filter given what it cannot show (`{{ "abc"|money }}`, a blank date): its
    message is sheetcrm's own, in the current language, and `render_problem` says it as is."""


def render_problem(e: BaseException, source: str | None = None, line: int | None = None) -> str:
    """Why filling a template in failed, in the current language: 'the template uses Name,
    which has no value here'; 'the template uses opportunity.nope, but opportunity has no such
    field', the record named as the template names it, found in `source` (the template's
    text) at `line` when given. jinja2's words for a missing field ("'dict object' has no
    attribute …") are never shown; Python's (English) only as a quoted detail of a failure
    sheetcrm has no words for. A refusal of the sandbox (SandboxLimit, SecurityError) or a
    filter's (FilterError) is sheetcrm's own message, already in the current language."""
    if isinstance(e, jinja2.exceptions.SecurityError):
        return _("not allowed in a template: {error}", error=e)
    if isinstance(e, FilterError):
        return str(e)
    detail = (getattr(e, "message", None) or str(e)).strip()
    if isinstance(e, jinja2.UndefinedError):
        if found := _UNDEFINED.match(detail):
            return _("the template uses {field}, which has no value here", field=found.group(1))
        if found := _NO_ATTRIBUTE.match(detail):
            field = found.group(2)
            record = _record_of(source, line, field) if source is not None else None
            if record is not None:
                path = record + "." + field
                return _("the template uses {field}, but {record} has no such field", field=path, record=record)
            return _("the template uses {field}, a field that is not there", field=field)
        return _("the template uses a field that has no value here")
    kind = type(e).__name__
    return _('the template failed while it was filled in (Python: "{kind}: {detail}")', kind=kind, detail=detail)


def _record_of(source: str, line: int | None, field: str) -> str | None:
    """How the template names what it reads `field` of (`opportunity` in `opportunity.nope`,
    `lines[0]`), when one expression of `source` (on `line`, when known) reads that field of
    something; None when none or several different ones do, or the source does not parse."""
    try:
        tree = _PARSER.parse(source)
    except Exception:  # noqa: BLE001 - it rendered up to the failure, but the message must not fail
        return None
    found = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        if line is not None and node.lineno != line:
            continue
        key = node.attr if isinstance(node, nodes.Getattr) else (
            node.arg.value if isinstance(node.arg, nodes.Const) else None)
        if key == field:
            found.add(_named(node.node))
    return found.pop() if len(found) == 1 else None


def _named(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        inner = _named(node.node)
        return f"{inner}.{node.attr}" if inner is not None else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        inner = _named(node.node)
        return f"{inner}[{node.arg.value!r}]" if inner is not None else None
    return None


# Parses a template only to name what a failed expression read (`_record_of`): the same syntax
# as the mail templates' (the i18n extension's tags).
_PARSER = jinja2.Environment(extensions=["jinja2.ext.i18n"])
