"""The `sheetcrm` command: a thin shell over the library. It parses flags, calls one library
function, prints, and picks the exit status. User-caused failures (config, workbook, I/O) are
one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import logging
import math
import os
import re
import signal
import sys
import threading
import tomllib
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, NoReturn, Sequence

import click
from pydantic import ValidationError

from sheetcrm import show
from sheetcrm.cells import normalize_key, quoted
from sheetcrm.config import CONFIG_FILE, Config, ConfigError, load_config
from sheetcrm.crm.forecast import (Forecast, MonthForecast, overdue_said, owner_label, without_quota_said,
                                   zero_quota_said)
from sheetcrm.crm.kpis import KPIS, Kpis, conversion_label, coverage_said
from sheetcrm.crm.money import left_out_said
from sheetcrm.crm.segments import KINDS, csv_text, spreadsheet_csv
from sheetcrm.i18n import (N_, Spoken, _, catalogue, current, environment_locale, environment_names_language,
                           environment_region, every_locale, ngettext, speaking, using)
from sheetcrm.show import NOTHING
from sheetcrm.os_errors import os_problem
from sheetcrm.lock import WritingSession
from sheetcrm.mail.journal import Journal
from sheetcrm.report import Report, shown_code, shown_severity
from sheetcrm.names import tab_title
from sheetcrm.schema import WORKFLOW_LOG, count_of
from sheetcrm.settings import problem
from sheetcrm.crm.learned import candidate_name
from sheetcrm.crm.scoring import evaluate as evaluate_scoring, method_name
from sheetcrm import team_time
from sheetcrm.terminal import EXIT_INTERRUPTED, INTERRUPTED, json_value, visible, visible_json
from sheetcrm.warehouse.settings import ENV_URL, Mirrored, WarehouseError, WarehouseSettings
from sheetcrm.workbook import CellWrite, Plan, Workbook, WorkbookError

# A command imports the read, the sync, the starter and the workbook's backends itself, after
# opening the config and the workbook: --help, a usage error or a config mistake answers without
# them, a quarter sooner (each test's `python -m sheetcrm` too).
if TYPE_CHECKING:
    from sheetcrm.engine import Results
    from sheetcrm.lock import WorkbookLock
    from sheetcrm.sync import SyncOutcome
    from sheetcrm.validate import Crm

EXIT_USAGE = 2

# click's own words (usage, section titles, its errors), which it says through the names below:
# the catalogue holds them from here.
CLICK_WORDS = (N_("Usage:"), N_("Options"), N_("Commands"), N_("default: {default}"), N_("required"),
               N_("Error: {message}"), N_("Try '{command} {option}' for help."),
               N_("Invalid value for {param_hint}: {message}"), N_("Missing argument"), N_("Missing option"),
               N_("No such command {name!r}."), N_("No such option {name!r}."), N_("Show this message and exit."),
               N_("Aborted!"), N_("{value} is not in the range {range}."),
               lambda n: ngettext("{value!r} is not {choice}.", "{value!r} is not one of {choices}.", n),
               N_("Invalid value: {message}"), N_("Missing parameter"), N_("Choose from:\n\t{choices}"),
               N_("{value!r} is not a valid {number_type}."), N_("{name} {filename!r} does not exist."),
               N_("{name} {filename!r} is a file."), N_("{name} {filename!r} is a directory."),
               N_("{name} {filename!r} is not readable."), N_("{name} {filename!r} is not writable."),
               N_("Option {name!r} does not take a value."),
               lambda n: ngettext("Option {name!r} requires an argument.",
                                  "Option {name!r} requires {nargs} arguments.", n),
               lambda n: ngettext("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})",
                                  n),
               lambda n: ngettext("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)", n))


def _click_gettext(message: str) -> str:
    return catalogue(current()).gettext(message)


def _click_ngettext(singular: str, plural: str, n: int) -> str:
    return catalogue(current()).ngettext(singular, plural, n)


# click binds the standard library's gettext into each of its modules at import, and the standard
# library's picks its language from the environment alone: a usage error of a team whose config
# says `locale = "es"` came out in English. Rebound to sheetcrm's catalogue in the current language
# (the environment's, or the config's once `_Commands.main` has read its locale), click's words
# follow sheetcrm's own lines.
for _module in (click.core, click.decorators, click.exceptions, click.formatting, click.termui, click.types,
                click.utils, sys.modules["click.parser"]):
    if hasattr(_module, "_"):
        _module._ = _click_gettext  # type: ignore[attr-defined]
    if hasattr(_module, "ngettext"):
        _module.ngettext = _click_ngettext  # type: ignore[attr-defined]


def echo(text: str = "", err: bool = False) -> None:
    """Print one line. Every printer goes through here (or `echo_json`): text from cells in it
    reaches the terminal with its control characters escaped (sheetcrm.terminal)."""
    click.echo(visible(text), err=err)


def echo_lines(lines: list[str]) -> None:
    """Lines `show.table` laid out: their cells are escaped already, and a terminal's lines
    carry the header's bold, which `visible` would spell out."""
    for line in lines:
        click.echo(line)


def echo_json(document: str) -> None:
    click.echo(visible_json(document))


def _fail(message: str) -> NoReturn:
    echo(f"sheetcrm: {message}", err=True)  # not for people: the program's name before its one line
    sys.exit(EXIT_USAGE)


def load(config_path: str | None) -> Config:
    """The config; from here on the command speaks the team's language: the config's `locale`,
    else the one the workbook's CRM tab titles say once a read finds it (`validate.team_config`
    settles it, for every command alike). Messages before the config (a config error, --help)
    cannot know it: they speak the file's `locale` when one is set (`_team_language`), else the
    environment's."""
    config = load_config(config_path)
    click.get_current_context().with_resource(speaking(Spoken(config.locale)))
    return config


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConfigError, WorkbookError, WarehouseError) as e:
            _fail(str(e))

    return wrapper


def _none_empty(*flags: tuple[str, str | None]) -> None:
    """Fails with one line for a flag given an empty value (`--workbook "$WB"` with WB unset):
    taken as no flag, it ran on ./crm.xlsx, another workbook than meant; as a path, "." said
    "it is a folder"."""
    for flag, value in flags:
        if value is not None and not value.strip():
            _fail(_("{flag} is empty: give it a value, or leave the flag out for the default", flag=flag))


WORKBOOK_HELP = N_("An .xlsx workbook (default: the config's, else ./crm.xlsx).")


def workbook_options(command: Callable[..., Any], workbook_help: str = WORKBOOK_HELP) -> Callable[..., Any]:
    """--workbook / --spreadsheet / --credentials / --config, gathered into one `target` argument;
    `workbook_help`: what --workbook's help says (a catalogue message)."""

    @functools.wraps(command)
    def wrapper(*args: Any, config_path: str | None, workbook: str | None, spreadsheet: str | None,
                credentials: str | None, **kwargs: Any) -> Any:
        _none_empty(("--config", config_path), ("--workbook", workbook), ("--spreadsheet", spreadsheet),
                    ("--credentials", credentials))
        if workbook is not None and spreadsheet is not None:
            # Two workbooks named: whichever one won, the other would be ignored with no word.
            _fail(_("--workbook and --spreadsheet each name a workbook; give one of them"))
        target = Target(config_path, workbook, spreadsheet, credentials, kwargs.pop("ignore_lock", False))
        return command(*args, target=target, **kwargs)

    for option in reversed([
        click.option("--workbook", type=click.Path(readable=False), metavar=_("PATH"),
                     help=_(workbook_help)),
        click.option("--spreadsheet", metavar="ID|URL", help=_("A Google spreadsheet, by ID or full URL.")),
        click.option("--credentials", type=click.Path(readable=False), metavar=_("FILE"),
                     help=_("Google credentials JSON (default: the config's, else "
                            "$GOOGLE_APPLICATION_CREDENTIALS).")),
        click.option("--config", "config_path", type=click.Path(readable=False), metavar=_("FILE"),
                     help=_("Config file (default: ./{file} when present).", file=CONFIG_FILE)),
    ]):
        wrapper = option(wrapper)
    return wrapper


IGNORE_LOCK = click.option("--ignore-lock", is_flag=True,
                           help=_("Write even while LibreOffice or Excel has the workbook open "
                                  "(the app's next save may undo sheetcrm's changes)."))
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                      help=_("text for people, json for programs (units in the README)."))
class _Day(click.DateTime):
    """A date a person types, within the years whose months, quarters and forecast months a
    date can hold (year 1 has no quarter before it): else a usage error, exit 2."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            day = super().convert(value, param, ctx)
        except click.BadParameter:
            # click's says "does not match the format '%Y-%m-%d'": strptime's pattern, in English.
            if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", value.strip()):
                # Written as asked, but 2026-02-30 or 2026-13-01: "not a date written YYYY-MM-DD" sent
                # the reader checking a pattern they had followed.
                self.fail(_("{value}: there is no such day (a month from 01 to 12, a day the month has)",
                            value=value), param, ctx)
            self.fail(_("{value}: not a date written {pattern}", value=value, pattern=_("YYYY-MM-DD")), param, ctx)
        if not 1900 <= day.year <= 9000:
            self.fail(_("{value}: a date between 1900-01-01 and 9000-12-31", value=value), param, ctx)
        return day


# A date a person types, shown as the pattern they type rather than strptime's.
DATE = _Day(formats=["%Y-%m-%d"])
DATE_METAVAR = _("YYYY-MM-DD")


@dataclass
class Target:
    config_path: str | None
    workbook: str | None
    spreadsheet: str | None
    credentials: str | None
    ignore_lock: bool = False

    def open(self, default: str | None = None) -> tuple[Config, Workbook]:
        from sheetcrm.lock import tidy
        from sheetcrm.workbook.target import DEFAULT_WORKBOOK, open_workbook

        config = load(self.config_path)
        book = open_workbook(config, self.workbook, self.spreadsheet, self.credentials,
                             default=default or DEFAULT_WORKBOOK, ignore_app_lock=self.ignore_lock)
        tidy(book)  # every command, read-only ones too, clears what an interrupted save left
        return config, book

    def lock_for_writing(self, book: Workbook, command: str) -> None:
        """Enter the guard every writing command runs under (sheetcrm.lock), held until the
        command ends: no app has the file open, no other sheetcrm command writes it, stale
        temp files are gone."""
        click.get_current_context().with_resource(WritingSession(book, command, ignore_app_lock=self.ignore_lock))


# The exit status of a command whose reader went away (`sheetcrm kpis | head -1`): 128 +
# SIGPIPE's number, what a shell reports for a program the signal ended.
EXIT_BROKEN_PIPE = 141


# click writes these two into every usage line as literals, never through gettext.
_USAGE_WORDS = {"[OPTIONS]": N_("[OPTIONS]"), "COMMAND [ARGS]...": N_("COMMAND [ARGS]...")}


# An argument's metavar is translated when this module is imported (the environment's language);
# a usage error said in the config's language names it in that one: "ARCHIVO", not "FILE".
_ARGUMENTS = (N_("FILE"), N_("NAME"))


class _Argument(click.Argument):
    """An argument whose metavar (one of _ARGUMENTS) is said in the current language, in the
    usage line and in "Missing argument 'ARCHIVO'"."""

    def make_metavar(self, ctx: click.Context) -> str:
        piece = super().make_metavar(ctx)
        return next((_(word) for word in _ARGUMENTS if piece in every_locale(word)), piece)


# click names an option's value by its type's English name when the option gives no metavar:
# a Spanish help read "--rows INTEGER RANGE", "--host TEXT" amid Spanish.
_TYPE_METAVARS = {"integer": N_("INTEGER"), "integer range": N_("INTEGER RANGE"),  # not for people: click's keys
                  "text": N_("TEXT"), "float": N_("FLOAT"), "float range": N_("FLOAT RANGE")}  # not for people: keys


class _Usage(click.Command):
    """A usage line in the language of the help around it: "Uso: sheetcrm kpis [OPCIONES]",
    not click's "[OPTIONS]" amid Spanish. The help itself is the environment's language, the
    one its texts were translated in when this module was imported, whatever the config says."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Worded as the options' help is, when this module is imported.
        for param in self.params:
            word = _TYPE_METAVARS.get(param.type.name)
            if isinstance(param, click.Option) and param.metavar is None and not param.is_flag and word:
                param.metavar = _(word)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [_(_USAGE_WORDS[piece]) if piece in _USAGE_WORDS else piece
                for piece in super().collect_usage_pieces(ctx)]

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with using(environment_locale()):
            super().format_help(ctx, formatter)

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        # click words this option once, while parsing, under the config's `locale` (and caches
        # it): an English help ended in "Muestra este mensaje y termina.". Worded with the rest.
        option = super().get_help_option(ctx)
        if option is not None:
            with using(environment_locale()):
                option.help = _("Show this message and exit.")
        return option


def _team_language(args: Sequence[str]) -> str | None:
    """The `locale` the command's config sets (--config's file, else ./sheetcrm.toml), read
    before click parses the command line so that its usage errors, and every line before the
    config is loaded, speak the team's language; None when no file sets one or it cannot be read
    (loading it says why)."""
    path = CONFIG_FILE
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--config" and i + 1 < len(args):
            path = args[i + 1]
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, ValueError):  # unreadable, not UTF-8: load_config's one line says it
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # A slip further down (a quote left open in [smtp]) was said in the environment's language
        # to a team whose first line says `locale = "es"`: the lines above the slip still say it.
        at = re.search(r"\(at line (\d+), column \d+\)$", str(e))
        try:
            data = tomllib.loads("".join(text.splitlines(keepends=True)[:int(at[1]) - 1])) if at else {}
        except tomllib.TOMLDecodeError:
            return None
    locale = data.get("locale")
    return locale if locale in ("en", "es") else None


class _Command(_Usage, click.Command):
    pass


class _Commands(_Usage, click.Group):
    """sheetcrm's command group: Ctrl-C ends a command with one line and EXIT_INTERRUPTED
    (click's own "Aborted!" exits 1, the status of a sheet with errors); a closed output pipe
    ends it quietly with EXIT_BROKEN_PIPE (click's own handling exits 1 too). Its commands and
    groups (outbox, fleet, warehouse) say their usage line in the help's language (_Usage)."""

    command_class = _Command
    group_class = type  # a subgroup is a _Commands too

    def main(self, args: Sequence[str] | None = None, *rest: Any, **kwargs: Any) -> Any:
        language = _team_language(sys.argv[1:] if args is None else list(args))
        with using(language) if language else contextlib.nullcontext():
            return super().main(args, *rest, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # Nothing more can be shown, and the reader asked for no more: no line on stderr.
            # Python's own flush of stdout at exit would raise again, so it goes to /dev/null.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise click.exceptions.Exit(EXIT_BROKEN_PIPE) from None
        except KeyboardInterrupt:
            echo(f"sheetcrm: {_(INTERRUPTED)}", err=True)  # not for people: the program's name before its one line
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]},
             help=_("sheetcrm: a CRM for teams whose CRM lives in spreadsheet tabs."))
@click.version_option(package_name="sheetcrm", help=_("Show the version and exit."),
                      message=_("%(prog)s, version %(version)s"))
def main() -> None:
    _warnings_in_one_line()
    try:
        os.getcwd()
    except FileNotFoundError:
        # Every default path is relative (./sheetcrm.toml, ./crm.xlsx, demo-crm.xlsx): in a
        # deleted folder the config was silently not found and a relative path crashed on resolve.
        _fail(_("the current folder no longer exists (it was deleted or moved): cd into a folder "
                "that exists and run the command again"))


class _OneLine(logging.Handler):
    """A warning the library logs during a one-shot command (the warehouse mirror's: it never
    fails the sync) as the command's other lines on stderr: "sheetcrm: …". `sheetcrm run`
    replaces it with its own log lines (logs.setup)."""

    def emit(self, record: logging.LogRecord) -> None:
        echo(f"sheetcrm: {record.getMessage()}", err=True)  # not for people: the program's name before its line


def _warnings_in_one_line() -> None:
    from sheetcrm.logs import LOGGER

    logger = logging.getLogger(LOGGER)
    if not logger.handlers:
        handler = _OneLine(logging.WARNING)
        logger.addHandler(handler)


@main.command(help=_("Create the missing CRM tabs (with headers) and an example sheetcrm.toml.\n\n"
                      "The new sheetcrm.toml points at the workbook given (--workbook / --spreadsheet), so the "
                      "next command needs no flag. Existing tabs and data are never touched."))
@workbook_options
@IGNORE_LOCK
@user_errors
def init(target: Target) -> None:
    from sheetcrm.starter import (LOOSE_LOCALE_SAID, UNNAMED_LOCALE_SAID, crm_language, example_config,
                                  existing_tabs, init_workbook, named_currencies, region_writes_otherwise)

    config, book = target.open()
    # The locks first: a refused init writes nothing, not even the config.
    target.lock_for_writing(book, "init")
    snapshot = existing_tabs(book)
    kept = False
    if target.config_path is None and not Path(CONFIG_FILE).exists():
        # A failed init writes nothing: the config waits in a temp file beside its place (a
        # folder that cannot hold it fails here, before the workbook) and becomes sheetcrm.toml
        # only once the workbook is written. For a workbook with CRM tabs already, the file
        # sets no locale or currency: it must not change how that workbook reads.
        # No config yet: the team's language for a new workbook is the environment's (SHEETCRM_LANG,
        # LANG…), the language this command was asked in; the file sets it and speaks it. A workbook
        # with CRM tabs has its own (their titles'), which the file's words and these lines speak.
        team = environment_locale()
        language = crm_language(snapshot, config)
        with using(language or team):
            text = example_config(target.workbook, target.spreadsheet, target.credentials, language=language,
                                  locale=team, currencies=named_currencies(snapshot, config) if language else (),
                                  region=environment_region(), named=environment_names_language())
        with _pending_file(Path(CONFIG_FILE), text) as pending:
            written = load(str(pending))
            result, headed, stand_ins = init_workbook(book, written, snapshot)
        echo(_("wrote {file} (every setting is optional)", file=CONFIG_FILE))
        if language is None:
            echo(_("{file}: summaries are in {currency}; set currency there if your amounts are in another",
                   file=CONFIG_FILE, currency=written.currency))
            if (loose := region_writes_otherwise(team, environment_region())) is not None:
                name, theirs, ours = loose
                echo(_(LOOSE_LOCALE_SAID, file=CONFIG_FILE, name=name, theirs=theirs, ours=ours, locale=team))
            elif not environment_names_language():
                echo(_(UNNAMED_LOCALE_SAID, file=CONFIG_FILE))
    else:
        result, headed, stand_ins = init_workbook(book, config, snapshot)
        kept = True
    added = [title for title in result.written if title not in headed]
    headed = [title for title in headed if title in result.written]
    if added:
        echo(ngettext("{workbook}: added the tab {tabs}", "{workbook}: added the tabs {tabs}", len(added),
                      workbook=book.describe(), tabs=", ".join(added)))
    elif not headed and not stand_ins:
        echo(_("{workbook}: all CRM tabs present", workbook=book.describe()))
    if headed:
        echo(ngettext("{workbook}: wrote the header row into the empty tab {tabs}",
                      "{workbook}: wrote the header row into the empty tabs {tabs}", len(headed),
                      workbook=book.describe(), tabs=", ".join(headed)))
    for stand_in in stand_ins:
        echo(_('{workbook}: did not add the tab {tab}: "{text}" looks like it. If it is, rename it "{tab}" or map it '
               'in sheetcrm.toml ([tabs.{key}] title = "{text}"); if not, add a tab named "{tab}"',
               workbook=book.describe(), tab=stand_in.tab, text=stand_in.like, key=stand_in.key))
    if kept:
        _say_kept_config(target, config)


def _say_kept_config(target: Target, config: Config) -> None:
    """init leaves an existing config as it is; when the workbook it was given is not the one
    that config names, the commands after it (no flag) would work on the other: say so."""
    if target.workbook is None and target.spreadsheet is None:
        return
    from sheetcrm.workbook.target import config_target

    named = config_target(config)
    given = target.spreadsheet or target.workbook
    if target.spreadsheet is None and config.spreadsheet is None:
        same = Path(named).resolve() == Path(given).resolve()  # type: ignore[arg-type]
    elif target.spreadsheet is not None and config.spreadsheet is not None:
        # One spreadsheet by its ID and by its URL: compared as text, init said the config named
        # another one, and that a command without flags would not work on this one.
        from sheetcrm.workbook.gsheets import spreadsheet_id

        try:
            same = spreadsheet_id(named) == spreadsheet_id(given)  # type: ignore[arg-type]
        except WorkbookError:
            same = False
    else:
        same = False
    if same:
        return
    if config.spreadsheet is None and config.workbook is None:
        # "it names crm.xlsx" of a file that names none sent the person looking for a line not there.
        echo(_("kept {file} as it is: it names no workbook, so a command without --workbook or --spreadsheet works "
               "on {named}, not on {given}", file=config.source or CONFIG_FILE, named=named, given=given))
    else:
        echo(_("kept {file} as it is: it names {named}, so a command without --workbook or --spreadsheet works on "
               "that one, not on {given}", file=config.source or CONFIG_FILE, named=named, given=given))


@contextmanager
def _pending_file(path: Path, text: str) -> Iterator[Path]:
    """`text` in a temp file beside `path`, yielded; moved to `path` when the block succeeds,
    removed when it fails. A file that cannot be written is one line and exit 2."""
    # Not mkstemp: its file is private, and the config gets the folder's usual permissions.
    pending = path.parent / f".{path.name}.{os.getpid()}.tmp"
    try:
        fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as e:
        _fail(_("cannot write {path}: {error}", path=path, error=os_problem(e)))
    try:
        yield pending
        os.replace(pending, path)
    except BaseException:
        pending.unlink(missing_ok=True)
        raise


DEMO_INTERRUPTED_FILE = N_("interrupted: the demo CRM is written to {workbook} but its syncs did not finish; run "
                           "`sheetcrm demo` again with --force to write it anew.")
DEMO_INTERRUPTED_SHEET = N_("interrupted: the demo CRM is written to {workbook} but its syncs did not finish; run "
                            "`sheetcrm demo` again on a new empty spreadsheet.")


@main.command(help=_("Write a realistic demo CRM (default demo-crm.xlsx), then sync it and say what happened.\n\n"
                      "Only to a new or empty workbook, or with --force over a demo it created: never the "
                      "config's workbook unless --workbook / --spreadsheet names it."))
@functools.partial(workbook_options, workbook_help=N_("An .xlsx workbook (default: ./demo-crm.xlsx, never the "
                                                      "config's)."))
@click.option("--rows", default=200, show_default=True, type=click.IntRange(20, 1_000_000),
              help=_("How many leads (the other tabs scale with it)."))
@click.option("--seed", default=7, show_default=True, help=_("Random seed: the same seed gives the same CRM."))
@click.option("--force", is_flag=True, help=_("Replace a demo .xlsx file that `sheetcrm demo` created before."))
@IGNORE_LOCK
@user_errors
def demo(target: Target, rows: int, seed: int, force: bool) -> None:
    from sheetcrm.starter import demo_config, seal_demo_quote, write_demo
    from sheetcrm.sync import sync
    from sheetcrm.workbook.target import open_workbook
    from sheetcrm.workbook.xlsx import DEMO_FILE

    config = load(target.config_path)
    # The config's workbook is the team's: the demo goes to demo-crm.xlsx unless a flag says otherwise.
    book = open_workbook(config.model_copy(update={"workbook": None, "spreadsheet": None}), target.workbook,
                         target.spreadsheet, target.credentials, default=DEMO_FILE,
                         ignore_app_lock=target.ignore_lock)
    target.lock_for_writing(book, "demo")
    today = team_time.today(config)
    with show.progress() as bar:
        with bar.phase("demo"):
            data = write_demo(book, rows=rows, seed=seed, today=today, force=force, currency=config.currency)
        try:
            outcome = sync(book, demo_config(config, data), as_of=today, progress=bar)
            if data.move is not None:  # a person moves a deal into Proposal: the follow-up rule answers it next
                tab, row, col, was, typed = data.move
                book.write(Plan(writes=[CellWrite(tab, row, col, typed, expect=((col, was),))]))
            # The form's new leads are records from the next sync on (scores, history, KPIs): the
            # demo runs it, so the workbook it leaves has nothing left to change.
            settled = sync(book, demo_config(config, data), as_of=today, progress=bar)
            # What the second sync's workflows made (tasks, owners) shows in the deals' Next Step
            # and the scores from the next one: a third sync, so the demo leaves nothing to change.
            after = sync(book, demo_config(config, data), as_of=today, progress=bar)
            seal_demo_quote(book, demo_config(config, data))
        except KeyboardInterrupt:
            # The workbook now carries the demo's mark, so the generic "run the command again"
            # would be refused ("already holds a demo CRM"): say what a rerun needs.
            again = DEMO_INTERRUPTED_FILE if getattr(book, "path", None) is not None else DEMO_INTERRUPTED_SHEET
            echo(f"sheetcrm: {_(again, workbook=book.describe())}", err=True)  # not for people: the program's name before its one line
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    echo(_("wrote a demo CRM to {workbook}:", workbook=book.describe()))
    echo_lines(show.table([_("Tab"), _("Rows")], [[title, show.number(len(t) - 1)] for title, t in data.tabs.items()],
                          right=[1]))
    echo(_("planted on purpose: {problems}", problems="; ".join(data.planted)))
    _print_sync(outcome, book)
    if settled.result is not None:
        echo(ngettext("a second sync took in the new leads: {n} cell written",
                      "a second sync took in the new leads: {n} cells written", sum(settled.cells_written.values())))
    if after.result is not None:
        echo(ngettext("a third sync took in what the workflows made: {n} cell written",
                      "a third sync took in what the workflows made: {n} cells written",
                      sum(after.cells_written.values())))
    _print_demo_workflows([outcome, settled, after])
    echo(_("also to look at: the tab {tab} holds web form responses, which this sync made leads, or a Form "
           "Submitted activity of a person already in the CRM (its Lead column says which); {lead} was ticked "
           "Convert (its Converted columns name what it became); the Duplicates tab lists likely duplicates to "
           "merge", tab=next(iter(data.forms.values())).tab, lead=data.converting))
    echo(_("next: open {workbook} and look at the Validation tab", workbook=book.describe()))


def _print_demo_workflows(outcomes: list[SyncOutcome]) -> None:
    """One line per workflow rule that acted in the demo's syncs: what it acted on, and what it
    made (a task's ID) or gave (an owner)."""
    acted: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for n, outcome in enumerate(outcomes, 1):
        for f in outcome.workflows.to_json() if outcome.workflows else []:
            if f["result"] != "done":
                continue
            names[f["rule"]] = f["name"] or ""
            made = f["created"] or f["values"].get("owner") or ""
            acted.setdefault(f["rule"], []).append(_("{record} → {made} (sync {n})", record=f["record"], made=made,
                                                     n=n))
    if not acted:
        return
    echo(_("workflows that fired (the tab {tab} lists each firing once):",
           tab=WORKFLOW_LOG.display_title(current())))
    for rule, what in sorted(acted.items()):
        echo(f"  {rule} {names[rule]}: {', '.join(what)}")


@main.command(help=_("Check every tab, row and cell; read-only. Exit 0 valid, 1 errors, 2 usage/config/I-O."))
@workbook_options
@FORMAT
@user_errors
def validate(target: Target, fmt: str) -> None:
    config, book = target.open()
    from sheetcrm.mail.outbox import template_shelf  # after open(): see the note at the imports
    from sheetcrm.sync import last_memo, plan_sync, read_archive

    # The whole sync's plan, written nowhere: the steps check too (a form response's email,
    # a conversion's ambiguity, a workflow rule), so validate reports every issue sync would.
    with show.progress(fmt == "text") as bar:
        with bar.phase("reading"):
            snapshot = book.read()
        day = team_time.today(config)
        crm, _results, _plan = plan_sync(snapshot, config, day,
                                         sent_versions=Journal.versions_held(book), progress=bar,
                                         templates=template_shelf(config), memo=last_memo(book, snapshot),
                                         archive=read_archive(config, book, day, syncing=False))
    if fmt == "json":
        echo_json(json.dumps(crm.report.as_dict(crm.stats()), ensure_ascii=False, indent=2))
    else:
        _print_report(crm.report, book, crm.stats())
    sys.exit(0 if crm.report.valid else 1)


@main.command("sync", help=_("Validate, assign IDs, compute, and write computed columns and sheetcrm's tabs in "
                             "one batched write."))
@workbook_options
@click.option("--dry-run", is_flag=True, help=_("Print the plan (cells per tab) and write nothing."))
@click.option("--as-of", type=DATE, metavar=DATE_METAVAR, help=_("The sync's date (default: today in the team's time zone)."))
@FORMAT
@click.option("--strict", is_flag=True, help=_("Exit 1 when there are validation errors."))
@IGNORE_LOCK
@user_errors
def sync_command(target: Target, dry_run: bool, as_of: dt.datetime | None, fmt: str, strict: bool) -> None:
    config, book = target.open()
    from sheetcrm.sync import sync  # after open(): see the note at the imports

    if not dry_run:
        target.lock_for_writing(book, "sync")
    # Quote versions this machine already sent are never queued again, even with their Outbox
    # row gone (an older copy of the tab): docs/quotes.md, "The journal".
    with show.progress(fmt == "text") as bar:
        outcome = sync(book, config, as_of=as_of.date() if as_of else None, dry_run=dry_run,
                       sent_versions=Journal.versions_held(book), progress=bar)
    if fmt == "json":
        echo_json(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2, default=json_value))
    else:
        _print_sync(outcome, book)
        _print_mirrored(outcome.mirrored)
    sys.exit(1 if strict and not outcome.crm.report.valid else 0)


@main.command(help=_("List what the workflow rules fire and why; without --dry-run, sync so that they fire."))
@workbook_options
@click.option("--dry-run", is_flag=True, help=_("List what would fire and write nothing."))
@click.option("--as-of", type=DATE, metavar=DATE_METAVAR, help=_("The sync's date (default: today in the team's time zone)."))
@FORMAT
@IGNORE_LOCK
@user_errors
def workflows(target: Target, dry_run: bool, as_of: dt.datetime | None, fmt: str) -> None:
    config, book = target.open()
    from sheetcrm.sync import sync  # after open(): see the note at the imports

    if not dry_run:
        target.lock_for_writing(book, "workflows")
    with show.progress(fmt == "text") as bar:
        outcome = sync(book, config, as_of=as_of.date() if as_of else None, dry_run=dry_run,
                       sent_versions=Journal.versions_held(book), progress=bar)
    fired = outcome.workflows
    issues = [i for i in outcome.crm.report.issues if i.code.startswith("workflow")]
    if fmt == "json":
        echo_json(json.dumps({"dry_run": dry_run, "as_of": outcome.results.as_of.isoformat(),
                              "firings": fired.to_json() if fired else [],
                              "issues": [i.as_dict() for i in issues]}, ensure_ascii=False, indent=2, default=json_value))
        return
    rows = fired.to_json() if fired else []
    if not rows:
        echo(_("no workflow fires") if not dry_run else _("dry run: no workflow would fire"))
    else:
        echo(_("dry run: nothing written. What would fire:") if dry_run else _("What fired:"))
        echo_lines(show.table([_("Rule"), _("Record"), _("Why"), _("Action"), _("Result")],
                              [[f"{r['rule']} {r['name'] or ''}".strip(), r["record"], r["said"],
                                show.workflow_action(r["action"]), show.workflow_result(r["result"], r["message"])]
                               for r in rows]))
    for issue in issues:
        echo(_issue_line(issue), err=True)


AS_OF = click.option("--as-of", type=DATE, metavar=DATE_METAVAR, help=_("The date to compute for (default: today in the team's time zone)."))


@main.command(help=_("Print a segment's members (read-only) for a mailing tool: ID, name, email, owner…\n\n"
                     "NAME is a segment of the config's [segments] or of the Segments tab."))
@workbook_options
@click.argument("name", metavar=_("NAME"), cls=_Argument)
@click.option("--format", "fmt", type=click.Choice(["csv", "csv-plain", "json"]), default="csv", show_default=True,
              help=_("csv for a spreadsheet (UTF-8 with a byte order mark, cells separated by ; where the locale "
                     "writes a decimal comma, else by ,), csv-plain for a mailing tool (UTF-8, comma), json for "
                     "programs. In both CSVs a cell that would run as a formula starts with '."))
@AS_OF
@user_errors
def segment(target: Target, name: str, fmt: str, as_of: dt.datetime | None) -> None:
    config, book = target.open()
    from sheetcrm.sync import plan_context  # after open(): see the note at the imports
    from sheetcrm.validate import left_out

    ctx = plan_context(book.read(), config, as_of.date() if as_of else team_time.today(config))
    found = ctx.segments
    chosen = found.find(name)
    if chosen is None and (refused := found.refused.get(normalize_key(name))) is not None:
        # Defined but unusable: "there is no segment" would send the person looking for a typo.
        defined, said = refused
        place = f"{said.tab}!{said.column or ''}{said.row}" if said.row is not None else said.header
        _fail(_('the segment "{name}" is left out until its definition is fixed ({place}): {problem}',
                name=defined, place=place, problem=said.message))
    if chosen is None:
        _fail(_('there is no segment "{name}"; the segments are: {names}', name=name,
                names=", ".join(s.name for s in found.segments) or NOTHING))
    header, rows, records = found.target_list(chosen, ctx.config.locale)
    # Rows with errors are in no segment (validate: only sound records are computed with): an
    # export one member short with nothing said would be a silent loss, so one line says which.
    table = ctx.crm.tables.get(KINDS[chosen.kind])
    if table is not None and (out := left_out(table)) is not None:
        echo(ngettext("{count} with errors in {tab} is left out of this export until fixed, whether or not it "
                      "belongs to the segment: {listed}",
                      "{count} with errors in {tab} are left out of this export until fixed, whether or not they "
                      "belong to the segment: {listed}", out[0], count=count_of(out[0], KINDS[chosen.kind]),
                      tab=table.title, listed=out[1]), err=True)
    if held := found.unread_accounts.get(chosen.name):
        echo(ngettext("{count} contact whose account has errors is left out of this export until fixed, whether or "
                      "not it belongs to the segment: {listed}",
                      "{count} contacts whose accounts have errors are left out of this export until fixed, whether "
                      "or not they belong to the segment: {listed}", len(held), count=len(held),
                      listed=", ".join(held)), err=True)
    if doubted := found.ambiguous_accounts.get(chosen.name):
        echo(ngettext("{count} contact whose Account names more than one account is left out of this export until "
                      "fixed, whether or not it belongs to the segment: {listed}",
                      "{count} contacts whose Account names more than one account are left out of this export until "
                      "fixed, whether or not they belong to the segment: {listed}", len(doubted), count=len(doubted),
                      listed=", ".join(doubted)), err=True)
    if fmt == "json":
        document = {"segment": chosen.name, "record": KINDS[chosen.kind], "conditions": chosen.condition.text,
                    "kpis": found.kpis[chosen.name].to_json(), "members": records}
        echo_json(json.dumps(document, ensure_ascii=False, indent=2, default=json_value))
        return
    out = csv_text(header, rows).encode("utf-8") if fmt == "csv-plain" else spreadsheet_csv(
        header, rows, ctx.config.locale)
    click.echo(out, nl=False)  # bytes go to the binary stream as they are (the spreadsheet's BOM and encoding)


@contextmanager
def _read(target: Target, fmt: str) -> Iterator[tuple[Config, Workbook, Crm, Any]]:
    """The workbook read and validated under one progress display (shown for text output):
    (config, workbook, the read, the display, for the command's own phases after these). Read
    as a sync reads it (`validate.team_config`): a Spanish workbook with no `locale` in the config
    falls back on Spanish for its numbers, and the command speaks its language from here on
    (`team_config` settles it)."""
    config, book = target.open()
    from sheetcrm.validate import read_crm, team_config  # after open(): see the note at the imports

    with show.progress(fmt == "text") as bar:
        with bar.phase("reading"):
            snapshot = book.read()
        config = team_config(snapshot, config)
        with bar.phase("validating"):
            crm = read_crm(snapshot, config)
        yield config, book, crm, bar


def _results(target: Target, as_of: dt.datetime | None, fmt: str, **overrides: Any) -> Results:
    """The engine's results for the workbook, computed without writing anything."""
    return _computed(target, as_of, fmt, **overrides)[1]


def _computed(target: Target, as_of: dt.datetime | None, fmt: str, **overrides: Any) -> tuple[Crm, Results]:
    """The read and the engine's results for the workbook, computed without writing anything."""
    config, book = target.open()
    from sheetcrm.sync import plan_sync, read_archive  # after open(): see the note at the imports

    if overrides:
        config = config.model_copy(update=overrides)
    with show.progress(fmt == "text") as bar:
        with bar.phase("reading"):
            snapshot = book.read()
        day = as_of.date() if as_of else team_time.today(config)
        # keep_months: the calibration counts the history rows the sheet gave up to the warehouse.
        crm, results, _plan = plan_sync(snapshot, config, day, progress=bar,
                                        archive=read_archive(config, book, day, syncing=False))
    return crm, results




def _left_out(crm: Crm, keys: tuple[str, ...]) -> dict[str, tuple[str, int, str]]:
    """Tab key -> (its title, how many of its rows have errors, those rows listed), for the tabs
    of `keys` with some: figures short of them with nothing said would read as the whole sheet's."""
    from sheetcrm.validate import left_out

    out = {}
    for key in keys:
        table = crm.tables.get(key)
        if table is not None and (bad := left_out(table)) is not None:
            out[key] = (table.title, *bad)
    return out


def _left_out_lines(left: dict[str, tuple[str, int, str]], unread: Sequence[Any] = ()) -> list[str]:
    return [*(u.message() for u in unread)] + [ngettext("{count} with errors in {tab} is left out of these figures until fixed: {listed}",
                     "{count} with errors in {tab} are left out of these figures until fixed: {listed}", n,
                     count=count_of(n, key), tab=title, listed=listed)
            for key, (title, n, listed) in left.items()]


@main.command(help=_("Print the KPIs (read-only): win rate, revenue, pipeline, coverage, conversion…"))
@workbook_options
@AS_OF
@FORMAT
@user_errors
def kpis(target: Target, as_of: dt.datetime | None, fmt: str) -> None:
    crm, results = _computed(target, as_of, fmt)
    from sheetcrm.validate import KPI_TABS, unread_in  # after open(): see the note at the imports

    k, left, unread = results.kpis, _left_out(crm, KPI_TABS), unread_in(results.unread, KPI_TABS)
    if fmt == "json":
        echo_json(json.dumps({**k.to_json(), "left_out": {key: n for key, (_t, n, _l) in left.items()},
                              "columns_not_found": [u.to_json() for u in unread]},
                             ensure_ascii=False, indent=2))
        return
    _print_kpis(k, _quotas_tab(crm))
    if left or unread:
        echo()
        for line in _left_out_lines(left, unread):  # names rows by their IDs, a cell's text: escaped by echo
            echo(line)


@main.command(help=_("Print the forecast by month, per owner and in total, with stage calibration (read-only)."))
@workbook_options
@AS_OF
@click.option("--months", type=click.IntRange(1, 36), help=_("How many months ahead (default: the config's, 6)."))
@FORMAT
@user_errors
def forecast(target: Target, as_of: dt.datetime | None, months: int | None, fmt: str) -> None:
    overrides = {"forecast_months": months} if months else {}
    crm, results = _computed(target, as_of, fmt, **overrides)
    from sheetcrm.validate import FORECAST_TABS, unread_in  # after open(): see the note at the imports

    left, unread = _left_out(crm, FORECAST_TABS), unread_in(results.unread, FORECAST_TABS)
    if fmt == "json":
        # keep_months: a program is told too, never handed a silently different calibration.
        echo_json(json.dumps({**results.forecast.to_json(), "calibration_partial": results.calibration_partial,
                              "calibration_unknown_stages": list(results.calibration_unknown),
                              "calibration_older_copy": results.calibration_beyond,
                              "left_out": {key: n for key, (_t, n, _l) in left.items()},
                              "columns_not_found": [u.to_json() for u in unread]},
                             ensure_ascii=False, indent=2))
        return
    # People read the stages in their own words; JSON keeps the configured names, for programs.
    _print_forecast(results.in_team_words().forecast, results.kpis.currency, _left_out_lines(left, unread),
                    _quotas_tab(crm))
    if results.calibration_partial:  # keep_months: said, never a silently different calibration
        echo(_("The stage calibration counts only the Stage History the sheet holds: the older rows keep_months "
               "moved to the warehouse could not be read back."))
    if results.calibration_beyond:
        echo(_("The stage calibration counts only the Stage History the sheet holds: this looks like an older copy "
               "of the workbook (restored from a backup?), and which archived rows are its own cannot be told."))
    if results.calibration_unknown:
        echo(_("The stage calibration leaves out older Stage History rows keep_months moved to the warehouse: "
               "they name stages the config no longer has ({words}).",
               words=", ".join(quoted(w) for w in results.calibration_unknown)))


@main.command(help=_("Lead scores (read-only), or with --evaluate how well the learned model predicts conversion."))
@workbook_options
@AS_OF
@click.option("--evaluate", is_flag=True,
              help=_("Hold out part of the history and measure the model (ROC AUC, calibration)."))
@click.option("--seed", default=0, show_default=True, help=_("Seed of the hold-out split."))
@FORMAT
@user_errors
def score(target: Target, as_of: dt.datetime | None, evaluate: bool, seed: int, fmt: str) -> None:
    from sheetcrm.engine import leads_reading, leads_typed
    from sheetcrm.records import lead_status_choices

    if evaluate:
        with _read(target, fmt) as (config, _book, crm, bar):
            day = as_of.date() if as_of else team_time.today(config)
            try:
                with bar.phase("computing"):
                    data = evaluate_scoring(crm.records("leads"), crm.records("activities"), config.scoring, day,
                                            seed=seed, reading=leads_reading(crm), money=leads_typed(crm, "money"),
                                            rates=crm.inputs.rates if crm.inputs is not None else None,
                                            statuses=lead_status_choices(config.lead_statuses),
                                            percent=leads_typed(crm, "percent"))
            except ValueError as e:
                _fail(str(e))
        if fmt == "json":
            echo_json(json.dumps(data, indent=2))
        else:
            echo(ngettext("ROC AUC {auc} on {n} held-out lead ({trained} trained)",
                          "ROC AUC {auc} on {n} held-out leads ({trained} trained)", data["n_test"],
                          auc=show.number(data["auc"], 3), trained=show.number(data["n_train"])))
            if data["method"] != "learned":
                echo(_("Method: {method}", method=method_name(data["method"])))
                if data.get("note"):
                    echo(data["note"])
            if "model" in data:
                echo(_("Model: {model}, chosen by cross-validation on the trained leads", model=candidate_name(
                    data["model"])))
            elif "best_candidate" in data:
                echo(_("Best candidate, not used: {model} (by cross-validation on the trained leads)",
                       model=candidate_name(data["best_candidate"])))
            if data.get("candidates"):
                echo_lines(show.table(
                    [_("Candidate"), _("Cross-validated ROC AUC")],
                    [[candidate_name(c), show.number(auc, 3)] for c, auc in data["candidates"].items()], right=[1]))
            by_values = data.get("ignored_for_values") or []
            if filled := [c for c in data.get("ignored_columns") or [] if c not in by_values]:
                echo(_("Ignored {columns}: filled mostly on closed leads, so it describes the outcome",
                       columns=", ".join(quoted(c) for c in filled)))
            if by_values:
                echo(ngettext("Ignored {columns}: its values all but decide whether a lead converted, so it describes "
                              "the outcome",
                              "Ignored {columns}: their values all but decide whether a lead converted, so they "
                              "describe the outcome", len(by_values), columns=", ".join(quoted(c) for c in by_values)))
            echo_lines(show.table(
                [_("Scores"), _("Predicted"), _("Observed"), _("Leads")],
                # JSON's "40-50%" (for programs), in the reader's typography: "40–50 %" in Spanish
                [[show.band(*b["bin"].rstrip("%").split("-")), show.points(Decimal(str(b["predicted"]))),
                  show.points(Decimal(str(b["observed"]))), show.number(b["n"])] for b in data["calibration"]],
                right=[1, 2, 3]))
        return
    results = _results(target, as_of, fmt)  # the workbook's language, like the note and the Why (load, settle)
    ranked = sorted(results.scoring.scores.values(), key=lambda s: (-s.score, s.lead_id))
    if fmt == "json":
        echo_json(json.dumps({"method": results.scoring.method, "note": results.scoring.note,
                               "scores": [asdict(s) for s in ranked]}, ensure_ascii=False, indent=2))
        return
    method = results.scoring.method
    echo(_("{method}: {note}", method=method_name(method), note=results.scoring.note))
    if not ranked:  # a header over no rows reads as a table that failed to fill
        echo(_("no leads to score"))
        return
    shown = ranked[:20]
    echo_lines(show.table(
        [_("Lead"), _("Score"), _("Grade"), _("Conversion"), _("Why")],
        [[s.lead_id, s.score, s.grade,
          "" if s.conversion_pct is None else show.points(Decimal(str(s.conversion_pct))), s.why] for s in shown],
        right=[1, 3]))
    if len(ranked) > len(shown):
        echo(ngettext("… and {n} more lead (--format json lists every one)",
                      "… and {n} more leads (--format json lists every one)", len(ranked) - len(shown)))


def _issue_line(issue: Any) -> str:
    return _("  {severity} {cell}: {message} ({code}) → {hint}", severity=shown_severity(issue.severity),
             cell=issue.where(), message=issue.message, code=shown_code(issue.code), hint=issue.hint)


@main.command(help=_("Preview an opportunity's quote email (sends nothing), or --queue it as an Outbox Draft."))
@workbook_options
@click.argument("opportunity", metavar="OPP-ID")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              metavar=_("FOLDER"), help=_("Where the preview (.eml and .html) is written."))
@click.option("--queue", is_flag=True, help=_("Add a Draft row to the Outbox tab instead of writing a preview."))
@IGNORE_LOCK
@user_errors
def quote(target: Target, opportunity: str, out_dir: str, queue: bool) -> None:
    _none_empty(("--out", out_dir))  # "" was the current folder: the preview written where it was not asked
    from sheetcrm.mail import outbox as ob
    from sheetcrm.mail.names import UnsafePath, confined, safe_stem
    from sheetcrm.mail.smtp import smtp_settings
    from sheetcrm.validate import row_label

    config, book = target.open()
    if queue:
        target.lock_for_writing(book, "quote")
    now = team_time.now(config)
    desk = ob.Desk.read(book.read(), config)
    rows = desk.crm.find("opportunities", opportunity)
    if len(rows) > 1:
        _fail(_("{name} names {n} opportunities ({rows}); use its ID", name=quoted(opportunity), n=len(rows),
                rows=", ".join(map(row_label, rows))))
    if not rows or not rows[0].id:
        _fail(_("no opportunity {name} with an ID in {workbook} (run `sheetcrm sync` to give rows IDs)",
                name=quoted(opportunity), workbook=book.describe()))
    if rows[0].has_errors:
        title = desk.crm.tables["opportunities"].title
        for issue in desk.crm.report.issues:
            if issue.tab == title and issue.row == rows[0].row and issue.severity == "error":
                echo(_issue_line(issue), err=True)
        echo(_("{row} has errors; its quote cannot be prepared until they are fixed", row=row_label(rows[0])),
             err=True)
        sys.exit(1)
    opp = rows[0].record
    plan = Plan()
    [queued] = ob.plan_queue(desk, [opp], plan, ob.stamp(now), now.year)
    for issue in queued.problems:
        echo(_issue_line(issue), err=True)
    if queued.outcome == "blocked":
        echo(_("{opportunity}: the quote cannot be sent until these are fixed", opportunity=opp.id), err=True)
        sys.exit(1)
    if queue:
        if queued.outcome == "already":
            echo(_("{opportunity}: this version is already in the Outbox as {row} ({quote})", opportunity=opp.id,
                   row=queued.row_id, quote=queued.quote))
            return
        desk.plan_sequences(plan)
        skipped = book.write(plan).skipped
        if skipped:
            _fail(_("the Outbox changed while queueing; nothing was queued, run the command again"))
        echo(_("{opportunity}: queued {quote} as {row} (Draft); set its Status to Approved to send",
               opportunity=opp.id, quote=queued.quote, row=queued.row_id))
        return
    row = desk.outbox.find(queued.row_id or "")
    try:
        sender = smtp_settings(config.smtp).from_ or ""
    except ConfigError:
        sender = "quotes@example.com"  # a preview needs no server; the real From comes at send time
    templates = ob.templates_for(config)
    prepared = ob.prepare(desk, row, templates, sender, now, "preview")  # type: ignore[arg-type]
    if prepared.message is None:
        _fail(f"{opp.id}: {prepared.error}")
    # Named by opportunity and quote version, never by a cell's text as such: the names are
    # sanitised and confined to --out (sheetcrm.mail.names), and two previews never collide.
    folder = Path(out_dir)
    stem = f"{safe_stem(opp.id or '', 'opportunity')}-{safe_stem(queued.version or '', 'quote')}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        eml, html = confined(folder, f"{stem}.eml"), confined(folder, f"{stem}.html")
        eml.write_bytes(prepared.message.as_bytes())  # type: ignore[union-attr]
        html.write_text(prepared.message.get_body(("html",)).get_content(), encoding="utf-8")  # type: ignore[union-attr]
    except (OSError, UnsafePath) as e:
        _fail(_("cannot write the preview in {folder}: {error}", folder=folder, error=os_problem(e)))
    echo(_("{opportunity}: preview of {quote} to {to}: wrote {eml} and {html} (nothing sent)",
           opportunity=opp.id, quote=queued.quote, to=row.text("to"), eml=eml, html=html))  # type: ignore[union-attr]


@main.group(help=_("The Outbox tab: quote emails waiting for approval and delivery."))
def outbox() -> None:
    pass


OUTCOMES = (("sent", N_("sent")), ("restored", N_("set back by the journal")), ("retrying", N_("will retry")),
            ("failed", N_("failed")), ("redrafted", N_("back to Draft")), ("unknown", N_("outcome unknown, check by hand")),
            ("changed", N_("changed by someone meanwhile, left alone")))


@outbox.command("send", help=_("Send the Approved rows of the Outbox, each exactly once. Exit 1 when a row needs "
                                "a person or a setting stops every send."))
@workbook_options
@click.option("--now", "early", is_flag=True, help=_("Also send the rows waiting for their Next Try, now."))
@IGNORE_LOCK
@user_errors
def outbox_send(target: Target, early: bool) -> None:
    import secrets

    from sheetcrm.mail import outbox as ob
    from sheetcrm.mail.smtp import SmtpSender, smtp_settings

    config, book = target.open()
    settings = smtp_settings(config.smtp)
    target.lock_for_writing(book, "outbox send")  # not for people: the command, named in the lock
    setup = None
    try:
        report = ob.send_outbox(book, config, settings, ob.templates_for(config), lambda: SmtpSender(settings),
                                clock=lambda: team_time.now(config), token=lambda: secrets.token_hex(8),
                                early=early)
    except ob.SetupError as e:
        report, setup = e.report, str(e)
    for field, label in OUTCOMES:
        for row_id in getattr(report, field):
            detail = report.details.get(row_id)
            if detail:
                echo(_("{row}: {outcome}: {detail}", row=row_id, outcome=_(label), detail=detail))
            else:
                echo(_("{row}: {outcome}", row=row_id, outcome=_(label)))
    if report.held:
        echo(_("{rows}: not sent, waiting at Approved until the setting below is fixed", rows=", ".join(report.held)))
    for row in report.stuck:
        echo(_("{row}: still Sending since {since}; it may have been delivered. Check for {message_id}, then set "
               "Status to Sent, or run `sheetcrm outbox resend {row}` to send it again.", row=row.text("id"),
               since=row.text("last_try") or "?", message_id=row.text("message_id")))
    for row in report.waiting:
        echo(_("{row}: waiting until {when} ({error}); `sheetcrm outbox send --now` sends it now",
               row=row.text("id"), when=row.text("next_try"), error=row.text("error") or _("no error")))
    for warning in report.warnings:
        echo(_("sheetcrm: warning: {warning}", warning=warning), err=True)
    for issue in report.unread:  # a Status typed "Aproved": not sent, and the person must hear it
        echo(_("sheetcrm: {cell}: {message} {hint}", cell=issue.where(), message=issue.message, hint=issue.hint),
             err=True)
    if not any((report.sent, report.restored, report.retrying, report.failed, report.redrafted, report.unknown,
                report.changed, report.stuck, report.held, report.waiting, report.unread)):
        echo(_("nothing to send"))
    if setup:
        echo(f"sheetcrm: {setup}", err=True)  # not for people: the program's name before its one line
    sys.exit(1 if setup or report.failed or report.redrafted or report.unknown or report.stuck or report.unread else 0)


@outbox.command("resend", help=_("Send a quote again: the row goes back to Approved with a new Message-ID to come, "
                                  "and the journal lets its version go out once more. The next `outbox send` "
                                  "sends it."))
@workbook_options
@click.argument("row_id", metavar="OUT-ID")
@IGNORE_LOCK
@user_errors
def outbox_resend(target: Target, row_id: str) -> None:
    from sheetcrm.mail import outbox as ob

    config, book = target.open()
    # A write like any other: never while an app has the file open (its next save would undo
    # it) nor while another sheetcrm command writes it (an `outbox send` mid-run).
    target.lock_for_writing(book, "outbox resend")  # not for people: the command, named in the lock
    desk = ob.Desk.read(book.read(), config)
    row = desk.outbox.find(row_id)
    if row is None:
        _fail(_("no row {row} in the Outbox of {workbook}", row=quoted(row_id), workbook=book.describe()))
    # `outbox send` never sends such a row: resending it would promise what send then refuses.
    if (why := ob.strangers(desk.outbox).get(row.row)) is not None:  # type: ignore[union-attr]
        _fail(_("{row} cannot be sent again: {why}", row=row_id, why=why))
    if book.write(ob.plan_resend(desk.outbox, row, desk.config.locale)).skipped:  # type: ignore[arg-type]
        _fail(_("{row} changed while resending; nothing was changed, run the command again", row=row_id))
    with Journal.beside_lock(book) as journal:
        journal.release(row.text("version"))  # type: ignore[union-attr]
    echo(_("{row}: back to Approved; the next `sheetcrm outbox send` sends it again with a new Message-ID",
           row=row_id))


@main.command("import", help=_("Import a CSV or .xlsx export (HubSpot, Pipedrive, Salesforce, Zoho…) into a tab: new "
                               "records are appended with IDs, existing ones matched, bad rows rejected with reasons. "
                               "Never overwrites a cell."))
@workbook_options
@click.argument("file", type=click.Path(readable=False), metavar=_("FILE"), cls=_Argument)
@click.option("--tab", required=True, type=click.Choice(["leads", "contacts", "accounts", "opportunities"]),
              help=_("The tab the file's rows go to."))
@click.option("--dry-run", is_flag=True, help=_("Say what would happen and write nothing."))
@click.option("--fill-blanks", is_flag=True, help=_("Also fill the empty cells of matched records from the file."))
@FORMAT
@IGNORE_LOCK
@user_errors
def import_command(target: Target, file: str, tab: str, dry_run: bool, fill_blanks: bool, fmt: str) -> None:
    from sheetcrm.intake.importer import ImportFileError, import_file, readable

    try:
        readable(Path(file))  # before the workbook: a mistyped file name is said in one line, nothing opened
    except ImportFileError as e:
        _fail(str(e))
    config, book = target.open()
    if not dry_run:
        target.lock_for_writing(book, "import")
    with show.progress(fmt == "text") as bar:
        result = import_file(book, config, Path(file), tab, dry_run=dry_run, fill_blanks=fill_blanks, progress=bar)
    if fmt == "json":
        echo_json(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return
    counts = result.counts
    filled = sum(r.filled for r in result.rows)
    said = dict(file=Path(file).name, tab=result.tab, added=show.number(counts["added"]),
                matched=show.number(counts["matched"]), rejected=show.number(counts["rejected"]))
    echo(_("{file} → {tab} (dry run, nothing written): {added} added, {matched} matched, {rejected} rejected", **said)
         if dry_run else _("{file} → {tab}: {added} added, {matched} matched, {rejected} rejected", **said))
    added = [r.id for r in result.rows if r.status == "added" and r.id]
    if added:
        shown_ids = ", ".join(added[:IMPORT_IDS_SHOWN]) + (f", … {added[-1]}" if len(added) > IMPORT_IDS_SHOWN else "")
        echo(_("new IDs: {ids}", ids=shown_ids) if not dry_run else _("new IDs it would give: {ids}", ids=shown_ids))
    if filled:
        echo(ngettext("{n} empty cell of matched records filled", "{n} empty cells of matched records filled", filled))
    if result.ignored:
        echo(_("columns with no place in {tab}, left out: {columns}", tab=result.tab,
               columns=", ".join(result.ignored)))
    shown = [r for r in result.rows if r.status != "added"]
    words = {"matched": _("matched"), "rejected": _("rejected")}
    lines = [[show.number(r.line), words[r.status], r.id or show.NOTHING, "; ".join(r.reasons)]
             for r in shown[:IMPORT_ROWS_SHOWN]]
    if lines:
        echo_lines(show.table([_("Row"), _("Outcome"), _("Record"), _("Reason")], lines, right=[0]))
    if len(shown) > IMPORT_ROWS_SHOWN:
        echo(ngettext("… and {n} more row (--format json lists every row)",
                      "… and {n} more rows (--format json lists every row)", len(shown) - IMPORT_ROWS_SHOWN))
    doubts = [*result.warnings, *(w for r in result.rows for w in r.warnings)]
    if doubts:
        echo(ngettext("{n} value was read with a doubt; check it:", "{n} values were read with a doubt; check them:",
                      len(doubts)))
        for issue in doubts[:IMPORT_ROWS_SHOWN]:
            echo(_issue_line(issue))
        if len(doubts) > IMPORT_ROWS_SHOWN:
            echo(ngettext("… and {n} more (--format json lists every one)",
                          "… and {n} more (--format json lists every one)", len(doubts) - IMPORT_ROWS_SHOWN))
    if result.written is not None and result.written.skipped:
        echo(ngettext("{n} cell changed meanwhile and was left alone; import again to finish",
                      "{n} cells changed meanwhile and were left alone; import again to finish",
                      len(result.written.skipped)))


IMPORT_ROWS_SHOWN = 50  # matched and rejected rows, and warnings, listed; --format json has them all
IMPORT_IDS_SHOWN = 10  # the first new IDs named, then the last (they run in sequence)


@main.command(help=_("Serve a local Google Sheets API v4 emulator (set SHEETS_EMULATOR_HOST to use it)."))
@click.option("--host", default="127.0.0.1", show_default=True, help=_("The address to listen on."))
@click.option("--port", default=8085, show_default=True, type=click.IntRange(0, 65535),
              help=_("The port to listen on."))
@click.option("--data", type=click.Path(dir_okay=False), metavar=_("FILE"),
              help=_("Keep the emulator's state in this JSON file."))
def emulator(host: str, port: int, data: str | None) -> None:
    _none_empty(("--data", data))
    from sheetcrm.emulator import serve

    def ready(url: str, ids: list[str], reach: str, empty: str | None = None) -> None:
        # The emulator imports nothing of sheetcrm (its own words would be English only): said here.
        echo(_("Google Sheets API emulator listening on {url}", url=url))
        for sid in ids:
            echo(_("  spreadsheet {id} (empty)", id=sid) if sid == empty else _("  spreadsheet {id}", id=sid))
        echo(_("use it with: export SHEETS_EMULATOR_HOST={host}", host=reach))
        sys.stdout.flush()  # read line by line by whoever started it (a script waiting for the port)

    try:
        serve(host, port, data, ready)
    except OSError as e:
        _fail(_("cannot serve on {host}:{port}: {error}", host=host, port=port, error=os_problem(e)))


@main.command(help=_("Accept website form posts at POST /leads, keep them on disk, and append them to the "
                      "workbook as leads (docs/leads.md, \"Web-to-lead from a website form\")."))
@workbook_options
@click.option("--host", default="127.0.0.1", show_default=True, help=_("The address to listen on."))
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help=_("The port to listen on."))
@user_errors
def serve(target: Target, host: str, port: int) -> None:
    try:
        from sheetcrm.intake.web import SECRET_ENV, Drainer, WebServer, make_app
    except ImportError:
        _fail(_("sheetcrm serve needs the web extra: pip install '.[web]' in sheetcrm's folder (the clone it was "
                "installed from), or pip install 'sheetcrm[web]'"))
    from sheetcrm.intake.queue import WebQueue

    config, book = target.open()
    secret = os.environ.get(SECRET_ENV)
    with WebQueue.beside_lock(book) as queue:
        try:
            server = WebServer(make_app(config, queue, secret.encode() if secret else None), host, port)
        except OSError as e:
            _fail(_("cannot serve on {host}:{port}: {error}", host=host, port=port, error=os_problem(e)))
        # The queue drains in this process, under the workbook's lock per round (docs/leads.md).
        drainer = Drainer(book, config, queue, config.serve.sync_every).start()
        # A person who starts it sees where to point the form, as `sheetcrm emulator` says its
        # address; uvicorn's own lines are off (log_level="warning"), so it said nothing at all.
        url, seconds = "http://" + server.address + "/leads", format(config.serve.sync_every, "g")
        echo(_("accepting website form posts at POST {url}: they are added to {workbook} as leads every "
               "{seconds} s and when it stops (Ctrl-C)", url=url, workbook=book.describe(), seconds=seconds))
        try:
            server.run()
        finally:
            # The last drain can wait on a dead network: a second signal stops it at once, as a
            # second Ctrl-C does (one line, exit 130; the submissions stay queued), and as
            # `sheetcrm run` stops its exit's write. SIGTERM had its default back here: the
            # process died by it (-15), no line.
            with _sigterm_interrupts():
                drainer.stop()
                drainer.once()


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt meanwhile: `_Commands.invoke` says it in one line and exits 130."""
    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt) if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


@main.command(help=_("Run the jobs on their schedule until SIGINT/SIGTERM (the job in flight finishes first).\n\n"
                      "One instance per workbook; a second one exits 2 naming the first one's PID."))
@workbook_options
@click.option("--every", metavar="30s|5m|1h", help=_("Sync interval (default: the config's [schedule] sync)."))
@click.option("--once", is_flag=True, help=_("Run every job once and exit (for cron): exit 1 if one failed."))
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help=_("Log lines on stderr as text or as one JSON object each."))
@click.option("--fleet", "fleet_path", type=click.Path(readable=False), metavar=_("FILE"),
              help=_("Run every workbook of a fleet file (fleet.toml) in this one process, under a shared "
                     "request budget (docs/scaling.md)."))
@IGNORE_LOCK
@user_errors
def run(target: Target, every: str | None, once: bool, log_format: str, fleet_path: str | None) -> None:
    try:
        _run(target, every, once, log_format, fleet_path)
    except (ConfigError, WorkbookError, WarehouseError) as e:
        if log_format != "json":
            raise  # `user_errors`: one line, exit 2
        # The one line as the log's other lines are, JSON: a collector reading a JSON stream
        # (journald's, a container's) dropped or mangled the plain `sheetcrm: …` line, the one
        # that says why the service is not running.
        from sheetcrm import logs

        logger, _console = logs.setup(log_format)
        logger.error(str(e), extra={"fields": {"event": "failed"}})
        sys.exit(EXIT_USAGE)


def _run(target: Target, every: str | None, once: bool, log_format: str, fleet_path: str | None) -> None:
    from sheetcrm import logs
    from sheetcrm.lock import remove_stale_temp_files
    from sheetcrm.service import RequestCounter, Service, parse_every

    _none_empty(("--fleet", fleet_path))
    if fleet_path is not None:
        _run_fleet(target, every, once, log_format, fleet_path)
        return
    try:
        # The flag takes "5m", or the whole phrase its own message offers ("every 5 minutes"),
        # which read as "every every 5 minutes" was refused, quoted back doubled.
        whole = [w.casefold() for w in (every or "").split()[:1]] == ["every"]  # not for people: config syntax
        phrase = every if whole else f"every {every}"  # not for people: the phrase parsed
        sync_every = parse_every(phrase) if every is not None else None
    except ValueError as e:
        # One line naming the flag, as a config mistake names its key (click's usage text is four).
        raise ConfigError(_("{key}: {problem}", key="--every", problem=e)) from None
    from sheetcrm.workbook.target import open_workbook

    config = load(target.config_path)
    counter = RequestCounter()
    book = open_workbook(config, target.workbook, target.spreadsheet, target.credentials, tracer=counter,
                         ignore_app_lock=target.ignore_lock)
    logger, console = logs.setup(log_format)
    # Each write checks for an app's lock file itself (it may come and go while the service runs).
    with stop_while_waiting(logger), run_lock(book, once, logger):
        if hasattr(book, "path"):
            remove_stale_temp_files(book.path)
        service = Service(config, book, logger, counter=counter, console=console, sync_every=sync_every)
        if once:
            sys.exit(0 if service.run_once() else 1)
        service.serve()


class _Stopped(BaseException):
    """SIGTERM reached `sheetcrm run` before its service had started (`stop_while_waiting`). A
    BaseException, as KeyboardInterrupt is: raised inside a log line's write (the waiting line),
    an Exception was swallowed by logging's handleError and the wait went on for good."""


@contextmanager
def stop_while_waiting(logger: logging.Logger) -> Iterator[None]:
    """SIGTERM while `sheetcrm run` waits for another command's lock (which the service does for
    as long as the write takes): a stop asked before any job, so exit 0 with one line, as the
    README promises for SIGTERM. Without it the default handler killed the process (exit 143,
    no line), which a systemd unit's stop reports as a failure. The service puts its own
    handlers in place once it runs (`Service._signals`), so this covers the wait alone."""
    def stop(signum: int, _frame: object) -> None:
        raise _Stopped(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except _Stopped as e:
        logger.info(_("{signal}: stopped while waiting for the workbook, before any job", signal=e.args[0]),
                    extra={"fields": {"event": "signal", "signal": e.args[0]}})
        sys.exit(0)
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_lock(book: Workbook, once: bool, logger: logging.Logger) -> WorkbookLock:
    """The lock `sheetcrm run` holds on `book` (not yet taken): for good, or for one `--once` run."""
    from sheetcrm.lock import WAIT_SECONDS, WorkbookLock

    # The service waits out a command's write however long it takes (an import, a slow sync): it
    # gave up after WAIT_SECONDS with exit 2, which a systemd unit does not restart, so a restart
    # that met a person's `sheetcrm sync` left the workbook unsynced until someone noticed.
    # `--once` (cron) still gives up: the next tick comes anyway. It is named so in the lock: a
    # command that ends, which the others wait for. Named "run", it was taken for the service
    # itself: a service started meanwhile (a restart, a move from cron to systemd) exited 2 at
    # once, which systemd does not restart, and a person's `sheetcrm sync` was told to stop it.
    return WorkbookLock(book, command="run --once" if once else "run", wait=WAIT_SECONDS if once else math.inf,
                        waiting=lambda line: logger.warning(line, extra={"fields": {"event": "waiting"}}))


def _run_fleet(target: Target, every: str | None, once: bool, log_format: str, fleet_path: str) -> None:
    from sheetcrm import logs
    from sheetcrm.fleet.runner import Fleet
    from sheetcrm.fleet.settings import load_fleet

    given = [flag for flag, value in (("--workbook", target.workbook), ("--spreadsheet", target.spreadsheet),
                                      ("--credentials", target.credentials), ("--config", target.config_path),
                                      ("--every", every), ("--ignore-lock", target.ignore_lock or None))
             if value is not None]
    if given:
        raise click.UsageError(_("--fleet takes every workbook, its config and its schedule from the fleet file; "
                                 "leave out {flags}", flags=", ".join(given)))
    settings = load_fleet(fleet_path)
    logger, _console = logs.setup(log_format)  # a progress bar per workbook would be noise: log lines only
    running = Fleet(settings, logger)
    if once:
        # As `run --once` on one workbook: 2 when a config or a workbook could not even be opened.
        ok = running.run_once()
        sys.exit(0 if ok else EXIT_USAGE if running.unopened else 1)
    running.serve()


@main.group(help=_("Many workbooks in one process: `sheetcrm run --fleet fleet.toml`, and what it is doing."))
def fleet() -> None:
    pass


@fleet.command("status", help=_("Each workbook of a running (or stopped) fleet: last sync, next sync, failures in a "
                                "row, requests in the last minute. Read-only."))
@click.option("--fleet", "fleet_path", type=click.Path(readable=False), metavar=_("FILE"), default="fleet.toml",
              show_default=True, help=_("The fleet file; its `state` names the file the fleet writes."))
@FORMAT
@user_errors
def fleet_status(fleet_path: str, fmt: str) -> None:
    _none_empty(("--fleet", fleet_path))
    from sheetcrm.fleet import status
    from sheetcrm.fleet.settings import load_fleet

    path = load_fleet(fleet_path).state_path
    state = status.read_state(path)
    state["running"] = status.running(state, path)
    if fmt == "json":
        echo_json(json.dumps(state, ensure_ascii=False, indent=2))
        return
    echo(ngettext("fleet of {n} workbook, state written {when} by PID {pid}",
                  "fleet of {n} workbooks, state written {when} by PID {pid}", len(state.get("workbooks", [])),
                  when=status.short(state.get("written_at")), pid=state.get("pid")))
    if not state["running"]:
        echo(_("the fleet is not running: this is the state it left"))
    used, budget = state.get("requests_last_minute"), state.get("budget")
    if used and budget:
        echo(_("requests in the last minute: {reads} of {read_budget} reads, {writes} of {write_budget} writes "
               "(the project's budget)", reads=used["read"], read_budget=budget["read"], writes=used["write"],
               write_budget=budget["write"]))
    echo_lines(show.table([_("Workbook"), _("State"), _("Last sync"), _("Next sync"), _("Failures"),
                           _("Requests in the last minute")], status.rows(state), right=(4, 5)))


# -- what the commands print -------------------------------------------------------------------

def _counts(rows: int, errors: int, warnings: int) -> dict[str, str]:
    return {"rows": ngettext("{n} row", "{n} rows", rows), "errors": ngettext("{n} error", "{n} errors", errors),
            "warnings": ngettext("{n} warning", "{n} warnings", warnings)}


def _print_report(report: Report, book: Workbook, stats: dict[str, Any]) -> None:
    echo(_("{workbook}: {rows}, {errors}, {warnings}", workbook=book.describe(),
           **_counts(stats["rows"], report.errors, report.warnings)))
    if report.partial:
        echo(ngettext("(showing the first issue)", "(showing the first {n} issues)", len(report.issues)))
    if not report.issues:
        return  # the counts above say it: a header over no rows says nothing more
    echo_lines(show.table(
        [_("Severity"), _("Cell"), _("Column"), _("Problem")],
        [[shown_severity(i.severity), i.where(), i.header or "", _("{message} ({code}) → {hint}", message=i.message,
                                                                code=shown_code(i.code), hint=i.hint)]
         for i in report.issues]))


STEPPED_ASIDE = N_("the tab '{team}' is yours (it has a sheetcrm name but not sheetcrm's mark): it is left alone, "
                   "and sheetcrm writes its own to '{ours}'")


def _print_sync(outcome: SyncOutcome, book: Workbook) -> None:
    report = outcome.crm.report
    stats = outcome.crm.stats()
    tabs = ngettext("{n} tab", "{n} tabs", len(stats["tabs"]))
    echo(_("read {rows} in {tabs}: {errors}, {warnings}", tabs=tabs,
           **_counts(stats["rows"], report.errors, report.warnings)))
    for column in outcome.results.unread:  # the Dashboard's figures are short of it: said here too
        echo(column.message())
    for team, ours in outcome.stepped_aside:  # only when sheetcrm's tab is created: said once
        echo(_(STEPPED_ASIDE, team=team, ours=ours))
    planned = outcome.plan.cells_by_tab()
    if outcome.dry_run:
        echo(_("dry run: nothing written. The plan:") if outcome.plan else _("dry run: nothing to change"))
        if planned:
            echo_lines(_cells_table(planned))
        echo_lines(show.rows_and_references(outcome.plan.deletes_by_tab(), outcome.plan.replaced_by_tab()))
        return
    if not outcome.plan:
        echo(_("nothing to change"))
        return
    written = outcome.cells_written
    total = sum(written.values())
    echo(ngettext("wrote {n} cell to {workbook}", "wrote {n} cells to {workbook}", total, workbook=book.describe()))
    if outcome.plan.new_tabs:
        echo(ngettext("new tab: {tabs}", "new tabs: {tabs}", len(outcome.plan.new_tabs),
                      tabs=", ".join(outcome.plan.new_tabs)))
    echo_lines(_cells_table(written))
    if outcome.result:
        echo_lines(show.rows_and_references(outcome.result.deleted, outcome.result.replaced))
    if outcome.result and outcome.trimmed:
        echo(ngettext("keep_months: {n} older row of history or Sync Log now only in the warehouse",
                      "keep_months: {n} older rows of history or Sync Log now only in the warehouse",
                      sum(outcome.trimmed.values())))
    for line in outcome.result.warnings if outcome.result else ():
        echo(line)
    if outcome.result and outcome.result.skipped:
        echo(ngettext("{n} cell skipped because its row changed meanwhile; the next sync plans it again",
                      "{n} cells skipped because their rows changed meanwhile; the next sync plans them again",
                      len(outcome.result.skipped)))


def _print_mirrored(mirrored: Mirrored | None) -> None:
    """The warehouse's line after a sync; a failure was logged on stderr already (sheetcrm.warehouse.mirror)."""
    if mirrored is None or mirrored.outcome in ("failed", "behind", "older"):  # "older": its line said it
        return
    if mirrored.outcome == "unchanged":
        echo(_("warehouse: up to date"))
    else:
        echo(ngettext("warehouse: mirrored {n} row", "warehouse: mirrored {n} rows", mirrored.rows)
             + (ngettext(", {n} tombstoned", ", {n} tombstoned", mirrored.tombstoned) if mirrored.tombstoned else ""))


@main.group(help=_("The warehouse mirror: every sync's records in a SQL database ([warehouse] url in the config)."))
def warehouse() -> None:
    pass


def _warehouse_settings(config_path: str | None) -> WarehouseSettings:
    _none_empty(("--config", config_path))
    config = load(config_path)
    if config.warehouse is not None:
        return config.warehouse
    if os.environ.get(ENV_URL):
        try:
            return WarehouseSettings()  # held to the rules of a [warehouse] section's url
        except ValidationError as e:
            raise ConfigError(problem(e.errors()[0])) from None
    if config.source is None:  # no config file at all: naming one would send the reader looking for it
        raise ConfigError(_("no warehouse: ${env} is not set and there is no {file} in this folder; set ${env} to "
                            "the database's URL (postgresql://… or sqlite:///crm.db), or give --config a file with "
                            "a [warehouse] section", file=CONFIG_FILE, env=ENV_URL))
    raise ConfigError(_("{file}: no [warehouse] section, and ${env} is not set; add one with url = "
                        "\"postgresql://…\" or \"sqlite:///crm.db\", or set ${env}", file=config.source, env=ENV_URL))


WAREHOUSE_CONFIG = click.option("--config", "config_path", type=click.Path(readable=False), metavar=_("FILE"),
                                help=_("Config file (default: ./{file} when present).", file=CONFIG_FILE))


def _warehouse_module() -> Any:
    try:
        from sheetcrm.warehouse import mirror
    except ImportError as e:
        _fail(_("the [warehouse] section needs the warehouse extra ({module} is missing): "
                "pip install '.[warehouse]' in sheetcrm's folder (the clone it was installed from), or pip "
                "install 'sheetcrm[warehouse]'", module=e.name or e))
    return mirror


@warehouse.command("init", help=_("Create the warehouse's tables, or migrate them to this version (a sync does it too)."))
@WAREHOUSE_CONFIG
@user_errors
def warehouse_init(config_path: str | None) -> None:
    settings = _warehouse_settings(config_path)
    revision = _warehouse_module().init(settings)
    echo(_("warehouse {url}: tables at revision {revision}", url=_masked(settings), revision=revision))


@warehouse.command("status", help=_("What the warehouse holds: its revision, what was mirrored when, rows per table."))
@WAREHOUSE_CONFIG
@FORMAT
@user_errors
def warehouse_status(config_path: str | None, fmt: str) -> None:
    settings = _warehouse_settings(config_path)
    state = _warehouse_module().status(settings)
    if fmt == "json":
        echo_json(json.dumps(state.as_dict(), ensure_ascii=False, indent=2, default=json_value))
        return
    echo(_("warehouse: {url}", url=state.url))
    if state.revision is None:
        echo(_("no tables yet: run `sheetcrm warehouse init`, or sync"))
        return
    if state.revision == state.head:
        echo(_("tables at revision {revision} (current)", revision=state.revision))
    else:
        echo(_("tables at revision {revision}; this sheetcrm's is {head}: run `sheetcrm warehouse init`",
               revision=state.revision, head=state.head))
    if not state.marks:
        echo(_("nothing mirrored yet"))
    for mark in state.marks:
        echo(ngettext("{source}: mirrored up to the sync of {day}, at {at} ({n} row)",
                      "{source}: mirrored up to the sync of {day}, at {at} ({n} rows)", mark["rows"],
                      source=mark["source"], day=_day(mark["as_of"]),
                      at=_moment(mark["mirrored_at"], team_time.team_zone(load(config_path)))))
    echo_lines(show.table([_("Table"), _("Rows"), _("Deleted")],
                          [[name, show.number(n.get("live", n.get("rows", 0))),
                            show.number(n["deleted"]) if "deleted" in n else ""]
                           for name, n in state.tables.items()], right=[1, 2]))


def _moment(value: Any, zone: dt.tzinfo | None = None) -> str:
    # As the reader writes dates and times (Spanish: "2 dic 2026, 23:27:32"), never ISO in a Spanish
    # line; an instant on the team's clock (`zone`, None: the machine's), as the line gives no zone.
    return show.moment(value.astimezone(zone)) if isinstance(value, dt.datetime) else str(value)


def _day(value: Any) -> str:
    return show.day(value) if isinstance(value, dt.date) else str(value)


def _masked(settings: WarehouseSettings) -> str:
    from sheetcrm.warehouse.settings import masked

    return masked(settings.effective_url())


def _cells_table(cells: dict[str, int]) -> list[str]:
    return show.table([_("Tab"), _("Cells")], [[tab, show.number(n)] for tab, n in cells.items()], right=[1])


def _quotas_tab(crm: Crm) -> str:
    """The Quotas tab's title as the workbook has it, as the Validation tab names it."""
    assert crm.inputs is not None
    return crm.inputs.quotas_title or tab_title("quotas", current())


def _print_kpis(k: Kpis, quotas: str) -> None:
    team, cur = k.team, k.currency
    label = lambda key: _(KPIS[key][0])  # noqa: E731
    coverage = (NOTHING if k.pipeline_coverage is None
                else _("{multiple}×", multiple=show.number(k.pipeline_coverage, 2)))
    echo(_("KPIs as of {day}, in {currency}", day=show.day(k.as_of), currency=cur))
    echo_lines(show.table([_("KPI"), _("Value")], [
        [label("win_rate"), show.points(team.win_rate)],
        [label("won_revenue"), show.money(team.won_revenue, cur)],
        [label("won_count"), show.number(team.won_count)],
        [label("lost_count"), show.number(team.lost_count)],
        [label("avg_won_amount"), show.money(team.avg_won_amount, cur)],
        [label("avg_sales_cycle_days"), show.number(team.avg_sales_cycle_days, 1)],
        [label("open_pipeline"), show.money(team.open_pipeline, cur)],
        [label("weighted_pipeline"), show.money(team.weighted_pipeline, cur)],
        [label("pipeline_coverage"), coverage],
        [label("rotting_deals"), show.number(k.rotting_deals)],
        [label("churn_rate"), show.points(k.churn_rate)],
    ], right=[1]))
    if k.by_owner:
        echo()
        echo_lines(show.table(
            [_("Owner"), label("win_rate"), label("won_count"), label("lost_count"), label("won_revenue"),
             label("open_pipeline"), label("weighted_pipeline")],
            [[owner_label(owner), show.points(o.win_rate), show.number(o.won_count), show.number(o.lost_count),
              show.money(o.won_revenue, cur), show.money(o.open_pipeline, cur), show.money(o.weighted_pipeline, cur)]
             for owner, o in k.by_owner.items()], right=range(1, 7)))
    owners = sorted(set(k.activities_by_owner) | set(k.overdue_tasks_by_owner))
    if owners:
        echo()
        echo_lines(show.table(
            [_("Owner"), _("Activities, 7 days"), _("Activities, 30 days"), _("Overdue tasks")],
            [[owner_label(owner), show.number(k.activities_by_owner.get(owner, (0, 0))[0]),
              show.number(k.activities_by_owner.get(owner, (0, 0))[1]),
              show.number(k.overdue_tasks_by_owner.get(owner, 0))] for owner in owners], right=[1, 2, 3]))
    for what, table, conversions in ((_("Source"), "source", k.lead_conversion_by_source),
                                     (_("Campaign"), "campaign", k.lead_conversion_by_campaign)):
        if conversions:
            echo()
            echo_lines(show.table(
                [what, _("Leads"), _("Converted"), _("Conversion rate")],
                [[conversion_label(name, table), show.number(c.leads), show.number(c.converted), show.points(c.rate)]
                 for name, c in conversions.items()], right=[1, 2, 3]))
    if k.won_revenue_by_campaign:
        echo()
        echo_lines(show.table([_("Campaign"), _("Won revenue from its leads' accounts")],
                              [[name, show.money(v, cur)] for name, v in k.won_revenue_by_campaign.items()], right=[1]))
    if k.lifetime_value:
        echo()
        # A blank value (a won deal with no rate) first, as on the Dashboard: it may be the largest.
        top = sorted(k.lifetime_value.items(), key=lambda item: (item[1] is not None, -(item[1] or 0), item[0]))
        echo_lines(show.table([_("Account"), _("Lifetime value")],
                              [[name, show.money(v, cur)] for name, v in top[:TOP]], right=[1]))
        if len(top) > TOP:
            echo(ngettext("… and {n} more account (--format json lists every one)",
                          "… and {n} more accounts (--format json lists every one)", len(top) - TOP))
    if k.pipeline_coverage_basis == "quota_unread":
        echo()
        echo(_("Pipeline coverage is blank: a quota of this quarter on the {tab} tab cannot be read (sheetcrm "
               "validate shows the cell)", tab=quotas))
    elif k.pipeline_coverage_basis == "quota_partial":
        echo()
        # Whose quota to complete: with several owners the reader should not hunt for it.
        echo(_("Pipeline coverage is blank: the {tab} tab gives {owners} a quota for only some months of this "
               "quarter, so what is left to win of the quarter is not known (give each of its months a quota)",
               tab=quotas, owners=", ".join(k.quota_partial_owners)))
    elif k.pipeline_coverage_basis == "amounts_unread":
        echo()
        echo(_("Pipeline coverage is blank: no deal's amount is read (below)"))
    elif k.pipeline_coverage_basis == "missing_rate":
        echo()
        echo(_("Pipeline coverage is blank: a deal it would count has no exchange rate (below)"))
    elif (said := coverage_said(k, quotas)) is not None:
        echo()
        echo(said)
    if k.missing_rates:
        echo()
        for _currency, said in left_out_said(k.missing_rates, cur):
            echo(said)


TOP = 10  # accounts by lifetime value in the text output; JSON has them all


def _print_forecast(f: Forecast, currency: str, left_out: Sequence[str], quotas: str) -> None:
    def rows(months: tuple[MonthForecast, ...]) -> list[list[str]]:
        return [[show.month(m.month), show.money(m.pipeline, currency), show.money(m.weighted, currency),
                 show.money(m.commit, currency), show.money(m.best_case, currency),
                 show.money(m.closed_won, currency), show.money(m.quota, currency), show.points(m.attainment)]
                for m in months]

    headers = [_("Month"), _("Pipeline"), _("Weighted"), _("Commit"), _("Best case"), _("Closed won"), _("Quota"),
               _("Attainment")]
    echo(_("Forecast in {currency}, all owners", currency=currency))
    echo_lines(show.table(headers, rows(f.months), right=range(1, 8)))
    for owner, months in f.by_owner.items():
        echo()
        echo(_("Owner: {owner}", owner=owner_label(owner)))
        echo_lines(show.table(headers, rows(months), right=range(1, 8)))
    if f.stage_calibration:
        echo()
        echo(_("Stage calibration: each stage's probability beside what its closed deals did"))
        echo_lines(show.table(
            [_("Stage"), _("Configured"), _("Historical win rate"), _("Closed deals")],
            [[c.stage, show.points(c.configured, 0), show.points(c.historical), show.number(c.n)]
             for c in f.stage_calibration], right=[1, 2, 3]))
    notes = []
    if f.overdue:
        notes.append(overdue_said(f.overdue))
    if f.undated_open:
        notes.append(ngettext("{n} open deal has no close date and is left out",
                              "{n} open deals have no close date and are left out", f.undated_open))
    if f.undated_won:
        notes.append(ngettext("{n} won deal has no close date: its revenue is in no month",
                              "{n} won deals have no close date: their revenue is in no month", f.undated_won))
    if blank := [show.month(m.month) for m in f.months if m.quota_unread]:
        notes.append(_("Quota and attainment are blank for {months}: a quota on the {tab} tab cannot be read "
                       "(sheetcrm validate shows the cell)", months=", ".join(blank), tab=quotas))
    notes.extend(said for m in f.months if (said := without_quota_said(m, currency)) is not None)
    notes.extend(said for said in (zero_quota_said(f),) if said is not None)
    notes.extend(said for _currency, said in left_out_said(f.missing_rates, currency))
    notes.extend(left_out)
    if notes:
        echo()
        for note in notes:
            echo(note)


if __name__ == "__main__":
    main()
