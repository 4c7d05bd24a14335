"""The template corpus end to end through the worker site, as a requester and a worker meet it.

Each corpus template (MTurk's script URL and ``${variables}`` as the Requester UI had them) is
created with boto3 as an HTMLQuestion, previewed in Chromium (Submit blocked), accepted,
worked and submitted by a signed-in worker; ``ListAssignmentsForHIT`` must then hold what MTurk
returned for a crowd-form: one ``Answer``, ``QuestionIdentifier`` ``taskAnswers``, the JSON as
``FreeText``. Images come from a local test server (no internet).
"""

from __future__ import annotations

import json
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hit_service.settings import REPO_ROOT
from tests.hit_service.browser import DESKTOP, PHONE, Offline, chromium, sign_in
from tests.hit_service.crowd_site import CrowdSite, crowd_site, fill_template
from tests.hit_service.crowd_work import CORPUS, GROUND_TRUTH, CorpusTask, stage_point, wait_image
from tests.hit_service.helpers import HTML_QUESTION_NS, OPERATOR_PASSWORD, make_client

pytestmark = pytest.mark.integration
__all__ = ["chromium"]  # a fixture


@pytest.fixture(scope="module")
def images() -> Iterator[CrowdSite]:
    """Only for the PNG the image templates show."""
    with crowd_site() as running:
        yield running


def html_question(task: CorpusTask, image_url: str) -> str:
    """The corpus template, placeholders filled as a batch row would, as an HTMLQuestion."""
    page = task.page(image_url)
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{page}]]></HTMLContent>'
        "<FrameHeight>900</FrameHeight></HTMLQuestion>"
    )


def shot(page: Any, name: str) -> None:
    """Keep a screenshot when HITFLOW_SCREENSHOT_DIR names a folder (to look at)."""
    folder = os.environ.get("HITFLOW_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def create(client: Any, task: CorpusTask, image_url: str) -> tuple[str, str]:
    """A HIT of the corpus template; (HIT ID, the Question as sent)."""
    question = html_question(task, image_url)
    hit = client.create_hit(
        Title=f"Crowd corpus {task.name} {uuid.uuid4().hex[:8]}",
        Description=f"The {task.name} template",
        Reward="0.05",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=1,
        Question=question,
    )["HIT"]
    return hit["HITId"], question


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


@pytest.mark.parametrize("task", CORPUS + GROUND_TRUTH, ids=[task.name for task in CORPUS + GROUND_TRUTH])
def test_corpus_through_the_worker_site(
    service: Any, chromium: Any, images: CrowdSite, new_worker: Any, task: CorpusTask
) -> None:
    client = make_client(service.url)
    hit_id, question = create(client, task, images.image_url)
    assert client.get_hit(HITId=hit_id)["HIT"]["Question"] == question  # stored as sent
    worker = new_worker()
    offline = Offline(service.url, images.url)
    context = chromium.new_context(viewport=DESKTOP)
    context.route("**/*", offline.route)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, service.url, worker)

        # Preview: the task shows, Submit is blocked.
        page.goto(f"{service.url}/worker/hits/{hit_id}")
        frame = hit_frame(page)
        assert frame.get_by_role("button", name="Submit").is_disabled()
        assert frame.get_by_text("This is a preview. Accept the HIT to submit your answers.").is_visible()
        assert frame.locator(".crowd-unsupported").count() == 0
        shot(page, f"site-{task.name}-preview-1280")

        page.click("#accept")
        page.wait_for_url(f"{service.url}/work/*")
        assignment_id = page.url.rsplit("/", 1)[1]
        frame = hit_frame(page)
        task.work(frame, page)
        shot(page, f"site-{task.name}-worked-1280")
        frame.get_by_role("button", name="Submit").click()
        # The frame shows "submitted" and tells the work page, which then shows its submitted state.
        page.locator("#work-submitted").wait_for()
        assert page.url == f"{service.url}/work/{assignment_id}"
        assert not errors, errors
    finally:
        context.close()
    assert not offline.blocked, f"requests beyond the service and the image server: {offline.blocked}"

    (assignment,) = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert assignment["AssignmentId"] == assignment_id
    assert assignment["WorkerId"] == worker["worker_id"]
    assert assignment["AssignmentStatus"] == "Submitted"
    ((identifier, text),) = answers_of(assignment)
    assert identifier == "taskAnswers"
    (answer,) = json.loads(text)
    task.verify(answer)


def test_keypoints_by_touch_on_a_phone_through_the_worker_site(
    service: Any, chromium: Any, images: CrowdSite, new_worker: Any
) -> None:
    """At 390 px, in the site's frame: taps place the points; the answer reaches the requester."""
    (task,) = [task for task in CORPUS if task.name == "keypoint"]
    client = make_client(service.url)
    hit_id, _ = create(client, task, images.image_url)
    worker = new_worker()
    offline = Offline(service.url, images.url)
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    context.route("**/*", offline.route)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, service.url, worker)
        page.goto(f"{service.url}/worker/hits/{hit_id}")
        page.click("#accept")
        page.wait_for_url(f"{service.url}/work/*")
        frame = hit_frame(page)
        wait_image(frame, "crowd-keypoint")
        assert frame.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.touchscreen.tap(*stage_point(frame, "crowd-keypoint", 100, 80))
        frame.get_by_role("radio", name="Bottom right").tap()
        page.touchscreen.tap(*stage_point(frame, "crowd-keypoint", 180, 160))
        shot(page, "site-keypoint-worked-390")
        frame.get_by_role("button", name="Submit").tap()
        page.locator("#work-submitted").wait_for()
    finally:
        context.close()
    assert not offline.blocked, f"requests beyond the service and the image server: {offline.blocked}"
    (assignment,) = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    ((identifier, text),) = answers_of(assignment)
    assert identifier == "taskAnswers"
    (answer,) = json.loads(text)
    points = answer["corners"]["keypoints"]
    assert [p["label"] for p in points] == ["Top left", "Bottom right"]
    # The image is shown smaller than its 400 px on the phone: a tap lands within a pixel or two.
    for got, (x, y) in zip(points, [(100, 80), (180, 160)], strict=True):
        assert abs(got["x"] - x) <= 2 and abs(got["y"] - y) <= 2, got
    assert answer["corners"]["inputImageProperties"] == {"height": 300, "width": 400}


def test_crowd_age_guess_template_through_the_worker_site(
    service: Any, chromium: Any, images: CrowdSite, new_worker: Any
) -> None:
    """hitflow's own Crowd-HTML age-guess task: empty and out-of-range ages are refused in the
    page; a valid one reaches the requester as taskAnswers [{"age": "34"}]."""
    template = (REPO_ROOT / "include" / "templates" / "age_guess_crowd.html").read_text(encoding="utf-8")
    page_html = fill_template(template, {"person_id": "77", "image_url": images.image_url})
    question = (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{page_html}]]></HTMLContent>'
        "<FrameHeight>700</FrameHeight></HTMLQuestion>"
    )
    client = make_client(service.url)
    hit_id = client.create_hit(
        Title=f"Crowd age guess {uuid.uuid4().hex[:8]}",
        Description="Guess the age",
        Reward="0.05",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=1,
        Question=question,
    )["HIT"]["HITId"]
    worker = new_worker()
    offline = Offline(service.url, images.url)
    context = chromium.new_context(viewport=DESKTOP)
    context.route("**/*", offline.route)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, service.url, worker)
        page.goto(f"{service.url}/worker/hits/{hit_id}")
        page.click("#accept")
        page.wait_for_url(f"{service.url}/work/*")
        frame = hit_frame(page)
        age = frame.get_by_label("Age in years (1–120)")
        frame.get_by_role("button", name="Submit").click()
        assert "Age in years (1–120) is required." in frame.get_by_role("alert").inner_text()
        age.fill("150")
        frame.get_by_role("button", name="Submit").click()
        frame.get_by_role("alert").filter(has_text="120").wait_for()
        shot(page, "site-age-guess-crowd-refused-1280")
        age.fill("34")
        frame.get_by_role("button", name="Submit").click()
        page.locator("#work-submitted").wait_for()
    finally:
        context.close()
    assert not offline.blocked, f"requests beyond the service and the image server: {offline.blocked}"
    (assignment,) = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert answers_of(assignment) == [("taskAnswers", '[{"age":"34"}]')]


def test_unknown_crowd_element_shows_a_notice_to_worker_and_requester(
    service: Any, chromium: Any, new_worker: Any
) -> None:
    """An element we do not have is a visible notice in the worker's preview and the operator's."""
    page_html = (
        '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'
        "<crowd-form><crowd-video-classifier name='v' categories=\"['a']\"></crowd-video-classifier></crowd-form>"
    )
    client = make_client(service.url)
    hit_id = client.create_hit(
        Title=f"Unknown crowd element {uuid.uuid4().hex[:8]}",
        Description="d",
        Reward="0.05",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        Question=(
            f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{page_html}]]></HTMLContent>'
            "<FrameHeight>400</FrameHeight></HTMLQuestion>"
        ),
    )["HIT"]["HITId"]
    notice = "This task uses <crowd-video-classifier>, which this site does not support yet"
    worker = new_worker()
    offline = Offline(service.url)
    context = chromium.new_context(
        viewport=DESKTOP, http_credentials={"username": "operator", "password": OPERATOR_PASSWORD}
    )
    context.route("**/*", offline.route)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(f"{service.url}/hits/{hit_id}/preview")  # the operator's preview (an iframe srcdoc)
        frame = page.locator("iframe").element_handle().content_frame()
        frame.get_by_role("alert").filter(has_text=notice).wait_for()
        sign_in(page, service.url, worker)
        page.goto(f"{service.url}/worker/hits/{hit_id}")
        hit_frame(page).get_by_role("alert").filter(has_text=notice).wait_for()
        shot(page, "site-unknown-element-preview-1280")
    finally:
        context.close()
    assert not offline.blocked, offline.blocked
