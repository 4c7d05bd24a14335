"""SQL of the money views and of releasing held money: the ledger's pages and export, a batch's
spending by part, the set-based release of untaken slots (``hit_service.core.release``) and the
account's name. Methods take an open connection (``Store.transaction``), as every store's do.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg

from hit_service.core.database import Row

LEDGER_PAGE = 100
# Kinds of ledger entries, as the ledger's filter offers them (and what each means).
LEDGER_KINDS = {
    "opening": "opening balance",
    "adjustment": "balance set by the operator",
    "hit": "HIT created (rewards and fees reserved)",
    "additional": "assignments added",
    "retype": "HIT type changed (reward difference)",
    "override": "rejection overridden (taken again)",
    "bonus": "bonus and its fee",
    "refund": "rejection or deleted HIT (given back)",
    "release": "cancelled batch: untaken slots given back",
}


def _filters(params: dict[str, Any], filters: dict[str, Any]) -> str:
    """The WHERE clause of a ledger query for ``filters`` (batch, kind, date range); fills ``params``."""
    where = ["l.requester = %(req)s"]
    batch = filters.get("batch")
    if batch == "api":
        where.append("l.hit_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mturk.batch_rows r WHERE r.hit_id = l.hit_id)")
    elif batch == "none":
        where.append("l.hit_id IS NULL")
    elif batch is not None:
        where.append("l.hit_id IN (SELECT r.hit_id FROM mturk.batch_rows r WHERE r.batch_id = %(batch)s)")
        params["batch"] = int(batch)
    if filters.get("kind"):
        where.append("l.kind = %(kind)s")
        params["kind"] = filters["kind"]
    if filters.get("since") is not None:
        where.append("l.created_at >= %(since)s")
        params["since"] = filters["since"]
    if filters.get("until") is not None:
        where.append("l.created_at < %(until)s")
        params["until"] = filters["until"]
    return " AND ".join(where)


class LedgerStore:
    """The SQL of the ledger's views and of releasing held money."""

    @staticmethod
    def snapshot(conn: psycopg.Connection[Row]) -> None:
        """Read the rest of this transaction from one snapshot (its first statement): balance and entries agree."""
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    @staticmethod
    def ledger_page(
        conn: psycopg.Connection[Row],
        requester: str,
        filters: dict[str, Any],
        before: int | None,
        limit: int = LEDGER_PAGE,
    ) -> list[Row]:
        """Entries newest first, strictly older than entry ``before``: keyset paging (no OFFSET scan)."""
        params: dict[str, Any] = {"req": requester, "limit": limit}
        where = _filters(params, filters)
        if before is not None:
            where += " AND l.entry_id < %(before)s"
            params["before"] = before
        return conn.execute(
            f"""SELECT l.*, (SELECT r.batch_id FROM mturk.batch_rows r WHERE r.hit_id = l.hit_id LIMIT 1) AS batch_id
                FROM mturk.ledger l WHERE {where} ORDER BY l.entry_id DESC LIMIT %(limit)s""",
            params,
        ).fetchall()

    @staticmethod
    def ledger_totals(conn: psycopg.Connection[Row], requester: str, filters: dict[str, Any]) -> Row:
        """How many entries match and what they add up to."""
        params: dict[str, Any] = {"req": requester}
        row = conn.execute(
            f"""SELECT count(*) AS entries, coalesce(sum(l.amount), 0) AS total,
                       coalesce(sum(l.amount) FILTER (WHERE l.amount < 0), 0) AS spent,
                       coalesce(sum(l.amount) FILTER (WHERE l.amount > 0), 0) AS credited
                FROM mturk.ledger l WHERE {_filters(params, filters)}""",
            params,
        ).fetchone()
        assert row is not None
        return row

    @staticmethod
    def ledger_rows(conn: psycopg.Connection[Row], requester: str, filters: dict[str, Any]) -> Iterator[Row]:
        """Every matching entry, oldest first, with the running sum, from a server-side cursor."""
        params: dict[str, Any] = {"req": requester}
        with conn.cursor(name=f"ledger_{abs(hash(requester))}") as cursor:
            cursor.itersize = 2000
            cursor.execute(
                f"""SELECT l.entry_id, l.created_at, l.kind, l.amount, l.hit_id, l.assignment_id,
                           (SELECT r.batch_id FROM mturk.batch_rows r WHERE r.hit_id = l.hit_id LIMIT 1) AS batch_id,
                           sum(l.amount) OVER (ORDER BY l.entry_id) AS running
                    FROM mturk.ledger l WHERE {_filters(params, filters)} ORDER BY l.entry_id""",
                params,
            )
            yield from cursor

    @staticmethod
    def account_balance(conn: psycopg.Connection[Row], requester: str) -> Decimal:
        row = conn.execute("SELECT balance FROM mturk.accounts WHERE requester = %s", (requester,)).fetchone()
        return Decimal(row["balance"]) if row else Decimal("0.00")

    @staticmethod
    def ledger_batches(conn: psycopg.Connection[Row], requester: str) -> list[Row]:
        """The account's published batches, newest first, for the ledger's batch filter."""
        return conn.execute(
            """SELECT batch_id, name FROM mturk.batches WHERE requester = %s AND status <> 'draft'
               ORDER BY batch_id DESC LIMIT 1000""",
            (requester,),
        ).fetchall()

    # -- a batch's money, by part ----------------------------------------------------------------------

    @staticmethod
    def batch_slots(conn: psycopg.Connection[Row], batch_id: int) -> list[Row]:
        """The batch's paid-for assignment slots grouped by (reward, max_assignments): the fee's inputs.

        A slot is paid for unless its money came back: released by a cancel, a rejection's refund,
        or (a Disposed HIT) every slot but the approved ones.
        """
        return conn.execute(
            """SELECT h.reward, h.max_assignments,
                      sum(CASE WHEN h.status = 'Disposed' THEN coalesce(a.approved, 0)
                               ELSE h.max_assignments - h.released - coalesce(a.rejected, 0) END) AS slots
               FROM mturk.batch_rows r JOIN mturk.hits h USING (hit_id)
               LEFT JOIN (SELECT hit_id, count(*) FILTER (WHERE status = 'Approved') AS approved,
                                 count(*) FILTER (WHERE status = 'Rejected') AS rejected
                          FROM mturk.assignments
                          WHERE hit_id IN (SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %(b)s)
                          GROUP BY hit_id) a ON a.hit_id = h.hit_id
               WHERE r.batch_id = %(b)s GROUP BY h.reward, h.max_assignments""",
            {"b": batch_id},
        ).fetchall()

    @staticmethod
    def batch_bonuses(conn: psycopg.Connection[Row], batch_id: int) -> Row:
        """Bonuses paid on the batch's assignments: their amounts and the ledger's charge for them."""
        row = conn.execute(
            """WITH b AS (SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %(b)s)
               SELECT coalesce((SELECT sum(p.amount) FROM mturk.bonus_payments p
                                WHERE p.hit_id IN (SELECT hit_id FROM b)), 0) AS amount,
                      coalesce((SELECT -sum(l.amount) FROM mturk.ledger l
                                WHERE l.kind = 'bonus' AND l.hit_id IN (SELECT hit_id FROM b)), 0) AS charged""",
            {"b": batch_id},
        ).fetchone()
        assert row is not None
        return row

    @staticmethod
    def batch_ledger(conn: psycopg.Connection[Row], batch_id: int) -> Row:
        """The net of every ledger entry on the batch's HITs, and what cancels released."""
        row = conn.execute(
            """SELECT coalesce(-sum(l.amount), 0) AS net,
                      coalesce(sum(l.amount) FILTER (WHERE l.kind = 'release'), 0) AS released
               FROM mturk.ledger l WHERE l.hit_id IN (SELECT hit_id FROM mturk.batch_rows WHERE batch_id = %s)""",
            (batch_id,),
        ).fetchone()
        assert row is not None
        return row

    # -- releasing held money --------------------------------------------------------------------------

    @staticmethod
    def lock_for_release(conn: psycopg.Connection[Row], requester: str, hit_ids: list[str]) -> list[Row]:
        """The HITs (not Disposed) with their untaken slots, locked in hit_id order (the lock order)."""
        return conn.execute(
            """SELECT hit_id, reward, max_assignments,
                      greatest(max_assignments - released - assignments_pending - assignments_submitted
                               - assignments_completed, 0) AS free
               FROM mturk.hits WHERE hit_id = ANY(%s) AND requester = %s AND status <> 'Disposed'
               ORDER BY hit_id FOR UPDATE""",
            (hit_ids, requester),
        ).fetchall()

    @staticmethod
    def expire_and_mark(conn: psycopg.Connection[Row], now: datetime, released: list[tuple[str, int]]) -> None:
        """Expire the HITs now (never later than they were) and count their released slots."""
        conn.execute(
            """UPDATE mturk.hits h SET expiration = least(h.expiration, %(now)s), released = h.released + x.slots,
                      released_at = coalesce(h.released_at, %(now)s), updated_at = %(now)s
               FROM unnest(%(ids)s::text[], %(slots)s::int[]) AS x(hit_id, slots) WHERE h.hit_id = x.hit_id""",
            {"now": now, "ids": [h for h, _ in released], "slots": [s for _, s in released]},
        )

    @staticmethod
    def credit_many(
        conn: psycopg.Connection[Row], requester: str, now: datetime, credits: list[tuple[str, Decimal]]
    ) -> None:
        """One ledger entry per HIT and one balance update for all of them (kind ``release``)."""
        if not credits:
            return
        conn.execute(
            """INSERT INTO mturk.ledger (requester, amount, kind, hit_id, created_at)
               SELECT %(r)s, x.amount, 'release', x.hit_id, %(now)s
               FROM unnest(%(ids)s::text[], %(amounts)s::numeric[]) AS x(hit_id, amount)""",
            {"r": requester, "now": now, "ids": [h for h, _ in credits], "amounts": [a for _, a in credits]},
        )
        total = sum((a for _, a in credits), Decimal("0.00"))
        conn.execute("UPDATE mturk.accounts SET balance = balance + %s WHERE requester = %s", (total, requester))

    # -- the account's name --------------------------------------------------------------------------

    @staticmethod
    def account_name(conn: psycopg.Connection[Row], requester: str) -> str:
        """The name workers see; empty while it is only the account's key ID."""
        row = conn.execute(
            "SELECT nullif(name, requester) AS name FROM mturk.accounts WHERE requester = %s", (requester,)
        ).fetchone()
        return str(row["name"]) if row and row["name"] else ""

    @staticmethod
    def set_account_name(conn: psycopg.Connection[Row], requester: str, name: str) -> bool:
        """Rename the account; False when another account has that name (names are unique)."""
        taken = conn.execute(
            "SELECT 1 FROM mturk.accounts WHERE name = %s AND requester <> %s", (name, requester)
        ).fetchone()
        if taken:
            return False
        conn.execute("UPDATE mturk.accounts SET name = %s WHERE requester = %s", (name, requester))
        return True
