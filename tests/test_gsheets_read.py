"""The Google read's decoding (issue 16): orjson from the bytes as received, the rows turned
into a Grid in place. Every value keeps its JSON type, and nothing reads differently from
json's reading of the same answer."""

from __future__ import annotations

import json
import math
import random
import struct

import pytest

from sheetcrm.emulator.server import pretty_json
from sheetcrm.workbook.gsheets import _grid, decode


def _json_grid(values):
    """The reading before issue 16: json, then a copy with "" as None."""
    return [[None if v == "" else v for v in row] for row in values]


def test_every_double_decodes_to_the_same_float_as_json():
    rng = random.Random(16)
    doubles = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(20_000)]
    doubles = [d for d in doubles if math.isfinite(d)]
    doubles += [0.1, 0.2, 1 / 3, 5e-324, 1.7976931348623157e308, 2.0 ** 53 + 2, 45678.5, -0.0, 1e22, 123456789.123456789]
    body = pretty_json({"values": [doubles]}).encode()
    got = decode(body)["values"][0]
    assert got == json.loads(body)["values"][0] == doubles
    assert [math.copysign(1, v) for v in got] == [math.copysign(1, v) for v in doubles]
    assert all(type(v) is float for v in got)


def test_types_are_kept_as_json_gives_them():
    values = [["Name", 1, 1.5, True, False, "", "0042", "TRUE", "=A1", 46000, -7, 2 ** 60, "é ✓ 😀 \u2028", "#N/A"]]
    body = pretty_json({"values": values}).encode()
    got = decode(body)["values"]
    assert got == json.loads(body)["values"] == values
    assert [type(v) for v in got[0]] == [type(v) for v in values[0]]


def test_what_orjson_refuses_json_still_reads():
    # A lone surrogate escape does not come from Google, but the read must not depend on that.
    body = b'{"values": [["\\ud800", 1]]}'
    assert decode(body) == json.loads(body) == {"values": [["\ud800", 1]]}
    with pytest.raises(ValueError):
        decode(b"<html>not json</html>")


def test_a_whole_number_beyond_64_bits_is_the_double_sheets_holds():
    # Sheets' numbers are doubles: such a literal can only be one written out in full, and
    # orjson reads it as that double (json as an int of the same value).
    for literal in (123456789012345678901234567890, 10 ** 20, 2 ** 70, -(2 ** 65)):
        got = decode(b'{"v": %d}' % literal)["v"]
        assert got == float(literal) and type(got) is float
    assert type(decode(b'{"v": %d}' % (2 ** 63 - 1))["v"]) is int


def test_the_grid_is_the_decoded_rows_with_empties_as_none():
    rng = random.Random(7)
    pool = ["", "", "abc", 0, 0.0, 1.5, 3, True, False, "#N/A", "#REF!", "x@y.z", " ", "None"]
    values = [[rng.choice(pool) for _ in range(rng.randint(0, 12))] for _ in range(2_000)] + [[], [""], ["", ""]]
    expected = _json_grid(values)
    rows = [list(r) for r in values]
    grid = _grid(rows, [(0, 0, 1, 1)])
    assert grid.rows == expected
    assert [[type(v) for v in r] for r in grid.rows] == [[type(v) for v in r] for r in expected]
    assert grid.rows is rows  # in place: no second copy of the tab
    assert grid.errors == {(r, c): v for r, row in enumerate(values) for c, v in enumerate(row)
                           if v in ("#N/A", "#REF!")}
    assert grid.merges == [(0, 0, 1, 1)]
    # 0, 0.0 and False equal neither "" nor an error text: they stay as they are.
    assert sum(v is None for r in grid.rows for v in r) == sum(v == "" for r in values for v in r)


def test_equal_texts_of_a_tab_are_one_object_and_keep_their_types():
    """A CRM's text repeats (stages, owners): each decoded copy becomes one object, while 1,
    1.0, True and "1", equal keys of a dict, keep their own types."""
    values = [["Stage", "Won"]] + [[("Proposal", "Qualified")[i % 2], (1, 1.0, True, "1")[i % 4]] for i in range(40)]
    rows = decode(pretty_json({"values": values}).encode())["values"]
    assert rows[1][0] is not rows[3][0]  # as decoded: a str for each cell
    grid = _grid(rows, [])
    assert grid.rows == values and [[type(v) for v in r] for r in grid.rows] == [[type(v) for v in r] for r in values]
    assert len({id(r[0]) for r in grid.rows[1:]}) == 2
    assert len({id(r[1]) for r in grid.rows[1:] if r[1].__class__ is str}) == 1
