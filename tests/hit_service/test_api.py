"""The requester API over HTTP: real boto3 against the service subprocess and real Postgres."""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from botocore.exceptions import ClientError

from tests.hit_service.helpers import (
    ACCESS_KEY,
    LAYOUT_ID,
    error_of,
    external_question,
    hit_args,
    hit_type_args,
    html_question,
    register_key,
    signed_post,
)

pytestmark = pytest.mark.integration
STAMP = re.compile(r" \(\d{13}\)$")


def layout_parameters(person_id: str = "42", image_url: str = "https://img.example.org/42.jpg") -> list[dict[str, str]]:
    return [{"Name": "person_id", "Value": person_id}, {"Name": "image_url", "Value": image_url}]


def new_hit_type(client: Any, **overrides: Any) -> str:
    return client.create_hit_type(**hit_type_args(**overrides))["HITTypeId"]


def count_hits(db: psycopg.Connection[Any], requester: str) -> int:
    row = db.execute("SELECT count(*) FROM mturk.hits WHERE requester = %s", (requester,)).fetchone()
    assert row is not None
    return int(row[0])


# -- balance and HIT types --------------------------------------------------------------------


def test_balance_starts_at_initial_and_pays_for_hits(requester: tuple[str, Any]) -> None:
    _, client = requester
    assert client.get_account_balance()["AvailableBalance"] == "10000.00"
    client.create_hit(**hit_args(Reward="0.10", MaxAssignments=3))
    assert client.get_account_balance()["AvailableBalance"] == "9999.64"
    client.create_hit(**hit_args(Reward="0.10", MaxAssignments=10))  # 10 × (0.10 + 0.04)
    assert client.get_account_balance()["AvailableBalance"] == "9998.24"


def test_hit_type_same_properties_same_id(requester: tuple[str, Any], client: Any) -> None:
    _, mine = requester
    first = new_hit_type(mine)
    assert len(first) == 30 and re.fullmatch(r"[A-Z0-9]{30}", first)
    assert new_hit_type(mine) == first
    assert new_hit_type(mine, Reward="0.1") == first  # same amount, written differently
    assert new_hit_type(mine, Reward="0.11") != first
    assert new_hit_type(mine, Title="Another title") != first
    assert new_hit_type(client) != first  # another requester's types are their own


# -- creating and reading HITs ----------------------------------------------------------------


def test_create_hit_with_hit_type_html_question(client: Any, service_now: Any) -> None:
    type_id = new_hit_type(client)
    before = service_now().replace(microsecond=0)
    question = html_question("<p>How old?</p>")
    hit = client.create_hit_with_hit_type(
        HITTypeId=type_id,
        MaxAssignments=3,
        LifetimeInSeconds=3600,
        Question=question,
        RequesterAnnotation="BatchId:1;",
    )["HIT"]
    assert re.fullmatch(r"[A-Z0-9]{30}", hit["HITId"])
    assert hit["HITTypeId"] == type_id
    assert re.fullmatch(r"[A-Z0-9]{30}", hit["HITGroupId"])
    assert hit["Question"] == question
    assert "HITLayoutId" not in hit
    assert hit["Title"] == "How old is this person?"
    assert hit["Description"] == "Look at a photo and guess the person's age."
    assert hit["Keywords"] == "age, photo, guess"
    assert hit["Reward"] == "0.10"
    assert hit["HITStatus"] == "Assignable"
    assert hit["HITReviewStatus"] == "NotReviewed"
    assert hit["MaxAssignments"] == 3
    assert hit["AutoApprovalDelayInSeconds"] == 3600
    assert hit["AssignmentDurationInSeconds"] == 600
    assert hit["RequesterAnnotation"] == "BatchId:1;"
    assert hit["QualificationRequirements"] == []
    assert (hit["NumberOfAssignmentsPending"], hit["NumberOfAssignmentsAvailable"]) == (0, 3)
    assert hit["NumberOfAssignmentsCompleted"] == 0
    assert isinstance(hit["CreationTime"], datetime)
    assert hit["Expiration"] - hit["CreationTime"] == timedelta(seconds=3600)
    assert before <= hit["CreationTime"] <= service_now()  # the service's clock, which tests may move


def test_create_hit_with_layout(client: Any) -> None:
    type_id = new_hit_type(client)
    hit = client.create_hit_with_hit_type(
        HITTypeId=type_id,
        LifetimeInSeconds=3600,
        HITLayoutId=LAYOUT_ID,
        HITLayoutParameters=layout_parameters("<b>7</b>", "https://img.example.org/7.jpg?a=1&b=2"),
    )["HIT"]
    assert hit["HITLayoutId"] == LAYOUT_ID
    assert hit["MaxAssignments"] == 1  # MTurk's default
    assert hit["Question"].startswith("<HTMLQuestion")
    assert "Person &lt;b&gt;7&lt;/b&gt;" in hit["Question"]
    assert 'src="https://img.example.org/7.jpg?a=1&amp;b=2"' in hit["Question"]
    assert client.get_hit(HITId=hit["HITId"])["HIT"] == hit


def test_create_hit_registers_its_hit_type(requester: tuple[str, Any]) -> None:
    _, client = requester
    one = client.create_hit(**hit_args())["HIT"]
    two = client.create_hit(**hit_args(Question=external_question()))["HIT"]
    assert one["HITTypeId"] == two["HITTypeId"] == new_hit_type(client)
    assert one["HITGroupId"] == two["HITGroupId"]
    assert one["HITId"] != two["HITId"]
    assert two["Question"] == external_question()


def test_get_hit_round_trip(client: Any) -> None:
    created = client.create_hit(**hit_args(RequesterAnnotation="round trip"))["HIT"]
    assert client.get_hit(HITId=created["HITId"])["HIT"] == created


def test_get_hit_unknown(client: Any) -> None:
    with pytest.raises(ClientError) as info:
        client.get_hit(HITId="3NOSUCHHIT000000000000000000000")
    kind, code, message = error_of(info.value)
    assert kind == "RequestError"
    assert code == "AWS.MechanicalTurk.HITDoesNotExist"
    assert message.startswith("Hit 3NOSUCHHIT000000000000000000000 does not exist.")
    assert STAMP.search(message)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_another_requesters_hit_does_not_exist(client: Any, requester: tuple[str, Any]) -> None:
    _, other = requester
    hit_id = client.create_hit(**hit_args())["HIT"]["HITId"]
    with pytest.raises(ClientError) as info:
        other.get_hit(HITId=hit_id)
    assert error_of(info.value)[1] == "AWS.MechanicalTurk.HITDoesNotExist"


def test_list_hits_pages_without_gaps_or_duplicates(requester: tuple[str, Any]) -> None:
    _, client = requester
    type_id = new_hit_type(client)
    created = [
        client.create_hit_with_hit_type(HITTypeId=type_id, LifetimeInSeconds=3600, Question=html_question(str(n)))[
            "HIT"
        ]["HITId"]
        for n in range(125)
    ]

    def all_pages(**kwargs: Any) -> list[list[str]]:
        pages, token = [], None
        while True:
            args = dict(kwargs, **({"NextToken": token} if token else {}))
            page = client.list_hits(**args)
            assert page["NumResults"] == len(page["HITs"])
            pages.append([hit["HITId"] for hit in page["HITs"]])
            token = page.get("NextToken")
            if not token:
                return pages

    pages = all_pages(MaxResults=100)
    assert [len(p) for p in pages] == [100, 25]
    listed = [hit_id for page in pages for hit_id in page]
    assert listed == created  # creation order, nothing lost, nothing twice
    default_pages = all_pages()
    assert [len(p) for p in default_pages] == [10] * 12 + [5]
    assert [h for p in default_pages for h in p] == created
    first = client.list_hits(MaxResults=1)
    second = client.list_hits(MaxResults=1, NextToken=first["NextToken"])
    assert [h["HITId"] for h in first["HITs"] + second["HITs"]] == created[:2]


def test_list_hits_bad_token(client: Any) -> None:
    with pytest.raises(ClientError) as info:
        client.list_hits(NextToken="not-a-token")
    assert error_of(info.value)[1] == "AWS.ParameterOutOfRange"


# -- UniqueRequestToken -----------------------------------------------------------------------


def test_unique_request_token_repeat(requester: tuple[str, Any], db: psycopg.Connection[Any]) -> None:
    key, client = requester
    first = client.create_hit(**hit_args(UniqueRequestToken="batch-1-row-1"))["HIT"]
    with pytest.raises(ClientError) as info:
        client.create_hit(**hit_args(UniqueRequestToken="batch-1-row-1"))
    kind, code, message = error_of(info.value)
    assert (kind, code) == ("RequestError", "AWS.MechanicalTurk.HitAlreadyExists")
    assert message.startswith(f'The HIT with ID "{first["HITId"]}" already exists.')
    assert STAMP.search(message)
    assert count_hits(db, key) == 1
    assert client.get_account_balance()["AvailableBalance"] == "9999.64"  # charged once
    # Tokens belong to a requester: another one may use the same string.
    assert client.create_hit(**hit_args(UniqueRequestToken="batch-1-row-2"))["HIT"]["HITId"] != first["HITId"]


def test_token_is_per_requester(client: Any, requester: tuple[str, Any]) -> None:
    _, other = requester
    token = "shared-token-" + requester[0]
    a = client.create_hit(**hit_args(UniqueRequestToken=token))["HIT"]["HITId"]
    b = other.create_hit(**hit_args(UniqueRequestToken=token))["HIT"]["HITId"]
    assert a != b


def test_token_can_be_reused_after_24_hours(requester: tuple[str, Any], db: psycopg.Connection[Any]) -> None:
    key, client = requester
    type_id = new_hit_type(client)
    args = {"HITTypeId": type_id, "LifetimeInSeconds": 3600, "Question": html_question(), "UniqueRequestToken": "t"}
    first = client.create_hit_with_hit_type(**args)["HIT"]["HITId"]
    db.execute(
        "UPDATE mturk.request_tokens SET created_at = created_at - interval '24 hours 1 second' WHERE requester = %s",
        (key,),
    )
    second = client.create_hit_with_hit_type(**args)["HIT"]["HITId"]
    assert second != first
    with pytest.raises(ClientError) as info:
        client.create_hit_with_hit_type(**args)
    assert f'"{second}"' in error_of(info.value)[2]
    assert count_hits(db, key) == 2


def test_concurrent_creates_with_one_token(requester: tuple[str, Any], db: psycopg.Connection[Any]) -> None:
    key, client = requester
    type_id = new_hit_type(client)
    barrier = threading.Barrier(8)
    results: list[tuple[str, str]] = []
    lock = threading.Lock()

    def create() -> None:
        barrier.wait()
        try:
            hit = client.create_hit_with_hit_type(
                HITTypeId=type_id, LifetimeInSeconds=3600, Question=html_question(), UniqueRequestToken="race"
            )
            outcome = ("created", hit["HIT"]["HITId"])
        except ClientError as exc:
            outcome = (error_of(exc)[1], error_of(exc)[2])
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    created = [value for kind, value in results if kind == "created"]
    refused = [value for kind, value in results if kind == "AWS.MechanicalTurk.HitAlreadyExists"]
    assert len(created) == 1, results
    assert len(refused) == 7, results
    assert all(f'"{created[0]}"' in message for message in refused)
    assert count_hits(db, key) == 1


# -- validation over HTTP ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "code", "fragment"),
    [
        ({"Reward": "$0.10"}, "AWS.ParameterOutOfRange", "'Reward'"),
        ({"Reward": "0.105"}, "AWS.ParameterOutOfRange", "'Reward'"),
        ({"Title": None}, "AWS.MissingParameters", "'Title'"),
        ({"HITLayoutId": LAYOUT_ID}, "AWS.ParameterOutOfRange", "mutually exclusive"),
        ({"Question": None}, "AWS.MissingParameters", "Either Question or HITLayoutId"),
        ({"Question": "<HTMLQuestion><oops>"}, "AWS.MechanicalTurk.XMLParseError", "not well-formed"),
        ({"Question": "<p>hi</p>"}, "AWS.MechanicalTurk.XMLParseError", "root element is <p>"),
        (
            {"Question": None, "HITLayoutId": LAYOUT_ID, "HITLayoutParameters": layout_parameters()[:1]},
            "AWS.MissingParameters",
            "${image_url}",
        ),
        ({"Question": None, "HITLayoutId": "3NOSUCHLAYOUT"}, "AWS.MechanicalTurk.HITLayoutDoesNotExist", "3NOSUCH"),
        ({"MaxAssignments": 0}, "AWS.ParameterOutOfRange", "'MaxAssignments'"),
        ({"LifetimeInSeconds": 10}, "AWS.ParameterOutOfRange", "'LifetimeInSeconds'"),
    ],
)
def test_create_hit_validation(
    client_factory: Any, db: psycopg.Connection[Any], changes: dict[str, Any], code: str, fragment: str
) -> None:
    key = "AKIAHITFLOWVALID0001"
    client = client_factory(key, validate=False)  # let the server, not botocore, judge
    args = {k: v for k, v in hit_args(**changes).items() if v is not None}
    with pytest.raises(ClientError) as info:
        client.create_hit(**args)
    kind, turk_code, message = error_of(info.value)
    assert (kind, turk_code) == ("RequestError", code), message
    assert fragment in message
    assert count_hits(db, key) == 0


def test_unknown_hit_type(client: Any) -> None:
    with pytest.raises(ClientError) as info:
        client.create_hit_with_hit_type(HITTypeId="3NOSUCHTYPE", LifetimeInSeconds=3600, Question=html_question())
    assert error_of(info.value)[1] == "AWS.MechanicalTurk.HITTypeDoesNotExist"


def test_max_results_range_checked_by_server(client_factory: Any) -> None:
    client = client_factory(validate=False)
    with pytest.raises(ClientError) as info:
        client.list_hits(MaxResults=101)
    assert "less than or equal to 100" in error_of(info.value)[2]


# -- money ------------------------------------------------------------------------------------


def test_insufficient_funds(requester: tuple[str, Any], http: httpx.Client, db: psycopg.Connection[Any]) -> None:
    key, client = requester
    http.post("/_test/balance", json={"requester": key, "balance": "0.30"}).raise_for_status()
    with pytest.raises(ClientError) as info:
        client.create_hit(**hit_args(Reward="0.10", MaxAssignments=3, UniqueRequestToken="poor"))
    kind, code, message = error_of(info.value)
    assert (kind, code) == ("RequestError", "AWS.MechanicalTurk.InsufficientFunds")
    assert "$0.36" in message and "$0.30" in message
    assert count_hits(db, key) == 0
    assert client.get_account_balance()["AvailableBalance"] == "0.30"
    # Nothing was kept, not even the token: the same token works once money is there.
    client.create_hit(**hit_args(Reward="0.10", MaxAssignments=2, UniqueRequestToken="poor"))
    assert client.get_account_balance()["AvailableBalance"] == "0.06"
    with pytest.raises(ClientError):
        client.create_hit(**hit_args(Reward="0.01", MaxAssignments=1_000_000))


# -- protocol edges ---------------------------------------------------------------------------


def call(http: httpx.Client, target: str, body: bytes = b"{}") -> httpx.Response:
    """A raw, correctly signed API call as the shared test requester."""
    register_key(str(http.base_url).rstrip("/"), ACCESS_KEY)
    return signed_post(str(http.base_url).rstrip("/"), target, body)


def test_signed_raw_call_answers_json_1_1(http: httpx.Client) -> None:
    response = call(http, "MTurkRequesterServiceV20170117.GetAccountBalance")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert "x-amzn-requestid" in response.headers
    assert re.fullmatch(r"[0-9]+\.[0-9]{2}", response.json()["AvailableBalance"])


def test_timestamps_are_epoch_seconds_on_the_wire(http: httpx.Client) -> None:
    body = (
        b'{"Title":"t","Description":"d","Reward":"0.01","AssignmentDurationInSeconds":60,'
        b'"LifetimeInSeconds":60,"Question":' + httpx.Response(200, json=html_question()).content + b"}"
    )
    response = call(http, "MTurkRequesterServiceV20170117.CreateHIT", body)
    assert response.status_code == 200, response.text
    hit = response.json()["HIT"]
    assert isinstance(hit["CreationTime"], float)
    assert hit["Expiration"] - hit["CreationTime"] == pytest.approx(60)


@pytest.mark.parametrize(
    ("target", "body", "code"),
    [
        ("MTurkRequesterServiceV20170117.NoSuchOperation", b"{}", "AWS.MechanicalTurk.UnknownOperation"),
        ("SomethingElse.GetHIT", b"{}", "AWS.MechanicalTurk.UnknownOperation"),
        ("", b"{}", "AWS.MechanicalTurk.UnknownOperation"),
        ("MTurkRequesterServiceV20170117.GetHIT", b"{not json", "AWS.MechanicalTurk.InvalidRequest"),
        ("MTurkRequesterServiceV20170117.GetHIT", b"[1, 2]", "AWS.MechanicalTurk.InvalidRequest"),
        ("MTurkRequesterServiceV20170117.GetHIT", b'{"HITId": "3A", "Bogus": 1}', "AWS.ParameterOutOfRange"),
        ("MTurkRequesterServiceV20170117.GetHIT", b"", "AWS.MissingParameters"),
    ],
)
def test_bad_requests(http: httpx.Client, target: str, body: bytes, code: str) -> None:
    response = call(http, target, body)
    assert response.status_code == 400
    data = response.json()
    assert data["__type"] == "RequestError"
    assert data["TurkErrorCode"] == code
    assert STAMP.search(data["Message"])


def test_health(http: httpx.Client) -> None:
    response = http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
