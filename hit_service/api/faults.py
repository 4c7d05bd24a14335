"""Fault injection for tests and benchmarks: the failures MTurk showed, on demand.

Everything here is off unless the service runs in test mode
(``HITFLOW_HIT_SERVICE_TEST_MODE=1``), where ``/_test/faults`` reads and replaces it. The one
exceptions are ``HITFLOW_HIT_SERVICE_LATENCY_MS`` and ``HITFLOW_HIT_SERVICE_RATE_LIMIT_PER_SECOND``:
explicit opt-ins that set the initial ``latency_ms`` / ``rate_limit_per_second`` outside test
mode, so a benchmark can use them without the test endpoints. Production mode
(``HITFLOW_HIT_SERVICE_MODE=production``) refuses to start with any of them.

``rate_limit_per_second`` is a token bucket per requester (burst = one second's worth, at
least 1): a call past it answers ``ThrottlingException`` "Rate exceeded", as AWS does, which
botocore retries with back-off.

State is per process (two service processes on one database have separate faults). Rates
draw from a RNG seeded with ``seed`` (default 0) and re-seeded on every replace, so a test
that sends the same calls sees the same faults.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import asdict, dataclass, fields
from typing import Any

from hit_service.core.exceptions import SERVICE_UNAVAILABLE, ServiceFault, ThrottlingException

CREATE_OPERATIONS = frozenset({"CreateHIT", "CreateHITWithHITType"})


@dataclass
class FaultConfig:
    """What to inject; the JSON of ``/_test/faults``."""

    latency_ms: int = 0
    rate_limit_per_second: float = 0.0
    throttle_rate: float = 0.0
    service_fault_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    fail_creates_after: int | None = None
    fail_creates_count: int = 0
    seed: int = 0

    @classmethod
    def from_json(cls, data: Any) -> FaultConfig:
        """Build from a JSON object; omitted fields take their defaults, unknown ones fail."""
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fields: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        config = cls(**data)
        for name in ("throttle_rate", "service_fault_rate", "drop_after_commit_rate"):
            value = getattr(config, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number from 0 to 1")
        rate = config.rate_limit_per_second
        if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
            raise ValueError("rate_limit_per_second must be a non-negative number (0 = no limit)")
        for name in ("latency_ms", "fail_creates_count", "seed"):
            value = getattr(config, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer")
        after = config.fail_creates_after
        if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after < 0):
            raise ValueError("fail_creates_after must be a non-negative integer or null")
        return config


class Faults:
    """The process's fault state; thread-safe (handlers run in a thread pool)."""

    def __init__(self, enabled: bool, initial_latency_ms: int = 0, initial_rate_limit: float = 0.0) -> None:
        self.enabled = enabled
        self._initial = FaultConfig(latency_ms=initial_latency_ms, rate_limit_per_second=initial_rate_limit)
        self._lock = threading.Lock()
        self._config = FaultConfig(latency_ms=initial_latency_ms, rate_limit_per_second=initial_rate_limit)
        self._buckets: dict[str, tuple[float, float]] = {}  # requester -> (tokens, last refill)
        self._rng = random.Random(self._config.seed)
        self._creates_succeeded = 0
        self._creates_failed = 0

    def snapshot(self) -> dict[str, Any]:
        """The configuration plus counters, for GET /_test/faults."""
        with self._lock:
            return {
                **asdict(self._config),
                "creates_succeeded": self._creates_succeeded,
                "creates_failed_injected": self._creates_failed,
            }

    def replace(self, config: FaultConfig) -> None:
        """Install a new configuration; counters and the RNG start over."""
        with self._lock:
            self._config = config
            self._buckets.clear()
            self._rng = random.Random(config.seed)
            self._creates_succeeded = 0
            self._creates_failed = 0

    def reset(self) -> None:
        """Back to the startup configuration (the env latency, no faults)."""
        self.replace(FaultConfig(**asdict(self._initial)))

    @property
    def latency_seconds(self) -> float:
        """Delay added to every API call."""
        with self._lock:
            return self._config.latency_ms / 1000.0

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._rng.random() < rate

    def check_rate(self, requester: str) -> None:
        """Take a token from the requester's bucket or raise ``ThrottlingException``."""
        with self._lock:
            rate = self._config.rate_limit_per_second
            if rate <= 0:
                return
            burst = max(rate, 1.0)
            now = time.monotonic()
            tokens, last = self._buckets.get(requester, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            allowed = tokens >= 1.0
            self._buckets[requester] = (tokens - 1.0 if allowed else tokens, now)
        if not allowed:
            raise ThrottlingException()

    def before_call(self) -> None:
        """Throttle or fail an API call before it does anything."""
        if not self.enabled:
            return
        with self._lock:
            throttle = self._draw(self._config.throttle_rate)
            fault = not throttle and self._draw(self._config.service_fault_rate)
        if throttle:
            raise ThrottlingException()
        if fault:
            raise ServiceFault("Injected service fault (test mode).", SERVICE_UNAVAILABLE)

    def before_create(self, operation: str) -> None:
        """Fail the create calls that follow ``fail_creates_after`` successful ones."""
        if not self.enabled or operation not in CREATE_OPERATIONS:
            return
        with self._lock:
            after = self._config.fail_creates_after
            fail = (
                after is not None
                and self._creates_succeeded >= after
                and self._creates_failed < self._config.fail_creates_count
            )
            if fail:
                self._creates_failed += 1
        if fail:
            raise ServiceFault("Injected failure of a create call (test mode).", SERVICE_UNAVAILABLE)

    def after_create(self, operation: str) -> None:
        """Count a committed create; maybe answer 500 anyway, as if the response was lost."""
        if not self.enabled or operation not in CREATE_OPERATIONS:
            return
        with self._lock:
            self._creates_succeeded += 1
            drop = self._draw(self._config.drop_after_commit_rate)
        if drop:
            raise ServiceFault("Injected fault after the HIT was committed (test mode).", SERVICE_UNAVAILABLE)
