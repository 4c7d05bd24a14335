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
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from hit_service import TARGET_PREFIX
from hit_service.api import auth, paging, validation
from hit_service.api.faults import Faults
from hit_service.core.exceptions import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    OPERATION_NOT_IMPLEMENTED,
    UNKNOWN_OPERATION,
    MTurkError,
    RequestError,
    ServiceFault,
)
from hit_service.core.models import MTurkBackend
from hit_service.core.rules import REQUEST_ID

logger = logging.getLogger("hit_service.api")

CONTENT_TYPE = "application/x-amz-json-1.1"

Handler = Callable[[str, dict[str, Any]], dict[str, Any]]


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

    def __init__(self, backend: MTurkBackend, faults: Faults, keys: auth.KeyRing) -> None:
        self.backend = backend
        self.faults = faults
        self.keys = keys
        self.handlers: dict[str, Handler] = backend.handlers()

    def operation(self, target: str | None) -> str:
        """The operation named by ``X-Amz-Target``, or RequestError."""
        prefix, _, name = (target or "").partition(".")
        if prefix != TARGET_PREFIX or name not in validation.operation_names():
            raise RequestError(f"X-Amz-Target {target!r} names no operation of {TARGET_PREFIX}.", UNKNOWN_OPERATION)
        return name

    def handle_http(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        headers: list[tuple[str, str]],
        body: bytes,
        request_id: str = "",
    ) -> tuple[int, bytes]:
        """Authenticate a raw request (SigV4), then answer it. Never raises.

        ``request_id`` (sent back as ``x-amzn-RequestId``) is made available to the rules as
        ``REQUEST_ID``: MTurk names the first request in the error of a repeated token.
        """
        REQUEST_ID.set(request_id or new_request_id())
        try:
            record = auth.verify(
                self.keys, method=method, raw_path=raw_path, raw_query=raw_query, headers=headers, body=body
            )
        except auth.AuthError as exc:
            return exc.status_code, to_json(exc.to_body())
        except Exception:
            logger.exception("unexpected error while checking a signature")
            fault = ServiceFault("The service could not process the request.", INTERNAL_ERROR)
            return fault.status_code, to_json(fault.to_body())
        target = next((value for name, value in headers if name.lower() == "x-amz-target"), None)
        return self.handle(target, body, record.requester)

    def handle(self, target: str | None, body: bytes, requester: str) -> tuple[int, bytes]:
        """Answer one authenticated API call: (HTTP status, JSON body). Never raises."""
        operation = "?"
        try:
            self.faults.check_rate(requester)
            self.faults.before_call()
            operation = self.operation(target)
            self.faults.before_create(operation)
            params = parse_body(body)
            if not isinstance(params, dict):
                raise RequestError("The request body must be a JSON object.", INVALID_REQUEST)
            params = validation.validate(operation, params)
            handler = self.handlers.get(operation)
            if handler is None:
                raise RequestError(
                    f"{operation} is not implemented yet in hitflow's HIT service.",
                    OPERATION_NOT_IMPLEMENTED,
                )
            token = params.get("NextToken")
            if isinstance(token, str):
                params["NextToken"] = paging.unbind(self.backend.token_key, requester, operation, params, token)
            result = handler(requester, params)
            if isinstance(result.get("NextToken"), str):
                result["NextToken"] = paging.bind(
                    self.backend.token_key, requester, operation, params, result["NextToken"]
                )
            self.faults.after_create(operation)
            return 200, to_json(result)
        except MTurkError as exc:
            return exc.status_code, to_json(exc.to_body())
        except Exception:
            logger.exception("unexpected error in %s", operation)
            fault = ServiceFault("The service could not process the request.", INTERNAL_ERROR)
            return fault.status_code, to_json(fault.to_body())


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def parse_body(body: bytes) -> Any:
    """The request's JSON, or RequestError: no NaN/Infinity, no overflowing numbers, no deep nesting."""
    if not body.strip():
        return {}
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise RequestError("The request body is nested too deeply.", INVALID_REQUEST) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RequestError(f"The request body is not valid JSON: {exc}", INVALID_REQUEST) from None


def new_request_id() -> str:
    """A request ID for the ``x-amzn-RequestId`` header botocore records."""
    return str(uuid.uuid4())
