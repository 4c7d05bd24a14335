"""Accounts and their ledger: balances that never go negative, every change recorded."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import psycopg

from hit_service.core.database import Row


class AccountStore:
    """The SQL of ``mturk.accounts`` and ``mturk.ledger``."""

    @staticmethod
    def ensure_account(conn: psycopg.Connection[Row], requester: str, initial_balance: Decimal) -> None:
        """Create the requester's account with the initial balance unless it exists."""
        conn.execute(
            "INSERT INTO mturk.accounts (requester, balance) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (requester, initial_balance),
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
        """Set one requester's balance (creating the account) or every existing one's."""
        if requester is None:
            cur = conn.execute("UPDATE mturk.accounts SET balance = %s", (balance,))
            return cur.rowcount
        conn.execute(
            """INSERT INTO mturk.accounts (requester, balance) VALUES (%s, %s)
               ON CONFLICT (requester) DO UPDATE SET balance = EXCLUDED.balance""",
            (requester, balance),
        )
        return 1
