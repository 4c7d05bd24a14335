"""MTurk's money rules, in exact decimal money: the one place they are written down.

Both sides use this package: the HIT service charges balances with it, and hitflow's DAGs and
plugins price batches and write reports with it, so an estimate or a report cannot drift from
what the balance is charged. It has no dependencies (standard library only) so an Airflow
deployment ships it without shipping the HIT service, as the Amazon provider never ships moto.

The format: botocore's ``CurrencyAmount`` (digits, at most two decimals, no sign or "$").
The fees: 20 % of every reward and of every bonus, another 20 % of the reward when a HIT has
10 or more assignments, each fee rounded half up to the cent and never below $0.01 — per
assignment and per bonus, so five $0.02 bonuses cost $0.05 in fees, not 20 % of $0.10.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "BASE_FEE_RATE",
    "BONUS_FEE_RATE",
    "CENT",
    "LARGE_HIT_ASSIGNMENTS",
    "LARGE_HIT_FEE_RATE",
    "MONEY_PATTERN",
    "MONEY_PATTERN_TEXT",
    "POSITIVE_MONEY_PATTERN_TEXT",
    "assignment_fee",
    "batch_cost",
    "bonus_fee",
    "bonus_fees",
    "cents",
    "fee_rate",
    "format_money",
    "hit_cost",
    "is_money",
    "parse_money",
]

# botocore's CurrencyAmount pattern, written once. The text form goes into JSON Schema (Airflow's
# trigger form); the compiled form is matched whole (``fullmatch``: no trailing newline slips by).
MONEY_PATTERN_TEXT = r"^[0-9]+(\.)?[0-9]{0,2}$"
# The same format without zero amounts ("0", "0.00", "."-only forms): a HIT must pay something.
POSITIVE_MONEY_PATTERN_TEXT = r"^(?![0.]+$)[0-9]+\.?[0-9]{0,2}$"
MONEY_PATTERN = re.compile(r"[0-9]+(\.)?[0-9]{0,2}")
CENT = Decimal("0.01")
BASE_FEE_RATE = Decimal("0.20")
LARGE_HIT_FEE_RATE = Decimal("0.20")  # added for HITs with 10 or more assignments
LARGE_HIT_ASSIGNMENTS = 10
BONUS_FEE_RATE = Decimal("0.20")


def is_money(value: object) -> bool:
    """Whether ``value`` is a string in MTurk's money format ("0.10"; not "$0.10", "0.105", "-1")."""
    return isinstance(value, str) and MONEY_PATTERN.fullmatch(value) is not None


def parse_money(value: object) -> Decimal:
    """Parse an amount in MTurk's format ("0.10"); refuse "$0.10", "0.105", "-1" with ``ValueError``."""
    if not is_money(value):
        raise ValueError(f"{value!r} is not an amount in MTurk's format (digits, at most 2 decimals, e.g. 0.10)")
    return Decimal(str(value))


def cents(amount: Decimal) -> Decimal:
    """``amount`` with exactly two decimals (exact for every amount ``parse_money`` accepts)."""
    return amount.quantize(CENT)


def format_money(amount: Decimal) -> str:
    """Money as MTurk writes it: "9999.64"."""
    return str(cents(amount))


def _fee(amount: Decimal, rate: Decimal) -> Decimal:
    """``rate`` of ``amount``, rounded half up to the cent, at least $0.01."""
    return max((amount * rate).quantize(CENT, rounding=ROUND_HALF_UP), CENT)


def fee_rate(max_assignments: int) -> Decimal:
    """The commission on rewards: 20 %, plus 20 % more for HITs with 10 or more assignments."""
    if max_assignments >= LARGE_HIT_ASSIGNMENTS:
        return BASE_FEE_RATE + LARGE_HIT_FEE_RATE
    return BASE_FEE_RATE


def assignment_fee(reward: Decimal, max_assignments: int) -> Decimal:
    """The fee on one assignment of a HIT with ``max_assignments`` assignments."""
    return _fee(reward, fee_rate(max_assignments))


def hit_cost(reward: Decimal, max_assignments: int) -> Decimal:
    """What a HIT costs when every assignment is paid: each one's reward and fee."""
    return (reward + assignment_fee(reward, max_assignments)) * max_assignments


def batch_cost(reward: Decimal, max_assignments: int, hits: int) -> Decimal:
    """What ``hits`` HITs of the same reward and assignments cost."""
    return hits * hit_cost(reward, max_assignments)


def bonus_fee(amount: Decimal) -> Decimal:
    """The fee on one bonus (SendBonus): 20 %, at least $0.01."""
    return _fee(amount, BONUS_FEE_RATE)


def bonus_fees(amounts: Iterable[Decimal]) -> Decimal:
    """The fees on several bonuses: each one priced on its own, never 20 % of their sum."""
    return sum((bonus_fee(amount) for amount in amounts), Decimal("0.00"))
