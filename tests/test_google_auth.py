"""Google sign-in failures from the command line: a real service-account key (a fresh RSA key)
whose token endpoint is a loopback HTTP server refusing it, or a closed port. Every command
ends in one line on stderr and exit status 2, never a traceback, never key material."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SPREADSHEET = "1" + "k" * 43
COMMANDS = [["init"], ["demo", "--rows", "20"], ["validate"], ["sync"], ["kpis"], ["forecast"], ["score"],
            ["quote", "OPP-0001"], ["outbox", "send"]]


class TokenEndpoint(BaseHTTPRequestHandler):
    """Google's token endpoint as it answers a revoked or deleted key."""

    hits: list[str] = []

    def do_POST(self):  # noqa: N802 - name fixed by the base class
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        TokenEndpoint.hits.append(self.path)
        body = json.dumps({"error": "invalid_grant", "error_description": "Invalid JWT Signature."}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), TokenEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    TokenEndpoint.hits = []
    yield f"http://127.0.0.1:{server.server_address[1]}/token"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/token"  # nothing listens there any more


def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def key_file(tmp_path, token_uri: str, pem: str | None = None) -> tuple[str, str]:
    pem = pem or private_key()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "crm-test", "private_key_id": "0123456789abcdef",
        "private_key": pem, "client_email": "sheetcrm@crm-test.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": token_uri}))
    return str(path), pem


def run(tmp_path, credentials: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("SHEETS_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS")}
    # `outbox send` checks its settings before the sheet
    env.update(SHEETCRM_SMTP_HOST="127.0.0.1", SHEETCRM_SMTP_FROM="crm@example.com")
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args, "--spreadsheet", SPREADSHEET,
                           "--credentials", credentials], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env=env)


def body_of(pem: str) -> str:
    return "".join(pem.splitlines()[1:-1])[:40]


def assert_one_line(out: subprocess.CompletedProcess, *words: str, pem: str) -> None:
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    assert all(w in out.stderr for w in words), out.stderr
    assert body_of(pem) not in out.stderr + out.stdout and "PRIVATE KEY" not in out.stderr


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0] if c[0] != "outbox" else "outbox-send")
def test_a_revoked_key_is_one_line_exit_2_for_every_command(tmp_path, refusing_endpoint, command):
    credentials, pem = key_file(tmp_path, refusing_endpoint)
    out = run(tmp_path, credentials, *command)
    assert_one_line(out, "Google refused sheetcrm's credentials (invalid_grant)", "--credentials", pem=pem)
    assert "Invalid JWT Signature" not in out.stderr  # the server's own words are not repeated
    assert TokenEndpoint.hits == ["/token"]  # asked once: a refused key is not retried


@pytest.mark.parametrize("command", [["sync"], ["validate"], ["demo", "--rows", "20"]], ids=lambda c: c[0])
def test_an_unreachable_token_endpoint_is_one_line_exit_2(tmp_path, closed_port, command):
    credentials, pem = key_file(tmp_path, closed_port)
    out = run(tmp_path, credentials, *command)
    assert_one_line(out, "could not reach Google's sign-in service", pem=pem)


@pytest.mark.parametrize("damage", ["truncated", "not base64", "not a string"])
def test_a_malformed_key_is_one_line_naming_the_file(tmp_path, refusing_endpoint, damage):
    pem = private_key()
    lines = pem.splitlines()
    broken = {"truncated": "\n".join(lines[:5] + lines[-1:]) + "\n",
              "not base64": pem.replace(lines[3], "!" * len(lines[3])),
              "not a string": None}[damage]
    credentials, _ = key_file(tmp_path, refusing_endpoint, pem=broken or pem)
    if broken is None:
        data = json.loads(open(credentials).read())
        data["private_key"] = [pem]
        open(credentials, "w").write(json.dumps(data))
    out = run(tmp_path, credentials, "sync")
    assert_one_line(out, "sa.json", "incomplete or malformed", pem=pem)
    assert TokenEndpoint.hits == []  # refused before any request


def test_a_credentials_file_named_by_the_environment_is_said_with_where_it_came_from(tmp_path, monkeypatch):
    """A service's Environment=GOOGLE_APPLICATION_CREDENTIALS naming a file that is gone was said
    as "/srv/sa.json: no such credentials file", with no word of where that path came from
    (no flag and no config named it); a path a flag or the config gave is said as before."""
    from sheetcrm.workbook import WorkbookError
    from sheetcrm.workbook.credentials import connect

    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "gone.json"))
    with pytest.raises(WorkbookError) as from_env:
        connect(None)
    assert str(from_env.value) == (f"{tmp_path / 'gone.json'} (from $GOOGLE_APPLICATION_CREDENTIALS): no such "
                                   "credentials file")
    with pytest.raises(WorkbookError) as given:
        connect(str(tmp_path / "also-gone.json"))
    assert str(given.value) == f"{tmp_path / 'also-gone.json'}: no such credentials file"


@pytest.mark.parametrize("saved", ['{"token": "ya29.a0-saved-token", "refresh_token": "1//0g-saved-refresh"',
                                   '{"token": "ya29.a0-saved-token"}', "[1]"])
def test_a_damaged_saved_sign_in_is_said_at_its_own_file_not_the_oauth_client_file(tmp_path, monkeypatch, saved):
    """gspread reads the saved sign-in before the OAuth client file; a truncated or partial copy
    of it (the headless recipe copies it by hand) was said as "client.json: the credentials in
    this file are incomplete or malformed", sending people to check a file that was right."""
    from sheetcrm.workbook import WorkbookError, credentials

    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    token = tmp_path / "authorized_user.json"
    token.write_text(saved, encoding="utf-8")
    monkeypatch.setattr(credentials, "TOKEN_CACHE", token)
    client = tmp_path / "client.json"
    client.write_text(json.dumps({"installed": {
        "client_id": "x.apps.googleusercontent.com", "client_secret": "GOCSPX-client-secret",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
        "redirect_uris": ["http://localhost"]}}), encoding="utf-8")
    with pytest.raises(WorkbookError) as e:
        credentials.connect(str(client))
    line = str(e.value)
    assert line.startswith(f"{token}: ") and "sign in again" in line and "client.json" not in line
    assert not any(s in line for s in ("ya29", "1//0g", "GOCSPX"))
