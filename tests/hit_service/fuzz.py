"""A property-based fuzzer of the requester API, built on botocore's ``mturk`` model (Hypothesis).

For each of the model's 39 operations it generates well-formed requests (every member the
model allows, within its limits, sometimes with IDs of real HITs, assignments and types so
the rules run past "does not exist") and broken ones: a required member left out, a value of
the wrong type, numbers out of range, over-long and odd Unicode strings (NUL, lone
surrogates, bidi controls, emoji), bad enums, bad timestamps, junk NextTokens, unknown
members, and bodies that are not a JSON object at all. Each request is signed with SigV4 (by
botocore's own signer) and sent through the real HTTP server. The property: every answer is a
200 with a JSON object, or a ``RequestError`` (400) with a ``TurkErrorCode`` — never a 500,
never a hang.

``tests/hit_service/test_fuzz.py`` runs a bounded number of examples in ``make test``;
``make fuzz`` (``python -m tests.hit_service.fuzz``) runs longer against a service it starts
and prints the requests tried per operation and every failure.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import Shape
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hit_service import TARGET_PREFIX
from hit_service.api.validation import EXTRA_LIMITS, operation_model, operation_names

TIMEOUT = 15.0  # seconds: an answer slower than this counts as a hang
NOW = time.time()
ODD_TEXT = ["\x00", "\ud800", "\udfff", "\u202e", "\ufeff", "\U0001f600", "\u0301", "\r\n", "'\"<>&", "%s%n", "é"]
ID_MEMBERS = ("HITId", "HITTypeId", "AssignmentId", "QualificationTypeId", "WorkerId", "QualificationRequestId")
HTML_QUESTION = (
    '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/'
    'HTMLQuestion.xsd"><HTMLContent><![CDATA[<!DOCTYPE html><html><body><form>'
    '<input name="age"></form></body></html>]]></HTMLContent><FrameHeight>400</FrameHeight></HTMLQuestion>'
)
_ABSENT = object()


@dataclass
class Known:
    """IDs of real objects of the fuzzing requester, so generated requests reach the rules."""

    ids: dict[str, list[str]] = field(default_factory=dict)

    def strategy(self, member: str, fallback: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        real = self.ids.get(member) or []
        return st.one_of(st.sampled_from(real), fallback) if real else fallback


# -- strategies from the model --------------------------------------------------------------------


def _limits(shape: Shape, extras: dict[str, Any]) -> dict[str, Any]:
    return {**shape.metadata, **extras}


def _string(shape: Shape, limits: dict[str, Any]) -> st.SearchStrategy[str]:
    low = int(limits.get("min", 0))
    high = limits.get("max")
    cap = max(low, min(int(high), 40)) if high is not None else max(low, 40)
    if shape.enum:
        return st.sampled_from(list(shape.enum))
    pattern = limits.get("pattern")
    if pattern:
        return st.from_regex(pattern.rstrip("$") + r"\Z", fullmatch=False).filter(
            lambda s: low <= len(s) <= (high or 10**9) and "\n" not in s
        )
    return st.text(min_size=max(low, 1) if low else 0, max_size=cap)


def well_formed(shape: Shape, known: Known, extras: dict[str, dict[str, Any]], path: str = "") -> Any:
    """A strategy for values ``shape`` accepts (limits from the model plus ``EXTRA_LIMITS``)."""
    limits = _limits(shape, extras.get(path, {}))
    kind = shape.type_name
    if kind == "structure":
        required = {}
        optional = {}
        for name, member in shape.members.items():
            member_path = f"{path}.{name}" if path else name
            if name == "Question":
                strategy: Any = st.one_of(st.just(HTML_QUESTION), st.text(max_size=60))
            elif name in ID_MEMBERS:
                strategy = known.strategy(name, well_formed(member, known, extras, member_path))
            elif name == "UniqueRequestToken":
                strategy = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=64)
            else:
                strategy = well_formed(member, known, extras, member_path)
            (required if name in shape.required_members else optional)[name] = strategy
        return st.fixed_dictionaries(required, optional=optional)
    if kind == "list":
        low = int(limits.get("min", 0))
        return st.lists(
            well_formed(shape.member, known, extras, path),
            min_size=low,
            max_size=max(low, min(limits.get("max", 3), 3)),
        )
    if kind == "map":
        return st.dictionaries(
            _string(shape.key, shape.key.metadata), well_formed(shape.value, known, extras, path), max_size=3
        )
    if kind in ("string", "blob"):
        return _string(shape, limits)
    if kind in ("integer", "long"):
        low = limits.get("min", 0 if kind == "integer" else -(2**40))
        high = limits.get("max", 1000 if "Result" in shape.name or low == 0 else 2**40)
        return st.integers(int(low), int(max(low, high)))
    if kind == "boolean":
        return st.booleans()
    if kind == "timestamp":
        return st.one_of(
            st.integers(int(NOW - 10**7), int(NOW + 10**7)),
            st.floats(NOW - 10**7, NOW + 10**7),
            st.just(0),
        )
    if kind in ("float", "double"):
        return st.floats(-1e6, 1e6)
    raise AssertionError(f"unexpected shape type {kind}")  # pragma: no cover


def _paths(value: Any, shape: Shape, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Shape]]:
    """Every member position in a generated value with its shape (for targeted breakage)."""
    found = [(path, shape)] if path else []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in value.items():
            if name in shape.members:
                found.extend(_paths(member, shape.members[name], (*path, name)))
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, shape.member, (*path, index)))
    return found


def _set(root: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    target = root
    for step in path[:-1]:
        target = target[step]
    if value is _ABSENT:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return root


_JSON_ANY = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


def _bad_value(shape: Shape, limits: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that break ``shape``: wrong types, out of range, odd Unicode, bad enums and times."""
    kind = shape.type_name
    wrong_type = _JSON_ANY.filter(lambda v: not _fits_type(kind, v))
    odd = st.lists(st.sampled_from(ODD_TEXT) | st.text(max_size=5), min_size=1, max_size=6).map("".join)
    choices: list[st.SearchStrategy[Any]] = [wrong_type, odd]
    if kind in ("string", "blob"):
        high = limits.get("max")
        if high is not None:
            choices.append(st.just("x" * (int(high) + 1)))
            choices.append(st.just("\U0001f600" * (int(high) + 1)))
        if limits.get("min"):
            choices.append(st.just(""))
        choices.append(st.text(max_size=30))  # a bad enum or pattern most of the time
    if kind in ("integer", "long"):
        edges = [2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**30, 1.5, 1e308, -1e308, 10**4000]
        edges += [limits["min"] - 1] if "min" in limits else []
        edges += [limits["max"] + 1] if "max" in limits else []
        choices.append(st.sampled_from(edges))
    if kind == "timestamp":
        choices.append(st.sampled_from([1e20, -1e12, 1e308, -1e308, "not a date", "9999-99-99", "", "0000-01-01"]))
        choices.append(st.sampled_from(["0001-01-01T00:00:00+12:00", "9999-12-31T23:59:59-12:00", 253402300800]))
    if kind in ("list", "map"):
        high = limits.get("max")
        if high is not None:
            choices.append(st.just(["x"] * (int(high) + 1)))
    return st.one_of(choices)


def _fits_type(kind: str, value: Any) -> bool:
    if kind in ("string", "blob"):
        return isinstance(value, str)
    if kind in ("integer", "long"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind in ("structure", "map"):
        return isinstance(value, dict)
    if kind == "timestamp":
        return isinstance(value, int | float | str) and not isinstance(value, bool)
    return False


def _forged_token() -> st.SearchStrategy[str]:
    payloads = _JSON_ANY.map(lambda v: base64.urlsafe_b64encode(json.dumps(v).encode()).decode().rstrip("="))
    return st.one_of(st.text(min_size=1, max_size=80), payloads, payloads.map(lambda t: f"{t}.{t[:10]}"))


RAW_BODIES = [
    b"[]",
    b'"x"',
    b"1",
    b"null",
    b"{",
    b"\xff\xfe",
    b'{"a": NaN}',
    b'{"MaxResults": 1e999}',
    b"[" * 50_000 + b"]" * 50_000,
    b'{"x": ' + b'{"y": ' * 3_000 + b"1" + b"}" * 3_000 + b"}",
    b'{"MaxResults": 1' + b"0" * 5_000 + b"}",
]


@st.composite
def broken(draw: Any, operation: str, known: Known) -> bytes:
    """A request body for ``operation`` broken in one of the ways the model allows."""
    shape = operation_model(operation).input_shape
    if shape is None or draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from(RAW_BODIES) | _JSON_ANY.map(lambda v: json.dumps(v).encode()))
    extras = EXTRA_LIMITS.get(operation, {})
    value = draw(well_formed(shape, known, extras))
    how = draw(st.sampled_from(["drop", "value", "unknown", "token"]))
    if how == "drop" and shape.required_members:
        value.pop(draw(st.sampled_from(list(shape.required_members))), None)
    elif how == "unknown":
        value[draw(st.sampled_from(["Bogus", "", "\x00", "\ud800", "hitid"]))] = draw(_JSON_ANY)
    elif how == "token" and "NextToken" in shape.members:
        value["NextToken"] = draw(_forged_token())
    else:
        paths = _paths(value, shape)
        if not paths:
            value = draw(_JSON_ANY)
        else:
            path, member = draw(st.sampled_from(paths))
            limits = _limits(member, extras.get(".".join(str(p) for p in path if isinstance(p, str)), {}))
            value = _set(value, path, draw(_bad_value(member, limits) | st.just(_ABSENT)))
    return json.dumps(value, allow_nan=True).encode()


@st.composite
def valid(draw: Any, operation: str, known: Known) -> bytes:
    shape = operation_model(operation).input_shape
    if shape is None:
        return b"{}"
    return json.dumps(draw(well_formed(shape, known, EXTRA_LIMITS.get(operation, {})))).encode()


# -- sending and checking ------------------------------------------------------------------------


class Sender:
    """Signs bodies with botocore's SigV4 signer and posts them over one keep-alive connection."""

    def __init__(self, url: str, access_key: str, secret: str) -> None:
        self.url = url.rstrip("/")
        self.credentials = Credentials(access_key, secret)
        self.client = httpx.Client(timeout=TIMEOUT)
        self.tried: Counter[str] = Counter()

    def post(self, operation: str, body: bytes) -> httpx.Response:
        request = AWSRequest(
            method="POST",
            url=f"{self.url}/",
            data=body,
            headers={"X-Amz-Target": f"{TARGET_PREFIX}.{operation}", "Content-Type": "application/x-amz-json-1.1"},
        )
        SigV4Auth(self.credentials, "mturk-requester", "us-east-1").add_auth(request)
        self.tried[operation] += 1
        return self.client.post(f"{self.url}/", content=body, headers=dict(request.headers.items()))

    def close(self) -> None:
        self.client.close()


def check(operation: str, body: bytes, response: httpx.Response) -> None:
    """200 with a JSON object, or a RequestError with a TurkErrorCode; anything else fails."""
    shown = body[:300]
    try:
        answer = response.json()
    except ValueError:
        raise AssertionError(f"{operation}: HTTP {response.status_code}, not JSON, for {shown!r}") from None
    if response.status_code == 200:
        assert isinstance(answer, dict), f"{operation}: 200 but {answer!r} for {shown!r}"
        return
    assert response.status_code == 400, f"{operation}: HTTP {response.status_code} {answer} for {shown!r}"
    assert answer.get("__type") == "RequestError", f"{operation}: {answer} for {shown!r}"
    assert answer.get("TurkErrorCode", "").startswith("AWS."), f"{operation}: {answer} for {shown!r}"


def property_for(operation: str, mode: str, sender: Sender, known: Known, examples: int) -> Callable[[], None]:
    """The Hypothesis property of one operation in one mode ("valid" or "broken")."""
    strategy = valid(operation, known) if mode == "valid" else broken(operation, known)

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        # No shrinking: every shrink step is another request to a live server (minutes); the
        # failing request is reported as generated, which is readable enough.
        phases=(Phase.explicit, Phase.generate),
        derandomize=os.environ.get("HITFLOW_FUZZ_RANDOM") != "1",
    )
    @given(body=strategy)
    def run(body: bytes) -> None:
        try:
            response = sender.post(operation, body)
        except httpx.TimeoutException:
            raise AssertionError(f"{operation}: no answer within {TIMEOUT} s for {body[:300]!r}") from None
        check(operation, body, response)

    return run


# -- a requester with real objects -----------------------------------------------------------------


def seed(url: str, access_key: str, secret: str) -> Known:
    """A HIT with a submitted assignment, a HIT type, a qualification type: IDs for the fuzzer."""
    import boto3
    from botocore.config import Config

    from hitflow_support.crowd_client import submit_answer_over_http

    httpx.post(
        f"{url}/_test/requesters", json={"access_key_id": access_key, "secret_access_key": secret}, timeout=10
    ).raise_for_status()
    client = boto3.client(
        "mturk",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )
    name = f"fz-{access_key[-8:].lower()}"
    worker = httpx.post(f"{url}/_test/workers", json={"name": name, "password": "pw-" + name}, timeout=10).json()
    hit = client.create_hit(
        Title="Fuzz",
        Description="Fuzzing target",
        Reward="0.10",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=5,
        Question=HTML_QUESTION,
    )["HIT"]
    assignment = submit_answer_over_http(url, name, "pw-" + name, hit["HITId"], {"age": "30"})
    qual = client.create_qualification_type(
        Name=f"fuzz {access_key}", Description="fuzz", QualificationTypeStatus="Active", AutoGranted=False
    )["QualificationType"]["QualificationTypeId"]
    return Known(
        ids={
            "HITId": [hit["HITId"]],
            "HITTypeId": [hit["HITTypeId"]],
            "AssignmentId": [assignment],
            "QualificationTypeId": [qual],
            "WorkerId": [worker["worker_id"]],
        }
    )


def run_all(
    url: str, access_key: str, secret: str, examples: int, operations: list[str] | None = None, out: Any = sys.stdout
) -> int:
    """Fuzz the operations (all 39 by default) in both modes; print counts and failures; the number of failures."""
    known = seed(url, access_key, secret)
    sender = Sender(url, access_key, secret)
    failures: list[str] = []
    started = time.monotonic()
    try:
        for operation in operations or operation_names():
            for mode in ("valid", "broken"):
                try:
                    property_for(operation, mode, sender, known, examples)()
                except Exception as exc:  # a falsified property: report it and go on
                    failures.append(f"{operation} ({mode}): {exc}")
            print(f"{operation:40s} {sender.tried[operation]:6d} requests", file=out, flush=True)
    finally:
        sender.close()
    total = sum(sender.tried.values())
    print(
        f"{total} requests over {len(sender.tried)} operations in {time.monotonic() - started:.0f} s; "
        f"{len(failures)} failure(s)",
        file=out,
    )
    for failure in failures:
        print(f"FAILURE {failure}", file=out)
    return len(failures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=400, help="examples per operation and mode (default 400)")
    parser.add_argument("--url", help="fuzz a running service in test mode instead of starting one")
    parser.add_argument("--operation", action="append", help="only this operation (repeatable)")
    args = parser.parse_args(argv)
    from hitflow_support import pg
    from hitflow_support.service_process import start_service
    from tests.hit_service.helpers import new_access_key

    access_key, secret = new_access_key(), "f" * 40
    if args.url:
        return 1 if run_all(args.url, access_key, secret, args.examples, args.operation) else 0
    db_url = pg.create_database("fuzz")
    try:
        with start_service(db_url, test_mode=True) as service:
            failed = run_all(service.url, access_key, secret, args.examples, args.operation)
            print(f"service log: {service.log_path}")
            return 1 if failed else 0
    finally:
        pg.drop_database(db_url)


if __name__ == "__main__":
    sys.exit(main())
