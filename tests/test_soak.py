"""The soak at CI size: bench/soak.py's syncs with a person editing between and during them,
inserting, deleting and sorting rows between the key re-read and the batchUpdate, with
429/503 bursts and dropped connections; nothing may be lost. Between syncs the outbox job
sends quote emails to a real SMTP server on loopback (aiosmtpd) that answers 451, cuts
connections and is stopped at times, while faults hit the claim and outcome writes, and the
Outbox goes back to earlier states (a Sent row to Approved, an older copy of the tab), also
between the claim's or the outcome's re-read and its write; no email may go out twice. Four
workflow rules run through it all, a day per sync: no Workflow Log key twice, no edge missed.
The full-size figures are in docs/service.md."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from soak import soak  # noqa: E402


@pytest.mark.slow
def test_soak_loses_nothing_and_sends_no_email_twice():
    # Every fault KIND asserted below is scheduled at its first chance (bench/soak.py: SYNC_FAULTS,
    # WRITE_FAULTS, SMTP_FAULTS, the owed cut, down run and single reverts), not left to one
    # lucky seed: seeds 14 (55 syncs), 14, 33, 40 (60) and 14, 15, 33 (70) reached all of them;
    # 15 at 60 syncs missed one revert kind (its only single-row revert found a Sent row once). The
    # COUNT floors (emails, Sent rows, reverted rows...) still depend on the seed's trajectory,
    # which any change to the requests a sync makes moves (the person's edits and the faults
    # draw from one random stream, request by request): at this commit 15, 16, 18 and 19 of
    # 14-21 meet them all (17, which did, now has an older Outbox copy take away no Sent row; 14
    # and 20 send fewer than 21 emails; none of 14-21 loses anything or breaks a rule, once the
    # soak allows a lead typed before the first sync that completed to be taken as there when
    # the rules were armed). 55 syncs with the workflow rules cost the CPU that 70 did without
    # them (144 s). The outbox journal lives in a temporary $XDG_CACHE_HOME of the soak's own.
    figures = soak(syncs=55, seed=16)
    assert figures.losses == 0, figures.problems
    assert not figures.problems
    # The run really was rough: edits during syncs, syncs that failed, every kind of fault.
    assert figures.edits_during_syncs > 20 and figures.stage_changes > 10 and figures.failed_syncs > 0
    assert {"insert", "delete", "sort", "append", "stage"} <= set(figures.edits)
    assert {"dropped connection", "429/503 burst", "answer lost after applying"} <= set(figures.faults)
    assert figures.sync_log_rows == figures.syncs + figures.outbox_runs + figures.converged_in
    # Inserts (typed and blank), deletes and sorts between the key re-read and the batchUpdate:
    # no ID changed, no cell moved, no computed value left on another record's row.
    assert {"window insert", "window blank insert", "window delete", "window sort"} <= set(figures.edits)
    assert figures.window_edits > 20
    assert figures.changed_ids == figures.misplaced_computed == figures.ghost_rows == 0

    # Emails: many went out, through every kind of trouble, and none twice.
    assert figures.duplicate_emails == 0 and figures.rows_sent_twice == 0 and figures.mail_errors == 0
    assert figures.emails_sent > 20 and figures.outbox_status["Sent"] > 20 and figures.failed_outbox_runs > 0
    assert {"tick", "approve", "requote", "sort outbox"} <= set(figures.edits)
    assert figures.edits_during_outbox > 10
    assert {f"{phase}: {fault}" for phase in ("claim", "outcome")
            for fault in ("429/503 burst", "dropped connection", "answer lost after applying")} <= set(figures.faults)
    assert {"451 replies", "connection cut after accepting", "runs with the server down"} <= set(figures.smtp_faults)
    # Rows left at Sending by lost answers and cut connections; the person settled them.
    assert {"had arrived: set Sent", "had not arrived: set Approved"} <= set(figures.left_at_sending)
    assert not {"Approved", "Sending"} & set(figures.outbox_status)
    # The Outbox went back to earlier states, every way; each Sent row it went back on ended at
    # Sent with the message that went out, the journal saying why (checked in mail_errors).
    assert figures.edits["outbox revert"] > 10
    assert {"a Sent row to Approved, with its Message-ID", "a Sent row to Approved, without its Message-ID",
            "an older copy of the tab"} <= set(figures.reverts)
    # A floor on how much was exercised (each reverted row ending at Sent is checked in mail_errors).
    assert figures.reverted_rows >= 5 and figures.removed_sent_rows > 0
    # Rows the journal set back to Sent; a version it holds is never queued again.
    assert figures.sent_by_journal > 5
    # Sorts and older copies of the Outbox between the claim's or the outcome's re-read and its
    # write: the read-back puts misplaced cells back (checked in mail_errors: no row Sent that
    # was never sent, no message on a row with no ID or of another version).
    assert figures.outbox_window_edits > 10 and figures.outbox_repairs > 0
    # Workflows, one day per sync: the Workflow Log holds no key twice, and each rule fired once
    # per edge the person's edits made, as the soak counted them (check_workflows), every kind.
    assert figures.duplicate_keys == figures.missed_edges == figures.extra_firings == 0
    assert set(figures.workflow_firings) == {"WF-0001", "WF-0002", "WF-0003", "WF-0004"}
    assert min(figures.workflow_firings.values()) > 0 and sum(figures.workflow_firings.values()) > 30
