"""Every `sheetcrm ...` command in the README's shell blocks runs as written.

The commands run in README order, in one empty folder, as a reader following the README
would: the first one (`sheetcrm demo`) writes the demo workbook the later ones use, `export`
lines set the environment of the commands after them, and each command must exit 0. The
commands that need what a test cannot have are listed in NEEDS_MORE, each with its reason;
the list is checked against the README both ways, so it cannot go stale.

The first command, `sheetcrm demo`, runs as a person runs it, a process of its own; the ones
after it run through main() in this process, with the environment the README's `export` lines
give them as their whole environment (a process costs a second or more, mostly imports, and
each kind of command runs as a process in the tests of its own). The crontab lines run
entirely as cron runs them, processes and all.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"

GOOGLE = "a real Google spreadsheet shared with a service account (1AbC... stands for its ID)"
NEEDS_MORE = {
    "sheetcrm init --spreadsheet https://docs.google.com/spreadsheets/d/1AbC.../edit": GOOGLE,
    "sheetcrm validate --spreadsheet 1AbC...": GOOGLE,
    "sheetcrm sync --spreadsheet 1AbC...": GOOGLE,
    "sheetcrm demo --spreadsheet 1AbC...": GOOGLE,
    "sheetcrm run --spreadsheet 1AbC... --log-format json": GOOGLE + "; it also runs until stopped",
    "sheetcrm run --fleet fleet.toml": "a fleet file naming the reader's own workbooks; it also runs until stopped "
                                       "(tests/fleet/test_cli_fleet.py runs it)",
    "sheetcrm fleet status --fleet fleet.toml": "the state a running fleet writes (tests/fleet/test_cli_fleet.py)",
    "sheetcrm serve --host 127.0.0.1 --port 8080": "a web server that runs until stopped (tests/test_serve.py runs it)",
    # The emulator's block: a server left running on the fixed port 8085, and the ID it prints
    # pasted by hand; tests/test_cli_google.py runs the same commands against the emulator.
    "sheetcrm emulator --data emulator.json &": "a server in the background on the fixed port 8085",
    "sheetcrm demo --spreadsheet <that ID>": "the ID the emulator printed, pasted by a person",
    "sheetcrm sync --spreadsheet <that ID>": "the ID the emulator printed, pasted by a person",
}


def commands(text: str) -> list[list[str]]:
    """Each command of every sh block, as the shell splits it into words (continuations joined,
    comments dropped); `a && b` is two commands."""
    out = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, flags=re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            current: list[str] = []
            for word in shlex.split(line, comments=True) + ["&&"]:
                if word == "&&":
                    if current:
                        out.append(current)
                    current = []
                else:
                    current.append(word)
    return out


def sheetcrm_commands(text: str) -> list[list[str]]:
    return [c for c in commands(text) if c[0] in ("sheetcrm", "export")]


def key(words: list[str]) -> str:
    return " ".join(words)


def test_the_readme_has_the_commands_this_test_knows():
    found = {key(c) for c in sheetcrm_commands(README.read_text(encoding="utf-8")) if c[0] == "sheetcrm"}
    assert found >= set(NEEDS_MORE), set(NEEDS_MORE) - found  # no stale exception
    assert len(found - set(NEEDS_MORE)) >= 8  # the commands that do run are most of them


def in_this_process(words: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`sheetcrm WORDS` through main() in this process, in `cwd`, with `env` as its whole
    environment (what this process has beyond it is unset while it runs)."""
    from click.testing import CliRunner

    from sheetcrm.cli import main

    here = os.getcwd()
    os.chdir(cwd)
    try:
        done = CliRunner().invoke(main, words, env={**{k: None for k in os.environ if k not in env}, **env})
    finally:
        os.chdir(here)
    assert done.exception is None or isinstance(done.exception, SystemExit), (
        "".join(traceback.format_exception(*done.exc_info)))
    return subprocess.CompletedProcess(words, done.exit_code, done.stdout, done.stderr)


def test_every_readme_command_runs_as_written(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEETCRM_", "SHEETS_EMULATOR"))}
    env["PYTHONPATH"] = str(README.parent) + os.pathsep + env.get("PYTHONPATH", "")
    env["HOME"] = str(tmp_path / "home")  # `~/keys/...` and caches stay inside the test
    ran = []
    for words in sheetcrm_commands(README.read_text(encoding="utf-8")):
        if words[0] == "export":  # as a shell would: for the commands after it
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                env[name] = os.path.expanduser(value) if value.startswith("~") else value
            continue
        if key(words) in NEEDS_MORE:
            continue
        if ran:
            done = in_this_process(words[1:], tmp_path, env)
        else:
            done = subprocess.run([sys.executable, "-m", "sheetcrm", *words[1:]], cwd=tmp_path, env=env,
                                  capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (key(words), done.stdout[-2000:], done.stderr[-2000:])
        ran.append(key(words))
    assert ran[0] == "sheetcrm demo"  # the README's own first command made the demo workbook
    # What the quote examples say they write, there.
    previews = sorted(p.name for p in (tmp_path / "preview").iterdir())
    assert len(previews) == 2 and all(p.startswith("OPP-0006-") for p in previews), previews


DEPLOYMENT = README.parent / "docs" / "deployment.md"


def crontab_lines() -> list[tuple[str, str]]:
    """Each crontab line of the README and docs/deployment.md, with the file it is in."""
    out = []
    for doc in (README, DEPLOYMENT):
        for block in re.findall(r"^```(?:sh|cron)\n(.*?)^```", doc.read_text(encoding="utf-8"), flags=re.M | re.S):
            out += [(doc.name, line) for line in block.splitlines() if re.match(r"^[0-9*/,-]+( [0-9*/,-]+){4} ", line)]
    return out


def test_every_crontab_line_runs_as_cron_runs_it(tmp_path):
    """cron runs a line with /bin/sh, PATH=/usr/bin:/bin and a bare environment, and mails
    whatever it prints: a line must find sheetcrm without the reader's PATH, and say nothing
    when the run went well (sheetcrm run logs every job on stderr). The line's own paths are
    moved into tmp_path; /usr/local/bin/sheetcrm stands for the installed command."""
    lines = crontab_lines()
    assert {name for name, _ in lines} == {"README.md", "deployment.md"}, lines
    shim = tmp_path / "bin" / "sheetcrm"
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(str(README.parent))} exec {shlex.quote(sys.executable)} "
                    f"-m sheetcrm \"$@\"\n")
    shim.chmod(0o755)
    # One demo workbook, copied into each line's folder (a copy carries the workbook's mark, and
    # its syncs keep a state of their own place: written_file.py).
    made = subprocess.run([sys.executable, "-m", "sheetcrm", "demo", "--workbook", "crm.xlsx", "--rows", "20"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(README.parent), "HOME": str(tmp_path / "home")})
    assert made.returncode == 0, made.stderr[-2000:]
    for n, (name, line) in enumerate(lines):
        root = tmp_path / f"root{n}"
        command = line.split(" ", 5)[5]
        for place in ("/srv/sheetcrm", "/var/log/sheetcrm"):
            (root / place.lstrip("/")).mkdir(parents=True, exist_ok=True)  # the service's folder; the log's, made once
        srv = root / "srv" / "sheetcrm"
        (srv / "sheetcrm.toml").write_text('workbook = "crm.xlsx"\n', encoding="utf-8")
        shutil.copy2(tmp_path / "crm.xlsx", srv / "crm.xlsx")
        command = command.replace("/usr/local/bin/sheetcrm", str(shim))
        command = re.sub(r"(?<![\w.])/(srv|var/log)/", lambda m: f"{root}/{m.group(1)}/", command)
        done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=600,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "SHELL": "/bin/sh"})
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), (name, line, done.stdout[-2000:],
                                                                            done.stderr[-2000:])
        assert "sync ok" in (root / "var/log/sheetcrm/sheetcrm.log").read_text(encoding="utf-8"), name


def test_the_readme_table_of_tabs_names_every_column_sheetcrm_reads():
    """The README says any column not in its table of tabs is the team's own custom field,
    carried and never read as one of sheetcrm's: so the table must name every column each
    tab reads with a meaning of its own (a lead's Convert converts it, an Amount is checked
    as money), or a team's own column of that name does what the reader was told it would not."""
    from sheetcrm import schema

    text = README.read_text(encoding="utf-8")
    table = text[text.index("| Tab (Spanish) | Columns |"):]
    table = table[:table.index("\n\n")]
    rows = {line.split("|")[1].strip().split(" (")[0]: line.split("|")[2] for line in table.splitlines()[2:]}
    for spec in schema.TABS.values():
        assert spec.title in rows, spec.title
        named = set(re.findall(r"[A-Z][\w %]*?(?=\*|,|;| \(|$)", rows[spec.title].strip()))
        missing = [c.header for c in spec.columns if c.header not in named]
        assert not missing, (spec.title, missing)


def test_the_readme_names_every_value_of_conversion_activities():
    """A value the README leaves out is one a team never learns of; one it names that the config
    refuses is a config error for a reader who followed it."""
    import typing

    from sheetcrm.crm.conversion import ConversionSettings

    text = README.read_text(encoding="utf-8")
    said = text[text.index("`[conversion] activities`"):][:400]
    for value in typing.get_args(ConversionSettings.model_fields["activities"].annotation):
        assert f'`"{value}"`' in said, value


def test_the_readme_names_every_id_prefix_sheetcrm_writes():
    """"Only three kinds of cells": the first is the empty ID cells, by their prefixes; a tab of
    the team's whose empty ID cells sheetcrm fills must be among them."""
    from sheetcrm import schema

    text = README.read_text(encoding="utf-8")
    said = text[text.index("empty ID cells ("):][:300]
    said = said[:said.index("followed by a number")]
    tabs = [*schema.TABS.values(), schema.WORKFLOWS, *schema.OPTIONAL_TABS.values()]
    prefixes = {t.id_prefix for t in tabs if t.id_prefix}
    assert set(re.findall(r"`([A-Z]+)-`", said)) == prefixes, said
