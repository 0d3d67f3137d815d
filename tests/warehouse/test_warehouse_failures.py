"""A warehouse that fails never fails the sync: one line logged (its URL's password hidden),
retried with backoff, caught up by the next sync. The commands say one line and exit 2."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from books import xlsx_book
from conftest import PASSWORD, _free_port
from demo_runs import run_cli
from merge_crm import tabs as merge_tabs
from sheetcrm.config import Config, ConfigError, load_config
from sheetcrm.sync import mirror_sync, plan_context, sync
from sheetcrm.warehouse.mirror import head, init, mirror
from sheetcrm.warehouse.rows import Batch
from sheetcrm.warehouse.settings import ENV_URL, WarehouseError, WarehouseSettings, masked, scrub
from sheetcrm.warehouse.tables import METADATA, VERSION_TABLE
from test_warehouse_mirror import DAY, assert_mirrors, engine_of

import pytest

NOW = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.timezone.utc)


def dead_url() -> str:
    return f"postgresql://crm:{PASSWORD}@127.0.0.1:{_free_port()}/crm"  # nothing listens there


def crm_book(tmp_path):
    t = merge_tabs()
    del t["Duplicates"]
    return xlsx_book(tmp_path / "crm.xlsx", t)


def test_masked_hides_every_form_of_password():
    assert masked("postgresql://crm:pw@db:5432/crm") == "postgresql://crm:***@db:5432/crm"
    assert masked("postgresql://crm:p@ss/w0rd@db/crm") == "postgresql://crm:***@db/crm"  # unencoded @ and /
    assert masked("postgresql://db/crm?user=crm&password=pw&sslmode=require") == \
        "postgresql://db/crm?user=crm&password=***&sslmode=require"
    assert masked("postgresql://crm@db/crm") == "postgresql://crm@db/crm"
    assert masked("sqlite:///crm.db") == "sqlite:///crm.db"
    assert scrub('auth failed for "crm" with pw', "postgresql://crm:pw@db/crm") == 'auth failed for "crm" with ***'
    # libpq's sslpassword (the client key's passphrase) is a secret too: `sheetcrm run` logged it
    # in the masked URL of every failed mirror
    assert masked("postgresql://crm:pw@db/crm?sslkey=k.pem&sslpassword=Key%21pw") == \
        "postgresql://crm:***@db/crm?sslkey=k.pem&sslpassword=***"
    assert scrub("bad passphrase Key!pw / ssl=Key%21pw", "postgresql://db/crm?sslpassword=Key%21pw") == \
        "bad passphrase *** / ssl=***"


def test_a_percent_encoded_password_is_hidden_decoded_too():
    # The driver is given the decoded password ("p@ss:w/rd%x"), so that is what its errors
    # could quote: only the query's passwords used to be decoded, never the user part's.
    url = "postgresql://crm:p%40ss%3Aw%2Frd%25x@db/crm"
    assert scrub("auth with p@ss:w/rd%x failed", url) == "auth with *** failed"
    assert scrub(f"cannot use {url}", url) == "cannot use postgresql://crm:***@db/crm"


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:", "sqlite+pysqlite://",
                                 "sqlite:///file:crm?mode=memory&uri=true"])
def test_an_in_memory_sqlite_warehouse_is_a_config_error_not_a_failure_at_every_sync(tmp_path, monkeypatch, url):
    # Each try connects anew (NullPool): the migration's tables were gone before the rows came,
    # and every sync said "no such table ...; caught up on the next sync", which it never was.
    path = tmp_path / "sheetcrm.toml"
    path.write_text(f'[warehouse]\nurl = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="warehouse.url: .*in-memory"):
        load_config(path)
    path.write_text("[warehouse]\n", encoding="utf-8")
    monkeypatch.setenv(ENV_URL, url)
    with pytest.raises(ConfigError, match=f"warehouse.url: .*{ENV_URL}.*in-memory"):
        load_config(path)
    monkeypatch.setenv(ENV_URL, f"sqlite:///{tmp_path / 'crm.db'}")
    assert load_config(path).warehouse.effective_url().endswith("crm.db")


def test_an_unreachable_warehouse_never_fails_the_sync_and_the_next_sync_catches_up(tmp_path, postgres_url, caplog):
    book = crm_book(tmp_path)
    caplog.set_level(logging.INFO, logger="sheetcrm.run.warehouse")
    dead = Config(warehouse=WarehouseSettings(url=dead_url(), attempts=2, backoff_seconds=0.01))
    outcome = sync(book, dead, as_of=DAY)
    assert outcome.result is not None and outcome.result.total > 0  # the workbook was written all the same
    assert outcome.mirrored.outcome == "failed" and outcome.mirrored.attempts == 2 and not outcome.mirrored.lasting
    assert PASSWORD not in outcome.mirrored.error and "crm:***@127.0.0.1" in outcome.mirrored.error
    lines = [r.getMessage() for r in caplog.records if r.name == "sheetcrm.run.warehouse"]
    assert len(lines) == 1 and "\n" not in lines[0] and PASSWORD not in lines[0]
    assert "next sync" in lines[0]

    live = Config(warehouse=WarehouseSettings(url=postgres_url))
    caught_up = sync(book, live, as_of=DAY)
    assert caught_up.result is None  # nothing new for the workbook: the mirror catches up alone
    assert caught_up.mirrored.outcome == "mirrored" and caught_up.mirrored.rows > 0
    assert_mirrors(engine_of(postgres_url), book, live)


def test_a_failure_that_recurs_says_how_many_syncs_and_since_when_not_the_next_sync_again(tmp_path, caplog):
    """A warehouse down for days said "caught up on the next sync" at every sync. From the
    second failure in a row the line says how many syncs and since when (on the team's clock,
    in its language), and so does the Mirrored `sheetcrm run` logs; a sync that reaches the
    warehouse starts the count again."""
    book = crm_book(tmp_path)
    caplog.set_level(logging.INFO, logger="sheetcrm.run.warehouse")
    dead = Config(locale="es", timezone="America/New_York",
                  warehouse=WarehouseSettings(url=dead_url(), attempts=1))
    moments = iter([NOW, NOW + dt.timedelta(hours=1), NOW + dt.timedelta(hours=2)])

    def lines() -> list[str]:
        said = [r.getMessage() for r in caplog.records if r.name == "sheetcrm.run.warehouse"]
        caplog.clear()
        return said

    ctx = plan_context(book.read(), dead, DAY)
    first = mirror_sync(ctx, None, book, now=lambda: next(moments))
    assert first.behind is None and "próxima sincronización" in lines()[0]
    second = mirror_sync(ctx, None, book, now=lambda: next(moments))
    third = mirror_sync(ctx, None, book, now=lambda: next(moments))
    said = lines()
    assert (second.behind.syncs, third.behind.syncs, third.behind.since) == (2, 3, NOW)
    assert "2 sincronizaciones seguidas desde el 23 nov 2026, 4:30:00" in said[0], said  # 9:30 UTC in New York
    assert "3 sincronizaciones seguidas desde el 23 nov 2026, 4:30:00" in said[1], said
    assert not any("próxima" in line for line in said)

    mirror_sync(plan_context(book.read(), Config(warehouse=WarehouseSettings(url=f"sqlite:///{tmp_path / 'w.db'}")), DAY),
                None, book)
    again = mirror_sync(ctx, None, book, now=lambda: NOW + dt.timedelta(days=1))
    assert again.behind is None and "próxima sincronización" in lines()[-1]


def test_sheetcrm_runs_sync_log_says_how_long_the_warehouse_is_behind(tmp_path):
    """The Sync Log row of `sheetcrm run` said "warehouse not mirrored, caught up on the next
    sync" at every failed sync; from the second in a row it says how many and since when."""
    from sheetcrm.service import Service

    book = crm_book(tmp_path)
    config = Config(warehouse=WarehouseSettings(url=dead_url(), attempts=1))
    service = Service(config, book, logging.getLogger("test-warehouse-behind"), today=lambda: DAY)
    service.run_once()
    service.run_once()
    messages = [str(row[8]) for row in book.read().tabs["Sync Log"].rows[1:]]
    assert "caught up on the next sync" in messages[0] and "2 syncs in a row since" in messages[1], messages


@pytest.mark.parametrize("url", [f"postgresql://crm:{PASSWORD}@db:port/crm",   # a port that is no number
                                 f"postgresql://crm:{PASSWORD}@x:w/rd#1@db:5432/crm",  # its @ : / # not %-encoded
                                 f"postgresql://crm:{PASSWORD}@[::1/crm",
                                 # an @ not %-encoded: the driver took the password to end there and
                                 # named the rest as the host it could not find, in the line said
                                 f"postgresql://crm:pw@{PASSWORD}@127.0.0.1:5432/crm"])
def test_a_url_that_does_not_parse_is_said_lasting_not_caught_up_next_sync(tmp_path, caplog, url):
    """No later sync gets past a URL that does not parse: its line says it waits for a fix (the
    Sync Log row too), never "caught up on the next sync", and it is not retried."""
    book = crm_book(tmp_path)
    caplog.set_level(logging.INFO, logger="sheetcrm.run.warehouse")
    outcome = sync(book, Config(warehouse=WarehouseSettings(url=url, attempts=3, backoff_seconds=0.01)), as_of=DAY)
    assert outcome.result is not None and outcome.result.total > 0  # the workbook was written all the same
    assert outcome.mirrored.outcome == "failed" and outcome.mirrored.lasting and outcome.mirrored.attempts == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "sheetcrm.run.warehouse"]
    assert len(lines) == 1 and "until that is fixed" in lines[0] and "next sync" not in lines[0]
    assert PASSWORD not in lines[0] and "crm:***@" in lines[0]
    assert "cannot be read as a URL" in lines[0] and "%40" in lines[0]  # why, since masked it looks right


def test_a_sqlite_file_in_a_folder_that_does_not_exist_is_said_lasting_naming_the_folder(tmp_path):
    # SQLite makes the file, never its folder: each sync failed on "unable to open database file",
    # retried, and promised "caught up on the next sync", which failed the same way.
    folder = tmp_path / "no-such-folder"
    settings = WarehouseSettings(url=f"sqlite:///{folder / 'crm.db'}", attempts=3, backoff_seconds=0.01)
    done = mirror(settings, Batch(rows={"outbox": []}), "crm.xlsx", DAY, NOW, sleep=lambda s: None)
    assert done.outcome == "failed" and done.lasting and done.attempts == 1
    assert f"the folder {folder} does not exist" in done.error and not folder.exists()
    with pytest.raises(WarehouseError, match="does not exist"):
        init(settings)


def test_failed_tries_back_off_doubling_and_a_later_try_can_succeed(tmp_path, monkeypatch):
    sleeps: list[float] = []
    settings = WarehouseSettings(url=dead_url(), attempts=3, backoff_seconds=0.5)
    failed = mirror(settings, Batch(), "crm.xlsx", DAY, NOW, sleep=sleeps.append)
    assert failed.outcome == "failed" and failed.attempts == 3 and sleeps == [0.5, 1.0]

    # The database comes back while the mirror waits: the next try mirrors.
    good = f"sqlite:///{tmp_path / 'w.db'}"
    monkeypatch.setenv(ENV_URL, dead_url())
    done = mirror(WarehouseSettings(attempts=3, backoff_seconds=0.5), Batch(rows={"outbox": []}), "crm.xlsx", DAY,
                  NOW, sleep=lambda s: monkeypatch.setenv(ENV_URL, good))
    assert done.outcome == "mirrored" and done.attempts == 2


def test_a_config_with_a_url_of_another_database_is_one_line_without_the_url(tmp_path):
    path = tmp_path / "sheetcrm.toml"
    path.write_text(f'[warehouse]\nurl = "mysql://crm:{PASSWORD}@db/crm"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert "warehouse.url" in str(e.value) and PASSWORD not in str(e.value) and "\n" not in str(e.value)
    path.write_text('[warehouse]\n', encoding="utf-8")
    assert load_config(path).warehouse.url == "sqlite:///crm.db"  # the embedded default, to try it


@pytest.mark.parametrize("section", ['[warehouse]\nurl = "sqlite:///crm.db"\n', ""])
def test_an_environment_url_of_another_database_is_one_line_and_exit_2(tmp_path, section):
    # $SHEETCRM_WAREHOUSE_URL stands for the config's url: held to the same schemes, with or
    # without a [warehouse] section, and never shown (it may hold a password).
    (tmp_path / "sheetcrm.toml").write_text(section, encoding="utf-8")
    env = {**os.environ, ENV_URL: f"mysql://crm:{PASSWORD}@db/crm"}
    for command in (["warehouse", "status"], ["warehouse", "init"]):
        out = subprocess.run([sys.executable, "-m", "sheetcrm", *command], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 2, out.stderr
        assert ENV_URL in out.stderr and PASSWORD not in out.stderr + out.stdout
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_the_commands_say_one_line_and_exit_2_when_the_warehouse_is_unreachable(tmp_path):
    (tmp_path / "sheetcrm.toml").write_text(f'[warehouse]\nurl = "{dead_url()}"\nattempts = 1\n', encoding="utf-8")
    for command in ("status", "init"):
        out = run_cli("warehouse", command, cwd=tmp_path)
        assert out.returncode == 2, out
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sheetcrm: warehouse postgresql://crm:***@127.0.0.1"), out.stderr
        assert PASSWORD not in out.stderr + out.stdout and "Traceback" not in out.stderr

    # A sync with it: the workbook is synced (exit 0), the warehouse's one line on stderr.
    crm_book(tmp_path)
    out = run_cli("sync", "--workbook", "crm.xlsx", "--as-of", "2026-11-23", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "wrote" in out.stdout
    assert [line for line in out.stderr.splitlines() if "warehouse" in line] == out.stderr.strip().splitlines()
    assert len(out.stderr.strip().splitlines()) == 1 and PASSWORD not in out.stderr + out.stdout


def test_init_then_status_on_postgresql(tmp_path, postgres_url):
    (tmp_path / "sheetcrm.toml").write_text(f'[warehouse]\nurl = "{postgres_url}"\n', encoding="utf-8")
    out = run_cli("warehouse", "status", cwd=tmp_path)
    assert out.returncode == 0 and "sheetcrm warehouse init" in out.stdout, out
    out = run_cli("warehouse", "init", cwd=tmp_path)
    assert out.returncode == 0 and head() in out.stdout, out
    crm_book(tmp_path)
    assert run_cli("sync", "--workbook", "crm.xlsx", "--as-of", "2026-11-23", cwd=tmp_path).returncode == 0
    out = run_cli("warehouse", "status", "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import json
    state = json.loads(out.stdout)
    assert state["current"] and state["tables"]["accounts"] == {"live": 4, "deleted": 0}
    assert state["mirrored"][0]["source"].endswith("crm.xlsx") and state["mirrored"][0]["as_of"] == "2026-11-23"
    assert PASSWORD not in out.stdout + out.stderr and "crm:***@" in state["url"]


def test_the_migrations_make_exactly_the_declared_tables(postgres_url):
    """A new tab kind or computed field without its migration fails here
    (scripts/warehouse_migration.py writes it)."""
    init(WarehouseSettings(url=postgres_url))
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as c:
        context = MigrationContext.configure(c, opts={"version_table": VERSION_TABLE, "compare_type": True})
        assert compare_metadata(context, METADATA) == []
        assert set(inspect(c).get_table_names()) == {*METADATA.tables, VERSION_TABLE}


def test_a_second_workbook_is_refused_rather_than_tombstoning_the_first(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    settings = WarehouseSettings(url=url)
    first = Batch(rows={"accounts": [{"id": "ACC-0001", "name": "Acme"}]})
    assert mirror(settings, first, "/srv/a.xlsx", DAY, NOW).outcome == "mirrored"
    with caplog.at_level(logging.WARNING):
        refused = mirror(settings, Batch(rows={"accounts": []}), "/srv/b.xlsx", DAY, NOW, sleep=pytest.fail)
    # No later sync gets past it by itself, so none is promised.
    assert "until that is fixed" in caplog.text and "next sync" not in caplog.text and refused.lasting
    assert refused.outcome == "failed" and "/srv/a.xlsx" in refused.error and refused.attempts == 1
    with create_engine(url).connect() as c:
        assert c.exec_driver_sql("SELECT id, deleted_at FROM accounts").all() == [("ACC-0001", None)]


def test_a_database_a_newer_sheetcrm_migrated_is_one_line_not_a_crash(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    settings = WarehouseSettings(url=url)
    init(settings)
    with create_engine(url).begin() as c:
        c.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = '9999'")
    failed = mirror(settings, Batch(), "crm.xlsx", DAY, NOW, sleep=pytest.fail)
    assert failed.outcome == "failed" and "9999" in failed.error and "\n" not in failed.error
    with pytest.raises(Exception) as e:
        init(settings)
    assert type(e.value).__name__ == "WarehouseError" and "9999" in str(e.value)


def test_looking_at_a_sqlite_warehouse_that_does_not_exist_makes_no_file(tmp_path):
    # warehouse status and the read-only commands only look: an empty crm.db left behind would
    # pass for a warehouse later.
    from books import xlsx_book
    from in_process import cli

    db = tmp_path / "wh.db"
    (tmp_path / "sheetcrm.toml").write_text(f'[warehouse]\nurl = "sqlite:///{db}"\nkeep_months = 3\n', encoding="utf-8")
    xlsx_book(tmp_path / "crm.xlsx", {"Opportunities": [["ID", "Name", "Stage", "Amount"], ["OPP-0001", "A", "Proposal", 5]]})
    # The first through a real process (exit status and stderr as a shell sees them), the others
    # through the same commands in this process (a process each cost 1.1 s, mostly imports).
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "warehouse", "status"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2 and "no such database file" in out.stderr and "Traceback" not in out.stderr
    for command in ("forecast", "kpis", "validate"):
        done = cli(command, "--workbook", "crm.xlsx", cwd=tmp_path)
        assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr
    assert not db.exists()
    assert cli("warehouse", "init", cwd=tmp_path).returncode == 0 and db.exists()
    assert cli("warehouse", "status", cwd=tmp_path).returncode == 0


def test_a_warehouse_section_without_the_extra_installed_is_one_sheetcrm_line_and_the_sync_completes(tmp_path):
    # The extra missing is the operator's to fix, and lasting (no later sync installs it); the
    # workbook is still synced (exit 0, as with an unreachable database), the line said as the
    # command's other lines are: "sheetcrm: …", and --format json says it failed for good.
    ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    blocked = tmp_path / "no_extra"
    blocked.mkdir()
    (blocked / "sitecustomize.py").write_text(  # this process has no sqlalchemy, as without the extra
        "import sys\n"
        "class _NoExtra:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('sqlalchemy', 'alembic', 'psycopg'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _NoExtra())\n", encoding="utf-8")
    crm_book(tmp_path)
    (tmp_path / "sheetcrm.toml").write_text('[warehouse]\nurl = "sqlite:///crm.db"\n', encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "SHEETCRM_LANG": "en", "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "PYTHONPATH": f"{blocked}{os.pathsep}{ROOT}"}
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "sync", "--as-of", "2026-11-23"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ("sheetcrm: the [warehouse] section needs the warehouse extra (alembic is missing): "
                          "pip install '.[warehouse]' in sheetcrm's folder (the clone it was installed from), "
                          "or pip install 'sheetcrm[warehouse]'\n"), out.stderr
    assert not (tmp_path / "crm.db").exists()
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "sync", "--as-of", "2026-11-23", "--format", "json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    import json

    warehouse = json.loads(out.stdout)["warehouse"]
    assert (warehouse["outcome"], warehouse["lasting"]) == ("failed", True)


def test_status_says_the_mirrors_day_and_time_in_the_teams_language(tmp_path, monkeypatch):
    """`warehouse status` in Spanish said "replicado hasta la sincronización del 2026-11-23, a las
    2026-11-23 09:30:00": ISO in a Spanish line, where every other date is "23 nov 2026"."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    url = f"sqlite:///{tmp_path / 'w.db'}"
    (tmp_path / "sheetcrm.toml").write_text(f'locale = "es"\n[warehouse]\nurl = "{url}"\n', encoding="utf-8")
    settings = WarehouseSettings(url=url)
    init(settings)
    assert mirror(settings, Batch(rows={"outbox": []}), "crm.xlsx", DAY, NOW).outcome == "mirrored"
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["warehouse", "status"])
    assert done.exit_code == 0, done.output
    # "el" before a day and a time: "a las 23 nov 2026" put an hour's article before a date.
    assert "crm.xlsx: replicado hasta la sincronización del 23 nov 2026, el 23 nov 2026, 9:30:00" in done.stdout


class Killed(BaseException):
    """The process stopped mid-statement (SIGTERM, a power cut): nothing after it runs."""


def test_a_sync_killed_half_way_through_the_migration_leaves_no_table_and_the_next_one_migrates(tmp_path):
    """Python's sqlite3 ran CREATE TABLE outside any transaction: a sync killed after the first
    tables stayed with them and no revision, and every later one failed on "table accounts
    already exists" while its line promised a catch-up on the next sync."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    url = f"sqlite:///{tmp_path / 'w.db'}"
    batch = Batch(rows={"accounts": [{"id": "ACC-0001", "name": "Ñandú S.L."}]})
    made: list[str] = []

    def kill_at_the_third_table(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            made.append(statement)
            if len(made) == 3:
                raise Killed

    event.listen(Engine, "after_cursor_execute", kill_at_the_third_table)
    try:
        with pytest.raises(Killed):
            mirror(WarehouseSettings(url=url), batch, "/srv/crm.xlsx", DAY, NOW, sleep=pytest.fail)
    finally:
        event.remove(Engine, "after_cursor_execute", kill_at_the_third_table)
    with create_engine(url).connect() as c:
        assert inspect(c).get_table_names() == []  # all of the migration or none of it

    done = mirror(WarehouseSettings(url=url), batch, "/srv/crm.xlsx", DAY, NOW, sleep=pytest.fail)
    assert done.outcome == "mirrored", done.error
    with create_engine(url).connect() as c:
        assert c.exec_driver_sql("SELECT id, name FROM accounts").all() == [("ACC-0001", "Ñandú S.L.")]


def test_two_workbooks_mirrored_at_the_same_moment_into_a_new_warehouse_are_not_both_taken(warehouse_url):
    """A warehouse holds one workbook; two syncs at once both read its empty mark before either
    wrote, so both mirrored, the records of the two mixed, and every later sync of either was
    refused. Now the second waits for the first, then is refused as any other workbook is."""
    import threading

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    init(WarehouseSettings(url=warehouse_url))
    first_read, second_done = threading.Event(), threading.Event()
    first = threading.current_thread()

    def pause_the_first_after_it_reads_the_mark(_conn, _cursor, statement, *_args):
        # The first sync, having read the mark, waits for the second to finish (or to be seen
        # waiting for it: half a second).
        if "sheetcrm_mirror" in statement and statement.lstrip().upper().startswith("SELECT") \
                and threading.current_thread() is not first and not first_read.is_set():
            first_read.set()
            second_done.wait(0.5)

    a = Batch(rows={"accounts": [{"id": "ACC-0001", "name": "Acme"}]})
    b = Batch(rows={"accounts": [{"id": "ACC-0001", "name": "Other"}, {"id": "ACC-0002", "name": "Beta"}]})
    outcomes = {}
    event.listen(Engine, "after_cursor_execute", pause_the_first_after_it_reads_the_mark)
    try:
        runner = threading.Thread(target=lambda: outcomes.setdefault(
            "a", mirror(WarehouseSettings(url=warehouse_url), a, "/srv/a.xlsx", DAY, NOW, sleep=pytest.fail)))
        runner.start()
        assert first_read.wait(30)
        outcomes["b"] = mirror(WarehouseSettings(url=warehouse_url, attempts=1), b, "/srv/b.xlsx", DAY, NOW)
        second_done.set()
        runner.join(30)
    finally:
        event.remove(Engine, "after_cursor_execute", pause_the_first_after_it_reads_the_mark)
    assert outcomes["a"].outcome == "mirrored"
    assert outcomes["b"].outcome == "failed" and outcomes["b"].lasting and "/srv/a.xlsx" in outcomes["b"].error
    with engine_of(warehouse_url).connect() as c:
        assert c.exec_driver_sql("SELECT source FROM sheetcrm_mirror").all() == [("/srv/a.xlsx",)]
        assert c.exec_driver_sql("SELECT id, name FROM accounts").all() == [("ACC-0001", "Acme")]


def test_status_says_when_it_was_mirrored_on_the_teams_clock(tmp_path, monkeypatch):
    """The mark's time is an instant kept in UTC; `warehouse status` showed it as UTC's wall time
    with no zone (9:30 for a team in Madrid whose clock said 10:30), and its JSON, from SQLite,
    with no offset at all."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    url = f"sqlite:///{tmp_path / 'w.db'}"
    (tmp_path / "sheetcrm.toml").write_text(f'timezone = "Europe/Madrid"\n[warehouse]\nurl = "{url}"\n',
                                            encoding="utf-8")
    settings = WarehouseSettings(url=url)
    assert mirror(settings, Batch(rows={"outbox": []}), "crm.xlsx", DAY, NOW).outcome == "mirrored"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    done = CliRunner().invoke(main, ["warehouse", "status"])
    assert done.exit_code == 0, done.output
    assert "crm.xlsx: mirrored up to the sync of Nov 23, 2026, at Nov 23, 2026, 10:30:00\u202fAM (0 rows)" in done.stdout
    as_json = CliRunner().invoke(main, ["warehouse", "status", "--format", "json"])
    # ISO 8601 with its "T", as every JSON timestamp; str() gave "2026-11-23 09:30:00+00:00".
    assert json.loads(as_json.stdout)["mirrored"][0]["mirrored_at"] == "2026-11-23T09:30:00+00:00"



@pytest.mark.parametrize("locale, head, tail", [
    ("en", "cannot write this sync's rows: ", "; not mirrored until that is fixed"),
    ("es", "no se pueden escribir las filas de esta sincronización: ", "; sin replicar hasta que se corrija"),
])
@pytest.mark.parametrize("password, database, says", [
    ("wrong-Pa55", "postgres", {"en": "the server refuses the user name or password: correct them in the url",
                                "es": "el servidor rechaza el usuario o la contraseña: corrígelos en la url"}),
    (PASSWORD, "nosuchdb", {"en": "the database named in the url does not exist on the server: create it, or "
                                  "name another",
                            "es": "la base de datos que nombra la url no existe en el servidor: créala, o nombra "
                                  "otra"}),
])
def test_a_wrong_password_or_a_missing_database_is_said_lasting_not_retried_nor_caught_up_next_sync(
        caplog, postgres_password_server, locale, head, tail, password, database, says):
    """Found by a tester: a wrong password or a database that does not exist was retried with
    backoff and said "caught up on the next sync", though no sync gets past it until the URL
    changes. Now: one try, "until that is fixed", in the team's words, the password hidden."""
    from sheetcrm.i18n import using

    host, port = postgres_password_server
    url = f"postgresql://crm:{password}@{host}:{port}/{database}"
    caplog.set_level(logging.INFO, logger="sheetcrm.run.warehouse")
    slept: list[float] = []
    with using(locale):
        done = mirror(WarehouseSettings(url=url, attempts=3, backoff_seconds=0.01), Batch(), "crm.xlsx", DAY, NOW,
                      sleep=slept.append)
    assert done.outcome == "failed" and done.lasting and done.attempts == 1 and slept == []
    lines = [r.getMessage() for r in caplog.records if r.name == "sheetcrm.run.warehouse"]
    assert len(lines) == 1 and password not in lines[0] and PASSWORD not in lines[0], lines
    assert lines[0].endswith(f"{port}/{database}: {head}{says[locale]}{tail}"), lines[0]

    # The right password on the same server mirrors: the refusal was the URL's alone.
    good = mirror(WarehouseSettings(url=f"postgresql://crm:{PASSWORD}@{host}:{port}/postgres"), Batch(),
                  "crm.xlsx", DAY, NOW)
    assert good.outcome in ("mirrored", "unchanged"), good
