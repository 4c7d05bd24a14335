"""The JSON 1.1 wire protocol: ``POST /`` with ``X-Amz-Target: MTurkRequesterServiceV20170117.Op``.

Operations that botocore's model has but this service does not implement yet answer
``RequestError`` with TurkErrorCode ``AWS.MechanicalTurk.OperationNotImplemented`` and the
message "<Op> is not implemented yet in hitflow's HIT service". A RequestError (HTTP 400) and
not a ServiceFault (HTTP 500) because botocore retries 500s: a client would wait through five
attempts with back-off for an answer that cannot change.

Timestamps go out as epoch seconds (a float), as JSON 1.1 does, so boto3 turns them into
datetimes; money goes out as strings. Unexpected exceptions become a generic ServiceFault; the
traceback is logged with the operation name only (never headers or the body, which may carry
credentials or workers' data).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from hit_service import TARGET_PREFIX, validation
from hit_service.exceptions import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    OPERATION_NOT_IMPLEMENTED,
    UNKNOWN_OPERATION,
    MTurkError,
    RequestError,
    ServiceFault,
)
from hit_service.faults import Faults
from hit_service.models import MTurkBackend

logger = logging.getLogger("hit_service.api")

CONTENT_TYPE = "application/x-amz-json-1.1"
LOCAL_REQUESTER = "local"
_CREDENTIAL = re.compile(r"Credential=([A-Za-z0-9]{1,128})/")

Handler = Callable[[str, dict[str, Any]], dict[str, Any]]


def requester_from_authorization(header: str | None) -> str:
    """The access key ID of a SigV4 ``Authorization`` header; ``local`` when unsigned.

    Signatures are not checked yet: the key only selects the account.
    """
    if header:
        match = _CREDENTIAL.search(header)
        if match:
            return match.group(1)
    return LOCAL_REQUESTER


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot serialize {type(value).__name__}")


def to_json(body: dict[str, Any]) -> bytes:
    """Serialize a response or error body the way JSON 1.1 services do."""
    return json.dumps(body, default=_json_default, separators=(",", ":")).encode()


class MTurkResponses:
    """Turns one HTTP request into one backend call and back (moto's ``responses`` role)."""

    def __init__(self, backend: MTurkBackend, faults: Faults) -> None:
        self.backend = backend
        self.faults = faults
        self.handlers: dict[str, Handler] = {
            "GetAccountBalance": lambda requester, _params: backend.get_account_balance(requester),
            "CreateHITType": backend.create_hit_type,
            "CreateHIT": backend.create_hit,
            "CreateHITWithHITType": backend.create_hit_with_hit_type,
            "GetHIT": backend.get_hit,
            "ListHITs": backend.list_hits,
        }

    def operation(self, target: str | None) -> str:
        """The operation named by ``X-Amz-Target``, or RequestError."""
        prefix, _, name = (target or "").partition(".")
        if prefix != TARGET_PREFIX or name not in validation.operation_names():
            raise RequestError(f"X-Amz-Target {target!r} names no operation of {TARGET_PREFIX}.", UNKNOWN_OPERATION)
        return name

    def handle(self, target: str | None, body: bytes, authorization: str | None) -> tuple[int, bytes]:
        """Answer one API call: (HTTP status, JSON body). Never raises."""
        operation = "?"
        try:
            self.faults.before_call()
            operation = self.operation(target)
            requester = requester_from_authorization(authorization)
            self.faults.before_create(operation)
            try:
                params = json.loads(body) if body.strip() else {}
            except (ValueError, UnicodeDecodeError):
                raise RequestError("The request body is not valid JSON.", INVALID_REQUEST) from None
            if not isinstance(params, dict):
                raise RequestError("The request body must be a JSON object.", INVALID_REQUEST)
            params = validation.validate(operation, params)
            handler = self.handlers.get(operation)
            if handler is None:
                raise RequestError(
                    f"{operation} is not implemented yet in hitflow's HIT service.",
                    OPERATION_NOT_IMPLEMENTED,
                )
            result = handler(requester, params)
            self.faults.after_create(operation)
            return 200, to_json(result)
        except MTurkError as exc:
            return exc.status_code, to_json(exc.to_body())
        except Exception:
            logger.exception("unexpected error in %s", operation)
            fault = ServiceFault("The service could not process the request.", INTERNAL_ERROR)
            return fault.status_code, to_json(fault.to_body())


def new_request_id() -> str:
    """A request ID for the ``x-amzn-RequestId`` header botocore records."""
    return str(uuid.uuid4())
