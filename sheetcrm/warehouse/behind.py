"""How long a workbook's warehouse has been behind: its failed mirrors in a row, kept in a small
file beside the lock (`lock_dir()/<workbook>.warehouse.json`).

Every sync mirrors the whole workbook, so one failed mirror is caught up by the next sync that
reaches the database, and its line says so. A failure that recurs at every sync (a database
down for a week, a firewall rule) is not that: from the second failure in a row the line says
how many syncs it has been and since when (`warehouse.mirror`), rather than promising the next
sync again. The count is this machine's (the lock's): another machine's syncs keep their own.

    read(path) -> Behind | None      # None: the last mirror here did not fail (or no file)
    after(path, outcome, now)        # "mirrored"/"unchanged"/"older" forget; "failed"/"behind" count

Neither raises: a file that cannot be read or written only loses the count (the line then
says what one failure says), never the sync.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from babel.dates import format_datetime

from sheetcrm.i18n import current
from sheetcrm.lock import lock_dir


@dataclass(frozen=True)
class Behind:
    """`syncs` mirrors in a row that did not happen, the first at `since` (aware, UTC)."""

    syncs: int
    since: dt.datetime


def when(since: dt.datetime, zone: dt.tzinfo | None) -> str:
    """`since` as the reader writes a date and time (`show.moment`), on the clock of `zone` (the
    team's; None: the machine's)."""
    moment = since.astimezone(zone)
    return format_datetime(moment, "medium", tzinfo=moment.tzinfo, locale=current())


def path_for(workbook_key: str) -> Path:
    """The file of the workbook whose `lock.workbook_key` is `workbook_key`."""
    return lock_dir() / f"{hashlib.sha256(workbook_key.encode()).hexdigest()[:24]}.warehouse.json"


def read(path: Path) -> Behind | None:
    try:
        data = json.loads(path.read_text())
        since = dt.datetime.fromisoformat(data["since"])
        syncs = int(data["syncs"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if since.tzinfo is None or syncs < 1:
        return None
    return Behind(syncs, since)


def after(path: Path, outcome: str, now: dt.datetime) -> Behind | None:
    """Record one sync's mirror `outcome` (`settings.Mirrored.outcome`) at `now` (aware); what the
    file now says."""
    try:
        if outcome in ("mirrored", "unchanged", "older"):
            path.unlink(missing_ok=True)
            return None
        before = read(path)
        behind = Behind(before.syncs + 1, before.since) if before else Behind(1, now.astimezone(dt.timezone.utc))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"syncs": behind.syncs, "since": behind.since.isoformat()}))
        os.replace(tmp, path)  # a crash leaves the old count, whole
        return behind
    except OSError:
        return None
