"""Who may write a workbook: one sheetcrm writer at a time, and none while an app has it open.

sheetcrm's own lock is an flock on a file named after the workbook (its spreadsheet ID, or
its absolute path). Every writing command takes it: `run` for its whole life, the others
(sync, init, demo, quote --queue, outbox send) for their one command, waiting briefly for
another command to finish. The kernel drops an flock when its holder dies, however it dies,
so a crash never leaves a stale lock; the PID and command written into the file only name
the holder. The file itself is never deleted: deleting it would let a second process lock a
fresh file while the first still holds the old one.

A spreadsheet app that has an .xlsx open keeps its own copy in memory and writes it back on
save, reverting whatever sheetcrm wrote meanwhile. Both apps announce this with a lock file
beside the workbook: LibreOffice `.~lock.NAME#` (whose first fields name the user), Excel
`~$NAME` (the "owner file", whose first byte is the length of the user name that follows).
While one exists, writes are refused unless the user says --ignore-lock. An app puts its lock
file beside the name it opened: a workbook reached through a symlink opened by the link has it
beside the link, with the link's name; so every name of the link chain is checked, from the
path the user gave sheetcrm to the file itself (`names`).

While holding sheetcrm's lock, a command also removes temp files an interrupted save left
(`.NAME.XXXXXXXX.tmp`, sheetcrm's own pattern): no other sheetcrm writer can be using them.
Read-only commands do the same through `tidy`, which takes the lock only if it is free at
once and otherwise leaves the files to the writer that holds it: they never wait.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Callable

from sheetcrm.i18n import N_, _
from sheetcrm.os_errors import os_problem
from sheetcrm.workbook import Workbook, WorkbookError

# One line each, translated when raised (the language of the command that meets the lock).
MESSAGES = {
    "running": N_("{book} is already served by `sheetcrm run` ({who}); stop it first (lock: {lock})"),
    "busy": N_("{book} is being written by another sheetcrm command ({who}); try again when it finishes "
               "(lock: {lock})"),
    "waiting": N_("{book} is being written by another sheetcrm command ({who}); starting once it finishes"),
    "app": N_("{book} is open in {app} ({lock_file}); close it there first, or pass --ignore-lock "
              "(the app's next save would undo what sheetcrm writes)"),
    "app_by": N_("{book} is open in {app} by {user} ({lock_file}); close it there first, or pass --ignore-lock "
                 "(the app's next save would undo what sheetcrm writes)"),
    "no_lock": N_("cannot create sheetcrm's lock {lock}: {why}; check that $XDG_CACHE_HOME (or ~/.cache) is a "
                  "writable folder"),
}
WAIT_SECONDS = 10.0  # how long a command waits for another command's write to finish
POLL_SECONDS = 0.1


class AlreadyRunning(WorkbookError):
    """Another sheetcrm process holds the workbook's lock: `holder` is its command ("run" for
    `sheetcrm run`, which holds it for good; "run --once" ends as any other command), `pid` its
    process ID as text ("" when unknown)."""

    def __init__(self, message: str, holder: str = "run", pid: str = "") -> None:
        super().__init__(message)
        self.holder, self.pid = holder, pid


class AppLocked(WorkbookError):
    """A spreadsheet app has the workbook open."""


def lock_dir() -> Path:
    """The folder of every workbook's lock, outbox journal and caches: `$XDG_CACHE_HOME/sheetcrm/locks`,
    else `~/.cache/sheetcrm/locks`.

    A relative `$XDG_CACHE_HOME` is ignored, as the XDG Base Directory Specification requires:
    resolved against each command's working folder, a `sheetcrm sync` started elsewhere would
    take another lock than the running service, and `outbox send` would read another journal
    and send a quote again."""
    cache = os.environ.get("XDG_CACHE_HOME") or ""
    if not os.path.isabs(cache):
        cache = "~/.cache"
    return Path(cache).expanduser() / "sheetcrm" / "locks"


def workbook_key(book: Workbook) -> str:
    """What makes two targets the same workbook: a spreadsheet ID, else a resolved file path."""
    key = getattr(book, "key", None)
    if key:
        return f"google:{key}"
    return f"file:{Path(getattr(book, 'path')).expanduser().resolve()}"


class WorkbookLock:
    """sheetcrm's own lock on a workbook. `command` names the holder in messages; `wait` is
    how many seconds to wait for another command's write before giving up (0: fail at once;
    math.inf: as long as it takes, as `sheetcrm run` does); a `sheetcrm run` holding it is never
    waited for. `waiting(line)` is told once, in words, when the wait begins."""

    def __init__(self, book: Workbook, folder: Path | None = None, command: str = "run", wait: float = 0.0,
                 waiting: Callable[[str], None] | None = None) -> None:
        self.book = book
        self.key = workbook_key(book)
        self.command = command
        self.wait = wait
        self.waiting = waiting
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:24]
        self.path = (folder or lock_dir()) / f"{digest}.lock"
        self._fd: int | None = None

    def acquire(self) -> "WorkbookLock":
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise WorkbookError(_(MESSAGES["no_lock"], lock=self.path, why=os_problem(e))) from None
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                lines = os.pread(fd, 300, 0).decode(errors="replace").split("\n")
                pid = lines[0].strip()
                # Empty: a holder that took the lock an instant ago and has not written its
                # lines yet (a release empties the file first), so a command: never taken for a
                # `sheetcrm run`, which made a second sync started in the same instant stop at
                # once, telling a person to stop a service that was not running.
                holder = lines[2].strip() if len(lines) > 2 else ""
                # A service holds its lock for good; a command's write is over in seconds.
                if holder != "run" and time.monotonic() < deadline:
                    if self.waiting is not None:
                        who = f"`sheetcrm {holder}`, PID {pid}" if pid.isdigit() and holder else _("another process")
                        self.waiting(_(MESSAGES["waiting"], book=self.book.describe(), who=who))
                        self.waiting = None
                    time.sleep(POLL_SECONDS)
                    continue
                os.close(fd)
                if holder == "run":
                    who = f"PID {pid}" if pid.isdigit() else _("another process")
                    raise AlreadyRunning(_(MESSAGES["running"], book=self.book.describe(), who=who,
                                           lock=self.path), holder, pid if pid.isdigit() else "") from None
                who = f"`sheetcrm {holder}`, PID {pid}" if pid.isdigit() and holder else _("another process")
                raise AlreadyRunning(_(MESSAGES["busy"], book=self.book.describe(), who=who,
                                       lock=self.path), holder, pid if pid.isdigit() else "") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n{self.key}\n{self.command}\n".encode(), 0)
        except OSError:
            # A full disk: the lock is held all the same, and its lines only name the holder
            # (an empty file reads as "another process"). Failing here stopped every writing
            # command, `sheetcrm run` included, with a traceback, where a sync still works.
            pass
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            # Emptied while still held: a waiter that reads it after the next holder's flock
            # and before its lines finds nothing, never this holder's (a `run`'s) lines.
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "WorkbookLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class WritingSession:
    """What every writing command does first: refuse while an app has the file open (unless
    `ignore_app_lock`), take sheetcrm's lock (waiting briefly), and remove stale temp files."""

    def __init__(self, book: Workbook, command: str, ignore_app_lock: bool = False,
                 wait: float = WAIT_SECONDS, folder: Path | None = None) -> None:
        self.book = book
        self.ignore_app_lock = ignore_app_lock
        self.lock = WorkbookLock(book, folder=folder, command=command, wait=wait)

    def __enter__(self) -> "WritingSession":
        path = getattr(self.book, "path", None)
        if path is not None and not self.ignore_app_lock:
            refuse_if_open_in_app(Path(path), getattr(self.book, "given", None))
        self.lock.acquire()
        if path is not None:
            remove_stale_temp_files(Path(path))
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def names(path: Path) -> list[Path]:
    """`path` and every name it leads to through symlinks, the file itself last: the names an
    app may have opened the workbook by. A link's target is taken from the link's folder as
    the kernel does (not tidied: `..` after a linked folder is the linked folder's parent)."""
    out = [path]
    for _ in range(40):  # the kernel's own limit on a chain of links
        try:
            target = Path(os.readlink(out[-1]))
        except OSError:  # not a link (or gone): the end of the chain
            break
        out.append(target if target.is_absolute() else out[-1].parent / target)
    try:
        out.append(path.resolve())
    except (OSError, RuntimeError):
        pass
    return list(dict.fromkeys(out))


def app_lock(path: Path, given: Path | None = None) -> tuple[str, Path, str | None] | None:
    """(app, lock file, user or None) when LibreOffice or Excel has `path` open, else None;
    `given`, the name the user gave for it (a symlink to `path`, or a chain of them), and each
    link of its chain are looked beside too (`names`)."""
    for name in dict.fromkeys([*(names(given) if given is not None else []), *names(path)]):
        found = _app_lock(name)
        if found is not None:
            return found
    return None


def _app_lock(path: Path) -> tuple[str, Path, str | None] | None:
    office = path.with_name(f".~lock.{path.name}#")
    if office.is_file():
        return "LibreOffice", office, _office_user(office)
    # Excel names its owner file "~$" + the name; Office's older rule (still seen on shares)
    # drops the name's first one or two characters for long names. Checking all three can
    # only err towards refusing, which --ignore-lock overrides.
    for name in dict.fromkeys((f"~${path.name}", f"~${path.name[1:]}", f"~${path.name[2:]}")):
        excel = path.with_name(name)
        if excel.is_file():
            return "Excel", excel, _excel_user(excel)
    return None


def refuse_if_open_in_app(path: Path, given: Path | None = None) -> None:
    """Raise AppLocked when LibreOffice or Excel has the workbook open, by `path` or by
    `given` (the name the user gave, which may be a symlink to it: `app_lock`)."""
    found = app_lock(path, given)
    if found is None:
        return
    app, lock_file, user = found
    key = "app_by" if user else "app"
    raise AppLocked(_(MESSAGES[key], book=path, app=app, user=user, lock_file=lock_file.name))


def _office_user(lock_file: Path) -> str | None:
    # "Name,SystemUserName,Host,Date,UserConfigUrl;": the name set in the app, else the login.
    try:
        fields = lock_file.read_text(encoding="utf-8", errors="replace").split(",")
    except OSError:
        return None
    name = fields[0].strip() if fields else ""
    login = fields[1].strip() if len(fields) > 1 else ""
    return _printable(name or login)


def _excel_user(lock_file: Path) -> str | None:
    try:
        raw = lock_file.read_bytes()[:55]
    except OSError:
        return None
    if not raw:
        return None
    return _printable(raw[1:1 + raw[0]].decode("latin-1", errors="replace"))


def _printable(text: str) -> str | None:
    # A lock file is written by another program: only its printable characters reach the terminal.
    text = "".join(ch for ch in text if ch.isprintable()).strip()[:60]
    return text or None


def stale_temp_files(path: Path) -> list[Path]:
    """sheetcrm's own temp files of this workbook (mkstemp's `.NAME.` + 8 characters + `.tmp`)."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}\.tmp")
    try:
        return [p for p in path.parent.iterdir() if pattern.fullmatch(p.name) and p.is_file()]
    except OSError:
        return []


def tidy(book: Workbook, folder: Path | None = None) -> list[Path]:
    """Remove the temp files an interrupted save of an .xlsx workbook left, if sheetcrm's lock
    is free right now (taken and released at once); otherwise, or for a Google workbook, or
    when the lock cannot be made, do nothing: a read-only command never waits or fails here."""
    path = getattr(book, "path", None)
    if path is None or not stale_temp_files(Path(path)):
        return []
    try:
        with WorkbookLock(book, folder=folder, command="tidy", wait=0):
            return remove_stale_temp_files(Path(path))
    except WorkbookError:
        return []


def remove_stale_temp_files(path: Path) -> list[Path]:
    """Remove temp files an interrupted save left. Call only while holding the workbook's lock."""
    removed = []
    for p in stale_temp_files(path):
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed
