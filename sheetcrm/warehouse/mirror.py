"""The warehouse itself: its migrations, one transaction per sync, and its status.

    mirror(settings, batch, source, as_of, now)   # after the workbook write; never raises
    init(settings)                                # `sheetcrm warehouse init`: migrate to head
    status(settings)                              # `sheetcrm warehouse status`

SQLAlchemy Core (2.x) speaks to PostgreSQL through psycopg 3 and to SQLite through the standard
library, with each dialect's `INSERT … ON CONFLICT` (`insert().on_conflict_do_update`); Alembic
migrates, from the revisions shipped in `sheetcrm/warehouse/migrations/`.

One sync is one transaction: records upserted by natural key (a row's `updated_at` moves only
when one of its values changed), the records gone from the workbook tombstoned (`deleted_at`),
histories and the Sync Log appended (`ON CONFLICT DO NOTHING`), the Outbox upserted, and the
mark (`sheetcrm_mirror`: the workbook, the day, the time, the digest of what was mirrored)
moved; a warehouse holds one workbook (the mark says which), another is refused. The
histories hold stages by their configured names; when those changed since the mark (an older
version's rows in the sheet's words, an alias added), the rows held are renamed first
(`_named_history`), as are those held under an older spelling of a record's ID, and the
references a tombstoned row holds (`_respelt_references`). A batch
whose digest the mark already holds costs one SELECT and changes nothing. Since each sync
mirrors the whole workbook, a sync whose mirror failed is caught up by the next one.

A URL may hold a password: every message here goes through `settings.scrub`.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, and_, bindparam, create_engine, event, func, inspect, null, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from sheetcrm.cells import id_spelling, match_key, normalize_key
from sheetcrm.i18n import N_, _, ngettext
from sheetcrm.i18n import current as language
from sheetcrm.warehouse.behind import Behind, when
from sheetcrm.warehouse.keep import LOG_COLUMNS, Archive, Trim
from sheetcrm.mail.outbox import KEYS as OUTBOX_KEYS
from sheetcrm.schema import OUTBOX as OUTBOX_TAB
from sheetcrm.validate import REFERENCE_FIELDS
from sheetcrm.warehouse.rows import Batch, Row
from sheetcrm.warehouse.settings import Mirrored, WarehouseError, WarehouseSettings, masked, scrub, sqlite_file
from sheetcrm.warehouse.tables import APPENDED, MIRROR, OUTBOX, RECORD_TABS, RECORDS, STAMPS, VERSION_TABLE, key_of

LOG = logging.getLogger("sheetcrm.run.warehouse")  # under `sheetcrm run`'s logger: its lines, its format


# -- the connection -----------------------------------------------------------------------------

def engine_for(settings: WarehouseSettings) -> Engine:
    """An engine for the settings' URL (postgresql:// means psycopg 3); WarehouseError for a URL
    that does not parse or names no driver here, without repeating the URL's password."""
    url = settings.effective_url()
    path = sqlite_file(url)
    if path is not None and not Path(path).parent.is_dir():
        # SQLite makes the file, never its folder: every sync failed on "unable to open database
        # file" and promised to catch up on the next one, which failed the same way.
        raise WarehouseError(_("warehouse {url}: the folder {folder} does not exist; create it, or name another "
                               "in the url", url=masked(url), folder=Path(path).parent))
    try:
        parsed = make_url(url)
        if "@" in (parsed.host or ""):
            # A password's @ not %-encoded: SQLAlchemy ends the password at the first @, and the
            # driver's "cannot resolve host" line would quote the rest of it.
            raise ValueError("@ in the host")  # not for people: said below
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        timeout = settings.connect_timeout
        connect_args: dict[str, Any] = ({"connect_timeout": max(1, round(timeout))}
                                        if parsed.get_backend_name() == "postgresql" else {"timeout": timeout})
        engine = create_engine(parsed, poolclass=NullPool, connect_args=connect_args)
        if parsed.get_backend_name() == "sqlite":
            _sqlite_transactions(engine)
        return engine
    except NoSuchModuleError:
        raise WarehouseError(_("warehouse url {url}: not a postgresql://… or sqlite:///… URL",
                               url=masked(url))) from None
    except (ArgumentError, ValueError):
        # Most often a password typed as it is: masked, the URL then looks right, so say why.
        raise WarehouseError(_("warehouse url {url}: cannot be read as a URL; in the user name and password, "
                               "write @ : / # ? % as %40 %3A %2F %23 %3F %25", url=masked(url))) from None
    except ImportError as e:
        raise WarehouseError(_("warehouse url {url}: its driver is not installed ({module}); "
                               "install sheetcrm[warehouse]", url=masked(url), module=e.name or e)) from None


def _sqlite_transactions(engine: Engine) -> None:
    """Make a SQLite transaction one: Python's sqlite3 runs CREATE and ALTER outside any
    transaction and opens one only at the first INSERT or UPDATE, so a sync killed half-way
    through a migration left half the tables made and no revision, and every later sync failed
    on "table accounts already exists"; and two syncs could both read an empty mark before
    either wrote. Each transaction is BEGIN IMMEDIATE on an engine whose execution options say
    `writes` (the mirror, the migrations: the second of two waits for the first, up to
    `connect_timeout`, then sees what it wrote), a plain BEGIN otherwise (status, the archive
    read: no write lock for a look)."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # sqlite3's own BEGIN off: "begin" below says when

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get("writes")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")  # not for people: SQL


def _serialised(connection: Connection) -> None:
    """Wait until no other sheetcrm writes to this database (PostgreSQL: an advisory lock held to
    the end of the transaction; SQLite: the transaction is BEGIN IMMEDIATE already). Two syncs
    at once otherwise both migrated an empty database (the second failing on a duplicate key),
    or both read an empty mark and mirrored two workbooks into one warehouse."""
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(_LOCK)))


# The advisory lock's number (any constant: PostgreSQL scopes it to the database).
_LOCK = 0x5C_4E_E7_C8


def must_exist(settings: WarehouseSettings) -> None:
    """WarehouseError when the URL names a SQLite file that does not exist: a command that only
    looks finds nothing there, rather than connecting (which would make an empty file)."""
    path = sqlite_file(settings.effective_url())
    if path is not None and not Path(path).exists():
        raise WarehouseError(_("warehouse {url}: no such database file yet (sheetcrm warehouse init, or a sync, "
                               "makes it)", url=masked(settings.effective_url())))


# What a warehouse command or a sync was doing when the database failed, said before the driver's
# own words: psycopg and sqlite3 speak English only, and a Spanish line was theirs alone.
CREATING = N_("cannot create or migrate the tables")
WRITING = N_("cannot write this sync's rows")
READING_ARCHIVE = N_("cannot read the history rows kept in the warehouse")
MARKING = N_("cannot mark the rows moved out of the sheet")
READING = N_("cannot read the tables")


# The server's refusals at login that no retry gets past, by SQLSTATE, in the catalogue's words.
_REFUSALS = {
    "28P01": N_("the server refuses the user name or password: correct them in the url"),
    "28000": N_("the server refuses this user: check the user name in the url and the server's pg_hba.conf"),
    "3D000": N_("the database named in the url does not exist on the server: create it, or name another"),
}
# psycopg gives a failed login no SQLSTATE (libpq keeps the server's code to itself while
# connecting; e.sqlstate, e.diag and the pgconn hold none): the server's own words then, as an
# English-speaking server (lc_messages, the default) says them, each the message of one code.
_REFUSAL_WORDS = (
    (re.compile(r'FATAL: +password authentication failed for user "'), "28P01"),
    (re.compile(r'FATAL: +role ".*" does not exist'), "28000"),
    (re.compile(r'FATAL: +no pg_hba\.conf entry for host '), "28000"),
    (re.compile(r'FATAL: +database ".*" does not exist'), "3D000"),
)


def refusal(e: BaseException) -> str | None:
    """What the server said no to at login (a wrong password, an unknown user, no such database),
    in the reader's language; None for any other error (a blip the next sync may get past)."""
    inner = e.orig if isinstance(e, DBAPIError) and e.orig is not None else e
    code = getattr(inner, "sqlstate", None)
    if code not in _REFUSALS:
        text = str(inner)
        code = next((c for pattern, c in _REFUSAL_WORDS if pattern.search(text)), None)
    return _(_REFUSALS[code]) if code is not None else None


def problem(e: BaseException, url: str, what: str) -> str:
    """A database error as one line in the reader's language: `what` failed (one of the
    constants above), then a login the server refused in the catalogue's words (`refusal`), else
    the driver's own first line (else the error's) after the name of the module that said it
    ("psycopg", "sqlite3", "alembic"), the URL's password hidden."""
    refused = refusal(e)
    if refused is not None:
        return _("{what}: {problem}", what=_(what), problem=refused)
    inner = e.orig if isinstance(e, DBAPIError) and e.orig is not None else e
    lines = [line.strip() for line in str(inner).splitlines() if line.strip()]
    detail = scrub(lines[0] if lines else type(inner).__name__, url)
    return _("{what} ({driver}: {detail})", what=_(what), driver=type(inner).__module__.split(".")[0], detail=detail)


def _line(e: BaseException, url: str, what: str) -> str:
    return _("warehouse {url}: {problem}", url=masked(url), problem=problem(e, url, what))


def _retryable(e: BaseException) -> bool:
    # Unreachable, refused, dropped, locked: worth another try. A wrong schema or a constraint is not.
    from sqlalchemy.exc import InterfaceError, OperationalError

    return isinstance(e, (OperationalError, InterfaceError, OSError))


# -- migrations ---------------------------------------------------------------------------------

def _alembic(connection: Connection | None = None) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(resources.files("sheetcrm.warehouse") / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision shipped with this sheetcrm."""
    revision = ScriptDirectory.from_config(_alembic()).get_current_head()
    assert revision is not None  # the package ships its migrations
    return revision


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def _migrate(engine: Engine) -> str:
    """Bring the database to `head()` (nothing when it is there: one SELECT); the revision."""
    target = head()
    with engine.execution_options(writes=True).begin() as connection:
        _serialised(connection)
        if current(connection) != target:
            command.upgrade(_alembic(connection), "head")
    return target


def init(settings: WarehouseSettings) -> str:
    """Create or migrate the warehouse's tables; the revision it is at. WarehouseError: one line."""
    url = settings.effective_url()
    engine = engine_for(settings)
    try:
        return _migrate(engine)
    except (SQLAlchemyError, CommandError) as e:
        raise WarehouseError(_line(e, url, CREATING)) from None
    finally:
        engine.dispose()


# -- one sync -----------------------------------------------------------------------------------

def mirror(settings: WarehouseSettings, batch: Batch, source: str, as_of: dt.date, now: dt.datetime, *,
           sleep: Callable[[float], None] = time.sleep, behind: Behind | None = None,
           zone: dt.tzinfo | None = None) -> Mirrored:
    """Mirror `batch` (sheetcrm.warehouse.rows) for the workbook `source`, in one transaction,
    migrating first when the database is behind. Never raises: a failure is retried
    `settings.attempts` times, `backoff_seconds` doubling, then logged as one line and returned
    as "failed"; the next sync catches up. `behind`: the mirrors that failed in a row before
    this one (`warehouse.behind`), which the line then says, its time on the clock of `zone`
    (the team's; None: the machine's)."""
    url = settings.effective_url()
    fail = functools.partial(_failed, behind=behind, zone=zone)
    attempt = 0
    while True:
        attempt += 1
        try:
            engine = engine_for(settings)
        except WarehouseError as e:  # a URL that does not parse, a driver not installed: no later sync helps
            return fail(str(e), attempt, lasting=True)
        try:
            _migrate(engine)
            with engine.execution_options(writes=True).begin() as connection:
                _serialised(connection)
                notes: list[str] = []
                done = write(connection, batch, source, as_of, now, notes, zone=zone)
            done.attempts = attempt
            for note in notes:  # once committed: a try that failed said nothing
                LOG.warning(note)
            return done
        except WarehouseError as e:  # another workbook's database, a URL or driver to fix: no later sync helps
            return fail(_("warehouse {url}: {problem}", url=masked(url), problem=e), attempt, lasting=True)
        except (SQLAlchemyError, OSError) as e:
            if refusal(e) is not None:  # a wrong password or database: no retry, no later sync gets past it
                return fail(_line(e, url, WRITING), attempt, lasting=True)
            if attempt >= settings.attempts or not _retryable(e):
                return fail(_line(e, url, WRITING), attempt)
            sleep(settings.backoff_seconds * 2 ** (attempt - 1))
        except Exception as e:  # Alembic's (a database a newer sheetcrm migrated), or ours: still not the sync's
            return fail(_line(e, url, WRITING), attempt, lasting=True)
        finally:
            engine.dispose()


def _failed(line: str, attempts: int, lasting: bool = False, behind: Behind | None = None,
            zone: dt.tzinfo | None = None) -> Mirrored:
    """A failed mirror, logged as one line; `lasting`: no later sync gets past it by itself;
    `behind`: the failures in a row before this one."""
    fields: dict[str, Any] = {"event": "warehouse_failed", "attempts": attempts}
    if lasting:
        said = _("{problem}; not mirrored until that is fixed", problem=line)
    elif behind is None:
        said = _("{problem}; not mirrored, caught up on the next sync", problem=line)
    else:
        # A failure that recurs is no blip the next sync catches up: say for how long.
        fields.update(behind_syncs=behind.syncs + 1, behind_since=behind.since.isoformat())
        said = behind_line(line, behind.syncs + 1, behind.since, zone)
    LOG.warning(said, extra={"fields": fields})
    return Mirrored("failed", attempts=attempts, error=line, lasting=lasting)


def behind_line(problem: str, syncs: int, since: dt.datetime, zone: dt.tzinfo | None) -> str:
    """The line of the `syncs`-th mirror in a row that failed, the first at `since`: how long the
    warehouse has been behind, never "caught up on the next sync" again."""
    return ngettext("{problem}; not mirrored, {n} sync in a row since {since}: the warehouse is behind "
                    "until a sync reaches it",
                    "{problem}; not mirrored, {n} syncs in a row since {since}: the warehouse is behind "
                    "until a sync reaches it", syncs, problem=problem, since=when(since, zone))


def _kept_currencies(connection: Connection, table: Any, key: tuple[str, ...], rows: list[Row]) -> list[str]:
    """The line to say when rows of a tab with no Currency column keep a currency other than the
    base one the sync reads their amounts in (`Batch.defaulted`): a header renamed by mistake,
    or a base currency changed in the config of a tab that never had the column. Either way the
    warehouse and the sheet's figures disagree, so it is said at each mirror, never left quiet."""
    base = rows[0]["currency"]
    held = {tuple(r[:-1]): r[-1] for r in connection.execute(
        select(*(table.c[k] for k in key), table.c.currency)
        .where(table.c.deleted_at.is_(None), table.c.currency.is_not(None), table.c.currency != base))}
    kept = [held[k] for k in (tuple(r[k] for k in key) for r in rows) if k in held]
    if not kept:
        return []
    return [ngettext("warehouse: the tab of {table} has no Currency column; its {n} row mirrored in {currencies} "
                     "keeps that currency, where the sync reads its amount in {base}: put the Currency column "
                     "back, or type each row's currency in one",
                     "warehouse: the tab of {table} has no Currency column; its {n} rows mirrored in {currencies} "
                     "keep that currency, where the sync reads their amounts in {base}: put the Currency column "
                     "back, or type each row's currency in one",
                     len(kept), table=table.name, currencies=", ".join(sorted(set(kept))), base=base)]


def write(connection: Connection, batch: Batch, source: str, as_of: dt.date, now: dt.datetime,
          notes: list[str] | None = None, zone: dt.tzinfo | None = None) -> Mirrored:
    """`batch` into the warehouse on `connection`, inside the caller's transaction; `notes` gets
    the lines to say once it is committed (their times on the clock of `zone`)."""
    digest = batch.digest()
    read = {r.source: r for r in connection.execute(
        select(MIRROR.c.source, MIRROR.c.digest, MIRROR.c.names, MIRROR.c.read_at))}
    marks = {source: r.digest for source, r in read.items()}
    other = next((s for s in sorted(marks) if s != source), None)
    if other is not None:
        # The tables hold one workbook: another's records would be tombstoned as deleted here.
        raise WarehouseError(_("this warehouse mirrors another workbook ({other}); give each workbook a database "
                               "of its own, or, if the workbook moved, delete that row of sheetcrm_mirror",
                               other=other))
    if marks.get(source) == digest:
        return Mirrored("unchanged")
    held_read = _utc(read[source].read_at) if source in read else None
    read_at = _utc(batch.read_at)
    if read_at is not None and held_read is not None and read_at < held_read:
        # Two syncs of the workbook at once (a service and a person's CLI, two machines): this
        # one read it before the sync whose rows the warehouse holds, and committing it would put
        # the warehouse back to the older rows until the next sync, silently.
        if notes is not None:
            notes.append(_("warehouse: not mirrored, since this sync read the workbook at {read}, before the "
                           "sync whose rows the warehouse holds ({held}); the warehouse keeps the newer rows",
                           read=when(read_at, zone), held=when(held_read, zone)))
        return Mirrored("older")
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    names = batch.names_digest()
    # No mark: a new database (nothing to rename), or one whose mark a person deleted after the
    # workbook moved (docs/warehouse.md), which holds rows an older version mirrored.
    renamed = source not in read or read[source].names != names
    for name in APPENDED.keys() & {*batch.names, *batch.ids}:
        _named_history(connection, APPENDED[name], batch.names.get(name, {}) if renamed else {},
                       batch.ids.get(name))
    tombstoned = 0
    for kind, table in RECORDS.items():
        rows = batch.rows.get(kind, [])
        key = key_of(kind)
        if kind in batch.missing:
            _kept_live(connection, table, kind, batch, notes)
            continue
        _respell(connection, table, key, {tuple(r[k] for k in key) for r in rows} | batch.held.get(kind, set()), now)
        kept, defaulted = batch.absent.get(kind, set()), batch.defaulted.get(kind, set())
        by_default = [r for r in rows if tuple(r[k] for k in key) in defaulted]
        _upsert(connection, insert, table, key, [r for r in rows if tuple(r[k] for k in key) not in defaulted],
                now, tombstones=True, kept=kept)
        # The base currency only for want of a Currency column: what the row holds stays (`Batch.defaulted`).
        _upsert(connection, insert, table, key, by_default, now, tombstones=True, kept=kept | {"currency"})
        if by_default and notes is not None:
            notes.extend(_kept_currencies(connection, table, key, by_default))
        tombstoned += _tombstone(connection, table, kind, key, rows, batch, now, notes)
    _respelt_references(connection, batch)
    # The Outbox as a record tab: upserted by ID, a row deleted from the tab tombstoned (a deleted
    # Draft otherwise waited for ever in the warehouse), by the same rules of what cannot be told.
    outbox = batch.rows.get("outbox", [])
    if "outbox" in batch.missing:
        _kept_live(connection, OUTBOX, "outbox", batch, notes)
    else:
        # An ID retyped in another case is the same row, as the Outbox reads it (`_respell`).
        _respell(connection, OUTBOX, ("id",), {(r["id"],) for r in outbox} | batch.held.get("outbox", set()), now)
        _upsert(connection, insert, OUTBOX, ("id",), outbox, now, tombstones=True)
        tombstoned += _tombstone(connection, OUTBOX, "outbox", ("id",), outbox, batch, now, notes)
    for name, table in APPENDED.items():
        rows = batch.rows.get(name, [])
        if rows:
            stmt = insert(table).on_conflict_do_nothing(index_elements=[c.name for c in table.primary_key])
            connection.execute(stmt, [{**r, "first_seen_at": now} for r in rows])
    mark_row = {"source": source, "as_of": as_of, "mirrored_at": now, "digest": digest, "rows": batch.size,
                "names": names, "read_at": read_at}
    stmt = insert(MIRROR).values(mark_row)
    connection.execute(stmt.on_conflict_do_update(index_elements=["source"], set_={
        k: stmt.excluded[k] for k in ("as_of", "mirrored_at", "digest", "rows", "names", "read_at")}))
    return Mirrored("mirrored", rows=batch.size, tombstoned=tombstoned)


def _utc(moment: dt.datetime | None) -> dt.datetime | None:
    """An instant in UTC: SQLite keeps no zone, and what it holds was written in UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def _header(kind: str, field: str) -> str:
    """The header of a kind's column `field`, in the reader's language."""
    if kind == "outbox":
        headers = OUTBOX_TAB.headers_es if language() == "es" else OUTBOX_TAB.headers
        return headers[OUTBOX_KEYS.index(field)]
    column = next(c for c in RECORD_TABS[kind].columns if c.field == field)
    return column.header_es if language() == "es" else column.header


def _kept_live(connection: Connection, table: Any, kind: str, batch: Batch, notes: list[str] | None) -> None:
    """A tab the workbook does not have, or whose rows are not read (`Batch.unread`): its rows keep
    their last values, live, and the mirror says why. Tombstoning them said every deal of a tab
    renamed "Deals 2026" was deleted."""
    live_rows = connection.execute(select(func.count()).select_from(table)
                                   .where(table.c.deleted_at.is_(None))).scalar_one()
    if not live_rows or notes is None:
        return
    if kind in batch.unread:
        title, key_field = batch.unread[kind]
        notes.append(ngettext(
            "warehouse: no row of the tab {tab} is read, since it has no {column} column (its header row "
            "moved or deleted?); its {n} row in {table} keeps the values last mirrored, not marked deleted",
            "warehouse: no row of the tab {tab} is read, since it has no {column} column (its header row "
            "moved or deleted?); its {n} rows in {table} keep the values last mirrored, not marked deleted",
            live_rows, tab=title, table=kind, column=_header(kind, key_field)))
    else:
        notes.append(ngettext(
            "warehouse: the workbook has no tab of {table} (renamed or deleted?); its {n} row there "
            "keeps the values last mirrored, not marked deleted",
            "warehouse: the workbook has no tab of {table} (renamed or deleted?); its {n} rows there "
            "keep the values last mirrored, not marked deleted", live_rows, table=kind))


def _tombstone(connection: Connection, table: Any, kind: str, key: tuple[str, ...], rows: list[Row], batch: Batch,
               now: dt.datetime, notes: list[str] | None) -> int:
    """Tombstone the live rows of `table` whose key the tab no longer has (not held back); how
    many. None while some row's key cannot be read (`Batch.unsure`): the rows not seen may be
    those, and the mirror says so."""
    live = {tuple(r) for r in connection.execute(
        select(*(table.c[k] for k in key)).where(table.c.deleted_at.is_(None)))}
    gone = live - {tuple(r[k] for k in key) for r in rows} - batch.held.get(kind, set())
    unsure = batch.unsure.get(kind)
    if gone and unsure:
        if notes is not None and kind == "outbox":
            notes.append(ngettext(
                "warehouse: {cell} holds no ID sheetcrm can read (empty, or a formula error), so which rows "
                "left {table} cannot be told; none of its rows is marked deleted until it reads",
                "warehouse: {n} cells of the ID column hold no ID sheetcrm can read ({cell} the first: empty, "
                "or a formula error), so which rows left {table} cannot be told; none of its rows is marked "
                "deleted until they read", len(unsure), cell=unsure[0], table=kind))
        elif notes is not None:
            notes.append(ngettext(
                "warehouse: {cell} holds no {column} sheetcrm can read (a formula error?), so which records "
                "left {table} cannot be told; none of its rows is marked deleted until it reads",
                "warehouse: {n} cells of the {column} column cannot be read ({cell} the first; a formula "
                "error?), so which records left {table} cannot be told; none of its rows is marked deleted "
                "until they read", len(unsure), cell=unsure[0], table=kind, column=_header(kind, key[0])))
        return 0
    if gone:
        where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in key), table.c.deleted_at.is_(None))
        connection.execute(update(table).where(where).values(deleted_at=now, updated_at=now),
                           [{f"k_{k}": v for k, v in zip(key, g)} for g in sorted(gone, key=str)])
    return len(gone)


_HISTORY_KEY = ("record_id", "changed_at", "from_value", "to_value", "n")


def _named_history(connection: Connection, table: Any, names: dict[str, str], ids: list[str] | None) -> None:
    """Put the history rows `table` holds in the configured names `names` gives their words
    (normalize_key(word) -> name) and under their records' IDs as `ids` spells them, as the
    sheet's rows are keyed (`keep.history_keys`): the rows an older sheetcrm mirrored with the
    sheet's words ("Ganada"), those of a stage renamed since (its old name now an alias), and
    those logged before an ID was retyped in another case ("OPP-0001" under a deal now
    "opp-0001", as `_respell` renames the deal's own row). Without this, each such row was
    appended again under the name, and a report counted it twice; and a join on the record's
    `id` dropped those of a retyped ID. Which word is which stage is the config's, so the
    migration cannot do it (0005). A row keeps its other cells; `n` numbers it after the rows
    already holding its new key (the same change twice on a day, in two spellings). `names`
    empty: the words are as they were (their digest unchanged), only IDs are looked at, one
    SELECT of the IDs held."""
    renamed: dict[str, str] = {}
    if names:
        words = {w for (w,) in connection.execute(select(table.c.to_value).union(select(table.c.from_value)))}
        renamed = {w: names[k] for w in words if w and (k := normalize_key(w)) in names and names[k] != w}
    respelt: dict[str, str] = {}
    if ids is not None:
        spell = id_spelling(ids)
        respelt = {r: spell(r) for (r,) in connection.execute(select(table.c.record_id).distinct())
                   if spell(r) != r}
    if not renamed and not respelt:
        return
    key = [table.c[k] for k in _HISTORY_KEY]
    moved = or_(*(c.in_(list(renamed)) for c in (table.c.to_value, table.c.from_value) if renamed),
                *([table.c.record_id.in_(list(respelt))] if respelt else []))
    moving = [tuple(r) for r in connection.execute(select(*key).where(moved))]

    def base(r: tuple[Any, ...]) -> tuple[Any, ...]:
        return (respelt.get(r[0], r[0]), r[1], renamed.get(r[2], r[2]), renamed.get(r[3], r[3]))

    records = sorted({base(r)[0] for r in moving})
    taken: Counter = Counter()
    for chunk in range(0, len(records), 1000):
        for r in connection.execute(select(*key).where(table.c.record_id.in_(records[chunk:chunk + 1000]),
                                                       ~moved)):
            taken[r[:4]] = max(taken[r[:4]], r[4])
    moves = []
    for old in sorted(moving, key=lambda r: (base(r)[0], r[1], r[4], r[0], r[2], r[3])):
        new = base(old)
        taken[new] += 1
        moves.append({**{f"o_{k}": v for k, v in zip(_HISTORY_KEY, old)},
                      **{f"n_{k}": v for k, v in zip(_HISTORY_KEY, (*new, taken[new]))}})
    where = and_(*(table.c[k] == bindparam(f"o_{k}") for k in _HISTORY_KEY))
    connection.execute(update(table).where(where).values({k: bindparam(f"n_{k}") for k in _HISTORY_KEY}), moves)


def _matched(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(match_key(v) if isinstance(v, str) else v for v in key)


def _respell(connection: Connection, table: Any, key: tuple[str, ...], now_keys: set[tuple[Any, ...]],
             now: dt.datetime) -> None:
    """A live row whose key the sheet now spells otherwise ("opp-0002" retyped over OPP-0002:
    IDs, SKUs compare as every reference does, `cells.match_key`) takes the new spelling, so the
    upsert updates that row (its first_seen_at kept) rather than tombstoning it and adding a
    second. Only when the two name each other alone: a key of `now_keys` not stored as it is, and
    one live key, itself not in `now_keys`, that it matches; anything else is left as it was."""
    rows = [(tuple(r[:-1]), r[-1]) for r in connection.execute(
        select(*(table.c[k] for k in key), table.c.deleted_at.is_(None)))]
    live = [k for k, alive in rows if alive]
    stored = {k for k, _alive in rows}  # a tombstoned row keeps its key: the upsert revives it
    new = [k for k in now_keys if k not in stored]
    if not new:
        return  # most syncs: every key as it was
    old: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for k in live:
        if k not in now_keys:
            old.setdefault(_matched(k), []).append(k)
    wanted: dict[tuple[Any, ...], list[tuple[Any, ...]]] = {}
    for k in new:
        wanted.setdefault(_matched(k), []).append(k)
    renames = [(olds[0], news[0]) for m, news in wanted.items()
               if len(news) == 1 and len(olds := old.get(m, [])) == 1]
    if renames:
        where = and_(*(table.c[k] == bindparam(f"o_{k}") for k in key), table.c.deleted_at.is_(None))
        connection.execute(update(table).where(where).values({**{k: bindparam(f"n_{k}") for k in key},
                                                              "updated_at": now}),
                           [{**{f"o_{k}": v for k, v in zip(key, a)}, **{f"n_{k}": v for k, v in zip(key, b)}}
                            for a, b in sorted(renames, key=str)])


def _respelt_references(connection: Connection, batch: Batch) -> None:
    """Put the references the tombstoned rows hold (a deleted activity's Related, a deleted
    quote line's Opportunity) in the spelling their record's row has now ("opp-0001" retyped
    over OPP-0001), as the live rows' are (`rows._Ids`): a join on the record's `id` otherwise
    dropped them, silently. A tombstoned quote line whose key, so spelt, another row holds
    keeps its own; nothing else changes (`updated_at` neither: the row's values are the same
    record's). One SELECT per reference column."""
    ids: dict[str, list[str]] = {}
    for kind in RECORDS:
        if key_of(kind) == ("id",):
            ids[kind] = [r["id"] for r in batch.rows.get(kind, [])] + [k[0] for k in batch.held.get(kind, set())]
    for kind, references in REFERENCE_FIELDS.items():
        table = RECORDS.get(kind)
        if table is None or kind in batch.missing:
            continue
        for name, tabs in references:
            if name == "sku":  # a product's key, not an ID
                continue
            spell = id_spelling([i for tab in tabs for i in ids.get(tab, [])])
            column = table.c[name]
            respelt = {v: spell(v) for (v,) in connection.execute(
                select(column).where(table.c.deleted_at.is_not(None), column.is_not(None)).distinct())
                if spell(v) != v}
            if not respelt:
                continue
            where = and_(column == bindparam("o_ref"), table.c.deleted_at.is_not(None))
            if name in key_of(kind):
                other = table.alias("other")
                where = and_(where, ~select(other.c[name]).where(
                    other.c[name] == bindparam("n_ref"),
                    *(other.c[k] == table.c[k] for k in key_of(kind) if k != name)).exists())
            connection.execute(update(table).where(where).values({name: bindparam("n_ref")}),
                               [{"o_ref": o, "n_ref": n} for o, n in sorted(respelt.items())])


def _upsert(connection: Connection, insert: Any, table: Any, key: tuple[str, ...], rows: list[dict[str, Any]],
            now: dt.datetime, tombstones: bool, kept: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Insert `rows`, or update the row of the same key where a value differs (or it was
    tombstoned): `updated_at` moves only then, so a re-run changes nothing. The columns `kept`
    (the tab has none for them) keep the values a row holds; a new row has them NULL."""
    if not rows:
        return
    stamps = {"first_seen_at": now, "updated_at": now, **({"deleted_at": None} if tombstones else {})}
    stmt = insert(table)
    values = [c.name for c in table.columns if c.name not in key and c.name not in STAMPS and c.name not in kept]
    changed = [table.c[v].is_distinct_from(stmt.excluded[v]) for v in values]
    if tombstones:
        changed.append(table.c.deleted_at.is_not(None))
    stmt = stmt.on_conflict_do_update(
        index_elements=list(key),
        set_={**{v: stmt.excluded[v] for v in values}, "updated_at": stmt.excluded.updated_at,
              **({"deleted_at": None} if tombstones else {})},
        where=or_(*changed))
    columns = [c.name for c in table.columns if c.name not in STAMPS]
    connection.execute(stmt, [{**{c: r.get(c) for c in columns}, **stamps} for r in rows])


# -- keep_months: what the sheet may give up ----------------------------------------------------

def archive(settings: WarehouseSettings, source: str, before: dt.date, new_id: int = 0) -> Archive:
    """What the warehouse holds of the workbook `source` before its sync (warehouse.keep):
    the keys of its history and Sync Log rows dated before `before`, and the Stage History rows
    the sheet gave up earlier (`trimmed_on` set). Rows are trusted only when the mark names this
    workbook (a warehouse holds one; an empty or another's holds nothing for it). One read-only
    transaction, no migration (a later revision reads the same). WarehouseError (one line, URL
    masked) when it cannot be read."""
    url = settings.effective_url()
    must_exist(settings)  # looked at, never made: said as a warehouse that cannot be read
    engine = engine_for(settings)
    try:
        with engine.connect() as connection:
            if current(connection) is None or "trimmed_on" not in {
                    c["name"] for c in inspect(connection).get_columns(APPENDED["stage_history"].name)}:
                return Archive(new_id=new_id)  # never mirrored, or by a sheetcrm before keep_months: nothing left yet
            if connection.execute(select(MIRROR.c.source).where(MIRROR.c.source == source)).first() is None:
                return Archive(new_id=new_id)
            held: dict[str, dict[Any, Any]] = {}
            for name, table in APPENDED.items():
                if name == "sync_log":
                    # ISO times sort as text; a time that is not ISO is never removed (keep.kept_log).
                    query = select(table.c.time, table.c.job, *(table.c[k] for k in LOG_COLUMNS)).where(
                        table.c.time < before.isoformat())
                    held[name] = {(r[0], r[1]): tuple(r[2:]) for r in connection.execute(query)}
                else:
                    key = [table.c[k] for k in ("record_id", "changed_at", "from_value", "to_value", "n")]
                    amount = table.c.amount if "amount" in table.c else null()
                    held[name] = {tuple(r[:5]): r[5] for r in connection.execute(
                        select(*key, amount).where(table.c.changed_at < before))}
            stage = APPENDED["stage_history"]
            rows = connection.execute(select(stage).where(stage.c.trimmed_on.is_not(None))
                                      .order_by(stage.c.changed_at, stage.c.record_id, stage.c.n)).mappings()
            archived = tuple(((r["record_id"], r["changed_at"], r["from_value"], r["to_value"], r["n"]), r["amount"],
                              r["trimmed_by"]) for r in rows)
            return Archive(held, archived, new_id)
    except (SQLAlchemyError, OSError) as e:
        raise WarehouseError(_line(e, url, READING_ARCHIVE)) from None
    finally:
        engine.dispose()


def mark_trimmed(settings: WarehouseSettings, trim: Trim, on: dt.date) -> None:
    """Mark the history rows a plan removes from the sheet (`trim`) as given up on `on` by the
    workbook `trim.by` (its ARCHIVE_ID), in one transaction, before the write: so a write whose
    mirror then fails still leaves the calibration every row. A row this workbook marked
    earlier keeps its day. WarehouseError when it fails
    (the caller then removes nothing)."""
    url = settings.effective_url()
    engine = engine_for(settings)
    try:
        with engine.execution_options(writes=True).begin() as connection:
            for table, keys in ((APPENDED["stage_history"], trim.stage), (APPENDED["lead_status_history"], trim.lead)):
                if not keys:
                    continue
                names = ("record_id", "changed_at", "from_value", "to_value", "n")
                # A row another workbook gave up (one made anew at the same place) becomes this one's.
                where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in names),
                             or_(table.c.trimmed_by.is_(None), table.c.trimmed_by != trim.by))
                connection.execute(update(table).where(where).values(trimmed_on=on, trimmed_by=trim.by),
                                   [{f"k_{k}": v for k, v in zip(names, key)} for key in keys])
    except (SQLAlchemyError, OSError) as e:
        raise WarehouseError(_line(e, url, MARKING)) from None
    finally:
        engine.dispose()


# -- status -------------------------------------------------------------------------------------

@dataclass
class Status:
    url: str                                  # masked
    revision: str | None                      # None: never initialised
    head: str
    marks: list[dict[str, Any]] = field(default_factory=list)   # per workbook: source, as_of, mirrored_at, rows
    tables: dict[str, dict[str, int]] = field(default_factory=dict)  # name -> {"live": n, "deleted": n} or {"rows": n}

    def as_dict(self) -> dict[str, Any]:
        return {"url": self.url, "revision": self.revision, "head": self.head, "current": self.revision == self.head,
                "mirrored": self.marks, "tables": self.tables}


def status(settings: WarehouseSettings) -> Status:
    """What the warehouse holds; WarehouseError (one line) when it cannot be reached, or is a
    SQLite file that does not exist (not made by looking)."""
    url = settings.effective_url()
    must_exist(settings)
    engine = engine_for(settings)
    try:
        with engine.connect() as connection:
            revision = current(connection)
            out = Status(masked(url), revision, head())
            if revision is None:
                return out
            shown = [c for c in MIRROR.c if c.name not in ("names", "read_at")]  # the mirror's own bookkeeping
            out.marks = [dict(r._mapping) for r in connection.execute(select(*shown).order_by(MIRROR.c.source))]
            for mark in out.marks:
                # SQLite keeps no zone: the instant was written in UTC (`mirror`'s `now`), and is said so.
                if mark["mirrored_at"].tzinfo is None:
                    mark["mirrored_at"] = mark["mirrored_at"].replace(tzinfo=dt.timezone.utc)
            for kind, table in (*RECORDS.items(), (OUTBOX.name, OUTBOX)):
                live, deleted = connection.execute(select(
                    func.count().filter(table.c.deleted_at.is_(None)),
                    func.count().filter(table.c.deleted_at.is_not(None)))).one()
                out.tables[kind] = {"live": live, "deleted": deleted}
            for table in APPENDED.values():
                out.tables[table.name] = {"rows": connection.execute(select(func.count()).select_from(table)).scalar_one()}
            return out
    except SQLAlchemyError as e:
        raise WarehouseError(_line(e, url, READING)) from None
    finally:
        engine.dispose()


