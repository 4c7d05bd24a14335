"""Errors in MTurk's wire format.

MTurk's 2017 API knows only two error shapes: ``RequestError`` (the caller's fault, HTTP 400)
and ``ServiceFault`` (ours, HTTP 500). Both carry ``Message`` and ``TurkErrorCode``; clients
tell cases apart by ``TurkErrorCode``. Like MTurk, every message ends with an epoch-ms stamp in
parentheses, e.g. ``Hit 3PR3… does not exist. (1624047673969)``.

TurkErrorCodes this service answers (the ones marked * are MTurk's own; the others are
hitflow's, named in MTurk's style because MTurk never documented a code for the case):

============================================  =====  ==========================================
TurkErrorCode                                 class  when
============================================  =====  ==========================================
AWS.MissingParameters *                       400    a required member or layout value missing
AWS.ParameterOutOfRange *                     400    a member breaks the model or a documented
                                                     limit (type, length, range, pattern, enum)
AWS.MechanicalTurk.HITDoesNotExist *          400    unknown HIT (or another requester's)
AWS.MechanicalTurk.HITTypeDoesNotExist *      400    unknown HIT type
AWS.MechanicalTurk.HitAlreadyExists *         400    UniqueRequestToken repeated within 24 h
AWS.MechanicalTurk.InsufficientFunds *        400    balance below the HIT's full cost
AWS.MechanicalTurk.XMLParseError *            400    Question is not well-formed/allowed XML
AWS.MechanicalTurk.AssignmentDoesNotExist *   400    unknown assignment (or another requester's)
AWS.MechanicalTurk.InvalidAssignmentState *   400    e.g. approving an assignment not Submitted
AWS.MechanicalTurk.InvalidHITState *          400    e.g. DeleteHIT on an Assignable HIT
AWS.MechanicalTurk.InvalidMaximumAssignm-     400    CreateAdditionalAssignmentsForHIT across
  entsIncrease *                                     the 10-assignment line
AWS.MechanicalTurk.QualificationTypeDoes-     400    unknown qualification type
  NotExist *
AWS.MechanicalTurk.QualificationDoesNotExist  400    the worker has no such qualification
AWS.MechanicalTurk.QualificationRequestDoes-  400    unknown qualification request
  NotExist
AWS.MechanicalTurk.QualificationTypeAlready-  400    a qualification type of that name exists
  Exists
AWS.MechanicalTurk.DuplicateRequest           400    UniqueRequestToken repeated (SendBonus,
                                                     CreateAdditionalAssignmentsForHIT)
AWS.MechanicalTurk.NotSupported               400    a feature this service cannot provide
                                                     (notification delivery, file uploads)
AWS.MechanicalTurk.HITLayoutDoesNotExist      400    HITLayoutId names no layout file
AWS.MechanicalTurk.InvalidRequest             400    body is not a JSON object
AWS.MechanicalTurk.UnknownOperation           400    X-Amz-Target names no 2017-01-17 operation
AWS.MechanicalTurk.OperationNotImplemented    400    an operation of the model not built yet
AWS.MechanicalTurk.InternalError              500    an unexpected error (logged server-side)
AWS.MechanicalTurk.ServiceUnavailable         500    injected fault (test mode only)
============================================  =====  ==========================================

``ThrottlingException`` (HTTP 400, no TurkErrorCode) is what AWS answers when it rate-limits;
botocore's retry handler knows the name and retries it.
"""

from __future__ import annotations

import time
from typing import Any

MISSING_PARAMETERS = "AWS.MissingParameters"
PARAMETER_OUT_OF_RANGE = "AWS.ParameterOutOfRange"
HIT_DOES_NOT_EXIST = "AWS.MechanicalTurk.HITDoesNotExist"
HIT_TYPE_DOES_NOT_EXIST = "AWS.MechanicalTurk.HITTypeDoesNotExist"
HIT_ALREADY_EXISTS = "AWS.MechanicalTurk.HitAlreadyExists"
INSUFFICIENT_FUNDS = "AWS.MechanicalTurk.InsufficientFunds"
XML_PARSE_ERROR = "AWS.MechanicalTurk.XMLParseError"
HIT_LAYOUT_DOES_NOT_EXIST = "AWS.MechanicalTurk.HITLayoutDoesNotExist"
INVALID_REQUEST = "AWS.MechanicalTurk.InvalidRequest"
UNKNOWN_OPERATION = "AWS.MechanicalTurk.UnknownOperation"
OPERATION_NOT_IMPLEMENTED = "AWS.MechanicalTurk.OperationNotImplemented"
INTERNAL_ERROR = "AWS.MechanicalTurk.InternalError"
ASSIGNMENT_DOES_NOT_EXIST = "AWS.MechanicalTurk.AssignmentDoesNotExist"
INVALID_ASSIGNMENT_STATE = "AWS.MechanicalTurk.InvalidAssignmentState"
INVALID_HIT_STATE = "AWS.MechanicalTurk.InvalidHITState"
INVALID_MAX_ASSIGNMENTS_INCREASE = "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
QUALIFICATION_TYPE_DOES_NOT_EXIST = "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
QUALIFICATION_DOES_NOT_EXIST = "AWS.MechanicalTurk.QualificationDoesNotExist"
QUALIFICATION_REQUEST_DOES_NOT_EXIST = "AWS.MechanicalTurk.QualificationRequestDoesNotExist"
QUALIFICATION_TYPE_ALREADY_EXISTS = "AWS.MechanicalTurk.QualificationTypeAlreadyExists"
DUPLICATE_REQUEST = "AWS.MechanicalTurk.DuplicateRequest"
NOT_SUPPORTED = "AWS.MechanicalTurk.NotSupported"
SERVICE_UNAVAILABLE = "AWS.MechanicalTurk.ServiceUnavailable"


def stamp(message: str, now_ms: int | None = None) -> str:
    """Append MTurk's ``(epoch-ms)`` suffix; clients and logs written for MTurk expect it."""
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    return f"{message} ({now_ms})"


class MTurkError(Exception):
    """An error that is answered to the client in MTurk's JSON 1.1 error format."""

    status_code = 400
    error_type = "RequestError"

    def __init__(self, message: str, turk_error_code: str) -> None:
        super().__init__(message)
        self.message = message
        self.turk_error_code = turk_error_code

    def to_body(self) -> dict[str, Any]:
        """The JSON body botocore parses into ``ClientError`` (``__type`` → error code)."""
        return {
            "__type": self.error_type,
            "Message": stamp(self.message),
            "TurkErrorCode": self.turk_error_code,
        }


class RequestError(MTurkError):
    """The request cannot succeed as sent; retrying it unchanged will fail again."""

    status_code = 400
    error_type = "RequestError"


class ServiceFault(MTurkError):
    """Our side failed; HTTP 500 makes botocore retry, as it did against MTurk."""

    status_code = 500
    error_type = "ServiceFault"


class ThrottlingException(MTurkError):
    """Rate limiting in AWS's generic form, which botocore retries with back-off."""

    status_code = 400
    error_type = "ThrottlingException"

    def __init__(self, message: str = "Rate exceeded") -> None:
        super().__init__(message, "")

    def to_body(self) -> dict[str, Any]:
        """AWS's throttling body carries no TurkErrorCode and no stamp."""
        return {"__type": self.error_type, "Message": self.message}
