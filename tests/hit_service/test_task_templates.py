"""Task templates written for MTurk, over HTTP: MTurk's worker URLs, and the warnings a requester
gets when a task uses a Crowd HTML Element this service does not have (CreateHIT's response
header and the console's preview). Which elements exist is read from the element modules.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from hit_service.core import crowd_support
from hitflow_support.crowd_client import sign_in
from hitflow_support.service_process import ServiceProcess
from tests.hit_service.helpers import HTML_QUESTION_NS, make_client

pytestmark = pytest.mark.integration
SCRIPT = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'

# Every element of AWS's "Crowd HTML Elements Reference" a worker can use in a browser (the
# 3D point cloud, video frame and Augmented AI elements need data and tools beyond a page).
REFERENCE = [
    "crowd-alert",
    "crowd-badge",
    "crowd-bounding-box",
    "crowd-button",
    "crowd-card",
    "crowd-checkbox",
    "crowd-classifier",
    "crowd-classifier-multi-select",
    "crowd-entity-annotation",
    "crowd-fab",
    "crowd-form",
    "crowd-icon-button",
    "crowd-image-classifier",
    "crowd-image-classifier-multi-select",
    "crowd-input",
    "crowd-instance-segmentation",
    "crowd-instructions",
    "crowd-keypoint",
    "crowd-line",
    "crowd-modal",
    "crowd-polygon",
    "crowd-polyline",
    "crowd-radio-button",
    "crowd-radio-group",
    "crowd-semantic-segmentation",
    "crowd-slider",
    "crowd-tab",
    "crowd-tabs",
    "crowd-text-area",
    "crowd-toast",
    "crowd-toggle-button",
]


def question(body: str) -> str:
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{SCRIPT}<crowd-form>{body}</crowd-form>]]>'
        "</HTMLContent><FrameHeight>500</FrameHeight></HTMLQuestion>"
    )


def create(client: Any, body: str) -> dict[str, Any]:
    return client.create_hit(
        Title=f"Template {uuid.uuid4().hex[:8]}",
        Description="d",
        Reward="0.05",
        AssignmentDurationInSeconds=600,
        LifetimeInSeconds=3600,
        MaxAssignments=1,
        Question=question(body),
    )


def test_every_reference_element_is_defined_and_others_are_named() -> None:
    assert set(REFERENCE) <= crowd_support.supported_elements()
    page = "<crowd-form><crowd-line></crowd-line><crowd-text-ranking></crowd-text-ranking><CROWD-Foo-Bar x>"
    assert crowd_support.unsupported_elements(page) == ["crowd-foo-bar", "crowd-text-ranking"]
    assert crowd_support.unsupported_elements("<crowd-semantic-segmentation>") == []
    assert "<crowd-text-ranking>" in crowd_support.warning(page)
    assert crowd_support.warning("<crowd-polyline>") == ""


def test_create_hit_names_the_elements_that_will_not_work(service: ServiceProcess) -> None:
    client = make_client(service.url)
    warned = create(client, "<crowd-text-ranking name='r'></crowd-text-ranking><crowd-input name='a'></crowd-input>")
    headers = warned["ResponseMetadata"]["HTTPHeaders"]
    assert headers[crowd_support.WARNING_HEADER] == "crowd-text-ranking"
    assert warned["HIT"]["HITStatus"] == "Assignable"  # a warning, not a refusal
    fine = create(client, "<crowd-line name='l' src='x.png' labels=\"['a']\"></crowd-line>")
    assert crowd_support.WARNING_HEADER not in fine["ResponseMetadata"]["HTTPHeaders"]


def test_console_preview_warns_about_unsupported_elements(account: dict[str, Any]) -> None:
    console = account["console"]
    template = f"{SCRIPT}<crowd-form><crowd-text-ranking name='r'></crowd-text-ranking><p>${{text}}</p></crowd-form>"
    bad = console.create_project("sentiment", template=template)
    page = console.get(f"/requester/projects/{bad}/preview").text
    assert 'id="unsupported-elements"' in page and "&lt;crowd-text-ranking&gt;" in page
    good = console.create_project("sentiment")
    assert 'id="unsupported-elements"' not in console.get(f"/requester/projects/{good}/preview").text


def test_mturk_worker_urls_lead_to_the_hit(service: ServiceProcess, new_worker: Any) -> None:
    """The preview links MTurk tools print work once the host is swapped."""
    client = make_client(service.url)
    hit = create(client, "<crowd-input name='a' label='A'></crowd-input>")["HIT"]
    hit_id, group = hit["HITId"], hit["HITGroupId"]
    worker = new_worker()
    anonymous = requests.get(f"{service.url}/mturk/preview?groupId={group}", allow_redirects=False, timeout=10)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"] == f"/worker/login?next={quote(f'/mturk/preview?groupId={group}', safe='')}"
    session = sign_in(service.url, worker["name"], worker["password"])
    paths = (f"/mturk/preview?groupId={group}", f"/projects/{group}/tasks", f"/projects/{group}/tasks/accept_random")
    for path in paths:
        response = session.get(f"{service.url}{path}", allow_redirects=False, timeout=10)
        assert (response.status_code, response.headers["location"]) == (303, f"/worker/hits/{hit_id}"), path
    by_hit = session.get(f"{service.url}/mturk/preview?hitId={hit_id}", timeout=10)
    assert by_hit.status_code == 200 and by_hit.url.endswith(f"/worker/hits/{hit_id}")
    assert hit["Title"] in by_hit.text
    # A sign-in from the MTurk link comes back to it, then to the HIT.
    fresh = requests.Session()
    login = fresh.get(f"{service.url}/projects/{group}/tasks", timeout=10)
    assert login.url.startswith(f"{service.url}/worker/login")
    token = re.search(r"name=.csrf. value=.([^'\"]+)", login.text)
    assert token is not None
    done = fresh.post(
        f"{service.url}/worker/login",
        data={
            "name": worker["name"],
            "password": worker["password"],
            "csrf": token.group(1),
            "next": f"/projects/{group}/tasks",
        },
        timeout=10,
    )
    assert done.url == f"{service.url}/worker/hits/{hit_id}"
    missing = session.get(f"{service.url}/projects/NOSUCHGROUP/tasks", timeout=10)
    assert missing.status_code == 404 and "no HITs in this group" in missing.text


def test_corpus_readme_names_every_template() -> None:
    """Each corpus file's origin and licence is written down."""
    corpus = Path(__file__).parent / "corpus"
    readme = (corpus / "README.md").read_text(encoding="utf-8")
    for path in sorted(p for p in corpus.rglob("*") if p.suffix in (".html", ".xml", ".j2")):
        assert path.relative_to(corpus).as_posix() in readme, path
