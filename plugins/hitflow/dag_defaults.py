"""What every hitflow DAG shares: its start date and task defaults (retries with backoff)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

START_DATE = datetime(2026, 11, 1, tzinfo=UTC)

DEFAULT_ARGS: dict[str, Any] = {
    "owner": "hitflow",
    "retries": 2,
    "retry_delay": timedelta(seconds=30),
    "retry_exponential_backoff": 2.0,  # a multiplier in Airflow 3.3 (True would mean 1.0: no growth)
}
