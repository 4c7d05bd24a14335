"""Issue 21's findings on the requester API: NextTokens bound to their requester and listing,
forged tokens in the current format, and NotifyWorkers across requesters."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError

from hit_service.api import paging
from hit_service.core.rules import encode_token
from hitflow_support.crowd_client import submit_answer_over_http
from tests.hit_service.helpers import error_of, hit_args

pytestmark = pytest.mark.integration
OUT_OF_RANGE = "AWS.ParameterOutOfRange"


def refused(call: Any, **kwargs: Any) -> str:
    """The TurkErrorCode ``call(**kwargs)`` is refused with."""
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    kind, code, _ = error_of(info.value)
    assert kind == "RequestError", info.value
    return code


def service_token_key(db: psycopg.Connection[Any]) -> bytes:
    """The service's NextToken key, derived as the service does (to forge tokens one layer at a time)."""
    row = db.execute("SELECT value FROM mturk.service_settings WHERE name = 'session_key'").fetchone()
    assert row is not None
    return hmac.new(bytes.fromhex(row[0]), b"hitflow next-token key", hashlib.sha256).digest()


def test_next_token_works_only_for_its_requester_and_listing(
    requester: tuple[str, Any], client_factory: Any, new_worker: Any
) -> None:
    key, client = requester
    for _ in range(3):
        client.create_hit(**hit_args())
    first = client.list_hits(MaxResults=1)
    token = first["NextToken"]
    assert client.list_hits(MaxResults=1, NextToken=token)["HITs"]  # its own listing pages on
    stranger = client_factory()
    assert refused(stranger.list_hits, MaxResults=1, NextToken=token) == OUT_OF_RANGE
    assert refused(client.list_reviewable_hits, MaxResults=1, NextToken=token) == OUT_OF_RANGE

    # One qualification type's workers: the token is refused for another type of the same account.
    types = [
        client.create_qualification_type(Name=f"bound-{key}-{n}", Description="d", QualificationTypeStatus="Active")[
            "QualificationType"
        ]["QualificationTypeId"]
        for n in range(2)
    ]
    for worker in (new_worker(), new_worker()):
        for type_id in types:
            client.associate_qualification_with_worker(
                QualificationTypeId=type_id, WorkerId=worker["worker_id"], IntegerValue=1, SendNotification=False
            )
    page = client.list_workers_with_qualification_type(QualificationTypeId=types[0], MaxResults=1)
    assert client.list_workers_with_qualification_type(
        QualificationTypeId=types[0], MaxResults=1, NextToken=page["NextToken"]
    )["Qualifications"]
    assert (
        refused(
            client.list_workers_with_qualification_type,
            QualificationTypeId=types[1],
            MaxResults=1,
            NextToken=page["NextToken"],
        )
        == OUT_OF_RANGE
    )


@pytest.mark.parametrize(
    ("operation", "kind", "values", "params"),
    [
        ("list_hits", "hits", [10**15, "H"], {}),
        ("list_worker_blocks", "blocks", ["W"], {}),
        ("list_qualification_types", "qualtypes", ["Q"], {"MustBeRequestable": False}),
    ],
)
def test_forged_next_tokens_in_the_current_format_are_refused(
    requester: tuple[str, Any], db: psycopg.Connection[Any], operation: str, kind: str, values: list[Any], params: Any
) -> None:
    key, client = requester
    call = getattr(client, operation)
    op = "".join(part.title() for part in operation.split("_")).replace("Hits", "HITs")
    wire = {"MaxResults": 1, **params}
    other_key = secrets.token_bytes(32)
    real_key = service_token_key(db)
    inner_unsigned = encode_token(real_key, kind, *values).split(".")[0] + "."
    forgeries = {
        "unsigned": paging.bind(other_key, key, op, wire, inner_unsigned)[:-23] + ".",
        "signed with another key": paging.bind(other_key, key, op, wire, encode_token(other_key, kind, *values)),
        "outer layer signed with another key": paging.bind(
            other_key, key, op, wire, encode_token(real_key, kind, *values)
        ),
        "inner layer signed with another key": paging.bind(
            real_key, key, op, wire, encode_token(other_key, kind, *values)
        ),
        "the inner token alone": encode_token(real_key, kind, *values),
        "another requester's": paging.bind(
            real_key, key[:-1] + ("X" if key[-1] != "X" else "Y"), op, wire, encode_token(real_key, kind, *values)
        ),
    }
    for name, token in forgeries.items():
        assert refused(call, NextToken=token, **wire) == OUT_OF_RANGE, name
    # The same construction with the service's key at both layers is a token the service accepts:
    # the refusals above are each layer's signature, not the token's shape.
    genuine = paging.bind(real_key, key, op, wire, encode_token(real_key, kind, *values))
    assert "NumResults" in call(NextToken=genuine, **wire)


def test_notify_workers_reaches_only_workers_this_requester_reviewed(
    service: Any, requester: tuple[str, Any], client_factory: Any, new_worker: Any, db: psycopg.Connection[Any]
) -> None:
    _, b = requester
    a = client_factory()
    worker = new_worker()
    hit_id = b.create_hit(**hit_args(MaxAssignments=1))["HIT"]["HITId"]
    assignment_id = submit_answer_over_http(service.url, worker["name"], worker["password"], hit_id, {"age": "40"})
    b.approve_assignment(AssignmentId=assignment_id)
    # A never had work from this worker: a HardFailure, and nothing reaches the worker.
    answer = a.notify_workers(Subject="From A", MessageText="hello", WorkerIds=[worker["worker_id"]])
    failures = answer["NotifyWorkersFailureStatuses"]
    assert [(f["WorkerId"], f["NotifyWorkersFailureCode"]) for f in failures] == [(worker["worker_id"], "HardFailure")]
    # B reviewed their work: the message is delivered.
    assert (
        b.notify_workers(Subject="From B", MessageText="thanks", WorkerIds=[worker["worker_id"]])[
            "NotifyWorkersFailureStatuses"
        ]
        == []
    )
    subjects = [
        r[0] for r in db.execute("SELECT subject FROM mturk.messages WHERE worker_id = %s", (worker["worker_id"],))
    ]
    assert subjects == ["From B"]
