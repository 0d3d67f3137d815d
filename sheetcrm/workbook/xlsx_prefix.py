"""Packages whose SpreadsheetML parts name their elements with a prefix (`<x:worksheet>`).

The .NET OpenXML SDK and some exporters bind the main namespace to a prefix
(`xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"`) where Excel, openpyxl
and Google write it as the default namespace. The patcher (`xlsx_patch`, `xlsx_rows`) reads
and writes parts with regular expressions and quick substring tests over unprefixed names;
over prefixed parts those see no tab, no row, no merged block and no formula (a write then
refused as "changed meanwhile", or let into a merged block's hidden cell).

So such a package is patched as its unprefixed twin (`plain`): the same XML with the prefix
dropped from element names and the main namespace declared as the default. `restore` carries
the patcher's result back: a member it left alone is the original's, byte for byte; a part
it changed gets the prefix again on every element; a part it added stays as written. The
round trip is exact because a part is made plain only when every unprefixed element in it is
in the main namespace too (no other default namespace is declared in it, no CDATA or comment
could hide a tag), so adding the prefix to every unprefixed element name is the inverse.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

from .xlsx_patch import rewrite_zip

MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROOT = re.compile(rb'<([\w.-]+):([\w.-]+)\b([^>]*)>')  # the first element; the root if prefixed
_DECLARED = re.compile(rb'\sxmlns:([\w.-]+)\s*=\s*"([^"]*)"')
_DEFAULT = re.compile(rb'\sxmlns\s*=\s*"([^"]*)"')
_BARE_TAG = re.compile(rb'<(/?)([A-Za-z_][\w.-]*)(?=[\s/>])')  # an element named without a prefix
_BARE_ROOT = re.compile(rb'<([\w.-]+)\b([^>]*)>')
_HEAD = 2048  # bytes read of each member to find a prefixed root: the XML declaration and the root tag


class MixedPrefixes(Exception):
    """A part binds the main namespace to a prefix and also uses another default namespace, a
    comment or CDATA: not one sheetcrm can make plain and back exactly. `args[0]` is the member name."""


@dataclass
class Plain:
    """A package made plain: its bytes, and for each member changed, the prefix it had and
    whether its root gained the default declaration (to take off again)."""
    data: bytes
    prefixes: dict[str, tuple[bytes, bool]] = field(default_factory=dict)


def _prefixed_root(head: bytes) -> bytes | None:
    """The prefix bound to the main namespace on a part's root element, else None."""
    start = head.find(b"<", head.find(b"?>") + 1 if head.startswith(b"<?") else 0)
    m = _ROOT.match(head, start)
    if m is None:
        return None
    declared = {d[1]: d[2] for d in _DECLARED.finditer(m[3])}
    return m[1] if declared.get(m[1]) == MAIN else None


def _unprefix(xml: bytes, prefix: bytes, member: str) -> tuple[bytes, bool]:
    defaults = [d[1] for d in _DEFAULT.finditer(xml)]
    # An unprefixed element with no default namespace declared is in no namespace: making the
    # main one the default would change what it is.
    if (b"<![CDATA[" in xml or b"<!--" in xml or any(d != MAIN for d in defaults)
            or (not defaults and _BARE_TAG.search(xml)) or len(re.findall(rb'\sxmlns:' + re.escape(prefix) + rb'\s*=', xml)) != 1):
        raise MixedPrefixes(member)
    out = re.sub(rb'<(/?)' + re.escape(prefix) + rb':(?=[A-Za-z_])', rb'<\1', xml)
    m = _BARE_ROOT.search(out, out.find(b"?>") + 1 if out.startswith(b"<?") else 0)
    assert m is not None  # the part had a prefixed root
    if _DEFAULT.search(m[2]):
        return out, False
    return out[:m.end(1)] + b' xmlns="' + MAIN + b'"' + out[m.end(1):], True


def _reprefix(xml: bytes, prefix: bytes, added: bool) -> bytes:
    if added:
        xml = xml.replace(b' xmlns="' + MAIN + b'"', b"", 1)
    return _BARE_TAG.sub(lambda m: b"<" + m[1] + prefix + b":" + m[2], xml)


def plain(data: bytes) -> Plain | None:
    """`data` with every XML part that binds the main namespace to a prefix on its root made
    unprefixed, or None when no part does (the common case: only each member's first bytes are
    read). Raises MixedPrefixes for a prefixed part that cannot be made plain exactly, and
    zipfile.BadZipFile / KeyError as zipfile does for a package that is not one."""
    found: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            if not info.filename.endswith(".xml") or info.is_dir():
                continue
            with z.open(info) as fh:
                prefix = _prefixed_root(fh.read(_HEAD))
            if prefix is not None:
                found[info.filename] = prefix
        if not found:
            return None
        changed: dict[str, bytes] = {}
        out = Plain(b"")
        for name, prefix in found.items():
            changed[name], added = _unprefix(z.read(name), prefix, name)
            out.prefixes[name] = (prefix, added)
    out.data = rewrite_zip(data, changed)
    return out


def restore(original: bytes, made: Plain, new: bytes) -> bytes:
    """The patcher's result `new` (made from `made.data`) as a version of `original`: members
    `new` holds as `made.data` had them are the original's bytes, changed members that were
    prefixed are prefixed again, members added stay as written, members gone stay gone."""
    changed: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(made.data)) as zp, zipfile.ZipFile(io.BytesIO(new)) as zn:
        before = {i.filename: (i.CRC, i.file_size) for i in zp.infolist()}
        for info in zn.infolist():
            if before.get(info.filename) == (info.CRC, info.file_size):
                continue
            xml = zn.read(info)
            if info.filename in made.prefixes:
                xml = _reprefix(xml, *made.prefixes[info.filename])
            changed[info.filename] = xml
        removed = [n for n in before if n not in zn.NameToInfo]
    return rewrite_zip(original, changed, removed)
