"""Field masks (``fields=sheets(properties,data.rowData.values(note))``).

Google uses the same syntax in two places: to trim a response, and to say which fields
of an update request are meant (a field named in the mask but absent from the request is
reset). Both directions live here. Segments may be separated by ``.`` or ``/``.
"""

from __future__ import annotations

import copy

from .errors import bad_field_mask, invalid
from .schema import SCHEMAS

Mask = dict  # name -> Mask; an empty Mask means "this whole field"


def parse(text: str) -> Mask:
    tree: Mask = {}
    pos = _parse_list(text.replace("/", ".").replace(" ", ""), 0, tree, text)
    if pos != len(text.replace(" ", "")):
        raise invalid(f"Invalid field selection {text}")
    return tree


def _parse_list(s: str, pos: int, into: Mask, original: str) -> int:
    while pos < len(s):
        pos = _parse_path(s, pos, into, original)
        if pos < len(s) and s[pos] == ",":
            pos += 1
            continue
        break
    return pos


def _parse_path(s: str, pos: int, into: Mask, original: str) -> int:
    start = pos
    while pos < len(s) and s[pos] not in ".,()":
        pos += 1
    name = s[start:pos]
    if not name:
        raise invalid(f"Invalid field selection {original}")
    node = into.setdefault(name, {})
    if pos < len(s) and s[pos] == ".":
        return _parse_path(s, pos + 1, node, original)
    if pos < len(s) and s[pos] == "(":
        pos = _parse_list(s, pos + 1, node, original)
        if pos >= len(s) or s[pos] != ")":
            raise invalid(f"Invalid field selection {original}")
        return pos + 1
    return pos


def check(mask: Mask, schema: str, prefix: str = "") -> None:
    """Refuse a response mask naming a field the response's schema lacks, as Google does
    (a 400; "an invalid fields parameter results in an HTTP 400 Bad Request error", Google's
    partial-response guide): a misspelt field would otherwise come back quietly empty here
    and fail only against Google."""
    props = SCHEMAS.get(schema, {})
    for name, sub in mask.items():
        if name == "*":
            continue
        if name not in props:
            raise bad_field_mask(prefix + name)
        child = props[name]
        if sub and child != "*":
            if not child:
                raise bad_field_mask(f"{prefix}{name}.{next(iter(sub))}")
            check(sub, child, f"{prefix}{name}.")


def paths(mask: Mask, prefix: tuple = ()) -> list[tuple[str, ...]]:
    out = []
    for name, sub in mask.items():
        if sub:
            out.extend(paths(sub, prefix + (name,)))
        else:
            out.append(prefix + (name,))
    return out


def select(obj, mask: Mask):
    """Keep only the masked fields of a response object (lists are traversed)."""
    if not mask:
        return obj
    if isinstance(obj, list):
        return [select(item, mask) for item in obj]
    if not isinstance(obj, dict):
        return obj
    if "*" in mask:
        return obj
    return {k: select(obj[k], sub) for k, sub in mask.items() if k in obj}


def apply_update(target: dict, source: dict, mask: Mask) -> None:
    """Copy the masked fields from ``source`` into ``target``; masked fields missing from
    ``source`` are removed, which is how the API clears a field (e.g. a tab colour)."""
    if "*" in mask:
        target.clear()
        target.update(copy.deepcopy(source))
        return
    for path in paths(mask):
        src, dst = source, target
        trail = []
        for name in path[:-1]:
            src = src.get(name) if isinstance(src, dict) else None
            trail.append((dst, name))
            dst = dst.setdefault(name, {})
        leaf = path[-1]
        if isinstance(src, dict) and src.get(leaf) is not None:
            dst[leaf] = copy.deepcopy(src[leaf])
        else:
            dst.pop(leaf, None)
        # Intermediate objects created only to reach a cleared leaf must not linger.
        for parent, name in reversed(trail):
            if parent[name] == {}:
                del parent[name]
