"""Find text meant for people that does not go through the message catalogue.

`unmarked(path)` lists the string literals of a module that read as prose (two words or more
of letters, spaces between) and are not handed to the catalogue (`_`, `ngettext`, `pgettext`,
`N_`, `NC_`, `in_locale`), nor docstrings, nor arguments of calls that are not for people
(regular expressions, SQL, logging keys, `AssertionError`), nor markup. A line that is not for people
says so with a `# not for people: <why>` comment at its end, which this check reads.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

CATALOGUE_CALLS = {"_", "gettext", "ngettext", "pgettext", "N_", "NC_", "in_locale", "every_locale"}
# Calls whose string arguments are for programs, not people.
NOT_FOR_PEOPLE_CALLS = {"compile", "match", "fullmatch", "search", "sub", "findall", "split", "finditer",
                        "execute", "executemany", "executescript", "AssertionError", "NotImplementedError",
                        "getLogger", "strftime", "strptime", "TypeVar", "ContextVar", "namedtuple", "getenv",
                        "warn", "escape", "NeedsRebuild"}
PROSE = re.compile(r"[A-Za-zÀ-ÿ]{2,}[,;:]? [A-Za-zÀ-ÿ]{2,}")
MARK = "# not for people"


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def unmarked(path: Path) -> list[tuple[int, str]]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    skip: set[int] = set()  # ids of Constant nodes that are fine
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                skip.add(id(body[0].value))
        if isinstance(node, ast.Call) and (_call_name(node) in CATALOGUE_CALLS | NOT_FOR_PEOPLE_CALLS):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant):
                    skip.add(id(sub))
        # A bare string statement is documentation (an attribute's docstring), not output.
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            skip.add(id(node.value))
        if isinstance(node, ast.Assert):
            for sub in ast.walk(node):
                skip.add(id(sub))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) or id(node) in skip:
            continue
        if not PROSE.search(node.value) or node.value.lstrip().startswith("<"):  # markup (XML) is not prose
            continue
        end = getattr(node, "end_lineno", node.lineno) or node.lineno
        if any(MARK in lines[i - 1] for i in range(node.lineno, end + 1)):
            continue
        found.append((node.lineno, node.value))
    return sorted(set(found))


def scan(root: Path, exclude: tuple[str, ...] = ("emulator",)) -> dict[str, list[tuple[int, str]]]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in exclude:
            continue
        hits = unmarked(path)
        if hits:
            out[rel] = hits
    return out


if __name__ == "__main__":
    import sys

    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "sheetcrm")
    only = sys.argv[2:]
    total = 0
    for rel, hits in scan(root).items():
        if only and not any(rel.startswith(o) for o in only):
            continue
        for line, text in hits:
            total += 1
            print(f"{rel}:{line}: {text[:90]!r}")
    print(f"{total} unmarked", file=sys.stderr)
