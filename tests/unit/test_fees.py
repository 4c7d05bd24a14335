from __future__ import annotations

from decimal import Decimal

import pytest

from hitflow import fees


@pytest.mark.parametrize(
    ("reward", "assignments", "expected"),
    [
        ("0.10", 3, "0.36"),  # MTurk's own example: 20 % commission
        ("0.10", 10, "1.40"),  # 10+ assignments: 40 %
        ("0.01", 1, "0.02"),  # 20 % of a cent rounds to 0, the $0.01 minimum applies
        ("0.04", 2, "0.10"),  # 0.008 rounds to 0.01
        ("1.00", 9, "10.80"),
        ("5", 1, "6.00"),
    ],
)
def test_hit_cost_follows_mturk_fee_rules(reward: str, assignments: int, expected: str) -> None:
    assert fees.hit_cost(fees.parse_money(reward), assignments) == Decimal(expected)


def test_batch_cost_is_per_hit_times_hits() -> None:
    assert fees.batch_cost(Decimal("0.10"), 3, 54) == Decimal("19.44")


@pytest.mark.parametrize("bad", ["$0.10", "0.105", "-1", "", "1e2", "0,10", " 0.10"])
def test_parse_money_refuses_what_mturk_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="MTurk's format"):
        fees.parse_money(bad)
