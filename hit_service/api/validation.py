"""Check an operation's input against botocore's installed ``mturk`` model.

The model (``botocore.session.get_session().get_service_model("mturk")``) is read at run time
rather than copied, so this service and its clients agree on the wire format by construction;
it works for all 39 operations. The model leaves out limits that MTurk enforced and documented
elsewhere (Title ≤ 128 characters, LifetimeInSeconds 30–31,536,000, …); ``EXTRA_LIMITS`` adds
those per operation and member.

A failure raises ``RequestError`` naming the member: ``AWS.MissingParameters`` when any
required member is absent, else ``AWS.ParameterOutOfRange``. Messages follow AWS's
"N validation error(s) detected: Value … at '…' failed to satisfy constraint: …" wording.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape

from hit_service.core.exceptions import MISSING_PARAMETERS, PARAMETER_OUT_OF_RANGE, RequestError
from hit_service.core.rules import TIMESTAMP_MAX, TIMESTAMP_MIN, parse_timestamp

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "long": "an integer",
    "boolean": "a boolean",
    "list": "a list",
    "map": "an object",
    "structure": "an object",
    "timestamp": "a timestamp (epoch seconds)",
    "float": "a number",
    "double": "a number",
    "blob": "a base64 string",
}

_DAY = 24 * 3600
_YEAR = 365 * _DAY
_HIT_TYPE_LIMITS: dict[str, dict[str, Any]] = {
    "Title": {"min": 1, "max": 128},
    "Description": {"min": 1, "max": 2000},
    "Keywords": {"max": 1000},
    "AssignmentDurationInSeconds": {"min": 30, "max": _YEAR},
    "AutoApprovalDelayInSeconds": {"min": 0, "max": 30 * _DAY},
    "QualificationRequirements": {"max": 10},
}
_HIT_LIMITS: dict[str, dict[str, Any]] = {
    "LifetimeInSeconds": {"min": 30, "max": _YEAR},
    "MaxAssignments": {"min": 1, "max": 1_000_000},
    "Question": {"max_bytes": 65_535},
    "RequesterAnnotation": {"max": 255},
}

# Limits MTurk documented outside the botocore model (older API docs), per operation.
EXTRA_LIMITS: dict[str, dict[str, dict[str, Any]]] = {
    "CreateHITType": dict(_HIT_TYPE_LIMITS),
    "CreateHIT": {**_HIT_TYPE_LIMITS, **_HIT_LIMITS},
    "CreateHITWithHITType": dict(_HIT_LIMITS),
    # NotifyWorkers: "up to 100 Worker IDs", subject "up to 200", message "up to 4,096 characters".
    "NotifyWorkers": {"WorkerIds": {"max": 100}, "Subject": {"max": 200}, "MessageText": {"max": 4096}},
}


@functools.cache
def service_model() -> ServiceModel:
    """The ``mturk`` model shipped with the installed botocore (loaded once per process)."""
    return botocore.session.get_session().get_service_model("mturk")


def operation_names() -> list[str]:
    """Every operation of the 2017-01-17 API, as the model lists them."""
    return list(service_model().operation_names)


def operation_model(operation: str) -> OperationModel:
    """The model of one operation; ``KeyError`` when the model does not know the name."""
    if operation not in service_model().operation_names:
        raise KeyError(operation)
    return service_model().operation_model(operation)


def validate(operation: str, params: Any) -> dict[str, Any]:
    """Validate ``params`` for ``operation``; return them without JSON nulls, or raise."""
    if not isinstance(params, dict):
        raise RequestError("The request body must be a JSON object.", PARAMETER_OUT_OF_RANGE)
    shape = operation_model(operation).input_shape
    cleaned = {k: v for k, v in params.items() if v is not None}
    if shape is None:
        if cleaned:
            names = ", ".join(sorted(cleaned))
            raise RequestError(
                f"1 validation error detected: {operation} takes no parameters, got: {names}",
                PARAMETER_OUT_OF_RANGE,
            )
        return cleaned
    problems: list[str] = []
    missing: list[str] = []
    _check(shape, cleaned, "", problems, missing, EXTRA_LIMITS.get(operation, {}))
    if problems:
        count = len(problems)
        noun = "error" if count == 1 else "errors"
        code = MISSING_PARAMETERS if missing else PARAMETER_OUT_OF_RANGE
        raise RequestError(f"{count} validation {noun} detected: " + "; ".join(problems), code)
    return cleaned


def _show(value: Any) -> str:
    """A short quoted rendering of a bad value for an error message."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return "'" + text.replace("'", "\\'") + "'"


def _check(
    shape: Shape,
    value: Any,
    path: str,
    problems: list[str],
    missing: list[str],
    extras: dict[str, dict[str, Any]],
) -> None:
    """Recursively check ``value`` against ``shape``; append one message per problem."""
    where = path or shape.name
    limits = {**shape.metadata, **extras.get(path, {})}
    kind = shape.type_name

    def fail(constraint: str) -> None:
        problems.append(f"Value {_show(value)} at '{where}' failed to satisfy constraint: {constraint}")

    if kind == "structure":
        if not isinstance(value, dict):
            fail(f"Member must be {_TYPE_NAMES[kind]}")
            return
        members = shape.members
        for name in shape.required_members:
            if value.get(name) is None:
                member_path = f"{path}.{name}" if path else name
                missing.append(member_path)
                problems.append(f"Value null at '{member_path}' failed to satisfy constraint: Member is required")
        for name, member_value in value.items():
            member_path = f"{path}.{name}" if path else name
            if name not in members:
                problems.append(f"'{member_path}' is not a member of {shape.name}")
                continue
            if member_value is None:
                continue
            _check(members[name], member_value, member_path, problems, missing, extras)
        return

    if kind == "list":
        if not isinstance(value, list):
            fail(f"Member must be {_TYPE_NAMES[kind]}")
            return
        _check_size(len(value), limits, "Member must have length", fail)
        for index, item in enumerate(value):
            item_path = f"{where}[{index}]"
            if item is None:
                problems.append(f"Value null at '{item_path}' failed to satisfy constraint: Member is required")
                continue
            _check(shape.member, item, item_path, problems, missing, extras)
        return

    if kind == "map":
        if not isinstance(value, dict):
            fail(f"Member must be {_TYPE_NAMES[kind]}")
            return
        _check_size(len(value), limits, "Member must have length", fail)
        for key, item in value.items():
            _check(shape.key, key, f"{where}.{{key}}", problems, missing, extras)
            _check(shape.value, item, f"{where}.{key}", problems, missing, extras)
        return

    if kind in ("string", "blob"):
        if not isinstance(value, str):
            fail(f"Member must be {_TYPE_NAMES[kind]}")
            return
        if not _storable(value):
            fail("Member must be Unicode text without NUL characters or unpaired surrogates")
            return
        _check_size(len(value), limits, "Member must have length", fail)
        max_bytes = limits.get("max_bytes")
        if max_bytes is not None and len(value.encode("utf-8")) > max_bytes:
            fail(f"Member must be at most {max_bytes} bytes in UTF-8")
        pattern = limits.get("pattern")
        if pattern is not None and not _matches(pattern, value):
            fail(f"Member must satisfy regular expression pattern: {pattern}")
        enum = shape.enum if kind == "string" else []
        if enum and value not in enum:
            fail(f"Member must satisfy enum value set: [{', '.join(enum)}]")
        return

    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            fail(f"Member must be {_TYPE_NAMES[kind]}")
            return
        low, high = INT32 if kind == "integer" else INT64
        if not low <= value <= high:
            fail(f"Member must fit a {'32' if kind == 'integer' else '64'}-bit integer")
            return
        _check_range(value, limits, fail)
        return

    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            fail(f"Member must be {_TYPE_NAMES[kind]}")
            return
        _check_range(value, limits, fail)
        return

    if kind == "boolean":
        if not isinstance(value, bool):
            fail(f"Member must be {_TYPE_NAMES[kind]}")
        return

    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            fail(f"Member must be {_TYPE_NAMES[kind]}")
            return
        moment = parse_timestamp(value)
        if moment is None:
            fail(f"Member must be {_TYPE_NAMES[kind]} or an ISO 8601 string")
        elif not TIMESTAMP_MIN <= moment <= TIMESTAMP_MAX:
            fail(f"Member must be between {TIMESTAMP_MIN:%Y-%m-%d} and {TIMESTAMP_MAX:%Y-%m-%d}")
        return

    fail(f"Member has a type this service cannot check ({kind})")  # pragma: no cover


def _storable(text: str) -> bool:
    """Whether PostgreSQL can hold ``text``: no NUL, valid UTF-8 (no lone surrogates)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_size(size: int, limits: dict[str, Any], what: str, fail: Any) -> None:
    """Length limits of strings and lists (``min``/``max`` in the model)."""
    low = limits.get("min")
    high = limits.get("max")
    if low is not None and size < low:
        fail(f"{what} greater than or equal to {low}")
    if high is not None and size > high:
        fail(f"{what} less than or equal to {high}")


def _check_range(value: float, limits: dict[str, Any], fail: Any) -> None:
    """Value limits of numbers (``min``/``max`` in the model)."""
    low = limits.get("min")
    high = limits.get("max")
    if low is not None and value < low:
        fail(f"Member must have value greater than or equal to {low}")
    if high is not None and value > high:
        fail(f"Member must have value less than or equal to {high}")


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _matches(pattern: str, value: str) -> bool:
    """AWS patterns are searched, but a trailing ``$`` must not accept a final newline."""
    match = _compiled(pattern).search(value)
    if match is None:
        return False
    return not (pattern.endswith("$") and match.end() != len(value))
