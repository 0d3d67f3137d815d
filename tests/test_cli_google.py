"""The Google path from the command line: `sheetcrm emulator` in its own process, then
`sheetcrm demo/sync/validate --spreadsheet` talking to it through SHEETS_EMULATOR_HOST.

Each kind of command runs at least once as a person runs it, `python -m sheetcrm` in a process
of its own (`run`); where a test's point is what a command says and does rather than the
process, it runs in this one (`in_process.cli`: a process costs a second or more, mostly
imports), still over HTTP to the emulator's own process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request

import pytest
from in_process import cli


def run(*args: str, cwd, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture(scope="module")
def emulator_server(tmp_path_factory):
    """`sheetcrm emulator --data` in its own process, started once for the module's tests
    (each gets a spreadsheet of its own on it); it stops on SIGTERM with exit 0."""
    state = tmp_path_factory.mktemp("emulator") / "emulator.json"
    proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "emulator", "--port", "0", "--data", str(state)],
                            stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("use it with: export SHEETS_EMULATOR_HOST="):
            break
    yield lines[-1].split("=", 1)[1].strip(), state
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0


@pytest.fixture
def emulator_process(emulator_server, monkeypatch):
    """(the ID of a new empty spreadsheet on the emulator, the environment that reaches it,
    the emulator's state file). SHEETS_EMULATOR_HOST is set in this process too, for `cli`."""
    host, state = emulator_server
    request = urllib.request.Request(f"http://{host}/v4/spreadsheets", method="POST",
                                     data=json.dumps({"properties": {"title": "sheetcrm"}}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as answer:
        key = json.loads(answer.read())["spreadsheetId"]
    monkeypatch.setenv("SHEETS_EMULATOR_HOST", host)
    yield key, {**os.environ, "SHEETS_EMULATOR_HOST": host}, state


def test_demo_then_sync_on_the_emulator(emulator_process, tmp_path):
    key, env, state = emulator_process
    demo = run("demo", "--spreadsheet", key, "--rows", "30", cwd=tmp_path, env=env)
    assert demo.returncode == 0, demo.stderr
    assert "Google spreadsheet" in demo.stdout
    again = run("sync", "--spreadsheet", f"https://docs.google.com/spreadsheets/d/{key}/edit", "--format", "json",
                cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["cells_written"]["total"] == 0
    check = run("validate", "--spreadsheet", key, "--format", "json", cwd=tmp_path, env=env)
    assert check.returncode == 1 and json.loads(check.stdout)["issues"]
    saved = json.loads(state.read_text())
    titles = {s["properties"]["title"] for b in saved["spreadsheets"] if b["id"] == key for s in b["sheets"]}
    assert {"Leads", "Validation", "_sheetcrm"} <= titles


def test_demo_refuses_a_spreadsheet_that_already_holds_a_crm(emulator_process, tmp_path):
    key, _, _ = emulator_process
    assert cli("demo", "--spreadsheet", key, "--rows", "20", cwd=tmp_path).returncode == 0
    again = cli("demo", "--spreadsheet", key, "--rows", "20", cwd=tmp_path)
    assert again.returncode == 2 and "already holds a demo CRM" in again.stderr
    forced = cli("demo", "--spreadsheet", key, "--rows", "20", "--force", cwd=tmp_path)
    assert forced.returncode == 2 and forced.stderr.count("\n") == 1 and "only a demo .xlsx file" in forced.stderr


@pytest.mark.usefixtures("emulator_process")  # the emulator is up: the spreadsheet alone is missing
def test_unknown_spreadsheet_is_one_line_exit_2(tmp_path):
    out = cli("sync", "--spreadsheet", "1" + "z" * 43, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "not found" in out.stderr and "Traceback" not in out.stderr


def test_missing_credentials_is_one_line_exit_2(tmp_path, monkeypatch):
    monkeypatch.delenv("SHEETS_EMULATOR_HOST", raising=False)
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    out = cli("validate", "--spreadsheet", "1" + "a" * 43, cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "GOOGLE_APPLICATION_CREDENTIALS" in out.stderr


def test_init_with_a_spreadsheet_points_the_config_at_it_and_demo_keeps_off_it(emulator_process, tmp_path):
    key, env, _ = emulator_process
    out = run("init", "--spreadsheet", key, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert f'spreadsheet = "{key}"' in (tmp_path / "sheetcrm.toml").read_text()
    # The same spreadsheet by its URL: nothing to say (compared as text, "kept sheetcrm.toml as it
    # is: it names <ID> ... not on <URL>" said the config named another one).
    again = cli("init", "--spreadsheet", f"https://docs.google.com/spreadsheets/d/{key}/edit#gid=0", cwd=tmp_path)
    assert again.returncode == 0 and "kept" not in again.stdout, again.stdout
    check = cli("sync", cwd=tmp_path)  # no flag: the config's spreadsheet
    assert check.returncode == 0, check.stderr
    assert f"Google spreadsheet {key}" in check.stdout
    # The team's spreadsheet now holds CRM tabs: the demo, even with --force, stays off it.
    refused = cli("demo", "--spreadsheet", key, "--force", "--rows", "20", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "not created by `sheetcrm demo`" in refused.stderr
    # What to do names the flag this user gave, not only --workbook (a path, for an .xlsx).
    assert refused.stderr.rstrip().endswith("pass another --workbook path or --spreadsheet")


@pytest.mark.parametrize("host", ["127.0.0.1:notaport", "127.0.0.1:99999", "127.0.0.1", "http://127.0.0.1:8080",
                                  "localhost:8080/x"])
def test_a_malformed_emulator_host_is_one_line_and_exit_2(tmp_path, host, monkeypatch):
    """requests raised InvalidURL mid-read: a traceback of 70-145 lines and exit 1."""
    env = {**os.environ, "SHEETS_EMULATOR_HOST": host}
    monkeypatch.setenv("SHEETS_EMULATOR_HOST", host)
    for command in (["validate"], ["sync"]):
        args = [*command, "--spreadsheet", "1Zl7W5tjfkOpLwO1K5uLseiCuJHOA_9zHViFLS5KveHv"]
        # One through a real process, the others in this process.
        one = host == "127.0.0.1:notaport" and command == ["validate"]
        done = run(*args, cwd=tmp_path, env=env) if one else cli(*args, cwd=tmp_path)
        assert done.returncode == 2
        assert done.stderr.strip().splitlines() == [
            f"sheetcrm: SHEETS_EMULATOR_HOST is {host!r}: not a host and port like 127.0.0.1:8080 (what `sheetcrm "
            "emulator` prints)"]


def test_no_emulator_at_the_host_is_said_as_the_emulator_not_google(tmp_path):
    (tmp_path / "sheetcrm.toml").write_text("[google]\nattempts = 1\n", encoding="utf-8")
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {**os.environ, "SHEETS_EMULATOR_HOST": f"127.0.0.1:{port}"}
    done = run("validate", "--spreadsheet", "1Zl7W5tjfkOpLwO1K5uLseiCuJHOA_9zHViFLS5KveHv", cwd=tmp_path, env=env)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.endswith(f"(SHEETS_EMULATOR_HOST is set: this was the emulator at 127.0.0.1:{port}, not Google; "
                         "is `sheetcrm emulator` running there?)")


@pytest.mark.parametrize("command", [["init"], ["demo", "--rows", "20"]])
def test_init_and_demo_with_no_emulator_say_it_did_not_answer_not_create_the_spreadsheet(tmp_path, command,
                                                                                          monkeypatch):
    """The spreadsheet was taken for missing: "is not reachable; create it in Google Sheets and
    share it", sending the reader to create a spreadsheet that may be there all along."""
    (tmp_path / "sheetcrm.toml").write_text("[google]\nattempts = 1\n", encoding="utf-8")
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("SHEETS_EMULATOR_HOST", f"127.0.0.1:{port}")
    done = cli(*command, "--spreadsheet", "1Zl7W5tjfkOpLwO1K5uLseiCuJHOA_9zHViFLS5KveHv", cwd=tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "create it" not in line
    assert line.endswith(f"(SHEETS_EMULATOR_HOST is set: this was the emulator at 127.0.0.1:{port}, not Google; "
                         "is `sheetcrm emulator` running there?)")


@pytest.mark.parametrize("command", [["validate"], ["sync"], ["sync", "--strict"]])
def test_ctrl_c_is_one_line_and_exit_130_not_the_exit_1_of_a_sheet_with_errors(tmp_path, command):
    """Interrupted while waiting for the read (a server that takes the request and never
    answers): click said "Aborted!" and exit 1, what validate and sync --strict exit with
    for a sheet with errors, so a cron job could not tell the two apart."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        env = {**os.environ, "SHEETS_EMULATOR_HOST": f"127.0.0.1:{server.getsockname()[1]}"}
        proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", *command, "--spreadsheet",
                                 "1Zl7W5tjfkOpLwO1K5uLseiCuJHOA_9zHViFLS5KveHv"], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        server.settimeout(60)
        conn, _ = server.accept()  # the read is under way, and waits for an answer
        with conn:
            conn.recv(65536)
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().splitlines() == [
        "sheetcrm: interrupted: the command stopped before it finished. A sync's write lands whole or not at all; "
        "run the command again to finish."]


@pytest.mark.parametrize("locale, line", [
    ("en", "sheetcrm: interrupted: the command stopped before it finished."),
    ("es", "sheetcrm: interrumpido:"),
])
def test_ctrl_c_while_the_modules_load_is_the_same_one_line(tmp_path, locale, line):
    """Ctrl-C in the first second of a command, while its modules load, printed Python's
    KeyboardInterrupt traceback. The signal is sent, for real, just as the command's modules
    start loading (an import finder that watches for pydantic: the first heavy one)."""
    code = ("import os, signal, sys\n"
            "class AtPydantic:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name == 'pydantic':\n"
            "            os.kill(os.getpid(), signal.SIGINT)\n"
            "sys.meta_path.insert(0, AtPydantic())\n"
            "sys.argv = ['sheetcrm', 'validate']\n"
            "import runpy\n"
            "runpy.run_module('sheetcrm', run_name='__main__')\n")
    env = {**os.environ, "SHEETCRM_LANG": locale}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith(line), proc.stderr


def test_an_emulator_restarted_on_its_data_after_a_demo_offers_an_empty_spreadsheet(tmp_path, monkeypatch):
    # README: `sheetcrm emulator --data emulator.json &` "prints the ID of an empty spreadsheet",
    # then `sheetcrm demo --spreadsheet <that ID>`. Run again the next day on the same file, it
    # printed only the spreadsheet holding yesterday's demo, and the demo on it was refused
    # ("already holds a demo CRM ... use a new empty spreadsheet"), with no way to make one.
    state = tmp_path / "emulator.json"

    def start() -> tuple[subprocess.Popen, list[str]]:
        proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "emulator", "--port", "0", "--data", str(state)],
                                stdout=subprocess.PIPE, text=True, env={**os.environ, "SHEETCRM_LANG": "en"})
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("use it with: export SHEETS_EMULATOR_HOST="):
                return proc, lines
        raise AssertionError(lines)

    def stop(proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0

    proc, lines = start()
    try:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", lines[-1].split("=", 1)[1])
        first = lines[1].split()[1]
        assert lines[1] == f"  spreadsheet {first} (empty)", lines
        assert cli("demo", "--spreadsheet", first, "--rows", "20", cwd=tmp_path).returncode == 0
    finally:
        stop(proc)
    proc, lines = start()
    try:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", lines[-1].split("=", 1)[1])
        spreadsheets = [line.split()[1] for line in lines if line.startswith("  spreadsheet ")]
        assert sorted(spreadsheets) == sorted({first, spreadsheets[0]}) and spreadsheets[0] != first, lines
        assert lines[1] == f"  spreadsheet {spreadsheets[0]} (empty)", lines
        demo = cli("demo", "--spreadsheet", spreadsheets[0], "--rows", "20", cwd=tmp_path)
        assert demo.returncode == 0, demo.stderr
    finally:
        stop(proc)
    proc, lines = start()  # its demo'd spreadsheets kept, and one empty one more, never two
    stop(proc)
    assert len([line for line in lines if line.startswith("  spreadsheet ")]) == 3, lines
