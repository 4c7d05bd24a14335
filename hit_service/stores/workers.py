"""Workers as the worker site sees them: their HITs, assignments and earnings."""

from __future__ import annotations

import psycopg

from hit_service.core.database import Params, Row
from hit_service.core.rules import status_sql


class WorkerStore:
    """The SQL of workers as the worker site sees them: their HITs, assignments and earnings."""

    @staticmethod
    def worker_exists(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT 1 FROM mturk.workers WHERE worker_id = %s",
            params,
        )

    @staticmethod
    def worker_row(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.workers WHERE worker_id = %s",
            params,
        )

    @staticmethod
    def hit_with_requester_name(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT h.*, nullif(a.name, a.requester) AS requester_name FROM mturk.hits h
               JOIN mturk.accounts a ON a.requester = h.requester WHERE h.hit_id = %s""",
            params,
        )

    @staticmethod
    def dashboard_assignments(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT x.*, h.title, h.reward, nullif(a.name, a.requester) AS requester_name FROM mturk.assignments x
               JOIN mturk.hits h ON h.hit_id = x.hit_id JOIN mturk.accounts a ON a.requester = x.requester
               WHERE x.worker_id = %s AND x.status NOT IN ('Returned')
               ORDER BY x.accept_time DESC LIMIT 500""",
            params,
        )

    @staticmethod
    def dashboard_bonuses(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT b.*, nullif(a.name, a.requester) AS requester_name FROM mturk.bonus_payments b
               JOIN mturk.accounts a ON a.requester = b.requester
               WHERE b.worker_id = %s ORDER BY b.grant_time DESC LIMIT 200""",
            params,
        )

    @staticmethod
    def dashboard_messages(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT m.*, nullif(a.name, a.requester) AS requester_name FROM mturk.messages m
               JOIN mturk.accounts a ON a.requester = m.requester
               WHERE m.worker_id = %s ORDER BY m.sent_at DESC LIMIT 100""",
            params,
        )

    @staticmethod
    def dashboard_totals(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT coalesce(sum(h.reward) FILTER (WHERE x.status = 'Approved'), 0) AS approved,
                      coalesce(sum(h.reward) FILTER (WHERE x.status = 'Submitted'), 0) AS pending,
                      count(*) FILTER (WHERE x.status = 'Submitted') AS n_submitted,
                      count(*) FILTER (WHERE x.status = 'Approved') AS n_approved,
                      count(*) FILTER (WHERE x.status = 'Rejected') AS n_rejected
               FROM mturk.assignments x JOIN mturk.hits h ON h.hit_id = x.hit_id WHERE x.worker_id = %s""",
            params,
        )

    @staticmethod
    def bonus_total(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT coalesce(sum(amount), 0) AS total FROM mturk.bonus_payments WHERE worker_id = %s",
            params,
        )

    @staticmethod
    def overview_workers(conn: psycopg.Connection[Row]) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT w.worker_id, w.name, w.locale_country, w.locale_subdivision,
                      count(x.*) FILTER (WHERE x.status = 'Submitted') AS submitted,
                      count(x.*) FILTER (WHERE x.status = 'Approved') AS approved,
                      count(x.*) FILTER (WHERE x.status = 'Rejected') AS rejected
               FROM mturk.workers w LEFT JOIN mturk.assignments x ON x.worker_id = w.worker_id
               GROUP BY w.worker_id ORDER BY w.name""",
        )

    @staticmethod
    def discoverable_groups(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            f"""SELECT h.hit_group_id, h.requester, nullif(a.name, a.requester) AS requester_name,
                      min(h.title) AS title,
                      min(h.description) AS description, min(h.reward) AS reward,
                      min(h.assignment_duration_seconds) AS duration, count(*) AS hits,
                      min(h.keywords) AS keywords, max(h.expiration) AS expiration,
                      sum(h.max_assignments - h.assignments_pending - h.assignments_submitted
                          - h.assignments_completed) AS available,
                      (array_agg(h.hit_id ORDER BY h.creation_time, h.hit_id))[1] AS first_hit,
                      (array_agg(h.qualification_requirements))[1] AS requirements,
                      max(h.creation_time) AS newest
               FROM mturk.hits h JOIN mturk.accounts a ON a.requester = h.requester
               WHERE h.status <> 'Disposed' AND h.expiration > %(now)s AND ({status_sql()}) = 'Assignable'
                 AND NOT EXISTS (SELECT 1 FROM mturk.worker_blocks b
                                 WHERE b.requester = h.requester AND b.worker_id = %(w)s)
                 AND NOT EXISTS (SELECT 1 FROM mturk.assignments x
                                 WHERE x.hit_id = h.hit_id AND x.worker_id = %(w)s
                                   AND x.status NOT IN ('Returned', 'Abandoned'))
               GROUP BY h.hit_group_id, h.requester, a.name, a.requester
               ORDER BY max(h.creation_time) DESC LIMIT %(limit)s""",
            params,
        )

    @staticmethod
    def next_hit_of_group(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            f"""SELECT h.hit_id FROM mturk.hits h
               WHERE h.hit_group_id = %(g)s AND h.status <> 'Disposed' AND h.expiration > %(now)s
                 AND ({status_sql()}) = 'Assignable'
                 AND NOT EXISTS (SELECT 1 FROM mturk.assignments x
                                 WHERE x.hit_id = h.hit_id AND x.worker_id = %(w)s
                                   AND x.status NOT IN ('Returned', 'Abandoned'))
               ORDER BY h.creation_time, h.hit_id LIMIT 1""",
            params,
        )

    @staticmethod
    def overview_hits(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            f"""SELECT h.*, nullif(a.name, a.requester) AS requester_name, ({status_sql()}) AS live_status
               FROM mturk.hits h JOIN mturk.accounts a ON a.requester = h.requester
               ORDER BY h.creation_time DESC, h.hit_id DESC LIMIT 200""",
            params,
        )

    @staticmethod
    def insert_worker(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.workers (worker_id, name, password_hash, locale_country, locale_subdivision,
               created_at) VALUES (%s, %s, %s, %s, %s, %s)""",
            params,
        )

    @staticmethod
    def worker_of_session(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT w.* FROM mturk.sessions s JOIN mturk.workers w ON w.worker_id = s.subject
               WHERE s.session_hash = %s AND s.expires_at > %s""",
            params,
        )

    @staticmethod
    def name_taken(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT 1 FROM mturk.workers WHERE name = %s",
            params,
        )

    @staticmethod
    def set_password(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.workers SET password_hash = %s WHERE name = %s RETURNING worker_id",
            params,
        )

    @staticmethod
    def by_name(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT * FROM mturk.workers WHERE name = %s",
            params,
        )

    @staticmethod
    def list_workers(conn: psycopg.Connection[Row]) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT worker_id, name, locale_country, locale_subdivision FROM mturk.workers ORDER BY name",
        )
