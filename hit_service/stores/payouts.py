"""The SQL of earnings statements, payout runs and the ledger's reconciliation (the rules and the
CSV: ``hit_service/workforce/payouts.py``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from hit_service.core.database import Row, Store
from mturk_money import assignment_fee

ZERO = Decimal("0.00")


# Everything a worker has earned, one row per approved assignment or bonus, with its payout state.
_EARNED = """
    SELECT 'a:' || x.assignment_id AS item, x.worker_id, x.requester, h.reward AS amount, 'reward' AS kind,
           x.approval_time AS earned_at, h.title
    FROM mturk.assignments x JOIN mturk.hits h ON h.hit_id = x.hit_id WHERE x.status = 'Approved'
    UNION ALL
    SELECT 'b:' || b.bonus_id, b.worker_id, b.requester, b.amount, 'bonus', b.grant_time, b.reason
    FROM mturk.bonus_payments b
"""


class Payouts:
    """Statements, runs and reconciliation over the core tables (read-only but for the run)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def statement(self, worker_id: str, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
        """A worker's earnings by requester for [since, until): rewards, bonuses, paid and owed."""
        with self.store.transaction() as conn:
            rows = conn.execute(
                f"""SELECT e.requester, coalesce(a.name, e.requester) AS requester_name,
                           coalesce(sum(e.amount) FILTER (WHERE e.kind = 'reward'), 0) AS rewards,
                           coalesce(sum(e.amount) FILTER (WHERE e.kind = 'bonus'), 0) AS bonuses,
                           coalesce(sum(e.amount) FILTER (WHERE p.item IS NOT NULL), 0) AS paid,
                           coalesce(sum(e.amount) FILTER (WHERE p.item IS NULL), 0) AS owed,
                           count(*) AS items
                    FROM ({_EARNED}) e
                    LEFT JOIN mturk.payout_items p ON p.item = e.item
                    LEFT JOIN mturk.accounts a ON a.requester = e.requester
                    WHERE e.worker_id = %(w)s AND (%(since)s::timestamptz IS NULL OR e.earned_at >= %(since)s)
                      AND (%(until)s::timestamptz IS NULL OR e.earned_at < %(until)s)
                    GROUP BY e.requester, a.name ORDER BY requester_name""",
                {"w": worker_id, "since": since, "until": until},
            ).fetchall()
            waiting = conn.execute(
                """SELECT coalesce(sum(h.reward), 0) AS total FROM mturk.assignments x
                   JOIN mturk.hits h ON h.hit_id = x.hit_id WHERE x.worker_id = %s AND x.status = 'Submitted'""",
                (worker_id,),
            ).fetchone()
        assert waiting is not None
        return {
            "by_requester": rows,
            "rewards": sum((r["rewards"] for r in rows), ZERO),
            "bonuses": sum((r["bonuses"] for r in rows), ZERO),
            "paid": sum((r["paid"] for r in rows), ZERO),
            "owed": sum((r["owed"] for r in rows), ZERO),
            "awaiting_approval": waiting["total"],
        }

    def owed(self) -> list[Row]:
        """What every worker is owed now, by requester (nothing is marked)."""
        with self.store.transaction() as conn:
            return conn.execute(
                f"""SELECT e.worker_id, e.requester, sum(e.amount) AS amount, count(*) AS items
                    FROM ({_EARNED}) e LEFT JOIN mturk.payout_items p ON p.item = e.item
                    WHERE p.item IS NULL GROUP BY e.worker_id, e.requester ORDER BY e.worker_id, e.requester"""
            ).fetchall()

    def run_payout(self, now: datetime) -> tuple[int, list[Row]]:
        """Mark everything owed as paid in a new run; (run ID, lines by worker and requester).

        One run at a time (an advisory lock), and an item can be in one run only (unique key), so
        two operators running at once cannot pay anything twice. A run with nothing owed is not made.
        """
        with self.store.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('hitflow-payout'))")
            conn.execute("SET LOCAL TIME ZONE 'UTC'")
            run = conn.execute(
                "INSERT INTO mturk.payout_runs (created_at, total, lines) VALUES (%s, 0, 0) RETURNING payout_id",
                (now,),
            ).fetchone()
            assert run is not None
            payout_id = int(run["payout_id"])
            taken = conn.execute(
                f"""INSERT INTO mturk.payout_items (payout_id, item, worker_id, requester, amount)
                    SELECT %s, e.item, e.worker_id, e.requester, e.amount FROM ({_EARNED}) e
                    WHERE e.earned_at <= %s
                      AND NOT EXISTS (SELECT 1 FROM mturk.payout_items p WHERE p.item = e.item)""",
                (payout_id, now),
            ).rowcount
            if not taken:
                conn.execute("DELETE FROM mturk.payout_runs WHERE payout_id = %s", (payout_id,))
                return 0, []
            lines = self._lines(conn, payout_id)
            conn.execute(
                "UPDATE mturk.payout_runs SET total = %s, lines = %s WHERE payout_id = %s",
                (sum((r["amount"] for r in lines), ZERO), len(lines), payout_id),
            )
        return payout_id, lines

    @staticmethod
    def _lines(conn: Any, payout_id: int) -> list[Row]:
        return conn.execute(
            """SELECT p.payout_id, p.worker_id, w.name AS worker_name,
                      CASE WHEN pr.email_verified THEN pr.email ELSE '' END AS email,
                      p.requester AS requester_id, coalesce(a.name, p.requester) AS requester_name,
                      count(*) AS items, sum(p.amount) AS amount
               FROM mturk.payout_items p JOIN mturk.workers w ON w.worker_id = p.worker_id
               LEFT JOIN mturk.worker_profiles pr ON pr.worker_id = p.worker_id
               LEFT JOIN mturk.accounts a ON a.requester = p.requester
               WHERE p.payout_id = %s
               GROUP BY p.payout_id, p.worker_id, w.name, pr.email, pr.email_verified, p.requester, a.name
               ORDER BY w.name, requester_name""",
            (payout_id,),
        ).fetchall()

    def runs(self) -> list[Row]:
        with self.store.transaction() as conn:
            return conn.execute("SELECT * FROM mturk.payout_runs ORDER BY payout_id DESC LIMIT 100").fetchall()

    def run_lines(self, payout_id: int) -> list[Row] | None:
        with self.store.transaction() as conn:
            if conn.execute("SELECT 1 FROM mturk.payout_runs WHERE payout_id = %s", (payout_id,)).fetchone() is None:
                return None
            return self._lines(conn, payout_id)

    def reconcile(self, requester: str | None = None) -> dict[str, Any]:
        """Per requester: ledger charges = earnings + fees + reserved, checked HIT by HIT to the cent."""
        with self.store.transaction() as conn:
            hits = conn.execute(
                """SELECT h.hit_id, h.requester, h.reward, h.max_assignments, h.status,
                          coalesce((SELECT -sum(l.amount) FROM mturk.ledger l WHERE l.hit_id = h.hit_id), 0) AS charged,
                          (SELECT count(*) FROM mturk.assignments x WHERE x.hit_id = h.hit_id
                             AND x.status = 'Approved') AS approved,
                          (SELECT count(*) FROM mturk.assignments x WHERE x.hit_id = h.hit_id
                             AND x.status = 'Rejected') AS rejected,
                          coalesce((SELECT sum(b.amount) FROM mturk.bonus_payments b WHERE b.hit_id = h.hit_id), 0)
                             AS bonuses,
                          coalesce((SELECT sum(b.fee) FROM mturk.bonus_payments b WHERE b.hit_id = h.hit_id), 0)
                             AS bonus_fees
                   FROM mturk.hits h WHERE %(r)s::text IS NULL OR h.requester = %(r)s ORDER BY h.requester, h.hit_id""",
                {"r": requester},
            ).fetchall()
        accounts: dict[str, dict[str, Any]] = {}
        for hit in hits:
            fee = assignment_fee(hit["reward"], hit["max_assignments"])
            rewards = hit["reward"] * hit["approved"]
            fees = fee * hit["approved"] + hit["bonus_fees"]
            open_slots = (
                0 if hit["status"] == "Disposed" else hit["max_assignments"] - hit["approved"] - hit["rejected"]
            )
            reserved = (hit["reward"] + fee) * max(open_slots, 0)
            expected = rewards + hit["bonuses"] + fees + reserved
            account = accounts.setdefault(
                hit["requester"],
                {"charged": ZERO, "earned": ZERO, "fees": ZERO, "reserved": ZERO, "mismatches": []},
            )
            account["charged"] += hit["charged"]
            account["earned"] += rewards + hit["bonuses"]
            account["fees"] += fees
            account["reserved"] += reserved
            if hit["charged"] != expected:
                account["mismatches"].append({"hit_id": hit["hit_id"], "charged": hit["charged"], "expected": expected})
        for account in accounts.values():
            account["balanced"] = not account["mismatches"]
        return accounts
