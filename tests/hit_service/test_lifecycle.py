"""Assignments and the HIT lifecycle through real boto3 and the worker site's real forms."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from hitflow_support.crowd_client import CrowdError, accept_hit, sign_in, submit_answer_over_http, submit_fields
from tests.hit_service.helpers import csrf_token, error_of, hit_args, hit_type_args, html_question

pytestmark = pytest.mark.integration
NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"


def fails(call: Any, *args: Any, **kwargs: Any) -> tuple[str, str, str]:
    with pytest.raises(ClientError) as info:
        call(*args, **kwargs)
    return error_of(info.value)


def work(service: Any, worker: dict[str, str], hit_id: str, fields: dict[str, str] | None = None) -> str:
    return submit_answer_over_http(service.url, worker["name"], worker["password"], hit_id, fields or {"age": "34"})


def new_hit(client: Any, **overrides: Any) -> dict[str, Any]:
    return client.create_hit(**hit_args(**overrides))["HIT"]


def test_submitted_answer_is_question_form_answers_xml(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit = new_hit(client, MaxAssignments=2)
    worker = new_worker()
    assignment_id = work(service, worker, hit["HITId"], {"age": "34", "note": "a <b> & c"})
    listed = client.list_assignments_for_hit(HITId=hit["HITId"])
    assert listed["NumResults"] == 1
    assignment = listed["Assignments"][0]
    assert assignment["AssignmentId"] == assignment_id and re.fullmatch(r"[A-Z0-9]{30}", assignment_id)
    assert assignment["WorkerId"] == worker["worker_id"]
    assert assignment["AssignmentStatus"] == "Submitted"
    assert assignment["Answer"] == (
        f'<QuestionFormAnswers xmlns="{NS}">'
        "<Answer><QuestionIdentifier>age</QuestionIdentifier><FreeText>34</FreeText></Answer>"
        "<Answer><QuestionIdentifier>note</QuestionIdentifier><FreeText>a &lt;b&gt; &amp; c</FreeText></Answer>"
        "</QuestionFormAnswers>"
    )
    assert assignment["AutoApprovalTime"] - assignment["SubmitTime"] == timedelta(seconds=3600)
    assert assignment["Deadline"] - assignment["AcceptTime"] == timedelta(seconds=600)
    fetched = client.get_assignment(AssignmentId=assignment_id)
    assert fetched["Assignment"]["Answer"] == assignment["Answer"]
    assert fetched["HIT"]["HITId"] == hit["HITId"]
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert (got["NumberOfAssignmentsPending"], got["NumberOfAssignmentsAvailable"]) == (0, 1)
    assert got["NumberOfAssignmentsCompleted"] == 0 and got["HITStatus"] == "Assignable"


def test_approve_reject_override_and_money(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit = new_hit(client, MaxAssignments=2, Reward="0.10")  # reserves 2 × 0.12
    assert client.get_account_balance()["AvailableBalance"] == "9999.76"
    first = work(service, new_worker(), hit["HITId"])
    second = work(service, new_worker(), hit["HITId"])
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["HITStatus"] == "Reviewable"

    client.approve_assignment(AssignmentId=first, RequesterFeedback="Thanks")
    approved = client.get_assignment(AssignmentId=first)["Assignment"]
    assert approved["AssignmentStatus"] == "Approved" and approved["RequesterFeedback"] == "Thanks"
    assert isinstance(approved["ApprovalTime"], datetime)
    kind, code, message = fails(client.approve_assignment, AssignmentId=first)
    assert (kind, code) == ("RequestError", "AWS.MechanicalTurk.InvalidAssignmentState")
    assert "This operation can be called with a status of: Submitted" in message
    assert fails(client.reject_assignment, AssignmentId=first, RequesterFeedback="no")[1] == (
        "AWS.MechanicalTurk.InvalidAssignmentState"
    )
    assert client.get_account_balance()["AvailableBalance"] == "9999.76"  # approval settles from the reserve

    client.reject_assignment(AssignmentId=second, RequesterFeedback="Not a number")
    assert client.get_account_balance()["AvailableBalance"] == "9999.88"  # rejection refunds reward + fee
    rejected = client.get_assignment(AssignmentId=second)["Assignment"]
    assert rejected["AssignmentStatus"] == "Rejected" and rejected["RequesterFeedback"] == "Not a number"
    assert fails(client.approve_assignment, AssignmentId=second)[1] == "AWS.MechanicalTurk.InvalidAssignmentState"
    only_rejected = client.list_assignments_for_hit(HITId=hit["HITId"], AssignmentStatuses=["Rejected"])
    assert [a["AssignmentId"] for a in only_rejected["Assignments"]] == [second]

    client.approve_assignment(AssignmentId=second, OverrideRejection=True)
    assert client.get_assignment(AssignmentId=second)["Assignment"]["AssignmentStatus"] == "Approved"
    assert client.get_account_balance()["AvailableBalance"] == "9999.76"
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert got["NumberOfAssignmentsCompleted"] == 2


def test_override_needs_money_and_the_30_day_window(
    service: Any, requester: Any, new_worker: Any, http: httpx.Client, advance: Any
) -> None:
    key, client = requester
    hit = new_hit(client, MaxAssignments=2)
    a, b = work(service, new_worker(), hit["HITId"]), work(service, new_worker(), hit["HITId"])
    client.reject_assignment(AssignmentId=a, RequesterFeedback="wrong")
    client.reject_assignment(AssignmentId=b, RequesterFeedback="wrong")
    http.post("/_test/balance", json={"requester": key, "balance": "0.05"}).raise_for_status()
    _, code, message = fails(client.approve_assignment, AssignmentId=a, OverrideRejection=True)
    assert code == "AWS.MechanicalTurk.InsufficientFunds" and "$0.12" in message
    http.post("/_test/balance", json={"requester": key, "balance": "5.00"}).raise_for_status()
    advance(31 * 24 * 3600)
    _kind, code, message = fails(client.approve_assignment, AssignmentId=b, OverrideRejection=True)
    assert code == "AWS.MechanicalTurk.InvalidAssignmentState" and "30 days" in message


def test_reject_needs_feedback_server_side(client_factory: Any) -> None:
    client = client_factory(validate=False, retries=False)
    kind, code, _ = fails(client.reject_assignment, AssignmentId="3ABC")
    assert (kind, code) == ("RequestError", "AWS.MissingParameters")
    assert fails(client.get_assignment, AssignmentId="3NOSUCHASSIGNMENT")[1] == (
        "AWS.MechanicalTurk.AssignmentDoesNotExist"
    )


def test_auto_approval_after_the_delay(service: Any, requester: Any, new_worker: Any, advance: Any) -> None:
    _, client = requester
    hit = new_hit(client, AutoApprovalDelayInSeconds=60)
    assignment_id = work(service, new_worker(), hit["HITId"])
    assert client.get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"] == "Submitted"
    advance(61)
    assignment = client.get_assignment(AssignmentId=assignment_id)["Assignment"]
    assert assignment["AssignmentStatus"] == "Approved"
    assert assignment["ApprovalTime"] == assignment["AutoApprovalTime"]


def test_assignment_duration_is_enforced(service: Any, requester: Any, new_worker: Any, advance: Any) -> None:
    _, client = requester
    hit = new_hit(client, AssignmentDurationInSeconds=30, MaxAssignments=1)
    worker = new_worker()
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        assignment_id = accept_hit(session, service.url, hit["HITId"])
        got = client.get_hit(HITId=hit["HITId"])["HIT"]
        assert (got["HITStatus"], got["NumberOfAssignmentsPending"], got["NumberOfAssignmentsAvailable"]) == (
            "Unassignable",
            1,
            0,
        )
        advance(31)
        with pytest.raises(CrowdError, match="time allotted"):
            submit_fields(session, service.url, assignment_id, {"age": "20"})
    got = client.get_hit(HITId=hit["HITId"])["HIT"]
    assert (got["HITStatus"], got["NumberOfAssignmentsPending"], got["NumberOfAssignmentsAvailable"]) == (
        "Assignable",
        0,
        1,
    )
    assert client.list_assignments_for_hit(HITId=hit["HITId"])["NumResults"] == 0
    work(service, worker, hit["HITId"])  # the slot is free again, even for the same worker


def test_one_assignment_per_worker_and_max_assignments(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit = new_hit(client, MaxAssignments=1)
    worker = new_worker()
    work(service, worker, hit["HITId"])
    with pytest.raises(CrowdError, match=r"cannot be accepted|already submitted"):
        work(service, worker, hit["HITId"])
    with pytest.raises(CrowdError, match=r"cannot be accepted|not available"):
        work(service, new_worker(), hit["HITId"])
    assert client.list_assignments_for_hit(HITId=hit["HITId"])["NumResults"] == 1


def test_return_frees_the_slot(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit = new_hit(client, MaxAssignments=1)
    worker = new_worker()
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        assignment_id = accept_hit(session, service.url, hit["HITId"])
        page = session.get(f"{service.url}/work/{assignment_id}").text
        csrf = re.search(r"name='csrf' value='([^']*)'", page)
        assert csrf is not None
        returned = session.post(
            f"{service.url}/work/{assignment_id}/return", data={"csrf": csrf.group(1)}, allow_redirects=False
        )
        assert returned.status_code == 303
        with pytest.raises(CrowdError, match="returned"):
            submit_fields(session, service.url, assignment_id, {"age": "1"})
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["NumberOfAssignmentsAvailable"] == 1


def test_external_submit_refusals(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit = new_hit(client)
    unknown = httpx.post(f"{service.url}/mturk/externalSubmit", data={"assignmentId": "3NOSUCH", "age": "3"})
    assert unknown.status_code == 404 and "does not exist" in unknown.text
    preview = httpx.post(
        f"{service.url}/mturk/externalSubmit", data={"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "age": "3"}
    )
    assert preview.status_code == 400 and "Accept the HIT" in preview.text
    assignment_id = work(service, new_worker(), hit["HITId"])
    again = httpx.post(f"{service.url}/mturk/externalSubmit", data={"assignmentId": assignment_id, "age": "9"})
    assert again.status_code == 409 and "already been submitted" in again.text


def test_hit_status_review_and_delete(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit = new_hit(client, MaxAssignments=2, Reward="0.10")
    hit_id = hit["HITId"]
    assert fails(client.delete_hit, HITId=hit_id)[2].startswith(
        "This HIT is currently in the state 'Assignable'. This operation can be called with a status of: "
        "Reviewing, Reviewable."
    )
    assert fails(client.update_hit_review_status, HITId=hit_id)[1] == "AWS.MechanicalTurk.InvalidHITState"
    assignment_id = work(service, new_worker(), hit_id)
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=datetime(2015, 1, 1, tzinfo=UTC))
    got = client.get_hit(HITId=hit_id)["HIT"]
    assert got["HITStatus"] == "Reviewable"
    assert got["Expiration"] > datetime(2016, 1, 1, tzinfo=UTC)  # "now", not the past time asked for
    assert hit_id in [h["HITId"] for h in client.list_reviewable_hits()["HITs"]]
    client.update_hit_review_status(HITId=hit_id, Revert=False)
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewing"
    assert [h["HITId"] for h in client.list_reviewable_hits(Status="Reviewing")["HITs"]] == [hit_id]
    assert client.list_reviewable_hits(Status="Reviewable", HITTypeId=hit["HITTypeId"])["NumResults"] == 0
    assert fails(client.update_hit_review_status, HITId=hit_id)[1] == "AWS.MechanicalTurk.InvalidHITState"
    client.update_hit_review_status(HITId=hit_id, Revert=True)
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"
    _kind, code, message = fails(client.delete_hit, HITId=hit_id)
    assert code == "AWS.MechanicalTurk.InvalidHITState" and "not yet approved or rejected" in message
    client.approve_assignment(AssignmentId=assignment_id)
    before = client.get_account_balance()["AvailableBalance"]
    client.delete_hit(HITId=hit_id)
    after = client.get_account_balance()["AvailableBalance"]
    assert float(after) - float(before) == pytest.approx(0.12)  # the unused slot comes back
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Disposed"
    assert fails(client.delete_hit, HITId=hit_id)[2].startswith("This HIT is currently in the state 'Disposed'")
    assert hit_id not in [h["HITId"] for h in client.list_hits(MaxResults=100)["HITs"]]
    assert fails(client.update_expiration_for_hit, HITId=hit_id, ExpireAt=datetime(2030, 1, 1, tzinfo=UTC))[1] == (
        "AWS.MechanicalTurk.InvalidHITState"
    )


def test_expiring_an_unworked_hit_and_extending_it(requester: Any, service_now: Any) -> None:
    _, client = requester
    hit_id = new_hit(client)["HITId"]
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=service_now() - timedelta(hours=1))
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Reviewable"
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=service_now() + timedelta(days=2))
    assert client.get_hit(HITId=hit_id)["HIT"]["HITStatus"] == "Assignable"
    client.update_expiration_for_hit(HITId=hit_id, ExpireAt=service_now() - timedelta(hours=1))
    client.delete_hit(HITId=hit_id)
    assert client.get_account_balance()["AvailableBalance"] == "10000.00"  # nothing was worked: all refunded


def test_additional_assignments(requester: Any) -> None:
    _, client = requester
    small = new_hit(client, MaxAssignments=5, Reward="0.10")["HITId"]
    client.create_additional_assignments_for_hit(HITId=small, NumberOfAdditionalAssignments=4)
    got = client.get_hit(HITId=small)["HIT"]
    assert (got["MaxAssignments"], got["NumberOfAssignmentsAvailable"]) == (9, 9)
    _, code, _message = fails(
        client.create_additional_assignments_for_hit, HITId=small, NumberOfAdditionalAssignments=1
    )
    assert code == "AWS.MechanicalTurk.InvalidMaximumAssignmentsIncrease"
    large = new_hit(client, MaxAssignments=10, Reward="0.10")["HITId"]
    before = float(client.get_account_balance()["AvailableBalance"])
    client.create_additional_assignments_for_hit(HITId=large, NumberOfAdditionalAssignments=5, UniqueRequestToken="x1")
    assert before - float(client.get_account_balance()["AvailableBalance"]) == pytest.approx(5 * 0.14)
    _kind, code, _ = fails(
        client.create_additional_assignments_for_hit,
        HITId=large,
        NumberOfAdditionalAssignments=5,
        UniqueRequestToken="x1",
    )
    assert code == "AWS.MechanicalTurk.DuplicateRequest"
    assert client.get_hit(HITId=large)["HIT"]["MaxAssignments"] == 15
    assert (
        fails(client.create_additional_assignments_for_hit, HITId="3NOSUCHHIT", NumberOfAdditionalAssignments=1)[1]
        == "AWS.MechanicalTurk.HITDoesNotExist"
    )


def test_bonuses(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit = new_hit(client, MaxAssignments=2)
    worker, other = new_worker(), new_worker()
    first = work(service, worker, hit["HITId"])
    second = work(service, other, hit["HITId"])
    before = float(client.get_account_balance()["AvailableBalance"])
    client.send_bonus(
        WorkerId=worker["worker_id"], BonusAmount="1.00", AssignmentId=first, Reason="Great", UniqueRequestToken="b1"
    )
    assert before - float(client.get_account_balance()["AvailableBalance"]) == pytest.approx(1.20)
    _kind, code, _ = fails(
        client.send_bonus,
        WorkerId=worker["worker_id"],
        BonusAmount="1.00",
        AssignmentId=first,
        Reason="Great",
        UniqueRequestToken="b1",
    )
    assert code == "AWS.MechanicalTurk.DuplicateRequest"
    assert before - float(client.get_account_balance()["AvailableBalance"]) == pytest.approx(1.20)  # paid once
    client.send_bonus(WorkerId=other["worker_id"], BonusAmount="0.05", AssignmentId=second, Reason="ok")
    assert (
        fails(client.send_bonus, WorkerId=other["worker_id"], BonusAmount="0.05", AssignmentId=first, Reason="x")[1]
        == "AWS.ParameterOutOfRange"
    )
    by_hit = client.list_bonus_payments(HITId=hit["HITId"])
    assert [(b["WorkerId"], b["BonusAmount"]) for b in by_hit["BonusPayments"]] == [
        (worker["worker_id"], "1.00"),
        (other["worker_id"], "0.05"),
    ]
    assert isinstance(by_hit["BonusPayments"][0]["GrantTime"], datetime)
    page = client.list_bonus_payments(HITId=hit["HITId"], MaxResults=1)
    assert page["NumResults"] == 1 and "NextToken" in page
    rest = client.list_bonus_payments(HITId=hit["HITId"], MaxResults=1, NextToken=page["NextToken"])
    assert rest["BonusPayments"][0]["BonusAmount"] == "0.05" and "NextToken" not in rest
    assert client.list_bonus_payments(AssignmentId=first)["BonusPayments"][0]["Reason"] == "Great"
    assert fails(client.list_bonus_payments)[1] == "AWS.MissingParameters"


def test_list_assignments_paging(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit_id = new_hit(client, MaxAssignments=3)["HITId"]
    ids = [work(service, new_worker(), hit_id) for _ in range(3)]
    first = client.list_assignments_for_hit(HITId=hit_id, MaxResults=2)
    assert first["NumResults"] == 2 and "NextToken" in first
    second = client.list_assignments_for_hit(HITId=hit_id, MaxResults=2, NextToken=first["NextToken"])
    assert "NextToken" not in second
    assert [a["AssignmentId"] for a in first["Assignments"] + second["Assignments"]] == ids
    assert client.list_assignments_for_hit(HITId=hit_id, AssignmentStatuses=["Approved"])["NumResults"] == 0
    other_hit = new_hit(client)["HITId"]
    assert fails(client.list_assignments_for_hit, HITId=other_hit, NextToken=first["NextToken"])[1] == (
        "AWS.ParameterOutOfRange"
    )


def test_worker_blocks(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    worker = new_worker()
    client.create_worker_block(WorkerId=worker["worker_id"], Reason="Spam answers")
    client.create_worker_block(WorkerId="A1NOTAWORKER0001", Reason="pre-emptive")
    blocks = client.list_worker_blocks(MaxResults=1)
    assert blocks["NumResults"] == 1 and "NextToken" in blocks
    rest = client.list_worker_blocks(MaxResults=1, NextToken=blocks["NextToken"])
    assert {b["WorkerId"] for b in blocks["WorkerBlocks"] + rest["WorkerBlocks"]} == {
        worker["worker_id"],
        "A1NOTAWORKER0001",
    }
    hit_id = new_hit(client)["HITId"]
    with pytest.raises(CrowdError):
        work(service, worker, hit_id)
    client.delete_worker_block(WorkerId=worker["worker_id"], Reason="forgiven")
    client.delete_worker_block(WorkerId=worker["worker_id"])  # not blocked any more: still fine
    work(service, worker, hit_id)
    assert [b["WorkerId"] for b in client.list_worker_blocks()["WorkerBlocks"]] == ["A1NOTAWORKER0001"]
    assert fails(client.create_worker_block, WorkerId=worker["worker_id"], Reason=" ")[1] == "AWS.MissingParameters"


def test_notify_workers_reaches_the_dashboard(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    worker, stranger = new_worker(), new_worker()
    client.approve_assignment(AssignmentId=work(service, worker, new_hit(client)["HITId"]))  # MTurk: reviewed work only
    result = client.notify_workers(
        Subject="New batch", MessageText="More photos tomorrow.", WorkerIds=[worker["worker_id"], stranger["worker_id"]]
    )
    failures = result["NotifyWorkersFailureStatuses"]
    assert [(f["WorkerId"], f["NotifyWorkersFailureCode"]) for f in failures] == [
        (stranger["worker_id"], "HardFailure")
    ]
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        page = session.get(f"{service.url}/worker/dashboard").text
    assert "New batch" in page and "More photos tomorrow." in page


def test_update_hit_type_of_hit(requester: Any, client: Any) -> None:
    _, mine = requester
    hit = new_hit(mine, MaxAssignments=2, Reward="0.10")
    new_type = mine.create_hit_type(**hit_type_args(Title="Guess the age again", Reward="0.20"))["HITTypeId"]
    before = float(mine.get_account_balance()["AvailableBalance"])
    mine.update_hit_type_of_hit(HITId=hit["HITId"], HITTypeId=new_type)
    got = mine.get_hit(HITId=hit["HITId"])["HIT"]
    assert (got["HITTypeId"], got["Title"], got["Reward"]) == (new_type, "Guess the age again", "0.20")
    assert before - float(mine.get_account_balance()["AvailableBalance"]) == pytest.approx(2 * 0.12)
    foreign = client.create_hit_type(**hit_type_args())["HITTypeId"]
    assert fails(mine.update_hit_type_of_hit, HITId=hit["HITId"], HITTypeId=foreign)[1] == (
        "AWS.MechanicalTurk.HITTypeDoesNotExist"
    )


def test_other_requesters_cannot_touch_assignments(service: Any, requester: Any, client: Any, new_worker: Any) -> None:
    _, mine = requester
    hit = new_hit(mine)
    assignment_id = work(service, new_worker(), hit["HITId"])
    for call, kwargs in [
        (client.get_assignment, {"AssignmentId": assignment_id}),
        (client.approve_assignment, {"AssignmentId": assignment_id}),
        (client.reject_assignment, {"AssignmentId": assignment_id, "RequesterFeedback": "x"}),
    ]:
        assert fails(call, **kwargs)[1] == "AWS.MechanicalTurk.AssignmentDoesNotExist"
    assert fails(client.list_assignments_for_hit, HITId=hit["HITId"])[1] == "AWS.MechanicalTurk.HITDoesNotExist"


def test_review_policies_notifications_and_uploads(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    policy = {
        "PolicyName": "ScoreMyKnownAnswers/2011-09-01",
        "Parameters": [{"Key": "AnswerKey", "MapEntries": [{"Key": "age", "Values": ["34"]}]}],
    }
    hit = client.create_hit(**hit_args(AssignmentReviewPolicy=policy))["HIT"]
    result = client.list_review_policy_results_for_hit(HITId=hit["HITId"], RetrieveResults=True)
    assert result["AssignmentReviewPolicy"] == policy
    assert result["AssignmentReviewReport"] == {"ReviewResults": [], "ReviewActions": []}
    notification = {
        "Destination": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
        "Transport": "SQS",
        "Version": "2006-05-05",
        "EventTypes": ["AssignmentSubmitted"],
    }
    client.update_notification_settings(HITTypeId=hit["HITTypeId"], Notification=notification, Active=True)
    client.update_notification_settings(HITTypeId=hit["HITTypeId"], Active=False)
    _, code, message = fails(
        client.send_test_event_notification, Notification=notification, TestEventType="AssignmentSubmitted"
    )
    assert code == "AWS.MechanicalTurk.NotSupported" and "does not deliver notifications" in message
    assignment_id = work(service, new_worker(), hit["HITId"])
    _kind, code, message = fails(client.get_file_upload_url, AssignmentId=assignment_id, QuestionIdentifier="photo")
    assert code == "AWS.MechanicalTurk.NotSupported"
    assert fails(client.update_notification_settings, HITTypeId="3NOSUCHTYPE", Active=False)[1] == (
        "AWS.MechanicalTurk.HITTypeDoesNotExist"
    )


def test_external_question_and_layout_frames(service: Any, requester: Any, new_worker: Any) -> None:
    _, client = requester
    hit = client.create_hit(**hit_args(Question=html_question("<form><input name='age'></form>")))["HIT"]
    worker = new_worker()
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        preview = session.get(f"{service.url}/worker/hits/{hit['HITId']}").text
        assert "sandbox='allow-scripts allow-forms" in preview and "allow-same-origin" not in preview
        assignment_id = accept_hit(session, service.url, hit["HITId"])
        page = session.get(f"{service.url}/work/{assignment_id}").text
        src = re.search(r"src='([^']+)'", page)
        assert src is not None
        frame_url = src.group(1).replace("&amp;", "&")
        assert frame_url.startswith(f"/work/{assignment_id}/frame?assignmentId={assignment_id}&hitId={hit['HITId']}")
        assert "turkSubmitTo=" in frame_url and f"workerId={worker['worker_id']}" in frame_url
        frame = session.get(f"{service.url}{frame_url}")
        assert frame.headers["content-security-policy"].startswith("sandbox allow-scripts allow-forms")
        assert "<input name='age'>" in frame.text


CHANGES_BY_ANOTHER_REQUESTER = {
    "DeleteHIT": ("delete_hit", "HITDoesNotExist"),
    "UpdateExpirationForHIT": ("update_expiration_for_hit", "HITDoesNotExist"),
    "UpdateHITReviewStatus": ("update_hit_review_status", "HITDoesNotExist"),
    "CreateAdditionalAssignmentsForHIT": ("create_additional_assignments_for_hit", "HITDoesNotExist"),
    "SendBonus": ("send_bonus", "AssignmentDoesNotExist"),
}


@pytest.mark.parametrize("operation", list(CHANGES_BY_ANOTHER_REQUESTER))
def test_another_requester_cannot_change_a_hit_or_pay_for_its_work(
    operation: str, service: Any, requester: Any, client_factory: Any, new_worker: Any
) -> None:
    """Each change names a HIT or assignment of someone else: it does not exist for the caller,
    and nothing moves — the HIT, the owner's money, the caller's money (DeleteHIT refunds unused
    slots to whoever deletes, so a missing check would move money between accounts)."""
    _, mine = requester
    theirs = client_factory()
    worker = new_worker()
    hit = new_hit(mine, MaxAssignments=2)
    assignment_id = work(service, worker, hit["HITId"])
    mine.approve_assignment(AssignmentId=assignment_id)
    mine.update_expiration_for_hit(HITId=hit["HITId"], ExpireAt=datetime(2020, 1, 1, tzinfo=UTC))
    before = mine.get_hit(HITId=hit["HITId"])["HIT"]
    # Reviewable, its one submitted assignment approved and a slot unused: the owner could
    # delete it, review it, extend it, add to it or pay a bonus on it right now.
    assert (before["HITStatus"], before["NumberOfAssignmentsCompleted"]) == ("Reviewable", 1)
    balances = (mine.get_account_balance()["AvailableBalance"], theirs.get_account_balance()["AvailableBalance"])
    method, code = CHANGES_BY_ANOTHER_REQUESTER[operation]
    args = {
        "DeleteHIT": {"HITId": hit["HITId"]},
        "UpdateExpirationForHIT": {"HITId": hit["HITId"], "ExpireAt": datetime(2099, 1, 1, tzinfo=UTC)},
        "UpdateHITReviewStatus": {"HITId": hit["HITId"], "Revert": False},
        "CreateAdditionalAssignmentsForHIT": {"HITId": hit["HITId"], "NumberOfAdditionalAssignments": 1},
        "SendBonus": {
            "WorkerId": worker["worker_id"],
            "AssignmentId": assignment_id,
            "BonusAmount": "1.00",
            "Reason": "not mine to give",
        },
    }[operation]
    kind, turk_code, message = fails(getattr(theirs, method), **args)
    assert (kind, turk_code) == ("RequestError", f"AWS.MechanicalTurk.{code}")
    assert (args.get("HITId") or assignment_id) in message

    after = mine.get_hit(HITId=hit["HITId"])["HIT"]
    assert after == before
    assert (mine.get_account_balance()["AvailableBalance"], theirs.get_account_balance()["AvailableBalance"]) == (
        balances
    )
    assert mine.list_bonus_payments(AssignmentId=assignment_id)["BonusPayments"] == []
    mine.delete_hit(HITId=hit["HITId"])  # still the owner's to dispose of


def test_worker_blocks_are_per_requester(service: Any, requester: Any, client_factory: Any, new_worker: Any) -> None:
    """A worker blocked by one requester still works for another."""
    _, mine = requester
    theirs = client_factory()
    worker = new_worker()
    mine.create_worker_block(WorkerId=worker["worker_id"], Reason="Spam answers")
    blocked_hit, open_hit = new_hit(mine)["HITId"], new_hit(theirs)["HITId"]
    with sign_in(service.url, worker["name"], worker["password"]) as session:
        listed = session.get(f"{service.url}/worker").text
        assert open_hit in listed and blocked_hit not in listed
        assert session.get(f"{service.url}/worker/hits/{blocked_hit}").status_code == 403
        token = csrf_token(listed)
        refused = session.post(f"{service.url}/worker/hits/{blocked_hit}/accept", data={"csrf": token})
        assert refused.status_code == 403  # accepting by URL, past the hidden button, is refused too
    with pytest.raises(CrowdError):
        work(service, worker, blocked_hit)
    assignment_id = work(service, worker, open_hit)
    assert theirs.get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"] == "Submitted"
    assert theirs.list_worker_blocks()["WorkerBlocks"] == []
    assert [b["WorkerId"] for b in mine.list_worker_blocks()["WorkerBlocks"]] == [worker["worker_id"]]
    assert mine.list_assignments_for_hit(HITId=blocked_hit)["NumResults"] == 0
