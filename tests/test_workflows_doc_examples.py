"""Every template example of docs/workflows.md renders on a record of the kind it is written for
(s34: the lead sequence's "Call {{ Name }}" was skipped, a lead having no Name column), on real
.xlsx files: the examples are read out of the doc itself, so a new one is tested as written."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import openpyxl
from books import xlsx

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

DOC = (Path(__file__).parent.parent / "docs" / "workflows.md").read_text(encoding="utf-8")
TEMPLATES = str(Path(__file__).parent / "fixtures" / "workflow-templates")
DAY0 = dt.date(2026, 12, 1)
WF = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)", "Template"]
# Prose examples the doc gives as what fails (the firing is skipped): not meant to render.
FAILING = {"{{ 1 / 0 }}", "{{ Name|center(10**9) }}", "{{ range(20000)|map('center', 20000)|join|length }}"}  # the doc's refused examples


def _tables() -> list[dict[str, str]]:
    """The doc's rule rows (markdown tables with a Record and a Then column), header -> cell."""
    rows, header = [], None
    for line in DOC.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not set(line) <= set("|- "):
            rows.append(dict(zip(header, cells)))
    return [r for r in rows if "Record" in r and "Then" in r]


def _tomls() -> list[dict]:
    return [tomllib.loads(block) for block in re.findall(r"```toml\n(.*?)```", DOC, re.S)]


def _examples() -> list[tuple[str, str]]:
    """(record kind, Subject template) of every rule and follow-up step the doc writes out."""
    out = [(r["Record"], r["Subject"]) for r in _tables() if "{{" in r.get("Subject", "")]
    sequences: dict[str, list[str]] = {}
    for doc in _tomls():
        rules = doc.get("workflows", {})
        for rule in rules.get("rules", []) if isinstance(rules, dict) else rules:
            if "{{" in rule.get("subject", ""):
                out.append((rule["record"], rule["subject"]))
        for name, sequence in doc.get("follow_ups", {}).items():
            sequences[name] = [s["subject"] for s in sequence["steps"] if "{{" in s.get("subject", "")]
    starters = {r["Template"]: r["Record"] for r in _tables() if r["Then"] == "start sequence"}
    for name, subjects in sequences.items():
        out += [(starters[name], s) for s in subjects]  # a sequence no rule of the doc starts: KeyError
    return out


def _prose() -> set[str]:
    """The templates quoted in the doc's prose (`{{ Close_Date }}`), each on its own."""
    ruled = {s for _k, s in _examples()}
    found = set(re.findall(r"`(\{\{.*?\}\})`", DOC))
    return {t for t in found if t not in FAILING and not any(t in s for s in ruled)}


def test_the_doc_has_the_examples_this_test_reads():
    assert ("lead", "Call {{ Name }}") in _examples()
    assert ("opportunity", "Follow up: {{ Name }}") in _examples()
    assert {"{{ Close_Date }}", "{{ account.Name }}", "{{ Nombre }}"} <= _prose()


def _book(tmp_path, rules: list[list]) -> Path:
    tabs = {
        "Accounts": [["ID", "Name", "Owner", "Primary Contact"], ["ACC-0001", "Initech", "Ana", None]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email", "Owner"],
                     ["CON-0001", "ACC-0001", "Bo", "Li", "bo@initech.com", "Ana"]],
        "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Source", "Status", "Owner", "Created"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Close Date", "Created"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF, *rules],
    }
    return xlsx(tmp_path / "crm.xlsx", tabs)


def _append(path: Path, tab: str, row: list) -> None:
    wb = openpyxl.load_workbook(path)
    wb[tab].append(row)
    wb.save(path)


def _tasks(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)["Tasks"]
    return [(r[2], r[3]) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]


def _log(path: Path) -> list[tuple]:
    ws = openpyxl.load_workbook(path)["Workflow Log"]
    return [(r[1], r[3], r[6], r[7]) for r in ws.iter_rows(min_row=2, values_only=True) if r[0]]


def test_every_template_example_of_the_doc_renders_on_a_record_of_its_kind(tmp_path):
    # The prose names no kind ({{ Close_Date }} is a deal's, {{ Full_Name }} a lead's): each
    # such example must render on a deal or on a lead.
    prose = sorted(_prose())
    examples = [*_examples(), *((kind, t) for t in prose for kind in ("opportunity", "lead"))]
    rules = [[f"WF-{n:04d}", "Example", "yes", kind, "created", None, "create task", subject, 1, None]
             for n, (kind, subject) in enumerate(examples, 1)]
    ruled = len(_examples())
    path = _book(tmp_path, rules)
    book = XlsxWorkbook(path)
    sync(book, Config(), DAY0)  # arms the rules: the records typed next are new
    _append(path, "Leads", ["LEAD-0001", "Hugo", "Navarro", "Lumen", "hugo@lumen.example", "Web", "New", "Ana",
                            "2026-12-02"])
    _append(path, "Opportunities", ["OPP-0001", "Big", "ACC-0001", "CON-0001", "Ana", "Proposal", 5000,
                                    "2026-12-20", "2026-12-02"])
    sync(book, Config(), DAY0 + dt.timedelta(days=1))
    results = {rule: result for rule, _r, result, _d in _log(path)}
    assert [results[r[0]] for r in rules[:ruled]] == ["done"] * ruled, results
    for n, template in enumerate(prose):
        pair = rules[ruled + 2 * n:ruled + 2 * n + 2]
        assert "done" in [results[r[0]] for r in pair], template
    subjects = [s for s, _related in _tasks(path)]
    assert all(s and "{{" not in s for s in subjects), subjects
    assert ("Call Hugo Navarro", "LEAD-0001") in _tasks(path)
    assert ("Follow up: Big", "OPP-0001") in _tasks(path)


def test_the_docs_welcome_sequence_calls_the_lead_by_its_name_on_day_3(tmp_path):
    # The doc's own rule WF-0005 and [follow_ups.welcome], as written.
    row = next(r for r in _tables() if r["ID"] == "WF-0005")
    sequence = next(d["follow_ups"] for d in _tomls() if "follow_ups" in d)
    config = Config.model_validate({"templates": TEMPLATES, "follow_ups": sequence})
    path = _book(tmp_path, [[row["ID"], row["Name"], row["Active"], row["Record"], row["When"], row["If"],
                             row["Then"], None, None, row["Template"]]])
    book = XlsxWorkbook(path)
    sync(book, config, DAY0)
    _append(path, "Leads", ["LEAD-0001", "Hugo", "Navarro", "Lumen", "hugo@lumen.example", "Web", "New", "Ana",
                            "2026-12-02"])
    for n in range(1, 6):
        sync(book, config, DAY0 + dt.timedelta(days=n))
    assert _tasks(path) == [("Call Hugo Navarro", "LEAD-0001")]
    assert [result for _rule, _rec, result, _d in _log(path)] == ["done", "done", "done"]
