"""Settings from the environment, read once at startup.

All variables are prefixed ``HITFLOW_`` so they cannot collide with AWS or Airflow settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LAYOUTS_DIR = REPO_ROOT / "include" / "layouts"
MONEY_RE = re.compile(r"^[0-9]+(\.[0-9]{0,2})?\Z")

_TRUE = {"1", "true", "yes", "on"}


class ConfigError(ValueError):
    """A setting is missing or malformed; the service refuses to start."""


@dataclass(frozen=True)
class Settings:
    """Everything the service needs to run; built by ``from_env`` or directly in tests."""

    db_url: str
    host: str = "127.0.0.1"
    port: int = 8100
    test_mode: bool = False
    layouts_dir: Path = DEFAULT_LAYOUTS_DIR
    initial_balance: Decimal = Decimal("10000.00")
    latency_ms: int = 0
    db_pool_max: int = 10

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``HITFLOW_HIT_SERVICE_*`` and ``HITFLOW_LAYOUTS_DIR``; fail loudly on bad values."""
        env = os.environ if environ is None else environ
        db_url = env.get("HITFLOW_HIT_SERVICE_DB_URL", "").strip()
        if not db_url:
            raise ConfigError("HITFLOW_HIT_SERVICE_DB_URL is required (a postgresql:// URL)")
        if not db_url.startswith(("postgresql://", "postgres://")):
            raise ConfigError("HITFLOW_HIT_SERVICE_DB_URL must be a postgresql:// URL")
        balance_text = env.get("HITFLOW_HIT_SERVICE_INITIAL_BALANCE", "10000.00").strip()
        if not MONEY_RE.match(balance_text):
            raise ConfigError("HITFLOW_HIT_SERVICE_INITIAL_BALANCE must look like 10000.00")
        try:
            balance = Decimal(balance_text).quantize(Decimal("0.01"))
        except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
            raise ConfigError("HITFLOW_HIT_SERVICE_INITIAL_BALANCE is not a number") from exc
        layouts = env.get("HITFLOW_LAYOUTS_DIR", "").strip()
        return cls(
            db_url=db_url,
            host=env.get("HITFLOW_HIT_SERVICE_HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=_int(env, "HITFLOW_HIT_SERVICE_PORT", 8100, 0, 65535),
            test_mode=env.get("HITFLOW_HIT_SERVICE_TEST_MODE", "").strip().lower() in _TRUE,
            layouts_dir=Path(layouts) if layouts else DEFAULT_LAYOUTS_DIR,
            initial_balance=balance,
            latency_ms=_int(env, "HITFLOW_HIT_SERVICE_LATENCY_MS", 0, 0, 600_000),
            db_pool_max=_int(env, "HITFLOW_HIT_SERVICE_DB_POOL_MAX", 10, 1, 1000),
        )


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """An integer setting within [low, high], or ``default`` when unset."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value
