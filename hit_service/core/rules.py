"""MTurk's rules that need no database: IDs, money, HIT status, paging tokens (fees: ``fees``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import string
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hit_service.core.exceptions import PARAMETER_OUT_OF_RANGE, RequestError
from mturk_money import CENT

Row = dict[str, Any]

# The ID of the API request being answered (its ``x-amzn-RequestId``), set by ``responses``.
REQUEST_ID: ContextVar[str] = ContextVar("hitflow_request_id", default="")

MONEY_LIMIT = Decimal("9999999999.99")  # numeric(12,2)
DEFAULT_AUTO_APPROVAL_DELAY = 30 * 24 * 3600  # MTurk's default: 30 days
DEFAULT_MAX_ASSIGNMENTS = 1
REQUEST_TOKEN_WINDOW = timedelta(hours=24)
DEFAULT_LIST_RESULTS = 10
ID_ALPHABET = string.ascii_uppercase + string.digits
ID_LENGTH = 30


def new_id() -> str:
    """A 30-character upper-case alphanumeric ID like MTurk's (which start with a digit)."""
    # Bytes below 252 (= 7 × 36) map uniformly onto the 36 characters; ~148 bits of entropy.
    chars: list[str] = []
    while len(chars) < ID_LENGTH - 1:
        chars.extend(ID_ALPHABET[b % 36] for b in secrets.token_bytes(40) if b < 252)
    return "3" + "".join(chars[: ID_LENGTH - 1])


# -- timestamps ----------------------------------------------------------------------------------

# Timestamps must name a moment every part of the service can compute with (years 1–9999 UTC,
# with a day's margin for time-zone arithmetic): 1e20 or -1e12 seconds are refused, not a 500.
TIMESTAMP_MIN = datetime(1, 1, 2, tzinfo=UTC)
TIMESTAMP_MAX = datetime(9999, 12, 30, tzinfo=UTC)


def parse_timestamp(value: Any) -> datetime | None:
    """A timestamp member (epoch seconds or an ISO 8601 string) as an aware UTC datetime; None if not one.

    Out-of-range values come back clamped just outside ``TIMESTAMP_MIN``/``TIMESTAMP_MAX`` so
    the caller can name the range.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        if value < TIMESTAMP_MIN.timestamp():
            return datetime.min.replace(tzinfo=UTC)
        if value > TIMESTAMP_MAX.timestamp():
            return datetime.max.replace(tzinfo=UTC)
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            return datetime.min.replace(tzinfo=UTC) if moment.year < 5000 else datetime.max.replace(tzinfo=UTC)
    return None


# -- money ---------------------------------------------------------------------------------------


def money(text: str, member: str = "Reward") -> Decimal:
    """A validated CurrencyAmount string as Decimal cents (compared before rounding: a 30-digit
    amount would overflow Decimal's 28-digit context)."""
    amount = Decimal(text)
    if amount > MONEY_LIMIT:
        raise RequestError(f"{member} {text[:40]} is larger than {MONEY_LIMIT}.", PARAMETER_OUT_OF_RANGE)
    return amount.quantize(CENT)


# -- HIT status ----------------------------------------------------------------------------------


def hit_status(row: Row, now: datetime) -> str:
    """MTurk's HITStatus from a HIT row.

    Assignable while it can take a worker; Unassignable while every slot is taken (or it has
    expired) but someone is still working; Reviewable once nobody is working and every slot
    is submitted or the HIT has expired; Reviewing when the requester set it so; Disposed
    after DeleteHIT. Counters: ``assignments_pending`` (accepted, being worked on),
    ``assignments_submitted`` (awaiting review), ``assignments_completed`` (approved or
    rejected).
    """
    if row["status"] == "Disposed":
        return "Disposed"
    pending = row["assignments_pending"]
    done = row["assignments_submitted"] + row["assignments_completed"]
    expired = now >= row["expiration"]
    if pending == 0 and (expired or done >= row["max_assignments"]):
        return "Reviewing" if row["reviewing"] else "Reviewable"
    if expired or pending + done >= row["max_assignments"]:
        return "Unassignable"
    return "Assignable"


def status_sql(alias: str = "h", now_param: str = "now") -> str:
    """``hit_status`` as a SQL expression over ``alias`` and the ``%(now)s`` parameter."""
    h = alias
    now = f"%({now_param})s"
    return (
        f"CASE WHEN {h}.status = 'Disposed' THEN 'Disposed' "
        f"WHEN {h}.assignments_pending = 0 AND ({h}.expiration <= {now} OR "
        f"{h}.assignments_submitted + {h}.assignments_completed >= {h}.max_assignments) "
        f"THEN CASE WHEN {h}.reviewing THEN 'Reviewing' ELSE 'Reviewable' END "
        f"WHEN {h}.expiration <= {now} OR {h}.assignments_pending + {h}.assignments_submitted + "
        f"{h}.assignments_completed >= {h}.max_assignments THEN 'Unassignable' "
        f"ELSE 'Assignable' END"
    )


# -- paging --------------------------------------------------------------------------------------
#
# NextTokens are keyset positions signed with the service's key (HMAC-SHA256, truncated to
# 128 bits): a token that was not issued by this service for this listing is refused before
# anything in it is used, so a forged one can never reach a query.

_BAD_TOKEN = "NextToken is not a token this service issued for this listing."


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _token_mac(key: bytes, kind: str, raw: bytes) -> bytes:
    return hmac.new(key, kind.encode() + b"\x00" + raw, hashlib.sha256).digest()[:16]


def encode_token(key: bytes, kind: str, *values: Any) -> str:
    """An opaque, signed paging token for any keyset (``kind`` names the listing it belongs to)."""
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return f"{_b64(raw)}.{_b64(_token_mac(key, kind, raw))}"


def decode_token(key: bytes, kind: str, token: str) -> list[Any]:
    """The keyset values of a token from ``encode_token(key, kind, ...)``; RequestError otherwise."""
    body, _, mac = token.partition(".")
    try:
        raw = _unb64(body)
        valid = hmac.compare_digest(_unb64(mac), _token_mac(key, kind, raw))
    except (ValueError, binascii.Error):
        valid = False
    if not valid:
        raise RequestError(_BAD_TOKEN, PARAMETER_OUT_OF_RANGE)
    values = json.loads(raw)
    if not isinstance(values, list):  # pragma: no cover - only this module signs tokens
        raise RequestError(_BAD_TOKEN, PARAMETER_OUT_OF_RANGE)
    return values


def encode_next_token(key: bytes, creation_time: datetime, hit_id: str) -> str:
    """A token naming the last HIT of a page (keyset paging: stable under inserts)."""
    micros = int((creation_time - datetime.fromtimestamp(0, UTC)) / timedelta(microseconds=1))
    return encode_token(key, "hits", micros, hit_id)


def decode_next_token(key: bytes, token: str) -> tuple[datetime, str]:
    """The inverse of ``encode_next_token``; RequestError for anything else."""
    micros, hit_id = decode_token(key, "hits", token)
    return datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(micros)), str(hit_id)
