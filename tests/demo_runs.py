"""`sheetcrm demo` run as a person runs it (`python -m sheetcrm` in a folder of its own, a clean
environment), once per language for every test module that reads what it wrote: the demo is
the slowest thing the tests do, and what it writes does not depend on who reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = {"en": 'locale = "en"\n', "es": 'locale = "es"\ncurrency = "EUR"\n'}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`sheetcrm ARGS` in `cwd` with this checkout's code; the CompletedProcess (text)."""
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "XDG_CACHE_HOME": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


@pytest.fixture(params=["en", "es"], scope="session")
def demo(request, tmp_path_factory):
    """(locale, folder holding demo.xlsx and sheetcrm.toml, what the demo printed). Shared: a test
    that syncs it again must leave it as it was (the tests that do assert nothing was written)."""
    locale = request.param
    folder = tmp_path_factory.mktemp(f"demo-{locale}")
    (folder / "sheetcrm.toml").write_text(CONFIG[locale], encoding="utf-8")
    out = run_cli("demo", "--workbook", "demo.xlsx", "--rows", "60", cwd=folder)
    assert out.returncode == 0, out.stderr
    return locale, folder, out.stdout
