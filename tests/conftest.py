"""Shared by every test directory: being here puts tests/ on sys.path (pytest's default
"prepend" import mode), so tests in tests/mail and tests/crm import helpers such as `books`
by module name, as the tests beside this file do."""

from demo_runs import demo  # noqa: E402,F401  (the session's demo workbooks, shared by the demo tests)
