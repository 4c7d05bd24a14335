"""The worker site in a real browser: a worker's journey by keyboard, and task HTML written for MTurk.

Chromium (Debian's, via Playwright) browses the pages as a worker; every request that would leave
the machine is blocked and recorded, so a task that still reached for Amazon's servers fails.
The requester side is real boto3 against the service. Screenshots at 1280 and 390 px go to
``$HITFLOW_SCREENSHOT_DIR`` (see ``browser.py``).
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hit_service.browser import DESKTOP, PHONE, Offline, chromium, new_page, shots, sign_in
from tests.hit_service.helpers import EXTERNAL_QUESTION_NS, HTML_QUESTION_NS

pytestmark = pytest.mark.integration
__all__ = ["chromium", "shots"]  # fixtures
APPROVAL_RATE = "000000000000000000L0"
LOCALE = "00000000000000000071"
ANSWER_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"
QUESTION_FORM_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2017-11-06/QuestionForm.xsd"

# A task page in the shape of AWS's public HTMLQuestion sample (written for these tests): MTurk's
# script from S3, turkSetAssignmentID(), and a form posting to www.mturk.com's externalSubmit.
AWS_SAMPLE = """<!DOCTYPE html>
<html>
<head>
<meta http-equiv='Content-Type' content='text/html; charset=UTF-8'/>
<script type='text/javascript' src='https://s3.amazonaws.com/mturk-public/externalHIT_v1.js'></script>
</head>
<body>
<form name='mturk_form' method='post' id='mturk_form' action='https://www.mturk.com/mturk/externalSubmit'>
<input type='hidden' value='' name='assignmentId' id='assignmentId'/>
<h1>What do you think of this sample?</h1>
<p><textarea name='comment' id='comment' cols='60' rows='3'></textarea></p>
<p><input type='submit' id='submitButton' value='Submit' /></p>
</form>
<script language='Javascript'>turkSetAssignmentID();</script>
</body>
</html>"""

# An ExternalQuestion page, served by a local HTTP server: it reads MTurk's four parameters.
EXTERNAL_PAGE = """<!DOCTYPE html>
<html><head><meta charset='utf-8'><title>External task</title></head>
<body>
<p id='mode'></p>
<form id='task' method='post'>
<input type='hidden' name='assignmentId' id='assignmentId'>
<label>Colour <input name='colour' id='colour'></label>
<button id='send'>Send</button>
</form>
<script>
const q = new URLSearchParams(location.search);
const id = q.get('assignmentId');
document.getElementById('assignmentId').value = id;
document.getElementById('task').action = q.get('turkSubmitTo') + '/mturk/externalSubmit';
const preview = id === 'ASSIGNMENT_ID_NOT_AVAILABLE';
document.getElementById('send').disabled = preview;
document.getElementById('mode').textContent = preview ? 'preview of ' + q.get('hitId')
  : 'working: ' + [q.get('hitId'), q.get('workerId'), q.get('turkSubmitTo')].join(' ');
</script>
</body></html>"""

QUESTION_FORM = f"""<QuestionForm xmlns="{QUESTION_FORM_NS}">
<Overview><Title>Product review</Title><Text>Read the review and answer.</Text></Overview>
<Question><QuestionIdentifier>mood</QuestionIdentifier><DisplayName>Mood</DisplayName><IsRequired>true</IsRequired>
<QuestionContent><Text>"Works fine, nothing special." How does it sound?</Text></QuestionContent>
<AnswerSpecification><SelectionAnswer><StyleSuggestion>radiobutton</StyleSuggestion><Selections>
<Selection><SelectionIdentifier>pos</SelectionIdentifier><Text>Positive</Text></Selection>
<Selection><SelectionIdentifier>neu</SelectionIdentifier><Text>Neutral</Text></Selection>
<Selection><SelectionIdentifier>neg</SelectionIdentifier><Text>Negative</Text></Selection>
</Selections></SelectionAnswer></AnswerSpecification></Question>
<Question><QuestionIdentifier>topics</QuestionIdentifier><DisplayName>Topics</DisplayName><IsRequired>false</IsRequired>
<QuestionContent><Text>What does it talk about?</Text></QuestionContent>
<AnswerSpecification><SelectionAnswer><MinSelectionCount>0</MinSelectionCount><MaxSelectionCount>3</MaxSelectionCount>
<StyleSuggestion>checkbox</StyleSuggestion><Selections>
<Selection><SelectionIdentifier>quality</SelectionIdentifier><Text>Quality</Text></Selection>
<Selection><SelectionIdentifier>price</SelectionIdentifier><Text>Price</Text></Selection>
<Selection><SelectionIdentifier>delivery</SelectionIdentifier><Text>Delivery</Text></Selection>
</Selections></SelectionAnswer></AnswerSpecification></Question>
<Question><QuestionIdentifier>why</QuestionIdentifier><DisplayName>Why</DisplayName><IsRequired>false</IsRequired>
<QuestionContent><Text>Why?</Text></QuestionContent>
<AnswerSpecification><FreeTextAnswer/></AnswerSpecification></Question>
<Question><QuestionIdentifier>photo</QuestionIdentifier><DisplayName>Photo</DisplayName><IsRequired>false</IsRequired>
<QuestionContent><Text>Attach a photo</Text></QuestionContent>
<AnswerSpecification><FileUploadAnswer><MaxFileSizeInBytes>100000</MaxFileSizeInBytes>
<MinFileSizeInBytes>1</MinFileSizeInBytes></FileUploadAnswer></AnswerSpecification></Question>
</QuestionForm>"""

STORAGE_TASK = """<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>
<form id='mturk_form' method='post' action='https://workersandbox.mturk.com/mturk/externalSubmit'>
<input type='hidden' name='assignmentId' id='assignmentId'>
<input name='saved' id='saved'>
<input name='module' id='module'>
<button id='submitButton'>Submit</button>
</form>
<script>
// A module loaded from the sandboxed frame (an opaque origin) is a CORS request: /static allows it.
import('/static/js/countdown.js').then(
  (m) => { document.getElementById('module').value = m.formatDuration(90); },
  (e) => { document.getElementById('module').value = 'failed: ' + e; });
localStorage.setItem('progress', 'step-2');
localStorage.draft = 'hello';
sessionStorage.setItem('tab', '1');
document.getElementById('saved').value =
  [localStorage.getItem('progress'), localStorage.draft, localStorage.length, sessionStorage.getItem('tab')].join('/');
document.getElementById('assignmentId').value = new URLSearchParams(location.search).get('assignmentId');
</script>
</body></html>"""


def html_question(page: str, height: int = 500) -> str:
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}"><HTMLContent><![CDATA[{page}]]></HTMLContent>'
        f"<FrameHeight>{height}</FrameHeight></HTMLQuestion>"
    )


def create(client: Any, question: str, title: str, **extra: Any) -> dict[str, Any]:
    args = {
        "Title": title,
        "Description": "A task for the worker-site tests.",
        "Reward": "0.05",
        "AssignmentDurationInSeconds": 600,
        "LifetimeInSeconds": 3600,
        "MaxAssignments": 1,
        "Question": question,
        **extra,
    }
    return client.create_hit(**args)["HIT"]


def answer_of(client: Any, hit_id: str) -> str:
    assignments = client.list_assignments_for_hit(HITId=hit_id)["Assignments"]
    assert len(assignments) == 1, assignments
    assert assignments[0]["AssignmentStatus"] == "Submitted"
    return str(assignments[0]["Answer"])


def accept_from_preview(page: Any, base: str, hit_id: str) -> str:
    page.goto(f"{base}/worker/hits/{hit_id}")
    page.click("#accept")
    page.wait_for_url(f"{base}/work/*")
    return str(page.url.rsplit("/", 1)[1])


def wait_submitted(page: Any, base: str, assignment_id: str) -> None:
    """The frame's submission makes the work page show its submitted state."""
    page.wait_for_url(f"{base}/work/{assignment_id}")
    page.locator("#work-submitted").wait_for()
    # Said once: the frame with its own thank-you page (and header) is gone.
    page.locator("#hit-frame").wait_for(state="detached")
    assert page.get_by_text("submitted", exact=False).count() >= 1 and page.locator("h1").count() == 1


@pytest.fixture
def requester_client(requester: tuple[str, Any]) -> Any:
    return requester[1]


def test_worker_journey_by_keyboard(
    service: Any, requester_client: Any, new_worker: Any, chromium: Any, shots: Path
) -> None:
    """Sign in, find the group, Accept & work, watch the clock, answer, submit, go on, return."""
    client = requester_client
    base = service.url
    requirements = [
        {"QualificationTypeId": APPROVAL_RATE, "Comparator": "GreaterThanOrEqualTo", "IntegerValues": [95]},
        {"QualificationTypeId": LOCALE, "Comparator": "EqualTo", "LocaleValues": [{"Country": "US"}]},
    ]
    type_id = client.create_hit_type(
        Title="Guess the age (journey)",
        Description="Look at a photo and type the person's age.",
        Keywords="age, photo, quick",
        Reward="0.07",
        AssignmentDurationInSeconds=90,
        QualificationRequirements=requirements,
    )["HITTypeId"]
    age_page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        "<script src='https://s3.amazonaws.com/mturk-public/externalHIT_v1.js'></script></head><body>"
        "<form id='mturk_form' method='post' action='https://www.mturk.com/mturk/externalSubmit'>"
        "<input type='hidden' id='assignmentId' name='assignmentId'>"
        "<label for='age'>Age</label> <input type='number' id='age' name='age' required>"
        "<button type='submit' id='submitButton'>Submit</button></form>"
        "<script>turkSetAssignmentID();</script></body></html>"
    )
    hits = [
        client.create_hit_with_hit_type(HITTypeId=type_id, LifetimeInSeconds=3600, Question=html_question(age_page))[
            "HIT"
        ]
        for _ in range(3)
    ]
    worker = new_worker("US")
    offline = Offline(base)
    page = new_page(chromium, offline)

    # An empty dashboard says so.
    sign_in(page, base, worker)
    page.goto(f"{base}/worker/dashboard")
    assert "No work yet" in page.inner_text("main")
    page.goto(f"{base}/worker")

    row = page.locator("#groups tr", has_text="Guess the age (journey)")
    text = row.inner_text()
    assert "1 min 30 s" in text  # time allotted: 90 s is neither "2 min" nor "1 min"
    assert "$0.07" in text and "quick" in text
    assert "HIT approval rate (%) is at least 95" in text and "Location is US" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", row.locator("td[data-label='Expires']").inner_text())
    page.screenshot(path=str(shots / "hits-1280.png"), full_page=True)

    # Keyboard only: Tab to this group's "Accept & work" and press Enter.
    label = "Accept & work: Guess the age (journey)"
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.getAttribute('aria-label')") == label:
            break
    else:
        pytest.fail("Tab never reached the group's Accept & work button")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/work/*")
    assignment_id = page.url.rsplit("/", 1)[1]

    # The clock runs: the time left goes down by itself.
    first = page.inner_text("#time-left")
    assert re.fullmatch(r"1 min (2\d|30) s", first), first
    page.wait_for_function("t => document.getElementById('time-left').textContent !== t", arg=first, timeout=5_000)
    frame = page.frame_locator("#hit-frame")
    frame.locator("#age").wait_for()
    page.screenshot(path=str(shots / "work-1280.png"), full_page=True)

    # Into the frame by keyboard, type the age, submit with Enter.
    for _ in range(30):
        page.keyboard.press("Tab")
        if frame.locator("#age").evaluate("el => document.activeElement === el"):
            break
    else:
        pytest.fail("Tab never reached the age field inside the HIT frame")
    page.keyboard.type("41")
    page.keyboard.press("Enter")
    wait_submitted(page, base, assignment_id)
    bar = page.inner_text("#work-bar")
    assert "Submitted" in bar and "Submit by" not in bar
    assert page.locator("#return").count() == 0
    page.screenshot(path=str(shots / "submitted-1280.png"), full_page=True)
    answers = {h["HITId"]: client.list_assignments_for_hit(HITId=h["HITId"])["Assignments"] for h in hits}
    submitted = [a for found in answers.values() for a in found]
    assert len(submitted) == 1 and submitted[0]["AssignmentId"] == assignment_id
    assert "<QuestionIdentifier>age</QuestionIdentifier><FreeText>41</FreeText>" in submitted[0]["Answer"]

    # Straight on to the next HIT of the group.
    page.locator("#next-hit").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/work/(?!" + assignment_id + r")[A-Z0-9]+$"))
    second = page.url.rsplit("/", 1)[1]
    assert second != assignment_id

    # Return it: a confirmation, and the HIT is free again.
    page.locator("#return").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/worker?returned=1")
    assert "You returned the HIT" in page.inner_text("#notice")
    # A stale tab's Return after the submit says what happened.
    stale = page.request.post(f"{base}/work/{assignment_id}/return", form={"csrf": _csrf(page)})
    assert stale.status == 409 and "already submitted this HIT" in stale.text()

    # Phone width: the header wraps, Sign out stays on screen; every page has a viewport meta.
    phone = new_page(chromium, offline, PHONE)
    sign_in(phone, base, worker)
    for path, name in (
        ("/worker", "hits"),
        ("/worker/dashboard", "dashboard"),
        ("/worker/quals", "quals"),
        (f"/worker/hits/{hits[2]['HITId']}", "preview"),
        (f"/work/{assignment_id}", "submitted"),
    ):
        phone.goto(f"{base}{path}")
        assert phone.locator("meta[name=viewport]").count() == 1, path
        box = phone.locator("#signout").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (path, box)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], (path, width)
        phone.screenshot(path=str(shots / f"{name}-390.png"), full_page=True)
    assert offline.blocked == []
    page.context.close()
    phone.context.close()


def _csrf(page: Any) -> str:
    match = re.search(r"name='csrf' value='([^']*)'", page.content()) or re.search(
        r'name="csrf" value="([^"]*)"', page.content()
    )
    assert match is not None
    return html.unescape(match.group(1))


def test_aws_sample_html_question_works_unchanged(
    service: Any, requester_client: Any, new_worker: Any, chromium: Any, shots: Path
) -> None:
    """AWS's sample shape: S3's externalHIT_v1.js, turkSetAssignmentID(), www.mturk.com externalSubmit."""
    client = requester_client
    base = service.url
    question = html_question(AWS_SAMPLE)
    hit = create(client, question, "AWS sample HTMLQuestion")
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["Question"] == question  # stored as sent
    worker = new_worker()
    offline = Offline(base)
    page = new_page(chromium, offline)
    sign_in(page, base, worker)

    # Preview: MTurk's behaviour, Submit disabled.
    page.goto(f"{base}/worker/hits/{hit['HITId']}")
    button = page.frame_locator("#hit-frame").locator("#submitButton")
    button.wait_for()
    assert button.is_disabled()
    assert "ACCEPT the HIT" in (button.get_attribute("value") or "")
    page.screenshot(path=str(shots / "aws-sample-preview-1280.png"), full_page=True)

    assignment_id = accept_from_preview(page, base, hit["HITId"])
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#assignmentId").input_value() == assignment_id
    assert frame.locator("#submitButton").is_enabled()
    frame.locator("#comment").fill("Clear & short <ok>")
    frame.locator("#submitButton").click()
    wait_submitted(page, base, assignment_id)
    assert offline.blocked == []  # nothing reached for s3.amazonaws.com or www.mturk.com
    answer = answer_of(client, hit["HITId"])
    assert answer == (
        f'<QuestionFormAnswers xmlns="{ANSWER_NS}"><Answer><QuestionIdentifier>comment</QuestionIdentifier>'
        "<FreeText>Clear &amp; short &lt;ok&gt;</FreeText></Answer></QuestionFormAnswers>"
    )
    assert client.get_hit(HITId=hit["HITId"])["HIT"]["Question"] == question
    page.context.close()


@pytest.fixture
def task_server(tmp_path: Path) -> Iterator[str]:
    """A plain local HTTP server for ExternalQuestion pages (test mode accepts http:// URLs)."""
    (tmp_path / "task.html").write_text(EXTERNAL_PAGE, encoding="utf-8")

    class Quiet(SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_external_question_gets_mturks_parameters(
    service: Any, requester_client: Any, new_worker: Any, chromium: Any, shots: Path, task_server: str
) -> None:
    client = requester_client
    base = service.url
    question = (
        f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_NS}"><ExternalURL>{task_server}/task.html?lang=en'
        "</ExternalURL><FrameHeight>300</FrameHeight></ExternalQuestion>"
    )
    hit = create(client, question, "External task")
    worker = new_worker()
    offline = Offline(base, task_server)
    page = new_page(chromium, offline)
    sign_in(page, base, worker)
    page.goto(f"{base}/worker/hits/{hit['HITId']}")
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#mode").inner_text() == f"preview of {hit['HITId']}"
    assert frame.locator("#send").is_disabled()
    assignment_id = accept_from_preview(page, base, hit["HITId"])
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#mode").inner_text() == f"working: {hit['HITId']} {worker['worker_id']} {base}"
    frame.locator("#colour").fill("teal")
    page.screenshot(path=str(shots / "external-1280.png"), full_page=True)
    frame.locator("#send").click()
    wait_submitted(page, base, assignment_id)
    assert "<QuestionIdentifier>colour</QuestionIdentifier><FreeText>teal</FreeText>" in answer_of(client, hit["HITId"])
    assert offline.blocked == []
    page.context.close()


def test_external_question_needs_https_outside_test_mode() -> None:
    from hit_service.core import question_xml
    from hit_service.core.exceptions import RequestError

    plain = f'<ExternalQuestion xmlns="{EXTERNAL_QUESTION_NS}"><ExternalURL>http://x.example/t</ExternalURL>'
    plain += "<FrameHeight>1</FrameHeight></ExternalQuestion>"
    with pytest.raises(RequestError, match="https"):
        question_xml.parse_question(plain)
    assert question_xml.parse_question(plain, allow_http=True).external_url == "http://x.example/t"


def test_question_form_selections(
    service: Any, requester_client: Any, new_worker: Any, chromium: Any, shots: Path
) -> None:
    """Radio and checkboxes come back as one SelectionIdentifier per option, text as FreeText."""
    client = requester_client
    base = service.url
    hit = create(client, QUESTION_FORM, "Review mood (QuestionForm)")
    worker = new_worker()
    offline = Offline(base)
    page = new_page(chromium, offline)
    sign_in(page, base, worker)
    page.goto(f"{base}/worker/hits/{hit['HITId']}")
    assert page.frame_locator("#hit-frame").locator("#submitButton").is_disabled()
    assignment_id = accept_from_preview(page, base, hit["HITId"])
    frame = page.frame_locator("#hit-frame")
    assert "File uploads are not supported" in frame.locator("body").inner_text()
    frame.get_by_label("Neutral").check()
    frame.get_by_label("Quality").check()
    frame.get_by_label("Delivery").check()
    frame.get_by_label("Why").fill("calm & plain")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(shots / "question-form-390.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    frame.locator("#submitButton").click()
    wait_submitted(page, base, assignment_id)
    assert answer_of(client, hit["HITId"]) == (
        f'<QuestionFormAnswers xmlns="{ANSWER_NS}">'
        "<Answer><QuestionIdentifier>mood</QuestionIdentifier><SelectionIdentifier>neu</SelectionIdentifier></Answer>"
        "<Answer><QuestionIdentifier>topics</QuestionIdentifier><SelectionIdentifier>quality</SelectionIdentifier>"
        "<SelectionIdentifier>delivery</SelectionIdentifier></Answer>"
        "<Answer><QuestionIdentifier>why</QuestionIdentifier><FreeText>calm &amp; plain</FreeText></Answer>"
        "</QuestionFormAnswers>"
    )
    page.context.close()


def test_frames_get_an_in_memory_local_storage(
    service: Any, requester_client: Any, new_worker: Any, chromium: Any
) -> None:
    """The sandboxed frame has no Web Storage; tasks that save progress there still work."""
    client = requester_client
    base = service.url
    hit = create(client, html_question(STORAGE_TASK), "Saves progress in localStorage")
    worker = new_worker()
    offline = Offline(base)
    page = new_page(chromium, offline)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, base, worker)
    assignment_id = accept_from_preview(page, base, hit["HITId"])
    frame = page.frame_locator("#hit-frame")
    assert frame.locator("#saved").input_value() == "step-2/hello/2/1"
    module = frame.locator("#module")
    for _ in range(50):
        if module.input_value():
            break
        page.wait_for_timeout(100)
    assert module.input_value() == "1 min 30 s"
    # The frame is still sandboxed: the service's origin (and its cookie) stay out of reach.
    assert page.frame_locator("#hit-frame").locator("body").evaluate("() => origin") == "null"
    frame.locator("#submitButton").click()  # its form posts to workersandbox.mturk.com: rewritten
    wait_submitted(page, base, assignment_id)
    answer = answer_of(client, hit["HITId"])
    assert "<FreeText>step-2/hello/2/1</FreeText>" in answer and "<FreeText>1 min 30 s</FreeText>" in answer
    assert errors == [] and offline.blocked == []
    page.context.close()


def test_frame_html_is_rewritten_and_question_kept(service: Any, requester_client: Any, new_worker: Any) -> None:
    """The frame's HTML points at the service; GetHIT returns the Question byte for byte."""
    from hitflow_support.crowd_client import accept_hit
    from hitflow_support.crowd_client import sign_in as crowd_sign_in

    page = (
        "<!DOCTYPE html><html><head>"
        "<script src='http://s3.amazonaws.com/mturk-public/externalHIT_v1.js'></script>"
        "<script src='https://assets.crowd.aws/crowd-html-elements.js'></script></head><body>"
        "<crowd-form><crowd-input name='age' type='number' required></crowd-input></crowd-form>"
        "<form action='HTTPS://workersandbox.mturk.com/mturk/externalSubmit'></form></body></html>"
    )
    question = html_question(page)
    hit = create(requester_client, question, "Rewrite check")
    assert requester_client.get_hit(HITId=hit["HITId"])["HIT"]["Question"] == question
    worker = new_worker()
    with crowd_sign_in(service.url, worker["name"], worker["password"]) as session:
        assignment_id = accept_hit(session, service.url, hit["HITId"])
        frame = session.get(f"{service.url}/work/{assignment_id}/frame").text
    assert "amazonaws.com" not in frame and "crowd.aws" not in frame and "mturk.com" not in frame
    assert re.search(rf"src='{re.escape(service.url)}/static/mturk/externalHIT_v1\.js\?v=\w+'", frame)
    assert f"{service.url}/static/crowd/crowd-html-elements.js" in frame
    assert f"action='{service.url}/mturk/externalSubmit'" in frame
    assert frame.index("frame-storage.js") < frame.index("externalHIT_v1.js")  # the stand-in comes first
    script = httpx.get(f"{service.url}/static/mturk/externalHIT_v1.js")
    assert script.status_code == 200 and "turkGetSubmitToHost" in script.text


def test_countdown_runs_out(
    service: Any, requester_client: Any, new_worker: Any, chromium: Any, advance: Any, shots: Path
) -> None:
    """The countdown follows the service's clock and says when the time allotted is over."""
    base = service.url
    hit = create(requester_client, html_question("<p>Wait for it</p>"), "Short one", AssignmentDurationInSeconds=30)
    worker = new_worker()
    page = new_page(chromium, Offline(base), PHONE)
    sign_in(page, base, worker)
    page.goto(f"{base}/worker")
    assert "30 s" in page.locator("#groups tr", has_text="Short one").inner_text()
    accept_from_preview(page, base, hit["HITId"])
    advance(26)  # the service's clock, not the browser's: the page must follow the server
    page.reload()
    left = page.inner_text("#time-left")
    assert re.fullmatch(r"[1-4] s", left), left
    assert "low" in (page.get_attribute("#time-left", "class") or "")
    page.locator("#work-bar [role=alert]").wait_for(timeout=10_000)
    assert page.inner_text("#time-left") == "Time is up"
    page.screenshot(path=str(shots / "time-up-390.png"), full_page=True)
    page.context.close()
