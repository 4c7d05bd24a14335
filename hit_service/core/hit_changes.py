"""Changes to a HIT after creation: more assignments, expiry, review status, HIT type, deletion.

The money each change moves (a reserve for added assignments, the difference of a new reward,
the refund of unused slots on deletion) is described in ``hit_service.core.lifecycle``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from hit_service.core.clock import Clock
from hit_service.core.database import Store
from hit_service.core.exceptions import (
    DUPLICATE_REQUEST,
    HIT_TYPE_DOES_NOT_EXIST,
    INVALID_HIT_STATE,
    INVALID_MAX_ASSIGNMENTS_INCREASE,
    PARAMETER_OUT_OF_RANGE,
    RequestError,
)
from hit_service.core.hit_records import HitRecords
from hit_service.core.lifecycle import Lifecycle, as_timestamp
from hit_service.core.rules import (
    REQUEST_ID,
    decode_token,
    encode_token,
)
from mturk_money import LARGE_HIT_ASSIGNMENTS, assignment_fee


class HitChanges:
    """The API's HIT-changing operations and ListReviewableHITs, handed the store, the clock,
    the HIT side and the lifecycle (ownership lookups, ledger moves, settle)."""

    def __init__(self, store: Store, clock: Clock, hits: HitRecords, lifecycle: Lifecycle) -> None:
        self.store = store
        self.clock = clock
        self.hits = hits
        self.lifecycle = lifecycle  # ownership lookups, money moves, settle

    # -- HIT lifecycle ----------------------------------------------------------------------

    def create_additional_assignments_for_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """More assignments (paid now); never from below 10 to 10 or more."""
        extra = params["NumberOfAdditionalAssignments"]
        if extra < 1:
            raise RequestError("NumberOfAdditionalAssignments must be at least 1.", PARAMETER_OUT_OF_RANGE)
        self.lifecycle.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit = self.lifecycle.own_hit(conn, requester, params["HITId"], lock=True)
            if hit["status"] == "Disposed":
                raise RequestError(f"HIT {hit['hit_id']} is Disposed; assignments cannot be added.", INVALID_HIT_STATE)
            current = hit["max_assignments"]
            if current < LARGE_HIT_ASSIGNMENTS <= current + extra:
                raise RequestError(
                    f"HIT {hit['hit_id']} has {current} assignments; HITs created with fewer than 10 assignments "
                    "cannot be extended to have 10 or more.",
                    INVALID_MAX_ASSIGNMENTS_INCREASE,
                )
            token = params.get("UniqueRequestToken")
            if token is not None:
                existing = self.lifecycle.claim_op_token(
                    conn, requester, "CreateAdditionalAssignmentsForHIT", token, REQUEST_ID.get(), now
                )
                if existing is not None:
                    raise RequestError(
                        f"Assignments were already added to HIT {hit['hit_id']} with UniqueRequestToken {token!r} "
                        f"by request {existing}.",
                        DUPLICATE_REQUEST,
                    )
            unit = hit["reward"] + assignment_fee(hit["reward"], current)
            self.lifecycle.debit(conn, requester, unit * extra, "additional", now, hit["hit_id"])
            self.store.hits.add_assignments(conn, (extra, unit * extra, now, hit["hit_id"]))
        return {}

    def list_reviewable_hits(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """HITs in Reviewable (default) or Reviewing, optionally of one HIT type, paged."""
        self.lifecycle.settle()
        status = params.get("Status", "Reviewable")
        limit = self.lifecycle.page_size(params)
        now = self.clock.now()
        after: tuple[datetime, str] | None = None
        if "NextToken" in params:
            micros, last_id = decode_token(self.hits.token_key, f"reviewable:{status}", params["NextToken"])
            after = (datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(micros)), str(last_id))
        with self.store.transaction() as conn:
            rows = self.store.hits.page_by_status(
                conn, requester, status, now, params.get("HITTypeId"), after, limit + 1
            )
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "HITs": [self.hits.hit_dict(r) for r in page]}
        if len(rows) > limit:
            last = page[-1]
            micros = int((last["creation_time"] - datetime.fromtimestamp(0, UTC)) / timedelta(microseconds=1))
            result["NextToken"] = encode_token(self.hits.token_key, f"reviewable:{status}", micros, last["hit_id"])
        return result

    def update_expiration_for_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Extend the expiration, or expire the HIT at once (ExpireAt 0 or any past time).

        MTurk: "You cannot shorten the expiration time so that you're not affecting Workers who
        have accepted your HIT" — a future time earlier than the current expiration is refused.
        """
        now = self.clock.now()
        expire_at = as_timestamp(params["ExpireAt"])
        with self.store.transaction() as conn:
            hit = self.lifecycle.own_hit(conn, requester, params["HITId"], lock=True)
            if hit["status"] == "Disposed":
                raise RequestError(f"HIT {hit['hit_id']} is Disposed.", INVALID_HIT_STATE)
            if expire_at <= now:
                expire_at = min(now, hit["expiration"])
            elif expire_at < hit["expiration"]:
                raise RequestError(
                    f"ExpireAt {expire_at.isoformat()} is earlier than HIT {hit['hit_id']}'s expiration "
                    f"{hit['expiration'].isoformat()}: an expiration can be extended, or the HIT expired now "
                    "(ExpireAt 0 or a past time), but not shortened.",
                    PARAMETER_OUT_OF_RANGE,
                )
            if expire_at > now + timedelta(days=365):
                raise RequestError("ExpireAt must be within 365 days from now.", PARAMETER_OUT_OF_RANGE)
            released = hit["released"] if expire_at > now else 0
            if released:  # a cancel gave these slots' money back: open again, they are paid for again
                unit = hit["reward"] + assignment_fee(hit["reward"], hit["max_assignments"])
                self.lifecycle.debit(conn, requester, unit * released, "hit", now, hit["hit_id"])
            self.store.hits.set_expiration(conn, (expire_at, released, now, hit["hit_id"]))
        return {}

    def update_hit_review_status(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Reviewable → Reviewing (Revert false, the default) or Reviewing → Reviewable (true)."""
        self.lifecycle.settle()
        now = self.clock.now()
        revert = bool(params.get("Revert", False))
        with self.store.transaction() as conn:
            hit = self.lifecycle.own_hit(conn, requester, params["HITId"], lock=True)
            status = self.hits.status(hit, now)
            wanted = "Reviewing" if revert else "Reviewable"
            if status != wanted:
                raise RequestError(
                    f"This HIT is currently in the state '{status}'. This operation can be called with a status "
                    f"of: {wanted}.",
                    INVALID_HIT_STATE,
                )
            self.store.hits.set_reviewing(conn, (not revert, now, hit["hit_id"]))
        return {}

    def update_hit_type_of_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Give a HIT another of the requester's HIT types (its properties come along)."""
        self.lifecycle.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit = self.lifecycle.own_hit(conn, requester, params["HITId"], lock=True)
            if hit["status"] == "Disposed":
                raise RequestError(f"HIT {hit['hit_id']} is Disposed.", INVALID_HIT_STATE)
            new_type = self.store.hits.hit_type_row(conn, (params["HITTypeId"],)).fetchone()
            if new_type is None or new_type["requester"] != requester:
                raise RequestError(f"HITType {params['HITTypeId']} does not exist.", HIT_TYPE_DOES_NOT_EXIST)
            reviewed = self.store.assignments.count_reviewed(conn, (hit["hit_id"],)).fetchone()
            open_slots = hit["max_assignments"] - (reviewed["n"] if reviewed else 0) - hit["released"]
            old_unit = hit["reward"] + assignment_fee(hit["reward"], hit["max_assignments"])
            new_unit = new_type["reward"] + assignment_fee(new_type["reward"], hit["max_assignments"])
            delta = (new_unit - old_unit) * open_slots
            if delta > 0:
                self.lifecycle.debit(conn, requester, delta, "retype", now, hit["hit_id"])
            elif delta < 0:
                self.lifecycle.credit(conn, requester, -delta, "retype", now, hit["hit_id"])
            self.store.hits.change_hit_type(
                conn,
                {
                    "t": new_type["hit_type_id"],
                    "g": new_type["hit_group_id"],
                    "title": new_type["title"],
                    "d": new_type["description"],
                    "k": new_type["keywords"],
                    "reward": new_type["reward"],
                    "dur": new_type["assignment_duration_seconds"],
                    "auto": new_type["auto_approval_delay_seconds"],
                    "q": psycopg.types.json.Jsonb(new_type["qualification_requirements"]),
                    "delta": delta,
                    "now": now,
                    "hit": hit["hit_id"],
                },
            )
        return {}

    def delete_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Dispose of a Reviewable/Reviewing HIT whose submitted work is all reviewed."""
        self.lifecycle.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit = self.lifecycle.own_hit(conn, requester, params["HITId"], lock=True)
            status = self.hits.status(hit, now)
            if status not in ("Reviewable", "Reviewing"):
                raise RequestError(
                    f"This HIT is currently in the state '{status}'. This operation can be called with a status "
                    "of: Reviewing, Reviewable.",
                    INVALID_HIT_STATE,
                )
            if hit["assignments_submitted"] > 0:
                raise RequestError(
                    f"HIT {hit['hit_id']} has {hit['assignments_submitted']} submitted assignment(s) not yet "
                    "approved or rejected; approve or reject them before deleting it.",
                    INVALID_HIT_STATE,
                )
            approved = self.store.assignments.count_reviewed(conn, (hit["hit_id"],)).fetchone()
            # Slots a cancel already gave back (``release``) are not refunded twice.
            unused = hit["max_assignments"] - (approved["n"] if approved else 0) - hit["released"]
            unit = hit["reward"] + assignment_fee(hit["reward"], hit["max_assignments"])
            self.lifecycle.credit(conn, requester, unit * unused, "refund", now, hit["hit_id"])
            self.store.hits.dispose(conn, (now, now, hit["hit_id"]))
        return {}
