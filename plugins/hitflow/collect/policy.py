"""The review policy: what to approve, reject, reward with a bonus and block.

Rules are deliberately conservative, as MTurk requesters are expected to be: approve every valid
answer, reject only answers that are clearly invalid (with feedback saying why), pay an optional
bonus to answers close to the consensus, and block a worker only past a rejection-rate
threshold measured over enough of their work.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import mturk_money as fees
from hitflow.collect.answers import MAX_AGE, MIN_AGE
from hitflow.params import ConfigError, check_params

REVIEW_PARAM_SPECS: dict[str, dict[str, Any]] = {
    "reject_invalid": {
        "default": True,
        "type": "boolean",
        "title": "Reject invalid answers",
        "description": "Reject answers that are not a whole number 1–120 (with feedback). Off: approve them too.",
    },
    "min_answers": {
        "default": 3,
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "title": "Answers for a consensus",
        "description": "Valid answers needed before an image gets its aggregated age.",
    },
    "agreement_mad_years": {
        "default": 5.0,
        "type": "number",
        "minimum": 0,
        "maximum": 120,
        "title": "Agreement (MAD, years)",
        "description": "Workers agree when the median absolute deviation of their guesses is at most this.",
    },
    "max_extra_assignments": {
        "default": 2,
        "type": "integer",
        "minimum": 0,
        "maximum": 20,
        "title": "Extra assignments per HIT",
        "description": "When rejections leave a HIT short of min_answers valid answers, ask for up to this many "
        "more assignments (CreateAdditionalAssignmentsForHIT) before closing it.",
    },
    "bonus_amount": {
        "default": None,
        "type": ["null", "string"],
        "pattern": fees.MONEY_PATTERN_TEXT,
        "title": "Bonus (USD)",
        "rule": "an amount in USD with at most 2 decimals and no $ sign, such as 0.05",
        "description": "Bonus for an answer within bonus_tolerance_years of the consensus. Empty: no bonus.",
    },
    "bonus_tolerance_years": {
        "default": 3,
        "type": "integer",
        "minimum": 0,
        "maximum": 120,
        "title": "Bonus tolerance (years)",
        "description": "How close to the median age an answer must be to earn the bonus.",
    },
    "block_rejection_rate": {
        "default": None,
        "type": ["null", "number"],
        "minimum": 0,
        "maximum": 1,
        "title": "Block above rejection rate",
        "description": "Block workers whose share of rejected answers reaches this (e.g. 0.5). Empty: never block.",
    },
    "block_min_assignments": {
        "default": 5,
        "type": "integer",
        "minimum": 1,
        "title": "Block only after",
        "description": "Assignments a worker must have before the rejection rate counts.",
    },
}


@dataclass(frozen=True)
class ReviewPolicy:
    reject_invalid: bool = True
    min_answers: int = 3
    agreement_mad_years: float = 5.0
    max_extra_assignments: int = 2
    bonus_amount: str | None = None
    bonus_tolerance_years: int = 3
    block_rejection_rate: float | None = None
    block_min_assignments: int = 5

    def review(self, problem: str | None) -> tuple[str, str | None]:
        """(action, RequesterFeedback) for an answer with ``problem`` (None: a valid answer)."""
        if problem is None or not self.reject_invalid:
            return "approve", None
        return "reject", (
            f"Sorry, we could not accept this answer: {problem}. The task asks for the person's age "
            f"in years as a whole number from {MIN_AGE} to {MAX_AGE}."
        )

    def earns_bonus(self, age: int | None, median_age: float) -> bool:
        return self.bonus_amount is not None and age is not None and abs(age - median_age) <= self.bonus_tolerance_years

    @property
    def bonus(self) -> Decimal | None:
        return fees.parse_money(self.bonus_amount) if self.bonus_amount else None

    def should_block(self, rejected: int, total: int) -> bool:
        return (
            self.block_rejection_rate is not None
            and total >= self.block_min_assignments
            and rejected / total >= self.block_rejection_rate
        )


def resolve_policy(params: dict[str, Any]) -> ReviewPolicy:
    """The review policy from a run's params; raises :class:`~hitflow.params.ConfigError`."""
    known, problems = check_params(REVIEW_PARAM_SPECS, params)
    if problems:
        raise ConfigError("invalid review parameters: " + "; ".join(problems))
    return ReviewPolicy(**known)


#: The collect DAG's params: the review policy plus how hard to drive the API.
COLLECT_PARAM_SPECS = REVIEW_PARAM_SPECS | {
    "concurrency": {
        "default": 8,
        "type": "integer",
        "minimum": 1,
        "maximum": 64,
        "title": "API calls in flight per batch",
        "description": "Concurrent MTurk calls while collecting one batch.",
    },
}
