"""MTurk's fees (``mturk_money``): the one module the service charges with and
hitflow's DAGs and reports price with. Figures worked out by hand from MTurk's rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

import mturk_money as fees

D = Decimal


@pytest.mark.parametrize(
    ("reward", "assignments", "fee", "cost"),
    [
        ("0.10", 3, "0.02", "0.36"),  # MTurk's own example
        ("0.10", 9, "0.02", "1.08"),
        ("0.10", 10, "0.04", "1.40"),  # 20 % more from 10 assignments on
        ("0.01", 1, "0.01", "0.02"),  # at least a cent per assignment
        ("0.00", 2, "0.01", "0.02"),
        ("0.04", 2, "0.01", "0.10"),  # 0.008 rounds to 0.01
        ("0.05", 1, "0.01", "0.06"),
        ("0.03", 10, "0.01", "0.40"),  # 0.012 rounds to 0.01
        ("0.33", 1, "0.07", "0.40"),  # 0.066 → 0.07
        ("0.25", 1, "0.05", "0.30"),
        ("0.125", 1, "0.03", "0.155"),  # 0.025 rounds half up (inputs have cents on the wire)
        ("1.00", 9, "0.20", "10.80"),
        ("5", 1, "1.00", "6.00"),
        ("1.00", 100, "0.40", "140.00"),
    ],
)
def test_assignment_fee_and_hit_cost(reward: str, assignments: int, fee: str, cost: str) -> None:
    assert fees.assignment_fee(D(reward), assignments) == D(fee)
    assert fees.hit_cost(D(reward), assignments) == D(cost)


def test_fee_rate() -> None:
    assert fees.fee_rate(1) == D("0.20")
    assert fees.fee_rate(9) == D("0.20")
    assert fees.fee_rate(10) == D("0.40")


def test_batch_cost_is_per_hit_times_hits() -> None:
    assert fees.batch_cost(D("0.10"), 3, 54) == D("19.44")


@pytest.mark.parametrize(
    ("bonus", "fee"),
    [
        ("0.01", "0.01"),  # 0.002: the $0.01 minimum
        ("0.02", "0.01"),
        ("0.04", "0.01"),  # 0.008 rounds up to the minimum anyway
        ("0.05", "0.01"),
        ("0.07", "0.01"),  # 0.014
        ("0.08", "0.02"),  # 0.016 rounds half up
        ("0.10", "0.02"),
        ("0.13", "0.03"),  # 0.026
        ("0.50", "0.10"),
        ("2.00", "0.40"),
    ],
)
def test_bonus_fee(bonus: str, fee: str) -> None:
    assert fees.bonus_fee(D(bonus)) == D(fee)


def test_bonus_fees_price_each_bonus_not_the_sum() -> None:
    # Five $0.02 bonuses: 20 % of the $0.10 total would be $0.02; MTurk takes $0.01 on each.
    assert fees.bonus_fees([D("0.02")] * 5) == D("0.05")
    assert fees.bonus_fees([D("0.10"), D("0.07"), D("0.50")]) == D("0.13")
    assert fees.bonus_fees([]) == D("0.00")


@pytest.mark.parametrize("bad", ["$0.10", "0.105", "-1", "", "1e2", "0,10", " 0.10"])
def test_parse_money_refuses_what_mturk_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="MTurk's format"):
        fees.parse_money(bad)


def test_hitflow_prices_with_the_services_module() -> None:
    """One fee module: hitflow's params and report use the very functions the service charges with."""
    from hit_service.core import lifecycle, models
    from hitflow.collect import policy, report
    from hitflow.publish import batch_config

    assert report.fees is batch_config.fees is policy.fees is fees
    assert models.hit_cost is fees.hit_cost and lifecycle.assignment_fee is fees.assignment_fee
    assert lifecycle.bonus_fee is fees.bonus_fee
