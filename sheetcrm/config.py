"""sheetcrm.toml: optional settings, with defaults that work when there is no file.

This module composes the settings each concept owns ([[stages]] in `crm.stages`, [scoring] in
`crm.scoring`, [duplicates] in `crm.duplicates`, [schedule] in `every`, [smtp] in `mail.smtp`,
all on `settings.Section`) with
its own few (tabs, validation, google), and reads the file. Settings flow down: the concepts
never import this module; the code above them hands them their own section or values.
"""

from __future__ import annotations

import ast
import difflib
import math
import os
import re
import tomllib
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, PrivateAttr, ValidationError, ValidationInfo, field_validator, model_validator

from sheetcrm.crm.duplicates import DuplicateSettings
from sheetcrm.crm.cases import CaseSettings, check_zone
from sheetcrm.crm.conversion import ConversionSettings
from sheetcrm.crm.rules import status_words
from sheetcrm.crm.scoring import ScoringSettings
from sheetcrm.crm.segments import SegmentSettings
from sheetcrm.crm.workflows import WorkflowSettings, check_follow_ups
from sheetcrm.crm.follow_ups import FollowUpSettings
from sheetcrm.crm.overview import OverviewSettings
from sheetcrm.crm.stages import DEFAULT_STAGES, Stage
from sheetcrm.every import ScheduleSettings
from sheetcrm.cells import normalize_key, quoted, show_number
from sheetcrm.i18n import N_, _, current, environment_locale, ngettext
from sheetcrm.intake.settings import FormSettings, ServeSettings
from sheetcrm.mail.smtp import SmtpSettings
from sheetcrm.os_errors import os_problem
from sheetcrm.records import LEAD_STATUSES, check_lead_statuses, lead_status_choices
from sheetcrm.settings import HOUR, MINUTE, ConfigError, KeyedProblem, Section, problem, seconds
from sheetcrm.warehouse.settings import WarehouseSettings

__all__ = ["CONFIG_FILE", "DEFAULT_STAGES", "EXAMPLE", "Config", "ConfigError", "CustomField", "DuplicateSettings",
           "GoogleSettings",
           "ScheduleSettings", "ScoringSettings", "SmtpSettings", "Stage", "TabSettings", "ValidationSettings",
           "load_config"]

CONFIG_FILE = "sheetcrm.toml"


class CustomField(Section):
    type: Literal["text", "number", "money", "integer", "percent", "date", "bool", "email", "enum"] = "text"
    values: list[str] = []

    @model_validator(mode="after")
    def _enum_has_values(self) -> "CustomField":
        if self.type == "enum" and not self.values:
            raise ValueError(_("an enum custom field needs `values`"))
        if self.values and self.type != "enum":
            # { values = [...] } without its type read as text, its values never checked.
            raise ValueError(_('`values` are for an enum custom field, and this one is {type}; write type = "enum" '
                               'to keep its cells to them, or remove `values`', type=self.type))
        return self


class TabSettings(Section):
    title: str | None = None
    # canonical header -> the header this team uses, e.g. {"Amount" = "Deal size"}
    headers: dict[str, str] = {}
    custom_fields: dict[str, CustomField] = {}


class ValidationSettings(Section):
    max_issues: int = Field(default=1000, ge=1, le=1_000_000)


class GoogleSettings(Section):
    # 429, 5xx, timeouts and resets are retried with full-jitter backoff, this many attempts in all.
    attempts: int = Field(default=6, ge=1, le=20)
    backoff_seconds: float = seconds(1.0, MINUTE)
    max_backoff_seconds: float = seconds(32.0, HOUR)
    # How long one attempt may wait for Google between bytes (and to connect) before it counts
    # as a timeout and is retried: without it a connection that went silent (a suspend, a NAT
    # or proxy dropping it) held the request, and `sheetcrm run` with it, for ever. The default is
    # past Google's own limit (a request it processes for more than 180 s is answered with a
    # timeout error), so a slow answer Google is still working on is never cut short.
    timeout_seconds: float = seconds(190.0, HOUR)

    @model_validator(mode="after")
    def _ordered(self) -> "GoogleSettings":
        if self.max_backoff_seconds < self.backoff_seconds:
            raise KeyedProblem("max_backoff_seconds", _("must be at least backoff_seconds"))
        return self


MIXED_WORKFLOWS = N_("two forms of workflow rules in one file: write either [[workflows]] (with [workflow_settings]) "
                     "or [workflows] with [[workflows.rules]], not both")


class Config(Section):
    workbook: str | None = None
    spreadsheet: str | None = None
    credentials: str | None = None
    # The team's language, what sheetcrm writes and says. When the file sets none, the
    # environment's (SHEETCRM_LANG, LANG…), as every line before the config is loaded says it
    # (docs/i18n.md), so a Spanish user with no config is not answered in English; a workbook's
    # own tab titles decide before it (validate.team_config). Only a `locale` the file sets
    # settles how cells read (README, rules 4-6): the environment never changes a value.
    locale: Literal["en", "es"] = Field(default_factory=environment_locale)
    # The language the workbook's CRM tab titles are in, when the file sets no locale and
    # team_config found one ("es"/"en"); the reading falls back on it (rule 5), else on "en".
    _titles_locale: str | None = PrivateAttr(default=None)
    currency: str = "USD"
    # The team's time zone (an IANA name): the sync's day, and the day of every moment it dates
    # (sheetcrm.team_time). None: `[cases] timezone`, else the machine's local zone.
    timezone: str | None = None
    stages: list[Stage] = Field(default_factory=lambda: [s.model_copy() for s in DEFAULT_STAGES])
    tabs: dict[str, TabSettings] = {}
    validation: ValidationSettings = ValidationSettings()
    google: GoogleSettings = GoogleSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    forecast_months: int = Field(default=6, ge=1, le=36)
    # The month (1–12) the team's fiscal year starts: the quarters of pipeline coverage count from it.
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    scoring: ScoringSettings = Field(default_factory=ScoringSettings)
    conversion: ConversionSettings = Field(default_factory=ConversionSettings)
    smtp: SmtpSettings = SmtpSettings()
    duplicates: DuplicateSettings = Field(default_factory=DuplicateSettings)
    # Owner (as typed in the Owner columns) -> the address their morning digest goes to.
    owners: dict[str, str] = {}
    # A folder of Jinja templates that override the built-in ones by file name.
    templates: str | None = None
    # Other words for a lead status (another CRM's "Attempted to Contact"): status -> its words,
    # read wherever a Status is (the Leads tab, an import), as a stage's `aliases` are.
    lead_statuses: dict[str, list[str]] = {}
    # Web forms whose responses become leads: name -> its tab and questions (sheetcrm.intake.settings).
    forms: dict[str, FormSettings] = {}
    # `sheetcrm serve`'s website form (sheetcrm.intake.settings.ServeSettings).
    serve: ServeSettings = Field(default_factory=ServeSettings)
    # Workflow rules beside the Workflows tab's, and how often one may fire per record (crm.workflows).
    workflows: WorkflowSettings = Field(default_factory=WorkflowSettings)
    # After-sales cases: SLA times per priority, business hours (crm.cases).
    cases: CaseSettings = Field(default_factory=CaseSettings)
    # Follow-up sequences a workflow rule starts ("start sequence"): name -> its steps (crm.follow_ups).
    follow_ups: dict[str, FollowUpSettings] = {}
    # Named segments beside the Segments tab's: name -> record and condition (crm.segments).
    segments: dict[str, SegmentSettings] = {}
    # The Accounts Overview: health weights and the suggested products' thresholds (crm.overview).
    overview: OverviewSettings = Field(default_factory=OverviewSettings)
    # The warehouse mirror (sheetcrm.warehouse): absent, no mirror; `[warehouse]` alone, SQLite's crm.db.
    warehouse: WarehouseSettings | None = None

    @field_validator("forms")
    @classmethod
    def _one_form_per_tab(cls, v: dict[str, FormSettings]) -> dict[str, FormSettings]:
        # Two forms over one tab handled each response twice: two activities, and for a person
        # with no email two leads, the second's ID over the first's in the Lead cell.
        seen: dict[str, str] = {}
        for name, form in v.items():
            other = seen.setdefault(normalize_key(form.tab), name)
            if other != name:
                raise KeyedProblem(f"{name}.tab", _(
                    'the form {other} reads the tab "{tab}" already: each response would become a lead twice; '
                    'keep one [forms.<name>] section per tab', other=other, tab=form.tab))
        return v

    @field_validator("lead_statuses")
    @classmethod
    def _lead_status_words(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        try:
            return check_lead_statuses(v)
        except KeyError as e:
            raise KeyedProblem(str(e.args[0]), _(
                "{key} is not a lead status; the statuses are {statuses}", key=quoted(e.args[0]),
                statuses=", ".join(LEAD_STATUSES))) from None
        except ValueError as e:
            word, other = e.args
            raise ValueError(_("{word} is a word of the lead status {status} already; a word reads as one status",
                               word=quoted(word), status=other)) from None

    @field_validator("follow_ups")
    @classmethod
    def _follow_up_steps(cls, v: dict[str, FollowUpSettings]) -> dict[str, FollowUpSettings]:
        return dict(check_follow_ups(v))  # the workflows know which actions a step may take
    # Where the file came from, for messages; not a setting.
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _workflows_form(cls, data: Any) -> Any:
        """`[[workflows]]`, an array of rules with the settings under `[workflow_settings]`, is
        the short form of `[workflows]` with `[[workflows.rules]]` (TOML cannot make one key both
        a table and an array); a file uses one form or the other, never both."""
        if not isinstance(data, dict):
            return data
        flows, settings = data.get("workflows"), data.get("workflow_settings")
        if isinstance(flows, list):
            if any(isinstance(rule, dict) and "rules" in rule for rule in flows):
                raise KeyedProblem("workflows", _(MIXED_WORKFLOWS))
            if settings is not None and not isinstance(settings, dict):
                raise KeyedProblem("workflow_settings", _("must be a table ([workflow_settings])"))
            if settings and "rules" in settings:
                raise KeyedProblem("workflow_settings.rules", _(MIXED_WORKFLOWS))
            rest = {k: v for k, v in data.items() if k != "workflow_settings"}
            return {**rest, "workflows": {**(settings or {}), "rules": flows}}
        if settings is not None:
            raise KeyedProblem("workflow_settings", _(MIXED_WORKFLOWS))
        return data

    @field_validator("workbook")
    @classmethod
    def _xlsx_name(cls, path: str | None) -> str | None:
        from sheetcrm.workbook import xlsx_name

        return xlsx_name(path)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str | None) -> str | None:
        return None if name is None else check_zone(name)

    @model_validator(mode="after")
    def _one_workbook(self) -> "Config":
        # Both set, the spreadsheet won and the workbook was ignored with no word: a
        # `workbook = "test.xlsx"` added to try something synced the team's Google sheet instead.
        if self.workbook is not None and self.spreadsheet is not None:
            raise KeyedProblem("spreadsheet", _(
                "workbook = {workbook} names another workbook, and a command works on one: keep one of the "
                "two keys (--workbook or --spreadsheet picks one for a single command)",
                workbook=quoted(self.workbook)))
        return self

    @model_validator(mode="after")
    def _one_zone(self) -> "Config":
        """`[cases] timezone` is the team's zone's older place, kept working: a case's times and
        the sync's day are read in one zone (a case is measured at the start of the team's day),
        so two different zones would leave one of them wrong; the file names one."""
        cases = self.cases.timezone
        if self.timezone is not None and cases is not None and cases != self.timezone:
            raise KeyedProblem("cases.timezone", _(
                '"{cases}" is not the team\'s time zone "{zone}" (the top-level timezone): a case\'s times are read '
                'in the team\'s zone; remove this one, or write the same zone in both', cases=cases, zone=self.timezone))
        return self

    @model_validator(mode="after")
    def _scoring_statuses(self) -> "Config":
        # After the fields: `[lead_statuses]` is read after `[scoring]`, and a rule's Status word
        # may be one it gives. A word of no status would be a rule that never gives its points.
        try:
            status_words(self.scoring.rules, lead_status_choices(self.lead_statuses))
        except ValueError as e:
            raise KeyedProblem("scoring", str(e)) from None
        return self

    def zone_name(self) -> str | None:
        """The team's time zone (sheetcrm.team_time): `timezone`, else `[cases] timezone`; None:
        the machine's local zone."""
        return self.timezone or self.cases.timezone

    @field_validator("currency")
    @classmethod
    def _currency_code(cls, v: str) -> str:
        from babel.numbers import list_currencies

        code = v.strip().upper()
        if code not in list_currencies():
            raise ValueError(_("unknown currency code {code}", code=quoted(v)))
        return code

    @field_validator("stages")
    @classmethod
    def _stages_sane(cls, stages: list[Stage]) -> list[Stage]:
        if not stages:
            raise ValueError(_("at least one stage is needed"))
        from sheetcrm.cells import enum_choices

        try:
            enum_choices({s.name: s.aliases for s in stages})
        except ValueError as e:
            raise ValueError(_("stage names and aliases must be unique: {problem}", problem=e)) from None
        # Probability is in points (0–100). Every stage at 1 or below with one between 0 and 1 is
        # fractions written for points (0.75 for 75 %): read as points, the weighted pipeline
        # would be a hundredth of the team's, with nothing said.
        if all(s.probability <= 1 for s in stages):
            for number, s in enumerate(stages, 1):
                if 0 < s.probability < 1:
                    value, points = f"{s.probability:g}", f"{s.probability * 100:g}"  # as TOML writes them
                    # "0.5 is 0.5 %": the value as the file has it, the percentage as the
                    # language writes it (0,5 % in Spanish).
                    raise KeyedProblem(f"{number}.probability", _(
                        "probabilities are points: {value} is {percent} %; write {points} for {points} %",
                        value=value, percent=show_number(s.probability), points=points))
        # A won deal is certain and a lost one is gone: the README's totals, the Forecast's
        # closed won and the warehouse's weighted_amount assume 100 and 0, so a won stage at 50
        # would weigh won revenue at half with nothing said.
        for number, s in enumerate(stages, 1):
            wanted_points = {"won": 100, "lost": 0}.get(s.kind)  # not for people: kind keys
            if wanted_points is not None and s.probability != wanted_points:
                raise KeyedProblem(f"{number}.probability", _(
                    "stage {stage} is {kind}, so its probability must be {wanted}, not {given}",
                    stage=quoted(s.name), kind=s.kind, wanted=wanted_points, given=format(s.probability, "g")))
        # A closed deal is no longer forecast: won revenue is Closed and a lost deal Omitted
        # whatever a stage declares (crm.stages.forecast_category), so a stage declaring otherwise
        # would be silently not obeyed; and Closed on an open stage would count open deals as won.
        for s in stages:
            wanted = {"won": "Closed", "lost": "Omitted"}.get(s.kind)  # not for people: category keys
            if "forecast_category" not in s.model_fields_set:
                continue  # a won or lost stage needs none: the engine knows its category
            if (wanted is not None and s.forecast_category != wanted) or (
                    wanted is None and s.forecast_category == "Closed"):  # not for people: a category key
                raise ValueError(_("stage {stage} is {kind}, so its forecast_category must be {wanted}, not {given}",
                                   stage=quoted(s.name), kind=s.kind, wanted=wanted or _("any but Closed"),
                                   given=s.forecast_category))
        return stages

    @field_validator("tabs")
    @classmethod
    def _known_tabs(cls, tabs: dict[str, TabSettings]) -> dict[str, TabSettings]:
        from sheetcrm.schema import OPTIONAL_TABS, TABS

        TABS = {**TABS, **OPTIONAL_TABS}  # noqa: N806  # the optional tabs (Cases) may be renamed too
        for key in tabs:
            if key not in TABS:
                raise ValueError(_("unknown tab {tab}; expected one of {tabs}", tab=quoted(key), tabs=", ".join(TABS)))
        _check_titles(tabs)
        for key, settings in tabs.items():
            settings.headers = _check_headers(key, settings)
        return tabs

    @field_validator("owners")
    @classmethod
    def _owner_addresses(cls, owners: dict[str, str]) -> dict[str, str]:
        from sheetcrm.cells import CellError, parse_email
        from sheetcrm.crm.spellings import key as owner_key

        seen: dict[str, str] = {}
        for name, address in owners.items():
            # An Owner cell is matched ignoring case and spaces, so "Ana" and "ana" are one owner:
            # one digest went to the first address and was held back from the other as sent, and
            # a workflow's email to her found no address.
            other = seen.setdefault(owner_key(name), name)
            if other != name:
                raise KeyedProblem(name, _("{name} and {other} are one owner (names compare ignoring case and "
                                           "spaces), listed twice; keep one of them",
                                           name=quoted(name), other=quoted(other)))
            try:
                parse_email(address)
            except CellError as e:
                raise ValueError(f"{name}: {e.message}") from None
        return owners

    @field_validator("scoring")
    @classmethod
    def _scoring_columns(cls, scoring: ScoringSettings, info: ValidationInfo) -> ScoringSettings:
        # Rules may name the team's own Leads columns, but only ones declared as custom fields.
        leads = (info.data.get("tabs") or {}).get("leads")
        scoring.check_columns(leads.custom_fields if leads else {})
        return scoring

    def reading_locale(self) -> str:
        """The convention ("en"/"es") a column falls back on when neither its cells nor its tab
        settle it: the file's `locale`, else the workbook titles' language, else "en" (README,
        rules 4-6); never the environment's, so one workbook reads the same on every machine."""
        if "locale" in self.model_fields_set:
            return self.locale
        return self._titles_locale or "en"

    def tab(self, key: str) -> TabSettings:
        return self.tabs.get(key) or TabSettings()


def _check_titles(tabs: dict[str, TabSettings]) -> None:
    """A tab title may not be another tab's name: the tabs are found by name, and two CRM tabs
    read from one sheet would write one tab's columns into the other."""
    from sheetcrm.cells import normalize_key
    from sheetcrm.schema import OPTIONAL_TABS, OWNED_TABS, QUOTAS, RATES, TABS, owned_tab_names

    TABS = {**TABS, **OPTIONAL_TABS}  # noqa: N806
    locale = current()
    owner: dict[str, str] = {}  # normalized name -> the tab it belongs to, as people know it
    for spec in TABS.values():
        for name in (spec.title, spec.title_es, *spec.aliases):
            owner.setdefault(normalize_key(name), _("the {tab} tab", tab=spec.display_title(locale)))
    for tab in (*OWNED_TABS.values(), RATES, QUOTAS):
        for name in owned_tab_names(tab):
            owner.setdefault(normalize_key(name), _("sheetcrm's {tab} tab", tab=tab.display_title(locale)))
    chosen: dict[str, str] = {}
    for key, settings in tabs.items():
        if settings.title is None:
            continue
        name = normalize_key(settings.title)
        if not name:
            raise KeyedProblem(f"{key}.title", _("is empty"))
        mine = _("the {tab} tab", tab=TABS[key].display_title(locale))
        if owner.get(name, mine) != mine:
            raise KeyedProblem(f"{key}.title", _("{title} is the name of {owner}; give {key} a title of its own",
                                                 title=quoted(settings.title), owner=owner[name], key=key))
        if name in chosen:
            raise KeyedProblem(f"{key}.title", _("{title} is also the title of {other}", title=quoted(settings.title),
                                                 other=chosen[name]))
        chosen[name] = key


def _check_headers(key: str, settings: TabSettings) -> dict[str, str]:
    """`headers` with each key made the column's canonical header (so "Importe" works as well as
    "Amount"); an unknown column, or a header that already means another column, is an error."""
    from sheetcrm.cells import normalize_key
    from sheetcrm.schema import OPTIONAL_TABS, TABS

    spec = TABS.get(key) or OPTIONAL_TABS[key]
    means: dict[str, str] = {}  # normalized built-in header or alias -> canonical header
    for column in spec.columns:
        for name in (column.header, column.header_es, *column.aliases):
            means.setdefault(normalize_key(name), column.header)
    for computed in spec.computed:
        for name in (computed.header, computed.header_es):
            means.setdefault(normalize_key(name), computed.header)
    # Messages name a column by its header in the current language (either is accepted).
    spanish = current() == "es"
    shown = {c.header: c.header_es if spanish else c.header for c in (*spec.columns, *spec.computed)}
    out: dict[str, str] = {}
    theirs_seen: dict[str, str] = {}
    for canonical, theirs in settings.headers.items():
        where = f"{key}.headers.{canonical}"
        column = means.get(normalize_key(canonical))
        if column is None or column not in {c.header for c in spec.columns}:
            known = ", ".join(shown[c.header] for c in spec.columns)
            raise KeyedProblem(where, _("unknown column {column}; the {tab} columns are {known}",
                                        column=quoted(canonical), tab=spec.display_title(current()), known=known))
        if column in out:
            raise KeyedProblem(where, _("the {column} column is renamed twice", column=shown[column]))
        name = normalize_key(theirs)
        if not name:
            raise KeyedProblem(where, _("the header is empty"))
        if means.get(name, column) != column:
            raise KeyedProblem(where, _("{header} already means the {column} column", header=quoted(theirs),
                                        column=shown[means[name]]))
        if name in theirs_seen:
            raise KeyedProblem(where, _("{header} is also the header of {column}", header=quoted(theirs),
                                        column=shown[theirs_seen[name]]))
        theirs_seen[name] = column
        out[column] = theirs
    declared: dict[str, str] = {}
    for field_name in settings.custom_fields:
        name = normalize_key(field_name)
        # Headers compare ignoring case and spaces, so "Budget" and "budget " are one column:
        # the later declaration's type won, the other one ignored with no word.
        other = declared.setdefault(name, field_name)
        if other != field_name:
            raise KeyedProblem(f"{key}.custom_fields.{field_name}",
                               _("{header} and {other} are one column (headers compare ignoring case, accents and "
                                 "spaces), declared twice; keep one of them", header=quoted(field_name),
                                 other=quoted(other)))
        taken = theirs_seen.get(name) or means.get(name)
        if taken is not None:
            raise KeyedProblem(f"{key}.custom_fields.{field_name}",
                               _("a column headed {header} is read as the {column} column; rename the custom field "
                                 "or the header", header=quoted(field_name), column=shown[taken]))
    return out


def _non_finite(data: Any, path: str = "") -> str | None:
    """The key of the first inf or nan in the parsed TOML (TOML has both literals), a list's
    entries numbered from 1 as every config message numbers them."""
    if isinstance(data, float) and not math.isfinite(data):
        return path or _("(top level)")
    items = data.items() if isinstance(data, dict) else enumerate(data, 1) if isinstance(data, list) else ()
    for k, v in items:
        found = _non_finite(v, f"{path}.{k}" if path else str(k))
        if found:
            return found
    return None


def _nul(data: Any, path: str = "") -> str | None:
    """The key of the first key or text holding a NUL (TOML's "\\u0000"), numbered as `_non_finite`."""
    if isinstance(data, str) and "\x00" in data:
        return path or _("(top level)")
    items = data.items() if isinstance(data, dict) else enumerate(data, 1) if isinstance(data, list) else ()
    for k, v in items:
        key = f"{path}.{k}" if path else str(k)
        found = key if "\x00" in str(k) else _nul(v, key)
        if found:
            return found
    return None


def read_toml(file: Path) -> dict[str, Any]:
    """The TOML document in `file` (the config, a fleet file); ConfigError, one line naming the
    file, when it cannot be read or is not TOML."""
    try:
        # utf-8-sig: Notepad and some editors save a BOM, which TOML itself does not allow.
        data = tomllib.loads(file.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ConfigError(_("{file}: cannot read: it is not UTF-8 text (byte {position})", file=file,
                            position=e.start + 1)) from None
    except OSError as e:
        raise ConfigError(_("{file}: cannot read: {problem}", file=file, problem=os_problem(e))) from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(_("{file}: not valid TOML: {problem}", file=file, problem=_toml_problem(e))) from None
    # No file name, address or word of a setting holds a NUL: a path holding one (workbook,
    # credentials) made the command end in a traceback ("embedded null byte").
    if bad := _nul(data):
        raise ConfigError(_("{file}: {key}: holds a NUL character (\\u0000), which no setting can hold; remove it",
                            file=file, key=bad))
    return data


def load_config(path: str | Path | None = None) -> Config:
    """Read `path`, or ./sheetcrm.toml when it exists, or use the defaults."""
    explicit = path is not None
    file = Path(path) if explicit else Path(CONFIG_FILE)
    if not file.exists():
        if file.is_symlink():
            # A link whose target is gone (a config mounted by a link, the mount missing): taken
            # for no file, every command ran on the defaults, another locale, currency and stages.
            raise ConfigError(_("{file}: cannot read: it links to {target}, which does not exist", file=file,
                                target=os.readlink(file)))
        if explicit:
            raise ConfigError(_("{file}: no such config file", file=file))
        return Config()
    data = read_toml(file)
    bad = _non_finite(data)
    if bad:
        raise ConfigError(_("{file}: {key}: must be a finite number, not inf or nan", file=file, key=bad))
    try:
        # strict: a TOML value has its own type, so "30" for a number is a mistake, not a number.
        config = Config.model_validate(data, strict=True)
    except ValidationError as e:
        # A rule written as [[workflows]] is named as written: workflows.1.when, not workflows.rules.1.when.
        raise ConfigError(f"{file}: {_one_line(e, short_workflows=isinstance(data.get('workflows'), list), data=data)}"
                          ) from None
    config.source = file
    return config


def _one_line(e: ValidationError, short_workflows: bool = False, data: Any = None) -> str:
    """The first problem as `key: problem`, and how many more there are, in the current
    language (`settings.problem`). An unknown key beside a missing one in the same section goes
    first: the typo (`feilds`) is why the key it meant (`fields`) is missing."""
    errors = e.errors()
    missing = {x["loc"][:-1] for x in errors if x["type"] == "missing"}
    err = next((x for x in errors if x["type"] == "extra_forbidden" and x["loc"][:-1] in missing), errors[0])
    loc = _written(err["loc"], short_workflows)
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, KeyedProblem):
        loc.append(error.key)
    key = ".".join(loc) or _("(top level)")
    said = problem(err)
    if err["type"] == "extra_forbidden":
        # A key the section already has is no key a misspelt one was meant to be.
        there = _section(data, loc[:-1])
        said = _unknown_key(str(err["loc"][-1]), _keys_at(Config, err["loc"][:-1]), there, said)
    line = _("{key}: {problem}", key=key, problem=said)
    others = [x for x in errors if x is not err]
    if others:
        # Named, not counted: "(and 1 more)" after a list of types read as one type more.
        shown = ", ".join(".".join(_written(x["loc"], short_workflows)) or _("(top level)")
                          for x in others[:_OTHERS_NAMED])
        if len(others) > _OTHERS_NAMED:
            shown = _("{keys}…", keys=shown)
        line = ngettext("{line} (and {n} more problem, at {keys})", "{line} (and {n} more problems, at {keys})",
                        len(others), line=line, keys=shown)
    return line


def _written(loc: tuple[Any, ...], short_workflows: bool) -> list[str]:
    """pydantic's path to a problem as the file writes its key: a list's entries by their number
    from 1, as people count the [[stages]] tables (TOML keys are strings, so an int in the path is
    always a list index); rules written as [[workflows]] as workflows.1, not workflows.rules.1."""
    parts = [str(p + 1) if isinstance(p, int) else str(p) for p in loc]
    if short_workflows and parts[:2] == ["workflows", "rules"]:
        return ["workflows", *parts[2:]]
    if short_workflows and parts[:1] == ["workflows"]:
        return ["workflow_settings", *parts[1:]]
    return parts


def _section(data: Any, parts: list[str]) -> Any:
    """The table of the file's `data` at the written key `parts` (`_written`); {} when there is none."""
    for part in parts:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and 0 < int(part) <= len(data):
            data = data[int(part) - 1]
        else:
            return {}
    return data if isinstance(data, dict) else {}


# How many of a config's other problems its error line names by their keys.
_OTHERS_NAMED = 3
# A section of at most this many keys is listed whole after an unknown key in it.
_KEYS_LISTED = 12


def _keys_at(model: Any, loc: tuple[Any, ...]) -> list[str]:
    """The keys the config section at `loc` (pydantic's path from the top) takes; [] when the path
    leads to no section of named keys (a table of the team's own names: tabs, owners)."""
    kind: Any = model
    for part in (*loc, None):
        kind = next((a for a in (get_args(kind) if get_origin(kind) in (Union, UnionType) else (kind,))
                     if a is not type(None)), kind)
        if part is None:
            break
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            found = next((f for name, f in kind.model_fields.items() if part in _names_of(name, f)), None)
            if found is None:
                return []
            kind = found.annotation
        elif get_origin(kind) in (dict, list):
            kind = get_args(kind)[-1]
        else:
            return []
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return [_names_of(name, f)[0] for name, f in kind.model_fields.items()]
    return []


def _names_of(name: str, info: Any) -> list[str]:
    """The keys a config file may write a field by, the one its docs use first ([scoring.grades]
    `A`, whose field is `a`)."""
    choices = getattr(info.validation_alias, "choices", [info.validation_alias])
    return [*(c for c in choices if isinstance(c, str)), *([info.alias] if info.alias else []), name]


def _unknown_key(name: str, keys: list[str], there: Any, said: str) -> str:
    """"unknown key" with the key it is likely a misspelling of (none the table `there` has
    already), else the section's keys when they are few."""
    close = difflib.get_close_matches(name, [k for k in keys if k not in there], n=1, cutoff=0.6)
    if close:
        return _("{problem}; did you mean {key}?", problem=said, key=quoted(close[0]))
    if keys and len(keys) <= _KEYS_LISTED:
        return _("{problem}; this section takes {keys}", problem=said, keys=", ".join(keys))
    return said


# tomllib explains in English only; its explanations are catalogue entries whose English text is
# the library's own, found by that text (the rest, naming a key or a character, stay as said).
_TOML_PROBLEMS = frozenset({
    N_("Cannot overwrite a value"), N_("Expected '=' after a key in a key/value pair"),
    N_("Expected ']' at the end of a table declaration"), N_("Expected ']]' at the end of an array declaration"),
    N_("Expected newline or end of document after a statement"), N_("Invalid date or datetime"),
    N_("Invalid initial character for a key part"), N_("Invalid statement"), N_("Invalid value"),
    N_("Unclosed array"), N_("Unclosed inline table"), N_("Unterminated string"), N_("Invalid hex value"),
    N_("Unescaped '\\' in a string"), N_("Escaped character is not a Unicode scalar value"),
})
# Those that name a character or a key, by their English shape: the catalogue's phrase around
# the name tomllib gives (a string left open ends at "Illegal character '\n'", two [smtp]
# tables are "Cannot declare ('smtp',) twice").
_TOML_NAMING = (
    (re.compile(r"Illegal character (?P<name>.+)", re.DOTALL), N_("Illegal character {name}")),
    (re.compile(r"Found invalid character (?P<name>.+)", re.DOTALL), N_("Found invalid character {name}")),
    (re.compile(r"Cannot declare (?P<name>.+) twice", re.DOTALL), N_("Cannot declare {name} twice")),
    (re.compile(r"Duplicate inline table key (?P<name>.+)", re.DOTALL), N_("Duplicate inline table key {name}")),
    (re.compile(r"Cannot redefine namespace (?P<name>.+)", re.DOTALL), N_("Cannot redefine namespace {name}")),
    (re.compile(r"Cannot mutate immutable namespace (?P<name>.+)", re.DOTALL),
     N_("Cannot mutate immutable namespace {name}")),
    (re.compile(r"Expected (?P<name>'.*')", re.DOTALL), N_("Expected {name}")),
)
_TOML_PLACE = re.compile(r"(?P<what>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)", re.DOTALL)


def _toml_problem(e: tomllib.TOMLDecodeError) -> str:
    """tomllib's explanation and its place, "(at line 2, column 1)", in the current language."""
    m = _TOML_PLACE.fullmatch(str(e))
    if m is None:
        return str(e)
    what = _(m["what"]) if m["what"] in _TOML_PROBLEMS else m["what"]
    for shape, phrase in _TOML_NAMING:
        if named := shape.fullmatch(m["what"]):
            what = _(phrase, name=_toml_key(named["name"]))
            break
    return _("{problem} (at line {line}, column {column})", problem=what, line=m["line"], column=m["column"])


def _toml_key(name: str) -> str:
    """A key as tomllib names it, a Python tuple ("('smtp', 'host')"), as a person writes it
    ("smtp.host"); anything else as given."""
    try:
        parts = ast.literal_eval(name)
    except (ValueError, SyntaxError):
        return name
    if isinstance(parts, tuple) and parts and all(isinstance(p, str) for p in parts):
        return ".".join(parts)
    return name


# The file `sheetcrm init` writes, its comments in the current language (keys and values are the
# same in every language: tests/test_read_messages.py checks).
EXAMPLE = N_('''\
# sheetcrm.toml: every setting is optional; delete what you do not need.

# Which workbook: a local .xlsx file, or a Google spreadsheet (ID or URL); one of the two.
# The command-line flags --workbook / --spreadsheet win over these.
# workbook = "crm.xlsx"
# spreadsheet = "1AbC...xyz"
# credentials = "service-account.json"   # else $GOOGLE_APPLICATION_CREDENTIALS

# "en" or "es": how numbers ("1,234.50" vs "1.234,50") and dates (month-first vs
# day-first) are read, and how output is written.
locale = "en"

# Summaries (pipeline, forecast, KPIs) are in this currency. Other currencies convert
# through a Rates tab (Currency, Rate = value of 1 unit in this currency), when you add one.
currency = "USD"

# The team's time zone (an IANA name): "today" (case ages and SLAs, due dates, rotting,
# forecast months) is the day there. Without it, the machine's local zone.
# timezone = "America/New_York"

# Forecast this many months ahead, from the current one.
forecast_months = 6

# The month the fiscal year starts (1 = January): the Dashboard's quarters count from it.
# fiscal_year_start = 2

# A folder of quote templates (`sheetcrm quote`) that override templates/quote.html.j2 etc. by
# file name. A top-level key: uncommented below a [section] it would be that section's.
# templates = "my-templates"

[validation]
max_issues = 1000   # the report is marked partial past this many issues

[google]
attempts = 6               # tries per request on 429, 5xx, timeouts and resets
backoff_seconds = 1.0      # full-jitter exponential backoff from this...
max_backoff_seconds = 32.0 # ...up to this (a Retry-After from Google wins)
timeout_seconds = 190.0    # an attempt silent this long (connecting, or between bytes) is a timeout, retried

# `sheetcrm run`: when each job runs ("every 30 seconds", "every 5 minutes", "every 2 hours",
# "every day at 08:00", "every monday at 09:30"). A failing job is retried after its period,
# doubled per failure up to max_backoff_seconds, while the others keep their schedule.
[schedule]
sync = "every 5 minutes"
# outbox = "every 1 minute"       # needs an [smtp] host
# digest = "every day at 08:00"   # needs an [smtp] host and [owners]
# log = "every 15 minutes"        # the Sync Log tab is written at least this often
# max_backoff_seconds = 3600

# Whose morning digest goes where: the Owner name as typed in the sheet -> an address.
# [owners]
# "Ana García" = "ana@example.com"

# The sales stages, in order. probability is in percent; kind is open, won or lost.
[[stages]]
name = "Prospecting"
probability = 10
forecast_category = "Pipeline"
rotting_days = 14
aliases = ["Prospección", "Prospeccion"]

[[stages]]
name = "Qualification"
probability = 20
forecast_category = "Pipeline"
rotting_days = 14
aliases = ["Calificación", "Cualificación"]

[[stages]]
name = "Proposal"
probability = 50
forecast_category = "Best Case"
rotting_days = 10
aliases = ["Propuesta", "Cotización"]

[[stages]]
name = "Negotiation"
probability = 75
forecast_category = "Commit"
rotting_days = 7
aliases = ["Negociación"]

[[stages]]
name = "Closed Won"
probability = 100
kind = "won"
forecast_category = "Closed"
aliases = ["Won", "Ganada", "Ganado", "Cerrada ganada", "Cerrado ganado", "Cierre ganado"]

[[stages]]
name = "Closed Lost"
probability = 0
kind = "lost"
forecast_category = "Omitted"
aliases = ["Lost", "Perdida", "Perdido", "Cerrada perdida", "Cerrado perdido", "Cierre perdido"]

# Quotes by email (`sheetcrm quote`, `sheetcrm outbox send`). $SHEETCRM_SMTP_HOST, _PORT,
# _USER, _PASSWORD, _FROM and _SECURITY win over these; keep the password in the environment.
# The quote's templates folder is `templates`, at the top of this file.
# [smtp]
# host = "smtp.example.com"
# port = 587
# security = "starttls"        # ssl (port 465), starttls (587) or none (25)
# user = "quotes@example.com"
# from = "Example Sales <quotes@example.com>"
# timeout = 30

# Lead scoring. Rules give points on any Leads column (custom fields included, once declared
# under [tabs.leads.custom_fields]); activities add engagement points that halve every
# half_life_days. With >= 50 converted and >= 50 unqualified leads, a learned model takes over.
# Setting `rules` replaces the built-in ones.
# [scoring]
# base = 30
# half_life_days = 30
# engagement = { Meeting = 10, Call = 5, Email = 3, Note = 1 }
# grades = { A = 80, B = 60, C = 40 }
# rules = [
#   { column = "Source", op = "equals", value = "Referral", points = 20 },
#   { column = "Title", op = "contains", values = ["CEO", "VP", "Director"], whole_words = true, points = 15 },
#   { column = "Email", op = "present", points = 5 },
#   { column = "Budget", op = "range", min = 10000, points = 10 },
# ]

# Likely duplicates among Leads, Contacts and Accounts, listed on the Duplicates tab, where
# you tick Merge, Keep or Not duplicates. Scores are 0..1; name similarities in percent.
# country: where a phone without a country code is from, when its row does not say (an ISO
# code such as "ES"); without it such phones are not compared.
# [duplicates]
# enabled = true
# threshold = 0.8
# name_threshold = 90
# company_threshold = 90
# country = "ES"
# max_block = 200

# Lead conversion: a lead whose Status becomes Converted, or whose Convert cell is ticked, becomes
# an account, a contact and (see create_opportunity) an opportunity on the next sync (docs/leads.md).
# [conversion]
# create_opportunity = "when_amount"   # always, never, or when_amount (an Amount, a Budget or a Deal Name)
# close_days = 30                      # the new opportunity's Close Date: the sync's day + this
# activities = "keep"                  # keep them on the lead, move them to the contact, or copy them to it

# Cases (an optional Cases tab): how soon each priority must be answered and solved ("30m", "4h",
# "2d", "1d 4h"), counted in business hours when [cases.business_hours] is set (a day is then one
# business day), else around the clock (docs/cases.md).
# [cases]
# sla.urgent = { response = "1h", resolution = "4h" }
# sla.high = { response = "4h", resolution = "1d" }
# sla.normal = { response = "8h", resolution = "3d" }
# sla.low = { response = "1d", resolution = "5d" }
# [cases.business_hours]
# days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
# start = "09:00"
# end = "17:00"
# holidays = [2026-12-25, 2027-01-01]

# Rename a tab or a header to match your sheet, and type your own columns.
# [tabs.opportunities]
# title = "Deals"
# headers = { "Amount" = "Deal size" }
#
# [tabs.leads.custom_fields]
# "Budget" = { type = "money" }
# "Tier" = { type = "enum", values = ["Gold", "Silver", "Bronze"] }
''')
