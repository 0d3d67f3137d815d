"""The `sheetcrm` command: a thin shell over the library. It parses flags, calls one library
function, prints, and picks the exit status. User-caused failures (config, workbook, I/O) are
one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import datetime as dt
import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import click

from sheetcrm.config import CONFIG_FILE, Config, ConfigError, load_config
from sheetcrm.lock import WritingSession
from sheetcrm.mail.journal import Journal
from sheetcrm.report import Report
from sheetcrm.starter import example_config, init_workbook, write_demo
from sheetcrm.crm.scoring import evaluate as evaluate_scoring
from sheetcrm.engine import Results
from sheetcrm.sync import SyncOutcome, plan_sync, sync
from sheetcrm.terminal import visible, visible_json
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Workbook, WorkbookError
from sheetcrm.workbook.target import DEFAULT_WORKBOOK, open_workbook

EXIT_USAGE = 2


def echo(text: str = "", err: bool = False) -> None:
    """Print one line. Every printer goes through here (or `echo_json`): text from cells in it
    reaches the terminal with its control characters escaped (sheetcrm.terminal)."""
    click.echo(visible(text), err=err)


def echo_json(document: str) -> None:
    click.echo(visible_json(document))


def _fail(message: str) -> None:
    echo(f"sheetcrm: {message}", err=True)
    sys.exit(EXIT_USAGE)


def user_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (ConfigError, WorkbookError) as e:
            _fail(str(e))

    return wrapper


def workbook_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--workbook / --spreadsheet / --credentials / --config, gathered into one `target` argument."""

    @functools.wraps(command)
    def wrapper(*args: Any, config_path: str | None, workbook: str | None, spreadsheet: str | None,
                credentials: str | None, **kwargs: Any) -> Any:
        target = Target(config_path, workbook, spreadsheet, credentials, kwargs.pop("ignore_lock", False))
        return command(*args, target=target, **kwargs)

    for option in reversed([
        click.option("--workbook", type=click.Path(dir_okay=False),
                     help="An .xlsx workbook (default: the config's, else ./crm.xlsx)."),
        click.option("--spreadsheet", metavar="ID|URL", help="A Google spreadsheet, by ID or full URL."),
        click.option("--credentials", type=click.Path(dir_okay=False),
                     help="Google credentials JSON (default: the config's, else $GOOGLE_APPLICATION_CREDENTIALS)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False),
                     help=f"Config file (default: ./{CONFIG_FILE} when present)."),
    ]):
        wrapper = option(wrapper)
    return wrapper


IGNORE_LOCK = click.option("--ignore-lock", is_flag=True,
                           help="Write even while LibreOffice or Excel has the workbook open "
                                "(the app's next save may undo sheetcrm's changes).")


@dataclass
class Target:
    config_path: str | None
    workbook: str | None
    spreadsheet: str | None
    credentials: str | None
    ignore_lock: bool = False

    def open(self, default: str = DEFAULT_WORKBOOK) -> tuple[Config, Workbook]:
        from sheetcrm.lock import tidy

        config = load_config(self.config_path)
        book = open_workbook(config, self.workbook, self.spreadsheet, self.credentials, default=default,
                             ignore_app_lock=self.ignore_lock)
        tidy(book)  # every command, read-only ones too, clears what an interrupted save left
        return config, book

    def lock_for_writing(self, book: Workbook, command: str) -> None:
        """Enter the guard every writing command runs under (sheetcrm.lock), held until the
        command ends: no app has the file open, no other sheetcrm command writes it, stale
        temp files are gone."""
        click.get_current_context().with_resource(WritingSession(book, command, ignore_app_lock=self.ignore_lock))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sheetcrm")
def main() -> None:
    """sheetcrm: a CRM for teams whose CRM lives in spreadsheet tabs."""


@main.command()
@workbook_options
@IGNORE_LOCK
@user_errors
def init(target: Target) -> None:
    """Create the missing CRM tabs (with headers) and an example sheetcrm.toml.

    The new sheetcrm.toml points at the workbook given (--workbook / --spreadsheet), so the
    next command needs no flag. Existing tabs and data are never touched."""
    config, book = target.open()
    # The locks first: a refused init writes nothing, not even the config.
    target.lock_for_writing(book, "init")
    if target.config_path is None and not Path(CONFIG_FILE).exists():
        Path(CONFIG_FILE).write_text(example_config(target.workbook, target.spreadsheet, target.credentials),
                                     encoding="utf-8")
        echo(f"wrote {CONFIG_FILE} (every setting is optional)")
        config = load_config(target.config_path)
    result = init_workbook(book, config)
    added = [t for t in result.written]
    echo(f"{book.describe()}: " + (f"added tabs {', '.join(added)}" if added else "all CRM tabs present"))


@main.command()
@workbook_options
@click.option("--rows", default=200, show_default=True, type=click.IntRange(20, 1_000_000),
              help="How many leads (the other tabs scale with it).")
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed gives the same CRM.")
@click.option("--force", is_flag=True, help="Replace a demo .xlsx file that `sheetcrm demo` created before.")
@IGNORE_LOCK
@user_errors
def demo(target: Target, rows: int, seed: int, force: bool) -> None:
    """Write a realistic demo CRM (default demo-crm.xlsx), then sync it and say what happened.

    Only to a new or empty workbook, or with --force over a demo it created: never the config's
    workbook unless --workbook / --spreadsheet names it."""
    config = load_config(target.config_path)
    # The config's workbook is the team's: the demo goes to demo-crm.xlsx unless a flag says otherwise.
    book = open_workbook(config.model_copy(update={"workbook": None, "spreadsheet": None}), target.workbook,
                         target.spreadsheet, target.credentials, default="demo-crm.xlsx",
                         ignore_app_lock=target.ignore_lock)
    target.lock_for_writing(book, "demo")
    today = dt.date.today()
    data = write_demo(book, rows=rows, seed=seed, today=today, force=force)
    echo(f"wrote a demo CRM to {book.describe()}: " +
               ", ".join(f"{len(t) - 1} {title.lower()}" for title, t in data.tabs.items()))
    echo("planted on purpose: " + "; ".join(data.planted))
    outcome = sync(book, config, as_of=today)
    _print_sync(outcome, book)
    echo(f"next: open {book.describe()} and look at the Validation tab")


@main.command()
@workbook_options
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@user_errors
def validate(target: Target, fmt: str) -> None:
    """Check every tab, row and cell; read-only. Exit 0 valid, 1 errors, 2 usage/config/I-O."""
    config, book = target.open()
    crm = read_crm(book.read(), config)
    if fmt == "json":
        echo_json(json.dumps(crm.report.as_dict(crm.stats()), ensure_ascii=False, indent=2))
    else:
        _print_report(crm.report, book, crm.stats())
    sys.exit(0 if crm.report.valid else 1)


@main.command("sync")
@workbook_options
@click.option("--dry-run", is_flag=True, help="Print the plan (cells per tab) and write nothing.")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="The sync's date (default: today).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--strict", is_flag=True, help="Exit 1 when there are validation errors.")
@IGNORE_LOCK
@user_errors
def sync_command(target: Target, dry_run: bool, as_of: dt.datetime | None, fmt: str, strict: bool) -> None:
    """Validate, assign IDs, compute, and write computed columns and sheetcrm's tabs in one batched write."""
    config, book = target.open()
    if not dry_run:
        target.lock_for_writing(book, "sync")
    # Quote versions this machine already sent are never queued again, even with their Outbox
    # row gone (an older copy of the tab): docs/quotes.md, "The journal".
    outcome = sync(book, config, as_of=as_of.date() if as_of else None, dry_run=dry_run,
                   sent_versions=Journal.versions_held(book))
    if fmt == "json":
        echo_json(json.dumps(outcome.as_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        _print_sync(outcome, book)
    sys.exit(1 if strict and not outcome.crm.report.valid else 0)


AS_OF = click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="The date to compute for (default: today).")
FORMAT = click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)


def _results(target: Target, as_of: dt.datetime | None, **overrides: Any) -> Results:
    """The engine's results for the workbook, computed without writing anything."""
    config, book = target.open()
    if overrides:
        config = config.model_copy(update=overrides)
    _, results, _ = plan_sync(book.read(), config, as_of.date() if as_of else dt.date.today())
    return results


@main.command()
@workbook_options
@AS_OF
@FORMAT
@user_errors
def kpis(target: Target, as_of: dt.datetime | None, fmt: str) -> None:
    """Print the KPIs (read-only): win rate, revenue, pipeline, coverage, conversion…"""
    data = _results(target, as_of).kpis.to_json()
    if fmt == "json":
        echo_json(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key, value in data.items():
        if not isinstance(value, dict):
            echo(f"{key:<24} {'' if value is None else value}")
    for owner, values in data["by_owner"].items():
        echo(f"{owner}: " + ", ".join(f"{k} {v}" for k, v in values.items() if v is not None))


@main.command()
@workbook_options
@AS_OF
@click.option("--months", type=click.IntRange(1, 36), help="How many months ahead (default: the config's, 6).")
@FORMAT
@user_errors
def forecast(target: Target, as_of: dt.datetime | None, months: int | None, fmt: str) -> None:
    """Print the forecast by month, per owner and in total, with stage calibration (read-only)."""
    overrides = {"forecast_months": months} if months else {}
    data = _results(target, as_of, **overrides).forecast.to_json()
    if fmt == "json":
        echo_json(json.dumps(data, ensure_ascii=False, indent=2))
        return
    columns = ["month", "pipeline", "weighted", "commit", "best_case", "closed_won", "quota", "attainment"]
    echo("  ".join(f"{c:>12}" for c in columns))
    for month in data["months"]:
        echo("  ".join(f"{'' if month[c] is None else month[c]:>12}" for c in columns))
    echo("stage calibration (configured % vs historical win %):")
    for c in data["stage_calibration"]:
        echo(f"  {c['stage']:<16} {c['configured']:>6} {c['historical'] or '-':>6}  n={c['n']}")


@main.command()
@workbook_options
@AS_OF
@click.option("--evaluate", is_flag=True, help="Hold out part of the history and measure the model (ROC AUC, calibration).")
@click.option("--seed", default=0, show_default=True, help="Seed of the hold-out split.")
@FORMAT
@user_errors
def score(target: Target, as_of: dt.datetime | None, evaluate: bool, seed: int, fmt: str) -> None:
    """Lead scores (read-only), or with --evaluate how well the learned model predicts conversion."""
    config, book = target.open()
    day = as_of.date() if as_of else dt.date.today()
    if evaluate:
        crm = read_crm(book.read(), config)
        try:
            data = evaluate_scoring(crm.records("leads"), crm.records("activities"), config.scoring, day, seed=seed)
        except ValueError as e:
            _fail(str(e))
        if fmt == "json":
            echo_json(json.dumps(data, indent=2))
        else:
            echo(f"ROC AUC {data['auc']:.3f} on {data['n_test']} held-out leads ({data['n_train']} trained)")
            for b in data["calibration"]:
                echo(f"  {b['bin']:>8}: predicted {b['predicted']:5.1f}%  observed {b['observed']:5.1f}%  n={b['n']}")
        return
    results = _results(target, as_of)
    ranked = sorted(results.scoring.scores.values(), key=lambda s: (-s.score, s.lead_id))
    if fmt == "json":
        echo_json(json.dumps({"method": results.scoring.method, "note": results.scoring.note,
                               "scores": [vars(s) for s in ranked]}, ensure_ascii=False, indent=2))
        return
    echo(f"{results.scoring.method}: {results.scoring.note}")
    for s in ranked[:20]:
        pct = "" if s.conversion_pct is None else f"{s.conversion_pct:5.1f}%"
        echo(f"  {s.lead_id:<12} {s.score:>3} {s.grade} {pct:>6}  {s.why}")


@main.command()
@workbook_options
@click.argument("opportunity")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Where the preview (.eml and .html) is written.")
@click.option("--queue", is_flag=True, help="Add a Draft row to the Outbox tab instead of writing a preview.")
@IGNORE_LOCK
@user_errors
def quote(target: Target, opportunity: str, out_dir: str, queue: bool) -> None:
    """Preview an opportunity's quote email (sends nothing), or --queue it as an Outbox Draft."""
    from sheetcrm.mail import outbox as ob
    from sheetcrm.mail.names import UnsafePath, confined, safe_stem
    from sheetcrm.mail.smtp import smtp_settings
    from sheetcrm.validate import row_label
    from sheetcrm.workbook import Plan

    config, book = target.open()
    if queue:
        target.lock_for_writing(book, "quote")
    now = dt.datetime.now(dt.timezone.utc)
    desk = ob.Desk.read(book.read(), config)
    rows = desk.crm.find("opportunities", opportunity)
    if len(rows) > 1:
        _fail(f"{opportunity!r} names {len(rows)} opportunities ({', '.join(map(row_label, rows))}); use its ID")
    if not rows or not rows[0].id:
        _fail(f"no opportunity {opportunity!r} with an ID in {book.describe()} (run `sheetcrm sync` to give rows IDs)")
    if rows[0].has_errors:
        title = desk.crm.tables["opportunities"].title
        for issue in desk.crm.report.issues:
            if issue.tab == title and issue.row == rows[0].row and issue.severity == "error":
                echo(f"  error   {issue.where():<18} {issue.message} ({issue.code}) → {issue.hint}", err=True)
        echo(f"{row_label(rows[0])} has errors; its quote cannot be prepared until they are fixed", err=True)
        sys.exit(1)
    opp = rows[0].record
    plan = Plan()
    [queued] = ob.plan_queue(desk, [opp], plan, ob.stamp(now), now.year)
    for issue in queued.problems:
        echo(f"  error   {issue.where():<18} {issue.message} ({issue.code}) → {issue.hint}", err=True)
    if queued.outcome == "blocked":
        echo(f"{opp.id}: the quote cannot be sent until these are fixed", err=True)
        sys.exit(1)
    if queue:
        if queued.outcome == "already":
            echo(f"{opp.id}: this version is already in the Outbox as {queued.row_id} ({queued.quote})")
            return
        desk.plan_sequences(plan)
        skipped = book.write(plan).skipped
        if skipped:
            _fail("the Outbox changed while queueing; nothing was queued, run the command again")
        echo(f"{opp.id}: queued {queued.quote} as {queued.row_id} (Draft); set its Status to Approved to send")
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
        _fail(f"cannot write the preview in {folder}: {e}")
    echo(f"{opp.id}: preview of {queued.quote} to {row.text('to')}: wrote {eml} and {html} (nothing sent)")  # type: ignore[union-attr]


@main.group()
def outbox() -> None:
    """The Outbox tab: quote emails waiting for approval and delivery."""


@outbox.command("send")
@workbook_options
@click.option("--now", "early", is_flag=True, help="Also send the rows waiting for their Next Try, now.")
@IGNORE_LOCK
@user_errors
def outbox_send(target: Target, early: bool) -> None:
    """Send the Approved rows of the Outbox, each exactly once. Exit 1 when a row needs a person
    or a setting stops every send."""
    import secrets

    from sheetcrm.mail import outbox as ob
    from sheetcrm.mail.smtp import SmtpSender, smtp_settings

    config, book = target.open()
    settings = smtp_settings(config.smtp)
    target.lock_for_writing(book, "outbox send")
    setup = None
    try:
        report = ob.send_outbox(book, config, settings, ob.templates_for(config), lambda: SmtpSender(settings),
                                clock=lambda: dt.datetime.now(dt.timezone.utc), token=lambda: secrets.token_hex(8),
                                early=early)
    except ob.SetupError as e:
        report, setup = e.report, str(e)
    for label, ids in (("sent", report.sent), ("set back by the journal", report.restored),
                       ("will retry", report.retrying), ("failed", report.failed),
                       ("outcome unknown, check by hand", report.unknown),
                       ("changed by someone meanwhile, left alone", report.changed)):
        for row_id in ids:
            detail = report.details.get(row_id)
            echo(f"{row_id}: {label}" + (f": {detail}" if detail else ""))
    if report.held:
        echo(f"{', '.join(report.held)}: not sent, waiting at Approved until the setting below is fixed")
    for row in report.stuck:
        echo(f"{row.text('id')}: still Sending since {row.text('last_try') or '?'}; it may have been delivered. "
                   f"Check for {row.text('message_id')}, then set Status to Sent, or run "
                   f"`sheetcrm outbox resend {row.text('id')}` to send it again.")
    for row in report.waiting:
        echo(f"{row.text('id')}: waiting until {row.text('next_try')} ({row.text('error') or 'no error'}); "
                   "`sheetcrm outbox send --now` sends it now")
    for warning in report.warnings:
        echo(f"sheetcrm: warning: {warning}", err=True)
    if not any((report.sent, report.restored, report.retrying, report.failed, report.unknown, report.changed,
                report.stuck, report.held, report.waiting)):
        echo("nothing to send")
    if setup:
        echo(f"sheetcrm: {setup}", err=True)
    sys.exit(1 if setup or report.failed or report.unknown or report.stuck else 0)


@outbox.command("resend")
@workbook_options
@click.argument("row_id", metavar="OUT-ID")
@user_errors
def outbox_resend(target: Target, row_id: str) -> None:
    """Send a quote again: the row goes back to Approved with a new Message-ID to come, and the
    journal lets its version go out once more. The next `outbox send` sends it."""
    from sheetcrm.mail import outbox as ob

    config, book = target.open()
    desk = ob.Desk.read(book.read(), config)
    row = desk.outbox.find(row_id)
    if row is None:
        _fail(f"no row {row_id!r} in the Outbox of {book.describe()}")
    if book.write(ob.plan_resend(desk.outbox, row, config.locale)).skipped:  # type: ignore[arg-type]
        _fail(f"{row_id} changed while resending; nothing was changed, run the command again")
    with Journal.beside_lock(book) as journal:
        journal.release(row.text("version"))  # type: ignore[union-attr]
    echo(f"{row_id}: back to Approved; the next `sheetcrm outbox send` sends it again with a new Message-ID")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8085, show_default=True, type=click.IntRange(0, 65535))
@click.option("--data", type=click.Path(dir_okay=False), help="Keep the emulator's state in this JSON file.")
def emulator(host: str, port: int, data: str | None) -> None:
    """Serve a local Google Sheets API v4 emulator (set SHEETS_EMULATOR_HOST to use it)."""
    from sheetcrm.emulator import serve

    try:
        serve(host, port, data)
    except OSError as e:
        _fail(f"cannot serve on {host}:{port}: {e.strerror or e}")


@main.command()
@workbook_options
@click.option("--every", metavar="30s|5m|1h", help="Sync interval (default: the config's [schedule] sync).")
@click.option("--once", is_flag=True, help="Run every job once and exit (for cron): exit 1 if one failed.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Log lines on stderr as text or as one JSON object each.")
@IGNORE_LOCK
@user_errors
def run(target: Target, every: str | None, once: bool, log_format: str) -> None:
    """Run the jobs on their schedule until SIGINT/SIGTERM (the job in flight finishes first).

    One instance per workbook; a second one exits 2 naming the first one's PID."""
    from sheetcrm import logs
    from sheetcrm.lock import WAIT_SECONDS, WorkbookLock, remove_stale_temp_files
    from sheetcrm.service import RequestCounter, Service, parse_every

    try:
        sync_every = parse_every(f"every {every}") if every else None
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--every") from None
    config = load_config(target.config_path)
    counter = RequestCounter()
    book = open_workbook(config, target.workbook, target.spreadsheet, target.credentials, tracer=counter,
                         ignore_app_lock=target.ignore_lock)
    logger, console = logs.setup(log_format)
    # Each write checks for an app's lock file itself (it may come and go while the service runs).
    with WorkbookLock(book, wait=WAIT_SECONDS):
        if hasattr(book, "path"):
            remove_stale_temp_files(book.path)
        service = Service(config, book, logger, counter=counter, console=console, sync_every=sync_every)
        if once:
            sys.exit(0 if service.run_once() else 1)
        service.serve()


def _print_report(report: Report, book: Workbook, stats: dict[str, Any]) -> None:
    echo(f"{book.describe()}: {stats['rows']} rows, {report.errors} errors, {report.warnings} warnings"
               + (f" (showing the first {len(report.issues)})" if report.partial else ""))
    for i in report.issues:
        where = i.where()
        header = f" [{i.header}]" if i.header else ""
        echo(f"  {i.severity:<7} {where:<18}{header} {i.message} ({i.code}) → {i.hint}")


STEPPED_ASIDE = ("the tab '{team}' is yours (it has a sheetcrm name but not sheetcrm's mark): it is left alone, "
                 "and sheetcrm writes its own to '{ours}'")


def _print_sync(outcome: SyncOutcome, book: Workbook) -> None:
    report = outcome.crm.report
    stats = outcome.crm.stats()
    echo(f"read {stats['rows']} rows in {len(stats['tabs'])} tabs: "
               f"{report.errors} errors, {report.warnings} warnings")
    for team, ours in outcome.stepped_aside:  # only when sheetcrm's tab is created: said once
        echo(STEPPED_ASIDE.format(team=team, ours=ours))
    planned = outcome.plan.cells_by_tab()
    if outcome.dry_run:
        echo("dry run: nothing written. The plan:" if planned else "dry run: nothing to change")
        for tab, n in planned.items():
            echo(f"  {tab}: {n} cells")
        return
    if not outcome.plan:
        echo("nothing to change")
        return
    written = outcome.cells_written
    new = f"; new tabs: {', '.join(outcome.plan.new_tabs)}" if outcome.plan.new_tabs else ""
    echo(f"wrote {sum(written.values())} cells to {book.describe()}{new}")
    for tab, n in written.items():
        echo(f"  {tab}: {n} cells")
    if outcome.result and outcome.result.skipped:
        echo(f"  {len(outcome.result.skipped)} cells skipped because their rows changed meanwhile; "
                   "the next sync plans them again")


if __name__ == "__main__":
    main()
