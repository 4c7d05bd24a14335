"""The team's spending limit: what one run, and all runs of a UTC day, may commit to HITs.

The limit is not a param: whoever triggers a run could raise a param. It is two Airflow
Variables the team sets (Admin → Variables, or ``AIRFLOW_VAR_…`` in the environment):

* ``hitflow_spend_limit_per_run_usd`` — default :data:`DEFAULT_PER_RUN`;
* ``hitflow_spend_limit_per_day_usd`` — default :data:`DEFAULT_PER_DAY`, counting the HITs
  created since 00:00 UTC plus those that running batches are about to create.

``none`` turns a limit off. A run over either limit creates no HIT: ``check_balance`` releases
its rows and fails with what the run would have cost and how to raise the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import mturk_money as fees

PER_RUN_VARIABLE = "hitflow_spend_limit_per_run_usd"
PER_DAY_VARIABLE = "hitflow_spend_limit_per_day_usd"
DEFAULT_PER_RUN = Decimal("100.00")
DEFAULT_PER_DAY = Decimal("300.00")
_OFF = ("none", "off", "unlimited")


class LimitError(ValueError):
    """A limit Variable that is not an amount; names the Variable."""


@dataclass(frozen=True)
class Limits:
    per_run: Decimal | None
    per_day: Decimal | None


def _parse(name: str, raw: str | None, default: Decimal) -> Decimal | None:
    if raw is None or not str(raw).strip():
        return default
    text = str(raw).strip()
    if text.lower() in _OFF:
        return None
    try:
        return fees.parse_money(text)
    except Exception as err:
        raise LimitError(
            f"Airflow Variable {name}={text!r} is not an amount in USD (such as 100.00) nor 'none'"
        ) from err


def read_limits() -> Limits:
    """The limits from the Variables (their defaults when unset)."""
    from airflow.sdk import Variable

    return Limits(
        per_run=_parse(PER_RUN_VARIABLE, Variable.get(PER_RUN_VARIABLE, default=None), DEFAULT_PER_RUN),
        per_day=_parse(PER_DAY_VARIABLE, Variable.get(PER_DAY_VARIABLE, default=None), DEFAULT_PER_DAY),
    )


def committed_today(conn: Any, batch_id: Any, now: datetime) -> Decimal:
    """What other batches created since 00:00 UTC, or are about to create, with MTurk's fees."""
    from hitflow.publish import spending_store

    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return sum(
        (fees.batch_cost(fees.parse_money(reward), assignments, hits) for reward, assignments, hits in
         spending_store.hits_committed_since(conn, day_start, exclude=batch_id)),
        Decimal("0.00"),
    )  # fmt: skip


def refusal(limits: Limits, cost: Decimal, today: Decimal, what: str) -> str | None:
    """Why a run costing ``cost`` may not go ahead (None: it may); ``what`` describes the run."""
    if limits.per_run is not None and cost > limits.per_run:
        return (
            f"spending limit: this run would cost ${cost} ({what}), more than the per-run limit of "
            f"${limits.per_run}. To go ahead, raise the Airflow Variable {PER_RUN_VARIABLE} "
            "(Admin → Variables; 'none' turns it off) or publish fewer rows (param max_rows)."
        )
    if limits.per_day is not None and today + cost > limits.per_day:
        return (
            f"spending limit: this run would cost ${cost} ({what}) and ${today} is already spent or "
            f"committed today (UTC): ${today + cost} is more than the daily limit of ${limits.per_day}. "
            f"To go ahead, raise the Airflow Variable {PER_DAY_VARIABLE} (Admin → Variables; 'none' "
            "turns it off), wait for tomorrow (UTC) or publish fewer rows (param max_rows)."
        )
    return None
