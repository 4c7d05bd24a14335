"""Collect one batch: store every assignment once, review, aggregate, pay bonuses, close HITs.

A batch is worked through in chunks of HITs (``chunk_hits``, by row ID), each chunk through
every step, so memory stays bounded whatever the batch's size. Inside a step the API calls run
in one thread pool (``concurrency`` in flight); the threads only call the API, and the task's one
database connection writes each step's outcome for the whole chunk in one transaction. While a
chunk is reviewed, paid and closed, the next chunk's assignments are already being listed, so the
API has work while the task writes to its database (at most two chunks are in memory).

Every step, and every API call in it, is safe to repeat (so botocore may retry any of them).
Assignments are upserted; a review is recorded once and never repeated (an assignment MTurk
already approved — by auto-approval, by a retried call, or by a run that died before writing it
down — is recorded, not approved again); bonuses carry a UniqueRequestToken derived from the
assignment and are checked against ListBonusPayments; a HIT is deleted only when every
assignment of it is reviewed. A run that dies after a chunk's calls but before its records
leaves at most that chunk to be recognised this way by the next run.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from hitflow.collect import results_store
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
    results_changed: int = 0  # results inserted or changed (``results`` counts every consensus computed)
    bonuses: int = 0
    hits_disposed: int = 0
    hits_extended: int = 0
    complete: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


#: The counts a collection adds up per batch (every ``BatchOutcome`` field but the ID and the flag).
OUTCOME_COUNTS = tuple(f.name for f in fields(BatchOutcome) if f.name not in ("batch_id", "complete"))


CHUNK_HITS = 500  # HITs per chunk: up to 1,500 assignments in memory with 3 per HIT
# HITs per mapped collect task (mturk_collect_results): a 10,000-HIT batch is five tasks, which
# the Celery workers share.
HITS_PER_TASK = 2_000


class BatchCollector:
    """Runs the collection steps for one batch through an :class:`~hitflow.hooks.mturk.MTurkHook`."""

    def __init__(
        self,
        *,
        mturk: Any,
        conn: Any,
        policy: ReviewPolicy,
        concurrency: int = 8,
        max_assignments: int | None = None,
        chunk_hits: int | None = None,
    ) -> None:
        self.mturk = mturk
        self.conn = conn
        self.policy = policy
        self.concurrency = concurrency
        self.max_assignments = max_assignments  # what the batch published with (None: ask GetHIT)
        self.chunk_hits = chunk_hits or CHUNK_HITS
        self._pool: ThreadPoolExecutor | None = None  # the run's one pool (see run)

    def _parallel(self, items: Iterable[Any], work: Callable[[Any], Any]) -> list[Any]:
        _ = getattr(self.mturk, "conn", None)  # build the boto3 client before the threads
        items = list(items)
        if not items:
            return []
        if self._pool is not None:
            return list(self._pool.map(work, items))
        if len(items) == 1:
            return [work(items[0])]
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(items))) as pool:
            return list(pool.map(work, items))

    def _list_one(self, hit: tuple[str, int, int]) -> list[tuple[int, dict[str, Any], int | None, str | None]]:
        """Every assignment of one HIT, its answer parsed (run in the pool: API calls only)."""
        hit_id, row_id, _ = hit
        found = []
        for assignment in self.mturk.list_assignments_for_hit(hit_id):
            parsed = parse_age(assignment.get("Answer"))
            found.append((row_id, assignment, parsed.age, parsed.problem))
        return found

    def _start_listing(self, hits: list[tuple[str, int, int]]) -> list[Future[Any]]:
        """Start listing ``hits``' assignments in the run's pool; :meth:`collect` takes the results."""
        _ = getattr(self.mturk, "conn", None)  # build the boto3 client before the threads
        assert self._pool is not None
        return [self._pool.submit(self._list_one, hit) for hit in hits]

    # -- steps (each for one chunk: open HITs, and the row range (lo, hi] they lie in) --------
    def collect(
        self,
        batch_id: uuid.UUID,
        hits: list[tuple[str, int, int]],
        outcome: BatchOutcome,
        listing: list[Future[Any]] | None = None,
    ) -> None:
        """Page through the chunk's HITs' assignments (or take ``listing``, started earlier) and
        store them (answers parsed once)."""
        found = [f.result() for f in listing] if listing is not None else self._parallel(hits, self._list_one)
        items = [item for per_hit in found for item in per_hit]
        results_store.upsert_assignments(self.conn, batch_id, items)
        outcome.assignments_seen += len(items)
        outcome.flagged += sum(1 for *_, problem in items if problem is not None)

    def review(self, batch_id: uuid.UUID, lo: int, hi: int | None, outcome: BatchOutcome) -> None:
        """Approve or reject what hitflow has not decided on; record what MTurk already decided."""

        def one(item: tuple[str, str, str | None]) -> tuple[str, str, str | None, str, str]:
            assignment_id, status, problem = item
            if status != "Submitted":  # auto-approved, or decided by a run that died before writing it down
                return assignment_id, "approve" if status == "Approved" else "reject", None, status, "already"
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
                return assignment_id, "approve" if current == "Approved" else "reject", None, current, "already"
            return assignment_id, action, feedback, "Approved" if action == "approve" else "Rejected", action

        decided = self._parallel(results_store.unreviewed(self.conn, batch_id, lo, hi), one)
        results_store.record_reviews(self.conn, [(*item[:4], item[4] == "already") for item in decided])
        for *_, result in decided:
            if result == "approve":
                outcome.approved += 1
            elif result == "reject":
                outcome.rejected += 1
            else:
                outcome.already_reviewed += 1

    def aggregate(self, batch_id: uuid.UUID, lo: int, hi: int | None, outcome: BatchOutcome) -> None:
        results = []
        for row_id, ages in results_store.valid_ages_by_row(self.conn, batch_id, lo, hi).items():
            result = consensus(
                ages, min_answers=self.policy.min_answers, agreement_mad_years=self.policy.agreement_mad_years
            )
            if result is not None:
                results.append((row_id, ages, result))
        outcome.results_changed += results_store.save_results(self.conn, batch_id, results)
        outcome.results += len(results)

    def pay_bonuses(self, batch_id: uuid.UUID, lo: int, hi: int | None, outcome: BatchOutcome) -> None:
        if self.policy.bonus_amount is None:
            return
        amount = self.policy.bonus_amount

        def one(item: tuple[str, str, int, float]) -> str | None:
            assignment_id, worker_id, age, median = item
            if not self.policy.earns_bonus(age, median):
                return None
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
            return assignment_id

        paid = [a for a in self._parallel(results_store.bonus_candidates(self.conn, batch_id, lo, hi), one) if a]
        results_store.record_bonuses(self.conn, paid, amount)
        outcome.bonuses += len(paid)

    def _short_by(self, valid: int, extra: int, current: int) -> int:
        """How many more assignments to ask for when rejections left a HIT short of ``min_answers``."""
        room = self.policy.max_extra_assignments - extra
        if current < 10:
            room = min(room, 9 - current)  # MTurk refuses to take a HIT from < 10 to >= 10 assignments
        return max(0, min(self.policy.min_answers - valid, room))

    def _extend(self, hit_id: str, count: int, extra: int, current: int) -> None:
        token = f"hitflow-extra-{hashlib.sha256(hit_id.encode()).hexdigest()[:32]}-{extra + count}"
        try:
            self.mturk.create_additional_assignments_for_hit(hit_id, count, token)
        except Exception:
            if self.mturk.get_hit(hit_id)["MaxAssignments"] < current + count:
                raise
            log.info("HIT %s was already extended; recording it", hit_id)

    def _delete(self, hit_id: str) -> None:
        try:
            self.mturk.delete_hit(hit_id)
        except Exception as err:
            if "DoesNotExist" not in _error_code(err) and self.mturk.get_hit(hit_id)["HITStatus"] != "Disposed":
                raise

    def close_hits(self, hits: list[tuple[str, int, int]], outcome: BatchOutcome) -> None:
        """Delete every HIT whose work is all in and reviewed (extending short ones first).

        A HIT with as many reviewed assignments as it has slots is Reviewable: it is deleted
        without asking GetHIT. Any other HIT is looked at (GetHIT): one that expired with no
        work pending is expired-then-deleted the same way; the rest stay open.
        """
        now = datetime.now(UTC)
        counts = results_store.hit_counts(self.conn, [hit_id for hit_id, _, _ in hits])

        def one(hit: tuple[str, int, int]) -> tuple[str, str, int]:
            hit_id, _, extra = hit
            seen, reviewed, valid = counts.get(hit_id, (0, 0, 0))
            if seen != reviewed:
                return hit_id, "open", 0
            slots = None if self.max_assignments is None else self.max_assignments + extra
            if slots is not None and seen >= slots and not self._short_by(valid, extra, slots):
                self._delete(hit_id)
                return hit_id, "disposed", 0
            info = self.mturk.get_hit(hit_id)
            if info["HITStatus"] == "Disposed":
                return hit_id, "disposed", 0
            expired = info["Expiration"] <= now
            all_in = info.get("NumberOfAssignmentsPending", 0) == 0 and (
                info.get("NumberOfAssignmentsAvailable", 0) == 0 or expired
            )
            if not all_in:
                return hit_id, "open", 0
            current = info["MaxAssignments"]
            count = 0 if expired else self._short_by(valid, extra, current)
            if count:
                self._extend(hit_id, count, extra, current)
                return hit_id, "extended", count
            if info["HITStatus"] not in ("Reviewable", "Reviewing"):
                self.mturk.update_expiration_for_hit(hit_id, EXPIRE_NOW)
            self._delete(hit_id)
            return hit_id, "disposed", 0

        results = self._parallel(hits, one)
        results_store.add_extra_assignments(self.conn, [(h, n) for h, result, n in results if result == "extended"])
        results_store.mark_disposed(self.conn, [h for h, result, _ in results if result == "disposed"])
        outcome.hits_disposed += sum(1 for _, result, _ in results if result == "disposed")
        outcome.hits_extended += sum(1 for _, result, _ in results if result == "extended")

    def run(self, batch_id: uuid.UUID, lo: int = 0, upto: int | None = None, *, finish: bool = True) -> BatchOutcome:
        """Every step, chunk after chunk, for the batch's rows in (lo, upto] (all of them by default);
        then the rows after the last open HIT (work left by earlier runs). ``finish=False`` leaves
        marking the batch complete to the caller (another range of it may still be running)."""
        outcome = BatchOutcome(batch_id=str(batch_id))
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="collect") as pool:
            self._pool = pool
            try:
                hits = results_store.open_hits(self.conn, batch_id, lo, self.chunk_hits, upto)
                listing = self._start_listing(hits)
                while hits:
                    hi = hits[-1][1]
                    self.collect(batch_id, hits, outcome, listing)
                    # the next chunk's listing runs in the pool while this one is reviewed and closed
                    following = results_store.open_hits(self.conn, batch_id, hi, self.chunk_hits, upto)
                    listing = self._start_listing(following)
                    self.review(batch_id, lo, hi, outcome)
                    self.aggregate(batch_id, lo, hi, outcome)
                    self.pay_bonuses(batch_id, lo, hi, outcome)
                    self.close_hits(hits, outcome)
                    log.info("batch %s: rows up to %s done: %s", batch_id, hi, outcome.to_dict())
                    hits, lo = following, hi
                self.review(batch_id, lo, upto, outcome)
                self.aggregate(batch_id, lo, upto, outcome)
                self.pay_bonuses(batch_id, lo, upto, outcome)
            finally:
                self._pool = None
                pool.shutdown(wait=True, cancel_futures=True)  # a failed step: stop what was queued
        if finish:
            outcome.complete = results_store.complete_if_done(self.conn, batch_id)
        log.info("batch %s: %s", batch_id, outcome.to_dict())
        return outcome


def block_workers(*, mturk: Any, conn: Any, policy: ReviewPolicy) -> list[str]:
    """Block workers past the policy's rejection-rate threshold (once each); returns their IDs."""
    blocked = []
    for worker_id, rejected, total in results_store.worker_rejections(conn):
        if total and policy.should_block(rejected, total):
            reason = (
                f"{rejected} of your {total} age-guess answers were rejected as invalid "
                f"(threshold {policy.block_rejection_rate:.0%})."
            )
            mturk.create_worker_block(worker_id, reason)
            results_store.record_block(conn, worker_id, reason, rejected, total)
            blocked.append(worker_id)
    return blocked
