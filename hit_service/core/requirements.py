"""HIT qualification requirements: the system types, what a worker's values meet, what they allow.

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
"""

from __future__ import annotations

from typing import Any

import psycopg

from hit_service.core.database import Row
from hit_service.core.exceptions import (
    MISSING_PARAMETERS,
    PARAMETER_OUT_OF_RANGE,
    QUALIFICATION_TYPE_DOES_NOT_EXIST,
    RequestError,
)
from hit_service.stores.assignments import AssignmentStore
from hit_service.stores.qualifications import QualificationStore

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
    rows = QualificationStore.type_names_of(conn, (list(ids),)).fetchall()
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
            row = QualificationStore.type_exists(conn, (type_id,)).fetchone()
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
    for row in QualificationStore.worker_scores(conn, (worker["worker_id"],)):
        if row["locale_country"]:
            values[row["qualification_type_id"]] = (row["locale_country"], row["locale_subdivision"])
        else:
            values[row["qualification_type_id"]] = int(row["integer_value"] or 0)
    counts = {r["status"]: int(r["n"]) for r in AssignmentStore.status_counts_of_worker(conn, (worker["worker_id"],))}
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
