"""File names made from sheet content (an opportunity's ID, a quote number), and the one way
to put such a file in a folder.

A cell can hold anything: "/etc/cron.d/x", "../../x", "CON", ".bashrc", 10,000 characters. No
such value may choose where a file goes, so a name is built from a strict allow-list (ASCII
letters, digits, ".", "_", "-"; anything else becomes "_"), never starts with a dot, never
ends with a dot or a space (Windows drops them), is never a reserved Windows device name, and
is bounded in length; and the resolved path is checked to sit directly in the folder (a
symlink planted there cannot send the write elsewhere).
"""

from __future__ import annotations

import re
from pathlib import Path

from sheetcrm.i18n import _

MAX_STEM = 80
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9._-]+")
# Device names Windows reserves with any extension ("CON.html" is the console, not a file).
_RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$",
                       *(f"COM{i}" for i in "123456789¹²³"), *(f"LPT{i}" for i in "123456789¹²³")})


class UnsafePath(ValueError):
    """A path that would land outside the folder it must stay in."""


def safe_stem(text: str, fallback: str = "quote") -> str:
    """`text` as a file name without extension: "Q-2026-0001" stays, "../../x" becomes "x",
    "/some/dir/index" becomes "some_dir_index", "CON" becomes "_CON"; "" gives `fallback`."""
    stem = _NOT_ALLOWED.sub("_", text).strip("._-")[:MAX_STEM].rstrip("._-")
    if not stem:
        stem = fallback
    if stem.split(".", 1)[0].upper() in _RESERVED:
        stem = f"_{stem}"
    return stem


def confined(folder: Path, name: str) -> Path:
    """`folder / name`, after checking that it resolves to a file directly inside `folder`.
    Raises UnsafePath otherwise (a separator in `name`, "..", or a symlink pointing out)."""
    root = folder.resolve()
    target = (root / name).resolve()
    if target.parent != root or target.name != name:
        raise UnsafePath(_("{name} would be written outside {folder}", name=repr(name), folder=root))
    return target
