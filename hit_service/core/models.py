"""``MTurkBackend``: MTurk's business rules on top of ``store``.

Inputs arrive already checked against botocore's model (``validation``); this module applies
the rules the model cannot express (Question or HITLayoutId, layout parameters, money,
UniqueRequestToken) and builds responses as plain dicts shaped like the model's output
(datetimes and Decimals are turned into JSON by ``responses``).

Requesters are isolated as on MTurk: a HIT or HIT type of another account "does not exist".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from botocore import xform_name

from hit_service.core import layouts, question_xml
from hit_service.core.clock import Clock
from hit_service.core.database import GroupCommit, Row, Store
from hit_service.core.exceptions import (
    HIT_ALREADY_EXISTS,
    HIT_DOES_NOT_EXIST,
    HIT_TYPE_DOES_NOT_EXIST,
    INSUFFICIENT_FUNDS,
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    RequestError,
)
from hit_service.core.hit_changes import HitChanges
from hit_service.core.lifecycle import Lifecycle
from hit_service.core.quals import Qualifications
from hit_service.core.requirements import check_requirements
from hit_service.core.rules import (  # noqa: F401 - re-exported for callers of models
    DEFAULT_AUTO_APPROVAL_DELAY,
    DEFAULT_LIST_RESULTS,
    DEFAULT_MAX_ASSIGNMENTS,
    ID_ALPHABET,
    ID_LENGTH,
    MONEY_LIMIT,
    REQUEST_TOKEN_WINDOW,
    decode_next_token,
    decode_token,
    encode_next_token,
    encode_token,
    hit_status,
    money,
    new_id,
    status_sql,
)
from hit_service.core.worker_relations import WorkerRelations
from hit_service.core.workers import WorkerSite
from mturk_money import CENT, assignment_fee, format_money, hit_cost

OPERATIONS = (
    "AcceptQualificationRequest",
    "ApproveAssignment",
    "AssociateQualificationWithWorker",
    "CreateAdditionalAssignmentsForHIT",
    "CreateHIT",
    "CreateHITType",
    "CreateHITWithHITType",
    "CreateQualificationType",
    "CreateWorkerBlock",
    "DeleteHIT",
    "DeleteQualificationType",
    "DeleteWorkerBlock",
    "DisassociateQualificationFromWorker",
    "GetAccountBalance",
    "GetAssignment",
    "GetFileUploadURL",
    "GetHIT",
    "GetQualificationScore",
    "GetQualificationType",
    "ListAssignmentsForHIT",
    "ListBonusPayments",
    "ListHITs",
    "ListHITsForQualificationType",
    "ListQualificationRequests",
    "ListQualificationTypes",
    "ListReviewPolicyResultsForHIT",
    "ListReviewableHITs",
    "ListWorkerBlocks",
    "ListWorkersWithQualificationType",
    "NotifyWorkers",
    "RejectAssignment",
    "RejectQualificationRequest",
    "SendBonus",
    "SendTestEventNotification",
    "UpdateExpirationForHIT",
    "UpdateHITReviewStatus",
    "UpdateHITTypeOfHIT",
    "UpdateNotificationSettings",
    "UpdateQualificationType",
)


HIT_TYPE_CACHE_SIZE = 10_000


def _snake(operation: str) -> str:
    """The method name boto3 gives an operation: ``ListHITs`` → ``list_hits``."""
    return xform_name(operation)


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
    """The requester API's state machine; one per process, safe to share between threads.

    It owns HIT types and HITs (creation, lookup, shaping, status) and holds the domain objects
    for the rest, each handed the store, the clock and this object as its ``HitRecords``:
    ``lifecycle`` (assignments, review, bonuses), ``hit_changes`` (a HIT's changes after
    creation), ``worker_relations`` (blocks, messages), ``quals`` (qualifications) and ``site``
    (what the worker site does). ``handlers()`` maps every API operation to whichever owns it.
    """

    def __init__(self, store: Store, clock: Clock, layouts_dir: Path, initial_balance: Decimal) -> None:
        self.store = store
        self.clock = clock
        self.layouts_dir = layouts_dir
        self.initial_balance = initial_balance
        self.token_key = b""  # the NextToken signing key, installed at startup (``install_key``)
        self._groups: dict[str, GroupCommit] = {}
        self._hit_types: dict[str, Row] = {}
        self._groups_lock = threading.Lock()
        # Test mode only: ExternalQuestion URLs may be http:// (local test servers); MTurk wanted https.
        self.allow_http_external_urls = False
        self.lifecycle = Lifecycle(store, clock, self)
        self.hit_changes = HitChanges(store, clock, self, self.lifecycle)
        self.worker_relations = WorkerRelations(store, clock, self, self.lifecycle)
        self.quals = Qualifications(store, clock, self, self.lifecycle.settle)
        self.site = WorkerSite(store, clock, self, self.lifecycle.settle)

    def settle(self) -> None:
        """Apply the time-driven transitions that are due (``Lifecycle.settle``)."""
        self.lifecycle.settle()

    # The worker-site calls that tests, the demo and the simulated crowd make on the backend.
    def worker(self, worker_id: str) -> Row | None:
        return self.site.worker(worker_id)

    def accept(self, worker: Row, hit_id: str) -> str:
        return self.site.accept(worker, hit_id)

    def submit_assignment(
        self, assignment_id: str, fields: list[tuple[str, str]], worker_id: str | None = None
    ) -> tuple[Row, Row]:
        return self.site.submit_assignment(assignment_id, fields, worker_id)

    def install_key(self, service_key: bytes) -> None:
        """Derive the NextToken signing key from the service's shared key (same in every process)."""
        self.token_key = hmac.new(service_key, b"hitflow next-token key", hashlib.sha256).digest()

    def group_commit(self, requester: str) -> GroupCommit:
        """The requester's group committer (one per requester: a batch locks one account row)."""
        group = self._groups.get(requester)
        if group is None:
            with self._groups_lock:
                group = self._groups.setdefault(requester, GroupCommit(self.store))
        return group

    _group = group_commit  # the name tests and older callers use

    def handlers(self) -> dict[str, Any]:
        """Operation name → ``handler(requester, params)`` for every implemented operation."""
        names = {
            "GetAccountBalance": lambda requester, _params: self.get_account_balance(requester),
        }
        for operation in OPERATIONS:
            for owner in (self, self.lifecycle, self.hit_changes, self.worker_relations, self.quals):
                method = getattr(owner, _snake(operation), None)
                if operation not in names and method is not None:
                    names[operation] = method
        return names

    # GetAccountBalance ---------------------------------------------------------------------

    def get_account_balance(self, requester: str) -> dict[str, Any]:
        """The requester's available balance (the account is opened on first use)."""
        with self.store.transaction() as conn:
            self.store.accounts.ensure_account(conn, requester, self.initial_balance)
            balance = self.store.accounts.balance(conn, requester)
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
            check_requirements(conn, row["qualification_requirements"])
            stored = self.store.hits.upsert_hit_type(conn, row)
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
        hit_type = self._hit_types.get(params["HITTypeId"])
        if hit_type is None:
            with self.store.transaction() as conn:
                hit_type = self.store.hits.get_hit_type(conn, params["HITTypeId"])
            if hit_type is not None:
                # HIT types never change once made, so every process may keep them.
                if len(self._hit_types) >= HIT_TYPE_CACHE_SIZE:
                    self._hit_types.clear()
                self._hit_types[hit_type["hit_type_id"]] = hit_type
        if hit_type is None or hit_type["requester"] != requester:
            raise RequestError(f"HITType {params['HITTypeId']} does not exist.", HIT_TYPE_DOES_NOT_EXIST)
        return self._create(requester, params, now, hit_type=hit_type)

    def _content(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
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
            parsed = question_xml.parse_question(question, allow_http=self.allow_http_external_urls)
            return {"question_kind": parsed.kind, "question": question}
        assert layout_id is not None  # neither both nor none: checked above
        template = layouts.project_template(self.store, requester, layout_id)
        if template is None:
            template = layouts.load_layout(self.layouts_dir, layout_id)
        values = layouts.parameters_dict(layout_id, layout_parameters or [])
        rendered = layouts.render(layout_id, template, values)
        return {
            "question_kind": "Layout",
            "question": question_xml.html_question(rendered),
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
        content = self._content(requester, params)
        source = hit_type or new_hit_type
        assert source is not None
        reward: Decimal = source["reward"]
        max_assignments = params.get("MaxAssignments", DEFAULT_MAX_ASSIGNMENTS)
        cost = hit_cost(reward, max_assignments)
        if cost > MONEY_LIMIT:
            raise _insufficient_funds(cost, reward, max_assignments, None)
        token = params.get("UniqueRequestToken")
        hit_id = new_id()
        values = {
            "hit_id": hit_id,
            "requester": requester,
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
        }

        def write(conn: Any) -> Row:
            chosen = hit_type
            if token is not None:
                existing = self.store.hits.claim_request_token(
                    conn, requester, token, hit_id, now, now - REQUEST_TOKEN_WINDOW
                )
                if existing is not None:
                    raise RequestError(f'The HIT with ID "{existing}" already exists.', HIT_ALREADY_EXISTS)
            if new_hit_type is not None:
                check_requirements(conn, new_hit_type["qualification_requirements"])
                chosen = self.store.hits.upsert_hit_type(conn, new_hit_type)
            assert chosen is not None
            row = self.store.hits.insert_hit_and_debit(
                conn,
                {
                    **values,
                    "hit_type_id": chosen["hit_type_id"],
                    "hit_group_id": chosen["hit_group_id"],
                    "title": chosen["title"],
                    "description": chosen["description"],
                    "keywords": chosen["keywords"],
                    "reward": chosen["reward"],
                    "assignment_duration_seconds": chosen["assignment_duration_seconds"],
                    "auto_approval_delay_seconds": chosen["auto_approval_delay_seconds"],
                    "qualification_requirements": chosen["qualification_requirements"],
                },
            )
            if row is None:
                if token is not None and new_hit_type is None:
                    self.store.hits.release_request_token(conn, requester, token, hit_id)
                balance = self.store.accounts.balance(conn, requester) or Decimal(0)
                raise _insufficient_funds(cost, reward, max_assignments, balance)
            return row

        # Without a new HIT type, ``write`` leaves nothing behind when it raises: a live token
        # is found before anything is written, and a token claimed for a HIT the balance cannot
        # pay for is released again. So it needs no savepoint (two round trips fewer per HIT).
        row = self.group_commit(requester).run(write, atomic=new_hit_type is None)
        return {"HIT": self.hit_dict(row)}

    # GetHIT / ListHITs ---------------------------------------------------------------------

    def get_hit(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """One of the requester's HITs."""
        hit_id = params["HITId"]
        self.settle()
        with self.store.transaction() as conn:
            row = self.store.hits.get_hit(conn, hit_id)
        if row is None or row["requester"] != requester:
            raise RequestError(f"Hit {hit_id} does not exist.", HIT_DOES_NOT_EXIST)
        return {"HIT": self.hit_dict(row)}

    def list_hits(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """The requester's HITs by creation time then ID, MaxResults (default 10) at a time."""
        limit = params.get("MaxResults", DEFAULT_LIST_RESULTS)
        after = decode_next_token(self.token_key, params["NextToken"]) if "NextToken" in params else None
        self.settle()
        with self.store.transaction() as conn:
            rows = self.store.hits.list_hits(conn, requester, after, limit + 1)
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "HITs": [self.hit_dict(row) for row in page]}
        if len(rows) > limit:
            last = page[-1]
            result["NextToken"] = encode_next_token(self.token_key, last["creation_time"], last["hit_id"])
        return result

    # pages and test endpoints --------------------------------------------------------------

    def recent_hits(self, offset: int, limit: int) -> tuple[list[Row], int]:
        """Every requester's HITs, newest first, and how many there are (HTML pages)."""
        with self.store.transaction() as conn:
            return self.store.hits.recent_hits(conn, offset, limit), self.store.hits.count_hits(conn)

    def find_hit(self, hit_id: str) -> Row | None:
        """A HIT by ID whoever owns it (HTML pages)."""
        with self.store.transaction() as conn:
            return self.store.hits.get_hit(conn, hit_id)

    def resolve_requester(self, ref: str) -> str | None:
        """A requester ID from an ID, a name or an access key ID."""
        from hit_service.core.identity import resolve_requester

        with self.store.transaction() as conn:
            return resolve_requester(conn, ref)

    def set_balance(self, requester: str | None, balance: Decimal) -> int:
        """Set one or every account's balance (test mode)."""
        with self.store.transaction() as conn:
            return self.store.accounts.set_balance(conn, requester, balance)

    # shaping -------------------------------------------------------------------------------

    def status(self, row: Row, now: datetime | None = None) -> str:
        """HITStatus now, from the stored counters, the expiration and the review flag."""
        return hit_status(row, now or self.clock.now())

    def hit_dict(self, row: Row) -> dict[str, Any]:
        """A stored HIT as the model's ``HIT`` shape."""
        pending = row["assignments_pending"]
        completed = row["assignments_completed"]
        taken = pending + row["assignments_submitted"] + completed
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
            "NumberOfAssignmentsAvailable": max(row["max_assignments"] - taken, 0),
            "NumberOfAssignmentsCompleted": completed,
        }
        if row["layout_id"]:
            hit["HITLayoutId"] = row["layout_id"]
        if row["keywords"]:
            hit["Keywords"] = row["keywords"]
        if row["requester_annotation"] is not None:
            hit["RequesterAnnotation"] = row["requester_annotation"]
        return hit
