"""Issue 13's findings on the requester API: each test failed against the code before its fix.

Bad input must be a 4xx (never a 500, which boto3 retries), an unauthenticated request must not
cost memory, and MTurk's documented rules must hold.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from hit_service import TARGET_PREFIX
from hit_service.limits import MAX_REQUEST_BYTES
from hitflow_support.crowd_client import accept_hit, sign_in, submit_answer_over_http
from tests.hit_service.helpers import (
    ACCESS_KEY,
    SECRET_KEY,
    error_of,
    hit_args,
    hit_type_args,
    register_key,
    signed_post,
)

pytestmark = pytest.mark.integration


def fails(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return error_of(info.value)


def work(service: Any, worker: dict[str, str], hit_id: str) -> str:
    return submit_answer_over_http(service.url, worker["name"], worker["password"], hit_id, {"age": "34"})


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


# -- request size -------------------------------------------------------------------------------


def read_response(sock: socket.socket) -> str:
    """One whole HTTP response: the head, then as many body bytes as its Content-Length says
    (the server may send the head and the body in separate packets)."""
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        lengths = [
            int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
        ]
        if sep and len(body) >= (lengths[0] if lengths else 0):
            return data.decode("latin-1")
        chunk = sock.recv(65536)
        if not chunk:
            return data.decode("latin-1")
        data += chunk


def test_declared_oversized_body_is_refused_before_it_is_read(service: Any) -> None:
    """A Content-Length over the limit is answered at once (413), unsigned, without reading the body."""
    host, port = service.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"X-Amz-Target: MTurkRequesterServiceV20170117.ListHITs\r\nContent-Length: 300000000\r\n\r\n{"
        )
        answer = read_response(sock)
    status_line, _, rest = answer.partition("\r\n")
    assert status_line.split()[1] == "413", answer[:300]
    body = json.loads(rest.partition("\r\n\r\n")[2])
    assert body["__type"] == "RequestEntityTooLargeException"
    assert str(MAX_REQUEST_BYTES) in body["Message"]


def test_streamed_oversized_body_is_cut_off_without_growing_the_process(service: Any) -> None:
    """A chunked body (no Content-Length) is counted while it streams and refused past the limit."""
    chunk = b"x" * 1_048_576
    before = rss_kib(service.pid)

    def body() -> Iterator[bytes]:
        for _ in range(64):
            yield chunk

    try:
        response = httpx.post(
            f"{service.url}/",
            content=body(),
            headers={"X-Amz-Target": f"{TARGET_PREFIX}.ListHITs", "Content-Type": "application/x-amz-json-1.1"},
            timeout=20,
        )
    except httpx.HTTPError:
        response = None  # the server may close the connection while we are still sending
    if response is not None:
        assert response.status_code == 413, response.text[:200]
        assert response.json()["__type"] == "RequestEntityTooLargeException"
    assert rss_kib(service.pid) - before < 16 * 1024  # far below the 64 MiB sent


def test_a_largest_legal_question_fits_the_limit(requester: Any) -> None:
    """The limit leaves room for a 65,535-byte Question even when JSON escapes every character."""
    _, client = requester
    filler = "\u00e9" * 30_000  # 60,000 bytes of UTF-8; JSON sends each as \\u00e9 (6 bytes)
    question = (
        '<HTMLQuestion xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/'
        f'HTMLQuestion.xsd"><HTMLContent><![CDATA[<p>{filler}</p>]]></HTMLContent><FrameHeight>400</FrameHeight>'
        "</HTMLQuestion>"
    )
    assert len(question.encode()) <= 65_535
    hit = client.create_hit(**hit_args(Question=question))["HIT"]
    assert hit["Question"] == question


# -- bad input is a RequestError, never a ServiceFault --------------------------------------------


def raw(service: Any, operation: str, body: bytes) -> httpx.Response:
    return signed_post(service.url, f"{TARGET_PREFIX}.{operation}", body)


@pytest.mark.parametrize(
    ("operation", "body"),
    [
        ("CreateWorkerBlock", b'{"WorkerId": "A1X", "Reason": "a \\u0000 nul"}'),
        ("CreateWorkerBlock", b'{"WorkerId": "A1X", "Reason": "lone \\ud800 surrogate"}'),
        ("ListHITs", b'{"MaxResults": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("ListHITs", b'{"MaxResults": NaN}'),
        ("UpdateExpirationForHIT", b'{"HITId": "3NOSUCH", "ExpireAt": 1e20}'),
        ("UpdateExpirationForHIT", b'{"HITId": "3NOSUCH", "ExpireAt": -1e12}'),
        ("UpdateExpirationForHIT", b'{"HITId": "3NOSUCH", "ExpireAt": "0001-01-01T00:00:00-12:00"}'),
        ("UpdateExpirationForHIT", b'{"HITId": "3NOSUCH", "ExpireAt": Infinity}'),
    ],
)
def test_bad_input_is_a_request_error(service: Any, operation: str, body: bytes) -> None:
    register_key(service.url, ACCESS_KEY, SECRET_KEY)
    response = raw(service, operation, body)
    assert response.status_code == 400, response.text[:300]
    answer = response.json()
    assert answer["__type"] == "RequestError" and answer["TurkErrorCode"].startswith("AWS."), answer


@pytest.mark.parametrize("reward", ["5994380299585411844973533302", "9" * 40 + ".99"])
def test_money_past_decimal_precision_is_a_request_error(client_factory: Any, reward: str) -> None:
    """Found by the fuzzer: a 28-digit Reward overflowed Decimal's context (InvalidOperation, a 500)."""
    client = client_factory(validate=False, retries=False)
    assert fails(client.create_hit_type, **{**hit_type_args(), "Reward": reward})[:2] == (
        "RequestError",
        "AWS.ParameterOutOfRange",
    )


def forged(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("ListHITs", {}),
        ("ListReviewableHITs", {}),
        ("ListWorkerBlocks", {}),
        ("ListQualificationTypes", {"MustBeRequestable": False}),
        ("ListQualificationRequests", {}),
        ("ListAssignmentsForHIT", {"HITId": "HITID"}),
        ("ListBonusPayments", {"HITId": "HITID"}),
        ("ListWorkersWithQualificationType", {"QualificationTypeId": "QTID"}),
        ("ListHITsForQualificationType", {"QualificationTypeId": "QTID"}),
    ],
)
def test_forged_next_tokens_are_refused(requester: Any, service: Any, operation: str, params: dict[str, Any]) -> None:
    """Tokens that decode (valid base64 JSON of the old format) but were never issued: 400, never 500."""
    key, client = requester
    hit_id = client.create_hit(**hit_args())["HIT"]["HITId"]
    qual = client.create_qualification_type(Name=f"forged-{key}", Description="d", QualificationTypeStatus="Active")[
        "QualificationType"
    ]["QualificationTypeId"]
    params = {k: {"HITID": hit_id, "QTID": qual}.get(v, v) if isinstance(v, str) else v for k, v in params.items()}
    for token in (
        forged({"v": 1, "t": 10**30, "i": "x"}),
        forged({"v": 1, "k": "blocks", "p": [{"a": 1}]}),
        forged({"v": 1, "k": f"assignments:{hit_id}", "p": [10**30, "x"]}),
        forged({"v": 1, "k": f"bonus:{hit_id}", "p": [10**30]}),
        forged({"v": 1, "k": "reviewable:Reviewable", "p": ["x", 1]}),
        forged({"v": 1, "k": "qualtypes", "p": ["\u0000"]}),
        "A" * 64,
    ):
        response = signed_post(
            service.url,
            f"{TARGET_PREFIX}.{operation}",
            json.dumps({**params, "NextToken": token}).encode(),
            access_key=key,
        )
        assert response.status_code == 400, (operation, token, response.text[:300])
        assert response.json()["TurkErrorCode"] == "AWS.ParameterOutOfRange"


def test_issued_next_tokens_still_page(requester: Any) -> None:
    _, client = requester
    ids = {client.create_hit(**hit_args())["HIT"]["HITId"] for _ in range(3)}
    first = client.list_hits(MaxResults=2)
    rest = client.list_hits(MaxResults=2, NextToken=first["NextToken"])
    assert {h["HITId"] for h in first["HITs"] + rest["HITs"]} == ids
    tampered = first["NextToken"][:-2] + ("AA" if not first["NextToken"].endswith("AA") else "BB")
    assert fails(client.list_hits, NextToken=tampered)[1] == "AWS.ParameterOutOfRange"


# -- MTurk's rules -------------------------------------------------------------------------------


def test_override_rejection_after_delete_hit_is_refused(service: Any, requester: Any, new_worker: Any) -> None:
    """MTurk: a rejection can be overridden only while the HIT has not been deleted."""
    _, client = requester
    hit_id = client.create_hit(**hit_args(MaxAssignments=1))["HIT"]["HITId"]
    assignment_id = work(service, new_worker(), hit_id)
    client.reject_assignment(AssignmentId=assignment_id, RequesterFeedback="wrong")
    client.delete_hit(HITId=hit_id)
    balance = client.get_account_balance()["AvailableBalance"]
    kind, code, message = fails(client.approve_assignment, AssignmentId=assignment_id, OverrideRejection=True)
    assert (kind, code) == ("RequestError", "AWS.MechanicalTurk.InvalidAssignmentState")
    assert "deleted" in message
    assert client.get_account_balance()["AvailableBalance"] == balance
    assert client.get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"] == "Rejected"


def test_update_expiration_extends_or_expires_now_but_never_shortens(
    requester: Any, service_now: Any, new_worker: Any, service: Any
) -> None:
    """MTurk: extend beyond the current expiration, or expire at once (0 or a past time); no shortening."""
    _, client = requester
    hit = client.create_hit(**hit_args(LifetimeInSeconds=7200))["HIT"]
    expiration = hit["Expiration"]
    kind, code, message = fails(
        client.update_expiration_for_hit, HITId=hit["HITId"], ExpireAt=expiration - timedelta(minutes=30)
    )
    assert (kind, code) == ("RequestError", "AWS.ParameterOutOfRange")
    assert "shorten" in message
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["Expiration"] == expiration
    later = expiration + timedelta(hours=1)
    client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=later)
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["Expiration"] == later
    client.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=datetime(1970, 1, 1, tzinfo=UTC))  # "0"
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["Expiration"] <= service_now() and got["HITStatus"] in ("Reviewable", "Unassignable")
    other = client.create_hit(**hit_args())["HIT"]
    client.update_expiration_for_hit(HITId=other["HITId"], ExpireAt=service_now() - timedelta(days=1))
    assert client.get_hit(HITId=other["HITId"])["HIT"]["Expiration"] <= service_now()


def test_notify_workers_limits(client_factory: Any) -> None:
    client = client_factory(validate=False, retries=False)
    ids = [f"A{n:013d}" for n in range(101)]
    assert fails(client.notify_workers, Subject="s", MessageText="m", WorkerIds=ids)[1] == "AWS.ParameterOutOfRange"
    one = ids[:1]
    assert fails(client.notify_workers, Subject="s" * 201, MessageText="m", WorkerIds=one)[1] == (
        "AWS.ParameterOutOfRange"
    )
    assert fails(client.notify_workers, Subject="s", MessageText="m" * 4097, WorkerIds=one)[1] == (
        "AWS.ParameterOutOfRange"
    )
    assert client.notify_workers(Subject="s" * 200, MessageText="m" * 4096, WorkerIds=ids[:100])


def test_notify_workers_only_reaches_workers_whose_work_was_reviewed(
    service: Any, requester: Any, new_worker: Any
) -> None:
    """MTurk: a message reaches a worker only if the requester approved or rejected their work."""
    _, client = requester
    reviewed, submitted, returned = new_worker(), new_worker(), new_worker()
    hit_id = client.create_hit(**hit_args(MaxAssignments=3))["HIT"]["HITId"]
    client.approve_assignment(AssignmentId=work(service, reviewed, hit_id))
    work(service, submitted, hit_id)
    with sign_in(service.url, returned["name"], returned["password"]) as session:
        assignment_id = accept_hit(session, service.url, hit_id)
        page = session.get(f"{service.url}/work/{assignment_id}").text
        csrf = page.split("name='csrf' value='")[1].split("'")[0]
        session.post(f"{service.url}/work/{assignment_id}/return", data={"csrf": csrf})
    result = client.notify_workers(
        Subject="Hello",
        MessageText="Thanks",
        WorkerIds=[reviewed["worker_id"], submitted["worker_id"], returned["worker_id"]],
    )
    failed = {f["WorkerId"] for f in result["NotifyWorkersFailureStatuses"]}
    assert failed == {submitted["worker_id"], returned["worker_id"]}


def test_send_bonus_repeat_token_names_the_first_request(service: Any, requester: Any, new_worker: Any) -> None:
    """MTurk: a repeated UniqueRequestToken is an error whose message contains the request ID."""
    _, client = requester
    worker = new_worker()
    hit_id = client.create_hit(**hit_args())["HIT"]["HITId"]
    assignment_id = work(service, worker, hit_id)
    args = {
        "WorkerId": worker["worker_id"],
        "BonusAmount": "0.50",
        "AssignmentId": assignment_id,
        "Reason": "good",
        "UniqueRequestToken": "bonus-once",
    }
    first = client.send_bonus(**args)
    request_id = first["ResponseMetadata"]["RequestId"]
    kind, _code, message = fails(client.send_bonus, **args)
    assert kind == "RequestError" and request_id in message
    assert len(client.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"]) == 1


def test_bonuses_sent_at_once_each_name_their_own_first_request(service: Any, requester: Any, new_worker: Any) -> None:
    """Bonuses share one group commit (one thread writes the others'): a repeated token must
    still name the request that first used it, not the request whose thread wrote it."""
    _, client = requester
    hit_id = client.create_hit(**hit_args(MaxAssignments=9))["HIT"]["HITId"]
    workers = [new_worker() for _ in range(9)]
    calls = [
        {
            "WorkerId": worker["worker_id"],
            "BonusAmount": "0.05",
            "AssignmentId": work(service, worker, hit_id),
            "Reason": "good",
            "UniqueRequestToken": f"at-once-{n}",
        }
        for n, worker in enumerate(workers)
    ]
    start = threading.Barrier(len(calls))

    def send(args: dict[str, str]) -> str:
        start.wait()
        return client.send_bonus(**args)["ResponseMetadata"]["RequestId"]

    with ThreadPoolExecutor(len(calls)) as pool:
        first_ids = list(pool.map(send, calls))
    assert len(set(first_ids)) == len(calls)
    for args, request_id in zip(calls, first_ids, strict=True):
        kind, _code, message = fails(client.send_bonus, **args)
        assert kind == "RequestError" and request_id in message, (request_id, message)


def test_x_amz_target_must_be_signed(service: Any) -> None:
    """A signature that leaves X-Amz-Target out could be replayed as another operation."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    register_key(service.url, ACCESS_KEY, SECRET_KEY)
    request = AWSRequest(
        method="POST", url=f"{service.url}/", data=b"{}", headers={"Content-Type": "application/x-amz-json-1.1"}
    )
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "mturk-requester", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    assert "x-amz-target" not in headers["Authorization"].lower()
    headers["X-Amz-Target"] = f"{TARGET_PREFIX}.GetAccountBalance"
    response = httpx.post(f"{service.url}/", content=b"{}", headers=headers, timeout=10)
    assert response.status_code == 400
    assert response.json()["__type"] == "InvalidSignatureException"
    assert "X-Amz-Target" in response.json()["Message"]


def test_answers_have_a_total_cap(service: Any, requester: Any, new_worker: Any) -> None:
    """Each field is capped by the form parser; the whole answer must be capped too."""
    from hit_service.limits import MAX_ANSWER_BYTES

    _, client = requester
    worker = new_worker()
    hit_id = client.create_hit(**hit_args())["HIT"]["HITId"]
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        assignment_id = accept_hit(session, service.url, hit_id)
        fields = {f"f{n}": "y" * (MAX_ANSWER_BYTES // 4) for n in range(5)}
        started = time.monotonic()
        response = session.post(f"{service.url}/mturk/externalSubmit", data={"assignmentId": assignment_id, **fields})
        assert time.monotonic() - started < 10
        assert response.status_code == 413
        assert "too large" in response.text
        # Nothing was stored and the assignment is still open: a smaller answer goes through.
        ok = session.post(f"{service.url}/mturk/externalSubmit", data={"assignmentId": assignment_id, "age": "3"})
        assert ok.status_code == 200
    answer = client.get_assignment(AssignmentId=assignment_id)["Assignment"]["Answer"]
    assert "<FreeText>3</FreeText>" in answer and len(answer) < 1000
