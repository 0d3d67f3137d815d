"""Python's cyclic garbage collector paused while sheetcrm builds large acyclic structures.

A sync's read and plan, and the parse memo's unpickling, make hundreds of thousands of
objects that live together and form almost no cycles; each full collection would walk them
all over again as they grow."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def paused_collector() -> Iterator[None]:
    """Python's cyclic garbage collector off inside the block (a sync's read and plan, the
    parse memo's unpickling); on again after, if it was on before.

    Planning keeps hundreds of thousands of objects alive at once (the snapshot's cells, the
    records, the results) and makes almost no cycles; each full collection walks them all, so
    at 10k leads the collector was about a quarter of a no-op sync's CPU (2.0 of 7.3 s). The
    read makes no cycles; a plan's few (about 3,000 objects at 10k leads: the rule grammar's
    parser tables, the learned model's handles) wait for the next full collection, which a
    long-running service reaches within its next sync. Reference counting still frees
    everything else at once. Process-wide, as `gc` is: a thread that finds it already off
    leaves it to whoever turned it off."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            # Turned on again, it would first walk everything the plan allocated (0.3-0.6 s at
            # 10k leads) while most of it is about to be freed by reference counting anyway:
            # freeze and unfreeze move every tracked object into the oldest generation without
            # a walk, so the next full collection finds the plan's few cycles, if any remain.
            # (Whatever a caller froze with gc.freeze is unfrozen too: sheetcrm freezes nothing.)
            gc.freeze()
            gc.unfreeze()
            gc.enable()
