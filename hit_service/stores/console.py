"""The requester console: users, projects (HIT layouts), batches and their rows."""

from __future__ import annotations

from typing import Any

import psycopg

from hit_service.core.database import Params, Row


class ConsoleStore:
    """The SQL of the requester console: users, projects (HIT layouts), batches and their rows."""

    @staticmethod
    def insert_user(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.requester_users (user_id, requester, name, password_hash, created_at)
               VALUES (%s, %s, %s, %s, %s)""",
            params,
        )

    @staticmethod
    def user_name_taken(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT 1 FROM mturk.requester_users WHERE name = %s",
            params,
        )

    @staticmethod
    def user_by_name(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.requester_users WHERE name = %s",
            params,
        )

    @staticmethod
    def user_with_account(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT u.user_id, u.name, u.requester, a.name AS account_name, a.balance
               FROM mturk.requester_users u JOIN mturk.accounts a USING (requester) WHERE u.user_id = %s""",
            params,
        )

    @staticmethod
    def delete_draft(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """DELETE FROM mturk.batches WHERE batch_id = %s AND requester = %s AND status = 'draft'
               RETURNING batch_id""",
            params,
        )

    @staticmethod
    def mark_published(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.batches SET status = 'published', finished_at = %s
               WHERE batch_id = %s AND status = 'publishing'""",
            params,
        )

    @staticmethod
    def insert_project(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.projects (layout_id, requester, name, title, description, keywords, reward,
                   max_assignments, assignment_duration_seconds, lifetime_seconds,
                   auto_approval_delay_seconds, qualification_requirements, template, sample_values,
                   created_at, updated_at)
               VALUES (%(layout_id)s, %(requester)s, %(name)s, %(title)s, %(description)s, %(keywords)s,
                   %(reward)s, %(max_assignments)s, %(assignment_duration_seconds)s, %(lifetime_seconds)s,
                   %(auto_approval_delay_seconds)s, %(qualification_requirements)s, %(template)s,
                   %(sample_values)s, %(now)s, %(now)s)""",
            params,
        )

    @staticmethod
    def update_project(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.projects SET name = %(name)s, title = %(title)s, description = %(description)s,
                   keywords = %(keywords)s, reward = %(reward)s, max_assignments = %(max_assignments)s,
                   assignment_duration_seconds = %(assignment_duration_seconds)s,
                   lifetime_seconds = %(lifetime_seconds)s,
                   auto_approval_delay_seconds = %(auto_approval_delay_seconds)s,
                   qualification_requirements = %(qualification_requirements)s, template = %(template)s,
                   sample_values = %(sample_values)s, updated_at = %(now)s
               WHERE layout_id = %(layout_id)s AND requester = %(requester)s""",
            params,
        )

    @staticmethod
    def set_batch_hit_type(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.batches SET hit_type_id = %s WHERE batch_id = %s",
            params,
        )

    @staticmethod
    def beat(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.batches SET heartbeat = %s WHERE batch_id = %s",
            params,
        )

    @staticmethod
    def count_created_hits(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.batches SET created_hits = (SELECT count(hit_id) FROM mturk.batch_rows
               WHERE batch_id = %(b)s), heartbeat = %(now)s WHERE batch_id = %(b)s""",
            params,
        )

    @staticmethod
    def answers_of_batch(conn: psycopg.ServerCursor[Row], params: Params = ()) -> psycopg.ServerCursor[Row]:
        return conn.execute(
            """SELECT a.answer FROM mturk.batch_rows r JOIN mturk.assignments a USING (hit_id)
               WHERE r.batch_id = %s AND a.status IN ('Submitted', 'Approved', 'Rejected')""",
            params,
        )

    @staticmethod
    def projects_with_counts(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT p.*, (SELECT count(*) FROM mturk.batches b
                            WHERE b.layout_id = p.layout_id AND b.status <> 'draft') AS batches
               FROM mturk.projects p WHERE p.requester = %s ORDER BY p.created_at DESC""",
            params,
        )

    @staticmethod
    def project(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.projects WHERE layout_id = %s AND requester = %s",
            params,
        )

    @staticmethod
    def insert_draft(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.batches (requester, layout_id, name, status, file_name, file_sha256, variables,
                   row_count, properties, created_at, extra_columns, delimiter)
               VALUES (%s, %s, %s, 'draft', %s, %s, %s, %s, %s, %s, %s, %s) RETURNING batch_id""",
            params,
        )

    @staticmethod
    def batch_with_project(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT b.*, p.name AS project_name, p.template FROM mturk.batches b
               JOIN mturk.projects p USING (layout_id) WHERE b.batch_id = %s AND b.requester = %s""",
            params,
        )

    @staticmethod
    def batches_with_counts(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT b.*, p.name AS project_name,
                      (SELECT count(*) FROM mturk.assignments a JOIN mturk.batch_rows r USING (hit_id)
                       WHERE r.batch_id = b.batch_id AND a.status = 'Submitted') AS to_review
               FROM mturk.batches b JOIN mturk.projects p USING (layout_id)
               WHERE b.requester = %s ORDER BY b.created_at DESC LIMIT 500""",
            params,
        )

    @staticmethod
    def batch_rows(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT row_number, "values", hit_id FROM mturk.batch_rows
               WHERE batch_id = %s ORDER BY row_number LIMIT %s""",
            params,
        )

    @staticmethod
    def batch_row(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT row_number, "values", hit_id FROM mturk.batch_rows WHERE batch_id = %s AND row_number = %s""",
            params,
        )

    @staticmethod
    def mark_publishing(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """UPDATE mturk.batches SET status = 'publishing', published_at = %s, heartbeat = NULL, error = NULL
               WHERE batch_id = %s AND requester = %s AND status IN ('draft', 'stopped') RETURNING batch_id""",
            params,
        )

    @staticmethod
    def stop_publishing(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.batches SET status = 'stopped', error = %s WHERE batch_id = %s AND status = 'publishing'",
            params,
        )

    @staticmethod
    def batch_by_id(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.batches WHERE batch_id = %s",
            params,
        )

    @staticmethod
    def set_row_hit(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.batch_rows SET hit_id = %s WHERE batch_id = %s AND row_number = %s",
            params,
        )

    @staticmethod
    def mark_stopped(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.batches SET status = 'stopped', error = %s WHERE batch_id = %s",
            params,
        )

    @staticmethod
    def progress_hits(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT count(h.hit_id) AS hits,
                      coalesce(sum(h.assignments_pending), 0) AS pending,
                      coalesce(sum(CASE WHEN h.status = 'Disposed' OR h.expiration <= %(now)s THEN 0
                               ELSE greatest(h.max_assignments - h.assignments_pending - h.assignments_submitted
                                             - h.assignments_completed, 0) END), 0) AS available,
                      max(h.expiration) AS expiration
               FROM mturk.batch_rows r JOIN mturk.hits h USING (hit_id) WHERE r.batch_id = %(b)s""",
            params,
        )

    @staticmethod
    def progress_assignments(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT a.status, count(*) AS n FROM mturk.batch_rows r JOIN mturk.assignments a USING (hit_id)
               WHERE r.batch_id = %s GROUP BY a.status""",
            params,
        )

    @staticmethod
    def api_hits(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT h.* FROM mturk.hits h
               WHERE h.requester = %s AND h.status <> 'Disposed'
                 AND NOT EXISTS (SELECT 1 FROM mturk.batch_rows r WHERE r.hit_id = h.hit_id)
               ORDER BY h.creation_time DESC LIMIT %s""",
            params,
        )

    @staticmethod
    def hits_of_batch(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %s AND hit_id IS NOT NULL",
            params,
        )

    @staticmethod
    def workers_summary(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """WITH w AS (
                   SELECT worker_id,
                          count(*) FILTER (WHERE status IN ('Submitted', 'Approved', 'Rejected')) AS submitted,
                          count(*) FILTER (WHERE status = 'Approved') AS approved,
                          count(*) FILTER (WHERE status = 'Rejected') AS rejected,
                          percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM submit_time - accept_time))
                              FILTER (WHERE submit_time IS NOT NULL) AS median_seconds
                   FROM mturk.assignments WHERE requester = %(r)s GROUP BY worker_id)
               SELECT coalesce(w.worker_id, b.worker_id) AS worker_id, coalesce(w.submitted, 0) AS submitted,
                      coalesce(w.approved, 0) AS approved, coalesce(w.rejected, 0) AS rejected,
                      w.median_seconds, b.reason AS blocked
               FROM w FULL JOIN (SELECT worker_id, reason FROM mturk.worker_blocks WHERE requester = %(r)s) b
                    ON b.worker_id = w.worker_id
               ORDER BY 2 DESC, 1 LIMIT 1000""",
            params,
        )

    @staticmethod
    def worker_quals(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT t.qualification_type_id, t.name, q.integer_value, q.status, q.grant_time
               FROM mturk.qualifications q JOIN mturk.qualification_types t USING (qualification_type_id)
               WHERE t.requester = %s AND q.worker_id = %s AND NOT t.deleted ORDER BY t.name""",
            params,
        )

    @staticmethod
    def worker_assignments(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT a.assignment_id, a.hit_id, a.status, a.submit_time, h.title,
                      (SELECT coalesce(sum(amount), 0) FROM mturk.bonus_payments p
                       WHERE p.assignment_id = a.assignment_id) AS bonus
               FROM mturk.assignments a JOIN mturk.hits h USING (hit_id)
               WHERE a.requester = %s AND a.worker_id = %s AND a.status IN ('Submitted', 'Approved', 'Rejected')
               ORDER BY a.submit_time DESC LIMIT 200""",
            params,
        )

    @staticmethod
    def qual_types_with_counts(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT t.*, (SELECT count(*) FROM mturk.qualifications q
                            WHERE q.qualification_type_id = t.qualification_type_id AND q.status = 'Granted')
                          AS holders
               FROM mturk.qualification_types t WHERE t.requester = %s AND NOT t.deleted
               ORDER BY t.creation_time DESC""",
            params,
        )

    @staticmethod
    def try_publish_lock(conn: psycopg.Connection[Any], params: Params = ()) -> psycopg.Cursor[Any]:
        return conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)",
            params,
        )

    @staticmethod
    def batch_status(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT status FROM mturk.batches WHERE batch_id = %s",
            params,
        )

    @staticmethod
    def unpublished_rows(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT row_number, "values" FROM mturk.batch_rows
               WHERE batch_id = %s AND hit_id IS NULL AND NOT skipped ORDER BY row_number LIMIT %s""",
            params,
        )

    @staticmethod
    def assignment_ids_for_review(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT a.assignment_id FROM mturk.batch_rows r JOIN mturk.assignments a USING (hit_id)
               WHERE r.batch_id = %s AND a.assignment_id = ANY(%s)""",
            params,
        )

    @staticmethod
    def results_rows(cursor: psycopg.ServerCursor[Row], params: Params) -> psycopg.ServerCursor[Row]:
        """A batch's HITs × assignments with each worker's approval record, for the results CSV
        (run on a server-side cursor: the caller streams it)."""
        return cursor.execute(
            """
        WITH rates AS MATERIALIZED (  -- once, not once per row of a fast-start cursor plan
            SELECT worker_id,
                   count(*) FILTER (WHERE status = 'Approved') AS life_approved,
                   count(*) FILTER (WHERE status = 'Rejected') AS life_rejected,
                   count(*) FILTER (WHERE status = 'Approved' AND approval_time > %(d30)s) AS d30_approved,
                   count(*) FILTER (WHERE status = 'Rejected' AND rejection_time > %(d30)s) AS d30_rejected,
                   count(*) FILTER (WHERE status = 'Approved' AND approval_time > %(d7)s) AS d7_approved,
                   count(*) FILTER (WHERE status = 'Rejected' AND rejection_time > %(d7)s) AS d7_rejected
            FROM mturk.assignments WHERE requester = %(req)s GROUP BY worker_id)
        SELECT h.hit_id, h.hit_type_id, h.title, h.description, h.keywords, h.reward, h.creation_time,
               h.max_assignments, h.requester_annotation, h.assignment_duration_seconds,
               h.auto_approval_delay_seconds, h.expiration, h.lifetime_seconds, r."values",
               a.assignment_id, a.worker_id, a.status, a.accept_time, a.submit_time, a.auto_approval_time,
               a.approval_time, a.rejection_time, a.requester_feedback, a.answer,
               rt.life_approved, rt.life_rejected, rt.d30_approved, rt.d30_rejected, rt.d7_approved,
               rt.d7_rejected
        FROM mturk.batch_rows r JOIN mturk.hits h USING (hit_id)
        LEFT JOIN mturk.assignments a
               ON a.hit_id = h.hit_id AND a.status IN ('Submitted', 'Approved', 'Rejected')
        LEFT JOIN rates rt ON rt.worker_id = a.worker_id
        WHERE r.batch_id = %(b)s AND h.requester = %(req)s
        ORDER BY r.row_number, a.submit_time, a.assignment_id""",
            params,
        )

    @staticmethod
    def assignments_with_inputs(
        conn: psycopg.Connection[Row], requester: str, batch_id: int | None, status: str | None, limit: int, offset: int
    ) -> list[Row]:
        """A batch's assignments (or the API HITs' when ``batch_id`` is None) with their inputs."""
        where = "r.batch_id = %(b)s" if batch_id is not None else "r.hit_id IS NULL"
        status_filter = "AND a.status = %(s)s" if status else "AND a.status IN ('Submitted', 'Approved', 'Rejected')"
        return conn.execute(
            f"""SELECT a.*, h.title, h.requester_annotation, r."values", r.row_number
                FROM mturk.hits h LEFT JOIN mturk.batch_rows r USING (hit_id)
                JOIN mturk.assignments a ON a.hit_id = h.hit_id
                WHERE h.requester = %(req)s AND {where} {status_filter}
                ORDER BY a.submit_time, a.assignment_id LIMIT %(limit)s OFFSET %(offset)s""",
            {"b": batch_id, "req": requester, "s": status, "limit": limit, "offset": offset},
        ).fetchall()

    @staticmethod
    def project_template(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT template FROM mturk.projects WHERE layout_id = %s AND requester = %s",
            params,
        )
