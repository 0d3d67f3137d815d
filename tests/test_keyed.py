"""keyed.py, the pure part of the Outbox read-back: which rows hold cells meant for another
row, what they are put back to, and when a write is re-aimed or left to a person's change.
(The same through the emulator and a real SMTP server: tests/mail/test_outbox_window.py.)"""

from __future__ import annotations

from sheetcrm.workbook import CellWrite
from sheetcrm.workbook.keyed import check, is_keyed, row_writes

TAB = "Outbox"
ID, STATUS, MID, ERROR = 1, 2, 3, 4


def columns(*rows: list) -> dict:
    """Rows (header first) as the column-major read the backend makes."""
    width = max(len(r) for r in rows)
    return {(TAB, c + 1): [r[c] if c < len(r) else "" for r in rows] for c in range(width)}


def claim(row: int, row_id: str, mid: str) -> list[tuple[CellWrite, CellWrite]]:
    expect = ((ID, row_id), (STATUS, "Approved"))
    writes = [CellWrite(TAB, row, STATUS, "Sending", expect=expect), CellWrite(TAB, row, MID, mid, expect=expect),
              CellWrite(TAB, row, ERROR, None, expect=expect)]
    return [(w, w) for w in writes]


HEADER = ["ID", "Status", "Message-ID", "Error"]


def test_only_the_outboxs_shape_is_keyed():
    assert is_keyed(CellWrite(TAB, 2, STATUS, "Sending", expect=((ID, "OUT-0001"), (STATUS, "Approved"))))
    assert not is_keyed(CellWrite(TAB, 2, ID, "OUT-0001", expect=((ID, None), (2, "Ana"))))  # an ID fill
    assert not is_keyed(CellWrite(TAB, 2, 5, 0.5, expect=((ID, "LEAD-0001"),)))           # a computed cell
    assert not is_keyed(CellWrite(TAB, 2, 2, "x", expect=((ID, None), (2, None))))        # an appended row


def test_a_claim_sorted_onto_another_row_is_put_back_and_re_aimed():
    prior = columns(HEADER, ["OUT-0001", "Approved", "", ""], ["OUT-0002", "Draft", "", "old note"])
    # Sorted before the write: OUT-0002 took row 2 and got OUT-0001's claim.
    after = columns(HEADER, ["OUT-0002", "Sending", "<OUT-0001.t0@x>", ""], ["OUT-0001", "Approved", "", ""])
    groups = list(row_writes(claim(2, "OUT-0001", "<OUT-0001.t0@x>")).values())
    result = check(groups, prior, after, None)
    put_back, re_aimed = result.repairs
    assert (put_back.key, put_back.rows, put_back.values) == (
        "OUT-0002", {2}, {STATUS: ("Draft", False), MID: (None, False), ERROR: ("old note", False)})
    assert (re_aimed.key, re_aimed.rows) == ("OUT-0001", {3})
    assert re_aimed.values[MID] == ("<OUT-0001.t0@x>", False)
    assert result.landed == {(TAB, 2, STATUS), (TAB, 2, MID), (TAB, 2, ERROR)} and not result.missed


def test_a_claim_on_a_row_with_no_id_is_emptied_and_a_changed_row_is_left_to_the_person():
    prior = columns(HEADER, ["OUT-0002", "Draft"], ["OUT-0001", "Approved"])
    # An older copy restored before the write left row 3 empty, and OUT-0001 is gone: the
    # claim sits on a row with no ID; nothing can be re-aimed.
    after = columns(HEADER, ["OUT-0002", "Draft"], ["", "Sending", "<OUT-0001.t0@x>"])
    result = check(list(row_writes(claim(3, "OUT-0001", "<OUT-0001.t0@x>")).values()), prior, after, None)
    [emptied] = result.repairs
    assert emptied.key is None and emptied.rows == {3}
    assert all(v == (None, False) for v in emptied.values.values())
    assert result.missed == {(TAB, 3, STATUS), (TAB, 3, MID), (TAB, 3, ERROR)}

    # A person set OUT-0001 to Draft meanwhile: the claim is not re-aimed (their change wins).
    after = columns(HEADER, ["OUT-0002", "Sending", "<OUT-0001.t0@x>"], ["OUT-0001", "Draft"])
    prior = columns(HEADER, ["OUT-0001", "Approved"], ["OUT-0002", "Draft"])
    result = check(list(row_writes(claim(2, "OUT-0001", "<OUT-0001.t0@x>")).values()), prior, after, None)
    assert [g.key for g in result.repairs] == ["OUT-0002"] and len(result.missed) == 3


def test_a_row_that_already_held_the_same_cells_is_no_victim():
    # Two rows Failed with the same reason: one was Failed before, the other is this write's.
    expect = ((ID, "OUT-0001"), (STATUS, "Approved"))
    w = CellWrite(TAB, 2, STATUS, "Failed", expect=expect)
    e = CellWrite(TAB, 2, ERROR, "opportunity OPP-9 not found", expect=expect)
    prior = columns(HEADER, ["OUT-0001", "Approved"], ["OUT-0002", "Failed", "", "opportunity OPP-9 not found"])
    after = columns(HEADER, ["OUT-0001", "Failed", "", "opportunity OPP-9 not found"],
                    ["OUT-0002", "Failed", "", "opportunity OPP-9 not found"])
    result = check(list(row_writes([(w, w), (e, e)]).values()), prior, after, None)
    assert result.repairs == [] and result.landed == {w.key, e.key}


def test_a_repair_moved_by_another_sort_is_found_by_the_cells_that_name_its_row():
    # Round 2: the put-back of OUT-0002 (Sent, its own Message-ID) was addressed at row 2, and
    # a second sort put OUT-0003 there first. Judged against the state before anything was
    # sent, only OUT-0002 ever held that Message-ID: OUT-0003 is put back to Draft, and the
    # put-back goes to OUT-0002, which still shows the claim that hit it.
    from sheetcrm.workbook.keyed import RowWrite

    prior = columns(HEADER, ["OUT-0001", "Approved", ""], ["OUT-0002", "Sent", "<OUT-0002.a@x>"],
                    ["OUT-0003", "Draft", ""])
    hit = {STATUS: "Sending", MID: "<OUT-0001.t0@x>"}
    put_back = RowWrite(TAB, ID, "OUT-0002", {STATUS: ("Sent", False), MID: ("<OUT-0002.a@x>", False)}, hit, {2},
                        by_address=False)
    after = columns(HEADER, ["OUT-0003", "Sent", "<OUT-0002.a@x>"], ["OUT-0002", "Sending", "<OUT-0001.t0@x>"],
                    ["OUT-0001", "Sending", "<OUT-0001.t0@x>"])
    settled = {(TAB, ("s", "OUT-0001")): dict(hit)}
    result = check([put_back], prior, after, None, settled)
    by_key = {g.key: g for g in result.repairs}
    assert by_key["OUT-0003"].rows == {2} and by_key["OUT-0003"].values[STATUS] == ("Draft", False)
    assert by_key["OUT-0002"].rows == {3} and by_key["OUT-0002"].values[MID] == ("<OUT-0002.a@x>", False)
    assert set(by_key) == {"OUT-0002", "OUT-0003"}  # OUT-0001's claim landed: it is left as it is


def test_a_late_check_puts_back_victims_and_re_aims_nothing():
    """An earlier write that ended before its read-back (its answer lost, then Google gone) is
    checked by the next write: what it misplaced is put back, but a claim that did not land
    is not re-aimed (the run that meant it has ended), and no plan key is said landed or
    missed (they are that run's plan's, not this one's)."""
    prior = columns(HEADER, ["OUT-0001", "Approved", "", ""], ["OUT-0002", "Draft", "", "old note"])
    after = columns(HEADER, ["OUT-0002", "Sending", "<OUT-0001.t0@x>", ""], ["OUT-0001", "Approved", "", ""])
    groups = list(row_writes(claim(2, "OUT-0001", "<OUT-0001.t0@x>")).values())
    result = check(groups, prior, after, None, late=True)
    [put_back] = result.repairs
    assert (put_back.key, put_back.rows, put_back.values) == (
        "OUT-0002", {2}, {STATUS: ("Draft", False), MID: (None, False), ERROR: ("old note", False)})
    assert not result.landed and not result.missed and not result.settled
    # On a row an older copy left blank, the cells are emptied; a landed write stays.
    after = columns(HEADER, ["OUT-0002", "Draft", "", "old note"], ["", "Sending", "<OUT-0001.t0@x>", ""])
    [emptied] = check(groups, prior, after, None, late=True).repairs
    assert emptied.key is None and emptied.rows == {3} and all(v == (None, False) for v in emptied.values.values())
    landed = columns(HEADER, ["OUT-0001", "Sending", "<OUT-0001.t0@x>", ""], ["OUT-0002", "Draft", "", "old note"])
    assert check(groups, prior, landed, None, late=True).repairs == []
