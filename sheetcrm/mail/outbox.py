"""The Outbox tab: quote and workflow emails moving Draft → Approved → Sending → Sent (or Failed).

sheetcrm adds a Draft row when a quote is queued (`sheetcrm quote OPP --queue`, or a ticked
Send Quote cell at sync), or when a workflow rule sends an email (mail/workflow.py: no Quote,
a "wf-" Version; Approved at once only for an Auto Approve rule writing to the team itself).
A person approves a Draft by changing Status to Approved. `send_outbox` sends the Approved
rows, exactly once each, quotes and workflow emails alike:

    read                       one snapshot, and the journal (sheetcrm.mail.journal)
    write 1, the claim         every due Approved row → Sending, with its Message-ID (made
                               now, or kept from an earlier try), Attempts + 1 and Last Try;
                               each cell guarded by expect ID and Status == the Approved read,
                               so a person's concurrent change wins and the row is not sent.
                               A row whose quote the journal already sent is set back to Sent
                               instead (the sheet was reverted), and says why. A row that is
                               not one sheetcrm queued (`strangers`: its Seal does not match,
                               or another row has its ID) is Failed, saying so, and neither
                               sent nor ever given the journal's Sent
    send                       only the rows whose claim was written, over one SMTP session,
                               each between its journal records: intent (on disk) before
                               MAIL FROM, outcome after the server's answer
    read                       a fresh snapshot (people may have sorted the tab meanwhile)
    write 2, the outcomes      Sent + Sent At, or back to Approved with the error and Next
                               Try (4xx, server unreachable), or Failed with the server's
                               reply (5xx, or out of attempts); guarded by expect ID, Status
                               == Sending and Message-ID == ours. Each sent quote also
                               appends an Email row to Activities with a fresh ACT- ID.

Three reads and at most two writes per run, however many emails. A crash between the
server's 250 and write 2 leaves the row at Sending; the next run sets it to Sent when the
journal has the 250. Without it (a crash before the journal's record, or a connection broken
after the message was handed over) the outcome is unknown: the row is never claimed again,
only reported, for a person to check the recipient's inbox for its Message-ID and set Status
to Sent, or run `sheetcrm outbox resend`. Whatever the sheet says later, a quote version the
journal holds is never sent again, except after `sheetcrm outbox resend`.

A setting that stops every send (no STARTTLS, TLS handshake, login refused, 5xx greeting)
leaves the rows at Approved, due at once, with the one line naming the setting in Error, and
`send_outbox` raises SetupError after recording them.

Queueing is once per opportunity and quote version (a fingerprint of the priced lines and
totals, and of what the quote's templates show: context.quote_version): a tick left in place
queues nothing more until the quote changes, and then queues the new version (not a quote that
went out at the version it had while tax was rounded per line: `plan_queue`). A row whose version no longer matches the sheet is never sent (it becomes
Failed saying so), so a customer never receives a quote other than the one approved.

Everything here but `send_outbox` is pure (the journal is read once, into a Ledger).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Callable, Collection, ContextManager, Iterable, Protocol, Sequence

from sheetcrm import cells, team_time
from sheetcrm.cells import canonical_text, match_key, normalize_key
from sheetcrm.config import Config, ConfigError, SmtpSettings
from sheetcrm.crm.money import Rates
from sheetcrm.crm.workflows import TemplateShelf
from sheetcrm.i18n import NC_, N_, _, current, every_locale, in_locale, ngettext, speaking_team, using
from sheetcrm.mail.context import (QUOTE_TEMPLATES, QuoteHeader, charges_of, find_contact, find_opportunity,
                                   mark_context, quote_context, quote_version, recipient, text_mark, text_of,
                                   with_text)
from sheetcrm.mail.journal import Journal, JournalError, Ledger, stamp
from sheetcrm.mail.message import (AddressError, EncodedWordError, HeaderError, build_message, check_header,
                                   check_no_encoded_word, message_id)
from sheetcrm.mail.names import safe_stem
from sheetcrm.mail.quotes import (ALREADY_VALIDATED, QuoteLines, QuoteResult, doubts_of, price_quote,
                                  products_with_errors, quote_number)
from sheetcrm.mail.smtp import Outcome
from sheetcrm.mail.templates import TemplateError, Templates
from sheetcrm.mail.workflow import email_context, is_workflow_row, origin, render_email
from sheetcrm.owned import locate
from sheetcrm.plan import owned_tab
from sheetcrm.records import Opportunity
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import OUTBOX, SEQUENCES, TABS
from sheetcrm.validate import Crm, named_by, read_crm, row_label, team_config
from sheetcrm.workbook import CellValue, CellWrite, Plan, Snapshot, Workbook, WorkbookConflict, WorkbookError

QUOTE_CURRENCY_UNSET = "quote_currency_unset"  # `Desk._currency_unset`
KEYS = ("id", "created", "opportunity", "to", "subject", "status", "message_id", "sent_at", "error", "quote",
        "version", "attempts", "last_try", "next_try")
# The Seal (`seal`), after the tab's schema columns: added to an Outbox of an earlier version
# at its next queued row, and no part of the schema, so such a tab is still recognised as
# sheetcrm's (owned.py) and the warehouse mirrors the columns it always did.
SEAL_HEADER = N_("Seal")
COLUMNS = (*KEYS, "seal")
# The cells sheetcrm writes on a queued row after queueing it: its claim, its outcome, the
# journal's restores. A row with no ID holding only these is what a misplaced write left.
WRITTEN = ("status", "message_id", "attempts", "last_try", "next_try", "sent_at", "error")
# The Status words, canonical (English) -> the catalogue's word: written in the team's
# language, and read in any language sheetcrm speaks, so a Spanish team approves a row by
# typing "Aprobado" and a row written "Approved" before the team switched still counts.
STATUSES = {"Draft": NC_("outbox status", "Draft"), "Approved": NC_("outbox status", "Approved"),
            "Sending": NC_("outbox status", "Sending"), "Sent": NC_("outbox status", "Sent"),
            "Failed": NC_("outbox status", "Failed")}
# What people also type: the feminine forms (a quote, "la propuesta"), read like the rest.
EXTRA_ALIASES = {"Approved": ["Aprobada"], "Sent": ["Enviada"], "Failed": ["Fallida"]}
STATUS_ALIASES = {status: [*every_locale(word), *EXTRA_ALIASES.get(status, ())] for status, word in STATUSES.items()}
_CHOICES = cells.enum_choices(STATUS_ALIASES)


def status_label(status: str, locale: str) -> str:
    """The Status word sheetcrm writes for `status` ("Approved") in the team's language."""
    return in_locale(locale, STATUSES[status])


def unread_statuses(outbox: "Outbox", locale: str) -> list[Issue]:
    """An `unknown_status` error at the Status cell of every Outbox row whose Status is none of
    the words sheetcrm reads (STATUS_ALIASES: either language, any case, accents or spacing),
    such as "Aproved" or "Approved ✓". Such a row is never acted on, so never sent on a guess;
    said here, in the team's language, so the person who meant to approve it learns it was not.
    The hint names the closest word (difflib's ratio, as a person mistypes) when there is one,
    and lists the words in the team's language."""
    out: list[Issue] = []
    if not outbox.rows:
        return out
    col = outbox.columns["status"]
    header = OUTBOX.display_headers(locale)[KEYS.index("status")]
    words = {normalize_key(w): w for aliases in STATUS_ALIASES.values() for w in aliases}
    with using(locale):
        for row in outbox.rows:
            raw = row.raw.get("status")
            if cells.is_blank(raw) or row.status is not None:
                continue
            text = cells.parse_text(raw) or str(raw)
            listed = ", ".join(status_label(s, locale) for s in STATUSES)
            close = difflib.get_close_matches(normalize_key(text), list(words), n=1, cutoff=0.6)
            hint = (_("Did you mean {word}? The Status is one of: {words}.", word=words[close[0]], words=listed)
                    if close else _("The Status is one of: {words}.", words=listed))
            out.append(Issue("error", outbox.title, row.row, column_letter(col), header, raw, "unknown_status",
                             _("{shown} is not an Outbox Status, so sheetcrm does not act on this row: it is not "
                               "sent.", shown=cells.quoted(raw)), hint))
    return out


def _moment(raw: CellValue) -> dt.datetime | None:
    if isinstance(raw, dt.datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=dt.timezone.utc)
    text = cells.parse_text(raw) if raw is not None else None
    if not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _day(raw: CellValue, config: Config) -> dt.date | None:
    """The team's day of an Outbox cell: the team's day of a moment that names its zone
    ("…T03:00:00Z", as sheetcrm writes them: sheetcrm.team_time), else the day as written (a
    Created the sync's quote queue wrote is the sync's day, "2026-12-01"; a date-time a person
    typed is on the team's wall clock)."""
    if isinstance(raw, dt.datetime):
        moment: dt.datetime | None = raw
    elif isinstance(raw, dt.date):
        return raw
    else:
        text = cells.parse_text(raw) if raw is not None else None
        try:
            moment = dt.datetime.fromisoformat(text) if text else None
        except ValueError:
            moment = None
    if moment is None:
        return None
    return team_time.day_of(config, moment) if moment.tzinfo else moment.date()


# -- reading ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxRow:
    row: int
    raw: dict[str, CellValue]

    def text(self, key: str) -> str:
        v = self.raw.get(key)
        return "" if v is None else str(v).strip()

    @property
    def status(self) -> str | None:
        """The canonical status, or None for an empty or unrecognised cell (never acted on)."""
        try:
            return cells.parse_enum(self.raw.get("status"), _CHOICES, "status")
        except cells.CellError:
            return None

    @property
    def attempts(self) -> int:
        try:
            return cells.parse_integer(self.raw.get("attempts")) or 0
        except cells.CellError:
            return 0

    @property
    def own_message_id(self) -> str:
        """The Message-ID cell if sheetcrm made it for this row (`<OUT-0001.…>`), else "": a
        Message-ID of another row (left by a write that a concurrent sort or restore put on
        this row, or pasted) is never sent under, nor taken as this row's in the journal."""
        mid, row_id = self.text("message_id"), self.text("id")
        return mid if row_id and mid.startswith(f"<{row_id}.") else ""

    def guard(self, columns: dict[str, int], *keys: str) -> tuple[tuple[int, CellValue], ...]:
        return tuple((columns[k], self.raw.get(k)) for k in ("id", *keys))


@dataclass
class Outbox:
    title: str
    exists: bool
    columns: dict[str, int]           # key -> 1-based column
    rows: list[OutboxRow]
    next_row: int                     # where the next appended row goes
    header_writes: list[CellWrite]    # headers to add (all of them for a new tab)
    adopt: bool = False               # sheetcrm's, from before tabs were marked: mark it

    _by_deal: dict[str, list[OutboxRow]] | None = field(default=None, repr=False)

    def find(self, row_id: str) -> OutboxRow | None:
        return next((r for r in self.rows if r.text("id") == row_id), None)

    def of_deal(self, opportunity_id: str | None) -> list[OutboxRow]:
        """The rows whose Opportunity names this ID as IDs compare (`cells.match_key`): a deal
        whose ID was retyped in another case, or with a stray space, since its quote was queued
        ("opp-0002" over OPP-0002) still has its rows, so its quote is not queued again."""
        if not opportunity_id:
            return []
        if self._by_deal is None:
            self._by_deal = {}
            for r in self.rows:
                self._by_deal.setdefault(cells.match_key(r.text("opportunity")), []).append(r)
        return self._by_deal.get(cells.match_key(opportunity_id), [])

    def add(self, row: OutboxRow) -> None:
        """A row this plan appends."""
        self.rows.append(row)
        if self._by_deal is not None:
            self._by_deal.setdefault(cells.match_key(row.text("opportunity")), []).append(row)

    def prepare(self, plan: Plan) -> None:
        """Create the tab and add any missing header, once, before the first row is planned."""
        if not self.exists and self.title not in plan.new_tabs:
            plan.new_tabs.append(self.title)
        if (not self.exists or self.adopt) and self.title not in plan.mark_owned:
            plan.mark_owned.append(self.title)
        plan.writes.extend(self.header_writes)
        self.header_writes = []


def read_outbox(snapshot: Snapshot, locale: str) -> Outbox:
    # By sheetcrm's mark, not by name: a team's own "Outbox" tab is never read or sent from.
    place = locate(snapshot, OUTBOX, locale)
    title = place.title
    grid = snapshot.tabs.get(title) if place.exists else None
    names = {cells.normalize_key(h): key for key, en, es in zip(COLUMNS, (*OUTBOX.headers, SEAL_HEADER),
                                                                (*OUTBOX.headers_es, in_locale("es", SEAL_HEADER)))
             for h in (en, es)}
    columns: dict[str, int] = {}
    header = grid.header if grid else []
    for col, raw in enumerate(header):
        key = names.get(cells.normalize_key(str(raw))) if raw is not None else None
        if key and key not in columns:
            columns[key] = col + 1
    writes, width = [], len(header)
    for key, label in zip(COLUMNS, (*OUTBOX.display_headers(locale), in_locale(locale, SEAL_HEADER))):
        if key not in columns:
            width += 1
            columns[key] = width
            writes.append(CellWrite(title, 1, width, label))
    rows = []
    for index, raw_row in enumerate(grid.rows[1:] if grid else [], start=2):
        if any(not cells.is_blank(v) for v in raw_row):
            rows.append(OutboxRow(index, {k: raw_row[c - 1] if c - 1 < len(raw_row) else None
                                          for k, c in columns.items()}))
    return Outbox(title, grid is not None, columns, rows, max(len(grid.rows) if grid else 0, 1) + 1, writes,
                  place.adopt)


@dataclass
class Desk:
    """Everything the Outbox needs from one snapshot."""

    snapshot: Snapshot
    config: Config
    crm: Crm
    rates: Rates
    outbox: Outbox
    marks: dict[str, int]
    marks_before: dict[str, int]
    appended: dict[str, int] = field(default_factory=dict)
    _lines: QuoteLines | None = None
    _products: dict[str, Any] | None = None
    _broken: dict[str, Any] | None = None
    _unsure: dict[int, Any] | None = None
    _deals_unsure: dict[int, Any] | None = None
    _templates: Templates | None = None
    # The read's issues, to name a row's errors by (`_errors_of`), when `crm.report` is only where
    # what the Outbox finds goes (the sync's quotes step hands it an empty one): else its own.
    known: Sequence[Issue] | None = None

    @classmethod
    def read(cls, snapshot: Snapshot, config: Config, crm: Crm | None = None,
             marks: dict[str, int] | None = None) -> "Desk":
        """The Outbox and the CRM as `snapshot` holds them, under the team's config: in the
        workbook's language when the config file sets none (`validate.team_config`), as a sync
        reads it. Without it, `quote --queue`, `outbox send` and `outbox resend` run by someone
        whose shell is English wrote English Status words, and sent an English quote email, in
        a Spanish workbook that sync keeps in Spanish."""
        config = team_config(snapshot, config)
        crm = crm or read_crm(snapshot, config)
        assert crm.inputs is not None  # Rates and the sequences, typed by the read
        if marks is None:
            marks = dict(crm.inputs.sequences)
        return cls(snapshot, config, crm, crm.inputs.rates, read_outbox(snapshot, config.locale), marks, dict(marks))

    def next_id(self, prefix: str, existing: Iterable[str | None]) -> int:
        """The next number of a sequence, past both the highest in the sheet and the
        high-water mark, as `ids.assign_ids` counts; the mark moves forward."""
        pattern = re.compile(rf"{re.escape(prefix)}-(\d+)\Z", re.IGNORECASE)  # as ids.assign_ids counts
        highest = max((int(m.group(1)) for v in existing if v and (m := pattern.match(v))), default=0)
        n = max(highest, self.marks.get(prefix, 0)) + 1
        self.marks[prefix] = n
        return n

    def append_at(self, title: str) -> int:
        """The row for the next new row of a tab, past its last non-empty row and past the rows
        this plan already appends."""
        grid = self.snapshot.tabs.get(title)
        n = self.appended.get(title, 0)
        self.appended[title] = n + 1
        return max(len(grid.rows) if grid else 0, 1) + 1 + n

    def plan_sequences(self, plan: Plan) -> None:
        if self.marks != self.marks_before:
            owned_tab(plan, self.snapshot, SEQUENCES, self.config.locale, [[k, v] for k, v in self.marks.items()])
            self.marks_before = dict(self.marks)

    def quote(self, opportunity: Opportunity) -> QuoteResult:
        lines, products = self._grouped()
        result = price_quote(opportunity, lines, products, self.rates, self._broken, self._unsure, self._deals_unsure)
        if result.quote is not None and (unset := self._currency_unset(result)) is not None:
            result.problems.append(unset)
            result.quote = None
        return result

    def _currency_unset(self, result: QuoteResult) -> Issue | None:
        """A `quote_currency_unset` error at the deal's Currency cell when nothing the team
        wrote names the quote's currency: the deal's Currency is blank (no amount of its names
        one), no product of its lines names one, and sheetcrm.toml sets no `currency`, so the
        quote would be in the default, USD. `sheetcrm init` on a workbook leaves `currency`
        commented out: a team typing plain euros got "$" quotes, approved on a row that shows
        no amount."""
        quote = result.quote
        assert quote is not None
        opp = quote.opportunity
        if opp.currency is not None or "currency" in self.config.model_fields_set or not quote.lines:
            return None
        products = self._products or {}
        if any(products[ln.sku].currency for ln in quote.lines if ln.sku in products):
            return None
        key = opp.id or opp.name
        return _opportunity_issue(
            self, opp, "currency", None, QUOTE_CURRENCY_UNSET,
            _("The quote for {key} would be in {currency} only because that is the default: its Currency is blank, "
              "its products name no currency, and sheetcrm.toml sets none.", key=key, currency=quote.currency),
            _("Set the opportunity's Currency, or set currency in sheetcrm.toml to the currency of the workbook's "
              "amounts (currency = \"EUR\"); the next sync queues the quote."))

    def version(self, result: QuoteResult, templates: Templates | None = None, per_line: bool = False,
                spelling: str | None = None, typed: bool = False, sheet_order: bool = False) -> str:
        """The priced quote's version as a person approves it (`context.quote_version`: what it
        charges and what its templates show), with `templates`, else the config's; `per_line`:
        as it was while tax was rounded per line (`Quote.per_line_version`); `spelling`: as it
        was before IDs compared as the read compares them, the deal's ID spelt so
        (`Quote.spelt_version`); `typed`: as it was before figures counted as their values
        (`Quote.typed_version`); `sheet_order`: as it was while its lines counted in the tab's
        order (`Quote.sheet_order_version`)."""
        assert result.quote is not None
        quote = result.quote
        charges = (quote.per_line_version if per_line else quote.typed_version if typed
                   else quote.sheet_order_version if sheet_order else None)
        return quote_version(self.crm, quote, templates or self.templates, charges, spelling)

    def earlier_versions(self, result: QuoteResult, spellings: Iterable[str | None],
                         templates: Templates | None = None) -> set[str]:
        """The versions this quote had as sheetcrm made them before (`spelling`, `typed`,
        `sheet_order` of `version`), other than its version now: a row queued then carries one
        of them and is the same quote. `spellings`: the deal's ID as rows of it spell it."""
        now = self.version(result, templates)
        made = {self.version(result, templates, spelling=s) for s in dict.fromkeys(spellings) if s}
        made.add(self.version(result, templates, typed=True))
        made.add(self.version(result, templates, sheet_order=True))
        return made - {now}

    @property
    def templates(self) -> Templates:
        """The config's templates (the built-in ones when its folder is missing, as
        `template_shelf` reads it), read once."""
        if self._templates is None:
            try:
                self._templates = templates_for(self.config)
            except ConfigError:
                self._templates = Templates()
        return self._templates

    def problems(self, opportunity: Opportunity) -> list[Issue]:
        """What blocks the opportunity's quote (`quote(...).problems`): nothing for a deal that
        no quote line names (most deals), whose quote is not priced for it."""
        lines, _products = self._grouped()
        valid, invalid = lines.of(opportunity)
        if not (valid or invalid or lines.shared_of(opportunity)):
            return []
        # The currency a quote would be in matters once one is asked for (Send Quote ticked, `sheetcrm
        # quote`, a row sent): said of every deal with lines, a single-currency team with no `currency`
        # in sheetcrm.toml got an error at each deal's Currency cell, and `validate` exit 1, for quotes
        # nobody asked for, with a hint that "the next sync queues the quote".
        return [p for p in self.quote(opportunity).problems if p.code != QUOTE_CURRENCY_UNSET]

    def _named(self, field_name: str, text: str) -> list[tuple[str, int, str]]:
        """The rows a Quote Lines reference names, as the read resolves it (`quotes.Named`)."""
        tables = self.crm.tables
        return [(tables[tab].title if tab in tables else tab, row.row, row_label(row))
                for tab, _form, row, _by_id in named_by(self.crm, "quote_lines", field_name, text)]

    def _grouped(self) -> tuple[QuoteLines, dict[str, Any]]:
        if self._lines is None or self._products is None:
            # Grouped once per read: a sync prices every opportunity's quote.
            self._lines = QuoteLines.group(self.crm.tables.get("quote_lines"), self.crm.report.issues,
                                           self.crm.keys.__getitem__, self._named)
            self._products = {p.sku: p for p in self.crm.records("products")}
            self._broken = products_with_errors(self.crm.tables.get("products"), self.crm.report.issues)
            self._unsure = doubts_of(self.crm.tables.get("products"), self.crm.report.issues)
            self._deals_unsure = doubts_of(self.crm.tables.get("opportunities"), self.crm.report.issues)
        return self._lines, self._products


def append_row(title: str, row: int, values: dict[int, CellValue]) -> list[CellWrite]:
    """Writes for a new row. Each expects every target cell of the row still empty, so a row a
    person typed there meanwhile is never written over, and the row lands whole or not at all."""
    expect = tuple((col, None) for col in sorted(values))
    return [CellWrite(title, row, col, value, expect=expect) for col, value in sorted(values.items())]


def seal(row_id: str, opportunity: str, quote: str, version: str) -> str:
    """The Seal of a quote's row: a fingerprint of the cells that say which quote sheetcrm
    queued on it (ID, Opportunity, Quote number, Version), written with them. A row copied by a
    person (a new ID), or whose Quote or Version was edited, no longer matches its Seal and is
    never sent (README: "a row a person typed in is never sent"). To and Subject stay out:
    people may fix them before approving (docs/quotes.md). Not keyed: it guards against a copy
    or an edit, not against someone forging a row on purpose."""
    data = "\x1f".join(("sheetcrm outbox seal 1", row_id, opportunity, quote, version))  # not for people
    return "s1-" + hashlib.sha256(data.encode("utf-8")).hexdigest()[:16]


def strangers(outbox: Outbox) -> dict[int, str]:
    """Sheet row -> why it is not a row sheetcrm queued, of the rows sheetcrm must never send
    nor mark: a quote's row whose Seal does not match its cells, and every row whose ID
    another row also has (a copy cannot be told from the row sheetcrm queued, so neither
    counts). A workflow's row is tied to its firing by the Workflow Log instead (origin())."""
    out: dict[int, str] = {}
    rows_of: dict[str, list[int]] = {}
    for r in outbox.rows:
        if r.text("id"):  # "out-0001" is OUT-0001, as every ID compares (`cells.match_key`)
            rows_of.setdefault(cells.match_key(r.text("id")), []).append(r.row)
    for r in outbox.rows:
        row_id = r.text("id")
        if len(rows_of.get(cells.match_key(row_id), ())) > 1:
            out[r.row] = _("rows {rows} of the Outbox all have the ID {id}: a copy cannot be told from the row "
                           "sheetcrm queued, so none of them is sent. Delete the copies, then set Status to Approved "
                           "again", rows=", ".join(map(str, rows_of[cells.match_key(row_id)])), id=row_id)
        elif row_id and r.text("quote") and r.text("seal") != seal(row_id, r.text("opportunity"), r.text("quote"),
                                                                   r.text("version")):
            out[r.row] = _("not a row sheetcrm queued: its Seal does not match its ID, Opportunity, Quote and "
                           "Version (a copied row, an edited cell, or a row queued before sheetcrm wrote Seals), so "
                           "it is never sent. To send a quote to another address, change To on the quote's own row (and run "
                           "sheetcrm outbox resend on it if it was sent); a row queued before Seals: delete it and "
                           "queue the quote again")
    return out


def _not_queued() -> str:
    """Why an Approved row with neither a Quote nor a workflow's Version is Failed (`due_rows`)."""
    return _("not a row sheetcrm queued: it has neither a Quote number nor a workflow's Version, so it is never sent. "
             "To send a quote, tick Send Quote on its opportunity (or run sheetcrm quote OPP-ID --queue) and approve "
             "the row that queues")


# -- queueing drafts -------------------------------------------------------------------------

def subject_for(number: str, opportunity: Opportunity, locale: str) -> str:
    """The quote email's Subject, in the team's language: "Quote Q-2026-0001 – Big deal"."""
    return in_locale(locale, "Quote {number} – {name}", number=number, name=opportunity.name)


@dataclass
class Queued:
    opportunity: str
    outcome: str                 # "queued", "already" or "blocked"
    quote: str | None = None     # the quote number, when there is one
    row_id: str | None = None
    problems: list[Issue] = field(default_factory=list)
    version: str | None = None   # the quote version, when it was priced


def plan_queue(desk: Desk, opportunities: Iterable[Opportunity], plan: Plan, created: str, year: int,
               sent_versions: Collection[str] = (), ticked: bool = False) -> list[Queued]:
    """Draft rows for these opportunities' quotes, once per version; blocked quotes are reported.

    Everything that blocks a quote is checked before it takes a number, so a blocked quote
    plans no write at all and its issue reads the same at every sync until the sheet changes:
    reported once in the Validation tab, without burning quote numbers. A version in
    `sent_versions` (the journal's, `Ledger.held_versions`) is "already" queued even when no
    Outbox row shows it any more (an older copy of the tab took the row away): queueing it
    again would only burn a number for a row the journal sets to Sent at once.

    `ticked` (the sync's Send Quote ticks, not a person's `quote --queue`): a quote that went
    out (the journal holds it, or its row is Sent or Sending) at its `per_line_version` is
    "already" queued too. Its version changed only because sheetcrm now charges tax per rate
    (quotes.py), not because anyone changed the deal: a tick left in place must not make a
    second quote of it. `sheetcrm quote OPP --queue` queues the current version."""
    with using(desk.config.locale):
        return _plan_queue(desk, opportunities, plan, created, year, sent_versions, ticked)


def _plan_queue(desk: Desk, opportunities: Iterable[Opportunity], plan: Plan, created: str, year: int,
                sent_versions: Collection[str], ticked: bool) -> list[Queued]:
    out = []
    locale = desk.config.locale
    outbox = desk.outbox
    lines_table = desk.crm.tables.get("quote_lines")
    # A tab not there yet is named as `sheetcrm init` would add it: in the team's language
    # (the hint said "Quote Lines" in a Spanish sentence).
    lines_title = (lines_table.title if lines_table is not None
                   else desk.config.tab("quote_lines").title or TABS["quote_lines"].display_title(locale))
    for opp in opportunities:
        key = opp.id or opp.name
        result = desk.quote(opp)
        if result.quote is not None and not result.quote.lines:
            result.problems.append(_opportunity_issue(desk, opp, "id", opp.id, "no_quote_lines",
                                                      _("{key} has no quote lines to send.", key=key),
                                                      _("Add its lines to the {tab} tab.", tab=lines_title)))
        to = None
        try:
            contacts = desk.crm.find("contacts", opp.contact) if opp.contact else []
            if len(contacts) == 1 and contacts[0].has_errors:
                # A contact with errors is left out of quotes like every row with errors; say so,
                # rather than blame the cell the error happens to have emptied.
                result.problems.append(_opportunity_issue(
                    desk, opp, "contact", opp.contact, "contact_errors",
                    _("The quote for {key} cannot be addressed: its contact {contact} has errors{errors}.", key=key,
                      contact=row_label(contacts[0]), errors=_errors_of(desk, "contacts", contacts[0].row)),
                    _("Fix that contact's row (see its errors in the Validation tab).")))
            elif (to := recipient(find_contact(desk.crm, opp.contact))) is None:
                result.problems.append(_opportunity_issue(
                    desk, opp, "contact", opp.contact, "no_recipient",
                    _("The quote for {key} has no recipient: its contact has no email address.", key=key)
                    if contacts else
                    _("The quote for {key} has no recipient: its Contact {contact} names no single contact.",
                      key=key, contact=cells.quoted(opp.contact)) if opp.contact else
                    _("The quote for {key} has no recipient: it has no Contact.", key=key),
                    _("Set Contact to a contact that has an Email.")))
        except AddressError as e:
            # A valid address in the Contacts tab (email addresses may have accents before the
            # @) that no quote can go to: said as what it is, naming the contact's Email cell.
            result.problems.append(_opportunity_issue(
                desk, opp, "contact", opp.contact, "bad_email",
                _("The quote for {key} cannot be addressed: the Email of its contact {contact}, {value} ({cell}), "
                  "cannot be sent to: {reason}", key=key, contact=row_label(contacts[0]), value=cells.quoted(e.address),
                  cell=_cell(desk.crm, "contacts", contacts[0].row, "email"), reason=e.reason),
                _("Use an address with no accents or other non-ASCII letters before the @-sign (sheetcrm sends mail in "
                  "ASCII; the part after the @ may have them), or set Contact to another contact.")))
        except HeaderError as e:
            result.problems.append(_opportunity_issue(
                desk, opp, "contact", opp.contact, "unsafe_header",
                _("The quote for {key} cannot be addressed: {error}", key=key, error=e),
                _("Write the contact's First Name and Last Name as the customer should read them, without "
                  "\"=?…?=\".") if isinstance(e, EncodedWordError) else
                _("Remove the line break or control character from the contact's First Name, Last Name or Email.")))
        try:
            label = _("The opportunity's name (the quote's Subject)")
            check_no_encoded_word(label, check_header(label, opp.name or ""))
        except HeaderError as e:
            result.problems.append(_opportunity_issue(
                desk, opp, "name", opp.name, "unsafe_header", str(e),
                _("Write the name as the customer should read it, without \"=?…?=\".")
                if isinstance(e, EncodedWordError) else _("Remove the line break or control character from the cell.")))
        if result.problems or result.quote is None or to is None:
            out.append(Queued(key, "blocked", problems=result.problems))
            continue
        version = desk.version(result)
        mine = outbox.of_deal(opp.id)
        # By what the quote charges and shows, not by its templates' text (`context.TEXT`): an
        # edited template queues no second quote of every ticked deal.
        sent_versions = {charges_of(v) for v in sent_versions}
        earlier = next((r for r in mine if charges_of(r.text("version")) == version), None)
        if earlier is None and version not in sent_versions:
            # Not found as versions are made now: perhaps as they were made before IDs compared
            # as the read compares them (an ID not in capitals, "Deal-17b"), the deal's ID spelt
            # as then (`Quote.spelt_version`), or before figures counted as their values
            # (`Quote.typed_version`). Only for a quote about to take a new number.
            spelt = desk.earlier_versions(result, (opp.id, *(r.text("opportunity") for r in mine)))
            earlier = next((r for r in mine if charges_of(r.text("version")) in spelt), None)
            if earlier is None and (held := spelt & set(sent_versions)):
                out.append(Queued(key, "already", version=min(held)))
                continue
        if earlier is not None:
            out.append(Queued(key, "already", earlier.text("quote"), earlier.text("id"), version=version))
            continue
        if version in sent_versions:
            out.append(Queued(key, "already", version=version))
            continue
        if ticked and (went := _went_out(outbox, opp, desk.version(result, per_line=True), version,
                                         sent_versions)) is not None:
            out.append(Queued(key, "already", *went, version=version))
            continue
        if (failed := _template_problem(desk, opp, result, version, created, year)) is not None:
            # Checked before it takes a number: a Draft that can never render is not queued for a
            # person to approve and see Failed; the issue stays, sync after sync, until it renders.
            out.append(Queued(key, "blocked", problems=[failed], version=version))
            continue
        number = quote_number(year, desk.next_id(f"Q-{year}", (r.text("quote") for r in outbox.rows)))
        row_id = f"OUT-{desk.next_id('OUT', (r.text('id') for r in outbox.rows)):04d}"
        queued = with_text(version, rendered_mark(desk, desk.templates, result, version))
        values = {"id": row_id, "created": created, "opportunity": opp.id, "to": str(to),
                  "subject": subject_for(number, opp, locale), "status": status_label("Draft", locale),
                  "quote": number, "version": queued, "attempts": 0,
                  "seal": seal(row_id, opp.id or "", number, queued)}
        outbox.prepare(plan)
        plan.writes.extend(append_row(outbox.title, outbox.next_row, {outbox.columns[k]: v for k, v in values.items()}))
        outbox.add(OutboxRow(outbox.next_row, values))
        outbox.next_row += 1
        out.append(Queued(key, "queued", number, row_id, version=version))
    return out


def _template_problem(desk: Desk, opp: Opportunity, result: QuoteResult, version: str, created: str,
                      year: int) -> Issue | None:
    """Why the quote's templates cannot render it (a syntax error, a field they name that the
    quote has not: what would fail its row at send time), as the issue at the deal's Send Quote
    cell; None when they render. The number is not taken yet, so the one of the next quote
    stands in (the templates see it only as text)."""
    day = _day(created, desk.config) or dt.date(year, 1, 1)
    try:
        render_quote(desk, desk.templates, opp, result, QuoteHeader(quote_number(day.year, 1), day), version)
    except TemplateError as e:
        return _opportunity_issue(desk, opp, "send_quote", opp.send_quote, "quote_template_error",
                                  _("The quote for {key} is not queued: its template fails: {error}",
                                    key=opp.id or opp.name, error=e),
                                  _("Fix the template in the templates folder (sheetcrm.toml's templates); the next "
                                    "sync queues the quote.")
                                  if "send_quote" in desk.crm.tables["opportunities"].header.fields else
                                  # No Send Quote column: no sync queues it, the command does.
                                  _("Fix the template in the templates folder (sheetcrm.toml's templates), then run "
                                    "`sheetcrm quote {key}` again.", key=opp.id))
    return None


def _went_out(outbox: Outbox, opp: Opportunity, per_line: str, version: str,
              sent_versions: Collection[str]) -> tuple[str | None, str | None] | None:
    """(quote number, row ID) of the Sent or Sending row of `opp` at its per-line version, or
    (None, None) when only the journal holds that version; None when that version is the
    current one, or never went out."""
    if per_line == version:
        return None
    row = next((r for r in outbox.of_deal(opp.id) if charges_of(r.text("version")) == per_line
                and r.status in ("Sent", "Sending")), None)
    if row is not None:
        return row.text("quote") or None, row.text("id") or None
    return (None, None) if per_line in sent_versions else None


def _errors_of(desk: Desk, tab: str, row: int) -> str:
    """": Contacts!D2 (Last Name): This column is required…", the errors of one row, for a
    message, each at its cell, from the read's issues (`Desk.known`)."""
    title = desk.crm.tables[tab].title
    issues = desk.crm.report.issues if desk.known is None else desk.known
    found = [i for i in issues if i.severity == "error" and i.tab == title and i.row == row]
    return (": " + "; ".join(f"{i.where()} ({i.header}): {i.message.rstrip('.')}" if i.header
                             else f"{i.where()}: {i.message.rstrip('.')}" for i in found[:3])) if found else ""


def _cell(crm: Crm, tab: str, row: int, field_name: str) -> str:
    """"Contacts!E2": where a field of a row is, for a message (the tab's title when it has no such column)."""
    table = crm.tables[tab]
    col = table.header.fields.get(field_name)
    return f"{table.title}!{column_letter(col + 1)}{row}" if col is not None else f"{table.title}!{row}"


def _opportunity_issue(desk: Desk, opp: Opportunity, field_name: str, value: Any, code: str, message: str,
                       hint: str) -> Issue:
    table = desk.crm.tables["opportunities"]
    col = table.header.fields.get(field_name)
    if col is None and (col := table.header.fields.get("id")) is not None:
        # A tab without that column (no Send Quote: `sheetcrm quote`): the deal's ID cell, so
        # the line names a cell ("Opportunities!A5") as every issue does, not a bare row.
        value = opp.id
    return Issue("error", table.title, opp.row, column_letter(col + 1) if col is not None else None,
                 table.header.labels.get(col) if col is not None else None, value, code, message, hint)


def _ticked_with_errors(desk: Desk) -> list[Issue]:
    """An `opportunity_errors` error at the Send Quote cell of each ticked deal whose row has
    errors. Such a row is no record, so its quote is neither priced nor queued; its errors
    are often in cells no quote shows (an Amount "abc", a Stage misspelt), and the tick waited
    sync after sync with no word that the quote was held. (A Send Quote cell that cannot be
    read is its own error, and ticks nothing.)"""
    table = desk.crm.tables.get("opportunities")
    out: list[Issue] = []
    for row in table.rows if table is not None else ():
        opp = row.readable
        if row.has_errors and isinstance(opp, Opportunity) and opp.send_quote:
            key = opp.id or opp.name or row_label(row)
            col = table.header.fields.get("send_quote")
            out.append(_opportunity_issue(
                desk, opp.model_copy(update={"row": row.row}), "send_quote",
                row.cells[col] if col is not None and col < len(row.cells) else None, "opportunity_errors",
                _("The quote for {key} is not queued, though its Send Quote is ticked, while its row has "
                  "errors{errors}.", key=key, errors=_errors_of(desk, "opportunities", row.row)),
                _("Fix the row (its errors are listed in the Validation tab); the next sync queues the quote.")))
    return out


def queue_ticked_quotes(plan: Plan, snapshot: Snapshot, crm: Crm, config: Config, marks: dict[str, int],
                        as_of: dt.date, sent_versions: Collection[str] = (),
                        known: Sequence[Issue] | None = None) -> None:
    """The sync's hook: report every quote's bad lines, and queue a Draft for each ticked Send
    Quote. The tick stays; `plan_queue` makes a second tick of the same version a no-op, and
    never queues a version in `sent_versions` (the journal's) again.
    `marks` is the sync's own sequence state, so its one `_sheetcrm` write covers these IDs.
    `known`: the read's issues, when `crm.report` is a fresh one to collect into (`Desk.known`)."""
    desk = Desk.read(snapshot, config, crm, marks)
    desk.known = known
    opportunities = [o for o in crm.records("opportunities") if o.id]
    ticked = [o for o in opportunities if o.send_quote]
    problems = [p for q in plan_queue(desk, ticked, plan, as_of.isoformat(), as_of.year, sent_versions, ticked=True)
                for p in q.problems]
    for opp in opportunities:
        if not opp.send_quote:
            problems.extend(desk.problems(opp))
    problems.extend(_ticked_with_errors(desk))
    # A line whose Opportunity names two ticked deals blocks both with the one issue: said once.
    for issue in dict.fromkeys(problems):
        if issue.code not in ALREADY_VALIDATED:
            crm.report.add(issue)
    for issue in unread_statuses(desk.outbox, config.locale):
        crm.report.add(issue)


# Outcomes that could not be written after the emails went out (one line).
OUTCOME_ATTEMPTS = 3


def unrecorded(error: object, sent: int, attempts: int) -> str:
    """The one line for outcomes that could not be written after `sent` emails went out."""
    if not sent:
        return _("{error} ({attempts} attempts); no email was sent", error=error, attempts=attempts)
    return ngettext("{error} ({attempts} attempts); {n} email was sent: sheetcrm's journal has it, and the next "
                    "run records it on the sheet",
                    "{error} ({attempts} attempts); {n} emails were sent: sheetcrm's journal has them, and the next "
                    "run records them on the sheet", sent, error=error, attempts=attempts)


# -- the journal's word over the sheet's ---------------------------------------------------

# What the row's Error cell and the command say when the journal overrules the sheet (one line).
# Written in the team's language; the Status words in them are the team's too (the Spanish
# catalogue says Enviado where the English says Sent).
JOURNALED = {
    "sent": N_("already sent as {mid} at {at} (sheetcrm's journal), though the sheet showed {status}, as after an "
               "app's save that reverted it; set back to Sent. To send it again: sheetcrm outbox resend {row}"),
    "recorded": N_("sent as {mid} at {at} (sheetcrm's journal); the run that sent it stopped before recording it "
                   "here"),
    # A second row of one version: the first was taken away (an older copy of the tab) before
    # it was sent, the version queued again and sent from the new row, then the copy's row
    # came back. Both rows show the one message that went out; this one says whose it is.
    "other": N_("this quote version already went out as {mid} at {at}, from {other} (sheetcrm's journal); this "
                "row is a second one for it, set to Sent. To send it again: sheetcrm outbox resend {row}"),
    # A row showing another quote's message (a write a concurrent sort or restore moved, that
    # the write's own read-back could not take back: Google stopped answering in between).
    "blank": N_("showed {status} with {mid}, the message of {other}'s quote (sheetcrm's journal), on a row with no "
                "ID: left by a write that a sort or a restore moved, and nothing was sent from it, so its cells are "
                "emptied again"),
    "misplaced": N_("showed {status} with {mid}, the message of {other}'s quote (sheetcrm's journal), left here "
                    "by a write that a sort or a restore moved; this row's quote never went out, so it is set to "
                    "Failed. Set Status to Approved to send it"),
    "intent": N_("may have been sent as {mid} at {at} (sheetcrm's journal: outcome unknown), though the sheet "
                 "showed {status}; not sent again. Check for {mid} at the recipient, then set Status to Sent, or "
                 "run sheetcrm outbox resend {row}"),
}


def plan_restores(desk: Desk, ledger: Ledger, now: dt.datetime) -> tuple[Plan, dict[str, tuple[str, str, int]]]:
    """Rows the sheet shows as still to be sent (or with an empty Status) whose quote the
    journal says went out (or may have): back to Sent with the journal's Message-ID and time, or to Sending when the outcome
    is unknown; a row at Sending with the Message-ID the journal saw accepted becomes Sent.
    Each write is guarded by the row's ID and the Status read. A sent quote with no Email
    activity (the revert took it too) gets one. A row with no ID holding nothing but the cells
    sheetcrm writes, at Sent or Sending with another quote's message, is emptied again (`BLANK`).
    Returns the plan and row ID (for a row with no ID, "row N" in the team's language) ->
    (the journal's state, "sent", "intent", "misplaced" or "blank"; the one line; the sheet row)."""
    plan, notes = Plan(), {}
    outbox, locale = desk.outbox, desk.config.locale
    foreign = strangers(outbox)
    for row in outbox.rows:
        status, row_id = row.status, row.text("id")
        if row.row in foreign:
            continue  # not sheetcrm's row: another row's Message-ID or Sent must never land on it
        other = _message_of_another_quote(ledger, row) if status in ("Sent", "Sending") else None
        if not row_id and other is not None and all(k in WRITTEN or cells.is_blank(v) for k, v in row.raw.items()):
            # What a claim or an outcome put on a blank row when a sort or an older copy moved
            # it there, and Google stopped answering before the write's read-back could empty
            # it again (docs/concurrency.md). `sheetcrm run` empties it in the same process
            # (`GoogleSheetsWorkbook._unsettled`); after a one-shot command the journal tells.
            held = tuple(k for k in WRITTEN if not cells.is_blank(row.raw.get(k)))
            plan.writes.extend(CellWrite(outbox.title, row.row, outbox.columns[k], None,
                                         expect=row.guard(outbox.columns, *held)) for k in held)
            notes[_("row {row}", row=row.row)] = ("blank", _(JOURNALED["blank"], status=row.text("status"),
                                                             mid=other.message_id, other=other.row_id), row.row)
            continue
        # An empty Status is what the Outbox read-back leaves on a row that a misplaced write
        # hit when what the row held could not be told (docs/concurrency.md): the journal says.
        if not row_id or not (other or status in ("Draft", "Approved", "Sending", "Failed") or not row.text("status")):
            continue
        held = ledger.holding(row.text("version"), row.own_message_id)
        if status == "Failed" and (held is None or held.state != "sent"):
            continue  # a failure the journal does not contradict
        values: dict[str, CellValue]
        if held is None and other is not None:
            note = _(JOURNALED["misplaced"], status=row.text("status"), mid=other.message_id, other=other.row_id)
            values = {"status": status_label("Failed", locale), "message_id": None, "sent_at": None, "next_try": None,
                      "error": note}
            notes[row_id] = ("misplaced", note, row.row)
            plan.writes.extend(CellWrite(outbox.title, row.row, outbox.columns[k], v,
                                         expect=row.guard(outbox.columns, "status", "message_id"))
                               for k, v in values.items())
            continue
        if held is None or (status == "Sending" and other is None
                            and (held.state != "sent" or held.message_id != row.text("message_id"))):
            continue  # a row at Sending with no answer in the journal is for a person, as before
        facts = {"mid": held.message_id, "at": held.done_at or held.tried_at, "row": row_id,
                 "status": row.text("status") or _("no Status")}
        if held.state == "sent":
            kind = "recorded" if status == "Sending" else "sent" if held.row_id == row_id else "other"
            note = _(JOURNALED[kind], other=held.row_id, **facts)
            values = {"status": status_label("Sent", locale), "message_id": held.message_id,
                      "sent_at": held.done_at, "next_try": None, "error": note}
            if row.text("quote") and not _has_activity(desk, held.message_id, row):
                _plan_activity(desk, plan, row, now, held.message_id)
        else:
            note = _(JOURNALED["intent"], **facts)
            values = {"status": status_label("Sending", locale), "message_id": held.message_id, "next_try": None,
                      "error": note}
        notes[row_id] = (held.state, note, row.row)
        expect = row.guard(outbox.columns, "status")
        plan.writes.extend(CellWrite(outbox.title, row.row, outbox.columns[k], v, expect=expect)
                           for k, v in values.items())
    return plan, notes


def _message_of_another_quote(ledger: Ledger, row: OutboxRow) -> Any:
    """The journal's entry for the Message-ID the row shows, when that message is of another
    quote version than the row's: proof that a write meant for another row landed here. None
    when the Message-ID is the row's own, or of its own version (a second row of a version,
    docs/quotes.md), or unknown to this machine's journal (then nothing can be told)."""
    mid = row.text("message_id")
    if not mid or row.own_message_id:
        return None
    entry = next((e for e in ledger.entries if e.message_id == mid), None)
    return entry if entry is not None and entry.version != row.text("version") else None


def plan_resend(outbox: Outbox, row: OutboxRow, locale: str) -> Plan:
    """`sheetcrm outbox resend`: the row back to Approved with no Message-ID, so the next send
    makes a new one (the caller then releases the version in the journal). Guarded by ID and
    the Status read."""
    values = {"status": status_label("Approved", locale), "message_id": None, "sent_at": None, "next_try": None,
              "error": None, "attempts": 0}
    expect = row.guard(outbox.columns, "status")
    return Plan(writes=[CellWrite(outbox.title, row.row, outbox.columns[k], v, expect=expect)
                        for k, v in values.items()])


def _has_activity(desk: Desk, message_id: str, row: OutboxRow) -> bool:
    """Whether Activities holds the Email activity of `row`'s message `message_id`: an Outcome
    naming it; with no Outcome column (the activity is written without it), an activity about
    the row's opportunity with its Subject. True when the tab cannot tell (no Activities tab, or
    neither an Outcome nor a Subject and Related column): never a second activity on a guess."""
    table = desk.crm.tables.get("activities")
    if table is None:
        return True
    fields = table.header.fields
    if (col := fields.get("outcome")) is not None:
        return any(col < len(r.cells) and message_id in str(r.cells[col] or "") for r in table.rows)
    # Read before, this answered True: a sent quote's activity lost to a crash between the send
    # and its write (or to a revert of the file) was never written again.
    subject, related = fields.get("subject"), fields.get("related")
    if subject is None or related is None:
        return True
    wanted = (cells.match_key(row.text("opportunity") or ""), cells.canonical_text(row.text("subject") or ""))
    return any((cells.match_key(str(r.cells[related] or "")), cells.canonical_text(str(r.cells[subject] or "")))
               == wanted for r in table.rows if max(subject, related) < len(r.cells))


# -- sending ---------------------------------------------------------------------------------

@dataclass
class Prepared:
    """A due row with its message built, or the reason it cannot be sent."""

    row: OutboxRow
    message_id: str
    message: EmailMessage | None = None
    error: str | None = None
    # The Version with the templates' text as it is now, for a row approved with other text:
    # back to Draft with it, for a person to approve what will be sent (`plan_claims`).
    redraft: str | None = None


def due_rows(outbox: Outbox, now: dt.datetime, early: bool = False) -> list[OutboxRow]:
    """The Approved rows to act on now: with no Next Try, a passed one, or any with `early`.
    Only rows sheetcrm queued are sent: a quote's (a Quote number) or a workflow's (a "wf-"
    Version); one with neither (a row a person typed in, or a quote's row whose Quote was
    cleared) is among these to be Failed saying why (`_not_queued`), not left Approved with no
    word."""
    return [r for r in outbox.rows if r.text("id") and r.status == "Approved"
            and (early or (t := _moment(r.raw.get("next_try"))) is None or t <= now)]


def _ours(row: OutboxRow) -> bool:
    return bool(row.text("quote")) or is_workflow_row(row.text("quote"), row.text("version"))


def sent_quotes(outbox: Outbox, config: Config) -> list[tuple[str, str, dt.date]]:
    """(Outbox ID, opportunity, day sent) of every Sent quote row: what a workflow's "quote
    unanswered N days" counts from. The day is the team's (Sent At is written in UTC)."""
    out = []
    for r in outbox.rows:
        sent = _day(r.raw.get("sent_at"), config)
        if r.text("id") and r.text("quote") and r.status == "Sent" and sent is not None:
            out.append((r.text("id"), r.text("opportunity"), sent))
    return out


def _folder(config: Config) -> str | None:
    folder = config.templates
    if folder and config.source is not None:
        folder = str(config.source.parent / Path(folder).expanduser())
    return folder


def templates_for(config: Config) -> Templates:
    """The built-in templates under the config's `templates` folder (relative to the config file)."""
    folder = _folder(config)
    if folder is not None and not Path(folder).is_dir():
        # Named at the setting that holds it: "templates folder t does not exist" sent a person
        # looking for a folder when `t` was a file (a template named as the folder).
        file = str(config.source) if config.source is not None else "sheetcrm.toml"
        if Path(folder).exists():
            raise ConfigError(_("{file}: templates = \"{folder}\" names a file, not a folder: name the folder that "
                                "holds the templates", file=file, folder=config.templates))
        raise ConfigError(_("{file}: templates = \"{folder}\": no such folder ({path})", file=file,
                            folder=config.templates, path=folder))
    try:
        return Templates(folder)
    except TemplateError as e:
        raise ConfigError(f"templates: {e}") from None


def template_shelf(config: Config) -> TemplateShelf:
    """The email templates a sync's workflow rules may name, read now (crm/workflows.TemplateShelf):
    the config's folder and the built-in ones, each compiled. A missing folder is not an error
    here (a sync without email rules needs none): the rules that name a template say so."""
    folder = _folder(config)
    exists = folder is None or Path(folder).is_dir()
    templates = Templates(folder if exists else None)
    shown = None
    if folder is not None:
        shown = config.templates or folder
        if Path(shown).is_absolute():
            base = config.source.parent if config.source is not None else Path.cwd()
            relative = os.path.relpath(shown, base)
            shown = shown if relative.startswith("..") else relative
    found: tuple[str, ...] = ()
    if folder is not None and exists:
        found = tuple(sorted(p.name.removesuffix(".txt.j2") for p in Path(folder).glob("*.txt.j2")))
    return TemplateShelf(templates.compiled(), shown, exists, found, is_file=not exists and Path(folder).exists())


def render_quote(desk: Desk, templates: Templates, opp: Opportunity, result: QuoteResult,
                 header: QuoteHeader, version: str | None = None) -> tuple[str, str]:
    context = quote_context(desk.crm, result, header, desk.config.locale, version)
    return templates.render("quote.txt.j2", context), templates.render("quote.html.j2", context)


def rendered_mark(desk: Desk, templates: Templates, result: QuoteResult, version: str) -> str:
    """The `context.text_mark` of the quote email of `version` as its templates render it now
    (`context.mark_context`); "" when it does not render (sending says why, and a text that
    renders later was never seen)."""
    context = mark_context(desk.crm, result, desk.config.locale, version)
    try:
        return text_mark(templates.render("quote.txt.j2", context), templates.render("quote.html.j2", context))
    except TemplateError:
        return ""


def prepare(desk: Desk, row: OutboxRow, templates: Templates, sender: str, now: dt.datetime, token: str) -> Prepared:
    """Build the message for a due row from the sheet as it is now. Anything that stops it is
    a permanent reason: retrying would not change the template, the quote or the header."""
    domain = sender.rpartition("@")[2].rstrip(">").strip() or "localhost"
    prepared = Prepared(row, row.own_message_id or message_id(f"{row.text('id')}.{token}", domain))
    if is_workflow_row(row.text("quote"), row.text("version")):
        return _prepare_workflow(desk, prepared, templates, sender, now)
    opp = find_opportunity(desk.crm, row.text("opportunity"))
    if opp is None:
        found = desk.crm.find("opportunities", row.text("opportunity") or "")
        # Two rows with its ID (a copied row) are no "not found": that sent a person looking
        # for a deal that is there, twice.
        prepared.error = (_("{row} has errors; fix them, then the quote can be sent", row=row_label(found[0]))
                          if len(found) == 1 and found[0].has_errors
                          else _("opportunity {id} names more than one row ({rows}), so which deal this quote is for "
                                 "cannot be told; give each row its own ID, then set Status to Approved again",
                                 id=row.text("opportunity"), rows=", ".join(row_label(r) for r in found))
                          if len(found) > 1 else _("opportunity {id} not found", id=row.text("opportunity")))
        return prepared
    result = desk.quote(opp)
    if result.quote is None:
        prepared.error = _("the quote has problems: {problems}",
                           problems="; ".join(f"{p.where()} {p.message}" for p in result.problems))
        return prepared
    # The version covers what the quote charges and what it shows (its contact, account…):
    # the email is rendered from the sheet as it is now, so it must be what was approved.
    version = desk.version(result, templates)
    charged = charges_of(row.text("version"))
    if version != charged and charged in desk.earlier_versions(result, (row.text("opportunity"),), templates):
        # Queued before IDs compared as the read compares them (`Quote.spelt_version`), or
        # before figures counted as their values (`Quote.typed_version`): the same quote.
        version = charged
    if version != charged:
        prepared.error = _("the quote changed since this row was queued (what it charges, or what it shows of its "
                           "deal, account or contact; version {queued}, now {current}); queue it again to send the "
                           "current one", queued=charged, current=version)
        return prepared
    # The quote's date is the team's day it was queued (Created is written in UTC).
    created = _day(row.raw.get("created"), desk.config)
    header = QuoteHeader(row.text("quote"), created or team_time.day_of(desk.config, now))
    try:
        text, html = render_quote(desk, templates, opp, result, header, version)
        prepared.message = build_message(sender=sender, to=row.text("to"), subject=row.text("subject"), text=text,
                                         html=html, message_id=prepared.message_id, date=now,
                                         attachment_name=f"{safe_stem(header.number)}.html")
    except (TemplateError, HeaderError) as e:
        prepared.error = str(e)
        return prepared
    shown, mark = text_of(row.text("version")), rendered_mark(desk, templates, result, version)
    # A row queued before the mark was of the email rendered carries its templates' files'
    # mark: while those files are unchanged it is the text approved, and holding it said
    # "templates changed" of every approved quote after an upgrade.
    if shown is not None and shown != mark and shown != templates.files_mark(QUOTE_TEMPLATES, desk.config.locale):
        # The person approved the email as its templates rendered it then: the new words wait
        # for their approval, never sent unseen.
        prepared.message, prepared.redraft = None, with_text(version, mark)
        prepared.error = _("not sent: the quote's email templates changed since it was approved, so it would not "
                           "say what was approved; it is back at Draft: see the new text with `sheetcrm quote {deal}`, "
                           "then set Status to Approved again", deal=row.text("opportunity"))
    return prepared


@dataclass(frozen=True)
class _Sent:
    """What the Outbox's sender itself sent, as `follow_ups.reply` tells its logged Emails apart."""

    sent_ids: frozenset[str]
    sent_quotes: frozenset[tuple[str, str]]


def _prepare_workflow(desk: Desk, prepared: Prepared, templates: Templates, sender: str,
                      now: dt.datetime) -> Prepared:
    """A workflow's email, from the firing that queued it and the record as it is now."""
    row = prepared.row
    # The record's replies as the sheet reads now: a reply typed since the last sync stops the
    # step's email here, not only once a sync has journaled the stop.
    outbox = desk.outbox
    sent = _Sent(frozenset(m for r in outbox.rows if (m := r.own_message_id)),
                 frozenset((match_key(r.text("opportunity")), canonical_text(r.text("subject")))
                           for r in outbox.rows if r.own_message_id and r.text("quote")))
    found = origin(desk.crm, desk.config, row.text("id"), row.text("version"), now.date(), sent)
    if isinstance(found, str):
        prepared.error = found
        return prepared
    context = email_context(desk.crm, desk.config, found, desk.config.locale)
    if isinstance(context, str):
        prepared.error = context
        return prepared
    try:
        text, html = render_email(templates, found, context)
        prepared.message = build_message(sender=sender, to=row.text("to"), subject=row.text("subject"), text=text,
                                         html=html, message_id=prepared.message_id, date=now)
    except (TemplateError, HeaderError) as e:
        prepared.error = str(e)
    return prepared


def plan_claims(outbox: Outbox, prepared: list[Prepared], now: dt.datetime, locale: str) -> Plan:
    """Write 1: every sendable row to Sending, every unsendable one to Failed, each guarded by
    its ID and the Approved status it was read with."""
    plan = Plan()
    cols = outbox.columns
    for p in prepared:
        values: dict[str, CellValue]
        if p.error is None:
            values = {"status": status_label("Sending", locale), "message_id": p.message_id,
                      "attempts": p.row.attempts + 1, "last_try": stamp(now), "next_try": None, "error": None}
        elif p.redraft is not None:
            values = {"status": status_label("Draft", locale), "error": p.error, "next_try": None,
                      "version": p.redraft, "seal": seal(p.row.text("id"), p.row.text("opportunity"),
                                                          p.row.text("quote"), p.redraft)}
        else:
            values = {"status": status_label("Failed", locale), "error": p.error, "next_try": None}
        expect = p.row.guard(cols, "status")
        plan.writes.extend(CellWrite(outbox.title, p.row.row, cols[k], v, expect=expect)
                           for k, v in values.items() if k in cols)
    return plan


def plan_outcomes(desk: Desk, results: list[tuple[Prepared, Outcome]], now: dt.datetime,
                  settings: SmtpSettings) -> tuple[Plan, list[str]]:
    """Write 2 from a fresh snapshot: each claimed row's outcome, guarded by its ID, Status ==
    Sending and our Message-ID; and an Email activity per sent quote. Returns the plan and the
    IDs of rows a person changed during the send (left as they are)."""
    plan, changed = Plan(), []
    outbox, locale = desk.outbox, desk.config.locale
    cols = outbox.columns
    for p, outcome in results:
        row = outbox.find(p.row.text("id"))
        if row is None or row.status != "Sending" or row.text("message_id") != p.message_id:
            changed.append(p.row.text("id"))
            continue
        attempts = row.attempts
        values: dict[str, CellValue]
        if outcome.kind == "sent":
            values = {"status": status_label("Sent", locale), "sent_at": stamp(now), "error": None}
            if row.text("quote"):  # a workflow's email is in the Workflow Log, not an activity
                _plan_activity(desk, plan, row, now)
        elif outcome.kind in ("setup", "stopped"):
            # Not the message's fault: the row waits, due at once, for the setting to be fixed
            # (or, "stopped", for the next run: this one stopped before trying it).
            values = {"status": status_label("Approved", locale), "attempts": max(attempts - 1, 0),
                      "next_try": None, "error": _("not sent: {reply}", reply=outcome.reply)}
        elif outcome.kind == "transient" and attempts < settings.max_attempts:
            wait = min(settings.retry_seconds * 2 ** (attempts - 1), settings.max_retry_seconds)
            next_try = now + dt.timedelta(seconds=wait)
            values = {"status": status_label("Approved", locale), "next_try": stamp(next_try),
                      "error": _("try {attempt} failed, retrying after {at}: {reply}", attempt=attempts,
                                 at=stamp(next_try), reply=outcome.reply)}
        elif outcome.kind in ("transient", "permanent"):
            reason = outcome.reply if outcome.kind == "permanent" else ngettext(
                "gave up after {n} try: {reply}", "gave up after {n} tries: {reply}", attempts, reply=outcome.reply)
            values = {"status": status_label("Failed", locale), "error": reason}
        else:
            # Not "set it to Approved": the journal holds its intent, so an Approved row goes back to
            # Sending (never sent twice on a guess); only `outbox resend` releases the version.
            values = {"error": _("outcome unknown, not retried: {reply}. Check whether {mid} arrived, then set Status "
                                 "to Sent, or run sheetcrm outbox resend {row} to send it again.", reply=outcome.reply,
                                 mid=row.text("message_id"), row=row.text("id"))}
        # The Message-ID goes with every outcome (unchanged where it lands as meant): a row
        # marked Sent always shows the message that went out, and an outcome that a sort put
        # on another row is told by it (docs/concurrency.md).
        values["message_id"] = p.message_id
        expect = row.guard(cols, "status", "message_id")
        plan.writes.extend(CellWrite(outbox.title, row.row, cols[k], v, expect=expect) for k, v in values.items())
    desk.plan_sequences(plan)
    return plan, changed


def _plan_activity(desk: Desk, plan: Plan, row: OutboxRow, now: dt.datetime, message_id: str | None = None) -> None:
    table = desk.crm.tables.get("activities")
    opp = find_opportunity(desk.crm, row.text("opportunity"))
    if table is None:
        return  # no Activities tab: the Outbox row is the only record
    fields = table.header.fields
    act_id = f"ACT-{desk.next_id('ACT', (r.id for r in table.rows)):04d}"
    locale = desk.config.locale
    day = team_time.day_of(desk.config, now)  # the team's day of the send
    values = {"id": act_id, "date": day, "type": in_locale(locale, NC_("activity type", "Email")),
              "subject": row.text("subject"), "related": row.text("opportunity"), "owner": opp.owner if opp else None,
              "outcome": in_locale(locale, "Quote {quote} sent to {to} ({message_id})", quote=row.text("quote"),
                                   to=row.text("to"), message_id=message_id or row.text("message_id"))}
    plan.writes.extend(append_row(table.title, desk.append_at(table.title), {fields[k] + 1: v for k, v in values.items()
                                                    if k in fields and v is not None}))


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> Outcome: ...


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)        # row IDs
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    stuck: list[OutboxRow] = field(default_factory=list)  # at Sending before this run: a person must check
    changed: list[str] = field(default_factory=list)      # a person changed the row meanwhile; left alone
    restored: list[str] = field(default_factory=list)     # the journal overruled the sheet (details say how)
    held: list[str] = field(default_factory=list)         # not sent because of `setup`; due again at once
    redrafted: list[str] = field(default_factory=list)    # back to Draft: its templates changed since approval
    waiting: list[OutboxRow] = field(default_factory=list)  # Approved, waiting for their Next Try
    details: dict[str, str] = field(default_factory=dict)  # row ID -> reply or reason
    setup: str | None = None                              # the one line naming the setting to change
    warnings: list[str] = field(default_factory=list)
    unread: list[Issue] = field(default_factory=list)     # rows whose Status is no word sheetcrm reads: not acted on


class SetupError(WorkbookError):
    """Nothing could be sent because of a setting (SMTP) or the journal; the rows wait at
    Approved, due at once. Raised after the rows are recorded; `report` says what happened.
    A WorkbookError, like any expected outage: `sheetcrm run` logs it as one line."""

    def __init__(self, message: str, report: SendReport) -> None:
        super().__init__(message)
        self.report = report


_JOURNAL_STATE = {"sent": "sent", "transient": "not_sent", "permanent": "not_sent", "setup": "not_sent",
                  "unknown": "intent", "stopped": "not_sent"}


def send_outbox(book: Workbook, config: Config, settings: SmtpSettings, templates: Templates,
                transport: Callable[[], ContextManager[Transport]], clock: Callable[[], dt.datetime],
                token: Callable[[], str], *, journal: Journal | None = None, early: bool = False) -> SendReport:
    """Send every due Approved row exactly once: read, claim, send, read, record.

    `journal` defaults to the workbook's, beside its lock; `early` sends rows waiting for
    their Next Try now. Raises SetupError (after recording the rows) when a setting stops
    every send, and JournalError when the journal cannot be read. Everything it writes and
    raises is in the team's language, whatever thread or command runs it: the config's, else
    the workbook's (`Desk.read`)."""
    with speaking_team(config.locale):
        if journal is not None:
            return _send(book, config, settings, templates, transport, clock, token, journal, early)
        with Journal.beside_lock(book) as own:
            return _send(book, config, settings, templates, transport, clock, token, own, early)


def _send(book: Workbook, config: Config, settings: SmtpSettings, templates: Templates,
          transport: Callable[[], ContextManager[Transport]], clock: Callable[[], dt.datetime],
          token: Callable[[], str], journal: Journal, early: bool) -> SendReport:
    report = SendReport()
    now = clock()
    desk = Desk.read(book.read(), config)  # settles the language spoken from here on (send_outbox)
    config = desk.config  # the workbook's language when the config sets none
    report.unread = unread_statuses(desk.outbox, config.locale)
    restores, notes = plan_restores(desk, journal.ledger(), now)
    report.stuck = [r for r in desk.outbox.rows if r.status == "Sending" and r.text("id") not in notes]
    due = [r for r in due_rows(desk.outbox, now, early) if r.text("id") not in notes]
    report.waiting = [r for r in desk.outbox.rows if r.status == "Approved" and r.text("id")
                      and r.text("id") not in notes and r not in due]
    foreign = strangers(desk.outbox)
    prepared = [Prepared(row, "", error=foreign[row.row]) if row.row in foreign
                else Prepared(row, "", error=_not_queued()) if not _ours(row)
                else prepare(desk, row, templates, settings.from_ or "", now, token()) for row in due]
    claims = plan_claims(desk.outbox, prepared, now, config.locale)
    claims.writes.extend(restores.writes)
    desk.plan_sequences(claims)
    if not claims:
        return report
    written = book.write(claims)
    skipped_rows = {w.row for w in written.skipped if w.tab == desk.outbox.title} if written else set()
    for row_id, (state, note, sheet_row) in notes.items():
        if sheet_row in skipped_rows:
            report.changed.append(row_id)
        else:  # an unknown outcome is for a person, as a row left at Sending
            (report.restored if state in ("sent", "misplaced", "blank") else report.unknown).append(row_id)
            report.details[row_id] = note
    if not prepared:
        return report
    # Send only what the sheet now says this run claimed: a claim re-aimed by a concurrent
    # sort onto another row, or dropped, must send nothing; one whose answer was lost but
    # which landed is ours to send. Costs one read, only in a run that claimed something.
    claimed = {r.text("id"): r.text("message_id") for r in read_outbox(book.read(), config.locale).rows
               if r.status == "Sending"}
    results: list[tuple[Prepared, Outcome]] = []
    stopped: str | None = None  # why the rest of this run's rows are not tried
    with transport() as smtp:
        for p in prepared:
            row_id = p.row.text("id")
            if p.message is None:
                (report.redrafted if p.redraft is not None else report.failed).append(row_id)
                report.details[row_id] = p.error or ""
            elif claimed.get(row_id) != p.message_id:
                report.changed.append(row_id)
            elif report.setup is not None:
                results.append((p, Outcome("setup", report.setup)))
            elif stopped is not None:
                results.append((p, Outcome("stopped", stopped)))
            else:
                try:
                    outcome = _send_one(journal, smtp, p, clock, report)
                except Exception as e:  # noqa: BLE001 - a fault of the transport's, not a row's
                    # Every row must end this run in a state that is true, never at Sending
                    # for a message that never left: this one may have (its intent stays in
                    # the journal, so it is the person's to check); the rest were not tried.
                    error = f"{type(e).__name__}: {e}"
                    outcome = Outcome("unknown", _("sheetcrm stopped while sending it: {error}", error=error))
                    stopped = _("this run stopped at {row} before trying it ({error}); the next run sends it",
                                row=row_id, error=error)
                if outcome is not None:
                    results.append((p, outcome))
    if results:
        done = clock()
        for attempt in range(1, OUTCOME_ATTEMPTS + 1):
            plan, changed = plan_outcomes(Desk.read(book.read(), config), results, done, settings)
            try:
                book.write(plan)
                break
            except WorkbookConflict as e:
                # Saved by someone else after that read (an .xlsx): nothing was written, but the
                # emails are gone. Record their outcomes on the new file now, not a run later.
                if attempt == OUTCOME_ATTEMPTS:
                    sent = sum(1 for _p, outcome in results if outcome.kind == "sent")
                    raise WorkbookConflict(unrecorded(e, sent, attempt)) from None
        report.changed.extend(changed)
    for p, outcome in results:
        row_id = p.row.text("id")
        if row_id in report.changed:
            continue
        report.details[row_id] = outcome.reply
        if outcome.kind == "sent":
            report.sent.append(row_id)
        elif outcome.kind == "unknown":
            report.unknown.append(row_id)
        elif outcome.kind == "setup":
            report.held.append(row_id)
        elif outcome.kind == "stopped":
            report.retrying.append(row_id)
        elif outcome.kind == "transient" and p.row.attempts + 1 < settings.max_attempts:
            report.retrying.append(row_id)
        else:
            report.failed.append(row_id)
    if report.setup is not None:
        raise SetupError(report.setup, report)
    return report


def _send_one(journal: Journal, smtp: Transport, p: Prepared, clock: Callable[[], dt.datetime],
              report: SendReport) -> Outcome | None:
    """One message, between its journal records: the intent on disk before the message can
    leave, the outcome after the server's answer. None when the journal holds the quote."""
    row_id = p.row.text("id")
    try:
        held = journal.begin(p.message_id, p.row.text("version"), row_id, p.row.text("quote"), clock())
    except JournalError as e:
        report.setup = str(e)
        return Outcome("setup", report.setup)
    if held is not None:
        # Another sheetcrm process took this quote since the journal was read: the row stays
        # at Sending with this run's Message-ID, for a person, rather than risk a second email.
        report.unknown.append(row_id)
        report.details[row_id] = _(JOURNALED["intent"], mid=held.message_id, at=held.tried_at, row=row_id,
                                   status=in_locale(current(), STATUSES["Sending"]))
        return None
    outcome = smtp.send(p.message)  # type: ignore[arg-type]  # only built messages get here
    try:
        journal.finish(p.message_id, _JOURNAL_STATE[outcome.kind], clock(), outcome.reply)  # type: ignore[arg-type]
    except JournalError as e:
        # The intent stays: the quote is held as unknown, the safe side. The row records the truth.
        report.warnings.append(f"{row_id}: {e}")
    if outcome.kind == "setup":
        report.setup = outcome.reply
    return outcome
