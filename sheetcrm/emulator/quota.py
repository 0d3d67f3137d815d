"""Per-minute request quotas, answered with Google's 429 RESOURCE_EXHAUSTED text.

Sheets counts reads and writes separately over a rolling minute; a limit of None
means unlimited, which is the default so ordinary tests never trip over it.
"""

from __future__ import annotations

import collections
import time
from typing import Callable

from .errors import ApiError

PROJECT_NUMBER = "000000000000"


class Quota:
    def __init__(self, reads_per_minute: int | None = None, writes_per_minute: int | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.limits = {"Read": reads_per_minute, "Write": writes_per_minute}
        self.clock = clock
        self._seen: dict[str, collections.deque] = {"Read": collections.deque(), "Write": collections.deque()}

    def charge(self, kind: str) -> None:
        """Count one request of ``kind`` ("Read" or "Write") or refuse it."""
        limit = self.limits[kind]
        if limit is None:
            return
        now = self.clock()
        seen = self._seen[kind]
        while seen and seen[0] <= now - 60:
            seen.popleft()
        if len(seen) >= limit:
            raise ApiError(
                429,
                f"Quota exceeded for quota metric '{kind} requests' and limit '{kind} requests per minute per user' "
                f"of service 'sheets.googleapis.com' for consumer 'project_number:{PROJECT_NUMBER}'.",
            )
        seen.append(now)
