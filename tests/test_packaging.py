"""`pip install .` (not editable) ships only the packages pyproject lists: a new sub-package left
out of the list works in every editable checkout and the tests, and is missing for a user
(sheetcrm.fleet was, once). Every folder of sheetcrm/ with an __init__.py must be listed."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_sub_package_is_in_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sheetcrm").rglob("__init__.py")
             if "__pycache__" not in p.parts}
    assert found, "the package was found"
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"
