"""Other clients than boto3: the AWS CLI (``aws mturk …``) and a real browser (Chromium via Playwright)."""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hit_service.settings import REPO_ROOT
from hitflow_support.crowd_client import submit_answer_over_http
from tests.hit_service.helpers import ACCESS_KEY, SECRET_KEY, make_client

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HTML_QUESTION_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
PIXEL = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='40' height='40'/%3E"


def age_guess_question(person_id: str = "42", image_url: str = PIXEL) -> str:
    """The real age-guess template with its placeholders filled, as an HTMLQuestion."""
    template = (REPO_ROOT / "include" / "templates" / "age_guess.html").read_text(encoding="utf-8")
    page = template.replace("${person_id}", html.escape(person_id)).replace("${image_url}", html.escape(image_url))
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{page}]]></HTMLContent>'
        "<FrameHeight>700</FrameHeight></HTMLQuestion>"
    )


def aws(service: Any, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env.pop("AWS_PROFILE", None)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "aws"), "mturk", *args, "--endpoint-url", service.url, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_aws_cli(service: Any, new_worker: Any, tmp_path: Path) -> None:
    make_client(service.url)  # the shared test key is registered
    question = tmp_path / "question.xml"
    question.write_text(age_guess_question(), encoding="utf-8")
    balance = aws(service, "get-account-balance")
    assert set(balance) >= {"AvailableBalance"}
    created = aws(
        service,
        "create-hit",
        "--title",
        "How old is this person? (CLI)",
        "--description",
        "Guess the age",
        "--reward",
        "0.05",
        "--assignment-duration-in-seconds",
        "600",
        "--lifetime-in-seconds",
        "3600",
        "--max-assignments",
        "1",
        "--question",
        f"file://{question}",
    )
    hit_id = created["HIT"]["HITId"]
    listed = aws(service, "list-hits", "--max-results", "100")
    assert hit_id in [hit["HITId"] for hit in listed["HITs"]]
    worker = new_worker()
    assignment_id = submit_answer_over_http(service.url, worker["name"], worker["password"], hit_id, {"age": "41"})
    assignments = aws(service, "list-assignments-for-hit", "--hit-id", hit_id)
    assert [a["AssignmentId"] for a in assignments["Assignments"]] == [assignment_id]
    assert "<FreeText>41</FreeText>" in assignments["Assignments"][0]["Answer"]
    aws(service, "approve-assignment", "--assignment-id", assignment_id, "--requester-feedback", "Thanks")
    after = aws(service, "list-assignments-for-hit", "--hit-id", hit_id, "--assignment-statuses", "Approved")
    assert [a["AssignmentStatus"] for a in after["Assignments"]] == ["Approved"]


def test_browser_worker_submits_the_age_guess_hit(service: Any, new_worker: Any) -> None:
    """A worker signs in, accepts the age-guess HIT, types an age and submits; boto3 sees it."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)"
    from playwright.sync_api import sync_playwright

    client = make_client(service.url)
    hit = client.create_hit(
        Title="How old is this person? (browser)",
        Description="Look at a photo and guess the person's age.",
        Reward="0.10",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=1,
        Question=age_guess_question("77"),
    )["HIT"]
    worker = new_worker()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{service.url}/worker/login")
            page.fill("#name", worker["name"])
            page.fill("#password", worker["password"])
            page.click("#signin")
            page.wait_for_url(f"{service.url}/worker")
            page.click("text=How old is this person? (browser)")
            page.click("#accept")
            page.wait_for_url(f"{service.url}/work/*")
            frame = page.frame_locator("#hit-frame")
            frame.locator("#age").fill("34")
            frame.locator("#submitButton").click()
            page.locator("#work-submitted").wait_for()  # the work page says it (the frame is removed)
        finally:
            browser.close()
    assignments = client.list_assignments_for_hit(HITId=hit["HITId"])["Assignments"]
    assert len(assignments) == 1
    assignment = assignments[0]
    assert assignment["WorkerId"] == worker["worker_id"]
    assert assignment["AssignmentStatus"] == "Submitted"
    assert (
        "<Answer><QuestionIdentifier>age</QuestionIdentifier><FreeText>34</FreeText></Answer>" in assignment["Answer"]
    )
    assert "<QuestionIdentifier>person_id</QuestionIdentifier><FreeText>77</FreeText>" in assignment["Answer"]
    assert "assignmentId" not in assignment["Answer"]
