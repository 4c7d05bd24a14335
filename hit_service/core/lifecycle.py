"""Assignments and the HIT lifecycle after creation: review, money, blocks, messages.

Money (what this service charges, and when):

* **Creation reserves.** CreateHIT debits ``MaxAssignments × (Reward + fee)`` at once, as
  MTurk's prepaid HITs did; CreateAdditionalAssignmentsForHIT debits the added assignments.
  A balance too small answers ``InsufficientFunds`` and nothing is created.
* **Approval settles** from that reserve: approving (or auto-approving) pays the worker the
  reward and cannot fail for lack of funds.
* **Rejection refunds** the assignment's reward and fee to the requester at once.
  ``OverrideRejection`` takes them again, and fails with ``InsufficientFunds`` when the
  balance cannot cover them — the one approval that can fail for money.
* **Disposal refunds** the slots never used (DeleteHIT; neither approved nor rejected).
* **A cancelled batch releases** the untaken slots of its HITs at once (``release``); those
  slots are then neither refunded again nor repriced, and reserved again if the HIT is extended.
* **Bonuses** are debited when sent: ``BonusAmount`` + its fee (``fees.bonus_fee``: 20 %, at least $0.01).
* UpdateHITTypeOfHIT with a different reward debits (or refunds) the difference for the
  slots not yet approved or rejected.

Time-driven transitions happen lazily, against the service's clock, before any call that
reads assignments or HIT statuses (``settle``): an accepted assignment past its deadline is
abandoned (its slot is free again), a submitted one past its AutoApprovalTime is approved.

Lock order everywhere: HIT row, then assignment rows, then the account row — so the
worker site, the API and ``settle`` cannot deadlock each other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any

import psycopg

from hit_service.core.clock import Clock
from hit_service.core.database import Row, Store
from hit_service.core.exceptions import (
    ASSIGNMENT_DOES_NOT_EXIST,
    DUPLICATE_REQUEST,
    HIT_DOES_NOT_EXIST,
    INSUFFICIENT_FUNDS,
    INVALID_ASSIGNMENT_STATE,
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    RequestError,
)
from hit_service.core.hit_records import HitRecords
from hit_service.core.rules import (
    REQUEST_ID,
    decode_token,
    encode_token,
    money,
    parse_timestamp,
)
from mturk_money import assignment_fee, bonus_fee, format_money

OVERRIDE_WINDOW = timedelta(days=30)
TOKEN_WINDOW = timedelta(hours=24)
SETTLE_LOCK_KEY = 0x6869_7466_7374_6C
ANSWER_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"
VISIBLE_STATUSES = ("Submitted", "Approved", "Rejected")
DEFAULT_PAGE = 10


def _xml_text(value: str) -> str:
    """XML-escaped text without characters XML 1.0 cannot carry."""
    cleaned = "".join(ch for ch in value if ch in "\t\n\r" or ord(ch) >= 0x20)
    return escape(cleaned, quote=False)


def answer_xml(
    fields: list[tuple[str, str]],
    selections: set[str] | frozenset[str] = frozenset(),
    others: dict[str, str] | None = None,
) -> str:
    """QuestionFormAnswers XML: one ``<Answer>`` per field, in form order.

    A field sent several times (checkboxes, multi-selects of an HTML form) becomes one answer
    whose values are joined with ``|``, as MTurk's externalSubmit did. A crowd-form's single
    ``taskAnswers`` field is one FreeText answer holding its JSON. Fields named in
    ``selections`` (a QuestionForm's SelectionAnswer questions) give one
    ``<SelectionIdentifier>`` per selected option instead, as MTurk returned them, and the
    text of an OtherSelection (``others``) as ``<OtherSelectionText>``.
    """
    merged: dict[str, list[str]] = {}
    for name, value in fields:
        merged.setdefault(name, []).append(value)
    for name in others or {}:
        merged.setdefault(name, [])
    answers = "".join(
        f"<Answer><QuestionIdentifier>{_xml_text(name)}</QuestionIdentifier>"
        + (
            "".join(f"<SelectionIdentifier>{_xml_text(v)}</SelectionIdentifier>" for v in values if v)
            + (
                f"<OtherSelectionText>{_xml_text(others[name])}</OtherSelectionText>"
                if others and name in others
                else ""
            )
            if name in selections
            else f"<FreeText>{_xml_text('|'.join(values))}</FreeText>"
        )
        + "</Answer>"
        for name, values in merged.items()
    )
    return f'<QuestionFormAnswers xmlns="{ANSWER_NS}">{answers}</QuestionFormAnswers>'


def as_timestamp(value: Any) -> datetime:
    """A timestamp member (already range-checked by ``validation``) as an aware UTC datetime."""
    moment = parse_timestamp(value)
    if moment is None:  # pragma: no cover - validation refused it already
        raise RequestError(f"{value!r} is not a timestamp.", PARAMETER_OUT_OF_RANGE)
    return moment


class Lifecycle:
    """Assignment and HIT-lifecycle operations, handed the store, the clock and the HIT side."""

    def __init__(self, store: Store, clock: Clock, hits: HitRecords) -> None:
        self.store = store
        self.clock = clock
        self.hits = hits

    # -- lazy, time-driven transitions ----------------------------------------------------

    def settle(self) -> None:
        """Abandon overdue accepted assignments and auto-approve due submitted ones."""
        now = self.clock.now()
        # Nearly every call finds nothing due: ask in one round trip, outside a transaction.
        row = self.store.assignments.due_check(self.store, now)
        if not row or not row["due"]:
            return
        with self.store.transaction() as conn:
            self.store.assignments.lock_settling(conn, (SETTLE_LOCK_KEY,))
            self.store.hits.lock_hits_with_due_assignments(conn, {"now": now})
            self.store.assignments.abandon_overdue(conn, {"now": now})
            self.store.assignments.auto_approve_due(conn, {"now": now})

    # -- lookups ----------------------------------------------------------------------------

    def own_hit(self, conn: psycopg.Connection[Row], requester: str, hit_id: str, *, lock: bool = False) -> Row:
        row = self.store.hits.hit_row(conn, hit_id, lock=lock)
        if row is None or row["requester"] != requester:
            raise RequestError(f"Hit {hit_id} does not exist.", HIT_DOES_NOT_EXIST)
        return row

    def own_assignment(
        self, conn: psycopg.Connection[Row], requester: str, assignment_id: str, *, lock: bool = False
    ) -> Row:
        row = self.store.assignments.assignment_row(conn, assignment_id, lock=lock)
        if row is None or row["requester"] != requester or row["status"] not in VISIBLE_STATUSES:
            raise RequestError(f"Assignment {assignment_id} does not exist.", ASSIGNMENT_DOES_NOT_EXIST)
        return row

    def credit(
        self,
        conn: psycopg.Connection[Row],
        requester: str,
        amount: Decimal,
        kind: str,
        now: datetime,
        hit_id: str | None = None,
        assignment_id: str | None = None,
    ) -> None:
        if amount > 0:
            self.store.accounts.credit(
                conn, requester, amount, kind=kind, now=now, hit_id=hit_id, assignment_id=assignment_id
            )

    def debit(
        self,
        conn: psycopg.Connection[Row],
        requester: str,
        amount: Decimal,
        kind: str,
        now: datetime,
        hit_id: str | None = None,
        assignment_id: str | None = None,
    ) -> None:
        """Take ``amount`` or raise InsufficientFunds (the transaction then rolls back)."""
        if amount <= 0:
            return
        if not self.store.accounts.debit(
            conn, requester, amount, kind=kind, now=now, hit_id=hit_id, assignment_id=assignment_id
        ):
            available = self.store.accounts.balance(conn, requester) or Decimal(0)
            raise RequestError(
                f"Insufficient funds: this operation costs ${amount:.2f}; ${available:.2f} available.",
                INSUFFICIENT_FUNDS,
            )

    def claim_op_token(
        self, conn: psycopg.Connection[Row], requester: str, operation: str, token: str, reference: str, now: datetime
    ) -> str | None:
        """Bind a UniqueRequestToken of ``operation``; the earlier reference if live (24 h)."""
        row = self.store.assignments.claim_op_token(
            conn, {"r": requester, "o": operation, "t": token, "ref": reference, "now": now, "old": now - TOKEN_WINDOW}
        ).fetchone()
        if row is not None:
            return None
        existing = self.store.assignments.op_token_reference(conn, (requester, operation, token)).fetchone()
        return None if existing is None else str(existing["reference"])

    # -- shaping ----------------------------------------------------------------------------

    @staticmethod
    def assignment_dict(row: Row) -> dict[str, Any]:
        """An assignment as the model's ``Assignment`` shape."""
        result: dict[str, Any] = {
            "AssignmentId": row["assignment_id"],
            "WorkerId": row["worker_id"],
            "HITId": row["hit_id"],
            "AssignmentStatus": row["status"],
            "AcceptTime": row["accept_time"],
            "Deadline": row["deadline"],
        }
        for key, column in (
            ("SubmitTime", "submit_time"),
            ("AutoApprovalTime", "auto_approval_time"),
            ("ApprovalTime", "approval_time"),
            ("RejectionTime", "rejection_time"),
            ("Answer", "answer"),
            ("RequesterFeedback", "requester_feedback"),
        ):
            if row[column] is not None:
                result[key] = row[column]
        return result

    @staticmethod
    def page_size(params: dict[str, Any]) -> int:
        return int(params.get("MaxResults", DEFAULT_PAGE))

    # -- assignments ------------------------------------------------------------------------

    def list_assignments_for_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Submitted/approved/rejected assignments of a HIT, by submit time, paged."""
        self.settle()
        limit = self.page_size(params)
        statuses = list(dict.fromkeys(params.get("AssignmentStatuses") or VISIBLE_STATUSES))
        hit_id = params["HITId"]
        after: tuple[datetime, str] | None = None
        if "NextToken" in params:
            micros, last_id = decode_token(self.hits.token_key, "assignments:" + hit_id, params["NextToken"])
            after = (datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(micros)), str(last_id))
        with self.store.transaction() as conn:
            self.own_hit(conn, requester, hit_id)
            rows = self.store.assignments.page_of_hit(conn, hit_id, statuses, after, limit + 1)
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "Assignments": [self.assignment_dict(r) for r in page]}
        if len(rows) > limit:
            last = page[-1]
            micros = int((last["submit_time"] - datetime.fromtimestamp(0, UTC)) / timedelta(microseconds=1))
            result["NextToken"] = encode_token(
                self.hits.token_key, "assignments:" + hit_id, micros, last["assignment_id"]
            )
        return result

    def get_assignment(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """One assignment and its HIT."""
        self.settle()
        with self.store.transaction() as conn:
            row = self.own_assignment(conn, requester, params["AssignmentId"])
            hit = self.own_hit(conn, requester, row["hit_id"])
        return {"Assignment": self.assignment_dict(row), "HIT": self.hits.hit_dict(hit)}

    def locked_assignment(self, conn: psycopg.Connection[Row], requester: str, assignment_id: str) -> tuple[Row, Row]:
        """(HIT, assignment), both locked in the global order (HIT first), in two round trips."""
        hit = self.store.hits.lock_hit_of_assignment(conn, (assignment_id,)).fetchone()
        if hit is None or hit["requester"] != requester:
            raise RequestError(f"Assignment {assignment_id} does not exist.", ASSIGNMENT_DOES_NOT_EXIST)
        row = self.own_assignment(conn, requester, assignment_id, lock=True)
        return hit, row

    @staticmethod
    def _state_error(row: Row, allowed: str) -> RequestError:
        return RequestError(
            f"This operation can be called with a status of: {allowed}. "
            f"Assignment {row['assignment_id']} is {row['status']}.",
            INVALID_ASSIGNMENT_STATE,
        )

    def approve_assignment(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Submitted → Approved (or Rejected → Approved with OverrideRejection, 30 days)."""
        self.settle()
        now = self.clock.now()
        feedback = params.get("RequesterFeedback")
        with self.store.transaction() as conn:
            hit, row = self.locked_assignment(conn, requester, params["AssignmentId"])
            if row["status"] == "Submitted":
                self.store.hits.count_approval(conn, (now, hit["hit_id"]))
            elif row["status"] == "Rejected" and params.get("OverrideRejection"):
                # MTurk: only for work submitted within the last 30 days, and only while the
                # assignment's HIT has not been deleted.
                if hit["status"] == "Disposed":
                    raise RequestError(
                        f"Assignment {row['assignment_id']} belongs to HIT {hit['hit_id']}, which has been deleted; "
                        "its rejections can no longer be overridden.",
                        INVALID_ASSIGNMENT_STATE,
                    )
                if now - row["submit_time"] > OVERRIDE_WINDOW:
                    raise RequestError(
                        f"Assignment {row['assignment_id']} was submitted more than 30 days ago; "
                        "a rejection can only be overridden within 30 days of the submission.",
                        INVALID_ASSIGNMENT_STATE,
                    )
                unit = hit["reward"] + assignment_fee(hit["reward"], hit["max_assignments"])
                self.debit(conn, requester, unit, "override", now, hit["hit_id"], row["assignment_id"])
            elif row["status"] == "Rejected":
                raise self._state_error(row, "Submitted (or Rejected with OverrideRejection)")
            else:
                raise self._state_error(row, "Submitted")
            self.store.assignments.mark_approved(conn, (now, feedback, now, row["assignment_id"]))
        return {}

    def reject_assignment(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Submitted → Rejected; the assignment's reward and fee go back to the requester."""
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit, row = self.locked_assignment(conn, requester, params["AssignmentId"])
            if row["status"] != "Submitted":
                raise self._state_error(row, "Submitted")
            self.store.assignments.mark_rejected(conn, (now, params["RequesterFeedback"], now, row["assignment_id"]))
            self.store.hits.count_rejection(conn, (now, hit["hit_id"]))
            unit = hit["reward"] + assignment_fee(hit["reward"], hit["max_assignments"])
            self.credit(conn, requester, unit, "refund", now, hit["hit_id"], row["assignment_id"])
        return {}

    # -- bonuses ----------------------------------------------------------------------------

    def send_bonus(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Pay a bonus for a submitted assignment to its worker; debited with a 20 % fee.

        Runs in the requester's group commit, as creating a HIT does: every bonus debits the
        one account row, whose lock would otherwise serialise bonuses one WAL flush apart.
        """
        now = self.clock.now()
        amount = money(params["BonusAmount"], "BonusAmount")
        if amount <= 0:
            raise RequestError("BonusAmount must be at least 0.01.", PARAMETER_OUT_OF_RANGE)
        if not params["Reason"].strip():
            raise RequestError("Reason must not be empty.", MISSING_PARAMETERS)
        worker_id = params["WorkerId"]
        request_id = REQUEST_ID.get()  # read here: ``write`` may run in another request's thread
        self.settle()

        def write(conn: psycopg.Connection[Row]) -> None:
            row = self.own_assignment(conn, requester, params["AssignmentId"])
            if row["worker_id"] != worker_id:
                raise RequestError(
                    f"Worker {worker_id} did not work on assignment {row['assignment_id']}.", PARAMETER_OUT_OF_RANGE
                )
            token = params.get("UniqueRequestToken")
            if token is not None:
                # MTurk: a repeat "will return an error with a message containing the request ID".
                existing = self.claim_op_token(conn, requester, "SendBonus", token, request_id, now)
                if existing is not None:
                    raise RequestError(
                        f"The bonus with UniqueRequestToken {token!r} was already granted by request {existing}; "
                        "it was not paid again.",
                        DUPLICATE_REQUEST,
                    )
            fee = bonus_fee(amount)
            self.debit(conn, requester, amount + fee, "bonus", now, row["hit_id"], row["assignment_id"])
            self.store.assignments.insert_bonus(
                conn, (requester, worker_id, row["assignment_id"], row["hit_id"], amount, fee, params["Reason"], now)
            )

        self.hits.group_commit(requester).run(write)
        return {}

    def list_bonus_payments(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Bonuses of one HIT or one assignment (exactly one of HITId / AssignmentId)."""
        hit_id = params.get("HITId")
        assignment_id = params.get("AssignmentId")
        if (hit_id is None) == (assignment_id is None):
            raise RequestError("Specify exactly one of HITId and AssignmentId.", MISSING_PARAMETERS)
        limit = self.page_size(params)
        kind = f"bonus:{hit_id or assignment_id}"
        after = int(decode_token(self.hits.token_key, kind, params["NextToken"])[0]) if "NextToken" in params else 0
        with self.store.transaction() as conn:
            if hit_id is not None:
                self.own_hit(conn, requester, hit_id)
            else:
                self.own_assignment(conn, requester, str(assignment_id))
            rows = self.store.assignments.bonus_page(
                conn, requester, hit_id=hit_id, assignment_id=assignment_id, after=after, limit=limit + 1
            )
        page = rows[:limit]
        result: dict[str, Any] = {
            "NumResults": len(page),
            "BonusPayments": [
                {
                    "WorkerId": r["worker_id"],
                    "BonusAmount": format_money(r["amount"]),
                    "AssignmentId": r["assignment_id"],
                    "Reason": r["reason"],
                    "GrantTime": r["grant_time"],
                }
                for r in page
            ],
        }
        if len(rows) > limit:
            result["NextToken"] = encode_token(self.hits.token_key, kind, page[-1]["bonus_id"])
        return result
