"""Chunk size and calls in flight when the user leaves them empty (explicit params always win).

The rule, from what ``make bench`` measured (README, Performance):

* **Chunk size**: one chunk per 2,500 rows, at most 50 chunks (so a run has at most 59 task
  instances), chunks of equal size. 1–2,500 rows: one chunk; 10,000: four; 100,000: forty of
  2,500; beyond 125,000 rows the chunks grow instead. Four chunks of 2,500 were the fastest
  10,000-row split under ``dag.test()``; every chunk costs a task instance and a process start
  under a real scheduler, so fewer, larger chunks win once the API keeps up.
* **Calls in flight per chunk**: start at 64 (at 100 ms per call, 64 gave 37x a serial loop and
  32 gave 24x) and follow the API: a throttled call halves the limit (at most once a second),
  and every ``limit`` calls that succeed raise it by one again, up to 64 — additive increase,
  multiplicative decrease, as TCP shares a link. A chunk thus settles just under the rate the
  API allows instead of retrying at full concurrency.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

ROWS_PER_CHUNK = 2500
MAX_AUTO_CHUNKS = 50
MAX_IN_FLIGHT = 64


def chunk_size_for(rows: int, chosen: int | None) -> int:
    """The chunk size for a batch of ``rows``: ``chosen`` if the user set one, else the rule above."""
    if chosen:
        return chosen
    chunks = min(MAX_AUTO_CHUNKS, max(1, math.ceil(rows / ROWS_PER_CHUNK)))
    return max(1, math.ceil(rows / chunks))


class InFlight:
    """At most ``limit`` calls at once; the limit adapts to throttling unless the user fixed it."""

    def __init__(self, chosen: int | None, *, ceiling: int = MAX_IN_FLIGHT, cut_every: float = 1.0) -> None:
        self.adaptive = chosen is None
        self.ceiling = chosen or ceiling
        self.limit = self.ceiling
        self.lowest = self.limit
        self.cuts = 0
        self._cut_every = cut_every
        self._last_cut = -math.inf
        self._busy = 0
        self._ok = 0
        self._cond = threading.Condition()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the ``limit`` slots for the duration of one call."""
        with self._cond:
            while self._busy >= self.limit:
                self._cond.wait()
            self._busy += 1
        try:
            yield
        finally:
            with self._cond:
                self._busy -= 1
                self._cond.notify()

    def throttled(self) -> None:
        """A call was throttled: halve the limit (once per ``cut_every`` seconds)."""
        if not self.adaptive:
            return
        with self._cond:
            now = time.monotonic()
            if now - self._last_cut >= self._cut_every:
                self.limit = max(1, self.limit // 2)
                self.lowest = min(self.lowest, self.limit)
                self._last_cut = now
                self._ok = 0
                self.cuts += 1

    def succeeded(self) -> None:
        """A call went through: after ``limit`` of them, allow one more in flight."""
        if not self.adaptive or self.limit >= self.ceiling:
            return
        with self._cond:
            self._ok += 1
            if self._ok >= self.limit:
                self.limit = min(self.ceiling, self.limit + 1)
                self._ok = 0
                self._cond.notify()
