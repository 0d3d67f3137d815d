"""The command line as a person runs it: a real process, its exit status, stdout and stderr."""

from __future__ import annotations

import json
import subprocess
import sys

import openpyxl
import pytest

from messy import write_messy


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
    ("[[stages]]\nname = 'A'\nprobability = 140\n", "stages.0.probability"),
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
