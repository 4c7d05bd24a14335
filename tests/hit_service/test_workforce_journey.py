"""Issue 25's "done when", in Chromium: bring your own workforce, end to end.

A requester invites a worker from the console; the worker joins, confirms an e-mail address,
resets a forgotten password by e-mail, takes a qualification test, is told of a HIT by e-mail
(NotifyWorkers), works it and appears in the operator's payout export. A panel participant
arrives by a study link, works a HIT and is sent to the completion URL with the code.

The service runs as its own process with SMTP settings pointing at a real SMTP server on
loopback (aiosmtpd, started here); the messages are read as delivered. Requester actions are
boto3 against the service, as a requester's own code would do them.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hitflow_support.crowd_client import submit_answer_over_http
from hitflow_support.service_process import ServiceProcess, start_service
from tests.hit_service.browser import Offline, chromium, new_page, shots
from tests.hit_service.helpers import HTML_QUESTION_NS, OPERATOR_PASSWORD, add_user, make_client, new_access_key
from tests.hit_service.mailbox import body, link_in, mailbox
from tests.hit_service.workforce_support import ANSWER_KEY, TEST_FORM, from_address, post_form, wf_store

pytestmark = pytest.mark.integration
__all__ = ["chromium", "mailbox", "shots", "wf_store"]  # fixtures


TASK = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'>"
    "<script src='https://s3.amazonaws.com/mturk-public/externalHIT_v1.js'></script></head><body>"
    "<form id='mturk_form' method='post' action='https://www.mturk.com/mturk/externalSubmit'>"
    "<input type='hidden' name='assignmentId' id='assignmentId'>"
    "<label>Age <input name='age' id='age'></label><input type='submit' id='submitButton' value='Submit'>"
    "</form><script>turkSetAssignmentID();</script></body></html>"
)
QUESTION = (
    f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{TASK}]]></HTMLContent>'
    "<FrameHeight>300</FrameHeight></HTMLQuestion>"
)


@pytest.fixture(scope="module")
def mail_service(
    db_url: str, layouts_dir: Path, mailbox: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    """A service process of its own with e-mail on (the loopback SMTP server) and open sign-up."""
    log = tmp_path_factory.mktemp("logs") / "hit_service_mail.log"
    env = {
        "HITFLOW_LAYOUTS_DIR": str(layouts_dir),
        "HITFLOW_HIT_SERVICE_OPERATOR_PASSWORD": OPERATOR_PASSWORD,
        "HITFLOW_SMTP_HOST": mailbox.host,
        "HITFLOW_SMTP_PORT": str(mailbox.port),
        "HITFLOW_SMTP_FROM": "hits@hitflow.test",
        "HITFLOW_HIT_SERVICE_OPEN_SIGNUP": "1",
    }
    with start_service(db_url, test_mode=True, extra_env=env, log_path=log) as svc:
        yield svc


@pytest.fixture
def lab(mail_service: ServiceProcess, db_url: str) -> dict[str, Any]:
    """A fresh requester account: its boto3 client and a console user."""
    key = new_access_key()
    password = "pw-" + key.lower()
    return {
        "key": key,
        "client": make_client(mail_service.url, key),
        "user": add_user(db_url, key, password),
        "password": password,
    }


def console_sign_in(page: Any, base: str, lab: dict[str, Any]) -> None:
    page.goto(f"{base}/requester/login")
    page.fill("#name", lab["user"])
    page.fill("#password", lab["password"])
    page.click("#signin")
    page.wait_for_url(f"{base}/requester")


def worker_sign_in(page: Any, base: str, name: str, password: str) -> None:
    page.goto(f"{base}/worker/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin")
    page.wait_for_url(f"{base}/worker")


def work_in_frame(page: Any, base: str, age: str) -> str:
    """Fill the HIT's frame on the work page and submit; the assignment ID."""
    page.wait_for_url(f"{base}/work/*")
    assignment_id = str(page.url.rsplit("/", 1)[1])
    frame = page.frame_locator("#hit-frame")
    frame.locator("#age").fill(age)
    frame.locator("#submitButton").click()
    return assignment_id


def test_invited_worker_joins_resets_by_email_qualifies_is_notified_works_and_is_paid(
    chromium: Any, mail_service: ServiceProcess, lab: dict[str, Any], mailbox: Any, shots: Path
) -> None:
    base = mail_service.url
    client = lab["client"]
    team = client.create_qualification_type(
        Name="Vision team " + lab["key"][-6:], Description="Members of the team.", QualificationTypeStatus="Active"
    )["QualificationType"]["QualificationTypeId"]
    careful = client.create_qualification_type(
        Name="Careful reader " + lab["key"][-6:],
        Description="Reads photos carefully.",
        QualificationTypeStatus="Active",
        Test=TEST_FORM,
        AnswerKey=ANSWER_KEY,
        TestDurationInSeconds=600,
        RetryDelayInSeconds=3600,
    )["QualificationType"]["QualificationTypeId"]
    offline = Offline(base)

    # 1. The requester makes a one-use invitation granting the team qualification (value 5).
    console = new_page(chromium, offline)
    console_sign_in(console, base, lab)
    console.get_by_role("link", name="Workforce", exact=True).click()
    console.fill("#invite-label", "Autumn intake")
    console.fill("#invite-uses", "1")
    console.fill("#invite-days", "7")
    console.select_option("#invite-grant", team)
    console.fill("#invite-grant-value", "5")
    console.click("#create-invitation")
    link = console.locator("#invitation-link").input_value()
    assert link.startswith(f"{base}/join/")
    console.screenshot(path=str(shots / "workforce-console-1280.png"), full_page=True)

    # 2. The worker joins through the link and lands on the HIT list, signed in.
    name = "ana-" + lab["key"][-6:].lower()
    worker = new_page(chromium, offline)
    worker.goto(link)
    worker.fill("#name", name)
    worker.fill("#password", "first-password")
    worker.fill("#password2", "first-password")
    worker.click("#join")
    worker.wait_for_url(f"{base}/worker")
    worker_id = worker.locator(".who code").inner_text()
    score = client.get_qualification_score(QualificationTypeId=team, WorkerId=worker_id)["Qualification"]
    assert score["IntegerValue"] == 5
    assert httpx.get(link, timeout=10).status_code == 410  # its one use is spent

    # 3. An e-mail address, confirmed by the link the service mails.
    address = f"{name}@example.org"
    worker.get_by_role("link", name="Account", exact=True).click()
    worker.fill("#email", address)
    worker.click("#save-email")
    worker.locator("#note").wait_for()
    verify = mailbox.wait_for(address, "Confirm your e-mail")
    worker.goto(link_in(verify, "/worker/verify/"))
    assert "confirmed" in worker.locator("#notice").inner_text()
    worker.goto(f"{base}/worker/account")
    assert "confirmed" in worker.locator("#email-state").inner_text()

    # 4. Forgotten password: reset by e-mail, the old one stops working.
    worker.click("#signout")
    worker.wait_for_url(f"{base}/worker/login")
    worker.click("#forgot")
    worker.fill("#name", name)
    worker.click("#send-reset")
    worker.locator("#notice").wait_for()
    reset = mailbox.wait_for(address, "Reset your hitflow password")
    worker.goto(link_in(reset, "/worker/reset/"))
    worker.fill("#password", "second-password")
    worker.fill("#password2", "second-password")
    worker.click("#set-password")
    worker.wait_for_url(lambda url: url.startswith(f"{base}/worker/login"))
    worker.fill("#name", name)
    worker.fill("#password", "first-password")
    worker.click("#signin")
    assert "Wrong worker name or password" in worker.locator("[role=alert]").inner_text()
    worker_sign_in(worker, base, name, "second-password")

    # 5. The qualification test: taken on the site, scored from the AnswerKey, granted at once.
    worker.get_by_role("link", name="Qualifications", exact=True).click()
    worker.click(f"#take-{careful}")
    worker.check("input[name=blur][value=skip]")
    worker.check("input[name=child][value='12']")
    worker.click("#hand-in")
    assert "value 100" in worker.locator("#notice").inner_text()
    score = client.get_qualification_score(QualificationTypeId=careful, WorkerId=worker_id)["Qualification"]
    assert score["IntegerValue"] == 100
    worker.goto(f"{base}/worker/quals")
    assert "retake" in worker.locator(f"#qual-{careful}").inner_text().lower()  # RetryDelayInSeconds

    # 6. A first HIT worked and approved: MTurk lets a requester message only workers it reviewed.
    requirement = [{"QualificationTypeId": careful, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [80]}]
    hit_args = {
        "Title": "Guess the age " + lab["key"][-6:],
        "Description": "Guess the age of the person in the photo.",
        "Reward": "0.10",
        "AssignmentDurationInSeconds": 600,
        "LifetimeInSeconds": 3600,
        "MaxAssignments": 1,
        "Question": QUESTION,
        "QualificationRequirements": requirement,
    }
    first = client.create_hit(**hit_args)["HIT"]["HITId"]
    first_assignment = submit_answer_over_http(base, name, "second-password", first, {"age": "30"})
    client.approve_assignment(AssignmentId=first_assignment)

    # 7. NotifyWorkers: the e-mail carries the requester's text; the dashboard keeps the message.
    second = client.create_hit(**hit_args)["HIT"]["HITId"]
    notice = client.notify_workers(
        Subject="New photos to guess",
        MessageText=f"A new batch is up: {base}/worker/hits/{second}",
        WorkerIds=[worker_id],
    )
    assert notice["NotifyWorkersFailureStatuses"] == []
    mail = mailbox.wait_for(address, "New photos to guess")
    assert "To stop these e-mails" in body(mail)
    worker.goto(link_in(mail, "/worker/hits/"))
    worker.click("#accept")
    second_assignment = work_in_frame(worker, base, "41")
    worker.locator("#work-submitted").wait_for()
    worker.goto(f"{base}/worker/dashboard")
    assert "New photos to guess" in worker.locator("#messages").inner_text()
    client.approve_assignment(AssignmentId=second_assignment)
    client.send_bonus(
        WorkerId=worker_id,
        BonusAmount="0.25",
        AssignmentId=second_assignment,
        Reason="Careful work.",
        UniqueRequestToken="bonus-" + second_assignment,
    )
    worker.goto(f"{base}/worker/earnings")
    assert worker.locator("#owed").inner_text() == "$0.45"
    assert worker.locator("#paid").inner_text() == "$0.00"

    # 8. The operator's payout run: a CSV of what is owed, and it is marked paid.
    context = chromium.new_context(http_credentials={"username": "operator", "password": OPERATOR_PASSWORD})
    context.route("**/*", offline.route)
    operator = context.new_page()
    operator.set_default_timeout(15_000)
    operator.goto(f"{base}/operator/workforce")
    assert "E-mail is on" in operator.locator("#email-status").inner_text()
    operator.click("#run-payout")
    operator.wait_for_url(lambda url: url.startswith(f"{base}/operator/workforce?run="))
    run = operator.url.rsplit("=", 1)[1]
    with operator.expect_download() as download:
        operator.click(f"#payout-csv-{run}")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    mine = [row for row in rows if row["worker_id"] == worker_id]
    assert [(row["requester_id"], row["amount"], row["email"]) for row in mine] == [(lab["key"], "0.45", address)]
    ledger = operator.locator("#reconciliation tr", has_text=lab["key"])
    assert "balanced" in ledger.inner_text()
    operator.screenshot(path=str(shots / "workforce-operator-1280.png"), full_page=True)
    worker.goto(f"{base}/worker/earnings")
    assert worker.locator("#paid").inner_text() == "$0.45"
    assert worker.locator("#owed").inner_text() == "$0.00"
    worker.screenshot(path=str(shots / "workforce-earnings-1280.png"), full_page=True)
    assert offline.blocked == []


class _Completion(BaseHTTPRequestHandler):
    """The panel's completion page."""

    def do_GET(self) -> None:
        page = b"<!DOCTYPE html><title>Study complete</title><h1 id='done'>Submission complete</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def panel_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Completion)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def start_study(page: Any, title: str) -> None:
    """The study link's page names the study; its Start button begins it."""
    assert page.locator("#study-title").inner_text() == title
    page.click("#start-study")


def test_panel_participant_arrives_by_link_works_and_is_sent_to_the_completion_url(
    chromium: Any, mail_service: ServiceProcess, lab: dict[str, Any], panel_site: str, shots: Path
) -> None:
    base = mail_service.url
    client = lab["client"]
    hit_type = client.create_hit_type(
        Title="Panel study " + lab["key"][-6:],
        Description="A short study for panel participants.",
        Reward="0.50",
        AssignmentDurationInSeconds=600,
    )["HITTypeId"]
    hits = [
        client.create_hit_with_hit_type(
            HITTypeId=hit_type, MaxAssignments=1, LifetimeInSeconds=3600, Question=QUESTION
        )["HIT"]["HITId"]
        for _ in range(2)
    ]
    offline = Offline(base, panel_site)
    console = new_page(chromium, offline)
    console_sign_in(console, base, lab)
    console.get_by_role("link", name="Workforce", exact=True).click()
    console.fill("#panel-completion-url", f"{panel_site}/complete?src=hitflow")
    console.fill("#panel-code", "C0DE42")
    console.click("#create-panel-link")
    template = console.locator(".study-url").first.input_value()
    assert "PROLIFIC_PID={{%PROLIFIC_PID%}}" in template

    def study_url(pid: str, session: str) -> str:
        return (
            template.replace("{{%PROLIFIC_PID%}}", pid)
            .replace("{{%STUDY_ID%}}", "study-1")
            .replace("{{%SESSION_ID%}}", session)
        )

    participant = new_page(chromium, offline)
    participant.goto(study_url("5f1a2b3c4d5e6f7a8b9c0d1e", "session-a"))
    participant.screenshot(path=str(shots / "workforce-panel-start-1280.png"), full_page=True)
    start_study(participant, "Panel study " + lab["key"][-6:])
    work_in_frame(participant, base, "27")
    participant.wait_for_url(lambda url: url.startswith(f"{panel_site}/complete?"))
    assert parse_qs(urlsplit(participant.url).query) == {"src": ["hitflow"], "cc": ["C0DE42"]}
    assert participant.locator("#done").inner_text() == "Submission complete"
    participant.screenshot(path=str(shots / "workforce-panel-complete-1280.png"), full_page=True)

    # The same panel ID again (another session, a fresh browser): straight to completion, no second HIT.
    again = new_page(chromium, offline)
    again.goto(study_url("5f1a2b3c4d5e6f7a8b9c0d1e", "session-b"))
    start_study(again, "Panel study " + lab["key"][-6:])
    again.wait_for_url(lambda url: url.startswith(f"{panel_site}/complete?"))
    taken = [a for h in hits for a in client.list_assignments_for_hit(HITId=h)["Assignments"]]
    assert len(taken) == 1

    # Another participant gets their own identity and the group's other HIT.
    other = new_page(chromium, offline)
    other.goto(study_url("60aa11bb22cc33dd44ee55ff", "session-c"))
    start_study(other, "Panel study " + lab["key"][-6:])
    work_in_frame(other, base, "33")
    other.wait_for_url(lambda url: url.startswith(f"{panel_site}/complete?"))
    taken = [a for h in hits for a in client.list_assignments_for_hit(HITId=h)["Assignments"]]
    assert len(taken) == 2 and len({a["WorkerId"] for a in taken}) == 2
    assert offline.blocked == []


def test_open_sign_up_waits_for_the_operators_approval(
    chromium: Any, mail_service: ServiceProcess, shots: Path
) -> None:
    base = mail_service.url
    offline = Offline(base)
    names = ["eve-" + new_access_key()[-6:].lower(), "mal-" + new_access_key()[-6:].lower()]
    person = new_page(chromium, offline)
    for name in names:
        person.goto(f"{base}/worker/signup")
        person.fill("#name", name)
        person.fill("#password", "a fine password")
        person.fill("#password2", "a fine password")
        person.click("#signup")
        assert "operator reviews" in person.locator("#notice").inner_text()
    person.goto(f"{base}/worker/login")
    person.fill("#name", names[0])
    person.fill("#password", "a fine password")
    person.click("#signin")
    assert "Wrong worker name or password" in person.locator("[role=alert]").inner_text()  # not approved yet

    context = chromium.new_context(http_credentials={"username": "operator", "password": OPERATOR_PASSWORD})
    context.route("**/*", offline.route)
    operator = context.new_page()
    operator.set_default_timeout(15_000)
    operator.goto(f"{base}/operator/workforce")
    assert operator.locator("#signup-state").inner_text() == "on"
    operator.click(f"#approve-{names[0]}")
    operator.wait_for_url(f"{base}/operator/workforce")
    operator.locator("#signups tr", has_text=names[1]).get_by_role("button", name="Reject").click()
    operator.wait_for_url(f"{base}/operator/workforce")
    assert names[0] not in operator.locator("main").inner_text().split("Sign-up requests")[1].split("Payouts")[0]

    worker_sign_in(person, base, names[0], "a fine password")
    person.goto(f"{base}/worker/login")
    person.fill("#name", names[1])
    person.fill("#password", "a fine password")
    person.click("#signin")
    assert "Wrong worker name or password" in person.locator("[role=alert]").inner_text()  # rejected
    assert offline.blocked == []


def test_sign_up_requests_are_throttled_per_address(mail_service: ServiceProcess) -> None:
    address = from_address()
    statuses = []
    for _ in range(12):
        with httpx.Client(base_url=mail_service.url, timeout=10, headers=address) as browser:
            name = "flood-" + new_access_key()[-8:].lower()
            fields = {"name": name, "password": "a fine password", "password2": "a fine password"}
            statuses.append(post_form(browser, "/worker/signup", fields).status_code)
    assert statuses == [200] * 11 + [429]
    with httpx.Client(base_url=mail_service.url, timeout=10, headers=from_address()) as browser:
        fields = {
            "name": "calm-" + new_access_key()[-8:].lower(),
            "password": "a fine password",
            "password2": "a fine password",
        }
        assert post_form(browser, "/worker/signup", fields).status_code == 200


def test_notify_emails_only_confirmed_addresses_of_workers_who_did_not_opt_out(
    chromium: Any, mail_service: ServiceProcess, lab: dict[str, Any], mailbox: Any, wf_store: Any, db: Any
) -> None:
    from hit_service.stores.workforce import WorkforceStore

    base = mail_service.url
    client = lab["client"]
    store = WorkforceStore(wf_store)
    now = datetime.now(UTC)
    people = []
    for role in ("confirmed", "optedout", "unconfirmed"):
        name = f"{role}-{new_access_key()[-6:].lower()}"
        created = httpx.post(f"{base}/_test/workers", json={"name": name, "password": "pw-" + name}, timeout=10).json()
        address = f"{name}@example.org"
        token = store.set_email(created["worker_id"], address, now)
        if role != "unconfirmed":
            assert store.verify_email(token, now)
        people.append({**created, "password": "pw-" + name, "address": address})
    offline = Offline(base)
    page = new_page(chromium, offline)
    worker_sign_in(page, base, people[1]["name"], people[1]["password"])
    page.goto(f"{base}/worker/account")
    page.check("#optout")
    page.click("#save-optout")
    page.locator("#note").wait_for()
    assert page.locator("#optout").is_checked()
    hit = client.create_hit(
        Title="Notify",
        Description="d",
        Reward="0.05",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=3,
        Question=QUESTION,
    )["HIT"]["HITId"]
    for person in people:
        done = submit_answer_over_http(base, person["name"], person["password"], hit, {"age": "1"})
        client.approve_assignment(AssignmentId=done)
    ids = [p["worker_id"] for p in people]
    assert (
        client.notify_workers(Subject="Only some of you", MessageText="Hi.", WorkerIds=ids)[
            "NotifyWorkersFailureStatuses"
        ]
        == []
    )
    mailbox.wait_for(people[0]["address"], "Only some of you")
    deadline = time.monotonic() + 20
    while not db.execute("SELECT 1 FROM mturk.email_log WHERE worker_id = %s", (ids[0],)).fetchone():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert mailbox.to(people[1]["address"]) == [] and mailbox.to(people[2]["address"]) == []
    logged = db.execute(
        "SELECT worker_id, status FROM mturk.email_log WHERE kind = 'notify' AND worker_id = ANY(%s)", (ids,)
    ).fetchall()
    assert logged == [(ids[0], "sent")]
    for person in people:  # the dashboard message stays for everyone
        page = new_page(chromium, offline)
        worker_sign_in(page, base, person["name"], person["password"])
        page.goto(f"{base}/worker/dashboard")
        assert "Only some of you" in page.locator("#messages").inner_text()
