"""A batch's summary boxes: its money by part and the time its HITs have left.

"Cost so far $16.56 of $16.20" once a bonus was paid: a single figure mixed the plan (rewards
and fees of every slot) with bonuses nobody planned. The boxes now show rewards, fees and
bonuses (with their fees) apart, each exact, and what a cancel gave back; their sum is what
the ledger's entries on the batch's HITs add up to (a test holds them together).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg

from hit_service.core.database import Row
from hit_service.stores.ledger import LedgerStore
from mturk_money import assignment_fee

ZERO = Decimal("0.00")


def batch_money(conn: psycopg.Connection[Row], batch_id: int) -> dict[str, Decimal]:
    """Rewards and fees of the slots still paid for, bonuses and their fees, what was released."""
    rewards = fees = ZERO
    for group in LedgerStore.batch_slots(conn, batch_id):
        slots = int(group["slots"] or 0)
        rewards += group["reward"] * slots
        fees += assignment_fee(group["reward"], group["max_assignments"]) * slots
    bonuses = LedgerStore.batch_bonuses(conn, batch_id)
    ledger = LedgerStore.batch_ledger(conn, batch_id)
    bonus = Decimal(bonuses["amount"])
    return {
        "rewards": rewards,
        "fees": fees,
        "bonuses": bonus,
        "bonus_fees": Decimal(bonuses["charged"]) - bonus,
        "released": Decimal(ledger["released"]),
        "total": Decimal(ledger["net"]),
    }


def time_left(status: str, seconds_left: int, lifetime: int, has_hits: bool) -> str:
    """The "Time left" box: never "expired" while publishing, never days left once cancelled."""
    from hit_service.site.templating import duration

    if status == "cancelled":
        return "none (cancelled)"
    if not has_hits:
        return f"{duration(lifetime)} once published" if status in ("publishing", "draft") else "—"
    if seconds_left <= 0:
        return "expired"
    return duration(seconds_left)


def as_strings(money: dict[str, Decimal]) -> dict[str, Any]:
    """The money figures as the page and progress.json print them."""
    from hit_service.site.templating import money as dollars

    return {key: dollars(value) for key, value in money.items()}
