"""MTurk's pricing rules, in exact decimal money.

The requester pays, per assignment, the reward plus a commission of 20 % of it, another 20 %
when the HIT has 10 or more assignments, and never less than $0.01 of commission.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

MONEY_PATTERN = re.compile(r"^[0-9]+(\.)?[0-9]{0,2}$")  # botocore's CurrencyAmount pattern
CENT = Decimal("0.01")
BASE_RATE = Decimal("0.20")
LARGE_HIT_RATE = Decimal("0.20")
LARGE_HIT_ASSIGNMENTS = 10


def parse_money(value: str) -> Decimal:
    """Parse an amount in MTurk's format ("0.10"); refuse "$0.10", "0.105", "-1"."""
    if not isinstance(value, str) or not MONEY_PATTERN.match(value):
        raise ValueError(f"{value!r} is not an amount in MTurk's format (digits, at most 2 decimals, e.g. 0.10)")
    return Decimal(value)


def commission_per_assignment(reward: Decimal, max_assignments: int) -> Decimal:
    rate = BASE_RATE + (LARGE_HIT_RATE if max_assignments >= LARGE_HIT_ASSIGNMENTS else 0)
    return max(CENT, (reward * rate).quantize(CENT, rounding=ROUND_HALF_UP))


def hit_cost(reward: Decimal, max_assignments: int) -> Decimal:
    """What one HIT costs the requester if every assignment is paid."""
    return max_assignments * (reward + commission_per_assignment(reward, max_assignments))


def batch_cost(reward: Decimal, max_assignments: int, hits: int) -> Decimal:
    return hits * hit_cost(reward, max_assignments)
