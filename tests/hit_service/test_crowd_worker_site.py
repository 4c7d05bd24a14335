"""The template corpus end to end through the worker site, as a requester and a worker meet it.

Each corpus template (MTurk's script URL and ``${variables}`` as the Requester UI had them) is
created with boto3 as an HTMLQuestion, previewed in Chromium (Submit blocked), accepted,
worked and submitted by a signed-in worker; ``ListAssignmentsForHIT`` must then hold what MTurk
returned for a crowd-form: one ``Answer``, ``QuestionIdentifier`` ``taskAnswers``, the JSON as
``FreeText``. Images come from a local test server (no internet).
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hit_service.config import REPO_ROOT
from tests.hit_service.crowd_site import CORPUS_DIR, CrowdSite, crowd_site, fill_template
from tests.hit_service.crowd_work import CORPUS, CorpusTask
from tests.hit_service.helpers import HTML_QUESTION_NS, make_client

pytestmark = pytest.mark.integration

if not (REPO_ROOT / "hit_service" / "site" / "taskhtml.py").exists():  # pragma: no cover - until the merge
    pytest.skip("the worker site does not rewrite MTurk's script URLs yet", allow_module_level=True)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def images() -> Iterator[CrowdSite]:
    """Only for the PNG the image templates show."""
    with crowd_site() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run `make browser` (Debian's chromium)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def html_question(task: CorpusTask, image_url: str) -> str:
    """The corpus template, placeholders filled as a batch row would, as an HTMLQuestion."""
    template = (CORPUS_DIR / f"{task.name}.html").read_text(encoding="utf-8")
    page = fill_template(template, task.values(image_url))
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{page}]]></HTMLContent>'
        "<FrameHeight>900</FrameHeight></HTMLQuestion>"
    )


def hit_frame(page: Any) -> Any:
    """The HIT's frame once the crowd elements in it are ready."""
    frame = page.locator("#hit-frame").element_handle().content_frame()
    frame.wait_for_function("window.__hitflowCrowdReady === true")
    return frame


def answers_of(assignment: dict[str, Any]) -> list[tuple[str, str]]:
    """(QuestionIdentifier, FreeText) of every Answer in a QuestionFormAnswers document."""
    root = ET.fromstring(assignment["Answer"])
    found = []
    for answer in root:
        assert answer.tag.endswith("Answer"), answer.tag
        fields = {child.tag.rsplit("}", 1)[-1]: child.text or "" for child in answer}
        assert set(fields) == {"QuestionIdentifier", "FreeText"}, fields
        found.append((fields["QuestionIdentifier"], fields["FreeText"]))
    return found


@pytest.mark.parametrize("task", CORPUS, ids=[task.name for task in CORPUS])
def test_corpus_through_the_worker_site(
    service: Any, browser: Any, images: CrowdSite, new_worker: Any, task: CorpusTask
) -> None:
    client = make_client(service.url)
    title = f"Crowd corpus {task.name} {uuid.uuid4().hex[:8]}"
    question = html_question(task, images.image_url)
    hit = client.create_hit(
        Title=title,
        Description=f"The {task.name} template",
        Reward="0.05",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=1,
        Question=question,
    )["HIT"]
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["Question"] == question  # stored as sent
    worker = new_worker()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{service.url}/worker/login")
        page.fill("#name", worker["name"])
        page.fill("#password", worker["password"])
        page.click("#signin")
        page.wait_for_url(f"{service.url}/worker")

        # Preview: the task shows, Submit is blocked.
        page.goto(f"{service.url}/worker/hits/{hit['HITId']}")
        frame = hit_frame(page)
        assert frame.get_by_role("button", name="Submit").is_disabled()
        assert frame.get_by_text("This is a preview. Accept the HIT to submit your answers.").is_visible()
        assert frame.locator(".crowd-unsupported").count() == 0

        page.click("#accept")
        page.wait_for_url(f"{service.url}/work/*")
        frame = hit_frame(page)
        task.work(frame, page)
        frame.get_by_role("button", name="Submit").click()
        frame.locator("#submitted").wait_for()
        assert not errors, errors
    finally:
        context.close()

    (assignment,) = client.list_assignments_for_hit(HITId=hit["HITId"])["Assignments"]
    assert assignment["WorkerId"] == worker["worker_id"]
    assert assignment["AssignmentStatus"] == "Submitted"
    ((identifier, text),) = answers_of(assignment)
    assert identifier == "taskAnswers"
    assert json.loads(text) == [task.answer]
