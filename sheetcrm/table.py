"""One CRM tab as a table: where its header row is, which rows are records, and each
record's cells read the way its column (not the cell alone) says.

The table inside a tab: the header row is the first of the tab's first HEADER_SEARCH_ROWS
rows that names enough known columns (two, or every required one); rows above it (titles,
instructions) are never read nor written. A row is a record only when it holds a value under
one of the tab's CRM columns; rows with cells only elsewhere (a side table, notes),
totals rows under the data, the header repeated over a second block and a section heading
merged across the table are not records. Cells are read as the person sees them: a
merged block's value belongs to every row it spans, a percent-formatted 1 is 100 %, a
formula showing "#N/A" is a `formula_error`, and numbers and dates follow their column's
convention (`columns.py`).
"""

from __future__ import annotations

import dataclasses
import itertools
import datetime as dt
import operator
import pickle
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Callable, Iterable

from pydantic import TypeAdapter, ValidationError
from rapidfuzz import fuzz

from sheetcrm import cells, columns, names
from sheetcrm.collector import paused_collector
from sheetcrm.config import CustomField, TabSettings
from sheetcrm.i18n import N_, _, current, in_locale
from sheetcrm.parse_cache import Entry, RowMemo
from sheetcrm.records import CUSTOM_PARSERS, MODELS, ParseContext, Priced, Record
from sheetcrm.report import Issue, Report, column_letter
from sheetcrm.schema import TabSpec, budget_header, header_keys, id_pattern
from sheetcrm.settings import problem
from sheetcrm.workbook import LOADING, UNCALCULATED, Grid

HEADER_SEARCH_ROWS = 20
# The last column of an .xlsx sheet (XFD). Google allows 18278, but a plan is the same for
# both backends, so columns sheetcrm adds stay within the smaller limit.
MAX_COLUMNS = 16384
# Words that make a label a totals label wherever they stand in it ("Total", "Subtotal Q1",
# "Total pipeline", "Grand total:", "Suma", "Σ"), after normalize_key.
TOTAL_WORDS = frozenset({"total", "totals", "totales", "totale", "subtotal", "subtotals", "subtotales",
                         "grandtotal", "sum", "sums", "suma", "sumas", "sumatorio", "σ", "∑"})
_WORD = re.compile(r"[^\W_]+|[∑]")
_NUMERIC_KINDS = frozenset({"number", "money", "integer", "percent"})

# A Google formula still fetching what it imports (`workbook.LOADING`): a formula_error whose fix is
# to wait, not to edit the formula.
_FORMULA_LOADING = (N_("The formula in this cell shows {error}: Google Sheets had not yet fetched the data it "
                       "imports (IMPORTRANGE, GOOGLEFINANCE...) when sheetcrm read it, so the cell has no value "
                       "to read."),
                    N_("Sync again once the cell shows a value; if it keeps loading, check the formula's source "
                       "and access."))

# code -> (message, hint), translated where an issue is made.
_MESSAGES = {
    "formula_error": (N_("The formula in this cell shows {error}, so the cell has no value to read."),
                      N_("Fix the formula, or the cells it uses, so that it shows a value.")),
    "formula_not_calculated": (N_("The formula {formula} in this cell has no saved result (the file was saved by a "
                                  "program that does not calculate formulas), and sheetcrm does not calculate "
                                  "formulas, so the cell has no value to read."),
                               N_("Open the file in Excel or LibreOffice and save it, so the formulas' values are "
                                  "saved.")),
    "currency_conflict": (N_("{shown} is in {currency}, but its Currency cell says {other}."),
                          N_("Make the two agree, or leave the Currency cell blank.")),
    "ambiguous_currency": cells.AMBIGUOUS_CURRENCY,
    "format_currencies": (N_("{shown}: the number format shows {currencies}, more than one currency, so which one "
                             "the amount is in cannot be told."),
                          N_("Give the cell a number format that shows one currency, or write the amount's "
                             "currency in the Currency column.")),
    "currency_unnamed": (N_("Amounts in this column that name no currency ({count}) are read in {base}, the base "
                            "currency, while {named} of its amounts name {currency}; the first is {shown} (row {at})."),
                         N_('Write the currency in those amounts or in a Currency column ({example}); if every '
                            'amount is in {currency}, set currency = "{currency}" in sheetcrm.toml.')),
    "symbol_base": (N_('"{token}" in this column is read as {currency}, the base currency (currency in '
                       'sheetcrm.toml).'),
                    N_("Write the ISO code (like {example}) where an amount is in another currency.")),
    "symbol_guess": (N_('{shown} read as {currency}; "{token}" could also be {others}.'),
                     N_("Write the ISO code, like {currency} {example}.")),
    "no_room": (N_("There is no room for the columns sheetcrm adds ({names}): they would go past column {last}, "
                   "the last a sheet can have, so nothing is written to this tab."),
                N_("Delete unused columns at the right of the tab, or move what is there to another tab.")),
    "id_column_renamed": (N_('The column "{text}" holds only this tab\'s IDs ({example} and the like), each once, '
                             'and the tab has no "{name}" column: it is read as the tab\'s ID column, so no second '
                             'set of IDs is made.'),
                          N_('Rename the header to "{name}". If these are not this tab\'s IDs, add an empty column '
                             'headed "{name}" and the next sync fills it.')),
    "currency_column_unheaded": (N_('Column {letter} has no header and holds only currencies ({example} and the '
                                    'like): it is read as this tab\'s {name} column, the currency of each row\'s '
                                    'amounts.'),
                                 N_('Head the column "{name}", so that what it holds is not a guess.')),
    "duplicate_header": (N_('The header "{text}" appears twice; only the first column is read.'),
                         N_("Rename or remove one of the two columns.")),
    "header_lookalike": (N_('The header "{text}" is not one sheetcrm knows, but it looks like "{name}", a column '
                              'this tab does not have otherwise: it is read as a column of your own, not as {name}.'),
                         N_('If it is {name}, name it "{name}"; if it is a column of your own, give it a name less '
                            'like "{name}", or declare it under [tabs.<tab>.custom_fields] in sheetcrm.toml.')),
    "header_currency": (N_('The header "{text}" says its amounts are in {currency}, but an amount that names no '
                           'currency (in its cell or in the Currency column) is read in {base}, the base currency.'),
                        N_('Write the currency in the amounts or in the Currency column, or set currency = '
                           '"{currency}" in sheetcrm.toml if every amount is in {currency}.')),
    "computed_name_taken": (N_('The column "{text}" holds values sheetcrm did not write, so it is kept as your own '
                                 'column and never written; sheetcrm writes its {name} in the column "{ours}".'),
                            N_('If sheetcrm should use the name "{name}", rename your column, then "{ours}" to '
                               '"{name}".')),
    "missing_column": (N_('The required column "{name}" is missing, so no row of this tab is read.'),
                       N_('Add a column headed "{name}" (or "{other}").')),
    "expected_column": (N_('There is no column "{name}", so every row of this tab has it empty and the figures '
                           'made from it (the pipeline, the forecast, revenue) count nothing.'),
                        N_('If one of your columns is it, head it "{name}" (or "{other}"). Columns read as your '
                           'own: {headers}.')),
    "custom_field_missing": (N_('sheetcrm.toml declares the column "{name}" ([tabs.{key}.custom_fields]), but this tab '
                                'has no such header, so every rule, segment and score that reads it finds it empty.'),
                             N_('Write the name as the header is written, or add the column. Columns read as your '
                                'own: {headers}.')),
    "far_cell": (N_("This cell is far from the tab's table (its header is row {first}, its last record row {end}), "
                    "in no column of it, so it is not a record and nothing reads it."),
                 N_("If it was typed by accident (a stray space, a paste that landed far away), clear it; if it is "
                    "a note, move it next to the table.")),
    "other_table": (N_('This row starts another table below a blank row: its cells are all labels, "{text}" over '
                       'the values below it as a header is. From here down no row is read as a record of this tab, '
                       'and nothing is written in them.'),
                    N_("Move that table to a tab of its own. If this row is a record, write its {column} as the "
                       "number or date it is.")),
    "heading_row": (N_("{shown} is alone in its row, under the header or a blank row, with rows below it: it is read "
                       "as a section heading, not a record, and gets no ID."),
                    N_("If it is a record, fill in its other cells and it is read as one. A heading merged across "
                       "the table's columns is read as one without this warning.")),
    "merged_number": (N_("{shown} is merged over rows {first} to {last}, so each of those {n} rows is read as "
                         "{shown}, and totals count it {n} times."),
                      N_("If it is their total, unmerge the cells and type each row's own value.")),
    "merged_id": (N_("The ID {shown} is merged over rows {first} to {last}: only row {first} has it; each other "
                     "row is read as a record of its own without an ID, and sheetcrm writes none under the "
                     "merged cell."),
                  N_("Unmerge the ID cells, so each record gets its own ID at the next sync; if the rows are one "
                     "record, put it in one row.")),
}

_FORMULA_NOT_CALCULATED = N_("The formula in this cell has no saved result (the file was saved by a program that "
                             "does not calculate formulas), and sheetcrm does not calculate formulas, so the cell "
                             "has no value to read.")

# How an amount whose currency comes from its number format is quoted in a message.
_FORMATTED_AMOUNT = N_("{value} (its number format shows {token})")


def _issue(severity: str, title: str, row: int | None, col: int | None, header: str | None, value: Any,
           code: str, **fmt: Any) -> Issue:
    message, hint = _MESSAGES[code]
    return Issue(severity, title, row, column_letter(col + 1) if col is not None else None,  # type: ignore[arg-type]
                 header, value, code, _(message, **fmt), _(hint, **fmt))


@dataclass
class Header:
    """Where each column of a tab sits (0-based), as found in its header row."""

    fields: dict[str, int] = field(default_factory=dict)   # record field -> column
    custom: dict[str, int] = field(default_factory=dict)   # the team's own header -> column
    computed: dict[str, int] = field(default_factory=dict)  # sheetcrm's computed column key -> column
    labels: dict[int, str] = field(default_factory=dict)   # column -> header text as typed
    width: int = 0
    row: int = 1                                            # the sheet's row number of the header row
    # Columns sheetcrm adds ("id", computed keys) -> the 0-based column each goes to: after the
    # last used column and every merged block. Empty with `full` when they would not fit.
    new: dict[str, int] = field(default_factory=dict)
    full: bool = False
    # Money columns whose header names a currency in brackets ("Amount (USD)"): column -> the
    # token typed ("USD", "€"), checked against the base currency (`_header_currencies`).
    currencies: dict[int, str] = field(default_factory=dict)
    # Computed column keys whose column is (or goes) under its name + ASIDE ("Next Step
    # (sheetcrm)"), because a column of the team's has the usual name (`_computed_columns`).
    aside: set[str] = field(default_factory=set)
    # Field -> the team's header said to look like it (`_lookalikes`): said once, there, and
    # named again by every command whose figures the field is missing from (validate.unread_columns).
    lookalikes: dict[str, str] = field(default_factory=dict)
    # The team's own header -> the type its cells are read as: the config's (`custom_fields`) or
    # the one its cells gave it (`columns.infer_kind`); a header not here is carried as text.
    types: dict[str, str] = field(default_factory=dict)
    # How the tab reads numbers and dates (the config's locale, else the tab's language) and
    # whether the config set it: what a condition reads a text cell as a number or date with.
    locale: str = "en"
    locale_set: bool = True

    def computed_title(self, computed: Any, locale: str) -> str:
        """The header sheetcrm writes for its computed column `computed` (schema.Computed)."""
        name = computed.display(locale)
        return name + ASIDE if computed.key in self.aside else name


FORMULA_ID = "formula"
# An ID cell that shows an error value with no formula behind it (`<c t="e"><v>#REF!</v></c>`, what a
# paste-as-values of a broken ID formula leaves; on Google any error text): not empty, and the
# row's real ID is behind it, so it is said and never written over.
ERROR_ID = "error"


@dataclass(slots=True)
class Row:
    """One data row that is a record. `record` is None when the row has errors: only sound
    records are computed with. `target` is what references and lookups see: the record, or for
    a row with errors the record with its unreadable cells left empty (None when even that
    cannot be made, e.g. a required cell is unreadable), so a bad cell never hides the row's
    ID or name."""

    row: int                    # the sheet's row number
    id: str | None              # the ID cell as text (trimmed; 4563 -> "4563"), even on an invalid row
    record: Record | None
    cells: list[Any]
    assigned: bool = False      # the ID was handed out by this sync, not read from the sheet
    raw_id: Any = None          # the ID cell exactly as read (4563, "ACC-1 "): what a guarded write expects
    target: Record | None = None
    # Why the ID cell is never filled in: it holds a formula (FORMULA_ID), an error value (ERROR_ID) or is
    # hidden under a merged block (True).
    id_fixed: bool | str = False
    appended: bool = False      # a new record this sync appends below the tab's rows (plan.append_writes)
    # The fields of a row with errors whose cells cannot be read (a formula error, "1000 abc"),
    # and, when not even `target` can be made, what of it reads cell by cell (`partial`).
    unread: frozenset[str] = frozenset()
    partial: Record | None = None
    # For a row whose ID this sync assigns: the cells its writes expect besides the empty ID
    # cell, chosen among the tab's rows by `ids.assign_ids` (see `ids.row_key`).
    fingerprint: tuple[tuple[int, Any], ...] = ()

    @property
    def readable(self) -> Record | None:
        """What of the row reads: the record, else its target, else its cells read one by one
        (`unread` names the fields left empty because their cells cannot be read, as opposed to
        empty cells). For what a bad cell elsewhere on the row does not touch, such as a deal's
        stage change (engine.history_states)."""
        return self.record or self.target or self.partial

    @property
    def has_errors(self) -> bool:
        return self.record is None

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its fields in order (the parse memo holds 51k rows at 10k leads): a slotted
        # dataclass otherwise pickles a dict of slot names per row, twice the time to pickle
        # and a third more to unpickle.
        return Row, _ROW_FIELDS(self)


_ROW_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(Row)))
_BY_IDENTITY = tuple(f.name in ("record", "target", "partial") for f in dataclasses.fields(Row))


@dataclass
class Table:
    spec: TabSpec
    title: str                  # the sheet's own tab title
    header: Header
    rows: list[Row] = field(default_factory=list)
    # Rows that are no record but still hold values in sheetcrm's computed columns (a record
    # whose cells were cleared): their stale computed cells are cleared.
    leftovers: list[Row] = field(default_factory=list)
    # The warnings at this tab's cells, whatever the report's cap (`max_issues`) kept: for the
    # tabs a quote is priced from (WARNINGS_KEPT), whose every doubt blocks the quote.
    warnings: list[Issue] = field(default_factory=list)

    @property
    def records(self) -> list[Record]:
        return [r.record for r in self.rows if r.record is not None]


# --- the header row -----------------------------------------------------------------------


def _aliases(spec: TabSpec, settings: TabSettings) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for column in spec.columns:
        for name in (column.header, column.header_es, *column.aliases):
            aliases.setdefault(cells.normalize_key(name), column.field)
    # The team's own names win over built-in aliases: "Deal size" = Amount.
    by_title = {c.header: c.field for c in spec.columns}
    for canonical, theirs in settings.headers.items():
        if canonical not in by_title:
            continue  # already rejected when the config was loaded
        aliases[cells.normalize_key(theirs)] = by_title[canonical]
    return aliases


# --- sheetcrm's computed columns, and the team's columns of the same name ------------------

# What sheetcrm's computed column is called beside a team's column of its usual name.
ASIDE = " (sheetcrm)"  # not for people: a mark in a header, the same in every language
_DATED = re.compile(r"\d{4}-\d{2}-\d{2}\b")
_POINTS = re.compile(r"[+-]\d")


def _computed_columns(spec: TabSpec, grid: Grid, index: int, header: Header,
                      synced: bool = True, kept: frozenset[str] = frozenset()) -> tuple[dict[int, str], dict[int, str]]:
    """({column: computed key} of sheetcrm's computed columns, {column: key} of the team's
    columns that carry a computed column's name), from the header row `grid.rows[index]`;
    the keys whose column goes under its name + ASIDE are added to `header.aside`.

    A column headed with a computed column's name is sheetcrm's when every filled cell under it
    is something sheetcrm writes there (`_SHAPES`: numbers, dates, "yes", IDs, "2026-12-02
    Call Ana"...) and none is a formula: what sheetcrm, this version or an earlier one, wrote,
    however stale. A column holding anything else is the team's (a Salesforce export's own
    Next Step): read as theirs, never written, and sheetcrm's column goes beside it as "Next
    Step (sheetcrm)" (found by that name on later syncs). Cells people typed are theirs.

    `synced`: whether sheetcrm wrote this workbook before (`owned.synced_before`). Until it has,
    no cell of it is sheetcrm's, whatever its shape: a team's own Score of typed numbers is
    theirs, and only an empty column of a computed name is sheetcrm's to fill.

    `kept`: the computed columns sheetcrm remembers writing in this tab at its last sync
    (`written.Written.kept`). Such a column stays sheetcrm's whatever one of its cells holds: a
    cell of another shape, or a formula, is a person's value typed over sheetcrm's, kept and
    reported at its cell by the sync (`plan.computed_writes`), not a reason to give the whole
    column up (and read its stale values as the team's)."""
    labels = grid.rows[index] if index < len(grid.rows) else []
    known: dict[str, tuple[str, bool]] = {}  # a header's key -> (computed key, under its name + ASIDE)
    for c in spec.computed:
        for n in (c.header, c.header_es):
            known[cells.normalize_key(n)] = (c.key, False)
            known[cells.normalize_key(n + ASIDE)] = (c.key, True)
    found: dict[str, list[tuple[int, bool]]] = {}
    for col, raw in enumerate(labels):
        text = cells.parse_text(raw)
        if text is not None and (named := known.get(cells.normalize_key(text))) is not None:
            found.setdefault(named[0], []).append((col, named[1]))
    ours: dict[int, str] = {}
    theirs: dict[int, str] = {}
    formulas = {c for r, c in (*grid.formulas, *grid.errors) if r > index} if found else set()
    for key, named in found.items():
        aside = any(is_aside for _col, is_aside in named)
        for col, is_aside in named:
            if is_aside or not aside and (key in kept or col not in formulas
                                          and _written_by_sheetcrm(key, grid, index, col, synced)):
                ours[col] = key
            else:
                theirs[col] = key
                header.aside.add(key)
        if aside:
            header.aside.add(key)
    return ours, theirs


def _name_taken(spec: TabSpec, title: str, header: Header, col: int, key: str) -> Issue:
    computed = next(c for c in spec.computed if c.key == key)
    name, text = computed.display(current()), header.labels[col]
    return _issue("warning", title, header.row, col, text, text, "computed_name_taken", text=text, name=name,
                  ours=name + ASIDE)


def disown(table: Table, key: str, grid: Grid) -> Issue:
    """Make the column of computed column `key` the team's, once a step that knows more than
    its shape (the Segments column's: the segments' names) finds cells sheetcrm did not write
    there: never written again, and sheetcrm's own placed after the tab's last column under its
    name + ASIDE (`Header.new`, unless that would pass MAX_COLUMNS). The warning to report."""
    header = table.header
    col = header.computed.pop(key)
    header.custom.setdefault(header.labels[col], col)
    header.aside.add(key)
    place = max([_last_used(grid), *(c + 1 for c in header.new.values())])
    if place < MAX_COLUMNS:
        header.new[key] = place
    return _name_taken(table.spec, table.title, header, col, key)


def _written_by_sheetcrm(key: str, grid: Grid, index: int, col: int, synced: bool = True) -> bool:
    """Whether every filled cell of column `col` below the header row is of the shape sheetcrm
    writes in the computed column `key` (with `synced` False: whether none is filled). A
    recorded link column (`_LINKS`) is sheetcrm's too when its cells of that shape are at least
    as many as the others: a person may retype one link by name ("Northwind Labs" for
    ACC-0011), which is theirs, kept and read as typed, and no reason to give the column up
    (the links it held unread, a lead whose deal was deleted was converted again). A column
    of names, a Salesforce export's "Converted Account", stays the team's."""
    fits = _SHAPES[key] if synced else (lambda _value: False)
    ours = others = 0
    for row in filter(None, grid.rows[index + 1:]):  # empty rows skipped in C: see _record_rows
        if col < len(row) and (value := row[col]) is not None and not (value == "" or cells.is_blank(value)):
            if fits(value):
                ours += 1
            elif key not in _LINKS:
                return False
            else:
                others += 1
    return not others or synced and ours >= others


def _number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _date(v: Any) -> bool:
    # A date, a Google serial number, or the ISO text an earlier write may have left.
    return hasattr(v, "toordinal") or _number(v) or isinstance(v, str) and bool(_DATED.fullmatch(v.strip()))


def _word(*english: str) -> Callable[[Any], bool]:
    """The test for a cell that is one of sheetcrm's words (or a value's other names), in any language."""
    def fits(v: Any) -> bool:
        return isinstance(v, str) and cells.normalize_key(v) in _words(english)
    return fits


@cache
def _words(english: tuple[str, ...]) -> frozenset[str]:
    return frozenset(cells.normalize_key(in_locale(locale, names.WORDS.get(word, word)))
                     for word in english for locale in ("en", "es"))


@cache
def _category_words() -> frozenset[str]:
    """The forecast categories' names and other words (Category Override's values)."""
    info = MODELS["opportunities"].model_fields["category_override"]
    choices = next(meta.func.aliases for meta in info.metadata if hasattr(meta, "func"))
    return frozenset(cells.normalize_key(w) for value, others in choices.items() for w in (value, *others))


def _category(v: Any) -> bool:
    return isinstance(v, str) and cells.normalize_key(v) in _category_words()


# What the Why column says when no reason stands out (crm/scoring.py, crm/learned.py).
_NO_REASON = (N_("no rule matched"), N_("close to the typical lead"))


def _reasons(v: Any) -> bool:
    # "Source = Referral +20; Title contains CEO +15", or the words for no reason at all.
    return isinstance(v, str) and (bool(_POINTS.search(v)) or _word(*_NO_REASON)(v))


_ID_TEXT = re.compile(r"\S+")
# The recorded columns naming the records a step made or copied from, written once each.
_LINKS = ("converted_account", "converted_contact", "converted_opportunity", "lead", "copy_of")

# The shape of what sheetcrm writes in each computed column (names.COMPUTED's keys): the test of
# one filled cell. tests/test_computed_columns_theirs.py checks that every computed column has one.
_SHAPES: dict[str, Callable[[Any], bool]] = {
    **dict.fromkeys(("probability_pct", "weighted_amount", "days_in_stage", "score", "conversion_pct", "age",
                     "firings", "leads", "converted_leads", "opportunities", "won_deals", "won_revenue",
                     "cost_per_lead", "cost_per_won_deal", "roi"), _number),
    **dict.fromkeys(("last_activity", "converted_on", "last_fired", "sla_due", "first_response"), _date),
    **dict.fromkeys(("rotting", "sla_breached"), lambda v: v is True or _word("yes")(v)),
    # An ID a conversion made or copied from: the team's own IDs may be numbers or any one word.
    **dict.fromkeys(_LINKS, lambda v: _number(v) or isinstance(v, str) and bool(_ID_TEXT.fullmatch(v.strip()))),
    "grade": lambda v: isinstance(v, str) and v.strip().upper() in ("A", "B", "C", "D"),
    "forecast_category": _category,
    "next_step": lambda v: isinstance(v, str) and bool(_DATED.match(v.strip())),  # "YYYY-MM-DD Subject"
    "why": _reasons,
    # Segment names joined by ", ": any text here; steps/segments.py checks them against the
    # segments' names, and `disown`s a column with others.
    "segments": lambda v: isinstance(v, str),
}


def _match(spec: TabSpec, aliases: dict[str, str], text: str) -> tuple[str | None, str | None]:
    """(field, currency token) a header names: its name or an alias, ignoring a trailing ":"
    or "*"; a money column's name may be followed by a bracketed currency ("Amount (USD)"),
    given as the token typed ("USD", "€"). (None, None) for no column of the tab."""
    whole, bare, bracketed = header_keys(text)
    if (target := aliases.get(whole, aliases.get(bare))) is not None:
        return target, None
    if bracketed and (target := aliases.get(bracketed[0])) is not None:
        kind, note = field_kinds(spec)[target], bracketed[1].strip()
        if kind == "money" and cells.is_currency(note):
            return target, note
        # "Discount (%)" is Discount %, "Created (UTC)" is Created: the note says how it is written.
        if kind == "percent" and note == "%" or kind == "date" and _ZONE_NOTE.fullmatch(note.lower()):
            return target, None
    return None, None


_ZONE_NOTE = re.compile(r"(utc|gmt)([+-]\d{1,2}(:?\d{2})?)?")


def find_header_row(spec: TabSpec, grid: Grid, settings: TabSettings) -> int:
    """The 0-based index of the header row: the first of the first HEADER_SEARCH_ROWS rows
    naming at least two known columns, or every required one; else the row naming the most
    (the first on a tie); else row 0."""
    aliases = _aliases(spec, settings)
    required = {c.field for c in spec.columns if c.required}
    best, best_count = 0, 0
    for index, row in enumerate(grid.rows[:HEADER_SEARCH_ROWS]):
        found = {target for raw in row
                 if (text := cells.parse_text(raw)) is not None and (target := _match(spec, aliases, text)[0])}
        if len(found) >= 2 or (found and required and required <= found):
            return index
        if len(found) > best_count:
            best, best_count = index, len(found)
    return best


def header_columns(spec: TabSpec, grid: Grid, settings: TabSettings) -> dict[str, str]:
    """{field: the header text naming it} of the columns of `spec` the header row of `grid`
    (`find_header_row`) names, in sheet order, the first of two naming one field; reports nothing."""
    aliases = _aliases(spec, settings)
    index = find_header_row(spec, grid, settings)
    found: dict[str, str] = {}
    for raw in grid.rows[index] if index < len(grid.rows) else []:
        if (text := cells.parse_text(raw)) is not None and (target := _match(spec, aliases, text)[0]):
            found.setdefault(target, text)
    return found


def map_header(spec: TabSpec, title: str, grid: Grid, settings: TabSettings, report: Report,
               index: int = 0, synced: bool = True, kept: frozenset[str] = frozenset(),
               ids: bool = False) -> Header:
    """The columns named by the header row `grid.rows[index]`; `synced` and `kept` as for
    `_computed_columns`. `ids`: a tab of the workbook (not an import), whose IDs may stand under
    a renamed header (`_renamed_ids`)."""
    aliases = _aliases(spec, settings)
    labels = grid.rows[index] if index < len(grid.rows) else []
    header = Header(width=len(labels), row=index + 1)
    ours, theirs = _computed_columns(spec, grid, index, header, synced, kept)
    for col, raw in enumerate(labels):
        text = cells.parse_text(raw)
        if text is None:
            continue
        header.labels[col] = text
        if col in ours:
            header.computed.setdefault(ours[col], col)
            continue  # sheetcrm's own output is never read back as input
        if col in theirs:
            report.add(_name_taken(spec, title, header, col, theirs[col]))
        target, currency = _match(spec, aliases, text)
        taken = header.fields if target else header.custom
        key = target or text
        if key in taken:
            report.add(_issue("warning", title, header.row, col, text, text, "duplicate_header", text=text))
            continue
        taken[key] = col
        if currency is not None:
            header.currencies[col] = currency
    if ids and spec.id_prefix and "id" not in header.fields and header.fields:
        _renamed_ids(spec, title, grid, index, header, settings, report)
    if "currency" in spec.model.model_fields and "currency" not in header.fields and header.fields:
        _unheaded_currency(spec, title, grid, index, header, settings, report)
    _lookalikes(spec, title, header, aliases, settings, report)
    return header


def _renamed_ids(spec: TabSpec, title: str, grid: Grid, index: int, header: Header, settings: TabSettings,
                 report: Report) -> None:
    """Read as the ID column a column of the team's holding only IDs of the tab's pattern, each
    once, in at least half of the rows with anything in them: an "ID" header a person renamed
    ("Lead #", "Código"). Read as a column of their own, the sync added an ID column beside it
    and numbered every row again (LEAD-0003 beside LEAD-0001): histories, workflows and
    references followed the new IDs; read without IDs, every record looked gone and came back
    as new when the name was restored (workflows fired again). Said at the header."""
    pattern = id_pattern(spec.id_prefix or "")
    body = grid.rows[index + 1:]
    used = sum(1 for row in body if row and any(not cells.is_blank(v) for v in row))
    for text, col in sorted(header.custom.items(), key=lambda item: item[1]):
        seen: set[str] = set()
        for row in body:
            value = row[col] if col < len(row) else None
            if cells.is_blank(value):
                continue
            if value.__class__ is not str or not pattern.match(typed := cells.canonical_text(value)) \
                    or typed.casefold() in seen:
                break
            seen.add(typed.casefold())
        else:
            if seen and 2 * len(seen) >= used:
                del header.custom[text]
                header.fields["id"] = col
                report.add(_issue("warning", title, header.row, col, text, text, "id_column_renamed", text=text,
                                  example=min(seen).upper(), name=_names(spec.id_column, settings)[0]))
                return


def _unheaded_currency(spec: TabSpec, title: str, grid: Grid, index: int, header: Header, settings: TabSettings,
                       report: Report) -> None:
    """Read as the Currency column a column with no header that holds only currencies (ISO codes
    or symbols, as a Currency cell is read), in a tab that has none: "EUR" beside each amount under an "Amount" header merged over both
    columns, or left unheaded. A person reads 1000 EUR there; skipped as a column with no
    name, every amount was read in the base currency without a word. Said at the header."""
    body = grid.rows[index + 1:]
    # Beside the headed columns only (a gap of one, the merged or blank header): a stray cell
    # far right (XFD) would otherwise have every row read for each of 16,384 columns.
    width = min(max(header.labels, default=-1) + 2, max(map(len, body), default=0))
    for col in range(width):
        if col in header.labels:
            continue
        codes: list[str] = []
        for row in body:
            value = row[col] if col < len(row) else None
            if cells.is_blank(value):
                continue
            try:  # an ISO code or a symbol ("€"), as a Currency cell is read; "kr" or a word is none
                if value.__class__ is not str or cells.parse_currency(cells.canonical_text(value)) is None:
                    break
            except cells.CellError:
                break
            codes.append(cells.canonical_text(value))
        else:
            if codes:
                header.fields["currency"] = col
                column = next(c for c in spec.columns if c.field == "currency")
                report.add(_issue("warning", title, header.row, col, None, None, "currency_column_unheaded",
                                  letter=column_letter(col + 1), example=codes[0], name=_names(column, settings)[0]))
                return


# How alike (rapidfuzz's ratio, 0-100) an unknown header and a known column's name must be for
# the header to be reported as probably meant for that column ("Ammount", "E-mial").
LOOKALIKE_RATIO = 88


def _lookalikes(spec: TabSpec, title: str, header: Header, aliases: dict[str, str], settings: TabSettings,
                report: Report) -> None:
    """A warning at each of the team's own headers that looks like the name of one of the tab's
    columns not found ("Amount.", "Ammount", "E mail"): such a column would otherwise read as
    empty with nothing said. A column the config types ([tabs.<tab>.custom_fields]) is the
    team's on purpose."""
    declared = {cells.normalize_key(n) for n in settings.custom_fields}
    missing = [(key, target) for key, target in aliases.items() if target not in header.fields]
    if not missing:
        return
    by_field = {c.field: c for c in spec.columns}
    for text, col in header.custom.items():
        key = cells.normalize_key(text)
        if key in declared:
            continue
        bracketed = header_keys(text)[2]
        # "Amount (k)": a known name with a note of scale in brackets, the column in other units.
        # A note of another kind ("Employees (range)", "Owner (previous)") names a column of
        # the team's own on purpose.
        best = aliases.get(bracketed[0]) if bracketed and _SCALE_NOTE.fullmatch(bracketed[1].strip().lower()) \
            else None
        if best is None or best in header.fields:
            squashed = _squash(key)
            best = next((target for name, target in missing if _squash(name) == squashed), None)
        if best is None and len(key) >= 5 and not bracketed:
            # A plural ("Owners", "Contacts") is a list of them, not a misspelt column; "Statuss"
            # is no plural (a name ending in s takes -es), but Status typed with one s too many.
            score, target = max(((fuzz.ratio(name, key), target) for name, target in missing
                                 if len(name) >= 5 and not _plural(key, name)), default=(0, None))
            best = target if score >= LOOKALIKE_RATIO else None
        if best is None and not bracketed:
            # A short name is under the ratio's reach ("Nmae" is 75 % like "Name"), and one letter
            # changed there makes other words ("Data", "Game", "Hecha"): only a slip of the hand
            # that leaves the letters recognisable is said ("Nmae", "Emial", "Dte", "Stge", "Namme").
            targets = {target for name, target in missing if _slip(key, name)}
            best = targets.pop() if len(targets) == 1 else None
        if best is None and text.rstrip().endswith(".") and len(stem := cells.normalize_key(text.rstrip()[:-1])) >= 3:
            # An abbreviation ("Prob.", "Tel.", "Cant.") of one missing column's name: its values
            # (a Prob. of 40 %) would be carried and never used, with nothing said.
            targets = {target for name, target in missing
                       if (word := name.split()[0]).startswith(stem) and word != stem}
            best = targets.pop() if len(targets) == 1 else None
        if best is not None:
            header.lookalikes.setdefault(best, text)
            name = _names(by_field[best], settings)[0]
            report.add(_issue("warning", title, header.row, col, text, text, "header_lookalike", text=text,
                              name=name))


def _slip(key: str, name: str) -> bool:
    """Whether the header `key` is the column name `name` (both normalized keys) typed with one
    slip: two neighbouring letters swapped ("nmae"), one letter left out ("dte", "stge"), or one
    typed twice ("namme"); never a letter changed for another, which makes other words ("data"
    for "date", "game" for "name", "hecha" for "fecha"). Three letters at least: "du" is no Due."""
    if len(key) < 3 or key == name:
        return False
    if len(key) == len(name):
        diff = [i for i in range(len(key)) if key[i] != name[i]]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and key[diff[0]] == name[diff[1]] \
            and key[diff[1]] == name[diff[0]]
    if len(key) == len(name) - 1:
        return any(name[:i] + name[i + 1:] == key for i in range(len(name)))
    if len(key) == len(name) + 1:
        return any(key[:i] + key[i + 1:] == name and key[i] in key[max(i - 1, 0):i] + key[i + 1:i + 2]
                   for i in range(len(key)))
    return False


def _plural(key: str, name: str) -> bool:
    """Whether the header `key` is the plural of the column name `name` (both normalized keys)."""
    return key == name + "es" or key == name + "s" and not name.endswith("s")


_SCALE_NOTE = re.compile(r"k|m|mm|000|'000|thousands?|millions?|miles|millones|mil")


def _names(column: Any, settings: TabSettings | None = None) -> tuple[str, str]:
    """The header a hint tells the team to write for `column`, and another it may use instead:
    the header sheetcrm.toml renames it to (`headers`) and its header in the current language,
    else its header in the current language and in the other one. A hint naming "Amount" to a
    team whose config reads Amount from "Deal size" would send it to rename a column wrongly."""
    here, there = (column.header_es, column.header) if current() == "es" else (column.header, column.header_es)
    theirs = settings.headers.get(column.header) if settings is not None else None
    return (theirs, here) if theirs else (here, there)


def _squash(key: str) -> str:
    """A header's letters and digits alone: "e-mail", "e mail" and "email." are one."""
    return "".join(c for c in key if c.isalnum())


def _header_currencies(title: str, header: Header, grid: Grid, rows: list[_Cells], ctx: ParseContext,
                        report: Report) -> None:
    """A warning at each money column's header whose bracketed currency ("Amount (USD)") is not
    the base currency, when one of its amounts names none (in its text, its number format or
    the row's Currency cell): that amount is read in the base currency."""
    currency_col = header.fields.get("currency")

    def names_none(r: _Cells, col: int) -> bool:
        raw = r.raw[col] if col < len(r.raw) else None
        if cells.is_blank(raw) or _currency_token(raw, grid.currency.get((r.index, col)), ctx.locale) is not None:
            return False
        return currency_col is None or cells.is_blank(r.raw[currency_col] if currency_col < len(r.raw) else None)

    for col, token in header.currencies.items():
        code = cells.parse_currency(token, ctx.currency)
        if code != ctx.currency and any(names_none(r, col) for r in rows):
            text = header.labels[col]
            report.add(_issue("warning", title, header.row, col, text, text, "header_currency", text=text,
                              currency=code, base=ctx.currency))


def _last_used(grid: Grid) -> int:
    """How many columns the tab uses: its last non-blank cell, formula or merged block."""
    used = 0
    for row in filter(None, grid.rows):
        end = len(row)
        while end > used and cells.is_blank(row[end - 1]):
            end -= 1
        used = max(used, end)
    for positions in (grid.formulas, grid.errors):
        used = max([used, *(c + 1 for _, c in positions)])
    return max([used, *(c1 + 1 for _, _, _, c1 in grid.merges)])


def _place_new_columns(spec: TabSpec, title: str, grid: Grid, header: Header, report: Report) -> None:
    missing = ["id"] if spec.id_prefix and "id" not in header.fields else []
    missing += [c.key for c in spec.computed if c.key not in header.computed]
    if not missing or not header.fields:
        return  # no header row was found: nothing is a record, and no column is added to a title
    start = _last_used(grid)
    if start + len(missing) > MAX_COLUMNS:
        header.full = True
        names = {c.key: c.header_es if current() == "es" else c.header for c in spec.computed} | {"id": "ID"}
        report.add(_issue("error", title, header.row, None, None, None, "no_room",
                          names=", ".join(names[k] for k in missing), last=column_letter(MAX_COLUMNS)))
        return
    header.new = {key: start + i for i, key in enumerate(missing)}


def tab_locale(spec: TabSpec, title: str, header: Header) -> str | None:
    """The language a tab is written in: "es" when its title is the Spanish one
    (Oportunidades) or most of its known headers are Spanish, "en" when they are English, None
    when nothing tells (no votes, or a tie). A Spanish title wins over English headers: teams
    paste English exports into tabs they named themselves, and the name is theirs."""
    def language(text: str, en: str, es: tuple[str, ...]) -> str | None:
        key = cells.normalize_key(text)
        english = cells.normalize_key(en)
        if key in {cells.normalize_key(n) for n in es} - {english}:
            return "es"
        return "en" if key == english else None

    if language(title, spec.title, (spec.title_es,)) == "es":
        return "es"
    votes: Counter[str] = Counter()
    by_field = {c.field: c for c in spec.columns}
    for name, col in header.fields.items():
        if col not in header.labels:
            continue  # a column read with no header (`_unheaded_currency`) says nothing of the language
        column = by_field[name]
        # The Spanish header, and the aliases that cannot be English (they have accents).
        spanish = (column.header_es, *(a for a in column.aliases if not a.isascii()))
        if (said := language(header.labels[col], column.header, spanish)) is not None:
            votes[said] += 1
    ranked = votes.most_common()
    if not ranked or len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


# --- rows ---------------------------------------------------------------------------------


@cache
def field_kinds(spec: TabSpec) -> dict[str, str]:
    """How each field's cells are read ("number", "money", "date", "percent", ...), from the
    record model's validators."""
    kinds = {}
    for name, info in spec.model.model_fields.items():
        kinds[name] = next((k for meta in info.metadata if (k := getattr(getattr(meta, "func", None), "kind", None))),
                           "text")
    return kinds


def _merged_values(grid: Grid) -> dict[tuple[int, int], tuple[Any, str | None]]:
    """(row, col) -> (value, formula error) for the cells a merged block covers below its first
    row: the block's value belongs to each row it spans (for reading only)."""
    filled: dict[tuple[int, int], tuple[Any, str | None]] = {}
    for r0, c0, r1, _c1 in grid.merges:
        value = (grid.cell(r0, c0), grid.errors.get((r0, c0)))
        for r in range(r0 + 1, r1 + 1):
            filled[(r, c0)] = value
    return filled


# Optional columns whose absence empties the figures a tab is there for: said, not silent (a
# header sheetcrm does not know, "Total Amount", left every deal without an Amount and the
# pipeline at 0 with no word).
_EXPECTED = {"opportunities": ("amount",)}

# Columns without which a tab's rows mean nothing, though a row may leave its cell empty (the
# step says what an empty one means): read without a Conditions column, each row of the
# Segments tab was "a segment with no conditions" while its conditions stood under "Criteria".
_HEADER_REQUIRED: dict[str, frozenset[str]] = {"segments": frozenset({"name", "record", "conditions"})}

# Kinds whose values are added up: a block merged over several records' rows is read as each
# row's value, which is what a person means by an Account merged over three deals, but for an
# amount may well mean the rows' total. Percent and dates are each row's own (a 50% or a Close
# Date merged over three deals says the same of each).
_SUMMED_KINDS = frozenset({"number", "money", "integer"})


def _merged_ids(title: str, header: Header, grid: Grid, rows: list[_Cells], report: Report) -> None:
    """A warning at the first cell of each merged block of the ID column over two or more
    records' rows: a person sees one ID over them all, but only the first row holds it, and the
    others, whose ID cells the block hides, are read as records without an ID (`Row.id_fixed`)."""
    id_col = header.fields.get("id")
    records = {r.index for r in rows}
    for r0, c0, r1, _c1 in grid.merges:
        spanned = [r for r in range(r0, r1 + 1) if r in records]
        if c0 != id_col or len(spanned) < 2 or spanned[0] != r0 or cells.is_blank(value := grid.cell(r0, c0)):
            continue
        report.add(_issue("warning", title, r0 + 1, c0, header.labels.get(c0), value, "merged_id",
                          shown=cells.quoted(value), first=r0 + 1, last=spanned[-1] + 1))


def _merged_numbers(title: str, header: Header, grid: Grid, rows: list[_Cells], known: dict[int, str],
                    report: Report) -> None:
    """A warning at the first cell of each merged block that gives one number to two or more
    records of a column whose values are summed (`_SUMMED_KINDS`): it is read as each row's,
    as every merged block is, and the warning says that totals count it once per row."""
    records = {r.index for r in rows}
    for r0, c0, r1, _c1 in grid.merges:
        if known.get(c0) not in _SUMMED_KINDS or (r0, c0) in grid.errors:
            continue
        value = grid.cell(r0, c0)
        spanned = [r for r in range(r0, r1 + 1) if r in records]
        if len(spanned) < 2 or cells.is_blank(value):
            continue
        report.add(_issue("warning", title, r0 + 1, c0, header.labels.get(c0), value, "merged_number",
                          shown=cells.show_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool)
                          else cells.quoted(value),
                          first=spanned[0] + 1, last=spanned[-1] + 1, n=len(spanned)))


def _total_label(raw: Any) -> bool:
    """Whether a cell is a totals label: short text with a totals word in it."""
    if not isinstance(raw, str) or len(raw) > 40:
        return False
    return not TOTAL_WORDS.isdisjoint(_WORD.findall(cells.normalize_key(raw)))


def _only_total_words(raw: Any) -> bool:
    """Whether a cell is a totals label made of totals words alone ("Total", "Grand total:",
    "Σ"): the only label an ID cell may hold and still be a totals row's. Where an Excel
    table's Total Row puts its label (its first column), `sheetcrm init` puts ID; a label with
    other words there ("SUM-0001", "Subtotal Q1") may be an ID, so its row stays a record and
    its ID is checked like any other."""
    return _total_label(raw) and set(_WORD.findall(cells.normalize_key(raw))) <= TOTAL_WORDS | {"grand", "general"}


def _is_total(raw_row: list[Any], index: int, known: dict[int, str], grid: Grid) -> bool:
    """A row that sums the data: a totals label anywhere in it, and under the CRM columns
    nothing but formulas, numbers in numeric columns and currency codes (at least one formula
    or number). A row with any other text under a CRM column is a record, whatever its label."""
    label = next((col for col, raw in enumerate(raw_row) if _total_label(raw)), None)
    if label is None:
        return False
    # A label that is only totals words ("Total", "Grand total:") needs nothing beside it; one
    # with other words ("Total Solutions") must sit beside a sum.
    # A cell showing an error is a formula's (Google's values read, with no formulas in it,
    # shows a failed =SUM only so): a totals row's failed sum is a sum, as on .xlsx.
    summed = set(_WORD.findall(cells.normalize_key(raw_row[label]))) <= TOTAL_WORDS | {"grand", "general"} or any(
        r == index for r, _ in grid.formulas) or any(r == index for r, _ in grid.errors) or any(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw_row)
    for col, kind in known.items():
        raw = raw_row[col] if col < len(raw_row) else None
        if col == label:
            continue
        if cells.is_blank(raw) or (index, col) in grid.formulas or (index, col) in grid.errors:
            continue
        if kind in _NUMERIC_KINDS and isinstance(raw, (int, float)) and not isinstance(raw, bool):
            continue
        if kind in _NUMERIC_KINDS and _typed_number(raw, kind):
            summed = True  # a sum typed as text, as the amounts above it are ("15.900 €")
            continue
        if kind != "currency" or not _currency_code(raw):
            return False
    return summed


def _typed_number(raw: Any, kind: str) -> bool:
    """Whether text under a numeric column reads as a number ("15.900 €", "1,200.50") in either
    convention: the column's own is not settled yet when totals rows are set apart."""
    if not isinstance(raw, str):
        return False
    parse = cells.parse_money if kind == "money" else cells.parse_number
    for locale in ("en", "es"):
        try:
            parse(raw, locale)
            return True
        except cells.CellError:
            continue
    return False


def _wide_merges(grid: Grid, known: dict[int, str], header_index: int) -> dict[int, list[tuple[int, int, int]]]:
    """Row index -> the merged blocks over it that span two or more CRM columns, as (anchor
    row, first column, last column): where a section heading may stand."""
    out: dict[int, list[tuple[int, int, int]]] = {}
    for r0, c0, r1, c1 in grid.merges:
        if r1 > header_index and sum(c0 <= c <= c1 for c in known) >= 2:
            for r in range(max(r0, header_index + 1), r1 + 1):
                out.setdefault(r, []).append((r0, c0, c1))
    return out


def _is_heading(raw_row: list[Any], blocks: list[tuple[int, int, int]], known: dict[int, str], grid: Grid) -> bool:
    """A section heading across the table ("ZONA NORTE" merged over A:I): one merged block of
    text over two or more CRM columns, and nothing else under them. A person sees one label
    across the row; read as a deal it got an ID and an error at each empty required cell."""
    for r0, c0, c1 in blocks:
        value = grid.cell(r0, c0)
        if isinstance(value, str) and not cells.is_blank(value) and all(
                c0 <= c <= c1 or cells.is_blank(raw_row[c] if c < len(raw_row) else None) for c in known):
            return True
    return False


# The columns whose values a header over them is told from: a label with no digit in it, over
# a number or a date (a serial number on Google) in the row below.
_LABELLED_KINDS = _NUMERIC_KINDS | {"date", "datetime"}


def _heads_values(labels: list[tuple[int, Any]], index: int, known: dict[int, str], grid: Grid
                  ) -> tuple[int, str] | None:
    """(column, label) when the row, below the records and a blank row, is the header of
    another table (sales targets under the deals): two or more cells, all text, and under a
    CRM column of numbers or dates a label with no digit over a number or date in the row
    below. A record's cell there is its number or date, or blank; read as records, the
    other table got IDs and an error at each cell. None for any other row."""
    if len(labels) < 2 or not all(isinstance(v, str) for _, v in labels):
        return None
    below = grid.rows[index + 1] if index + 1 < len(grid.rows) else []
    own = dict(labels)
    for col, kind in known.items():
        text, value = own.get(col), below[col] if col < len(below) else None
        if (kind in _LABELLED_KINDS and isinstance(text, str) and not any(ch.isdigit() for ch in text)
                and isinstance(value, (int, float, dt.date)) and not isinstance(value, bool)):
            return col, text
    return None


def _repeats_header(raw_row: list[Any], header: Header, known: dict[int, str],
                    names: Callable[[str], str | None] = lambda _text: None) -> bool:
    """A row that repeats the header over the CRM columns, as a second block of the same
    columns below the first starts ("CLOSED" deals under the open ones): two or more of its
    CRM cells say their column's header, or another name of its column (`names(text)`: the
    field a text names; "Deal Name" over a block whose first header says "Name", "Amount
    (USD)" over "Amount"), and no CRM cell says anything else. Read as a record, it got an ID
    and an error at each cell ("Stage" is no stage)."""
    fields = {col: f for f, col in header.fields.items()}
    same = 0
    for col in known:
        raw = raw_row[col] if col < len(raw_row) else None
        if cells.is_blank(raw):
            continue
        label = header.labels.get(col)
        if not isinstance(raw, str) or label is None:
            return False
        if cells.normalize_key(raw) != cells.normalize_key(label) and (col not in fields or names(raw) != fields[col]):
            return False
        same += 1
    return same >= 2


def _currency_code(raw: Any) -> bool:
    try:
        return cells.parse_currency(raw) is not None
    except cells.CellError:
        return False


def parse_table(spec: TabSpec, title: str, grid: Grid, settings: TabSettings, ctx: ParseContext,
                report: Report, language: str | None = None, memo: RowMemo | None = None,
                synced: bool = True, kept: frozenset[str] = frozenset()) -> Table:
    """The tab's records. `language`: the tab's language when it is not this grid's to say
    (an imported file is read in the language of the tab it goes to, never of its own
    headers); by default `tab_locale` of the grid's title and headers. Either way it only
    counts when the config sets no locale, and a column's own cells settle it first.

    `memo` (parse_cache.RowMemo): what the last sync's parse of this tab was. A tab whose grid
    and settings are the same is that parse again; in a changed tab, rows whose cells (as
    their columns read them) are the same are not validated again. The table and the issues
    reported are the same with or without it; the memo keeps this parse for the next sync.

    `synced`: whether sheetcrm wrote this workbook before (`owned.synced_before`); until then a
    filled column under a computed column's name is the team's (`_computed_columns`).
    `kept`: the computed columns sheetcrm remembers writing in this tab, which stay its own
    (`_computed_columns`)."""
    if memo is None:
        if spec.key not in WARNINGS_KEPT:
            return _parse_table(spec, title, grid, settings, ctx, report, language, synced=synced, kept=kept)
        said = Report(limit=sys.maxsize)
        table = _parse_table(spec, title, grid, settings, ctx, said, language, synced=synced, kept=kept)
        for issue in said.issues:
            report.add(issue)
        return _kept_warnings(table, said.issues)
    name = (spec.key, title)
    key = memo.tab_key(grid, spec.key, title, settings, ctx, language, current(), synced, sorted(kept))
    parse = _kept(memo.unchanged(name, key))
    if parse is not None:
        header, chunks, leftovers, issues = parse
        rows = [row for chunk in chunks for row in chunk.rows]
        for row in (*rows, *leftovers):
            row.cells = grid.rows[row.row - 1]  # not stored: the same grid holds them
        _grid_text(rows, header)
        memo.reused += len(rows)
        for issue in issues:
            report.add(issue)
        return _kept_warnings(Table(spec, title, header, rows, leftovers), issues)
    before = _kept(memo.before(name))
    old = before[1] if before is not None else []
    rows_memo = _RowsMemo(memo, {pair[0]: pair[1] for chunk in old for pair in chunk.keyed if pair is not None})
    said = Report(limit=sys.maxsize)
    table = _parse_table(spec, title, grid, settings, ctx, said, language, rows_memo, synced, kept)
    for issue in said.issues:
        report.add(issue)
    held = [(row, row.cells) for row in (*table.rows, *table.leftovers)]
    try:
        for row, _cells in held:
            row.cells = None  # type: ignore[assignment]
        blobs = [_chunk_blob(table.rows[at:at + CHUNK], rows_memo.keyed[at:at + CHUNK],
                             old[at // CHUNK] if at // CHUNK < len(old) else None)
                 for at in range(0, len(table.rows), CHUNK)]
        memo.keep(name, key, (table.header, blobs, table.leftovers, tuple(said.issues)))
    finally:
        for row, raw in held:
            row.cells = raw
    return _kept_warnings(table, said.issues)


# The tabs a quote is priced from (the deal's row gives its currency): a warning at one of
# their cells blocks the quote (`quotes.doubts_of`), so their table keeps every warning, past
# the report's cap too.
WARNINGS_KEPT = frozenset({"quote_lines", "products", "opportunities"})


def _kept_warnings(table: Table, issues: Iterable[Issue]) -> Table:
    if table.spec.key in WARNINGS_KEPT:
        table.warnings = [i for i in issues if i.severity == "warning"]
    return table


# A changed tab's parse is kept as chunks of this many rows, each pickled on its own, so a
# change to a few rows pickles their chunks again and keeps the others' bytes as they were
# (pickling a 50k-row tab whole for a one-row change took 0.5 s at 100k leads).
CHUNK = 1024


@dataclass
class _Chunk:
    """Rows of a tab's kept parse (`cells` left out) and each row's (row key, Entry), or None
    for a row without a key, as pickled in `blob`."""

    blob: bytes
    rows: list[Row]
    keyed: list[tuple[bytes, Entry] | None]


def _kept(parse: Any) -> tuple[Header, list[_Chunk], list[Row], tuple[Issue, ...]] | None:
    """A tab's parse as `parse_table` kept it, its chunks unpickled; None when it is not of
    that shape (a memo made by other code under the same version: a sheetcrm upgraded on disk
    while a process that had read the old code was running), and then the tab is parsed."""
    try:
        header, blobs, leftovers, issues = parse
        with paused_collector():
            chunks = [_Chunk(blob, *pickle.loads(blob)) for blob in blobs]
        if isinstance(header, Header) and all(len(c.rows) == len(c.keyed) and isinstance(c.rows[0], Row)
                                              for c in chunks):
            return header, chunks, leftovers, issues
    except Exception:  # noqa: BLE001 - any damage is a parse of the tab, never an error
        pass
    return None


def _chunk_blob(rows: list[Row], keyed: list[tuple[bytes, Entry] | None], old: _Chunk | None) -> bytes:
    """The pickled (rows, keyed) of one chunk: the last parse's bytes when every row is the
    one it read back from them (its record and target the very objects, its other fields the
    same values of the same types), else pickled anew."""
    if old is not None and len(old.rows) == len(rows) and all(
            _same_row(new, was) and _same_pair(pair, old_pair)
            for new, was, pair, old_pair in zip(rows, old.rows, keyed, old.keyed)):
        return old.blob
    return pickle.dumps((rows, keyed), protocol=5)


def _same_row(new: Row, was: Row) -> bool:
    for a, b, by_identity in zip(_ROW_FIELDS(new), _ROW_FIELDS(was), _BY_IDENTITY):
        if by_identity:
            if a is not b:
                return False
        elif a.__class__ is not b.__class__ or a != b:
            return False
    return True


def _same_pair(pair: tuple[bytes, Entry] | None, was: tuple[bytes, Entry] | None) -> bool:
    if pair is None or was is None:
        return pair is was
    return pair[0] == was[0] and pair[1] is was[1]


@dataclass
class _RowsMemo:
    """A changed tab's rows as the last parse read them (row key -> Entry), and this parse's
    (row key, Entry) for each of its rows, in order (None for a row without a key)."""

    memo: RowMemo
    reuse: dict[bytes, Entry]
    keyed: list[tuple[bytes, Entry] | None] = field(default_factory=list)


def _parse_table(spec: TabSpec, title: str, grid: Grid, settings: TabSettings, ctx: ParseContext,
                 report: Report, language: str | None = None, rows_memo: _RowsMemo | None = None,
                 synced: bool = True, kept: frozenset[str] = frozenset()) -> Table:
    header_index = find_header_row(spec, grid, settings)
    header = map_header(spec, title, grid, settings, report, header_index, synced, kept, ids=True)
    _place_new_columns(spec, title, grid, header, report)
    table = Table(spec, title, header)
    missing = [c for c in spec.columns
               if (c.required or c.field in _HEADER_REQUIRED.get(spec.key, ())) and c.field not in header.fields]
    for column in missing:
        name, other = _names(column, settings)
        report.add(_issue("error", title, header.row, None, name, None, "missing_column", name=name, other=other))
    for column in () if missing else spec.columns:  # a tab missing a required column reads no row at all
        if column.field in _EXPECTED.get(spec.key, ()) and column.field not in header.fields \
                and column.field not in header.lookalikes:
            name, other = _names(column, settings)
            report.add(_issue("warning", title, header.row, None, name, None, "expected_column", name=name,
                              other=other, headers=", ".join(f'"{h}"' for h in list(header.custom)[:6]) or "-"))
    # A declared column the tab lacks (a typo in sheetcrm.toml) would leave every condition on it
    # quietly false: a scoring rule's points lost on every lead.
    own = {cells.normalize_key(name) for name in header.custom}
    for name in settings.custom_fields:
        if cells.normalize_key(name) not in own:
            report.add(_issue("warning", title, header.row, None, name, None, "custom_field_missing", name=name,
                              key=spec.key, headers=", ".join(f'"{h}"' for h in list(header.custom)[:6]) or "-"))

    kinds = field_kinds(spec)
    typed = {cells.normalize_key(name): kind for name, kind in settings.custom_fields.items()}
    custom_kinds = {name: typed[key] for name in header.custom if (key := cells.normalize_key(name)) in typed}
    known = {col: kinds[f] for f, col in header.fields.items()}
    known.update({header.custom[name]: kind.type for name, kind in custom_kinds.items()})
    filled = _merged_values(grid) if grid.merges else {}
    id_col = header.fields.get("id")
    aliases = _aliases(spec, settings)
    rows = _record_rows(table, grid, header_index, known, filled, report,
                        lambda text: _match(spec, aliases, text)[0])
    if header.fields:
        _far_cells(title, grid, header, header_index, rows, known, report)
    _header_currencies(title, header, grid, rows, ctx, report)
    if grid.merges:
        _merged_numbers(title, header, grid, rows, known, report)
        _merged_ids(title, header, grid, rows, report)
    # The team's own columns the config does not type: typed by their cells (columns.infer_kind).
    shown_percent = _percent_rows(grid, rows) if grid.percent else {}
    shown_money = _percent_rows(grid, rows, grid.currency) if grid.currency else {}
    inferred = {name: kind for name, col in header.custom.items() if name not in custom_kinds
                and (kind := columns.infer_kind([r.raw[col] if col < len(r.raw) else None for r in rows],
                                                money=budget_header(name)[0],
                                                percent=shown_percent.get(col, ()),
                                                currency=shown_money.get(col, ())))}
    for name, kind in inferred.items():
        col = header.custom[name]
        known[col] = kind
        for r in rows:
            r.shown[col] = r.raw[col] if col < len(r.raw) else None
    # How each column reads: its own cells first, then the config's or the tab's locale.
    tab_ctx = ctx
    if not ctx.locale_set:
        tab_ctx = dataclasses.replace(ctx, locale=language or tab_locale(spec, title, header) or ctx.locale)
    header.types = {**{name: kind.type for name, kind in custom_kinds.items()}, **inferred}
    header.locale, header.locale_set = tab_ctx.locale, ctx.locale_set
    doubts: dict[tuple[int, int], str] = {}
    ctx = dataclasses.replace(tab_ctx, columns=_read_columns(title, header, grid, rows, known, tab_ctx, report,
                                                             doubts))
    _currencies(spec, title, header, grid, rows, ctx, report)
    priced = _priced_columns(header, kinds, custom_kinds, inferred)
    if priced:
        _priced(header, grid, rows, priced, doubts, ctx)
    priced_names = {key for key, _noted, _text in priced.values()}

    custom_parsers = {name: _custom_parser(kind, name) for name, kind in custom_kinds.items()}
    # What every row's key shares: all that validating a row reads besides its own cells.
    custom_parsers.update({name: CUSTOM_PARSERS[kind] for name, kind in inferred.items()})
    memo = rows_memo.memo if rows_memo is not None else None
    salt = memo.salt(spec.key, title, header.fields, header.custom, header.labels, custom_kinds, inferred, ctx,
                     current()) if memo is not None and not missing else None
    untyped = [col for name, col in header.custom.items() if name not in custom_parsers]
    shared: dict[Any, Any] = {}  # see _share
    for r in rows:
        index, raw_row, sheet_row = r.index, r.raw, r.index + 1
        data: dict[str, Any] = {**r.extra, **{f: r.shown[c] for f, c in header.fields.items()}}
        key = entry = None
        if salt is not None:
            assert memo is not None and rows_memo is not None
            key = memo.row_key(salt, (data, [r.shown[c] for c in header.custom.values() if c not in untyped],
                                      [raw_row[c] if c < len(raw_row) else None for c in untyped]))
            entry = rows_memo.reuse.get(key) if key is not None else None
        if entry is None:
            said = Report(limit=sys.maxsize) if key is not None else report
            left_out: dict[str, str] = {}
            custom, custom_ok = _custom_values(header, raw_row, r.shown, custom_parsers, ctx, title, sheet_row, said,
                                               inferred, left_out)
            if left_out.keys() & priced_names:
                data = _left_out_priced(data, left_out, priced_names)
            record, target, unread, partial = ((None, None, frozenset(), None) if missing else
                                               _validate(spec, data, custom, ctx, header, title, sheet_row, said))
            for made in (record, target, partial):
                _share(made, shared)
            if key is not None:
                assert memo is not None and rows_memo is not None
                entry = (record, target, tuple(said.issues), custom_ok, unread, partial)
                rows_memo.reuse[key] = entry
                memo.parsed += 1
                for issue in said.issues:
                    report.add(issue)
        else:
            assert memo is not None
            entry = _moved(entry, sheet_row)
            record, target, issues, custom_ok, unread, partial = entry
            memo.reused += 1
            for issue in issues:
                report.add(issue)
        if rows_memo is not None:
            rows_memo.keyed.append((key, entry) if key is not None else None)
        row_id = None
        if id_col is not None and not isinstance(data["id"], cells.CellError):
            row_id = cells.parse_text(data["id"])
        if r.held is not None:
            raw_row = r.held  # the row as the file holds it: a write's guard compares these cells
        raw_id = raw_row[id_col] if id_col is not None and id_col < len(raw_row) else None
        table.rows.append(Row(sheet_row, row_id, record if custom_ok else None, raw_row,
                              raw_id=raw_id, target=target, unread=unread, partial=partial,
                              id_fixed=id_col is not None and (FORMULA_ID if (index, id_col) in grid.formulas
                                                               else ERROR_ID if (index, id_col) in grid.errors
                                                               else (index, id_col) in filled)))
    return table


def _grid_text(rows: list[Row], header: Header) -> None:
    """The text values of a tab's rows read back from the parse memo become the grid's own
    str objects where the cell holds the same text (values unchanged, equal text still one
    object in the tab). Unpickled records hold a copy of each text the grid holds too: IDs,
    names and emails, one of each per row (10 MB at 10k leads, about 80 MB at 100k)."""
    fields, custom = list(header.fields.items()), list(header.custom.items())
    canon: dict[str, str] = {}
    known = canon.get
    for row in rows:
        cells_ = row.cells
        width = len(cells_)
        record = row.record
        for made in (record,) if row.target is record else (record, row.target):
            if made is None:
                continue
            values = made.__dict__
            own = values.get("custom")
            for part, columns in ((values, fields), (own, custom)) if own else ((values, fields),):
                for name, col in columns:
                    value = part.get(name)
                    if value.__class__ is not str:
                        continue
                    found = known(value)
                    if found is None:
                        cell = cells_[col] if col < width else None
                        found = canon[value] = cell if cell.__class__ is str and cell == value else value
                    if found is not value:
                        part[name] = found
        if row.raw_id.__class__ is str and row.raw_id == row.id:
            row.raw_id = row.id = known(row.id, row.id)


def _share(record: Record | None, shared: dict[Any, Any]) -> None:
    """Equal parts of a tab's records become one object, kept by `shared`: the set of fields
    they set (pydantic's `model_fields_set`) and their text values.

    A set of 8 to 17 field names takes 730 bytes, a third of a record's memory (37 MB of the
    parse memo's records at 10k leads), and the rows of a tab mostly set the same fields; a
    CRM's text repeats (stages, owners, sources, countries), and at 10k leads the records' text
    is 20 MB made and 5 MB distinct. Safe because records are frozen (nothing adds to the set
    or changes a value) and `model_copy(update=...)` copies the set before adding to it; only
    exact str values are shared, which no equal value of another type can stand in for.
    Pickling keeps the sharing (one tab, one pickle), so records read back from the parse memo
    share too, and unpickle faster."""
    if record is None:
        return
    own = record.__pydantic_fields_set__
    one = shared.setdefault(frozenset(own), own)
    if one is not own:
        object.__setattr__(record, "__pydantic_fields_set__", one)
    values = record.__dict__
    for name, value in values.items():
        if value.__class__ is str:
            values[name] = shared.setdefault(value, value)


def _moved(entry: Entry, sheet_row: int) -> Entry:
    """A memoised row's parse, at the row it now stands on (a sort or an insert moved it)."""
    record, target, issues, ok, unread, partial = entry
    if all(x.row == sheet_row for x in (record, target, partial, *issues) if x is not None):
        return entry
    moved = record.model_copy(update={"row": sheet_row}) if record is not None else None
    if target is not None:
        target = moved if target is record else target.model_copy(update={"row": sheet_row})
    if partial is not None:
        partial = partial.model_copy(update={"row": sheet_row})
    return moved, target, tuple(dataclasses.replace(i, row=sheet_row) for i in issues), ok, unread, partial


@dataclass
class _Cells:
    """A record row while it is read: its cells as a person sees them (`raw`: the grid's row,
    with the code a zero-padded number shows, `Grid.codes`, outside sheetcrm's computed
    columns), what each CRM column shows (`shown`: merged blocks filled in, formula errors,
    cells read by their column), fields set from other cells (`extra`: a currency named inside
    an amount), and the grid's row itself (`held`: what the writes' guards compare)."""

    index: int
    raw: list[Any]
    shown: dict[int, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    held: list[Any] | None = None  # None: `raw` is the grid's row


def _record_rows(table: Table, grid: Grid, header_index: int, known: dict[int, str],
                 filled: dict[tuple[int, int], tuple[Any, str | None]], report: Report,
                 names: Callable[[str], str | None] = lambda _text: None) -> list[_Cells]:
    """The rows under the header that are records, each with what its CRM cells show. Rows
    that are not records but hold stale computed values go to `table.leftovers`. A heading
    alone in its row (`heading_row`) and the header of another table below the records
    (`other_table`: it and every row below it) are not records, and said at their row.
    `names(text)`: the field a header text names, so a header repeated with other names of its
    columns is no record either (`_repeats_header`)."""
    header = table.header
    id_col = header.fields.get("id")
    computed_cols = set(header.computed.values())
    rows: list[_Cells] = []
    errors = grid.errors
    codes: dict[int, list[tuple[int, str]]] = {}
    for (r, c), text in grid.codes.items():
        if c not in computed_cols:
            codes.setdefault(r, []).append((c, text))
    headings = _wide_merges(grid, known, header_index)
    # A lone text is a heading only where a record needs more: an account with its Name alone is one.
    required = {col for c in table.spec.columns if c.required and (col := header.fields.get(c.field)) is not None}
    gap = True  # under the header or a blank row: where a heading or another table may start
    other = False  # another table started above: no row from there on is a record
    for index in range(header_index + 1, len(grid.rows)):
        raw_row = held = grid.rows[index]
        if not raw_row and not filled and not errors:
            gap = True
            continue  # nothing there: the gap above a stray cell far below the data can be a million rows
        if index in codes:
            raw_row = list(held)
            for c, text in codes[index]:
                if c < len(raw_row):
                    raw_row[c] = text
        width = len(raw_row)
        shown = {col: raw_row[col] if col < width else None for col in known}
        # An unticked checkbox (FALSE: Google's Insert > Checkbox, Excel's) is what an empty row
        # holds where a column of them runs down the tab: alone, it is no record.
        real = any(not (v is None or v is False or isinstance(v, str) and cells.is_blank(v)) for v in shown.values())
        if filled or errors:
            for col in known:
                error = errors.get((index, col))
                if error is None and col != id_col and (index, col) in filled and cells.is_blank(shown[col]):
                    shown[col], error = filled[(index, col)]
                if error is not None:
                    shown[col] = formula_error(error, pasted_error(grid, index, col))
                    real = real or (index, col) in errors
        # A totals row has no ID, though its label may stand in the ID column: rows with another
        # ID (most, once synced) skip the label search.
        id_cell = raw_row[id_col] if id_col is not None and id_col < width else None
        has_id = not cells.is_blank(id_cell) and not _only_total_words(id_cell)
        labels = [(c, v) for c, v in enumerate(raw_row) if c not in computed_cols and not cells.is_blank(v)
                  and v is not False]
        # The row as a person sees what it is (a totals row, a heading, a header repeated): its
        # unticked boxes are no more than the empty cells around them.
        seen = [None if v is False else v for v in raw_row] if any(v is False for v in raw_row) else raw_row
        after_gap, gap = gap, not labels
        if not other and real and after_gap and not has_id and index not in grid.totals:
            if rows and (over := _heads_values(labels, index, known, grid)) is not None:
                other = True
                report.add(_issue("warning", table.title, index + 1, over[0], header.labels.get(over[0]), over[1],
                                  "other_table", text=over[1], column=header.labels.get(over[0], "")))
            elif len(labels) == 1 and labels[0][0] in known and isinstance(labels[0][1], str) and required - {
                    labels[0][0]} and any(not cells.is_blank(v)
                                          for v in (grid.rows[index + 1] if index + 1 < len(grid.rows) else ())):
                report.add(_issue("warning", table.title, index + 1, labels[0][0], header.labels.get(labels[0][0]),
                                  labels[0][1], "heading_row", shown=cells.quoted(labels[0][1])))
                real = False
        # An Excel table's Total Row is no record whatever it holds (its label, in the first
        # column, may read like an ID, or be missing).
        if (other or not real or index in grid.totals or not has_id and _is_total(seen, index, known, grid)
                or _repeats_header(seen, header, known, names)
                or index in headings and _is_heading(seen, headings[index], known, grid)):
            if any(c < width and not cells.is_blank(raw_row[c]) for c in computed_cols):
                table.leftovers.append(Row(index + 1, None, None, held))
            continue
        rows.append(_Cells(index, raw_row, shown, held=None if held is raw_row else held))
    return rows


# A value this many rows below the table's last record, or this many columns right of its last
# header, is far from it: no side note or totals row sits that far (a stray key press does).
FAR_ROWS = 1000
FAR_COLUMNS = 100


def _far_cells(title: str, grid: Grid, header: Header, header_index: int, rows: list[_Cells],
               known: dict[int, str], report: Report) -> None:
    """A `far_cell` warning at each value far from the table (FAR_ROWS, FAR_COLUMNS) that is
    in no column of it and on no record row or totals row: it is read as nothing, and a person
    who typed it by accident should learn where it is (it also makes the sheet's used area, what
    an app scrolls and prints, reach it)."""
    end = rows[-1].index if rows else header_index
    right = max(header.labels, default=0) + FAR_COLUMNS
    records = {r.index for r in rows}
    computed = set(header.computed.values())
    start = min(end + FAR_ROWS + 1, len(grid.rows))
    near = grid.rows[header_index + 1:start]
    wide = [i for i, r in enumerate(near, header_index + 1) if len(r) > right] \
        if near and max(map(len, near)) > right else []
    # Past `start` only the rows that hold something, found in C: a million empty ones above a stray cell.
    for index in itertools.chain(wide, itertools.compress(range(start, len(grid.rows)), grid.rows[start:])):
        raw_row = grid.rows[index]
        below = index >= start
        if index in records or index in grid.totals or _is_total(raw_row, index, known, grid):
            continue
        for col in range(0 if below else right, len(raw_row)):
            value = raw_row[col]
            if col in header.labels or col in computed or value is None or cells.is_blank(value):
                continue
            report.add(_issue("warning", title, index + 1, col, None, value, "far_cell", first=header.row,
                              end=end + 1))


# The team's own Budget column the read keeps as text: a conversion must not take an amount from it.
_TEXT_BUDGET = N_("{shown} is in a column sheetcrm reads as text, since too few of its cells are amounts.")


def _priced_columns(header: Header, kinds: dict[str, str], custom_kinds: dict[str, CustomField],
                    inferred: dict[str, str]) -> dict[int, tuple[str, str | None, bool]]:
    """The columns whose filled cells the records say more of (`Record.priced`): column ->
    (field or custom header, the currency its header names in brackets, whether the read keeps
    it as text). Every money field (Amount); a team's column typed money, by the config or by
    its cells; and a Budget/Presupuesto column (schema.budget_header) the config types as a
    number or not at all, which a lead's conversion takes its deal's amount from
    (steps/conversion.py) and a condition compares as money (steps/workflows.py)."""
    out: dict[int, tuple[str, str | None, bool]] = {}
    for name, col in header.fields.items():
        if kinds.get(name) == "money":
            out[col] = (name, None, False)
    for name, col in header.custom.items():
        budget, note = budget_header(name)
        configured = custom_kinds[name].type if name in custom_kinds else None
        kind = configured or inferred.get(name)
        noted = note if budget and note and cells.is_currency(note) else None
        if kind == "money" or budget and configured in ("number", "integer"):
            out[col] = (name, noted, False)
        elif budget and configured is None:
            out[col] = (name, None, True)  # typed by its cells as something else than amounts
    return out


def _priced(header: Header, grid: Grid, rows: list[_Cells], columns: dict[int, tuple[str, str | None, bool]],
            doubts: dict[tuple[int, int], str], ctx: ParseContext) -> None:
    """Each row's `Record.priced` (a `Priced` per filled cell of `columns`, see
    `_priced_columns`) into its `extra`, so it is part of the row's key in the parse memo: the
    currency its text, its number format or its header names (the base currency settles an
    ambiguous symbol as the read settles an Amount's), and the column's doubt at the cell (a
    warning of `_read_columns`, an unusable cell, a column kept as text)."""
    names = {c: f for f, c in header.fields.items()} | {c: n for n, c in header.custom.items()}
    for i, r in enumerate(rows):
        found: dict[str, Priced] = {}
        for col, (key, noted, as_text) in columns.items():
            # A column kept as text is carried as typed, not among the cells read by their column.
            shown = r.shown[col] if col in r.shown else r.raw[col] if col < len(r.raw) else None
            if isinstance(shown, cells.CellError):
                found[key] = Priced(doubt=shown.message)
                continue
            if cells.is_blank(shown):
                continue
            if as_text:
                found[key] = Priced(doubt=_(_TEXT_BUDGET, shown=cells.quoted(shown)))
                continue
            locale = ctx.columns.get(names[col], ctx).locale
            token = cells.money_token(shown, locale, grid.currency.get((r.index, col))) or noted
            code, ambiguous = cells.currency_of(token, ctx.currency) if token else (None, False)
            doubt = doubts.get((i, col))
            if code is not None or ambiguous or doubt is not None:
                found[key] = Priced(code, token if ambiguous else None, doubt)
        if found:
            r.extra["priced"] = found


def _left_out_priced(data: dict[str, Any], left_out: dict[str, str], names: set[str]) -> dict[str, Any]:
    """`data` with the words of each priced custom cell `_custom_values` left out (a cell of
    a column typed by its cells that does not read so) as that cell's doubt."""
    priced = dict(data.get("priced") or {})
    for name, message in left_out.items():
        if name in names:
            had = priced.get(name) or Priced()
            priced[name] = had if had.doubt is not None else dataclasses.replace(had, doubt=message)
    return {**data, "priced": priced}


def _read_columns(title: str, header: Header, grid: Grid, rows: list[_Cells], known: dict[int, str],
                  ctx: ParseContext, report: Report, doubts: dict[tuple[int, int], str] | None = None
                  ) -> dict[str, ParseContext]:
    """Read each number, percent and date column as a whole (`columns.py`): warnings are
    reported here (and a number's kept in `doubts`, (index into `rows`, column) -> its words,
    for `_priced`), unusable cells become CellErrors in `shown`, and each column's context
    (its locale) is returned by field or custom header."""
    names = {c: f for f, c in header.fields.items()} | {c: n for n, c in header.custom.items()}
    custom = set(header.custom.values())  # a team's own columns: their percentages have no bounds
    column_ctx: dict[str, ParseContext] = {}
    percent: dict[int, set[int]] = {}  # col -> the rows (indexes into `rows`) formatted as a percent
    if grid.percent:
        percent = _percent_rows(grid, rows)
    for col, kind in known.items():
        if grid.currency and kind in ("number", "integer", "percent"):
            _refuse_formatted_money(grid, rows, col, kind)
        # A CRM number column's cell that shows a percentage ("50%" typed into Amount) is none
        # of its numbers; a team's own column is typed by its cells or its config entry instead.
        if col in percent and kind in ("money", "number", "integer") and col not in custom:
            for i in percent[col]:
                if (raw := rows[i].shown[col]).__class__ in (int, float):
                    rows[i].shown[col] = cells.percent_refused(raw, kind)
    # What each column's own cells prove, by family: a column that proves nothing is not settled
    # by the config against what its tab's other columns prove (columns.tab_contradicts).
    shown: dict[int, dict[int, str] | None] = {
        col: {i: p for i, r in enumerate(rows) if (p := grid.date_formats.get((r.index, col)))}
        if grid.date_formats else None for col in known}
    proofs: dict[int, str] = {}
    for col, kind in known.items():
        # Google's date formats follow the spreadsheet's locale, not the team's (columns.shown_orders).
        formats = shown[col] if grid.locale is None else None
        if (p := columns.proven(_votes([r.shown[col] for r in rows]), kind, formats)) is not None:
            proofs[col] = p
    for col, kind in known.items():
        formatted = percent.get(col, set())
        three = _three_decimal_cells(header, grid, rows, col, ctx) if kind == "money" else set()
        contradicted = col not in proofs and kind in _FAMILY and columns.tab_contradicts(
            {p for c, p in proofs.items() if _FAMILY.get(known[c]) == _FAMILY[kind]}, ctx.locale)
        shown_as = shown[col]
        reading = _read_column(kind, [r.shown[col] for r in rows], formatted, ctx, three, grid.date1904,
                               contradicted, grid.locale, shown_as, own=col in custom)
        if reading is None:
            continue
        column_ctx[names[col]] = dataclasses.replace(ctx, locale=reading.locale)
        for finding in reading.findings:
            cells_of = rows[finding.index]
            if finding.severity == "warning":
                report.add(Issue("warning", title, cells_of.index + 1, column_letter(col + 1), header.labels.get(col),
                                 cells_of.shown[col], finding.error.code, finding.error.message, finding.error.hint))
                if doubts is not None and kind in _NUMERIC_KINDS:
                    doubts[(finding.index, col)] = finding.error.message
            else:
                cells_of.shown[col] = finding.error  # the record validators report it; the field stays unusable
        for i, value in reading.values.items():
            if not isinstance(rows[i].shown[col], cells.CellError):
                rows[i].shown[col] = value
    return column_ctx


def _percent_rows(grid: Grid, rows: list[_Cells], cells_: Iterable[tuple[int, int]] | None = None
                  ) -> dict[int, set[int]]:
    """col -> the record rows (indexes into `rows`) whose cell there is formatted as a percent
    (or is one of `cells_`: the currency-formatted ones, `Grid.currency`)."""
    position = {r.index: i for i, r in enumerate(rows)}
    percent: dict[int, set[int]] = {}
    for index, col in grid.percent if cells_ is None else cells_:
        if (i := position.get(index)) is not None:
            percent.setdefault(col, set()).add(i)
    return percent


def _refuse_formatted_money(grid: Grid, rows: list[_Cells], col: int, kind: str) -> None:
    """A number whose number format shows a currency, in a column that holds no money (50
    formatted "50,00 €" under Discount %), becomes its error: what a person reads there is money,
    and dropping the currency would make it something else (`cells.money_refused`)."""
    for r in rows:
        raw = r.shown[col]
        if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool) \
                and (token := grid.currency.get((r.index, col))) is not None:
            r.shown[col] = cells.money_refused(raw, token, kind,
                                               _(_FORMATTED_AMOUNT, value=cells.quoted(raw), token=token))


# An .xlsx cell holding an error value with no formula (`<c t="e">`): "the formula shows" would
# send a person looking for a formula that is not there.
_ERROR_VALUE = (N_("This cell holds the error value {error} with no formula behind it (what pasting a broken "
                   "formula's values leaves), so the cell has no value to read."),
                N_("Type the cell's value again."))


def formula_error(error: str, pasted: bool = False) -> cells.CellError:
    """The CellError of a cell whose formula shows `error` (#N/A), or has no saved result
    (`error` is then "=" and its formula: `workbook.uncalculated`): no value to read.
    `pasted`: the cell holds the error value with no formula behind it (`pasted_error`)."""
    code = "formula_not_calculated" if error.startswith(UNCALCULATED) else "formula_error"
    message, hint = _FORMULA_LOADING if error == LOADING else _ERROR_VALUE if pasted else _MESSAGES[code]
    if error == UNCALCULATED:  # a shared formula's other cell: the file does not say its text
        message = _FORMULA_NOT_CALCULATED
    return cells.CellError(code, _(message, error=cells.quoted(error), formula=cells.quoted(error)), _(hint), error)


def pasted_error(grid: Grid, index: int, col: int) -> bool:
    """Whether the cell shows an error value with no formula behind it. Only an .xlsx read can
    tell: its scan finds every formula and keeps an error's cell empty in `rows`, where Google's
    values read holds the error's text, formula or not (`Grid.errors`)."""
    return (index, col) in grid.errors and (index, col) not in grid.formulas and grid.cell(index, col) is None


def _three_decimal_cells(header: Header, grid: Grid, rows: list[_Cells], col: int, ctx: ParseContext) -> set[int]:
    """The amounts (indexes into `rows`) in a currency with three decimals (KWD): named in the
    cell's text, by its number format, by the row's Currency cell, else the base currency."""
    currency_col = header.fields.get("currency")
    found = set()
    for i, r in enumerate(rows):
        raw = r.shown[col]
        token = None
        if isinstance(raw, str):
            token = next((t for loc in ("en", "es") if (t := _money_token(raw, loc))), None)
        token = token or grid.currency.get((r.index, col))
        if token is None and currency_col is not None and isinstance(r.shown.get(currency_col), str):
            token = r.shown[currency_col].strip() or None
        code = cells.currency_of(token, ctx.currency)[0] if token else ctx.currency
        if cells.currency_decimals(code) >= 3:
            found.add(i)
    return found


def _money_token(raw: str, locale: str) -> str | None:
    try:
        return cells.parse_money(raw, locale)[1]
    except cells.CellError:
        return None


# The column kinds whose conventions are one concern across a tab (`columns.tab_contradicts`):
# the day/month order of its dates, the decimal separator of its numbers.
_FAMILY = {"date": "date", "datetime": "date", "number": "number", "money": "number", "integer": "number"}


def _votes(raws: list[Any]) -> list[Any]:
    # Cells already known to be unreadable (formula errors) take no part in the vote.
    return [None if isinstance(r, cells.CellError) else r for r in raws]


def _read_column(kind: str, raws: list[Any], formatted: set[int], ctx: ParseContext,
                 three_decimals: set[int] = frozenset(),  # type: ignore[assignment]
                 date1904: bool = False, contradicted: bool = False,
                 typed: str | None = None, formats: dict[int, str] | None = None,
                 own: bool = False) -> columns.Reading | None:
    raws = _votes(raws)
    if kind in ("number", "money", "integer"):
        parse = {"integer": cells.parse_integer, "money": cells.parse_amount}.get(kind, cells.parse_number)
        return columns.read_numbers(raws, kind, ctx.locale, ctx.locale_set, parse, three_decimals, contradicted)
    if kind == "percent":
        return columns.read_percents(raws, formatted, ctx.locale, ctx.locale_set, bounded=not own)
    if kind in ("date", "datetime"):
        # The column settles the day as a date column's (day or month first); each cell keeps its
        # time, on the team's wall clock: one written with its UTC offset is moved there
        # (cells.team_moment), and a date column takes that moment's day there.
        reading = columns.read_dates(raws, ctx.locale, ctx.locale_set, date1904, typed, formats, contradicted)
        failed = {f.index for f in reading.findings if f.severity == "error"}
        for i, raw in enumerate(raws):
            if i not in reading.values and i not in failed and cells.offset_of(raw) is not None:
                try:
                    reading.values[i] = cells.Read(cells.parse_date(raw, reading.locale), raw)
                except cells.CellError:
                    continue  # the record's own read reports it
        for i, r in list(reading.values.items()):
            if isinstance(r, cells.Read) and (kind == "datetime" or cells.offset_of(raws[i]) is not None):
                moment = cells.team_moment(r.value, raws[i], ctx.zone)
                reading.values[i] = cells.Read(moment if kind == "datetime" else moment.date(), raws[i])
        return reading
    return None


def _currencies(spec: TabSpec, title: str, header: Header, grid: Grid, rows: list[_Cells], ctx: ParseContext,
                report: Report) -> None:
    """Carry a currency written inside an amount ("JPY 10,000", "R$ 1.200,00") or shown by its
    number format (10000 formatted `[$¥-411]#,##0`, `Grid.currency`) to the record's Currency
    field when that cell is blank; a different Currency cell is an error on the amount. An
    ambiguous symbol ("$") is the base currency when it can be, said once per column;
    otherwise its usual meaning, said on each cell."""
    if "currency" not in spec.model.model_fields:
        return
    kinds = field_kinds(spec)
    currency_col = header.fields.get("currency")
    if currency_col is not None:
        symbol_warnings(title, currency_col, header.labels.get(currency_col),
                        ((r.index + 1, r.shown[currency_col]) for r in rows), ctx.currency, report)
    for name, col in header.fields.items():
        if kinds[name] != "money":
            continue
        said_base = False
        # A column most of whose amounts name one other currency: its bare amounts are read in
        # the base currency by rule, but are as likely in the other one (a "€" left off), so
        # that rule is said rather than applied quietly (`_unnamed`).
        named: Counter[str] = Counter()
        bare: list[_Cells] = []
        for r in rows:
            index, shown, raw = r.index, r.shown, r.shown[col]
            locale = ctx.columns.get(name, ctx).locale
            token = _currency_token(raw, grid.currency.get((index, col)), locale)
            if token is None:
                if _bare_amount(raw) and (currency_col is None or cells.is_blank(shown.get(currency_col))) \
                        and "currency" not in r.extra:
                    bare.append(r)
                continue
            if cells.SEVERAL_CURRENCIES in token:
                if not _one_of(token, shown.get(currency_col) if currency_col is not None else None, ctx.currency):
                    shown[col] = _error("format_currencies", raw, shown=cells.quoted(raw),
                                        currencies=_(" or ").join(token.split(cells.SEVERAL_CURRENCIES)))
                continue
            code, ambiguous = cells.currency_of(token, ctx.currency)
            typed = cells.show_number(1200, locale=locale)  # an amount to type in this column
            fmt = dict(shown=cells.quoted(raw) if isinstance(raw, str) else _(
                _FORMATTED_AMOUNT, value=cells.quoted(raw), token=token), token=token, currency=code,
                example=f"USD {typed}",
                codes=", ".join(cells.SYMBOL_CURRENCIES.get(token, ())))
            if code is None:
                shown[col] = _error("ambiguous_currency", raw, **fmt)
                continue
            theirs = shown.get(currency_col) if currency_col is not None else None
            if code != ctx.currency:
                named[code] += 1
            if cells.is_blank(theirs):
                if currency_col is not None:
                    shown[currency_col] = code
                else:
                    r.extra["currency"] = code  # no Currency column: the record's field still takes it
            else:
                try:
                    other = cells.parse_currency(theirs, ctx.currency) if isinstance(theirs, str) else None
                except cells.CellError:
                    other = None  # reported by the Currency column's own validator
                meanings = cells.SYMBOL_CURRENCIES.get(token, (code,)) if ambiguous else (code,)
                if other is not None and other not in meanings:
                    shown[col] = _error("currency_conflict", raw, other=other, **fmt)
                    continue
                if ambiguous:
                    continue  # the Currency cell says which of the symbol's meanings it is
            if ambiguous and code == ctx.currency:
                if not said_base:
                    said_base = True
                    report.add(_issue("warning", title, index + 1, col, header.labels.get(col), raw, "symbol_base",
                                      **fmt))
            elif ambiguous:
                others = [c for c in cells.SYMBOL_CURRENCIES[token] if c != code][:4]
                report.add(_issue("warning", title, index + 1, col, header.labels.get(col), raw, "symbol_guess",
                                  **{**fmt, "others": ", ".join(others) + "…",
                                     "example": typed}))
        if bare and len(named) == 1 and (count := next(iter(named.values()))) >= len(bare):
            first, code = bare[0], next(iter(named))
            raw = first.shown[col]
            locale = ctx.columns.get(name, ctx).locale
            example = cells.show_number(1200, locale=locale)
            shown_raw = cells.quoted(raw) if isinstance(raw, str) else cells.show_number(raw, locale=locale)
            report.add(_issue("warning", title, first.index + 1, col, header.labels.get(col), raw, "currency_unnamed",
                              count=len(bare), base=ctx.currency, named=count, currency=code,
                              shown=shown_raw, at=first.index + 1, example=f"{code} {example}"))


def _bare_amount(raw: Any) -> bool:
    """Whether a money cell holds an amount and nothing else: a number, or text with a digit
    (a text that is no number is the reader's error, said there)."""
    if isinstance(raw, bool):
        return False
    return isinstance(raw, (int, float, Decimal)) or isinstance(raw, str) and any(c.isdigit() for c in raw)


def symbol_warnings(title: str, col: int, label: str | None, cells_: Iterable[tuple[int, Any]], base: str,
                    report: Report) -> None:
    """The warnings for ambiguous symbols ("$", "¥") typed in a Currency column, given as
    (sheet row, cell): read as `cells.parse_currency` and as inside an amount, the base
    currency when it can mean it, said once for the column; else its usual meaning (USD, JPY),
    said on each cell, never silently. A symbol without a usual meaning ("kr") is no currency:
    the reader's error, not a warning here."""
    said_base = False
    for sheet_row, raw in cells_:
        if not isinstance(raw, str):
            continue
        token = raw.strip()
        meanings = cells.SYMBOL_CURRENCIES.get(token, ())
        if len(meanings) < 2:
            continue
        code, _ambiguous = cells.currency_of(token, base)
        if code is None:
            continue
        others = [c for c in meanings if c != code]
        fmt = dict(shown=cells.quoted(raw), token=token, currency=code, example=others[0])
        if code == base:
            if not said_base:
                said_base = True
                report.add(_issue("warning", title, sheet_row, col, label, raw, "symbol_base", **fmt))
            continue
        message, _hint = _MESSAGES["symbol_guess"]
        report.add(Issue("warning", title, sheet_row, column_letter(col + 1), label, raw, "symbol_guess",
                         _(message, **fmt, others=", ".join(others[:4]) + "…"),
                         _(_SYMBOL_CODE_HINT, currency=code, other=others[0])))


# How a Currency cell holding an ambiguous symbol is made certain.
_SYMBOL_CODE_HINT = N_("Write the ISO code of the currency you mean, like {currency} or {other}.")


def _one_of(token: str, theirs: Any, base: str) -> bool:
    """Whether a Currency cell says which of the currencies a number format shows (`token`,
    joined by `cells.SEVERAL_CURRENCIES`) an amount is in."""
    if not isinstance(theirs, str) or cells.is_blank(theirs):
        return False
    try:
        code = cells.parse_currency(theirs, base)
    except cells.CellError:
        return False  # reported by the Currency column's own validator
    return any(code == c or code in cells.SYMBOL_CURRENCIES.get(c, ())
               for c in token.split(cells.SEVERAL_CURRENCIES))


def _currency_token(raw: Any, formatted: str | None, locale: str) -> str | None:
    """The currency an amount cell names: written in its text (in whichever convention reads
    it: the column's own cells, not the config, decide that, and "EUR 500,25" names EUR under
    "en" too), else shown by its number format (only a number shows its format)."""
    if isinstance(raw, str):
        return cells.money_token(raw, locale)  # None when it reads in none: the validator reports it
    if formatted is not None and isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return formatted
    return None


def _error(code: str, raw: Any, **fmt: Any) -> cells.CellError:
    message, hint = _MESSAGES[code]
    return cells.CellError(code, _(message, **fmt), _(hint, **fmt), raw)


_INFERRED_HINTS = {
    "number": N_("Most of this column are numbers, so sheetcrm reads it as numbers and leaves this cell out: write a "
                 "number here, or declare the column's type in sheetcrm.toml ([tabs.<tab>.custom_fields])."),
    "money": N_("Most of this column are amounts, so sheetcrm reads it as money and leaves this cell out: write an "
                "amount here, or declare the column's type in sheetcrm.toml ([tabs.<tab>.custom_fields])."),
    "percent": N_("Most of this column are percentages, so sheetcrm reads it as percentages and leaves this cell out: "
                  "write a percentage here (15%), or declare the column's type in sheetcrm.toml "
                  "([tabs.<tab>.custom_fields])."),
    "date": N_("Most of this column are dates, so sheetcrm reads it as dates and leaves this cell out: write a date "
               "here, or declare the column's type in sheetcrm.toml ([tabs.<tab>.custom_fields])."),
    "bool": N_("Most of this column are yes/no values, so sheetcrm reads it as yes/no and leaves this cell out: "
               "write yes or no here, or declare the column's type in sheetcrm.toml ([tabs.<tab>.custom_fields])."),
}


def _custom_parser(kind: CustomField, name: str) -> Callable[[Any, str], Any]:
    if kind.type == "enum":
        choices = cells.enum_choices({v: [] for v in kind.values})
        return lambda raw, locale: cells.parse_enum(raw, choices, name)
    return CUSTOM_PARSERS[kind.type]


def _custom_values(header: Header, raw_row: list[Any], shown: dict[int, Any],
                   parsers: dict[str, Callable[[Any, str], Any]], ctx: ParseContext, title: str, sheet_row: int,
                   report: Report, inferred: dict[str, str] | None = None,
                   left_out: dict[str, str] | None = None) -> tuple[dict[str, Any], bool]:
    """The row's custom values and whether they are all usable. A cell of a column typed by
    its cells (`inferred`: header -> kind) that does not read so is a warning and an empty
    value: the type is sheetcrm's guess, so the row stays (its words kept in `left_out`,
    header -> message)."""
    values: dict[str, Any] = {}
    ok = True
    for name, col in header.custom.items():
        parse = parsers.get(name)
        if parse is None:
            values[name] = raw_row[col] if col < len(raw_row) else None  # untyped: carried exactly as typed
            continue
        raw = shown[col]
        try:
            if isinstance(raw, cells.CellError):
                raise raw
            values[name] = raw.value if isinstance(raw, cells.Read) else parse(
                raw, (ctx.columns.get(name) or ctx).locale)
        except cells.CellError as e:
            kind = inferred.get(name) if inferred else None
            if kind is not None:
                values[name] = None
                if left_out is not None:
                    left_out[name] = e.message
                report.add(Issue("warning", title, sheet_row, column_letter(col + 1), name,
                                 e.raw if e.raw is not None else _as_typed(raw), e.code, e.message,
                                 _(_INFERRED_HINTS[kind])))
                continue
            ok = False
            report.add(Issue("error", title, sheet_row, column_letter(col + 1), name, e.raw if e.raw is not None
                             else raw, e.code, e.message, e.hint))
    return values, ok


def _as_typed(value: Any) -> Any:
    """A cell as the person typed it, for an issue's value column."""
    if isinstance(value, cells.CellError):
        return value.raw
    if isinstance(value, cells.Read):
        return value.raw
    return value


def _validate(spec: TabSpec, data: dict[str, Any], custom: dict[str, Any], ctx: ParseContext, header: Header,
              title: str, sheet_row: int, report: Report
              ) -> tuple[Record | None, Record | None, frozenset[str], Record | None]:
    """(record, target, unread, partial): the record, or None with every problem reported; the
    row as a reference target, its unreadable cells left empty (see Row); the fields whose cells
    cannot be read; and when not even the target can be made (a required cell unreadable or
    empty), the row's cells read one by one (`_cell_by_cell`), else None."""
    try:
        record = spec.model.model_validate({**data, "row": sheet_row, "custom": custom}, context=ctx)
        return record, record, frozenset(), None
    except ValidationError as e:
        for err in e.errors(include_url=False):
            field_name = err["loc"][0] if err["loc"] else None
            col = header.fields.get(field_name) if isinstance(field_name, str) else None
            extra = err.get("ctx") or {}
            report.add(Issue(
                "error", title, sheet_row,
                column_letter(col + 1) if col is not None else None,
                header.labels.get(col) if col is not None else None,
                _as_typed(data.get(field_name)) if isinstance(field_name, str) else None,
                err["type"], extra.get("message") or problem(err), extra.get("hint", ""),
            ))
        unreadable = {err["loc"][0] for err in e.errors() if err["loc"]}
        try:
            target = spec.model.model_validate({**data, **dict.fromkeys(unreadable), "row": sheet_row,
                                                "custom": custom}, context=ctx)
        except ValidationError:
            target = None
        # A required cell that is merely empty is no unreadable cell: its field is None either way.
        unread = frozenset(f for f in unreadable if isinstance(f, str) and not _blank(data.get(f)))
        if target is not None:
            return None, target, unread, None
        partial, more = _cell_by_cell(spec, data, ctx, sheet_row)
        return None, None, unread | more, partial


def _blank(value: Any) -> bool:
    return value is None or isinstance(value, str) and cells.is_blank(value)


@cache
def _field_adapters(model: type[Record]) -> dict[str, TypeAdapter[Any]]:
    """Each field's own validator (its type and cell reader), without the record's required
    cells and row-wide checks."""
    return {name: TypeAdapter(Annotated[(info.annotation, *info.metadata)] if info.metadata  # type: ignore[misc]
                              else info.annotation)
            for name, info in model.model_fields.items() if name not in ("row", "custom")}


def _cell_by_cell(spec: TabSpec, data: dict[str, Any], ctx: ParseContext, sheet_row: int
                  ) -> tuple[Record, frozenset[str]]:
    """A row whose target cannot be made, read a cell at a time: each field its cell reads to
    (an empty required cell or an unreadable one: None), and the fields whose cells do not
    read. Not validated as a whole (`model_construct`): only for what one field decides."""
    values: dict[str, Any] = {}
    unread = set()
    for name, adapter in _field_adapters(spec.model).items():
        if name not in data:
            continue
        try:
            values[name] = adapter.validate_python(data[name], context=ctx)
        except ValidationError:
            values[name] = None
            if not _blank(data[name]):
                unread.add(name)
    return spec.model.model_construct(row=sheet_row, **values), frozenset(unread)
