"""The worker site refuses what a browser should never get away with, over plain HTTP.

Forged or missing form tokens, wrong passwords, and one worker reaching for another worker's
assignment. These check status codes and state through the API, not the pages' markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hitflow_support.crowd_client import accept_hit, sign_in
from tests.hit_service.helpers import csrf_token, hit_args

pytestmark = pytest.mark.integration
COOKIE = "hitflow_worker"


@pytest.fixture
def browser(service: Any) -> Iterator[Any]:
    """``browser(worker)`` → (an httpx client signed in as that worker, its form token)."""
    opened: list[httpx.Client] = []

    def open_as(worker: dict[str, str]) -> tuple[httpx.Client, str]:
        session = httpx.Client(base_url=service.url, timeout=10)
        opened.append(session)
        response = log_in(session, {"name": worker["name"], "password": worker["password"]})
        assert response.status_code == 303 and COOKIE in session.cookies
        return session, csrf_token(session.get("/worker").text)

    yield open_as
    for session in opened:
        session.close()


def log_in(session: httpx.Client, form: dict[str, str]) -> httpx.Response:
    """Post the sign-in form as a browser does: with the token the form page carries."""
    token = csrf_token(session.get("/worker/login").text)
    return session.post("/worker/login", data={**form, "csrf": token})


def status_of(client: Any, assignment_id: str) -> str:
    return client.get_assignment(AssignmentId=assignment_id)["Assignment"]["AssignmentStatus"]


def slots(client: Any, hit_id: str) -> tuple[int, int]:
    hit = client.get_hit(HITId=hit_id)["HIT"]
    return hit["NumberOfAssignmentsAvailable"], hit["NumberOfAssignmentsPending"]


@pytest.mark.parametrize("kind", ["wrong", "empty", "other case"])
def test_a_wrong_password_signs_nobody_in(service: Any, new_worker: Any, kind: str) -> None:
    worker = new_worker()
    password = {"wrong": "not-the-password", "empty": "", "other case": worker["password"].upper()}[kind]
    with httpx.Client(base_url=service.url, timeout=10) as session:
        response = log_in(session, {"name": worker["name"], "password": password})
        assert response.status_code == 401 and COOKIE not in session.cookies
        assert session.get("/worker", follow_redirects=False).status_code == 303  # still sent to sign in
        unknown = log_in(session, {"name": worker["name"] + "-nobody", "password": "x"})
        assert unknown.status_code == 401 and COOKIE not in session.cookies
        right = log_in(session, {"name": worker["name"], "password": worker["password"]})
        assert right.status_code == 303 and COOKIE in session.cookies


def test_a_forged_cookie_is_not_a_session(service: Any, new_worker: Any) -> None:
    worker = new_worker()
    forged = f"{worker['worker_id']}.9999999999.{'0' * 64}"
    with httpx.Client(base_url=service.url, timeout=10, cookies={COOKIE: forged}) as session:
        assert session.get("/worker/dashboard", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("sent", ["missing", "wrong", "another session's"])
def test_forms_refuse_a_missing_or_wrong_csrf_token(
    service: Any, client: Any, new_worker: Any, browser: Any, sent: str
) -> None:
    """Accept and Return are refused without the session's own token, and change nothing."""
    worker, other = new_worker(), new_worker()
    (session, mine), (_, others) = browser(worker), browser(other)
    data = {
        "missing": {},
        "wrong": {"csrf": mine[:-1] + ("1" if mine.endswith("0") else "0")},
        "another session's": {"csrf": others},
    }[sent]
    hit_id = client.create_hit(**hit_args(MaxAssignments=2))["HIT"]["HITId"]

    refused = session.post(f"/worker/hits/{hit_id}/accept", data=data, follow_redirects=False)
    assert refused.status_code == 403
    assert slots(client, hit_id) == (2, 0)  # nothing accepted

    accepted = session.post(f"/worker/hits/{hit_id}/accept", data={"csrf": mine}, follow_redirects=False)
    assert accepted.status_code == 303
    assignment_id = accepted.headers["location"].rsplit("/", 1)[1]
    assert slots(client, hit_id) == (1, 1)
    refused = session.post(f"/work/{assignment_id}/return", data=data, follow_redirects=False)
    assert refused.status_code == 403
    assert slots(client, hit_id) == (1, 1)  # still being worked on
    signed_out = session.post("/worker/logout", data=data, follow_redirects=False)
    assert signed_out.status_code == 403 and session.get("/worker/dashboard").status_code == 200


def test_a_worker_cannot_open_return_or_submit_another_workers_assignment(
    service: Any, client: Any, new_worker: Any, browser: Any
) -> None:
    owner, intruder = new_worker(), new_worker()
    hit_id = client.create_hit(**hit_args(MaxAssignments=2))["HIT"]["HITId"]
    with sign_in(service.url, owner["name"], owner["password"]) as owner_session:
        assignment_id = accept_hit(owner_session, service.url, hit_id)
    session, intruder_token = browser(intruder)

    assert session.get(f"/work/{assignment_id}").status_code == 404
    returned = session.post(f"/work/{assignment_id}/return", data={"csrf": intruder_token}, follow_redirects=False)
    assert returned.status_code == 404
    submitted = session.post("/mturk/externalSubmit", data={"assignmentId": assignment_id, "age": "99"})
    assert submitted.status_code == 404
    assert slots(client, hit_id) == (1, 1)  # the owner's assignment is still theirs, being worked on
    assert client.list_assignments_for_hit(HITId=hit_id)["NumResults"] == 0  # nothing submitted

    # The owner's own submission still goes through, from their page or by the ID alone (a task
    # page on another origin posts without the site's cookie: the assignment ID is the capability).
    with httpx.Client(base_url=service.url, timeout=10) as anonymous:
        done = anonymous.post("/mturk/externalSubmit", data={"assignmentId": assignment_id, "age": "31"})
    assert done.status_code == 200
    assert status_of(client, assignment_id) == "Submitted"
    answer = client.get_assignment(AssignmentId=assignment_id)["Assignment"]["Answer"]
    assert "<FreeText>31</FreeText>" in answer and "99" not in answer
