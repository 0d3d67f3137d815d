"""Real clients against the emulator: unmodified gspread, and the foreground server with
its state file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import gspread
import requests
from google.auth.credentials import AnonymousCredentials

from sheetcrm.emulator import Emulator
from sheetcrm.emulator.session import emulator_session


def test_gspread_runs_unchanged_against_the_emulator():
    with Emulator() as emu:
        sid = emu.create_spreadsheet("CRM", {"Contacts": [["Name", "Email"]]})
        client = gspread.Client(auth=AnonymousCredentials(), session=emulator_session(emu.host))
        book = client.open_by_key(sid)
        sheet = book.worksheet("Contacts")
        sheet.update([["Ann", "ann@example.com"], ["Bob", "0042"]], "A2", value_input_option="USER_ENTERED")
        assert sheet.get_all_values() == [["Name", "Email"], ["Ann", "ann@example.com"], ["Bob", "42"]]
        book.batch_update({"requests": [{"updateSheetProperties": {
            "properties": {"sheetId": sheet.id, "title": "People"}, "fields": "title"}}]})
        assert [ws.title for ws in client.open_by_key(sid).worksheets()] == ["People"]
        assert emu.values(sid, "People")[2] == ["Bob", 42]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(port: int, data: str) -> subprocess.Popen:
    code = f"from sheetcrm.emulator import serve; serve(port={port}, data={data!r})"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert f"127.0.0.1:{port}" in line
    return proc


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def test_serve_persists_state_across_restarts(tmp_path):
    data = str(tmp_path / "state.json")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(port, data)
    try:
        sid = requests.post(f"{base}/v4/spreadsheets", json={"properties": {"title": "kept"}}).json()["spreadsheetId"]
        r = requests.put(f"{base}/v4/spreadsheets/{sid}/values/A1", params={"valueInputOption": "RAW"},
                         json={"values": [["survives"]]})
        assert r.status_code == 200
        assert os.path.exists(data)
        assert not [f for f in os.listdir(tmp_path) if f.startswith(".sheets-emulator-")]
    finally:
        _stop(proc)
    proc = _start(port, data)
    try:
        r = requests.get(f"{base}/v4/spreadsheets/{sid}/values/Sheet1")
        assert r.json()["values"] == [["survives"]]
    finally:
        _stop(proc)
