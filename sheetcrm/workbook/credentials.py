"""Which Google account sheetcrm acts as, and the gspread client that acts as it.

Found in this order: `--credentials FILE`, the config's `credentials`, then
$GOOGLE_APPLICATION_CREDENTIALS, the ecosystem's convention. The file may be a service
account key, an OAuth client ("installed" app: gspread's browser flow, token cached beside
the user's config) or an authorized-user file. With $SHEETS_EMULATOR_HOST set, every
request goes to that Sheets API emulator with anonymous credentials, as with Google's
Pub/Sub and Firestore emulators.

Nothing here ever prints a key, a token or a secret: messages name files and emails only.
"""

from __future__ import annotations

import json
import os
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import gspread
from google.auth.credentials import AnonymousCredentials
from google.auth.exceptions import GoogleAuthError

from sheetcrm.i18n import N_, _
from sheetcrm.os_errors import os_problem

from . import WorkbookError
from .gsheets import EMULATOR_ENV, RetryPolicy, SheetsHTTPClient

try:
    from cryptography.exceptions import UnsupportedAlgorithm as _UnsupportedKey
except ImportError:  # google-auth can sign with rsa instead of cryptography
    class _UnsupportedKey(Exception):  # type: ignore[no-redef]
        pass

SCOPES = ["https://www.googleapis.com/auth/spreadsheets"]
TOKEN_CACHE = Path("~/.config/sheetcrm/authorized_user.json").expanduser()


@dataclass
class Connection:
    client: gspread.Client
    account: str | None  # the email to share spreadsheets with, when known


def connect(credentials: str | None, policy: RetryPolicy | None = None, tracer=None) -> Connection:
    """A gspread client for Google, or for the emulator at $SHEETS_EMULATOR_HOST. Raises
    WorkbookError (one line) for missing or bad credentials, or a host that is no host:port."""
    emulator = os.environ.get(EMULATOR_ENV)
    if emulator:
        from sheetcrm.emulator.session import emulator_session

        _check_host(emulator)

        conn = Connection(gspread.Client(AnonymousCredentials(), session=emulator_session(emulator),
                                         http_client=SheetsHTTPClient), None)
    else:
        conn = _google(credentials)
    http = conn.client.http_client
    if policy is not None:
        http.policy = policy  # type: ignore[attr-defined]
    http.tracer = tracer  # type: ignore[attr-defined]
    return conn


def _check_host(host: str) -> None:
    """$SHEETS_EMULATOR_HOST as `Emulator.host` gives it, "127.0.0.1:PORT": anything else made
    requests raise mid-read, a traceback instead of a line."""
    try:
        parts = urlsplit(f"http://{host}")
        ok = bool(parts.hostname) and parts.port is not None and not (parts.path or parts.query or parts.fragment)
    except ValueError:  # a port that is no number, or out of range
        ok = False
    if not ok:
        raise WorkbookError(_("{variable} is {value}: not a host and port like 127.0.0.1:8080 (what `sheetcrm "
                              "emulator` prints)", variable=EMULATOR_ENV, value=repr(host)))


# The README's heading on setting up Google (the README is in English in every locale).
NO_BROWSER = N_("{file} is an OAuth client file: signing in with it needs a web browser, and this machine has none; "
                "run a sheetcrm command with it once on a machine with a browser and copy {token} from there to the "
                "same place here, or use a service account key (see the README, section '{section}')")
README_GOOGLE = "Using a real Google Sheet"  # not for people: a heading of the README, in English in every locale


def _check_token_cache() -> None:
    """WorkbookError naming TOKEN_CACHE when a sign-in saved there cannot be read: gspread reads
    it before the OAuth client file, and its failure was said as the client file's: the wrong file to check."""
    if not TOKEN_CACHE.exists():
        return
    from google.oauth2.credentials import Credentials as UserCredentials

    try:
        UserCredentials.from_authorized_user_info(json.loads(TOKEN_CACHE.read_text(encoding="utf-8")), scopes=SCOPES)
    except OSError as e:
        raise WorkbookError(_("{file}: cannot read: {problem}", file=TOKEN_CACHE, problem=os_problem(e))) from None
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError, GoogleAuthError):
        # The library's messages can quote the token; say only which file and what to do.
        raise WorkbookError(_("{file}: the saved Google sign-in in this file is incomplete or malformed; delete it "
                              "and sign in again (or copy it again from the machine where you signed in)",
                              file=TOKEN_CACHE)) from None


def _google(credentials: str | None) -> Connection:
    path = credentials or os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
    if not path:
        raise WorkbookError(_("no Google credentials: pass --credentials FILE, set `credentials` in sheetcrm.toml, "
                              "or set GOOGLE_APPLICATION_CREDENTIALS (see the README, section '{section}')",
                              section=README_GOOGLE))
    file = Path(path).expanduser()
    # A path no flag or config gave (a service's Environment= line) is said with where it came from.
    shown = file if credentials else _("{file} (from ${env})", file=file, env="GOOGLE_APPLICATION_CREDENTIALS")
    try:
        info = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorkbookError(_("{file}: no such credentials file", file=shown)) from None
    except OSError as e:  # a folder, a file this user may not read
        raise WorkbookError(_("{file}: cannot read: {problem}", file=shown, problem=os_problem(e))) from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WorkbookError(_("{file}: not a readable JSON credentials file", file=shown)) from None
    kind = info.get("type") if isinstance(info, dict) else None
    try:
        if kind == "service_account":
            from google.oauth2.service_account import Credentials

            creds = Credentials.from_service_account_info(info, scopes=SCOPES)
            return Connection(gspread.Client(creds, http_client=SheetsHTTPClient), info.get("client_email"))
        if kind == "authorized_user":
            from google.oauth2.credentials import Credentials as UserCredentials

            creds = UserCredentials.from_authorized_user_info(info, scopes=SCOPES)
            return Connection(gspread.Client(creds, http_client=SheetsHTTPClient), None)
        if isinstance(info, dict) and ("installed" in info or "web" in info):
            _check_token_cache()
            TOKEN_CACHE.parent.mkdir(parents=True, exist_ok=True)
            try:
                flow_client = gspread.oauth(scopes=SCOPES, credentials_filename=str(file),
                                            authorized_user_filename=str(TOKEN_CACHE))
            except webbrowser.Error:
                # A headless server: no browser to sign in with, and printing the sign-in URL would
                # not help, since Google sends the browser back to localhost on *this* machine.
                raise WorkbookError(_(NO_BROWSER, file=shown, token=TOKEN_CACHE, section=README_GOOGLE)) from None
            creds = flow_client.http_client.auth
            return Connection(gspread.Client(creds, http_client=SheetsHTTPClient), None)
    except (ValueError, KeyError, TypeError, GoogleAuthError, _UnsupportedKey):
        # The libraries' messages can quote key material; say only which file is wrong.
        raise WorkbookError(_("{file}: the credentials in this file are incomplete or malformed", file=shown)) from None
    raise WorkbookError(_("{file}: not a service account key, OAuth client or authorized-user file",
                            file=shown))
