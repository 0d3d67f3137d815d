"""The two ways sheetcrm.toml holds workflow rules (docs/workflows.md): `[workflows]` with
`[[workflows.rules]]`, or the short `[[workflows]]` with the settings under
`[workflow_settings]`. Both give the same rules; mixing them is one clear line, exit 2."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from sheetcrm.config import load_config
from sheetcrm.settings import ConfigError
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

RULE = '''id = "WF-100"
name = "Chase quotes"
record = "opportunity"
when = "enters Proposal"
then = "create task"
subject = "Follow up {{ Name }}"
due_days = 2
'''
LONG = f"[workflows]\nmax_per_record = 2\n\n[[workflows.rules]]\n{RULE}"
SHORT = f"[workflow_settings]\nmax_per_record = 2\n\n[[workflows]]\n{RULE}"


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    monkeypatch.setenv("SHEETCRM_LANG", "en")


def _load(tmp_path: Path, text: str):
    path = tmp_path / "sheetcrm.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def test_the_short_form_reads_as_the_long_one(tmp_path):
    long, short = _load(tmp_path, LONG), _load(tmp_path, SHORT)
    assert short.workflows == long.workflows
    assert short.workflows.max_per_record == 2
    assert [r.id for r in short.workflows.rules] == ["WF-100"] and short.workflows.rules[0].due_days == 2


def test_the_short_form_without_settings_keeps_the_defaults(tmp_path):
    config = _load(tmp_path, f"[[workflows]]\n{RULE}\n[[workflows]]\n{RULE.replace('WF-100', 'WF-101')}")
    assert [r.id for r in config.workflows.rules] == ["WF-100", "WF-101"]
    assert config.workflows.max_per_record == 3


@pytest.mark.parametrize("text, key", [
    # [[workflows]] then [[workflows.rules]]: TOML nests the second inside the last rule.
    (f"[[workflows]]\n{RULE}\n[[workflows.rules]]\n{RULE}", "workflows"),
    (f"[workflows]\nmax_per_record = 2\n\n[workflow_settings]\nmax_per_record = 4\n", "workflow_settings"),
    (f"[workflow_settings]\nmax_per_record = 2\n\n[[workflows.rules]]\n{RULE}", "workflow_settings"),
    (f"[[workflows]]\n{RULE}\n[[workflow_settings.rules]]\n{RULE}", "workflow_settings.rules"),
])
def test_mixing_the_forms_is_one_clear_line(tmp_path, text, key):
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, text)
    message = str(e.value)
    assert message.count("\n") == 0 and f"{key}: two forms of workflow rules" in message
    assert "[[workflows]]" in message and "[[workflows.rules]]" in message


def test_a_bad_rule_in_the_short_form_is_named_as_written(tmp_path):
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, f"[[workflows]]\n{RULE}\n[[workflows]]\n{RULE.replace('due_days = 2', 'due_days = -1')}")
    assert ": workflows.2.due_days: " in str(e.value)  # the second rule, counted as people count
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, f"[workflow_settings]\nmax_per_record = 0\n\n[[workflows]]\n{RULE}")
    assert ": workflow_settings.max_per_record: " in str(e.value)


def test_the_cli_refuses_a_mixed_config_with_exit_2(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Opportunities"
    wb.save(tmp_path / "crm.xlsx")
    (tmp_path / "sheetcrm.toml").write_text(
        f'workbook = "crm.xlsx"\n[workflow_settings]\nmax_per_record = 2\n\n[[workflows.rules]]\n{RULE}',
        encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "SHEETCRM_LANG": "en"}
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "workflows", "--dry-run"], cwd=tmp_path,
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "sheetcrm.toml" in out.stderr and "Traceback" not in out.stderr


def test_a_short_form_rule_fires_like_a_tab_rule(tmp_path):
    """The short form's rule runs: a deal made straight into Proposal gets its task."""
    config = _load(tmp_path, SHORT)
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    book.create()
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"])
    ws.append(["OPP-0001", "Big deal", "ACC-0001", "Ana", "Prospecting", 1000, dt.date(2026, 12, 31),
               dt.date(2026, 10, 1)])
    wb.create_sheet("Accounts").append(["ID", "Name", "Owner"])
    wb["Accounts"].append(["ACC-0001", "Initech", "Ana"])
    tasks = wb.create_sheet("Tasks")
    tasks.append(["ID", "Due", "Subject", "Related", "Owner", "Status"])
    wb.save(tmp_path / "crm.xlsx")
    day = dt.date(2026, 11, 2)
    sync(book, config, day)                                   # arms the rule, sees the deal
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    wb["Opportunities"]["E2"] = "Proposal"
    wb.save(tmp_path / "crm.xlsx")
    fired = sync(book, config, day + dt.timedelta(days=1)).workflows.to_json()
    assert [(f["rule"], f["record"], f["result"]) for f in fired] == [("WF-100", "OPP-0001", "done")]
    assert fired[0]["values"]["subject"] == "Follow up Big deal" and fired[0]["values"]["due"] == "2026-11-05"
