"""The SQL of the console's "hitflow batches" section: API HITs grouped by hitflow's annotation."""

from __future__ import annotations

import psycopg

from hit_service.core.database import Row

# hitflow's publish DAG tags each HIT "hitflow batch <uuid> row <row_id>"
# (plugins/hitflow/publish/publisher.py); the UUID is the batch its report is filed under.
ANNOTATION_PATTERN = r"^hitflow batch ([0-9a-fA-F-]{36}) row "


class HitflowStore:
    """Reads only the service's own tables: the batch is recovered from each HIT's annotation."""

    @staticmethod
    def batches(conn: psycopg.Connection[Row], requester: str, limit: int) -> list[Row]:
        """One row per hitflow batch of the requester's API HITs, newest first."""
        return conn.execute(
            """WITH tagged AS (
                   SELECT h.hit_id, h.creation_time,
                          lower(substring(h.requester_annotation from %(pattern)s)) AS batch
                   FROM mturk.hits h
                   WHERE h.requester = %(r)s AND h.requester_annotation LIKE 'hitflow batch %%'
                     AND NOT EXISTS (SELECT 1 FROM mturk.batch_rows br WHERE br.hit_id = h.hit_id))
               SELECT t.batch, count(*) AS hits, min(t.creation_time) AS created,
                      coalesce(sum(a.submitted), 0) AS submitted, coalesce(sum(a.approved), 0) AS approved
               FROM tagged t LEFT JOIN (
                   SELECT hit_id,
                          count(*) FILTER (WHERE status IN ('Submitted', 'Approved', 'Rejected')) AS submitted,
                          count(*) FILTER (WHERE status = 'Approved') AS approved
                   FROM mturk.assignments WHERE requester = %(r)s GROUP BY hit_id) a USING (hit_id)
               WHERE t.batch IS NOT NULL
               GROUP BY t.batch ORDER BY min(t.creation_time) DESC, t.batch LIMIT %(limit)s""",
            {"pattern": ANNOTATION_PATTERN, "r": requester, "limit": limit},
        ).fetchall()
