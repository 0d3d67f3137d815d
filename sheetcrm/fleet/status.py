"""The running fleet's state file, and what `sheetcrm fleet status` makes of it.

The fleet rewrites a small JSON file after every job, atomically (a temp file beside it, then
`os.replace`), so a reader sees the last whole state, never half of one, and `fleet status`
stays a read-only command that works while the fleet runs. While it runs the fleet also holds
an flock on `<state>.lock` beside it (`hold`), by which `running` tells a running fleet from
a PID another process has since:

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

import fcntl
import json
import os
import secrets
import time
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
    # Made with the mode a plain write gives (0666 less the umask), not mkstemp's 0600: the file
    # replaced is what `fleet status` reads, and an operator reading it as another user than
    # the service's (systemd's User=) was refused ("permission denied") once it was atomic.
    while True:
        tmp = str(path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp"))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"version": VERSION, **state}, f, ensure_ascii=False, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_state(path: Path) -> dict[str, Any]:
    """The last state the fleet wrote, its fields of the types the module docstring shows;
    WorkbookError (one line) when there is none to read or it is damaged (a hand edit, a disk
    fault): what is wrong, where, and whether the running fleet will rewrite it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkbookError(_("{file}: no fleet state yet; start the fleet with `sheetcrm run --fleet`",
                              file=path)) from None
    except (OSError, ValueError) as e:
        raise WorkbookError(_("{file}: cannot read the fleet state: {problem}", file=path,
                              problem=os_problem(e))) from None
    try:
        state = json.loads(text)
    except ValueError as e:
        where = _("not whole JSON at line {line}, column {column}", line=getattr(e, "lineno", "?"),
                  column=getattr(e, "colno", "?"))
        raise WorkbookError(_damaged(path, where, None)) from None
    if not isinstance(state, dict):
        raise WorkbookError(_damaged(path, _("not a JSON object"), None))
    if type(state.get("version")) is int and state["version"] != VERSION:
        raise WorkbookError(_("{file}: not a fleet state this version of sheetcrm writes", file=path))
    if (field := _bad_field(state)) is not None:
        raise WorkbookError(_damaged(path, _("its field {field}", field=field), state))
    return state


def _damaged(path: Path, where: str, state: dict[str, Any] | None) -> str:
    # A running fleet replaces the whole file after its next job, so the damage mends itself.
    if state is not None and type(state.get("pid")) is int and running(state, path):
        return _("{file}: the fleet state is damaged ({where}); the running fleet (PID {pid}) rewrites it after its "
                 "next job", file=path, where=where, pid=state["pid"])
    return _("{file}: the fleet state is damaged ({where}); delete it, and start the fleet (`sheetcrm run --fleet`) "
             "to write it anew", file=path, where=where)


def _bad_field(state: dict[str, Any]) -> str | None:
    """The first field of `state` missing or not of its type, as a JSON path (`workbooks[0].failures`),
    or None."""
    def count(v: Any) -> bool:
        return type(v) is int and v >= 0

    def text(v: Any, optional: bool = True) -> bool:
        return isinstance(v, str) or (optional and v is None)

    def per_kind(v: Any) -> bool:
        return v is None or (isinstance(v, dict) and count(v.get("read")) and count(v.get("write")))

    checks: list[tuple[str, bool]] = [
        ("version", state.get("version") == VERSION), ("pid", count(state.get("pid"))),
        ("written_at", text(state.get("written_at"))),
        ("requests_last_minute", per_kind(state.get("requests_last_minute"))),
        ("budget", per_kind(state.get("budget"))), ("workbooks", isinstance(state.get("workbooks"), list))]
    for name, ok in checks:
        if not ok:
            return name
    for i, w in enumerate(state["workbooks"]):
        if not isinstance(w, dict):
            return f"workbooks[{i}]"
        last = w.get("last_sync")
        for name, ok in [("name", text(w.get("name"), optional=False)), ("target", text(w.get("target"))),
                         ("state", w.get("state") in STATES), ("last_sync", last is None or isinstance(last, dict)),
                         ("next_sync", text(w.get("next_sync"))), ("failures", count(w.get("failures"))),
                         ("requests_last_minute", count(w.get("requests_last_minute")))]:
            if not ok:
                return f"workbooks[{i}].{name}"
        if isinstance(last, dict):
            for name in ("at", "outcome", "message"):
                if not text(last.get(name)):
                    return f"workbooks[{i}].last_sync.{name}"
    return None


def hold(path: Path) -> int | None:
    """The running fleet's mark beside its state file `path`: an flock on `<state>.lock`, held
    (the descriptor returned) until `let_go` or the process ends, however it ends. None when the
    lock cannot be made or another fleet holds it (then that fleet is the one `running` sees).
    A `fleet status` looking takes it shared for an instant: retried for a second."""
    lock = lock_path(path)
    try:
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    for _attempt in range(50):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            time.sleep(0.02)
        except OSError:
            break
    os.close(fd)
    return None


def let_go(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)  # closing the descriptor drops its flock


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def running(state: dict[str, Any], path: Path | None = None) -> bool:
    """Whether the fleet that wrote `state` (read from `path`) is still running: its lock beside
    the state file is held (`hold`). A PID alone cannot tell: after a crash or a reboot another
    process may have it, and a fleet in a container is PID 1, which on the host is always alive.
    Without that lock file (a state written by hand or by an older sheetcrm), whether the
    process named by the PID is alive, on this machine."""
    if path is not None:
        try:
            fd = os.open(lock_path(path), os.O_RDONLY)
        except OSError:
            fd = None
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return False
            except BlockingIOError:
                return True
            except OSError:
                pass
            finally:
                os.close(fd)
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
