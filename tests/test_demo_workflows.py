"""`sheetcrm demo` ships four workflow rules that fire on its own data (issue 14): the round-robin
gives the web form's new leads an owner, the proposal follow-up answers the deal a person moves
into Proposal after the first sync (the demo makes that edit), the rotting-deal reminder the deal that starts rotting today, the quote chaser
the quote sent a week ago with no reply since. The command runs as a person runs it, on a real
.xlsx, in English and in Spanish; the Workflow Log is read back with openpyxl."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import openpyxl
from demo_runs import CONFIG, run_cli

from sheetcrm.demo import RULES
from sheetcrm.schema import OUTBOX, TABS, WORKFLOW_LOG, WORKFLOW_STATE, WORKFLOWS


def _rows(folder: Path, title: str) -> list[list]:
    wb = openpyxl.load_workbook(folder / "demo.xlsx", read_only=True)
    if title not in wb.sheetnames:
        return []
    return [list(r) for r in wb[title].iter_rows(values_only=True) if any(v not in (None, "") for v in r)]


def _log(folder: Path, locale: str) -> list[dict]:
    rows = _rows(folder, WORKFLOW_LOG.display_title(locale))
    return [dict(zip(WORKFLOW_LOG.headers, r)) for r in rows[1:]]  # English keys, whatever the headers say


def test_the_demo_writes_its_four_rules_in_its_language(demo):
    locale, folder, _printed = demo
    rows = _rows(folder, WORKFLOWS.display_title(locale))
    assert rows[0][:len(WORKFLOWS.headers(locale))] == WORKFLOWS.headers(locale)
    assert [r[0] for r in rows[1:]] == ["WF-0001", "WF-0002", "WF-0003", "WF-0004"]
    assert [tuple(r[1:8:1]) for r in rows[1:]] == [
        (name, "sí" if locale == "es" else "yes", record, when, cond or None, then, subject)
        for name, record, when, cond, then, subject, _due in RULES[locale]]
    # The round-robin names the demo's owners and a cap.
    assert rows[1][10] and rows[1][11] and int(rows[1][11]) >= 1


def test_each_rule_fires_on_the_demo_data_once_and_the_log_keys_are_unique(demo):
    locale, folder, printed = demo
    log = _log(folder, locale)
    done = {"en": "done", "es": "hecho"}[locale]
    fired = Counter(e["Rule"] for e in log if e["Result"] == done)
    assert set(fired) == {"WF-0001", "WF-0002", "WF-0003", "WF-0004"}, log
    keys = [e["Key"] for e in log]
    assert len(keys) == len(set(keys))
    # What each firing made exists: a task related to the record, an owner on the lead.
    tasks = _rows(folder, TABS["tasks"].display_title(locale))
    by_id = {r[0]: r for r in tasks[1:]}
    leads = {r[0]: r for r in _rows(folder, TABS["leads"].display_title(locale))[1:]}
    owner_col = _rows(folder, TABS["leads"].display_title(locale))[0].index(
        "Propietario" if locale == "es" else "Owner")
    for e in log:
        if e["Rule"] == "WF-0001":
            assert leads[e["Record"]][owner_col], e
        else:
            task = by_id[e["Created Record"]]
            assert task[3] == e["Record"]
    # The follow-up is due three days after the deal entered Proposal; the demo runs on today.
    follow = next(e for e in log if e["Rule"] == "WF-0002")
    assert by_id[follow["Created Record"]][1].date() == dt.date.today() + dt.timedelta(days=3)
    # And the demo says so, a line per rule.
    for rule in ("WF-0001", "WF-0002", "WF-0003", "WF-0004"):
        assert sum(line.strip().startswith(rule) for line in printed.splitlines()) == 1, printed


def test_the_quote_chaser_counts_from_a_sent_quote_in_the_outbox(demo):
    locale, folder, _printed = demo
    outbox = _rows(folder, OUTBOX.display_title(locale))
    chased = next(e for e in _log(folder, locale) if e["Rule"] == "WF-0004")
    row = next(r for r in outbox[1:] if r[2] == chased["Record"])
    assert row[5] == ("Enviado" if locale == "es" else "Sent") and row[9]
    assert chased["Key"] == f"WF-0004|{chased['Record']}|quote:{row[0]}"


def test_a_further_sync_fires_nothing_again_and_changes_nothing(demo):
    locale, folder, _printed = demo
    before = _log(folder, locale)
    state = _rows(folder, WORKFLOW_STATE.display_title(locale))
    out = run_cli("sync", "--workbook", "demo.xlsx", "--format", "json", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert '"total": 0' in out.stdout  # the demo left nothing to change, its workflows included
    assert _log(folder, locale) == before
    assert _rows(folder, WORKFLOW_STATE.display_title(locale)) == state
    dry = run_cli("workflows", "--dry-run", "--workbook", "demo.xlsx", cwd=folder)
    assert dry.returncode == 0 and "WF-" not in dry.stdout, dry.stdout


def test_a_later_sync_keeps_every_firing_and_repeats_none(demo, tmp_path):
    locale, folder, _printed = demo
    copy = tmp_path / "demo.xlsx"
    copy.write_bytes((folder / "demo.xlsx").read_bytes())
    (tmp_path / "sheetcrm.toml").write_text(CONFIG[locale], encoding="utf-8")
    before = _log(folder, locale)
    later = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    out = run_cli("sync", "--workbook", "demo.xlsx", "--as-of", later, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    after = _log(tmp_path, locale)
    assert after[:len(before)] == before
    keys = [e["Key"] for e in after]
    assert len(keys) == len(set(keys))
