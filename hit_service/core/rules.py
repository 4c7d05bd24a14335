"""MTurk's rules that need no database: IDs, money and fees, HIT status, paging tokens."""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import string
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hit_service.core.exceptions import PARAMETER_OUT_OF_RANGE, RequestError

Row = dict[str, Any]

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
    # Bytes below 252 (= 7 × 36) map uniformly onto the 36 characters; ~148 bits of entropy.
    chars: list[str] = []
    while len(chars) < ID_LENGTH - 1:
        chars.extend(ID_ALPHABET[b % 36] for b in secrets.token_bytes(40) if b < 252)
    return "3" + "".join(chars[: ID_LENGTH - 1])


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


def encode_token(kind: str, *values: Any) -> str:
    """An opaque paging token for any keyset (``kind`` names the listing it belongs to)."""
    raw = json.dumps({"v": 1, "k": kind, "p": list(values)}, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(kind: str, token: str) -> list[Any]:
    """The keyset values of a token from ``encode_token(kind, ...)``; RequestError otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != 1 or data.get("k") != kind or not isinstance(data.get("p"), list):
            raise ValueError("token")
    except (ValueError, TypeError, AttributeError, binascii.Error, json.JSONDecodeError):
        raise RequestError("NextToken is not a token this service issued.", PARAMETER_OUT_OF_RANGE) from None
    return list(data["p"])
