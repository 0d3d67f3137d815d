"""Shared by every test directory: being here puts tests/ on sys.path (pytest's default
"prepend" import mode), so tests in tests/mail and tests/crm import helpers such as `books`
by module name, as the tests beside this file do."""

from demo_runs import demo  # noqa: E402,F401  (the session's demo workbooks, shared by the demo tests)

import compileall
import logging
from pathlib import Path

import pytest

import sheetcrm
from sheetcrm.logs import LOGGER


def _sheetcrm_compiled() -> None:
    """Hundreds of tests start `python -m sheetcrm`. A child that finds no bytecode for sheetcrm
    compiles its modules again (0.4 s of CPU of the child's 1.3 s): under PYTHONDONTWRITEBYTECODE
    (set in the shells these tests run from) every child did, until one started with a clean
    environment (demo_runs) happened to write it. Compiled here, at import, before any test
    (compileall writes even then; an unchanged module is skipped by its source's mtime), every
    child reads it."""
    compileall.compile_dir(Path(sheetcrm.__file__).parent, quiet=1)


_sheetcrm_compiled()


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by fixture parameter, which a stable sort keeps
def pytest_collection_modifyitems(session, config, items):
    """The tests marked slow (the soaks, the fleet simulation: a minute or more each) run first.
    Under xdist a worker takes tests in this order; a soak collected near the end (test_soak.py
    sorts late) started when the other worker had little left, so the run waited a minute or
    two on one core (pyproject's `--dist worksteal` lets the other worker take from this one's
    queue meanwhile). A stable sort: every other test keeps its place, each module its order."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session", autouse=True)
def _a_cache_of_the_tests_own(tmp_path_factory):
    """Locks, parse memos and fits live under $XDG_CACHE_HOME: the tests' own folder, never the
    user's ~/.cache (a run of the suite used to leave thousands of memo files there). A test
    that needs its own sets it again."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
        yield


@pytest.fixture(autouse=True)
def _service_logger_as_found():
    """A test that runs the CLI in-process calls `logs.setup`, which stops the service's logger
    propagating to the root, where caplog listens. Under xdist, which tests share a worker varies,
    so a later caplog test saw no lines. Each test gets the logger back as it found it."""
    logger = logging.getLogger(LOGGER)
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


@pytest.fixture
def emu(monkeypatch):
    """The Sheets API emulator on loopback, which gspread (through `connect`) reaches by
    $SHEETS_EMULATOR_HOST; stopped after the test. A test file may define its own."""
    from sheetcrm.emulator import Emulator

    with Emulator() as emulator:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emulator.host)
        yield emulator
