"""Read a whole workbook snapshot into typed tables, checking each cell, row and cross-tab reference.

Validation never raises for data problems and never stops at the first one: every problem
becomes an Issue in the Report, and the rows that are sound go on to the CRM engine.

A row with a bad cell (Employees "many", Close Date 2026-02-30) is still a record as far as
references go: its ID and name match (`Row.target`, `Crm.find`), so its contacts and deals are
not "unknown", and `quote OPP-0005` says "OPP-0005 (row 6) has errors". It is not computed
with: an unreadable Amount, Currency or Probability would otherwise count as an empty value
(nothing, the base currency, the stage's probability), a silently wrong number. So such a row
stays out of every total, scores and quotes until fixed, its computed cells are cleared, and
one `left_out` warning per tab lists the rows that are out.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from rapidfuzz import fuzz

from sheetcrm import cells
from sheetcrm.config import Config, TabSettings
from sheetcrm.i18n import N_, _, current, in_locale, listed, ngettext, settle, using
from sheetcrm.ids import blank_text_id, id_pattern, read_sequences
from sheetcrm.owned import owned_title, synced_before
from sheetcrm.inputs import Inputs, read_conversions, read_inputs, read_segments, respell_duplicates
from sheetcrm.parse_cache import RowMemo
from sheetcrm.records import ParseContext, lead_status_choices
from sheetcrm.report import Issue, Report, column_letter
from sheetcrm.schema import OPTIONAL_TABS, OWNED_TABS, QUOTAS, RATES, SEQUENCES, TABS, TabSpec, find_tab, tab_names
from sheetcrm.workflow_tabs import read_workflows
from sheetcrm.table import ERROR_ID, FORMULA_ID, Row, Table, _squash, header_columns, parse_table, tab_locale
from sheetcrm.workbook import Grid, Snapshot
from sheetcrm.written import GENERATION, MEMO_NAME, Written, recall


@dataclass
class Crm:
    """The CRM as read: one Table per CRM tab that the workbook has, plus the report."""

    tables: dict[str, Table] = field(default_factory=dict)
    report: Report = field(default_factory=Report)
    targets: dict[str, "Targets"] = field(default_factory=dict)  # what references can name, per tab
    # The tabs beside the CRM's (Rates, Quotas, histories, sequences), typed in the same read.
    inputs: Inputs | None = None

    # match_key of each text the read and `find` compared (validate._Keys): steps look up the
    # same accounts and contacts the read resolved.
    keys: dict[str, str] = field(default_factory=lambda: _Keys())
    # What sheetcrm last wrote in its computed cells, as the memo kept it (written.py): none
    # without a memo. The computed_columns step reads it and leaves what it writes.
    written: Written = field(default_factory=Written)
    # tab -> normalize_key(a name) -> the names folding to it, built on the first reference that
    # names nothing in the tab (`_spelled_alike`).
    folded: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # The CRM tabs the figures are made of that the workbook has not got, where another tab's
    # name looks like theirs ("Opportunity"): said with the figures (`UnreadTab`).
    tabs_not_found: list["UnreadTab"] = field(default_factory=list)
    # The language ("en"/"es") its messages are in: the workbook's when the config sets none
    # (team_config), which the command printing them speaks too, rather than mix two.
    language: str = "en"

    def find(self, key: str, text: str) -> list[Row]:
        """The rows of tab `key` that `text` names (by ID, else by name), rows with errors
        included; more than one when the name is ambiguous."""
        return [row for _, row in self.targets[key].find_key(self.keys[text])[0]] if key in self.targets else []

    def records(self, key: str) -> list[Any]:
        table = self.tables.get(key)
        return table.records if table else []

    def stats(self) -> dict[str, Any]:
        tabs = {
            key: {"tab": t.title, "rows": len(t.rows), "valid": len(t.records)}
            for key, t in self.tables.items()
        }
        return {"tabs": tabs, "rows": sum(t["rows"] for t in tabs.values()),
                "errors": self.report.errors, "warnings": self.report.warnings}


def parse_context(config: Config) -> ParseContext:
    stages = cells.enum_choices({s.name: s.aliases for s in config.stages})
    # The stages a hint offers, as the team's language writes them: the config file's own
    # names when it sets them, else the built-in stages' names in the catalogue (crm.words).
    explicit = "stages" in config.model_fields_set
    shown = tuple(s.name if explicit else in_locale(config.locale, ("stage", s.name)) for s in config.stages)
    return ParseContext(locale=config.reading_locale(), stages=stages, locale_set="locale" in config.model_fields_set,
                        currency=config.currency, stage_words=shown, zone=config.zone_name(),
                        lead_statuses=lead_status_choices(config.lead_statuses) if config.lead_statuses else {})


def team_config(snapshot: Snapshot, config: Config) -> Config:
    """`config` with the language sheetcrm writes and speaks in for this workbook: the config's
    `locale` when the file sets it, else the workbook's own, by its CRM tabs' titles (more
    Spanish titles, like Oportunidades, than English ones: "es"; more English ones: "en"), else
    the environment's (the config's default: a new workbook, or titles that say nothing). Without
    it a Spanish workbook synced with no config got English headers and messages in its
    Validación and Panel tabs. The locale stays unset for parsing (`ParseContext.locale_set`):
    each tab's language still settles its own numbers and dates, and the titles' language, never
    the environment's, is the reading's fallback (`Config.reading_locale`).
    The command or service reading the workbook speaks that language from here on too
    (`i18n.settle`): every command prints in the language of what it reads and writes."""
    adopted = _team_config(snapshot, config)
    settle(adopted.locale)
    return adopted


def _team_config(snapshot: Snapshot, config: Config) -> Config:
    if "locale" in config.model_fields_set:
        return config
    language = titles_language(snapshot)
    if language is None or (language == config.locale and language == config.reading_locale()):
        return config
    adopted = config.model_copy(update={"locale": language})
    adopted.model_fields_set.discard("locale")  # decided by the workbook, not set by the file
    adopted._titles_locale = language
    return adopted


def titles_language(snapshot: Snapshot) -> str | None:
    """The language of the workbook's CRM tab titles: "es" when more are Spanish (Oportunidades)
    than English (Opportunities), "en" when more are English, None when they say nothing (no CRM
    tab, titles the two languages share, such as Leads, or as many of each)."""
    keys = {cells.normalize_key(title) for title in snapshot.tabs}
    spanish = sum(1 for spec in TABS.values() if cells.normalize_key(spec.title_es) in keys
                  and cells.normalize_key(spec.title_es) != cells.normalize_key(spec.title))
    english = sum(1 for spec in TABS.values() if cells.normalize_key(spec.title) in keys
                  and cells.normalize_key(spec.title_es) != cells.normalize_key(spec.title))
    return "es" if spanish > english else "en" if english > spanish else None


def read_crm(snapshot: Snapshot, config: Config, language: str | None = None, memo: RowMemo | None = None,
             written: Written | None = None) -> Crm:
    """The workbook as read, every issue's message and hint in `language` ("en"/"es"), by
    default the config's locale (whoever calls it). `memo`: the rows an earlier read
    validated (parse_cache.RowMemo), reused where their cells are the same, and filled with
    this read's; the Crm is the same with or without it, but for what sheetcrm last wrote in
    its computed cells (`Crm.written`), recalled from it. `written`: that state as a read of
    the same sync already recalled it (the merge step's read of the merged workbook)."""
    with using(language or config.locale) as spoken:
        crm = _read_crm(snapshot, config, memo, written)
        crm.language = spoken
        return crm


def _read_crm(snapshot: Snapshot, config: Config, memo: RowMemo | None = None,
              written: Written | None = None) -> Crm:
    crm = Crm(report=Report(limit=config.validation.max_issues))
    ctx = parse_context(config)
    titles = list(snapshot.tabs)
    synced = synced_before(snapshot)
    if written is None:
        sequences = owned_title(snapshot, SEQUENCES)
        generation = read_sequences(snapshot.tabs[sequences] if sequences else None).get(GENERATION)
        written = recall(memo.state(MEMO_NAME) if memo is not None else None, generation)
    crm.written = written
    known = _known_titles(titles, config, snapshot.owned)
    for key, spec in TABS.items():
        settings = config.tab(key)
        title = find_tab(titles, tab_names(spec, settings.title))
        if title is None:
            # Named as the team knows it: the configured title, else the built-in one in their language.
            missing = settings.title or spec.display_title(current())
            like, columns = tab_stand_in(snapshot, config, key, known)
            if columns:
                crm.report.add(Issue("warning", missing, None, None, None, like, "missing_tab",
                                     _('There is no "{tab}" tab. "{text}" is very likely it, its header row having '
                                       'the columns of {tab} ({columns}), but it is not read as it: a tab is found by '
                                       'its name.', tab=missing, text=like, columns=columns),
                                     _('If "{text}" is it, rename it "{tab}", or map it in sheetcrm.toml: '
                                       '[tabs.{key}] title = "{text}".', tab=missing, text=like, key=key)))
                if key in FIGURE_COLUMNS:
                    crm.tabs_not_found.append(UnreadTab(key, missing, spec.title, spec.title_es, like, columns))
                continue
            if like is None:
                crm.report.add(Issue("warning", missing, None, None, None, None, "missing_tab",
                                     _('There is no "{tab}" tab.', tab=missing),
                                     _("Run `sheetcrm init` to add the missing tabs with their headers.")))
                # Without Opportunities every deal figure reads 0, which looks true: said where they
                # are shown, as a required column not found. Another tab missing leaves its figures
                # empty (no lead source, no owner), not a false 0.
                if key == "opportunities":
                    crm.tabs_not_found.append(UnreadTab(key, missing, spec.title, spec.title_es, None))
                continue
            crm.report.add(Issue("warning", missing, None, None, None, like, "missing_tab",
                                 _('There is no "{tab}" tab ("{text}" looks like it, but is not read: a tab is found '
                                   'by its name).', tab=missing, text=like),
                                 _(LOOKALIKE_TAB_HINT, tab=missing, text=like)))
            if key in FIGURE_COLUMNS:
                crm.tabs_not_found.append(UnreadTab(key, missing, spec.title, spec.title_es, like))
            continue
        crm.tables[key] = parse_table(spec, title, snapshot.tabs[title], settings, ctx, crm.report, memo=memo,
                                      synced=synced, kept=crm.written.kept(key))
    for key, spec in OPTIONAL_TABS.items():  # read only when the workbook has them: no missing_tab warning
        settings = config.tab(key)
        title = find_tab(titles, tab_names(spec, settings.title))
        if title is not None:
            crm.tables[key] = parse_table(spec, title, snapshot.tabs[title], settings, ctx, crm.report, memo=memo,
                                          synced=synced, kept=crm.written.kept(key))
    _check_references(crm)
    _check_quote_prices(crm, ctx.currency)
    _check_spreadsheet_locale(snapshot, config, crm)
    # Cross-tab findings come last in discovery order; people read the tab in sheet order.
    order = {t.title: i for i, t in enumerate(crm.tables.values())}
    crm.report.issues.sort(key=lambda i: (order.get(i.tab, -1), i.row or 0, len(i.column or ""), i.column or ""))
    deals = crm.tables.get("opportunities")
    # Every row's Owner as far as it reads, a row with errors too: its owner owns a deal, left
    # out only until the row is fixed, so "owns no deal" would send the reader hunting a typo.
    owners = None if deals is None else (deals.title, [getattr(r.readable, "owner", None) for r in deals.rows])
    crm.inputs = read_inputs(snapshot, config, ctx, crm.report, owners)
    for key in _LEFT_OUT_STOPPED:  # said before the side tabs were read: said again knowing them
        restate_left_out(crm, key)
    crm.inputs.conversions = read_conversions(crm.tables, config.locale)
    respell_duplicates(crm.inputs.duplicates, crm.tables)
    # After the sort: the rules' problems follow the CRM tabs' on the Validation tab.
    crm.inputs.workflows = read_workflows(snapshot, ctx, crm.report, config.locale, crm.written.kept("workflows"))
    crm.inputs.segments = read_segments(snapshot, ctx, crm.report)
    for key, table in (("workflows", crm.inputs.workflows.table), ("segments", crm.inputs.segments)):
        if table is not None:
            _report_left_out(table, _LEFT_OUT[key], crm.report)
    return crm


def _check_spreadsheet_locale(snapshot: Snapshot, config: Config, crm: Crm) -> None:
    """One warning, on the first CRM tab, when the spreadsheet's own locale (Google's) reads
    what people type in another day/month order or with another decimal separator than the
    team's locale (set in the config; with none, the workbook's language,
    `_check_workbook_language`): Google turns "03/04/2026" into 4 March and "1.500"
    into 1.5 before sheetcrm reads them. A date either order reads is said at its cell
    (`columns.read_dates`); a number Google read so cannot be told from one typed so."""
    if snapshot.locale is None or not crm.tables:
        return
    if "locale" not in config.model_fields_set:
        _check_workbook_language(snapshot, crm)
        return
    order, separator = cells.typed_order(snapshot.locale), cells.typed_separator(snapshot.locale)
    if order in (None, config.locale) and separator in (None, config.locale):
        return
    title = next(iter(crm.tables.values())).title
    crm.report.add(Issue(
        "warning", title, None, None, None, snapshot.locale, "spreadsheet_locale_differs",
        _('Google reads what people type in this spreadsheet as its locale {typed} writes it ({example}), but '
          'this team writes locale "{locale}" ({ours}): a date or an amount typed the team\'s way may be stored '
          "as another one.", typed=snapshot.locale, example=_EXAMPLES[(order or "en", separator or "en")],
          locale=config.locale, ours=_EXAMPLES[(config.locale, config.locale)]),
        _("Set the spreadsheet's locale to the team's in File > Settings (Spain for Spanish, United States for "
          "English), then check the dates and amounts typed before.")))


def _check_workbook_language(snapshot: Snapshot, crm: Crm) -> None:
    """With no locale in the config, the same warning when the workbook's own language (its CRM
    tabs' titles, else most of its tabs' headers: `titles_language`, `table.tab_locale`) writes
    dates or numbers otherwise than the spreadsheet's locale: Spanish tabs on an en_US
    spreadsheet had a typed "1.500" stored as 1.5 and "03/04/2026" as 4 March, with no word,
    since the columns read those cells as Google holds them."""
    language = titles_language(snapshot)
    if language is None:
        votes = Counter(lang for t in crm.tables.values() if (lang := tab_locale(t.spec, t.title, t.header)))
        ranked = votes.most_common(2)
        if not ranked or len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
            return
        language = ranked[0][0]
    order, separator = cells.typed_order(snapshot.locale), cells.typed_separator(snapshot.locale)
    if order in (None, language) and separator in (None, language):
        return
    crm.report.add(Issue(
        "warning", next(iter(crm.tables.values())).title, None, None, None, snapshot.locale,
        "spreadsheet_locale_differs",
        _("Google reads what people type in this spreadsheet as its locale {typed} writes it ({example}), but this "
          "workbook's tabs are in {language}, which writes {ours}: a date or an amount typed that way may be "
          "stored as another one.", typed=snapshot.locale, example=_EXAMPLES[(order or "en", separator or "en")],
          language=_(_LANGUAGES[language]), ours=_EXAMPLES[(language, language)]),
        _("Set the spreadsheet's locale to the team's in File > Settings (Spain for Spanish, United States for "
          "English), then check the dates and amounts typed before; or set locale in sheetcrm.toml to the way "
          "the team writes.")))


_LANGUAGES = {"en": N_("English"), "es": N_("Spanish")}

# How a locale writes a date and a number, for `_check_spreadsheet_locale`'s message.
_EXAMPLES = {("en", "en"): "12/3/2026, 1,234.5", ("es", "es"): "3/12/2026, 1.234,5",
             ("es", "en"): "3/12/2026, 1,234.5", ("en", "es"): "12/3/2026, 1.234,5"}


match_key = cells.match_key  # how IDs, names, emails and SKUs compare (here for its many importers)


class _Keys(dict[str, str]):
    """`match_key` of each distinct text, worked out once per read: every ID is keyed for the
    unique-ID check and again as a target, and a reference names the same few rows many times
    (a deal's Account, an activity's Related looked up in five tabs)."""

    def __missing__(self, text: str) -> str:
        # Most texts are ASCII, where `canonical_text` is only the spacing and casefold is lower:
        # the same key without two calls per text (every ID of every tab is keyed on each read).
        key = self[text] = " ".join(text.split()).lower() if text.isascii() else match_key(text)
        return key


def row_label(row: Row) -> str:
    """How messages name a row: "ACC-0002 (row 3)", or "row 3" before it has an ID (in the
    current language)."""
    return _("{id} (row {row})", id=row.id, row=row.row) if row.id else _("row {row}", row=row.row)


# What a key names in a Targets map: (the text the engine knows the row by, the row). One
# row, as most keys name, is kept as its pair alone, or as the Row alone when that text is its
# ID (every key of `Targets.ids`); two or more as a list of pairs in sheet order. A list for
# every key was 9 MB at 10k leads (90 MB at 100k), and a pair for every ID 28 MB at 100k.
Hit = tuple[str, Row]
Hits = Row | Hit | list[Hit]


def entries(found: Hits | None) -> list[Hit]:
    """The (text, row) pairs of a Targets map's value, in sheet order ([] for None)."""
    if found is None:
        return []
    kind = found.__class__
    if kind is list:
        return found  # type: ignore[return-value]
    if kind is tuple:
        return [found]  # type: ignore[list-item]
    return [(found.id, found)]  # type: ignore[union-attr,list-item]


def _add_hit(found: dict[str, Hits], key: str, hit: Hit) -> None:
    same = found.get(key)
    if same is None:
        found[key] = hit[1] if hit[0] == hit[1].id else hit
    elif same.__class__ is list:
        same.append(hit)  # type: ignore[union-attr]
    else:
        found[key] = [*entries(same), hit]


@dataclass
class Targets:
    """What a reference may name in one tab: match key -> what it names (`Hits`), IDs and
    names apart so an ID wins over a name that looks like one. Rows with errors are targets
    too: a bad Employees cell does not make an account disappear."""

    ids: dict[str, Hits] = field(default_factory=dict)
    names: dict[str, Hits] = field(default_factory=dict)

    def find(self, text: str, ids_only: bool = False) -> tuple[list[tuple[str, Row]], bool]:
        """The rows `text` names, one entry each: by ID, else by name; and whether by ID."""
        return self.find_key(match_key(text), ids_only)

    def find_key(self, key: str, ids_only: bool = False) -> tuple[list[tuple[str, Row]], bool]:
        """`find` of a text whose `match_key` is `key`."""
        by_id = key in self.ids
        found = entries(self.ids[key] if by_id else None if ids_only else self.names.get(key))
        if len(found) < 2:
            return found, by_id  # one row (most references) or none: nothing to dedupe
        unique: dict[int, tuple[str, Row]] = {}
        for form, row in found:
            unique.setdefault(id(row), (form, row))
        return list(unique.values()), by_id


# The fields that name a row of each tab, besides its ID; a contact is named by its full
# name or its email. The text a reference resolves to is the one the engine matches exactly.
_NAMES: dict[str, Callable[[Any], Iterable[str | None]]] = {
    "accounts": lambda r: (r.name,),
    "contacts": lambda r: (f"{r.first_name} {r.last_name}" if r.first_name and r.last_name else None, r.email),
    "opportunities": lambda r: (r.name,),
    "campaigns": lambda r: (r.name,),
}
_NAME_FIELDS = {"accounts": ("name",), "opportunities": ("name",), "campaigns": ("name",)}
# A product's SKU is its ID.
_ID_FIELD = {"products": "sku"}


def build_targets(table: Table, keys: dict[str, str] | None = None,
                  ids: dict[str, Hits] | None = None) -> Targets:
    """What references may name in `table`; `keys`: a memo of `match_key` (`_Keys`) shared
    with the rest of the read; `ids`: the tab's IDs by match key as `_check_unique_ids`
    returned them (the same map, not worked out twice), for a tab whose IDs are its rows' IDs."""
    keys = _Keys() if keys is None else keys
    targets = Targets()
    key = table.spec.key
    id_field = _ID_FIELD.get(key)
    if ids is not None and id_field is None:
        targets.ids = ids
    else:
        for row in table.rows:
            if id_field is not None:
                row_id = getattr(row.target, id_field) if row.target is not None else _raw_text(table, row, id_field)
            else:
                row_id = row.id
            if row_id:
                _add_hit(targets.ids, keys[row_id], (row_id, row))
    name_of = _NAMES.get(key)
    if name_of is None:
        return targets  # a tab named by ID only (leads, activities)
    fields = _NAME_FIELDS.get(key, ())
    names = targets.names
    for row in table.rows:
        if row.target is not None:
            named = name_of(row.target)
        else:
            # Even a row whose record cannot be made keeps its name as typed.
            named = (_raw_text(table, row, f) for f in fields)
        for name in named:
            if name:
                _add_hit(names, keys[name], (name, row))
    return targets


def _raw_text(table: Table, row: Row, field_name: str) -> str | None:
    col = table.header.fields.get(field_name)
    if col is None or col >= len(row.cells):
        return None
    return cells.parse_text(row.cells[col])


# What a reference that names nothing, or more than one row, is told: (message, message when
# ambiguous, hint), each a whole sentence so that a language can agree its words with the noun.
_ACCOUNT = (N_("{shown} does not match any account."), N_("{shown} names more than one account: {rows}."),
            N_("Use an account ID or the exact name of an account."))
_CONTACT = (N_("{shown} does not match any contact."), N_("{shown} names more than one contact: {rows}."),
            N_("Use a contact ID, full name or email."))
_RECORD = (N_("{shown} does not match any record."), N_("{shown} names more than one record: {rows}."),
           N_("Use the ID of a lead, contact, account or opportunity."))
_OPPORTUNITY = (N_("{shown} does not match any opportunity."),
                N_("{shown} names more than one opportunity: {rows}."),
                N_("Use an opportunity ID or its exact name."))
_CAMPAIGN = (N_("{shown} does not match any campaign."), N_("{shown} names more than one campaign: {rows}."),
             N_("Use a campaign's ID or its exact name from the Campaigns tab: {candidates}."))
_SKU = (N_("{shown} does not match any product SKU."), N_("{shown} names more than one product SKU: {rows}."),
        N_("Use a SKU from the Products tab."))

# (field, tabs it may name, by ID only, code, what is said)
_Rule = tuple[str, tuple[str, ...], bool, str, tuple[str, str, str]]
_REFERENCES: dict[str, list[_Rule]] = {
    "accounts": [("primary_contact", ("contacts",), False, "unknown_contact", _CONTACT)],
    "contacts": [("account", ("accounts",), False, "unknown_account", _ACCOUNT)],
    "leads": [("campaign", ("campaigns",), False, "unknown_campaign", _CAMPAIGN)],
    "opportunities": [
        ("account", ("accounts",), False, "unknown_account", _ACCOUNT),
        ("contact", ("contacts",), False, "unknown_contact", _CONTACT),
        ("campaign", ("campaigns",), False, "unknown_campaign", _CAMPAIGN),
    ],
    # A case's activities and tasks name it in Related (its CASE- ID): its First Response.
    "activities": [("related", ("leads", "contacts", "accounts", "opportunities", "cases"), True, "unknown_related",
                    _RECORD)],
    "tasks": [("related", ("leads", "contacts", "accounts", "opportunities", "cases"), True, "unknown_related",
               _RECORD)],
    "cases": [
        ("account", ("accounts",), False, "unknown_account", _ACCOUNT),
        ("contact", ("contacts",), False, "unknown_contact", _CONTACT),
    ],
    "quote_lines": [
        ("opportunity", ("opportunities",), False, "unknown_opportunity", _OPPORTUNITY),
        ("sku", ("products",), False, "unknown_sku", _SKU),
    ],
}
# Per tab, each reference field and the tabs it may name (the warehouse mirrors references as IDs).
REFERENCE_FIELDS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    key: tuple((rule[0], rule[1]) for rule in rules) for key, rules in _REFERENCES.items()}
# References whose miss is a warning, not an error: a deal with a mistyped Campaign still counts
# in the pipeline and a lead in scoring; only its campaign's figures go without it, and say so.
_WARNINGS = frozenset({"unknown_campaign"})
# Tabs whose reference resolves to the row's name whichever way it was named (by ID or name):
# the Dashboard's KPIs by campaign group on the Campaign text, one group per campaign.
_BY_NAME = frozenset({"campaigns"})
# References that attach their row to the record they name (an activity's or a task's Related:
# Last Activity, rotting, First Response, the account overview, scoring's counts, workflows).
# One that names several records attaches to none of them: the record's field is left empty
# (the cell keeps its text, and the row stays a reference target as typed), so no consumer,
# joining by ID, can pick one. One that names nothing is an error, its row left out already.
_ATTACHING = frozenset({"related"})


def _check_references(crm: Crm) -> None:
    """Every reference resolved as a person reads it. A reference that matches is rewritten on
    its record to the text the target is known by (its ID, or its name as that row has it), so
    the engine and the quotes, which match exactly, see the same link this check saw."""
    report = crm.report
    keys = crm.keys
    ids = {key: _check_unique_ids(table, report, keys) for key, table in crm.tables.items() if table.spec.id_prefix}
    crm.targets = {key: build_targets(t, keys, ids.get(key)) for key, t in crm.tables.items()
                   if key in _NAMES or key in _ID_FIELD or t.spec.id_prefix}
    _check_unique_skus(crm.tables.get("products"), report)
    _check_blank_tax_rates(crm.tables.get("products"), report)

    # What a reference that names exactly one row resolves to depends on its text and the tabs
    # it may name, nothing else: worked out once (deals name the same few accounts many times).
    resolved: dict[tuple[tuple[str, ...], bool], dict[str, str]] = {}
    for key, rules in _REFERENCES.items():
        table = crm.tables.get(key)
        if table is None:
            continue
        # A workbook without an Accounts tab: an Account is a plain label, not checked.
        checked = [(rule, [(tab, crm.targets[tab]) for tab in rule[1] if tab in crm.targets],
                    resolved.setdefault((rule[1], rule[2]), {}))
                   for rule in rules if any(tab in crm.tables for tab in rule[1])]
        for row in table.rows:
            record = row.target
            if record is None:
                continue
            for rule, targets, known in checked:
                field_name = rule[0]
                value = getattr(record, field_name, None)
                if value is None:
                    continue
                form = known.get(value)
                if form is None:
                    form = _lookup(crm, table, row, rule, targets, value)
                    if form is None:
                        record = row.target
                        continue
                    known[value] = form
                if form != value:
                    _resolve(row, field_name, form)
                    record = row.target

    for key in ("contacts", "leads"):
        table = crm.tables.get(key)
        if table is not None:
            _check_duplicate_emails(table, report, keys)
    for key, message in _LEFT_OUT.items():
        table = crm.tables.get(key)
        if table is not None:
            _report_left_out(table, message, report)


def references_of(crm: Crm, key: str, table: Table, rows: Iterable[Row] | None = None) -> list[Issue]:
    """The reference issues of `table`'s rows (or of `rows` alone), rows of the `key` tab read
    from elsewhere (an import's file), checked against `crm`'s records as the sync checks the
    tab's own: a row the sync would find naming no account, or two, is told so here, at the
    file's cell, before it is written. A row with an error loses its record, as in the tab.
    `crm` is not changed."""
    said = replace(crm, report=Report(limit=10 ** 9))
    rules = [(rule, [(tab, crm.targets[tab]) for tab in rule[1] if tab in crm.targets])
             for rule in _REFERENCES.get(key, ()) if any(tab in crm.tables for tab in rule[1])]
    for row in table.rows if rows is None else rows:
        for rule, targets in rules:
            value = getattr(row.target, rule[0], None) if row.target is not None else None
            if value is not None:
                _lookup(said, table, row, rule, targets, value)
    return list(said.report.issues)


def _lookup(crm: Crm, table: Table, row: Row, rule: _Rule, targets: list[tuple[str, Targets]],
            value: str) -> str | None:
    """The text `value` resolves to when it names exactly one row of the rule's tabs; else
    None, and the row's issue (nothing matches: unknown; more than one row: ambiguous) reported."""
    field_name, tabs, ids_only, code, (unknown, ambiguous, hint) = rule
    value_key = crm.keys[value]
    # Most references name one row of one tab: found with a look-up per tab, no lists.
    single = None
    for tab, target in targets:
        rows = target.ids.get(value_key)
        if rows is None and not ids_only:
            rows = target.names.get(value_key)
        if rows:
            if single is not None or rows.__class__ is list:  # a list names two rows or more
                single = None
                break
            single = (tab, entries(rows)[0])
    else:
        if single is not None:
            return _form(crm, *single)
    hits = _hits(targets, value_key, ids_only)
    found = [hit for _, rows, _ in hits for hit in rows]
    report = crm.report
    if not found:
        _cell_issue(report, "warning" if code in _WARNINGS else "error", table, row, field_name,
                    value, code, _(unknown, shown=cells.quoted(value)),
                    _(hint, candidates=_candidates(crm, tabs, value)) if "{candidates}" in hint
                    else _spelled_alike(crm, tabs, value, _(hint), ids_only))
    elif len(found) > 1:
        # Two rows of one tab with the same ID (or SKU) are already a duplicate_id
        # error there; a name shared by two rows, or an ID of two tabs, is said here.
        if not (len([h for h in hits if h[1]]) == 1 and any(by_id for _, rows, by_id in hits if rows)):
            rows = ", ".join(row_label(r) for _, r in found)
            attaching = field_name in _ATTACHING
            _cell_issue(report, "warning", table, row, field_name, value, "ambiguous_reference",
                        _(ambiguous, shown=cells.quoted(value), rows=rows),
                        _("Use the ID of the one you mean: until then this row counts for none of them.")
                        if attaching else _("Use the ID of the one you mean."))
            if attaching and row.record is not None:
                row.record = row.record.model_copy(update={field_name: None})  # never guessed (_ATTACHING)
    else:
        return _form(crm, next(t for t, rows, _by_id in hits if found[0] in rows), found[0])
    return None


def _hits(targets: list[tuple[str, Targets]], value_key: str,
          ids_only: bool) -> list[tuple[str, list[tuple[str, Row]], bool]]:
    """What a reference whose `match_key` is `value_key` names in each of `targets`: (tab, its
    (form, row) pairs, whether by ID). It resolves when exactly one row is named in all."""
    return [(tab, *target.find_key(value_key, ids_only)) for tab, target in targets]


def named_by(crm: Crm, key: str, field_name: str, text: str) -> list[tuple[str, str, Row, bool]]:
    """Every row the reference `text`, typed in field `field_name` of tab `key`, names as the
    read resolves it (`_check_references`: the same rule, tabs and look-up): (tab, the form it
    matched, the row, whether by ID). The reference resolves when exactly one row is named;
    none for a field that is not a checked reference."""
    rule = next((r for r in _REFERENCES.get(key, ()) if r[0] == field_name), None)
    if rule is None:
        return []
    targets = [(tab, crm.targets[tab]) for tab in rule[1] if tab in crm.targets]
    return [(tab, form, row, by_id) for tab, rows, by_id in _hits(targets, crm.keys[text], rule[2])
            for form, row in rows]


def name_forms(key: str, record: Any) -> tuple[str | None, ...]:
    """The texts besides its ID that name a record of tab `key` (an account's name; a
    contact's full name, then its email), None where it has none; () for a tab named by ID only."""
    name_of = _NAMES.get(key)
    return tuple(name_of(record)) if name_of is not None and record is not None else ()


def _form(crm: Crm, tab: str, found: tuple[str, Row]) -> str:
    """The text a reference resolved to one row of `tab` becomes: the target's form, or for
    _BY_NAME tabs its name when no other row has that name (else the ID, which still says
    which one)."""
    name = getattr(found[1].target, "name", None) if tab in _BY_NAME else None
    if name and (alone := crm.targets[tab].names.get(crm.keys[name])) is not None and alone.__class__ is not list:
        return name  # this row alone has the name
    return found[0]


# How many names a hint offers for a reference that matches nothing.
_CANDIDATES = 5


def _candidates(crm: Crm, tabs: tuple[str, ...], value: str) -> str:
    """The names a reference that matches nothing may have meant: the closest by spelling
    (difflib's ratio, as a person misreads), else the first ones, at most _CANDIDATES."""
    names = list(dict.fromkeys(form for tab in tabs if tab in crm.targets
                               for forms in crm.targets[tab].names.values() for form, _row in entries(forms)))
    close = difflib.get_close_matches(value, names, n=_CANDIDATES, cutoff=0.5)
    shown = close or names[:_CANDIDATES]
    return ", ".join(cells.quoted(n) for n in shown) if shown else "—"


def _spelled_alike(crm: Crm, tabs: tuple[str, ...], value: str, hint: str, ids_only: bool = False) -> str:
    """`hint`, and the names that `value` differs from only in accents, case, spacing or hyphens
    ("Cafe Nunez" for "Café Núñez"): a reference matches case and spacing, never accents (two
    accounts may differ by one), so the name meant is offered, not taken. For a column read by
    ID only (Related) the IDs of the rows so named are offered, `"ACC-0001" (Acme Corp)`: a name
    there, even the exact one, names nothing, so offering it back would send the person round in
    a circle. O(1) after a first pass over the tab's names."""
    key = cells.normalize_key(value)
    alike: list[str] = []
    for tab in tabs:
        target = crm.targets.get(tab)
        if target is None:
            continue
        index = crm.folded.get(tab)
        if index is None:
            index = crm.folded[tab] = {}
            for forms in target.names.values():
                for form, _row in entries(forms):
                    same = index.setdefault(cells.normalize_key(form), [])
                    if form not in same:
                        same.append(form)
        alike.extend(index.get(key, ()))
    if not alike:
        return hint
    if ids_only:
        offered = [f"{cells.quoted(row.id)} ({form})" for tab in tabs if tab in crm.targets
                   for name in dict.fromkeys(alike)
                   for form, row in entries(crm.targets[tab].names.get(crm.keys[name])) if row.id]
        if not offered:
            return hint
        return hint + " " + _("Did you mean {ids}? This column names a record by its ID, not by its name.",
                              ids=", ".join(dict.fromkeys(offered[:_CANDIDATES])))
    return hint + " " + _("Did you mean {names}? A reference must match its accents and hyphens too.",
                          names=", ".join(cells.quoted(n) for n in alike[:_CANDIDATES]))


def _resolve(row: Row, field_name: str, form: str) -> None:
    if row.record is not None:
        row.record = row.record.model_copy(update={field_name: form})
    if row.target is not None:
        row.target = row.target.model_copy(update={field_name: form})


# Only sound records are computed with: a deal whose Amount, Currency or Probability cannot be
# read would otherwise count with a default (0, the base currency, the stage's probability), and
# an account whose Employees reads "abc" with no Status or Industry, a silently wrong churn rate
# or segment. Every tab whose records anything computes with says which rows are out, and of
# what: the figures, tabs and exports its records feed (engine, steps/overview, steps/segments,
# steps/campaigns, steps/cases, steps/workflows, mail/quotes, mail/digest).
# What the warning says, by the number of rows left out, and the rows listed.
_LEFT_OUT: dict[str, Callable[[int, str, str], str]] = {
    "accounts": lambda n, tab, listed: ngettext(
        "{n} account with errors in {tab} is left out of the Dashboard, the Accounts Overview and segments "
        "until fixed: {listed}.",
        "{n} accounts with errors in {tab} are left out of the Dashboard, the Accounts Overview and segments "
        "until fixed: {listed}.", n, tab=tab, listed=listed),
    "contacts": lambda n, tab, listed: ngettext(
        "{n} contact with errors in {tab} is left out of the Accounts Overview, segments, Last Activity and "
        "quotes until fixed: {listed}.",
        "{n} contacts with errors in {tab} are left out of the Accounts Overview, segments, Last Activity and "
        "quotes until fixed: {listed}.", n, tab=tab, listed=listed),
    # A row's status change is still logged (engine.history_states): it is left out of no history,
    # unless its ID is another row's too (`_LEFT_OUT_UNLOGGED`).
    "leads": lambda n, tab, listed: ngettext(
        "{n} lead with errors in {tab} is left out of lead scoring, conversion, the Dashboard, campaigns and "
        "segments until fixed (its status changes are still logged in Lead Status History): {listed}.",
        "{n} leads with errors in {tab} are left out of lead scoring, conversion, the Dashboard, campaigns and "
        "segments until fixed (their status changes are still logged in Lead Status History): {listed}.", n,
        tab=tab, listed=listed),
    "opportunities": lambda n, tab, listed: ngettext(
        "{n} opportunity with errors in {tab} is left out of the pipeline, forecast and KPIs, the Accounts "
        "Overview, campaigns and segments until fixed (its stage changes are still logged in Stage History): "
        "{listed}.",
        "{n} opportunities with errors in {tab} are left out of the pipeline, forecast and KPIs, the Accounts "
        "Overview, campaigns and segments until fixed (their stage changes are still logged in Stage History): "
        "{listed}.", n, tab=tab, listed=listed),
    "activities": lambda n, tab, listed: ngettext(
        "{n} activity with errors in {tab} is left out of Last Activity, rotting, First Response, lead scoring, "
        "the Dashboard, the Accounts Overview and workflows until fixed: {listed}.",
        "{n} activities with errors in {tab} are left out of Last Activity, rotting, First Response, lead "
        "scoring, the Dashboard, the Accounts Overview and workflows until fixed: {listed}.", n, tab=tab,
        listed=listed),
    "tasks": lambda n, tab, listed: ngettext(
        "{n} task with errors in {tab} is left out of Next Step, overdue tasks on the Dashboard, the Accounts "
        "Overview and the digest until fixed: {listed}.",
        "{n} tasks with errors in {tab} are left out of Next Step, overdue tasks on the Dashboard, the Accounts "
        "Overview and the digest until fixed: {listed}.", n, tab=tab, listed=listed),
    "products": lambda n, tab, listed: ngettext(
        "{n} product with errors in {tab} is left out of quotes and the Accounts Overview until fixed: {listed}.",
        "{n} products with errors in {tab} are left out of quotes and the Accounts Overview until fixed: "
        "{listed}.", n, tab=tab, listed=listed),
    "quote_lines": lambda n, tab, listed: ngettext(
        "{n} quote line with errors in {tab} holds back its deal's quote and is left out of the Accounts "
        "Overview until fixed: {listed}.",
        "{n} quote lines with errors in {tab} hold back their deals' quotes and are left out of the Accounts "
        "Overview until fixed: {listed}.", n, tab=tab, listed=listed),
    "campaigns": lambda n, tab, listed: ngettext(
        "{n} campaign with errors in {tab} gets no figures until fixed: {listed}.",
        "{n} campaigns with errors in {tab} get no figures until fixed: {listed}.", n, tab=tab, listed=listed),
    "cases": lambda n, tab, listed: ngettext(
        "{n} case with errors in {tab} is left out of the SLA, the Dashboard, the Accounts Overview and "
        "workflows until fixed: {listed}.",
        "{n} cases with errors in {tab} are left out of the SLA, the Dashboard, the Accounts Overview and "
        "workflows until fixed: {listed}.", n, tab=tab, listed=listed),
    "workflows": lambda n, tab, listed: ngettext(
        "{n} workflow rule with errors in {tab} does not run until fixed: {listed}.",
        "{n} workflow rules with errors in {tab} do not run until fixed: {listed}.", n, tab=tab, listed=listed),
    "segments": lambda n, tab, listed: ngettext(
        "{n} segment with errors in {tab} is not worked out until fixed: {listed}.",
        "{n} segments with errors in {tab} are not worked out until fixed: {listed}.", n, tab=tab,
        listed=listed),
}
# The leads' and deals' warning while their history tab is not read nor written (a column of it
# deleted: `Inputs.history_gone`, said at the tab): no change of theirs is logged, these rows' neither.
_LEFT_OUT_STOPPED: dict[str, tuple[str, Callable[[int, str, str], str]]] = {
    "leads": ("lead_history", lambda n, tab, listed: ngettext(
        "{n} lead with errors in {tab} is left out of lead scoring, conversion, the Dashboard, campaigns and "
        "segments until fixed (no status change is logged while Lead Status History is not read: see its "
        "warning): {listed}.",
        "{n} leads with errors in {tab} are left out of lead scoring, conversion, the Dashboard, campaigns and "
        "segments until fixed (no status change is logged while Lead Status History is not read: see its "
        "warning): {listed}.", n, tab=tab, listed=listed)),
    "opportunities": ("stage_history", lambda n, tab, listed: ngettext(
        "{n} opportunity with errors in {tab} is left out of the pipeline, forecast and KPIs, the Accounts "
        "Overview, campaigns and segments until fixed (no stage change is logged while Stage History is not "
        "read: see its warning): {listed}.",
        "{n} opportunities with errors in {tab} are left out of the pipeline, forecast and KPIs, the Accounts "
        "Overview, campaigns and segments until fixed (no stage change is logged while Stage History is not "
        "read: see its warning): {listed}.", n, tab=tab, listed=listed)),
}
# The leads' and deals' warning when some of the rows left out share their ID with another row:
# their changes are not logged either (engine.history_states: which record changed cannot be
# told, and a history row naming the wrong one would be a wrong fact kept for ever); `unlogged`
# lists those rows. Duplicates come in twos, so n is never 1 here; the singular is grammar.
_LEFT_OUT_UNLOGGED: dict[str, Callable[[int, str, str, str], str]] = {
    "leads": lambda n, tab, listed, unlogged: ngettext(
        "{n} lead with errors in {tab} is left out of lead scoring, conversion, the Dashboard, campaigns and "
        "segments until fixed, and its status changes are not logged in Lead Status History until then "
        "because another row has the same ID ({unlogged}): {listed}.",
        "{n} leads with errors in {tab} are left out of lead scoring, conversion, the Dashboard, campaigns and "
        "segments until fixed (their status changes are still logged in Lead Status History, except those of "
        "{unlogged}: another row has the same ID, so which lead changed cannot be told): {listed}.", n,
        tab=tab, listed=listed, unlogged=unlogged),
    "opportunities": lambda n, tab, listed, unlogged: ngettext(
        "{n} opportunity with errors in {tab} is left out of the pipeline, forecast and KPIs, the Accounts "
        "Overview, campaigns and segments until fixed, and its stage changes are not logged in Stage History "
        "until then because another row has the same ID ({unlogged}): {listed}.",
        "{n} opportunities with errors in {tab} are left out of the pipeline, forecast and KPIs, the Accounts "
        "Overview, campaigns and segments until fixed (their stage changes are still logged in Stage History, "
        "except those of {unlogged}: another row has the same ID, so which opportunity changed cannot be "
        "told): {listed}.", n, tab=tab, listed=listed, unlogged=unlogged),
}
_LISTED = 10


def left_out(table: Table) -> tuple[int, str] | None:
    """The rows of `table` with errors, which nothing computes with: (how many, "ACC-0002 (row
    3), row 7" with at most _LISTED named, the rest counted); None when there are none, or when
    a required column is missing (its error already says no row is read)."""
    if any(c.required and c.field not in table.header.fields for c in table.spec.columns):
        return None
    bad = [r for r in table.rows if r.has_errors]
    return (len(bad), rows_listed(bad)) if bad else None


# The Opportunities columns every figure (KPIs, forecast, pipeline, Dashboard) is made of ->
# whether the tab lacking it is said even with no header looking like it: without Probability
# each deal takes its stage's (by design), so only a header that looks like it (the team's
# probabilities read as their own column) makes the figures other than the team means.
FIGURE_COLUMNS = {"opportunities": {"stage": True, "amount": True, "close_date": True, "probability": False,
                                    "owner": False, "created": False},
                  # The other tabs' columns the KPIs and the Accounts Overview count by. Without
                  # Status no lead reads as converted (but those sheetcrm converted): said always.
                  # The rest only when a header looks like them: a team may keep no Campaign.
                  "leads": {"status": True, "source": False, "campaign": False, "created": False},
                  "accounts": {"status": False},
                  "contacts": {},
                  "activities": {"owner": False, "related": False},
                  "tasks": {"status": False, "owner": False, "related": False}}
# The tabs each place that shows figures is made of: a column not found is said there only
# when the place counts its tab (the forecast counts no lead); and a row with errors is in
# none of their figures (only sound records are computed with), said with them.
KPI_TABS = ("opportunities", "leads", "accounts", "activities", "tasks")
FORECAST_TABS = ("opportunities",)
OVERVIEW_TABS = ("accounts", "contacts", "opportunities", "activities", "tasks")
# The figures of a tab other than Opportunities (whose messages name pipeline, forecast and
# revenue) that a column not found leaves short: (tab, field) -> figures; (tab, None) for a
# required column, without which no row of the tab is read.
_FIGURES: dict[tuple[str, str | None], str] = {
    ("opportunities", None): N_("pipeline, forecast, revenue"),
    ("opportunities", "owner"): N_("the figures per owner"),
    ("opportunities", "created"): N_("average sales cycle"),
    ("leads", None): N_("lead conversion rates, won revenue by campaign, days to convert"),
    ("leads", "status"): N_("lead conversion rates, won revenue by campaign"),
    ("leads", "source"): N_("lead conversion rate by source"),
    ("leads", "campaign"): N_("lead conversion rate and won revenue by campaign"),
    ("leads", "created"): N_("days to convert"),
    ("accounts", None): N_("churn rate, lifetime value, the Accounts Overview"),
    ("accounts", "status"): N_("churn rate, health on the Accounts Overview"),
    ("contacts", None): N_("contacts on the Accounts Overview"),
    ("activities", None): N_("activities per owner, last activity and health on the Accounts Overview"),
    ("activities", "owner"): N_("activities per owner"),
    ("activities", "related"): N_("last activity and health on the Accounts Overview"),
    ("tasks", None): N_("overdue tasks per owner, next task and health on the Accounts Overview"),
    ("tasks", "status"): N_("overdue tasks per owner, next task and health on the Accounts Overview"),
    ("tasks", "owner"): N_("overdue tasks per owner"),
    ("tasks", "related"): N_("next task and health on the Accounts Overview"),
}


@dataclass(frozen=True)
class UnreadColumn:
    """A column the figures are made of that a tab has not got: the tab's key and title, the
    field, its header in English and in Spanish, the team's header that looks like it (None
    when none does), and whether the column is required (then no row of the tab is read)."""

    key: str
    tab: str
    field: str
    header: str
    header_es: str
    lookalike: str | None
    required: bool

    def to_json(self) -> dict[str, Any]:
        return {"tab": self.key, "column": self.field, "looks_like": self.lookalike, "required": self.required}

    def label(self) -> str:
        return _("Column not found")

    def hint(self) -> str:
        name = self.header_es if current() == "es" else self.header
        return _('Head the column of the {tab} tab "{name}": the Validation tab says where, at that tab\'s header.',
                 tab=self.tab, name=name)

    def message(self) -> str:
        """One line, in the current language, saying the figures are short of this column."""
        name = self.header_es if current() == "es" else self.header
        if self.key != "opportunities" or not self.required and self.field in ("owner", "created"):
            return self._other_message(name)
        if self.required:
            if self.lookalike is not None:
                return _('No column "{name}" was found in {tab} ("{text}" looks like it, but is read as a column '
                         'of your own), so no row of {tab} is read: every figure (pipeline, forecast, revenue) '
                         'counts none of its deals, and those totals are not true.',
                         name=name, tab=self.tab, text=self.lookalike)
            return _('No column "{name}" was found in {tab}, so no row of {tab} is read: every figure (pipeline, '
                     'forecast, revenue) counts none of its deals, and those totals are not true.',
                     name=name, tab=self.tab)
        if self.lookalike is not None:
            return _('No column "{name}" was found in {tab} ("{text}" looks like it, but is read as a column of '
                     'your own): every figure made from {name} (pipeline, forecast, revenue) counts nothing from '
                     'it, and those totals are not true.', name=name, tab=self.tab, text=self.lookalike)
        return _('No column "{name}" was found in {tab}: every figure made from {name} (pipeline, forecast, '
                 'revenue) counts nothing from it, and those totals are not true.', name=name, tab=self.tab)

    def _other_message(self, name: str) -> str:
        """`message` for a column whose figures are not the deals' pipeline, forecast and revenue."""
        figures = _(_FIGURES[(self.key, None if self.required else self.field)])
        if self.required:
            if self.lookalike is not None:
                return _('No column "{name}" was found in {tab} ("{text}" looks like it, but is read as a column '
                         'of your own), so no row of {tab} is read: every figure made from its rows ({figures}) '
                         'counts none of them, and those figures are not true.',
                         name=name, tab=self.tab, text=self.lookalike, figures=figures)
            return _('No column "{name}" was found in {tab}, so no row of {tab} is read: every figure made from '
                     'its rows ({figures}) counts none of them, and those figures are not true.',
                     name=name, tab=self.tab, figures=figures)
        if self.lookalike is not None:
            return _('No column "{name}" was found in {tab} ("{text}" looks like it, but is read as a column of '
                     'your own): every figure made from {name} ({figures}) counts nothing from it, and those '
                     'figures are not true.', name=name, tab=self.tab, text=self.lookalike, figures=figures)
        return _('No column "{name}" was found in {tab}: every figure made from {name} ({figures}) counts nothing '
                 'from it, and those figures are not true.', name=name, tab=self.tab, figures=figures)


@dataclass(frozen=True)
class UnreadTab:
    """A CRM tab the figures are made of that the workbook has not got under its name, while
    another tab's name looks like it (`lookalike`, "Opportunity"), or Opportunities with no
    tab like it (`lookalike` None): no row of it is read. `tab`
    is its title as the team knows it; `header` and `header_es` its titles, which the
    Dashboard's row shows (as `UnreadColumn`'s, whose interface this shares)."""

    key: str
    tab: str
    header: str
    header_es: str
    lookalike: str | None  # None: no tab looks like it
    # The lookalike's headers naming this tab's columns ('"Date", "Type", "Subject"'), when it
    # was found by them (`_tab_with_columns`), not by its name; "" when by its name.
    columns: str = ""
    field: None = None
    required: bool = True

    def label(self) -> str:
        return _("Tab not found")

    def hint(self) -> str:
        if self.lookalike is None:
            return _("Run `sheetcrm init` to add the missing tabs with their headers.")
        if self.columns:
            return _('If "{text}" is it, rename it "{tab}", or map it in sheetcrm.toml: [tabs.{key}] title = '
                     '"{text}".', text=self.lookalike, tab=self.tab, key=self.key)
        return _('If "{text}" is it, rename it "{tab}".', text=self.lookalike, tab=self.tab)

    def to_json(self) -> dict[str, Any]:
        return {"tab": self.key, "column": None, "looks_like": self.lookalike, "required": True}

    def message(self) -> str:
        """One line, in the current language, saying the figures are short of this tab."""
        if self.lookalike is None:
            return _('There is no "{tab}" tab, so every figure made from its rows ({figures}) counts none of them, '
                     'and those figures are not true.', tab=self.tab, figures=_(_FIGURES[(self.key, None)]))
        if self.columns:
            return _('There is no "{tab}" tab ("{text}" is very likely it, its header row having the columns of '
                     '{tab}: {columns}; but it is not read as it, a tab being found by its name), so every figure '
                     'made from its rows ({figures}) counts none of them, and those figures are not true.',
                     tab=self.tab, text=self.lookalike, columns=self.columns, figures=_(_FIGURES[(self.key, None)]))
        return _('There is no "{tab}" tab ("{text}" looks like it, but is not read: a tab is found by its name), so '
                 'every figure made from its rows ({figures}) counts none of them, and those figures are not true.',
                 tab=self.tab, text=self.lookalike, figures=_(_FIGURES[(self.key, None)]))


# init adds no tab beside one that looks like it (`tab_stand_in`), so the hint offers it no more.
LOOKALIKE_TAB_HINT = N_('If "{text}" is it, rename it "{tab}"; else add a tab named "{tab}" (`sheetcrm init` does not, '
                        'beside one that looks like it).')


def _known_titles(titles: list[str], config: Config, owned: set[str]) -> set[str]:
    """The titles of `titles` that are a tab sheetcrm knows by name (a CRM tab, one of its own,
    Rates, Quotas) or carries sheetcrm's mark: none of them is another tab misnamed."""
    names = [n for key, spec in (*TABS.items(), *OPTIONAL_TABS.items())
             for n in tab_names(spec, config.tab(key).title)]
    names += [n for tab in (*OWNED_TABS.values(), RATES, QUOTAS) for n in (tab.title, tab.title_es)]
    keys = {cells.normalize_key(n) for n in names}
    return {t for t in titles if t in owned or cells.normalize_key(t) in keys}


def _tab_lookalike(titles: list[str], names: list[str]) -> str | None:
    """The first of `titles` whose name looks like one of `names`: its singular or plural
    ("Lead", "Opportunity"), the same letters ("Quote-Lines"), or a near spelling."""
    for title in titles:
        key = cells.normalize_key(title)
        for name in map(cells.normalize_key, names):
            if (key in (name + "s", name + "es") or name in (key + "s", key + "es")
                    or name.endswith("ies") and key == name[:-3] + "y"
                    or _squash(key) == _squash(name)
                    or len(name) >= 5 and fuzz.ratio(key, name) >= _TAB_LOOKALIKE_RATIO):
                return title
    return None


def tab_stand_in(snapshot: Snapshot, config: Config, key: str,
                 known: set[str] | None = None) -> tuple[str | None, str]:
    """The tab of `snapshot` sheetcrm does not know by name (`known`: `_known_titles`) that is likely the CRM tab
    `key`, absent under its own name: (title, "") when its name looks like it, (title, its
    headers naming the tab's columns) when its header row does; (None, "") when none is. Shared
    by the read, which says it, and init, which must not add an empty tab beside it: once that
    tab is there, nothing says the team's own is the one holding the records."""
    spec, settings = TABS[key], config.tab(key)
    titles = list(snapshot.tabs)
    if known is None:
        known = _known_titles(titles, config, snapshot.owned)
    others = [t for t in titles if t not in known]
    like = _tab_lookalike(others, tab_names(spec, settings.title))
    if like is not None:
        return like, ""
    held = _tab_with_columns(snapshot, others, key, config)
    return held if held is not None else (None, "")


def _tab_with_columns(snapshot: Snapshot, titles: list[str], key: str, config: Config) -> tuple[str, str] | None:
    """(title, its headers naming the columns of TABS[key], quoted and joined by ", ") of the
    first of `titles` whose header row names every required column of that tab and at least
    _HELD_COLUMNS of its columns but ID (an "Activity Log" headed Date, Type, Subject, Related),
    no fewer of them than of any other CRM tab's: very likely that tab under a name too far from
    its own to look like it. Said, never read as it: the person renames it or maps it in
    sheetcrm.toml. None when no tab is so. A "Clientes" headed Nombre, Dominio, Sector, País,
    Propietario, Estado, Creado names five columns of Leads too, but seven of Accounts: it is
    no more likely Leads than any tab with a Name and a Status, and was said to be both. One
    naming as many of two tabs (Contacts' and Leads' Nombre, Apellido, Empresa, Correo) is said
    of both: either may be it, and saying neither would leave it unread without a word."""
    for title in titles:
        held = {k: _held_columns(snapshot.tabs[title], k, config) for k in TABS}
        mine = held[key]
        if mine is not None and all(other is None or len(other) <= len(mine)
                                    for k, other in held.items() if k != key):
            return title, ", ".join(f'"{text}"' for text in mine.values())
    return None


def _held_columns(grid: Grid, key: str, config: Config) -> dict[str, str] | None:
    """The headers of `grid` naming columns of TABS[key] but ID, when they are every required
    one of it and at least _HELD_COLUMNS; else None."""
    spec, settings = TABS[key], config.tab(key)
    held = {f: text for f, text in header_columns(spec, grid, settings).items() if f != "id"}
    required = {c.field for c in spec.columns if c.required}
    return held if required <= held.keys() and len(held) >= _HELD_COLUMNS else None


# A header row naming this many of a tab's columns (its ID aside) is that tab's, not a
# coincidence of a tab of the team's own with a "Name" and an "Owner".
_HELD_COLUMNS = 3


# As a header's lookalike (`table.LOOKALIKE_RATIO`), a little looser: a tab's name is longer,
# and "Oportunidad" is 83 to "Oportunidades".
_TAB_LOOKALIKE_RATIO = 80


def unread_in(unread: Iterable[UnreadColumn], tabs: tuple[str, ...]) -> list[UnreadColumn]:
    """Those of `unread` whose tab is one of `tabs` (KPI_TABS, FORECAST_TABS, OVERVIEW_TABS)."""
    return [u for u in unread if u.key in tabs]


def amounts_unread(unread: Iterable[UnreadColumn | UnreadTab]) -> bool:
    """Whether no deal's amount is read (no Opportunities tab, no row of it, or no Amount
    column): every money figure of the deals is then unknown, None, never a 0 that reads as
    "nothing won"; the line `unread` holds says why."""
    return any(u.key == "opportunities" and (u.required or u.field == "amount") for u in unread)


def deals_unread(unread: Iterable[UnreadColumn | UnreadTab]) -> bool:
    """Whether no deal is read at all (no Opportunities tab, or a column without which no row of
    it is): how many deals are won, lost, open or rotting is then unknown, None, never a 0 that
    reads as "no deal"; the line `unread` holds says why."""
    return any(u.key == "opportunities" and u.required for u in unread)


def unread_columns(tables: dict[str, Table]) -> list[UnreadColumn]:
    """The FIGURE_COLUMNS the read tabs have not got, then their other required columns they have
    not got (a tab that is absent is said by `missing_tab`), in FIGURE_COLUMNS' order, then the
    tab's: a figure made without one reads 0 and must say so."""
    out = []
    for key, columns in FIGURE_COLUMNS.items():
        table = tables.get(key)
        if table is None:
            continue
        by_field = {c.field: c for c in table.spec.columns}
        # A required column the tab lacks (Account, Name) reads no row of it: every figure counts
        # none of its deals, as without Stage, so it is said wherever they are shown too.
        wanted = {**columns, **{c.field: True for c in table.spec.columns if c.required and c.field not in columns}}
        for name, always in wanted.items():
            column = by_field[name]
            if name in table.header.fields:
                continue
            lookalike = table.header.lookalikes.get(name)
            if always or column.required or lookalike is not None:
                out.append(UnreadColumn(key, table.title, name, column.header, column.header_es, lookalike,
                                        column.required))
    return out


def rows_listed(rows: list[Row]) -> str:
    """How a message lists rows: "ACC-0002 (row 3), row 7", at most _LISTED named, the rest counted."""
    return listed([row_label(r) for r in rows], _LISTED)


def restate_left_out(crm: Crm, key: str) -> None:
    """Tab `key`'s `left_out` warning said again, naming its rows by the IDs this sync handed
    out since the read (steps.ids): said "row 4" by the read, it would say "CON-0003 (row 4)" on
    the next sync, and that sync would rewrite the Validation tab for no change."""
    table, message = crm.tables.get(key), _LEFT_OUT.get(key)
    if table is None or message is None:
        return
    said = next((i for i in crm.report.issues if i.code == "left_out" and i.tab == table.title), None)
    text = _left_out_message(table, message, crm.report, crm.inputs)
    if said is not None and text is not None:
        crm.report.amend(said, replace(said, message=text))


# What a reference's issue may say of the rows it names by their IDs: the IDs offered for a
# Related typed as a name (`_spelled_alike`), the rows a shared name names (`row_label`).
_NAMING_IDS = frozenset({rule[3] for rules in _REFERENCES.values() for rule in rules} | {"ambiguous_reference"})


def restate_references(crm: Crm) -> None:
    """The references' issues said again with the IDs this sync handed out since the read
    (steps.ids): an activity whose Related names an account by its name is offered the
    account's ID, and a name shared by two rows names them by their IDs; read before the
    account had one, the hint would gain it on the next sync, and that sync would rewrite the
    Validation tab for no change. Only the rows with such an issue are looked up again."""
    for key in _REFERENCES:
        table = crm.tables.get(key)
        if table is None:
            continue
        said = {(i.row, i.column): i for i in crm.report.issues if i.tab == table.title and i.code in _NAMING_IDS}
        if not said:
            continue
        rows = {i.row for i in said.values()}
        for new in references_of(crm, key, table, [r for r in table.rows if r.row in rows]):
            old = said.get((new.row, new.column))
            if old is not None and old.code == new.code and (old.message, old.hint) != (new.message, new.hint):
                crm.report.amend(old, replace(old, message=new.message, hint=new.hint))


def _report_left_out(table: Table, message: Callable[[int, str, str], str], report: Report) -> None:
    text = _left_out_message(table, message, report)
    if text is not None:
        report.add(Issue("warning", table.title, None, None, None, None, "left_out", text,
                         _("Fix the cells reported on those rows.")))


def _left_out_message(table: Table, message: Callable[[int, str, str], str], report: Report,
                      inputs: Inputs | None = None) -> str | None:
    """`table`'s left_out warning (None: no row left out), saying which of the rows' changes
    the history does not log: those whose ID another row has too (their duplicate_id errors),
    or all of them while the history tab is not read (`inputs`, once the side tabs are read)."""
    out = left_out(table)
    if out is None:
        return None
    stopped = _LEFT_OUT_STOPPED.get(table.spec.key)
    if stopped is not None and inputs is not None and stopped[0] in inputs.history_gone:
        return stopped[1](out[0], table.title, out[1])
    unlogged_message = _LEFT_OUT_UNLOGGED.get(table.spec.key)
    if unlogged_message is not None:
        twice = {i.row for i in report.issues if i.code == "duplicate_id" and i.tab == table.title}
        unlogged = [r for r in table.rows if r.row in twice]
        if unlogged:
            return unlogged_message(out[0], table.title, out[1], rows_listed(unlogged))
    return message(out[0], table.title, out[1])


# Past this many IDs off the pattern, one line says how many more: an import of thousands of
# numeric IDs is one decision, not thousands of findings.
_ID_PATTERN_CELLS = 3


def _check_unique_ids(table: Table, report: Report, keys: dict[str, str]) -> dict[str, Hits]:
    """Report IDs used twice and IDs off the tab's pattern; return the tab's IDs by match key,
    each with its rows in sheet order (what `build_targets` puts in `Targets.ids`)."""
    ids: dict[str, Hits] = {}
    prefix = table.spec.id_prefix
    assert prefix is not None
    match = id_pattern(prefix).match
    off_pattern: list[Row] = []
    for row in table.rows:
        row_id = row.id
        if row_id is None:
            if blank_text_id(row):
                _cell_issue(report, "warning", table, row, "id", row.raw_id, "id_blank_text",
                            _("The ID cell holds {shown}, which reads as no ID; sheetcrm gives an ID only to a row "
                              "whose ID cell is empty.", shown=cells.quoted(row.raw_id)),
                            _("Clear the cell (Delete), and the next sync gives the row an ID."))
            elif row.id_fixed == ERROR_ID:
                _cell_issue(report, "warning", table, row, "id", row.raw_id, "id_error_value",
                            _("The ID cell shows an error value, not an ID, and sheetcrm never writes over it (the "
                              "row's real ID may be behind it), so this row has no ID and gets none: nothing that goes "
                              "by ID (a history, a reference, a workflow) can name it."),
                            _("Type the row's ID in the cell again: the one it had, so that its history and the "
                              "references to it still find it."))
            elif row.id_fixed == FORMULA_ID and "id" not in row.unread:  # unread: its error is said already
                _cell_issue(report, "warning", table, row, "id", row.raw_id, "id_formula_empty",
                            _("The ID cell holds a formula whose value is empty, and sheetcrm never writes over a "
                              "formula, so this row has no ID and gets none: nothing that goes by ID (a history, a "
                              "reference, a workflow) can name it."),
                            _("Type the row's ID over the formula, or clear the cell (Delete) and the next sync gives "
                              "the row one."))
            continue
        key = keys[row_id]
        same = ids.get(key)
        if same is not None:
            first = entries(same)[0][1]
            # Said at both cells, and the first row is left out as the others are: which of
            # the rows a reference naming that ID means cannot be told (two syncs at once once
            # gave two new leads one ID), so neither takes the other's deals, tasks or history.
            pairs = [(row, first)] if len(entries(same)) > 1 else [(first, row), (row, first)]
            for at, other in pairs:
                _cell_issue(report, "error", table, at, "id", at.raw_id, "duplicate_id",
                            _("The ID {shown} is also used on row {row}.", shown=cells.quoted(at.id),
                              row=other.row),
                            _("Give one of the two rows another ID, or clear it and sheetcrm assigns a new one."))
        _add_hit(ids, key, (row_id, row))
        # An ASCII ID that matches as it is matches as a person reads it (PREFIX-digits has no
        # spacing to canonicalise): canonical_text only for the others.
        if not ((row_id.isascii() and match(row_id)) or match(cells.canonical_text(row_id))):
            off_pattern.append(row)
    if "" in ids:  # an empty ID is no target (build_targets keeps only IDs with text)
        for hit in [(form, row) for form, row in entries(ids.pop("")) if form]:
            _add_hit(ids, "", hit)
    example = f"{prefix}-0001"
    for row in off_pattern[:_ID_PATTERN_CELLS]:
        _cell_issue(report, "warning", table, row, "id", row.raw_id, "id_pattern",
                    _("The ID {shown} does not look like {example}; it is kept as this record's ID and matched "
                      "as typed.", shown=cells.quoted(row.id), example=example),
                    _("Nothing to do if it comes from another system; sheetcrm never changes an ID."))
    if len(off_pattern) > _ID_PATTERN_CELLS:
        more = off_pattern[_ID_PATTERN_CELLS:]
        report.add(Issue("warning", table.title, None, None, None, None, "id_pattern",
                         ngettext("{n} more ID does not look like {example} (row {first}); it is kept and matched "
                                  "as typed.",
                                  "{n} more IDs do not look like {example} (rows {first} to {last}); they are kept "
                                  "and matched as typed.", len(more), example=example,
                                  first=more[0].row, last=more[-1].row),
                         ngettext("Nothing to do if it comes from another system; sheetcrm never changes an ID.",
                                  "Nothing to do if they come from another system; sheetcrm never changes an ID.",
                                  len(more))))
    return ids


def _check_quote_prices(crm: Crm, base: str) -> None:
    """A Quote Lines Unit Price that names its currency ("£4,000", "1000 EUR", a currency number
    format: `QuoteLine.currency`) in conflict with its quote's currency is an error at the cell
    (`currency_conflict`, as an amount beside a Currency cell that says otherwise): a quote
    prices a line's Unit Price as already in its own currency, the opportunity's (blank: the base
    currency; mail/quotes.py), so £4,000 on a quote in USD would go out as $4,000. The line has
    errors, so its quote is blocked until the cell is fixed. A line whose deal is unknown or has
    errors is not checked: that quote is blocked already, and said so."""
    table = crm.tables.get("quote_lines")
    if table is None or "opportunities" not in crm.tables:
        return
    col = table.header.fields.get("unit_price")
    for row in table.rows:
        line = row.target
        if line is None or line.currency is None or line.unit_price is None:  # type: ignore[attr-defined]
            continue
        deals = crm.find("opportunities", line.opportunity)  # type: ignore[attr-defined]
        if len(deals) != 1 or deals[0].record is None:
            continue
        deal = deals[0].record
        quote = deal.currency or base  # type: ignore[attr-defined]
        if line.currency == quote:  # type: ignore[attr-defined]
            continue
        raw = row.cells[col] if col is not None and col < len(row.cells) else line.unit_price  # type: ignore[attr-defined]
        _cell_issue(crm.report, "error", table, row, "unit_price", raw, "currency_conflict",
                    _("{shown} is in {currency}, but the quote for {opportunity} is in {quote}.",
                      shown=cells.quoted(raw), currency=line.currency,  # type: ignore[attr-defined]
                      opportunity=deal.id or deal.name, quote=quote),  # type: ignore[attr-defined]
                    _("Write this line's Unit Price in {quote}, or leave it blank to price the line from the "
                      "product.", quote=quote))


def _check_unique_skus(table: Table | None, report: Report) -> None:
    if table is None:
        return
    seen: dict[str, int] = {}
    for row in table.rows:
        sku = row.target.sku if row.target is not None else _raw_text(table, row, "sku")  # type: ignore[attr-defined]
        if sku is None:
            continue
        key = match_key(sku)
        if key in seen:
            _cell_issue(report, "error", table, row, "sku", sku, "duplicate_sku",
                        _("The SKU {shown} is also used on row {row}.", shown=cells.quoted(sku), row=seen[key]),
                        _("Each product needs its own SKU."))
        else:
            seen[key] = row.row


def _check_blank_tax_rates(table: Table | None, report: Report) -> None:
    """A product whose Tax Rate is blank while another product has a rate above 0 %: the blank
    reads as 0 % (no tax), but among taxed products it is as likely a rate forgotten, and a
    quote would go out without the tax, silently short. A warning at the cell, kept in the
    table's warnings past the report's cap, so every quote priced from that product is blocked
    (`quotes.doubts_of`, `unsure_quote_cell`) until the cell says 0 % or the rate. A tab where
    no product has a rate (a team that charges no tax, or no Tax Rate column) says nothing."""
    if table is None or (col := table.header.fields.get("tax_rate")) is None:
        return
    taxed = next((row for row in table.rows if row.record is not None
                  and (row.record.tax_rate or 0) > 0), None)  # type: ignore[attr-defined]
    if taxed is None:
        return
    example = f"{taxed.record.sku}: {cells.show_number(taxed.record.tax_rate)} %"  # type: ignore[attr-defined]
    for row in table.rows:
        if row.record is None or row.record.tax_rate is not None:  # type: ignore[attr-defined]
            continue
        sku = row.record.sku  # type: ignore[attr-defined]
        issue = Issue("warning", table.title, row.row, column_letter(col + 1), table.header.labels.get(col), None,
                      "blank_tax_rate",
                      _("The Tax Rate of {sku} is blank, which reads as 0 % (no tax), while other products have one "
                        "({example}): it may have been forgotten.", sku=cells.quoted(sku), example=example),
                      _("Write 0% if {sku} is not taxed, or its rate.", sku=cells.quoted(sku)))
        report.add(issue)
        table.warnings.append(issue)


def _check_duplicate_emails(table: Table, report: Report, keys: dict[str, str]) -> None:
    seen: dict[str, int] = {}
    for row in table.rows:
        email = getattr(row.target, "email", None)
        if email is None:
            continue
        key = keys[email]
        if key in seen:
            _cell_issue(report, "warning", table, row, "email", email, "duplicate_email",
                        _("The email {shown} is also on row {row}.", shown=cells.quoted(email), row=seen[key]),
                        _("Merge the two rows if they are the same person."))
        else:
            seen[key] = row.row


def _cell_issue(report: Report, severity: str, table: Table, row: Row, field_name: str, value: Any, code: str,
                message: str, hint: str) -> None:
    """Report a cross-tab problem at its cell. An error leaves the row out of every computation
    like a bad cell does (it stays a reference target): a deal whose Account names no account
    is not counted as if it did."""
    if severity == "error":
        row.record = None
    col = table.header.fields.get(field_name)
    report.add(Issue(severity, table.title, row.row, column_letter(col + 1) if col is not None else None,  # type: ignore[arg-type]
                     table.header.labels.get(col) if col is not None else None, value, code, message, hint))
