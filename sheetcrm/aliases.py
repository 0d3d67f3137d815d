"""The names people give sheetcrm's tabs and columns: the data in `aliases.toml`, read once.

    tab_names(tab)            -> (Spanish title, *other titles)
    column_names(tab, field)  -> (Spanish header, *other headers)

The English title and header stay in the code (schema.py, records.py), where they are the
names the code and the config use. A missing or unknown entry is a packaging mistake and
raises at import, never a column silently read as nothing.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any


@cache
def _data() -> dict[str, Any]:
    text = resources.files("sheetcrm").joinpath("aliases.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def _names(entry: Any, where: str) -> tuple[str, ...]:
    if not isinstance(entry, dict) or set(entry) != {"es", "aliases"}:
        raise ValueError(f"aliases.toml: {where} needs exactly `es` and `aliases`")  # not for people: packaging
    return (entry["es"], *entry["aliases"])


def tab_names(tab: str) -> tuple[str, ...]:
    """The tab's Spanish title, then the other titles it is recognised by."""
    return _names(_data()["tabs"].get(tab), f"tabs.{tab}")


def column_names(tab: str, fields: list[str]) -> dict[str, tuple[str, ...]]:
    """field -> its Spanish header, then the other headers it is recognised by, for every one of
    the tab's `fields` (and no other)."""
    table = _data()["columns"].get(tab, {})
    extra = set(table) - set(fields)
    if extra:
        raise ValueError(f"aliases.toml: columns.{tab} names unknown fields {sorted(extra)}")  # not for people: packaging
    return {f: _names(table.get(f), f"columns.{tab}.{f}") for f in fields}
