"""AWS Signature Version 4, checked the way AWS checks it, against the requesters' keys.

Every requester API call must carry an ``Authorization: AWS4-HMAC-SHA256 Credential=…,
SignedHeaders=…, Signature=…`` header made with one of the keys the operator configured
(``HITFLOW_HIT_SERVICE_REQUESTER_KEYS``, ``python -m hit_service requester add``). The service
rebuilds the canonical request from the raw request (method, path, query, the signed headers,
the SHA-256 of the body), derives the signing key from the stored secret and compares the
signatures in constant time. The credential scope must name region ``us-east-1`` and service
``mturk-requester`` (what boto3 signs for ``mturk``), and ``X-Amz-Date`` must be within 15
minutes of the machine's clock (the real one: moving the test clock does not break signing).

Refusals answer as AWS's JSON services do, so botocore raises ``ClientError`` with the same
codes it would get from AWS:

===================================  ====  ==================================================
``__type``                           HTTP  when
===================================  ====  ==================================================
MissingAuthenticationTokenException  403   no ``Authorization`` header (unsigned request)
IncompleteSignatureException         400   the header is not a well-formed SigV4 header
UnrecognizedClientException          400   the access key ID is not known (or a session token)
InvalidSignatureException            400   wrong signature, scope, or a clock skew > 15 min
===================================  ====  ==================================================

Keys are cached per process for ``KEY_CACHE_SECONDS``: a key deleted in the database stops
working in every process within that time. Secrets are never logged or echoed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from hit_service.core.identity import KeyRecord

ALGORITHM = "AWS4-HMAC-SHA256"
REGION = "us-east-1"
SERVICE = "mturk-requester"
MAX_SKEW = timedelta(minutes=15)
KEY_CACHE_SECONDS = 30.0

_AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256\s+(?P<params>.+)$", re.DOTALL)
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"


class AuthError(Exception):
    """A refused request: answered in AWS's JSON error format, not MTurk's."""

    def __init__(self, error_type: str, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.status_code = status_code

    def to_body(self) -> dict[str, Any]:
        """``{"__type": …, "Message": …}``: botocore maps ``__type`` to the error code."""
        return {"__type": self.error_type, "Message": self.message}


def missing_token() -> AuthError:
    return AuthError("MissingAuthenticationTokenException", "Missing Authentication Token", 403)


def incomplete(why: str) -> AuthError:
    return AuthError("IncompleteSignatureException", why)


def unrecognized() -> AuthError:
    return AuthError("UnrecognizedClientException", "The security token included in the request is invalid.")


def invalid_signature(message: str | None = None) -> AuthError:
    return AuthError(
        "InvalidSignatureException",
        message
        or (
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details."
        ),
    )


@dataclass(frozen=True)
class Credential:
    """What a signed request claims: key, date, region, service, and the signature."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


def parse_authorization(header: str | None) -> Credential:
    """Parse an ``Authorization`` header, or raise the refusal AWS would answer."""
    if not header or not header.strip():
        raise missing_token()
    match = _AUTH_RE.match(header.strip())
    if match is None:
        if header.strip().startswith("AWS "):
            raise incomplete("Signature Version 2 is not supported; sign requests with AWS Signature Version 4.")
        raise incomplete(
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters "
            f"with algorithm {ALGORITHM}."
        )
    fields: dict[str, str] = {}
    for part in match.group("params").split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields[name.strip()] = value.strip()
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise incomplete(f"Authorization header requires {', '.join(repr(m) for m in missing)} parameter(s).")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request" or not scope[0]:
        raise incomplete("Credential must have the form ACCESS_KEY_ID/YYYYMMDD/region/service/aws4_request.")
    signed = tuple(fields["SignedHeaders"].lower().split(";"))
    if "host" not in signed:
        raise invalid_signature("'Host' must be a signed header.")
    return Credential(scope[0], scope[1], scope[2], scope[3], signed, fields["Signature"].lower())


def _canonical_uri(raw_path: str) -> str:
    """The path as AWS (non-S3) canonicalizes it: each segment URI-encoded once."""
    path = raw_path or "/"
    return quote(unquote(path), safe="/~")


def _canonical_query(raw_query: str) -> str:
    pairs: list[tuple[str, str]] = []
    for part in raw_query.split("&") if raw_query else []:
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((quote(unquote(name.replace("+", " ")), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _canonical_headers(headers: Sequence[tuple[str, str]], signed: Sequence[str]) -> str:
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.lower(), []).append(" ".join(value.strip().split()))
    lines = []
    for name in signed:
        if name not in values:
            raise invalid_signature(f"The request's signed header {name!r} is missing.")
        lines.append(f"{name}:{','.join(values[name])}\n")
    return "".join(lines)


def canonical_request(
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    signed: Sequence[str],
    body: bytes,
) -> str:
    """The SigV4 canonical request of a raw HTTP request."""
    return "\n".join(
        [
            method.upper(),
            _canonical_uri(raw_path),
            _canonical_query(raw_query),
            _canonical_headers(headers, signed),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )


@functools.lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str = REGION, service: str = SERVICE) -> bytes:
    """``kSigning`` of the SigV4 spec (four HMACs, the same for a key all day: cached)."""
    key = hmac.new(f"AWS4{secret}".encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signature(secret: str, amz_date: str, credential: Credential, canonical: str) -> str:
    """The hex signature of ``canonical`` with ``secret``."""
    string_to_sign = "\n".join([ALGORITHM, amz_date, credential.scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(secret, credential.date, credential.region, credential.service)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


class KeyRing:
    """Looks keys up (``loader``: access key ID → KeyRecord or None) with a short cache."""

    def __init__(self, loader: Callable[[str], KeyRecord | None], ttl: float = KEY_CACHE_SECONDS) -> None:
        self._loader = loader
        self._ttl = ttl
        self._cache: dict[str, tuple[KeyRecord, float]] = {}
        self._lock = threading.Lock()

    def get(self, access_key_id: str) -> KeyRecord | None:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(access_key_id)
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        record = self._loader(access_key_id)
        with self._lock:
            if record is None:
                self._cache.pop(access_key_id, None)
            else:
                self._cache[access_key_id] = (record, now)
        return record

    def forget(self) -> None:
        """Drop the cache (after a test reset)."""
        with self._lock:
            self._cache.clear()


_AMZ_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", re.ASCII)


def _parse_amz_date(text: str) -> datetime:
    """``YYYYMMDDTHHMMSSZ`` as an aware datetime (strptime's result, at a tenth of its CPU), or ValueError."""
    match = _AMZ_DATE_RE.fullmatch(text)
    if match is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = map(int, match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _amz_date(headers: Sequence[tuple[str, str]]) -> str:
    for name, value in headers:
        if name.lower() == "x-amz-date":
            return value.strip()
    raise incomplete("Authorization requires an X-Amz-Date header (SigV4 without it is not supported).")


def verify(
    keys: KeyRing,
    *,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    now: datetime | None = None,
) -> KeyRecord:
    """Check the request's SigV4 signature; the key's record, or ``AuthError``."""
    header = next((value for name, value in headers if name.lower() == "authorization"), None)
    credential = parse_authorization(header)
    amz_date = _amz_date(headers)
    try:
        moment = _parse_amz_date(amz_date)
    except ValueError:
        raise incomplete(f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.") from None
    if "x-amz-target" not in credential.signed_headers and any(name.lower() == "x-amz-target" for name, _ in headers):
        # The JSON protocol names the operation in this header: unsigned, a captured request
        # could be replayed as another operation. botocore always signs it.
        raise invalid_signature("'X-Amz-Target' must be a signed header.")
    if any(name.lower() == "x-amz-security-token" for name, _ in headers):
        raise unrecognized()  # no temporary credentials are ever issued here
    record = keys.get(credential.access_key_id)
    if record is None:
        raise unrecognized()
    if credential.date != amz_date[:8]:
        raise invalid_signature(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{credential.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    if credential.region != REGION:
        raise invalid_signature(f"Credential should be scoped to a valid region, not '{credential.region}'.")
    if credential.service != SERVICE:
        raise invalid_signature(f"Credential should be scoped to correct service: '{SERVICE}'.")
    current = now or datetime.now(UTC)
    if moment < current - MAX_SKEW:
        raise invalid_signature(
            f"Signature expired: {amz_date} is now earlier than "
            f"{(current - MAX_SKEW).strftime(_AMZ_DATE_FORMAT)} ({current.strftime(_AMZ_DATE_FORMAT)} - 15 min.)"
        )
    if moment > current + MAX_SKEW:
        raise invalid_signature(
            f"Signature not yet current: {amz_date} is still later than "
            f"{(current + MAX_SKEW).strftime(_AMZ_DATE_FORMAT)} ({current.strftime(_AMZ_DATE_FORMAT)} + 15 min.)"
        )
    canonical = canonical_request(method, raw_path, raw_query, headers, credential.signed_headers, body)
    expected = signature(record.secret, amz_date, credential, canonical)
    if not hmac.compare_digest(expected, credential.signature):
        raise invalid_signature()
    return record
