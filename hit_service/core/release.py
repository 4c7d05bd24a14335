"""Giving back the money held for assignment slots nobody took, for many HITs at once.

Creating a HIT reserves every slot's reward and fee (``lifecycle``); MTurk called that held
money "assignment liability". When a requester cancels a batch, its HITs expire now and the
money of every slot that is neither accepted, submitted nor reviewed comes back at once: one
ledger entry ``release`` per HIT, one balance update per chunk. Accepted and submitted work
keeps its money, may still be submitted, and is reviewed as usual.

``hits.released`` counts the slots given back, so nothing is given back twice: DeleteHIT refunds
only the slots still held, UpdateHITTypeOfHIT reprices only those, and extending a released
HIT's expiration reserves its released slots again (or fails with InsufficientFunds).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hit_service.core.clock import Clock
from hit_service.core.database import Store
from mturk_money import assignment_fee


@dataclass
class Released:
    """What one call gave back."""

    hits: int
    slots: int
    amount: Decimal


def expire_and_release(store: Store, clock: Clock, requester: str, hit_ids: list[str]) -> Released:
    """Expire ``hit_ids`` (the requester's) now and give back their untaken slots' money, in one transaction."""
    now = clock.now()
    with store.transaction() as conn:
        rows = store.ledger.lock_for_release(conn, requester, hit_ids)
        released = [(r["hit_id"], int(r["free"])) for r in rows]
        credits = [
            (r["hit_id"], (r["reward"] + assignment_fee(r["reward"], r["max_assignments"])) * int(r["free"]))
            for r in rows
            if r["free"] > 0
        ]
        store.ledger.expire_and_mark(conn, now, released)
        store.ledger.credit_many(conn, requester, now, credits)
    return Released(len(rows), sum(s for _, s in released), sum((a for _, a in credits), Decimal("0.00")))
