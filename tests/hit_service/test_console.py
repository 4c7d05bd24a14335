"""The requester console over HTTP: sign-in, CSV checks, publishing, resuming, review, isolation.

The browser journey (Chromium) is in ``test_console_browser.py``; these drive the console's
real forms with ``ConsoleClient`` and check every outcome through boto3, the API's own view.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from typing import Any

import psycopg
import pytest
import requests

from hitflow_support.console_client import ConsoleClient, ConsoleError
from hitflow_support.crowd_client import submit_answer_over_http
from hitflow_support.service_process import ServiceProcess
from tests.hit_service.helpers import CONSOLE_CSV as GOOD
from tests.hit_service.helpers import add_user, make_client, new_access_key

pytestmark = pytest.mark.integration


def hits_of(client: Any) -> list[dict[str, Any]]:
    hits, token = [], None
    while True:
        page = client.list_hits(MaxResults=100, **({"NextToken": token} if token else {}))
        hits += page["HITs"]
        token = page.get("NextToken")
        if not token:
            return hits


def test_add_user_refuses_a_password_argument_and_bad_logins(service: ServiceProcess, db_url: str) -> None:
    env = {**os.environ, "HITFLOW_HIT_SERVICE_DB_URL": db_url}
    done = subprocess.run(
        [sys.executable, "-m", "hit_service", "requester", "add-user", "x", "y", "--password", "secret123"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--password is not accepted" in done.stderr and "secret123" not in done.stderr
    key = new_access_key()
    make_client(service.url, key)
    user = add_user(db_url, key, "correct-horse")
    with pytest.raises(ConsoleError):
        ConsoleClient(service.url, user, "wrong-password")
    ConsoleClient(service.url, user, "correct-horse")


def test_malformed_files_are_refused_row_by_row_and_create_nothing(
    account: dict[str, Any], db: psycopg.Connection[Any]
) -> None:
    console: ConsoleClient = account["console"]
    layout_id = console.create_project("age_guess")
    cases = {
        "missing column": (b"person_id\nP1\n", "missing column(s) \u201cimage_url\u201d"),
        "short row": (b"person_id,image_url\nP1,https://x/1.jpg\nP2\n", "1 value(s), but the header has 2"),
        "empty value": (b"person_id,image_url\nP1,\n", "empty value for \u201cimage_url\u201d"),
        "bad encoding": (b"person_id,image_url\nP\xe91,https://x/1.jpg\n", "not UTF-8 text: byte 0xe9 on line 2"),
        "bad quoting": (b'person_id,image_url\nP1,"https://x/1.jpg\n', "not valid CSV"),
        "10 MB": (b"person_id,image_url\n" + b"P1,https://x/1.jpg\n" * 560_000, "larger than the limit of 5 MB"),
        "header only": (b"person_id,image_url\n", "no data rows"),
        "NUL": (b"person_id,image_url\nP\x001,https://x/1.jpg\n", "NUL character"),
    }
    for label, (data, expected) in cases.items():
        with pytest.raises(ConsoleError) as refused:
            console.upload(layout_id, data, label)
        assert expected in str(refused.value), (label, str(refused.value))
    # Row numbers: the second data row is row 2 on line 3.
    with pytest.raises(ConsoleError) as refused:
        console.upload(layout_id, b"person_id,image_url\nP1,https://x/1.jpg\nP2,\n", "row numbers")
    assert "('2', '3', 'empty value for \u201cimage_url\u201d')" in str(refused.value)
    assert hits_of(account["client"]) == []
    # Only a signed-in user may send a large upload; anyone else's form stays small.
    anonymous = requests.post(
        f"{console.base}/requester/projects/{layout_id}/publish", files={"file": ("x.csv", b"x" * 600_000)}, timeout=30
    )
    assert anonymous.status_code == 413
    count = db.execute("SELECT count(*) FROM mturk.batches WHERE requester = %s", (account["key"],)).fetchone()
    assert count is not None and count[0] == 0


def test_publish_resume_and_reupload_make_one_hit_per_row(account: dict[str, Any], db: psycopg.Connection[Any]) -> None:
    console: ConsoleClient = account["console"]
    client = account["client"]
    layout_id = console.create_project("age_guess", reward="0.10", max_assignments="3")
    rows = b"person_id,image_url\n" + b"".join(
        f"P{i},https://img.example.org/{i}.jpg\n".encode() for i in range(1, 121)
    )
    batch_id = console.upload(layout_id, rows, "first")
    confirm = console.get(f"/requester/batches/{batch_id}/confirm").text
    assert "$43.20" in confirm  # 120 HITs × 3 × ($0.10 + $0.02)
    console.publish(batch_id)
    progress = console.wait_published(batch_id)
    assert progress["status"] == "published" and progress["created"] == 120
    hits = hits_of(client)
    assert len(hits) == 120 and {h["RequesterAnnotation"] for h in hits} == {f"BatchId:{batch_id};"}
    assert {h["HITLayoutId"] for h in hits} == {layout_id}

    # An interrupted publish: the process died after creating HITs but before recording some.
    db.execute("""UPDATE mturk.batch_rows SET hit_id = NULL WHERE batch_id = %s AND row_number > 100""", (batch_id,))
    db.execute(
        """UPDATE mturk.batches SET status = 'publishing', created_hits = 100, heartbeat = now() - interval '1 hour'
           WHERE batch_id = %s""",
        (batch_id,),
    )
    assert console.progress(batch_id)["status"] in ("publishing", "published")  # the poll restarts it
    progress = console.wait_published(batch_id)
    assert progress["status"] == "published" and progress["created"] == 120
    assert len(hits_of(client)) == 120
    recorded = db.execute(
        "SELECT count(DISTINCT hit_id) FROM mturk.batch_rows WHERE batch_id = %s", (batch_id,)
    ).fetchone()
    assert recorded is not None and recorded[0] == 120

    # The same file again: detected, and nothing is created without the confirmation.
    again = console.upload(layout_id, rows, "second")
    page = console.get(f"/requester/batches/{again}/confirm").text
    assert 'id="duplicate-warning"' in page and f"batch #{batch_id}" in page
    note = console.publish(again)
    assert "published before" in note
    assert console.get(f"/requester/batches/{again}/confirm").status_code == 200
    assert len(hits_of(client)) == 120
    console.publish(again, again=True)
    assert console.wait_published(again)["created"] == 120
    assert len(hits_of(client)) == 240


def test_insufficient_balance_blocks_publishing(account: dict[str, Any], service: ServiceProcess) -> None:
    import httpx

    httpx.post(f"{service.url}/_test/balance", json={"requester": account["key"], "balance": "0.50"}).raise_for_status()
    console: ConsoleClient = account["console"]
    layout_id = console.create_project("age_guess")
    batch_id = console.upload(layout_id, GOOD)
    page = console.get(f"/requester/batches/{batch_id}/confirm").text
    assert 'id="short"' in page and "$0.22 short" in page  # 2 × 3 × $0.12 = $0.72
    assert 'id="publish" disabled' in page


def test_a_publish_stopped_by_the_balance_resumes_after_a_top_up(
    account: dict[str, Any], service: ServiceProcess
) -> None:
    def balance(amount: str) -> None:
        response = requests.post(
            f"{service.url}/_test/balance", json={"requester": account["key"], "balance": amount}, timeout=10
        )
        response.raise_for_status()

    console: ConsoleClient = account["console"]
    layout_id = console.create_project("age_guess")  # $0.36 a HIT
    rows = b"person_id,image_url\n" + b"".join(f"P{i},https://x.example/{i}.jpg\n".encode() for i in range(10))
    batch_id = console.upload(layout_id, rows)
    balance("1.00")
    console.publish(batch_id)  # the page would not offer it; the service stops cleanly anyway
    stopped = console.wait_published(batch_id)
    assert stopped["status"] == "stopped" and stopped["created"] == 2
    assert stopped["error"].startswith("row ") and "Insufficient funds" in stopped["error"]
    page = console.get(f"/requester/batches/{batch_id}").text
    assert 'id="resume"' in page
    balance("100.00")
    console.post(f"/requester/batches/{batch_id}/publish", {"publish_again": "yes"})
    done = console.wait_published(batch_id)
    assert done["status"] == "published" and done["created"] == 10 and done["error"] is None
    assert len(hits_of(account["client"])) == 10


def test_review_in_console_is_what_the_api_reports(
    account: dict[str, Any], new_worker: Any, service: ServiceProcess
) -> None:
    console: ConsoleClient = account["console"]
    client = account["client"]
    layout_id = console.create_project("age_guess", max_assignments="2")
    batch_id = console.upload(layout_id, GOOD)
    console.publish(batch_id)
    console.wait_published(batch_id)
    workers = [new_worker(), new_worker()]
    answers: dict[str, str] = {}
    for number, hit in enumerate(hits_of(client)):
        for w, worker in enumerate(workers):
            age = str(20 + number * 10 + w)
            assignment = submit_answer_over_http(
                service.url, worker["name"], worker["password"], hit["HITId"], {"age": age}
            )
            answers[assignment] = age
    assert len(answers) == 4

    text = console.results_csv(batch_id)
    table = list(csv.DictReader(io.StringIO(text)))
    assert len(table) == 4
    assert {r["Answer.age"] for r in table} == set(answers.values())
    assert {r["Input.person_id"] for r in table} == {"P1", "P2"}
    first = table[0]
    for column in (
        "HITId",
        "HITTypeId",
        "Title",
        "Reward",
        "CreationTime",
        "MaxAssignments",
        "RequesterAnnotation",
        "AssignmentId",
        "WorkerId",
        "AssignmentStatus",
        "AcceptTime",
        "SubmitTime",
        "AutoApprovalTime",
        "ApprovalTime",
        "RejectionTime",
        "RequesterFeedback",
        "WorkTimeInSeconds",
        "Approve",
        "Reject",
    ):
        assert column in first
    assert first["Reward"] == "$0.10" and first["RequesterAnnotation"] == f"BatchId:{batch_id};"
    assert first["AssignmentStatus"] == "Submitted" and first["Approve"] == "" and first["Reject"] == ""

    # Review offline: approve two, reject one, leave one.
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(first))
    writer.writeheader()
    decided = {}
    for i, row in enumerate(table):
        if i < 2:
            row["Approve"], decided[row["AssignmentId"]] = "X", "Approved"
        elif i == 2:
            row["Reject"], decided[row["AssignmentId"]] = "The age is not a number we can use.", "Rejected"
        writer.writerow(row)
    reviewed = out.getvalue().encode()
    page = console.post(f"/requester/batches/{batch_id}/reviewed", files={"file": ("r.csv", reviewed, "text/csv")}).text
    assert "3 applied · 0 skipped (already done) · 0 failed" in page
    page = console.post(f"/requester/batches/{batch_id}/reviewed", files={"file": ("r.csv", reviewed, "text/csv")}).text
    assert "0 applied · 3 skipped (already done) · 0 failed" in page
    for hit in hits_of(client):
        for a in client.list_assignments_for_hit(HITId=hit["HITId"])["Assignments"]:
            assert a["AssignmentStatus"] == decided.get(a["AssignmentId"], "Submitted")
    # A bad reviewed file is refused whole.
    page = console.post(
        f"/requester/batches/{batch_id}/reviewed", files={"file": ("r.csv", b"HITId,Approve\n1,X\n", "text/csv")}
    ).text
    assert "Nothing was applied" in page and "AssignmentId" in page

    # Approving the rejected one from the results table overrides the rejection (30-day window).
    rejected = next(a for a, status in decided.items() if status == "Rejected")
    page = console.post(f"/requester/batches/{batch_id}/review", {"action": "approve", "assignment": rejected}).text
    assert "approved (rejection overridden)" in page
    assert client.get_assignment(AssignmentId=rejected)["Assignment"]["AssignmentStatus"] == "Approved"
    # Rejecting without feedback is refused; approving twice is skipped, not redone.
    response = console.post(
        f"/requester/batches/{batch_id}/review", {"action": "reject", "assignment": rejected}, allow_redirects=False
    )
    assert response.status_code == 303 and "needs+feedback" in response.headers["location"]
    page = console.post(f"/requester/batches/{batch_id}/review", {"action": "approve", "assignment": rejected}).text
    assert "already approved" in page

    # One more assignment on every HIT (once per form), then cancel: every HIT expires now.
    before = {h["HITId"]: h["MaxAssignments"] for h in hits_of(client)}
    form = {"extra": "1", "nonce": "add-once-1"}
    console.post(f"/requester/batches/{batch_id}/assignments", form)
    console.post(f"/requester/batches/{batch_id}/assignments", form)  # the same form again adds nothing
    assert {h["HITId"]: h["MaxAssignments"] for h in hits_of(client)} == {k: v + 1 for k, v in before.items()}
    console.cancel(batch_id)
    assert console.wait_cancelled(batch_id)["status"] == "cancelled"
    for hit in hits_of(client):
        assert hit["HITStatus"] in ("Reviewable", "Unassignable"), hit["HITStatus"]


def test_project_layout_works_through_the_api_and_only_for_its_account(
    account: dict[str, Any], client_factory: Any
) -> None:
    console: ConsoleClient = account["console"]
    layout_id = console.create_project("age_guess")
    client = account["client"]
    hit = client.create_hit(
        Title="From the API with a console project",
        Description="d",
        Reward="0.05",
        AssignmentDurationInSeconds=300,
        LifetimeInSeconds=600,
        HITLayoutId=layout_id,
        HITLayoutParameters=[{"Name": "person_id", "Value": "P<9>"}, {"Name": "image_url", "Value": "https://x/9.jpg"}],
    )["HIT"]
    assert hit["HITLayoutId"] == layout_id and "P&lt;9&gt;" in hit["Question"]
    page = console.get("/requester/batches/api").text
    assert hit["HITId"] in page
    other = client_factory()
    with pytest.raises(other.exceptions.ClientError) as refused:
        other.create_hit(
            Title="t",
            Description="d",
            Reward="0.05",
            AssignmentDurationInSeconds=300,
            LifetimeInSeconds=600,
            HITLayoutId=layout_id,
            HITLayoutParameters=[{"Name": "person_id", "Value": "1"}, {"Name": "image_url", "Value": "u"}],
        )
    assert refused.value.response["TurkErrorCode"] == "AWS.MechanicalTurk.HITLayoutDoesNotExist"


def test_another_account_cannot_open_anything_by_url(
    account: dict[str, Any], service: ServiceProcess, db_url: str, new_worker: Any
) -> None:
    mine: ConsoleClient = account["console"]
    layout_id = mine.create_project("age_guess")
    batch_id = mine.upload(layout_id, GOOD)
    mine.publish(batch_id)
    mine.wait_published(batch_id)
    hit_id = hits_of(account["client"])[0]["HITId"]
    worker = new_worker()
    submit_answer_over_http(service.url, worker["name"], worker["password"], hit_id, {"age": "30"})
    type_id = account["client"].create_qualification_type(
        Name="mine " + account["key"], Description="d", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]

    key = new_access_key()
    make_client(service.url, key)
    theirs = ConsoleClient(service.url, add_user(db_url, key, "other-password"), "other-password")
    for path in (
        f"/requester/projects/{layout_id}",
        f"/requester/projects/{layout_id}/preview",
        f"/requester/projects/{layout_id}/frame",
        f"/requester/projects/{layout_id}/publish",
        f"/requester/batches/{batch_id}",
        f"/requester/batches/{batch_id}/confirm",
        f"/requester/batches/{batch_id}/progress.json",
        f"/requester/batches/{batch_id}/results.csv",
        f"/requester/batches/{batch_id}/rows/1/frame",
        f"/requester/workers/{worker['worker_id']}",
        f"/requester/quals/{type_id}",
    ):
        response = theirs.get(path)
        assert response.status_code == 404, path
        # The rows' image URLs (not "P1": a random access key ID on the page may hold those letters).
        assert "img.example.org" not in response.text and worker["worker_id"] not in response.text
    for path, data in (
        (f"/requester/batches/{batch_id}/review", {"action": "approve", "assignment": "x"}),
        (f"/requester/batches/{batch_id}/cancel", {}),
        (f"/requester/projects/{layout_id}", {"name": "stolen"}),
        (f"/requester/workers/{worker['worker_id']}/block", {"reason": "r"}),
    ):
        assert theirs.post(path, data).status_code == 404, path
    assert mine.progress(batch_id)["status"] == "published"
    # And without a session nothing opens at all; a form without its token is refused.
    assert (
        requests.get(f"{service.url}/requester/batches/{batch_id}", allow_redirects=False, timeout=10).status_code
        == 303
    )
    forged = mine.session.post(f"{service.url}/requester/batches/{batch_id}/cancel", data={}, timeout=10)
    assert forged.status_code == 403 and mine.progress(batch_id)["status"] == "published"


def test_project_requirements_reach_the_hits_and_bad_fields_are_explained(account: dict[str, Any]) -> None:
    console: ConsoleClient = account["console"]
    client = account["client"]
    with pytest.raises(ConsoleError):
        console.create_project("age_guess", reward="0.105")
    response = console.post("/requester/projects/new", {"name": "Kept name", "reward": "0.105"})
    assert response.status_code == 400
    assert "Assignments per HIT must be a whole number" in response.text and 'value="Kept name"' in response.text
    full = console.post(
        "/requester/projects/new",
        {
            "name": "n",
            "title": "t",
            "description": "d",
            "reward": "0.105",
            "max_assignments": "1",
            "assignment_duration": "10",
            "assignment_duration_unit": "minutes",
            "lifetime": "1",
            "lifetime_unit": "days",
            "auto_approval_delay": "1",
            "auto_approval_delay_unit": "days",
            "template": "<p>${x}</p>",
        },
    )
    assert full.status_code == 400 and "Reward" in full.text and "0.105" in full.text
    layout_id = console.create_project(
        "age_guess",
        q0_type="00000000000000000071",
        q0_comparator="In",
        q0_values="US, us-ca",
        q0_action="DiscoverPreviewAndAccept",
        q1_type="000000000000000000L0",
        q1_comparator="GreaterThanOrEqualTo",
        q1_values="95",
    )
    edit = console.get(f"/requester/projects/{layout_id}").text
    assert "US, US-CA" in edit and 'value="95"' in edit
    batch_id = console.upload(layout_id, GOOD)
    console.publish(batch_id)
    console.wait_published(batch_id)
    hit = hits_of(client)[0]
    assert hit["QualificationRequirements"] == [
        {
            "QualificationTypeId": "00000000000000000071",
            "Comparator": "In",
            "LocaleValues": [{"Country": "US"}, {"Country": "US", "Subdivision": "CA"}],
            "ActionsGuarded": "DiscoverPreviewAndAccept",
        },
        {
            "QualificationTypeId": "000000000000000000L0",
            "Comparator": "GreaterThanOrEqualTo",
            "IntegerValues": [95],
            "ActionsGuarded": "Accept",
        },
    ]


def test_odd_urls_are_not_found_not_server_errors(account: dict[str, Any]) -> None:
    console: ConsoleClient = account["console"]
    for path in (
        "/requester/batches/99999999999999999999",
        "/requester/batches/0",
        "/requester/batches/-1/confirm",
        "/requester/batches/1/rows/99999999999/frame",
        "/requester/batches/1/progress.json",
        "/requester/projects/%00",
        "/requester/workers/nobody",
        "/requester/quals/nothing",
    ):
        assert console.get(path).status_code == 404, path
    review = console.post("/requester/batches/1/review", {"action": "approve", "assignment": "A\x00B"})
    assert review.status_code == 404  # batch 1 is not this account's (or does not exist)
    layout_id = console.create_project("age_guess")
    batch_id = console.upload(layout_id, GOOD)
    console.publish(batch_id)
    console.wait_published(batch_id)
    reviewed = b"AssignmentId,Approve,Reject\nA\x00B,X,\n,X,\n"
    page = console.post(f"/requester/batches/{batch_id}/reviewed", files={"file": ("r.csv", reviewed)})
    assert page.status_code == 200 and "0 applied" in page.text and "2 failed" in page.text
    assert console.get("/requester/batches/abc").status_code == 422
    assert console.get("/requester/batches?offset=-5").status_code == 200
