"""SigV4 authentication: what boto3 signs is accepted, anything else refused as AWS refuses it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from hit_service.api import auth
from hit_service.api.auth import AuthError, KeyRecord, KeyRing
from hit_service.settings import Settings, SettingsError, parse_requester_keys
from tests.hit_service.helpers import SECRET_KEY, hit_args, make_client, new_access_key, signed_post

TARGET = "MTurkRequesterServiceV20170117.GetAccountBalance"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


# -- the verifier on its own ------------------------------------------------------------------


def _signed(
    url: str = "http://127.0.0.1:8100/",
    body: bytes = b"{}",
    key: str = "AKIAIOSFODNN7EXAMPLE",
    secret: str = SECRET,
    region: str = "us-east-1",
    service: str = "mturk-requester",
) -> AWSRequest:
    request = AWSRequest(method="POST", url=url, data=body, headers={"X-Amz-Target": TARGET})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(request)
    return request


def _verify(request: AWSRequest, body: bytes = b"{}", now: datetime | None = None, secret: str = SECRET) -> KeyRecord:
    keys = KeyRing(lambda key: KeyRecord(key, secret, "A1REQUESTER") if key == "AKIAIOSFODNN7EXAMPLE" else None)
    path, _, query = request.url.split("8100", 1)[1].partition("?")
    headers = [(name, value) for name, value in request.headers.items()]
    if not any(name.lower() == "host" for name, _ in headers):
        headers.append(("host", "127.0.0.1:8100"))
    return auth.verify(keys, method="POST", raw_path=path or "/", raw_query=query, headers=headers, body=body, now=now)


def test_botocore_signatures_verify() -> None:
    assert _verify(_signed()).requester == "A1REQUESTER"
    body = json.dumps({"Title": "ünïcode"}).encode()
    assert _verify(_signed(body=body), body=body).requester == "A1REQUESTER"
    assert _verify(_signed(url="http://127.0.0.1:8100/?b=2&a=1%20x")).access_key_id == "AKIAIOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    ("change", "error_type", "fragment"),
    [
        ({"secret": "x" * 40}, "InvalidSignatureException", "does not match"),
        ({"key": "AKIAUNKNOWNKEY000000"}, "UnrecognizedClientException", "security token"),
        ({"region": "eu-west-1"}, "InvalidSignatureException", "valid region"),
        ({"service": "sqs"}, "InvalidSignatureException", "correct service"),
    ],
)
def test_refusals(change: dict[str, str], error_type: str, fragment: str) -> None:
    with pytest.raises(AuthError) as info:
        _verify(_signed(**change))
    assert info.value.error_type == error_type
    assert fragment in info.value.message
    assert info.value.status_code == 400


def test_tampered_body_or_clock_skew() -> None:
    request = _signed(body=b'{"a":1}')
    with pytest.raises(AuthError) as info:
        _verify(request, body=b'{"a":2}')
    assert info.value.error_type == "InvalidSignatureException"
    assert _verify(request, body=b'{"a":1}', now=datetime.now(UTC) + timedelta(minutes=14))
    with pytest.raises(AuthError) as info:
        _verify(request, body=b'{"a":1}', now=datetime.now(UTC) + timedelta(minutes=16))
    assert "Signature expired" in info.value.message
    with pytest.raises(AuthError) as info:
        _verify(request, body=b'{"a":1}', now=datetime.now(UTC) - timedelta(minutes=16))
    assert "not yet current" in info.value.message


@pytest.mark.parametrize(
    ("header", "error_type", "status"),
    [
        (None, "MissingAuthenticationTokenException", 403),
        ("", "MissingAuthenticationTokenException", 403),
        ("Bearer abc", "IncompleteSignatureException", 400),
        ("AWS AKIAIOSFODNN7EXAMPLE:sig", "IncompleteSignatureException", 400),
        ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/x", "IncompleteSignatureException", 400),
        (
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261128/us-east-1/mturk-requester/aws4_request, "
            "SignedHeaders=x-amz-date, Signature=00",
            "InvalidSignatureException",
            400,
        ),
    ],
)
def test_malformed_headers(header: str | None, error_type: str, status: int) -> None:
    with pytest.raises(AuthError) as info:
        auth.parse_authorization(header)
    assert (info.value.error_type, info.value.status_code) == (error_type, status)


def test_key_cache_expires() -> None:
    calls: list[str] = []

    def loader(key: str) -> KeyRecord | None:
        calls.append(key)
        return KeyRecord(key, "s" * 40, "A1") if key.startswith("AKIA") else None

    ring = KeyRing(loader, ttl=0.0)
    assert ring.get("AKIA0000000000000000") is not None
    assert ring.get("AKIA0000000000000000") is not None
    assert ring.get("NOPE") is None
    assert len(calls) == 3
    cached = KeyRing(loader)
    cached.get("AKIA0000000000000000")
    cached.get("AKIA0000000000000000")
    assert len(calls) == 4


def test_requester_keys_setting() -> None:
    assert parse_requester_keys("") == ()
    assert parse_requester_keys(f"AKIAIOSFODNN7EXAMPLE:{SECRET}, AKIA0000000000000001:{'a' * 40}") == (
        ("AKIAIOSFODNN7EXAMPLE", SECRET),
        ("AKIA0000000000000001", "a" * 40),
    )
    for bad in ["AKIAIOSFODNN7EXAMPLE", "akia0000000000000000:" + "a" * 40, "AKIAIOSFODNN7EXAMPLE:short"]:
        with pytest.raises(SettingsError) as info:
            parse_requester_keys(bad)
        assert "short" not in str(info.value)  # never echo what may be a secret
    settings = Settings.from_env(
        {
            "HITFLOW_HIT_SERVICE_DB_URL": "postgresql://x/y",
            "HITFLOW_HIT_SERVICE_REQUESTER_KEYS": f"AKIAIOSFODNN7EXAMPLE:{SECRET}",
        }
    )
    assert settings.requester_keys == (("AKIAIOSFODNN7EXAMPLE", SECRET),)


# -- over HTTP, through boto3 -----------------------------------------------------------------


def _client(url: str, **kwargs: Any) -> Any:
    return boto3.client(
        "mturk", region_name="us-east-1", endpoint_url=url, config=Config(retries={"total_max_attempts": 1}), **kwargs
    )


def _error(call: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


@pytest.mark.integration
def test_unsigned_unknown_and_wrong_secret_over_http(service: Any) -> None:
    unsigned = boto3.client(
        "mturk", region_name="us-east-1", endpoint_url=service.url, config=Config(signature_version=UNSIGNED)
    )
    assert _error(unsigned.get_account_balance) == (
        "MissingAuthenticationTokenException",
        403,
        "Missing Authentication Token",
    )
    unknown = _client(service.url, aws_access_key_id=new_access_key(), aws_secret_access_key=SECRET_KEY)
    code, status, message = _error(unknown.get_account_balance)
    assert (code, status) == ("UnrecognizedClientException", 400)
    key = new_access_key()
    make_client(service.url, key)  # registers the key
    wrong = _client(service.url, aws_access_key_id=key, aws_secret_access_key="y" * 40)
    code, status, message = _error(wrong.get_account_balance)
    assert (code, status) == ("InvalidSignatureException", 400)
    assert "signature we calculated does not match" in message
    session = _client(service.url, aws_access_key_id=key, aws_secret_access_key=SECRET_KEY, aws_session_token="token")
    assert _error(session.get_account_balance)[0] == "UnrecognizedClientException"


@pytest.mark.integration
def test_raw_requests_scoped_elsewhere_are_refused(service: Any) -> None:
    key = new_access_key()
    make_client(service.url, key)
    ok = signed_post(service.url, TARGET, access_key=key)
    assert ok.status_code == 200, ok.text
    for kwargs in ({"region": "us-west-2"}, {"service": "mturk"}):
        response = signed_post(service.url, TARGET, access_key=key, **kwargs)
        assert response.status_code == 400
        assert response.json()["__type"] == "InvalidSignatureException"
    stale = datetime.now(UTC) - timedelta(minutes=20)
    request = AWSRequest(method="POST", url=f"{service.url}/", data=b"{}", headers={"X-Amz-Target": TARGET})
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale.replace(tzinfo=None)):
        SigV4Auth(Credentials(key, SECRET_KEY), "mturk-requester", "us-east-1").add_auth(request)
    response = httpx.post(f"{service.url}/", content=b"{}", headers=dict(request.headers.items()))
    assert response.status_code == 400
    assert response.json()["__type"] == "InvalidSignatureException"
    assert "Signature expired" in response.json()["Message"]


@pytest.mark.integration
def test_requesters_are_isolated(service: Any) -> None:
    alice, bob = make_client(service.url, new_access_key()), make_client(service.url, new_access_key())
    hit = alice.create_hit(**hit_args())["HIT"]
    assert alice.get_hit(HITId=hit["HITId"])["HIT"]["HITId"] == hit["HITId"]
    assert _error(lambda: bob.get_hit(HITId=hit["HITId"]))[0] == "RequestError"
    assert bob.list_hits()["NumResults"] == 0
    assert _error(lambda: bob.create_hit_with_hit_type(HITTypeId=hit["HITTypeId"], LifetimeInSeconds=60))[0] == (
        "RequestError"
    )
