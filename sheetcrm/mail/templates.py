"""Rendering email templates: sandboxed, strict, and with errors a person can act on.

Templates are Jinja, rendered in sheetcrm's sandbox (mail/sandbox.py, the same policy as a
workflow's Subject, with MAX_BODY characters): a template reaches only the dict it is handed,
never Python internals (`''.__class__` and friends fail), and cannot take the machine's memory
or time (huge output, `**`, loops nested in loops, recursion are refused with a TemplateError
that says so), because a templates folder is configuration that anyone with access to the
config can change. Undefined names fail (StrictUndefined)
instead of rendering as blanks in a document a customer receives. `*.html.j2` autoescapes,
so a cell holding `<script>` reaches the customer as text.

The built-in templates live in the repository's top-level `templates/` folder, installed as
the `sheetcrm.templates` package data (see pyproject.toml). A configured folder is searched
first, so it overrides them one file at a time.

Words in a template go through sheetcrm's message catalogue with jinja2's i18n extension:
`{{ _("Hello %(name)s,", name=...) }}`, `{{ pgettext("quote", "Net") }}`, `{% trans %}`
blocks, in the language of the context's `locale` (the team's), else the current one.
Jinja's newstyle gettext: placeholders are `%(name)s`, variables are escaped in HTML, and a
literal percent sign is `%%`. `scripts/catalogue.py` extracts them from templates/*.j2.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import traceback
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from markupsafe import Markup
from babel.dates import format_date

from sheetcrm import cells
from sheetcrm.i18n import _, catalogue, current, normalize
from sheetcrm.mail.quotes import format_money, format_points, format_quantity
from sheetcrm.mail.sandbox import MAX_BODY, FilterError, Sandbox, render_problem, syntax_problem


class TemplateError(Exception):
    """A template that cannot render: names the template, the line and what is wrong."""


def builtin_dir() -> Path:
    installed = resources.files("sheetcrm") / "templates"
    if installed.is_dir():
        return Path(str(installed))
    return Path(__file__).resolve().parents[2] / "templates"  # a source checkout


def _number(value: Any, filter_name: str) -> Decimal:
    """A filter's number as a Decimal: an int, a float (by its shortest repr, so 0.1 is 0.1, not
    0.1000000000000000055…) or a Decimal; anything else (text, a blank, True) is a FilterError
    naming the filter, never a TypeError from deep in babel."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, float) and math.isfinite(value):
        return Decimal(repr(value))
    raise FilterError(_("the {filter} filter shows a number, and was given {value}", filter=filter_name,
                        value=_given(value)))


def _given(value: Any) -> str:
    """How a filter's refusal names what it was given; a field the template has no value of
    fails as any use of it does (StrictUndefined: "the template uses opportunity.nope…")."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    return _("a blank") if value is None else cells.quoted(value)


@jinja2.pass_context
def _money(ctx: jinja2.runtime.Context, amount: Any) -> str:
    return format_money(_number(amount, "money"), ctx["currency"], ctx["locale"])


@jinja2.pass_context
def _percent(ctx: jinja2.runtime.Context, points: Any) -> str:
    """Percentage points, as a quote's figures are (21 is 21 %), whatever type they come in."""
    return format_points(_number(points, "percent"), ctx["locale"])


@jinja2.pass_context
def _qty(ctx: jinja2.runtime.Context, quantity: Any) -> str:
    return format_quantity(_number(quantity, "qty"), ctx["locale"])


@jinja2.pass_context
def _date(ctx: jinja2.runtime.Context, day: Any, form: str = "long") -> str:
    # babel shows today for None: a blank Close Date would print as today's date.
    if not isinstance(day, dt.date):
        raise FilterError(_("the {filter} filter shows a date, and was given {value}", filter="date",
                            value=_given(day)))
    try:
        return format_date(day, format=form, locale=ctx["locale"])
    except (ValueError, KeyError, AttributeError, TypeError):
        raise FilterError(_("the {filter} filter does not know the format {form}: use short, medium, long or full, "
                            "or a pattern like yyyy-MM-dd", filter="date", form=cells.quoted(str(form)))) from None


def _language(ctx: jinja2.runtime.Context) -> Any:
    locale = ctx.get("locale")
    return catalogue(normalize(locale) if locale else current())


# jinja2's newstyle gettext (`ext._make_new_gettext`: the words escaped in HTML, then `%`
# with the variables), with a blank cell among the variables shown as nothing, as `{{ }}`
# shows it (Sandbox.blank): `_("Dear %(title)s", title=contact.title)` is never "Dear None".

def _words(ctx: jinja2.runtime.Context, text: str, variables: dict[str, Any]) -> str:
    if ctx.eval_ctx.autoescape:
        text = Markup(text)
    return text % {k: Sandbox.blank(v) for k, v in variables.items()}


@jinja2.pass_context
def _gettext(ctx: jinja2.runtime.Context, message: str, **variables: Any) -> str:
    return _words(ctx, _language(ctx).gettext(message), variables)


@jinja2.pass_context
def _ngettext(ctx: jinja2.runtime.Context, singular: str, plural: str, n: int, **variables: Any) -> str:
    variables.setdefault("num", n)
    return _words(ctx, _language(ctx).ngettext(singular, plural, n), variables)


@jinja2.pass_context
def _pgettext(ctx: jinja2.runtime.Context, context: str, message: str, **variables: Any) -> str:
    variables.setdefault("context", context)
    return _words(ctx, _language(ctx).pgettext(context, message), variables)


# (template name, its file, its text, the language) -> `Templates.compiled`'s verdict. The
# environment's settings are the same for every Templates, so the text decides; a verdict is a
# short string, and a process sees few distinct template texts.
_VERDICTS: dict[tuple[str, str | None, str, str], str | None] = {}


class Templates:
    def __init__(self, folder: str | Path | None = None) -> None:
        loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(str(builtin_dir()))]
        if folder is not None:
            if not Path(folder).is_dir():
                raise TemplateError(_("templates folder {folder} does not exist", folder=folder))
            loaders.insert(0, jinja2.FileSystemLoader(str(folder)))
        self.env = Sandbox(
            MAX_BODY, loader=jinja2.ChoiceLoader(loaders), undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, extensions=["jinja2.ext.i18n"])
        # `{% trans %}` blocks collapse their whitespace, as the extraction does (scripts/catalogue.py).
        self.env.policies["ext.i18n.trimmed"] = True
        self.env.install_gettext_callables(_gettext, _ngettext, newstyle=True, pgettext=_pgettext)  # type: ignore[attr-defined]
        # Ours are newstyle already (`_words`): in place of jinja2's wrappers of them.
        self.env.globals.update(gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext)
        self.env.filters.update(money=_money, percent=_percent, qty=_qty, date=_date)
        self._reads: dict[tuple[tuple[str, ...], frozenset[str]], frozenset[tuple[str, str | None]] | None] = {}

    def compiled(self) -> dict[str, str | None]:
        """Every template file the folder and the built-in ones offer -> why it does not
        compile ('line 3: } is not expected there (jinja2: "unexpected '}'")'), None when it
        does. Reads the team's files every time (an edited template is judged anew); a file
        whose text was judged before in this process, in the same language, is not compiled
        again (`_VERDICTS`), nor is a built-in one in use (they ship compiling: tests compile
        each). Compiling the five built-in ones took most of a small workbook's sync."""
        out: dict[str, str | None] = {}
        builtin = builtin_dir()
        for name in self.env.list_templates(extensions=("j2", "html")):
            try:
                source, filename, _uptodate = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
                if filename is not None and Path(filename).parent == builtin:
                    out[name] = None
                    continue
                key = (name, filename, source, current())
                if key not in _VERDICTS:
                    _VERDICTS[key] = self._verdict(name, source, filename)
                out[name] = _VERDICTS[key]
            except Exception as e:  # noqa: BLE001 - an unreadable file (encoding, permissions) is its problem, not the sync's
                out[name] = f"{type(e).__name__}: {e}"
        return out

    def _verdict(self, name: str, source: str, filename: str | None) -> str | None:
        """Why the template `name` of text `source` does not compile, None when it does."""
        try:
            self.env.compile(source, name, filename)
            return None
        except jinja2.TemplateSyntaxError as e:
            return syntax_problem(e)

    def reads(self, names: tuple[str, ...], roots: frozenset[str]) -> frozenset[tuple[str, str | None]] | None:
        """What the templates `names` (and the ones they include, extend or import) read of the
        context's `roots`: (root, key) for `contact.email` or `contact["email"]`, (root, None)
        for a root used whole (`{% set c = contact %}`, `contact.items()`, a filter over it).
        None when that cannot be told (a template that does not parse, an include by a computed
        name): then everything counts as shown. Read once per Templates (the files are
        configuration, read at start)."""
        key = (names, roots)
        if key not in self._reads:
            self._reads[key] = self._find_reads(names, roots)
        return self._reads[key]

    def _find_reads(self, names: tuple[str, ...], roots: frozenset[str]) -> frozenset[tuple[str, str | None]] | None:
        found: set[tuple[str, str | None]] = set()
        todo, seen = list(names), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            try:
                source = self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
                tree = self.env.parse(source)
            except jinja2.TemplateNotFound:
                continue  # rendering says so
            except Exception:  # noqa: BLE001 - a template that cannot be read or parsed: everything may show
                return None
            for other in jinja2.meta.find_referenced_templates(tree):
                if other is None:
                    return None
                todo.append(other)
            _collect_reads(tree, roots, found)
        return frozenset(found)

    def files_mark(self, names: tuple[str, ...], locale: str) -> str:
        """The text mark as sheetcrm made it before it fingerprinted the email as rendered
        (`context.text_mark`): of the sources of the templates `names` and those they include,
        extend or import (every template when a name is computed), read afresh, and `locale`. A
        row queued then carries it; while the files are still those, its text is the one
        approved, as it was told then (`outbox.prepare`)."""
        digest = hashlib.sha256(normalize(locale).encode())
        todo, seen = list(names), set()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            try:
                source = self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
            except jinja2.TemplateNotFound:
                digest.update(f"\0{name}\0-".encode())  # rendering says so
                continue
            except Exception:  # noqa: BLE001 - unreadable: rendering says so; its name still counts
                digest.update(f"\0{name}\0?".encode())
                continue
            digest.update(f"\0{name}\0".encode() + source.encode("utf-8", "surrogatepass"))
            try:
                others = list(jinja2.meta.find_referenced_templates(self.env.parse(source)))
            except Exception:  # noqa: BLE001 - does not parse: rendering says so
                continue
            if None in others:
                others = self.env.list_templates(extensions=("j2", "html"))
            todo.extend(o for o in others if o is not None)
        return digest.hexdigest()[:8]

    def render(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.render(self.env.get_template(name), context)
        except jinja2.TemplateSyntaxError as e:
            raise TemplateError(_("{name}, {problem}", name=e.name or name, problem=syntax_problem(e))) from None
        except jinja2.TemplateNotFound as e:
            raise TemplateError(_("template {name} not found", name=e.name)) from None
        except Exception as e:  # noqa: BLE001 - a person's template: whatever it raises fails this email, never the run
            line = _template_line(e, name)
            try:
                source = self.env.loader.get_source(self.env, name)[0]  # type: ignore[union-attr]
            except Exception:  # noqa: BLE001 - the message names less, but is still made
                source = None
            raise TemplateError(_("{name}, line {line}: {problem}", name=name, line=line,
                                  problem=render_problem(e, source, int(line) if line.isdigit() else None))) from None


def _collect_reads(node: jinja2.nodes.Node, roots: frozenset[str], found: set[tuple[str, str | None]]) -> None:
    """`Templates.reads` over one template's syntax tree."""
    nodes = jinja2.nodes
    if isinstance(node, nodes.Getattr) and isinstance(node.node, nodes.Name) and node.node.name in roots:
        found.add((node.node.name, node.attr))
        return
    if (isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.Name) and node.node.name in roots
            and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str)):
        found.add((node.node.name, node.arg.value))
        return
    if isinstance(node, nodes.Name) and node.ctx == "load" and node.name in roots:
        found.add((node.name, None))
        return
    for child in node.iter_child_nodes():
        _collect_reads(child, roots, found)


def _template_line(e: BaseException, name: str) -> str:
    # jinja2 rewrites the traceback so that template frames carry the template's own file and line.
    lines = [f.lineno for f in traceback.extract_tb(e.__traceback__) if f.filename.endswith(name)]
    return str(lines[-1]) if lines else "?"

