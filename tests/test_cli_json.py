"""`--format json` is for programs: ratios are unrounded fractions a program can recompute,
money exact decimal strings, durations numbers. Checked on several workbooks against numbers
this test counts itself from the sheet's own rows."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import openpyxl
import pytest

from in_process import cli
from messy import write_messy

AS_OF = "2026-11-23"
WON, LOST = {"closed won", "ganada"}, {"closed lost", "perdida"}


def sheetcrm(*args: str, cwd, real: bool = False) -> subprocess.CompletedProcess:
    """The command's exit status and output: through a real process when `real` (stdout and
    stderr as a program reading them sees them), else the same command in this process (a
    process each cost about 1.1 s, mostly imports)."""
    if real:
        return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True,
                              timeout=300)
    return cli(*args, cwd=cwd)


def counted_from_the_sheet(path, tab: str, stage_header: str, errors: set[int]) -> tuple[int, int]:
    """(won, lost) deals of `tab`, read with openpyxl, leaving out the rows `validate` reports
    errors on (a row with an error is left out of every total, README)."""
    rows = list(openpyxl.load_workbook(path, read_only=True)[tab].iter_rows(values_only=True))
    column = [str(h).strip().lower() for h in rows[0]].index(stage_header)
    stages = [str(r[column] or "").strip().lower() for n, r in enumerate(rows[1:], 2) if n not in errors]
    return sum(s in WON for s in stages), sum(s in LOST for s in stages)


def rows_with_errors(folder, workbook: str, tab: str, *config: str) -> set[int]:
    report = json.loads(sheetcrm("validate", "--workbook", workbook, *config, "--format", "json", cwd=folder).stdout)
    return {i["row"] for i in report["issues"] if i["tab"] == tab and i["severity"] == "error" and i["row"]}


def kpis_json(folder, workbook: str, *config: str, real: bool = False) -> dict:
    done = sheetcrm("kpis", "--workbook", workbook, *config, "--as-of", AS_OF, "--format", "json", cwd=folder,
                    real=real)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress, no noise: the output is for a program
    return json.loads(done.stdout)


def hand_built(folder) -> str:
    """12 won and 7 lost deals (63.157… %), with open ones, in Spanish and English stage names."""
    wb = openpyxl.Workbook()
    accounts = wb.active
    accounts.title = "Accounts"
    accounts.append(["ID", "Name"])
    accounts.append(["ACC-0001", "Acme"])
    opps = wb.create_sheet("Opportunities")
    opps.append(["ID", "Name", "Account", "Stage", "Amount", "Created", "Close Date"])
    stages = ["Closed Won"] * 12 + ["Closed Lost"] * 7 + ["Proposal"] * 5
    for n, stage in enumerate(stages, 1):
        opps.append([f"OPP-{n:04d}", f"Deal {n}", "Acme", stage, 1000 + n / 3, "2026-01-01", f"2026-02-{n:02d}"])
    wb.save(folder / "hand.xlsx")
    return "hand.xlsx"


def _owned_by(wb, owner: str) -> None:
    """`hand_built`'s deals given an Owner column naming `owner`."""
    opps = wb["Opportunities"]
    column = opps.max_column + 1
    opps.cell(1, column, "Owner")
    for row in range(2, opps.max_row + 1):
        opps.cell(row, column, owner)


def test_win_rate_is_won_over_closed_on_every_workbook(tmp_path):
    done = sheetcrm("demo", "--rows", "120", "--seed", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    messy, config = write_messy(tmp_path)
    cases = [("demo-crm.xlsx", "Opportunities", "stage", ()),
             (messy.name, "Oportunidades", "etapa", ("--config", str(config))),
             (hand_built(tmp_path), "Opportunities", "stage", ())]
    for workbook, tab, header, options in cases:
        errors = rows_with_errors(tmp_path, workbook, tab, *options)
        won, lost = counted_from_the_sheet(tmp_path / workbook, tab, header, errors)
        assert won + lost > 0, workbook
        k = kpis_json(tmp_path, workbook, *options)
        assert (k["won_count"], k["lost_count"]) == (won, lost), workbook
        assert isinstance(k["win_rate"], float)
        assert abs(k["win_rate"] - won / (won + lost)) < 1e-9, workbook


def test_kpis_json_units_for_programs(tmp_path):
    k = kpis_json(tmp_path, hand_built(tmp_path), real=True)  # as a program reading its stdout gets it
    assert k["win_rate"] == pytest.approx(12 / 19, abs=1e-12)  # 0.6315…, not "63.2"
    # Money: exact decimal strings, every digit of the sum (amounts of n/3 have many).
    won = sum(Decimal(str(1000 + n / 3)) for n in range(1, 13))
    assert isinstance(k["won_revenue"], str) and Decimal(k["won_revenue"]) == won
    assert "e" not in k["won_revenue"].lower()
    # Days as a number: Created 1 January, closed 1–12 February.
    assert k["avg_sales_cycle_days"] == pytest.approx(sum(31 + n - 1 for n in range(1, 13)) / 12)
    assert k["as_of"] == AS_OF and isinstance(k["won_count"], int)


def test_forecast_json_attainment_is_a_fraction(tmp_path):
    workbook = hand_built(tmp_path)
    wb = openpyxl.load_workbook(tmp_path / workbook)
    quotas = wb.create_sheet("Quotas")
    quotas.append(["Owner", "Month", "Quota"])
    quotas.append(["Ana", "2026-02", 30000])
    _owned_by(wb, "Ana")  # deals of nobody's are in no one's quota: the team's attainment is over its owners'
    wb.save(tmp_path / workbook)
    done = sheetcrm("forecast", "--workbook", workbook, "--as-of", "2026-02-01", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    february = data["months"][0]
    assert february["month"] == "2026-02" and Decimal(february["quota"]) == 30000
    won = sum(Decimal(str(1000 + n / 3)) for n in range(1, 13))  # all twelve closed in February
    assert Decimal(february["closed_won"]) == won
    assert february["attainment"] == pytest.approx(float(won / 30000), abs=1e-12)
    for c in data["stage_calibration"]:
        assert c["configured"] is None or 0 <= c["configured"] <= 1


def test_score_json_gives_every_field_of_each_lead_score(tmp_path) -> None:
    """`score --format json`: each lead's score with all of its fields, in field order, highest
    first (lead scores are slotted objects, so they are written out field by field)."""
    from dataclasses import fields

    from sheetcrm.crm.scoring import LeadScore

    assert sheetcrm("demo", "--rows", "60", "--workbook", "crm.xlsx", cwd=tmp_path).returncode == 0
    done = sheetcrm("score", "--workbook", "crm.xlsx", "--as-of", AS_OF, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["method"] in {"learned", "rules"} and out["scores"]
    assert all(list(s) == [f.name for f in fields(LeadScore)] for s in out["scores"])
    assert [s["score"] for s in out["scores"]] == sorted((s["score"] for s in out["scores"]), reverse=True)
    assert all(0 <= s["score"] <= 100 and s["grade"] in "ABCD" and s["lead_id"].startswith("LEAD-")
               for s in out["scores"])


def test_kpis_and_forecast_say_which_deals_with_errors_they_leave_out(tmp_path):
    """A deal whose Amount cannot be read is in no figure until fixed (README): the figures a
    manager reads from `kpis` and `forecast`, text or JSON, say so, never a total short of it
    with nothing said (as `segment` says it of its export)."""
    workbook = hand_built(tmp_path)
    wb = openpyxl.load_workbook(tmp_path / workbook)
    wb["Opportunities"]["E3"] = "abc"  # OPP-0002, a won deal
    wb["Opportunities"]["A3"] = "OPP-0002_x001B_[2J"  # an ESC, as an .xlsx file holds it: printed visible
    wb.save(tmp_path / workbook)
    k = kpis_json(tmp_path, workbook)
    assert (k["won_count"], k["left_out"]) == (11, {"opportunities": 1})
    done = sheetcrm("forecast", "--workbook", workbook, "--as-of", "2026-02-01", "--format", "json", cwd=tmp_path)
    assert json.loads(done.stdout)["left_out"] == {"opportunities": 1}
    line = ("1 opportunity with errors in Opportunities is left out of these figures until fixed: "
            "OPP-0002\\u001b[2J (row 3)")
    for command in (["kpis", "--as-of", AS_OF], ["forecast", "--as-of", "2026-02-01"]):
        done = sheetcrm(*command, "--workbook", workbook, cwd=tmp_path)
        assert done.returncode == 0 and line in done.stdout.splitlines(), done.stdout
        assert "\x1b" not in done.stdout
    # A sound sheet has nothing to say.
    assert kpis_json(tmp_path, hand_built(tmp_path))["left_out"] == {}


def test_kpis_text_says_what_pipeline_coverage_is_over_or_why_it_is_blank(tmp_path):
    """1.2× of a quota and 1.2× of last quarter's revenue read alike, and a blank alike whether
    the quota is won already or there is nothing to divide by: one line says which."""
    workbook = hand_built(tmp_path)  # 12 deals won in February 2026, 5 open with no Close Date

    def said(as_of: str) -> list[str]:
        done = sheetcrm("kpis", "--workbook", workbook, "--as-of", as_of, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return [line for line in done.stdout.splitlines() if line.startswith("Pipeline coverage is")]

    assert said("2026-04-15") == ["Pipeline coverage is over last quarter's won revenue: the Quotas tab has no "
                                  "quota for this quarter"]
    assert said("2026-11-23") == ["Pipeline coverage is blank: the Quotas tab has no quota for this quarter, and "
                                  "no deal was won last quarter"]
    wb = openpyxl.load_workbook(tmp_path / workbook)
    wb.create_sheet("Quotas").append(["Owner", "Month", "Quota"])
    # Every month of the quarter has its quota (9,000), and its 12 won deals make about 12,000.
    for month, quota in (("2026-01", 2000), ("2026-02", 5000), ("2026-03", 2000)):
        wb["Quotas"].append(["Ana", month, quota])
    _owned_by(wb, "Ana")
    wb.save(tmp_path / workbook)
    assert said("2026-02-15") == ["Pipeline coverage is blank: this quarter's quota is won already"]


def _documented_keys(readme: str, command: str) -> set[str]:
    """The top-level keys the README's CLI reference gives for `sheetcrm COMMAND`'s JSON."""
    import re

    row = next(line for line in readme.splitlines() if line.startswith(f"| `sheetcrm {command}"))
    inner = re.search(r"JSON: `\{(.*?)\}`", row).group(1)
    while True:  # the nested objects and lists away: their keys are not the document's
        flat = re.sub(r"\{[^{}]*\}|\[[^\[\]]*\]", "", inner)
        if flat == inner:
            return set(re.findall(r'"(\w+)"', flat))
        inner = flat


def test_the_readme_names_every_top_level_key_of_validate_sync_and_import_json(tmp_path):
    """A program reads the README's list: validate's "partial", "errors", "warnings", sync's
    "planned", "issues"… and import's "warnings" were given but not listed."""
    from pathlib import Path

    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    book = str(tmp_path / "crm.xlsx")
    xlsx(tmp_path / "crm.xlsx", {"Leads": [["ID", "Last Name", "Email"], [None, "Lee", "lee@example.com"]]})
    (tmp_path / "new.csv").write_text("Last Name,Email\nPérez,perez@example.com\n", encoding="utf-8")
    runner = CliRunner()
    for command, args in (("validate", []), ("sync", ["--dry-run"]),
                          ("import", [str(tmp_path / "new.csv"), "--tab", "leads", "--dry-run"])):
        done = runner.invoke(main, [command, *args, "--workbook", book, "--format", "json"])
        assert done.exit_code == 0, done.output
        assert set(json.loads(done.stdout)) == _documented_keys(readme, command), command


def test_a_figure_column_not_found_is_said_wherever_the_figures_are_shown(tmp_path):
    """"Importte" for Amount: kpis and forecast printed 0.00 won revenue and pipeline with exit 0
    and said nothing; only validate warned header_lookalike. Every place the figures show says
    the column was not found and which header looks like it: text, JSON, sync, the Dashboard."""
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    def book(amount: str, stage: str = "Stage") -> str:
        xlsx(tmp_path / "crm.xlsx", {"Opportunities": [
            ["Name", "Account", stage, amount, "Close Date"],
            ["Renewal", "Acme", "Closed Won", 1000, "2026-11-02"], ["Upsell", "Acme", "Proposal", 500, "2026-12-02"]]})
        return str(tmp_path / "crm.xlsx")

    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(main, [*args, "--as-of", AS_OF])
        assert done.exit_code == 0, done.output
        return done.stdout

    line = ('No column "Amount" was found in Opportunities ("Ammount" looks like it, but is read as a column of your '
            'own): every figure made from Amount (pipeline, forecast, revenue) counts nothing from it, and those '
            'totals are not true.')
    typo = book("Ammount")
    said = [{"tab": "opportunities", "column": "amount", "looks_like": "Ammount", "required": False}]
    assert json.loads(run("kpis", "--workbook", typo, "--format", "json"))["columns_not_found"] == said
    assert json.loads(run("forecast", "--workbook", typo, "--format", "json"))["columns_not_found"] == said
    for command in ("kpis", "forecast", "sync"):
        assert line in run(command, "--workbook", typo).splitlines(), command
    dashboard = [list(r) for r in openpyxl.load_workbook(typo)["Dashboard"].iter_rows(values_only=True)]
    assert ["Column not found", "Amount", line] in dashboard
    # The Forecast tab's zeros too, at the Validation tab (its rows are the chart's).
    validation = openpyxl.load_workbook(typo)["Validation"].iter_rows(values_only=True)
    assert [(r[5], r[6], r[7]) for r in validation if r[1] == "Forecast"] == [("Amount", "column_not_found", line)]
    # Stage, required: no deal is read at all.
    k = json.loads(run("kpis", "--workbook", book("Amount", stage="Stagee"), "--format", "json"))
    assert k["columns_not_found"] == [{"tab": "opportunities", "column": "stage", "looks_like": "Stagee",
                                       "required": True}]
    # A sound sheet has nothing to say.
    assert json.loads(run("kpis", "--workbook", book("Amount"), "--format", "json"))["columns_not_found"] == []


def test_a_required_column_not_found_is_said_with_the_figures(tmp_path):
    """No Account column (only "Notes"; "Client" reads as the Account now): no deal is read, and
    kpis and forecast printed 0.00 won revenue and pipeline with exit 0 and said nothing (only
    validate's missing_column error). A required column the figures never read is as fatal to
    them as Stage: said the same way."""

    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    book = str(xlsx(tmp_path / "crm.xlsx", {"Opportunities": [
        ["Name", "Notes", "Stage", "Amount", "Close Date"],
        ["Renewal", "Acme", "Closed Won", 1000, "2026-11-02"], ["Upsell", "Acme", "Proposal", 500, "2026-12-02"]]}))
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(main, [*args, "--workbook", book, "--as-of", AS_OF])
        assert done.exit_code == 0, done.output
        return done.stdout

    said = [{"tab": "opportunities", "column": "account", "looks_like": None, "required": True}]
    assert json.loads(run("kpis", "--format", "json"))["columns_not_found"] == said
    assert json.loads(run("forecast", "--format", "json"))["columns_not_found"] == said
    line = ('No column "Account" was found in Opportunities, so no row of Opportunities is read: every figure '
            '(pipeline, forecast, revenue) counts none of its deals, and those totals are not true.')
    for command in ("kpis", "forecast", "sync"):
        assert line in run(command).splitlines(), command
    dashboard = [list(r) for r in openpyxl.load_workbook(book)["Dashboard"].iter_rows(values_only=True)]
    assert ["Column not found", "Account", line] in dashboard


def test_a_tab_misnamed_is_said_with_the_figures(tmp_path):
    """Opportunities renamed "Opportunity": kpis printed $0.00 won revenue and pipeline with exit 0
    and nothing said (validate said only 'There is no "Opportunities" tab'). A tab whose name
    looks like a missing one is named wherever the figures show, as a column not found is; a
    tab with no such lookalike (Tasks, absent) is no news there."""
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    book = str(xlsx(tmp_path / "crm.xlsx", {
        "Opportunity": [["Name", "Account", "Stage", "Amount", "Close Date"],
                        ["Renewal", "Acme", "Closed Won", 1000, "2026-11-02"]],
        "Lead": [["Last Name", "Company", "Status"], ["Lee", "Acme", "New"]]}))
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(main, [*args, "--workbook", book, *(["--as-of", AS_OF] if args[0] != "validate" else [])])
        assert done.exit_code == 0, done.output
        return done.stdout

    said = [{"tab": "leads", "column": None, "looks_like": "Lead", "required": True},
            {"tab": "opportunities", "column": None, "looks_like": "Opportunity", "required": True}]
    assert json.loads(run("kpis", "--format", "json"))["columns_not_found"] == said
    line = ('There is no "Opportunities" tab ("Opportunity" looks like it, but is not read: a tab is found by its '
            'name), so every figure made from its rows (pipeline, forecast, revenue) counts none of them, and those '
            'figures are not true.')
    assert [x for x in run("forecast").splitlines() if x.startswith("There is no")] == [line]
    issues = json.loads(run("validate", "--format", "json"))["issues"]
    assert [(i["tab"], i["value"], i["hint"]) for i in issues if i["code"] == "missing_tab" and i["value"]] == [
        ("Leads", "Lead", 'If "Lead" is it, rename it "Leads"; else add a tab named "Leads" (`sheetcrm init` does '
                          'not, beside one that looks like it).'),
        ("Opportunities", "Opportunity", 'If "Opportunity" is it, rename it "Opportunities"; else add a tab named '
                                         '"Opportunities" (`sheetcrm init` does not, beside one that looks like it).')]


def test_no_opportunities_tab_at_all_is_said_with_the_figures(tmp_path):
    """No Opportunities tab and none like it: kpis printed Won revenue $0.00 and Open pipeline
    $0.00, forecast Attainment 0.0% against a quota, and the Dashboard the same zeros, all as if
    true, with only `missing_tab` on the Validation tab. Said once wherever the deal figures show,
    as a required column not found is, in English and in Spanish."""
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    book = str(xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Quotas": [["Owner", "Month", "Quota"], ["Marta", "2026-11", 10000]]}))
    runner = CliRunner()

    def run(*args: str, config: list[str] = []) -> str:
        done = runner.invoke(main, [*args, "--workbook", book, "--as-of", AS_OF, *config])
        assert done.exit_code == 0, done.output
        return done.stdout

    said = [{"tab": "opportunities", "column": None, "looks_like": None, "required": True}]
    assert json.loads(run("kpis", "--format", "json"))["columns_not_found"] == said
    assert json.loads(run("forecast", "--format", "json"))["columns_not_found"] == said
    line = ('There is no "Opportunities" tab, so every figure made from its rows (pipeline, forecast, revenue) '
            'counts none of them, and those figures are not true.')
    for command in ("kpis", "forecast", "sync"):
        assert [x for x in run(command).splitlines() if x.startswith("There is no")] == [line], command
    wb = openpyxl.load_workbook(book)
    assert ["Tab not found", "Opportunities", line] in [list(r) for r in wb["Dashboard"].iter_rows(values_only=True)]
    validation = list(wb["Validation"].iter_rows(values_only=True))
    assert [(r[5], r[6]) for r in validation if r[1] == "Forecast"] == [("Opportunities", "column_not_found")]
    (tmp_path / "es.toml").write_text('locale = "es"\n')
    es = ('No hay ninguna pestaña "Oportunidades", así que las cifras que salen de sus filas (embudo, previsión, '
          'ingresos) no cuentan ninguna, y esas cifras no son las reales.')
    assert es in run("kpis", config=["--config", str(tmp_path / "es.toml")]).splitlines()


def test_deal_money_is_blank_not_zero_when_no_amount_is_read(tmp_path):
    """No Opportunities tab: kpis said Won revenue $0.00, Open pipeline $0.00 (JSON "0"), the
    forecast $0.00 every month and 0.0% attainment against a quota, the Dashboard and the
    Accounts Overview 0, and pipeline coverage 0.0x: nothing known, shown as nothing won. Each is
    blank (null) beside the line saying why, as a missing rate leaves them; the same when the
    Opportunities tab has no Amount column (its deals are counted, their money is not known)."""
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    runner = CliRunner()
    quotas = [["Owner", "Month", "Quota"], ["Marta", "2026-11", 10000]]
    books = {"no_tab": {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]], "Quotas": quotas},
             "no_amount": {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]], "Quotas": quotas,
                           "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Close Date"],
                                             ["OPP-0001", "Renewal", "ACC-0001", "Marta", "Closed Won", "2026-11-02"],
                                             ["OPP-0002", "Upsell", "ACC-0001", "Marta", "Proposal", "2026-12-02"]]}}
    (tmp_path / "es.toml").write_text('locale = "es"\n')
    for name, tabs in books.items():
        book = str(xlsx(tmp_path / f"{name}.xlsx", tabs))

        def run(*args: str, config: list[str] = []) -> str:
            done = runner.invoke(main, [*args, "--workbook", book, "--as-of", AS_OF, *config])
            assert done.exit_code == 0, done.output
            return done.stdout

        k = json.loads(run("kpis", "--format", "json"))
        assert [k[f] for f in ("won_revenue", "open_pipeline", "weighted_pipeline", "pipeline_coverage")] == [
            None] * 4, name
        assert k["pipeline_coverage_basis"] == "amounts_unread", name
        assert all(o["won_revenue"] is None and o["open_pipeline"] is None for o in k["by_owner"].values()), name
        text = run("kpis")
        assert "Pipeline coverage is blank: no deal's amount is read (below)" in text.splitlines(), name
        assert "$0.00" not in text, name
        assert ("La cobertura del embudo queda en blanco: no se lee el importe de ninguna oportunidad (abajo)"
                in run("kpis", config=["--config", str(tmp_path / "es.toml")]).splitlines()), name
        f = json.loads(run("forecast", "--format", "json"))
        for month in [*f["months"], *(m for months in f["by_owner"].values() for m in months)]:
            assert [month[x] for x in ("pipeline", "weighted", "commit", "best_case", "closed_won",
                                       "attainment")] == [None] * 6, (name, month)
        assert "$0.00" not in run("forecast"), name
        run("sync")
        wb = openpyxl.load_workbook(book)
        dashboard = {r[0]: r[1] for r in wb["Dashboard"].iter_rows(values_only=True)}
        assert [dashboard[x] for x in ("Won revenue", "Open pipeline", "Weighted pipeline", "Pipeline coverage")] == [
            None] * 4, name
        overview = list(wb["Accounts Overview"].iter_rows(values_only=True))
        assert [r[5:7] for r in overview[1:]] == [(None, None)], name


def test_a_tab_renamed_past_looking_like_it_is_known_by_its_headers(tmp_path):
    """Activities renamed "Activity Log", too far from "Activities" to look like it: kpis showed
    no activity per owner and validate said only 'There is no "Activities" tab'. A tab whose
    header row holds a missing tab's columns is named as very likely it, with the figures and in
    the missing_tab warning, never read as it; the hint offers the config's mapping, which reads
    it. A tab of the team's own with a Name and an Owner is no Accounts tab."""
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    book = str(xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Activity Log": [["ID", "Date", "Type", "Subject", "Related", "Owner"],
                         ["", "2026-11-20", "Call", "Intro", "ACC-0001", "Ana"]],
        "Team": [["Name", "Owner", "Notes"], ["Ana", "Bo", "x"]]}))
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(main, [*args, "--workbook", book, *(["--as-of", AS_OF] if args[0] != "validate" else [])])
        assert done.exit_code == 0, done.output
        return done.stdout

    # The workbook has no Opportunities tab either: its deal figures are short of it, said too.
    no_deals = {"tab": "opportunities", "column": None, "looks_like": None, "required": True}
    assert json.loads(run("kpis", "--format", "json"))["columns_not_found"] == [
        no_deals, {"tab": "activities", "column": None, "looks_like": "Activity Log", "required": True}]
    issues = json.loads(run("validate", "--format", "json"))["issues"]
    assert [(i["tab"], i["value"], i["message"], i["hint"]) for i in issues if i["code"] == "missing_tab" and i["value"]] == [
        ("Activities", "Activity Log",
         'There is no "Activities" tab. "Activity Log" is very likely it, its header row having the columns of '
         'Activities ("Date", "Type", "Subject", "Related", "Owner"), but it is not read as it: a tab is found by its '
         'name.',
         'If "Activity Log" is it, rename it "Activities", or map it in sheetcrm.toml: [tabs.activities] title = '
         '"Activity Log".')]
    (tmp_path / "sheetcrm.toml").write_text('[tabs.activities]\ntitle = "Activity Log"\n')
    mapped = runner.invoke(main, ["kpis", "--format", "json", "--workbook", book, "--as-of", AS_OF,
                                  "--config", str(tmp_path / "sheetcrm.toml")])
    assert json.loads(mapped.stdout)["columns_not_found"] == [no_deals]


def test_a_column_not_found_in_leads_accounts_activities_or_tasks_is_said_with_their_figures(tmp_path):
    """Activities' Date typed "Date.", Tasks' Due deleted, Leads' Status deleted: no activity nor
    task was read and no lead converted, and kpis printed no activity, no overdue task and 0 %
    conversion with nothing said, where a missing Opportunities column is said
    (`columns_not_found`). Said the same way at every place those figures show: kpis' text and
    JSON, the Dashboard, the Accounts Overview (at the Validation tab); not the forecast's, which
    counts no lead, activity nor task."""
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    book = str(xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name", "Status"], ["ACC-0001", "Acme", "Customer"]],
        "Opportunities": [["Name", "Account", "Stage", "Amount", "Close Date"],
                          ["Renewal", "ACC-0001", "Proposal", 500, "2026-12-02"]],
        "Leads": [["ID", "Last Name", "Company", "Source"], ["LEA-0001", "Lee", "Acme", "Web"]],
        "Activities": [["ID", "Date.", "Subject", "Related", "Owner"], ["ACT-0001", "2026-11-20", "Call", "ACC-0001", "Ana"]],
        "Tasks": [["ID", "Subject", "Related", "Owner"], ["TSK-0001", "Call back", "ACC-0001", "Ana"]]}))
    runner = CliRunner()

    def run(*args: str) -> str:
        done = runner.invoke(main, [*args, "--workbook", book, "--as-of", AS_OF])
        assert done.exit_code == 0, done.output
        return done.stdout

    said = [{"tab": "leads", "column": "status", "looks_like": None, "required": False},
            {"tab": "activities", "column": "date", "looks_like": "Date.", "required": True},
            {"tab": "tasks", "column": "due", "looks_like": None, "required": True}]
    assert json.loads(run("kpis", "--format", "json"))["columns_not_found"] == said
    assert json.loads(run("forecast", "--format", "json"))["columns_not_found"] == []
    activities = ('No column "Date" was found in Activities ("Date." looks like it, but is read as a column of your '
                  'own), so no row of Activities is read: every figure made from its rows (activities per owner, '
                  'last activity and health on the Accounts Overview) counts none of them, and those figures are '
                  'not true.')
    tasks = ('No column "Due" was found in Tasks, so no row of Tasks is read: every figure made from its rows '
             '(overdue tasks per owner, next task and health on the Accounts Overview) counts none of them, and '
             'those figures are not true.')
    leads = ('No column "Status" was found in Leads: every figure made from Status (lead conversion rates, won '
             'revenue by campaign) counts nothing from it, and those figures are not true.')
    assert [line for line in run("kpis").splitlines() if line.startswith("No column")] == [leads, activities, tasks]
    run("sync")
    wb = openpyxl.load_workbook(book)
    dashboard = [list(r) for r in wb["Dashboard"].iter_rows(values_only=True)]
    assert [r for r in dashboard if r[0] == "Column not found"] == [
        ["Column not found", "Status", leads], ["Column not found", "Date", activities],
        ["Column not found", "Due", tasks]]
    validation = [(r[1], r[5], r[6], r[7]) for r in wb["Validation"].iter_rows(values_only=True)
                  if r[6] == "column_not_found"]
    assert validation == [("Accounts Overview", "Date", "column_not_found", activities),
                          ("Accounts Overview", "Due", "column_not_found", tasks)]  # none at the Forecast


def test_an_issue_value_holding_a_date_and_time_is_iso_8601(tmp_path):
    """A cell holding a date and time where text belongs (an Email typed as a date) is reported
    with its value; str() gave "2026-01-01 10:30:00", which no ISO 8601 parser a program uses takes."""
    import datetime as dt

    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    wb.active.append(["ID", "Last Name", "Email"])
    wb.active.append(["LEAD-0001", "Ruiz", dt.datetime(2026, 1, 1, 10, 30)])
    wb.save(tmp_path / "crm.xlsx")
    done = sheetcrm("validate", "--workbook", "crm.xlsx", "--format", "json", cwd=tmp_path)
    issue = next(i for i in json.loads(done.stdout)["issues"] if i["tab"] == "Leads" and i["row"] == 2)
    assert issue["value"] == "2026-01-01T10:30:00", issue
    assert dt.datetime.fromisoformat(issue["value"]) == dt.datetime(2026, 1, 1, 10, 30)


def test_the_validation_tab_keeps_a_date_and_time_value_as_people_read_it(tmp_path):
    """The JSON report's ISO 8601 value is for programs; the Validation tab's Value column kept
    str()'s "2026-01-01 10:30:00", as the row's own message quotes the cell, and the commit that
    changed the JSON said the tab was unchanged. It showed "2026-01-01T10:30:00" beside a message
    saying "2026-01-01 10:30:00"."""
    import datetime as dt

    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    wb.active.append(["ID", "Last Name", "Email"])
    wb.active.append(["LEAD-0001", "Ruiz", dt.datetime(2026, 1, 1, 10, 30)])
    wb.save(tmp_path / "crm.xlsx")
    cli("sync", "--workbook", tmp_path / "crm.xlsx", cwd=tmp_path)
    rows = openpyxl.load_workbook(tmp_path / "crm.xlsx")["Validation"].iter_rows(values_only=True)
    row = next(r for r in rows if r[1] == "Leads" and r[2] == 2)
    assert row[5] == "2026-01-01 10:30:00" and '"2026-01-01 10:30:00"' in row[7], row


def test_deal_counts_are_blank_not_zero_when_no_deal_is_read(tmp_path):
    """Found by a tester: with no Opportunities tab, kpis said Won deals 0, Lost deals 0, Rotting
    deals 0 (JSON 0), and the Dashboard and the Accounts Overview's Open Deals 0, beside blank
    money: nothing known, shown as no deal. Each count is blank (null) now, as the money is; with
    the tab but no Amount column the deals are read and counted."""
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    runner = CliRunner()
    opps = [["ID", "Name", "Account", "Owner", "Stage", "Close Date"],
            ["OPP-0001", "Renewal", "ACC-0001", "Marta", "Closed Won", "2026-11-02"],
            ["OPP-0002", "Upsell", "ACC-0001", "Marta", "Proposal", "2026-12-02"]]
    for name, tabs, counts in (
            ("no_tab", {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]]}, (None, None, None, None)),
            ("no_amount", {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]], "Opportunities": opps}, (1, 0, 0, 1))):
        book = str(xlsx(tmp_path / f"{name}.xlsx", tabs))

        def run(*args: str) -> str:
            done = runner.invoke(main, [*args, "--workbook", book, "--as-of", AS_OF])
            assert done.exit_code == 0, done.output
            return done.stdout

        k = json.loads(run("kpis", "--format", "json"))
        assert (k["won_count"], k["lost_count"], k["rotting_deals"]) == counts[:3], name
        shown = {line.rsplit(None, 1)[0].strip(): line.rsplit(None, 1)[1] for line in run("kpis").splitlines()
                 if line.startswith(("Won deals", "Lost deals", "Rotting deals"))}
        assert shown == {"Won deals": "—" if counts[0] is None else "1", "Lost deals": "—" if counts[0] is None else "0",
                         "Rotting deals": "—" if counts[0] is None else "0"}, (name, shown)
        run("sync")
        wb = openpyxl.load_workbook(book)
        dashboard = {r[0]: r[1] for r in wb["Dashboard"].iter_rows(values_only=True)}
        assert (dashboard["Won deals"], dashboard["Lost deals"], dashboard["Rotting deals"]) == counts[:3], name
        overview = list(wb["Accounts Overview"].iter_rows(values_only=True))
        assert overview[0][4] == "Open Deals" and [r[4] for r in overview[1:]] == [counts[3]], name
