"""Lead conversion: a lead whose Status becomes Converted, or whose Convert cell is ticked,
becomes an account, a contact and (as [conversion] says) an opportunity, once.

Runs after `ids` (a lead converts once it has an ID; the new rows take the next IDs of the
sequences, `ctx.marks`) and before `compute`: the new rows join the read's tables here, so this
very sync computes the new deal's metrics, history, forecast and the conversion KPIs, and the
next sync, with nothing edited, writes nothing.

Exactly once (docs/leads.md, "Lead conversion"):

- a lead's Converted Account cell is the record: filled, the lead never converts again;
- every row a conversion makes names the lead in its From Lead column, so a sync that finds
  rows made from an unlinked lead links them instead of making more (the read's
  `inputs.conversions.from_lead`);
- the writes hang together by `requires`: the contact's ID waits for the new account's, the
  deal's for the contact's (or the account's), every cell of a row for its ID, the lead's
  links for the last new row's ID, and the lead's Lead Status History row for its links; so a
  row a person typed meanwhile where one would go drops what depends on it, and the next sync
  picks up where this one stopped.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sheetcrm import cells
from sheetcrm.candidates import Candidate, candidates
from sheetcrm.cells import normalize_key
from sheetcrm.crm.conversion import (CONVERTED, PROBLEMS, WHAT, Conversion, Converted, DealAmount, Matcher, Problem,
                                     Unsure, convert, names_account)
from sheetcrm.crm.history import last_rows
from sheetcrm.crm.stages import StageTable
from sheetcrm.crm.words import STAGE
from sheetcrm.engine import words_of
from sheetcrm.i18n import N_, _, current
from sheetcrm.ids import id_pattern, row_key
from sheetcrm.plan import append_writes, cell_value
from sheetcrm.records import Contact, Priced, Record
from sheetcrm.report import Issue, column_letter
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.schema import TABS, budget_header
from sheetcrm.table import Row, Table
from sheetcrm.validate import Crm
from sheetcrm.workbook import CellWrite

PREFIX = {"accounts": "ACC", "contacts": "CON", "opportunities": "OPP"}
LINKS = ("converted_account", "converted_contact", "converted_opportunity", "converted_on")

Anchor = tuple[str, int, int]


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    crm = ctx.crm
    leads = crm.tables.get("leads")
    if leads is None or crm.inputs is None or "id" not in leads.header.fields:
        return part
    settings = ctx.config.conversion
    known = crm.inputs.conversions
    # Each lead's last logged status, by match_key of its ID (as the lead's is looked up below).
    # A last day whose rows do not chain (history_unordered, said by the history step) may have
    # ended in Converted: no change to it is seen, as no row is logged (`record_changes`), so a
    # sort of the tab never decides whether a lead converts.
    last, unsure = last_rows(crm.inputs.lead_history)
    logged = {key: CONVERTED if key in unsure and CONVERTED in unsure[key].ends else row.to_key
              for key, row in last.items()}
    stages = StageTable.of(ctx.config.stages)
    first_stage = (stages.open or stages.stages)[0].name
    out = _Writer(ctx, part)
    # The matcher indexes every account and contact (phones parsed, names folded: about half
    # a second at 10k leads): made when the first lead asks to convert, from the rows as read,
    # those with a bad cell too (by what of them reads: an Acme whose Employees is unreadable is
    # still Acme, never to be made twice), each with the key cells it cannot read.
    match: Matcher | None = None
    rows_of: dict[int, Candidate] = {}
    present = {tab: (table.title, {r.id for r in table.rows if r.id}) for tab in PREFIX
               if (table := crm.tables.get(tab)) is not None}
    unread = [why for tab in PREFIX if (why := _unread(ctx, tab)) is not None]
    amounts: _Amounts | None = None  # the leads' Amount and Budget read as money: when the first lead asks
    made_empty: dict[str, str] | None = None
    accounts: dict[str, Any] | None = None

    def unnamed(row: Row, account: str | None) -> list[Issue]:
        """`_unnamed` for the lead's account, looked up among the accounts as read."""
        nonlocal accounts
        if not account or not row.record.company:
            return []
        if accounts is None:
            accounts = {cells.match_key(a.id): a for a in crm.records("accounts") if a.id}
        record = accounts.get(cells.match_key(account))
        if record is None or names_account(row.record.company, record, ctx.config.duplicates):
            return []
        return [_unnamed(leads, row, record)]

    def unpriced(lead_id: str) -> set[str]:
        """The deal a conversion made from `lead_id` (From Lead), when its Amount is empty."""
        nonlocal made_empty
        if made_empty is None:
            empty = {o.id for o in crm.records("opportunities") if o.id and o.amount is None}
            made_empty = {lead: deal for lead, deal in known.from_lead.get("opportunities", {}).items()
                          if deal in empty}
        deal = made_empty.get(lead_id)
        return {deal} if deal else set()
    for row in list(leads.rows):
        lead = row.record
        if lead is None or lead.id is None or row.assigned:
            continue  # a lead with errors is reported already; a new ID converts next sync
        link = known.links.get(row.row)
        if link is not None and link.account:
            part.issues.extend(_gone(crm, leads, row, link, present))
            part.issues.extend(_unlike(leads, row, link, present, known.made))
            part.issues.extend(unnamed(row, link.account))
            # Its deal made with the Amount empty (a doubted cell) is said on every sync until filled.
            if link.opportunity and link.opportunity in unpriced(lead.id):
                amounts = amounts or _Amounts(ctx, leads)
                told, cell = amounts.of(row)
                if told is not None and told.doubt is not None and cell is not None:
                    part.issues.append(_left_empty(leads, row, cell, link.opportunity, told.doubt,
                                                   crm.tables["opportunities"].title))
            continue  # converted: the record says so
        found = {tab: known.from_lead.get(tab, {}).get(lead.id) for tab in PREFIX}
        # "Becomes": sheetcrm saw the lead with another status before. A lead first seen
        # Converted (old data, a first sync) is history, not a request; its Convert tick is one.
        asked = lead.convert is True or (lead.status == CONVERTED and logged.get(cells.match_key(lead.id or "")) not in (None, CONVERTED))
        if not asked and not any(found.values()):
            continue
        if unread:
            # A tab whose rows are not read hides the records a conversion matches and links
            # (and takes no new row): the whole conversion waits, nothing of it written.
            part.issues.append(_waits(leads, row, unread[0]))
            continue
        made = _found(crm, found)
        if not asked:
            if made.account:
                out.link(leads, row, made, {})
                # A kept cell's link, said at once.
                part.issues.extend(_unlike(leads, row, known.links[row.row], present, known.made))
            continue
        if match is None:
            match, rows_of = _matcher(ctx)
        amounts = amounts or _Amounts(ctx, leads)
        told, cell = amounts.of(row)
        plan = convert(lead, match, settings, ctx.as_of, first_stage, told,
                       found_account=made.account, found_contact=made.contact_record,
                       found_opportunity=made.opportunity)
        if isinstance(plan, Unsure):
            part.issues.append(_waits(leads, row, _unsure(plan, rows_of)))
            continue
        if _fresh(crm, plan):
            continue  # it matched a row whose ID this sync hands out: it converts next sync, as a new lead does
        if isinstance(plan, Conversion) and not made.account and (why := _no_account(crm, plan, out.made)) is not None:
            part.issues.append(_waits(leads, row, why))
            continue
        if isinstance(plan, Problem):
            message, hint = PROBLEMS[plan.code]
            part.issues.append(Issue("warning", leads.title, row.row, None, None, lead.id, plan.code,
                                     _(message, what=_(WHAT[plan.what]) if plan.what else "",
                                       ids=", ".join(plan.ids), **dict(plan.values)), _(hint, **dict(plan.values))))
            continue
        # Every row it makes must land, or none: a deal whose tab cannot take it would leave
        # the account and contact made and the lead unlinked.
        cannot = [why for tab, new in (("accounts", plan.new_account), ("contacts", plan.new_contact),
                                       ("opportunities", plan.new_opportunity))
                  if new is not None and (why := _no_room(ctx, tab)) is not None]
        if cannot:
            part.issues.append(_waits(leads, row, cannot[0]))
            continue
        deal = out.conversion(leads, row, plan, made, match)
        part.issues.extend(unnamed(row, plan.account))
        if made.account and row.row in known.links:  # linked again: a kept cell's link, said at once
            part.issues.extend(_unlike(leads, row, known.links[row.row], present, known.made))
        if deal is not None and told is not None and told.doubt is not None and cell is not None:
            part.issues.append(_left_empty(leads, row, cell, deal, told.doubt, crm.tables["opportunities"].title))
    if settings.activities != "keep":
        out.follow(copy=settings.activities == "copy")
    return part


# --- a conversion that waits for a tab it cannot read or write -----------------------------------

WAITS = "conversion_waits"
WAITS_MESSAGE = N_("This lead is not converted yet: {why}. Nothing is written for it until that is fixed; it "
                   "converts on the first sync after.")
WAITS_HINT = N_("Fix {tab} (its issue is on the Validation tab); the lead's Convert stays as it is.")
_UNREAD_COLUMN = N_('{tab} has no "{column}" column, so none of its rows is read')
_NO_TAB = N_('there is no "{tab}" tab for its new row')
_NO_ID = N_("{tab} has no ID column for its new row")
_FULL = N_("{tab} has no room for the columns sheetcrm adds beside its new row")


# Whole sentences per kind of record, so a language can agree its words with the noun.
_MAY_BE = {"accounts": N_("row {row} of {tab} may be its account, but its {column} ({shown}) cannot be read"),
           "contacts": N_("row {row} of {tab} may be its contact, but its {column} ({shown}) cannot be read")}
_SAME_ID = {"accounts": N_("row {row} of {tab} may be its account, but its ID {shown} is also on row {also}"),
            "contacts": N_("row {row} of {tab} may be its contact, but its ID {shown} is also on row {also}")}


def _matcher(ctx: SyncContext) -> tuple[Matcher, dict[int, Candidate]]:
    """The matcher over every account and contact row (`sheetcrm.candidates`), and each row's
    candidate by its record's identity, for `_unsure` to name its cells."""
    found: dict[str, list[Candidate]] = {}
    for tab in ("accounts", "contacts"):
        table = ctx.crm.tables.get(tab)
        found[tab] = candidates(table, ctx.snapshot.tabs.get(table.title)) if table is not None else []
    match = Matcher([(c.record, c.unread_fields) for c in found["accounts"]],
                    [(c.record, c.unread_fields) for c in found["contacts"]], ctx.config.duplicates)
    return match, {id(c.record): c for cs in found.values() for c in cs}


def _unsure(plan: Unsure, rows_of: dict[int, Candidate]) -> tuple[str, str]:
    """(the tab, why the conversion waits): the first record it may be, and its unread key cell."""
    candidate = rows_of[id(plan.records[0])]
    cell = candidate.unread[0]
    what = "contacts" if isinstance(candidate.record, Contact) else "accounts"
    if cell.field == "id":
        why = _(_SAME_ID[what], tab=cell.tab, row=cell.row, shown=cells.quoted(cell.value), also=cell.also)
    else:
        why = _(_MAY_BE[what], tab=cell.tab, row=cell.row, column=cell.header or cell.column,
                shown=cells.quoted(cell.value))
    return cell.tab, why


_NO_ACCOUNT = N_("row {row} of {tab} is its contact, but its Account ({shown}) does not name one account")


def _no_account(crm: Any, plan: Conversion, made: dict[str, Anchor]) -> tuple[str, str] | None:
    """Why the account the matched contact names cannot be the conversion's (its Account cell
    names no account, or two: a contact row with that error is still matched), as (tab, why);
    None when it names one, or when the workbook has no Accounts tab to check against.
    `made`: the IDs of the rows this step made (`_Writer.made`), which the read's look-up does
    not know: a contact made for another lead of the same person names its new account."""
    contacts = crm.tables.get("contacts")
    if plan.new_account is not None or not plan.account or plan.new_contact is not None or contacts is None \
            or "accounts" not in crm.tables or len(crm.find("accounts", plan.account)) == 1 \
            or plan.account in made:
        return None
    row = next((r for r in crm.find("contacts", plan.contact or "")), None)
    return contacts.title, _(_NO_ACCOUNT, tab=contacts.title, row=row.row if row else "?",
                             shown=cells.quoted(plan.account))


def _fresh(crm: Any, plan: Conversion | Problem) -> bool:
    """Whether the conversion links an account or contact whose ID the ids step hands out in
    this sync: that write may not land, and the links would name nothing."""
    if not isinstance(plan, Conversion):
        return False
    for tab, rid in (("accounts", plan.account), ("contacts", plan.contact)):
        table = crm.tables.get(tab)
        if rid and table is not None and any(r.assigned and not r.appended and r.id == rid for r in table.rows):
            return True
    return False


def _unread(ctx: SyncContext, tab: str) -> tuple[str, str] | None:
    """Why the rows of `tab` (a tab a conversion matches, makes and links rows in) are not
    read, as (the tab's title, the reason); None when they are, or when the workbook has no
    such tab (said only when a conversion needs it: `_no_room`)."""
    table = ctx.crm.tables.get(tab)
    missing = [] if table is None else [c for c in table.spec.columns
                                        if c.required and c.field not in table.header.fields]
    if not missing:
        return None
    column = missing[0].header_es if current() == "es" else missing[0].header
    return table.title, _(_UNREAD_COLUMN, tab=table.title, column=column)


def _no_room(ctx: SyncContext, tab: str) -> tuple[str, str] | None:
    """Why a new row cannot be appended to `tab` (`_Writer.append`), as (tab, reason); None when it can."""
    table = ctx.crm.tables.get(tab)
    if table is None:
        title = ctx.config.tab(tab).title or TABS[tab].display_title(current())
        return title, _(_NO_TAB, tab=title)
    if "id" not in table.header.fields:
        return table.title, _(_NO_ID, tab=table.title)
    if table.header.full:
        return table.title, _(_FULL, tab=table.title)
    return None


def _waits(leads: Table, row: Row, why: tuple[str, str]) -> Issue:
    """A warning at the cell that asked the lead to convert (Convert, else Status): it waits, and why."""
    lead = row.record
    key = "convert" if lead is not None and lead.convert is True else "status"
    col = leads.header.fields.get(key)
    value = row.cells[col] if col is not None and col < len(row.cells) else None
    return Issue("warning", leads.title, row.row, column_letter(col + 1) if col is not None else None,
                 leads.header.labels.get(col) if col is not None else None, value, WAITS,
                 _(WAITS_MESSAGE, why=why[1]), _(WAITS_HINT, tab=why[0]))


# --- the deal's amount, read as money -------------------------------------------------------------

LEFT_EMPTY = "conversion_amount_left_empty"
LEFT_EMPTY_MESSAGE = N_("The new opportunity {id} was made with its Amount empty, since this cell cannot be read "
                        "with confidence: {why}")
LEFT_EMPTY_HINT = N_("Fill in the Amount (and Currency) of {id} in {tab}.")
_CONFLICT = N_("{shown} names {currency}, but the lead's Currency is {theirs}.")
_UNSURE = N_("{shown} could be in {codes}.")
_NO_COLUMN = N_("{shown} is in {currency}, and {tab} has no Currency column to say so.")


class _Amounts:
    """What each lead says its deal is worth: its Amount, else its Budget/Presupuesto column (a
    team's own, typed by the config as a number or not at all), as the read left them: the
    number in the record, and what the read knows of the cell beyond it (`Record.priced`: the
    currency its text, its number format or its header names, and the read's doubt). Every
    value the read doubted (an ambiguous number, a cell its column's reading left out, a Budget
    column read as text) is never written into the new deal, nor is a currency that disagrees
    with the lead's or could be several, or one the Opportunities tab cannot hold."""

    def __init__(self, ctx: SyncContext, leads: Table) -> None:
        self.leads = leads
        header = leads.header
        self.base = ctx.config.currency
        deals = ctx.crm.tables.get("opportunities")
        self.deal_currency = deals is None or "currency" in deals.header.fields
        self.deals_title = deals.title if deals is not None else ""
        self.amount_col = header.fields.get("amount")
        self.currency_col = header.fields.get("currency")
        # A Budget the config types as something else than a number (text, a list of sizes) is no amount.
        typed = {normalize_key(name): kind.type for name, kind in ctx.config.tab("leads").custom_fields.items()}
        self.budget: tuple[str, int] | None = None  # the Budget column's header and column
        for name, col in header.custom.items():
            if budget_header(name)[0] and typed.get(normalize_key(name), "number") in ("number", "money", "integer"):
                self.budget = name, col
                break

    def of(self, row: Row) -> tuple[DealAmount | None, int | None]:
        """The lead's deal amount (None: its cells name none) and the column it is read from."""
        lead = row.record
        assert lead is not None
        if lead.amount is not None:
            key, col, value = "amount", self.amount_col, lead.amount
        elif self.budget is not None:
            (key, col), value = self.budget, lead.custom.get(self.budget[0])
        else:
            return None, None
        if col is None:
            return None, None
        raw = _cell(row, col)
        priced = (lead.priced or {}).get(key)
        why = priced.doubt if priced is not None else None
        if raw is None or value is None and why is None:
            return None, col
        currency = None
        if why is None:
            currency, why = self._currency(row, raw, priced)
        return (DealAmount(None, None, why) if why is not None else DealAmount(value, currency)), col

    def _theirs(self, row: Row) -> str | None:
        """The lead's own Currency cell, as read (None when it is blank or the tab has none)."""
        col = self.leads.header.fields.get("currency")
        lead = row.record or row.target
        return getattr(lead, "currency", None) if col is not None and _cell(row, col) is not None else None

    def _currency(self, row: Row, raw: Any, priced: Priced | None) -> tuple[str | None, str | None]:
        """(the deal's currency, None) or (None, why the cell is doubted)."""
        theirs = self._theirs(row)
        shown = cells.quoted(raw)
        # A Currency cell holding a symbol of several currencies ("$" in a EUR team) is read as
        # its usual one with a symbol_guess warning at the lead; copied, the deal's Currency was
        # that guess written as a plain code, unsaid from then on.
        typed = _cell(row, self.currency_col) if self.currency_col is not None else None
        meanings = cells.SYMBOL_CURRENCIES.get(typed.strip(), ()) if isinstance(typed, str) else ()
        if theirs is not None and len(meanings) > 1 and theirs != self.base:
            return None, _(_UNSURE, shown=cells.quoted(typed), codes=", ".join(meanings))
        code = theirs
        if priced is not None and (priced.currency is not None or priced.symbol is not None):
            code, symbol = priced.currency, priced.symbol
            meanings = cells.SYMBOL_CURRENCIES.get(symbol, (code,)) if symbol is not None else (code,)
            if theirs is not None and theirs not in meanings:
                return None, _(_CONFLICT, shown=shown, currency=code or symbol, theirs=theirs)
            if theirs is not None:
                code = theirs
            elif code is None or symbol is not None and code != self.base:
                return None, _(_UNSURE, shown=shown, codes=", ".join(meanings))
        if code is not None and code != self.base and not self.deal_currency:
            return None, _(_NO_COLUMN, shown=shown, currency=code, tab=self.deals_title)
        return code, None


def _cell(row: Row, col: int) -> Any:
    raw = row.cells[col] if col < len(row.cells) else None
    return None if cells.is_blank(raw) else raw


def _left_empty(leads: Table, row: Row, col: int, deal: str, why: str, deals: str) -> Issue:
    """The warning at the lead's Amount or Budget cell that its new deal's Amount is left empty."""
    return Issue("warning", leads.title, row.row, column_letter(col + 1), leads.header.labels.get(col),
                 row.cells[col] if col < len(row.cells) else None, LEFT_EMPTY,
                 _(LEFT_EMPTY_MESSAGE, id=deal, why=why), _(LEFT_EMPTY_HINT, id=deal, tab=deals))


# A lead's person matched to a contact (the same email) is converted into the contact's account
# when the lead's Company can be it (docs/leads.md): a domain they share is enough, so "Ana Ruiz,
# ana@acme.es, Company Globex" becomes Acmé S.A.'s and "Globex" is used nowhere. The rule
# stands, but the typed Company is never dropped unsaid: a warning at it, every sync it holds.
UNNAMED = "conversion_company_not_used"
UNNAMED_MESSAGE = N_('the lead is converted into {id} ("{name}"), but its Company "{company}" names another '
                     'company, which the conversion did not use (a lead that is already a contact goes to that '
                     'contact\'s account when they share a domain)')
UNNAMED_HINT = N_("if the person now works at {company}, change the Account of the contact and deal the lead became; "
                  "if this Company is wrong, correct or empty it")


def _unnamed(leads: Table, row: Row, account: Any) -> Issue:
    """The warning at the lead's Company cell that it names another company than `account`."""
    col = leads.header.fields["company"]
    company = row.record.company
    return Issue("warning", leads.title, row.row, column_letter(col + 1), leads.header.labels.get(col),
                 row.cells[col] if col < len(row.cells) else company, UNNAMED,
                 _(UNNAMED_MESSAGE, id=account.id, name=account.name or "", company=company),
                 _(UNNAMED_HINT, company=company))


GONE = "converted_record_missing"
GONE_MESSAGE = N_("the lead was converted to {id}, which is not in {tab} (deleted, or its ID changed)")
GONE_HINT = N_("put the record back, or clear the lead's Converted cells: it then converts again if Convert is "
               "still ticked")
# A Converted cell retyped by name: the link is not taken from the name (a guess), but the
# warning says which record the name is, so the fix is to type its ID.
GONE_NAMED_MESSAGE = N_('this cell holds {value}, the name of {id} in {tab}, not its ID: the lead is converted, but '
                        'its link names no record')
GONE_NAMED_HINT = N_("type {id} in this cell: the Converted cells hold IDs")
GONE_NAMES_MESSAGE = N_('this cell holds {value}, a name of several records in {tab} ({ids}), not an ID: the lead is '
                        'converted, but its link names no record')
GONE_NAMES_HINT = N_("type the ID of the record the lead was converted to in this cell: the Converted cells hold IDs")
CONVERTED_TABS = {"converted_account": "accounts", "converted_contact": "contacts",
                  "converted_opportunity": "opportunities"}
UNLIKE = "converted_link_differs"
UNLIKE_MESSAGE = N_("the lead is linked to {id}, but {made} is the one its conversion made (its From Lead names this "
                    "lead): the link is kept as it is")
UNLIKE_HINT = N_("if {id} is right, clear the From Lead of {made}; else type {made} here")


def _gone(crm: Crm, leads: Table, row: Row, link: Converted, present: dict[str, tuple[str, set[str]]]) -> list[Issue]:
    """A warning at each Converted cell of a converted lead that names a record no longer in
    its tab: the lead still counts as converted (its Converted Account is the record), so the
    link is said to be broken rather than trusted quietly; a cell retyped with a record's name
    rather than its ID is said to be that, naming the record's ID. A tab the workbook lacks is
    not checked."""
    out = []
    for key, tab in CONVERTED_TABS.items():
        rid = getattr(link, key.removeprefix("converted_"))
        col = leads.header.computed.get(key)
        if not rid or col is None or tab not in present or rid in present[tab][1]:
            continue
        header = next((c.display(current()) for c in leads.spec.computed if c.key == key), key)
        found, by_id = crm.targets[tab].find_key(crm.keys[rid]) if tab in crm.targets else ([], True)
        named = [] if by_id else sorted({r.id for _form, r in found if r.id})
        if len(named) == 1:
            message, hint = (_(GONE_NAMED_MESSAGE, value=cells.quoted(rid), id=named[0], tab=present[tab][0]),
                             _(GONE_NAMED_HINT, id=named[0]))
        elif named:
            message, hint = (_(GONE_NAMES_MESSAGE, value=cells.quoted(rid), ids=", ".join(named), tab=present[tab][0]),
                             _(GONE_NAMES_HINT))
        else:
            message, hint = _(GONE_MESSAGE, id=rid, tab=present[tab][0]), _(GONE_HINT)
        out.append(Issue("warning", leads.title, row.row, column_letter(col + 1), header, rid, GONE, message, hint))
    return out


def _unlike(leads: Table, row: Row, link: Converted, present: dict[str, tuple[str, set[str]]],
            made_from: dict[str, dict[str, set[str]]]) -> list[Issue]:
    """A warning at each Converted cell of a converted lead naming a record other than the one
    its conversion made (the row whose From Lead names the lead): a link a person retyped, or a
    From Lead they moved, is kept and read as it is, never put back quietly; and never taken
    quietly either, since the two cells now say different things. A record gone is
    `_gone`'s; a lead no row names in From Lead (its account matched, not made) is not checked."""
    out = []
    for key, tab in CONVERTED_TABS.items():
        rid = getattr(link, key.removeprefix("converted_"))
        col = leads.header.computed.get(key)
        made = made_from.get(tab, {}).get(row.id or "")
        if not rid or col is None or not made or tab not in present or rid not in present[tab][1] or rid in made:
            continue
        header = next((c.display(current()) for c in leads.spec.computed if c.key == key), key)
        shown = ", ".join(sorted(made))
        out.append(Issue("warning", leads.title, row.row, column_letter(col + 1), header, rid, UNLIKE,
                         _(UNLIKE_MESSAGE, id=rid, made=shown), _(UNLIKE_HINT, id=rid, made=shown)))
    return out


@dataclasses.dataclass
class _Made:
    """The rows an earlier conversion of the lead made (From Lead), and what they name."""

    account: str | None = None
    contact: str | None = None
    contact_record: Any = None
    opportunity: str | None = None
    on: Any = None


def _found(crm: Any, found: dict[str, str | None]) -> _Made:
    made = _Made(account=found["accounts"], contact=found["contacts"], opportunity=found["opportunities"])
    # A row with a bad cell is still the one the conversion made (by what of it reads).
    records = {tab: {r.id: r.record or r.target for r in table.rows}
               for tab in PREFIX if (table := crm.tables.get(tab)) is not None}
    records = {tab: records.get(tab, {}) for tab in PREFIX}
    contact = records["contacts"].get(made.contact) if made.contact else None
    deal = records["opportunities"].get(made.opportunity) if made.opportunity else None
    if contact is not None:
        made.contact_record = contact
        made.account = made.account or contact.account
    if deal is not None:
        made.account = made.account or deal.account
        made.contact = made.contact or deal.contact
        if made.contact_record is None and made.contact:
            made.contact_record = records["contacts"].get(made.contact)
    for record in (records["accounts"].get(made.account or ""), contact, deal):
        if record is not None and record.created is not None:
            made.on = record.created  # the day those rows were made: the conversion's
            break
    return made


class _Writer:
    """Appends the new rows, links the lead, and keeps the read's tables in step with the plan."""

    def __init__(self, ctx: SyncContext, part: StepResult) -> None:
        self.ctx, self.part = ctx, part
        self.next_row: dict[str, int] = {}
        self.contact_of: dict[str, tuple[str, Anchor | None]] = {}  # lead ID -> its contact, and that row's ID write
        self.made: dict[str, Anchor] = {}  # the ID of each row this step appends -> its ID write

    def conversion(self, leads: Table, row: Row, plan: Conversion, made: _Made, match: Matcher) -> str | None:
        """Appends the plan's new rows and links the lead; returns the ID of the deal it made (None
        when it made none)."""
        lead = row.record
        assert lead is not None and lead.id is not None
        anchors: dict[str, Anchor | None] = {}
        account, contact, deal = plan.account, plan.contact, made.opportunity
        # An account or contact made in this sync for another lead (the same person, or their
        # company, asked twice) is matched as any: what names it lands only with its row.
        last: Anchor | None = self.made.get(contact or "") or self.made.get(account or "")
        if contact in self.made:
            anchors["converted_contact"] = last
        if plan.new_account is not None:
            account, last = self.append("accounts", plan.new_account, lead.id, None)
            anchors["converted_account"] = last
            if account is None:
                return None
            match.add_account(plan.new_account.model_copy(update={"id": account}))
        if plan.new_contact is not None:
            record = plan.new_contact.model_copy(update={"account": account})
            contact, last = self.append("contacts", record, lead.id, last)
            anchors["converted_contact"] = last
            if contact is None:
                return None
            match.add_contact(record.model_copy(update={"id": contact}))
        if plan.new_opportunity is not None:
            record = plan.new_opportunity.model_copy(update={"account": account, "contact": contact})
            deal, last = self.append("opportunities", record, lead.id, last)
            anchors["converted_opportunity"] = last
            if deal is None:
                return None
        links = _Made(account=account, contact=contact, opportunity=deal, on=self.ctx.as_of)
        self.link(leads, row, links, anchors, last)
        return deal if plan.new_opportunity is not None else None

    def append(self, tab: str, record: Record, lead_id: str, after: Anchor | None) -> tuple[str | None, Anchor | None]:
        """Appends `record` to `tab` with the next ID; returns the ID and its write (None, None
        when the tab is missing or has no ID column: nothing is written)."""
        table = self.ctx.crm.tables.get(tab)
        snapshot = self.ctx.snapshot
        if table is None or "id" not in table.header.fields or table.header.full:
            return None, None
        prefix = PREFIX[tab]
        self.ctx.marks[prefix] = number = _next_number(table, self.ctx.marks.get(prefix, 0), prefix)
        new_id = f"{prefix}-{number:04d}"
        # What the tab has no column for is not written, so the record holds only what lands.
        record = record.model_copy(update={"id": new_id, **{k: None for k in type(record).model_fields
                                                            if k not in table.header.fields}})
        values: dict[str, Any] = {k: v for k, v in record.model_dump().items() if v is not None}
        values = {k: self._cell(tab, k, v) for k, v in values.items()}
        writes, self.next_row[tab] = append_writes(table, snapshot.tabs[table.title], [values],
                                                   start=self.next_row.get(tab))
        anchor = writes[0].key
        if after is not None:
            writes[0] = dataclasses.replace(writes[0], requires=after)  # the row it names must land first
        sheet_row = anchor[1]
        col = self._column(table, "lead")
        writes.append(CellWrite(table.title, sheet_row, col + 1, lead_id, expect=writes[0].expect, requires=anchor))
        self.part.plan.writes.extend(writes)
        # The new record joins the read, so the steps after this one compute and write with it.
        width = max([table.header.width, *(w.col for w in writes)])
        cells: list[Any] = [None] * width
        for w in writes:
            if w.col - 1 != col:
                cells[w.col - 1] = w.value
        record = record.model_copy(update={"row": sheet_row})
        table.rows.append(Row(sheet_row, new_id, record, cells, assigned=True, target=record, appended=True))
        self.ctx.id_fills[new_id] = anchor  # its history rows wait for its ID
        self.made[new_id] = anchor
        return new_id, anchor

    def _cell(self, tab: str, key: str, value: Any) -> Any:
        if tab == "opportunities" and key == "stage":
            return words_of(self.ctx.crm, self.ctx.config)(STAGE, value)  # the team's word for it
        return cell_value(value)

    def _column(self, table: Table, key: str) -> int:
        """The column of a recorded computed column, its header written when the tab lacks it."""
        header = table.header
        col = header.computed.get(key)
        if col is None:
            col = header.new[key]
            computed = next(c for c in table.spec.computed if c.key == key)
            self.part.plan.writes.append(CellWrite(table.title, header.row, col + 1,
                                                   header.computed_title(computed, self.ctx.locale),
                                                   expect=((col + 1, None),)))
            header.computed[key] = col
        return col

    def link(self, leads: Table, row: Row, made: _Made, anchors: dict[str, Anchor | None],
             last: Anchor | None = None) -> None:
        """The lead's Converted columns. Each requires `last` (the last new row's ID write), so
        the links land with every row they name, or not at all; the lead's history rows of
        this sync wait for them (`ctx.id_fills`).

        Only an empty cell is written: a Converted cell a person filled (a Converted Contact
        retyped, then the Converted Account cleared) is theirs, kept and read as it is (and a
        link unlike the row the conversion made is said at its cell every sync, `_unlike`)."""
        lead = row.record
        assert lead is not None and lead.id is not None
        known = self.ctx.crm.inputs.conversions  # type: ignore[union-attr]
        held = known.links.get(row.row)  # the Converted cells the read found filled
        values = {"converted_account": made.account, "converted_contact": made.contact,
                  "converted_opportunity": made.opportunity, "converted_on": made.on or self.ctx.as_of}
        if held is not None:
            values.update({key: had for key, had in (("converted_account", held.account),
                                                     ("converted_contact", held.contact),
                                                     ("converted_opportunity", held.opportunity),
                                                     ("converted_on", held.on)) if had})
        expect = row_key(leads, row)
        first: Anchor | None = None
        for key in LINKS:
            # Every link's column is placed with its header, a link with no value too: their
            # columns are handed out side by side (`Header.new`), so one skipped would be a
            # column with no header between two of sheetcrm's (a lead converted with no contact).
            col = self._column(leads, key)
            if values[key] is None:
                continue
            have = row.cells[col] if col < len(row.cells) else None
            if not cells.is_blank(have):
                continue  # filled: the person's, or this link already
            w = CellWrite(leads.title, row.row, col + 1, cell_value(values[key]),
                          expect=(*expect, (col + 1, have)), requires=last)
            self.part.plan.writes.append(w)
            first = first or w.key
        if first is not None:
            self.ctx.id_fills[lead.id] = first if last is None else last
        # As the cells will read: a kept cell's link, not the one made (the next sync reads it so).
        contact = values["converted_contact"]
        known.links[row.row] = Converted(row.row, lead.id, values["converted_account"], contact,
                                         values["converted_opportunity"], values["converted_on"])
        if contact:
            self.contact_of[lead.id] = (contact, anchors.get("converted_contact") if contact == made.contact else None)

    def follow(self, copy: bool) -> None:
        """What the converted leads' activities and tasks become ([conversion] activities):
        tasks always move to the contact (work to do once); activities move too, or with
        `copy` are copied to it. Checked every sync, so what is logged on a lead after its
        conversion follows as well."""
        known = self.ctx.crm.inputs.conversions  # type: ignore[union-attr]
        targets = dict(self.contact_of)
        for c in known.converted_ids().values():
            if c.contact and c.lead not in targets:
                targets[c.lead] = (c.contact, None)  # type: ignore[index]
        if not targets:
            return
        self.repoint("tasks", targets)
        if copy:
            self.copy(targets, known.copied)
        else:
            self.repoint("activities", targets)

    def repoint(self, tab: str, targets: dict[str, tuple[str, Anchor | None]]) -> None:
        """Rows of `tab` whose Related names a converted lead now name its contact: each write
        expects the Related cell still to hold the lead's ID (content-addressed, so a sort
        meanwhile cannot misplace it), and a new contact's ID write."""
        table = self.ctx.crm.tables.get(tab)
        if table is None or "related" not in table.header.fields or "id" not in table.header.fields:
            return
        col = table.header.fields["related"]
        for row in table.rows:
            record = row.record
            if record is None or record.related not in targets:
                continue
            contact, anchor = targets[record.related]
            have = row.cells[col] if col < len(row.cells) else None
            self.part.plan.writes.append(CellWrite(table.title, row.row, col + 1, contact,
                                                   expect=(*row_key(table, row), (col + 1, have)), requires=anchor))
            row.record = row.target = record.model_copy(update={"related": contact})

    def copy(self, targets: dict[str, tuple[str, Anchor | None]], copied: dict[str, str]) -> None:
        """A copy of each activity of a converted lead, related to its contact, unless an
        activity names it in Copied From already (`copied`, the record). The copy is the
        original's cells as the team typed them, appended with the next ACT ID; every cell of
        it, Copied From included, requires its ID write, which requires a new contact's.
        An activity with no ID yet (the ids step gives it one in this sync) is copied next sync."""
        table = self.ctx.crm.tables.get("activities")
        if table is None or table.header.full or not {"related", "id"} <= set(table.header.fields):
            return
        columns = {**table.header.fields, **table.header.custom}
        for row in list(table.rows):
            record = row.record
            if (record is None or record.related not in targets or not row.id or row.assigned or row.appended
                    or row.id in copied):
                continue
            contact, anchor = targets[record.related]
            values = {k: row.cells[c] for k, c in columns.items()
                      if k not in ("id", "related") and c < len(row.cells)} | {"related": contact}
            new_id = self._append_cells(table, "ACT", values, ("copy_of", row.id), anchor,
                                        record.model_copy(update={"related": contact}))
            copied[row.id] = new_id

    def _append_cells(self, table: Table, prefix: str, values: dict[str, Any], mark: tuple[str, str],
                      after: Anchor | None, record: Record) -> str:
        """Appends one row of `values` (field or custom header -> cell) to `table` below
        everything it holds and everything this sync already appends there, with the next ID
        of `prefix` and the recorded column `mark` = (key, value); the new row joins the read."""
        snapshot = self.ctx.snapshot
        self.ctx.marks[prefix] = number = _next_number(table, self.ctx.marks.get(prefix, 0), prefix)
        new_id = f"{prefix}-{number:04d}"
        start = self.next_row.get(table.title)
        if start is None:
            # Another step (the forms') may append to this tab in the same sync: go below it.
            _, start = append_writes(table, snapshot.tabs[table.title], [])
            start = max([start, *(w.row + 1 for w in self.ctx.plan.writes if w.tab == table.title)])
        writes, self.next_row[table.title] = append_writes(table, snapshot.tabs[table.title],
                                                           [{**values, "id": new_id}], start=start)
        anchor = writes[0].key
        if after is not None:
            writes[0] = dataclasses.replace(writes[0], requires=after)
        key, value = mark
        col = self._column(table, key)
        writes.append(CellWrite(table.title, anchor[1], col + 1, value, expect=writes[0].expect, requires=anchor))
        self.part.plan.writes.extend(writes)
        width = max([table.header.width, *(w.col for w in writes)])
        cells: list[Any] = [None] * width
        for w in writes:
            if w.col - 1 != col:
                cells[w.col - 1] = w.value
        record = record.model_copy(update={"id": new_id, "row": anchor[1]})
        table.rows.append(Row(anchor[1], new_id, record, cells, assigned=True, target=record, appended=True))
        self.ctx.id_fills[new_id] = anchor
        return new_id


def _next_number(table: Table, mark: int, prefix: str) -> int:
    pattern = id_pattern(prefix)
    highest = max((int(m.group(1)) for r in table.rows if r.id and (m := pattern.match(r.id))), default=0)
    return max(highest, mark) + 1

