"""The publish DAG's parameters: one definition for the trigger form and for the run itself.

``PARAM_SPECS`` feeds the DAG's typed ``Param`` objects (so the UI renders and validates the
form) and :func:`resolve_config` re-checks the values inside the run, because a scheduled run,
``dag.test()`` or an API caller can skip the form. Anything wrong fails the run before a single
row is claimed or a HIT created.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any, Literal

import mturk_money as fees
from hitflow.params import ConfigError, check_params

__all__ = ["PARAM_SPECS", "ConfigError", "PublishConfig", "resolve_config"]

AGE_GUESS_LAYOUT_ID = "3HITFLOWAGEGUESSLAYOUT00000001"
AGE_GUESS_CROWD_LAYOUT_ID = "3HITFLOWAGEGUESSCROWDLAYOUT001"  # the Crowd HTML Elements version
MAX_CHUNKS = 1000  # below Airflow's [core] max_map_length of 1024

# The Trigger form opens only its first section (reward and assignments, the money) and folds the
# others: the form stays short, so its error banner (shown above Logical Date) stays near the
# Trigger button.
SECTION_ROWS = "Which rows"
SECTION_MODE = "Mode and dry run"
SECTION_HIT = "HIT properties"
SECTION_TUNING = "Tuning"

PARAM_SPECS: dict[str, dict[str, Any]] = {
    "reward": {
        "default": "0.10",
        "type": "string",
        # MTurk's money format without zero amounts: a HIT must pay something.
        "pattern": fees.POSITIVE_MONEY_PATTERN_TEXT,
        "title": "Reward (USD)",
        "rule": "an amount in USD of at least 0.01, with at most 2 decimals and no $ sign, such as 0.10",
        "description": "Reward per assignment in USD: at least 0.01, at most 2 decimals, no $ sign (e.g. 0.10).",
    },
    "max_assignments": {
        "default": 3,
        "type": "integer",
        "minimum": 1,
        "maximum": 1000,
        "title": "Assignments per HIT",
        "description": "How many workers answer each HIT. 10 or more adds MTurk's extra 20 % fee.",
    },
    "max_rows": {
        "section": SECTION_ROWS,
        "default": None,
        "type": ["null", "integer"],
        "minimum": 1,
        "title": "Max rows",
        "description": "Publish at most this many rows in this run (oldest first). Empty: no limit.",
    },
    "scope": {
        "section": SECTION_ROWS,
        "default": "pending",
        "type": "string",
        "enum": ["pending", "interval"],
        "title": "Scope (manual runs)",
        "description": "Manual runs: pending takes every row not yet published, however old; interval only "
        "the day before the Logical Date. Scheduled runs and backfills always take their interval. A Backfill "
        "uses the values in this form only with 'Override parameters on existing runs' ticked.",
    },
    "lifetime_seconds": {
        "section": SECTION_HIT,
        "default": 259200,
        "type": "integer",
        "minimum": 30,
        "maximum": 31536000,
        "title": "HIT lifetime (s)",
        "description": "How long the HIT stays available to workers (30 s to 365 days).",
    },
    "assignment_duration_seconds": {
        "section": SECTION_HIT,
        "default": 600,
        "type": "integer",
        "minimum": 30,
        "maximum": 31536000,
        "title": "Time per assignment (s)",
        "description": "How long a worker has to answer once they accept.",
    },
    "auto_approval_delay_seconds": {
        "section": SECTION_HIT,
        "default": 259200,
        "type": "integer",
        "minimum": 0,
        "maximum": 2592000,
        "title": "Auto-approval delay (s)",
        "description": "Submitted work is approved automatically after this delay (0 to 30 days).",
    },
    "chunk_size": {
        "section": SECTION_TUNING,
        "default": None,
        "type": ["null", "integer"],
        "minimum": 1,
        "maximum": 10000,
        "title": "Rows per chunk",
        "description": "Rows per mapped publish task. Empty: one chunk per 2,500 rows, at most 50 chunks. "
        f"Raised automatically if a batch would need more than {MAX_CHUNKS} chunks.",
    },
    "concurrency": {
        "section": SECTION_TUNING,
        "default": None,
        "type": ["null", "integer"],
        "minimum": 1,
        "maximum": 64,
        "title": "API calls in flight per chunk",
        "description": "Concurrent CreateHITWithHITType calls inside one chunk task. Empty: up to 64, "
        "halved whenever the API throttles and raised again as calls succeed.",
    },
    "mode": {
        "section": SECTION_MODE,
        "default": "api",
        "type": "string",
        "enum": ["api", "csv", "both"],
        "title": "Mode",
        "description": "api: create HITs; csv: only export the bulk-upload CSV for the requester UI; "
        "both: create HITs and export.",
    },
    "layout_id": {
        "section": SECTION_HIT,
        "default": None,
        "type": ["null", "string"],
        "pattern": "^[A-Z0-9]{1,64}$",
        "title": "HIT layout ID",
        "rule": f"a HIT layout ID: 1 to 64 capital letters and digits, such as {AGE_GUESS_LAYOUT_ID}",
        "description": "Use this HIT layout (parameters person_id and image_url) instead of the "
        f"HTMLQuestion template. The bundled one is {AGE_GUESS_LAYOUT_ID}.",
    },
    "task_ui": {
        "section": SECTION_HIT,
        "default": "plain",
        "type": "string",
        "enum": ["plain", "crowd"],
        "title": "Task page",
        "description": "plain: the HTML form (include/templates/age_guess.html); crowd: the same task built "
        "with Crowd HTML Elements, as MTurk's requester UI made them (age_guess_crowd.html). With a "
        f"layout, pick the layout itself: {AGE_GUESS_CROWD_LAYOUT_ID} is the crowd one.",
    },
    "title": {
        "section": SECTION_HIT,
        "default": "Guess this person's age",
        "type": "string",
        "minLength": 1,
        "maxLength": 128,
        "title": "HIT title",
        "description": "Shown to workers in the HIT list.",
    },
    "description": {
        "section": SECTION_HIT,
        "default": "Look at one photo and type how old you think the person is.",
        "type": "string",
        "minLength": 1,
        "maxLength": 2000,
        "title": "HIT description",
        "description": "Shown to workers before they accept.",
    },
    "keywords": {
        "section": SECTION_HIT,
        "default": "age, photo, estimate, image",
        "type": "string",
        "maxLength": 1000,
        "title": "Keywords",
        "description": "Comma-separated search keywords.",
    },
    "dry_run": {
        "section": SECTION_MODE,
        "default": False,
        "type": "boolean",
        "title": "Dry run",
        "description": "Extract, validate, price and check the balance, then release every row: "
        "no HIT, no export, nothing kept.",
    },
}


@dataclasses.dataclass(frozen=True)
class PublishConfig:
    """A validated set of publish parameters (JSON-serialisable through :meth:`to_dict`)."""

    # Parsed once, here: every later use (pricing, CreateHITType, the report) reads this Decimal.
    reward: Decimal = Decimal("0.10")
    max_assignments: int = 3
    lifetime_seconds: int = 259200
    assignment_duration_seconds: int = 600
    auto_approval_delay_seconds: int = 259200
    chunk_size: int | None = None  # None: chosen from the batch size (hitflow.publish.autotune)
    concurrency: int | None = None  # None: adaptive, up to autotune.MAX_IN_FLIGHT
    mode: Literal["api", "csv", "both"] = "api"
    layout_id: str | None = None
    task_ui: Literal["plain", "crowd"] = "plain"
    title: str = "Guess this person's age"
    description: str = "Look at one photo and type how old you think the person is."
    keywords: str = "age, photo, estimate, image"
    dry_run: bool = False
    max_rows: int | None = None
    scope: Literal["pending", "interval"] = "pending"

    @property
    def max_in_flight(self) -> int:
        """The most calls a chunk has in flight (the HTTP pool is sized for it)."""
        from hitflow.publish.autotune import MAX_IN_FLIGHT

        return self.concurrency or MAX_IN_FLIGHT

    def __post_init__(self) -> None:
        # The batch's record in hitflow.batches keeps the reward as text (JSON); it becomes a
        # Decimal when the config is built, so nothing downstream parses or re-checks it.
        if not isinstance(self.reward, Decimal):
            object.__setattr__(self, "reward", fees.parse_money(self.reward))

    @property
    def creates_hits(self) -> bool:
        return self.mode in ("api", "both") and not self.dry_run

    @property
    def exports_csv(self) -> bool:
        return self.mode in ("csv", "both") and not self.dry_run

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the reward as MTurk's text ("0.10")."""
        return dataclasses.asdict(self) | {"reward": str(self.reward)}


def resolve_config(params: dict[str, Any]) -> PublishConfig:
    """Check every parameter against ``PARAM_SPECS`` and MTurk's rules; raise :class:`ConfigError`."""
    known, problems = check_params(PARAM_SPECS, params)
    if problems:
        raise ConfigError("invalid publish parameters: " + "; ".join(problems))
    try:
        return PublishConfig(**known)
    except ValueError as exc:  # what JSON Schema's pattern lets by (a trailing newline) parse_money refuses
        raise ConfigError(f"invalid publish parameters: reward={known.get('reward')!r}: {exc}") from None
