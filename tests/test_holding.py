"""The pure part of a merge's holds (`sheetcrm.workbook.holding`): which held rows were a
person's, and the requests that put them back where they were."""

from __future__ import annotations

from sheetcrm.workbook.holding import Hold, misplaced, restore_requests


def _kinds(requests_):
    return [(next(iter(r)), _where(r)) for r in requests_]


def _where(r):
    (kind, body), = r.items()
    if kind in ("insertDimension", "deleteDimension"):
        return body["range"]["startIndex"]
    if kind == "copyPaste":
        return body["source"]["startRowIndex"], body["destination"]["startRowIndex"]
    return body.get("sheetId")


def test_a_row_holding_another_merged_id_of_the_batch_is_right_and_a_persons_row_is_not():
    hold = Hold("Accounts", "_sheetcrm hold 9", 9, 1, 5, ((3, "ACC-3"), (6, "ACC-6"), (8, "ACC-8")))
    # Rows 3 and 6 swapped by a sort (both merged: fine); row 8 now a person's row.
    assert misplaced(hold, [None, None, "ACC-6", None, None, "ACC-3", None, "ACC-2"]) == {8}
    # The same merged ID twice counts once; an empty held row is put back too (a blank row).
    assert misplaced(hold, [None, None, "ACC-3", None, None, "ACC-3", None, None]) == {6, 8}


def test_restore_puts_the_tab_back_then_removes_only_the_merged_rows():
    hold = Hold("Accounts", "_sheetcrm hold 9", 9, 1, 5, ((3, "ACC-3"), (6, "ACC-6")))
    out = restore_requests([hold], {hold.title: {6}}, {"Accounts": 100}, {"Accounts": 20})
    # Empty rows where rows 3 and 6 were (0-based 2 and 5), the person's row pasted back into
    # its own with no offset, the one standing for ACC-3 removed again, the hold dropped.
    assert _kinds(out) == [("insertDimension", 2), ("insertDimension", 5), ("copyPaste", (5, 5)),
                           ("deleteDimension", 2), ("deleteSheet", 9)]
    # Nothing wrong: only the drop.
    assert _kinds(restore_requests([hold], {hold.title: set()}, {"Accounts": 100}, {"Accounts": 20})) == [
        ("deleteSheet", 9)]
    # A tab gone meanwhile: the hold stays, with the person's row in it.
    assert restore_requests([hold], {hold.title: {6}}, {}, {}) == []


def test_two_holds_of_one_tab_are_undone_latest_first():
    first = Hold("Leads", "_sheetcrm hold 1", 1, 1, 4, ((4, "L-4"),), made=1)   # a person's row went
    second = Hold("Leads", "_sheetcrm hold 2", 2, 1, 4, ((4, "L-9"),), made=2)  # the merged row, right
    out = restore_requests([second, first], {first.title: {4}, second.title: set()}, {"Leads": 7}, {"Leads": 10})
    # The second removal is undone first (an empty row at 3), then the first's row comes back
    # at 3 above it, and the empty row, now at 4, goes again.
    assert _kinds(out) == [("insertDimension", 3), ("insertDimension", 3), ("copyPaste", (3, 3)),
                           ("deleteDimension", 4), ("deleteSheet", 2), ("deleteSheet", 1)]
