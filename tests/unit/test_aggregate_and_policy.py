from __future__ import annotations

from decimal import Decimal

import pytest

from hitflow.collect.aggregate import consensus
from hitflow.collect.policy import ReviewPolicy, resolve_policy
from hitflow.params import ConfigError


def test_consensus_on_known_inputs() -> None:
    result = consensus([30, 32, 31, 60], min_answers=3, agreement_mad_years=5)
    assert result.median_age == 31.5 and result.mad_years == 1.0 and result.answers == 4 and result.agreement


def test_disagreement() -> None:
    result = consensus([20, 40, 60], min_answers=3, agreement_mad_years=5)
    assert result.median_age == 40 and result.mad_years == 20 and not result.agreement


def test_too_few_answers_give_no_consensus() -> None:
    assert consensus([30, 31], min_answers=3, agreement_mad_years=5) is None


def test_review_paths() -> None:
    policy = ReviewPolicy()
    assert policy.review(None) == ("approve", None)
    action, feedback = policy.review("age 200 is outside 1–120")
    assert action == "reject" and "age 200" in feedback and "1 to 120" in feedback
    assert ReviewPolicy(reject_invalid=False).review("no answer") == ("approve", None)


def test_bonus_rule() -> None:
    policy = ReviewPolicy(bonus_amount="0.05", bonus_tolerance_years=3)
    assert policy.earns_bonus(33, 30.0) and not policy.earns_bonus(34, 30.0) and not policy.earns_bonus(None, 30.0)
    assert policy.bonus == Decimal("0.05")
    assert not ReviewPolicy().earns_bonus(30, 30.0)


def test_block_rule() -> None:
    policy = ReviewPolicy(block_rejection_rate=0.5, block_min_assignments=4)
    assert policy.should_block(2, 4) and not policy.should_block(1, 4) and not policy.should_block(3, 3)
    assert not ReviewPolicy().should_block(10, 10)


def test_resolve_policy_refuses_bad_params() -> None:
    with pytest.raises(ConfigError, match="bonus_amount"):
        resolve_policy({"bonus_amount": "$1"})
    with pytest.raises(ConfigError, match="block_rejection_rate"):
        resolve_policy({"block_rejection_rate": 1.5})
    assert resolve_policy({"bonus_amount": "0.05"}).bonus_amount == "0.05"
