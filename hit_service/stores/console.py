"""The requester console: users, projects (HIT layouts), batches and their rows."""

from __future__ import annotations

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
