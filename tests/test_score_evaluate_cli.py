"""`sheetcrm score --evaluate` as a person runs it (issue 16): the chosen model, each candidate's
cross-validated ROC AUC and the calibration table, in text and in JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def run(*args: str, cwd, lang: str = "en") -> subprocess.CompletedProcess:
    env = {**os.environ, "LANG": lang, "LC_ALL": lang}
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


def run_in_process(*args: str, cwd, monkeypatch) -> dict:
    """The JSON `sheetcrm ARGS` prints, run in this process as `run` runs it (same language): for a
    test's second look at a workbook its first run already ran as a person does (a new process
    imports scikit-learn and LightGBM again: most of a small evaluation's CPU)."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    monkeypatch.chdir(cwd)
    done = CliRunner().invoke(main, list(args), env={"LANG": "en", "LC_ALL": "en"})
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    done = run("demo", "--rows", "800", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def evaluated_json(demo_dir) -> subprocess.CompletedProcess:
    """`score --evaluate --format json` on the demo, run once for the tests that read it (an
    evaluation of the 800 rows fits and cross-validates both candidates: seconds of CPU)."""
    return run("score", "--workbook", "demo-crm.xlsx", "--evaluate", "--format", "json", cwd=demo_dir)


def test_evaluate_in_json_names_the_model_and_every_candidate(evaluated_json):
    out = evaluated_json
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["method"] == "learned" and data["model"] in ("logistic", "boosted")
    assert set(data["candidates"]) == {"logistic", "boosted"}
    assert all(0.5 < auc <= 1 for auc in data["candidates"].values())
    assert data["calibration"] and sum(b["n"] for b in data["calibration"]) == data["n_test"]


def test_evaluate_in_text_shows_the_same_figures(demo_dir, evaluated_json):
    data = json.loads(evaluated_json.stdout)
    out = run("score", "--workbook", "demo-crm.xlsx", "--evaluate", cwd=demo_dir)
    assert out.returncode == 0, out.stderr
    names = {"logistic": "logistic regression", "boosted": "gradient-boosted trees"}
    assert f"Model: {names[data['model']]}, chosen by cross-validation" in out.stdout
    for candidate, auc in data["candidates"].items():
        assert any(names[candidate] in line and f"{auc:.3f}" in line for line in out.stdout.splitlines())
    assert f"ROC AUC {data['auc']:.3f}" in out.stdout


def test_evaluate_names_a_column_left_out_as_the_outcome_and_why_the_rules_score(tmp_path, monkeypatch):
    # A "Converted On" typed on converted leads only, and outcomes dealt out at random: the column
    # is named, and the rules score because the model is no better than chance.
    import datetime as dt
    import random

    from books import xlsx

    rng = random.Random(3)
    rows = [["ID", "Last Name", "Source", "Status", "Converted On"]]
    for i in range(300):
        status = rng.choice(["Converted", "Unqualified"]) if i < 280 else "New"
        rows.append([f"LEAD-{i:04d}", f"L{i}", rng.choice(["Web", "Ads", "Event"]), status,
                     dt.date(2025, 6, 1 + i % 28) if status == "Converted" else None])
    xlsx(tmp_path / "crm.xlsx", {"Leads": rows})
    out = run("score", "--workbook", "crm.xlsx", "--evaluate", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert 'Ignored "Converted On": filled mostly on closed leads, so it describes the outcome' in out.stdout
    assert "Method: rules" in out.stdout and "predicts no better than chance" in out.stdout, out.stdout
    # The candidates it measured, still shown, and the best of them never as the model that scored.
    assert "Model: " not in out.stdout, out.stdout
    assert "Best candidate, not used: " in out.stdout and "Cross-validated ROC AUC" in out.stdout, out.stdout
    data = run_in_process("score", "--workbook", "crm.xlsx", "--evaluate", "--format", "json", cwd=tmp_path,
                          monkeypatch=monkeypatch)
    assert data["method"] == "rules" and "model" not in data, data
    assert data["best_candidate"] in data["candidates"] and set(data["candidates"]) == {"logistic", "boosted"}


def test_evaluate_reads_the_rules_text_cells_in_the_configs_locale(tmp_path):
    # `score --evaluate` read a Spanish sheet's "1.500" as neither 1.5 nor 1500 though the config
    # sets locale "es": the rule gave no points there, and the AUC measured rules the sync does not run.
    from books import xlsx

    rows = [["ID", "Last Name", "Status", "Budget"]]
    for i in range(40):
        converted = i % 2 == 0
        rows.append([f"LEAD-{i:04d}", f"L{i}", "Converted" if converted else "Unqualified",
                     "1.500" if converted else "900"])
    xlsx(tmp_path / "crm.xlsx", {"Leads": rows})
    (tmp_path / "sheetcrm.toml").write_text(
        'workbook = "crm.xlsx"\nlocale = "es"\n[tabs.leads.custom_fields]\nBudget = { type = "text" }\n'
        '[scoring]\nrules = [{ column = "Budget", op = "equals", value = 1500, points = 40 }]\n', encoding="utf-8")
    out = run("score", "--evaluate", "--format", "json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["method"] == "rules" and data["auc"] == 1.0, data


def test_evaluate_names_no_best_candidate_when_none_was_cross_validated(tmp_path, monkeypatch):
    # With one converted lead left to train on nothing is cross-validated: evaluate still said
    # "Best candidate, not used: logistic regression (by cross-validation ...)" over an empty table.
    from books import xlsx

    rows = [["ID", "Last Name", "Source", "Status"]]
    for i in range(30):
        rows.append([f"LEAD-{i:04d}", f"L{i}", ["Web", "Ads"][i % 2], "Converted" if i < 2 else "Unqualified"])
    xlsx(tmp_path / "crm.xlsx", {"Leads": rows})
    (tmp_path / "sheetcrm.toml").write_text('workbook = "crm.xlsx"\n[scoring.learned]\nmin_converted = 1\n'
                                            'min_unqualified = 1\n', encoding="utf-8")
    out = run("score", "--evaluate", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "cannot be cross-validated" in out.stdout, out.stdout
    assert "Best candidate" not in out.stdout and "Cross-validated ROC AUC" not in out.stdout, out.stdout
    data = run_in_process("score", "--evaluate", "--format", "json", cwd=tmp_path, monkeypatch=monkeypatch)
    assert data["method"] == "rules" and data["candidates"] == {} and "best_candidate" not in data, data


def test_evaluate_names_a_column_whose_values_are_the_outcome_in_spanish(tmp_path, monkeypatch):
    # A Status copied as Ganado/Perdido/Abierto on every lead: its fill told nothing, so it was
    # learned, and `score --evaluate` showed a held-out ROC AUC of 1 with no word of it.
    import random

    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    rng = random.Random(4)
    rows = [["ID", "Apellido", "Origen", "Estado", "Resultado"]]
    for i in range(240):
        source = rng.choice(["Web", "Referido", "Anuncios"])
        won = rng.random() < {"Web": 0.4, "Referido": 0.8, "Anuncios": 0.1}[source]
        status = "Nuevo" if i >= 200 else "Convertido" if won else "No cualificado"
        rows.append([f"LEAD-{i:04d}", f"L{i}", source, status,
                     "Abierto" if i >= 200 else "Ganado" if won else "Perdido"])
    xlsx(tmp_path / "crm.xlsx", {"Leads": rows})
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n')
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["score", "--workbook", "crm.xlsx", "--evaluate"])
    assert done.exit_code == 0, done.output
    assert ('Se ignora "Resultado": sus valores casi deciden si el lead se convirtió, así que describe el resultado'
            in done.stdout), done.stdout
    assert "Se ignora \"Resultado\": se rellena" not in done.stdout


def test_evaluate_holds_out_the_same_leads_however_an_id_less_tab_is_sorted(tmp_path, monkeypatch):
    # A workbook never synced has no IDs: the split sorted the decided leads by ID ("" for all)
    # and so followed the rows' order, and sorting the tab changed the AUC the team was shown.
    import random

    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    rng = random.Random(5)
    rows = []
    for i in range(24):
        source = rng.choice(["Web", "Referral", "Ads"])
        title = rng.choice(["CEO", "VP Sales", "Intern", None])
        rows.append([f"L{i}", f"C{i}", f"p{i}@c{i}.com", source, title, "Converted" if i % 3 == 0 else "Unqualified"])
    header = ["Last Name", "Company", "Email", "Source", "Title", "Status"]
    monkeypatch.chdir(tmp_path)
    seen = []
    for order in (rows, sorted(rows, key=lambda r: (r[3], r[0]), reverse=True), rng.sample(rows, len(rows))):
        xlsx(tmp_path / "crm.xlsx", {"Leads": [header, *order]})
        done = CliRunner().invoke(main, ["score", "--workbook", "crm.xlsx", "--evaluate", "--format", "json",
                                         "--as-of", "2026-12-01"])
        assert done.exit_code == 0, done.output
        seen.append(json.loads(done.stdout))
    assert seen[0]["n_test"] == 7 and seen[0]["calibration"], seen[0]
    assert seen[1] == seen[0] and seen[2] == seen[0], seen


def test_score_and_evaluate_speak_the_workbooks_language_as_a_sync_does(tmp_path, monkeypatch):
    # A Spanish workbook with no locale in the config: `score` printed a Spanish note under English
    # headers ("Score", "Why"), and `score --evaluate` all of it in English, though `validate` and
    # `sync` speak Spanish to it.
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    rows = [["ID", "Apellidos", "Estado"], *([f"LEAD-{i:04d}", f"L{i}", ["Convertido", "No cualificado"][i % 2]]
                                              for i in range(6))]
    xlsx(tmp_path / "crm.xlsx", {"Leads": rows, "Oportunidades": [["ID", "Nombre", "Cuenta", "Etapa"]]})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    scored = CliRunner().invoke(main, ["score", "--workbook", "crm.xlsx", "--as-of", "2026-01-01"])
    assert scored.exit_code == 0, scored.output
    assert "Puntuación  Grado  Conversión  Por qué" in scored.stdout, scored.stdout
    held = CliRunner().invoke(main, ["score", "--workbook", "crm.xlsx", "--evaluate", "--as-of", "2026-01-01"])
    assert held.exit_code == 0, held.output
    assert "leads apartados" in held.stdout and "Método: reglas" in held.stdout, held.stdout
    assert "el modelo aprendido necesita" in held.stdout, held.stdout


def test_evaluate_compares_a_status_rule_by_the_configs_status_words(tmp_path, monkeypatch):
    # `Status = Won` with Won a [lead_statuses] word of Converted gave no held-out lead points.
    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    rows = [["ID", "Last Name", "Status"], *([f"LEAD-{i:04d}", f"L{i}", ["Won", "Lost"][i % 2]] for i in range(20))]
    xlsx(tmp_path / "crm.xlsx", {"Leads": rows})
    (tmp_path / "sheetcrm.toml").write_text(
        '[lead_statuses]\nConverted = ["Won"]\nUnqualified = ["Lost"]\n'
        '[scoring]\nrules = [{ column = "Status", op = "equals", value = "Won", points = 40 }]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, ["score", "--workbook", "crm.xlsx", "--evaluate", "--format", "json"])
    assert done.exit_code == 0, done.output
    data = json.loads(done.stdout)
    assert data["method"] == "rules" and data["auc"] == 1.0, data
