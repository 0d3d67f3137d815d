"""A real PostgreSQL server for the warehouse tests: one per test session (initdb + pg_ctl on a
temporary folder and a free port), a fresh database per test. PostgreSQL refuses to run as
root, so under root (CI) the server runs as the `postgres` user the Debian package creates.
.ci/run installs PostgreSQL when it is missing; without it these tests fail, they never skip."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

USER = "crm"
PASSWORD = "s3cret-Pa55"  # the server trusts local connections; the tests check this never shows


def _binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.fail(f"PostgreSQL's {name} is not installed (.ci/run installs the postgresql package)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server():
    """(host, port) of a running PostgreSQL whose superuser is USER; stopped after the session."""
    yield from _server("trust")


@pytest.fixture(scope="module")
def postgres_password_server():
    """(host, port) of a running PostgreSQL that checks passwords: USER's is PASSWORD."""
    yield from _server("scram-sha-256")


def _server(auth: str):
    folder = Path(tempfile.mkdtemp(prefix="sheetcrm-pg-"))
    data, sockets = folder / "data", folder / "run"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (folder, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    (folder / "pw").write_text(PASSWORD + "\n")
    subprocess.run([*as_user, _binary("initdb"), "-D", str(data), "-U", USER, f"--auth={auth}", "-E", "UTF8",
                    "--no-sync", f"--pwfile={folder / 'pw'}"], check=True, capture_output=True)
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c lc_messages=C"
    subprocess.run([*as_user, _binary("pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w",
                    "start"], check=True, capture_output=True)
    try:
        yield "127.0.0.1", port
    finally:
        subprocess.run([*as_user, _binary("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A fresh, empty database on the session's server, as a postgresql:// URL with a password."""
    host, port = postgres_server
    name = f"test_{next(_numbers)}"
    with psycopg.connect(host=host, port=port, user=USER, dbname="postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql://{USER}:{PASSWORD}@{host}:{port}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def warehouse_url(request, tmp_path) -> str:
    """Each warehouse test against SQLite (a file) and a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'warehouse.db'}"
    return request.getfixturevalue("postgres_url")
