"""What the domain classes need from the HIT side of ``MTurkBackend``, as an explicit contract.

``Lifecycle``, ``Qualifications`` and ``WorkerSite`` are handed the store, the clock and an
object with this shape (the backend) instead of being mixed into it, so each one's
dependencies are written down and checked rather than stubbed under ``TYPE_CHECKING``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from hit_service.core.database import GroupCommit, Row


class HitRecords(Protocol):
    """HIT shaping, status, paging key and group commits, as ``MTurkBackend`` provides them."""

    @property
    def token_key(self) -> bytes:
        """The key that signs NextTokens (installed at startup)."""
        ...

    def hit_dict(self, row: Row) -> dict[str, Any]: ...

    def status(self, row: Row, now: datetime | None = None) -> str: ...

    def group_commit(self, requester: str) -> GroupCommit: ...
