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
from typing import TYPE_CHECKING, Any

import psycopg

from hit_service.core.database import Row
from hit_service.core.exceptions import (
    ASSIGNMENT_DOES_NOT_EXIST,
    DUPLICATE_REQUEST,
    HIT_DOES_NOT_EXIST,
    HIT_TYPE_DOES_NOT_EXIST,
    INSUFFICIENT_FUNDS,
    INVALID_ASSIGNMENT_STATE,
    INVALID_HIT_STATE,
    INVALID_MAX_ASSIGNMENTS_INCREASE,
    MISSING_PARAMETERS,
    NOT_SUPPORTED,
    PARAMETER_OUT_OF_RANGE,
    RequestError,
)
from hit_service.core.rules import (
    REQUEST_ID,
    decode_token,
    encode_token,
    money,
    parse_timestamp,
    status_sql,
)
from mturk_money import LARGE_HIT_ASSIGNMENTS, assignment_fee, bonus_fee, format_money

if TYPE_CHECKING:
    from hit_service.core.clock import Clock
    from hit_service.core.database import GroupCommit, Store

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


def answer_xml(fields: list[tuple[str, str]], selections: set[str] | frozenset[str] = frozenset()) -> str:
    """QuestionFormAnswers XML: one ``<Answer>`` per field, in form order.

    A field sent several times (checkboxes, multi-selects of an HTML form) becomes one answer
    whose values are joined with ``|``, as MTurk's externalSubmit did. A crowd-form's single
    ``taskAnswers`` field is one FreeText answer holding its JSON. Fields named in
    ``selections`` (a QuestionForm's SelectionAnswer questions) give one
    ``<SelectionIdentifier>`` per selected option instead, as MTurk returned them.
    """
    merged: dict[str, list[str]] = {}
    for name, value in fields:
        merged.setdefault(name, []).append(value)
    answers = "".join(
        f"<Answer><QuestionIdentifier>{_xml_text(name)}</QuestionIdentifier>"
        + (
            "".join(f"<SelectionIdentifier>{_xml_text(v)}</SelectionIdentifier>" for v in values if v)
            if name in selections
            else f"<FreeText>{_xml_text('|'.join(values))}</FreeText>"
        )
        + "</Answer>"
        for name, values in merged.items()
    )
    return f'<QuestionFormAnswers xmlns="{ANSWER_NS}">{answers}</QuestionFormAnswers>'


def _ts(value: Any) -> datetime:
    """A timestamp member (already range-checked by ``validation``) as an aware UTC datetime."""
    moment = parse_timestamp(value)
    if moment is None:  # pragma: no cover - validation refused it already
        raise RequestError(f"{value!r} is not a timestamp.", PARAMETER_OUT_OF_RANGE)
    return moment


class Lifecycle:
    """Mixin of ``MTurkBackend``: assignment and HIT-lifecycle operations."""

    store: Store
    clock: Clock
    token_key: bytes  # signs NextTokens (set from the service's key at startup)

    if TYPE_CHECKING:

        def hit_dict(self, row: Row) -> dict[str, Any]: ...
        def status(self, row: Row, now: datetime | None = None) -> str: ...
        def _group(self, requester: str) -> GroupCommit: ...

    # -- lazy, time-driven transitions ----------------------------------------------------

    def settle(self) -> None:
        """Abandon overdue accepted assignments and auto-approve due submitted ones."""
        now = self.clock.now()
        # Nearly every call finds nothing due: ask in one round trip, outside a transaction.
        row = self.store.read_one(
            """SELECT EXISTS (SELECT 1 FROM mturk.assignments WHERE status = 'Accepted' AND deadline <= %(now)s)
                   OR EXISTS (SELECT 1 FROM mturk.assignments
                              WHERE status = 'Submitted' AND auto_approval_time <= %(now)s) AS due""",
            {"now": now},
        )
        if not row or not row["due"]:
            return
        with self.store.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SETTLE_LOCK_KEY,))
            conn.execute(
                """SELECT 1 FROM mturk.hits WHERE hit_id IN (
                       SELECT hit_id FROM mturk.assignments
                       WHERE (status = 'Accepted' AND deadline <= %(now)s)
                          OR (status = 'Submitted' AND auto_approval_time <= %(now)s))
                   ORDER BY hit_id FOR UPDATE""",
                {"now": now},
            )
            conn.execute(
                """WITH a AS (UPDATE mturk.assignments SET status = 'Abandoned', updated_at = %(now)s
                              WHERE status = 'Accepted' AND deadline <= %(now)s RETURNING hit_id),
                        c AS (SELECT hit_id, count(*) AS n FROM a GROUP BY hit_id)
                   UPDATE mturk.hits h SET assignments_pending = h.assignments_pending - c.n, updated_at = %(now)s
                   FROM c WHERE h.hit_id = c.hit_id""",
                {"now": now},
            )
            conn.execute(
                """WITH a AS (UPDATE mturk.assignments
                              SET status = 'Approved', approval_time = auto_approval_time, updated_at = %(now)s
                              WHERE status = 'Submitted' AND auto_approval_time <= %(now)s RETURNING hit_id),
                        c AS (SELECT hit_id, count(*) AS n FROM a GROUP BY hit_id)
                   UPDATE mturk.hits h SET assignments_submitted = h.assignments_submitted - c.n,
                          assignments_completed = h.assignments_completed + c.n, updated_at = %(now)s
                   FROM c WHERE h.hit_id = c.hit_id""",
                {"now": now},
            )

    # -- lookups ----------------------------------------------------------------------------

    @staticmethod
    def _own_hit(conn: psycopg.Connection[Row], requester: str, hit_id: str, *, lock: bool = False) -> Row:
        sql = "SELECT * FROM mturk.hits WHERE hit_id = %s" + (" FOR UPDATE" if lock else "")
        row = conn.execute(sql, (hit_id,)).fetchone()
        if row is None or row["requester"] != requester:
            raise RequestError(f"Hit {hit_id} does not exist.", HIT_DOES_NOT_EXIST)
        return row

    @staticmethod
    def _own_assignment(
        conn: psycopg.Connection[Row], requester: str, assignment_id: str, *, lock: bool = False
    ) -> Row:
        sql = "SELECT * FROM mturk.assignments WHERE assignment_id = %s" + (" FOR UPDATE" if lock else "")
        row = conn.execute(sql, (assignment_id,)).fetchone()
        if row is None or row["requester"] != requester or row["status"] not in VISIBLE_STATUSES:
            raise RequestError(f"Assignment {assignment_id} does not exist.", ASSIGNMENT_DOES_NOT_EXIST)
        return row

    def _credit(
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
            self.store.credit(conn, requester, amount, kind=kind, now=now, hit_id=hit_id, assignment_id=assignment_id)

    def _debit(
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
        if not self.store.debit(
            conn, requester, amount, kind=kind, now=now, hit_id=hit_id, assignment_id=assignment_id
        ):
            available = self.store.balance(conn, requester) or Decimal(0)
            raise RequestError(
                f"Insufficient funds: this operation costs ${amount:.2f}; ${available:.2f} available.",
                INSUFFICIENT_FUNDS,
            )

    @staticmethod
    def _claim_op_token(
        conn: psycopg.Connection[Row], requester: str, operation: str, token: str, reference: str, now: datetime
    ) -> str | None:
        """Bind a UniqueRequestToken of ``operation``; the earlier reference if live (24 h)."""
        row = conn.execute(
            """INSERT INTO mturk.op_tokens AS t (requester, operation, token, reference, created_at)
               VALUES (%(r)s, %(o)s, %(t)s, %(ref)s, %(now)s)
               ON CONFLICT (requester, operation, token) DO UPDATE
                   SET reference = EXCLUDED.reference, created_at = EXCLUDED.created_at
                   WHERE t.created_at <= %(old)s
               RETURNING t.reference""",
            {"r": requester, "o": operation, "t": token, "ref": reference, "now": now, "old": now - TOKEN_WINDOW},
        ).fetchone()
        if row is not None:
            return None
        existing = conn.execute(
            "SELECT reference FROM mturk.op_tokens WHERE requester = %s AND operation = %s AND token = %s",
            (requester, operation, token),
        ).fetchone()
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
    def _page(params: dict[str, Any]) -> int:
        return int(params.get("MaxResults", DEFAULT_PAGE))

    # -- assignments ------------------------------------------------------------------------

    def list_assignments_for_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Submitted/approved/rejected assignments of a HIT, by submit time, paged."""
        self.settle()
        limit = self._page(params)
        statuses = list(dict.fromkeys(params.get("AssignmentStatuses") or VISIBLE_STATUSES))
        hit_id = params["HITId"]
        query = {"hit": hit_id, "statuses": statuses, "limit": limit + 1}
        keyset = ""
        if "NextToken" in params:
            micros, last_id = decode_token(self.token_key, "assignments:" + hit_id, params["NextToken"])
            query["t"] = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(micros))
            query["i"] = str(last_id)
            keyset = "AND (submit_time, assignment_id) > (%(t)s, %(i)s)"
        with self.store.transaction() as conn:
            self._own_hit(conn, requester, hit_id)
            rows = conn.execute(
                f"""SELECT * FROM mturk.assignments WHERE hit_id = %(hit)s AND status = ANY(%(statuses)s) {keyset}
                    ORDER BY submit_time, assignment_id LIMIT %(limit)s""",
                query,
            ).fetchall()
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "Assignments": [self.assignment_dict(r) for r in page]}
        if len(rows) > limit:
            last = page[-1]
            micros = int((last["submit_time"] - datetime.fromtimestamp(0, UTC)) / timedelta(microseconds=1))
            result["NextToken"] = encode_token(self.token_key, "assignments:" + hit_id, micros, last["assignment_id"])
        return result

    def get_assignment(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """One assignment and its HIT."""
        self.settle()
        with self.store.transaction() as conn:
            row = self._own_assignment(conn, requester, params["AssignmentId"])
            hit = self._own_hit(conn, requester, row["hit_id"])
        return {"Assignment": self.assignment_dict(row), "HIT": self.hit_dict(hit)}

    def _locked_assignment(self, conn: psycopg.Connection[Row], requester: str, assignment_id: str) -> tuple[Row, Row]:
        """(HIT, assignment), both locked in the global order (HIT first), in two round trips."""
        hit = conn.execute(
            """SELECT * FROM mturk.hits
                WHERE hit_id = (SELECT hit_id FROM mturk.assignments WHERE assignment_id = %s) FOR UPDATE""",
            (assignment_id,),
        ).fetchone()
        if hit is None or hit["requester"] != requester:
            raise RequestError(f"Assignment {assignment_id} does not exist.", ASSIGNMENT_DOES_NOT_EXIST)
        row = self._own_assignment(conn, requester, assignment_id, lock=True)
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
            hit, row = self._locked_assignment(conn, requester, params["AssignmentId"])
            if row["status"] == "Submitted":
                conn.execute(
                    """UPDATE mturk.hits SET assignments_submitted = assignments_submitted - 1,
                           assignments_completed = assignments_completed + 1, updated_at = %s WHERE hit_id = %s""",
                    (now, hit["hit_id"]),
                )
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
                self._debit(conn, requester, unit, "override", now, hit["hit_id"], row["assignment_id"])
            elif row["status"] == "Rejected":
                raise self._state_error(row, "Submitted (or Rejected with OverrideRejection)")
            else:
                raise self._state_error(row, "Submitted")
            conn.execute(
                """UPDATE mturk.assignments SET status = 'Approved', approval_time = %s,
                       requester_feedback = coalesce(%s, requester_feedback), updated_at = %s
                   WHERE assignment_id = %s""",
                (now, feedback, now, row["assignment_id"]),
            )
        return {}

    def reject_assignment(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Submitted → Rejected; the assignment's reward and fee go back to the requester."""
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit, row = self._locked_assignment(conn, requester, params["AssignmentId"])
            if row["status"] != "Submitted":
                raise self._state_error(row, "Submitted")
            conn.execute(
                """UPDATE mturk.assignments SET status = 'Rejected', rejection_time = %s,
                       requester_feedback = %s, updated_at = %s WHERE assignment_id = %s""",
                (now, params["RequesterFeedback"], now, row["assignment_id"]),
            )
            conn.execute(
                """UPDATE mturk.hits SET assignments_submitted = assignments_submitted - 1,
                       assignments_completed = assignments_completed + 1, updated_at = %s WHERE hit_id = %s""",
                (now, hit["hit_id"]),
            )
            unit = hit["reward"] + assignment_fee(hit["reward"], hit["max_assignments"])
            self._credit(conn, requester, unit, "refund", now, hit["hit_id"], row["assignment_id"])
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
            row = self._own_assignment(conn, requester, params["AssignmentId"])
            if row["worker_id"] != worker_id:
                raise RequestError(
                    f"Worker {worker_id} did not work on assignment {row['assignment_id']}.", PARAMETER_OUT_OF_RANGE
                )
            token = params.get("UniqueRequestToken")
            if token is not None:
                # MTurk: a repeat "will return an error with a message containing the request ID".
                existing = self._claim_op_token(conn, requester, "SendBonus", token, request_id, now)
                if existing is not None:
                    raise RequestError(
                        f"The bonus with UniqueRequestToken {token!r} was already granted by request {existing}; "
                        "it was not paid again.",
                        DUPLICATE_REQUEST,
                    )
            fee = bonus_fee(amount)
            self._debit(conn, requester, amount + fee, "bonus", now, row["hit_id"], row["assignment_id"])
            conn.execute(
                """INSERT INTO mturk.bonus_payments (requester, worker_id, assignment_id, hit_id, amount, fee,
                       reason, grant_time) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
                (requester, worker_id, row["assignment_id"], row["hit_id"], amount, fee, params["Reason"], now),
            )

        self._group(requester).run(write)
        return {}

    def list_bonus_payments(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Bonuses of one HIT or one assignment (exactly one of HITId / AssignmentId)."""
        hit_id = params.get("HITId")
        assignment_id = params.get("AssignmentId")
        if (hit_id is None) == (assignment_id is None):
            raise RequestError("Specify exactly one of HITId and AssignmentId.", MISSING_PARAMETERS)
        limit = self._page(params)
        kind = f"bonus:{hit_id or assignment_id}"
        after = int(decode_token(self.token_key, kind, params["NextToken"])[0]) if "NextToken" in params else 0
        with self.store.transaction() as conn:
            if hit_id is not None:
                self._own_hit(conn, requester, hit_id)
                column, value = "hit_id", hit_id
            else:
                self._own_assignment(conn, requester, str(assignment_id))
                column, value = "assignment_id", str(assignment_id)
            rows = conn.execute(
                f"""SELECT * FROM mturk.bonus_payments WHERE {column} = %s AND requester = %s AND bonus_id > %s
                    ORDER BY bonus_id LIMIT %s""",
                (value, requester, after, limit + 1),
            ).fetchall()
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
            result["NextToken"] = encode_token(self.token_key, kind, page[-1]["bonus_id"])
        return result

    # -- HIT lifecycle ----------------------------------------------------------------------

    def create_additional_assignments_for_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """More assignments (paid now); never from below 10 to 10 or more."""
        extra = params["NumberOfAdditionalAssignments"]
        if extra < 1:
            raise RequestError("NumberOfAdditionalAssignments must be at least 1.", PARAMETER_OUT_OF_RANGE)
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit = self._own_hit(conn, requester, params["HITId"], lock=True)
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
                existing = self._claim_op_token(
                    conn, requester, "CreateAdditionalAssignmentsForHIT", token, REQUEST_ID.get(), now
                )
                if existing is not None:
                    raise RequestError(
                        f"Assignments were already added to HIT {hit['hit_id']} with UniqueRequestToken {token!r} "
                        f"by request {existing}.",
                        DUPLICATE_REQUEST,
                    )
            unit = hit["reward"] + assignment_fee(hit["reward"], current)
            self._debit(conn, requester, unit * extra, "additional", now, hit["hit_id"])
            conn.execute(
                """UPDATE mturk.hits SET max_assignments = max_assignments + %s, cost = cost + %s,
                       reviewing = false, updated_at = %s WHERE hit_id = %s""",
                (extra, unit * extra, now, hit["hit_id"]),
            )
        return {}

    def list_reviewable_hits(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """HITs in Reviewable (default) or Reviewing, optionally of one HIT type, paged."""
        self.settle()
        status = params.get("Status", "Reviewable")
        limit = self._page(params)
        now = self.clock.now()
        query: dict[str, Any] = {"r": requester, "now": now, "status": status, "limit": limit + 1}
        filters = ""
        if params.get("HITTypeId"):
            filters += " AND h.hit_type_id = %(type)s"
            query["type"] = params["HITTypeId"]
        if "NextToken" in params:
            micros, last_id = decode_token(self.token_key, f"reviewable:{status}", params["NextToken"])
            query["t"] = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(micros))
            query["i"] = str(last_id)
            filters += " AND (h.creation_time, h.hit_id) > (%(t)s, %(i)s)"
        with self.store.transaction() as conn:
            rows = conn.execute(
                f"""SELECT h.* FROM mturk.hits h
                    WHERE h.requester = %(r)s AND h.status <> 'Disposed' AND ({status_sql()}) = %(status)s {filters}
                    ORDER BY h.creation_time, h.hit_id LIMIT %(limit)s""",
                query,
            ).fetchall()
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "HITs": [self.hit_dict(r) for r in page]}
        if len(rows) > limit:
            last = page[-1]
            micros = int((last["creation_time"] - datetime.fromtimestamp(0, UTC)) / timedelta(microseconds=1))
            result["NextToken"] = encode_token(self.token_key, f"reviewable:{status}", micros, last["hit_id"])
        return result

    def update_expiration_for_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Extend the expiration, or expire the HIT at once (ExpireAt 0 or any past time).

        MTurk: "You cannot shorten the expiration time so that you're not affecting Workers who
        have accepted your HIT" — a future time earlier than the current expiration is refused.
        """
        now = self.clock.now()
        expire_at = _ts(params["ExpireAt"])
        with self.store.transaction() as conn:
            hit = self._own_hit(conn, requester, params["HITId"], lock=True)
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
            conn.execute(
                "UPDATE mturk.hits SET expiration = %s, updated_at = %s WHERE hit_id = %s",
                (expire_at, now, hit["hit_id"]),
            )
        return {}

    def update_hit_review_status(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Reviewable → Reviewing (Revert false, the default) or Reviewing → Reviewable (true)."""
        self.settle()
        now = self.clock.now()
        revert = bool(params.get("Revert", False))
        with self.store.transaction() as conn:
            hit = self._own_hit(conn, requester, params["HITId"], lock=True)
            status = self.status(hit, now)
            wanted = "Reviewing" if revert else "Reviewable"
            if status != wanted:
                raise RequestError(
                    f"This HIT is currently in the state '{status}'. This operation can be called with a status "
                    f"of: {wanted}.",
                    INVALID_HIT_STATE,
                )
            conn.execute(
                "UPDATE mturk.hits SET reviewing = %s, updated_at = %s WHERE hit_id = %s",
                (not revert, now, hit["hit_id"]),
            )
        return {}

    def update_hit_type_of_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Give a HIT another of the requester's HIT types (its properties come along)."""
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit = self._own_hit(conn, requester, params["HITId"], lock=True)
            if hit["status"] == "Disposed":
                raise RequestError(f"HIT {hit['hit_id']} is Disposed.", INVALID_HIT_STATE)
            new_type = conn.execute(
                "SELECT * FROM mturk.hit_types WHERE hit_type_id = %s", (params["HITTypeId"],)
            ).fetchone()
            if new_type is None or new_type["requester"] != requester:
                raise RequestError(f"HITType {params['HITTypeId']} does not exist.", HIT_TYPE_DOES_NOT_EXIST)
            reviewed = conn.execute(
                "SELECT count(*) AS n FROM mturk.assignments WHERE hit_id = %s AND status IN ('Approved', 'Rejected')",
                (hit["hit_id"],),
            ).fetchone()
            open_slots = hit["max_assignments"] - (reviewed["n"] if reviewed else 0)
            old_unit = hit["reward"] + assignment_fee(hit["reward"], hit["max_assignments"])
            new_unit = new_type["reward"] + assignment_fee(new_type["reward"], hit["max_assignments"])
            delta = (new_unit - old_unit) * open_slots
            if delta > 0:
                self._debit(conn, requester, delta, "retype", now, hit["hit_id"])
            elif delta < 0:
                self._credit(conn, requester, -delta, "retype", now, hit["hit_id"])
            conn.execute(
                """UPDATE mturk.hits SET hit_type_id = %(t)s, hit_group_id = %(g)s, title = %(title)s,
                       description = %(d)s, keywords = %(k)s, reward = %(reward)s,
                       assignment_duration_seconds = %(dur)s, auto_approval_delay_seconds = %(auto)s,
                       qualification_requirements = %(q)s, cost = cost + %(delta)s, updated_at = %(now)s
                   WHERE hit_id = %(hit)s""",
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
        self.settle()
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit = self._own_hit(conn, requester, params["HITId"], lock=True)
            status = self.status(hit, now)
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
            approved = conn.execute(
                "SELECT count(*) AS n FROM mturk.assignments WHERE hit_id = %s AND status IN ('Approved', 'Rejected')",
                (hit["hit_id"],),
            ).fetchone()
            unused = hit["max_assignments"] - (approved["n"] if approved else 0)
            unit = hit["reward"] + assignment_fee(hit["reward"], hit["max_assignments"])
            self._credit(conn, requester, unit * unused, "refund", now, hit["hit_id"])
            conn.execute(
                "UPDATE mturk.hits SET status = 'Disposed', disposed_at = %s, updated_at = %s WHERE hit_id = %s",
                (now, now, hit["hit_id"]),
            )
        return {}

    # -- worker blocks and messages ---------------------------------------------------------

    def create_worker_block(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Block a worker from this requester's HITs (the reason is updated if blocked)."""
        if not params["Reason"].strip():
            raise RequestError("Reason must not be empty.", MISSING_PARAMETERS)
        with self.store.transaction() as conn:
            conn.execute(
                """INSERT INTO mturk.worker_blocks (requester, worker_id, reason, created_at)
                   VALUES (%s, %s, %s, %s)
                   ON CONFLICT (requester, worker_id) DO UPDATE SET reason = EXCLUDED.reason""",
                (requester, params["WorkerId"], params["Reason"], self.clock.now()),
            )
        return {}

    def delete_worker_block(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Unblock a worker; unblocking one who is not blocked succeeds (nothing to do)."""
        with self.store.transaction() as conn:
            conn.execute(
                "DELETE FROM mturk.worker_blocks WHERE requester = %s AND worker_id = %s",
                (requester, params["WorkerId"]),
            )
        return {}

    def list_worker_blocks(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """The requester's blocks by worker ID, paged."""
        limit = self._page(params)
        after = str(decode_token(self.token_key, "blocks", params["NextToken"])[0]) if "NextToken" in params else ""
        with self.store.transaction() as conn:
            rows = conn.execute(
                """SELECT worker_id, reason FROM mturk.worker_blocks WHERE requester = %s AND worker_id > %s
                   ORDER BY worker_id LIMIT %s""",
                (requester, after, limit + 1),
            ).fetchall()
        page = rows[:limit]
        result: dict[str, Any] = {
            "NumResults": len(page),
            "WorkerBlocks": [{"WorkerId": r["worker_id"], "Reason": r["reason"]} for r in page],
        }
        if len(rows) > limit:
            result["NextToken"] = encode_token(self.token_key, "blocks", page[-1]["worker_id"])
        return result

    def notify_workers(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Leave a message on the dashboard of each worker whose work this requester reviewed.

        MTurk sends a message "only if you have previously approved or rejected work from the
        Worker"; anyone else comes back as a HardFailure.
        """
        self.settle()  # auto-approvals that are due count as approvals
        now = self.clock.now()
        worker_ids = list(dict.fromkeys(params["WorkerIds"]))
        if not params["Subject"].strip() or not params["MessageText"].strip():
            raise RequestError("Subject and MessageText must not be empty.", MISSING_PARAMETERS)
        failures: list[dict[str, str]] = []
        with self.store.transaction() as conn:
            known = {
                r["worker_id"]
                for r in conn.execute(
                    """SELECT DISTINCT worker_id FROM mturk.assignments
                       WHERE requester = %s AND worker_id = ANY(%s) AND status IN ('Approved', 'Rejected')""",
                    (requester, worker_ids),
                )
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
                conn.execute(
                    """INSERT INTO mturk.messages (requester, worker_id, subject, body, sent_at)
                       VALUES (%s, %s, %s, %s, %s)""",
                    (requester, worker_id, params["Subject"], params["MessageText"], now),
                )
        return {"NotifyWorkersFailureStatuses": failures}

    # -- review policies, notifications, uploads --------------------------------------------

    def list_review_policy_results_for_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """The HIT's stored review policies; no policy is executed, so there are no results."""
        with self.store.transaction() as conn:
            hit = self._own_hit(conn, requester, params["HITId"])
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
            hit_type = conn.execute(
                "SELECT requester FROM mturk.hit_types WHERE hit_type_id = %s", (params["HITTypeId"],)
            ).fetchone()
            if hit_type is None or hit_type["requester"] != requester:
                raise RequestError(f"HITType {params['HITTypeId']} does not exist.", HIT_TYPE_DOES_NOT_EXIST)
            current = conn.execute(
                "SELECT notification, active FROM mturk.notification_settings WHERE hit_type_id = %s FOR UPDATE",
                (params["HITTypeId"],),
            ).fetchone()
            notification = params.get("Notification", current["notification"] if current else None)
            active = params.get("Active", current["active"] if current else None)
            if active and notification is None:
                raise RequestError("Active can only be set for a HIT type with a Notification.", MISSING_PARAMETERS)
            conn.execute(
                """INSERT INTO mturk.notification_settings (hit_type_id, requester, notification, active, updated_at)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (hit_type_id) DO UPDATE SET notification = EXCLUDED.notification,
                       active = EXCLUDED.active, updated_at = EXCLUDED.updated_at""",
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
            self._own_assignment(conn, requester, params["AssignmentId"])
        raise RequestError(
            f"Assignment {params['AssignmentId']} has no uploaded file for {params['QuestionIdentifier']!r}: "
            "hitflow's HIT service does not collect file uploads (QuestionForm FileUploadAnswer).",
            NOT_SUPPORTED,
        )
