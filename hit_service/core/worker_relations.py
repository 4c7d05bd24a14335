"""A requester's dealings with workers beyond one assignment: blocks, messages, notification
settings, review policies and file uploads (the last three answered as MTurk's closing API did)."""

from __future__ import annotations

from typing import Any

from hit_service.core.clock import Clock
from hit_service.core.database import Store
from hit_service.core.exceptions import (
    HIT_TYPE_DOES_NOT_EXIST,
    MISSING_PARAMETERS,
    NOT_SUPPORTED,
    RequestError,
)
from hit_service.core.hit_records import HitRecords
from hit_service.core.lifecycle import Lifecycle
from hit_service.core.rules import (
    decode_token,
    encode_token,
)


class WorkerRelations:
    """Worker blocks, NotifyWorkers and the notification/review-policy/upload operations,
    handed the store, the clock, the HIT side and the lifecycle."""

    def __init__(self, store: Store, clock: Clock, hits: HitRecords, lifecycle: Lifecycle) -> None:
        self.store = store
        self.clock = clock
        self.hits = hits
        self.lifecycle = lifecycle  # ownership lookups, money moves, settle

    # -- worker blocks and messages ---------------------------------------------------------

    def create_worker_block(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Block a worker from this requester's HITs (the reason is updated if blocked)."""
        if not params["Reason"].strip():
            raise RequestError("Reason must not be empty.", MISSING_PARAMETERS)
        with self.store.transaction() as conn:
            self.store.assignments.block_worker(
                conn, (requester, params["WorkerId"], params["Reason"], self.clock.now())
            )
        return {}

    def delete_worker_block(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Unblock a worker; unblocking one who is not blocked succeeds (nothing to do)."""
        with self.store.transaction() as conn:
            self.store.assignments.unblock_worker(conn, (requester, params["WorkerId"]))
        return {}

    def list_worker_blocks(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """The requester's blocks by worker ID, paged."""
        limit = self.lifecycle.page_size(params)
        after = (
            str(decode_token(self.hits.token_key, "blocks", params["NextToken"])[0]) if "NextToken" in params else ""
        )
        with self.store.transaction() as conn:
            rows = self.store.assignments.list_blocks(conn, (requester, after, limit + 1)).fetchall()
        page = rows[:limit]
        result: dict[str, Any] = {
            "NumResults": len(page),
            "WorkerBlocks": [{"WorkerId": r["worker_id"], "Reason": r["reason"]} for r in page],
        }
        if len(rows) > limit:
            result["NextToken"] = encode_token(self.hits.token_key, "blocks", page[-1]["worker_id"])
        return result

    def notify_workers(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Leave a message on the dashboard of each worker whose work this requester reviewed.

        MTurk sends a message "only if you have previously approved or rejected work from the
        Worker"; anyone else comes back as a HardFailure.
        """
        self.lifecycle.settle()  # auto-approvals that are due count as approvals
        now = self.clock.now()
        worker_ids = list(dict.fromkeys(params["WorkerIds"]))
        if not params["Subject"].strip() or not params["MessageText"].strip():
            raise RequestError("Subject and MessageText must not be empty.", MISSING_PARAMETERS)
        failures: list[dict[str, str]] = []
        with self.store.transaction() as conn:
            known = {
                r["worker_id"] for r in self.store.assignments.workers_who_worked_for(conn, (requester, worker_ids))
            }
            for worker_id in worker_ids:
                if worker_id not in known:
                    failures.append(
                        {
                            "NotifyWorkersFailureCode": "HardFailure",
                            "NotifyWorkersFailureMessage": f"You have not approved or rejected work from worker "
                            f"{worker_id}; messages can only be sent to workers whose work you reviewed.",
                            "WorkerId": worker_id,
                        }
                    )
                    continue
                self.store.assignments.insert_message(
                    conn, (requester, worker_id, params["Subject"], params["MessageText"], now)
                )
        return {"NotifyWorkersFailureStatuses": failures}

    # -- review policies, notifications, uploads --------------------------------------------

    def list_review_policy_results_for_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """The HIT's stored review policies; no policy is executed, so there are no results."""
        with self.store.transaction() as conn:
            hit = self.lifecycle.own_hit(conn, requester, params["HITId"])
        result: dict[str, Any] = {"HITId": hit["hit_id"]}
        if hit["assignment_review_policy"] is not None:
            result["AssignmentReviewPolicy"] = hit["assignment_review_policy"]
        if hit["hit_review_policy"] is not None:
            result["HITReviewPolicy"] = hit["hit_review_policy"]
        if params.get("RetrieveResults") or params.get("RetrieveActions"):
            empty: dict[str, Any] = {"ReviewResults": [], "ReviewActions": []}
            result["AssignmentReviewReport"] = empty
            result["HITReviewReport"] = dict(empty)
        return result

    def update_notification_settings(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Store a HIT type's notification settings (they are never delivered)."""
        from psycopg.types.json import Jsonb

        now = self.clock.now()
        with self.store.transaction() as conn:
            hit_type = self.store.hits.hit_type_owner(conn, (params["HITTypeId"],)).fetchone()
            if hit_type is None or hit_type["requester"] != requester:
                raise RequestError(f"HITType {params['HITTypeId']} does not exist.", HIT_TYPE_DOES_NOT_EXIST)
            current = self.store.assignments.lock_notification_setting(conn, (params["HITTypeId"],)).fetchone()
            notification = params.get("Notification", current["notification"] if current else None)
            active = params.get("Active", current["active"] if current else None)
            if active and notification is None:
                raise RequestError("Active can only be set for a HIT type with a Notification.", MISSING_PARAMETERS)
            self.store.assignments.upsert_notification_setting(
                conn,
                (
                    params["HITTypeId"],
                    requester,
                    Jsonb(notification) if notification is not None else None,
                    active,
                    now,
                ),
            )
        return {}

    def send_test_event_notification(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Refused: this service cannot deliver to SQS, SNS or e-mail."""
        transport = params["Notification"].get("Transport", "?")
        raise RequestError(
            f"hitflow's HIT service does not deliver notifications ({transport} to "
            f"{params['Notification'].get('Destination', '?')}): settings are stored by "
            "UpdateNotificationSettings but no event is ever sent. Poll ListReviewableHITs / "
            "ListAssignmentsForHIT instead.",
            NOT_SUPPORTED,
        )

    def get_file_upload_url(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Refused for existing assignments (no QuestionForm FileUploadAnswer is ever collected)."""
        with self.store.transaction() as conn:
            self.lifecycle.own_assignment(conn, requester, params["AssignmentId"])
        raise RequestError(
            f"Assignment {params['AssignmentId']} has no uploaded file for {params['QuestionIdentifier']!r}: "
            "hitflow's HIT service does not collect file uploads (QuestionForm FileUploadAnswer).",
            NOT_SUPPORTED,
        )
