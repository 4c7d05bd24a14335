"""Accounts and their ledger: balances that never go negative, every change recorded."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import psycopg

from hit_service.core.database import Params, Row


class AccountStore:
    """The SQL of ``mturk.accounts`` and ``mturk.ledger``."""

    @staticmethod
    def ensure_account(conn: psycopg.Connection[Row], requester: str, initial_balance: Decimal) -> None:
        """Create the requester's account with the initial balance unless it exists.

        The opening balance is a ledger entry too, so the ledger always adds up to the balance.
        """
        conn.execute(
            """WITH a AS (INSERT INTO mturk.accounts (requester, balance) VALUES (%(r)s, %(b)s)
                          ON CONFLICT DO NOTHING RETURNING requester, balance)
               INSERT INTO mturk.ledger (requester, amount, kind, created_at)
               SELECT requester, balance, 'opening', now() FROM a WHERE balance <> 0""",
            {"r": requester, "b": initial_balance},
        )

    @staticmethod
    def balance(conn: psycopg.Connection[Row], requester: str) -> Decimal | None:
        """The requester's balance, or None without an account."""
        row = conn.execute("SELECT balance FROM mturk.accounts WHERE requester = %s", (requester,)).fetchone()
        return None if row is None else row["balance"]

    @staticmethod
    def credit(
        conn: psycopg.Connection[Row],
        requester: str,
        amount: Decimal,
        *,
        kind: str,
        now: datetime,
        hit_id: str | None = None,
        assignment_id: str | None = None,
    ) -> None:
        """Add ``amount`` to the balance and record it in the ledger."""
        conn.execute("UPDATE mturk.accounts SET balance = balance + %s WHERE requester = %s", (amount, requester))
        AccountStore._ledger(conn, requester, amount, kind, now, hit_id, assignment_id)

    @staticmethod
    def debit(
        conn: psycopg.Connection[Row],
        requester: str,
        amount: Decimal,
        *,
        kind: str,
        now: datetime,
        hit_id: str | None = None,
        assignment_id: str | None = None,
    ) -> bool:
        """Take ``amount`` from the balance and record it; False (nothing taken) if short.

        The conditional UPDATE locks the account row, so concurrent debits serialize and the
        balance can never go below zero.
        """
        row = conn.execute(
            """UPDATE mturk.accounts SET balance = balance - %(amount)s
               WHERE requester = %(requester)s AND balance >= %(amount)s RETURNING balance""",
            {"amount": amount, "requester": requester},
        ).fetchone()
        if row is None:
            return False
        AccountStore._ledger(conn, requester, -amount, kind, now, hit_id, assignment_id)
        return True

    @staticmethod
    def _ledger(
        conn: psycopg.Connection[Row],
        requester: str,
        amount: Decimal,
        kind: str,
        now: datetime,
        hit_id: str | None,
        assignment_id: str | None,
    ) -> None:
        conn.execute(
            """INSERT INTO mturk.ledger (requester, amount, kind, hit_id, assignment_id, created_at)
               VALUES (%s, %s, %s, %s, %s, %s)""",
            (requester, amount, kind, hit_id, assignment_id, now),
        )

    @staticmethod
    def set_balance(conn: psycopg.Connection[Row], requester: str | None, balance: Decimal) -> int:
        """Set one requester's balance (creating the account) or every existing one's.

        The difference is a ledger entry ('adjustment'; 'opening' for a new account), so the
        ledger still adds up to the balance.
        """
        if requester is None:
            conn.execute(
                """INSERT INTO mturk.ledger (requester, amount, kind, created_at)
                   SELECT requester, %(b)s - balance, 'adjustment', now() FROM mturk.accounts WHERE balance <> %(b)s""",
                {"b": balance},
            )
            return conn.execute("UPDATE mturk.accounts SET balance = %s", (balance,)).rowcount
        old = conn.execute(
            "SELECT balance FROM mturk.accounts WHERE requester = %s FOR UPDATE", (requester,)
        ).fetchone()
        conn.execute(
            """INSERT INTO mturk.accounts (requester, balance) VALUES (%s, %s)
               ON CONFLICT (requester) DO UPDATE SET balance = EXCLUDED.balance""",
            (requester, balance),
        )
        delta = balance - (old["balance"] if old else Decimal(0))
        if delta:
            conn.execute(
                "INSERT INTO mturk.ledger (requester, amount, kind, created_at) VALUES (%s, %s, %s, now())",
                (requester, delta, "adjustment" if old else "opening"),
            )
        return 1

    @staticmethod
    def insert_account_if_new(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        """(requester, balance, name); a new account's balance is its 'opening' ledger entry."""
        return conn.execute(
            """WITH a AS (INSERT INTO mturk.accounts (requester, balance, name) VALUES (%s, %s, %s)
                          ON CONFLICT (requester) DO NOTHING RETURNING requester, balance)
               INSERT INTO mturk.ledger (requester, amount, kind, created_at)
               SELECT requester, balance, 'opening', now() FROM a WHERE balance <> 0""",
            params,
        )

    @staticmethod
    def upsert_key_row(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.access_keys (access_key_id, requester, secret_access_key, source)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (access_key_id) DO UPDATE SET secret_access_key = EXCLUDED.secret_access_key""",
            params,
        )

    @staticmethod
    def delete_expired_sessions(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "DELETE FROM mturk.sessions WHERE subject = %s AND expires_at <= %s",
            params,
        )

    @staticmethod
    def insert_session(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "INSERT INTO mturk.sessions (session_hash, subject, created_at, expires_at) VALUES (%s, %s, %s, %s)",
            params,
        )

    @staticmethod
    def store_session_key(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "INSERT INTO mturk.service_settings (name, value) VALUES ('session_key', %s) ON CONFLICT DO NOTHING",
            params,
        )

    @staticmethod
    def set_key_secret(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.access_keys SET secret_access_key = %s WHERE access_key_id = %s",
            params,
        )

    @staticmethod
    def lock_keys(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT pg_advisory_xact_lock(%s)",
            params,
        )

    @staticmethod
    def insert_account(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        """(requester, balance, name); the balance is its 'opening' ledger entry."""
        return conn.execute(
            """WITH a AS (INSERT INTO mturk.accounts (requester, balance, name) VALUES (%s, %s, %s)
                          RETURNING requester, balance)
               INSERT INTO mturk.ledger (requester, amount, kind, created_at)
               SELECT requester, balance, 'opening', now() FROM a WHERE balance <> 0""",
            params,
        )

    @staticmethod
    def insert_key(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.access_keys (access_key_id, requester, secret_access_key, source)
               VALUES (%s, %s, %s, 'cli')""",
            params,
        )

    @staticmethod
    def delete_session(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "DELETE FROM mturk.sessions WHERE session_hash = %s",
            params,
        )

    @staticmethod
    def key_owner(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT requester FROM mturk.access_keys WHERE access_key_id = %s",
            params,
        )

    @staticmethod
    def resolve(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT requester FROM mturk.accounts WHERE requester = %(r)s OR name = %(r)s
               UNION SELECT requester FROM mturk.access_keys WHERE access_key_id = %(r)s LIMIT 1""",
            params,
        )

    @staticmethod
    def delete_sessions_of(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "DELETE FROM mturk.sessions WHERE subject = %s",
            params,
        )

    @staticmethod
    def clear_failures(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "DELETE FROM mturk.signin_failures WHERE key = %s",
            params,
        )

    @staticmethod
    def session_subject(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT subject FROM mturk.sessions WHERE session_hash = %s AND expires_at > %s",
            params,
        )

    @staticmethod
    def session_key_value(conn: psycopg.Connection[Row]) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT value FROM mturk.service_settings WHERE name = 'session_key'",
        )

    @staticmethod
    def key_record(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT access_key_id, secret_access_key, requester FROM mturk.access_keys WHERE access_key_id = %s",
            params,
        )

    @staticmethod
    def name_taken(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT 1 FROM mturk.accounts WHERE name = %s",
            params,
        )

    @staticmethod
    def list_with_keys(conn: psycopg.Connection[Row]) -> psycopg.Cursor[Row]:
        return conn.execute(
            """SELECT a.requester, a.name, a.balance, a.created_at,
                      coalesce(array_agg(k.access_key_id ORDER BY k.created_at)
                               FILTER (WHERE k.access_key_id IS NOT NULL), '{}') AS keys
               FROM mturk.accounts a LEFT JOIN mturk.access_keys k ON k.requester = a.requester
               GROUP BY a.requester ORDER BY a.created_at, a.requester""",
        )

    @staticmethod
    def block_until(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "UPDATE mturk.signin_failures SET blocked_until = %s WHERE key = %s",
            params,
        )

    @staticmethod
    def blocked_until(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            "SELECT blocked_until FROM mturk.signin_failures WHERE key = ANY(%s) AND blocked_until > %s",
            params,
        )

    @staticmethod
    def record_failure(conn: psycopg.Connection[Row], params: Params = ()) -> psycopg.Cursor[Row]:
        return conn.execute(
            """INSERT INTO mturk.signin_failures AS f (key, failures, last_failure, blocked_until)
               VALUES (%(k)s, 1, %(now)s, %(now)s)
               ON CONFLICT (key) DO UPDATE SET
                   failures = CASE WHEN f.last_failure < %(old)s THEN 1 ELSE f.failures + 1 END,
                   last_failure = %(now)s
               RETURNING failures""",
            params,
        )
