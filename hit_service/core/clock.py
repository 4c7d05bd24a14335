"""The service's notion of "now", injectable so tests can move time.

Every rule that depends on time (HIT expiration, the 24-hour UniqueRequestToken window,
later auto-approval) asks a ``Clock`` instead of calling ``datetime.now`` directly, so a test
can cross a 24-hour boundary without waiting and without touching the database.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current UTC time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """Wall-clock time; what the service uses outside tests."""

    def now(self) -> datetime:
        """The machine's time in UTC."""
        return datetime.now(UTC)


class OffsetClock:
    """Wall-clock time shifted by an adjustable offset (test mode can advance it)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self._offset = offset
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The machine's time plus the offset."""
        with self._lock:
            offset = self._offset
        return datetime.now(UTC) + offset

    def advance(self, seconds: float) -> None:
        """Move time forward (or back, with a negative number)."""
        with self._lock:
            self._offset += timedelta(seconds=seconds)

    @property
    def offset_seconds(self) -> float:
        """How far this clock is ahead of the machine's."""
        with self._lock:
            return self._offset.total_seconds()


class FrozenClock:
    """A clock that only moves when told to; for unit tests that compare exact times."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The frozen time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the frozen time forward."""
        with self._lock:
            self._now += timedelta(seconds=seconds)
