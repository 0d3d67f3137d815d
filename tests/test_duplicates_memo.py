"""The duplicates step's memo (steps/duplicates.py, crm/duplicates.Recall; issue 16): the groups
and their rows are the same whether worked out afresh or from what an earlier sync kept, when
exactly what the kept parts depend on changes: one record's field that only its keys read (its
country, for a phone written without a country code), a large block's names and the cutoff they
are compared at, the language the reasons are said in, the title of a record's tab, the
libraries that made the kept parts.

Each case fails if the key of the part it changes leaves that input out (checked by hand when
written: dropping `entity.country` from Recall.keys_of's key, the names or the cutoff from
similar_pairs', the locale or the tabs' titles from the step's inputs, or the libraries' stamp
check from the step's `_recall`, fails the case that changes it).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sheetcrm import parse_cache
from sheetcrm.config import Config
from sheetcrm.crm.duplicates import _SMALL_BLOCK, DuplicateSettings, Entity, Recall, find_groups
from sheetcrm.schema import DUPLICATES
from sheetcrm.starter import demo_config, write_demo
from sheetcrm.sync import plan_sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 11, 24)


def person(id, name, email=None, phone=None, company=None, country=None):
    return Entity("leads", id, "person", name, email, phone, company, None, country, None, name.split()[-1])


def _found(records, settings, recall=None):
    found = find_groups(records, settings, (), recall)
    return [(g.ids, g.score, g.reasons) for g in found.groups], found.skipped, found.compared


def _again(records, settings, kept: Recall):
    """find_groups with what an earlier run kept, checked against a run without it; returns
    what this run keeps."""
    recall = Recall(kept.keys, kept.similar)
    assert _found(records, settings, recall) == _found(records, settings)
    return recall


def test_a_records_keys_are_worked_out_again_when_what_they_read_changes() -> None:
    settings = DuplicateSettings()
    # The phone has no country code: read in the lead's country, else it is no phone at all.
    before = [person("LEAD-1", "Ana Ruiz", phone="612 345 678", company="Acme"),
              person("LEAD-2", "Ana Ruiz", phone="+34 612 345 678", company="Initech")]
    kept = Recall()
    assert _found(before, settings, kept)[0] == []  # no region: the numbers are not one
    after = [person("LEAD-1", "Ana Ruiz", phone="612 345 678", company="Acme", country="Spain"), before[1]]
    kept = _again(after, settings, kept)
    assert _found(after, settings)[0] != []  # now one number: a pair
    # The default region reads it too.
    spain = DuplicateSettings(country="ES")
    kept = _again(before, spain, kept)
    assert _found(before, spain)[0] != []


def test_a_blocks_pairs_are_worked_out_again_for_other_names_or_another_cutoff() -> None:
    # One company domain and surnames starting alike: one block of more names than are
    # compared one by one, so its pairs are kept.
    # "Ana Garcia" and "Anabel Garcia" are 86 % similar: a pair at a cutoff of 70, not of 90.
    names = ["Ana Garcia", "Anabel Garcia", "Luis Garcia", "Luisa Garcia", "Pedro Garzon", "Ana Garcias"]
    assert len(names) > _SMALL_BLOCK
    records = [person(f"LEAD-{i}", n, email=f"p{i}@acme.com") for i, n in enumerate(names)]
    settings = DuplicateSettings()
    kept = Recall()
    first = _found(records, settings, kept)
    assert first[0] and kept.similar  # a group, and a block kept
    kept = _again(records, settings, kept)
    assert kept.similar_before and kept.similar == kept.similar_before  # all found kept: nothing worked out
    # A name of the block changed (to the first one's: a new pair), the block as long as before.
    renamed = [*records[:4], person("LEAD-4", "Ana Garcia", email="p4@acme.com"), *records[5:]]
    kept = _again(renamed, settings, kept)
    assert _found(renamed, settings)[0] != first[0]
    looser = DuplicateSettings(name_threshold=70)
    _again(renamed, looser, kept)
    assert _found(renamed, looser)[0] != _found(renamed, settings)[0]


def test_recall_entries_are_keyed_by_the_libraries_that_made_them(tmp_path: Path) -> None:
    """An entry stamped with other libraries' versions is not used: a full working out."""
    from sheetcrm.steps import duplicates as step

    book, snapshot, config = _demo(tmp_path)
    memo = parse_cache.RowMemo()
    plan_sync(snapshot, config, AS_OF, memo=memo)
    stamp, keys, similar = memo.before(step.RECALL)
    assert keys  # the groups were worked out: their parts kept
    # Every record's keys made to say nothing: used, they would leave no group at all.
    nothing = ("x", None, "", "", "", frozenset())
    memo.keep(step.RECALL, b"recall", (("other",), {read: nothing for read in keys}, {}))
    following = memo.fresh()
    del following.previous[("result", "duplicate_groups")]  # the groups to work out again
    assert _same_plan(snapshot, config, following)
    assert "duplicate_groups" not in following.recalled


def _demo(tmp_path: Path):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    data = write_demo(book, rows=40, seed=7, today=AS_OF, locale="en")
    return book, book.read(), demo_config(Config(), data)


def _same_plan(snapshot, config, memo) -> list:
    """The plan with `memo` is the plan without one; returns the Duplicates tab's writes."""
    crm, _results, plan = plan_sync(snapshot, config, AS_OF, memo=memo)
    plain_crm, _results, plain = plan_sync(snapshot, config, AS_OF)
    assert [(w.tab, w.row, w.col, w.value) for w in plan.writes] == \
        [(w.tab, w.row, w.col, w.value) for w in plain.writes]
    assert [i.as_dict() for i in crm.report.issues] == [i.as_dict() for i in plain_crm.report.issues]
    return [w for w in plain.writes if w.tab in (DUPLICATES.display_title("en"), DUPLICATES.display_title("es"))]


def test_the_groups_rows_follow_a_lead_edit_and_the_language(tmp_path: Path) -> None:
    _book, snapshot, config = _demo(tmp_path)
    memo = parse_cache.RowMemo()
    rows = _same_plan(snapshot, config, memo)
    assert rows  # the demo plants duplicates: the tab is written
    grid = snapshot.tabs["Leads"]
    header = grid.rows[0]
    # Every lead's last name and phone changed: other groups, other rows.
    last, phone = header.index("Last Name"), header.index("Phone")
    for row in grid.rows[1:]:
        if len(row) > max(last, phone) and isinstance(row[last], str):
            row[last] = row[last] + "son"
            row[phone] = None
    memo = memo.fresh()
    _same_plan(snapshot, config, memo)
    assert "duplicate_groups" not in memo.recalled
    memo = memo.fresh()
    _same_plan(snapshot, config, memo)
    assert "duplicate_groups" in memo.recalled  # nothing changed: the groups and their rows kept
    # The same records, read in Spanish: the reasons in Spanish, not the kept English ones.
    spanish = config.model_copy(update={"locale": "es"})
    memo = memo.fresh()
    _same_plan(snapshot, spanish, memo)
    assert "duplicate_groups" not in memo.recalled


def test_the_groups_rows_follow_a_renamed_tab(tmp_path: Path) -> None:
    """The Tab column shows each record's tab by its title in the workbook: a tab renamed (and
    its title in the config) is shown by its new title, the records being the same."""
    from sheetcrm.config import TabSettings
    from sheetcrm.workbook import Snapshot

    _book, snapshot, config = _demo(tmp_path)
    memo = parse_cache.RowMemo()
    _same_plan(snapshot, config, memo)
    renamed = Snapshot({("Prospects" if t == "Leads" else t): grid for t, grid in snapshot.tabs.items()},
                       set(snapshot.owned), set(snapshot.hidden))
    prospects = config.model_copy(update={"tabs": {**config.tabs, "leads": TabSettings(title="Prospects")}})
    memo = memo.fresh()
    rows = _same_plan(renamed, prospects, memo)
    assert any(w.value == "Prospects" for w in rows)
