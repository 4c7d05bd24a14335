"""``MTurkBackend``: MTurk's business rules on top of ``store``.

Inputs arrive already checked against botocore's model (``validation``); this module applies
the rules the model cannot express (Question or HITLayoutId, layout parameters, money,
UniqueRequestToken) and builds responses as plain dicts shaped like the model's output
(datetimes and Decimals are turned into JSON by ``responses``).

Requesters are isolated as on MTurk: a HIT or HIT type of another account "does not exist".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from hit_service import layouts, questions
from hit_service.clock import Clock
from hit_service.exceptions import (
    HIT_ALREADY_EXISTS,
    HIT_DOES_NOT_EXIST,
    HIT_TYPE_DOES_NOT_EXIST,
    INSUFFICIENT_FUNDS,
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    RequestError,
)
from hit_service.store import Row, Store

CENT = Decimal("0.01")
MONEY_LIMIT = Decimal("9999999999.99")  # numeric(12,2)
BASE_FEE_RATE = Decimal("0.20")
LARGE_HIT_FEE_RATE = Decimal("0.20")  # added for HITs with 10 or more assignments
LARGE_HIT_ASSIGNMENTS = 10
DEFAULT_AUTO_APPROVAL_DELAY = 30 * 24 * 3600  # MTurk's default: 30 days
DEFAULT_MAX_ASSIGNMENTS = 1
REQUEST_TOKEN_WINDOW = timedelta(hours=24)
DEFAULT_LIST_RESULTS = 10
ID_ALPHABET = string.ascii_uppercase + string.digits
ID_LENGTH = 30


def new_id() -> str:
    """A 30-character upper-case alphanumeric ID like MTurk's (which start with a digit)."""
    return "3" + "".join(secrets.choice(ID_ALPHABET) for _ in range(ID_LENGTH - 1))


# -- money ---------------------------------------------------------------------------------------


def money(text: str, member: str = "Reward") -> Decimal:
    """A validated CurrencyAmount string as Decimal cents."""
    amount = Decimal(text).quantize(CENT)
    if amount > MONEY_LIMIT:
        raise RequestError(f"{member} {text} is larger than {MONEY_LIMIT}.", PARAMETER_OUT_OF_RANGE)
    return amount


def format_money(amount: Decimal) -> str:
    """Money as MTurk writes it: "9999.64"."""
    return str(amount.quantize(CENT))


def fee_rate(max_assignments: int) -> Decimal:
    """MTurk's commission: 20 %, plus 20 % more for HITs with 10 or more assignments."""
    if max_assignments >= LARGE_HIT_ASSIGNMENTS:
        return BASE_FEE_RATE + LARGE_HIT_FEE_RATE
    return BASE_FEE_RATE


def assignment_fee(reward: Decimal, max_assignments: int) -> Decimal:
    """The fee on one assignment: the rate of the reward, rounded half up, at least $0.01."""
    fee = (reward * fee_rate(max_assignments)).quantize(CENT, rounding=ROUND_HALF_UP)
    return max(fee, CENT)


def hit_cost(reward: Decimal, max_assignments: int) -> Decimal:
    """What creating a HIT takes from the balance: every assignment's reward and fee."""
    return (reward + assignment_fee(reward, max_assignments)) * max_assignments


# -- paging --------------------------------------------------------------------------------------


def encode_next_token(creation_time: datetime, hit_id: str) -> str:
    """An opaque token naming the last HIT of a page (keyset paging: stable under inserts)."""
    micros = int(creation_time.timestamp() * 1_000_000)
    raw = json.dumps({"v": 1, "t": micros, "i": hit_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_next_token(token: str) -> tuple[datetime, str]:
    """The inverse of ``encode_next_token``; RequestError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        micros = int(data["t"])
        hit_id = str(data["i"])
        if data.get("v") != 1:
            raise ValueError("version")
    except (ValueError, KeyError, TypeError, binascii.Error, json.JSONDecodeError):
        raise RequestError("NextToken is not a token this service issued.", PARAMETER_OUT_OF_RANGE) from None
    return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=micros), hit_id


def _insufficient_funds(cost: Decimal, reward: Decimal, max_assignments: int, balance: Decimal | None) -> RequestError:
    """The InsufficientFunds error, spelling out the arithmetic so the caller can check it."""
    fee = assignment_fee(reward, max_assignments)
    have = "more than any balance can hold" if balance is None else f"${format_money(balance)} available"
    return RequestError(
        f"Insufficient funds: this HIT costs ${cost.quantize(CENT)} ({max_assignments} × "
        f"(${format_money(reward)} reward + ${format_money(fee)} fee)); {have}.",
        INSUFFICIENT_FUNDS,
    )


# -- the backend ---------------------------------------------------------------------------------


class MTurkBackend:
    """The requester API's state machine; one per process, safe to share between threads."""

    def __init__(self, store: Store, clock: Clock, layouts_dir: Path, initial_balance: Decimal) -> None:
        self.store = store
        self.clock = clock
        self.layouts_dir = layouts_dir
        self.initial_balance = initial_balance

    # GetAccountBalance ---------------------------------------------------------------------

    def get_account_balance(self, requester: str) -> dict[str, Any]:
        """The requester's available balance (the account is opened on first use)."""
        with self.store.transaction() as conn:
            self.store.ensure_account(conn, requester, self.initial_balance)
            balance = self.store.balance(conn, requester)
        assert balance is not None
        return {"AvailableBalance": format_money(balance)}

    # CreateHITType -------------------------------------------------------------------------

    def _hit_type_row(self, requester: str, params: dict[str, Any], now: datetime) -> Row:
        """The HIT type row for ``params``; its hash makes equal properties map to one type."""
        properties = {
            "title": params["Title"],
            "description": params["Description"],
            "keywords": params.get("Keywords") or None,
            "reward": format_money(money(params["Reward"])),
            "assignment_duration_seconds": params["AssignmentDurationInSeconds"],
            "auto_approval_delay_seconds": params.get("AutoApprovalDelayInSeconds", DEFAULT_AUTO_APPROVAL_DELAY),
            "qualification_requirements": params.get("QualificationRequirements") or [],
        }
        canonical = json.dumps(properties, sort_keys=True, separators=(",", ":"))
        return {
            **properties,
            "reward": Decimal(properties["reward"]),
            "hit_type_id": new_id(),
            "hit_group_id": new_id(),
            "requester": requester,
            "properties_hash": hashlib.sha256(canonical.encode()).hexdigest(),
            "created_at": now,
        }

    def create_hit_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Register a HIT type; the same properties from the same requester give the same ID."""
        row = self._hit_type_row(requester, params, self.clock.now())
        with self.store.transaction() as conn:
            stored = self.store.upsert_hit_type(conn, row)
        return {"HITTypeId": stored["hit_type_id"]}

    # CreateHIT / CreateHITWithHITType ------------------------------------------------------

    def create_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """CreateHIT: register (or reuse) the HIT type from the properties, then the HIT."""
        now = self.clock.now()
        hit_type = self._hit_type_row(requester, params, now)
        return self._create(requester, params, now, new_hit_type=hit_type)

    def create_hit_with_hit_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """CreateHITWithHITType: a HIT of an existing HIT type of this requester."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            hit_type = self.store.get_hit_type(conn, params["HITTypeId"])
        if hit_type is None or hit_type["requester"] != requester:
            raise RequestError(f"HITType {params['HITTypeId']} does not exist.", HIT_TYPE_DOES_NOT_EXIST)
        return self._create(requester, params, now, hit_type=hit_type)

    def _content(self, params: dict[str, Any]) -> dict[str, Any]:
        """The HIT's question columns, from exactly one of Question and HITLayoutId."""
        question = params.get("Question")
        layout_id = params.get("HITLayoutId")
        layout_parameters = params.get("HITLayoutParameters")
        if question is not None and layout_id is not None:
            raise RequestError(
                "Question and HITLayoutId are mutually exclusive: send exactly one of them.",
                PARAMETER_OUT_OF_RANGE,
            )
        if question is None and layout_id is None:
            raise RequestError("Either Question or HITLayoutId is required.", MISSING_PARAMETERS)
        if question is not None:
            if layout_parameters:
                raise RequestError("HITLayoutParameters can only be used with HITLayoutId.", PARAMETER_OUT_OF_RANGE)
            parsed = questions.parse_question(question)
            return {"question_kind": parsed.kind, "question": question}
        template = layouts.load_layout(self.layouts_dir, layout_id)
        values = layouts.parameters_dict(layout_id, layout_parameters or [])
        rendered = layouts.render(layout_id, template, values)
        return {
            "question_kind": "Layout",
            "question": questions.html_question(rendered),
            "layout_id": layout_id,
            "layout_parameters": layout_parameters or [],
        }

    def _create(
        self,
        requester: str,
        params: dict[str, Any],
        now: datetime,
        *,
        hit_type: Row | None = None,
        new_hit_type: Row | None = None,
    ) -> dict[str, Any]:
        """Write the HIT, its token and its debit in one transaction; all or nothing."""
        content = self._content(params)
        source = hit_type or new_hit_type
        assert source is not None
        reward: Decimal = source["reward"]
        max_assignments = params.get("MaxAssignments", DEFAULT_MAX_ASSIGNMENTS)
        cost = hit_cost(reward, max_assignments)
        if cost > MONEY_LIMIT:
            raise _insufficient_funds(cost, reward, max_assignments, None)
        token = params.get("UniqueRequestToken")
        hit_id = new_id()
        with self.store.transaction() as conn:
            self.store.ensure_account(conn, requester, self.initial_balance)
            if token is not None:
                existing = self.store.claim_request_token(
                    conn, requester, token, hit_id, now, now - REQUEST_TOKEN_WINDOW
                )
                if existing is not None:
                    raise RequestError(f'The HIT with ID "{existing}" already exists.', HIT_ALREADY_EXISTS)
            if new_hit_type is not None:
                hit_type = self.store.upsert_hit_type(conn, new_hit_type)
            assert hit_type is not None
            row = self.store.insert_hit(
                conn,
                {
                    "hit_id": hit_id,
                    "hit_type_id": hit_type["hit_type_id"],
                    "requester": requester,
                    "hit_group_id": hit_type["hit_group_id"],
                    "title": hit_type["title"],
                    "description": hit_type["description"],
                    "keywords": hit_type["keywords"],
                    "reward": hit_type["reward"],
                    "assignment_duration_seconds": hit_type["assignment_duration_seconds"],
                    "auto_approval_delay_seconds": hit_type["auto_approval_delay_seconds"],
                    "qualification_requirements": hit_type["qualification_requirements"],
                    "max_assignments": max_assignments,
                    "lifetime_seconds": params["LifetimeInSeconds"],
                    "creation_time": now,
                    "expiration": now + timedelta(seconds=params["LifetimeInSeconds"]),
                    "requester_annotation": params.get("RequesterAnnotation"),
                    "assignment_review_policy": params.get("AssignmentReviewPolicy"),
                    "hit_review_policy": params.get("HITReviewPolicy"),
                    "unique_request_token": token,
                    "cost": cost,
                    "updated_at": now,
                    **content,
                },
            )
            # Debit last: it locks the account row, which serializes this requester's creates.
            if self.store.debit(conn, requester, cost, kind="hit", now=now, hit_id=hit_id) is None:
                balance = self.store.balance(conn, requester) or Decimal(0)
                raise _insufficient_funds(cost, reward, max_assignments, balance)
        return {"HIT": self.hit_dict(row)}

    # GetHIT / ListHITs ---------------------------------------------------------------------

    def get_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """One of the requester's HITs."""
        hit_id = params["HITId"]
        with self.store.transaction() as conn:
            row = self.store.get_hit(conn, hit_id)
        if row is None or row["requester"] != requester:
            raise RequestError(f"Hit {hit_id} does not exist.", HIT_DOES_NOT_EXIST)
        return {"HIT": self.hit_dict(row)}

    def list_hits(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """The requester's HITs by creation time then ID, MaxResults (default 10) at a time."""
        limit = params.get("MaxResults", DEFAULT_LIST_RESULTS)
        after = decode_next_token(params["NextToken"]) if "NextToken" in params else None
        with self.store.transaction() as conn:
            rows = self.store.list_hits(conn, requester, after, limit + 1)
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "HITs": [self.hit_dict(row) for row in page]}
        if len(rows) > limit:
            last = page[-1]
            result["NextToken"] = encode_next_token(last["creation_time"], last["hit_id"])
        return result

    # pages and test endpoints --------------------------------------------------------------

    def recent_hits(self, offset: int, limit: int) -> tuple[list[Row], int]:
        """Every requester's HITs, newest first, and how many there are (HTML pages)."""
        with self.store.transaction() as conn:
            return self.store.recent_hits(conn, offset, limit), self.store.count_hits(conn)

    def find_hit(self, hit_id: str) -> Row | None:
        """A HIT by ID whoever owns it (HTML pages)."""
        with self.store.transaction() as conn:
            return self.store.get_hit(conn, hit_id)

    def set_balance(self, requester: str | None, balance: Decimal) -> int:
        """Set one or every account's balance (test mode)."""
        with self.store.transaction() as conn:
            return self.store.set_balance(conn, requester, balance)

    # shaping -------------------------------------------------------------------------------

    def status(self, row: Row) -> str:
        """HITStatus now: an open HIT past its expiration is Reviewable, as on MTurk."""
        status: str = row["status"]
        if status in ("Assignable", "Unassignable") and self.clock.now() >= row["expiration"]:
            return "Reviewable"
        return status

    def hit_dict(self, row: Row) -> dict[str, Any]:
        """A stored HIT as the model's ``HIT`` shape."""
        pending = row["assignments_pending"]
        completed = row["assignments_completed"]
        hit: dict[str, Any] = {
            "HITId": row["hit_id"],
            "HITTypeId": row["hit_type_id"],
            "HITGroupId": row["hit_group_id"],
            "CreationTime": row["creation_time"],
            "Title": row["title"],
            "Description": row["description"],
            "Question": row["question"],
            "HITStatus": self.status(row),
            "MaxAssignments": row["max_assignments"],
            "Reward": format_money(row["reward"]),
            "AutoApprovalDelayInSeconds": row["auto_approval_delay_seconds"],
            "Expiration": row["expiration"],
            "AssignmentDurationInSeconds": row["assignment_duration_seconds"],
            "QualificationRequirements": row["qualification_requirements"] or [],
            "HITReviewStatus": row["review_status"],
            "NumberOfAssignmentsPending": pending,
            "NumberOfAssignmentsAvailable": max(row["max_assignments"] - pending - completed, 0),
            "NumberOfAssignmentsCompleted": completed,
        }
        if row["layout_id"]:
            hit["HITLayoutId"] = row["layout_id"]
        if row["keywords"]:
            hit["Keywords"] = row["keywords"]
        if row["requester_annotation"] is not None:
            hit["RequesterAnnotation"] = row["requester_annotation"]
        return hit
