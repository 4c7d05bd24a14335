"""Retries of a chunk, summarised: one line per interval instead of one per failed call.

During an outage every in-flight call fails and retries, so a line per retry (thousands per
chunk, no row named) buries the log. :class:`RetrySummary` counts retries per error and the
rows they hit, and logs one line per ``interval`` seconds and one when the chunk ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

SUMMARY_INTERVAL_SECONDS = 30.0
ROWS_NAMED = 10


def rows_text(rows: set[int]) -> str:
    """``rows 3, 7, 9`` or ``41 rows (3–87; 3, 4, 5 …)``: short however many rows there are."""
    ordered = sorted(rows)
    if len(ordered) <= ROWS_NAMED:
        return "row " + str(ordered[0]) if len(ordered) == 1 else "rows " + ", ".join(map(str, ordered))
    first = ", ".join(map(str, ordered[:ROWS_NAMED]))
    return f"{len(ordered)} rows ({ordered[0]}–{ordered[-1]}; {first} …)"


class RetrySummary:
    """Thread-safe counts of retries per error since the last line; logs at most once per interval."""

    def __init__(
        self,
        label: str,
        log: logging.Logger,
        interval: float = SUMMARY_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.log = log
        self.interval = interval
        self.clock = clock
        self._lock = threading.Lock()
        self._since = clock()
        self._counts: Counter[str] = Counter()
        self._rows: dict[str, set[int]] = {}
        self.total = 0

    def retried(self, error: str, row_id: int) -> None:
        with self._lock:
            self._counts[error] += 1
            self._rows.setdefault(error, set()).add(row_id)
            self.total += 1
            due = self.clock() - self._since >= self.interval
        if due:
            self.flush()

    def flush(self, final: bool = False) -> None:
        """Log what was counted since the last line (nothing if nothing was)."""
        with self._lock:
            counts, rows, since = self._counts, self._rows, self._since
            self._counts, self._rows, self._since = Counter(), {}, self.clock()
        if not counts:
            return
        seconds = self._since - since
        parts = [f"{error} ×{n} ({rows_text(rows[error])})" for error, n in counts.most_common()]
        self.log.warning(
            "%s: %s retries in the last %.0f s%s: %s",
            self.label,
            sum(counts.values()),
            seconds,
            " (chunk ending)" if final else "",
            "; ".join(parts),
        )
