"""Qualification types, workers' scores and qualification requests (the API's operations).

The requirements a HIT puts on workers, and the system qualification types, are in
``hit_service.core.requirements``.

Qualification tests (``Test``/``AnswerKey``) are stored and returned, but the worker site does
not run them: a worker's request for a type with a test waits for the requester's
AcceptQualificationRequest / RejectQualificationRequest. A type with ``AutoGranted`` is
granted at once (``AutoGrantedValue``, default 1).
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg

from hit_service.core.clock import Clock
from hit_service.core.database import Row, Store
from hit_service.core.exceptions import (
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    QUALIFICATION_DOES_NOT_EXIST,
    QUALIFICATION_REQUEST_DOES_NOT_EXIST,
    QUALIFICATION_TYPE_ALREADY_EXISTS,
    QUALIFICATION_TYPE_DOES_NOT_EXIST,
    RequestError,
)
from hit_service.core.hit_records import HitRecords
from hit_service.core.requirements import (
    DEFAULT_PAGE,
    SYSTEM_TYPES,
)
from hit_service.core.rules import decode_token, encode_token, new_id
from hit_service.stores.qualifications import QualificationStore
from hit_service.stores.workers import WorkerStore


def _request_id() -> str:
    return "3" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(29))


# What a worker's qualification request came to, by key: ``/worker/quals?note=<key>`` shows the
# message, and nothing else — a link cannot put its own words on the page.
REQUEST_NOTES = {
    "held": "You already have this qualification.",
    "granted": "Qualification granted.",
    "waiting": "Your request is waiting for the requester.",
    "sent": "Request sent to the requester.",
}


class Qualifications:
    """The qualification operations, handed the store, the clock and the HIT side."""

    def __init__(self, store: Store, clock: Clock, hits: HitRecords, settle: Callable[[], None]) -> None:
        self.store = store
        self.clock = clock
        self.hits = hits
        self.settle = settle  # the lifecycle's time-driven transitions, run before reading state

    @staticmethod
    def _page_size(params: dict[str, Any]) -> int:
        return int(params.get("MaxResults", DEFAULT_PAGE))

    @staticmethod
    def _type_row(conn: psycopg.Connection[Row], type_id: str, *, lock: bool = False) -> Row:
        row = QualificationStore.type_row(conn, type_id, lock=lock)
        if row is None:
            raise RequestError(f"QualificationType {type_id} does not exist.", QUALIFICATION_TYPE_DOES_NOT_EXIST)
        return row

    def _own_type(self, conn: psycopg.Connection[Row], requester: str, type_id: str, *, lock: bool = False) -> Row:
        row = self._type_row(conn, type_id, lock=lock)
        if row["requester"] != requester:
            raise RequestError(
                f"QualificationType {type_id} does not exist (or is not yours).", QUALIFICATION_TYPE_DOES_NOT_EXIST
            )
        return row

    @staticmethod
    def _grant(conn: psycopg.Connection[Row], type_id: str, worker_id: str, value: int, now: datetime) -> None:
        """Grant ``type_id`` to the worker with ``value`` (a revoked or earlier grant is replaced)."""
        QualificationStore.grant(conn, (type_id, worker_id, value, now))

    @staticmethod
    def type_dict(row: Row) -> dict[str, Any]:
        """A qualification type as the model's ``QualificationType`` shape."""
        result: dict[str, Any] = {
            "QualificationTypeId": row["qualification_type_id"],
            "CreationTime": row["creation_time"],
            "Name": row["name"],
            "Description": row["description"],
            "QualificationTypeStatus": row["status"],
            "IsRequestable": bool(row["test"]) or bool(row["auto_granted"]),
            "AutoGranted": bool(row["auto_granted"]),
        }
        for key, column in (
            ("Keywords", "keywords"),
            ("Test", "test"),
            ("AnswerKey", "answer_key"),
            ("TestDurationInSeconds", "test_duration_seconds"),
            ("RetryDelayInSeconds", "retry_delay_seconds"),
        ):
            if row[column] is not None:
                result[key] = row[column]
        if row["auto_granted"]:
            result["AutoGrantedValue"] = row["auto_granted_value"] if row["auto_granted_value"] is not None else 1
        return result

    @staticmethod
    def _check_test(params: dict[str, Any]) -> None:
        if params.get("Test") and params.get("AutoGranted"):
            raise RequestError("A qualification type cannot have both a Test and AutoGranted.", PARAMETER_OUT_OF_RANGE)
        if params.get("Test") and not params.get("TestDurationInSeconds"):
            raise RequestError("TestDurationInSeconds is required with a Test.", MISSING_PARAMETERS)
        if params.get("AnswerKey") and not params.get("Test"):
            raise RequestError("AnswerKey can only be given with a Test.", PARAMETER_OUT_OF_RANGE)
        for member in ("Test", "AnswerKey"):
            if params.get(member):
                from hit_service.core.question_xml import check_xml

                check_xml(params[member], member)

    def create_qualification_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """A new qualification type; names are unique per requester (case-insensitive)."""
        self._check_test(params)
        now = self.clock.now()
        with self.store.transaction() as conn:
            try:
                row = self.store.quals.insert_type(
                    conn,
                    (
                        new_id(),
                        requester,
                        params["Name"],
                        params["Description"],
                        params.get("Keywords"),
                        params["QualificationTypeStatus"],
                        params.get("RetryDelayInSeconds"),
                        params.get("Test"),
                        params.get("AnswerKey"),
                        params.get("TestDurationInSeconds"),
                        bool(params.get("AutoGranted", False)),
                        params.get("AutoGrantedValue"),
                        now,
                    ),
                ).fetchone()
            except psycopg.errors.UniqueViolation:
                raise RequestError(
                    f"You have already created a QualificationType with this name: {params['Name']}",
                    QUALIFICATION_TYPE_ALREADY_EXISTS,
                ) from None
        assert row is not None
        return {"QualificationType": self.type_dict(row)}

    def get_qualification_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Any requester's (non-deleted) qualification type, as on MTurk; system types too."""
        type_id = params["QualificationTypeId"]
        if type_id in SYSTEM_TYPES:
            return {
                "QualificationType": {
                    "QualificationTypeId": type_id,
                    "Name": SYSTEM_TYPES[type_id],
                    "Description": "A system qualification computed by hitflow's HIT service.",
                    "QualificationTypeStatus": "Active",
                    "IsRequestable": False,
                    "AutoGranted": False,
                }
            }
        with self.store.transaction() as conn:
            row = self._type_row(conn, type_id)
        result = self.type_dict(row)
        if row["requester"] != requester:
            result.pop("AnswerKey", None)  # another requester's answer key stays private
        return {"QualificationType": result}

    def list_qualification_types(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Types matching ``Query`` (name/description/keywords), requestable and/or owned, paged."""
        limit = self._page_size(params)
        after = None
        if "NextToken" in params:
            after = str(decode_token(self.hits.token_key, "qualtypes", params["NextToken"])[0])
        with self.store.transaction() as conn:
            rows = self.store.quals.search_types(
                conn,
                requester,
                owned_only=bool(params.get("MustBeOwnedByCaller")),
                requestable_only=bool(params["MustBeRequestable"]),
                text=params.get("Query"),
                after=after,
                limit=limit + 1,
            )
        page = rows[:limit]
        types = []
        for row in page:
            shaped = self.type_dict(row)
            if row["requester"] != requester:
                shaped.pop("AnswerKey", None)
            types.append(shaped)
        result: dict[str, Any] = {"NumResults": len(page), "QualificationTypes": types}
        if len(rows) > limit:
            result["NextToken"] = encode_token(self.hits.token_key, "qualtypes", page[-1]["qualification_type_id"])
        return result

    def update_qualification_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Change a type's description, status, test, retry delay or auto-granting."""
        with self.store.transaction() as conn:
            row = self._own_type(conn, requester, params["QualificationTypeId"], lock=True)
            merged = {
                "Test": params.get("Test", row["test"]),
                "AnswerKey": params.get("AnswerKey", row["answer_key"]),
                "TestDurationInSeconds": params.get("TestDurationInSeconds", row["test_duration_seconds"]),
                "AutoGranted": params.get("AutoGranted", row["auto_granted"]),
            }
            self._check_test(merged)
            updated = self.store.quals.update_type(
                conn,
                (
                    params.get("Description", row["description"]),
                    params.get("QualificationTypeStatus", row["status"]),
                    merged["Test"],
                    merged["AnswerKey"],
                    merged["TestDurationInSeconds"],
                    params.get("RetryDelayInSeconds", row["retry_delay_seconds"]),
                    merged["AutoGranted"],
                    params.get("AutoGrantedValue", row["auto_granted_value"]),
                    row["qualification_type_id"],
                ),
            ).fetchone()
        assert updated is not None
        return {"QualificationType": self.type_dict(updated)}

    def delete_qualification_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Delete a type (its name is free again; HITs requiring it stop matching anyone)."""
        with self.store.transaction() as conn:
            row = self._own_type(conn, requester, params["QualificationTypeId"], lock=True)
            self.store.quals.mark_type_deleted(conn, (row["qualification_type_id"],))
        return {}

    @staticmethod
    def _worker_exists(conn: psycopg.Connection[Row], worker_id: str) -> None:
        if WorkerStore.worker_exists(conn, (worker_id,)).fetchone() is None:
            raise RequestError(f"Worker {worker_id} does not exist.", PARAMETER_OUT_OF_RANGE)

    def associate_qualification_with_worker(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Grant (or change) a worker's score for one of the requester's types."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            row = self._own_type(conn, requester, params["QualificationTypeId"])
            self._worker_exists(conn, params["WorkerId"])
            self._grant(conn, row["qualification_type_id"], params["WorkerId"], params.get("IntegerValue", 1), now)
        return {}

    def disassociate_qualification_from_worker(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Revoke a worker's qualification."""
        with self.store.transaction() as conn:
            row = self._own_type(conn, requester, params["QualificationTypeId"])
            cur = self.store.quals.revoke(conn, (row["qualification_type_id"], params["WorkerId"]))
            if cur.rowcount == 0:
                raise RequestError(
                    f"Worker {params['WorkerId']} does not have qualification {row['qualification_type_id']}.",
                    QUALIFICATION_DOES_NOT_EXIST,
                )
        return {}

    @staticmethod
    def qualification_dict(row: Row) -> dict[str, Any]:
        result: dict[str, Any] = {
            "QualificationTypeId": row["qualification_type_id"],
            "WorkerId": row["worker_id"],
            "GrantTime": row["grant_time"],
            "Status": row["status"],
        }
        if row["locale_country"]:
            locale = {"Country": row["locale_country"]}
            if row["locale_subdivision"]:
                locale["Subdivision"] = row["locale_subdivision"]
            result["LocaleValue"] = locale
        else:
            result["IntegerValue"] = row["integer_value"]
        return result

    def get_qualification_score(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """A worker's score for one of the requester's types."""
        with self.store.transaction() as conn:
            row = self._own_type(conn, requester, params["QualificationTypeId"])
            score = self.store.quals.score(conn, (row["qualification_type_id"], params["WorkerId"])).fetchone()
        if score is None:
            raise RequestError(
                f"You requested a Qualification that does not exist: worker {params['WorkerId']} has no score for "
                f"{row['qualification_type_id']}.",
                QUALIFICATION_DOES_NOT_EXIST,
            )
        return {"Qualification": self.qualification_dict(score)}

    def list_workers_with_qualification_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Workers holding one of the requester's types (Granted by default), paged."""
        limit = self._page_size(params)
        status = params.get("Status", "Granted")
        with self.store.transaction() as conn:
            row = self._own_type(conn, requester, params["QualificationTypeId"])
            after = ""
            if "NextToken" in params:
                after = str(decode_token(self.hits.token_key, "qualworkers", params["NextToken"])[0])
            rows = self.store.quals.page_of_holders(
                conn, (row["qualification_type_id"], status, after, limit + 1)
            ).fetchall()
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "Qualifications": [self.qualification_dict(r) for r in page]}
        if len(rows) > limit:
            result["NextToken"] = encode_token(self.hits.token_key, "qualworkers", page[-1]["worker_id"])
        return result

    def list_hits_for_qualification_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """The requester's HITs that require a qualification type, paged."""
        from hit_service.core.rules import decode_next_token, encode_next_token

        self.settle()
        limit = self._page_size(params)
        type_id = params["QualificationTypeId"]
        after = decode_next_token(self.hits.token_key, params["NextToken"]) if "NextToken" in params else None
        with self.store.transaction() as conn:
            if type_id not in SYSTEM_TYPES:
                self._type_row(conn, type_id)
            rows = self.store.hits.page_requiring_type(conn, requester, type_id, after, limit + 1)
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "HITs": [self.hits.hit_dict(r) for r in page]}
        if len(rows) > limit:
            result["NextToken"] = encode_next_token(self.hits.token_key, page[-1]["creation_time"], page[-1]["hit_id"])
        return result

    # -- qualification requests -------------------------------------------------------------

    @staticmethod
    def request_dict(row: Row) -> dict[str, Any]:
        result: dict[str, Any] = {
            "QualificationRequestId": row["qualification_request_id"],
            "QualificationTypeId": row["qualification_type_id"],
            "WorkerId": row["worker_id"],
            "SubmitTime": row["submit_time"],
        }
        if row["test"] is not None:
            result["Test"] = row["test"]
        if row["answer"] is not None:
            result["Answer"] = row["answer"]
        return result

    def list_qualification_requests(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Pending requests for the requester's types (optionally one type), paged."""
        limit = self._page_size(params)
        after = ""
        with self.store.transaction() as conn:
            if params.get("QualificationTypeId"):
                self._own_type(conn, requester, params["QualificationTypeId"])
            if "NextToken" in params:
                after = str(decode_token(self.hits.token_key, "qualrequests", params["NextToken"])[0])
            rows = self.store.quals.pending_requests(
                conn, requester, params.get("QualificationTypeId"), after, limit + 1
            )
        page = rows[:limit]
        result: dict[str, Any] = {
            "NumResults": len(page),
            "QualificationRequests": [self.request_dict(r) for r in page],
        }
        if len(rows) > limit:
            result["NextToken"] = encode_token(
                self.hits.token_key, "qualrequests", page[-1]["qualification_request_id"]
            )
        return result

    def _pending_request(self, conn: psycopg.Connection[Row], requester: str, request_id: str) -> Row:
        row = self.store.quals.lock_pending_request(conn, (request_id,)).fetchone()
        if row is None or row["requester"] != requester or row["status"] != "Pending":
            raise RequestError(
                f"QualificationRequest {request_id} does not exist or is not pending.",
                QUALIFICATION_REQUEST_DOES_NOT_EXIST,
            )
        return row

    def accept_qualification_request(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Grant the requested qualification (IntegerValue, default 1)."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            row = self._pending_request(conn, requester, params["QualificationRequestId"])
            self.store.quals.approve_request(conn, (now, row["qualification_request_id"]))
            self._grant(conn, row["qualification_type_id"], row["worker_id"], params.get("IntegerValue", 1), now)
        return {}

    def reject_qualification_request(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Refuse a request (the worker may ask again after the type's RetryDelayInSeconds)."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            row = self._pending_request(conn, requester, params["QualificationRequestId"])
            self.store.quals.reject_request(conn, (params.get("Reason"), now, row["qualification_request_id"]))
        return {}

    # -- the worker's side ------------------------------------------------------------------

    def requestable_types(self, worker_id: str) -> list[dict[str, Any]]:
        """Active requestable types with the worker's standing for each (worker site)."""
        with self.store.transaction() as conn:
            rows = self.store.quals.requestable_for_worker(conn, {"w": worker_id}).fetchall()
        return rows

    def request_qualification(self, worker_id: str, type_id: str) -> str:
        """A worker asks for a qualification: granted at once if AutoGranted, else a pending request.

        Returns a key of ``REQUEST_NOTES`` (the page shows only those server-made messages).
        """
        now = self.clock.now()
        with self.store.transaction() as conn:
            row = self._type_row(conn, type_id)
            if row["status"] != "Active" or not (row["test"] or row["auto_granted"]):
                raise RequestError("This qualification cannot be requested.", PARAMETER_OUT_OF_RANGE)
            held = self.store.quals.score_status(conn, (type_id, worker_id)).fetchone()
            if held is not None and held["status"] == "Granted":
                return "held"
            if row["auto_granted"]:
                value = row["auto_granted_value"] if row["auto_granted_value"] is not None else 1
                self._grant(conn, type_id, worker_id, value, now)
                return "granted"
            last = self.store.quals.latest_request(conn, (type_id, worker_id)).fetchone()
            if last is not None and last["status"] == "Pending":
                return "waiting"
            if last is not None and last["status"] == "Rejected":
                delay = row["retry_delay_seconds"]
                if delay is None:
                    raise RequestError("This qualification cannot be requested again.", PARAMETER_OUT_OF_RANGE)
                if now < last["decided_at"] + timedelta(seconds=delay):
                    raise RequestError("You can request this qualification again later.", PARAMETER_OUT_OF_RANGE)
            self.store.quals.insert_request(
                conn, (_request_id(), type_id, row["requester"], worker_id, row["test"], now)
            )
        return "sent"
