"""The tabs beside the CRM's, read in the same pass as the CRM tabs: typed once, here.

- Rates (Currency, Rate) and Quotas (Owner, Month, Quota): input tabs people add, found by name;
- Stage History and Lead Status History: sheetcrm's own logs, found by their mark;
- `_sheetcrm`: the sequences' high-water marks (`ids.read_sequences`);
- Duplicates: sheetcrm's tab of likely duplicates, for the ticks people type there
  (`read_duplicates`; steps/duplicates.py and the merge step act on them).
- the record of earlier lead conversions, in the CRM tabs' recorded columns (`read_conversions`).

Nothing after the read parses a cell: the engine and the steps get `Inputs`. Rates and Quotas
are read like a CRM tab's columns (`columns.py`: "0,925" among rates is a decimal comma, never
925) and a cell that cannot be read, or only with a guess, is reported at its cell like any
other tab's; its row is left out, so a currency without a readable rate also surfaces as a
`missing_rate` warning on each of its amounts. A damaged line of history is skipped (and kept)
rather than failing every sync.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence

from sheetcrm import cells, columns
from sheetcrm.config import Config, TabSettings
from sheetcrm.crm.conversion import Conversions, Converted
from sheetcrm.crm.forecast import Quota, UnreadQuota, month_key
from sheetcrm.crm.history import HistoryRow
from sheetcrm.crm.money import Rates
from sheetcrm.crm.spellings import key as owner_key
from sheetcrm.ids import read_sequences
from sheetcrm.names import tab_headers
from sheetcrm.owned import owned_title
from sheetcrm.owned import locate
from sheetcrm.records import LEAD_STATUSES, ParseContext
from sheetcrm.i18n import LOCALES, N_, _, current
from sheetcrm.report import Issue, Report, column_letter
from sheetcrm.schema import (DUPLICATES, LEAD_HISTORY, OWNED_TABS, QUOTAS, RATES, SEGMENTS, SEQUENCES, STAGE_HISTORY,
                             OwnedTab, find_tab, owned_tab_names, tab_names)
from sheetcrm.table import Table, formula_error, parse_table, pasted_error, symbol_warnings
from sheetcrm.workbook import CellValue, Grid, Snapshot
from sheetcrm.workflow_tabs import WorkflowTabs

# Lead Status History's words -> the status they name, in either language.
_LEAD_STATUSES = cells.enum_choices(LEAD_STATUSES)
# normalize_key(a lead status's word, either language) -> its configured name: what the Lead
# Status History's words name (the warehouse holds the names: warehouse.rows).
LEAD_NAMES: Mapping[str, str] = _LEAD_STATUSES


@dataclass
class Inputs:
    rates: Rates
    quotas: list[Quota] = field(default_factory=list)
    # The owners' quotas the Quotas tab gives but sheetcrm cannot use (`_quotas`): no total is
    # summed without them (crm.forecast).
    unread_quotas: list[UnreadQuota] = field(default_factory=list)
    stage_history: list[HistoryRow] = field(default_factory=list)   # as the tab holds them, old rows first
    lead_history: list[HistoryRow] = field(default_factory=list)
    # History rows that cannot be read (a Changed At a person damaged): kept in the tab as they
    # are and reported by the history step, never counted nor dropped. "stage_history" /
    # "lead_history" -> rows.
    unread_history: dict[str, list["UnreadRow"]] = field(default_factory=dict)
    # "stage_history" / "lead_history" -> the columns (0-based, sheetcrm's order) a person
    # deleted from that tab (`history_gone`): the tab is then not read, nor written.
    history_gone: dict[str, tuple[int, ...]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)         # prefix -> the last number handed out
    duplicates: "DuplicatesTab" = field(default_factory=lambda: DuplicatesTab())
    conversions: Conversions = field(default_factory=Conversions)   # read_conversions
    # The Workflows tab, Workflow State and Workflow Log (workflow_tabs.read_workflows).
    workflows: WorkflowTabs = field(default_factory=lambda: WorkflowTabs())
    # The Segments tab (read_segments), when the workbook has one.
    segments: Table | None = None
    # The Quotas tab's title as the workbook has it ("Quotas" in a Spanish team's book); None
    # when it has none: what is said of a quota names the tab the person sees.
    quotas_title: str | None = None


def read_inputs(snapshot: Snapshot, config: Config, context: ParseContext, report: Report | None = None,
                deals: tuple[str, Iterable[str | None]] | None = None) -> Inputs:
    """Every side tab of `snapshot`; `context` is the CRM read's (locale, stage names). The
    cells of Rates and Quotas that cannot be read, or read only with a guess, go to `report`
    (the read's), at their cells. `deals`: the Opportunities tab's title and Owner cells, against
    which each Quotas owner is checked (`_quotas`); None without an Opportunities tab."""
    unread: dict[str, list[UnreadRow]] = {STAGE_HISTORY.key: [], LEAD_HISTORY.key: []}
    report = report if report is not None else Report()
    unread_quotas: list[UnreadQuota] = []
    gone = {tab.key: history_gone(_grid(snapshot, tab), len(tab.headers), [tab_headers(tab.key, lang) for lang in LOCALES])
            for tab in (STAGE_HISTORY, LEAD_HISTORY)}
    return Inputs(
        rates=read_rates(snapshot, config, context, report),
        quotas=read_quotas(snapshot, config, context, report, deals, unread_quotas),
        unread_quotas=unread_quotas,
        quotas_title=find_tab(list(snapshot.tabs), owned_tab_names(QUOTAS)),
        stage_history=read_history(_grid(snapshot, STAGE_HISTORY), config.locale, context.stages,
                                   unread[STAGE_HISTORY.key], len(STAGE_HISTORY.headers),
                                   [tab_headers(STAGE_HISTORY.key, lang) for lang in LOCALES]),
        lead_history=read_history(_grid(snapshot, LEAD_HISTORY), config.locale, context.lead_statuses or _LEAD_STATUSES,
                                  unread[LEAD_HISTORY.key], len(LEAD_HISTORY.headers),
                                  [tab_headers(LEAD_HISTORY.key, lang) for lang in LOCALES]),
        unread_history=unread,
        history_gone={key: columns for key, columns in gone.items() if columns},
        sequences=read_sequences(_grid(snapshot, SEQUENCES)),
        duplicates=read_duplicates(snapshot, config.locale),
    )


def read_rates(snapshot: Snapshot, config: Config, context: ParseContext | None = None,
               report: Report | None = None) -> Rates:
    """The Rates tab (`rates_from_rows`), its numbers read as its column writes them."""
    title, grid = _located(snapshot, RATES)
    if grid is None:
        return Rates(config.currency)
    return _Side(title, grid).read(_rates, config.currency, *_side_locale(RATES, title, grid, context), report)


def read_quotas(snapshot: Snapshot, config: Config, context: ParseContext | None = None,
                report: Report | None = None, deals: tuple[str, Iterable[str | None]] | None = None,
                unread: list[UnreadQuota] | None = None) -> list[Quota]:
    """The Quotas tab (`quotas_from_rows`), its numbers and dates read as their columns write them;
    an owner who owns none of `deals` (the Opportunities tab's title and Owner cells) said at the cell.
    The owners' rows it cannot use go to `unread`."""
    title, grid = _located(snapshot, QUOTAS)
    if grid is None:
        return []
    side = _Side(title, grid)
    if deals is not None:
        side.deals_title, side.deal_owners = deals[0], {owner_key(o) for o in deals[1] if o}
    return side.read(lambda *a: _quotas(*a, unread=unread), config.currency,
                     *_side_locale(QUOTAS, title, grid, context), report)


def rates_from_rows(base: str, rows: Iterable[Sequence[Any]], locale: str = "en",
                    report: Report | None = None) -> Rates:
    """Rates from the Rates tab's (Currency, Rate) cells, header row excluded, the Rate column
    read as a whole (`columns.read_numbers`: "0,925" and "1,17" are a decimal comma whatever
    `locale` says) with `locale` set."""
    rates = _Side(RATES.title, Grid([[], *map(list, rows)])).read(_rates, base, locale, True, report)
    return replace(rates, title=None)  # rows of no tab: named in the current language


def quotas_from_rows(rows: Iterable[Sequence[Any]], locale: str = "en", report: Report | None = None,
                     base: str = "USD", unread: list[UnreadQuota] | None = None) -> list[Quota]:
    """Quotas from the Quotas tab's (Owner, Month, Quota) cells, header row excluded, each
    column read as a whole with `locale` set. Month is "YYYY-MM" (`_month_text`) or any date in
    the month; a Quota is in the base currency `base`. The owners' rows it cannot use go to `unread`."""
    return _Side(QUOTAS.title, Grid([[], *map(list, rows)])).read(lambda *a: _quotas(*a, unread=unread), base,
                                                                   locale, True, report)


@dataclass
class _Side:
    """A side tab people type (Rates, Quotas) as it is read: by position (its header row is
    row 1), each number and date column as a whole like a CRM tab's (`columns.py`), and every
    cell it cannot use, or reads only with a guess, reported at the cell to `report`."""

    title: str
    grid: Grid
    report: Report = field(default_factory=lambda: Report(limit=sys.maxsize))
    # Quotas: the deal owners (`crm.spellings.key`) a quota's owner should be one of; None: unknown.
    deal_owners: set[str] | None = None
    deals_title: str = ""
    # The tab's column (0-based, in its headers' order: Owner, Month, Quota) -> the sheet's
    # column holding it, when the header row names them elsewhere (`place`); else the same.
    at: dict[int, int] = field(default_factory=dict)

    def place(self, tab: OwnedTab) -> None:
        """Find the tab's columns by their headers (English or Spanish, as a CRM tab's), when the
        header row names every one of them once: a team's "Owner, Month, Last Year, Quota" is read
        from its Quota column, not its Last Year. Otherwise they are read by position, the
        header row being anything (a tab typed "Rep, Period, Target" reads as before); a header
        row naming some of them ("Month, Owner, Target") gets one `columns_by_position` warning."""
        header = self.grid.rows[0] if self.grid.rows else []
        keys = [cells.normalize_key(text) if isinstance(text := cells.parse_text(h), str) else None for h in header]
        found = {}
        for col, names in enumerate(zip(tab.headers, tab.headers_es)):
            named = [c for c, key in enumerate(keys) if key is not None and key in {cells.normalize_key(n) for n in names}]
            if len(named) == 1:
                found[col] = named[0]
        if len(found) == len(tab.headers):
            self.at = found
        elif found:
            # Some columns named, not all once ("Month, Owner, Target"): read by position, where
            # the errors at the cells alone do not say why Month's dates are read as owners.
            texts = [t for h in header if (t := cells.parse_text(h)) is not None]
            self.report.add(Issue("warning", self.title, 1, None, None, None, "columns_by_position",
                                  _("The header row names only some of this tab's columns ({headers}), so its "
                                    "columns are read by position, in this order: {order}.",
                                    headers=", ".join(f'"{t}"' for t in texts),
                                    order=", ".join(tab.display_headers(current()))),
                                  _("Head each column with its name ({names}), once each, in any order: each is "
                                    "then read from the column its header names.",
                                    names=", ".join(f'"{n}"' for n in tab.display_headers(current())))))

    def _col(self, col: int) -> int:
        return self.at.get(col, col)

    def read(self, how: Callable[[str, "_Side", str, bool], Any], base: str, locale: str, sure: bool,
             report: Report | None) -> Any:
        """`how(base, self, locale, sure)` (`_rates`, `_quotas`), what it found told to `report`."""
        found = how(base, self, locale, sure)
        self.tell(report)
        return found

    def tell(self, report: Report | None) -> None:
        """Add what was found to `report`, in sheet order (row, then column)."""
        if report is not None:
            for issue in sorted(self.report.issues, key=lambda i: (i.row or 0, len(i.column or ""), i.column or "")):
                report.add(issue)

    @property
    def rows(self) -> list[list[Any]]:
        return self.grid.rows[1:]

    def raws(self, col: int) -> list[Any]:
        """The data rows' cells of the tab's column `col` (`at`), as the person sees them: a
        merged block's value in each row it spans (an Owner merged over their three months is
        theirs in each; read as the block's first row alone, the others were "no owner")."""
        col = self._col(col)
        spans = self.spans(col)
        return [self.grid.cell(spans.get(i, i) + 1, col) if i in spans else row[col] if col < len(row) else None
                for i, row in enumerate(self.rows)]

    def refuse_merged(self, col: int, tab: OwnedTab, values: dict[int, Any],
                      error: Callable[[str, int, int], cells.CellError]) -> None:
        """Take out of `values` (column `col`'s, by data row) the rows a merged block of `col`
        spans over two or more rows, each block said at its first cell (`error(shown, first row,
        last row)`): one figure over several rows is no row's own figure sheetcrm can be sure of."""
        blocks: dict[int, list[int]] = {}
        for covered, first in self.spans(self._col(col)).items():
            blocks.setdefault(first, [first]).append(covered)
        raws = self.raws(col)
        for first, spanned in blocks.items():
            if cells.is_blank(raws[first]):
                continue
            for i in spanned:
                values.pop(i, None)
            said = error(cells.quoted(raws[first]), first + 2, max(spanned) + 2)
            self.say("error", first, col, tab, cells.CellError(said.code, said.message, said.hint, raws[first]))

    def spans(self, col: int) -> dict[int, int]:
        """Sheet column `col`'s data rows (0-based) a merged block covers below its first data
        row -> that first data row."""
        return {r - 1: r0 - 1 for r0, c0, r1, _c1 in self.grid.merges if c0 == col and r0 >= 1
                for r in range(r0 + 1, r1 + 1)}

    def label(self, col: int, tab: OwnedTab) -> str | None:
        header = self.grid.rows[0] if self.grid.rows else []
        where = self._col(col)
        typed = cells.parse_text(header[where]) if where < len(header) else None
        return typed or tab.display_headers(current())[col]

    def say(self, severity: str, index: int, col: int, tab: OwnedTab, error: cells.CellError) -> None:
        """Report `error` at the cell of data row `index` (0-based, under the header), the tab's column `col`."""
        self.report.add(Issue(severity, self.title, index + 2, column_letter(self._col(col) + 1),  # type: ignore[arg-type]
                              self.label(col, tab), error.raw, error.code, error.message, error.hint))

    def currency_column(self) -> int | None:
        """The sheet column (0-based) the header row names Currency (Moneda, Divisa) once, if any:
        a column the tab's own headers do not have, but a team may add beside its figures."""
        names = {cells.normalize_key(n) for n in (RATES.headers[0], RATES.headers_es[0], "Divisa")}
        header = self.grid.rows[0] if self.grid.rows else []
        named = [c for c, h in enumerate(header)
                 if isinstance(text := cells.parse_text(h), str) and cells.normalize_key(text) in names]
        return named[0] if len(named) == 1 else None

    def say_at(self, severity: str, index: int, where: int, error: cells.CellError) -> None:
        """`say`, at the sheet column `where` (0-based) rather than one of the tab's own columns."""
        header = self.grid.rows[0] if self.grid.rows else []
        label = cells.parse_text(header[where]) if where < len(header) else None
        self.report.add(Issue(severity, self.title, index + 2, column_letter(where + 1),
                              label if isinstance(label, str) else None, error.raw, error.code, error.message,
                              error.hint))

    def formats(self, col: int) -> dict[int, str]:
        """The date formats read (`Grid.date_formats`) of the tab's column `col`, by data row."""
        where = self._col(col)
        return {row - 1: pattern for (row, c), pattern in self.grid.date_formats.items() if c == where and row >= 1}

    def formula_errors(self, col: int, tab: OwnedTab) -> set[int]:
        """The data rows whose cell in `col` shows a formula's error (#N/A): unusable, and said."""
        found = set()
        where = self._col(col)
        for (row, c), error in self.grid.errors.items():
            if c == where and row >= 1:
                found.add(row - 1)
                self.say("error", row - 1, col, tab, formula_error(error, pasted_error(self.grid, row, c)))
        return found

    def numbers(self, col: int, tab: OwnedTab, kind: str, locale: str, sure: bool,
                base: str | None = None) -> dict[int, Decimal]:
        """Column `col`'s numbers by data row, read as the column writes them (`columns.read_numbers`);
        an unreadable cell is reported and left out. `kind` "money" is an amount in `base`: one
        that names another currency is a `currency_conflict`."""
        raws = self.raws(col)
        skip = self.formula_errors(col, tab)
        raws = [None if i in skip else raw for i, raw in enumerate(raws)]
        money = kind == "money"
        three = range(len(raws)) if money and base and cells.currency_decimals(base) >= 3 else ()
        reading = columns.read_numbers(raws, kind, locale, sure, cells.parse_amount if money else cells.parse_number,
                                       three)
        for finding in reading.findings:
            self.say(finding.severity, finding.index, col, tab, finding.error)
            if finding.severity == "error":
                skip.add(finding.index)
        values: dict[int, Decimal] = {}
        for i, raw in enumerate(raws):
            if i in skip or cells.is_blank(raw):
                continue
            try:
                if not money:
                    value = cells.parse_number(raw, reading.locale)
                else:
                    value, token = cells.parse_money(raw, reading.locale)
                    token = token or (self.grid.currency.get((i + 1, self._col(col))) if not isinstance(raw, str)
                                      else None)
                    code = cells.currency_of(token, base)[0] if token else base
                    if code != base:
                        raise cells.CellError(
                            "currency_conflict",
                            _("{shown} is in {currency}, but the {tab} tab is in the base currency, {base}.",
                              shown=cells.quoted(raw), currency=code or token, tab=self.title, base=base),
                            _("Write it in {base} (currency in sheetcrm.toml), without another currency.", base=base),
                            raw)
            except cells.CellError as e:
                self.say("error", i, col, tab, e)
                continue
            if value is not None:
                values[i] = value
        return values

    def unread(self, col: int, read: Mapping[int, Any]) -> set[int]:
        """The data rows whose cell in `col` holds something (a value, or a formula's error) that
        is not among `read`, what the column's reading made of it: the cells it refused."""
        errors = {row - 1 for (row, c) in self.grid.errors if c == self._col(col) and row >= 1}
        return {i for i, raw in enumerate(self.raws(col))
                if i not in read and (i in errors or not cells.is_blank(raw))}


def _side_locale(tab: OwnedTab, title: str, grid: Grid, context: ParseContext | None) -> tuple[str, bool]:
    """The convention a side tab's columns fall back on when their cells do not settle it, and
    whether it is settled: the config's locale when it sets one, else the tab's language (its
    Spanish title or headers: "es"), else the read's locale (as `table.tab_locale` for a CRM tab)."""
    if context is None:
        return "en", False
    if context.locale_set:
        return context.locale, True
    english = {cells.normalize_key(n) for n in (tab.title, *tab.headers)}
    spanish = {cells.normalize_key(n) for n in (tab.title_es, *tab.headers_es)} - english
    said = [cells.normalize_key(text) for text in (title, *(grid.rows[0] if grid.rows else ()))
            if isinstance(text, str)]
    votes = {"es": sum(k in spanish for k in said), "en": sum(k in english - spanish for k in said)}
    if votes["es"] != votes["en"]:
        return max(votes, key=votes.__getitem__), False
    return context.locale, False


def _rates(base: str, side: _Side, locale: str, sure: bool) -> Rates:
    """A rate for each row with a currency and a rate above 0. A cell that cannot be read, a
    rate of 0 or less, is reported at its cell and its row left out: that currency then has no
    rate, so its amounts are left out of totals with a `missing_rate` warning, never summed.
    Rows giving one currency different rates leave it with none too, each reported
    (`duplicate_rate`): which one holds is not for sheetcrm to guess. The same rate twice is one.
    A row for the base currency with a rate other than 1 is ignored with a warning at its cell."""
    side.place(RATES)
    rates = side.numbers(1, RATES, "number", locale, sure)
    # A rate merged over two currencies' rows is one currency's, not both: read as each row's,
    # GBP's deals converted at EUR's rate without a word.
    side.refuse_merged(1, RATES, rates, lambda shown, first, last: cells.CellError(
        "merged_number",
        _("{shown} is merged over rows {first} to {last}: one rate for several rows is no row's own rate, so these "
          "rows have none.", shown=shown, first=first, last=last),
        _("Unmerge the cells and type each currency's own rate.")))
    currency_at = side.formula_errors(0, RATES)
    symbol_warnings(side.title, side._col(0), side.label(0, RATES), ((i + 2, raw) for i, raw in enumerate(side.raws(0))),
                    base, side.report)
    per_unit: dict[str, Decimal] = {}
    given: dict[str, list[int]] = {}  # currency -> the data rows giving it a rate
    base_at: list[int] = []  # the data rows giving the base a rate other than 1
    for i, raw in enumerate(side.raws(0)):
        if i in currency_at:
            continue
        try:
            currency = cells.parse_currency(raw, base)
        except cells.CellError as e:
            side.say("error", i, 0, RATES, e)
            continue
        rate = rates.get(i)
        if currency is None or rate is None:
            continue
        if rate <= 0:
            shown = side.raws(1)[i]
            side.say("error", i, 1, RATES, cells.CellError(
                "out_of_range", _("{shown} is no exchange rate: a rate is more than 0.", shown=cells.quoted(shown)),
                _("Write how many {base} one {currency} is worth, like {example}.", base=base, currency=currency,
                  example=cells.show_number(Decimal("1.08"), group=False, locale=locale)), shown))
            continue
        if currency == base and rate != 1:
            # `Rates.rate` takes the base as exactly itself: a row saying otherwise is ignored, and said.
            shown = side.raws(1)[i]
            side.say("warning", i, 1, RATES, cells.CellError(
                "out_of_range", _("{shown} is no rate for {base}, the base currency: one {base} is worth 1 {base}, so "
                                  "this row is ignored.", shown=cells.quoted(shown), base=base),
                _("Delete this row, or write 1; amounts in {base} need no rate.", base=base), shown))
            base_at.append(i)
            continue
        per_unit.setdefault(currency, rate)
        given.setdefault(currency, []).append(i)
    for currency, at in given.items():
        if len({rates[i] for i in at}) > 1:
            del per_unit[currency]
            _say_twice(side, RATES, 1, at, "duplicate_rate",
                       _("{currency} has more than one rate on this tab (rows {rows}): sheetcrm cannot tell which "
                         "holds, so amounts in {currency} are left out of summaries.",
                         currency=currency, rows=_rows(at)),
                       _("Keep one row per currency, with its rate today."))
    warned: dict[int, list[Issue]] = {}  # sheet row -> its warnings (a rate read one way, may mean another)
    for issue in side.report.issues:
        if issue.severity == "warning" and issue.row is not None:
            warned.setdefault(issue.row, []).append(issue)
    doubts = {currency: found for currency in per_unit
              if (found := tuple(i for at in given[currency] for i in warned.get(at + 2, ())))}
    # A base worth other than 1 here says the tab's rates may be per another currency: every
    # conversion through them is in doubt (`quotes.price_quote` asks the base's doubts of each).
    if ignored := tuple(i for at in base_at for i in warned.get(at + 2, ())):
        doubts[base] = ignored
    return Rates(base, per_unit, doubts, side.title)


def _rows(indices: list[int]) -> str:
    """Data rows (0-based, under the header) as the sheet numbers them: "2, 5"."""
    return ", ".join(str(i + 2) for i in indices)


def _say_twice(side: _Side, tab: OwnedTab, col: int, indices: list[int], code: str, message: str, hint: str) -> None:
    """An error at column `col` of each row in `indices`: rows that each give a value where the
    tab may hold only one."""
    for i in indices:
        side.say("error", i, col, tab, cells.CellError(code, message, hint, side.raws(col)[i]))


def _quotas(base: str, side: _Side, locale: str, sure: bool, unread: list[UnreadQuota] | None = None) -> list[Quota]:
    """A quota for each row with an owner, a month and a quota. A month or quota that cannot be
    read is reported at its cell and its row left out (no quota: no attainment, never a wrong one);
    so is a row with a month and a quota but no owner (`required`): a quota of nobody's, and one
    with an owner and a quota but no month (`required`). Two rows for one owner and month leave
    that month without the owner's quota, each reported (`duplicate_quota`): added up or one
    pasted twice, sheetcrm cannot tell. Each owner's row left out so goes to `unread`, with its
    month (None when the month is not known: it may be any month's), so that no total of the
    team's is summed without it (crm.forecast). Owners compare as people read them
    (`crm.spellings.key`: "ANA GARCÍA" is Ana García's quota). An owner who owns no deal on the
    Opportunities tab (a typo, or a row for the whole team) is a warning at the cell
    (`unknown_owner`) and the quota still counts, in the team's total too: a new rep's quota
    before their first deal is real."""
    side.place(QUOTAS)
    months, month_refused = _months(side, locale, sure)
    amounts = side.numbers(2, QUOTAS, "money", locale, sure, base)
    # A quota below 0 is a typo: used, it shows a negative attainment and a team's quota short
    # by it, with no word. Refused at its cell, as a deal's Amount below 0 is (records.DealAmount).
    quota_raws = side.raws(2)
    for i in [i for i, amount in amounts.items() if amount < 0]:
        del amounts[i]
        side.say("error", i, 2, QUOTAS, cells.CellError(
            "negative_amount", _("{shown} is a negative amount: a quota is 0 or more.", shown=cells.quoted(quota_raws[i])),
            _("Write the amount without a minus sign or parentheses."), quota_raws[i]))
    # A Currency column beside the quotas says what the figures are in: 5,000 in EUR read as 5,000
    # of the base is a quota wrong by the rate. Refused at its cell, as a quota formatted in
    # another currency is; the month is then without it (unread), never short of it.
    if (where := side.currency_column()) is not None:
        for i, row in enumerate(side.rows):
            if i not in amounts:
                continue
            raw = row[where] if where < len(row) else None
            try:
                code = cells.parse_currency(raw, base)
            except cells.CellError as e:
                del amounts[i]
                side.say_at("error", i, where, e)
                continue
            if code is not None and code != base:
                del amounts[i]
                side.say("error", i, 2, QUOTAS, cells.CellError(
                    "currency_conflict",
                    _("{shown} is in {currency}, but the {tab} tab is in the base currency, {base}.",
                      shown=cells.quoted(quota_raws[i]), currency=code, tab=side.title, base=base),
                    _("Write it in {base} (currency in sheetcrm.toml), without another currency.", base=base),
                    quota_raws[i]))
    # One quota merged over several rows (Ana's three months): each month's, or the quarter's
    # split? Read as each row's it tripled; refused at its cell, the months unread, said.
    side.refuse_merged(2, QUOTAS, amounts, lambda shown, first, last: cells.CellError(
        "merged_number",
        _("{shown} is merged over rows {first} to {last}: sheetcrm cannot tell whether it is each row's quota or "
          "their total, so these rows have no quota.", shown=shown, first=first, last=last),
        _("Unmerge the cells and type each row's own quota.")))
    amount_refused = side.unread(2, amounts)
    lost: list[UnreadQuota] = []
    found: dict[tuple[str, str], list[int]] = {}  # (owner as a person reads it, month) -> data rows
    owners: dict[int, str] = {}
    for i, raw in enumerate(side.raws(0)):
        owner, month, amount = cells.parse_text(raw), months.get(i), amounts.get(i)
        if not owner and month and amount is not None:
            side.say("error", i, 0, QUOTAS, cells.CellError(
                "required", _("This row has a quota of {amount} for {month} but no owner: it is nobody's quota, so it "
                              "counts nowhere.", amount=cells.show_number(amount), month=month),
                _("Write whose quota it is, as the Owner cells of the deals spell the name."), raw))
        if owner and month is None and i not in month_refused and amount is not None:
            side.say("error", i, 1, QUOTAS, cells.CellError(
                "required", _("This row gives {owner} a quota of {amount} but no month, so it counts in no month.",
                              owner=owner, amount=cells.show_number(amount)), _(_MONTH_HINT), None))
        if owner and month and amount is None and i not in amount_refused:
            # A row naming whose and when with no figure reads as a quota set; it is none (not 0).
            side.say("warning", i, 2, QUOTAS, cells.CellError(
                "required", _("This row gives {owner} no quota for {month}: its Quota is empty, so {owner} has no "
                              "quota that month.", owner=owner, month=month),
                _("Write the quota, or 0 if {owner} has none that month.", owner=owner), None))
        if owner and month and amount is not None:
            owners[i] = owner
            found.setdefault((owner_key(owner), month), []).append(i)
        elif owner and (amount is not None or i in amount_refused):
            # A quota sheetcrm cannot use: the month's (or, month unknown, every month's) total is unknown.
            lost.append(UnreadQuota(owner, month))
    quotas: list[Quota] = []
    for (_key, month), at in found.items():
        owner = owners[at[0]]
        if len(at) == 1:
            quotas.append(Quota(owner, month, amounts[at[0]]))
            continue
        lost.append(UnreadQuota(owner, month))
        _say_twice(side, QUOTAS, 2, at, "duplicate_quota",
                   _("{owner} has more than one quota for {month} on this tab (rows {rows}): sheetcrm cannot tell "
                     "whether they add up, so that month has no quota for {owner}.",
                     owner=owner, month=month, rows=_rows(at)),
                   _("Keep one row per owner and month, with the whole quota."))
    if side.deal_owners is not None:
        for i, owner in owners.items():
            if owner_key(owner) not in side.deal_owners:
                side.say("warning", i, 0, QUOTAS, cells.CellError(
                    "unknown_owner",
                    _("{owner} owns no deal on the {tab} tab: the quota counts, in the team's total too, with nothing "
                      "won against it.", owner=owner, tab=side.deals_title),
                    _("Write the owner as the Owner cells of the deals spell the name (case and spaces do not "
                      "matter). The team's quota is the sum of its owners': a row for the whole team counts "
                      "twice."), owners[i]))
    if unread is not None:
        unread.extend(lost)
    return quotas


_MONTH_HINT = N_("Write the month as year-month, like 2027-01, or any date in it.")


def _months(side: _Side, locale: str, sure: bool) -> tuple[dict[int, str], set[int]]:
    """The Month column by data row ("YYYY-MM"), and the data rows whose Month cell holds
    something that cannot be read as a month (each said at its cell). A month is written as
    `_month_text` reads it (2027-01, 01/2027, Jan 2027, enero de 2027) or as any date in the
    month, the dates read as the column writes them (day or month first: `columns.read_dates`)."""
    col = 1
    raws = side.raws(col)
    skip = side.formula_errors(col, QUOTAS)
    months: dict[int, str] = {}
    dates: list[Any] = []
    for i, raw in enumerate(raws):
        try:
            month = _month_text(raw) if isinstance(raw, str) and i not in skip else None
        except cells.CellError as e:
            side.say("error", i, col, QUOTAS, e)
            skip.add(i)
            month = None
        if month is not None:
            months[i] = month
        dates.append(None if month is not None or i in skip else raw)
    # On a Google spreadsheet whose locale orders day and month otherwise than the team, a
    # Month typed 01/02/2026 (February) is 2 January to Google: said at the cell as any date
    # column's (`date_order_differs`), never counted in a month guessed.
    reading = columns.read_dates(dates, locale, sure, side.grid.date1904, side.grid.locale, side.formats(col) or None)
    for finding in reading.findings:
        severity, error = finding.severity, finding.error
        if error.code in ("number_as_date", "early_date"):
            # A year typed alone (2026: 18 July 1905) placed the quota in a month of 1905, out of
            # every month shown, so the team's months were short of it with a warning about a date.
            severity, error = "error", cells.CellError(
                error.code, _("{shown} is a year or a day alone, or a date before 1950: no month a quota is for, "
                              "so this quota counts in no month.", shown=cells.quoted(error.raw)),
                _(_MONTH_HINT), error.raw)
        side.say(severity, finding.index, col, QUOTAS, error)
        if severity == "error":
            skip.add(finding.index)
    for i, raw in enumerate(dates):
        if i in skip or cells.is_blank(raw):
            continue
        try:
            read = reading.values.get(i)
            if isinstance(read, cells.CellError):
                raise read
            day = read.value if read is not None else cells.parse_date(raw, reading.locale)
        except cells.CellError as e:
            side.say("error", i, col, QUOTAS, cells.CellError(e.code, e.message, _(_MONTH_HINT), raw))
            continue
        if isinstance(day, dt.date):
            months[i] = month_key(day)
    return months, side.unread(col, months)


# A month by its number and a four-digit year, either first: 2027-01, 2027/1, 01/2027, 1.2027.
_YEAR_MONTH_RE = re.compile(r"(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})")
_MONTH_YEAR_RE = re.compile(r"(?P<m>\d{1,2})\s*[-/.]\s*(?P<y>\d{4})")
# A month by its name and a year (on `cells.normalize_key`'s text: "Dec-26" is "dec 26"):
# Jan 2027, January 2027, ene. 2027, enero de 2027, Dec-26.
_NAMED_MONTH_RE = re.compile(r"(?P<m>[a-z]+)\.?[ /.,]*(?:del? )?(?P<y>\d{4}|\d{2})")


def _month_text(raw: str) -> str | None:
    """The month ("YYYY-MM") a Month cell's text names, when it names a month rather than a day;
    None for any other text (a date, or nothing sheetcrm reads: `_months` parses it as a date).

    Raises `cells.CellError` ("ambiguous_date") for a month name with a two-digit number (Dec-26,
    dic-26): December 2026, or the 26th of December of a year it does not say (what Excel makes
    of "Dec-26" typed in a cell). A quota is never placed in a month guessed."""
    text = raw.strip()
    m = _YEAR_MONTH_RE.fullmatch(text) or _MONTH_YEAR_RE.fullmatch(text)
    if m is None:
        named = _NAMED_MONTH_RE.fullmatch(cells.normalize_key(text))
        number = cells.month_number(named["m"]) if named else None
        if named is None or number is None:
            return None
        if len(named["y"]) == 2:
            two = int(named["y"])
            month = f"{cells.parse_date(f'{number}/1/{two}', 'en'):%Y-%m}"  # the two-digit year as dates read it
            message = (_("{shown} may be the month {month} or day {day} of that month in a year it does not say: "
                         "sheetcrm does not guess, so this quota counts in no month.", shown=cells.quoted(raw),
                         month=month, day=two) if two <= 31 else
                       _("{shown} does not give its year in full: sheetcrm does not guess the century, so this "
                         "quota counts in no month.", shown=cells.quoted(raw)))
            raise cells.CellError("ambiguous_date", message,
                                  _("Write the month with its year in full, like {example}.", example=month), raw)
        return f"{int(named['y']):04d}-{number:02d}"
    if not 1 <= int(m["m"]) <= 12:
        return None
    return f"{int(m['y']):04d}-{int(m['m']):02d}"


_NOT_YET: Any = object()  # an amount not read yet (None is an empty cell's)


@dataclass(frozen=True)
class UnreadRow:
    """A history row that cannot be read: its sheet row (1-based), its cells as the tab holds
    them, the 0-based column of its first bad or empty required cell, and the cell's problem
    (`CellError.message`; None for an empty required cell)."""

    row: int
    cells: list[Any]
    column: int
    problem: str | None


def read_history(grid: Grid | None, locale: str, names: Mapping[str, str] | None,
                 unread: list[UnreadRow] | None = None, width: int = 5,
                 headers: Iterable[Sequence[str]] = ()) -> list[HistoryRow]:
    """Rows of a history tab (record, from, to, changed at, amount). Each row keeps its words as
    written; `names` (normalize_key(alias) -> canonical key) gives the keys they name, so a
    renamed or Spanish stage still continues its own history. A row that cannot be read (a
    damaged date, an empty Changed At) is not history: it goes to `unread`, so the caller keeps
    it and says so rather than a rewrite losing it; an empty row is nothing. Only the tab's
    `width` columns are its (5: Stage History; 4: Lead Status History, which has no Amount):
    the cells a person typed after them are theirs (`plan.with_their_columns`), never read.
    `headers`: the tab's header row in each language; with them, a row 1 that is not one of
    them is a row of history, and a row that is one elsewhere is skipped."""
    rows: list[HistoryRow] = []
    if grid is None or history_gone(grid, width, headers):
        # A column deleted: read by position, each cell after it landed in the field before it
        # (a date read as the To stage, an amount as the day), so the log is not read at all.
        return rows
    text, date, number, blank = cells.parse_text, cells.parse_date, cells.parse_amount, cells.is_blank
    # The tab's header row, in either language. A person who sorted the tab with its header
    # row in the range (or deleted the header row) left a change in row 1 and the header
    # among the rows: row 1 is then read as the change it is, never dropped as the header,
    # and the header's copy is no change (the rewrite puts the header back on row 1).
    heads = {tuple(cells.normalize_key(h) for h in labels[:4]) for labels in headers}
    where = history_columns(grid, width, headers)
    if where is not None:
        grid = dataclasses.replace(grid, rows=[[r[c] if c < len(r) else None for c in where] for r in grid.rows])
    # Row 1 is skipped as the header only when it is one (two of the tab's headers, or blank):
    # a change there whose Changed At is damaged or empty was dropped as if it were the header
    # and written over, without a word; read, it is kept and said as any unread row.
    start = 0 if heads and grid.rows and (_is_change(grid.rows[0], locale) or not (
        _held(grid.rows[0], headers, width) >= 2 or all(blank(v) for v in grid.rows[0]))) else 1
    keyed: dict[str, str | None] = {}  # _key of each word: a tab repeats a handful of stages
    # Each amount read once, by its cell's type and value: a deal's amount repeats on each of
    # its stage changes, and a Decimal each was 16 MB at 100k leads (Decimals are immutable).
    amounts: dict[tuple[type, Any], Decimal | None] = {}
    for sheet_row, raw in enumerate(grid.rows[start:], start + 1):
        if len(raw) != 5 or width != 5:
            raw = [*raw[:width], *[None] * (5 - min(len(raw), width))]
        if blank(raw[0]) and all(blank(v) for v in raw):
            continue
        if heads and isinstance(raw[3], str) and _is_header(raw, heads):
            continue
        column = 0
        try:
            record = text(raw[0])
            from_value = text(raw[1])
            to_value = text(raw[2])
            column = 3
            changed = raw[3]
            # A date cell is its date (parse_date's first answer); anything else is parsed.
            if type(changed) is not dt.date:
                changed = date(changed, locale)
            column = 4
            cell = raw[4]
            at = (cell.__class__, cell)
            amount = amounts.get(at, _NOT_YET)
            if amount is _NOT_YET:
                amount = amounts[at] = number(cell, locale)
        except cells.CellError as e:
            if unread is not None:
                unread.append(UnreadRow(sheet_row, list(grid.rows[sheet_row - 1][:width]), column, e.message))
            continue
        if record and to_value and changed:
            to_key = keyed.get(to_value)
            if to_key is None:
                to_key = keyed[to_value] = _key(to_value, names)
            from_key = keyed.get(from_value) if from_value is not None else None
            if from_key is None and from_value is not None:
                from_key = keyed[from_value] = _key(from_value, names)
            rows.append(HistoryRow(record, from_value, to_value, changed, amount, to_key=to_key, from_key=from_key))
        elif unread is not None:
            empty = next(c for c, v in ((0, record), (2, to_value), (3, changed)) if not v)
            unread.append(UnreadRow(sheet_row, list(grid.rows[sheet_row - 1][:width]), empty, None))
    return rows


def history_columns(grid: Grid | None, width: int, headers: Iterable[Sequence[str]]) -> tuple[int, ...] | None:
    """Where a history tab's `width` columns are (0-based, in sheetcrm's order) when a person
    moved them: a column inserted among them, or two swapped. Read by position, every row of
    the log was unreadable and each record started again as first seen today (Days in Stage
    from Created, the win rates without their past). Found by row 1 holding each of the tab's
    headers of one language (`headers`) once; None when they are where sheetcrm writes them,
    or not all there (then the tab is read by position, as written)."""
    if grid is None or not grid.rows:
        return None
    top = [cells.normalize_key(v) if isinstance(v, str) else None for v in grid.rows[0]]
    for labels in headers:
        wanted = [cells.normalize_key(h) for h in labels[:width]]
        if top[:width] == wanted:
            return None
        if all(top.count(w) == 1 for w in wanted):
            return tuple(top.index(w) for w in wanted)
    return None


def history_gone(grid: Grid | None, width: int, headers: Iterable[Sequence[str]]) -> tuple[int, ...]:
    """The tab's columns (0-based, sheetcrm's order) that its header row does not place: holding
    some of the tab's headers of one language (`headers`), it lacks these (deleted, or retyped)
    or has them twice (a copy). Its cells cannot be told apart then: read by position, each cell
    after a deleted column was read as the one before it. Empty when each is there once
    (`history_columns`), or only cleared over its own column (its cells still under it), or
    there is no header row at all (deleted: read by position, `read_history`). The header row
    is row 1, or, when a person sorted it into the rows, the row holding the headers; there
    the columns must be where sheetcrm writes them (`history_columns` reads row 1 only)."""
    if grid is None or not grid.rows:
        return ()
    labels = [[cells.normalize_key(h) for h in hs[:width]] for hs in headers]
    known = {w for wanted in labels for w in wanted}

    def keys(row: Sequence[Any]) -> list[str | None]:
        return [cells.normalize_key(v) if isinstance(v, str) else None for v in row]

    def held(row: Sequence[Any]) -> int:
        return sum(1 for v in row if isinstance(v, str) and cells.normalize_key(v) in known)

    top, sorted_in = keys(grid.rows[0]), False
    if held(grid.rows[0]) < 2:
        row = next((r for r in grid.rows[1:] if held(r) >= 2), None)
        if row is None:
            return _shifted(grid, width)
        top, sorted_in = keys(row), True
    for wanted in labels:
        count = [top.count(w) for w in wanted]
        if sum(1 for c in count if c) < 2:
            continue
        misplaced = tuple(i for i, w in enumerate(wanted) if count[i] == 1 and top.index(w) != i)
        bad = tuple(i for i, c in enumerate(count) if c != 1)
        if not bad:
            return misplaced if sorted_in else ()
        # A header cleared (its column's cells still there) is where it was; a header retyped
        # is not told from another column moved into its place (its own deleted), so it is not.
        cleared = all(count[i] == 0 and cells.is_blank(top[i] if i < len(top) else None) and any(
            i < len(row) and not cells.is_blank(row[i]) for row in grid.rows) for i in bad)
        return () if cleared and not misplaced else bad
    return ()


def has_header_row(grid: Grid | None, width: int, headers: Iterable[Sequence[str]]) -> bool:
    """Whether some row of a history tab holds two or more of its headers (`history_gone`'s
    header row: row 1, or a row a person sorted it into)."""
    headers = list(headers)
    return grid is not None and any(_held(row, headers, width) >= 2 for row in grid.rows)


def _held(row: Sequence[Any], headers: Iterable[Sequence[str]], width: int) -> int:
    """How many of a history tab's headers (`headers`, each language's) `row` holds."""
    known = {cells.normalize_key(h) for hs in headers for h in hs[:width]}
    return sum(1 for v in row if isinstance(v, str) and cells.normalize_key(v) in known)


def _shifted(grid: Grid, width: int) -> tuple[int, ...]:
    """With no header row left to place them (deleted, then a column deleted too), the columns
    whose cells are not of their kind where sheetcrm reads them by position: a date or a number
    as From or To (the Changed At or Amount of a column deleted before them), a number that is
    no day as Changed At (the Amount, Changed At deleted: 1000 read as 1902-09-26), no Changed
    At in any row. Such rows were read shifted without a word; `history_gone` then stops the
    tab. Empty when every row is of its kind (the header row alone deleted: read by position,
    `read_history`). A text, or a row's one empty cell, is no evidence either way: that row's
    own problem (`history_row_unread`)."""
    bad: set[int] = set()
    for row in grid.rows:
        for col in (1, 2):
            v = row[col] if col < len(row) else None
            if isinstance(v, (dt.date, int, float, Decimal)):
                bad.add(col)
        v = row[3] if 3 < len(row) else None
        # Google gives a date as its serial number (an .xlsx read gives a date as a date).
        if isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) and not (
                grid.locale is not None and _SERIAL_DAYS[0] <= v < _SERIAL_DAYS[1]):
            bad.add(3)
        if width == 5 and isinstance(row[4] if 4 < len(row) else None, dt.date):
            bad.add(4)
    # sheetcrm dates every change: rows with no Changed At at all are a tab whose Changed At was
    # deleted (Lead Status History's last column), each otherwise logged again as first seen today.
    if any(not cells.is_blank(v) for row in grid.rows for v in row[:width]) and all(
            cells.is_blank(row[3] if 3 < len(row) else None) for row in grid.rows):
        bad.add(3)
    return tuple(sorted(bad))


# The serial numbers Google gives a date as that a history can hold: 1950-01-01 to 2099-12-31.
_SERIAL_DAYS = (18264, 73051)


def _is_change(raw: Sequence[Any], locale: str) -> bool:
    """Whether a history tab's row 1 is a change rather than a header: it names a record and
    its Changed At reads as a date, which no header does."""
    if len(raw) < 4 or cells.is_blank(raw[0]) or cells.is_blank(raw[3]):
        return False
    try:
        return bool(cells.parse_date(raw[3], locale))
    except cells.CellError:
        return False


def _is_header(raw: Sequence[Any], heads: set[tuple[str, ...]]) -> bool:
    """Whether a history row's first four cells (record, From, To, Changed At) are the tab's
    header in one of `heads` (normalized)."""
    return tuple(cells.normalize_key(v) if isinstance(v, str) else None for v in (*raw[:4], None, None, None, None)[:4]) in heads


def _key(text: str | None, names: Mapping[str, str] | None) -> str | None:
    if text is None or names is None:
        return text
    return names.get(cells.normalize_key(text), text)


def _grid(snapshot: Snapshot, tab: OwnedTab) -> Grid | None:
    return _located(snapshot, tab)[1]


def _located(snapshot: Snapshot, tab: OwnedTab) -> tuple[str, Grid | None]:
    """(the tab's title, its grid; None when the workbook has no such tab). sheetcrm's own tabs
    by their mark (a team's "Stage History" is not history); input tabs people make (Rates,
    Quotas) by name."""
    title = owned_title(snapshot, tab) if tab.key in OWNED_TABS else find_tab(list(snapshot.tabs), owned_tab_names(tab))
    return (title, snapshot.tabs.get(title)) if title else (tab.title, None)


# The Duplicates tab's columns, in order (names.py OWNED["duplicates"]).
DUPLICATE_KEYS = ("group", "score", "reasons", "tab", "id", "name", "email", "phone", "company", "created", "keep",
                  "merge", "not_duplicates")
TICKS = ("keep", "merge", "not_duplicates")


class RowCells(Mapping[str, CellValue]):
    """A row's cells by key (key -> 0-based column; None past the row's end), read from the
    row as the grid holds it: a view, not a dict per row, since the Duplicates tab has a row
    for each record in a group (12.7k at 10k leads, 70 MB of dicts at 100k)."""

    __slots__ = ("_cells", "_columns")

    def __init__(self, cells_: Sequence[CellValue], columns: Mapping[str, int]) -> None:
        self._cells, self._columns = cells_, columns

    def __getitem__(self, key: str) -> CellValue:
        col = self._columns[key]
        return self._cells[col] if col < len(self._cells) else None

    def __iter__(self) -> Any:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass(frozen=True, slots=True)
class DuplicateRow:
    """One row of the Duplicates tab as read: its 1-based row, Group, ID, every cell by key
    (as typed: the tab is rewritten with them), and the ticks."""

    row: int
    group: str
    id: str
    cells: Mapping[str, CellValue]
    keep: bool
    merge: bool
    not_duplicates: bool


@dataclass
class DuplicatesTab:
    rows: list[DuplicateRow] = field(default_factory=list)   # the rows naming a group and an ID, in sheet order
    issues: list[Issue] = field(default_factory=list)        # a tick that reads as neither yes nor no, each
    marked: bool = False   # the tab carries sheetcrm's mark (an adopted one does not yet): only then may ticks merge
    title: str = ""        # the tab's title, and each key's 0-based column as read (issues name their cells)
    columns: dict[str, int] = field(default_factory=dict)
    # sheetcrm's columns the header row does not place once (deleted, retyped, copied), while it
    # holds others of them: ticks under them cannot be read, nor the tab written by position.
    gone: tuple[str, ...] = ()

    def where(self) -> tuple[int, ...] | None:
        """Where sheetcrm's columns are (0-based, in its order) when a person moved them or put
        one of theirs among them, as the header row says (in either language, as read); None
        when they are where sheetcrm writes them, or not all placed (`gone`)."""
        if self.gone or len(self.columns) != len(DUPLICATE_KEYS):
            return None
        at = tuple(self.columns[key] for key in DUPLICATE_KEYS)
        return None if at == tuple(range(len(at))) else at


def read_duplicates(snapshot: Snapshot, locale: str) -> DuplicatesTab:
    """sheetcrm's Duplicates tab (by its mark, `owned.locate`), headers matched in English or
    Spanish so a team that switched language keeps its ticks. A tick cell that is neither yes
    nor no (`cells.parse_bool`: TRUE, x, sí, yes...) reads as not ticked and is an issue: a
    merge happens only when asked clearly. The one reader of the tab: the duplicates step
    carries its ticks over, the merge step (`merging.ticked_groups`) acts on them."""
    place = locate(snapshot, DUPLICATES, locale)
    grid = snapshot.tabs.get(place.title) if place.exists else None
    if grid is None or not grid.rows:
        return DuplicatesTab()
    names = {cells.normalize_key(h): key for key, en, es in zip(DUPLICATE_KEYS, DUPLICATES.headers,
                                                               DUPLICATES.headers_es) for h in (en, es)}

    def keys(row: Sequence[CellValue]) -> list[str | None]:
        return [names.get(cells.normalize_key(raw)) if isinstance(raw, str) else None for raw in row]

    # The header row is row 1, or, when a person sorted the whole tab (header included), the row
    # holding the headers: read from row 1 alone, no cell of a row was found, and the rewrite
    # wrote every tick over (Keep, Merge and Not duplicates lost without a word).
    head = 0 if any(keys(grid.rows[0])) else next(
        (r for r, row in enumerate(grid.rows) if sum(1 for k in keys(row) if k) >= 2), None)
    seen = Counter(k for k in keys(grid.rows[head]) if k) if head is not None else Counter()
    columns: dict[str, int] = {}
    for col, key in enumerate(keys(grid.rows[head]) if head is not None else ()):
        if key:
            columns.setdefault(key, col)
    # No header anywhere while rows hold cells: nothing tells which column holds a tick.
    typed = head is None and any(not cells.is_blank(v) for row in grid.rows for v in row)
    gone = tuple(key for key in DUPLICATE_KEYS if seen[key] != 1) if seen or typed else ()
    out = DuplicatesTab(marked=place.title in snapshot.owned, title=place.title, columns=columns, gone=gone)
    if "group" not in columns or "id" not in columns:
        return out
    group_col, id_col = columns["group"], columns["id"]
    for index, raw_row in enumerate(grid.rows, start=1):
        if index - 1 == head:
            continue
        width = len(raw_row)
        values = RowCells(raw_row, columns)
        group = raw_row[group_col] if group_col < width else None
        rid = raw_row[id_col] if id_col < width else None
        group = "" if group is None else str(group).strip()
        rid = "" if rid is None else str(rid).strip()
        if not group or not rid:
            continue
        ticks = {}
        for key in TICKS:
            tick = values.get(key)
            if tick is None:  # most rows: no tick typed (parse_bool's first answer)
                ticks[key] = False
                continue
            try:
                ticks[key] = bool(cells.parse_bool(tick))
            except cells.CellError as e:
                ticks[key] = False
                header = DUPLICATES.display_headers(locale)[DUPLICATE_KEYS.index(key)]
                out.issues.append(Issue("warning", place.title, index, column_letter(columns[key] + 1), header,
                                        values.get(key), e.code, e.message, e.hint))
        out.rows.append(DuplicateRow(index, group, rid, values, **ticks))
    return out
def respell_duplicates(tab: DuplicatesTab, tables: Mapping[str, Any]) -> None:
    """Each row's ID of the Duplicates tab as the record's row spells it now (`cells.id_spelling`
    over Leads, Contacts and Accounts: IDs compare as every reference does), so a record whose ID
    was retyped "lead-0001" over LEAD-0001 keeps its group's ticks, Not duplicates included,
    and a Merge finds it. Its cells (what the tab is rewritten with) keep the ID as written."""
    spell = cells.id_spelling(r.id for key in ("leads", "contacts", "accounts")
                              if (table := tables.get(key)) is not None for r in table.rows if r.id)
    tab.rows = [row if (rid := spell(row.id)) == row.id else dataclasses.replace(row, id=rid) for row in tab.rows]


def read_conversions(tables: Mapping[str, Any], locale: str) -> Conversions:
    """Earlier conversions, from sheetcrm's recorded columns (names.RECORDED): each lead row's
    Converted Account / Contact / Opportunity / On, and the rows of Accounts, Contacts and
    Opportunities whose From Lead names a lead, and the activities whose Copied From names the
    activity they copy. `tables` are the read's (`table.Table` by tab
    key). A Converted On that is not a date reads as None (the link still counts).
    Each ID these cells name is the record's as its row spells it now (`cells.id_spelling`: IDs
    compare as every reference does), so a lead, account or activity whose ID was retyped in
    another case ("lead-0001" over LEAD-0001) is still the one converted or copied, never
    converted or copied again; an ID that names no row is kept as written (a link "gone")."""
    found = Conversions()
    spell = {key: cells.id_spelling(r.id for r in table.rows if r.id) if (table := tables.get(key)) is not None
             else (lambda text: text) for key in ("leads", "accounts", "contacts", "opportunities", "activities")}

    def named(key: str, raw: Any) -> str | None:
        text = cells.parse_text(raw)
        return spell[key](text) if text else text
    leads = tables.get("leads")
    if leads is not None:
        cols = [leads.header.computed.get(key) for key in ("converted_account", "converted_contact",
                                                            "converted_opportunity", "converted_on")]
        for row in [*leads.rows, *leads.leftovers]:
            width = len(row.cells)
            account, contact, opportunity, day = (row.cells[c] if c is not None and c < width else None for c in cols)
            if account is None and contact is None and opportunity is None and day is None:
                continue  # most leads were never converted: nothing to read
            try:
                on = cells.parse_date(day, locale)
            except cells.CellError:
                on = None
            links = Converted(row.row, row.id, named("accounts", account), named("contacts", contact),
                              named("opportunities", opportunity), on)
            if links.account or links.contact or links.opportunity or links.on:
                found.links[row.row] = links
    for key in ("accounts", "contacts", "opportunities"):
        table = tables.get(key)
        col = table.header.computed.get("lead") if table is not None else None
        if col is None:
            continue
        by_lead = found.from_lead.setdefault(key, {})
        made = found.made.setdefault(key, {})
        for row in table.rows:
            lead = named("leads", row.cells[col]) if col < len(row.cells) else None
            if lead and row.id:
                by_lead.setdefault(lead, row.id)
                made.setdefault(lead, set()).add(row.id)
    activities = tables.get("activities")
    col = activities.header.computed.get("copy_of") if activities is not None else None
    if col is not None:
        for row in activities.rows:
            original = named("activities", row.cells[col]) if col < len(row.cells) else None
            if original and row.id:
                found.copied.setdefault(original, row.id)
    return found


def read_segments(snapshot: Snapshot, ctx: ParseContext, report: Report) -> Table | None:
    """The team's Segments tab (Name, Record, Conditions), read like a CRM tab when the
    workbook has one; no "missing tab" warning: segments are optional (crm/segments.py)."""
    title = find_tab(list(snapshot.tabs), tab_names(SEGMENTS, None))
    return parse_table(SEGMENTS, title, snapshot.tabs[title], TabSettings(), ctx, report) if title else None
