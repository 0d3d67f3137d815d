"""A sheetcrm command run in this process, answered as a real one would be: for tests about
what a command says and does rather than about the process (a process costs about 1.1 s,
mostly imports). `from in_process import cli`."""

from __future__ import annotations

import os
import subprocess

from click.testing import CliRunner

from sheetcrm.cli import main


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """The command's exit status, stdout and stderr, run in `cwd` (else here). A crash is an
    exception other than SystemExit, never an exit status: it fails the test at once."""
    here = os.getcwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        done = CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(here)
    assert done.exception is None or isinstance(done.exception, SystemExit), done.exception
    return subprocess.CompletedProcess(list(args), done.exit_code, done.stdout, done.stderr)
