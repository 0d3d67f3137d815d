"""`sheetcrm run --fleet` and `sheetcrm fleet status` from the command line, over real .xlsx
files: a bad fleet file is one line and exit 2, a workbook held by another process is skipped
and said so, a member with a broken config fails alone, and the status reads the state file
while the fleet runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from books import xlsx
from sheetcrm.cli import main
from sheetcrm.lock import WorkbookLock
from sheetcrm.workbook.xlsx import XlsxWorkbook

ROOT = Path(__file__).resolve().parents[2]
LEADS = [["ID", "Last Name", "Company", "Status"], ["", "Adams", "A Co", "New"], ["", "Baker", "B Co", "Working"]]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # this process's locks where the CLI's are
    return {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache"), "LANG": "C.UTF-8",
            "LANGUAGE": "", "LC_ALL": ""}


def sheetcrm(*args, env, cwd, timeout=120):
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def leads(path: Path) -> list[list]:
    ws = openpyxl.load_workbook(path)["Leads"]
    return [[c.value for c in row] for row in ws.iter_rows()]


@pytest.mark.parametrize("text, says", [
    ('[[workbook]]\nworkbook = "a.xlsx"\nspreadsheet = "1AbCdEfGhIjKlMn"\n', "workbook.1: give exactly one of"),
    ('[[workbook]]\nworkbok = "a.xlsx"\n', "workbook.1.workbok: unknown key"),
    ('[[workbook]]\nworkbook = "a.csv"\n', "workbook.1.workbook: a.csv: a workbook's name ends in .xlsx"),
    ('[[workbook]]\nworkbook = "a.xlsx"\nevery = "every fortnight"\n', "workbook.1.every: cannot read"),
    ('[[workbook]]\nworkbook = "a.xlsx"\n[[workbook]]\nworkbook = "a.xlsx"\n', "the same workbook as an earlier"),
    ('workers = 0\n[[workbook]]\nworkbook = "a.xlsx"\n', "workers: must be greater than or equal to 1"),
    ('[budget]\nuser_reads_per_minute = "60"\n[[workbook]]\nworkbook = "a.xlsx"\n', "budget.user_reads_per_minute"),
    ("workers = 2\n", "workbook: is required"),
    ("[[workbook]\n", "not valid TOML"),
])
def test_a_bad_fleet_file_is_one_line_and_exit_2(tmp_path, env, text, says):
    (tmp_path / "fleet.toml").write_text(text)
    out = sheetcrm("run", "--fleet", "fleet.toml", "--once", env=env, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and says in out.stderr and "fleet.toml" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_fleet_and_a_single_workbook_flag_do_not_mix(tmp_path, env):
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    out = sheetcrm("run", "--fleet", "fleet.toml", "--workbook", "a.xlsx", env=env, cwd=tmp_path)
    assert out.returncode == 2 and "--workbook" in out.stderr and "Traceback" not in out.stderr


def test_once_syncs_each_workbook_skips_a_held_one_and_fails_a_broken_one_alone(tmp_path, env):
    for name in ("a", "b", "held", "broken"):
        xlsx(tmp_path / f"{name}.xlsx", {"Leads": LEADS})
    (tmp_path / "broken.toml").write_text("[schedule]\nsync = \"every fortnight\"\n")
    (tmp_path / "fleet.toml").write_text(
        'workers = 1\n[[workbook]]\nworkbook = "a.xlsx"\n[[workbook]]\nname = "bee"\nworkbook = "b.xlsx"\n'
        '[[workbook]]\nworkbook = "held.xlsx"\n[[workbook]]\nworkbook = "broken.xlsx"\nconfig = "broken.toml"\n')
    held_before = (tmp_path / "held.xlsx").read_bytes()
    with WorkbookLock(XlsxWorkbook(str(tmp_path / "held.xlsx"))):  # another process's `sheetcrm run`
        out = sheetcrm("run", "--fleet", "fleet.toml", "--once", env=env, cwd=tmp_path)
    # A config that cannot be read is a person's to fix: 2, as `run --once` on that workbook alone.
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert "fleet: 4 workbooks, 1 worker\n" in out.stderr, out.stderr  # each count its own plural
    skipped = [line for line in out.stderr.splitlines() if "held: skipped this round" in line]
    assert len(skipped) == 1 and "already served by `sheetcrm run`" in skipped[0]
    broken = [line for line in out.stderr.splitlines() if line.count("broken: cannot start")]
    assert len(broken) == 1 and "schedule.sync" in broken[0] and "retried" not in broken[0]  # --once: no retry
    for name in ("a", "b"):  # both synced: IDs in the empty ID cells, every other cell as it was
        rows = leads(tmp_path / f"{name}.xlsx")
        assert [r[0] for r in rows[1:3]] == ["LEAD-0001", "LEAD-0002"]
        assert [r[1:4] for r in rows[:3]] == [r[1:] for r in LEADS]
    assert (tmp_path / "held.xlsx").read_bytes() == held_before  # untouched while another process holds it

    status = sheetcrm("fleet", "status", "--format", "json", env=env, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    document = json.loads(status.stdout)
    assert document["requests_last_minute"] == {"read": 0, "write": 0}  # .xlsx workbooks spend no tokens
    assert document["running"] is False
    state = {w["name"]: w for w in document["workbooks"]}
    assert set(state) == {"a", "bee", "held", "broken"}
    assert state["a"]["state"] == state["bee"]["state"] == "ok"
    assert state["a"]["last_sync"]["outcome"] == "ok" and state["a"]["failures"] == 0
    assert state["held"]["state"] == "locked" and state["held"]["last_sync"]["outcome"] == "skipped"
    assert state["broken"]["state"] == "failing" and state["broken"]["last_sync"]["outcome"] == "error"
    assert state["broken"]["failures"] == 1 and state["held"]["failures"] == 0  # a skip is not a failure
    assert "schedule.sync" in state["broken"]["last_sync"]["message"]

    text = sheetcrm("fleet", "status", env=env, cwd=tmp_path)
    lines = text.stdout.splitlines()
    assert lines[0].startswith("fleet of 4 workbooks")
    assert lines[1] == "the fleet is not running: this is the state it left"  # --once has ended
    assert lines[2] == "requests in the last minute: 0 of 300 reads, 0 of 300 writes (the project's budget)"
    assert lines[3].split()[:2] == ["Workbook", "State"]
    assert any(line.startswith("held") and "held by another process" in line for line in lines)


def test_status_without_a_state_yet_is_one_line_exit_2(tmp_path, env):
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    out = sheetcrm("fleet", "status", env=env, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "no fleet state yet" in out.stderr


def test_the_status_reads_a_running_fleet_which_stops_on_sigterm(tmp_path, env):
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    (tmp_path / "fleet.toml").write_text('state = "run/state.json"\n[[workbook]]\nworkbook = "a.xlsx"\n'
                                         'every = "every 30 seconds"\n')
    proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "run", "--fleet", "fleet.toml"], cwd=tmp_path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        state = None
        while time.monotonic() < deadline:
            out = sheetcrm("fleet", "status", "--format", "json", env=env, cwd=tmp_path)
            if out.returncode == 0:
                state = json.loads(out.stdout)["workbooks"][0]
                if state["last_sync"]:
                    break
            time.sleep(0.3)
        assert state and state["last_sync"]["outcome"] == "ok" and state["next_sync"], state
        assert json.loads(out.stdout)["pid"] == proc.pid and json.loads(out.stdout)["running"] is True
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_status_speaks_the_environment_language(tmp_path, env):
    from sheetcrm.fleet.status import write_state

    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    write_state(tmp_path / "fleet-state.json", {"pid": os.getpid(), "written_at": "2026-11-30T10:00:00+00:00", "workbooks": [
        {"name": "a", "target": "a.xlsx", "state": "failing", "failures": 2, "requests_last_minute": 0,
         "next_sync": "2026-11-30T10:10:00+00:00",
         "last_sync": {"at": "2026-11-30T10:00:00+00:00", "outcome": "error", "message": "boom"}}]})
    out = sheetcrm("fleet", "status", env={**env, "LANG": "es_ES.UTF-8"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == f"flota de 1 libro, estado escrito 2026-11-30 10:00:00 por el PID {os.getpid()}"
    assert lines[1].split()[:2] == ["Libro", "Estado"]  # written by this (living) process: no "not running"
    assert "fallando" in lines[2] and "2026-11-30 10:00:00 error: boom" in lines[2] and "2026-11-30 10:10:00" in lines[2]


def test_one_workbook_spelled_two_ways_is_a_bad_fleet_file(tmp_path, env):
    """Two entries naming one workbook by different paths (relative and absolute, through "..",
    through a symlink) ran as two members: one of them was skipped every round as "already
    served by `sheetcrm run` (another process)" (the fleet's own other entry), and `--once`
    exited 1 at every cron tick. Like the same path twice, it is one line naming the entry, exit 2."""
    xlsx(tmp_path / "a.xlsx", {"Leads": LEADS})
    (tmp_path / "link.xlsx").symlink_to(tmp_path / "a.xlsx")
    for other in (str(tmp_path / "a.xlsx"), "sub/../a.xlsx", "link.xlsx"):
        (tmp_path / "fleet.toml").write_text(f'[[workbook]]\nname = "one"\nworkbook = "a.xlsx"\n'
                                             f'[[workbook]]\nname = "two"\nworkbook = "{other}"\n')
        out = sheetcrm("run", "--fleet", "fleet.toml", "--once", env=env, cwd=tmp_path)
        assert out.returncode == 2, (other, out.stderr)
        assert out.stderr.count("\n") == 1 and "workbook.2: the same workbook as an earlier entry" in out.stderr
        assert str((tmp_path / "a.xlsx").resolve()) in out.stderr


GOOD_STATE = {"version": 1, "pid": 999_999_999, "written_at": "2026-11-30T18:00:05+00:00",
              "requests_last_minute": {"read": 1, "write": 0}, "budget": {"read": 300, "write": 300},
              "workbooks": [{"name": "acme", "target": "a.xlsx", "state": "ok",
                             "last_sync": {"at": "2026-11-30T18:00:00+00:00", "outcome": "ok", "message": "fine"},
                             "next_sync": "2026-11-30T18:05:00+00:00", "failures": 0, "requests_last_minute": 1}]}


@pytest.mark.parametrize("text, where", [
    (json.dumps(GOOD_STATE)[:60], "not whole JSON at line 1"),
    ("[1, 2]", "not a JSON object"),
    ("", "not whole JSON at line 1"),
    (json.dumps({**GOOD_STATE, "version": "1"}), "its field version"),
    (json.dumps({**GOOD_STATE, "workbooks": {"acme": {}}}), "its field workbooks"),
    (json.dumps({**GOOD_STATE, "budget": {"read": "lots"}}), "its field budget"),
    (json.dumps({**GOOD_STATE, "requests_last_minute": [1, 2]}), "its field requests_last_minute"),
    (json.dumps({**GOOD_STATE, "workbooks": ["acme"]}), "its field workbooks[0]"),
    *[(json.dumps({**GOOD_STATE, "workbooks": [{**GOOD_STATE["workbooks"][0], field: value}]}),
       f"its field workbooks[0].{field}")
      for field, value in [("state", ""), ("state", 3), ("name", None), ("failures", "2"), ("next_sync", 5),
                           ("last_sync", "yesterday"), ("requests_last_minute", None)]],
    (json.dumps({**GOOD_STATE, "workbooks": [{**GOOD_STATE["workbooks"][0], "last_sync": {"at": 1}}]}),
     "its field workbooks[0].last_sync.at"),
], ids=lambda v: v[:40] if isinstance(v, str) else None)
def test_a_damaged_state_file_is_one_line_exit_2_naming_what_is_wrong(tmp_path, env, text, where, monkeypatch):
    """A hand-edited fleet-state.json printed the catalogue's header as a workbook's state (its
    "state" emptied, `_("")`) or a traceback (a list, a number as text): one line, exit 2.
    One case through a real process (its exit status and stderr as a shell sees them), the
    others through the same command in this process (a process each cost most of a minute)."""
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    (tmp_path / "fleet-state.json").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for name in ("LANG", "LANGUAGE", "LC_ALL"):
        monkeypatch.setenv(name, env[name])
    monkeypatch.delenv("SHEETCRM_LANG", raising=False)
    for args in ((), ("--format", "json")):
        if where == "not a JSON object":
            out = sheetcrm("fleet", "status", *args, env=env, cwd=tmp_path)
            code, stdout, stderr = out.returncode, out.stdout, out.stderr
        else:
            done = CliRunner().invoke(main, ["fleet", "status", *args])
            code, stdout, stderr = done.exit_code, done.stdout, done.stderr
        assert (code, stdout, stderr.count("\n")) == (2, "", 1), stderr
        assert f"the fleet state is damaged ({where}" in stderr and "delete it" in stderr


def test_a_damaged_state_of_a_running_fleet_says_the_fleet_rewrites_it(tmp_path, env):
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    state = {**GOOD_STATE, "pid": os.getpid(), "workbooks": [{**GOOD_STATE["workbooks"][0], "failures": -1}]}
    (tmp_path / "fleet-state.json").write_text(json.dumps(state), encoding="utf-8")
    out = sheetcrm("fleet", "status", env=env, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert f"the running fleet (PID {os.getpid()}) rewrites it after its next job" in out.stderr


def test_a_good_state_file_is_still_shown(tmp_path, env):
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "a.xlsx"\n')
    (tmp_path / "fleet-state.json").write_text(json.dumps(GOOD_STATE), encoding="utf-8")
    out = sheetcrm("fleet", "status", env=env, cwd=tmp_path)
    assert out.returncode == 0 and any(line.startswith("acme") and " ok " in line for line in out.stdout.splitlines())


def test_a_second_sigterm_while_a_job_waits_on_google_stops_the_fleet_at_once_with_130(tmp_path, env):
    """The first SIGTERM lets the jobs in flight finish; the second is the stop at once. The
    fleet put the default handlers back before waiting for its jobs, so the second SIGTERM
    killed it by the signal (-15), with no line; and a SystemExit there would still have waited
    for the job's request (the interpreter joins the pool's threads) for its whole timeout."""
    import threading

    from sheetcrm.emulator import Emulator

    with Emulator() as emu:
        key = emu.create_spreadsheet("CRM", {"Leads": LEADS})
        (tmp_path / "slow.toml").write_text("[google]\ntimeout_seconds = 600\n")
        (tmp_path / "fleet.toml").write_text(f'[[workbook]]\nspreadsheet = "{key}"\nconfig = "slow.toml"\n')
        reached, release = threading.Event(), threading.Event()

        def stall(_emu):
            reached.set()
            release.wait(120)

        emu.between_requests(stall)
        proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "run", "--fleet", "fleet.toml"], cwd=tmp_path,
                                env={**env, "SHEETS_EMULATOR_HOST": emu.host}, stderr=subprocess.PIPE, text=True)
        try:
            assert reached.wait(60), "the sync never asked Google"
            proc.send_signal(signal.SIGTERM)
            killer = threading.Timer(120, proc.kill)  # a line that never comes fails the test, not hangs it
            killer.start()
            said = []
            # The first handled (its line said) before the second is sent: two at once are one.
            while not any("stopping after the jobs in flight" in line for line in said) and proc.poll() is None:
                said.append(proc.stderr.readline())
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=60)  # the stalled request holds for 120 s, its timeout 600
            killer.cancel()
            err = "".join(said) + err
        finally:
            release.set()
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 130, (proc.returncode, err)
    assert "SIGTERM: stopping now, the jobs in flight cut short" in err, err
    assert "Traceback" not in err
