"""SQL for the spending limit: the HITs each batch created or is about to create."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any


def hits_committed_since(conn: Any, since: datetime, exclude: Any) -> Iterator[tuple[str, int, int]]:
    """(reward, max_assignments, HITs) per other batch: HITs created since ``since``, and rows
    ready to become HITs in batches still open (they passed their own check)."""
    rows = conn.execute(
        """SELECT b.params->>'reward', (b.params->>'max_assignments')::int,
                  count(*) FILTER (WHERE r.outcome = 'created' AND r.published_at >= %(since)s)
                  + count(*) FILTER (WHERE r.status = 'ready' AND b.status = 'open')
             FROM hitflow.batches b JOIN hitflow.batch_rows r USING (batch_id)
            WHERE b.batch_id <> %(exclude)s
              AND b.params->>'mode' IN ('api', 'both') AND NOT (b.params->>'dry_run')::boolean
              AND (r.published_at >= %(since)s OR (r.status = 'ready' AND b.status = 'open'))
            GROUP BY b.batch_id""",
        {"since": since, "exclude": exclude},
    ).fetchall()
    yield from ((reward, assignments, hits) for reward, assignments, hits in rows if hits)
