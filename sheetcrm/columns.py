"""How a column is read: the conventions its cells share, inferred from all of them.

A cell alone cannot say whether "12.500" is twelve thousand five hundred or twelve and a
half, whether "03/12/2026" falls in March or in December, or whether a bare 1 under
Probability is 1 % or 100 %. Its column usually can. The first of these that decides wins:

1. the column's own cells: each cell that only one convention reads as written ("1.234,50",
   "13/02/2026", 0.35 among percentages) votes; the majority wins, and every cell that proves
   the other convention is an error ("mixed_convention"), never a silent 1000x;
2. for money and whole numbers only, cells like "12.500" or "$1,200": money has no third
   decimal (unless its currency has: KWD, BHD, OMR, JOD, TND, LYD) and a count no fraction,
   so they vote for reading the separator as thousands;
3. the locale the config sets, when it sets one;
4. the tab's language (Spanish tab title or headers mean "es");
5. "en".

Another column never chooses how a column reads: "1,500.50" under Fee says nothing of how the
team typed "1.000" under Units. It only unsettles it (`tab_contradicts`): when another column
of the same kind proves the other convention than 3 or 4, nothing but the column's own cells
settles it.

A cell that is ambiguous on its own is read by the column's convention and reported as a
warning with both readings, unless the convention is settled: proved by the column's cells
(1), or set by the config (3) that no other column of its tab contradicts, or voted by 2 and
agreeing with 3 or 4. An amount that the settled convention reads with three decimals is
reported all the same.

Pure: cells in, a reading out; `table.py` pins each finding to its sheet cell.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Callable, Collection, Iterable, Mapping, Sequence

from sheetcrm import cells
from sheetcrm.cells import CellError, RawCell
from sheetcrm.i18n import N_, _

# Column kinds whose ambiguous cells vote for the thousands reading (rule 2).
THOUSANDS_KINDS = frozenset({"money", "integer"})

_ORDER_NAMES = {"en": N_("month first"), "es": N_("day first")}
ORDER_NAMES = _ORDER_NAMES  # how a message names a day/month order (a form's response time says it too)
_DECIMAL_NAMES = {"en": N_("a period"), "es": N_("a comma")}
_OTHER = {"en": "es", "es": "en"}


@dataclass(frozen=True)
class Finding:
    """A problem with one cell of the column; `index` is its position in the cells given."""

    index: int
    severity: str  # "error" or "warning"
    error: CellError


@dataclass
class Reading:
    """How a column is read. `locale` is the locale whose reading the column follows (for a
    number column: "en" decimal point, "es" decimal comma; for dates: month or day first),
    `sure` whether its cells or the config settled it, `findings` the cells to report and,
    for errors, the cells that cannot be used."""

    locale: str
    sure: bool
    findings: list[Finding] = field(default_factory=list)
    # Cells read here rather than by the record validators: index -> Read or CellError.
    values: dict[int, cells.Read | CellError] = field(default_factory=dict)


def _decide(proofs: Counter[str], suggestions: Counter[str], fallback: str, fallback_sure: bool,
            contradicted: bool = False) -> tuple[str, bool]:
    if proofs:
        ranked = proofs.most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            # A tie: the config or the tab decides, and the others are errors. Only the config
            # settles it: the tab's language (or "en") is a guess, so each ambiguous cell is said
            # with both readings ("1.250" among one "1,5" and one "2.5" may be 1250 or 1.25).
            return fallback, fallback_sure and not contradicted
        locale = ranked[0][0]
        # The cells' proof settles the column ("25.000,00 €" makes "12.500 €" 12500, unsaid),
        # but not against the locale the config sets: a "0,925" typed in a column of a team
        # that said "en" still reads the column its way, and says each cell it may misread
        # ("1,200" read as 1.2; could be 1200).
        return locale, locale == fallback or not fallback_sure
    if suggestions:
        ranked = suggestions.most_common()
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            locale = ranked[0][0]
            # Two independent signs that agree (the cells' shape and the config or the tab's
            # language) settle it; a fallback the tab's other columns contradict is no such sign
            # ("19.995" under Unit Price beside a "1,5" Quantity reads 19995, said).
            return locale, locale == fallback and len(ranked) == 1 and not contradicted
    return fallback, fallback_sure and not contradicted


def proven(raws: Sequence[RawCell], kind: str, formats: Mapping[int, str] | None = None) -> str | None:
    """The convention a column's own cells prove (rule 1): "en" or "es", the day/month order of
    a "date" or "datetime" column (its text dates, and its .xlsx date cells' `formats`:
    `shown_orders`), the decimal separator of a "number", "money" or "integer" one; None when
    its cells prove none, or both as often."""
    style = {"date": cells.date_style, "datetime": cells.date_style}.get(
        kind, cells.separator_style if kind in ("number", "money", "integer") else None)
    if style is None:
        return None
    votes = Counter(p for p, _ in map(style, raws) if p)
    if style is cells.date_style:
        votes.update(shown_orders(raws, formats))
    ranked = votes.most_common(2)
    if not ranked or len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def shown_orders(raws: Sequence[RawCell], formats: Mapping[int, str] | None) -> list[str]:
    """The day/month order each date cell's format shows (`formats`: index -> pattern, .xlsx's
    `Grid.date_formats`; `cells.shown_order`). A date cell shown `dd/mm/yyyy` shows the person
    the column's order as plainly as a typed "13/02/2026" does. Not Google's: its date formats
    follow the spreadsheet's own locale, not the team's (see `read_dates`)."""
    return [order for index, pattern in (formats or {}).items()
            if index < len(raws) and isinstance(raws[index], dt.date) and (order := cells.shown_order(pattern))]


def tab_contradicts(proofs: Collection[str], fallback: str) -> bool:
    """Whether the tab's other columns of the same kind prove (`proven`) another convention than
    `fallback`, the config's locale or the tab's language (a `13/02/2026` under Created in a team
    that set `en`). A column whose cells prove nothing still reads by `fallback`: another
    column's cells say how that column was typed, not this one ("1,500.50" under Fee beside
    "1.000" under Units, locale "es": Units' 1.000 is 1000). But the config no longer settles
    it, so each of its ambiguous cells is said with both readings."""
    return bool(set(proofs) - {fallback})


def _shown(value: object) -> str:
    """A number read from a cell, as the current language writes numbers ("12,5" in es)."""
    if isinstance(value, (Decimal, int)):
        return cells.show_number(value, group=False)  # separators are what the message is about
    return str(value)


def read_numbers(raws: Sequence[RawCell], kind: str, fallback: str, fallback_sure: bool,
                 parse: Callable[[RawCell, str], object], three_decimals: Collection[int] = (),
                 contradicted: bool = False) -> Reading:
    """The decimal convention of a number column (`kind` "number", "money", "integer" or
    "percent"). `parse(raw, locale)` reads one cell, to show a warning's two readings.
    `three_decimals` are the money cells whose currency has three decimals (KWD, BHD, OMR…):
    "1.234" there may well be 1.234, so rule 2 does not apply to them. `contradicted`: the
    tab's other columns prove the other convention than `fallback` (`tab_contradicts`), so
    nothing but the column's own proof settles it."""
    styles = [cells.separator_style(raw) for raw in raws]
    proofs = Counter(p for p, _ in styles if p)
    suggestions = Counter(s for i, (_, s) in enumerate(styles) if s and i not in three_decimals) \
        if kind in THOUSANDS_KINDS else Counter()
    locale, sure = _decide(proofs, suggestions, fallback, fallback_sure, contradicted)
    reading = Reading(locale, sure)
    other = "es" if locale == "en" else "en"
    # The column's own cells prove its convention (more of them than the other one).
    proven_here = proofs[locale] > proofs[other]
    thousands = [kind in THOUSANDS_KINDS and i not in three_decimals for i in range(len(raws))]  # rule 2 applies
    for index, (proves, suggests) in enumerate(styles):
        raw = raws[index]
        if proves and proves != locale:
            reading.findings.append(Finding(index, "error", CellError(
                "mixed_convention",
                # "1,000,000" has no decimals to write: it is its thousands that follow the other way.
                _("{shown} separates thousands with {separator}, but this column writes decimals with it, so it "
                  "cannot be read with confidence.", shown=cells.quoted(raw), separator=_(_DECIMAL_NAMES[locale]))
                if cells.groups_only(raw) else
                _("{shown} writes decimals with {separator}, but this column writes them with {column}, so it "
                  "cannot be read with confidence.", shown=cells.quoted(raw), separator=_(_DECIMAL_NAMES[proves]),
                  column=_(_DECIMAL_NAMES[locale])),
                _("Write it the way the rest of the column does, or as a plain number like {example}.",
                  example=cells.show_number(Decimal("1234.5"), False, locale)), raw)))
        # Even in a settled column, money read with three decimals ("12.500" among "1,234.50") is
        # more likely a thousands separator typed the other way: both readings are shown. An
        # amount or count whose thousands reading is the one its column's cells prove ("2.000"
        # among "1.234,50") is that, even against the config's locale: the other reading would
        # take "." for the decimal point, which the column's own cells rule out, and give money
        # a third decimal.
        elif suggests and (thousands[index] and suggests != locale or not sure and not (thousands[index] and proven_here)):
            try:
                read, could = parse(raw, locale), parse(raw, other)
            except CellError:
                continue  # only one reading makes sense for this column: nothing to warn about
            if read != could:
                fmt = {"whole": "12500", "fraction": cells.show_number(Decimal("12.5"), False, locale),
                       "column": _(_DECIMAL_NAMES[locale])}
                reading.findings.append(Finding(index, "warning", CellError(
                    "ambiguous_number",
                    _("{shown} read as {read}; could be {could}.", shown=cells.quoted(raw), read=_shown(read),
                      could=_shown(could)),
                    # A column whose cells prove its separator still doubts money with three decimals.
                    _("This column writes decimals with {column}, but an amount rarely has three decimals: write "
                      "the number without thousands separators ({whole} or {fraction}).", **fmt)
                    if proofs.get(locale) and kind == "money" else
                    _("This column writes decimals with {column}, as its other cells show, but the locale in "
                      "sheetcrm.toml writes them with {config}: write the number without thousands separators "
                      "({whole} or {fraction}).", config=_(_DECIMAL_NAMES[fallback]), **fmt)
                    if fallback_sure and proofs.get(locale) and locale != fallback else
                    # With locale set, "set locale in sheetcrm.toml" sends the reader to what is done:
                    # say what unsettles it instead.
                    _("Another column of this tab writes decimals with {other}, though the locale in sheetcrm.toml "
                      "writes them with {config}, as this column is read: write the number without thousands "
                      "separators ({whole} or {fraction}).", other=_(_DECIMAL_NAMES[_OTHER[fallback]]),
                      config=_(_DECIMAL_NAMES[fallback]), **fmt)
                    if fallback_sure and contradicted else
                    _("The locale in sheetcrm.toml writes decimals with {config}, but amounts and whole numbers "
                      "rarely have three decimals, and this column's cells do not show which separator is the "
                      "decimal one: write the number without thousands separators ({whole} or {fraction}).",
                      config=_(_DECIMAL_NAMES[fallback]), **fmt)
                    if fallback_sure else
                    _("Nothing else in this column shows which separator is the decimal one: write the number "
                      "without thousands separators ({whole} or {fraction}), or set locale in sheetcrm.toml.",
                      **fmt), raw)))
    return reading


def read_dates(raws: Sequence[RawCell], fallback: str, fallback_sure: bool, date1904: bool = False,
               typed: str | None = None, formats: Mapping[int, str] | None = None,
               contradicted: bool = False) -> Reading:
    """The day/month order of a date column, and where its two-digit years stand.

    `typed` is the spreadsheet's own locale (`Grid.locale`: Google's, "en_US"), which Google
    reads typed dates in before sheetcrm sees them. Where its day/month order is not the
    column's, a date cell whose day and month could be either (3 April or 4 March: both 12 or
    less, and not the same) may have been typed in the column's order and turned by Google:
    it is a "date_order_differs" error at the cell, read neither way. A date with a day above
    12 is not: Google makes a date of text only in its own order, and keeps "13/04/2026" as
    text, which is read in the column's order. `formats` gives the number-format pattern of
    the date cells whose format was read (index -> "M/d/yyyy"): one shown year first or with
    the month's name ("yyyy-mm-dd", "d mmm yyyy") was not typed day/month, and is read as
    Google holds it, and so is a cell `formats` leaves out (its format is no date's); with no
    formats read a date is said at the cell all the same. A column whose order is only the
    fallback's guess (no locale in the config, no text date of its own proving it) is read as
    Google holds it: nothing says its people type in another order than their spreadsheet's.

    On .xlsx (no `typed`), `formats` holds the date cells whose format shows the day and the
    month as numbers (`dd/mm/yyyy`): each is a proof of the order it shows, as a text date
    like "13/02/2026" is, since that is the order a person reading the column sees.

    With `date1904` (a workbook in the 1904 date system: `Grid.date1904`) a plain number is a
    serial from 1904-01-01: each is read here (`values`, or its error), so no later parse
    takes it from 1899-12-30.

    "26-02-01" is 2001-02-26 day first with the year last, or 2026-02-01 with the year first
    (YY-MM-DD). The column settles that too: a two-digit-year cell that only one position
    reads ("03-15-24": no 15th month; "45-02-01": no 45th day) proves it. Unsettled, a cell
    both positions read is read year last in the column's order (year first when only that
    reads it) and reported with every reading."""
    year_first = {i: d for i, raw in enumerate(raws) if (d := cells.year_first_date(raw)) is not None}
    two_digit = {i for i, raw in enumerate(raws) if i in year_first or _two_digit_year(raw)}
    lasts = {i: (cells.year_last_date(raws[i], "en"), cells.year_last_date(raws[i], "es")) for i in two_digit}
    proves_last = any(i not in year_first and any(lasts[i]) for i in two_digit)
    proves_first = any(i in year_first and not any(lasts[i]) for i in two_digit)
    position = "last" if proves_last and not proves_first else "first" if proves_first and not proves_last else None

    styles = [cells.date_style(raw) for raw in raws]
    proofs = Counter(p for p, _ in styles if p)
    if typed is None:
        proofs.update(shown_orders(raws, formats))
    locale, sure = _decide(proofs, Counter(), fallback, fallback_sure, contradicted)
    reading = Reading(locale, sure)
    other = "es" if locale == "en" else "en"
    small = _SMALL_SERIAL - (cells.DAYS_1904 if date1904 else 0)
    google_order = cells.typed_order(typed)
    turned = google_order is not None and google_order != locale
    for index, (proves, ambiguous) in enumerate(styles):
        raw = raws[index]
        if date1904 and raw.__class__ in (int, float):
            try:
                reading.values[index] = cells.Read(cells.parse_date(raw, locale, date1904), raw)
            except CellError as e:
                reading.findings.append(Finding(index, "error", e))
                continue
        if raw.__class__ in (int, float) and 1 <= raw < small:
            reading.findings.append(Finding(index, "warning", CellError(
                "number_as_date",
                _("{shown} is a plain number, read as the date {read} (the day a spreadsheet numbers {shown}).",
                  shown=cells.show_number(raw, group=False), read=cells.parse_date(raw, locale, date1904)),
                _(_WHOLE_DATE), raw)))
            continue
        # Only where the column's order is known (the team's locale, or its own text dates: a
        # team with neither on a spreadsheet of the other order typed in Google's order, or all
        # its early-month dates would be refused), and not a cell whose format was read and
        # shows no day/month date (year first, the month's name, or no date format at all).
        pattern = formats.get(index) if formats else None
        doubtful = cells.shows_day_and_month(pattern) if pattern is not None \
            else not formats and raw.__class__ in (int, float)
        if turned and sure and doubtful and (error := _turned_date(raw, typed, locale, pattern is not None)) is not None:
            reading.findings.append(Finding(index, "error", error))
            continue
        if isinstance(raw, dt.date) and _day_of(raw) < _EARLY:
            reading.findings.append(Finding(index, "warning", CellError(
                "early_date",
                _("{read} is a date before 1950: a year or a day typed alone into a date cell shows as one "
                  "(2026 as 1905-07-18).", read=_day_of(raw)),
                _(_WHOLE_DATE), raw)))
        if index in year_first and position != "last":
            first = year_first[index]
            if position == "first":
                reading.values[index] = cells.Read(first, raw)
                continue
            read = lasts[index][0 if locale == "en" else 1]
            swapped = None if sure else lasts[index][1 if locale == "en" else 0]  # the other day/month order
            readings = [d for d in (first, swapped) if d is not None]
            if read is None:
                read = readings.pop(0)
                reading.values[index] = cells.Read(read, raw)
            could = [d for d in dict.fromkeys(readings) if d != read]
            if could:
                reading.findings.append(Finding(index, "warning", CellError(
                    "ambiguous_date",
                    _("{shown} read as {read}; could be {could} (a two-digit year may stand first or last).",
                      shown=cells.quoted(raw), read=read, could=_(" or ").join(map(str, could))),
                    _("Write the year with four digits, as year-month-day (2026-02-01)."), raw)))
            continue
        if proves and proves != locale:
            try:
                cells.parse_date(raw, proves)
            except CellError as e:  # no day either way round ("29/02/2025"): no date, whatever the order
                reading.findings.append(Finding(index, "error", e))
                continue
            reading.findings.append(Finding(index, "error", CellError(
                "mixed_convention",
                _("{shown} is written {order}, but this column writes dates {column}, so it cannot be read with "
                  "confidence.", shown=cells.quoted(raw), order=_(_ORDER_NAMES[proves]),
                  column=_(_ORDER_NAMES[locale])),
                _("Write it the way the rest of the column does, or as 2026-12-03 (year first)."), raw)))
        elif ambiguous and not sure:
            read, could = cells.parse_date(raw, locale), cells.parse_date(raw, other)
            reading.findings.append(Finding(index, "warning", CellError(
                "ambiguous_date",
                _("{shown} read as {read} ({order}); could be {could}.", shown=cells.quoted(raw), read=read,
                  order=_(_ORDER_NAMES[locale]), could=could),
                # The column's own dates prove its order against the config's locale: saying that
                # nothing shows the order, and to set the locale that is set, sent the reader wrong.
                _("This column writes dates {column}, as its other cells show, but the locale in sheetcrm.toml "
                  "writes them {config}: write it as year-month-day (2026-12-03).",
                  column=_(_ORDER_NAMES[locale]), config=_(_ORDER_NAMES[fallback]))
                if fallback_sure and proofs.get(locale) and locale != fallback else
                _("Another column of this tab writes dates {other}, though the locale in sheetcrm.toml writes them "
                  "{config}, as this column is read: write it as year-month-day (2026-12-03).",
                  other=_(_ORDER_NAMES[_OTHER[fallback]]), config=_(_ORDER_NAMES[fallback]))
                if fallback_sure else
                _("Nothing else in this column shows whether dates are written day or month first: write it "
                  "as year-month-day (2026-12-03), or set locale in sheetcrm.toml."), raw)))
    return reading


# A date cell is a number in a spreadsheet (days since 1899-12-30), and a Google read gives
# every date so. One below this (1950-01-01) is a date no CRM record has, but is what a year
# (2026 is 1905-07-18) or a day of the month (15 is 1900-01-14) typed alone reads as: said at
# the cell, still read. An .xlsx date cell reads as a date, never as a number.
_SMALL_SERIAL = 18264
_EARLY = dt.date(1950, 1, 1)  # the same day, for a date cell: what a year typed into one shows
_WHOLE_DATE = N_("A year or a day alone is not a date: type the whole date, as 2026-12-03.")


def _turned_date(raw: int | float | dt.date, typed: str, locale: str, format_read: bool = True) -> CellError | None:
    """The "date_order_differs" error of a date (`raw`: a serial, or a date) that Google may have read in
    the other day/month order than the column's (`read_dates`), or None when it cannot
    have: its day is above 12, or the same as its month, or it is no date. `format_read`: whether
    the cell's number format was read (shows day and month); if not, what the cell shows is
    unknown, and the error names the value read, not a text made up from it."""
    try:
        read = cells.parse_date(raw, locale)
    except CellError:
        return None  # not a date at all: the column's read says so
    if read < _EARLY:
        return None  # a year or a day alone (`number_as_date`, `early_date`), no typed date
    if read.day > 12 or read.day == read.month:
        return None
    could = read.replace(day=read.month, month=read.day)
    google = cells.typed_order(typed)
    if not format_read:
        return CellError(
            "date_order_differs",
            _("This cell holds {value}, the date {read} to Google, which reads dates typed in this spreadsheet "
              "{google} (its locale is {typed}), but this column writes dates {column}: it may mean {could}.",
              value=cells.quoted(raw if isinstance(raw, dt.date) else cells.show_number(raw, group=False)),
              read=read, google=_(_ORDER_NAMES[google]), typed=typed, column=_(_ORDER_NAMES[locale]), could=could),
            _(_TURNED_HINT), raw)
    # As the spreadsheet shows a typed date (Google keeps the order it read it in: M/d/yyyy
    # under en_US, d/M/yyyy under es_ES), which is what the person typed.
    first, second = (read.month, read.day) if google == "en" else (read.day, read.month)
    shown = f"{first}/{second}/{read.year}"
    return CellError(
        "date_order_differs",
        _("{shown} is the date {read} to Google, which reads dates typed in this spreadsheet {google} (its "
          "locale is {typed}), but this column writes dates {column}: it may mean {could}.",
          shown=cells.quoted(shown), read=read, google=_(_ORDER_NAMES[google]), typed=typed,
          column=_(_ORDER_NAMES[locale]), could=could),
        _(_TURNED_HINT), shown)


_TURNED_HINT = N_("Set the spreadsheet's locale to the team's in File > Settings and type the date again, or type "
                  "dates as year-month-day (2026-12-03).")


def _day_of(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _two_digit_year(raw: RawCell) -> bool:
    """Whether a cell is a numeric text date ending in a two-digit year ("03/15/24")."""
    return isinstance(raw, str) and _TWO_DIGIT_YEAR.fullmatch(raw.strip()) is not None


_TWO_DIGIT_YEAR = re.compile(r"[0-9]{1,2}[-/.][0-9]{1,2}[-/.][0-9]{2}")


def _plain_number(raw: RawCell, locale: str) -> Decimal | None:
    """The number of a percent cell that is not written with "%", or None."""
    if raw is None or isinstance(raw, bool) or cells.is_percent_text(raw):
        return None
    try:
        return cells.parse_number(raw, locale)
    except CellError:
        return None


def plain_percents(raws: Sequence[RawCell], formatted: Collection[int], locale: str) -> dict[int, Decimal]:
    """The plain numbers of a percentage column (neither percent-formatted, `formatted` being
    indexes into `raws`, nor written with "%"), by index."""
    return {i: v for i, raw in enumerate(raws) if i not in formatted and (v := _plain_number(raw, locale)) is not None}


def are_fractions(plain: Iterable[Decimal]) -> bool:
    """Whether a percentage column's plain numbers are fractions (0.2 is 20 %): all at most 1
    and one strictly between 0 and 1."""
    plain = list(plain)
    return not any(v > 1 for v in plain) and any(0 < v < 1 for v in plain)


def read_percents(raws: Sequence[RawCell], formatted: Collection[int], fallback: str,
                  fallback_sure: bool, bounded: bool = True) -> Reading:
    """A percentage column: its decimal convention, then whether its plain numbers (neither
    percent-formatted nor written with "%") are fractions or points.

    A cell formatted as a percentage shows its number times 100 (1 shows as 100%), so it
    is read that way. The plain numbers are fractions when all of them are at most 1 and
    one is strictly between 0 and 1 (0.2, 0.5, 1), points when one is above 1 (20, 50, 1);
    with only 0s and 1s nothing tells, and they are points. A plain number that the other
    scale would read differently and that the column does not settle (a 1 among fractions,
    anything from 0 to 1 among points, any fraction in a column whose cells show their percent
    sign at least as often) is a warning with both readings. Every cell is read
    here: `values` holds each one's points or its error. `bounded`: from 0 to 100 % only
    (`cells.parse_percent`; a team's own column is not).
    """
    # A text cell shows its text whatever its number format ("0.6" typed as text in a
    # percent-formatted cell shows 0.6, not 60%): only numbers are shown by the format.
    formatted = {i for i in formatted if i < len(raws) and raws[i].__class__ in (int, float)}
    reading = read_numbers(raws, "percent", fallback, fallback_sure,
                           lambda raw, loc: cells.parse_percent(raw, loc, "points", bounded))
    locale = reading.locale
    plain = plain_percents(raws, formatted, locale)
    scale = "fraction" if are_fractions(plain.values()) else "points"
    # Cells that show a percent sign ("15%", or 0.15 formatted 0%) are how this column's people
    # write a percentage when they are as many as its plain numbers or more; a plain 0.1 among
    # them shows 0.1, which may be 0.1 % as well as the fraction 10 %. A column mostly of plain
    # fractions writes them so, and a "15%" there says nothing against them.
    signed = len(formatted) + sum(cells.is_percent_text(raw) for raw in raws) >= len(plain)
    errors = {f.index for f in reading.findings if f.severity == "error"}
    for index, raw in enumerate(raws):
        if index in errors or cells.is_blank(raw):
            continue
        try:
            value = cells.parse_percent(raw, locale, "fraction" if index in formatted else scale, bounded)
        except CellError as e:
            if index in formatted and e.code == "out_of_range":
                e = _formatted_out_of_range(raw)
            reading.values[index] = e
            continue
        reading.values[index] = cells.Read(value, raw)
        number = plain.get(index)
        if number is None or number == 0:
            continue
        if (scale == "fraction" and number == 1) or (scale == "points" and number <= 1):
            could = number * 100 if scale == "points" else number
            if could <= 100:
                reading.findings.append(Finding(index, "warning", CellError(
                    "ambiguous_percent",
                    _("{shown} read as {read} %; could be {could} %.", shown=cells.quoted(raw), read=_shown(value),
                      could=_shown(could)),
                    _('Write it with a percent sign ("100%" or "1%") or format the cell as a percentage.'),
                    raw)))
        elif scale == "fraction" and signed:
            reading.findings.append(Finding(index, "warning", CellError(
                "ambiguous_percent",
                _("{shown} read as {read} %; could be {could} %.", shown=cells.quoted(raw), read=_shown(value),
                  could=_shown(number)),
                _('The column\'s other cells show a percent sign and this one does not: write it with one '
                  '("{read}%" or "{could}%") or format the cell as a percentage.', read=_shown(value),
                  could=_shown(number)),
                raw)))
    return reading


def _formatted_out_of_range(raw: int | float) -> CellError:
    """A percent-formatted number outside 0 to 100 %, named as the cell shows it: 20 shows as
    2000 %, and "20" is not what the person sees."""
    shown = cells.show_number(Decimal(str(raw)).scaleb(2).normalize()) + " %"
    return CellError("out_of_range", _("{shown} is outside 0 to 100 percent (the cell holds {number}, which its "
                                       "percentage format shows times 100).",
                                       shown=shown, number=cells.show_number(raw, group=False)),
                     _('Type the percentage with a percent sign ("20%"), or the fraction (0.2) in a cell formatted '
                       'as a percentage.'), raw)


# --- a custom column's type, from its cells -------------------------------------------------

# A column the config does not type is read as numbers, dates or yes/no when at least this
# share of its filled cells reads so; the rest are reported, not guessed (issue 16).
INFERRED_SHARE = 0.95
INFERRED_KINDS = ("bool", "number", "money", "percent", "date")


def _reads(parse: Callable[[RawCell, str], object], raw: RawCell) -> bool:
    for locale in ("en", "es"):
        try:
            if parse(raw, locale) is not None:
                return True
        except CellError:
            pass
    return False


def _number_cell(raw: RawCell) -> bool:
    if isinstance(raw, bool):
        return False
    return isinstance(raw, (int, float)) or isinstance(raw, str) and not _code_text(raw) and _reads(
        cells.parse_number, raw)


# Text that reads as a number but is a code people typed as text: a leading zero ("08001",
# "007"), or a phone number: "+" and seven digits or more ("+34 600 123 456"; "+5" stays a
# number), or three or more groups of digits, nine digits or more ("600 123 456"). Read as a
# number it would lose what makes it that code (the zero, the "+"), so it never votes for numbers.
_LEADING_ZERO = re.compile(r"[-\u2212]?0\d")
_PHONE = re.compile(r"\+[\d ()-]+|\d+(?: \d+){2,}")


def _code_text(raw: str) -> bool:
    text = raw.strip()
    if _LEADING_ZERO.match(text):
        return True
    return bool(_PHONE.fullmatch(text)) and sum(c.isdigit() for c in text) >= (7 if text[0] == "+" else 9)


def _amount_cell(raw: RawCell) -> bool:
    return _number_cell(raw) or isinstance(raw, str) and not _code_text(raw) and _reads(cells.parse_amount, raw)


def _bool_cell(raw: RawCell) -> bool:
    # 0 and 1 are numbers first: a column of counts is not a column of yes/no.
    return isinstance(raw, bool) or isinstance(raw, str) and not _number_cell(raw) and _reads(
        lambda r, _locale: cells.parse_bool(r), raw)


def _date_cell(raw: RawCell) -> bool:
    # A plain number also reads as a serial date; only dates and text dates vote for dates.
    return hasattr(raw, "toordinal") or isinstance(raw, str) and not _number_cell(raw) and _reads(
        cells.parse_date, raw)


def _percent_cell(raw: RawCell) -> bool:
    # "15%" and plain numbers: the column's reading (`read_percents`) tells fractions from points
    # and reports the plain numbers it cannot tell; `infer_kind` wants one "%" among them.
    # A team's own column may hold any percentage: 150 % and -5 % vote for percentages too.
    return _number_cell(raw) or cells.is_percent_text(raw) and _reads(
        lambda r, locale: cells.parse_percent(r, locale, bounded=False), raw)


def _names_currency(raw: RawCell) -> bool:
    return isinstance(raw, str) and cells.money_token(raw, "en") is not None


_TESTS = {"bool": _bool_cell, "number": _number_cell, "money": _amount_cell, "percent": _percent_cell,
          "date": _date_cell}


def infer_kind(raws: Sequence[RawCell], money: bool = False, percent: Collection[int] = (),
               currency: Collection[int] = ()) -> str | None:
    """"bool", "number", "money", "percent" or "date" when at least INFERRED_SHARE of the filled
    cells of a column read as that kind (numbers and dates in either convention: the column's
    reading settles which), else None: the column stays text. Native TRUE/FALSE and words like
    Sí/No, Yes/No are yes/no; 0 and 1 are numbers; a number is never taken for a serial date
    here. A column of amounts one of which names its currency ("1.200 €", "8000 EUR") is
    "money", read as an Amount is; one of percentages ("15%", at least one written with "%")
    is "percent", and so is one with a number formatted as a percentage: `percent` holds the
    indexes (into `raws`) of the cells whose number format shows a percentage (`Grid.percent`;
    0.15 there shows 15 %, and is read so), and so is one of amounts with a number whose
    format shows a currency: `currency` holds those indexes (`Grid.currency`; 1234.5 under
    `#,##0.00 "€"` shows 1.234,50 €, an amount in euros, which read as a plain number would
    be refused). `money`: a column of amounts by its header (a Budget,
    `schema.BUDGET_HEADERS`): "money" instead of "number"."""
    filled = [raw for raw in raws if not cells.is_blank(raw)]
    if not filled:
        return None
    # A number formatted as a percentage shows as one (only a number shows its format): such a
    # column is tried as percentages before numbers, which its cells would all read as too.
    shown_percent = any(i < len(raws) and raws[i].__class__ in (int, float) for i in percent)
    shown_money = any(i < len(raws) and raws[i].__class__ in (int, float) for i in currency)
    need = INFERRED_SHARE * len(filled)
    # One code among the cells ("08001" beside "28001") makes the column a column of codes:
    # typed as numbers, its other cells' zeros would be lost and that one left out.
    codes = any(isinstance(raw, str) and _code_text(raw) for raw in filled)
    kinds = (("bool", "percent", "number", "money", "date") if shown_percent else
             ("bool", "money", "number", "percent", "date") if shown_money else INFERRED_KINDS)
    for kind in kinds:
        if kind in ("number", "money", "percent") and codes:
            continue
        if kind == "money" and (money or not shown_money and not any(_names_currency(raw) for raw in filled)):
            continue  # a Budget's amounts were tried as "number"; plain numbers are numbers
        if kind == "percent" and not shown_percent and not any(cells.is_percent_text(raw) for raw in filled):
            continue
        test = _amount_cell if kind == "number" and money else _TESTS[kind]
        misses = 0
        for raw in filled:
            if not test(raw):
                misses += 1
                if len(filled) - misses < need:
                    break
        else:
            return "money" if kind == "number" and money else kind
    return None


# --- a text cell compared as a number or a date ----------------------------------------------

_AMBIGUOUS_NUMBER = N_("{shown} reads as {one} or as {other}, and nothing says which.")
_AMBIGUOUS_DATE = N_("{shown} reads as {one} (month first) or as {other} (day first), and nothing says which.")
_OTHER_CONVENTION = N_("{shown} is written the way locale \"{proves}\" writes it, but this tab reads locale "
                       "\"{locale}\", so it cannot be read with confidence.")
_NOT_A_DATE = N_("{shown} is a plain number, not a date.")
TEXT_HINT = N_("This column is read as text (too few of its cells are numbers or dates, or sheetcrm.toml declares "
               "it text): write this cell as a plain number or date (12500, 2026-12-03), set locale in "
               "sheetcrm.toml, or declare the column's type there ([tabs.<tab>.custom_fields]).")


def ambiguous_number(raw: RawCell, one: object, other: object) -> CellError:
    """The "ambiguous_number" error of a text cell that reads as `one` in one locale and as
    `other` in the other ("1.500": 1.5 or 1500), with TEXT_HINT."""
    return CellError("ambiguous_number", _(_AMBIGUOUS_NUMBER, shown=cells.quoted(raw), one=_shown(one),
                                           other=_shown(other)), _(TEXT_HINT), raw)


def read_text(raw: RawCell, kind: str, locale: str, sure: bool) -> object:
    """A cell of a column the read keeps as text (fewer than INFERRED_SHARE of its cells are
    numbers or dates, or the config declares it text), read as a `kind` ("number" or "date")
    for a comparison: the Decimal or date, or the CellError saying why it cannot be.

    It is read as the read reads a cell of a number or date column (`cells.parse_number`,
    `cells.parse_date`) in the tab's `locale` (`sure`: the config sets it): a cell that reads
    two ways ("1.500": 1500 or 1.5; "03/04/2026": 3 April or 4 March) is an
    "ambiguous_number" / "ambiguous_date" error unless the config's locale settles it; one
    that only the other locale reads ("1,5" in an "en" tab) is read so unless the config's
    locale says otherwise; a cell that is no number (or no date) is the parser's error. Never
    a reading the caller could not be sure of: it says at the cell instead (`conditions.Text`)."""
    if kind == "date":
        if isinstance(raw, dt.datetime):
            return raw.date()
        if isinstance(raw, dt.date):
            return raw
        if raw.__class__ in (int, float) and raw < _SMALL_SERIAL:  # a count, not a date (see read_dates)
            return CellError("bad_date", _(_NOT_A_DATE, shown=cells.show_number(raw, group=False)), _(TEXT_HINT), raw)
        proves, ambiguous = cells.date_style(raw)
        if ambiguous and not sure:
            return CellError("ambiguous_date", _(_AMBIGUOUS_DATE, shown=cells.quoted(raw),
                                                 one=cells.parse_date(raw, "en"), other=cells.parse_date(raw, "es")),
                             _(TEXT_HINT), raw)
        parse: Callable[[RawCell, str], object] = cells.parse_date
    else:
        proves, suggests = cells.separator_style(raw)
        if suggests and not sure:
            try:
                one, other = cells.parse_number(raw, "en"), cells.parse_number(raw, "es")
            except CellError as e:
                return e
            return ambiguous_number(raw, one, other)
        parse = cells.parse_number
    if proves and proves != locale:
        if sure:
            try:
                parse(raw, proves)
            except CellError as e:  # no date either way round ("29/02/2025")
                return e
            return CellError("mixed_convention", _(_OTHER_CONVENTION, shown=cells.quoted(raw), proves=proves,
                                                   locale=locale), _(TEXT_HINT), raw)
        locale = proves  # the one convention that reads it as written
    try:
        return parse(raw, locale)
    except CellError as e:
        return e
