"""The console's batches, what issue 22 added: cancelling, duplicate rows, rows left out, drafts.

Functions take an open connection (``Store.transaction``) so callers compose them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from hit_service.core.database import Row

# -- cancelling ------------------------------------------------------------------------------------


# A row's identity for duplicate detection: its values of the template's variables only, as a
# jsonb object (jsonb compares objects by content: column order, file encoding, line endings and
# BOM were gone once the file was read).
_ROW_KEY = """(SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
               FROM jsonb_each(r."values") e WHERE e.key = ANY(%(vars)s))"""
_HIT_KEY = """(SELECT coalesce(jsonb_object_agg(p->>'Name', to_jsonb(p->>'Value')), '{}'::jsonb)
               FROM jsonb_array_elements(h.layout_parameters) p WHERE p->>'Name' = ANY(%(vars)s))"""

HTML_CONTENT = r"<!\[CDATA\[(.*)\]\]></HTMLContent>"  # an HTMLQuestion's page (PostgreSQL's regex; . spans lines)


class BatchStore:
    """The SQL of the console's batch features of issue 22: cancelling, duplicate rows, rows left out."""

    @staticmethod
    def mark_cancelled(conn: psycopg.Connection[Row], requester: str, batch_id: int, now: datetime) -> bool:
        """Mark a published (or publishing, or stopped) batch cancelled; False if it is a draft or was already."""
        row = conn.execute(
            """UPDATE mturk.batches SET status = 'cancelled', finished_at = %s, cancel_total = NULL, cancel_done = 0,
                      cancel_finished_at = NULL, heartbeat = NULL
               WHERE batch_id = %s AND requester = %s AND status NOT IN ('draft', 'cancelled') RETURNING batch_id""",
            (now, batch_id, requester),
        ).fetchone()
        return row is not None

    @staticmethod
    def start_cancel(conn: psycopg.Connection[Row], batch_id: int, now: datetime) -> str:
        """Count the HITs the cancel goes through; the batch's requester."""
        row = conn.execute(
            """UPDATE mturk.batches b SET cancel_total = (SELECT count(hit_id) FROM mturk.batch_rows r
                                                         WHERE r.batch_id = b.batch_id),
                      cancel_done = 0, heartbeat = %s, error = NULL
               WHERE batch_id = %s RETURNING requester""",
            (now, batch_id),
        ).fetchone()
        assert row is not None
        return str(row["requester"])

    @staticmethod
    def hit_chunk(conn: psycopg.Connection[Row], batch_id: int, after: str, limit: int) -> list[str]:
        """The batch's HIT IDs after ``after``, in order (the chunks a cancel goes through)."""
        return [
            r["hit_id"]
            for r in conn.execute(
                """SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %s AND hit_id > %s
                   ORDER BY hit_id LIMIT %s""",
                (batch_id, after, limit),
            )
        ]

    @staticmethod
    def wait_for_publisher(lock_conn: psycopg.Connection[Any], namespace: int, batch_id: int) -> None:
        """Take the batch's publish lock (session-level, on its own connection): a chunk in flight ends first."""
        lock_conn.execute("SELECT pg_advisory_lock(%s, %s)", (namespace, batch_id))

    @staticmethod
    def batch_names(conn: psycopg.Connection[Row], batch_ids: list[int]) -> list[Row]:
        return conn.execute(
            "SELECT batch_id, name, created_at FROM mturk.batches WHERE batch_id = ANY(%s) ORDER BY batch_id",
            (batch_ids,),
        ).fetchall()

    @staticmethod
    def cancel_step(conn: psycopg.Connection[Row], batch_id: int, done: int, now: datetime) -> None:
        conn.execute(
            "UPDATE mturk.batches SET cancel_done = cancel_done + %s, heartbeat = %s WHERE batch_id = %s",
            (done, now, batch_id),
        )

    @staticmethod
    def cancel_finished(conn: psycopg.Connection[Row], batch_id: int, now: datetime) -> None:
        conn.execute(
            "UPDATE mturk.batches SET cancel_finished_at = %s, heartbeat = NULL WHERE batch_id = %s", (now, batch_id)
        )

    @staticmethod
    def cancel_failed(conn: psycopg.Connection[Row], batch_id: int, message: str) -> None:
        conn.execute("UPDATE mturk.batches SET error = %s, heartbeat = NULL WHERE batch_id = %s", (message, batch_id))

    # -- duplicate rows ---------------------------------------------------------------------------------

    @staticmethod
    def duplicates(
        conn: psycopg.Connection[Row],
        requester: str,
        batch_id: int,
        layout_id: str,
        variables: list[str],
        page_hashes: list[tuple[int, str]],
    ) -> Row:
        """How many of a draft's rows were published before, and where.

        Earlier rows are the rows of this project's other batches that were published (not left
        out as duplicates themselves), HITs of the same layout created through the API (their
        HITLayoutParameters) — one hash join on the rows' keys, however many rows there are — and
        API HITs made from an HTMLQuestion whose page is exactly the page this project's template
        makes of the row (``page_hashes``: row number, MD5 of that page), as the publish DAG's HITs
        are when the project uses the DAG's template.
        """
        params: dict[str, Any] = {
            "req": requester,
            "b": batch_id,
            "layout": layout_id,
            "vars": variables,
            "numbers": [n for n, _ in page_hashes],
            "hashes": [h for _, h in page_hashes],
            "cdata": HTML_CONTENT,
        }
        rows = conn.execute(
            f"""WITH earlier AS (
                    SELECT {_ROW_KEY} AS k, r.batch_id FROM mturk.batch_rows r JOIN mturk.batches b USING (batch_id)
                    WHERE b.requester = %(req)s AND b.layout_id = %(layout)s AND b.batch_id <> %(b)s
                      AND b.status <> 'draft' AND NOT r.skipped
                    UNION ALL
                    SELECT {_HIT_KEY}, NULL FROM mturk.hits h
                    WHERE h.requester = %(req)s AND h.layout_id = %(layout)s AND h.layout_parameters IS NOT NULL
                      AND NOT EXISTS (SELECT 1 FROM mturk.batch_rows x WHERE x.hit_id = h.hit_id)),
                mine AS (SELECT r.row_number, {_ROW_KEY} AS k FROM mturk.batch_rows r WHERE r.batch_id = %(b)s),
                pages AS (SELECT DISTINCT md5(substring(h.question FROM %(cdata)s)) AS page
                          FROM mturk.hits h
                          WHERE h.requester = %(req)s AND h.question_kind = 'HTMLQuestion'
                            AND NOT EXISTS (SELECT 1 FROM mturk.batch_rows x WHERE x.hit_id = h.hit_id)),
                found AS (
                    SELECT m.row_number, e.batch_id FROM mine m JOIN earlier e ON e.k = m.k
                    UNION ALL
                    SELECT p.row_number, NULL FROM unnest(%(numbers)s::int[], %(hashes)s::text[]) AS p(row_number, page)
                    JOIN pages USING (page))
                SELECT row_number, min(batch_id) AS batch_id, bool_or(batch_id IS NULL) AS api
                FROM found GROUP BY row_number ORDER BY row_number""",
            params,
        ).fetchall()
        return {
            "count": len(rows),
            "rows": [int(r["row_number"]) for r in rows],
            "batches": sorted({int(r["batch_id"]) for r in rows if r["batch_id"] is not None}),
            "api": any(r["api"] for r in rows),
        }

    @staticmethod
    def draft_rows(conn: psycopg.Connection[Row], batch_id: int) -> list[Row]:
        """Every row of a draft, in order (to render their pages)."""
        return conn.execute(
            'SELECT row_number, "values" FROM mturk.batch_rows WHERE batch_id = %s ORDER BY row_number', (batch_id,)
        ).fetchall()

    @staticmethod
    def skip_rows(conn: psycopg.Connection[Row], batch_id: int, rows: list[int]) -> int:
        """Leave ``rows`` out of the batch (they are published already); the batch's count of them."""
        conn.execute(
            "UPDATE mturk.batch_rows SET skipped = (row_number = ANY(%s)) WHERE batch_id = %s AND hit_id IS NULL",
            (rows, batch_id),
        )
        row = conn.execute(
            """UPDATE mturk.batches SET skipped_rows = (SELECT count(*) FROM mturk.batch_rows
                                                       WHERE batch_id = %(b)s AND skipped)
               WHERE batch_id = %(b)s RETURNING skipped_rows""",
            {"b": batch_id},
        ).fetchone()
        return int(row["skipped_rows"]) if row else 0

    @staticmethod
    def drop_drafts(conn: psycopg.Connection[Row], requester: str, layout_id: str) -> None:
        """Delete the project's unpublished uploads (a new upload replaces them)."""
        conn.execute(
            "DELETE FROM mturk.batches WHERE requester = %s AND layout_id = %s AND status = 'draft'",
            (requester, layout_id),
        )
