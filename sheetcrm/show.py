"""What a person reads on the terminal: numbers in the reader's language, aligned tables, and
a progress bar while long work runs.

Numbers are babel's, for the current language (`sheetcrm.i18n.current()`): `1.234,50 €` and
`63,2 %` in Spanish, `€1,234.50` and `63.2%` in English. Tables are laid out by rich and come
back as lines, so the command prints them like any other line: plain text (no colour codes,
no trailing spaces) when the output is piped, with a bold header on a terminal. Every cell is
escaped with `terminal.visible` before it is measured, so cell text never drives the terminal
and the columns still line up.

Progress is the library's hook (`sheetcrm.sync.ProgressHook`: phase, done, total) drawn as
a transient rich progress bar on stderr, only when stderr is a terminal and only once the
work has run for `DELAY` seconds: short commands and piped or JSON output show nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import threading
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent

from sheetcrm.cells import half_up
from sheetcrm.crm.money import money_said
from sheetcrm.i18n import N_, _, current, in_locale, month_said, ngettext
from sheetcrm.terminal import visible

# rich is imported where a table or a bar is drawn: a command that prints neither (a sync to a
# pipe, a config mistake) starts 0.07 s sooner without it.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

NOTHING = "—"  # an undefined value (a win rate with no closed deal): the same in every language
DELAY = 1.0     # seconds of work before a progress bar appears

# The phases the library reports (sheetcrm.sync.PHASES), and the CLI's own.
PHASES = {
    "reading": N_("Reading the workbook"),
    "validating": N_("Validating"),
    "computing": N_("Computing"),
    "writing": N_("Writing"),
    "demo": N_("Writing the demo CRM"),
}


def money(amount: Decimal | None, currency: str) -> str:
    """`amount` in `currency` as the reader writes money, to the currency's minor unit, rounded half
    up as the summary tabs are (`crm.money.minor`; babel's own rounding is half-even)."""
    return NOTHING if amount is None else money_said(amount, currency)


def percent(fraction: Decimal | float | None, digits: int = 1) -> str:
    """A fraction (0.632) as a percentage with `digits` decimals (`63.2%`, `63,2 %`), rounded
    half up as the tabs are (0.0625 is `6.3%`; `cells.half_up`)."""
    if fraction is None:
        return NOTHING
    fraction = half_up(fraction, digits + 2)
    fraction = abs(fraction) if fraction == 0 else fraction  # "-0.0%" for -0.0004 said a fall there was not
    pattern = Locale.parse(current()).percent_formats[None].pattern
    decimals = "." + "0" * digits if digits else ""
    return format_percent(fraction, format=pattern.replace("#,##0", "#,##0" + decimals, 1), locale=current())


def points(value: Decimal | None, digits: int = 1) -> str:
    """Percentage points (62.5, the unit of the library's percentages) as a percentage."""
    return percent(None if value is None else value / 100, digits)


def band(low: int | str, high: int | str) -> str:
    """A band of percentages, `low` to `high` points (40, 50), as the reader writes one: `40-50%`,
    `40–50 %` (Spanish sets the range dash and the space before the sign)."""
    return _("{low}-{high}", low=number(int(low)), high=percent(Decimal(int(high)) / 100, 0))


def number(value: Decimal | float | int | None, digits: int = 0) -> str:
    """A count or a measure, grouped the reader's way, with exactly `digits` decimals, rounded
    half up as the tabs are (10.25 is `10.3` at one decimal; `cells.half_up`)."""
    if value is None:
        return NOTHING
    value = half_up(value, digits)
    value = abs(value) if value == 0 else value  # never "-0"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=current())


def day(value: dt.date) -> str:
    """A date as the reader writes it (`Nov 23, 2026`, `23 nov 2026`)."""
    return format_date(value, "medium", locale=current())


def moment(value: dt.datetime) -> str:
    """A date and time as the reader writes them (`Nov 23, 2026, 9:30:00 AM`, `23 nov 2026, 9:30:00`),
    in the zone `value` is in."""
    return format_datetime(value, "medium", tzinfo=value.tzinfo, locale=current())


def month(key: str) -> str:
    """A "YYYY-MM" month key as the reader names the month (`Nov 2026`, `nov 2026`)."""
    return month_said(key)


def rows_and_references(removed: dict[str, int], moved: dict[str, int]) -> list[str]:
    """`merging.what_merged` as lines: one, or none when the merge did nothing."""
    from sheetcrm.merging import what_merged  # the read's: a command that merges nothing starts without it

    line = what_merged(removed, moved)
    return [line] if line else []


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, right: Sequence[int] = (),
          styled: bool | None = None) -> list[str]:
    """`rows` under `headers` as aligned lines; columns whose index is in `right` are aligned
    right (numbers). `styled` (default: stdout is a terminal) makes the header bold."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    styled = sys.stdout.isatty() if styled is None else styled
    grid = Table(box=None, pad_edge=False, show_edge=False, header_style="bold" if styled else "",
                 padding=(0, 2, 0, 0))
    for i, header in enumerate(headers):
        grid.add_column(Text(visible(header)), justify="right" if i in right else "left", no_wrap=True)
    for row in rows:
        grid.add_row(*(Text(visible(str(cell))) for cell in row))
    out = io.StringIO()
    console = Console(file=out, width=100_000, force_terminal=styled, color_system="standard" if styled else None,
                      highlight=False, emoji=False)
    console.print(grid)
    return [line.rstrip() for line in out.getvalue().splitlines()]


class ProgressBar:
    """A `ProgressHook` drawn on `console`: one line per phase (spinner, name, bar, time),
    shown only after `delay` seconds and erased when done (`close`)."""

    def __init__(self, console: Console, delay: float = DELAY) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
        self.progress = Progress(*columns, console=console, transient=True)
        self.tasks: dict[str, TaskID] = {}
        self.lock = threading.Lock()
        self.shown = self.closed = False
        # A timer, not a check at each report: one long phase (a 90 s read) reports nothing
        # until it ends, and must still show its line after a second.
        self.timer = threading.Timer(delay, self._show)
        self.timer.daemon = True
        self.timer.start()

    def _show(self) -> None:
        with self.lock:
            if not self.closed:
                self.progress.start()
                self.shown = True

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        description = _(PHASES[phase]) if phase in PHASES else phase
        with self.lock:
            task = self.tasks.get(phase)
            if task is None or done == 0:  # a phase met again (a sync read again) starts over
                if task is not None:
                    self.progress.remove_task(task)
                task = self.tasks[phase] = self.progress.add_task(description, total=total)
            self.progress.update(task, completed=done, total=total)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """A phase of the command's own with no counts (the demo's generation and writing)."""
        self(name, 0, None)
        yield
        self(name, 1, 1)

    def close(self) -> None:
        self.timer.cancel()
        with self.lock:
            self.closed = True
            if self.shown:
                self.progress.stop()


class NoProgress:
    """The hook when nothing is shown: piped output, JSON output."""

    def __call__(self, phase: str, done: int, total: int | None) -> None:
        pass

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        yield

    def close(self) -> None:
        pass


@contextmanager
def progress(enabled: bool = True, stream: Any = None) -> Iterator[ProgressBar | NoProgress]:
    """A progress bar on `stream` (stderr) while the block runs, when `enabled` and `stream`
    is a terminal; otherwise a hook that draws nothing. The bar is gone when the block ends,
    before the command prints its result."""
    stream = stream or sys.stderr
    if enabled and stream.isatty():
        from rich.console import Console

        bar: ProgressBar | NoProgress = ProgressBar(Console(file=stream))
    else:
        bar = NoProgress()
    try:
        yield bar
    finally:
        bar.close()


def workflow_action(action: str) -> str:
    """A workflow action ("create_task") as the Workflow Log names it, in the current language."""
    from sheetcrm.crm.workflows import ACTION_LABELS

    return in_locale(current(), ACTION_LABELS[action])


def workflow_result(result: str, message: str = "") -> str:
    from sheetcrm.crm.workflows import RESULTS

    word = in_locale(current(), RESULTS[result])
    return f"{word}: {message}" if message else word
