"""The CRM's tabs: which tabs exist, their columns, and how a sheet's headers map onto them.

Columns come from the record models (`records.py`); this module adds the tab-level facts
(ID prefixes, which columns sheetcrm computes) and the matching of a team's own headers. The
names people see are looked up: `names.py` (sheetcrm's tabs and computed columns, the English
titles of the CRM tabs) and `aliases.toml` (every other name of a CRM tab or column).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, get_args

from pydantic.fields import FieldInfo

from sheetcrm import aliases, names, records
from sheetcrm.cells import canonical_text, normalize_key
from sheetcrm.i18n import ngettext, using


def id_pattern(prefix: str) -> re.Pattern[str]:
    """The IDs sheetcrm hands out: PREFIX-digits. Case and width do not matter when reading
    ("acc-7" is ACC-0007's number), so a typed ID never collides with a later one."""
    return re.compile(rf"{re.escape(prefix)}-(\d+)\Z", re.IGNORECASE)


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    header_es: str
    aliases: tuple[str, ...]
    required: bool


@dataclass(frozen=True)
class Computed:
    """A column sheetcrm computes and owns inside a tab people own."""

    key: str
    header: str
    header_es: str
    recorded: bool = False  # a record of what a step did (names.RECORDED): written by that step alone
    by_step: bool = False   # added and kept up to date by one step, when it has something to say (names.BY_STEP)

    def display(self, locale: str) -> str:
        return self.header_es if locale == "es" else self.header


@dataclass(frozen=True)
class TabSpec:
    key: str
    title: str
    title_es: str
    aliases: tuple[str, ...]
    model: type[records.Record]
    id_prefix: str | None = None
    computed: tuple[Computed, ...] = ()

    @cached_property
    def columns(self) -> tuple[Column, ...]:
        return tuple(_column(name, info) for name, info in self.model.model_fields.items()
                     if info.title is not None)

    @property
    def id_column(self) -> Column | None:
        return next((c for c in self.columns if c.field == "id"), None) if self.id_prefix else None

    def headers(self, locale: str) -> list[str]:
        return [c.header_es if locale == "es" else c.header for c in self.columns]

    def display_title(self, locale: str) -> str:
        return self.title_es if locale == "es" else self.title


def _column(name: str, info: FieldInfo) -> Column:
    # Required columns are typed without None (RequiredText, Stage...) but keep a None default,
    # so that an empty cell reaches the validator and is reported as "required".
    # records.py attaches [Spanish header, *other headers] from aliases.toml.
    names = tuple((info.json_schema_extra or {}).get("aliases", ()))  # type: ignore[union-attr]
    header_es = names[0] if names else info.title
    return Column(field=name, header=info.title, header_es=header_es, aliases=names[1:],
                  required=type(None) not in get_args(info.annotation))


def _tab(key: str, id_prefix: str | None = None, title: str | None = None,
         model: type[records.Record] | None = None) -> TabSpec:
    es, *others = aliases.tab_names(key)
    recorded = names.RECORDED.get(key, frozenset())
    computed = tuple(Computed(k, *names.computed_name(key, k), recorded=k in recorded,
                              by_step=k in names.BY_STEP.get(key, frozenset()))
                     for k in names.COMPUTED.get(key, {}))
    return TabSpec(key, title or names.CRM_TABS[key], es, tuple(others), model or records.MODELS[key], id_prefix,
                   computed)


TABS: dict[str, TabSpec] = {t.key: t for t in (
    _tab("accounts", "ACC"),
    _tab("contacts", "CON"),
    _tab("leads", "LEAD"),
    _tab("opportunities", "OPP"),
    _tab("activities", "ACT"),
    _tab("tasks", "TSK"),
    _tab("products"),
    _tab("quote_lines"),
)}

# The team's workflow rules (crm/workflows.py): a people's tab like the CRM's, read only when the
# workbook has it (no "missing tab" warning: most teams have no rules), IDs WF-0001...
WORKFLOWS = _tab("workflows", "WF", "Workflows", records.Workflow)  # not for people: the English title, as CRM_TABS

# The team's marketing campaigns (crm/campaigns.py), IDs CMP-0001...: optional, read into the
# CRM's tables only when the workbook has the tab, so Leads' and Opportunities' Campaign is a
# reference to it then, and free text as before otherwise.
CAMPAIGNS = _tab("campaigns", "CMP", "Campaigns", records.Campaign)  # not for people: the English title, as CRM_TABS
# After-sales cases (crm/cases.py), IDs CASE-0001...
CASES = _tab("cases", "CASE", "Cases", records.Case)  # not for people: the English title, as CRM_TABS

# The people's tabs read like the CRM's when the workbook has them, with no "missing tab" warning.
OPTIONAL_TABS: dict[str, TabSpec] = {t.key: t for t in (CAMPAIGNS, CASES)}

# A column of the team's own under one of these headers (after normalize_key) holds money, a
# deal's budget: typed by its cells, it reads as money (its cells may name their currency, as an
# Amount's may), and lead conversion makes the new deal's Amount from it (steps/conversion.py).
BUDGET_HEADERS = frozenset({"budget", "presupuesto"})  # not for people: recognised headers

# The team's named segments (crm/segments.py): a people's tab read only when the workbook has it,
# beside the config's [segments.NAME]; no IDs (a segment is known by its Name).
SEGMENTS = _tab("segments", None, "Segments", records.Segment)  # not for people: the English title, as CRM_TABS

# How messages count each tab's records, in one place, by the current language's plural rule.
_COUNTS: dict[str, Callable[[int], str]] = {
    "accounts": lambda n: ngettext("{n} account", "{n} accounts", n),
    "contacts": lambda n: ngettext("{n} contact", "{n} contacts", n),
    "leads": lambda n: ngettext("{n} lead", "{n} leads", n),
    "opportunities": lambda n: ngettext("{n} opportunity", "{n} opportunities", n),
    "activities": lambda n: ngettext("{n} activity", "{n} activities", n),
    "tasks": lambda n: ngettext("{n} task", "{n} tasks", n),
    "products": lambda n: ngettext("{n} product", "{n} products", n),
    "quote_lines": lambda n: ngettext("{n} quote line", "{n} quote lines", n),
    "campaigns": lambda n: ngettext("{n} campaign", "{n} campaigns", n),
    "cases": lambda n: ngettext("{n} case", "{n} cases", n),
}


def count_of(n: int, key: str, locale: str | None = None) -> str:
    """"1 opportunity", "2 opportunities", "1 oportunidad": a count of a tab's records, in
    `locale` or else the current language."""
    if locale is None:
        return _COUNTS[key](n)
    with using(locale):
        return _COUNTS[key](n)


@dataclass(frozen=True)
class OwnedTab:
    """A tab that sheetcrm writes whole; people read it but their edits are replaced."""

    key: str
    title: str
    title_es: str
    headers: tuple[str, ...]
    headers_es: tuple[str, ...]
    hidden: bool = False   # sheetcrm's bookkeeping, out of people's way: the tab is hidden

    def display_title(self, locale: str) -> str:
        return self.title_es if locale == "es" else self.title

    def display_headers(self, locale: str) -> list[str]:
        return list(self.headers_es if locale == "es" else self.headers)


def _owned(key: str, hidden: bool = False) -> OwnedTab:
    title, title_es = names.tab_title(key, "en"), names.tab_title(key, "es")
    headers, headers_es = names.tab_headers(key, "en"), names.tab_headers(key, "es")
    return OwnedTab(key, title, title_es, headers, headers_es, hidden)


VALIDATION = _owned("validation")
# Sequence high-water marks, so an ID is never handed out twice even after its row is deleted.
SEQUENCES = _owned("sequences")
PIPELINE = _owned("pipeline")
FORECAST = _owned("forecast")
DASHBOARD = _owned("dashboard")
STAGE_HISTORY = _owned("stage_history")
LEAD_HISTORY = _owned("lead_history")
# One row per job `sheetcrm run` ran, oldest first, the newest SYNC_LOG_ROWS kept.
SYNC_LOG = _owned("sync_log")
SYNC_LOG_ROWS = 500
# Input tabs people may add; read when present, never written.
RATES = _owned("rates")
QUOTAS = _owned("quotas")
# Quote emails. sheetcrm adds the rows and moves them along; people change only Status
# (Draft -> Approved), so every write here after a row's creation is guarded by `expect`.
# The columns after Error carry the send machinery: quote number, quote version, tries.
OUTBOX = _owned("outbox")
# Every row a merge removed, whole, with its survivor and the day (sheetcrm.merging).
MERGED = _owned("merged")
# Likely duplicates (steps/duplicates.py): rewritten each sync, people's ticks carried over.
DUPLICATES = _owned("duplicates")
# Workflows: what sheetcrm saw at the previous sync, and the journal of every firing (its keys).
# The State is hidden: nothing in it is for people, and an edit there only makes a rule forget.
WORKFLOW_STATE = _owned("workflow_state", hidden=True)
WORKFLOW_LOG = _owned("workflow_log")
# Segments (steps/segments.py): each named segment's members and KPIs, rewritten each sync.
SEGMENT_SUMMARY = _owned("segment_summary")
# The Accounts Overview (steps/overview.py): one row per account, rewritten each sync.
OVERVIEW = _owned("overview")

# A person's columns after sheetcrm's on its tabs are theirs (docs/concurrency.md, "Columns people
# add"): each row's cells there go with its row when sheetcrm rewrites the tab, the row found
# by these of its columns (0-based): what names the row in a tab sheetcrm rewrites whole (the
# stage, the month and owner, the KPI, the account...). A log's row (a tab absent here) is
# found by all of sheetcrm's cells: it never changes once written.
ROW_KEYS: dict[str, tuple[int, ...]] = {
    "sequences": (0,), "pipeline": (0,), "forecast": (0, 1), "dashboard": (0,), "duplicates": (0, 4),
    "workflow_state": (0, 1, 2), "segment_summary": (0, 1), "overview": (0,),
}
# Tabs whose rows are wider than their headers (Merged: a removed row's cells after the fixed
# four): written as read and appended to, every cell kept.
WHOLE_ROWS = frozenset({"merged"})

OWNED_TABS: dict[str, OwnedTab] = {t.key: t for t in (
    VALIDATION, SYNC_LOG, PIPELINE, FORECAST, DASHBOARD, STAGE_HISTORY, LEAD_HISTORY, SEQUENCES, OUTBOX,
    MERGED, DUPLICATES, WORKFLOW_STATE, WORKFLOW_LOG, SEGMENT_SUMMARY, OVERVIEW)}


def find_tab(titles: list[str], names: list[str]) -> str | None:
    """The first sheet title that matches any of `names`, ignoring case, accents and spacing."""
    wanted = {normalize_key(n) for n in names}
    return next((t for t in titles if normalize_key(t) in wanted), None)


def tab_names(spec: TabSpec, configured_title: str | None) -> list[str]:
    # A configured title wins; the built-in names still match so a rename is not required.
    return [n for n in (configured_title, spec.title, spec.title_es, *spec.aliases) if n]


def owned_tab_names(tab: OwnedTab) -> list[str]:
    return [tab.title, tab.title_es]


# What people add after a header's name: "Amount:" (a form's label), "Amount*" (the README's
# mark of a required column), with spaces between.
_TRAILING = re.compile(r"[\s:*]+$")
# A note in brackets after a header's name: "Amount (USD)", "Importe (€)".
_BRACKETED = re.compile(r"(.*\S)\s*\(\s*([^()]+?)\s*\)")


def header_keys(text: str) -> tuple[str, str, tuple[str, str] | None]:
    """How a header may name a column, as `normalize_key` keys: (the whole header, the header
    without a trailing ":" or "*", and (the name before a note in brackets, the note as typed)
    or None). "Amount (USD)*" -> ("amount (usd)*", "amount (usd)", ("amount", "USD"))."""
    bare = _TRAILING.sub("", canonical_text(text))
    m = _BRACKETED.fullmatch(bare)
    return normalize_key(text), normalize_key(bare), (normalize_key(m[1]), m[2]) if m else None


def budget_header(text: str) -> tuple[bool, str | None]:
    """(whether a header names a Budget column, `BUDGET_HEADERS` as `header_keys` reads a
    header: "Budget:", "Presupuesto*", "Budget (EUR)"; the note in its brackets, if any)."""
    _whole, bare, bracketed = header_keys(text)
    if bare in BUDGET_HEADERS:
        return True, None
    if bracketed is not None and bracketed[0] in BUDGET_HEADERS:
        return True, bracketed[1]
    return False, None


def percent_headers(config) -> frozenset[str]:
    """The headers, as `normalize_key` keys, of every column that holds percentages: the
    record fields typed Percent (their English and Spanish headers and aliases, and a header
    the config renames them to) and the config's custom fields of type "percent". The Google
    backend asks for these columns' number formats (see workbook/gsheets.py)."""
    return _headers(config, "percent")


def money_headers(config) -> frozenset[str]:
    """The headers, as `normalize_key` keys, of the money columns whose record has a Currency
    field (Amount, Unit Price of Products): a currency format there names the amount's
    currency, so the Google backend may ask for their number formats. And the Quotas tab's
    Quota: an amount in the base currency, which a currency format may contradict (5000 shown
    "5.000 €" on a USD team) with nothing else on its row to say so."""
    return _headers(config, "money", with_currency=True) | {
        normalize_key(QUOTAS.headers[2]), normalize_key(QUOTAS.headers_es[2])}


def date_headers(config) -> frozenset[str]:
    """The headers, as `normalize_key` keys, of the date and date-time columns (record fields,
    the config's custom fields of type "date" or "datetime", and the Quotas tab's Month): where
    the spreadsheet's locale reads typed dates in another day/month order than the team's, the
    Google backend asks for their number formats (see workbook/gsheets.py)."""
    names = set(_headers(config, "date") | _headers(config, "datetime"))
    names.update((normalize_key(QUOTAS.headers[1]), normalize_key(QUOTAS.headers_es[1])))  # Month: dates in it
    for settings in config.tabs.values():
        names.update(normalize_key(title) for title, custom in settings.custom_fields.items()
                     if custom.type in ("date", "datetime"))
    return frozenset(names)


def currency_headers(config) -> frozenset[str]:
    """The headers, as `normalize_key` keys, of the Currency columns."""
    return _headers(config, "currency")


def standard_headers(config) -> frozenset[str]:
    """The headers, as `normalize_key` keys, of every column sheetcrm knows: each record
    field's (English, Spanish, aliases, the config's renames), each computed column's, the
    custom fields the config types, and those of its own tabs and of Rates and Quotas. A header not here names a team's own
    column, typed by its cells (`columns.infer_kind`): the Google backend asks for the number
    formats of those whose numbers a format may show otherwise (a date, a percentage, a time;
    see workbook/gsheets.py)."""
    names: set[str] = set()
    for spec in (*TABS.values(), WORKFLOWS, CAMPAIGNS, CASES, SEGMENTS):
        settings = config.tabs.get(spec.key)
        for name, info in spec.model.model_fields.items():
            if info.title is None:
                continue
            column = _column(name, info)
            names.update((column.header, column.header_es, *column.aliases))
        names.update(n for c in spec.computed for n in (c.header, c.header_es))
        if settings is not None:
            names.update(settings.headers.values())
            names.update(settings.custom_fields)
    for owned in (*OWNED_TABS.values(), RATES, QUOTAS):  # their columns hold what sheetcrm says
        names.update((*owned.headers, *owned.headers_es))
    return frozenset(normalize_key(n) for n in names)


def _headers(config, kind: str, with_currency: bool = False) -> frozenset[str]:
    names: set[str] = set()
    for key, spec in TABS.items():
        settings = config.tabs.get(key)
        if with_currency and "currency" not in spec.model.model_fields:
            continue
        for name, info in spec.model.model_fields.items():
            if info.title is None or not any(getattr(getattr(m, "func", None), "kind", None) == kind
                                             for m in info.metadata):
                continue
            column = _column(name, info)
            names.update((column.header, column.header_es, *column.aliases))
            if settings is not None and column.header in settings.headers:
                names.add(settings.headers[column.header])
        if settings is not None and kind == "percent":
            names.update(title for title, custom in settings.custom_fields.items() if custom.type == "percent")
    return frozenset(normalize_key(n) for n in names)
