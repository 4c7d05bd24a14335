"""Assignments, bonuses, blocks, messages and notification settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from hit_service.core.database import Params, Row, Store


class AssignmentStore:
    """The SQL of assignments, bonuses, blocks, messages and notification settings."""

    @staticmethod
    def due_check(db: Store, now: datetime) -> Row | None:
        """``{"due": bool}``: is any accepted assignment overdue or submitted one due for approval?

        One read-only round trip outside a transaction: nearly every call finds nothing due.
        """
        return db.read_one(
            """SELECT EXISTS (SELECT 1 FROM mturk.assignments WHERE status = 'Accepted' AND deadline <= %(now)s)
                   OR EXISTS (SELECT 1 FROM mturk.assignments
                              WHERE status = 'Submitted' AND auto_approval_time <= %(now)s) AS due""",
            {"now": now},
        )

    @staticmethod
    def assignment_row(conn: psycopg.Connection[Row], assignment_id: str, *, lock: bool = False) -> Row | None:
        """The assignment's row (locked for the transaction with ``lock``)."""
        sql = "SELECT * FROM mturk.assignments WHERE assignment_id = %s" + (" FOR UPDATE" if lock else "")
        return conn.execute(sql, (assignment_id,)).fetchone()

    @staticmethod
    def lock_settling(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT pg_advisory_xact_lock(%s)",
            params,
        )

    @staticmethod
    def abandon_overdue(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """WITH a AS (UPDATE mturk.assignments SET status = 'Abandoned', updated_at = %(now)s
                          WHERE status = 'Accepted' AND deadline <= %(now)s RETURNING hit_id),
                    c AS (SELECT hit_id, count(*) AS n FROM a GROUP BY hit_id)
               UPDATE mturk.hits h SET assignments_pending = h.assignments_pending - c.n, updated_at = %(now)s
               FROM c WHERE h.hit_id = c.hit_id""",
            params,
        )

    @staticmethod
    def auto_approve_due(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """WITH a AS (UPDATE mturk.assignments
                          SET status = 'Approved', approval_time = auto_approval_time, updated_at = %(now)s
                          WHERE status = 'Submitted' AND auto_approval_time <= %(now)s RETURNING hit_id),
                    c AS (SELECT hit_id, count(*) AS n FROM a GROUP BY hit_id)
               UPDATE mturk.hits h SET assignments_submitted = h.assignments_submitted - c.n,
                      assignments_completed = h.assignments_completed + c.n, updated_at = %(now)s
               FROM c WHERE h.hit_id = c.hit_id""",
            params,
        )

    @staticmethod
    def mark_approved(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.assignments SET status = 'Approved', approval_time = %s,
                   requester_feedback = coalesce(%s, requester_feedback), updated_at = %s
               WHERE assignment_id = %s""",
            params,
        )

    @staticmethod
    def mark_rejected(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.assignments SET status = 'Rejected', rejection_time = %s,
               requester_feedback = %s, updated_at = %s WHERE assignment_id = %s""",
            params,
        )

    @staticmethod
    def insert_bonus(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.bonus_payments (requester, worker_id, assignment_id, hit_id, amount, fee,
               reason, grant_time) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            params,
        )

    @staticmethod
    def block_worker(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.worker_blocks (requester, worker_id, reason, created_at)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (requester, worker_id) DO UPDATE SET reason = EXCLUDED.reason""",
            params,
        )

    @staticmethod
    def unblock_worker(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "DELETE FROM mturk.worker_blocks WHERE requester = %s AND worker_id = %s",
            params,
        )

    @staticmethod
    def upsert_notification_setting(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.notification_settings (hit_type_id, requester, notification, active, updated_at)
               VALUES (%s, %s, %s, %s, %s)
               ON CONFLICT (hit_type_id) DO UPDATE SET notification = EXCLUDED.notification,
                   active = EXCLUDED.active, updated_at = EXCLUDED.updated_at""",
            params,
        )

    @staticmethod
    def claim_op_token(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.op_tokens AS t (requester, operation, token, reference, created_at)
               VALUES (%(r)s, %(o)s, %(t)s, %(ref)s, %(now)s)
               ON CONFLICT (requester, operation, token) DO UPDATE
                   SET reference = EXCLUDED.reference, created_at = EXCLUDED.created_at
                   WHERE t.created_at <= %(old)s
               RETURNING t.reference""",
            params,
        )

    @staticmethod
    def op_token_reference(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT reference FROM mturk.op_tokens WHERE requester = %s AND operation = %s AND token = %s",
            params,
        )

    @staticmethod
    def insert_message(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.messages (requester, worker_id, subject, body, sent_at)
               VALUES (%s, %s, %s, %s, %s)""",
            params,
        )

    @staticmethod
    def count_reviewed(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT count(*) AS n FROM mturk.assignments WHERE hit_id = %s AND status IN ('Approved', 'Rejected')",
            params,
        )

    @staticmethod
    def list_blocks(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT worker_id, reason FROM mturk.worker_blocks WHERE requester = %s AND worker_id > %s
               ORDER BY worker_id LIMIT %s""",
            params,
        )

    @staticmethod
    def workers_who_worked_for(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT DISTINCT worker_id FROM mturk.assignments
               WHERE requester = %s AND worker_id = ANY(%s) AND status IN ('Approved', 'Rejected')""",
            params,
        )

    @staticmethod
    def lock_notification_setting(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT notification, active FROM mturk.notification_settings WHERE hit_type_id = %s FOR UPDATE",
            params,
        )

    @staticmethod
    def page_of_hit(
        conn: psycopg.Connection[Row], hit_id: str, statuses: list[str], after: tuple[datetime, str] | None, limit: int
    ) -> list[Row]:
        """The HIT's assignments in ``statuses`` by (submit time, ID), after the keyset ``after``."""
        query: dict[str, Any] = {"hit": hit_id, "statuses": statuses, "limit": limit}
        keyset = ""
        if after is not None:
            query["t"], query["i"] = after
            keyset = "AND (submit_time, assignment_id) > (%(t)s, %(i)s)"
        return conn.execute(
            f"""SELECT * FROM mturk.assignments WHERE hit_id = %(hit)s AND status = ANY(%(statuses)s) {keyset}
                ORDER BY submit_time, assignment_id LIMIT %(limit)s""",
            query,
        ).fetchall()

    @staticmethod
    def bonus_page(
        conn: psycopg.Connection[Row],
        requester: str,
        *,
        hit_id: str | None,
        assignment_id: str | None,
        after: int,
        limit: int,
    ) -> list[Row]:
        """The requester's bonuses for one HIT (or else one assignment), by ID after ``after``."""
        column, value = ("hit_id", hit_id) if hit_id is not None else ("assignment_id", str(assignment_id))
        return conn.execute(
            f"""SELECT * FROM mturk.bonus_payments WHERE {column} = %s AND requester = %s AND bonus_id > %s
                ORDER BY bonus_id LIMIT %s""",
            (value, requester, after, limit),
        ).fetchall()

    @staticmethod
    def status_counts_of_worker(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT status, count(*) AS n FROM mturk.assignments WHERE worker_id = %s GROUP BY status",
            params,
        )

    @staticmethod
    def insert_accepted(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.assignments (assignment_id, hit_id, requester, worker_id, status, accept_time,
               deadline, updated_at) VALUES (%s, %s, %s, %s, 'Accepted', %s, %s, %s)""",
            params,
        )

    @staticmethod
    def mark_returned(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.assignments SET status = 'Returned', updated_at = %s WHERE assignment_id = %s",
            params,
        )

    @staticmethod
    def hit_id_of(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT hit_id FROM mturk.assignments WHERE assignment_id = %s",
            params,
        )

    @staticmethod
    def lock_assignment(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.assignments WHERE assignment_id = %s FOR UPDATE",
            params,
        )

    @staticmethod
    def is_blocked(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT 1 FROM mturk.worker_blocks WHERE requester = %s AND worker_id = %s",
            params,
        )

    @staticmethod
    def open_assignment_of_worker(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT * FROM mturk.assignments WHERE hit_id = %s AND worker_id = %s
               AND status NOT IN ('Returned', 'Abandoned')""",
            params,
        )

    @staticmethod
    def by_id(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.assignments WHERE assignment_id = %s",
            params,
        )

    @staticmethod
    def mark_submitted(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.assignments SET status = 'Submitted', submit_time = %s, auto_approval_time = %s,
               answer = %s, updated_at = %s WHERE assignment_id = %s RETURNING *""",
            params,
        )
