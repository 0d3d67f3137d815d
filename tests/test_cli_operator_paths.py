"""What an operator meets around the CRM itself, as a real process on real files: a config
whose stage probabilities are fractions, an init that fails half way, a workbook path that is
not an .xlsx name, an OS refusal said in the command's language, `warehouse status` with
nothing set up, and config keys whose list entries are counted as people count them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from books import crm_tabs, xlsx

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path):
    clean = {k: v for k, v in os.environ.items() if k not in ("SHEETCRM_WAREHOUSE_URL", "LANGUAGE", "LC_ALL")}
    return {**clean, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache"), "LANG": "C.UTF-8"}


def sheetcrm(*args: str, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def one_line(out: subprocess.CompletedProcess) -> str:
    """The single stderr line of a command that failed as a person's mistake (exit 2)."""
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    return out.stderr


def stages(*points: float) -> str:
    kinds = ["open"] * (len(points) - 2) + ["won", "lost"]
    return "".join(f'[[stages]]\nname = "S{n}"\nprobability = {p}\nkind = "{kind}"\n\n'
                   for n, (p, kind) in enumerate(zip(points, kinds), 1))


# -- 2. stage probabilities are points -----------------------------------------------------

def test_stage_probabilities_written_as_fractions_are_refused_naming_the_stage(tmp_path, env):
    xlsx(tmp_path / "crm.xlsx", crm_tabs())
    (tmp_path / "sheetcrm.toml").write_text(stages(0.1, 0.2, 0.5, 0.75, 1.0, 0.0))
    line = one_line(sheetcrm("kpis", env=env, cwd=tmp_path))
    assert line == ("sheetcrm: sheetcrm.toml: stages.1.probability: probabilities are points: 0.1 is 0.1 %; "
                    "write 10 for 10 %\n")
    # Points load, a small one too: 0.5 beside 10 and 100 is half a point, plain from the others.
    (tmp_path / "sheetcrm.toml").write_text(stages(0.5, 10, 100, 0))
    out = sheetcrm("kpis", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr


# -- 3. a failed init writes nothing -------------------------------------------------------

@pytest.mark.parametrize("workbook, says", [
    ("a-file/new.xlsx", "a part of the path is not a folder"),   # a file where the folder should be
    ("no-folder/new.xlsx", "does not exist"),
])
def test_init_that_cannot_write_the_workbook_writes_no_config_either(tmp_path, env, workbook, says):
    (tmp_path / "a-file").write_text("")
    line = one_line(sheetcrm("init", "--workbook", workbook, env=env, cwd=tmp_path))
    assert says in line and "wrote" not in line
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["a-file"]  # no config, no temp file
    # Then one that can: the config and the workbook, and no temp file left beside them.
    out = sheetcrm("init", "--workbook", "crm.xlsx", env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("wrote sheetcrm.toml")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["a-file", "crm.xlsx", "sheetcrm.toml"]
    assert 'workbook = "crm.xlsx"' in (tmp_path / "sheetcrm.toml").read_text(encoding="utf-8")
    assert (tmp_path / "sheetcrm.toml").stat().st_mode & 0o777 != 0o600  # the folder's usual permissions, not a temp's


# -- 5. a workbook is an .xlsx name ---------------------------------------------------------

@pytest.mark.parametrize("args, name", [
    (("demo", "--rows", "20", "--workbook", "out.csv"), "out.csv"),
    (("demo", "--rows", "20", "--workbook", "noext"), "noext"),
    (("init", "--workbook", "x.csv"), "x.csv"),
    (("validate", "--workbook", "leads.csv"), "leads.csv"),
    (("sync", "--workbook", "leads.csv"), "leads.csv"),
])
def test_a_workbook_path_not_ending_in_xlsx_is_refused_and_nothing_written(tmp_path, env, args, name):
    (tmp_path / "leads.csv").write_text("Last Name,Email\nNg,ng@example.com\n")
    line = one_line(sheetcrm(*args, env=env, cwd=tmp_path))
    assert line.startswith(f"sheetcrm: {name}: a workbook's name ends in .xlsx") and ".xlsx" in line
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["leads.csv"]
    assert (tmp_path / "leads.csv").read_text() == "Last Name,Email\nNg,ng@example.com\n"


def test_the_configs_workbook_not_ending_in_xlsx_is_a_config_mistake(tmp_path, env):
    (tmp_path / "sheetcrm.toml").write_text('workbook = "crm.csv"\n')
    line = one_line(sheetcrm("validate", env=env, cwd=tmp_path))
    assert line.startswith("sheetcrm: sheetcrm.toml: workbook: crm.csv: a workbook's name ends in .xlsx")
    assert "crm.xlsx" in line  # the name it could have


# -- 6. OS refusals in the catalogue's words ------------------------------------------------

def _quotable(folder: Path, locale: str) -> None:
    xlsx(folder / "crm.xlsx", crm_tabs())
    (folder / "sheetcrm.toml").write_text(f'locale = "{locale}"\n')
    (folder / "a-file").write_text("")


@pytest.mark.parametrize("locale, says", [
    ("en", "sheetcrm: cannot write the preview in a-file/prev: a part of the path is not a folder\n"),
    ("es", "sheetcrm: no se puede escribir la vista previa en a-file/prev: una parte de la ruta no es una carpeta\n"),
])
def test_a_preview_folder_the_system_refuses_is_said_in_words_not_errno(tmp_path, env, locale, says):
    _quotable(tmp_path, locale)
    line = one_line(sheetcrm("quote", "OPP-0001", "--out", "a-file/prev", env=env, cwd=tmp_path))
    assert line == says


def test_a_lock_folder_the_system_refuses_is_said_in_spanish(tmp_path, env):
    _quotable(tmp_path, "es")
    line = one_line(sheetcrm("sync", env={**env, "XDG_CACHE_HOME": str(tmp_path / "a-file")}, cwd=tmp_path))
    assert line.startswith("sheetcrm: no se puede crear el bloqueo de sheetcrm ")
    assert ": una parte de la ruta no es una carpeta; comprueba que $XDG_CACHE_HOME" in line
    assert "Errno" not in line and "Not a directory" not in line


# -- 7. warehouse status with nothing set up ------------------------------------------------

def test_warehouse_status_without_a_config_names_no_file_and_gives_the_variable(tmp_path, env):
    line = one_line(sheetcrm("warehouse", "status", env=env, cwd=tmp_path))
    assert "$SHEETCRM_WAREHOUSE_URL is not set" in line and "there is no sheetcrm.toml in this folder" in line
    assert "sheetcrm.toml: " not in line  # no file to blame


def test_warehouse_status_with_a_config_without_the_section_names_it_and_the_variable(tmp_path, env):
    (tmp_path / "team.toml").write_text('locale = "en"\n')
    line = one_line(sheetcrm("warehouse", "status", "--config", "team.toml", env=env, cwd=tmp_path))
    assert line.startswith("sheetcrm: team.toml: no [warehouse] section, and $SHEETCRM_WAREHOUSE_URL is not set")


# -- 8. list entries counted from 1 -----------------------------------------------------------

@pytest.mark.parametrize("text, key", [
    (stages(10, 140, 100, 0), "stages.2.probability: must be less than or equal to 100"),
    (stages(10, 20, 100, 0).replace("probability = 20", "probability = nan"),
     "stages.2.probability: must be a finite number"),
    ('[follow_ups.w]\nsteps = [{day = 0, then = "notify"}, {day = 1, then = "dance"}]\n',
     "follow_ups.w.steps.2.then"),
    ('[[workflows]]\nid = "WF-1"\nrecord = "opportunity"\nwhen = "enters Proposal"\nthen = "notify"\n\n'
     '[[workflows]]\nid = "WF-2"\nrecord = "opportunity"\nwhen = "enters Proposal"\nthen = "notify"\n'
     'due_days = -1\n', "workflows.2.due_days"),
])
def test_config_errors_count_list_entries_from_1(tmp_path, env, text, key):
    (tmp_path / "sheetcrm.toml").write_text(text)
    line = one_line(sheetcrm("validate", env=env, cwd=tmp_path))
    assert f"sheetcrm.toml: {key}" in line


@pytest.mark.parametrize("name, says", [
    ("team.xlsm", "does not write a macro-enabled one, which renamed to .xlsx would not open in Excel; save a copy "
                  "as Excel Workbook (.xlsx), such as team.xlsx, and point sheetcrm at it (the macros stay in team.xlsm)"),
    ("team.xls", "does not write a .xls file, which renamed to .xlsx would not open; open it in its app, save a copy"),
])
def test_a_workbook_of_another_spreadsheet_format_is_told_to_save_a_copy_not_to_rename_it(name, says):
    # Found by a tester: `--workbook team.xlsm` was told "name it team.xlsx"; renamed so, the
    # macro-enabled package opens in no Excel (its content type says macros) while sheetcrm
    # went on writing it.
    from sheetcrm.i18n import using
    from sheetcrm.workbook import xlsx_name_problem

    line = xlsx_name_problem(name)
    assert line.startswith(f"{name}: sheetcrm keeps the CRM in an Excel workbook (.xlsx) and ") and says in line
    with using("es"):
        assert "guarda una copia como Libro de Excel (.xlsx), por ejemplo team.xlsx" in xlsx_name_problem(name)


def test_a_folder_given_for_the_workbook_is_said_to_be_a_folder(tmp_path):
    # Found by a tester: `kpis --workbook /tmp` was told "name it /tmp.xlsx".
    from in_process import cli

    done = cli("kpis", "--workbook", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2, done
    assert done.stderr == f"sheetcrm: {tmp_path}: is a folder, not an .xlsx workbook\n", done.stderr


# -- a shell left in a deleted folder ----------------------------------------------------------

@pytest.mark.parametrize("args", [
    ("validate",), ("validate", "--workbook", "crm.xlsx"), ("demo",), ("init", "--workbook", "new.xlsx"),
    ("sync", "--workbook", "{abs}"),
])
@pytest.mark.parametrize("lang, says", [
    ("C.UTF-8", "sheetcrm: the current folder no longer exists (it was deleted or moved): cd into a folder "
                "that exists and run the command again\n"),
    ("es_ES.UTF-8", "sheetcrm: la carpeta actual ya no existe (se borró o se movió): entra con cd en una "
                    "carpeta que exista y vuelve a ejecutar el comando\n"),
])
def test_a_command_run_from_a_deleted_folder_is_one_line_in_the_commands_language(tmp_path, env, args, lang, says):
    # Found by a tester: from a folder deleted under the shell, a relative workbook path crashed
    # with a FileNotFoundError traceback, and with an absolute one ./sheetcrm.toml was silently
    # not looked for. An absolute workbook is refused too: the config beside it cannot be found.
    book = tmp_path / "crm.xlsx"
    xlsx(book, crm_tabs())
    before = book.read_bytes()
    gone = tmp_path / "gone"
    gone.mkdir()
    args = tuple(str(book) if a == "{abs}" else a for a in args)
    # The shell enters the folder, deletes it, and runs sheetcrm from there.
    out = subprocess.run(["sh", "-c", 'rmdir "$PWD" && exec "$@"', "sh", sys.executable, "-m", "sheetcrm", *args],
                         cwd=gone, env={**env, "LANG": lang}, capture_output=True, text=True, timeout=120)
    assert one_line(out) == says
    assert book.read_bytes() == before
