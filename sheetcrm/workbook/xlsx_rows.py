"""Removing rows from an .xlsx package (a merge's duplicate rows), as an app deletes rows.

Everything anchored to a row moves with it, in every part that holds one: the tab's cells and
`<row>` elements (height, hidden, outline), merged blocks, validations and conditional formats
(their ranges and formulas), hyperlinks, autoFilter and its sort, protected ranges, ignored
errors, dimension, the selection and the panes' first cell; the tab's notes (the comments
part and the legacy VML drawing that shows them), threaded comments, pictures and charts
anchored to its cells; every formula of every tab, defined names (print areas and titles too),
chart series and pivot cache sources that refer to it. What was on a removed row goes with it
(its notes), a reference to a removed row becomes `#REF!`, as Excel and Sheets do. A list left
without items (the only merged block, link, validation, protected range or ignored error was on
the row) goes, a sort with its range or a key all on the row goes, and a selection that was all
on the row stays on the row that takes its place: the apps reject any of them empty.

A shared formula (Excel's fill-down: a master cell with the text, followers computed from it
by offset) cannot be moved by shifting its master's text, so every group the deletion touches
is first written out as ordinary per-cell formulas (openpyxl's Translator gives each
follower's text), then moved as any formula is. Cached values (`<v>`) are kept; the package
asks for recalculation on open.

Like `xlsx_patch`, this works on the raw bytes with regular expressions; see its docstring.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from typing import Callable

from .xlsx_patch import (_ROW, NeedsRebuild, attrs, recalc_on_load, relationships, rewrite_zip, sheet_parts,
                         workbook_part)

_RANGE_PART = re.compile(r'^(\$?[A-Za-z]{1,3})?(\$?)([0-9]+)$')
_SQREF_ATTR = re.compile(rb'(<(?:mergeCell|hyperlink|autoFilter|dimension|dataValidation|conditionalFormatting|'
                         rb'sortState|sortCondition|protectedRange|ignoredError|f)\b[^>]*?\b(?:ref|sqref)=")([^"]*)(")')
# Where a tab's view stands: its selection and the first cell its (scrolled or frozen) panes show.
_SELECTION = re.compile(rb'<(?:selection|pane|sheetView)\b([^>]*?)/?>')
# Lists whose last item a removed row can take: each must then go (the schema wants one item at
# least, and openpyxl and Excel refuse or repair the file), and its count say what is left.
_LISTS = ((b"mergeCells", b"mergeCell"), (b"hyperlinks", b"hyperlink"), (b"dataValidations", b"dataValidation"),
          (b"protectedRanges", b"protectedRange"), (b"ignoredErrors", b"ignoredError"))
# A formula with its text; not a shared formula's follower (`<f t="shared" si="0"/>`).
_F_TEXT = re.compile(rb'(<f\b[^>]*(?<!/)>)(.*?)(</f>)', re.S)
_DEFINED = re.compile(rb'(<definedName\b[^>]*>)(.*?)(</definedName>)', re.S)
_CELL_REF = re.compile(rb'(<c\b[^>]*?\sr=")([A-Z]+)([0-9]+)(")')
_FORMULA_CELL = re.compile(rb'<c\b([^>]*?)(?<!/)>((?:(?!</c>).)*?<f\b(?:(?!</c>).)*?)</c>', re.S)
_F_ELEMENT = re.compile(rb'<f\b([^>]*?)(?:/>|>(.*?)</f>)', re.S)
# A rule block of the tab: its range (`sqref`, or x14's `<xm:sqref>`) and formulas.
_RULE_BLOCK = re.compile(rb'<((?:\w+:)?)(conditionalFormatting|dataValidation)\b([^>]*?)(?:/>|>(.*?)</\1\2>)', re.S)
_RULE_FORMULA = re.compile(rb'(<((?:\w+:)?(?:formula|formula1|formula2|f))>)([^<]*)(</\2>)')  # x14's <xm:f> inside
_XM_SQREF = re.compile(rb'(<((?:\w+:)?sqref)>)(.*?)(</\2>)', re.S)

_COMMENT = re.compile(rb'<comment\b([^>]*?)(?:/>|>.*?</comment>)', re.S)
_THREADED = re.compile(rb'<((?:\w+:)?)threadedComment\b([^>]*?)(?:/>|>.*?</\1threadedComment>)', re.S)
_VML_SHAPE = re.compile(rb'<((?:\w+:)?)shape\b[^>]*>.*?</\1shape>', re.S)
_VML_ROW = re.compile(rb'(<((?:\w+:)?)Row>)\s*([0-9]+)\s*(</\2Row>)')
_VML_ANCHOR = re.compile(rb'(<((?:\w+:)?)Anchor>)([^<]*)(</\2Anchor>)')
_NOTE = re.compile(rb'ObjectType="Note"')
_DRAWING_ANCHOR = re.compile(rb'<((?:\w+:)?)(twoCellAnchor|oneCellAnchor)\b([^>]*)>.*?</\1\2>', re.S)
_FROM_TO = re.compile(rb'(<((?:\w+:)?)(?:from|to)>.*?<\2row>)([0-9]+)(</\2row>)', re.S)
_FROM = re.compile(rb'(<((?:\w+:)?)from>.*?<\2row>)([0-9]+)(</\2row>)', re.S)
_CHART_F = re.compile(rb'(<((?:\w+:)?)f>)([^<]*)(</\2f>)')
_WORKSHEET_SOURCE = re.compile(rb'<(?:\w+:)?worksheetSource\b([^>]*?)/>')



class UnreadableSharedFormula(NeedsRebuild):
    """A shared formula the deletion touches whose text cannot be translated to its cells."""

    def __init__(self, tab: str, cell: str) -> None:
        super().__init__(f"shared formula at {tab}!{cell}")  # not for people: the caller says it
        self.tab, self.cell = tab, cell


_COMMENTS = "/comments"
_VML = "/vmlDrawing"
_THREADED_COMMENTS = "/threadedComment"
_DRAWING = "/drawing"
_TABLE = "/table"


def _shift_part(part: str, row: int, keep_relative: bool = False) -> str | None:
    """One end of a reference with `row` deleted: below it moves up; None when it was that row.
    `keep_relative`: a row without `$` stays (it is an offset from a rule's anchor cell)."""
    m = _RANGE_PART.match(part)
    if m is None:
        return part
    if keep_relative and not m[2]:
        return part
    n = int(m[3])
    if n < row:
        return part
    if n == row:
        return None
    return f"{m[1] or ''}{m[2]}{n - 1}"


def _shift_range(ref: str, row: int, keep_relative: bool = False) -> str | None:
    """"A2:C9" with `row` deleted; None when the whole reference was in that row."""
    ends = ref.split(":")
    if len(ends) == 1:
        return _shift_part(ends[0], row, keep_relative)
    first, last = ends[0], ends[-1]
    a, b = _shift_part(first, row, keep_relative), _shift_part(last, row, keep_relative)
    if a is None and b is None:
        return None
    if a is None:  # the range began at the deleted row: the row below takes its place
        a = first
    if b is None:  # it ended there: it now ends one row higher
        m = _RANGE_PART.match(last)
        assert m is not None
        b = f"{m[1] or ''}{m[2]}{int(m[3]) - 1}"
    return f"{a}:{b}"


def shift_sqref(sqref: str, row: int) -> str:
    """A space-separated list of ranges (sqref) with `row` deleted; ranges inside it drop out."""
    kept = [s for part in sqref.split() if (s := _shift_range(part, row)) is not None]
    return " ".join(kept)


def _tokens(formula: str) -> list | None:
    from openpyxl.formula.tokenizer import Tokenizer  # openpyxl's own Excel formula lexer
    try:
        return Tokenizer(formula if formula.startswith("=") else "=" + formula).items
    except Exception:
        return None


def _target(value: str, host: str) -> tuple[str, str, str]:
    """A range operand as (its prefix with "!", the tab it names, the reference)."""
    prefix, bang, ref = value.rpartition("!")
    return prefix + bang, (prefix.strip("'").replace("''", "'") if prefix else host), ref


def shift_formula(formula: str, row: int, sheet: str, host: str, anchor: int | None = None) -> str:
    """A formula of tab `host` with row `row` of tab `sheet` deleted: every reference into that
    tab below the row moves up, a range over it shrinks, a reference to the row itself becomes
    #REF! (what Excel and Sheets do). `anchor`: the formula is a rule's (conditional format,
    validation) on `sheet` whose range begins at row `anchor`; its relative rows are offsets
    from there, so they move only when the whole range does (the row is above it)."""
    tokens = _tokens(formula)
    if tokens is None:
        return formula  # a formula the lexer cannot read is left as it is
    keep_relative = anchor is not None and row >= anchor
    out = []
    for t in tokens:
        value = t.value
        if t.type == "OPERAND" and t.subtype == "RANGE":
            prefix, target, ref = _target(value, host)
            if target == sheet:
                shifted = _shift_range(ref, row, keep_relative)
                value = "#REF!" if shifted is None else prefix + shifted
        out.append(value)
    shifted_text = "".join(out)  # the lexer's tokens leave out the leading "="
    return "=" + shifted_text if formula.startswith("=") else shifted_text


def delete_rows(data: bytes, deletes: dict[str, list[int]]) -> bytes:
    """The package `data` with the given 1-based rows of each tab (title -> rows) removed and
    the rows below moved up, with everything anchored to rows (see the module's docstring).
    Raises NeedsRebuild for a tab with a table part (its ranges are not moved here), and
    UnreadableSharedFormula (a NeedsRebuild) for a shared formula the deletion touches whose
    text openpyxl cannot read."""
    if not any(deletes.values()):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        tabs = [(t, p) for t, p in sheet_parts(z) if p]
        book = workbook_part(z)
        xml = {p: z.read(p) for _, p in tabs}
        book_xml = z.read(book)
        side: dict[str, dict[str, str]] = {}  # sheet part -> relationship kind -> member
        for _, p in tabs:
            side[p] = {}
            for kind, target in relationships(z, p).values():
                for wanted in (_COMMENTS, _VML, _THREADED_COMMENTS, _DRAWING, _TABLE):
                    if kind.endswith(wanted) and target in z.NameToInfo:
                        side[p].setdefault(wanted, target)
        charts = {n: z.read(n) for n in z.namelist() if re.match(r'xl/charts/chart[^/]*\.xml$', n)}
        pivots = {n: z.read(n) for n in z.namelist() if re.match(r'xl/pivotCache/pivotCacheDefinition[^/]*\.xml$', n)}
        deleted = {s for s, rows in deletes.items() if rows and s in dict(tabs)}
        parts = {m: z.read(m) for s in deleted for k, m in side[dict(tabs)[s]].items() if k != _TABLE}
    if any(_TABLE in side[dict(tabs)[s]] or b"<tableParts" in xml[dict(tabs)[s]] for s in deleted):
        raise NeedsRebuild("table part")  # not for people: an internal reason
    names = _names_into(book_xml, deleted)
    for host, p in tabs:
        xml[p] = unshare(xml[p], host, lambda text, host=host: host in deleted or _refers(text, host, deleted, names))
    for sheet in deleted:
        part = dict(tabs)[sheet]
        for row in sorted(set(deletes[sheet]), reverse=True):
            for host, p in tabs:
                xml[p] = _shift_sheet(xml[p], row, sheet, host, own=(p == part))
            book_xml = _DEFINED.sub(lambda m: m[1] + _xml_formula(m[2], row, sheet, "") + m[3], book_xml)
            kinds = side[part]
            if _COMMENTS in kinds:
                parts[kinds[_COMMENTS]] = _shift_comments(parts[kinds[_COMMENTS]], row)
            if _VML in kinds:
                parts[kinds[_VML]] = _shift_vml(parts[kinds[_VML]], row)
            if _THREADED_COMMENTS in kinds:
                parts[kinds[_THREADED_COMMENTS]] = _shift_threaded(parts[kinds[_THREADED_COMMENTS]], row)
            if _DRAWING in kinds:
                parts[kinds[_DRAWING]] = _shift_drawing(parts[kinds[_DRAWING]], row)
            for name in charts:
                charts[name] = _CHART_F.sub(lambda m: m[1] + _xml_formula(m[3], row, sheet, "") + m[4], charts[name])
            for name in pivots:
                pivots[name] = _WORKSHEET_SOURCE.sub(lambda m: _shift_source(m, row, sheet), pivots[name])
    changed = {p: xml[p] for _, p in tabs}
    changed.update(parts)
    changed.update(charts)
    changed.update(pivots)
    changed[book] = recalc_on_load(book_xml) or book_xml  # the cached results of moved formulas too
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        changed = {n: x for n, x in changed.items() if x != z.read(n)}
    return rewrite_zip(data, changed)


def _xml_formula(raw: bytes, row: int, sheet: str, host: str, anchor: int | None = None) -> bytes:
    text = html.unescape(raw.decode())
    shifted = shift_formula(text, row, sheet, host, anchor)
    return raw if shifted == text else html.escape(shifted, quote=False).encode()


def _shift_sheet(xml: bytes, row: int, sheet: str, host: str, own: bool) -> bytes:
    """One sheet part with row `row` of `sheet` deleted (`own`: this part is that sheet)."""
    xml = _F_TEXT.sub(lambda m: m[1] + _xml_formula(m[2], row, sheet, host) + m[3], xml)
    xml = _RULE_BLOCK.sub(lambda m: _shift_rule(m, row, sheet, host, own), xml)
    if not own:
        return xml

    def renumber(m: re.Match) -> bytes:
        a = attrs(m[1])
        r = int(a.get(b"r", b"0"))
        if r == row:
            return b""
        if r < row:
            return m[0]
        body = _CELL_REF.sub(lambda c: c[1] + c[2] + str(int(c[3]) - 1).encode() + c[4], m[0])
        return re.sub(rb'^<row\b([^>]*?)\sr="[0-9]+"', lambda h: b'<row' + h[1] + f' r="{r - 1}"'.encode(), body)

    xml = _ROW.sub(renumber, xml)

    def sqref(m: re.Match) -> bytes:
        shifted = shift_sqref(m[2].decode(), row)
        return m[1] + shifted.encode() + m[3]

    xml = _SQREF_ATTR.sub(sqref, xml)
    xml = _SELECTION.sub(lambda m: _shift_selection(m, row), xml)
    # A merged block, link or validation left with no cells would be invalid XML for the apps:
    # openpyxl (pandas too) cannot open a file with a link at `ref=""`, Excel repairs it.
    xml = re.sub(rb'<mergeCell\s+ref=""\s*/>', b"", xml)
    # A block over two rows, one removed, is one cell now: no block at all (Excel repairs a
    # file that merges a cell with itself).
    xml = re.sub(rb'<mergeCell\s+ref="([A-Z]+[0-9]+):\1"\s*/>', b"", xml)
    xml = re.sub(rb'<hyperlink\b[^>]*?\sref=""[^>]*?(?:/>|>.*?</hyperlink>)', b"", xml, flags=re.S)
    xml = re.sub(rb'<dataValidation\b[^>]*\bsqref=""[^>]*?(?:/>|>.*?</dataValidation>)', b"", xml, flags=re.S)
    xml = re.sub(rb'<(protectedRange|ignoredError)\b[^>]*\bsqref=""[^>]*?(?:/>|>.*?</\1>)', b"", xml, flags=re.S)
    # A sort whose range or one of whose keys was all on the removed rows sorts nothing Excel
    # can read (it repairs the file): the sort state goes; the filter stays.
    xml = re.sub(rb'<sortState\b[^>]*>(?:(?!</sortState>).)*?\bref=""(?:(?!</sortState>).)*?</sortState>'
                 rb'|<sortState\b[^>]*\bref=""[^>]*/>', b"", xml, flags=re.S)
    xml = re.sub(rb'<conditionalFormatting\b[^>]*\bsqref=""[^>]*>.*?</conditionalFormatting>', b"", xml, flags=re.S)
    xml = re.sub(rb'<((?:\w+:)?)(conditionalFormatting|dataValidation)\b[^>]*>(?:(?!</\1\2>).)*?'
                 rb'<(?:\w+:)?sqref></(?:\w+:)?sqref>\s*</\1\2>', b"", xml, flags=re.S)
    for outer, inner in _LISTS:
        xml = _recount(xml, outer, inner)
    return xml


def _recount(xml: bytes, outer: bytes, inner: bytes) -> bytes:
    """`xml` with each list element `outer` (any prefix) counting its `inner` items again, and
    removed when none is left."""
    def one(m: re.Match) -> bytes:
        body = m[3] or b""
        n = len(re.findall(rb'<' + re.escape(m[1]) + inner + rb'\b', body))
        if n == 0:
            return b""
        head = re.sub(rb'\scount="[0-9]*"', f' count="{n}"'.encode(), m[2], count=1)
        opening = 1 + len(m[1]) + len(outer) + len(m[2])  # "<", prefix, name, attributes
        return b"<" + m[1] + outer + head + m[0][opening:]
    return re.sub(rb'<((?:\w+:)?)' + outer + rb'\b([^>]*?)(?:/>|>(.*?)</\1' + outer + rb'>)', one, xml, flags=re.S)


def _shift_selection(m: re.Match, row: int) -> bytes:
    """A tab's selection with the row deleted: it moves with its cells; a selection that was all
    on the row stays where it was (on the row that took its place), never an empty one."""
    a = attrs(m[1])
    out = m[0]
    for name in (b"sqref", b"activeCell", b"topLeftCell"):
        if name in a:
            shifted = shift_sqref(a[name].decode(), row) or a[name].decode()
            out = out.replace(name + b'="' + a[name] + b'"', name + b'="' + shifted.encode() + b'"', 1)
    return out


def _shift_rule(m: re.Match, row: int, sheet: str, host: str, own: bool) -> bytes:
    """A conditional format's or validation's formulas (and x14's `<xm:sqref>`) with the row
    deleted; on its own tab its relative rows count from the top of its range."""
    body = m[4]
    if body is None:
        return m[0]
    anchor = None
    if own:
        found = attrs(m[3]).get(b"sqref") or (x[3] if (x := _XM_SQREF.search(body)) else b"")
        first = found.decode().split(" ")[0].split(":")[0]
        top = _RANGE_PART.match(first.replace("$", ""))
        anchor = int(top[3]) if top else 1
    out = _RULE_FORMULA.sub(lambda f: f[1] + _xml_formula(f[3], row, sheet, host, anchor) + f[4], body)
    if own:
        out = _XM_SQREF.sub(lambda s: s[1] + shift_sqref(s[3].decode(), row).encode() + s[4], out)
    return m[0] if out == body else m[0][:m.start(4) - m.start()] + out + m[0][m.end(4) - m.start():]


# -- shared formulas ---------------------------------------------------------------------------

def _names_into(book_xml: bytes, sheets: set[str]) -> set[str]:
    """The defined names (lower case) whose text refers to one of `sheets`."""
    out = set()
    for m in _DEFINED.finditer(book_xml):
        tokens = _tokens(html.unescape(m[2].decode())) or []
        if any(t.type == "OPERAND" and t.subtype == "RANGE" and _target(t.value, "")[1] in sheets for t in tokens):
            name = attrs(m[1]).get(b"name")
            if name:
                out.add(html.unescape(name.decode()).lower())
    return out


def _refers(text: str, host: str, sheets: set[str], names: set[str]) -> bool:
    """Whether formula `text` of tab `host` refers to one of `sheets`, directly or through a name."""
    tokens = _tokens(text)
    if tokens is None:
        return True  # unreadable: it may
    for t in tokens:
        if t.type == "OPERAND" and t.subtype == "RANGE":
            if _target(t.value, host)[1] in sheets or t.value.lower() in names:
                return True
    return False


def unshare(xml: bytes, tab: str, touched: Callable[[str], bool]) -> bytes:
    """The sheet part `xml` (of tab `tab`) with each shared formula group whose master text `touched` says
    yes to (text without "=") written as ordinary formulas, one per cell, cached values kept.
    Raises UnreadableSharedFormula when a touched master's text cannot be translated."""
    if b't="shared"' not in xml:
        return xml
    masters: dict[bytes, tuple[str, str]] = {}  # si -> (master cell, its text)
    for m in _FORMULA_CELL.finditer(xml):
        f = _F_ELEMENT.search(m[2])
        if f is None:
            continue
        a = attrs(f[1])
        if a.get(b"t") == b"shared" and b"ref" in a and f[2]:
            text = html.unescape(f[2].decode())
            if touched(text):
                masters[a.get(b"si", b"")] = (attrs(m[1]).get(b"r", b"").decode(), text)
    if not masters:
        return xml
    from openpyxl.formula.translate import Translator  # openpyxl's relative-reference translation

    def cell(m: re.Match) -> bytes:
        f = _F_ELEMENT.search(m[2])
        if f is None:
            return m[0]
        a = attrs(f[1])
        if a.get(b"t") != b"shared" or a.get(b"si") not in masters:
            return m[0]
        origin, text = masters[a[b"si"]]
        here = attrs(m[1]).get(b"r", b"").decode()
        try:
            own = text if here == origin else Translator("=" + text, origin=origin).translate_formula(here)[1:]
        except Exception:
            raise UnreadableSharedFormula(tab, origin) from None
        kept = re.sub(rb'\s(?:t|ref|si)="[^"]*"', b"", f[1]).rstrip(b"/")
        element = b"<f" + kept + b">" + html.escape(own, quote=False).encode() + b"</f>"
        start = m.start(2) - m.start() + f.start()
        return m[0][:start] + element + m[0][start + len(f[0]):]

    return _FORMULA_CELL.sub(cell, xml)


# -- the parts beside a tab --------------------------------------------------------------------

def _shift_refs(pattern: re.Pattern, group: int, xml: bytes, row: int) -> bytes:
    """Each element `pattern` finds (its attributes in `group`) with its `ref` moved up past the
    deleted row; one on the row goes with it."""
    def one(m: re.Match) -> bytes:
        ref = attrs(m[group]).get(b"ref", b"").decode()
        shifted = _shift_range(ref, row)
        if shifted is None:
            return b""
        return m[0].replace(b'ref="' + ref.encode() + b'"', b'ref="' + shifted.encode() + b'"', 1)
    return pattern.sub(one, xml)


def _shift_comments(xml: bytes, row: int) -> bytes:
    """The tab's comments part (notes): a note on the row goes with it, those below move up."""
    return _shift_refs(_COMMENT, 1, xml, row)


def _shift_threaded(xml: bytes, row: int) -> bytes:
    """The tab's threaded comments: a thread on the row (its replies too) goes with it."""
    return _shift_refs(_THREADED, 2, xml, row)


def _shift_vml(xml: bytes, row: int) -> bytes:
    """The tab's legacy VML drawing: each note's box (x:Row, 0-based) and every shape's
    x:Anchor (column, offset, row, offset, ..., rows 0-based) move with their rows; the box of
    a note on the deleted row goes with it."""
    gone = row - 1  # 0-based

    def up(n: int) -> int:
        return n - 1 if n > gone else n

    def shape(m: re.Match) -> bytes:
        found = _VML_ROW.search(m[0])
        if found and int(found[3]) == gone and _NOTE.search(m[0]):
            return b""
        out = _VML_ROW.sub(lambda r: r[1] + str(up(int(r[3]))).encode() + r[4], m[0])

        def anchor(a: re.Match) -> bytes:
            nums = [p.strip() for p in a[3].decode().split(",")]
            if len(nums) != 8 or not all(p.isdigit() for p in nums):
                return a[0]
            for i in (2, 6):
                nums[i] = str(up(int(nums[i])))
            return a[1] + ", ".join(nums).encode() + a[4]
        return _VML_ANCHOR.sub(anchor, out)
    return _VML_SHAPE.sub(shape, xml)


def _shift_drawing(xml: bytes, row: int) -> bytes:
    """The tab's drawing (pictures, charts, shapes anchored to cells; rows 0-based): an anchor
    that moves and sizes with cells has each end moved; one that moves only (oneCell) moves
    whole when it begins below the deleted row; an absolute one stays."""
    gone = row - 1

    def anchor(m: re.Match) -> bytes:
        edit = attrs(m[3]).get(b"editAs", b"twoCell")
        if m[2] == b"twoCellAnchor" and edit == b"absolute":
            return m[0]
        if m[2] == b"twoCellAnchor" and edit == b"twoCell":
            return _FROM_TO.sub(lambda r: r[1] + str(int(r[3]) - (int(r[3]) > gone)).encode() + r[4], m[0])
        start = _FROM.search(m[0])
        if start is None or int(start[3]) <= gone:
            return m[0]
        return _FROM_TO.sub(lambda r: r[1] + str(int(r[3]) - 1).encode() + r[4], m[0])
    return _DRAWING_ANCHOR.sub(anchor, xml)


def _shift_source(m: re.Match, row: int, sheet: str) -> bytes:
    """A pivot cache's source range on the tab, with the row deleted."""
    a = attrs(m[1])
    if html.unescape(a.get(b"sheet", b"").decode()) != sheet or b"ref" not in a:
        return m[0]
    shifted = _shift_range(a[b"ref"].decode(), row)
    if shifted is None:
        return m[0]
    return m[0].replace(b'ref="' + a[b"ref"] + b'"', b'ref="' + shifted.encode() + b'"', 1)
