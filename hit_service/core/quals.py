"""Qualification types, workers' scores, qualification requests, and HIT requirements.

System qualification types (every requester may use them in ``QualificationRequirements``;
their values are computed from the worker's account and record, never stored):

====================================  ==========================================================
ID                                    value
====================================  ==========================================================
00000000000000000071 (Locale)         the worker's country (and subdivision) from ``worker add``
000000000000000000L0 (approval rate)  approved / (approved + rejected) × 100
00000000000000000040 (HITs approved)  how many of the worker's assignments were approved
000000000000000000S0 (rejection rate) rejected / (approved + rejected) × 100
00000000000000000000 (submitted rate) submitted / accepted × 100 (returned/abandoned count against)
000000000000000000E0 (returned rate)  returned / accepted × 100
00000000000000000070 (abandoned rate) abandoned / accepted × 100
00000000000000000060 (Adult)          1 for every worker (operators create adult accounts)
Masters (2F1QJ…/2ARFP…)               nobody: hitflow has no Masters programme
====================================  ==========================================================

New workers: MTurk gave workers with a short record the best value of each percentage type (100 %
approved and submitted, 0 % rejected, returned and abandoned) until they had 100 HITs behind
them, so one early rejection does not shut a new worker out of every HIT that asks for 95 %.
hitflow does the same: the approval and rejection rates count once the worker has 100 reviewed
(approved + rejected) assignments, the submitted, returned and abandoned rates once they have
accepted 100 (``NEW_WORKER_RECORD``).

A requirement guards an action: ``ActionsGuarded`` (or ``RequiredToPreview`` → PreviewAndAccept;
neither → Accept). A worker who fails a DiscoverPreviewAndAccept requirement does not see the
HIT group; one who fails PreviewAndAccept sees it but cannot open it; one who fails Accept can
preview but not accept.

Qualification tests (``Test``/``AnswerKey``) are stored and returned, but the worker site does
not run them: a worker's request for a type with a test waits for the requester's
AcceptQualificationRequest / RejectQualificationRequest. A type with ``AutoGranted`` is
granted at once (``AutoGrantedValue``, default 1).
"""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg

from hit_service.core.database import Row
from hit_service.core.exceptions import (
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    QUALIFICATION_DOES_NOT_EXIST,
    QUALIFICATION_REQUEST_DOES_NOT_EXIST,
    QUALIFICATION_TYPE_ALREADY_EXISTS,
    QUALIFICATION_TYPE_DOES_NOT_EXIST,
    RequestError,
)
from hit_service.core.rules import decode_token, encode_token, new_id

if TYPE_CHECKING:
    from hit_service.core.clock import Clock
    from hit_service.core.database import Store

LOCALE = "00000000000000000071"
APPROVAL_RATE = "000000000000000000L0"
HITS_APPROVED = "00000000000000000040"
REJECTION_RATE = "000000000000000000S0"
SUBMITTED_RATE = "00000000000000000000"
RETURNED_RATE = "000000000000000000E0"
ABANDONED_RATE = "00000000000000000070"
ADULT = "00000000000000000060"
MASTERS = ("2F1QJWKUDD8XADTFD2Q0G6UTO95ALH", "2ARFPLSP75KLA8M8DH1HTEQVJT3SY6")
SYSTEM_TYPES = {
    LOCALE: "Worker_Locale",
    APPROVAL_RATE: "Worker_PercentAssignmentsApproved",
    HITS_APPROVED: "Worker_NumberHITsApproved",
    REJECTION_RATE: "Worker_PercentAssignmentsRejected",
    SUBMITTED_RATE: "Worker_PercentAssignmentsSubmitted",
    RETURNED_RATE: "Worker_PercentAssignmentsReturned",
    ABANDONED_RATE: "Worker_PercentAssignmentsAbandoned",
    ADULT: "Worker_Adult",
    MASTERS[0]: "Masters",
    MASTERS[1]: "Masters (sandbox)",
}
NEW_WORKER_RECORD = 100
ORDER_COMPARATORS = ("LessThan", "LessThanOrEqualTo", "GreaterThan", "GreaterThanOrEqualTo")
DEFAULT_PAGE = 10

LocaleValue = tuple[str, str | None]
QualValue = int | LocaleValue


def _request_id() -> str:
    return "3" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(29))


# -- requirements ------------------------------------------------------------------------------


def guarded_action(requirement: dict[str, Any]) -> str:
    """Which action a requirement guards."""
    if requirement.get("ActionsGuarded"):
        return str(requirement["ActionsGuarded"])
    return "PreviewAndAccept" if requirement.get("RequiredToPreview") else "Accept"


def meets(requirement: dict[str, Any], values: dict[str, QualValue]) -> bool:
    """Whether a worker with qualification ``values`` meets one requirement."""
    comparator = requirement["Comparator"]
    type_id = requirement["QualificationTypeId"]
    if comparator == "Exists":
        return type_id in values
    if comparator == "DoesNotExist":
        return type_id not in values
    if type_id not in values:
        return False
    value = values[type_id]
    if isinstance(value, tuple):
        country, subdivision = value
        matched = any(
            locale.get("Country") == country
            and (not locale.get("Subdivision") or locale.get("Subdivision") == subdivision)
            for locale in requirement.get("LocaleValues") or []
        )
        if comparator in ("EqualTo", "In"):
            return matched
        if comparator in ("NotEqualTo", "NotIn"):
            return not matched
        return False
    numbers = requirement.get("IntegerValues") or []
    if comparator in ("EqualTo", "In"):
        return value in numbers
    if comparator in ("NotEqualTo", "NotIn"):
        return value not in numbers
    if not numbers:
        return False
    bound = numbers[0]
    return {
        "LessThan": value < bound,
        "LessThanOrEqualTo": value <= bound,
        "GreaterThan": value > bound,
        "GreaterThanOrEqualTo": value >= bound,
    }[comparator]


def permissions(requirements: list[dict[str, Any]], values: dict[str, QualValue]) -> dict[str, bool]:
    """``{"discover", "preview", "accept"}`` for a worker against a HIT's requirements."""
    failed = {guarded_action(r) for r in requirements if not meets(r, values)}
    discover = "DiscoverPreviewAndAccept" not in failed
    preview = discover and "PreviewAndAccept" not in failed
    return {"discover": discover, "preview": preview, "accept": preview and "Accept" not in failed}


_FRIENDLY = {
    LOCALE: "Location",
    APPROVAL_RATE: "HIT approval rate (%)",
    HITS_APPROVED: "Number of HITs approved",
    REJECTION_RATE: "HIT rejection rate (%)",
    SUBMITTED_RATE: "HIT submission rate (%)",
    RETURNED_RATE: "HIT return rate (%)",
    ABANDONED_RATE: "HIT abandonment rate (%)",
    ADULT: "Adult content qualification",
    MASTERS[0]: "Masters",
    MASTERS[1]: "Masters",
}
_SAYS = {
    "LessThan": "is less than",
    "LessThanOrEqualTo": "is at most",
    "GreaterThan": "is greater than",
    "GreaterThanOrEqualTo": "is at least",
    "EqualTo": "is",
    "NotEqualTo": "is not",
    "In": "is one of",
    "NotIn": "is not one of",
}


def describe(requirement: dict[str, Any], names: dict[str, str]) -> str:
    """A requirement in words, as MTurk's worker site listed them: "HIT approval rate (%) is at least 95"."""
    type_id = requirement["QualificationTypeId"]
    name = _FRIENDLY.get(type_id) or names.get(type_id) or type_id
    comparator = requirement["Comparator"]
    if comparator == "Exists":
        return f"{name} has been granted"
    if comparator == "DoesNotExist":
        return f"{name} has not been granted"
    if requirement.get("LocaleValues"):
        values = [
            locale["Country"] + (f"-{locale['Subdivision']}" if locale.get("Subdivision") else "")
            for locale in requirement["LocaleValues"]
        ]
    else:
        values = [str(v) for v in requirement.get("IntegerValues") or []]
    says = _SAYS.get(comparator, comparator)
    if len(values) > 1 and comparator in ("EqualTo", "NotEqualTo"):
        says = "is one of" if comparator == "EqualTo" else "is not one of"
    return f"{name} {says} {', '.join(values)}"


def explain(
    requirements: list[dict[str, Any]], values: dict[str, QualValue], names: dict[str, str]
) -> list[dict[str, Any]]:
    """Each requirement in words, with whether the worker meets it and the action it guards."""
    return [{"text": describe(r, names), "met": meets(r, values), "guards": guarded_action(r)} for r in requirements]


def type_names(conn: psycopg.Connection[Row], requirement_lists: list[list[dict[str, Any]]]) -> dict[str, str]:
    """Names of the custom qualification types these requirements name."""
    ids = {r["QualificationTypeId"] for reqs in requirement_lists for r in reqs} - set(SYSTEM_TYPES)
    if not ids:
        return {}
    rows = conn.execute(
        "SELECT qualification_type_id, name FROM mturk.qualification_types WHERE qualification_type_id = ANY(%s)",
        (list(ids),),
    ).fetchall()
    return {row["qualification_type_id"]: row["name"] for row in rows}


def check_requirements(conn: psycopg.Connection[Row], requirements: list[dict[str, Any]]) -> None:
    """Refuse requirements naming unknown types or with values that do not fit the comparator."""
    for index, requirement in enumerate(requirements):
        where = f"QualificationRequirements[{index}]"
        type_id = requirement["QualificationTypeId"]
        comparator = requirement["Comparator"]
        integers = requirement.get("IntegerValues") or []
        locales = requirement.get("LocaleValues") or []
        if type_id not in SYSTEM_TYPES:
            row = conn.execute(
                "SELECT 1 FROM mturk.qualification_types WHERE qualification_type_id = %s AND NOT deleted",
                (type_id,),
            ).fetchone()
            if row is None:
                raise RequestError(
                    f"{where}: QualificationType {type_id} does not exist.", QUALIFICATION_TYPE_DOES_NOT_EXIST
                )
        if requirement.get("ActionsGuarded") and "RequiredToPreview" in requirement:
            raise RequestError(f"{where}: use ActionsGuarded or RequiredToPreview, not both.", PARAMETER_OUT_OF_RANGE)
        if integers and locales:
            raise RequestError(f"{where}: give IntegerValues or LocaleValues, not both.", PARAMETER_OUT_OF_RANGE)
        if comparator in ("Exists", "DoesNotExist"):
            if integers or locales:
                raise RequestError(f"{where}: {comparator} takes no values.", PARAMETER_OUT_OF_RANGE)
            continue
        if type_id == LOCALE:
            if not locales or integers:
                raise RequestError(f"{where}: the Locale qualification needs LocaleValues.", MISSING_PARAMETERS)
            if comparator in ORDER_COMPARATORS:
                raise RequestError(f"{where}: Locale cannot be compared with {comparator}.", PARAMETER_OUT_OF_RANGE)
        elif locales:
            raise RequestError(f"{where}: LocaleValues are only for the Locale qualification.", PARAMETER_OUT_OF_RANGE)
        elif not integers:
            raise RequestError(f"{where}: {comparator} needs IntegerValues.", MISSING_PARAMETERS)
        count = len(integers or locales)
        if comparator in (*ORDER_COMPARATORS, "EqualTo", "NotEqualTo") and count != 1:
            raise RequestError(f"{where}: {comparator} takes exactly one value.", PARAMETER_OUT_OF_RANGE)
        if comparator in ("In", "NotIn") and count > 15:
            raise RequestError(f"{where}: {comparator} takes at most 15 values.", PARAMETER_OUT_OF_RANGE)


def worker_values(conn: psycopg.Connection[Row], worker: Row) -> dict[str, QualValue]:
    """Every qualification value of a worker: granted scores plus the system types."""
    values: dict[str, QualValue] = {}
    for row in conn.execute(
        """SELECT q.qualification_type_id, q.integer_value, q.locale_country, q.locale_subdivision
           FROM mturk.qualifications q JOIN mturk.qualification_types t USING (qualification_type_id)
           WHERE q.worker_id = %s AND q.status = 'Granted' AND NOT t.deleted AND t.status = 'Active'""",
        (worker["worker_id"],),
    ):
        if row["locale_country"]:
            values[row["qualification_type_id"]] = (row["locale_country"], row["locale_subdivision"])
        else:
            values[row["qualification_type_id"]] = int(row["integer_value"] or 0)
    counts = {
        r["status"]: int(r["n"])
        for r in conn.execute(
            "SELECT status, count(*) AS n FROM mturk.assignments WHERE worker_id = %s GROUP BY status",
            (worker["worker_id"],),
        )
    }
    values[LOCALE] = (worker["locale_country"], worker["locale_subdivision"])
    values.update(system_values(counts))
    return values


def system_values(counts: dict[str, int]) -> dict[str, QualValue]:
    """The record-based system types from the worker's assignment counts by status.

    A rate counts once the worker has ``NEW_WORKER_RECORD`` assignments behind it; before that
    it has its best value (see the module's docstring).
    """
    approved, rejected = counts.get("Approved", 0), counts.get("Rejected", 0)
    reviewed = approved + rejected
    accepted = sum(counts.values())
    submitted = counts.get("Submitted", 0) + reviewed
    rated = reviewed >= NEW_WORKER_RECORD
    tracked = accepted >= NEW_WORKER_RECORD
    return {
        APPROVAL_RATE: round(100 * approved / reviewed) if rated else 100,
        REJECTION_RATE: round(100 * rejected / reviewed) if rated else 0,
        HITS_APPROVED: approved,
        SUBMITTED_RATE: round(100 * submitted / accepted) if tracked else 100,
        RETURNED_RATE: round(100 * counts.get("Returned", 0) / accepted) if tracked else 0,
        ABANDONED_RATE: round(100 * counts.get("Abandoned", 0) / accepted) if tracked else 0,
        ADULT: 1,
    }


# -- the API -----------------------------------------------------------------------------------


# What a worker's qualification request came to, by key: ``/worker/quals?note=<key>`` shows the
# message, and nothing else — a link cannot put its own words on the page.
REQUEST_NOTES = {
    "held": "You already have this qualification.",
    "granted": "Qualification granted.",
    "waiting": "Your request is waiting for the requester.",
    "sent": "Request sent to the requester.",
}


class Qualifications:
    """Mixin of ``MTurkBackend``: the qualification operations."""

    store: Store
    clock: Clock
    token_key: bytes  # signs NextTokens (set from the service's key at startup)

    if TYPE_CHECKING:

        def hit_dict(self, row: Row) -> dict[str, Any]: ...
        def settle(self) -> None: ...

    @staticmethod
    def _page_size(params: dict[str, Any]) -> int:
        return int(params.get("MaxResults", DEFAULT_PAGE))

    @staticmethod
    def _type_row(conn: psycopg.Connection[Row], type_id: str, *, lock: bool = False) -> Row:
        sql = "SELECT * FROM mturk.qualification_types WHERE qualification_type_id = %s AND NOT deleted"
        row = conn.execute(sql + (" FOR UPDATE" if lock else ""), (type_id,)).fetchone()
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
        conn.execute(
            """INSERT INTO mturk.qualifications
                   (qualification_type_id, worker_id, integer_value, status, grant_time)
               VALUES (%s, %s, %s, 'Granted', %s)
               ON CONFLICT (qualification_type_id, worker_id) DO UPDATE SET integer_value = EXCLUDED.integer_value,
                   status = 'Granted', grant_time = EXCLUDED.grant_time""",
            (type_id, worker_id, value, now),
        )

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
                row = conn.execute(
                    """INSERT INTO mturk.qualification_types (qualification_type_id, requester, name, description,
                           keywords, status, retry_delay_seconds, test, answer_key, test_duration_seconds,
                           auto_granted, auto_granted_value, creation_time)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING *""",
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
        query: dict[str, Any] = {"r": requester, "limit": limit + 1}
        filters = ["NOT deleted"]
        if params.get("MustBeOwnedByCaller"):
            filters.append("requester = %(r)s")
        else:
            filters.append("(requester = %(r)s OR status = 'Active')")
        if params["MustBeRequestable"]:
            filters.append("(test IS NOT NULL OR auto_granted)")
        if params.get("Query"):
            filters.append("(name ILIKE %(q)s OR description ILIKE %(q)s OR coalesce(keywords, '') ILIKE %(q)s)")
            query["q"] = "%" + params["Query"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if "NextToken" in params:
            query["after"] = str(decode_token(self.token_key, "qualtypes", params["NextToken"])[0])
            filters.append("qualification_type_id > %(after)s")
        with self.store.transaction() as conn:
            rows = conn.execute(
                f"""SELECT * FROM mturk.qualification_types WHERE {" AND ".join(filters)}
                    ORDER BY qualification_type_id LIMIT %(limit)s""",
                query,
            ).fetchall()
        page = rows[:limit]
        types = []
        for row in page:
            shaped = self.type_dict(row)
            if row["requester"] != requester:
                shaped.pop("AnswerKey", None)
            types.append(shaped)
        result: dict[str, Any] = {"NumResults": len(page), "QualificationTypes": types}
        if len(rows) > limit:
            result["NextToken"] = encode_token(self.token_key, "qualtypes", page[-1]["qualification_type_id"])
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
            updated = conn.execute(
                """UPDATE mturk.qualification_types SET description = %s, status = %s, test = %s, answer_key = %s,
                       test_duration_seconds = %s, retry_delay_seconds = %s, auto_granted = %s,
                       auto_granted_value = %s
                   WHERE qualification_type_id = %s RETURNING *""",
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
            conn.execute(
                "UPDATE mturk.qualification_types SET deleted = true, status = 'Inactive' "
                "WHERE qualification_type_id = %s",
                (row["qualification_type_id"],),
            )
        return {}

    @staticmethod
    def _worker_exists(conn: psycopg.Connection[Row], worker_id: str) -> None:
        if conn.execute("SELECT 1 FROM mturk.workers WHERE worker_id = %s", (worker_id,)).fetchone() is None:
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
            cur = conn.execute(
                """UPDATE mturk.qualifications SET status = 'Revoked'
                   WHERE qualification_type_id = %s AND worker_id = %s AND status = 'Granted'""",
                (row["qualification_type_id"], params["WorkerId"]),
            )
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
            score = conn.execute(
                "SELECT * FROM mturk.qualifications WHERE qualification_type_id = %s AND worker_id = %s",
                (row["qualification_type_id"], params["WorkerId"]),
            ).fetchone()
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
                after = str(decode_token(self.token_key, "qualworkers", params["NextToken"])[0])
            rows = conn.execute(
                """SELECT * FROM mturk.qualifications WHERE qualification_type_id = %s AND status = %s
                       AND worker_id > %s ORDER BY worker_id LIMIT %s""",
                (row["qualification_type_id"], status, after, limit + 1),
            ).fetchall()
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "Qualifications": [self.qualification_dict(r) for r in page]}
        if len(rows) > limit:
            result["NextToken"] = encode_token(self.token_key, "qualworkers", page[-1]["worker_id"])
        return result

    def list_hits_for_qualification_type(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """The requester's HITs that require a qualification type, paged."""
        from hit_service.core.rules import decode_next_token, encode_next_token

        self.settle()
        limit = self._page_size(params)
        type_id = params["QualificationTypeId"]
        query: dict[str, Any] = {"r": requester, "limit": limit + 1, "req": [{"QualificationTypeId": type_id}]}
        keyset = ""
        if "NextToken" in params:
            query["t"], query["i"] = decode_next_token(self.token_key, params["NextToken"])
            keyset = "AND (h.creation_time, h.hit_id) > (%(t)s, %(i)s)"
        with self.store.transaction() as conn:
            if type_id not in SYSTEM_TYPES:
                self._type_row(conn, type_id)
            from psycopg.types.json import Jsonb

            query["req"] = Jsonb(query["req"])
            rows = conn.execute(
                f"""SELECT h.* FROM mturk.hits h WHERE h.requester = %(r)s AND h.status <> 'Disposed'
                        AND h.qualification_requirements @> %(req)s {keyset}
                    ORDER BY h.creation_time, h.hit_id LIMIT %(limit)s""",
                query,
            ).fetchall()
        page = rows[:limit]
        result: dict[str, Any] = {"NumResults": len(page), "HITs": [self.hit_dict(r) for r in page]}
        if len(rows) > limit:
            result["NextToken"] = encode_next_token(self.token_key, page[-1]["creation_time"], page[-1]["hit_id"])
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
        query: dict[str, Any] = {"r": requester, "limit": limit + 1, "after": ""}
        extra = ""
        with self.store.transaction() as conn:
            if params.get("QualificationTypeId"):
                self._own_type(conn, requester, params["QualificationTypeId"])
                extra = "AND qualification_type_id = %(t)s"
                query["t"] = params["QualificationTypeId"]
            if "NextToken" in params:
                query["after"] = str(decode_token(self.token_key, "qualrequests", params["NextToken"])[0])
            rows = conn.execute(
                f"""SELECT * FROM mturk.qualification_requests WHERE requester = %(r)s AND status = 'Pending' {extra}
                        AND qualification_request_id > %(after)s
                    ORDER BY qualification_request_id LIMIT %(limit)s""",
                query,
            ).fetchall()
        page = rows[:limit]
        result: dict[str, Any] = {
            "NumResults": len(page),
            "QualificationRequests": [self.request_dict(r) for r in page],
        }
        if len(rows) > limit:
            result["NextToken"] = encode_token(self.token_key, "qualrequests", page[-1]["qualification_request_id"])
        return result

    def _pending_request(self, conn: psycopg.Connection[Row], requester: str, request_id: str) -> Row:
        row = conn.execute(
            "SELECT * FROM mturk.qualification_requests WHERE qualification_request_id = %s FOR UPDATE",
            (request_id,),
        ).fetchone()
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
            conn.execute(
                "UPDATE mturk.qualification_requests SET status = 'Approved', decided_at = %s "
                "WHERE qualification_request_id = %s",
                (now, row["qualification_request_id"]),
            )
            self._grant(conn, row["qualification_type_id"], row["worker_id"], params.get("IntegerValue", 1), now)
        return {}

    def reject_qualification_request(self, requester: str, params: dict[str, Any]) -> dict[str, Any]:
        """Refuse a request (the worker may ask again after the type's RetryDelayInSeconds)."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            row = self._pending_request(conn, requester, params["QualificationRequestId"])
            conn.execute(
                "UPDATE mturk.qualification_requests SET status = 'Rejected', reason = %s, decided_at = %s "
                "WHERE qualification_request_id = %s",
                (params.get("Reason"), now, row["qualification_request_id"]),
            )
        return {}

    # -- the worker's side ------------------------------------------------------------------

    def requestable_types(self, worker_id: str) -> list[dict[str, Any]]:
        """Active requestable types with the worker's standing for each (worker site)."""
        with self.store.transaction() as conn:
            rows = conn.execute(
                """SELECT t.*, q.status AS score_status, q.integer_value,
                          (SELECT r.status FROM mturk.qualification_requests r
                           WHERE r.qualification_type_id = t.qualification_type_id AND r.worker_id = %(w)s
                           ORDER BY r.submit_time DESC LIMIT 1) AS request_status
                   FROM mturk.qualification_types t
                   LEFT JOIN mturk.qualifications q
                          ON q.qualification_type_id = t.qualification_type_id AND q.worker_id = %(w)s
                   WHERE NOT t.deleted AND t.status = 'Active' AND (t.test IS NOT NULL OR t.auto_granted)
                   ORDER BY t.name""",
                {"w": worker_id},
            ).fetchall()
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
            held = conn.execute(
                "SELECT status FROM mturk.qualifications WHERE qualification_type_id = %s AND worker_id = %s",
                (type_id, worker_id),
            ).fetchone()
            if held is not None and held["status"] == "Granted":
                return "held"
            if row["auto_granted"]:
                value = row["auto_granted_value"] if row["auto_granted_value"] is not None else 1
                self._grant(conn, type_id, worker_id, value, now)
                return "granted"
            last = conn.execute(
                """SELECT status, decided_at FROM mturk.qualification_requests
                   WHERE qualification_type_id = %s AND worker_id = %s ORDER BY submit_time DESC LIMIT 1""",
                (type_id, worker_id),
            ).fetchone()
            if last is not None and last["status"] == "Pending":
                return "waiting"
            if last is not None and last["status"] == "Rejected":
                delay = row["retry_delay_seconds"]
                if delay is None:
                    raise RequestError("This qualification cannot be requested again.", PARAMETER_OUT_OF_RANGE)
                if now < last["decided_at"] + timedelta(seconds=delay):
                    raise RequestError("You can request this qualification again later.", PARAMETER_OUT_OF_RANGE)
            conn.execute(
                """INSERT INTO mturk.qualification_requests (qualification_request_id, qualification_type_id,
                       requester, worker_id, test, status, submit_time)
                   VALUES (%s, %s, %s, %s, %s, 'Pending', %s)""",
                (_request_id(), type_id, row["requester"], worker_id, row["test"], now),
            )
        return "sent"
