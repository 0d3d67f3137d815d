"""The command line as a person runs it: a real process, its exit status, stdout and stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import openpyxl
import pytest
from click.testing import CliRunner

from in_process import cli as in_process
from messy import write_messy
from sheetcrm.cli import main


def run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    done = run("demo", "--rows", "40", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_demo_writes_and_syncs_then_says_what_it_did(demo_dir):
    out = run("sync", "--workbook", "demo-crm.xlsx", "--format", "json", cwd=demo_dir)
    assert out.returncode == 0
    result = json.loads(out.stdout)
    assert result["cells_written"]["total"] == 0  # the demo already synced once
    names = openpyxl.load_workbook(demo_dir / "demo-crm.xlsx", read_only=True).sheetnames
    assert {"Leads", "Opportunities", "Validation"} <= set(names)


def test_demo_refuses_to_overwrite_without_force(demo_dir):
    again = run("demo", cwd=demo_dir)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "--force" in again.stderr


def test_validate_json_and_exit_status(demo_dir):
    out = run("validate", "--workbook", "demo-crm.xlsx", "--format", "json", cwd=demo_dir)
    assert out.returncode == 1  # the demo plants errors on purpose
    report = json.loads(out.stdout)
    assert report["valid"] is False
    assert set(report["issues"][0]) == {"severity", "tab", "row", "column", "header", "value", "code", "message",
                                        "hint"}
    assert report["stats"]["rows"] > 0


def test_validate_exits_0_with_only_warnings(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    wb.active.append(["Last Name", "Email"])
    wb.active.append(["Ng", "a@example.com"])
    wb.active.append(["Li", "a@example.com"])
    wb.save(tmp_path / "crm.xlsx")
    out = run("validate", cwd=tmp_path)
    assert out.returncode == 0, out.stdout
    assert "duplicate_email" in out.stdout


def test_validate_of_a_clean_workbook_is_its_counts_alone(tmp_path):
    assert run("init", "--workbook", "crm.xlsx", cwd=tmp_path).returncode == 0
    out = run("validate", "--workbook", "crm.xlsx", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == [f"{tmp_path / 'crm.xlsx'}: 0 rows, 0 errors, 0 warnings"]


def test_sync_strict_and_dry_run(demo_dir):
    assert run("sync", "--workbook", "demo-crm.xlsx", "--strict", cwd=demo_dir).returncode == 1
    dry = run("sync", "--workbook", "demo-crm.xlsx", "--dry-run", cwd=demo_dir)
    assert dry.returncode == 0 and "nothing to change" in dry.stdout


def test_missing_workbook_is_one_line_suggesting_init(tmp_path):
    out = run("validate", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "sheetcrm init" in out.stderr and "Traceback" not in out.stderr


def test_not_an_xlsx_is_one_line(tmp_path):
    (tmp_path / "crm.xlsx").write_text("name,email\n")
    out = run("sync", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize("toml, key", [
    ("locale = 'fr'\n", "locale"),
    ("[[stages]]\nname = 'A'\nprobability = 140\n", "stages.1.probability"),
    ("lokale = 'es'\n", "lokale"),
    ("currency = 'ZZZ'\n", "currency"),
    ("locale = \n", "not valid TOML"),
])
def test_bad_config_is_one_line_naming_file_and_key(tmp_path, toml, key):
    (tmp_path / "sheetcrm.toml").write_text(toml)
    out = run("validate", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "sheetcrm.toml" in out.stderr and key in out.stderr


def test_init_writes_config_and_tabs_and_never_touches_existing_data(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    wb.active.append(["Apellidos", "Mi columna"])
    wb.active.append(["Ng", "=1+2"])
    wb.save(tmp_path / "crm.xlsx")
    out = run("init", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "sheetcrm.toml").read_text().startswith("# sheetcrm.toml")
    book = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    assert [c.value for c in book["Leads"][2]] == ["Ng", "=1+2"]
    assert "Accounts" in book.sheetnames and book["Accounts"]["B1"].value == "Name"
    # The example config it wrote is itself valid.
    assert run("validate", cwd=tmp_path).returncode == 0
    assert "all CRM tabs present" in run("init", cwd=tmp_path).stdout


def test_messy_spanish_workbook_via_cli(tmp_path):
    write_messy(tmp_path)
    out = run("validate", "--workbook", "messy.xlsx", "--format", "json", cwd=tmp_path)
    assert out.returncode == 1
    codes = {(i["tab"], i["row"], i["column"]) : i["code"] for i in json.loads(out.stdout)["issues"]}
    assert codes[("Oportunidades", 3, "A")] == "bad_enum"


# -- demo and init never touch a team's workbook ---------------------------------------------

def _team_xlsx(path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    wb.active.append(["Last Name", "Company", "Status"])
    wb.active.append(["Ng", "Ng Co", "New"])
    wb.save(path)


def test_init_with_a_workbook_points_the_config_at_it(tmp_path):
    _team_xlsx(tmp_path / "team.xlsx")
    out = run("init", "--workbook", "team.xlsx", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert 'workbook = "team.xlsx"' in (tmp_path / "sheetcrm.toml").read_text()
    assert not (tmp_path / "crm.xlsx").exists()
    # The next command, without a flag, works on team.xlsx.
    check = run("validate", "--format", "json", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout)["stats"]["rows"] == 1
    assert "team.xlsx" in run("sync", cwd=tmp_path).stdout


def test_demo_never_touches_the_team_workbook_the_config_points_at(tmp_path):
    _team_xlsx(tmp_path / "team.xlsx")
    assert run("init", "--workbook", "team.xlsx", cwd=tmp_path).returncode == 0
    team = (tmp_path / "team.xlsx").read_bytes()
    # Without --workbook the demo goes to its own file, whatever the config says.
    out = run("demo", "--rows", "20", "--force", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "demo-crm.xlsx").exists() and "demo-crm.xlsx" in out.stdout
    for args in (("--workbook", "team.xlsx"), ("--workbook", "team.xlsx", "--force")):
        refused = run("demo", "--rows", "20", *args, cwd=tmp_path)
        assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
        assert "not created by `sheetcrm demo`" in refused.stderr
    assert (tmp_path / "team.xlsx").read_bytes() == team


def test_demo_force_replaces_only_a_demo_it_made(tmp_path):
    first = run("demo", "--rows", "20", "--workbook", "mine.xlsx", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run("demo", "--rows", "20", "--workbook", "mine.xlsx", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    replaced = run("demo", "--rows", "20", "--seed", "8", "--workbook", "mine.xlsx", "--force", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    marks = {r[0].value: r[1].value for r in openpyxl.load_workbook(tmp_path / "mine.xlsx")["_sheetcrm"].iter_rows(min_row=2)}
    # The demo's mark survives the sync the demo runs, and says which seed made it.
    assert marks["created by sheetcrm demo"] == 8 and marks["LEAD"] >= 20


def test_demo_writes_into_an_empty_workbook_but_not_one_with_other_tabs(tmp_path):
    wb = openpyxl.Workbook()
    wb.save(tmp_path / "empty.xlsx")
    assert run("demo", "--rows", "20", "--workbook", "empty.xlsx", cwd=tmp_path).returncode == 0
    wb = openpyxl.Workbook()
    wb.active.title = "Budget"
    wb.active["A1"] = "Rent"
    wb.save(tmp_path / "budget.xlsx")
    before = (tmp_path / "budget.xlsx").read_bytes()
    out = run("demo", "--rows", "20", "--workbook", "budget.xlsx", cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert (tmp_path / "budget.xlsx").read_bytes() == before


def test_a_demo_interrupted_in_its_syncs_says_a_rerun_that_works(tmp_path):
    """Ctrl-C once the demo's tabs were written (here: a real SIGINT as its first sync starts)
    said "run the command again to finish"; run again, the demo answered "already holds a demo
    CRM; pass --force". The line now says what a rerun needs, and that rerun finishes."""
    code = ("import os, signal, sys, runpy\n"
            "import sheetcrm.sync as s\n"
            "first = s.sync\n"
            "def sync(*a, **k):\n"
            "    os.kill(os.getpid(), signal.SIGINT)\n"
            "    return first(*a, **k)\n"
            "s.sync = sync\n"
            "sys.argv = ['sheetcrm', 'demo', '--rows', '20', '--workbook', 'd.xlsx']\n"
            "runpy.run_module('sheetcrm', run_name='__main__')\n")
    stopped = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert stopped.returncode == 130, stopped.stderr
    assert stopped.stderr.strip().splitlines() == [
        f"sheetcrm: interrupted: the demo CRM is written to {tmp_path / 'd.xlsx'} but its syncs did not finish; "
        "run `sheetcrm demo` again with --force to write it anew."]
    again = run("demo", "--rows", "20", "--workbook", "d.xlsx", "--force", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert run("sync", "--workbook", "d.xlsx", "--format", "json", cwd=tmp_path).returncode == 0


def test_demo_force_on_a_workbook_without_a_sheetcrm_tab_says_the_tab_is_missing(tmp_path):
    # It said "its _sheetcrm tab has no "created by sheetcrm demo" row" of a tab that is not there.
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    wb.active["A1"] = "Last Name"
    wb.save(tmp_path / "team.xlsx")
    refused = run("demo", "--rows", "20", "--workbook", "team.xlsx", "--force", cwd=tmp_path)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1
    assert "(it has no _sheetcrm tab)" in refused.stderr and "has no \"created by" not in refused.stderr


# -- control characters from cells never reach the terminal raw ------------------------------

# ESC sequences (clear screen, set the terminal's title), BEL, NUL, a carriage return that
# would overwrite the line, a C1 CSI, and a right-to-left override.
NASTY = {"esc": "\x1b[2J\x1b]0;pwned\x07", "nul": "a\x00b", "cr": "ok\rFAKE", "c1": "x\x9b31m", "bidi": "\u202eevil"}
RAW = set("\x1b\x07\x00\r\x9b\u202e")


def _ooxml(value):
    """C0 characters as an .xlsx file holds them (_x001B_), which readers decode; openpyxl
    refuses them raw."""
    if not isinstance(value, str):
        return value
    return "".join(f"_x{ord(c):04X}_" if ord(c) < 0x20 else c for c in value)


def _nasty_workbook(path) -> None:
    tabs = {
        "Leads": [["ID", "Last Name", "Company", "Status", "Email", "Source"],
                  ["LEAD-0001", NASTY["esc"], "A Co", "New" + NASTY["esc"], "bad" + NASTY["nul"], NASTY["bidi"]],
                  ["LEAD-0002", "Li", NASTY["cr"], "Converted" + NASTY["c1"], "li@example.com", NASTY["c1"]],
                  ["LEAD-0003", "Wu", "W Co", "New", "wu@example.com", "Web" + NASTY["esc"]]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Deal" + NASTY["bidi"], "A Co", "Ana" + NASTY["esc"], "Proposal", 100,
                           "2026-12-01"],
                          ["OPP-0002", "Deal 2", "A Co", NASTY["c1"], "Won" + NASTY["cr"], 50, "2026-12-01"],
                          ["OPP-0003", "Deal 3", "A Co", "Ben", "Closed Won", 70, "2026-11-01"]],
    }
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append([_ooxml(v) for v in row])
    wb.save(path)


@pytest.mark.parametrize("command", [
    ("validate",), ("validate", "--format", "json"), ("sync", "--dry-run"), ("sync",), ("sync", "--format", "json"),
    ("kpis",), ("kpis", "--format", "json"), ("forecast",), ("score",), ("score", "--format", "json"),
    ("quote", "OPP-0001")])
def test_control_characters_from_cells_are_escaped_in_every_output(tmp_path, command):
    _nasty_workbook(tmp_path / "crm.xlsx")
    # One through a real process (what a terminal is sent), the others in this process.
    cli = run if command == ("validate",) else in_process
    out = cli(*command, "--as-of", "2026-11-23", cwd=tmp_path) if command[0] in ("sync", "kpis", "forecast", "score") \
        and "--dry-run" not in command else cli(*command, cwd=tmp_path)
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stdout + out.stderr  # something said, to hold no control character
    assert not RAW & set(out.stdout + out.stderr), repr(out.stdout + out.stderr)
    if "json" in command:
        json.loads(out.stdout)  # still a valid document, holding the cells' very characters
    if command[0] == "validate":
        text = out.stdout
        if "json" in command:
            issues = json.loads(text)["issues"]
            # The value keeps the cell's own characters; the message quotes it made visible.
            assert any(NASTY["esc"] in str(i["value"]) for i in issues)
            assert any("\\u001b[2J" in i["message"] for i in issues)
        else:
            assert "\\u001b[2J" in text  # visible, not acted on


def test_a_lock_folder_that_cannot_be_made_is_one_line_and_exit_2(tmp_path):
    book, config = write_messy(tmp_path)
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "sync", "--workbook", str(book), "--config", str(config)],
                         cwd=tmp_path, capture_output=True, text=True, env={**__import__("os").environ, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    # The messy workbook's config says locale = "es": the line is in Spanish.
    assert out.stderr.count("\n") == 1 and "no se puede crear el bloqueo de sheetcrm" in out.stderr


@pytest.mark.parametrize("day", ["0001-01-15", "0050-01-15", "9999-12-31"])
def test_a_date_no_forecast_month_can_hold_is_a_usage_error_not_a_traceback(demo_dir, day, monkeypatch):
    # Year 1 has no quarter before it: the engine's month and quarter arithmetic overflowed.
    # The first day through real processes (exit status, stderr as a shell sees them); the
    # others through the same commands in this process (twelve processes cost 15 s of CPU).
    monkeypatch.chdir(demo_dir)

    def said(*args: str) -> tuple[int, str]:
        if day == "0001-01-15":
            out = run(*args, cwd=demo_dir)
            return out.returncode, out.stderr
        done = CliRunner().invoke(main, list(args))
        return done.exit_code, done.stderr

    for command in (["sync", "--dry-run"], ["forecast"], ["kpis"]):
        code, stderr = said(*command, "--workbook", "demo-crm.xlsx", "--as-of", day)
        assert code == 2 and "Traceback" not in stderr, stderr
        assert "1900-01-01" in stderr and day in stderr
    code, stderr = said("kpis", "--workbook", "demo-crm.xlsx", "--as-of", "1900-01-01")
    assert code == 0, stderr


def test_a_closed_output_pipe_is_exit_141_and_no_line_not_the_exit_1_of_a_sheet_with_errors(demo_dir):
    """`sheetcrm kpis | head -1`: the reader went away before the command wrote. Click's own
    handling exited 1 with nothing said, the status of a sheet with errors."""
    proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "kpis", "--workbook", "demo-crm.xlsx"], cwd=demo_dir,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the interpreter has even started: every write finds no reader
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141
    assert err == b""
