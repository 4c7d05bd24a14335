"""Qualification tests on the worker site, over HTTP: scoring, requests without an AnswerKey, the
test's duration and RetryDelayInSeconds, each checked through boto3 as a requester sees it."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
import requests

from hitflow_support.crowd_client import sign_in
from tests.hit_service.workforce_support import ANSWER_KEY, TEST_FORM

pytestmark = pytest.mark.integration


def take(session: requests.Session, base: str, type_id: str) -> requests.Response:
    return session.get(f"{base}/worker/quals/{type_id}/test", timeout=10)


def hand_in(
    session: requests.Session, base: str, type_id: str, page: str, answers: dict[str, str]
) -> requests.Response:
    csrf = unescape(re.search(r"name='csrf' value='([^']*)'", page).group(1))  # type: ignore[union-attr]
    attempt = re.search(r"name='attempt' value='([^']*)'", page).group(1)  # type: ignore[union-attr]
    return session.post(
        f"{base}/worker/quals/{type_id}/test", data={"csrf": csrf, "attempt": attempt, **answers}, timeout=10
    )


def new_type(client: Any, name: str, **extra: Any) -> str:
    return client.create_qualification_type(
        Name=name,
        Description="A test.",
        QualificationTypeStatus="Active",
        Test=TEST_FORM,
        TestDurationInSeconds=300,
        **extra,
    )["QualificationType"]["QualificationTypeId"]


def test_an_answer_key_scores_the_test_at_once(service: Any, requester: tuple[str, Any], new_worker: Any) -> None:
    key, client = requester
    qual = new_type(client, "Keyed " + key[-6:], AnswerKey=ANSWER_KEY, RetryDelayInSeconds=0)
    worker = new_worker()
    session = sign_in(service.url, worker["name"], worker["password"])
    page = take(session, service.url, qual)
    assert page.status_code == 200 and "scored at once" in page.text
    done = hand_in(session, service.url, qual, page.text, {"blur": "skip", "child": "18"})
    assert done.status_code == 200 and "value 50" in done.text  # one of two right: 50 %
    score = client.get_qualification_score(QualificationTypeId=qual, WorkerId=worker["worker_id"])
    assert score["Qualification"]["IntegerValue"] == 50
    again = take(session, service.url, qual)  # RetryDelayInSeconds 0: at once
    hand_in(session, service.url, qual, again.text, {"blur": "skip", "child": "12"})
    score = client.get_qualification_score(QualificationTypeId=qual, WorkerId=worker["worker_id"])
    assert score["Qualification"]["IntegerValue"] == 100
    assert client.list_qualification_requests(QualificationTypeId=qual)["QualificationRequests"] == []


def test_without_an_answer_key_the_answers_go_to_the_requester(
    service: Any, requester: tuple[str, Any], new_worker: Any, advance: Any
) -> None:
    key, client = requester
    qual = new_type(client, "Reviewed " + key[-6:], RetryDelayInSeconds=600)
    worker = new_worker()
    session = sign_in(service.url, worker["name"], worker["password"])
    page = take(session, service.url, qual)
    assert "The requester reviews your answers" in page.text
    sent = hand_in(session, service.url, qual, page.text, {"blur": "guess", "child": "12"})
    assert "sent to the requester" in sent.text
    (request,) = client.list_qualification_requests(QualificationTypeId=qual)["QualificationRequests"]
    assert request["WorkerId"] == worker["worker_id"] and request["Test"] == TEST_FORM
    assert (
        "<QuestionIdentifier>blur</QuestionIdentifier><SelectionIdentifier>guess</SelectionIdentifier>"
        in request["Answer"]
    )
    assert "waiting for the requester" in take(session, service.url, qual).text  # no second attempt meanwhile
    client.reject_qualification_request(QualificationRequestId=request["QualificationRequestId"], Reason="No.")
    refused = take(session, service.url, qual)
    assert refused.status_code == 409 and "retake this test after" in refused.text
    quals_page = session.get(f"{service.url}/worker/quals", timeout=10).text
    assert "retake this test after" in quals_page  # the Qualifications page says why not
    advance(601)
    page = take(session, service.url, qual)
    assert page.status_code == 200
    hand_in(session, service.url, qual, page.text, {"blur": "skip", "child": "12"})
    (request,) = client.list_qualification_requests(QualificationTypeId=qual)["QualificationRequests"]
    client.accept_qualification_request(QualificationRequestId=request["QualificationRequestId"], IntegerValue=3)
    score = client.get_qualification_score(QualificationTypeId=qual, WorkerId=worker["worker_id"])
    assert score["Qualification"]["IntegerValue"] == 3


def test_a_test_handed_in_late_is_not_scored_and_no_retry_delay_means_one_try(
    service: Any, requester: tuple[str, Any], new_worker: Any, advance: Any
) -> None:
    key, client = requester
    qual = new_type(client, "Timed " + key[-6:], AnswerKey=ANSWER_KEY)  # no RetryDelayInSeconds
    worker = new_worker()
    session = sign_in(service.url, worker["name"], worker["password"])
    page = take(session, service.url, qual)
    advance(301)
    late = hand_in(session, service.url, qual, page.text, {"blur": "skip", "child": "12"})
    assert late.status_code == 409 and "ran out" in late.text
    with pytest.raises(client.exceptions.RequestError):
        client.get_qualification_score(QualificationTypeId=qual, WorkerId=worker["worker_id"])
    refused = take(session, service.url, qual)
    assert refused.status_code == 409 and "cannot be retaken" in refused.text


def test_a_test_is_taken_on_time_and_an_attempt_is_handed_in_once(
    service: Any, requester: tuple[str, Any], new_worker: Any, advance: Any
) -> None:
    key, client = requester
    qual = new_type(client, "Once " + key[-6:], AnswerKey=ANSWER_KEY, RetryDelayInSeconds=60)
    worker = new_worker()
    session = sign_in(service.url, worker["name"], worker["password"])
    page = take(session, service.url, qual)
    advance(299)
    assert "value 100" in hand_in(session, service.url, qual, page.text, {"blur": "skip", "child": "12"}).text
    twice = hand_in(session, service.url, qual, page.text, {"blur": "guess", "child": "18"})
    assert twice.status_code == 409 and "already handed in" in twice.text
    score = client.get_qualification_score(QualificationTypeId=qual, WorkerId=worker["worker_id"])
    assert score["Qualification"]["IntegerValue"] == 100


def test_types_without_a_test_have_no_test_page(service: Any, requester: tuple[str, Any], new_worker: Any) -> None:
    key, client = requester
    plain = client.create_qualification_type(
        Name="Plain " + key[-6:], Description="No test.", QualificationTypeStatus="Active", AutoGranted=True
    )["QualificationType"]["QualificationTypeId"]
    worker = new_worker()
    session = sign_in(service.url, worker["name"], worker["password"])
    refused = take(session, service.url, plain)
    assert refused.status_code == 409 and "no test" in refused.text
    assert take(session, service.url, "NOSUCHTYPE").status_code == 409
