"""Qualification types, scores, requests and HIT requirements, through boto3 and the worker site."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from hit_service.core.requirements import meets, permissions
from hitflow_support.crowd_client import CrowdError, sign_in, submit_answer_over_http
from tests.hit_service.helpers import error_of, hit_args

pytestmark = pytest.mark.integration
LOCALE = "00000000000000000071"
APPROVAL_RATE = "000000000000000000L0"
TEST_XML = (
    '<QuestionForm xmlns="http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/'
    'QuestionForm.xsd"><Question><QuestionIdentifier>q1</QuestionIdentifier><QuestionContent><Text>2+2?</Text>'
    "</QuestionContent><AnswerSpecification><FreeTextAnswer/></AnswerSpecification></Question></QuestionForm>"
)


def fails(call: Any, **kwargs: Any) -> tuple[str, str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return error_of(info.value)


def new_type(client: Any, name: str, **kwargs: Any) -> str:
    args = {"Name": name, "Description": f"{name} workers", "QualificationTypeStatus": "Active", **kwargs}
    return client.create_qualification_type(**args)["QualificationType"]["QualificationTypeId"]


def test_requirement_rules() -> None:
    locale = {"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]}
    assert meets(locale, {LOCALE: ("US", "CA")})
    assert not meets(locale, {LOCALE: ("DE", None)})
    state = {
        "QualificationTypeId": LOCALE,
        "Comparator": "In",
        "LocaleValues": [{"Country": "US", "Subdivision": "NY"}],
    }
    assert not meets(state, {LOCALE: ("US", "CA")}) and meets(state, {LOCALE: ("US", "NY")})
    rate = {"QualificationTypeId": APPROVAL_RATE, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [95]}
    assert meets(rate, {APPROVAL_RATE: 95}) and not meets(rate, {APPROVAL_RATE: 94}) and not meets(rate, {})
    assert meets({"QualificationTypeId": "X", "Comparator": "DoesNotExist"}, {})
    assert meets({"QualificationTypeId": "X", "Comparator": "NotIn", "IntegerValues": [1, 2]}, {"X": 3})
    hidden = {**rate, "ActionsGuarded": "DiscoverPreviewAndAccept"}
    assert permissions([hidden], {APPROVAL_RATE: 50}) == {"discover": False, "preview": False, "accept": False}
    assert permissions([rate], {APPROVAL_RATE: 50}) == {"discover": True, "preview": True, "accept": False}
    assert permissions([{**rate, "RequiredToPreview": True}], {APPROVAL_RATE: 50})["preview"] is False


def test_qualification_type_crud(requester: Any, client: Any) -> None:
    _, mine = requester
    name = "Age experts " + requester[0]
    type_id = new_type(mine, name, Keywords="age", AutoGranted=True, AutoGrantedValue=7)
    got = mine.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]
    assert (got["Name"], got["AutoGranted"], got["AutoGrantedValue"], got["IsRequestable"]) == (name, True, 7, True)
    assert (
        fails(mine.create_qualification_type, Name=name.upper(), Description="d", QualificationTypeStatus="Active")[1]
        == "AWS.MechanicalTurk.QualificationTypeAlreadyExists"
    )
    listed = mine.list_qualification_types(MustBeRequestable=True, MustBeOwnedByCaller=True, Query="experts")
    assert [t["QualificationTypeId"] for t in listed["QualificationTypes"]] == [type_id]
    assert client.get_qualification_type(QualificationTypeId=type_id)["QualificationType"]["Name"] == name
    assert fails(client.update_qualification_type, QualificationTypeId=type_id, Description="x")[1] == (
        "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    )
    updated = mine.update_qualification_type(
        QualificationTypeId=type_id, Description="Better", AutoGranted=False, Test=TEST_XML, TestDurationInSeconds=60
    )["QualificationType"]
    assert (updated["Description"], updated["AutoGranted"], updated["Test"]) == ("Better", False, TEST_XML)
    assert fails(mine.update_qualification_type, QualificationTypeId=type_id, Test="<not xml")[1] == (
        "AWS.MechanicalTurk.XMLParseError"
    )
    system = mine.get_qualification_type(QualificationTypeId=LOCALE)["QualificationType"]
    assert system["Name"] == "Worker_Locale"
    mine.delete_qualification_type(QualificationTypeId=type_id)
    assert fails(mine.get_qualification_type, QualificationTypeId=type_id)[1] == (
        "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    )
    new_type(mine, name)  # the name is free again


def test_scores_and_requirements_on_the_worker_site(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    type_id = new_type(client, "Trusted " + requester[0])
    trusted, stranger = new_worker(), new_worker()
    client.associate_qualification_with_worker(
        QualificationTypeId=type_id, WorkerId=trusted["worker_id"], IntegerValue=80
    )
    score = client.get_qualification_score(QualificationTypeId=type_id, WorkerId=trusted["worker_id"])["Qualification"]
    assert (score["IntegerValue"], score["Status"]) == (80, "Granted")
    assert fails(client.get_qualification_score, QualificationTypeId=type_id, WorkerId=stranger["worker_id"])[1] == (
        "AWS.MechanicalTurk.QualificationDoesNotExist"
    )
    assert (
        fails(client.associate_qualification_with_worker, QualificationTypeId=type_id, WorkerId="A1NOBODY0001")[1]
        == "AWS.ParameterOutOfRange"
    )
    holders = client.list_workers_with_qualification_type(QualificationTypeId=type_id)
    assert [q["WorkerId"] for q in holders["Qualifications"]] == [trusted["worker_id"]]

    requirement = {"QualificationTypeId": type_id, "Comparator": "GreaterThan", "IntegerValues": [50]}
    hit = client.create_hit(**hit_args(QualificationRequirements=[requirement], MaxAssignments=2))["HIT"]
    assert client.list_hits_for_qualification_type(QualificationTypeId=type_id)["HITs"][0]["HITId"] == hit["HITId"]
    with pytest.raises(CrowdError, match="qualification"):
        submit_answer_over_http(service.url, stranger["name"], stranger["password"], hit["HITId"], {"age": "1"})
    submit_answer_over_http(service.url, trusted["name"], trusted["password"], hit["HITId"], {"age": "2"})

    client.disassociate_qualification_from_worker(
        QualificationTypeId=type_id, WorkerId=trusted["worker_id"], Reason="x"
    )
    revoked = client.get_qualification_score(QualificationTypeId=type_id, WorkerId=trusted["worker_id"])
    assert revoked["Qualification"]["Status"] == "Revoked"
    assert (
        fails(
            client.disassociate_qualification_from_worker, QualificationTypeId=type_id, WorkerId=trusted["worker_id"]
        )[1]
        == "AWS.MechanicalTurk.QualificationDoesNotExist"
    )


def test_locale_and_hidden_requirements(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    american, german = new_worker("US"), new_worker("DE")
    locale = {
        "QualificationTypeId": LOCALE,
        "Comparator": "EqualTo",
        "LocaleValues": [{"Country": "US"}],
        "ActionsGuarded": "DiscoverPreviewAndAccept",
    }
    hit = client.create_hit(**hit_args(Title="US only " + requester[0], QualificationRequirements=[locale]))["HIT"]
    with sign_in(service.url, german["name"], german["password"]) as session:
        assert "US only" not in session.get(f"{service.url}/worker").text
        assert session.get(f"{service.url}/worker/hits/{hit['HITId']}").status_code == 403
    with sign_in(service.url, american["name"], american["password"]) as session:
        assert "US only" in session.get(f"{service.url}/worker").text
    submit_answer_over_http(service.url, american["name"], american["password"], hit["HITId"], {"age": "3"})
    bad = [{"QualificationTypeId": LOCALE, "Comparator": "GreaterThan", "LocaleValues": [{"Country": "US"}]}]
    assert fails(client.create_hit, **hit_args(QualificationRequirements=bad))[1] == "AWS.ParameterOutOfRange"
    unknown = [{"QualificationTypeId": "3NOSUCHQUALTYPE", "Comparator": "Exists"}]
    assert (
        fails(
            client.create_hit_type,
            Title="t",
            Description="d",
            Reward="0.01",
            AssignmentDurationInSeconds=60,
            QualificationRequirements=unknown,
        )[1]
        == "AWS.MechanicalTurk.QualificationTypeDoesNotExist"
    )


def test_system_rates_of_new_workers() -> None:
    """MTurk's rule: the percentage types count from 100 assignments on; before, their best value."""
    from hit_service.core.requirements import (
        ABANDONED_RATE,
        HITS_APPROVED,
        REJECTION_RATE,
        RETURNED_RATE,
        SUBMITTED_RATE,
        system_values,
    )

    assert system_values({}) == {
        APPROVAL_RATE: 100,
        REJECTION_RATE: 0,
        HITS_APPROVED: 0,
        SUBMITTED_RATE: 100,
        RETURNED_RATE: 0,
        ABANDONED_RATE: 0,
        "00000000000000000060": 1,
    }
    early = system_values({"Rejected": 1, "Approved": 3, "Returned": 2, "Abandoned": 1})
    assert (early[APPROVAL_RATE], early[REJECTION_RATE], early[HITS_APPROVED]) == (100, 0, 3)
    assert (early[SUBMITTED_RATE], early[RETURNED_RATE], early[ABANDONED_RATE]) == (100, 0, 0)
    just_below = system_values({"Approved": 90, "Rejected": 9})
    assert just_below[APPROVAL_RATE] == 100
    seasoned = system_values({"Approved": 90, "Rejected": 10, "Returned": 20, "Abandoned": 5, "Submitted": 3})
    assert (seasoned[APPROVAL_RATE], seasoned[REJECTION_RATE]) == (90, 10)
    assert (seasoned[SUBMITTED_RATE], seasoned[RETURNED_RATE], seasoned[ABANDONED_RATE]) == (80, 16, 4)


def test_approval_rate_requirement(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    worker = new_worker()
    first = client.create_hit(**hit_args())["HIT"]["HITId"]
    assignment_id = submit_answer_over_http(service.url, worker["name"], worker["password"], first, {"age": "9"})
    client.reject_assignment(AssignmentId=assignment_id, RequesterFeedback="wrong")
    rate = {"QualificationTypeId": APPROVAL_RATE, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [95]}
    hit_id = client.create_hit(**hit_args(QualificationRequirements=[rate], MaxAssignments=2))["HIT"]["HITId"]
    # One rejection among a new worker's first assignments does not drop them to 0 %.
    submit_answer_over_http(service.url, worker["name"], worker["password"], hit_id, {"age": "9"})
    # A worker who misses a requirement is told which one.
    locale = {"QualificationTypeId": LOCALE, "Comparator": "In", "LocaleValues": [{"Country": "US"}, {"Country": "CA"}]}
    us_only = client.create_hit(**hit_args(QualificationRequirements=[rate, locale]))["HIT"]["HITId"]
    german = new_worker("DE")
    with pytest.raises(CrowdError, match=r"requirements to accept this HIT: Location is one of US, CA\.$"):
        submit_answer_over_http(service.url, german["name"], german["password"], us_only, {"age": "9"})


def test_qualification_requests(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    with_test = new_type(
        client, "Tested " + requester[0], Test=TEST_XML, TestDurationInSeconds=300, RetryDelayInSeconds=1
    )
    auto = new_type(client, "Auto " + requester[0], AutoGranted=True)
    worker = new_worker()
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        page = session.get(f"{service.url}/worker/quals").text
        csrf = re.search(r"name='csrf' value='([^']*)'", page)
        assert csrf is not None and "Tested " + requester[0] in page
        for type_id in (with_test, auto):
            done = session.post(f"{service.url}/worker/quals/{type_id}/request", data={"csrf": csrf.group(1)})
            assert done.status_code == 200
    granted = client.get_qualification_score(QualificationTypeId=auto, WorkerId=worker["worker_id"])
    assert granted["Qualification"]["IntegerValue"] == 1
    pending = client.list_qualification_requests(QualificationTypeId=with_test)["QualificationRequests"]
    assert [(r["WorkerId"], r["Test"]) for r in pending] == [(worker["worker_id"], TEST_XML)]
    request_id = pending[0]["QualificationRequestId"]
    client.accept_qualification_request(QualificationRequestId=request_id, IntegerValue=90)
    score = client.get_qualification_score(QualificationTypeId=with_test, WorkerId=worker["worker_id"])
    assert score["Qualification"]["IntegerValue"] == 90
    assert fails(client.accept_qualification_request, QualificationRequestId=request_id)[1] == (
        "AWS.MechanicalTurk.QualificationRequestDoesNotExist"
    )
    assert fails(client.reject_qualification_request, QualificationRequestId="3NOSUCHREQUEST")[1] == (
        "AWS.MechanicalTurk.QualificationRequestDoesNotExist"
    )
    other = new_worker()
    with sign_in(service.url, other["name"], other["password"]) as session:
        page = session.get(f"{service.url}/worker/quals").text
        csrf = re.search(r"name='csrf' value='([^']*)'", page)
        assert csrf is not None
        session.post(f"{service.url}/worker/quals/{with_test}/request", data={"csrf": csrf.group(1)})
    request_id = client.list_qualification_requests()["QualificationRequests"][0]["QualificationRequestId"]
    client.reject_qualification_request(QualificationRequestId=request_id, Reason="Failed the test")
    assert client.list_qualification_requests(QualificationTypeId=with_test)["NumResults"] == 0
