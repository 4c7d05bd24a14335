"""Qualification types, workers' qualifications and qualification requests."""

from __future__ import annotations

from typing import Any

import psycopg

from hit_service.core.database import Params, Row


class QualificationStore:
    """The SQL of qualification types, workers' qualifications and qualification requests."""

    @staticmethod
    def worker_scores(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT q.qualification_type_id, q.integer_value, q.locale_country, q.locale_subdivision
               FROM mturk.qualifications q JOIN mturk.qualification_types t USING (qualification_type_id)
               WHERE q.worker_id = %s AND q.status = 'Granted' AND NOT t.deleted AND t.status = 'Active'""",
            params,
        )

    @staticmethod
    def grant(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.qualifications
                   (qualification_type_id, worker_id, integer_value, status, grant_time)
               VALUES (%s, %s, %s, 'Granted', %s)
               ON CONFLICT (qualification_type_id, worker_id) DO UPDATE SET integer_value = EXCLUDED.integer_value,
                   status = 'Granted', grant_time = EXCLUDED.grant_time""",
            params,
        )

    @staticmethod
    def type_names_of(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT qualification_type_id, name FROM mturk.qualification_types WHERE qualification_type_id = ANY(%s)",
            params,
        )

    @staticmethod
    def mark_type_deleted(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.qualification_types SET deleted = true, status = 'Inactive' WHERE qualification_type_id = %s",
            params,
        )

    @staticmethod
    def revoke(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.qualifications SET status = 'Revoked'
               WHERE qualification_type_id = %s AND worker_id = %s AND status = 'Granted'""",
            params,
        )

    @staticmethod
    def approve_request(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.qualification_requests SET status = 'Approved', decided_at = %s WHERE "
            "qualification_request_id = %s",
            params,
        )

    @staticmethod
    def reject_request(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.qualification_requests SET status = 'Rejected', reason = %s, decided_at = %s WHERE "
            "qualification_request_id = %s",
            params,
        )

    @staticmethod
    def insert_request(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.qualification_requests (qualification_request_id, qualification_type_id,
                   requester, worker_id, test, status, submit_time)
               VALUES (%s, %s, %s, %s, %s, 'Pending', %s)""",
            params,
        )

    @staticmethod
    def lock_pending_request(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.qualification_requests WHERE qualification_request_id = %s FOR UPDATE",
            params,
        )

    @staticmethod
    def type_exists(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT 1 FROM mturk.qualification_types WHERE qualification_type_id = %s AND NOT deleted",
            params,
        )

    @staticmethod
    def update_type(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.qualification_types SET description = %s, status = %s, test = %s, answer_key = %s,
                   test_duration_seconds = %s, retry_delay_seconds = %s, auto_granted = %s,
                   auto_granted_value = %s
               WHERE qualification_type_id = %s RETURNING *""",
            params,
        )

    @staticmethod
    def score(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.qualifications WHERE qualification_type_id = %s AND worker_id = %s",
            params,
        )

    @staticmethod
    def page_of_holders(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT * FROM mturk.qualifications WHERE qualification_type_id = %s AND status = %s
               AND worker_id > %s ORDER BY worker_id LIMIT %s""",
            params,
        )

    @staticmethod
    def requestable_for_worker(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT t.*, q.status AS score_status, q.integer_value,
                      (SELECT r.status FROM mturk.qualification_requests r
                       WHERE r.qualification_type_id = t.qualification_type_id AND r.worker_id = %(w)s
                       ORDER BY r.submit_time DESC LIMIT 1) AS request_status
               FROM mturk.qualification_types t
               LEFT JOIN mturk.qualifications q
                      ON q.qualification_type_id = t.qualification_type_id AND q.worker_id = %(w)s
               WHERE NOT t.deleted AND t.status = 'Active' AND (t.test IS NOT NULL OR t.auto_granted)
               ORDER BY t.name""",
            params,
        )

    @staticmethod
    def score_status(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT status FROM mturk.qualifications WHERE qualification_type_id = %s AND worker_id = %s",
            params,
        )

    @staticmethod
    def latest_request(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT status, decided_at FROM mturk.qualification_requests
               WHERE qualification_type_id = %s AND worker_id = %s ORDER BY submit_time DESC LIMIT 1""",
            params,
        )

    @staticmethod
    def insert_type(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.qualification_types (qualification_type_id, requester, name, description,
                   keywords, status, retry_delay_seconds, test, answer_key, test_duration_seconds,
                   auto_granted, auto_granted_value, creation_time)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
            params,
        )

    @staticmethod
    def type_row(conn: psycopg.Connection[Row], type_id: str, *, lock: bool = False) -> Row | None:
        """A qualification type that is not deleted (locked for the transaction with ``lock``)."""
        sql = "SELECT * FROM mturk.qualification_types WHERE qualification_type_id = %s AND NOT deleted"
        return conn.execute(sql + (" FOR UPDATE" if lock else ""), (type_id,)).fetchone()

    @staticmethod
    def search_types(
        conn: psycopg.Connection[Row],
        requester: str,
        *,
        owned_only: bool,
        requestable_only: bool,
        text: str | None,
        after: str | None,
        limit: int,
    ) -> list[Row]:
        """Types the requester may see (own, or any active one), by ID after ``after``;
        ``text`` matches name, description or keywords (case-insensitive, literally)."""
        query: dict[str, Any] = {"r": requester, "limit": limit}
        filters = ["NOT deleted"]
        filters.append("requester = %(r)s" if owned_only else "(requester = %(r)s OR status = 'Active')")
        if requestable_only:
            filters.append("(test IS NOT NULL OR auto_granted)")
        if text:
            filters.append("(name ILIKE %(q)s OR description ILIKE %(q)s OR coalesce(keywords, '') ILIKE %(q)s)")
            query["q"] = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if after is not None:
            query["after"] = after
            filters.append("qualification_type_id > %(after)s")
        return conn.execute(
            f"""SELECT * FROM mturk.qualification_types WHERE {" AND ".join(filters)}
                ORDER BY qualification_type_id LIMIT %(limit)s""",
            query,
        ).fetchall()

    @staticmethod
    def pending_requests(
        conn: psycopg.Connection[Row], requester: str, type_id: str | None, after: str, limit: int
    ) -> list[Row]:
        """Pending requests for the requester's types (or one type), by ID after ``after``."""
        query: dict[str, Any] = {"r": requester, "limit": limit, "after": after}
        extra = ""
        if type_id:
            extra = "AND qualification_type_id = %(t)s"
            query["t"] = type_id
        return conn.execute(
            f"""SELECT * FROM mturk.qualification_requests WHERE requester = %(r)s AND status = 'Pending' {extra}
                    AND qualification_request_id > %(after)s
                ORDER BY qualification_request_id LIMIT %(limit)s""",
            query,
        ).fetchall()

    @staticmethod
    def choices_of_requester(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT qualification_type_id, name FROM mturk.qualification_types
               WHERE requester = %s AND NOT deleted ORDER BY lower(name)""",
            params,
        )
