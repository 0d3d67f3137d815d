"""The shortcuts the workflows, quotes and IDs steps take at every sync give what the plain
computation gives, on the cases where a shortcut could differ: the highest ID read as one text
(`ids.highest_id`), a record's values without pydantic (`steps.workflows.record_values`), an
`in (...)` condition's set lookup (`crm.conditions._OneOf`), a quote's lines found without
folding when no line has errors (`mail.quotes.QuoteLines.of`)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from decimal import Decimal

import pytest

from sheetcrm import cells
from sheetcrm.config import Config
from sheetcrm.crm.conditions import Choice, _Candidate, _equals, _OneOf
from sheetcrm.demo import generate
from sheetcrm.ids import highest_id, id_pattern
from sheetcrm.mail.outbox import Desk
from sheetcrm.mail.quotes import QuoteLines, minor_unit
from sheetcrm.records import Opportunity, QuoteLine
from sheetcrm.steps.workflows import record_values
from sheetcrm.table import Row
from sheetcrm.validate import match_key, read_crm
from sheetcrm.workbook import Grid, Snapshot

AS_OF = dt.date(2026, 11, 23)


def _plain_highest(ids: list[str | None], prefix: str) -> int:
    """What assign_ids computed before the shortcut: every ID through canonical_text."""
    pattern = id_pattern(prefix)
    return max((int(m.group(1)) for i in ids if i and (m := pattern.match(cells.canonical_text(i)))), default=0)


_ODD_IDS = ["ACC-0007", "acc-12", "ACC-3 ", " ACC-40", "ACC-\u00a0", "ACC-0099\r", "ACC-5\t", "ACC-6\n",
            "ACC-7\nACC-999", "ACC-８８", "ＡＣＣ-77", "ACC-1x", "XACC-500", "ACC--3", "ACC-", "ACC 600",
            "ACC-1\u200b", "ACC-\u0663\u0663",
            "\x1c", "ACC-2\x1c", "ACC-0000000000000000000123", "LEAD-900", None, ""]


@pytest.mark.parametrize("size", [0, 1, 2, 3])
def test_the_highest_id_is_the_one_every_id_read_as_a_person_reads_it_gives(size):
    rows = lambda ids: [Row(n, i, None, []) for n, i in enumerate(ids, 2)]  # noqa: E731
    plain = [f"ACC-{n:04d}" for n in range(1, 40)]
    assert highest_id(rows(plain), "ACC") == 39
    for odd in itertools.combinations(_ODD_IDS, size):
        for ids in (list(odd), [*plain, *odd], [*odd, *plain]):
            assert highest_id(rows(ids), "ACC") == _plain_highest(ids, "ACC"), ids


def test_a_prefix_with_regex_characters_is_read_as_written():
    rows = [Row(2, "A.B-5", None, []), Row(3, "AXB-9", None, [])]
    assert highest_id(rows, "A.B") == 5 == _plain_highest(["A.B-5", "AXB-9"], "A.B")


def _demo_crm():
    demo = generate(rows=120, seed=5, today=AS_OF)
    snapshot = Snapshot({title: Grid([list(r) for r in rows]) for title, rows in demo.tabs.items()})
    return read_crm(snapshot, Config())


def test_record_values_are_model_dump_and_the_custom_columns_in_the_same_order():
    crm = _demo_crm()
    seen = 0
    for table in crm.tables.values():
        for row in table.rows:
            for record in (row.record, row.target):
                if record is None:
                    continue
                dumped = record.model_dump()
                dumped.update(record.custom)
                got = record_values(record)
                assert list(got.items()) == list(dumped.items())
                assert got is not record.__dict__ and "row" not in got
                seen += 1
    assert seen > 500
    with_custom = crm.tables["leads"].rows[0].record.model_copy(update={"custom": {"Region": "North", "id": "X"}})
    assert list(record_values(with_custom).items()) == list({**with_custom.model_dump(), "Region": "North",
                                                             "id": "X"}.items())


_CANDIDATES = ["Retail", "retail ", "Réseau", "5", "5.0", "yes", "no", "TRUE", "2026-03-15", "", "Closed Won",
               Decimal("5"), Decimal("0"), dt.date(2026, 3, 15), True, False]
_CELLS = ["Retail", "RETAIL", "Reseau", "5", "05", "5.00", "yes", "Yes", "sí", "true", "FALSE", "2026-03-15",
          "x", "", " ", "Won", Decimal("5"), Decimal("5.000"), 5, 5.0, 0, dt.date(2026, 3, 15),
          dt.datetime(2026, 3, 15, 9), True, False, Choice("Closed Won", {"won": "Closed Won"}.get),
          Choice("Proposal", {"propuesta": "Proposal"}.get)]


def test_one_of_holds_exactly_when_one_candidate_equals_the_cell():
    for size in (1, 2, 3):
        for values in itertools.combinations(_CANDIDATES, size):
            candidates = [_Candidate(v) for v in values]
            one_of = _OneOf(candidates)
            for cell in _CELLS:
                assert one_of(cell) == any(_equals(c, cell) for c in candidates), (values, cell)


def _line(row: int, opportunity: str) -> QuoteLine:
    return QuoteLine.model_construct(row=row, opportunity=opportunity, sku="S", quantity=Decimal(1))


def _lines(valid: dict[str, list[QuoteLine]], invalid: dict[str, list[int]]) -> QuoteLines:
    return QuoteLines(None, valid=valid, invalid=invalid)


@pytest.mark.parametrize("opp_id,name", [("OPP-1", "Big deal"), ("OPP-1", "OPP-1"), (None, "Big deal"),
                                         ("OPP-2", "Other")])
def test_a_quote_finds_its_lines_by_id_and_name_in_sheet_order(opp_id, name):
    opp = Opportunity.model_construct(id=opp_id, name=name, account="A", stage="Proposal")
    valid = {"OPP-1": [_line(9, "OPP-1"), _line(3, "OPP-1")], "Big deal": [_line(5, "Big deal")]}
    keys = list(dict.fromkeys(k for k in (opp_id, name) if k))
    expected = sorted((ln for k in keys for ln in valid.get(k, [])), key=lambda ln: ln.row)
    assert _lines(valid, {}).of(opp) == (expected, [])
    invalid = {match_key("big deal"): [7], match_key("OPP-1"): [4, 2]}
    folded = dict.fromkeys(match_key(k) for k in keys)
    assert _lines(valid, invalid).of(opp) == (expected, sorted(r for k in folded for r in invalid.get(k, [])))
    memo: dict[str, str] = {}
    keyed = QuoteLines(None, valid=valid, invalid=invalid, key=lambda t: memo.setdefault(t, match_key(t)))
    assert keyed.of(opp) == _lines(valid, invalid).of(opp)


def test_the_minor_unit_is_babels_in_every_currency():
    assert [minor_unit(c) for c in ("EUR", "USD", "JPY", "BHD", "EUR")] == [
        Decimal("0.01"), Decimal("0.01"), Decimal("1"), Decimal("0.001"), Decimal("0.01")]


def test_an_id_pattern_reads_case_and_width_as_before():
    assert re.fullmatch(id_pattern("ACC"), "acc-7") and not id_pattern("ACC").match("ACC-7x")


def test_a_deal_no_quote_line_names_has_no_quote_problems_as_priced():
    demo = generate(rows=120, seed=5, today=AS_OF)
    tabs = {title: [list(r) for r in rows] for title, rows in demo.tabs.items()}
    sound = Desk.read(Snapshot({title: Grid(rows) for title, rows in tabs.items()}), Config())
    deals = [o for o in sound.crm.records("opportunities") if not sound.problems(o)][:5]
    tabs["Quote Lines"] += [[deals[0].id, "SKU-001", -2, "", ""],               # negative quantity
                            [deals[1].id, "SKU-001", "lots", "", ""],           # a row with errors
                            [deals[2].name + "\u00a0", "SKU-001", "x", "", ""],  # with errors, named loosely
                            [deals[3].id, "SKU-001", 10**14, "", ""],           # too large
                            [deals[4].name, "SKU-001", 1, -5, ""]]              # by name, negative price
    desk = Desk.read(Snapshot({title: Grid(rows) for title, rows in tabs.items()}), Config())
    blocked = set()
    for opp in desk.crm.records("opportunities"):
        assert desk.problems(opp) == desk.quote(opp).problems, opp.id
        if desk.problems(opp):
            blocked.add(opp.id)
    assert {d.id for d in deals} <= blocked


def test_record_values_read_as_the_dict_they_stand_for():
    """`RecordValues` shares the record's fields instead of copying them: what it holds, in
    what order, and each look-up, are a dict's of the fields updated with `more`, including a
    computed value over a field (in the field's place) and a hidden field's name (at the end)."""
    import pytest

    record = _demo_crm().tables["leads"].rows[0].record
    values = record_values(record)
    values.compute({"score": 5, "owner": "Zed", "row": 3, "Region": "North"})
    expected = record.model_dump()
    expected.update(record.custom)
    expected.update(score=5, owner="Zed", row=3, Region="North")
    assert list(values.items()) == list(expected.items()) and len(values) == len(expected)
    assert all(values[k] == v and values.get(k) == v and k in values for k, v in expected.items())
    assert "custom" not in values and values.get("custom", "none") == "none"
    with pytest.raises(KeyError):
        values["custom"]
    assert record.row != 3 and record.owner != "Zed"  # the record itself is unchanged
    # A computed value over a custom column of the same name wins, in the custom column's place;
    # computed again, the new values stand alone.
    own = record.model_copy(update={"custom": {"Region": "South", "id": "X", "Tier": "B"}})
    values = record_values(own)
    values.compute({"score": 5, "Region": "North"})
    expected = {**own.model_dump(), "Region": "South", "id": "X", "Tier": "B"}
    expected.update(score=5, Region="North")
    assert list(values.items()) == list(expected.items()) and "Tier" in values and values.get("score") == 5
    values.compute({"grade": "A"})
    assert "score" not in values and values["grade"] == "A" and values["Region"] == "South"
    assert list(values) == [*own.model_dump(), "Region", "Tier", "grade"]  # its ID a field's, in the field's place
    assert own.custom == {"Region": "South", "id": "X", "Tier": "B"}  # shared, never written
