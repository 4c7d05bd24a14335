"""``NextToken``s bound to the requester and the listing that issued them.

The backend's tokens are keyset positions signed for a kind of listing (``core/rules.py``). On the
wire each is wrapped once more here, with a second HMAC over the requester, the operation and the
listing's filters (every request member but ``NextToken`` and ``MaxResults``): a token one
requester was given is refused from another, and a token of one listing (ListHITs, the
assignments of one HIT, one qualification type's workers…) is refused by any other, each as
``RequestError`` / ``AWS.ParameterOutOfRange`` before anything in it is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from hit_service.core.exceptions import PARAMETER_OUT_OF_RANGE, RequestError

_NOT_FOR_THIS = "NextToken is not a token this service issued for this listing."
_UNBOUND = ("NextToken", "MaxResults")


def _mac(key: bytes, requester: str, operation: str, params: dict[str, Any], inner: str) -> str:
    listing = json.dumps(
        {name: value for name, value in params.items() if name not in _UNBOUND},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    message = "\x00".join(("hitflow listing", requester, operation, listing, inner)).encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def bind(key: bytes, requester: str, operation: str, params: dict[str, Any], token: str) -> str:
    """The backend's ``token`` as the client gets it: valid only for this requester and listing."""
    return f"{token}.{_mac(key, requester, operation, params, token)}"


def unbind(key: bytes, requester: str, operation: str, params: dict[str, Any], token: str) -> str:
    """The backend's token inside ``token``; RequestError unless ``bind`` made it for this call's
    requester and listing (the backend then checks its own signature too)."""
    inner, _, mac = token.rpartition(".")
    if not inner or not mac.isascii() or not hmac.compare_digest(mac, _mac(key, requester, operation, params, inner)):
        raise RequestError(_NOT_FOR_THIS, PARAMETER_OUT_OF_RANGE)
    return inner
