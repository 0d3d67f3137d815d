"""The [warehouse] section of sheetcrm.toml, how its URL is shown (never with its password), and
what one sync's mirror did.

    [warehouse]
    url = "postgresql://crm:secret@db.example.com/crm"   # or "sqlite:///crm.db" (the default)
    attempts = 3            # tries per sync when the database cannot be reached
    backoff_seconds = 1.0   # doubled after each failed try
    keep_months = 12        # the sheet keeps 12 months of history; the warehouse every row

$SHEETCRM_WAREHOUSE_URL wins over `url`, so the password can stay out of the file. This module
imports no SQLAlchemy: a config with no [warehouse] never needs the `warehouse` extra.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

from dataclasses import dataclass

from pydantic import Field, field_validator, model_validator

from sheetcrm.i18n import _
from sheetcrm.warehouse.behind import Behind
from sheetcrm.settings import MINUTE, KeyedProblem, Section, seconds

ENV_URL = "SHEETCRM_WAREHOUSE_URL"
DEFAULT_URL = "sqlite:///crm.db"
# The URL schemes the mirror speaks: PostgreSQL (psycopg 3) and SQLite (the standard library).
SCHEMES = ("postgresql", "postgres", "postgresql+psycopg", "sqlite", "sqlite+pysqlite")


class WarehouseError(Exception):
    """A warehouse problem, phrased as one line with the URL masked: the CLI's exit 2."""


@dataclass
class Mirrored:
    """What one sync's mirror did: "mirrored", "unchanged" (the mark held this batch already),
    "older" (the warehouse holds a newer read's rows: not mirrored, said in one line), "failed",
    or "behind" (the write skipped cells: not mirrored) (`error`: one line, URL masked)."""

    outcome: str
    rows: int = 0
    tombstoned: int = 0
    attempts: int = 1
    error: str | None = None
    lasting: bool = False  # failed for a reason no later sync gets past by itself (the error says which)
    # From the second mirror in a row that did not happen: how many, since when (warehouse.behind).
    behind: "Behind | None" = None


class WarehouseSettings(Section):
    url: str = DEFAULT_URL
    attempts: int = Field(default=3, ge=1, le=10)
    backoff_seconds: float = seconds(1.0, MINUTE)
    # Seconds to wait for a connection before a try counts as failed.
    connect_timeout: float = seconds(10.0, MINUTE)
    # Keep only the last N months of Stage History, Lead Status History and the Sync Log in the
    # sheet, the warehouse keeping every row (warehouse.keep); None keeps everything.
    keep_months: int | None = Field(default=None, ge=1, le=1200)

    @model_validator(mode="after")
    def _keep_needs_url(self) -> "WarehouseSettings":
        # The rows keep_months removes live on only in the warehouse: never in a crm.db that is
        # whichever folder the command happened to run in.
        if self.keep_months is not None and "url" not in self.model_fields_set and not os.environ.get(ENV_URL):
            raise KeyedProblem("keep_months", _("needs the warehouse's url (or ${env}): the rows it removes from "
                                                "the sheet live on only in the warehouse", env=ENV_URL))
        url = self.effective_url()
        if self.keep_months is not None and scheme_of(url).startswith("sqlite") and not os.path.isabs(
                sqlite_file(url) or ""):
            # A relative SQLite path is a different file in each folder a command runs in: the
            # rows would be split between them.
            raise KeyedProblem("keep_months", _("needs a SQLite url naming a file by its absolute path "
                                                "(sqlite:////path/to/crm.db): a relative path is another file in "
                                                "each folder a command runs in, and memory keeps nothing"))
        return self

    @model_validator(mode="after")
    def _known_env_scheme(self) -> "WarehouseSettings":
        # $SHEETCRM_WAREHOUSE_URL stands for `url`, so it is held to the same schemes (a
        # mysql:// one was tried at each sync and said its driver was missing).
        env = os.environ.get(ENV_URL)
        if env and scheme_of(env) not in SCHEMES:
            raise KeyedProblem("url", _("${env} must be a postgresql://… or sqlite:///… URL", env=ENV_URL))
        if env and in_memory(env):
            raise KeyedProblem("url", _("${env} names an in-memory SQLite database, which keeps nothing between "
                                        "connections: name a file, sqlite:////path/to/crm.db", env=ENV_URL))
        return self

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        # The message never repeats the value: it may hold a password.
        if scheme_of(v) not in SCHEMES:
            raise ValueError(_("must be a postgresql://… or sqlite:///… URL"))
        if in_memory(v):
            # Each connection (one per try: NullPool) gets a new, empty database: the tables the
            # migration made were gone before the rows were written, at every sync.
            raise ValueError(_("names an in-memory SQLite database, which keeps nothing between connections: "
                               "name a file, sqlite:////path/to/crm.db"))
        return v

    def effective_url(self) -> str:
        """$SHEETCRM_WAREHOUSE_URL when set, else `url`."""
        return os.environ.get(ENV_URL) or self.url


def sqlite_file(url: str) -> str | None:
    """The file a sqlite URL names (relative or absolute, as written), None for another scheme,
    an in-memory database or a `file:` URI."""
    if not scheme_of(url).startswith("sqlite"):
        return None
    database = url.split("://", 1)[1]
    path = database[1:].split("?", 1)[0] if database.startswith("/") else ""
    return path if path and path != ":memory:" and not path.startswith("file:") else None


def in_memory(url: str) -> bool:
    """Whether a sqlite URL names an in-memory database ("sqlite://", "sqlite:///:memory:", a
    `file:` URI with mode=memory or named :memory:)."""
    if not scheme_of(url).startswith("sqlite"):
        return False
    database = url.split("://", 1)[1]
    path, _sep, query = (database[1:] if database.startswith("/") else database).partition("?")
    if path.startswith("file:"):
        return path[5:] in ("", ":memory:") or re.search(r"(?:^|&)mode=memory(?:&|$)", query, re.I) is not None
    return path in ("", ":memory:")


def scheme_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def masked(url: str) -> str:
    """`url` as output may show it: the password, if any, replaced by ***
    ("postgresql://crm:***@db/crm"). Works on URLs that do not parse, too: the user part runs
    to the authority's last "@", so a password holding "@" or "/" is hidden whole."""
    url = _QUERY_PASSWORD.sub(r"\1***", url)  # libpq also takes ?password=… and ?sslpassword=… (the SSL key's)
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    userinfo, _at, host = rest.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}://{user}:***@{host}" if colon else url


_QUERY_PASSWORD = re.compile(r"((?:[?&])(?:ssl)?password=)[^&]*", re.IGNORECASE)


def password_of(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def _secrets(url: str) -> list[str]:
    """Every secret `url` holds: the password of its user part and of its query, each as written
    and %-decoded (the driver is given, and may quote, the decoded one)."""
    found = [m.group(0)[len(m.group(1)):] for m in _QUERY_PASSWORD.finditer(url)]
    written = [password_of(url), *found]
    return [s for s in [*written, *(unquote(s) for s in written if s)] if s]


def scrub(text: str, url: str) -> str:
    """`text` (a driver's error) with the URL masked and its passwords, wherever they appear, hidden."""
    text = text.replace(url, masked(url))
    for secret in sorted(set(_secrets(url)), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
