"""Typed CRM records, one pydantic model per tab.

Each field is annotated with the English header a team sees (`title`); its Spanish header
and the other headers that mean the same (other CRMs' exports among them) are data, in
`aliases.toml`. `schema.py` derives the tabs' columns from these models, so a column is
declared once. Cell coercion is sheetcrm's own (`cells.py`): spreadsheets hold "1.234,50 €" and serial
dates, which pydantic's own coercion would not read. The locale and the configured stages
reach the validators through pydantic's validation context.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Callable, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, model_validator
from pydantic_core import PydanticCustomError

from sheetcrm import aliases, cells
from sheetcrm.i18n import N_, _, current


@dataclass(frozen=True)
class ParseContext:
    locale: str = "en"
    # normalize_key(alias) -> canonical stage name
    stages: Mapping[str, str] = field(default_factory=dict)
    # Whether the config sets the locale; when it does not, a tab's language may decide.
    locale_set: bool = True
    currency: str = "USD"  # the base currency: what an ambiguous "$" means when it can
    # The stages as a hint names them, in the team's words (validate.parse_context).
    stage_words: tuple[str, ...] = ()
    # field -> the context of that column, with the locale its own cells settled (table.py)
    columns: Mapping[str, "ParseContext"] = field(default_factory=dict)
    # The team's time zone (an IANA name; None: the machine's): a date-time written with its UTC
    # offset ("2026-11-30T23:30:00Z") is read on the team's wall clock (cells.team_moment).
    zone: str | None = None
    # normalize_key(word) -> lead status, the built-in words and the config's `[lead_statuses]`
    # (`lead_status_choices`); empty: the built-in words only.
    lead_statuses: Mapping[str, str] = field(default_factory=dict)


def _cell(parse: Callable[[Any, ParseContext], Any], required: bool = False, kind: str = "text",
          check: Callable[[Any, Any], None] | None = None) -> BeforeValidator:
    """A field read from its cell by `parse`; `check(value, raw)` may refuse a value read (a
    `CellError`), however its column read it."""
    def validate(raw: Any, info: ValidationInfo) -> Any:
        ctx: ParseContext = info.context or ParseContext()
        try:
            # table.py hands over a cell its column already read, or the reason it cannot be.
            if isinstance(raw, cells.Read):
                value = raw.value
            elif isinstance(raw, cells.CellError):
                raise raw
            else:
                value = parse(raw, ctx.columns.get(info.field_name, ctx) if ctx.columns else ctx)
            if check is not None and value is not None:
                check(value, raw.raw if isinstance(raw, cells.Read) else raw)
        except cells.CellError as e:
            raise PydanticCustomError(e.code, "{message}", {"message": e.message, "hint": e.hint}) from None
        if value is None and required:
            raise PydanticCustomError(
                "required", "{message}", {"message": _("This column is required but the cell is empty."),
                                          "hint": _("Fill in a value.")})
        return value

    validate.choices = getattr(parse, "choices", ())  # type: ignore[attr-defined]  # for dropdowns
    validate.aliases = getattr(parse, "aliases", {})  # type: ignore[attr-defined]  # value -> its other words
    validate.kind = "enum" if validate.choices else kind  # type: ignore[attr-defined]  # how table.py reads the column
    return BeforeValidator(validate)


def _enum(what: str, canonical_to_aliases: dict[str, list[str]]) -> Callable[[Any, ParseContext], Any]:
    """A built-in list of values; `what` (an N_ constant) names it in messages. The first alias of
    each value is its Spanish word, what a Spanish message lists."""
    choices = cells.enum_choices(canonical_to_aliases)

    def allowed() -> list[str]:
        spanish = current() == "es"
        return [aliases[0] if spanish and aliases else value for value, aliases in canonical_to_aliases.items()]

    def parse(raw: Any, ctx: ParseContext) -> str | None:
        return cells.parse_enum(raw, choices, lambda: _(what), allowed)

    parse.choices = tuple(canonical_to_aliases)  # type: ignore[attr-defined]
    parse.aliases = canonical_to_aliases  # type: ignore[attr-defined]
    parse.allowed = allowed  # type: ignore[attr-defined]
    return parse


def _stage(raw: Any, ctx: ParseContext) -> str | None:
    return cells.parse_enum(raw, ctx.stages, lambda: _(_STAGE), (lambda: ctx.stage_words) if ctx.stage_words else None)


_STAGE = N_("stage")


Text = Annotated[str | None, _cell(lambda raw, ctx: cells.parse_text(raw))]
RequiredText = Annotated[str, _cell(lambda raw, ctx: cells.parse_text(raw), required=True)]
Number = Annotated[Decimal | None, _cell(lambda raw, ctx: cells.parse_number(raw, ctx.locale), kind="number")]
RequiredNumber = Annotated[Decimal, _cell(lambda raw, ctx: cells.parse_number(raw, ctx.locale), required=True,
                                          kind="number")]
# An amount of money: its cell may name its currency ("JPY 10,000"), which table.py carries to
# the record's Currency field. Only an amount may: a number, whole number or percentage written
# with a currency ("$50" under Discount %) is an error at its cell (cells.parse_number).
Money = Annotated[Decimal | None, _cell(lambda raw, ctx: cells.parse_amount(raw, ctx.locale), kind="money")]
RequiredMoney = Annotated[Decimal, _cell(lambda raw, ctx: cells.parse_amount(raw, ctx.locale), required=True,
                                         kind="money")]


def _not_negative(message: str, hint: str) -> Callable[[Any, Any], None]:
    """A check refusing an amount below 0 (`negative_amount`); `message` and `hint` are N_
    constants, `message` with {shown}, the cell as written."""
    def check(value: Decimal, raw: Any) -> None:
        if value < 0:
            raise cells.CellError("negative_amount", _(message, shown=cells.quoted(raw)), _(hint), raw)
    return check


def _money_not_negative(message: str, hint: str, required: bool = False) -> BeforeValidator:
    return _cell(lambda raw, ctx: cells.parse_amount(raw, ctx.locale), required=required, kind="money",
                 check=_not_negative(message, hint))


# A deal worth less than nothing is a typo or a credit note, which is no deal: counted, it nets
# won revenue and the pipeline down with no word (-500 won beside 1000 shows 500 won from 2
# deals). Refused, the deal is left out of totals like any unreadable amount.
DealAmount = Annotated[Decimal | None, _money_not_negative(
    N_("{shown} is a negative amount: a deal is worth 0 or more."),
    N_("Write the deal's amount without a minus sign or parentheses; a refund or credit note is no deal."))]
# A lead's Amount is the deal its conversion opens (crm/conversion.py): refused below 0 as the
# deal's would be, before the conversion writes it into an Opportunities row.
LeadAmount = Annotated[Decimal | None, _money_not_negative(
    N_("{shown} is a negative amount: the deal this lead would open is worth 0 or more."),
    N_("Write the amount without a minus sign or parentheses."))]
# A campaign's cost below 0 is a typo or a refund: used, it turns Cost per Lead and ROI into
# nonsense (-100 spent, 500 won: ROI -600 %) with no word. Refused, the campaign's row is left
# out of the figures, as with any cost that cannot be read.
CampaignMoney = Annotated[Decimal | None, _money_not_negative(
    N_("{shown} is a negative amount: a campaign's budget or cost is 0 or more."),
    N_("Write the amount without a minus sign or parentheses; a refund belongs in a lower Actual Cost."))]
Integer = Annotated[int | None, _cell(lambda raw, ctx: cells.parse_integer(raw, ctx.locale), kind="integer")]
Percent = Annotated[Decimal | None, _cell(lambda raw, ctx: cells.parse_percent(raw, ctx.locale), kind="percent")]
Day = Annotated[dt.date | None, _cell(lambda raw, ctx: cells.parse_day(raw, ctx.locale, ctx.zone), kind="date")]
RequiredDay = Annotated[dt.date, _cell(lambda raw, ctx: cells.parse_day(raw, ctx.locale, ctx.zone), required=True,
                                       kind="date")]
# A date and time of day (to the minute); a date alone is that day at midnight.
Moment = Annotated[dt.datetime | None, _cell(lambda raw, ctx: cells.parse_moment(raw, ctx.locale, ctx.zone),
                                             kind="datetime")]
RequiredMoment = Annotated[dt.datetime, _cell(lambda raw, ctx: cells.parse_moment(raw, ctx.locale, ctx.zone),
                                              required=True,
                                              kind="datetime")]
Email = Annotated[str | None, _cell(lambda raw, ctx: cells.parse_email(raw), kind="email")]
Currency = Annotated[str | None, _cell(lambda raw, ctx: cells.parse_currency(raw, ctx.currency), kind="currency")]
Stage = Annotated[str, _cell(_stage, required=True, kind="enum")]

CUSTOM_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "text": lambda raw, locale: cells.parse_text(raw),
    "number": cells.parse_number,
    "money": cells.parse_amount,  # an amount: its cell may name its currency ("$500", "8000 EUR")
    "integer": cells.parse_integer,
    "percent": lambda raw, locale: cells.parse_percent(raw, locale, bounded=False),  # any: a growth of 150 %
    "date": cells.parse_date,
    "bool": lambda raw, locale: cells.parse_bool(raw),
    "email": lambda raw, locale: cells.parse_email(raw),
}


def col(title: str) -> Any:
    """A column and its English header; the Spanish header and the other headers that mean the
    same are data (`aliases.toml`), attached below by `_attach_aliases`."""
    return Field(default=None, title=title)


@dataclass(frozen=True, slots=True)
class Priced:
    """What the read knows of one filled amount cell beyond its number (`Record.priced`,
    table._priced): the currency it names and whether its number is doubted.

    `currency`: the ISO code the cell names in its text ("8000 EUR"), else by its number format
    ([$€-2] #,##0), else, in a team's own column, the one its header names in brackets
    ("Budget (EUR)"); read as `cells.currency_of` reads a token against the base currency.
    None: it names none, or only a symbol no currency can be told from ("kr").
    `symbol`: that token as written when it names several currencies ("$", "¥", "kr"):
    `currency` is then the base currency or the symbol's usual one, a guess.
    `doubt`: why the number is not read with confidence (the read's words at the cell: "read
    as 8000; could be 8", a cell the column's reading left out); None when it is sure."""

    currency: str | None = None
    symbol: str | None = None
    doubt: str | None = None


class Record(BaseModel):
    # Records are values computed from one read; nothing mutates them afterwards.
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    row: int = Field(default=0, exclude=True)  # the sheet's own row number
    custom: dict[str, Any] = Field(default_factory=dict, exclude=True)  # the team's own columns
    # Each filled amount cell's currency and doubt, by field (Amount) or custom header (a
    # Budget, a column typed money): None when the row has none (most rows of most tabs).
    priced: dict[str, Any] | None = Field(default=None, exclude=True)  # of Priced

    def __reduce__(self) -> tuple[Any, ...]:
        # The parse memo pickles every record (51k at 10k leads, 510k at 100k), and a changed
        # tab is pickled again whole. Its fields and its set of fields, rebuilt without
        # pydantic's state dict (`_rebuilt`), pickle a sixth faster (the 100k memo: 7.4 -> 6.2 s,
        # in one process, alternating) into 4% fewer bytes; unpickling is about as fast (1.8 s).
        # That is all a record holds: extra fields are forbidden and records have no private
        # attributes (were one to appear, pydantic's own state is pickled).
        if self.__pydantic_extra__ or self.__pydantic_private__:
            return _restored, (type(self), self.__getstate__())
        return _rebuilt, (type(self), self.__dict__, self.__pydantic_fields_set__)


def _rebuilt(cls: type[Record], values: dict[str, Any], fields_set: set[str]) -> Record:
    """A record from its pickled fields (`Record.__reduce__`), as pydantic's `__setstate__` makes
    it, minus the state dict."""
    record = cls.__new__(cls)
    object.__setattr__(record, "__dict__", values)
    object.__setattr__(record, "__pydantic_fields_set__", fields_set)
    object.__setattr__(record, "__pydantic_extra__", None)
    object.__setattr__(record, "__pydantic_private__", None)
    return record


def _restored(cls: type[Record], state: dict[str, Any]) -> Record:
    record = cls.__new__(cls)
    record.__setstate__(state)
    return record


class Account(Record):
    id: Text = col("ID")
    name: RequiredText = col("Name")
    domain: Text = col("Domain")
    industry: Text = col("Industry")
    employees: Integer = col("Employees")
    country: Text = col("Country")
    owner: Text = col("Owner")
    # The contact a workflow email about the account goes to (docs/workflows.md): a contact's
    # ID, full name or email, resolved like every reference (validate.py).
    primary_contact: Text = col("Primary Contact")  # not for people: recognised header
    status: Annotated[str | None, _cell(_enum(N_("account status"), {
        "Prospect": ["Prospecto"], "Customer": ["Cliente"], "Churned": ["Perdido", "Baja", "Churn"],
        "Partner": ["Socio"]}))] = col("Status")
    created: Day = col("Created")


class Contact(Record):
    id: Text = col("ID")
    account: Text = col("Account")
    first_name: Text = col("First Name")  # not for people: recognised header
    last_name: RequiredText = col("Last Name")  # not for people: recognised header
    email: Email = col("Email")
    phone: Text = col("Phone")
    title: Text = col("Title")
    owner: Text = col("Owner")
    created: Day = col("Created")


# Spain's spelling beside Latin America's ("Cualificado", "Calificado"), and each in the feminine
# a team may agree with "la oportunidad" or "la persona": one status, however the team writes it.
LEAD_STATUSES = {
    "New": ["Nuevo", "Nueva"], "Contacted": ["Contactado", "Contactada"],
    "Qualified": ["Calificado", "Cualificado", "Calificada", "Cualificada"],
    "Unqualified": ["No calificado", "No cualificado", "No calificada", "No cualificada", "Descalificado",  # not for people: recognised values
                    "Descalificada", "Descartado", "Descartada", "Not qualified", "Disqualified"],  # not for people: recognised values
    "Converted": ["Convertido", "Convertida"],
}


_STATUS_CHOICES = cells.enum_choices(LEAD_STATUSES)


def lead_status_choices(extra: Mapping[str, list[str]]) -> dict[str, str]:
    """normalize_key(word) -> lead status, for the built-in words and `extra` (status -> other
    words, the config's `[lead_statuses]`, checked by `check_lead_statuses`)."""
    return cells.enum_choices({status: [*words, *extra.get(status, [])] for status, words in LEAD_STATUSES.items()})


def check_lead_statuses(extra: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """`[lead_statuses]` as the config file has it (a status, in any of its words -> other words)
    keyed by the status's name. Raises KeyError (the key) for a key that is no status, and
    ValueError (the word, its status) for a word that is already another status's."""
    out: dict[str, list[str]] = {}
    for key, words in extra.items():
        status = _STATUS_CHOICES.get(cells.normalize_key(key))
        if status is None:
            raise KeyError(key)
        out.setdefault(status, []).extend(words)
    taken = dict(_STATUS_CHOICES)
    for status, words in out.items():
        for word in words:
            other = taken.setdefault(cells.normalize_key(word), status)
            if other != status:
                raise ValueError(word, other)
    return out


def _status(raw: Any, ctx: ParseContext) -> str | None:
    return cells.parse_enum(raw, ctx.lead_statuses or _STATUS_CHOICES, lambda: _(_LEAD_STATUS),
                            _BUILT_IN_STATUS.allowed)  # type: ignore[attr-defined]


_LEAD_STATUS = N_("lead status")
_BUILT_IN_STATUS = _enum(_LEAD_STATUS, LEAD_STATUSES)
# The Status column's dropdown and a workflow's `Status = ...` take the built-in words (`_enum`).
_status.choices, _status.aliases = _BUILT_IN_STATUS.choices, _BUILT_IN_STATUS.aliases  # type: ignore[attr-defined]


class Lead(Record):
    id: Text = col("ID")
    first_name: Text = col("First Name")  # not for people: recognised header
    last_name: Text = col("Last Name")  # not for people: recognised header
    company: Text = col("Company")
    email: Email = col("Email")
    phone: Text = col("Phone")
    title: Text = col("Title")
    source: Text = col("Source")
    campaign: Text = col("Campaign")
    status: Annotated[str | None, _cell(_status)] = col("Status")
    owner: Text = col("Owner")
    created: Day = col("Created")
    # What a conversion carries (crm/conversion.py): the deal, the company's site and country.
    deal_name: Text = col("Deal Name")  # not for people: recognised header
    amount: LeadAmount = col("Amount")
    currency: Currency = col("Currency")
    website: Text = col("Website")
    country: Text = col("Country")
    # Ticked by a person to convert the lead on the next sync (as a Status of Converted does).
    convert: Annotated[bool | None, _cell(lambda raw, ctx: cells.parse_bool(raw))] = col("Convert")

    @model_validator(mode="after")
    def _identifiable(self) -> "Lead":
        if not (self.last_name or self.company or self.email):
            raise PydanticCustomError("lead_identity", "{message}", {
                "message": _("A lead needs at least a Last Name, a Company or an Email."),
                "hint": _("Fill in one of Last Name, Company or Email.")})
        return self


class Opportunity(Record):
    id: Text = col("ID")
    name: RequiredText = col("Name")
    account: RequiredText = col("Account")
    contact: Text = col("Contact")
    owner: Text = col("Owner")
    stage: Stage = col("Stage")
    amount: DealAmount = col("Amount")
    currency: Currency = col("Currency")
    probability: Percent = col("Probability")
    close_date: Day = col("Close Date")  # not for people: recognised header
    created: Day = col("Created")
    # A person's call on the forecast, over the stage's category (Salesforce's override).
    # Carried over from the lead a conversion made this deal of (crm/conversion.py).
    source: Text = col("Source")
    campaign: Text = col("Campaign")
    category_override: Annotated[str | None, _cell(_enum(N_("forecast category"), {
        "Pipeline": ["Embudo"], "Best Case": ["Mejor caso"], "Commit": ["Compromiso"], "Closed": ["Cerrado"],  # not for people: recognised values
        "Omitted": ["Omitido", "Excluido"]}))] = col("Category Override")  # not for people: recognised header
    # Ticked by a person to queue this opportunity's quote as a Draft in the Outbox. sheetcrm
    # never clears it: the quote's version decides whether a tick queues anything new.
    send_quote: Annotated[bool | None, _cell(lambda raw, ctx: cells.parse_bool(raw))] = col("Send Quote")  # not for people: recognised header


# An activity's Type -> the other words it is typed as. The one list: the scoring's engagement
# points are keyed by these too (crm.rules.ACTIVITY_TYPES), Form Submitted (sheetcrm's own) as well.
ACTIVITY_TYPES = {
    "Call": ["Llamada"], "Email": ["Correo", "E-mail", "Mail"], "Meeting": ["Reunión", "Reunion", "Visita"],  # not for people: recognised values
    "Note": ["Nota"], "Form Submitted": ["Formulario enviado", "Form submission"]}  # not for people: recognised values


class Activity(Record):
    id: Text = col("ID")
    date: RequiredDay = col("Date")
    type: Annotated[str | None, _cell(_enum(N_("activity type"), ACTIVITY_TYPES))] = col("Type")
    subject: Text = col("Subject")
    related: Text = col("Related")
    owner: Text = col("Owner")
    outcome: Text = col("Outcome")


_TASK_STATUS = _enum(N_("task status"), {
    # Other CRMs' exports write their own (Salesforce, HubSpot: Not Started, In Progress,
    # Waiting on someone else, Completed).
    "Open": ["Abierta", "Pendiente", "To do", "Todo", "Not Started", "In Progress", "Waiting on someone else",  # not for people: recognised values
             "Sin empezar", "En curso", "En progreso"],  # not for people: recognised values
    "Done": ["Hecha", "Hecho", "Completada", "Completado", "Completed", "Cerrada", "Terminada", "Terminado",  # not for people: recognised values
             "Finalizada", "Finalizado", "Realizada", "Realizado", "Finished"]})  # not for people: recognised values


def _task_status(raw: Any, ctx: ParseContext) -> str | None:
    """Open or Done. A tick is Done and an empty box Open: teams keep tasks as a column of
    checkboxes (a Google checkbox reads TRUE or FALSE), or type ✓ or x, often under a header
    Done or Hecha (aliases.toml). Read as an unknown word, every ticked task was left out with an
    error; under a Done header the column was not found at all, and each one counted overdue."""
    try:
        return _TASK_STATUS(raw, ctx)
    except cells.CellError as word:
        try:
            ticked = cells.parse_bool(raw)
        except cells.CellError:
            raise word from None
        return None if ticked is None else "Done" if ticked else "Open"


_task_status.choices = _TASK_STATUS.choices  # type: ignore[attr-defined]
_task_status.aliases = _TASK_STATUS.aliases  # type: ignore[attr-defined]
_task_status.allowed = _TASK_STATUS.allowed  # type: ignore[attr-defined]


class Task(Record):
    id: Text = col("ID")
    due: RequiredDay = col("Due")
    subject: RequiredText = col("Subject")
    related: Text = col("Related")
    owner: Text = col("Owner")
    status: Annotated[str | None, _cell(_task_status)] = col("Status")


class Product(Record):
    sku: RequiredText = col("SKU")
    name: RequiredText = col("Name")
    unit_price: RequiredMoney = col("Unit Price")  # not for people: recognised header
    currency: Currency = col("Currency")
    tax_rate: Percent = col("Tax Rate")  # not for people: recognised header


class QuoteLine(Record):
    opportunity: RequiredText = col("Opportunity")
    sku: RequiredText = col("SKU")
    quantity: RequiredNumber = col("Quantity")
    unit_price: Money = col("Unit Price")  # not for people: recognised header
    discount: Percent = col("Discount %")
    # The currency the Unit Price cell names ("£4,000", "1000 EUR", a currency number format),
    # carried here by table.py; no column of its own. A line is priced in its quote's currency,
    # so validate.py finds a price in another one in conflict rather than reading £4,000 as $4,000.
    currency: Currency = Field(default=None, exclude=True)


def _within(low: int, high: int | None, message: str, hint: str) -> Callable[[Any, Any], None]:
    """A check refusing a whole number outside low..high (`out_of_range`); `message` and `hint`
    are N_ constants, `message` with {shown}, the cell as written."""
    def check(value: int, raw: Any) -> None:
        if value < low or high is not None and value > high:
            raise cells.CellError("out_of_range", _(message, shown=cells.quoted(raw)), _(hint), raw)
    return check


# The bounds sheetcrm.toml sets for a rule (crm.workflows.RuleSettings), at the tab's cell too: a
# task due before the event that made it (-2) is overdue the moment it is written, and a Cap of 0
# leaves no owner to assign, every firing skipped.
DueDays = Annotated[int | None, _cell(lambda raw, ctx: cells.parse_integer(raw, ctx.locale), kind="integer",
                                      check=_within(0, 3650, N_(
                                          "{shown} is no number of days to a task's due date: a task is due 0 to "
                                          "3650 days after the event that made it."),
                                          N_("Write 0 for the event's day, or how many days after it.")))]
Cap = Annotated[int | None, _cell(lambda raw, ctx: cells.parse_integer(raw, ctx.locale), kind="integer",
                                  check=_within(1, None, N_("{shown} is no Cap: an owner can never hold fewer open "
                                                            "records than 0, so no one would ever be assigned."),
                                                N_("Write how many open records each owner may hold (1 or more), or "
                                                   "leave Cap empty for no limit.")))]


class Workflow(Record):
    """A rule of the Workflows tab (crm/workflows.py reads its When, If and Then)."""

    id: Text = col("ID")
    name: Text = col("Name")
    active: Annotated[bool | None, _cell(lambda raw, ctx: cells.parse_bool(raw))] = col("Active")
    record: Text = col("Record")
    when: Text = col("When")
    condition: Text = col("If")
    then: Text = col("Then")
    subject: Text = col("Subject")
    due_days: DueDays = col("Due (days)")
    template: Text = col("Template")
    assign_to: Text = col("Assign To")  # not for people: recognised header
    cap: Cap = col("Cap")
    auto_approve: Annotated[bool | None, _cell(lambda raw, ctx: cells.parse_bool(raw))] = col("Auto Approve")  # not for people: recognised header


class Campaign(Record):
    """A marketing campaign of the Campaigns tab (crm/campaigns.py): what it cost and, through the
    leads and deals that name it, what it brought."""

    id: Text = col("ID")
    name: RequiredText = col("Name")
    type: Text = col("Type")
    status: Annotated[str | None, _cell(_enum(N_("campaign status"), {
        "Planned": ["Planificada", "Planeada", "Prevista"], "In Progress": ["En curso", "Activa", "Active"],  # not for people: recognised values
        "Completed": ["Completada", "Terminada", "Finalizada"], "Aborted": ["Cancelada", "Cancelled", "Canceled"]}))] = col("Status")
    start: Day = col("Start")
    end: Day = col("End")
    budget: CampaignMoney = col("Budget")
    actual_cost: CampaignMoney = col("Actual Cost")  # not for people: recognised header
    currency: Currency = col("Currency")
    owner: Text = col("Owner")


# A case's priority and status (crm/cases.py): the first alias is the Spanish word.
CASE_PRIORITIES = {"Low": ["Baja"], "Normal": ["Normal", "Media", "Medium"], "High": ["Alta"], "Urgent": ["Urgente"]}
CASE_STATUSES = {"New": ["Nuevo", "Nueva"], "Open": ["Abierto", "Abierta"],
                 "Pending": ["Pendiente", "En espera", "On hold", "Waiting"],  # not for people: recognised values
                 "Resolved": ["Resuelto", "Resuelta", "Solved"], "Closed": ["Cerrado", "Cerrada"]}


class Case(Record):
    """A row of the optional Cases tab (after-sales tickets; crm/cases.py computes its SLA)."""

    id: Text = col("ID")
    account: Text = col("Account")
    contact: Text = col("Contact")
    subject: Text = col("Subject")
    priority: Annotated[str | None, _cell(_enum(N_("case priority"), CASE_PRIORITIES))] = col("Priority")
    status: Annotated[str | None, _cell(_enum(N_("case status"), CASE_STATUSES))] = col("Status")
    channel: Text = col("Channel")
    opened: RequiredMoment = col("Opened")
    resolved: Moment = col("Resolved")
    owner: Text = col("Owner")


class Segment(Record):
    """A named segment of the Segments tab (crm/segments.py reads its Record and Conditions)."""

    name: Text = col("Name")
    record: Text = col("Record")
    conditions: Text = col("Conditions")


# The tab each record model is read from, as `aliases.toml` and the config name it.
MODELS: dict[str, type[Record]] = {
    "accounts": Account, "contacts": Contact, "leads": Lead, "opportunities": Opportunity,
    "activities": Activity, "tasks": Task, "products": Product, "quote_lines": QuoteLine,
}


def _attach_aliases() -> None:
    # json_schema_extra["aliases"] = [Spanish header, *other headers]: what schema.py and the
    # scoring rules read. It plays no part in validation, so setting it after the class is built
    # is safe, and every reader of the model sees the same headers.
    for tab, model in (*MODELS.items(), ("workflows", Workflow), ("campaigns", Campaign), ("cases", Case), ("segments", Segment)):
        columns = [name for name, info in model.model_fields.items() if info.title is not None]
        for name, headers in aliases.column_names(tab, columns).items():
            model.model_fields[name].json_schema_extra = {"aliases": list(headers)}


_attach_aliases()
