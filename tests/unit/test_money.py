"""MTurk's money format (``mturk_money``) and the reward parsed once into the batch's config."""

from __future__ import annotations

from decimal import Decimal

import pytest

import mturk_money
from hitflow.publish.batch_config import ConfigError, PublishConfig, resolve_config


@pytest.mark.parametrize("text", ["0", "0.1", "0.10", "12.", "1234567.89"])
def test_money_format_accepts_botocores_currency_amount(text: str) -> None:
    assert mturk_money.is_money(text)
    assert mturk_money.parse_money(text) == Decimal(text)


@pytest.mark.parametrize("text", ["$0.10", "0.105", "-1", "1e3", " 1", "0.10\n", "", ".5", None, 1])
def test_money_format_refuses_everything_else(text: object) -> None:
    assert not mturk_money.is_money(text)
    with pytest.raises(ValueError, match="MTurk's format"):
        mturk_money.parse_money(text)


def test_money_is_written_with_two_decimals() -> None:
    assert mturk_money.format_money(Decimal("3")) == "3.00"
    assert mturk_money.cents(Decimal("0.5")) == Decimal("0.50")


def test_the_reward_travels_as_a_decimal_and_is_recorded_as_text() -> None:
    config = resolve_config({"reward": "0.25"})
    assert config.reward == Decimal("0.25") and isinstance(config.reward, Decimal)
    assert config.to_dict()["reward"] == "0.25"
    # what open_batch records and later tasks rebuild the config from
    assert PublishConfig(**config.to_dict()) == config


def test_a_reward_the_schema_lets_by_is_still_a_config_error() -> None:
    """JSON Schema's ``$`` (Python's re.search) accepts a trailing newline; the parse does not."""
    with pytest.raises(ConfigError, match="reward"):
        resolve_config({"reward": "0.25\n"})
