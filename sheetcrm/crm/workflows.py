"""Workflows: rules a team writes in its Workflows tab (or `[[workflows.rules]]` in the config)
that act on records unattended, each firing exactly once. Pure: no I/O and no clock; `as_of`
is the day of the sync. docs/workflows.md says what a person sees; this module the rules.

A rule is (Record, When, If, Then) plus the action's arguments (Subject, Due (days), Template,
Assign To, Cap). Its ID (WF-0001) is its identity: editing Name, When, If or Then never
re-fires what it already did, since every firing is journaled under the key
(rule ID, record ID, event) and a key in the Workflow Log never fires again.

What a rule sees of the past is what sheetcrm saw at earlier syncs, kept in the Workflow
State tab (`State`):

* `armed[rule]`: the day of the first sync that saw the rule active and sound. Nothing that
  happened before it fires, so a new rule never floods the records that already exist;
* `checked[rule]`: the last day a sync evaluated the rule. Time triggers (N days after /
  before a date, rotting, a quote unanswered) fire for each due day in
  (checked, as_of] (and on or after `armed`), so a service stopped three days fires each
  missed day's events once when it returns, and a date moved into the past fires nothing. A
  record first seen now has every day from `armed` on: the days evaluated before were
  evaluated without it (a lead a form made today, one typed in late);
* `watched[(kind, field)]`: since when a record field (or "*", the records themselves) is
  watched, and `seen[(record ID, field)]`: its value at the last sync. An edge (a change, a
  stage entered, a record created, a score crossing a threshold) is a difference between
  `seen` and now; a field watched for the first time, or a record seen for the first time
  in a field watched only now, is no edge. `cells[(record ID, field)]`: the cell as typed
  behind a `seen` value, where the two differ: a column's reading is the whole column's (a
  percentage column's scale, text once too few of its cells are numbers), so a row typed
  elsewhere can change what an untouched cell reads as; that is no edge (`_retyped`);
* `pointers[rule]`: where an assignment's round-robin stands;
* `intake[activity ID]`: the Form Submitted activities the previous sync's intake appended
  (forms, the website), by the day it took them in. Such an activity is a record of the next
  read only, dated the response's day, which that sync has already evaluated: the "form
  response" trigger fires for it at the next sync whatever its window, once (its key), and
  the entry goes.

A firing's condition (If) is tested on the sync that sees its event. A rule that has fired
`max_per_record` times on one record is stopped there, and said so; a rule whose firing would
act on a record a firing of the same chain made (a task a rule created triggering the same
rule, or A → B → A) is stopped, since the Workflow Log keeps each made record's lineage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from babel.dates import format_date
from babel.lists import format_list
from pydantic import ConfigDict, Field, field_validator

from sheetcrm.cells import add_days, id_spelling, match_key, normalize_key, show_number
from sheetcrm.crm import follow_ups
from sheetcrm.crm.actions import ACTION_LABELS, ACTION_OF, ACTIONS, STEP_ACTIONS, template_files
from sheetcrm.crm.conditions import (Choice, ColumnTypeError, Condition, ConditionError, Doubt, Money, References, Text,
                                     Unsure, doubt_said, not_money_said, parse_condition, read_flag, read_value,
                                     unpriced_said)
from sheetcrm.crm.money import Rates
from sheetcrm.crm.rules import YES_NO
from sheetcrm.crm.spellings import key as owner_key, lookup as owner_lookup
from sheetcrm.i18n import N_, NC_, _, current, day_said, in_locale, listed, ngettext
from sheetcrm.intake.text import CELL_CHARS
from sheetcrm.mail.message import HeaderError, check_mailbox
from sheetcrm.report import Issue
from sheetcrm.settings import KeyedProblem, Section
from sheetcrm.workbook import CellValue, cell_key

# A rule's record kind -> the CRM tab it lives in.
KINDS: dict[str, str] = {"lead": "leads", "opportunity": "opportunities", "account": "accounts",
                         "contact": "contacts", "task": "tasks", "case": "cases"}
_KIND_WORDS = {  # not for people: the words a Record cell is read as, in every language
    "lead": ("lead", "leads", "prospecto"), "opportunity": ("opportunity", "opportunities", "deal", "deals",
                                                            "oportunidad", "oportunidades"),
    "account": ("account", "accounts", "cuenta", "cuentas"), "contact": ("contact", "contacts", "contacto", "contactos"),
    "task": ("task", "tasks", "tarea", "tareas"),
    "case": ("case", "cases", "ticket", "tickets", "caso", "casos", "incidencia", "incidencias")}
KIND_OF = {normalize_key(w): kind for kind, words in _KIND_WORDS.items() for w in words}

RESULTS = {"done": NC_("workflow result", "done"), "stopped": NC_("workflow result", "stopped"),
           "skipped": NC_("workflow result", "skipped"),
           # Never in the Log: a firing whose action cannot be carried out whole yet (`_waits`).
           "waiting": NC_("workflow result", "waiting")}
SEEN_RECORD = "*"  # the pseudo-field of `seen`: the record itself (the `created` trigger)
NOT_A_CELL = object()  # `World.cell` of a value no cell of the row holds as typed

_DAYS = r"(?P<n>\d{1,4})\s+(?:days?|d[ií]as?)"
_WHEN: list[tuple[str, re.Pattern[str]]] = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
    ("created", r"(?:created|is created|new|creado|creada|se crea|nuevo|nueva)"),  # not for people: read as
    ("enters", r"(?:enters|enters stage|entra en|entra a|pasa a)\s+(?P<to>.+)"),  # not for people: read as
    ("changes", r"(?P<field>.+?)\s+(?:changes|cambia)(?:\s+(?:from|de)\s+(?P<from>.+?))?(?:\s+(?:to|a)\s+(?P<to>.+))?"),
    ("after", _DAYS + r"\s+(?:after|despu[eé]s de(?:l)?)\s+(?P<field>.+)"),
    ("before", _DAYS + r"\s+(?:before|antes de(?:l)?)\s+(?P<field>.+)"),  # not for people: read as
    ("score_above", r"(?:score|puntuaci[oó]n)\s+(?:above|over|supera|por encima de|sobre)\s+(?P<n>\d+(?:[.,]\d+)?)"),  # not for people: read as
    ("score_below", r"(?:score|puntuaci[oó]n)\s+(?:below|under|por debajo de|bajo)\s+(?P<n>\d+(?:[.,]\d+)?)"),  # not for people: read as
    ("rotting", r"(?:rotting|starts rotting|estancada|se estanca)"),  # not for people: read as
    ("form", r"(?:form response|form submitted|respuesta de formulario|formulario enviado)"),  # not for people: read as
    ("quote", r"(?:quote unanswered|presupuesto sin respuesta)\s+" + _DAYS),  # not for people: read as
)]
# Which record kinds each trigger applies to (None: every kind).
_TRIGGER_KINDS: dict[str, tuple[str, ...] | None] = {
    "created": None, "changes": None, "after": None, "before": None, "enters": ("opportunity",),
    "score_above": ("lead",), "score_below": ("lead",), "rotting": ("opportunity",), "form": ("lead", "contact"),
    "quote": ("opportunity", "contact")}

_MESSAGES = {
    "workflow_no_id": (N_("This rule has no ID, so it cannot be told apart from the others."),
                       N_("Give it an `id` (e.g. \"WF-010\") in sheetcrm.toml.")),
    "workflow_duplicate_id": (N_("The rule ID {id} is used twice; only the first rule with it runs."),
                              N_("Give each rule an ID of its own.")),
    "workflow_bad_record": (N_("\"{text}\" is not a kind of record rules know."),
                            N_("Write lead, opportunity, account, contact, task or case.")),
    "workflow_bad_when": (N_("\"{text}\" is not a trigger sheetcrm knows."),
                          N_("Write e.g. created, Stage changes to Won, enters Proposal, 3 days after Close Date, "
                             "score above 70, rotting, form response, quote unanswered 7 days.")),
    # Kinds are named in the plural ("to leads"), never after an article: "a {kind}" cannot be
    # right for every kind in English ("a opportunity") nor in Spanish (un / una).
    "workflow_wrong_record": (N_("The trigger \"{text}\" does not apply to {records}."),
                              N_("Use it on a rule whose Record is {kinds}.")),
    "workflow_unknown_column": (N_("There is no column \"{column}\" for {records}."),
                                N_("Use a header of their tab, e.g. {examples}.")),
    "workflow_not_a_date": (N_("\"{column}\" is not a date column."),
                            N_("Count days from a date column: Created, Close Date, Last Activity, or a custom date.")),
    "workflow_unknown_stage": (N_("\"{text}\" is not a stage."), N_("Use one of: {stages}.")),
    "workflow_bad_condition": (N_("The condition cannot be read: {problem}"), N_("{hint}")),
    "workflow_type_mismatch": (N_("The condition compares a column with a value of another type: {problem}"),
                               N_("{hint}")),
    "workflow_bad_value": (N_("The trigger's value cannot be read: {problem}"), N_("{hint}")),
    "workflow_bad_then": (N_("\"{text}\" is not an action sheetcrm knows."), N_("Write one of: {actions}.")),
    "workflow_unknown_sequence": (N_("There is no follow-up sequence \"{name}\"."),
                                  N_("Name one of the sequences of sheetcrm.toml ([follow_ups.<name>]): {names}.")),
    "workflow_missing_argument": (N_("The action {action} needs {column}."), N_("Fill in {column} for this rule.")),
    "workflow_bad_template": (N_("The Subject template cannot be read: {problem}"),
                              N_("Write text with fields in double braces, e.g. Follow up {{{{ Name }}}}.")),
    "workflow_template_missing": (N_("There is no template {file} for this rule's email."), N_("{hint}")),
    "workflow_step_template": (N_("Step {step} of the follow-up sequence \"{name}\" (day {day}): {problem}"),
                               N_("{hint}")),
    "workflow_template_broken": (N_("The template {file} cannot be read: {problem}"),
                                 N_("Fix {file}; until then this rule's emails are skipped, not queued.")),
    "workflow_render_failed": (N_("The rule {rule} could not write its Subject for {record}: {problem}"),
                               N_("Check the field names and what the Subject column computes.")),
    "workflow_max_firings": (N_("The rule {rule} has fired {n} times on {record} and is stopped there."),
                             N_("Raise [workflows] max_per_record, or check the rule's When and If.")),
    "workflow_loop": (N_("The rule {rule} would fire on {record}, which the same chain of rules made ({chain}): "
                         "stopped so the rules cannot trigger each other forever."),
                      N_("Change the rules' When or If so that what one makes does not trigger the chain again.")),
    "workflow_no_owner": (N_("The rule {rule} could not assign {record}: every owner in Assign To is at their cap."),
                          N_("Raise Cap, or add owners to Assign To.")),
    "workflow_no_recipient": (N_("The rule {rule} has no address to email about {record}."),
                              N_("Fill in the record's email, or the owner's address under [owners].")),
    "workflow_bad_recipient": (N_("The rule {rule} cannot email {record}: {problem}"),
                               N_("Fix the address in the record's Email cell.")),
    "workflow_not_internal": (N_("The rule {rule} emails {to} about {record}, outside the team, so the email stays "
                                 "a Draft for a person to approve despite Auto Approve."),
                              N_("Auto Approve sends at once only to an address under [owners] or a domain in "
                                 "[workflows] team_domains; approve this one in the Outbox.")),
    "workflow_waiting": (N_("{problem} So the rule {rule} cannot {action}: its firings on {records} wait (none is "
                            "logged), and each happens once, when this is fixed."),
                         N_("{hint}")),
    "workflow_no_owner_address": (N_("The rule {rule} cannot notify {owner} about {record} at once: {owner} has no "
                                     "address under [owners]."),
                                  N_("Add {owner} = \"their@address\" under [owners] in sheetcrm.toml.")),
    "workflow_notify_unaddressed": (N_("The rule {rule} notified {owner} about {record}, but {owner} has no address "
                                       "under [owners], so no digest tells them."),
                                    N_("Add {owner} = \"their@address\" under [owners] in sheetcrm.toml; the next "
                                       "digest then tells them, once.")),
    "workflow_sequence_gone": (N_("The follow-up {name} is no longer in sheetcrm.toml, so the records the rule {rule} "
                                  "started in it wait, none of their remaining steps taken: {records}."),
                               N_("Put [follow_ups.{name}] back in sheetcrm.toml, its steps as they were; their "
                                  "remaining steps are then taken. A sequence renamed is another sequence.")),
    "workflow_notify_nobody": (N_("The rule {rule} notified nobody about {record}: the record has no Owner and the "
                                  "rule no Assign To (or the account it names has no Owner)."),
                               N_("Give {record} an Owner, or the rule an Assign To; that owner's next digest then "
                                  "tells them, once.")),
}


@dataclass(frozen=True)
class TemplateShelf:
    """The email templates a sync's rules may name, gathered before the sync
    (mail/outbox.template_shelf): `files` file name (welcome.txt.j2, the built-in ones too) ->
    why it does not compile, None when it does; `folder` the configured templates folder as a
    person finds it (relative to sheetcrm.toml), None when none is configured; `exists`
    whether that folder is there; `found` the email templates (text parts) it holds, by name."""

    files: Mapping[str, str | None]
    folder: str | None = None
    exists: bool = True
    found: tuple[str, ...] = ()
    is_file: bool = False  # `folder` is a file (a template named where its folder belongs)

    def problem(self, name: str) -> tuple[str, dict[str, str]] | None:
        """Why the Template cell `name` cannot make an email (an issue code of this module and
        its fields), or None. Its HTML part is optional, but must compile when it is there."""
        text, html = template_files(name)
        if text not in self.files:
            return "workflow_template_missing", {"file": text, "hint": self._hint(text)}
        for file in (text, html):
            if self.files.get(file) is not None:
                return "workflow_template_broken", {"file": file, "problem": str(self.files[file])}
        return None

    def _hint(self, file: str) -> str:
        found = ", ".join(self.found[:10]) + (", …" if len(self.found) > 10 else "") if self.found else "—"
        if self.folder is None:
            return _("sheetcrm.toml names no templates folder: set templates = \"folder\" there and put {file} in "
                     "it.", file=file)
        if self.is_file:
            return _("sheetcrm.toml's templates = \"{folder}\" names a file, not a folder: name the folder that "
                     "holds {file}.", folder=self.folder, file=file)
        if not self.exists:
            return _("The templates folder {folder} does not exist: create it and put {file} in it.",
                     folder=self.folder, file=file)
        return _("Put {file} in the templates folder {folder}, or name one of its templates: {found}.", file=file,
                 folder=self.folder, found=found)


class RuleSettings(Section):
    """One `[[workflows.rules]]` of sheetcrm.toml: the Workflows tab's columns, an `id` required."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str
    name: str | None = None
    active: bool = True
    record: str
    when: str
    condition: str | None = Field(default=None, alias="if")
    then: str
    subject: str | None = None
    due_days: int | None = Field(default=None, ge=0, le=3650)
    template: str | None = None
    assign_to: list[str] = []
    cap: int | None = Field(default=None, ge=1)
    auto_approve: bool = False

    @field_validator("assign_to", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return [p.strip() for p in v.split(",") if p.strip()] if isinstance(v, str) else v


class WorkflowSettings(Section):
    """`[workflows]`: how many times a rule may fire on one record, and the config's rules."""

    max_per_record: int = Field(default=3, ge=1, le=1000)
    # The team's own mail domains: an address there is internal, so Auto Approve may send it
    # without a person (with the addresses under [owners]).
    team_domains: list[str] = []
    rules: list[RuleSettings] = []

    @field_validator("team_domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        out = []
        for d in v:
            d = d.strip().lstrip("@").casefold()
            if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", d):
                raise ValueError(_("{domain} is not a mail domain (e.g. example.com)", domain=d or '""'))
            out.append(d)
        return out


@dataclass(frozen=True)
class RuleRow:
    """A rule as written, from the Workflows tab or the config, with where each part lives
    (`where`: field -> (column letter, header)) so a problem is reported at its cell."""

    id: str | None
    name: str | None
    active: bool
    record: str | None
    when: str | None
    condition: str | None
    then: str | None
    subject: str | None = None
    due_days: int | None = None
    template: str | None = None
    assign_to: tuple[str, ...] = ()
    cap: int | None = None
    auto_approve: bool = False
    tab: str = "sheetcrm.toml"
    row: int | None = None
    where: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    ready: bool = True  # False while its ID is handed out by this very sync: it runs from the next
    # A tab row with a bad cell (said by the read): it does not run, but it holds its ID, so no
    # other row with the same ID runs in its stead, logging firings the fixed row would inherit.
    broken: bool = False


@dataclass(frozen=True)
class Trigger:
    kind: str                       # a key of _TRIGGER_KINDS
    text: str                       # the When cell
    field: str | None = None        # the record's value it watches or counts from (a Subject key)
    from_: str | None = None
    to: str | None = None
    days: int = 0
    threshold: Decimal | None = None


@dataclass(frozen=True)
class Rule:
    row: RuleRow
    kind: str
    trigger: Trigger
    condition: Condition
    action: str

    @property
    def id(self) -> str:
        assert self.row.id is not None
        return self.row.id


class RecordValues(Mapping[str, Any]):
    """A record's values as a rule sees them, without a copy of its fields: its own fields
    (`fields`, the record's `__dict__`, shared) but the `hidden` ones, then its custom columns
    (`custom`, the record's own dict, shared), then what sync computes for it (`compute`),
    each winning over the ones before it for the same key, in the order a dict of the fields
    updated with the custom columns and then the computed values would have.

    The World holds one per record (275k at 100k leads): a copy of each record's fields was
    25 MB at 10k leads, and a dict per record of its custom and computed values 70 MB at 100k;
    the computed values are a tuple here, their keys one dict shared by every record computed
    the same way (`_LAYOUTS`). A look-up costs a Python call instead of a dict's."""

    __slots__ = ("_fields", "_hidden", "_custom", "_layout", "_computed")

    def __init__(self, fields: Mapping[str, Any], hidden: frozenset[str] = frozenset(),
                 custom: Mapping[str, Any] | None = None) -> None:
        self._fields, self._hidden = fields, hidden
        self._custom = _NOTHING if custom is None else custom
        self._layout: dict[str, int] = _NOTHING  # type: ignore[assignment]
        self._computed: tuple[Any, ...] = ()

    def compute(self, values: Mapping[str, Any]) -> None:
        """Set what sync computes for the record (key -> value, in order), over any earlier."""
        keys = tuple(values)
        layout = _LAYOUTS.get(keys)
        if layout is None:
            layout = _LAYOUTS[keys] = {key: i for i, key in enumerate(keys)}
        self._layout, self._computed = layout, tuple(values.values())

    def get(self, key: str, default: Any = None) -> Any:
        at = self._layout.get(key)
        if at is not None:
            return self._computed[at]
        custom = self._custom
        if key in custom:
            return custom[key]
        if key in self._hidden:
            return default
        return self._fields.get(key, default)

    def __getitem__(self, key: str) -> Any:
        at = self._layout.get(key)
        if at is not None:
            return self._computed[at]
        if key in self._custom:
            return self._custom[key]
        if key in self._hidden:
            raise KeyError(key)
        return self._fields[key]

    def __contains__(self, key: object) -> bool:
        return key in self._layout or key in self._custom or (key not in self._hidden and key in self._fields)

    def __iter__(self) -> Iterator[str]:
        fields, hidden, custom = self._fields, self._hidden, self._custom
        for key in fields:
            if key not in hidden:
                yield key
        for key in custom:
            if key not in fields or key in hidden:
                yield key
        for key in self._layout:
            if key not in custom and (key not in fields or key in hidden):
                yield key

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"RecordValues({dict(self)!r})"


_NOTHING: Mapping[str, Any] = MappingProxyType({})
# The keys of each way of computing values (a deal with metrics, one without, a lead...) ->
# each key's place in a record's tuple: a handful in all, shared by every record.
_LAYOUTS: dict[tuple[str, ...], dict[str, int]] = {}


@dataclass(slots=True)
class Subject:
    """A record as a rule sees it: its values by key (record fields, custom headers, computed
    values such as score or last_activity), its owner, whether it is open (what an owner's
    Cap counts), and the records it relates to (relation -> Subject)."""

    kind: str
    id: str
    values: Mapping[str, Any]
    owner: str | None = None
    open: bool = True
    email: str | None = None
    # Most subjects relate to nothing (a lead): they share one empty mapping, not a dict each.
    related: Mapping[str, "Subject"] = field(default_factory=lambda: _NOTHING)
    row: int | None = None  # its sheet row: where a warning about one of its cells goes

    def relate(self, relation: str, other: "Subject", replace: bool = True) -> None:
        """`other` is this subject's `relation` (replacing one already there unless not `replace`)."""
        if self.related is _NOTHING:
            self.related = {}
        if replace or relation not in self.related:
            self.related[relation] = other  # type: ignore[index]


@dataclass
class World:
    """Everything the rules look at, built by the step from the read and the engine's results.

    `names[kind]`: normalize_key(a header, in any language) -> Subject key; `labels[kind]`:
    key -> the header a person reads; `dates[kind]`: the keys that hold dates; `enums[key]`:
    normalize_key(word) -> canonical value (stages, statuses), `kind_enums[kind][key]` likewise
    for a field whose words depend on the record (a Status: `enum`); `forms`: (record ID, activity
    ID, day) of each Form Submitted activity; `intake`: the IDs of the Form Submitted activities
    this sync's intake appends (they are records of the next read, `State.intake`); `quotes`: (Outbox ID, record ID, contact ID,
    sent day) of each Sent quote; `touched[record ID]`: the days of its activities (worked out
    from `activities` when first asked: only a "quote unanswered" rule asks)."""

    as_of: dt.date
    subjects: dict[str, list[Subject]]
    names: dict[str, dict[str, str]]
    labels: dict[str, dict[str, str]]
    dates: dict[str, frozenset[str]] = field(default_factory=dict)
    enums: dict[str, dict[str, str]] = field(default_factory=dict)
    kind_enums: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)
    forms: list[tuple[str, str, dt.date]] = field(default_factory=list)
    intake: frozenset[str] = frozenset()
    quotes: list[tuple[str, str, str | None, dt.date]] = field(default_factory=list)
    internal: frozenset[str] = frozenset()   # the team's addresses (casefolded): [owners]
    owner_email: Mapping[str, str] = field(default_factory=dict)
    stages: tuple[str, ...] = ()
    team_domains: frozenset[str] = frozenset()  # [workflows] team_domains, casefolded
    # kind -> key -> the other names a template may call a field by: the sheet's own header and
    # the standard ones in each language (`{{ Name }}` in a Spanish team's English workbook).
    aliases: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    locale: str = "en"  # the team's: how a template shows a number or a date (`template_context`)

    def is_internal(self, address: str) -> bool:
        """Whether a plain address (no display name) is the team's: an [owners] address, or
        one at a domain of [workflows] team_domains."""
        addr = address.strip().casefold()
        return addr in self.internal or addr.rpartition("@")[2] in self.team_domains
    # Follow-up sequences (crm/follow_ups.py): `sequences` the config's, by name; `activities`
    # every activity about a record (its `id`, `related` ID, `date`, canonical `type`,
    # `outcome`): the records themselves, where a tuple of those five was 16 MB at 100k leads;
    # `sent_ids` the Message-IDs of the Outbox's sent rows (the sender logs each as an Email
    # activity); `sent_quotes` each sent quote's (match_key of its opportunity, canonical_text of
    # its Subject): what tells the sender's Email activity written with no Outcome column.
    sequences: Mapping[str, Any] = field(default_factory=dict)
    activities: list[Any] = field(default_factory=list)
    sent_ids: frozenset[str] = frozenset()
    sent_quotes: frozenset[tuple[str, str]] = frozenset()
    # (kind, key) -> canonical value -> the team's word for it: a stage as the team's
    # Opportunities tab writes it ("Propuesta"), else the locale's (crm/words.py). What the Log,
    # a task's or an activity's text say; the keys and the State keep the canonical value.
    words: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)
    # (kind, key) -> normalize_key(a word) -> what a cell naming it holds, for a column that names
    # another record (a Campaign, an Account): `Account = Acme` holds for a cell that says its ID,
    # however either is spelt (`conditions.References`; built by steps.workflows.reference_words).
    # Apart from `enum`: a When's "changes" compares the records named too (`_record_named`).
    references: Mapping[tuple[str, str], Mapping[str, str]] = field(default_factory=dict)

    def enum(self, kind: str, key: str) -> Mapping[str, str] | None:
        """normalize_key(word) -> canonical value of field `key` of a `kind` record, when its
        values are a fixed set (a stage, a status); None otherwise. Per kind, as one word may
        name different values on different tabs: "Pendiente" is a task's Open and a case's
        Pending, "Open" a lead's New under the config's `[lead_statuses]` and a case's Open."""
        of_kind = self.kind_enums.get(kind)
        if of_kind is not None and key in of_kind:
            return of_kind[key]
        return self.enums.get(key)

    def word(self, kind: str, key: str, value: Any) -> Any:
        """`value` of field `key` of a `kind` record as the team writes it (itself when not a word)."""
        return self.words.get((kind, key), {}).get(value, value) if isinstance(value, str) else value

    @functools.cached_property
    def touched(self) -> dict[str, list[dt.date]]:
        """Record ID -> the days of its activities, from `activities`."""
        days: dict[str, list[dt.date]] = {}
        for a in self.activities:
            days.setdefault(a.related, []).append(a.date)
        return days

    # The email templates (mail/outbox.template_shelf), read before the sync; None: not checked.
    templates: TemplateShelf | None = None
    # Money (crm/conditions.Money): `rates` the Rates tab and base currency conditions compare
    # amounts in (None: no money semantics); `money[kind]`: key of a column that holds money ->
    # the key of the value that holds each record's currency for it (None: the base currency),
    # an ISO code or None, or for a team's own column a (code, symbol of several currencies)
    # pair; `places[kind]`: (its tab's title, key -> (column letter, header)), where a warning
    # about a record's cell goes.
    rates: Rates | None = None
    money: dict[str, dict[str, str | None]] = field(default_factory=dict)
    places: dict[str, tuple[str, Mapping[str, tuple[str | None, str | None]]]] = field(default_factory=dict)
    # The record cells whose money the rules' and segments' conditions could not compare, one
    # entry per cell however many conditions (`note_doubts`; said by `undecided_issues`).
    undecided: dict[tuple[str, int | None, str], "Undecided"] = field(default_factory=dict)
    # `types[kind]`: key -> what its column holds, as `parse_condition`'s `types` takes it
    # (table.field_kinds, a custom column's declared or inferred type); `texts[kind]`: key of
    # each team's column the read keeps as text -> (the tab's locale, whether the config set
    # it), its cells given to a condition as `conditions.Text`.
    types: dict[str, dict[str, str]] = field(default_factory=dict)
    texts: dict[str, dict[str, tuple[str, bool]]] = field(default_factory=dict)

    # The tabs the actions write to, by tab key ("tasks", "activities", and each rule kind's tab
    # for assign owner): an action its tab cannot take whole waits (`_waits`). A tab key not
    # here is not checked.
    tabs: Mapping[str, "Columns"] = field(default_factory=dict)
    # Adoption (`_baseline`): `pending[kind]` the records whose IDs this sync hands out (no rule
    # acts on them before their ID lands, but they are there, so a new watch's baseline holds
    # them); `fingerprint(subject)` a digest of the record's own cells, its ID left out, by which
    # a record whose ID fill was dropped is known again under the ID it gets next.
    pending: dict[str, list[Subject]] = field(default_factory=dict)
    fingerprint: Callable[[Subject], str] | None = None
    # `cell(subject, key)`: the cell as typed behind a field whose column the read reads as a
    # whole (a number, a date, a percentage, a team's column), else NOT_A_CELL (an enum, a
    # computed value). None: not known (a World built by hand).
    cell: Callable[[Subject, str], Any] | None = None
    # Records the rules do not see this sync that are still there (`run` keeps what was seen
    # of them): `unread[kind]` the IDs of the rows a bad cell keeps from the rules; `absent`
    # the kinds whose tab this sync did not find (renamed, deleted), so watching them starts
    # again when it is back.
    unread: dict[str, list[str]] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    # (kind, record ID) -> relation -> how messages name the row ("ACC-0002 (row 3)"): the
    # related records a record's cells name whose rows have errors, so no Subject stands for
    # them in `Subject.related`. A condition that reads one is not judged on that record (`run`).
    unjudged: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)

    def column_types(self, kind: str, relation_kind: Callable[[str | None], str | None]
                     ) -> Callable[[tuple[str | None, str]], str | None]:
        """`parse_condition`'s `types` for a condition on `kind` records; `relation_kind` names
        the kind a relation reads (None: it reads none, which the caller reports)."""
        def of(column: tuple[str | None, str]) -> str | None:
            target = relation_kind(column[0])
            key = self.names.get(target, {}).get(normalize_key(column[1])) if target else None
            return self.types.get(target, {}).get(key) if key is not None else None  # type: ignore[arg-type]
        return of


@dataclass(frozen=True)
class Columns:
    """A tab a workflow action writes to, as this sync read it (`World.tabs`): its `title` as a
    person reads it; `fields` the fields its header has (None: the workbook has no such tab);
    `required` the fields without which no row of it is read; `full` when it has no room for
    sheetcrm's ID column; `headers` field -> (its header in the team's language, in the other)."""

    title: str
    fields: frozenset[str] | None
    required: frozenset[str] = frozenset()
    full: bool = False
    headers: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Undecided:
    """A record's money cell some conditions could not compare (`World.undecided`): its first
    `doubt`, where it is (tab title, sheet row, column letter, header), the record's kind and
    key of the value, and the `conditions` it left undecided, in the order they met it."""

    doubt: Doubt
    tab: str
    row: int | None
    letter: str | None
    header: str
    kind: str
    key: str
    conditions: list[str] = field(default_factory=list)


@dataclass
class State:
    """The Workflow State tab, as read (see the module docstring)."""

    armed: dict[str, dt.date] = field(default_factory=dict)
    checked: dict[str, dt.date] = field(default_factory=dict)
    watched: dict[tuple[str, str], dt.date] = field(default_factory=dict)
    seen: dict[tuple[str, str], CellValue] = field(default_factory=dict)
    # (record ID, field) -> the cell as typed behind its `seen` value, kept only where the two
    # differ (a date typed as text, a percentage): how the column reads it may change with
    # other rows, the cell's value not (`_retyped`).
    cells: dict[tuple[str, str], CellValue] = field(default_factory=dict)
    pointers: dict[str, int] = field(default_factory=dict)
    # (rule, record, sequence) -> (day enrolled, owner then): the follow-ups running.
    enrolled: dict[tuple[str, str, str], tuple[dt.date, str | None]] = field(default_factory=dict)
    # (rule, record, sequence) -> how many of its steps were journaled: a step whose Log row a
    # person deleted is not taken again (a second task, a second email), as `checked` keeps a
    # time event and `seen` an edge from firing twice. Kept while the enrollment runs.
    stepped: dict[tuple[str, str, str], int] = field(default_factory=dict)
    # (rule, record, sequence) -> `follow_ups.marks` of its steps taken, as they were then (the
    # first `stepped` of them count): a step is known by its number, so steps inserted, removed
    # or reordered among those taken since are told (the enrollment stops), never a step taken
    # twice and another skipped.
    shapes: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    # (rule, record, sequence) -> `follow_ups.before`: the activities dated the enrollment day
    # that were there when it was made; one of that day typed since is a reply. Kept while the
    # enrollment runs; none for an enrollment made before they were kept.
    known: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    # (rule, record, event) -> (the event's day, the event in words): firings whose action could
    # not be carried out whole (`_waits`), offered again at every sync until it can, never logged
    # before. Kept while the rule runs, dropped with it (an "off" means off).
    waiting: dict[tuple[str, str, str], tuple[dt.date, str]] = field(default_factory=dict)
    # (rule, record, event) -> (the event's day, the event in words): events whose If was not
    # judged because it reads a related record whose row has errors (`World.unjudged`), judged
    # at every sync until that row is read, never logged before. Kept while the rule runs.
    unjudged: dict[tuple[str, str, str], tuple[dt.date, str]] = field(default_factory=dict)
    # Record ID -> (fingerprint, day): a record a new watch's baseline took in while its ID was
    # being handed out (`_baseline`); once its ID has landed the entry goes. One whose ID is not
    # there at the next sync (its fill was dropped) is known again by its fingerprint.
    pending: dict[str, tuple[str, dt.date]] = field(default_factory=dict)
    # Activity ID -> the day a sync took it in: the Form Submitted activities the previous
    # sync's intake appended (`World.intake`), which the "form response" trigger sees at this
    # one whatever their day; kept one sync, and only while a rule has that trigger.
    intake: dict[str, dt.date] = field(default_factory=dict)


@dataclass(frozen=True)
class LogEntry:
    """One row of the Workflow Log: `created` the record the action made, `chain` the rules
    whose firings led to it (the firing's own rule last); `name`, `said` and `action` the Rule
    Name, Event and Action cells (the action canonical, None when the cell names none)."""

    day: dt.date | None
    rule: str
    record: str
    event: str                       # the key's event part
    result: str                      # canonical: done, stopped, skipped
    key: str
    created: str | None = None
    chain: tuple[str, ...] = ()
    name: str = ""
    said: str = ""
    action: str | None = None
    details: str = ""                # the Details cell: what the action did, or why it was skipped or stopped


def firing_key(rule: str, record: str, event: str) -> str:
    return f"{rule}|{record}|{event}"


def respell(state: State, log: Sequence[LogEntry], rule_ids: Iterable[str], world: World) -> tuple[State, list[LogEntry]]:
    """The State and Log with each rule and record ID as the Workflows tab and the records spell
    it now (`cells.id_spelling`): a person who retypes "OPP-0002" as "opp-0002" (or a rule's WF-0001 as
    wf-0001) has the same record (rule), as every reference reads it, so its seen values, its
    firings' keys, its max_per_record count, its lineage and its follow-ups carry on. Without
    this a retyped ID was a new record: "created" fired again (a second task, a second email).
    The keys' events keep their text but a form response's activity ID ("form:ACT-0007"), an
    ID too; an Outbox ID ("quote:OUT-0001") is sheetcrm's own, sealed. Rows written from these
    name IDs as spelt now; the Log's rows as read stay as they were written."""
    rule = id_spelling(rule_ids)
    records = id_spelling([*(s.id for subjects in world.subjects.values() for s in subjects),
                         *(record for ids in world.unread.values() for record in ids),
                         *(a.id for a in world.activities if a.id), *(act for _who, act, _day in world.forms)])

    def event(text: str) -> str:
        return f"form:{records(text[5:])}" if text.startswith("form:") else text

    def keyed(held: Mapping[tuple[str, ...], Any], spell: Callable[[tuple[str, ...]], tuple[str, ...]]) -> dict:
        out: dict = {}
        for key, value in held.items():
            new = spell(key)
            if new == key or new not in held:  # a key as it is wins over one respelt into it
                out[new] = value
        return out

    new = State(armed=keyed(state.armed, rule), checked=keyed(state.checked, rule),  # type: ignore[arg-type]
                watched=dict(state.watched), seen=keyed(state.seen, lambda k: (records(k[0]), k[1])),
                cells=keyed(state.cells, lambda k: (records(k[0]), k[1])),
                pointers=keyed(state.pointers, rule),  # type: ignore[arg-type]
                enrolled=keyed(state.enrolled, lambda k: (rule(k[0]), records(k[1]), k[2])),
                stepped=keyed(state.stepped, lambda k: (rule(k[0]), records(k[1]), k[2])),
                shapes=keyed(state.shapes, lambda k: (rule(k[0]), records(k[1]), k[2])),
                known=keyed(state.known, lambda k: (rule(k[0]), records(k[1]), k[2])),
                waiting=keyed(state.waiting, lambda k: (rule(k[0]), records(k[1]), event(k[2]))),
                unjudged=keyed(state.unjudged, lambda k: (rule(k[0]), records(k[1]), event(k[2]))),
                pending=dict(state.pending), intake=keyed(state.intake, records))  # type: ignore[arg-type]
    entries = []
    for e in log:
        r, record, ev = rule(e.rule), records(e.record), event(e.event)
        created, chain = records(e.created) if e.created else e.created, tuple(rule(c) for c in e.chain)
        entries.append(e if (r, record, ev, created, chain) == (e.rule, e.record, e.event, e.created, e.chain) else
                       dataclasses.replace(e, rule=r, record=record, event=ev, key=firing_key(r, record, ev),
                                           created=created, chain=chain))
    return new, entries


@dataclass
class Firing:
    """One thing a rule does (or is stopped from doing) this sync. `values`: the new row's
    cells by field (a task, an activity, an email) or the owner assigned; the step hands out
    the new row's ID and writes it, its Workflow Log row requiring that write."""

    rule: Rule
    subject: Subject
    event: str                       # the event's key part ("enters:Proposal@2026-12-01")
    said: str                        # the event as a person reads it
    day: dt.date                     # the event's day: a task's Due counts from it
    result: str                      # done, stopped, skipped
    message: str = ""                # what the action did (the owner chosen), or why it did not
    values: dict[str, Any] = field(default_factory=dict)
    chain: tuple[str, ...] = ()
    auto_approve: bool = False
    hint: str = ""                   # for a waiting firing: what to fix (`_waits`)

    @property
    def key(self) -> str:
        return firing_key(self.rule.id, self.subject.id, self.event)


@dataclass
class Outcome:
    rules: list[Rule]
    firings: list[Firing]
    issues: list[Issue]
    state: State                     # what the Workflow State tab holds after this sync
    log: list[LogEntry] = field(default_factory=list)  # the Log as read, its IDs spelt as now (`respell`)


def _issue(row: RuleRow, column: str | None, value: Any, code: str, /, severity: str = "error", **fmt: Any) -> Issue:
    message, hint = _MESSAGES[code]
    letter, header = row.where.get(column, (None, None)) if column else (None, None)
    return Issue(severity, row.tab, row.row, letter, header, value, code, _(message, **fmt), _(hint, **fmt))


# -- reading the rules ---------------------------------------------------------------------------

def parse_rules(rows: Sequence[RuleRow], world: World, locale: str) -> tuple[list[Rule], list[Issue]]:
    """The sound, active rules of `rows`, in order, and an issue at the cell of each problem
    of the others (a rule with a problem does not run; the others do)."""
    rules: list[Rule] = []
    issues: list[Issue] = []
    ids: set[str] = set()
    for row in rows:
        if not row.id:
            if row.tab == "sheetcrm.toml" and row.active:
                issues.append(_issue(row, None, None, "workflow_no_id"))
            continue  # a tab row without an ID gets one this sync (the ids of the Workflows tab)
        # The first row with an ID owns it, running or not (off, or a bad cell): the Log knows
        # firings by rule ID, so a second row running under it would lend the first its firings.
        if match_key(row.id) in ids:  # "wf-0001" is WF-0001, as every ID compares
            issues.append(_issue(row, "id", row.id, "workflow_duplicate_id", id=row.id))
            continue
        ids.add(match_key(row.id))
        if not row.active or row.broken:
            continue
        rule = _parse_rule(row, world, locale, issues)
        if rule is not None:
            rules.append(rule)
    return rules, issues


def _parse_rule(row: RuleRow, world: World, locale: str, issues: list[Issue]) -> Rule | None:
    before = len(issues)
    kind = KIND_OF.get(normalize_key(row.record or ""))
    if kind is None:
        issues.append(_issue(row, "record", row.record, "workflow_bad_record", text=row.record or ""))
        return None
    trigger = _parse_when(row, kind, world, locale, issues)
    try:
        condition = parse_condition(row.condition or "", locale, world.rates,
                                    world.column_types(kind, lambda relation: _relation_kind(kind, relation)))
        for relation, column in sorted(condition.columns(), key=lambda c: (c[0] or "", c[1])):
            target = _relation_kind(kind, relation)
            if target is None or normalize_key(column) not in world.names.get(target, {}):
                shown = f"{relation}.{column}" if relation else column
                issues.append(_issue(row, "condition", row.condition, "workflow_unknown_column", column=shown,
                                     records=_kinds_word(target or kind), examples=_examples(world, target or kind)))
        if len(issues) == before and world.rates is not None:
            for (relation, column), value, _currency in condition.priced:
                target = _relation_kind(kind, relation) or kind
                if world.names[target][normalize_key(column)] not in world.money.get(target, {}):
                    problem, hint = not_money_said(f"{relation}.{column}" if relation else column, value)
                    issues.append(_issue(row, "condition", row.condition, "workflow_bad_condition", problem=problem,
                                         hint=hint))
                    break
        if len(issues) == before and (unnamed := unnamed_word(condition, kind, world,
                                                               lambda relation: _relation_kind(kind, relation))):
            target, key, word, problem, hint = unnamed
            if key == "stage":
                issues.append(_issue(row, "condition", row.condition, "workflow_unknown_stage", text=word,
                                     stages=", ".join(world.word(target, "stage", s) for s in world.stages)))
            else:
                issues.append(_issue(row, "condition", row.condition, "workflow_bad_condition", problem=problem,
                                     hint=hint))
    except ColumnTypeError as e:
        issues.append(_issue(row, "condition", row.condition, "workflow_type_mismatch", problem=e.message,
                             hint=e.hint))
        condition = None  # type: ignore[assignment]
    except ConditionError as e:
        issues.append(_issue(row, "condition", row.condition, "workflow_bad_condition", problem=e.message,
                             hint=e.hint or ""))
        condition = None  # type: ignore[assignment]
    action = ACTION_OF.get(normalize_key(row.then or ""))
    if action is None:
        issues.append(_issue(row, "then", row.then, "workflow_bad_then", text=row.then or "",
                             actions=action_list(ACTIONS, locale)))
    else:
        needs = {"create_task": "subject", "log_activity": "subject", "assign_owner": "assign_to",
                 "send_email": "template", "start_sequence": "template"}.get(action)
        if needs and not getattr(row, needs):
            column = row.where.get(needs, (None, None))[1] or {"subject": "Subject", "assign_to": "Assign To",  # not for people: read as
                                                                  "template": "Template"}[needs]
            issues.append(_issue(row, needs, None, "workflow_missing_argument",
                                 action=in_locale(locale, ACTION_LABELS[action]), column=column))
        if row.subject and action in ("create_task", "log_activity", "send_email", "notify_now"):
            from jinja2 import TemplateSyntaxError

            from sheetcrm.mail.sandbox import syntax_problem

            try:
                _sandbox().from_string(row.subject)
            except TemplateSyntaxError as e:
                issues.append(_issue(row, "subject", row.subject, "workflow_bad_template", problem=syntax_problem(e)))
        if action == "start_sequence" and row.template and follow_ups.find(world.sequences, row.template) is None:
            issues.append(_issue(row, "template", row.template, "workflow_unknown_sequence", name=row.template,
                                 names=", ".join(world.sequences) or "—"))
    if trigger is None or len(issues) > before or action is None or condition is None:
        return None
    if world.rates is not None:  # a warning, and the rule runs: what the rate does not decide, it decides
        letter, header = row.where.get("condition", (None, None))
        for code, message, hint in unpriced_said(condition, world.rates):
            issues.append(Issue("warning", row.tab, row.row, letter, header, row.condition, code, message, hint))
    if action in ("send_email", "notify_now") and row.template and world.templates is not None:
        # A warning, and the rule runs: each firing is skipped while the template is wrong
        # (`_act`), so no Draft is queued that could only fail at send.
        problem = world.templates.problem(row.template)
        if problem is not None:
            issues.append(_issue(row, "template", row.template, problem[0], severity="warning", **problem[1]))
    if action == "start_sequence" and world.templates is not None:
        # Every step's email template, checked when the rule is read as a rule's own Template
        # is, not only on the day the step fires: a warning at the rule's Template cell (the
        # sequence's name); the rule runs, and that step's firings are skipped while it is wrong.
        name = follow_ups.find(world.sequences, row.template)
        for n, step in enumerate(world.sequences[name].steps if name else (), start=1):
            if ACTION_OF.get(normalize_key(step.then)) in ("send_email", "notify_now") and step.template:
                problem = world.templates.problem(step.template)
                if problem is not None:
                    message, hint = _MESSAGES[problem[0]]
                    issues.append(_issue(row, "template", row.template, "workflow_step_template", severity="warning",
                                         step=n, name=name, day=step.day, problem=_(message, **problem[1]),
                                         hint=_(hint, **problem[1])))
    return Rule(row, kind, trigger, condition, action)


# An article before a column, as a sentence puts it: "3 días después de la Fecha de cierre", "de
# el Creado", "la Etapa cambia a Ganada", "3 days after the Close Date". Not for people: read as.
_ARTICLE = re.compile(r"(?:the|el|la|los|las|lo)\s+(?P<rest>.+)", re.IGNORECASE)


def _column(world: World, kind: str, text: str) -> str | None:
    """The key of the column of `kind` a trigger names: its header as written, else, the text
    beginning with an article, the header after it. A header that itself begins so ("La
    Fecha") is named as written, as before: the article is read only when the whole text
    names no column, so no header becomes unreachable or means another column."""
    names = world.names.get(kind, {})
    key = names.get(normalize_key(text))
    if key is None and (m := _ARTICLE.fullmatch(text)) is not None:
        key = names.get(normalize_key(m["rest"]))
    return key


def _parse_when(row: RuleRow, kind: str, world: World, locale: str, issues: list[Issue]) -> Trigger | None:
    text = " ".join((row.when or "").split())
    for name, pattern in _WHEN:
        m = pattern.fullmatch(text)
        if m is None:
            continue
        groups = m.groupdict()
        if name == "changes" and normalize_key(groups["field"]) in ("status", "estado") and kind == "lead":
            groups["field"] = "Status"
        allowed = _TRIGGER_KINDS[name]
        if allowed is not None and kind not in allowed:
            issues.append(_issue(row, "when", row.when, "workflow_wrong_record", text=text, records=_kinds_word(kind),
                                 kinds=format_list([_kind_word(k) for k in allowed], style="or", locale=current())))
            return None
        trigger = Trigger(name, text)
        if groups.get("field"):
            key = _column(world, kind, groups["field"])
            if key is None:
                issues.append(_issue(row, "when", row.when, "workflow_unknown_column", column=groups["field"],
                                     records=_kinds_word(kind), examples=_examples(world, kind)))
                return None
            if name in ("after", "before") and key not in world.dates.get(kind, frozenset()):
                issues.append(_issue(row, "when", row.when, "workflow_not_a_date", column=groups["field"]))
                return None
            trigger = dataclasses.replace(trigger, field=key)
        if name == "enters":
            stage = world.enums.get("stage", {}).get(normalize_key(groups["to"]))
            if stage is None:
                issues.append(_issue(row, "when", row.when, "workflow_unknown_stage", text=groups["to"],
                                     stages=", ".join(world.word(kind, "stage", s) for s in world.stages)))
                return None
            trigger = dataclasses.replace(trigger, field="stage", to=stage)
        elif name == "changes":
            ends = {}
            for end in ("from", "to"):
                if groups.get(end) is not None:
                    ends[end] = _changed_value(row, kind, trigger.field or "", text, m.span(end), world, locale,
                                               issues)
                    if ends[end] is None:
                        return None
            trigger = dataclasses.replace(trigger, from_=ends.get("from"), to=ends.get("to"))
        elif name in ("after", "before", "quote"):
            trigger = dataclasses.replace(trigger, days=int(groups["n"]) * (-1 if name == "before" else 1))
        elif name in ("score_above", "score_below"):
            trigger = dataclasses.replace(trigger, field="score", threshold=Decimal(groups["n"].replace(",", ".")))
        return trigger
    issues.append(_issue(row, "when", row.when, "workflow_bad_when", text=text))
    return None


def _changed_value(row: RuleRow, kind: str, key: str, when: str, span: tuple[int, int], world: World, locale: str,
                   issues: list[Issue]) -> str | None:
    """The From or To of a "changes" trigger (`when[span[0]:span[1]]`) as `_matches` compares it:
    a stage or status as its canonical value, a number or date read as the If reads one (in the
    locale: "1.000" and "03/04/2026" are refused, never guessed), a tick box as yes / no, text
    as written. A value the column can never hold is an issue at the When cell, and None: a
    rule that silently never fires ("Stage changes to Wonn", "Importe cambia a 1.000" read as
    1) is worse than one that does not run."""
    text = when[span[0]:span[1]]
    label = world.labels.get(kind, {}).get(key, key)

    def shape(value: str) -> str:
        return when[:span[0]] + value + when[span[1]:]

    def refuse(problem: str, hint: str) -> None:
        issues.append(_issue(row, "when", row.when, "workflow_bad_value", problem=problem, hint=hint))

    enum = world.enum(kind, key)
    if enum is not None:
        value = enum.get(normalize_key(text))
        if value is not None:
            return value
        if key == "stage":
            issues.append(_issue(row, "when", row.when, "workflow_unknown_stage", text=text,
                                 stages=", ".join(world.word(kind, "stage", s) for s in world.stages)))
        else:
            held = sorted({v for s in world.subjects.get(kind, []) if isinstance(v := s.values.get(key), str)})
            shown = ", ".join(str(world.word(kind, key, v)) for v in held[:8])
            refuse(_('"{value}" is not a value of {column}', value=text, column=label),
                   _("Write a value {column} holds, e.g. {examples}.", column=label, examples=shown) if shown else
                   _("Write a value {column} holds, as its cells name it.", column=label))
        return None
    named = world.references.get((kind, key))
    if named is not None:
        if normalize_key(text) in named:
            return text
        shown = ", ".join(str(v) for v in list(dict.fromkeys(named.values()))[:8])
        refuse(_('"{value}" is not a value of {column}', value=text, column=label),
               _("Write a value {column} holds, e.g. {examples}.", column=label, examples=shown))
        return None
    held_type = world.types.get(kind, {}).get(key) or ("date" if key in world.dates.get(kind, ()) else None)
    if held_type is None:
        return text
    if held_type == "bool":
        flag = read_flag(text)
        if flag is None:
            refuse(_('{column} holds yes or no, and "{value}" is neither', column=label, value=text),
                   _("Write yes or no: {example}", example=shape("yes" if locale == "en" else "sí")))
            return None
        return "yes" if flag else "no"
    try:
        value = read_value(text, locale, shape, percent=held_type == "percent")
    except ConditionError as e:
        refuse(e.message, e.hint or "")
        return None
    if held_type in ("date", "datetime"):
        if isinstance(value, dt.date):
            return value.isoformat()
        refuse(_('{column} holds dates, and "{value}" is not one', column=label, value=text),
               _("Write the date as year-month-day: {example}", example=shape("2026-03-15")))
        return None
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    refuse(_('{column} holds numbers, and "{value}" is not one', column=label, value=text),
           _("Write a number, e.g. {example}", example=shape("1000")))
    return None


def unnamed_word(condition: Condition, kind: str, world: World, relations: Callable[[str | None], str | None]
                 ) -> tuple[str, str, str, str, str] | None:
    """The first word a condition on `kind` records compares a column of fixed values with (a
    Stage, a Status: `World.enum`; a Campaign, an Account: `World.references`) that names none
    of them: (target kind, field key, the word,
    problem, hint), the last two in the current language; None when every word names one.
    `relations(relation)`: the kind a related column is of (None: not one). `Stage = Wonn`
    never holds and `Stage != Wonn` always does: a rule or segment on it is refused, not run."""
    for (relation, column), word in condition.equated:
        target = relations(relation)
        if target is None or (key := world.names.get(target, {}).get(normalize_key(column))) is None:
            continue  # an unknown column, said as one
        named = world.references.get((target, key))
        enum = named if named is not None else world.enum(target, key)
        if enum is None or normalize_key(word) in enum:
            continue
        label = world.labels.get(target, {}).get(key, column)
        values = list(dict.fromkeys(enum.values()))[:8] if named is not None else dict.fromkeys(enum.values())
        shown = ", ".join(str(world.word(target, key, v)) for v in values)
        return (target, key, word, _('"{value}" is not a value of {column}', value=word, column=label),
                _("Write a value {column} holds, e.g. {examples}.", column=label, examples=shown))
    return None


def _relation_kind(kind: str, relation: str | None) -> str | None:
    if relation is None:
        return kind
    return relation if relation in KINDS else None


def _kind_word(kind: str) -> str:
    """A kind as a Record cell names it ("opportunity")."""
    return _({"lead": N_("lead"), "opportunity": N_("opportunity"), "account": N_("account"),
              "contact": N_("contact"), "task": N_("task"), "case": N_("case")}[kind])


def _kinds_word(kind: str) -> str:
    """The records of a kind, in the plural ("opportunities"): what messages name."""
    return _({"lead": N_("leads"), "opportunity": N_("opportunities"), "account": N_("accounts"),
              "contact": N_("contacts"), "task": N_("tasks"), "case": N_("cases")}[kind])


def _examples(world: World, kind: str) -> str:
    return ", ".join(list(world.labels.get(kind, {}).values())[:4])


# -- the events ----------------------------------------------------------------------------------

# The triggers whose events fall due on a day (`_due_events`), not on the sync that sees an edge.
TIME_TRIGGERS = ("after", "before", "rotting", "quote")


def watched_fields(rules: Iterable[Rule]) -> set[tuple[str, str]]:
    """(kind, key) of every value an edge trigger compares with the previous sync's, and the
    records themselves (`SEEN_RECORD`) for `created`, `enters` and the time triggers."""
    out: set[tuple[str, str]] = set()
    for rule in rules:
        t = rule.trigger
        if t.kind in ("created", *TIME_TRIGGERS):
            # A time trigger needs it too: a record first seen now has its events of days
            # evaluated before it was there still to fire (`_events`).
            out.add((rule.kind, SEEN_RECORD))
        elif t.kind in ("changes", "enters", "score_above", "score_below"):
            out.add((rule.kind, t.field))  # type: ignore[arg-type]
            if t.kind == "enters":
                out.add((rule.kind, SEEN_RECORD))  # a deal made straight into the stage enters it
    return out


def _same(a: Any, b: Any) -> bool:
    return cell_key(_cell(a)) == cell_key(_cell(b))


def _record_named(world: World, kind: str, key: str, value: Any) -> Any:
    """`value` of a column that names another record (an Account, a Campaign) as that record,
    however the cell spells it ("Acme Corp", "ACC-0001"), as the If compares it; else `value`.
    A cell retyped from the name to the ID changes nothing, and is no edge."""
    named = world.references.get((kind, key))
    if named is None or not isinstance(value, str):
        return value
    return named.get(normalize_key(value), value)


def _retyped(subject: Subject, key: str, prev: Any, state: State, world: World) -> bool:
    """Whether `subject`'s `key` reads otherwise than at the previous sync only because its
    column is read otherwise, its cell as typed being the same: a percentage column whose
    plain numbers were fractions gets a "30" (0.2 was 20 %, now 0.2 %), a column of "10%"
    cells gets a few words (now text). Nobody changed that cell: no edge. An empty cell proves
    nothing (one a merged block covers reads the block's value)."""
    if world.cell is None:
        return False
    now = world.cell(subject, key)
    if now is NOT_A_CELL or cell_key(now) is None:
        return False
    return _same(state.cells.get((subject.id, key), prev), now)


def _cell(v: Any) -> CellValue:
    if isinstance(v, Decimal):
        return float(v)
    return v


def _matches(text: str | None, value: Any, world: World, kind: str, key: str) -> bool:
    """Whether a When's "from X" / "to Y" names `value`: the same enum value (a stage or
    status in any of its words), number, day, or text (ignoring case and accents)."""
    if text is None:
        return True
    if value is None:
        return False
    if (kind, key) in world.references:
        return _record_named(world, kind, key, text) == _record_named(world, kind, key, value)
    enum = world.enum(kind, key)
    if enum is not None:
        return enum.get(normalize_key(text)) == value
    if isinstance(value, bool):
        return normalize_key(text) in ("yes", "true", "si") if value else normalize_key(text) in ("no", "false")
    if isinstance(value, (int, float, Decimal)):
        try:
            return Decimal(text.replace(",", ".")) == Decimal(str(value))
        except InvalidOperation:
            return False
    if isinstance(value, dt.date):
        return text.strip() == value.isoformat()[:10]
    return normalize_key(text) == normalize_key(str(value))


def _show(v: Any) -> str:
    if v is None or v == "":
        return "∅"
    if isinstance(v, dt.date):
        return v.isoformat()[:10]
    if isinstance(v, Decimal):
        return format(v.normalize(), "f")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _figure(value: Decimal) -> str:
    """A score or a threshold in a message, as the reader writes it: 70.5 is "70,5" in Spanish
    (the key beside it keeps `_show`'s, the same in every language)."""
    return show_number(value.normalize(), group=False)


def _events(rule: Rule, world: World, state: State, armed: dt.date, checked: dt.date | None,
            entered: Collection[tuple[str, str, str]] = ()) -> Callable[[Subject], list[tuple[str, str, dt.date]]]:
    """`events(subject)`: (event key, what a person reads, event day) of each event of `rule`
    on `subject` this sync. What depends on the rule alone is worked out once, not per record.
    `entered`: (rule, record, "enters:<Stage>") of the entries into a stage the Log holds."""
    t, as_of = rule.trigger, world.as_of
    label = world.labels.get(rule.kind, {}).get(t.field or "", t.field or "")
    records_watched = (rule.kind, SEEN_RECORD) in state.watched
    seen = state.seen

    if t.kind == "created":
        def events(subject: Subject) -> list[tuple[str, str, dt.date]]:
            if records_watched and (subject.id, SEEN_RECORD) not in seen:
                return [("created", _("created"), as_of)]
            return []
    elif t.kind in ("changes", "enters"):
        field_key = t.field or ""
        watched = (rule.kind, field_key) in state.watched

        def events(subject: Subject) -> list[tuple[str, str, dt.date]]:
            sid = subject.id
            cur = subject.values.get(field_key)
            if watched and (sid, field_key) in seen:
                prev = seen[(sid, field_key)]
                if (not _same(_record_named(world, rule.kind, field_key, prev),
                              _record_named(world, rule.kind, field_key, cur))
                        and not _retyped(subject, field_key, prev, state, world)):
                    if t.kind == "enters" and _matches(t.to, cur, world, rule.kind, field_key):
                        return [(f"enters:{t.to}@{as_of}", _entered(rule, world), as_of)]
                    if (t.kind == "changes" and _matches(t.from_, prev, world, rule.kind, field_key)
                            and _matches(t.to, cur, world, rule.kind, field_key)):
                        old, new = (_show(world.word(rule.kind, field_key, v)) for v in (prev, cur))
                        return [(f"changes:{field_key}:{_show(prev)}>{_show(cur)}@{as_of}",
                                 _("{field} changed from {old} to {new}", field=label, old=old, new=new), as_of)]
            elif (t.kind == "enters" and records_watched and (sid, SEEN_RECORD) not in seen
                  and _matches(t.to, cur, world, rule.kind, field_key)
                  and (rule.id, sid, f"enters:{t.to}") not in entered):
                # A new record made in the stage; not one whose entry the Log holds, met again.
                return [(f"enters:{t.to}@{as_of}", _entered(rule, world), as_of)]
            return []
    elif t.kind in ("score_above", "score_below"):
        scores_watched = (rule.kind, "score") in state.watched

        def events(subject: Subject) -> list[tuple[str, str, dt.date]]:
            cur = subject.values.get("score")
            prev = seen.get((subject.id, "score"))
            if scores_watched and isinstance(prev, (int, float, Decimal)) and cur is not None:
                threshold, p, c = t.threshold or Decimal(0), Decimal(str(prev)), Decimal(str(cur))
                if t.kind == "score_above" and p <= threshold < c:
                    return [(f"score>{_show(threshold)}@{as_of}",
                             _("score rose above {n} ({old} → {new})", n=_figure(threshold), old=_figure(p), new=_figure(c)),
                             as_of)]
                if t.kind == "score_below" and p >= threshold > c:
                    return [(f"score<{_show(threshold)}@{as_of}",
                             _("score fell below {n} ({old} → {new})", n=_figure(threshold), old=_figure(p), new=_figure(c)),
                             as_of)]
            return []
    elif t.kind == "form":
        # An activity the previous sync's intake appended is read only now, dated the response's
        # day, which that sync evaluated already: it is in `intake`, and due whatever the window.
        intake = state.intake

        def events(subject: Subject) -> list[tuple[str, str, dt.date]]:
            return [(f"form:{act}", _("form response {activity}", activity=act), day)
                    for who, act, day in world.forms if who == subject.id and armed <= day <= as_of
                    and (checked is None or day > checked or act in intake)]
    else:
        # A record first seen now (its watch running since an earlier sync) was not in the sheet
        # when the days up to `checked` were evaluated: its events of those days were never
        # evaluated, so they are due now, once (a lead a form made today, one typed in late). A
        # record seen before keeps (checked, as_of]: its date moved into the past fires nothing.
        def events(subject: Subject) -> list[tuple[str, str, dt.date]]:
            since = None if records_watched and (subject.id, SEEN_RECORD) not in seen else checked
            return [(event, said, due) for event, said, due in _due_events(rule, subject, world)
                    if due >= armed and (since is None or due > since) and due <= as_of]
    return events


def _entered(rule: Rule, world: World) -> str:
    return _("entered {stage}", stage=world.word(rule.kind, "stage", rule.trigger.to))


def _due_events(rule: Rule, subject: Subject, world: World) -> list[tuple[str, str, dt.date]]:
    """The time events of `rule` on `subject`, whatever their day: (key, words, due day)."""
    t = rule.trigger
    if t.kind in ("after", "before"):
        base = subject.values.get(t.field or "")
        if isinstance(base, dt.datetime):
            base = base.date()
        if not isinstance(base, dt.date):
            return []
        due = add_days(base, t.days)
        label = world.labels.get(rule.kind, {}).get(t.field or "", t.field or "")
        said = (_("{n} days after {field} ({day})", n=t.days, field=label, day=day_said(base)) if t.days >= 0 else
                _("{n} days before {field} ({day})", n=-t.days, field=label, day=day_said(base)))
        # Keyed by the day counted from, not the due day: editing N ("3 days after" -> "8 days
        # after") never re-fires what fired; a changed date is a new event.
        return [(f"from:{t.field}:{base.isoformat()}", said, due)]
    if t.kind == "rotting":
        start = subject.values.get("rotting_start")
        if subject.values.get("rotting") and isinstance(start, dt.date):
            return [(f"rotting@{start.isoformat()}", _("started rotting on {day}", day=day_said(start)), start)]
        return []
    if t.kind == "quote":
        out = []
        contact = subject.related.get("contact")
        for outbox_id, who, contact_id, sent in world.quotes:
            if subject.id not in (who, contact_id):
                continue
            due = add_days(sent, t.days)
            asked = {subject.id, who, *((contact_id,) if contact_id else ()), *((contact.id,) if contact else ())}
            replied = any(sent < d <= due for rid in asked for d in world.touched.get(rid, ()))
            if not replied:
                out.append((f"quote:{outbox_id}", _("quote {id} unanswered {n} days", id=outbox_id, n=t.days), due))
        return out
    return []


# -- the run -------------------------------------------------------------------------------------

def run(rows: Sequence[RuleRow], world: World, state: State, log: Sequence[LogEntry], max_per_record: int,
        locale: str) -> Outcome:
    """Every rule over every record of its kind, once: the firings to plan (in rule order,
    then record order), the issues, and the Workflow State after this sync."""
    rules, issues = parse_rules(rows, world, locale)
    state, log = respell(state, log, (r.id for r in rows if r.id), world)
    done_keys = {e.key for e in log}
    fired: dict[tuple[str, str], int] = {}
    lineage: dict[str, tuple[str, ...]] = {}
    logged = {e.key: e.day for e in log}
    own = {e.created for e in log if e.created}
    # (rule, record, "enters:<Stage>") of every logged entry into a stage: a record met again
    # (deleted and typed back, restored from the version history) was not made in that stage.
    entered = {(e.rule, e.record, e.event.split("@")[0]) for e in log if e.event.startswith("enters:")}
    counted: set[str] = set()  # a Log row a person copied is one firing still
    for e in log:
        if e.result == "done" and not follow_ups.is_step(e.event) and e.key not in counted:
            counted.add(e.key)  # a sequence's steps are one firing's
            fired[(e.rule, e.record)] = fired.get((e.rule, e.record), 0) + 1
        if e.created:
            lineage[e.created] = e.chain
    # Only the rules that run keep their days: a rule made inactive (or broken) and active again
    # is armed anew, and fires nothing of the time it was off.
    running = {r.id for r in rules}
    listed_rules = {r.id for r in rows if r.id}  # on or off: an enrollment of one of them may go on
    new = State(armed={k: v for k, v in state.armed.items() if k in running},
                checked={k: v for k, v in state.checked.items() if k in running}, watched={}, seen={},
                pointers={k: v for k, v in state.pointers.items() if k in running}, enrolled=dict(state.enrolled),
                stepped=dict(state.stepped), shapes=dict(state.shapes), known=dict(state.known))
    follow_ups.settle(new.enrolled, new.stepped, world.sequences, done_keys, firing_key)
    firings: list[Firing] = []
    open_load = _Load(world)
    watching = watched_fields(r for r in rules if r.row.ready)
    taken = _baseline(watching, world, state, new)
    if any(r.trigger.kind == "form" for r in rules):  # seen at the next sync (`_events`)
        new.intake = dict.fromkeys(sorted(world.intake), world.as_of)
    waiting: dict[str, list[Firing]] = {}  # rule ID -> its firings that wait this sync
    for rule in rules:
        if not rule.row.ready:
            continue
        armed = new.armed.setdefault(rule.id, world.as_of)
        checked = state.checked.get(rule.id)
        events = _events(rule, world, state, armed, checked, entered)
        held: dict[str, list[tuple[str, str, dt.date]]] = {}  # record ID -> its firings waiting since before
        for (rule_id, record, event), (day, said) in state.waiting.items():
            if rule_id == rule.id:
                held.setdefault(record, []).append((event, said, day))
        unjudged: dict[str, list[tuple[str, str, dt.date]]] = {}  # record ID -> its events not judged before
        for (rule_id, record, event), (day, said) in state.unjudged.items():
            if rule_id == rule.id:
                unjudged.setdefault(record, []).append((event, said, day))
        reads = {relation for relation, _column in rule.condition.columns() if relation}
        passed: list[str] = []  # "OPP-0001: account ACC-0002 (row 3)", a record's events not judged
        for subject in world.subjects.get(rule.kind, []):
            again, later = held.pop(subject.id, ()), unjudged.pop(subject.id, ())
            # A related record read as nothing would make `account.Status != Customer` hold for
            # a customer's deal: its events wait for its row, each judged once it is read.
            unread = {r: label for r, label in world.unjudged.get((subject.kind, subject.id), {}).items()
                      if r in reads} if reads else None
            for waited, (event, said, day) in (*((True, e) for e in again), *((False, e) for e in later),
                                               *((False, e) for e in events(subject))):
                key = firing_key(rule.id, subject.id, event)
                if key in done_keys:
                    continue
                if unread and not waited:
                    new.unjudged[(rule.id, subject.id, event)] = (day, said)
                    first = min(unread)
                    named = _("{id}: {relation} {row}", id=subject.id, relation=_kind_word(first), row=unread[first])
                    if not passed or passed[-1] != named:
                        passed.append(named)
                    continue
                # A firing that waited passed its If on the sync that saw its event.
                verdict = True if waited else rule.condition.verdict(_getter(subject, world))
                if verdict is not True:
                    if isinstance(verdict, Unsure):
                        note_doubts(verdict, world, _("the condition of rule {rule}", rule=rule.id))
                    continue
                firing = Firing(rule, subject, event, said, day, "done", chain=(*lineage.get(subject.id, ()), rule.id))
                if rule.id in lineage.get(subject.id, ()):
                    chain = " → ".join((*lineage[subject.id], rule.id))
                    firing.result, firing.message = "stopped", _(_MESSAGES["workflow_loop"][0], rule=rule.id,
                                                                   record=subject.id, chain=chain)
                    issues.append(_issue(rule.row, "when", rule.row.when, "workflow_loop", severity="warning",
                                         rule=rule.id, record=subject.id, chain=chain))
                elif fired.get((rule.id, subject.id), 0) >= max_per_record:
                    stop_key = firing_key(rule.id, subject.id, "stopped")
                    issues.append(_issue(rule.row, "when", rule.row.when, "workflow_max_firings", severity="warning",
                                         rule=rule.id, n=max_per_record, record=subject.id))
                    if stop_key in done_keys:
                        continue
                    done_keys.add(stop_key)
                    firing = dataclasses.replace(firing, event="stopped", result="stopped",
                                                 message=_(_MESSAGES["workflow_max_firings"][0], rule=rule.id,
                                                           n=max_per_record, record=subject.id))
                else:
                    _act(firing, world, new, open_load, issues)
                    if rule.action == "start_sequence" and firing.result == "done":
                        name = follow_ups.find(world.sequences, rule.row.template) or ""
                        firing.values = {"sequence": name}
                        refused = follow_ups.enroll(new.enrolled, rule.id, subject.id, name, world.as_of, subject.owner,
                                                    lambda event: firing_key(rule.id, subject.id, event) in done_keys,
                                                    listed_rules)
                        if refused:
                            firing.result, firing.message = "skipped", refused
                        else:
                            new.stepped.pop((rule.id, subject.id, name), None)  # an earlier enrollment's
                            new.known[(rule.id, subject.id, name)] = follow_ups.before(
                                follow_ups.about(subject), world.activities, world.as_of)
                    if firing.result == "done":
                        fired[(rule.id, subject.id)] = fired.get((rule.id, subject.id), 0) + 1
                    elif firing.result == "waiting":  # offered again next sync, with its own day
                        new.waiting[(rule.id, subject.id, event)] = (day, said)
                        waiting.setdefault(rule.id, []).append(firing)
                done_keys.add(key)
                firings.append(firing)
        for record, kept in held.items():  # its record is not read now: it waits for it too
            for event, said, day in kept:
                new.waiting[(rule.id, record, event)] = (day, said)
        for record, kept in unjudged.items():
            for event, said, day in kept:
                new.unjudged[(rule.id, record, event)] = (day, said)
        if passed:
            issues.append(_unjudged_issue(rule, passed))
        steps = _follow_ups(rule, world, new, logged, done_keys, lineage, own, open_load, issues)
        gone: dict[str, list[str]] = {}  # sequence -> the records waiting in it, its name gone from the config
        for rule_id, record, name in new.enrolled:
            if rule_id == rule.id and follow_ups.find(world.sequences, name) is None:
                gone.setdefault(name, []).append(record)
        for name, records in sorted(gone.items()):
            # Kept, not stopped, as it may come back; but a rename in sheetcrm.toml left them
            # waiting for good without a word.
            issues.append(_issue(rule.row, "template", rule.row.template, "workflow_sequence_gone",
                                 severity="warning", rule=rule.id, name=name, records=listed(sorted(records), 10)))
        waiting.setdefault(rule.id, []).extend(f for f in steps if f.result == "waiting")
        firings.extend(steps)
        # Never backwards: a sync run with an earlier --as-of must not reopen days already
        # evaluated, or an event whose Log row was lost since would fire a second time.
        new.checked[rule.id] = max(world.as_of, checked) if checked else world.as_of
    new.known = {k: v for k, v in new.known.items() if k in new.enrolled}  # an ended enrollment's go with it
    for held_firings in waiting.values():  # once per rule, at its Then
        if held_firings:
            first = held_firings[0]
            row = first.rule.row
            issues.append(_issue(row, "then", row.then, "workflow_waiting", severity="warning", rule=first.rule.id,
                                 action=action_word(first.rule.action, locale), problem=first.message,
                                 records=listed(sorted({f.subject.id for f in held_firings}), 5), hint=first.hint))
    # The edge triggers' memory: what every watched value is now.
    for kind, key in sorted(watching):
        if kind in world.absent:
            # No record of the kind is read, none can be kept: watching starts again when its tab
            # is back, so its records are not new then (nothing "created", no time event caught up).
            continue
        new.watched[(kind, key)] = state.watched.get((kind, key), world.as_of)
        seen, now = state.seen, new.seen
        # A row a bad cell keeps from the rules is still in the sheet: it keeps what was seen of
        # it, or fixing the cell would make it a new record ("created" again, its time events
        # caught up, a change missed).
        for record in world.unread.get(kind, ()):
            if (record, key) in seen:
                now[(record, key)] = seen[(record, key)]
                if (record, key) in state.cells:
                    new.cells[(record, key)] = state.cells[(record, key)]
        if key == SEEN_RECORD:  # the day the record was first seen
            for subject in world.subjects.get(kind, []):
                at = (subject.id, key)
                now[at] = seen[at] if at in seen else world.as_of
            for subject, day in taken.get((kind, key), ()):
                now[(subject.id, key)] = day
        else:
            for subject in (*world.subjects.get(kind, []), *(s for s, _day in taken.get((kind, key), ()))):
                value = now[(subject.id, key)] = _cell(subject.values.get(key))
                typed = world.cell(subject, key) if world.cell is not None else NOT_A_CELL
                if typed is not NOT_A_CELL and not _same(typed, value):
                    new.cells[(subject.id, key)] = typed
    return Outcome(rules, firings, issues, new, log)


def _unjudged_issue(rule: Rule, passed: Sequence[str]) -> Issue:
    """A warning at the rule's If: the records whose events wait because the condition reads a
    related record whose row has errors (`passed`: "OPP-0001: account ACC-0002 (row 3)")."""
    row = rule.row
    letter, header = row.where.get("condition", (None, None))
    return Issue("warning", row.tab, row.row, letter, header, row.condition, "workflow_related_unread",
                 ngettext("{n} record waits for the rule {rule} until its related record is fixed: the condition "
                          "reads it, and its row has errors: {listed}. Its events are judged once the row is read.",
                          "{n} records wait for the rule {rule} until their related records are fixed: the "
                          "condition reads them, and their rows have errors: {listed}. Their events are judged "
                          "once the rows are read.", len(passed), rule=rule.id, listed=listed(passed, 10)),
                 _("Correct the cells the Validation tab shows on that row; the rule then judges each waiting "
                   "event by them, once."))



def _baseline(watching: set[tuple[str, str]], world: World, state: State,
              new: State) -> dict[tuple[str, str], list[tuple[Subject, dt.date]]]:
    """The records whose IDs this sync hands out that are already "before" the rules (docs/
    workflows.md: a new rule never floods): (kind, key) -> (record, day first seen) to take into
    `seen` now, though no rule acts on them before their ID lands.

    A watch that starts this sync takes in every record there, with its ID or not yet: a
    workbook adopted without IDs gets them at the very sync that arms its rules, and its
    records must not be "created" (or "enter" the stage they sit in) at the next. A record
    taken in so is kept in `new.pending` by its fingerprint. When its ID is not there at the
    next sync (the fill was dropped: a person edited or moved the row meanwhile; on Google),
    the record met again with the same fingerprint, waiting for its next ID or with one a
    person typed, is the same record: it keeps its first day and is no new record. A watch
    already running takes in nothing: a record typed since the last sync is new, and its rule
    fires once its ID has landed. `state.seen` is changed in place (the read's copy)."""
    taken: dict[tuple[str, str], list[tuple[Subject, dt.date]]] = {}
    print_of = world.fingerprint

    def take(subject: Subject, day: dt.date, keys: Iterable[tuple[str, str]]) -> None:
        for at in keys:
            taken.setdefault(at, []).append((subject, day))
        if print_of is not None:
            new.pending[subject.id] = (print_of(subject), day)

    keys_of: dict[str, list[tuple[str, str]]] = {}
    for kind, key in watching:
        keys_of.setdefault(kind, []).append((kind, key))
    met: set[str] = set()
    if state.pending and print_of is not None:
        present = {s.id for kind in keys_of for s in world.subjects.get(kind, [])}
        lost: dict[str, list[dt.date]] = {}  # fingerprint -> days of the records whose ID did not land
        for record, (mark, day) in state.pending.items():
            if record not in present:
                lost.setdefault(mark, []).append(day)
        for kind, keys in keys_of.items() if lost else ():
            for subject in world.pending.get(kind, []):
                if (days := lost.get(print_of(subject))):
                    take(subject, days.pop(), keys)
                    met.add(subject.id)
            if (kind, SEEN_RECORD) in keys:
                for subject in world.subjects.get(kind, []):
                    if (subject.id, SEEN_RECORD) not in state.seen and (days := lost.get(print_of(subject))):
                        state.seen[(subject.id, SEEN_RECORD)] = days.pop()  # its ID typed by a person
    for kind, keys in keys_of.items():
        fresh = [at for at in keys if at not in state.watched]
        if fresh:
            for subject in world.pending.get(kind, []):
                if subject.id not in met:
                    take(subject, world.as_of, fresh)
    return taken


def _follow_ups(rule: Rule, world: World, state: State, logged: Mapping[str, dt.date | None], done_keys: set[str],
                lineage: Mapping[str, tuple[str, ...]], own: set[str], load: _Load,
                issues: list[Issue]) -> list[Firing]:
    """The steps and stops of `rule`'s follow-up sequences due this sync (crm/follow_ups.py
    says when), each a firing of the rule planned as its own action would be."""
    if not any(key[0] == rule.id for key in state.enrolled):
        return []  # `advance` steps and stops only the rule's own enrollments
    subjects = {s.id: s for s in world.subjects.get(rule.kind, [])}
    running = {key: value for key, value in state.enrolled.items() if key[0] == rule.id}
    out = []
    held: set[tuple[str, str, str]] = set()  # enrollments whose step waits this sync
    for due in follow_ups.advance(rule.id, subjects, world, state.enrolled, logged, done_keys,
                                  lambda record, event: firing_key(rule.id, record, event), own, state.stepped,
                                  state.shapes, state.known):
        if due.enrollment in held:
            # A later step of the same day waits behind it: firing it now would take the
            # steps out of the order the team wrote (the email before the task it follows).
            done_keys.discard(firing_key(rule.id, due.subject.id, due.event))
            continue
        if due.step is None:
            out.append(Firing(rule, due.subject, due.event, due.said, world.as_of, "stopped", message=due.message))
            continue
        step = due.step
        row = dataclasses.replace(rule.row, subject=step.subject, template=step.template, due_days=step.due_days,
                                  assign_to=tuple(step.assign_to), auto_approve=step.auto_approve)
        firing = Firing(dataclasses.replace(rule, action=ACTION_OF[normalize_key(step.then)], row=row), due.subject,
                        due.event, due.said, world.as_of, "done", chain=(*lineage.get(due.subject.id, ()), rule.id))
        _act(firing, world, state, load, issues)
        if firing.result == "waiting" and due.enrollment in running:
            # Not logged, so offered again next sync; its enrollment stays until it is.
            state.enrolled.setdefault(due.enrollment, running[due.enrollment])  # type: ignore[index]
            state.stepped[due.enrollment] = min(state.stepped.get(due.enrollment, 0), due.n - 1)  # type: ignore[index]
        if firing.result == "waiting":
            held.add(due.enrollment)  # type: ignore[arg-type]
        out.append(firing)
    return out


def check_follow_ups(sequences: Mapping[str, follow_ups.FollowUpSettings]) -> Mapping[str, follow_ups.FollowUpSettings]:
    """The config's sequences, each step an action a step may take (create task, log activity,
    send email, notify) with the arguments it needs and a Subject that parses. Raises
    KeyedProblem naming "NAME.steps.N.key" (under `follow_ups`), N counted from 1 as people count,
    or "NAME" when it names the same sequence as another (a rule's Template finds a sequence
    ignoring case and accents: which of the two it meant would be a guess)."""
    named: dict[str, str] = {}
    for name in sequences:
        if (other := named.setdefault(normalize_key(name), name)) != name:
            raise KeyedProblem(name, _("is the same name as the follow-up {other} when case and accents are ignored, "
                                       "as a rule's Template names a sequence; give one of them another name",
                                       other=other))
    for name, sequence in sequences.items():
        for index, step in enumerate(sequence.steps, 1):
            where = f"{name}.steps.{index}"
            action = ACTION_OF.get(normalize_key(step.then))
            if action not in STEP_ACTIONS:
                raise KeyedProblem(f"{where}.then", _("\"{text}\" is not an action a follow-up step can take; "
                                                      "write one of: {actions}", text=step.then,
                                                      actions=action_list(STEP_ACTIONS, current())))
            needs = {"create_task": "subject", "log_activity": "subject", "send_email": "template"}.get(action)
            if needs and not getattr(step, needs):
                raise KeyedProblem(f"{where}.{needs}", _("is required for {action}",
                                                         action=in_locale(current(), ACTION_LABELS[action])))
            if step.subject:
                from jinja2 import TemplateSyntaxError

                from sheetcrm.mail.sandbox import syntax_problem

                try:
                    _sandbox().from_string(step.subject)
                except TemplateSyntaxError as e:
                    raise KeyedProblem(f"{where}.subject", _("cannot be read as a template: {problem}",
                                                             problem=syntax_problem(e))) from None
    return sequences


def note_doubts(verdict: Unsure, world: World, condition: str) -> None:
    """Each money comparison that `verdict` left undecided because of the record's amount, kept
    by its cell in `world.undecided` with `condition` (the rule or segment: "the condition of
    rule WF-0001"); those undecided by the condition's own value were said where it is written
    (`parse_rules`). One cell, one fault: `undecided_issues` says each cell once."""
    for d in verdict.doubts:
        at = d.at if d.problem is not None else d.money.at if d.money is not None else None
        if at is None:
            continue
        target, key = at
        title, where = world.places.get(target.kind, (KINDS.get(target.kind, target.kind), {}))
        letter, header = where.get(key, (None, None))
        label = header or world.labels.get(target.kind, {}).get(key, key)
        cell = (title, target.row, letter or label)
        found = world.undecided.get(cell)
        if found is None:
            found = world.undecided[cell] = Undecided(d, title, target.row, letter, label, target.kind, key)
        if condition not in found.conditions:
            found.conditions.append(condition)


def undecided_issues(world: World) -> list[Issue]:
    """A warning at each cell of `world.undecided`, naming every condition it left undecided
    (conditions.doubt_said)."""
    out = []
    for u in world.undecided.values():
        money = u.doubt.money
        if u.doubt.problem is not None:
            code, message, hint = doubt_said(u.doubt, u.conditions, u.header, None)
            out.append(Issue("warning", u.tab, u.row, u.letter, u.header, u.doubt.problem.raw, code, message, hint))
            continue
        if world.rates is None or money is None:
            continue
        code, message, hint = doubt_said(u.doubt, u.conditions, u.header, world.rates)
        shown = f"{money.amount} {money.unsure or money.currency or world.rates.base}"
        out.append(Issue("warning", u.tab, u.row, u.letter, u.header, shown, code, message, hint))
    return out


def money_of(target: Subject, key: str, value: Any, currency_key: str | None) -> Any:
    """A money column's value as a condition compares it (`Money`), its currency from the
    record's value under `currency_key` (World.money); anything but a number as it is."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    currency = None if currency_key is None else target.values.get(currency_key)
    unsure = None
    if isinstance(currency, tuple):
        currency, unsure = currency
    amount = value if isinstance(value, Decimal) else Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return Money(amount, currency, unsure, (target, key))


def _getter(subject: Subject, world: World):
    def get(relation: str | None, column: str) -> Any:
        target = subject if relation is None else subject.related.get(relation)
        kind = subject.kind if relation is None else relation
        key = world.names.get(kind, {}).get(normalize_key(column))
        if key is None:
            raise KeyError(column)
        value = None if target is None else target.values.get(key)
        if target is not None and value is not None and world.rates is not None and key in (money := world.money.get(kind, {})):
            return money_of(target, key, value, money[key])
        if value is not None and (read := world.texts.get(kind, {}).get(key)) is not None:
            return Text(value, *read, at=(target, key))
        words = world.references.get((kind, key))
        if isinstance(words, References) and isinstance(value, str):
            return words.choice(value)
        enum = words or world.enum(kind, key)
        if enum is not None and value is not None:
            # A stage or status is named by any of its words (an alias, Spanish), as `enters`
            # and `changes to` read them: `Stage = Won` holds for a Closed Won deal.
            return Choice(value, enum.get)
        return value
    return get


class _Load(dict[tuple[str, str], int]):
    """(kind, owner as `crm.spellings.key` folds it: case and spaces do not count) -> how many open
    records of that kind the owner holds: counted over the World at the first assignment (`counted`), as most syncs assign no owner, then
    kept up to date by each one."""

    def __init__(self, world: World):
        super().__init__()
        self._world: World | None = world
        # (kind, record ID) -> (owner, rule): the owners this sync's assignments gave. A second
        # rule assigning the same record would write over the first in the same write, both
        # logged "done".
        self.assigned: dict[tuple[str, str], tuple[str, str]] = {}

    def counted(self) -> "_Load":
        if self._world is not None:
            for kind, subjects in self._world.subjects.items():
                for s in subjects:
                    if s.owner and s.open:
                        self[(kind, owner_key(s.owner))] = self.get((kind, owner_key(s.owner)), 0) + 1
            self._world = None
        return self


@functools.cache
def _sandbox() -> Any:
    """The Subject's sandbox: the one policy of every template (mail/sandbox.py), within a cell.
    Made, and jinja2 imported, at the first Subject a sync reads: settings read at every
    command's start import this module (tests/test_startup_imports.py)."""
    from jinja2 import StrictUndefined

    from sheetcrm.mail.sandbox import Sandbox

    return Sandbox(CELL_CHARS, undefined=StrictUndefined, autoescape=False)


def template_context(subject: Subject, labels: Mapping[str, Mapping[str, str]],
                     words: Mapping[tuple[str, str], Mapping[str, str]] = {},
                     aliases: Mapping[str, Mapping[str, tuple[str, ...]]] = {}, locale: str = "en") -> dict[str, Any]:
    """What a workflow template sees of a record: each field by its header (`labels[kind]`:
    key -> header, in the team's language) and by its other names (`aliases[kind]`: key -> the
    sheet's own header and the standard ones in each language, as `World.aliases`), each also
    with its spaces as "_", `ID`, `record` (the same, for headers that are not names), a lead's
    and a contact's whole name as `Name` (`FULL_NAME`, `full_name`), and each related record's
    (`account`, `contact`, …) the same way. A stage or status is the team's
    word for it (`words`, as `World.words`), never the canonical key; a number and a date are
    text as `locale` writes them (`_plain`)."""
    def fields(s: Subject) -> dict[str, Any]:
        shown = labels.get(s.kind, {})
        out = {shown.get(k, k): _plain(words.get((s.kind, k), {}).get(v, v) if isinstance(v, str) else v, locale)
               for k, v in s.values.items()}
        other = aliases.get(s.kind, {})
        for k in s.values:
            for name in other.get(k, ()):
                out.setdefault(name, out[shown.get(k, k)])
        if s.kind in ("lead", "contact") and (full := full_name(s.values)):
            for name in FULL_NAME:  # a column of the team's own so named wins
                out.setdefault(name, full)
        return {**out, **{k.replace(" ", "_"): v for k, v in out.items()}, "ID": s.id}
    mine = fields(subject)
    return {**mine, "record": mine, **{rel: fields(s) for rel, s in subject.related.items()}}


# What a lead's or a contact's template calls the person's whole name: they have First and Last
# Name columns and no Name, and "Follow up: {{ Name }}" reads naturally on every kind. ("Nombre"
# is the Spanish First Name header, so the Spanish whole name is "Nombre completo".)
FULL_NAME = ("Name", "Full Name", "Nombre completo")  # not for people: template names


def full_name(values: Mapping[str, Any]) -> str | None:
    """A lead's or contact's First and Last Name joined by a space; None when both are empty
    (then `{{ Name }}` is undefined and the firing is skipped, never a Subject with a blank)."""
    parts = [" ".join(v.split()) for k in ("first_name", "last_name") if isinstance(v := values.get(k), str)]
    return " ".join(p for p in parts if p) or None


def render_subject(text: str, subject: Subject, world: World) -> str:
    """A Subject template filled from the record: `{{ Name }}`, `{{ Close_Date }}` (a header
    with its spaces as "_"), `{{ record["Close Date"] }}`, `{{ account.Name }}`. Raises
    jinja2.TemplateError."""
    env = _sandbox()
    return env.render(env.from_string(text),
                      template_context(subject, world.labels, world.words, world.aliases, world.locale)).strip()


def _plain(v: Any, locale: str) -> Any:
    """A field's value as a template shows it: a date as the email templates' `date` filter
    writes it in the team's language ("10 de diciembre de 2026", "December 10, 2026": babel's
    long form, which no reader takes for another day, as 10/12/2026 could be), a number with
    the locale's decimal sign and every digit kept ("1500,5" in Spanish), ungrouped, so a
    year or a code is never written "2.026"; a yes/no as the word the team's language has for
    it ("Sí", "No"), never Python's True, though `{% if VIP %}` still tests it (`_YesNo`)."""
    if isinstance(v, bool):
        return _YesNo(in_locale(locale, YES_NO[v]), v)
    if isinstance(v, dt.datetime):
        v = v.date()
    if isinstance(v, dt.date):
        return format_date(v, format="long", locale=locale)
    if isinstance(v, Decimal):
        return show_number(v.normalize(), group=False, locale=locale)
    return "" if v is None else v


class _YesNo(str):
    """A yes/no field as a template shows it ("Sí"), true or false as its cell: a word alone is
    always true, so `{% if VIP %}` would hold for "No", and `VIP == true` would never hold."""

    def __new__(cls, word: str, value: bool) -> "_YesNo":
        made = super().__new__(cls, word)
        made.value = value
        return made

    value: bool

    def __bool__(self) -> bool:
        return self.value

    def __eq__(self, other: object) -> bool:
        return self.value is other if isinstance(other, bool) else str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = str.__hash__


def _act(firing: Firing, world: World, state: State, load: _Load, issues: list[Issue]) -> None:
    """What the firing's action does, in `firing.values` (or why it does not: result skipped)."""
    rule, subject, row = firing.rule, firing.subject, firing.rule.row
    text = None
    if rule.action in ("create_task", "log_activity", "send_email", "notify_now") and row.subject:
        from jinja2.sandbox import SecurityError

        from sheetcrm.mail.sandbox import render_problem

        try:
            text = render_subject(row.subject, subject, world)
            if len(text) > CELL_CHARS:
                raise SecurityError(_("{n} characters, more than a cell holds ({limit})", n=len(text),
                                      limit=CELL_CHARS))
        except Exception as e:  # noqa: BLE001 - a person's template: any failure skips this firing, never the sync
            problem = render_problem(e, row.subject)
            firing.result, firing.message = "skipped", _(_MESSAGES["workflow_render_failed"][0], rule=rule.id,
                                                         record=subject.id, problem=problem)
            issues.append(_issue(row, "subject", row.subject, "workflow_render_failed", severity="warning",
                                 rule=rule.id, record=subject.id, problem=problem))
            return
    if rule.action in ("send_email", "notify_now") and row.template and world.templates is not None:
        problem = world.templates.problem(row.template)
        if problem is not None:
            firing.result, firing.message = "skipped", _(_MESSAGES[problem[0]][0], **problem[1])
            return
    named = _named_owner(row.assign_to[0], subject) if row.assign_to else None
    # A Related cell names a lead, deal, account or contact, never a task: a task's follow-up is
    # about what the task is about.
    about = subject.values.get("related") if subject.kind == "task" else subject.id
    if rule.action == "create_task":
        firing.values = {"subject": text, "due": add_days(firing.day, row.due_days or 0),
                         "related": about, "owner": named or subject.owner}
        _waits(firing, world, "tasks", _filled(firing))
    elif rule.action == "log_activity":
        firing.values = {"date": world.as_of, "subject": text, "related": about, "owner": named or subject.owner}
        _waits(firing, world, "activities", _filled(firing))
    elif rule.action == "assign_owner":
        if subject.owner:
            firing.result, firing.message = "skipped", _("{record} has an owner already", record=subject.id)
            return
        if (earlier := load.assigned.get((subject.kind, subject.id))) is not None:
            firing.result, firing.message = "skipped", _("{record} has an owner already: {owner}, assigned by rule "
                                                         "{rule} at this sync", record=subject.id, owner=earlier[0],
                                                         rule=earlier[1])
            return
        if _waits(firing, world, KINDS[subject.kind], ("owner",)):
            return  # before the round-robin moves
        load = load.counted()
        owner = _next_owner(rule, subject.kind, state, load)
        if owner is None:
            firing.result, firing.message = "skipped", _(_MESSAGES["workflow_no_owner"][0], rule=rule.id,
                                                         record=subject.id)
            issues.append(_issue(row, "assign_to", ", ".join(row.assign_to), "workflow_no_owner", severity="warning",
                                 rule=rule.id, record=subject.id))
            return
        firing.values = {"owner": owner}
        load.assigned[(subject.kind, subject.id)] = (owner, rule.id)
        held = load[(subject.kind, owner_key(owner))] = load.get((subject.kind, owner_key(owner)), 0) + 1
        firing.message = (_("assigned to {owner} (round-robin, {n} of Cap {cap})", owner=owner, n=held, cap=row.cap)
                          if row.cap is not None else _("assigned to {owner} (round-robin)", owner=owner))
    elif rule.action == "send_email":
        unread = None if subject.email else world.unjudged.get((subject.kind, subject.id), {}).get("contact")
        if unread is not None:
            # Its address is in a row the read could not take: the owner's address would stand
            # in for the customer's, and the spent key would keep the contact from ever getting it.
            firing.result = "waiting"
            firing.message = _("The email goes to the contact {row}, whose row has errors, so its address cannot be "
                               "read.", row=unread)
            firing.hint = _("Correct the cells the Validation tab shows on that row; the email is then written to "
                            "its address, once.")
            return
        to = _recipient(subject, world)
        if to is None:
            firing.result, firing.message = "skipped", _(_MESSAGES["workflow_no_recipient"][0], rule=rule.id,
                                                         record=subject.id)
            issues.append(_issue(row, "then", row.then, "workflow_no_recipient", severity="warning", rule=rule.id,
                                 record=subject.id))
            return
        try:
            to = check_mailbox("To", to).addr_spec
        except HeaderError as e:
            # The read refuses such an Email cell already; this is the last gate before a header.
            firing.result, firing.message = "skipped", _(_MESSAGES["workflow_bad_recipient"][0], rule=rule.id,
                                                         record=subject.id, problem=str(e))
            issues.append(_issue(row, "then", row.then, "workflow_bad_recipient", severity="warning", rule=rule.id,
                                 record=subject.id, problem=str(e)))
            return
        # Sent without a person's approval only when the rule asks for it AND the mail stays in the team.
        firing.auto_approve = row.auto_approve and world.is_internal(to)
        if row.auto_approve and not firing.auto_approve:
            issues.append(_issue(row, "auto_approve", True, "workflow_not_internal", severity="warning",
                                 rule=rule.id, to=to, record=subject.id))
        firing.values = {"to": to, "subject": text or row.template or "", "template": row.template,
                         "related": subject.id}
    elif rule.action == "notify":
        owner = named or subject.owner
        firing.values = {"owner": owner}
        if follow_ups.is_step(firing.event) and owner:
            # The Log row names whom it tells (Details): a step is known by its number, and a
            # step inserted or removed in sheetcrm.toml before the digest went out made the
            # digest read another step's Assign To, telling someone else or no one.
            firing.message = owner
        # Logged done all the same (the digest tells an event once it finds an address); one
        # that reaches no one is said at the rule at every sync while it does (steps/workflows.py).
    elif rule.action == "notify_now":
        owner = named or subject.owner
        address = owner_lookup(world.owner_email, owner)  # "ana" is Ana, as round-robin counts her
        if owner is None or address is None:
            firing.result, firing.message = "skipped", _(_MESSAGES["workflow_no_owner_address"][0], rule=rule.id,
                                                         owner=owner or "∅", record=subject.id)
            issues.append(_issue(row, "then", row.then, "workflow_no_owner_address", severity="warning",
                                 rule=rule.id, owner=owner or "∅", record=subject.id))
            return
        # To the team itself (an [owners] address, checked by the config): approved at once.
        firing.auto_approve = True
        firing.values = {"to": address, "owner": owner, "template": row.template,
                         "subject": text or _("{rule}: {record}, {event}", rule=row.name or rule.id,
                                              record=subject.id, event=firing.said),
                         "related": subject.id}


def _filled(firing: Firing) -> tuple[str, ...]:
    """The fields of a new task's or activity's row that must land for the firing to be done:
    what the rule's own arguments make (its Subject, the Owner its Assign To names) and the
    record it is about (Related). An Owner taken from the record may go where the tab has no
    Owner column (a team that does not track who does its tasks), as a Status or Type may."""
    values = firing.values
    return (*(f for f in ("subject", "related") if values.get(f) not in (None, "")),
            *(("owner",) if firing.rule.row.assign_to and values.get("owner") else ()))


def _waits(firing: Firing, world: World, tab: str, fields: Iterable[str]) -> bool:
    """Whether `firing` waits because the tab `tab` (`World.tabs`) cannot take its action whole:
    the workbook has no such tab, it has no room for sheetcrm's ID column, or it has no column
    for the ID, for a field the tab requires (without which no row of it is read: a task's Due)
    or for one of `fields` (what the action must fill). Then its result is "waiting", its
    message says why and its hint what to do, the team's header first. A row written without
    one of those cells, its firing logged as done, could never be completed: the key is spent."""
    columns = world.tabs.get(tab)
    if columns is None:
        return False
    title = columns.title
    needed = list(dict.fromkeys(("id", *sorted(columns.required), *fields)))
    if columns.fields is None:
        headers = ", ".join(f'"{columns.headers.get(f, (f, f))[0]}"' for f in needed)
        problem = _('There is no "{tab}" tab.', tab=title)
        hint = _('Add a "{tab}" tab headed {headers}.', tab=title, headers=headers)
    elif columns.full:
        problem = _('The "{tab}" tab has no room for the ID column sheetcrm adds.', tab=title)
        hint = _('Free the columns at the right end of the "{tab}" tab, as its error on the Validation tab says.',
                 tab=title)
    else:
        missing = [f for f in needed if f not in columns.fields]
        if not missing:
            return False
        named = [columns.headers.get(f, (f, f)) for f in missing]
        problem = _('The "{tab}" tab has no column sheetcrm reads as {columns}.', tab=title,
                    columns=", ".join(f'"{mine}"' for mine, _other in named))
        hint = _('Add a column headed {headers} to the "{tab}" tab, or give that header to the column that holds it.',
                 tab=title,
                 headers=", ".join(_both(mine, other) for mine, other in named))
    firing.result, firing.message, firing.hint = "waiting", problem, hint
    return True


def _both(mine: str, other: str) -> str:
    """A header in the team's language, then in the other when it differs: a hint names both."""
    if mine == other:
        return f'"{mine}"'
    return _('"{name}" (or "{other}")', name=mine, other=other)


# An Assign To that names the owner of the record's account rather than a person (a case's
# account owner is told of an urgent case, not the support agent who owns it).
_ACCOUNT_OWNER = frozenset(normalize_key(w) for w in ("account owner", "propietario de la cuenta"))  # not for people: read as


def is_account_owner(named: str) -> bool:
    """Whether an Assign To names the record's account owner ("account owner",
    "propietario de la cuenta") rather than a person."""
    return normalize_key(named) in _ACCOUNT_OWNER


def _named_owner(named: str, subject: Subject) -> str | None:
    """The person an Assign To names: itself, or for "account owner" the Owner of the record's
    account (the record itself, for an account); None when that account has no owner."""
    if not is_account_owner(named):
        return named
    account = subject if subject.kind == "account" else subject.related.get("account")
    return account.owner if account is not None else None


def _recipient(subject: Subject, world: World) -> str | None:
    # The record's own Email; else its contact's (a deal's Contact, an account's Primary Contact);
    # else its owner's address under [owners].
    if subject.email:
        return subject.email
    contact = subject.related.get("contact")
    if contact is not None and contact.email:
        return contact.email
    return owner_lookup(world.owner_email, subject.owner)


def _next_owner(rule: Rule, kind: str, state: State, load: dict[tuple[str, str], int]) -> str | None:
    """Round-robin over Assign To from the rule's pointer, skipping owners at their Cap of open
    records of the kind; the pointer moves past the one chosen."""
    people = rule.row.assign_to
    start = state.pointers.get(rule.id, 0)
    for step in range(len(people)):
        index = (start + step) % len(people)
        person = people[index]
        if rule.row.cap is None or load.get((kind, owner_key(person)), 0) < rule.row.cap:
            state.pointers[rule.id] = (index + 1) % len(people)
            return person
    return None


def result_word(result: str, locale: str) -> str:
    return in_locale(locale, RESULTS[result])


def action_word(action: str, locale: str) -> str:
    return in_locale(locale, ACTION_LABELS[action])


def action_list(actions: Iterable[str], locale: str) -> str:
    """The actions' names as the Log writes them ("create task, log activity, …"), for hints."""
    return ", ".join(action_word(a, locale) for a in actions)
