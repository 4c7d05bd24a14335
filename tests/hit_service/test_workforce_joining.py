"""Invitations, open sign-up, e-mail off, password reset links and panel identities, over HTTP.

Against the session's service (e-mail off, open sign-up off: the defaults). The browser journey
with e-mail on is ``test_workforce_journey.py``.
"""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hit_service.core import identity
from hit_service.core.database import Store
from hit_service.stores.panels import PanelStore
from hit_service.stores.workforce import Grant, WorkforceStore
from hitflow_support.crowd_client import submit_answer_over_http
from tests.hit_service.helpers import html_question, new_access_key
from tests.hit_service.workforce_support import from_address, join, post_form, wf_store

pytestmark = pytest.mark.integration
__all__ = ["wf_store"]  # fixture

DAY = 86400


def worker_named(db: Any, name: str) -> dict[str, Any] | None:
    row = db.execute("SELECT worker_id, name FROM mturk.workers WHERE name = %s", (name,)).fetchone()
    return None if row is None else {"worker_id": row[0], "name": row[1]}


def unique(prefix: str) -> str:
    return f"{prefix}-{new_access_key()[-8:].lower()}"


def test_an_invitation_is_used_at_most_its_uses_and_grants_its_qualification(
    service: Any, requester: tuple[str, Any], wf_store: Store, service_now: Any, db: Any
) -> None:
    key, client = requester
    qual = client.create_qualification_type(
        Name=unique("team"), Description="The team.", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    _id, token = WorkforceStore(wf_store).create_invitation(key, service_now(), max_uses=2, grants=[Grant(qual, 7)])
    names = [unique("inv") for _ in range(3)]
    assert join(service.url, token, names[0]).status_code == 303
    assert join(service.url, token, names[1]).status_code == 303
    refused = join(service.url, token, names[2])
    assert refused.status_code == 410  # the form is not even shown once the uses are spent
    assert worker_named(db, names[2]) is None
    for name in names[:2]:
        worker = worker_named(db, name)
        assert worker is not None
        score = client.get_qualification_score(QualificationTypeId=qual, WorkerId=worker["worker_id"])
        assert score["Qualification"]["IntegerValue"] == 7
    assert (
        db.execute(
            "SELECT uses FROM mturk.invitations WHERE token_hash = encode(sha256(%s::bytea), 'hex')", (token.encode(),)
        ).fetchone()[0]
        == 2
    )


def test_the_last_use_goes_to_one_of_two_people_joining_at_once(
    service: Any, wf_store: Store, service_now: Any, db: Any
) -> None:
    _id, token = WorkforceStore(wf_store).create_invitation(None, service_now(), max_uses=1)
    names = [unique("race"), unique("race")]
    with (
        httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as one,
        httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as two,
    ):
        pages = [b.get(f"/join/{token}") for b in (one, two)]
        tokens = [re.search(r"name='csrf' value='([^']*)'", p.text).group(1) for p in pages]  # type: ignore[union-attr]
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(
                    lambda args: args[0].post(
                        f"/join/{token}",
                        data={"csrf": args[1], "name": args[2], "password": "long enough", "password2": "long enough"},
                    ),
                    zip((one, two), tokens, names, strict=True),
                )
            )
    assert sorted(a.status_code for a in answers) == [303, 400]
    assert sum(worker_named(db, n) is not None for n in names) == 1


def test_an_invitation_expires_and_can_be_revoked(
    service: Any, wf_store: Store, service_now: Any, advance: Any
) -> None:
    store = WorkforceStore(wf_store)
    now = service_now()
    _id, expiring = store.create_invitation(None, now, expires_at=now + timedelta(days=1))
    revoked_id, revoked = store.create_invitation(None, now)
    assert httpx.get(f"{service.url}/join/{expiring}", timeout=10).status_code == 200
    assert httpx.get(f"{service.url}/join/{revoked}", timeout=10).status_code == 200
    assert store.revoke_invitation(None, revoked_id)
    gone = httpx.get(f"{service.url}/join/{revoked}", timeout=10)
    assert gone.status_code == 410 and "not valid" in gone.text
    advance(2 * DAY)
    expired = httpx.get(f"{service.url}/join/{expiring}", timeout=10)
    assert expired.status_code == 410 and "expired" in expired.text
    assert join(service.url, expiring, unique("late")).status_code == 410


def test_a_requester_grants_only_its_own_qualification_types(
    requester: tuple[str, Any], client_factory: Any, wf_store: Store, service_now: Any
) -> None:
    key, _client = requester
    other = client_factory()
    theirs = other.create_qualification_type(
        Name=unique("theirs"), Description="Not yours.", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    with pytest.raises(identity.IdentityError, match="of yours"):
        WorkforceStore(wf_store).create_invitation(key, service_now(), grants=[Grant(theirs, 1)])
    # The operator's invitations may grant any type.
    WorkforceStore(wf_store).create_invitation(None, service_now(), grants=[Grant(theirs, 1)])


def test_joining_needs_the_forms_token_and_bad_names_or_passwords_make_nothing(
    service: Any, wf_store: Store, service_now: Any, db: Any
) -> None:
    _id, token = WorkforceStore(wf_store).create_invitation(None, service_now())
    name = unique("csrf")
    forged = httpx.post(
        f"{service.url}/join/{token}",
        data={"csrf": "x", "name": name, "password": "long enough", "password2": "long enough"},
        headers=from_address(),
        timeout=10,
    )
    assert forged.status_code == 403 and worker_named(db, name) is None
    assert join(service.url, token, name, "short").status_code == 400
    assert join(service.url, token, "x", "long enough").status_code == 400
    assert join(service.url, token, "=cmd|calc", "long enough").status_code == 400
    assert worker_named(db, name) is None
    assert join(service.url, token, name, "long enough").status_code == 303


def test_failed_joins_are_throttled_per_address(service: Any, wf_store: Store, service_now: Any) -> None:
    _id, token = WorkforceStore(wf_store).create_invitation(None, service_now())
    address = from_address()
    statuses = [join(service.url, token, "x", "long enough", **address).status_code for _ in range(12)]
    assert statuses == [400] * 11 + [429]  # ten failures free, the eleventh starts the wait
    assert join(service.url, token, unique("ok"), "long enough", **address).status_code == 429
    assert join(service.url, token, unique("ok"), "long enough", **from_address()).status_code == 303  # others go on


def test_open_sign_up_is_off_by_default(service: Any) -> None:
    assert httpx.get(f"{service.url}/worker/signup", timeout=10).status_code == 404
    refused = httpx.post(f"{service.url}/worker/signup", data={"name": "x"}, timeout=10)
    assert refused.status_code == 404 and "invitation only" in refused.text


def test_with_email_off_notify_stays_on_the_dashboard_and_the_operator_sees_it(
    service: Any, requester: tuple[str, Any], new_worker: Any, wf_store: Store, service_now: Any, operator: Any, db: Any
) -> None:
    _key, client = requester
    worker = new_worker()
    store = WorkforceStore(wf_store)
    assert store.verify_email(
        store.set_email(worker["worker_id"], f"{worker['name']}@example.org", service_now()), service_now()
    )
    hit = client.create_hit(
        Title="t",
        Description="d",
        Reward="0.05",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=600,
        MaxAssignments=1,
        Question=html_question("<form><input name='a'></form>"),
    )["HIT"]["HITId"]
    assignment = submit_answer_over_http(service.url, worker["name"], worker["password"], hit, {"a": "1"})
    client.approve_assignment(AssignmentId=assignment)
    client.notify_workers(Subject="Kept on the dashboard", MessageText="Hello.", WorkerIds=[worker["worker_id"]])
    deadline = time.monotonic() + 20
    while True:
        rows = db.execute(
            "SELECT kind, status FROM mturk.email_log WHERE worker_id = %s", (worker["worker_id"],)
        ).fetchall()
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert rows == [("notify", "off")]
    page = operator.get("/operator/workforce")
    assert "E-mail is off" in page.text
    with httpx.Client(base_url=service.url, timeout=10) as browser:
        post_login = browser.get("/worker/login")
        token = re.search(r"name='csrf' value='([^']*)'", post_login.text).group(1)  # type: ignore[union-attr]
        browser.post("/worker/login", data={"csrf": token, "name": worker["name"], "password": worker["password"]})
        assert "Kept on the dashboard" in browser.get("/worker/dashboard").text
        assert "sends no e-mail" in browser.get("/worker/account").text


def test_a_reset_link_works_once_and_for_an_hour(
    service: Any, new_worker: Any, wf_store: Store, service_now: Any, advance: Any
) -> None:
    worker = new_worker()
    store = WorkforceStore(wf_store)
    assert store.reset_token(worker["name"], service_now()) is None  # no confirmed address: no link
    store.verify_email(
        store.set_email(worker["worker_id"], f"{worker['name']}@example.org", service_now()), service_now()
    )
    found = store.reset_token(worker["name"], service_now())
    assert found is not None
    token = found[0]
    with httpx.Client(base_url=service.url, timeout=10, headers=from_address()) as browser:
        done = post_form(browser, f"/worker/reset/{token}", {"password": "brand new one", "password2": "brand new one"})
        assert done.status_code == 303
        assert browser.get(f"/worker/reset/{token}").status_code == 410  # used
    assert identity.authenticate_worker(wf_store, worker["name"], "brand new one") is not None
    assert identity.authenticate_worker(wf_store, worker["name"], worker["password"]) is None
    stale = store.reset_token(worker["name"], service_now())
    assert stale is not None
    advance(3601)
    assert httpx.get(f"{service.url}/worker/reset/{stale[0]}", timeout=10).status_code == 410


def test_a_confirmation_link_confirms_only_the_address_it_was_sent_to(
    new_worker: Any, wf_store: Store, service_now: Any
) -> None:
    one, two = new_worker(), new_worker()
    store = WorkforceStore(wf_store)
    old = store.set_email(one["worker_id"], "old-" + one["name"] + "@example.org", service_now())
    store.set_email(one["worker_id"], "new-" + one["name"] + "@example.org", service_now())
    assert store.verify_email(old, service_now()) is None  # replaced: the old link is void
    shared = "shared-" + one["name"] + "@example.org"
    first = store.set_email(one["worker_id"], shared, service_now())
    second = store.set_email(two["worker_id"], shared, service_now())
    assert store.verify_email(first, service_now()) == one["worker_id"]
    assert store.verify_email(second, service_now()) is None  # someone else's confirmed address
    assert not store.profile(two["worker_id"])["email_verified"]


def test_a_panel_id_is_one_worker_who_cannot_sign_in_with_a_password(
    service: Any, requester: tuple[str, Any], wf_store: Store, service_now: Any
) -> None:
    key, client = requester
    hit_type = client.create_hit_type(Title="Panel", Description="d", Reward="0.05", AssignmentDurationInSeconds=600)[
        "HITTypeId"
    ]
    group = client.create_hit_with_hit_type(
        HITTypeId=hit_type, MaxAssignments=1, LifetimeInSeconds=600, Question=html_question()
    )["HIT"]["HITGroupId"]
    panels = PanelStore(wf_store)
    links = [panels.create_link(key, group, "https://panel.example.org/done", "ABC", service_now()) for _ in range(2)]
    pid = new_access_key()[-24:]
    workers = [panels.arrive(link, pid, "s", "x", service_now())[0]["worker_id"] for link in links]
    assert workers[0] == workers[1]
    name = panels.arrive(links[0], pid, "s", "y", service_now())[0]["name"]
    assert identity.authenticate_worker(wf_store, name, "panel$no-password") is None
    assert identity.authenticate_worker(wf_store, name, "") is None
    for bad in ("", "a b", "x" * 65):
        refused = httpx.get(f"{service.url}/panel/{links[0]}", params={"PROLIFIC_PID": bad}, timeout=10)
        assert refused.status_code == 400
    assert httpx.get(f"{service.url}/panel/LNOSUCHLINK", params={"PROLIFIC_PID": pid}, timeout=10).status_code == 400
    with pytest.raises(identity.IdentityError):
        panels.create_link(key, "NOT-A-GROUP", "https://panel.example.org/done", "ABC", service_now())
    with pytest.raises(identity.IdentityError):
        panels.create_link(key, group, "javascript:alert(1)", "ABC", service_now())


def test_the_console_workforce_page_is_for_signed_in_users_with_the_forms_token(
    service: Any, account: dict[str, Any]
) -> None:
    assert httpx.get(f"{service.url}/requester/workforce", timeout=10).status_code == 303
    console = account["console"]
    page = console.get("/requester/workforce")
    assert page.status_code == 200 and "Invite workers" in page.text
    forged = console.session.post(
        f"{service.url}/requester/workforce/invitations", data={"csrf": "nope", "label": "x"}, timeout=10
    )
    assert forged.status_code == 403


def test_operator_forms_need_the_password_and_the_pages_token(service: Any, operator: Any) -> None:
    assert httpx.get(f"{service.url}/operator/workforce", timeout=10).status_code == 401
    assert operator.post("/operator/workforce/invitations", data={"csrf": "nope"}).status_code == 403
    page = operator.get("/operator/workforce")
    token = re.search(r"name='csrf' value='([^']*)'", page.text).group(1)  # type: ignore[union-attr]
    made = operator.post("/operator/workforce/invitations", data={"csrf": token, "max_uses": "3"})
    assert made.status_code == 200 and "/join/" in made.text
    bad = operator.post("/operator/workforce/invitations", data={"csrf": token, "max_uses": "-1"})
    assert bad.status_code == 400 and "whole number" in bad.text
