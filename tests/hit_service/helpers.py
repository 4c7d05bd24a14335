"""Shared helpers for the HIT service's tests: clients, canned questions and arguments."""

from __future__ import annotations

import os
import re
import secrets
import string
import subprocess
import sys
from typing import Any

import boto3
import httpx
from botocore.config import Config

ACCESS_KEY = "AKIAHITFLOWTEST00001"
SECRET_KEY = "x" * 40
OPERATOR_PASSWORD = "operator-test-password"
LAYOUT_ID = "3TESTAGELAYOUT0000000000000001"
CONSOLE_CSV = b"person_id,image_url\r\nP1,https://img.example.org/1.jpg\r\nP2,https://img.example.org/2.jpg\r\n"
LAYOUT_HTML = """<!DOCTYPE html>
<html><body>
<p>Person ${person_id}</p>
<img src="${image_url}" alt="person ${person_id}">
<form method="post" action="https://www.mturk.com/mturk/externalSubmit">
<input type="hidden" name="assignmentId" value="">
<input type="number" name="age"></form>
</body></html>
"""
HTML_QUESTION_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
EXTERNAL_QUESTION_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
)


def html_question(body: str = "<p>How old is this person?</p>", height: int = 450) -> str:
    """A valid HTMLQuestion around ``body``."""
    page = f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{body}</body></html>"
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{page}]]></HTMLContent>'
        f"<FrameHeight>{height}</FrameHeight></HTMLQuestion>"
    )


def external_question(url: str = "https://example.org/task?x=1") -> str:
    """A valid ExternalQuestion."""
    return (
        f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_NS}"><ExternalURL>{url}</ExternalURL>'
        "<FrameHeight>500</FrameHeight></ExternalQuestion>"
    )


def new_access_key() -> str:
    """A fresh access key ID: a requester account no other test uses."""
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def register_key(url: str, access_key: str, secret: str = SECRET_KEY) -> None:
    """Make ``access_key`` a valid requester key (its own account) via the test endpoint."""
    response = httpx.post(
        f"{url}/_test/requesters", json={"access_key_id": access_key, "secret_access_key": secret}, timeout=10
    )
    response.raise_for_status()


def make_client(
    url: str,
    access_key: str = ACCESS_KEY,
    *,
    retries: bool = True,
    attempts: int | None = None,
    validate: bool = True,
    register: bool = True,
    secret: str = SECRET_KEY,
) -> Any:
    """A plain boto3 ``mturk`` client: only ``endpoint_url`` differs from real MTurk.

    ``retries=False`` makes one attempt only; ``attempts`` sets the total number of tries.
    ``register`` first makes the key valid through ``/_test/requesters`` (test mode only).
    """
    if register:
        register_key(url, access_key, secret)
    config = Config(
        # total_max_attempts counts the first try (legacy max_attempts counts only retries).
        retries={"total_max_attempts": attempts or (5 if retries else 1), "mode": "legacy"},
        parameter_validation=validate,
    )
    return boto3.client(
        "mturk",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=config,
    )


def hit_type_args(**overrides: Any) -> dict[str, Any]:
    """CreateHITType arguments for an age-guess HIT type."""
    args: dict[str, Any] = {
        "Title": "How old is this person?",
        "Description": "Look at a photo and guess the person's age.",
        "Keywords": "age, photo, guess",
        "Reward": "0.10",
        "AssignmentDurationInSeconds": 600,
        "AutoApprovalDelayInSeconds": 3600,
    }
    args.update(overrides)
    return args


def hit_args(**overrides: Any) -> dict[str, Any]:
    """CreateHIT arguments: a HIT type's properties plus a question."""
    args = hit_type_args(LifetimeInSeconds=3600, MaxAssignments=3, Question=html_question())
    args.update(overrides)
    return args


def error_of(exc: Any) -> tuple[str, str, str]:
    """(error class, TurkErrorCode, message) of a botocore ClientError."""
    response = exc.response
    return response["Error"]["Code"], response.get("TurkErrorCode", ""), response["Error"]["Message"]


def signed_post(
    url: str,
    target: str,
    body: bytes = b"{}",
    access_key: str = ACCESS_KEY,
    secret: str = SECRET_KEY,
    *,
    region: str = "us-east-1",
    service: str = "mturk-requester",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST ``body`` to the API signed with SigV4 by botocore's own signer (for raw protocol tests)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method="POST",
        url=f"{url}/",
        data=body,
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1", **(headers or {})},
    )
    SigV4Auth(Credentials(access_key, secret), service, region).add_auth(request)
    return httpx.post(f"{url}/", content=body, headers=dict(request.headers.items()), timeout=10)


def add_user(db_url: str, account: str, password: str) -> str:
    """``python -m hit_service requester add-user`` with the password on stdin (never argv)."""
    name = "u-" + new_access_key()[4:].lower()
    env = {**os.environ, "HITFLOW_HIT_SERVICE_DB_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-m", "hit_service", "requester", "add-user", account, name],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert password not in done.stdout + done.stderr
    return name


_CSRF_INPUT = re.compile(r"<input\b[^>]*\bname=[\"']csrf[\"'][^>]*>", re.IGNORECASE)
_VALUE = re.compile(r"\bvalue=[\"']([^\"']*)[\"']", re.IGNORECASE)


def csrf_token(page: str) -> str:
    """The form token of a signed-in worker page (its hidden ``csrf`` input, in whatever markup)."""
    field = _CSRF_INPUT.search(page)
    value = _VALUE.search(field.group(0)) if field else None
    assert value is not None, "the page has no csrf field"
    return value.group(1)
