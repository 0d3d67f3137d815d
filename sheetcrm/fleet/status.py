"""The running fleet's state file, and what `sheetcrm fleet status` makes of it.

The fleet rewrites a small JSON file after every job, atomically (a temp file beside it, then
`os.replace`), so a reader sees the last whole state, never half of one, and `fleet status`
stays a read-only command that works while the fleet runs:

    {"version": 1, "pid": 4242, "written_at": "2026-11-30T18:00:05+00:00",
     "requests_last_minute": {"read": 41, "write": 6},  # the whole fleet's, in the budget's window
     "budget": {"read": 300, "write": 300},            # the project's, per minute
     "workbooks": [{"name": "acme", "target": "Google spreadsheet 1AbC…",
                    "state": "ok",                   # ok | failing | locked | waiting (not run yet)
                    "last_sync": {"at": "…", "outcome": "ok", "message": "0 errors, 2 warnings"},
                    "next_sync": "…",                 # ISO 8601, local time with offset
                    "failures": 0,                    # syncs failed in a row
                    "requests_last_minute": 3}]}
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from sheetcrm.i18n import N_, _, pgettext
from sheetcrm.os_errors import os_problem
from sheetcrm.workbook import WorkbookError

VERSION = 1
STATES = {"ok": N_("ok"), "failing": N_("failing"), "locked": N_("held by another process"),
          "waiting": N_("not run yet")}


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the state file in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": VERSION, **state}, f, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_state(path: Path) -> dict[str, Any]:
    """The last state the fleet wrote; WorkbookError (one line) when there is none to read."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbookError(_("{file}: no fleet state yet; start the fleet with `sheetcrm run --fleet`",
                              file=path)) from None
    except (OSError, ValueError) as e:
        raise WorkbookError(_("{file}: cannot read the fleet state: {problem}", file=path,
                              problem=os_problem(e))) from None
    if not isinstance(state, dict) or state.get("version") != VERSION:
        raise WorkbookError(_("{file}: not a fleet state this version of sheetcrm writes", file=path))
    return state


def running(state: dict[str, Any]) -> bool:
    """Whether the process that wrote `state` is still alive (on this machine)."""
    pid = state.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def rows(state: dict[str, Any]) -> list[list[str]]:
    """One row per workbook for people: name, state, last sync (time, outcome), next sync,
    failures in a row, requests in the last minute."""
    out = []
    for w in state.get("workbooks", []):
        last = w.get("last_sync") or {}
        outcome = last.get("outcome")
        shown_outcome = {"ok": pgettext("sync log status", "ok"), "error": pgettext("sync log status", "error"),
                         "skipped": _("skipped")}.get(outcome, "") if outcome else ""
        when = short(last.get("at"))
        last_text = _("{when} {outcome}", when=when, outcome=shown_outcome).strip() if when else "—"
        if last.get("message") and outcome != "ok":
            last_text += f": {last['message']}"
        out.append([w.get("name", ""), _(STATES.get(w.get("state", ""), w.get("state", ""))), last_text,
                    short(w.get("next_sync")) or "—", str(w.get("failures", 0)),
                    str(w.get("requests_last_minute", 0))])
    return out


def short(iso: str | None) -> str:
    """An ISO time as YYYY-MM-DD HH:MM:SS (the file keeps the offset)."""
    return iso[:19].replace("T", " ") if iso else ""
