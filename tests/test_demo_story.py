"""`sheetcrm demo`, as the README's first command runs it (the default size), tells issue 15's
story: a campaign that paid off and one that did not, and an account at risk whose urgent case
is late, on the Accounts Overview with a health below the typical account's. Read back from the
.xlsx the command wrote, with openpyxl."""

from __future__ import annotations

import statistics

import openpyxl
import pytest
from demo_runs import CONFIG, run_cli

from sheetcrm.schema import CAMPAIGNS, CASES, OVERVIEW


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-story")
    (folder / "sheetcrm.toml").write_text(CONFIG["en"], encoding="utf-8")
    out = run_cli("demo", "--workbook", "demo.xlsx", cwd=folder)
    assert out.returncode == 0, out.stderr
    return openpyxl.load_workbook(folder / "demo.xlsx", read_only=True)


def _table(wb, title: str) -> list[dict]:
    rows = [list(r) for r in wb[title].iter_rows(values_only=True)]
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v not in (None, "") for v in r)]


def test_one_campaign_paid_off_and_one_did_not(book):
    rois = [c["ROI"] for c in _table(book, CAMPAIGNS.display_title("en")) if isinstance(c["ROI"], (int, float))]
    assert max(rois) > 0 > min(rois), rois


def test_the_account_at_risk_has_a_late_urgent_case_and_a_low_health(book):
    late_urgent = {c["Account"] for c in _table(book, CASES.display_title("en"))
                   if c["Priority"] == "Urgent" and c["SLA Breached"] == "yes"}
    overview = _table(book, OVERVIEW.display_title("en"))
    at_risk = [a for a in overview if a["Account"] in late_urgent]
    assert at_risk, (late_urgent, [a["Account"] for a in overview])
    typical = statistics.median(a["Health"] for a in overview if isinstance(a["Health"], (int, float)))
    for account in at_risk:
        assert account["Urgent Cases"] >= 1 and account["Health"] < typical, account
        assert "urgent" in account["Why"], account["Why"]
