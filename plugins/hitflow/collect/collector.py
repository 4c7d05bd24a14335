"""Collect one batch: store every assignment once, review, aggregate, pay bonuses, close HITs.

Every step is safe to repeat. Assignments are upserted; a review is recorded once and never
repeated (an assignment MTurk already approved — by auto-approval, or by a run that died before
writing it down — is recorded, not approved again); bonuses carry a UniqueRequestToken derived
from the assignment and are checked against ListBonusPayments; a HIT is expired, then deleted,
only when every assignment of it is reviewed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from hitflow.collect import store
from hitflow.collect.aggregate import consensus
from hitflow.collect.answers import parse_age
from hitflow.collect.policy import ReviewPolicy

log = logging.getLogger(__name__)

EXPIRE_NOW = datetime(2015, 1, 1, tzinfo=UTC)  # a past time: UpdateExpirationForHIT expires the HIT at once


def bonus_token(assignment_id: str) -> str:
    return "hitflow-bonus-" + hashlib.sha256(assignment_id.encode()).hexdigest()[:40]


def _error_code(err: Exception) -> str:
    response = getattr(err, "response", None) or {}
    return response.get("TurkErrorCode") or response.get("Error", {}).get("Code", "")


@dataclass
class BatchOutcome:
    batch_id: str
    assignments_seen: int = 0
    approved: int = 0
    rejected: int = 0
    already_reviewed: int = 0
    flagged: int = 0
    results: int = 0
    bonuses: int = 0
    hits_disposed: int = 0
    hits_extended: int = 0
    complete: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class BatchCollector:
    """Runs the collection steps for one batch through an :class:`~hitflow.hooks.mturk.MTurkHook`."""

    def __init__(self, *, mturk: Any, conn: Any, policy: ReviewPolicy, concurrency: int = 8) -> None:
        self.mturk = mturk
        self.conn = conn
        self.policy = policy
        self.concurrency = concurrency
        self._lock = threading.Lock()

    def _parallel(self, items: Iterable[Any], work: Callable[[Any], Any]) -> list[Any]:
        _ = getattr(self.mturk, "conn", None)  # build the boto3 client before the threads
        items = list(items)
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(work, items))

    def _db(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return fn(self.conn, *args, **kwargs)

    # -- steps -------------------------------------------------------------------------------
    def collect(self, batch_id: uuid.UUID, outcome: BatchOutcome) -> None:
        """Page through every open HIT's assignments and store them (answers parsed once)."""

        def one(hit: tuple[str, int]) -> tuple[int, int]:
            hit_id, row_id = hit
            seen = flagged = 0
            for assignment in self.mturk.list_assignments_for_hit(hit_id):
                parsed = parse_age(assignment.get("Answer"))
                self._db(
                    store.upsert_assignment,
                    batch_id=batch_id,
                    row_id=row_id,
                    assignment=assignment,
                    age=parsed.age,
                    problem=parsed.problem,
                )
                seen += 1
                flagged += parsed.problem is not None
            return seen, flagged

        for seen, flagged in self._parallel(self._db(store.open_hits, batch_id), one):
            outcome.assignments_seen += seen
            outcome.flagged += flagged

    def review(self, batch_id: uuid.UUID, outcome: BatchOutcome) -> None:
        """Approve or reject what hitflow has not decided on; record what MTurk already decided."""

        def one(item: tuple[str, str, str | None]) -> str:
            assignment_id, status, problem = item
            if status != "Submitted":  # auto-approved, or decided by a run that died before writing it down
                self._db(
                    store.record_review, assignment_id, "approve" if status == "Approved" else "reject", None, status
                )
                return "already"
            action, feedback = self.policy.review(problem)
            try:
                if action == "approve":
                    self.mturk.approve_assignment(assignment_id)
                else:
                    self.mturk.reject_assignment(assignment_id, feedback)
            except Exception as err:
                current = self.mturk.get_assignment(assignment_id)["AssignmentStatus"]
                if current == "Submitted":
                    raise
                log.info("assignment %s is already %s (%s); recording it", assignment_id, current, _error_code(err))
                self._db(
                    store.record_review, assignment_id, "approve" if current == "Approved" else "reject", None, current
                )
                return "already"
            self._db(
                store.record_review, assignment_id, action, feedback, "Approved" if action == "approve" else "Rejected"
            )
            return action

        for result in self._parallel(self._db(store.unreviewed, batch_id), one):
            if result == "approve":
                outcome.approved += 1
            elif result == "reject":
                outcome.rejected += 1
            else:
                outcome.already_reviewed += 1

    def aggregate(self, batch_id: uuid.UUID, outcome: BatchOutcome) -> None:
        for row_id, ages in self._db(store.valid_ages_by_row, batch_id).items():
            result = consensus(
                ages, min_answers=self.policy.min_answers, agreement_mad_years=self.policy.agreement_mad_years
            )
            if result is not None:
                self._db(store.save_result, batch_id, row_id, ages, result)
                outcome.results += 1

    def pay_bonuses(self, batch_id: uuid.UUID, outcome: BatchOutcome) -> None:
        if self.policy.bonus_amount is None:
            return
        amount = self.policy.bonus_amount

        def one(item: tuple[str, str, int, float]) -> bool:
            assignment_id, worker_id, age, median = item
            if not self.policy.earns_bonus(age, median):
                return False
            try:
                self.mturk.send_bonus(
                    worker_id=worker_id,
                    assignment_id=assignment_id,
                    amount=amount,
                    reason=f"Your age guess ({age}) was within {self.policy.bonus_tolerance_years}"
                    f" years of the other workers' consensus. Thank you!",
                    token=bonus_token(assignment_id),
                )
            except Exception:
                if not self.mturk.list_bonus_payments(assignment_id):
                    raise
                log.info("bonus for assignment %s was already paid; recording it", assignment_id)
            self._db(store.record_bonus, assignment_id, amount)
            return True

        outcome.bonuses += sum(self._parallel(self._db(store.bonus_candidates, batch_id), one))

    def _extend_if_short(self, hit_id: str, info: dict[str, Any]) -> bool:
        """Ask for more assignments when rejections left the HIT short of ``min_answers``."""
        valid, extra = self._db(store.hit_answers, hit_id)
        missing = self.policy.min_answers - valid
        room = self.policy.max_extra_assignments - extra
        current = info["MaxAssignments"]
        if current < 10:
            room = min(room, 9 - current)  # MTurk refuses to take a HIT from < 10 to >= 10 assignments
        count = min(missing, room)
        if count <= 0:
            return False
        token = f"hitflow-extra-{hashlib.sha256(hit_id.encode()).hexdigest()[:32]}-{extra + count}"
        try:
            self.mturk.create_additional_assignments_for_hit(hit_id, count, token)
        except Exception:
            if self.mturk.get_hit(hit_id)["MaxAssignments"] < current + count:
                raise
            log.info("HIT %s was already extended; recording it", hit_id)
        self._db(store.add_extra_assignments, hit_id, count)
        return True

    def close_hits(self, batch_id: uuid.UUID, outcome: BatchOutcome) -> None:
        """Expire, then delete, every HIT whose work is all in and reviewed (extending short ones first)."""
        now = datetime.now(UTC)

        def one(hit: tuple[str, int]) -> str:
            hit_id, _ = hit
            info = self.mturk.get_hit(hit_id)
            if info["HITStatus"] == "Disposed":
                self._db(store.mark_disposed, hit_id, "Disposed")
                return "disposed"
            seen, reviewed = self._db(store.reviewed_count, hit_id)
            expired = info["Expiration"] <= now
            all_in = info.get("NumberOfAssignmentsPending", 0) == 0 and (
                info.get("NumberOfAssignmentsAvailable", 0) == 0 or expired
            )
            if not all_in or seen != reviewed:
                return "open"
            if not expired and self._extend_if_short(hit_id, info):
                return "extended"
            if not expired:
                self.mturk.update_expiration_for_hit(hit_id, EXPIRE_NOW)
            try:
                self.mturk.delete_hit(hit_id)
            except Exception as err:
                if self.mturk.get_hit(hit_id)["HITStatus"] != "Disposed" and "DoesNotExist" not in _error_code(err):
                    raise
            self._db(store.mark_disposed, hit_id, "Disposed")
            return "disposed"

        results = self._parallel(self._db(store.open_hits, batch_id), one)
        outcome.hits_disposed += results.count("disposed")
        outcome.hits_extended += results.count("extended")

    def run(self, batch_id: uuid.UUID) -> BatchOutcome:
        outcome = BatchOutcome(batch_id=str(batch_id))
        self.collect(batch_id, outcome)
        self.review(batch_id, outcome)
        self.aggregate(batch_id, outcome)
        self.pay_bonuses(batch_id, outcome)
        self.close_hits(batch_id, outcome)
        outcome.complete = self._db(store.complete_if_done, batch_id)
        log.info("batch %s: %s", batch_id, outcome.to_dict())
        return outcome


def block_workers(*, mturk: Any, conn: Any, policy: ReviewPolicy) -> list[str]:
    """Block workers past the policy's rejection-rate threshold (once each); returns their IDs."""
    blocked = []
    for worker_id, rejected, total in store.worker_rejections(conn):
        if total and policy.should_block(rejected, total):
            reason = (
                f"{rejected} of your {total} age-guess answers were rejected as invalid "
                f"(threshold {policy.block_rejection_rate:.0%})."
            )
            mturk.create_worker_block(worker_id, reason)
            store.record_block(conn, worker_id, reason, rejected, total)
            blocked.append(worker_id)
    return blocked
