"""The soak at CI size: bench/soak.py's syncs with a person editing between and during them,
429/503 bursts and dropped connections; nothing may be lost. The full-size figures are in
docs/service.md."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from soak import soak  # noqa: E402


@pytest.mark.slow
def test_soak_loses_nothing():
    figures = soak(syncs=80, seed=11)
    assert figures.losses == 0, figures.problems
    assert not figures.problems
    # The run really was rough: edits during syncs, syncs that failed, every kind of fault.
    assert figures.edits_during_syncs > 20 and figures.stage_changes > 10 and figures.failed_syncs > 0
    assert {"insert", "delete", "sort", "append", "stage"} <= set(figures.edits)
    assert {"dropped connection", "429/503 burst", "answer lost after applying"} <= set(figures.faults)
    assert figures.sync_log_rows == figures.syncs + figures.converged_in
